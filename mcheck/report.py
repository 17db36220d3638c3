"""Text and JSON for what a command checked: one `Outcome` (runs.py) at a time through render.py,
bad input as its located diagnostics, many models as a summary table or one document listing
each, and `mcheck test`'s cases (suite.py) as its table (docs/json.md).

A peer of the SARIF and HTML renderers: it reads outcomes and decides nothing (the exit codes
come from runs.py and suite.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mcheck.errors import Diagnostic
from mcheck.render import JSON_SCHEMA, json_doc, render_text, stopped_doc
from mcheck.render_starvation import starvation_doc, starvation_text
from mcheck.runs import Outcome
from mcheck.source import Span
from mcheck.suite import Case, CaseStatus

MANY_SCHEMA = "mcheck-results/1"
TEST_SCHEMA = "mcheck-test/1"


# ---- one outcome ---------------------------------------------------------------------------------


def diagnostics_text(o: Outcome) -> str:
    """What stderr says for bad input or an internal error: `file:line:col: error: ...` with the
    source line and a caret (errors.py), or one `mcheck: ...` line."""
    if o.internal:
        return f"mcheck: {o.internal}"
    if o.usage_error:
        return f"mcheck: error: {o.usage_error}"
    return "\n".join(d.render(o.source) for d in o.diagnostics)


def outcome_text(o: Outcome, show_invariant: bool = False) -> str:
    """The text on stdout for an outcome with a verdict ('' for bad input: see diagnostics_text)."""
    if o.result is not None:
        assert o.model is not None
        if o.starvation is not None:
            return starvation_text(o.model, o.result, o.starvation, o.path)
        return render_text(o.model, o.result, o.path, show_invariant=show_invariant)
    if o.stopped:
        return f"{o.path}: inconclusive (time: {o.time.value}): {o.stopped}.\nsummary: inconclusive; engine {o.engine}\n"
    return ""


def span_doc(file: str, span: Span | None) -> dict[str, Any] | None:
    if span is None:
        return None
    return {"file": file, "line": span.line, "column": span.col, "end_line": span.end_line, "end_column": span.end_col}


def _diagnostic_doc(o: Outcome, d: Diagnostic) -> dict[str, Any]:
    file = o.source.name if o.source is not None else o.path
    doc: dict[str, Any] = {"severity": d.severity.value, "message": d.message, "span": span_doc(file, d.span)}
    if d.span is not None and o.source is not None:
        doc["source"] = o.source.line_text(d.span.line).strip()
    doc["notes"] = [_diagnostic_doc(o, n) for n in d.notes]
    return doc


def errors_doc(o: Outcome) -> list[dict[str, Any]]:
    """Bad input or an internal error as a list of diagnostic objects (docs/json.md)."""
    if o.diagnostics:
        return [_diagnostic_doc(o, d) for d in o.diagnostics]
    message = o.internal or o.usage_error
    return [{"severity": "error", "message": message, "span": None, "notes": []}]


def outcome_doc(o: Outcome, show_invariant: bool = False) -> dict[str, Any]:
    """The `mcheck-result/1` document of one outcome: a result, a run stopped before its search,
    or (with `"verdict": null`) bad input or an internal error and its `errors`."""
    if o.result is not None:
        assert o.model is not None
        doc = json_doc(o.model, o.result, o.path, show_invariant)
        if o.starvation is not None:
            doc.update(verdict="starvation", exit_code=o.exit_code, starvation=starvation_doc(o.model, o.starvation))
        return doc
    if o.stopped:
        return stopped_doc(o.path, o.time, o.engine, o.stopped)
    return {"schema": JSON_SCHEMA, "model": o.path, "time": o.time.value, "engine": o.engine, "verdict": None,
            "exit_code": o.exit_code, "errors": errors_doc(o)}


# ---- many models ---------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> list[str]:
    """Columns padded to their widest cell; the columns numbered in `right` aligned right."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        padded = (c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
        return "  ".join(padded).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _num(n: int | None) -> str:
    return "-" if n is None else f"{n:,}"


def _steps(o: Outcome) -> int | None:
    return len(o.result.trace.steps) if o.result is not None and o.result.trace is not None else None


