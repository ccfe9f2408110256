"""``python -m authoring bench --only cluster``: what grading through Dask costs and gains.

The tiny fixture course (``tests/fixtures/course``, assignment ``t1_tiny``) with a class of
``n`` students, each a copy of the master with its own comment (distinct submissions: nothing
comes from the execution cache), is graded into fresh gradebooks

* on the local path with 1 worker (``local_1_seconds``),
* through ``--cluster local:1`` and ``--cluster local:2`` (``cluster_1_seconds``,
  ``cluster_2_seconds``; each includes starting the LocalCluster),

giving the **scaling ratio** ``cluster_1 / cluster_2`` (goal ≥ 1.8 on 2 cores) and the
**per-task overhead** of the cluster path, ``(cluster_1 − local_1) / n`` seconds per
submission (goal ≤ 0.5 s). Starting a LocalCluster of 1 and of 2 workers is timed on its
own (``start_1_seconds``, ``start_2_seconds``: worker processes importing the kit on the
same cores), and ``scaling_after_start`` is the ratio without it. The three gradebooks' ``grades.csv`` must be identical
(``same_grades``).
"""
from __future__ import annotations

import copy
import os
import time
from pathlib import Path

import nbformat

from grader.batch import grade_assignment
from grader.cluster import connect
from grader.config import Options
from grader.context import REPO
from grader.notebook import cells_of
from grader.pool import Worker

__all__ = ["FIXTURE", "bench_cluster", "write_class"]

FIXTURE = REPO / "tests" / "fixtures" / "course"
ASSIGNMENT = "t1_tiny"


def write_class(root: Path, n: int) -> Path:
    """``root/student-NN/t1_tiny/t1_tiny.ipynb``: ``n`` distinct copies of the tiny master."""
    master = nbformat.read(FIXTURE / "solutions" / f"{ASSIGNMENT}.ipynb", as_version=4)
    answer = next(c.index for c in cells_of(master) if c.role == "answer")
    for i in range(n):
        nb = copy.deepcopy(master)
        nb.cells[answer].source += f"\n# student {i:02d}\n"
        path = root / f"student-{i:02d}" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(path))
    return root


def bench_cluster(workdir: Path, *, n: int = 40) -> dict:
    """The measurements of the module docstring, for a class of ``n``; ``workdir`` is scratch."""
    subs = write_class(workdir / "submitted", n)
    base = dict(assignment=ASSIGNMENT, submissions=subs, solutions=FIXTURE / "solutions", checks=FIXTURE / "checks",
                student_data=FIXTURE / "data" / "student", hidden_data=FIXTURE / "data" / "hidden", progress=False)
    out: dict = {"course": "tests/fixtures/course (t1_tiny)", "students": n,
                 "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()}
    tables = []
    for label, extra in (("local_1", {"workers": 1}), ("cluster_1", {"cluster": "local:1"}),
                         ("cluster_2", {"cluster": "local:2"})):
        print(f"[bench] cluster: {n} tiny submissions, {label}", flush=True)
        gb = workdir / f"gb-{label}"
        t0 = time.monotonic()
        summary = grade_assignment(Options(out=gb, **base, **extra))
        out[f"{label}_seconds"] = round(time.monotonic() - t0, 2)
        out[f"{label}_statuses"] = summary["statuses"]
        tables.append((gb / ASSIGNMENT / "grades.csv").read_bytes())
    for workers in (1, 2):
        t0 = time.monotonic()
        with connect(f"local:{workers}") as (client, _):
            client.wait_for_workers(workers)  # type: ignore[attr-defined]
            client.run(Worker.warm_up)  # type: ignore[attr-defined]  # (the fork server a first task starts)
        out[f"start_{workers}_seconds"] = round(time.monotonic() - t0, 2)
    out["same_grades"] = all(t == tables[0] for t in tables)
    out["scaling_1_to_2"] = round(out["cluster_1_seconds"] / out["cluster_2_seconds"], 3)
    out["scaling_after_start"] = round((out["cluster_1_seconds"] - out["start_1_seconds"])
                                       / (out["cluster_2_seconds"] - out["start_2_seconds"]), 3)
    out["overhead_seconds_per_submission"] = round((out["cluster_1_seconds"] - out["local_1_seconds"]) / n, 3)
    out["goals"] = {"scaling_1_to_2": ">= 1.8", "overhead_seconds_per_submission": "<= 0.5"}
    return out
