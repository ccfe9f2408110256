"""Does assignment 4's master run on an instructor's own corpus (``CORPUS`` set), as its set-up cell says?

The notebook's default path (FSDD speakers) is executed by ``make reference`` and by the validity
suite's executed reference; this test executes the other path: a ``Train|Validation|Test/<class>/``
corpus the test writes from FSDD clips of two speakers, resampled to 16 kHz (the notebook reads it
back at 8 kHz), with the epochs cut down so that it runs in about two minutes.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import source_data as sd

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
CLASSES = ("jackson", "theo")          # folder names: any class names will do
SPLITS = {"Train": range(20, 50), "Validation": range(10, 15), "Test": range(5, 7)}   # takes per digit


def _write_corpus(root: Path) -> dict[str, list[Path]]:
    import librosa

    clips = sd.load_spoken_digits("student")
    written: dict[str, list[Path]] = {}
    for split, takes in SPLITS.items():
        for i in np.flatnonzero(np.isin(clips.speakers, CLASSES) & np.isin(clips.takes, list(takes))):
            y, sr = sf.read(clips.paths[i], dtype="float32")
            path = root / split / str(clips.speakers[i]) / f"{clips.digits[i]}_{clips.takes[i]}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, librosa.resample(y, orig_sr=sr, target_sr=16000), 16000, subtype="PCM_16")
            written.setdefault(split, []).append(path)
    return written


def test_the_master_runs_on_a_class_folders_corpus(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    corpus = _write_corpus(tmp_path / "voices")
    nb = nbformat.read(REPO / "solutions" / "a4_voices.ipynb", as_version=4)
    setup = next(c for c in nb.cells if (c.metadata.get("nbgrader") or {}).get("grade_id") == "a4_setup")
    for old, new in (("CORPUS = None", f"CORPUS = Path({str(tmp_path / 'voices')!r})"),
                     ('EPOCHS = {"source": 10, "cnn": 12, "transfer": (10, 5)}',
                      'EPOCHS = {"source": 2, "cnn": 4, "transfer": (3, 2)}'),
                     ("CURVE_EPOCHS = {5: (40, 20), 20: (25, 12)}", "CURVE_EPOCHS = {5: (4, 2), 20: (4, 2)}")):
        assert setup.source.count(old) == 1, f"the set-up cell no longer says {old!r}: update this test"
        setup.source = setup.source.replace(old, new)
    work = tmp_path / "work"
    work.mkdir()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()

    metrics = json.loads((work / "artifacts" / "a4" / "metrics.json").read_text())
    assert metrics["classes"] == list(CLASSES)
    per_split = {s.lower(): len(p) for s, p in corpus.items()}
    assert metrics["n"] == {"train": per_split["train"], "validation": per_split["validation"]}
    assert set(metrics["learning_curve"]) == {"all", "5", "20"}      # 300 training clips per class
    assert set(metrics["validation"]) == {"svm_raw", "svm_mfcc", "cnn", "transfer"}
    for name, r in metrics["validation"].items():
        assert np.array(r["confusion"]).shape == (2, 2) and np.sum(r["confusion"]) == per_split["validation"], name
    assert metrics["validation"]["svm_mfcc"]["accuracy"] >= 0.9, "two speakers are easy on MFCC statistics"

    import keras

    for name, classes in (("source", 10), ("cnn", 2), ("transfer", 2)):
        model = keras.models.load_model(work / "artifacts" / "a4" / f"{name}.keras")
        assert model.output_shape[1:] == (classes,), name
    # the notebook's own prediction function reads the test files (16 kHz) and names the classes
    from authoring.reference import reference_module

    answers = reference_module("a4_voices")
    cnn = keras.models.load_model(work / "artifacts" / "a4" / "cnn.keras")
    names = answers.predict_labels(cnn, corpus["Test"], classes=CLASSES)
    truth = [p.parent.name for p in corpus["Test"]]
    assert set(names) <= set(CLASSES) and np.mean(np.asarray(names) == truth) >= 0.75, (names, truth)


def test_does_the_build_cnn_visible_check_accept_a_sequential_model_never_called():
    """The docstring allows any keras.Model; ``.output`` of an uncalled Sequential raised AttributeError."""
    import keras
    import nbformat
    from keras import layers

    nb = nbformat.read(REPO / "solutions" / "a4_voices.ipynb", as_version=4)
    check = next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "a4_check_build_cnn")

    def sequential(n_classes, image_shape=(64, 32)):
        return keras.Sequential([layers.Conv2D(8, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
                                 layers.Flatten(name="trunk"), layers.Dense(n_classes, activation="softmax")])

    exec(check, {"np": np, "IMAGE_SHAPE": (64, 32), "build_cnn": sequential})
    with pytest.raises(AssertionError, match="maps 16 x 24 images to 10 classes"):
        exec(check, {"np": np, "IMAGE_SHAPE": (64, 32), "build_cnn": lambda n, shape=(64, 32): sequential(6, shape)})
