"""Inputs shared by the assignment 2 checks: random normalised texts and small fixed language models.

Nothing here comes from the hidden split; every input is drawn from the check's seeded ``rng``
so that all students get the same inputs.
"""
from __future__ import annotations

import numpy as np

WORDS = ("oil", "prices", "rise", "the", "red", "sox", "win", "'s", "2.6", "$", ",", ".", "(", ")", "ap",
         "reuters", "-", "microsoft", "said", "on", "tuesday", "new", "york", "iraq", "shares", "of", "fell")
BOUNDARY, UNK = "\n", "[UNK]"


def random_articles(rng: np.random.Generator, n: int, words: tuple[str, ...] = WORDS,
                    lengths: tuple[int, int] = (3, 30)) -> list[str]:
    """``n`` normalised articles: tokens drawn from ``words`` joined by single spaces."""
    return [" ".join(rng.choice(words, rng.integers(*lengths))) for _ in range(n)]


def fixed_lm(rng: np.random.Generator, vocab_size: int, *, units: int = 8, scale: float = 1.0):
    """A small Embedding -> LSTM -> Dense language model with weights drawn from ``rng``.

    Parameters
    ----------
    rng : np.random.Generator
    vocab_size : int
    units : int, keyword-only
    scale : float, keyword-only
        Standard deviation of the weights (larger: more peaked next-token distributions).

    Returns
    -------
    keras.Model
        ids int32 (batch, time) -> logits (batch, time, vocab_size); the same weights for the same rng state.
    """
    import keras

    ids = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.Embedding(vocab_size, 6)(ids)
    x = keras.layers.LSTM(units, return_sequences=True)(x)
    model = keras.Model(ids, keras.layers.Dense(vocab_size)(x))
    model.set_weights([rng.normal(0.0, scale, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def first_token_lm(rng: np.random.Generator, vocab_size: int):
    """A (non-causal) model whose logits at every step depend on the window's first and current ids.

    Greedy generation with it reveals what a ``generate_text`` puts at the start of its context.
    """
    import keras

    ids = keras.Input(shape=(None,), dtype="int32")
    embedding = keras.layers.Embedding(vocab_size, vocab_size)
    x = embedding(ids)
    model = keras.Model(ids, x + 3.0 * x[:, :1, :])
    embedding.set_weights([rng.normal(0.0, 1.0, (vocab_size, vocab_size)).astype(np.float32)])
    return model


def constant_lm(vocab_size: int, favourite: int, margin: float):
    """A model whose logits at every step are ``margin`` for id ``favourite`` and 0 for the others."""
    import keras

    ids = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.Embedding(vocab_size, 1, embeddings_initializer="zeros")(ids)
    bias = keras.initializers.Constant(margin * np.eye(vocab_size, dtype=np.float32)[favourite])
    return keras.Model(ids, keras.layers.Dense(vocab_size, kernel_initializer="zeros", bias_initializer=bias)(x))


def logits_of(model, ids: np.ndarray) -> np.ndarray:
    """Logits of a model for an int batch ``(batch, time)`` as a NumPy array."""
    import keras

    return keras.ops.convert_to_numpy(model(np.asarray(ids, dtype=np.int32), training=False))


def softmax(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max())
    return e / e.sum()
