"""Assignment 1, part 3: the stateful MicroF1 metric and micro_f1_score."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import f1_score

from grader.api import CheckFailed, check
from grader.checks.a1_spoken_digits import _support as s


def _batches(rng, num_classes, sizes):
    out = []
    for n in sizes:
        labels = rng.integers(0, num_classes, n)
        probs = rng.dirichlet(np.ones(num_classes), n).astype(np.float32)
        hit = rng.random(n) < 0.5          # about half right, so F1 is far from 0 and 1
        probs[hit, labels[hit]] += 2.0
        out.append((labels, probs / probs.sum(axis=1, keepdims=True)))
    return out


def _result(metric) -> float:
    return float(s.as_numpy(metric.result()))


@check(points=3, message="MicroF1 must equal scikit-learn's f1_score(average='micro') of all the labels and "
                         "argmax predictions seen since the last reset, accumulated over batches of different "
                         "sizes (sparse integer labels, probability predictions).")
def test_micro_f1_matches_sklearn_over_batches(student, rng):
    for num_classes, sizes in ((10, (7, 32, 1, 19)), (4, (50, 3))):
        metric = student.MicroF1(num_classes=num_classes)
        batches = _batches(rng, num_classes, sizes)
        for labels, probs in batches:
            metric.update_state(labels, probs)
        y_true = np.concatenate([b[0] for b in batches])
        y_pred = np.concatenate([b[1].argmax(axis=1) for b in batches])
        expected = f1_score(y_true, y_pred, average="micro")
        got = _result(metric)
        if abs(got - expected) > 1e-5:
            raise CheckFailed(f"got {got:.4f}, expected {expected:.4f} ({num_classes} classes, {len(sizes)} batches)")
    metric = student.MicroF1(num_classes=3)
    metric.update_state(np.array([[0], [2]]), np.eye(3, dtype=np.float32)[[0, 1]])   # labels of shape (batch, 1)
    assert abs(_result(metric) - 0.5) < 1e-5


@check(points=2, message="MicroF1 must pool the counts of all batches, not average the F1 of each batch.")
def test_micro_f1_is_not_a_batch_average(student):
    metric = student.MicroF1(num_classes=10)
    eye = np.eye(10, dtype=np.float32)
    metric.update_state(np.array([3]), eye[[3]])                    # 1 clip, right: batch F1 = 1
    metric.update_state(np.arange(9), eye[(np.arange(9) + 1) % 10])  # 9 clips, all wrong: batch F1 = 0
    assert abs(_result(metric) - 0.1) < 1e-5                       # pooled 1/10, batch average 0.5


@check(points=1, message="MicroF1.reset_state() must clear the accumulated counts.")
def test_micro_f1_reset_state(student, rng):
    metric = student.MicroF1(num_classes=5)
    eye = np.eye(5, dtype=np.float32)
    metric.update_state(np.array([0, 1, 2]), eye[[1, 2, 3]])
    metric.reset_state()
    metric.update_state(np.array([4, 4]), eye[[4, 4]])
    assert abs(_result(metric) - 1.0) < 1e-5


@check(points=1, message="MicroF1 must work as a compiled Keras metric (model.evaluate) and keep num_classes "
                         "in get_config, so that models compiled with it can be saved and reloaded.")
def test_micro_f1_in_a_compiled_model(student, rng):
    import keras

    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=[student.MicroF1(num_classes=4)])
    x = rng.normal(size=(70, 6)).astype(np.float32)
    y = rng.integers(0, 4, 70)
    result = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    value = [v for k, v in result.items() if k != "loss"][0]
    expected = f1_score(y, s.predict(model, x).argmax(axis=1), average="micro")
    assert abs(float(value) - expected) < 1e-5
    config = student.MicroF1(num_classes=7).get_config()
    clone = student.MicroF1.from_config(config)
    assert getattr(clone, "num_classes", 7) == 7 and clone.name == "micro_f1"


@check(points=1, message="micro_f1_score(y_true, y_pred) must return scikit-learn's micro F1 of two label "
                         "arrays as a float.")
def test_micro_f1_score(student, rng):
    for n, k in ((200, 10), (13, 3)):
        y_true, y_pred = rng.integers(0, k, n), rng.integers(0, k, n)
        y_pred[: n // 2] = y_true[: n // 2]
        got = student.micro_f1_score(y_true, y_pred)
        assert isinstance(got, (float, np.floating))
        assert abs(float(got) - f1_score(y_true, y_pred, average="micro")) < 1e-9
