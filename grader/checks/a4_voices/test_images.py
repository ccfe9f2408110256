"""Assignment 4, part 2: mel_image, the log2 mel spectrogram as a fixed-size image in [0, 1].

Compared with the reference on speech-like clips of FSDD's range of lengths. The tolerance
accepts any bilinear resize: ``tf.image.resize``, ``keras.ops.image.resize`` and a half-pixel
``np.interp`` give the reference's image; ``scipy.ndimage.zoom(order=1)`` puts the new grid's
points at the corners instead of the pixel centres, which moves values near the edges (over 60
check seeds: mean difference at most 0.017, 95th percentile at most 0.113, on clips of 2.3 s
squeezed into 32 columns). The realistic mistakes differ by far more (per check call, the least
mean difference over 60 seeds): a per-image min-max 0.078, magnitude instead of power 0.082,
log10 with the log2 bounds 0.169, the image transposed 0.164, dB with the log2 bounds 0.303; an
image not resized has another shape.
"""
from __future__ import annotations

import numpy as np

from grader.api import CheckFailed, check
from grader.checks.a4_voices import _support as s

CELL = "a4_mel_image"
MEAN_TOL, P95_TOL = 0.04, 0.14


def _image(module, y):
    return np.asarray(module.mel_image(y))


@check(points=1, title="mel_image: IMAGE_SHAPE, float32, in [0, 1], any clip length", cell=CELL,
       message="mel_image(y) must return an IMAGE_SHAPE (32 x 32) float32 image with values in [0, 1] for clips "
               "of any length (shorter than one STFT window to longer than 2 s): the frames are resized to the "
               "image's columns.")
def test_mel_image_shape_and_range(student, rng):
    for n in s.clip_lengths(rng):
        img = _image(student, s.voiced(rng, n))
        if img.shape != s.IMAGE_SHAPE or img.dtype != np.float32:
            raise CheckFailed(f"a clip of {n} samples gives shape {img.shape}, dtype {img.dtype}; expected "
                              f"{s.IMAGE_SHAPE}, float32")
        if not (np.all(np.isfinite(img)) and img.min() >= 0 and img.max() <= 1):
            raise CheckFailed(f"a clip of {n} samples has values from {np.nanmin(img):.3g} to {np.nanmax(img):.3g}; "
                              "expected [0, 1]")


@check(points=3, title="mel_image: log2 mel power, resized, scaled to [0, 1]", cell=CELL,
       message="mel_image must compute the power mel spectrogram (centred STFT, N_FFT, HOP_LENGTH, N_MELS bands), "
               "log2(max(mel, 1e-10)), resize it bilinearly to IMAGE_SHAPE and scale (v - LOG2_FLOOR) / (LOG2_CEIL - "
               "LOG2_FLOOR), clipped to [0, 1]; its values differ from that image.")
def test_mel_image_values(student, reference, rng):
    for n in s.clip_lengths(rng)[1:]:
        y = s.voiced(rng, n) * rng.uniform(0.3, 3.0)
        got, want = _image(student, y), _image(reference, y)
        if got.shape != want.shape:
            raise CheckFailed(f"a clip of {n} samples gives shape {got.shape}; expected {want.shape}")
        diff = np.abs(got.astype(np.float64) - want)
        if not (diff.mean() <= MEAN_TOL and np.percentile(diff, 95) <= P95_TOL):
            raise CheckFailed(f"a clip of {n} samples: mean difference {diff.mean():.3f} from the expected image "
                              f"(at most {MEAN_TOL}), 95th percentile {np.percentile(diff, 95):.3f} (at most {P95_TOL})")


@check(points=1, title="mel_image: rows are mel bands, row 0 the lowest", cell=CELL,
       message="mel_image's rows must be the mel bands (row 0 the lowest frequency) and its columns time: a tone "
               "must light up one row across the columns, a higher tone a higher row.")
def test_mel_image_rows_are_bands(student):
    t = np.arange(6000) / s.SR
    rows = []
    for f in (250.0, 1500.0):
        img = _image(student, (0.5 * np.sin(2 * np.pi * f * t)).astype(np.float32))
        if img.ndim != 2:
            raise CheckFailed(f"mel_image returned {img.ndim} dimensions; expected a 2-D image")
        profile = img[:, 2:-2].mean(axis=1)
        rows.append(int(np.argmax(profile)))
        if np.ptp(img[:, 2:-2].mean(axis=0)) > 0.1:
            raise CheckFailed(f"a steady {f:.0f} Hz tone varies across the columns: the columns must be time")
    if not rows[0] < rows[1]:
        raise CheckFailed(f"the brightest row of a 250 Hz tone is {rows[0]} and of a 1500 Hz tone {rows[1]}; "
                          "row 0 must be the lowest band")


@check(points=1, title="mel_image: ValueError for an empty or non-1-D clip", cell=CELL,
       message="mel_image must raise a ValueError when y is empty or not a 1-D array.")
def test_mel_image_rejects_bad_clips(student, rng):
    clips = {"an empty clip": np.zeros(0, np.float32), "a 2-D array": s.voiced(rng, 4000).reshape(2, 2000),
             "a scalar": np.float32(0.5)}
    s.require_value_error({what: (lambda y=y: student.mel_image(y)) for what, y in clips.items()})
