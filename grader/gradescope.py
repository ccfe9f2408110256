"""A Gradescope autograder of one assignment: ``python -m grader gradescope ASSIGNMENT``.

:func:`build_package` writes ``autograder.zip`` in Gradescope's format: ``setup.sh`` (run once to
build the image: a virtualenv with the pinned dependencies, the kit installed, the data fetched,
verified and built), ``run_autograder`` (run for each submission) and ``source/``, the kit files
grading needs. Gradescope extracts the zip into ``/autograder/source/``, so the kit lands in
``/autograder/source/source/``.

Each submission is graded by the same engine as ``python -m grader grade``: ``run_autograder``
calls :func:`prepare` (``python -m grader.gradescope prepare``: the submitted notebook laid out
as a one-student nbgrader ``submitted/`` folder), grades it, then :func:`finish`
(``... finish``): the student's ``results/<student>.json`` becomes Gradescope's
``results.json`` with every check at the package's visibility (:func:`with_visibility`), or a
``results.json`` scoring 0 that says what went wrong. Before anything else the script writes a
placeholder scoring 0, so Gradescope always finds a ``results.json``.

The scripts' paths are environment variables with Gradescope's defaults: ``AUTOGRADER_ROOT``
(``/autograder``), ``KIT_SOURCE`` (``$AUTOGRADER_ROOT/source/source``), ``KIT_VENV``
(``$AUTOGRADER_ROOT/venv``), ``KIT_PYTHON`` (``$KIT_VENV/bin/python``), ``KIT_VISIBILITY`` (the
package's), ``KIT_GRADE_ARGS`` (more options of ``grade``, e.g. ``--timeout 1200``); setup.sh
also honours ``KIT_BASE_PYTHON`` (``python3``) and ``KIT_DATA_MIRROR``.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import sys
import zipfile
from pathlib import Path

from grader.assignments import CHECKS, REFERENCE, SOLUTIONS, find
from grader.context import REPO
from grader.errors import GraderError
from source_data.secret import hidden_secret

__all__ = ["VISIBILITIES", "build_package", "finish", "main", "members", "prepare", "with_visibility"]

#: Gradescope's test visibilities, from the least to the most restrictive.
VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")
#: Files and folders never packaged: caches, environments, outputs.
SKIP = re.compile(r"^(\..*|__pycache__|cache|gradebook|runs|artifacts|.*\.egg-info|.*\.pyc|.*\.partial)$")
STAMP = (1980, 1, 1, 0, 0, 0)  # fixed member times: two builds give the same bytes

SETUP = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, to build the image of @ASSIGNMENT@ (python -m grader gradescope).
set -euo pipefail
AUTOGRADER_ROOT="${AUTOGRADER_ROOT:-/autograder}"
KIT_SOURCE="${KIT_SOURCE:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/source}"
KIT_VENV="${KIT_VENV:-$AUTOGRADER_ROOT/venv}"
BASE="${KIT_BASE_PYTHON:-python3}"
if ! command -v "$BASE" >/dev/null || ! "$BASE" -m venv "$KIT_VENV"; then
  rm -rf "$KIT_VENV"
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv
  "$BASE" -m venv "$KIT_VENV"
fi
"$KIT_VENV/bin/python" -c 'import sys; v = sys.version_info[:2]; (3, 10) <= v <= (3, 12) or sys.exit(
    f"setup.sh: the kit needs Python 3.10 to 3.12, this image has {v}: pick another base image or set KIT_BASE_PYTHON")'
cd "$KIT_SOURCE"
"$KIT_VENV/bin/python" -m pip install --quiet --upgrade pip
"$KIT_VENV/bin/python" -m pip install --quiet -c requirements.lock -e .
export TF_CPP_MIN_LOG_LEVEL=2
"$KIT_VENV/bin/python" -m source_data fetch   # verified against the manifests; KIT_DATA_MIRROR: a local copy
SECRET="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/hidden_secret"   # the instructor's, when packaged with it
if [ -f "$SECRET" ]; then export KIT_HIDDEN_SECRET_FILE="$SECRET"; fi
"$KIT_VENV/bin/python" -m source_data build
echo "setup.sh: @ASSIGNMENT@ ready (kit $KIT_SOURCE, virtualenv $KIT_VENV)"
"""

