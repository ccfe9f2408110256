"""Reading TensorBoard event files back into NumPy: scalars and histograms.

Notebooks use it to plot what their callbacks logged; hidden checks use it to verify
that a run logged what it should. A *log folder* is what was passed as ``log_dir`` to
``keras.callbacks.TensorBoard`` or ``tf.summary.create_file_writer``; the event files
may sit in it or in sub-folders (Keras writes ``train/`` and ``validation/``). Each
sub-folder is a *run*, named by its path relative to the log folder (``"."`` for the
folder itself), exactly as TensorBoard names runs.

Examples
--------
>>> scalars = read_scalars("runs/a1/cnn")                          # doctest: +SKIP
>>> scalars["validation"]["epoch_micro_f1"].values[-1]             # doctest: +SKIP
0.98
>>> hists = read_histograms("runs/a1/cnn")                          # doctest: +SKIP
>>> sorted(hists["gradients"])[:1]                                  # doctest: +SKIP
['gradients/conv2d/kernel']
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = ["HistogramSeries", "Series", "event_files", "histogram_moments", "read_histograms",
           "read_scalars"]

EVENT_FILE_PATTERN = "events.out.tfevents.*"


class Series(NamedTuple):
    """The values one scalar tag took, in step order.

    Attributes
    ----------
    steps : np.ndarray [shape=(n,), dtype=int64]
        Global step (Keras: the epoch index, from 0) of each value.
    values : np.ndarray [shape=(n,), dtype=float64]
        The logged values.
    """

    steps: np.ndarray
    values: np.ndarray


class HistogramSeries(NamedTuple):
    """The histograms one tag logged, in step order.

    Attributes
    ----------
    steps : np.ndarray [shape=(n,), dtype=int64]
        Global step of each histogram.
    buckets : list of np.ndarray [shape=(k, 3), dtype=float64]
        One array per step; each row is ``(left edge, right edge, count)``, as written by
        ``tf.summary.histogram``.
    """

    steps: np.ndarray
    buckets: list[np.ndarray]


def _log_folder(log_dir: str | os.PathLike) -> Path:
    folder = Path(log_dir)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"log folder {str(folder)!r} does not exist; pass the folder given to "
            "keras.callbacks.TensorBoard(log_dir=...) or tf.summary.create_file_writer(...), "
            "after training has written to it")
    return folder


def event_files(log_dir: str | os.PathLike) -> list[Path]:
    """List the TensorBoard event files in a log folder and all its sub-folders.

    Parameters
    ----------
    log_dir : str or path-like
        The log folder.

    Returns
    -------
    list of Path
        Sorted paths of the ``events.out.tfevents.*`` files; empty when nothing was logged.

    Raises
    ------
    FileNotFoundError
        If ``log_dir`` is not an existing folder.
    """
    return sorted(p for p in _log_folder(log_dir).rglob(EVENT_FILE_PATTERN) if p.is_file())


def _run_name(path: Path, root: Path) -> str:
    rel = path.parent.relative_to(root)
    return rel.as_posix() if rel.parts else "."


def _read(log_dir: str | os.PathLike, plugin: str) -> dict[str, dict[str, list[tuple[int, np.ndarray]]]]:
    """(step, value) pairs of every tag of one plugin, per run, in file then event order."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    from tensorboard.util import tensor_util

    root = _log_folder(log_dir)
    found: dict[str, dict[str, list[tuple[int, np.ndarray]]]] = {}
    for path in event_files(root):
        run = _run_name(path, root)
        for event in EventFileLoader(str(path)).Load():
            if not event.HasField("summary"):
                continue
            for value in event.summary.value:
                # EventFileLoader migrates legacy simple_value / histo summaries to tensors
                # with plugin metadata, so one code path reads old and new writers alike.
                if value.metadata.plugin_data.plugin_name != plugin or not value.HasField("tensor"):
                    continue
                array = np.asarray(tensor_util.make_ndarray(value.tensor), dtype=np.float64)
                found.setdefault(run, {}).setdefault(value.tag, []).append((int(event.step), array))
    return found


def read_scalars(log_dir: str | os.PathLike) -> dict[str, dict[str, Series]]:
    """Read every scalar summary below a log folder.

    Parameters
    ----------
    log_dir : str or path-like
        The log folder (e.g. ``runs/a1/cnn``).

    Returns
    -------
    dict
        ``{run: {tag: Series}}``, e.g. ``scalars["train"]["epoch_loss"]``. Runs are the
        sub-folders holding event files (``"."`` for ``log_dir`` itself). Each series is
        sorted by step; when a step was logged twice (a resumed run) the last value wins.
        Empty when no scalar was logged.

    Raises
    ------
    FileNotFoundError
        If ``log_dir`` is not an existing folder.
    """
    out: dict[str, dict[str, Series]] = {}
    for run, tags in _read(log_dir, "scalars").items():
        for tag, pairs in tags.items():
            last = {step: float(array.reshape(-1)[0]) for step, array in pairs}
            steps = np.array(sorted(last), dtype=np.int64)
            out.setdefault(run, {})[tag] = Series(steps, np.array([last[s] for s in steps], dtype=np.float64))
    return out


def read_histograms(log_dir: str | os.PathLike) -> dict[str, dict[str, HistogramSeries]]:
    """Read every histogram summary below a log folder.

    Parameters
    ----------
    log_dir : str or path-like
        The log folder (e.g. ``runs/a1/cnn``).

    Returns
    -------
    dict
        ``{run: {tag: HistogramSeries}}``, e.g. Keras weight histograms under
        ``hists["train"]["dense/kernel/histogram"]``. Sorted by step; for a step logged
        twice the last histogram wins. Empty when no histogram was logged.

    Raises
    ------
    FileNotFoundError
        If ``log_dir`` is not an existing folder.
    """
    out: dict[str, dict[str, HistogramSeries]] = {}
    for run, tags in _read(log_dir, "histograms").items():
        for tag, pairs in tags.items():
            last = {step: array.reshape(-1, 3) for step, array in pairs}
            steps = np.array(sorted(last), dtype=np.int64)
            out.setdefault(run, {})[tag] = HistogramSeries(steps, [last[s] for s in steps])
    return out


def histogram_moments(buckets: np.ndarray) -> tuple[float, float]:
    """Approximate mean and standard deviation of the values a histogram summarises.

    Parameters
    ----------
    buckets : np.ndarray [shape=(k, 3)]
        Rows ``(left edge, right edge, count)`` (one entry of ``HistogramSeries.buckets``).

    Returns
    -------
    mean, std : float
        Count-weighted moments of the bucket centres (exact when every value sits at a
        bucket centre). ``(nan, nan)`` for an empty histogram.

    Raises
    ------
    ValueError
        If ``buckets`` is not of shape ``(k, 3)`` or has a negative count.
    """
    b = np.asarray(buckets, dtype=np.float64)
    if b.ndim != 2 or b.shape[1] != 3:
        raise ValueError(f"buckets must have shape (k, 3) of (left, right, count) rows, got shape "
                         f"{b.shape}; pass one entry of HistogramSeries.buckets")
    counts = b[:, 2]
    if np.any(counts < 0):
        raise ValueError(f"bucket counts must be >= 0, got {counts[counts < 0][:3].tolist()}")
    total = counts.sum()
    if total == 0:
        return float("nan"), float("nan")
    centres = (b[:, 0] + b[:, 1]) / 2
    mean = float((centres * counts).sum() / total)
    var = float((counts * (centres - mean) ** 2).sum() / total)
    return mean, var ** 0.5
