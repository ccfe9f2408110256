"""Scoring graded mutants against the unchanged master, and the mutation report.

:mod:`authoring.mutate` generates and grades the mutants; this module reads their grade
records (:class:`grader.record.Record`), decides each mutant's status (``killed``,
``surviving``, ``equivalent`` or ``error``), groups them by the check files that target their
cells and writes the report (its format: docs/authoring.md, "Mutation analysis").
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from authoring.mutants import Mutant
from grader.errors import GraderError
from grader.record import Record, Status

__all__ = ["STATUSES", "classify", "format_report", "group", "mutation_score", "read_reference"]

STATUSES = ("killed", "equivalent", "surviving", "error")


def _read(records: Path, name: str) -> Record:
    return Record.from_dict(json.loads((records / f"{name}.json").read_text(encoding="utf-8")))


def read_reference(records: Path, name: str, log: Path) -> dict[str, float]:
    """The answer checks' scores of the unchanged master, by node id.

    Parameters
    ----------
    records : Path
        The gradebook's ``cache/records`` folder.
    name : str
        The master's submission name.
    log : Path
        Its grading log, named in the error.

    Raises
    ------
    GraderError
        If the master itself could not be graded (a mutant's score would mean nothing).
    """
    ref = _read(records, name)
    if ref.status is Status.GRADER_ERROR:
        raise GraderError(f"the unchanged master could not be graded: {ref.reason}; see {log}")
    return {c.nodeid: c.score for c in ref.checks if not c.run}


def classify(mutants: list[Mutant], records: Path, reference: dict[str, float],
             equivalents: dict[str, str]) -> list[dict[str, Any]]:
    """One report row per mutant: its status and the checks that killed it.

    A mutant is ``killed`` when its answer checks total less than the reference's, ``error`` when
    the engine could not grade it, ``equivalent`` when it survives and ``equivalents`` names it,
    else ``surviving``. Its killers are the checks that scored less than on the reference.

    Parameters
    ----------
    mutants : list of Mutant
    records : Path
        The gradebook's ``cache/records`` folder (one ``<mutant id>.json`` per mutant).
    reference : dict
        :func:`read_reference`.
    equivalents : dict
        Mutant id → why it cannot be caught.

    Returns
    -------
    list of dict
        Keys ``id, cell, operator, line, description, status, killed_by, equivalent_reason, diff``.
    """
    needed = sum(reference.values()) - 1e-9
    rows = []
    for m in mutants:
        rec = _read(records, m.id)
        answers = [c for c in rec.checks if c.nodeid in reference]
        killers = sorted(c.nodeid for c in answers if c.score < reference[c.nodeid])
        if rec.status is Status.GRADER_ERROR:
            status = "error"
        elif sum(c.score for c in answers) < needed:
            status = "killed"
        else:
            status = "equivalent" if m.id in equivalents else "surviving"
        rows.append({"id": m.id, "cell": m.cell, "operator": m.operator, "line": m.line,
                     "description": m.description, "status": status, "killed_by": killers,
                     "equivalent_reason": equivalents.get(m.id), "diff": m.diff()})
    return rows


def mutation_score(killed: int, surviving: int) -> float | None:
    """killed / (killed + surviving), rounded to 4 places; None when there is nothing to score."""
    return round(killed / (killed + surviving), 4) if killed + surviving else None


def _file(nodeid: str) -> str:
    return Path(nodeid.split("::", 1)[0]).name


def group(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The rows grouped by check file, with each group's mutation score.

    A check file's group holds the mutants of every cell of which it killed at least one mutant;
    a cell of which no check file killed anything forms its own group.

    Returns
    -------
    dict
        Check file (or ``"(no check killed a mutant of cell …)"``) → ``cells``, ``generated``,
        one count per status, ``surviving_ids`` and ``score``; sorted by name.
    """
    cell_files: dict[str, set[str]] = {}
    for r in rows:
        cell_files.setdefault(r["cell"], set()).update(_file(k) for k in r["killed_by"])
    groups: dict[str, dict[str, Any]] = {}
    for r in rows:
        for g in sorted(cell_files[r["cell"]]) or [f"(no check killed a mutant of cell {r['cell']})"]:
            grp = groups.setdefault(g, {"cells": [], "generated": 0, **dict.fromkeys(STATUSES, 0),
                                        "surviving_ids": []})
            if r["cell"] not in grp["cells"]:
                grp["cells"].append(r["cell"])
            grp["generated"] += 1
            grp[r["status"]] += 1
            if r["status"] == "surviving":
                grp["surviving_ids"].append(r["id"])
    for grp in groups.values():
        grp["score"] = mutation_score(grp["killed"], grp["surviving"])
    return dict(sorted(groups.items()))


def format_report(report: dict, *, diffs: bool = True, equivalents_file: str = "equivalent_mutants.toml") -> str:
    """A readable Markdown summary of a :func:`authoring.mutate.run_mutation` report."""
    pct = lambda s: "n/a" if s is None else f"{100 * s:.0f} %"  # noqa: E731
    lines = [f"# Mutation analysis of {report['assignment']}", "",
             f"{report['sampled']} of {report['generated']} mutants graded ({report['graded_now']} submissions "
             f"graded now, the reference included; the rest from the cache) in {report['seconds']:.0f} s: "
             f"{report['killed']} killed, {report['surviving']} surviving, {report['equivalent']} equivalent, "
             f"{report['error']} grader errors; mutation score {pct(report['score'])}.", "",
             "| check file | cells | mutants | killed | equivalent | surviving | score |",
             "|---|---|---|---|---|---|---|"]
    for name, g in report["groups"].items():
        lines.append(f"| {name} | {', '.join(g['cells'])} | {g['generated']} | {g['killed']} | {g['equivalent']} "
                     f"| {g['surviving']} | {pct(g['score'])} |")
    for key, what in (("reference_failures", "checks the unchanged master fails (fix them first)"),
                      ("stale_equivalents", "stale entries in the equivalent-mutants file (no such mutant)"),
                      ("marked_equivalent_but_killed", "marked equivalent but killed (remove the entry)")):
        if report[key]:
            lines += ["", f"{what}: {', '.join(report[key])}"]
    survivors = [r for r in report["mutants"] if r["status"] == "surviving"]
    if survivors:
        lines += ["", "## Surviving mutants (gaps, or equivalent: mark them in "
                      f"<checks>/{report['assignment']}/{equivalents_file})"]
        for r in survivors:
            lines += ["", f"### {r['id']} — {r['description']} (line {r['line']})"]
            if diffs:
                lines += ["```diff", r["diff"].rstrip("\n"), "```"]
    return "\n".join(lines)
