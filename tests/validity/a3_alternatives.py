'''Alternative correct answers for assignment 3: each must score full marks on the answer checks.

``ALTERNATIVES = [(alt_id, grade_id, replacement_cell_source), ...]`` (graded answers-only by
``tests/validity/test_validity.py``): other librosa calls, other loops, other architectures that
meet the specification of the master's docstrings.
'''
from __future__ import annotations

ALTERNATIVES = [
    # ---- part 1: one clip at a time, power_to_db, a mask from a loop
    ("features_per_clip_power_to_db_loop_mask", "a3_frame_features", '''
def frame_features(signals, sr=SR):
    """One clip at a time; log-mel with librosa.power_to_db (ref 1, amin 1e-10, no top_db clipping)."""
    signals = np.asarray(signals, dtype=np.float32)
    if signals.ndim != 2 or signals.shape[1] != SEGMENT:
        raise ValueError(f"expected (n, {SEGMENT}) samples, got {signals.shape}")
    features = np.zeros((len(signals), N_STEPS, N_FEATURES), np.float32)
    mask = np.zeros((len(signals), N_STEPS), dtype=bool)
    for i, y in enumerate(signals):
        S = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP_LENGTH, center=True)) ** 2
        mel_db = librosa.power_to_db(librosa.feature.melspectrogram(S=S, sr=sr, n_mels=N_MELS),
                                     ref=1.0, amin=1e-10, top_db=None)
        mfcc = librosa.feature.mfcc(S=mel_db, sr=sr, n_mfcc=N_MFCC)
        chroma = librosa.feature.chroma_stft(S=S, sr=sr, n_chroma=N_CHROMA, tuning=0)
        features[i] = np.vstack([mfcc, chroma, mel_db]).T
        nonzero = np.flatnonzero(y)
        length = nonzero[-1] + 1 if nonzero.size else 0
        for t in range(N_STEPS):
            if t * HOP_LENGTH < length:
                mask[i, t] = True
    return features, mask
'''),
    # ---- part 1: librosa from the waveform (melspectrogram(y=...), chroma_stft(y=...)), amplitude_to_db
    ("features_from_waveform_amplitude_to_db", "a3_frame_features", '''
def frame_features(signals, sr=SR):
    """librosa computes the power spectrum itself; dB of the mel magnitudes (20 log10 sqrt = 10 log10)."""
    x = np.asarray(signals, dtype=np.float32)
    if x.ndim != 2 or x.shape[-1] != SEGMENT:
        raise ValueError("signals must be a 2-D array of SEGMENT-sample rows")
    mel = librosa.feature.melspectrogram(y=x, sr=sr, n_fft=N_FFT, hop_length=HOP_LENGTH, power=2.0, n_mels=N_MELS)
    log_mel = librosa.amplitude_to_db(np.sqrt(mel), ref=1.0, amin=1e-5, top_db=None)
    mfcc = librosa.feature.mfcc(S=log_mel, n_mfcc=N_MFCC)
    chroma = librosa.feature.chroma_stft(y=x, sr=sr, n_fft=N_FFT, hop_length=HOP_LENGTH, n_chroma=N_CHROMA, tuning=0.0)
    features = np.swapaxes(np.concatenate([mfcc, chroma, log_mel], axis=-2), -1, -2)
    idx = np.arange(1, SEGMENT + 1)
    length = np.max(np.where(x != 0, idx, 0), axis=1)          # last non-zero sample + 1, 0 if silent
    n_valid = -(-length // HOP_LENGTH)                          # frames t with t * HOP_LENGTH < length
    mask = np.arange(N_STEPS) < n_valid[:, None]
    return features.astype(np.float32), mask
'''),
    # ---- part 2: masked arrays
    ("normaliser_numpy_ma", "a3_normaliser", '''
def fit_normaliser(features, mask):
    features = np.asarray(features, dtype=np.float64)
    mask = np.asarray(mask).astype(bool)
    if mask.shape != features.shape[:2]:
        raise ValueError("the mask must have the shape features.shape[:2]")
    if mask.sum() == 0:
        raise ValueError("no valid frame")
    hidden = np.broadcast_to(~mask[..., None], features.shape)
    frames = np.ma.masked_array(features, mask=hidden)
    mean = frames.mean(axis=(0, 1)).filled(0.0)
    std = frames.std(axis=(0, 1)).filled(0.0)
    return mean.astype(np.float32), np.clip(std, 1e-6, None).astype(np.float32)


def normalise(features, mask, mean, std):
    keep = np.asarray(mask, dtype=np.float32)[..., None]
    return (((np.asarray(features, np.float32) - mean) / std) * keep).astype(np.float32)
'''),
    # ---- part 2: sums and counts
    ("normaliser_sums_and_counts", "a3_normaliser", '''
def fit_normaliser(features, mask):
    x = np.asarray(features, dtype=np.float64)
    m = np.asarray(mask, dtype=bool)
    if m.shape != x.shape[:2]:
        raise ValueError(f"mask {m.shape} vs features {x.shape}")
    count = int(m.sum())
    if count == 0:
        raise ValueError("empty mask")
    w = m[..., None].astype(np.float64)
    mean = (x * w).sum(axis=(0, 1)) / count
    var = (((x - mean) * w) ** 2).sum(axis=(0, 1)) / count
    return mean.astype(np.float32), np.sqrt(np.maximum(var, 1e-12)).astype(np.float32)


def normalise(features, mask, mean, std):
    out = (np.asarray(features, dtype=np.float32) - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    out[~np.asarray(mask, dtype=bool)] = 0.0
    return out
'''),
    # ---- part 3: a GRU with a hidden dense layer
    ("lstm_detector_gru", "a3_build_lstm_detector", '''
def build_lstm_detector(n_steps=N_STEPS, n_features=N_FEATURES):
    x = keras.Input(shape=(n_steps, n_features))
    m = keras.Input(shape=(n_steps,), dtype="bool")
    h = layers.GRU(48)(x, mask=m)
    h = layers.Dense(16, activation="relu")(h)
    return keras.Model(inputs=[x, m], outputs=layers.Dense(1, activation="sigmoid")(h))
'''),
    # ---- part 3: two stacked LSTMs (the first one's output mask carries to the second)
    ("lstm_detector_two_layers", "a3_build_lstm_detector", '''
def build_lstm_detector(n_steps=N_STEPS, n_features=N_FEATURES):
    features = keras.Input((n_steps, n_features))
    mask = keras.Input((n_steps,), dtype="bool")
    h = layers.LSTM(48, return_sequences=True)(features, mask=mask)
    h = layers.Dropout(0.2)(h)
    h = layers.LSTM(32)(h)
    return keras.Model([features, mask], layers.Dense(1, activation="sigmoid")(h))
'''),
    # ---- part 3: padded frames zeroed with the mask, then a Masking layer
    ("lstm_detector_masking_layer", "a3_build_lstm_detector", '''
def build_lstm_detector(n_steps=N_STEPS, n_features=N_FEATURES):
    features = keras.Input((n_steps, n_features))
    mask = keras.Input((n_steps,), dtype="bool")
    zeroed = keras.ops.where(keras.ops.expand_dims(mask, -1), features, 0.0)   # padded frames -> 0 ...
    h = layers.Masking(mask_value=0.0)(zeroed)                                # ... and masked
    h = layers.LSTM(64)(h)
    return keras.Model([features, mask], layers.Dense(1, activation="sigmoid")(h))
'''),
    # ---- part 3: the LSTM's output sequence, its last step (Keras carries the last valid output over padding)
    ("lstm_detector_last_of_sequences", "a3_build_lstm_detector", '''
def build_lstm_detector(n_steps=N_STEPS, n_features=N_FEATURES):
    features = keras.Input((n_steps, n_features))
    mask = keras.Input((n_steps,), dtype="bool")
    states = layers.LSTM(64, return_sequences=True)(features, mask=mask)
    return keras.Model([features, mask], layers.Dense(1, activation="sigmoid")(states[:, -1]))
'''),
    # ---- part 5: separate Activation layers, one conv block, GlobalMaxPooling, layers.concatenate
    ("fusion_activation_layers_one_block", "a3_build_fusion", '''
def build_fusion(activation="relu", n_steps=N_STEPS, n_mfcc=N_MFCC, n_mels=N_MELS):
    if activation not in ("relu", "gelu"):
        raise ValueError(f"unknown activation {activation}")
    mfcc = keras.Input((n_steps, n_mfcc))
    mask = keras.Input((n_steps,), dtype="bool")
    mel = keras.Input((n_mels, n_steps, 1))
    seq = layers.Bidirectional(layers.LSTM(24), merge_mode="concat")(mfcc, mask=mask)
    img = layers.Conv2D(16, (5, 5), padding="same")(mel)
    img = layers.Activation(activation)(img)
    img = layers.GlobalMaxPooling2D()(img)
    x = layers.concatenate([seq, img], axis=-1)
    x = layers.Dense(24)(x)
    x = layers.Activation(activation)(x)
    x = layers.Dropout(0.3)(x)
    out = layers.Dense(1)(x)
    out = layers.Activation("sigmoid")(out)
    return keras.Model([mfcc, mask, mel], out)


def fusion_inputs(features, mask):
    f = np.asarray(features, dtype=np.float32)
    mel = np.moveaxis(f[:, :, N_MFCC + N_CHROMA:N_MFCC + N_CHROMA + N_MELS], 1, 2)
    return [f[:, :, :N_MFCC].copy(), np.asarray(mask).astype(bool), np.expand_dims(mel, -1).astype(np.float32)]
'''),
    # ---- part 5: three conv blocks with batch norm, BiLSTM states averaged over the valid frames (keras.ops)
    ("fusion_three_blocks_masked_mean", "a3_build_fusion", '''
def build_fusion(activation="relu", n_steps=N_STEPS, n_mfcc=N_MFCC, n_mels=N_MELS):
    if activation not in ACTIVATIONS:
        raise ValueError(activation)
    mfcc = keras.Input((n_steps, n_mfcc), name="mfcc")
    mask = keras.Input((n_steps,), dtype="bool", name="mask")
    mel = keras.Input((n_mels, n_steps, 1), name="mel")
    states = layers.Bidirectional(layers.LSTM(16, return_sequences=True))(mfcc, mask=mask)
    weights = keras.ops.expand_dims(keras.ops.cast(mask, "float32"), -1)
    sequence = keras.ops.sum(states * weights, axis=1) / keras.ops.maximum(keras.ops.sum(weights, axis=1), 1.0)
    image = mel
    for filters in (8, 16, 32):
        image = layers.Conv2D(filters, 3, padding="same", activation=activation)(image)
        image = layers.BatchNormalization()(image)
        image = layers.MaxPooling2D(2, padding="same")(image)
    image = layers.GlobalAveragePooling2D()(image)
    fused = layers.Concatenate()([sequence, image])
    fused = layers.Dense(16, activation=activation)(fused)
    return keras.Model([mfcc, mask, mel], layers.Dense(1, activation="sigmoid")(fused))


def fusion_inputs(features, mask):
    features = np.asarray(features, dtype=np.float32)
    n, steps, _ = features.shape
    mel = np.empty((n, N_MELS, steps, 1), np.float32)
    for b in range(N_MELS):
        mel[:, b, :, 0] = features[:, :, N_MFCC + N_CHROMA + b]
    return [features[:, :, :N_MFCC], np.asarray(mask, dtype=bool), mel]
'''),
    # ---- part 4: confusion counts with bincount; EER vectorised with sorted scores
    ("metrics_confusion_counts_vectorised_eer", "a3_metrics", '''
def precision_recall_f1(y_true, scores, threshold=0.5):
    y_true, scores = np.ravel(y_true).astype(int), np.ravel(scores)
    if len(y_true) != len(scores):
        raise ValueError("y_true and scores must have the same length")
    pred = (scores >= threshold).astype(int)
    tn, fp, fn, tp = np.bincount(2 * y_true + pred, minlength=4)[:4]
    precision = float(tp / (tp + fp)) if tp + fp > 0 else 0.0
    recall = float(tp / (tp + fn)) if tp + fn > 0 else 0.0
    f1 = float(2 * tp / (2 * tp + fp + fn)) if tp > 0 else 0.0
    return precision, recall, f1


def equal_error_rate(y_true, scores):
    y_true, scores = np.ravel(y_true), np.ravel(scores).astype(np.float64)
    if len(y_true) != len(scores):
        raise ValueError("y_true and scores must have the same length")
    real, fake = np.sort(scores[y_true == 0]), np.sort(scores[y_true == 1])
    if real.size == 0 or fake.size == 0:
        raise ValueError("need both classes")
    thresholds = np.concatenate([np.unique(scores), [np.inf]])
    fpr = 1.0 - np.searchsorted(real, thresholds, side="left") / real.size   # real clips with score >= t
    fnr = np.searchsorted(fake, thresholds, side="left") / fake.size          # fakes with score < t
    best = np.argmin(np.abs(fpr - fnr))
    return float((fpr[best] + fnr[best]) / 2), float(thresholds[best])
'''),
    # ---- part 4: plain Python loops, an ROC-style sweep from the highest threshold down
    ("metrics_python_loops_roc_sweep", "a3_metrics", '''
def precision_recall_f1(y_true, scores, threshold=0.5):
    y_true, scores = list(np.ravel(y_true)), list(np.ravel(scores))
    if len(y_true) != len(scores):
        raise ValueError("length mismatch")
    tp = fp = fn = 0
    for label, score in zip(y_true, scores):
        if score >= threshold and label == 1:
            tp += 1
        elif score >= threshold:
            fp += 1
        elif label == 1:
            fn += 1
    precision = tp / (tp + fp) if (tp + fp) > 0 else 0.0
    recall = tp / (tp + fn) if (tp + fn) > 0 else 0.0
    f1 = 2 * precision * recall / (precision + recall) if (precision + recall) > 0 else 0.0
    return float(precision), float(recall), float(f1)


def equal_error_rate(y_true, scores):
    y, s = np.ravel(y_true), np.ravel(scores).astype(float)
    if y.shape != s.shape:
        raise ValueError("length mismatch")
    n_real, n_fake = int(np.sum(y == 0)), int(np.sum(y == 1))
    if n_real == 0 or n_fake == 0:
        raise ValueError("y_true must contain both classes")
    best = None
    for t in [np.inf] + sorted(set(s.tolist()), reverse=True):   # as roc_curve: from the top threshold down
        fpr = np.sum((s >= t) & (y == 0)) / n_real
        fnr = np.sum((s < t) & (y == 1)) / n_fake
        if best is None or abs(fpr - fnr) < best[0]:
            best = (abs(fpr - fnr), (fpr + fnr) / 2, t)
    return float(best[1]), float(best[2])
'''),
    # ---- part 7: librosa.load + fix_length, predict in small batches by calling the model, pathlib CSV
    ("submission_librosa_load_small_batches", "a3_submission", '''
def load_clips(paths):
    clips = []
    for p in paths:
        y, _ = librosa.load(str(p), sr=SR, mono=True)
        clips.append(librosa.util.fix_length(y[:SEGMENT], size=SEGMENT))
    return np.array(clips, dtype=np.float32).reshape(len(paths), SEGMENT)


def predict_fake(model, kind, paths, mean, std, batch_size=4):
    if kind == "lstm":
        make = lambda z, m: [z, m]
    elif kind == "fusion":
        make = fusion_inputs
    else:
        raise ValueError(f"kind must be 'lstm' or 'fusion', not {kind!r}")
    features, mask = frame_features(load_clips(paths))
    z = normalise(features, mask, mean, std)
    out = []
    for start in range(0, len(paths), batch_size):
        x = make(z[start:start + batch_size], mask[start:start + batch_size])
        out.append(np.asarray(model(x, training=False)).reshape(-1))
    return np.concatenate(out).astype(np.float32)


def make_submission(model, kind, paths, mean, std, out_csv):
    p = predict_fake(model, kind, paths, mean, std)
    lines = ["id,p_fake"] + [f"{Path(path).stem},{score:.6f}" for path, score in zip(paths, p)]
    Path(out_csv).write_text("\\n".join(lines) + "\\n")
    return len(lines) - 1
'''),
    # ---- part 7: soundfile + librosa.to_mono/resample, predict_on_batch, a DictWriter
    ("submission_soundfile_dictwriter", "a3_submission", '''
def load_clips(paths):
    out = np.zeros((len(paths), SEGMENT), dtype=np.float32)
    for i, path in enumerate(paths):
        data, rate = soundfile.read(str(path), dtype="float32")
        if data.ndim == 2:
            data = librosa.to_mono(data.T)
        if rate != SR:
            data = librosa.resample(data, orig_sr=rate, target_sr=SR)
        n = min(len(data), SEGMENT)
        out[i, :n] = data[:n]
    return out


def predict_fake(model, kind, paths, mean, std):
    if kind not in {"lstm", "fusion"}:
        raise ValueError(kind)
    feats, mask = frame_features(load_clips(paths))
    z = normalise(feats, mask, mean, std)
    inputs = fusion_inputs(z, mask) if kind == "fusion" else [z, mask]
    return np.asarray(model.predict_on_batch(inputs), dtype=np.float32).ravel()


def make_submission(model, kind, paths, mean, std, out_csv):
    scores = predict_fake(model, kind, paths, mean, std)
    with open(out_csv, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["id", "p_fake"])
        writer.writeheader()
        writer.writerows({"id": Path(p).stem, "p_fake": "%.6f" % s} for p, s in zip(paths, scores))
    return int(scores.size)
'''),
    # a Flatten's wide fan-in (no saturated sigmoid under the probe's LeCun-scaled weights) and a nested
    # Sequential CNN (layers_of lists its layers in place, so the output layer is still the last dense one)
    # ---- part 5: separate Activation layers, three conv blocks, Flatten, keras.ops.concatenate
    ("fusion_activation_layers_flatten", "a3_build_fusion", '''
def build_fusion(activation="relu", n_steps=N_STEPS, n_mfcc=N_MFCC, n_mels=N_MELS):
    if activation not in ("relu", "gelu"):
        raise ValueError(f"unknown activation {activation}")
    mfcc = keras.Input((n_steps, n_mfcc))
    mask = keras.Input((n_steps,), dtype="bool")
    mel = keras.Input((n_mels, n_steps, 1))
    seq = layers.Bidirectional(layers.LSTM(24), merge_mode="concat")(mfcc, mask=mask)
    img = mel
    for filters in (8, 16, 16):
        img = layers.Conv2D(filters, (3, 3), padding="same")(img)
        img = layers.Activation(activation)(img)
        img = layers.MaxPooling2D((2, 2), padding="same")(img)
    img = layers.Flatten()(img)
    x = keras.ops.concatenate([seq, img], axis=-1)
    x = layers.Dense(24)(x)
    x = layers.Activation(activation)(x)
    x = layers.Dropout(0.3)(x)
    out = layers.Dense(1)(x)
    out = layers.Activation("sigmoid")(out)
    return keras.Model([mfcc, mask, mel], out)


def fusion_inputs(features, mask):
    f = np.asarray(features, dtype=np.float32)
    mel = np.moveaxis(f[:, :, N_MFCC + N_CHROMA:N_MFCC + N_CHROMA + N_MELS], 1, 2)
    return [f[:, :, :N_MFCC].copy(), np.asarray(mask).astype(bool), np.expand_dims(mel, -1).astype(np.float32)]
'''),
    # ---- part 5: one conv block, a GRU-free BiLSTM with return_sequences + masked average, Sequential CNN
    ("fusion_sequential_cnn_masked_mean", "a3_build_fusion", '''
def build_fusion(activation="relu", n_steps=N_STEPS, n_mfcc=N_MFCC, n_mels=N_MELS):
    if activation not in ACTIVATIONS:
        raise ValueError(activation)
    mfcc = keras.Input((n_steps, n_mfcc), name="mfcc")
    mask = keras.Input((n_steps,), dtype="bool", name="mask")
    mel = keras.Input((n_mels, n_steps, 1), name="mel")
    states = layers.Bidirectional(layers.LSTM(16, return_sequences=True))(mfcc, mask=mask)
    weights = keras.ops.expand_dims(keras.ops.cast(mask, "float32"), -1)
    sequence = keras.ops.sum(states * weights, axis=1) / keras.ops.maximum(keras.ops.sum(weights, axis=1), 1.0)
    cnn = keras.Sequential([layers.Conv2D(12, 5, padding="same", activation=activation),
                            layers.BatchNormalization(),
                            layers.GlobalMaxPooling2D()])
    fused = layers.concatenate([sequence, cnn(mel)])
    hidden = layers.Dense(16, activation=activation)(fused)
    return keras.Model([mfcc, mask, mel], layers.Dense(1, activation="sigmoid")(hidden))


def fusion_inputs(features, mask):
    features = np.asarray(features, dtype=np.float32)
    n, steps, _ = features.shape
    mel = np.empty((n, N_MELS, steps, 1), np.float32)
    for b in range(N_MELS):
        mel[:, b, :, 0] = features[:, :, N_MFCC + N_CHROMA + b]
    return [features[:, :, :N_MFCC], np.asarray(mask, dtype=bool), mel]
'''),
]
