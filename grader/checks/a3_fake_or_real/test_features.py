"""Assignment 3, parts 1-2: frame_features (MFCC + chroma + log-mel, the frame mask), the normaliser.

Feature values are compared with the reference on the valid frames of speech-like synthetic
clips (what the padded frames hold does not matter: ``normalise`` sets them to 0).
"""
from __future__ import annotations

import numpy as np
import pytest

from grader.api import CheckFailed, check
from grader.boundary import class_name
from grader.checks.a3_fake_or_real import _support as s
from grader.probes import require_value_error

CELL = "a3_frame_features"


def _features(student, x):
    out = student.frame_features(x)
    if not isinstance(out, tuple) or len(out) != 2:
        raise CheckFailed(f"frame_features must return (features, mask), got {class_name(out)}")
    return np.asarray(out[0]), np.asarray(out[1])


def _lengths(rng, n=7):
    return np.r_[rng.integers(700, s.SEGMENT, n - 2), [s.SEGMENT, 2 * s.HOP_LENGTH + 1]]


@check(points=1, title="frame_features: shapes and dtypes", cell=CELL,
       message="frame_features(signals) must return features (n, N_STEPS, N_FEATURES) float32, time-major, "
               "and a boolean mask (n, N_STEPS).")
def test_frame_features_shapes(student, rng):
    x = s.clips(rng, _lengths(rng, 3))
    features, mask = _features(student, x)
    if features.shape != (3, s.N_STEPS, s.N_FEATURES):
        raise CheckFailed(f"features have shape {features.shape} for 3 clips; expected (3, {s.N_STEPS}, "
                          f"{s.N_FEATURES}): (clips, frames, features)")
    if features.dtype != np.float32:
        raise CheckFailed(f"features are {features.dtype}, expected float32")
    if mask.shape != (3, s.N_STEPS) or mask.dtype != bool:
        raise CheckFailed(f"mask is {mask.dtype} {mask.shape}, expected bool (3, {s.N_STEPS})")


@pytest.mark.parametrize("block", list(s.BLOCKS))
@check(points=2, title="frame_features: the values of each feature block", cell=CELL,
       message="On the valid frames, frame_features must give, in this order, 20 MFCCs computed from the 40 "
               "log-mel bands, 12 chroma bins (tuning=0) and the 40 log-mel bands 10*log10(max(mel power, "
               "1e-10)), all from one centred power STFT (N_FFT, HOP_LENGTH) at sr.", timeout=90)
def test_frame_features_values(student, reference, rng, block):
    x = s.clips(rng, _lengths(rng))
    features, mask = _features(student, x)
    want, want_mask = reference.frame_features(x)
    if features.shape != want.shape:
        raise CheckFailed(f"features have shape {features.shape}, expected {want.shape}")
    cols = s.BLOCKS[block]
    got, expected = features[want_mask][:, cols], want[want_mask][:, cols]
    atol = 1e-3 if block == "chroma" else 0.05
    if not np.allclose(got, expected, rtol=1e-3, atol=atol):
        worst = np.unravel_index(np.argmax(np.abs(got - expected)), got.shape)
        raise CheckFailed(f"{block} features (columns {cols.start}-{cols.stop - 1}) differ from the reference: "
                          f"feature {cols.start + worst[1]} of a valid frame is {got[worst]:.4g}, expected "
                          f"{expected[worst]:.4g}")


@check(points=2, title="frame_features: the frame mask", cell=CELL,
       message="mask[i, t] must be True exactly when t * HOP_LENGTH < length_i, length_i = index of clip i's "
               "last non-zero sample + 1 (zeros inside the sound do not end it; a silent clip has no valid "
               "frame).")
def test_frame_features_mask(student, rng):
    lengths = np.r_[[1, s.HOP_LENGTH, s.HOP_LENGTH + 1, 0, s.SEGMENT, s.SEGMENT - 1], rng.integers(1000, s.SEGMENT, 5)]
    x = s.clips(rng, lengths)
    x[6, : s.HOP_LENGTH * 3] = 0.0                    # leading silence: the clip still ends at its last sample
    x[7, 200:900] = 0.0                               # a pause inside the sound
    _, mask = _features(student, x)
    want = np.arange(s.N_STEPS)[None, :] * s.HOP_LENGTH < lengths[:, None]
    if mask.shape != want.shape:
        raise CheckFailed(f"mask has shape {mask.shape}, expected {want.shape}")
    bad = np.flatnonzero((mask.astype(bool) != want).any(axis=1))
    if bad.size:
        i = int(bad[0])
        raise CheckFailed(f"a clip whose last non-zero sample is at index {lengths[i] - 1} got "
                          f"{int(mask[i].sum())} valid frames, expected {int(want[i].sum())}")


@check(points=1, title="frame_features: a clip's features do not depend on the batch", cell=CELL,
       message="Row i of frame_features must depend on clip i only: computed alone or in a batch with other "
               "clips (louder, other pitch), a clip gets the same features.", timeout=90)
