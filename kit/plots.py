"""Plots shared by the notebooks: distributions, audio clips, training curves, confusion matrices.

Every function draws on a Matplotlib ``Axes`` (a new figure when ``ax`` is None) and
returns it (or the ``Figure`` for multi-panel plots), so that notebooks can add to a
plot and tests can read back what was drawn. Nothing here trains or loads data.

Spectrograms are **time-major**, ``(time, frequency)``, as the models take them; the
plot puts time on the x axis.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["plot_clips", "plot_confusion_matrix", "plot_error_tradeoff", "plot_histogram", "plot_learning_curve",
           "plot_series",
           "plot_spectrogram", "plot_training_curves", "plot_waveform"]


def _axes(ax: Any, figsize: tuple[float, float] = (6.0, 3.5)) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def plot_histogram(values: np.ndarray | Sequence[float], *, bins: int = 40,
                   marks: Mapping[str, float] | None = None, xlabel: str | None = None,
                   title: str | None = None, ax: Any = None) -> Any:
    """Histogram of values, with labelled vertical lines (e.g. a chosen cut-off).

    Parameters
    ----------
    values : np.ndarray [shape=(n,)]
        The values, e.g. clip durations in seconds.
    bins : int > 0, keyword-only
        Number of bins.
    marks : mapping of str to float, optional, keyword-only
        ``{label: x}``: a dashed vertical line at each ``x``, named in the legend.
    xlabel, title : str, optional, keyword-only
        Axis label and title.
    ax : matplotlib.axes.Axes, optional, keyword-only
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If ``values`` is empty or not one-dimensional, or ``bins`` < 1.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"values must be a non-empty 1-D array, got shape {v.shape}")
    if not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins must be a positive int, got {bins!r}")
    ax = _axes(ax)
    ax.hist(v, bins=int(bins), color="tab:blue", alpha=0.8)
    for i, (label, x) in enumerate((marks or {}).items()):
        ax.axvline(float(x), color=f"C{i + 1}", linestyle="--", label=label)
    if marks:
        ax.legend()
    ax.set_xlabel(xlabel or "value")
    ax.set_ylabel("count")
    if title:
        ax.set_title(title)
    return ax


