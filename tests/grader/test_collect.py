"""Does ``python -m grader collect`` lay out Canvas, Moodle and nbgrader submissions safely and report everything?"""
from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from grader import collect as collect_module
from grader.cli import main
from grader.collect import REPORT, collect, safe_id
from grader.errors import GraderError

A = "hw1"
REPO = Path(__file__).resolve().parents[2]


def nb(text: str = "x = 1", pad: int = 0) -> bytes:
    """A tiny valid notebook whose one cell holds ``text`` (``pad`` makes it bigger)."""
    cell = new_code_cell(text + "#" * pad, id="c1")  # a fixed id: the same text gives the same bytes
    return nbformat.writes(new_notebook(cells=[cell])).encode()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def written(dest: Path) -> set[str]:
    """Every file under ``dest`` (no temp files may be left)."""
    return {p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()}


def folders(*students: str) -> set[str]:
    return {f"{s}/{A}/{A}.ipynb" for s in students} | {REPORT}


def report(dest: Path) -> dict:
    return json.loads((dest / REPORT).read_text(encoding="utf-8"))


CANVAS = {
    "doejane_101_5001_hw1.ipynb": nb("first"),
    "doejane_101_5002_hw1-1.ipynb": nb("second"),
    "doejane_101_5003_hw1-2.ipynb": nb("third"),
    "doejane_101_5003_scratch.ipynb": nb("scratch", pad=5000),   # bigger, but not named like hw1
    "doejane_101_5003_notes.txt": b"not a notebook",
    "smithbob_late_102_5004_hw1.ipynb": nb("late"),
    "zoëångström_103_5005_hw1.ipynb": nb("zoe"),
    "van der berg_104_5006_Homework 1.ipynb": nb("space"),
    '=hyperlink("x")_105_5007_hw1.ipynb': nb("formula"),
    "brokenbert_106_5008_hw1.ipynb": b'{"cells": [',
    "../../evil.ipynb": nb("evil"),
}
CANVAS_STUDENTS = ("doejane-101", "smithbob-102", "zoeangstrom-103", "van-der-berg-104", "hyperlink-x-105")


@pytest.fixture
def canvas(tmp_path: Path) -> Path:
    src = tmp_path / "downloads" / "deep" / "submissions.zip"
    src.parent.mkdir(parents=True)
    src.write_bytes(zip_bytes(CANVAS))
    return src


def test_are_the_student_ids_safe_folder_names():
    assert safe_id("Zoë Ångström") == "Zoe-Angstrom"
    assert safe_id('=HYPERLINK("x")') == "HYPERLINK-x"
    assert safe_id("../../etc/passwd") == "etc-passwd"
    assert safe_id("/abs/path") == "abs-path"
    assert safe_id("jane.doe@uni.edu") == "jane.doe@uni.edu"
    assert safe_id("a..b") == "a.b"
    assert safe_id("+-@.x") == "x"
    for bad in ("", "...", "王小明", "x" * 65, REPORT):
        assert safe_id(bad) is None, bad


def test_does_a_canvas_zip_give_the_latest_readable_notebook_of_each_student(canvas, tmp_path):
    dest = tmp_path / "out" / "submitted"
    r = collect(A, canvas, dest)
    assert r.format == "canvas"
    assert written(dest) == folders(*CANVAS_STUDENTS)
    assert not list(tmp_path.rglob("evil.ipynb"))
    assert (dest / "doejane-101" / A / f"{A}.ipynb").read_bytes() == nb("third")
    rep = report(dest)
    assert {c["student"]: c["status"] for c in rep["collected"]} == dict.fromkeys(CANVAS_STUDENTS, "new")
    assert {c["student"]: c["key"] for c in rep["collected"]}["zoeangstrom-103"] == "103"
    sup = {s["file"]: s["reason"] for s in rep["superseded"]}
    assert set(sup) == {"doejane_101_5001_hw1.ipynb", "doejane_101_5002_hw1-1.ipynb", "doejane_101_5003_scratch.ipynb"}
    assert sup["doejane_101_5001_hw1.ipynb"].startswith("an older submission")
    assert sup["doejane_101_5003_scratch.ipynb"].startswith("another notebook of the same submission")
    bad = {u["file"]: u["reason"] for u in rep["unreadable"]}
    assert set(bad) == {"brokenbert_106_5008_hw1.ipynb", "../../evil.ipynb"}
    assert bad["brokenbert_106_5008_hw1.ipynb"].startswith("not a notebook")
    assert bad["../../evil.ipynb"].startswith("unsafe path")
    assert rep["ignored"] == ["doejane_101_5003_notes.txt"]
    assert rep["unmatched"] == rep["missing"] == rep["invalid"] == []


