"""Does the feedback page read like the notebook? Titles, parts in notebook order, answers-only totals."""
from __future__ import annotations

import re
import shutil

import corpus
import nbformat
import pytest
from conftest import grade

from grader.api import check
from grader.feedback import render_feedback
from grader.notebook import parts_of
from grader.record import Record


def _master() -> nbformat.NotebookNode:
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    cells = [md("# Assignment 9 — the title is not a part"), code("import numpy"),
             md("## Part 0 — Loading"), code("def load(): ...", metadata={"nbgrader": {"grade_id": "load"}}),
             md("### A subsection stays in its part"), code("def pad(): ...", metadata={"nbgrader": {"grade_id": "pad"}}),
             md("## Part 1 — Training"), code("fit()", metadata={"nbgrader": {"grade_id": "train"}}),
             md("Why?", metadata={"nbgrader": {"grade_id": "why", "solution": True, "grade": True, "points": 2}})]
    return nbformat.v4.new_notebook(cells=cells)


def test_does_each_graded_cell_belong_to_the_part_above_it():
    assert parts_of(_master()) == {"load": (3, "Part 0 — Loading"), "pad": (5, "Part 0 — Loading"),
                                   "train": (7, "Part 1 — Training"), "why": (8, "Part 1 — Training")}


def _record(answers_only: bool) -> Record:
    # checks as the batch orders them (notebook order), one of each kind of result
    checks = [{"nodeid": "f::test_load_rate", "name": "test_load_rate", "title": "load: native rate",
               "part": "Part 0 — Loading", "points": 1.0, "run": False},
              {"nodeid": "f::test_pad_zeros", "name": "test_pad_zeros", "title": "pad: zeros after the end",
               "part": "Part 0 — Loading", "points": 2.0, "run": False},
              {"nodeid": "f::test_hidden_f1[cnn]", "name": "test_hidden_f1[cnn]", "title": "Hidden F1 [cnn]",
               "part": "Part 1 — Training", "points": 5.0, "run": True},
              {"nodeid": "f::test_old_style", "name": "test_old_style", "part": "", "points": 1.0, "run": False}]
    for c in checks:
        c["column"] = c["name"]
    manual = [{"grade_id": "why", "points": 2.0, "status": "pending", "part": "Part 1 — Training"}]
    rec = Record.start("ada", "a9", checks, manual, answers_only=answers_only)
    reported = {"f::test_load_rate": {"outcome": "passed", "score": 1.0, "output": ""},
                "f::test_pad_zeros": {"outcome": "failed", "score": 0.0,
                                      "output": "pad must zero every sample after the end."},
                "f::test_old_style": {"outcome": "passed", "score": 1.0, "output": ""}}
    rec.finish_checks(checks, reported, "not run: no executed notebook (answers-only grading)")
    return rec


def test_are_checks_titled_and_grouped_by_part_in_notebook_order():
    page = render_feedback(_record(answers_only=False))
    headings = re.findall(r"<h2>(.*?)</h2>", page)
    assert headings == ["Part 0 — Loading", "Part 1 — Training", "Other checks"]
    rows = re.findall(r"<tr><td title='([^']*)'>([^<]*)</td><td>([^<]*)</td>", page)
    assert rows == [("test_load_rate", "load: native rate", "1 / 1"),
                    ("test_pad_zeros", "pad: zeros after the end", "0 / 2"),
                    ("test_hidden_f1[cnn]", "Hidden F1 [cnn]", "0 / 5"),
                    ("test_old_style", "Old style", "1 / 1")]  # a record without a title: the name, humanised
    # the written answer sits in its part, after that part's checks, before the next heading
    training = page.split("<h2>Part 1 — Training</h2>")[1].split("<h2>")[0]
    assert "Hidden F1 [cnn]" in training and "written answer 'why'" in training
    assert "pad must zero every sample after the end." in page
    assert "Automatic score: <b>2 / 9</b></p>" in page and "full run" not in page


def test_is_an_answers_only_page_scored_out_of_the_answer_checks():
    page = render_feedback(_record(answers_only=True))
    # 9 points in all, 5 of them need the executed notebook
    assert "Automatic score: <b>2 / 4</b>" in page
    assert "5 more points need a full run of the notebook" in page


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"title": "x" * 71}, "at most 70 characters"),
    ({"title": "two\nlines"}, "one line"),
    ({"cell": 3}, "grade_id string"),
])
def test_is_a_bad_title_or_cell_refused_when_the_check_is_declared(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        check(points=1, message="m", **kwargs)


def test_does_a_check_naming_a_cell_the_master_lacks_stop_the_batch(tmp_path):
    checks = tmp_path / "checks"
    shutil.copytree(corpus.CHECKS, checks)
    path = checks / corpus.ASSIGNMENT / "test_answers.py"
    path.write_text(path.read_text().replace('cell="mask"', 'cell="maks"'))
    subs = tmp_path / "submitted" / "reference" / corpus.ASSIGNMENT
    subs.mkdir(parents=True)
    shutil.copy(corpus.SOLUTIONS / f"{corpus.ASSIGNMENT}.ipynb", subs)
    proc = grade(tmp_path / "submitted", tmp_path / "gb", "--checks", str(checks), check=False)
    assert proc["returncode"] == 2, proc["stderr"][-2000:]
    assert "['maks']" in proc["stderr"] and "'mask'" in proc["stderr"]
    assert not (tmp_path / "gb" / corpus.ASSIGNMENT / "grades.csv").exists()


def test_is_a_long_message_cut_between_words_never_inside_one():
    """A message over its limit ends at a word or value boundary with "…" ("ACTUA" was seen)."""
    from grader.record import _cap, shorten

    message = "Arrays are not almost equal to 6 decimals\nMismatched elements: 3 / 10\n ACTUAL: array([1, 2])"
    for limit in range(40, len(message)):
        cut = shorten(message, limit)
        assert cut.endswith("…") and len(cut) <= limit + 1, (limit, cut)
        kept = cut[:-1]
        assert message.startswith(kept)
        following = message[len(kept):]
        assert following[:1].isspace() or kept[-1:] in ",;:)]}" or following[:1] in ",;:)]}", (limit, cut)
    assert shorten(message, len(message)) == message
    assert shorten("x" * 50, 20) == "x" * 20 + "…", "one long token: cut at the limit"
    assert shorten("a" * 30 + " " + "b" * 30, 40, "\n… (output truncated)") == "a" * 30 + "\n… (output truncated)"
    assert _cap("why " * 200).endswith("why…") and len(_cap("why " * 200)) <= 601
