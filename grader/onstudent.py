"""Probes: kit functions that the checks run in the student process, beside the student's objects.

A check that must compute something *with* a student object rather than *from* what it returns
(a gradient through the student's model, the output of one of its layers, a saved model loaded
with the student's own classes) calls :func:`grader.boundary.on_student` with one of these
functions. They run in the student process (:mod:`grader.studentproc` allows no other module),
so their results are as untrusted as the student's own return values: the checks validate them
like any answer. They are part of the kit, not of the hidden checks: keep in them nothing that
the checks must keep secret.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["call_with_joblib_threads", "call_with_lookup", "call_with_recorded", "compile_and_evaluate", "compile_and_fit", "generate_with_plain_word_helpers",
           "load_saved_model", "operation_outputs"]


def operation_outputs(model: Any, inputs: Any) -> list[np.ndarray | None]:
    """What each operation (layer) of a functional ``model`` outputs for ``inputs``.

    Parameters
    ----------
    model : keras.Model
    inputs : np.ndarray or list of np.ndarray
        What the model is called with.

    Returns
    -------
    list of (np.ndarray or None)
        One entry per ``model.operations`` (``model.layers`` when it has none); None where the
        output cannot be computed from the model's inputs alone (a subclassed model's layers).
    """
    import keras

    out: list[np.ndarray | None] = []
    operations = list(getattr(model, "operations", None) or getattr(model, "layers", []))
    for op in operations:
        try:
            probe = keras.Model(model.inputs[0] if len(model.inputs) == 1 else model.inputs, op.output)
            out.append(np.asarray(keras.ops.convert_to_numpy(probe(inputs, training=False))))
        except Exception:  # noqa: BLE001 - not reachable from the inputs alone
            out.append(None)
    return out


def generate_with_plain_word_helpers(module: Any, *args: Any) -> Any:
    """``module.generate_text(*args)`` with word helpers that are exact on already normalised text.

    A check of ``generate_text``'s sampling passes text that is normalised already, so that
    ``normalize_text`` may keep it as it is and ``encode_words``/``decode_words`` only look words
    up: the result then depends on the sampling alone, not on the student's other answers. The
    module's own helpers (or their absence) are restored afterwards.
    """
    unk = "[UNK]"

    def normalize_text(text: str) -> str:
        return " ".join(text.split())

    def encode_words(text: str, vocab: list[str]) -> np.ndarray:
        index = {w: i for i, w in enumerate(vocab)}
        return np.array([index.get(t, index[unk]) for t in text.split()], dtype=np.int32)

    def decode_words(ids: Any, vocab: list[str]) -> str:
        return " ".join(vocab[int(i)] for i in ids)

    helpers = {"normalize_text": normalize_text, "encode_words": encode_words, "decode_words": decode_words}
    return _call_with(module, helpers, "generate_text", *args)


_MISSING = object()


def _call_with(module: Any, replacements: dict[str, Any], fn: str, *args: Any) -> Any:
    """``module.<fn>(*args)`` with some names of ``module`` replaced; they (or their absence) are restored."""
    saved = {name: module.__dict__.get(name, _MISSING) for name in replacements}
    module.__dict__.update(replacements)
    try:
        return getattr(module, fn)(*args)
    finally:
        for name, value in saved.items():
            if value is _MISSING:
                module.__dict__.pop(name, None)
            else:
                module.__dict__[name] = value


def call_with_joblib_threads(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` with joblib in threads (an answers module cannot be pickled into workers)."""
    import joblib

    with joblib.parallel_config(backend="threading"):
        return fn(*args, **kwargs)


def compile_and_fit(model: Any, compile: dict, x: Any, y: Any, **fit: Any) -> dict:  # noqa: A002
    """``model.compile(**compile)`` then ``model.fit(x, y, **fit)``; the history's values per epoch.

    For a model the checks built, trained with the student's callbacks, metrics or losses.
    """
    model.compile(**compile)
    history = model.fit(x, y, **fit)
    return {k: [float(v) for v in vs] for k, vs in history.history.items()}


