"""Running one code cell of a notebook under its CPU limit, and recording what happened.

:func:`run_cell` executes a cell through the nbclient client while the kernel tree's CPU
time is sampled: past the per-cell limit the kernel is interrupted (the next cell runs),
and a kernel that does not come back from the interrupt is killed (``cell_stuck``). The
cell's cost, its errors and a kernel's death are written into the
:class:`grader.execute.ExecutionResult`. Used by :mod:`grader.execute`.
"""
from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from grader.kernel import CappedClient, responsive
from grader.procs import describe_exit
from grader.watchdog import Watchdog

if TYPE_CHECKING:
    from grader.execute import ExecutionResult, Limits

__all__ = ["exit_code", "grade_id", "run_cell", "status_of", "timeout_error"]


def grade_id(cell: Any) -> str | None:
    """The nbgrader ``grade_id`` of a cell, or None."""
    return ((cell.get("metadata", {}) or {}).get("nbgrader") or {}).get("grade_id")


def timeout_error(what: str) -> dict:
    """The error output of a cell that ``what`` (e.g. "ran longer than 60 s ...") and was interrupted."""
    text = f"the cell {what} and was interrupted by the grader"
    return {"ename": "CellTimeoutError", "evalue": text, "traceback": [f"CellTimeoutError: {text}"]}


def status_of(reason: str) -> str:
    """The execution status a watchdog's ``reason`` stands for (``memory``, ``timeout``, ...)."""
    for key, status in (("memory", "memory"), ("time limit", "timeout"), ("disk", "disk"),
                        ("could not be interrupted", "cell_stuck")):
        if key in reason:
            return status
    return "kernel_died"


def exit_code(km: AsyncKernelManager) -> int | None:
    """The kernel process's exit status (waiting up to 2 s), or None when unknown."""
    proc = getattr(getattr(km, "provisioner", None), "process", None)
    if proc is None:
        return None
    try:
        return proc.wait(timeout=2)
    except Exception:  # noqa: BLE001
        return proc.poll()


def _note_failure(result: ExecutionResult, cell: Any, index: int, ename: str, evalue: str) -> None:
    result.failed_cells.append({"index": index + 1, "grade_id": grade_id(cell), "ename": ename,
                                "evalue": str(evalue)[:500]})


async def _watch(task: asyncio.Future, km: AsyncKernelManager, dog: Watchdog, index: int, limits: Limits,
                 result: ExecutionResult, cpu0: float) -> float | None:
    """Wait for the cell; interrupt the kernel past the CPU limit, kill it when that does nothing.

    Returns
    -------
    float or None
        The CPU seconds the cell had used when it was interrupted (None: it was not).
    """
    assert dog.cpu is not None
    over: float | None = None
    interrupted_at = 0.0
    while not task.done():
        await asyncio.wait({task}, timeout=0.25)
        if task.done():
            break
        used = dog.cpu.total - cpu0  # the watchdog samples the tree every 0.2 s
        if over is None and used > limits.cell_timeout:
            over, interrupted_at = used, time.monotonic()
            try:
                await km.interrupt_kernel()
            except Exception:  # noqa: BLE001 - the kill below handles a kernel that cannot be reached
                pass
        elif over is not None and time.monotonic() - interrupted_at > min(15.0, limits.cell_timeout):
            dog.kill(f"cell {index + 1} used more than {limits.cell_timeout:g} CPU-seconds and could not be "
                     "interrupted")
            result.status, result.reason = "cell_stuck", dog.reason or ""
            interrupted_at = float("inf")
    return over


async def _ended(task: asyncio.Future, km: AsyncKernelManager, dog: Watchdog, cell: Any, index: int,
                 result: ExecutionResult) -> bool:
    """Record a cell whose execution raised (dead kernel, nbclient's timeout, a kill); whether it did."""
    try:
        task.result()
    except DeadKernelError:
        await asyncio.sleep(0.2)
        if result.status == "cell_stuck":
            _note_failure(result, cell, index, "CellTimeoutError", result.reason)
            return True
        code = exit_code(km)
        result.status = status_of(dog.reason) if dog.reason else "kernel_died"
        result.reason = dog.reason or f"the kernel died in cell {index + 1} ({describe_exit(code)})"
        _note_failure(result, cell, index, "KernelDied", result.reason)
        return True
    except CellTimeoutError as e:
        result.status, result.reason = "cell_stuck", f"cell {index + 1}: {e}"
        return True
    except Exception as e:  # noqa: BLE001 - e.g. the kernel was killed by the watchdog
        if result.status == "cell_stuck":
            _note_failure(result, cell, index, "CellTimeoutError", result.reason)
            return True
        result.status = status_of(dog.reason) if dog.reason else "kernel_died"
        result.reason = dog.reason or f"execution stopped in cell {index + 1} ({type(e).__name__}: {e})"
        _note_failure(result, cell, index, type(e).__name__, result.reason)
        return True
    return False


