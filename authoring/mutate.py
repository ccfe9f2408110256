"""Mutation analysis of the hidden checks: do they catch small slips in the master's answers?

``python -m authoring mutate ASSIGNMENT`` makes mutants of the master's answer cells
(:mod:`authoring.mutants`, with the operators of :mod:`authoring.operators`; each mutant is
the master with one answer cell changed once), writes them as a submissions folder ``WORK/submitted/<mutant id>/<assignment>/`` beside the
unchanged master (``reference``) and grades the lot answers-only with the real engine
(:func:`grader.batch.grade_assignment`: parallel workers, and a rerun regrades only mutants
whose notebook or the kit/check version changed). A mutant is **killed** when its total is
below the reference's; the checks that scored less than on the reference killed it.

The **mutation score** of a check file is killed / (killed + surviving) over the mutants of
the cells its checks target (the cells of which that file killed at least one mutant; a cell of which no check
file killed anything forms its own group). Mutants listed in
``<checks>/<assignment>/equivalent_mutants.toml`` (``"<mutant id>" = "why it cannot be
caught"``) are counted as equivalent and left out of the score; an entry whose id is not
generated any more is reported as stale. The report goes to ``bench/mutation-<assignment>.json``;
scoring and the report are :mod:`authoring.mutation_report`.
"""
from __future__ import annotations

import argparse
import copy
import json
import re
import shutil
import time
import tomllib
from pathlib import Path
from typing import Any

import nbformat

from authoring import mutation_report as report_
from authoring.mutants import Mutant, mutate_cell
from authoring.operators import OPERATORS
from grader.assignments import CHECKS, SOLUTIONS
from grader.batch import grade_assignment
from grader.config import Options
from grader.context import REPO
from grader.errors import GraderError
from grader.notebook import cells_of, read_master

__all__ = ["EQUIVALENTS_FILE", "add_arguments", "generate", "load_equivalents", "run",
           "run_mutation", "sample"]

HELP = "mutation analysis: do the hidden checks catch mutants of the master?"
ERROR_EXIT = 2  # the exit status on a GraderError (as `python -m grader` had)
EQUIVALENTS_FILE = "equivalent_mutants.toml"
REFERENCE = "reference"
_MUTANT_ID = re.compile(rf"[\w.-]+-(?:{'|'.join(OPERATORS)})-[0-9a-f]{{10}}")


def generate(master: Any, *, operators: list[str] | None = None, cells: list[str] | None = None) -> list[Mutant]:
    """The mutants of the master's answer cells, in notebook order.

    Parameters
    ----------
    master : nbformat.NotebookNode
        The master notebook.
    operators : list of str, optional, keyword-only
        Operator names (default: all of :data:`authoring.operators.OPERATORS`).
    cells : list of str, optional, keyword-only
        ``grade_id`` of the answer cells to mutate (default: all).

    Returns
    -------
    list of Mutant

    Raises
    ------
    GraderError
        For an unknown operator or a ``grade_id`` that is not an answer cell of the master.
    """
    answers = [c for c in cells_of(master) if c.role == "answer" and c.grade_id]
    known = [c.grade_id for c in answers]
    bad = [c for c in cells or [] if c not in known]
    if bad:
        raise GraderError(f"--cells: {', '.join(bad)} is not an answer cell of the master; use some of "
                          f"{', '.join(known)}")
    return [m for c in answers if cells is None or c.grade_id in cells
            for m in mutate_cell(c.grade_id, c.source, operators)]


def sample(mutants: list[Mutant], n: int) -> list[Mutant]:
    """The ``n`` mutants with the smallest hashes (the last part of the id), in their order.

    The same on every run, and spread over cells and operators.
    """
    keep = {m.id for m in sorted(mutants, key=lambda m: m.id.rsplit("-", 1)[1])[:n]}
    return [m for m in mutants if m.id in keep]


def load_equivalents(path: Path) -> dict[str, str]:
    """``mutant id -> reason`` from an equivalent-mutants file (empty when there is none).

    Raises
    ------
    GraderError
        When the file is not TOML of ``"<id>" = "<reason>"`` lines.
    """
    if not path.is_file():
        return {}
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise GraderError(f"{path} is not valid TOML ({e}); write one line per mutant: "
                          '"<mutant id>" = "<why it cannot be caught>"') from None
    bad = [k for k, v in doc.items() if not isinstance(v, str) or not v.strip()]
    if bad:
        raise GraderError(f"{path}: entry {bad[0]!r} needs a one-line reason as a string, "
                          f'e.g. "{bad[0]}" = "x[0:] is x[:]"')
    return dict(doc)


def _write_submissions(master: Any, mutants: list[Mutant], root: Path, assignment: str) -> None:
    """``root/<id>/<assignment>/<assignment>.ipynb`` for each mutant and the reference; others removed."""
    index = {c.grade_id: c.index for c in cells_of(master) if c.role == "answer"}
    wanted = {REFERENCE: master}
    for m in mutants:
        nb = copy.deepcopy(master)
        nb.cells[index[m.cell]].source = m.source
        wanted[m.id] = nb
    root.mkdir(parents=True, exist_ok=True)
    for old in root.iterdir():  # mutants of an earlier run that this one does not grade
        if old.name not in wanted and _MUTANT_ID.fullmatch(old.name) and old.is_dir():
            shutil.rmtree(old)
    for name, nb in wanted.items():
        path = root / name / assignment / f"{assignment}.ipynb"
        text = nbformat.writes(nb)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")


