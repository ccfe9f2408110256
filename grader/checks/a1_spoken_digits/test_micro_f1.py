"""Assignment 1, part 3: the stateful MicroF1 metric and micro_f1_score."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import f1_score

from grader import onstudent
from grader.api import CheckFailed, check
from grader.boundary import on_student
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


def _far(got: float, want: float, tol: float) -> bool:
    """True unless ``got`` is within ``tol`` of ``want`` (NaN is far from everything)."""
    return not abs(got - want) <= tol


@check(points=3, title="MicroF1: scikit-learn's micro F1 of a batch", cell="a1_micro_f1",
       message="MicroF1 must equal scikit-learn's f1_score(average='micro') of the labels and argmax "
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
        if _far(got, expected, 1e-5):
            raise CheckFailed(f"got {got:.4f}, expected {expected:.4f} ({num_classes} classes, a batch of {size})")
    metric = student.MicroF1(num_classes=3)
    metric.update_state(np.array([[0], [2]]), np.eye(3, dtype=np.float32)[[0, 1]])   # labels of shape (batch, 1)
    if _far(_result(metric), 0.5, 1e-5):
        raise CheckFailed("labels of shape (batch, 1) were not read as one label per row")
    metric = student.MicroF1(num_classes=5)
    metric.update_state(np.array([0, 0, 1, 1, 2]), np.eye(5, dtype=np.float32)[[0, 3, 1, 4, 4]])   # 3, 4: predicted only
    if _far(_result(metric), 0.4, 1e-5):
        raise CheckFailed("wrong when some classes occur only among the predictions (their false positives count)")


@check(points=2, title="MicroF1: counts pooled over batches, not averaged", cell="a1_micro_f1",
       message="MicroF1 must pool the counts of all batches seen since the last reset (batches of "
               "different sizes), not average the F1 of each batch: after several batches it must give what "
               "it gives for the same clips in one batch.")
def test_micro_f1_is_not_a_batch_average(student, rng):
    # compared with the student's own one-batch value: what that value is, is
    # test_micro_f1_matches_sklearn_over_batches's property (one mistake, one charge)
    eye = np.eye(10, dtype=np.float32)
    one_right = (np.array([3]), eye[[3]])                               # batch F1 = 1
    nine_wrong = (np.arange(9), eye[(np.arange(9) + 1) % 10])           # batch F1 = 0
    pooled, whole = _fed(student, 10, [one_right, nine_wrong]), _fed(student, 10, [_joined([one_right, nine_wrong])])
    if _far(pooled, whole, 1e-5):
        raise CheckFailed(f"a right batch of 1 clip and a wrong batch of 9 gave {pooled:.3f}, but the same 10 clips "
                          f"in one batch gave {whole:.3f} (pooled counts: 0.1; the mean of the batch F1s: 0.5)")
    for num_classes, sizes in ((10, (7, 32, 1, 19)), (4, (50, 3))):
        batches = _batches(rng, num_classes, sizes)
        pooled, whole = _fed(student, num_classes, batches), _fed(student, num_classes, [_joined(batches)])
        if _far(pooled, whole, 1e-5):
            raise CheckFailed(f"over batches of {list(sizes)} clips got {pooled:.4f}, the same clips in one batch "
                              f"{whole:.4f}")


def _fed(student, num_classes, batches) -> float:
    """The result of a fresh ``MicroF1`` after ``update_state`` on each batch."""
    metric = student.MicroF1(num_classes=num_classes)
    for labels, probs in batches:
        metric.update_state(labels, probs)
    return _result(metric)


def _joined(batches):
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])


@check(points=1, title="MicroF1: reset_state clears the counts", cell="a1_micro_f1",
       message="MicroF1.reset_state() must clear the accumulated counts: after a reset the metric must give "
               "what a new one gives for the same batch.")
def test_micro_f1_reset_state(student, rng):
    eye = np.eye(5, dtype=np.float32)
    metric = student.MicroF1(num_classes=5)
    metric.update_state(np.array([0, 1, 2]), eye[[1, 2, 3]])            # all wrong: must be forgotten
    metric.reset_state()
    after = (np.array([4, 4, 0]), eye[[4, 4, 1]])
    metric.update_state(*after)
    got, fresh = _result(metric), _fed(student, 5, [after])
    if _far(got, fresh, 1e-5):
        raise CheckFailed(f"after reset_state() and one batch: {got:.4f}; a new metric on that batch: {fresh:.4f}")


@check(points=1, title="MicroF1: works compiled, num_classes kept in get_config", cell="a1_micro_f1",
       message="MicroF1 must work as a compiled Keras metric (model.evaluate on one batch reports what the "
               "metric gives called directly on the model's predictions) and keep num_classes in get_config, so "
               "that models compiled with it can be saved and reloaded.")
def test_micro_f1_in_a_compiled_model(student, rng):
    import keras

    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="softmax")])
    x = rng.normal(size=(70, 6)).astype(np.float32)
    y = rng.integers(0, 4, 70)
    # one batch, compared with the metric called directly: its value is another check's property
    result = on_student(student, onstudent.compile_and_evaluate, model,
                        dict(optimizer="sgd", loss="sparse_categorical_crossentropy",
                             metrics=[student.MicroF1(num_classes=4)]), x, y, batch_size=70, verbose=0)
    value = float([v for k, v in result.items() if k != "loss"][0])
    probs = s.predict(model, x)
    direct = [_fed(student, 4, [(labels, probs)]) for labels in (y, y[:, None])]   # Keras may pass (batch, 1)
    if all(_far(value, d, 1e-5) for d in direct):
        raise CheckFailed(f"model.evaluate reported {value:.4f}; the metric called directly on the same labels and "
                          f"predictions gives {direct[0]:.4f} (does update_state work inside a compiled graph, "
                          "with tensors, not NumPy arrays?)")
    config = student.MicroF1(num_classes=7).get_config()
    clone = student.MicroF1.from_config(config)
    if getattr(clone, "num_classes", 7) != 7 or clone.name != "micro_f1":
        raise CheckFailed("MicroF1.from_config(metric.get_config()) lost num_classes or the name: add num_classes "
                          "to get_config")


@check(points=1, title="micro_f1_score: scikit-learn's micro F1 of two label arrays", cell="a1_micro_f1",
       message="micro_f1_score(y_true, y_pred) must return scikit-learn's micro F1 of two label "
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
    if _far(float(got), 0.5, 1e-9):
        raise CheckFailed(f"got {float(got):.4f}, expected 0.5 when some classes occur only among the predictions "
                          "(their false positives count)")
