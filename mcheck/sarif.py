"""SARIF 2.1.0 for code scanning and editors (docs/sarif.md): one `result` per stuck state, with
the trace as a code flow of one thread flow per task; inconclusive runs and bad input as tool
execution notifications, located in the model.

A peer of render.py and html.py: it reads Outcomes (runs.py) and Cases (suite.py), words them
through render.py and timeline.py, and decides nothing: in `mcheck test` it reports the cases
suite.py judged not to pass.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote

from mcheck import version
from mcheck.model import EventKind, StepKind
from mcheck.render import (
    Describer,
    compressed,
    describe_steps,
    dormant_lines,
    fixes,
    headline,
    link_text,
    occupancy_lines,
    why_lines,
)
from mcheck.render_starvation import entry_state, running_words, waiting_slots
from mcheck.runs import EXIT_BAD_INPUT, EXIT_INTERNAL_ERROR, Outcome
from mcheck.source import Source, Span
from mcheck.suite import Case, CaseStatus
from mcheck.timeline import timeline
from mcheck.trace import Status

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
RFD_609 = "https://rfd.shared.oxide.computer/rfd/0609"

RULES: tuple[dict[str, Any], ...] = (
    {
        "id": "futurelock",
        "name": "Futurelock",
        "shortDescription": {"text": "A task waits on a future that it no longer polls"},
        "fullDescription": {"text": "A set of futures that can never proceed includes one that its own task is not "
                                    "polling: a dormant holder, grantee or earlier waiter of a resource, or an unpolled "
                                    "future that would have sent what the task awaits. The task hangs forever, and "
                                    "every task that needs the resource hangs behind it."},
        "help": {"text": "Do not leave a future that holds, was handed, or queues for a resource alive and unpolled "
                         "while the task awaits something that needs that resource: drop it first (`drop(f)`), "
                         "select on it by value instead of `&mut f`, spawn it as its own task, or keep polling it. "
                         "The result's code flow is the shortest interleaving that leads to the hang."},
        "helpUri": RFD_609,
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["concurrency", "async", "tokio"]},
    },
    {
        "id": "deadlock",
        "name": "Deadlock",
        "shortDescription": {"text": "Tasks wait on each other in a cycle of polled futures"},
        "fullDescription": {"text": "A set of futures that can never proceed, each of them being polled: an AB-BA lock "
                                    "order, re-locking a held mutex, a full channel nobody receives from."},
        "help": {"text": "Acquire resources in one global order in every task, or hold one resource at a time, and "
                         "make sure some task still receives from every channel that others send on. The result's "
                         "code flow is the shortest interleaving that leads to the hang."},
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["concurrency", "async", "tokio"]},
    },
    {
        "id": "starvation",
        "name": "Starvation",
        "shortDescription": {"text": "A task waits for ever while another task loops"},
        "fullDescription": {"text": "With --starvation: no state is stuck, but the run can enter a cycle of states it "
                                    "never leaves in which this task never steps, because the tasks that go round "
                                    "never give it what it waits for (a loop that never ends, and never reaches a "
                                    "receive or a dormant future the task needs)."},
        "help": {"text": "Make the loop end (or reach what the waiting task needs), or stop waiting on it: drop the "
                         "dormant future, or receive in another task."},
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["concurrency", "async", "tokio"]},
    },
    {
        "id": "expectation-mismatch",
        "name": "ExpectationMismatch",
        "shortDescription": {"text": "The model's verdict is not the one its `// expect:` header states"},
        "fullDescription": {"text": "`mcheck test` checks each model against its `// expect:` (and `// expect-exact:`) "
                                    "header; this model's verdict in the time mode named differs, or the search was "
                                    "inconclusive, or the model has no header."},
        "help": {"text": "Fix the model (or the code it describes) or, if the new verdict is right, the header."},
        "defaultConfiguration": {"level": "error"},
    },
)
RULE_INDEX = {r["id"]: i for i, r in enumerate(RULES)}

NOTIFICATIONS: tuple[dict[str, Any], ...] = (
    {"id": "bad-input", "shortDescription": {"text": "The model is not valid input (exit 2)"}},
    {"id": "inconclusive", "shortDescription": {"text": "The search stopped before it could decide (exit 3)"}},
    {"id": "internal-error", "shortDescription": {"text": "mcheck broke its own contract (exit 4)"}},
)
NOTIFICATION_INDEX = {n["id"]: i for i, n in enumerate(NOTIFICATIONS)}

_KINDS = {EventKind.ACQUIRED: "acquire", EventKind.RELEASED: "release", EventKind.SELECT_WON: "branch",
          EventKind.LEFT_DORMANT: "danger", EventKind.SPAWNED: "call", EventKind.TASK_DONE: "exit"}


def _information_uri() -> str | None:
    """The project's home page, as its package metadata declares it (None when it declares none)."""
    try:
        meta = metadata.metadata("mcheck")
    except metadata.PackageNotFoundError:
        return None
    urls = [str(entry).partition(", ")[2] for entry in meta.get_all("Project-URL") or []]
    urls.extend(str(home) for home in meta.get_all("Home-page") or [])
    return next((u for u in urls if u.startswith("http")), None)


