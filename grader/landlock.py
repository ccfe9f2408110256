"""Landlock: the file-system, TCP and scope rules of a sandboxed process (Linux >= 5.13).

:func:`landlock_abi` says which version the running kernel offers; :func:`restrict` confines
the calling process, irreversibly, to reading the system folders, the Python installation
and the given paths, and to writing only the given folders (plus ``/dev/shm`` and the usual
character devices). Later ABIs add rules: rename and truncate (2-3), TCP bind/connect (4),
device ioctls (5), no signals or abstract-socket connections outside the sandbox (6).
Used by :func:`grader.sandbox.apply`.
"""
from __future__ import annotations

import ctypes
import errno
import os
import platform
import sys
from collections.abc import Iterable
from typing import Any

from grader.procs import libc

__all__ = ["landlock_abi", "read_paths", "restrict"]

_SYS = {"x86_64": (444, 445, 446), "aarch64": (444, 445, 446), "arm64": (444, 445, 446)}
_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FS_DIR_WRITE = sum(1 << i for i in range(4, 13))  # remove/make dir, file, sock, fifo, symlink...
_FS_REFER, _FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1 << 0, 1 << 1
_FILE_RIGHTS = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV
_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/tty")


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi() -> int:
    """The Landlock ABI version of the running kernel (0: unavailable)."""
    if sys.platform != "linux" or platform.machine() not in _SYS:
        return 0
    v = libc().syscall(_SYS[platform.machine()][0], None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return int(v) if v > 0 else 0


def read_paths(extra: Iterable[str]) -> list[str]:
    """The paths a sandboxed process may read: system folders, the Python installation, ``extra``.

    Parameters
    ----------
    extra : iterable of str
        The policy's own readable folders and files.

    Returns
    -------
    list of str
        Without repetitions, in order.
    """
    base = ["/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/proc", "/sys", "/dev",
            "/opt", "/run", "/var/lib", "/nix", "/System", "/Library"]
    py = [sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))]
    py += [p for p in sys.path if p and os.path.isdir(p) and "site-packages" in p]
    return list(dict.fromkeys(base + [os.path.realpath(p) for p in py] + py + list(extra)))


def _handled_fs(abi: int) -> int:
    """The file-system rights the ruleset governs at ``abi``."""
    fs = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_READ_DIR | _FS_DIR_WRITE
    if abi >= 2:
        fs |= _FS_REFER
    if abi >= 3:
        fs |= _FS_TRUNCATE
    if abi >= 5:
        fs |= _FS_IOCTL_DEV
    return fs


def _rules(abi: int, fs: int, *, read: list[str], list_dirs: list[str],
           write: list[str]) -> list[tuple[str, int]]:
    """(path, rights) of every rule: read-only, list-only, writable, the character devices."""
    ro = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR | (_FS_IOCTL_DEV if abi >= 5 else 0)
    rules = [(p, ro) for p in read]
    rules += [(p, _FS_READ_DIR) for p in list_dirs]
    rules += [(p, fs) for p in [*write, "/dev/shm"]]
    rules += [(p, ro | _FS_WRITE_FILE | (_FS_TRUNCATE if abi >= 3 else 0)) for p in _DEVICES]
    return rules


def _add_rule(lib: Any, fd: int, path: str, rights: int, fs: int) -> None:
    """Allow ``rights`` beneath ``path`` (a path that cannot be opened is passed over)."""
    add_rule = _SYS[platform.machine()][1]
    try:
        pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return
    try:
        if not os.path.isdir(path):
            rights &= _FILE_RIGHTS
        rule = _PathBeneath(rights & fs, pfd)
        if lib.syscall(add_rule, fd, ctypes.c_int(1), ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
            e = ctypes.get_errno()
            if e != errno.EINVAL:
                raise OSError(e, f"landlock_add_rule failed for {path}")
    finally:
        os.close(pfd)


def restrict(abi: int, *, read: list[str], list_dirs: list[str], write: list[str],
             deny_tcp: bool) -> list[str]:
    """Confine the calling process with Landlock (irreversibly).

    Parameters
    ----------
    abi : int
        The kernel's ABI version (:func:`landlock_abi`, at least 1).
    read : list of str
        Paths it may read (see :func:`read_paths`).
    list_dirs : list of str
        Folders it may list but not read.
    write : list of str
        Folders it may read and write (``/dev/shm`` is added).
    deny_tcp : bool
        Deny TCP bind and connect too (ABI >= 4).

    Returns
    -------
    list of str
        What was applied, human-readable.

    Raises
    ------
    OSError
        If a system call fails.
    """
    create, _, restrict_self = _SYS[platform.machine()]
    lib = libc()
    fs = _handled_fs(abi)
    net = (_NET_BIND_TCP | _NET_CONNECT_TCP) if abi >= 4 and deny_tcp else 0
    scoped = (_SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL) if abi >= 6 else 0
    attr = _RulesetAttr(fs, net, scoped)
    size = 8 if abi < 4 else (16 if abi < 6 else 24)
    fd = lib.syscall(create, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if fd < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        for path, rights in _rules(abi, fs, read=read, list_dirs=list_dirs, write=write):
            _add_rule(lib, fd, path, rights, fs)
        if lib.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if lib.syscall(restrict_self, fd, ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(fd)
    applied = [f"Landlock ABI {abi}: read-only system and Python folders, writes only in the working folder"]
    if net:
        applied.append("Landlock: TCP bind/connect denied")
    if scoped:
        applied.append("Landlock: no signals or abstract-socket connections outside the sandbox")
    return applied
