"""Do the disguised hidden clips defeat a submission that looks the public FSDD files up?

Assignment 1's hidden clips are FSDD takes 0-4, public byte for byte. Two lookup submissions, as an
adversarial student would write them, are scored by the real ``evaluate.hidden_scores`` (the path a
run check takes) with a useless saved model: one looks each clip's sha256 up in a table of the
public files, the other takes the digit of the public clip with the best waveform
cross-correlation. Without a key both score 1.0; with a gradebook's key the hash lookup is at
chance and the waveform lookup finds fewer than two thirds of the clips' own sources.
"""
from __future__ import annotations

import hashlib
import types

import numpy as np
import pytest
import soundfile as sf

import source_data as sd
from grader import disguise
from grader.boundary import staged
from grader.checks.a1_spoken_digits import evaluate
from grader.gradebook import Gradebook

KEY = "ab" * 32


@pytest.fixture(scope="module")
def hidden() -> sd.DigitClips:
    return sd.load_spoken_digits("hidden")


@pytest.fixture(scope="module")
def useless_models(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Every model of assignment 1 as a constant classifier (a submission's artifacts/a1)."""
    import keras

    folder = tmp_path_factory.mktemp("artifacts")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(10, activation="softmax")])
    for name in evaluate.MODEL_KINDS:
        model.save(folder / f"{name}.keras")
    return str(folder)


def _hash_lookup(hidden: sd.DigitClips) -> types.ModuleType:
    table = {hashlib.sha256(p.read_bytes()).hexdigest(): int(d) for p, d in zip(hidden.paths, hidden.digits)}
    module = types.ModuleType("hash_lookup")
    module.predict_digits = lambda model, kind, paths: [table.get(hashlib.sha256(open(p, "rb").read()).hexdigest(), 0)
                                                        for p in paths]
    return module


def _waveform_lookup(hidden: sd.DigitClips) -> tuple[types.ModuleType, list[int]]:
    """Nearest public clip by the best normalised cross-correlation over every lag; records which."""
    n = 1 << 14
    table = []
    for p in hidden.paths:
        x = sf.read(p)[0]
        x = x - x.mean()
        table.append(np.conj(np.fft.rfft(x, n)) / np.linalg.norm(x))
    spectra = np.array(table)
    chosen: list[int] = []

    def predict_digits(model, kind, paths):  # noqa: ANN001 - a student's function
        out = []
        for p in paths:
            y = sf.read(p)[0]
            y = y - y.mean()
            score = np.abs(np.fft.irfft(spectra * (np.fft.rfft(y, n) / np.linalg.norm(y))[None, :], n, axis=1)).max(axis=1)
            chosen.append(int(np.argmax(score)))
            out.append(int(hidden.digits[chosen[-1]]))
        return out

    module = types.ModuleType("waveform_lookup")
    module.predict_digits = predict_digits
    return module, chosen


def test_is_a_clip_disguised_the_same_way_within_a_gradebook_and_otherwise_elsewhere(hidden, tmp_path) -> None:
    paths = hidden.paths[:20]
    one = disguise.disguised_copies(paths, KEY.encode(), tmp_path / "a")
    again = disguise.disguised_copies(paths, KEY.encode(), tmp_path / "b")
    assert one == again, "a clip disguised before in this process is not disguised again"
    disguise._copies.clear()
    (tmp_path / "c").mkdir()
    fresh = disguise.disguised_copies(paths, KEY.encode(), tmp_path / "c")
    assert [open(a, "rb").read() for a in one] == [open(b, "rb").read() for b in fresh], "the key decides, not the run"
    (tmp_path / "d").mkdir()
    other = disguise.disguised_copies(paths, ("cd" * 32).encode(), tmp_path / "d")
    public = {hashlib.sha256(p.read_bytes()).hexdigest() for p in hidden.paths}
    public_samples = {hashlib.sha256(sf.read(p, dtype="int16")[0].tobytes()).hexdigest() for p in hidden.paths}
    for a, b, src in zip(fresh, other, paths):
        assert open(a, "rb").read() != open(b, "rb").read()
        assert hashlib.sha256(open(a, "rb").read()).hexdigest() not in public
        assert hashlib.sha256(sf.read(a, dtype="int16")[0].tobytes()).hexdigest() not in public_samples
        y, sr = sf.read(a)
        x, _ = sf.read(src)
        pad = 2 * disguise.PAD_SECONDS * sr
        assert sr == 8000 and x.size / 1.021 <= y.size <= x.size / 0.979 + pad, "another take's length, same rate"
        level = 20 * np.log10(np.sqrt(np.mean(y ** 2)) / np.sqrt(np.mean(x ** 2)))
        assert abs(level) < 2.6, level


def test_does_a_gradebook_keep_its_key(tmp_path) -> None:
    book = Gradebook(tmp_path, "a1_spoken_digits")
    key = book.hidden_key()
    assert len(key) == 64 and Gradebook(tmp_path, "a1_spoken_digits").hidden_key() == key
    assert (book.cache / "hidden_key").stat().st_mode & 0o777 == 0o600
    assert Gradebook(tmp_path / "next_term", "a1_spoken_digits").hidden_key() != key


def test_are_the_clips_handed_over_as_they_are_outside_grading(hidden, monkeypatch) -> None:
    monkeypatch.delenv(disguise.KEY_ENV, raising=False)
    assert staged(None, hidden.paths[:3], disguise=True) == hidden.paths[:3]
    monkeypatch.setenv(disguise.KEY_ENV, KEY)
    copies = staged(None, hidden.paths[:3], disguise=True)
    assert [p.name for p in copies] != [p.name for p in hidden.paths[:3]] and all(p.is_file() for p in copies)
    assert staged(None, hidden.paths[:3]) == hidden.paths[:3], "only what a check asks to disguise"


def test_does_a_hash_lookup_lose_everything_on_disguised_clips(hidden, useless_models, monkeypatch) -> None:
    lookup = _hash_lookup(hidden)
    monkeypatch.delenv(disguise.KEY_ENV, raising=False)
    assert evaluate.hidden_scores(lookup, useless_models, ["cnn"]) == {"cnn": 1.0}
    monkeypatch.setenv(disguise.KEY_ENV, KEY)
    assert evaluate.hidden_scores(lookup, useless_models, ["cnn"]) == {"cnn": pytest.approx(0.1)}, "chance: every 0"


def test_does_a_waveform_lookup_lose_its_exact_matches(hidden, useless_models, monkeypatch) -> None:
    lookup, chosen = _waveform_lookup(hidden)
    monkeypatch.delenv(disguise.KEY_ENV, raising=False)
    assert evaluate.hidden_scores(lookup, useless_models, ["raw_lstm"]) == {"raw_lstm": 1.0}
    assert chosen == list(range(len(hidden)))
    chosen.clear()
    monkeypatch.setenv(disguise.KEY_ENV, KEY)
    f1 = evaluate.hidden_scores(lookup, useless_models, ["raw_lstm"])["raw_lstm"]
    found = float(np.mean(np.array(chosen) == np.arange(len(hidden))))
    assert found < 2 / 3, f"the waveform search still finds {found:.0%} of the sources"
    assert f1 < 0.9, f"the lookup scores {f1:.3f}: below the spectrogram models' thresholds (0.93)"
