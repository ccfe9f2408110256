"""Do the run checks apply what is documented? Thresholds in effect, complete training runs.

The run checks derive their thresholds from ``reference/<assignment>.json``. The check process
runs in the engine's sandbox, which reads only what ``grader/job.py`` (``check_run``) lets it read; once it
could not read ``reference/`` and the checks silently fell back to lower thresholds (issue 15).

* the documented thresholds (README, the docstrings of the ``test_runs`` modules) are what the
  committed reference figures give, and every message the student reads names them;
* in the sandbox, with the read list ``grade_assignment`` builds, each run check fails a tiny
  model that cannot reach any threshold and its detail names the documented threshold;
* with ``reference/`` left out of that read list, the checks end in a check error, never pass
  and never name a threshold;
* the TensorBoard-scalars checks expect the epochs the notebooks configure and refuse a run
  interrupted before its last epoch (no model saved), on logs written by Keras' own callback.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]

# what README.md and the test_runs docstrings document (and checks.json shows the student)
DOCUMENTED = {
    "a1_spoken_digits": {"raw_lstm": 0.52, "raw_lstm_aug": 0.60, "spectrogram_lstm": 0.93,
                         "spectrogram_lstm_aug": 0.93, "cnn": 0.93},
    "a2_text_generation": {"char_lm": 2.10, "word_lm": 2.13, "word_perplexity": 250.0},
    "a3_fake_or_real": {"lstm.eer": 0.22, "lstm.f1": 0.70, "fusion_relu.eer": 0.22, "fusion_relu.f1": 0.69,
                        "fusion_gelu.eer": 0.21, "fusion_gelu.f1": 0.69, "unseen_eer": 0.14},
    "a4_voices": {"source": 0.89, "cnn": 0.95, "transfer": 0.95},
}
# run check -> {threshold it applies: the pattern of its failure detail that names it}
BELOW, ABOVE, AT_MOST, AT_LEAST = r"below (\d+\.\d+)", r"above (\d+(?:\.\d+)?)", r"at most (\d+\.\d+)", r"at least (\d+\.\d+)"
A1_CHECKS = {f"test_hidden_micro_f1[{name}]": {name: BELOW} for name in DOCUMENTED["a1_spoken_digits"]}
A2_CHECKS = {"test_char_lm_hidden_bits_per_char": {"char_lm": ABOVE}, "test_word_lm_hidden_bits_per_char": {"word_lm": ABOVE},
             "test_word_lm_hidden_perplexity": {"word_perplexity": ABOVE}}
A3_CHECKS = {**{f"test_hidden_seen_attacks[{n}]": {f"{n}.eer": AT_MOST, f"{n}.f1": AT_LEAST}
                for n in ("lstm", "fusion_relu", "fusion_gelu")},
             "test_hidden_unseen_attack": {"unseen_eer": AT_MOST}}
A4_CHECKS = {f"test_hidden_accuracy[{name}]": {name: AT_LEAST} for name in DOCUMENTED["a4_voices"]}


def _flat(thresholds: dict, prefix: str = "") -> dict[str, float]:
    """``{"lstm": {"eer": 0.22}}`` -> ``{"lstm.eer": 0.22}`` (flat dicts unchanged)."""
    out: dict[str, float] = {}
    for key, value in thresholds.items():
        out.update(_flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return out


def _shown(value: float) -> str:
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"


def _runs_module(assignment: str):
    import importlib

    return importlib.import_module(f"grader.checks.{assignment}.test_runs")


@pytest.mark.parametrize("assignment", list(DOCUMENTED))
def test_do_the_committed_figures_give_the_documented_thresholds(assignment):
    module = _runs_module(assignment)
    assert _flat(module.THRESHOLDS) == pytest.approx(DOCUMENTED[assignment], abs=1e-9)
    doc = module.__doc__
    for value in DOCUMENTED[assignment].values():
        assert _shown(value) in doc


def test_is_a_threshold_floored_without_float_slips():
    a1, a2 = _runs_module("a1_spoken_digits"), _runs_module("a2_text_generation")
    # 0.95 - 0.05 is 0.8999999999999999 in floating point: the threshold is 0.90, not 0.89
    figures = {"raw_lstm": 0.65, "raw_lstm_aug": 0.65, "spectrogram_lstm": 0.95, "spectrogram_lstm_aug": 0.98,
               "cnn": 0.97}
    assert a1.thresholds_from(figures) == {"raw_lstm": 0.50, "raw_lstm_aug": 0.50, "spectrogram_lstm": 0.90,
                                           "spectrogram_lstm_aug": 0.93, "cnn": 0.92}
    got = a2.thresholds_from({"hidden_bits_per_char": {"char_lm": 2.02, "word_lm": 1.92},
                              "hidden_word_perplexity": 200.0})
    assert got == {"char_lm": 2.10, "word_lm": 2.00, "word_perplexity": 230.0}


def _check_run(assignment: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The CheckRun that ``grade_assignment`` uses for ``assignment`` (its read list included), with
    the reference answers module written where ``grade_assignment`` writes it."""
    from grader.answers import write_answers
    from grader.config import Options
    from grader.extract import build_answers
    from grader.job import check_run, resolve
    from grader.notebook import read_master

    opts = resolve(Options(assignment=assignment, out=tmp_path / "gb"))
    run = check_run(opts, threads=1)
    master = read_master(opts.solutions / f"{assignment}.ipynb")
    run.reference_module.parent.mkdir(parents=True, exist_ok=True)
    write_answers(build_answers(master, None, title=f"{assignment} reference"), run.reference_module)
    return run


