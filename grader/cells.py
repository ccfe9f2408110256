"""Running one code cell of a notebook under its CPU limit, and recording what happened.

:func:`run_cell` executes a cell through the nbclient client while the kernel tree's CPU
time is sampled: past the per-cell limit the kernel is interrupted (the next cell runs),
and a kernel that does not come back from the interrupt is killed (``cell_stuck``). The
cell's cost, its errors and a kernel's death are written into the
:class:`grader.execute.ExecutionResult`. Used by :mod:`grader.execute`.
"""
from __future__ import annotations

import asyncio
import dataclasses
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


@dataclasses.dataclass
class _Cell:
    """One cell being run: what the steps below read and update."""

    client: CappedClient
    km: AsyncKernelManager
    dog: Watchdog
    cell: Any
    index: int  # 0-based
    limits: Limits
    result: ExecutionResult

    def fail(self, ename: str, evalue: str) -> None:
        """Record the cell as failed with ``ename: evalue``."""
        self.result.failed_cells.append({"index": self.index + 1, "grade_id": grade_id(self.cell),
                                         "ename": ename, "evalue": str(evalue)[:500]})

    def stuck(self, reason: str) -> None:
        """The run's status: ``cell_stuck`` for ``reason``."""
        self.result.status, self.result.reason = "cell_stuck", reason


async def _watch(c: _Cell, task: asyncio.Future, cpu0: float) -> float | None:
    """Wait for the cell; interrupt the kernel past the CPU limit, kill it when that does nothing.

    Returns
    -------
    float or None
        The CPU seconds the cell had used when it was interrupted (None: it was not).
    """
    assert c.dog.cpu is not None
    over: float | None = None
    interrupted_at = 0.0
    while not task.done():
        await asyncio.wait({task}, timeout=0.25)
        if task.done():
            break
        used = c.dog.cpu.total - cpu0  # the watchdog samples the tree every 0.2 s
        if over is None and used > c.limits.cell_timeout:
            over, interrupted_at = used, time.monotonic()
            try:
                await c.km.interrupt_kernel()
            except Exception:  # noqa: BLE001 - the kill below handles a kernel that cannot be reached
                pass
        elif over is not None and time.monotonic() - interrupted_at > min(15.0, c.limits.cell_timeout):
            c.dog.kill(f"cell {c.index + 1} used more than {c.limits.cell_timeout:g} CPU-seconds and could not be "
                       "interrupted")
            c.stuck(c.dog.reason or "")
            interrupted_at = float("inf")
    return over


async def _ended(c: _Cell, task: asyncio.Future) -> bool:
    """Record a cell whose execution raised (dead kernel, nbclient's timeout, a kill); whether it did."""
    result, dog, n = c.result, c.dog, c.index + 1
    try:
        task.result()
    except DeadKernelError:
        await asyncio.sleep(0.2)
        if result.status == "cell_stuck":
            c.fail("CellTimeoutError", result.reason)
            return True
        code = exit_code(c.km)
        result.status = status_of(dog.reason) if dog.reason else "kernel_died"
        result.reason = dog.reason or f"the kernel died in cell {n} ({describe_exit(code)})"
        c.fail("KernelDied", result.reason)
        return True
    except CellTimeoutError as e:
        c.stuck(f"cell {n}: {e}")
        return True
    except Exception as e:  # noqa: BLE001 - e.g. the kernel was killed by the watchdog
        if result.status == "cell_stuck":
            c.fail("CellTimeoutError", result.reason)
            return True
        result.status = status_of(dog.reason) if dog.reason else "kernel_died"
        result.reason = dog.reason or f"execution stopped in cell {n} ({type(e).__name__}: {e})"
        c.fail(type(e).__name__, result.reason)
        return True
    return False


def _limit_message(limits: Limits, cpu: float, over: float | None, need: float | None) -> str:
    """What a cell that passed its CPU limit (``over``: CPU seconds then) or its wall-clock backstop did."""
    if over is None:
        return (f"ran longer than {limits.cell_timeout * limits.wall_factor:g} s of wall-clock time while using "
                f"only {cpu:.0f} CPU-seconds (it was waiting, not computing)")
    return (f"used {max(over, cpu):.0f} CPU-seconds (the limit is {limits.cell_timeout:g} CPU-seconds per "
            "cell, counted over the kernel and its child processes"
            + (f"; the reference solution needs about {need:.1f} here)" if need else ")"))


async def _over_limit(c: _Cell, errors: list, what: str, wall_out: bool) -> None:
    """A cell that passed its CPU limit or its wall-clock backstop: its error says ``what``, in words."""
    err = timeout_error(what)
    if errors and errors[0].get("ename") in ("KeyboardInterrupt", "CellTimeoutError"):
        errors[0].update(ename="CellTimeoutError", evalue=err["evalue"], traceback=err["traceback"])
    elif not errors:  # the interrupt did nothing: no error came back from the kernel
        c.cell.outputs.append(nbformat.v4.new_output("error", **err))
    c.fail("CellTimeoutError", err["evalue"])
    if wall_out and not await responsive(c.client, min(15.0, c.limits.cell_timeout)):
        c.dog.kill(f"cell {c.index + 1} ran past the per-cell wall-clock backstop "
                   f"({c.limits.cell_timeout * c.limits.wall_factor:g} s) and could not be interrupted")
        c.stuck(c.dog.reason or "")


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
    c = _Cell(client, km, dog, cell, index, limits, result)
    cpu0, started = dog.cpu.sample(), time.monotonic()
    task = asyncio.ensure_future(client.async_execute_cell(cell, index,
                                                           execution_count=client.code_cells_executed + 1))
    over = await _watch(c, task, cpu0)
    cpu = dog.cpu.sample() - cpu0
    wall = time.monotonic() - started
    result.cells.append({"index": index + 1, "grade_id": grade_id(cell), "cpu_seconds": round(cpu, 2),
                         "seconds": round(wall, 2)})
    if await _ended(c, task):
        return
    result.cells_run += 1
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    wall_out = wall >= limits.cell_timeout * limits.wall_factor
    if over is not None or wall_out:
        await _over_limit(c, errors, _limit_message(limits, cpu, over, need), wall_out)
    elif errors:
        c.fail(errors[0].get("ename", "Error"), errors[0].get("evalue", ""))
