"""Are the hidden checks valid? Mistakes lose points exactly where meant; right work scores full marks.

Generic runner over the libraries written beside this file, one pair per assignment:

``<short>_mistakes.py``
    ``MISTAKES = [(mistake_id, grade_id, replacement_cell_source, expected_failing_check_names), ...]``:
    the master with the answer cell ``grade_id`` replaced must lose points on exactly the
    checks named (test function names; a parametrised check matches by its base name) and
    keep every other answer check.
``<short>_alternatives.py``
    ``ALTERNATIVES = [(alt_id, grade_id, replacement_cell_source), ...]``: must score full marks.

Cases are graded answers-only by the engine itself (two workers), in combinations, one case
per answer cell (``case_rounds``), so that an assignment costs a few submissions instead of one
per case. A combination must lose points on exactly the union of its mistakes' expected checks
(an alternative expects none: a student may well write several alternatives, and they must all
score). That proves each case scores as intended only if no case can reach another's expected
checks, so two cases share a combination only when neither's expected checks may run the
other's cell (``check_cells``: the answer cells whose names a check's code, the helpers,
constants and fixtures it names and the support modules mention, closed over the cells those
cells name). Checks do not share state (each has its own seeded ``rng``), as pytest assumes too.
When a combination scores otherwise, each of its cases is graded alone, so that the failure
names the one at fault (and a case that only misbehaves beside another is judged on its own).
Built in: the reference must pass every answer check and the
generated stub must score 0 with every answer check reported "not implemented" (or
"missing") and no grader error. A library file that does not exist yet is skipped with a
reason. The slow tests execute the reference notebooks for real and require full marks on
the run checks too. The catch rate and false failures are written to
``bench/validity.json``.
"""
from __future__ import annotations

import ast
import copy
import json
import re
from pathlib import Path
from typing import Callable, Iterable

import nbformat
import pytest

from grader.batch import Options, grade_assignment
from grader.extract import defined_names
from authoring.cases import load_cases

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
ASSIGNMENTS = {"a1": "a1_spoken_digits", "a2": "a2_text_generation", "a3": "a3_fake_or_real", "a4": "a4_voices"}


def _library(short: str, kind: str) -> list[tuple] | None:
    return load_cases(HERE / f"{short}_{kind}.py", kind.upper())


def _safe_library(short: str, kind: str) -> list[tuple] | None:
    try:
        return _library(short, kind)
    except Exception:  # noqa: BLE001 - reported by its own failing case
        return None


def _cases() -> list[pytest.param]:
    out = []
    for short, assignment in ASSIGNMENTS.items():
        for kind in ("mistakes", "alternatives"):
            try:
                lib = _library(short, kind)
            except Exception as e:  # noqa: BLE001 - a broken library is one failing case, not a broken run
                out.append(pytest.param(assignment, "broken", (f"{type(e).__name__}: {e}",),
                                        id=f"{short}-{kind}-does-not-load"))
                continue
            if lib is None:
                out.append(pytest.param(assignment, kind, None, id=f"{short}-{kind}-missing",
                                        marks=pytest.mark.skip(reason=f"tests/validity/{short}_{kind}.py does not exist yet")))
                continue
            for case in lib:
                out.append(pytest.param(assignment, kind, case, id=f"{short}-{kind[:-1]}-{case[0]}"))
        out.append(pytest.param(assignment, "builtin", ("reference",), id=f"{short}-reference"))
        out.append(pytest.param(assignment, "builtin", ("stub",), id=f"{short}-stub"))
    return out


def _ready(assignment: str) -> str | None:
    if not (REPO / "solutions" / f"{assignment}.ipynb").is_file():
        return f"solutions/{assignment}.ipynb does not exist yet"
    if not any((REPO / "grader" / "checks" / assignment).glob("test_*.py")):
        return f"grader/checks/{assignment}/ has no checks yet"
    return None


