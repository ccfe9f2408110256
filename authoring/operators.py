"""Mutation operators for answer cells: the slips a student makes, one at a time.

Why not a mutation library: mutmut 3.8, cosmic-ray 8.7 and mutatest 3.1 (PyPI) mutate
source files or byte code on disk and judge a mutant by the exit code of a test command;
their operators are generic (no ``axis``/``keepdims``, dtype or ``np.max``/``np.mean``
swaps) and their drivers keep their own state (a work database, a file lock on the
sources). Here a mutant is one notebook cell and the judge is the grading engine itself,
so a library would only contribute operators we would still have to extend. The operators
below are a few lines each over Python's :mod:`ast`.

A mutant changes exactly one node of the cell's solution region (the lines between
``### BEGIN SOLUTION`` and ``### END SOLUTION``; the whole cell when it has none). The
changed node's text is spliced into the original cell text, so comments and formatting
stay and the diff shows one line; a splice is kept only when it parses to the mutated tree
and compiles.
"""
from __future__ import annotations

import ast
import copy
import dataclasses
import difflib
import hashlib
from typing import Callable, Iterator

from grader.errors import GraderError

__all__ = ["OPERATORS", "Mutant", "mutate_cell"]

_CMP = {ast.Lt: [ast.LtE], ast.LtE: [ast.Lt], ast.Gt: [ast.GtE], ast.GtE: [ast.Gt], ast.Eq: [ast.NotEq],
        ast.NotEq: [ast.Eq], ast.Is: [ast.IsNot], ast.IsNot: [ast.Is], ast.In: [ast.NotIn], ast.NotIn: [ast.In]}
_ARITH = {ast.Add: [ast.Sub], ast.Sub: [ast.Add], ast.Mult: [ast.Div], ast.Div: [ast.Mult, ast.FloorDiv],
          ast.FloorDiv: [ast.Div], ast.Mod: [ast.FloorDiv], ast.Pow: [ast.Mult], ast.MatMult: [ast.Mult],
          ast.BitAnd: [ast.BitOr], ast.BitOr: [ast.BitAnd]}
_REDUCE = {"max": ["mean", "min"], "min": ["mean", "max"], "mean": ["max", "sum"], "sum": ["mean"],
           "argmax": ["argmin"], "argmin": ["argmax"], "maximum": ["minimum"], "minimum": ["maximum"],
           "reduce_max": ["reduce_mean", "reduce_min"], "reduce_min": ["reduce_mean", "reduce_max"],
           "reduce_mean": ["reduce_max", "reduce_sum"], "reduce_sum": ["reduce_mean"]}
_ANYALL = {"any": "all", "all": "any", "reduce_any": "reduce_all", "reduce_all": "reduce_any"}
_DTYPES = {"float64": "float32", "float32": "float64", "float16": "float32", "int64": "int32",
           "int32": "int64", "int16": "int32", "int8": "int32", "uint8": "int32", "bool": "int32",
           "bool_": "int32", "float": "int", "int": "float"}
_AXIS = ("axis", "dim")

Variant = tuple[ast.AST | None, str]  # (replacement node, or None to drop a statement; description)


def _rep(n: ast.AST) -> str:
    return ast.unparse(n)


def _with(node: ast.AST, **fields: object) -> ast.AST:
    new = copy.copy(node)
    for k, v in fields.items():
        setattr(new, k, v)
    return new


def _sym(op: ast.cmpop) -> str:
    return _rep(ast.Compare(ast.Name("a"), [op], [ast.Name("b")]))[2:-2]


def _arith_sym(op: ast.operator) -> str:
    return _rep(ast.BinOp(ast.Name("a"), op, ast.Name("b")))[2:-2]


def _int(n: ast.AST | None) -> int | None:
    """The value of an int literal (``-2`` too), else None."""
    if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub):
        v = _int(n.operand)
        return None if v is None else -v
    if isinstance(n, ast.Constant) and type(n.value) is int:
        return n.value
    return None


