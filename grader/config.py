"""The grader's configuration, declared once: every option with its default and help text.

:class:`Options` is the configuration of one batch. Each field carries its command-line flag
and help in its metadata; :func:`add_arguments` generates ``python -m grader grade``'s options
from them and :func:`from_arguments` reads them back, so a default or a help text is written
in exactly one place. :func:`dump` / :func:`load` serialise any of the engine's dataclasses
(options, jobs, limits) to JSON and back, one way for all.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from grader.assignments import CHECKS, SOLUTIONS
from grader.context import REPO
from grader.limits import WALL_FACTOR

__all__ = ["GIB", "Options", "add_arguments", "dump", "from_arguments", "load", "setting"]

T = TypeVar("T")
GIB = 2**30


def setting(default: Any, help: str, *, flag: str | None = None, metavar: str | None = None,
            hidden: bool = False, aliases: tuple[str, ...] = ()) -> Any:
    """A configuration field: its default, its help text and how the command line spells it.

    Parameters
    ----------
    default : any
        The one declared default (a list default is copied per instance).
    help : str
        Help text of the command-line option; ``{default}`` is replaced by the default.
    flag : str, optional
        The option's name (default: ``--`` + the field name with dashes); ``""`` for a positional.
    metavar : str, optional
        Placeholder shown in ``--help``.
    hidden : bool
        Accepted on the command line but not listed in ``--help`` (test and tool plumbing).
    aliases : tuple of str
        Older spellings of the flag, still accepted.
    """
    meta = {"help": help, "flag": flag, "metavar": metavar, "hidden": hidden, "aliases": aliases}
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclasses.dataclass
class Options:
    """The configuration of one grading batch (``python -m grader grade``'s options)."""

    assignment: str = setting("", "e.g. a1_example (master: solutions/<assignment>.ipynb)", flag="")
    submissions: Path = setting(REPO / "examples" / "submitted",
                                "nbgrader submitted/ folder (default: the demo class, examples/submitted)")
    out: Path = setting(REPO / "gradebook", "gradebook folder (default: gradebook)")
    workers: int = setting(1, "submissions graded in parallel (default {default})")
    cluster: str | None = setting(None, "grade on a Dask cluster: a scheduler's address (tcp://host:8786) or "
                                        "local:N (N worker processes on this machine); --workers is then unused",
                                  metavar="ADDRESS")
    timeout: float = setting(1800.0, "CPU seconds per notebook, counted over the kernel and its child "
                                     "processes (default {default:g}): the same at any machine load")
    cell_timeout: float = setting(600.0, "CPU seconds per cell (default {default:g}); the cell is "
                                         "interrupted and the next one runs")
    wall_factor: float = setting(WALL_FACTOR, "wall-clock backstop of every time limit, as a multiple of it, "
                                              "for code that waits without computing (default {default:g})")
    memory_gb: float = setting(6.0, "memory per submission, GiB (default {default:g}); the kernel is killed "
                                    "past it", flag="--memory", metavar="GB")
    disk_gb: float = setting(4.0, "disk per submission, GiB (default {default:g})", flag="--disk", metavar="GB")
    check_timeout: float = setting(60.0, "default CPU seconds per check (default {default:g})")
    all_checks_timeout: float = setting(900.0, "CPU seconds for all the checks of one submission together "
                                               "(default {default:g})", aliases=("--checks-timeout",))
    answers_in_check_process: bool = setting(False, "import the student's answers into the check process, "
                                                    "without the trust boundary (only to measure what the "
                                                    "boundary costs; never to grade)")
    answers_only: bool = setting(False, "do not execute notebooks; run checks are reported as not run")
    rescore: bool = setting(False, "rerun the checks on the cached executions (never executes)")
    students: list[str] = setting([], "comma-separated students to grade (default: all)", metavar="NAMES")
    regrade_status: list[str] = setting([], "comma-separated statuses to grade again although unchanged, "
                                            "e.g. timeout,tampered", metavar="STATUSES")
    solutions: Path = setting(SOLUTIONS, "folder of the master notebooks", hidden=True)
    checks: Path = setting(CHECKS, "folder of the hidden checks", hidden=True)
    student_data: Path | None = setting(None, "student-only data folder the notebooks read (default: made "
                                              "once with source_data.materialise_student)")
    hidden_data: Path | None = setting(None, "full data folder the checks read, hidden split included "
                                             "(default: source_data's)", aliases=("--data-dir",))
    progress: bool = setting(True, "no progress bar", flag="--no-progress")
    seed: int = setting(0, "base seed of the checks' random streams (default {default})", hidden=True)
    hidden_key: str = setting("", "key of the hidden clips' disguise (grader.disguise; default: the gradebook's "
                                  "cache/hidden_key, made once)", hidden=True)

    @property
    def memory(self) -> int:
        """Memory per submission in bytes."""
        return int(self.memory_gb * GIB)

    @property
    def disk(self) -> int:
        """Disk per submission in bytes."""
        return int(self.disk_gb * GIB)


def _base(tp: Any) -> Any:
    """``Path | None`` -> Path, ``list[str]`` -> list."""
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _base(args[0])
    return typing.get_origin(tp) or tp


def _types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def add_arguments(parser: argparse.ArgumentParser, cls: type = Options) -> None:
    """Add one command-line option per field of ``cls`` (a dataclass declared with :func:`setting`)."""
    hints = _types(cls)
    for f in dataclasses.fields(cls):
        meta = f.metadata
        if "help" not in meta:
            continue
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc]
        text = argparse.SUPPRESS if meta["hidden"] else meta["help"].format(default=default)
        base = _base(hints[f.name])
        if meta["flag"] == "":
            parser.add_argument(f.name, help=text)
            continue
        names = [meta["flag"] or "--" + f.name.replace("_", "-"), *meta["aliases"]]
        kw: dict[str, Any] = {"dest": f.name, "help": text}
        if base is bool:
            kw["action"] = "store_false" if default else "store_true"
        else:
            kw.update(default=None, metavar=meta["metavar"], type=str if base is list else base)
        parser.add_argument(*names, **kw)


def from_arguments(args: argparse.Namespace, cls: type[T] = Options) -> T:  # type: ignore[assignment]
    """The ``cls`` instance the parsed ``args`` describe (unset options keep their declared default)."""
    hints = _types(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if "help" not in f.metadata or not hasattr(args, f.name):
            continue
        v = getattr(args, f.name)
        if v is None:
            continue
        if _base(hints[f.name]) is list and isinstance(v, str):
            v = [x for x in v.split(",") if x]
        values[f.name] = v
    return cls(**values)


def _plain(v: Any) -> Any:
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {f.name: _plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


def _typed(tp: Any, v: Any) -> Any:
    if v is None:
        return None
    base = _base(tp)
    if dataclasses.is_dataclass(base):
        hints = _types(base)
        return base(**{k: _typed(hints[k], x) for k, x in v.items()})
    if base is Path:
        return Path(v)
    if base is tuple:
        return tuple(v)
    return v


def dump(obj: Any) -> str:
    """JSON text of a dataclass instance (paths as strings, nested dataclasses as objects)."""
    return json.dumps(_plain(obj), sort_keys=False)


def load(cls: type[T], text: str) -> T:
    """The ``cls`` instance :func:`dump` wrote (paths, tuples and nested dataclasses rebuilt from the types)."""
    return _typed(cls, json.loads(text))
