"""Generate the student notebooks (``assignments/``) from the masters (``solutions/``).

The conversion is nbgrader's own ``generate_assignment`` pipeline, applied to each
notebook directly (no course directory, no database): lock cells, replace solution
regions by ``# YOUR CODE HERE`` / ``raise NotImplementedError()``, clear outputs,
validate the cell metadata, compute checksums, strip hidden tests and mark schemes.
The result is written with a fixed format, so regenerating is byte-identical and a
test can detect a stale or hand-edited student notebook.

Command line::

    python -m authoring notebooks generate   # rewrite assignments/*.ipynb (make assignments)
    python -m authoring notebooks check      # exit 1 if assignments/ is stale or leaks solutions
"""
from __future__ import annotations

import argparse
import copy
import logging
import os
import re
import sys
import tempfile
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from grader.assignments import SOLUTIONS
from grader.context import REPO
from grader.errors import GraderError

__all__ = ["ASSIGNMENTS", "AssignmentError", "add_arguments", "clean_master", "dumps", "generate", "leaked_lines",
           "run", "solution_lines", "student_notebook"]

HELP = "regenerate (generate) or verify (check) the student notebooks in assignments/ from solutions/"
ASSIGNMENTS = REPO / "assignments"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


class AssignmentError(GraderError, RuntimeError):
    """A master notebook cannot be turned into a student notebook (the message says which cell and why)."""


def _preprocessors() -> list:
    from nbgrader import preprocessors as pp

    # The order of nbgrader's GenerateAssignment converter, without the steps that need
    # a course directory (IncludeHeaderFooter, InstantiateTests, SaveCells).
    return [pp.LockCells(), pp.ClearSolutions(), pp.ClearOutput(), pp.CheckCellMetadata(),
            pp.ComputeChecksums(), pp.ClearHiddenTests(), pp.ClearMarkScheme(),
            pp.ComputeChecksums(), pp.CheckCellMetadata()]


def clean_master(nb: NotebookNode) -> NotebookNode:
    """Return a copy of ``nb`` without outputs, execution counts or volatile metadata."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in ("execution", "collapsed", "scrolled", "ExecuteTime"):
            cell.metadata.pop(key, None)
    nb.metadata.pop("widgets", None)
    return nb


def student_notebook(master: NotebookNode) -> NotebookNode:
    """Convert a master notebook into its student version.

    Parameters
    ----------
    master : NotebookNode
        A notebook with nbgrader cell metadata and ``### BEGIN SOLUTION`` markers.

    Returns
    -------
    NotebookNode
        The student notebook: solutions replaced by stubs, outputs cleared, checksums set.

    Raises
    ------
    AssignmentError
        When nbgrader rejects a cell (e.g. markers in a cell not marked as a solution).
    """
    nb = clean_master(master)
    resources: dict = {}
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    for step in _preprocessors():
        try:
            nb, resources = step.preprocess(nb, resources)
        except Exception as exc:  # nbgrader raises bare RuntimeError/ValueError
            raise AssignmentError(f"{type(step).__name__}: {exc}; fix the master notebook's cell "
                                  "metadata (see docs/authoring.md)") from exc
    return nb


def dumps(nb: NotebookNode) -> str:
    """Serialise a notebook the one way the kit writes notebooks (stable bytes)."""
    return nbformat.writes(nb, version=4) + "\n"


def solution_lines(master: NotebookNode) -> list[str]:
    """Non-trivial lines inside solution regions of ``master`` (for leak checks)."""
    lines = []
    for cell in master.cells:
        inside = False
        for line in cell.source.splitlines():
            stripped = line.strip()
            if stripped == BEGIN:
                inside = True
            elif stripped == END:
                inside = False
            elif inside and len(stripped) > 12 and not stripped.startswith("#"):
                lines.append(stripped)
    return lines


def leaked_lines(master: NotebookNode, student: NotebookNode) -> list[str]:
    """Solution lines of ``master`` that appear in ``student``'s code cells."""
    student_text = "\n".join(c.source for c in student.cells)
    visible = "\n".join(c.source for c in master.cells if not c.metadata.get("nbgrader", {}).get("solution"))
    return [ln for ln in solution_lines(master)
            if re.search(re.escape(ln), student_text) and ln not in visible]


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def generate(solutions: Path = SOLUTIONS, assignments: Path = ASSIGNMENTS, *, check: bool = False) -> list[str]:
    """Regenerate (or, with ``check``, compare) every student notebook.

    Parameters
    ----------
    solutions, assignments : Path
        Folders of master and student notebooks.
    check : bool, keyword-only
        Do not write; report what is stale instead.

    Returns
    -------
    list[str]
        Problems found (``check=True``) or the notebooks written.
    """
    problems, written = [], []
    masters = sorted(solutions.glob("*.ipynb"))
    for master_path in masters:
        master = nbformat.read(master_path, as_version=4)
        text = dumps(student_notebook(master))
        target = assignments / master_path.name
        if check:
            if dumps(clean_master(master)) != master_path.read_text(encoding="utf-8"):
                problems.append(f"{master_path} carries outputs or volatile metadata; run `make assignments`")
            if not target.is_file() or target.read_text(encoding="utf-8") != text:
                problems.append(f"{target} is stale; run `make assignments` and commit it")
            leaks = leaked_lines(master, nbformat.reads(text, as_version=4))
            if leaks:
                problems.append(f"{target} leaks solution code, e.g. {leaks[0]!r}")
        else:
            _write_atomic(master_path, dumps(clean_master(master)))
            _write_atomic(target, text)
            written.append(str(target.relative_to(REPO) if target.is_relative_to(REPO) else target))
    names = {p.name for p in masters}
    for orphan in sorted(assignments.glob("*.ipynb")):
        if orphan.name not in names:
            problems.append(f"{orphan} has no master in {solutions}; delete it")
    return problems if check else written


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``python -m authoring notebooks``'s argument."""
    parser.add_argument("cmd", choices=["generate", "check"])


def run(args: argparse.Namespace) -> int:
    """Generate or check; exit status 1 when check finds a problem."""
    result = generate(check=args.cmd == "check")
    if args.cmd == "check":
        for line in result:
            print(line, file=sys.stderr)
        print("assignments/ is up to date" if not result else f"{len(result)} problem(s)")
        return 1 if result else 0
    for path in result:
        print(f"wrote {path}")
    return 0
