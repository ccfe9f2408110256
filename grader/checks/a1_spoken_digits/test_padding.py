"""Assignment 1, parts 0-2: load_audio, pad_and_mask, frame_signals."""
from __future__ import annotations

import numpy as np

from grader.api import CheckFailed, check
from grader.boundary import class_name
from grader.checks.a1_spoken_digits import _support as s
from grader.probes import require_value_error


def _pad(student, signals, max_len):
    padded, mask = student.pad_and_mask(signals, max_len)
    return np.asarray(padded), np.asarray(mask)


@check(points=1, title="load_audio: mono float32 at the native 8 kHz", cell="a1_load_audio",
       message="load_audio must return a list of 1-D float32 arrays, one per file, at the file's "
               "native 8 kHz sampling rate (no resampling), mono.")
def test_load_audio_native_rate_mono_float32(student, rng, tmp_path):
    signals = s.random_signals(rng, [1234, 4000, 77])
    paths = s.write_wavs(tmp_path, signals, sr=s.SR)
    loaded = student.load_audio(paths)
    if not isinstance(loaded, list) or len(loaded) != 3:
        raise CheckFailed(f"got {class_name(loaded)} of length {len(loaded) if hasattr(loaded, '__len__') else '?'}")
    for y, expected in zip(loaded, signals):
        y = np.asarray(y)
        if y.dtype != np.float32 or y.ndim != 1:
            raise CheckFailed(f"got dtype {y.dtype} and shape {y.shape}")
        if y.shape != expected.shape:
            raise CheckFailed(f"a clip of {len(expected)} samples at 8 kHz came back with {len(y)} samples")
        np.testing.assert_allclose(y, expected, atol=1 / 2**14)
    import soundfile

    stereo = tmp_path / "stereo.wav"
    soundfile.write(stereo, np.stack([signals[1], signals[1]], axis=1), s.SR, subtype="PCM_16")
    (y,) = student.load_audio([stereo])
    assert np.asarray(y).ndim == 1


@check(points=1, title="pad_and_mask: shapes and dtypes", cell="a1_pad_and_mask",
       message="pad_and_mask must return (padded, mask): padded float32 of shape (N, max_len) and "
               "mask bool of the same shape.")
def test_pad_shapes_and_dtypes(student, rng):
    lengths = rng.integers(50, 900, 7)
    signals = [x.astype(np.float64) for x in s.random_signals(rng, lengths)]   # float64 in, float32 out
    padded, mask = _pad(student, signals, 600)
    if padded.shape != (7, 600) or mask.shape != (7, 600):
        raise CheckFailed(f"got shapes {padded.shape} and {mask.shape} for 7 clips and max_len=600")
    if padded.dtype != np.float32:
        raise CheckFailed(f"padded has dtype {padded.dtype}")
    if mask.dtype != bool:
        raise CheckFailed(f"the mask has dtype {mask.dtype}; use bool (True = real sample)")


@check(points=2, title="pad_and_mask: values kept at the start", cell="a1_pad_and_mask",
       message="pad_and_mask must copy each clip's samples unchanged to the start of its row, with the "
               "mask True exactly there (clips exactly max_len long and 1-sample clips included). A real "
               "sample may be 0.0: the mask comes from each clip's length, not from its values.")
def test_pad_keeps_values_at_the_start(student, reference, rng):
    lengths = np.concatenate([rng.integers(2, 500, 9), [500, 1]])
    signals = s.random_signals(rng, lengths)
    for signal in signals[:9]:
        signal[rng.integers(0, len(signal), 3)] = 0.0          # silent samples inside the clip are real samples
    padded, mask = _pad(student, signals, 500)
    ref_padded, ref_mask = _pad(reference, signals, 500)
    for i, n in enumerate(lengths):
        if not np.array_equal(padded[i, :n], signals[i]):
            raise CheckFailed("a clip's samples are not at the start of its row, unchanged")
    if not np.array_equal(mask.astype(bool), ref_mask):
        wrong = np.flatnonzero((mask.astype(bool) != ref_mask).any(axis=1))
        raise CheckFailed(f"the mask is wrong for {len(wrong)} of {len(lengths)} clips: True must mark exactly the "
                          "first len(clip) positions")
    np.testing.assert_allclose(padded, ref_padded, atol=0)


@check(points=1, title="pad_and_mask: zeros after the end", cell="a1_pad_and_mask",
       message="pad_and_mask must fill the rest of each row, after the clip's samples, with zeros.")
def test_pad_zeros_after_end(student, rng):
    # where in its row a clip lies is test_pad_keeps_values_at_the_start's property (one mistake, one
    # charge): the clip is found wherever it is, and everything else in the row must be zero
    lengths = rng.integers(10, 300, 5)
    signals = [x + 0.5 for x in s.random_signals(rng, lengths)]     # no zeros inside the clips
    padded, _ = _pad(student, signals, 400)
    for i, signal in enumerate(signals):
        start = _where(padded[i], signal)
        rest = np.delete(padded[i], np.arange(start, start + len(signal))) if start is not None else None
        if rest is not None and not np.all(rest == 0):
            raise CheckFailed(f"{np.count_nonzero(rest)} non-zero value(s) in a row outside its clip of {len(signal)} "
                              "samples")


