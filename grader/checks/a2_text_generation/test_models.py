"""Assignment 2, parts 2-3: build_char_lm and build_word_lm."""
from __future__ import annotations

import numpy as np
import pytest

from grader import onstudent
from grader.api import CheckFailed, check
from grader.boundary import class_name, on_student
from grader.checks.a2_text_generation import _support as s

BUILDERS = {"build_char_lm": 37, "build_word_lm": 300}   # builder -> a vocabulary size to build it with
CELLS = {"build_char_lm": "a2_build_char_lm", "build_word_lm": "a2_build_word_lm"}   # where the notebook defines it


def _layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _layers(layer)
        for inner in ("forward_layer", "backward_layer", "layer"):   # Bidirectional, TimeDistributed
            if getattr(layer, inner, None) is not None:
                yield getattr(layer, inner)


def _one_hot_of_ids(student, model, vocab_size, rng) -> bool:
    """Does some intermediate output of ``model`` equal ``one_hot(ids, vocab_size)``?

    A one-hot encoding followed by the LSTM's input weights is an embedding, written another way
    (``ops.one_hot``, ``layers.CategoryEncoding(output_mode="one_hot")``, a ``Lambda``, ...).
    """
    ids = rng.integers(0, vocab_size, (2, 5))
    expected = np.eye(vocab_size, dtype=np.float32)[ids]
    outputs = on_student(student, onstudent.operation_outputs, model, np.asarray(ids, dtype=np.int32))
    return any(isinstance(out, np.ndarray) and out.shape == expected.shape and np.allclose(out, expected)
               for out in outputs or [])


def _built(student, builder):
    import keras

    model = getattr(student, builder)(BUILDERS[builder])
    if not isinstance(model, keras.Model):
        raise CheckFailed(f"{builder} must return a keras.Model, got {class_name(model)}")
    return model, BUILDERS[builder]


@pytest.mark.parametrize("builder", list(BUILDERS))
@check(points=1, title="Language model: Embedding, LSTM, logits at every step", cell=CELLS,
       message="The language model must map int ids (batch, time), for any time, to logits over the "
               "vocabulary (batch, time, vocab_size) through an Embedding and an LSTM.", timeout=120)
def test_lm_logits_shapes(student, rng, builder):
    model, vocab_size = _built(student, builder)
    for batch, time in [(2, 1), (3, 17), (1, 130)]:
        out = s.logits_of(model, rng.integers(0, vocab_size, (batch, time)))
        if out.shape != (batch, time, vocab_size):
            raise CheckFailed(f"for ids of shape {(batch, time)} expected logits {(batch, time, vocab_size)}, "
                              f"got {out.shape}")
    kinds = {class_name(layer) for layer in _layers(model)}
    if "LSTM" not in kinds:
        raise CheckFailed(f"expected an LSTM layer, found {sorted(kinds)}")
    if "Embedding" not in kinds and not _one_hot_of_ids(student, model, vocab_size, rng):
        raise CheckFailed("expected an Embedding of the ids (or their one-hot encoding, the same thing); found "
                          f"{sorted(kinds)}: ids are categories, not numbers")


@pytest.mark.parametrize("builder", list(BUILDERS))
@check(points=1, title="Language model: logits, not probabilities, and causal", cell=CELLS,
       message="The language model must output logits (no softmax: the loss applies it) and must be "
               "causal: the output at step t may not depend on inputs after t.", timeout=120)
def test_lm_logits_and_causal(student, rng, builder):
    model, vocab_size = _built(student, builder)
    ids = rng.integers(0, vocab_size, (4, 12))
    out = s.logits_of(model, ids)
    if np.allclose(out.sum(axis=-1), 1.0, atol=1e-3) and out.min() >= 0:
        raise CheckFailed("the outputs are probabilities (they sum to 1): remove the softmax")
    changed = ids.copy()
    changed[:, 7:] = rng.integers(0, vocab_size, (4, 5))
    if not np.allclose(s.logits_of(model, changed)[:, :7], out[:, :7], atol=1e-5):
        raise CheckFailed("changing the inputs after step 6 changed the outputs at steps 0-6: the model looks ahead")
