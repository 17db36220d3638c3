"""Turns a `Result` into what a user reads: the numbered text trace, or JSON (docs/json.md).

The only module that phrases results. Step descriptions come from the transition's label (what
was polled, which select! branch won) plus the difference between the states before and after
(who was queued where, who was handed a permit), so they always match what the engine explored.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mcheck.analysis import Link, StuckReport
from mcheck.bfs import peak_rss_mib
from mcheck.compiler.sync import edge_words, event_words, handover_words
from mcheck.evaluate import State, evaluate
from mcheck.ir import EdgeKind
from mcheck.model import (
    PC_DONE,
    ST_HELD,
    CompiledModel,
    EventKind,
    ResourceInfo,
    SlotInfo,
    SlotKind,
    StepKind,
    TimeMode,
)
from mcheck.program import ResKind
from mcheck.source import Span
from mcheck.timeline import Claim, Hold, Occupancy, claims, occupancy
from mcheck.trace import Result, Status, Step, step_events

JSON_SCHEMA = "mcheck-result/1"


@dataclass(frozen=True, slots=True)
class StepText:
    number: int
    task: str
    headline: str
    span: Span | None
    events: tuple[str, ...]


class Describer:
    """Names slots, resources and tasks the way a trace talks about them."""

    def __init__(self, model: CompiledModel) -> None:
        self.m = model

    def res(self, r: int) -> str:
        return f"`{self.m.resources[r].name}`"

    def task(self, t: int) -> str:
        return self.m.tasks[t].name

    def slot(self, i: int) -> str:
        """`m.lock()` in `f1`: the slot and the innermost named future around it."""
        s = self.m.slots[i]
        if s.kind is SlotKind.ROOT:
            return f"task {s.label}"
        name = f"`{s.label}`"
        owner = self.owner(s)
        if owner is not None:
            name += f" in `{owner.label}`"
        return name

    def owner(self, s: SlotInfo) -> SlotInfo | None:
        """The innermost enclosing future that is not a task root, preferring let-bound ones."""
        cur = s.parent
        best: SlotInfo | None = None
        while cur >= 0:
            c = self.m.slots[cur]
            if c.kind is SlotKind.ROOT:
                break
            if c.is_var:
                return c
            if best is None:
                best = c
            cur = c.parent
        return best

    def var_ancestor(self, i: int) -> SlotInfo:
        """The let-bound future that makes slot i dormant (itself if it is one)."""
        cur = i
        while cur >= 0:
            s = self.m.slots[cur]
            if s.is_var:
                return s
            cur = s.parent
        return self.m.slots[i]

    def task_of(self, i: int) -> str:
        return self.m.tasks[self.m.slots[i].task].name

    def owners(self, r: int, state: State) -> str:
        """Who holds or was handed resource r in state, as text."""
        parts = []
        for c in claims(self.m, state):
            if c.resource != r:
                continue
            task = self.m.tasks[self.m.slots[c.slot].task].name
            if c.hold is Hold.HELD:
                parts.append(f"held by {self.slot(c.slot)} in task {task}")
            elif c.hold is Hold.GRANTED:
                parts.append(f"handed to {self.slot(c.slot)} in task {task}")
        occ = occupancy(self.m, state, r)
        if self.m.resources[r].kind is ResKind.CHANNEL and occ.messages:
            parts.append(f"{occ.messages} message(s) queued")
        return "; ".join(parts)

    def dormant(self, i: int, state: State) -> bool:
        return bool(evaluate(self.m.ts.waits.nodes[i].dormant, state, {}))

    def holders(self, r: int, within: int, state: State) -> list[SlotInfo]:
        return [s for s in self.m.slots if s.kind is SlotKind.ACQUIRE and s.parent == within
                and s.resource == r and state[s.state_var] == ST_HELD]

    def where(self, span: Span | None) -> str:
        return f"{self.m.source.name}:{span.line}:{span.col}" if span else self.m.source.name

    def line(self, span: Span | None) -> str:
        return self.m.source.line_text(span.line).rstrip() if span else ""


def describe_steps(model: CompiledModel, result: Result) -> list[StepText]:
    assert result.trace is not None
    return describe_run(model, result.trace.initial, result.trace.steps)


def describe_run(model: CompiledModel, initial: State, steps: Sequence[Step]) -> list[StepText]:
    """The words for each step of a run from `initial`."""
    d = Describer(model)
    ts = model.ts
    out: list[StepText] = []
    before = initial
    now_ms = 0
    for n, step in enumerate(steps, start=1):
        lab = ts.transitions[step.transition].label
        after = step.state
        events: list[str] = []
        if lab.kind is StepKind.ADVANCE:
            delta = _time_delta(model, before, after)
            now_ms += delta
            out.append(StepText(n, "runtime", f"no task can run: time advances {delta} ms to t = {now_ms} ms",
                                None, ()))
            before = after
            continue
        task = d.task(lab.task)
        slot = model.slots[lab.slot]
        headline = {
            StepKind.START: f"task {task} starts",
            StepKind.COMPLETE: f"{task} polls {d.slot(lab.slot)}: ready",
            StepKind.FIRE: f"{d.slot(lab.slot)} fires; {task} polls it",
            # only on the multi-thread runtime is the rest of a poll a step of its own
            StepKind.POLL: f"{task}, still in the same poll, goes on",
        }.get(lab.kind, f"{task}: {lab.kind.value}")
        if lab.kind is StepKind.COMPLETE and slot.kind is SlotKind.ACQUIRE:
            headline = f"{task} polls {d.slot(lab.slot)}: takes the permit{'s' if slot.count > 1 else ''} " \
                f"{d.res(slot.resource)} handed to it"
        for ev in step_events(model.ts, before, step):
            text = _event_text(model, d, ev.kind, ev.slot, ev.resource, ev.detail, before, after)
            if text and ev.kind in _POLL_EVENTS and ev.slot >= 0 and ev.slot != lab.slot:
                # A future polled in the same poll, as the task's code reached it: say which.
                span = model.slots[ev.slot].span
                at = f" [{span.line}:{span.col}]" if span else ""
                text = f"polls {d.slot(ev.slot)}{at}: {text}"
            if text:
                events.append(text)
        events.extend(_grants(model, d, before, after))
        out.append(StepText(n, task, headline, lab.span, tuple(events)))
        before = after
    return out


_POLL_EVENTS = frozenset({EventKind.QUEUED, EventKind.ACQUIRED, EventKind.RECEIVED, EventKind.CLOSED,
                          EventKind.SENT})


def _time_delta(model: CompiledModel, before: State, after: State) -> int:
    for s in model.slots:
        if s.rem_var >= 0 and before[s.rem_var] > after[s.rem_var]:
            return before[s.rem_var] - after[s.rem_var]
    return 0


def _event_text(model: CompiledModel, d: Describer, kind: EventKind, slot: int, res: int, detail: str,
                before: State, after: State) -> str:
    """A trace line for one event: a resource's in its primitive's words (compiler/sync/), the
    poll machine's here."""
    s = model.slots[slot] if slot >= 0 else None
    if res >= 0:
        return event_words(d, kind, s, model.resources[res], detail, before, after)
    match kind:
        case EventKind.SELECT_WON:
            if s is None:
                return "every select! branch is disabled: the else branch runs"
            return f"select! branch {detail} (`{s.label}`) wins"
        case EventKind.BRANCH_DISABLED:
            assert s is not None
            return f"`{s.label}` gives None, which `Some(..)` does not match: select! branch {detail} is disabled"
        case EventKind.SET_NEXT:
            assert s is not None
            parent = model.slots[s.parent]
            return f"`{parent.label}` yields the completed `{s.label}`"
        case EventKind.LEFT_DORMANT:
            assert s is not None
            if after[s.state_var] == PC_DONE and s.kind in (SlotKind.CODE, SlotKind.ROOT):
                return ""
            holds = _holdings(model, d, slot, after)
            suffix = f"; it holds {holds}" if holds else ""
            return f"`{s.label}` was borrowed (&mut): it stays alive but is no longer polled (dormant){suffix}"
        case EventKind.DROPPED:
            assert s is not None
            if detail == "aborted":
                return f"task {model.tasks[s.task].name} is aborted"
            if detail != "branch":
                return f"`{s.label}` is dropped"
            held = _holdings(model, d, slot, before)  # a losing select! branch: worth a line if it held something
            return f"`{s.label}` (a losing owned branch) is dropped, giving up {held}" if held else ""
        case EventKind.SPAWNED:
            assert s is not None
            return f"spawns task {model.tasks[s.task].name}"
        case EventKind.TASK_DONE:
            assert s is not None
            return f"task {model.tasks[s.task].name} completes"
        case EventKind.SHUTDOWN:
            return "main completes: the runtime shuts down"
        case EventKind.CHOSE:
            return f"choose() takes the {detail} branch"
    return ""


