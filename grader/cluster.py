"""Grading on a Dask cluster: one task per submission, the gradebook written by the client.

``python -m grader grade A --cluster ADDRESS`` connects to a running Dask scheduler
(``dask scheduler`` / ``dask worker ADDRESS --nthreads 1``, or any Dask deployment);
``--cluster local:N`` starts a :class:`distributed.LocalCluster` of N worker processes on this
machine, which stop with the client. Each student is one task (:class:`grader.remote.Task`):
the worker grades the submission as a local worker would and returns the record, the log
and the execution; :func:`receive` writes them into the client's gradebook, record last, so
the cache and resume work as on one machine. Before anything is sent every worker's kit must
give the batch's version (:func:`check_workers`); a worker of another kit that joins later
refuses its task, which is sent again to the others only; a worker killed mid-task has its task run
again elsewhere by the scheduler, and a task that kills its workers again and again becomes a
``grader_error`` row.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Callable, Iterator

from grader import config
from grader.config import Options
from grader.context import REPO
from grader.errors import GraderError
from grader.execcache import reusable
from grader.gradebook import Gradebook, atomic_write
from grader.job import Versions, reference_module_path
from grader.record import Record
from grader.remote import Task, archive, extract, grade_task, worker_version
from grader.submissions import find_notebook

__all__ = ["LOCAL", "check_workers", "connect", "grade_on_cluster", "receive"]

LOCAL = "local:"
CONNECT_TIMEOUT = 30.0  # seconds to reach a scheduler and see its first worker
MAX_REFUSALS = 3  # times one task is sent again after a worker of another kit refused it

Finished = Callable[[str, "tuple[str, str] | None"], None]


@contextlib.contextmanager
def connect(spec: str) -> Iterator[tuple[object, int | None]]:
    """A Dask client for ``spec`` (``tcp://host:port`` or ``local:N``) and the pid workers watch.

    Yields
    ------
    client : distributed.Client
    watch_pid : int or None
        For ``local:N``, this process: its workers stop when it is gone.

    Raises
    ------
    GraderError
        For a malformed ``local:N``, or a scheduler that cannot be reached or has no worker.
    """
    from distributed import Client, LocalCluster

    cluster = None
    if spec.startswith(LOCAL):
        try:
            n = int(spec[len(LOCAL):])
        except ValueError:
            n = 0
        if n < 1:
            raise GraderError(f"--cluster {spec}: write local:N with N ≥ 1 worker processes, e.g. local:2")
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, memory_limit=0, silence_logs=logging.ERROR)
        client, watch = Client(cluster), os.getpid()
    else:
        try:
            client, watch = Client(spec, timeout=CONNECT_TIMEOUT), None
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as e:
            raise GraderError(f"--cluster {spec}: cannot use this Dask scheduler ({type(e).__name__}: {e}); "
                              "start one with `dask scheduler` and workers with "
                              f"`dask worker {spec} --nthreads 1`") from None
    try:
        yield client, watch
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def workers_of(client: object) -> dict[str, dict]:
    """The cluster's workers now: address → ``{"host", "nthreads"}``."""
    info = client.scheduler_info(n_workers=-1)["workers"]  # type: ignore[attr-defined]
    return {a: {"host": w.get("host"), "nthreads": w.get("nthreads")} for a, w in sorted(info.items())}


def _mismatched(client: object, probe: Task) -> dict[str, str]:
    """The workers whose kit cannot grade ``probe``'s batch: address → what they said."""
    try:
        seen = client.run(worker_version, probe, on_error="return")  # type: ignore[attr-defined]
    except OSError as e:
        raise GraderError(f"the cluster's workers could not be asked their kit version: {e}") from None
    return {addr: f"{type(v).__name__}: {v}" if isinstance(v, BaseException) else f"version {v[:12]}"
            for addr, v in sorted(seen.items()) if isinstance(v, BaseException) or v != probe.versions.grade}


def check_workers(client: object, probe: Task) -> dict[str, dict]:
    """Every worker's kit must grade with the batch's version; the workers seen.

    Raises
    ------
    GraderError
        Naming each worker that cannot grade the assignment or gives another version.
    """
    bad = _mismatched(client, probe)
    workers = workers_of(client)
    if bad:
        raise GraderError(f"{len(bad)} of {len(workers)} cluster workers cannot grade "
                          f"with this kit (version {probe.versions.grade[:12]}): "
                          f"{'; '.join(f'{a} ({why})' for a, why in bad.items())}; install the "
                          "client's kit (same commit, same reference/ and checks) on every worker")
    for addr in workers:
        workers[addr]["version"] = probe.versions.grade[:12]
    return workers


def _notebooks(submissions: Path, student: str, assignment: str) -> dict[str, dict] | None:
    folder = submissions / student / assignment
    if not folder.is_dir():
        return None
    out: dict[str, dict] = {}
    for p in sorted(folder.glob("*.ipynb")):
        st = p.lstat()
        if p.is_symlink():
            out[p.name] = {"data": None, "mtime": st.st_mtime, "link": os.readlink(p)}
        elif p.is_file():
            out[p.name] = {"data": p.read_bytes(), "mtime": st.st_mtime, "link": None}
    return out


def _cached_execution(gb: Gradebook, opts: Options, student: str, versions: Versions) -> bytes | None:
    """The client's cached execution of the student's current submission, if still valid."""
    from grader.notebook import NotebookUnreadable, file_digest

    if opts.answers_only:
        return None
    path, _ = find_notebook(opts.submissions, student, opts.assignment)
    try:
        sha = file_digest(path) if path is not None else None
    except NotebookUnreadable:
        return None
    if sha is None or reusable(gb.execution_dir(sha), versions.execution, opts.rescore) is None:
        return None
    return archive(gb.execution_dir(sha))


def receive(gb: Gradebook, opts: Options, student: str, result: dict) -> tuple[str, str] | None:
    """Write a task's result into the client's gradebook, the record last.

    Returns
    -------
    tuple or None
        None when the record was published, else (reason, detail) for a ``grader_error`` row.
    """
    if result.get("execution"):
        sha = json.loads(result["record"])["submission_sha"]
        target = gb.execution_dir(sha)
        stage = target.parent / f".tmp-{sha[:16]}-{os.getpid()}"
        shutil.rmtree(stage, ignore_errors=True)
        extract(result["execution"], stage)
        shutil.rmtree(target, ignore_errors=True)
        os.rename(stage, target)
    host = result.get("host", "?")
    atomic_write(gb.dir("logs") / f"{student}.log", result.get("log", "") + f"[cluster] graded on {host}\n")
    if result.get("record") is None:
        code = result.get("exit")
        why = "timed out" if code is None else f"failed (exit {code})"
        return f"the grader's worker {why} on {host}; see its log", result.get("worker_log", "")
    record = Record.from_dict(json.loads(result["record"]))
    if record.notebook:
        path, _ = find_notebook(opts.submissions, student, opts.assignment)
        folder = path.parent if path is not None else opts.submissions / student / opts.assignment
        record.notebook = str(folder / Path(record.notebook).name)
    sha = record.submission_sha
    gb.publish(record, gb.execution_dir(sha) if sha and record.execution else None)
    return None


def grade_on_cluster(opts: Options, todo: list[str], gb: Gradebook, versions: Versions, *, limit: float,
                     given: tuple[Path | None, Path | None], finished: Finished,
                     said: Callable[[str], None] = lambda msg: None) -> dict[str, dict]:
    """Grade ``todo`` on the cluster ``opts.cluster``; ``finished(student, problem)`` after each.

    Parameters
    ----------
    opts : Options
        Resolved (:func:`grader.job.resolve`); ``opts.cluster`` is the address.
    todo : list of str
    gb : Gradebook
        Holds ``checks.json`` and the reference answers module already.
    versions : Versions
    limit : float, keyword-only
        Wall-clock seconds per submission before its grading process is killed.
    given : (Path or None, Path or None), keyword-only
        The student-data and hidden-data folders given on the command line (None: each worker
        makes its own).
    finished : callable, keyword-only
        ``finished(student, None)`` once its record is published, ``finished(student, (reason,
        detail))`` when it could not be graded (the caller writes a ``grader_error`` row).
    said : callable, keyword-only
        Receives one line about the cluster (address and workers seen).

    Returns
    -------
    dict
        The workers seen at the start: address → host, threads, kit version.

    Raises
    ------
    GraderError
        When the cluster cannot be reached or a worker has another kit version.
    """
    checks_json = (gb.root / "checks.json").read_text(encoding="utf-8")
    reference = reference_module_path(gb).read_text(encoding="utf-8")
    numba: dict[str, bytes] = {}

    def numba_cache() -> bytes | None:  # the self-check fills it beside the first students
        folder = gb.root / "cache" / "numba"
        if "archive" not in numba and (gb.root / "cache" / "selfcheck.json").is_file() and folder.is_dir():
            numba["archive"] = archive(folder)
        return numba.get("archive")

    with connect(opts.cluster or "") as (client, watch):
        def task_for(student: str) -> Task:
            return Task(options=config.dump(opts), client_repo=str(REPO), student=student, versions=versions,
                        notebooks=_notebooks(opts.submissions, student, opts.assignment), checks_json=checks_json,
                        reference_module=reference, student_data=str(given[0]) if given[0] else None,
                        hidden_data=str(given[1]) if given[1] else None,
                        execution=_cached_execution(gb, opts, student, versions), limit=limit,
                        numba_cache=numba_cache(), watch_pid=watch)

        workers = check_workers(client, task_for(todo[0]))
        said(f"cluster {opts.cluster}: {len(workers)} worker(s): "
             + ", ".join(f"{a} ({w['host']}, {w['nthreads']} thread(s))" for a, w in workers.items()))
        _Dispatch(client, task_for, lambda student, result: receive(gb, opts, student, result), finished,
                  said).run(todo)
    return workers


class _Dispatch:
    """Sends the tasks, one per worker thread at a time, and hands each result to ``receive``.

    The tasks are topped up as they finish and as workers join (checked every second), so a
    task never waits behind another on a busy worker while a thread is idle. A worker of
    another kit that joined after :func:`check_workers` refuses its task: the task is sent
    again, it and every later one only to this kit's workers (``MAX_REFUSALS`` times at most).
    """

    def __init__(self, client: object, task_for: Callable[[str], Task],
                 receive: Callable[[str, dict], "tuple[str, str] | None"], finished: Finished,
                 said: Callable[[str], None]) -> None:
        self.client, self.task_for, self.receive, self.finished, self.said = client, task_for, receive, finished, said
        self.batch = uuid.uuid4().hex[:8]
        self.pending: list[str] = []
        self.active: dict[object, str] = {}  # future → student
        self.bad: dict[str, str] = {}  # workers of another kit: address → their version
        self.refused: dict[str, int] = {}

    def allowed(self) -> dict[str, dict]:
        """The workers tasks may go to now."""
        return {a: w for a, w in workers_of(self.client).items() if a not in self.bad}

    def submit(self, student: str) -> None:
        key = f"grade-{student}-{self.batch}-{self.refused.get(student, 0)}"
        fut = self.client.submit(grade_task, self.task_for(student), key=key, pure=False,  # type: ignore[attr-defined]
                                 workers=list(self.allowed()) if self.bad else None, allow_other_workers=False)
        self.active[fut] = student

    def top_up(self) -> None:
        room = sum(w["nthreads"] or 1 for w in self.allowed().values()) - len(self.active)
        while self.pending and room > 0:
            self.submit(self.pending.pop(0))
            room -= 1

    def refusal(self, student: str, e: GraderError) -> tuple[str, str] | None:
        """None when the task is sent again: a worker of another kit is on the cluster (it refused)."""
        other = _mismatched(self.client, self.task_for(student))
        new = {a: why for a, why in other.items() if a not in self.bad}
        self.bad.update(other)
        self.refused[student] = self.refused.get(student, 0) + 1
        if other and self.refused[student] <= MAX_REFUSALS and self.allowed():
            self.said(f"cluster: {student} refused by a worker with another kit ({e}); sent again to this kit's "
                      "workers only" + (f"; not sending to {', '.join(f'{a} ({w})' for a, w in new.items())} any "
                                        "more" if new else ""))
            self.submit(student)
            return None
        return (f"refused by a cluster worker: {e}", "")

    def outcome(self, fut: object, student: str) -> tuple[str, str] | None:
        """The task's result received (None), or why the student gets a ``grader_error`` row."""
        from distributed.scheduler import KilledWorker

        try:
            return self.receive(student, fut.result())  # type: ignore[attr-defined]
        except KilledWorker as e:
            return ("the cluster worker grading it died each time it was tried (killed, or its machine "
                    "ran out of memory); see the scheduler's log", str(e))
        except GraderError as e:
            return self.refusal(student, e)
        except Exception as e:  # noqa: BLE001 - one task's failure must not stop the batch
            return (f"the cluster task failed ({type(e).__name__}: {str(e)[:300]})", repr(e))
        finally:
            fut.release()  # type: ignore[attr-defined]

    def run(self, todo: list[str]) -> None:
        """Grade ``todo``; ``finished`` is called once per student."""
        from distributed import wait

        self.pending, idle_since = list(todo), time.monotonic()
        while self.pending or self.active:
            self.top_up()
            if not self.active:  # no worker this kit can use: wait for one, not for ever
                if time.monotonic() - idle_since > CONNECT_TIMEOUT:
                    for student in self.pending:
                        self.finished(student, ("no cluster worker of this kit was left to grade it", ""))
                    return
                time.sleep(0.2)
                continue
            idle_since = time.monotonic()
            try:
                done = [(f, self.active.pop(f)) for f in
                        wait(list(self.active), timeout=1.0, return_when="FIRST_COMPLETED").done]
            except TimeoutError:
                continue
            self.top_up()  # the next tasks start while the results are written
            for fut, student in done:
                problem = self.outcome(fut, student)
                if student not in self.active.values():  # (a refused task sent again is not finished)
                    self.finished(student, problem)