def _a1_artifacts(folder: Path) -> None:
    """Five saved models that predict digit 0 for every clip (micro-F1 0.1 on the hidden clips)."""
    import keras

    from authoring.reference import reference_module

    ref = reference_module("a1_spoken_digits")
    n_frames, n_steps = ref.MAX_LEN // ref.FRAME_LEN, 1 + ref.MAX_LEN // ref.HOP_LENGTH

    def constant(features, mask):
        x = keras.layers.GlobalAveragePooling1D()(features, mask=mask)
        bias = keras.initializers.Constant(np.eye(10)[0] * 10.0)
        return keras.layers.Dense(10, activation="softmax", kernel_initializer="zeros", bias_initializer=bias)(x)

    folder.mkdir(parents=True)
    for name in DOCUMENTED["a1_spoken_digits"]:
        if name.startswith("raw"):
            inputs = [keras.Input((n_frames, ref.FRAME_LEN)), keras.Input((n_frames,), dtype="bool")]
        elif name.startswith("spectrogram"):
            inputs = [keras.Input((n_steps, ref.N_MELS)), keras.Input((n_steps,), dtype="bool")]
        else:
            inputs = keras.Input((n_steps, ref.N_MELS))
        out = constant(*inputs) if isinstance(inputs, list) else constant(inputs, None)
        keras.Model(inputs, out).save(folder / f"{name}.keras")


def _a2_artifacts(folder: Path) -> None:
    """Uniform character and word models (log2 |vocab| bits per token: far above every threshold)."""
    import keras

    from authoring.reference import reference_module

    ref = reference_module("a2_text_generation")
    vocabs = {"char_lm": sorted(set(ref.ALPHABET) | {ref.BOUNDARY}),
              "word_lm": [ref.BOUNDARY, ref.UNK] + [f"w{i}" for i in range(600)]}   # perplexity 602
    folder.mkdir(parents=True)
    for name, vocab in vocabs.items():
        ids = keras.Input((None,), dtype="int32")
        x = keras.layers.Embedding(len(vocab), 2, embeddings_initializer="zeros")(ids)
        keras.Model(ids, keras.layers.Dense(len(vocab), kernel_initializer="zeros")(x)).save(folder / f"{name}.keras")
        (folder / f"{name.split('_')[0]}_vocab.json").write_text(json.dumps(vocab))


def _a3_artifacts(folder: Path) -> None:
    """The master's three detectors with every weight zero: P(fake) 0.5 for every clip (EER 0.5)."""
    from authoring.reference import reference_module

    ref = reference_module("a3_fake_or_real")
    folder.mkdir(parents=True)
    models = {"lstm": ref.build_lstm_detector(), "fusion_relu": ref.build_fusion("relu"),
              "fusion_gelu": ref.build_fusion("gelu")}
    for name, model in models.items():
        model.set_weights([np.zeros_like(w) for w in model.get_weights()])
        model.save(folder / f"{name}.keras")
    np.savez(folder / "normaliser.npz", mean=np.zeros(ref.N_FEATURES, np.float32),
             std=np.ones(ref.N_FEATURES, np.float32))


