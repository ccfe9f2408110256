"""Fake or real speech: a deterministic anti-spoofing corpus built from the verified FSDD clips.

No downloadable deepfake corpus may be used, so the corpus is built here, as the anti-spoofing
benchmarks build theirs: bona fide speech plus attacks from several synthesis systems.

* **real** -- FSDD clips (``fsdd``, verified against its manifest).
* **fake** -- four attack families, all pip-installable and model-free:

  ``tts``
      eSpeak NG (the ``espeakng-loader`` wheel, called through ctypes) speaking the digit word,
      with seeded rate and pitch jitter. Voices (accent + variant) are partitioned: the hidden
      split and each student split get voices of their own.
  ``world``
      WORLD vocoder re-synthesis (``pyworld``) of a real clip with its F0 scaled by a seeded
      factor (a voice-conversion attack).
  ``griffinlim``
      Griffin-Lim inversion (``librosa``) of a real clip's mel spectrogram.
  ``lpc``
      LPC re-synthesis of a real clip (pulse/noise excitation through the clip's own all-pole
      filters). **Only in the hidden split**: the unseen attack.

Every clip, of either class, goes through one rule (:func:`finish`): resampled to 8 kHz mono,
silence-trimmed, RMS-normalised, cut or zero-padded to one second, written as 16-bit PCM.

Splits without leakage: a fake derived from a real clip belongs to that clip's split. FSDD takes
0-4 are the hidden split (as in assignment 1); among the student takes 5-49, takes 5-9 are
``testing``, 10-14 ``validation`` and 15-49 ``training``. Layout of the built folder::

    fake_or_real-v1/
        student/{training,validation,testing}/{fake,real}/*.wav
        student/labels.csv             id, path, label, attack, split
        hidden/{fake,real}/*.wav
        hidden/labels.csv
        MANIFEST.sha256                sha256 of every file above
        BUILD.json                     builder version, seed, counts, seconds (written last)

``python -m source_data build`` (``make data``) builds it once; :func:`load_fake_or_real`
verifies every file against the manifest before it returns paths.
"""
from __future__ import annotations

import csv
import ctypes
import hashlib
import io
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from source_data.errors import DataError
from source_data.registry import data_dir

BUILDER_VERSION = 1
FOLDER = f"fake_or_real-v{BUILDER_VERSION}"
SEED = 20261204
SAMPLE_RATE = 8000
SEGMENT = SAMPLE_RATE          # samples per clip: one second
TOP_DB = 30.0                  # silence trimming threshold of `finish`
TRIM_FRAME = 256               # its analysis frame (32 ms at 8 kHz; hop a quarter of it)
LEVELS_DB = (-26.0, -14.0)     # every clip's RMS level is drawn from this range (dBFS)
PEAK = 0.99
LABELS = ("real", "fake")
ATTACKS = ("tts", "world", "griffinlim", "lpc")
SEEN_ATTACKS = ("tts", "world", "griffinlim")
STUDENT_SPLITS = ("training", "validation", "testing")
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# eSpeak NG voices: accent x variant. The hidden split speaks with accents no student split has.
STUDENT_ACCENTS = ("en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-029")
HIDDEN_ACCENTS = ("en-us-nyc", "en-gb-x-gbcwmd")
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5", "klatt",
            "klatt2", "klatt3", "adam", "david", "ed", "john", "max", "paul")
HIDDEN_VARIANTS = ("m1", "m3", "f2")


def _student_split(take: int) -> str:
    return "testing" if take < 10 else "validation" if take < 15 else "training"


# ----------------------------------------------------------------------------- the shared rule