def _holdings(model: CompiledModel, d: Describer, slot: int, state: State) -> str:
    """What the subtree of slot holds or was granted, as text ('' if nothing)."""
    mine = [c for c in claims(model, state) if _inside(model, c.slot, slot)]
    parts = []
    for c in mine:
        s = model.slots[c.slot]
        if c.hold is Hold.HELD:
            parts.append(f"{d.res(c.resource)} (guard of `{s.label}`)")
        elif c.hold is Hold.GRANTED:
            parts.append(f"{d.res(c.resource)} (granted to `{s.label}`, not yet taken)")
        elif c.hold is Hold.QUEUED and s.kind is SlotKind.ACQUIRE:
            part = f" and {c.got} of the {s.count} permits it needs" if c.got else ""
            parts.append(f"a place in {d.res(c.resource)}'s queue{part}")
    parts.extend(f"a notification of {d.res(c.resource)} (`{model.slots[c.slot].label}` has not consumed it)"
                 for c in mine if c.hold is Hold.NOTIFIED)
    return ", ".join(parts)


def _inside(model: CompiledModel, i: int, ancestor: int) -> bool:
    while i >= 0:
        if i == ancestor:
            return True
        i = model.slots[i].parent
    return False


def _grants(model: CompiledModel, d: Describer, before: State, after: State) -> list[str]:
    """What releases and notifications handed to waiters that were not polled in this step."""
    out = []
    for s in model.slots:
        if s.kind in (SlotKind.ACQUIRE, SlotKind.NOTIFIED):
            text = handover_words(d, s, model.resources[s.resource], before, after)
            if text:
                out.append(text)
    return out


