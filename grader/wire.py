"""The narrow channel between the checks and the student process: framing and a strict codec.

The checks (trusted) never run student code: student functions run in a process of their own
(:mod:`grader.studentproc`) and what comes back is *data* that this module decodes into plain
Python and NumPy values, or a :class:`Handle` naming an object that stays in the student
process. Nothing the student process sends can make the trusted side run code: no pickle, no
object construction beyond ``None``, ``bool``, ``int``, ``float``, ``complex``, ``str``,
``bytes``, ``list``, ``tuple``, ``dict``, ``set``, ``slice``, ``pathlib.Path`` and NumPy arrays
and scalars of numeric, boolean, string or bytes dtype (``np.load(..., allow_pickle=False)``).

A message is ``8-byte length | JSON header | blobs`` (array data travels as ``.npy`` bytes, not
JSON); its size is checked against a cap before it is read, its nesting depth and node count
while it is decoded. Any violation raises :class:`WireError`.

The other direction (checks to student process) may also carry ``pickle`` payloads: Keras
models, optimizers and other objects the checks build and hand to student functions. The
student process trusts the checks, not the reverse; :func:`decode` accepts them only with
``trusted_sender=True``.
"""
from __future__ import annotations

import io
import json
import math
import os
import pathlib
import pickle
import struct
from typing import Any, Callable

import numpy as np

__all__ = ["MAX_MESSAGE", "Handle", "WireError", "decode", "encode", "pickled", "read_message", "write_message"]

#: Bytes one message may have (a batch of features or a model's weights fits many times over).
MAX_MESSAGE = 512 << 20
_MAX_DEPTH = 64
_MAX_NODES = 2_000_000
_LEN = struct.Struct(">Q")


class WireError(Exception):
    """A message that breaks the protocol: too big, malformed, or of a forbidden kind."""


class Handle:
    """An object that stays in the student process, named by ``id``.

    Attributes
    ----------
    id : int
    classes : list of str
        ``module:qualname`` of its class and base classes (the method resolution order).
    text : str
        A short ``repr`` of it, for messages.
    """

    __slots__ = ("id", "classes", "text")

    def __init__(self, id: int, classes: list[str], text: str):  # noqa: A002
        self.id, self.classes, self.text = id, classes, text

    def __repr__(self) -> str:
        return f"Handle({self.id}, {self.classes[:1]}, {self.text!r})"


# ------------------------------------------------------------------------------------ framing
def write_message(fd: int, header: dict, blobs: list[bytes]) -> None:
    """Write one message (header + blobs) to the file descriptor ``fd``."""
    head = json.dumps({**header, "blobs": [len(b) for b in blobs]}, allow_nan=True).encode()
    payload = _LEN.pack(len(head)) + head
    total = len(payload) + sum(len(b) for b in blobs)
    _write_all(fd, _LEN.pack(total) + payload)
    for b in blobs:
        _write_all(fd, b)


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def read_message(read: Callable[[int], bytes], *, limit: int = MAX_MESSAGE) -> tuple[dict, list[bytes]]:
    """Read one message with ``read(n)`` (which returns exactly ``n`` bytes or raises EOFError).

    Raises
    ------
    WireError
        If the message is larger than ``limit`` or malformed.
    EOFError
        If the sender closed the channel.
    """
    (total,) = _LEN.unpack(read(_LEN.size))
    if total > limit:
        raise WireError(f"a message of {total} bytes (at most {limit} are accepted)")
    if total < _LEN.size:
        raise WireError("a message shorter than its header")
    (hlen,) = _LEN.unpack(read(_LEN.size))
    if hlen > total - _LEN.size:
        raise WireError("a message header longer than the message")
    try:
        header = json.loads(read(hlen).decode())
    except (UnicodeDecodeError, ValueError) as e:
        raise WireError(f"a message header that is not JSON ({e})") from None
    sizes = header.get("blobs") if isinstance(header, dict) else None
    if (not isinstance(sizes, list) or not all(isinstance(n, int) and n >= 0 for n in sizes)
            or sum(sizes) != total - _LEN.size - hlen):
        raise WireError("a message whose blob sizes do not add up")
    return header, [read(n) for n in sizes]


# ------------------------------------------------------------------------------------ encoding
_SCALARS = (type(None), bool, int, float, str)


def encode(value: Any, blobs: list[bytes], *, handle: Callable[[Any], dict] | None = None,
           to_array: Callable[[Any], np.ndarray | None] | None = None, _depth: int = 0) -> Any:
    """The JSON-able form of ``value``; array data and pickles are appended to ``blobs``.

    Parameters
    ----------
    value : object
    blobs : list of bytes
        Receives the binary parts.
    handle : callable, optional
        The node of an object that is not data: a handle description (``{"h": ...}``, student
        side) or, on the trusted side, a handle it got back or a :func:`pickled` object.
        Without it such an object is refused.
    to_array : callable, optional
        Converts tensors (TensorFlow, ...) to arrays; returns None for anything else.

    Raises
    ------
    WireError
        For an object that cannot travel, or nesting deeper than 64.
    """
    if _depth > _MAX_DEPTH:
        raise WireError(f"a value nested more than {_MAX_DEPTH} levels deep")
    kw = dict(handle=handle, to_array=to_array, _depth=_depth + 1)
    t = type(value)
    if t in _SCALARS:
        return value if t is not float or math.isfinite(value) else {"f": repr(value)}
    if t is list:
        return {"l": [encode(v, blobs, **kw) for v in value]}
    if t is tuple:
        return {"t": [encode(v, blobs, **kw) for v in value]}
    if t is dict:
        return {"d": [[encode(k, blobs, **kw), encode(v, blobs, **kw)] for k, v in value.items()]}
    if t in (set, frozenset):
        return {"set": [encode(v, blobs, **kw) for v in value]}
    if t is complex:
        return {"cx": [repr(value.real), repr(value.imag)]}
    if t is bytes:
        blobs.append(value)
        return {"b": len(blobs) - 1}
    if t is slice:
        return {"sl": [encode(v, blobs, **kw) for v in (value.start, value.stop, value.step)]}
    if value is Ellipsis:
        return {"E": 1}
    if isinstance(value, pathlib.PurePath):
        return {"p": str(value)}
    if isinstance(value, (np.ndarray, np.generic)) and np.asarray(value).dtype.kind in "biufcSUMm":
        blobs.append(_npy(np.asarray(value)))
        return {"s" if isinstance(value, np.generic) else "a": len(blobs) - 1}
    if to_array is not None:
        arr = to_array(value)
        if arr is not None:
            return encode(arr, blobs, **kw)
    if handle is not None:
        return handle(value)
    raise WireError(f"cannot send a {t.__module__}.{t.__qualname__}")


