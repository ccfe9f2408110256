"""What the hidden checks are run against: the engine's instructions or the reference fallback.

The engine runs ``pytest -p grader.plugin grader/checks/<assignment>`` in a fresh process
and tells the checks what to use through environment variables:

``GRADER_ASSIGNMENT``
    Assignment name, e.g. ``a1_example`` (default: the check folder's name).
``GRADER_STUDENT_MODULE``
    Path of the student's answers module (a ``.py`` written by :mod:`grader.extract`, with
    its ``.cells.json`` beside it). Unset: the reference is used as the student.
``GRADER_REFERENCE_MODULE``
    Path of the reference answers module. Unset: built from ``solutions/<assignment>.ipynb``.
``GRADER_WORKDIR``
    Folder where the notebook was executed; ``artifacts`` is ``$GRADER_WORKDIR/artifacts/<short>``
    and ``runs`` is ``$GRADER_WORKDIR/runs/<short>`` (``short``: the assignment name up to the
    first underscore, ``a1``). Unset in engine mode (``--answers-only``): run checks are skipped
    ("not run"). Unset in the fallback: ``solutions/`` then the repository root are tried.
``GRADER_SEED``
    Base seed of the ``rng`` fixture (default 0); each check gets its own stream.
``GRADER_CHECK_TIMEOUT`` / ``GRADER_IMPORT_TIMEOUT``
    Default CPU seconds per check (60) and per answer cell import (30).
``GRADER_WALL_FACTOR``
    Wall-clock backstop of those limits, as a multiple of them (:data:`grader.limits.WALL_FACTOR`).
``GRADER_SOLUTIONS``
    Folder of the master notebooks for the fallback (default ``solutions/``).
``GRADER_EXCLUDE_CELLS``
    JSON ``{grade_id: reason}`` of student answer cells not to import (the engine sets it after
    a cell ended the check process).
``GRADER_STUDENT_PROCESS``
    ``1`` (the engine's default): the student's answers are imported and run in a process of
    their own (:mod:`grader.boundary`), never in the check process; ``0``: imported here (the
    engine before the trust boundary; for comparisons). In the fallback, ``1`` serves the
    reference from such a process, to develop checks against the boundary.
``GRADER_STUDENT_DATA``
    The student-only data folder (``KIT_DATA_DIR`` of the student process).
``GRADER_HIDDEN_KEY``
    The gradebook's key of disguised hidden clips (:mod:`grader.disguise`; read there, never
    passed to the student process).
``GRADER_ENGINE``
    Set to 1 by the engine; plain ``pytest grader/checks/<assignment>`` (unset) is the fallback
    used to develop checks: the reference is the student and every check must pass.
"""
from __future__ import annotations

import json
import os
import tempfile
import zlib
from pathlib import Path
from typing import Any, Callable

from grader.answers import LoadedAnswers, load_answers, write_answers
from grader.limits import WALL_FACTOR

__all__ = ["CheckContext", "REPO", "short_name"]

REPO = Path(__file__).resolve().parents[1]


def short_name(assignment: str) -> str:
    """``a1_example`` -> ``a1`` (the folder name under artifacts/ and runs/)."""
    return assignment.split("_", 1)[0]


