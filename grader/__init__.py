"""The grading engine: safe execution, tamper-proof answer extraction, hidden pytest checks.

``python -m grader grade ASSIGNMENT`` grades an nbgrader-style ``submitted/`` folder into
``gradebook/<assignment>/``. Hidden checks live in ``grader/checks/<assignment>/`` and use
:func:`grader.api.check`; docs/authoring.md is the contract.
"""
from grader.errors import GraderError

__all__ = ["GraderError"]