def compile_and_evaluate(model: Any, compile: dict, x: Any, y: Any, **evaluate: Any) -> dict:  # noqa: A002
    """``model.compile(**compile)`` then ``model.evaluate(x, y, return_dict=True, **evaluate)``."""
    model.compile(**compile)
    return {k: float(v) for k, v in model.evaluate(x, y, return_dict=True, **evaluate).items()}


def call_with_lookup(module: Any, helper: str, keys: list[np.ndarray], values: list[np.ndarray], fn: str,
                     *args: Any) -> Any:
    """``module.<fn>(*args)`` with ``module.<helper>`` replaced by a table of the checks' answers.

    A check of one function that calls another answer (``predict_labels`` calling ``mel_image``)
    gives it the right results of the other for the inputs it expects, so that only the function
    checked counts: ``helper(x)`` returns ``values[i]`` for the ``keys[i]`` nearest to x (relative
    error below 5 % over their common length, lengths within 2 samples: another resampler's
    output still matches), and zeros shaped like ``values[0]`` for an input the checks did not
    expect. The module's own ``helper`` (or its absence) is restored afterwards.
    """
    def lookup(x: Any, *_: Any, **__: Any) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        best, where = 0.05, None
        for i, key in enumerate(keys):
            key = np.asarray(key, dtype=np.float64).reshape(-1)
            n = min(len(key), len(x))
            if abs(len(key) - len(x)) > 2 or n == 0:
                continue
            error = np.linalg.norm(x[:n] - key[:n]) / max(np.linalg.norm(key[:n]), 1e-12)
            if error < best:
                best, where = error, i
        return np.zeros_like(values[0]) if where is None else values[where].copy()

    return _call_with(module, {helper: lookup}, fn, *args)


def call_with_recorded(module: Any, tables: dict[str, dict], fn: str, *args: Any) -> Any:
    """``module.<fn>(*args)`` with helpers that replay the results the checks recorded.

    Parameters
    ----------
    module : module
        The student's answers.
    tables : dict
        ``{helper: {"params": [name, ...], "defaults": {name: value}, "calls": [[arguments, result], ...]}}``
        from :func:`grader.boundary.record_calls`: each call's arguments bound to the parameter
        names. A call of ``helper`` with arguments equal to a recorded call's (arrays within 1e-6,
        paths and strings alike) returns its recorded result; any other call runs the module's own
        ``helper`` (a helper it does not define raises NameError as it would).
    fn : str
        The function checked.
    """
    def stand_in(name: str, table: dict) -> Any:
        own = module.__dict__.get(name, _MISSING)

        def helper(*a: Any, **kw: Any) -> Any:
            bound = _bind(table["params"], table["defaults"], a, kw)
            if bound is not None:
                for arguments, result in table["calls"]:
                    if _same(bound, arguments):
                        return result
            if own is _MISSING:
                raise NameError(f"name {name!r} is not defined")
            return own(*a, **kw)
        return helper

    return _call_with(module, {name: stand_in(name, table) for name, table in tables.items()}, fn, *args)


def _bind(params: list[str], defaults: dict, args: tuple, kwargs: dict) -> dict | None:
    """Arguments by parameter name (None when they do not fit the parameters)."""
    if len(args) > len(params) or any(k not in params for k in kwargs):
        return None
    bound = dict(zip(params, args))
    for k, v in kwargs.items():
        if k in bound:
            return None
        bound[k] = v
    for k in params:
        if k not in bound:
            if k not in defaults:
                return None
            bound[k] = defaults[k]
    return bound


def _same(a: Any, b: Any) -> bool:
    """Equal as arguments: arrays within 1e-6, sequences item by item, paths as strings."""
    import os

    if isinstance(a, (str, os.PathLike)) and isinstance(b, (str, os.PathLike)):
        return os.fspath(a) == os.fspath(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        try:
            x, y = np.asarray(a), np.asarray(b)
            return x.shape == y.shape and bool(np.allclose(x, y, atol=1e-6, equal_nan=True))
        except (TypeError, ValueError):
            return False
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001
        return False


def load_saved_model(artifacts_dir: str, name: str, known: list[str]) -> Any:
    """:func:`grader.api.load_saved_model` in the student process (with the student's own classes)."""
    from grader.api import load_saved_model as load

    return load(artifacts_dir, name, known)