RUN = r"""#!/usr/bin/env bash
# Gradescope runs this for each submission of @ASSIGNMENT@ (python -m grader gradescope).
set -uo pipefail
ASSIGNMENT=@ASSIGNMENT@
AUTOGRADER_ROOT="${AUTOGRADER_ROOT:-/autograder}"
KIT_SOURCE="${KIT_SOURCE:-$AUTOGRADER_ROOT/source/source}"
KIT_PYTHON="${KIT_PYTHON:-${KIT_VENV:-$AUTOGRADER_ROOT/venv}/bin/python}"
VISIBILITY="${KIT_VISIBILITY:-@VISIBILITY@}"
RESULTS="$AUTOGRADER_ROOT/results/results.json"
mkdir -p "$AUTOGRADER_ROOT/results"
# a result before anything else: Gradescope must never be left without one
printf '{"score": 0.0, "output": "%s", "visibility": "visible", "stdout_visibility": "hidden", "tests": []}\n' \
  "Grading did not finish (the autograder stopped early). Your instructor can see why in the autograder log." \
  > "$RESULTS"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/gradescope.XXXXXX")" && chmod 755 "$WORK"
trap 'rm -rf "$WORK"' EXIT
cd "$KIT_SOURCE" || exit 0
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}" PYTHONHASHSEED="${PYTHONHASHSEED:-0}"
rc=0
if "$KIT_PYTHON" -m grader.gradescope prepare "$ASSIGNMENT" --work "$WORK" \
     --submission "$AUTOGRADER_ROOT/submission" --metadata "$AUTOGRADER_ROOT/submission_metadata.json"; then
  # shellcheck disable=SC2086  # KIT_GRADE_ARGS: several options
  "$KIT_PYTHON" -m grader grade "$ASSIGNMENT" --submissions "$WORK/submitted" --out "$WORK/gradebook" \
    --workers 1 --no-progress ${KIT_GRADE_ARGS:-} 2> "$WORK/grade.err"
  rc=$?
  cat "$WORK/grade.err" >&2
fi
"$KIT_PYTHON" -m grader.gradescope finish "$ASSIGNMENT" --work "$WORK" --results "$RESULTS" \
  --visibility "$VISIBILITY" --returncode "$rc"
exit 0
"""


def _check_visibility(visibility: str) -> None:
    if visibility not in VISIBILITIES:
        raise GraderError(f"unknown visibility {visibility!r}; use one of Gradescope's: {', '.join(VISIBILITIES)}")


def _tree(root: Path, prefix: str) -> dict[str, Path]:
    """``prefix/<relative path> -> file`` of every regular file below ``root`` (no links, no :data:`SKIP`)."""
    found: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not SKIP.match(d) and not os.path.islink(os.path.join(dirpath, d)))
        for name in filenames:
            path = Path(dirpath, name)
            if not SKIP.match(name) and path.is_file() and not path.is_symlink():
                found[f"{prefix}/{path.relative_to(root).as_posix()}"] = path
    return found


def members(assignment: str, *, solutions: Path = SOLUTIONS, checks: Path = CHECKS,
            reference: Path = REFERENCE) -> dict[str, Path]:
    """The kit files of ``source/`` in the package of ``assignment`` (parameters: :func:`build_package`).

    Returns
    -------
    dict of str to Path
        The grader package, the assignment's checks (with the checks' shared ``conftest.py``),
        its master and reference figures, ``kit/``, ``source_data/`` (no data cache),
        ``pyproject.toml``, ``requirements.lock`` and ``README.md`` (the package's readme).

    Raises
    ------
    GraderError
        If the assignment is unknown (the message lists those that exist) or a kit file is missing.
    """
    a = find(assignment, solutions, checks, reference)
    files = {f"source/grader/{p.name}": p for p in sorted((REPO / "grader").iterdir())
             if p.is_file() and not p.is_symlink() and not SKIP.match(p.name)}
    files.update(_tree(a.checks, f"source/grader/checks/{assignment}"))
    if (Path(checks) / "conftest.py").is_file():
        files["source/grader/checks/conftest.py"] = Path(checks) / "conftest.py"
    files[f"source/solutions/{assignment}.ipynb"] = a.master
    if a.reference.is_file():
        files[f"source/reference/{assignment}.json"] = a.reference
    for pkg in ("kit", "source_data"):
        files.update(_tree(REPO / pkg, f"source/{pkg}"))
    for name in ("pyproject.toml", "requirements.lock", "README.md"):
        if not (REPO / name).is_file():
            raise GraderError(f"{REPO / name} is missing; the package installs the kit with it (restore it from git)")
        files[f"source/{name}"] = REPO / name
    return files


