"""Grading through a Dask cluster (``--cluster``): the same grades as on one machine, and faults.

Every cluster here is on the loopback interface: ``local:N`` (a LocalCluster the client
starts) or a ``python -m dask scheduler`` / ``dask worker`` pair started by the test.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

import corpus
from conftest import LIMITS, REPO, grade, rows

SMALL = ["reference", "stub", "os_exit", "memory_hog", "linked_notebook", "renamed_file"]


def _records(out: Path) -> dict[str, int]:
    folder = out / corpus.ASSIGNMENT / "cache" / "records"
    return {p.stem: p.stat().st_mtime_ns for p in folder.glob("*.json")} if folder.is_dir() else {}


def _orphans() -> list[int]:
    return [p.pid for p in psutil.process_iter(["cmdline", "ppid"])
            if p.info["ppid"] == 1 and any(k in " ".join(p.info["cmdline"] or [])
                                           for k in ("grader.sandbox", "grader.worker", "forkserver"))]


def _cmd(subs: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "grader", "grade", corpus.ASSIGNMENT, "--submissions", str(subs), "--out", str(out),
            "--solutions", str(corpus.SOLUTIONS), "--checks", str(corpus.CHECKS), "--student-data",
            str(corpus.STUDENT_DATA), "--data-dir", str(corpus.HIDDEN_DATA), "--no-progress", "--json", *LIMITS,
            *extra]


def test_does_the_cluster_give_the_local_grades_byte_for_byte_and_resume(tmp_path, outside):
    """The same class graded locally and through ``--cluster local:2``: identical grades.csv
    (a notebook past its memory limit included),
    results and executed notebooks; a second cluster run sends nothing; ``--rescore`` on the
    cluster uses the client's cached executions and gives the same table again."""
    built = corpus.build_all(outside)
    subs = corpus.write_class(tmp_path / "submitted", built, SMALL)
    local, remote = tmp_path / "local", tmp_path / "remote"
    grade(subs, local, workers=2)
    summary = grade(subs, remote, "--cluster", "local:2")
    assert summary["graded"] == len(SMALL) + 1
    assert len(summary["cluster"]["workers"]) == 2
    # byte for byte, but for the memory peak a watchdog sampled (e.g. "1.1 GiB > 1.0 GiB": it
    # varies between any two runs, on one machine too)
    table = lambda out: re.sub(rb"\(\d+\.\d GiB > ", b"(peak > ",  # noqa: E731
                               (out / corpus.ASSIGNMENT / "grades.csv").read_bytes())
    # reference and renamed_file are the same bytes, graded at the same time by two workers: the
    # second execution stored must not pull the first from under its checks (both full marks)
    for s in ("reference", "renamed_file"):
        assert rows(local)[s]["test_result_saved"] == "2" and rows(local)[s]["test_runs_logged"] == "1"
    assert table(remote) == table(local)
    assert rows(remote)["reference"]["status"] == "ok"
    assert rows(remote)["memory_hog"]["status"] == "memory"  # the sandbox's limit, as on one machine
    for s in ("reference", "stub"):  # (a dying kernel's last execution_count is a race in both paths)
        executed = lambda out: (out / corpus.ASSIGNMENT / "executed" / f"{s}.ipynb").read_bytes()  # noqa: E731,B023
        assert executed(remote) == executed(local)
        assert sorted(p.name for p in (remote / corpus.ASSIGNMENT / "runs" / s).rglob("*")) == \
            sorted(p.name for p in (local / corpus.ASSIGNMENT / "runs" / s).rglob("*"))
    log = (remote / corpus.ASSIGNMENT / "logs" / "reference.log").read_text()
    assert "[cluster] graded on" in log and "executing the notebook" in log
    again = grade(subs, remote, "--cluster", "local:2")
    assert (again["graded"], again["skipped"]) == (0, len(SMALL) + 1)
    assert again["cluster"]["workers"] is None, "nothing to grade: the cluster is not even contacted"
    rescored = grade(subs, remote, "--cluster", "local:2", "--rescore")
    assert rescored["graded"] == len(SMALL) + 1 and table(remote) == table(local)
    log = (remote / corpus.ASSIGNMENT / "logs" / "reference.log").read_text()
    assert "using the cached execution" in log and "executing the notebook" not in log


def test_is_a_task_whose_worker_is_killed_graded_elsewhere(tmp_path, outside):
    """kill -9 of the Dask worker process grading a student: the scheduler runs the task again
    (the nanny restarts the worker), the batch completes with one row per student, and no
    kernel or grading process outlives the killed worker."""
    names = ["reference", "infinite_loop"]
    subs = corpus.write_class(tmp_path / "submitted", corpus.build_all(outside), names)
    out = tmp_path / "gb"
    scratch = tmp_path / "dask"  # the workers' folders: <scratch>/dask-scratch-space/worker-*/grader-<pid>/
    proc = subprocess.Popen(_cmd(subs, out, "--cluster", "local:2"), cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "DASK_TEMPORARY_DIRECTORY": str(scratch)})
    victim, deadline = None, time.monotonic() + 120
    while victim is None and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        for log in scratch.glob(f"*/*/grader-*/gradebook/{corpus.ASSIGNMENT}/logs/infinite_loop.log"):
            if "--- kernel output" in log.read_text():  # its kernel runs: kill the Dask worker process
                victim = psutil.Process(int(log.parents[3].name.split("-")[1]))
    assert victim is not None, "the infinite_loop task never started executing"
    victim.kill()
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr[-3000:]
    got = rows(out)
    assert sorted(got) == sorted([*names, "absent"])
    assert got["reference"]["status"] == "ok" and got["reference"]["total"] == got["reference"]["max"]
    assert got["infinite_loop"]["status"] == "problems", got["infinite_loop"]  # graded on the second try
    assert "CellTimeoutError" in got["infinite_loop"]["reason"]
    time.sleep(1)
    assert not _orphans(), "a kernel or grading process outlived the killed worker"


