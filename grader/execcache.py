"""Executing a submission once: the execution cache, keyed by the submission's hash.

``gradebook/<a>/cache/executions/<sha>/`` holds what an execution produced (``executed.ipynb``,
``artifacts/``, ``runs/``, ``execution.json``). It is reused while the execution version
(:mod:`grader.versioning`) is the same, so rescoring and regrading after a check change do not
run the notebook again. A new execution is staged in a temporary folder and renamed into place.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path
from typing import IO, Any, Callable

import nbformat

from grader.execute import ExecutionResult, execute_notebook, prepare_workdir
from grader.extract import execution_notebook
from grader.gradebook import copy_tree_safely
from grader.job import Job, kernel_policy, limits_of, reference_needs
from grader.watchdog import sweep_detached

__all__ = ["execution_for", "reusable"]


def reusable(target: Path, execution_version: str, rescore: bool) -> dict | None:
    """The summary of the execution stored in ``target`` if it may be reused, else None.

    It may when it was made with ``execution_version``, or always when ``rescore`` (rescoring
    never executes).
    """
    meta = target / "execution.json"
    if not meta.is_file():
        return None
    info = json.loads(meta.read_text())
    return info if rescore or info.get("exec_version") == execution_version else None


def _cached(job: Job, target: Path, log: Callable[[str], None]) -> dict | None:
    info = reusable(target, job.versions.execution, job.options.rescore)
    if info is not None:
        log(f"using the cached execution {target.name[:12]} ({info['status']})")
        info["cached"] = True
    return info


def execution_for(job: Job, sha: str, master: Any, nb: Any, tmp: Path, log: Callable[[str], None],
                  lf: IO[str]) -> tuple[Path | None, dict | None]:
    """The executed-notebook folder of this submission (cached or fresh) and its summary.

    Parameters
    ----------
    job : Job
    sha : str
        The submission file's digest (the cache key).
    master, nb : nbformat.NotebookNode
        The master and the submitted notebook (:func:`grader.extract.execution_notebook` runs
        the submission's answer cells inside the master's other cells).
    tmp : Path
        A private temporary folder (the kernel's working folder is made inside).
    log : callable
        Writes one line to the instructor's log.
    lf : file
        The instructor's log, which also receives the kernel's output.

    Returns
    -------
    folder : Path or None
        None when nothing was executed (answers-only, or rescoring without a cached execution).
    summary : dict or None
        The :class:`~grader.execute.ExecutionResult` as JSON, with ``cached``.
    """
    if job.options.answers_only:
        return None, None
    gb = job.gradebook
    target = gb.execution_dir(sha)
    info = _cached(job, target, log)
    if info is not None:
        return target, info
    if job.options.rescore:
        log("no cached execution: run checks are not run (grade without --rescore to execute)")
        return None, {"status": "not_executed", "reason": "no cached execution (rescoring only)",
                      "failed_cells": [], "cached": False}
    work = tmp / "w"
    work.mkdir()
    prepare_workdir(work, numba_cache=gb.root / "cache" / "numba")
    limits = limits_of(job.options, job.threads, job.cpus)
    to_run = execution_notebook(master, nb)
    log(f"executing the notebook ({len(to_run.cells)} cells)")
    lf.write("--- kernel output\n")
    lf.flush()
    student = str(job.options.student_data) if job.options.student_data else None
    result: ExecutionResult = execute_notebook(to_run, work, policy=kernel_policy(job, work, limits), limits=limits,
                                               student_data=student, kernel_log=lf,
                                               needs=reference_needs(job.assignment))
    left = sweep_detached()
    if left:
        result.anomalies.append(f"processes detached from the notebook were left behind and killed: {left}")
    log(f"execution: {result.status} {result.reason} in {result.seconds:.1f} s, peak "
        f"{result.peak_rss / 2**20:.0f} MiB; failed cells: {result.failed_cells}")
    info = dataclasses.asdict(result)
    info.update(exec_version=job.versions.execution, submission_sha=sha)
    _store(gb.dir("cache/executions"), target, work, to_run, info, limits.disk)
    info["cached"] = False
    return target, info


def _version_of(folder: Path) -> str | None:
    try:
        return json.loads((folder / "execution.json").read_text()).get("exec_version")
    except (OSError, ValueError):
        return None


def _store(executions: Path, target: Path, work: Path, executed: Any, info: dict, max_bytes: int) -> None:
    """Stage the execution's outputs beside ``target`` and rename them into place."""
    stage = executions / f".tmp-{target.name[:16]}-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    for sub in ("artifacts", "runs"):
        copy_tree_safely(work / sub, stage / sub, max_bytes=max_bytes)
    nbformat.write(executed, str(stage / "executed.ipynb"))
    (stage / "execution.json").write_text(json.dumps(info, indent=1))
    if target.exists():
        if _version_of(target) == info.get("exec_version"):
            # another worker executed the same submission (two students' identical files) and
            # its checks may be reading it now: keep that one, never pull it from under them
            shutil.rmtree(stage, ignore_errors=True)
            return
        shutil.rmtree(target, ignore_errors=True)  # a stale execution of an older kit
    try:
        os.rename(stage, target)
    except OSError:  # another worker stored the same submission first
        shutil.rmtree(stage, ignore_errors=True)
