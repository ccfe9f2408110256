"""Mutation analysis (``python -m authoring mutate``): the operators on known snippets, the ids,
and one end-to-end run on the tiny fixture course (graded by the engine, then from its cache)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import corpus
from grader.errors import GraderError
from authoring.mutants import mutate_cell
from authoring.mutate import generate, load_equivalents, sample

REPO = Path(__file__).resolve().parents[2]


def _sources(src: str, op: str) -> list[str]:
    return [m.source for m in mutate_cell("c", src, [op])]


def test_does_compare_make_the_boundary_slips():
    assert _sources("y = a < b\n", "compare") == ["y = a <= b\n"]
    assert _sources("y = a == b\n", "compare") == ["y = a != b\n"]


def test_does_slice_drop_and_shift_the_bounds():
    assert _sources("y = x[1:]\n", "slice") == ["y = x[:]\n", "y = x[2:]\n"]  # x[0:] is x[:]: not made
    assert _sources("y = x[:n]\n", "slice") == ["y = x[:]\n", "y = x[:n + 1]\n", "y = x[:n - 1]\n"]


def test_is_a_raise_dropped_and_is_the_body_kept_valid():
    src = "def f(n):\n    if n < 0:\n        raise ValueError(n)\n    return n\n"
    assert _sources(src, "raise") == ["def f(n):\n    if n < 0:\n        pass\n    return n\n"]


def test_do_the_array_operators_change_one_thing_each():
    src = "y = np.max(x, axis=-1).astype(np.float32)\n"
    assert _sources(src, "axis") == ["y = np.max(x).astype(np.float32)\n",
                                     "y = np.max(x, axis=-1, keepdims=True).astype(np.float32)\n"]
    assert _sources(src, "reduce") == ["y = np.mean(x, axis=-1).astype(np.float32)\n",
                                       "y = np.min(x, axis=-1).astype(np.float32)\n"]
    assert _sources(src, "dtype") == ["y = np.max(x, axis=-1).astype(np.float64)\n"]
    assert _sources(src, "constant") == ["y = np.max(x, axis=0).astype(np.float32)\n",
                                         "y = np.max(x, axis=-2).astype(np.float32)\n"]
    assert _sources('y = x.astype("int32")\n', "dtype") == ['y = x.astype("int64")\n']
    assert _sources("ok = np.any(m)\n", "anyall") == ["ok = np.all(m)\n"]
    assert _sources("d = f(a, b)\n", "args") == ["d = f(b, a)\n"]


def test_does_arith_keep_the_precedence_of_the_changed_node():
    # y ** 2 -> y * 2 inside a product needs brackets, or the mutant would be another one
    assert _sources("z = x * y ** 2\n", "arith") == ["z = x / y ** 2\n", "z = x * (y * 2)\n"]
    assert _sources("z = x * (a - b)\n", "arith") == ["z = x / (a - b)\n", "z = x * (a + b)\n"]


def test_are_only_the_solution_regions_mutated():
    src = ("def f(x, axis=1):\n    \"\"\"doc\"\"\"\n    ### BEGIN SOLUTION\n    return x + 1\n"
           "    ### END SOLUTION\n")
    lines = {m.line for m in mutate_cell("c", src)}
    assert lines == {4}, "the signature and docstring are given, not the student's"
    assert all("### BEGIN SOLUTION" in m.source and "doc" in m.source for m in mutate_cell("c", src))


def test_are_mutants_that_do_not_compile_dropped():
    src = "def f():\n    x = 1\n    def g():\n        nonlocal x\n        x += 1\n    return g\n"
    dropped = [m.description for m in mutate_cell("c", src, ["drop"])]
    assert "statement `x = 1` dropped" not in dropped, "no binding for nonlocal 'x': a SyntaxError at compile"
    assert "statement `x += 1` dropped" in dropped


def test_is_the_sample_deterministic_and_spread():
    ms = generate(corpus.master())
    picked = sample(ms, 4)
    assert [m.id for m in picked] == [m.id for m in sample(list(reversed(ms)), 4)][::-1]
    assert len(picked) == 4 and {m.cell for m in picked} == {"square", "mask"}


def test_are_ids_stable_across_runs_and_hash_seeds():
    m = corpus.master()
    ids = [x.id for x in generate(m)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"(square|mask)-[a-z]+-[0-9a-f]{10}", i) for i in ids)
    code = ("import sys; sys.path.insert(0, 'tests/grader'); import corpus; from authoring.mutate import generate; "
            "print(' '.join(x.id for x in generate(corpus.master())))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": "123"}).stdout.split()
    assert out == ids


def test_are_bad_options_named_with_the_fix():
    with pytest.raises(GraderError, match=r"unknown mutation operator nope; use some of compare"):
        generate(corpus.master(), operators=["nope"])
    with pytest.raises(GraderError, match=r"--cells: sqare is not an answer cell of the master; "
                                          r"use some of square, mask"):
        generate(corpus.master(), cells=["sqare"])


def test_is_an_equivalents_entry_without_a_reason_refused(tmp_path):
    (tmp_path / "e.toml").write_text('"square-dtype-0" = ""\n')
    with pytest.raises(GraderError, match="needs a one-line reason"):
        load_equivalents(tmp_path / "e.toml")


def _mutate(course: Path, work: Path) -> tuple[dict, float]:
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "authoring", "mutate", corpus.ASSIGNMENT, "--solutions", str(course / "solutions"),
         "--checks", str(course / "checks"), "--data-dir", str(corpus.HIDDEN_DATA), "--work", str(work),
         "--out", str(work / "report.json"), "--workers", "2", "--check-timeout", "3", "--no-progress"],
        cwd=REPO, capture_output=True, text=True, timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((work / "report.json").read_text()) | {"stdout": proc.stdout}, time.monotonic() - t0


def test_does_a_run_score_the_checks_honour_equivalents_and_come_from_the_cache(tmp_path):
    """t1_tiny without its dtype check: the mutant dropping ``dtype=`` survives (7 of 8 killed)."""
    course = tmp_path / "course"
    shutil.copytree(corpus.SOLUTIONS, course / "solutions")
    shutil.copytree(corpus.CHECKS, course / "checks")
    checks = course / "checks" / corpus.ASSIGNMENT / "test_answers.py"
    text = checks.read_text()
    without = re.sub(r'@check\(points=1, title="square: float64.*?\n\n\n', "", text, flags=re.S)
    assert without != text, "the fixture's dtype check was not found: the pattern needs updating"
    checks.write_text(without)
    first, t_first = _mutate(course, tmp_path / "work")
    assert (first["generated"], first["killed"], first["surviving"], first["equivalent"]) == (8, 7, 1, 0)
    assert first["score"] == 0.875
    group = first["groups"]["test_answers.py"]
    assert (group["cells"], group["killed"], group["surviving"]) == (["square", "mask"], 7, 1)
    [survivor] = [m for m in first["mutants"] if m["status"] == "surviving"]
    assert survivor["description"] == "`dtype=` dropped"
    assert "-    return np.asarray(x, dtype=np.float64) ** 2\n+    return np.asarray(x) ** 2\n" in survivor["diff"]
    assert survivor["id"] in first["stdout"] and "mutation score 88 %" in first["stdout"]
    killed = {m["description"]: m["killed_by"] for m in first["mutants"]}
    assert killed["`<` -> `<=`"] == [f"{corpus.ASSIGNMENT}/test_answers.py::test_mask_values"]
    assert first["graded_now"] == 9  # 8 mutants and the reference

    (course / "checks" / corpus.ASSIGNMENT / "equivalent_mutants.toml").write_text(
        f'"{survivor["id"]}" = "marked for the test"\n"square-drop-0000000000" = "a mutant that no longer exists"\n')
    second, t_second = _mutate(course, tmp_path / "work")
    assert (second["killed"], second["surviving"], second["equivalent"], second["score"]) == (7, 0, 1, 1.0)
    assert second["stale_equivalents"] == ["square-drop-0000000000"]
    assert "stale entries" in second["stdout"]
    assert second["graded_now"] == 0, "the equivalents file must not invalidate the engine's cache"
    assert second["grading_seconds"] < first["grading_seconds"] and t_second < t_first
