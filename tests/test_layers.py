"""Are the layers kept? Nothing below the authoring tools imports them, and the engine names no assignment.

From the bottom: ``source_data`` (data) and ``kit`` (what students' notebooks import; readable in
the sandbox) import neither ``grader`` nor ``authoring``; the engine (``grader``, the shared
``grader/checks/conftest.py`` included) and each assignment's checks never import ``authoring``;
and no engine module ``grader/*.py`` names an assignment or the validity libraries
(``tests/validity``): what a tool needs of an assignment, the assignment declares (docs/authoring.md,
section 5). Read from the source (``ast``), nothing is imported or executed.
"""
from __future__ import annotations

import ast
from pathlib import Path

from grader.assignments import CHECKS, discover
from grader.context import REPO

ENGINE_MODULES = sorted((REPO / "grader").glob("*.py"))


def imported(source: str) -> set[str]:
    """Every module a source imports: ``import``, ``from ... import`` (absolute) and
    ``importlib.import_module("...")`` / ``__import__("...")`` with a literal name."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if func in ("import_module", "__import__"):
                names.add(node.args[0].value)
    return names


def _python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def _is_assignment_file(path: Path) -> bool:
    """A file of one assignment's checks, ``grader/checks/<assignment>/...``."""
    return path.is_relative_to(CHECKS) and len(path.relative_to(CHECKS).parts) > 1


def _offences(files: list[Path], packages: tuple[str, ...]) -> list[str]:
    out = []
    for path in files:
        bad = sorted(n for n in imported(path.read_text(encoding="utf-8")) if n.split(".")[0] in packages)
        if bad:
            out.append(f"{path.relative_to(REPO)} imports {', '.join(bad)}")
    return out


def test_does_the_import_reader_see_every_form_of_import():
    source = ("import authoring\nimport os, authoring.cli as c\nfrom authoring.reference import record\n"
              "from . import sibling\nimportlib.import_module('authoring.demo')\n__import__('authoring')\n")
    assert imported(source) == {"authoring", "os", "authoring.cli", "authoring.reference", "authoring.demo"}


def test_does_no_engine_kit_or_data_module_import_the_authoring_tools():
    engine = [p for p in _python_files(REPO / "grader") if not _is_assignment_file(p)]
    assert REPO / "grader" / "checks" / "conftest.py" in engine
    files = engine + _python_files(REPO / "kit") + _python_files(REPO / "source_data")
    offences = _offences(files, ("authoring",))
    assert not offences, ("the authoring tools are a layer above the engine, kit and source_data; move what "
                          f"these need into grader (the check side: grader.api): {offences}")


def test_do_no_assignment_checks_import_the_authoring_tools():
    """An assignment's checks and ``evaluate.py`` run in the check process: engine API only (``grader.api``)."""
    files = [p for p in _python_files(CHECKS) if _is_assignment_file(p)]
    assert files, f"no assignment checks found under {CHECKS}"
    offences = _offences(files, ("authoring",))
    assert not offences, f"hidden checks must not import the authoring tools: {offences}"


def test_do_kit_and_source_data_not_import_the_engine():
    files = _python_files(REPO / "kit") + _python_files(REPO / "source_data")
    offences = _offences(files, ("grader", "authoring"))
    assert not offences, f"kit and source_data are below the engine (students import them): {offences}"


def test_does_no_engine_module_name_an_assignment_or_the_validity_libraries():
    names = discover()
    assert names, "no assignment discovered (solutions/<a>.ipynb with grader/checks/<a>/): nothing to check"
    offences = [f"{path.relative_to(REPO)}:{i}: {word!r}"
                for path in ENGINE_MODULES
                for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                for word in (*names, "tests/validity") if word in line]
    assert not offences, ("the engine finds assignments (grader.assignments.discover) and never names one; "
                          "declare per-assignment settings in grader/checks/<assignment>/ or "
                          f"tests/validity/, and use a neutral example in docstrings: {offences}")
