"""The grade record of one student: typed, built here and nowhere else.

A :class:`Record` is what ``gradebook/<assignment>/cache/records/<student>.json`` holds and
what the gradebook, the feedback page and the Gradescope results are made from. Its
:class:`Status` is decided by :meth:`Record.settle` from what happened (the rules below);
every check's :class:`CheckResult` is bounded by the engine, whatever a check process reported.
"""
from __future__ import annotations

import dataclasses
import enum
import json
from typing import Any

__all__ = ["CheckResult", "Outcome", "REPORTED_OUTCOMES", "Record", "STATUSES", "Status", "shorten"]

REASON_LIMIT = 600


class Status(str, enum.Enum):
    """What became of a submission (one per gradebook row; grader/README.md explains each)."""

    OK = "ok"
    PROBLEMS = "problems"
    TAMPERED = "tampered"
    MEMORY = "memory"
    TIMEOUT = "timeout"
    KERNEL_DIED = "kernel_died"
    CELL_STUCK = "cell_stuck"
    DISK = "disk"
    START_FAILED = "start_failed"
    NO_SUBMISSION = "no_submission"
    UNREADABLE = "unreadable"
    WRONG_NOTEBOOK = "wrong_notebook"
    GRADER_ERROR = "grader_error"

    def __str__(self) -> str:
        return self.value


#: Every status name, in the order grader/README.md lists them.
STATUSES = tuple(s.value for s in Status)

#: Execution statuses that become the row's status (the notebook could not finish).
EXECUTION_STATUSES = (Status.MEMORY, Status.TIMEOUT, Status.KERNEL_DIED, Status.CELL_STUCK, Status.DISK,
                      Status.START_FAILED)


class Outcome(str, enum.Enum):
    """What became of one check."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    NOT_IMPLEMENTED = "not_implemented"
    MISSING = "missing"
    TIMEOUT = "timeout"
    NOT_RUN = "not_run"
    CRASHED = "crashed"
    TAMPERED = "tampered"

    def __str__(self) -> str:
        return self.value


#: The outcomes a check process may report (``crashed``: the student process ended while a check ran);
#: ``tampered`` is decided by the engine.
REPORTED_OUTCOMES = tuple(o.value for o in Outcome if o is not Outcome.TAMPERED)


@dataclasses.dataclass
class CheckResult:
    """One check's line in a record: its points and what the student is told."""

    nodeid: str
    name: str
    column: str
    run: bool
    outcome: Outcome
    score: float
    max_score: float
    output: str
    visibility: str = "visible"
    cpu_seconds: float = 0.0
    title: str = ""
    part: str = ""

    @classmethod
    def of(cls, check: dict, reported: dict | None, missing_output: str) -> "CheckResult":
        """The result of ``check`` (an entry of checks.json) from what its process ``reported``.

        A check scores between 0 and its points, and only when it passed; an unreported check
        is ``not_run`` with ``missing_output`` as its output.
        """
        r = reported if reported is not None else {"outcome": "not_run", "score": 0.0, "output": missing_output}
        outcome = Outcome(r["outcome"])
        score = min(max(float(r["score"]), 0.0), float(check["points"])) if outcome is Outcome.PASSED else 0.0
        return cls(nodeid=check["nodeid"], name=check["name"], column=check["column"], run=check["run"],
                   outcome=outcome, score=score, max_score=check["points"], output=r.get("output", ""),
                   visibility=check.get("visibility", "visible"), cpu_seconds=float(r.get("cpu_seconds") or 0.0),
                   title=check.get("title", ""), part=check.get("part", ""))


