"""Assignment 4, part 3: pad_or_cut, mfcc_stats and svm_baseline.

The SVM checks probe the fitted model's behaviour, not its class: any scikit-learn linear SVM
(``LinearSVC``, ``SVC(kernel="linear")``, ``SGDClassifier(loss="hinge")``) behind any standardiser
that uses the training rows' statistics passes.
"""
from __future__ import annotations

import numpy as np

from grader.api import CheckFailed, check
from grader.boundary import class_name
from grader.checks.a4_voices import _support as s

CELL = "a4_baselines"


@check(points=1, title="pad_or_cut: the first `length` samples, zero-padded", cell=CELL,
       message="pad_or_cut(clips, length) must return a (len(clips), length) float32 array: each clip's first "
               "length samples, zeros after a shorter clip's end.")
def test_pad_or_cut(student, rng):
    clips = [rng.normal(0, 0.3, n).astype(np.float32) for n in (3, 10, 25, 1)]
    got = np.asarray(student.pad_or_cut(clips, 10))
    want = np.zeros((4, 10), np.float32)
    for i, y in enumerate(clips):
        want[i, :min(y.size, 10)] = y[:10]
    if got.shape != want.shape or got.dtype != np.float32:
        raise CheckFailed(f"shape {got.shape}, dtype {got.dtype}; expected {want.shape}, float32")
    if not np.array_equal(got, want):
        raise CheckFailed("the values differ from the first 10 samples of each clip, zero-padded after its end")


@check(points=1, title="pad_or_cut: ValueError for length < 1", cell=CELL,
       message="pad_or_cut must raise a ValueError when length is less than 1.")
def test_pad_or_cut_rejects_bad_length(student):
    s.require_value_error({f"length={n}": (lambda n=n: student.pad_or_cut([np.ones(4, np.float32)], n))
                           for n in (0, -5)})


@check(points=2, title="mfcc_stats: MFCC means, then standard deviations, over time", cell=CELL,
       message="mfcc_stats(y) must return 2 * N_MFCC float32 values: the mean over frames of each of the N_MFCC "
               "MFCCs (librosa.feature.mfcc with n_fft=N_FFT, hop_length=HOP_LENGTH, n_mels=N_MELS), then their "
               "standard deviations (ddof 0).")
def test_mfcc_stats(student, reference, rng):
    for n in s.clip_lengths(rng)[1:]:
        y = s.voiced(rng, n)
        got, want = np.asarray(student.mfcc_stats(y)), np.asarray(reference.mfcc_stats(y))
        if got.shape != want.shape or got.dtype != np.float32:
            raise CheckFailed(f"a clip of {n} samples: shape {got.shape}, dtype {got.dtype}; expected {want.shape}, "
                              "float32")
        for part, sl in (("means", slice(0, s.N_MFCC)), ("standard deviations", slice(s.N_MFCC, None))):
            if not np.allclose(got[sl], want[sl], rtol=1e-3, atol=1e-2):
                raise CheckFailed(f"a clip of {n} samples: the {part} (values {sl.start}..) differ from the expected "
                                  f"ones by up to {np.max(np.abs(got[sl] - want[sl])):.3g}")


def _blobs(rng, n, d=6, classes=3, shift=None, centres=None):
    """``n`` points around ``classes`` centres (drawn from ``rng`` unless given), labels cycling 0, 1, ..."""
    centres = rng.normal(0, 2.5, (classes, d)) if centres is None else centres
    y = np.arange(n) % len(centres)
    x = centres[y] + rng.normal(0, 1, (n, centres.shape[1]))
    return (x + (shift if shift is not None else 0)).astype(np.float64), y


def _baseline(student, *args):
    got = student.svm_baseline(*args)
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise CheckFailed("svm_baseline must return (model, accuracy)")
    return got


@check(points=2, title="svm_baseline: fitted on the training rows only", cell=CELL,
       message="svm_baseline must fit the standardiser and the SVM on x_train, y_train only: the returned model "
               "must not change when only the test rows change.")