class CheckContext:
    """Lazily imported answers modules and folders for one pytest session."""

    def __init__(self, environ: os._Environ | dict | None = None):
        env = os.environ if environ is None else environ
        self.engine = env.get("GRADER_ENGINE") == "1"
        self.assignment_env = env.get("GRADER_ASSIGNMENT")
        self.student_path = env.get("GRADER_STUDENT_MODULE")
        self.reference_path = env.get("GRADER_REFERENCE_MODULE")
        self.workdir = env.get("GRADER_WORKDIR")
        self.seed = int(env.get("GRADER_SEED", "0"))
        self.check_timeout = float(env.get("GRADER_CHECK_TIMEOUT", "60"))
        self.import_timeout = float(env.get("GRADER_IMPORT_TIMEOUT", "30"))
        self.wall_factor = float(env.get("GRADER_WALL_FACTOR") or WALL_FACTOR)
        self.solutions = Path(env.get("GRADER_SOLUTIONS") or REPO / "solutions")
        self.exclude: dict[str, str] = json.loads(env.get("GRADER_EXCLUDE_CELLS") or "{}")
        self.split = env.get("GRADER_STUDENT_PROCESS", "1" if self.engine else "0") == "1"
        self.student_data = env.get("GRADER_STUDENT_DATA")
        self.threads = int(env.get("OMP_NUM_THREADS") or 1)
        self.readable: list[str] = []  # more folders the student process may read (the checks' temporary files)
        self.on_student_cell: Callable[[str], None] | None = None
        self._loaded: dict[tuple[str, str], LoadedAnswers] = {}
        self._tmp: tempfile.TemporaryDirectory | None = None

    # -- which assignment -------------------------------------------------------------------
    def assignment_of(self, test_path: Path) -> str:
        """The assignment a check file belongs to (its folder under grader/checks/)."""
        return self.assignment_env or Path(test_path).resolve().parent.name

    # -- modules ------------------------------------------------------------------------------
    def reference(self, assignment: str) -> LoadedAnswers:
        """The reference answers module (imported before the student's: see ``student``)."""
        key = (assignment, "reference")
        if key not in self._loaded:
            path = self.reference_path or self._build_reference(assignment)
            self._loaded[key] = load_answers(path, f"reference_{assignment}",
                                             cell_timeout=self.import_timeout, wall_factor=self.wall_factor)
        return self._loaded[key]

    def student(self, assignment: str) -> LoadedAnswers:
        """The student's answers module; the reference itself in the fallback.

        The reference is always imported first, so that Keras objects registered under the
        same name by both modules resolve to the student's (their saved models load with
        their own classes).
        """
        key = (assignment, "student")
        if key not in self._loaded:
            ref = self.reference(assignment)
            if self.split:
                self._loaded[key] = self._remote_student(assignment, self.student_path or str(ref.path))
            elif self.student_path:
                self._loaded[key] = load_answers(self.student_path, f"student_{assignment}",
                                                 cell_timeout=self.import_timeout, wall_factor=self.wall_factor,
                                                 exclude=self.exclude, on_cell=self.on_student_cell)
            else:
                self._loaded[key] = ref
        return self._loaded[key]

    def _remote_student(self, assignment: str, module: str) -> Any:
        """The student's answers served by a :class:`grader.boundary.StudentProcess`."""
        import shutil

        from grader.boundary import RemoteAnswers, StudentProcess, student_read_paths
        from grader.procs import child_env, home_env, seed_numba_cache

        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="grader-student-")
        base = Path(self._tmp.name)
        home, code = base / "student", base / "student-code"
        code.mkdir(parents=True, exist_ok=True)
        src = Path(module)
        copy = code / f"student_{assignment}.py"  # the module alone: its folder may hold other files
        shutil.copyfile(src, copy)
        if src.with_suffix(".cells.json").is_file():
            shutil.copyfile(src.with_suffix(".cells.json"), copy.with_suffix(".cells.json"))
        read, list_dirs = student_read_paths(REPO)
        read += [str(code), *self.readable, *(p for p in (self.student_data, self.workdir) if p)]
        env = child_env(home_env(home), threads=self.threads, data=self.student_data)
        warm = os.environ.get("NUMBA_CACHE_DIR")  # librosa's compiled kernels (made by trusted code)
        seed_numba_cache(Path(warm) if warm else None, home / ".cache" / "numba")
        process = StudentProcess(copy, f"student_{assignment}", home=home, read=read, list_dirs=list_dirs,
                                 exclude=self.exclude, import_timeout=self.import_timeout,
                                 wall_factor=self.wall_factor, threads=self.threads, env=env,
                                 on_cell=self.on_student_cell)
        process.start()
        return RemoteAnswers(process)

    def student_process(self) -> Any:
        """The :class:`grader.boundary.StudentProcess` serving the student's answers, or None."""
        for (_, who), loaded in self._loaded.items():
            if who == "student" and hasattr(loaded, "process"):
                return loaded.process
        return None

    def loaded(self) -> dict[tuple[str, str], LoadedAnswers]:
        return dict(self._loaded)

    def _build_reference(self, assignment: str) -> str:
        from grader.extract import build_answers
        from grader.notebook import read_master

        master = read_master(self.solutions / f"{assignment}.ipynb")
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="grader-ref-")
        path = Path(self._tmp.name) / f"reference_{assignment}.py"
        write_answers(build_answers(master, None, title=f"{assignment} reference"), path)
        return str(path)

    # -- executed notebook ---------------------------------------------------------------------
    def run_folder(self, assignment: str, kind: str) -> Path | None:
        """``artifacts/<short>`` or ``runs/<short>`` of the executed notebook, or None."""
        sub = Path(kind) / short_name(assignment)
        if self.workdir:
            return Path(self.workdir) / sub
        if self.engine:
            return None
        for base in (self.solutions, REPO):
            if (base / sub).is_dir():
                return base / sub
        return None

    def seed_for(self, nodeid: str) -> list[int]:
        """Seed material for the ``rng`` fixture of one check (stable across runs)."""
        return [self.seed, zlib.crc32(nodeid.encode())]

    def close(self) -> None:
        sp = self.student_process()
        if sp is not None:
            sp.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
