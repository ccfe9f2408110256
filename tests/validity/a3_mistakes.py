"""Realistic mistakes in assignment 3's answer cells, and the hidden checks that must catch them.

``MISTAKES = [(mistake_id, grade_id, replacement_cell_source, expected_failing_check_names), ...]``
(graded answers-only by ``tests/validity/test_validity.py``). Each replacement is the master's
answer cell with one edit (``_edit``), so a mistake stays one mistake when the master changes;
an edit whose text is no longer in the master fails loudly at import.

Expected checks are test function names (a parametrised check by its full name, e.g.
``test_frame_features_values[chroma]``). ``predict_fake`` and ``make_submission`` chain the
student's own ``load_clips``, ``frame_features``, ``normalise`` and ``fusion_inputs``, so a
mistake in one of those that changes the scores is also charged by the submission checks
(PREDICT and SUBMIT, listed where they fire).

Not expressible as an answer cell, so not here: fitting the normaliser on the validation or
testing split (the call of ``fit_normaliser`` is in a locked cell: ``normaliser_ignores_mask``
is the answer-cell form of "fitted on the wrong frames").

The EER swept over a fixed grid (``np.linspace(0, 1, 101)`` instead of the scores) is caught
by the scores of a confident detector, all within 0.001 of each other.
"""
from __future__ import annotations

from authoring.cases import master_editor

_edit = master_editor("a3_fake_or_real")

LSTM, FUSION = "[lstm]", "[fusion]"
PREDICT = ["test_predict_fake" + LSTM, "test_predict_fake" + FUSION]
SUBMIT = "test_make_submission"
ALL_FUSION = ["test_fusion_inputs_and_output[relu]", "test_fusion_inputs_and_output[gelu]",
              "test_fusion_honours_the_mask", "test_fusion_uses_both_views",
              "test_fusion_activation_everywhere[relu]", "test_fusion_activation_everywhere[gelu]"]

# the demo class's dev-mistake student (``python -m authoring demo``): the first of these that MISTAKES holds
DEMO_MISTAKES = ("normaliser_ignores_mask",)

_FF, _NORM, _LSTM, _FUS, _MET, _SUB = ("a3_frame_features", "a3_normaliser", "a3_build_lstm_detector",
                                       "a3_build_fusion", "a3_metrics", "a3_submission")

