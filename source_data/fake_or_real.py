"""Fake or real speech: the anti-spoofing corpus of assignment 3 -- its rule, its splits, its loader.

The corpus is built from the verified FSDD clips by :mod:`source_data.fake_or_real_build`
(``make data``; the instructor's side: it is not in the students' hand-out):

* **real** -- FSDD clips (``fsdd``, verified against its manifest).
* **fake** -- four attack families, all pip-installable and model-free (:mod:`source_data.spoof_attacks`):
  ``tts`` (eSpeak NG speaking the digit word), ``world`` (WORLD vocoder re-synthesis with a
  scaled F0), ``griffinlim`` (Griffin-Lim inversion of a mel spectrogram) and ``lpc`` (LPC
  re-synthesis; **only in the hidden split**: the unseen attack).

Every clip, of either class, goes through one rule (:func:`finish`): resampled to 8 kHz mono,
silence-trimmed, RMS-normalised, cut or zero-padded to one second, written as 16-bit PCM.

Splits without leakage: a fake derived from a real clip belongs to that clip's split. Among the
student takes 5-49 of FSDD, takes 5-9 are ``testing``, 10-14 ``validation`` and 15-49
``training``; the hidden split (grader only) is made from takes 0-4 and voices no student split
has, with parameters keyed by the instructor's secret (:mod:`source_data.secret`). Layout of
the built folder::

    fake_or_real-v1/
        student/{training,validation,testing}/{fake,real}/*.wav
        student/labels.csv             id, path, label, attack, split
        hidden/{fake,real}/*.wav       (not in a student data folder)
        hidden/labels.csv
        MANIFEST.sha256                sha256 of every file above
        BUILD.json                     builder version, seed, counts, seconds (written last)

:func:`load_fake_or_real` verifies every file against the manifest before it returns paths.
"""
from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from source_data.errors import DataError
from source_data.registry import data_dir

BUILDER_VERSION = 1
FOLDER = f"fake_or_real-v{BUILDER_VERSION}"
SAMPLE_RATE = 8000
SEGMENT = SAMPLE_RATE          # samples per clip: one second
TOP_DB = 30.0                  # silence trimming threshold of `finish`
TRIM_FRAME = 256               # its analysis frame (32 ms at 8 kHz; hop a quarter of it)
LEVELS_DB = (-26.0, -14.0)     # every clip's RMS level is drawn from this range (dBFS)
PEAK = 0.99
LABELS = ("real", "fake")
ATTACKS = ("tts", "world", "griffinlim", "lpc")
SEEN_ATTACKS = ("tts", "world", "griffinlim")
STUDENT_SPLITS = ("training", "validation", "testing")


# ----------------------------------------------------------------------------- the shared rule

