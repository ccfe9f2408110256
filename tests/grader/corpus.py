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
CHECK_MARKER = "ZEBRA-CHECK-SOURCE-91"  # in the tiny course's check source
ASSIGNMENT = "t1_tiny"


def master() -> nbformat.NotebookNode:
    return nbformat.read(SOLUTIONS / f"{ASSIGNMENT}.ipynb", as_version=4)


def reference_source(grade_id: str) -> str:
    """The master's source of one answer cell (solution included)."""
    return master().cells[_index(master(), grade_id)].source


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


def _add_last(nb: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
    nb.cells.append(new_code_cell(source))
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
        "linked_artifacts": _dump(_add_last(c(), LINKED_ARTIFACTS)),
        "read_environ": _dump(_insert_before(c(), "train", READ_ENVIRON + "print(_found)\n"
                                             "Path('artifacts').mkdir(exist_ok=True)\n"
                                             "Path('artifacts/environ.txt').write_text(repr(_found))")),
        "patch_plugin": _dump(_append(student_notebook(c()), "square", PATCH_PLUGIN)),
        "copy_reference": _dump(_set(student_notebook(c()), "square", COPY_REFERENCE)),
        "leak_into_feedback": _dump(_set(student_notebook(c()), "square", LEAK_INTO_FEEDBACK)),
        "read_environ_in_checks": _dump(_append(c(), "square", "import os, sys\nif any('studentproc' in a for a in sys.argv):\n    "
                                                + READ_ENVIRON.replace("\n", "\n    ").rstrip()
                                                + "\n    raise RuntimeError(repr(_found))")),
    }
    return corpus


BURN = "import time\n_t0 = time.process_time()\nwhile time.process_time() - _t0 < {seconds}:\n    pass\n"

# -- tampering payloads (run in the student process: at import of the answers, or when a check calls them) ---------
# The student process has no result channel: the checks talk to it over two pipes (grader.wire). Its own end of
# those is what it can reach; the spec file it was started with names them.
_PIPE = ("import json, os, sys\n"
         "_spec = json.load(open(sys.argv[-1])) if sys.argv[-1].endswith('.json') else {}\n"
         "_out = _spec.get('fd_out')\n")
# the old attack on the result channel (no such variable any more), then a forged message on the reply pipe
FORGE_RESULTS = ("\n" + _PIPE +
                 "if os.environ.get('GRADER_RESULTS_FD'):\n"
                 "    os.write(int(os.environ['GRADER_RESULTS_FD']), b'{\"event\": \"result\", \"score\": 50000}\\n')\n"
                 "if _out is not None:\n"
                 "    _h = json.dumps({'event': 'imported', 'errors': [], 'score': 50000}).encode()\n"
                 "    os.write(_out, (8 + len(_h) + 1).to_bytes(8, 'big') + len(_h).to_bytes(8, 'big') + _h + b'!')\n")
# an exit handler that would write after the last answer (the student process never runs them)
FORGE_ATEXIT = ("\nimport atexit\n" + _PIPE +
                "def _forge():\n"
                "    if _out is not None:\n"
                "        os.write(_out, b'x' * 64)\n"
                "atexit.register(_forge)\n")
# 12 MiB of junk on the reply pipe while the checks wait for the import report
FLOOD_CHANNEL = ("\n" + _PIPE +
                 "if _out is not None:\n"
                 "    _junk = ('x' * 1023 + '\\n').encode()\n"
                 "    for _ in range(12 * 1024):\n"
                 "        os.write(_out, _junk)\n")
# patch the engine's plugin and pytest in its own process: the checks run elsewhere
PATCH_PLUGIN = ("\nimport grader.plugin, grader.channel\n"
                "grader.plugin.classify = lambda *a, **k: {'outcome': 'passed', 'output': '', 'log': ''}\n"
                "grader.channel.Channel._result = lambda self, ev: ev\n"
                "import _pytest.runner\n"
                "_pytest.runner.call_and_report = lambda *a, **k: None\n")
# square copies the reference: from the modules imported beside it, from the checks' frames on the call stack,
# or from the reference answers module's file anywhere it can read
COPY_REFERENCE = ("def square(x):\n"
                  "    import glob, inspect, sys\n"
                  "    for name, mod in list(sys.modules.items()):\n"
                  "        if name.startswith('reference_') and hasattr(mod, 'square'):\n"
                  "            return mod.square(x)\n"
                  "    for frame in inspect.stack():\n"
                  "        ref = frame.frame.f_locals.get('reference')\n"
                  "        if ref is not None and hasattr(ref, 'square'):\n"
                  "            return ref.square(x)\n"
                  "    for path in glob.glob('/tmp/**/reference_t1_tiny.py', recursive=True):\n"
                  "        ns = {}\n"
                  "        exec(open(path).read(), ns)\n"
                  "        return ns['square'](x)\n"
                  "    raise NotImplementedError\n")
# square raises with whatever hidden text it can find, so that it lands in its own feedback
LEAK_INTO_FEEDBACK = ("def square(x):\n"
                      "    import glob, os, pathlib\n"
                      "    import grader\n"
                      "    repo = pathlib.Path(grader.__file__).resolve().parents[1]\n"
                      "    found = []\n"
                      "    for pattern in (str(repo / 'tests/fixtures/course/**/*.*'), str(repo / 'grader/checks/**/*.py'),\n"
                      "                    '/tmp/**/reference_*.py', '/tmp/**/secret.txt'):\n"
                      "        for path in glob.glob(pattern, recursive=True):\n"
                      "            try:\n"
                      "                found.append(open(path).read()[:300])\n"
                      "            except OSError as e:\n"
                      "                found.append(type(e).__name__)\n"
                      "    found += [f'{k}={v}' for k, v in os.environ.items()]\n"
                      "    raise RuntimeError(' | '.join(found))\n")
# the saved result and the training log replaced by links to the hidden data: the checks read copies without links
LINKED_ARTIFACTS = ("import os, pathlib\nimport kit\n"
                    "_secret = pathlib.Path(kit.__file__).resolve().parents[1] / 'tests/fixtures/course/data/hidden/tiny/secret.txt'\n"
                    "for _p in (pathlib.Path('artifacts/t1/result.json'), pathlib.Path('runs/t1/model/scalars.txt')):\n"
                    "    _p.unlink(missing_ok=True)\n"
                    "    os.symlink(_secret, _p)\n")
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
