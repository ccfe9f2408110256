"""Reading notebooks and classifying their cells by nbgrader metadata.

The roles follow docs/authoring.md: ``answer`` (code, ``solution: true``), ``api``
(locked code tagged ``api``), ``provided`` (other locked code), ``visible_check``
(locked code with ``grade: true``), ``written`` (markdown ``solution: true, grade: true``),
``task`` (nbgrader task cells, manually graded) and ``other`` (no metadata).
"""
from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

import nbformat

from grader.errors import GraderError

__all__ = ["Cell", "NotebookUnreadable", "cell_role", "cells_of", "parts_of", "read_notebook", "read_master",
           "strip_outputs"]


class NotebookUnreadable(Exception):
    """A submission that cannot be read as a notebook; ``reason`` is student-facing."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


#: Bytes of a submitted notebook the grader reads at most (a notebook without outputs is ~100 KiB).
MAX_NOTEBOOK_BYTES = 64 << 20


def _read_submitted(path: str | os.PathLike) -> bytes:
    """The bytes of a submitted file: a regular file, not a link, at most MAX_NOTEBOOK_BYTES.

    A link could make the grader read, with its own rights, a file the student cannot read
    (another student's notebook, the hidden data).
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise NotebookUnreadable("the notebook is a symbolic link; submit the notebook file itself") from None
        raise NotebookUnreadable(f"the notebook file could not be read ({e.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise NotebookUnreadable("the notebook is not a regular file")
        if st.st_size > MAX_NOTEBOOK_BYTES:
            raise NotebookUnreadable(f"the notebook is {st.st_size / 2**20:.0f} MiB; at most "
                                     f"{MAX_NOTEBOOK_BYTES >> 20} MiB are graded (clear the outputs and save again)")
        return f.read(MAX_NOTEBOOK_BYTES + 1)


@dataclasses.dataclass(frozen=True)
class Cell:
    """One cell of a notebook as the grader sees it.

    Attributes
    ----------
    index : int
        Position in the notebook.
    role : str
        ``answer``, ``api``, ``provided``, ``visible_check``, ``written``, ``task`` or ``other``.
    grade_id : str or None
        nbgrader ``grade_id``.
    source : str
        Cell text.
    points : float
        nbgrader points (0 when absent).
    cell_type : str
        ``code``, ``markdown`` or ``raw``.
    """

    index: int
    role: str
    grade_id: str | None
    source: str
    points: float
    cell_type: str


def cell_role(cell: Any) -> str:
    """The role of an nbformat cell (see the module docstring)."""
    meta = cell.get("metadata", {}) or {}
    nb = meta.get("nbgrader") or {}
    if not isinstance(nb, dict):
        nb = {}
    tags = meta.get("tags") or []
    ctype = cell.get("cell_type")
    if nb.get("task"):
        return "task"
    if ctype == "code":
        if nb.get("solution"):
            return "answer"
        if nb.get("grade"):
            return "visible_check"
        if nb.get("locked"):
            return "api" if "api" in tags else "provided"
        return "other"
    if ctype == "markdown" and nb.get("solution") and nb.get("grade"):
        return "written"
    return "other"


def _points(cell: Any) -> float:
    nb = (cell.get("metadata", {}) or {}).get("nbgrader") or {}
    try:
        return float(nb.get("points") or 0)
    except (TypeError, ValueError):
        return 0.0


def cells_of(nb: Any) -> list[Cell]:
    """All cells of ``nb`` with their roles, in notebook order."""
    out = []
    for i, c in enumerate(nb.get("cells", [])):
        meta = c.get("metadata", {}) or {}
        nbm = meta.get("nbgrader") if isinstance(meta.get("nbgrader"), dict) else {}
        gid = nbm.get("grade_id") if nbm else None
        src = c.get("source", "")
        if isinstance(src, list):
            src = "".join(src)
        out.append(Cell(index=i, role=cell_role(c), grade_id=str(gid) if gid is not None else None,
                        source=src, points=_points(c), cell_type=c.get("cell_type", "")))
    return out


def parts_of(nb: Any) -> dict[str, tuple[int, str]]:
    """``grade_id -> (cell index, notebook part)`` for every cell of ``nb`` that has a grade_id.

    A part is the text of the last level-1 or level-2 markdown heading above the cell
    (``## Part 2 — An LSTM on the raw waveform``), ``""`` before the first one; the
    assignment's title (the first ``#`` heading) is not a part.
    """
    out: dict[str, tuple[int, str]] = {}
    part, titled = "", False
    for c in cells_of(nb):
        if c.cell_type == "markdown":
            for line in c.source.splitlines():
                if line.startswith("## ") or (line.startswith("# ") and titled):
                    part = line.lstrip("#").strip()
                elif line.startswith("# "):
                    titled = True
        if c.grade_id is not None:
            out.setdefault(c.grade_id, (c.index, part))
    return out


def read_notebook(path: str | os.PathLike) -> Any:
    """Read a submitted notebook, converting older formats to nbformat 4.

    Raises
    ------
    NotebookUnreadable
        With a student-facing reason: empty file, invalid JSON, not a notebook.
    """
    raw = _read_submitted(path)
    if not raw.strip():
        raise NotebookUnreadable("the notebook file is empty")
    try:
        data = json.loads(raw.decode("utf-8", errors="replace"))
    except json.JSONDecodeError as e:
        raise NotebookUnreadable(f"the notebook is not valid JSON (line {e.lineno}, column {e.colno}: "
                                 f"{e.msg}); was it saved by Jupyter?") from None
    if not isinstance(data, dict) or "cells" not in data and "worksheets" not in data:
        raise NotebookUnreadable("the file is JSON but not a Jupyter notebook (no cells)")
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
    except Exception as e:  # nbformat raises many types on odd input
        raise NotebookUnreadable(f"the notebook could not be parsed ({type(e).__name__}: {e})") from None
    for c in nb.cells:
        if not isinstance(c.get("source", ""), str):
            raise NotebookUnreadable("the notebook has a cell whose source is not text")
    return nb


def read_master(path: str | os.PathLike) -> Any:
    """Read a master notebook (solutions/); problems are the instructor's (GraderError)."""
    path = Path(path)
    if not path.is_file():
        raise GraderError(f"no master notebook at {path}; the master of an assignment must be "
                          "solutions/<assignment>.ipynb")
    try:
        return read_notebook(path)
    except NotebookUnreadable as e:
        raise GraderError(f"the master notebook {path} is unreadable: {e.reason}") from None


def strip_outputs(nb: Any) -> Any:
    """Remove outputs and execution counts in place; returns ``nb``."""
    for c in nb.cells:
        if c.get("cell_type") == "code":
            c["outputs"] = []
            c["execution_count"] = None
        c.get("metadata", {}).pop("execution", None)
    return nb


def file_digest(path: str | os.PathLike) -> str:
    """sha256 hex digest of a submitted file's bytes.

    Raises
    ------
    NotebookUnreadable
        For a link, a file that is not regular, or one over ``MAX_NOTEBOOK_BYTES``.
    """
    return hashlib.sha256(_read_submitted(path)).hexdigest()
