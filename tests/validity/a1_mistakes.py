"""Realistic mistakes in assignment 1's answer cells, and the hidden checks that must catch them.

``MISTAKES = [(mistake_id, grade_id, replacement_cell_source, expected_failing_check_names), ...]``
(graded answers-only by ``tests/validity/test_validity.py``). Each replacement is the master's
answer cell with one edit (``_edit``), so a mistake stays one mistake when the master changes;
an edit whose text is no longer in the master fails loudly at import.

Expected checks are test function names (a parametrised check by its full name, e.g.
``test_masked_model_honours_the_mask[build_raw_lstm]``). A mistake that also changes what the
models are fed from the wav files is charged by the check of that function only: the pipeline
check (PIPELINE) runs predict_digits with the reference's helpers, so it charges mistakes of
predict_digits itself (one mistake, one charge; the run checks still score the saved models
through the student's own pipeline).

Not expressible as an answer cell, so not here: augmenting the validation clips (the split
and the call of ``augment_dataset`` are in locked cells).
"""
from __future__ import annotations

from authoring.cases import master_editor

_edit = master_editor("a1_spoken_digits")

RAW, SPEC = "[build_raw_lstm]", "[build_spectrogram_lstm]"
PIPELINE = "test_predict_digits_pipeline"

# the demo class's dev-mistake student (``python -m authoring demo``): the first of these that MISTAKES holds
DEMO_MISTAKES = ("mask_inverted", "inverted_mask")

