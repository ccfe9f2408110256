"""Assignment 3, parts 3 and 5-7: the executed notebook's detectors, submission.csv and TensorBoard logs.

Hidden-split thresholds
-----------------------
A saved detector passes when, on the real hidden clips + the fakes of the attack families it was
trained on, scored by the grader (:func:`evaluate.hidden_scores`: the submission's own
``predict_fake`` with its saved normaliser, the reference metrics), its

    EER <= ceil_to_0.01(reference EER + EER_MARGIN)   and   F1 at 0.5 >= floor_to_0.01(reference F1 - F1_MARGIN)

with the figures of ``reference/a3_fake_or_real.json``: with the committed figures, EER <= 0.22 and
F1 >= 0.70 (LSTM), EER <= 0.22 and F1 >= 0.69 (fusion ReLU), EER <= 0.21 and F1 >= 0.69 (fusion
GELU), and an unseen-attack EER <= 0.14 for the best detector. The unseen attack family (hidden split
only) is graded once, on the best of the three detectors, with a wider margin: it measures
generalisation, which a recipe controls less. The margins are at least 2.5 times the largest
run-to-run standard deviation of the master over seeds 0, 1 and 2 (that file's ``seed_spread``,
measured 2026-12-05): seen EER, LSTM 0.167/0.127/0.139 (sd 0.020), fusion ReLU 0.162/0.162/0.161,
fusion GELU 0.156/0.167/0.173 (sd 0.009); seen F1, LSTM 0.787/0.843/0.796 (sd 0.030), fusion
0.77-0.81 (sd <= 0.015); best unseen EER 0.033/0.026/0.050 (sd 0.012). Seed 0 (the reference)
is the worst LSTM of the three, so its thresholds are not tighter than another seed's would be. Without the file there is no fallback: the run checks that need a threshold fail
with a check error (:class:`ReferenceFiguresMissing`).
"""
from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from grader import probes
from grader.api import CheckFailed, ReferenceThresholds, check
from grader.boundary import staged
from grader.checks.a3_fake_or_real import evaluate

EER_MARGIN, F1_MARGIN, UNSEEN_EER_MARGIN = 0.05, 0.08, 0.10
# the notebook's EPOCHS (set-up cell, locked: the grader restores it from the master); a test of the kit
# (tests/validity/test_run_checks.py) fails when the two differ
EPOCHS = {"lstm": 12, "fusion_relu": 8, "fusion_gelu": 8}
LABELS = {"lstm": "LSTM detector", "fusion_relu": "fusion model (ReLU)", "fusion_gelu": "fusion model (GELU)"}
CELLS = {"lstm": "a3_train_lstm", "fusion_relu": "a3_train_fusion", "fusion_gelu": "a3_train_fusion"}


def _ceil(x: float) -> float:
    return math.ceil(round(x * 100, 6)) / 100


def _floor(x: float) -> float:
    return math.floor(round(x * 100, 6)) / 100


def thresholds_from(reference: dict) -> dict[str, dict[str, float]]:
    """Per model ``{"eer": max seen EER, "f1": min seen F1}`` and ``"unseen_eer"`` (best model's)."""
    hidden = reference["hidden"]
    out: dict = {name: {"eer": _ceil(hidden[name]["seen"]["eer"] + EER_MARGIN),
                        "f1": _floor(hidden[name]["seen"]["f1"] - F1_MARGIN)} for name in evaluate.MODEL_KINDS}
    out["unseen_eer"] = _ceil(min(hidden[name]["unseen"]["eer"] for name in evaluate.MODEL_KINDS) + UNSEEN_EER_MARGIN)
    return out


threshold = ReferenceThresholds(evaluate.REFERENCE_JSON, thresholds_from)
THRESHOLDS = threshold.values  # None when unreadable: every run check then ends in a check error


def _documented(name: str) -> str:
    if THRESHOLDS is None:
        return "the documented thresholds (the grader could not read them: a grader error)"
    return f"an EER of at most {THRESHOLDS[name]['eer']:.2f} and an F1 of at least {THRESHOLDS[name]['f1']:.2f}"


def _scores(student, reference, artifacts, names):
    try:
        return evaluate.hidden_scores(student, artifacts, names, metrics=reference)
    except (FileNotFoundError, ValueError) as exc:
        raise CheckFailed(str(exc)) from None


def _figures(fig: dict) -> str:
    return (f"seen attacks: F1 {fig['seen']['f1']:.3f}, EER {fig['seen']['eer']:.3f}; unseen attack: F1 "
            f"{fig['unseen']['f1']:.3f}, EER {fig['unseen']['eer']:.3f}")


