"""The trust boundary: the checks reach student code only through a process of its own.

The check process (pytest with the hidden checks, the reference answers and the hidden data)
never imports the student's answers. :class:`StudentProcess` starts :mod:`grader.studentproc`
under a stricter sandbox (it reads the kit, the student data, the executed notebook's folder
and its own folder; not the hidden data, the checks or the reference) and talks to it over
two pipes (:mod:`grader.wire`). The ``student`` fixture is a :class:`RemoteModule`, so checks
still read ``student.pad(x)``: arguments travel to the student process, results come back as
data (arrays, numbers, strings, containers of them) or as a :class:`Remote` handle on an object
that stays there (a Keras model: ``model.layers[0].units``, ``model.get_weights()`` and
``model(x)`` are requests too). ``isinstance(handle, keras.layers.LSTM)`` works: a handle
reports as its class the first class of the object's method resolution order that the checks
can import from :data:`TRUSTED_CLASS_MODULES`. What must run next to a student object (a
gradient, a sub-model) is a *probe*: a function of :mod:`grader.onstudent` run there with
:func:`on_student`.

The student process's CPU seconds count against the check's limit (:meth:`StudentProcess.budget`);
a process that dies, overruns or breaks the protocol is killed and started again for the next
check. A protocol violation (a malformed or oversized message, a request it never made) is an
anomaly the engine reports as ``tampered``.
"""
from __future__ import annotations

import builtins
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

from grader.answers import CellError, MissingAnswer
from grader.api import CheckTimeout
from grader.disguise import active_key, disguised_copies
from grader.wire import MAX_MESSAGE, Handle, WireError, decode, encode, pickled, read_message, write_message

__all__ = ["ProtocolViolation", "Remote", "RemoteAnswers", "RemoteModule", "StudentCodeError", "StudentCrashed",
           "StudentFolder", "StudentProcess", "TRUSTED_CLASS_MODULES", "class_name", "load_student_model", "on_student", "record_calls", "staged",
           "student_copy", "remote_error", "student_read_paths"]

#: Top-level modules whose classes a handle may report as its own (for ``isinstance``).
TRUSTED_CLASS_MODULES = ("builtins", "keras", "tensorflow", "numpy", "collections", "pathlib")
MAX_RESTARTS = 8
_PLAIN_DUNDERS = ("__name__", "__qualname__")  # dunder names a check may ask a handle for (a function's name)


class StudentCrashed(Exception):
    """The student process ended while it ran a request (the message says how)."""


class ProtocolViolation(Exception):
    """The student process broke the protocol (tampering): an anomaly for the instructor."""


class StudentCodeError(Exception):
    """An exception of the student's code whose type the checks do not know (named in the message)."""


_BUILTIN_ERRORS: dict[str, type] = {}


def remote_error(desc: dict) -> BaseException:
    """The exception to raise in the check for an error the student process described.

    A built-in exception type comes back as a subclass of itself (``pytest.raises(ValueError)``
    and ``except KeyError`` work); a name the student's answers do not define as
    :class:`grader.answers.MissingAnswer`; any other type as :class:`StudentCodeError`. The
    student's traceback lines (answer cells only) are in ``student_frames``.
    """
    name, message = str(desc.get("type", "Exception"))[:80], str(desc.get("message", ""))
    if desc.get("missing"):
        exc: BaseException = MissingAnswer(message)
    else:
        base = getattr(builtins, name, None) if desc.get("builtin") else None
        if isinstance(base, type) and issubclass(base, Exception) and base.__module__ == "builtins":
            if name not in _BUILTIN_ERRORS:
                _BUILTIN_ERRORS[name] = type(name, (base,), {"__module__": "student", "__str__": lambda self: self.text})
            exc = _BUILTIN_ERRORS[name].__new__(_BUILTIN_ERRORS[name])
            exc.args = (message,)
            exc.text = message  # type: ignore[attr-defined]
        else:
            exc = StudentCodeError(f"{name}: {message}" if message else name)
    exc.student_frames = str(desc.get("frames", ""))  # type: ignore[attr-defined]
    exc.student_log = str(desc.get("log", ""))  # type: ignore[attr-defined]
    return exc


class StudentProcess:
    """The submission's answers, imported and served in a sandboxed process of their own.

    Parameters
    ----------
    module : Path
        The student's answers module (its ``.cells.json`` beside it).
    name : str
        Module name in the student process.
    home : Path
        The student process's own folder (created; the only place it may write).
    read : list of str
        What else it may read (the kit's packages, the student data, the executed notebook).
    list_dirs : list of str
        Folders it may list.
    exclude : dict
        ``{grade_id: reason}`` of answer cells not to import.
    import_timeout, wall_factor : float
        CPU seconds per answer cell import, and the wall-clock backstop factor.
    threads : int
    env : dict
        Its environment (home, caches, thread caps).
    on_cell : callable, optional
        Called with each answer cell's ``grade_id`` as it is imported.
    """

    def __init__(self, module: Path, name: str, *, home: Path, read: list[str], list_dirs: list[str],
                 exclude: dict[str, str] | None = None, import_timeout: float = 30.0, wall_factor: float = 5.0,
                 threads: int = 1, env: dict[str, str] | None = None,
                 on_cell: Callable[[str], None] | None = None, max_message: int = MAX_MESSAGE):
        self.module, self.name, self.home = Path(module), name, Path(home)
        self.read, self.list_dirs = list(read), list(list_dirs)
        self.exclude = dict(exclude or {})
        self.import_timeout, self.wall_factor, self.threads = import_timeout, wall_factor, threads
        self.env = dict(env or {})
        self.on_cell = on_cell
        self.max_message = max_message
        self.errors: list[CellError] = []
        self.anomalies: list[str] = []
        self.proc: subprocess.Popen | None = None
        self.protections: dict = {}
        self._fds: tuple[int, int] | None = None
        self._cpu: Any = None
        self._cpu_mark = 0.0
        self._limit: float | None = None
        self.inbox = self.home.parent / f"{self.home.name}-inbox"  # files the checks hand over (read-only there)
        self._staged: dict[str, str] = {}
        self._starts = 0
        self.epoch = 0  # handles of an earlier epoch name nothing any more
        self._sent: dict[int, int] = {}  # id(object) -> key of its copy in the student process
        self._sent_objects: dict[int, Any] = {}  # key -> object (kept alive, so that ids stay unique)

    # -- life cycle -----------------------------------------------------------------------------
    def start(self) -> None:
        """Start the process and import the answers (a cell that kills it is left out next time)."""
        from grader.sandbox import Policy
        from grader.watchdog import TreeCPU

        while True:
            if self._starts >= MAX_RESTARTS:
                raise StudentCrashed(f"the student process was started {MAX_RESTARTS} times; not again")
            self._starts += 1
            self.forget()
            self.home.mkdir(parents=True, exist_ok=True)
            req_r, req_w = os.pipe()
            resp_r, resp_w = os.pipe()
            spec = {"module": str(self.module), "name": self.name, "fd_in": req_r, "fd_out": resp_w,
                    "exclude": self.exclude, "import_timeout": self.import_timeout, "wall_factor": self.wall_factor}
            ctl = self.home.parent / f"{self.home.name}-ctl"
            ctl.mkdir(exist_ok=True, mode=0o700)
            (ctl / "spec.json").write_text(json.dumps(spec))
            self.inbox.mkdir(exist_ok=True)
            policy = Policy(workdir=str(self.home), read=[*self.read, str(ctl / "spec.json"), str(self.inbox)],
                            list_dirs=self.list_dirs, threads=self.threads, network=False,
                            report=str(self.home / ".sandbox.json"))
            pol = policy.save(ctl / "policy.json")
            cmd = [sys.executable, "-m", "grader.sandbox", str(pol), "--", sys.executable, "-m",
                   "grader.studentproc", str(ctl / "spec.json")]
            try:
                self.proc = subprocess.Popen(cmd, cwd=str(self.home), env=self.env, pass_fds=(req_r, resp_w),
                                             start_new_session=True)
            finally:
                os.close(req_r)
                os.close(resp_w)
            self._fds = (resp_r, req_w)
            self._cpu = TreeCPU(self.proc.pid)
            cell = None
            try:
                while True:
                    header, _ = self._receive()
                    if header.get("event") == "cell":
                        cell = str(header.get("grade_id"))[:200]
                        if self.on_cell is not None:
                            self.on_cell(cell)
                        continue
                    if header.get("event") == "imported" and isinstance(header.get("errors"), list):
                        self.errors = [CellError(**{k: e.get(k) for k in ("grade_id", "role", "error",
                                                                           "not_implemented")})
                                       for e in header["errors"] if isinstance(e, dict)]
                        self.protections = _read_json(self.home / ".sandbox.json")
                        return
                    raise ProtocolViolation("the student process sent something else than its import report")
            except (StudentCrashed, WireError, ProtocolViolation) as e:
                self.stop()
                if not isinstance(e, StudentCrashed):
                    self.anomalies.append(f"the student process broke the protocol while importing: {e}")
                if cell is None or cell in self.exclude:
                    raise StudentCrashed(str(e)) from None
                self.exclude[cell] = f"importing this cell ended the student process ({e})"

    def stage(self, paths: list[Any]) -> list[Any]:
        """Copies of the files ``paths`` that the student process may read, named ``clip_<n>`` (+ suffix).

        For hidden files a student function must read (the clips a saved model is scored on): the
        copies carry no name, folder or label of the originals. A path staged before is not copied
        again.
        """
        import shutil

        out = []
        for p in paths:
            key = os.fspath(p)
            if key not in self._staged:
                target = self.inbox / f"clip_{len(self._staged):05d}{Path(key).suffix}"
                shutil.copyfile(key, target)
                self._staged[key] = str(target)
            out.append(type(p)(self._staged[key]) if isinstance(p, Path) else self._staged[key])
        return out

    def stop(self) -> None:
        """Kill the process (and its process group) and close the pipes."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            self.proc.wait()
            self.proc = None
        if self._fds is not None:
            for fd in self._fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._fds = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @contextlib.contextmanager
    def budget(self, seconds: float | None) -> Iterator[None]:
        """Count the student process's CPU seconds within the block against ``seconds`` (None: no limit)."""
        self._limit = seconds
        self._cpu_mark = self._cpu.sample() if self._cpu is not None else 0.0
        try:
            yield
        finally:
            self._limit = None

    # -- requests -----------------------------------------------------------------------------
    def request(self, op: str, *, target: int | None = None, epoch: int | None = None, args: tuple = (),
                **fields: Any) -> Any:
        """Send one request and return its decoded result (or raise the student's error).

        ``target`` names a handle of ``epoch`` (None: the answers module, which every epoch has).
        """
        if not self.alive:
            self.stop()
            self.start()
        self._current(epoch)
        if op == "reset":
            self.forget()
        blobs: list[bytes] = []
        header = {"op": op, **fields, "args": encode(list(args), blobs, handle=lambda o: self._outgoing(o, blobs))}
        if target is not None:
            header["target"] = {"id": target}
        try:
            write_message(self._fds[1], header, blobs)
            reply, rblobs = self._receive()
            if reply.get("event") == "ok":
                return decode(reply.get("value"), rblobs, resolve=self._proxy)
            if reply.get("event") != "error" or not isinstance(reply.get("error"), dict):
                raise WireError(f"an unexpected reply {str(reply.get('event'))[:20]!r}")
            error = reply["error"]
        except WireError as e:
            self.anomalies.append(f"the student process broke the protocol: {e}")
            self.stop()
            raise ProtocolViolation(f"the student process broke the protocol: {e}") from None
        except (StudentCrashed, ProtocolViolation):
            self.stop()
            raise
        except BaseException:
            self.stop()  # a time limit or an interrupt while it worked: its state is unknown
            raise
        if error.get("wire"):  # it could not decode what the checks sent: the checks' problem
            raise WireError(f"the student process could not read a request: {str(error.get('message'))[:300]}")
        raise remote_error(error)

    def _outgoing(self, obj: Any, blobs: list[bytes]) -> dict:
        """How an object that is not data travels: as the handle it came as, else as a pickled copy
        that the student process keeps (the same object sent again is the same copy there)."""
        if type(obj) in (Remote, RemoteModule):
            if object.__getattribute__(obj, "_sp") is not self:
                raise WireError("a handle of another student process")
            self._current(object.__getattribute__(obj, "_gen"))
            return {"h": {"id": object.__getattribute__(obj, "_h").id}}
        key = self._sent.get(id(obj))
        if key is not None and self._sent_objects.get(key) is obj:
            return {"mir": key}
        key = len(self._sent_objects) + 1
        self._sent[id(obj)], self._sent_objects[key] = key, obj
        return pickled(obj, blobs, key)

    def forget(self) -> None:
        """Forget what was sent and what came back: the student process drops its copies and handles
        (on ``reset``, after each check, or when it starts again)."""
        self._sent, self._sent_objects = {}, {}
        self.epoch += 1

    def _current(self, epoch: int | None) -> None:
        if epoch is not None and epoch != self.epoch:
            raise StudentCrashed("an object your code returned earlier is gone (its process ended, or it "
                                 "belongs to another check)")

    def _proxy(self, desc: Any) -> "Remote":
        if not isinstance(desc, dict) or type(desc.get("id")) is not int or not isinstance(desc.get("classes"), list):
            raise WireError("a malformed handle")
        return Remote(self, Handle(desc["id"], [str(c)[:200] for c in desc["classes"][:32]],
                                   str(desc.get("text", ""))[:300]))

    def _receive(self) -> tuple[dict, list[bytes]]:
        try:
            return read_message(self._read_exact, limit=self.max_message)
        except EOFError:
            raise StudentCrashed(self._how_it_ended()) from None

    def _read_exact(self, n: int) -> bytes:
        fd = self._fds[0]
        chunks, left = [], n
        while left:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if not ready:
                self._check_budget()
                continue
            b = os.read(fd, min(left, 1 << 20))
            if not b:
                raise EOFError
            chunks.append(b)
            left -= len(b)
        return b"".join(chunks)

    def _check_budget(self) -> None:
        if self._limit is None or self._cpu is None:
            return
        used = self._cpu.sample() - self._cpu_mark
        if used > self._limit:
            self.stop()
            raise CheckTimeout(f"used more than {self._limit:g} CPU-seconds (your code, in its own process)")

    def _how_it_ended(self) -> str:
        from grader.procs import describe_exit

        proc = self.proc
        if proc is None:
            return "it was stopped"
        try:
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "it closed its channel"
        return describe_exit(code)


class Remote:
    """A handle on an object in the student process; attribute access, calls, ... are requests."""

    __slots__ = ("_sp", "_h", "_gen")

    def __init__(self, sp: StudentProcess, handle: Handle):
        object.__setattr__(self, "_sp", sp)
        object.__setattr__(self, "_h", handle)
        object.__setattr__(self, "_gen", sp.epoch)

    def _req(self, op: str, *args: Any, **fields: Any) -> Any:
        return self._sp.request(op, target=self._h.id, epoch=self._gen, args=args, **fields)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__") and name not in _PLAIN_DUNDERS:
            raise AttributeError(name)
        return self._req("getattr", name=name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._req("setattr", value, name=name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._req("call", list(args), kwargs)

    def __getitem__(self, key: Any) -> Any:
        return self._req("getitem", key)

    def __len__(self) -> int:
        n = self._req("len")
        if type(n) is not int or n < 0:
            raise TypeError("len() of a student object did not return a non-negative int")
        return n

    def __bool__(self) -> bool:
        return bool(self._req("bool") is True)

    def __contains__(self, item: Any) -> bool:
        return self._req("contains", item) is True

    def __iter__(self) -> Iterator[Any]:
        items = self._req("iter")
        return iter(items if isinstance(items, list) else [])

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        import numpy as np

        arr = self._req("array")
        if not isinstance(arr, np.ndarray):
            raise TypeError("a student object could not be converted to an array")
        return arr.astype(dtype) if dtype is not None else arr

    def __repr__(self) -> str:
        return self._h.text

    def __str__(self) -> str:
        out = self._req("str")
        return out if isinstance(out, str) else self._h.text

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # noqa: D105 - isinstance() asks this of a proxy
        return _trusted_class(self._h.classes)


def _trusted_class(classes: list[str]) -> type:
    """The first class of ``classes`` (``module:qualname``) that the checks already know."""
    for name in classes:
        mod, _, qual = name.partition(":")
        if mod.split(".")[0] not in TRUSTED_CLASS_MODULES or mod not in sys.modules:
            continue
        obj: Any = sys.modules[mod]
        for part in qual.split("."):
            obj = getattr(obj, part, None)
        if isinstance(obj, type):
            return obj
    return Remote


class RemoteModule(Remote):
    """The student's answers module in the student process (handle 0, the same in every epoch)."""

    __slots__ = ()

    def __init__(self, sp: StudentProcess):
        super().__init__(sp, Handle(0, ["builtins:module"], f"<student answers {sp.name}>"))
        object.__setattr__(self, "_gen", None)

    def __repr__(self) -> str:
        return f"<student answers {self._sp.name} (in the student process)>"


class RemoteAnswers:
    """What the ``student`` fixture stands on when the answers live in a :class:`StudentProcess`.

    Attributes
    ----------
    module : RemoteModule
    process : StudentProcess
    errors : list of CellError
        The answer cells that failed on import (those that ended the process included).
    """

    def __init__(self, process: StudentProcess):
        self.process = process
        self.module = RemoteModule(process)
        self.path = process.module

    @property
    def errors(self) -> list[CellError]:
        return self.process.errors

    def frames_of(self, exc: BaseException) -> str:  # noqa: ARG002 - remote errors carry their frames
        return ""


def student_read_paths(repo: Path) -> tuple[list[str], list[str]]:
    """What the student process may read of the kit, and the folders it may list.

    The kit's packages (as a kernel) and the grader's own modules, without ``grader/checks``:
    the student process runs :mod:`grader.studentproc`, never the checks.
    """
    from grader.job import kit_list_dirs, kit_read_paths, package_entries

    grader = repo / "grader"
    return [*kit_read_paths(), *package_entries(grader, skip=("checks",))], [*kit_list_dirs(), str(grader)]


class StudentFolder:
    """A folder the student's code writes (a ``log_dir``, a save path) and the checks then read.

    In-process (the reference as the student) it is ``tmp_path / name`` itself. With a student
    process it is a new folder of that process (the only place it may write); :meth:`collect`
    copies what was written there into ``tmp_path / name`` without following links and within
    ``max_bytes``, so that the checks only ever read their own copy.

    Parameters
    ----------
    student : module or RemoteModule
        The ``student`` fixture.
    tmp_path : Path
        The check's ``tmp_path``.
    name : str
        A name for the folder.
    max_bytes : int
    """

    def __init__(self, student: Any, tmp_path: Path, name: str, *, max_bytes: int = 256 << 20):
        self.local = Path(tmp_path) / name
        self.max_bytes = max_bytes
        if isinstance(student, Remote):
            import tempfile

            exchange = object.__getattribute__(student, "_sp").home / "exchange"
            exchange.mkdir(parents=True, exist_ok=True)
            self.path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=exchange))
        else:
            self.path = self.local
            self.path.mkdir(parents=True, exist_ok=True)

    def collect(self) -> Path:
        """The checks' copy of what the student's code wrote (regular files and folders only)."""
        if self.path == self.local:
            return self.local
        from grader.gradebook import copy_tree_safely

        copy_tree_safely(self.path, self.local, max_bytes=self.max_bytes)
        return self.local


