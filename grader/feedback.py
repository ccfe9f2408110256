"""The student's feedback page: per-check results and messages, nothing of the checks' source.

Only what a record holds is rendered: check names, points, outcomes and the student-facing
outputs produced by :mod:`grader.plugin` (messages, details, the student's own traceback).
Everything is HTML-escaped.
"""
from __future__ import annotations

import html

from grader.record import Outcome, Record

__all__ = ["render_feedback"]

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
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(r.assignment)}: "
             f"{_e(r.student)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{_e(r.assignment)} — feedback for {_e(r.student)}</h1>",
             f"<p class='score'>Automatic score: <b>{r.score:g} / {r.max_score:g}</b></p>"]
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
                f"{_e(c['ename'])}: {_e(c['evalue'][:300])}</li>" for c in ex["failed_cells"]) + "</ul>")
    parts.append("<h2>Checks</h2><table><tr><th>check</th><th>points</th><th>result</th></tr>")
    for c in r.checks:
        if c.visibility == "hidden":
            continue
        passed = c.outcome is Outcome.PASSED
        out = "" if passed or not c.output else f"<pre>{_e(c.output)}</pre>"
        parts.append(f"<tr><td>{_e(c.name)}</td><td>{c.score:g} / {c.max_score:g}</td>"
                     f"<td><span class='{'passed' if passed else 'other'}'>"
                     f"{_e(_LABEL.get(c.outcome.value, c.outcome.value))}</span>{out}</td></tr>")
    for m in r.manual:
        parts.append(f"<tr><td>written answer '{_e(m['grade_id'])}'</td><td>– / {m['points']:g}</td>"
                     "<td><span class='pending'>manual, pending</span></td></tr>")
    parts.append("</table></body></html>\n")
    return "\n".join(parts)