def finish(y: np.ndarray, sr: int, level_db: float = -20.0) -> np.ndarray:
    """Apply the corpus rule that every clip, real or fake, goes through.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio, float or int16.
    sr : int
        Its sampling rate in Hz.
    level_db : float
        RMS level of the result in dBFS. :func:`plan` draws it per clip from ``LEVELS_DB`` for
        both classes, so that level carries no label.

    Returns
    -------
    np.ndarray [shape=(8000,), dtype=int16]
        Resampled to 8 kHz, silence trimmed at ``TOP_DB`` below the clip's peak (32 ms frames), cut to its
        first second, scaled to an RMS of ``level_db`` (peaks clipped at 0.99), then zero-padded
        at the end to one second.

    Raises
    ------
    DataError
        If the clip is empty or silent (nothing left after trimming).
    """
    import librosa

    x = np.asarray(y, dtype=np.float64)
    if x.dtype.kind == "i" or np.abs(x).max(initial=0.0) > 1.5:
        x = x / 32768.0
    if sr != SAMPLE_RATE:
        x = librosa.resample(x, orig_sr=sr, target_sr=SAMPLE_RATE, res_type="soxr_hq")
    if x.size == 0 or not np.any(x):
        raise DataError("a clip is empty or silent; the corpus builder cannot use it")
    x, _ = librosa.effects.trim(x, top_db=TOP_DB, frame_length=TRIM_FRAME, hop_length=TRIM_FRAME // 4)
    x = x[:SEGMENT]
    rms = float(np.sqrt(np.mean(x ** 2)))
    if rms == 0.0:
        raise DataError("a clip is silent after trimming; the corpus builder cannot use it")
    x = np.clip(x * (10 ** (level_db / 20) / rms), -PEAK, PEAK)
    out = np.zeros(SEGMENT)
    out[:x.size] = x
    return np.round(out * 32767).astype(np.int16)


# ----------------------------------------------------------------------------- attacks

def _forked(fn: Callable[..., np.ndarray], *args: object) -> np.ndarray:
    """Run ``fn(*args)`` in a forked child and return its array (float64 or int16).

    eSpeak NG keeps state from one utterance to the next (measured: the same text and voice
    give other samples after other utterances). A child starts from its parent's state, so a
    parent that was set up the same way and never synthesised a corpus clip gives every clip
    the same bytes, whatever ran before and in whichever worker.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            os.close(read_fd)
            out = np.asarray(fn(*args))
            kind = b"i" if out.dtype == np.int16 else b"f"
            data = kind + (out.astype("<i2") if kind == b"i" else out.astype("<f8")).tobytes()
            view = memoryview(data)
            while view:
                view = view[os.write(write_fd, view):]
            code = 0
        except BaseException:
            code = 3
        finally:
            os._exit(code)
    os.close(write_fd)
    chunks = []
    with os.fdopen(read_fd, "rb") as fh:
        while chunk := fh.read(1 << 16):
            chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    data = b"".join(chunks)
    if status != 0 or len(data) < 2:
        raise DataError(f"synthesis {getattr(fn, '__name__', fn)}{args!r} failed in its child process "
                        f"(status {status}); check the voice name and the versions of espeakng-loader "
                        "and pyworld")
    return np.frombuffer(data[1:], dtype="<i2" if data[:1] == b"i" else "<f8").copy()


class _Espeak:
    """eSpeak NG through ctypes (synchronous mode, audio collected by a callback)."""

    _CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as exc:  # pragma: no cover - a pinned dependency
            raise DataError("espeakng-loader is not installed; run `make venv`") from exc
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        self.sr = lib.espeak_Initialize(0x02, 0, espeakng_loader.get_data_path().encode(), 0)
        if self.sr <= 0:
            raise DataError(f"eSpeak NG failed to initialise (returned {self.sr}); reinstall espeakng-loader")
        self._chunks: list[np.ndarray] = []

        def collect(wav, n, _events):  # noqa: ANN001 - ctypes callback
            if wav and n > 0:
                self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
            return 0

        self._callback = self._CALLBACK(collect)   # kept alive as long as the library may call it
        lib.espeak_SetSynthCallback(self._callback)
        self.lib = lib

    def speak(self, text: str, voice: str, rate: int, pitch: int) -> np.ndarray:
        """Return int16 samples at ``self.sr`` of ``text`` spoken by ``voice``.

        eSpeak NG carries state from one utterance to the next and some variants draw noise
        from ``rand()``: call it only in a child of :func:`_build_chunk`'s warmed process.
        """
        # Some variants add breath noise from the C library's rand(): seed it, and eSpeak's own.
        ctypes.CDLL(None).srand(1)
        if hasattr(self.lib, "espeak_ng_SetRandSeed"):
            self.lib.espeak_ng_SetRandSeed(ctypes.c_long(1))
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise DataError(f"eSpeak NG has no voice {voice!r}; check espeakng-loader's version")
        self.lib.espeak_SetParameter(1, rate, 0)    # espeakRATE, words per minute
        self.lib.espeak_SetParameter(3, pitch, 0)   # espeakPITCH, 0-100
        self._chunks.clear()
        data = text.encode()
        status = self.lib.espeak_Synth(data, len(data) + 1, 0, 1, 0, 0, None, None)
        self.lib.espeak_Synchronize()
        if status != 0 or not self._chunks:
            raise DataError(f"eSpeak NG produced no audio for {text!r} with voice {voice!r} (status {status})")
        return np.concatenate(self._chunks)


def world_attack(y: np.ndarray, sr: int, f0_scale: float) -> np.ndarray:
    """WORLD re-synthesis of ``y`` with its F0 multiplied by ``f0_scale`` (float64 out).

    F0 (DIO + StoneMask) and the spectral envelope (CheapTrick) come from pyworld. The band
    aperiodicity is not D4C's: at 8 kHz D4C has no 3 kHz band below Nyquist, so for a voiced
    frame it returns the fixed ramp from -60 dB at 0 Hz to 0 dB at Nyquist (and 1 for unvoiced
    frames), except that pyworld 0.3.5's D4C changes an occasional frame depending on what the
    process did before (measured: 12 of 60 clips gave other bytes on a second pass). That ramp
    is computed here directly, every frame of DIO's voicing kept.
    """
    import pyworld

    x = np.ascontiguousarray(y, dtype=np.float64)
    f0, t = pyworld.dio(x, sr, f0_floor=60.0, f0_ceil=400.0, frame_period=5.0)
    f0 = pyworld.stonemask(x, f0, t, sr)
    sp = pyworld.cheaptrick(x, f0, t, sr)
    ramp = 10.0 ** (-3.0 * (1.0 - np.linspace(0.0, 1.0, sp.shape[1])))   # -60 dB -> 0 dB
    ap = np.ascontiguousarray(np.where(f0[:, None] > 0, ramp[None, :], 1.0))
    return pyworld.synthesize(f0 * f0_scale, sp, ap, sr, frame_period=5.0)


def griffinlim_attack(y: np.ndarray, sr: int, seed: int, n_iter: int = 32) -> np.ndarray:
    """Griffin-Lim inversion of the 64-band mel spectrogram of ``y`` (float64 out)."""
    import librosa

    mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=512, hop_length=128, n_mels=64)
    magnitude = librosa.feature.inverse.mel_to_stft(mel, sr=sr, n_fft=512)
    return librosa.griffinlim(magnitude, n_iter=n_iter, hop_length=128, n_fft=512, length=len(y),
                              random_state=np.random.RandomState(seed))


def lpc_attack(y: np.ndarray, sr: int, seed: int, order: int = 12) -> np.ndarray:
    """LPC re-synthesis: each 32 ms frame's all-pole filter driven by a pulse train or noise.

    The excitation is a pulse train at the frame's F0 (WORLD's DIO estimate) in voiced frames
    and white noise in unvoiced ones, scaled to the frame's prediction-error energy; frames are
    overlap-added with a Hann window at 50 % overlap.
    """
    import librosa
    import pyworld
    from scipy.signal import lfilter

    x = np.ascontiguousarray(y, dtype=np.float64)
    rng = np.random.default_rng(seed)
    frame, hop = 256, 128
    f0, t = pyworld.dio(x, sr, f0_floor=60.0, f0_ceil=400.0, frame_period=1000.0 * hop / sr)
    n_frames = max(1, 1 + (x.size - frame) // hop)
    out = np.zeros(n_frames * hop + frame)
    window = np.hanning(frame)
    phase = 0.0
    for i in range(n_frames):
        seg = x[i * hop:i * hop + frame]
        if seg.size < frame:
            seg = np.pad(seg, (0, frame - seg.size))
        seg = seg * window
        if not np.any(seg):
            continue
        a = librosa.lpc(seg + 1e-9 * rng.standard_normal(frame), order=order)
        gain = float(np.sqrt(np.mean(lfilter(a, [1.0], seg) ** 2)))
        f = f0[min(i, f0.size - 1)]
        if f > 0:
            period = sr / f
            exc = np.zeros(frame)
            pos = phase
            while pos < frame:
                exc[int(pos)] = 1.0
                pos += period
            phase = pos - hop
            bump = np.hanning(max(3, int(0.4 * period)))
            exc = np.convolve(exc, bump)[:frame]
            exc = exc - exc.mean()
            exc = exc / (np.sqrt(np.mean(exc ** 2)) or 1.0) + 0.3 * rng.standard_normal(frame)
        else:
            exc = rng.standard_normal(frame)
        out[i * hop:i * hop + frame] += window * lfilter([gain], a, exc)
    return out[:x.size]


# ----------------------------------------------------------------------------- the plan

@dataclass(frozen=True)
class Item:
    """One clip of the corpus to build.

    Attributes
    ----------
    id : str
        Unique id, also the file stem (e.g. ``real_3_theo_7``, ``world_3_theo_7``, ``tts_7_en-us+m3``).
    part : str
        ``"student"`` or ``"hidden"``.
    split : str
        ``training``/``validation``/``testing`` in the student part, ``hidden`` otherwise.
    label : str
        ``"real"`` or ``"fake"``.
    attack : str
        ``""`` for real clips, else one of :data:`ATTACKS`.
    source : str
        FSDD file name the clip comes from, or the eSpeak voice for ``tts``.
    digit : int
        The spoken digit.
    params : tuple
        Seeded attack parameters (TTS rate and pitch, WORLD F0 factor, Griffin-Lim/LPC seed).
    level_db : float
        Seeded RMS level of the finished clip (see :func:`finish`).
    """

    id: str
    part: str
    split: str
    label: str
    attack: str
    source: str
    digit: int
    params: tuple
    level_db: float

    @property
    def path(self) -> str:
        """Path of the clip relative to its part's folder."""
        if self.part == "hidden":
            return f"{self.label}/{self.id}.wav"
        return f"{self.split}/{self.label}/{self.id}.wav"