def summary_text(outcomes: Sequence[Outcome], exit_code: int) -> str:
    """The table after the results of several models: one row each, and the exit code."""
    rows = [[o.path, o.what, _num(_steps(o)), _num(o.result.stats.states if o.result else None), f"{o.seconds:.2f}",
             str(o.exit_code)] for o in outcomes]
    n = len(outcomes)
    lines = [f"summary: {n} model{'' if n == 1 else 's'}",
             *table(["model", "verdict", "steps", "states", "seconds", "exit"], rows, right=(2, 3, 4, 5))]
    lines.append(f"exit {exit_code} (the worst of the models': 4 internal error > 2 bad input > 1 futurelock or "
                 "deadlock > 3 inconclusive > 0 safe)")
    return "\n".join(lines) + "\n"


def outcomes_json(outcomes: Sequence[Outcome], exit_code: int, many: bool, show_invariant: bool = False) -> str:
    """One model file named: its `mcheck-result/1` document as always. Several, or a directory:
    one `mcheck-results/1` document listing them."""
    if not many and len(outcomes) == 1:
        return json.dumps(outcome_doc(outcomes[0], show_invariant), indent=2) + "\n"
    doc = {"schema": MANY_SCHEMA, "exit_code": exit_code,
           "results": [outcome_doc(o, show_invariant) for o in outcomes]}
    return json.dumps(doc, indent=2) + "\n"


# ---- mcheck test ---------------------------------------------------------------------------------

_STATUS_WORD = {CaseStatus.PASS: "PASS", CaseStatus.MISMATCH: "MISMATCH", CaseStatus.ERROR: "ERROR"}


def _mode(o: Outcome) -> str:
    """The time mode, and the runtime where the model was loaded (e.g. untimed, multi-thread)."""
    return f"{o.time.value}, {o.model.runtime}" if o.model is not None else o.time.value


def suite_text(results: Sequence[Case], exit_code: int) -> str:
    rows = [[c.outcome.path, c.outcome.time.value, c.outcome.model.runtime if c.outcome.model else "-",
             c.expected.value if c.expected else "-", c.outcome.what,
             _num(c.trace_length), _num(c.states), f"{c.outcome.seconds:.2f}", _STATUS_WORD[c.status]]
            for c in results]
    lines = table(["model", "mode", "runtime", "expected", "got", "trace", "states", "seconds", "result"], rows,
                  right=(5, 6, 7))
    failed = [c for c in results if c.status is not CaseStatus.PASS]
    if failed:
        lines.append("")
    for c in failed:
        at = f" (header at {c.outcome.path}:{c.header})" if c.header else ""
        lines.append(f"{_STATUS_WORD[c.status]} {c.outcome.path} ({_mode(c.outcome)}): {c.why}{at}")
    n = {s: sum(c.status is s for c in results) for s in CaseStatus}
    lines.append("")
    lines.append(f"mcheck test: {len(results)} cases, {n[CaseStatus.PASS]} passed, {n[CaseStatus.MISMATCH]} "
                 f"mismatched, {n[CaseStatus.ERROR]} errors; exit {exit_code}")
    return "\n".join(lines) + "\n"


def suite_json(results: Sequence[Case], exit_code: int) -> str:
    n = {s: sum(c.status is s for c in results) for s in CaseStatus}
    doc = {
        "schema": TEST_SCHEMA,
        "exit_code": exit_code,
        "cases": len(results),
        "passed": n[CaseStatus.PASS],
        "mismatched": n[CaseStatus.MISMATCH],
        "errors": n[CaseStatus.ERROR],
        "results": [
            {"model": c.outcome.path, "time": c.outcome.time.value,
             "runtime": c.outcome.model.runtime if c.outcome.model is not None else None,
             "expected": c.expected.value if c.expected else None,
             "header": span_doc(c.outcome.path, c.header),
             "got": c.outcome.what, "status": c.status.value, "why": c.why or None,
             "trace_length": c.trace_length, "states": c.states, "seconds": round(c.outcome.seconds, 4),
             "result": outcome_doc(c.outcome)}
            for c in results
        ],
    }
    return json.dumps(doc, indent=2) + "\n"
