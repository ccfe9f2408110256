"""Realistic mistakes in assignment 2's answer cells, and the hidden checks that must catch them.

``MISTAKES = [(mistake_id, grade_id, replacement_cell_source, expected_failing_check_names), ...]``
(graded answers-only by ``tests/validity/test_validity.py``). Each replacement is the master's
answer cell with one edit (``_edit``), so a mistake stays one mistake when the master changes;
an edit whose text is no longer in the master fails loudly at import.

Expected checks are test function names (a parametrised check by its full name, e.g.
``test_lm_logits_and_causal[build_char_lm]``). Where one mistake rightly costs more than one
check (e.g. bits in nats feed every figure built on them), every check it breaks is listed.

Not expressible as an answer cell, so not here: validating on the training text, or letting the
hidden rows into training (the split and the training calls are in locked cells).
"""
from __future__ import annotations

from authoring.cases import master_editor

_edit = master_editor("a2_text_generation")

CHAR, WORD = "[build_char_lm]", "[build_word_lm]"

# the demo class's dev-mistake student (``python -m authoring demo``): the first of these that MISTAKES holds
DEMO_MISTAKES = ("temperature_ignored",)

MISTAKES = [
    # ---- part 1: normalize_text
    ("markup_kept", "a2_normalize_text",
     _edit("a2_normalize_text", ('    text = re.sub(r"<[^<>]*>", " ", text)\n', "")),
     ["test_normalize_removes_markup", "test_normalize_real_articles"]),
    ("accents_not_stripped", "a2_normalize_text",
     _edit("a2_normalize_text", ('    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))\n', "")),
     ["test_normalize_typography_and_accents"]),
    ("clitics_kept_in_words", "a2_normalize_text",
     _edit("a2_normalize_text", ("[a-z]+|'(?:s|t|re|ve|ll|d|m)(?![a-z])|", "[a-z]+(?:'[a-z]+)*|")),
     ["test_normalize_tokens", "test_normalize_real_articles"]),
    ("punctuation_glued_to_words", "a2_normalize_text",
     _edit("a2_normalize_text", (r'''return " ".join(re.findall(r"[a-z]+|'(?:s|t|re|ve|ll|d|m)(?![a-z])|\d+(?:[.,]\d+)*|[^\sa-z0-9]", text))''',
                                 'return " ".join(text.split())')),
     ["test_normalize_removes_markup", "test_normalize_typography_and_accents", "test_normalize_tokens",
      "test_normalize_real_articles"]),
    # ---- part 2: character vocabulary, windows, pipeline, model
    ("char_vocab_not_sorted", "a2_char_vocab",
     _edit("a2_char_vocab", ('return sorted(set("".join(texts)) | {BOUNDARY})', 'return list(set("".join(texts)) | {BOUNDARY})')),
     ["test_char_vocab_sorted_and_complete"]),
    ("char_vocab_without_boundary", "a2_char_vocab",
     _edit("a2_char_vocab", ('return sorted(set("".join(texts)) | {BOUNDARY})', 'return sorted(set("".join(texts)))')),
     ["test_char_vocab_sorted_and_complete"]),
    ("encode_skips_unknown_characters", "a2_char_vocab",
     _edit("a2_char_vocab", ("return np.array([index[c] for c in text], dtype=np.int32)",
                             "return np.array([index[c] for c in text if c in index], dtype=np.int32)")),
     ["test_char_encode_rejects_unknown"]),
    ("windows_not_shifted", "a2_windows",
     _edit("a2_windows", ("y = ids[starts[:, None] + offsets + 1]", "y = ids[starts[:, None] + offsets]")),
     ["test_windows_targets_shifted_by_one"]),
    ("one_window_too_few", "a2_windows",
     _edit("a2_windows", ("starts = np.arange((len(ids) - seq_len - 1) // step + 1) * step",
                          "starts = np.arange((len(ids) - seq_len - 1) // step) * step")),
     ["test_windows_counts"]),
    ("same_order_every_epoch", "a2_windows",
     _edit("a2_windows", ("reshuffle_each_iteration=True", "reshuffle_each_iteration=False")),
     ["test_dataset_batches_and_shuffling"]),
    ("numpy_shuffle_once", "a2_windows",
     _edit("a2_windows", ("    ds = tf.data.Dataset.from_tensor_slices((X, y))\n    if seed is not None:\n        ds = ds.shuffle(len(X), seed=seed, reshuffle_each_iteration=True)\n",
                          "    if seed is not None:\n        order = np.random.default_rng(seed).permutation(len(X))\n        X, y = X[order], y[order]\n    ds = tf.data.Dataset.from_tensor_slices((X, y))\n")),
     ["test_dataset_batches_and_shuffling"]),
    ("last_batch_kept", "a2_windows",
     _edit("a2_windows", ("ds.batch(batch_size, drop_remainder=True)", "ds.batch(batch_size)")),
     ["test_dataset_batches_and_shuffling"]),
    ("softmax_output", "a2_build_char_lm",
     _edit("a2_build_char_lm", ('layers.Dense(vocab_size, name="logits")', 'layers.Dense(vocab_size, activation="softmax", name="logits")')),
     ["test_lm_logits_and_causal" + CHAR]),
    ("ids_fed_as_numbers", "a2_build_char_lm",
     _edit("a2_build_char_lm", ('x = layers.Embedding(vocab_size, 32, name="embedding")(ids)',
                                'x = keras.ops.expand_dims(keras.ops.cast(ids, "float32") / vocab_size, -1)')),
     ["test_lm_logits_shapes" + CHAR]),
    ("bidirectional_lstm", "a2_build_word_lm",
     _edit("a2_build_word_lm", ('x = layers.LSTM(256, return_sequences=True, name="lstm")(x)',
                                'x = layers.Bidirectional(layers.LSTM(128, return_sequences=True), name="lstm")(x)')),
     ["test_lm_logits_and_causal" + WORD]),
    # ---- part 3: word vocabulary
    ("word_vocab_alphabetical", "a2_word_vocab",
     _edit("a2_word_vocab", ("ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))",
                             "ranked = sorted(counts.items())")),
     ["test_word_vocab_most_frequent_first"]),
    ("word_vocab_without_unk", "a2_word_vocab",
     _edit("a2_word_vocab", ("return [BOUNDARY, UNK] + [word for word, _ in ranked[:max_words]]",
                             "return [BOUNDARY] + [word for word, _ in ranked[:max_words]]")),
     ["test_word_vocab_most_frequent_first", "test_word_vocab_sizes"]),
    ("unk_assumed_at_index_1", "a2_word_vocab",
     _edit("a2_word_vocab", ("unk = index[UNK]", "unk = 1")),
     ["test_word_round_trip"]),
    ("decode_drops_unknowns", "a2_word_vocab",
     _edit("a2_word_vocab", ('return " ".join(vocab[int(i)] for i in ids)',
                             'return " ".join(vocab[int(i)] for i in ids if vocab[int(i)] != UNK)')),
     ["test_word_round_trip", "test_generate_text_word_length_and_vocabulary"]),
    ("vocab_ties_in_first_seen_order", "a2_word_vocab",
     _edit("a2_word_vocab", ("ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))",
                             "ranked = counts.most_common()   # ties in the order the words first appear")),
     ["test_word_vocab_ties_alphabetical"]),
    ("vocab_string_lookup_ties_reversed", "a2_word_vocab", '''
def build_word_vocab(texts, max_words=MAX_WORDS):
    """Keras StringLookup counts and ranks the tokens; its OOV token is our UNK (ties: reverse alphabetical)."""
    tokens = [t for text in texts for t in text.split()]
    lookup = layers.StringLookup(max_tokens=max_words + 1, oov_token=UNK)
    lookup.adapt(tf.constant(tokens if tokens else [UNK]))
    return [BOUNDARY] + [str(w) for w in lookup.get_vocabulary()]


def encode_words(text, vocab):
    lookup = {w: i for i, w in enumerate(vocab)}
    return np.array([lookup.get(t, lookup[UNK]) for t in text.split()], dtype=np.int32)


def decode_words(ids, vocab):
    return " ".join(map(vocab.__getitem__, np.asarray(ids).tolist()))
''', ["test_word_vocab_ties_alphabetical"]),
    # ---- part 4: sampling
    ("temperature_ignored", "a2_sampling",
     _edit("a2_sampling", ("scaled = logits / temperature", "scaled = logits")),
     ["test_sample_next_applies_temperature"]),
    ("temperature_multiplies", "a2_sampling",
     _edit("a2_sampling", ("scaled = logits / temperature", "scaled = logits * temperature")),
     ["test_sample_next_applies_temperature"]),
    ("no_max_subtraction", "a2_sampling",
     _edit("a2_sampling", ("probs = np.exp(scaled - scaled.max())", "probs = np.exp(scaled)")),
     ["test_sample_next_matches_softmax"]),
    ("global_numpy_random", "a2_sampling",
     _edit("a2_sampling", ("return int(rng.choice(len(probs), p=probs / probs.sum()))",
                           "return int(np.random.choice(len(probs), p=probs / probs.sum()))")),
     ["test_sample_next_uses_the_rng", "test_generate_text_deterministic"]),
    ("temperature_as_a_power_of_probabilities", "a2_sampling",
     _edit("a2_sampling", ("    scaled = logits / temperature\n    probs = np.exp(scaled - scaled.max())\n",
                           "    probs = np.exp(logits - logits.max())\n"
                           "    probs = (probs / probs.sum()) ** (1.0 / temperature)   # sharpen p by the power 1/T\n")),
     ["test_sample_next_small_temperatures"]),   # p ** (1 / 1e-4) underflows to 0 / 0 = NaN
    ("generator_never_writes_unk", "a2_sampling",
     _edit("a2_sampling", ("        token = sample_next(logits, temperature, rng)\n",
                           "        if level == \"word\":\n"
                           "            logits = np.array(logits, dtype=np.float64)\n"
                           "            logits[vocab.index(UNK)] = -np.inf   # never write [UNK]\n"
                           "        token = sample_next(logits, temperature, rng)\n")),
     ["test_generate_text_emits_unk"]),
    ("context_window_stops_moving", "a2_sampling",
     _edit("a2_sampling", ("x = np.array([context[-context_len:]], dtype=np.int32)",
                           "x = np.array([context[:context_len]], dtype=np.int32)")),
     ["test_generate_text_greedy_matches_reference"]),
    ("context_never_cut", "a2_sampling",
     _edit("a2_sampling", ("x = np.array([context[-context_len:]], dtype=np.int32)", "x = np.array([context], dtype=np.int32)")),
     ["test_generate_text_greedy_matches_reference"]),
    ("logits_of_the_first_step", "a2_sampling",
     _edit("a2_sampling", ("logits = model.predict_on_batch(x)[0, -1]", "logits = model.predict_on_batch(x)[0, 0]")),
     ["test_generate_text_greedy_matches_reference"]),
    ("context_without_boundary", "a2_sampling",
     _edit("a2_sampling", ("context = [vocab.index(BOUNDARY)] + encode(seed, vocab).tolist()",
                           "context = encode(seed, vocab).tolist() or [vocab.index(BOUNDARY)]")),
     ["test_generate_text_greedy_matches_reference"]),
    # ---- part 5: scoring
    ("bits_in_nats", "a2_scoring",
     _edit("a2_scoring", ("bits[i] = -log_probs[row, np.arange(len(targets)), targets] / math.log(2)",
                          "bits[i] = -log_probs[row, np.arange(len(targets)), targets]")),
     ["test_token_bits_matches_reference", "test_bits_per_char_char_level", "test_bits_per_char_word_level",
      "test_word_perplexity_matches_reference"]),
    ("perplexity_in_the_wrong_base", "a2_scoring",
     _edit("a2_scoring", ("return float(2.0 ** bits.mean())", "return float(np.exp(bits.mean()))")),
     ["test_word_perplexity_matches_reference"]),
    ("end_of_article_not_scored", "a2_scoring",
     _edit("a2_scoring", ("sequences = [np.concatenate([[boundary], encode(t, vocab), [boundary]]) for t in texts]",
                          "sequences = [np.concatenate([[boundary], encode(t, vocab)]) for t in texts]")),
     ["test_bits_per_char_char_level", "test_bits_per_char_word_level"]),
    ("unknown_words_free", "a2_scoring",
     _edit("a2_scoring", ("total += sum(spelling_bits(w, len(ALPHABET)) for t in texts for w in t.split() if w not in known)",
                          "pass")),
     ["test_bits_per_char_word_level"]),
    ("unknown_level_scored_as_words", "a2_scoring",
     _edit("a2_scoring", ('    if level not in ("char", "word"):\n        raise ValueError(f"level must be \'char\' or \'word\', got {level!r}")\n    encode = encode_chars', "    encode = encode_chars")),
     ["test_bits_per_char_rejects_unknown_level"]),
    ("divided_by_tokens_not_characters", "a2_scoring",
     _edit("a2_scoring", ("return total / sum(len(t) + 1 for t in texts)",
                          "return total / sum(len(encode(t, vocab)) + 1 for t in texts)")),
     ["test_bits_per_char_word_level"]),
]