def pickled(value: Any, blobs: list[bytes], key: int) -> dict:
    """The node of an object the checks send by pickle, kept by the student process under ``key``.

    The student process keeps the copy: the same object sent again travels as ``{"mir": key}`` and
    is the same object there (a generator the student's code draws from keeps its state).
    """
    try:
        blobs.append(pickle.dumps(value))
    except Exception as e:  # noqa: BLE001 - whatever pickling raises
        raise WireError(f"cannot send a {type(value).__name__} to the student process ({e})") from None
    return {"pk": [len(blobs) - 1, key]}


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def decode(node: Any, blobs: list[bytes], *, resolve: Callable[[Any], Any] | None = None,
           mirrors: dict[int, Any] | None = None) -> Any:
    """The value that :func:`encode` encoded.

    Parameters
    ----------
    node : object
        The JSON form.
    blobs : list of bytes
    resolve : callable, optional
        Turns a handle description into an object: on the trusted side a proxy, on the student
        side the object it names. Without it a handle is refused.
    mirrors : dict, optional
        Accept pickles and keep them here by key (only the student process, decoding what the
        checks send, passes it).

    Raises
    ------
    WireError
        For anything malformed or forbidden.
    """
    count = [0]
    return _decode(node, blobs, resolve, mirrors, 0, count)


def _decode(node: Any, blobs: list[bytes], resolve: Callable[[Any], Any] | None, pk: dict[int, Any] | None,
            depth: int, count: list[int]) -> Any:
    count[0] += 1
    if count[0] > _MAX_NODES or depth > _MAX_DEPTH:
        raise WireError("a value with too many parts or nested too deeply")
    if node is None or type(node) in (bool, int, float, str):
        return node
    if type(node) is not dict or len(node) != 1:
        raise WireError(f"a malformed value of type {type(node).__name__}")
    (tag, arg), = node.items()
    sub = lambda v: _decode(v, blobs, resolve, pk, depth + 1, count)  # noqa: E731
    if tag in ("l", "t", "set") and type(arg) is list:
        items = [sub(v) for v in arg]
        return items if tag == "l" else tuple(items) if tag == "t" else set(items)
    if tag == "d" and type(arg) is list:
        out = {}
        for pair in arg:
            if type(pair) is not list or len(pair) != 2:
                raise WireError("a malformed dict entry")
            key = sub(pair[0])
            try:
                out[key] = sub(pair[1])
            except TypeError:
                raise WireError("a dict key that cannot be hashed") from None
        return out
    if tag == "f" and arg in ("nan", "inf", "-inf"):
        return float(arg)
    if tag == "cx" and type(arg) is list and len(arg) == 2:
        try:
            return complex(float(arg[0]), float(arg[1]))
        except (TypeError, ValueError):
            raise WireError("a malformed complex number") from None
    if tag == "p" and type(arg) is str:
        return pathlib.Path(arg)
    if tag == "E":
        return Ellipsis
    if tag == "sl" and type(arg) is list and len(arg) == 3:
        return slice(*(sub(v) for v in arg))
    if tag in ("pk", "mir"):
        if pk is None:
            raise WireError("a pickle from the student process")
        if tag == "mir":
            if arg not in pk:
                raise WireError("a reference to an object never sent")
            return pk[arg]
        if type(arg) is not list or len(arg) != 2:
            raise WireError("a malformed pickle node")
        pk[arg[1]] = obj = pickle.loads(_blob(blobs, arg[0]))  # noqa: S301 - from the trusted checks only
        return obj
    if tag in ("a", "s", "b"):
        blob = _blob(blobs, arg)
        if tag == "b":
            return blob
        arr = _load_npy(blob)
        return arr[()] if tag == "s" else arr
    if tag == "h" and resolve is not None:
        return resolve(arg)
    raise WireError(f"a value of unknown or forbidden kind {str(tag)[:20]!r}")


def _blob(blobs: list[bytes], index: Any) -> bytes:
    if type(index) is not int or not 0 <= index < len(blobs):
        raise WireError("a reference to a missing blob")
    return blobs[index]


def _load_npy(blob: bytes) -> np.ndarray:
    try:
        arr = np.load(io.BytesIO(blob), allow_pickle=False)
    except Exception as e:  # noqa: BLE001 - np.load raises many kinds
        raise WireError(f"array data that NumPy cannot read without pickle ({type(e).__name__})") from None
    if not isinstance(arr, np.ndarray) or arr.dtype.hasobject:
        raise WireError("array data of object dtype")
    return arr
