"""The Gradescope autograder (grader/gradescope.py) on the tiny fixture course.

The package is built for ``t1_tiny``; its ``run_autograder`` runs locally in a folder laid out
like Gradescope's (``submission/``, ``results/``, ``source/`` = the extracted zip), with the kit
and virtualenv of this checkout (``KIT_SOURCE``, ``KIT_PYTHON``) and the engine pointed at the
fixture course (``KIT_GRADE_ARGS``).
"""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

import corpus
from authoring.notebooks import student_notebook
from conftest import LIMITS, REPO
from grader.assignments import discover
from grader.errors import GraderError
from grader.gradescope import build_package, prepare, with_visibility

GRADE_ARGS = ["--solutions", str(corpus.SOLUTIONS), "--checks", str(corpus.CHECKS),
              "--student-data", str(corpus.STUDENT_DATA), "--data-dir", str(corpus.HIDDEN_DATA), *LIMITS]


def _build(out: Path, **kw: str) -> Path:
    return build_package(corpus.ASSIGNMENT, out, solutions=corpus.SOLUTIONS, checks=corpus.CHECKS, **kw)


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("package"))


def _notebook(stub: bool = False) -> bytes:
    nb = corpus.master()
    return nbformat.writes(student_notebook(nb) if stub else nb).encode()


