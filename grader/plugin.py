"""The engine's pytest plugin: records per-check points, outcome and student-facing output.

Loaded with ``pytest -p grader.plugin`` in the check process. It writes one JSON object per
line to ``$GRADER_RESULTS`` (a path) or the inherited descriptor ``$GRADER_RESULTS_FD`` (what
the engine uses: the file is not reachable by path from the sandbox) as it goes (so that the engine knows how far a killed process got):

``{"event": "collected", "checks": [...]}``
    every graded check, in order: nodeid, name, points, message, run, timeout, visibility.
``{"event": "import_cell", "grade_id": ...}`` / ``{"event": "imported", ...}``
    the student's answers module being imported cell by cell, then the cells that failed.
``{"event": "start", "nodeid": ...}`` / ``{"event": "result", ...}``
    each check; a result has ``outcome`` (passed, failed, error, not_implemented, missing,
    timeout, not_run, crashed: the student process ended while it ran), ``score``, ``max_score``, ``output`` (student-facing: the check's message,
    a detail from :class:`grader.api.CheckFailed`, or the student's exception with a traceback
    trimmed to their own answer cells, never the check's source), ``log`` (for the
    instructor's log only: the full traceback) and ``cpu_seconds`` (what the check used).

``{"event": "anomaly", "nodeid": ..., "reason": ...}``
    the student process broke the protocol (while that check ran; ``nodeid`` None: while the
    answers were imported): the engine scores the check 0 and marks the row ``tampered``.
``{"event": "finished"}``
    the session is over; the engine rejects anything written after it.

The engine validates every event (:mod:`grader.channel`): it decides the points itself.

``$GRADER_DONE`` (optional) names a file of nodeids, one a line, that are not run again.
"""
from __future__ import annotations

import json
import os
import time
import traceback
from pathlib import Path
from typing import Any, Iterator

import pytest

from grader.answers import LoadedAnswers, MissingAnswer
from grader.api import CheckFailed, CheckTimeout, spec_of
from grader.boundary import ProtocolViolation, StudentCrashed
from grader.record import shorten

OUTPUT_LIMIT = 3000
_RESULT = pytest.StashKey[dict]()


class _Recorder:
    def __init__(self, path: str | None = None, fd: int | None = None):
        if fd is not None:
            self.f = os.fdopen(fd, "a", encoding="utf-8")
        else:
            self.f = open(path or os.devnull, "a", encoding="utf-8")

    def write(self, obj: dict) -> None:
        self.f.write(json.dumps(obj) + "\n")
        self.f.flush()


def _recorder(config: pytest.Config) -> _Recorder | None:
    return getattr(config, "_grader_recorder", None)


def pytest_configure(config: pytest.Config) -> None:
    _CONFIG["config"] = config
    path, fd = os.environ.get("GRADER_RESULTS"), os.environ.get("GRADER_RESULTS_FD")
    if fd:
        config._grader_recorder = _Recorder(fd=int(fd))  # type: ignore[attr-defined]
    elif path:
        config._grader_recorder = _Recorder(path)  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    rec = _recorder(config)
    if rec is not None:
        rec.write({"event": "finished"})  # anything after this is not the plugin's
        rec.f.close()


def check_record(item: pytest.Item) -> dict[str, Any]:
    """The description of one collected check (points, message, ...)."""
    spec = spec_of(item)
    base = getattr(item, "originalname", item.name)
    title = (spec.title if spec and spec.title else base.removeprefix("test_").replace("_", " ").capitalize())
    case = getattr(getattr(item, "callspec", None), "id", "")
    return {"nodeid": item.nodeid, "name": item.name, "file": Path(str(item.path)).name,
            "title": f"{title} [{case}]" if case else title, "cell": _cell(spec, case),
            "points": spec.points if spec else 0.0, "message": spec.message if spec else "",
            "run": spec.run if spec else False, "timeout": spec.timeout if spec else None,
            "visibility": spec.visibility if spec else "visible", "graded": spec is not None}


