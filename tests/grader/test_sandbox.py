"""Does the sandbox confine a process, and say what it could not enforce?"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.sandbox import Policy, landlock_abi

PROBE = '''
import json, os, socket, sys
out = {}
def attempt(name, fn):
    try:
        fn()
        out[name] = "allowed"
    except Exception as e:
        out[name] = type(e).__name__
attempt("read_secret", lambda: open(sys.argv[1]).read())
attempt("write_outside", lambda: open(sys.argv[2], "w").write("x"))
attempt("write_inside", lambda: open("inside.txt", "w").write("x"))
attempt("connect", lambda: socket.create_connection(("1.1.1.1", 80), timeout=2))
attempt("kill_parent", lambda: os.kill(os.getppid(), 0))
open("probe.json", "w").write(json.dumps(out))
'''


def _probe(tmp_path: Path, env: dict | None = None) -> tuple[dict, dict]:
    work = tmp_path / "work"
    work.mkdir()
    (work / "probe.py").write_text(PROBE)
    secret = tmp_path / "secret.txt"
    secret.write_text("hidden")
    policy = Policy(workdir=str(work), deny=[str(secret)], report=str(work / "report.json"))
    pfile = policy.save(tmp_path / "policy.json")
    subprocess.run([sys.executable, "-m", "grader.sandbox", str(pfile), "--", sys.executable, "-m", "probe",
                    str(secret), str(tmp_path / "outside.txt")], cwd=work, check=True, timeout=60,
                   env={**os.environ, **(env or {})})
    return json.loads((work / "probe.json").read_text()), json.loads((work / "report.json").read_text())


@pytest.mark.skipif(sys.platform != "linux" or landlock_abi() == 0, reason="needs Linux with Landlock")
def test_is_a_sandboxed_process_confined(tmp_path):
    out, report = _probe(tmp_path)
    assert out["read_secret"] == "PermissionError"
    assert out["write_outside"] == "PermissionError" and not (tmp_path / "outside.txt").exists()
    assert out["write_inside"] == "allowed"
    assert out["connect"] != "allowed"
    if landlock_abi() >= 6:
        assert out["kill_parent"] == "PermissionError"
    assert any("Landlock" in a for a in report["applied"])


def test_does_the_sandbox_degrade_and_say_so(tmp_path):
    out, report = _probe(tmp_path, {"GRADER_SANDBOX_DISABLE": "netns,landlock"})
    assert out["connect"] == "PermissionError"  # the audit hook
    assert any("audit hook" in a for a in report["applied"])
    assert any(u.startswith("network namespace") for u in report["unavailable"])
    assert any(u.startswith("Landlock") for u in report["unavailable"])