def _lit(v: int) -> ast.expr:
    return ast.Constant(v) if v >= 0 else ast.UnaryOp(ast.USub(), ast.Constant(-v))


def _op_compare(n: ast.AST, parents: dict) -> Iterator[Variant]:
    if isinstance(n, ast.Compare):
        for i, op in enumerate(n.ops):
            for new in _CMP.get(type(op), []):
                ops = list(n.ops)
                ops[i] = new()
                yield _with(n, ops=ops), f"`{_sym(op)}` -> `{_sym(ops[i])}`"


def _op_arith(n: ast.AST, parents: dict) -> Iterator[Variant]:
    if isinstance(n, (ast.BinOp, ast.AugAssign)):
        for new in _ARITH.get(type(n.op), []):
            yield _with(n, op=new()), f"`{_arith_sym(n.op)}` -> `{_arith_sym(new())}`"
    elif isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub) and _int(n) is None:
        yield n.operand, "unary minus dropped"


def _op_logic(n: ast.AST, parents: dict) -> Iterator[Variant]:
    if isinstance(n, ast.BoolOp):
        new = ast.Or() if isinstance(n.op, ast.And) else ast.And()
        yield _with(n, op=new), f"{type(n.op).__name__.lower()} -> {type(new).__name__.lower()}"
    elif isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.Not):
        yield n.operand, "`not` dropped"
    elif isinstance(n, ast.Constant) and type(n.value) is bool:
        yield ast.Constant(not n.value), f"{n.value} -> {not n.value}"


def _op_constant(n: ast.AST, parents: dict) -> Iterator[Variant]:
    v = _int(n)
    p = parents.get(n)
    if v is None or isinstance(p, ast.Slice) or (isinstance(p, ast.UnaryOp) and _int(p) is not None):
        return
    for w in (v + 1, v - 1):
        yield _lit(w), f"{v} -> {w}"


def _op_slice(n: ast.AST, parents: dict) -> Iterator[Variant]:
    if not isinstance(n, ast.Slice):
        return
    for field in ("lower", "upper", "step"):
        b = getattr(n, field)
        if b is None:
            continue
        yield _with(n, **{field: None}), f"slice {field} bound `{_rep(b)}` dropped"
        if field == "step":
            continue
        v = _int(b)
        for d in (1, -1):
            if v is not None:
                new = _lit(v + d)
                if field == "lower" and v + d == 0:
                    continue  # x[0:] is x[:]
            else:
                new = ast.BinOp(b, ast.Add() if d > 0 else ast.Sub(), ast.Constant(1))
            yield _with(n, **{field: new}), f"slice {field} bound `{_rep(b)}` -> `{_rep(new)}`"


def _name(f: ast.AST) -> str | None:
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None


def _renamed(f: ast.AST, new: str) -> ast.AST:
    return _with(f, attr=new) if isinstance(f, ast.Attribute) else _with(f, id=new)


def _op_axis(n: ast.AST, parents: dict) -> Iterator[Variant]:
    if not isinstance(n, ast.Call):
        return
    names = [k.arg for k in n.keywords]
    for i, k in enumerate(n.keywords):
        if k.arg in _AXIS:
            yield _with(n, keywords=n.keywords[:i] + n.keywords[i + 1:]), f"`{k.arg}=` dropped"
        elif k.arg == "keepdims" and isinstance(k.value, ast.Constant) and type(k.value.value) is bool:
            kw = ast.keyword("keepdims", ast.Constant(not k.value.value))
            yield (_with(n, keywords=n.keywords[:i] + [kw] + n.keywords[i + 1:]),
                   f"keepdims={k.value.value} -> {not k.value.value}")
    if "keepdims" not in names and any(a in names for a in _AXIS):
        yield _with(n, keywords=n.keywords + [ast.keyword("keepdims", ast.Constant(True))]), "keepdims=True added"


