"""The kernel side of an execution: a sandboxed kernel manager and an output-capped client.

:class:`SandboxedKernelManager` starts the kernel under ``python -m grader.sandbox``;
:class:`CappedClient` keeps a bounded amount of each cell's output; :func:`responsive`
probes a kernel after an interrupt. Used by :mod:`grader.execute`.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

__all__ = ["OUTPUT_CELL_LIMIT", "OUTPUT_TOTAL_LIMIT", "CappedClient", "SandboxedKernelManager", "responsive"]

OUTPUT_CELL_LIMIT = 200_000  # characters of output kept per cell
OUTPUT_TOTAL_LIMIT = 2_000_000  # and per notebook


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel command runs under ``python -m grader.sandbox``."""

    sandbox_policy: str = ""

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        py = sys.executable
        return [py, "-m", "grader.sandbox", self.sandbox_policy, "--", py, "-m", "ipykernel_launcher",
                "-f", os.path.realpath(self.connection_file), *(extra_arguments or [])]


class CappedClient(NotebookClient):
    """An nbclient that keeps at most a bounded amount of output (a cell may print gigabytes)."""

    def __init__(self, *a: Any, **kw: Any):
        super().__init__(*a, **kw)
        self._cell_chars: dict[int, int] = {}
        self._total_chars = 0
        self._truncated: set[int] = set()

    def output(self, outs: list, msg: dict, display_id: str | None, cell_index: int) -> Any:
        size = len(str(msg.get("content", "")))
        used = self._cell_chars.get(cell_index, 0)
        room = min(OUTPUT_CELL_LIMIT - used, OUTPUT_TOTAL_LIMIT - self._total_chars)
        cut = False
        if msg.get("msg_type") == "stream" and size > room > 1000:
            text = msg["content"].get("text", "")
            msg = {**msg, "content": {**msg["content"], "text": text[:room - 1000]}}
            size, cut = len(str(msg["content"])), True
        if size > room and msg.get("msg_type") != "error":
            self._note_truncated(outs, cell_index)
            return None
        self._cell_chars[cell_index] = used + size
        self._total_chars += size
        out = super().output(outs, msg, display_id, cell_index)
        if cut:
            self._note_truncated(outs, cell_index)
        return out

    def _note_truncated(self, outs: list, cell_index: int) -> None:
        if cell_index not in self._truncated:
            self._truncated.add(cell_index)
            outs.append(nbformat.v4.new_output(
                "stream", name="stderr", text="\n[grader: further output of this cell was discarded]\n"))


async def responsive(client: CappedClient, seconds: float) -> bool:
    """Does the kernel run a trivial statement within ``seconds`` (after an interrupt)?

    (``kernel_info`` is no probe: ipykernel 7 answers it while a cell is still running.)
    """
    try:
        msg_id = client.kc.execute("None", silent=True, store_history=False)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                msg = await client.kc.shell_channel.get_msg(timeout=max(0.1, deadline - time.monotonic()))
            except Exception:  # noqa: BLE001 - queue.Empty
                return False
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return True
    except Exception:  # noqa: BLE001
        return False
    return False