def finish(y: np.ndarray, sr: int, level_db: float = -20.0) -> np.ndarray:
    """Apply the corpus rule that every clip, real or fake, goes through.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio, float or int16.
    sr : int
        Its sampling rate in Hz.
    level_db : float
        RMS level of the result in dBFS. :func:`source_data.fake_or_real_build.plan` draws it per clip from ``LEVELS_DB`` for
        both classes, so that level carries no label.

    Returns
    -------
    np.ndarray [shape=(8000,), dtype=int16]
        Resampled to 8 kHz, silence trimmed at ``TOP_DB`` below the clip's peak (32 ms frames), cut to its
        first second, scaled to an RMS of ``level_db`` (peaks clipped at 0.99), then zero-padded
        at the end to one second.

    Raises
    ------
    DataError
        If the clip is empty or silent (nothing left after trimming).
    """
    import librosa

    x = np.asarray(y, dtype=np.float64)
    if x.dtype.kind == "i" or np.abs(x).max(initial=0.0) > 1.5:
        x = x / 32768.0
    if sr != SAMPLE_RATE:
        x = librosa.resample(x, orig_sr=sr, target_sr=SAMPLE_RATE, res_type="soxr_hq")
    if x.size == 0 or not np.any(x):
        raise DataError("a clip is empty or silent; the corpus builder cannot use it")
    x, _ = librosa.effects.trim(x, top_db=TOP_DB, frame_length=TRIM_FRAME, hop_length=TRIM_FRAME // 4)
    x = x[:SEGMENT]
    rms = float(np.sqrt(np.mean(x ** 2)))
    if rms == 0.0:
        raise DataError("a clip is silent after trimming; the corpus builder cannot use it")
    x = np.clip(x * (10 ** (level_db / 20) / rms), -PEAK, PEAK)
    out = np.zeros(SEGMENT)
    out[:x.size] = x
    return np.round(out * 32767).astype(np.int16)


def verify(root: Path) -> None:
    """Check every file of a built corpus against its ``MANIFEST.sha256``.

    Raises
    ------
    DataError
        If the build is incomplete (no ``BUILD.json``), a listed file is missing or differs,
        or a ``.wav`` file is not listed; the message names the file and the fix.
    """
    fix = "remove the folder and run `make data` again"
    if not (root / "BUILD.json").is_file() or not (root / "MANIFEST.sha256").is_file():
        raise DataError(f"{root} is not a complete fake_or_real build (BUILD.json or MANIFEST.sha256 "
                        f"missing); {fix}")
    listed = {}
    for line in (root / "MANIFEST.sha256").read_text().splitlines():
        digest, _, rel = line.partition("  ")
        listed[rel] = digest
    for rel, digest in listed.items():
        path = root / rel
        if not path.is_file():
            raise DataError(f"{path} is missing from the fake_or_real corpus; {fix}")
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if actual != digest:
            raise DataError(f"{path}: sha256 {actual} differs from the manifest's {digest}; {fix}")
    for path in root.rglob("*.wav"):
        rel = path.relative_to(root).as_posix()
        if rel not in listed:
            raise DataError(f"{path} is not in the fake_or_real manifest; {fix}")


@dataclass(frozen=True)
class SpoofClips:
    """Clips of the fake-or-real corpus with aligned metadata.

    Attributes
    ----------
    paths : list[Path]
        The ``.wav`` files (8 kHz, 8,000 samples each), sorted by id.
    labels : np.ndarray [shape=(n,), dtype=int64]
        1 for fake, 0 for real.
    attacks : np.ndarray [shape=(n,), dtype=str]
        Attack family of each fake (``""`` for real clips).
    splits : np.ndarray [shape=(n,), dtype=str]
        ``training``/``validation``/``testing`` or ``hidden``.
    ids : np.ndarray [shape=(n,), dtype=str]
        Clip ids (file stems).
    """

    paths: list[Path]
    labels: np.ndarray
    attacks: np.ndarray
    splits: np.ndarray
    ids: np.ndarray

    def __len__(self) -> int:
        return len(self.paths)


def load_fake_or_real(split: str = "training", root: Path | None = None) -> SpoofClips:
    """List the verified clips of one split of the fake-or-real corpus.

    Parameters
    ----------
    split : {"training", "validation", "testing", "student", "hidden"}
        One student split, the whole student part, or the hidden split (grader only).
    root : Path, optional
        The built corpus; default ``<data dir>/fake_or_real-v1``.

    Returns
    -------
    SpoofClips

    Raises
    ------
    DataError
        Unknown split, a corpus not built or not complete, a file that differs from the
        manifest, or ``"hidden"`` asked for in a student data folder.
    """
    valid = STUDENT_SPLITS + ("student", "hidden")
    if split not in valid:
        raise DataError(f"unknown split {split!r}; choose one of {valid}")
    root = Path(root) if root is not None else data_dir() / FOLDER
    if not root.exists():
        raise DataError(f"the fake_or_real corpus is not built at {root}; run `make data`")
    verify(root)
    if split == "hidden" and json.loads((root / "BUILD.json").read_text()).get("part") == "student":
        raise DataError(f"split 'hidden' is not available in a student data folder ({root}); only "
                        f"{STUDENT_SPLITS + ('student',)} are")
    part = "hidden" if split == "hidden" else "student"
    rows = []
    with open(root / part / "labels.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if split in ("student", "hidden") or row["split"] == split:
                rows.append(row)
    rows.sort(key=lambda r: r["id"])
    return SpoofClips([root / part / r["path"] for r in rows],
                      np.array([LABELS.index(r["label"]) for r in rows], dtype=np.int64),
                      np.array([r["attack"] for r in rows]), np.array([r["split"] for r in rows]),
                      np.array([r["id"] for r in rows]))
