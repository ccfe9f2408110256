"""The broken-submission corpus: realistic and hostile submissions of the tiny fixture assignment.

Each builder takes the master notebook (a copy) and the folder of shared test paths and
returns the bytes of the submitted file (and optionally its file name). Expectations live
in ``test_corpus.py``.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Callable

import nbformat
from nbformat.v4 import new_code_cell

from authoring.notebooks import student_notebook

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "course"
SOLUTIONS = FIXTURE / "solutions"
CHECKS = FIXTURE / "checks"
STUDENT_DATA = FIXTURE / "data" / "student"
HIDDEN_DATA = FIXTURE / "data" / "hidden"
SECRET = "HIDDEN-SECRET-5f2c"
ASSIGNMENT = "t1_tiny"


def master() -> nbformat.NotebookNode:
    return nbformat.read(SOLUTIONS / f"{ASSIGNMENT}.ipynb", as_version=4)


def _index(nb: nbformat.NotebookNode, grade_id: str) -> int:
    for i, c in enumerate(nb.cells):
        if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return i
    raise KeyError(grade_id)


def _set(nb: nbformat.NotebookNode, grade_id: str, source: str) -> nbformat.NotebookNode:
    nb.cells[_index(nb, grade_id)].source = source
    return nb


def _insert_before(nb: nbformat.NotebookNode, grade_id: str, source: str) -> nbformat.NotebookNode:
    nb.cells.insert(_index(nb, grade_id), new_code_cell(source))
    return nb


def _dump(nb: nbformat.NotebookNode) -> bytes:
    return nbformat.writes(nb).encode()


Builder = Callable[[Path], "bytes | tuple[bytes, str]"]
# an item is the file's bytes, (bytes, file name), or ("link", target) for a submitted symbolic link


def build_all(outside: Path) -> dict[str, bytes | tuple[bytes, str]]:
    """Every corpus submission: ``name -> bytes`` (or ``(bytes, file name)``).

    ``outside`` is a folder outside every sandbox that hostile notebooks try to write to.
    """
    m = master()
    c = lambda: copy.deepcopy(m)  # noqa: E731
    hidden_file = HIDDEN_DATA / "tiny" / "secret.txt"
    good_square = m.cells[_index(m, "square")].source
    corpus: dict[str, bytes | tuple[bytes, str]] = {
        "reference": _dump(c()),
        "stub": _dump(student_notebook(c())),
        "syntax_error": _dump(_set(c(), "square", "def square(x)\n    return np.asarray(x) ** 2")),
        "exception_in_cell": _dump(_insert_before(c(), "train", "raise ValueError('boom')")),
        "infinite_loop": _dump(_insert_before(c(), "train", "while True:\n    pass")),
        "uninterruptible": _dump(_insert_before(c(), "train", "import signal\nsignal.signal(signal.SIGINT, "
                                                "signal.SIG_IGN)\nwhile True:\n    pass")),
        "memory_hog": _dump(_insert_before(c(), "train", "hog = b'x' * (3 << 30)")),
        "sys_exit": _dump(_insert_before(c(), "train", "import sys\nsys.exit(1)")),
        "os_exit": _dump(_insert_before(c(), "train", "import os\nos._exit(1)")),
        "segfault": _dump(_insert_before(c(), "train", "import ctypes\nctypes.string_at(0)")),
        "deleted_answer": _dump(_delete(c(), "mask")),
        "duplicated_answer": _dump(_duplicate(c(), "square", "def square(x):\n    return x")),
        "renamed_answer": _dump(_rename(c(), "mask", "mask_v2")),
        "edited_locked": _dump(_set(_set(c(), "setup", "import numpy as np\nSHORT = 'hacked'"),
                                    "check_basics", "pass")),
        "invalid_json": b'{"cells": [ this is not json',
        "empty_file": b"",
        "other_assignment": _dump(nbformat.read(SOLUTIONS / "t2_other.ipynb", as_version=4)),
        "huge_output": _dump(_insert_before(c(), "train", "for _ in range(50):\n    print('y' * 1_000_000)")),
        "write_outside": _dump(_insert_before(c(), "train", f"open({str(outside / 'pwned.txt')!r}, 'w').write('x')")),
        "read_hidden": _dump(_insert_before(
            c(), "train", f"leak = open({str(hidden_file)!r}).read()\nPath('artifacts').mkdir(exist_ok=True)\n"
                          "Path('artifacts/leak.txt').write_text(leak)")),
        "network": _dump(_insert_before(c(), "train", "import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=3)")),
        "exit_on_import": _dump(_set(c(), "square", good_square + "\n\nimport os\nos._exit(3)")),
        "segfault_in_answer": _dump(_set(c(), "square", "def square(x):\n    import ctypes\n    ctypes.string_at(0)")),
        "slow_answer": _dump(_set(c(), "mask", "def make_mask(lengths, max_len):\n    while True:\n        pass")),
        "renamed_file": (_dump(c()), "my_copy.ipynb"),
        "magics": _dump(_set(c(), "square", "%matplotlib inline\n" + good_square)),
        "uses_the_kit": _dump(_insert_before(c(), "train", "import kit.seed\nimport source_data\n"
                                                            "from kit import seed_everything")),
        # honest work that needs CPU time: within every limit at any machine load
        "heavy_cell": _dump(_insert_before(c(), "train", BURN.format(seconds=3))),
        "heavy_answer": _dump(_set(c(), "mask", "def make_mask(lengths, max_len):\n    "
                                   + BURN.format(seconds=1.2).replace("\n", "\n    ").rstrip() + "\n"
                                   "    return np.arange(max_len)[None, :] < np.asarray(lengths)[:, None]")),
        # tampering: each must score what its honest work deserves and be reported "tampered"
        "forge_results": _dump(_append(student_notebook(c()), "square", FORGE_RESULTS)),
        "forge_atexit": _dump(_append(student_notebook(c()), "square", FORGE_ATEXIT)),
        "flood_channel": _dump(_append(c(), "square", FLOOD_CHANNEL)),
        "detached": _dump(_insert_before(c(), "train", DETACHED)),
        "shared_memory": _dump(_insert_before(c(), "train", f"open('/dev/shm/{SHM_PROBE}', 'w').write('x')")),
        "linked_notebook": ("link", hidden_file),
        "read_environ": _dump(_insert_before(c(), "train", READ_ENVIRON + "print(_found)\n"
                                             "Path('artifacts').mkdir(exist_ok=True)\n"
                                             "Path('artifacts/environ.txt').write_text(repr(_found))")),
        "read_environ_in_checks": _dump(_append(c(), "square", "import os\nif os.environ.get('GRADER_ENGINE'):\n    "
                                                + READ_ENVIRON.replace("\n", "\n    ").rstrip()
                                                + "\n    raise RuntimeError(repr(_found))")),
    }
    return corpus


BURN = "import time\n_t0 = time.process_time()\nwhile time.process_time() - _t0 < {seconds}:\n    pass\n"

# -- tampering payloads (run at import of the answers module in the check process) ----------------
_ITEMS = ("import gc, json, os\n"
          "items = [o for o in gc.get_objects() if type(o).__name__ == 'Function' and hasattr(o, 'nodeid')]\n")
FORGE_RESULTS = ("\nimport os\nif os.environ.get('GRADER_RESULTS_FD'):\n"
                 "    " + _ITEMS.replace("\n", "\n    ").rstrip() + "\n"
                 "    out = os.fdopen(int(os.environ['GRADER_RESULTS_FD']), 'a')\n"
                 "    for it in items:\n"
                 "        out.write(json.dumps({'event': 'start', 'nodeid': it.nodeid}) + '\\n')\n"
                 "        out.write(json.dumps({'event': 'result', 'nodeid': it.nodeid, 'outcome': 'passed',\n"
                 "                              'score': 50000, 'max_score': 1, 'output': ''}) + '\\n')\n"
                 "    out.flush()\n"
                 "    os._exit(0)\n")
FORGE_ATEXIT = ("\nimport atexit, os, json\n"
                "_fd = os.dup(int(os.environ['GRADER_RESULTS_FD'])) if os.environ.get('GRADER_RESULTS_FD') else None\n"
                "def _forge():\n"
                "    if _fd is not None:\n"
                "        " + _ITEMS.replace("\n", "\n        ").rstrip() + "\n"
                "        with os.fdopen(_fd, 'a') as out:\n"
                "            for it in items:\n"
                "                out.write(json.dumps({'event': 'result', 'nodeid': it.nodeid, 'outcome': 'passed',\n"
                "                                      'score': 50000}) + '\\n')\n"
                "atexit.register(_forge)\n")
FLOOD_CHANNEL = ("\nimport os\n"
                 "if os.environ.get('GRADER_RESULTS_FD'):\n"
                 "    _junk = ('x' * 1023 + '\\n').encode()\n"
                 "    for _ in range(12 * 1024):\n"
                 "        os.write(int(os.environ['GRADER_RESULTS_FD']), _junk)\n")
DETACHED_MARK = "DETACHED-SLEEPER-7a1"
DETACHED = ("import subprocess, sys\n"
            "subprocess.run([sys.executable, '-c', 'import os, sys, time\\nif os.fork(): os._exit(0)\\n"
            "os.setsid()\\ntime.sleep(120)', " + repr(DETACHED_MARK) + "], check=True)")
SHM_PROBE = "kit-corpus-shm-probe"
ENV_SECRET = "GRADER-ENV-SECRET-e41"  # set in the grader's environment by the tests
READ_ENVIRON = ("import glob\n_found = []\n"
                "for _f in glob.glob('/proc/[0-9]*/environ'):\n"
                "    try:\n"
                "        _found += [v for v in open(_f, 'rb').read().split(b'\\0') if b'ENV-SECRET' in v]\n"
                "    except OSError:\n"
                "        pass\n")


def _append(nb: nbformat.NotebookNode, grade_id: str, source: str) -> nbformat.NotebookNode:
    nb.cells[_index(nb, grade_id)].source += "\n" + source
    return nb


def _delete(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    del nb.cells[_index(nb, grade_id)]
    return nb


def _duplicate(nb: nbformat.NotebookNode, grade_id: str, first_source: str) -> nbformat.NotebookNode:
    """A wrong copy of the answer cell first, the right one after (the last copy is graded)."""
    i = _index(nb, grade_id)
    wrong = copy.deepcopy(nb.cells[i])
    wrong.source = first_source
    wrong.id = "duplicate-copy"
    nb.cells.insert(i, wrong)
    return nb


def _rename(nb: nbformat.NotebookNode, grade_id: str, new_id: str) -> nbformat.NotebookNode:
    nb.cells[_index(nb, grade_id)].metadata["nbgrader"]["grade_id"] = new_id
    return nb


def write_class(root: Path, corpus: dict[str, bytes | tuple[bytes, str]], names: list[str] | None = None) -> Path:
    """Lay the corpus out as ``root/<student>/t1_tiny/<file>``; returns ``root``."""
    for name, item in corpus.items():
        if names is not None and name not in names:
            continue
        data, fname = item if isinstance(item, tuple) else (item, f"{ASSIGNMENT}.ipynb")
        folder = root / name / ASSIGNMENT
        folder.mkdir(parents=True, exist_ok=True)
        if data == "link":  # ("link", target): the submitted notebook is a symbolic link to target
            (folder / f"{ASSIGNMENT}.ipynb").symlink_to(fname)
            continue
        (folder / fname).write_bytes(data)
    (root / "absent").mkdir(parents=True, exist_ok=True)  # a student without any submission
    return root
