"""Libraries of mistakes and alternative solutions (``tests/validity/<short>_<kind>.py``).

A library is a Python file defining ``MISTAKES = [(mistake_id, grade_id, cell_source,
expected_failing_check_names), ...]`` or ``ALTERNATIVES = [(alt_id, grade_id, cell_source), ...]``.
A mistakes library may also name the mistakes the demo class prefers,
``DEMO_MISTAKES = (mistake_id, ...)`` (the first it holds is used). The validity suite grades
every entry; the demo class borrows one mistake.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Callable

from grader.assignments import SOLUTIONS

__all__ = ["cases_of", "load_cases", "load_library", "master_editor"]


def master_editor(assignment: str, solutions: Path = SOLUTIONS) -> Callable[..., str]:
    """An editor of the master's answer cells, for writing one mistake as one edit.

    Parameters
    ----------
    assignment : str
        Master notebook name, e.g. ``"a1_spoken_digits"``.
    solutions : Path
        Folder of the master notebooks.

    Returns
    -------
    callable
        ``edit(grade_id, *(old, new))``: the master's answer cell ``grade_id`` with each
        replacement applied in turn. Raises ``ValueError`` when ``old`` does not occur exactly
        once, so a library whose master changed fails loudly instead of testing nothing.
    """
    import nbformat

    cells = {c.metadata["nbgrader"]["grade_id"]: c.source
             for c in nbformat.read(solutions / f"{assignment}.ipynb", as_version=4).cells
             if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}

    def edit(grade_id: str, *replacements: tuple[str, str]) -> str:
        if grade_id not in cells:
            raise ValueError(f"{assignment} has no answer cell {grade_id!r}; choose one of {sorted(cells)}")
        source = cells[grade_id]
        for old, new in replacements:
            if source.count(old) != 1:
                raise ValueError(f"{grade_id}: the text to replace occurs {source.count(old)} times, "
                                 f"not once: {old!r}")
            source = source.replace(old, new)
        return source

    return edit


def load_library(path: str | Path) -> ModuleType | None:
    """The library at ``path``, imported (None when the file does not exist)."""
    path = Path(path)
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"cases_{path.stem}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def cases_of(library: ModuleType, name: str) -> list[tuple]:
    """The list ``name`` of an imported library (AttributeError, naming the file, when it has none)."""
    if not hasattr(library, name):
        raise AttributeError(f"{Path(library.__file__).name} must define {name} = [...] (a list of tuples)")
    return list(getattr(library, name))


def load_cases(path: str | Path, name: str) -> list[tuple] | None:
    """The list ``name`` (``"MISTAKES"`` or ``"ALTERNATIVES"``) of the library at ``path``.

    Returns
    -------
    list of tuple or None
        None when the file does not exist.

    Raises
    ------
    AttributeError
        When the file exists but does not define ``name``.
    """
    library = load_library(path)
    return None if library is None else cases_of(library, name)
