"""The check API: how a hidden check declares its points and student-facing message.

Hidden checks are plain pytest functions under ``grader/checks/<assignment>/test_*.py``::

    from grader.api import check, CheckFailed

    @check(points=2, title="pad_and_mask: zeros after the end", cell="a1_pad_and_mask",
           message="pad_and_mask must zero every sample after the clip's end.")
    def test_pad_zeros_after_end(student, reference, rng):
        ...

    @check(points=5, message="The saved LSTM must reach micro-F1 >= 0.93 on unseen clips.",
           run=True)
    def test_lstm_hidden(student, artifacts):
        ...

A check scores ``points`` when it passes and 0 otherwise (no partial credit; split a
check in two for that). Each parametrised case of a check is a check of its own with
the same points. What the student sees when a check fails:

* on an ``assert`` in the check: the ``message`` only (pytest's assertion
  introspection would show check source and hidden values, so it is never shown);
* on :class:`CheckFailed`: the ``message`` plus the detail passed to it (use it for
  details that help and reveal no hidden input, e.g. ``"got dtype int64"``);
* on an exception raised by the student's code: the ``message``, the exception and
  a traceback trimmed to the frames of the student's own answer cells;
* on ``NotImplementedError`` from an untouched stub: "not implemented".

Fixtures (``grader/checks/conftest.py``): ``student``, ``reference``, ``artifacts``,
``runs``, ``rng``. :func:`load_saved_model` loads a model the notebook saved (for the run
checks and an assignment's ``evaluate.py``).
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, TypeVar

__all__ = ["CheckFailed", "CheckSpec", "CheckTimeout", "ReferenceFiguresMissing", "ReferenceThresholds", "check",
           "load_saved_model", "spec_of"]

F = TypeVar("F", bound=Callable[..., Any])

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
TITLE_MAX = 70
_ATTR = "__grader_check__"


@dataclasses.dataclass(frozen=True)
class CheckSpec:
    """What :func:`check` attached to a test function.

    Attributes
    ----------
    points : float
        Points scored when the check passes.
    message : str
        Student-facing explanation shown when it fails.
    run : bool
        True for a check that needs the executed notebook (``artifacts``/``runs``).
    timeout : float or None
        Seconds this check may take (None: the engine's default, ``--check-timeout``).
    visibility : str
        Gradescope visibility of the result: one of ``VISIBILITIES``.
    title : str
        Short human title shown in the feedback ('' : derived from the function name).
    cell : str or dict
        grade_id of the notebook cell the check is about ('' : none), or ``{case id: grade_id}``
        for a parametrised check; the feedback lists it under that cell's notebook part.
    """

    points: float
    message: str
    run: bool = False
    timeout: float | None = None
    visibility: str = "visible"
    title: str = ""
    cell: str | dict[str, str] = ""


class CheckFailed(AssertionError):
    """Fail a check with a detail the student may read (added after the message).

    Parameters
    ----------
    detail : str
        E.g. ``"the mask has dtype int64"``. Never put hidden inputs here.
    """


class CheckTimeout(Exception):
    """Raised inside a check that ran past its time limit."""


class ReferenceFiguresMissing(RuntimeError):
    """The reference figures the thresholds derive from cannot be read: a grader error, not the student's."""


class ReferenceThresholds:
    """Thresholds derived from a reference-figures file, read once, never replaced by a fallback.

    Parameters
    ----------
    path : Path
        The figures, e.g. ``reference/<assignment>.json`` (the check process may read ``reference/``).
    derive : callable
        ``derive(figures: dict) -> dict[str, float]``: the thresholds from the parsed file.

    Attributes
    ----------
    values : dict or None
        The thresholds; None when the file could not be read or derived from.
    error : str
        Why not (empty when ``values`` is set).
    """

    def __init__(self, path: Any, derive: Callable[[dict], dict[str, float]]):
        import json

        self.path = path
        try:
            self.values: dict[str, float] | None = derive(json.loads(path.read_text()))
            self.error = ""
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.values, self.error = None, f"{type(exc).__name__}: {exc}"

    def __call__(self, name: str) -> float:
        """The threshold ``name``.

        Raises
        ------
        ReferenceFiguresMissing
            When the figures could not be read (a check error the instructor sees, not a lower threshold).
        """
        if self.values is None:
            raise ReferenceFiguresMissing(
                f"the reference figures {self.path} cannot be read ({self.error}); the hidden-split "
                "thresholds derive from them: record them with `make reference` and let the check process read "
                "reference/ (grader/batch.py, check_read)")
        return self.values[name]


def check(*, points: float, message: str, title: str = "", cell: str | Mapping[str, str] = "", run: bool = False,
          timeout: float | None = None, visibility: str = "visible") -> Callable[[F], F]:
    """Declare a pytest test function a graded check.

    Parameters
    ----------
    points : float, keyword-only
        Points for passing; must be > 0.
    message : str, keyword-only
        What the student reads when the check fails: what was expected, never the hidden inputs.
    title : str, keyword-only
        The check's name in the student's feedback, at most ``TITLE_MAX`` characters, e.g.
        ``"pad_and_mask: zeros after the end"`` (a parametrised case gets its id appended).
        Default: the function name without ``test_``, underscores as spaces.
    cell : str or mapping, keyword-only
        grade_id of the master's cell the check is about (the answer cell defining the function
        it tests, or the cell that trains what a run check reads), or for a check parametrised over
        functions of several cells ``{case id: grade_id}``. The feedback groups checks by that
        cell's notebook part, in notebook order; a grade_id the master lacks stops the batch with
        a message naming it. Default: none (listed after the notebook's parts).
    run : bool, keyword-only
        True when the check needs the executed notebook (fixtures ``artifacts``, ``runs``);
        such checks are reported "not run" with ``--answers-only``.
    timeout : float, optional, keyword-only
        Seconds the check may take; default: the engine's per-check timeout (60 s).
    visibility : str, keyword-only
        Gradescope visibility: ``"visible"`` (default), ``"hidden"``, ``"after_due_date"``
        or ``"after_published"``.

    Returns
    -------
    callable
        A decorator that returns the test function unchanged apart from the attached
        :class:`CheckSpec`.

    Raises
    ------
    ValueError
        If ``points`` is not positive, ``message`` is empty, ``title`` is longer than
        ``TITLE_MAX`` or not one line, ``timeout`` is not positive or ``visibility`` is unknown.
    """
    if isinstance(points, bool) or not isinstance(points, (int, float)) or not points > 0:
        raise ValueError(f"check points must be a positive number, got {points!r}; e.g. points=2")
    if not isinstance(message, str) or not message.strip():
        raise ValueError(f"check message must be a non-empty string, got {message!r}; "
                         "say what was expected, e.g. message='pad_and_mask must return float32'")
    if not isinstance(title, str) or len(title) > TITLE_MAX or "\n" in title:
        raise ValueError(f"check title must be one line of at most {TITLE_MAX} characters, got {title!r}; "
                         "e.g. title='pad_and_mask: zeros after the end'")
    cells = cell.values() if isinstance(cell, Mapping) else [cell]
    if not all(isinstance(c, str) and c.strip() for c in cells) and cell != "":
        raise ValueError(f"check cell must be a grade_id string or a {{case id: grade_id}} mapping, got {cell!r}; "
                         "e.g. cell='a1_pad_and_mask'")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"check timeout must be a positive number of seconds, got {timeout!r}")
    if visibility not in VISIBILITIES:
        raise ValueError(f"check visibility must be one of {VISIBILITIES}, got {visibility!r}")
    spec = CheckSpec(points=float(points), message=message.strip(), run=bool(run),
                     timeout=None if timeout is None else float(timeout), visibility=visibility,
                     title=title.strip(),
                     cell=dict(cell) if isinstance(cell, Mapping) else cell.strip())

    def decorate(fn: F) -> F:
        setattr(fn, _ATTR, spec)
        return fn

    return decorate


