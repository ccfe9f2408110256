"""Inputs and probes shared by the assignment-1 checks (synthetic signals, model probes).

Nothing here reads the hidden clips; the run checks do that through :mod:`.evaluate`.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

SR = 8000


def as_numpy(value: Any) -> np.ndarray:
    """A Keras/TF tensor or array-like as a NumPy array."""
    import keras

    return np.asarray(keras.ops.convert_to_numpy(value))


def predict(model: Any, inputs: Any) -> np.ndarray:
    """The model's output in inference mode, as NumPy."""
    return as_numpy(model(inputs, training=False))


def random_signals(rng: np.random.Generator, lengths: Sequence[int]) -> list[np.ndarray]:
    """Noise bursts with a random envelope and loudness, float32, one per length."""
    out = []
    for n in lengths:
        envelope = np.hanning(max(int(n), 1))[: int(n)] if n > 1 else np.ones(int(n))
        loudness = 10 ** rng.uniform(-2, 0)
        out.append((loudness * envelope * rng.uniform(-1, 1, int(n))).astype(np.float32))
    return out


def tone(freq: float, n: int, *, sr: int = SR, start: int = 0) -> np.ndarray:
    """A unit sine of ``freq`` Hz, ``n`` samples, silent before sample ``start``."""
    t = np.arange(n) / sr
    y = np.sin(2 * np.pi * freq * t)
    y[:start] = 0.0
    return y.astype(np.float32)


def peak_frequency(signal: np.ndarray, *, sr: int = SR) -> float:
    """Frequency (Hz) of the largest magnitude of the Hann-windowed spectrum, parabolic interpolation."""
    y = np.asarray(signal, dtype=np.float64)
    n = 8 * len(y)
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y)), n=n))
    k = int(np.argmax(spectrum[1:-1])) + 1
    a, b, c = np.log(spectrum[k - 1: k + 2] + 1e-12)
    shift = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) else 0.0
    return (k + shift) * sr / n


def lengths_mask(lengths: Sequence[int], width: int) -> np.ndarray:
    """Boolean (len(lengths), width): True on the first ``lengths[i]`` entries of row i."""
    return np.arange(width)[None, :] < np.asarray(lengths)[:, None]


def layers_of(model: Any) -> list[Any]:
    """Every layer of a model, nested models and wrapped layers (Bidirectional, TimeDistributed) included."""
    out, stack = [], list(getattr(model, "layers", []))
    while stack:
        layer = stack.pop(0)
        out.append(layer)
        stack.extend(getattr(layer, "layers", []) or [])
        for attr in ("layer", "forward_layer", "backward_layer"):
            inner = getattr(layer, attr, None)
            if inner is not None and inner not in out:
                stack.append(inner)
    return out


def recurrent_layers(model: Any) -> list[Any]:
    """The keras RNN layers (LSTM, GRU, ...) of a model."""
    import keras

    return [layer for layer in layers_of(model) if isinstance(layer, keras.layers.RNN)]


def write_wavs(folder: Path, signals: Sequence[np.ndarray], *, sr: int = SR) -> list[Path]:
    """Write 16-bit PCM wav files like FSDD's; return their paths."""
    import soundfile

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, y in enumerate(signals):
        path = folder / f"clip_{i:03d}.wav"
        soundfile.write(path, np.clip(y, -1, 1), sr, subtype="PCM_16")
        paths.append(path)
    return paths


@contextlib.contextmanager
def joblib_threads() -> Iterator[None]:
    """Run joblib in threads: answers modules cannot be pickled into worker processes."""
    import joblib

    with joblib.parallel_config(backend="threading"):
        yield
