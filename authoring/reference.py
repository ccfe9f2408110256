"""Reference figures: execute a master notebook and record what it reaches (``make reference``).

Each assignment's ``grader/checks/<assignment>/evaluate.py`` defines
``reference_figures(master, **options) -> dict`` (its own measurements: hidden-split scores,
validation figures, timings), where ``master`` is a :class:`MasterRun`: the master's answers
module, the folder it was executed in and how that execution went. This module holds what the
assignments share: building the master's answers module, executing the master with nbclient,
the environment stamp and the command line::

    python -m authoring reference                     # every assignment -> reference/<assignment>.json
    python -m authoring reference a1_spoken_digits --executed DIR   # reuse a folder where it ran
    python -m authoring reference a2_text_generation --no-baseline --out F.json

``--spread-seeds N ...`` re-runs the master with other seeds for an ``evaluate.py`` whose
``reference_figures`` takes ``spread_seeds`` (the run-to-run spread its margins are set from).
An ``evaluate.py`` may add options of its own: ``reference_arguments(group)`` adds them to the
command line (an argument group named after the assignment) and ``reference_options(args)``
turns the parsed arguments into keyword arguments of its ``reference_figures``.

The run checks read ``reference/<assignment>.json`` to set their thresholds, so a threshold is
always derived from the same measurement the checks perform.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from grader.assignments import REFERENCE, SOLUTIONS, discover
from grader.context import REPO, short_name
from grader.errors import GraderError

__all__ = ["MasterRun", "add_arguments", "environment", "evaluator", "execute_master", "measure", "record",
           "reference_json", "reference_module", "run"]

HELP = "execute the masters and record their reference figures (reference/<assignment>.json)"


def reference_json(assignment: str) -> Path:
    """Path of the committed reference figures of ``assignment``."""
    return REFERENCE / f"{assignment}.json"


@dataclasses.dataclass(frozen=True)
class MasterRun:
    """What an assignment's ``reference_figures`` measures: the master, executed.

    Attributes
    ----------
    assignment : str
        The assignment's name.
    module : ModuleType
        The master's answers module (:func:`reference_module`).
    executed : Path
        The folder the master ran in (its working directory, holding ``artifacts/``).
    execution : dict or None
        What :func:`execute_master` returned when the master ran now; None for a folder where it
        ran before (``--executed``).
    environment : dict
        :func:`environment`.
    """

    assignment: str
    module: ModuleType
    executed: Path
    execution: dict[str, Any] | None
    environment: dict[str, Any]

    def rerun(self, seed: int) -> tuple[Path, dict[str, Any]]:
        """Execute the master once more with ``SEED = seed``, in a new temporary folder.

        Returns
        -------
        tuple
            ``(folder, execution)``: where it ran and what :func:`execute_master` returned.
        """
        workdir = Path(tempfile.mkdtemp(prefix=f"{short_name(self.assignment)}-seed{seed}-"))
        return workdir, execute_master(self.assignment, workdir, seed=seed)

    def run_figures(self, metrics: dict[str, Any]) -> dict[str, Any]:
        """How the run went, for every assignment's figures alike.

        Parameters
        ----------
        metrics : dict
            The master's ``metrics.json`` (written by its save cell).

        Returns
        -------
        dict
            ``seconds`` (per part, required), ``cpu_seconds``, ``peak_memory_mib`` and
            ``load_average_at_end`` (None where the notebook does not record them),
            ``notebook_execution`` (``execution``, or None) and ``environment``.
        """
        return {"seconds": metrics["seconds"], "cpu_seconds": metrics.get("cpu_seconds"),
                "peak_memory_mib": metrics.get("peak_memory_mib"), "load_average_at_end": metrics.get("load_average"),
                "notebook_execution": self.execution or None, "environment": self.environment}


def reference_module(assignment: str) -> ModuleType:
    """The master's answers module (``api`` cells + answer cells of ``solutions/<assignment>.ipynb``).

    Raises
    ------
    GraderError
        If the master's answer cells do not import.
    """
    from grader.context import CheckContext

    loaded = CheckContext({}).reference(assignment)
    if loaded.errors:
        raise GraderError(f"the master's answer cells of {assignment} failed to import: {loaded.errors}; "
                          f"fix solutions/{assignment}.ipynb")
    return loaded.module


def execute_master(assignment: str, workdir: str | os.PathLike, *, timeout: float = 1200.0,
                   seed: int | None = None, solutions: Path = SOLUTIONS) -> dict[str, Any]:
    """Execute ``solutions/<assignment>.ipynb`` with nbclient in ``workdir``.

    Parameters
    ----------
    assignment : str
        Master notebook name.
    workdir : path-like
        Working directory of the kernel (receives ``artifacts/`` and ``runs/``) and of the
        executed copy ``<assignment>.executed.ipynb``.
    timeout : float, keyword-only
        Per-cell timeout in seconds.
    seed : int, optional, keyword-only
        Replace the notebook's ``SEED = 0`` line (to measure the run-to-run spread of a recipe).
    solutions : Path, keyword-only
        Folder of the master notebooks.

    Returns
    -------
    dict
        ``{"wall_seconds", "load_average_before", "load_average_after", "cell_cpu_seconds"}``;
        ``cell_cpu_seconds`` maps each code cell's ``grade_id`` to the CPU seconds its kernel tree
        used (the grader quotes them to a student whose cell passes its CPU limit).

    Raises
    ------
    nbclient.exceptions.CellExecutionError
        If a cell fails (a master must run clean).
    GraderError
        If ``seed`` is given but the master has no single ``SEED = 0`` line.
    """
    import nbformat
    from nbclient import NotebookClient

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    nb = nbformat.read(Path(solutions) / f"{assignment}.ipynb", as_version=4)
    if seed is not None:
        setup = [c for c in nb.cells if "\nSEED = 0" in c.source]
        if len(setup) != 1:
            raise GraderError(f"{assignment}: no single cell sets 'SEED = 0'; cannot re-seed the master")
        setup[0].source = setup[0].source.replace("\nSEED = 0", f"\nSEED = {int(seed)}")
    from grader.watchdog import Watchdog

    class TimedClient(NotebookClient):
        """Records the CPU seconds of the kernel's process tree per cell."""

        cell_cpu: dict[str, float] = {}
        dog: Watchdog | None = None

        async def async_execute_cell(self, cell: Any, cell_index: int, *args: Any, **kwargs: Any) -> Any:
            if self.dog is None:  # one sampler for the whole run: children that exit are still counted
                self.dog = Watchdog(memory=None, seconds=None).watch(self.km.provisioner.process.pid)
            cpu0 = self.dog.cpu.sample()
            try:
                return await super().async_execute_cell(cell, cell_index, *args, **kwargs)
            finally:
                gid = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")
                if gid and cell.cell_type == "code":
                    self.cell_cpu[gid] = round(self.dog.cpu.sample() - cpu0, 2)

    before, start = os.getloadavg(), time.perf_counter()
    client = TimedClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(workdir)}})
    client.cell_cpu = {}
    try:
        client.execute()
    finally:
        if client.dog is not None:
            client.dog.stop()
    wall = time.perf_counter() - start
    nbformat.write(nb, Path(workdir) / f"{assignment}.executed.ipynb")
    return {"wall_seconds": round(wall, 1), "load_average_before": [round(x, 2) for x in before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()], "cell_cpu_seconds": client.cell_cpu}


