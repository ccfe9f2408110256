"""One submission graded on a cluster worker: what a Dask task carries, does and returns.

The client (:mod:`grader.cluster`) sends each student as one :class:`Task`. The worker, which
has its own copy of the kit (the same version: it refuses a task of another version) and
fetches its own data through :mod:`source_data`, grades the submission exactly as a local
worker does — a fresh process forked from a preloaded fork server (:class:`grader.pool.Worker`),
sandboxed execution and checks — in a scratch gradebook of its own, and returns what the client's gradebook needs:
the record, the instructor's log and the execution (executed notebook, ``artifacts/``,
``runs/``) as an archive. The client writes its gradebook itself (:func:`grader.cluster.receive`).
"""
from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import tarfile
import tempfile
import threading
import time
from pathlib import Path

from grader import config
from grader.assignments import Assignment, find
from grader.config import Options
from grader.context import REPO
from grader.errors import GraderError
from grader.gradebook import Gradebook, atomic_write
from grader.job import Job, Versions, limits_of, materialise_student_data, reference_module_path
from grader.pool import Worker
from grader.versioning import versions
from grader.watchdog import kill_tree

__all__ = ["Task", "archive", "extract", "grade_task", "worker_version"]


@dataclasses.dataclass
class Task:
    """Everything a cluster worker needs to grade one student (sent by the client, pickled by Dask).

    Attributes
    ----------
    options : str
        The batch's :class:`~grader.config.Options` (resolved on the client), as :func:`grader.config.dump`.
    client_repo : str
        The client's kit folder: option folders below it are the same folders below the worker's kit.
    student : str
    versions : Versions
        The client's versions; a worker whose kit gives others refuses the task.
    notebooks : dict or None
        None when the student has no folder for the assignment; else the student's ``*.ipynb`` files: name → ``{"data": bytes, "mtime": float, "link": None}``, or
        for a symbolic link ``{"data": None, "mtime": ..., "link": target}`` (graded as unreadable,
        as locally: its target is never read with the grader's rights).
    checks_json : str
        The batch's ``checks.json``.
    reference_module : str
        The reference answers module the checks compare with.
    student_data, hidden_data : str or None
        Folders given on the client's command line (used as they are: a shared file system);
        None: the worker makes / fetches its own through :mod:`source_data`.
    execution : bytes or None
        The client's cached execution of this submission (rescoring), as :func:`archive`.
    limit : float
        Wall-clock seconds after which the grading process is killed.
    numba_cache : bytes or None
        The client's warm numba cache (made by its self-check, trusted code), as :func:`archive`:
        the worker's sandboxes start from it instead of compiling librosa's kernels each.
    watch_pid : int or None
        For a cluster started by the client (``local:N``): the client's process; the worker
        stops when it is gone, so nothing outlives a killed client.
    """

    options: str
    client_repo: str
    student: str
    versions: Versions
    notebooks: dict[str, dict] | None
    checks_json: str
    reference_module: str
    student_data: str | None
    hidden_data: str | None
    execution: bytes | None
    limit: float
    numba_cache: bytes | None = None
    watch_pid: int | None = None


def archive(folder: Path) -> bytes:
    """``folder``'s regular files and folders as a gzip'd tar (symbolic links are left out)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        for path in sorted(folder.rglob("*")):
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                continue
            tar.add(path, arcname=str(path.relative_to(folder)), recursive=False)
    return buf.getvalue()


def extract(data: bytes, folder: Path) -> None:
    """Unpack an :func:`archive` into ``folder`` (only regular files and folders inside it)."""
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(folder, filter="data")


def _scratch() -> Path:
    """This worker process's own folder (its gradebook, student data, numba cache); not made here."""
    try:
        from distributed import get_worker

        base = Path(get_worker().local_directory)
    except (ImportError, ValueError):
        base = Path(tempfile.gettempdir())
    return base / f"grader-{os.getpid()}"


def _rebase(path: Path, client_repo: str) -> Path:
    try:
        return REPO / path.relative_to(client_repo)
    except ValueError:
        return path