def _script(template: str, assignment: str, visibility: str) -> bytes:
    return template.replace("@ASSIGNMENT@", assignment).replace("@VISIBILITY@", visibility).encode()


def build_package(assignment: str, out: str | os.PathLike, *, visibility: str = "after_published",
                  solutions: Path = SOLUTIONS, checks: Path = CHECKS, reference: Path = REFERENCE) -> Path:
    """Write ``out/autograder.zip``, the Gradescope autograder of ``assignment``.

    Parameters
    ----------
    assignment : str
        e.g. ``a1_example``.
    out : path-like
        Folder of the zip (made if missing).
    visibility : str, keyword-only
        Gradescope visibility of every check's test in ``results.json`` (a check's own, when more
        restrictive, wins); the score and the status stay ``visible``. One of :data:`VISIBILITIES`.
    solutions, checks, reference : Path, keyword-only
        Where the masters, the hidden checks and the reference figures are (default: the kit's).

    Returns
    -------
    Path
        The zip. Deterministic: sorted members with fixed times, so two builds are identical. With
        an instructor's secret (:func:`source_data.secret.hidden_secret`) it holds ``hidden_secret``
        (mode 600), which ``setup.sh`` builds the hidden data with: the zip is the instructor's, never
        a student's.

    Raises
    ------
    GraderError
        For an unknown assignment or visibility, or an assignment name a shell script cannot hold.
    """
    _check_visibility(visibility)
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", assignment):
        raise GraderError(f"assignment name {assignment!r} has characters other than letters, digits, '_', '.' "
                          "and '-'; rename its master notebook and check folder")
    files = members(assignment, solutions=Path(solutions), checks=Path(checks), reference=Path(reference))
    entries = [(name, path.read_bytes(), 0o644) for name, path in files.items()]
    secret = hidden_secret()
    if secret is not None:   # the image builds the same hidden data as the instructor's machine
        entries.append(("hidden_secret", secret + b"\n", 0o600))
    entries += [("setup.sh", _script(SETUP, assignment, visibility), 0o755),
                ("run_autograder", _script(RUN, assignment, visibility), 0o755)]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data, mode in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=STAMP)
            info.compress_type, info.create_system = zipfile.ZIP_DEFLATED, 3
            info.external_attr = (0o100000 | mode) << 16
            z.writestr(info, data)
    dest = Path(out) / "autograder.zip"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(buf.getvalue())
    return dest


# -- at grading time (run_autograder) ------------------------------------------------------------------------------
def _student_id(metadata: Path) -> str:
    """The folder name of the submitter: ``users[0].email`` or ``.id`` of Gradescope's metadata, else ``student``."""
    try:
        user = (json.loads(metadata.read_text(encoding="utf-8")).get("users") or [{}])[0]
        raw = str(user.get("email") or user.get("id") or "")
    except (OSError, ValueError, AttributeError, IndexError, TypeError):
        raw = ""
    return re.sub(r"[^A-Za-z0-9@._+-]", "_", raw).lstrip(".") or "student"


def prepare(assignment: str, submission: Path, metadata: Path, work: Path) -> dict:
    """Lay the submitted notebook out as ``work/submitted/<student>/<assignment>/<assignment>.ipynb``.

    The notebook is ``<assignment>.ipynb`` anywhere below ``submission`` (the most recent of
    several), else the only ``.ipynb``, else the most recently modified one; links are ignored.

    Returns
    -------
    dict
        ``{"student", "notebook", "note"}``, or ``{"student", "error"}`` when there is no notebook
        (also written to ``work/prepare.json`` for :func:`finish`).
    """
    student = _student_id(metadata)
    found = sorted(p for p in submission.rglob("*.ipynb") if p.is_file() and not p.is_symlink()
                   and not any(part.startswith((".", "__MACOSX")) for part in p.relative_to(submission).parts))
    named = [p for p in found if p.name == f"{assignment}.ipynb"]
    latest = max(named or found, key=lambda p: p.stat().st_mtime, default=None)
    if latest is None:
        state = {"student": student, "error": f"No notebook (.ipynb file) in your submission: upload your "
                                              f"{assignment}.ipynb and submit again."}
    else:
        note = "" if named else (f"Graded {latest.name}: no {assignment}.ipynb in your submission"
                                 + ("." if len(found) == 1 else f" ({len(found)} notebooks; the most recent)."))
        dest = work / "submitted" / student / assignment / f"{assignment}.ipynb"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(latest.read_bytes())
        state = {"student": student, "notebook": str(latest.relative_to(submission)), "note": note}
    work.mkdir(parents=True, exist_ok=True)
    (work / "prepare.json").write_text(json.dumps(state), encoding="utf-8")
    return state


