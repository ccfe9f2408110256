"""kit.timing: seconds per notebook part."""
from __future__ import annotations

import time

import pytest

from kit.timing import PartTimer


def test_parts_add_up_and_a_failing_block_is_still_counted() -> None:
    timer = PartTimer()
    for _ in range(2):
        with timer.timed("sleep"):
            time.sleep(0.05)
    with pytest.raises(RuntimeError):
        with timer.timed("broken"):
            time.sleep(0.02)
            raise RuntimeError("boom")
    with timer.timed("busy"):
        sum(i * i for i in range(300_000))
    assert 0.1 <= timer.seconds["sleep"] < 1.0
    assert timer.cpu_seconds["sleep"] < 0.05, "sleeping costs no CPU"
    assert timer.seconds["broken"] >= 0.02
    assert timer.cpu_seconds["busy"] > 0.0
    table = timer.finish()
    assert set(table) == {"seconds", "cpu_seconds"}
    assert table["seconds"]["total"] >= table["seconds"]["sleep"] + table["seconds"]["broken"]
    assert table["seconds"]["sleep"] == round(timer.seconds["sleep"], 2)
