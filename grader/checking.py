"""Running the hidden checks of one submission in a confined process, surviving its crashes.

The checks run in ``python -m pytest -p grader.plugin`` under :mod:`grader.sandbox`
(no network, writes only in a temporary folder; it must read the hidden data, so file
rules only keep it out of other students' work) and a :class:`grader.watchdog.Watchdog`
(one attempt: :mod:`grader.attempt`).
Student code runs in a student process of its own that the check process starts and
restarts (:mod:`grader.boundary`): a crash there fails one check. The check process itself may
still die (memory over the whole tree, a check's own bug, or ``--answers-in-check-process``).
The plugin logs each check as it starts; when the process dies, the check that was running
scores 0 with the reason, and a new process runs the remaining checks. When it dies while the
student's answers are imported, the answer cell that was being imported is left out next time
and reported.
"""
from __future__ import annotations

import dataclasses
import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO

from grader.attempt import Attempt, Workspace, check_env, pytest_command, run_attempt
from grader.config import GIB, Options

__all__ = ["CheckRun", "ChecksOutcome", "collect_checks", "run_checks"]

MAX_ATTEMPTS = 6


@dataclasses.dataclass
class CheckRun:
    """Where the checks of one assignment live and how to run them.

    Attributes
    ----------
    assignment : str
    checks_dir : Path
        ``grader/checks`` (the folder holding ``<assignment>/``).
    reference_module : Path
        The reference answers module (built once per batch).
    hidden_data : str or None
        ``KIT_DATA_DIR`` of the check process (the full data, hidden part included).
    student_data : str or None
        ``KIT_DATA_DIR`` of the student process (the student-only data).
    student_process : bool
        Run the student's answers in a process of their own (:mod:`grader.boundary`); False only
        to measure what that costs.
    read : list of str
        Extra folders the check process may read (the kit's packages, the data).
    memory : int
        Bytes of resident memory for the check process.
    timeout : float
        CPU seconds for all checks of one submission (the check process tree, all attempts).
    check_timeout : float
        Default CPU seconds per check.
    import_timeout : float
        CPU seconds per answer cell import.
    wall_factor : float
        Wall-clock backstop of these limits and of ``timeout``, as a multiple of them.
    threads : int
    cpus : tuple of int or None
    seed : int
    hidden_key : str
        Key of the hidden clips' disguise (:mod:`grader.disguise`); empty: none.
    """

    assignment: str
    checks_dir: Path
    reference_module: Path
    hidden_data: str | None = None
    student_data: str | None = None
    student_process: bool = not Options.answers_in_check_process
    read: list[str] = dataclasses.field(default_factory=list)
    memory: int = int(Options.memory_gb * GIB)
    timeout: float = Options.all_checks_timeout
    check_timeout: float = Options.check_timeout
    import_timeout: float = 30.0
    wall_factor: float = Options.wall_factor
    threads: int = 2
    cpus: tuple[int, ...] | None = None
    seed: int = 0
    hidden_key: str = ""


@dataclasses.dataclass
class ChecksOutcome:
    """Results of the checks of one submission."""

    results: dict[str, dict]  # nodeid -> result event
    import_errors: list[dict]
    crashes: list[str]
    protections: dict
    seconds: float
    anomalies: list[str] = dataclasses.field(default_factory=list)  # forged or flooded channel: "tampered"
    cpu_seconds: float = 0.0


def _events(path: Path) -> list[dict]:
    out = []
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # a line cut short by a kill
    except OSError:
        pass
    return out


