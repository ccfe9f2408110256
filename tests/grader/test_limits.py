"""Do the time limits count work (CPU seconds), stop waiting code by the wall clock, and say what they measured?"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import nbformat

import corpus
from grader.execute import Limits, execute_notebook, prepare_workdir
from grader.sandbox import Policy


def _run(tmp_path: Path, train_prefix: str, limits: Limits, needs: dict | None = None):
    nb = corpus._set(corpus.master(), "train", train_prefix + corpus.master().cells[
        corpus._index(corpus.master(), "train")].source)
    work = tmp_path / "w"
    prepare_workdir(work)
    policy = Policy(workdir=str(work), read=[str(corpus.STUDENT_DATA)], threads=1)
    t0 = time.monotonic()
    result = execute_notebook(nb, work, policy=policy, limits=limits, student_data=str(corpus.STUDENT_DATA),
                              needs=needs)
    return nb, result, time.monotonic() - t0


def test_does_a_cell_past_its_cpu_limit_say_what_it_used_the_limit_and_the_reference_need(tmp_path):
    nb, result, _ = _run(tmp_path, "while True:\n    pass\n", Limits(cell_timeout=2, timeout=60),
                         needs={"train": 1.5})
    assert result.status == "completed"  # interrupted; the next cells ran
    [failed] = result.failed_cells
    assert (failed["grade_id"], failed["ename"]) == ("train", "CellTimeoutError")
    text = failed["evalue"]
    assert "CPU-seconds (the limit is 2 CPU-seconds per cell" in text
    assert "the reference solution needs about 1.5 here" in text
    train = next(c for c in result.cells if c["grade_id"] == "train")
    assert 2 <= train["cpu_seconds"] < 6
    assert [c["grade_id"] for c in result.cells][-1] == "log"  # the cell after it still ran
    err = next(o for o in nb.cells[corpus._index(nb, "train")].outputs if o.output_type == "error")
    assert err.ename == "CellTimeoutError" and err.evalue == text


def test_is_a_waiting_cell_stopped_by_the_wall_clock_backstop(tmp_path):
    nb, result, seconds = _run(tmp_path, "import time\ntime.sleep(60)\n",
                               Limits(cell_timeout=1, timeout=60, wall_factor=3))
    [failed] = result.failed_cells
    assert failed["grade_id"] == "train"
    assert "ran longer than 3 s of wall-clock time while using only" in failed["evalue"]
    assert "waiting, not computing" in failed["evalue"]
    assert seconds < 40
    train = next(c for c in result.cells if c["grade_id"] == "train")
    assert train["cpu_seconds"] < 1 <= 3 <= train["seconds"]


def test_does_waiting_within_the_backstop_cost_nothing(tmp_path):
    """2 s of sleep under a 1 CPU-second limit with a 5x backstop: not a timeout (load cannot fake one)."""
    _, result, _ = _run(tmp_path, "import time\ntime.sleep(2)\n", Limits(cell_timeout=1, timeout=60, wall_factor=5))
    assert result.status == "completed" and result.failed_cells == []


def test_does_make_reference_record_cpu_seconds_per_cell(tmp_path, monkeypatch):
    from authoring import reference

    repo = tmp_path / "repo"
    (repo / "solutions").mkdir(parents=True)
    nb = corpus._set(corpus.master(), "train", "import time\n_t = time.process_time()\n"
                     "while time.process_time() - _t < 0.8:\n    pass\n"
                     + corpus.master().cells[corpus._index(corpus.master(), "train")].source)
    nbformat.write(nb, repo / "solutions" / f"{corpus.ASSIGNMENT}.ipynb")
    monkeypatch.setenv("KIT_DATA_DIR", str(corpus.STUDENT_DATA))
    work = tmp_path / "run"
    work.mkdir()
    run = reference.execute_master(corpus.ASSIGNMENT, work, timeout=60, solutions=repo / "solutions")
    cells = run["cell_cpu_seconds"]
    assert set(cells) == {"setup", "square", "mask", "check_basics", "train", "log"}
    assert 0.8 <= cells["train"] < 3
    assert all(v < 0.8 for k, v in cells.items() if k != "train")
    shutil.rmtree(work, ignore_errors=True)
