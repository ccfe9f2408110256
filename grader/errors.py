"""The one error type of the grading engine."""
from __future__ import annotations


class GraderError(Exception):
    """A problem the instructor (not the student) must fix.

    Messages name the bad value and say how to fix it, e.g. ``"no master notebook
    solutions/a9.ipynb; pass an assignment that has one: a1_example, ..."``.
    Problems with a *submission* are never raised: they become a gradebook row
    with a reason.
    """
