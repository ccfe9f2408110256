"""Assignment 3, parts 3 and 5: the LSTM detector, the CNN-BiLSTM fusion model and its inputs.

Models are built with sizes other than the notebook's (a builder must use its arguments) and
probed in inference mode with random inputs.
"""
from __future__ import annotations

import numpy as np
import pytest

from grader.api import CheckFailed, check
from grader.checks.a3_fake_or_real import _support as s
from grader.probes import require_value_error

STEPS, FEATURES, MFCC, MELS, BATCH = 21, 9, 7, 12, 5
LSTM_CELL, FUSION_CELL = "a3_build_lstm_detector", "a3_build_fusion"


def _mask(rng, steps=STEPS):
    return s.lengths_mask(np.r_[rng.integers(2, steps, BATCH - 1), [steps]], steps)


def _probabilities(out, what):
    if out.shape != (BATCH, 1):
        raise CheckFailed(f"{what} outputs shape {out.shape} for a batch of {BATCH}; expected ({BATCH}, 1)")
    if not np.all((out >= 0) & (out <= 1)):
        raise CheckFailed(f"{what} must output probabilities P(fake) in [0, 1] (a sigmoid), got {out.ravel()[:3]}")


def _lstm(student):
    return student.build_lstm_detector(STEPS, FEATURES)


def _lstm_inputs(rng):
    return [rng.normal(0, 1, (BATCH, STEPS, FEATURES)).astype(np.float32), _mask(rng)]


@check(points=1, title="build_lstm_detector: two inputs, P(fake) out", cell=LSTM_CELL,
       message="build_lstm_detector(n_steps, n_features) must return a keras.Model with inputs [features "
               "(batch, n_steps, n_features), mask (batch, n_steps)] for the sizes passed and an output "
               "(batch, 1) of probabilities.")
def test_lstm_detector_inputs_and_output(student, rng):
    model = _lstm(student)
    shapes = [tuple(t.shape)[1:] for t in model.inputs]
    if shapes != [(STEPS, FEATURES), (STEPS,)]:
        raise CheckFailed(f"build_lstm_detector({STEPS}, {FEATURES}) has input shapes {shapes}; expected "
                          f"[({STEPS}, {FEATURES}), ({STEPS},)]")
    _probabilities(s.predict(model, _lstm_inputs(rng)), "build_lstm_detector")


@check(points=3, title="build_lstm_detector: padded frames do not change P(fake)", cell=LSTM_CELL,
       message="The LSTM detector must honour the mask: changing the features of padded frames (mask False) "
               "must not change its output; pass the mask to the LSTM.")
def test_lstm_detector_honours_the_mask(student, rng):
    model = _lstm(student)
    features, mask = _lstm_inputs(rng)
    before = s.predict(model, [features, mask])
    changed = features.copy()
    changed[~mask] = rng.uniform(-30, 30, changed[~mask].shape)
    if not np.allclose(s.predict(model, [changed, mask]), before, atol=1e-5):
        raise CheckFailed("changing the padded frames changed the output")


@check(points=1, title="build_lstm_detector: valid frames change P(fake)", cell=LSTM_CELL,
       message="The LSTM detector's output must depend on the valid frames (the model reads its features "
               "input, including the last valid frame of each clip).")
def test_lstm_detector_reads_valid_frames(student, rng):
    model = _lstm(student)
    s.fixed_weights(model, rng)
    features, mask = _lstm_inputs(rng)
    before = s.predict(model, [features, mask])
    last = mask.sum(axis=1) - 1
    changed = features.copy()
    changed[np.arange(BATCH), last] += rng.normal(0, 3, (BATCH, FEATURES)).astype(np.float32)
    if np.allclose(s.predict(model, [changed, mask]), before, atol=1e-6):
        raise CheckFailed("changing the last valid frame of every clip did not change the output")


# ---- part 5: the fusion model

def _fusion(student, activation):
    return student.build_fusion(activation, n_steps=STEPS, n_mfcc=MFCC, n_mels=MELS)


def _fusion_inputs(rng):
    return [rng.normal(0, 1, (BATCH, STEPS, MFCC)).astype(np.float32), _mask(rng),
            rng.normal(0, 1, (BATCH, MELS, STEPS, 1)).astype(np.float32)]


@pytest.mark.parametrize("activation", ["relu", "gelu"])
@check(points=1, title="build_fusion: three inputs, P(fake) out", cell=FUSION_CELL,
       message="build_fusion(activation, n_steps, n_mfcc, n_mels) must return a keras.Model with inputs [mfcc "
               "(batch, n_steps, n_mfcc), mask (batch, n_steps), mel (batch, n_mels, n_steps, 1)] for the sizes "
               "passed and an output (batch, 1) of probabilities.")
def test_fusion_inputs_and_output(student, rng, activation):
    model = _fusion(student, activation)
    shapes = [tuple(t.shape)[1:] for t in model.inputs]
    want = [(STEPS, MFCC), (STEPS,), (MELS, STEPS, 1)]
    if shapes != want:
        raise CheckFailed(f"build_fusion({activation!r}, n_steps={STEPS}, n_mfcc={MFCC}, n_mels={MELS}) has input "
                          f"shapes {shapes}; expected {want}")
    _probabilities(s.predict(model, _fusion_inputs(rng)), "build_fusion")


@check(points=2, title="build_fusion: the BiLSTM ignores padded frames", cell=FUSION_CELL,
       message="The fusion model's bidirectional LSTM must honour the mask: changing the MFCCs of padded frames "
               "must not change the output (a backward LSTM would otherwise start in the padding).")
