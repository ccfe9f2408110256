"""Text helpers shared by the text-generation notebook (assignment 2) and its grader.

Everything here is *provided* (not graded): measures of generated text, the article
stream of a corpus, the spelling cost charged for unknown words, and a count-based
character n-gram baseline. The graded parts (normalisation, vocabularies, models,
sampling, bits per character) are written by the students in the notebook.

Conventions (the notebook's normalised text): an article is one string of tokens
separated by single spaces; articles are separated by a *boundary* symbol (``"\\n"``)
that marks both the start and the end of every article.

Examples
--------
>>> distinct_n(["a b a b"], 2)
0.6666666666666666
>>> novelty(["a b c d e"], ngram_set(["x a b c d y"], 4), 4)
0.5
>>> join_articles([np.array([5, 6]), np.array([7])], boundary_id=0).tolist()
[0, 5, 6, 0, 7, 0]
"""
from __future__ import annotations

import collections
import math
from typing import Iterable, Sequence

import numpy as np

__all__ = ["CharNGram", "distinct_n", "join_articles", "ngram_set", "ngrams", "novelty", "spelling_bits",
           "tokens_of"]


def tokens_of(text: str) -> list[str]:
    """Split a text into the word tokens that the n-gram measures count.

    Parameters
    ----------
    text : str
        Normalised text (tokens separated by whitespace; article boundaries ``"\\n"``
        count as whitespace).

    Returns
    -------
    list of str
        ``text.split()``.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}; pass one generated article")
    return text.split()


def ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    """All contiguous n-grams of a token sequence, in order.

    Parameters
    ----------
    tokens : sequence of str [shape=(m,)]
        The tokens.
    n : int
        N-gram order, ``n >= 1``.

    Returns
    -------
    list of tuple of str [shape=(max(m - n + 1, 0),)]
        ``[tuple(tokens[i:i + n]) for i in range(m - n + 1)]``.

    Raises
    ------
    ValueError
        If ``n < 1``.
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}; e.g. n=4 for 4-grams")
    tokens = list(tokens)
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def ngram_set(texts: Iterable[str], n: int) -> set[tuple[str, ...]]:
    """The set of word n-grams occurring in some texts (n-grams never cross two texts).

    Parameters
    ----------
    texts : iterable of str
        Normalised texts, e.g. the training articles.
    n : int
        N-gram order.

    Returns
    -------
    set of tuple of str
    """
    if isinstance(texts, str):
        raise TypeError("texts must be a list of texts, got one str; wrap it: ngram_set([text], n)")
    found: set[tuple[str, ...]] = set()
    for text in texts:
        found.update(ngrams(tokens_of(text), n))
    return found


def novelty(samples: Iterable[str], training: set[tuple[str, ...]], n: int = 4) -> float:
    """Share of the generated word n-grams that never occur in the training text.

    Parameters
    ----------
    samples : iterable of str
        Generated texts.
    training : set of tuple of str
        ``ngram_set(training_texts, n)``.
    n : int
        N-gram order (default 4).

    Returns
    -------
    float
        In [0, 1]; 0 means every generated n-gram was copied from the training text.
        Counts occurrences (a repeated novel n-gram counts each time).

    Raises
    ------
    ValueError
        If the samples hold no n-gram at all (texts shorter than ``n`` tokens).
    """
    if isinstance(samples, str):
        raise TypeError("samples must be a list of texts, got one str; wrap it: novelty([text], ...)")
    grams = [g for text in samples for g in ngrams(tokens_of(text), n)]
    if not grams:
        raise ValueError(f"the samples hold no {n}-gram (every sample is shorter than {n} tokens); "
                         "generate longer samples")
    return sum(g not in training for g in grams) / len(grams)


def distinct_n(samples: Iterable[str], n: int) -> float:
    """Distinct-n: the number of distinct word n-grams divided by the number of n-grams.

    Parameters
    ----------
    samples : iterable of str
        Generated texts; n-grams are pooled over all of them (Li et al., 2016).
    n : int
        N-gram order.

    Returns
    -------
    float
        In (0, 1]; low values mean repetitive text.

    Raises
    ------
    ValueError
        If the samples hold no n-gram.
    """
    if isinstance(samples, str):
        raise TypeError("samples must be a list of texts, got one str; wrap it: distinct_n([text], n)")
    grams = [g for text in samples for g in ngrams(tokens_of(text), n)]
    if not grams:
        raise ValueError(f"the samples hold no {n}-gram; generate samples of at least {n} tokens")
    return len(set(grams)) / len(grams)


