"""Does source_data read a class-folders corpus (ROOT/{Train,Validation,Test}/<class>/*.wav) as documented?

Every corpus is written here with soundfile into ``tmp_path``: tones of known frequency at
8, 16 and 44.1 kHz, a stereo file, a FLAC and an OGG, so that labels, order, resampling,
channel averaging and cutting/padding are checked against known values.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import source_data as sd
from source_data.class_folders import FolderClips, load_signals


def tone(freq: float, sr: int, seconds: float, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(sr * seconds))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write(path: Path, y: np.ndarray, sr: int, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, y, sr, **kw)
    return path


def peak_hz(y: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    return float(np.fft.rfftfreq(y.size, 1 / sr)[np.argmax(spectrum)])


@pytest.fixture
def corpus(tmp_path):
    """Two classes; files written out of order; split folders ``Train`` and ``test``; no Validation."""
    root = tmp_path / "voices"
    # male first, b before a: the loader must sort
    write(root / "Train" / "male" / "m2.wav", np.stack([tone(200, 8000, 1.0), tone(300, 8000, 1.0)], 1), 8000,
          subtype="FLOAT")
    write(root / "Train" / "male" / "m1.flac", tone(150, 44100, 0.5), 44100)
    write(root / "Train" / "female" / "f_b.wav", tone(440, 16000, 1.0), 16000)
    write(root / "Train" / "female" / "f_a.WAV", tone(880, 16000, 0.25), 16000)
    (root / "Train" / "female" / ".f_hidden.wav").write_bytes(b"not audio at all")   # hidden: ignored
    (root / "Train" / "female" / "notes.txt").write_text("recorded 2026-01-05")        # not audio: ignored
    (root / "Train" / ".ipynb_checkpoints").mkdir()                                   # hidden folder: ignored
    write(root / "test" / "male" / "t_m.wav", tone(220, 22050, 1.0), 22050)
    return root


# --------------------------------------------------------------------------- listing
def test_are_classes_the_sorted_train_folders_and_files_sorted_by_class_then_name(corpus):
    train = sd.load_class_folders(corpus, "train")
    assert isinstance(train, FolderClips) and train.split == "train"
    assert train.classes == ("female", "male")
    assert [p.name for p in train.paths] == ["f_a.WAV", "f_b.wav", "m1.flac", "m2.wav"]
    assert train.labels.dtype == np.int64 and train.labels.tolist() == [0, 0, 1, 1]
    assert train.names.tolist() == ["female", "female", "male", "male"]
    assert all(p.parent.parent == corpus / "Train" for p in train.paths)


def test_does_a_split_with_only_some_classes_keep_the_train_labels(corpus):
    """Test holds only ``male``: its label must stay 1 (Train's index), not become 0."""
    test = sd.load_class_folders(corpus, "Test")
    assert test.split == "test" and test.classes == ("female", "male")
    assert [p.name for p in test.paths] == ["t_m.wav"] and test.labels.tolist() == [1]
    assert test.names.tolist() == ["male"]


def test_are_split_folders_found_in_any_case(corpus):
    os.rename(corpus / "Train", corpus / "TRAIN")
    write(corpus / "validation" / "female" / "v.ogg", tone(440, 16000, 0.5), 16000)
    assert len(sd.load_class_folders(corpus, "TRAIN")) == 4
    val = sd.load_class_folders(corpus, "Validation")
    assert val.labels.tolist() == [0] and val.paths == [corpus / "validation" / "female" / "v.ogg"]


def test_is_validation_optional_and_its_absence_explained_when_asked_for(corpus):
    assert len(sd.load_class_folders(corpus, "train")) == 4 and len(sd.load_class_folders(corpus, "test")) == 1
    with pytest.raises(sd.DataError) as err:
        sd.load_class_folders(corpus, "validation")
    msg = str(err.value)
    assert str(corpus) in msg and "Validation" in msg and "optional" in msg
    assert "['Train', 'test']" in msg   # what the folder does hold


def test_do_given_classes_set_the_label_order(corpus):
    train = sd.load_class_folders(corpus, "train", classes=["male", "female"])
    assert train.classes == ("male", "female")
    assert [p.name for p in train.paths] == ["m1.flac", "m2.wav", "f_a.WAV", "f_b.wav"]
    assert train.labels.tolist() == [0, 0, 1, 1]
    with pytest.raises(sd.DataError, match=r"\['male'\].*not among the classes given \('female',\)"):
        sd.load_class_folders(corpus, "train", classes=("female",))


def test_does_subset_keep_classes_split_and_alignment(corpus):
    train = sd.load_class_folders(corpus, "train")
    males = train.subset(train.labels == 1)
    assert [p.name for p in males.paths] == ["m1.flac", "m2.wav"] and males.labels.tolist() == [1, 1]
    assert males.classes == train.classes and males.split == "train"
    assert [p.name for p in train.subset([3, 0]).paths] == ["m2.wav", "f_a.WAV"]
    assert len(train.subset(slice(0, 0))) == 0 and train.subset(slice(0, 0)).names.tolist() == []


def test_is_a_symlinked_file_read_like_a_file(corpus, tmp_path):
    outside = write(tmp_path / "elsewhere" / "x.wav", tone(440, 16000, 0.5), 16000)
    (corpus / "test" / "female").mkdir()
    (corpus / "test" / "female" / "link.wav").symlink_to(outside)
    test = sd.load_class_folders(corpus, "test")
    assert test.names.tolist() == ["female", "male"]
    np.testing.assert_array_equal(sd.read_audio(test.paths[0], sr=16000), sd.read_audio(outside, sr=16000))


# --------------------------------------------------------------------------- reading
def test_is_a_file_at_the_target_rate_read_unchanged(tmp_path):
    pcm = (np.arange(-500, 500, dtype=np.int16) * 30)
    path = write(tmp_path / "x.wav", pcm, 16000, subtype="PCM_16")
    y = sd.read_audio(path, sr=16000)
    assert y.dtype == np.float32 and y.shape == (1000,)
    np.testing.assert_array_equal(y, pcm.astype(np.float32) / 32768)


@pytest.mark.parametrize("freq, file_sr, sr", [(440, 16000, 8000), (440, 8000, 16000), (1000, 44100, 16000)])
def test_does_resampling_give_the_right_length_and_keep_a_tones_frequency(tmp_path, freq, file_sr, sr):
    path = write(tmp_path / "tone.wav", tone(freq, file_sr, 1.0), file_sr)
    y = sd.read_audio(path, sr=sr)
    assert y.dtype == np.float32 and y.shape == (sr,)
    assert abs(peak_hz(y, sr) - freq) <= 1.0          # one bin of a 1 s FFT is 1 Hz
    assert np.sqrt(np.mean(y[sr // 10: -sr // 10] ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.01)


def test_is_a_stereo_file_averaged_over_its_channels(corpus):
    left, right = tone(200, 8000, 1.0), tone(300, 8000, 1.0)
    y = sd.read_audio(corpus / "Train" / "male" / "m2.wav", sr=8000)
    assert y.shape == (8000,)
    np.testing.assert_allclose(y, (left + right) / 2, atol=1e-7)


def test_are_flac_and_ogg_read_and_resampled(corpus, tmp_path):
    y = sd.read_audio(corpus / "Train" / "male" / "m1.flac", sr=16000)   # 0.5 s at 44.1 kHz
    assert y.shape == (8000,) and abs(peak_hz(y, 16000) - 150) <= 2.0   # 2 Hz bins
    ogg = write(tmp_path / "v.ogg", tone(440, 16000, 0.5), 16000)
    z = sd.read_audio(ogg, sr=8000)
    assert z.shape == (4000,) and abs(peak_hz(z, 8000) - 440) <= 2.0


def test_are_signals_cut_or_zero_padded_to_length_exactly(corpus):
    train = sd.load_class_folders(corpus, "train")
    x = load_signals(train, sr=16000, length=12000)
    assert x.shape == (4, 12000) and x.dtype == np.float32
    full = [sd.read_audio(p, sr=16000) for p in train.paths]
    assert [f.size for f in full] == [4000, 16000, 8000, 16000]
    np.testing.assert_array_equal(x[0, :4000], full[0])          # 0.25 s: padded
    assert not x[0, 4000:].any()
    np.testing.assert_array_equal(x[1], full[1][:12000])         # 1 s: cut
    np.testing.assert_array_equal(x[2, :8000], full[2])
    assert not x[2, 8000:].any()
    assert load_signals(train.subset([]), sr=16000, length=5).shape == (0, 5)


# --------------------------------------------------------------------------- bad data
def test_does_a_missing_train_folder_name_the_path_and_the_layout(corpus):
    os.rename(corpus / "Train", corpus / "Training")
    for split in ("train", "test"):   # Test needs Train for its labels
        with pytest.raises(sd.DataError) as err:
            sd.load_class_folders(corpus, split)
        msg = str(err.value)
        assert f"no Train folder in {corpus}" in msg and "'Training'" in msg and "ROOT/Train/<class>/*.wav" in msg
    assert sd.load_class_folders(corpus, "test", classes=("female", "male")).labels.tolist() == [1]


def test_is_a_missing_corpus_folder_named(tmp_path):
    with pytest.raises(sd.DataError, match=re.escape(f"corpus folder {tmp_path / 'nope'} does not exist")):
        sd.load_class_folders(tmp_path / "nope", "train")


def test_is_a_class_found_only_in_test_refused_with_the_fix(corpus):
    write(corpus / "test" / "child" / "c.wav", tone(500, 16000, 0.5), 16000)
    with pytest.raises(sd.DataError) as err:
        sd.load_class_folders(corpus, "test")
    msg = str(err.value)
    assert "['child']" in msg and str(corpus / "test") in msg and "('female', 'male')" in msg
    assert "add a Train/child/ folder" in msg


def test_is_an_empty_class_folder_refused(corpus):
    (corpus / "Train" / "child").mkdir()
    (corpus / "Train" / "child" / ".DS_Store").write_bytes(b"\0")
    with pytest.raises(sd.DataError, match=r"class folder .*child has no audio file \(it is empty\)"):
        sd.load_class_folders(corpus, "train")
    (corpus / "Train" / "child" / "c.mp3").write_bytes(b"ID3")
    with pytest.raises(sd.DataError, match=r"child has no audio file \(it holds \['c.mp3'\]\).*\.wav, \.flac, \.ogg"):
        sd.load_class_folders(corpus, "train")


def test_are_audio_files_outside_a_class_folder_refused(corpus):
    write(corpus / "Train" / "loose.wav", tone(440, 8000, 0.1), 8000)
    with pytest.raises(sd.DataError, match=r"audio files directly in .*Train \(e.g. 'loose.wav'.*one folder per class"):
        sd.load_class_folders(corpus, "train")


def test_is_a_file_that_is_not_audio_named_with_the_fix(corpus):
    bad = corpus / "Train" / "female" / "x.wav"
    bad.write_text("this is a text file, not a recording\n")
    train = sd.load_class_folders(corpus, "train")   # listing does not decode
    assert bad in train.paths
    for call in (lambda: sd.read_audio(bad, sr=16000), lambda: load_signals(train, sr=16000, length=10)):
        with pytest.raises(sd.DataError) as err:
            call()
        assert f"cannot read {bad} as audio" in str(err.value) and "convert it to WAV" in str(err.value)


def test_is_a_zero_length_file_refused(tmp_path):
    empty = write(tmp_path / "empty.wav", np.zeros(0, dtype=np.int16), 16000)
    assert sf.info(empty).frames == 0
    with pytest.raises(sd.DataError, match=re.escape(f"{empty} holds no samples")):
        sd.read_audio(empty, sr=16000)
    with pytest.raises(sd.DataError, match=re.escape(f"{tmp_path / 'gone.wav'} does not exist")):
        sd.read_audio(tmp_path / "gone.wav", sr=16000)


# --------------------------------------------------------------------------- bad arguments
def test_are_bad_arguments_value_errors_that_repeat_the_value(corpus):
    train = sd.load_class_folders(corpus, "train")
    with pytest.raises(ValueError, match=r"unknown split 'dev'.*'train', 'validation', 'test'"):
        sd.load_class_folders(corpus, "dev")
    with pytest.raises(ValueError, match="got the string 'male'"):
        sd.load_class_folders(corpus, "train", classes="male")
    with pytest.raises(ValueError, match="must not repeat"):
        sd.load_class_folders(corpus, "train", classes=["male", "male"])
    for sr in (0, -8000, 16000.0, True):
        with pytest.raises(ValueError, match=f"sr must be a positive int .*got {sr!r}"):
            sd.read_audio(train.paths[0], sr=sr)
    for length in (0, -1, 1.5, None, True):
        with pytest.raises(ValueError, match=f"length must be a positive int .*got {length!r}"):
            load_signals(train, sr=16000, length=length)