def _level(rng: np.random.Generator) -> float:
    return round(float(rng.uniform(*LEVELS_DB)), 2)


def plan(fsdd_names: Iterable[str], seed: int = SEED) -> list[Item]:
    """The corpus as a list of clips to build: every decision made here, from ``seed``.

    Parameters
    ----------
    fsdd_names : iterable of str
        FSDD file names ``{digit}_{speaker}_{take}.wav`` to use as real clips.
    seed : int
        Seed of every random choice (attack parameters, TTS jitter).

    Returns
    -------
    list of Item
        Real clips (all of ``fsdd_names``); derived fakes: in the student part, one for every
        odd take (``world`` for takes 5, 9, 13, ... and ``griffinlim`` for 7, 11, ...), in the
        hidden part ``world`` for take 0, ``griffinlim`` for take 1, ``lpc`` for takes 2-3;
        TTS fakes: every digit in every student voice (6 accents x 22 variants, voices assigned
        to a student split by their index) and in each of the 6 hidden voices.
    """
    rng = np.random.default_rng(seed)
    items: list[Item] = []
    for name in sorted(fsdd_names):
        digit_s, speaker, take_s = Path(name).stem.split("_")
        digit, take = int(digit_s), int(take_s)
        hidden = take < 5
        part = "hidden" if hidden else "student"
        split = "hidden" if hidden else _student_split(take)
        stem = f"{digit}_{speaker}_{take}"
        items.append(Item(f"real_{stem}", part, split, "real", "", name, digit, (), _level(rng)))
        if hidden:
            attack = {0: "world", 1: "griffinlim", 2: "lpc", 3: "lpc"}.get(take)
        else:
            attack = ("world", "griffinlim")[(take - 5) // 2 % 2] if take % 2 == 1 else None
        if attack == "world":
            params: tuple = (round(float(rng.choice([0.7, 0.8, 1.25, 1.4]) * rng.uniform(0.95, 1.05)), 4),)
        elif attack:
            params = (int(rng.integers(2 ** 31)),)
        if attack:
            items.append(Item(f"{attack}_{stem}", part, split, "fake", attack, name, digit, params,
                              _level(rng)))
    voices = [(a, v, "student") for a in STUDENT_ACCENTS for v in VARIANTS]
    voices += [(a, v, "hidden") for a in HIDDEN_ACCENTS for v in HIDDEN_VARIANTS]
    student_index = 0
    for accent, variant, part in voices:
        voice = f"{accent}+{variant}"
        if part == "student":
            split = STUDENT_SPLITS[2 if student_index % 10 == 0 else 1 if student_index % 10 == 1 else 0]
            student_index += 1
        else:
            split = "hidden"
        for digit, word in enumerate(DIGIT_WORDS):
            rate, pitch = int(rng.integers(130, 211)), int(rng.integers(25, 76))
            items.append(Item(f"tts_{digit}_{voice}", part, split, "fake", "tts", voice, digit, (rate, pitch),
                              _level(rng)))
    return items


# ----------------------------------------------------------------------------- building

def _synthesise(item: Item, fsdd: Path, tts: Callable[[], _Espeak]) -> np.ndarray:
    import soundfile as sf

    if item.attack == "tts":
        rate, pitch = item.params
        engine = tts()
        return finish(engine.speak(DIGIT_WORDS[item.digit], item.source, rate, pitch), engine.sr, item.level_db)
    y, sr = sf.read(fsdd / item.source, dtype="float64")
    if item.attack == "":
        z = y
    elif item.attack == "world":
        z = world_attack(y, sr, item.params[0])
    elif item.attack == "griffinlim":
        z = griffinlim_attack(y, sr, item.params[0])
    elif item.attack == "lpc":
        z = lpc_attack(y, sr, item.params[0])
    else:  # pragma: no cover - plan() makes no other
        raise DataError(f"unknown attack {item.attack!r}")
    return finish(z, sr, item.level_db)


def _wav_bytes(x: np.ndarray) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, x, SAMPLE_RATE, subtype="PCM_16", format="WAV")
    return buf.getvalue()


