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


@pytest.fixture
def other_kit(tmp_path: Path):
    """A ``dask scheduler`` and a ``dask worker`` running a copy of the kit with one file changed."""
    kit = tmp_path / "other-kit"
    for part in ("grader", "kit", "source_data", "reference", "tests/fixtures"):
        shutil.copytree(REPO / part, kit / part, ignore=shutil.ignore_patterns("cache", "__pycache__"))
    with open(kit / "kit" / "__init__.py", "a") as f:
        f.write("\n# a kit one commit older than the client's\n")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(kit), "TF_CPP_MIN_LOG_LEVEL": "2"}
    procs = [subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], cwd=kit, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    procs.append(subprocess.Popen([sys.executable, "-m", "dask", "worker", f"tcp://127.0.0.1:{port}", "--nthreads", "1",
                                   "--no-dashboard", "--no-nanny"], cwd=kit, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL))
    yield f"tcp://127.0.0.1:{port}"
    for p in procs[::-1]:
        p.kill()
        p.wait()


def test_is_a_worker_with_another_kit_version_refused(tmp_path, outside, other_kit):
    """A worker whose kit differs by one file: the batch stops before sending any task, naming
    the worker and both versions; nothing is graded."""
    subs = corpus.write_class(tmp_path / "submitted", corpus.build_all(outside), ["reference"])
    out = tmp_path / "gb"
    bad = grade(subs, out, "--cluster", other_kit, check=False)
    assert bad["returncode"] == 2, bad["stderr"][-2000:]
    assert "cannot grade with this kit" in bad["stderr"] and "tcp://127.0.0.1:" in bad["stderr"]
    assert "install the client's kit" in bad["stderr"]
    assert not _records(out)
    malformed = grade(subs, out, "--cluster", "local:zero", check=False)
    assert malformed["returncode"] == 2 and "local:N" in malformed["stderr"]
