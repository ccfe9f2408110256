"""Does a grade stay the same when the machine is busy? (limits count CPU seconds, not wall time)"""
from __future__ import annotations

import multiprocessing as mp
import os
import time
from pathlib import Path

import corpus
from conftest import grade, rows

# a class where every time limit matters: honest runs, two of which need a good part of their CPU
# limits (on a wall clock they would time out at load 3), a cell that loops until its limit, an
# answer that loops in the checks, the stub
STUDENTS = ["reference", "heavy_cell", "heavy_answer", "stub", "infinite_loop", "slow_answer"]
OVERSUBSCRIPTION = 3  # CPU-bound processes per core
BURN_SECONDS = 600  # each burner stops by itself after this, even if the test dies


def _burn(until: float) -> None:
    # a session of its own, like an independent job: with the scheduler's autogroups, burners
    # sharing one session would together get no more CPU than one grading kernel
    os.setsid()
    x = 0
    while time.time() < until:
        x += 1


def test_does_an_oversubscribed_machine_give_the_same_grades(tmp_path: Path, outside: Path) -> None:
    """The tiny class graded while 3 CPU burners per core run gives byte-identical grades.csv."""
    sub = corpus.write_class(tmp_path / "submitted", corpus.build_all(outside), names=STUDENTS)
    quiet = grade(sub, tmp_path / "quiet")
    assert quiet["graded"] == len(STUDENTS) + 1  # + the student without a submission
    ctx = mp.get_context("spawn")
    burners = [ctx.Process(target=_burn, args=(time.time() + BURN_SECONDS,), daemon=True)
               for _ in range(OVERSUBSCRIPTION * (os.cpu_count() or 1))]
    for b in burners:
        b.start()
    try:
        t0 = time.monotonic()
        loaded = grade(sub, tmp_path / "loaded")
        loaded_seconds = time.monotonic() - t0
        load = os.getloadavg()[0]
    finally:
        for b in burners:
            b.kill()
            b.join(5)
    assert loaded["graded"] == quiet["graded"]
    assert load > os.cpu_count(), f"the machine was not loaded (load {load:.1f})"
    # honest work within its CPU limits is graded in full however busy the machine (on a wall clock,
    # heavy_cell's 3 CPU-seconds take ~15 s at this load, three times its 5 s cell limit)
    table = rows(tmp_path / "loaded")
    for student in ("reference", "heavy_cell", "heavy_answer"):
        assert (table[student]["status"], table[student]["total"]) == ("ok", "9"), table[student]
    a = (tmp_path / "quiet" / corpus.ASSIGNMENT / "grades.csv").read_bytes()
    b = (tmp_path / "loaded" / corpus.ASSIGNMENT / "grades.csv").read_bytes()
    assert a == b, (a.decode(), b.decode())
    assert loaded_seconds > quiet["seconds"]  # it did run slower: the grades did not change with it
