"""The isolation steps of the sandbox: namespaces, capabilities, another user, the audit hook.

Each step changes the calling process irreversibly, returns what it did in words (for the
sandbox report) and raises ``OSError`` when the system refuses. The namespaces and
capabilities are Linux's; the audit hook works everywhere. Used by :func:`grader.sandbox.apply`.
"""
from __future__ import annotations

import ctypes
import errno
import os
import resource
import socket
import sys
from pathlib import Path

from grader.procs import libc

__all__ = ["become_nobody", "drop_capabilities", "guard_network", "inaccessible_to_others", "private_shm",
           "unshare_network"]

_INET = {getattr(socket, "AF_INET", 2), getattr(socket, "AF_INET6", 10)}
_NOBODY = 65534


def private_shm(size: int) -> str:
    """A mount namespace of its own with a fresh tmpfs on ``/dev/shm``.

    Needs ``CAP_SYS_ADMIN`` here: root, or the user namespace made by :func:`unshare_network`.

    Parameters
    ----------
    size : int
        Bytes of the tmpfs.

    Returns
    -------
    str
    """
    lib = libc()
    CLONE_NEWNS, MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE = 0x00020000, 2, 4, 16384, 1 << 18
    if lib.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS) failed")
    if lib.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        raise OSError(ctypes.get_errno(), "making the mounts private failed")
    opts = f"size={int(size)},mode=1777".encode()
    if lib.mount(b"tmpfs", b"/dev/shm", b"tmpfs", MS_NOSUID | MS_NODEV, opts) != 0:
        raise OSError(ctypes.get_errno(), "mounting a tmpfs on /dev/shm failed")
    return f"private /dev/shm ({size / 2**20:.0f} MiB tmpfs)"


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_capabilities() -> str:
    """Drop every capability (bounding, effective, permitted, inheritable) of root in the sandbox.

    Root keeps its uid for file ownership but loses its privileges; with CAP_SYS_PTRACE
    gone, Landlock's ptrace scoping and the dumpable flag keep other processes' memory and
    ``/proc/<pid>/environ`` (the grader's environment) out of reach.

    Returns
    -------
    str
    """
    lib = libc()
    PR_CAPBSET_DROP, LINUX_CAPABILITY_VERSION_3 = 24, 0x20080522
    for cap in range(64):
        if lib.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != errno.EINVAL:
            raise OSError(ctypes.get_errno(), f"PR_CAPBSET_DROP {cap} failed")
    header, data = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    if lib.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")
    return "no capabilities (root without privileges)"


def unshare_network() -> str:
    """A network namespace of its own (with a user namespace when not root); loopback only.

    Returns
    -------
    str
    """
    lib = libc()
    CLONE_NEWNET, CLONE_NEWUSER = 0x40000000, 0x10000000
    if os.geteuid() == 0:
        if lib.unshare(CLONE_NEWNET) == 0:
            _loopback_up()
            return "network namespace (no network; loopback only)"
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET) failed")
    uid, gid = os.geteuid(), os.getegid()
    if lib.unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:
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


def _audit_guard(event: str, args: tuple) -> None:
    if event in ("socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg"):
        sock = args[0] if args else None
        if getattr(sock, "family", None) in _INET:
            raise PermissionError("network access is disabled while grading")
    elif event == "socket.getaddrinfo":
        raise PermissionError("network access is disabled while grading")


def guard_network() -> str:
    """Install an audit hook that refuses internet sockets (Python code only: C code bypasses it).

    Returns
    -------
    str
    """
    sys.addaudithook(_audit_guard)
    return "audit hook refusing internet sockets (Python-level only)"


def inaccessible_to_others(paths: list[str]) -> str | None:
    """The first folder on the way to ``paths`` that other users cannot enter, or None.

    Parameters
    ----------
    paths : list of str

    Returns
    -------
    str or None
    """
    for p in paths:
        path = Path(p)
        for d in [*reversed(path.parents), path]:
            try:
                st = d.stat()
            except OSError:
                break
            if d.is_dir() and not st.st_mode & 0o001 and st.st_uid != _NOBODY:
                return str(d)
    return None


def become_nobody() -> str:
    """Root becomes ``nobody`` (no groups), with at most 1024 processes where that can be set.

    Returns
    -------
    str
    """
    os.setgroups([])
    os.setgid(_NOBODY)
    os.setuid(_NOBODY)
    os.environ["USER"] = os.environ["LOGNAME"] = "nobody"
    try:
        resource.setrlimit(resource.RLIMIT_NPROC, (1024, 1024))
        return "runs as nobody, at most 1024 processes"
    except (ValueError, OSError):
        return "runs as nobody"
