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


@check(points=3, message="MicroF1 must equal scikit-learn's f1_score(average='micro') of the labels and argmax "
                         "predictions of a batch (sparse integer labels of shape (batch,) or (batch, 1), probability "
                         "predictions, classes that occur only among the predictions included).")
def test_micro_f1_matches_sklearn_over_batches(student, rng):
    # one batch per fresh metric: pooling over batches is test_micro_f1_is_not_a_batch_average's property
    for num_classes, size in ((10, 7), (10, 32), (10, 1), (4, 50), (4, 3)):
        metric = student.MicroF1(num_classes=num_classes)
        ((labels, probs),) = _batches(rng, num_classes, (size,))
        metric.update_state(labels, probs)
        expected = f1_score(labels, probs.argmax(axis=1), average="micro")
        got = _result(metric)
        if abs(got - expected) > 1e-5:
            raise CheckFailed(f"got {got:.4f}, expected {expected:.4f} ({num_classes} classes, a batch of {size})")
    metric = student.MicroF1(num_classes=3)
    metric.update_state(np.array([[0], [2]]), np.eye(3, dtype=np.float32)[[0, 1]])   # labels of shape (batch, 1)
    if abs(_result(metric) - 0.5) > 1e-5:
        raise CheckFailed("labels of shape (batch, 1) were not read as one label per row")
    metric = student.MicroF1(num_classes=5)
    metric.update_state(np.array([0, 0, 1, 1, 2]), np.eye(5, dtype=np.float32)[[0, 3, 1, 4, 4]])   # 3, 4: predicted only
    if abs(_result(metric) - 0.4) > 1e-5:
        raise CheckFailed("wrong when some classes occur only among the predictions (their false positives count)")


@check(points=2, message="MicroF1 must pool the counts of all batches seen since the last reset (batches of "
                         "different sizes), not average the F1 of each batch.")
def test_micro_f1_is_not_a_batch_average(student, rng):
    metric = student.MicroF1(num_classes=10)
    eye = np.eye(10, dtype=np.float32)
    metric.update_state(np.array([3]), eye[[3]])                    # 1 clip, right: batch F1 = 1
    metric.update_state(np.arange(9), eye[(np.arange(9) + 1) % 10])  # 9 clips, all wrong: batch F1 = 0
    if abs(_result(metric) - 0.1) > 1e-5:                          # pooled 1/10, batch average 0.5
        raise CheckFailed(f"a right batch of 1 and a wrong batch of 9 gave {_result(metric):.3f}, expected 0.1 "
                          "(the pooled counts; the mean of the batch F1s is 0.5)")
    for num_classes, sizes in ((10, (7, 32, 1, 19)), (4, (50, 3))):
        metric = student.MicroF1(num_classes=num_classes)
        batches = _batches(rng, num_classes, sizes)
        for labels, probs in batches:
            metric.update_state(labels, probs)
        y_true = np.concatenate([b[0] for b in batches])
        y_pred = np.concatenate([b[1].argmax(axis=1) for b in batches])
        expected = f1_score(y_true, y_pred, average="micro")
        if abs(_result(metric) - expected) > 1e-5:
            raise CheckFailed(f"over {len(sizes)} batches got {_result(metric):.4f}, expected {expected:.4f}")


@check(points=1, message="MicroF1.reset_state() must clear the accumulated counts.")
def test_micro_f1_reset_state(student, rng):
    metric = student.MicroF1(num_classes=5)
    eye = np.eye(5, dtype=np.float32)
    metric.update_state(np.array([0, 1, 2]), eye[[1, 2, 3]])
    metric.reset_state()
    metric.update_state(np.array([4, 4]), eye[[4, 4]])
    assert abs(_result(metric) - 1.0) < 1e-5


@check(points=1, message="MicroF1 must work as a compiled Keras metric (model.evaluate on one batch gives "
                         "scikit-learn's micro F1) and keep num_classes in get_config, so that models compiled with "
                         "it can be saved and reloaded.")
def test_micro_f1_in_a_compiled_model(student, rng):
    import keras

    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=[student.MicroF1(num_classes=4)])
    x = rng.normal(size=(70, 6)).astype(np.float32)
    y = rng.integers(0, 4, 70)
    # one batch: pooling over batches is test_micro_f1_is_not_a_batch_average's property
    result = model.evaluate(x, y, batch_size=70, verbose=0, return_dict=True)
    value = [v for k, v in result.items() if k != "loss"][0]
    expected = f1_score(y, s.predict(model, x).argmax(axis=1), average="micro")
    if abs(float(value) - expected) > 1e-5:
        raise CheckFailed(f"model.evaluate reported {float(value):.4f}, expected {expected:.4f}")
    config = student.MicroF1(num_classes=7).get_config()
    clone = student.MicroF1.from_config(config)
    if getattr(clone, "num_classes", 7) != 7 or clone.name != "micro_f1":
        raise CheckFailed("MicroF1.from_config(metric.get_config()) lost num_classes or the name: add num_classes "
                          "to get_config")


@check(points=1, message="micro_f1_score(y_true, y_pred) must return scikit-learn's micro F1 of two label "
                         "arrays as a float (classes that occur only among the predictions included).")
def test_micro_f1_score(student, rng):
    for n, k in ((200, 10), (13, 3)):
        y_true, y_pred = rng.integers(0, k, n), rng.integers(0, k, n)
        y_pred[: n // 2] = y_true[: n // 2]
        got = student.micro_f1_score(y_true, y_pred)
        assert isinstance(got, (float, np.floating))
        assert abs(float(got) - f1_score(y_true, y_pred, average="micro")) < 1e-9
    y_true, y_pred = np.array([0, 0, 1, 1, 2, 2]), np.array([0, 3, 1, 4, 4, 2])   # 3 and 4: only predicted
    got = student.micro_f1_score(y_true, y_pred)
    if abs(float(got) - 0.5) > 1e-9:
        raise CheckFailed(f"got {float(got):.4f}, expected 0.5 when some classes occur only among the predictions "
                          "(their false positives count)")
