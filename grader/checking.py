"""Running the hidden checks of one submission in a confined process, surviving its crashes.

The checks run in ``python -m pytest -p grader.plugin`` under :mod:`grader.sandbox`
(no network, writes only in a temporary folder; it must read the hidden data, so file
rules only keep it out of other students' work) and a :class:`grader.watchdog.Watchdog`.
Student code runs in that process, so it may crash it (segfault, ``os._exit``, memory
bomb, a loop in C). The plugin logs each check as it starts; when the process dies, the
check that was running scores 0 with the reason, and a new process runs the remaining
checks. When the process dies while importing the student's answers, the answer cell that
was being imported is left out next time and reported.
"""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

from grader.channel import Channel
from grader.config import GIB, Options
from grader.procs import child_env, describe_exit
from grader.sandbox import Policy
from grader.watchdog import LOG_LIMIT, CappedSink, Watchdog, kill_tree

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
    """

    assignment: str
    checks_dir: Path
    reference_module: Path
    hidden_data: str | None = None
    read: list[str] = dataclasses.field(default_factory=list)
    memory: int = int(Options.memory_gb * GIB)
    timeout: float = Options.all_checks_timeout
    check_timeout: float = Options.check_timeout
    import_timeout: float = 30.0
    wall_factor: float = Options.wall_factor
    threads: int = 2
    cpus: tuple[int, ...] | None = None
    seed: int = 0


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


def _pytest_args(run: CheckRun, ini: Path, collect_only: bool = False) -> list[str]:
    args = [sys.executable, "-m", "pytest", "-p", "grader.plugin", "-p", "no:cacheprovider",
            "-p", "no:randomly", "-q", "--no-header", "-rN", "--tb=short", "--import-mode=importlib",
            "-c", str(ini), "--rootdir", str(run.checks_dir), "--confcutdir", str(run.checks_dir),
            "-W", "ignore",
            str(run.checks_dir / run.assignment)]
    if collect_only:
        args.insert(-1, "--collect-only")
    return args


def _env(run: CheckRun, home: Path, extra: dict[str, str]) -> dict[str, str]:
    return child_env({
        "HOME": str(home), "TMPDIR": str(home),
        "MPLCONFIGDIR": str(home / ".mpl"), "XDG_CACHE_HOME": str(home / ".cache"),
        "KERAS_HOME": str(home / ".keras"), "NUMBA_CACHE_DIR": str(home / ".cache" / "numba"),
        "GRADER_ENGINE": "1", "GRADER_ASSIGNMENT": run.assignment,
        "GRADER_REFERENCE_MODULE": str(run.reference_module), "GRADER_SEED": str(run.seed),
        "GRADER_CHECK_TIMEOUT": str(run.check_timeout), "GRADER_WALL_FACTOR": str(run.wall_factor),
        "GRADER_IMPORT_TIMEOUT": str(run.import_timeout), **extra,
    }, threads=run.threads, data=run.hidden_data)


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
        env = _env(run, home, {"GRADER_RESULTS": str(results)})
        proc = subprocess.run(_pytest_args(run, ini, collect_only=True), cwd=tmp, env=env,
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
    results: dict[str, dict] = {}
    exclude: dict[str, str] = {}
    crashes: list[str] = []
    import_errors: list[dict] = []
    protections: dict = {}
    wanted = {c["nodeid"] for c in checks}
    home = tmp / "checks-home"
    home.mkdir(parents=True, exist_ok=True)
    from grader.execute import seed_numba_cache

    write: list[str] = []
    extra_env: dict[str, str] = {}
    if numba_cache is not None and share_numba_cache:
        numba_cache.mkdir(parents=True, exist_ok=True)
        write.append(str(numba_cache))
        extra_env["NUMBA_CACHE_DIR"] = str(numba_cache)
    else:
        seed_numba_cache(numba_cache, home / ".cache" / "numba")
    ctl = tmp / "checks-ctl"
    ctl.mkdir(exist_ok=True, mode=0o700)
    ini = ctl / "pytest.ini"
    ini.write_text("[pytest]\n")
    cpu_used = 0.0
    wall_deadline = t0 + run.timeout * run.wall_factor
    anomalies: list[str] = []
    for attempt in range(MAX_ATTEMPTS):
        if wanted <= set(results):
            break
        cpu_left = run.timeout - cpu_used
        wall_left = wall_deadline - time.monotonic()
        if cpu_left <= 1 or wall_left <= 1:
            crashes.append(f"the checks ran out of time ({run.timeout:g} CPU-seconds in all)" if cpu_left <= 1 else
                           f"the checks ran out of time ({run.timeout * run.wall_factor:g} s of wall-clock time)")
            break
        events_path = ctl / f"events-{attempt}.jsonl"
        done_path = ctl / "done.txt"
        done_path.write_text("\n".join(sorted(results)))
        events_fd = os.open(events_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        extra = {**extra_env, "GRADER_RESULTS_FD": str(events_fd), "GRADER_DONE": str(done_path),
                 "GRADER_EXCLUDE_CELLS": json.dumps(exclude)}
        if student_module is not None:
            extra["GRADER_STUDENT_MODULE"] = str(student_module)
        if workdir is not None:
            extra["GRADER_WORKDIR"] = str(workdir)
        read = [*run.read, str(run.checks_dir), str(run.reference_module.parent), str(done_path), str(ini)]
        read += [str(p) for p in (student_module.parent if student_module else None, workdir, run.hidden_data) if p]
        # the report is written after the rules apply, so it goes to the writable home
        policy = Policy(workdir=str(home), read=read, write=write, network=False, threads=run.threads,
                        cpus=list(run.cpus) if run.cpus else None, address_space=None,
                        report=str(home / ".sandbox.json"))
        pol = policy.save(ctl / "policy.json")
        cmd = [sys.executable, "-m", "grader.sandbox", str(pol), "--", *_pytest_args(run, ini)]
        log.write(f"[checks] attempt {attempt + 1}: {len(wanted - set(results))} check(s) to run\n")
        log.flush()
        sink = CappedSink(log, LOG_LIMIT)
        try:
            proc = subprocess.Popen(cmd, cwd=str(home), env=_env(run, home, extra), stdout=sink.fd,
                                    stderr=sink.fd, start_new_session=True, pass_fds=(events_fd,))
        finally:
            os.close(events_fd)
            sink.started()
        dog = Watchdog(memory=run.memory, cpu_seconds=cpu_left, seconds=wall_left,
                       label="the checks").watch(proc.pid)
        channel = Channel(events_path, checks, done=set(results))
        stalled = None
        detector = _StallDetector(checks, run.check_timeout, run.wall_factor)
        try:
            while proc.poll() is None:
                time.sleep(0.1)
                new = channel.poll()
                if channel.overflowed:
                    dog.kill("the result channel was flooded")
                    break
                stalled = detector.update(new, dog.cpu.total if dog.cpu else 0.0)
                if stalled:
                    dog.kill(stalled)
                    break
            code = proc.wait()
        finally:
            dog.stop()
            kill_tree(proc.pid)
            sink.close()
        cpu_used += dog.cpu.total if dog.cpu else 0.0
        channel.close()
        anomalies += channel.anomalies
        evs = channel.events
        protections = _read_json(home / ".sandbox.json") or protections
        imported = [e for e in evs if e.get("event") == "imported"]
        if imported:
            import_errors = [e for e in imported[-1].get("student_errors", []) if isinstance(e, dict)]
            if exclude:
                import_errors = [e for e in import_errors if e.get("grade_id") not in exclude] + [
                    {"grade_id": g, "role": "answer", "error": r, "not_implemented": False}
                    for g, r in exclude.items()]
        started = [e["nodeid"] for e in evs if e.get("event") == "start"]
        results.update(channel.results)
        for node in channel.tainted:
            spec = next(c for c in checks if c["nodeid"] == node)
            results[node] = {"event": "result", "nodeid": node, "name": spec["name"], "outcome": "tampered",
                             "score": 0.0, "max_score": spec["points"], "log": "", "check_error": False,
                             "output": f"{spec['message']}\nThe result of this check was tampered with; "
                                       "it scores 0 and the instructor has been told."}
        if wanted <= set(results):
            break
        why = dog.reason or stalled or describe_exit(code)
        bad = [e for e in evs if e.get("event") == "collect_error"]
        if bad:
            crashes.append(f"grader error: {bad[0].get('nodeid')} could not be collected in the sandbox; see the log")
            log.write("[checks] collection failed in the sandbox:\n" + "\n".join(str(e.get("log")) for e in bad) + "\n")
            break
        if not imported:
            cells = [e.get("grade_id") for e in evs if e.get("event") == "import_cell"]
            if cells and isinstance(cells[-1], str) and cells[-1] not in exclude:
                exclude[cells[-1]] = f"importing this cell ended the grading process ({why})"
                crashes.append(f"answer cell '{cells[-1]}' ended the check process on import ({why})")
                continue
            crashes.append(f"the check process failed before running any check ({why})")
            log.write(f"[checks] process failed before any check: {why}\n")
            break
        running = [n for n in started if n not in results]
        if running:
            node = running[-1]
            spec = next(c for c in checks if c["nodeid"] == node)
            crashes.append(f"{spec['name']}: the check process ended ({why})")
            results[node] = {"event": "result", "nodeid": node, "name": spec["name"],
                             "outcome": "timeout" if "time" in why or "stuck" in why else "crashed",
                             "score": 0.0, "max_score": spec["points"],
                             "output": f"{spec['message']}\nYour code ended the grading process ({why}).",
                             "log": "", "check_error": False}
        else:
            crashes.append(f"the check process ended between checks ({why})")
    return ChecksOutcome(results=results, import_errors=import_errors, crashes=crashes,
                         protections=protections, seconds=time.monotonic() - t0, anomalies=anomalies,
                         cpu_seconds=round(cpu_used, 2))


class _StallDetector:
    """Notices a check stuck in C code, where the in-process timers cannot act.

    The in-process limit stops Python code when the check passes its CPU budget; this
    catches code that does not return to Python: past twice the limit in CPU seconds of the
    check process tree, or past the wall-clock backstop, plus a grace period.
    """

    GRACE = 20.0

    def __init__(self, checks: list[dict], default: float, wall_factor: float):
        self.default = default
        self.limits = {c["nodeid"]: (c.get("timeout") or default) for c in checks}
        self.names = {c["nodeid"]: c["name"] for c in checks}
        self.wall_factor = wall_factor
        self.current: tuple[str, float, float] | None = None

    def update(self, new: list[dict], cpu: float) -> str | None:
        """Take the events new since the last call and the tree's CPU seconds; a reason when a check is stuck."""
        marks = [e for e in new if e.get("event") in ("start", "result")]
        if marks:
            last = marks[-1]
            self.current = (last["nodeid"], time.monotonic(), cpu) if last["event"] == "start" else None
        if self.current is None:
            return None
        node, since, cpu0 = self.current
        limit = self.limits.get(node, self.default)
        if cpu - cpu0 > 2 * limit + self.GRACE:
            return f"check {self.names.get(node, node)} was stuck past its limit ({limit:g} CPU-seconds)"
        if time.monotonic() - since > self.wall_factor * limit + self.GRACE:
            return (f"check {self.names.get(node, node)} was stuck past its wall-clock backstop "
                    f"({self.wall_factor * limit:g} s)")
        return None


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


