"""Grading a class: one worker process per student, N at a time, resumable.

The batch builds what every student shares (the reference answers module, the list of
checks, the student-only data folder), then grades each student in a worker process
(:mod:`grader.pool`, :mod:`grader.worker`). A student whose record matches the current
submission file and kit/check version is not graded again, so a batch killed at any point
(even ``kill -9``) resumes where it stopped. A worker that crashes or hangs gets a
``grader_error`` row; the batch goes on.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator

from grader.answers import write_answers
from grader.assignments import Assignment, find
from grader.checking import collect_checks, run_checks
from grader.config import Options
from grader.errors import GraderError
from grader.extract import build_answers
from grader.gradebook import Gradebook, atomic_write, grades_table
from grader.job import Job, check_run, limits_of, materialise_student_data, reference_module_path, resolve
from grader.notebook import NotebookUnreadable, cells_of, file_digest, parts_of, read_master
from grader.pool import Worker, cpu_slots, run_pool
from grader.record import STATUSES, Record, Status
from grader.submissions import find_notebook, students as list_students
from grader.versioning import versions

__all__ = ["Options", "grade_assignment"]


def _validate(opts: Options) -> Assignment:
    assignment = find(opts.assignment, opts.solutions, opts.checks)
    if opts.workers < 1:
        raise GraderError(f"--workers must be at least 1, got {opts.workers}")
    unknown = [st for st in opts.regrade_status if st not in STATUSES]
    if unknown:
        raise GraderError(f"--regrade-status: unknown status {', '.join(unknown)}; use some of {', '.join(STATUSES)}")
    if opts.wall_factor < 1:
        raise GraderError(f"--wall-factor must be at least 1 (a multiple of the CPU limits), got {opts.wall_factor:g}")
    return assignment


@contextlib.contextmanager
def _lock(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    f = open(root / ".lock", "w")
    try:
        import fcntl

        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise GraderError(f"another grader is working on {root}; wait for it or stop it") from None
    except ImportError:  # pragma: no cover - not POSIX
        pass
    try:
        yield
    finally:
        f.close()


def _manual_cells(master: object) -> list[dict]:
    parts = parts_of(master)
    return [{"grade_id": c.grade_id, "points": c.points, "status": "pending", "part": parts[c.grade_id][1]}
            for c in cells_of(master) if c.role in ("written", "task") and c.points > 0]


def _in_notebook_order(checks: list[dict], master: object, master_path: Path) -> list[dict]:
    """``checks`` sorted by the master cell each names (``cell``), each with its notebook ``part``.

    Checks naming no cell keep their order after the others, with part ``""``.

    Raises
    ------
    GraderError
        If a check names a cell the master does not have.
    """
    parts = parts_of(master)
    unknown = sorted({c["cell"] for c in checks if c.get("cell") and c["cell"] not in parts})
    if unknown:
        raise GraderError(f"checks name cells {unknown} that {master_path} does not have; set check(cell=...) to "
                          f"one of its grade_ids: {sorted(parts)}")
    for c in checks:
        c["part"] = parts[c["cell"]][1] if c.get("cell") else ""
    return sorted(checks, key=lambda c: parts[c["cell"]][0] if c.get("cell") else len(parts) + 1)


def _is_done(gb: Gradebook, student: str, opts: Options, grade_version: str) -> bool:
    rec = gb.read_record(student)
    if rec is None or opts.rescore or rec.grade_version != grade_version:
        return False
    if rec.status.value in opts.regrade_status:
        return False
    path, _ = find_notebook(opts.submissions, student, opts.assignment)
    if path is None:
        return rec.notebook is None
    try:
        return rec.notebook == str(path) and rec.submission_sha == file_digest(path)
    except NotebookUnreadable:
        return rec.status is Status.UNREADABLE


def _threads(workers: int) -> int:
    ncpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, ncpu // workers)


def grade_assignment(opts: Options) -> dict:
    """Grade every student of ``opts.submissions`` for ``opts.assignment``.

    Returns
    -------
    dict
        ``{"gradebook": path, "students": n, "graded": n, "skipped": n, "statuses": {...},
        "reference_failures": [...], "seconds": s}``.

    Raises
    ------
    GraderError
        For instructor-side problems (no master, no checks, bad folders, another batch running).
    """
    t0 = time.monotonic()
    explicit = (opts.student_data is not None, opts.hidden_data is not None)
    opts = resolve(opts)
    # the data folders given on the command line; a cluster's workers make their own when not given
    given = (opts.student_data if explicit[0] else None, opts.hidden_data if explicit[1] else None)
    assignment = _validate(opts)
    everyone = list_students(opts.submissions)
    if opts.students:
        everyone = [s for s in everyone if s in set(opts.students)]
    gb = Gradebook(opts.out, opts.assignment)
    if not opts.cluster:
        Worker.warm_up()  # start the fork server (imports) while the checks are collected
    with _lock(gb.root):
        for stale in [*gb.dir("cache/executions").glob(".tmp-*"), *gb.dir("runs").glob(".tmp-*")]:
            shutil.rmtree(stale, ignore_errors=True)
        master = read_master(assignment.master)
        write_answers(build_answers(master, None, title=f"{opts.assignment} reference"), reference_module_path(gb))
        threads = _threads(opts.workers)
        checks = _in_notebook_order(collect_checks(check_run(opts, threads)), master, assignment.master)
        manual = _manual_cells(master)
        atomic_write(gb.root / "checks.json", json.dumps({"checks": checks, "manual": manual}, indent=1))
        ver = versions(opts, assignment, limits_of(opts, threads))
        todo = [s for s in everyone if not _is_done(gb, s, opts, ver.grade)]
        # the self-check runs beside the first students (it only has to finish before their checks
        # copy its numba cache; a student checked earlier compiles its own)
        selfcheck: dict = {"failed": []}
        checker = threading.Thread(target=lambda: selfcheck.update(_self_check(opts, threads, checks, gb, ver.grade)),
                                   name="self-check", daemon=True)
        if todo:
            checker.start()
            if not opts.answers_only and not opts.cluster and opts.student_data == opts.out / ".student-data":
                materialise_student_data(opts.student_data)  # the default: made once per gradebook
        cluster = _grade_all(todo, everyone, opts, gb, checks, manual, ver, threads, given)
        if checker.is_alive():
            checker.join()
        records = gb.records(everyone)
        atomic_write(gb.root / "grades.csv", grades_table(records, checks, manual))
        statuses: dict[str, int] = {}
        for r in records:
            statuses[r.status.value] = statuses.get(r.status.value, 0) + 1
        return {"gradebook": str(gb.root), "students": len(everyone), "graded": len(todo),
                "skipped": len(everyone) - len(todo), "statuses": statuses,
                "reference_failures": selfcheck["failed"], "seconds": round(time.monotonic() - t0, 2),
                **({"cluster": {"address": opts.cluster, "workers": cluster}} if opts.cluster else {})}


def _grade_all(todo: list[str], everyone: list[str], opts: Options, gb: Gradebook, checks: list[dict],
               manual: list[dict], ver, threads: int, given: tuple[Path | None, Path | None]) -> dict | None:
    """Grade ``todo`` in local worker processes or on ``opts.cluster``; the cluster's workers seen."""
    jobs, errs = gb.dir("cache/jobs"), gb.dir("cache/workers")
    limit = (opts.timeout + opts.all_checks_timeout) * opts.wall_factor + 300
    bar = None
    if opts.progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(everyone), initial=len(everyone) - len(todo), unit="student",
                   desc=f"grading {opts.assignment}", dynamic_ncols=True)

    def job_for(student: str, cpus: tuple[int, ...] | None) -> Path:
        return Job(options=opts, student=student, versions=ver, threads=threads, cpus=cpus).save(
            jobs / f"{student}.json")

    def finished(student: str, problem: tuple[str, str] | None) -> None:
        if problem is not None:
            _error_record(gb, student, opts, checks, manual, *problem)
        if bar is not None:
            bar.update(1)
            bar.set_postfix_str(f"{bar.total - bar.n} left")
        atomic_write(gb.root / "grades.csv", grades_table(gb.records(everyone), checks, manual))

    def worker_ended(student: str, code: int | None) -> None:
        rec = gb.read_record(student)
        problem = None
        if rec is None or rec.grade_version != ver.grade:
            why = "timed out" if code is None else f"failed (exit {code})"
            log = errs / f"{student}.err"
            problem = (f"the grader's worker {why}; see its log",
                       log.read_text(errors="replace")[-2000:] if log.is_file() else f"(no worker log: {log} is missing)")
        finished(student, problem)

    try:
        if opts.cluster and todo:
            from grader.cluster import grade_on_cluster

            said = (lambda m: bar.write(m)) if bar is not None else (lambda m: print(m, file=sys.stderr))
            return grade_on_cluster(opts, todo, gb, ver, limit=limit, given=given, finished=finished, said=said)
        run_pool(todo, job_for, cpu_slots(opts.workers), errs, limit=limit, finished=worker_ended)
        return None
    finally:
        if bar is not None:
            bar.close()


