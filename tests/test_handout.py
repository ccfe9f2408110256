"""Does the students' hand-out hold everything a student needs and nothing that holds an answer?

The hand-out (``make handout``, :mod:`authoring.handout`) is built once for the module; every file
is listed in its ``HANDOUT.json``; the leak search finds nothing in it, and finds each kind of leak
planted into it (a master, a check, a manifest, a model-answer line, a hidden clip as it is or
re-encoded, a hidden AG News article, hidden labels, the instructor's secret); the hand-out's own
loaders read its data with the instructor's kit out of reach, and a notebook's visible checks run
from it.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
import soundfile as sf

import source_data as sd
from authoring import handout
from authoring.notebooks import BEGIN
from grader.context import REPO

STUDENT_COUNTS = {"fsdd-v1.0.10/recordings": 2700, "fake_or_real-v1/student": 5400}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return handout.build(tmp_path_factory.mktemp("handout") / "handout")


def test_is_every_file_listed_and_nothing_else_there(built: Path) -> None:
    listing = json.loads((built / handout.MANIFEST).read_text())["sha256"]
    files = sorted(p.relative_to(built).as_posix() for p in built.rglob("*") if p.is_file())
    assert sorted([*listing, handout.MANIFEST]) == files
    top = {f.split("/")[0] for f in files}
    assert top == {"README.md", "Makefile", "venv.mk", "pyproject.toml", "requirements.lock", handout.MANIFEST,
                   "assignments", "kit", "source_data", "data"}
    assert sorted(f for f in files if f.startswith("assignments/")) == sorted(
        f"assignments/{p.name}" for p in (REPO / "assignments").glob("*.ipynb"))
    assert sorted(f.split("/")[1] for f in files if f.startswith("source_data/")) == sorted(handout.SOURCE_DATA_FILES)
    for folder, n in STUDENT_COUNTS.items():
        assert sum(f.startswith(f"data/{folder}/") and f.endswith(".wav") for f in files) == n, folder
    for rel, digest in list(listing.items())[::97]:
        assert handout._sha256(built / rel) == digest, rel
    assert not [f for f in files if "fake_or_real_build" in f or "manifests" in f or f.endswith("student.py")]


def test_does_the_zip_hold_the_same_files(built: Path) -> None:
    listing = json.loads((built / handout.MANIFEST).read_text())["sha256"]
    with zipfile.ZipFile(built.with_suffix(".zip")) as zf:
        names = zf.namelist()
        assert sorted(names) == sorted(f"handout/{rel}" for rel in [*listing, handout.MANIFEST])
        assert zf.read("handout/assignments/a1_spoken_digits.ipynb") == (built / "assignments/a1_spoken_digits.ipynb").read_bytes()


def test_is_nothing_found_in_the_hand_out(built: Path) -> None:
    assert handout.leaks(built) == []
    solutions = "\n".join(p.read_text() for p in (REPO / "solutions").glob("*.ipynb"))
    assert BEGIN in solutions and not [p for p in built.rglob("*.ipynb") if BEGIN in p.read_text()]


def _hidden_clip() -> Path:
    return sd.load_spoken_digits("hidden").paths[17]


def _plant_reencoded(root: Path) -> tuple[Path, str]:
    y, sr = sf.read(_hidden_clip(), dtype="int16")
    target = root / "data" / "mine.flac"
    sf.write(target, y, sr, format="FLAC")
    return target, "the samples of hidden clip"


def _plant_row(root: Path) -> tuple[Path, str]:
    from source_data import ag_news

    rows = ag_news._rows("all")
    _, title, text = next(r for r, h in zip(rows, ag_news.hidden_mask(rows)) if h and len(r[2]) > 60)
    target = root / "data" / "ag_news" / "more.csv"
    ag_news.write_raw_csv([(1, title, text)], target)
    return target, "hidden AG News article"


def _plant_answer(root: Path) -> tuple[Path, str]:
    master = nbformat.read(REPO / "solutions" / "a2_text_generation.ipynb", as_version=4)
    from authoring.notebooks import solution_lines

    line = solution_lines(master)[5]
    target = root / "kit" / "notes.py"
    target.write_text(f"# found online\n{line}\n")
    return target, "model-answer line of a2_text_generation.ipynb"


PLANTS = {
    "master": lambda root: (shutil.copyfile(REPO / "solutions/a1_spoken_digits.ipynb", root / "assignments/x.ipynb"),
                            "a copy of the instructor's solutions/a1_spoken_digits.ipynb"),
    "check": lambda root: (shutil.copyfile(REPO / "grader/checks/a4_voices/test_runs.py", root / "kit/t.py"),
                           "a copy of the instructor's grader/checks/a4_voices/test_runs.py"),
    "manifest": lambda root: (shutil.copyfile(REPO / "source_data/manifests/fsdd-v1.0.10.sha256", root / "data/m.txt"),
                              "hidden file's sha256"),
    "hidden clip": lambda root: (shutil.copyfile(_hidden_clip(), root / "data/fsdd-v1.0.10/recordings/9_zz_9.wav"),
                                 "the samples of hidden clip"),
    "hidden spoof clip": lambda root: (shutil.copyfile(sd.load_fake_or_real("hidden").paths[3], root / "data/s.wav"),
                                       "the samples of hidden clip"),
    "re-encoded clip": _plant_reencoded,
    "hidden labels": lambda root: (shutil.copyfile(sd.load_fake_or_real("hidden").paths[0].parents[1] / "labels.csv",
                                                   root / "data/labels.csv"), "hidden fake-or-real clip id"),
    "hidden file names": lambda root: ((root / "kit/list.txt").write_text(
        "\n".join(p.name for p in sd.load_spoken_digits("hidden").paths[:3])), "hidden FSDD file name"),
    "hidden row": _plant_row,
    "model answer": _plant_answer,
}


@pytest.mark.parametrize("kind", list(PLANTS))
def test_is_a_planted_leak_found(built: Path, kind: str) -> None:
    before = {p for p in built.rglob("*") if p.is_file()}
    expected = PLANTS[kind](built)[1]
    planted = {p for p in built.rglob("*") if p.is_file()} - before
    assert len(planted) == 1
    try:
        found = handout.leaks(built)
        assert any(expected in line for line in found), (kind, found)
        assert {line.split(":")[0] for line in found} == {p.relative_to(built).as_posix() for p in planted}, found
    finally:
        for p in planted:
            p.unlink()
    assert handout.leaks(built) == []


def test_is_the_instructors_secret_found(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIT_HIDDEN_SECRET", "the secret of this course")
    (built / "kit" / "s.txt").write_text("KIT_HIDDEN_SECRET=the secret of this course\n")
    try:
        assert handout.leaks(built) == ["kit/s.txt: the instructor's secret"]
    finally:
        (built / "kit" / "s.txt").unlink()


def test_is_a_leaking_build_refused_and_nothing_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    master = (REPO / "solutions" / "a3_fake_or_real.ipynb").read_text()
    monkeypatch.setattr(handout, "_pyproject", lambda: master)   # a slip in the builder: a master shipped
    with pytest.raises(handout.GraderError, match="(?s)would leak 2 thing.*pyproject.toml: a copy of the instructor's "
                                                  "solutions/a3_fake_or_real.ipynb"):
        handout.build(tmp_path / "h", zip_file=False)
    assert not (tmp_path / "h").exists() and list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- on its own

def _isolated_env(root: Path) -> dict[str, str]:
    return {**os.environ, "KIT_DATA_DIR": str(root / "data"), "PYTHONPATH": str(root), "TF_CPP_MIN_LOG_LEVEL": "2"}


# Run first in every process of the hand-out: the kit's virtualenv has the instructor's kit installed
# (editable); a student's has not. Take it out of reach, then prove it.
ISOLATE = f"""
import sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__module__.lower()
                    and "editable" not in getattr(f, "__name__", "").lower()]
