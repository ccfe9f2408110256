"""The trust boundary: the wire codec, and a student process serving a small answers module."""
from __future__ import annotations

import collections
import io
import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from grader import wire
from grader.answers import MissingAnswer
from grader.api import CheckTimeout
from grader.boundary import (ProtocolViolation, Remote, StudentCodeError, StudentCrashed, StudentFolder,
                             StudentProcess, class_name, on_student, student_read_paths)
from grader.context import REPO
from grader.sandbox import landlock_abi

ANSWERS = '''
import collections, os, time
import numpy as np

class Counts(collections.OrderedDict):
    """A student's own subclass of a class the checks know."""

def double(x):
    return np.asarray(x) * 2

def mixed():
    return {"a": [1, 2.5, "s", None, True], "b": (np.float32(3), np.arange(3, dtype=np.int16)), "c": b"xy",
            "nan": float("nan"), "counts": Counts(a=1)}

def fails(x):
    raise ValueError(f"bad x: {x!r}")

def own_error():
    class Oops(Exception):
        pass
    raise Oops("custom")

def spin():
    while True:
        pass

def die():
    os._exit(7)

def draw(rng):
    return int(rng.integers(0, 1_000_000))

def junk_reply():
    import json, sys
    fd = json.load(open(sys.argv[-1]))["fd_out"]
    os.write(fd, b"\\xff" * 16)
    return 1

def bump(counter):
    counter["n"] += 1
    return counter["n"]

def read(path):
    with open(path) as f:
        return f.read()

def write_to(folder, text):
    with open(os.path.join(folder, "out.txt"), "w") as f:
        f.write(text)
'''


# -- the codec -------------------------------------------------------------------------------------
def _round_trip(value, **kw):
    blobs: list[bytes] = []
    node = wire.encode(value, blobs, **kw)
    r, w = os.pipe()
    try:
        wire.write_message(w, {"value": node}, blobs)
        os.close(w)
        with os.fdopen(r, "rb") as f:
            header, got = wire.read_message(lambda n: f.read(n))
    finally:
        pass
    return wire.decode(header["value"], got)


def test_does_data_travel_as_plain_values():
    value = {"a": [1, 2.5, "s", None, True], ("t", 1): (np.float32(3), np.arange(6, dtype=np.int16).reshape(2, 3)),
             "b": b"\x00\x01", "nan": float("nan"), "inf": float("-inf"), "set": {1, 2}, "path": Path("/x/y"),
             "cx": 1 + 2j, "slice": slice(1, None, 2), "bools": np.array([True, False])}
    got = _round_trip(value)
    assert got["a"] == [1, 2.5, "s", None, True] and got["b"] == b"\x00\x01" and got["set"] == {1, 2}
    assert isinstance(got[("t", 1)][0], np.float32) and got[("t", 1)][0] == 3
    np.testing.assert_array_equal(got[("t", 1)][1], value[("t", 1)][1])
    assert got[("t", 1)][1].dtype == np.int16
    assert np.isnan(got["nan"]) and got["inf"] == float("-inf") and got["path"] == Path("/x/y")
    assert got["cx"] == 1 + 2j and got["slice"] == slice(1, None, 2) and got["bools"].dtype == bool


def test_is_an_object_that_is_not_data_refused_without_a_handle_maker():
    with pytest.raises(wire.WireError, match="cannot send"):
        wire.encode(object(), [])
    with pytest.raises(wire.WireError, match="cannot send"):
        wire.encode(np.array([object()]), [])


def test_does_the_trusted_side_refuse_pickles_and_unknown_tags():
    blobs: list[bytes] = []
    node = wire.pickled(collections.Counter(a=1), blobs, 1)
    with pytest.raises(wire.WireError, match="pickle"):
        wire.decode(node, blobs)                       # the checks never unpickle what comes back
    assert wire.decode(node, blobs, mirrors={}) == collections.Counter(a=1)   # the student side may
    for bad in ({"zz": 1}, {"a": 5}, [1, 2], {"l": [{"h": {"id": 1}}]}, {"d": [[{"l": []}, 1]]}):
        with pytest.raises(wire.WireError):
            wire.decode(bad, [])


def test_are_object_arrays_refused_on_decode():
    buf = io.BytesIO()
    np.save(buf, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(wire.WireError, match="pickle"):
        wire.decode({"a": 0}, [buf.getvalue()])


def test_are_oversized_and_malformed_messages_refused():
    data = struct.pack(">Q", 1 << 40)
    with pytest.raises(wire.WireError, match="at most"):
        wire.read_message(io.BytesIO(data).read)
    head = b"not json"
    msg = struct.pack(">Q", 8 + len(head)) + struct.pack(">Q", len(head)) + head
    with pytest.raises(wire.WireError, match="not JSON"):
        wire.read_message(io.BytesIO(msg).read)
    head = json.dumps({"blobs": [5]}).encode()
    msg = struct.pack(">Q", 8 + len(head)) + struct.pack(">Q", len(head)) + head
    with pytest.raises(wire.WireError, match="add up"):
        wire.read_message(io.BytesIO(msg).read)


def test_is_deep_nesting_refused():
    deep: list = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(wire.WireError, match="nested"):
        wire.encode(deep, [])


# -- the student process ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def served(tmp_path_factory):
    base = tmp_path_factory.mktemp("boundary")
    code = base / "code"
    code.mkdir()
    (code / "answers.py").write_text(ANSWERS)
    hidden = base / "hidden"
    hidden.mkdir()
    (hidden / "secret.txt").write_text("HIDDEN")
    read, list_dirs = student_read_paths(REPO)
    sp = StudentProcess(code / "answers.py", "boundary_answers", home=base / "student", read=[*read, str(code)],
                        list_dirs=list_dirs, env={"PATH": os.environ.get("PATH", ""), "HOME": str(base / "student"),
                                                  "PYTHONHASHSEED": "0"})
    sp.start()
    from grader.boundary import RemoteModule
    yield sp, RemoteModule(sp), hidden
    sp.stop()


def test_do_calls_return_data_and_handles(served):
    sp, student, _ = served
    np.testing.assert_array_equal(student.double([1, 2]), [2, 4])
    got = student.mixed()
    assert got["a"] == [1, 2.5, "s", None, True] and got["c"] == b"xy" and np.isnan(got["nan"])
    counts = got["counts"]
    assert type(counts) is Remote and isinstance(counts, collections.OrderedDict)   # its nearest known class
    assert class_name(counts) == "Counts" and counts["a"] == 1 and len(counts) == 1 and "a" in counts
    assert list(counts) == ["a"]


def test_do_student_errors_keep_their_builtin_type_and_frames(served):
    _, student, _ = served
    with pytest.raises(ValueError, match="bad x: 3") as info:
        student.fails(3)
    assert "answer cell 'answers', line " in info.value.student_frames and ", in fails" in info.value.student_frames
    with pytest.raises(StudentCodeError, match="Oops: custom"):
        student.own_error()
    with pytest.raises(MissingAnswer):
        student.not_defined_here()


def test_is_a_mutable_argument_the_same_object_across_calls(served):
    sp, student, _ = served
    rng = np.random.default_rng(0)
    draws = {student.draw(rng) for _ in range(5)}
    assert len(draws) == 5                     # the student process kept one generator, drawing on
    sp.request("reset")


def test_does_the_student_copy_show_what_the_student_code_did(served):
    from grader.boundary import student_copy

    sp, student, _ = served
    counter = collections.Counter(n=0)
    there = student_copy(student, counter)
    assert type(there) is Remote and isinstance(there, collections.Counter)
    assert student.bump(there) == 1 and student.bump(counter) == 2   # the same copy, by handle or by object
    assert there["n"] == 2 and counter["n"] == 0                     # the checks' object is untouched
    sp.request("reset")
    assert student.bump(counter) == 1                                # a new check: a new copy


def test_does_a_handle_not_outlive_its_check(served):
    sp, student, _ = served
    counts = student.mixed()["counts"]
    sp.request("reset")
    with pytest.raises(StudentCrashed, match="is gone"):
        len(counts)


def test_does_cpu_time_in_the_student_process_count(served):
    sp, student, _ = served
    with sp.budget(1.0), pytest.raises(CheckTimeout, match="CPU-seconds"):
        student.spin()
    np.testing.assert_array_equal(student.double([3]), [6])      # started again for the next request


def test_is_a_crash_reported_and_the_process_started_again(served):
    sp, student, _ = served
    with pytest.raises(StudentCrashed, match="exit status 7"):
        student.die()
    np.testing.assert_array_equal(student.double([4]), [8])


def test_is_a_broken_reply_an_anomaly(served):
    sp, student, _ = served
    before = len(sp.anomalies)
    with pytest.raises(ProtocolViolation):
        student.junk_reply()
    assert len(sp.anomalies) == before + 1 and "protocol" in sp.anomalies[-1]
    np.testing.assert_array_equal(student.double([5]), [10])


def test_can_the_student_process_write_only_its_folder(served, tmp_path):
    sp, student, hidden = served
    folder = StudentFolder(student, tmp_path, "out")
    student.write_to(str(folder.path), "hello")
    assert (folder.collect() / "out.txt").read_text() == "hello"
    if landlock_abi() < 1:
        pytest.skip("no Landlock on this kernel: file rules are not enforced")
    with pytest.raises(PermissionError):
        student.read(str(hidden / "secret.txt"))
    with pytest.raises(PermissionError):
        student.write_to(str(tmp_path), "outside")
    with pytest.raises(PermissionError):
        student.read(str(REPO / "grader" / "checks" / "conftest.py"))


def test_does_a_probe_run_beside_the_student_objects(served):
    _, student, _ = served
    from grader import onstudent

    assert on_student(student, onstudent.call_with_joblib_threads, student.double, [7])[0] == 14
    with pytest.raises(ValueError, match="not a probe"):
        on_student(student, np.asarray, [1])


# -- replaying the reference's results to a student function (in-process: the probes are plain functions) --------
def _module(name, source):
    import types

    mod = types.ModuleType(name)
    exec(source, mod.__dict__)
    return mod


def test_does_a_recorded_helper_answer_only_the_calls_the_reference_made():
    from grader import onstudent
    from grader.boundary import record_calls

    reference = _module("ref", "import numpy as np\n"
                               "def scale(x, factor=2.0):\n    return np.asarray(x) * factor\n"
                               "def pipeline(xs):\n    return [float(scale(x).sum()) for x in xs]\n")
    student = _module("stu", "import numpy as np\n"
                             "def scale(x, factor=2.0):\n    return np.asarray(x) * 100\n"   # a wrong helper
                             "def pipeline(xs):\n    return [float(scale(x, factor=2.0).sum()) for x in xs]\n"
                             "def other(x):\n    return float(scale(x, 3.0).sum())\n")
    xs = [np.arange(3.0), np.ones(2)]
    want: list = []
    tables = record_calls(reference, ("scale",), lambda: want.append(reference.pipeline(xs)))
    assert [c[0]["factor"] for c in tables["scale"]["calls"]] == [2.0, 2.0]
    assert reference.scale.__name__ == "scale" and reference.scale(1) == 2.0      # restored
    got = onstudent.call_with_recorded(student, tables, "pipeline", xs)   # factor by keyword: the same call
    assert got == want[0] == [6.0, 4.0]
    # a call the reference never made goes to the student's own helper
    assert onstudent.call_with_recorded(student, tables, "other", np.ones(2)) == 200.0
    assert student.scale(1) == 100                                         # the student's helper is back
    del student.scale
    assert onstudent.call_with_recorded(student, tables, "pipeline", xs) == [6.0, 4.0]
    assert "scale" not in student.__dict__                                 # absent before, absent after
    with pytest.raises(NameError, match="scale"):
        onstudent.call_with_recorded(student, tables, "other", np.ones(2))


def test_does_a_lookup_table_match_another_resampler_but_not_another_signal():
    from grader import onstudent

    rng = np.random.default_rng(0)
    key = rng.normal(size=400)
    module = _module("stu", "def image(y):\n    raise RuntimeError('the student image')\n"
                            "def predict(ys):\n    return [image(y).sum() for y in ys]\n")
    near = np.concatenate([key[:-1] * 1.01, [0.0]])[:399]              # 1 % off, one sample shorter
    got = onstudent.call_with_lookup(module, "image", [key], [np.full((2, 2), 1.0)], "predict", [near, -key])
    assert got == [4.0, 0.0]                                             # a stranger gets zeros
    with pytest.raises(RuntimeError, match="student image"):
        module.image(key)                                                # restored
