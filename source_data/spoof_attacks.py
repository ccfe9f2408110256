"""The attack families of the fake-or-real corpus: eSpeak NG TTS, WORLD, Griffin-Lim and LPC re-synthesis.

Used by :mod:`source_data.fake_or_real_build` only. Every attack is a pure function of its
input and seed, except eSpeak NG, which keeps state between utterances: :func:`forked` runs
each utterance in a forked child of a process set up the same way.
"""
from __future__ import annotations

import ctypes
import os
from typing import Callable

import numpy as np

from source_data.errors import DataError

__all__ = ["Espeak", "forked", "griffinlim_attack", "lpc_attack", "world_attack"]


def forked(fn: Callable[..., np.ndarray], *args: object) -> np.ndarray:
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


class Espeak:
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
        from ``rand()``: call it only in a child of :func:`source_data.fake_or_real_build._build_chunk`'s warmed process.
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

