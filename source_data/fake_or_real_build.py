"""Building the fake-or-real corpus of assignment 3 (``python -m source_data build``, ``make data``).

The instructor's side of :mod:`source_data.fake_or_real`: every decision is made by :func:`plan`
from a seed, then :func:`build` synthesises the clips in worker processes (bytes independent of
the number of workers) and writes the manifest. The student part alone can be copied out with
:func:`copy_student_part`; this module is not in the students' hand-out.

The hidden part is keyed by the instructor's secret (:func:`source_data.secret.hidden_secret`):
its levels, attack parameters and TTS jitter are drawn from the secret, and its FSDD sources are
resampled by a keyed speed factor, so that neither this code nor the public FSDD files rebuild
the hidden clips. Without a secret the demo corpus is built (documented, reproducible, and
rebuildable by anyone who holds this code).
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from source_data.errors import DataError
from source_data.fake_or_real import (BUILDER_VERSION, FOLDER, LEVELS_DB, SAMPLE_RATE, SEGMENT,
                                      STUDENT_SPLITS, finish, verify)
from source_data.registry import data_dir
from source_data.secret import describe, hidden_secret, keyed_seed
from source_data.spoof_attacks import Espeak, forked, griffinlim_attack, lpc_attack, world_attack

__all__ = ["DIGIT_WORDS", "HIDDEN_ACCENTS", "HIDDEN_VARIANTS", "Item", "SEED", "STUDENT_ACCENTS", "VARIANTS",
           "build", "copy_student_part", "plan"]

SEED = 20261204
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# eSpeak NG voices: accent x variant. The hidden split speaks with accents no student split has.
STUDENT_ACCENTS = ("en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-029")
HIDDEN_ACCENTS = ("en-us-nyc", "en-gb-x-gbcwmd")
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5", "klatt",
            "klatt2", "klatt3", "adam", "david", "ed", "john", "max", "paul")
HIDDEN_VARIANTS = ("m1", "m3", "f2")
# with a secret, each hidden FSDD source is resampled by a keyed factor: |1 - f| in this range
HIDDEN_SPEED = (0.01, 0.02)


def _student_split(take: int) -> str:
    return "testing" if take < 10 else "validation" if take < 15 else "training"


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
        ``""`` for real clips, else one of :data:`source_data.fake_or_real.ATTACKS`.
    source : str
        FSDD file name the clip comes from, or the eSpeak voice for ``tts``.
    digit : int
        The spoken digit.
    params : tuple
        Seeded attack parameters (TTS rate and pitch, WORLD F0 factor, Griffin-Lim/LPC seed).
    level_db : float
        Seeded RMS level of the finished clip (see :func:`finish`).
    speed : float
        Factor by which the FSDD source is sped up before synthesis (1.0: as recorded; a keyed
        hidden clip's is 1-2 % away from 1).
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
    speed: float = 1.0

    @property
    def path(self) -> str:
        """Path of the clip relative to its part's folder."""
        if self.part == "hidden":
            return f"{self.label}/{self.id}.wav"
        return f"{self.split}/{self.label}/{self.id}.wav"


def _level(rng: np.random.Generator) -> float:
    return round(float(rng.uniform(*LEVELS_DB)), 2)


def _world_factor(rng: np.random.Generator) -> float:
    return round(float(rng.choice([0.7, 0.8, 1.25, 1.4]) * rng.uniform(0.95, 1.05)), 4)


def _tts_jitter(rng: np.random.Generator) -> tuple[int, int]:
    return int(rng.integers(130, 211)), int(rng.integers(25, 76))


def _keyed(item: Item, secret: bytes) -> Item:
    """``item`` (a hidden clip) with its level, parameters and speed drawn from the secret instead."""
    rng = np.random.default_rng(keyed_seed(secret, "fake_or_real/hidden", item.id))
    level = _level(rng)
    if item.attack == "tts":
        return replace(item, params=_tts_jitter(rng), level_db=level)
    params: tuple = (_world_factor(rng),) if item.attack == "world" else (int(rng.integers(2 ** 31)),) \
        if item.attack else ()
    speed = 1.0 + float(rng.choice([-1.0, 1.0])) * float(rng.uniform(*HIDDEN_SPEED))
    return replace(item, params=params, level_db=level, speed=round(speed, 4))


def plan(fsdd_names: Iterable[str], seed: int = SEED, secret: bytes | None = None) -> list[Item]:
    """The corpus as a list of clips to build: every decision made here, from ``seed`` and ``secret``.

    Parameters
    ----------
    fsdd_names : iterable of str
        FSDD file names ``{digit}_{speaker}_{take}.wav`` to use as real clips.
    seed : int
        Seed of every random choice (attack parameters, TTS jitter).
    secret : bytes, optional
        The instructor's secret (:func:`source_data.secret.hidden_secret`). With it, every hidden
        clip's level, attack parameters, TTS jitter and source speed are drawn from the secret
        (the student part is the same with or without it); None: the demo corpus.

    Returns
    -------
    list of Item
        Real clips (all of ``fsdd_names``); derived fakes: in the student part, one for every
        odd take (``world`` for takes 5, 9, 13, ... and ``griffinlim`` for 7, 11, ...), in the
        hidden part ``world`` for take 0, ``griffinlim`` for take 1, ``lpc`` for takes 2-3;
        TTS fakes: every digit in every student voice (6 accents x 22 variants, voices assigned
        to a student split by their index) and in each of the 6 hidden voices.
    """
    items = _plan(fsdd_names, seed)
    if secret is None:
        return items
    return [_keyed(it, secret) if it.part == "hidden" else it for it in items]


