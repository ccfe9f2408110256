"""Assignment 4, part 6: evaluate_predictions (accuracy, per-class recall, confusion matrix), against scikit-learn."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, recall_score

from grader import probes
from grader.api import CheckFailed, check

CELL = "a4_evaluate"


def _labels(rng, n=40, classes=5):
    """True labels without class 3 and predictions that sometimes say 3, over 5 classes; unequal class sizes."""
    y_true = rng.choice([0, 1, 2, 4], size=n, p=[0.4, 0.3, 0.2, 0.1])
    y_pred = np.where(rng.uniform(size=n) < 0.35, rng.integers(0, classes, n), y_true)
    return y_true, y_pred


def _evaluate(student, y_true, y_pred, n):
    got = student.evaluate_predictions(y_true, y_pred, n)
    missing = {"accuracy", "recall", "confusion"} - set(got)
    if missing:
        raise CheckFailed(f"the result lacks {sorted(missing)}")
    return got


@check(points=1, title="evaluate_predictions: accuracy", cell=CELL,
       message="evaluate_predictions(...)['accuracy'] must be the share of predictions equal to the truth.")
def test_accuracy(student, rng):
    y_true, y_pred = _labels(rng)
    got = float(_evaluate(student, y_true, y_pred, 5)["accuracy"])
    if not abs(got - accuracy_score(y_true, y_pred)) <= 1e-9:
        raise CheckFailed(f"accuracy {got:.4f}; expected {accuracy_score(y_true, y_pred):.4f}")


@check(points=2, title="evaluate_predictions: recall of every class (0 without clips)", cell=CELL,
       message="evaluate_predictions(...)['recall'] must hold, for every class 0 .. n_classes - 1, the share of its "
               "clips predicted as that class (recall, not precision), 0.0 for a class without clips.")
def test_recall_per_class(student, rng):
    y_true, y_pred = _labels(rng)
    got = np.asarray(_evaluate(student, y_true, y_pred, 5)["recall"], dtype=np.float64)
    want = recall_score(y_true, y_pred, labels=range(5), average=None, zero_division=0)
    if got.shape != (5,):
        raise CheckFailed(f"recall has shape {got.shape}; expected (5,): one value per class")
    if not np.allclose(got, want, atol=1e-9):
        raise CheckFailed(f"recall per class {np.round(got, 3).tolist()}; expected {np.round(want, 3).tolist()}")


@check(points=2, title="evaluate_predictions: confusion matrix, rows = true class", cell=CELL,
       message="evaluate_predictions(...)['confusion'] must be an (n_classes, n_classes) integer matrix whose entry "
               "[i, j] counts clips of true class i predicted as j (rows: truth, columns: prediction).")
def test_confusion_matrix(student, rng):
    y_true, y_pred = _labels(rng)
    got = np.asarray(_evaluate(student, y_true, y_pred, 5)["confusion"])
    want = confusion_matrix(y_true, y_pred, labels=range(5))
    if got.shape != want.shape or got.dtype.kind not in "iu":
        raise CheckFailed(f"shape {got.shape}, dtype {got.dtype}; expected {want.shape}, integers")
    if not np.array_equal(got, want):
        hint = " (transposed: rows must be the true class)" if np.array_equal(got, want.T) else ""
        raise CheckFailed("the counts differ from the expected matrix" + hint)


@check(points=1, title="evaluate_predictions: ValueError for bad lengths or labels", cell=CELL,
       message="evaluate_predictions must raise a ValueError when y_true and y_pred differ in length or hold a "
               "label outside 0 .. n_classes - 1.")
def test_evaluate_rejects_bad_labels(student):
    y = np.array([0, 1, 2, 1])
    cases = {"lengths 4 and 3": (y, y[:3], 3), "y_true holding 3 with n_classes=3": (np.r_[y, 3], np.r_[y, 0], 3),
             "y_pred holding -1": (y, np.array([0, 1, -1, 1]), 3),
             "y_pred holding 5 with n_classes=3": (y, np.array([0, 5, 2, 1]), 3)}
    probes.require_value_error({what: (lambda a=a: student.evaluate_predictions(*a)) for what, a in cases.items()})
