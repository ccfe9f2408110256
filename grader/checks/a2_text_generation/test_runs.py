"""Assignment 2, parts 4-6: the executed notebook's models, samples and TensorBoard logs.

Hidden-split thresholds
-----------------------
A saved model passes when its figure on the 760 hidden articles, computed by the grader's own
evaluation (:func:`evaluate.hidden_scores`: the reference ``normalize_text`` and ``bits_per_char``
/ ``word_perplexity`` applied to the submission's saved model and vocabulary), is at most

    bits per character:  ceil_to_0.01(reference + BPC_MARGIN)
    word perplexity:     ceil(reference * (1 + PPL_MARGIN))

with the figures of ``reference/a2_text_generation.json``. The margins are about three times the
run-to-run spread of the same recipe under another seed (that file's ``seed_spread``: seeds 0 and 1
gave 2.020 / 1.996 bits per character for the character model, 2.035 / 2.040 for the word model and
perplexities 212.7 / 221.5), leaving room for reasonable variations of the architecture. Without
the file there is no fallback: the run checks that need a threshold fail with a check error
(:class:`ReferenceFiguresMissing`, CHECK ERROR in the instructor's log). With the committed figures
the thresholds are 2.10 (character model) and 2.13 (word model) bits per character and a perplexity
of 250; ``tests/validity/test_run_checks.py`` proves that these are the thresholds in effect in the
sandboxed check process and in the messages. (The issue's targets, 1.9 bits per character and
perplexity 250, were set before the CPU budget was measured; the reference reaches the second.)
"""
from __future__ import annotations

import json
import math

import numpy as np

from grader import probes
from grader.api import CheckFailed, ReferenceThresholds, check
from grader.checks.a2_text_generation import evaluate

BPC_MARGIN = 0.08
PPL_MARGIN = 0.15
# the notebook's TRAIN[model]["epochs"] (a locked cell: the grader restores it from the master); a test of the
# kit (tests/validity/test_run_checks.py) fails when the two differ
EPOCHS = {"char_lm": 5, "word_lm": 3}


def thresholds_from(reference: dict) -> dict[str, float]:
    """The thresholds from a reference file's figures (rounded before the ceiling against float noise)."""
    figures = {**reference["hidden_bits_per_char"], "word_perplexity": reference["hidden_word_perplexity"]}
    return {"char_lm": math.ceil(round((figures["char_lm"] + BPC_MARGIN) * 100, 6)) / 100,
            "word_lm": math.ceil(round((figures["word_lm"] + BPC_MARGIN) * 100, 6)) / 100,
            "word_perplexity": float(math.ceil(round(figures["word_perplexity"] * (1 + PPL_MARGIN), 6)))}


threshold = ReferenceThresholds(evaluate.REFERENCE_JSON, thresholds_from)
THRESHOLDS = threshold.values  # None when unreadable: every run check then ends in a check error


def _shown(name: str, fmt: str) -> str:
    return "the documented threshold (the grader could not read it: a grader error)" if THRESHOLDS is None \
        else format(THRESHOLDS[name], fmt)


def _scores(reference, artifacts, name):
    try:
        return evaluate.hidden_scores(reference, artifacts, (name,))
    except (FileNotFoundError, ValueError) as exc:
        raise CheckFailed(str(exc)) from None


@check(points=4, title="Character model: hidden-set bits per character", cell="a2_train_char_lm",
       message=f"The saved character model (artifacts/a2/char_lm.keras with char_vocab.json) must reach "
               f"at most {_shown('char_lm', '.2f')} bits per character on the grader's unseen articles.",
       run=True, timeout=240)
def test_char_lm_hidden_bits_per_char(reference, artifacts):
    needed = threshold("char_lm")
    bpc = _scores(reference, artifacts, "char_lm")["bits_per_char"]["char_lm"]
    if not bpc <= needed:
        raise CheckFailed(f"got {bpc:.3f} bits per character, above {needed:.2f}")


@check(points=2, title="Word model: hidden-set bits per character", cell="a2_train_word_lm",
       message=f"The saved word model (artifacts/a2/word_lm.keras with word_vocab.json) must reach at "
               f"most {_shown('word_lm', '.2f')} bits per character (unknown words spelled out) on the "
               "grader's unseen articles.", run=True, timeout=240)
def test_word_lm_hidden_bits_per_char(reference, artifacts):
    needed = threshold("word_lm")
    bpc = _scores(reference, artifacts, "word_lm")["bits_per_char"]["word_lm"]
    if not bpc <= needed:
        raise CheckFailed(f"got {bpc:.3f} bits per character, above {needed:.2f}")


@check(points=2, title="Word model: hidden-set perplexity", cell="a2_train_word_lm",
       message=f"The saved word model must reach a perplexity of at most "
               f"{_shown('word_perplexity', '.0f')} on the grader's unseen articles.", run=True, timeout=240)
def test_word_lm_hidden_perplexity(reference, artifacts):
    needed = threshold("word_perplexity")
    ppl = _scores(reference, artifacts, "word_lm")["word_perplexity"]
    if not ppl <= needed:
        raise CheckFailed(f"got a perplexity of {ppl:.1f}, above {needed:.0f}")


@check(points=2, title="samples.json: five articles per model and temperature", cell="a2_generate",
       message="artifacts/a2/samples.json must hold, for char_lm and word_lm, five generated articles at "
               "temperatures 0.5 and 1.0 ({'samples': {model: {'0.5': [...], '1.0': [...]}}}), made of "
               "the model's vocabulary.", run=True)
def test_samples_file(artifacts):
    path = artifacts / "samples.json"
    if not path.is_file():
        raise CheckFailed("samples.json was not found in artifacts/a2")
    try:
        samples = json.loads(path.read_text(encoding="utf-8"))["samples"]
    except (ValueError, KeyError, TypeError):
        raise CheckFailed("samples.json is not JSON with a 'samples' key") from None
    for name in evaluate.MODELS:
        vocab = set(evaluate.load_vocab(artifacts, name))
        for t in ("0.5", "1.0"):
            articles = (samples.get(name) or {}).get(t) if isinstance(samples, dict) else None
            if not isinstance(articles, list) or len(articles) != 5 or not all(
                    isinstance(a, str) and a.strip() for a in articles):
                raise CheckFailed(f"samples[{name!r}][{t!r}] must be a list of 5 non-empty strings")
            if name == "char_lm" and not set("".join(articles)) <= vocab:
                raise CheckFailed(f"a {name} sample holds characters outside char_vocab.json")
            if name == "word_lm":
                words = [w for a in articles for w in a.split()]
                if np.mean([w in vocab for w in words]) < 0.8:
                    raise CheckFailed(f"most {name} sample words must come from word_vocab.json")


@check(points=1, title="TensorBoard loss of every epoch for both models", cell="a2_train_char_lm",
       message="TensorBoard logs must hold the training and validation loss of every epoch for both "
               "models (runs/a2/char_lm/ and runs/a2/word_lm/) of a complete training run: one finite "
               "value for each of the epochs the notebook configures (TRAIN[model]['epochs']), and the "
               "model saved after it (artifacts/a2/<model>.keras).", run=True)
def test_tensorboard_scalars(runs, artifacts):
    for name in evaluate.MODELS:
        probes.require_complete_run(runs, artifacts, name, EPOCHS[name])
