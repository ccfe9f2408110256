"""The fake-or-real corpus: plan without leakage, byte-identical builds, verification, shortcut audit."""
from __future__ import annotations

import collections
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from source_data import DataError, fake_or_real as fr
from source_data import fake_or_real_build as frb
from source_data.download import dataset_path
from source_data.secret import hidden_secret

FSDD = dataset_path("fsdd") / "recordings"
ALL_NAMES = sorted(p.name for p in FSDD.glob("*.wav"))
# Two speakers, two digits, every take: 200 real clips and their derived fakes (+ the 1,500 TTS clips).
SMALL = [n for n in ALL_NAMES if n.split("_")[1] in ("theo", "lucas") and n[0] in "37"]


def test_plan_has_the_documented_counts_and_no_leakage() -> None:
    items = frb.plan(ALL_NAMES)
    count = collections.Counter((it.split, it.attack or "real") for it in items)
    assert count[("hidden", "real")] == 300 and count[("training", "real")] == 2100
    assert count[("validation", "real")] == 300 and count[("testing", "real")] == 300
    assert {a for (s, a) in count if s != "hidden"} == {"real", "tts", "world", "griffinlim"}
    assert count[("hidden", "lpc")] == 120, "the unseen attack is in the hidden split only"
    for split in ("training", "validation", "testing", "hidden"):
        real = count[(split, "real")]
        fake = sum(n for (s, a), n in count.items() if s == split and a != "real")
        assert 0.8 <= fake / real <= 1.1, (split, real, fake)
    ids = [it.id for it in items]
    assert len(ids) == len(set(ids))
    by_source = {it.source: it for it in items if it.label == "real"}
    for it in items:
        if it.attack in ("world", "griffinlim", "lpc"):
            assert it.split == by_source[it.source].split, f"{it.id} left its source clip's split"
        take = int(Path(it.source).stem.split("_")[2]) if it.attack != "tts" else None
        if take is not None:
            assert (it.split == "hidden") == (take < 5)
    voices = collections.defaultdict(set)
    for it in items:
        if it.attack == "tts":
            voices[it.split].add(it.source)
    splits = list(voices)
    for i, a in enumerate(splits):
        for b in splits[i + 1:]:
            assert not voices[a] & voices[b], f"TTS voices shared by {a} and {b}"
    hidden_accents = {v.split("+")[0] for v in voices["hidden"]}
    student_accents = {v.split("+")[0] for s in ("training", "validation", "testing") for v in voices[s]}
    assert hidden_accents and not hidden_accents & student_accents
    assert frb.plan(ALL_NAMES) == items, "the plan depends on nothing but the seed"
    assert frb.plan(ALL_NAMES, seed=1) != items


def test_finish_applies_one_rule_and_rejects_silence() -> None:
    rng = np.random.default_rng(0)
    tone = np.concatenate([np.zeros(4000), 0.3 * np.sin(np.arange(3000) * 0.2), np.zeros(2000)])
    out = fr.finish(tone + 1e-6 * rng.standard_normal(tone.size), 8000, level_db=-20.0)
    assert out.dtype == np.int16 and out.shape == (8000,)
    x = out / 32767.0
    voiced = np.flatnonzero(x)
    assert voiced[0] < 200, "leading silence is trimmed (to within a 32 ms frame)"
    assert 2900 <= voiced[-1] + 1 <= 3300 and not np.any(x[3400:]), "zero-padded after the trimmed clip"
    assert abs(20 * np.log10(np.sqrt(np.mean(x[:voiced[-1] + 1] ** 2))) + 20.0) < 0.5, "RMS level"
    long = 0.1 * rng.standard_normal(20000)
    assert np.count_nonzero(fr.finish(long, 8000)) > 7990, "a long clip is cut to its first second"
    up = fr.finish(np.sin(np.arange(4410) * 0.05), 22050)
    assert np.count_nonzero(up) in range(1550, 1650), "resampled from 22,050 Hz to 8 kHz"
    with pytest.raises(DataError, match="silent"):
        fr.finish(np.zeros(8000), 8000)
    with pytest.raises(DataError, match="empty"):
        fr.finish(np.zeros(0), 8000)


