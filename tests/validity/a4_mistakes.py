"""Realistic mistakes in assignment 4's answer cells, and the hidden checks that must catch them.

``MISTAKES = [(mistake_id, grade_id, replacement_cell_source, expected_failing_check_names), ...]``
(graded answers-only by ``tests/validity/test_validity.py``). Each replacement is the master's
answer cell with one edit (``_edit``), so a mistake stays one mistake when the master changes;
an edit whose text is no longer in the master fails loudly at import.

The checks of ``transfer_model`` start from the reference ``build_cnn`` and the check of
``predict_labels`` uses the reference ``mel_image``, so a mistake in the student's ``build_cnn`` or
``mel_image`` is charged once, where it is made. A transposed confusion matrix is charged twice
because the recall read from it is then the precision: two properties, both wrong.

Not expressible as an answer cell, so not here: training the source on the speaker labels, fitting
the SVM on the validation rows (both in locked cells: ``svm_fit_on_test`` is the answer-cell form).
Equivalent, so not here: dropping ``transfer_model``'s own "no trunk" check (Keras' ``get_layer``
raises the same ValueError) and ``per_class_subset``'s "class smaller than k" check
(``rng.choice`` raises a ValueError itself).
"""
from __future__ import annotations

from authoring.cases import master_editor

_edit = master_editor("a4_voices")

# the demo class's dev-mistake student (``python -m authoring demo``): the first of these that MISTAKES holds
DEMO_MISTAKES = ("transfer_not_frozen",)

_SPLIT, _IMG, _BASE, _CNN, _TR, _EV, _PRED = ("a4_validation_split", "a4_mel_image", "a4_baselines", "a4_build_cnn",
                                              "a4_transfer", "a4_evaluate", "a4_predict")

