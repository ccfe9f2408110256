"""Assignment 4: scoring saved classifiers on the hidden clips, and the reference figures.

The run checks and ``make reference`` share this module, so a threshold is always set from the
same measurement it is compared with.

* :func:`hidden_accuracy` -- every saved model's accuracy and per-class recall on the 300 hidden
  clips (FSDD takes 0-4), through the submission's own ``predict_labels`` (files to names), scored
  with the **reference** ``evaluate_predictions``: ``cnn`` and ``transfer`` name the speaker,
  ``source`` the digit (the task its trunk was trained on).
* :func:`reference_figures` -- the figures of the executed master that ``make reference`` writes to
  ``reference/a4_voices.json``::

      python -m authoring reference a4_voices [--executed DIR] [--out F] [--spread-seeds N ...]
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable

import numpy as np

from grader.api import load_saved_model
from grader.assignments import REFERENCE
from grader.boundary import staged

__all__ = ["ASSIGNMENT", "MODELS", "REFERENCE_JSON", "REFERENCE_OPTIONS", "baseline_accuracy", "hidden_accuracy",
           "load_model", "reference_figures", "seed_spread"]

ASSIGNMENT = "a4_voices"
REFERENCE_JSON = REFERENCE / f"{ASSIGNMENT}.json"  # written by `make reference`
# the options of reference_figures that keep `make bench` to one execution of the master
REFERENCE_OPTIONS: dict[str, Any] = {"baselines": False}
# saved model name -> what it names: the speaker (the assignment's task) or the digit (the transfer source)
MODELS = {"source": "digit", "cnn": "speaker", "transfer": "speaker"}
SPEAKERS = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")
VAL_FRACTION = 0.2  # the notebook's (set-up cell); tests/validity/test_run_checks.py fails when the two differ
DIGITS = tuple(str(d) for d in range(10))


def load_model(artifacts_dir: str | os.PathLike, name: str, student: Any = None) -> Any:
    """Load ``artifacts_dir/<name>.keras`` for inference (see :func:`grader.api.load_saved_model`).

    With ``student`` (the ``student`` fixture) it is loaded where the student's code runs
    (:func:`grader.boundary.load_student_model`): their own layer classes, never in the checks.
    """
    if student is not None:
        from grader.boundary import load_student_model

        return load_student_model(student, artifacts_dir, name, MODELS)
    return load_saved_model(artifacts_dir, name, MODELS)


def hidden_accuracy(predictor: ModuleType, artifacts_dir: str | os.PathLike, names: Iterable[str] | None = None,
                    *, metrics: ModuleType) -> dict[str, dict[str, Any]]:
    """Hidden-split accuracy of saved models, through ``predictor.predict_labels``.

    Parameters
    ----------
    predictor : module
        Defines ``predict_labels(model, paths, classes)`` (the submission's answers module).
    artifacts_dir : path-like
        ``artifacts/a4`` of an executed notebook.
    names : iterable of str, optional
        Which models (default all of :data:`MODELS`).
    metrics : module, keyword-only
        Defines ``evaluate_predictions`` (the reference answers module).

    Returns
    -------
    dict
        ``name -> {"accuracy": float, "recall": list of float (per class), "classes": list of str}``.

    Raises
    ------
    FileNotFoundError
        A model is missing.
    ValueError
        ``predict_labels`` did not return one known class name per hidden file.
    """
    import source_data as sd

    hidden = sd.load_spoken_digits("hidden")
    truth = {"speaker": np.array([SPEAKERS.index(s) for s in hidden.speakers]), "digit": np.asarray(hidden.digits)}
    out = {}
    for name in names or MODELS:
        task = MODELS[name]
        classes = SPEAKERS if task == "speaker" else DIGITS
        got = np.asarray(predictor.predict_labels(load_model(artifacts_dir, name, predictor), staged(predictor, hidden.paths, disguise=True),
                                                  classes)).reshape(-1)
        if got.shape != (len(hidden),) or not set(got.tolist()) <= set(classes):
            raise ValueError(f"predict_labels({name}) must return one of {list(classes)} per file: {len(hidden)} "
                             f"names, got shape {got.shape}, values {sorted(set(map(str, got.tolist())))[:5]}")
        index = {c: i for i, c in enumerate(classes)}
        figures = metrics.evaluate_predictions(truth[task], np.array([index[g] for g in got.tolist()]), len(classes))
        out[name] = {"accuracy": round(float(figures["accuracy"]), 4),
                     "recall": [round(float(r), 4) for r in figures["recall"]], "classes": list(classes)}
    return out


def baseline_accuracy(module: ModuleType, *, seed: int = 0) -> dict[str, float]:
    """Hidden accuracy of the two SVM baselines of ``module``, fitted as the notebook fits them.

    The notebook does not save its SVMs (the grader never unpickles a submission's objects), so the
    reference figures refit them: ``validation_split`` of the student clips with the notebook's
    fraction and seed, ``svm_baseline`` on ``pad_or_cut`` and on ``mfcc_stats`` of the training part,
    scored on the 300 hidden clips. About 75 s on 2 cores.

    Returns
    -------
    dict
        ``{"svm_raw": accuracy, "svm_mfcc": accuracy}``.
    """
    import soundfile

    import source_data as sd

    student, hidden = sd.load_spoken_digits("student"), sd.load_spoken_digits("hidden")
    train, _ = module.validation_split(student.speakers, student.digits, fraction=VAL_FRACTION, seed=seed)
    clips = [soundfile.read(student.paths[i], dtype="float32")[0] for i in train]
    test = [soundfile.read(p, dtype="float32")[0] for p in hidden.paths]
    y_train = np.array([SPEAKERS.index(s) for s in student.speakers[train]])
    y_test = np.array([SPEAKERS.index(s) for s in hidden.speakers])

    def stats(signals):
        return np.stack([module.mfcc_stats(y) for y in signals])

    features = {"svm_raw": module.pad_or_cut, "svm_mfcc": stats}
    return {name: round(float(module.svm_baseline(f(clips), y_train, f(test), y_test)[1]), 4)
            for name, f in features.items()}


def reference_figures(master: Any, *, spread_seeds: tuple[int, ...] = (), baselines: bool = True) -> dict[str, Any]:
    """Measure the reference figures of assignment 4.

    Parameters
    ----------
    master : authoring.reference.MasterRun
        The executed master (``module``, ``executed``, ``execution``, ``environment``, ``rerun``).
    spread_seeds : tuple of int, keyword-only
        Also re-run the notebook with each of these seeds (about 3 minutes each) and record the
        hidden accuracies under ``"seed_spread"``.
    baselines : bool, keyword-only
        Also refit the two SVM baselines and record their hidden accuracy (:func:`baseline_accuracy`).

    Returns
    -------
    dict
        JSON-ready: hidden accuracy per model, the notebook's validation figures and learning curve,
        per-part seconds (from its ``metrics.json``), environment.
    """
    artifacts = Path(master.executed) / "artifacts" / "a4"
    metrics = json.loads((artifacts / "metrics.json").read_text())
    start = time.perf_counter()
    hidden = hidden_accuracy(master.module, artifacts, metrics=master.module)
    figures: dict[str, Any] = {
        "assignment": ASSIGNMENT,
        "hidden": hidden,
        "hidden_scoring_seconds": round(time.perf_counter() - start, 1),
        "validation": {name: {"accuracy": round(fig["accuracy"], 4), "recall": [round(r, 4) for r in fig["recall"]]}
                       for name, fig in metrics["validation"].items()},
        "learning_curve": {k: {m: (round(v, 4) if isinstance(v, float) else v) for m, v in row.items()}
                           for k, row in metrics["learning_curve"].items()},
        "epochs": metrics["epochs"],
        "curve_epochs": metrics["curve_epochs"],
        "batch_size": metrics["batch_size"],
        "n": metrics["n"],
        **master.run_figures(metrics),
    }
    if baselines:
        figures["hidden_baselines"] = baseline_accuracy(master.module)
    if spread_seeds:
        figures["seed_spread"] = seed_spread(master, spread_seeds)
    return figures


def seed_spread(master: Any, seeds: tuple[int, ...]) -> dict[str, Any]:
    """Hidden accuracy of every model of the master re-run with other seeds (the recipe's run-to-run spread)."""
    runs = {}
    for seed in seeds:
        workdir, execution = master.rerun(seed)
        hidden = hidden_accuracy(master.module, Path(workdir) / "artifacts" / "a4", metrics=master.module)
        runs[str(seed)] = {name: fig["accuracy"] for name, fig in hidden.items()}
        runs[str(seed)]["wall_seconds"] = execution["wall_seconds"]
    return runs