# ---- the stuck state ---------------------------------------------------------------------------


def link_text(model: CompiledModel, d: Describer, link: Link, state: State) -> str:
    """The sentence for one edge of the wait-for graph: a resource's or a producer's in the words
    of its primitive (compiler/sync/), the poll machine's here."""
    src, dst = model.slots[link.src], model.slots[link.dst]
    match link.kind:
        case EdgeKind.POLLS:
            at = f" ({d.where(dst.span)})" if dst.span else ""
            return f"{d.slot(link.src)} is awaiting {d.slot(link.dst)}{at}"
        case EdgeKind.RESOURCE | EdgeKind.PRODUCER:
            return edge_words(d, link.kind, src, dst, _edge_resource(model, link), state)[0]
        case EdgeKind.RETURN:
            task = model.tasks[src.task].name
            return f"{d.slot(link.src)} is dormant: task {task} is not polling it, and must finish what it is " \
                "awaiting before it could come back to it"
    return ""


def link_label(model: CompiledModel, d: Describer, link: Link, state: State) -> str:
    """A few words for the edge of a drawn wait-for graph (link_text is the sentence)."""
    match link.kind:
        case EdgeKind.POLLS:
            return "awaits"
        case EdgeKind.RESOURCE | EdgeKind.PRODUCER:
            src, dst = model.slots[link.src], model.slots[link.dst]
            return edge_words(d, link.kind, src, dst, _edge_resource(model, link), state)[1]
        case EdgeKind.RETURN:
            return "dormant: not polled by"
    return link.kind.value


