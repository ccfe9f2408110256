"""Seeding for reproducible runs (Python, NumPy, Keras/TensorFlow)."""
from __future__ import annotations

import os
import random

import numpy as np


def seed_everything(seed: int, *, deterministic_ops: bool = True) -> None:
    """Seed every random number generator a notebook uses.

    Parameters
    ----------
    seed : int
        The seed for Python's ``random``, NumPy's global generator and Keras
        (``keras.utils.set_random_seed`` also seeds TensorFlow).
    deterministic_ops : bool, keyword-only
        Also call ``tf.config.experimental.enable_op_determinism()`` so that two
        runs with the same seed give bitwise-identical models on CPU.

    Notes
    -----
    Importing TensorFlow takes a few seconds; this function imports it lazily.
    ``PYTHONHASHSEED`` only takes effect for new processes; it is set here so
    that subprocesses (joblib workers) inherit it.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {seed!r}; pass e.g. seed_everything(42)")
    os.environ.setdefault("PYTHONHASHSEED", str(int(seed)))
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(int(seed))
    if deterministic_ops:
        tf.config.experimental.enable_op_determinism()
