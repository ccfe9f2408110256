"""Worker processes: one fresh process per student, N at a time, each dying with the batch.

Workers are forked from a preloaded fork server (the engine is imported once, not per
student); where fork servers do not exist (Windows) ``python -m grader.worker`` is started.
A worker that does not finish within its wall-clock limit is killed with its process tree.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

from grader.context import REPO
from grader.procs import die_with_parent
from grader.watchdog import kill_tree

__all__ = ["Worker", "cpu_slots", "run_pool"]


def cpu_slots(workers: int) -> list[tuple[int, ...] | None]:
    """The cores of each of ``workers`` slots: this process's cores split evenly (None: not pinned)."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return [None] * workers
    if workers > len(cpus):
        return [None] * workers
    k = len(cpus) // workers
    return [tuple(cpus[i * k:(i + 1) * k]) for i in range(workers)]


def _child_main(job: str, err: str, batch_pid: int) -> None:
    """Body of a worker process: output to its own file, die with the batch, grade one student."""
    fd = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    die_with_parent()

    def orphan_watch() -> None:  # the fork server outlives a killed batch for a while
        import psutil

        while True:
            time.sleep(0.25)
            if not psutil.pid_exists(batch_pid):
                for child in psutil.Process().children(recursive=True):
                    kill_tree(child.pid)
                os._exit(1)

    threading.Thread(target=orphan_watch, daemon=True).start()
    from grader.job import Job
    from grader.watchdog import become_subreaper
    from grader.worker import grade_student

    become_subreaper()  # processes a submission detaches come back to this worker, which kills them
    grade_student(Job.load(job))


class Worker:
    """One student's worker process (forked from the preloaded server, or ``python -m grader.worker``)."""

    _ctx = None

    @classmethod
    def context(cls):  # noqa: ANN206
        """The fork-server multiprocessing context (None where there is none)."""
        import multiprocessing as mp

        if cls._ctx is None and "forkserver" in mp.get_all_start_methods():
            cls._ctx = mp.get_context("forkserver")
            cls._ctx.set_forkserver_preload(["grader.worker", "grader.pool"])
        return cls._ctx

    @classmethod
    def warm_up(cls) -> None:
        """Start the fork server now (it imports the engine once, in the background)."""
        if cls.context() is not None:
            from multiprocessing import forkserver

            forkserver.ensure_running()

    def __init__(self, job: Path, err: Path):
        ctx = Worker.context()
        if ctx is not None:
            self.proc = ctx.Process(target=_child_main, args=(str(job), str(err), os.getpid()), daemon=False)
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
        """The exit code, or None while it runs."""
        if self.proc is not None:
            return self.proc.exitcode
        return self.popen.poll()

    def kill(self) -> None:
        """Kill the worker and everything it started."""
        kill_tree(self.pid)
        if self.proc is not None:
            self.proc.join(5)
        else:
            self.popen.wait(5)


def run_pool(todo: list[str], job_for: Callable[[str, tuple[int, ...] | None], Path],
             slots: list[tuple[int, ...] | None], errs: Path, limit: float,
             finished: Callable[[str, int | None], None]) -> None:
    """Grade ``todo`` students, one worker per slot at a time.

    Parameters
    ----------
    todo : list of str
        Students, graded in this order.
    job_for : callable
        ``job_for(student, cpus)`` writes the student's job file and returns its path.
    slots : list
        The cores of each slot (:func:`cpu_slots`); ``len(slots)`` workers run at once.
    errs : Path
        Folder of the workers' own output (``<student>.err``).
    limit : float
        Wall-clock seconds after which a worker is killed.
    finished : callable
        ``finished(student, exit_code)`` after each worker ends (exit code None: killed at the limit).
    """
    pending = list(todo)
    running: dict[str, tuple[Worker, float, int]] = {}
    free = list(range(len(slots)))
    try:
        while pending or running:
            while pending and free:
                student, slot = pending.pop(0), free.pop(0)
                running[student] = (Worker(job_for(student, slots[slot]), errs / f"{student}.err"),
                                    time.monotonic(), slot)
            time.sleep(0.1)
            for student, (proc, started, slot) in list(running.items()):
                code = proc.poll()
                if code is None and time.monotonic() - started < limit:
                    continue
                if code is None:
                    proc.kill()
                del running[student]
                free.append(slot)
                finished(student, code)
    finally:
        for proc, _, _ in running.values():
            proc.kill()
