"""Is the demo class generated from the masters, reproducibly, and is the committed one current?"""
from __future__ import annotations

import filecmp
from pathlib import Path

import nbformat
import pytest

import corpus

from authoring.demo import generate
from grader.notebook import cells_of

REPO = Path(__file__).resolve().parents[2]


def _answers(path: Path) -> dict[str, str]:
    nb = nbformat.read(path, as_version=4)
    return {c.grade_id: c.source for c in cells_of(nb) if c.role == "answer"}


def test_does_the_demo_class_hold_the_intended_students(tmp_path):
    files = generate(corpus.SOLUTIONS, tmp_path / "submitted", tmp_path / "no-validity")
    students = sorted({f.parts[-3] for f in files})
    assert students == ["ada-reference", "ben-stub", "cleo-partial", "eve-crash"]  # no mistake library here
    sub = tmp_path / "submitted"
    ref = _answers(sub / "ada-reference" / "t1_tiny" / "t1_tiny.ipynb")
    stub = _answers(sub / "ben-stub" / "t1_tiny" / "t1_tiny.ipynb")
    part = _answers(sub / "cleo-partial" / "t1_tiny" / "t1_tiny.ipynb")
    assert all("NotImplementedError" in s for s in stub.values())
    assert part == {"square": ref["square"], "mask": stub["mask"]}
    crash = nbformat.read(sub / "eve-crash" / "t1_tiny" / "t1_tiny.ipynb", as_version=4)
    assert any("os._exit(1)" in c.source for c in crash.cells)


def test_is_the_demo_class_reproducible(tmp_path):
    generate(corpus.SOLUTIONS, tmp_path / "a", tmp_path)
    generate(corpus.SOLUTIONS, tmp_path / "b", tmp_path)
    cmp = filecmp.dircmp(tmp_path / "a", tmp_path / "b")
    assert not cmp.diff_files and not cmp.left_only and not cmp.right_only


def test_is_the_committed_demo_class_current(tmp_path):
    """``make demo`` regenerates examples/submitted/ after a master changes."""
    committed = REPO / "examples" / "submitted"
    gradable = [m.stem for m in (REPO / "solutions").glob("*.ipynb")
                if any((REPO / "grader" / "checks" / m.stem).glob("test_*.py"))]
    if not gradable or not committed.is_dir():
        pytest.skip("no gradable assignment (master + checks) or no committed demo class yet")
    files = generate(REPO / "solutions", tmp_path / "submitted", assignments=gradable)
    stale = [f.relative_to(tmp_path) for f in files
             if not (committed.parent / f.relative_to(tmp_path)).is_file()
             or (committed.parent / f.relative_to(tmp_path)).read_bytes() != f.read_bytes()]
    assert not stale, f"examples/submitted is out of date ({stale[:3]}...): run `make demo`"
