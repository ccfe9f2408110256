"""One attempt of the check process: spawn it confined, follow its result channel, stop it when stuck.

:func:`run_attempt` starts ``python -m pytest -p grader.plugin`` under :mod:`grader.sandbox`
and a :class:`grader.watchdog.Watchdog`, reads the events the plugin writes as the checks
run (:class:`grader.channel.Channel`), kills the process tree when the channel is flooded or
a check is stuck in C code (:class:`StallDetector`), and returns what the attempt left
(:class:`Attempt`). :mod:`grader.checking` decides what a crash means and runs the next one.
"""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING

from grader.channel import Channel
from grader.disguise import KEY_ENV
from grader.logsink import LOG_LIMIT, CappedSink
from grader.procs import child_env, describe_exit, home_env
from grader.sandbox import Policy, read_report
from grader.watchdog import Watchdog, kill_tree

if TYPE_CHECKING:
    from grader.checking import CheckRun

__all__ = ["Attempt", "StallDetector", "Workspace", "check_env", "pytest_command", "run_attempt"]


def pytest_command(run: CheckRun, ini: Path, collect_only: bool = False) -> list[str]:
    """The command line of the check process (pytest with the grader's plugin).

    Parameters
    ----------
    run : CheckRun
    ini : Path
        An empty ``pytest.ini`` (so that no configuration of the checks' folders applies).
    collect_only : bool
        Only collect the checks.

    Returns
    -------
    list of str
    """
    args = [sys.executable, "-m", "pytest", "-p", "grader.plugin", "-p", "no:cacheprovider",
            "-p", "no:randomly", "-q", "--no-header", "-rN", "--tb=short", "--import-mode=importlib",
            "-c", str(ini), "--rootdir", str(run.checks_dir), "--confcutdir", str(run.checks_dir),
            "-W", "ignore",
            str(run.checks_dir / run.assignment)]
    if collect_only:
        args.insert(-1, "--collect-only")
    return args


def check_env(run: CheckRun, home: Path, extra: dict[str, str]) -> dict[str, str]:
    """The environment of the check process: home and caches in ``home``, the run's settings, ``extra``.

    Parameters
    ----------
    run : CheckRun
    home : Path
        The process's home and temporary folder.
    extra : dict
        More variables (they win).

    Returns
    -------
    dict
    """
    return child_env({
        **home_env(home), "GRADER_ENGINE": "1", "GRADER_ASSIGNMENT": run.assignment,
        "GRADER_REFERENCE_MODULE": str(run.reference_module), "GRADER_SEED": str(run.seed),
        "GRADER_CHECK_TIMEOUT": str(run.check_timeout), "GRADER_WALL_FACTOR": str(run.wall_factor),
        "GRADER_IMPORT_TIMEOUT": str(run.import_timeout), "GRADER_STUDENT_PROCESS": "1" if run.student_process else "0",
        **({"GRADER_STUDENT_DATA": run.student_data} if run.student_data else {}),
        **({KEY_ENV: run.hidden_key} if run.hidden_key else {}), **extra,
    }, threads=run.threads, data=run.hidden_data)




@dataclasses.dataclass
class Workspace:
    """The folders and settings every attempt of one submission's checks shares.

    Attributes
    ----------
    home : Path
        The check process's home: the only folder it writes (besides ``write``).
    ctl : Path
        The grader's control folder (policy, event files, the list of checks done).
    ini : Path
        pytest's empty configuration.
    read : list of str
        What the check process may read.
    write : list of str
        Extra folders it may write (a shared numba cache).
    env : dict
        Extra environment variables (the answers module, the executed notebook's folder, ...).
    """

    home: Path
    ctl: Path
    ini: Path
    read: list[str]
    write: list[str]
    env: dict[str, str]

    @property
    def done(self) -> Path:
        """The file listing the checks earlier attempts have results for (the plugin skips them)."""
        return self.ctl / "done.txt"


@dataclasses.dataclass
class Attempt:
    """What one run of the check process left.

    Attributes
    ----------
    reason : str
        Why it ended, in words: the watchdog's reason, a stuck check, or the exit status.
    cpu_seconds : float
        CPU seconds of its process tree.
    events : list of dict
        The valid events of its result channel.
    results : dict
        ``nodeid -> result event`` it produced.
    tainted : set of str
        Nodeids whose results were forged or contradicted.
    anomalies : list of str
        Signs of tampering on the channel.
    protections : dict
        The sandbox report (``{}`` when it wrote none).
    """

    reason: str
    cpu_seconds: float
    events: list[dict]
    results: dict[str, dict]
    tainted: set[str]
    anomalies: list[str]
    protections: dict


