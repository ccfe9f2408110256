"""Hidden clips drawn from a public dataset, disguised before a submission's code reads them.

Assignments 1 and 4 score saved models on FSDD takes 0-4: public recordings whose bytes, names
(digit and speaker) and nearest neighbours anyone can look up. A submission that looks a clip up
instead of classifying it would score full marks with a useless model. So the clips a check hands
to the student's code (:func:`grader.boundary.staged` with ``disguise=True``) are copies changed
as another take of the same word might differ: played 1-2 % faster or slower (pitch and length
follow), up to 2 dB louder or quieter, shifted by up to 20 ms of silence at each end, with noise
50 dB below the clip's level. Their bytes and samples match no public file, and a search of the
public clips by waveform (best cross-correlation) finds a clip's own source for about half of them
instead of all (``tests/grader/test_disguise.py``; figures in grader/README.md "Hidden data"),
while the reference models keep their scores within 0.02 (the spectrogram LSTM, the most
sensitive, 0.963-0.977 against 0.983).

Every change is drawn from a key: the gradebook's (``cache/hidden_key``, made once per gradebook
with :meth:`grader.gradebook.Gradebook.hidden_key`, so rescoring gives the same grades) and the
clip's content. A table of disguised clips built from one gradebook is useless for the next.

What this does not stop: a submission that classifies the clips with a nearest-neighbour search
over features (MFCC) of the public recordings gets what such a classifier gets on any new take.
The sure fix is hidden clips nobody else has: grade on the instructor's own recordings
(README "Instructors": hidden data).
"""
from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path

import numpy as np

from source_data.secret import keyed_seed

__all__ = ["KEY_ENV", "SPEED", "active_key", "disguise_clip", "disguised_copies"]

KEY_ENV = "GRADER_HIDDEN_KEY"
SPEED = (0.01, 0.02)        # |1 - playback speed|
GAIN_DB = 2.0               # +- level change
PAD_SECONDS = 0.02          # at most this much silence added at each end
NOISE_DB = 50.0             # noise this far below the clip's RMS level
_copies: dict[tuple[str, str], str] = {}   # (key, source path) -> disguised copy, per check process


def active_key() -> bytes | None:
    """The key of this check process (``$GRADER_HIDDEN_KEY``, set by the engine), or None outside grading."""
    key = os.environ.get(KEY_ENV, "")
    return key.encode() if key else None


def disguise_clip(y: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A disguised copy of one clip.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio in [-1, 1].
    sr : int
        Its sampling rate in Hz (kept).
    rng : np.random.Generator
        Draws every change (keyed by the caller).

    Returns
    -------
    np.ndarray [shape=(m,), dtype=float64]
        ``y`` played at a speed 1-2 % off 1 (``m`` about ``n / speed`` plus the padding), scaled by
        up to +-2 dB, with 0-20 ms of silence added at each end and white noise 50 dB below its
        RMS level, clipped to +-0.99.
    """
    import librosa

    x = np.asarray(y, dtype=np.float64)
    speed = 1.0 + float(rng.choice([-1.0, 1.0])) * float(rng.uniform(*SPEED))
    x = librosa.resample(x, orig_sr=round(sr * speed), target_sr=sr, res_type="soxr_hq")
    x = x * 10 ** (float(rng.uniform(-GAIN_DB, GAIN_DB)) / 20)
    lead, trail = (int(rng.uniform(0, PAD_SECONDS) * sr) for _ in range(2))
    x = np.concatenate([np.zeros(lead), x, np.zeros(trail)])
    rms = float(np.sqrt(np.mean(x ** 2))) if x.size else 0.0
    x = x + rng.standard_normal(x.size) * rms * 10 ** (-NOISE_DB / 20)
    return np.clip(x, -0.99, 0.99)


def disguised_copies(paths: list[str | os.PathLike], key: bytes, folder: str | os.PathLike | None = None) -> list[str]:
    """Disguised copies of the audio files ``paths`` (16-bit PCM wav, same rate), one per path.

    Parameters
    ----------
    paths : list of path-like
        The hidden clips (any format soundfile reads).
    key : bytes
        The gradebook's key (:func:`active_key`).
    folder : path-like, optional
        Where the copies go (made if missing; default: a temporary folder of this process). A clip disguised
        before in this process with the same key is not disguised again.

    Returns
    -------
    list of str
        The copies' paths, in the order of ``paths``; names say nothing of the originals.
    """
    import soundfile as sf

    out_dir = Path(folder) if folder is not None else None
    out = []
    for src in paths:
        cache_key = (key.hex(), os.fspath(src))
        if cache_key not in _copies or not Path(_copies[cache_key]).is_file():
            out_dir = out_dir or Path(tempfile.mkdtemp(prefix="disguised-"))
            out_dir.mkdir(parents=True, exist_ok=True)
            data = Path(src).read_bytes()
            y, sr = sf.read(io.BytesIO(data), dtype="float64", always_2d=True)
            rng = np.random.default_rng(keyed_seed(key, "disguise", hashlib.sha256(data).hexdigest()))
            target = out_dir / f"hidden_{len(_copies):05d}.wav"
            sf.write(target, disguise_clip(y.mean(axis=1), sr, rng), sr, subtype="PCM_16", format="WAV")
            _copies[cache_key] = str(target)
        out.append(_copies[cache_key])
    return out
