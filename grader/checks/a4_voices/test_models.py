"""Assignment 4, parts 4 and 5: build_cnn and transfer_model.

Models are built with sizes other than the notebook's (a builder must use its arguments). The
transfer checks start from a source built by the **reference** ``build_cnn`` with fixed random
weights, so a mistake in the student's ``build_cnn`` is not charged again here.
"""
from __future__ import annotations

import numpy as np

from grader.api import CheckFailed, check
from grader.boundary import student_copy
from grader.checks.a4_voices import _support as s

CNN, TRANSFER = "a4_build_cnn", "a4_transfer"
SHAPE, BATCH = (16, 24), 4


@check(points=2, title="build_cnn: an image in, class probabilities out", cell=CNN,
       message="build_cnn(n_classes, image_shape) must return a keras.Model from images (batch, rows, columns, 1) "
               "of the shape passed to (batch, n_classes) softmax probabilities.")
def test_cnn_input_and_output(student, rng):
    for n_classes in (4, 9):
        model = student.build_cnn(n_classes, SHAPE)
        shapes = [tuple(t.shape)[1:] for t in model.inputs]
        if shapes != [(*SHAPE, 1)]:
            raise CheckFailed(f"build_cnn({n_classes}, {SHAPE}) has input shapes {shapes}; expected [{(*SHAPE, 1)}]")
        p = s.predict(model, s.images(rng, BATCH, SHAPE))
        if p.shape != (BATCH, n_classes):
            raise CheckFailed(f"build_cnn({n_classes}, {SHAPE}) outputs shape {p.shape}; expected {(BATCH, n_classes)}")
        if not (np.all(p >= 0) and np.allclose(p.sum(axis=1), 1, atol=1e-4)):
            raise CheckFailed("the output rows must be probabilities that sum to 1 (a softmax)")


@check(points=2, title="build_cnn: a convolutional trunk ending in 'trunk', then dense layers", cell=CNN,
       message="build_cnn's model must have convolution layers, then a layer named 'trunk' whose output is one flat "
               "vector per image (batch, d), then dense layers to the output: Part 5 reuses everything up to 'trunk'.")
def test_cnn_has_a_trunk(student):
    import keras

    model = student.build_cnn(6, SHAPE)
    names = [layer.name for layer in model.layers]
    if "trunk" not in names:
        raise CheckFailed(f"no top-level layer is named 'trunk' (layers: {names})")
    at = names.index("trunk")
    if len(model.get_layer("trunk").output.shape) != 2:
        raise CheckFailed(f"the layer 'trunk' outputs shape {tuple(model.get_layer('trunk').output.shape)}; expected "
                          "(batch, d): flatten or pool the feature maps")
    before = [layer for layer in model.layers[:at] for layer in [layer] + s.layers_of(layer)]
    if not any(isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv1D)) for layer in before):
        raise CheckFailed("there is no convolution layer before 'trunk'")
    if not any(isinstance(layer, keras.layers.Dense) for layer in model.layers[at + 1:]):
        raise CheckFailed("there is no dense layer after 'trunk'")


def _source(reference, rng, n_classes=10):
    return s.fixed_weights(reference.build_cnn(n_classes, SHAPE), rng, 1.0, per_fan_in=True)


def _train(model, rng, n_classes, steps=3):
    import keras

    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    x = s.images(rng, 16, SHAPE)
    y = rng.integers(0, n_classes, 16)
    for _ in range(steps):
        model.train_on_batch(x, y)


@check(points=2, title="transfer_model: the source's trunk copied with its weights", cell=TRANSFER,
       message="transfer_model(source, n_classes) must reuse the source's layers up to 'trunk' with the source's "
               "trained weights (every trunk weight of the source is in the new model).")
def test_transfer_copies_the_trunk(student, reference, rng):
    source = _source(reference, rng)
    new = student.transfer_model(source, 6, freeze=True)
    if not s.holds([np.asarray(w) for w in new.get_weights()], s.trunk_weights(source)):
        raise CheckFailed("some weights of the source's trunk are not in the new model")