def _cell(spec: Any, case: str) -> str:
    if spec is None:
        return ""
    return spec.cell.get(case, "") if isinstance(spec.cell, dict) else spec.cell


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    rec = _recorder(config)
    if rec is None:
        return
    rec.write({"event": "collected", "checks": [check_record(i) for i in items]})
    done_file = os.environ.get("GRADER_DONE")
    done = set(Path(done_file).read_text().split("\n")) if done_file and Path(done_file).is_file() else set()
    keep = [i for i in items if i.nodeid not in done and spec_of(i) is not None]
    gone = [i for i in items if i not in keep]
    if gone:
        config.hook.pytest_deselected(items=gone)
        items[:] = keep


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """A check file that cannot be collected is the instructor's problem: say so."""
    if report.failed:
        config = getattr(report, "config", None) or _CONFIG.get("config")
        rec = _recorder(config) if config is not None else None
        if rec is not None:
            rec.write({"event": "collect_error", "nodeid": report.nodeid, "log": str(report.longrepr)[-4000:]})


_CONFIG: dict[str, pytest.Config] = {}


def pytest_collection_finish(session: pytest.Session) -> None:
    """Import the answers modules before the first check (outside the checks' time limits)."""
    config = session.config
    rec = _recorder(config)
    if rec is None or config.option.collectonly or not session.items:
        return
    from grader import fixtures

    ctx = fixtures.context(config)
    assignment = ctx.assignment_of(Path(str(session.items[0].path)))
    ctx.on_student_cell = lambda gid: rec.write({"event": "import_cell", "grade_id": gid})
    ref = ctx.reference(assignment)
    stu = ctx.student(assignment)
    sp = ctx.student_process()
    for reason in sp.anomalies if sp is not None else []:
        rec.write({"event": "anomaly", "nodeid": None, "reason": reason[:500]})
    rec.write({"event": "imported",
               "student_errors": [e.__dict__ for e in stu.errors] if stu is not ref else [],
               "reference_errors": [e.__dict__ for e in ref.errors]})


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: Any) -> Iterator[None]:  # noqa: ARG001
    rec = _recorder(item.config)
    if rec is not None:
        rec.write({"event": "start", "nodeid": item.nodeid})
    item.stash[_RESULT] = {}
    sp = _student_process(item.config)
    seen = len(sp.anomalies) if sp is not None else 0
    cpu0 = time.process_time()
    yield
    item.stash[_RESULT]["cpu_seconds"] = round(time.process_time() - cpu0, 2)
    if sp is not None and rec is not None:
        for reason in sp.anomalies[seen:]:  # the engine scores this check 0 and marks the row tampered
            rec.write({"event": "anomaly", "nodeid": item.nodeid, "reason": reason[:500]})
    _finish(item)


def _student_process(config: pytest.Config) -> Any:
    from grader import fixtures

    return fixtures.context(config).student_process()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    res = item.stash.get(_RESULT, None)
    if res is None:
        return
    if call.when in ("setup", "call") and "outcome" not in res:
        if call.excinfo is None:
            if call.when == "call":
                res.update(outcome="passed")
        else:
            res.update(classify(item, call.excinfo.value, report))
    elif call.when == "teardown" and "outcome" not in res and call.excinfo is not None:
        res.update(classify(item, call.excinfo.value, report))


def _finish(item: pytest.Item) -> None:
    rec = _recorder(item.config)
    res = item.stash.get(_RESULT, {})
    spec = spec_of(item)
    points = spec.points if spec else 0.0
    outcome = res.get("outcome", "error")
    out = {"event": "result", "nodeid": item.nodeid, "name": item.name, "outcome": outcome,
           "score": points if outcome == "passed" else 0.0, "max_score": points,
           "output": _cap(res.get("output", "")), "log": res.get("log", ""),
           "check_error": res.get("check_error", False), "cpu_seconds": res.get("cpu_seconds", 0.0)}
    if rec is not None:
        rec.write(out)


