"""AG News (``test.csv`` of the 2015 release): rows, quirks and the course splits.

The CSV has no header and three quoted columns: class index (1-4), title and
description. Quirks resolved by :func:`clean_field`:

* a backslash stands for a line break inside a field -> ``"\\n"``;
* numeric entities are written without the ampersand, e.g. ``#36;`` (``$``),
  ``#39;`` (``'``), ``#151;`` (an em dash: code points 128-159 follow Windows-1252,
  as HTML5 prescribes) -> decoded;
* named entities ``&lt;`` / ``&gt;`` / ``&amp;`` -> ``<``, ``>``, ``&``, also when the
  ampersand was lost (`` quot;`` 595 times, `` amp;`` 105 times; the text then
  holds markup such as ``<A HREF=...>`` and tickers such as ``<TXN.N>``, left as they are).

Split rule (deterministic, documented, independent of row order): within each class,
rows are ranked by ``sha256("ag_news/hidden/v1\\n" + raw title + "\\n" + raw description)``
and the 190 lowest form the ``"hidden"`` split (760 rows, 10 %); the other 6,840 rows
form the ``"student"`` split. Rows with identical text share a hash, so an exact
duplicate never straddles the two splits except at a class's cut-off.
"""
from __future__ import annotations

import csv
import hashlib
import html
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from source_data.errors import DataError
from source_data.download import dataset_path
from source_data.registry import data_dir, is_student_folder

AG_NEWS_CLASSES = ("World", "Sports", "Business", "Sci/Tech")
SPLITS = ("student", "hidden", "all")
HIDDEN_PER_CLASS = 190
SPLIT_SALT = "ag_news/hidden/v1"
STUDENT_FILE = "student.csv"

_BARE_ENTITY = re.compile(r"(?<!&)#(\d+);")
_BARE_NAMED = re.compile(r"(?<![&\w])(quot|amp|lt|gt);")


def clean_field(raw: str) -> str:
    """Resolve the AG News quirks in one CSV field.

    Parameters
    ----------
    raw : str
        A title or description as stored in the CSV (after CSV unquoting).

    Returns
    -------
    str
        The text with ``\\`` turned into line breaks and entities decoded.

    Examples
    --------
    >>> clean_field("a second\\\\team competing for the  #36;10 million")
    'a second\\nteam competing for the  $10 million'
    >>> clean_field("Mike#39;s job #151; &lt;TXN.N&gt;")
    "Mike's job — <TXN.N>"
    """
    text = raw.replace("\\", "\n")
    text = _BARE_ENTITY.sub(r"&#\1;", text)
    text = _BARE_NAMED.sub(r"&\1;", text)
    return html.unescape(text)


@dataclass(frozen=True)
class NewsRows:
    """AG News rows with aligned columns.

    Attributes
    ----------
    classes : np.ndarray [shape=(n,), dtype=int64]
        Class index 1-4 (``AG_NEWS_CLASSES[c - 1]`` names it).
    titles : list[str]
        Titles, quirks resolved.
    descriptions : list[str]
        Descriptions, quirks resolved.
    """

    classes: np.ndarray
    titles: list[str]
    descriptions: list[str]

    def __len__(self) -> int:
        return len(self.titles)

    def texts(self) -> list[str]:
        """``title + "\\n" + description`` of every row."""
        return [t + "\n" + d for t, d in zip(self.titles, self.descriptions)]

    def subset(self, index: np.ndarray | list[int] | slice) -> "NewsRows":
        """Return the rows selected by ``index`` (integer indices, a boolean mask or a slice)."""
        idx = np.arange(len(self))[index]
        return NewsRows(self.classes[idx], [self.titles[i] for i in idx], [self.descriptions[i] for i in idx])


def _read_raw(path: Path) -> list[tuple[int, str, str]]:
    rows = []
    with open(path, newline="", encoding="utf-8") as fh:
        for line_no, rec in enumerate(csv.reader(fh), 1):
            if len(rec) != 3 or not rec[0].isdigit() or not 1 <= int(rec[0]) <= 4:
                raise DataError(f"{path}: row {line_no} is not (class 1-4, title, description): {rec!r}; "
                                "re-run `make data` to restore the verified file")
            rows.append((int(rec[0]), rec[1], rec[2]))
    return rows


def _split_key(title: str, description: str) -> str:
    return hashlib.sha256(f"{SPLIT_SALT}\n{title}\n{description}".encode()).hexdigest()


def hidden_mask(rows: list[tuple[int, str, str]]) -> np.ndarray:
    """Boolean mask of the rows that belong to the hidden split (rule in the module docstring).

    Parameters
    ----------
    rows : list of (class, raw title, raw description)
        All 7,600 raw rows.

    Returns
    -------
    np.ndarray [shape=(len(rows),), dtype=bool]
    """
    mask = np.zeros(len(rows), dtype=bool)
    for cls in range(1, len(AG_NEWS_CLASSES) + 1):
        members = [i for i, r in enumerate(rows) if r[0] == cls]
        members.sort(key=lambda i: (_split_key(rows[i][1], rows[i][2]), i))
        mask[members[:HIDDEN_PER_CLASS]] = True
    return mask


@lru_cache(maxsize=4)
def _load_raw(path: Path, mtime: float) -> tuple[tuple[int, str, str], ...]:
    return tuple(_read_raw(path))


def _rows(split: str) -> list[tuple[int, str, str]]:
    if is_student_folder():
        if split != "student":
            raise DataError(f"split {split!r} is not available in a student data folder; only 'student' is")
        path = data_dir() / "ag_news" / STUDENT_FILE
        if not path.is_file():
            raise DataError(f"{path} is missing from the student data folder; ask for a new copy")
        return list(_load_raw(path, path.stat().st_mtime))
    path = dataset_path("ag_news") / "test.csv"
    rows = list(_load_raw(path, path.stat().st_mtime))
    if split == "all":
        return rows
    hidden = hidden_mask(rows)
    keep = hidden if split == "hidden" else ~hidden
    return [r for r, k in zip(rows, keep) if k]


def load_ag_news(split: str = "student") -> NewsRows:
    """Load the AG News rows of one course split, quirks resolved, in file order.

    Parameters
    ----------
    split : {"student", "hidden", "all"}
        6,840, 760 or 7,600 rows; see the module docstring for the rule.

    Returns
    -------
    NewsRows

    Raises
    ------
    DataError
        Unknown split, or ``"hidden"``/``"all"`` in a student-only data folder.

    Examples
    --------
    >>> news = load_ag_news("student")       # doctest: +SKIP
    >>> len(news), AG_NEWS_CLASSES[news.classes[0] - 1]
    (6840, 'Business')
    """
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; choose one of {SPLITS}")
    rows = _rows(split)
    return NewsRows(np.array([r[0] for r in rows], dtype=np.int64),
                    [clean_field(r[1]) for r in rows], [clean_field(r[2]) for r in rows])


def write_raw_csv(rows: list[tuple[int, str, str]], path: Path) -> None:
    """Write raw rows in the release's CSV format (every field quoted, ``""`` for a quote)."""
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n")
    for cls, title, desc in rows:
        writer.writerow([str(cls), title, desc])
    path.write_text(buf.getvalue(), encoding="utf-8")


def student_rows() -> list[tuple[int, str, str]]:
    """The raw rows of the student split (used to materialise a student data folder)."""
    return _rows("student")
