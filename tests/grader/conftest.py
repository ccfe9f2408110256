"""Shared fixtures of the engine tests: the corpus class graded once per session."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
# small limits keep the suite fast; the infinite loop costs one cell timeout
LIMITS = ["--timeout", "40", "--cell-timeout", "5", "--memory", "1", "--check-timeout", "3"]


def grade(submissions: Path, out: Path, *extra: str, workers: int = 2, check: bool = True,
          env: dict | None = None) -> dict:
    """Run ``python -m grader grade t1_tiny`` on the fixture course; returns the JSON summary."""
    cmd = [sys.executable, "-m", "grader", "grade", corpus.ASSIGNMENT, "--submissions", str(submissions),
           "--out", str(out), "--solutions", str(corpus.SOLUTIONS), "--checks", str(corpus.CHECKS),
           "--student-data", str(corpus.STUDENT_DATA), "--data-dir", str(corpus.HIDDEN_DATA),
           "--workers", str(workers), "--no-progress", "--json", *LIMITS, *extra]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})})
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])
    return {"returncode": proc.returncode, "stderr": proc.stderr, "stdout": proc.stdout}


def rows(out: Path) -> dict[str, dict]:
    """grades.csv as ``student -> row``."""
    with open(out / corpus.ASSIGNMENT / "grades.csv", newline="") as f:
        return {r["student"]: r for r in csv.DictReader(f)}


@pytest.fixture(scope="session")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder outside every sandbox that hostile notebooks try to write to."""
    return tmp_path_factory.mktemp("outside")


@pytest.fixture(scope="session")
def corpus_class(tmp_path_factory: pytest.TempPathFactory, outside: Path) -> Path:
    """The corpus laid out as an nbgrader submitted/ folder."""
    root = tmp_path_factory.mktemp("submitted")
    return corpus.write_class(root, corpus.build_all(outside))


@pytest.fixture(scope="session")
def graded(tmp_path_factory: pytest.TempPathFactory, corpus_class: Path) -> tuple[Path, dict]:
    """The corpus graded once with 2 workers: (gradebook folder, summary)."""
    out = tmp_path_factory.mktemp("gradebook")
    summary = grade(corpus_class, out, env={"KIT_TEST_SECRET": corpus.ENV_SECRET})
    return out, summary