@pytest.mark.parametrize("name", list(evaluate.MODEL_KINDS))
@check(points=2, title="Detector: hidden-set EER and F1 on the seen attacks", cell=CELLS, run=True, timeout=240,
       message="Each saved detector (artifacts/a3/lstm.keras, fusion_relu.keras, fusion_gelu.keras, scored through "
               "your predict_fake with artifacts/a3/normaliser.npz) must reach, on the grader's real clips and "
               "fakes of the three attack families you trained on, "
               + (_documented("lstm") + " (LSTM), " + _documented("fusion_relu") + " (fusion ReLU) and "
                  + _documented("fusion_gelu") + " (fusion GELU)." if THRESHOLDS else _documented("lstm") + "."))
def test_hidden_seen_attacks(student, reference, artifacts, name):
    needed = threshold(name)
    fig = _scores(student, reference, artifacts, (name,))[name]
    seen = fig["seen"]
    if not (seen["eer"] <= needed["eer"] and seen["f1"] >= needed["f1"]):
        raise CheckFailed(f"{LABELS[name]}: {_figures(fig)}; needed an EER of at most {needed['eer']:.2f} and an "
                          f"F1 of at least {needed['f1']:.2f} on the seen attacks")


@check(points=1, title="Best detector: hidden-set EER on the unseen attack", cell="a3_results", run=True, timeout=400,
       message="The best of your three saved detectors must reach an EER of at most "
               + (f"{THRESHOLDS['unseen_eer']:.2f}" if THRESHOLDS else "the documented threshold")
               + " on the grader's real clips and the fakes of an attack family that is not in your data.")
def test_hidden_unseen_attack(student, reference, artifacts):
    needed = threshold("unseen_eer")
    figs = _scores(student, reference, artifacts, tuple(evaluate.MODEL_KINDS))
    best = min(figs, key=lambda n: figs[n]["unseen"]["eer"])
    if not figs[best]["unseen"]["eer"] <= needed:
        raise CheckFailed("; ".join(f"{LABELS[n]}: {_figures(f)}" for n, f in figs.items())
                          + f"; the best unseen-attack EER must be at most {needed:.2f}")


@check(points=1, title="submission.csv: every testing file once, P(fake) of a saved detector", cell="a3_make_submission",
       run=True, timeout=240,
       message="artifacts/a3/submission.csv must have the header id,p_fake and one row per file of the testing "
               "split (id: the file name without extension, each once), p_fake a probability with 6 decimals, "
               "equal (on a sample of rows) to the P(fake) of one of your saved detectors.")
def test_submission_csv(student, artifacts, rng):
    import source_data as sd

    path = artifacts / "submission.csv"
    if not path.is_file():
        raise CheckFailed("submission.csv was not found in artifacts/a3")
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows or rows[0] != ["id", "p_fake"]:
        raise CheckFailed(f"the first line must be the header id,p_fake, got {rows[:1]}")
    testing = sd.load_fake_or_real("testing")
    ids = [r[0] for r in rows[1:] if r]
    if sorted(ids) != sorted(p.stem for p in testing.paths):
        raise CheckFailed(f"{len(ids)} rows ({len(set(ids))} distinct ids); expected one row for each of the "
                          f"{len(testing)} testing files")
    values = {}
    for r in rows[1:]:
        whole, _, decimals = r[1].partition(".") if len(r) == 2 else ("", "", "")
        if len(decimals) != 6 or not whole.isdigit() or not 0 <= float(r[1]) <= 1:
            raise CheckFailed(f"row {r}: p_fake must be a probability written with 6 decimals")
        values[r[0]] = float(r[1])
    sample = sorted(rng.choice(len(testing), 16, replace=False))
    paths = [testing.paths[i] for i in sample]
    want = np.array([values[p.stem] for p in paths])
    mean, std = evaluate.load_normaliser(artifacts)
    for name, kind in evaluate.MODEL_KINDS.items():
        got = np.asarray(student.predict_fake(evaluate.load_model(artifacts, name, student), kind,
                                              staged(student, paths), mean, std))
        if got.shape == want.shape and np.allclose(got, want, atol=1e-4):
            return
    raise CheckFailed("on a sample of rows, p_fake is not the P(fake) that predict_fake gives with any of the saved "
                      "detectors")


@check(points=1, title="TensorBoard loss of every epoch for the three detectors", cell="a3_train_fusion", run=True,
       message="TensorBoard logs must hold the training and validation loss of every epoch for the three detectors "
               "(runs/a3/lstm/, runs/a3/fusion_relu/, runs/a3/fusion_gelu/) of a complete training run: one finite "
               "value for each of the notebook's EPOCHS, and the model saved after it (artifacts/a3/<model>.keras).")
def test_tensorboard_scalars(runs, artifacts):
    for name in evaluate.MODEL_KINDS:
        probes.require_complete_run(runs, artifacts, name, EPOCHS[name])
