"""Assignment 2, part 4: sample_next and generate_text."""
from __future__ import annotations

import numpy as np

from grader import onstudent
from grader.api import CheckFailed, check
from grader.boundary import on_student
from grader.checks.a2_text_generation import _support as s
from grader.probes import require_value_error

N_DRAWS = 6000
TOLERANCE = 0.04   # total variation distance; the sampling noise of 6,000 draws over 5 outcomes is about 0.015


def _draws(student, logits, temperature, seed):
    rng = np.random.default_rng(seed)
    out = [student.sample_next(logits, temperature, rng) for _ in range(N_DRAWS)]
    if not all(isinstance(k, (int, np.integer)) for k in out):
        raise CheckFailed("sample_next must return an int index")
    return np.bincount(np.asarray(out, dtype=np.int64), minlength=len(logits)) / N_DRAWS


@check(points=1, title="sample_next: argmax at temperature 0", cell="a2_sampling",
       message="sample_next(logits, temperature, rng) must return the argmax when the temperature is 0 "
               "or tiny (below 1e-6), without overflowing for large logits.")
def test_sample_next_argmax_at_zero_temperature(student, rng):
    for _ in range(20):
        logits = rng.normal(0, 3, rng.integers(2, 60))
        for temperature in (0.0, 1e-9, 1e-7):
            got = student.sample_next(logits, temperature, np.random.default_rng(0))
            if not isinstance(got, (int, np.integer)) or int(got) != int(np.argmax(logits)):
                raise CheckFailed(f"at temperature {temperature} expected the argmax")
    big = np.array([1000.0, 1003.0, 999.0, -1000.0])
    if int(student.sample_next(big, 1e-7, np.random.default_rng(0))) != 1:
        raise CheckFailed("for logits around 1000 at a tiny temperature expected the argmax: subtract the maximum")


@check(points=1, title="sample_next: a valid index at small temperatures", cell="a2_sampling",
       message="sample_next must work at small positive temperatures (1e-5 to 1e-3, above the argmax "
               "cut-off of 1e-6) and return a valid index, never NaN probabilities: divide the logits by the "
               "temperature and subtract their maximum before exp; p ** (1 / T) or exp(log(p) / T) "
               "underflow to 0 / 0.")
def test_sample_next_small_temperatures(student, rng):
    # the maximum logit is 0, so that no exp overflows: forgetting to subtract the maximum is another check's
    # mistake; which index comes out is the temperature checks' property, here only that one does
    for _ in range(10):
        logits = rng.normal(0, 1, rng.integers(3, 60))
        logits -= logits.max()
        for temperature in (1e-5, 1e-4, 1e-3):
            got = student.sample_next(logits, temperature, np.random.default_rng(0))
            if not isinstance(got, (int, np.integer)) or not 0 <= int(got) < len(logits):
                raise CheckFailed(f"at temperature {temperature} got {got!r}, not an index into the logits")


@check(points=2, title="sample_next: draws from softmax at temperature 1", cell="a2_sampling",
       message="sample_next at temperature 1 must draw from softmax(logits), using the rng it is given.")
def test_sample_next_matches_softmax(student, rng):
    logits = rng.normal(0, 1.0, 5)
    freq = _draws(student, logits, 1.0, 11)
    if 0.5 * np.abs(freq - s.softmax(logits)).sum() > TOLERANCE:
        raise CheckFailed("the frequencies of 6,000 draws are far from softmax(logits)")
    big = logits + 800.0
    if 0.5 * np.abs(_draws(student, big, 1.0, 12) - s.softmax(logits)).sum() > TOLERANCE:
        raise CheckFailed("adding 800 to every logit changed the distribution (overflow?)")


@check(points=2, title="sample_next: draws from softmax(logits / temperature)", cell="a2_sampling",
       message="sample_next must draw from softmax(logits / temperature): a low temperature sharpens "
               "the distribution, a high one flattens it.")
