"""Assignment 1: scoring saved models on the hidden clips, and the reference figures.

The run checks and ``make reference`` share this module, so a threshold is always set
from the same measurement it is compared with.

* :func:`hidden_scores` -- micro-F1 of every saved model on the 300 hidden clips (takes
  0-4), through the submission's own ``predict_digits`` (wav files to digits, so the
  features are computed exactly as the student trained on them), scored with scikit-learn.
* :func:`speaker_heldout` -- leave-one-speaker-out accuracy of a model family retrained on
  five speakers of the student split (informational: unseen voices are much harder).
* :func:`reference_figures` -- the figures of the executed master that ``make reference``
  writes to ``reference/a1_spoken_digits.json``::

      python -m authoring reference a1_spoken_digits [--executed DIR] [--out F] [--no-speakers]

  :data:`REFERENCE_OPTIONS` are the options ``make bench`` measures the master with;
  :func:`reference_arguments` / :func:`reference_options` are this assignment's own options of
  that command line.
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

__all__ = ["ASSIGNMENT", "MODEL_KINDS", "REFERENCE_JSON", "REFERENCE_OPTIONS", "hidden_scores", "load_model",
           "reference_arguments", "reference_figures", "reference_options", "speaker_heldout"]

ASSIGNMENT = "a1_spoken_digits"
REFERENCE_JSON = REFERENCE / f"{ASSIGNMENT}.json"  # written by `make reference`
# the options of reference_figures that keep `make bench` to one execution of the master
REFERENCE_OPTIONS = {"speakers": False}
# saved model name -> the ``kind`` argument of predict_digits
MODEL_KINDS = {"raw_lstm": "raw", "raw_lstm_aug": "raw", "spectrogram_lstm": "spectrogram",
               "spectrogram_lstm_aug": "spectrogram", "cnn": "cnn"}


def load_model(artifacts_dir: str | os.PathLike, name: str, student: Any = None) -> Any:
    """Load ``artifacts_dir/<name>.keras`` for inference (see :func:`grader.api.load_saved_model`).

    With ``student`` (the ``student`` fixture) it is loaded where the student's code runs
    (:func:`grader.boundary.load_student_model`): their own layer classes, never in the checks.
    """
    if student is not None:
        from grader.boundary import load_student_model

        return load_student_model(student, artifacts_dir, name, MODEL_KINDS)
    return load_saved_model(artifacts_dir, name, MODEL_KINDS)


def hidden_scores(module: ModuleType, artifacts_dir: str | os.PathLike,
                  names: Iterable[str] | None = None) -> dict[str, float]:
    """Micro-F1 of saved models on the hidden split, through the module's ``predict_digits``.

    Parameters
    ----------
    module : module
        An answers module (student or reference) defining ``predict_digits(model, kind, paths)``.
    artifacts_dir : path-like
        Folder holding ``<name>.keras`` files (``artifacts/a1`` of an executed notebook).
    names : iterable of str, optional
        Which models (default: all of :data:`MODEL_KINDS`).

    Returns
    -------
    dict
        ``{name: micro-F1}`` on the 300 hidden clips (scikit-learn's ``f1_score``, micro).

    Raises
    ------
    FileNotFoundError
        If a model file is missing. Errors of the module's own code propagate.
    """
    import source_data as sd
    from sklearn.metrics import f1_score

    hidden = sd.load_spoken_digits("hidden")
    scores = {}
    for name in (list(MODEL_KINDS) if names is None else list(names)):
        model = load_model(artifacts_dir, name, module)
        predicted = np.asarray(module.predict_digits(model, MODEL_KINDS[name], staged(module, hidden.paths, disguise=True))).reshape(-1)
        if predicted.shape != hidden.digits.shape:
            raise ValueError(f"predict_digits returned {predicted.shape[0]} predictions for "
                             f"{len(hidden.paths)} paths; expected one digit per path")
        scores[name] = float(f1_score(hidden.digits, predicted, average="micro"))
    return scores


def speaker_heldout(module: ModuleType, *, epochs: int = 15, seed: int = 0) -> dict[str, Any]:
    """Leave-one-speaker-out accuracy of the log-mel LSTM (student split, informational).

    For each of the six speakers: seed, build ``module.build_spectrogram_lstm``, train it on the
    other five speakers' clips (no augmentation, Adam 1e-3, batch 32) and score the held-out
    speaker's clips with ``module.predict_digits``.

    Parameters
    ----------
    module : module
        An answers module (normally the reference).
    epochs : int, keyword-only
        Epochs per fold.
    seed : int, keyword-only
        Seed of every fold.

    Returns
    -------
    dict
        ``{"model", "epochs", "per_speaker": {speaker: micro-F1}, "mean", "seconds"}``.
    """
    import keras
    import source_data as sd
    from sklearn.metrics import f1_score

    import kit

    start = time.perf_counter()
    per_speaker = {}
    for speaker, train, test in sd.speaker_folds("student"):
        kit.seed_everything(seed)
        padded, mask = module.pad_and_mask(module.load_audio(train.paths), module.MAX_LEN)
        log_mel, spec_mask = module.log_mel_spectrogram(padded), module.spectrogram_mask(mask)
        model = module.build_spectrogram_lstm(log_mel.shape[1], log_mel.shape[2])
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
        model.fit([log_mel, spec_mask], train.digits, epochs=epochs, batch_size=32, verbose=0)
        predicted = module.predict_digits(model, "spectrogram", test.paths)
        per_speaker[speaker] = float(f1_score(test.digits, predicted, average="micro"))
    return {"model": "spectrogram_lstm", "epochs": epochs, "per_speaker": per_speaker,
            "mean": float(np.mean(list(per_speaker.values()))),
            "seconds": round(time.perf_counter() - start, 1)}


def reference_figures(master: Any, *, speakers: bool = True) -> dict[str, Any]:
    """Measure the reference figures of assignment 1.

    Parameters
    ----------
    master : authoring.reference.MasterRun
        The executed master: ``module`` (its answers module), ``executed`` (the folder it ran in,
        holding ``artifacts/a1``), ``execution`` (its wall time and CPU seconds when it ran now,
        else None) and ``environment``.
    speakers : bool, keyword-only
        Also run :func:`speaker_heldout` (about 2 minutes on 2 cores).

    Returns
    -------
    dict
        JSON-ready figures: hidden micro-F1 per model, the notebook's validation figures and
        per-part seconds (from its ``metrics.json``), speaker-held-out accuracy, environment.
    """
    module = master.module
    artifacts = Path(master.executed) / "artifacts" / "a1"
    metrics = json.loads((artifacts / "metrics.json").read_text())
    figures: dict[str, Any] = {
        "assignment": ASSIGNMENT,
        "hidden_micro_f1": {k: round(v, 4) for k, v in hidden_scores(module, artifacts).items()},
        "validation_micro_f1": {k: round(v, 4) for k, v in metrics["validation_micro_f1"].items()},
        **master.run_figures(metrics),
    }
    if speakers:
        figures["speaker_heldout"] = speaker_heldout(module)
    return figures


def reference_arguments(group: Any) -> None:
    """This assignment's options of ``python -m authoring reference`` (an argparse argument group)."""
    group.add_argument("--no-speakers", action="store_true", help="skip the leave-one-speaker-out run")


def reference_options(args: Any) -> dict[str, Any]:
    """The keyword arguments of :func:`reference_figures` from the parsed command line."""
    return {"speakers": not args.no_speakers}
