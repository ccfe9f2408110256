"""Assignment 2, parts 1-3: normalize_text, the character vocabulary and the word vocabulary."""
from __future__ import annotations

from collections import Counter

import numpy as np

from grader.api import CheckFailed, check
from grader.boundary import class_name
from grader.checks.a2_text_generation import _support as s
from grader.probes import require_value_error

_MARKUP = ["<b>", "</b>", "<p>", "</A>", '<A HREF="http://www.investor.reuters.com/FullQuote.aspx?ticker=MSFT.O">',
           "<TXN.N>", "<BRCM.O>", "<br />", '<font size=-1 color=#6f6f6f>', "</FONT>"]
_WORDS = ["Oil", "Prices", "RISE", "Reuters", "U.S.", "Inc.", "$2.6", "4,400", "3.5%", "(AP)", "--", "e-mail"]
_PIECES = _WORDS + ["firm's", "don't", "'quoted'", "—", "–", "“Up”", "‘Yes’", "`it`", "AT&T", "#1", "a/b", "?!",
                    ";:", "\n", "  ", "\t", "x_y", "*", "=", "Ω", "😀", "they're", "we've", "it'll", "I'd", "I'm",
                    "'sad'", "rock'n'roll", "1,000.50", ".5", "5."]


def _raw_texts(rng: np.random.Generator, n: int, pool: list[str], *, glue: bool = True) -> list[str]:
    """Random texts of pieces of ``pool``, glued together or separated by a space (always, without ``glue``)."""
    gaps = ["", " "] if glue else [" "]
    return ["".join(rng.choice(gaps) + p for p in rng.choice(pool, rng.integers(1, 14))) for _ in range(n)]


def _compare_normalisation(student, reference, texts: list[str]) -> None:
    for text in texts:
        got, want = student.normalize_text(text), reference.normalize_text(text)
        if not isinstance(got, str):
            raise CheckFailed(f"normalize_text returned {class_name(got)}, not str")
        if got != want:
            raise CheckFailed(f"for {text!r} expected {want!r}, got {got!r}")


@check(points=1, title="normalize_text: markup replaced by spaces", cell="a2_normalize_text",
       message="normalize_text must replace every <...> (HTML tags, links, tickers) by a space "
               "and keep the text between tags.")
def test_normalize_removes_markup(student, reference, rng):
    _compare_normalisation(student, reference, _raw_texts(rng, 40, _MARKUP + _WORDS))


@check(points=1, title="normalize_text: dashes, quotes and accents", cell="a2_normalize_text",
       message="normalize_text must map dashes, curly quotes and backticks to - ' \" and strip "
               "accents (NFKD, combining marks dropped).")
def test_normalize_typography_and_accents(student, reference, rng):
    _compare_normalisation(student, reference,
                           _raw_texts(rng, 40, ["—", "–", "“Up”", "‘Yes’", "`it`", "café", "Zürich", "naïve",
                                                "Oil", "down"], glue=False))


@check(points=1, title="normalize_text: lower case, ALPHABET characters only", cell="a2_normalize_text",
       message="normalize_text must lower-case the text and turn every character outside ALPHABET "
               "(line breaks included) into a space.")
def test_normalize_case_and_character_set(student, reference, rng):
    texts = _raw_texts(rng, 40, ["AT&T", "#", "x_y", "*", "=", "Ω", "😀", "\n", "\t", "OIL", "Prices", "Ab"])
    _compare_normalisation(student, reference, texts)
    allowed = set(reference.ALPHABET)
    for text in texts:
        if not set(student.normalize_text(text)) <= allowed:
            raise CheckFailed("the result holds characters outside ALPHABET")


@check(points=1, title="normalize_text: tokens joined by single spaces", cell="a2_normalize_text",
       message="normalize_text must split into tokens (letter runs, the clitics 's 't 're 've 'll 'd 'm, "
               "numbers like 2.6 or 4,400, single punctuation marks) joined by single spaces.")
def test_normalize_tokens(student, reference, rng):
    texts = _raw_texts(rng, 60, _PIECES)
    _compare_normalisation(student, reference, texts)
    for text in texts:
        out = student.normalize_text(text)
        if out != " ".join(out.split()):
            raise CheckFailed("the result must have single spaces between tokens and none at either end")


