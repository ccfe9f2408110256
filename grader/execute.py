"""Executing a submission's notebook: fresh kernel, own folder, limits, every cell recorded.

The kernel is started through :mod:`grader.sandbox` (no network, file-system rules, thread
caps, ...) with the working folder as its current directory and home, talks to the grader
over Unix sockets (``transport="ipc"``; it has no network), and is watched by a
:class:`grader.watchdog.Watchdog` (memory, whole-notebook time, disk). Each cell has its own
timeout: the kernel is interrupted and execution goes on with the next cell, so that later
parts still produce their artifacts; a cell that cannot be interrupted ends the run. Errors
in cells are recorded and execution continues (``allow_errors``). A dead kernel (``sys.exit``
is an ordinary error in IPython; ``os._exit``, a segfault or a kill end the kernel) ends the
run with a reason. One cell's run: :mod:`grader.cells`.
"""
from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import time
from pathlib import Path
from typing import Any

from grader.cells import exit_code, grade_id, run_cell, status_of, timeout_error
from grader.config import GIB, Options
from grader.kernel import CappedClient, SandboxedKernelManager
from grader.logsink import LOG_LIMIT, CappedSink
from grader.procs import child_env, describe_exit, seed_numba_cache
from grader.sandbox import Policy, read_report
from grader.watchdog import Watchdog, kill_tree

__all__ = ["ExecutionResult", "Limits", "execute_notebook"]


@dataclasses.dataclass(frozen=True)
class Limits:
    """Limits of one execution.

    Attributes
    ----------
    timeout : float
        CPU seconds for the whole notebook, counted over the kernel's process tree (kernel
        start included); past it the kernel is killed (status ``timeout``).
    cell_timeout : float
        CPU seconds per cell; the kernel is interrupted and the next cell runs.
    wall_factor : float
        The wall-clock backstop of both limits, as a multiple of them: code that waits
        without computing is stopped after ``wall_factor * cell_timeout`` seconds of wall
        time per cell and ``wall_factor * timeout`` per notebook.
    memory : int
        Bytes of resident memory for the kernel and its children.
    disk : int
        Bytes the working folder may hold.
    threads : int
        Threads per numeric library.
    cpus : tuple of int or None
        CPU affinity.
    """

    timeout: float = Options.timeout
    cell_timeout: float = Options.cell_timeout
    wall_factor: float = Options.wall_factor
    memory: int = int(Options.memory_gb * GIB)
    disk: int = int(Options.disk_gb * GIB)
    threads: int = 2
    cpus: tuple[int, ...] | None = None

    def key(self) -> str:
        """The part of the cache key that changes what an execution produces."""
        return f"t{self.timeout:g}-c{self.cell_timeout:g}-w{self.wall_factor:g}-m{self.memory}-d{self.disk}"


@dataclasses.dataclass
class ExecutionResult:
    """What happened when a notebook ran.

    Attributes
    ----------
    status : str
        ``completed`` (every cell ran; some may have raised), ``timeout``, ``memory``, ``disk``,
        ``kernel_died``, ``cell_stuck`` or ``start_failed``.
    reason : str
        Human-readable; empty when completed.
    failed_cells : list of dict
        ``{"index", "grade_id", "ename", "evalue"}`` (index is 1-based) of every cell that raised.
    seconds : float
    peak_rss : int
    protections : dict
        ``{"applied": [...], "unavailable": [...]}`` from the sandbox.
    cells_run : int
    cells : list of dict
        ``{"index", "grade_id", "cpu_seconds", "seconds"}`` of every code cell that ran: what
        each cell cost, in CPU seconds of the kernel's tree and in wall-clock seconds.
    anomalies : list of str
        Signs of tampering seen around the run (e.g. processes that detached themselves
        from the kernel and outlived it); the grade row becomes ``tampered``.
    """

    status: str
    reason: str = ""
    failed_cells: list[dict] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    peak_rss: int = 0
    protections: dict = dataclasses.field(default_factory=dict)
    cells_run: int = 0
    cells: list[dict] = dataclasses.field(default_factory=list)
    anomalies: list[str] = dataclasses.field(default_factory=list)


