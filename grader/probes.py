"""Probes that the hidden checks of every assignment share: model outputs, layers, wav files, masks.

A check folder's ``_support.py`` re-exports what it uses from here, so an assignment's checks
read ``s.predict(model, x)`` whatever assignment they belong to, and no probe is written twice.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

__all__ = ["as_numpy", "fixed_weights", "layers_of", "lengths_mask", "predict", "recurrent_layers", "require_complete_run",
           "require_value_error", "voiced", "write_wavs"]


def as_numpy(value: Any) -> np.ndarray:
    """A Keras/TF tensor or array-like as a NumPy array."""
    import keras

    return np.asarray(keras.ops.convert_to_numpy(value))


def predict(model: Any, inputs: Any) -> np.ndarray:
    """The model's output in inference mode, as NumPy."""
    return as_numpy(model(inputs, training=False))


def lengths_mask(lengths: Sequence[int], width: int) -> np.ndarray:
    """Boolean ``(len(lengths), width)``: True on the first ``lengths[i]`` entries of row ``i``."""
    return np.arange(width)[None, :] < np.asarray(lengths)[:, None]


def layers_of(model: Any) -> list[Any]:
    """Every layer of a model, nested models and wrapped layers (Bidirectional, TimeDistributed) included.

    In graph order, depth first: a nested model's or a wrapper's layers come right after it, so the
    last dense layer listed is the model's last one even when a branch is a nested ``Sequential``.
    """
    out: list[Any] = []

    def visit(layer: Any) -> None:
        if any(layer is seen for seen in out):
            return
        out.append(layer)
        for child in list(getattr(layer, "layers", []) or []):
            visit(child)
        for attr in ("layer", "forward_layer", "backward_layer"):
            inner = getattr(layer, attr, None)
            if inner is not None:
                visit(inner)

    for layer in list(getattr(model, "layers", []) or []):
        visit(layer)
    return out


def recurrent_layers(model: Any) -> list[Any]:
    """The keras RNN layers (LSTM, GRU, ...) of a model."""
    import keras

    return [layer for layer in layers_of(model) if isinstance(layer, keras.layers.RNN)]


def voiced(rng: np.random.Generator, n: int, *, sr: int = 8000) -> np.ndarray:
    """``n`` samples at ``sr`` of a voiced, speech-like sound: a gliding harmonic tone in noise, a random envelope."""
    t = np.arange(n) / sr
    f0 = rng.uniform(90, 260) * (1 + rng.uniform(-0.15, 0.15) * t / max(t[-1], 1e-3)) if n else np.zeros(0)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    y = sum(rng.uniform(0.2, 1.0) / k * np.sin(k * phase) for k in range(1, 6))
    y = y + rng.uniform(0.01, 0.1) * rng.standard_normal(n)
    envelope = np.hanning(n + 2)[1:-1] ** rng.uniform(0.3, 1.0)
    return (10 ** rng.uniform(-1.5, -0.3) * envelope * y / max(np.abs(y).max(), 1e-9)).astype(np.float32)


def fixed_weights(model: Any, rng: np.random.Generator, scale: float = 0.3, *, per_fan_in: bool = False) -> Any:
    """Set every weight of ``model`` from ``rng`` (same architecture, same rng state -> same model).

    ``per_fan_in``: a kernel's standard deviation is ``scale / sqrt(fan_in)`` (LeCun normal; biases and
    other vectors ``scale * 0.1``), so that no unit saturates, however wide the layer feeding it is
    (a ``Flatten`` over a feature map); otherwise every weight has the standard deviation ``scale``.
    """
    def std(shape: tuple[int, ...]) -> float:
        if not per_fan_in:
            return scale
        return scale / np.sqrt(float(np.prod(shape[:-1]))) if len(shape) >= 2 else 0.1 * scale

    values = []
    for variable, w in zip(model.weights, model.get_weights()):
        value = rng.normal(0.0, std(w.shape), w.shape).astype(np.float32)
        if str(getattr(variable, "path", variable.name)).endswith(("variance", "gamma")):
            value = 1.0 + 0.1 * np.abs(value)             # a normaliser's variance and scale stay near 1
        values.append(value)
    model.set_weights(values)
    return model