def _self_check(opts: Options, threads: int, checks: list[dict], gb: Gradebook, version: str) -> dict:
    """Run the answer checks on the reference itself, once per kit/check version.

    Every check must pass on the master's own answers; those that do not are listed (a check
    or master bug the instructor must see). It also fills the shared numba cache, which every
    sandbox then gets a copy of (librosa's kernels compile once per batch, not per process).
    """
    path = gb.root / "cache" / "selfcheck.json"
    try:
        old = json.loads(path.read_text())
        if old.get("version") == version:
            return old
    except (OSError, ValueError):
        pass
    with tempfile.TemporaryDirectory(prefix="grader-self-") as tmp, \
            open(gb.root / "cache" / "selfcheck.log", "w") as log:
        outcome = run_checks(check_run(opts, threads), checks, student_module=None, workdir=None, tmp=Path(tmp),
                             log=log, numba_cache=gb.root / "cache" / "numba", share_numba_cache=True)
    failed = sorted(r["name"] for r in outcome.results.values() if r["outcome"] not in ("passed", "not_run"))
    failed += [f"(the self-check itself: {c})" for c in outcome.crashes]
    doc = {"version": version, "failed": failed, "crashes": outcome.crashes,
           "seconds": round(outcome.seconds, 2)}
    atomic_write(path, json.dumps(doc, indent=1))
    return doc


def _error_record(gb: Gradebook, student: str, opts: Options, checks: list[dict], manual: list[dict],
                  reason: str, detail: str) -> None:
    """A ``grader_error`` row for a student whose worker died (graded again by the next batch)."""
    rec = Record.start(student, opts.assignment, checks, manual, answers_only=opts.answers_only)
    rec.stop(Status.GRADER_ERROR, reason, checks)
    rec.finish_checks(checks, {}, "not run: grader error")
    with open(gb.dir("logs") / f"{student}.log", "a") as f:
        f.write(f"\n[batch] {reason}\n{detail}\n")
    gb.publish(rec)
