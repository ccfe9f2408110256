"""Inputs shared by the assignment-3 checks: speech-like synthetic clips, small fixed models.

Nothing here reads the hidden clips; the run checks do that through :mod:`.evaluate`. Every
input is drawn from the check's seeded ``rng``, so all students get the same inputs.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from grader.probes import as_numpy, layers_of, lengths_mask, predict, recurrent_layers, write_wavs  # noqa: F401

SR = 8000
SEGMENT = 8000
HOP_LENGTH = 128
N_STEPS = 1 + SEGMENT // HOP_LENGTH
N_MFCC, N_CHROMA, N_MELS = 20, 12, 40
N_FEATURES = N_MFCC + N_CHROMA + N_MELS
BLOCKS = {"MFCC": slice(0, N_MFCC), "chroma": slice(N_MFCC, N_MFCC + N_CHROMA),
          "log-mel": slice(N_MFCC + N_CHROMA, N_FEATURES)}


def voiced(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` samples of a voiced, speech-like sound: a gliding harmonic tone in noise, a random envelope."""
    t = np.arange(n) / SR
    f0 = rng.uniform(90, 260) * (1 + rng.uniform(-0.15, 0.15) * t / max(t[-1], 1e-3)) if n else np.zeros(0)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    y = sum(rng.uniform(0.2, 1.0) / k * np.sin(k * phase) for k in range(1, 6))
    y = y + rng.uniform(0.01, 0.1) * rng.standard_normal(n)
    envelope = np.hanning(n + 2)[1:-1] ** rng.uniform(0.3, 1.0)
    return (10 ** rng.uniform(-1.5, -0.3) * envelope * y / max(np.abs(y).max(), 1e-9)).astype(np.float32)


def clips(rng: np.random.Generator, lengths: Sequence[int]) -> np.ndarray:
    """Clips of ``SEGMENT`` samples: a voiced sound of each length, zero-padded after it.

    The last sample of each sound is non-zero, so its length is ``lengths[i]``.
    """
    out = np.zeros((len(lengths), SEGMENT), np.float32)
    for i, n in enumerate(lengths):
        if n:
            y = voiced(rng, int(n))
            y[-1] = y[-1] if y[-1] != 0 else 1e-3
            out[i, :n] = y
    return out


def frame_lengths(lengths: Sequence[int]) -> np.ndarray:
    """Valid frames of each clip length: frames ``t`` with ``t * HOP_LENGTH < length``."""
    return -(-np.asarray(lengths) // HOP_LENGTH)


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


def labels_and_scores(rng: np.random.Generator, n: int, *, ties: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Random 0/1 labels (both present) and scores that separate them partly; ``ties``: on a coarse grid."""
    y = rng.permutation(np.r_[np.zeros(n // 2), np.ones(n - n // 2)]).astype(int)
    s = 1 / (1 + np.exp(-(rng.normal(0, 1, n) + rng.uniform(0.5, 2) * (2 * y - 1))))
    return y, (np.round(s * 10) / 10 if ties else s)