def test_does_a_killed_client_leave_nothing_running_and_resume(tmp_path, outside):
    """kill -9 of the client of a ``local:2`` cluster: its workers and their kernels stop, and
    the next run grades only the students without a record."""
    subs = corpus.write_class(tmp_path / "submitted", corpus.build_all(outside), SMALL)
    out = tmp_path / "gb"
    proc = subprocess.Popen(_cmd(subs, out, "--cluster", "local:2"), cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    client = psutil.Process(proc.pid)
    deadline = time.monotonic() + 120
    while len(_records(out)) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    family = client.children(recursive=True)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    gone, alive = psutil.wait_procs(family, timeout=15)
    assert not alive, f"processes of the killed client still run: {[p.cmdline()[:3] for p in alive]}"
    done = _records(out)
    assert 2 <= len(done) < len(SMALL) + 1, done
    assert not _orphans()
    summary = grade(subs, out, "--cluster", "local:2")
    assert summary["graded"] == len(SMALL) + 1 - len(done)
    after = _records(out)
    assert all(after[s] == t for s, t in done.items()), "finished students were graded again"
    assert set(rows(out)) == {*SMALL, "absent"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _other_kit(tmp_path: Path) -> dict:
    """The environment of a copy of the kit with one file changed (a kit one commit older)."""
    kit = tmp_path / "other-kit"
    for part in ("grader", "kit", "source_data", "reference", "tests/fixtures"):
        shutil.copytree(REPO / part, kit / part, ignore=shutil.ignore_patterns("cache", "__pycache__"))
    with open(kit / "kit" / "__init__.py", "a") as f:
        f.write("\n# a kit one commit older than the client's\n")
    return {"cwd": kit, "env": {**os.environ, "PYTHONPATH": str(kit), "TF_CPP_MIN_LOG_LEVEL": "2"}}


def _dask(*args: str, cwd: Path = REPO, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "dask", *args, "--no-dashboard"], cwd=cwd,
                            env=env or {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _scheduler(procs: list[subprocess.Popen], **where) -> str:
    port = _free_port()
    procs.append(_dask("scheduler", "--host", "127.0.0.1", "--port", str(port), **where))
    return f"tcp://127.0.0.1:{port}"


def _worker(procs: list[subprocess.Popen], address: str, *extra: str, **where) -> None:
    procs.append(_dask("worker", address, "--nthreads", "1", "--no-nanny", *extra, **where))


@pytest.fixture
def procs():
    """Dask processes a test starts; killed after it."""
    started: list[subprocess.Popen] = []
    yield started
    for p in started[::-1]:
        p.kill()
        p.wait()


def test_is_a_worker_of_another_kit_refused_before_and_during_a_batch(tmp_path, outside, procs):
    """A worker whose kit differs by one file. Joining after the version check, it refuses the
    task it is given; the task is sent again to the workers of this kit only, every student gets
    its real grade (no grader_error, no row graded by the other kit) and the log names the
    refusing worker. Present at the start of the next batch, it stops that batch before any
    task is sent, naming the worker and both versions."""
    names = ["infinite_loop", "reference", "stub"]  # infinite_loop keeps the good worker busy ~20 s
    subs = corpus.write_class(tmp_path / "submitted", corpus.build_all(outside), names)
    out = tmp_path / "gb"
    address, scratch = _scheduler(procs), tmp_path / "dask"
    _worker(procs, address, "--local-directory", str(scratch))
    client = subprocess.Popen(_cmd(subs, out, "--cluster", address), cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(scratch.rglob("logs/infinite_loop.log")) and time.monotonic() < deadline:
        time.sleep(0.1)  # the version check passed and the worker's only thread is busy
    assert client.poll() is None, client.communicate()[1][-3000:]
    _worker(procs, address, **_other_kit(tmp_path))  # idle: the scheduler gives it the next task
    stdout, stderr = client.communicate(timeout=300)
    assert client.returncode == 0, stderr[-3000:]
    got = rows(out)
    assert {s: got[s]["status"] for s in names} == {"infinite_loop": "problems", "reference": "ok", "stub": "problems"}, \
        stderr[-3000:]
    assert got["reference"]["total"] == got["reference"]["max"]
    assert re.search(r"refused by a worker with another kit .*; not sending to tcp://127\.0\.0\.1:\d+ \(version ", stderr), \
        stderr[-3000:]
    again = tmp_path / "gb-again"
    bad = grade(subs, again, "--cluster", address, check=False)
    assert bad["returncode"] == 2, bad["stderr"][-2000:]
    assert "1 of 2 cluster workers cannot grade" in bad["stderr"] and "tcp://127.0.0.1:" in bad["stderr"]
    assert "install the client's kit" in bad["stderr"]
    assert not _records(again)
    malformed = grade(subs, again, "--cluster", "local:zero", check=False)
    assert malformed["returncode"] == 2 and "local:N" in malformed["stderr"]