def collect_checks(run: CheckRun) -> list[dict]:
    """The graded checks of ``run.assignment``, in order (see :func:`grader.plugin.check_record`).

    Runs ``pytest --collect-only`` in a subprocess (check modules may import TensorFlow).

    Raises
    ------
    GraderError
        If collection fails (a syntax error in a check file, ...), with pytest's output.
    """
    from grader.errors import GraderError

    with tempfile.TemporaryDirectory(prefix="grader-collect-") as tmp:
        home = Path(tmp)
        ini = home / "pytest.ini"
        ini.write_text("[pytest]\n")
        results = home / "events.jsonl"
        env = check_env(run, home, {"GRADER_RESULTS": str(results)})
        proc = subprocess.run(pytest_command(run, ini, collect_only=True), cwd=tmp, env=env,
                              capture_output=True, text=True, timeout=600)
        collected = [e for e in _events(results) if e.get("event") == "collected"]
        if proc.returncode not in (0, 5) or not collected:
            raise GraderError(f"collecting the checks in {run.checks_dir / run.assignment} failed "
                              f"(pytest exit {proc.returncode}); fix the check files:\n"
                              f"{(proc.stdout + proc.stderr)[-3000:]}")
        checks = [c for c in collected[-1]["checks"] if c["graded"]]
        if not checks:
            raise GraderError(f"no graded checks in {run.checks_dir / run.assignment}; decorate the "
                              "test functions with grader.api.check(points=..., message=...)")
        names = [c["name"] for c in checks]
        for c in checks:
            c["column"] = c["name"] if names.count(c["name"]) == 1 else f"{Path(c['file']).stem}::{c['name']}"
        return checks


@dataclasses.dataclass
class _Progress:
    """What the attempts of one submission have found so far."""

    wanted: set[str]
    results: dict[str, dict] = dataclasses.field(default_factory=dict)
    exclude: dict[str, str] = dataclasses.field(default_factory=dict)
    crashes: list[str] = dataclasses.field(default_factory=list)
    import_errors: list[dict] = dataclasses.field(default_factory=list)
    protections: dict = dataclasses.field(default_factory=dict)
    anomalies: list[str] = dataclasses.field(default_factory=list)
    cpu_used: float = 0.0

    @property
    def finished(self) -> bool:
        return self.wanted <= set(self.results)


def _workspace(run: CheckRun, tmp: Path, student_module: Path | None, workdir: Path | None,
               numba_cache: Path | None, share_numba_cache: bool) -> Workspace:
    """The check process's home (with a numba cache), the control folder, what it may read and write."""
    from grader.procs import seed_numba_cache

    home = tmp / "checks-home"
    home.mkdir(parents=True, exist_ok=True)
    write: list[str] = []
    env: dict[str, str] = {}
    if numba_cache is not None and share_numba_cache:
        numba_cache.mkdir(parents=True, exist_ok=True)
        write.append(str(numba_cache))
        env["NUMBA_CACHE_DIR"] = str(numba_cache)
    else:
        seed_numba_cache(numba_cache, home / ".cache" / "numba")
    ctl = tmp / "checks-ctl"
    ctl.mkdir(exist_ok=True, mode=0o700)
    ini = ctl / "pytest.ini"
    ini.write_text("[pytest]\n")
    if student_module is not None:
        env["GRADER_STUDENT_MODULE"] = str(student_module)
    if workdir is not None:
        env["GRADER_WORKDIR"] = str(workdir)
    ws = Workspace(home=home, ctl=ctl, ini=ini, read=[], write=write, env=env)
    ws.read = [*run.read, str(run.checks_dir), str(run.reference_module.parent), str(ws.done), str(ini)]
    ws.read += [str(p) for p in (student_module.parent if student_module else None, workdir, run.hidden_data,
                                 run.student_data) if p]
    return ws


def _out_of_time(run: CheckRun, cpu_left: float, wall_left: float) -> str | None:
    """Why no further attempt may start, if so."""
    if cpu_left <= 1:
        return f"the checks ran out of time ({run.timeout:g} CPU-seconds in all)"
    if wall_left <= 1:
        return f"the checks ran out of time ({run.timeout * run.wall_factor:g} s of wall-clock time)"
    return None


def _take(state: _Progress, att: Attempt, checks: list[dict]) -> None:
    """Add what an attempt found: CPU time, anomalies, import errors, results (tampered ones score 0)."""
    state.cpu_used += att.cpu_seconds
    state.anomalies += att.anomalies
    state.protections = att.protections or state.protections
    imported = [e for e in att.events if e.get("event") == "imported"]
    if imported:
        errors = [e for e in imported[-1].get("student_errors", []) if isinstance(e, dict)]
        if state.exclude:
            errors = [e for e in errors if e.get("grade_id") not in state.exclude] + [
                {"grade_id": g, "role": "answer", "error": r, "not_implemented": False}
                for g, r in state.exclude.items()]
        state.import_errors = errors
    state.results.update(att.results)
    for node in att.tainted:
        spec = next(c for c in checks if c["nodeid"] == node)
        state.results[node] = {"event": "result", "nodeid": node, "name": spec["name"], "outcome": "tampered",
                               "score": 0.0, "max_score": spec["points"], "log": "", "check_error": False,
                               "output": f"{spec['message']}\nThe result of this check was tampered with; "
                                         "it scores 0 and the instructor has been told."}


