"""Assignment 3's master (solutions/a3_fake_or_real.ipynb): its answers hold their docstrings.

The whole notebook, executed by the engine, scoring full marks on the hidden checks (run checks
included) is tested by ``tests/validity/test_validity.py::test_does_the_executed_reference_score_full_marks``."""
from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest

from grader.answers import load_answers, write_answers
from grader.extract import build_answers

REPO = Path(__file__).resolve().parents[1]
MASTER = REPO / "solutions" / "a3_fake_or_real.ipynb"


@pytest.fixture(scope="module")
def ref(tmp_path_factory: pytest.TempPathFactory):
    path = write_answers(build_answers(nbformat.read(MASTER, as_version=4), None),
                         tmp_path_factory.mktemp("a3") / "a3_reference.py")
    loaded = load_answers(path, "a3_reference_answers")
    assert not loaded.errors, loaded.errors
    return loaded.module


def _clips(ref, lengths, rng):
    x = np.zeros((len(lengths), ref.SEGMENT), np.float32)
    for i, n in enumerate(lengths):
        x[i, :n] = 0.2 * rng.standard_normal(n)
        x[i, n - 1] = 0.5                              # the last sample is non-zero
    return x


def test_frame_features_layout_mask_and_batch_independence(ref) -> None:
    import librosa

    rng = np.random.default_rng(0)
    lengths = [1, 127, 128, 129, 3000, 8000]
    x = _clips(ref, lengths, rng)
    x = np.concatenate([x, np.zeros((1, ref.SEGMENT), np.float32)])
    f, m = ref.frame_features(x)
    assert f.shape == (7, ref.N_STEPS, ref.N_FEATURES) and f.dtype == np.float32 and m.dtype == bool
    want = [int(np.ceil(n / ref.HOP_LENGTH)) for n in lengths] + [0]
    assert m.sum(axis=1).tolist() == want, "t * HOP_LENGTH < length, 0 for a silent clip"
    assert np.all(m[:, :-1] >= m[:, 1:]), "valid frames come first"
    alone = np.concatenate([ref.frame_features(x[i:i + 1])[0] for i in range(7)])
    assert np.allclose(alone, f, atol=1e-3), "a clip's features do not depend on its batch"
    power = np.abs(librosa.stft(x[4], n_fft=ref.N_FFT, hop_length=ref.HOP_LENGTH)) ** 2
    log_mel = 10 * np.log10(np.maximum(librosa.feature.melspectrogram(S=power, sr=ref.SR, n_mels=ref.N_MELS), 1e-10))
    assert np.allclose(f[4, :, ref.N_MFCC + ref.N_CHROMA:], log_mel.T, atol=1e-3)
    assert np.allclose(f[4, :, :ref.N_MFCC], librosa.feature.mfcc(S=log_mel, n_mfcc=ref.N_MFCC).T, atol=1e-2)
    for bad in (x[0], x[:, :4000], x[..., None]):
        with pytest.raises(ValueError, match="shape"):
            ref.frame_features(bad)


def test_normaliser_uses_valid_frames_only_and_zeroes_padding(ref) -> None:
    rng = np.random.default_rng(1)
    f = rng.standard_normal((5, 9, 3)).astype(np.float32) * [1, 10, 100] + [0, 5, -7]
    mask = np.arange(9)[None, :] < np.array([[9], [4], [1], [6], [2]])
    f_pad = f.copy()
    f_pad[~mask] = 1e4
    mean, std = ref.fit_normaliser(f_pad, mask)
    assert np.allclose(mean, f[mask].mean(0), rtol=1e-5) and np.allclose(std, f[mask].std(0), rtol=1e-5)
    z = ref.normalise(f_pad, mask, mean, std)
    assert np.all(z[~mask] == 0) and np.allclose(z[mask].mean(0), 0, atol=1e-5)
    const_mean, const_std = ref.fit_normaliser(np.ones((2, 3, 2), np.float32), np.ones((2, 3), bool))
    assert np.all(const_std == np.float32(1e-6)), "std is at least 1e-6"
    with pytest.raises(ValueError, match="no frame"):
        ref.fit_normaliser(f, np.zeros((5, 9), bool))
    with pytest.raises(ValueError, match="shape"):
        ref.fit_normaliser(f, mask[:, :5])


def test_metrics_agree_with_scikit_learn_and_the_eer_definition(ref) -> None:
    from sklearn.metrics import f1_score, precision_score, recall_score, roc_curve

    rng = np.random.default_rng(2)
    for trial in range(20):
        n = int(rng.integers(8, 200))
        y = rng.integers(0, 2, n)
        y[:2] = [0, 1]
        s = np.round(rng.random(n) * 0.6 + 0.4 * y * rng.random(n), 2)   # ties on purpose
        threshold = float(rng.choice([0.3, 0.5, 0.7]))
        called = s >= threshold
        got = ref.precision_recall_f1(y, s, threshold)
        want = (precision_score(y, called, zero_division=0), recall_score(y, called, zero_division=0),
                f1_score(y, called, zero_division=0))
        assert np.allclose(got, want), (trial, got, want)
        eer, theta = ref.equal_error_rate(y, s)
        fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
        gap = np.abs(fpr - (1 - tpr))
        tied = np.flatnonzero(gap <= gap.min() + 1e-12)       # any of tied thresholds is the EER's
        candidates = (fpr[tied] + 1 - tpr[tied]) / 2
        assert np.min(np.abs(candidates - eer)) <= 1e-9, (trial, eer, candidates)
        at = (np.mean(s[y == 0] >= theta), np.mean(s[y == 1] < theta))
        assert np.isclose((at[0] + at[1]) / 2, eer) and np.isclose(abs(at[0] - at[1]), gap.min()), (trial, at)
    assert ref.equal_error_rate([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])[0] == 0.0
    assert ref.equal_error_rate([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1])[0] == 1.0
    assert ref.precision_recall_f1([0, 0], [0.9, 0.9]) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="both"):
        ref.equal_error_rate([1, 1, 1], [0.2, 0.5, 0.9])
    with pytest.raises(ValueError):
        ref.precision_recall_f1([0, 1], [0.5])


def test_models_honour_the_mask_and_the_activation(ref) -> None:
    import keras

    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, ref.N_STEPS, ref.N_FEATURES)).astype(np.float32)
    mask = np.arange(ref.N_STEPS)[None, :] < np.array([[10], [30], [63]])
    x2 = x.copy()
    x2[~mask] = rng.standard_normal(x2[~mask].shape) * 30
    lstm = ref.build_lstm_detector()
    assert np.allclose(lstm([x, mask]), lstm([x2, mask]), atol=1e-5)
    x3 = x.copy()                                      # padded frames: other MFCCs only (the BiLSTM's view)
    x3[..., :ref.N_MFCC][~mask] = 40.0
    outputs = {}
    for activation in ref.ACTIVATIONS:
        keras.utils.set_random_seed(0)
        model = ref.build_fusion(activation)
        outputs[activation] = np.asarray(model(ref.fusion_inputs(x, mask)))
        assert np.allclose(model(ref.fusion_inputs(x3, mask)), outputs[activation], atol=1e-5), activation
    assert not np.allclose(outputs["relu"], outputs["gelu"]), "same seed, other activation: other outputs"
    with pytest.raises(ValueError, match="activation"):
        ref.build_fusion("tanh")
