# The virtualenv of a Makefile of this kit (the kit's own and the students' hand-out's include it):
# the variables and the rule that creates it. INSTALL: what pip installs (default: the project, editable).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON  ?= python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
INSTALL ?= -e .

export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONHASHSEED ?= 0

$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock $(INSTALL)
	@touch $@
	@echo "virtualenv ready: $(VENV)"
