"""Assignment 3, part 7: load_clips, predict_fake and make_submission, from wav files to a CSV.

The models are the reference architectures with fixed random weights; the normaliser is fitted
(with the reference) on synthetic clips. The grader's own run checks call ``predict_fake`` with
the student's saved models on the hidden files (:mod:`.test_runs`).
"""
from __future__ import annotations

import csv

import numpy as np
import pytest

from grader.api import CheckFailed, check
from grader.boundary import StudentFolder
from grader.checks.a3_fake_or_real import _support as s
from grader.probes import require_value_error

CELL = "a3_submission"


def _wavs(rng, folder):
    """Files of the kinds a competition hands out: 8 kHz clips, one 16 kHz, one stereo, one 1.6 s long."""
    lengths = np.r_[rng.integers(1500, s.SEGMENT, 5), [s.SEGMENT]]
    paths = s.write_wavs(folder / "sr8000", list(s.clips(rng, lengths)), sr=s.SR)
    paths += s.write_wavs(folder / "sr16000", [s.voiced(rng, 11000)], sr=16000)
    paths += s.write_wavs(folder / "stereo", [np.stack([s.voiced(rng, 5000), s.voiced(rng, 5000)], axis=1)], sr=s.SR)
    paths += s.write_wavs(folder / "long", [s.voiced(rng, 13000)], sr=s.SR)
    for i, p in enumerate(paths):                     # distinct ids
        paths[i] = p.rename(p.with_name(f"{p.parent.name}_{p.name}"))
    return paths


def _normaliser(reference, rng):
    return reference.fit_normaliser(*reference.frame_features(s.clips(rng, rng.integers(2000, s.SEGMENT, 6))))


def _model(reference, rng, kind):
    model = reference.build_lstm_detector() if kind == "lstm" else reference.build_fusion("relu")
    return s.fixed_weights(model, rng, scale=0.2)


@check(points=2, title="load_clips: mono, resampled, cut or padded to one second", cell=CELL,
       message="load_clips(paths) must return float32 (len(paths), SEGMENT): each file mono (channels "
               "averaged), resampled to SR when needed, cut to its first SEGMENT samples or zero-padded.",
       timeout=90)
def test_load_clips(student, reference, rng, tmp_path):
    paths = _wavs(rng, tmp_path)
    got = np.asarray(student.load_clips(paths))
    want = reference.load_clips(paths)
    if got.shape != want.shape or got.dtype != np.float32:
        raise CheckFailed(f"load_clips returned {got.dtype} {got.shape} for {len(paths)} files; expected float32 "
                          f"{want.shape}")
    kinds = ["an 8 kHz clip"] * 6 + ["a 16 kHz file", "a stereo file", "a 1.6-second file"]
    for i, kind in enumerate(kinds):
        if not np.allclose(got[i], want[i], atol=2e-3):
            raise CheckFailed(f"{kind} was not read as expected (mono, {s.SR} Hz, {s.SEGMENT} samples, "
                              "zero-padded after its end)")


@pytest.mark.parametrize("kind", ["lstm", "fusion"])
@check(points=3, title="predict_fake: from files to P(fake)", cell=CELL,
       message="predict_fake(model, kind, paths, mean, std) must read the files (load_clips), compute the frame "
               "features and mask, normalise them with the (mean, std) passed, feed the model its own inputs "
               "(kind 'lstm': [features, mask]; 'fusion': fusion_inputs) and return one float32 P(fake) per "
               "file, in the order of paths.", timeout=120)
def test_predict_fake(student, reference, rng, tmp_path, kind):
    paths = _wavs(rng, tmp_path)
    mean, std = _normaliser(reference, rng)
    model = _model(reference, rng, kind)
    want = reference.predict_fake(model, kind, paths, mean, std)
    got = np.asarray(student.predict_fake(model, kind, paths, mean, std))
    if got.shape != want.shape or got.dtype != np.float32:
        raise CheckFailed(f"predict_fake returned {got.dtype} {got.shape} for {len(paths)} files; expected float32 "
                          f"{want.shape}")
    if not np.allclose(got, want, atol=1e-4):
        raise CheckFailed(f"the scores differ from the reference pipeline's (largest difference "
                          f"{np.max(np.abs(got - want)):.3g})")
    order = list(reversed(paths))
    if not np.allclose(np.asarray(student.predict_fake(model, kind, order, mean, std)), want[::-1], atol=1e-4):
        raise CheckFailed("the scores must follow the order of paths")


@check(points=1, title="predict_fake: ValueError for an unknown kind", cell=CELL,
       message="predict_fake must raise a ValueError when kind is not 'lstm' or 'fusion'.", timeout=90)
def test_predict_fake_rejects_kind(student, reference, rng, tmp_path):
    paths = _wavs(rng, tmp_path)[:2]
    mean, std = _normaliser(reference, rng)
    model = _model(reference, rng, "lstm")
    require_value_error({f"kind={bad!r}": lambda bad=bad: student.predict_fake(model, bad, paths, mean, std)
                         for bad in ("cnn", "LSTM", "fusion_relu")})


@check(points=2, title="make_submission: id,p_fake rows in order", cell=CELL,
       message="make_submission(model, kind, paths, mean, std, out_csv) must write the header id,p_fake and one "
               "row per file in the order of paths (id: the file name without its extension; p_fake with 6 "
               "decimals) and return the number of rows.", timeout=120)
def test_make_submission(student, reference, rng, tmp_path):
    paths = _wavs(rng, tmp_path / "audio")
    mean, std = _normaliser(reference, rng)
    model = _model(reference, rng, "lstm")
    order = [paths[i] for i in rng.permutation(len(paths))]
    folder = StudentFolder(student, tmp_path, "out")
    n = student.make_submission(model, "lstm", order, mean, std, folder.path / "submission.csv")
    out = folder.collect() / "submission.csv"
    if not out.is_file():
        raise CheckFailed("make_submission did not write out_csv")
    with open(out, newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows or rows[0] != ["id", "p_fake"]:
        raise CheckFailed(f"the first line must be the header id,p_fake, got {rows[:1]}")
    if n != len(order) or len(rows) - 1 != len(order):
        raise CheckFailed(f"{len(order)} files: make_submission returned {n!r} and wrote {len(rows) - 1} rows")
    want = reference.predict_fake(model, "lstm", order, mean, std)
    for row, path, p in zip(rows[1:], order, want):
        if len(row) != 2 or row[0] != path.stem:
            raise CheckFailed(f"row {row} must be for {path.stem} (rows in the order of paths, id without extension)")
        whole, _, decimals = row[1].partition(".")
        if len(decimals) != 6 or not whole.isdigit():
            raise CheckFailed(f"p_fake must be written with 6 decimals, got {row[1]!r}")
        if abs(float(row[1]) - float(p)) > 1e-4:
            raise CheckFailed(f"p_fake of {path.stem} is {row[1]}, expected {float(p):.6f}")