def _edge_resource(model: CompiledModel, link: Link) -> ResourceInfo | None:
    return model.resources[link.resource] if link.resource >= 0 else None


def compressed(model: CompiledModel, links: tuple[Link, ...]) -> list[Link]:
    """The links as the text report shows them: a task's chain of awaits merged into one link."""
    return _compress(model, links)


def claim_text(model: CompiledModel, d: Describer, c: Claim) -> str:
    """The future holding or waiting, and its task: `m.lock()` in `f1` (task main)."""
    s = model.slots[c.slot]
    return f"{d.slot(c.slot)} (task {model.tasks[s.task].name})"


def occupancy_lines(model: CompiledModel, d: Describer, occ: Occupancy) -> list[str]:
    """A resource's state in a few lines: holder, grantee, queue, messages, free permits."""
    r = model.resources[occ.resource]
    out = [f"held by {claim_text(model, d, c)}" for c in occ.held]
    for c in occ.granted:
        if c.hold is Hold.GRANTED:
            out.append(f"handed to {claim_text(model, d, c)}, not yet taken")
        else:
            out.append(f"notification for {claim_text(model, d, c)}, not yet consumed")
    for c in occ.queue:
        if c.hold is Hold.WAITING:
            out.append(f"waiting (no queue): {claim_text(model, d, c)}")
        else:
            s = model.slots[c.slot]
            got = f", {c.got} of {s.count} permits granted" if c.got else ""
            out.append(f"queue {c.position}: {claim_text(model, d, c)}{got}")
    if occ.messages:
        cap = f"/{r.permits}" if r.kind is ResKind.CHANNEL and r.bounded else ""
        out.append(f"{occ.messages}{cap} message{'s' if occ.messages > 1 else ''} queued")
    if occ.available is not None and r.kind in (ResKind.SEMAPHORE, ResKind.RWLOCK) and occ.available:
        out.append(f"{occ.available} of {r.permits} permits free")
    return out or ["free"]


def _compress(model: CompiledModel, links: tuple[Link, ...]) -> list[Link]:
    """Drop intermediate 'X is awaiting Y' links between a task and the leaf it waits on."""
    out: list[Link] = []
    for link in links:
        if out and out[-1].kind is EdgeKind.POLLS and link.kind is EdgeKind.POLLS:
            out[-1] = Link(out[-1].src, link.dst, EdgeKind.POLLS, -1)
        else:
            out.append(link)
    return out


def _sink_text(model: CompiledModel, d: Describer, node: int, state: State) -> str:
    """Why a stuck future that waits on nothing stuck can never be woken."""
    s = model.slots[node]
    if evaluate(model.ts.waits.nodes[node].dormant, state, {}):
        v = d.var_ancestor(node)
        return (f"{d.slot(node)} is dormant, and task {model.tasks[s.task].name} never polls `{v.label}` again "
                "(no later use of it), so it never takes or releases what it was given.")
    if s.kind is SlotKind.ACQUIRE:
        r = model.resources[s.resource]
        if r.kind is ResKind.CHANNEL and state[r.msgs_var]:
            return (f"{d.res(s.resource)} is full ({state[r.msgs_var]}/{r.permits} messages) and no task will ever "
                    "receive from it")
        return f"nothing will ever release {d.res(s.resource)}"
    if s.kind is SlotKind.PENDING:
        return f"{d.slot(node)} never completes (std::future::pending)"
    return f"{d.slot(node)} waits for something no task will ever do"


