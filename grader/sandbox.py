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

import dataclasses
import json
import os
import resource
import runpy
import sys
from pathlib import Path

from grader.isolation import (become_nobody, drop_capabilities, guard_network, inaccessible_to_others, private_shm,
                              unshare_network)
from grader.landlock import landlock_abi, read_paths, restrict
from grader.procs import die_with_parent, thread_env

__all__ = ["Policy", "apply", "landlock_abi", "main", "read_report"]

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

@dataclasses.dataclass
class _Report:
    """What :func:`apply` enforced, and what it could not, in words."""

    applied: list[str] = dataclasses.field(default_factory=list)
    unavailable: list[str] = dataclasses.field(default_factory=list)
    disabled: set[str] = dataclasses.field(default_factory=set)  # layers GRADER_SANDBOX_DISABLE turns off


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


# ---------------------------------------------------------------------------------- the steps
def _process_limits(policy: Policy, rep: _Report) -> None:
    """Thread caps, the parent-death signal, CPU affinity, no core dumps, file size and memory."""
    os.environ.update(thread_env(policy.threads))
    rep.applied.append(f"{policy.threads} thread(s) per numeric library")
    if sys.platform == "linux":
        try:
            die_with_parent()
            rep.applied.append("killed when the grader dies")
        except Exception:  # noqa: BLE001
            rep.unavailable.append("parent-death signal")
        if policy.cpus:
            try:
                os.sched_setaffinity(0, policy.cpus)
                rep.applied.append(f"CPU affinity {policy.cpus}")
            except OSError as e:
                rep.unavailable.append(f"CPU affinity ({e.strerror})")
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    rep.applied.append("no core dumps")
    for name, lim, what in (("RLIMIT_FSIZE", policy.file_size, "file size"),
                            ("RLIMIT_AS", policy.address_space, "address space")):
        if lim:
            try:
                resource.setrlimit(getattr(resource, name), (lim, lim))
                rep.applied.append(f"{what} limit {lim / 2**30:.1f} GiB")
            except (ValueError, OSError) as e:
                rep.unavailable.append(f"{what} limit ({e})")


def _network_namespace(rep: _Report) -> bool:
    """Cut the network off with a namespace; whether that worked."""
    if "netns" in rep.disabled:
        rep.unavailable.append("network namespace (disabled by GRADER_SANDBOX_DISABLE)")
    elif sys.platform == "linux":
        try:
            rep.applied.append(unshare_network())
            return True
        except OSError as e:
            rep.unavailable.append(f"network namespace ({os.strerror(e.errno or 0)})")
    else:
        rep.unavailable.append(f"network namespace (not on {sys.platform})")
    return False


def _shared_memory(policy: Policy, rep: _Report) -> None:
    if policy.shm_size and sys.platform == "linux" and "shm" not in rep.disabled:
        try:
            rep.applied.append(private_shm(policy.shm_size))
        except OSError as e:
            rep.unavailable.append(f"private /dev/shm ({os.strerror(e.errno or 0)}): shared memory "
                                   "is visible to other sandboxes")


def _landlock(policy: Policy, rep: _Report, *, deny_tcp: bool) -> bool:
    """The Landlock rules, warning about denied folders inside allowed ones; whether TCP is now denied."""
    abi = 0 if "landlock" in rep.disabled else landlock_abi()
    if not abi:
        rep.unavailable.append("Landlock file-system rules (needs Linux >= 5.13): the process can read and "
                               "write whatever its user can; hidden data is only out of the loaders' reach")
        return False
    readable = read_paths(policy.read)
    allowed = readable + [policy.workdir, *policy.write]
    for d in policy.deny:
        for a in allowed:
            if d and (d == a or d.startswith(a.rstrip("/") + "/")):
                rep.unavailable.append(f"{d} is inside the readable {a}; it is NOT protected")
    try:
        rep.applied += restrict(abi, read=readable, list_dirs=policy.list_dirs,
                                write=[policy.workdir, *policy.write], deny_tcp=deny_tcp)
    except OSError as e:
        rep.unavailable.append(f"Landlock ({e})")
        return False
    return abi >= 4 and deny_tcp


def _other_user(policy: Policy, rep: _Report) -> None:
    """Root drops to ``nobody`` when the policy asks and every input is readable by others."""
    blocked = inaccessible_to_others([os.path.realpath(sys.executable), sys.prefix, policy.workdir,
                                      *policy.read]) if policy.drop_to_nobody else None
    if not _is_root():
        return
    if not policy.drop_to_nobody:
        rep.unavailable.append("another user: runs as root (GRADER_DROP_ROOT=1 drops to nobody; experimental)")
    elif blocked:
        rep.unavailable.append(f"dropping root to nobody ({blocked} is not readable by other users)")
    else:
        try:
            rep.applied.append(become_nobody())
        except OSError as e:
            rep.unavailable.append(f"dropping root ({e.strerror})")


def _capabilities(rep: _Report) -> None:
    if sys.platform == "linux" and _is_root() and "caps" not in rep.disabled:
        try:
            rep.applied.append(drop_capabilities())
        except OSError as e:
            rep.unavailable.append(f"dropping capabilities ({os.strerror(e.errno or 0)}): root in the sandbox may "
                                   "read other processes' memory and environment")


# ---------------------------------------------------------------------------------------- apply
def apply(policy: Policy) -> dict[str, list[str]]:
    """Apply ``policy`` to the calling process (irreversibly).

    Returns
    -------
    dict
        ``{"applied": [...], "unavailable": [...]}``, human-readable.
    """
    rep = _Report(disabled=set(filter(None, os.environ.get("GRADER_SANDBOX_DISABLE", "").split(","))))
    _process_limits(policy, rep)
    guard_needed = not policy.network and not _network_namespace(rep)
    _shared_memory(policy, rep)
    if _landlock(policy, rep, deny_tcp=guard_needed):
        guard_needed = False
    if guard_needed:
        rep.applied.append(guard_network())
    _other_user(policy, rep)
    _capabilities(rep)
    report = {"applied": rep.applied, "unavailable": rep.unavailable}
    if policy.report:
        try:
            Path(policy.report).write_text(json.dumps(report, indent=1))
        except OSError:
            pass
    return report


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


def read_report(path: Path) -> dict:
    """The protection report a sandboxed process wrote at ``path``; ``{}`` when missing or unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}


if __name__ == "__main__":
    main()