def test_fusion_honours_the_mask(student, rng):
    model = _fusion(student, "relu")
    mfcc, mask, mel = _fusion_inputs(rng)
    before = s.predict(model, [mfcc, mask, mel])
    changed = mfcc.copy()
    changed[~mask] = rng.uniform(-30, 30, changed[~mask].shape)
    if not np.allclose(s.predict(model, [changed, mask, mel]), before, atol=1e-5):
        raise CheckFailed("changing the MFCCs of padded frames changed the output")


@check(points=2, title="build_fusion: both views reach the output", cell=FUSION_CELL,
       message="The fusion model must combine both views: its output must change when only the valid MFCC "
               "frames change, and when only the mel image changes.")
def test_fusion_uses_both_views(student, rng):
    model = s.fixed_weights(_fusion(student, "relu"), rng, 1.0, per_fan_in=True)  # no saturated sigmoid
    mfcc, mask, mel = _fusion_inputs(rng)
    before = s.predict(model, [mfcc, mask, mel])
    other_mfcc = np.where(mask[..., None], rng.normal(0, 2, mfcc.shape), mfcc).astype(np.float32)
    if np.allclose(s.predict(model, [other_mfcc, mask, mel]), before, atol=1e-6):
        raise CheckFailed("changing the valid MFCC frames did not change the output: the BiLSTM branch is unused")
    other_mel = rng.normal(0, 2, mel.shape).astype(np.float32)
    if np.allclose(s.predict(model, [mfcc, mask, other_mel]), before, atol=1e-6):
        raise CheckFailed("changing the mel image did not change the output: the CNN branch is unused")


def _activations(model):
    """(name per conv/dense hidden layer, count of separate activation layers of each name)."""
    import keras

    hidden, separate = [], {}
    for layer in s.layers_of(model):
        if isinstance(layer, (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Dense)):
            hidden.append((layer, getattr(layer.activation, "__name__", str(layer.activation))))
        elif isinstance(layer, keras.layers.ReLU):
            separate["relu"] = separate.get("relu", 0) + 1
        elif isinstance(layer, keras.layers.Activation):
            name = getattr(layer.activation, "__name__", str(layer.activation))
            separate[name] = separate.get(name, 0) + 1
    return hidden, separate


@pytest.mark.parametrize("activation", ["relu", "gelu"])
@check(points=2, title="build_fusion: the activation of every hidden layer", cell=FUSION_CELL,
       message="build_fusion(activation) must use that activation ('relu' or 'gelu') in every convolution and "
               "hidden dense layer (in the layer or as the activation layer after it), and a sigmoid output.")
def test_fusion_activation_everywhere(student, activation):
    model = _fusion(student, activation)
    hidden, separate = _activations(model)
    if not hidden:
        raise CheckFailed("build_fusion has no convolution or dense layer")
    output, out_name = hidden[-1]                     # the last dense layer in the graph's order: the output
    if out_name != "sigmoid" and not (out_name == "linear" and separate.get("sigmoid")):
        raise CheckFailed(f"the output layer's activation is {out_name!r}; P(fake) needs a sigmoid")
    hidden = hidden[:-1]
    other = sorted({name for _, name in hidden if name not in (activation, "linear")})
    if other:
        raise CheckFailed(f"build_fusion({activation!r}) has hidden layers with the activation {other}")
    linear = sum(name == "linear" for _, name in hidden)
    if linear > separate.get(activation, 0):
        raise CheckFailed(f"build_fusion({activation!r}): {linear} convolution/dense layer(s) without an activation "
                          f"and only {separate.get(activation, 0)} separate {activation!r} layer(s)")
    if not any(name == activation for _, name in hidden) and not separate.get(activation):
        raise CheckFailed(f"build_fusion({activation!r}) uses no {activation!r} activation")


@check(points=1, title="build_fusion: ValueError for an unknown activation", cell=FUSION_CELL,
       message="build_fusion must raise a ValueError for an activation other than 'relu' or 'gelu'.")
def test_fusion_rejects_unknown_activation(student):
    require_value_error({f"build_fusion({bad!r})": lambda bad=bad: student.build_fusion(bad, n_steps=STEPS, n_mfcc=MFCC,
                                                                                         n_mels=MELS)
                         for bad in ("tanh", "ReLU", "swish")})


@check(points=2, title="fusion_inputs: MFCC, mask and the mel image", cell=FUSION_CELL,
       message="fusion_inputs(features, mask) must return [features[..., :N_MFCC] float32, the mask (bool), "
               "the log-mel columns as an image (n, N_MELS, steps, 1) float32 with mel[i, b, t, 0] = band b of "
               "frame t].")
def test_fusion_inputs_split(student, reference, rng):
    features = rng.normal(0, 1, (3, s.N_STEPS, s.N_FEATURES)).astype(np.float32)
    mask = _mask(rng, s.N_STEPS)[:3]
    got = student.fusion_inputs(features, mask)
    want = reference.fusion_inputs(features, mask)
    if not isinstance(got, (list, tuple)) or len(got) != 3:
        raise CheckFailed("fusion_inputs must return a list of three arrays [mfcc, mask, mel]")
    for g, w, what in zip(got, want, ("mfcc", "mask", "mel")):
        g = s.as_numpy(g)
        if g.shape != w.shape:
            raise CheckFailed(f"{what} has shape {g.shape}, expected {w.shape}")
        if what == "mask" and not np.array_equal(g.astype(bool), w):
            raise CheckFailed("the mask must be passed through unchanged")
        if what != "mask" and (g.dtype != np.float32 or not np.allclose(g, w, atol=1e-6)):
            raise CheckFailed(f"{what} differs from the expected slice of the features"
                              + (" (mel[i, band, frame, 0])" if what == "mel" else ""))
