"""Mutation operators for answer cells: the slips a student makes, one at a time.

Why not a mutation library: mutmut 3.8, cosmic-ray 8.7 and mutatest 3.1 (PyPI) mutate
source files or byte code on disk and judge a mutant by the exit code of a test command;
their operators are generic (no ``axis``/``keepdims``, dtype or ``np.max``/``np.mean``
swaps) and their drivers keep their own state (a work database, a file lock on the
sources). Here a mutant is one notebook cell and the judge is the grading engine itself,
so a library would only contribute operators we would still have to extend. The operators
below are a few lines each over Python's :mod:`ast`: each maps one node to its variants
(replacement node and description); :mod:`authoring.mutants` turns a variant into a cell.
"""
from __future__ import annotations

import ast
import copy
from typing import Callable, Iterator

__all__ = ["OPERATORS", "Variant"]

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
