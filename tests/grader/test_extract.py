"""Is the answers module built from the master's locked cells and the student's answer cells only?"""
from __future__ import annotations

import copy

import nbformat
import pytest
from nbformat.v4 import new_code_cell

import corpus

from grader.extract import build_answers, defined_names, execution_notebook


@pytest.fixture
def master():
    return corpus.master()


def _codes(src):
    return [p.code for p in src.problems]


def test_is_the_reference_module_the_masters_api_and_answer_cells(master):
    src = build_answers(master, None)
    assert [s.grade_id for s in src.spans] == ["setup", "square", "mask"]
    assert "### BEGIN SOLUTION" in src.text and "assert square(3)" not in src.text
    assert src.problems == [] and (src.matched, src.expected) == (2, 2)


def test_can_edits_to_locked_cells_change_the_module(master):
    sub = copy.deepcopy(master)
    sub.cells[1].source = "import os\nos.system('rm -rf /')"
    src = build_answers(master, sub)
    assert "rm -rf" not in src.text and "SHORT = \"t1\"" in src.text
    assert _codes(src) == ["edited_locked"]


def test_is_a_deleted_answer_cell_reported(master):
    sub = copy.deepcopy(master)
    del sub.cells[3]
    src = build_answers(master, sub)
    assert "missing_answer" in _codes(src) and "deleted_locked" not in _codes(src)
    span = next(s for s in src.spans if s.grade_id == "mask")
    assert span.origin == "missing"


def test_is_the_last_duplicate_graded(master):
    sub = copy.deepcopy(master)
    first = copy.deepcopy(sub.cells[2])
    first.source = "def square(x):\n    return 'first'"
    sub.cells.insert(2, first)
    src = build_answers(master, sub)
    assert "duplicated_answer" in _codes(src)
    assert "'first'" not in src.text


def test_is_an_answer_pasted_into_a_plain_cell_recovered(master):
    sub = copy.deepcopy(master)
    body = sub.cells[3].source
    del sub.cells[3]
    sub.cells.insert(3, new_code_cell(body))  # no nbgrader metadata
    src = build_answers(master, sub)
    assert _codes(src) == ["renamed_answer"]
    assert "np.arange(max_len)" in src.text


def test_is_an_unknown_answer_cell_ignored(master):
    sub = copy.deepcopy(master)
    extra = copy.deepcopy(sub.cells[2])
    extra.metadata.nbgrader.grade_id = "bonus"
    extra.source = "BONUS = 1"
    sub.cells.append(extra)
    src = build_answers(master, sub)
    assert _codes(src) == ["extra_answer"] and "BONUS" not in src.text


def test_are_magics_commented_out_only_when_needed():
    assert defined_names("%time\ndef f():\n    pass\nX = 1") == {"f", "X"}
    assert defined_names("import numpy as np\nfrom a.b import c\nX = 1") == {"X"}
    assert defined_names("import numpy as np\nimport os.path\nfrom a.b import c\nX = 1", imports=True) == {"np", "os", "c", "X"}
    m = corpus.master()
    sub = copy.deepcopy(m)
    sub.cells[2].source = "!pip install foo\n" + sub.cells[2].source
    src = build_answers(m, sub)
    assert "# [grader: IPython magic removed] !pip install foo" in src.text
    compile(src.text, "answers", "exec")


def test_does_the_executed_notebook_get_locked_cells_back(master):
    sub = copy.deepcopy(master)
    sub.cells[4].source = "pass  # visible check neutralised"
    del sub.cells[5]  # the provided 'train' cell
    sub.cells.append(new_code_cell("print('my scratch cell')"))
    nb = execution_notebook(master, sub)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    assert ids.index("train") == ids.index("check_basics") + 1
    assert nb.cells[ids.index("check_basics")].source == master.cells[4].source
    assert nb.cells[-1].source == "print('my scratch cell')"
    assert all(c.get("outputs", []) == [] for c in nb.cells if c.cell_type == "code")
    nbformat.validate(nb)
