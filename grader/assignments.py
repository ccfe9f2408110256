"""Which assignments exist: discovered from the files, never listed in the engine.

An assignment ``<a>`` exists when its master notebook ``solutions/<a>.ipynb`` and its hidden
checks ``grader/checks/<a>/`` both do. Everything else about it (reference figures in
``reference/<a>.json``, its validity cases, its ``evaluate.py``) is found from that name.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from grader.context import REPO
from grader.errors import GraderError

__all__ = ["SOLUTIONS", "CHECKS", "REFERENCE", "Assignment", "discover", "find", "masters"]

SOLUTIONS = REPO / "solutions"
CHECKS = REPO / "grader" / "checks"
REFERENCE = REPO / "reference"


@dataclasses.dataclass(frozen=True)
class Assignment:
    """Where one assignment's files are.

    Attributes
    ----------
    name : str
        ``a1_example``: the master's file stem and the check folder's name.
    master : Path
        ``solutions/<name>.ipynb``.
    checks : Path
        ``grader/checks/<name>/``.
    reference : Path
        ``reference/<name>.json`` (the reference figures; may not exist yet).
    """

    name: str
    master: Path
    checks: Path
    reference: Path

    @property
    def short(self) -> str:
        """``a1_example`` -> ``a1`` (the folder name under artifacts/ and runs/)."""
        return self.name.split("_", 1)[0]


def discover(solutions: str | os.PathLike = SOLUTIONS, checks: str | os.PathLike = CHECKS) -> list[str]:
    """Names of the assignments that have both a master notebook and a check folder, sorted."""
    sol, chk = Path(solutions), Path(checks)
    return sorted(p.stem for p in sol.glob("*.ipynb") if (chk / p.stem).is_dir())


def masters(solutions: str | os.PathLike = SOLUTIONS) -> dict[str, Path]:
    """Every master notebook of ``solutions``, checks or not: ``name -> path``, sorted by name.

    A submission of one of them handed in as another assignment is a ``wrong_notebook``.
    """
    return {p.stem: p for p in sorted(Path(solutions).glob("*.ipynb"))}


def find(name: str, solutions: str | os.PathLike = SOLUTIONS, checks: str | os.PathLike = CHECKS,
         reference: str | os.PathLike = REFERENCE) -> Assignment:
    """The files of assignment ``name``.

    Raises
    ------
    GraderError
        If ``solutions/<name>.ipynb`` or ``grader/checks/<name>/`` is missing (the message lists
        the assignments that exist).
    """
    sol, chk = Path(solutions), Path(checks)
    master = (sol / f"{name}.ipynb").resolve()
    if not master.is_file():
        known = list(masters(sol))
        raise GraderError(f"unknown assignment {name!r}: no {master}; known: {', '.join(known) or 'none'}")
    if not (chk / name).is_dir():
        raise GraderError(f"no checks for {name!r}: {chk / name} does not exist; write the hidden checks there")
    return Assignment(name=name, master=master, checks=(chk / name).resolve(),
                      reference=(Path(reference) / f"{name}.json").resolve())
