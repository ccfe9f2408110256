"""Assignment 4, part 7: predict_labels, from audio files to class names.

The model classifies a mel image by its nearest template: one template per file, that file's
image made as the docstring says, and decoy templates made as the usual slips make it (a 16 kHz
file not resampled, a stereo file's first channel only); its classes are named after the files.
Any correct reading of the files (another resampler, librosa.load) lands on the file's own class,
a slip on the decoy or elsewhere, and a reordering on another file's name. The files are of the
kinds a user hands in: 8 kHz clips, some at 16 kHz with content above 4 kHz, some stereo with
channels that speak in turn, one long, shuffled. The run checks call the same function
with the student's saved models on the hidden files (:mod:`.test_runs`).
"""
from __future__ import annotations

import numpy as np

from grader import onstudent
from grader.api import CheckFailed, check
from grader.boundary import on_student
from grader.checks.a4_voices import _support as s

CELL = "a4_predict"


def _stereo(rng, n):
    """Two channels that speak in turn: the left one the first third, the right one the rest."""
    y = np.zeros((n, 2), np.float32)
    y[:n // 3, 0] = s.voiced(rng, n // 3)
    y[n // 3:, 1] = s.voiced(rng, n - n // 3)
    return y


def _wideband(rng, n):
    """A 16 kHz recording: a voiced sound and a hiss of 5.5-7.5 kHz (a fricative), far above 8 kHz's Nyquist."""
    t = np.arange(n) / 16000
    f = rng.uniform(5800, 7200) + 300 * np.sin(2 * np.pi * rng.uniform(2, 6) * t)
    hiss = 0.3 * np.sin(2 * np.pi * np.cumsum(f) / 16000) * np.hanning(n)
    return (0.6 * s.voiced(rng, n, sr=16000) + hiss).astype(np.float32)


def _wavs(rng, folder):
    """8 kHz clips, six at 16 kHz, six stereo (channels that speak in turn), one long, shuffled."""
    paths = s.write_wavs(folder / "sr8000", [s.voiced(rng, int(n)) for n in rng.integers(1200, 7000, 6)], sr=s.SR)
    paths += s.write_wavs(folder / "sr16000", [_wideband(rng, int(n)) for n in rng.integers(3000, 14000, 6)], sr=16000)
    paths += s.write_wavs(folder / "stereo", [_stereo(rng, int(n)) for n in rng.integers(3000, 7000, 6)], sr=s.SR)
    paths += s.write_wavs(folder / "long", [s.voiced(rng, 17000)], sr=s.SR)
    order = rng.permutation(len(paths))               # not in the order of their names
    return [paths[i] for i in order]


def _read(path, *, resample=True, channel=None):
    """A file as mono float32 at SR: channels averaged (or one channel), resampled (or not)."""
    import librosa
    import soundfile

    y, sr = soundfile.read(path, dtype="float32", always_2d=True)
    y = y.mean(axis=1) if channel is None else y[:, channel]
    return librosa.resample(y, orig_sr=sr, target_sr=s.SR) if resample and sr != s.SR else y


def _nearest_template_model(templates):
    """A Keras classifier of mel images: class k is the template nearest to the image (squared distance)."""
    import keras

    t = np.stack([np.asarray(x, np.float64).reshape(-1) for x in templates])
    image = keras.Input((*s.IMAGE_SHAPE, 1))
    dense = keras.layers.Dense(len(t), activation="softmax")
    model = keras.Model(image, dense(keras.layers.Flatten()(image)))
    dense.set_weights([(2 * t.T).astype(np.float32), (-np.sum(t ** 2, axis=1)).astype(np.float32)])
    return model


@check(points=3, title="predict_labels: the model's class of every file, by name", cell=CELL,
       message="predict_labels(model, paths, classes) must read every file (channels averaged, resampled to SR), "
               "make its mel_image, and return the name in classes of the model's most probable class, one per "
               "file in the order of paths.")
def test_predict_labels(student, reference, rng, tmp_path):
    paths = _wavs(rng, tmp_path)
    # one class per file: its image made as the docstring says; decoy classes: the images of the usual slips
    templates, classes = [], []
    for i, path in enumerate(paths):
        variants = {"": _read(path), " (not resampled)": _read(path, resample=False),
                    " (first channel only)": _read(path, channel=0)}
        for suffix, y in variants.items():
            if suffix and len(y) == len(variants[""]) and np.allclose(y, variants[""]):
                continue                                 # the slip makes no difference for this file
            templates.append(reference.mel_image(y))
            classes.append(f"{path.parent.name}/{path.name}{suffix}")
    model = _nearest_template_model(templates)
    want = [f"{p.parent.name}/{p.name}" for p in paths]
    # mel_image is charged by the image checks: here it gives the reference's image of every signal expected
    keys = [v for path in paths for v in (_read(path), _read(path, resample=False), _read(path, channel=0))]
    got = np.asarray(on_student(student, onstudent.call_with_lookup, student, "mel_image", keys,
                                [np.asarray(reference.mel_image(k)) for k in keys], "predict_labels", model, paths,
                                tuple(classes)))
    if got.shape != (len(paths),):
        raise CheckFailed(f"{len(paths)} files gave shape {got.shape}; expected ({len(paths)},)")
    wrong = [f"{w} -> {g}" for g, w in zip(got.tolist(), want) if str(g) != w]
    if wrong:
        raise CheckFailed(f"{len(wrong)} of {len(paths)} files get another class than expected (the model's classes "
                          f"are named after the files): {wrong[:3]}")
