"""Assignment 4, part 1: validation_split, stratified by (speaker, digit), and per_class_subset (part 5).

Groups of unequal sizes whose validation share never ends in .5 (so that ``round`` is unambiguous).
"""
from __future__ import annotations

import numpy as np

from grader.api import CheckFailed, check
from grader.checks.a4_voices import _support as s

SPLIT, SUBSET = "a4_validation_split", "a4_transfer"
SIZES = (6, 7, 8, 9, 11, 12, 13, 14)   # x 0.3: 1.8 2.1 2.4 2.7 3.3 3.6 3.9 4.2


def _groups(rng):
    """Shuffled clips of 3 speakers x 4 digits, group sizes from SIZES; speaker and digit labels."""
    speakers, digits = [], []
    for i, speaker in enumerate(("ann", "bob", "cid")):
        for digit in range(4):
            n = SIZES[(i * 4 + digit) % len(SIZES)]
            speakers += [speaker] * n
            digits += [digit] * n
    order = rng.permutation(len(speakers))
    return np.array(speakers)[order], np.array(digits)[order]


def _split(student, speakers, digits, fraction=0.3, seed=0):
    got = student.validation_split(speakers, digits, fraction=fraction, seed=seed)
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise CheckFailed("validation_split must return two index arrays (train, validation)")
    return [np.asarray(g) for g in got]


@check(points=2, title="validation_split: every clip in exactly one part", cell=SPLIT,
       message="validation_split must return sorted integer indices (train, validation), every clip in exactly one "
               "of the two: the same recording in both parts makes validation reward memorising it.")
def test_split_partitions_the_clips(student, rng):
    speakers, digits = _groups(rng)
    train, val = _split(student, speakers, digits)
    for name, idx in (("train", train), ("validation", val)):
        if idx.dtype.kind not in "iu":
            raise CheckFailed(f"{name} indices have dtype {idx.dtype}; expected integers")
        if not np.all(np.diff(idx) > 0):
            raise CheckFailed(f"{name} indices must be sorted, without repeats")
    both = np.intersect1d(train, val)
    if both.size:
        raise CheckFailed(f"{both.size} clips are in both training and validation")
    if not np.array_equal(np.union1d(train, val), np.arange(len(speakers))):
        raise CheckFailed(f"train and validation together hold {np.union1d(train, val).size} of the "
                          f"{len(speakers)} clips")


@check(points=2, title="validation_split: round(fraction x size) of every group", cell=SPLIT,
       message="validation_split must put round(fraction * size) clips of every (speaker, digit) group into "
               "validation (stratified by speaker and digit), the rest into training.")
def test_split_is_stratified(student, rng):
    speakers, digits = _groups(rng)
    for fraction in (0.3, 0.6):
        _, val = _split(student, speakers, digits, fraction)
        val = val[(val >= 0) & (val < len(speakers))]
        for speaker in np.unique(speakers):
            for digit in np.unique(digits):
                group = (speakers == speaker) & (digits == digit)
                want = int(round(fraction * group.sum()))
                got = int(np.sum(group[val]))
                if got != want:
                    raise CheckFailed(f"fraction={fraction}: speaker {speaker!r}, digit {digit}: {got} of "
                                      f"{group.sum()} clips in validation, expected {want}")


@check(points=1, title="validation_split: random, and the same for the same seed", cell=SPLIT,
       message="validation_split must choose each group's validation clips at random with "
               "np.random.default_rng(seed): the same seed gives the same split, other seeds other splits.")
def test_split_is_seeded(student, rng):
    speakers, digits = _groups(rng)
    first = _split(student, speakers, digits, seed=3)[1]
    if not np.array_equal(_split(student, speakers, digits, seed=3)[1], first):
        raise CheckFailed("two calls with seed=3 gave different splits")
    if all(np.array_equal(_split(student, speakers, digits, seed=seed)[1], first) for seed in (4, 5, 6)):
        raise CheckFailed("seeds 3, 4, 5 and 6 gave the same split: the clips are not chosen at random")
    ordered_speakers, ordered_digits = np.sort(speakers), np.zeros(len(speakers), int)
    _, val = _split(student, ordered_speakers, ordered_digits, seed=3)
    if all(np.array_equal(v, np.arange(v.min(), v.max() + 1)) for v in
           (val[ordered_speakers[val] == s] for s in np.unique(speakers))):
        raise CheckFailed("every group's validation clips are one run of consecutive clips (the first or last "
                          "of each group), not a random choice")


@check(points=1, title="validation_split: ValueError for a bad fraction or lengths", cell=SPLIT,
       message="validation_split must raise a ValueError when fraction is not strictly between 0 and 1, or when "
               "speakers and digits differ in length.")
def test_split_rejects_bad_input(student, rng):
    speakers, digits = _groups(rng)
    cases = {f"fraction={f}": (lambda f=f: student.validation_split(speakers, digits, fraction=f, seed=0))
             for f in (0.0, 1.0, 1.5, -0.2)}
    cases["speakers one longer than digits"] = lambda: student.validation_split(np.r_[speakers, ["ann"]], digits,
                                                                               fraction=0.3, seed=0)
    s.require_value_error(cases)


# ---- part 5: per_class_subset

@check(points=2, title="per_class_subset: k random clips of every class", cell=SUBSET,
       message="per_class_subset(labels, k, seed=...) must return the sorted indices of k clips of every class "
               "(no repeats), chosen at random with the seed; all indices when k is None.")
def test_per_class_subset(student, rng):
    labels = rng.permutation(np.repeat([0, 1, 2, 5], [9, 14, 6, 11]))
    for k in (1, 4, 6):
        got = np.asarray(student.per_class_subset(labels, k, seed=2))
        if got.dtype.kind not in "iu" or not np.all(np.diff(got) > 0):
            raise CheckFailed(f"k={k}: the indices must be sorted integers without repeats")
        counts = {int(c): int(np.sum(labels[got] == c)) for c in np.unique(labels)}
        if any(n != k for n in counts.values()):
            raise CheckFailed(f"k={k}: clips per class {counts}; expected {k} of each class")
    picks = {tuple(np.asarray(student.per_class_subset(labels, 4, seed=seed))) for seed in range(4)}
    if len(picks) == 1:
        raise CheckFailed("seeds 0-3 chose the same clips: the clips are not chosen at random")
    if not np.array_equal(np.asarray(student.per_class_subset(labels, None, seed=0)), np.arange(labels.size)):
        raise CheckFailed("k=None must return every index, 0 .. n-1")


@check(points=1, title="per_class_subset: ValueError for k < 1 or a class smaller than k", cell=SUBSET,
       message="per_class_subset must raise a ValueError when k is less than 1 or a class has fewer than k clips.")
def test_per_class_subset_rejects_bad_k(student):
    labels = np.repeat([0, 1, 2], [5, 8, 3])
    s.require_value_error({"k=0": lambda: student.per_class_subset(labels, 0, seed=0),
                           "k=4 with a class of 3 clips": lambda: student.per_class_subset(labels, 4, seed=0)})
