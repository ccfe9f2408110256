"""Assignment 3, part 4: precision, recall, F1 of the fake class and the equal error rate, by hand.

Precision/recall/F1 are compared with scikit-learn; the EER by its definition: at the threshold the
student returns, FPR and FNR (computed here) must be as close as at any threshold among the scores
(plus one above them all), and the EER must be their mean there (ties between thresholds: any).
"""
from __future__ import annotations

import math

import numpy as np

from grader.api import CheckFailed, check
from grader.checks.a3_fake_or_real import _support as s
from grader.probes import require_value_error

CELL = "a3_metrics"


def _floats(values, n, what, *, infinite_last=False):
    """``values`` as floats: a tuple of ``n`` finite floats (the last may be +inf when ``infinite_last``)."""
    if not isinstance(values, tuple) or len(values) != n:
        raise CheckFailed(f"{what} must return a tuple of {n} floats, got {values!r}")
    for i, v in enumerate(values):
        ok = isinstance(v, (float, np.floating)) and (math.isfinite(v) or (infinite_last and i == n - 1 and v > 0))
        if not ok:
            raise CheckFailed(f"{what} must return finite floats, got {values!r}")
    return tuple(float(v) for v in values)


@check(points=3, title="precision_recall_f1: the fake class against scikit-learn", cell=CELL,
       message="precision_recall_f1(y_true, scores, threshold) must return precision, recall and F1 of the fake "
               "class (label 1), a clip being called fake when its score is >= threshold (scores equal to the "
               "threshold count as fake), as scikit-learn's precision_score / recall_score / f1_score.")
def test_precision_recall_f1_matches_sklearn(student, rng):
    from sklearn.metrics import f1_score, precision_score, recall_score

    for n, ties, threshold in ((40, False, 0.5), (25, True, 0.6), (60, True, 0.3), (31, False, 0.8)):
        y, scores = s.labels_and_scores(rng, n, ties=ties)
        got = _floats(student.precision_recall_f1(y, scores, threshold), 3, "precision_recall_f1")
        called = scores >= threshold
        want = (precision_score(y, called, zero_division=0), recall_score(y, called, zero_division=0),
                f1_score(y, called, zero_division=0))
        if not np.allclose(got, want, atol=1e-9):
            raise CheckFailed(f"at threshold {threshold}: got (precision, recall, F1) {np.round(got, 4)}, "
                              f"scikit-learn gives {np.round(want, 4)}")


@check(points=1, title="precision_recall_f1: 0.0 for a zero denominator", cell=CELL,
       message="precision_recall_f1 must return 0.0 for a ratio whose denominator is 0 (no clip called fake, "
               "no fake clip, no true positive), never NaN or an error.")
def test_precision_recall_f1_zero_division(student, rng):
    y, scores = s.labels_and_scores(rng, 20)
    cases = ((y, scores, 2.0, (0.0, 0.0, 0.0), "no clip called fake"),
             (np.zeros(8, int), np.linspace(0, 1, 8), 0.5, (0.0, 0.0, 0.0), "no fake clip"),
             (np.array([1, 1, 0, 0]), np.array([0.1, 0.2, 0.9, 0.8]), 0.5, (0.0, 0.0, 0.0), "no true positive"))
    for yy, ss, threshold, want, what in cases:
        got = _floats(student.precision_recall_f1(yy, ss, threshold), 3, "precision_recall_f1")
        if got != want:
            raise CheckFailed(f"with {what}: got {got}, expected {want}")


@check(points=1, title="precision_recall_f1: ValueError for different lengths", cell=CELL,
       message="precision_recall_f1 must raise a ValueError when y_true and scores differ in length.")
def test_precision_recall_f1_rejects_lengths(student, rng):
    y, scores = s.labels_and_scores(rng, 12)
    require_value_error({f"{len(yy)} labels and {len(ss)} scores": lambda yy=yy, ss=ss: student.precision_recall_f1(yy, ss, 0.5)
                         for yy, ss in ((y, scores[:-1]), (y[:5], scores))})


def _rates(y, scores, threshold):
    called = scores >= threshold
    return float(np.mean(called[y == 0])), float(np.mean(~called[y == 1]))


def _check_eer(student, y, scores, what):
    got = _floats(student.equal_error_rate(y, scores), 2, "equal_error_rate", infinite_last=True)
    eer, threshold = got
    candidates = np.append(np.unique(scores), np.inf)
    gaps = [abs(np.subtract(*_rates(y, scores, t))) for t in candidates]
    fpr, fnr = _rates(y, scores, threshold)
    if abs(fpr - fnr) > min(gaps) + 1e-9:
        raise CheckFailed(f"{what}: at the returned threshold {threshold:.4g}, |FPR - FNR| = {abs(fpr - fnr):.4f}; "
                          f"another threshold among the scores gives {min(gaps):.4f}")
    if not abs(eer - (fpr + fnr) / 2) <= 1e-9:
        raise CheckFailed(f"{what}: EER {eer:.4f}, but at the returned threshold FPR = {fpr:.4f} and FNR = "
                          f"{fnr:.4f}; the EER is their mean, {(fpr + fnr) / 2:.4f}")


@check(points=3, title="equal_error_rate: the rate where FPR and FNR meet", cell=CELL,
       message="equal_error_rate(y_true, scores) must return (EER, threshold): the threshold among the scores "
               "(plus one above them all) where |FPR - FNR| is smallest, FPR = real clips with score >= threshold "
               "/ real clips, FNR = fakes with score < threshold / fakes, and EER = (FPR + FNR) / 2 there.")
def test_equal_error_rate(student, rng):
    for n, ties in ((50, False), (33, True), (200, False), (17, True)):
        y, scores = s.labels_and_scores(rng, n, ties=ties)
        _check_eer(student, y, scores, f"{n} clips" + (" with tied scores" if ties else ""))
    y = np.array([0, 0, 0, 1, 1, 1])
    _check_eer(student, y, np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9]), "a perfect detector")
    _check_eer(student, y, np.array([0.9, 0.8, 0.7, 0.3, 0.2, 0.1]), "an inverted detector")
    _check_eer(student, np.array([1, 0, 0, 0, 1, 0, 0, 0]), rng.permutation(8) / 8.0, "imbalanced classes")
    y, scores = s.labels_and_scores(rng, 60)        # a confident detector: every score in a narrow band
    _check_eer(student, y, 0.5 + scores / 1000, "60 clips scored within 0.001 of each other")


@check(points=1, title="equal_error_rate: ValueError for one class or different lengths", cell=CELL,
       message="equal_error_rate must raise a ValueError when y_true does not hold both real (0) and fake (1) "
               "clips, or when y_true and scores differ in length.")
def test_equal_error_rate_rejects(student, rng):
    y, scores = s.labels_and_scores(rng, 10)
    require_value_error({what: lambda yy=yy, ss=ss: student.equal_error_rate(yy, ss)
                         for yy, ss, what in ((np.zeros(10, int), scores, "only real clips"),
                                              (np.ones(10, int), scores, "only fakes"),
                                              (y, scores[:-2], "10 labels and 8 scores"))})
