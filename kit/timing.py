"""Wall-clock and CPU seconds per part of a notebook, for its ``metrics.json``."""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator

__all__ = ["PartTimer"]


class PartTimer:
    """Add up the wall-clock and CPU seconds a notebook spends in each named part.

    Attributes
    ----------
    seconds, cpu_seconds : dict of str to float
        Per part, summed over every block of that name; ``"total"`` once :meth:`finish` ran.

    Examples
    --------
    >>> timer = PartTimer()
    >>> with timer.timed("features"):
    ...     pass
    >>> sorted(timer.seconds)
    ['features']
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}
        self._start = time.perf_counter(), time.process_time()

    @contextmanager
    def timed(self, part: str) -> Iterator[None]:
        """Add the seconds spent in the ``with`` block to ``part`` (also when it raises)."""
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.seconds[part] = self.seconds.get(part, 0.0) + time.perf_counter() - wall
            self.cpu_seconds[part] = self.cpu_seconds.get(part, 0.0) + time.process_time() - cpu

    def finish(self) -> dict[str, dict[str, float]]:
        """Record ``"total"`` (since the timer was made); return both tables rounded to 0.01 s."""
        self.seconds["total"] = time.perf_counter() - self._start[0]
        self.cpu_seconds["total"] = time.process_time() - self._start[1]
        return {"seconds": {k: round(v, 2) for k, v in self.seconds.items()},
                "cpu_seconds": {k: round(v, 2) for k, v in self.cpu_seconds.items()}}
