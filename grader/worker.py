"""Grading one student: ``python -m grader.worker JOB.json`` (one fresh process per student).

Steps: find and read the notebook; build the answers module (:mod:`grader.extract`);
execute the notebook unless a cached execution of the same submission and kit version
exists (:mod:`grader.execcache`); run the hidden checks (:mod:`grader.checking`); settle the
record (:mod:`grader.record`) and publish it with the student's outputs
(:meth:`grader.gradebook.Gradebook.publish`). Nothing a submission does raises out of here:
every problem ends up in the record's ``status`` and ``reason``.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import IO, Any

from grader.answers import write_answers
from grader.assignments import masters
from grader.checking import run_checks
from grader.execcache import execution_for
from grader.extract import build_answers
from grader.job import Job, check_run
from grader.notebook import NotebookUnreadable, cells_of, file_digest, read_master, read_notebook
from grader.record import Record, Status
from grader.submissions import find_notebook
from grader.watchdog import become_subreaper, sweep_detached

__all__ = ["grade_student", "main"]


class _Log:
    def __init__(self, f: IO[str]):
        self.f = f

    def __call__(self, msg: str) -> None:
        self.f.write(f"[{time.strftime('%H:%M:%S')}] {msg}\n")
        self.f.flush()


def grade_student(job: Job) -> Record:
    """Grade one student and publish the record and outputs; returns the record."""
    gb = job.gradebook
    info = json.loads((gb.root / "checks.json").read_text())
    checks, manual = info["checks"], info["manual"]
    t0 = time.monotonic()
    with open(gb.dir("logs") / f"{job.student}.log", "w", encoding="utf-8") as lf:
        log = _Log(lf)
        try:
            record = _grade(job, checks, manual, log, lf)
        except Exception:  # noqa: BLE001 - an engine bug must not stop the batch
            log("grader error:\n" + traceback.format_exc())
            record = _start(job, checks, manual).stop(
                Status.GRADER_ERROR, "the grader failed on this submission (see its log)", checks)
            record.finish_checks(checks, {}, "not run: grader error")
        record.seconds = round(time.monotonic() - t0, 2)
        log(f"done: {record.status} {record.score:g}/{record.max_score:g} in {record.seconds:.1f} s")
    sha = record.submission_sha
    gb.publish(record, gb.execution_dir(sha) if sha and record.execution else None)
    return record


def _start(job: Job, checks: list[dict], manual: list[dict]) -> Record:
    return Record.start(job.student, job.options.assignment, checks, manual, grade_version=job.versions.grade,
                        answers_only=job.options.answers_only)


def _grade(job: Job, checks: list[dict], manual: list[dict], log: _Log, lf: IO[str]) -> Record:
    a = job.options.assignment
    record = _start(job, checks, manual)
    log(f"grading {job.student} / {a}")
    path, note = find_notebook(job.options.submissions, job.student, a)
    if path is None:
        record.stop(Status.NO_SUBMISSION, note, checks)
        record.finish_checks(checks, {}, "not run: no submission")
        return record
    record.notebook = str(path)
    if note:
        record.problems.append({"code": "notebook_name", "grade_id": None, "message": note})
    try:
        record.submission_sha = file_digest(path)
        nb = read_notebook(path)
    except NotebookUnreadable as e:
        return record.stop(Status.UNREADABLE, e.reason, checks)
    master = read_master(job.assignment.master)
    src = build_answers(master, nb, title=f"{a} / {job.student}")
    record.problems += [dataclasses.asdict(p) for p in src.problems]
    if src.expected and src.matched == 0:
        reason = f"none of the {src.expected} answer cells of {a} are in this notebook"
        guess = _guess_assignment(nb, job)
        reason += f"; it looks like {guess}" if guess else "; is it the right notebook?"
        return record.stop(Status.WRONG_NOTEBOOK, reason, checks)
    tmp = Path(tempfile.mkdtemp(prefix="grader-"))
    try:
        tmp.chmod(0o711)
        module = tmp / "mod" / "student_answers.py"
        module.parent.mkdir()
        write_answers(src, module)
        exec_dir, execution = execution_for(job, record.submission_sha, master, nb, tmp, log, lf)
        record.execution = execution
        record.anomalies += (execution or {}).get("anomalies", [])
        _check(job, record, checks, module, exec_dir, tmp, log, lf)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    record.settle()
    return record


def _check_errors(results: dict[str, dict]) -> list[str]:
    """What the instructor must see about checks whose own code raised (not the student's code).

    A check that cannot read the reference figures its thresholds derive from is a grader error
    (the row is graded again by the next batch); any other is named, so the row is not ``ok``.
    """
    errors = sorted(r["name"] for r in results.values() if r.get("check_error"))
    if not errors:
        return []
    figures = sorted(r["name"] for r in results.values()
                     if r.get("check_error") and "ReferenceFiguresMissing" in r.get("log", ""))
    if figures:
        return [f"grader error: the reference figures cannot be read by {', '.join(figures)} (see the log; "
                "`make reference`, then grade again)"]
    return [f"check error in {', '.join(errors)}: the check's own code raised, not the answer's (see the log)"]


def _check(job: Job, record: Record, checks: list[dict], module: Path, exec_dir: Path | None, tmp: Path,
           log: _Log, lf: IO[str]) -> None:
    """Run the hidden checks on the answers module (and the execution) and fill the record."""
    log("running the checks")
    outcome = run_checks(check_run(job.options, job.threads, job.cpus), checks, student_module=module,
                         workdir=exec_dir, tmp=tmp, log=lf, numba_cache=job.gradebook.root / "cache" / "numba")
    log(f"checks: {len(outcome.results)} result(s) in {outcome.seconds:.1f} s; "
        f"sandbox: {json.dumps(outcome.protections)}")
    for r in outcome.results.values():
        if r.get("log"):
            lf.write(f"--- {r['nodeid']} [{r['outcome']}]{' CHECK ERROR' if r.get('check_error') else ''}\n"
                     f"{r['log']}\n")
    record.check_seconds = round(outcome.seconds, 2)
    record.check_cpu_seconds = outcome.cpu_seconds
    record.anomalies += outcome.anomalies
    left = sweep_detached()
    if left:
        record.anomalies.append(f"processes detached from the checks were left behind and killed: {left}")
    record.import_errors = outcome.import_errors
    record.crashes = outcome.crashes + _check_errors(outcome.results)
    record.finish_checks(checks, outcome.results, "not run: " + (outcome.crashes[-1] if outcome.crashes
                                                                 else "no result"))
    if exec_dir is None and not job.options.answers_only:
        why = "not run: " + (record.execution or {}).get("reason", "no cached execution")
        for c in record.checks:
            if c.run and c.outcome == "not_run":
                c.output = why


def _guess_assignment(nb: Any, job: Job) -> str | None:
    """The other assignment whose answer cells this notebook has most of, if any."""
    ids = {c.grade_id for c in cells_of(nb) if c.role == "answer"}
    best, score = None, 0
    for name, path in masters(job.options.solutions).items():
        if name == job.options.assignment:
            continue
        try:
            mids = {c.grade_id for c in cells_of(read_master(path)) if c.role == "answer"}
        except Exception:  # noqa: BLE001
            continue
        if len(ids & mids) > score:
            best, score = name, len(ids & mids)
    return best


def main(argv: list[str] | None = None) -> int:
    """``python -m grader.worker JOB.json``: grade one student (where fork servers do not exist)."""
    from grader.procs import die_with_parent

    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m grader.worker JOB.json", file=sys.stderr)
        return 2
    die_with_parent()
    become_subreaper()
    grade_student(Job.load(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
