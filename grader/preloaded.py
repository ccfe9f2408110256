"""Imported by the grading workers' fork server: TensorFlow once per batch (see :mod:`grader.zygote`)."""
from __future__ import annotations

from grader.zygote import preload

PRELOADED: bool = preload()
"""Whether the import worked (if not, check processes start as fresh interpreters)."""