def _options(task: Task, scratch: Path) -> Options:
    """The batch's options as this worker grades with them (its kit, its scratch gradebook)."""
    o = config.load(Options, task.options)
    student = Path(task.student_data) if task.student_data else scratch / ".student-data"
    hidden = Path(task.hidden_data) if task.hidden_data else None
    if hidden is None:  # the worker's own data, fetched and verified (a no-op once it is there)
        import source_data as sd

        try:
            hidden = Path(sd.fetch()).resolve()
        except sd.DataError as e:
            raise GraderError(f"this worker could not fetch the course data: {e}") from None
    return dataclasses.replace(o, solutions=_rebase(o.solutions, task.client_repo),
                               checks=_rebase(o.checks, task.client_repo), out=scratch / "gradebook",
                               submissions=scratch / "submitted", student_data=_rebase(student, task.client_repo),
                               hidden_data=_rebase(hidden, task.client_repo), progress=False, cluster=None)


def _versions(opts: Options) -> Versions:
    assignment: Assignment = find(opts.assignment, opts.solutions, opts.checks)
    return versions(opts, assignment, limits_of(opts, 1))  # (threads are not part of a version)


def worker_version(task: Task) -> str:
    """The grade version this worker's kit gives the task's assignment and options."""
    return _versions(_options(task, _scratch())).grade


def _refuse_other_versions(task: Task, opts: Options) -> None:
    mine = _versions(opts)
    if mine != task.versions:
        raise GraderError(f"this worker's kit grades {opts.assignment} with version {mine.grade[:12]}, the batch "
                          f"with {task.versions.grade[:12]}: install the client's kit (same commit, same "
                          "reference/ and checks) on every worker, then grade again")


_watching: set[int] = set()


def _watch_client(pid: int) -> None:
    """Stop this worker (and the nanny that would restart it) once the client process ``pid`` is gone."""
    if pid in _watching:
        return
    _watching.add(pid)

    parent = os.getppid()  # the client itself, or a nanny process between it and this worker

    def watch() -> None:
        import psutil

        while psutil.pid_exists(pid):
            time.sleep(0.5)
        kill_tree(parent if parent != pid else os.getpid())  # a nanny would start the worker again
        os._exit(1)

    threading.Thread(target=watch, name="grader-client-watch", daemon=True).start()


