"""Probes that the hidden checks of every assignment share: model outputs, layers, wav files, masks.

A check folder's ``_support.py`` re-exports what it uses from here, so an assignment's checks
read ``s.predict(model, x)`` whatever assignment they belong to, and no probe is written twice.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

__all__ = ["as_numpy", "layers_of", "lengths_mask", "predict", "recurrent_layers", "write_wavs"]


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
