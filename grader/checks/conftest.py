"""Fixtures of the hidden checks: ``student``, ``reference``, ``artifacts``, ``runs``, ``rng``.

``student``
    The submission's answers module (master ``api`` cells + the student's answer cells),
    imported cell by cell in a student process of its own (:mod:`grader.boundary`): calls
    return data or handles on objects that stay there. A name whose cell failed raises
    AttributeError saying which cell failed and why.
``reference``
    The master's answers module, built the same way (imported before ``student``).
``artifacts`` / ``runs``
    ``pathlib.Path`` of the executed notebook's ``artifacts/<short>/`` and ``runs/<short>/``
    (``short``: ``a1``, ``a2``). Only for checks declared ``@check(..., run=True)``; when there
    is no executed notebook (``--answers-only``) the check is skipped and reported "not run".
``rng``
    ``numpy.random.Generator`` seeded per check from ``GRADER_SEED`` and the check's id.

How the engine says what to use (environment variables ``GRADER_ASSIGNMENT``,
``GRADER_STUDENT_MODULE``, ``GRADER_REFERENCE_MODULE``, ``GRADER_WORKDIR``, ``GRADER_SEED``,
``GRADER_CHECK_TIMEOUT``, ``GRADER_ENGINE``) is documented in :mod:`grader.context`.
Without the engine, ``pytest grader/checks/<assignment>`` uses the reference as the student:
every check must pass; run checks use ``$GRADER_WORKDIR``, else the artifacts of the master
executed in ``solutions/`` or in the repository root, else they are skipped.

Every check also gets, automatically: Python's ``random``, NumPy's global generator and
(when Keras is already imported) Keras seeded per check, and a time limit (``timeout`` of
``@check``, default ``GRADER_CHECK_TIMEOUT`` = 60 s) that fails the check with CheckTimeout.
"""
from grader.fixtures import *  # noqa: F401,F403  (pytest finds the fixtures and hooks by name)
