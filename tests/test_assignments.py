"""Are the student notebooks generated correctly, deterministically and without leaks?"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from authoring import notebooks as A
from grader.assignments import discover

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT_NAMES = ["a1_spoken_digits", "a2_text_generation", "a3_fake_or_real", "a4_voices"]


# ----------------------------------------------------------------- cell factories (nbgrader style)
def _meta(grade_id: str, **flags) -> dict:
    nbg = {"schema_version": 3, "grade": False, "solution": False, "locked": False, "task": False,
           "grade_id": grade_id}
    nbg.update(flags)
    return {"nbgrader": nbg}


def api_cell(source: str, grade_id: str = "setup"):
    return new_code_cell(source, metadata={**_meta(grade_id, locked=True), "tags": ["api"]})


def answer_cell(source: str, grade_id: str):
    return new_code_cell(source, metadata=_meta(grade_id, solution=True))


def visible_check_cell(source: str, grade_id: str, points: int = 1):
    return new_code_cell(source, metadata=_meta(grade_id, grade=True, locked=True, points=points))


def written_cell(source: str, grade_id: str, points: int = 2):
    return new_markdown_cell(source, metadata=_meta(grade_id, solution=True, grade=True, points=points))


def master(*cells):
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                               "language": "python"}})
    nb.cells = list(cells)
    return nb


SECRET = "return np.asarray(x, dtype=float) * 2 + 1000"


@pytest.fixture
def tiny():
    return master(
        api_cell("import numpy as np"),
        answer_cell(f"def double(x):\n    ### BEGIN SOLUTION\n    {SECRET}\n    ### END SOLUTION", "double"),
        visible_check_cell("assert double(1) == 1002", "test_double"),
        written_cell("Because micro-F1 pools every decision.", "why"),
    )


# ----------------------------------------------------------------- conversion
def test_are_solution_regions_replaced_by_the_nbgrader_stub(tiny):
    student = A.student_notebook(tiny)
    code = student.cells[1].source
    assert code == "def double(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    assert student.cells[3].source == "YOUR ANSWER HERE"
    assert SECRET not in A.dumps(student)


def test_are_locked_cells_locked_and_checksummed(tiny):
    student = A.student_notebook(tiny)
    for cell in (student.cells[0], student.cells[2]):
        assert cell.metadata["editable"] is False and cell.metadata["deletable"] is False
        assert len(cell.metadata["nbgrader"]["checksum"]) == 32
    assert student.cells[0].metadata["tags"] == ["api"]  # the api tag survives the conversion


def test_are_outputs_and_execution_counts_cleared(tiny):
    tiny.cells[2].outputs = [nbformat.v4.new_output("stream", text="hello")]
    tiny.cells[2].execution_count = 7
    student = A.student_notebook(tiny)
    assert student.cells[2].outputs == [] and student.cells[2].execution_count is None
    assert A.clean_master(tiny).cells[2].outputs == []


def test_is_regeneration_byte_identical(tiny, tmp_path):
    (tmp_path / "sol").mkdir()
    nbformat.write(tiny, tmp_path / "sol" / "t.ipynb")
    A.generate(tmp_path / "sol", tmp_path / "asg")
    first = (tmp_path / "asg" / "t.ipynb").read_bytes()
    A.generate(tmp_path / "sol", tmp_path / "asg")
    assert (tmp_path / "asg" / "t.ipynb").read_bytes() == first
    assert A.generate(tmp_path / "sol", tmp_path / "asg", check=True) == []


def test_does_check_catch_a_stale_a_hand_edited_and_an_orphan_student_notebook(tiny, tmp_path):
    (tmp_path / "sol").mkdir()
    nbformat.write(tiny, tmp_path / "sol" / "t.ipynb")
    A.generate(tmp_path / "sol", tmp_path / "asg")
    edited = json.loads((tmp_path / "asg" / "t.ipynb").read_text())
    edited["cells"][2]["source"] = "assert True"
    (tmp_path / "asg" / "t.ipynb").write_text(json.dumps(edited))
    (tmp_path / "asg" / "old.ipynb").write_text("{}")
    problems = A.generate(tmp_path / "sol", tmp_path / "asg", check=True)
    assert any("t.ipynb is stale" in p for p in problems)
    assert any("old.ipynb has no master" in p for p in problems)


def test_does_check_catch_a_master_with_outputs(tiny, tmp_path):
    (tmp_path / "sol").mkdir()
    A.generate(tmp_path / "sol", tmp_path / "asg")
    tiny.cells[0].outputs = [nbformat.v4.new_output("stream", text="x")]
    nbformat.write(tiny, tmp_path / "sol" / "t.ipynb")
    A.generate(tmp_path / "sol", tmp_path / "asg")  # generate cleans the master...
    assert A.generate(tmp_path / "sol", tmp_path / "asg", check=True) == []
    nbformat.write(tiny, tmp_path / "sol" / "t.ipynb")  # ...but a master committed with outputs is caught
    assert any("carries outputs" in p for p in A.generate(tmp_path / "sol", tmp_path / "asg", check=True))


def test_is_a_solution_leak_detected(tiny):
    student = A.student_notebook(tiny)
    student.cells[2].source += f"\n# hint: {SECRET}"
    assert A.leaked_lines(tiny, student) == [SECRET]


def test_is_an_error_thrown_for_markers_in_a_non_solution_cell():
    bad = master(new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION",
                               metadata=_meta("oops", locked=True)))
    with pytest.raises(A.AssignmentError, match="docs/authoring.md"):
        A.student_notebook(bad)


def test_is_an_error_thrown_when_there_is_no_end_solution_statement():
    bad = master(answer_cell("def f():\n    ### BEGIN SOLUTION\n    return 1\n", "f"))
    with pytest.raises(A.AssignmentError):
        A.student_notebook(bad)


# ----------------------------------------------------------------- the committed notebooks
def test_are_the_committed_assignments_generated_from_the_committed_solutions():
    masters = sorted(p.stem for p in A.SOLUTIONS.glob("*.ipynb"))
    assert masters == ASSIGNMENT_NAMES
    assert A.generate(check=True) == []


@pytest.mark.parametrize("name", ASSIGNMENT_NAMES)
def test_do_committed_notebooks_carry_no_outputs(name):
    for folder in (A.SOLUTIONS, A.ASSIGNMENTS):
        nb = nbformat.read(folder / f"{name}.ipynb", as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, (folder, cell.source[:60])


@pytest.mark.parametrize("name", ASSIGNMENT_NAMES)
def test_does_every_answer_cell_of_the_master_have_a_stub_in_the_student_notebook(name):
    master_nb = nbformat.read(A.SOLUTIONS / f"{name}.ipynb", as_version=4)
    student_nb = nbformat.read(A.ASSIGNMENTS / f"{name}.ipynb", as_version=4)
    ids = lambda nb: [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]  # noqa: E731
    assert ids(master_nb) == ids(student_nb)
    answers = [c for c in student_nb.cells
               if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"]
    assert answers and all("raise NotImplementedError()" in c.source for c in answers)


@pytest.mark.parametrize("name", discover())
def test_does_every_hidden_check_have_a_title_and_a_cell_of_the_master(name):
    """The feedback lists checks by title under their notebook part: every check says both."""
    import ast

    from grader.notebook import parts_of

    parts = parts_of(nbformat.read(REPO / "solutions" / f"{name}.ipynb", as_version=4))
    seen = 0
    for path in sorted((REPO / "grader" / "checks" / name).glob("test_*.py")):
        tree = ast.parse(path.read_text())
        consts = {}  # module-level literals: CELL = "...", A, B = "...", "...", CELLS = {...}
        for n in (n for n in tree.body if isinstance(n, ast.Assign)):
            try:
                value = ast.literal_eval(n.value)
            except ValueError:
                continue
            for t in n.targets:
                if isinstance(t, ast.Name):
                    consts[t.id] = value
                elif isinstance(t, ast.Tuple) and isinstance(value, tuple) and len(value) == len(t.elts):
                    consts.update({e.id: v for e, v in zip(t.elts, value) if isinstance(e, ast.Name)})
        for fn in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
            for dec in fn.decorator_list:
                if isinstance(dec, ast.Call) and getattr(dec.func, "id", "") == "check":
                    kw = {k.arg: k.value for k in dec.keywords}
                    assert isinstance(kw.get("title"), ast.Constant) and kw["title"].value, (path.name, fn.name)
                    cell = kw.get("cell")
                    value = consts[cell.id] if isinstance(cell, ast.Name) else (
                        ast.literal_eval(cell) if cell is not None else None)
                    cells = list(value.values()) if isinstance(value, dict) else [value]
                    assert all(c in parts for c in cells), (path.name, fn.name, list(cells))
                    seen += 1
    assert seen >= 30
