"""Assignment 1, parts 2, 5 and 7: the three model builders (inputs, outputs, masking, time averaging)."""
from __future__ import annotations

import numpy as np
import pytest

from grader.api import CheckFailed, check
from grader.checks.a1_spoken_digits import _support as s

# (builder, the dimensions it is built with here, a function making a batch of inputs)
N_STEPS, N_FEATURES, BATCH = 23, 12, 6


def _raw_inputs(rng, lengths):
    frames = rng.normal(0, 0.2, (len(lengths), N_STEPS, N_FEATURES)).astype(np.float32)
    return frames, s.lengths_mask(lengths, N_STEPS)


def _spec_inputs(rng, lengths):
    log_mel = rng.uniform(-80, 0, (len(lengths), N_STEPS, N_FEATURES)).astype(np.float32)
    return log_mel, s.lengths_mask(lengths, N_STEPS)


MASKED = {
    "build_raw_lstm": _raw_inputs,
    "build_spectrogram_lstm": _spec_inputs,
}
CELLS = {"build_raw_lstm": "a1_build_raw_lstm", "build_spectrogram_lstm": "a1_build_spectrogram_lstm"}
WHAT = {"build_raw_lstm": "frames (batch, n_frames, frame_len) and frame mask (batch, n_frames)",
        "build_spectrogram_lstm": "log-mel (batch, n_steps, n_mels) and mask (batch, n_steps)"}


def _lengths(rng):
    return np.concatenate([rng.integers(1, N_STEPS, BATCH - 1), [N_STEPS]])


def _build(student, name, n_classes=10):
    return getattr(student, name)(N_STEPS, N_FEATURES, n_classes=n_classes)


@pytest.mark.parametrize("name", list(MASKED))
@check(points=1, title="LSTM builder: two inputs, output (batch, n_classes)", cell=CELLS,
       message="The LSTM builders must return a keras.Model with two inputs, [features (batch, steps, "
               "features), mask (batch, steps) bool], built for the sizes passed, and an output of shape "
               "(batch, n_classes).")
def test_masked_model_inputs_and_output_shape(student, rng, name):
    model = _build(student, name, n_classes=7)
    if len(model.inputs) != 2:
        raise CheckFailed(f"{name} has {len(model.inputs)} input(s); expected {WHAT[name]}")
    shapes = [tuple(t.shape) for t in model.inputs]
    if shapes[0][1:] != (N_STEPS, N_FEATURES) or shapes[1][1:] != (N_STEPS,):
        raise CheckFailed(f"{name}({N_STEPS}, {N_FEATURES}) has input shapes {shapes}")
    out = s.predict(model, list(MASKED[name](rng, _lengths(rng))))
    if out.shape != (BATCH, 7):
        raise CheckFailed(f"output shape {out.shape} for a batch of {BATCH} and n_classes=7")


@pytest.mark.parametrize("name", list(MASKED))
@check(points=1, title="LSTM builder: softmax probabilities", cell=CELLS,
       message="The LSTM models must output softmax probabilities over the classes "
               "(non-negative, summing to 1 for every clip).")
def test_masked_model_softmax(student, rng, name):
    out = s.predict(_build(student, name), list(MASKED[name](rng, _lengths(rng))))
    assert out.shape == (BATCH, 10)
    assert np.all(out >= 0)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-4)


@pytest.mark.parametrize("name", list(MASKED))
@check(points=3, title="LSTM builder: padded steps do not change the prediction", cell=CELLS,
       message="The LSTM models must honour the mask: changing the values of padded (masked) steps "
               "must not change the prediction. Pass the mask to the LSTM and to the average over time.")
def test_masked_model_honours_the_mask(student, rng, name):
    model = _build(student, name)
    lengths = _lengths(rng)
    features, mask = MASKED[name](rng, lengths)
    before = s.predict(model, [features, mask])
    changed = features.copy()
    changed[~mask] = rng.uniform(-5, 5, changed[~mask].shape)
    np.testing.assert_allclose(s.predict(model, [changed, mask]), before, atol=1e-5)
    # and the real steps do matter (the model is not ignoring its input)
    changed_real = features.copy()
    changed_real[mask] = rng.permutation(changed_real[mask])
    assert np.abs(s.predict(model, [changed_real, mask]) - before).max() > 1e-6


