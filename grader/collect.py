"""Collecting submissions into nbgrader's layout, ``<submitted>/<student>/<assignment>/<assignment>.ipynb``.

The three sources (``fmt``; guessed when not given):

* canvas: "Download submissions", one zip (or the folder it unpacks to) of files named
  ``<name>_<user id>_<submission id>_<file>`` (``<name>_late_...`` when late; Canvas adds ``-1``,
  ``-2`` to ``<file>`` on resubmission). Key: the user id; the highest submission id is the latest.
* moodle: "Download all submissions", a folder (or zip) of ``<Full Name>_<participant id>_assignsubmission_file_/``
  holding the files, maybe in sub-folders or a zip. Key: the participant id.
* nbgrader: the exchange's inbound ``<student>+<assignment>+<timestamp>/`` (the latest timestamp
  wins) or a ``submitted/`` folder, ``<student>/<assignment>/``. Key: the student.

A roster CSV maps the key to the student id; without one the folder is ``<name>-<key>``. Ids are
made safe folder names (:func:`safe_id`), zips are read into memory (never extracted), nothing is
written outside ``dest``, and what was not collected, and why, is in ``dest/COLLECT_REPORT.json``.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import tempfile
import unicodedata
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

import nbformat

from grader.errors import GraderError

__all__ = ["FORMATS", "REPORT", "ROSTER_ID_COLUMNS", "ROSTER_KEY_COLUMNS", "CollectReport", "collect", "safe_id"]

FORMATS = ("canvas", "moodle", "nbgrader")
ROSTER_KEY_COLUMNS = ("ID", "id", "user_id", "canvas_id", "participant_id")  # first one present is read
ROSTER_ID_COLUMNS = ("student", "SIS Login ID", "login", "username", "email")
MAX_NOTEBOOK = 50 * 2**20        # bytes of one notebook (or of a zip inside a submission)
MAX_TOTAL = 2 * 2**30            # bytes of one zip unpacked (more is a bomb), and of the notebooks held at once
REPORT = "COLLECT_REPORT.json"
_CANVAS = re.compile(r"^(?P<name>.+?)_(?:late_)?(?P<key>\d+)_(?P<sub>\d+)_(?P<file>.+)$")
_MOODLE = re.compile(r"^(?P<name>.+)_(?P<key>\d+)_assignsubmission_file_?$")
_INBOUND = re.compile(r"^(?P<key>[^+]+)\+(?P<assignment>[^+]+)\+(?P<sub>[^+]+)$")
_SAFE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._@-]{0,63}")


@dataclass
class CollectReport:
    """What :func:`collect` did; written to ``dest/COLLECT_REPORT.json``.

    Attributes
    ----------
    collected : list of dict
        ``student, key, file, status`` (new, updated, unchanged), ``unreadable`` (the key's bad files).
    superseded : list of dict
        ``student, key, file, reason``: older submissions, other notebooks of the same submission.
    unreadable, unmatched, invalid : list of dict
        ``file, reason``: not a notebook, too big, unsafe path, unknown name; ``key, name, file``: not
        in the roster; ``key, id, reason``: no safe folder name. None of these is collected.
    missing : list of str
        Roster students with nothing collected.
    ignored : list of str
        Files that are not notebooks, and notebooks of other assignments.
    """

    assignment: str
    source: str
    dest: str
    format: str
    collected: list[dict] = field(default_factory=list)
    superseded: list[dict] = field(default_factory=list)
    unreadable: list[dict] = field(default_factory=list)
    unmatched: list[dict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    invalid: list[dict] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """Two lines for the terminal: the counts and where the report is."""
        st = {s: sum(c["status"] == s for c in self.collected) for s in ("new", "updated", "unchanged")}
        rest = ", ".join(f"{len(getattr(self, k))} {k}" for k in
                         ("superseded", "unreadable", "unmatched", "missing", "invalid", "ignored"))
        return (f"{self.assignment} ({self.format}): collected {len(self.collected)} "
                f"({', '.join(f'{n} {s}' for s, n in st.items())}); {rest}\n"
                f"report: {Path(self.dest) / REPORT}")


@dataclass
class _File:
    path: str                  # where it was found in the source ('/'; a zip's members under 'x.zip/')
    data: bytes | None         # a notebook's bytes; None for any other file
    mtime: float = 0.0
    problem: str = ""          # why it cannot be used


def safe_id(raw: str) -> str | None:
    """``raw`` as a safe folder name (``[A-Za-z0-9._@-]``, no ``..``, starting with a letter, digit or
    ``_``, at most 64 characters), or None when it cannot be made one.

    Unicode is transliterated (NFKD, then ASCII), runs of other characters become ``-``, ``..``
    ``.``: ``"Zoë Ångström"`` → ``"Zoe-Angstrom"``, ``'=HYPERLINK("x")'`` → ``"HYPERLINK-x"``.

    Parameters
    ----------
    raw : str

    Returns
    -------
    str or None
    """
    text = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"\.{2,}", ".", re.sub(r"[^A-Za-z0-9._@-]+", "-", text.strip()))
    text = text.lstrip(".-@").rstrip(".-")
    return text if _SAFE.fullmatch(text) and text != REPORT else None


def _one(path: str, size: int, opener: Callable, mtime: float, depth: int) -> Iterator[_File]:
    """The notebooks in one file of the source: itself, or a zip's (read into memory, capped)."""
    parts = path.replace("\\", "/").split("/")
    if path.startswith(("/", "\\")) or ".." in parts or re.match(r"[A-Za-z]:", path):
        yield _File(path, None, mtime, "unsafe path (absolute or with ..): not read")
        return
    kind = path.lower().rsplit(".", 1)[-1]
    if kind not in ("ipynb", "zip") or any(p.startswith(".") or p == "__MACOSX" for p in parts):
        yield _File(path, None, mtime)
        return
    try:
        with opener() as f:
            data = f.read(MAX_NOTEBOOK + 1) if size <= MAX_NOTEBOOK else b""
    except Exception as e:  # a damaged or encrypted member, a file we may not read
        yield _File(path, None, mtime, f"cannot be read: {e}")
        return
    if size > MAX_NOTEBOOK or len(data) > MAX_NOTEBOOK:
        yield _File(path, None, mtime, f"over the {MAX_NOTEBOOK // 2**20} MiB limit: not read")
    elif kind == "ipynb":
        yield _File(path, data, mtime)
    elif depth >= 2:
        yield _File(path, None, mtime, "a zip in a zip in a zip: not opened")
    else:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                yield from list(_zip_entries(zf, path + "/", depth + 1))
        except zipfile.BadZipFile as e:  # also a bomb
            yield _File(path, None, mtime, f"not opened: {e}")


def _zip_entries(zf: zipfile.ZipFile, prefix: str, depth: int) -> Iterator[_File]:
    """A zip's files; BadZipFile when its size (declared, or read: headers can lie) passes MAX_TOTAL."""
    infos = [i for i in zf.infolist() if not i.is_dir()]
    declared, read = sum(i.file_size for i in infos), 0
    for info in infos:
        if max(declared, read) > MAX_TOTAL:
            raise zipfile.BadZipFile(f"unpacks to over {MAX_TOTAL / 2**30:g} GiB (a zip bomb?)")
        try:
            mtime = datetime(*info.date_time).timestamp()
        except ValueError:
            mtime = 0.0
        for f in _one(prefix + info.filename, info.file_size, lambda i=info: zf.open(i), mtime, depth):
            read += len(f.data or b"")
            yield f


def _entries(source: Path, skip: Path | None) -> Iterator[_File]:
    """Every file of a zip or folder (``skip``, the destination, left out), notebooks read."""
    if source.is_file():
        try:
            with zipfile.ZipFile(source) as zf:
                yield from _zip_entries(zf, "", 0)
        except zipfile.BadZipFile as e:
            raise GraderError(f"--from {source}: {e}; pass the platform's zip as downloaded, or a folder") from e
        return
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames[:] = sorted(d for d in dirnames if Path(dirpath, d).resolve() != skip)
        for name in sorted(filenames):
            p = Path(dirpath, name)
            rel = p.relative_to(source).as_posix()
            if p.is_symlink():
                yield _File(rel, None, 0.0, "a symbolic link: not followed")
            else:
                st = p.stat()
                yield from _one(rel, st.st_size, lambda p=p: p.open("rb"), st.st_mtime, 0)


def _parse(fmt: str, path: str, assignment: str) -> tuple[str, str | None, str, str] | str | None:
    """``(key, name, submission, file name)`` of a notebook, a problem (str), or None: not this assignment."""
    first, _, rest = path.partition("/")
    base = path.rsplit("/", 1)[-1]
    if fmt == "canvas":
        m = _CANVAS.match(first)
        if not m:
            return "not named <name>_<user id>_<submission id>_<file> (Canvas)"
        return m["key"], m["name"], f"{int(m['sub']):020d}", base if rest else m["file"]
    if fmt == "moodle":
        m = _MOODLE.match(first)
        return (m["key"], m["name"], "", base) if m and rest else \
            "not in a <Full Name>_<participant id>_assignsubmission_file_ folder (Moodle)"
    m = _INBOUND.match(first)
    if m and rest:
        return (m["key"], None, m["sub"], base) if m["assignment"] == assignment else None
    second, _, inner = rest.partition("/")
    if inner:
        return (first, None, "", base) if second == assignment else None
    return "not in <student>/<assignment>/ or <student>+<assignment>+<timestamp>/ (nbgrader)"


def _guess(source: Path) -> str:
    if source.is_file():
        if not zipfile.is_zipfile(source):
            raise GraderError(f"--from {source} is a file but not a zip; pass a Canvas/Moodle zip or a folder")
        with zipfile.ZipFile(source) as zf:
            tops = {n.replace("\\", "/").split("/")[0] for n in zf.namelist()}
        return "moodle" if any(_MOODLE.match(t) for t in tops) else "canvas"
    tops = [p for p in source.iterdir() if not p.name.startswith(".")]
    if any(p.is_dir() and _MOODLE.match(p.name) for p in tops):
        return "moodle"
    if any(p.is_dir() and (_INBOUND.match(p.name) or any(p.glob("*/*.ipynb"))) for p in tops):
        return "nbgrader"
    if any(p.is_file() and _CANVAS.match(p.name) for p in tops):
        return "canvas"
    raise GraderError(f"cannot tell what --from {source} holds (no <Name>_<id>_assignsubmission_file_/, "
                      "<student>/<assignment>/*.ipynb or <name>_<id>_<id>_<file>); pass --format "
                      + "|".join(FORMATS))


def _read_roster(path: Path) -> dict[str, str]:
    """``key -> student id`` from the roster CSV (rows without a key, e.g. "Points Possible", skipped)."""
    try:
        reader = csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8-sig")))
        cols = [c.strip() for c in reader.fieldnames or []]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise GraderError(f"cannot read --roster {path}: {e}; pass a UTF-8 CSV file with a header row") from e
    reader.fieldnames = cols
    key = next((c for c in ROSTER_KEY_COLUMNS if c in cols), None)
    sid = next((c for c in ROSTER_ID_COLUMNS if c in cols), None)
    if key is None or sid is None:
        raise GraderError(f"--roster {path} has the columns {cols}; it needs a key column (one of "
                          f"{', '.join(ROSTER_KEY_COLUMNS)}) and a student id column (one of "
                          f"{', '.join(ROSTER_ID_COLUMNS)}); rename the header")
    out: dict[str, str] = {}
    for row in reader:
        k, s = (row.get(key) or "").strip(), (row.get(sid) or "").strip()
        if k and s:
            if out.get(k, s) != s:
                raise GraderError(f"--roster {path}: {key} {k} is both {out[k]!r} and {s!r}; keep one row")
            out[k] = s
    return out


def _write(path: Path, data: bytes, dest: Path) -> str:
    """Write atomically (temp file, then ``os.replace``); ``new``, ``updated`` or ``unchanged``."""
    if not path.resolve().is_relative_to(dest.resolve()):
        raise GraderError(f"{path} leads outside --to {dest} (a link?); remove it or pick another --to")
    if path.is_file() and path.read_bytes() == data:
        return "unchanged"
    status = "updated" if path.exists() else "new"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".collect-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return status


def collect(assignment: str, source: str | os.PathLike, dest: str | os.PathLike, *,
            roster: str | os.PathLike | None = None, fmt: str | None = None) -> CollectReport:
    """Lay out ``source``'s notebooks as ``dest/<student>/<assignment>/<assignment>.ipynb``.

    Per student the latest readable submission is taken and, in it, the notebook named like
    the assignment (Canvas's ``-1``, ``-2`` ignored), else the largest, else the newest.

    Parameters
    ----------
    assignment : str
        The assignment's folder and notebook name, e.g. ``"hw1"``.
    source : str or os.PathLike
        The platform's zip or folder.
    dest : str or os.PathLike
        The ``submitted/`` folder to fill (created; other students' folders are left alone).
    roster : str or os.PathLike, optional
        CSV mapping the key (column ``ID``, ``id``, ``user_id``, ``canvas_id`` or ``participant_id``)
        to the student id (``student``, ``SIS Login ID``, ``login``, ``username`` or ``email``).
    fmt : {"canvas", "moodle", "nbgrader"}, optional
        Guessed from ``source`` when None.

    Returns
    -------
    CollectReport
        Also written to ``dest/COLLECT_REPORT.json``.

    Raises
    ------
    GraderError
        A bad assignment name, source, format or roster (the message says which and how to fix it).
    """
    source, dest = Path(source), Path(dest)
    if safe_id(assignment) != assignment:
        raise GraderError(f"assignment {assignment!r} is not a safe folder name; use letters, digits, "
                          "'_', '.' and '-', e.g. hw1")
    if not source.exists():
        raise GraderError(f"--from {source} does not exist; pass the zip (Canvas) or folder (Moodle, nbgrader)")
    fmt = fmt or _guess(source)
    if fmt not in FORMATS:
        raise GraderError(f"unknown format {fmt!r}; pass one of {', '.join(FORMATS)}")
    if dest.exists() and not dest.is_dir():
        raise GraderError(f"--to {dest} is a file; pass a folder (created when missing)")
    report = CollectReport(assignment, str(source), str(dest), fmt)
    keymap = _read_roster(Path(roster)) if roster is not None else None
    ids = {k: safe_id(v) for k, v in (keymap or {}).items()}
    seen: dict[str, str] = {}
    for k, v in sorted((keymap or {}).items()):
        if ids[k] is None:
            report.invalid.append({"key": k, "id": v, "reason": "roster id cannot be made a safe folder name"})
        elif seen.setdefault(ids[k].lower(), v) != v:  # one folder on a case-insensitive disk too
            raise GraderError(f"--roster {roster}: ids {seen[ids[k].lower()]!r} and {v!r} both become folder "
                              f"{ids[k]!r}; make them differ in letters or digits")
    skip = dest.resolve() if dest.resolve() != source.resolve() else None
    chosen: dict[str, list[tuple]] = {}
    held = 0
    for f in _entries(source, skip):
        parsed = _parse(fmt, f.path, assignment) if not f.problem and f.data is not None else None
        if f.problem or isinstance(parsed, str):
            report.unreadable.append({"file": f.path, "reason": f.problem or parsed})
            continue
        if parsed is None:
            report.ignored.append(f.path)
            continue
        key, name, sub, base = parsed
        try:
            nbformat.reads(f.data.decode("utf-8"), as_version=4)
        except Exception as e:  # anything nbformat cannot read is not gradable
            report.unreadable.append({"file": f.path, "key": key, "reason": f"not a notebook: {str(e)[:200]}"})
            continue
        if keymap is not None and key not in keymap:
            report.unmatched.append({"key": key, "name": name or key, "file": f.path})
            continue
        nice = safe_id(name[:40]) if name else None
        raw = keymap[key] if keymap is not None else f"{nice}-{key}".lower() if nice else key
        student = safe_id(raw)
        if student is None:
            report.invalid.append({"key": key, "id": raw, "file": f.path, "reason": "cannot be made a safe folder name"})
            continue
        named = re.sub(r"-\d+$", "", base.rsplit(".", 1)[0]).lower() == assignment.lower()
        chosen.setdefault(student, []).append((sub, named, len(f.data), f.mtime, key, f))
        held += len(f.data)
        if held > MAX_TOTAL:
            raise GraderError(f"--from {source} holds over {MAX_TOTAL / 2**30:g} GiB of notebooks; collect it in parts")
    for student, cands in sorted(chosen.items()):
        cands.sort(key=lambda c: c[:4], reverse=True)
        sub, _, _, _, key, best = cands[0]
        for c in cands[1:]:
            why = "another notebook of the same submission" if c[0] == sub else "an older submission"
            report.superseded.append({"student": student, "key": c[4], "file": c[5].path,
                                      "reason": f"{why}; collected {best.path}"})
        status = _write(dest / student / assignment / f"{assignment}.ipynb", best.data, dest)
        entry = {"student": student, "key": key, "file": best.path, "status": status}
        bad = [u["file"] for u in report.unreadable if u.get("key") in {c[4] for c in cands}]
        report.collected.append({**entry, "unreadable": bad} if bad else entry)
    report.missing = sorted({i for i in ids.values() if i} - set(chosen))
    dest.mkdir(parents=True, exist_ok=True)
    _write(dest / REPORT, (json.dumps(asdict(report), indent=1, ensure_ascii=False) + "\n").encode(), dest)
    return report
