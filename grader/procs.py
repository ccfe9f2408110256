"""Process plumbing shared by the engine's child processes."""
from __future__ import annotations

import sys

__all__ = ["die_with_parent"]


def die_with_parent() -> None:
    """Ask Linux to kill this process (SIGKILL) when its parent dies (``PR_SET_PDEATHSIG``); no-op elsewhere."""
    if sys.platform != "linux":
        return
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL
    except Exception:  # noqa: BLE001
        pass
