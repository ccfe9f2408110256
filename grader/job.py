"""One student's grading job, and everything derived from the batch's configuration.

A :class:`Job` is the batch's :class:`~grader.config.Options` (resolved: absolute paths,
defaults filled in) + the student + the versions + the cores it may use; it is serialised
one way (:func:`grader.config.dump`). The worker derives the rest from it with the
functions here, which the batch uses too: the execution :class:`~grader.execute.Limits`,
the :class:`~grader.checking.CheckRun`, the kernel's sandbox :class:`~grader.sandbox.Policy`
and the folders each sandbox may read. Nothing is computed twice in two ways.
"""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from grader import config
from grader.assignments import Assignment, find
from grader.checking import CheckRun
from grader.config import Options
from grader.context import REPO
from grader.execute import Limits
from grader.gradebook import Gradebook
from grader.sandbox import Policy

__all__ = ["Job", "Versions", "check_run", "kernel_policy", "limits_of", "materialise_student_data", "package_entries", "reference_needs",
           "resolve"]

#: The kit's packages a kernel imports (readable file by file, their data caches are not).
KIT_PACKAGES = ("kit", "source_data")


@dataclasses.dataclass(frozen=True)
class Versions:
    """What invalidates cached results (see :mod:`grader.versioning`).

    Attributes
    ----------
    execution : str
        Kit, data code, execution engine, master notebook and limits: a cached execution of the
        same submission with this version is reused.
    grade : str
        ``execution`` + the checks, the engine and the reference figures: a record with this
        version (and the same submission) is final.
    """

    execution: str
    grade: str


@dataclasses.dataclass
class Job:
    """Everything a worker needs to grade one student.

    Attributes
    ----------
    options : Options
        The batch's configuration, resolved by :func:`resolve`.
    student : str
    versions : Versions
    threads : int
        Threads per numeric library for the kernel and the check process.
    cpus : tuple of int or None
        The cores this student's processes are pinned to (None: not pinned).
    """

    options: Options
    student: str
    versions: Versions
    threads: int = 1
    cpus: tuple[int, ...] | None = None

    def save(self, path: Path) -> Path:
        """Write the job as JSON to ``path``; returns ``path``."""
        path.write_text(config.dump(self))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Job":
        """The job :meth:`save` wrote."""
        return config.load(cls, Path(path).read_text())

    @property
    def assignment(self) -> Assignment:
        """The assignment's files."""
        return find(self.options.assignment, self.options.solutions, self.options.checks)

    @property
    def gradebook(self) -> Gradebook:
        """The assignment's gradebook folder."""
        return Gradebook(self.options.out, self.options.assignment)


def _default_hidden_data() -> Path | None:
    try:
        import source_data as sd

        return Path(sd.data_dir()).resolve()
    except Exception:  # noqa: BLE001 - the data package is optional for tiny assignments
        return None


def resolve(opts: Options) -> Options:
    """``opts`` with absolute folders and the data folders' defaults filled in.

    The submissions folder is made absolute once for the whole batch: workers record notebook
    paths under it, and a later run recognises finished students by comparing with them.
    """
    hidden = opts.hidden_data.resolve() if opts.hidden_data else _default_hidden_data()
    student = (opts.student_data.resolve() if opts.student_data
               else opts.out.resolve() / ".student-data")
    key = opts.hidden_key or Gradebook(opts.out, opts.assignment).hidden_key()
    return dataclasses.replace(opts, submissions=opts.submissions.resolve(), out=opts.out.resolve(),
                               solutions=opts.solutions.resolve(), checks=opts.checks.resolve(),
                               hidden_data=hidden, student_data=student, hidden_key=key)


def materialise_student_data(dest: Path) -> None:
    """Make the student-only data folder ``dest`` (links into the data cache where possible), once.

    A folder made by an older kit (one that lacks a dataset added since) is made again.
    """
    import source_data as sd

    if not sd.is_current_student_folder(dest):
        try:
            sd.materialise_student(dest, link=True)
        except OSError:
            sd.materialise_student(dest, link=False)
    dest.chmod(0o755)  # made by mkdtemp (0700); a kernel running as another user must read it


def reference_module_path(gb: Gradebook) -> Path:
    """Where the batch writes the reference answers module the checks compare with."""
    return gb.dir("cache/reference") / "reference_answers.py"


def limits_of(opts: Options, threads: int, cpus: tuple[int, ...] | None = None) -> Limits:
    """The notebook execution limits of ``opts``."""
    return Limits(timeout=opts.timeout, cell_timeout=opts.cell_timeout, wall_factor=opts.wall_factor,
                  memory=opts.memory, disk=opts.disk, threads=threads, cpus=cpus)


def kit_list_dirs() -> list[str]:
    """The kit's package folders: a sandbox may list them (imports need it), not read all below."""
    return [str(REPO / pkg) for pkg in KIT_PACKAGES if (REPO / pkg).is_dir()]


def kit_read_paths() -> list[str]:
    """What a kernel may read of the kit: the packages' files, not their data caches."""
    return [path for pkg in KIT_PACKAGES for path in package_entries(REPO / pkg)]


def package_entries(root: Path, skip: tuple[str, ...] = ()) -> list[str]:
    """The files and subfolders of a package folder, without data caches, bytecode, dot-files and ``skip``."""
    return [str(entry) for entry in (sorted(root.iterdir()) if root.is_dir() else [])
            if entry.name not in ("cache", "__pycache__", *skip) and not entry.name.startswith(".")]


def check_run(opts: Options, threads: int, cpus: tuple[int, ...] | None = None) -> CheckRun:
    """How the checks of ``opts`` (resolved) run: folders, what the check process may read, limits."""
    gb = Gradebook(opts.out, opts.assignment)
    hidden = str(opts.hidden_data) if opts.hidden_data else None
    read = [*kit_list_dirs(), str(REPO / "grader"), str(REPO / "reference"), *([hidden] if hidden else [])]
    return CheckRun(assignment=opts.assignment, checks_dir=opts.checks, reference_module=reference_module_path(gb),
                    hidden_data=hidden, student_data=str(opts.student_data) if opts.student_data else None,
                    student_process=not opts.answers_in_check_process,
                    read=read, memory=opts.memory, timeout=opts.all_checks_timeout,
                    check_timeout=opts.check_timeout, wall_factor=opts.wall_factor, threads=threads,
                    cpus=cpus, seed=opts.seed, hidden_key=opts.hidden_key)


def kernel_policy(job: Job, workdir: Path, limits: Limits) -> Policy:
    """The sandbox of the student's kernel: it writes ``workdir`` and reads the kit and the student data."""
    o = job.options
    student = [str(o.student_data)] if o.student_data else []
    deny = [str(p) for p in (o.hidden_data, o.checks, o.solutions, o.out) if p]
    return Policy(workdir=str(workdir), read=[*kit_read_paths(), *student], list_dirs=kit_list_dirs(),
                  deny=deny, threads=limits.threads, cpus=list(limits.cpus) if limits.cpus else None,
                  address_space=4 * limits.memory + (4 << 30))


def reference_needs(assignment: Assignment) -> dict[str, float]:
    """CPU seconds the reference needs per cell (``grade_id``), from ``reference/<assignment>.json``.

    ``make reference`` records them (``notebook_execution.cell_cpu_seconds``); they are quoted to
    a student whose cell passes its CPU limit. Empty when not recorded.
    """
    try:
        doc = json.loads(assignment.reference.read_text())
        cells = (doc.get("notebook_execution") or {}).get("cell_cpu_seconds") or {}
        return {str(k): float(v) for k, v in cells.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}
