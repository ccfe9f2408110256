"""Does every broken or hostile submission get a row with the right reason while the batch completes?"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import corpus
from conftest import rows

COLS = ["test_square_values", "test_square_dtype", "test_mask_values", "test_mask_dtype",
        "test_result_saved", "test_runs_logged"]
FULL = [2, 1, 2, 1, 2, 1]
ANSWERS_ONLY = [2, 1, 2, 1, 0, 0]

# student -> (status, reason fragments, scores per check column)
EXPECTED = {
    "reference": ("ok", [], FULL),
    "stub": ("problems", ["not implemented: 4 check(s)", "NotImplementedError"], [0, 0, 0, 0, 0, 1]),
    "syntax_error": ("problems", ["answer cell 'square' failed on import: SyntaxError"], [0, 0, 2, 1, 0, 1]),
    "exception_in_cell": ("problems", ["errors in cell 6 ValueError"], FULL),
    "infinite_loop": ("problems", ["errors in cell 6 CellTimeoutError"], FULL),
    "uninterruptible": ("cell_stuck", ["cell 6 used more than 5 CPU-seconds and could not be interrupted"],
                        ANSWERS_ONLY),
    "memory_hog": ("memory", ["memory limit exceeded"], ANSWERS_ONLY),
    "sys_exit": ("problems", ["errors in cell 6 SystemExit"], FULL),
    "os_exit": ("kernel_died", ["the kernel died in cell 6 (exit status 1)"], ANSWERS_ONLY),
    "segfault": ("kernel_died", ["the kernel died in cell 6 (killed by SIGSEGV, segmentation fault)"], ANSWERS_ONLY),
    "deleted_answer": ("problems", ["answer cell 'mask' is missing"], [2, 1, 0, 0, 2, 1]),
    "duplicated_answer": ("problems", ["answer cell 'square' appears 2 times"], FULL),
    "renamed_answer": ("problems", ["answer cell 'mask' was not found by its id", "'mask_v2'"], FULL),
    "edited_locked": ("problems", ["locked cell 'setup' was edited", "locked cell 'check_basics' was edited"], FULL),
    "invalid_json": ("unreadable", ["not valid JSON"], [0] * 6),
    "empty_file": ("unreadable", ["the notebook file is empty"], [0] * 6),
    "other_assignment": ("wrong_notebook", ["none of the 2 answer cells", "looks like t2_other"], [0] * 6),
    "huge_output": ("ok", [], FULL),
    "write_outside": ("problems", ["errors in cell 6 PermissionError"], FULL),
    "read_hidden": ("problems", ["errors in cell 6 PermissionError"], FULL),
    "network": ("problems", ["errors in cell 6 OSError"], FULL),
    "exit_on_import": ("kernel_died", ["importing this cell ended the student process (exit status 3)",
                                       "the kernel died in cell 3 (exit status 3)"], [0, 0, 2, 1, 0, 0]),
    "segfault_in_answer": ("kernel_died", ["crashed: test_square_values, test_square_dtype (the student's code "
                                           "ended its process)"], [0, 0, 2, 1, 0, 0]),
    "slow_answer": ("problems", ["errors in cell 5 (check_basics) CellTimeoutError"], [2, 1, 0, 0, 2, 1]),
    "renamed_file": ("problems", ["the notebook is named my_copy.ipynb"], FULL),
    "magics": ("problems", ["IPython magics"], FULL),
    "uses_the_kit": ("ok", [], FULL),
    "absent": ("no_submission", ["no folder t1_tiny/"], [0] * 6),
    "heavy_cell": ("ok", [], FULL),  # 3 of the 5 CPU-seconds a cell may use
    "heavy_answer": ("ok", [], FULL),  # 1.2 of the 3 CPU-seconds a check may use, per call
    # tampering, from the student process: what reaches the checks is a broken protocol (the row says so, the check
    # or the answer cell it happened in scores 0); what cannot reach them changes nothing (honest scores)
    "forge_results": ("tampered", ["tampering: ", "broke the protocol while importing"], [0, 0, 0, 0, 0, 1]),
    "forge_atexit": ("problems", ["not implemented: 4 check(s)"], [0, 0, 0, 0, 0, 1]),
    "flood_channel": ("tampered", ["tampering: ", "bytes (at most"], [0, 0, 2, 1, 2, 1]),
    "patch_plugin": ("problems", ["not implemented: 4 check(s)"], [0, 0, 0, 0, 0, 1]),
    "copy_reference": ("problems", ["not implemented: 4 check(s)"], [0, 0, 0, 0, 0, 1]),
    "leak_into_feedback": ("problems", ["not implemented: 2 check(s)"], [0, 0, 0, 0, 0, 1]),
    "detached": ("tampered", ["processes detached from the notebook were left behind and killed"], FULL),
    "shared_memory": ("ok", [], FULL),
    "linked_notebook": ("unreadable", ["the notebook is a symbolic link"], [0] * 6),
    "linked_artifacts": ("ok", [], [2, 1, 2, 1, 0, 0]),   # the links are not copied: nothing saved, nothing logged
    "read_environ": ("ok", [], FULL),  # it finds nothing: the grader's environment is not readable
    "read_environ_in_checks": ("problems", ["answer cell 'square' failed on import: RuntimeError: []"], FULL),
}


def record(out: Path, student: str) -> dict:
    return json.loads((out / corpus.ASSIGNMENT / "cache" / "records" / f"{student}.json").read_text())


def test_does_the_batch_complete_with_a_row_per_student(graded):
    out, summary = graded
    table = rows(out)
    assert set(table) == set(EXPECTED)
    assert summary["students"] == len(EXPECTED) and summary["graded"] == len(EXPECTED)
    assert summary["reference_failures"] == []
    assert (out / corpus.ASSIGNMENT / "cache" / "selfcheck.json").is_file()
    for r in table.values():
        assert (r["max"], r["manual_max"], r["manual:written_mask"]) == ("9", "2", "pending")


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_is_each_submission_scored_with_the_right_reason(graded, student):
    out, _ = graded
    status, fragments, scores = EXPECTED[student]
    row = rows(out)[student]
    assert row["status"] == status, row["reason"]
    for frag in fragments:
        assert frag in row["reason"], (frag, row["reason"])
    assert [float(row[c]) for c in COLS] == [float(s) for s in scores], row
    assert float(row["total"]) == sum(scores)


def test_are_the_check_outcomes_specific(graded):
    out, _ = graded
    outcome = lambda s, n: next(c["outcome"] for c in record(out, s)["checks"] if c["name"] == n)  # noqa: E731
    assert outcome("stub", "test_square_values") == "not_implemented"
    assert outcome("deleted_answer", "test_mask_values") == "missing"
    assert outcome("slow_answer", "test_mask_values") == "timeout"
    assert outcome("segfault_in_answer", "test_square_values") == "crashed"
    assert outcome("reference", "test_result_saved") == "passed"
    stub = record(out, "stub")
    square = next(c for c in stub["checks"] if c["name"] == "test_square_values")
    assert "answer cell 'square', line 4, in square" in square["output"]
    saved = next(c for c in stub["checks"] if c["name"] == "test_result_saved")
    assert saved["outcome"] == "failed"
    assert "(not found: ./artifacts/t1/result.json; did your notebook save it?)" in saved["output"]


def test_does_hostile_code_stay_in_its_folder(graded, outside):
    out, _ = graded
    assert not (outside / "pwned.txt").exists()
    for path in out.rglob("*"):
        if path.is_file():
            assert corpus.SECRET.encode() not in path.read_bytes(), path
            assert corpus.ENV_SECRET.encode() not in path.read_bytes(), path


def test_does_no_detached_process_outlive_its_grading(graded):
    import psutil

    alive = []
    for p in psutil.process_iter(["cmdline"]):
        if corpus.DETACHED_MARK in " ".join(p.info["cmdline"] or []):
            alive.append(p.pid)
    assert alive == []


def test_is_shared_memory_private_to_each_sandbox(graded):
    """The notebook's write to /dev/shm succeeded in its own tmpfs and never reached the host's."""
    out, _ = graded
    assert rows(out)["shared_memory"]["status"] == "ok"
    assert not (Path("/dev/shm") / corpus.SHM_PROBE).exists()
    prot = record(out, "shared_memory")["execution"]["protections"]
    assert any("private /dev/shm" in a for a in prot["applied"]), prot


def test_are_forged_scores_never_counted(graded):
    out, _ = graded
    for student in ("forge_results", "forge_atexit", "flood_channel", "patch_plugin", "copy_reference"):
        rec = record(out, student)
        assert rec["score"] <= rec["max_score"] and rec["score"] == sum(c["score"] for c in rec["checks"])
        assert all(0 <= c["score"] <= c["max_score"] for c in rec["checks"])
    forged = record(out, "forge_results")     # the forged import report: the cell is left out, its checks missing
    square = [c for c in forged["checks"] if c["name"].startswith("test_square")]
    assert {c["outcome"] for c in square} == {"missing"}, square
    assert "ended the student process" not in forged["reason"] and "broke the protocol" in forged["reason"]
    copied = record(out, "copy_reference")    # nothing of the reference reachable: square stays a stub
    assert {c["outcome"] for c in copied["checks"] if c["name"].startswith("test_square")} == {"not_implemented"}


def test_does_nothing_hidden_reach_the_feedback(graded):
    """A student function that raises with everything it can read finds none of the checks' secrets."""
    out, _ = graded
    rec = record(out, "leak_into_feedback")
    square = next(c for c in rec["checks"] if c["name"] == "test_square_values")
    assert square["outcome"] == "error" and "RuntimeError" in square["output"], square
    reference_line = next(line.strip() for line in corpus.reference_source("square").splitlines()
                          if line.strip().startswith("return"))
    for path in out.rglob("*"):
        if path.is_file() and "leak_into_feedback" in path.name:
            text = path.read_text(errors="replace")
            assert corpus.SECRET not in text and corpus.CHECK_MARKER not in text, path
            assert reference_line not in text, (path, reference_line)


def test_is_huge_output_truncated(graded):
    out, _ = graded
    executed = out / corpus.ASSIGNMENT / "executed" / "huge_output.ipynb"
    assert executed.stat().st_size < 3_000_000
    assert "further output of this cell was discarded" in executed.read_text()


def test_is_the_sandbox_report_recorded(graded):
    out, _ = graded
    prot = record(out, "reference")["execution"]["protections"]
    assert prot["applied"], prot
    log = (out / corpus.ASSIGNMENT / "logs" / "reference.log").read_text()
    assert "sandbox:" in log