def _spawn(run: CheckRun, ws: Workspace, events_path: Path, exclude: dict[str, str],
           sink: CappedSink) -> subprocess.Popen:
    """Start the check process under the sandbox, its output into ``sink``, its events into ``events_path``."""
    events_fd = os.open(events_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    extra = {**ws.env, "GRADER_RESULTS_FD": str(events_fd), "GRADER_DONE": str(ws.done),
             "GRADER_EXCLUDE_CELLS": json.dumps(exclude)}
    # the report is written after the rules apply, so it goes to the writable home
    policy = Policy(workdir=str(ws.home), read=ws.read, write=ws.write, network=False, threads=run.threads,
                    cpus=list(run.cpus) if run.cpus else None, address_space=None,
                    report=str(ws.home / ".sandbox.json"))
    pol = policy.save(ws.ctl / "policy.json")
    cmd = [sys.executable, "-m", "grader.sandbox", str(pol), "--", *pytest_command(run, ws.ini)]
    try:
        return subprocess.Popen(cmd, cwd=str(ws.home), env=check_env(run, ws.home, extra), stdout=sink.fd,
                                stderr=sink.fd, start_new_session=True, pass_fds=(events_fd,))
    finally:
        os.close(events_fd)
        sink.started()


def _follow(proc: subprocess.Popen, dog: Watchdog, channel: Channel, detector: StallDetector) -> str | None:
    """Read the channel while the process runs; kill it when the channel floods or a check is stuck.

    Returns
    -------
    str or None
        Why a check was stuck, if one was.
    """
    while proc.poll() is None:
        time.sleep(0.1)
        new = channel.poll()
        if channel.overflowed:
            dog.kill("the result channel was flooded")
            return None
        stalled = detector.update(new, dog.cpu.total if dog.cpu else 0.0)
        if stalled:
            dog.kill(stalled)
            return stalled
    return None


def run_attempt(run: CheckRun, checks: list[dict], ws: Workspace, *, number: int, done: set[str],
                exclude: dict[str, str], cpu_left: float, wall_left: float, log: IO[str]) -> Attempt:
    """Run the check process once, for the checks not in ``done``.

    Parameters
    ----------
    run : CheckRun
    checks : list of dict
        The graded checks.
    ws : Workspace
    number : int
        The attempt's number, from 0.
    done : set of str
        Nodeids that have results already.
    exclude : dict
        Answer cells not to import (``grade_id -> reason``): they ended an earlier attempt.
    cpu_left, wall_left : float
        CPU and wall-clock seconds the attempt may use.
    log : file
        The student's log (instructor-facing).

    Returns
    -------
    Attempt
    """
    events_path = ws.ctl / f"events-{number}.jsonl"
    ws.done.write_text("\n".join(sorted(done)))
    log.write(f"[checks] attempt {number + 1}: {len({c['nodeid'] for c in checks} - done)} check(s) to run\n")
    log.flush()
    sink = CappedSink(log, LOG_LIMIT)
    proc = _spawn(run, ws, events_path, exclude, sink)
    dog = Watchdog(memory=run.memory, cpu_seconds=cpu_left, seconds=wall_left,
                   label="the checks").watch(proc.pid)
    channel = Channel(events_path, checks, done=set(done))
    try:
        stalled = _follow(proc, dog, channel, StallDetector(checks, run.check_timeout, run.wall_factor))
        code = proc.wait()
    finally:
        dog.stop()
        kill_tree(proc.pid)
        sink.close()
    cpu = dog.cpu.total if dog.cpu else 0.0
    channel.close()
    return Attempt(reason=dog.reason or stalled or describe_exit(code), cpu_seconds=cpu, events=channel.events,
                   results=channel.results, tainted=channel.tainted, anomalies=channel.anomalies,
                   protections=read_report(ws.home / ".sandbox.json"))


class StallDetector:
    """Notices a check stuck in C code, where the in-process timers cannot act.

    The in-process limit stops Python code when the check passes its CPU budget; this
    catches code that does not return to Python: past twice the limit in CPU seconds of the
    check process tree, or past the wall-clock backstop, plus a grace period.

    Parameters
    ----------
    checks : list of dict
        The graded checks (``nodeid``, ``name``, optional ``timeout``).
    default : float
        CPU seconds of a check without a timeout of its own.
    wall_factor : float
        The wall-clock backstop, as a multiple of a check's limit.
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
