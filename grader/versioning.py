"""The versions that decide what a batch may reuse: cached executions and final grades.

An execution is reused when the kit, the data code, the execution engine, the master
notebook and the limits are the same; a grade when, in addition, the checks, the engine and
the reference figures (the run checks' thresholds come from them) are.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from grader.assignments import Assignment
from grader.config import Options
from grader.context import REPO
from grader.execute import Limits
from grader.job import KIT_PACKAGES, Versions

__all__ = ["EXECUTION_CODE", "versions"]

#: The engine modules a notebook's execution depends on (a change re-executes).
EXECUTION_CODE = ("execute.py", "cells.py", "kernel.py", "procs.py", "sandbox.py", "landlock.py", "isolation.py",
                  "extract.py", "watchdog.py", "logsink.py", "notebook.py")


def _hash_files(paths: list[Path], h: "hashlib._Hash") -> None:
    for p in sorted(paths):
        if p.is_file() and "__pycache__" not in p.parts:
            h.update(str(p.name).encode())
            h.update(p.read_bytes())


def _tree(root: Path, patterns: tuple[str, ...] = ("*.py", "*.toml", "*.json", "*.tsv", "*.txt")) -> list[Path]:
    out: list[Path] = []
    for pat in patterns:
        out += [p for p in root.rglob(pat) if "cache" not in p.relative_to(root).parts]
    return out


def versions(opts: Options, assignment: Assignment, limits: Limits) -> Versions:
    """The execution and grade versions of ``assignment`` graded with ``opts`` and ``limits``."""
    h = hashlib.sha256()
    for pkg in KIT_PACKAGES:
        _hash_files(_tree(REPO / pkg), h)
    _hash_files([REPO / "grader" / f for f in EXECUTION_CODE], h)
    h.update(assignment.master.read_bytes())
    h.update(limits.key().encode())
    execution = h.hexdigest()
    g = hashlib.sha256(execution.encode())
    _hash_files(_tree(assignment.checks, ("*.py", "*.json", "*.txt", "*.npz", "*.npy")), g)
    _hash_files([opts.checks / "conftest.py", *(REPO / "grader").glob("*.py")], g)
    _hash_files([assignment.reference], g)
    g.update(f"answers_only={opts.answers_only}".encode())
    return Versions(execution=execution, grade=g.hexdigest())