def student_copy(student: Any, obj: Any) -> Any:
    """``obj`` as the student's code sees it: a handle on the student process's copy (``obj`` in-process).

    An object the checks send is copied into the student process once per check, and every later
    request that passes it uses that copy: what the student's code does to it (trains a model that
    shares its layers) shows on the handle, not on ``obj``. Pass the handle to the student's
    functions and inspect it afterwards.
    """
    if isinstance(student, Remote):
        return object.__getattribute__(student, "_sp").request("echo", args=(obj,))
    return obj


def staged(student: Any, paths: list[Any], *, disguise: bool = False) -> list[Any]:
    """``paths`` as the student's code may read them: copies without names or labels in the student
    process's inbox (:meth:`StudentProcess.stage`), or ``paths`` themselves in-process.

    With ``disguise`` (hidden audio clips drawn from a public dataset) and a key in effect (while
    grading: :func:`grader.disguise.active_key`), the copies are disguised first
    (:func:`grader.disguise.disguised_copies`), in-process too; outside grading (``make
    reference``) the clips are handed over as they are.
    """
    if disguise:
        key = active_key()
        if key is not None:
            paths = [type(p)(c) if isinstance(p, Path) else c for p, c in zip(paths, disguised_copies(paths, key))]
    if isinstance(student, Remote):
        return object.__getattribute__(student, "_sp").stage(list(paths))
    return list(paths)


