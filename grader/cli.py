"""Command line: ``python -m grader grade ASSIGNMENT ...``, ``... collect``, ``... gradescope`` and ``... logdirs``.

The authoring tools (reference figures, the demo class, benchmarks, mutation analysis, the
student notebooks) are a layer above the engine: ``python -m authoring``.

``grade``'s options are generated from :class:`grader.config.Options` (defaults and help declared there).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from grader import config
from grader.batch import grade_assignment
from grader.collect import FORMATS, collect
from grader.config import Options
from grader.context import REPO
from grader.errors import GraderError
from grader.gradescope import build_package

__all__ = ["logdir_spec", "main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m grader", description="Grade notebook submissions.")
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="grade every submission of an assignment",
                       description="Grade SUBMISSIONS/<student>/<assignment>/<assignment>.ipynb into "
                                   "OUT/<assignment>/ (grades.csv, results/, feedback/, executed/, runs/, logs/).")
    config.add_arguments(g, Options)
    g.add_argument("--json", action="store_true", help="print the summary as JSON")
    c = sub.add_parser("collect", help="lay out Canvas, Moodle or nbgrader submissions for grading",
                       description="Write each student's notebook of ASSIGNMENT from SOURCE (a Canvas zip, a "
                                   "Moodle folder, an nbgrader inbound/ or submitted/ folder) to "
                                   "TO/<student>/<assignment>/<assignment>.ipynb, and what was not collected "
                                   "(and why) to TO/COLLECT_REPORT.json. Exit status 1 when nothing was collected.")
    c.add_argument("assignment")
    c.add_argument("--from", dest="source", type=Path, required=True, metavar="SOURCE",
                   help="the zip or folder the platform gave you")
    c.add_argument("--to", dest="dest", type=Path, required=True, metavar="TO", help="the submitted/ folder to fill")
    c.add_argument("--roster", type=Path, help="CSV mapping the platform's id (column ID, id, user_id, canvas_id or "
                   "participant_id) to the student id (student, SIS Login ID, login, username or email)")
    c.add_argument("--format", dest="fmt", choices=FORMATS, help="the source's layout (default: guessed)")
    lg = sub.add_parser("logdirs", help="print a TensorBoard --logdir_spec of every graded student's runs")
    lg.add_argument("--gradebook", type=Path, default=REPO / "gradebook")
    lg.add_argument("--own", type=Path, default=REPO / "assignments" / "runs",
                    help="your own runs (default: assignments/runs, where the notebooks write them; included when it exists)")
    gs = sub.add_parser("gradescope", help="write a Gradescope autograder (autograder.zip) of an assignment",
                        description="Write OUT/autograder.zip: setup.sh, run_autograder and the kit files that "
                                    "grade ASSIGNMENT with this engine on Gradescope.")
    gs.add_argument("assignment", help="e.g. a1_example (master: solutions/<assignment>.ipynb)")
    gs.add_argument("--out", type=Path, help="folder of the zip (default: gradescope/<assignment>)")
    gs.add_argument("--visibility", default="after_published",
                    help="Gradescope visibility of each check's result (visible, after_due_date, after_published, "
                         "hidden; default after_published); the score and status stay visible")
    return p


def logdir_spec(gradebook: Path, own: Path | None = None) -> str:
    """``name:path,...`` for TensorBoard: ``<assignment>/<student>`` for each graded student's runs.

    Your own ``runs/`` comes first as ``mine`` when it exists. Never empty (falls back to
    ``mine:<own>``), since TensorBoard refuses an empty spec.
    """
    parts = []
    if own is not None and own.is_dir():
        parts.append(f"mine:{own.resolve()}")
    if gradebook.is_dir():
        for runs in sorted(gradebook.glob("*/runs")):
            for student in sorted(p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")):
                name = f"{runs.parent.name}/{student.name}".replace(",", "_").replace(":", "_")
                parts.append(f"{name}:{student.resolve()}")
    if not parts:
        parts.append(f"mine:{(own or Path('runs')).resolve()}")
    return ",".join(parts)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "logdirs":
            print(logdir_spec(args.gradebook, args.own))
            return 0
        if args.command == "collect":
            report = collect(args.assignment, args.source, args.dest, roster=args.roster, fmt=args.fmt)
            print(report.summary())
            return 0 if report.collected else 1
        if args.command == "gradescope":
            zipped = build_package(args.assignment, args.out or REPO / "gradescope" / args.assignment,
                                   visibility=args.visibility)
            print(f"{zipped} ({zipped.stat().st_size:,} bytes): upload it as the autograder of {args.assignment}")
            return 0
        opts = config.from_arguments(args, Options)
        summary = grade_assignment(opts)
    except GraderError as e:
        print(f"grader: error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summary))
    else:
        st = ", ".join(f"{n} {s}" for s, n in sorted(summary["statuses"].items()))
        print(f"{args.assignment}: {summary['students']} student(s) ({summary['graded']} graded now, "
              f"{summary['skipped']} unchanged) in {summary['seconds']:.0f} s: {st}")
        print(f"gradebook: {summary['gradebook']}/grades.csv (feedback/, results/, executed/, logs/)")
        if summary.get("cluster", {}).get("workers"):
            c = summary["cluster"]
            print(f"cluster {c['address']}: {len(c['workers'])} worker(s) seen: {', '.join(c['workers'])}")
    if summary.get("reference_failures"):
        print(f"warning: the reference solution fails {len(summary['reference_failures'])} check(s): "
              f"{', '.join(summary['reference_failures'])}; see {summary['gradebook']}/cache/selfcheck.log",
              file=sys.stderr)
    return 0