def test_sample_next_applies_temperature(student, rng):
    logits = rng.normal(0, 1.0, 5)
    for temperature in (0.5, 2.0):
        freq = _draws(student, logits, temperature, 13)
        if 0.5 * np.abs(freq - s.softmax(logits / temperature)).sum() > TOLERANCE:
            raise CheckFailed(f"at temperature {temperature} the frequencies are far from softmax(logits / T)")


@check(points=1, title="sample_next: randomness from the rng argument only", cell="a2_sampling",
       message="sample_next must take its randomness from the rng argument only (the same rng seed "
               "gives the same draws, whatever NumPy's global seed).")
def test_sample_next_uses_the_rng(student, rng):
    logits = rng.normal(0, 1.0, 8)
    np.random.seed(1)
    first = [int(student.sample_next(logits, 1.0, r)) for r in [np.random.default_rng(5)] for _ in range(40)]
    np.random.seed(2)
    second = [int(student.sample_next(logits, 1.0, r)) for r in [np.random.default_rng(5)] for _ in range(40)]
    if first != second:
        raise CheckFailed("two runs with the same rng seed gave different draws")


# ---- generate_text ----------------------------------------------------------------------------

def _char_setup(reference, rng):
    vocab = reference.build_char_vocab(s.random_articles(rng, 40))
    return vocab, s.fixed_lm(rng, len(vocab))


def _word_setup(reference, rng):
    vocab = reference.build_word_vocab(s.random_articles(rng, 40), max_words=20)
    return vocab, s.fixed_lm(rng, len(vocab))


@check(points=2, title="generate_text: char level, seed then n_tokens characters", cell="a2_sampling",
       message="generate_text(..., level='char') must return the normalised seed followed by exactly "
               "n_tokens characters of the vocabulary.", timeout=120)
def test_generate_text_char_length_and_vocabulary(student, reference, rng):
    vocab, model = _char_setup(reference, rng)
    for seed_text, n in [("Oil Prices", 30), ("", 25), ("The Red Sox win", 1)]:
        out = student.generate_text(model, vocab, seed_text, n, 1.0, np.random.default_rng(3), "char")
        seed = reference.normalize_text(seed_text)
        if not isinstance(out, str) or not out.startswith(seed) or len(out) != len(seed) + n:
            raise CheckFailed(f"for seed {seed_text!r} and {n} characters expected {len(seed) + n} characters "
                              f"starting with {seed!r}")
        if not set(out) <= set(vocab):
            raise CheckFailed("the text holds characters outside the vocabulary")


@check(points=2, title="generate_text: word level, seed then n_tokens words", cell="a2_sampling",
       message="generate_text(..., level='word') must return the normalised seed and exactly n_tokens "
               "words of the vocabulary, joined by single spaces.", timeout=120)
def test_generate_text_word_length_and_vocabulary(student, reference, rng):
    vocab, lstm = _word_setup(reference, rng)
    unk_lover = s.constant_lm(len(vocab), vocab.index(s.UNK), 5.0)      # generated [UNK]s count as words too
    for model, seed_text, n in [(lstm, "Oil prices", 12), (lstm, "", 9), (lstm, "Microsoft said zzzunknown", 4),
                                (unk_lover, "Oil prices", 10)]:
        out = student.generate_text(model, vocab, seed_text, n, 1.0, np.random.default_rng(4), "word")
        seed = reference.normalize_text(seed_text).split()
        tokens = out.split(" ") if isinstance(out, str) else None
        if tokens is None or tokens[:len(seed)] != seed or len(tokens) != len(seed) + n:
            raise CheckFailed(f"for a seed of {len(seed)} words and n_tokens={n} expected {len(seed) + n} tokens "
                              "separated by single spaces, starting with the normalised seed")
        if not set(tokens[len(seed):]) <= set(vocab):
            raise CheckFailed("a generated token is not in the vocabulary")


@check(points=1, title="generate_text: deterministic under a seeded rng", cell="a2_sampling",
       message="generate_text must be deterministic under a seeded rng (same seed, same text) and "
               "random across seeds at temperature 1.", timeout=120)
