"""The students' hand-out: what a student receives, and nothing that holds an answer (``make handout``).

``python -m authoring handout [--out handout]`` writes ``handout/`` and ``handout.zip``::

    handout/
        README.md  Makefile  venv.mk  pyproject.toml  requirements.lock   set-up: `make lab`, `make tensorboard`
        assignments/<assignment>.ipynb                           the student notebooks (assignments/)
        kit/*.py                                                 the helpers the notebooks import
        source_data/                                             the loaders only (no builder, no manifest)
        data/                                                    the student part of every data set
        HANDOUT.json                                             every file above with its sha256

It holds no master notebook, check, reference figure, hidden clip or row, hidden label, model
answer, manifest of a hidden source or builder of the hidden data: the hand-out is built from an
explicit list (:data:`KIT_FILES`, :data:`SOURCE_DATA_FILES`, the templates in
``authoring/handout_files/``) and then searched for every leak :func:`leaks` knows; a leak stops
the build (nothing is written where the hand-out was). The data folder is
:func:`source_data.materialise_student`'s, so the loaders refuse the hidden splits there.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import tomllib
import zipfile
from pathlib import Path

from grader.context import REPO
from grader.errors import GraderError

__all__ = ["HELP", "SOURCE_DATA_FILES", "add_arguments", "build", "instructor_files", "leaks", "run", "write_zip"]

HELP = "build the students' hand-out (handout/ and handout.zip): notebooks, helpers, student data, no answers"
TEMPLATES = Path(__file__).resolve().parent / "handout_files"
#: the loaders the notebooks use; the corpus builder, the student-folder maker, the manifests and the
#: command line (which builds the hidden data) stay with the instructor
SOURCE_DATA_FILES = ("__init__.py", "errors.py", "registry.py", "registry.toml", "download.py", "spoken_digits.py",
                     "ag_news.py", "class_folders.py", "fake_or_real.py")
#: dependencies only the instructor's side needs (grading, the corpus builder, the app)
INSTRUCTOR_ONLY_DEPENDENCIES = ("nbgrader", "nbclient", "nbconvert", "pytest", "dask", "distributed", "streamlit",
                                "espeakng-loader", "pyworld", "psutil", "tqdm")
#: the kit's folders a student never receives (the leak search compares every hand-out file with them)
INSTRUCTOR_FOLDERS = ("solutions", "grader", "reference", "tests", "examples", "authoring", "apps", "docs")
MANIFEST = "HANDOUT.json"


def _kit_files() -> list[Path]:
    return sorted(p for p in (REPO / "kit").glob("*.py"))


def _shipped_sources() -> list[Path]:
    """The kit's files a hand-out is made of (besides the data and the generated ``pyproject.toml``)."""
    return [*sorted(TEMPLATES.iterdir()), REPO / "venv.mk", REPO / "requirements.lock",
            *sorted((REPO / "assignments").glob("*.ipynb")),
            *_kit_files(), *(REPO / "source_data" / name for name in SOURCE_DATA_FILES)]