@check(points=1, title="normalize_text: real articles, idempotent", cell="a2_normalize_text",
       message="normalize_text must give the reference normalisation on real news articles "
               "(title and description separated by a line break) and be idempotent.")
def test_normalize_real_articles(student, reference, rng):
    import source_data as sd

    news = sd.load_ag_news("hidden")
    texts = [news.texts()[i] for i in rng.choice(len(news), 150, replace=False)]
    for text in texts:
        got = student.normalize_text(text)
        if got != reference.normalize_text(text):
            raise CheckFailed("an article was normalised differently from the rules")
        if student.normalize_text(got) != got:
            raise CheckFailed("normalising a normalised text changed it")


# ---- character vocabulary ---------------------------------------------------------------------

@check(points=1, title="build_char_vocab: every character once, sorted", cell="a2_char_vocab",
       message="build_char_vocab(texts) must return the distinct characters of the texts plus the "
               "boundary '\\n', each once, sorted by code point.")
def test_char_vocab_sorted_and_complete(student, rng):
    texts = ["".join(rng.choice(list("abcdefgh ,.'$0123"), rng.integers(0, 40))) for _ in range(30)]
    vocab = student.build_char_vocab(texts)
    if not isinstance(vocab, list):
        raise CheckFailed(f"expected a list, got {class_name(vocab)}")
    if vocab != sorted(set("".join(texts)) | {s.BOUNDARY}):
        raise CheckFailed(f"got {vocab!r}")


@check(points=1, title="encode_chars and decode_chars: round trip", cell="a2_char_vocab",
       message="encode_chars must map a text to int32 indices into the vocabulary and decode_chars "
               "must map them back to the same text.")
def test_char_round_trip(student, reference, rng):
    texts = s.random_articles(rng, 25)
    vocab = reference.build_char_vocab(texts)
    for text in texts + ["", "\n"]:
        ids = student.encode_chars(text, vocab)
        if not isinstance(ids, np.ndarray) or ids.dtype != np.int32 or ids.shape != (len(text),):
            raise CheckFailed(f"expected an int32 array of shape ({len(text)},)")
        if [vocab[i] for i in ids] != list(text):
            raise CheckFailed("an index does not point at its character in the vocabulary")
        if student.decode_chars(ids, vocab) != text:
            raise CheckFailed("decode_chars(encode_chars(text)) differs from text")
    shuffled = list(rng.permutation(vocab))
    if student.decode_chars(student.encode_chars(texts[0], shuffled), shuffled) != texts[0]:
        raise CheckFailed("the round trip must work with any vocabulary order (use the vocabulary given)")


@check(points=1, title="encode_chars: ValueError for an unknown character", cell="a2_char_vocab",
       message="encode_chars must raise a ValueError for a character that is not in the vocabulary.")
def test_char_encode_rejects_unknown(student):
    require_value_error({"'z', not in the vocabulary": lambda: student.encode_chars("abz", ["\n", " ", "a", "b"])})


# ---- word vocabulary --------------------------------------------------------------------------

def _zipf_corpus(rng: np.random.Generator, n_words: int, n_articles: int) -> tuple[list[str], Counter]:
    words = [f"w{i}x" for i in range(n_words)]
    p = 1.0 / np.arange(1, n_words + 1)
    texts = [" ".join(rng.choice(words, rng.integers(5, 40), p=p / p.sum())) for _ in range(n_articles)]
    return texts, Counter(t for text in texts for t in text.split())


@check(points=2, title="build_word_vocab: specials and most frequent words first", cell="a2_word_vocab",
       message="build_word_vocab(texts, max_words) must return [BOUNDARY, UNK] (in any place) and the "
               "max_words most frequent tokens, most frequent first.")
