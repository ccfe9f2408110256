"""Inputs shared by the assignment-3 checks: speech-like synthetic clips, small fixed models.

Nothing here reads the hidden clips; the run checks do that through :mod:`.evaluate`. Every
input is drawn from the check's seeded ``rng``, so all students get the same inputs.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from grader.probes import (as_numpy, fixed_weights, layers_of, lengths_mask, predict, recurrent_layers,  # noqa: F401
                           voiced, write_wavs)

SR = 8000
SEGMENT = 8000
HOP_LENGTH = 128
N_STEPS = 1 + SEGMENT // HOP_LENGTH
N_MFCC, N_CHROMA, N_MELS = 20, 12, 40
N_FEATURES = N_MFCC + N_CHROMA + N_MELS
BLOCKS = {"MFCC": slice(0, N_MFCC), "chroma": slice(N_MFCC, N_MFCC + N_CHROMA),
          "log-mel": slice(N_MFCC + N_CHROMA, N_FEATURES)}


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


def labels_and_scores(rng: np.random.Generator, n: int, *, ties: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Random 0/1 labels (both present) and scores that separate them partly; ``ties``: on a coarse grid."""
    y = rng.permutation(np.r_[np.zeros(n // 2), np.ones(n - n // 2)]).astype(int)
    s = 1 / (1 + np.exp(-(rng.normal(0, 1, n) + rng.uniform(0.5, 2) * (2 * y - 1))))
    return y, (np.round(s * 10) / 10 if ties else s)