def test_does_rerunning_leave_identical_notebooks_and_replace_changed_ones(canvas, tmp_path):
    dest = tmp_path / "submitted"
    collect(A, canvas, dest)
    again = collect(A, canvas, dest)
    assert {c["status"] for c in again.collected} == {"unchanged"}
    assert written(dest) == folders(*CANVAS_STUDENTS)
    canvas.write_bytes(zip_bytes({**CANVAS, "smithbob_late_102_5009_hw1.ipynb": nb("later")}))
    third = collect(A, canvas, dest)
    assert {c["student"]: c["status"] for c in third.collected}["smithbob-102"] == "updated"
    assert sum(c["status"] == "unchanged" for c in third.collected) == 4
    assert (dest / "smithbob-102" / A / f"{A}.ipynb").read_bytes() == nb("later")


def test_does_a_roster_name_the_folders_and_list_unmatched_and_missing_students(canvas, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("ID,SIS Login ID\n101,jdoe\n102,bsmith\n999,ghost\n", encoding="utf-8")
    dest = tmp_path / "submitted"
    r = collect(A, canvas, dest, roster=roster)
    assert written(dest) == folders("jdoe", "bsmith")
    assert {u["key"] for u in r.unmatched} == {"103", "104", "105"}
    assert r.missing == ["ghost"]
    assert report(dest)["missing"] == ["ghost"]


def test_is_a_canvas_gradebook_export_read_as_a_roster(canvas, tmp_path):
    roster = tmp_path / "export.csv"
    roster.write_text("\ufeffStudent,ID,SIS User ID,SIS Login ID,Section\n"
                      "    Points Possible,,,,\n"
                      '"Doe, Jane",101,s1,jane.doe@uni.edu,A\n'
                      '"Zoë",103,s3,=HYPERLINK("x"),A\n', encoding="utf-8")
    r = collect(A, canvas, tmp_path / "submitted", roster=roster)
    assert {c["student"] for c in r.collected} == {"jane.doe@uni.edu", "HYPERLINK-x"}


def test_is_a_roster_without_known_columns_refused_naming_its_columns(canvas, tmp_path, capsys):
    roster = tmp_path / "roster.csv"
    roster.write_text("name,number\nJane,101\n", encoding="utf-8")
    with pytest.raises(GraderError, match=r"\['name', 'number'\].*participant_id.*SIS Login ID"):
        collect(A, canvas, tmp_path / "submitted", roster=roster)
    assert main(["collect", A, "--from", str(canvas), "--to", str(tmp_path / "s"), "--roster", str(roster)]) == 2
    assert "grader: error: --roster" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_does_a_moodle_folder_give_each_participants_notebook_nested_or_zipped(tmp_path):
    src = tmp_path / "moodle"
    jane = src / "Jane Doe_201_assignsubmission_file_"
    zoe = src / "Zoë Ångström_202_assignsubmission_file_" / "sub" / "folder"
    bob = src / "Bob Smith_203_assignsubmission_file_"
    eve = src / "Eve_204_assignsubmission_file_"
    for d in (jane, zoe, bob, eve):
        d.mkdir(parents=True)
    (jane / "hw1.ipynb").write_bytes(nb("jane"))
    (jane / "link.ipynb").symlink_to("/etc/passwd")
    (zoe / "my work.ipynb").write_bytes(nb("zoe"))
    (bob / "submission.zip").write_bytes(zip_bytes({"hw1/hw1.ipynb": nb("bob"),
                                                    "hw1/.ipynb_checkpoints/hw1-checkpoint.ipynb": nb("old")}))
    (eve / "evil.zip").write_bytes(zip_bytes({"../../evil.ipynb": nb("evil"), "notes.pdf": b"%PDF"}))
    (src / "stray.ipynb").write_bytes(nb("stray"))
    dest = tmp_path / "submitted"
    r = collect(A, src, dest)
    assert r.format == "moodle"
    assert written(dest) == folders("jane-doe-201", "zoe-angstrom-202", "bob-smith-203")
    assert (dest / "bob-smith-203" / A / f"{A}.ipynb").read_bytes() == nb("bob")
    assert not list(tmp_path.rglob("evil.ipynb"))
    bad = {u["file"]: u["reason"] for u in r.unreadable}
    assert set(bad) == {"Jane Doe_201_assignsubmission_file_/link.ipynb", "stray.ipynb",
                        "Eve_204_assignsubmission_file_/evil.zip/../../evil.ipynb"}
    assert bad["Jane Doe_201_assignsubmission_file_/link.ipynb"] == "a symbolic link: not followed"
    assert set(r.ignored) == {"Bob Smith_203_assignsubmission_file_/submission.zip/hw1/.ipynb_checkpoints/"
                              "hw1-checkpoint.ipynb", "Eve_204_assignsubmission_file_/evil.zip/notes.pdf"}


def test_does_an_nbgrader_inbound_folder_give_the_latest_timestamp(tmp_path):
    src = tmp_path / "inbound"
    for folder, text in [("alice+hw1+2026-12-08 10:00:00.000000 UTC", "old"),
                         ("alice+hw1+2026-12-09 09:00:00.000000 UTC", "new"),
                         ("bob+hw1+2026-12-08 11:00:00.000000 UTC", "bob"),
                         ("carol+hw2+2026-12-08 11:00:00.000000 UTC", "other assignment")]:
        (src / folder).mkdir(parents=True)
        (src / folder / ("hw2.ipynb" if "hw2" in folder else "hw1.ipynb")).write_bytes(nb(text))
    dest = tmp_path / "submitted"
    r = collect(A, src, dest)
    assert r.format == "nbgrader"
    assert written(dest) == folders("alice", "bob")
    assert (dest / "alice" / A / f"{A}.ipynb").read_bytes() == nb("new")
    assert [s["file"] for s in r.superseded] == ["alice+hw1+2026-12-08 10:00:00.000000 UTC/hw1.ipynb"]
    assert r.ignored == ["carol+hw2+2026-12-08 11:00:00.000000 UTC/hw2.ipynb"]


def test_is_a_submitted_folder_renamed_into_place_and_the_destination_inside_left_out(tmp_path):
    src = tmp_path / "raw"
    (src / "dave" / A).mkdir(parents=True)
    (src / "dave" / A / "my copy.ipynb").write_bytes(nb("dave"))
    dest = src / "submitted"
    assert collect(A, src, dest).format == "nbgrader"
    assert written(dest) == folders("dave")
    assert {c["status"] for c in collect(A, src, dest).collected} == {"unchanged"}


def test_are_oversized_notebooks_and_zip_bombs_refused(canvas, tmp_path, monkeypatch):
    monkeypatch.setattr(collect_module, "MAX_NOTEBOOK", 2000)
    src = tmp_path / "big.zip"
    src.write_bytes(zip_bytes({"a_1_1_hw1.ipynb": nb("big", pad=3000), "b_2_2_hw1.ipynb": nb("ok")}))
    r = collect(A, src, tmp_path / "s1")
    assert [c["student"] for c in r.collected] == ["b-2"]
    assert "over the" in r.unreadable[0]["reason"]
    monkeypatch.setattr(collect_module, "MAX_TOTAL", 1000)
    with pytest.raises(GraderError, match="zip bomb"):
        collect(A, canvas, tmp_path / "s2")
    assert not (tmp_path / "s2").exists()
    moodle = tmp_path / "moodle" / "Bob_7_assignsubmission_file_"
    moodle.mkdir(parents=True)
    (moodle / "bomb.zip").write_bytes(zip_bytes({"hw1.ipynb": nb("x", pad=1500)}))
    (moodle / "hw1.ipynb").write_bytes(nb("bob"))
    r = collect(A, moodle.parent, tmp_path / "s3")
    assert [c["student"] for c in r.collected] == ["bob-7"]
    assert "zip bomb" in r.unreadable[0]["reason"]
    many = tmp_path / "many"
    for s in ("a", "b", "c"):
        (many / s / A).mkdir(parents=True)
        (many / s / A / f"{A}.ipynb").write_bytes(nb(s, pad=300))
    with pytest.raises(GraderError, match="collect it in parts"):
        collect(A, many, tmp_path / "s4")


def test_is_an_older_submission_taken_when_the_latest_is_unreadable_and_said_so(tmp_path):
    src = tmp_path / "c.zip"
    src.write_bytes(zip_bytes({"a_1_1_hw1.ipynb": nb("old"), "a_1_2_hw1-1.ipynb": b"not json"}))
    r = collect(A, src, tmp_path / "s")
    assert r.collected == [{"student": "a-1", "key": "1", "file": "a_1_1_hw1.ipynb", "status": "new",
                            "unreadable": ["a_1_2_hw1-1.ipynb"]}]


def test_is_a_moodle_zip_read_like_its_folder(tmp_path):
    src = tmp_path / "moodle.zip"
    src.write_bytes(zip_bytes({"Jane Doe_201_assignsubmission_file_/hw1.ipynb": nb("jane"),
                               "Bob_203_assignsubmission_file_/s.zip": zip_bytes({"hw1.ipynb": nb("bob")})}))
    r = collect(A, src, tmp_path / "s")
    assert r.format == "moodle"
    assert written(tmp_path / "s") == folders("jane-doe-201", "bob-203")


def test_is_a_link_out_of_the_destination_refused(canvas, tmp_path):
    dest, outside = tmp_path / "submitted", tmp_path / "outside"
    dest.mkdir()
    outside.mkdir()
    (dest / "doejane-101").symlink_to(outside)
    with pytest.raises(GraderError, match="leads outside"):
        collect(A, canvas, dest)
    assert not list(outside.iterdir())


def test_does_the_cli_exit_0_when_collected_1_when_nothing_and_2_on_usage_errors(canvas, tmp_path, capsys):
    dest = tmp_path / "submitted"
    assert main(["collect", A, "--from", str(canvas), "--to", str(dest)]) == 0
    out = capsys.readouterr().out
    assert "collected 5 (5 new, 0 updated, 0 unchanged); 3 superseded, 2 unreadable" in out and REPORT in out
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["collect", A, "--from", str(empty), "--to", str(dest), "--format", "canvas"]) == 1
    assert main(["collect", A, "--from", str(empty), "--to", str(dest)]) == 2
    assert "pass --format" in capsys.readouterr().err
    assert main(["collect", A, "--from", str(tmp_path / "nope.zip"), "--to", str(dest)]) == 2
    assert main(["collect", "../hw1", "--from", str(canvas), "--to", str(dest)]) == 2
    assert "not a safe folder name" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["collect", A, "--from", str(canvas), "--to", str(dest), "--format", "blackboard"])
    assert e.value.code == 2


def test_does_python_m_grader_collect_run(canvas, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "grader", "collect", A, "--from", str(canvas),
                           "--to", str(tmp_path / "s")], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "collected 5" in proc.stdout
