"""In-process time limits (SIGALRM), used for answer-cell imports and for each check.

Only Python code can be interrupted this way; a C extension stuck in a loop is caught
by the engine's process-level watchdog instead (see :mod:`grader.sandbox`).
"""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Callable, Iterator

__all__ = ["time_limit"]


@contextlib.contextmanager
def time_limit(seconds: float | None, make_error: Callable[[], BaseException]) -> Iterator[None]:
    """Raise ``make_error()`` inside the block when it runs longer than ``seconds``.

    Does nothing when ``seconds`` is None, off the main thread or where SIGALRM does not exist.
    """
    if not seconds or threading.current_thread() is not threading.main_thread() or not hasattr(
            signal, "setitimer"):
        yield
        return

    def on_alarm(signum, frame):  # noqa: ARG001
        raise make_error()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
