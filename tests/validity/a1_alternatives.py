"""Other correct ways to write assignment 1's answers: each must score full marks on the answer checks.

``ALTERNATIVES = [(alt_id, grade_id, replacement_cell_source), ...]`` (graded answers-only by
``tests/validity/test_validity.py``). Each source is a complete answer cell, written as a
student might, without the master's solution markers.
"""
from __future__ import annotations

ALTERNATIVES = [
    ("load_audio_soundfile", "a1_load_audio", '''
import soundfile as sf


def load_audio(paths, sr=SR):
    out = []
    for path in paths:
        data, file_sr = sf.read(path, dtype="float32", always_2d=True)
        y = data.mean(axis=1)
        if file_sr != sr:
            y = librosa.resample(y, orig_sr=file_sr, target_sr=sr)
        out.append(y.astype(np.float32))
    return out
'''),
    ("pad_sequences", "a1_pad_and_mask", '''
def pad_and_mask(signals, max_len):
    padded = keras.utils.pad_sequences([np.asarray(s, dtype=np.float32) for s in signals], maxlen=max_len,
                                       dtype="float32", padding="post", truncating="post", value=0.0)
    lengths = np.minimum([len(s) for s in signals], max_len)
    mask = np.arange(max_len)[None, :] < lengths[:, None]
    return padded, mask
'''),
    ("frames_by_slicing", "a1_frame_signals", '''
def frame_signals(padded, mask, frame_len):
    n, length = padded.shape
    if length % frame_len != 0:
        raise ValueError(f"{length} samples cannot be cut into frames of {frame_len}")
    starts = range(0, length, frame_len)
    frames = np.stack([padded[:, s:s + frame_len] for s in starts], axis=1).astype(np.float32)
    lengths = mask.sum(axis=1)
    frame_mask = np.array([[s < l for s in starts] for l in lengths], dtype=bool).reshape(n, -1)
    return frames, frame_mask
'''),
    ("raw_lstm_conv_frontend_masked_reduce_mean", "a1_build_raw_lstm", '''
def build_raw_lstm(n_frames, frame_len, n_classes=N_CLASSES):
    frames = keras.Input(shape=(n_frames, frame_len))
    frame_mask = keras.Input(shape=(n_frames,), dtype="bool")
    x = layers.Reshape((n_frames, frame_len, 1))(frames)
    x = layers.TimeDistributed(layers.Conv1D(8, 9, strides=2, activation="relu"))(x)
    x = layers.TimeDistributed(layers.GlobalMaxPooling1D())(x)
    x = layers.LSTM(32, return_sequences=True)(x, mask=frame_mask)
    weights = ops.expand_dims(ops.cast(frame_mask, "float32"), -1)
    x = ops.sum(x * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)   # masked mean over time
    outputs = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model([frames, frame_mask], outputs)
'''),
    # Part 2 only suggests the masked average; the docstring asks that the mask be honoured. The masked LSTM's
    # last valid state (what the public solutions use) ignores the padding just as well.
    ("raw_lstm_last_valid_state", "a1_build_raw_lstm", '''
def build_raw_lstm(n_frames, frame_len, n_classes=N_CLASSES):
    frames = keras.Input(shape=(n_frames, frame_len))
    frame_mask = keras.Input(shape=(n_frames,), dtype="bool")
    x = layers.TimeDistributed(layers.Dense(64, activation="tanh"))(frames)
    x = layers.LSTM(64)(x, mask=frame_mask)          # the state after the last valid frame
    outputs = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model([frames, frame_mask], outputs)
'''),
    ("micro_f1_scalar_counts", "a1_micro_f1", '''
@keras.saving.register_keras_serializable(package="a1")
class MicroF1(keras.metrics.Metric):
    def __init__(self, num_classes=N_CLASSES, name="micro_f1", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes = num_classes
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.reshape(ops.cast(y_true, "int64"), (-1,))
        hits = ops.cast(ops.equal(ops.argmax(y_pred, axis=-1), y_true), "float32")
        # single label: every miss is one FP and one FN, so 2TP / (2TP + FP + FN) = TP / N
        self.correct.assign_add(ops.sum(hits))
        self.total.assign_add(ops.cast(ops.shape(hits)[0], "float32"))

    def result(self):
        return ops.divide_no_nan(self.correct, self.total)

    def reset_state(self):
        self.correct.assign(0.0)
        self.total.assign(0.0)

    def get_config(self):
        config = super().get_config()
        config["num_classes"] = self.num_classes
        return config


def micro_f1_score(y_true, y_pred):
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, average="micro"))
'''),
    ("gradient_histograms_own_loss_writer_at_init", "a1_gradient_histograms", '''
class GradientHistograms(keras.callbacks.Callback):
    def __init__(self, log_dir, x, y, every=1):
        super().__init__()
        self.writer = tf.summary.create_file_writer(str(log_dir))
        self.x, self.y, self.every = x, y, every

    def on_epoch_end(self, epoch, logs=None):
        if epoch % self.every != 0:
            return
        loss_fn = keras.losses.get(self.model.loss)
        with tf.GradientTape() as tape:
            loss = ops.mean(loss_fn(self.y, self.model(self.x, training=True)))
        grads = tape.gradient(loss, self.model.trainable_variables)
        with self.writer.as_default():
            for v, g in zip(self.model.trainable_variables, grads):
                tf.summary.histogram("grad/" + v.path, g, step=epoch)
        self.writer.flush()
'''),
    ("log_mel_per_clip_loop", "a1_log_mel", '''
def log_mel_spectrogram(padded, sr=SR, n_mels=N_MELS):
    out = []
    for y in padded:
        mel = librosa.feature.melspectrogram(y=y.astype(np.float64), sr=sr, n_fft=N_FFT,
                                             hop_length=HOP_LENGTH, n_mels=n_mels)
        mel = mel / max(mel.max(), 1e-20)
        out.append(np.clip(10 * np.log10(np.maximum(mel, 1e-10)), -80.0, None).T)
    return np.array(out, dtype=np.float32)


def spectrogram_mask(mask, hop_length=HOP_LENGTH):
    n_frames = 1 + mask.shape[1] // hop_length
    padded_mask = np.concatenate([mask, np.zeros((mask.shape[0], hop_length), bool)], axis=1)
    return padded_mask[:, ::hop_length][:, :n_frames]
'''),
    ("spectrogram_bidirectional_layernorm", "a1_build_spectrogram_lstm", '''
def build_spectrogram_lstm(n_steps, n_mels, n_classes=N_CLASSES):
    spec = keras.Input((n_steps, n_mels))
    mask = keras.Input((n_steps,), dtype="bool")
    x = layers.LayerNormalization()(spec)
    x = layers.Bidirectional(layers.LSTM(32, return_sequences=True))(x, mask=mask)
    x = layers.GlobalAveragePooling1D()(x, mask=mask)
    x = layers.Dense(32, activation="relu")(x)
    return keras.Model([spec, mask], layers.Dense(n_classes, activation="softmax")(x))
'''),
    ("augment_pitch_then_stretch_chunked_jobs", "a1_augment", '''
def augment_clip(signal, sr=SR):
    signal = np.asarray(signal, dtype=np.float32)
    versions = [signal]
    for rate in STRETCH_RATES:
        for steps in PITCH_STEPS:
            if rate == 1.0 and steps == 0:
                continue
            y = signal
            if steps != 0:
                y = librosa.effects.pitch_shift(y, sr=sr, n_steps=steps, n_fft=N_FFT)
            if rate != 1.0:
                y = librosa.effects.time_stretch(y, rate=rate, n_fft=N_FFT)
            versions.append(y.astype(np.float32))
    return versions


def _augment_many(chunk, sr):
    return [augment_clip(s, sr) for s in chunk]


def augment_dataset(signals, labels, sr=SR):
    chunks = [signals[i:i + 16] for i in range(0, len(signals), 16)]
    results = joblib.Parallel(n_jobs=2)(joblib.delayed(_augment_many)(c, sr) for c in chunks)
    out = [v for chunk in results for versions in chunk for v in versions]
    return out, np.repeat(labels, 9)
'''),
    ("cnn_global_pooling", "a1_build_cnn", '''
def build_cnn(n_steps, n_mels, n_classes=N_CLASSES):
    inp = keras.Input((n_steps, n_mels))
    x = layers.Reshape((n_steps, n_mels, 1))(inp)
    x = layers.BatchNormalization()(x)
    for f in (32, 64):
        x = layers.Conv2D(f, (3, 3), activation="relu", padding="same")(x)
        x = layers.MaxPooling2D((2, 2))(x)
    x = layers.GlobalAveragePooling2D()(x)
    out = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inp, out)
'''),
    ("predict_digits_batched_call", "a1_predict_digits", '''
def predict_digits(model, kind, paths):
    if kind not in ("raw", "spectrogram", "cnn"):
        raise ValueError(f"unknown kind {kind!r}")
    signals = load_audio(paths)
    padded, mask = pad_and_mask(signals, MAX_LEN)
    if kind == "raw":
        x = frame_signals(padded, mask, FRAME_LEN)
        x = [x[0], x[1]]
    elif kind == "spectrogram":
        x = [log_mel_spectrogram(padded, sr=SR, n_mels=N_MELS), spectrogram_mask(mask)]
    else:
        x = log_mel_spectrogram(padded, sr=SR, n_mels=N_MELS)
    probs = keras.ops.convert_to_numpy(model(x, training=False))
    return probs.argmax(axis=1)
'''),
]