def _warm_up(tts: _Espeak) -> None:
    """Run every synthesiser once on fixed inputs, the same way in every worker."""
    t = np.arange(4000) / SAMPLE_RATE
    y = 0.3 * np.sin(2 * np.pi * 140 * t) * np.hanning(t.size) + 0.01 * np.random.default_rng(0).standard_normal(t.size)
    finish(world_attack(y, SAMPLE_RATE, 1.1), SAMPLE_RATE)
    finish(griffinlim_attack(y, SAMPLE_RATE, 0), SAMPLE_RATE)
    finish(lpc_attack(y, SAMPLE_RATE, 0), SAMPLE_RATE)
    _wav_bytes(np.zeros(SEGMENT, dtype=np.int16))


_ENGINE: _Espeak | None = None   # the build worker's eSpeak NG, set up by _start_worker


def _start_worker() -> None:
    """Set a build worker up: eSpeak NG initialised, every synthesiser warmed up once.

    After this the worker itself never synthesises; each clip is made in a forked child of it,
    so every clip starts from this same state (eSpeak NG keeps state from one utterance to the
    next, and the state of a process that already ran other synthesis is not reproducible).
    """
    global _ENGINE
    _ENGINE = _Espeak()
    _warm_up(_ENGINE)


def _build_chunk(items: list[Item], fsdd: str, dest: str) -> list[tuple[str, str]]:
    """Build ``items`` into ``dest``; return (relative path, sha256) of each file.

    Runs in a spawned worker set up by :func:`_start_worker`; each TTS clip is synthesised in
    a forked child (:func:`_forked`), so that a clip's bytes depend on nothing but its
    :class:`Item` — not on the worker, nor on the clips built before it. The other attacks are
    pure functions of their input and seed (WORLD's D4C is replaced, see :func:`world_attack`).
    """
    if _ENGINE is None:
        _start_worker()
    engine = _ENGINE
    done = []
    for item in items:
        if item.attack == "tts":    # eSpeak NG keeps state between utterances: one child each
            samples = _forked(_synthesise, item, Path(fsdd), lambda: engine)
        else:
            samples = _synthesise(item, Path(fsdd), lambda: engine)
        data = _wav_bytes(samples.astype(np.int16))
        rel = f"{item.part}/{item.path}"
        target = Path(dest) / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        done.append((rel, hashlib.sha256(data).hexdigest()))
    return done