MISTAKES = [
    # ---- part 0: load_audio
    ("load_audio_default_rate", "a1_load_audio",
     _edit("a1_load_audio", ("librosa.load(path, sr=sr, mono=True)", "librosa.load(path, mono=True)")),
     ["test_load_audio_native_rate_mono_float32"]),
    # ---- part 1: pad_and_mask
    ("mask_of_ints", "a1_pad_and_mask",
     _edit("a1_pad_and_mask", ("mask = np.zeros((len(signals), max_len), dtype=bool)",
                               "mask = np.zeros((len(signals), max_len), dtype=np.int64)")),
     ["test_pad_shapes_and_dtypes"]),
    ("mask_inverted", "a1_pad_and_mask",
     _edit("a1_pad_and_mask", ("mask = np.zeros((len(signals), max_len), dtype=bool)",
                               "mask = np.ones((len(signals), max_len), dtype=bool)"),
           ("mask[i, :n] = True", "mask[i, :n] = False")),
     ["test_pad_keeps_values_at_the_start"]),
    ("padding_at_the_front", "a1_pad_and_mask",
     _edit("a1_pad_and_mask", ("padded[i, :n] = signal[:n]", "padded[i, max_len - n:] = signal[:n]"),
           ("mask[i, :n] = True", "mask[i, max_len - n:] = True")),
     ["test_pad_keeps_values_at_the_start"]),   # the other checks find the clip wherever it is
    ("no_truncation", "a1_pad_and_mask",
     _edit("a1_pad_and_mask", ("    padded = np.zeros((len(signals), max_len), dtype=np.float32)",
                               "    max_len = max([max_len] + [len(s) for s in signals])   # the longest clip wins\n"
                               "    padded = np.zeros((len(signals), max_len), dtype=np.float32)")),
     ["test_pad_shapes_and_dtypes", "test_pad_truncates_long_clips"]),
    ("mask_from_values", "a1_pad_and_mask",
     _edit("a1_pad_and_mask", ("    return padded, mask\n", "    return padded, padded != 0   # a silent real sample is masked out\n")),
     ["test_pad_keeps_values_at_the_start"]),
    ("mask_off_by_one_at_the_end", "a1_pad_and_mask",
     _edit("a1_pad_and_mask", ("mask[i, :n] = True", "mask[i, :n - 1] = True")),
     ["test_pad_keeps_values_at_the_start"]),
    ("padded_float64", "a1_pad_and_mask",
     _edit("a1_pad_and_mask", ("padded = np.zeros((len(signals), max_len), dtype=np.float32)",
                               "padded = np.zeros((len(signals), max_len))")),
     ["test_pad_shapes_and_dtypes"]),
    # ---- part 2: frame_signals, build_raw_lstm
    ("frame_valid_only_when_full", "a1_frame_signals",
     _edit("a1_frame_signals", (".any(axis=-1)", ".all(axis=-1)")),
     ["test_frame_mask_consistent_with_sample_mask"]),
    ("frame_mask_from_nonzero_values", "a1_frame_signals",
     _edit("a1_frame_signals", ("frame_mask = np.asarray(mask, dtype=bool).reshape(n, n_frames, frame_len).any(axis=-1)",
                                "frame_mask = (frames != 0).any(axis=-1)")),
     ["test_frame_mask_consistent_with_sample_mask"]),
    ("frames_interleaved", "a1_frame_signals",
     _edit("a1_frame_signals", ("reshape(n, n_frames, frame_len)\n",
                                "reshape(n, frame_len, n_frames).transpose(0, 2, 1)\n")),
     ["test_frame_signals_frames"]),
    ("frames_trimmed_instead_of_raising", "a1_frame_signals",
     _edit("a1_frame_signals",
           ("    if max_len % frame_len:\n"
            "        raise ValueError(f\"max_len={max_len} is not a multiple of frame_len={frame_len}; \"\n"
            "                         \"choose a frame length that divides it\")\n", ""),
           ("    n_frames = max_len // frame_len\n",
            "    n_frames = max_len // frame_len\n"
            "    padded, mask = padded[:, :n_frames * frame_len], mask[:, :n_frames * frame_len]   # drop the rest\n")),
     ["test_frame_signals_rejects_a_frame_length_that_does_not_divide"]),
    ("raw_lstm_ignores_mask", "a1_build_raw_lstm",
     _edit("a1_build_raw_lstm", ('name="lstm")(x, mask=frame_mask)', 'name="lstm")(x)'),
           ('(name="masked_time_average")(x, mask=frame_mask)', '(name="masked_time_average")(x)')),
     ["test_masked_model_honours_the_mask" + RAW, "test_masked_model_averages_over_valid_steps" + RAW]),
    ("raw_lstm_mean_over_padded_steps", "a1_build_raw_lstm",
     _edit("a1_build_raw_lstm", ('x = layers.GlobalAveragePooling1D(name="masked_time_average")(x, mask=frame_mask)',
                                 "x = ops.mean(x, axis=1)   # every step, padding included")),
     ["test_masked_model_averages_over_valid_steps" + RAW]),
    ("raw_lstm_frames_only", "a1_build_raw_lstm",
     _edit("a1_build_raw_lstm", ("return keras.Model([frames, frame_mask], outputs", "return keras.Model(frames, outputs")),
     ["test_masked_model_inputs_and_output_shape" + RAW, "test_masked_model_softmax" + RAW,
      "test_masked_model_honours_the_mask" + RAW, "test_masked_model_averages_over_valid_steps" + RAW]),
    ("frame_mask_axes_swapped", "a1_frame_signals",
     _edit("a1_frame_signals", ("np.asarray(mask, dtype=bool).reshape(n, n_frames, frame_len)",
                                "np.asarray(mask, dtype=bool).reshape(n_frames, n, frame_len)")),
     ["test_frame_mask_consistent_with_sample_mask"]),
    # ---- part 3: MicroF1, micro_f1_score
    ("f1_per_batch_average", "a1_micro_f1",
     _edit("a1_micro_f1",
           ("        self.true_positives.assign_add(ops.sum(labels * predicted, axis=0))\n"
            "        self.false_positives.assign_add(ops.sum((1.0 - labels) * predicted, axis=0))\n"
            "        self.false_negatives.assign_add(ops.sum(labels * (1.0 - predicted), axis=0))\n",
            "        tp = ops.sum(labels * predicted)\n"
            "        batch_f1 = ops.divide_no_nan(2.0 * tp, 2.0 * tp + ops.sum((1.0 - labels) * predicted)\n"
            "                                     + ops.sum(labels * (1.0 - predicted)))\n"
            "        self.true_positives.assign_add(ops.one_hot(0, self.num_classes) * batch_f1)  # sum of batch F1\n"
            "        self.false_positives.assign_add(ops.one_hot(0, self.num_classes))  # number of batches\n"),
           ("        tp = ops.sum(self.true_positives)\n"
            "        denominator = 2.0 * tp + ops.sum(self.false_positives) + ops.sum(self.false_negatives)\n"
            "        return ops.divide_no_nan(2.0 * tp, denominator)",
            "        return ops.divide_no_nan(self.true_positives[0], self.false_positives[0])")),
     ["test_micro_f1_is_not_a_batch_average"]),
    ("f1_true_positives_divided", "a1_micro_f1",
     _edit("a1_micro_f1", ("self.true_positives.assign_add(ops.sum(labels * predicted, axis=0))",
                           "self.true_positives.assign_add(ops.sum(labels / predicted, axis=0))")),
     ["test_micro_f1_matches_sklearn_over_batches", "test_micro_f1_is_not_a_batch_average",
      "test_micro_f1_reset_state", "test_micro_f1_in_a_compiled_model"]),
    ("f1_reset_does_nothing", "a1_micro_f1",
     _edit("a1_micro_f1", ("variable.assign(ops.zeros_like(variable))", "pass")),
     ["test_micro_f1_reset_state"]),
    ("f1_macro_instead_of_micro", "a1_micro_f1",
     _edit("a1_micro_f1",
           ("        tp = ops.sum(self.true_positives)\n"
            "        denominator = 2.0 * tp + ops.sum(self.false_positives) + ops.sum(self.false_negatives)\n"
            "        return ops.divide_no_nan(2.0 * tp, denominator)",
            "        per_class = ops.divide_no_nan(2.0 * self.true_positives, 2.0 * self.true_positives\n"
            "                                      + self.false_positives + self.false_negatives)\n"
            "        return ops.mean(per_class)")),
     ["test_micro_f1_matches_sklearn_over_batches"]),   # the other MicroF1 checks compare with its own values
    ("f1_score_without_false_negatives", "a1_micro_f1",
     _edit("a1_micro_f1", ("return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0",
                           "return 2 * tp / (2 * tp + fp) if tp + fp else 0.0")),
     ["test_micro_f1_score"]),
    ("f1_score_classes_of_the_labels_only", "a1_micro_f1",
     _edit("a1_micro_f1", ("classes = np.union1d(y_true, y_pred)", "classes = np.unique(y_true)")),
     ["test_micro_f1_score"]),
    # ---- part 4: GradientHistograms
    ("histograms_of_weights", "a1_gradient_histograms",
     _edit("a1_gradient_histograms", ('tf.summary.histogram(f"gradients/{variable.path}", gradient)',
                                      'tf.summary.histogram(f"gradients/{variable.path}", variable)')),
     ["test_gradient_histograms_are_gradients"]),
    ("histograms_named_by_short_name", "a1_gradient_histograms",
     _edit("a1_gradient_histograms", ('f"gradients/{variable.path}"', 'f"gradients/{variable.name}"')),
     ["test_gradient_histograms_every_variable", "test_gradient_histograms_every",
      "test_gradient_histograms_are_gradients"]),
    ("histograms_every_ignored", "a1_gradient_histograms",
     _edit("a1_gradient_histograms", ("        if epoch % self.every:\n            return\n", "")),
     ["test_gradient_histograms_every"]),
    # ---- part 5: log-mel, spectrogram mask, spectrogram LSTM
    ("spectrogram_mask_float_division", "a1_log_mel",
     _edit("a1_log_mel", ("centres = np.arange(1 + mask.shape[1] // hop_length) * hop_length",
                          "centres = np.arange(1 + mask.shape[1] / hop_length) * hop_length")),
     ["test_spectrogram_mask"]),
    ("spectrogram_not_time_major", "a1_log_mel",
     _edit("a1_log_mel", ("return np.ascontiguousarray(np.swapaxes(db, 1, 2), dtype=np.float32)",
                          "return np.ascontiguousarray(db, dtype=np.float32)")),
     ["test_log_mel_shape_time_major"]),
    ("spectrogram_reshaped_not_transposed", "a1_log_mel",
     _edit("a1_log_mel", ("return np.ascontiguousarray(np.swapaxes(db, 1, 2), dtype=np.float32)",
                          "return db.reshape(db.shape[0], db.shape[2], db.shape[1]).astype(np.float32)")),
     ["test_log_mel_close_to_reference"]),
    ("spectrogram_batch_maximum", "a1_log_mel",
     _edit("a1_log_mel", ("peak = np.maximum(power.max(axis=(1, 2), keepdims=True), 1e-20)",
                          "peak = np.maximum(power.max(), 1e-20)   # the loudest clip of the batch")),
     ["test_log_mel_close_to_reference", "test_log_mel_relative_to_each_clip"]),
    ("spectrogram_power_to_db_ref_max_per_clip", "a1_log_mel",
     _edit("a1_log_mel", ("peak = np.maximum(power.max(axis=(1, 2), keepdims=True), 1e-20)", "pass"),
           ("db = np.maximum(librosa.power_to_db(power / peak, top_db=None), -80.0)",
            "db = np.maximum(np.stack([librosa.power_to_db(p, ref=np.max, top_db=None) for p in power]), -80.0)")),
     ["test_log_mel_close_to_reference", "test_log_mel_relative_to_each_clip"]),   # amin=1e-10 is absolute:
    # a quiet clip's floor sits above -80 dB (values off the recipe, and changing with the clip's loudness)
    ("spectrogram_mask_all_true", "a1_log_mel",
     _edit("a1_log_mel", ("return centres[None, :] < lengths[:, None]",
                          "return np.ones((mask.shape[0], len(centres)), dtype=bool)")),
     ["test_spectrogram_mask"]),
    ("spectrogram_lstm_mean_over_padded_steps", "a1_build_spectrogram_lstm",
     _edit("a1_build_spectrogram_lstm",
           ('x = layers.GlobalAveragePooling1D(name="masked_time_average")(x, mask=spec_mask)',
            "x = ops.mean(x, axis=1)   # every step, padding included")),
     ["test_masked_model_averages_over_valid_steps" + SPEC]),
    ("spectrogram_lstm_last_state", "a1_build_spectrogram_lstm",
     _edit("a1_build_spectrogram_lstm",
           ('x = layers.LSTM(64, return_sequences=True, name="lstm")(x, mask=spec_mask)\n'
            '    x = layers.GlobalAveragePooling1D(name="masked_time_average")(x, mask=spec_mask)',
            'x = layers.LSTM(64, name="lstm")(x, mask=spec_mask)')),
     ["test_masked_model_averages_over_valid_steps" + SPEC]),
    ("spectrogram_lstm_ignores_mask", "a1_build_spectrogram_lstm",
     _edit("a1_build_spectrogram_lstm", ('name="lstm")(x, mask=spec_mask)', 'name="lstm")(x)'),
           ('(name="masked_time_average")(x, mask=spec_mask)', '(name="masked_time_average")(x)')),
     ["test_masked_model_honours_the_mask" + SPEC, "test_masked_model_averages_over_valid_steps" + SPEC]),
    # ---- part 6: augmentation
    ("labels_counted_from_the_second_clip", "a1_augment",
     _edit("a1_augment", ("len(per_clip[0]) if per_clip else 9", "len(per_clip[1]) if per_clip else 9")),
     ["test_augment_dataset_labels_in_step"]),
    ("augment_original_last", "a1_augment",
     _edit("a1_augment", ("    versions = [signal]\n", "    versions = []\n"),
           ("    return versions\n", "    return versions + [signal]\n")),
     ["test_augment_clip_nine_versions_original_first"]),
    ("augment_stretch_inverted", "a1_augment",
     _edit("a1_augment", ("time_stretch(signal, rate=rate, n_fft=N_FFT)", "time_stretch(signal, rate=1 / rate, n_fft=N_FFT)")),
     ["test_augment_clip_stretched_lengths"]),   # pitches still right; augment_dataset agrees with augment_clip
    ("augment_two_semitones", "a1_augment",
     _edit("a1_augment", ("n_steps=steps, n_fft=N_FFT", "n_steps=2 * steps, n_fft=N_FFT")),
     ["test_augment_clip_moves_pitch_by_a_semitone"]),
    ("augment_original_twice", "a1_augment",
     _edit("a1_augment", ("        if rate == 1.0 and steps == 0:\n            continue\n", "")),
     ["test_augment_clip_nine_versions_original_first"]),   # a 10th version: (1.0, 0) is the original again
    ("augment_labels_tiled", "a1_augment",
     _edit("a1_augment", ("np.repeat(np.asarray(labels), len(per_clip[0]) if per_clip else 9)",
                          "np.tile(np.asarray(labels), 9)")),
     ["test_augment_dataset_labels_in_step"]),
    # ---- part 7: CNN
    ("cnn_input_scaled_to_zero", "a1_build_cnn",
     _edit("a1_build_cnn", ("layers.Rescaling(1 / 40, offset=1.0", "layers.Rescaling(1 // 40, offset=1.0")),
     ["test_cnn_input_output_softmax"]),
    ("cnn_logits_not_probabilities", "a1_build_cnn",
     _edit("a1_build_cnn", ('layers.Dense(n_classes, activation="softmax", name="digit")',
                            'layers.Dense(n_classes, name="digit")')),
     ["test_cnn_input_output_softmax"]),
    # ---- part 8: predict_digits
    ("predict_returns_probabilities", "a1_predict_digits",
     _edit("a1_predict_digits", ("return np.argmax(probabilities, axis=-1).astype(np.int64)", "return probabilities")),
     [PIPELINE]),
    ("predict_without_spectrogram_mask", "a1_predict_digits",
     _edit("a1_predict_digits", ("inputs = [log_mel_spectrogram(padded), spectrogram_mask(mask)]",
                                 "inputs = [log_mel_spectrogram(padded), np.ones((len(padded), 1 + MAX_LEN // HOP_LENGTH), bool)]")),
     [PIPELINE]),
]