def plot_waveform(signal: np.ndarray, *, sr: int, mask: np.ndarray | None = None,
                  title: str | None = None, ax: Any = None) -> Any:
    """Waveform against time, with the masked-out (padding) part shaded.

    Parameters
    ----------
    signal : np.ndarray [shape=(n,)]
        Audio samples.
    sr : int > 0, keyword-only
        Sampling rate in Hz.
    mask : np.ndarray [shape=(n,), dtype=bool], optional, keyword-only
        True for real samples; the samples where it is False are shaded grey.
    title : str, optional, keyword-only
    ax : matplotlib.axes.Axes, optional, keyword-only

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If ``signal`` is not 1-D, ``sr`` is not positive or ``mask`` does not match ``signal``.
    """
    y = np.asarray(signal)
    if y.ndim != 1:
        raise ValueError(f"signal must be 1-D (one clip), got shape {y.shape}; plot one row of a batch")
    if sr <= 0:
        raise ValueError(f"sr must be a positive sampling rate in Hz, got {sr!r}")
    ax = _axes(ax, (6.0, 2.5))
    t = np.arange(y.size) / sr
    ax.plot(t, y, linewidth=0.6, color="tab:blue")
    if mask is not None:
        m = np.asarray(mask)
        if m.shape != y.shape:
            raise ValueError(f"mask must have the signal's shape {y.shape}, got {m.shape}")
        runs = _runs(~m.astype(bool))
        for k, (start, stop) in enumerate(runs):
            ax.axvspan(start / sr, stop / sr, color="0.85", label=None if k else "padding (mask False)")
        if runs:
            ax.legend(loc="upper right")
    ax.set_xlabel("time (s)")
    ax.set_xlim(0, max(y.size, 1) / sr)
    if title:
        ax.set_title(title)
    return ax


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index pairs of the runs of True in a 1-D boolean array."""
    f = np.concatenate([[False], flags.astype(bool), [False]])
    edges = np.flatnonzero(np.diff(f.astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def plot_spectrogram(spectrogram: np.ndarray, *, sr: int, hop_length: int, mask: np.ndarray | None = None,
                     title: str | None = None, ax: Any = None, colorbar: bool = False) -> Any:
    """A time-major spectrogram as an image: time on x, frequency bins on y.

    Parameters
    ----------
    spectrogram : np.ndarray [shape=(t, f)]
        Time-major spectrogram of one clip (e.g. log-mel in dB).
    sr : int > 0, keyword-only
        Sampling rate of the audio, in Hz.
    hop_length : int > 0, keyword-only
        Samples between frames (sets the time axis).
    mask : np.ndarray [shape=(t,), dtype=bool], optional, keyword-only
        True for frames of the clip; a line marks where the padding begins.
    title : str, optional, keyword-only
    ax : matplotlib.axes.Axes, optional, keyword-only
    colorbar : bool, keyword-only
        Add a colour bar.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If ``spectrogram`` is not 2-D or ``mask`` does not have one entry per frame.
    """
    s = np.asarray(spectrogram)
    if s.ndim != 2:
        raise ValueError(f"spectrogram must be 2-D (time, frequency) for one clip, got shape {s.shape}")
    if sr <= 0 or hop_length <= 0:
        raise ValueError(f"sr and hop_length must be positive, got sr={sr!r}, hop_length={hop_length!r}")
    ax = _axes(ax, (6.0, 3.0))
    duration = s.shape[0] * hop_length / sr
    image = ax.imshow(s.T, origin="lower", aspect="auto", cmap="magma", extent=(0, duration, 0, s.shape[1]))
    if mask is not None:
        m = np.asarray(mask).astype(bool)
        if m.shape != (s.shape[0],):
            raise ValueError(f"mask must have one entry per frame, shape ({s.shape[0]},), got {m.shape}")
        if not m.all():
            ax.axvline(int(m.sum()) * hop_length / sr, color="cyan", linestyle="--", label="padding starts")
            ax.legend(loc="upper right")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency bin")
    if colorbar:
        ax.figure.colorbar(image, ax=ax)
    if title:
        ax.set_title(title)
    return ax


def plot_clips(signals: Sequence[np.ndarray], *, sr: int, titles: Sequence[str] | None = None,
               n_fft: int = 512, hop_length: int = 160, n_mels: int = 64) -> Any:
    """Waveform (top row) and log-mel spectrogram (bottom row) of a few clips side by side.

    The log-mel shown here is for display only: power mel spectrogram in dB relative to
    each clip's maximum, floored at -80 dB (whatever the clip's loudness).

    Parameters
    ----------
    signals : sequence of np.ndarray [shape=(n_i,)]
        The clips, e.g. one per class.
    sr : int > 0, keyword-only
        Sampling rate in Hz.
    titles : sequence of str, optional, keyword-only
        One title per clip.
    n_fft, hop_length, n_mels : int > 0, keyword-only
        STFT size, hop and number of mel bands of the displayed spectrogram.

    Returns
    -------
    matplotlib.figure.Figure
        Two rows of ``len(signals)`` panels.

    Raises
    ------
    ValueError
        If there are no signals or ``titles`` has the wrong length.
    """
    import librosa
    import matplotlib.pyplot as plt

    if len(signals) == 0:
        raise ValueError("signals is empty; pass at least one clip")
    if titles is not None and len(titles) != len(signals):
        raise ValueError(f"titles must have one entry per clip ({len(signals)}), got {len(titles)}")
    fig, axes = plt.subplots(2, len(signals), figsize=(1.9 * len(signals), 3.6), squeeze=False,
                             layout="constrained")
    for i, y in enumerate(signals):
        y = np.asarray(y, dtype=np.float32)
        plot_waveform(y, sr=sr, ax=axes[0, i], title=None if titles is None else titles[i])
        power = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels)
        db = np.maximum(librosa.power_to_db(power / max(float(power.max()), 1e-20), top_db=None), -80.0)
        plot_spectrogram(db.T, sr=sr, hop_length=hop_length, ax=axes[1, i])
        for ax in axes[:, i]:
            if i:
                ax.set_ylabel("")
            ax.tick_params(labelsize=7)
            ax.xaxis.label.set_size(8)
    axes[1, 0].set_ylabel("mel band")
    return fig


def plot_training_curves(history: Any, *, metrics: Sequence[str] = ("loss",), title: str | None = None) -> Any:
    """Training and validation curves, one panel per metric.

    Parameters
    ----------
    history : keras.callbacks.History or mapping of str to sequence of float
        ``model.fit(...)``'s return value, or its ``.history`` dict
        (``{"loss": [...], "val_loss": [...], ...}``).
    metrics : sequence of str, keyword-only
        The metric names to plot; ``val_<name>`` is drawn beside ``<name>`` when present.
    title : str, optional, keyword-only
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    KeyError
        If a metric is not in the history (the message lists the names there are).
    """
    import matplotlib.pyplot as plt

    logs = getattr(history, "history", history)
    if not isinstance(logs, Mapping):
        raise TypeError(f"history must be a keras History or a dict of lists, got {type(history).__name__}")
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.0), squeeze=False,
                             layout="constrained")
    for ax, name in zip(axes[0], metrics):
        if name not in logs:
            raise KeyError(f"metric {name!r} is not in the history; it has {sorted(logs)}")
        epochs = np.arange(1, len(logs[name]) + 1)
        ax.plot(epochs, np.asarray(logs[name], dtype=float), marker=".", label="train")
        if f"val_{name}" in logs:
            ax.plot(epochs, np.asarray(logs[f"val_{name}"], dtype=float), marker=".", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.legend()
    if title:
        fig.suptitle(title)
    return fig


def plot_confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, *, labels: Sequence[Any] | None = None,
                          names: Sequence[str] | None = None, title: str | None = None, ax: Any = None) -> Any:
    """Confusion matrix as an annotated image: true class on y, predicted class on x.

    Parameters
    ----------
    y_true, y_pred : np.ndarray [shape=(n,)]
        True and predicted class labels.
    labels : sequence, optional, keyword-only
        The classes, in display order; default: the sorted union of both arrays.
    names : sequence of str, optional, keyword-only
        What the ticks say for each of ``labels`` (e.g. speaker names for class indices);
        default: the labels themselves.
    title : str, optional, keyword-only
    ax : matplotlib.axes.Axes, optional, keyword-only

    Returns
    -------
    matplotlib.axes.Axes
        The image's data (``ax.images[0].get_array()``) is the count matrix ``C`` with
        ``C[i, j]`` = clips of class ``labels[i]`` predicted as ``labels[j]``.

    Raises
    ------
    ValueError
        If the arrays are empty or of different lengths, or ``names`` is not one name per class.
    """
    t, p = np.asarray(y_true).reshape(-1), np.asarray(y_pred).reshape(-1)
    if t.size == 0 or t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must be non-empty and of equal length, got {t.size} and {p.size}")
    classes = list(np.union1d(t, p)) if labels is None else list(labels)
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted({c for c in np.concatenate([t, p]).tolist() if c not in index})
    if unknown:
        raise ValueError(f"labels {unknown[:5]} occur in the data but not in labels={classes}")
    counts = np.zeros((len(classes), len(classes)), dtype=np.int64)
    np.add.at(counts, ([index[c] for c in t.tolist()], [index[c] for c in p.tolist()]), 1)
    ax = _axes(ax, (4.6, 4.0))
    ax.imshow(counts, cmap="Blues")
    top = counts.max() if counts.size else 0
    for i in range(len(classes)):
        for j in range(len(classes)):
            if counts[i, j]:
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if counts[i, j] > top / 2 else "black")
    ticks = [str(c) for c in classes] if names is None else [str(n) for n in names]
    if len(ticks) != len(classes):
        raise ValueError(f"names must give one name per class: {len(ticks)} names for {len(classes)} classes")
    long_names = max(map(len, ticks)) > 3
    ax.set_xticks(range(len(classes)), ticks, rotation=45 if long_names else 0, ha="right" if long_names else "center")
    ax.set_yticks(range(len(classes)), ticks)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title)
    return ax


def plot_learning_curve(curve: Mapping[Any, Mapping[str, float]], models: Sequence[str], *,
                        ylabel: str = "accuracy", title: str | None = "learning curve", ax: Any = None) -> Any:
    """Accuracy against the number of labelled training clips, one line per model.

    Parameters
    ----------
    curve : mapping
        ``{k: {"n_train": clips used, model: accuracy, ...}}`` in any order (e.g. ``"all"`` first);
        a tick shows the clips used and ``k`` (``5/class``, ``all``).
    models : sequence of str
        The keys of each row to draw.
    ylabel, title : str, keyword-only
    ax : matplotlib.axes.Axes, optional, keyword-only

    Returns
    -------
    matplotlib.axes.Axes
        x is the number of training clips on a logarithmic axis, so the points are in the order
        of their sizes whatever the order of ``curve``.

    Raises
    ------
    ValueError
        If ``curve`` is empty, or a row lacks ``n_train`` or a model.
    """
    if not curve:
        raise ValueError("curve is empty: give {k: {'n_train': ..., model: accuracy}}")
    for k, row in curve.items():
        missing = [m for m in ("n_train", *models) if m not in row]
        if missing:
            raise ValueError(f"curve[{k!r}] lacks {missing}; each row needs n_train and every model")
    ks = sorted(curve, key=lambda k: curve[k]["n_train"])
    x = np.array([curve[k]["n_train"] for k in ks], dtype=float)
    ax = _axes(ax, (5.0, 3.0))
    for model in models:
        ax.plot(x, [curve[k][model] for k in ks], marker="o", label=model)
    ax.set_xscale("log")
    ax.set_xticks(x, [f"{int(n)}\n({k}{'' if isinstance(k, str) else '/class'})" for n, k in zip(x, ks)])
    ax.minorticks_off()
    ax.set_xlabel("labelled training clips")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return ax


def plot_series(series: Mapping[str, tuple[np.ndarray, np.ndarray]], *, xlabel: str = "step",
                ylabel: str = "value", logy: bool = False, title: str | None = None, ax: Any = None) -> Any:
    """Several named (x, y) curves on one axes, e.g. a statistic per layer over epochs.

    Parameters
    ----------
    series : mapping of str to (np.ndarray [shape=(n,)], np.ndarray [shape=(n,)])
        ``{label: (x, y)}``; a :class:`kit.tblogs.Series` is such a pair.
    xlabel, ylabel, title : str, keyword-only
    logy : bool, keyword-only
        Logarithmic y axis.
    ax : matplotlib.axes.Axes, optional, keyword-only

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If a curve's x and y differ in length.
    """
    ax = _axes(ax)
    for label, (x, y) in series.items():
        x, y = np.asarray(x), np.asarray(y)
        if x.shape != y.shape:
            raise ValueError(f"series {label!r}: x and y must have the same shape, got {x.shape} and {y.shape}")
        ax.plot(x, y, marker=".", label=label)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if series:
        ax.legend(fontsize=7)
    if title:
        ax.set_title(title)
    return ax


def plot_error_tradeoff(y_true: np.ndarray, scores: Mapping[str, np.ndarray], *,
                        title: str | None = None, ax: Any = None) -> Any:
    """Detection error trade-off: false-alarm rate against miss rate, one curve per detector.

    Each curve sweeps the decision threshold over the scores (higher = more likely the
    positive class, label 1). Where a curve crosses the diagonal, both error rates are the
    equal error rate, marked with a dot and given in the legend.

    Parameters
    ----------
    y_true : np.ndarray [shape=(n,)]
        0/1 labels (1 = positive, e.g. fake).
    scores : mapping of str to np.ndarray [shape=(n,)]
        ``{detector name: scores}``.
    title : str, optional, keyword-only
    ax : matplotlib.axes.Axes, optional, keyword-only

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.lines[2 * k]`` is detector ``k``'s curve (x = false-positive rate, y = false-negative
        rate, one point per threshold), ``ax.lines[2 * k + 1]`` its equal-error point.

    Raises
    ------
    ValueError
        If ``y_true`` does not hold both classes, or a score array's length differs from it.
    """
    y = np.asarray(y_true).reshape(-1)
    if set(np.unique(y).tolist()) != {0, 1}:
        raise ValueError(f"y_true must hold both labels 0 and 1, got {np.unique(y)[:5].tolist()}")
    ax = _axes(ax, (4.6, 4.2))
    for name, s in scores.items():
        s = np.asarray(s, dtype=np.float64).reshape(-1)
        if s.shape != y.shape:
            raise ValueError(f"scores of {name!r} have {s.size} values for {y.size} labels")
        order = np.argsort(-s, kind="stable")
        hits = np.concatenate([[0], np.cumsum(y[order] == 1)])      # predicted positive: the top k
        alarms = np.concatenate([[0], np.cumsum(y[order] == 0)])
        fpr, fnr = alarms / np.sum(y == 0), 1.0 - hits / np.sum(y == 1)
        k = int(np.argmin(np.abs(fpr - fnr)))
        eer = (fpr[k] + fnr[k]) / 2
        (line,) = ax.plot(fpr, fnr, label=f"{name} (EER {eer:.3f})")
        ax.plot([eer], [eer], "o", color=line.get_color(), markersize=4)
    ax.plot([0, 1], [0, 1], ":", color="grey", linewidth=0.8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("false-alarm rate (real called fake)")
    ax.set_ylabel("miss rate (fake called real)")
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title)
    return ax
