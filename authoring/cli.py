"""Command line: ``python -m authoring {reference,bench,demo,mutate,notebooks} ...``.

Each tool module declares its subcommand: ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> exit status``; its docstring is the subcommand's description. A
:class:`grader.errors.GraderError` is printed as ``error: ...`` and ends the command with the
tool's ``ERROR_EXIT`` (default 1).
"""
from __future__ import annotations

import argparse
import importlib
import sys

from grader.errors import GraderError

__all__ = ["TOOLS", "main", "parser"]

#: subcommand -> module
TOOLS = {"reference": "authoring.reference", "bench": "authoring.bench", "demo": "authoring.demo",
         "mutate": "authoring.mutate", "notebooks": "authoring.notebooks", "handout": "authoring.handout"}


def parser() -> argparse.ArgumentParser:
    """The parser of every tool (each subcommand's ``--help`` lists its options)."""
    p = argparse.ArgumentParser(prog="python -m authoring",
                                description="Authoring tools of the course kit (a layer above the grading engine).")
    sub = p.add_subparsers(dest="tool", required=True, metavar="TOOL")
    for name, module_name in TOOLS.items():
        module = importlib.import_module(module_name)
        tool = sub.add_parser(name, help=module.HELP, description=module.__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(tool)
        tool.set_defaults(module=module)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.module.run(args)
    except GraderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return getattr(args.module, "ERROR_EXIT", 1)
