"""The result channel: what the check process reports, read and validated by the engine.

The check process (:mod:`grader.plugin`) writes one JSON object per line to a file that
the engine opened for it (see the plugin for the events). Student code does not run in that
process (it runs in the student process, :mod:`grader.boundary`, which never holds the channel);
the engine still treats the channel as untrusted, as defence in depth and for
``--answers-in-check-process``: it reads it incrementally (never the whole file again), within a
size cap, and accepts only what the plugin itself would write:

* known event types only; a ``result`` only for a known check, only right after that
  check's ``start`` and after the answers were ``imported``, one result per check;
* an ``outcome`` from the plugin's list, and a score that is exactly what the outcome is
  worth (the check's points from ``checks.json`` when passed, else 0): the engine, not the
  channel, decides the points;
* nothing after the plugin's ``finished`` event (e.g. an ``atexit`` handler).

Whatever breaks these rules is an **anomaly**: the row is marked ``tampered`` with the
anomalies as the reason, for the instructor to look at. A check whose result was forged or
contradicted while the session ran scores 0; what is written after ``finished`` is ignored
(the results before it stand).
An ``anomaly`` event is the plugin reporting that the student process broke the protocol of
its own pipes: the check it happened in scores 0 and the row is ``tampered``. See the threat
model in ``grader/README.md``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from grader.record import REPORTED_OUTCOMES

__all__ = ["MAX_BYTES", "OUTCOMES", "Channel"]

#: Bytes one attempt of the check process may write on the channel (the plugin writes ~1 KiB a check).
MAX_BYTES = 8 << 20
#: Outcomes the plugin reports.
OUTCOMES = REPORTED_OUTCOMES
EVENTS = ("collected", "import_cell", "imported", "start", "result", "collect_error", "anomaly", "finished")
_ANOMALY_LIMIT = 20  # different anomalies listed per channel (a repeated one is listed once, with a count)


class Channel:
    """Reads one attempt's event file incrementally and validates it against the known checks.

    Parameters
    ----------
    path : Path
        The event file (JSON lines).
    checks : list of dict
        The graded checks (``nodeid``, ``points``), from ``checks.json``.
    done : set of str
        Nodeids that earlier attempts already have results for (a second result is an anomaly).
    max_bytes : int
        Bytes this attempt may write; past it the channel is closed and :attr:`overflowed` is set.

    Attributes
    ----------
    events : list of dict
        The valid events so far, in order.
    results : dict
        ``nodeid -> result event`` accepted so far (score set by the engine).
    anomalies : list of str
        Human-readable, for the instructor, each once (``"… (12000 times)"`` when repeated).
    tainted : set of str
        Nodeids whose results were forged or contradicted: they score 0.
    """

    def __init__(self, path: Path, checks: list[dict], done: set[str] | frozenset[str] = frozenset(), *,
                 max_bytes: int = MAX_BYTES):
        self.path, self.max_bytes = Path(path), max_bytes
        self.points = {c["nodeid"]: float(c["points"]) for c in checks}
        self.done = set(done)
        self.events: list[dict] = []
        self.results: dict[str, dict] = {}
        self._anomalies: dict[str, int] = {}
        self.tainted: set[str] = set()
        self.overflowed = False
        self._offset = 0
        self._partial = b""
        self._imported = False
        self._current: str | None = None
        self._finished = False
        self._flagged: set[str] = set()

    # -- reading --------------------------------------------------------------------------
    def poll(self) -> list[dict]:
        """Read what was appended since the last call; returns the new valid events."""
        if self.overflowed:
            return []
        try:
            size = os.stat(self.path).st_size
        except OSError:
            return []
        if size > self.max_bytes:
            self.overflowed = True
            self._anomaly(f"the check process wrote {size} bytes on the result channel (at most "
                          f"{self.max_bytes} are read): it was flooded")
            size = self.max_bytes
        if size <= self._offset:
            return []
        with open(self.path, "rb") as f:
            f.seek(self._offset)
            chunk = f.read(size - self._offset)
        self._offset += len(chunk)
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()  # an incomplete last line waits for the rest
        new = []
        for raw in lines:
            ev = self._accept(raw)
            if ev is not None:
                self.events.append(ev)
                new.append(ev)
        return new

    def close(self) -> None:
        """Read the rest after the process ended (a line cut short by a kill is dropped silently)."""
        self.poll()
        self._partial = b""

    # -- validating -----------------------------------------------------------------------
    @property
    def anomalies(self) -> list[str]:
        out = [t if n == 1 else f"{t} ({n} times)" for t, n in self._anomalies.items()]
        return out if len(out) <= _ANOMALY_LIMIT else [*out[:_ANOMALY_LIMIT], "… further anomalies not listed"]

    def _anomaly(self, text: str) -> None:
        self._anomalies[text] = self._anomalies.get(text, 0) + 1

    def _accept(self, raw: bytes) -> dict | None:
        if not raw.strip():
            return None
        try:
            ev = json.loads(raw)
        except ValueError:
            self._anomaly("a line on the result channel is not JSON")
            return None
        kind = ev.get("event") if isinstance(ev, dict) else None
        if kind not in EVENTS:
            self._anomaly(f"an unknown event {str(kind)[:40]!r} on the result channel")
            return None
        if self._finished:  # ignored: the results before it stand
            self._anomaly(f"a {kind!r} event after the check session finished (written by an exit handler?)")
            return None
        if kind == "anomaly":  # the checks saw the student process break the protocol
            self._anomaly(_text(ev.get("reason"), 500) or "an anomaly in the student process")
            if ev.get("nodeid") in self.points:
                self._flagged.add(ev["nodeid"])
        elif kind == "imported":
            self._imported = True
        elif kind == "finished":
            self._finished = True
        elif kind == "start":
            node = ev.get("nodeid")
            if node not in self.points:
                self._anomaly(f"a start event for an unknown check {str(node)[:80]!r}")
                return None
            if not self._imported:
                self._anomaly(f"check {node} started before the answers were imported")
                self._taint(node)
                return None
            self._current = node
        elif kind == "result":
            return self._result(ev)
        return ev

    def _result(self, ev: dict) -> dict | None:
        node = ev.get("nodeid")
        if node not in self.points:
            self._anomaly(f"a result for an unknown check {str(node)[:80]!r}")
            return None
        if node in self.tainted:
            self._anomaly(f"a result for check {node}, whose start was rejected")
            return None
        if node in self.results or node in self.done:
            self._anomaly(f"a second result for check {node}")
            self._taint(node)
            return None
        if node != self._current:
            self._anomaly(f"a result for check {node} that was not running")
            self._taint(node)
            return None
        self._current = None
        if node in self._flagged:
            self._taint(node)
            return None
        outcome = ev.get("outcome")
        if outcome not in OUTCOMES:
            self._anomaly(f"check {node}: unknown outcome {str(outcome)[:40]!r}")
            self._taint(node)
            return None
        worth = self.points[node] if outcome == "passed" else 0.0
        try:
            claimed = float(ev.get("score"))
        except (TypeError, ValueError):
            claimed = float("nan")
        if claimed != worth:
            self._anomaly(f"check {node}: the channel claimed a score of {str(ev.get('score'))[:40]} "
                          f"for outcome {outcome!r} (worth {worth:g})")
            self._taint(node)
            return None
        clean = {"event": "result", "nodeid": node, "name": str(ev.get("name", ""))[:200], "outcome": outcome,
                 "score": worth, "max_score": self.points[node], "output": _text(ev.get("output")),
                 "log": _text(ev.get("log"), 20_000), "check_error": bool(ev.get("check_error", False)),
                 "cpu_seconds": _seconds(ev.get("cpu_seconds"))}
        self.results[node] = clean
        return clean

    def _taint(self, node: str) -> None:
        self.tainted.add(node)
        self.results.pop(node, None)


def _seconds(value: object) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return round(v, 2) if 0.0 <= v < 1e7 else 0.0


def _text(value: object, limit: int = 4000) -> str:
    s = value if isinstance(value, str) else ""
    return s if len(s) <= limit else s[:limit] + "\n… (output truncated)"
