'''Alternative correct answers for assignment 2: each must score full marks on the answer checks.

``ALTERNATIVES = [(alt_id, grade_id, replacement_cell_source), ...]`` (graded answers-only by
``tests/validity/test_validity.py``): other libraries, other loops, other architectures that
meet the specification of the master's docstrings.
'''
from __future__ import annotations

ALTERNATIVES = [
    ("normalize_char_loop", "a2_normalize_text", '''
def normalize_text(text):
    """Same rules, written with an explicit character loop and a second tokenising pass."""
    text = re.sub(r"<[^<>]*>", " ", text)
    mapping = {"\\u2014": "-", "\\u2013": "-", "\\u2018": "'", "\\u2019": "'", "`": "'", "\\u201c": '"', "\\u201d": '"'}
    out = []
    for ch in unicodedata.normalize("NFKD", "".join(mapping.get(c, c) for c in text)):
        if unicodedata.combining(ch):
            continue
        ch = ch.lower()
        out.append(ch if ch in ALPHABET else " ")
    tokens = re.findall(r"[a-z]+|'(?:s|t|re|ve|ll|d|m)(?![a-z])|\\d+(?:[.,]\\d+)*|[^\\sa-z0-9]", "".join(out))
    return " ".join(tokens)
'''),
    # (a StringLookup vocabulary was here: it breaks ties reverse-alphabetically, against the docstring; it is
    # now the mistake vocab_string_lookup_ties_reversed)
    ("word_vocab_numpy_unique", "a2_word_vocab", '''
def build_word_vocab(texts, max_words=MAX_WORDS):
    """np.unique sorts the words alphabetically; a stable sort by count keeps ties alphabetical."""
    tokens = [t for text in texts for t in text.split()]
    words, counts = np.unique(np.array(tokens, dtype=object).astype(str), return_counts=True) if tokens else ([], [])
    order = np.argsort(-np.asarray(counts), kind="stable")[:max_words]
    return [BOUNDARY, UNK] + [str(words[i]) for i in order]


def encode_words(text, vocab):
    lookup = {w: i for i, w in enumerate(vocab)}
    return np.array([lookup.get(t, lookup[UNK]) for t in text.split()], dtype=np.int32)


def decode_words(ids, vocab):
    return " ".join(map(vocab.__getitem__, np.asarray(ids).tolist()))
'''),
    ("windows_loop_and_plain_pipeline", "a2_windows", '''
def make_windows(ids, seq_len, step):
    ids = np.asarray(ids, dtype=np.int32)
    if len(ids) <= seq_len:
        raise ValueError(f"need at least {seq_len + 1} ids, got {len(ids)}")
    X, y = [], []
    start = 0
    while start + seq_len < len(ids):
        X.append(ids[start:start + seq_len])
        y.append(ids[start + 1:start + seq_len + 1])
        start += step
    return np.stack(X), np.stack(y)


def make_dataset(X, y, batch_size, seed=None):
    ds = tf.data.Dataset.from_tensor_slices((np.asarray(X, np.int32), np.asarray(y, np.int32)))
    if seed is not None:
        ds = ds.shuffle(buffer_size=len(X), seed=seed)
    return ds.batch(batch_size, drop_remainder=True)
'''),
    ("char_lm_two_layers", "a2_build_char_lm", '''
def build_char_lm(vocab_size):
    model = keras.Sequential([
        keras.Input(shape=(None,), dtype="int32"),
        layers.Embedding(vocab_size, 64),
        layers.LSTM(128, return_sequences=True),
        layers.LSTM(128, return_sequences=True),
        layers.Dense(vocab_size),
    ])
    return model
'''),
    # one-hot ids times the LSTM's input kernel is an embedding, written another way
    ("char_lm_one_hot_inputs", "a2_build_char_lm", '''
def build_char_lm(vocab_size):
    ids = keras.Input(shape=(None,), dtype="int32")
    x = keras.ops.one_hot(ids, vocab_size)
    x = layers.LSTM(128, return_sequences=True)(x)
    return keras.Model(ids, layers.Dense(vocab_size)(x))
'''),
    ("word_lm_one_hot_times_dense", "a2_build_word_lm", '''
def build_word_lm(vocab_size):
    ids = keras.Input(shape=(None,), dtype="int32")
    one_hot = keras.ops.one_hot(ids, vocab_size)
    x = layers.Dense(64, use_bias=False)(one_hot)      # one-hot times a matrix: an embedding
    x = layers.LSTM(64, return_sequences=True)(x)
    return keras.Model(ids, layers.Dense(vocab_size)(x))
'''),
    ("word_lm_dropout_no_bottleneck", "a2_build_word_lm", '''
def build_word_lm(vocab_size):
    ids = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(vocab_size, 64)(ids)
    x = layers.LSTM(128, return_sequences=True, dropout=0.1)(x)
    x = layers.Dropout(0.2)(x)
    return keras.Model(ids, layers.Dense(vocab_size)(x))
'''),
    ("sampling_inverse_cdf_eager_calls", "a2_sampling", '''
def sample_next(logits, temperature, rng):
    logits = np.asarray(logits, dtype=np.float64).ravel()
    if temperature <= 1e-6:
        return int(logits.argmax())
    z = logits / temperature
    p = np.exp(z - np.max(z))
    cdf = np.cumsum(p / p.sum())
    return int(min(np.searchsorted(cdf, rng.random(), side="right"), len(p) - 1))


def generate_text(model, vocab, seed_text, n_tokens, temperature, rng, level):
    if level == "char":
        encode, decode, width, sep = encode_chars, decode_chars, CHAR_SEQ_LEN, ""
    elif level == "word":
        encode, decode, width, sep = encode_words, decode_words, WORD_SEQ_LEN, " "
    else:
        raise ValueError(f"unknown level {level!r}")
    seed = normalize_text(seed_text)
    ids = [vocab.index(BOUNDARY), *encode(seed, vocab)]
    start = len(ids)
    for _ in range(n_tokens):
        window = tf.constant([ids[-width:]], dtype=tf.int32)
        logits = keras.ops.convert_to_numpy(model(window, training=False))
        ids.append(sample_next(logits[0, -1], temperature, rng))
    new = decode(ids[start:], vocab)
    return seed + new if level == "char" else sep.join(p for p in (seed, new) if p)
'''),
    ("scoring_one_sequence_at_a_time_with_keras_loss", "a2_scoring", '''
def token_bits(model, sequences, batch_size=32):
    out = []
    for seq in sequences:
        seq = np.asarray(seq, dtype=np.int32)
        logits = model(seq[None, :-1], training=False)
        nats = keras.losses.sparse_categorical_crossentropy(seq[None, 1:], logits, from_logits=True)
        out.append(keras.ops.convert_to_numpy(nats)[0].astype(np.float64) / np.log(2.0))
    return out


def _article_sequences(vocab, texts, encode):
    b = vocab.index(BOUNDARY)
    return [np.array([b, *encode(t, vocab), b]) for t in texts]


def bits_per_char(model, vocab, texts, level):
    if level == "char":
        bits = sum(b.sum() for b in token_bits(model, _article_sequences(vocab, texts, encode_chars)))
    elif level == "word":
        bits = sum(b.sum() for b in token_bits(model, _article_sequences(vocab, texts, encode_words)))
        vocab_set = set(vocab)
        for t in texts:
            bits += sum(spelling_bits(w, len(ALPHABET)) for w in t.split() if w not in vocab_set)
    else:
        raise ValueError(level)
    n_chars = sum(len(t) for t in texts) + len(texts)
    return float(bits / n_chars)


def word_perplexity(model, vocab, texts):
    bits = np.concatenate(token_bits(model, _article_sequences(vocab, texts, encode_words)))
    return float(np.power(2.0, np.mean(bits)))
'''),
]
