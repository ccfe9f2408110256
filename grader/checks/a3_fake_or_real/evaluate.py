"""Assignment 3: scoring saved detectors on the hidden clips, and the reference figures.

The run checks and ``make reference`` share this module, so a threshold is always set from the
same measurement it is compared with.

* :func:`hidden_scores` -- P(fake) of every saved detector on the 600 hidden clips (takes 0-4 of
  the real clips, the fakes made from them, hidden TTS voices and the unseen attack family),
  through the submission's own ``predict_fake`` (files to scores, with the saved training
  normaliser), scored with the **reference** ``precision_recall_f1`` and ``equal_error_rate``:
  once on the real clips + the attacks seen in training, once on the real clips + the unseen
  attack (the anti-spoofing benchmarks' split of the figures).
* :func:`reference_figures` -- the figures of the executed master that ``make reference`` writes to
  ``reference/a3_fake_or_real.json``::

      python -m authoring reference a3_fake_or_real [--executed DIR] [--out F] [--spread-seeds N ...]
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
from grader.boundary import class_name, staged

__all__ = ["ASSIGNMENT", "GROUPS", "MODEL_KINDS", "REFERENCE_JSON", "REFERENCE_OPTIONS", "hidden_scores",
           "load_model", "load_normaliser", "reference_figures", "score_groups", "seed_spread"]

ASSIGNMENT = "a3_fake_or_real"
REFERENCE_JSON = REFERENCE / f"{ASSIGNMENT}.json"  # written by `make reference`
# the options of reference_figures that keep `make bench` to one execution of the master
REFERENCE_OPTIONS: dict[str, Any] = {}
# saved model name -> the ``kind`` argument of predict_fake
MODEL_KINDS = {"lstm": "lstm", "fusion_relu": "fusion", "fusion_gelu": "fusion"}
GROUPS = ("seen", "unseen")
THRESHOLD = 0.5  # the decision threshold of the hidden F1 (the notebook's default)


def load_model(artifacts_dir: str | os.PathLike, name: str, student: Any = None) -> Any:
    """Load ``artifacts_dir/<name>.keras`` for inference (see :func:`grader.api.load_saved_model`).

    With ``student`` (the ``student`` fixture) it is loaded where the student's code runs
    (:func:`grader.boundary.load_student_model`): their own layer classes, never in the checks.
    """
    if student is not None:
        from grader.boundary import load_student_model

        return load_student_model(student, artifacts_dir, name, MODEL_KINDS)
    return load_saved_model(artifacts_dir, name, MODEL_KINDS)


def load_normaliser(artifacts_dir: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, std)`` of ``artifacts_dir/normaliser.npz`` (the notebook saves the training statistics).

    Raises
    ------
    FileNotFoundError
        If the file is missing.
    ValueError
        If it does not hold finite 1-D ``mean`` and ``std`` arrays of one length, ``std > 0``.
    """
    path = Path(artifacts_dir) / "normaliser.npz"
    if not path.is_file():
        raise FileNotFoundError("normaliser.npz was not found in artifacts/a3; the normalisation cell saves it")
    try:
        with np.load(path, allow_pickle=False) as f:
            mean, std = np.asarray(f["mean"], np.float32), np.asarray(f["std"], np.float32)
    except (KeyError, ValueError, OSError) as e:
        raise ValueError(f"normaliser.npz must hold the arrays 'mean' and 'std' ({class_name(e)})") from None
    if mean.ndim != 1 or mean.shape != std.shape or not (np.all(np.isfinite(mean)) and np.all(std > 0)):
        raise ValueError(f"normaliser.npz: mean {mean.shape} and std {std.shape} must be finite 1-D arrays of one "
                         "length, std > 0")
    return mean, std


