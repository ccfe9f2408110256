"""Materialise the student part of every dataset into a folder of its own.

This is what an instructor hands out (or what the grader mounts while it runs a
submission): it holds the student split only, so hidden clips and rows cannot be
read from it, and loaders pointed at it (``KIT_DATA_DIR``) refuse other splits.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from source_data import ag_news, fake_or_real, fake_or_real_build, spoken_digits
from source_data.errors import DataError
from source_data.download import STAMP
from source_data.registry import STUDENT_MARKER, dataset

STUDENT_LAYOUT = 2   # what a student folder holds; 2: the fake_or_real corpus was added


def is_current_student_folder(root: str | os.PathLike) -> bool:
    """True when ``root`` is a student folder holding every dataset of this version of the kit."""
    marker = Path(root) / STUDENT_MARKER
    try:
        return json.loads(marker.read_text()).get("layout") == STUDENT_LAYOUT
    except (OSError, ValueError, AttributeError):
        return False


def materialise_student(dest: str | os.PathLike, *, link: bool = False) -> Path:
    """Write the student split of every dataset into ``dest`` (atomically).

    Parameters
    ----------
    dest : str or path-like
        Target folder; must not exist or be a previous student folder (then it is replaced).
    link : bool, keyword-only
        Hard-link the wav files instead of copying them (same file system only).

    Returns
    -------
    Path
        ``dest``, laid out like the cache: ``fsdd-v1.0.10/recordings/*.wav`` (2,700 clips,
        takes 5-49), ``ag_news/student.csv`` (6,840 raw rows) and ``fake_or_real-v1/student/``
        (5,400 clips; the corpus is built first if it is not), plus ``STUDENT_ONLY.json``.

    Raises
    ------
    DataError
        If ``dest`` exists and is not a student folder (nothing is overwritten).

    Examples
    --------
    >>> materialise_student("handout/data")     # doctest: +SKIP
    >>> # students: export KIT_DATA_DIR=handout/data
    """
    dest = Path(dest).resolve()
    if dest.exists() and not (dest / STUDENT_MARKER).is_file():
        raise DataError(f"{dest} exists and is not a student data folder; choose an empty path")
    clips = spoken_digits.load_spoken_digits("student")
    rows = ag_news.student_rows()
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".tmp-{dest.name}-", dir=dest.parent))
    try:
        fsdd = work / dataset("fsdd").folder
        (fsdd / "recordings").mkdir(parents=True)
        for path in clips.paths:
            target = fsdd / "recordings" / path.name
            if link:
                os.link(path, target)
            else:
                shutil.copyfile(path, target)
        (fsdd / STAMP).write_text(json.dumps({"dataset": "fsdd", "files": len(clips), "split": "student"}))
        news = work / dataset("ag_news").folder
        news.mkdir()
        ag_news.write_raw_csv(rows, news / ag_news.STUDENT_FILE)
        (news / STAMP).write_text(json.dumps({"dataset": "ag_news", "rows": len(rows), "split": "student"}))
        spoof = fake_or_real_build.copy_student_part(work / fake_or_real.FOLDER, link=link)
        (work / STUDENT_MARKER).write_text(json.dumps(
            {"layout": STUDENT_LAYOUT, "fsdd_clips": len(clips), "ag_news_rows": len(rows),
             "fake_or_real_clips": spoof,
             "note": "student split only; hidden data is not in this folder"}, indent=1))
        if dest.exists():
            shutil.rmtree(dest)
        os.rename(work, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest
