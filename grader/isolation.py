"""The Linux isolation steps of the sandbox: network and mount namespaces, capabilities.

Each function changes the calling process irreversibly, returns what it did in words
(for the sandbox report) and raises ``OSError`` when the kernel refuses. Used by
:func:`grader.sandbox.apply`.
"""
from __future__ import annotations

import ctypes
import errno
import os
import socket
from pathlib import Path

from grader.procs import libc

__all__ = ["drop_capabilities", "private_shm", "unshare_network"]


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