MISTAKES = [
    # ---- part 1: frame_features
    ("chroma_missing", _FF,
     _edit(_FF, ("np.concatenate([mfcc, chroma, log_mel], axis=1)",
                 "np.concatenate([mfcc, np.zeros_like(chroma), log_mel], axis=1)")),
     ["test_frame_features_values[chroma]", "test_predict_fake" + LSTM, SUBMIT]),   # the fusion model reads no chroma
    ("log_mel_not_in_db", _FF,
     _edit(_FF, ("log_mel = 10.0 * np.log10(np.maximum(mel, 1e-10))", "log_mel = mel")),
     ["test_frame_features_values[MFCC]", "test_frame_features_values[log-mel]", *PREDICT, SUBMIT]),
    ("mfcc_from_power_mel", _FF,
     _edit(_FF, ("librosa.feature.mfcc(S=log_mel, n_mfcc=N_MFCC)", "librosa.feature.mfcc(S=mel, n_mfcc=N_MFCC)")),
     ["test_frame_features_values[MFCC]", *PREDICT, SUBMIT]),
    ("magnitude_not_power", _FF,
     _edit(_FF, ("power = np.abs(librosa.stft(x, n_fft=N_FFT, hop_length=HOP_LENGTH)) ** 2",
                 "power = np.abs(librosa.stft(x, n_fft=N_FFT, hop_length=HOP_LENGTH))")),
     ["test_frame_features_values[MFCC]", "test_frame_features_values[chroma]", "test_frame_features_values[log-mel]",
      *PREDICT, SUBMIT]),
    ("db_relative_to_batch_max", _FF,
     _edit(_FF, ("log_mel = 10.0 * np.log10(np.maximum(mel, 1e-10))",
                 "log_mel = librosa.power_to_db(mel, ref=np.max, top_db=None)")),
     ["test_frame_features_values[MFCC]", "test_frame_features_values[log-mel]",
      "test_frame_features_batch_independent", *PREDICT, SUBMIT]),
    ("chroma_tuning_estimated", _FF,
     _edit(_FF, ("n_chroma=N_CHROMA, tuning=0.0)", "n_chroma=N_CHROMA)")),
     ["test_frame_features_values[chroma]", "test_frame_features_batch_independent", "test_predict_fake" + LSTM,
      SUBMIT]),
    ("mask_off_by_one", _FF,
     _edit(_FF, ("* HOP_LENGTH < length[:, None]", "* HOP_LENGTH <= length[:, None]")),
     ["test_frame_features_mask"]),
    ("mask_counts_nonzero_samples", _FF,
     _edit(_FF, ("length = np.where(nonzero.any(axis=1), SEGMENT - np.argmax(nonzero[:, ::-1], axis=1), 0)",
                 "length = nonzero.sum(axis=1)")),
     ["test_frame_features_mask", *PREDICT, SUBMIT]),
    ("signal_shape_not_checked", _FF,
     _edit(_FF, ('    if x.ndim != 2 or x.shape[1] != SEGMENT:\n'
                 '        raise ValueError(f"signals must have shape (n, {SEGMENT}), got {x.shape}")\n', "")),
     ["test_frame_features_rejects_bad_shapes"]),
    # ---- part 2: fit_normaliser, normalise
    ("normaliser_ignores_mask", _NORM,
     _edit(_NORM, ("frames = np.asarray(features, dtype=np.float64)[mask]",
                   "frames = np.asarray(features, dtype=np.float64).reshape(-1, np.shape(features)[-1])")),
     ["test_fit_normaliser_valid_frames"]),
    ("std_without_floor", _NORM,
     _edit(_NORM, ("np.maximum(frames.std(axis=0), 1e-6)", "frames.std(axis=0)")),
     ["test_fit_normaliser_std_floor"]),
    ("sample_std", _NORM,
     _edit(_NORM, ("np.maximum(frames.std(axis=0), 1e-6)", "np.maximum(frames.std(axis=0, ddof=1), 1e-6)")),
     ["test_fit_normaliser_valid_frames"]),
    ("empty_mask_accepted", _NORM,
     _edit(_NORM, ('    if not mask.any():\n'
                   '        raise ValueError("the mask selects no frame: nothing to fit the normaliser on")\n', "")),
     ["test_fit_normaliser_rejects_bad_masks"]),
    ("mask_shape_not_checked", _NORM,
     _edit(_NORM, ('    if mask.shape != np.shape(features)[:2]:\n'
                   '        raise ValueError(f"mask shape {mask.shape} does not match features {np.shape(features)[:2]}")\n',
                   "")),
     ["test_fit_normaliser_rejects_bad_masks"]),
    ("padding_not_zeroed", _NORM,
     _edit(_NORM, ("return np.where(np.asarray(mask, dtype=bool)[..., None], z, 0.0).astype(np.float32)",
                   "return z.astype(np.float32)")),
     ["test_normalise", "test_predict_fake" + FUSION]),   # the LSTM ignores padded frames; the CNN sees them
    # ---- part 3: build_lstm_detector
    ("lstm_mask_ignored", _LSTM,
     _edit(_LSTM, ("h = layers.LSTM(64)(features, mask=mask)", "h = layers.LSTM(64)(features)")),
     ["test_lstm_detector_honours_the_mask"]),
    ("lstm_mask_inverted", _LSTM,
     _edit(_LSTM, ("h = layers.LSTM(64)(features, mask=mask)",
                   "h = layers.LSTM(64)(features, mask=keras.ops.logical_not(mask))")),
     ["test_lstm_detector_honours_the_mask", "test_lstm_detector_reads_valid_frames"]),
    ("lstm_no_sigmoid", _LSTM,
     _edit(_LSTM, ('layers.Dense(1, activation="sigmoid")(h)', "layers.Dense(1)(h)")),
     ["test_lstm_detector_inputs_and_output"]),
    ("lstm_sizes_ignored", _LSTM,
     _edit(_LSTM, ('features = keras.Input((n_steps, n_features), name="features")\n'
                   '    mask = keras.Input((n_steps,), dtype="bool", name="mask")',
                   'features = keras.Input((N_STEPS, N_FEATURES), name="features")\n'
                   '    mask = keras.Input((N_STEPS,), dtype="bool", name="mask")')),
     ["test_lstm_detector_inputs_and_output", "test_lstm_detector_honours_the_mask",
      "test_lstm_detector_reads_valid_frames"]),
    # ---- part 5: build_fusion, fusion_inputs
    ("gelu_ignored", _FUS,
     _edit(_FUS, ('    image = layers.Conv2D(16, 3, padding="same", activation=activation)(mel)\n'
                  '    image = layers.MaxPooling2D(2)(image)\n'
                  '    image = layers.Conv2D(32, 3, padding="same", activation=activation)(image)\n'
                  '    image = layers.GlobalAveragePooling2D()(image)\n'
                  '    fused = layers.Concatenate(axis=-1)([sequence, image])\n'
                  '    fused = layers.Dense(32, activation=activation)(fused)\n',
                  '    image = layers.Conv2D(16, 3, padding="same", activation="relu")(mel)\n'
                  '    image = layers.MaxPooling2D(2)(image)\n'
                  '    image = layers.Conv2D(32, 3, padding="same", activation="relu")(image)\n'
                  '    image = layers.GlobalAveragePooling2D()(image)\n'
                  '    fused = layers.Concatenate(axis=-1)([sequence, image])\n'
                  '    fused = layers.Dense(32, activation="relu")(fused)\n')),
     ["test_fusion_activation_everywhere[gelu]"]),
    ("fusion_concatenated_on_batch_axis", _FUS,
     _edit(_FUS, ("layers.Concatenate(axis=-1)([sequence, image])", "layers.Concatenate(axis=0)([sequence, image])")),
     ALL_FUSION),   # (batch, 64) and (batch, 32) do not stack on the batch axis: the model does not build
    ("both_branches_fed_the_mfcc", _FUS,
     _edit(_FUS, ('layers.Conv2D(16, 3, padding="same", activation=activation)(mel)',
                  'layers.Conv2D(16, 3, padding="same", activation=activation)(keras.ops.expand_dims(mfcc, -1))')),
     ["test_fusion_uses_both_views", "test_fusion_honours_the_mask"]),   # the CNN now reads the padded MFCC frames
    ("bilstm_mask_ignored", _FUS,
     _edit(_FUS, ("layers.Bidirectional(layers.LSTM(32))(mfcc, mask=mask)", "layers.Bidirectional(layers.LSTM(32))(mfcc)")),
     ["test_fusion_honours_the_mask"]),
    ("activation_not_validated", _FUS,
     _edit(_FUS, ('    if activation not in ACTIVATIONS:\n'
                  '        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")\n', "")),
     ["test_fusion_rejects_unknown_activation"]),
    ("mel_slice_includes_chroma", _FUS,
     _edit(_FUS, ("mel = features[..., N_MFCC + N_CHROMA:].transpose(0, 2, 1)[..., None]",
                  "mel = features[..., N_MFCC:N_MFCC + N_MELS].transpose(0, 2, 1)[..., None]")),
     ["test_fusion_inputs_split", "test_predict_fake" + FUSION]),
    ("mel_image_reshaped_not_transposed", _FUS,
     _edit(_FUS, ("mel = features[..., N_MFCC + N_CHROMA:].transpose(0, 2, 1)[..., None]",
                  "mel = features[..., N_MFCC + N_CHROMA:].reshape(len(features), N_MELS, -1, 1)")),
     ["test_fusion_inputs_split", "test_predict_fake" + FUSION]),
    # ---- part 4: precision_recall_f1, equal_error_rate
    ("f1_of_the_real_class", _MET,
     _edit(_MET, ("    tp = float(np.sum(called & (y == 1)))\n"
                  "    fp = float(np.sum(called & (y != 1)))\n"
                  "    fn = float(np.sum(~called & (y == 1)))\n",
                  "    tp = float(np.sum(~called & (y == 0)))\n"
                  "    fp = float(np.sum(~called & (y != 0)))\n"
                  "    fn = float(np.sum(called & (y == 0)))\n")),
     ["test_precision_recall_f1_matches_sklearn", "test_precision_recall_f1_zero_division"]),
    ("precision_and_recall_swapped", _MET,
     _edit(_MET, ("    return precision, recall, f1\n", "    return recall, precision, f1\n")),
     ["test_precision_recall_f1_matches_sklearn"]),
    ("threshold_exclusive", _MET,
     _edit(_MET, ("called = s >= threshold", "called = s > threshold")),
     ["test_precision_recall_f1_matches_sklearn"]),
    ("zero_division_raises", _MET,
     _edit(_MET, ("precision = tp / (tp + fp) if tp + fp else 0.0", "precision = tp / (tp + fp)")),
     ["test_precision_recall_f1_zero_division"]),
    ("lengths_truncated_not_rejected", _MET,
     _edit(_MET, ('    if y.shape != s.shape:\n'
                  '        raise ValueError(f"y_true has {y.size} values and scores {s.size}")\n'
                  '    called = s >= threshold\n',
                  '    n = min(y.size, s.size)              # zip() style: pair what can be paired\n'
                  '    y, s = y[:n], s[:n]\n'
                  '    called = s >= threshold\n')),
     ["test_precision_recall_f1_rejects_lengths"]),
    ("eer_at_a_fixed_threshold", _MET,
     _edit(_MET, ("thresholds = np.append(np.unique(s), np.inf)", "thresholds = np.array([0.5])")),
     ["test_equal_error_rate"]),
    ("eer_swept_over_a_fixed_grid", _MET,
     _edit(_MET, ("thresholds = np.append(np.unique(s), np.inf)", "thresholds = np.linspace(0, 1, 101)")),
     ["test_equal_error_rate"]),
    ("eer_worse_of_the_two_rates", _MET,
     _edit(_MET, ("return float((fpr[k] + fnr[k]) / 2), float(thresholds[k])",
                  "return float(max(fpr[k], fnr[k])), float(thresholds[k])")),
     ["test_equal_error_rate"]),
    ("eer_classes_swapped", _MET,
     _edit(_MET, ("fake, real = y == 1, y != 1", "real, fake = y == 1, y != 1")),
     ["test_equal_error_rate"]),
    ("eer_one_class_accepted", _MET,
     _edit(_MET, ('    if not fake.any() or not real.any():\n'
                  '        raise ValueError("y_true must hold both real (0) and fake (1) clips to define an EER")\n', "")),
     ["test_equal_error_rate_rejects"]),
    # ---- part 7: load_clips, predict_fake, make_submission
    ("load_clips_not_resampled", _SUB,
     _edit(_SUB, ("        if sr != SR:\n            y = librosa.resample(y, orig_sr=sr, target_sr=SR)\n", "")),
     ["test_load_clips", *PREDICT, SUBMIT]),
    ("load_clips_first_channel", _SUB,
     _edit(_SUB, ("y = y.mean(axis=1)", "y = y[:, 0]")),
     ["test_load_clips", *PREDICT, SUBMIT]),
    ("load_clips_keeps_the_end", _SUB,
     _edit(_SUB, ("y = y[:SEGMENT]", "y = y[-SEGMENT:]")),
     ["test_load_clips", *PREDICT, SUBMIT]),
    ("predict_ignores_the_normaliser", _SUB,
     _edit(_SUB, ("z = normalise(features, mask, mean, std)", "z = np.where(mask[..., None], features, 0.0)")),
     [*PREDICT, SUBMIT]),
    ("unknown_kind_treated_as_lstm", _SUB,
     _edit(_SUB, ('    if kind not in ("lstm", "fusion"):\n'
                  '        raise ValueError(f"kind must be \'lstm\' or \'fusion\', got {kind!r}")\n', ""),
           ('x = [z, mask] if kind == "lstm" else fusion_inputs(z, mask)',
            'x = fusion_inputs(z, mask) if kind == "fusion" else [z, mask]')),
     ["test_predict_fake_rejects_kind"]),
    ("submission_rows_sorted", _SUB,
     _edit(_SUB, ("for path, p in zip(paths, scores):", "for path, p in zip(sorted(paths), scores):")),
     [SUBMIT]),
    ("submission_ids_with_extension", _SUB,
     _edit(_SUB, ("writer.writerow([Path(path).stem,", "writer.writerow([Path(path).name,")),
     [SUBMIT]),
    ("submission_without_header", _SUB,
     _edit(_SUB, ('        writer.writerow(["id", "p_fake"])\n', "")),
     [SUBMIT]),
    # the output saturates with naive fixed weights: test_fusion_uses_both_views probes with LeCun-scaled ones
    ("dense_without_activation", _FUS,
     _edit(_FUS, ("fused = layers.Dense(32, activation=activation)(fused)", "fused = layers.Dense(32)(fused)")),
     ["test_fusion_activation_everywhere[relu]", "test_fusion_activation_everywhere[gelu]"]),
]