def environment() -> dict[str, Any]:
    """Versions and machine the figures were measured with."""
    import keras
    import librosa
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "librosa": librosa.__version__, "cpus": os.cpu_count(), "machine": platform.machine()}


def evaluator(assignment: str) -> ModuleType:
    """The module ``grader.checks.<assignment>.evaluate`` (raises GraderError when there is none)."""
    try:
        return importlib.import_module(f"grader.checks.{assignment}.evaluate")
    except ModuleNotFoundError as exc:
        raise GraderError(f"no grader/checks/{assignment}/evaluate.py; choose one of "
                          f"{', '.join(discover()) or 'none'}") from exc


def measure(assignment: str, executed: str | os.PathLike | None = None, **options: Any) -> dict[str, Any]:
    """The reference figures of ``assignment``, measured by its ``evaluate.reference_figures``.

    Parameters
    ----------
    assignment : str
        Assignment name.
    executed : path-like, optional
        A folder where the master already ran (holding ``artifacts/``); None executes it now in a
        temporary folder.
    **options
        Keyword arguments of its ``reference_figures``.
    """
    figures_of = evaluator(assignment).reference_figures
    module = reference_module(assignment)
    execution = None
    if executed is None:
        executed = tempfile.mkdtemp(prefix=f"{short_name(assignment)}-executed-")
        execution = execute_master(assignment, executed)
    master = MasterRun(assignment=assignment, module=module, executed=Path(executed), execution=execution,
                       environment=environment())
    figures = figures_of(master, **options)
    figures.setdefault("environment", master.environment)
    return figures