def score_groups(metrics: ModuleType, labels: np.ndarray, attacks: np.ndarray, scores: np.ndarray,
                 seen: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Figures of one detector's scores, per group of the hidden split.

    Parameters
    ----------
    metrics : module
        Defines ``precision_recall_f1`` and ``equal_error_rate`` (the reference answers module).
    labels : np.ndarray [shape=(n,)]
        0 real, 1 fake.
    attacks : np.ndarray [shape=(n,), dtype=str]
        ``""`` for real clips, else the attack family.
    scores : np.ndarray [shape=(n,)]
        P(fake).
    seen : iterable of str
        The attack families of the student split.

    Returns
    -------
    dict
        ``{"seen"|"unseen": {"precision", "recall", "f1", "eer", "eer_threshold", "n_fake"}}``
        over the real clips + that group's fakes, plus ``"detected"`` (share of each attack
        family's clips called fake at 0.5) and ``"false_alarms"`` (of the real clips).
    """
    seen = set(seen)
    real = attacks == ""
    out: dict[str, Any] = {}
    for group in GROUPS:
        fakes = ~real & (np.isin(attacks, list(seen)) if group == "seen" else ~np.isin(attacks, list(seen)))
        keep = real | fakes
        y, sc = labels[keep], scores[keep]
        p, r, f1 = metrics.precision_recall_f1(y, sc, THRESHOLD)
        eer, theta = metrics.equal_error_rate(y, sc)
        out[group] = {"precision": round(float(p), 4), "recall": round(float(r), 4), "f1": round(float(f1), 4),
                      "eer": round(float(eer), 4), "eer_threshold": round(float(theta), 4),
                      "n_fake": int(fakes.sum())}
    out["detected"] = {str(a): round(float(np.mean(scores[attacks == a] >= THRESHOLD)), 4)
                       for a in sorted(set(attacks.tolist()) - {""})}
    out["false_alarms"] = round(float(np.mean(scores[real] >= THRESHOLD)), 4)
    return out


def hidden_scores(predictor: ModuleType, artifacts_dir: str | os.PathLike, names: Iterable[str] | None = None,
                  *, metrics: ModuleType) -> dict[str, dict[str, Any]]:
    """Hidden-split figures of saved detectors, through ``predictor.predict_fake``.

    Parameters
    ----------
    predictor : module
        Defines ``predict_fake(model, kind, paths, mean, std)`` (the submission's answers module).
    artifacts_dir : path-like
        ``artifacts/a3`` of an executed notebook (the ``.keras`` files and ``normaliser.npz``).
    names : iterable of str, optional
        Which models (default all of :data:`MODEL_KINDS`).
    metrics : module, keyword-only
        The module whose metrics score the predictions (the reference answers module).

    Returns
    -------
    dict
        ``name -> score_groups(...)`` (see :func:`score_groups`).

    Raises
    ------
    FileNotFoundError
        A model or normaliser.npz is missing.
    ValueError
        ``predict_fake`` did not return one finite probability per hidden file, or the normaliser
        is malformed.
    """
    import source_data as sd
    from source_data.fake_or_real import SEEN_ATTACKS

    hidden = sd.load_fake_or_real("hidden")
    mean, std = load_normaliser(artifacts_dir)
    out = {}
    for name in names or MODEL_KINDS:
        model = load_model(artifacts_dir, name, predictor)
        scores = np.asarray(predictor.predict_fake(model, MODEL_KINDS[name], staged(predictor, hidden.paths), mean, std),
                            dtype=np.float64).reshape(-1)
        if scores.shape != (len(hidden),) or not np.all(np.isfinite(scores)):
            raise ValueError(f"predict_fake({name}) must return one finite P(fake) per file: {len(hidden)} values, "
                             f"got shape {scores.shape}")
        out[name] = score_groups(metrics, hidden.labels, hidden.attacks, scores, SEEN_ATTACKS)
    return out


def reference_figures(master: Any, *, spread_seeds: tuple[int, ...] = ()) -> dict[str, Any]:
    """Measure the reference figures of assignment 3.

    Parameters
    ----------
    master : authoring.reference.MasterRun
        The executed master (``module``, ``executed``, ``execution``, ``environment``, ``rerun``).
    spread_seeds : tuple of int, keyword-only
        Also re-run the notebook with each of these seeds (about 2 minutes each) and record the
        hidden figures under ``"seed_spread"``.

    Returns
    -------
    dict
        JSON-ready: hidden figures per model and group, the notebook's testing figures, per-part
        seconds (from its ``metrics.json``), environment.
    """
    artifacts = Path(master.executed) / "artifacts" / "a3"
    metrics = json.loads((artifacts / "metrics.json").read_text())
    start = time.perf_counter()
    hidden = hidden_scores(master.module, artifacts, metrics=master.module)
    figures: dict[str, Any] = {
        "assignment": ASSIGNMENT,
        "hidden": hidden,
        "hidden_scoring_seconds": round(time.perf_counter() - start, 1),
        "testing": {name: {k: (round(v, 4) if isinstance(v, float) else v) for k, v in fig.items()}
                    for name, fig in metrics["testing"].items()},
        "epochs": metrics["epochs"],
        "batch_size": metrics["batch_size"],
        "n": metrics["n"],
        **master.run_figures(metrics),
    }
    if spread_seeds:
        figures["seed_spread"] = seed_spread(master, spread_seeds)
    return figures


def seed_spread(master: Any, seeds: tuple[int, ...]) -> dict[str, Any]:
    """Hidden seen/unseen F1 and EER of the master re-run with other seeds (the recipe's run-to-run spread)."""
    runs = {}
    for seed in seeds:
        workdir, execution = master.rerun(seed)
        hidden = hidden_scores(master.module, Path(workdir) / "artifacts" / "a3", metrics=master.module)
        runs[str(seed)] = {name: {g: {k: fig[g][k] for k in ("f1", "eer")} for g in GROUPS}
                           for name, fig in hidden.items()}
        runs[str(seed)]["wall_seconds"] = execution["wall_seconds"]
    return runs