def driver() -> dict[str, Any]:
    d: dict[str, Any] = {"name": "mcheck", "version": version(), "semanticVersion": version(),
                         "rules": list(RULES), "notifications": list(NOTIFICATIONS)}
    uri = _information_uri()
    if uri:
        d["informationUri"] = uri
    return d


def artifact_uri(path: str) -> str:
    """A model path as a URI reference: relative paths stay relative (to where mcheck ran: the
    repository root in CI), absolute ones become file: URIs."""
    p = PurePath(path)
    if p.is_absolute():
        return Path(path).as_uri()
    return quote(p.as_posix())


def location(path: str, span: Span | None, source: Source | None, message: str = "") -> dict[str, Any]:
    phys: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(path)}}
    if span is not None:
        region: dict[str, Any] = {"startLine": span.line, "startColumn": span.col}
        if span.end_line >= span.line:
            region["endLine"] = span.end_line
            if span.end_col > span.col or span.end_line > span.line:
                region["endColumn"] = span.end_col
        if source is not None:
            region["snippet"] = {"text": source.line_text(span.line)}
        phys["region"] = region
    loc: dict[str, Any] = {"physicalLocation": phys}
    if message:
        loc["message"] = {"text": message}
    return loc


def _stuck_result(o: Outcome, case: Case | None) -> dict[str, Any]:
    assert o.model is not None and o.result is not None and o.result.trace is not None
    model, result, trace = o.model, o.result, o.result.trace
    rep = trace.report
    d = Describer(model)
    final = trace.steps[-1].state if trace.steps else trace.initial
    src = model.source
    rule = "futurelock" if result.status is Status.FUTURELOCK else "deadlock"
    cycle = compressed(model, rep.cycle)
    # Where the hang is: the future left dormant (futurelock), else the await the first culprit is stuck at.
    awaited = model.slots[cycle[0].dst] if cycle else None
    if rep.dormant:
        primary = d.var_ancestor(rep.dormant[0])
        where = location(o.path, primary.span, src, f"`{primary.label}` is left dormant here")
    else:
        task = model.tasks[model.slots[cycle[0].src].task if cycle else rep.stuck_tasks[0]]
        span = awaited.span if awaited is not None else task.span
        where = location(o.path, span, src, f"task {task.name} is stuck here")
    related: list[dict[str, Any]] = []

    def relate(span: Span | None, text: str) -> None:
        loc = location(o.path, span, src, text)
        loc["id"] = len(related) + 1
        related.append(loc)

    if rep.dormant and cycle and awaited is not None:
        relate(awaited.span, link_text(model, d, cycle[0], final))
    for r in rep.resources:
        relate(model.resources[r].span, f"{d.res(r)}: a resource the stuck tasks wait on")
    for t, path in zip(rep.victims, rep.victim_paths, strict=True):
        links = compressed(model, path)
        span = model.slots[links[0].dst].span if links else model.tasks[t].span
        relate(span, f"victim: {link_text(model, d, links[0], final)}" if links else f"victim: task {model.tasks[t].name}")
    if case is not None and case.header is not None:
        relate(case.header, f"the header expects {case.expected.value if case.expected else 'nothing'} in "
                            f"{o.time.value} time")
    why = "; ".join(w.rstrip(".") for w in why_lines(model, rep, final))
    text = " ".join([headline(model, rep), f"Why: {why}.", *dormant_lines(model, rep, final)])
    if case is not None:
        text = f"{case.why} ({o.time.value} time): {text}"
    out: dict[str, Any] = {
        "ruleId": rule,
        "ruleIndex": RULE_INDEX[rule],
        "level": "error",
        "message": {"text": text},
        "locations": [where],
        "relatedLocations": related,
        "codeFlows": [_code_flow(o)],
        "properties": {
            "time": o.time.value, "runtime": model.runtime, "engine": result.engine,
            "stuckTasks": [model.tasks[t].name for t in rep.stuck_tasks],
            "culpritTasks": [model.tasks[t].name for t in rep.culprit_tasks],
            "victims": [model.tasks[t].name for t in rep.victims],
            "dormantFutures": list(dict.fromkeys(d.var_ancestor(i).label for i in rep.dormant)),
            "resources": [model.resources[r].name for r in rep.resources],
            "firstStuckStep": trace.first_stuck,
            "traceLength": len(trace.steps),
            "states": result.stats.states,
            "fixes": fixes(model, rep),
        },
    }
    if case is not None:
        out["properties"]["expected"] = case.expected.value if case.expected else None
    return out