async def _over_limit(client: CappedClient, dog: Watchdog, cell: Any, index: int, limits: Limits,
                      result: ExecutionResult, errors: list, cpu: float, over: float | None,
                      wall_out: bool, need: float | None) -> None:
    """A cell that passed its CPU limit or its wall-clock backstop: its error says which, in words."""
    what = (f"used {max(over or 0.0, cpu):.0f} CPU-seconds (the limit is {limits.cell_timeout:g} CPU-seconds per "
            "cell, counted over the kernel and its child processes"
            + (f"; the reference solution needs about {need:.1f} here)" if need else ")")
            if over is not None else
            f"ran longer than {limits.cell_timeout * limits.wall_factor:g} s of wall-clock time while using "
            f"only {cpu:.0f} CPU-seconds (it was waiting, not computing)")
    err = timeout_error(what)
    if errors and errors[0].get("ename") in ("KeyboardInterrupt", "CellTimeoutError"):
        errors[0].update(ename="CellTimeoutError", evalue=err["evalue"], traceback=err["traceback"])
    elif not errors:  # the interrupt did nothing: no error came back from the kernel
        cell.outputs.append(nbformat.v4.new_output("error", **err))
    _note_failure(result, cell, index, "CellTimeoutError", err["evalue"])
    if wall_out and not await responsive(client, min(15.0, limits.cell_timeout)):
        dog.kill(f"cell {index + 1} ran past the per-cell wall-clock backstop "
                 f"({limits.cell_timeout * limits.wall_factor:g} s) and could not be interrupted")
        result.status, result.reason = "cell_stuck", dog.reason or ""


async def run_cell(client: CappedClient, km: AsyncKernelManager, dog: Watchdog, cell: Any, index: int,
                   limits: Limits, result: ExecutionResult, need: float | None) -> None:
    """Execute one cell under its CPU limit (and nbclient's wall-clock backstop); record what happened.

    The kernel tree's CPU time is sampled while the cell runs; past ``limits.cell_timeout``
    CPU-seconds the kernel is interrupted (the next cell runs), and a kernel that does not
    come back from the interrupt is killed (``cell_stuck``).

    Parameters
    ----------
    client : CappedClient
        The notebook's client, its kernel started.
    km : AsyncKernelManager
    dog : Watchdog
        Watching the kernel's tree.
    cell : nbformat.NotebookNode
        A code cell; its outputs are filled in.
    index : int
        Its index in the notebook (0-based).
    limits : Limits
    result : ExecutionResult
        Updated in place: the cell's cost, its failure, the run's status.
    need : float or None
        CPU seconds the reference solution needs here (quoted when the cell passes its limit).
    """
    assert dog.cpu is not None
    cpu0, started = dog.cpu.sample(), time.monotonic()
    task = asyncio.ensure_future(client.async_execute_cell(cell, index,
                                                           execution_count=client.code_cells_executed + 1))
    over = await _watch(task, km, dog, index, limits, result, cpu0)
    cpu = dog.cpu.sample() - cpu0
    wall = time.monotonic() - started
    result.cells.append({"index": index + 1, "grade_id": grade_id(cell), "cpu_seconds": round(cpu, 2),
                         "seconds": round(wall, 2)})
    if await _ended(task, km, dog, cell, index, result):
        return
    result.cells_run += 1
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    wall_out = wall >= limits.cell_timeout * limits.wall_factor
    if over is not None or wall_out:
        await _over_limit(client, dog, cell, index, limits, result, errors, cpu, over, wall_out, need)
    elif errors:
        _note_failure(result, cell, index, errors[0].get("ename", "Error"), errors[0].get("evalue", ""))
