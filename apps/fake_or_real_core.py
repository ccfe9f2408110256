"""The logic of assignment 3's app: is a recording real speech or a fake?

The Streamlit page (``apps/fake_or_real.py``, ``make app``) only lays out what this module
computes, so that everything it shows can be tested without a browser.

* :func:`list_detectors` / :func:`load_detector` -- the saved detectors: the reference LSTM of
  ``artifacts/app/`` (trained by :func:`train_reference` on first use) and any model a student's
  notebook saved in ``artifacts/a3/`` with its ``normaliser.npz``.
* :func:`read_audio` -- a ``.wav``/``.flac``/``.ogg`` file checked and decoded at the detector's
  rate; every bad input raises :class:`AppError` with a message that names the bad value and the fix.
* :func:`analyse` / :func:`analyse_upload` -- P(fake) of a file through the master's own
  ``predict_fake`` (the function the grader scores), and the score over time of a clip longer than
  the model's one-second window (:func:`window_scores`, a sliding window through the master's
  feature path).

The features, the normaliser and the model come from the master notebook's answer cells
(:func:`authoring.reference.reference_module`); nothing of them is written here a second time.

Command line::

    python -m apps.fake_or_real_core train [--out artifacts/app] [--epochs 12] [--limit N] [--seed 0]
"""
from __future__ import annotations

import argparse
import functools
import io
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Sequence

import numpy as np

__all__ = ["AppError", "Analysis", "Audio", "Detector", "DetectorChoice", "Example", "ASSIGNMENT", "FORMATS",
           "HOP_SECONDS", "MAX_SECONDS", "SUFFIXES", "analyse", "analyse_upload", "answers", "cached_detector",
           "default_model_dir", "examples", "list_detectors", "load_detector", "main", "read_audio", "threshold",
           "train_reference", "verdict", "window_scores", "window_starts"]

ASSIGNMENT = "a3_fake_or_real"
REPO = Path(__file__).resolve().parents[1]
MODEL_DIR_ENV = "KIT_APP_MODEL_DIR"          # overrides the folder of the reference detector (tests)
DEFAULT_MODEL_DIR = Path("artifacts") / "app"
STUDENT_ARTIFACTS = Path("assignments") / "artifacts" / "a3"   # where `make lab`'s notebook saves
SUFFIXES = (".wav", ".flac", ".ogg")
FORMATS = ".wav, .flac or .ogg"
MAX_SECONDS = 600.0                          # the length cap of an input: 10 minutes
HOP_SECONDS = 0.25                           # hop of the sliding window
REFERENCE_NAME = "lstm"                      # the reference detector: the master's LSTM


class AppError(ValueError):
    """An input the app cannot use: a bad audio file, a missing or broken detector.

    The message names the bad value (file, extension, length, folder) and says how to fix it;
    the page shows it as it is, never a traceback.
    """


# --------------------------------------------------------------------------------------------
# the master's answers and the grader's loaders


@functools.lru_cache(maxsize=1)
def answers() -> ModuleType:
    """The master's answers module of assignment 3 (features, normaliser, models, ``predict_fake``).

    Returns
    -------
    module
        :func:`authoring.reference.reference_module` of ``a3_fake_or_real``, imported once per
        process (it imports TensorFlow: a few seconds).
    """
    from authoring.reference import reference_module

    return reference_module(ASSIGNMENT)


def _evaluate() -> ModuleType:
    """``grader.checks.a3_fake_or_real.evaluate`` (``load_model``, ``load_normaliser``, ``MODEL_KINDS``)."""
    from authoring.reference import evaluator

    return evaluator(ASSIGNMENT)


def _resolve(folder: str | os.PathLike) -> Path:
    path = Path(folder).expanduser()
    return path if path.is_absolute() else REPO / path


def default_model_dir() -> Path:
    """Folder of the reference detector: ``$KIT_APP_MODEL_DIR``, else ``<repo>/artifacts/app``."""
    return _resolve(os.environ.get(MODEL_DIR_ENV) or DEFAULT_MODEL_DIR)


