"""Check processes forked from a preloaded template: TensorFlow is imported once per batch, not per attempt.

A check process used to start as a fresh interpreter (``python -m grader.sandbox POLICY --
python -m pytest ...``) and spend about 5 CPU-seconds importing TensorFlow and Keras before
its first check: a third of an answers-only grading, paid again by every attempt.

Here the grading workers' fork server imports TensorFlow once (:func:`preload`, under a
neutral environment: an empty home and caches, so that nothing of the grader's own home,
such as a ``keras.json``, is read). Each worker, as its first act (single-threaded, before it
runs a kernel), forks a **template** process (:meth:`Template.start`): a clean copy of the
fork server. For every attempt the worker sends the template the command line, working
folder, environment and file descriptors it would have given :class:`subprocess.Popen`; the
template forks a child that becomes what a fresh interpreter would be (new session, those
file descriptors only, that environment and folder, ``sys.path`` of a fresh interpreter,
signal dispositions, thread-pool sizes, temporary and configuration folders re-read from the
environment: :func:`_become`) and runs the same command in process
(:func:`grader.sandbox.main` applies the same policy, then runs pytest). The worker gets a
:class:`Forked` handle with the :class:`subprocess.Popen` methods the engine uses; the
watchdog measures the child's own process tree as before (its CPU time starts at zero).

The fork is used only where it gives what the fresh process would: Linux, a preloaded fork
server, the hash seed of a sandboxed child (``PYTHONHASHSEED=0``); anywhere else, and for
the batch process's own check runs (collection, the self-check), the fresh interpreter is
started as before. The template is a child of the worker, which spares it when it sweeps
detached processes (:func:`grader.watchdog.spare`); it exits with the worker.
"""
from __future__ import annotations

import atexit
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

__all__ = ["Forked", "Template", "preload", "preloaded"]

PRELOAD = "tensorflow"
"""The module the fork server imports once (it brings Keras, NumPy, SciPy, scikit-learn, Matplotlib)."""

_MAX_MESSAGE = 1 << 20
_IMPORT_ENV: dict[str, str] = {}  # what the preloaded libraries put in the environment as they were imported


def preloaded() -> bool:
    """Whether this process holds the preloaded modules, with the hash seed of a sandboxed child."""
    return PRELOAD in sys.modules and os.environ.get("PYTHONHASHSEED") == "0" and sys.flags.hash_randomization == 0


def preload() -> bool:
    """Import :data:`PRELOAD` under a neutral environment, then forget the folders it saw.

    Called in the fork server (``set_forkserver_preload``, :mod:`grader.preloaded`). While
    importing, the environment is a sandboxed child's (:func:`grader.procs.child_env`: none of
    the grader's own variables, ``MPLBACKEND=Agg``, one thread per library) with home,
    temporary and cache folders in an empty folder, so that what the libraries read at
    import time is what a fresh check process reads.

    Returns
    -------
    bool
        False when the import failed (the engine then starts fresh interpreters).
    """
    from grader.procs import child_env

    # bytes in, bytes out: no copy of any of the grader's values is made (grader.zygote._scrub)
    saved = dict(os.environb)
    folder = tempfile.mkdtemp(prefix="grader-preload-")
    neutral = {k.encode(): v.encode() for k, v in child_env({
        "HOME": folder, "TMPDIR": folder, "KERAS_HOME": os.path.join(folder, ".keras"),
        "MPLCONFIGDIR": os.path.join(folder, ".mpl"), "XDG_CACHE_HOME": os.path.join(folder, ".cache"),
        "XDG_CONFIG_HOME": os.path.join(folder, ".config")}, threads=1).items()}
    os.environb.clear()
    os.environb.update(neutral)
    try:
        __import__(PRELOAD)
        _IMPORT_ENV.update({k.decode(): v.decode() for k, v in os.environb.items() if neutral.get(k) != v})
        return True
    except Exception:  # noqa: BLE001 - an optimisation only
        return False
    finally:
        os.environb.clear()
        _restore(saved)
        for k, v in _IMPORT_ENV.items():
            os.environ.setdefault(k, v)
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        _forget_folders()