def run_autograder(package: Path, root: Path, files: dict[str, bytes], *, metadata: dict | None = None,
                   **env: str) -> dict:
    """Gradescope's steps: the zip extracted into ``root/source``, ``files`` into ``root/submission``."""
    with zipfile.ZipFile(package) as z:
        z.extractall(root / "source")
    (root / "submission").mkdir(parents=True)
    (root / "results").mkdir()
    for name, data in files.items():
        (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / name).write_bytes(data)
    if metadata is not None:
        (root / "submission_metadata.json").write_text(json.dumps(metadata))
    script = root / "source" / "run_autograder"
    script.chmod(0o755)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "KIT_SOURCE": str(REPO), "KIT_PYTHON": sys.executable,
           "KIT_GRADE_ARGS": " ".join(GRADE_ARGS), "TMPDIR": str(root), **env}
    proc = subprocess.run([str(script)], cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((root / "results" / "results.json").read_text())


def _checks(results: dict) -> list[dict]:
    return [t for t in results["tests"] if not t["name"].startswith("manual: ")]


# -- the package ---------------------------------------------------------------------------------------------------
def test_does_the_package_hold_the_scripts_and_the_kit_without_caches(package: Path):
    with zipfile.ZipFile(package) as z:
        infos = {i.filename: i for i in z.infolist()}
    names = list(infos)
    assert names == sorted(names)
    for script in ("setup.sh", "run_autograder"):
        assert (infos[script].external_attr >> 16) & stat.S_IXUSR, script
    for needed in ("source/grader/cli.py", "source/grader/gradescope.py", "source/grader/checks/t1_tiny/test_answers.py",
                   "source/solutions/t1_tiny.ipynb", "source/kit/__init__.py", "source/source_data/registry.toml",
                   "source/pyproject.toml", "source/requirements.lock", "source/README.md"):
        assert needed in infos, needed
    assert any(n.startswith("source/source_data/manifests/") for n in names)
    assert not [n for n in names if not n.startswith("source/") and n not in ("setup.sh", "run_autograder")]
    for bad in (".venv", "__pycache__", "source_data/cache", "gradebook/", ".pyc", "egg-info", "solutions/t2_other"):
        assert not [n for n in names if bad in n], bad
    assert {i.date_time for i in infos.values()} == {(1980, 1, 1, 0, 0, 0)}


def test_are_two_builds_byte_identical(package: Path, tmp_path: Path):
    assert _build(tmp_path).read_bytes() == package.read_bytes()


def test_does_the_image_build_the_hidden_data_with_the_instructors_secret(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("KIT_HIDDEN_SECRET_FILE", raising=False)
    monkeypatch.delenv("KIT_HIDDEN_SECRET", raising=False)
    with zipfile.ZipFile(_build(tmp_path / "demo")) as z:
        assert "hidden_secret" not in z.namelist()
    monkeypatch.setenv("KIT_HIDDEN_SECRET", "the instructor's secret of this term")
    with zipfile.ZipFile(_build(tmp_path / "keyed")) as z:
        info = z.getinfo("hidden_secret")
        assert z.read(info) == b"the instructor's secret of this term\n"
        assert (info.external_attr >> 16) & 0o777 == 0o600
        setup = z.read("setup.sh").decode()
    assert 'export KIT_HIDDEN_SECRET_FILE="$SECRET"' in setup
    assert setup.index("KIT_HIDDEN_SECRET_FILE") < setup.index("-m source_data build")


def test_does_the_visibility_reach_run_autograder(tmp_path: Path):
    with zipfile.ZipFile(_build(tmp_path, visibility="hidden")) as z:
        assert 'KIT_VISIBILITY:-hidden}' in z.read("run_autograder").decode()


def test_are_an_unknown_assignment_and_visibility_refused(tmp_path: Path):
    with pytest.raises(GraderError, match="unknown assignment 't9_nope'.*known: t1_tiny"):
        build_package("t9_nope", tmp_path, solutions=corpus.SOLUTIONS, checks=corpus.CHECKS)
    with pytest.raises(GraderError, match="unknown visibility 'secret'.*after_published"):
        _build(tmp_path, visibility="secret")
    proc = subprocess.run([sys.executable, "-m", "grader", "gradescope", "t9_nope", "--out", str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 2 and "unknown assignment 't9_nope'" in proc.stderr


def test_does_a_package_of_the_kit_hold_one_assignment_and_no_data(tmp_path: Path):
    first, *others = discover()
    with zipfile.ZipFile(build_package(first, tmp_path)) as z:
        names = z.namelist()
    assert f"source/solutions/{first}.ipynb" in names and "source/grader/checks/conftest.py" in names
    assert not [n for n in names for o in others if o in n]
    assert not [n for n in names if "/cache/" in n or "__pycache__" in n]


# -- run time ------------------------------------------------------------------------------------------------------
def test_does_the_reference_get_full_marks_with_the_checks_after_publication(package: Path, tmp_path: Path):
    results = run_autograder(package, tmp_path, {f"{corpus.ASSIGNMENT}.ipynb": _notebook()},
                             metadata={"users": [{"email": "ada@example.com", "id": 7, "name": "Ada"}]})
    checks = _checks(results)
    assert checks and results["score"] == sum(t["max_score"] for t in checks) > 0, json.dumps(results, indent=1)
    assert all(t["score"] == t["max_score"] for t in checks)
    assert {t["visibility"] for t in checks} == {"after_published"}
    assert results["visibility"] == "visible" and results["stdout_visibility"] == "hidden"
    assert "status: ok" in results["output"] and "once grades are published" in results["output"]


def test_does_a_renamed_stub_earn_no_answer_points(package: Path, tmp_path: Path):
    results = run_autograder(package, tmp_path, {"work/copy of t1_tiny.ipynb": _notebook(stub=True)})
    checks = _checks(results)
    # the provided cells still write the training log: that run check's point is all a stub earns (as in grades.csv)
    answers = [t for t in checks if t["name"] != "test_runs_logged"]
    assert len(answers) == 5 and all(t["score"] == 0 for t in answers), json.dumps(results, indent=1)
    assert results["score"] == sum(t["score"] for t in checks) == 1.0
    assert any("[not implemented]" in t["output"] for t in answers)
    assert results["output"].startswith("Graded copy of t1_tiny.ipynb: no t1_tiny.ipynb in your submission")
    assert {t["visibility"] for t in checks} == {"after_published"}


def test_does_a_submission_without_a_notebook_get_a_result_that_says_so(package: Path, tmp_path: Path):
    results = run_autograder(package, tmp_path, {"answers.py": b"print(1)\n"})
    assert results["score"] == 0 and results["tests"] == []
    assert "No notebook (.ipynb file) in your submission" in results["output"]


def test_does_a_failing_grader_still_leave_a_result(package: Path, tmp_path: Path):
    results = run_autograder(package, tmp_path / "a", {"t1_tiny.ipynb": _notebook()},
                             KIT_GRADE_ARGS=" ".join([*GRADE_ARGS, "--workers", "0"]))
    assert results["score"] == 0 and "Grading failed (the grader exited with status 2: --workers" in results["output"]
    results = run_autograder(package, tmp_path / "b", {"t1_tiny.ipynb": _notebook()},
                             KIT_PYTHON=str(tmp_path / "no-python"))
    assert results["score"] == 0 and "Grading did not finish" in results["output"]


# -- the helpers ---------------------------------------------------------------------------------------------------
def test_does_prepare_prefer_the_assignments_notebook_and_ignore_links(tmp_path: Path):
    sub = tmp_path / "submission"
    (sub / "old").mkdir(parents=True)
    (sub / "old" / "t1_tiny.ipynb").write_bytes(b"named")
    (sub / "newer.ipynb").write_bytes(b"other")
    (sub / "link.ipynb").symlink_to(sub / "newer.ipynb")
    os.utime(sub / "old" / "t1_tiny.ipynb", (1_000_000, 1_000_000))
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"users": [{"email": "../a b@x.org"}]}))
    state = prepare("t1_tiny", sub, meta, tmp_path / "work")
    assert state == {"student": "_a_b@x.org", "notebook": "old/t1_tiny.ipynb", "note": ""}
    assert (tmp_path / "work/submitted/_a_b@x.org/t1_tiny/t1_tiny.ipynb").read_bytes() == b"named"
    state = prepare("t9", sub, tmp_path / "missing.json", tmp_path / "work2")
    assert state["student"] == "student" and state["notebook"] == "newer.ipynb"
    assert state["note"] == "Graded newer.ipynb: no t9.ipynb in your submission (2 notebooks; the most recent)."


def test_does_a_check_keep_a_stricter_visibility_of_its_own():
    results = {"score": 1.0, "output": "status: ok", "visibility": "visible", "tests": [
        {"name": "a", "visibility": "visible"}, {"name": "b", "visibility": "hidden"},
        {"name": "c", "visibility": "after_due_date"}, {"name": "manual: essay", "visibility": "visible"}]}
    out = with_visibility(results, "after_published")
    assert [t["visibility"] for t in out["tests"]] == ["after_published", "hidden", "after_published", "visible"]
    assert with_visibility({"tests": [{"name": "a", "visibility": "hidden"}]}, "visible")["tests"][0]["visibility"] \
        == "hidden"