def kernel_env(workdir: Path, student_data: str | None, threads: int) -> dict[str, str]:
    """The kernel's environment: nothing of the grader's own, caches and home in the folder."""
    tmp = workdir / ".tmp"
    env = child_env({
        "HOME": str(workdir), "TMPDIR": str(tmp), "TEMP": str(tmp), "TMP": str(tmp),
        "MPLCONFIGDIR": str(workdir / ".config" / "matplotlib"),
        "XDG_CACHE_HOME": str(workdir / ".cache"), "XDG_CONFIG_HOME": str(workdir / ".config"),
        "IPYTHONDIR": str(workdir / ".ipython"), "JUPYTER_CONFIG_DIR": str(workdir / ".jupyter"),
        "JUPYTER_DATA_DIR": str(workdir / ".jupyter"), "JUPYTER_RUNTIME_DIR": str(workdir / ".k"),
        "KERAS_HOME": str(workdir / ".keras"), "NUMBA_CACHE_DIR": str(workdir / ".cache" / "numba"),
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }, threads=threads, data=student_data)
    env.setdefault("LANG", "C.UTF-8")
    return env


def prepare_workdir(workdir: Path, *, numba_cache: Path | None = None) -> None:
    """Create the working folder and its dot-folders (home, caches, sockets)."""
    for sub in (".tmp", ".config/matplotlib", ".cache", ".ipython", ".jupyter", ".k", ".keras"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    seed_numba_cache(numba_cache, workdir / ".cache" / "numba")
    # a warm matplotlib font cache saves seconds per submission
    try:
        import matplotlib

        src = Path(matplotlib.get_cachedir())
        for f in src.glob("fontlist-*.json"):
            (workdir / ".config" / "matplotlib" / f.name).write_bytes(f.read_bytes())
    except Exception:  # noqa: BLE001 - only an optimisation
        pass


def execute_notebook(nb: Any, workdir: Path, *, policy: Policy, limits: Limits,
                     student_data: str | None, kernel_log: Any = None,
                     needs: dict[str, float] | None = None) -> ExecutionResult:
    """Execute ``nb`` (in place) in ``workdir`` under ``policy`` and ``limits``.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The notebook to run (see :func:`grader.extract.execution_notebook`); outputs are filled in.
    workdir : Path
        Its working folder (exists, prepared by :func:`prepare_workdir`).
    policy : Policy
        Sandbox policy; its file is written beside ``workdir`` (out of the kernel's reach).
    limits : Limits
    student_data : str or None
        ``KIT_DATA_DIR`` of the kernel (the student-only data folder).
    kernel_log : file, optional
        Where the kernel's own stdout/stderr go (default: discarded).
    needs : dict, optional
        CPU seconds the reference solution needs per cell, by ``grade_id``: quoted to the
        student when a cell passes its CPU limit.

    Returns
    -------
    ExecutionResult
        Never raises for anything the notebook does.
    """
    return asyncio.run(_execute(nb, Path(workdir), policy, limits, student_data, kernel_log, needs or {}))


def _kernel(nb: Any, workdir: Path, policy: Policy, limits: Limits) -> tuple[SandboxedKernelManager, CappedClient]:
    """The sandboxed kernel manager (its policy saved out of the kernel's reach) and the notebook client."""
    ctl = workdir.parent / "ctl"
    ctl.mkdir(exist_ok=True, mode=0o700)
    policy.report = str(workdir / ".k" / "sandbox.json")
    km = SandboxedKernelManager(transport="ipc", ip=str(workdir / ".k" / "kernel"),
                                connection_file=str(workdir / ".k" / "connection.json"))
    km.sandbox_policy = str(policy.save(ctl / "policy.json"))
    km.cache_ports = False
    wall_cell = limits.cell_timeout * limits.wall_factor
    # nbclient's own timeout is the wall-clock backstop; the CPU limit is enforced by run_cell
    client = CappedClient(nb, km=km, timeout=int(wall_cell), interrupt_on_timeout=True,
                          error_on_timeout=timeout_error(f"ran longer than {wall_cell:g} s of wall-clock time"),
                          allow_errors=True, startup_timeout=120,
                          iopub_timeout=5, shutdown_kernel="immediate", record_timing=False,
                          kernel_name="python3")
    return km, client


async def _start(km: SandboxedKernelManager, client: CappedClient, dog: Watchdog, workdir: Path,
                 env: dict[str, str], kernel_log: Any, sinks: list[CappedSink]) -> str | None:
    """Start the kernel and its client; why that failed, if it did.

    The kernel's output goes to a :class:`CappedSink` into ``kernel_log`` (appended to
    ``sinks`` as soon as it exists, for the caller to close), or is discarded.
    """
    started = False
    try:
        if kernel_log is not None:
            sinks.append(CappedSink(kernel_log, LOG_LIMIT))
            await km.start_kernel(cwd=str(workdir), env=env, stdout=sinks[-1].fd, stderr=sinks[-1].fd)
            sinks[-1].started()
        else:
            await km.start_kernel(cwd=str(workdir), env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        started = True
        dog.watch(km.provisioner.process.pid)  # type: ignore[union-attr]
        await client.async_start_new_kernel_client()
    except Exception as e:  # noqa: BLE001
        code = exit_code(km) if started else None
        return dog.reason or f"the kernel did not start ({type(e).__name__}: {e}" + (
            f"; {describe_exit(code)})" if code is not None else ")")
    return None


async def _run_cells(nb: Any, client: CappedClient, km: SandboxedKernelManager, dog: Watchdog, limits: Limits,
                     result: ExecutionResult, needs: dict[str, float]) -> None:
    """Run the code cells in order until one ends the run or the watchdog stops the kernel."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        await run_cell(client, km, dog, cell, index, limits, result, needs.get(grade_id(cell)))
        if result.status != "completed":
            break
        if dog.reason:
            result.status, result.reason = status_of(dog.reason), dog.reason
            break


async def _shut_down(client: CappedClient, km: SandboxedKernelManager) -> None:
    """Stop the kernel and kill whatever is left of its tree (best effort)."""
    try:
        await asyncio.wait_for(client._async_cleanup_kernel(), 15)
    except Exception:  # noqa: BLE001
        pass
    try:
        if km.provisioner is not None and km.provisioner.process is not None:
            kill_tree(km.provisioner.process.pid)
    except Exception:  # noqa: BLE001
        pass


async def _execute(nb: Any, workdir: Path, policy: Policy, limits: Limits, student_data: str | None,
                   kernel_log: Any, needs: dict[str, float]) -> ExecutionResult:
    t0 = time.monotonic()
    km, client = _kernel(nb, workdir, policy, limits)
    dog = Watchdog(memory=limits.memory, cpu_seconds=limits.timeout, seconds=limits.timeout * limits.wall_factor,
                   folder=workdir, disk=limits.disk)
    result = ExecutionResult(status="completed")
    env = kernel_env(workdir, student_data, limits.threads)
    sinks: list[CappedSink] = []
    try:
        failed = await _start(km, client, dog, workdir, env, kernel_log, sinks)
        if failed is not None:
            result.status, result.reason = "start_failed", failed
            return result
        result.protections = read_report(workdir / ".k" / "sandbox.json")
        await _run_cells(nb, client, km, dog, limits, result, needs)
    finally:
        dog.stop()
        result.peak_rss = dog.peak_rss
        await _shut_down(client, km)
        for sink in sinks:
            sink.close()
        result.seconds = time.monotonic() - t0
    return result