def test_frame_features_batch_independent(student, rng):
    x = s.clips(rng, _lengths(rng, 6))
    x[1:] *= 4.0                                      # louder companions
    together, mask = _features(student, x)
    alone, _ = _features(student, x[:1])
    if together.shape[1:] != alone.shape[1:]:
        raise CheckFailed("features of one clip have another shape than in a batch")
    valid = np.asarray(mask[0], dtype=bool)
    if not np.allclose(alone[0][valid], together[0][valid], rtol=1e-4, atol=1e-3):
        raise CheckFailed("the features of a clip change with the other clips of the batch")


@check(points=1, title="frame_features: ValueError for a wrong shape", cell=CELL,
       message="frame_features must raise a ValueError when signals is not a 2-D array of SEGMENT-sample rows.")
def test_frame_features_rejects_bad_shapes(student, rng):
    x = s.clips(rng, [3000])
    require_value_error({what: lambda bad=bad: student.frame_features(bad)
                         for bad, what in ((x[0], "a 1-D clip"), (x[:, :4000], "rows of 4000 samples"),
                                           (np.zeros((1, s.SEGMENT + 1), np.float32), "rows of 8001 samples"),
                                           (x[None], "a 3-D array"))})


# ---- part 2: fit_normaliser, normalise

def _masked_features(rng, n=6, steps=11, d=5):
    x = rng.normal(rng.uniform(-50, 50, d), rng.uniform(0.1, 20, d), (n, steps, d)).astype(np.float32)
    lengths = np.r_[rng.integers(1, steps, n - 1), [steps]]
    mask = s.lengths_mask(lengths, steps)
    x[~mask] = rng.uniform(500, 1000, x[~mask].shape)    # padding far from the data
    return x, mask


@check(points=2, title="fit_normaliser: statistics of the valid frames only", cell="a3_normaliser",
       message="fit_normaliser(features, mask) must return the per-feature mean and standard deviation "
               "(float32, shape (d,)) over the frames where mask is True, and nothing else.")
def test_fit_normaliser_valid_frames(student, reference, rng):
    x, mask = _masked_features(rng)
    mean, std = (np.asarray(v) for v in student.fit_normaliser(x, mask))
    want_mean, want_std = reference.fit_normaliser(x, mask)
    for got, want, what in ((mean, want_mean, "mean"), (std, want_std, "std")):
        if got.shape != want.shape or got.dtype != np.float32:
            raise CheckFailed(f"the {what} is {got.dtype} {got.shape}, expected float32 {want.shape}")
        if not np.allclose(got, want, rtol=1e-4, atol=1e-4):
            raise CheckFailed(f"the {what} differs from the {what} over the valid frames: got {np.round(got, 3)}, "
                              f"expected {np.round(want, 3)}")


@check(points=1, title="fit_normaliser: std at least 1e-6", cell="a3_normaliser",
       message="fit_normaliser must floor the standard deviation at 1e-6 (a constant feature, e.g. a silent "
               "band, must not make normalise divide by 0).")
def test_fit_normaliser_std_floor(student, rng):
    x, mask = _masked_features(rng)
    x[..., 2] = 3.0
    std = np.asarray(student.fit_normaliser(x, mask)[1], dtype=np.float64)
    if not np.isclose(std[2], 1e-6, rtol=1e-3, atol=0):
        raise CheckFailed(f"the std of a constant feature is {std[2]!r}, expected 1e-6")


@check(points=1, title="fit_normaliser: ValueError for an empty or mismatched mask", cell="a3_normaliser",
       message="fit_normaliser must raise a ValueError when the mask selects no frame or its shape is not "
               "features.shape[:2].")
def test_fit_normaliser_rejects_bad_masks(student, rng):
    x, mask = _masked_features(rng)
    require_value_error({what: lambda bad=bad: student.fit_normaliser(x, bad)
                         for bad, what in ((np.zeros_like(mask), "a mask with no valid frame"),
                                           (mask[:, :-1], "a mask one frame short"),
                                           (mask[:-1], "a mask for one clip fewer"))})


@check(points=2, title="normalise: standardised valid frames, zeros on padding", cell="a3_normaliser",
       message="normalise(features, mask, mean, std) must return float32 (features - mean) / std on the valid "
               "frames and 0 on the padded frames.")
def test_normalise(student, reference, rng):
    x, mask = _masked_features(rng)
    train, train_mask = _masked_features(rng)
    mean, std = reference.fit_normaliser(train, train_mask)
    got = np.asarray(student.normalise(x, mask, mean, std))
    want = reference.normalise(x, mask, mean, std)
    if got.shape != want.shape or got.dtype != np.float32:
        raise CheckFailed(f"normalise returned {got.dtype} {got.shape}, expected float32 {want.shape}")
    if not np.all(got[~mask] == 0):
        raise CheckFailed("padded frames must be 0 after normalise")
    if not np.allclose(got[mask], want[mask], rtol=1e-4, atol=1e-4):
        raise CheckFailed("valid frames must be (features - mean) / std with the statistics passed")