@check(points=2, title="transfer_model: a new head with n_classes outputs", cell=TRANSFER,
       message="transfer_model(source, n_classes) must end in a new softmax head with n_classes outputs (not the "
               "source's classes), its weights fresh (not the source's head).")
def test_transfer_new_head(student, reference, rng):
    source = _source(reference, rng)
    for n_classes in (6, 3):
        new = student.transfer_model(source, n_classes, freeze=True)
        p = s.predict(new, s.images(rng, BATCH, SHAPE))
        if p.shape != (BATCH, n_classes):
            raise CheckFailed(f"transfer_model(source of 10 classes, {n_classes}) outputs shape {p.shape}; expected "
                              f"{(BATCH, n_classes)}")
        if not (np.all(p >= 0) and np.allclose(p.sum(axis=1), 1, atol=1e-4)):
            raise CheckFailed("the output rows must be probabilities that sum to 1 (a softmax)")
    head = source.layers[[layer.name for layer in source.layers].index("trunk") + 1:]
    head_weights = [np.asarray(w) for layer in head for w in layer.get_weights()]
    if head_weights and s.holds([np.asarray(w) for w in new.get_weights()], head_weights[:1]):
        raise CheckFailed("the new head starts from the source head's weights; it must be new")


@check(points=2, title="transfer_model: training it leaves the source unchanged", cell=TRANSFER,
       message="transfer_model must copy the source's layers: training the new model (even with freeze=False) must "
               "not change the source model, which is reused for every k of the learning curve.")
def test_transfer_leaves_the_source_unchanged(student, reference, rng):
    source = student_copy(student, _source(reference, rng))     # what the student's code trains is this copy
    before = [np.asarray(w).copy() for w in source.get_weights()]
    new = student.transfer_model(source, 6, freeze=False)
    _train(new, rng, 6)
    changed = sum(not np.array_equal(a, np.asarray(b)) for a, b in zip(before, source.get_weights()))
    if changed:
        raise CheckFailed(f"training the new model changed {changed} weight arrays of the source model: its layers "
                          "are shared, not copied")


@check(points=2, title="transfer_model: freeze=True trains the head only", cell=TRANSFER,
       message="transfer_model(..., freeze=True) must make the copied trunk's weights non-trainable (training "
               "changes the head only); freeze=False must leave every weight trainable.")
def test_transfer_freezes_the_trunk(student, reference, rng):
    source = _source(reference, rng)
    trunk = s.trunk_weights(source)
    frozen = student.transfer_model(source, 6, freeze=True)
    start = [np.asarray(w).copy() for w in frozen.get_weights()]
    _train(frozen, rng, 6)
    after = [np.asarray(w) for w in frozen.get_weights()]
    if not s.holds(after, trunk):
        raise CheckFailed("with freeze=True, training changed the copied trunk's weights")
    if all(np.array_equal(a, b) for a, b in zip(start, after)):
        raise CheckFailed("with freeze=True, training changed no weight at all: the head must train")
    source = _source(reference, rng)                  # a fresh source: sharing layers is charged elsewhere
    trunk = s.trunk_weights(source)
    free = student.transfer_model(source, 6, freeze=False)
    _train(free, rng, 6)
    if s.holds([np.asarray(w) for w in free.get_weights()], trunk):
        raise CheckFailed("with freeze=False, training left every trunk weight unchanged: the trunk must train")


@check(points=1, title="transfer_model: ValueError without a 'trunk' layer", cell=TRANSFER,
       message="transfer_model must raise a ValueError when the source model has no layer named 'trunk'.")
def test_transfer_rejects_a_source_without_trunk(student):
    import keras

    image = keras.Input((*SHAPE, 1))
    h = keras.layers.Flatten(name="flat")(keras.layers.Conv2D(4, 3)(image))
    source = keras.Model(image, keras.layers.Dense(10, activation="softmax")(h))
    s.require_value_error({"a source model without a layer named 'trunk'":
                           lambda: student.transfer_model(source, 6, freeze=True)})