@dataclasses.dataclass
class Record:
    """Everything graded about one student's submission of one assignment."""

    student: str
    assignment: str
    status: Status = Status.OK
    reason: str = ""
    notebook: str | None = None
    submission_sha: str | None = None
    grade_version: str = ""
    answers_only: bool = False
    problems: list[dict] = dataclasses.field(default_factory=list)
    import_errors: list[dict] = dataclasses.field(default_factory=list)
    execution: dict | None = None
    checks: list[CheckResult] = dataclasses.field(default_factory=list)
    manual: list[dict] = dataclasses.field(default_factory=list)
    score: float = 0.0
    max_score: float = 0.0
    crashes: list[str] = dataclasses.field(default_factory=list)
    anomalies: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    check_seconds: float | None = None
    check_cpu_seconds: float | None = None

    @classmethod
    def start(cls, student: str, assignment: str, checks: list[dict], manual: list[dict], *,
              grade_version: str = "", answers_only: bool = False) -> "Record":
        """A record before grading: status ok, no score, every check's maximum counted."""
        return cls(student=student, assignment=assignment, grade_version=grade_version, answers_only=answers_only,
                   manual=list(manual), max_score=sum(c["points"] for c in checks))

    def finish_checks(self, checks: list[dict], reported: dict[str, dict], missing_output: str) -> None:
        """Fill :attr:`checks` and :attr:`score` from the reported results (``nodeid`` -> result)."""
        self.checks = [CheckResult.of(c, reported.get(c["nodeid"]), missing_output) for c in checks]
        self.score = round(sum(c.score for c in self.checks), 6)

    def stop(self, status: Status, reason: str, checks: list[dict]) -> "Record":
        """End grading early: ``status`` with ``reason``, every check not run (for that reason)."""
        self.status, self.reason = status, reason
        self.finish_checks(checks, {}, f"not run: {reason}")
        return self

    def settle(self) -> None:
        """Decide :attr:`status` and :attr:`reason` from what happened (the rules of grader/README.md)."""
        self.status, self.reason = self._decide()

    def _decide(self) -> tuple[Status, str]:
        if self.anomalies:
            return Status.TAMPERED, _cap("tampering: " + "; ".join(self.anomalies))
        reasons = [p["message"] for p in self.problems]
        reasons += [f"answer cell '{e['grade_id']}' failed on import: {e['error']}" for e in self.import_errors]
        ex = self.execution or {}
        if ex.get("reason"):
            reasons.append(ex["reason"])
        failed = ex.get("failed_cells") or []
        shown = [f"cell {c['index']}{' (' + c['grade_id'] + ')' if c.get('grade_id') else ''} {c['ename']}"
                 for c in failed if c["ename"] != "KernelDied"][:5]
        if shown:
            reasons.append("errors in " + ", ".join(shown) + (" …" if len(failed) > 5 else ""))
        reasons += self.crashes
        crashed = [c.name for c in self.checks if c.outcome is Outcome.CRASHED
                   and not any(r.startswith(f"{c.name}:") for r in self.crashes)]
        if crashed:
            reasons.append(f"crashed: {', '.join(crashed[:5])} (the student's code ended its process)")
        todo = [c.name for c in self.checks if c.outcome is Outcome.NOT_IMPLEMENTED]
        if todo:
            reasons.append(f"not implemented: {len(todo)} check(s)")
        plain = (Outcome.PASSED, Outcome.FAILED, Outcome.NOT_RUN)
        if not reasons and all(c.outcome in plain for c in self.checks):
            return Status.OK, ""
        reason = _cap("; ".join(reasons))
        if any(c.startswith("grader error") for c in self.crashes):
            return Status.GRADER_ERROR, reason
        if ex.get("status") in {s.value for s in EXECUTION_STATUSES}:
            return Status(ex["status"]), reason
        return (Status.PROBLEMS if reasons else Status.OK), reason

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready record (statuses and outcomes as their names)."""
        d = dataclasses.asdict(self)
        d["status"] = self.status.value
        for c in d["checks"]:
            c["outcome"] = Outcome(c["outcome"]).value
        return d

    def to_json(self) -> str:
        """The record file's text."""
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Record":
        """The record a :meth:`to_dict` wrote (unknown keys of older records are ignored).

        Raises
        ------
        ValueError
            If a status or outcome is not one of :class:`Status` / :class:`Outcome`, or a field is missing.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        fields = {k: v for k, v in d.items() if k in names}
        names_c = {f.name for f in dataclasses.fields(CheckResult)}
        try:
            fields["status"] = Status(fields.get("status", "ok"))
            fields["checks"] = [CheckResult(**{**{k: v for k, v in c.items() if k in names_c},
                                               "outcome": Outcome(c["outcome"])}) for c in d.get("checks", [])]
            return cls(**fields)
        except (TypeError, KeyError) as e:
            raise ValueError(f"not a grade record: {e}") from e


def shorten(text: str, limit: int, marker: str = "…") -> str:
    """``text`` cut to at most ``limit`` characters (plus ``marker``) at a word or value boundary.

    Parameters
    ----------
    text : str
        A message a student or an instructor reads.
    limit : int
        Characters kept at most (``marker`` comes after them).
    marker : str
        What says that something was cut.

    Returns
    -------
    str
        ``text`` itself when it fits; else its start, cut after the last space, comma, semicolon,
        colon or closing bracket in the last 40 % of ``limit`` (at ``limit`` when there is none, in
        one long token), then ``marker``: never "ACTUA…" for "ACTUAL".

    Examples
    --------
    >>> shorten("the mask has the wrong shape: ACTUAL (3, 5)", 34)
    'the mask has the wrong shape:…'
    """
    if len(text) <= limit:
        return text
    head = text[:limit]
    if text[limit].isspace() or text[limit] in ",;:)]}":
        return head.rstrip() + marker
    cut = max(head.rfind(c) for c in " \n\t,;:)]}")
    if cut >= int(limit * 0.6):
        head = head[:cut + 1] if head[cut] in ",;:)]}" else head[:cut]
    return head.rstrip() + marker


def _cap(reason: str) -> str:
    return shorten(reason, REASON_LIMIT)
