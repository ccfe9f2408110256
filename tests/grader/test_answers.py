"""Does importing an answers module cell by cell keep good cells when others fail?"""
from __future__ import annotations

import pytest

from grader.answers import load_answers, write_answers
from grader.api import CheckSpec, check, spec_of
from grader.extract import build_answers

import corpus


def _module(tmp_path, square_src: str, name: str, **limits):
    m = corpus.master()
    sub = corpus._set(corpus.master(), "square", square_src)
    path = write_answers(build_answers(m, sub), tmp_path / f"{name}.py")
    return load_answers(path, name, cell_timeout=limits.pop("cell_timeout", 1), **limits)


def test_does_a_syntax_error_spare_the_other_cells(tmp_path):
    loaded = _module(tmp_path, "def square(x)\n    return x", "syn")
    assert loaded.module.make_mask([1], 2).tolist() == [[True, False]]
    assert [(e.grade_id, e.error.split(":")[0]) for e in loaded.errors] == [("square", "SyntaxError")]
    with pytest.raises(AttributeError, match="'square' is not defined by your answer cells .*SyntaxError"):
        loaded.module.square


def test_is_a_looping_cell_stopped(tmp_path):
    loaded = _module(tmp_path, "while True:\n    pass", "loop")
    assert loaded.errors[0].grade_id == "square" and "used more than 1 CPU-seconds" in loaded.errors[0].error
    assert loaded.module.make_mask([0], 1).tolist() == [[False]]


def test_is_a_sleeping_cell_stopped_by_the_wall_clock_backstop(tmp_path):
    """A cell that waits uses no CPU: the wall-clock backstop (factor x limit) stops it."""
    import time

    t0 = time.monotonic()
    loaded = _module(tmp_path, "import time\ntime.sleep(60)", "sleep", cell_timeout=0.5, wall_factor=2)
    assert 0.9 < time.monotonic() - t0 < 10
    assert loaded.errors[0].grade_id == "square"
    assert "ran longer than 1 s of wall-clock time" in loaded.errors[0].error


def test_does_a_cpu_limit_ignore_time_spent_waiting(tmp_path):
    """Waiting 1.5 s with a 1 CPU-second limit and a generous backstop is not a timeout."""
    loaded = _module(tmp_path, "import time\ntime.sleep(1.5)\ndef square(x):\n    return x * x", "wait",
                     cell_timeout=1, wall_factor=5)
    assert loaded.errors == [] and loaded.module.square(3) == 9


def test_do_tracebacks_point_at_the_cell(tmp_path):
    loaded = _module(tmp_path, "def square(x):\n    y = 1\n    raise ValueError('bad')", "tb")
    try:
        loaded.module.square(2)
    except ValueError as e:
        line = e.__traceback__.tb_next.tb_lineno
        assert loaded.cell_of_line(line) == ("square", 3)


def test_does_check_reject_bad_declarations():
    with pytest.raises(ValueError, match="points must be a positive number, got 0"):
        check(points=0, message="m")
    with pytest.raises(ValueError, match="message must be a non-empty string"):
        check(points=1, message=" ")
    with pytest.raises(ValueError, match="visibility must be one of"):
        check(points=1, message="m", visibility="secret")

    @check(points=2, message="two", run=True)
    def test_x():
        pass

    assert spec_of(test_x) == CheckSpec(points=2.0, message="two", run=True)