sys.path[:] = [p for p in sys.path if p.rstrip("/") != {str(REPO)!r}]
for name in [m for m in sys.modules if m.split(".")[0] in ("source_data", "kit", "grader", "authoring")]:
    del sys.modules[name]
import importlib.util
for instructor in ("grader", "authoring", "source_data.student", "source_data.fake_or_real_build"):
    try:
        found = importlib.util.find_spec(instructor)
    except ModuleNotFoundError:
        found = None
    assert found is None, instructor + " is reachable from the hand-out"
"""


def test_do_the_hand_outs_loaders_read_its_data_and_refuse_the_rest(built: Path) -> None:
    code = ISOLATE + """
import source_data as sd
assert sd.__file__.startswith(sys.argv[1]), sd.__file__
print(len(sd.load_spoken_digits("student")), len(sd.load_ag_news("student")), len(sd.load_fake_or_real("training")),
      len(sd.load_fake_or_real("student")))
for load, split in ((sd.load_spoken_digits, "hidden"), (sd.load_ag_news, "all"), (sd.load_fake_or_real, "hidden")):
    try:
        load(split)
    except sd.DataError as exc:
        print("refused:", exc)
    else:
        raise AssertionError(split)
try:
    sd.materialise_student("x")
except ModuleNotFoundError as exc:
    print("no builder:", exc.name)
