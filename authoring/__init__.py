"""Authoring tools: a layer above the grading engine, for the people who write the course.

``python -m authoring TOOL ...`` (:mod:`authoring.cli`) runs one of them:

``reference``
    Execute the masters and record their reference figures (:mod:`authoring.reference`).
``bench``
    What grading costs compared with plain execution (:mod:`authoring.bench`).
``demo``
    Regenerate the demo class in ``examples/submitted/`` (:mod:`authoring.demo`).
``mutate``
    Mutation analysis of the hidden checks (:mod:`authoring.mutate`, :mod:`authoring.mutants`,
    :mod:`authoring.operators`, :mod:`authoring.mutation_report`).
``notebooks``
    Generate or check the student notebooks in ``assignments/`` (:mod:`authoring.notebooks`).
``handout``
    The students' hand-out, searched for leaks (:mod:`authoring.handout`).

The engine (``grader``), the students' helpers (``kit``) and the data (``source_data``) never
import this package (``tests/test_layers.py``); what a tool needs to know of one assignment is
declared by the assignment itself (its ``grader/checks/<assignment>/evaluate.py``, its
``tests/validity/<short>_*.py`` libraries), and the assignments are found with
:func:`grader.assignments.discover`.
"""
