"""In-process time limits, used for answer-cell imports and for each check.

A limit counts **CPU seconds** of the process (``ITIMER_PROF``: user + system time of all
its threads), so that a check that needs 20 CPU-seconds passes on a quiet machine and on
one at load 3 alike. Code that waits without computing uses no CPU; a wall-clock timer
(``ITIMER_REAL``) at ``wall_factor`` times the limit is the backstop for it.

Only Python code can be interrupted this way; a C extension stuck in a loop is caught
by the engine's process-level watchdog instead (see :mod:`grader.watchdog`).
"""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Callable, Iterator

__all__ = ["WALL_FACTOR", "time_limit"]

#: Wall-clock backstop of every CPU-time limit of the engine, as a multiple of the limit.
WALL_FACTOR = 5.0


@contextlib.contextmanager
def time_limit(seconds: float | None, make_error: Callable[[str], BaseException], *,
               wall_factor: float = WALL_FACTOR) -> Iterator[None]:
    """Raise ``make_error(what)`` inside the block when it uses more than ``seconds`` of CPU time.

    Parameters
    ----------
    seconds : float or None
        CPU seconds of this process the block may use (None or 0: no limit).
    make_error : callable
        Builds the exception from a description of what was exceeded, e.g.
        ``"used more than 60 CPU-seconds"``.
    wall_factor : float, keyword-only
        The block is also stopped after ``wall_factor * seconds`` seconds of wall-clock time.

    Does nothing off the main thread or where interval timers do not exist.
    """
    if not seconds or threading.current_thread() is not threading.main_thread() or not hasattr(
            signal, "setitimer"):
        yield
        return
    wall = float(seconds) * wall_factor

    def on_cpu(signum, frame):  # noqa: ARG001
        raise make_error(f"used more than {seconds:g} CPU-seconds")

    def on_wall(signum, frame):  # noqa: ARG001
        raise make_error(f"ran longer than {wall:g} s of wall-clock time while waiting, not computing")

    previous = signal.signal(signal.SIGPROF, on_cpu), signal.signal(signal.SIGALRM, on_wall)
    signal.setitimer(signal.ITIMER_PROF, float(seconds))
    signal.setitimer(signal.ITIMER_REAL, wall)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGPROF, previous[0])
        signal.signal(signal.SIGALRM, previous[1])