def with_visibility(results: dict, visibility: str) -> dict:
    """``results`` with every check's test at least as restricted as ``visibility``; the summary visible.

    Manually graded entries (``manual: <grade_id>``, no check detail) keep their own visibility.
    """
    _check_visibility(visibility)
    rank = VISIBILITIES.index
    for t in results.get("tests", []):
        if not str(t.get("name", "")).startswith("manual: "):
            own = t.get("visibility", "visible")
            t["visibility"] = max(own if own in VISIBILITIES else "visible", visibility, key=rank)
    results["visibility"] = "visible"
    if visibility != "visible" and results.get("tests"):
        when = {"after_due_date": "after the due date", "after_published": "once grades are published",
                "hidden": "never"}[visibility]
        results["output"] = (results.get("output", "") + f"\nThe result of each check is shown {when}.").lstrip()
    return results


def _failed(message: str) -> dict:
    """A result scoring 0 that says what went wrong."""
    return {"score": 0.0, "output": message, "visibility": "visible", "stdout_visibility": "hidden", "tests": []}


def finish(assignment: str, work: Path, results: Path, *, visibility: str = "after_published",
           returncode: int = 0) -> dict:
    """Write Gradescope's ``results`` from what :func:`prepare` and the engine left in ``work``.

    Returns
    -------
    dict
        What was written: the engine's results with :func:`with_visibility` applied, or a
        result scoring 0 whose output says what went wrong (no notebook, grading failed).
    """
    try:
        state = json.loads((work / "prepare.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        state = {"error": "The autograder could not read your submission. Your instructor can see why in the "
                          "autograder log."}
    out = None
    if "error" not in state:
        graded = work / "gradebook" / assignment / "results" / f"{state['student']}.json"
        try:
            out = with_visibility(json.loads(graded.read_text(encoding="utf-8")), visibility)
        except (OSError, ValueError):
            err = (work / "grade.err").read_text(errors="replace") if (work / "grade.err").is_file() else ""
            why = [line for line in err.splitlines() if line.startswith("grader: error:")]
            out = _failed(f"Grading failed (the grader exited with status {returncode}"
                          + (f": {why[-1][len('grader: error: '):]}" if why else "")
                          + "). Your instructor can see the details in the autograder log.")
        if state.get("note"):
            out["output"] = f"{state['note']}\n{out['output']}"
    out = out or _failed(state["error"])
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(out, indent=1), encoding="utf-8")
    log = work / "gradebook" / assignment / "logs" / f"{state.get('student')}.log"
    if log.is_file():  # the instructor log goes to Gradescope's stdout (hidden from students)
        print(log.read_text(errors="replace")[-100_000:])
    print(f"results.json: score {out.get('score')}; {next(iter((out.get('output') or '').splitlines()), '')}")
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m grader.gradescope prepare|finish ASSIGNMENT ...``: the steps of ``run_autograder``."""
    p = argparse.ArgumentParser(prog="python -m grader.gradescope", description=main.__doc__)
    sub = p.add_subparsers(dest="step", required=True)
    pr = sub.add_parser("prepare", help="lay the submitted notebook out as an nbgrader submitted/ folder")
    fi = sub.add_parser("finish", help="write Gradescope's results.json")
    for s, paths in ((pr, ("--work", "--submission", "--metadata")), (fi, ("--work", "--results"))):
        s.add_argument("assignment")
        for flag in paths:
            s.add_argument(flag, type=Path, required=True)
    fi.add_argument("--visibility", default="after_published")
    fi.add_argument("--returncode", type=int, default=0)
    args = p.parse_args(argv)
    if args.step == "prepare":
        state = prepare(args.assignment, args.submission, args.metadata, args.work)
        print(f"prepare: {json.dumps(state)}")
        return 1 if "error" in state else 0
    try:
        finish(args.assignment, args.work, args.results, visibility=args.visibility, returncode=args.returncode)
    except GraderError as e:
        print(f"grader: error: {e}", file=sys.stderr)
        finish(args.assignment, args.work, args.results, visibility="after_published", returncode=args.returncode)
    return 0


if __name__ == "__main__":
    sys.exit(main())