def classify(item: pytest.Item, exc: BaseException, report: Any) -> dict[str, Any]:
    """Outcome and student-facing output of a check that raised ``exc``."""
    spec = spec_of(item)
    message = spec.message if spec else item.name
    full = _instructor_traceback(exc)
    if isinstance(exc, pytest.skip.Exception):
        return {"outcome": "not_run", "output": str(getattr(exc, "msg", "") or exc), "log": ""}
    student = _student_answers(item)
    frames = _student_frames(exc, student)
    if isinstance(exc, CheckTimeout):
        where = ("\nYour code was running here:\n" + frames) if frames else ""
        return {"outcome": "timeout", "output": f"{message}\nTimed out: {exc}.{where}", "log": full}
    if isinstance(exc, CheckFailed):
        return {"outcome": "failed", "output": f"{message}\n{exc}", "log": full}
    if isinstance(exc, ProtocolViolation):
        return {"outcome": "failed", "output": f"{message}\nYour code broke the grader's protocol; the "
                                                "instructor has been told.", "log": full}
    if isinstance(exc, StudentCrashed):
        return {"outcome": "crashed", "output": f"{message}\nYour code ended its process ({exc}).", "log": full}
    if isinstance(exc, MissingAnswer):
        return {"outcome": "missing", "output": f"{message}\n{exc}", "log": full}
    if frames:
        if isinstance(exc, NotImplementedError):
            return {"outcome": "not_implemented",
                    "output": f"{message}\nNot implemented yet: your code raised NotImplementedError.\n{frames}",
                    "log": full}
        return {"outcome": "error",
                "output": f"{message}\nYour code raised {type(exc).__name__}: {_short(exc)}\n{frames}",
                "log": full}
    if isinstance(exc, AssertionError):
        return {"outcome": "failed", "output": message, "log": full}
    workdir = os.environ.get("GRADER_WORKDIR")
    if isinstance(exc, FileNotFoundError) and workdir and workdir in f"{exc.filename} {exc}":
        what = exc.filename if exc.filename and str(exc.filename).startswith(workdir) else _short(exc)
        return {"outcome": "failed", "log": full,
                "output": f"{message}\n(not found: {what}; did your notebook save it?)"}
    return {"outcome": "error", "check_error": True,
            "output": f"{message}\n({type(exc).__name__} while checking your answer: {_short(exc)})",
            "log": full}


def _instructor_traceback(exc: BaseException) -> str:
    """The full traceback without pytest's and pluggy's own frames (for the instructor's log)."""
    tb = traceback.extract_tb(exc.__traceback__)
    keep = [f for f in tb if "/_pytest/" not in f.filename and "/pluggy/" not in f.filename]
    remote = getattr(exc, "student_log", "")
    return ("Traceback (most recent call last):\n" + "".join(traceback.format_list(keep))
            + "".join(traceback.format_exception_only(type(exc), exc))
            + (f"\nIn the student process:\n{remote}" if remote else ""))


def _student_answers(item: pytest.Item) -> LoadedAnswers | None:
    try:
        from grader import fixtures

        ctx = fixtures.context(item.config)
        for (a, who), loaded in ctx.loaded().items():
            if who == "student":
                return loaded
    except Exception:  # noqa: BLE001
        return None
    return None


def _student_frames(exc: BaseException, student: LoadedAnswers | None) -> str:
    """The traceback of ``exc`` trimmed to the student's answer cells ("" when none).

    An exception that came from the student process carries those lines already.
    """
    remote = getattr(exc, "student_frames", None)
    if isinstance(remote, str):
        return remote
    return student.frames_of(exc) if student is not None else ""


def _short(exc: BaseException, limit: int = 400) -> str:
    return shorten(str(exc), limit)


def _cap(s: str) -> str:
    """Shorten an output and hide the grader's own paths (they mean nothing to the student)."""
    for var, label in (("GRADER_WORKDIR", "."), ("GRADER_STUDENT_MODULE", "<your answers>"),
                       ("GRADER_REFERENCE_MODULE", "<reference>")):
        path = os.environ.get(var)
        if path:
            s = s.replace(path, label)
    return shorten(s, OUTPUT_LIMIT, "\n… (output truncated)")
