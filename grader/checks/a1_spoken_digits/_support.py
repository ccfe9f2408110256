"""Inputs and probes shared by the assignment-1 checks (synthetic signals; model probes from :mod:`grader.probes`).

Nothing here reads the hidden clips; the run checks do that through :mod:`.evaluate`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from grader.probes import (as_numpy, layers_of, lengths_mask, predict, recurrent_layers,  # noqa: F401
                           require_complete_run, write_wavs)

SR = 8000


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
