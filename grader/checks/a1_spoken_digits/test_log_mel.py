"""Assignment 1, part 5: log_mel_spectrogram and spectrogram_mask."""
from __future__ import annotations

import numpy as np

from grader.api import CheckFailed, check
from grader.checks.a1_spoken_digits import _support as s


def _batch(reference, rng, lengths, max_len):
    padded, mask = reference.pad_and_mask(s.random_signals(rng, lengths), max_len)
    return padded, mask


@check(points=2, title="log_mel_spectrogram: float32, time-major shape", cell="a1_log_mel",
       message="log_mel_spectrogram must return float32 of shape (N, time, n_mels), time-major, with "
               "1 + max_len // HOP_LENGTH centred frames (librosa's default), for the n_mels asked.")
def test_log_mel_shape_time_major(student, reference, rng):
    for max_len, n_mels in ((3200, 40), (6400, 64)):
        padded, _ = _batch(reference, rng, rng.integers(500, max_len, 3), max_len)
        spec = np.asarray(student.log_mel_spectrogram(padded, sr=s.SR, n_mels=n_mels))
        expected = (3, 1 + max_len // reference.HOP_LENGTH, n_mels)
        if spec.shape != expected:
            raise CheckFailed(f"got shape {spec.shape} for 3 clips of {max_len} samples and n_mels={n_mels}; "
                              f"expected {expected}")
        if spec.dtype != np.float32:
            raise CheckFailed(f"got dtype {spec.dtype}")


@check(points=2, title="log_mel_spectrogram: values follow the recipe", cell="a1_log_mel",
       message="log_mel_spectrogram's values must follow the recipe of the notebook: power mel "
               "spectrogram (n_fft=N_FFT, hop_length=HOP_LENGTH), dB relative to each clip's maximum, "
               "floor -80 dB (compared in your own layout: the time-major shape is checked on its own).")
def test_log_mel_close_to_reference(student, reference, rng):
    padded, _ = _batch(reference, rng, rng.integers(300, 6400, 5), 6400)
    padded[0] = s.tone(700.0, 6400, start=3000)                  # silent first half, then a tone
    spec = np.asarray(student.log_mel_spectrogram(padded))
    expected = reference.log_mel_spectrogram(padded)
    if spec.shape == np.swapaxes(expected, 1, 2).shape and spec.shape != expected.shape:
        spec = np.swapaxes(spec, 1, 2)      # frequency-major: test_log_mel_shape_time_major charges the layout
    if spec.shape != expected.shape:
        raise CheckFailed(f"got shape {spec.shape}, expected {expected.shape}")
    if not np.allclose(spec, expected, atol=0.05):
        raise CheckFailed(f"values differ from the recipe's by up to {float(np.abs(spec - expected).max()):.2f} dB")


@check(points=1, title="log_mel_spectrogram: dB relative to each clip's maximum", cell="a1_log_mel",
       message="log_mel_spectrogram must measure each clip against its own maximum: a clip's values "
               "must not change with its loudness or with the other clips in the batch. Note that "
               "librosa.power_to_db(S, ref=np.max) on a batch uses the loudest clip of the batch, and that "
               "power_to_db floors the power at the absolute amin=1e-10 before dividing by ref, which cuts "
               "quiet clips at a higher level than -80 dB: divide each clip's power by its own maximum "
               "first, then convert.")
def test_log_mel_relative_to_each_clip(student, reference, rng):
    padded, _ = _batch(reference, rng, [4000, 2500], 6400)
    loud_and_quiet = np.stack([padded[0], 0.01 * padded[1]])
    alone = np.asarray(student.log_mel_spectrogram(padded[1:2]))
    together = np.asarray(student.log_mel_spectrogram(loud_and_quiet))
    np.testing.assert_allclose(together[1], alone[0], atol=0.05)
    assert abs(float(together[1].max())) < 0.05 and abs(float(together[0].max())) < 0.05


@check(points=2, title="spectrogram_mask: True for frames centred on real samples", cell="a1_log_mel",
       message="spectrogram_mask must return bool (N, 1 + max_len // hop_length), True for the frames "
               "whose centre sample t * hop_length is a real sample of the clip.")
def test_spectrogram_mask(student, reference, rng):
    hop = reference.HOP_LENGTH
    for max_len in (6400, 6400 - hop // 2 - 1):          # the second is not a multiple of the hop
        lengths = np.concatenate([rng.integers(1, max_len, 6), [1, hop, hop + 1, max_len]])
        _, mask = _batch(reference, rng, lengths, max_len)
        got = np.asarray(student.spectrogram_mask(mask, hop_length=hop))
        expected = reference.spectrogram_mask(mask, hop_length=hop)
        if got.dtype != bool:
            raise CheckFailed(f"got dtype {got.dtype}")
        if got.shape != expected.shape:
            raise CheckFailed(f"max_len={max_len}, hop_length={hop}: got shape {got.shape}, expected "
                              f"{expected.shape} (1 + max_len // hop_length frames, integer division)")
        np.testing.assert_array_equal(got, expected)