def _pyproject() -> str:
    """The hand-out's ``pyproject.toml``: the kit's pins less the instructor-only dependencies."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    keep = [d for d in project["dependencies"]
            if d.split(";")[0].split("==")[0].strip().lower() not in INSTRUCTOR_ONLY_DEPENDENCIES]
    deps = "".join(f'    "{d}",\n' for d in keep)
    student = ", ".join(f'"{d}"' for d in project["optional-dependencies"]["student"])
    gpu = ", ".join(f'"{d}"' for d in project["optional-dependencies"]["gpu"])
    return (f'[build-system]\nrequires = ["setuptools>=77", "wheel"]\nbuild-backend = "setuptools.build_meta"\n\n'
            f'[project]\nname = "seqkit-student"\nversion = "{project["version"]}"\n'
            f'description = "Student hand-out of the sequence-learning course kit"\n'
            f'requires-python = "{project["requires-python"]}"\ndependencies = [\n{deps}]\n\n'
            f'[project.optional-dependencies]\nstudent = [{student}]\ngpu = [{gpu}]\n\n'
            f'[tool.setuptools]\npackages = {{ find = {{ include = ["source_data*", "kit*"] }} }}\n\n'
            f'[tool.setuptools.package-data]\nsource_data = ["registry.toml"]\n')


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _listing(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): _sha256(p)
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != MANIFEST}


def build(out: str | os.PathLike = REPO / "handout", *, zip_file: bool = True) -> Path:
    """Build the hand-out into ``out`` (and ``out.zip``), atomically; refuse it when :func:`leaks` finds one.

    Parameters
    ----------
    out : path-like
        The hand-out folder; replaced when it is an earlier hand-out (it has a ``HANDOUT.json``).
    zip_file : bool, keyword-only
        Also write ``<out>.zip`` (:func:`write_zip`).

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    GraderError
        ``out`` exists and is not a hand-out, a student notebook is stale (run ``make
        assignments``), or a leak was found (each one named; nothing is written).
    """
    from authoring.notebooks import generate
    from source_data.student import materialise_student

    out = Path(out).resolve()
    if out.exists() and not (out / MANIFEST).is_file():
        raise GraderError(f"{out} exists and is not a hand-out (no {MANIFEST}); choose an empty path")
    stale = generate(check=True)
    if stale:
        raise GraderError(f"the student notebooks are stale ({', '.join(stale)}); run `make assignments` first")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".tmp-{out.name}-", dir=out.parent))
    try:
        for name in ("README.md", "Makefile"):
            shutil.copyfile(TEMPLATES / name, work / name)
        shutil.copyfile(REPO / "venv.mk", work / "venv.mk")
        (work / "pyproject.toml").write_text(_pyproject())
        shutil.copyfile(REPO / "requirements.lock", work / "requirements.lock")
        (work / "assignments").mkdir()
        for nb in sorted((REPO / "assignments").glob("*.ipynb")):
            shutil.copyfile(nb, work / "assignments" / nb.name)
        (work / "kit").mkdir()
        for f in _kit_files():
            shutil.copyfile(f, work / "kit" / f.name)
        (work / "source_data").mkdir()
        for name in SOURCE_DATA_FILES:
            shutil.copyfile(REPO / "source_data" / name, work / "source_data" / name)
        materialise_student(work / "data")
        found = leaks(work)
        if found:
            raise GraderError(f"the hand-out would leak {len(found)} thing(s); nothing written:\n  " + "\n  ".join(found))
        listing = _listing(work)
        (work / MANIFEST).write_text(json.dumps({"files": len(listing), "bytes": sum((work / r).stat().st_size for r in listing),
                                                 "sha256": listing}, indent=1) + "\n")
        if out.exists():
            shutil.rmtree(out)
        os.rename(work, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if zip_file:
        write_zip(out, out.with_suffix(".zip"))
    return out


def write_zip(folder: Path, target: Path) -> Path:
    """``folder`` as a zip whose members are ``<folder name>/...`` (sorted, fixed times: the same bytes each time)."""
    tmp = target.with_name(f".{target.name}.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo(f"{folder.name}/{path.relative_to(folder).as_posix()}", (2026, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, path.read_bytes())
    os.replace(tmp, target)
    return target


# ----------------------------------------------------------------------------- the leak search

def instructor_files() -> list[Path]:
    """Every file of the kit a student never receives (byte-compared with each hand-out file).

    The kit's folders of :data:`INSTRUCTOR_FOLDERS` and what ``source_data/`` does not ship, less
    the files whose bytes the hand-out is made of anyway (the templates; the demo class's stub
    notebooks, which are the student notebooks).
    """
    shipped = {_sha256(p) for p in _shipped_sources()}
    files = [p for folder in INSTRUCTOR_FOLDERS for p in (REPO / folder).rglob("*")
             if p.is_file() and "__pycache__" not in p.parts and "cache" not in p.relative_to(REPO).parts]
    files += [p for p in (REPO / "source_data").rglob("*") if p.is_file() and "cache" not in p.parts
              and "__pycache__" not in p.parts and p.name not in SOURCE_DATA_FILES]
    return sorted(p for p in files if _sha256(p) not in shipped)


def _audio_digest(data: bytes) -> str | None:
    """sha256 of the decoded samples of an audio file (so a re-encoded copy is found too), None if not audio."""
    import numpy as np
    import soundfile as sf

    try:
        y, _ = sf.read(io.BytesIO(data), dtype="int16", always_2d=True)
    except Exception:   # noqa: BLE001 - any file soundfile cannot decode is not audio
        return None
    return hashlib.sha256(np.ascontiguousarray(y[:, 0]).tobytes()).hexdigest()


_TOKEN = re.compile(r"[A-Za-z0-9_+.\-]+")


def _hidden_marks() -> tuple[dict[str, str], dict[str, str]]:
    """What of the hidden data must appear nowhere in a hand-out.

    Returns
    -------
    tokens : dict
        Whole words (a hidden FSDD file name, a hidden file's sha256, a hidden fake-or-real clip
        id, which holds its label) -> what they are.
    texts : dict
        Hidden AG News descriptions (40 characters or more, not also a student row's) -> what they are.
    """
    import source_data as sd
    from source_data import ag_news
    from source_data.registry import dataset

    fsdd = sd.load_spoken_digits("hidden")
    spoof = sd.load_fake_or_real("hidden")
    tokens = {p.name: "hidden FSDD file name" for p in fsdd.paths}
    tokens.update({dataset("fsdd").manifest[f"recordings/{p.name}"]: "hidden file's sha256" for p in fsdd.paths})
    root = spoof.paths[0].parents[2]
    for line in (root / "MANIFEST.sha256").read_text().splitlines():
        digest, _, rel = line.partition("  ")
        if rel.startswith("hidden/"):
            tokens[digest] = "hidden file's sha256"
    for clip_id in spoof.ids:
        tokens[str(clip_id)] = tokens[f"{clip_id}.wav"] = "hidden fake-or-real clip id (with its label)"
    rows = ag_news._rows("all")
    student = {d for _, _, d in ag_news._rows("student")}
    texts = {d: "hidden AG News article" for (_, _, d), hidden in zip(rows, ag_news.hidden_mask(rows))
             if hidden and d not in student and len(d) >= 40}
    return tokens, texts


def leaks(root: str | os.PathLike) -> list[str]:
    """Everything in the hand-out folder ``root`` that a student must not hold, one line each.

    Searched for: a file byte-identical to an instructor-only file of the kit (a master, a check, a
    reference figure, a test, the builder, a manifest, ...); a model-answer line of a master
    (inside ``### BEGIN SOLUTION``) in any text file; an audio file whose samples are those of a
    hidden clip (FSDD takes 0-4, the fake-or-real hidden split), re-encoded or not; a hidden FSDD
    file name, a hidden file's sha256, a hidden fake-or-real clip id (its label is in it) or a
    hidden AG News article in any text file; the instructor's secret.

    Returns
    -------
    list of str
        ``"<relative path>: <what>"``; empty when nothing leaks.
    """
    import nbformat

    from authoring.notebooks import solution_lines
    from grader.assignments import SOLUTIONS
    from source_data.secret import hidden_secret

    import source_data as sd

    root = Path(root)
    files = sorted(p for p in root.rglob("*") if p.is_file())
    kit_hashes = {_sha256(p): p.relative_to(REPO).as_posix() for p in instructor_files()}
    shipped_text = "\n".join(p.read_text() for p in _shipped_sources() if p.suffix == ".py")
    answers = {}
    for master in sorted(SOLUTIONS.glob("*.ipynb")):
        nb = nbformat.read(master, as_version=4)
        visible = "\n".join(c.source for c in nb.cells if not c.metadata.get("nbgrader", {}).get("solution"))
        for line in solution_lines(nb):
            if line not in visible and line not in shipped_text:
                answers[line] = master.name
    hidden_audio = {_audio_digest(p.read_bytes()): p.name
                    for p in [*sd.load_spoken_digits("hidden").paths, *sd.load_fake_or_real("hidden").paths]}
    tokens, texts = _hidden_marks()
    secret = hidden_secret()
    found = []
    for path in files:
        rel = path.relative_to(root).as_posix()
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest in kit_hashes:
            found.append(f"{rel}: a copy of the instructor's {kit_hashes[digest]}")
        audio = _audio_digest(data) if path.suffix.lower() in (".wav", ".flac", ".ogg") else None
        if audio is not None and audio in hidden_audio:
            found.append(f"{rel}: the samples of hidden clip {hidden_audio[audio]}")
        if audio is not None:
            continue
        text = data.decode("utf-8", errors="replace")
        for line, master in answers.items():
            if line in text:
                found.append(f"{rel}: a model-answer line of {master}: {line[:60]!r}")
                break
        words = set(_TOKEN.findall(text))
        found += [f"{rel}: a {tokens[w]} ({w})" for w in sorted(words & tokens.keys())[:5]]
        hit = next((t for t in texts if t in text), None)
        if hit is not None:
            found.append(f"{rel}: a {texts[hit]} ({hit[:60]!r})")
        if secret is not None and secret in data:
            found.append(f"{rel}: the instructor's secret")
    return found


# ----------------------------------------------------------------------------- command line

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=REPO / "handout", help="hand-out folder (default: handout/; "
                        "the zip goes beside it)")
    parser.add_argument("--no-zip", action="store_true", help="do not write the zip")


def run(args: argparse.Namespace) -> int:
    from source_data.secret import describe, hidden_secret

    out = build(args.out, zip_file=not args.no_zip)
    info = json.loads((out / MANIFEST).read_text())
    print(f"hand-out: {out} ({info['files']} files, {info['bytes'] / 2**20:.1f} MiB); no leak found")
    if not args.no_zip:
        print(f"zip: {out.with_suffix('.zip')} ({out.with_suffix('.zip').stat().st_size / 2**20:.1f} MiB)")
    print(f"hidden data: {describe(hidden_secret())}")
    return 0
