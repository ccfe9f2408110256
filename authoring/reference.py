"""Reference figures: execute a master notebook and record what it reaches (``make reference``).

Each assignment's ``grader/checks/<assignment>/evaluate.py`` defines
``reference_figures(executed, **options) -> dict`` (its own measurements: hidden-split scores,
validation figures, timings); this module holds what they share: building the master's answers
module, executing the master with nbclient, the environment stamp and the command line::

    python -m grader.reference                        # every assignment -> reference/<assignment>.json
    python -m grader.reference a1_spoken_digits --executed DIR   # reuse a folder where it ran

The run checks read ``reference/<assignment>.json`` to set their thresholds, so a threshold is
always derived from the same measurement the checks perform.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterable

from grader.errors import GraderError

REPO = Path(__file__).resolve().parent.parent
REFERENCE_DIR = REPO / "reference"
ASSIGNMENTS = ("a1_spoken_digits", "a2_text_generation")


def reference_json(assignment: str) -> Path:
    """Path of the committed reference figures of ``assignment``."""
    return REFERENCE_DIR / f"{assignment}.json"


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
                   seed: int | None = None) -> dict[str, Any]:
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
    nb = nbformat.read(REPO / "solutions" / f"{assignment}.ipynb", as_version=4)
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
        raise GraderError(f"no grader/checks/{assignment}/evaluate.py; choose one of {ASSIGNMENTS}") from exc


def record(assignment: str, executed: str | os.PathLike | None = None, out: Path | None = None,
           **options: Any) -> dict[str, Any]:
    """Measure the reference figures of ``assignment`` and write them as JSON.

    Parameters
    ----------
    assignment : str
        Assignment name; its ``evaluate.reference_figures(executed, **options)`` does the measuring.
    executed : path-like, optional
        A folder where the master already ran (holding ``artifacts/``); None executes it now.
    out : Path, optional
        Output file (default ``reference/<assignment>.json``).

    Returns
    -------
    dict
        The figures written.
    """
    figures = evaluator(assignment).reference_figures(executed, **options)
    figures.setdefault("environment", environment())
    out = out or reference_json(assignment)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out)
    return figures


def cli(assignment: str, argv: list[str] | None = None, *,
        add_options: Callable[[argparse.ArgumentParser], None] | None = None,
        options: Callable[[argparse.Namespace], dict[str, Any]] = lambda args: {}) -> int:
    """Command line of one assignment's ``evaluate`` module (``--executed``, ``--out`` + its own options)."""
    parser = argparse.ArgumentParser(prog=f"python -m grader.checks.{assignment}.evaluate",
                                     description=f"Write the reference figures of {assignment} as JSON.")
    parser.add_argument("--executed", type=Path, default=None,
                        help=f"folder where solutions/{assignment}.ipynb was executed (its working directory, "
                             "holding artifacts/); default: execute it now in a temporary folder")
    parser.add_argument("--out", type=Path, default=reference_json(assignment))
    if add_options:
        add_options(parser)
    args = parser.parse_args(argv)
    if args.executed is not None and not any(args.executed.glob("artifacts/*/metrics.json")):
        parser.error(f"--executed {args.executed}: no artifacts/*/metrics.json there; pass the folder the "
                     "notebook ran in")
    figures = record(assignment, args.executed, args.out, **options(args))
    print(json.dumps(figures, indent=2))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.reference", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignments", nargs="*", default=list(ASSIGNMENTS))
    args = parser.parse_args(argv)
    try:
        for assignment in args.assignments:
            start = time.perf_counter()
            record(assignment)
            print(f"{assignment}: wrote {reference_json(assignment).relative_to(REPO)} "
                  f"in {time.perf_counter() - start:.0f} s")
    except GraderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