def fixes(model: CompiledModel, report: StuckReport) -> list[str]:
    d = Describer(model)
    if not report.dormant:
        cycle = report.cycle
        if cycle and cycle[-1].dst != cycle[0].src:  # no cycle: something nobody will ever do
            if model.slots[cycle[-1].dst].kind is SlotKind.PENDING:
                return ["await `pending()` only as a `select!` branch beside one that can win"]
            names = ", ".join(d.res(r) for r in report.resources) or "it"
            return [f"make sure some task still receives from or releases {names} (or use try_send, "
                    "a timeout, or more capacity)"]
        if len(report.culprit_tasks) == 1:
            return ["do not await, while holding a guard or permit, anything that needs the same resource: "
                    "drop the guard first, or do that work in one place"]
        return ["acquire resources in one global order in every task (AB-BA)",
                "or hold one resource at a time: release before awaiting the next"]
    v = d.var_ancestor(report.dormant[0])
    at = f" (declared at {d.where(v.span)})" if v.span else ""
    if v.kind is SlotKind.SET:
        return [
            "do the awaiting inside the futures of the set or stream (e.g. `.map(|x| async { work(x).await; "
            "more(x).await })`), so the loop body awaits nothing they hold",
            "run them as tasks (`JoinSet::spawn` or `spawn`): a spawned task is always polled",
            f"or finish or drop `{v.label}`{at} before the loop body awaits anything that needs what its "
            "futures hold",
        ]
    return [
        f"drop `{v.label}` before awaiting anything else in that branch: `drop({v.label});`{at}",
        f"select on it by value (`_ = {v.label} =>` instead of `&mut {v.label}`): "
        "an owned branch is dropped, releasing what it holds, before the winning handler runs",
        "spawn it as its own task (`let h = spawn(...)`) and select on `&mut h`: "
        "a spawned task is always polled",
        "or keep polling it: await it in the other branch before anything else, "
        "or move that work inside the future",
    ]


def headline(model: CompiledModel, report: StuckReport) -> str:
    """`futurelock: task main can never run again.` (or the deadlock sentence)."""
    stuck = ", ".join(model.tasks[t].name for t in report.stuck_tasks)
    tasks = f"task{'s' if len(report.stuck_tasks) > 1 else ''} {stuck}"
    if report.dormant:
        return f"futurelock: {tasks} can never run again."
    return f"deadlock: {tasks} can never run again; no future involved is left dormant: each is being polled."


def why_lines(model: CompiledModel, report: StuckReport, state: State) -> list[str]:
    """The wait-for path as sentences, ending with where it closes or why its end never wakes."""
    d = Describer(model)
    out = [link_text(model, d, link, state) for link in _compress(model, report.cycle)]
    if report.cycle and report.cycle[-1].dst == report.cycle[0].src:
        first = model.slots[report.cycle[0].src]
        out.append(f"... which is where we started: {d.slot(first.index)} waits on itself.")
    elif report.cycle:
        out.append(_sink_text(model, d, report.cycle[-1].dst, state))
    return out


def dormant_lines(model: CompiledModel, report: StuckReport, state: State) -> list[str]:
    d = Describer(model)
    out = []
    for v in {d.var_ancestor(i).index: d.var_ancestor(i) for i in report.dormant}.values():
        holds = _holdings(model, d, v.index, state)
        held = f"; it holds {holds}" if holds else ""
        out.append(f"Dormant future: `{v.label}` in task {model.tasks[v.task].name} ({d.where(v.span)}){held}.")
    return out


def _report_lines(model: CompiledModel, report: StuckReport, state: State) -> list[str]:
    d = Describer(model)
    out = [headline(model, report), "", "Why (what it waits on, in the last state):"]
    out.extend(f"  - {line}" for line in why_lines(model, report, state))
    if report.dormant:
        out.append("")
        out.extend(dormant_lines(model, report, state))
    if report.resources:
        out.append("Resource: " + ", ".join(d.res(r) for r in report.resources) + ".")
    if report.victims:
        out.append("")
        out.append("Victims (other tasks blocked behind it): " +
                   ", ".join(model.tasks[t].name for t in report.victims) + ".")
        for path in report.victim_paths:
            for link in _compress(model, path):
                out.append(f"  - {link_text(model, d, link, state)}")
    running = [t.name for t in model.tasks if t.index not in report.stuck_tasks
               and evaluate(model.ts.waits.roots[t.index].alive, state, {})]
    if running:
        out.append("")
        out.append("Still running: " + ", ".join(running) + " (a task that keeps running does not hide the hang).")
    out.append("")
    out.append("Fixes that apply:")
    out.extend(f"  - {f}" for f in fixes(model, report))
    return out


