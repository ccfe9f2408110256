"""Libraries of mistakes and alternative solutions (``tests/validity/<short>_<kind>.py``).

A library is a Python file defining ``MISTAKES = [(mistake_id, grade_id, cell_source,
expected_failing_check_names), ...]`` or ``ALTERNATIVES = [(alt_id, grade_id, cell_source), ...]``.
The validity suite grades every entry; the demo class borrows one mistake.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

__all__ = ["load_cases"]


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
    path = Path(path)
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"cases_{path.stem}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    if not hasattr(mod, name):
        raise AttributeError(f"{path.name} must define {name} = [...] (a list of tuples)")
    return list(getattr(mod, name))
