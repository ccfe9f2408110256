"""Tamper-proof extraction: the answers module of a submission and the notebook to execute.

The **answers module** is the concatenation, in master order, of the master's ``api``
cells (always the master's text) and the answer cells (the submission's text, matched
by ``grade_id``). Nothing else of the submission reaches it, so edits to locked or test
cells cannot change the answer checks. Problems are reported, never raised:

* ``missing_answer`` — a master answer cell is not in the submission (deleted);
* ``renamed_answer`` — found under another id or without metadata, recognised by the
  names it defines; it is graded, with a warning;
* ``duplicated_answer`` — the same ``grade_id`` more than once; the last copy is graded
  (it is the one whose definitions win when the notebook runs top to bottom);
* ``extra_answer`` — an answer cell with an unknown ``grade_id``; ignored;
* ``edited_locked`` / ``deleted_locked`` — a locked cell differs from / is missing in the
  master; the executed notebook gets the master's version back (nbgrader does the same);
* ``magic_removed`` — IPython magics (``%...``, ``!...``) in an answer cell are commented
  out in the answers module.
"""
from __future__ import annotations

import ast
import copy
import dataclasses
import re
from typing import Any

from grader.notebook import Cell, cells_of

__all__ = ["AnswersSource", "CellSpan", "Problem", "build_answers", "defined_names", "execution_notebook"]

LOCKED_ROLES = ("api", "provided", "visible_check")


@dataclasses.dataclass(frozen=True)
class Problem:
    """A structural problem of a submission (student-facing ``message``)."""

    code: str
    grade_id: str | None
    message: str


@dataclasses.dataclass(frozen=True)
class CellSpan:
    """Where one notebook cell sits in the answers module (1-based, inclusive lines)."""

    grade_id: str
    role: str  # "api" or "answer"
    origin: str  # "master", "submission" or "missing"
    start: int
    end: int
    cell_index: int | None = None  # index in the submission notebook (answers) or master (api)


@dataclasses.dataclass
class AnswersSource:
    """The text of an answers module, where each cell sits in it, and the problems found."""

    text: str
    spans: list[CellSpan]
    problems: list[Problem]
    matched: int  # master answer cells found in the submission (by id or by recovery)
    expected: int  # master answer cells

    def to_json(self) -> dict:
        return {"spans": [dataclasses.asdict(s) for s in self.spans],
                "problems": [dataclasses.asdict(p) for p in self.problems],
                "matched": self.matched, "expected": self.expected}


def defined_names(source: str, *, imports: bool = False) -> set[str]:
    """Top-level names a cell defines (functions, classes, assigned names; with ``imports``, imported names too)."""
    try:
        tree = ast.parse(_strip_magics(source)[0])
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif imports and isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                for sub in ast.walk(t):
                    if isinstance(sub, ast.Name):
                        names.add(sub.id)
    return names


_MAGIC = re.compile(r"^(\s*)([%!].*)$")


def _strip_magics(source: str) -> tuple[str, bool]:
    """Comment out IPython magic / shell lines when the cell does not parse as Python."""
    try:
        ast.parse(source)
        return source, False
    except SyntaxError:
        pass
    lines, changed = [], False
    for line in source.splitlines():
        m = _MAGIC.match(line)
        if m:
            lines.append(f"{m.group(1)}pass  # [grader: IPython magic removed] {m.group(2)}")
            changed = True
        else:
            lines.append(line)
    return ("\n".join(lines), changed) if changed else (source, False)


