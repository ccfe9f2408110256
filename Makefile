# Course kit: every target bootstraps what it needs (virtualenv, then verified data).
# `make` alone prints this help.
include venv.mk
# Which assignments `make grade` grades and which submissions folder (nbgrader layout).
ASSIGNMENTS ?= a1_spoken_digits a2_text_generation a3_fake_or_real a4_voices
SUBMISSIONS ?= examples/submitted
GRADEBOOK   ?= gradebook
WORKERS     ?= 2
# Where `make grade` grades: a local Dask cluster of WORKERS processes (every kernel may use every
# core, so none idles while the last long submission runs), a scheduler's address
# (CLUSTER=tcp://host:8786), or CLUSTER= (empty) for the pinned worker pool of `--workers`.
CLUSTER     ?= local:$(WORKERS)
PYTEST_ARGS ?=
# where `make tensorboard` and `make app` listen: this machine only, unless you ask (LISTEN=0.0.0.0)
LISTEN      ?= 127.0.0.1
# `make mutate`: which assignment, and extra options of `python -m authoring mutate`
ASSIGNMENT  ?=
MUTATE_ARGS ?=

.PHONY: help venv data assignments handout test test-all grade lab app tensorboard bench reference demo lock clean mutate

help: ## print this help
	@echo "Course kit for deep learning on audio and text sequences."
	@echo "On a fresh machine, 'make grade' and 'make test' do all set-up by themselves."
	@echo
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | awk -F'\t' '{printf "  make %-12s %s\n", $$1, $$2}'

venv: $(STAMP) ## create the virtualenv and install the pinned dependencies

data: $(STAMP) ## fetch and verify the datasets (KIT_DATA_MIRROR: local mirror), build the fake-or-real corpus
	$(PY) -m source_data fetch
	$(PY) -m source_data build

assignments: $(STAMP) ## regenerate the student notebooks in assignments/ from solutions/
	$(PY) -m authoring notebooks generate

handout: $(STAMP) data ## the students' hand-out: handout/ and handout.zip (notebooks, helpers, student data; no answer)
	$(PY) -m authoring handout --out handout

test: $(STAMP) data ## the kit's own tests, validity suite included (what CI runs; no end-to-end notebook runs)
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

test-all: $(STAMP) data ## the tests plus every reference notebook executed and graded end to end (~20 min more)
	$(PY) -m pytest $(PYTEST_ARGS)

grade: $(STAMP) data ## grade the submissions (default: the demo class) into gradebook/
	@for a in $(ASSIGNMENTS); do \
	  $(PY) -m grader grade $$a --submissions $(SUBMISSIONS) --out $(GRADEBOOK) $(if $(CLUSTER),--cluster $(CLUSTER),--workers $(WORKERS)) || exit $$?; \
	done

lab: $(STAMP) data ## open JupyterLab on assignments/ (the student view)
	$(PY) -m pip install --quiet -c requirements.lock -e '.[student]'
	cd assignments && ../$(VENV)/bin/jupyter lab

app: $(STAMP) data ## the fake-or-real speech app (Streamlit); trains its detector into artifacts/app/ if missing
	@test -f artifacts/app/lstm.keras -a -f artifacts/app/normaliser.npz || $(PY) -m apps.fake_or_real_core train --out artifacts/app
	$(PY) -m streamlit run apps/fake_or_real.py --server.address $(LISTEN) --browser.gatherUsageStats false --client.toolbarMode minimal

tensorboard: $(STAMP) ## TensorBoard over your assignments/runs/ and every graded student's runs (LISTEN: 127.0.0.1)
	$(VENV)/bin/tensorboard --logdir_spec "$$($(PY) -m grader logdirs --gradebook $(GRADEBOOK))" --host $(LISTEN)

bench: $(STAMP) data ## benchmarks: notebook times, grading overhead, rescoring (JSON in bench/)
	$(PY) -m authoring bench --out bench/results.json --students ada-reference,ben-stub

mutate: $(STAMP) data ## mutation analysis of ASSIGNMENT's checks (MUTATE_ARGS: --limit N, --cells ...)
	@test -n "$(ASSIGNMENT)" || { echo "usage: make mutate ASSIGNMENT=a2_text_generation [MUTATE_ARGS='--limit 10']"; exit 2; }
	$(PY) -m authoring mutate $(ASSIGNMENT) --workers $(WORKERS) $(MUTATE_ARGS)

reference: $(STAMP) data ## execute the reference notebooks and record their figures (reference/*.json)
	$(PY) -m authoring reference

demo: $(STAMP) ## regenerate the demo class in examples/submitted/ from solutions/
	$(PY) -m authoring demo

lock: $(STAMP) ## re-pin requirements.lock from the current virtualenv
	$(PY) -m pip freeze --exclude-editable | grep -v '^seqkit' > requirements.lock.new && mv requirements.lock.new requirements.lock

clean: ## remove the virtualenv, caches, gradebook and run outputs (keeps the data cache)
	rm -rf $(VENV) $(GRADEBOOK) runs artifacts bench handout handout.zip gradescope .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
