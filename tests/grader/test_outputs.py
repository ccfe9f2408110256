"""Are the gradebook's outputs complete, in the promised formats, and free of check source?"""
from __future__ import annotations

import json
import re

import corpus
from conftest import rows
from conftest import REPO

from grader.cli import logdir_spec

A = corpus.ASSIGNMENT
SOURCE_MARKERS = ["ZEBRA-CHECK-SOURCE-91", "HIDDEN_SCALE", "np.testing", "assert np.array_equal",
                  "rng.normal", "def test_"]


def test_are_results_in_gradescope_format(graded):
    out, _ = graded
    for path in (out / A / "results").glob("*.json"):
        res = json.loads(path.read_text())
        assert {"score", "execution_time", "output", "visibility", "tests"} <= set(res)
        for t in res["tests"]:
            assert set(t) == {"name", "score", "max_score", "output", "visibility"}
            assert 0 <= t["score"] <= t["max_score"]
        auto = [t for t in res["tests"] if not t["name"].startswith("manual:")]
        assert abs(sum(t["score"] for t in auto) - res["score"]) < 1e-9
    ref = json.loads((out / A / "results" / "reference.json").read_text())
    assert ref["score"] == 9
    manual = [t for t in ref["tests"] if t["name"].startswith("manual:")]
    assert manual == [{"name": "manual: written_mask", "score": 0.0, "max_score": 2.0,
                       "output": "manual grading pending", "visibility": "visible"}]


def test_does_feedback_never_show_check_source(graded):
    out, _ = graded
    pages = list((out / A / "feedback").glob("*.html")) + list((out / A / "results").glob("*.json"))
    assert len(pages) == 2 * len(rows(out))  # a page and a results file per student
    for page in pages:
        text = page.read_text()
        for marker in SOURCE_MARKERS:
            assert marker not in text, (page.name, marker)
        assert "/checks/" not in text and str(corpus.CHECKS) not in text


def test_is_feedback_readable(graded):
    out, _ = graded
    page = (out / A / "feedback" / "syntax_error.html").read_text()
    assert "4 / 9" in page and "manual, pending" in page
    assert "SyntaxError" in page and "square must square every element." in page
    # the human title, in notebook order (square, make_mask, then the run checks); untitled: name humanised
    titles = re.findall(r"<td title='(\w+)'>([^<]*)</td>", page)
    assert titles == [("test_square_values", "square: squares every element"),
                      ("test_square_dtype", "square: float64, same shape"),
                      ("test_mask_values", "make_mask: True before each length"), ("test_mask_dtype", "Mask dtype"),
                      ("test_result_saved", "Saved result: squares of the numbers"),
                      ("test_runs_logged", "Runs logged")]
    assert re.search(r"make_mask: True before each length</td><td>2 / 2</td>", page)


def test_are_executed_notebooks_runs_and_logs_written(graded):
    out, _ = graded
    assert (out / A / "executed" / "reference.ipynb").is_file()
    assert (out / A / "runs" / "reference" / "t1" / "model" / "scalars.txt").is_file()
    assert not (out / A / "executed" / "invalid_json.ipynb").exists()
    assert {p.stem for p in (out / A / "logs").glob("*.log")} >= {"reference", "invalid_json", "absent"}


def test_does_logdirs_name_every_students_runs(graded, tmp_path):
    out, _ = graded
    spec = logdir_spec(out, tmp_path / "no-own-runs")
    parts = dict(p.split(":", 1) for p in spec.split(","))
    assert f"{A}/reference" in parts and parts[f"{A}/reference"].endswith("runs/reference")
    assert logdir_spec(tmp_path / "empty", tmp_path / "runs") == f"mine:{(tmp_path / 'runs').resolve()}"


def test_do_tensorboard_and_the_app_show_your_own_runs_on_this_machine_only():
    """`make tensorboard` reads the runs where the notebooks write them and, like `make app`, listens on localhost."""
    import subprocess

    from grader.cli import _parser

    assert _parser().parse_args(["logdirs"]).own == REPO / "assignments" / "runs"
    for target, flag in (("tensorboard", "--host 127.0.0.1"), ("app", "--server.address 127.0.0.1")):
        dry = subprocess.run(["make", "-n", target], cwd=REPO, capture_output=True, text=True, timeout=60)
        assert dry.returncode == 0 and flag in dry.stdout and "--bind_all" not in dry.stdout, dry.stdout
    dry = subprocess.run(["make", "-n", "tensorboard", "LISTEN=0.0.0.0"], cwd=REPO, capture_output=True, text=True,
                         timeout=60)
    assert "--host 0.0.0.0" in dry.stdout, "on the network only when asked"


def test_does_the_cli_name_a_bad_assignment(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "grader", "grade", "nope", "--submissions", str(tmp_path),
                           "--out", str(tmp_path / "gb"), "--solutions", str(corpus.SOLUTIONS)],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 2
    assert "unknown assignment 'nope'" in proc.stderr and "t1_tiny" in proc.stderr


def test_is_no_student_text_a_formula_in_grades_csv():
    """A folder named like a formula (an LMS display name) stays text in the instructor's spreadsheet."""
    import csv
    import io

    from grader.gradebook import grades_table
    from grader.record import Record, Status

    checks = [{"nodeid": "t::a", "column": "a", "points": 1}]
    names = ['=HYPERLINK("http://x","open me")', "+1", "-2", "@SUM(A1)", "\tx", "\rx", "ada", "o'neil"]
    records = [Record(student=n, assignment="t1", status=Status.PROBLEMS, reason=f"=cmd|' /C calc'!A0 {i}")
               for i, n in enumerate(names)]
    rows_ = list(csv.DictReader(io.StringIO(grades_table(records, checks, []), newline="")))
    expected = ["'" + n.replace("\r", "\n") if n[0] in "=+-@\t\r" else n for n in names]
    assert sorted(r["student"] for r in rows_) == sorted(expected), "one row each, text cells, no formula"
    assert all(r["reason"].startswith("'=cmd") for r in rows_)
