"""Importing an answers module cell by cell.

A module written by :func:`grader.extract.build_answers` is executed one cell at a
time in a single namespace, so that a syntax error or an exception in one answer cell
does not hide the definitions of the others (as when the notebook runs top to bottom).
Each cell is compiled with its real line numbers in the module file, so tracebacks and
``inspect.getsource`` point at the student's code.
"""
from __future__ import annotations

import ast
import dataclasses
import json
import os
import sys
import traceback
import types
from pathlib import Path
from typing import Any, Callable

from grader.api import CheckTimeout
from grader.limits import WALL_FACTOR, time_limit

__all__ = ["CellError", "LoadedAnswers", "MissingAnswer", "load_answers", "write_answers"]


@dataclasses.dataclass(frozen=True)
class CellError:
    """An answer (or api) cell that failed while the module was imported."""

    grade_id: str
    role: str
    error: str  # "SyntaxError: invalid syntax (line 3 of the cell)"
    not_implemented: bool


@dataclasses.dataclass
class LoadedAnswers:
    """An imported answers module and the cells that failed on import."""

    module: types.ModuleType
    path: Path
    spans: list[dict]
    errors: list[CellError]

    def cell_of_line(self, lineno: int) -> tuple[str, int] | None:
        """(grade_id, line within the cell) of a module line, or None for grader lines."""
        for s in self.spans:
            if s["start"] <= lineno <= s["end"]:
                return s["grade_id"], lineno - s["start"] + 1
        return None

    def frames_of(self, exc: BaseException) -> str:
        """The traceback of ``exc`` trimmed to the student's answer cells ("" when none)."""
        path, lines = str(self.path), []
        for fs in traceback.extract_tb(exc.__traceback__):
            where = self.cell_of_line(fs.lineno or 0) if fs.filename == path else None
            if where is None:
                continue
            gid, line = where
            lines.append(f"  answer cell '{gid}', line {line}, in {fs.name}\n    {(fs.line or '').strip()}")
        return "Traceback (your code only):\n" + "\n".join(lines[-8:]) if lines else ""


def write_answers(source: Any, path: str | os.PathLike) -> Path:
    """Write an :class:`grader.extract.AnswersSource` to ``path`` and its cell map beside it."""
    path = Path(path)
    path.write_text(source.text, encoding="utf-8")
    path.with_suffix(".cells.json").write_text(json.dumps(source.to_json(), indent=1), encoding="utf-8")
    return path


class MissingAnswer(AttributeError):
    """Raised when a check uses a name that the student's answer cells do not define.

    The plugin scores such a check as ``missing`` (the answer was not given), not as an error.
    """


def load_answers(path: str | os.PathLike, name: str, *, cell_timeout: float | None = None,
                 wall_factor: float = WALL_FACTOR, exclude: dict[str, str] | None = None,
                 on_cell: Callable[[str], None] | None = None) -> LoadedAnswers:
    """Import the answers module at ``path`` as ``sys.modules[name]``, cell by cell.

    Parameters
    ----------
    path : path-like
        A module file written by :func:`write_answers` (its ``.cells.json`` must be beside it;
        without it the whole file is one cell).
    name : str
        Module name, e.g. ``"student_answers"``.
    cell_timeout : float, optional, keyword-only
        CPU seconds each cell may use (answer cells hold definitions only; a cell that
        trains or loops forever is stopped and reported).
    wall_factor : float, keyword-only
        Wall-clock backstop of ``cell_timeout``, as a multiple of it (see :func:`grader.limits.time_limit`).

    Returns
    -------
    LoadedAnswers
        Never raises for problems in the cells: they are listed in ``errors``; a name that
        is looked up but was not defined raises ``AttributeError`` naming the failed cells.
    """
    path = Path(path).resolve()
    text = path.read_text(encoding="utf-8")
    spans = _spans(path, text)
    module = _new_module(name, path)
    lines = text.splitlines(keepends=True)
    errors: list[CellError] = []
    exclude = exclude or {}
    for s in spans:
        if s["grade_id"] in exclude and s["role"] == "answer":
            errors.append(CellError(s["grade_id"], s["role"], exclude[s["grade_id"]], False))
            continue
        if on_cell is not None:
            on_cell(s["grade_id"])
        error = _run_cell(module, path, "".join(lines[s["start"] - 1:s["end"]]), s, cell_timeout, wall_factor)
        if error is not None:
            errors.append(error)
    _explain_missing(module, list(errors))
    return LoadedAnswers(module=module, path=path, spans=spans, errors=errors)


def _spans(path: Path, text: str) -> list[dict]:
    """The cells of the module, from its ``.cells.json`` (without one, the whole file is one cell)."""
    cmap = path.with_suffix(".cells.json")
    if cmap.is_file():
        return [s for s in json.loads(cmap.read_text())["spans"]]
    return [{"grade_id": path.stem, "role": "answer", "origin": "file", "start": 1,
             "end": text.count("\n") + 1}]


def _new_module(name: str, path: Path) -> types.ModuleType:
    """An empty module ``name`` for the file at ``path``, registered in ``sys.modules``."""
    module = types.ModuleType(name)
    module.__file__ = str(path)
    module.__dict__["__builtins__"] = __builtins__
    sys.modules[name] = module
    return module


def _run_cell(module: types.ModuleType, path: Path, chunk: str, s: dict, cell_timeout: float | None,
              wall_factor: float) -> CellError | None:
    """Compile one cell with its real line numbers and execute it in ``module``; its error, if any."""
    try:
        tree = ast.parse(chunk, filename=str(path))
        ast.increment_lineno(tree, s["start"] - 1)
        code = compile(tree, str(path), "exec")
    except SyntaxError as e:
        rel = (e.lineno or s["start"]) - s["start"] + 1 if e.lineno and e.lineno >= s["start"] else e.lineno
        return CellError(s["grade_id"], s["role"], f"SyntaxError: {e.msg} (line {rel} of the cell)", False)
    try:
        with time_limit(cell_timeout, lambda what: CheckTimeout(f"importing the cell {what}"),
                        wall_factor=wall_factor):
            exec(code, module.__dict__)
    except BaseException as e:  # noqa: BLE001 - a cell may raise anything, even SystemExit
        frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == str(path)]
        where = f" (line {frames[-1].lineno - s['start'] + 1} of the cell)" if frames else ""
        return CellError(s["grade_id"], s["role"], f"{type(e).__name__}: {_short(e)}{where}",
                         isinstance(e, NotImplementedError))
    return None


def _explain_missing(module: types.ModuleType, failed: list[CellError]) -> None:
    """Have a lookup of an undefined name raise :class:`MissingAnswer` naming the ``failed`` cells."""

    def __getattr__(attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        why = "; ".join(f"cell '{e.grade_id}' raised {e.error}" for e in failed)
        raise MissingAnswer(f"'{attr}' is not defined by your answer cells"
                             + (f" ({why})" if why else ""))

    module.__dict__.setdefault("__getattr__", __getattr__)


def _short(e: BaseException, limit: int = 300) -> str:
    s = str(e)
    return s if len(s) <= limit else s[:limit] + "…"
