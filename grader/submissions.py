"""Finding students and their notebooks in an nbgrader ``submitted/`` folder.

Layout: ``<submissions>/<student>/<assignment>/<assignment>.ipynb``. When the notebook has
another name, the folder's only notebook is taken (and the renaming reported); with several,
the one named like the assignment, else the most recently modified one.
"""
from __future__ import annotations

import os
from pathlib import Path

from grader.errors import GraderError

__all__ = ["find_notebook", "students"]


def students(submissions: str | os.PathLike) -> list[str]:
    """Student folder names under ``submissions``, sorted.

    Raises
    ------
    GraderError
        If ``submissions`` is not a folder.
    """
    root = Path(submissions)
    if not root.is_dir():
        raise GraderError(f"submissions folder {root} does not exist; pass --submissions DIR laid out "
                          "as DIR/<student>/<assignment>/<assignment>.ipynb (nbgrader's submitted/)")
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def find_notebook(submissions: str | os.PathLike, student: str, assignment: str) -> tuple[Path | None, str]:
    """The notebook to grade and a note (empty, or why this file / why none).

    Returns
    -------
    path : Path or None
        None when the student has no notebook for ``assignment``.
    note : str
    """
    folder = Path(submissions) / student / assignment
    if not folder.is_dir():
        return None, f"no folder {assignment}/ in the submission"
    wanted = folder / f"{assignment}.ipynb"
    if wanted.is_file():
        return wanted, ""
    found = sorted(p for p in folder.glob("*.ipynb") if p.is_file() and not p.name.startswith("."))
    if not found:
        return None, f"no notebook in {assignment}/"
    if len(found) == 1:
        return found[0], f"the notebook is named {found[0].name}, not {assignment}.ipynb; graded anyway"
    latest = max(found, key=lambda p: p.stat().st_mtime)
    return latest, (f"{len(found)} notebooks in {assignment}/ and none named {assignment}.ipynb; "
                    f"graded the most recent, {latest.name}")