def _env_block() -> tuple[int, int] | None:
    """Addresses of the environment block this process was started with (``/proc/self/stat``)."""
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        start, end = int(fields[47]), int(fields[48])  # env_start, env_end: fields 50 and 51 of proc(5)
    except (OSError, ValueError, IndexError):
        return None
    return (start, end) if 0 < start < end else None


def _restore(saved: dict[bytes, bytes]) -> None:
    """Put ``saved`` back in the environment without copying any value.

    ``os.environb[k] = v`` would have the C library copy ``k=v`` into memory it never frees;
    a variable whose text is still in the environment block points there again instead
    (``putenv`` keeps the pointer), so that :func:`_scrub` finds every value in two places only.
    """
    import ctypes

    libc = ctypes.CDLL(None)
    libc.memmem.restype = ctypes.c_void_p
    libc.memmem.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]
    libc.memcmp.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    libc.putenv.argtypes = [ctypes.c_void_p]
    block = _env_block() if sys.platform == "linux" else None
    for key, value in saved.items():
        where = None
        if block is not None:
            needle = key + b"="
            start, end = block
            while start < end:  # the variable's own "key=" at the start of an entry
                hit = libc.memmem(start, end - start, needle, len(needle))
                if not hit or (hit == block[0] or ctypes.c_char.from_address(hit - 1).value == b"\0"):
                    where = hit
                    break
                start = hit + 1
            if where and (where + len(needle) + len(value) >= end
                          or libc.memcmp(where + len(needle), value, len(value)) != 0
                          or ctypes.c_char.from_address(where + len(needle) + len(value)).value != b"\0"):
                where = None  # changed since the process started
        if where and libc.putenv(where) == 0:
            os.environb._data[key] = value  # noqa: SLF001 - the C library holds it already
        else:
            os.environb[key] = value


def _forget_folders() -> None:
    """Have the preloaded libraries read their folders from the environment again."""
    tempfile.tempdir = None
    keras_config = sys.modules.get("keras.src.backend.config")
    if keras_config is not None:
        home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
        keras_config._KERAS_DIR = home  # noqa: SLF001 - read once at import
    mpl = sys.modules.get("matplotlib")
    if mpl is not None:  # memoised in a closure: wrap the undecorated function again
        import functools

        for name in ("get_configdir", "get_cachedir"):
            inner = getattr(getattr(mpl, name, None), "__wrapped__", None)
            if inner is not None:
                setattr(mpl, name, functools.wraps(inner)(functools.cache(inner)))


