"""Are the hidden checks valid? Mistakes lose points exactly where meant; right work scores full marks.

Generic runner over the libraries written beside this file, one pair per assignment:

``<short>_mistakes.py``
    ``MISTAKES = [(mistake_id, grade_id, replacement_cell_source, expected_failing_check_names), ...]``:
    the master with the answer cell ``grade_id`` replaced must lose points on exactly the
    checks named (test function names; a parametrised check matches by its base name) and
    keep every other answer check.
``<short>_alternatives.py``
    ``ALTERNATIVES = [(alt_id, grade_id, replacement_cell_source), ...]``: must score full marks.

Every mistake becomes a submission graded in one answers-only batch per assignment (the engine
itself, with two workers). Alternatives are graded in combinations, one alternative per answer
cell (``alternative_rounds``): a student may well write several of them, and a combination
that scores full marks shows each of its alternatives does. When a combination loses points,
each of its alternatives is graded alone, so that the failure names the one at fault (and an
alternative that only fails beside another is judged on its own). Built in: the reference must pass every answer check and the
generated stub must score 0 with every answer check reported "not implemented" (or
"missing") and no grader error. A library file that does not exist yet is skipped with a
reason. The slow tests execute the reference notebooks for real and require full marks on
the run checks too. The catch rate and false failures are written to
``bench/validity.json``.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
import pytest

from grader.batch import Options, grade_assignment
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


def alternative_rounds(alternatives: list[tuple]) -> list[list[tuple]]:
    """The alternatives in combinations that replace each answer cell at most once (library order).

    Examples
    --------
    >>> [[a[0] for a in r] for r in alternative_rounds([("a", "x", ""), ("b", "x", ""), ("c", "y", "")])]
    [['a', 'c'], ['b']]
    """
    rounds: list[list[tuple]] = []
    for alt in alternatives:
        free = next((r for r in rounds if all(a[1] != alt[1] for a in r)), None)
        if free is None:
            rounds.append([alt])
        else:
            free.append(alt)
    return rounds


def round_id(number: int) -> str:
    """The case id of the ``number``-th combination of alternatives."""
    return f"alternatives-{number + 1}"


def build_rounds(master: nbformat.NotebookNode, alternatives: list[tuple] | None) -> dict[str, nbformat.NotebookNode]:
    """``round id -> submission``: the master with every alternative of a round in its cell."""
    cases = {}
    for i, rnd in enumerate(alternative_rounds(alternatives or [])):
        nb = copy.deepcopy(master)
        for alt in rnd:
            _set_cell(nb, alt[1], alt[2])
        cases[round_id(i)] = nb
    return cases


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
    """``graded[assignment] -> {case id: record}``: an assignment's cases, graded in one batch when first asked for.

    Lazy, so that ``pytest -k a3`` grades assignment 3's cases only.
    """

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self._factory, self._records, self._alone = factory, {}, {}

    @staticmethod
    def _master(assignment: str) -> nbformat.NotebookNode:
        return nbformat.read(REPO / "solutions" / f"{assignment}.ipynb", as_version=4)

    def __getitem__(self, assignment: str) -> dict[str, dict]:
        if assignment not in self._records:
            short = next(k for k, v in ASSIGNMENTS.items() if v == assignment)
            master = self._master(assignment)
            alternatives = _safe_library(short, "alternatives")
            cases = {**build_cases(master, _safe_library(short, "mistakes"), None), **build_rounds(master, alternatives)}
            self._records[assignment] = grade_cases(assignment, cases, self._factory.mktemp(f"validity-{short}"))
        return self._records[assignment]

    def alternative(self, assignment: str, alt: tuple) -> list[str]:
        """What is wrong with how ``alt`` scored: in its combination, or alone when the combination lost points."""
        short = next(k for k, v in ASSIGNMENTS.items() if v == assignment)
        rounds = alternative_rounds(_safe_library(short, "alternatives") or [])
        number = next(i for i, r in enumerate(rounds) if any(a[0] == alt[0] for a in r))
        problems = judge("alternative", alt, self[assignment][round_id(number)])
        if not problems:
            return []
        if (assignment, alt[0]) not in self._alone:
            cases = {k: v for k, v in build_cases(self._master(assignment), None, [alt]).items()
                     if k.startswith("alternative-")}
            records = grade_cases(assignment, cases, self._factory.mktemp(f"validity-{short}-{alt[0]}"))
            self._alone[(assignment, alt[0])] = records[f"alternative-{alt[0]}"]
        return judge("alternative", alt, self._alone[(assignment, alt[0])])


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
    if kind == "alternative":
        problems = graded_cases.alternative(assignment, case)
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