def record(assignment: str, executed: str | os.PathLike | None = None, out: Path | None = None,
           **options: Any) -> dict[str, Any]:
    """Measure the reference figures of ``assignment`` (:func:`measure`) and write them as JSON.

    Parameters
    ----------
    assignment : str
        Assignment name.
    executed : path-like, optional
        A folder where the master already ran (holding ``artifacts/``); None executes it now.
    out : Path, optional
        Output file (default ``reference/<assignment>.json``).
    **options
        Keyword arguments of its ``evaluate.reference_figures``.

    Returns
    -------
    dict
        The figures written.
    """
    figures = measure(assignment, executed, **options)
    out = out or reference_json(assignment)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out)
    return figures


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``python -m authoring reference``'s options, each assignment's own included."""
    parser.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                        help="default: every assignment (a master with a check folder)")
    parser.add_argument("--executed", type=Path, default=None,
                        help="folder where the master was executed (its working directory, holding artifacts/); "
                             "default: execute it now in a temporary folder (one assignment only)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output file (default reference/<assignment>.json; one assignment only)")
    parser.add_argument("--spread-seeds", type=int, nargs="*", default=[], metavar="SEED",
                        help="also re-run the master with these seeds and record the run-to-run spread of its "
                             "hidden figures (assignments whose reference_figures take spread_seeds)")
    for name in discover():
        ev = evaluator(name)
        if hasattr(ev, "reference_arguments"):
            ev.reference_arguments(parser.add_argument_group(f"{name} options"))


def run(args: argparse.Namespace) -> int:
    """Record the figures of the assignments named (default: all)."""
    names = args.assignments or discover()
    if (args.executed is not None or args.out is not None) and len(names) != 1:
        raise GraderError("--executed and --out apply to one assignment; name it, e.g. "
                          f"`python -m authoring reference {names[0] if names else 'ASSIGNMENT'} --executed DIR`")
    if args.executed is not None and not any(args.executed.glob("artifacts/*/metrics.json")):
        raise GraderError(f"--executed {args.executed}: no artifacts/*/metrics.json there; pass the folder the "
                          "notebook ran in")
    for assignment in names:
        start = time.perf_counter()
        ev = evaluator(assignment)
        options = ev.reference_options(args) if hasattr(ev, "reference_options") else {}
        if args.spread_seeds:
            if "spread_seeds" not in inspect.signature(ev.reference_figures).parameters:
                raise GraderError(f"--spread-seeds: {assignment}'s reference_figures does not measure a seed spread")
            options["spread_seeds"] = tuple(args.spread_seeds)
        out = args.out or reference_json(assignment)
        record(assignment, args.executed, out, **options)
        shown = out.resolve().relative_to(REPO) if out.resolve().is_relative_to(REPO) else out
        print(f"{assignment}: wrote {shown} in {time.perf_counter() - start:.0f} s")
    return 0