def _threads() -> int:
    """The kernel's threads: this worker's cores shared by its task threads (``--nthreads 1``: all)."""
    ncpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        from distributed import get_worker

        nthreads = get_worker().state.nthreads
    except (ImportError, ValueError, AttributeError):
        nthreads = 1
    return max(1, ncpu // max(1, nthreads))


def grade_task(task: Task) -> dict:
    """Grade one student on this worker; what the client's gradebook needs.

    Returns
    -------
    dict
        ``record`` (the record as JSON), ``log`` (the instructor's log), ``execution`` (an
        :func:`archive` of a fresh execution, or None), ``worker_log`` (the tail of the grading
        process's own output), ``exit`` (its exit code; None: killed at the limit), ``host``.

    Raises
    ------
    GraderError
        When this worker's kit is not the client's version (the task is refused).
    """
    if task.watch_pid:
        _watch_client(task.watch_pid)
    scratch = _scratch()
    opts = _options(task, scratch)
    _refuse_other_versions(task, opts)
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        return _grade(task, opts, scratch)
    finally:  # keep what every task shares (student data, numba cache); drop this student's files
        _clean(task, opts, scratch)


def _clean(task: Task, opts: Options, scratch: Path) -> None:
    gb = Gradebook(opts.out, opts.assignment)
    shas = [_sha_of(task.execution)] if task.execution is not None else []
    try:
        shas.append(json.loads(gb.record_path(task.student).read_text())["submission_sha"])
    except (OSError, ValueError, KeyError):
        pass
    for sha in filter(None, shas):
        shutil.rmtree(gb.execution_dir(sha), ignore_errors=True)
    shutil.rmtree(opts.submissions / task.student, ignore_errors=True)
    for f in (scratch / f"{task.student}.job.json", scratch / f"{task.student}.err"):
        f.unlink(missing_ok=True)


def _sha_of(execution: bytes) -> str:
    return json.loads(_member(execution, "execution.json"))["submission_sha"]


def _grade(task: Task, opts: Options, scratch: Path) -> dict:
    gb = Gradebook(opts.out, opts.assignment)
    atomic_write(gb.root / "checks.json", task.checks_json)
    ref = reference_module_path(gb)
    if not ref.is_file() or ref.read_text(encoding="utf-8") != task.reference_module:
        atomic_write(ref, task.reference_module)
    if not task.student_data and not opts.answers_only:
        materialise_student_data(opts.student_data)
    numba = gb.root / "cache" / "numba"
    if task.numba_cache is not None and not numba.is_dir():
        stage = numba.with_name(f".tmp-numba-{os.getpid()}-{threading.get_ident()}")
        extract(task.numba_cache, stage)
        try:
            os.rename(stage, numba)
        except OSError:  # another task of this worker put it there first
            shutil.rmtree(stage, ignore_errors=True)
    folder = opts.submissions / task.student / opts.assignment
    if folder.exists():
        shutil.rmtree(folder)
    if task.notebooks is not None:
        folder.mkdir(parents=True)
    for name, f in (task.notebooks or {}).items():
        path = folder / Path(name).name
        if f["link"] is not None:
            path.symlink_to(f["link"])
            os.utime(path, (f["mtime"], f["mtime"]), follow_symlinks=False)
        else:
            path.write_bytes(f["data"])
            os.utime(path, (f["mtime"], f["mtime"]))
    for stale in (gb.record_path(task.student), gb.dir("logs") / f"{task.student}.log"):
        stale.unlink(missing_ok=True)
    if task.execution is not None:
        sha = _sha_of(task.execution)
        if not (gb.execution_dir(sha) / "execution.json").is_file():
            extract(task.execution, gb.execution_dir(sha))
    job = Job(options=opts, student=task.student, versions=task.versions, threads=_threads(), cpus=None)
    path = job.save(scratch / f"{task.student}.job.json")
    err = scratch / f"{task.student}.err"
    code = _run(path, err, task.limit)
    return _collect(gb, task.student, err, code)


def _member(data: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        f = tar.extractfile(name)
        if f is None:
            raise GraderError(f"the cached execution sent has no {name}")
        return f.read()


def _run(job: Path, err: Path, limit: float) -> int | None:
    """Grade the job in a fresh worker process (forked from this worker's preloaded fork server,
    as on one machine), killed with its tree past ``limit`` seconds; its exit code (None: killed)."""
    import multiprocessing

    # Dask's worker processes are daemonic, and multiprocessing refuses children to those; ours
    # cannot be orphaned (they die with this process: parent-death signal and orphan watch)
    multiprocessing.current_process().daemon = False
    proc = Worker(job, err)
    deadline = time.monotonic() + limit
    try:
        while (code := proc.poll()) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        return code
    finally:
        if proc.poll() is None:
            proc.kill()


def _collect(gb: Gradebook, student: str, err: Path, code: int | None) -> dict:
    import socket

    out: dict = {"record": None, "log": "", "execution": None, "exit": code, "host": socket.gethostname(),
                 "worker_log": err.read_text(errors="replace")[-2000:] if err.is_file() else ""}
    log = gb.root / "logs" / f"{student}.log"
    if log.is_file():
        out["log"] = log.read_text(encoding="utf-8", errors="replace")
    rec = gb.record_path(student)
    if rec.is_file():
        out["record"] = rec.read_text(encoding="utf-8")
        doc = json.loads(out["record"])
        sha, execution = doc.get("submission_sha"), doc.get("execution") or {}
        if sha and execution and not execution.get("cached") and (gb.execution_dir(sha) / "execution.json").is_file():
            out["execution"] = archive(gb.execution_dir(sha))
    return out