def step_lines(model: CompiledModel, stx: StepText) -> list[str]:
    """A step of a trace as text: its number, headline and location, the source line, its events."""
    loc = f"   [{model.source.name}:{stx.span.line}:{stx.span.col}]" if stx.span else ""
    lines = [f"{stx.number:>4}. {stx.headline}{loc}"]
    if stx.span:
        lines.append(f"        {stx.span.line:>4} | {model.source.line_text(stx.span.line).strip()}")
    lines.extend(f"              -> {ev}" for ev in stx.events)
    return lines


def summary_figures(result: Result) -> str:
    """The summary line's figures: states, transitions, depth, time, memory."""
    st = result.stats
    if result.engine == "z3":  # states explored concretely to learn the invariant; BMC only without a proof
        bmc = "" if result.status is Status.SAFE else f", BMC depth {st.depth}"
        return f"{st.states} states explored{bmc}, {st.seconds:.2f} s, {st.peak_rss_mib:.0f} MiB peak"
    return (f"{st.states} states, {st.transitions} transitions, depth {st.depth}, "
            f"{st.seconds:.2f} s, {st.peak_rss_mib:.0f} MiB peak")


def render_text(model: CompiledModel, result: Result, path: str, show_invariant: bool = False) -> str:
    lines: list[str] = []
    mode = f"{model.time.value}, runtime: {model.runtime}"
    summary = summary_figures(result)
    if result.status is Status.SAFE and result.proof is not None:
        lines.append(f"{path}: {proof_status(result)} (time: {mode}): no reachable state has a stuck task.")
        if show_invariant:
            lines.extend(_invariant_lines(result))
    elif result.status is Status.SAFE:
        lines.append(f"{path}: safe (time: {mode}): no reachable state has a stuck task.")
    elif result.status is Status.INCONCLUSIVE:
        lines.append(f"{path}: inconclusive (time: {mode}): {result.reason}.")
    else:
        assert result.trace is not None
        lines.append(f"{path}: {result.status.value} found (time: {mode}), "
                     f"shortest trace: {len(result.trace.steps)} steps")
        lines.append("")
        for stx in describe_steps(model, result):
            if stx.number == result.trace.first_stuck + 1:
                lines.append("")
                lines.append(f"      Step {result.trace.first_stuck} reaches the first stuck state. The other tasks keep "
                             "running;")
                lines.append("      the shortest continuation in which every task that will block has blocked:")
                lines.append("")
            lines.extend(step_lines(model, stx))
        lines.append("")
        final = result.trace.steps[-1].state if result.trace.steps else result.trace.initial
        lines.extend(_report_lines(model, result.trace.report, final))
        lines.append("")
    lines.extend(f"note: {n}" for n in result.notes)
    if result.victims is not None:
        v = result.victims
        stopped = f", stopped by {v.stopped}" if v.stopped else ""
        summary += f"; victim search {v.states} states, {v.seconds:.2f} s{stopped}"
    how = f" ({result.kernel})" if result.kernel else ""
    lines.append(f"summary: {result.status.value}; {summary}; engine {result.engine}{how}")
    return "\n".join(lines) + "\n"


def render_stopped(path: str, time: TimeMode, engine: str, reason: str, fmt: str) -> str:
    """A run that ran out of its budget before it had a model to search, or ran out of memory
    (`reason`): inconclusive, in the format asked for (text or JSON)."""
    if fmt == "json":
        return json.dumps(stopped_doc(path, time, engine, reason), indent=2) + "\n"
    return f"{path}: inconclusive (time: {time.value}): {reason}.\nsummary: inconclusive; engine {engine}\n"