def test_word_vocab_most_frequent_first(student, rng):
    texts, counts = _zipf_corpus(rng, 400, 300)
    ranked = sorted(counts.values(), reverse=True)
    cut = next(k for k in range(40, 200) if ranked[k - 1] > ranked[k])   # a cut-off without ties
    vocab = student.build_word_vocab(texts, max_words=cut)
    if not isinstance(vocab, list) or len(vocab) != cut + 2:
        raise CheckFailed(f"expected a list of {cut + 2} tokens (2 special + {cut} words)")
    if s.BOUNDARY not in vocab or s.UNK not in vocab:
        raise CheckFailed("BOUNDARY ('\\n') and UNK ('[UNK]') must both be in the vocabulary")
    words = [w for w in vocab if w not in (s.BOUNDARY, s.UNK)]
    if len(set(words)) != len(words):
        raise CheckFailed("a word appears twice")
    if set(words) != {w for w, c in counts.items() if c >= ranked[cut - 1]}:
        raise CheckFailed("the words are not the most frequent ones")
    if any(counts[a] < counts[b] for a, b in zip(words, words[1:])):
        raise CheckFailed("the words are not sorted by decreasing frequency")


@check(points=1, title="build_word_vocab: ties broken alphabetically", cell="a2_word_vocab",
       message="build_word_vocab must break frequency ties alphabetically (as its docstring says), "
               "also at the max_words cut-off: sorted by (-count, word), whatever order the words first "
               "appear in.")
def test_word_vocab_ties_alphabetical(student, rng):
    words = [f"{a}{b}" for a in "qzbmxa" for b in "kfy"]          # 18 words, first appearances not alphabetical
    counts = dict(zip(words, rng.integers(1, 4, len(words))))    # counts 1-3: many ties
    tokens = rng.permutation([w for w in words for _ in range(counts[w])]).tolist()
    texts = [" ".join(tokens[i::5]) for i in range(5)]
    for max_words in (len(words), 7):
        vocab = student.build_word_vocab(texts, max_words=max_words)
        got = [w for w in vocab if w not in (s.BOUNDARY, s.UNK)]
        # within each count: alphabetical, and (at the cut-off) the alphabetically first ones kept; which counts
        # are kept and their order is test_word_vocab_most_frequent_first's property
        for count in sorted(set(counts.values())):
            kept = [w for w in got if counts.get(w) == count]
            tied = sorted(w for w in words if counts[w] == count)
            if kept != tied[:len(kept)]:
                raise CheckFailed(f"with max_words={max_words}, the words seen {count} time(s) came as {kept}; "
                                  f"ties must be alphabetical: {tied[:len(kept)]}")


@check(points=1, title="build_word_vocab: default size, all words of a small corpus", cell="a2_word_vocab",
       message="build_word_vocab must keep 10,000 words by default (max_words=MAX_WORDS) and all of "
               "them when there are fewer.")
def test_word_vocab_sizes(student, rng):
    texts = [" ".join(f"t{i}q" for i in range(j, 10_030, 7)) for j in range(7)] + ["t5q t5q t9q"]
    vocab = student.build_word_vocab(texts)
    if len(vocab) != 10_002:
        raise CheckFailed(f"with 10,030 distinct words and the default max_words expected 10,002 tokens, got {len(vocab)}")
    if len(student.build_word_vocab(["a b c a"], max_words=50)) != 5:
        raise CheckFailed("with 3 distinct words expected 5 tokens (2 special + 3)")


@check(points=1, title="encode_words and decode_words: round trip, UNK for unknowns", cell="a2_word_vocab",
       message="encode_words must map known tokens to their index and unknown ones to UNK's, as int32; "
               "decode_words must join the tokens with single spaces, [UNK] included.")
def test_word_round_trip(student, reference, rng):
    texts = s.random_articles(rng, 30)
    vocab = reference.build_word_vocab(texts[:20], max_words=15)
    vocab = [vocab[1], vocab[0]] + vocab[2:][::-1]          # other positions for the specials: use the vocabulary given
    index = {w: i for i, w in enumerate(vocab)}
    for text in texts:
        ids = student.encode_words(text, vocab)
        tokens = text.split()
        if not isinstance(ids, np.ndarray) or ids.dtype != np.int32 or ids.shape != (len(tokens),):
            raise CheckFailed(f"expected an int32 array of one id per token, shape ({len(tokens)},)")
        expected = [index.get(t, index[s.UNK]) for t in tokens]
        if ids.tolist() != expected:
            raise CheckFailed("an id does not match the token's index (unknown tokens: UNK's index)")
        decoded = student.decode_words(ids, vocab)
        if decoded != " ".join(vocab[i] for i in expected):
            raise CheckFailed("decode_words must give every token, unknown ones as [UNK], joined by single spaces")