# --------------------------------------------------------------------------------------------
# detectors


@dataclass(frozen=True)
class DetectorChoice:
    """A saved detector the page offers.

    Attributes
    ----------
    label : str
        What the selectbox shows.
    folder : Path
        Its folder (the ``.keras`` file and ``normaliser.npz``).
    name : str
        The model's file stem, a key of the grader's ``MODEL_KINDS`` (``lstm``, ``fusion_relu``, ...).
    """

    label: str
    folder: Path
    name: str


@dataclass(frozen=True)
class Detector:
    """A loaded detector with its training normaliser.

    Attributes
    ----------
    name : str
        Model name (``lstm``, ``fusion_relu``, ``fusion_gelu``).
    kind : {"lstm", "fusion"}
        Its inputs, the ``kind`` argument of ``predict_fake``.
    model : keras.Model
    mean, std : np.ndarray [shape=(N_FEATURES,), dtype=float32]
        The normaliser fitted on the training split.
    folder : Path
    """

    name: str
    kind: str
    model: Any
    mean: np.ndarray
    std: np.ndarray
    folder: Path


def list_detectors(student_dir: str | os.PathLike | None = STUDENT_ARTIFACTS) -> list[DetectorChoice]:
    """The detectors the page offers: the reference LSTM first, then a student's saved models.

    Parameters
    ----------
    student_dir : path-like or None
        A notebook's ``artifacts/a3`` folder (relative paths are taken from the repository root);
        its ``<name>.keras`` files whose name the grader knows are listed. None: none.

    Returns
    -------
    list of DetectorChoice
        The reference detector (whether it is trained yet or not: :func:`load_detector` says how to
        train it), then the student's models in the grader's order.
    """
    choices = [DetectorChoice(f"reference LSTM ({_shown(default_model_dir())})", default_model_dir(),
                              REFERENCE_NAME)]
    if student_dir is not None and str(student_dir).strip():
        folder = _resolve(student_dir)
        for name in _evaluate().MODEL_KINDS:
            if (folder / f"{name}.keras").is_file():
                choices.append(DetectorChoice(f"student {name} ({_shown(folder)})", folder, name))
    return choices


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def load_detector(folder: str | os.PathLike, name: str = REFERENCE_NAME) -> Detector:
    """Load ``folder/<name>.keras`` and ``folder/normaliser.npz``.

    Parameters
    ----------
    folder : path-like
        ``artifacts/app`` (the reference detector) or a notebook's ``artifacts/a3``.
    name : str
        A model name of the grader's ``MODEL_KINDS``.

    Returns
    -------
    Detector

    Raises
    ------
    AppError
        The name is unknown, a file is missing (the message says how to make it), the model does
        not load or does not take the inputs of its kind, or the normaliser is malformed.
    """
    evaluate = _evaluate()
    folder = _resolve(folder)
    if name not in evaluate.MODEL_KINDS:
        raise AppError(f"unknown detector {name!r}; choose one of {sorted(evaluate.MODEL_KINDS)}")
    reference = folder == default_model_dir() and name == REFERENCE_NAME
    fix = ("run `make app` (it trains the reference detector first) or `python -m apps.fake_or_real_core train`"
           if reference else "run the assignment 3 notebook to the end (it saves the models and normaliser.npz there)")
    for needed in (f"{name}.keras", "normaliser.npz"):
        if not (folder / needed).is_file():
            raise AppError(f"{_shown(folder / needed)} is missing; {fix}")
    answers()   # the reference answers first, as the grader imports them
    try:
        model = evaluate.load_model(folder, name)
    except Exception as e:   # a truncated or foreign .keras file: any error of Keras' loader
        raise AppError(f"{_shown(folder / (name + '.keras'))} does not load as a Keras model "
                       f"({type(e).__name__}: {e}); {fix}") from None
    try:
        mean, std = evaluate.load_normaliser(folder)
    except (OSError, ValueError) as e:
        raise AppError(f"{_shown(folder / 'normaliser.npz')}: {e}; {fix}") from None
    kind = evaluate.MODEL_KINDS[name]
    n_inputs = 2 if kind == "lstm" else 3
    if len(model.inputs) != n_inputs:
        raise AppError(f"{_shown(folder / (name + '.keras'))} takes {len(model.inputs)} inputs, but a {kind} "
                       f"detector takes {n_inputs}; save the model under the name of its kind")
    if mean.shape != (answers().N_FEATURES,):
        raise AppError(f"{_shown(folder / 'normaliser.npz')} holds {mean.shape[0]} features, the detector takes "
                       f"{answers().N_FEATURES}; {fix}")
    return Detector(name, kind, model, mean, std, folder)


