"""Assignment 1, part 4: the GradientHistograms callback."""
from __future__ import annotations

import numpy as np

from grader import onstudent
from grader.api import CheckFailed, check
from grader.boundary import StudentFolder, on_student
from grader.checks.a1_spoken_digits import _support as s
from kit import tblogs


def _two_input_model(keras):
    frames = keras.Input((7, 5), name="x")
    mask = keras.Input((7,), dtype="bool", name="m")
    h = keras.layers.Dense(6, activation="tanh")(frames)
    h = keras.layers.LSTM(4, return_sequences=True)(h, mask=mask)
    h = keras.layers.GlobalAveragePooling1D()(h, mask=mask)
    out = keras.layers.Dense(3, activation="softmax")(h)
    return keras.Model([frames, mask], out)


def _data(rng, n=24):
    x = rng.normal(size=(n, 7, 5)).astype(np.float32)
    m = s.lengths_mask(rng.integers(1, 8, n), 7)
    return [x, m], rng.integers(0, 3, n)


def _histograms(log_dir):
    return {tag: h for run in tblogs.read_histograms(log_dir).values() for tag, h in run.items()}


def _tag_of(hists, variable):
    tags = [t for t in hists if t == variable.path or t.endswith("/" + variable.path)]
    return tags[0] if tags else None


@check(points=3, title="GradientHistograms: every variable after every epoch", cell="a1_gradient_histograms",
       message="GradientHistograms(log_dir, x, y, every=1) must write, after every epoch, a histogram "
               "for every trainable variable of the model (tag ending with variable.path, step = epoch) "
               "to event files under log_dir; it must work for models with two inputs.")
def test_gradient_histograms_every_variable(student, rng, tmp_path):
    import keras

    model = _two_input_model(keras)
    x, y = _data(rng)
    logs = StudentFolder(student, tmp_path, "grads")
    on_student(student, onstudent.compile_and_fit, model, dict(optimizer="adam", loss="sparse_categorical_crossentropy"),
               x, y, epochs=3, batch_size=8, verbose=0,
               callbacks=[student.GradientHistograms(logs.path, [a[:8] for a in x], y[:8])])
    grads = logs.collect()
    if not grads.is_dir() or not tblogs.event_files(grads):
        raise CheckFailed("no TensorBoard event file was written under log_dir")
    hists = _histograms(grads)
    missing = [v.path for v in model.trainable_variables if _tag_of(hists, v) is None]
    if missing:
        raise CheckFailed(f"no histogram for {len(missing)} of {len(model.trainable_variables)} trainable "
                          f"variables, e.g. {missing[0]!r}")
    for v in model.trainable_variables:
        assert hists[_tag_of(hists, v)].steps.tolist() == [0, 1, 2]


@check(points=1, title="GradientHistograms: logs only at multiples of every", cell="a1_gradient_histograms",
       message="GradientHistograms must log after epochs 0, every, 2*every, ... only.")
def test_gradient_histograms_every(student, rng, tmp_path):
    import keras

    model = _two_input_model(keras)
    x, y = _data(rng)
    logs = StudentFolder(student, tmp_path, "grads")
    on_student(student, onstudent.compile_and_fit, model, dict(optimizer="adam", loss="sparse_categorical_crossentropy"),
               x, y, epochs=5, batch_size=8, verbose=0, callbacks=[student.GradientHistograms(logs.path, x, y, every=2)])
    hists = _histograms(logs.collect())
    tag = _tag_of(hists, model.trainable_variables[0])
    assert tag is not None and hists[tag].steps.tolist() == [0, 2, 4]


@check(points=2, title="GradientHistograms: gradients of the loss, not weights", cell="a1_gradient_histograms",
       message="GradientHistograms must histogram the gradients of the compiled loss on the fixed "
               "batch (x, y) (computed with tf.GradientTape), not the weights.")
def test_gradient_histograms_are_gradients(student, rng, tmp_path):
    import keras
    import tensorflow as tf

    model = _two_input_model(keras)
    x, y = _data(rng)
    probe_x, probe_y = [a[:10] for a in x], y[:10]
    logs = StudentFolder(student, tmp_path, "grads")
    on_student(student, onstudent.compile_and_fit, model,
               dict(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="sparse_categorical_crossentropy"),
               x, y, epochs=1, batch_size=8, verbose=0, callbacks=[student.GradientHistograms(logs.path, probe_x, probe_y)])
    with tf.GradientTape() as tape:     # the weights did not move (learning rate 0)
        loss = keras.losses.sparse_categorical_crossentropy(probe_y, model(probe_x, training=True))
        loss = tf.reduce_mean(loss)
    grads = tape.gradient(loss, model.trainable_variables)
    hists = _histograms(logs.collect())
    for v, g in zip(model.trainable_variables, grads):
        tag = _tag_of(hists, v)
        if tag is None:
            raise CheckFailed(f"no histogram for {v.path!r}")
        buckets = hists[tag].buckets[0]
        g = np.asarray(g).reshape(-1)
        assert buckets[:, 2].sum() == g.size
        np.testing.assert_allclose([buckets[0, 0], buckets[-1, 1]], [g.min(), g.max()], rtol=1e-3, atol=1e-7)