def _best_correlation(x: np.ndarray, y: np.ndarray) -> float:
    """The largest normalised cross-correlation of two clips over every lag."""
    x, y = x - x.mean(), y - y.mean()
    n = 1 << int(np.ceil(np.log2(x.size + y.size)))
    c = np.fft.irfft(np.fft.rfft(x, n) * np.conj(np.fft.rfft(y, n)), n)
    return float(np.abs(c).max() / (np.linalg.norm(x) * np.linalg.norm(y)))


def test_a_secret_keys_the_hidden_part_and_nothing_else(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Does the instructor's secret make the hidden clips impossible to rebuild from the kit's code?"""
    demo = frb.plan(ALL_NAMES)
    keyed = frb.plan(ALL_NAMES, secret=b"instructor secret, course 1")
    other = frb.plan(ALL_NAMES, secret=b"instructor secret, course 2")
    assert [it for it in demo if it.part == "student"] == [it for it in keyed if it.part == "student"]
    hidden = [(d, k, o) for d, k, o in zip(demo, keyed, other) if d.part == "hidden"]
    assert len(hidden) == 600 and all(d.id == k.id == o.id for d, k, o in hidden)
    assert sum(d.level_db != k.level_db for d, k, _ in hidden) >= 590
    assert sum(k.level_db != o.level_db for _, k, o in hidden) >= 590
    assert all(d.params != k.params for d, k, _ in hidden if d.attack), "every attack parameter is keyed"
    for _, k, _ in hidden:
        if k.attack != "tts":
            assert frb.HIDDEN_SPEED[0] <= round(abs(k.speed - 1.0), 4) <= frb.HIDDEN_SPEED[1], (k.id, k.speed)
    # the keyed real clip is no scaled or shifted copy of what the kit's code gives without the secret
    by_id = {k.id: (d, k) for d, k, _ in hidden}
    for clip_id in ("real_0_george_0", "real_7_theo_3", "real_4_nicolas_1"):
        d, k = by_id[clip_id]
        x, y = (frb._synthesise(it, FSDD, lambda: None).astype(float) for it in (d, k))
        assert _best_correlation(x, y) < 0.9, clip_id
    monkeypatch.setenv("KIT_HIDDEN_SECRET", "too short")
    with pytest.raises(DataError, match="at least 16"):
        hidden_secret()
    monkeypatch.delenv("KIT_HIDDEN_SECRET")
    (tmp_path / "secret").write_text("a secret kept in a file\n")
    monkeypatch.setenv("KIT_HIDDEN_SECRET_FILE", str(tmp_path / "secret"))
    assert hidden_secret() == b"a secret kept in a file"
    monkeypatch.setenv("KIT_HIDDEN_SECRET_FILE", str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="cannot read"):
        hidden_secret()


@pytest.fixture(scope="module")
def small_builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("fake_or_real")
    one = frb.build(base / "one", names=SMALL, workers=1, secret=None)
    two = frb.build(base / "two", names=SMALL, workers=2, secret=None)
    return one, two


def test_build_is_byte_identical_whatever_the_workers(small_builds: tuple[Path, Path]) -> None:
    one, two = small_builds
    files = sorted(p.relative_to(one).as_posix() for p in one.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(two).as_posix() for p in two.rglob("*") if p.is_file())
    for rel in files:
        if rel != "BUILD.json":   # holds the seconds and the workers
            assert (one / rel).read_bytes() == (two / rel).read_bytes(), rel
    info = json.loads((one / "BUILD.json").read_text())
    assert info["files"] == len(files) - 2      # every file but BUILD.json and the manifest
    assert info["counts"]["hidden"] == {"real": 20, "world": 4, "griffinlim": 4, "lpc": 8, "tts": 60}


def test_built_clips_follow_the_corpus_rule(small_builds: tuple[Path, Path]) -> None:
    root = small_builds[0]
    clips = fr.load_fake_or_real("student", root)
    assert set(np.unique(clips.splits)) == {"training", "validation", "testing"}
    assert set(clips.attacks[clips.labels == 0]) == {""}
    for path in clips.paths[::37]:
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.frames, info.subtype) == (8000, 1, 8000, "PCM_16")
        y, _ = sf.read(path)
        last = np.flatnonzero(y)[-1] + 1
        level = 20 * np.log10(np.sqrt(np.mean(y[:last] ** 2)))
        assert fr.LEVELS_DB[0] - 1.0 <= level <= fr.LEVELS_DB[1] + 0.5, (path.name, level)
    hidden = fr.load_fake_or_real("hidden", root)
    assert "lpc" in set(hidden.attacks) and "lpc" not in set(clips.attacks)
    with pytest.raises(DataError, match="unknown split"):
        fr.load_fake_or_real("train", root)


def test_second_build_is_a_no_op(small_builds: tuple[Path, Path]) -> None:
    root = small_builds[0]
    stamp = (root / "BUILD.json").stat().st_mtime_ns
    assert frb.build(root, names=SMALL, secret=None) == root
    assert (root / "BUILD.json").stat().st_mtime_ns == stamp
    with pytest.raises(DataError, match="other inputs"):
        frb.build(root, names=SMALL, seed=7, secret=None)
    with pytest.raises(DataError, match="secret"):
        frb.build(root, names=SMALL, secret=b"another course's secret")


def test_a_damaged_corpus_is_refused_with_the_file_named(small_builds: tuple[Path, Path],
                                                         tmp_path: Path) -> None:
    root = tmp_path / "copy"
    shutil.copytree(small_builds[0], root)
    victim = sorted(root.glob("hidden/fake/*.wav"))[0]
    data = bytearray(victim.read_bytes())
    data[200] ^= 0x01
    victim.write_bytes(bytes(data))
    with pytest.raises(DataError, match=f"{victim.name}: sha256 .* differs"):
        fr.load_fake_or_real("hidden", root)
    victim.unlink()
    with pytest.raises(DataError, match=f"{victim.name} is missing"):
        fr.load_fake_or_real("training", root)
    shutil.copytree(small_builds[0], root, dirs_exist_ok=True)
    (root / "hidden" / "real" / "extra.wav").write_bytes(b"RIFF")
    with pytest.raises(DataError, match="extra.wav is not in the fake_or_real manifest"):
        fr.load_fake_or_real("hidden", root)
    (root / "hidden" / "real" / "extra.wav").unlink()
    (root / "BUILD.json").unlink()          # a build that stopped before its last step
    with pytest.raises(DataError, match="not a complete fake_or_real build"):
        fr.load_fake_or_real("hidden", root)
    with pytest.raises(DataError, match="not built"):
        fr.load_fake_or_real("hidden", tmp_path / "nowhere")


def _trivial_cues(paths: list[Path]) -> np.ndarray:
    rows = []
    for path in paths:
        y, _ = sf.read(path)
        voiced = np.flatnonzero(y)
        end = voiced[-1] + 1 if voiced.size else 0
        lead = int(np.argmax(np.abs(y) > 0.02))
        rows.append([end, np.abs(y).max(), np.sqrt(np.mean(y[:end] ** 2)) if end else 0.0, lead])
    return np.array(rows)


def test_shortcut_audit_trivial_cues_stay_near_chance() -> None:
    """Duration, peak, RMS and leading silence must not tell fake from real (the corpus built by `make data`)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train = fr.load_fake_or_real("training")
    hidden = fr.load_fake_or_real("hidden")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(_trivial_cues(train.paths), train.labels)
    accuracy = model.score(_trivial_cues(hidden.paths), hidden.labels)
    assert accuracy <= 0.60, f"trivial cues give {accuracy:.3f} on the hidden split: the corpus teaches a shortcut"
