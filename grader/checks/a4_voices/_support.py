"""Inputs shared by the assignment-4 checks: speech-like synthetic clips, small fixed models.

Nothing here reads the hidden clips; the run checks do that through :mod:`.evaluate`. Every
input is drawn from the check's seeded ``rng``, so all students get the same inputs.
"""
from __future__ import annotations

import numpy as np

from grader.probes import (as_numpy, fixed_weights, layers_of, predict, require_value_error, voiced,  # noqa: F401
                           write_wavs)

SR = 8000
IMAGE_SHAPE = (32, 32)
N_MFCC = 20


def images(rng: np.random.Generator, n: int, shape: tuple[int, int] = IMAGE_SHAPE) -> np.ndarray:
    """``n`` random images ``(n, *shape, 1)`` in [0, 1], float32."""
    return rng.uniform(0, 1, (n, *shape, 1)).astype(np.float32)


def clip_lengths(rng: np.random.Generator) -> list[int]:
    """Clip lengths from shorter than one STFT window to longer than 2 s (FSDD: 0.14 s to 2.3 s)."""
    return [300, 1100, int(rng.integers(2000, 5000)), int(rng.integers(5000, 9000)), 18000]


def trunk_weights(model) -> list[np.ndarray]:
    """The weights of ``model``'s layers up to and including the one named ``"trunk"``, in layer order."""
    out = []
    for layer in model.layers:
        out += [np.asarray(w) for w in layer.get_weights()]
        if layer.name == "trunk":
            return out
    raise ValueError("the model has no layer named 'trunk'")


def holds(weights: list[np.ndarray], arrays: list[np.ndarray]) -> bool:
    """Whether every array of ``arrays`` equals (same shape, same values) one of ``weights``."""
    return all(any(w.shape == a.shape and np.array_equal(w, a) for w in weights) for a in arrays)