def _starvation_result(o: Outcome) -> dict[str, Any]:
    """A starvation found (--starvation): at the await the first starved task never leaves."""
    assert o.model is not None and o.starvation is not None
    model, found = o.model, o.starvation
    entry = entry_state(found)
    first = found.starved[0]
    at = waiting_slots(model, first, entry)
    span = at[0].span if at else next(t.span for t in model.tasks if t.name == first)
    text = (f"Task{'s' if len(found.starved) > 1 else ''} {', '.join(found.starved)} wait{'' if len(found.starved) > 1 else 's'} "
            f"for ever: the run can enter a cycle of {found.states} states that nothing leads out of, in which only "
            f"{running_words(found)} step.")
    return {"ruleId": "starvation", "ruleIndex": RULE_INDEX["starvation"], "level": "error",
            "message": {"text": text}, "locations": [location(o.path, span, model.source, f"task {first} waits here")],
            "properties": {"time": o.time.value, "runtime": model.runtime, "starvedTasks": list(found.starved),
                           "runningTasks": list(found.running), "cycleStates": found.states,
                           "traceLength": len(found.path) - 1}}


def _code_flow(o: Outcome) -> dict[str, Any]:
    assert o.model is not None and o.result is not None and o.result.trace is not None
    model, trace = o.model, o.result.trace
    d = Describer(model)
    tl = timeline(model, o.result)
    texts = describe_steps(model, o.result)
    flows: dict[int, list[dict[str, Any]]] = {t: [] for t in tl.tasks}
    if tl.has_runtime:
        flows[-1] = []
    for row, stx in zip(tl.rows, texts, strict=True):
        label = model.ts.transitions[row.transition].label
        message = f"{stx.number}. {stx.headline}" + (": " + "; ".join(stx.events) if stx.events else "")
        loc: dict[str, Any] = {
            "executionOrder": row.number,
            "importance": "essential" if row.number <= trace.first_stuck else "important",
            "location": location(o.path, stx.span, model.source, message),
        }
        kinds = list(dict.fromkeys(_KINDS[e.kind] for e in label.events if e.kind in _KINDS))
        if label.kind is StepKind.START:
            kinds.insert(0, "enter")
        if kinds:
            loc["kinds"] = kinds
        state = {d.res(occ.resource): {"text": "; ".join(occupancy_lines(model, d, occ))} for occ in row.occupancy}
        state.update({f"`{model.slots[v].label}`": {"text": "dormant: alive, and its task no longer polls it"}
                      for v in row.dormant})
        if state:
            loc["state"] = state
        flows[row.task].append(loc)
    rep = trace.report
    thread_flows = []
    for t, locs in flows.items():
        if t < 0:
            thread_flows.append({"id": "runtime", "message": {"text": "the runtime: time advances (exact time)"},
                                 "locations": locs})
            continue
        task = model.tasks[t]
        role = ("stuck, victim" if t in rep.victims else "stuck") if t in rep.stuck_tasks else \
            "running" if t in tl.alive_at_end else "completed or not started"
        if not locs:
            locs = [{"importance": "unimportant",
                     "location": location(o.path, task.span, model.source, f"task {task.name} does not run in this trace")}]
        thread_flows.append({"id": task.name, "message": {"text": f"task {task.name} ({role})"}, "locations": locs})
    return {"message": {"text": f"the shortest trace to the stuck state: {trace.first_stuck} steps"
                                + (f", then {len(trace.steps) - trace.first_stuck} in which its victims block"
                                   if len(trace.steps) > trace.first_stuck else "")},
            "threadFlows": thread_flows}


