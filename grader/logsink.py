"""A capped pipe for a child's stdout/stderr: the kernel's and the check process's output in the log.

The child never holds the instructor's log file itself (so it cannot truncate or flood
it): it writes into a pipe, and a thread copies at most :data:`LOG_LIMIT` bytes into the
log. Used by :mod:`grader.execute` and :mod:`grader.attempt`.
"""
from __future__ import annotations

import os
import threading

__all__ = ["LOG_LIMIT", "CappedSink"]

#: Bytes of a kernel's or check process's own stdout/stderr kept in the instructor's log.
LOG_LIMIT = 2 << 20


class CappedSink:
    """A pipe for a child's stdout/stderr that copies at most ``limit`` bytes into ``target``.

    Passed as ``stdout=sink.fd``: the child never holds the log file itself (so it cannot
    truncate or flood it); past the limit one note is written and the rest is read and
    dropped (the child never blocks on a full pipe).

    Parameters
    ----------
    target : file
        A text or binary file open for writing (the instructor's log).
    limit : int
        Bytes copied at most.
    """

    def __init__(self, target, limit: int):  # noqa: ANN001 - any writable file
        self.target, self.limit, self.copied = target, limit, 0
        self._r, self.fd = os.pipe()
        self._thread = threading.Thread(target=self._pump, name="capped-sink", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        noted = False
        while True:
            try:
                chunk = os.read(self._r, 1 << 16)
            except OSError:
                break
            if not chunk:
                break
            room = self.limit - self.copied
            if room > 0:
                self._write(chunk[:room])
            if len(chunk) > room and not noted:
                noted = True
                self._write(f"\n[grader: output past {self.limit} bytes was discarded]\n".encode())
            self.copied += len(chunk)
        os.close(self._r)

    def _write(self, data: bytes) -> None:
        try:
            if hasattr(self.target, "buffer"):
                self.target.flush()
                self.target.buffer.write(data)
                self.target.buffer.flush()
            else:
                self.target.write(data)
                self.target.flush()
        except (OSError, ValueError):
            pass

    def started(self) -> None:
        """Close this process's copy of the write end (call once the child holds its own)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def close(self, timeout: float = 5.0) -> None:
        """Wait (up to ``timeout``) for the children to close the pipe and the copy to finish."""
        self.started()
        self._thread.join(timeout)
