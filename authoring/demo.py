"""The demo class: ``python -m authoring demo`` writes ``examples/submitted/`` from the masters.

For every master notebook ``solutions/<assignment>.ipynb`` five students submit::

    ada-reference   the reference solution
    ben-stub        the untouched student notebook (nothing answered)
    cleo-partial    the first half of the answer cells solved, the rest left as stubs
    dev-mistake     the reference with one realistic mistake from tests/validity/<short>_mistakes.py:
                    the first of its DEMO_MISTAKES that it holds, else its first MISTAKES entry
                    (skipped while that library does not exist)
    eve-crash       the reference whose kernel dies a third of the way through

Outputs are stripped and cell ids kept, so regenerating gives the same files (a test checks
that the committed demo class matches the masters). ``make grade`` grades it.
"""
from __future__ import annotations

import argparse
import copy
import shutil
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

from authoring.cases import cases_of, load_library
from authoring.notebooks import student_notebook
from grader.assignments import SOLUTIONS
from grader.context import REPO, short_name
from grader.notebook import cells_of, strip_outputs

__all__ = ["add_arguments", "generate", "run"]

HELP = "regenerate the demo class in examples/submitted/ from solutions/"
DEMO_STUDENTS = ("ada-reference", "ben-stub", "cleo-partial", "dev-mistake", "eve-crash")
VALIDITY = REPO / "tests" / "validity"


def _student_notebook(master: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return student_notebook(copy.deepcopy(master))


def _mistake(short: str, validity: Path) -> tuple | None:
    library = load_library(validity / f"{short}_mistakes.py")
    if library is None:
        return None
    mistakes = cases_of(library, "MISTAKES")
    for want in getattr(library, "DEMO_MISTAKES", ()):
        for m in mistakes:
            if m[0] == want:
                return m
    return mistakes[0] if mistakes else None


def _with_cell(nb: nbformat.NotebookNode, grade_id: str, source: str) -> nbformat.NotebookNode:
    for c in nb.cells:
        if (c.get("metadata", {}).get("nbgrader") or {}).get("grade_id") == grade_id:
            c.source = source
            return nb
    raise KeyError(f"no cell {grade_id!r}")


def students_for(master: nbformat.NotebookNode, assignment: str, validity: Path) -> dict[str, nbformat.NotebookNode]:
    """``student -> notebook`` of the demo class for one assignment."""
    stub = _student_notebook(master)
    answers = [c.grade_id for c in cells_of(master) if c.role == "answer"]
    stub_src = {c.grade_id: c.source for c in cells_of(stub) if c.role == "answer"}
    out = {"ada-reference": copy.deepcopy(master), "ben-stub": stub}
    partial = copy.deepcopy(master)
    for gid in answers[(len(answers) + 1) // 2:]:
        _with_cell(partial, gid, stub_src[gid])
    out["cleo-partial"] = partial
    mistake = _mistake(short_name(assignment), validity)
    if mistake is not None:
        out["dev-mistake"] = _with_cell(copy.deepcopy(master), mistake[1], mistake[2])
    crash = copy.deepcopy(master)
    provided = [i for i, c in enumerate(cells_of(crash)) if c.role == "provided"]
    at = provided[len(provided) // 3] if provided else len(crash.cells)
    cell = new_code_cell("# the kernel dies here (as when a notebook runs out of memory)\nimport os\nos._exit(1)")
    cell.id = "demo-crash"
    crash.cells.insert(at, cell)
    out["eve-crash"] = crash
    return {k: strip_outputs(v) for k, v in out.items()}


def generate(solutions: Path = SOLUTIONS, out: Path = REPO / "examples" / "submitted",
             validity: Path = VALIDITY, *, assignments: list[str] | None = None) -> list[Path]:
    """Write the demo class for every master in ``solutions``; returns the files written.

    The demo students' folders are replaced as a whole (stale submissions disappear); other
    folders in ``out`` are left alone.
    """
    written = []
    masters = [m for m in sorted(Path(solutions).glob("*.ipynb")) if assignments is None or m.stem in assignments]
    for student in DEMO_STUDENTS:
        if (out / student).is_dir():
            shutil.rmtree(out / student)
    for path in masters:
        assignment = path.stem
        master = nbformat.read(path, as_version=4)
        for student, nb in students_for(master, assignment, validity).items():
            target = out / student / assignment / f"{assignment}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
            written.append(target)
    return written


def add_arguments(p: argparse.ArgumentParser) -> None:
    """``python -m authoring demo``'s options."""
    p.add_argument("--solutions", type=Path, default=SOLUTIONS)
    p.add_argument("--out", type=Path, default=REPO / "examples" / "submitted")
    p.add_argument("--assignments", default=None, help="comma-separated (default: every master)")


def run(args: argparse.Namespace) -> int:
    """Write the demo class."""
    files = generate(args.solutions, args.out,
                     assignments=args.assignments.split(",") if args.assignments else None)
    for f in files:
        print(f.relative_to(args.out.parent) if f.is_relative_to(args.out.parent) else f)
    print(f"demo class: {len(files)} notebooks in {args.out}; grade it with `make grade`")
    return 0
