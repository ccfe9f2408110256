"""Is a check process forked from the preloaded template what a fresh interpreter would be?

A helper process preloads TensorFlow as the workers' fork server does, starts the template
and runs one probe twice under the same sandbox policy, environment and folder: forked from
the template and as a fresh ``python -m grader.sandbox ... -- python -m probe``. The probe
reports what a check process could observe (path, environment, folders the libraries use,
thread pools, hash seed, signals, file descriptors, session, sandbox report) and leaves an
exit handler and an exit status; both runs must agree on all of it. And none of the grader's environment is in a
forked check process: not in ``/proc/PID/environ``, not anywhere in its memory.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = r'''
import atexit, json, os, signal, sys, tempfile, hashlib
import numpy as np
import keras, matplotlib
from keras.src.backend import config as kc
from threadpoolctl import threadpool_info
out = {
    "path": sys.path, "cwd": os.getcwd(), "env": dict(os.environ), "tmp": tempfile.gettempdir(),
    "keras_home": kc.keras_home(), "floatx": keras.config.floatx(),
    "image_data_format": keras.config.image_data_format(), "backend": keras.config.backend(),
    "mpl_config": matplotlib.get_configdir(), "mpl_cache": matplotlib.get_cachedir(),
    "mpl_backend": matplotlib.get_backend(),
    "pools": sorted((p["user_api"], p["num_threads"]) for p in threadpool_info()),
    "hash": hash("grader"), "sigint": str(signal.getsignal(signal.SIGINT)),
    "sigpipe": str(signal.getsignal(signal.SIGPIPE)), "sigterm": str(signal.getsignal(signal.SIGTERM)),
    "fds": sorted(int(f) for f in os.listdir("/proc/self/fd")), "own_session": os.getsid(0) == os.getpid(),
    "bytecode": sys.dont_write_bytecode, "affinity": sorted(os.sched_getaffinity(0)),
    "matmul": hashlib.sha256(np.linalg.inv(np.random.default_rng(0).normal(size=(64, 64))).tobytes()).hexdigest(),
    "report": json.load(open(".sandbox.json")),
}
print("probe says hello", flush=True)
os.write(int(os.environ["PROBE_FD"]), json.dumps(out).encode())
atexit.register(lambda: open("exit-handler-ran", "w").write("yes"))
sys.exit(3)
'''

HELPER = r'''
import json, os, subprocess, sys
from pathlib import Path
from grader.zygote import Template, preload, spawn_check_process
from grader.sandbox import Policy
from grader.procs import child_env
assert preload()
template = Template.start()
assert template is not None, "no template (preload or hash seed)"
root = Path(sys.argv[1])
results = {}
for how in ("forked", "fresh"):
    home = root / how
    home.mkdir()
    (home / "probe.py").write_text(Path(sys.argv[2]).read_text())
    policy = Policy(workdir=str(root), read=[], threads=1, cpus=[0], report=str(home / ".sandbox.json"))
    pol = policy.save(root / f"policy-{how}.json")
    cmd = [sys.executable, "-m", "grader.sandbox", str(pol), "--", sys.executable, "-m", "probe"]
    r, w = os.pipe()
    log = os.open(home / "out.txt", os.O_WRONLY | os.O_CREAT, 0o600)
    env = child_env({"HOME": str(home), "TMPDIR": str(home), "KERAS_HOME": str(home / ".keras"),
                     "MPLCONFIGDIR": str(home / ".mpl"), "XDG_CACHE_HOME": str(home / ".cache"),
                     "PROBE_FD": str(w)}, threads=1)
    if how == "forked":
        proc = template.spawn(cmd, cwd=str(home), env=env, stdout=log, pass_fds=(w,))
    else:
        proc = subprocess.Popen(cmd, cwd=str(home), env=env, stdout=log, stderr=log, start_new_session=True,
                                pass_fds=(w,))
    os.close(w)
    os.close(log)
    data = os.read(r, 1 << 20)
    code = proc.wait(timeout=120)
    results[how] = {"probe": json.loads(data or b"null"), "code": code,
                    "exit_handler": (home / "exit-handler-ran").exists(),
                    "out": (home / "out.txt").read_text()}
# a child killed by a signal reports it as Popen does; the template survives its children
policy = Policy(workdir=str(root), report=None).save(root / "policy-kill.json")
null = os.open(os.devnull, os.O_WRONLY)
proc = template.spawn([sys.executable, "-m", "grader.sandbox", str(policy), "--", sys.executable, "-m", "killer"],
                      cwd=str(root), env=child_env({}, threads=1), stdout=null)
(root / "killer.py").write_text("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n")
results["killed"] = proc.wait(timeout=120)

# the grader's environment (SECRET_MARKER) is nowhere in a forked child: not in /proc/PID/environ,
# not in its memory; the scan finds it in this process (the worker's role), where it is
def scan(pid):
    marker = os.environ["SECRET_MARKER"].encode()
    hits = []
    with open(f"/proc/{pid}/environ", "rb") as f:
        if marker in f.read():
            hits.append("environ")
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            parts = line.split()
            if not parts[1].startswith("rw"):
                continue
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            try:
                mem.seek(lo)
                if marker in mem.read(hi - lo):
                    hits.append(parts[5] if len(parts) > 5 else "anonymous")
            except (OSError, ValueError, OverflowError):
                continue
    return hits
(root / "waiter.py").write_text("import time\nprint('ready', flush=True)\ntime.sleep(600)\n")
r, w = os.pipe()
policy = Policy(workdir=str(root), report=None).save(root / "policy-wait.json")
proc = template.spawn([sys.executable, "-m", "grader.sandbox", str(policy), "--", sys.executable, "-m", "waiter"],
                      cwd=str(root), env=child_env({}, threads=1), stdout=w)
os.close(w)
assert os.read(r, 100).startswith(b"ready")
results["forked_hits"] = scan(proc.pid)
results["own_hits"] = scan(os.getpid())
__import__("grader.watchdog", fromlist=["kill_tree"]).kill_tree(proc.pid)
results["waiter"] = proc.wait(timeout=60)
print(json.dumps(results))
'''


@pytest.mark.skipif(sys.platform != "linux", reason="the template forks on Linux only")
def test_is_a_forked_check_process_what_a_fresh_interpreter_would_be(tmp_path):
    (tmp_path / "probe.txt").write_text(PROBE)
    (tmp_path / "helper.py").write_text(HELPER)
    run = tmp_path / "run"
    run.mkdir()
    env = {**os.environ, "PYTHONHASHSEED": "0", "KERAS_HOME": str(tmp_path / "grader-keras"), "MPLBACKEND": "pdf",
           "SECRET_MARKER": "grader-secret-" + os.urandom(16).hex()}
    # the grader's own Keras configuration must not reach the check process
    (tmp_path / "grader-keras").mkdir()
    (tmp_path / "grader-keras" / "keras.json").write_text(json.dumps({"floatx": "float64",
                                                                      "image_data_format": "channels_first"}))
    out = subprocess.run([sys.executable, str(tmp_path / "helper.py"), str(run), str(tmp_path / "probe.txt")],
                         env=env, capture_output=True, text=True, timeout=600, cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    forked, fresh = res["forked"], res["fresh"]
    assert fresh["probe"] is not None and forked["probe"] is not None, (forked["out"], fresh["out"])
    assert forked["code"] == fresh["code"] == 3
    assert forked["exit_handler"] and fresh["exit_handler"]
    assert "probe says hello" in forked["out"] and "probe says hello" in fresh["out"]
    a, b = forked["probe"], fresh["probe"]
    for probe, home in ((a, run / "forked"), (b, run / "fresh")):  # the same facts, each in its own folder
        for key in ("cwd", "tmp", "keras_home", "mpl_config", "mpl_cache"):
            probe[key] = probe[key].replace(str(home), "HOME")
        probe["path"] = [p.replace(str(home), "HOME") for p in probe["path"]]
        probe["env"] = {k: v.replace(str(home), "HOME") for k, v in probe["env"].items() if k != "PROBE_FD"}
        probe["report"]["applied"] = [s.replace(str(home), "HOME") for s in probe["report"]["applied"]]
    assert b["fds"][:3] == [0, 1, 2]
    a["fds"], b["fds"] = len(a["fds"]), len(b["fds"])   # as many, whatever their numbers
    for key in b:
        assert a[key] == b[key], (key, a[key], b[key])
    assert b["floatx"] == "float32" and b["image_data_format"] == "channels_last" and b["mpl_backend"].lower() == "agg"
    assert b["own_session"]
    assert res["killed"] == -11
    assert res["waiter"] == -9, "the waiter was scanned alive, then killed"
    assert res["own_hits"], "the scan finds the marker where it is"
    assert res["forked_hits"] == [], "the grader's environment reached a forked check process"