def test_svm_uses_training_rows_only(student, rng):
    x_train, y_train = _blobs(rng, 90)
    probe = rng.normal(0, 3, (40, 6))
    predictions = []
    for shift, flip in ((0.0, False), (25.0, True)):
        x_test, y_test = _blobs(np.random.default_rng(7), 60, shift=shift)
        model, _ = _baseline(student, x_train, y_train, x_test, (2 - y_test) if flip else y_test)
        predictions.append(np.asarray(model.predict(probe)))
    if not np.array_equal(*predictions):
        raise CheckFailed("two calls with the same training rows and different test rows gave models that classify "
                          f"{np.sum(predictions[0] != predictions[1])} of 40 probe points differently")


@check(points=1, title="svm_baseline: a linear model", cell=CELL,
       message="svm_baseline must fit a linear SVM: its decision function must be an affine function of the "
               "features (standardising is affine too).")
def test_svm_is_linear(student, rng):
    centres = rng.normal(0, 2.5, (2, 6))
    x_train, y_train = _blobs(rng, 80, centres=centres)
    x_test, y_test = _blobs(rng, 20, centres=centres)
    model, _ = _baseline(student, x_train, y_train, x_test, y_test)
    if not hasattr(model, "decision_function"):
        raise CheckFailed(f"the model ({class_name(model)}) has no decision_function: not an SVM")
    a, b = rng.normal(0, 3, (30, 6)), rng.normal(0, 3, (30, 6))
    w = rng.uniform(0, 1, (30, 1))
    f = lambda x: np.asarray(model.decision_function(x), dtype=np.float64).reshape(len(x), -1)  # noqa: E731
    mixed, blend = f(w * a + (1 - w) * b), w * f(a) + (1 - w) * f(b)
    if not np.allclose(mixed, blend, rtol=1e-6, atol=1e-6 * (1 + np.abs(blend).max())):
        raise CheckFailed("the decision function of a mix of two points is not the mix of their decision values: "
                          "the model is not linear (a kernel other than 'linear'?)")


@check(points=1, title="svm_baseline: features standardised", cell=CELL,
       message="svm_baseline must standardise every feature with the training rows' mean and standard deviation "
               "before the SVM: a feature measured in tiny units must count as much as one in large units.")
def test_svm_standardises(student, rng):
    centres = rng.normal(0, 2.5, (3, 4))
    x_train, y_train = _blobs(rng, 150, centres=centres)
    x_test, y_test = _blobs(rng, 90, centres=centres)
    scales = np.array([1e-4, 1e-4, 1e-4, 1e-4])
    noise = lambda n: rng.normal(0, 1e3, (n, 4))  # noqa: E731  (large, uninformative features)
    _, acc = _baseline(student, np.c_[x_train * scales, noise(150)], y_train, np.c_[x_test * scales, noise(90)], y_test)
    if not float(acc) >= 0.8:
        raise CheckFailed(f"with the informative features in units 10,000 times smaller than 4 noise features, the "
                          f"test accuracy is {float(acc):.2f} (standardised: above 0.8)")


@check(points=1, title="svm_baseline: the accuracy on the test rows", cell=CELL,
       message="svm_baseline must return the share of the test rows that the fitted model classifies correctly.")
def test_svm_accuracy(student, rng):
    centres = rng.normal(0, 2.5, (3, 6))
    x_train, y_train = _blobs(rng, 90, centres=centres)
    x_test, y_test = _blobs(rng, 45, centres=centres)
    y_test = np.where(rng.uniform(size=45) < 0.3, (y_test + 1) % 3, y_test)    # some test labels are wrong
    model, acc = _baseline(student, x_train, y_train, x_test, y_test)
    want = float(np.mean(np.asarray(model.predict(x_test)) == y_test))
    if not abs(float(acc) - want) <= 1e-9:
        raise CheckFailed(f"returned accuracy {float(acc):.4f}; the model classifies {want:.4f} of the test rows "
                          "correctly")