def _plan(fsdd_names: Iterable[str], seed: int) -> list[Item]:
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
            params: tuple = (_world_factor(rng),)
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
            items.append(Item(f"tts_{digit}_{voice}", part, split, "fake", "tts", voice, digit, _tts_jitter(rng),
                              _level(rng)))
    return items


# ----------------------------------------------------------------------------- building

def _synthesise(item: Item, fsdd: Path, tts: Callable[[], Espeak]) -> np.ndarray:
    import soundfile as sf

    if item.attack == "tts":
        rate, pitch = item.params
        engine = tts()
        return finish(engine.speak(DIGIT_WORDS[item.digit], item.source, rate, pitch), engine.sr, item.level_db)
    y, sr = sf.read(fsdd / item.source, dtype="float64")
    if item.speed != 1.0:   # played faster (or slower): shorter and higher (or longer and lower)
        import librosa

        y = librosa.resample(y, orig_sr=round(sr * item.speed), target_sr=sr, res_type="soxr_hq")
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


def _warm_up(tts: Espeak) -> None:
    """Run every synthesiser once on fixed inputs, the same way in every worker."""
    t = np.arange(4000) / SAMPLE_RATE
    y = 0.3 * np.sin(2 * np.pi * 140 * t) * np.hanning(t.size) + 0.01 * np.random.default_rng(0).standard_normal(t.size)
    finish(world_attack(y, SAMPLE_RATE, 1.1), SAMPLE_RATE)
    finish(griffinlim_attack(y, SAMPLE_RATE, 0), SAMPLE_RATE)
    finish(lpc_attack(y, SAMPLE_RATE, 0), SAMPLE_RATE)
    _wav_bytes(np.zeros(SEGMENT, dtype=np.int16))


_ENGINE: Espeak | None = None   # the build worker's eSpeak NG, set up by _start_worker


def _start_worker() -> None:
    """Set a build worker up: eSpeak NG initialised, every synthesiser warmed up once.

    After this the worker itself never synthesises; each clip is made in a forked child of it,
    so every clip starts from this same state (eSpeak NG keeps state from one utterance to the
    next, and the state of a process that already ran other synthesis is not reproducible).
    """
    global _ENGINE
    _ENGINE = Espeak()
    _warm_up(_ENGINE)


def _build_chunk(items: list[Item], fsdd: str, dest: str) -> list[tuple[str, str]]:
    """Build ``items`` into ``dest``; return (relative path, sha256) of each file.

    Runs in a spawned worker set up by :func:`_start_worker`; each TTS clip is synthesised in
    a forked child (:func:`forked`), so that a clip's bytes depend on nothing but its
    :class:`Item` — not on the worker, nor on the clips built before it. The other attacks are
    pure functions of their input and seed (WORLD's D4C is replaced, see :func:`world_attack`).
    """
    if _ENGINE is None:
        _start_worker()
    engine = _ENGINE
    done = []
    for item in items:
        if item.attack == "tts":    # eSpeak NG keeps state between utterances: one child each
            samples = forked(_synthesise, item, Path(fsdd), lambda: engine)
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
          workers: int | None = None, seed: int = SEED, secret: bytes | None | str = "env",
          verbose: bool = False) -> Path:
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
    secret : bytes or None, keyword-only
        The instructor's secret for the hidden part (see :func:`plan`); default ``"env"``:
        :func:`source_data.secret.hidden_secret` (None there builds the demo corpus).
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
    if secret == "env":
        secret = hidden_secret()
    key: list[str] = [] if secret is None else [f"{keyed_seed(secret, 'fake_or_real/inputs'):016x}"]
    inputs = hashlib.sha256(json.dumps([BUILDER_VERSION, seed, names, *key]).encode()).hexdigest()
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
            raise DataError(f"{dest} holds a corpus built from other inputs (seed, secret or clips); remove it "
                            "or pass another destination")
    t0 = time.perf_counter()
    items = plan(names, seed, secret)
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
        "hidden": "demo" if secret is None else "keyed",
    }, indent=1, sort_keys=True) + "\n")
    if dest.exists():
        shutil.rmtree(dest)
    tmp.rename(dest)
    if verbose:
        print(f"fake_or_real: {len(items)} clips built in {time.perf_counter() - t0:.1f} s -> {dest}; "
              f"{describe(secret)}")
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
    info = {k: v for k, v in info.items() if k not in ("inputs", "hidden")}   # nothing of the hidden part's key
    (dest / "BUILD.json").write_text(json.dumps({**info, "part": "student", "files": len(student),
                                                 "counts": {k: v for k, v in info["counts"].items()
                                                            if k != "hidden"}},
                                                indent=1, sort_keys=True) + "\n")
    return sum(rel.endswith(".wav") for _, rel in student)

