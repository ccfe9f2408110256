"""Tests of kit.text: n-gram measures, the article stream, the spelling cost and the n-gram baseline."""
from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

import kit.text as ktext
from kit.text import CharNGram, distinct_n, join_articles, ngram_set, ngrams, novelty, spelling_bits


def test_docstring_examples_hold():
    assert doctest.testmod(ktext, optionflags=doctest.ELLIPSIS).failed == 0


# --- ngrams / ngram_set -------------------------------------------------------------------------

def test_ngrams_are_contiguous_and_in_order():
    assert ngrams(["a", "b", "c", "d"], 2) == [("a", "b"), ("b", "c"), ("c", "d")]
    assert ngrams(["a", "b", "c"], 3) == [("a", "b", "c")]


def test_ngrams_of_a_short_sequence_are_empty():
    assert ngrams(["a", "b"], 3) == []


@pytest.mark.parametrize("n", [0, -1, 1.5])
def test_ngrams_reject_a_bad_order(n):
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        ngrams(["a"], n)


def test_ngram_set_does_not_cross_texts():
    found = ngram_set(["a b", "c d"], 2)
    assert found == {("a", "b"), ("c", "d")}   # ("b", "c") spans two texts


def test_ngram_set_rejects_a_single_string():
    with pytest.raises(TypeError, match="wrap it"):
        ngram_set("a b c", 2)


def test_line_breaks_separate_tokens():
    assert ngram_set(["a b\nc"], 3) == {("a", "b", "c")}


# --- novelty ------------------------------------------------------------------------------------

def test_novelty_counts_the_share_of_unseen_ngrams():
    training = ngram_set(["the cat sat on the mat"], 2)
    # generated bigrams: (the, cat) seen, (cat, ran) new, (ran, on) new, (on, the) seen
    assert novelty(["the cat ran on the"], training, 2) == pytest.approx(2 / 4)


def test_novelty_counts_repeated_ngrams_each_time():
    assert novelty(["x y x y"], {("x", "y")}, 2) == pytest.approx(1 / 3)


def test_novelty_is_zero_for_copied_text_and_one_for_new_text():
    training = ngram_set(["a b c d e"], 4)
    assert novelty(["a b c d e"], training, 4) == 0.0
    assert novelty(["e d c b a"], training, 4) == 1.0


def test_novelty_without_any_ngram_raises():
    with pytest.raises(ValueError, match="shorter than 4 tokens"):
        novelty(["a b", "c"], set(), 4)


# --- distinct-n ---------------------------------------------------------------------------------

def test_distinct_n_pools_ngrams_over_samples():
    # unigrams: a b a | a c -> 5 tokens, 3 distinct
    assert distinct_n(["a b a", "a c"], 1) == pytest.approx(3 / 5)
    # bigrams: (a b) (b a) | (a c) -> 3 distinct of 3
    assert distinct_n(["a b a", "a c"], 2) == 1.0


def test_distinct_n_of_a_loop_is_low():
    assert distinct_n(["a b " * 50], 2) == pytest.approx(2 / 99)


def test_distinct_n_without_ngrams_raises():
    with pytest.raises(ValueError, match="at least 3 tokens"):
        distinct_n(["a b"], 3)


# --- join_articles ------------------------------------------------------------------------------

def test_join_articles_puts_a_boundary_before_each_and_after_the_last():
    stream = join_articles([np.array([4, 5]), np.array([], dtype=np.int64), np.array([6])], boundary_id=1)
    assert stream.dtype == np.int32
    assert stream.tolist() == [1, 4, 5, 1, 1, 6, 1]


def test_join_articles_rejects_2d_articles():
    with pytest.raises(ValueError, match="article 0 has shape"):
        join_articles([np.zeros((2, 2))], 0)


# --- spelling_bits ------------------------------------------------------------------------------

def test_spelling_bits_charge_each_letter_and_the_end():
    assert spelling_bits("abc", 50) == pytest.approx(4 * math.log2(50))
    assert spelling_bits("x", 2) == pytest.approx(2.0)


def test_spelling_bits_sum_to_one_over_all_words():
    # a valid code: sum over every word of 2 ** -bits equals 1 in the limit (per letter count)
    # over alphabet {a, <end>} (size 2): words a, aa, aaa, ... get 1/4, 1/8, ... -> sum 1/2 (the empty word 1/2)
    total = sum(2.0 ** -spelling_bits("a" * k, 2) for k in range(1, 60))
    assert total == pytest.approx(0.5)


@pytest.mark.parametrize("word", ["", "a b", "a\n"])
def test_spelling_bits_reject_empty_or_spaced_words(word):
    with pytest.raises(ValueError, match="non-empty token without whitespace"):
        spelling_bits(word, 50)


def test_spelling_bits_reject_a_tiny_alphabet():
    with pytest.raises(ValueError, match="alphabet_size must be an integer >= 2"):
        spelling_bits("a", 1)


# --- CharNGram ----------------------------------------------------------------------------------

def test_unigram_model_matches_counts_with_witten_bell_smoothing():
    model = CharNGram(1).fit(["aab"])
    # padded stream "\n" + "aab" + "\n": targets a, a, b, \n -> counts a:2, b:1, \n:1 (types 3, total 4);
    # alphabet {\n, a, b}: p(a) = (2 + 3 * 1/3) / (4 + 3) = 3/7
    assert model.prob("", "a") == pytest.approx(3 / 7)
    assert sum(model.prob("", c) for c in "\nab") == pytest.approx(1.0)


def test_bigram_probabilities_sum_to_one_in_every_context():
    model = CharNGram(3).fit(["abracadabra", "cadabra bra"])
    alphabet = sorted(set("abracadabra cadabra bra\n"))
    for context in ["ab", "ra", "zz", "\n\n", " b"]:
        assert sum(model.prob(context, c) for c in alphabet) == pytest.approx(1.0)


def test_a_periodic_text_costs_few_bits_and_random_text_many():
    periodic = CharNGram(3).fit(["abc" * 200])
    assert periodic.bits_per_char(["abc" * 50]) < 0.1
    rng = np.random.default_rng(0)
    letters = np.array(list("abcdefgh"))
    noise = ["".join(rng.choice(letters, 3000))]
    model = CharNGram(3).fit(noise)
    held_out = ["".join(rng.choice(letters, 2000))]
    assert model.bits_per_char(held_out) == pytest.approx(3.0, abs=0.15)   # log2(8) for uniform letters


def test_ngram_model_must_be_fitted_first():
    with pytest.raises(RuntimeError, match="call fit"):
        CharNGram(2).prob("a", "b")


@pytest.mark.parametrize("order", [0, 2.5])
def test_ngram_order_must_be_a_positive_int(order):
    with pytest.raises(ValueError, match="order must be an integer >= 1"):
        CharNGram(order)