def _norm(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def build_answers(master: Any, submission: Any | None, *, title: str = "answers") -> AnswersSource:
    """Build the answers module text of ``submission`` (or of the master when None).

    Parameters
    ----------
    master : nbformat.NotebookNode
        The master notebook (solutions/).
    submission : nbformat.NotebookNode or None
        The student's notebook; None builds the reference module from the master itself.
    title : str, keyword-only
        Put in the module's header comment.

    Returns
    -------
    AnswersSource
    """
    mcells = cells_of(master)
    scells = cells_of(submission) if submission is not None else mcells
    problems: list[Problem] = []
    master_answer_ids = {c.grade_id for c in mcells if c.role == "answer"}
    chosen, used = _match_by_id(mcells, scells, problems)
    _recover_renamed(mcells, scells, chosen, used, master_answer_ids, problems)
    for c in scells:
        if c.role == "answer" and c.index not in used and c.grade_id not in master_answer_ids:
            problems.append(Problem("extra_answer", c.grade_id,
                                    f"cell {c.index + 1} is marked as an answer cell with the unknown id "
                                    f"'{c.grade_id}'; it was ignored."))
    if submission is not None:
        problems.extend(_locked_problems(mcells, scells))
    text, spans = _module_text(mcells, chosen, title, submitted=submission is not None, problems=problems)
    matched = sum(1 for v in chosen.values() if v is not None)
    return AnswersSource(text=text, spans=spans, problems=problems, matched=matched, expected=len(chosen))


def _match_by_id(mcells: list[Cell], scells: list[Cell],
                 problems: list[Problem]) -> tuple[dict[str, Cell | None], set[int]]:
    """The submission's cell for each master answer cell, by ``grade_id`` (the last of duplicates).

    Returns
    -------
    chosen : dict
        ``grade_id -> cell`` (None: not found by its id).
    used : set of int
        Indexes of the submission's cells taken (duplicates included).
    """
    by_id: dict[str, list[Cell]] = {}
    for c in scells:
        if c.role == "answer" and c.grade_id is not None:
            by_id.setdefault(c.grade_id, []).append(c)
    used: set[int] = set()
    chosen: dict[str, Cell | None] = {}
    for mc in (c for c in mcells if c.role == "answer"):
        found = by_id.get(mc.grade_id or "", [])
        if len(found) > 1:
            problems.append(Problem("duplicated_answer", mc.grade_id,
                                    f"answer cell '{mc.grade_id}' appears {len(found)} times; the last "
                                    "copy was graded. Keep exactly one copy of each answer cell."))
        chosen[mc.grade_id or ""] = found[-1] if found else None
        used.update(c.index for c in found)
    return chosen, used


def _recover_renamed(mcells: list[Cell], scells: list[Cell], chosen: dict[str, Cell | None], used: set[int],
                     master_answer_ids: set[str | None], problems: list[Problem]) -> None:
    """Recover answer cells whose id changed or whose metadata was lost, by the names they define."""
    for mc in (c for c in mcells if c.role == "answer"):
        if chosen[mc.grade_id or ""] is not None:
            continue
        want = defined_names(mc.source)
        cands = [c for c in scells if c.cell_type == "code" and c.index not in used
                 and c.role in ("answer", "other")
                 and (c.grade_id is None or c.grade_id not in master_answer_ids)
                 and want and want <= defined_names(c.source)]
        if cands:
            c = cands[-1]
            used.add(c.index)
            chosen[mc.grade_id or ""] = c
            how = f"with id '{c.grade_id}'" if c.grade_id else "without its grading metadata"
            problems.append(Problem("renamed_answer", mc.grade_id,
                                    f"answer cell '{mc.grade_id}' was not found by its id; cell {c.index + 1} "
                                    f"({how}) defines {', '.join(sorted(want))} and was graded in its "
                                    "place. Do not delete or copy answer cells or edit their metadata."))
        else:
            problems.append(Problem("missing_answer", mc.grade_id,
                                    f"answer cell '{mc.grade_id}' is missing from the notebook (deleted?); "
                                    "its answers were graded as missing."))


def _cell_text(mc: Cell, chosen: dict[str, Cell | None], *, submitted: bool,
               problems: list[Problem]) -> tuple[str, str, int | None]:
    """(text, origin, cell index) of a master api or answer cell in the module (magics commented out)."""
    if mc.role == "api":
        return mc.source, "master", mc.index
    sc = chosen.get(mc.grade_id or "")
    if sc is None:
        return "", "missing", None
    text, changed = _strip_magics(sc.source)
    if changed:
        problems.append(Problem("magic_removed", mc.grade_id,
                                f"IPython magics or shell commands in answer cell '{mc.grade_id}' "
                                "were ignored; answer cells must be plain Python."))
    return text, "submission" if submitted else "master", sc.index


def _module_text(mcells: list[Cell], chosen: dict[str, Cell | None], title: str, *, submitted: bool,
                 problems: list[Problem]) -> tuple[str, list[CellSpan]]:
    """The module: a header, then each api and answer cell in master order under a banner line."""
    header = (f"# {title}: answers module built by the grader.\n"
              "# api cells come from the master notebook, answer cells from the submission.\n")
    parts = [header]
    line = header.count("\n") + 1
    spans: list[CellSpan] = []
    for mc in mcells:
        if mc.role not in ("api", "answer"):
            continue
        text, origin, idx = _cell_text(mc, chosen, submitted=submitted, problems=problems)
        banner = f"# %% [{mc.role}] cell '{mc.grade_id}' ({origin})\n"
        body = text.rstrip("\n") + "\n" if text.strip() else "pass\n"
        parts.append(banner)
        line += 1
        n = body.count("\n")
        spans.append(CellSpan(grade_id=mc.grade_id or "", role=mc.role, origin=origin,
                              start=line, end=line + n - 1, cell_index=idx))
        parts.append(body)
        line += n
    return "".join(parts), spans


def _locked_problems(mcells: list[Cell], scells: list[Cell]) -> list[Problem]:
    out = []
    sub = {}
    for c in scells:
        if c.grade_id is not None:
            sub.setdefault(c.grade_id, c)
    for mc in mcells:
        if mc.role not in LOCKED_ROLES or mc.grade_id is None:
            continue
        sc = sub.get(mc.grade_id)
        if sc is None:
            out.append(Problem("deleted_locked", mc.grade_id,
                               f"locked cell '{mc.grade_id}' was deleted; the grader put the original back."))
        elif _norm(sc.source) != _norm(mc.source):
            out.append(Problem("edited_locked", mc.grade_id,
                               f"locked cell '{mc.grade_id}' was edited; the grader used the original."))
    return out


def execution_notebook(master: Any, submission: Any) -> Any:
    """The notebook the grader executes: the submission with its locked cells restored.

    Locked cells (api, provided, visible checks) get the master's source back, deleted ones
    are re-inserted after the nearest preceding cell the two notebooks share, outputs are
    stripped. Everything else (answers, the student's own extra cells) stays as submitted.
    """
    nb = copy.deepcopy(submission)
    mcells = cells_of(master)
    locked = {c.grade_id: c for c in mcells if c.role in LOCKED_ROLES and c.grade_id}
    present: set[str] = set()
    for cell in nb.cells:
        gid = ((cell.get("metadata", {}) or {}).get("nbgrader") or {}).get("grade_id")
        if gid in locked and cell.get("cell_type") == master.cells[locked[gid].index].cell_type:
            cell["source"] = locked[gid].source
            cell["metadata"]["nbgrader"] = copy.deepcopy(master.cells[locked[gid].index].metadata["nbgrader"])
            present.add(gid)
    for mc in mcells:
        if mc.grade_id not in locked or mc.grade_id in present:
            continue
        pos = 0
        for prev in reversed(mcells[:mc.index]):
            ids = [((c.get("metadata", {}) or {}).get("nbgrader") or {}).get("grade_id") for c in nb.cells]
            if prev.grade_id and prev.grade_id in ids:
                pos = ids.index(prev.grade_id) + 1
                break
        nb.cells.insert(pos, copy.deepcopy(master.cells[mc.index]))
        present.add(mc.grade_id)
    for c in nb.cells:
        if c.get("cell_type") == "code":
            c["outputs"] = []
            c["execution_count"] = None
    return nb
