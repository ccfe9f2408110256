"""Assignment 2, part 5: token_bits, bits_per_char and word_perplexity against the reference, on fixed tiny models."""
from __future__ import annotations

import math

import numpy as np

from grader.api import CheckFailed, check
from grader.checks.a2_text_generation import _support as s
from grader.probes import require_value_error


def _close(got, want, what: str, rtol: float = 1e-4) -> None:
    if not isinstance(got, (float, np.floating)) or not math.isfinite(got):
        raise CheckFailed(f"{what} must be a finite float, got {got!r}")
    if abs(got - want) > rtol * abs(want):
        raise CheckFailed(f"{what}: expected {want:.5f}, got {got:.5f}")


@check(points=2, title="token_bits: bits of every next token", cell="a2_scoring",
       message="token_bits(model, sequences) must return, for each sequence, the bits "
               "-log2 p(next id) of every next token under the model (len - 1 values, any batch "
               "composition, sequences of different lengths).", timeout=120)
def test_token_bits_matches_reference(student, reference, rng):
    model = s.fixed_lm(rng, 23, scale=1.5)
    sequences = [rng.integers(0, 23, n) for n in (2, 9, 40, 3, 17, 40, 5)]
    for batch_size in (3, 32):
        got = student.token_bits(model, sequences, batch_size=batch_size)
        want = reference.token_bits(model, sequences)
        if len(got) != len(sequences):
            raise CheckFailed(f"expected one array per sequence ({len(sequences)}), got {len(got)}")
        for g, w in zip(got, want):
            g = np.asarray(g, dtype=np.float64)
            if g.shape != w.shape or not np.allclose(g, w, rtol=1e-4, atol=1e-4):
                raise CheckFailed("the bits of a sequence differ from -log2 of the model's next-token probabilities")


@check(points=3, title="bits_per_char: character level", cell="a2_scoring",
       message="bits_per_char(model, vocab, texts, 'char') must score each article from BOUNDARY, "
               "predict every character and the final BOUNDARY, and divide the bits by "
               "sum(len(text) + 1).", timeout=120)
def test_bits_per_char_char_level(student, reference, rng):
    texts = s.random_articles(rng, 12, lengths=(1, 12))
    vocab = reference.build_char_vocab(texts)
    model = s.fixed_lm(rng, len(vocab), scale=1.5)
    _close(student.bits_per_char(model, vocab, texts, "char"), reference.bits_per_char(model, vocab, texts, "char"),
           "bits per character")


@check(points=3, title="bits_per_char: word level, unknown words spelled out", cell="a2_scoring",
       message="bits_per_char(model, vocab, texts, 'word') must add the bits of every token and of the "
               "final BOUNDARY to the spelling cost of each unknown word, spelling_bits(word, "
               "len(ALPHABET)), and divide by sum(len(text) + 1).", timeout=120)
def test_bits_per_char_word_level(student, reference, rng):
    texts = s.random_articles(rng, 12, lengths=(1, 15))
    vocab = reference.build_word_vocab(texts[:6], max_words=12)       # some words stay unknown
    model = s.fixed_lm(rng, len(vocab), scale=1.5)
    _close(student.bits_per_char(model, vocab, texts, "word"), reference.bits_per_char(model, vocab, texts, "word"),
           "bits per character of the word model")


@check(points=1, title="bits_per_char: ValueError for an unknown level", cell="a2_scoring",
       message="bits_per_char must raise a ValueError for a level other than 'char' or 'word' (a misspelt "
               "level must not be scored silently as one of them).", timeout=120)
def test_bits_per_char_rejects_unknown_level(student, reference, rng):
    texts = s.random_articles(rng, 3, lengths=(1, 6))
    vocab = reference.build_char_vocab(texts)
    model = s.fixed_lm(rng, len(vocab), scale=1.5)
    require_value_error({f"level={level!r}": lambda level=level: student.bits_per_char(model, vocab, texts, level)
                         for level in ("chars", "words", "Char")})


@check(points=2, title="word_perplexity: 2 ** mean bits per token", cell="a2_scoring",
       message="word_perplexity must be 2 ** (mean bits per predicted token), over every token and the "
               "end of each article (UNK counts as a token).", timeout=120)
def test_word_perplexity_matches_reference(student, reference, rng):
    texts = s.random_articles(rng, 10, lengths=(1, 15))
    vocab = reference.build_word_vocab(texts[:5], max_words=10)
    model = s.fixed_lm(rng, len(vocab), scale=1.5)
    _close(student.word_perplexity(model, vocab, texts), reference.word_perplexity(model, vocab, texts),
           "perplexity")