MISTAKES = [
    # ---- part 1: validation_split
    ("split_overlap", _SPLIT,
     _edit(_SPLIT, ("train = np.setdiff1d(np.arange(speakers.size), validation).astype(np.int64)",
                    "train = np.arange(speakers.size, dtype=np.int64)")),
     ["test_split_partitions_the_clips"]),
    ("split_not_stratified", _SPLIT,
     _edit(_SPLIT, ("    validation = []\n    for speaker in np.unique(speakers):\n        for digit in np.unique(digits):\n"
                    "            group = np.flatnonzero((speakers == speaker) & (digits == digit))\n"
                    "            if group.size:\n"
                    "                validation.append(rng.choice(group, size=int(round(fraction * group.size)), replace=False))\n"
                    "    validation = np.sort(np.concatenate(validation)).astype(np.int64)\n",
                    "    validation = np.sort(rng.choice(speakers.size, size=int(round(fraction * speakers.size)),\n"
                    "                                    replace=False)).astype(np.int64)\n")),
     ["test_split_is_stratified"]),
    ("split_first_clips_of_each_group", _SPLIT,
     _edit(_SPLIT, ("validation.append(rng.choice(group, size=int(round(fraction * group.size)), replace=False))",
                    "validation.append(group[:int(round(fraction * group.size))])")),
     ["test_split_is_seeded"]),
    ("split_floor_not_round", _SPLIT,
     _edit(_SPLIT, ("size=int(round(fraction * group.size))", "size=int(fraction * group.size)")),
     ["test_split_is_stratified"]),
    ("split_fraction_not_checked", _SPLIT,
     _edit(_SPLIT, ('    if not 0 < fraction < 1:\n'
                    '        raise ValueError(f"fraction must be strictly between 0 and 1, got {fraction}")\n', "")),
     ["test_split_rejects_bad_input"]),
    # ---- part 2: mel_image
    ("image_not_resized", _IMG,
     _edit(_IMG, ('image = tf.image.resize(log2[..., None], IMAGE_SHAPE, method="bilinear").numpy()[..., 0]',
                  "image = log2")),
     ["test_mel_image_shape_and_range", "test_mel_image_values"]),
    ("log10_with_log2_bounds", _IMG, _edit(_IMG, ("log2 = np.log2(np.maximum(mel, 1e-10))",
                                                 "log2 = np.log10(np.maximum(mel, 1e-10))")),
     ["test_mel_image_values"]),
    ("decibels_with_log2_bounds", _IMG, _edit(_IMG, ("log2 = np.log2(np.maximum(mel, 1e-10))",
                                                    "log2 = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None)")),
     ["test_mel_image_values"]),
    ("magnitude_not_power", _IMG,
     _edit(_IMG, ("power = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP_LENGTH)) ** 2",
                  "power = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP_LENGTH))")),
     ["test_mel_image_values"]),
    ("per_image_min_max", _IMG,
     _edit(_IMG, ("return np.clip((image - LOG2_FLOOR) / (LOG2_CEIL - LOG2_FLOOR), 0.0, 1.0).astype(np.float32)",
                  "return ((image - image.min()) / (image.max() - image.min() + 1e-12)).astype(np.float32)")),
     ["test_mel_image_values"]),
    ("image_transposed", _IMG,
     _edit(_IMG, ("return np.clip((image - LOG2_FLOOR) / (LOG2_CEIL - LOG2_FLOOR), 0.0, 1.0).astype(np.float32)",
                  "return np.clip((image.T - LOG2_FLOOR) / (LOG2_CEIL - LOG2_FLOOR), 0.0, 1.0).astype(np.float32)")),
     ["test_mel_image_values", "test_mel_image_rows_are_bands"]),
    ("image_clip_not_checked", _IMG,
     _edit(_IMG, ('    if y.ndim != 1 or y.size == 0:\n'
                  '        raise ValueError(f"y must be a non-empty 1-D clip, got shape {y.shape}")\n', "")),
     ["test_mel_image_rejects_bad_clips"]),
    # ---- part 3: pad_or_cut, mfcc_stats, svm_baseline
    ("pad_at_the_start", _BASE, _edit(_BASE, ("out[i, :y.size] = y", "out[i, length - y.size:] = y")),
     ["test_pad_or_cut"]),
    ("pad_length_not_checked", _BASE,
     _edit(_BASE, ('    if length < 1:\n        raise ValueError(f"length must be at least 1, got {length}")\n', "")),
     ["test_pad_or_cut_rejects_bad_length"]),
    ("mfcc_stats_over_coefficients", _BASE,
     _edit(_BASE, ("np.concatenate([mfcc.mean(axis=1), mfcc.std(axis=1)])",
                   "np.concatenate([mfcc.mean(axis=0), mfcc.std(axis=0)])")),
     ["test_mfcc_stats"]),
    ("mfcc_std_sample_ddof", _BASE,
     _edit(_BASE, ("mfcc.std(axis=1)]", "mfcc.std(axis=1, ddof=1)]")),
     ["test_mfcc_stats"]),
    ("svm_fit_on_test", _BASE, _edit(_BASE, ("model.fit(x_train, y_train)", "model.fit(x_test, y_test)")),
     ["test_svm_uses_training_rows_only"]),
    ("svm_not_standardised", _BASE,
     _edit(_BASE, ("model = make_pipeline(StandardScaler(), LinearSVC(C=C, max_iter=5000, random_state=0))",
                   "model = LinearSVC(C=C, max_iter=5000, random_state=0)")),
     ["test_svm_standardises"]),
    ("svm_rbf_kernel", _BASE,
     _edit(_BASE, ("model = make_pipeline(StandardScaler(), LinearSVC(C=C, max_iter=5000, random_state=0))",
                   "from sklearn.svm import SVC\n    model = make_pipeline(StandardScaler(), SVC(C=C))")),
     ["test_svm_is_linear"]),
    ("svm_accuracy_on_training_rows", _BASE,
     _edit(_BASE, ("float(np.mean(model.predict(x_test) == np.asarray(y_test)))",
                   "float(np.mean(model.predict(x_train) == np.asarray(y_train)))")),
     ["test_svm_accuracy"]),
    # ---- part 4: build_cnn
    ("cnn_no_softmax", _CNN,
     _edit(_CNN, ('layers.Dense(n_classes, activation="softmax")(h), name="cnn")',
                  'layers.Dense(n_classes)(h), name="cnn")')),
     ["test_cnn_input_and_output"]),
    ("cnn_ignores_image_shape", _CNN,
     _edit(_CNN, ('image = keras.Input((*image_shape, 1), name="image")', 'image = keras.Input((*IMAGE_SHAPE, 1), name="image")')),
     ["test_cnn_input_and_output"]),
    ("cnn_trunk_is_a_feature_map", _CNN,
     _edit(_CNN, ('    h = layers.MaxPooling2D(2)(h)\n    h = layers.Flatten(name="trunk")(h)',
                  '    h = layers.MaxPooling2D(2, name="trunk")(h)\n    h = layers.Flatten()(h)')),
     ["test_cnn_has_a_trunk"]),
    # ---- part 5: transfer_model, per_class_subset
    ("transfer_shares_the_source_layers", _TR,
     _edit(_TR, ("    copy = keras.models.clone_model(source)\n    copy.set_weights(source.get_weights())\n", "    copy = source\n")),
     ["test_transfer_leaves_the_source_unchanged"]),
    ("transfer_not_frozen", _TR, _edit(_TR, ("trunk.trainable = not freeze", "trunk.trainable = True")),
     ["test_transfer_freezes_the_trunk"]),
    ("transfer_head_with_source_classes", _TR,
     _edit(_TR, ('layers.Dense(n_classes, activation="softmax")(h), name="transfer")',
                 'layers.Dense(source.output.shape[-1], activation="softmax")(h), name="transfer")')),
     ["test_transfer_new_head"]),
    ("transfer_reuses_the_source_head", _TR,
     _edit(_TR, ('    h = layers.Dropout(0.3)(trunk.output)\n    h = layers.Dense(64, activation="relu")(h)\n',
                 '    h = copy.layers[-2].output                  # the source\'s dense layer, trained on digits\n'),
           ("return keras.Model(trunk.inputs,", "return keras.Model(copy.inputs,")),
     ["test_transfer_new_head"]),
    ("subset_k_in_total", _TR,
     _edit(_TR, ("        picked.append(rng.choice(members, size=k, replace=False))\n"
                 "    return np.sort(np.concatenate(picked)).astype(np.int64)",
                 "    return np.sort(rng.choice(labels.size, size=k, replace=False)).astype(np.int64)")),
     ["test_per_class_subset"]),
    ("subset_with_replacement", _TR, _edit(_TR, ("rng.choice(members, size=k, replace=False)",
                                                "rng.choice(members, size=k, replace=True)")),
     ["test_per_class_subset"]),
    ("subset_k_not_checked", _TR,
     _edit(_TR, ('    if k < 1:\n        raise ValueError(f"k must be at least 1, got {k}")\n', "")),
     ["test_per_class_subset_rejects_bad_k"]),
    # ---- part 6: evaluate_predictions
    ("confusion_transposed", _EV,
     _edit(_EV, ("np.add.at(confusion, (y_true.astype(int), y_pred.astype(int)), 1)",
                 "np.add.at(confusion, (y_pred.astype(int), y_true.astype(int)), 1)")),
     ["test_confusion_matrix", "test_recall_per_class"]),
    ("recall_is_precision", _EV, _edit(_EV, ("support = confusion.sum(axis=1)", "support = confusion.sum(axis=0)")),
     ["test_recall_per_class"]),
    ("recall_nan_without_clips", _EV,
     _edit(_EV, ("recall = np.divide(np.diag(confusion), support, out=np.zeros(n_classes), where=support > 0)",
                 "recall = np.diag(confusion) / support")),
     ["test_recall_per_class"]),
    ("accuracy_is_mean_recall", _EV,
     _edit(_EV, ("accuracy = float(np.trace(confusion) / y_true.size) if y_true.size else 0.0",
                 "accuracy = float(np.mean(recall))")),
     ["test_accuracy"]),
    ("labels_not_checked", _EV,
     _edit(_EV, ('    for name, y in (("y_true", y_true), ("y_pred", y_pred)):\n'
                 '        if y.size and (y.min() < 0 or y.max() >= n_classes):\n'
                 '            raise ValueError(f"{name} holds labels outside 0..{n_classes - 1}: {sorted(set(y.tolist()))[:5]}")\n',
                 "")),
     ["test_evaluate_rejects_bad_labels"]),
    # ---- part 7: predict_labels
    ("predict_without_resampling", _PRED,
     _edit(_PRED, ("        if sr != SR:\n            y = librosa.resample(y, orig_sr=sr, target_sr=SR)\n", "")),
     ["test_predict_labels"]),
    ("predict_first_channel_only", _PRED, _edit(_PRED, ("y = y.mean(axis=1)", "y = y[:, 0]")),
     ["test_predict_labels"]),
    ("predict_returns_indices", _PRED,
     _edit(_PRED, ("return np.asarray(classes)[probabilities.argmax(axis=1)]", "return probabilities.argmax(axis=1)")),
     ["test_predict_labels"]),
    ("predict_in_sorted_order", _PRED, _edit(_PRED, ("for path in paths:", "for path in sorted(paths):")),
     ["test_predict_labels"]),
]
