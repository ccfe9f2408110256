"""Mutants of one answer cell: each operator's variants spliced into the cell's text.

A mutant changes exactly one node of the cell's solution region (the lines between
``### BEGIN SOLUTION`` and ``### END SOLUTION``; the whole cell when it has none). The
changed node's text is spliced into the original cell text, so comments and formatting
stay and the diff shows one line; a splice is kept only when it parses to the mutated tree
and compiles. The operators are those of :mod:`authoring.operators`.
"""
from __future__ import annotations

import ast
import copy
import dataclasses
import difflib
import hashlib

from authoring.operators import OPERATORS
from grader.errors import GraderError

__all__ = ["Mutant", "mutate_cell"]


@dataclasses.dataclass(frozen=True)
class Mutant:
    """One answer cell with one change.

    Attributes
    ----------
    id : str
        ``<cell>-<operator>-<hash>``; the hash covers cell, operator, location and replacement.
    cell : str
        ``grade_id`` of the mutated answer cell.
    operator : str
        A key of :data:`OPERATORS`.
    line : int
        Line of the change within the cell (1-based).
    description : str
        What changed, e.g. ``"`a < b` comparison -> `a <= b`"``.
    original, source : str
        The cell's text before and after.
    """

    id: str
    cell: str
    operator: str
    line: int
    description: str
    original: str
    source: str

    def diff(self) -> str:
        """Unified diff of the cell, original to mutant."""
        return "".join(difflib.unified_diff(self.original.splitlines(keepends=True),
                                            self.source.splitlines(keepends=True),
                                            f"{self.cell} (master)", f"{self.cell} ({self.id})", n=1))


def _regions(source: str) -> list[tuple[int, int]]:
    """1-based inclusive line ranges inside ``### BEGIN SOLUTION`` / ``### END SOLUTION``."""
    out, start = [], None
    for i, line in enumerate(source.splitlines(), 1):
        if line.strip().startswith("### BEGIN SOLUTION"):
            start = i + 1
        elif line.strip().startswith("### END SOLUTION") and start is not None:
            out.append((start, i - 1))
            start = None
    return out or [(1, source.count("\n") + 1)]


def _replace(tree: ast.AST, old: ast.AST, new: ast.AST | None, parents: dict) -> None:
    p = parents[old]
    for field, value in ast.iter_fields(p):
        if value is old:
            setattr(p, field, new)
        elif isinstance(value, list) and any(v is old for v in value):
            i = next(i for i, v in enumerate(value) if v is old)
            value[i] = new if new is not None else ast.Pass()


def _splice(source: str, node: ast.AST, text: str) -> str:
    lines = [ln.encode() for ln in source.splitlines(keepends=True)]
    start = sum(len(x) for x in lines[:node.lineno - 1]) + node.col_offset
    end = sum(len(x) for x in lines[:node.end_lineno - 1]) + node.end_col_offset
    raw = b"".join(lines)
    return (raw[:start] + text.encode() + raw[end:]).decode()


def mutate_cell(grade_id: str, source: str, operators: list[str] | None = None) -> list[Mutant]:
    """Every mutant of one answer cell, in source order, duplicates (same text) removed.

    Parameters
    ----------
    grade_id : str
        The cell's ``grade_id`` (part of each mutant id).
    source : str
        The master's cell text.
    operators : list of str, optional
        Keys of :data:`OPERATORS` (default: all).

    Returns
    -------
    list of Mutant
        Empty when the cell does not parse. Mutants that do not compile are left out.

    Raises
    ------
    GraderError
        For an unknown operator name.
    """
    ops = list(OPERATORS) if operators is None else operators
    bad = [o for o in ops if o not in OPERATORS]
    if bad:
        raise GraderError(f"unknown mutation operator {', '.join(bad)}; use some of {', '.join(OPERATORS)}")
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    regions = _regions(source)
    nodes = [n for n in ast.walk(tree) if hasattr(n, "lineno")
             and any(a <= n.lineno and n.end_lineno <= b for a, b in regions)]
    nodes.sort(key=lambda n: (n.lineno, n.col_offset, -n.end_lineno, -n.end_col_offset))
    seen = {ast.dump(tree)}
    out = []
    parents = {c: p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
    for name in OPERATORS:
        if name not in ops:
            continue
        for node in nodes:
            for new, what in list(OPERATORS[name](node, parents)):
                mutant = _build(tree, node, new, source, parents)
                if mutant is None or ast.dump(ast.parse(mutant)) in seen:
                    continue
                seen.add(ast.dump(ast.parse(mutant)))
                loc = f"{node.lineno}:{node.col_offset}:{node.end_lineno}:{node.end_col_offset}"
                h = hashlib.sha256(f"{grade_id}\0{name}\0{loc}\0{what}".encode()).hexdigest()[:10]
                out.append(Mutant(id=f"{grade_id}-{name}-{h}", cell=grade_id, operator=name, line=node.lineno,
                                  description=what, original=source, source=mutant))
    return sorted(out, key=lambda m: (m.line, list(OPERATORS).index(m.operator)))


def _build(tree: ast.AST, node: ast.AST, new: ast.AST | None, source: str, parents: dict) -> str | None:
    """The spliced cell text of one variant, or None when it does not reproduce the mutated tree."""
    t = copy.deepcopy(tree)
    index = {id(n): i for i, n in enumerate(ast.walk(tree))}[id(node)]
    tnode = list(ast.walk(t))[index]
    tparents = {c: p for p in ast.walk(t) for c in ast.iter_child_nodes(p)}
    _replace(t, tnode, copy.deepcopy(new), tparents)
    want = ast.dump(t)
    text = "pass" if new is None else ast.unparse(new)
    if isinstance(new, ast.Constant) and isinstance(new.value, str) and '"' not in new.value \
            and (ast.get_source_segment(source, node) or "").startswith('"'):
        text = f'"{new.value}"'  # keep the cell's quotes: unparse writes 'int64'
    for candidate in (text, f"({text})"):
        try:
            spliced = _splice(source, node, candidate)
            if ast.dump(ast.parse(spliced)) == want:
                compile(spliced, "<mutant>", "exec")
                return spliced
        except (SyntaxError, ValueError):
            continue
    return None
