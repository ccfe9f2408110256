"""Assignment 2: scoring saved language models on the hidden articles, and the reference figures.

The run checks and the reference command share this module, so a threshold is always set from
the same measurement it is compared with.

* :func:`hidden_scores` -- bits per character of both saved models and the word model's
  perplexity on the 760 hidden AG News articles, computed with the **reference**
  implementation (``normalize_text``, ``bits_per_char``, ``word_perplexity`` of the master's
  answers module) from the submission's saved models and vocabularies. A student's own scoring
  code therefore cannot flatter their models.
* :func:`ngram_baseline` -- the Witten-Bell character 5-gram (``kit.text.CharNGram``) trained on
  the student split and scored the same way (informational).
* :func:`reference_figures` -- the figures of the executed master that ``make reference``
  writes to ``reference/a2_text_generation.json``::

      python -m authoring reference a2_text_generation [--executed DIR] [--out F] [--no-baseline]
                                                       [--spread-seeds N ...]

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
from typing import Any

from grader.api import load_saved_model
from grader.assignments import REFERENCE

__all__ = ["ASSIGNMENT", "MODELS", "REFERENCE_JSON", "REFERENCE_OPTIONS", "hidden_scores", "hidden_texts",
           "load_model", "load_vocab", "ngram_baseline", "reference_arguments", "reference_figures",
           "reference_options", "seed_spread"]

ASSIGNMENT = "a2_text_generation"
REFERENCE_JSON = REFERENCE / f"{ASSIGNMENT}.json"  # written by `make reference`
# the options of reference_figures that keep `make bench` to one execution of the master
REFERENCE_OPTIONS = {"baseline": False}
# saved model name -> (level, vocabulary file)
MODELS = {"char_lm": ("char", "char_vocab.json"), "word_lm": ("word", "word_vocab.json")}


def load_model(artifacts_dir: str | os.PathLike, name: str) -> Any:
    """Load ``artifacts_dir/<name>.keras`` for inference (see :func:`grader.api.load_saved_model`)."""
    return load_saved_model(artifacts_dir, name, MODELS)


def load_vocab(artifacts_dir: str | os.PathLike, name: str) -> list[str]:
    """Read the vocabulary saved beside model ``name`` (a JSON list of distinct strings).

    Raises
    ------
    FileNotFoundError
        If the file is missing.
    ValueError
        If it is not a JSON list of distinct strings holding the boundary ``"\\n"``.
    """
    path = Path(artifacts_dir) / MODELS[name][1]
    if not path.is_file():
        raise FileNotFoundError(f"{path.name} was not found in artifacts/a2; the last cell saves the vocabularies")
    vocab = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(vocab, list) or not all(isinstance(v, str) for v in vocab):
        raise ValueError(f"{path.name} must hold a JSON list of strings (index = id)")
    if len(set(vocab)) != len(vocab):
        raise ValueError(f"{path.name} holds the same token twice; every id must decode to one token")
    if "\n" not in vocab:
        raise ValueError(f"{path.name} lacks the article boundary '\\n'")
    return vocab


def hidden_texts(module: ModuleType) -> list[str]:
    """The 760 hidden articles (title + line break + description), normalised by ``module``."""
    import source_data as sd

    return [module.normalize_text(t) for t in sd.load_ag_news("hidden").texts()]


def hidden_scores(module: ModuleType, artifacts_dir: str | os.PathLike,
                  names: tuple[str, ...] = tuple(MODELS)) -> dict[str, Any]:
    """Bits per character (and the word model's perplexity) of saved models on the hidden articles.

    Parameters
    ----------
    module : module
        The answers module whose ``normalize_text``, ``bits_per_char`` and ``word_perplexity``
        are used: the **reference** (master) module in the checks and the reference figures.
    artifacts_dir : path-like
        ``artifacts/a2`` of an executed notebook (models and vocabularies).
    names : tuple of str
        Which models (default both).

    Returns
    -------
    dict
        ``{"bits_per_char": {name: float}, "word_perplexity": float (when "word_lm" is scored)}``.

    Raises
    ------
    FileNotFoundError
        A model or vocabulary file is missing.
    ValueError
        A model's output size differs from its vocabulary's, or the hidden text holds a character
        outside the character vocabulary (from the reference ``encode_chars``).
    """
    import numpy as np

    texts = hidden_texts(module)
    out: dict[str, Any] = {"bits_per_char": {}}
    for name in names:
        level = MODELS[name][0]
        model, vocab = load_model(artifacts_dir, name), load_vocab(artifacts_dir, name)
        width = model.predict_on_batch(np.zeros((1, 2), dtype=np.int32)).shape[-1]
        if width != len(vocab):
            raise ValueError(f"{name}.keras outputs {width} logits per step but {MODELS[name][1]} holds "
                             f"{len(vocab)} tokens; save the vocabulary the model was trained with")
        if level == "word" and "[UNK]" not in vocab:
            raise ValueError(f"{MODELS[name][1]} lacks the unknown-word token '[UNK]'")
        out["bits_per_char"][name] = float(module.bits_per_char(model, vocab, texts, level))
        if level == "word":
            out["word_perplexity"] = float(module.word_perplexity(model, vocab, texts))
    return out


def ngram_baseline(module: ModuleType, order: int = 5) -> dict[str, Any]:
    """Bits per character of a Witten-Bell character n-gram: trained on the student split, scored on the hidden one."""
    import source_data as sd

    from kit.text import CharNGram

    start = time.perf_counter()
    train = [module.normalize_text(t) for t in sd.load_ag_news("student").texts()]
    bpc = CharNGram(order).fit(train).bits_per_char(hidden_texts(module))
    return {"order": order, "hidden_bits_per_char": round(bpc, 4), "seconds": round(time.perf_counter() - start, 1)}


def reference_figures(master: Any, *, baseline: bool = True, spread_seeds: tuple[int, ...] = ()) -> dict[str, Any]:
    """Measure the reference figures of assignment 2.

    Parameters
    ----------
    master : authoring.reference.MasterRun
        The executed master: ``module`` (its answers module), ``executed`` (the folder it ran in,
        holding ``artifacts/a2``), ``execution`` (its wall time and CPU seconds when it ran now,
        else None), ``environment`` and ``rerun(seed)`` (execute it again with another seed).
    baseline : bool, keyword-only
        Also score the character 5-gram baseline (about 30 s).
    spread_seeds : tuple of int, keyword-only
        Also re-run the notebook with each of these seeds (about 4-5 minutes each) and record the
        hidden figures under ``"seed_spread"``.

    Returns
    -------
    dict
        JSON-ready: hidden bits per character and perplexity, the notebook's validation figures,
        novelty and distinct-n, per-part seconds (from its ``metrics.json``), environment.
    """
    module = master.module
    artifacts = Path(master.executed) / "artifacts" / "a2"
    metrics = json.loads((artifacts / "metrics.json").read_text())
    start = time.perf_counter()
    hidden = hidden_scores(module, artifacts)
    figures: dict[str, Any] = {
        "assignment": ASSIGNMENT,
        "hidden_bits_per_char": {k: round(v, 4) for k, v in hidden["bits_per_char"].items()},
        "hidden_word_perplexity": round(hidden["word_perplexity"], 2),
        "hidden_scoring_seconds": round(time.perf_counter() - start, 1),
        "validation_bits_per_char": {k: round(v, 4) for k, v in metrics["validation_bits_per_char"].items()},
        "validation_word_perplexity": round(metrics["validation_word_perplexity"], 2),
        "validation_unknown_token_share": round(metrics["validation_unknown_token_share"], 4),
        "generated": metrics["generated"],
        "real_text_distinct": metrics["real_text_distinct"],
        "train": metrics["train"],
        **master.run_figures(metrics),
    }
    if baseline:
        figures["char_5gram_baseline"] = ngram_baseline(module)
    if spread_seeds:
        figures["seed_spread"] = seed_spread(master, spread_seeds)
    return figures


def seed_spread(master: Any, seeds: tuple[int, ...]) -> dict[str, Any]:
    """Hidden figures of the master notebook re-run with other seeds (the run-to-run spread of the recipe).

    ``master`` is as in :func:`reference_figures` (its ``rerun(seed)`` executes the master again).
    """
    runs = {}
    for seed in seeds:
        workdir, execution = master.rerun(seed)
        hidden = hidden_scores(master.module, Path(workdir) / "artifacts" / "a2")
        runs[str(seed)] = {"hidden_bits_per_char": {k: round(v, 4) for k, v in hidden["bits_per_char"].items()},
                           "hidden_word_perplexity": round(hidden["word_perplexity"], 2),
                           "wall_seconds": execution["wall_seconds"]}
    return runs


def reference_arguments(group: Any) -> None:
    """This assignment's options of ``python -m authoring reference`` (an argparse argument group)."""
    group.add_argument("--no-baseline", action="store_true", help="skip the character 5-gram baseline")


def reference_options(args: Any) -> dict[str, Any]:
    """The keyword arguments of :func:`reference_figures` from the parsed command line."""
    return {"baseline": not args.no_baseline}
