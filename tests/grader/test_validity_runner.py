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


def test_are_alternatives_combined_one_per_cell_and_judged_together(tmp_path):
    alts = [ALT, ("square_power", "square", "def square(x):\n    return np.asarray(x, dtype=np.float64) ** 2"),
            MASK_ALT]
    rounds = runner.alternative_rounds(alts)
    assert [[a[0] for a in r] for r in rounds] == [["square_multiply", "mask_compare"], ["square_power"]]
    nbs = runner.build_rounds(corpus.master(), alts)
    assert list(nbs) == ["alternatives-1", "alternatives-2"]
    sources = [c.source for c in nbs["alternatives-1"].cells]
    assert ALT[2] in sources and MASK_ALT[2] in sources
    wrong = ("mask_off_by_one", "mask", MASK_WRONG_CLAIM[2])   # a "alternative" that is a mistake
    nbs["alternatives-3"] = runner.build_rounds(corpus.master(), [ALT, wrong])["alternatives-1"]
    recs = runner.grade_cases(corpus.ASSIGNMENT, nbs, tmp_path, solutions=corpus.SOLUTIONS,
                              checks=corpus.CHECKS, hidden_data=corpus.HIDDEN_DATA)
    assert runner.judge("alternative", ALT, recs["alternatives-1"]) == []
    assert runner.judge("alternative", alts[1], recs["alternatives-2"]) == []
    assert runner.judge("alternative", wrong, recs["alternatives-3"]) == [
        f"test_mask_values failed: {_output(recs['alternatives-3'], 'test_mask_values')}"]


def _output(record: dict, name: str) -> str:
    return next(c["output"] for c in record["checks"] if c["name"] == name)
