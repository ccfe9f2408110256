"""Does ``python -m authoring`` wire each tool, and does every assignment declare what the tools need?

Fast: nothing is executed (the reference tool's measurement is replaced by a stand-in).
"""
from __future__ import annotations

import inspect
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from authoring import cli, reference
from grader.assignments import discover


def test_does_the_cli_offer_every_tool():
    sub = next(a for a in cli.parser()._actions if a.dest == "tool")
    assert set(sub.choices) == {"reference", "bench", "demo", "mutate", "notebooks", "handout"}


@pytest.mark.parametrize("name", discover())
def test_does_each_assignment_declare_its_reference_options(name):
    """REFERENCE_OPTIONS (make bench) and the command-line options are keywords of its reference_figures."""
    ev = reference.evaluator(name)
    keywords = {p.name for p in inspect.signature(ev.reference_figures).parameters.values()
                if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert set(ev.REFERENCE_OPTIONS) <= keywords
    args = cli.parser().parse_args(["reference", name])
    if hasattr(ev, "reference_options"):  # optional: an assignment with no options of its own has none
        assert set(ev.reference_options(args)) <= keywords
    if args.spread_seeds == [] and "spread_seeds" in keywords:
        args = cli.parser().parse_args(["reference", name, "--spread-seeds", "1", "2"])
        assert args.spread_seeds == [1, 2]


def test_does_record_measure_the_master_run_and_write_json(tmp_path, monkeypatch):
    seen = {}

    def reference_figures(master, *, extra=False):
        seen.update(master=master, extra=extra)
        return {"assignment": master.assignment, "notebook_execution": master.execution}

    monkeypatch.setattr(reference, "evaluator", lambda name: SimpleNamespace(reference_figures=reference_figures))
    monkeypatch.setattr(reference, "reference_module", lambda name: "module")
    monkeypatch.setattr(reference, "environment", lambda: {"python": "3"})
    out = tmp_path / "figures.json"
    figures = reference.record("a9_demo", tmp_path, out, extra=True)
    master = seen["master"]
    assert (master.module, master.executed, master.execution, seen["extra"]) == ("module", tmp_path, None, True)
    assert figures == {"assignment": "a9_demo", "notebook_execution": None, "environment": {"python": "3"}}
    assert json.loads(out.read_text()) == figures
    # what every evaluate.py adds about the run itself, from the master's metrics.json
    assert master.run_figures({"seconds": {"train": 1.5}, "load_average": [1.0, 0.5, 0.2], "peak_memory_mib": 900}) == {
        "seconds": {"train": 1.5}, "cpu_seconds": None, "peak_memory_mib": 900, "load_average_at_end": [1.0, 0.5, 0.2],
        "notebook_execution": None, "environment": {"python": "3"}}


def test_are_bad_reference_options_refused_with_the_fix(tmp_path, capsys):
    names = discover()
    if len(names) > 1:
        assert cli.main(["reference", "--out", str(tmp_path / "x.json")]) == 1
        assert "--executed and --out apply to one assignment" in capsys.readouterr().err
    assert cli.main(["reference", names[0], "--executed", str(tmp_path)]) == 1
    assert "no artifacts/*/metrics.json there" in capsys.readouterr().err
    assert not Path(tmp_path / "x.json").exists()
