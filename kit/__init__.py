"""Helpers shared by the kit's notebooks, graders and tests.

Notebooks import these instead of pasting their own copies, so that every
assignment seeds, logs and plots the same way.
"""
from __future__ import annotations

from kit.seed import seed_everything

__all__ = ["seed_everything"]