def test_generate_text_deterministic(student, reference, rng):
    vocab, model = _char_setup(reference, rng)
    runs = [student.generate_text(model, vocab, "oil", 40, 1.0, np.random.default_rng(k), "char") for k in (7, 7, 8)]
    if runs[0] != runs[1]:
        raise CheckFailed("the same rng seed gave two different texts")
    if runs[0] == runs[2]:
        raise CheckFailed("two rng seeds gave the same text at temperature 1: sample with the rng")


def _without_unk(model, vocab):
    """``model`` with UNK's logit lowered by 30: greedy generation never picks UNK (that is another check's)."""
    import keras

    ids = keras.Input(shape=(None,), dtype="int32")
    penalty = -30.0 * np.eye(len(vocab), dtype=np.float32)[vocab.index(s.UNK)]
    return keras.Model(ids, model(ids) + penalty)


@check(points=2, title="generate_text: greedy with a sliding context window", cell="a2_sampling",
       message="generate_text at temperature 0 must follow the model greedily: the model is fed the "
               "context BOUNDARY + encoded seed + the ids generated so far, cut to its last CHAR_SEQ_LEN "
               "(level 'char') or WORD_SEQ_LEN (level 'word') ids (context[-CHAR_SEQ_LEN:]: a window that "
               "slides, not one that stops or grows), and the next id comes from the logits of the last "
               "step.", timeout=180)
def test_generate_text_greedy_matches_reference(student, reference, rng):
    for level, setup, window in (("char", _char_setup, reference.CHAR_SEQ_LEN),
                                 ("word", _word_setup, reference.WORD_SEQ_LEN)):
        vocab, lstm = setup(reference, rng)
        first = s.first_token_lm(rng, len(vocab))
        if level == "word":
            lstm, first = _without_unk(lstm, vocab), _without_unk(first, vocab)
        cases = [(model, seed_text, 15) for model in (lstm, first) for seed_text in ("oil prices", "oil", "")]
        cases.append((first, "oil", window + 8))             # longer than the window: it must slide
        for model, seed_text, n in cases:
            got = student.generate_text(model, vocab, seed_text, n, 0.0, np.random.default_rng(0), level)
            want = reference.generate_text(model, vocab, seed_text, n, 0.0, np.random.default_rng(0), level)
            if got != want:
                raise CheckFailed(f"level {level!r}, seed {seed_text!r}, {n} tokens: expected {want!r}, got {got!r}")


@check(points=1, title="generate_text: samples [UNK] like any other token", cell="a2_sampling",
       message="generate_text must sample from the model's whole distribution, [UNK] included: a word "
               "model that gives [UNK] most of the probability must generate [UNK] about that often "
               "(do not drop, mask or re-draw any token).", timeout=120)
def test_generate_text_emits_unk(student, reference, rng):
    vocab = reference.build_word_vocab(s.random_articles(rng, 40), max_words=20)
    model = s.constant_lm(len(vocab), vocab.index(s.UNK), 5.0)     # p(UNK) = e^5 / (e^5 + 21), about 0.88
    out = on_student(student, onstudent.generate_with_plain_word_helpers, student, model, vocab, "oil prices", 40,
                     1.0, np.random.default_rng(5), "word")
    tokens = out.split(" ")[2:] if isinstance(out, str) else []
    share = tokens.count(s.UNK) / max(len(tokens), 1)
    if len(tokens) != 40 or share < 0.6:
        raise CheckFailed(f"[UNK] was {share:.0%} of the {len(tokens)} generated words; the model gives it about 88 %")


@check(points=1, title="generate_text: ValueError for an unknown level", cell="a2_sampling",
       message="generate_text must raise a ValueError for a level other than 'char' or 'word'.")
def test_generate_text_rejects_unknown_level(student, reference, rng):
    vocab, model = _char_setup(reference, rng)
    require_value_error({"level='sentence'": lambda: student.generate_text(model, vocab, "oil", 3, 1.0,
                                                                           np.random.default_rng(0), "sentence")})