def require_value_error(cases: Mapping[str, Callable[[], Any]]) -> None:
    """Fail unless every call raises a ValueError (a docstring's ``Raises`` clause, one case each).

    Parameters
    ----------
    cases : mapping of str to callable
        ``what the input is -> a call of the student's function with it``, e.g.
        ``{"fraction=1.0": lambda: student.validation_split(s, d, fraction=1.0)}``.

    Raises
    ------
    grader.api.CheckFailed
        Naming the first input that gave no ValueError and what the call returned. Any other
        exception of the call propagates: the check fails with it, as with any slip in the answer.
    """
    from grader.api import CheckFailed

    for what, call in cases.items():
        try:
            got = call()
        except ValueError:
            continue
        shown = repr(got)
        raise CheckFailed(f"no ValueError for {what} (it returned {shown[:80] + '...' if len(shown) > 80 else shown})")


def write_wavs(folder: Path, signals: Sequence[np.ndarray], *, sr: int) -> list[Path]:
    """Write 16-bit PCM wav files (FSDD's format) ``folder/clip_000.wav`` ...; return their paths.

    Parameters
    ----------
    folder : Path
        Created if missing.
    signals : sequence of np.ndarray [shape=(n,) or (n, channels)]
        Float samples in [-1, 1] (clipped).
    sr : int, keyword-only
        Sampling rate written in the header (Hz).
    """
    import soundfile

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, y in enumerate(signals):
        path = folder / f"clip_{i:03d}.wav"
        soundfile.write(path, np.clip(y, -1, 1), sr, subtype="PCM_16")
        paths.append(path)
    return paths


def require_complete_run(runs: Path, artifacts: Path, name: str, epochs: int, *,
                         tags: Sequence[str] = ("epoch_loss",)) -> None:
    """Fail unless ``runs/<name>/`` logs a finite value of every tag for each of ``epochs`` epochs.

    Parameters
    ----------
    runs, artifacts : Path
        The executed submission's ``runs/<short>/`` and ``artifacts/<short>/``.
    name : str
        The model: its TensorBoard folder ``runs/<short>/<name>/`` (sub-runs ``train`` and
        ``validation``) and its saved file ``artifacts/<short>/<name>.keras``.
    epochs : int
        The epochs the notebook trains it for: steps ``0 .. epochs - 1`` must all be logged.
    tags : sequence of str
        The epoch scalars Keras' TensorBoard callback writes (``epoch_loss``, ``epoch_<metric>``).

    Raises
    ------
    grader.api.CheckFailed
        Naming the folder, the tag and what is missing (a run stopped early, a model not saved).
    """
    from grader.api import CheckFailed
    from kit import tblogs

    shown = f"{runs.parent.name}/{runs.name}/{name}"
    try:
        scalars = tblogs.read_scalars(runs / name)
    except FileNotFoundError:
        raise CheckFailed(f"{shown}/ does not exist") from None
    for run in ("train", "validation"):
        for tag in tags:
            series = scalars.get(run, {}).get(tag)
            if series is None or len(series.values) < 1 or not np.all(np.isfinite(series.values)):
                raise CheckFailed(f"{shown}/{run} has no finite {tag!r} scalar")
            logged = sorted(set(np.asarray(series.steps).tolist()))
            if logged != list(range(epochs)):
                raise CheckFailed(f"{shown}/{run}: {tag!r} logged for {len(logged)} epoch(s), the notebook "
                                  f"trains {name} for {epochs}: the run did not finish")
    if not (artifacts / f"{name}.keras").is_file():
        raise CheckFailed(f"{artifacts.parent.name}/{artifacts.name}/{name}.keras was not saved: the training run "
                          f"did not finish")