def _write_labels(folder: Path, items: list[Item]) -> None:
    with open(folder / "labels.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["id", "path", "label", "attack", "split"])
        for it in sorted(items, key=lambda i: i.id):
            w.writerow([it.id, it.path, it.label, it.attack, it.split])


def build(dest: Path | None = None, *, fsdd_dir: Path | None = None, names: Iterable[str] | None = None,
          workers: int | None = None, seed: int = SEED, verbose: bool = False) -> Path:
    """Build the corpus (once: a complete build is left as it is).

    Parameters
    ----------
    dest : Path, optional
        The corpus folder; default ``<data dir>/fake_or_real-v1``.
    fsdd_dir : Path, optional
        Folder of the verified FSDD recordings; default the fetched ``fsdd`` dataset.
    names : iterable of str, optional
        FSDD file names to use (default all 3,000); tests build a small corpus with a few.
    workers : int, optional
        Processes (default: the usable cores, at most 4). The bytes do not depend on it.
    seed : int
        Seed of :func:`plan`.
    verbose : bool
        Print progress.

    Returns
    -------
    Path
        ``dest``, holding a complete, verified corpus.

    Raises
    ------
    DataError
        If the FSDD recordings are missing, a clip cannot be synthesised, or ``dest`` holds a
        build of other inputs (remove it, or pass another ``dest``).
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from source_data.download import dataset_path

    dest = Path(dest) if dest is not None else data_dir() / FOLDER
    fsdd = Path(fsdd_dir) if fsdd_dir is not None else dataset_path("fsdd") / "recordings"
    names = sorted(names) if names is not None else sorted(p.name for p in fsdd.glob("*.wav"))
    if not names:
        raise DataError(f"no FSDD recordings in {fsdd}; run `make data` (python -m source_data fetch fsdd)")
    inputs = hashlib.sha256(json.dumps([BUILDER_VERSION, seed, names]).encode()).hexdigest()
    info = dest / "BUILD.json"
    if info.is_file():
        try:
            done = json.loads(info.read_text())
        except (OSError, ValueError):
            done = {}
        if done.get("inputs") == inputs:
            verify(dest)
            return dest
        if done:
            raise DataError(f"{dest} holds a corpus built from other inputs (seed or clips); remove it "
                            "or pass another destination")
    t0 = time.perf_counter()
    items = plan(names, seed)
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    n_workers = workers or max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                      else (os.cpu_count() or 1)))
    chunks = [items[i::n_workers * 4] for i in range(n_workers * 4)]
    # Spawned (not forked) workers: none inherits the caller's state (TensorFlow, numba, earlier
    # synthesis), which would change the bytes.
    with ProcessPoolExecutor(n_workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_start_worker) as pool:
        results = list(pool.map(_build_chunk, [c for c in chunks if c], [str(fsdd)] * len(chunks),
                                [str(tmp)] * len(chunks)))
    digests = sorted(pair for chunk in results for pair in chunk)
    for part in ("student", "hidden"):
        _write_labels(tmp / part, [it for it in items if it.part == part])
    for part in ("student", "hidden"):
        rel = f"{part}/labels.csv"
        digests.append((rel, hashlib.sha256((tmp / rel).read_bytes()).hexdigest()))
    digests.sort()
    (tmp / "MANIFEST.sha256").write_text("".join(f"{d}  {r}\n" for r, d in digests))
    counts: dict[str, dict[str, int]] = {}
    for it in items:
        key = it.split
        counts.setdefault(key, {}).setdefault(it.attack or "real", 0)
        counts[key][it.attack or "real"] += 1
    (tmp / "BUILD.json").write_text(json.dumps({
        "builder_version": BUILDER_VERSION, "seed": seed, "inputs": inputs, "files": len(digests),
        "counts": counts, "seconds": round(time.perf_counter() - t0, 1), "workers": n_workers,
    }, indent=1, sort_keys=True) + "\n")
    if dest.exists():
        shutil.rmtree(dest)
    tmp.rename(dest)
    if verbose:
        print(f"fake_or_real: {len(items)} clips built in {time.perf_counter() - t0:.1f} s -> {dest}")
    return dest


def copy_student_part(dest: Path, *, link: bool = False, root: Path | None = None) -> int:
    """Copy the student part of the built corpus into ``dest`` (a folder that does not exist).

    ``dest`` is laid out like the built corpus without ``hidden/``: its ``MANIFEST.sha256``
    lists the student files only and its ``BUILD.json`` says ``"part": "student"``, so that
    :func:`load_fake_or_real` verifies it and refuses the hidden split there.

    Parameters
    ----------
    dest : Path
        Target folder (created).
    link : bool, keyword-only
        Hard-link the wav files instead of copying them (same file system only).
    root : Path, optional
        The built corpus; default ``<data dir>/fake_or_real-v1`` (built first if missing).

    Returns
    -------
    int
        The number of clips copied (5,400 for the full corpus).
    """
    root = Path(root) if root is not None else build()
    verify(root)
    listed = [line.partition("  ") for line in (root / "MANIFEST.sha256").read_text().splitlines()]
    student = [(digest, rel) for digest, _, rel in listed if rel.startswith("student/")]
    for _, rel in student:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if link and rel.endswith(".wav"):
            os.link(root / rel, target)
        else:
            shutil.copyfile(root / rel, target)
    (dest / "MANIFEST.sha256").write_text("".join(f"{d}  {r}\n" for d, r in student))
    info = json.loads((root / "BUILD.json").read_text())
    (dest / "BUILD.json").write_text(json.dumps({**info, "part": "student", "files": len(student),
                                                 "counts": {k: v for k, v in info["counts"].items()
                                                            if k != "hidden"}},
                                                indent=1, sort_keys=True) + "\n")
    return sum(rel.endswith(".wav") for _, rel in student)


def verify(root: Path) -> None:
    """Check every file of a built corpus against its ``MANIFEST.sha256``.

    Raises
    ------
    DataError
        If the build is incomplete (no ``BUILD.json``), a listed file is missing or differs,
        or a ``.wav`` file is not listed; the message names the file and the fix.
    """
    fix = "remove the folder and run `make data` again"
    if not (root / "BUILD.json").is_file() or not (root / "MANIFEST.sha256").is_file():
        raise DataError(f"{root} is not a complete fake_or_real build (BUILD.json or MANIFEST.sha256 "
                        f"missing); {fix}")
    listed = {}
    for line in (root / "MANIFEST.sha256").read_text().splitlines():
        digest, _, rel = line.partition("  ")
        listed[rel] = digest
    for rel, digest in listed.items():
        path = root / rel
        if not path.is_file():
            raise DataError(f"{path} is missing from the fake_or_real corpus; {fix}")
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if actual != digest:
            raise DataError(f"{path}: sha256 {actual} differs from the manifest's {digest}; {fix}")
    for path in root.rglob("*.wav"):
        rel = path.relative_to(root).as_posix()
        if rel not in listed:
            raise DataError(f"{path} is not in the fake_or_real manifest; {fix}")


@dataclass(frozen=True)
class SpoofClips:
    """Clips of the fake-or-real corpus with aligned metadata.

    Attributes
    ----------
    paths : list[Path]
        The ``.wav`` files (8 kHz, 8,000 samples each), sorted by id.
    labels : np.ndarray [shape=(n,), dtype=int64]
        1 for fake, 0 for real.
    attacks : np.ndarray [shape=(n,), dtype=str]
        Attack family of each fake (``""`` for real clips).
    splits : np.ndarray [shape=(n,), dtype=str]
        ``training``/``validation``/``testing`` or ``hidden``.
    ids : np.ndarray [shape=(n,), dtype=str]
        Clip ids (file stems).
    """

    paths: list[Path]
    labels: np.ndarray
    attacks: np.ndarray
    splits: np.ndarray
    ids: np.ndarray

    def __len__(self) -> int:
        return len(self.paths)


def load_fake_or_real(split: str = "training", root: Path | None = None) -> SpoofClips:
    """List the verified clips of one split of the fake-or-real corpus.

    Parameters
    ----------
    split : {"training", "validation", "testing", "student", "hidden"}
        One student split, the whole student part, or the hidden split (grader only).
    root : Path, optional
        The built corpus; default ``<data dir>/fake_or_real-v1``.

    Returns
    -------
    SpoofClips

    Raises
    ------
    DataError
        Unknown split, a corpus not built or not complete, a file that differs from the
        manifest, or ``"hidden"`` asked for in a student data folder.
    """
    valid = STUDENT_SPLITS + ("student", "hidden")
    if split not in valid:
        raise DataError(f"unknown split {split!r}; choose one of {valid}")
    root = Path(root) if root is not None else data_dir() / FOLDER
    if not root.exists():
        raise DataError(f"the fake_or_real corpus is not built at {root}; run `make data`")
    verify(root)
    if split == "hidden" and json.loads((root / "BUILD.json").read_text()).get("part") == "student":
        raise DataError(f"split 'hidden' is not available in a student data folder ({root}); only "
                        f"{STUDENT_SPLITS + ('student',)} are")
    part = "hidden" if split == "hidden" else "student"
    rows = []
    with open(root / part / "labels.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if split in ("student", "hidden") or row["split"] == split:
                rows.append(row)
    rows.sort(key=lambda r: r["id"])
    return SpoofClips([root / part / r["path"] for r in rows],
                      np.array([LABELS.index(r["label"]) for r in rows], dtype=np.int64),
                      np.array([r["attack"] for r in rows]), np.array([r["split"] for r in rows]),
                      np.array([r["id"] for r in rows]))