class Forked:
    """A child forked by the template, with the :class:`subprocess.Popen` methods the engine uses.

    Attributes
    ----------
    pid : int
    returncode : int or None
        As :attr:`subprocess.Popen.returncode` (negative: killed by that signal).
    """

    def __init__(self, template: "Template", pid: int):
        self._template, self.pid, self.returncode = template, pid, None

    def poll(self) -> int | None:
        """The exit status, or None while the child runs."""
        if self.returncode is None:
            self._template._collect(self, block=False)  # noqa: SLF001
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the child to end; its exit status.

        Raises
        ------
        subprocess.TimeoutExpired
            If it still runs after ``timeout`` seconds.
        """
        if self.returncode is None:
            self._template._collect(self, block=True, timeout=timeout)  # noqa: SLF001
        if self.returncode is None:
            raise subprocess.TimeoutExpired(f"check process {self.pid}", timeout or 0)
        return self.returncode


class Template:
    """The worker's preloaded template process (see the module's docstring)."""

    current: "Template | None" = None

    def __init__(self, pid: int, sock: socket.socket):
        self.pid, self._sock, self.broken = pid, sock, False

    @classmethod
    def start(cls) -> "Template | None":
        """Fork the template from this (single-threaded, preloaded) process; None where it cannot be used."""
        if sys.platform != "linux" or not preloaded():
            return None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the template, in a process group of its own (killing it spares the batch's)
            ours.close()
            try:
                os.setpgid(0, 0)
                _serve(theirs)
            finally:
                os._exit(0)
        theirs.close()
        from grader.watchdog import spare

        spare(pid)
        cls.current = cls(pid, ours)
        return cls.current

    def spawn(self, cmd: list[str], *, cwd: str, env: dict[str, str], stdout: int,
              pass_fds: tuple[int, ...] = ()) -> Forked:
        """Start ``cmd`` as :class:`subprocess.Popen` would (new session, output to ``stdout``).

        Parameters
        ----------
        cmd : list of str
            ``[sys.executable, "-m", "grader.sandbox", POLICY, "--", ...]``.
        cwd : str
        env : dict
            The child's whole environment.
        stdout : int
            File descriptor of its standard output and error.
        pass_fds : tuple of int
            More file descriptors it keeps, under the same numbers.

        Raises
        ------
        OSError
            If the template is gone (the caller starts a fresh interpreter instead).
        """
        fds = [stdout, *pass_fds]
        targets = {"1": 0, "2": 0, **{str(fd): i + 1 for i, fd in enumerate(pass_fds)}}
        msg = json.dumps({"cmd": cmd, "cwd": cwd, "env": env, "fds": targets}).encode()
        try:
            socket.send_fds(self._sock, [msg], fds)
            reply = json.loads(self._sock.recv(_MAX_MESSAGE) or b"{}")
        except (OSError, ValueError) as e:
            self.broken = True
            raise OSError(f"the check-process template is gone: {e}") from e
        if "pid" not in reply:
            self.broken = True
            raise OSError(f"the check-process template could not fork: {reply.get('error', 'no reply')}")
        return Forked(self, int(reply["pid"]))

    def _collect(self, child: Forked, *, block: bool, timeout: float | None = None) -> None:
        """Read the template's exit reports until ``child``'s (or none is ready)."""
        while child.returncode is None:
            ready, _, _ = select.select([self._sock], [], [], None if block and timeout is None
                                        else (timeout if block else 0))
            if not ready:
                return
            data = self._sock.recv(_MAX_MESSAGE)
            if not data:  # the template died: the child died with it (parent-death signal)
                self.broken = True
                child.returncode = -int(signal.SIGKILL)
                return
            report = json.loads(data)
            if report.get("pid") == child.pid and "returncode" in report:
                child.returncode = int(report["returncode"])


def spawn_check_process(cmd: list[str], *, cwd: str, env: dict[str, str], stdout: int,
                        pass_fds: tuple[int, ...]) -> subprocess.Popen | Forked:
    """Start the check process: forked from this worker's template when it has one, else a fresh interpreter."""
    t = Template.current
    if t is not None and not t.broken:
        try:
            return t.spawn(cmd, cwd=cwd, env=env, stdout=stdout, pass_fds=pass_fds)
        except OSError:
            pass
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=stdout, stderr=stdout, start_new_session=True,
                            pass_fds=pass_fds)


# ------------------------------------------------------------------------------ the template's side
def _serve(sock: socket.socket) -> None:
    """The template's loop: one child at a time, its pid, then its exit status."""
    from grader.procs import die_with_parent

    die_with_parent()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    _scrub()
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(sock, _MAX_MESSAGE, 16)
        except OSError:
            return
        if not msg:
            return
        try:
            req = json.loads(msg)
            req["path"] = [req["cwd"], *_fresh_sys_path(req["env"])]
            sys.stdout.flush()
            sys.stderr.flush()
            ready_r, ready_w = os.pipe()
            pid = os.fork()
        except (OSError, ValueError, subprocess.SubprocessError) as e:
            for fd in fds:
                os.close(fd)
            sock.send(json.dumps({"error": str(e)}).encode())
            continue
        if pid == 0:
            sock.close()
            os.close(ready_r)
            _become(req, fds, ready_w)  # never returns
        for fd in fds:
            os.close(fd)
        os.close(ready_w)
        os.read(ready_r, 1)  # the child has its own session: killing its process group spares ours
        os.close(ready_r)
        sock.send(json.dumps({"pid": pid}).encode())
        _, status = os.waitpid(pid, 0)
        sock.send(json.dumps({"pid": pid, "returncode": os.waitstatus_to_exitcode(status)}).encode())


_BYTES_DATA = sys.getsizeof(b"") - 1  # offset of a bytes object's first byte (CPython)