def _settle(state: _Progress, att: Attempt, checks: list[dict], log: IO[str]) -> bool:
    """Account for an attempt that ended before every check had a result; whether to try again."""
    why = att.reason
    bad = [e for e in att.events if e.get("event") == "collect_error"]
    if bad:
        state.crashes.append(f"grader error: {bad[0].get('nodeid')} could not be collected in the sandbox; see the log")
        log.write("[checks] collection failed in the sandbox:\n" + "\n".join(str(e.get("log")) for e in bad) + "\n")
        return False
    if not any(e.get("event") == "imported" for e in att.events):
        cells = [e.get("grade_id") for e in att.events if e.get("event") == "import_cell"]
        if cells and isinstance(cells[-1], str) and cells[-1] not in state.exclude:
            state.exclude[cells[-1]] = f"importing this cell ended the grading process ({why})"
            state.crashes.append(f"answer cell '{cells[-1]}' ended the check process on import ({why})")
            return True
        state.crashes.append(f"the check process failed before running any check ({why})")
        log.write(f"[checks] process failed before any check: {why}\n")
        return False
    running = [e["nodeid"] for e in att.events if e.get("event") == "start" and e["nodeid"] not in state.results]
    if running:
        spec = next(c for c in checks if c["nodeid"] == running[-1])
        state.crashes.append(f"{spec['name']}: the check process ended ({why})")
        state.results[spec["nodeid"]] = {
            "event": "result", "nodeid": spec["nodeid"], "name": spec["name"],
            "outcome": "timeout" if "time" in why or "stuck" in why else "crashed",
            "score": 0.0, "max_score": spec["points"],
            "output": f"{spec['message']}\nYour code ended the grading process ({why}).",
            "log": "", "check_error": False}
    else:
        state.crashes.append(f"the check process ended between checks ({why})")
    return True


def run_checks(run: CheckRun, checks: list[dict], *, student_module: Path | None, workdir: Path | None,
               tmp: Path, log: IO[str], numba_cache: Path | None = None,
               share_numba_cache: bool = False) -> ChecksOutcome:
    """Run the checks of one submission; never raises for what the student's code does.

    Parameters
    ----------
    run : CheckRun
    checks : list of dict
        From :func:`collect_checks`.
    student_module : Path or None
        The student's answers module (None: the reference is the student, for self-tests).
    workdir : Path or None
        The executed notebook's folder (``artifacts/``, ``runs/``); None: run checks not run.
    tmp : Path
        A private temporary folder for this run.
    log : file
        The student's log (instructor-facing).
    numba_cache : Path, optional
        A warm numba cache (librosa compiles its kernels on first use: a minute per process);
        copied into the process's own cache folder, or, with ``share_numba_cache`` (trusted code
        only: the reference self-check), used and filled in place.
    """
    t0 = time.monotonic()
    state = _Progress(wanted={c["nodeid"] for c in checks})
    ws = _workspace(run, tmp, student_module, workdir, numba_cache, share_numba_cache)
    wall_deadline = t0 + run.timeout * run.wall_factor
    for number in range(MAX_ATTEMPTS):
        if state.finished:
            break
        cpu_left, wall_left = run.timeout - state.cpu_used, wall_deadline - time.monotonic()
        late = _out_of_time(run, cpu_left, wall_left)
        if late:
            state.crashes.append(late)
            break
        att = run_attempt(run, checks, ws, number=number, done=set(state.results), exclude=state.exclude,
                          cpu_left=cpu_left, wall_left=wall_left, log=log)
        _take(state, att, checks)
        if state.finished or not _settle(state, att, checks, log):
            break
    return ChecksOutcome(results=state.results, import_errors=state.import_errors, crashes=state.crashes,
                         protections=state.protections, seconds=time.monotonic() - t0, anomalies=state.anomalies,
                         cpu_seconds=round(state.cpu_used, 2))
