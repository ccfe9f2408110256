"""Assignment 2, part 2: make_windows and make_dataset."""
from __future__ import annotations

import numpy as np

from grader.api import CheckFailed, check
from grader.probes import require_value_error

_CASES = [(10, 4, 2), (101, 100, 100), (1000, 100, 100), (1000, 100, 37), (57, 5, 11), (64, 8, 1), (9, 8, 3)]


def _windows(student, ids, seq_len, step):
    X, y = student.make_windows(ids, seq_len, step)
    X, y = np.asarray(X), np.asarray(y)
    if X.dtype != np.int32 or y.dtype != np.int32:
        raise CheckFailed(f"X and y must be int32, got {X.dtype} and {y.dtype}")
    return X, y


@check(points=2, title="make_windows: targets shifted by one", cell="a2_windows",
       message="make_windows(ids, seq_len, step): y must be X shifted by one "
               "(y[i] = ids[i*step + 1 : i*step + seq_len + 1]).")
def test_windows_targets_shifted_by_one(student, rng):
    for n, seq_len, step in _CASES:
        ids = rng.integers(0, 50, n)
        X, y = _windows(student, ids, seq_len, step)
        if X.ndim != 2 or X.shape[1:] != (seq_len,) or y.shape != X.shape:
            raise CheckFailed(f"for {n} ids, seq_len={seq_len}: expected X and y of shape (N, {seq_len})")
        for i in range(len(X)):
            if not np.array_equal(X[i], ids[i * step:i * step + seq_len]):
                raise CheckFailed(f"X[{i}] must be ids[{i}*step : {i}*step + seq_len]")
            if not np.array_equal(y[i], ids[i * step + 1:i * step + seq_len + 1]):
                raise CheckFailed(f"y[{i}] must be ids[{i}*step + 1 : {i}*step + seq_len + 1]")


@check(points=1, title="make_windows: every window that fits, ValueError if none", cell="a2_windows",
       message="make_windows must make every window that fits, N = (n - seq_len - 1) // step + 1, "
               "and raise a ValueError when not one fits (n < seq_len + 1).")
def test_windows_counts(student, rng):
    for n, seq_len, step in _CASES:
        X, _ = _windows(student, rng.integers(0, 50, n), seq_len, step)
        expected = (n - seq_len - 1) // step + 1
        if len(X) != expected:
            raise CheckFailed(f"for n={n}, seq_len={seq_len}, step={step} expected {expected} windows, got {len(X)}")
    require_value_error({"8 ids (no window of 8 inputs plus a target)": lambda: student.make_windows(np.arange(8), 8, 1)})


@check(points=1, title="make_dataset: full batches, seeded shuffling, a new order every epoch", cell="a2_windows",
       message="make_dataset(X, y, batch_size, seed) must yield (x, y) pairs in full batches (the last "
               "incomplete one dropped), int32, shuffled the same way for the same seed, in a new order "
               "every epoch (every pass over the dataset), and kept in order without a seed.")
def test_dataset_batches_and_shuffling(student, rng):
    X = rng.integers(0, 1000, (103, 6)).astype(np.int32)
    y = X + 1000
    def batches(seed):
        return [(np.asarray(a), np.asarray(b)) for a, b in student.make_dataset(X, y, 10, seed=seed)]
    ordered, first, again = batches(None), batches(7), batches(7)
    if len(ordered) != 10 or any(a.shape != (10, 6) or b.shape != (10, 6) for a, b in ordered):
        raise CheckFailed("103 windows in batches of 10: expected 10 batches of shape (10, seq_len)")
    if any(a.dtype != np.int32 or b.dtype != np.int32 for a, b in ordered):
        raise CheckFailed("batches must be int32")
    if not np.array_equal(np.concatenate([a for a, _ in ordered]), X[:100]):
        raise CheckFailed("without a seed the windows must keep their order")
    seen = np.concatenate([a for a, _ in first])
    if not all(np.array_equal(b, a + 1000) for a, b in first):
        raise CheckFailed("shuffling separated windows from their targets: shuffle (X, y) pairs together")
    if np.array_equal(seen, X[:100]):
        raise CheckFailed("with a seed the windows must be shuffled")
    if len({tuple(r) for r in seen}) != 100:
        raise CheckFailed("a shuffled epoch must hold 100 distinct windows")
    if not all(np.array_equal(a, c) for (a, _), (c, _) in zip(first, again)):
        raise CheckFailed("the same seed must give the same order")
    dataset = student.make_dataset(X, y, 10, seed=7)
    epochs = [np.concatenate([np.asarray(a) for a, _ in dataset]) for _ in range(2)]
    if len({tuple(r) for r in epochs[1]}) != 100:
        raise CheckFailed("a second pass over the dataset must hold the same 100 windows")
    if np.array_equal(epochs[0], epochs[1]):
        raise CheckFailed("two passes over the same dataset gave the same order: shuffle anew every epoch "
                          "(tf.data: reshuffle_each_iteration=True, the default)")