def _where(row: np.ndarray, clip: np.ndarray) -> int | None:
    """The offset at which ``clip`` lies unchanged in ``row`` (None: nowhere)."""
    n = len(clip)
    for start in np.flatnonzero(row[: len(row) - n + 1] == clip[0]):
        if np.array_equal(row[start:start + n], clip):
            return int(start)
    return None


@check(points=1, title="pad_and_mask: long clips cut to max_len", cell="a1_pad_and_mask",
       message="pad_and_mask must truncate a clip longer than max_len to its first max_len samples: "
               "its row and mask are those of its first max_len samples (mask all True).")
def test_pad_truncates_long_clips(student, rng):
    long = s.random_signals(rng, [1000])[0] + 0.5                 # no zeros inside the clip
    padded, mask = _pad(student, [long, long[:10]], 256)
    if padded.shape[1:] != (256,) or mask.shape[1:] != (256,):
        raise CheckFailed(f"got rows of {padded.shape[1:]} samples and masks of {mask.shape[1:]} for max_len=256")
    if not np.array_equal(padded[0], long[:256]):
        raise CheckFailed("the row of a long clip is not its first max_len samples")
    # the mask itself is test_pad_keeps_values_at_the_start's property: here, the same as for the first 256 samples
    _, cut_mask = _pad(student, [long[:256], long[:10]], 256)
    if not np.array_equal(mask[0], cut_mask[0]):
        raise CheckFailed("the mask of a long clip differs from that of its first max_len samples")


@check(points=1, title="pad_and_mask: exact-length and 1-sample clips", cell="a1_pad_and_mask",
       message="pad_and_mask must keep a clip exactly max_len long whole and put a very short clip "
               "(1 sample) at the start of a row of zeros.")
def test_pad_exact_length_and_very_short_clip(student, rng):
    exact, short = s.random_signals(rng, [320, 1])
    short = short + np.float32(0.5)                                 # not 0: it must be found in its row
    padded, _ = _pad(student, [exact, short], 320)
    if not np.array_equal(padded[0], exact):
        raise CheckFailed("a clip exactly max_len long is not its row unchanged")
    # at the start is test_pad_keeps_values_at_the_start's property: here, the sample once, zeros elsewhere
    if np.count_nonzero(padded[1]) != 1 or not np.any(padded[1] == short[0]):
        raise CheckFailed(f"the row of a 1-sample clip holds {np.count_nonzero(padded[1])} non-zero values; expected "
                          "the sample and zeros")


@check(points=2, title="frame_signals: float32 frames in order", cell="a1_frame_signals",
       message="frame_signals must cut (N, max_len) into (N, max_len // frame_len, frame_len) "
               "float32 frames in order, frame t = samples t*frame_len to (t+1)*frame_len.")
def test_frame_signals_frames(student, reference, rng):
    lengths = rng.integers(1, 480, 6)
    padded, mask = reference.pad_and_mask(s.random_signals(rng, lengths), 480)
    for frame_len in (16, 60):
        frames, _ = student.frame_signals(padded, mask, frame_len)
        frames = np.asarray(frames)
        if frames.shape != (6, 480 // frame_len, frame_len):
            raise CheckFailed(f"got shape {frames.shape} for 6 clips of 480 samples and frame_len={frame_len}")
        if frames.dtype != np.float32:
            raise CheckFailed(f"frames have dtype {frames.dtype}")
        np.testing.assert_array_equal(frames, padded.reshape(6, -1, frame_len))


@check(points=2, title="frame_signals: frame mask consistent with the sample mask", cell="a1_frame_signals",
       message="frame_signals' frame mask must be bool (N, n_frames) and True exactly for the frames "
               "that hold at least one real sample (consistent with the sample mask).")
def test_frame_mask_consistent_with_sample_mask(student, reference, rng):
    frame_len = 40
    # frame edges included; 11 clips of 10 frames, so an (n_frames, N) mask cannot pass for (N, n_frames)
    lengths = np.concatenate([rng.integers(2, 400, 6), [40, 41, 39, 1, 400]])
    padded, mask = reference.pad_and_mask(s.random_signals(rng, lengths), 400)
    _, frame_mask = student.frame_signals(padded, mask, frame_len)
    frame_mask = np.asarray(frame_mask)
    if frame_mask.dtype != bool:
        raise CheckFailed(f"the frame mask has dtype {frame_mask.dtype}")
    expected = mask.reshape(len(lengths), -1, frame_len).any(axis=-1)
    if frame_mask.shape != expected.shape:
        raise CheckFailed(f"got shape {frame_mask.shape}, expected (N, max_len // frame_len)")
    np.testing.assert_array_equal(frame_mask, expected)


@check(points=1, title="frame_signals: ValueError when frame_len does not divide", cell="a1_frame_signals",
       message="frame_signals must raise a ValueError when max_len is not a multiple of frame_len (its "
               "docstring's Raises clause), not drop or add samples silently.")
def test_frame_signals_rejects_a_frame_length_that_does_not_divide(student, reference, rng):
    padded, mask = reference.pad_and_mask(s.random_signals(rng, [300, 450]), 480)
    require_value_error({f"max_len=480 and frame_len={n}": lambda n=n: student.frame_signals(padded, mask, n)
                         for n in (50, 7)})