def _a4_artifacts(folder: Path) -> None:
    """The master's three CNNs with every weight zero: the same class for every clip (accuracy 0.1 / 0.17)."""
    from authoring.reference import reference_module

    ref = reference_module("a4_voices")
    folder.mkdir(parents=True)
    for name, n_classes in (("source", 10), ("cnn", 6), ("transfer", 6)):
        model = ref.build_cnn(n_classes)
        model.set_weights([np.zeros_like(w) for w in model.get_weights()])
        model.save(folder / f"{name}.keras")


@pytest.fixture(scope="module")
def numba_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """librosa's compiled kernels, shared by this module's check runs as a batch shares them.

    Without it every check process compiles them again (20-30 s each); the code run here is the
    reference and the checks, trusted, so it fills the cache in place as the self-check does.
    """
    return tmp_path_factory.mktemp("numba")


def _run_in_sandbox(run, tmp_path: Path, names: dict[str, str],
                    numba_cache: Path) -> tuple[dict[str, dict], list[dict]]:
    from grader.checking import collect_checks, run_checks

    checks = [c for c in collect_checks(run) if c["name"] in names]
    assert {c["name"] for c in checks} == set(names)
    log_path = tmp_path / "checks.log"
    with open(log_path, "w") as log:
        outcome = run_checks(run, checks, student_module=None, workdir=tmp_path / "work", tmp=tmp_path / "checks",
                             log=log, numba_cache=numba_cache, share_numba_cache=True)
    assert set(outcome.results) >= {c["nodeid"] for c in checks}, log_path.read_text()[-3000:]
    return {r["name"]: r for r in outcome.results.values() if r["name"] in names}, checks


SETUPS = {"a1_spoken_digits": (A1_CHECKS, _a1_artifacts), "a2_text_generation": (A2_CHECKS, _a2_artifacts),
          "a3_fake_or_real": (A3_CHECKS, _a3_artifacts), "a4_voices": (A4_CHECKS, _a4_artifacts)}


def _landlock_or_skip() -> None:
    from grader.sandbox import landlock_abi

    if landlock_abi() < 1:
        pytest.skip("no Landlock here: the check process can read every file, so the read list is not tested")


@pytest.mark.parametrize("assignment", list(DOCUMENTED))
def test_are_the_documented_thresholds_in_effect_in_the_sandbox(assignment, tmp_path, monkeypatch, numba_cache):
    _landlock_or_skip()
    names, make = SETUPS[assignment]
    run = _check_run(assignment, tmp_path, monkeypatch)
    make(tmp_path / "work" / "artifacts" / assignment.split("_")[0])
    results, checks = _run_in_sandbox(run, tmp_path, names, numba_cache)
    for check in checks:      # the messages collected for checks.json name the documented threshold
        for which in names[check["name"]]:
            assert _shown(DOCUMENTED[assignment][which]) in check["message"], check["message"]
    in_effect = {}
    for name, applied in names.items():
        r = results[name]
        assert r["outcome"] == "failed" and not r["check_error"], r
        for which, pattern in applied.items():
            found = re.findall(pattern, r["output"])
            assert found, r["output"]
            in_effect[which] = float(found[-1])
    assert in_effect == pytest.approx(DOCUMENTED[assignment], abs=1e-9)


@pytest.mark.parametrize("assignment", list(DOCUMENTED))
def test_is_an_unreadable_reference_a_grader_error(assignment, tmp_path, monkeypatch, numba_cache):
    _landlock_or_skip()
    names, make = SETUPS[assignment]
    patterns = "|".join(sorted({p for applied in names.values() for p in applied.values()}))
    run = _check_run(assignment, tmp_path, monkeypatch)
    reference = str(REPO / "reference")
    assert reference in run.read          # the read list of grader/job.py lets the checks read the figures
    run.read = [p for p in run.read if p != reference]
    make(tmp_path / "work" / "artifacts" / assignment.split("_")[0])
    results, checks = _run_in_sandbox(run, tmp_path, names, numba_cache)
    for name in names:
        r = results[name]
        assert r["outcome"] == "error" and r["check_error"], r
        assert "ReferenceFiguresMissing" in r["log"] and not re.search(patterns, r["output"]), r
    # the row says so: a grader error (graded again by the next batch), not an `ok` row with points lost
    from grader.record import Record, Status
    from grader.worker import _check_errors

    rec = Record.start("s", assignment, checks, [])
    rec.crashes = _check_errors({r["nodeid"]: r for r in results.values()})
    rec.finish_checks(checks, {r["nodeid"]: r for r in results.values()}, "not run")
    rec.settle()
    assert rec.status is Status.GRADER_ERROR and "reference figures cannot be read" in rec.reason, rec.reason
    # any other exception of a check's own code is named in a `problems` row
    other = {r["nodeid"]: {**r, "log": "TypeError: ..."} for r in results.values()}
    rec.crashes = _check_errors(other)
    rec.settle()
    assert rec.status is Status.PROBLEMS and rec.reason.startswith("check error in "), rec.reason


