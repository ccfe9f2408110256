"""Does ``python -m authoring bench`` measure grading against plain execution and say where the time went?"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import corpus
from conftest import REPO


def test_does_the_benchmark_write_timings_and_a_breakdown(tmp_path: Path, outside: Path) -> None:
    subs = corpus.write_class(tmp_path / "submitted", corpus.build_all(outside), ["reference", "stub"])
    out = tmp_path / "bench.json"
    out.write_text(json.dumps({"kept": 1}))  # keys written by other tools survive
    cmd = [sys.executable, "-m", "authoring", "bench", "--out", str(out), "--submissions", str(subs),
           "--assignments", corpus.ASSIGNMENT, "--only", "plain,serial,rescore,boundary",
           "--solutions", str(corpus.SOLUTIONS), "--checks", str(corpus.CHECKS),
           "--student-data", str(corpus.STUDENT_DATA), "--data-dir", str(corpus.HIDDEN_DATA)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(out.read_text())
    assert doc["kept"] == 1
    a = doc["grading"]["assignments"][corpus.ASSIGNMENT]
    assert a["students"] == 2 and a["notebooks"] == 2
    assert set(a["plain_per_notebook"]) == {f"{s}/{corpus.ASSIGNMENT}/{corpus.ASSIGNMENT}.ipynb"
                                            for s in ("reference", "stub")}
    assert a["plain_seconds"] >= sum(a["plain_per_notebook"].values()) - 0.05
    # the stub is "not implemented"; the class also has a student who submitted nothing
    assert a["serial_statuses"] == {"ok": 1, "problems": 1, "no_submission": 1}
    assert a["serial_over_plain"] == round(a["serial_seconds"] / a["plain_seconds"], 3)
    parts = a["serial_breakdown"]
    assert parts["execution"] > 0 and parts["checks"] > 0 and parts["self_check"] > 0
    assert abs(parts["execution"] + parts["checks"] + parts["other"] - a["serial_seconds"]) < 0.05
    assert "parallel_seconds" not in a  # --only was honoured
    # rescoring reuses the executions: no notebook runs again (no timing comparison: the load decides those)
    assert a["rescore_seconds"] > 0 and a["rescore_breakdown"]["execution"] == 0
    assert a["rescore_breakdown"]["checks"] > 0
    assert a["rescore_seconds_per_student"] == round(a["rescore_seconds"] / 2, 2)
    # the boundary's cost: the same grades with the answers in the check process and in a student process
    assert a["rescore_boundary_statuses"] == a["rescore_in_check_process_statuses"] == a["serial_statuses"]
    assert a["boundary_seconds_per_student"] == round(a["rescore_boundary_seconds_per_student"]
                                                      - a["rescore_in_check_process_seconds_per_student"], 2)
    assert a["boundary_over_serial"] == round(a["boundary_seconds_per_student"] * 2 / a["serial_seconds"], 3)