def _op_dtype(n: ast.AST, parents: dict) -> Iterator[Variant]:
    p = parents.get(n)
    as_dtype = isinstance(p, ast.keyword) and p.arg == "dtype" or (
        isinstance(p, ast.Call) and n in p.args and _name(p.func) in ("astype", "cast"))
    if isinstance(n, ast.Attribute) and n.attr in _DTYPES and n.attr not in ("float", "int"):
        yield _with(n, attr=_DTYPES[n.attr]), f"dtype {n.attr} -> {_DTYPES[n.attr]}"
    elif isinstance(n, ast.Name) and n.id in ("float", "int", "bool") and as_dtype:
        yield _with(n, id=_DTYPES[n.id]), f"dtype {n.id} -> {_DTYPES[n.id]}"
    elif isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in _DTYPES and as_dtype:
        yield ast.Constant(_DTYPES[n.value]), f"dtype {n.value!r} -> {_DTYPES[n.value]!r}"
    elif isinstance(n, ast.Call):
        for i, k in enumerate(n.keywords):
            if k.arg == "dtype":
                yield _with(n, keywords=n.keywords[:i] + n.keywords[i + 1:]), "`dtype=` dropped"


def _op_reduce(n: ast.AST, parents: dict) -> Iterator[Variant]:
    if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute):
        for new in _REDUCE.get(n.func.attr, []):
            yield _with(n, func=_renamed(n.func, new)), f"{n.func.attr} -> {new}"
    elif isinstance(n, ast.Call) and _name(n.func) in ("max", "min"):
        new = "min" if n.func.id == "max" else "max"
        yield _with(n, func=_renamed(n.func, new)), f"{n.func.id} -> {new}"


def _op_anyall(n: ast.AST, parents: dict) -> Iterator[Variant]:
    if isinstance(n, ast.Call) and _name(n.func) in _ANYALL:
        new = _ANYALL[_name(n.func)]
        yield _with(n, func=_renamed(n.func, new)), f"{_name(n.func)} -> {new}"


def _op_args(n: ast.AST, parents: dict) -> Iterator[Variant]:
    if not isinstance(n, ast.Call):
        return
    for i in range(len(n.args) - 1):
        a, b = n.args[i], n.args[i + 1]
        if isinstance(a, ast.Starred) or isinstance(b, ast.Starred) or ast.dump(a) == ast.dump(b):
            continue
        args = n.args[:i] + [b, a] + n.args[i + 2:]
        yield _with(n, args=args), f"arguments `{_rep(a)}` and `{_rep(b)}` swapped"


def _is_docstring(n: ast.AST, parents: dict) -> bool:
    return isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)


def _op_drop(n: ast.AST, parents: dict) -> Iterator[Variant]:
    if isinstance(n, ast.stmt) and not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                                      ast.Import, ast.ImportFrom, ast.Pass, ast.Raise,
                                                      ast.Assert, ast.Global, ast.Nonlocal)) \
            and not _is_docstring(n, parents):
        yield None, f"statement `{_rep(n).splitlines()[0]}` dropped"


def _op_raise(n: ast.AST, parents: dict) -> Iterator[Variant]:
    if isinstance(n, (ast.Raise, ast.Assert)):
        yield None, f"`{_rep(n).splitlines()[0]}` dropped"


#: Operator name -> generator of the variants at one node. Order matters: a mutant reachable
#: by two operators is kept under the first (``keepdims=True -> False`` is ``axis``, not ``logic``).
OPERATORS: dict[str, Callable[[ast.AST, dict], Iterator[Variant]]] = {
    "compare": _op_compare, "arith": _op_arith, "axis": _op_axis, "dtype": _op_dtype, "reduce": _op_reduce,
    "anyall": _op_anyall, "slice": _op_slice, "constant": _op_constant, "logic": _op_logic,
    "args": _op_args, "raise": _op_raise, "drop": _op_drop,
}


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
    text = "pass" if new is None else _rep(new)
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
