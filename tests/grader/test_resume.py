"""Is grading repeatable, resumable after kill -9, and is rescoring cheap?"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import psutil
from pathlib import Path

import corpus
from conftest import LIMITS, REPO, grade, rows

SMALL = ["reference", "stub", "syntax_error", "os_exit", "deleted_answer", "segfault_in_answer"]


def _records(out: Path) -> dict[str, int]:
    folder = out / corpus.ASSIGNMENT / "cache" / "records"
    return {p.stem: p.stat().st_mtime_ns for p in folder.glob("*.json")} if folder.is_dir() else {}


def test_does_grading_twice_give_identical_grades(graded, tmp_path, outside):
    """A fresh gradebook with 1 worker gives the rows of the 2-worker corpus run, byte for byte."""
    subs = corpus.write_class(tmp_path / "submitted", corpus.build_all(outside), SMALL)
    out = tmp_path / "gb"
    grade(subs, out, workers=1)
    again = rows(out)
    first = rows(graded[0])
    for student in [*SMALL, "absent"]:
        assert again[student] == first[student]
    # a second run on the same gradebook redoes nothing and rewrites the same table
    before = (out / corpus.ASSIGNMENT / "grades.csv").read_bytes()
    summary = grade(subs, out, workers=1)
    assert summary["graded"] == 0 and summary["skipped"] == len(SMALL) + 1
    assert (out / corpus.ASSIGNMENT / "grades.csv").read_bytes() == before


def test_does_a_killed_batch_resume_without_redoing_work(tmp_path, outside):
    subs = corpus.write_class(tmp_path / "submitted", corpus.build_all(outside), SMALL)
    out = tmp_path / "gb"
    cmd = [sys.executable, "-m", "grader", "grade", corpus.ASSIGNMENT, "--submissions", str(subs), "--out", str(out),
           "--solutions", str(corpus.SOLUTIONS), "--checks", str(corpus.CHECKS), "--student-data",
           str(corpus.STUDENT_DATA), "--data-dir", str(corpus.HIDDEN_DATA), "--workers", "1", "--no-progress", *LIMITS]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(_records(out)) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(2)  # a worker may finish its student in the instant after the kill; that work counts too
    done = _records(out)
    assert 2 <= len(done) < len(SMALL) + 1, done
    orphans = [p.pid for p in psutil.process_iter(["cmdline", "ppid"])
               if p.info["ppid"] == 1 and "grader.sandbox" in " ".join(p.info["cmdline"] or [])]
    assert not orphans, "kernels or check processes outlived the killed batch"
    summary = grade(subs, out, workers=1)
    assert summary["graded"] == len(SMALL) + 1 - len(done)
    after = _records(out)
    assert all(after[s] == t for s, t in done.items()), "finished students were graded again"
    assert set(rows(out)) == {*SMALL, "absent"}


def test_do_rescoring_and_changed_checks_reuse_executions(tmp_path, outside):
    checks = tmp_path / "checks"
    shutil.copytree(corpus.CHECKS, checks)
    subs = corpus.write_class(tmp_path / "submitted", corpus.build_all(outside), ["reference", "os_exit"])
    out = tmp_path / "gb"
    table = lambda: (out / corpus.ASSIGNMENT / "grades.csv").read_bytes()  # noqa: E731
    log = lambda s: (out / corpus.ASSIGNMENT / "logs" / f"{s}.log").read_text()  # noqa: E731
    grade(subs, out, "--checks", str(checks), workers=1)
    before = table()
    # --rescore reruns every check on the cached executions and gives the same grades
    assert grade(subs, out, "--checks", str(checks), "--rescore", workers=1)["graded"] == 3
    assert table() == before
    for s in ("reference", "os_exit"):
        assert "using the cached execution" in log(s) and "executing the notebook" not in log(s)
    # a new check: the next grading reruns the checks, never the notebooks
    (checks / corpus.ASSIGNMENT / "test_extra.py").write_text(
        "from grader.api import check\n\n\n@check(points=1, message='square(2) must be 4.')\n"
        "def test_square_two(student):\n    assert student.square(2) == 4\n\n\n"
        "@check(points=1, message='a check with a bug.')\ndef test_buggy(student):\n    assert student.square(2) == 5\n")
    summary = grade(subs, out, "--checks", str(checks), workers=1)
    assert summary["graded"] == 3
    assert summary["reference_failures"] == ["test_buggy"]  # the instructor is warned
    row = rows(out)["reference"]
    assert (row["test_square_two"], row["test_buggy"], row["max"]) == ("1", "0", "11")
    assert "using the cached execution" in log("reference") and "executing the notebook" not in log("reference")
    # a submission without a cached execution is not executed by --rescore
    corpus.write_class(subs, {"late": corpus.build_all(outside)["sys_exit"]})  # new bytes: nothing cached
    grade(subs, out, "--checks", str(checks), "--rescore", workers=1)
    late = rows(out)["late"]
    assert (late["test_square_values"], late["test_result_saved"]) == ("2", "0")
    assert "no cached execution" in late["reason"]


def test_does_a_dead_worker_become_a_grader_error_row_while_the_batch_goes_on(tmp_path, outside):
    """The engine itself fails on one student (its worker is killed): that student gets a
    ``grader_error`` row with the reason, every other student is graded, the next run regrades it."""
    names = ["reference", "infinite_loop"]
    subs = corpus.write_class(tmp_path / "submitted", corpus.build_all(outside), names)
    out = tmp_path / "gb"
    cmd = [sys.executable, "-m", "grader", "grade", corpus.ASSIGNMENT, "--submissions", str(subs), "--out", str(out),
           "--solutions", str(corpus.SOLUTIONS), "--checks", str(corpus.CHECKS), "--student-data",
           str(corpus.STUDENT_DATA), "--data-dir", str(corpus.HIDDEN_DATA), "--workers", "1", "--no-progress",
           "--json", *LIMITS]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    batch = psutil.Process(proc.pid)
    victim = None
    deadline = time.monotonic() + 120
    log = out / corpus.ASSIGNMENT / "logs" / "infinite_loop.log"
    while victim is None and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        if "--- kernel output" not in (log.read_text() if log.is_file() else ""):
            continue  # one worker at a time: once this log says the kernel runs, the worker is infinite_loop's
        try:
            servers = [p for p in batch.children() if "forkserver" in " ".join(p.cmdline())]
            workers = [w for s in servers for w in s.children()]
        except psutil.Error:
            continue
        victim = workers[0] if len(workers) == 1 else None
    assert victim is not None, "the infinite_loop worker never started executing"
    victim.kill()
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr[-3000:]
    got = rows(out)
    assert got["infinite_loop"]["status"] == "grader_error"
    assert "the grader's worker failed (exit -9)" in got["infinite_loop"]["reason"]
    assert float(got["infinite_loop"]["total"]) == 0
    assert got["reference"]["status"] == "ok" and got["reference"]["total"] == got["reference"]["max"]
    # its kernel did not outlive it
    orphans = [p.pid for p in psutil.process_iter(["cmdline", "ppid"])
               if p.info["ppid"] == 1 and "grader.sandbox" in " ".join(p.info["cmdline"] or [])]
    assert not orphans
    # a grader error is not a final grade: the next run grades that student again
    summary = grade(subs, out, workers=1)
    assert summary["graded"] == 1
    assert rows(out)["infinite_loop"]["status"] == "problems"


def test_does_a_second_run_with_relative_folders_redo_nothing(tmp_path, outside):
    """``make grade`` passes relative folders (examples/submitted, gradebook): the second run
    must recognise every finished student instead of grading the class again."""
    corpus.write_class(tmp_path / "submitted", corpus.build_all(outside), ["reference", "stub"])
    cmd = [sys.executable, "-m", "grader", "grade", corpus.ASSIGNMENT, "--submissions", "submitted", "--out", "gb",
           "--solutions", str(corpus.SOLUTIONS), "--checks", str(corpus.CHECKS), "--student-data",
           str(corpus.STUDENT_DATA), "--data-dir", str(corpus.HIDDEN_DATA), "--workers", "1", "--no-progress",
           "--json", *LIMITS]
    summaries = []
    for _ in range(2):
        proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        summaries.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert summaries[0]["graded"] == 3 and summaries[0]["skipped"] == 0
    assert summaries[1]["graded"] == 0 and summaries[1]["skipped"] == 3


def test_does_regrade_status_grade_only_those_rows_again(tmp_path, outside):
    """``--regrade-status tampered`` grades the tampered student again and skips the unchanged others."""
    names = ["reference", "detached"]
    subs = corpus.write_class(tmp_path / "submitted", corpus.build_all(outside), names)
    out = tmp_path / "gb"
    grade(subs, out)
    assert rows(out)["detached"]["status"] == "tampered"
    before = _records(out)
    summary = grade(subs, out, "--regrade-status", "tampered")
    assert (summary["graded"], summary["skipped"]) == (1, 2)
    after = _records(out)
    assert after["detached"] != before["detached"]
    assert after["reference"] == before["reference"] and after["absent"] == before["absent"]
    bad = grade(subs, out, "--regrade-status", "tamperd", check=False)
    assert bad["returncode"] == 2 and "unknown status tamperd" in bad["stderr"] and "tampered" in bad["stderr"]