def join_articles(articles: Sequence[np.ndarray], boundary_id: int) -> np.ndarray:
    """Concatenate encoded articles into one stream, each article preceded and the last followed by the boundary.

    Parameters
    ----------
    articles : sequence of np.ndarray [shape=(m_i,), dtype=int]
        Token ids of each article (without boundary).
    boundary_id : int
        Id of the boundary symbol in the vocabulary.

    Returns
    -------
    np.ndarray [shape=(sum(m_i) + len(articles) + 1,), dtype=int32]
        ``[b, a_0..., b, a_1..., b, ..., b]``.

    Raises
    ------
    ValueError
        If an article is not one-dimensional.
    """
    parts = [np.array([boundary_id], dtype=np.int32)]
    for i, ids in enumerate(articles):
        ids = np.asarray(ids)
        if ids.ndim != 1:
            raise ValueError(f"article {i} has shape {ids.shape}; encode each article to a 1-D id array")
        parts += [ids.astype(np.int32), parts[0]]
    return np.concatenate(parts)


def spelling_bits(word: str, alphabet_size: int) -> float:
    """Bits charged for spelling out a word the word vocabulary does not know.

    The stated rule of the assignment: after the word model has paid for the unknown-word
    token, the word itself is spelled character by character under a uniform distribution
    over the normalised alphabet, in which the space is replaced by an end-of-word mark
    (so the code stays a valid, prefix-free probability model)::

        bits = (len(word) + 1) * log2(alphabet_size)

    Parameters
    ----------
    word : str
        The unknown word (non-empty, no whitespace).
    alphabet_size : int
        Number of symbols of the normalised alphabet (the space counts once: it becomes
        the end-of-word mark).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``word`` is empty or holds whitespace, or ``alphabet_size < 2``.
    """
    if not isinstance(word, str) or not word or any(c.isspace() for c in word):
        raise ValueError(f"word must be a non-empty token without whitespace, got {word!r}")
    if not isinstance(alphabet_size, (int, np.integer)) or alphabet_size < 2:
        raise ValueError(f"alphabet_size must be an integer >= 2, got {alphabet_size!r}; pass len(ALPHABET)")
    return (len(word) + 1) * math.log2(int(alphabet_size))


class CharNGram:
    """Interpolated Witten-Bell character n-gram model: the count-based baseline.

    Parameters
    ----------
    order : int
        N-gram order (5: each character is predicted from the 4 before it).

    Notes
    -----
    Each article is scored from a context of boundary symbols and ends with one boundary,
    the same convention as the notebook's ``bits_per_char`` (characters counted:
    ``len(text) + 1`` per article). Probabilities interpolate every order down to a
    uniform distribution over the training characters (Witten-Bell: the weight of the
    lower order is the number of distinct continuations of a context).

    Examples
    --------
    >>> model = CharNGram(2).fit(["ab ab ab"])
    >>> round(model.bits_per_char(["ab ab ab"]), 3)
    0.686
    """

    BOUNDARY = "\n"

    def __init__(self, order: int = 5):
        if not isinstance(order, (int, np.integer)) or order < 1:
            raise ValueError(f"order must be an integer >= 1, got {order!r}; e.g. CharNGram(5)")
        self.order = int(order)
        self._counts: list[collections.Counter] = []
        self._totals: list[collections.Counter] = []
        self._types: list[collections.Counter] = []
        self._alphabet: set[str] = set()

    def _padded(self, text: str) -> str:
        return self.BOUNDARY * self.order + text + self.BOUNDARY

    def fit(self, texts: Sequence[str]) -> "CharNGram":
        """Count the n-grams of ``texts`` (a list of normalised articles); returns self."""
        if isinstance(texts, str):
            raise TypeError("texts must be a list of articles, got one str; wrap it: fit([text])")
        n = self.order
        self._counts = [collections.Counter() for _ in range(n)]
        self._totals = [collections.Counter() for _ in range(n)]
        self._types = [collections.Counter() for _ in range(n)]
        for text in texts:
            s = self._padded(text)
            self._alphabet.update(s)
            for i in range(n, len(s)):
                for k in range(n):
                    key = (s[i - k:i], s[i])
                    self._counts[k][key] += 1
            # totals and types follow from the counts
        for k in range(n):
            for (ctx, _), c in self._counts[k].items():
                self._totals[k][ctx] += c
                self._types[k][ctx] += 1
        return self

    def prob(self, context: str, char: str) -> float:
        """P(char | the last ``order - 1`` characters of context)."""
        if not self._counts:
            raise RuntimeError("the model is not fitted; call fit(train_texts) first")
        p = 1.0 / max(len(self._alphabet), 1)
        for k in range(self.order):
            ctx = context[len(context) - k:] if k else ""
            total = self._totals[k][ctx]
            if total:
                types = self._types[k][ctx]
                p = (self._counts[k][(ctx, char)] + types * p) / (total + types)
        return p

    def bits_per_char(self, texts: Sequence[str]) -> float:
        """Average bits per character of ``texts`` (each article's end boundary included)."""
        if isinstance(texts, str):
            raise TypeError("texts must be a list of articles, got one str; wrap it: bits_per_char([text])")
        bits, chars = 0.0, 0
        for text in texts:
            s = self._padded(text)
            for i in range(self.order, len(s)):
                bits -= math.log2(self.prob(s[i - self.order + 1:i], s[i]))
            chars += len(text) + 1
        if not chars:
            raise ValueError("texts is empty; pass at least one article")
        return bits / chars
