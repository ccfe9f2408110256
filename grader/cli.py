"""Command line: ``python -m grader grade ASSIGNMENT ...``, ``... mutate ASSIGNMENT`` and ``... logdirs``.

``grade``'s options are generated from :class:`grader.config.Options` (defaults and help declared there).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from grader import config
from grader.batch import grade_assignment
from grader.config import Options
from grader.context import REPO
from grader.errors import GraderError

__all__ = ["logdir_spec", "main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m grader", description="Grade notebook submissions.")
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="grade every submission of an assignment",
                       description="Grade SUBMISSIONS/<student>/<assignment>/<assignment>.ipynb into "
                                   "OUT/<assignment>/ (grades.csv, results/, feedback/, executed/, runs/, logs/).")
    config.add_arguments(g, Options)
    g.add_argument("--json", action="store_true", help="print the summary as JSON")
    _mutate_parser(sub)
    lg = sub.add_parser("logdirs", help="print a TensorBoard --logdir_spec of every graded student's runs")
    lg.add_argument("--gradebook", type=Path, default=REPO / "gradebook")
    lg.add_argument("--own", type=Path, default=REPO / "runs", help="your own runs/ (included when it exists)")
    return p


def _mutate_parser(sub: argparse._SubParsersAction) -> None:
    from grader.mutate_ops import OPERATORS

    m = sub.add_parser("mutate", help="mutation analysis: do the hidden checks catch mutants of the master?",
                       description="Grade answers-only mutants of the master's answer cells and report a "
                                   "mutation score per check file (docs/authoring.md, 'Mutation analysis').")
    m.add_argument("assignment", help="e.g. a2_text_generation")
    m.add_argument("--operators", default=None,
                   help=f"comma-separated operators (default: all): {','.join(OPERATORS)}")
    m.add_argument("--cells", default=None, help="comma-separated answer cells (grade_id) to mutate (default: all)")
    m.add_argument("--limit", type=int, default=None, help="grade a deterministic sample of N mutants")
    m.add_argument("--workers", type=int, default=2, help="mutants graded in parallel (default 2)")
    m.add_argument("--out", type=Path, default=None, help="JSON report (default bench/mutation-<assignment>.json)")
    m.add_argument("--work", type=Path, default=REPO / "gradebook" / "mutants",
                   help="mutant submissions and their gradebook, the cache (default gradebook/mutants)")
    m.add_argument("--check-timeout", type=float, default=Options.check_timeout,
                   help=f"default CPU seconds per check (default {Options.check_timeout:g})")
    m.add_argument("--no-diffs", action="store_true", help="list surviving mutants without their diffs")
    m.add_argument("--no-progress", action="store_true", help="no progress bar")
    m.add_argument("--solutions", type=Path, default=REPO / "solutions", help=argparse.SUPPRESS)
    m.add_argument("--checks", type=Path, default=REPO / "grader" / "checks", help=argparse.SUPPRESS)
    m.add_argument("--data-dir", type=Path, default=None, help=argparse.SUPPRESS)


def _mutate(args: argparse.Namespace) -> int:
    from grader.mutate import format_report, run_mutation

    split = lambda s: [x for x in s.split(",") if x] if s else None  # noqa: E731
    report = run_mutation(args.assignment, operators=split(args.operators), cells=split(args.cells),
                          limit=args.limit, workers=args.workers, work=args.work, out=args.out,
                          solutions=args.solutions, checks=args.checks, hidden_data=args.data_dir,
                          check_timeout=args.check_timeout, progress=not args.no_progress)
    print(format_report(report, diffs=not args.no_diffs))
    print(f"\nreport: {report['report']}")
    return 0


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
        if args.command == "mutate":
            return _mutate(args)
        if args.command == "logdirs":
            print(logdir_spec(args.gradebook, args.own))
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
    if summary.get("reference_failures"):
        print(f"warning: the reference solution fails {len(summary['reference_failures'])} check(s): "
              f"{', '.join(summary['reference_failures'])}; see {summary['gradebook']}/cache/selfcheck.log",
              file=sys.stderr)
    return 0
