"""The student's feedback page: per-check results and messages, nothing of the checks' source.

Only what a record holds is rendered: check titles, points, outcomes and the student-facing
outputs produced by :mod:`grader.plugin` (messages, details, the student's own traceback).
Checks and written answers are grouped under the notebook part of the cell each is about
(``check(cell=...)``), in notebook order; an answers-only record is scored out of the answer
checks' points and says how many more a full run can give. Everything is HTML-escaped.
"""
from __future__ import annotations

import html

from grader.record import CheckResult, Outcome, Record, shorten

__all__ = ["render_feedback", "title_of"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.5rem} h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;width:100%} td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}
.passed{color:#17692f;font-weight:600} .other{color:#a4161a;font-weight:600} .pending{color:#8a5a00;font-weight:600}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.5rem;margin:.3rem 0;font-size:.85rem}
.score{font-size:1.3rem} .note{color:#555}
"""

_LABEL = {"passed": "passed", "failed": "failed", "error": "error in your code", "not_implemented": "not implemented",
          "missing": "missing", "timeout": "timed out", "not_run": "not run", "crashed": "crashed"}


def _e(s: object) -> str:
    return html.escape(str(s), quote=True)


def render_feedback(record: Record) -> str:
    """HTML text of the feedback page of one gradebook record."""
    r = record
    later = sum(c.max_score for c in r.checks if c.run) if r.answers_only else 0.0
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(r.assignment)}: "
             f"{_e(r.student)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{_e(r.assignment)} — feedback for {_e(r.student)}</h1>",
             f"<p class='score'>Automatic score: <b>{r.score:g} / {r.max_score - later:g}</b>"
             + (f" <span class='note'>({later:g} more points need a full run of the notebook: the checks of "
                "trained models and logs were not run)</span>" if later else "") + "</p>"]
    if r.manual:
        parts.append(f"<p class='pending'>Plus {sum(m['points'] for m in r.manual):g} point(s) of written answers "
                     "to be graded by hand (manual, pending).</p>")
    parts.append(f"<p>Status: <b>{_e(r.status.value)}</b></p>")
    if r.reason:
        parts.append(f"<p class='note'>{_e(r.reason)}</p>")
    notes = [p["message"] for p in r.problems]
    notes += [f"answer cell '{e['grade_id']}' failed when imported: {e['error']}" for e in r.import_errors]
    if notes:
        parts.append("<h2>About your notebook</h2><ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    ex = r.execution
    if ex:
        parts.append("<h2>Running your notebook</h2>")
        line = (f"It ran in {ex.get('seconds', 0):.0f} s" if ex.get("status") == "completed"
                else f"It stopped: {ex.get('reason', '')}")
        parts.append(f"<p>{_e(line)}.</p>")
        if ex.get("failed_cells"):
            parts.append("<ul>" + "".join(
                f"<li>cell {c['index']}{' (' + _e(c['grade_id']) + ')' if c.get('grade_id') else ''}: "
                f"{_e(c['ename'])}: {_e(shorten(c['evalue'], 300))}</li>" for c in ex["failed_cells"]) + "</ul>")
    groups = _by_part(r)
    for part, checks, manual in groups:
        parts.append(f"<h2>{_e(part or ('Checks' if len(groups) == 1 else 'Other checks'))}</h2>")
        parts.append("<table><tr><th>check</th><th>points</th><th>result</th></tr>")
        for c in checks:
            passed = c.outcome is Outcome.PASSED
            out = "" if passed or not c.output else f"<pre>{_e(c.output)}</pre>"
            parts.append(f"<tr><td title='{_e(c.name)}'>{_e(title_of(c))}</td><td>{c.score:g} / {c.max_score:g}</td>"
                         f"<td><span class='{'passed' if passed else 'other'}'>"
                         f"{_e(_LABEL.get(c.outcome.value, c.outcome.value))}</span>{out}</td></tr>")
        for m in manual:
            parts.append(f"<tr><td>written answer '{_e(m['grade_id'])}'</td><td>– / {m['points']:g}</td>"
                         "<td><span class='pending'>manual, pending</span></td></tr>")
        parts.append("</table>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def title_of(check: CheckResult) -> str:
    """The check's human title (older records without one: its name, humanised)."""
    return check.title or check.name.removeprefix("test_").replace("_", " ").capitalize()


def _by_part(r: Record) -> list[tuple[str, list[CheckResult], list[dict]]]:
    """``(part, visible checks, written answers)`` in notebook order (the record keeps checks in it)."""
    order: list[str] = []
    checks: dict[str, list[CheckResult]] = {}
    manual: dict[str, list[dict]] = {}
    for c in r.checks:
        if c.visibility != "hidden":
            checks.setdefault(c.part, []).append(c)
            order += [c.part] if c.part not in order else []
    for m in r.manual:
        manual.setdefault(m.get("part", ""), []).append(m)
        order += [m.get("part", "")] if m.get("part", "") not in order else []
    named = [p for p in order if p]
    if named:  # parts in the order their first check appears, checks naming no cell after them
        order = sorted(named, key=_part_number) + ([""] if "" in order else [])
    return [(p, checks.get(p, []), manual.get(p, [])) for p in order]


def _part_number(part: str) -> float:
    """``"Part 3 — ..."`` -> 3 (a part without a number keeps its place: inf sorts it last)."""
    words = part.split()
    return float(words[1]) if len(words) > 1 and words[0] == "Part" and words[1].isdigit() else float("inf")