def _mismatch_result(case: Case) -> dict[str, Any]:
    o = case.outcome
    src = o.model.source if o.model is not None else o.source
    where = location(o.path, case.header, src, case.why)
    return {"ruleId": "expectation-mismatch", "ruleIndex": RULE_INDEX["expectation-mismatch"], "level": "error",
            "message": {"text": f"{o.path} ({o.time.value} time): {case.why}"}, "locations": [where],
            "properties": {"time": o.time.value, "engine": o.engine, "expected": case.expected.value if case.expected else None,
                           "got": o.what}}


def _notifications(o: Outcome) -> list[dict[str, Any]]:
    def note(kind: str, level: str, text: str, span: Span | None = None) -> dict[str, Any]:
        return {"descriptor": {"id": kind, "index": NOTIFICATION_INDEX[kind]}, "level": level,
                "message": {"text": text}, "locations": [location(o.path, span, o.source)]}

    if o.internal:
        out = note("internal-error", "error", f"{o.path}: {o.internal}")
        out["exception"] = {"kind": type(o.exception).__name__ if o.exception else "InternalError", "message": o.internal}
        return [out]
    if o.usage_error:
        return [note("bad-input", "error", o.usage_error)]
    if o.diagnostics:
        found = []
        for diag in o.diagnostics:
            found.append(note("bad-input", "error", diag.message, diag.span))
            found.extend(note("bad-input", "note", n.message, n.span) for n in diag.notes)
        return found
    reason = o.stopped or (o.result.reason if o.result is not None and o.result.status is Status.INCONCLUSIVE else "")
    if reason:
        return [note("inconclusive", "warning", f"{o.path} ({o.time.value} time): inconclusive: {reason}")]
    return []


def sarif_log(outcomes: Sequence[Outcome], exit_code: int, cases: Sequence[Case] | None = None) -> dict[str, Any]:
    """`mcheck verify`: a result per stuck state. `mcheck test` (`cases`, one per outcome): a result
    per case that did not pass (a stuck state where another verdict was expected, with its code
    flow; an `expectation-mismatch` at the header otherwise); passing cases are counted in the
    run's properties, not reported: an expected hang is the suite working (docs/sarif.md)."""
    results: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for i, o in enumerate(outcomes):
        case = cases[i] if cases is not None else None
        stuck = o.result is not None and o.result.trace is not None
        if case is None:
            if stuck:
                results.append(_stuck_result(o, None))
            if o.starvation is not None:
                results.append(_starvation_result(o))
            notes.extend(_notifications(o))
        elif case.status is CaseStatus.MISMATCH:
            results.append(_stuck_result(o, case) if stuck else _mismatch_result(case))
        elif case.status is CaseStatus.ERROR:
            notes.extend(_notifications(o))
    invocation: dict[str, Any] = {
        "executionSuccessful": exit_code not in (EXIT_BAD_INPUT, EXIT_INTERNAL_ERROR),
        "exitCode": exit_code,
        "toolExecutionNotifications": notes,
    }
    run: dict[str, Any] = {"tool": {"driver": driver()}, "invocations": [invocation], "results": results,
                           "columnKind": "unicodeCodePoints",
                           "properties": {"models": len(dict.fromkeys(o.path for o in outcomes)), "runs": len(outcomes)}}
    if cases is not None:
        run["properties"].update({"cases": len(cases), "passed": sum(c.status is CaseStatus.PASS for c in cases),
                                  "mismatched": sum(c.status is CaseStatus.MISMATCH for c in cases),
                                  "errors": sum(c.status is CaseStatus.ERROR for c in cases)})
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def render_sarif(outcomes: Sequence[Outcome], exit_code: int, cases: Sequence[Case] | None = None) -> str:
    return json.dumps(sarif_log(outcomes, exit_code, cases), indent=2) + "\n"

