"""``python -m authoring bench``: what grading costs compared with just running the notebooks.

Measured on the demo class (or ``--submissions``), for every assignment that has a master
and checks:

* ``plain_seconds`` — executing every submitted notebook with plain nbclient, one after the
  other (fresh kernel each, errors allowed, the same per-cell timeout), nothing else;
* ``serial_seconds`` / ``parallel_seconds`` — ``python -m grader grade`` into a fresh
  gradebook with 1 and with 2 workers (everything: extraction, sandboxed execution, checks,
  outputs); their ratios to ``plain_seconds`` (goal: serial <= 1.05);
* ``rescore_seconds_per_student`` — ``--rescore`` on the serial gradebook;
* ``reference`` — the master notebook executed once more with nbclient and measured by its
  ``evaluate.reference_figures`` with the options its ``evaluate.REFERENCE_OPTIONS`` declares:
  wall time, per-part seconds and the hidden-split figures of every reference model (the same
  figures ``make reference`` commits, without the optional extras such as the speaker-held-out
  runs).

Results are merged into ``--out`` (default ``bench/results.json``) under ``"grading"``; other
keys in that file (the reference notebooks' timings and figures written by other tools) are
kept. ``--only reference,plain,serial,parallel,rescore,boundary,cluster`` picks measurements
(``boundary``: :func:`boundary_cost`, the checks rescored with and without the student process); ``cluster``
(:mod:`authoring.bench_cluster`: the tiny course graded through Dask, 1 vs 2 local workers,
and the cluster path's overhead per submission) goes under ``"grading"["cluster"]``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from grader.assignments import CHECKS, SOLUTIONS, discover
from grader.batch import grade_assignment
from grader.config import Options
from grader.context import REPO

__all__ = ["add_arguments", "bench_assignment", "boundary_cost", "plain_execution", "run", "time_breakdown"]

HELP = "benchmarks: notebook times, grading overhead, rescoring (JSON in bench/)"


def plain_execution(notebooks: list[Path], *, cell_timeout: float = Options.cell_timeout) -> dict:
    """Execute each notebook with plain nbclient in a temporary folder; seconds in all and per file."""
    import nbformat
    from nbclient import NotebookClient

    per = {}
    t0 = time.monotonic()
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        with tempfile.TemporaryDirectory(prefix="bench-plain-") as tmp:
            t = time.monotonic()
            try:
                NotebookClient(nb, timeout=int(cell_timeout), allow_errors=True, kernel_name="python3",
                               resources={"metadata": {"path": tmp}}).execute()
            except Exception as e:  # noqa: BLE001 - a dying kernel ends plain execution too
                print(f"  plain execution of {path} stopped: {type(e).__name__}", file=sys.stderr)
            per[str(path.relative_to(path.parents[2]))] = round(time.monotonic() - t, 2)
    return {"seconds": round(time.monotonic() - t0, 2), "per_notebook": per}


def reference_run(assignment: str) -> dict:
    """Execute the master once and measure it (see the module docstring).

    The options of its ``evaluate.reference_figures`` are the module's ``REFERENCE_OPTIONS``
    (those that keep the benchmark to one execution per master; none when it declares none).
    """
    from authoring.reference import evaluator, measure

    figures = measure(assignment, None, **getattr(evaluator(assignment), "REFERENCE_OPTIONS", {}))
    keep = ("notebook_execution", "seconds", "cpu_seconds")
    return {**{k: figures.get(k) for k in keep},
            **{k: v for k, v in figures.items() if k.startswith("hidden_") or k.startswith("validation_")}}


def time_breakdown(gradebook: Path, total: float) -> dict:
    """Where a grading run's seconds went, from its records and self-check.

    Returns
    -------
    dict
        ``execution`` (sum of the sandboxed notebook executions that were not cached),
        ``checks`` (sum of the students' check runs), ``self_check`` (the checks on the master,
        which runs beside the first student) and ``other`` (``total`` minus executions and
        checks: start-up, extraction, outputs, waiting for the self-check). Sums over students,
        so with several workers they can exceed ``total``.
    """
    execution = checks = 0.0
    for path in sorted((gradebook / "cache" / "records").glob("*.json")):
        try:
            rec = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        ex = rec.get("execution") or {}
        if not ex.get("cached"):
            execution += float(ex.get("seconds") or 0.0)
        checks += float(rec.get("check_seconds") or 0.0)
    try:
        self_check = float(json.loads((gradebook / "cache" / "selfcheck.json").read_text()).get("seconds", 0.0))
    except (OSError, ValueError):
        self_check = 0.0
    return {"execution": round(execution, 2), "checks": round(checks, 2), "self_check": round(self_check, 2),
            "other": round(total - execution - checks, 2)}


def bench_assignment(assignment: str, submissions: Path, *, only: set[str], workdir: Path,
                     options: dict) -> dict:
    """All measurements of one assignment (see the module docstring)."""
    only_students = options.pop("students", None)
    notebooks = sorted(p for p in submissions.glob(f"*/{assignment}/*.ipynb")
                       if only_students is None or p.parts[-3] in only_students)
    students = len({p.parts[-3] for p in notebooks})
    out: dict = {"students": students, "notebooks": len(notebooks)}
    if "reference" in only:
        print(f"[bench] {assignment}: executing the master and measuring its models", flush=True)
        out["reference"] = reference_run(assignment)
    if "plain" in only:
        print(f"[bench] {assignment}: plain nbclient execution of {len(notebooks)} notebooks", flush=True)
        plain = plain_execution(notebooks, cell_timeout=options.get("cell_timeout", Options.cell_timeout))
        out["plain_seconds"], out["plain_per_notebook"] = plain["seconds"], plain["per_notebook"]
    for label, workers in (("serial", 1), ("parallel", 2)):
        if label not in only:
            continue
        gb = workdir / f"gb-{label}"
        shutil.rmtree(gb, ignore_errors=True)
        print(f"[bench] {assignment}: grading with {workers} worker(s)", flush=True)
        summary = grade_assignment(Options(assignment=assignment, submissions=submissions, out=gb, workers=workers,
                                           progress=False, students=only_students, **options))
        out[f"{label}_seconds"] = summary["seconds"]
        out[f"{label}_statuses"] = summary["statuses"]
        out[f"{label}_breakdown"] = time_breakdown(gb / assignment, summary["seconds"])
        if "plain_seconds" in out and out["plain_seconds"] > 0:
            out[f"{label}_over_plain"] = round(summary["seconds"] / out["plain_seconds"], 3)
    if "rescore" in only and (workdir / "gb-serial" / assignment).is_dir():
        print(f"[bench] {assignment}: rescoring", flush=True)
        summary = grade_assignment(Options(assignment=assignment, submissions=submissions, out=workdir / "gb-serial",
                                           workers=1, rescore=True, progress=False, students=only_students, **options))
        out["rescore_seconds"] = summary["seconds"]
        out["rescore_seconds_per_student"] = round(summary["seconds"] / max(1, students), 2)
        out["rescore_breakdown"] = time_breakdown(workdir / "gb-serial" / assignment, summary["seconds"])
    if "boundary" in only and (workdir / "gb-serial" / assignment).is_dir():
        out.update(boundary_cost(assignment, submissions, workdir / "gb-serial", students=students,
                                 only_students=only_students, serial_seconds=out.get("serial_seconds"),
                                 options=options))
    return out


def boundary_cost(assignment: str, submissions: Path, gradebook: Path, *, students: int,
                  only_students: list[str] | None, serial_seconds: float | None, options: dict) -> dict:
    """What the trust boundary costs: the checks rescored with the student's answers in a student
    process (the engine's way) and imported into the check process (``--answers-in-check-process``).

    Returns
    -------
    dict
        ``rescore_boundary_seconds_per_student``, ``rescore_in_check_process_seconds_per_student``,
        ``boundary_seconds_per_student`` (the difference) and, with ``serial_seconds``,
        ``boundary_over_serial`` (the difference for the whole class over the serial grading time).
    """
    out: dict = {}
    for label, in_process in (("in_check_process", True), ("boundary", False)):
        print(f"[bench] {assignment}: rescoring, answers {label.replace('_', ' ')}", flush=True)
        summary = grade_assignment(Options(assignment=assignment, submissions=submissions, out=gradebook, workers=1,
                                           rescore=True, progress=False, students=only_students,
                                           answers_in_check_process=in_process, **options))
        out[f"rescore_{label}_seconds_per_student"] = round(summary["seconds"] / max(1, students), 2)
        out[f"rescore_{label}_statuses"] = summary["statuses"]
    extra = round(out["rescore_boundary_seconds_per_student"] - out["rescore_in_check_process_seconds_per_student"], 2)
    out["boundary_seconds_per_student"] = extra
    if serial_seconds:
        out["boundary_over_serial"] = round(extra * students / serial_seconds, 3)
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    """``python -m authoring bench``'s options."""
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results.json")
    p.add_argument("--submissions", type=Path, default=REPO / "examples" / "submitted")
    p.add_argument("--assignments", default=None, help="comma-separated (default: every master with checks)")
    p.add_argument("--only", default="reference,plain,serial,parallel,rescore,boundary,cluster")
    p.add_argument("--cluster-students", type=int, default=40, help="class size of the cluster measurement")
    p.add_argument("--students", default=None,
                   help="comma-separated students (default: all; the whole demo class takes hours on 2 cores)")
    p.add_argument("--solutions", type=Path, default=SOLUTIONS, help=argparse.SUPPRESS)
    p.add_argument("--checks", type=Path, default=CHECKS, help=argparse.SUPPRESS)
    p.add_argument("--student-data", type=Path, default=None, help=argparse.SUPPRESS)
    p.add_argument("--data-dir", type=Path, default=None, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    """Measure the assignments named (default: every master with checks) and merge into ``--out``."""
    names = args.assignments.split(",") if args.assignments else discover(args.solutions, args.checks)
    options = {"solutions": args.solutions, "checks": args.checks, "student_data": args.student_data,
               "hidden_data": args.data_dir}
    students = args.students.split(",") if args.students else None
    only = set(args.only.split(","))
    results = {"machine": {"platform": platform.platform(), "python": platform.python_version(),
                           "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
                           "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None},
               "when": time.strftime("%Y-%m-%d %H:%M:%S"), "assignments": {}}
    with tempfile.TemporaryDirectory(prefix="grader-bench-") as tmp:
        for a in names:
            if only & {"reference", "plain", "serial", "parallel", "rescore"}:
                results["assignments"][a] = bench_assignment(a, args.submissions, only=only, workdir=Path(tmp) / a,
                                                             options={**options, "students": students})
        if "cluster" in only:
            from authoring.bench_cluster import bench_cluster

            results["cluster"] = bench_cluster(Path(tmp) / "cluster", n=args.cluster_students)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    try:
        doc = json.loads(args.out.read_text())
    except (OSError, ValueError):
        doc = {}
    old = doc.get("grading") or {}
    if not results["assignments"]:  # only the cluster was measured: keep the assignments' figures
        results["assignments"] = old.get("assignments", {})
    if "cluster" not in results and "cluster" in old:
        results["cluster"] = old["cluster"]
    doc["grading"] = results
    args.out.write_text(json.dumps(doc, indent=1))
    print(json.dumps(results, indent=1))
    return 0