def _scrub() -> None:
    """Leave nothing of the grader's environment in the template's memory before it forks a child.

    A forked child could read it from ``/proc/self/environ`` (the environment block this
    process's ancestor was started with) or from its own memory (the values ``os.environ``
    holds): the values are overwritten with zeros, the variables removed, the block zeroed.
    The template keeps only what a sandboxed child inherits anyway (:func:`grader.procs.child_env`).
    The multiprocessing key it inherited is replaced too.
    """
    import ctypes

    from grader.procs import child_env

    keep = child_env({}, threads=1)
    for value in list(os.environb.values()):
        if len(value) > 1:  # one-byte and empty bytes objects are shared singletons
            ctypes.memset(id(value) + _BYTES_DATA, 0, len(value))
    os.environb.clear()
    os.environ.update(keep)
    block = _env_block()
    if block is not None:
        ctypes.memset(block[0], 0, block[1] - block[0])
    try:
        import multiprocessing

        multiprocessing.current_process().authkey = os.urandom(32)
    except Exception:  # noqa: BLE001
        pass
    import gc

    gc.collect()


_FRESH_PATH: dict[str, list[str]] = {}


def _fresh_sys_path(env: dict[str, str]) -> list[str]:
    """``sys.path`` of a fresh interpreter under ``env``, less its first entry (asked once per template)."""
    key = json.dumps([env.get(k) for k in ("PYTHONPATH", "PYTHONNOUSERSITE", "PYTHONHOME", "PYTHONSAFEPATH")])
    if key not in _FRESH_PATH:
        out = subprocess.run([sys.executable, "-c", "import json, sys; print(json.dumps(sys.path[1:]))"],
                             env=env, capture_output=True, text=True, timeout=60, check=True)
        _FRESH_PATH[key] = json.loads(out.stdout)
    return _FRESH_PATH[key]


def _become(req: dict, fds: list[int], ready: int) -> None:
    """In the forked child: become the process ``Popen(req["cmd"], ...)`` would have started, run it, exit.

    ``ready`` gets a byte once the child leads its own session (the template waits for it
    before it tells the worker the pid, as ``Popen`` returns after ``setsid``).
    """
    code = 1
    try:
        os.setsid()
        os.write(ready, b"s")
        os.close(ready)
        high = [os.dup(fd) for fd in fds]  # out of the way of the target numbers
        for fd in fds:
            os.close(fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        targets = {int(t): high[i] for t, i in req["fds"].items()}
        for target, fd in targets.items():
            os.dup2(fd, target, inheritable=True)
        keep = {0, 1, 2, *targets}
        for fd in os.listdir("/proc/self/fd"):
            if int(fd) not in keep:
                try:
                    os.close(int(fd))
                except OSError:
                    pass
        for sig, how in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, signal.SIG_DFL),
                         (signal.SIGCHLD, signal.SIG_DFL), (signal.SIGHUP, signal.SIG_DFL),
                         (signal.SIGPIPE, signal.SIG_IGN), (signal.SIGXFSZ, signal.SIG_IGN)):
            signal.signal(sig, how)
        os.chdir(req["cwd"])
        os.environ.clear()
        os.environ.update(req["env"])
        for k, v in _IMPORT_ENV.items():
            os.environ.setdefault(k, v)
        sys.path[:] = req["path"]
        atexit._clear()  # noqa: SLF001 - the template's exit handlers are not the child's
        sys.dont_write_bytecode = os.environ.get("PYTHONDONTWRITEBYTECODE", "") != ""
        _forget_folders()
        try:
            from threadpoolctl import threadpool_limits

            threadpool_limits(limits=int(os.environ.get("OMP_NUM_THREADS", "1")))
        except Exception:  # noqa: BLE001 - the libraries may be absent
            pass
        cmd = req["cmd"]
        if cmd[1:3] != ["-m", "grader.sandbox"]:
            raise ValueError(f"the template runs grader.sandbox commands only, not {cmd[:3]}")
        from grader import sandbox

        sys.argv = [str(Path(sandbox.__file__)), *cmd[3:]]
        try:
            sandbox.main(cmd[3:])
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            if not isinstance(e.code, (int, type(None))):
                print(e.code, file=sys.stderr)
        except BaseException:  # noqa: BLE001 - reported like an uncaught exception of a fresh interpreter
            import traceback

            traceback.print_exc()
            code = 1
        # what a fresh interpreter does on its way out: wait for its threads, run its exit handlers
        threading._shutdown()  # noqa: SLF001
        atexit._run_exitfuncs()  # noqa: SLF001
    except BaseException:  # noqa: BLE001
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
