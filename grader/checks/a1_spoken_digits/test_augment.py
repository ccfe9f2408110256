"""Assignment 1, part 6: augment_clip and augment_dataset."""
from __future__ import annotations

import numpy as np
import pytest

from grader import onstudent
from grader.api import CheckFailed, check
from grader.boundary import class_name, on_student
from grader.checks.a1_spoken_digits import _support as s

RATES = (0.7, 1.0, 1.3)
SEMITONE = 2 ** (1 / 12)


# librosa's time_stretch/pitch_shift compile numba kernels on first use: 20-45 s on 2 busy cores when
# the process has no warm numba cache (the sandbox gives each check process a fresh NUMBA_CACHE_DIR).
# The fixture compiles them once per process; the engine's watchdog counts that time in the first
# check of the module, hence the longer time limit of these checks.
TIMEOUT = 180


@pytest.fixture(scope="module", autouse=True)
def _compiled_librosa_effects():
    """Compile librosa's numba kernels before the checks run student code."""
    import librosa

    y = s.tone(440.0, 2048)
    librosa.effects.pitch_shift(librosa.effects.time_stretch(y, rate=0.7, n_fft=512), sr=s.SR, n_steps=1, n_fft=512)


def _versions(student, signal):
    out = student.augment_clip(signal, sr=s.SR)
    if not isinstance(out, (list, tuple)):
        raise CheckFailed(f"augment_clip returned {class_name(out)}; expected a list of 9 arrays")
    return [np.asarray(v) for v in out]


@check(points=2, title="augment_clip: nine versions, original first", cell="a1_augment",
       message="augment_clip must return 9 float32 1-D signals (3 stretch rates x 3 pitch shifts), "
               "the original clip first and unchanged.", timeout=TIMEOUT)
def test_augment_clip_nine_versions_original_first(student, rng):
    (signal,) = s.random_signals(rng, [int(rng.integers(2500, 4000))])
    versions = _versions(student, signal)
    if len(versions) != 9:
        raise CheckFailed(f"got {len(versions)} versions")
    if not all(v.ndim == 1 and v.dtype == np.float32 for v in versions):
        raise CheckFailed(f"got {sorted({f'{v.dtype} {v.ndim}-D' for v in versions})}")
    np.testing.assert_array_equal(versions[0], signal)


@check(points=2, title="augment_clip: stretched versions about len / rate long", cell="a1_augment",
       message="augment_clip's time-stretched versions must be about len / rate long "
               "(rates 0.7, 1.0 and 1.3, each with its pitch shifts; a pitch shift keeps the length).",
       timeout=TIMEOUT)
def test_augment_clip_stretched_lengths(student, rng):
    n = int(rng.integers(3000, 4500))
    (signal,) = s.random_signals(rng, [n])
    lengths = np.array([len(v) for v in _versions(student, signal)])
    # every version's length is n / rate for one of the rates, and every rate occurs three times or more
    # (how many versions there are is test_augment_clip_nine_versions_original_first's property)
    rate_of = [min(RATES, key=lambda r: abs(k - n / r)) for k in lengths]
    off = [int(k) for k, r in zip(lengths, rate_of) if abs(k - n / r) > 0.02 * n / r]
    counts = {r: rate_of.count(r) for r in RATES}
    if off or min(counts.values()) < 3:
        raise CheckFailed(f"lengths {np.sort(lengths).tolist()} for a clip of {n} samples; expected three each of "
                          f"{[round(n / r) for r in RATES]}")


@check(points=2, title="augment_clip: pitch shifted by -1, 0 and +1 semitone", cell="a1_augment",
       message="augment_clip must shift the pitch by -1, 0 and +1 semitone at every stretch rate "
               "(checked on a pure tone), and time stretching must keep the pitch.", timeout=TIMEOUT)
def test_augment_clip_moves_pitch_by_a_semitone(student, rng):
    freq = float(rng.uniform(400, 700))
    n = 6000
    versions = _versions(student, s.tone(freq, n))
    groups: dict[float, list[float]] = {}
    for v in versions:
        rate = min(RATES, key=lambda r: abs(len(v) - n / r))
        core = v[len(v) // 8: -len(v) // 8]          # leave out the edges
        groups.setdefault(rate, []).append(s.peak_frequency(core))
    expected = freq * SEMITONE ** np.array([-1, 0, 1])
    for rate in RATES:
        peaks = np.sort(groups.get(rate, []))
        # each version one of the three pitches, each pitch present (a duplicate version is another check's)
        nearest = np.abs(peaks[:, None] / expected[None, :] - 1).min(axis=1) if len(peaks) else np.array([1.0])
        present = [bool(np.any(np.abs(peaks / e - 1) <= 0.01)) for e in expected] if len(peaks) else [False]
        if np.any(nearest > 0.01) or not all(present):
            raise CheckFailed(f"at stretch rate {rate}: peak frequencies {np.round(peaks, 1).tolist()} Hz for a "
                              f"{freq:.1f} Hz tone, expected {np.round(expected, 1).tolist()} Hz")


@check(points=2, title="augment_dataset: versions clip by clip, labels in step", cell="a1_augment",
       message="augment_dataset must return, clip by clip, the versions augment_clip makes of each clip "
               "(clip i's versions next to each other, in augment_clip's order) and the labels repeated "
               "in step (np.repeat(labels, 9) for nine versions per clip).", timeout=TIMEOUT)
def test_augment_dataset_labels_in_step(student, rng):
    lengths = rng.integers(1500, 3500, 4)
    signals = s.random_signals(rng, lengths)
    labels = rng.permutation(10)[:4]
    augmented, augmented_labels = on_student(student, onstudent.call_with_joblib_threads, student.augment_dataset,
                                             signals, labels, sr=s.SR)
    # compared with the student's own augment_clip: what the versions are is the augment_clip checks' property
    per_clip = [_versions(student, signal) for signal in signals]
    expected = [v for versions in per_clip for v in versions]
    augmented_labels = np.asarray(augmented_labels)
    if len(augmented) != len(expected) or augmented_labels.shape != (len(expected),):
        raise CheckFailed(f"got {len(augmented)} signals and labels of shape {augmented_labels.shape} for 4 clips "
                          f"of which augment_clip makes {len(expected)} versions")
    if not np.array_equal(augmented_labels, np.repeat(labels, [len(v) for v in per_clip])):
        raise CheckFailed("the labels are not repeated in step with the clips (np.repeat, not np.tile)")
    for got, want in zip(augmented, expected):
        if np.shape(got) != np.shape(want) or not np.allclose(np.asarray(got), want, atol=1e-6):
            raise CheckFailed("the signals are not augment_clip's versions of each clip, clip by clip")
    one, one_labels = on_student(student, onstudent.call_with_joblib_threads, student.augment_dataset,
                                 signals[:1], labels[:1], sr=s.SR)    # a class of one clip
    if len(one) != len(per_clip[0]) or not np.array_equal(np.asarray(one_labels), np.repeat(labels[:1], len(one))):
        raise CheckFailed(f"for a single clip expected its {len(per_clip[0])} versions and its label "
                          f"{len(per_clip[0])} times, got {len(one)} signals and {np.size(one_labels)} labels")