# ---- complete training runs ----------------------------------------------------------------------

def _master_cell(assignment: str, grade_id: str) -> str:
    nb = json.loads((REPO / "solutions" / f"{assignment}.ipynb").read_text())
    (cell,) = [c for c in nb["cells"] if (c["metadata"].get("nbgrader") or {}).get("grade_id") == grade_id]
    return "".join(cell["source"])


def _assigned(source: str, name: str):
    import ast

    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} is not assigned in the cell")


def test_do_the_scalar_checks_expect_the_epochs_the_notebooks_configure():
    a1, a2, a3, a4 = (_runs_module(a) for a in ("a1_spoken_digits", "a2_text_generation", "a3_fake_or_real",
                                                "a4_voices"))
    assert a4.EPOCHS == _assigned(_master_cell("a4_voices", "a4_setup"), "EPOCHS")
    assert a4.evaluate.VAL_FRACTION == _assigned(_master_cell("a4_voices", "a4_setup"), "VAL_FRACTION")
    assert a3.EPOCHS == _assigned(_master_cell("a3_fake_or_real", "a3_setup"), "EPOCHS")
    assert a1.EPOCHS == _assigned(_master_cell("a1_spoken_digits", "a1_setup"), "EPOCHS")
    train = _assigned(_master_cell("a2_text_generation", "a2_train_char_lm"), "TRAIN")
    assert a2.EPOCHS == {name: settings["epochs"] for name, settings in train.items()}


def _train_and_log(log_dir: Path, epochs: int, stop_after: int | None, metric: str | None) -> None:
    """A tiny model trained with Keras' TensorBoard callback; ``stop_after`` epochs: an interrupted run."""
    import keras

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 3)).astype(np.float32), rng.integers(0, 2, 32)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    metrics = [keras.metrics.SparseCategoricalAccuracy(name=metric)] if metric else []
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=metrics)

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if stop_after is not None and epoch + 1 >= stop_after:
                self.model.stop_training = True

    model.fit(x, y, validation_data=(x, y), epochs=epochs, verbose=0,
              callbacks=[keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False), Interrupt()])


@pytest.mark.parametrize(("assignment", "name"), [("a1_spoken_digits", "raw_lstm_aug"),
                                                  ("a2_text_generation", "char_lm"), ("a3_fake_or_real", "fusion_gelu")])
def test_is_a_run_interrupted_two_epochs_early_refused(assignment, name, tmp_path):
    from grader.api import CheckFailed

    module = _runs_module(assignment)
    done = module.EPOCHS[name] - 2
    short = assignment.split("_")[0]

    def folders(case: str, stop_after: int | None, saved: bool) -> tuple[Path, Path]:
        runs, artifacts = tmp_path / case / "runs" / short, tmp_path / case / "artifacts" / short
        artifacts.mkdir(parents=True)
        names = [name] if short == "a1" else list(module.EPOCHS)
        for n in names:
            _train_and_log(runs / n, module.EPOCHS[n], stop_after if n == name else None,
                           "micro_f1" if short == "a1" else None)
            if saved or n != name:
                (artifacts / f"{n}.keras").write_bytes(b"a saved model")
        return runs, artifacts

    def check(runs: Path, artifacts: Path) -> None:
        if short == "a1":
            module.test_tensorboard_scalars(runs, artifacts, name)
        else:
            module.test_tensorboard_scalars(runs, artifacts)

    check(*folders("complete", None, True))                        # a complete run passes
    with pytest.raises(CheckFailed, match=f"{done} epoch"):
        check(*folders("interrupted", done, False))
    with pytest.raises(CheckFailed, match="was not saved"):
        check(*folders("unsaved", None, False))
