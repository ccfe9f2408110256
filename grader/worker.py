"""Grading one student: ``python -m grader.worker JOB.json`` (one fresh process per student).

Steps: find and read the notebook; build the answers module (:mod:`grader.extract`);
execute the notebook (:mod:`grader.execute`) unless a cached execution of the same
submission and kit version exists; run the hidden checks (:mod:`grader.checking`); write
the record and the student's outputs. Nothing a submission does raises out of here: every
problem ends up in the record's ``status`` and ``reason``.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import IO, Any

import nbformat

from grader.answers import write_answers
from grader.checking import CheckRun, run_checks
from grader.execute import ExecutionResult, Limits, execute_notebook, prepare_workdir
from grader.extract import build_answers, execution_notebook
from grader.feedback import render_feedback
from grader.gradebook import Gradebook, atomic_write, copy_tree_safely, gradescope_results
from grader.notebook import NotebookUnreadable, file_digest, read_master, read_notebook
from grader.sandbox import Policy
from grader.submissions import find_notebook
from grader.limits import WALL_FACTOR
from grader.watchdog import become_subreaper, sweep_detached

__all__ = ["Job", "grade_student", "main"]

REASON_LIMIT = 600


@dataclasses.dataclass
class Job:
    """Everything a worker needs to grade one student (JSON-serialisable)."""

    student: str
    assignment: str
    submissions: str
    out: str
    master: str
    checks_file: str  # checks.json written by the batch
    checks_dir: str
    reference_module: str
    student_data: str | None
    data_dir: str | None
    kernel_read: list[str]
    kernel_list: list[str]
    check_read: list[str]
    limits: dict
    check_timeout: float
    checks_timeout: float
    exec_version: str  # kit + engine + master + limits
    grade_version: str  # exec_version + checks
    answers_only: bool = False
    rescore: bool = False
    other_masters: dict = dataclasses.field(default_factory=dict)
    threads: int = 2
    cpus: list[int] | None = None
    seed: int = 0
    needs: dict = dataclasses.field(default_factory=dict)  # grade_id -> CPU-s the reference needs

    def save(self, path: Path) -> Path:
        path.write_text(json.dumps(dataclasses.asdict(self)))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Job":
        return cls(**json.loads(Path(path).read_text()))


class _Log:
    def __init__(self, f: IO[str]):
        self.f = f

    def __call__(self, msg: str) -> None:
        self.f.write(f"[{time.strftime('%H:%M:%S')}] {msg}\n")
        self.f.flush()


def grade_student(job: Job) -> dict:
    """Grade one student and write the record and outputs; returns the record."""
    gb = Gradebook(job.out, job.assignment)
    t0 = time.monotonic()
    log_path = gb.dir("logs") / f"{job.student}.log"
    with open(log_path, "w", encoding="utf-8") as lf:
        log = _Log(lf)
        try:
            record = _grade(job, gb, log, lf)
        except Exception:  # noqa: BLE001 - an engine bug must not stop the batch
            log("grader error:\n" + traceback.format_exc())
            record = _base_record(job, json.loads(Path(job.checks_file).read_text()))
            record.update(status="grader_error", reason="the grader failed on this submission (see its log)")
            _finish_checks(record, json.loads(Path(job.checks_file).read_text())["checks"], {}, "not run: grader error")
        record["seconds"] = round(time.monotonic() - t0, 2)
        log(f"done: {record['status']} {record['score']:g}/{record['max_score']:g} in {record['seconds']:.1f} s")
    _write_outputs(gb, job, record)
    return record


def _base_record(job: Job, info: dict) -> dict:
    return {"student": job.student, "assignment": job.assignment, "status": "ok", "reason": "",
            "notebook": None, "submission_sha": None, "grade_version": job.grade_version,
            "answers_only": job.answers_only, "problems": [], "import_errors": [], "execution": None,
            "checks": [], "manual": info["manual"], "score": 0.0,
            "max_score": sum(c["points"] for c in info["checks"]), "crashes": [], "anomalies": []}


def _finish_checks(record: dict, checks: list[dict], results: dict[str, dict], missing_output: str) -> None:
    out = []
    for c in checks:
        r = results.get(c["nodeid"])
        if r is None:
            r = {"outcome": "not_run", "score": 0.0, "output": missing_output}
        # the engine's own bound: a check scores between 0 and its points, whatever was reported
        score = min(max(float(r["score"]), 0.0), float(c["points"])) if r["outcome"] == "passed" else 0.0
        out.append({"nodeid": c["nodeid"], "name": c["name"], "column": c["column"], "run": c["run"],
                    "outcome": r["outcome"], "score": score, "max_score": c["points"],
                    "output": r.get("output", ""), "visibility": c.get("visibility", "visible"),
                    "cpu_seconds": float(r.get("cpu_seconds") or 0.0)})
    record["checks"] = out
    record["score"] = round(sum(c["score"] for c in out), 6)


def _grade(job: Job, gb: Gradebook, log: _Log, lf: IO[str]) -> dict:
    info = json.loads(Path(job.checks_file).read_text())
    checks = info["checks"]
    record = _base_record(job, info)
    log(f"grading {job.student} / {job.assignment}")
    path, note = find_notebook(job.submissions, job.student, job.assignment)
    if path is None:
        record.update(status="no_submission", reason=note)
        _finish_checks(record, checks, {}, "not run: no submission")
        return record
    record["notebook"] = str(path)
    if note:
        record["problems"].append({"code": "notebook_name", "grade_id": None, "message": note})
    try:
        sha = file_digest(path)
        record["submission_sha"] = sha
        nb = read_notebook(path)
    except NotebookUnreadable as e:
        record.update(status="unreadable", reason=e.reason)
        _finish_checks(record, checks, {}, f"not run: {e.reason}")
        return record
    master = read_master(job.master)
    src = build_answers(master, nb, title=f"{job.assignment} / {job.student}")
    record["problems"] += [dataclasses.asdict(p) for p in src.problems]
    if src.expected and src.matched == 0:
        reason = f"none of the {src.expected} answer cells of {job.assignment} are in this notebook"
        guess = _guess_assignment(nb, job.other_masters)
        reason += f"; it looks like {guess}" if guess else "; is it the right notebook?"
        record.update(status="wrong_notebook", reason=reason)
        _finish_checks(record, checks, {}, f"not run: {reason}")
        return record
    tmp = Path(tempfile.mkdtemp(prefix="grader-"))
    try:
        tmp.chmod(0o711)
        module = tmp / "mod" / "student_answers.py"
        module.parent.mkdir()
        write_answers(src, module)
        exec_dir, execution = _execution(job, gb, sha, master, nb, tmp, log, lf)
        record["execution"] = execution
        record["anomalies"] += (execution or {}).get("anomalies", [])
        run = CheckRun(assignment=job.assignment, checks_dir=Path(job.checks_dir),
                       reference_module=Path(job.reference_module), hidden_data=job.data_dir,
                       read=job.check_read, memory=int(job.limits["memory"]), timeout=job.checks_timeout,
                       check_timeout=job.check_timeout, threads=job.threads,
                       wall_factor=float(job.limits.get("wall_factor", WALL_FACTOR)),
                       cpus=tuple(job.cpus) if job.cpus else None, seed=job.seed)
        log("running the checks")
        outcome = run_checks(run, checks, student_module=module, workdir=exec_dir, tmp=tmp, log=lf,
                             numba_cache=gb.root / "cache" / "numba")
        log(f"checks: {len(outcome.results)} result(s) in {outcome.seconds:.1f} s; "
            f"sandbox: {json.dumps(outcome.protections)}")
        for r in outcome.results.values():
            if r.get("log"):
                lf.write(f"--- {r['nodeid']} [{r['outcome']}]{' CHECK ERROR' if r.get('check_error') else ''}\n"
                         f"{r['log']}\n")
        record["check_seconds"] = round(outcome.seconds, 2)
        record["check_cpu_seconds"] = outcome.cpu_seconds
        record["anomalies"] += outcome.anomalies
        left = sweep_detached()
        if left:
            record["anomalies"].append(f"processes detached from the checks were left behind and killed: {left}")
        record["import_errors"] = outcome.import_errors
        record["crashes"] = outcome.crashes
        why = "not run: " + (outcome.crashes[-1] if outcome.crashes else "no result")
        _finish_checks(record, checks, outcome.results, why)
        if exec_dir is None and not job.answers_only:
            for c in record["checks"]:
                if c["run"] and c["outcome"] == "not_run":
                    c["output"] = "not run: " + (execution or {}).get("reason", "no cached execution")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    record["status"], record["reason"] = _status(record)
    return record


def _execution(job: Job, gb: Gradebook, sha: str, master: Any, nb: Any, tmp: Path, log: _Log,
               lf: IO[str]) -> tuple[Path | None, dict | None]:
    """The executed-notebook folder for this submission (cached or fresh) and its summary."""
    if job.answers_only:
        return None, None
    target = gb.execution_dir(sha)
    meta = target / "execution.json"
    if meta.is_file():
        info = json.loads(meta.read_text())
        if job.rescore or info.get("exec_version") == job.exec_version:
            log(f"using the cached execution {target.name[:12]} ({info['status']})")
            info["cached"] = True
            return target, info
    if job.rescore:
        log("no cached execution: run checks are not run (grade without --rescore to execute)")
        return None, {"status": "not_executed", "reason": "no cached execution (rescoring only)",
                      "failed_cells": [], "cached": False}
    work = tmp / "w"
    work.mkdir()
    prepare_workdir(work, numba_cache=gb.root / "cache" / "numba")
    limits = Limits(**{k: (tuple(v) if k == "cpus" and v else v) for k, v in job.limits.items()})
    policy = Policy(workdir=str(work), read=[*job.kernel_read, *([job.student_data] if job.student_data else [])],
                    list_dirs=job.kernel_list,
                    deny=[p for p in (job.data_dir, job.checks_dir, str(Path(job.master).parent), job.out) if p],
                    threads=limits.threads, cpus=list(limits.cpus) if limits.cpus else None,
                    address_space=4 * limits.memory + (4 << 30))
    to_run = execution_notebook(master, nb)
    log(f"executing the notebook ({len(to_run.cells)} cells)")
    lf.write("--- kernel output\n")
    lf.flush()
    result: ExecutionResult = execute_notebook(to_run, work, policy=policy, limits=limits,
                                               student_data=job.student_data, kernel_log=lf, needs=job.needs)
    left = sweep_detached()
    if left:
        result.anomalies.append(f"processes detached from the notebook were left behind and killed: {left}")
    log(f"execution: {result.status} {result.reason} in {result.seconds:.1f} s, peak "
        f"{result.peak_rss / 2**20:.0f} MiB; failed cells: {result.failed_cells}")
    stage = gb.dir("cache/executions") / f".tmp-{sha[:16]}-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    for sub in ("artifacts", "runs"):
        copy_tree_safely(work / sub, stage / sub, max_bytes=limits.disk)
    nbformat.write(to_run, str(stage / "executed.ipynb"))
    info = dataclasses.asdict(result)
    info.update(exec_version=job.exec_version, submission_sha=sha)
    (stage / "execution.json").write_text(json.dumps(info, indent=1))
    if target.exists():
        shutil.rmtree(target, ignore_errors=True)
    try:
        os.rename(stage, target)
    except OSError:  # another worker stored the same submission first
        shutil.rmtree(stage, ignore_errors=True)
    info["cached"] = False
    return target, info


def _status(record: dict) -> tuple[str, str]:
    if record.get("anomalies"):
        reason = "tampering: " + "; ".join(record["anomalies"])
        return "tampered", reason if len(reason) <= REASON_LIMIT else reason[:REASON_LIMIT] + "…"
    reasons = []
    for p in record["problems"]:
        reasons.append(p["message"])
    for e in record["import_errors"]:
        reasons.append(f"answer cell '{e['grade_id']}' failed on import: {e['error']}")
    ex = record.get("execution") or {}
    if ex.get("reason"):
        reasons.append(ex["reason"])
    fc = ex.get("failed_cells") or []
    if fc:
        shown = [f"cell {c['index']}{' (' + c['grade_id'] + ')' if c.get('grade_id') else ''} {c['ename']}"
                 for c in fc if c["ename"] != "KernelDied"][:5]
        if shown:
            reasons.append("errors in " + ", ".join(shown) + (" …" if len(fc) > 5 else ""))
    reasons += record.get("crashes", [])
    todo = [c["name"] for c in record["checks"] if c["outcome"] == "not_implemented"]
    if todo:
        reasons.append(f"not implemented: {len(todo)} check(s)")
    if not reasons and all(c["outcome"] in ("passed", "failed", "not_run") for c in record["checks"]):
        return "ok", ""
    reason = "; ".join(reasons)
    if len(reason) > REASON_LIMIT:
        reason = reason[:REASON_LIMIT] + "…"
    if any(c.startswith("grader error") for c in record.get("crashes", [])):
        return "grader_error", reason
    if ex.get("status") in ("memory", "timeout", "kernel_died", "cell_stuck", "disk", "start_failed"):
        return ex["status"], reason
    return "problems" if reasons else "ok", reason


def _guess_assignment(nb: Any, others: dict[str, str]) -> str | None:
    from grader.notebook import cells_of

    ids = {c.grade_id for c in cells_of(nb) if c.role == "answer"}
    best, score = None, 0
    for name, path in others.items():
        try:
            mids = {c.grade_id for c in cells_of(read_master(path)) if c.role == "answer"}
        except Exception:  # noqa: BLE001
            continue
        if len(ids & mids) > score:
            best, score = name, len(ids & mids)
    return best


def _write_outputs(gb: Gradebook, job: Job, record: dict) -> None:
    s = job.student
    atomic_write(gb.dir("results") / f"{s}.json", json.dumps(gradescope_results(record), indent=1))
    atomic_write(gb.dir("feedback") / f"{s}.html", render_feedback(record))
    sha = record.get("submission_sha")
    exec_dir = gb.execution_dir(sha) if sha and record.get("execution") else None
    if exec_dir is not None and (exec_dir / "executed.ipynb").is_file():
        atomic_write(gb.dir("executed") / f"{s}.ipynb", (exec_dir / "executed.ipynb").read_bytes())
        runs = gb.dir("runs") / s
        stage = gb.dir("runs") / f".tmp-{s}-{os.getpid()}"
        shutil.rmtree(stage, ignore_errors=True)
        copy_tree_safely(exec_dir / "runs", stage)
        shutil.rmtree(runs, ignore_errors=True)
        os.rename(stage, runs) if stage.exists() else None
    # the record goes last: it marks the student as done
    atomic_write(gb.record_path(s), json.dumps(record, indent=1))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m grader.worker JOB.json", file=sys.stderr)
        return 2
    if sys.platform == "linux":
        try:
            import ctypes

            ctypes.CDLL(None).prctl(1, 9, 0, 0, 0)  # die with the batch (PR_SET_PDEATHSIG, SIGKILL)
        except Exception:  # noqa: BLE001
            pass
    become_subreaper()
    grade_student(Job.load(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