def _set_cell(nb: nbformat.NotebookNode, grade_id: str, source: str) -> nbformat.NotebookNode:
    for c in nb.cells:
        if (c.get("metadata", {}).get("nbgrader") or {}).get("grade_id") == grade_id:
            if not c.metadata["nbgrader"].get("solution"):
                raise AssertionError(f"cell {grade_id!r} is not an answer cell; a case must replace an answer cell")
            c.source = source
            return nb
    raise AssertionError(f"no cell with grade_id {grade_id!r} in the master; check the library entry")


def build_cases(master: nbformat.NotebookNode, mistakes: list[tuple] | None,
                alternatives: list[tuple] | None) -> dict[str, nbformat.NotebookNode]:
    """``case id -> submission``: the reference, the stub and one notebook per library entry."""
    from authoring.notebooks import student_notebook

    cases = {"reference": copy.deepcopy(master), "stub": student_notebook(copy.deepcopy(master))}
    for kind, lib in (("mistake", mistakes), ("alternative", alternatives)):
        for case in lib or []:
            cases[f"{kind}-{case[0]}"] = _set_cell(copy.deepcopy(master), case[1], case[2])
    return cases


def combine(cases: Iterable[tuple], compatible: Callable[[tuple, tuple], bool]) -> list[list[tuple]]:
    """``cases`` in combinations of pairwise ``compatible`` cases (first fit, library order).

    Examples
    --------
    >>> [[c[0] for c in r] for r in combine([("a", 1), ("b", 1), ("c", 2)], lambda x, y: x[1] != y[1])]
    [['a', 'c'], ['b']]
    """
    rounds: list[list[tuple]] = []
    for case in cases:
        free = next((r for r in rounds if all(compatible(case, other) for other in r)), None)
        if free is None:
            rounds.append([case])
        else:
            free.append(case)
    return rounds


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _words(node: ast.AST, *, strings: bool) -> set[str]:
    """The identifiers ``node`` uses: names and attributes, not its comments or docstrings.

    Attributes of ``reference`` (the reference answers, which run no student cell) are left
    out; with ``strings``, the words of string constants count too (a check may name a student
    function in a string, e.g. in ``parametrize``).
    """
    out: set[str] = set()
    docstrings = {id(b.body[0].value) for b in ast.walk(node)
                  if isinstance(b, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                  and b.body and isinstance(b.body[0], ast.Expr) and isinstance(b.body[0].value, ast.Constant)}
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            out.add(n.id)
        elif isinstance(n, ast.Attribute):
            if not (isinstance(n.value, ast.Name) and n.value.id == "reference"):
                out.add(n.attr)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(n.name)
        elif strings and isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings:
            out.update(_WORD.findall(n.value))
    return out


def _source_words(source: str) -> set[str]:
    """:func:`_words` of a cell's source (every word of it if it does not parse)."""
    try:
        return _words(ast.parse(source), strings=False)
    except SyntaxError:
        return set(_WORD.findall(source))


def check_cells(master: nbformat.NotebookNode, checks: Path) -> dict[str, set[str]]:
    """``check function name -> answer cells`` whose code the check may run (over-approximated).

    A check's words are the identifiers and string words of its code (decorators included; not
    docstrings, comments, or attributes of ``reference``) and, transitively, those of every
    top-level definition of the ``checks`` folder (helpers, constants, fixtures, support modules)
    named among them; a top-level statement that binds no name counts for every check. The check
    may run an answer cell when its words hold a name the cell defines (and no locked cell does),
    and then every answer cell whose code (not docstrings or comments) names that cell's names,
    and so on.
    """
    answer = {(c.metadata.get("nbgrader") or {}).get("grade_id"): c.source for c in master.cells
              if c.cell_type == "code" and (c.metadata.get("nbgrader") or {}).get("solution")}
    locked = set().union(*(defined_names(c.source, imports=True) for c in master.cells if c.cell_type == "code"
                           and not (c.metadata.get("nbgrader") or {}).get("solution")))
    defines = {g: defined_names(src, imports=True) - locked for g, src in answer.items()}

    def cells_named(words: set[str]) -> set[str]:
        return {g for g, names in defines.items() if names & words}

    closure: dict[str, set[str]] = {}
    for g in answer:
        seen, todo = set(), [g]
        while todo:
            x = todo.pop()
            if x not in seen:
                seen.add(x)
                todo.extend(cells_named(_source_words(answer[x])) - seen)
        closure[g] = seen

    helpers: dict[str, set[str]] = {}     # top-level name -> words of its definitions
    always: set[str] = set()
    tests: dict[str, set[str]] = {}
    for f in sorted(checks.glob("*.py")):
        for node in ast.parse(f.read_text()).body:
            words = _words(node, strings=True)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
                tests[node.name] = tests.get(node.name, set()) | words
                continue
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
                continue                                  # a docstring runs nothing
            names = defined_names(ast.unparse(node), imports=True) if not isinstance(node, (ast.If, ast.Try)) else set()
            if not names:
                always |= words
            for name in names:
                helpers.setdefault(name, set()).update(words)
    out: dict[str, set[str]] = {}
    for name, words in tests.items():
        seen, todo = set(words | always), list(words | always)
        while todo:
            for w in helpers.get(todo.pop(), ()):
                if w not in seen:
                    seen.add(w)
                    todo.append(w)
        out[name] = set().union(*(closure[g] for g in cells_named(seen)))
    return out


def runs_code(source: str) -> bool:
    """Whether a cell does more at top level than define functions, classes, imports and call-free constants.

    Such a cell acts when the answers module is imported, before any check (seeding, patching a
    library), so it may reach every check: its case is graded alone.

    Examples
    --------
    >>> runs_code("import numpy as np\\nSCALE = 2\\ndef f(x):\\n    return np.sum(x)")
    False
    >>> runs_code("np.random.seed(0)\\ndef f(x):\\n    return x")
    True
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return True
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and not any(isinstance(n, ast.Call) for n in ast.walk(node)):
            continue
        return True
    return False


def case_rounds(mistakes: list[tuple], alternatives: list[tuple],
                cells_of_check: dict[str, set[str]]) -> list[list[tuple[str, tuple]]]:
    """Every case in combinations of ``(kind, case)``, one case per answer cell (library order).

    An alternative is a mistake expected to lose nothing. Two cases share a combination when
    neither's expected checks can run the other's cell (``cells_of_check`` is ``check_cells``'s
    map; an expected check it does not know may run any cell, so its mistake is graded alone, as
    is a case whose cell :func:`runs_code`). Mistakes are placed first, then alternatives fill
    the combinations they fit.
    """
    everything = {c[1] for c in [*mistakes, *alternatives]}

    def reach(entry: tuple[str, tuple]) -> set[str]:
        kind, case = entry
        return set() if kind == "alternative" else set().union(
            *(cells_of_check.get(_base(n), everything) for n in case[3]))

    def compatible(a: tuple[str, tuple], b: tuple[str, tuple]) -> bool:
        return (a[1][1] != b[1][1] and a[1][1] not in reach(b) and b[1][1] not in reach(a)
                and not runs_code(a[1][2]) and not runs_code(b[1][2]))

    return combine([("mistake", m) for m in mistakes] + [("alternative", x) for x in alternatives], compatible)


def round_id(number: int) -> str:
    """The case id of the ``number``-th combination."""
    return f"combination-{number + 1}"


def build_rounds(master: nbformat.NotebookNode,
                 rounds: list[list[tuple[str, tuple]]]) -> dict[str, nbformat.NotebookNode]:
    """``round id -> submission``: the master with every case of a combination in its cell."""
    cases = {}
    for i, rnd in enumerate(rounds):
        nb = copy.deepcopy(master)
        for _, case in rnd:
            _set_cell(nb, case[1], case[2])
        cases[round_id(i)] = nb
    return cases


def judge_round(rnd: list[tuple[str, tuple]], record: dict) -> list[str]:
    """What is wrong with how a combination scored (empty: every case in it as intended).

    It must lose points on exactly the expected checks of its mistakes (its alternatives expect none).
    """
    expected = [n for kind, case in rnd if kind == "mistake" for n in case[3]]
    return judge("mistake", ("combination", None, None, expected), record)


def grade_cases(assignment: str, cases: dict[str, nbformat.NotebookNode], tmp: Path, **options) -> dict[str, dict]:
    """Grade ``cases`` answers-only in one batch (2 workers); ``case id -> record``."""
    subs = tmp / "submitted"
    for name, nb in cases.items():
        folder = subs / name / assignment
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{assignment}.ipynb")
    out = tmp / "gradebook"
    grade_assignment(Options(assignment=assignment, submissions=subs, out=out, workers=2,
                             answers_only=True, progress=False, **options))
    return {p.stem: json.loads(p.read_text()) for p in (out / assignment / "cache" / "records").glob("*.json")}


def judge(kind: str, case: tuple, record: dict) -> list[str]:
    """What is wrong with how ``record`` scored ``case`` (empty: as intended).

    ``kind`` is ``"reference"``, ``"stub"``, ``"mistake"`` or ``"alternative"``.
    """
    if record["status"] == "grader_error":
        return [f"grader error: {record['reason']}"]
    checks = [c for c in record["checks"] if not c["run"]]
    lost = {c["name"] for c in checks if c["score"] < c["max_score"]}
    if kind in ("reference", "alternative"):
        return [f"{c['name']} failed: {c['output']}" for c in checks if c["name"] in lost]
    if kind == "stub":
        return [f"{c['name']} scored {c['score']} ({c['outcome']}) on the stub" for c in checks
                if c["score"] > 0 or c["outcome"] not in ("not_implemented", "missing")]
    expected = set(case[3])
    known = {c["name"] for c in checks} | {_base(c["name"]) for c in checks}
    problems = [f"expected check {n!r} does not exist" for n in sorted(expected - known)]
    matched = {n for n in lost if n in expected or _base(n) in expected}
    caught = {n if n in expected else _base(n) for n in matched}
    problems += [f"not caught by {n}" for n in sorted(expected - caught - (expected - known))]
    problems += [f"also lost points on {n}" for n in sorted(lost - matched)]
    return problems


def _base(name: str) -> str:
    return name.split("[", 1)[0]


class _GradedCases:
    """An assignment's cases, graded in one batch of combinations when first asked for.

    ``graded[assignment]`` is ``{case id: record}`` of the reference, the stub and every
    combination; ``graded.case(assignment, kind, case)`` judges one library entry. Lazy, so that
    ``pytest -k a3`` grades assignment 3's cases only.
    """

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self._factory = factory
        self._records: dict[str, dict[str, dict]] = {}
        self._rounds: dict[str, dict[str, list[list[tuple]]]] = {}
        self._alone: dict[tuple[str, str, str], dict] = {}

    @staticmethod
    def _master(assignment: str) -> nbformat.NotebookNode:
        return nbformat.read(REPO / "solutions" / f"{assignment}.ipynb", as_version=4)

    @staticmethod
    def _short(assignment: str) -> str:
        return next(k for k, v in ASSIGNMENTS.items() if v == assignment)

    def rounds(self, assignment: str) -> list[list[tuple[str, tuple]]]:
        """The assignment's combinations of ``(kind, case)`` (:func:`case_rounds`)."""
        if assignment not in self._rounds:
            short, master = self._short(assignment), self._master(assignment)
            cells = check_cells(master, REPO / "grader" / "checks" / assignment)
            self._rounds[assignment] = case_rounds(_safe_library(short, "mistakes") or [],
                                                   _safe_library(short, "alternatives") or [], cells)
        return self._rounds[assignment]

    def __getitem__(self, assignment: str) -> dict[str, dict]:
        if assignment not in self._records:
            master = self._master(assignment)
            cases = {**build_cases(master, None, None), **build_rounds(master, self.rounds(assignment))}
            self._records[assignment] = grade_cases(assignment, cases,
                                                    self._factory.mktemp(f"validity-{self._short(assignment)}"))
        return self._records[assignment]

    def case(self, assignment: str, kind: str, case: tuple) -> list[str]:
        """What is wrong with how ``case`` (a ``"mistake"`` or an ``"alternative"``) scored.

        Judged in its combination; when the combination did not score as intended, every case of
        it is graded alone (one batch) and ``case`` is judged on its own record.
        """
        number, rnd = next((i, r) for i, r in enumerate(self.rounds(assignment)) if (kind, case) in r)
        record = self[assignment][round_id(number)]
        if len(rnd) == 1:
            return judge(kind, case, record)
        if not judge_round(rnd, record):
            return []
        if (assignment, kind, case[0]) not in self._alone:
            mistakes = [c for k, c in rnd if k == "mistake"]
            alternatives = [c for k, c in rnd if k == "alternative"]
            cases = {k: v for k, v in build_cases(self._master(assignment), mistakes, alternatives).items()
                     if k not in ("reference", "stub")}
            records = grade_cases(assignment, cases,
                                  self._factory.mktemp(f"validity-{self._short(assignment)}-{round_id(number)}"))
            for k, other in rnd:
                self._alone[(assignment, k, other[0])] = records[f"{k}-{other[0]}"]
        return judge(kind, case, self._alone[(assignment, kind, case[0])])


@pytest.fixture(scope="session")
def graded_cases(tmp_path_factory: pytest.TempPathFactory) -> _GradedCases:
    """Every case of every ready assignment, graded once (per assignment, on first use)."""
    return _GradedCases(tmp_path_factory)


_SUMMARY: dict[str, dict] = {}


@pytest.mark.parametrize(("assignment", "kind", "case"), _cases())
def test_does_each_case_score_as_intended(graded_cases, assignment, kind, case):
    if kind == "broken":
        pytest.fail(f"the library does not load: {case[0]}")
    why = _ready(assignment)
    if why:
        pytest.skip(why)
    if kind == "builtin":
        kind, key = case[0], case[0]
    else:
        kind, key = kind[:-1], f"{kind[:-1]}-{case[0]}"
    if kind in ("mistake", "alternative"):
        problems = graded_cases.case(assignment, kind, case)
    else:
        problems = judge(kind, case, graded_cases[assignment][key])
    s = _SUMMARY.setdefault(assignment, {"mistakes": 0, "caught": 0, "missed": [], "alternatives": 0,
                                         "false_failures": []})
    if kind == "mistake":
        s["mistakes"] += 1
        s["caught"] += not problems
        s["missed"] += [f"{case[0]}: {p}" for p in problems]
    elif kind == "alternative":
        s["alternatives"] += 1
        s["false_failures"] += [f"{case[0]}: {p}" for p in problems]
    _write_summary()
    assert not problems, problems


def _write_summary() -> None:
    path = REPO / "bench" / "validity.json"
    path.parent.mkdir(exist_ok=True)
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        doc = {}
    for a, s in _SUMMARY.items():
        doc[a] = {**s, "catch_rate": s["caught"] / s["mistakes"] if s["mistakes"] else None,
                  "false_failure_count": len(s["false_failures"])}
    path.write_text(json.dumps(doc, indent=1))


@pytest.mark.slow
@pytest.mark.parametrize("assignment", list(ASSIGNMENTS.values()))
def test_does_the_executed_reference_score_full_marks(tmp_path, assignment):
    """The reference notebook, executed for real by the engine, passes every check (run checks too)."""
    why = _ready(assignment)
    if why:
        pytest.skip(why)
    subs = tmp_path / "submitted" / "reference" / assignment
    subs.mkdir(parents=True)
    (subs / f"{assignment}.ipynb").write_bytes((REPO / "solutions" / f"{assignment}.ipynb").read_bytes())
    out = tmp_path / "gb"
    grade_assignment(Options(assignment=assignment, submissions=tmp_path / "submitted", out=out, workers=1,
                             progress=False))
    rec = json.loads((out / assignment / "cache" / "records" / "reference.json").read_text())
    failed = {c["name"]: c["output"] for c in rec["checks"] if c["score"] < c["max_score"]}
    assert not failed, failed
    assert rec["status"] == "ok", rec["reason"]
