"""The gradebook folder of one assignment, written atomically.

::

    gradebook/<assignment>/
        grades.csv                one row per student: a column per check, total, max, manual, status, reason
        results/<student>.json    Gradescope autograder format
        feedback/<student>.html   what the student reads (no check source)
        executed/<student>.ipynb  the executed notebook
        runs/<student>/...        the TensorBoard logs it wrote (``make tensorboard``)
        logs/<student>.log        the instructor's log (tracebacks of the checks, sandbox report)
        checks.json               the checks graded (points, messages)
        cache/                    executions (by submission hash), records, reference module

Every file is written to a temporary name and moved into place (``os.replace``), so a
grader killed at any moment leaves either the old or the new file, never half of one.
"""
from __future__ import annotations

import csv
import io
import json
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable

from grader.errors import GraderError
from grader.record import Record

__all__ = ["FORMULA_STARTS", "Gradebook", "atomic_write", "copy_tree_safely", "grades_table", "gradescope_results",
           "spreadsheet_text"]


def atomic_write(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def copy_tree_safely(src: Path, dst: Path, *, max_bytes: int | None = None) -> int:
    """Copy regular files and folders only (symlinks, devices and fifos are skipped).

    A submission may leave a symlink to a file it could not read itself; copying it with
    the grader's rights would leak that file. Returns the bytes copied; stops at ``max_bytes``.
    """
    copied = 0
    if not src.is_dir() or src.is_symlink():
        return 0
    dst.mkdir(parents=True, exist_ok=True)
    for entry in sorted(os.scandir(src), key=lambda e: e.name):
        target = dst / entry.name
        if entry.is_symlink():
            continue
        if entry.is_dir(follow_symlinks=False):
            copied += copy_tree_safely(Path(entry.path), target,
                                       max_bytes=None if max_bytes is None else max_bytes - copied)
        elif entry.is_file(follow_symlinks=False):
            size = entry.stat(follow_symlinks=False).st_size
            if max_bytes is not None and copied + size > max_bytes:
                continue
            shutil.copyfile(entry.path, target, follow_symlinks=False)
            copied += size
    return copied


class Gradebook:
    """Paths of ``<out>/<assignment>/``."""

    def __init__(self, out: str | os.PathLike, assignment: str):
        self.root = Path(out).resolve() / assignment
        self.assignment = assignment

    def dir(self, name: str) -> Path:
        p = self.root / name
        p.mkdir(parents=True, exist_ok=True)
        return p

    @property
    def cache(self) -> Path:
        return self.dir("cache")

    def hidden_key(self) -> str:
        """The gradebook's key of disguised hidden clips (:mod:`grader.disguise`), made once.

        64 random hex digits in ``cache/hidden_key`` (mode 600), written the first time a batch
        grades into this gradebook; later batches, resumes and rescoring read it, so a grade does
        not change between runs, while another gradebook (another class, another term) gets
        another key.
        """
        path = self.cache / "hidden_key"
        if not path.exists():   # written whole, then linked into place: a concurrent batch reads one key
            fd, tmp = tempfile.mkstemp(prefix=".hidden_key-", dir=self.cache)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32) + "\n")
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                os.unlink(tmp)
        key = path.read_text().strip()
        if len(key) != 64:
            raise GraderError(f"{path} holds no key (64 hex digits); delete it to make a new one "
                              "(grades that depend on disguised hidden clips may then change)")
        return key

    def record_path(self, student: str) -> Path:
        return self.dir("cache/records") / f"{student}.json"

    def execution_dir(self, submission_sha: str) -> Path:
        return self.dir("cache/executions") / submission_sha

    def read_record(self, student: str) -> Record | None:
        """The student's record, or None when there is none (or it is not a record)."""
        try:
            return Record.from_dict(json.loads(self.record_path(student).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None

    def records(self, students: Iterable[str]) -> list[Record]:
        """The records of ``students`` that exist, in that order."""
        return [r for r in (self.read_record(s) for s in students) if r is not None]

    def publish(self, record: Record, execution: Path | None = None) -> None:
        """Write a graded student's outputs: results, feedback, executed notebook, runs, then the record.

        ``execution`` is the cached execution folder of the submission (``executed.ipynb`` and
        ``runs/``), or None. The record goes last: it marks the student as done, so a grader
        killed in between grades the student again instead of leaving outputs half-written.
        """
        from grader.feedback import render_feedback

        s = record.student
        atomic_write(self.dir("results") / f"{s}.json", json.dumps(gradescope_results(record), indent=1))
        atomic_write(self.dir("feedback") / f"{s}.html", render_feedback(record))
        if execution is not None and (execution / "executed.ipynb").is_file():
            atomic_write(self.dir("executed") / f"{s}.ipynb", (execution / "executed.ipynb").read_bytes())
            runs = self.dir("runs") / s
            stage = self.dir("runs") / f".tmp-{s}-{os.getpid()}"
            shutil.rmtree(stage, ignore_errors=True)
            copy_tree_safely(execution / "runs", stage)
            shutil.rmtree(runs, ignore_errors=True)
            if stage.exists():
                os.rename(stage, runs)
        atomic_write(self.record_path(s), record.to_json())


def gradescope_results(record: Record) -> dict:
    """The Gradescope ``results.json`` of one record.

    Manually graded cells appear as tests named ``manual: <grade_id>`` with score 0 and the
    output "manual grading pending"; they are not in ``score``.
    """
    tests = []
    for c in record.checks:
        tests.append({"name": c.name, "score": c.score, "max_score": c.max_score,
                      "output": f"[{c.outcome.value.replace('_', ' ')}] " + (c.output or ""),
                      "visibility": c.visibility})
    for m in record.manual:
        tests.append({"name": f"manual: {m['grade_id']}", "score": 0.0, "max_score": m["points"],
                      "output": "manual grading pending", "visibility": "visible"})
    summary = [f"status: {record.status.value}"]
    if record.reason:
        summary.append(f"reason: {record.reason}")
    return {"score": record.score, "execution_time": round(record.seconds, 1),
            "output": "\n".join(summary), "visibility": "visible", "stdout_visibility": "hidden",
            "tests": tests}


#: what a spreadsheet reads as the start of a formula (OWASP's list for CSV injection)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: str) -> str:
    """``value`` as a CSV text cell no spreadsheet runs as a formula.

    A student folder named ``=HYPERLINK("http://x", "open me")`` (an LMS download can make one from
    a display name) would otherwise become a live formula in the instructor's spreadsheet.

    Parameters
    ----------
    value : str
        Text from a student (a folder name) or from grading (a reason).

    Returns
    -------
    str
        ``value`` with a ``'`` in front when it starts with one of :data:`FORMULA_STARTS`
        (spreadsheets show the rest as text), and carriage returns turned into line feeds (the CSV
        writer quotes a field with a line feed, not one with a lone carriage return, which
        would split the row).

    Examples
    --------
    >>> spreadsheet_text("=1+1"), spreadsheet_text("ada")
    ("'=1+1", 'ada')
    """
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    return f"'{text}" if value.startswith(FORMULA_STARTS) else text


def grades_table(records: list[Record], checks: list[dict], manual: list[dict]) -> str:
    """``grades.csv`` text: one row per record, sorted by student.

    Text cells that a spreadsheet would run as a formula are neutralised (:func:`spreadsheet_text`).
    Columns: ``student``, one per check (its score), ``manual:<grade_id>`` (``pending``),
    ``total`` (automatic points), ``max`` (automatic maximum), ``manual_max`` (points still to
    be graded by hand), ``status`` and ``reason``.
    """
    cols = [c["column"] for c in checks]
    mcols = [f"manual:{m['grade_id']}" for m in manual]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["student", *cols, *mcols, "total", "max", "manual_max", "status", "reason"])
    for r in sorted(records, key=lambda r: r.student):
        by_node = {c.nodeid: c for c in r.checks}
        row: list[Any] = [spreadsheet_text(r.student)]
        for c in checks:
            got = by_node.get(c["nodeid"])
            row.append(_num(got.score) if got else 0)
        row += ["pending"] * len(mcols)
        row += [_num(r.score), _num(r.max_score), _num(sum(m["points"] for m in manual)), r.status.value,
                spreadsheet_text(r.reason)]
        w.writerow(row)
    return buf.getvalue()


def _num(x: float) -> str:
    return f"{x:g}"
