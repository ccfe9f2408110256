"""A watchdog over a process tree: memory, CPU time, wall time and disk use of a working folder.

cgroups would be the right tool but are rarely writable (not on the grading machines we
measured, not on macOS), so the grader polls: every ``interval`` seconds it sums the
resident memory and the CPU time of the process and all its descendants, and the bytes
under the working folder, and kills the whole tree when a limit is passed. ``reason`` then
says which.

Time limits count **CPU seconds** of the tree (:class:`TreeCPU`), so that a grade does not
depend on how busy the machine is: a notebook that needs 200 CPU-seconds needs them at any
load, while its wall-clock time grows with the load. Code that waits without computing
(``time.sleep``, a blocked read) uses no CPU; a wall-clock limit, set generously above the
CPU limit, is the backstop for it.
"""
from __future__ import annotations

import os
import signal
import threading
import time

import psutil

__all__ = ["TreeCPU", "Watchdog", "become_subreaper", "folder_bytes", "kill_tree", "sweep_detached"]


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid``, its process group and every descendant (best effort)."""
    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        procs = []
    try:
        os.killpg(os.getpgid(pid), signal.SIGKILL)
    except (OSError, ProcessLookupError):
        pass
    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            pass


def folder_bytes(path: str | os.PathLike, cap: int | None = None) -> int:
    """Bytes of the regular files under ``path`` (stops counting past ``cap``)."""
    total = 0
    stack = [str(path)]
    while stack:
        d = stack.pop()
        try:
            with os.scandir(d) as it:
                for e in it:
                    try:
                        if e.is_dir(follow_symlinks=False):
                            stack.append(e.path)
                        elif e.is_file(follow_symlinks=False):
                            total += e.stat(follow_symlinks=False).st_blocks * 512
                    except OSError:
                        continue
                    if cap is not None and total > cap:
                        return total
        except OSError:
            continue
    return total


class TreeCPU:
    """CPU seconds (user + system) used so far by a process and all its descendants.

    Each process of the tree is sampled by :meth:`sample`; the total is the sum, over every
    process ever seen (identified by pid and start time), of the last CPU time read for it,
    so it never decreases when a child exits. A process that lives and dies between two
    samples is not counted (the wall-clock backstop still bounds such work).

    Parameters
    ----------
    pid : int
        Root of the tree.
    """

    def __init__(self, pid: int):
        self.pid = pid
        self._seen: dict[tuple[int, float], float] = {}
        self._lock = threading.Lock()

    def sample(self) -> float:
        """Read the tree now; returns the CPU seconds used so far."""
        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            procs = []
        with self._lock:
            for p in procs:
                try:
                    with p.oneshot():
                        t = p.cpu_times()
                        key = (p.pid, p.create_time())
                except psutil.Error:
                    continue
                used = t.user + t.system
                if used > self._seen.get(key, 0.0):
                    self._seen[key] = used
            return sum(self._seen.values())

    @property
    def total(self) -> float:
        """CPU seconds as of the last :meth:`sample`."""
        with self._lock:
            return sum(self._seen.values())


class Watchdog:
    """Kill a process tree that passes its memory, CPU time, wall time or disk limit.

    Parameters
    ----------
    memory : int or None
        Bytes of resident memory (summed over the tree).
    cpu_seconds : float or None
        CPU seconds the tree may use from :meth:`watch` (user + system, summed over the tree).
    seconds : float or None
        Wall-clock seconds from :meth:`watch`: the backstop for code that waits without computing.
    folder, disk : path and int, optional
        A working folder and the bytes it may hold.
    interval : float
        Seconds between polls.
    label : str
        What is watched, for the reasons ("the notebook", "the checks").
    """

    def __init__(self, *, memory: int | None, seconds: float | None, cpu_seconds: float | None = None,
                 folder: str | os.PathLike | None = None, disk: int | None = None, interval: float = 0.2,
                 label: str = "the notebook"):
        self.memory, self.seconds, self.cpu_seconds = memory, seconds, cpu_seconds
        self.folder, self.disk = folder, disk
        self.interval, self.label = interval, label
        self.reason: str | None = None
        self.peak_rss = 0
        self.cpu: TreeCPU | None = None
        self._pid: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start = 0.0

    def watch(self, pid: int) -> "Watchdog":
        """Start watching the tree rooted at ``pid``."""
        self._pid = pid
        self._start = time.monotonic()
        self.cpu = TreeCPU(pid)
        self._thread = threading.Thread(target=self._run, name=f"watchdog-{pid}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def kill(self, reason: str) -> None:
        """Kill the tree now, recording ``reason`` (the first reason wins)."""
        if self.reason is None:
            self.reason = reason
        if self._pid is not None:
            kill_tree(self._pid)

    def _rss(self) -> int:
        try:
            root = psutil.Process(self._pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0
        total = 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total

    def _run(self) -> None:
        last_disk = 0.0
        while not self._stop.wait(self.interval):
            if self._pid is None or not psutil.pid_exists(self._pid):
                return
            rss = self._rss()
            self.peak_rss = max(self.peak_rss, rss)
            if self.memory and rss > self.memory:
                self.kill(f"memory limit exceeded ({rss / 2**30:.1f} GiB > {self.memory / 2**30:.1f} GiB)")
                return
            used = self.cpu.sample() if self.cpu is not None else 0.0
            if self.cpu_seconds and used > self.cpu_seconds:
                self.kill(f"CPU time limit exceeded ({self.label} used {used:.0f} CPU-seconds, more than the "
                          f"{self.cpu_seconds:g} allowed)")
                return
            now = time.monotonic()
            if self.seconds and now - self._start > self.seconds:
                self.kill(f"wall-clock time limit exceeded ({self.label} ran longer than {self.seconds:g} s "
                          f"while using {used:.0f} CPU-seconds: it waited without computing)")
                return
            if self.disk and self.folder and now - last_disk > 2.0:
                last_disk = now
                used = folder_bytes(self.folder, cap=self.disk)
                if used > self.disk:
                    self.kill(f"disk limit exceeded (more than {self.disk / 2**30:.1f} GiB written)")
                    return


PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Make the calling process adopt every orphaned descendant (Linux; False elsewhere).

    A process that detaches itself (double fork, new session) is then re-parented to this
    process instead of ``init``, so that :func:`sweep_detached` finds and kills it.
    """
    if not hasattr(os, "sched_getaffinity"):  # not Linux
        return False
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def sweep_detached() -> list[str]:
    """Kill and reap every descendant of the calling process; describe the ones that were alive.

    Called by a grading worker (a subreaper, see :func:`become_subreaper`) after a kernel or a
    check process has ended and its tree was killed: whatever is left was detached from that
    tree on purpose. Zombies are only reaped.

    Returns
    -------
    list of str
        ``"pid 123 (sleep)"`` per process that was still running.
    """
    try:
        kids = psutil.Process().children(recursive=True)
    except psutil.Error:
        return []
    # processes killed with their tree may still be exiting: give them a moment (this reaps
    # those that are our children), then whatever still runs was detached on purpose
    _, running = psutil.wait_procs(kids, timeout=1.0)
    alive = []
    for p in running:
        try:
            if p.status() == psutil.STATUS_ZOMBIE:
                continue
            alive.append(f"pid {p.pid} ({p.name()})")
            p.kill()
        except psutil.Error:
            continue
    psutil.wait_procs(running, timeout=3)
    return alive
