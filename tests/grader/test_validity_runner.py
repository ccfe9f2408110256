"""Does the validity runner (tests/validity/test_validity.py) judge mistakes and alternatives right?"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import corpus

_PATH = Path(__file__).resolve().parents[1] / "validity" / "test_validity.py"
_spec = importlib.util.spec_from_file_location("validity_runner", _PATH)
runner = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(runner)

MASK_INT = ("mask_int", "mask",
            "def make_mask(lengths, max_len):\n    return (np.arange(max_len)[None, :] < np.asarray(lengths)[:, None]).astype(int)",
            ["test_mask_dtype"])
MASK_WRONG_CLAIM = ("mask_off_by_one", "mask",
                    "def make_mask(lengths, max_len):\n    return np.arange(max_len)[None, :] <= np.asarray(lengths)[:, None]",
                    ["test_mask_dtype"])  # really caught by test_mask_values: the runner must say so
ALT = ("square_multiply", "square", "def square(x):\n    x = np.asarray(x, dtype=np.float64)\n    return x * x")


def test_does_the_runner_tell_caught_missed_and_false_failures(tmp_path):
    cases = runner.build_cases(corpus.master(), [MASK_INT, MASK_WRONG_CLAIM], [ALT])
    recs = runner.grade_cases(corpus.ASSIGNMENT, cases, tmp_path, solutions=corpus.SOLUTIONS,
                              checks=corpus.CHECKS, hidden_data=corpus.HIDDEN_DATA)
    assert runner.judge("reference", ("reference",), recs["reference"]) == []
    assert runner.judge("stub", ("stub",), recs["stub"]) == []
    assert runner.judge("mistake", MASK_INT, recs["mistake-mask_int"]) == []
    assert runner.judge("mistake", MASK_WRONG_CLAIM, recs["mistake-mask_off_by_one"]) == [
        "not caught by test_mask_dtype", "also lost points on test_mask_values"]
    assert runner.judge("alternative", ALT, recs["alternative-square_multiply"]) == []
    bad_alt = ("bad", "square", "")
    assert runner.judge("alternative", bad_alt, recs["stub"])  # a stub is no alternative


MASK_ALT = ("mask_compare", "mask", "def make_mask(lengths, max_len):\n"
            "    return np.less.outer(np.arange(max_len), np.asarray(lengths)).T")


def test_are_cases_combined_one_per_cell_and_judged_together(tmp_path):
    cells = runner.check_cells(corpus.master(), corpus.CHECKS / corpus.ASSIGNMENT)
    assert cells["test_mask_dtype"] == {"mask"} and cells["test_square_dtype"] == {"square"}
    power = ("square_power", "square", "def square(x):\n    return np.asarray(x, dtype=np.float64) ** 2")
    rounds = runner.case_rounds([MASK_INT], [ALT, power, MASK_ALT], cells)
    # the alternatives fill the mistake's combination where their cell is free
    assert [[(k, c[0]) for k, c in r] for r in rounds] == [
        [("mistake", "mask_int"), ("alternative", "square_multiply")],
        [("alternative", "square_power"), ("alternative", "mask_compare")]]
    nbs = runner.build_rounds(corpus.master(), rounds)
    assert list(nbs) == ["combination-1", "combination-2"]
    sources = [c.source for c in nbs["combination-1"].cells]
    assert MASK_INT[2] in sources and ALT[2] in sources
    wrong = ("mask_off_by_one", "mask", MASK_WRONG_CLAIM[2])   # an "alternative" that is a mistake
    bad_alt = [("alternative", ALT), ("alternative", wrong)]
    bad_mistake = [("mistake", MASK_WRONG_CLAIM), ("mistake", SQUARE_INT)]
    nbs.update({"bad-alternative": runner.build_rounds(corpus.master(), [bad_alt])["combination-1"],
                "bad-mistake": runner.build_rounds(corpus.master(), [bad_mistake])["combination-1"]})
    recs = runner.grade_cases(corpus.ASSIGNMENT, nbs, tmp_path, solutions=corpus.SOLUTIONS,
                              checks=corpus.CHECKS, hidden_data=corpus.HIDDEN_DATA)
    lost = {c["name"] for c in recs["combination-1"]["checks"] if c["score"] < c["max_score"] and not c["run"]}
    assert lost == {"test_mask_dtype"}
    assert runner.judge_round(rounds[0], recs["combination-1"]) == []
    assert runner.judge_round(rounds[1], recs["combination-2"]) == []
    assert runner.judge_round(bad_alt, recs["bad-alternative"]) == ["also lost points on test_mask_values"]
    assert runner.judge("alternative", wrong, recs["bad-alternative"]) == [
        f"test_mask_values failed: {_output(recs['bad-alternative'], 'test_mask_values')}"]
    assert runner.judge_round(bad_mistake, recs["bad-mistake"]) == [
        "not caught by test_mask_dtype", "also lost points on test_mask_values"]


SQUARE_INT = ("square_keeps_int", "square", "def square(x):\n    return np.asarray(x) ** 2", ["test_square_dtype"])


def test_may_mistakes_share_a_submission_only_when_their_checks_cannot_reach_each_other(tmp_path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    def cell(source, grade_id, solution):
        return new_code_cell(source, metadata={"nbgrader": {"grade_id": grade_id, "solution": solution}})

    master = new_notebook(cells=[
        cell("import numpy as np\nSCALE = 2", "setup", False),
        cell("def f(x):\n    return x * SCALE", "a", True),
        cell("def g(x):\n    return f(x) + 1", "b", True),        # b runs a
        cell('def h(x):\n    """Unlike f, never negative."""  # a docstring or comment naming g runs nothing\n'
             "    return np.abs(x)", "c", True),
        cell("LIMIT = 3", "d", True)])
    (tmp_path / "_support.py").write_text('"""Mentions f, g and h in a docstring only."""\n'
                                          "def limited(student):\n    return student.LIMIT\n")
    (tmp_path / "test_x.py").write_text(
        '"""Checks of f, g, h: a docstring that names them runs nothing."""\n'
        "from _support import limited\n"
        "def _prepare(student):\n    return student.h(1)\n"
        "def test_f(student):\n    assert student.f(1) == 2\n"
        "def test_g(student):\n    assert student.g(1) == 3\n"
        "@check(points=1, cell='c')\ndef test_h(student, reference):\n"
        "    assert _prepare(student) == reference.f(0.5)  # the reference's f runs no student cell\n"
        "@pytest.mark.parametrize('name', ['g'])\ndef test_named(student, name):\n    getattr(student, name)(1)\n"
        "def test_limit(student):\n    assert limited(student) == 3\n")
    cells = runner.check_cells(master, tmp_path)
    assert cells == {"test_f": {"a"}, "test_g": {"a", "b"}, "test_h": {"c"}, "test_limit": {"d"},
                     "test_named": {"a", "b"}}
    m1, m2, m3, m4 = (("m1", "a", "", ["test_f"]), ("m2", "b", "", ["test_g"]), ("m3", "c", "", ["test_h"]),
                      ("m4", "a", "", ["test_f"]))
    unknown = ("m5", "d", "", ["test_nothing"])        # an unknown check may run anything: alone
    alternatives = [("x1", "b", ""), ("x2", "c", ""), ("x3", "a", "")]
    rounds = runner.case_rounds([m1, m2, m3, m4, unknown], alternatives, cells)
    # x1 (cell b) joins m1 and m3 (their checks run a and c); x2 (cell c) joins m2 (test_g runs a and b);
    # x3 (cell a) fits nowhere: a holds m1 or m4, m2's test_g runs a, m5's unknown check may run anything
    assert [[c[0] for _, c in r] for r in rounds] == [["m1", "m3", "x1"], ["m2", "x2"], ["m4"], ["m5"], ["x3"]]
    seeding = ("m6", "d", "np.random.seed(1)\nLIMIT = 3", ["test_limit"])   # acts at import: may reach any check
    assert [[c[0] for _, c in r] for r in runner.case_rounds([m1, seeding], [], cells)] == [["m1"], ["m6"]]
    nb = runner.build_rounds(master, rounds)
    assert list(nb) == [f"combination-{i}" for i in range(1, 6)]
    assert nbformat.validate(nb["combination-1"]) is None


def _output(record: dict, name: str) -> str:
    return next(c["output"] for c in record["checks"] if c["name"] == name)