def run_mutation(assignment: str, *, operators: list[str] | None = None, cells: list[str] | None = None,
                 limit: int | None = None, workers: int = 2, work: Path | None = None, out: Path | None = None,
                 solutions: Path = SOLUTIONS, checks: Path = CHECKS,
                 hidden_data: Path | None = None, check_timeout: float = Options.check_timeout, progress: bool = True) -> dict:
    """Generate, grade and score the mutants of ``assignment``; write and return the report.

    Parameters
    ----------
    assignment : str
        e.g. ``"a2_text_generation"`` (master: ``solutions/<assignment>.ipynb``).
    operators, cells : list of str, optional, keyword-only
        See :func:`generate`.
    limit : int, optional, keyword-only
        Grade a deterministic sample of this many mutants (those with the smallest hashes, the
        last part of the id, so the sample spreads over cells and operators).
    workers : int, keyword-only
        Mutants graded in parallel.
    work : Path, optional, keyword-only
        Mutant submissions and their gradebook (the cache); default ``gradebook/mutants``.
    out : Path, optional, keyword-only
        The JSON report; default ``bench/mutation-<assignment>.json``.
    solutions, checks, hidden_data, check_timeout, progress
        As :class:`grader.config.Options`.

    Returns
    -------
    dict
        The report (see docs/authoring.md, "Mutation analysis").

    Raises
    ------
    GraderError
        For a bad option (unknown operator or cell, ``limit`` < 1) or an engine problem.
    """
    t0 = time.monotonic()
    if limit is not None and limit < 1:
        raise GraderError(f"--limit must be at least 1, got {limit}")
    master = read_master(solutions / f"{assignment}.ipynb")
    every = {m.id for m in generate(master)}
    mutants = generate(master, operators=operators, cells=cells)
    if limit is not None:
        mutants = sample(mutants, limit)
    work = (work or REPO / "gradebook" / "mutants").resolve()
    equivalents = load_equivalents(checks / assignment / EQUIVALENTS_FILE)
    _write_submissions(master, mutants, work / "submitted", assignment)
    summary = grade_assignment(Options(assignment=assignment, submissions=work / "submitted",
                                       out=work / "gradebook", workers=workers, answers_only=True,
                                       solutions=solutions, checks=checks, hidden_data=hidden_data,
                                       check_timeout=check_timeout, progress=progress))
    records = work / "gradebook" / assignment / "cache" / "records"
    reference = report_.read_reference(records, REFERENCE, work / "gradebook" / assignment / "logs" / "reference.log")
    rows = report_.classify(mutants, records, reference, equivalents)
    counts = {s: sum(r["status"] == s for r in rows) for s in report_.STATUSES}
    report = {"assignment": assignment, "generated": len(every), "sampled": len(mutants),
              "graded_now": summary["graded"],
              **counts, "score": report_.mutation_score(counts["killed"], counts["surviving"]),
              "reference_score": sum(reference.values()),
              "operators": operators or list(OPERATORS), "cells": cells, "limit": limit,
              "stale_equivalents": sorted(set(equivalents) - every),
              "marked_equivalent_but_killed": sorted(r["id"] for r in rows
                                                     if r["status"] == "killed" and r["id"] in equivalents),
              "reference_failures": summary.get("reference_failures", []),
              "seconds": round(time.monotonic() - t0, 2), "grading_seconds": summary["seconds"],
              "seconds_per_graded": round(summary["seconds"] / summary["graded"], 2) if summary["graded"] else None,
              "groups": report_.group(rows), "mutants": rows}
    out = out or REPO / "bench" / f"mutation-{assignment}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    report["report"] = str(out)
    return report


def add_arguments(m: argparse.ArgumentParser) -> None:
    """``python -m authoring mutate``'s options."""
    m.add_argument("assignment", help="the assignment whose master is mutated (solutions/<assignment>.ipynb)")
    m.add_argument("--operators", default=None,
                   help=f"comma-separated operators (default: all): {','.join(OPERATORS)}")
    m.add_argument("--cells", default=None, help="comma-separated answer cells (grade_id) to mutate (default: all)")
    m.add_argument("--limit", type=int, default=None, help="grade a deterministic sample of N mutants")
    m.add_argument("--workers", type=int, default=2, help="mutants graded in parallel (default 2)")
    m.add_argument("--out", type=Path, default=None, help="JSON report (default bench/mutation-<assignment>.json)")
    m.add_argument("--work", type=Path, default=REPO / "gradebook" / "mutants",
                   help="mutant submissions and their gradebook, the cache (default gradebook/mutants)")
    m.add_argument("--check-timeout", type=float, default=Options.check_timeout,
                   help=f"default CPU seconds per check (default {Options.check_timeout:g})")
    m.add_argument("--no-diffs", action="store_true", help="list surviving mutants without their diffs")
    m.add_argument("--no-progress", action="store_true", help="no progress bar")
    m.add_argument("--solutions", type=Path, default=SOLUTIONS, help=argparse.SUPPRESS)
    m.add_argument("--checks", type=Path, default=CHECKS, help=argparse.SUPPRESS)
    m.add_argument("--data-dir", type=Path, default=None, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    """Run the mutation analysis and print its Markdown summary."""
    split = lambda s: [x for x in s.split(",") if x] if s else None  # noqa: E731
    report = run_mutation(args.assignment, operators=split(args.operators), cells=split(args.cells),
                          limit=args.limit, workers=args.workers, work=args.work, out=args.out,
                          solutions=args.solutions, checks=args.checks, hidden_data=args.data_dir,
                          check_timeout=args.check_timeout, progress=not args.no_progress)
    print(report_.format_report(report, diffs=not args.no_diffs, equivalents_file=EQUIVALENTS_FILE))
    print(f"\nreport: {report['report']}")
    return 0
