"""A corpus of your own: audio clips sorted into one folder per class.

For the speaker / voice classification assignment run on an instructor's recordings
(e.g. ``female`` / ``male``). The layout::

    ROOT/
        Train/<class>/*.wav         required
        Validation/<class>/*.wav    optional
        Test/<class>/*.wav

* Split folders are matched case-insensitively (``train``, ``TRAIN`` and ``Train`` all work).
* Class names are the folder names, any names; the label of a clip is the index of its class
  in ``classes``, which defaults to the **sorted class folders of Train** in every split, so
  labels agree across splits. A class folder in Validation or Test that Train lacks is an error.
* Audio files are ``.wav``, ``.flac`` or ``.ogg`` (suffix in any case), any sampling rate, mono
  or stereo: :func:`read_audio` averages the channels and resamples to the rate asked for.
  Hidden files and folders (name starting with ``.``) and files with other suffixes are ignored;
  symbolic links are followed. Class folders are not searched recursively.

Examples
--------
>>> train = load_class_folders("~/voices", "train")            # doctest: +SKIP
>>> train.classes, len(train), train.names[:2]
(('female', 'male'), 120, array(['female', 'female'], dtype='<U6'))
>>> x = load_signals(train, sr=16000, length=16000)             # doctest: +SKIP
>>> x.shape, x.dtype
((120, 16000), dtype('float32'))
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from source_data.errors import DataError

SPLITS = {"train": "Train", "validation": "Validation", "test": "Test"}
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
LAYOUT = "ROOT/Train/<class>/*.wav, ROOT/Validation/<class>/*.wav (optional), ROOT/Test/<class>/*.wav"


@dataclass(frozen=True)
class FolderClips:
    """The clips of one split of a class-folders corpus, with aligned labels.

    Attributes
    ----------
    paths : list[Path]
        The audio files, sorted by (class, file name).
    labels : np.ndarray [shape=(n,), dtype=int64]
        Class of each clip: an index into ``classes``.
    classes : tuple[str, ...]
        The class names (sorted Train class folders unless given), shared by every split.
    split : {"train", "validation", "test"}
        Which split the clips come from.
    """

    paths: list[Path]
    labels: np.ndarray
    classes: tuple[str, ...]
    split: str

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def names(self) -> np.ndarray:
        """np.ndarray [shape=(n,), dtype=str]: the class name of each clip."""
        return np.asarray(self.classes)[self.labels]

    def subset(self, index: np.ndarray | list[int] | slice) -> "FolderClips":
        """Return the clips selected by ``index`` (integer indices, a boolean mask or a slice)."""
        idx = np.arange(len(self))[index]
        return FolderClips([self.paths[i] for i in idx], self.labels[idx], self.classes, self.split)


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


def _is_audio(path: Path) -> bool:
    return _visible(path) and path.suffix.lower() in AUDIO_SUFFIXES


def _split_folder(root: Path, split: str) -> Path:
    """The folder of ``split`` under ``root``, its name matched case-insensitively."""
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise DataError(f"corpus folder {root} {what}; pass the folder that holds the splits, laid out as {LAYOUT}")
    found = sorted(p for p in root.iterdir() if p.is_dir() and p.name.lower() == split)
    if not found:
        seen = sorted(p.name for p in root.iterdir() if p.is_dir() and _visible(p))
        optional = " (Validation is optional: leave it out of your notebook if you have none)" \
            if split == "validation" else ""
        raise DataError(f"no {SPLITS[split]} folder in {root} (it holds folders {seen}){optional}; "
                        f"expected the layout {LAYOUT}")
    if len(found) > 1:
        raise DataError(f"{len(found)} folders name the {split!r} split in {root}: {[p.name for p in found]}; "
                        "keep one (names are matched case-insensitively)")
    return found[0]


def _class_folders(folder: Path) -> dict[str, Path]:
    """Class name -> folder, for the visible sub-folders of one split folder."""
    stray = sorted(p.name for p in folder.iterdir() if _is_audio(p))
    if stray:
        raise DataError(f"audio files directly in {folder} (e.g. {stray[0]!r}, {len(stray)} in all); "
                        f"move them into one folder per class, as in {LAYOUT}")
    classes = {p.name: p for p in folder.iterdir() if p.is_dir() and _visible(p)}
    if not classes:
        raise DataError(f"no class folders in {folder}; put each class's clips in a folder named after "
                        f"the class, as in {LAYOUT}")
    return classes


def _audio_files(folder: Path) -> list[Path]:
    files = sorted((p for p in folder.iterdir() if _is_audio(p)), key=lambda p: p.name)
    broken = [p.name for p in files if not p.is_file()]
    if broken:
        raise DataError(f"{folder} holds {broken[0]!r}, which is not a readable file (a broken link or a "
                        "folder?); fix or remove it")
    if not files:
        others = sorted(p.name for p in folder.iterdir() if _visible(p))
        hint = f" (it holds {others[:5]}{' ...' if len(others) > 5 else ''})" if others else " (it is empty)"
        raise DataError(f"class folder {folder} has no audio file{hint}; put {', '.join(AUDIO_SUFFIXES)} "
                        "files in it (sub-folders are not searched) or remove the folder")
    return files


def _check_classes(classes: Sequence[str]) -> tuple[str, ...]:
    if isinstance(classes, str):
        raise ValueError(f"classes must be a sequence of class names, got the string {classes!r}; "
                         f"pass e.g. ({classes!r},)")
    out = tuple(classes)
    if not out or not all(isinstance(c, str) and c for c in out):
        raise ValueError(f"classes must be a non-empty sequence of non-empty folder names, got {classes!r}")
    if len(set(out)) != len(out):
        raise ValueError(f"classes must not repeat a name, got {classes!r}")
    return out


def load_class_folders(root: str | Path, split: str, *, classes: Sequence[str] | None = None) -> FolderClips:
    """List the clips of one split of a class-folders corpus.

    Parameters
    ----------
    root : str or Path
        The corpus folder, holding ``Train/``, ``Test/`` and optionally ``Validation/``
        (``~`` is expanded).
    split : {"train", "validation", "test"}
        Which split; case-insensitive. The folder is found case-insensitively too.
    classes : sequence of str, optional
        The class names in label order. Default: the sorted names of the class folders of
        ``Train``, so that every split gets the same labels.

    Returns
    -------
    FolderClips
        The audio files of ``split``, sorted by (class, file name), and their labels.
        A class of ``classes`` without a folder in this split simply has no clips.

    Raises
    ------
    ValueError
        Unknown ``split`` or malformed ``classes``.
    DataError
        ``root`` or the split folder (or ``Train``, needed for the default ``classes``) is
        missing; a class folder not in ``classes``; a class folder without audio files; audio
        files outside a class folder.

    Examples
    --------
    >>> test = load_class_folders("~/voices", "Test")              # doctest: +SKIP
    >>> test.split, test.classes, test.labels[:3]
    ('test', ('female', 'male'), array([0, 0, 0]))
    """
    key = split.lower() if isinstance(split, str) else split
    if key not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {tuple(SPLITS)} (any case)")
    root = Path(root).expanduser()
    folders = _class_folders(_split_folder(root, key))
    if classes is None:
        train = folders if key == "train" else _class_folders(_split_folder(root, "train"))
        names = tuple(sorted(train))
    else:
        names = _check_classes(classes)
    unknown = sorted(set(folders) - set(names))
    if unknown:
        source = "the class folders of Train" if classes is None else "the classes given"
        raise DataError(f"class folder(s) {unknown} in {folders[unknown[0]].parent} are not among {source} "
                        f"{names}; every class needs training clips: add a Train/{unknown[0]}/ folder, "
                        "or rename or remove the folder")
    paths, labels = [], []
    for label, name in enumerate(names):
        if name in folders:
            files = _audio_files(folders[name])
            paths += files
            labels += [label] * len(files)
    return FolderClips(paths, np.array(labels, dtype=np.int64), names, key)


def _check_rate(sr: object) -> int:
    if isinstance(sr, bool) or not isinstance(sr, numbers.Integral) or sr <= 0:
        raise ValueError(f"sr must be a positive int sampling rate in Hz, got {sr!r}; e.g. sr=16000")
    return int(sr)


def read_audio(path: str | Path, *, sr: int) -> np.ndarray:
    """Read one audio file as a mono signal at ``sr`` Hz.

    Parameters
    ----------
    path : str or Path
        A ``.wav``, ``.flac`` or ``.ogg`` file (any format soundfile reads), any sampling rate,
        any number of channels.
    sr : int > 0
        The sampling rate wanted, in Hz.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
        The channels averaged, in [-1, 1] for integer PCM, resampled with ``librosa.resample``
        (soxr) when the file's rate differs from ``sr``: ``n = ceil(frames * sr / file_rate)``.

    Raises
    ------
    ValueError
        ``sr`` is not a positive int.
    DataError
        The file is missing, cannot be decoded, or holds no samples.
    """
    import soundfile as sf

    sr = _check_rate(sr)
    path = Path(path)
    if not path.is_file():
        raise DataError(f"audio file {path} does not exist (or is not a file); check the path")
    try:
        y, file_sr = sf.read(path, dtype="float32", always_2d=True)
    except (RuntimeError, sf.SoundFileError) as exc:  # LibsndfileError is both
        raise DataError(f"cannot read {path} as audio ({exc}); convert it to WAV, FLAC or OGG "
                        "(e.g. `ffmpeg -i IN -ac 1 OUT.wav`) or remove it from the corpus") from exc
    if y.shape[0] == 0:
        raise DataError(f"audio file {path} holds no samples; re-record or remove it")
    y = y.mean(axis=1, dtype=np.float32)
    if file_sr != sr:
        import librosa

        y = librosa.resample(y, orig_sr=file_sr, target_sr=sr)
    return np.ascontiguousarray(y, dtype=np.float32)


def load_signals(clips: FolderClips, *, sr: int, length: int) -> np.ndarray:
    """Read every clip at ``sr`` Hz into one array, each cut or zero-padded to ``length``.

    Parameters
    ----------
    clips : FolderClips
        The clips, e.g. from :func:`load_class_folders`.
    sr : int > 0
        The sampling rate, in Hz.
    length : int > 0
        Samples per clip: longer clips keep their first ``length`` samples, shorter ones get
        zeros at the end.

    Returns
    -------
    np.ndarray [shape=(len(clips), length), dtype=float32]
        Row ``i`` is :func:`read_audio` of ``clips.paths[i]``, cut or padded.

    Raises
    ------
    ValueError
        ``sr`` or ``length`` is not a positive int.
    DataError
        A clip cannot be read (see :func:`read_audio`).
    """
    sr = _check_rate(sr)
    if isinstance(length, bool) or not isinstance(length, numbers.Integral) or length <= 0:
        raise ValueError(f"length must be a positive int number of samples, got {length!r}; "
                         f"e.g. length={sr} for one second at sr={sr}")
    out = np.zeros((len(clips), int(length)), dtype=np.float32)
    for i, path in enumerate(clips.paths):
        y = read_audio(path, sr=sr)[:length]
        out[i, :y.size] = y
    return out