def spec_of(obj: Any) -> CheckSpec | None:
    """The :class:`CheckSpec` attached to a test function (or a pytest item), or None."""
    fn = getattr(obj, "function", obj)
    return getattr(fn, _ATTR, None)


def load_saved_model(artifacts_dir: str | os.PathLike, name: str, known: Iterable[str]) -> Any:
    """Load the model a notebook saved as ``artifacts_dir/<name>.keras``, for inference.

    Parameters
    ----------
    artifacts_dir : str or path-like
        The executed notebook's ``artifacts/<assignment>`` folder.
    name : str
        The model's name, one of ``known``.
    known : iterable of str
        The names the assignment saves (its evaluate module's table of models).

    Returns
    -------
    keras.Model
        Not compiled (custom metrics and losses are not needed to predict).

    Raises
    ------
    ValueError
        If ``name`` is not in ``known``.
    FileNotFoundError
        If the file is missing; the message names it and says which part of the notebook saves it.
    """
    import keras

    known = sorted(known)
    if name not in known:
        raise ValueError(f"unknown model {name!r}; expected one of {known}")
    path = Path(artifacts_dir) / f"{name}.keras"
    if not path.is_file():
        raise FileNotFoundError(f"{path.name} was not found in {path.parent.parent.name}/{path.parent.name}; "
                                f"the notebook saves it when it trains {name!r} (run the notebook to the end)")
    return keras.models.load_model(path, compile=False)