def cached_detector(choice: DetectorChoice) -> Detector:
    """:func:`load_detector` of a choice, kept for the process while its model file is unchanged.

    A detector's first prediction traces its TensorFlow graph (about 2 s); keeping the loaded
    detector lets every later rerun of the page skip that. A retrained model (a new file time)
    is loaded again.

    Raises
    ------
    AppError
        See :func:`load_detector`.
    """
    path = choice.folder / f"{choice.name}.keras"
    stamp = path.stat().st_mtime_ns if path.is_file() else 0
    return _cached_detector(str(choice.folder), choice.name, stamp)


@functools.lru_cache(maxsize=8)
def _cached_detector(folder: str, name: str, stamp: int) -> Detector:
    # errors are not cached (lru_cache keeps only returned values): a fixed folder loads next time
    return load_detector(folder, name)


# --------------------------------------------------------------------------------------------
# audio


@dataclass(frozen=True)
class Audio:
    """A decoded recording, at the detector's rate.

    Attributes
    ----------
    name : str
        The file's name as the user gave it.
    signal : np.ndarray [shape=(n,), dtype=float32]
        Mono samples at ``SR`` (8 kHz).
    original_sr : int
        The file's sampling rate.
    channels : int
        The file's channels (averaged to mono).
    seconds : float
        Duration.
    notes : tuple of str
        What was done to the input (resampled, channels averaged), for the page to say.
    """

    name: str
    signal: np.ndarray
    original_sr: int
    channels: int
    seconds: float
    notes: tuple[str, ...] = ()


def read_audio(path: str | os.PathLike, *, name: str | None = None, max_seconds: float = MAX_SECONDS) -> Audio:
    """Check and decode an audio file, mono at the detector's rate.

    Parameters
    ----------
    path : path-like
        A ``.wav``, ``.flac`` or ``.ogg`` file.
    name : str, optional, keyword-only
        The name to report (an upload's own name; default the file's).
    max_seconds : float, keyword-only
        The length cap (default :data:`MAX_SECONDS`, 10 minutes).

    Returns
    -------
    Audio
        The whole recording, decoded as the master's ``load_clips`` decodes its first second
        (``soundfile``, channels averaged, ``librosa.resample`` to ``SR`` when the file has another
        rate, which ``notes`` then says) but neither cut nor padded.

    Raises
    ------
    AppError
        Another extension, a missing or empty file, a file that is not audio, no samples, longer
        than ``max_seconds``, non-finite samples, or silence only.
    """
    import soundfile

    path = Path(path)
    name = name or path.name
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise AppError(f"{name!r} has the extension {suffix or '(none)'!r}; upload a {FORMATS} file")
    if not path.is_file():
        raise AppError(f"{name!r} was not found; pick an existing file")
    if path.stat().st_size == 0:
        raise AppError(f"{name!r} is empty (0 bytes); upload a recording")
    try:
        info = soundfile.info(str(path))
    except Exception as e:   # libsndfile: "Format not recognised", "Error in WAV file", ...
        raise AppError(f"{name!r} is not audio that can be read ({_why(e, path, name)}); upload a {FORMATS} "
                       "recording") from None
    if info.frames <= 0 or info.samplerate <= 0:
        raise AppError(f"{name!r} holds no audio (0 samples, 0 s); upload a recording of speech")
    seconds = info.frames / info.samplerate
    if seconds > max_seconds:
        raise AppError(f"{name!r} lasts {seconds:.0f} s ({seconds / 60:.1f} min), over the app's cap of "
                       f"{max_seconds:.0f} s ({max_seconds / 60:g} min); cut it shorter, e.g. "
                       f"`sox in{suffix} out{suffix} trim 0 {max_seconds:.0f}`")
    sr = answers().SR
    try:   # the steps of the master's load_clips, on the whole file: channels averaged, then resampled
        frames, _ = soundfile.read(str(path), dtype="float32", always_2d=True)
    except Exception as e:
        raise AppError(f"{name!r} could not be decoded ({_why(e, path, name)}); re-export it as 16-bit PCM .wav") \
            from None
    signal = frames.mean(axis=1)
    if info.samplerate != sr:
        import librosa

        signal = librosa.resample(signal, orig_sr=info.samplerate, target_sr=sr)
    signal = np.asarray(signal, dtype=np.float32).reshape(-1)
    if signal.size == 0:
        raise AppError(f"{name!r} holds no audio (0 samples after decoding); upload a recording of speech")
    if not np.all(np.isfinite(signal)):
        raise AppError(f"{name!r} holds non-finite samples (NaN or inf); re-export it as 16-bit PCM .wav")
    if not np.any(signal):
        raise AppError(f"{name!r} is silent (all {signal.size} samples are 0): nothing to score; upload a "
                       "recording of speech")
    notes = []
    if info.samplerate != sr:
        notes.append(f"resampled from {info.samplerate} Hz to {sr} Hz, the rate the detector was trained at")
    if info.channels > 1:
        notes.append(f"{info.channels} channels averaged to mono")
    return Audio(name, signal, int(info.samplerate), int(info.channels), float(seconds), tuple(notes))


