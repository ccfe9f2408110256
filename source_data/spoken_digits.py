"""Free Spoken Digit Dataset (FSDD v1.0.10): clips, labels and the course splits.

File names are ``{digit}_{speaker}_{take}.wav``: 6 speakers x 10 digits x 50 takes,
mono 16-bit PCM at 8 kHz. The course splits follow FSDD's official test split:

* ``"student"`` -- takes 5-49 of every speaker and digit (2,700 clips). The only
  part students ever receive.
* ``"hidden"`` -- takes 0-4 (300 clips), the official FSDD test split. Used by the
  grader only.
* ``"all"`` -- all 3,000 clips.

:func:`speaker_folds` gives a leave-one-speaker-out view for reporting how a model
generalises to an unseen voice (much harder than unseen takes of known voices).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from source_data.errors import DataError
from source_data.download import dataset_path
from source_data.registry import is_student_folder

SPLITS = ("student", "hidden", "all")
HIDDEN_TAKES = range(0, 5)
SPEAKERS = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")
SAMPLE_RATE = 8000


@dataclass(frozen=True)
class DigitClips:
    """A set of spoken-digit clips with aligned metadata.

    Attributes
    ----------
    paths : list[Path]
        The ``.wav`` files, sorted by (speaker, digit, take).
    digits : np.ndarray [shape=(n,), dtype=int64]
        Spoken digit 0-9 of each clip.
    speakers : np.ndarray [shape=(n,), dtype=str]
        Speaker name of each clip.
    takes : np.ndarray [shape=(n,), dtype=int64]
        Take index 0-49 of each clip.
    """

    paths: list[Path]
    digits: np.ndarray
    speakers: np.ndarray
    takes: np.ndarray

    def __len__(self) -> int:
        return len(self.paths)

    def subset(self, index: np.ndarray | list[int] | slice) -> "DigitClips":
        """Return the clips selected by ``index`` (integer indices, a boolean mask or a slice)."""
        idx = np.arange(len(self))[index]
        return DigitClips([self.paths[i] for i in idx], self.digits[idx], self.speakers[idx], self.takes[idx])


def _parse(path: Path) -> tuple[int, str, int]:
    try:
        digit, speaker, take = path.stem.split("_")
        return int(digit), speaker, int(take)
    except ValueError as exc:
        raise DataError(f"unexpected file name {path.name!r} in {path.parent}; expected "
                        "'{digit}_{speaker}_{take}.wav' -- re-run `make data`") from exc


def load_spoken_digits(split: str = "student") -> DigitClips:
    """List the clips of one course split.

    Parameters
    ----------
    split : {"student", "hidden", "all"}
        Which clips; see the module docstring.

    Returns
    -------
    DigitClips
        2,700 clips for ``"student"``, 300 for ``"hidden"``, 3,000 for ``"all"``.

    Raises
    ------
    DataError
        Unknown split, or ``"hidden"``/``"all"`` asked for in a student-only data folder.

    Examples
    --------
    >>> clips = load_spoken_digits("student")        # doctest: +SKIP
    >>> len(clips), clips.digits[:3], clips.speakers[0]
    (2700, array([0, 0, 0]), 'george')
    """
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; choose one of {SPLITS}")
    if split != "student" and is_student_folder():
        raise DataError(f"split {split!r} is not available in a student data folder; only 'student' is")
    folder = dataset_path("fsdd") / "recordings"
    rows = []
    for path in folder.glob("*.wav"):
        digit, speaker, take = _parse(path)
        hidden = take in HIDDEN_TAKES
        if split == "all" or (split == "hidden") == hidden:
            rows.append((speaker, digit, take, path))
    rows.sort()
    if not rows:
        raise DataError(f"no clips of split {split!r} in {folder}; re-run `make data`")
    speakers, digits, takes, paths = zip(*rows)
    return DigitClips(list(paths), np.array(digits, dtype=np.int64), np.array(speakers),
                      np.array(takes, dtype=np.int64))


def speaker_folds(split: str = "student") -> Iterator[tuple[str, DigitClips, DigitClips]]:
    """Leave-one-speaker-out view of a split, for reporting generalisation to unseen voices.

    Parameters
    ----------
    split : {"student", "hidden", "all"}
        The clips to fold.

    Yields
    ------
    speaker : str
        The held-out speaker.
    train : DigitClips
        Clips of the other five speakers.
    test : DigitClips
        Clips of ``speaker``.
    """
    clips = load_spoken_digits(split)
    for speaker in SPEAKERS:
        held = clips.speakers == speaker
        yield speaker, clips.subset(~held), clips.subset(held)
