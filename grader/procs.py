"""Process plumbing shared by the kernel, the check process and the workers.

One place for what every process that runs student code (or watches it) needs:

* :func:`die_with_parent` — the child is killed when its parent dies (Linux
  ``PR_SET_PDEATHSIG``), so that nothing outlives a killed grader;
* :func:`child_env` — the environment of a sandboxed child, built from an allowlist of
  the grader's own variables plus fixed settings and the caller's extras (nothing else of
  the grader's environment reaches student code);
* :func:`describe_exit` — a process's exit status in words, for reasons and logs.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["ALLOWED_ENV", "THREAD_VARS", "child_env", "describe_exit", "die_with_parent", "home_env", "libc",
           "seed_numba_cache", "thread_env"]

ALLOWED_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "SYSTEMROOT")
"""The grader's own environment variables a sandboxed child inherits."""

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "TF_NUM_INTRAOP_THREADS", "NUMBA_NUM_THREADS",
               "RAYON_NUM_THREADS")
"""The thread-pool variables of numeric libraries that :func:`thread_env` caps."""

_PR_SET_PDEATHSIG = 1
_SIGNAL_WORDS = {"SIGSEGV": "segmentation fault", "SIGKILL": "killed", "SIGABRT": "aborted",
                 "SIGBUS": "bus error", "SIGFPE": "arithmetic error"}


def libc() -> Any:
    """The C library through ``ctypes`` (``use_errno=True``: read failures with ``ctypes.get_errno``)."""
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def thread_env(threads: int) -> dict[str, str]:
    """Environment variables that cap the thread pools of numeric libraries.

    Parameters
    ----------
    threads : int
        Threads per library (TensorFlow's inter-op pool gets 1 or 2).

    Returns
    -------
    dict
    """
    env = {k: str(threads) for k in THREAD_VARS}
    env["TF_NUM_INTEROP_THREADS"] = str(max(1, min(2, threads)))
    return env


def die_with_parent() -> None:
    """Have the calling process killed (``SIGKILL``) when its parent dies.

    Linux only (``prctl(PR_SET_PDEATHSIG, SIGKILL)``); elsewhere it does nothing.

    Raises
    ------
    Exception
        Whatever ``ctypes`` raises when the C library cannot be loaded; callers that treat
        the protection as optional catch it.
    """
    if sys.platform != "linux":
        return
    libc().prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)


def child_env(extra: Mapping[str, str], *, threads: int, data: str | None = None) -> dict[str, str]:
    """The environment of a sandboxed child process (kernel or check process).

    Parameters
    ----------
    extra : mapping
        The caller's own variables (home, caches, ``GRADER_*``); they win over everything else.
    threads : int
        Threads per numeric library (:func:`thread_env`).
    data : str or None
        ``KIT_DATA_DIR`` of the child, if any.

    Returns
    -------
    dict
        Only :data:`ALLOWED_ENV` of the grader's environment, fixed settings (``Agg`` backend,
        hash seed 0, no bytecode, no user site, TensorFlow's log level), the data folder, the
        thread caps, then ``extra``.
    """
    env = {k: v for k, v in os.environ.items() if k in ALLOWED_ENV}
    env.update({
        "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
    })
    if data:
        env["KIT_DATA_DIR"] = str(data)
    env.update(thread_env(threads))
    env.update(extra)
    return env


def home_env(home: Path) -> dict[str, str]:
    """Home, temporary folder and library caches of a sandboxed Python process, all inside ``home``."""
    return {"HOME": str(home), "TMPDIR": str(home), "MPLCONFIGDIR": str(home / ".mpl"),
            "XDG_CACHE_HOME": str(home / ".cache"), "KERAS_HOME": str(home / ".keras"),
            "NUMBA_CACHE_DIR": str(home / ".cache" / "numba")}


def seed_numba_cache(source: Path | None, target: Path) -> None:
    """Copy a warm numba cache (made by trusted code) into a sandbox's own cache folder."""
    target.mkdir(parents=True, exist_ok=True)
    if source is not None and source.is_dir():
        import shutil

        shutil.copytree(source, target, dirs_exist_ok=True, symlinks=False)


def describe_exit(code: int | None) -> str:
    """A process's exit status in words.

    Parameters
    ----------
    code : int or None
        A ``returncode`` (negative: killed by that signal); None: unknown.

    Returns
    -------
    str
        E.g. ``"exit status 3"``, ``"killed by SIGSEGV, segmentation fault"``, ``"no exit status"``.
    """
    if code is None:
        return "no exit status"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        what = _SIGNAL_WORDS.get(name, "")
        return f"killed by {name}" + (f", {what}" if what else "")
    return f"exit status {code}"