def _why(error: Exception, path: Path, name: str) -> str:
    # the library's reason, naming the user's file rather than a temporary copy
    text = str(error).strip().replace(str(path), name).splitlines()
    return text[-1].rstrip(".") if text else type(error).__name__


# --------------------------------------------------------------------------------------------
# scoring


def window_starts(n_samples: int, *, hop: int, window: int) -> np.ndarray:
    """First samples of the sliding windows over a clip.

    Parameters
    ----------
    n_samples : int >= 0
        Length of the clip.
    hop, window : int > 0, keyword-only
        Samples between window starts, samples per window.

    Returns
    -------
    np.ndarray [shape=(k,), dtype=int64]
        ``[0]`` for a clip no longer than one window (it is zero-padded); else ``0, hop, 2 hop, ...``
        up to ``n_samples - window``, plus ``n_samples - window`` itself when the hops do not end
        there, so that the last samples are scored too: ``k = 1 + ceil((n_samples - window) / hop)``.

    Raises
    ------
    AppError
        If ``hop`` or ``window`` is not positive.
    """
    if hop <= 0 or window <= 0:
        raise AppError(f"hop and window must be positive sample counts, got hop={hop!r}, window={window!r}")
    if n_samples <= window:
        return np.zeros(1, np.int64)
    starts = np.arange(0, n_samples - window + 1, hop, dtype=np.int64)
    if starts[-1] != n_samples - window:
        starts = np.append(starts, n_samples - window)
    return starts