# Part 5 asks build_spectrogram_lstm for a masked average over time; Part 2 only suggests it for
# build_raw_lstm, whose docstring asks that the mask be honoured: any reduction that ignores the padding
# (the suggested masked average, the LSTM's last valid state, a masked max, ...) is right there.
AVERAGE_REQUIRED = {"build_raw_lstm": False, "build_spectrogram_lstm": True}


@pytest.mark.parametrize("name", list(MASKED))
@check(points=1, title="LSTM builder: reduction over the valid steps only", cell=CELLS,
       message="A clip's prediction must not depend on how much padding follows it (the same clip "
               "padded to twice the length must get the same probabilities). build_spectrogram_lstm: "
               "as Part 5 asks, the LSTM returns its whole sequence (return_sequences=True) and a masked "
               "average over the valid steps reduces it. build_raw_lstm: any reduction over the valid "
               "frames only, e.g. the suggested masked average or the masked LSTM's last valid state.")
def test_masked_model_averages_over_valid_steps(student, rng, name):
    model = _build(student, name)
    rnns = s.recurrent_layers(model)
    if not rnns:
        raise CheckFailed("no recurrent (LSTM) layer found in the model")
    if AVERAGE_REQUIRED[name] and not any(getattr(layer, "return_sequences", False) for layer in rnns):
        raise CheckFailed("the LSTM returns only its last state (return_sequences=False); Part 5 asks for the "
                          "masked average of its outputs over time")
    # the same weights in a model built for more steps: more padding after the same clips
    longer = getattr(student, name)(2 * N_STEPS, N_FEATURES)
    try:
        longer.set_weights(model.get_weights())
    except ValueError as exc:
        raise CheckFailed("the model's weights depend on the number of steps, so it does not reduce "
                          "over time") from exc
    lengths = _lengths(rng)
    features, mask = MASKED[name](rng, lengths)
    pad = np.zeros_like(features)
    long_features = np.concatenate([features * mask[..., None], pad], axis=1)
    long_mask = np.concatenate([mask, np.zeros_like(mask)], axis=1)
    if not np.allclose(s.predict(longer, [long_features, long_mask]),
                       s.predict(model, [features * mask[..., None], mask]), atol=1e-5):
        raise CheckFailed(f"the same clips followed by {N_STEPS} more padded steps got other probabilities: "
                          "the reduction over time includes padded steps")


@check(points=1, title="build_cnn: one input, softmax output (batch, n_classes)", cell="a1_build_cnn",
       message="build_cnn must return a keras.Model with one input (batch, n_steps, n_mels) and a "
               "softmax output (batch, n_classes), for the sizes passed.")
def test_cnn_input_output_softmax(student, rng):
    for n_steps, n_mels, n_classes in ((41, 64, 10), (30, 32, 5)):
        model = student.build_cnn(n_steps, n_mels, n_classes=n_classes)
        if len(model.inputs) != 1:
            raise CheckFailed(f"build_cnn has {len(model.inputs)} inputs; expected one, the log-mel batch")
        x = rng.uniform(-80, 0, (3, n_steps, n_mels)).astype(np.float32)
        out = s.predict(model, x)
        if out.shape != (3, n_classes):
            raise CheckFailed(f"output shape {out.shape} for build_cnn({n_steps}, {n_mels}, n_classes={n_classes})")
        assert np.all(out >= 0)
        np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-4)
        silence = np.full((2, n_steps, n_mels), -80.0, dtype=np.float32)
        silence[1, :, : n_mels // 2] = 0.0                  # the same silence with a loud low band
        quiet, loud = s.predict(model, silence)
        if np.abs(quiet - loud).max() <= 1e-6:
            raise CheckFailed("silence and silence with a loud low band gave the same output: the model ignores "
                              "its input (look at the input scaling: a factor of 0, e.g. 1 // 40, erases the "
                              "spectrogram)")