"""
    proc = subprocess.run([sys.executable, "-c", code, str(built)], cwd=built / "assignments", env=_isolated_env(built),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert lines[0] == "2700 6840 4220 5400"
    assert sum(line.startswith("refused: split") for line in lines) == 3
    assert lines[-1] == "no builder: source_data.student"


def test_do_make_lab_and_check_data_work_from_the_hand_out(built: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    (venv / ".installed").touch()
    env = {k: v for k, v in os.environ.items() if k not in ("KIT_DATA_DIR", "MAKEFLAGS", "MAKELEVEL")}
    done = subprocess.run(["make", "check-data", f"VENV={venv}"], cwd=built, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "spoken digits 2700 | AG News 6840 | fake or real 5400 -- data ready" in done.stdout
    dry = subprocess.run(["make", "-n", "lab"], cwd=built, env=env, capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0 and "-m venv .venv" in dry.stdout and "jupyter lab" in dry.stdout, dry.stdout
    help_text = subprocess.run(["make"], cwd=built, env=env, capture_output=True, text=True, timeout=60).stdout
    assert "make lab" in help_text and "make tensorboard" in help_text


def test_do_a_notebooks_visible_checks_run_from_the_hand_out(built: Path) -> None:
    """The hand-out's A1 notebook with the master's answers, up to its first cheap visible check."""
    from nbclient import NotebookClient

    work = built / "assignments"
    nb = nbformat.read(work / "a1_spoken_digits.ipynb", as_version=4)
    master = {c.metadata["nbgrader"]["grade_id"]: c.source for c in
              nbformat.read(REPO / "solutions" / "a1_spoken_digits.ipynb", as_version=4).cells
              if c.metadata.get("nbgrader", {}).get("grade_id")}
    wanted = ["a1_api", "a1_setup", "a1_load_audio", "a1_pad_and_mask", "a1_check_pad_and_mask"]
    cells = [nbformat.v4.new_code_cell(ISOLATE)]
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in wanted:
            if cell.metadata["nbgrader"].get("solution"):
                cell.source = master[gid]      # a student's answer (the master's, in the test only)
            cells.append(cell)
    cells.append(nbformat.v4.new_code_cell("import source_data as sd, sys\nprint(sd.__file__)"))
    assert [c.metadata.get("nbgrader", {}).get("grade_id") for c in cells[1:-1]] == wanted
    run = nbformat.v4.new_notebook(cells=cells, metadata=nb.metadata)
    env_before = dict(os.environ)
    os.environ.update(_isolated_env(built))
    try:
        NotebookClient(run, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    errors = [o for c in run.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    printed = "".join(o.get("text", "") for o in run.cells[-1].outputs)
    assert printed.strip() == str(built / "source_data" / "__init__.py")
    shutil.rmtree(work / "runs", ignore_errors=True)
    shutil.rmtree(work / "artifacts", ignore_errors=True)
