"""Grading a class: one worker process per student, N at a time, resumable.

The batch builds what every student shares (the reference answers module, the list of
checks, the student-only data folder), then runs ``python -m grader.worker`` per student.
A student whose record matches the current submission file and kit/check version is not
graded again, so a batch killed at any point (even ``kill -9``) resumes where it stopped.
A worker that crashes or hangs gets a ``grader_error`` row; the batch goes on.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

from grader.checking import CheckRun, collect_checks
from grader.context import REPO
from grader.errors import GraderError
from grader.execute import Limits
from grader.limits import WALL_FACTOR
from grader.extract import build_answers
from grader.answers import write_answers
from grader.gradebook import STATUSES, Gradebook, atomic_write, grades_table
from grader.notebook import NotebookUnreadable, cells_of, file_digest, read_master
from grader.submissions import find_notebook, students as list_students
from grader.watchdog import kill_tree
from grader.worker import Job

__all__ = ["Options", "grade_assignment"]

EXEC_CODE = ("execute.py", "sandbox.py", "extract.py", "watchdog.py", "notebook.py")


@dataclasses.dataclass
class Options:
    """Options of one batch (the command line's)."""

    assignment: str
    submissions: Path
    out: Path
    workers: int = 1
    timeout: float = 1800.0
    cell_timeout: float = 600.0
    wall_factor: float = WALL_FACTOR
    memory_gb: float = 6.0
    disk_gb: float = 4.0
    check_timeout: float = 60.0
    checks_timeout: float = 900.0
    answers_only: bool = False
    rescore: bool = False
    solutions: Path = REPO / "solutions"
    checks: Path = REPO / "grader" / "checks"
    student_data: Path | None = None
    data_dir: Path | None = None
    only: list[str] | None = None
    regrade_status: tuple[str, ...] = ()
    progress: bool = True
    seed: int = 0


def _hash_files(paths: list[Path], h: "hashlib._Hash") -> None:
    for p in sorted(paths):
        if p.is_file() and "__pycache__" not in p.parts:
            h.update(str(p.name).encode())
            h.update(p.read_bytes())


def _tree(root: Path, patterns: tuple[str, ...] = ("*.py", "*.toml", "*.json", "*.tsv", "*.txt")) -> list[Path]:
    out: list[Path] = []
    for pat in patterns:
        out += [p for p in root.rglob(pat) if "cache" not in p.relative_to(root).parts]
    return out


def versions(opts: Options, master: Path, limits: Limits) -> tuple[str, str]:
    """(exec_version, grade_version): what invalidates cached executions and cached grades."""
    h = hashlib.sha256()
    for pkg in ("kit", "source_data"):
        _hash_files(_tree(REPO / pkg), h)
    _hash_files([REPO / "grader" / f for f in EXEC_CODE], h)
    h.update(master.read_bytes())
    h.update(limits.key().encode())
    exec_version = h.hexdigest()
    g = hashlib.sha256(exec_version.encode())
    _hash_files(_tree(opts.checks / opts.assignment, ("*.py", "*.json", "*.txt", "*.npz", "*.npy")), g)
    _hash_files([opts.checks / "conftest.py", *(REPO / "grader").glob("*.py")], g)
    # the run checks derive their thresholds from the reference figures: new figures, new grades
    _hash_files([REPO / "reference" / f"{opts.assignment}.json"], g)
    g.update(f"answers_only={opts.answers_only}".encode())
    return exec_version, g.hexdigest()


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


def _student_data(opts: Options) -> str | None:
    if opts.student_data is not None:
        return str(Path(opts.student_data).resolve())
    import source_data as sd

    dest = opts.out.resolve() / ".student-data"
    if not sd.is_student_folder(dest):
        try:
            sd.materialise_student(dest, link=True)
        except OSError:
            sd.materialise_student(dest, link=False)
    dest.chmod(0o755)  # made by mkdtemp (0700); a kernel running as another user must read it
    return str(dest)


def _kit_list_dirs() -> list[str]:
    """The kit's package folders: a kernel may list them (imports need it), not read all below."""
    return [str(REPO / pkg) for pkg in ("kit", "source_data") if (REPO / pkg).is_dir()]


def _kit_read_paths() -> list[str]:
    """What a kernel may read of the kit: the packages' files, not their data caches."""
    out = []
    for pkg in ("kit", "source_data"):
        root = REPO / pkg
        for entry in sorted(root.iterdir()) if root.is_dir() else []:
            if entry.name in ("cache", "__pycache__") or entry.name.startswith("."):
                continue
            out.append(str(entry))
    return out


def _manual_cells(master: object) -> list[dict]:
    return [{"grade_id": c.grade_id, "points": c.points, "status": "pending"}
            for c in cells_of(master) if c.role in ("written", "task") and c.points > 0]


def _is_done(gb: Gradebook, student: str, opts: Options, grade_version: str) -> bool:
    rec = gb.read_record(student)
    if rec is None or opts.rescore or rec.get("grade_version") != grade_version:
        return False
    if rec.get("status") in opts.regrade_status:
        return False
    path, _ = find_notebook(opts.submissions, student, opts.assignment)
    if path is None:
        return rec.get("notebook") is None
    try:
        return rec.get("notebook") == str(path) and rec.get("submission_sha") == file_digest(path)
    except NotebookUnreadable:
        return rec.get("status") == "unreadable"


def _cpu_slots(workers: int) -> list[list[int] | None]:
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return [None] * workers
    if workers > len(cpus):
        return [None] * workers
    k = len(cpus) // workers
    return [cpus[i * k:(i + 1) * k] for i in range(workers)]


def grade_assignment(opts: Options) -> dict:
    """Grade every student of ``opts.submissions`` for ``opts.assignment``.

    Returns
    -------
    dict
        ``{"gradebook": path, "students": n, "graded": n, "skipped": n, "statuses": {...},
        "seconds": s}``.

    Raises
    ------
    GraderError
        For instructor-side problems (no master, no checks, bad folders, another batch running).
    """
    t0 = time.monotonic()
    # one absolute submissions folder for the whole batch: the workers record notebook paths
    # under it, and a later run recognises finished students by comparing with those paths
    opts = dataclasses.replace(opts, submissions=opts.submissions.resolve())
    a = opts.assignment
    master_path = (opts.solutions / f"{a}.ipynb").resolve()
    if not master_path.is_file():
        known = sorted(p.stem for p in opts.solutions.glob("*.ipynb"))
        raise GraderError(f"unknown assignment {a!r}: no {master_path}; known: {', '.join(known) or 'none'}")
    if not (opts.checks / a).is_dir():
        raise GraderError(f"no checks for {a!r}: {opts.checks / a} does not exist; write the hidden checks there")
    if opts.workers < 1:
        raise GraderError(f"--workers must be at least 1, got {opts.workers}")
    unknown = [st for st in opts.regrade_status if st not in STATUSES]
    if unknown:
        raise GraderError(f"--regrade-status: unknown status {', '.join(unknown)}; use some of {', '.join(STATUSES)}")
    if opts.wall_factor < 1:
        raise GraderError(f"--wall-factor must be at least 1 (a multiple of the CPU limits), got {opts.wall_factor:g}")
    everyone = list_students(opts.submissions)
    if opts.only:
        everyone = [s for s in everyone if s in set(opts.only)]
    gb = Gradebook(opts.out, a)
    _Child.warm_up()  # start the fork server (imports) while the checks are collected
    with _lock(gb.root):
        for stale in [*gb.dir("cache/executions").glob(".tmp-*"), *gb.dir("runs").glob(".tmp-*")]:
            shutil.rmtree(stale, ignore_errors=True)
        master = read_master(master_path)
        ref = gb.dir("cache/reference") / "reference_answers.py"
        write_answers(build_answers(master, None, title=f"{a} reference"), ref)
        slots = _cpu_slots(opts.workers)
        ncpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        threads = max(1, ncpu // opts.workers)
        limits = Limits(timeout=opts.timeout, cell_timeout=opts.cell_timeout, wall_factor=opts.wall_factor,
                        memory=int(opts.memory_gb * 2**30), disk=int(opts.disk_gb * 2**30), threads=threads)
        data_dir = str(opts.data_dir.resolve()) if opts.data_dir else _default_data_dir()
        kit_read = _kit_read_paths()
        check_read = [*_kit_list_dirs(), str(REPO / "grader"), str(REPO / "reference"), *([data_dir] if data_dir else [])]
        run = CheckRun(assignment=a, checks_dir=opts.checks.resolve(), reference_module=ref, hidden_data=data_dir,
                       read=check_read, threads=threads, memory=limits.memory, timeout=opts.checks_timeout,
                       check_timeout=opts.check_timeout, wall_factor=opts.wall_factor)
        checks = collect_checks(run)
        manual = _manual_cells(master)
        checks_file = atomic_write(gb.root / "checks.json", json.dumps({"checks": checks, "manual": manual}, indent=1))
        exec_version, grade_version = versions(opts, master_path, limits)
        todo = [s for s in everyone if not _is_done(gb, s, opts, grade_version)]
        # the self-check runs beside the first students (it only has to finish before their checks
        # copy its numba cache; a student checked earlier compiles its own)
        selfcheck: dict = {"failed": []}
        checker = threading.Thread(target=lambda: selfcheck.update(_self_check(run, checks, gb, grade_version)),
                                   name="self-check", daemon=True)
        if todo:
            checker.start()
        student_data = _student_data(opts) if todo and not opts.answers_only else (
            str(opts.student_data) if opts.student_data else None)
        others = {p.stem: str(p) for p in opts.solutions.glob("*.ipynb") if p.stem != a}
        jobs_dir = gb.dir("cache/jobs")

        def job_for(student: str, cpus: list[int] | None) -> Path:
            job = Job(student=student, assignment=a, submissions=str(opts.submissions),
                      out=str(opts.out.resolve()), master=str(master_path), checks_file=str(checks_file),
                      checks_dir=str(opts.checks.resolve()), reference_module=str(ref), student_data=student_data,
                      data_dir=data_dir, kernel_read=kit_read, kernel_list=_kit_list_dirs(),
                      check_read=check_read,
                      limits={**dataclasses.asdict(limits), "cpus": cpus}, check_timeout=opts.check_timeout,
                      checks_timeout=opts.checks_timeout, exec_version=exec_version,
                      grade_version=grade_version, answers_only=opts.answers_only, rescore=opts.rescore,
                      other_masters=others, threads=threads, cpus=cpus, seed=opts.seed,
                      needs=_reference_needs(a))
            return job.save(jobs_dir / f"{student}.json")

        _run_workers(todo, job_for, slots, opts, gb, checks, manual, everyone, grade_version,
                     limit=(opts.timeout + opts.checks_timeout) * opts.wall_factor + 300)
        if checker.is_alive():
            checker.join()
        records = gb.records(everyone)
        atomic_write(gb.root / "grades.csv", grades_table(records, checks, manual))
        statuses: dict[str, int] = {}
        for r in records:
            statuses[r["status"]] = statuses.get(r["status"], 0) + 1
        return {"gradebook": str(gb.root), "students": len(everyone), "graded": len(todo),
                "skipped": len(everyone) - len(todo), "statuses": statuses,
                "reference_failures": selfcheck["failed"], "seconds": round(time.monotonic() - t0, 2)}


def _self_check(run: CheckRun, checks: list[dict], gb: Gradebook, version: str) -> dict:
    """Run the answer checks on the reference itself, once per kit/check version.

    Every check must pass on the master's own answers; those that do not are listed (a check
    or master bug the instructor must see). It also fills the shared numba cache, which every
    sandbox then gets a copy of (librosa's kernels compile once per batch, not per process).
    """
    import tempfile

    from grader.checking import run_checks

    path = gb.root / "cache" / "selfcheck.json"
    try:
        old = json.loads(path.read_text())
        if old.get("version") == version:
            return old
    except (OSError, ValueError):
        pass
    with tempfile.TemporaryDirectory(prefix="grader-self-") as tmp, \
            open(gb.root / "cache" / "selfcheck.log", "w") as log:
        outcome = run_checks(run, checks, student_module=None, workdir=None, tmp=Path(tmp), log=log,
                             numba_cache=gb.root / "cache" / "numba", share_numba_cache=True)
    failed = sorted(r["name"] for r in outcome.results.values() if r["outcome"] not in ("passed", "not_run"))
    failed += [f"(the self-check itself: {c})" for c in outcome.crashes]
    doc = {"version": version, "failed": failed, "crashes": outcome.crashes,
           "seconds": round(outcome.seconds, 2)}
    atomic_write(path, json.dumps(doc, indent=1))
    return doc


def _reference_needs(assignment: str) -> dict[str, float]:
    """CPU seconds the reference needs per cell (``grade_id``), from ``reference/<assignment>.json``.

    ``make reference`` records them (``notebook_execution.cell_cpu_seconds``); they are quoted to
    a student whose cell passes its CPU limit. Empty when not recorded.
    """
    try:
        doc = json.loads((REPO / "reference" / f"{assignment}.json").read_text())
        cells = (doc.get("notebook_execution") or {}).get("cell_cpu_seconds") or {}
        return {str(k): float(v) for k, v in cells.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def _default_data_dir() -> str | None:
    try:
        import source_data as sd

        return str(Path(sd.data_dir()).resolve())
    except Exception:  # noqa: BLE001 - the data package is optional for tiny assignments
        return None


def _run_workers(todo: list[str], job_for, slots: list[list[int] | None], opts: Options, gb: Gradebook,
                 checks: list[dict], manual: list[dict], everyone: list[str], grade_version: str,
                 limit: float) -> None:
    bar = None
    if opts.progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(everyone), initial=len(everyone) - len(todo), unit="student",
                   desc=f"grading {opts.assignment}", dynamic_ncols=True)
    pending = list(todo)
    running: dict[str, tuple[_Child, float, int]] = {}
    free = list(range(len(slots)))
    errs = gb.dir("cache/workers")
    try:
        while pending or running:
            while pending and free:
                student = pending.pop(0)
                slot = free.pop(0)
                job = job_for(student, slots[slot])
                running[student] = (_Child(job, errs / f"{student}.err"), time.monotonic(), slot)
            time.sleep(0.1)
            for student, (proc, started, slot) in list(running.items()):
                code = proc.poll()
                if code is None and time.monotonic() - started < limit:
                    continue
                if code is None:
                    proc.kill()
                rec = gb.read_record(student)
                if rec is None or rec.get("grade_version") != grade_version:
                    tail = (errs / f"{student}.err").read_text(errors="replace")[-2000:]
                    _write_error_record(gb, student, opts, checks, manual, grade_version,
                                        "the grader's worker " + ("timed out" if code is None else
                                                                  f"failed (exit {code})") + "; see its log",
                                        tail)
                del running[student]
                free.append(slot)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix_str(f"{len(pending) + len(running)} left")
                atomic_write(gb.root / "grades.csv", grades_table(gb.records(everyone), checks, manual))
    finally:
        for proc, _, _ in running.values():
            proc.kill()
        if bar is not None:
            bar.close()


def _child_main(job: str, err: str, batch_pid: int) -> None:
    """Body of a worker process: output to its own file, die with the batch, grade one student."""
    fd = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    if sys.platform == "linux":
        try:
            import ctypes

            ctypes.CDLL(None).prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL
        except Exception:  # noqa: BLE001
            pass
    import threading

    def orphan_watch() -> None:  # the fork server outlives a killed batch for a while
        import psutil

        while True:
            time.sleep(0.25)
            if not psutil.pid_exists(batch_pid):
                for child in psutil.Process().children(recursive=True):
                    kill_tree(child.pid)
                os._exit(1)

    threading.Thread(target=orphan_watch, daemon=True).start()
    from grader.watchdog import become_subreaper
    from grader.worker import Job, grade_student

    become_subreaper()  # processes a submission detaches come back to this worker, which kills them

    grade_student(Job.load(job))


class _Child:
    """One student's worker: a fresh process forked from a preloaded server (no import cost).

    Falls back to ``python -m grader.worker`` where fork servers do not exist (Windows).
    """

    _ctx = None

    @classmethod
    def context(cls):  # noqa: ANN206
        import multiprocessing as mp

        if cls._ctx is None and "forkserver" in mp.get_all_start_methods():
            cls._ctx = mp.get_context("forkserver")
            cls._ctx.set_forkserver_preload(["grader.worker", "grader.batch"])
        return cls._ctx

    @classmethod
    def warm_up(cls) -> None:
        """Start the fork server now (it imports the engine once, in the background)."""
        if cls.context() is not None:
            from multiprocessing import forkserver

            forkserver.ensure_running()

    def __init__(self, job: Path, err: Path):
        if _Child.context() is not None:
            self.proc = _Child._ctx.Process(target=_child_main, args=(str(job), str(err), os.getpid()),
                                            daemon=False)
            self.proc.start()
            self.pid = self.proc.pid
            self.popen = None
        else:  # pragma: no cover
            self.proc = None
            with open(err, "w") as f:
                self.popen = subprocess.Popen([sys.executable, "-m", "grader.worker", str(job)],
                                              stdout=f, stderr=subprocess.STDOUT, cwd=str(REPO))
            self.pid = self.popen.pid

    def poll(self) -> int | None:
        if self.proc is not None:
            return self.proc.exitcode
        return self.popen.poll()

    def kill(self) -> None:
        kill_tree(self.pid)
        if self.proc is not None:
            self.proc.join(5)
        else:
            self.popen.wait(5)


def _write_error_record(gb: Gradebook, student: str, opts: Options, checks: list[dict], manual: list[dict],
                        grade_version: str, reason: str, detail: str) -> None:
    from grader.feedback import render_feedback
    from grader.gradebook import gradescope_results

    rec = {"student": student, "assignment": opts.assignment, "status": "grader_error", "reason": reason,
           "notebook": None, "submission_sha": None, "grade_version": "", "answers_only": opts.answers_only,
           "problems": [], "import_errors": [], "execution": None, "manual": manual, "crashes": [],
           "checks": [{"nodeid": c["nodeid"], "name": c["name"], "column": c["column"], "run": c["run"],
                       "outcome": "not_run", "score": 0.0, "max_score": c["points"],
                       "output": "not run: grader error", "visibility": c.get("visibility", "visible")}
                      for c in checks],
           "score": 0.0, "max_score": sum(c["points"] for c in checks), "seconds": 0.0}
    with open(gb.dir("logs") / f"{student}.log", "a") as f:
        f.write(f"\n[batch] {reason}\n{detail}\n")
    atomic_write(gb.dir("results") / f"{student}.json", json.dumps(gradescope_results(rec), indent=1))
    atomic_write(gb.dir("feedback") / f"{student}.html", render_feedback(rec))
    atomic_write(gb.record_path(student), json.dumps(rec, indent=1))