def stopped_doc(path: str, time: TimeMode, engine: str, reason: str) -> dict[str, Any]:
    return {"schema": JSON_SCHEMA, "model": path, "time": time.value, "engine": engine,
            "verdict": Status.INCONCLUSIVE.value, "exit_code": Status.INCONCLUSIVE.exit_code,
            "stats": {"states": 0, "transitions": 0, "depth": 0, "seconds": 0.0,
                      "peak_rss_mib": round(peak_rss_mib(), 1)},
            "reason": reason}


def proof_status(result: Result) -> str:
    """`safe (proved; inductive invariant with N clauses)` for a result the z3 engine proved."""
    assert result.proof is not None
    n = len(result.proof.clauses)
    return f"safe (proved; inductive invariant with {n} clause{'' if n == 1 else 's'})"


def _invariant_lines(result: Result) -> list[str]:
    assert result.proof is not None
    return ["",
            "Inductive invariant (it holds initially, every transition preserves it, no stuck state satisfies it;",
            "every variable stays within its declared range, and):",
            *(f"  {i:>3}. {c}" for i, c in enumerate(result.proof.clauses, start=1)),
            ""]


def _loc(model: CompiledModel, span: Span | None) -> dict[str, Any] | None:
    if span is None:
        return None
    return {"file": model.source.name, "line": span.line, "column": span.col,
            "source": model.source.line_text(span.line).strip()}


def render_json(model: CompiledModel, result: Result, path: str, show_invariant: bool = False) -> str:
    return json.dumps(json_doc(model, result, path, show_invariant), indent=2) + "\n"


def json_doc(model: CompiledModel, result: Result, path: str, show_invariant: bool = False) -> dict[str, Any]:
    """The `mcheck-result/1` document of one result (docs/json.md)."""
    st = result.stats
    doc: dict[str, Any] = {
        "schema": JSON_SCHEMA,
        "model": path,
        "time": model.time.value,
        "runtime": model.runtime,
        "engine": result.engine,
        "kernel": result.kernel,
        "verdict": result.status.value,
        "exit_code": result.status.exit_code,
        "stats": {"states": st.states, "transitions": st.transitions, "depth": st.depth,
                  "seconds": round(st.seconds, 4), "peak_rss_mib": round(st.peak_rss_mib, 1)},
    }
    if result.status is Status.INCONCLUSIVE:
        doc["reason"] = result.reason
    if result.proof is not None:
        doc["proof"] = {"status": proof_status(result), "clauses": len(result.proof.clauses)}
        if show_invariant:
            doc["proof"]["invariant"] = list(result.proof.clauses)
    if result.notes:
        doc["notes"] = list(result.notes)
    if result.victims is not None:
        v = result.victims
        doc["victim_search"] = {"states": v.states, "seconds": round(v.seconds, 4), "stopped_by": v.stopped or None}
    if result.trace is not None:
        d = Describer(model)
        doc["first_stuck_step"] = result.trace.first_stuck
        doc["trace"] = [
            {"step": s.number, "task": s.task, "action": s.headline, "location": _loc(model, s.span),
             "events": list(s.events)}
            for s in describe_steps(model, result)
        ]
        rep = result.trace.report
        final = result.trace.steps[-1].state if result.trace.steps else result.trace.initial
        doc["stuck"] = {
            "kind": rep.verdict.value,
            "stuck_tasks": [model.tasks[t].name for t in rep.stuck_tasks],
            "culprit_tasks": [model.tasks[t].name for t in rep.culprit_tasks],
            "victims": [model.tasks[t].name for t in rep.victims],
            "dormant_futures": [
                {"future": d.var_ancestor(i).label, "task": model.tasks[model.slots[i].task].name,
                 "location": _loc(model, d.var_ancestor(i).span)}
                for i in dict.fromkeys(d.var_ancestor(i).index for i in rep.dormant)
            ],
            "resources": [model.resources[r].name for r in rep.resources],
            "cycle": [{"from": d.slot(link.src), "to": d.slot(link.dst), "kind": link.kind.value,
                       "text": link_text(model, d, link, final)} for link in _compress(model, rep.cycle)],
            "fixes": fixes(model, rep),
        }
    return doc
