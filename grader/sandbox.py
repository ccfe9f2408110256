"""Confining a process that runs student code: the kernel, and the check process.

``python -m grader.sandbox POLICY.json -- python -m MODULE ARGS...`` applies the policy to
itself and then runs the command (a ``python -m`` command of this interpreter runs in the
same process, so that the Python-level guard below stays installed; anything else is
``exec``-ed). What is enforced, from strongest to weakest, and where:

=====================  ===========================================  =======================
protection             how                                          where available
=====================  ===========================================  =======================
no network             a new network namespace (``unshare``;        Linux (root, or user
                       unprivileged: user + network namespace);     namespaces enabled)
                       the kernel talks to the grader over Unix
                       sockets (``transport="ipc"``)
no TCP (second layer)  Landlock: TCP bind/connect denied            Linux >= 6.7 (ABI 4)
no network (fallback)  audit hook refusing ``socket.connect`` /     everywhere (Python code
                       ``bind`` to internet addresses               only; C code bypasses it)
file system            Landlock: read only system folders, the      Linux >= 5.13; ABI 2-3
                       Python installation, the kit's packages,     add rename/truncate
                       the student data and the working folder;     rules
                       write only the working folder (and
                       ``/dev/shm``); the hidden data, the checks,
                       the solutions and the gradebook stay out
signals                Landlock scope: no signals to processes      Linux >= 6.12 (ABI 6)
                       outside the sandbox (cannot kill the
                       grader)
other user             root: drop to ``nobody`` after setting up    opt-in, root only
                       (``GRADER_DROP_ROOT=1``; experimental)
core dumps, file size  ``RLIMIT_CORE = 0``, ``RLIMIT_FSIZE``        POSIX
memory                 ``RLIMIT_AS`` at a generous multiple of      POSIX (not macOS)
                       the cap (the grader's RSS watchdog is the
                       real limit: see :mod:`grader.watchdog`)
processes              ``RLIMIT_NPROC`` (only as ``nobody``)        POSIX
threads, CPUs          thread variables (OMP, MKL, OpenBLAS, TF);   everywhere; affinity on
                       CPU affinity                                 Linux
orphans                ``PR_SET_PDEATHSIG``: dies with the grader   Linux
shared memory          a mount namespace with a private tmpfs on    Linux (root, or user
                       ``/dev/shm`` (``shm_size``)                  namespaces enabled)
privileges             root drops every capability (no ptrace of    Linux, as root
                       the grader, no reading its environment)
=====================  ===========================================  =======================

``GRADER_SANDBOX_DISABLE`` (comma-separated ``netns``, ``shm``, ``landlock``, ``caps``) turns layers off, to see
how the engine degrades where they do not exist (e.g. macOS). Whatever could not be applied
is listed in the report written to ``policy.report``
(``{"applied": [...], "unavailable": [...]}``); the engine copies it into the student's log
and the instructor sees it once per batch.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import errno
import json
import os
import platform
import resource
import runpy
import socket
import sys
from pathlib import Path
from typing import Any

from grader.procs import die_with_parent, thread_env

__all__ = ["Policy", "apply", "landlock_abi", "main"]

@dataclasses.dataclass
class Policy:
    """What a sandboxed process may do.

    Attributes
    ----------
    workdir : str
        Its working folder: the only place it may write (besides ``write`` and /dev/shm).
    read : list of str
        Extra folders or files it may read (system folders and the Python installation are added).
    list_dirs : list of str
        Folders it may list (not read): e.g. a package folder whose files are allowed one by one,
        so that Python's import system can find them while a data cache inside stays unreadable.
    write : list of str
        Extra folders it may write.
    deny : list of str
        Folders that must stay unreadable (hidden data, checks, ...): only used to warn when an
        allowed folder contains one of them.
    network : bool
        Allow the network (False: cut it off).
    threads : int
        Threads for OpenMP/MKL/OpenBLAS/TF pools.
    cpus : list of int or None
        CPU affinity (Linux).
    address_space : int or None
        ``RLIMIT_AS`` in bytes (None: unlimited).
    file_size : int or None
        ``RLIMIT_FSIZE`` in bytes.
    drop_to_nobody : bool
        When root: run as ``nobody`` (65534). Off unless ``GRADER_DROP_ROOT=1``: the working
        folder must then belong to ``nobody`` and every input be readable by others, which the
        engine does not arrange yet (untested; Landlock and namespaces are the protections used).
    shm_size : int
        Bytes of the private ``/dev/shm`` (a tmpfs of its own: shared memory is not shared with
        other sandboxes or the host); 0: keep the host's.
    report : str or None
        Where to write what was applied (JSON).
    """

    workdir: str
    read: list[str] = dataclasses.field(default_factory=list)
    list_dirs: list[str] = dataclasses.field(default_factory=list)
    write: list[str] = dataclasses.field(default_factory=list)
    deny: list[str] = dataclasses.field(default_factory=list)
    network: bool = False
    threads: int = 1
    cpus: list[int] | None = None
    address_space: int | None = None
    file_size: int | None = 2 << 30
    drop_to_nobody: bool = dataclasses.field(default_factory=lambda: os.environ.get("GRADER_DROP_ROOT") == "1")
    shm_size: int = 1 << 30
    report: str | None = None

    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        path.write_text(json.dumps(dataclasses.asdict(self), indent=1))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Policy":
        return cls(**json.loads(Path(path).read_text()))


# --------------------------------------------------------------------------------- Landlock
_SYS = {"x86_64": (444, 445, 446), "aarch64": (444, 445, 446), "arm64": (444, 445, 446)}
_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FS_DIR_WRITE = sum(1 << i for i in range(4, 13))  # remove/make dir, file, sock, fifo, symlink...
_FS_REFER, _FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1 << 0, 1 << 1
_FILE_RIGHTS = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc() -> Any:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def landlock_abi() -> int:
    """The Landlock ABI version of the running kernel (0: unavailable)."""
    if sys.platform != "linux" or platform.machine() not in _SYS:
        return 0
    libc = _libc()
    v = libc.syscall(_SYS[platform.machine()][0], None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return int(v) if v > 0 else 0


def _landlock(policy: Policy, abi: int, *, deny_tcp: bool) -> list[str]:
    """Apply the file-system / TCP / scope rules; returns what was applied."""
    create, add_rule, restrict = _SYS[platform.machine()]
    libc = _libc()
    fs = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_READ_DIR | _FS_DIR_WRITE
    if abi >= 2:
        fs |= _FS_REFER
    if abi >= 3:
        fs |= _FS_TRUNCATE
    if abi >= 5:
        fs |= _FS_IOCTL_DEV
    net = (_NET_BIND_TCP | _NET_CONNECT_TCP) if abi >= 4 and deny_tcp else 0
    scoped = (_SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL) if abi >= 6 else 0
    attr = _RulesetAttr(fs, net, scoped)
    size = 8 if abi < 4 else (16 if abi < 6 else 24)
    fd = libc.syscall(create, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if fd < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    read = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR | (_FS_IOCTL_DEV if abi >= 5 else 0)
    full = fs
    rules = [(p, read) for p in _read_paths(policy)]
    rules += [(p, _FS_READ_DIR) for p in policy.list_dirs]
    rules += [(p, full) for p in [policy.workdir, *policy.write, "/dev/shm"]]
    rules += [(p, read | _FS_WRITE_FILE | (_FS_TRUNCATE if abi >= 3 else 0))
              for p in ("/dev/null", "/dev/zero", "/dev/full", "/dev/tty")]
    try:
        for path, rights in rules:
            try:
                pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                if not os.path.isdir(path):
                    rights &= _FILE_RIGHTS
                rule = _PathBeneath(rights & fs, pfd)
                if libc.syscall(add_rule, fd, ctypes.c_int(1), ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
                    e = ctypes.get_errno()
                    if e != errno.EINVAL:
                        raise OSError(e, f"landlock_add_rule failed for {path}")
            finally:
                os.close(pfd)
        if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if libc.syscall(restrict, fd, ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(fd)
    applied = [f"Landlock ABI {abi}: read-only system and Python folders, writes only in the working folder"]
    if net:
        applied.append("Landlock: TCP bind/connect denied")
    if scoped:
        applied.append("Landlock: no signals or abstract-socket connections outside the sandbox")
    return applied


def _read_paths(policy: Policy) -> list[str]:
    base = ["/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/proc", "/sys", "/dev",
            "/opt", "/run", "/var/lib", "/nix", "/System", "/Library"]
    py = [sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))]
    py += [p for p in sys.path if p and os.path.isdir(p) and "site-packages" in p]
    return list(dict.fromkeys(base + [os.path.realpath(p) for p in py] + py + list(policy.read)))


# ------------------------------------------------------------------------------ shared memory
def _private_shm(size: int) -> str:
    """A mount namespace of its own with a fresh tmpfs on /dev/shm (needs CAP_SYS_ADMIN here:
    root, or the user namespace made by :func:`_unshare_network`)."""
    libc = _libc()
    CLONE_NEWNS, MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE = 0x00020000, 2, 4, 16384, 1 << 18
    if libc.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS) failed")
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        raise OSError(ctypes.get_errno(), "making the mounts private failed")
    opts = f"size={int(size)},mode=1777".encode()
    if libc.mount(b"tmpfs", b"/dev/shm", b"tmpfs", MS_NOSUID | MS_NODEV, opts) != 0:
        raise OSError(ctypes.get_errno(), "mounting a tmpfs on /dev/shm failed")
    return f"private /dev/shm ({size / 2**20:.0f} MiB tmpfs)"


# ------------------------------------------------------------------------------- capabilities
class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _drop_capabilities() -> str:
    """Drop every capability (bounding, effective, permitted, inheritable) of root in the sandbox.

    Root keeps its uid for file ownership but loses its privileges; with CAP_SYS_PTRACE
    gone, Landlock's ptrace scoping and the dumpable flag keep other processes' memory and
    ``/proc/<pid>/environ`` (the grader's environment) out of reach.
    """
    libc = _libc()
    PR_CAPBSET_DROP, LINUX_CAPABILITY_VERSION_3 = 24, 0x20080522
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != errno.EINVAL:
            raise OSError(ctypes.get_errno(), f"PR_CAPBSET_DROP {cap} failed")
    header, data = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")
    return "no capabilities (root without privileges)"


# ------------------------------------------------------------------------------------ network
def _unshare_network() -> str:
    libc = _libc()
    CLONE_NEWNET, CLONE_NEWUSER = 0x40000000, 0x10000000
    if os.geteuid() == 0:
        if libc.unshare(CLONE_NEWNET) == 0:
            _loopback_up()
            return "network namespace (no network; loopback only)"
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET) failed")
    uid, gid = os.geteuid(), os.getegid()
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWUSER|CLONE_NEWNET) failed")
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    _loopback_up()
    return "user + network namespace (no network; loopback only)"


def _loopback_up() -> None:
    """Bring up ``lo`` in a fresh network namespace (ipykernel binds a pipe on 127.0.0.1)."""
    import fcntl
    import struct

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            ifr = struct.pack("16sh22x", b"lo", 0)
            flags = struct.unpack("16sh22x", fcntl.ioctl(s.fileno(), 0x8913, ifr))[1]  # SIOCGIFFLAGS
            fcntl.ioctl(s.fileno(), 0x8914, struct.pack("16sh22x", b"lo", flags | 0x1))  # SIOCSIFFLAGS
    except OSError:
        pass


_INET = {getattr(socket, "AF_INET", 2), getattr(socket, "AF_INET6", 10)}


def _audit_guard(event: str, args: tuple) -> None:
    if event in ("socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg"):
        sock = args[0] if args else None
        if getattr(sock, "family", None) in _INET:
            raise PermissionError("network access is disabled while grading")
    elif event == "socket.getaddrinfo":
        raise PermissionError("network access is disabled while grading")


# ---------------------------------------------------------------------------------------- apply
def apply(policy: Policy) -> dict[str, list[str]]:
    """Apply ``policy`` to the calling process (irreversibly).

    Returns
    -------
    dict
        ``{"applied": [...], "unavailable": [...]}``, human-readable.
    """
    applied: list[str] = []
    unavailable: list[str] = []
    disabled = set(filter(None, os.environ.get("GRADER_SANDBOX_DISABLE", "").split(",")))
    os.environ.update(thread_env(policy.threads))
    applied.append(f"{policy.threads} thread(s) per numeric library")
    if sys.platform == "linux":
        try:
            die_with_parent()
            applied.append("killed when the grader dies")
        except Exception:  # noqa: BLE001
            unavailable.append("parent-death signal")
        if policy.cpus:
            try:
                os.sched_setaffinity(0, policy.cpus)
                applied.append(f"CPU affinity {policy.cpus}")
            except OSError as e:
                unavailable.append(f"CPU affinity ({e.strerror})")
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    applied.append("no core dumps")
    for name, lim, what in (("RLIMIT_FSIZE", policy.file_size, "file size"),
                            ("RLIMIT_AS", policy.address_space, "address space")):
        if lim:
            try:
                resource.setrlimit(getattr(resource, name), (lim, lim))
                applied.append(f"{what} limit {lim / 2**30:.1f} GiB")
            except (ValueError, OSError) as e:
                unavailable.append(f"{what} limit ({e})")
    guard_needed = not policy.network
    if not policy.network:
        if "netns" in disabled:
            unavailable.append("network namespace (disabled by GRADER_SANDBOX_DISABLE)")
        elif sys.platform == "linux":
            try:
                applied.append(_unshare_network())
                guard_needed = False
            except OSError as e:
                unavailable.append(f"network namespace ({os.strerror(e.errno or 0)})")
        else:
            unavailable.append(f"network namespace (not on {sys.platform})")
    if policy.shm_size and sys.platform == "linux" and "shm" not in disabled:
        try:
            applied.append(_private_shm(policy.shm_size))
        except OSError as e:
            unavailable.append(f"private /dev/shm ({os.strerror(e.errno or 0)}): shared memory "
                               "is visible to other sandboxes")
    abi = 0 if "landlock" in disabled else landlock_abi()
    if abi:
        allowed = _read_paths(policy) + [policy.workdir, *policy.write]
        for d in policy.deny:
            for a in allowed:
                if d and (d == a or d.startswith(a.rstrip("/") + "/")):
                    unavailable.append(f"{d} is inside the readable {a}; it is NOT protected")
        try:
            applied += _landlock(policy, abi, deny_tcp=guard_needed)
            if abi >= 4 and guard_needed:
                guard_needed = False
        except OSError as e:
            unavailable.append(f"Landlock ({e})")
    else:
        unavailable.append("Landlock file-system rules (needs Linux >= 5.13): the process can read and "
                           "write whatever its user can; hidden data is only out of the loaders' reach")
    if guard_needed:
        sys.addaudithook(_audit_guard)
        applied.append("audit hook refusing internet sockets (Python-level only)")
    blocked = _inaccessible_to_others([os.path.realpath(sys.executable), sys.prefix, policy.workdir,
                                       *policy.read]) if policy.drop_to_nobody else None
    if not policy.drop_to_nobody and hasattr(os, "geteuid") and os.geteuid() == 0:
        unavailable.append("another user: runs as root (GRADER_DROP_ROOT=1 drops to nobody; experimental)")
    elif policy.drop_to_nobody and hasattr(os, "geteuid") and os.geteuid() == 0 and blocked:
        unavailable.append(f"dropping root to nobody ({blocked} is not readable by other users)")
    elif policy.drop_to_nobody and hasattr(os, "geteuid") and os.geteuid() == 0:
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            os.environ["USER"] = os.environ["LOGNAME"] = "nobody"
            try:
                resource.setrlimit(resource.RLIMIT_NPROC, (1024, 1024))
                applied.append("runs as nobody, at most 1024 processes")
            except (ValueError, OSError):
                applied.append("runs as nobody")
        except OSError as e:
            unavailable.append(f"dropping root ({e.strerror})")
    if sys.platform == "linux" and hasattr(os, "geteuid") and os.geteuid() == 0 and "caps" not in disabled:
        try:
            applied.append(_drop_capabilities())
        except OSError as e:
            unavailable.append(f"dropping capabilities ({os.strerror(e.errno or 0)}): root in the sandbox may read "
                               "other processes' memory and environment")
    report = {"applied": applied, "unavailable": unavailable}
    if policy.report:
        try:
            Path(policy.report).write_text(json.dumps(report, indent=1))
        except OSError:
            pass
    return report


def _inaccessible_to_others(paths: list[str]) -> str | None:
    """The first folder on the way to ``paths`` that other users cannot enter, or None."""
    for p in paths:
        path = Path(p)
        for d in [*reversed(path.parents), path]:
            try:
                st = d.stat()
            except OSError:
                break
            if d.is_dir() and not st.st_mode & 0o001 and st.st_uid != 65534:
                return str(d)
    return None


def main(argv: list[str] | None = None) -> None:
    """``python -m grader.sandbox POLICY.json -- CMD...``: confine, then run CMD."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 3 or argv[1] != "--":
        sys.exit("usage: python -m grader.sandbox POLICY.json -- CMD [ARGS...]")
    policy = Policy.load(argv[0])
    cmd = argv[2:]
    apply(policy)
    if len(cmd) >= 3 and os.path.realpath(cmd[0]) == os.path.realpath(sys.executable) and cmd[1] == "-m":
        sys.argv = [cmd[2], *cmd[3:]]
        runpy.run_module(cmd[2], run_name="__main__", alter_sys=True)
        return
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    main()