def _model_inputs(kind: str, z: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
    # the inputs of each kind of detector, as predict_fake passes them
    return [z, mask] if kind == "lstm" else answers().fusion_inputs(z, mask)


def window_scores(detector: Detector, signal: np.ndarray, *, hop_seconds: float = HOP_SECONDS,
                  batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """P(fake) of every one-second window of a clip (the score over time).

    Each window goes through the path of ``predict_fake``: ``frame_features`` of the
    ``SEGMENT``-sample window (zero-padded when the clip is shorter), ``normalise`` with the
    detector's training statistics, the model.

    Parameters
    ----------
    detector : Detector
    signal : np.ndarray [shape=(n,)]
        Mono samples at ``SR``.
    hop_seconds : float > 0, keyword-only
        Time between window starts.
    batch : int > 0, keyword-only
        Windows per feature batch (bounds the memory of a long clip).

    Returns
    -------
    starts : np.ndarray [shape=(k,), dtype=float64]
        Start of each window in seconds (:func:`window_starts`).
    scores : np.ndarray [shape=(k,), dtype=float32]
        P(fake) of each window.

    Raises
    ------
    AppError
        If ``signal`` is not 1-D or ``hop_seconds`` is not positive.
    """
    ans = answers()
    x = np.asarray(signal, dtype=np.float32)
    if x.ndim != 1:
        raise AppError(f"signal must be 1-D mono samples, got shape {x.shape}; average the channels first")
    if not hop_seconds > 0:
        raise AppError(f"hop_seconds must be positive, got {hop_seconds!r}")
    hop = max(1, int(round(hop_seconds * ans.SR)))
    starts = window_starts(x.size, hop=hop, window=ans.SEGMENT)
    padded = np.pad(x, (0, max(0, ans.SEGMENT - x.size)))
    scores = np.empty(starts.size, np.float32)
    for i in range(0, starts.size, batch):
        chunk = np.stack([padded[s:s + ans.SEGMENT] for s in starts[i:i + batch]])
        features, mask = ans.frame_features(chunk)
        z = ans.normalise(features, mask, detector.mean, detector.std)
        p = detector.model.predict(_model_inputs(detector.kind, z, mask), batch_size=batch, verbose=0)
        scores[i:i + len(chunk)] = np.asarray(p, dtype=np.float32).reshape(-1)
    return starts / ans.SR, scores


def threshold() -> float:
    """The decision threshold: the grader's (``evaluate.THRESHOLD``, 0.5), the notebook's default."""
    return float(_evaluate().THRESHOLD)


def verdict(p_fake: float) -> str:
    """``"fake"`` when ``p_fake`` reaches :func:`threshold`, else ``"real"``."""
    return "fake" if p_fake >= threshold() else "real"


@dataclass(frozen=True)
class Analysis:
    """What the page shows for one recording.

    Attributes
    ----------
    audio : Audio
    detector : str
        The detector's name.
    p_fake : float
        ``predict_fake`` of the file: the first second (cut or zero-padded), as the grader scores it.
    verdict : {"fake", "real"}
        At the 0.5 threshold.
    starts, scores : np.ndarray [shape=(k,)]
        :func:`window_scores` (one window for a clip of at most a second).
    """

    audio: Audio
    detector: str
    p_fake: float
    verdict: str
    starts: np.ndarray = field(repr=False)
    scores: np.ndarray = field(repr=False)

    @property
    def longer_than_window(self) -> bool:
        """True when the clip has more than one window (the page then plots the score over time)."""
        return self.starts.size > 1


def analyse(path: str | os.PathLike, detector: Detector, *, name: str | None = None,
            hop_seconds: float = HOP_SECONDS, max_seconds: float = MAX_SECONDS) -> Analysis:
    """P(fake), verdict and score over time of an audio file.

    Parameters
    ----------
    path : path-like
        A ``.wav``, ``.flac`` or ``.ogg`` file.
    detector : Detector
    name : str, optional, keyword-only
        The name to report.
    hop_seconds, max_seconds : float, keyword-only
        See :func:`window_scores` and :func:`read_audio`.

    Returns
    -------
    Analysis

    Raises
    ------
    AppError
        See :func:`read_audio`.
    """
    audio = read_audio(path, name=name, max_seconds=max_seconds)
    p = float(answers().predict_fake(detector.model, detector.kind, [Path(path)], detector.mean, detector.std)[0])
    starts, scores = window_scores(detector, audio.signal, hop_seconds=hop_seconds)
    return Analysis(audio, detector.name, p, verdict(p), starts, scores)


def analyse_upload(data: bytes, filename: str, detector: Detector, **options: Any) -> Analysis:
    """:func:`analyse` of uploaded bytes (written to a temporary file with the upload's extension).

    Parameters
    ----------
    data : bytes
        The file's content.
    filename : str
        Its name (the extension decides the format).
    detector : Detector
    **options
        ``hop_seconds``, ``max_seconds`` of :func:`analyse`.

    Returns
    -------
    Analysis

    Raises
    ------
    AppError
        See :func:`read_audio`; the extension and emptiness are checked before anything is written.
    """
    suffix = Path(filename).suffix.lower()
    if suffix not in SUFFIXES:
        raise AppError(f"{filename!r} has the extension {suffix or '(none)'!r}; upload a {FORMATS} file")
    if not data:
        raise AppError(f"{filename!r} is empty (0 bytes); upload a recording")
    with tempfile.TemporaryDirectory(prefix="fake-or-real-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        return analyse(path, detector, name=filename, **options)


# --------------------------------------------------------------------------------------------
# example clips


@dataclass(frozen=True)
class Example:
    """An example clip of the student testing split.

    Attributes
    ----------
    key : str
        Its id (file stem), or ``"montage"``.
    label : str
        What the selectbox shows, with the truth.
    path : Path
    truth : str
        ``"real"``, ``"fake"`` or, for the montage, its parts in order.
    parts : tuple of Path
        The montage's clips, one second each, in order (empty for a single clip).
    """

    key: str
    label: str
    path: Path
    truth: str
    parts: tuple[Path, ...] = ()


def _stored(data: bytes, suffix: str) -> Path:
    """``data`` in a file of the system's temporary folder named by its hash (written once, atomically).

    Content-addressed rather than a temporary folder per process, so that a server stopped by
    a signal (no ``atexit``) leaves at most one file per distinct content behind.
    """
    import hashlib

    path = Path(tempfile.gettempdir()) / f"fake-or-real-{hashlib.sha256(data).hexdigest()[:16]}{suffix}"
    if not path.is_file() or path.read_bytes() != data:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    return path


@functools.lru_cache(maxsize=1)
def examples() -> tuple[Example, ...]:
    """A few clips of the student testing split, and a 4-second montage of four of them.

    Returns
    -------
    tuple of Example
        The first two real clips and the first clip of each attack family (by id), then
        ``montage``: real, tts fake, real, world fake, one second each (the score over time
        should follow them).

    Raises
    ------
    source_data.DataError
        If the corpus is not built (``make data``).
    """
    import soundfile

    import source_data as sd

    testing = sd.load_fake_or_real("testing")
    real = [i for i in range(len(testing)) if testing.labels[i] == 0][:2]
    fakes = {str(a): int(np.flatnonzero(testing.attacks == a)[0]) for a in sorted(set(testing.attacks) - {""})}
    out = [Example(str(testing.ids[i]), f"real: {testing.ids[i]}", testing.paths[i], "real") for i in real]
    out += [Example(str(testing.ids[i]), f"fake ({a}): {testing.ids[i]}", testing.paths[i], "fake")
            for a, i in fakes.items()]
    parts = [real[0], fakes.get("tts", real[0]), real[1], fakes.get("world", real[1])]
    signals = [soundfile.read(testing.paths[i], dtype="int16")[0] for i in parts]
    buffer = io.BytesIO()
    soundfile.write(buffer, np.concatenate(signals), answers().SR, format="WAV", subtype="PCM_16")
    montage = _stored(buffer.getvalue(), ".wav")
    truth = ", ".join("real" if testing.labels[i] == 0 else f"fake ({testing.attacks[i]})" for i in parts)
    out.append(Example("montage", f"4 s montage: {truth}", montage, truth, tuple(testing.paths[i] for i in parts)))
    return tuple(out)


# --------------------------------------------------------------------------------------------
# training the reference detector


def train_reference(out_dir: str | os.PathLike | None = None, *, epochs: int = 12, batch_size: int = 64,
                    seed: int = 0, limit: int | None = None, verbose: int = 2) -> dict[str, Any]:
    """Train the master's LSTM detector on the training split and save it for the app.

    The master's recipe: ``frame_features`` of the training clips, ``fit_normaliser`` on their
    valid frames, ``build_lstm_detector`` trained with Adam (1e-3) and binary cross-entropy,
    seeded with :func:`kit.seed_everything`. About a minute on 2 cores for the whole split.

    Parameters
    ----------
    out_dir : path-like, optional
        Where ``lstm.keras``, ``normaliser.npz`` and ``model.json`` go (default
        :func:`default_model_dir`); written to a temporary folder first and moved in place, so an
        interrupted run leaves no half-saved detector.
    epochs, batch_size, seed : int, keyword-only
        The recipe (the notebook's: 12 epochs, batches of 64, seed 0).
    limit : int, optional, keyword-only
        Train on this many clips only, drawn at random with ``seed`` (a quick model for tests).
    verbose : int, keyword-only
        Keras' ``fit`` verbosity.

    Returns
    -------
    dict
        What ``model.json`` holds: the recipe, seconds, and precision, recall, F1 and EER of the
        fake class on the testing split (the master's metrics).

    Raises
    ------
    AppError
        If ``epochs`` or ``limit`` is not positive.
    source_data.DataError
        If the corpus is not built (``make data``).
    """
    import keras

    import kit
    import source_data as sd

    if epochs < 1 or (limit is not None and limit < 2):
        raise AppError(f"epochs must be >= 1 and limit >= 2 clips, got epochs={epochs!r}, limit={limit!r}")
    start = time.perf_counter()
    ans = answers()
    out = _resolve(out_dir) if out_dir is not None else default_model_dir()
    kit.seed_everything(seed)
    training = sd.load_fake_or_real("training")
    keep = np.arange(len(training))
    if limit is not None and limit < len(training):
        keep = np.sort(np.random.default_rng(seed).permutation(len(training))[:limit])
    features, mask = ans.frame_features(ans.load_clips([training.paths[i] for i in keep]))
    mean, std = ans.fit_normaliser(features, mask)
    model = ans.build_lstm_detector()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit([ans.normalise(features, mask, mean, std), mask], training.labels[keep].astype(np.float32),
              epochs=epochs, batch_size=batch_size, shuffle=True, verbose=verbose)
    testing = sd.load_fake_or_real("testing")
    scores = ans.predict_fake(model, "lstm", testing.paths, mean, std)
    p, r, f1 = ans.precision_recall_f1(testing.labels, scores)
    eer, _ = ans.equal_error_rate(testing.labels, scores)
    info = {"model": REFERENCE_NAME, "epochs": epochs, "batch_size": batch_size, "seed": seed,
            "clips": int(keep.size), "seconds": round(time.perf_counter() - start, 1),
            "testing": {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4), "eer": round(eer, 4)}}
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".tmp-{out.name}-", dir=out.parent))
    try:
        model.save(work / f"{REFERENCE_NAME}.keras")
        np.savez(work / "normaliser.npz", mean=mean, std=std)
        (work / "model.json").write_text(json.dumps(info, indent=2) + "\n")
        out.mkdir(exist_ok=True)
        for f in work.iterdir():
            os.replace(f, out / f.name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return info


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m apps.fake_or_real_core train ...``: train the reference detector of the app."""
    parser = argparse.ArgumentParser(prog="python -m apps.fake_or_real_core", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train the reference LSTM detector into artifacts/app/")
    train.add_argument("--out", default=None, help=f"folder (default ${MODEL_DIR_ENV} or {DEFAULT_MODEL_DIR})")
    train.add_argument("--epochs", type=int, default=12)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--limit", type=int, default=None, help="train on this many clips only")
    args = parser.parse_args(argv)
    from source_data.errors import DataError

    try:
        info = train_reference(args.out, epochs=args.epochs, seed=args.seed, limit=args.limit)
    except (AppError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = _resolve(args.out) if args.out else default_model_dir()
    print(f"saved {_shown(out)}/lstm.keras and normaliser.npz in {info['seconds']} s; testing split: "
          + ", ".join(f"{k} {v:.3f}" for k, v in info["testing"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
