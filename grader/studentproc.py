"""The student process: imports a submission's answers and runs its functions for the checks.

``python -m grader.studentproc SPEC.json`` (under :mod:`grader.sandbox`, started by
:class:`grader.boundary.StudentProcess`). It imports the answers module cell by cell, then
serves requests from the check process on two inherited pipes (:mod:`grader.wire` messages):
look up a name, call a function, index, iterate, convert to an array, ... Results that are data
travel as data; any other object stays here and travels as a handle that later requests name.
It never reads the hidden data, the checks or the reference (its sandbox does not allow it), and
what it sends is decoded on the other side without running any of its code.

SPEC keys: ``module`` (path of the answers module), ``name`` (module name), ``fd_in``/``fd_out``
(request and response pipes), ``exclude`` (``{grade_id: reason}`` of cells not to import),
``import_timeout`` and ``wall_factor`` (per cell).
"""
from __future__ import annotations

import importlib
import json
import os
import random
import sys
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from grader.wire import WireError, decode, encode, read_message, write_message

__all__ = ["PROBE_MODULES", "main"]

#: Modules whose functions the checks may run here on student objects (``probe`` requests).
PROBE_MODULES = ("grader.onstudent",)
_TEXT = 300  # characters of a repr sent with a handle
_MESSAGE = 2000  # characters of an exception message


class _Server:
    def __init__(self, spec: dict):
        self.fd_in, self.fd_out = int(spec["fd_in"]), int(spec["fd_out"])
        self.objects: dict[int, Any] = {}
        self.ids: dict[int, int] = {}  # id(object) -> handle (the objects are kept alive in ``objects``)
        self.mirrors: dict[int, Any] = {}  # what the checks sent by pickle, by their key
        self.next_id = 1
        self.answers: Any = None

    # -- channel ----------------------------------------------------------------------------
    def _read(self, n: int) -> bytes:
        chunks, left = [], n
        while left:
            b = os.read(self.fd_in, min(left, 1 << 20))
            if not b:
                raise EOFError
            chunks.append(b)
            left -= len(b)
        return b"".join(chunks)

    def send(self, header: dict, value: Any = None, *, has_value: bool = False) -> None:
        blobs: list[bytes] = []
        if has_value:
            header = {**header, "value": encode(value, blobs, handle=lambda obj: {"h": self._handle(obj)},
                                                to_array=_tensor_array)}
        write_message(self.fd_out, header, blobs)

    def _handle(self, obj: Any) -> dict:
        hid = self.ids.get(id(obj))
        if hid is None or self.objects.get(hid) is not obj:
            hid = self.next_id
            self.next_id += 1
            self.objects[hid], self.ids[id(obj)] = obj, hid
        try:
            text = repr(obj)
        except Exception:  # noqa: BLE001 - a student's __repr__ may raise
            text = f"<{type(obj).__name__}>"
        classes = [f"{c.__module__}:{c.__qualname__}" for c in type(obj).__mro__]
        return {"id": hid, "classes": classes[:32], "text": text[:_TEXT]}

    def _resolve(self, desc: Any) -> Any:
        hid = desc.get("id") if isinstance(desc, dict) else None
        if hid not in self.objects:
            raise WireError(f"an unknown handle {str(hid)[:20]}")
        return self.objects[hid]

    # -- import -------------------------------------------------------------------------------
    def load(self, spec: dict) -> None:
        from grader.answers import load_answers

        self.answers = load_answers(spec["module"], spec["name"], cell_timeout=spec.get("import_timeout"),
                                    wall_factor=float(spec.get("wall_factor", 5.0)),
                                    exclude=spec.get("exclude") or {},
                                    on_cell=lambda gid: self.send({"event": "cell", "grade_id": gid}))
        self.objects[0] = self.answers.module
        self.send({"event": "imported", "errors": [e.__dict__ for e in self.answers.errors]})

    # -- requests -----------------------------------------------------------------------------
    def serve(self) -> None:
        while True:
            try:
                header, blobs = read_message(self._read)
            except EOFError:
                return
            op = header.get("op")
            try:
                args = decode(header.get("args", {"l": []}), blobs, resolve=self._resolve, mirrors=self.mirrors)
                result = self.dispatch(op, header, args)
            except BaseException as e:  # noqa: BLE001 - student code may raise anything
                if isinstance(e, KeyboardInterrupt):
                    raise
                self.send({"event": "error", "error": self._describe(e)})
                continue
            try:
                self.send({"event": "ok"}, result, has_value=True)
            except WireError as e:
                self.send({"event": "error", "error": self._describe(e)})

    def dispatch(self, op: Any, header: dict, args: list) -> Any:
        if op == "reset":
            self.objects, self.ids, self.mirrors = {0: self.answers.module}, {}, {}
            return None
        if op == "seed":
            _seed(int(header.get("seed", 0)))
            return None
        if op == "echo":  # the student process's copy of what the checks sent, as a handle
            return args[0]
        if op == "probe":
            fn = _probe_function(str(header.get("fn", "")))
            return fn(*args[0], **args[1])
        target = self._resolve(header.get("target"))
        if op == "getattr":
            return getattr(target, str(header.get("name")))
        if op == "setattr":
            setattr(target, str(header.get("name")), args[0])
            return None
        if op == "call":
            return target(*args[0], **args[1])
        if op == "getitem":
            return target[args[0]]
        if op == "len":
            return len(target)
        if op == "bool":
            return bool(target)
        if op == "contains":
            return args[0] in target
        if op == "iter":
            return list(target)
        if op == "array":
            return np.asarray(target)
        if op in ("repr", "str"):
            return (repr if op == "repr" else str)(target)[:_MESSAGE]
        raise WireError(f"an unknown request {str(op)[:20]!r}")

    def _describe(self, e: BaseException) -> dict:
        from grader.answers import MissingAnswer

        t = type(e)
        try:
            msg = str(e)
        except Exception:  # noqa: BLE001
            msg = ""
        frames = self.answers.frames_of(e) if self.answers is not None else ""
        return {"type": t.__name__, "module": t.__module__, "builtin": t.__module__ == "builtins",
                "missing": isinstance(e, MissingAnswer), "wire": isinstance(e, WireError),
                "message": msg[:_MESSAGE], "frames": frames,
                "log": "".join(traceback.format_exception(t, e, e.__traceback__))[-4000:]}


def _tensor_array(value: Any) -> np.ndarray | None:
    """A TensorFlow/JAX/PyTorch tensor with a value, as an array (variables and symbolic tensors stay)."""
    mod = type(value).__module__
    if (not mod.startswith(("tensorflow", "jax", "torch")) or hasattr(value, "assign")
            or not hasattr(value, "__array__")):
        return None
    try:
        arr = np.asarray(value)
    except Exception:  # noqa: BLE001 - symbolic tensors cannot be converted
        return None
    return None if arr.dtype.hasobject else arr


def _probe_function(path: str) -> Any:
    mod, _, name = path.partition(":")
    if mod not in PROBE_MODULES or not name.isidentifier():
        raise WireError(f"the checks may not run {path[:80]!r} in the student process")
    return getattr(importlib.import_module(mod), name)


def _seed(seed: int) -> None:
    """Seed Python, NumPy and (when imported) Keras, as the checks' fixture does for each check."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    if "keras" in sys.modules:
        sys.modules["keras"].utils.set_random_seed(seed % 2**31)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    spec = json.loads(Path(argv[0]).read_text())
    server = _Server(spec)
    server.load(spec)
    server.serve()
    sys.stdout.flush()
    os._exit(0)  # no exit handlers of student code run after the last answer


if __name__ == "__main__":
    main()