def load_student_model(student: Any, artifacts_dir: Any, name: str, known: Any) -> Any:
    """A model the student's notebook saved, loaded where the student's code lives.

    With a student process it is loaded there (its own registered classes and layers) and comes
    back as a handle; in-process with :func:`grader.api.load_saved_model`.
    """
    from grader.api import load_saved_model

    if isinstance(student, Remote):
        from grader import onstudent

        return on_student(student, onstudent.load_saved_model, os.fspath(artifacts_dir), name, sorted(known))
    return load_saved_model(artifacts_dir, name, known)


def record_calls(module: Any, names: tuple[str, ...] | list[str], run: Callable[[], Any]) -> dict[str, dict]:
    """Record the calls ``run()`` makes to ``module``'s functions ``names`` (trusted code only).

    For :func:`grader.onstudent.call_with_recorded`: a check of one function that chains other
    answers gives the student's function the reference's results of those, for the calls the
    reference makes, so that a mistake in a helper is charged by the helper's own checks.

    Returns
    -------
    dict
        ``{name: {"params": [...], "defaults": {...}, "calls": [[arguments, result], ...]}}``.
    """
    import inspect

    tables: dict[str, dict] = {}
    originals = {name: getattr(module, name) for name in names}

    def recorder(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(fn)

        def wrapped(*a: Any, **kw: Any) -> Any:
            result = fn(*a, **kw)
            bound = sig.bind(*a, **kw)
            bound.apply_defaults()
            tables[name]["calls"].append([dict(bound.arguments), result])
            return result
        return wrapped

    for name, fn in originals.items():
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        tables[name] = {"params": [p.name for p in params], "calls": [],
                        "defaults": {p.name: p.default for p in params if p.default is not p.empty}}
        setattr(module, name, recorder(name, fn))
    try:
        run()
    finally:
        for name, fn in originals.items():
            setattr(module, name, fn)
    return tables


def class_name(obj: Any) -> str:
    """The name of ``obj``'s own class, also for a handle (``type(handle)`` is :class:`Remote`)."""
    if type(obj) in (Remote, RemoteModule):
        first = object.__getattribute__(obj, "_h").classes[:1] or [":object"]
        return first[0].partition(":")[2].rsplit(".", 1)[-1] or "object"
    return type(obj).__name__


def on_student(student: Any, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run the probe ``fn`` (a function of :mod:`grader.onstudent`) beside the student's objects.

    With a student module imported in this process (the reference as the student, when the
    checks are developed) ``fn`` runs here.

    Parameters
    ----------
    student : module or RemoteModule
        The ``student`` fixture.
    fn : callable
        A function defined in :mod:`grader.onstudent`.
    *args, **kwargs
        Its arguments: data, handles of the student process, picklable objects.
    """
    if not isinstance(student, Remote):
        return fn(*args, **kwargs)
    if fn.__module__ != "grader.onstudent":
        raise ValueError(f"{fn.__module__}.{fn.__qualname__} is not a probe; define it in grader/onstudent.py")
    sp = object.__getattribute__(student, "_sp")
    return sp.request("probe", fn=f"grader.onstudent:{fn.__name__}", args=(list(args), kwargs))


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
