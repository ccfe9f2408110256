'''Alternative correct answers for assignment 4: each must score full marks on the answer checks.

``ALTERNATIVES = [(alt_id, grade_id, replacement_cell_source), ...]`` (graded answers-only by
``tests/validity/test_validity.py``): other library idioms (scikit-learn, pandas, scipy, keras.ops),
other loops and other architectures that meet the specification of the master's docstrings. Each
entry replaces one whole answer cell, so a cell that defines several functions defines them all.
'''
from __future__ import annotations

ALTERNATIVES = [
    # ---- part 1: scikit-learn's train_test_split on every group, its seed drawn from default_rng(seed)
    ("split_train_test_split_per_group", "a4_validation_split", '''
def validation_split(speakers, digits, *, fraction=0.2, seed=0):
    """train_test_split of each (speaker, digit) group; the random states come from default_rng(seed)."""
    from sklearn.model_selection import train_test_split

    speakers = np.asarray(speakers)
    digits = np.asarray(digits)
    if len(speakers) != len(digits):
        raise ValueError("speakers and digits must have the same length")
    if fraction <= 0 or fraction >= 1:
        raise ValueError("fraction must lie strictly between 0 and 1")
    rng = np.random.default_rng(seed)
    train, validation = [], []
    pairs = sorted(set(zip(speakers.tolist(), digits.tolist())))
    for speaker, digit in pairs:
        group = np.where((speakers == speaker) & (digits == digit))[0]
        n_val = int(round(fraction * len(group)))
        if n_val == 0:
            train.extend(group)
        elif n_val == len(group):
            validation.extend(group)
        else:
            tr, va = train_test_split(group, test_size=n_val, random_state=int(rng.integers(2**31 - 1)))
            train.extend(tr)
            validation.extend(va)
    return np.sort(np.array(train, dtype=np.int64)), np.sort(np.array(validation, dtype=np.int64))
'''),
    # ---- part 1: one group code per clip (np.unique's inverse), a permutation of every group, a boolean mask
    ("split_group_codes_permutation_mask", "a4_validation_split", '''
def validation_split(speakers, digits, *, fraction=0.2, seed=0):
    """Group codes from np.unique(return_inverse=True); the first round(fraction * size) of a permuted group."""
    speakers, digits = np.asarray(speakers).ravel(), np.asarray(digits).ravel()
    if speakers.size != digits.size:
        raise ValueError(f"{speakers.size} speakers but {digits.size} digits")
    if not (0.0 < fraction < 1.0):
        raise ValueError(f"fraction={fraction} is not in (0, 1)")
    _, s_code = np.unique(speakers, return_inverse=True)
    _, d_code = np.unique(digits, return_inverse=True)
    group_of = s_code.ravel() * (d_code.max() + 1) + d_code.ravel()
    rng = np.random.default_rng(seed)
    in_validation = np.zeros(speakers.size, dtype=bool)
    for g in np.unique(group_of):
        members = np.nonzero(group_of == g)[0]
        shuffled = rng.permutation(members)
        in_validation[shuffled[:round(fraction * members.size)]] = True
    return (np.flatnonzero(~in_validation).astype(np.int64),
            np.flatnonzero(in_validation).astype(np.int64))
'''),
    # ---- part 1: pandas groupby(...).sample(frac=...) with a numpy Generator as its random_state
    ("split_pandas_groupby_sample", "a4_validation_split", '''
def validation_split(speakers, digits, *, fraction=0.2, seed=0):
    """pandas: DataFrameGroupBy.sample(frac=fraction) takes round(frac * size) rows of each group."""
    import pandas as pd

    if not 0 < fraction < 1:
        raise ValueError("fraction must be strictly between 0 and 1")
    if len(speakers) != len(digits):
        raise ValueError("speakers and digits differ in length")
    table = pd.DataFrame({"speaker": np.asarray(speakers), "digit": np.asarray(digits)})
    picked = table.groupby(["speaker", "digit"]).sample(frac=fraction, random_state=np.random.default_rng(seed))
    validation = np.sort(picked.index.to_numpy()).astype(np.int64)
    train = np.sort(table.index.difference(picked.index).to_numpy()).astype(np.int64)
    return train, validation
'''),
    # ---- part 2: librosa computes the power itself (melspectrogram(y=...)), keras.ops.image.resize
    ("mel_image_melspectrogram_y_keras_ops_resize", "a4_mel_image", '''
def mel_image(y, sr=SR):
    """melspectrogram(y=..., power=2.0); keras.ops.image.resize (bilinear, channels last)."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError("y must be 1-D")
    if len(y) == 0:
        raise ValueError("y is empty")
    mel = librosa.feature.melspectrogram(y=y.astype(np.float32), sr=sr, n_fft=N_FFT, hop_length=HOP_LENGTH,
                                         n_mels=N_MELS, power=2.0, center=True)
    log2 = np.log2(np.maximum(mel, 1e-10)).astype(np.float32)
    resized = keras.ops.image.resize(log2[:, :, np.newaxis], IMAGE_SHAPE, interpolation="bilinear")
    image = keras.ops.convert_to_numpy(resized)[:, :, 0]
    scaled = (image - LOG2_FLOOR) / (LOG2_CEIL - LOG2_FLOOR)
    return np.clip(scaled, 0, 1).astype("float32")
'''),
    # ---- part 2: mel filter bank times |STFT|^2 by hand, scipy.ndimage.zoom(order=1) as the bilinear resize
    #      (zoom's default grid aligns the corner samples, tf.image.resize uses half-pixel centres: on a 2.3 s
    #      clip the 95th-percentile difference reaches 0.11; test_mel_image_values allows 0.14)
    ("mel_image_filterbank_scipy_zoom", "a4_mel_image", '''
def mel_image(y, sr=SR):
    """librosa.filters.mel @ |stft|^2, then scipy.ndimage.zoom with order=1 (bilinear)."""
    from scipy import ndimage

    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or y.shape[0] < 1:
        raise ValueError("mel_image needs a non-empty one-dimensional clip")
    spectrum = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP_LENGTH, center=True)) ** 2
    bank = librosa.filters.mel(sr=sr, n_fft=N_FFT, n_mels=N_MELS)
    log2 = np.log2(np.maximum(bank @ spectrum, 1e-10))
    rows, cols = IMAGE_SHAPE
    image = ndimage.zoom(log2, (rows / log2.shape[0], cols / log2.shape[1]), order=1)
    image = (image - LOG2_FLOOR) / (LOG2_CEIL - LOG2_FLOOR)
    return np.minimum(np.maximum(image, 0.0), 1.0).astype(np.float32)
'''),
    # ---- part 2: a bilinear resize written with np.interp (half-pixel centres, as tf.image.resize)
    ("mel_image_numpy_interp_resize", "a4_mel_image", '''
def _resize_axis(a, size, axis):
    """Linear interpolation along one axis to ``size`` samples, half-pixel centres like tf.image.resize."""
    n = a.shape[axis]
    positions = np.clip((np.arange(size) + 0.5) * n / size - 0.5, 0, n - 1)
    return np.apply_along_axis(lambda v: np.interp(positions, np.arange(n), v), axis, a)


def mel_image(y, sr=SR):
    """Power mel spectrogram -> log2 -> separable bilinear resize in NumPy -> [0, 1]."""
    if not isinstance(y, np.ndarray):
        y = np.array(y, dtype=np.float32)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"expected a non-empty 1-D clip, got shape {y.shape}")
    stft = librosa.stft(y.astype(np.float32), n_fft=N_FFT, hop_length=HOP_LENGTH)
    mel = librosa.feature.melspectrogram(S=np.abs(stft) ** 2, sr=sr, n_mels=N_MELS)
    log2 = np.log2(np.clip(mel, 1e-10, None))
    image = _resize_axis(_resize_axis(log2, IMAGE_SHAPE[0], 0), IMAGE_SHAPE[1], 1)
    return np.clip((image - LOG2_FLOOR) / (LOG2_CEIL - LOG2_FLOOR), 0, 1).astype(np.float32)
'''),
    # ---- part 3: np.pad, MFCC statistics with a loop over the coefficients, SVC(kernel="linear")
    ("baselines_np_pad_loop_svc_linear", "a4_baselines", '''
from sklearn.svm import SVC


def pad_or_cut(clips, length=RAW_LENGTH):
    """np.pad every clip after cutting it."""
    if length < 1:
        raise ValueError("length must be >= 1")
    rows = []
    for clip in clips:
        clip = np.asarray(clip, dtype=np.float32)[:length]
        rows.append(np.pad(clip, (0, length - len(clip)), mode="constant"))
    return np.array(rows, dtype=np.float32).reshape(len(clips), length)


def mfcc_stats(y, sr=SR):
    """The mean and population standard deviation of every MFCC row, one row at a time."""
    mfcc = librosa.feature.mfcc(y=np.asarray(y, dtype=np.float32), sr=sr, n_mfcc=N_MFCC, n_fft=N_FFT,
                                hop_length=HOP_LENGTH, n_mels=N_MELS)
    means, stds = [], []
    for row in mfcc:
        m = row.sum() / len(row)
        means.append(m)
        stds.append(np.sqrt(np.sum((row - m) ** 2) / len(row)))
    return np.array(means + stds, dtype=np.float32)


def svm_baseline(x_train, y_train, x_test, y_test, *, C=SVM_C):
    """StandardScaler + libsvm's SVC with a linear kernel."""
    model = make_pipeline(StandardScaler(), SVC(kernel="linear", C=C))
    model.fit(x_train, y_train)
    predictions = model.predict(x_test)
    correct = sum(int(p == t) for p, t in zip(predictions, np.asarray(y_test)))
    return model, correct / len(predictions)
'''),
    # ---- part 3: librosa.util.fix_length, vectorised statistics with np.std(ddof=0), SGDClassifier(loss="hinge")
    ("baselines_fix_length_sgd_hinge", "a4_baselines", '''
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import Pipeline


def pad_or_cut(clips, length=RAW_LENGTH):
    """librosa.util.fix_length pads with zeros or trims to ``length``."""
    if not length >= 1:
        raise ValueError(f"length={length}: at least one sample")
    out = np.empty((len(clips), length), dtype=np.float32)
    for i, clip in enumerate(clips):
        out[i] = librosa.util.fix_length(np.asarray(clip, dtype=np.float32), size=length)
    return out


def mfcc_stats(y, sr=SR):
    coefficients = librosa.feature.mfcc(y=np.asarray(y, np.float32), sr=sr, n_mfcc=N_MFCC, n_fft=N_FFT,
                                        hop_length=HOP_LENGTH, n_mels=N_MELS)
    return np.hstack((np.mean(coefficients, axis=-1), np.std(coefficients, axis=-1, ddof=0))).astype(np.float32)


def svm_baseline(x_train, y_train, x_test, y_test, *, C=SVM_C):
    """A linear SVM trained by SGD on the hinge loss (alpha = 1 / (C n)), behind a StandardScaler."""
    n = len(x_train)
    model = Pipeline([("scale", StandardScaler()),
                      ("svm", SGDClassifier(loss="hinge", alpha=1.0 / (C * n), max_iter=2000, tol=1e-4,
                                            random_state=0))])
    model.fit(np.asarray(x_train), np.asarray(y_train))
    return model, float(model.score(x_test, y_test))
'''),
    # ---- part 3: slicing into zeros with a list comprehension, frames as rows, standardisation by hand
    ("baselines_manual_standardisation", "a4_baselines", '''
from sklearn.preprocessing import FunctionTransformer


def pad_or_cut(clips, length=RAW_LENGTH):
    if length < 1:
        raise ValueError("length < 1")
    cut = [np.asarray(c, dtype=np.float32).ravel()[:length] for c in clips]
    return np.array([np.concatenate([c, np.zeros(length - c.size, np.float32)]) for c in cut],
                    dtype=np.float32).reshape(len(clips), length)


def mfcc_stats(y, sr=SR):
    frames = librosa.feature.mfcc(y=np.asarray(y, dtype=np.float32), sr=sr, n_mfcc=N_MFCC, n_fft=N_FFT,
                                  hop_length=HOP_LENGTH, n_mels=N_MELS).T          # (frames, N_MFCC)
    mean = frames.mean(axis=0)
    std = np.sqrt(((frames - mean) ** 2).mean(axis=0))
    return np.r_[mean, std].astype(np.float32)


def svm_baseline(x_train, y_train, x_test, y_test, *, C=SVM_C):
    """The training rows' mean and std, computed here, applied by a FunctionTransformer before LinearSVC."""
    x_train = np.asarray(x_train, dtype=np.float64)
    mu = x_train.mean(axis=0)
    sd = x_train.std(axis=0)
    sd[sd == 0] = 1.0
    model = make_pipeline(FunctionTransformer(lambda x: (np.asarray(x, dtype=np.float64) - mu) / sd),
                          LinearSVC(C=C, max_iter=10000))
    model.fit(x_train, y_train)
    accuracy = np.count_nonzero(model.predict(x_test) == np.asarray(y_test)) / len(y_test)
    return model, float(accuracy)
'''),
    # ---- part 4: keras.Sequential, batch norm, a GlobalAveragePooling2D named "trunk"
    ("cnn_sequential_batchnorm_global_average", "a4_build_cnn", '''
def build_cnn(n_classes, image_shape=IMAGE_SHAPE):
    """A Sequential CNN: conv / batch norm / pool twice, a global average pooling as the trunk."""
    return keras.Sequential([
        keras.Input(shape=(image_shape[0], image_shape[1], 1)),
        layers.Conv2D(16, (3, 3), padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.ReLU(),
        layers.MaxPooling2D((2, 2), padding="same"),
        layers.Conv2D(32, (3, 3), padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.ReLU(),
        layers.MaxPooling2D((2, 2), padding="same"),
        layers.Conv2D(64, (3, 3), padding="same", activation="relu"),
        layers.GlobalAveragePooling2D(name="trunk"),
        layers.Dense(32, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(n_classes, activation="softmax"),
    ], name="speaker_cnn")
'''),
    # ---- part 4: functional, two strided convolution blocks, GlobalMaxPooling2D trunk, a separate softmax layer
    ("cnn_functional_strided_global_max_activation", "a4_build_cnn", '''
def build_cnn(n_classes, image_shape=IMAGE_SHAPE):
    inputs = keras.Input(shape=tuple(image_shape) + (1,))
    x = inputs
    for filters in (24, 48):
        x = layers.Conv2D(filters, 3, strides=2, padding="same")(x)
        x = layers.Activation("relu")(x)
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    features = layers.GlobalMaxPooling2D(name="trunk")(x)
    x = layers.Dense(48, activation="relu")(features)
    x = layers.Dense(n_classes)(x)
    outputs = layers.Activation("softmax")(x)
    return keras.Model(inputs=inputs, outputs=outputs)
'''),
    # ---- part 4: the convolutions in a nested Sequential block, then Flatten(name="trunk")
    ("cnn_nested_sequential_block_flatten", "a4_build_cnn", '''
def build_cnn(n_classes, image_shape=IMAGE_SHAPE):
    convolutions = keras.Sequential([
        layers.Conv2D(16, 5, padding="same", activation="relu"),
        layers.AveragePooling2D(2),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.AveragePooling2D(2),
    ], name="convolutions")
    image = keras.Input((*image_shape, 1))
    flat = layers.Flatten(name="trunk")(convolutions(image))
    hidden = layers.Dropout(0.25)(layers.Dense(64, activation="relu")(flat))
    return keras.Model(image, layers.Dense(n_classes, activation="softmax")(hidden))
'''),
    # ---- part 5: the trunk's layers rebuilt from their configs, weights copied with set_weights, frozen per
    #      layer; per_class_subset with rng.permutation
    ("transfer_rebuild_set_weights_permutation", "a4_transfer", '''
def transfer_model(source, n_classes, *, freeze=True):
    """New layers from the source's configs (input .. 'trunk'), each given the source's weights."""
    names = [layer.name for layer in source.layers]
    if "trunk" not in names:
        raise ValueError("source has no 'trunk' layer")
    inputs = keras.Input(shape=tuple(source.inputs[0].shape[1:]))
    x = inputs
    for layer in source.layers[:names.index("trunk") + 1]:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        twin = layer.__class__.from_config(layer.get_config())
        x = twin(x)
        twin.set_weights([np.array(w) for w in layer.get_weights()])
        twin.trainable = not freeze
    x = layers.Dense(64, activation="relu")(x)
    x = layers.Dropout(0.3)(x)
    return keras.Model(inputs, layers.Dense(n_classes, activation="softmax")(x))


def per_class_subset(labels, k, *, seed=0):
    labels = np.asarray(labels)
    if k is None:
        return np.arange(len(labels), dtype=np.int64)
    if k < 1:
        raise ValueError("k must be >= 1")
    rng = np.random.default_rng(seed)
    chosen = []
    for c in np.unique(labels):
        idx = np.where(labels == c)[0]
        if len(idx) < k:
            raise ValueError(f"class {c} has only {len(idx)} clips")
        chosen.extend(rng.permutation(idx)[:k].tolist())
    return np.array(sorted(chosen), dtype=np.int64)
'''),
    # ---- part 5: clone_model of the whole source, cut at get_layer("trunk") (which raises ValueError itself
    #      when there is none), freezing layer by layer; per_class_subset from one shuffled order
    ("transfer_clone_cut_freeze_per_layer_shuffle", "a4_transfer", '''
def transfer_model(source, n_classes, *, freeze=True):
    clone = keras.models.clone_model(source)
    clone.set_weights([w.copy() for w in source.get_weights()])
    trunk_output = clone.get_layer("trunk").output      # ValueError: No such layer: trunk
    trunk = keras.Model(clone.inputs, trunk_output)
    for layer in trunk.layers:
        layer.trainable = not freeze
    head = layers.Dense(32, activation="relu")(trunk.output)
    head = layers.Dense(n_classes, activation="softmax")(head)
    return keras.Model(trunk.inputs, head)


def per_class_subset(labels, k, *, seed=0):
    """Shuffle every index once; keep the first k of each class in that order."""
    labels = np.asarray(labels)
    if k is None:
        return np.arange(labels.shape[0], dtype=np.int64)
    if k < 1:
        raise ValueError(f"k={k} < 1")
    classes, counts = np.unique(labels, return_counts=True)
    if counts.min() < k:
        raise ValueError(f"class {classes[counts.argmin()]!r} has {counts.min()} clips, fewer than {k}")
    order = np.random.default_rng(seed).permutation(labels.shape[0])
    taken = {c: 0 for c in classes.tolist()}
    keep = []
    for i in order:
        c = labels[i].item()
        if taken[c] < k:
            taken[c] += 1
            keep.append(i)
    return np.sort(np.asarray(keep, dtype=np.int64))
'''),
    # ---- part 5: the source copied through a saved .keras file, the trunk as a nested frozen model;
    #      per_class_subset with rng.choice over a boolean-mask loop and np.concatenate
    ("transfer_save_load_copy_nested_trunk", "a4_transfer", '''
import tempfile
from pathlib import Path


def transfer_model(source, n_classes, *, freeze=True):
    """Copy by serialisation: save the source, load it back, keep input .. 'trunk' as a frozen sub-model."""
    if not any(layer.name == "trunk" for layer in source.layers):
        raise ValueError("transfer_model needs a source with a layer named 'trunk'")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "source.keras"
        source.save(path)
        copy = keras.models.load_model(path, compile=False)
    trunk = keras.Model(copy.inputs, copy.get_layer("trunk").output, name="copied_trunk")
    if freeze:
        trunk.trainable = False
    image = keras.Input(shape=tuple(source.inputs[0].shape[1:]))
    features = trunk(image)
    hidden = layers.Dense(64, activation="relu")(features)
    return keras.Model(image, layers.Dense(n_classes, activation="softmax")(hidden))


def per_class_subset(labels, k, *, seed=0):
    labels = np.asarray(labels)
    if k is None:
        return np.arange(labels.size).astype(np.int64)
    if k < 1:
        raise ValueError("k must be positive")
    rng = np.random.default_rng(seed)
    parts = []
    for c in sorted(set(labels.tolist())):
        members = np.nonzero(labels == c)[0]
        if members.size < k:
            raise ValueError(f"not enough clips of class {c}")
        parts.append(rng.choice(members, k, replace=False))
    return np.sort(np.concatenate(parts)).astype(np.int64)
'''),
    # ---- part 6: the confusion matrix from np.bincount of i * n + j
    ("evaluate_bincount", "a4_evaluate", '''
def evaluate_predictions(y_true, y_pred, n_classes):
    y_true = np.asarray(y_true, dtype=np.int64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.int64).ravel()
    if len(y_true) != len(y_pred):
        raise ValueError("y_true and y_pred must have the same length")
    both = np.concatenate([y_true, y_pred])
    if np.any(both < 0) or np.any(both >= n_classes):
        raise ValueError(f"labels must lie in 0..{n_classes - 1}")
    confusion = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes)
    confusion = confusion.reshape(n_classes, n_classes).astype(np.int64)
    per_class = confusion.sum(axis=1)
    recall = np.zeros(n_classes, dtype=np.float64)
    has = per_class > 0
    recall[has] = np.diag(confusion)[has] / per_class[has]
    accuracy = float(np.mean(y_true == y_pred)) if len(y_true) else 0.0
    return {"accuracy": accuracy, "recall": recall, "confusion": confusion}
'''),
    # ---- part 6: plain Python loops
    ("evaluate_python_loops", "a4_evaluate", '''
def evaluate_predictions(y_true, y_pred, n_classes):
    truth = [int(v) for v in np.ravel(y_true)]
    guess = [int(v) for v in np.ravel(y_pred)]
    if len(truth) != len(guess):
        raise ValueError(f"{len(truth)} true labels, {len(guess)} predictions")
    for label in truth + guess:
        if not 0 <= label < n_classes:
            raise ValueError(f"label {label} outside 0..{n_classes - 1}")
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    for t, p in zip(truth, guess):
        confusion[t][p] += 1
    recall = []
    for c in range(n_classes):
        total = sum(confusion[c])
        recall.append(confusion[c][c] / total if total else 0.0)
    correct = sum(1 for t, p in zip(truth, guess) if t == p)
    return {"accuracy": correct / len(truth) if truth else 0.0,
            "recall": np.array(recall, dtype=np.float64),
            "confusion": confusion}
'''),
    # ---- part 7: librosa.load(path, sr=SR, mono=True), the model called on the batch
    ("predict_librosa_load_mono", "a4_predict", '''
def predict_labels(model, paths, classes=SPEAKERS):
    """librosa.load resamples to SR and averages the channels itself."""
    batch = np.stack([mel_image(librosa.load(str(path), sr=SR, mono=True)[0]) for path in paths])
    scores = keras.ops.convert_to_numpy(model(batch[..., np.newaxis], training=False))
    names = [classes[i] for i in np.argmax(scores, axis=-1)]
    return np.array(names, dtype=str)
'''),
    # ---- part 7: soundfile + librosa.to_mono + librosa.resample, one file at a time, predict_on_batch
    ("predict_soundfile_to_mono_one_by_one", "a4_predict", '''
def predict_labels(model, paths, classes=SPEAKERS):
    labels = []
    for path in paths:
        data, rate = soundfile.read(str(path))
        data = data.astype(np.float32)
        if data.ndim == 2:
            data = librosa.to_mono(data.T)        # librosa wants (channels, samples)
        if rate != SR:
            data = librosa.resample(data, orig_sr=rate, target_sr=SR)
        image = mel_image(data).reshape(1, *IMAGE_SHAPE, 1)
        probabilities = np.asarray(model.predict_on_batch(image))[0]
        labels.append(classes[int(probabilities.argmax())])
    return np.asarray(labels)
'''),
    # ---- part 7: scipy.signal.resample_poly for another rate (any resampler is "resampled to SR")
    ("predict_scipy_resample_poly", "a4_predict", '''
from math import gcd

from scipy.signal import resample_poly


def predict_labels(model, paths, classes=SPEAKERS):
    images = []
    for path in paths:
        y, sr = soundfile.read(path, dtype="float32", always_2d=True)
        y = y.mean(axis=1)
        if sr != SR:
            g = gcd(SR, sr)
            y = resample_poly(y, SR // g, sr // g).astype(np.float32)
        images.append(mel_image(y))
    x = np.asarray(images, dtype=np.float32)[..., None]
    return np.asarray(classes)[model.predict(x, verbose=0).argmax(axis=1)]
'''),
]
