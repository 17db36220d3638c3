"""Reads what a trace's states mean for people: who holds, was handed or queues for each resource
(`claims`), which let-bound futures are dormant, which tasks are alive, and the whole trace as
rows of lanes (`Timeline`) for the HTML report and the SARIF code flows.

The one place outside render.py's step descriptions that reads slot and resource state variables;
render.py's `_owners` and `_holdings` are built on `claims` too. It phrases nothing (render.py
does) and decides no verdict (analysis.py does).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from mcheck.evaluate import State, evaluate
from mcheck.model import (
    NT_NOTIFIED,
    NT_NOTIFIED_ALL,
    NT_WAITING,
    ST_GRANTED,
    ST_HELD,
    ST_QUEUED,
    CompiledModel,
    SlotKind,
    StepKind,
)
from mcheck.program import ResKind
from mcheck.trace import Result


class Hold(Enum):
    """How a future stands with a resource in one state."""

    HELD = "held"  # its guard or permits are taken
    GRANTED = "granted"  # handed the permits by the FIFO queue, not yet taken (it must be polled)
    QUEUED = "queued"  # waits at a position of the resource's FIFO queue
    WAITING = "waiting"  # waits without a place in a queue (futures::lock::Mutex)
    NOTIFIED = "notified"  # a Notified that notify_one reached and that has not consumed it
    NOTIFIED_ALL = "notified_all"  # a Notified that notify_waiters reached


@dataclass(frozen=True, slots=True)
class Claim:
    slot: int
    resource: int
    hold: Hold
    position: int = 0  # 1 = the head of the queue; 0 when it has no place in one
    got: int = 0  # permits granted so far to a queued semaphore waiter (partial grants)


def claims(model: CompiledModel, state: State) -> tuple[Claim, ...]:
    """Every future's claim on a resource in `state`, in slot order."""
    out = []
    for s in model.slots:
        if s.kind is SlotKind.ACQUIRE:
            st = state[s.state_var]
            if st == ST_HELD:
                out.append(Claim(s.index, s.resource, Hold.HELD))
            elif st == ST_GRANTED:
                out.append(Claim(s.index, s.resource, Hold.GRANTED))
            elif st == ST_QUEUED and s.pos_var >= 0:
                got = state[s.got_var] if s.got_var >= 0 else 0
                out.append(Claim(s.index, s.resource, Hold.QUEUED, state[s.pos_var], got))
            elif st == ST_QUEUED:
                out.append(Claim(s.index, s.resource, Hold.WAITING))
        elif s.kind is SlotKind.NOTIFIED:
            st = state[s.state_var]
            if st == NT_NOTIFIED:
                out.append(Claim(s.index, s.resource, Hold.NOTIFIED))
            elif st == NT_NOTIFIED_ALL:
                out.append(Claim(s.index, s.resource, Hold.NOTIFIED_ALL))
            elif st == NT_WAITING and s.pos_var >= 0 and state[s.pos_var] > 0:
                out.append(Claim(s.index, s.resource, Hold.QUEUED, state[s.pos_var]))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Occupancy:
    """One resource in one state: its claims (queue in FIFO order), queued messages (channels
    and oneshots) and free permits (semaphores), None where the resource has no such thing."""

    resource: int
    held: tuple[Claim, ...]
    granted: tuple[Claim, ...]  # handed over (or notified), not yet taken
    queue: tuple[Claim, ...]  # head first; then waiters without a place in a queue
    messages: int | None
    available: int | None

    @property
    def idle(self) -> bool:
        return not (self.held or self.granted or self.queue or self.messages)


def occupancy(model: CompiledModel, state: State, resource: int, all_claims: tuple[Claim, ...] | None = None) -> Occupancy:
    mine = [c for c in (claims(model, state) if all_claims is None else all_claims) if c.resource == resource]
    r = model.resources[resource]
    queued = sorted((c for c in mine if c.hold is Hold.QUEUED), key=lambda c: c.position)
    waiting = [c for c in mine if c.hold is Hold.WAITING]
    has_messages = r.msgs_var >= 0 and r.kind in (ResKind.CHANNEL, ResKind.ONESHOT)
    return Occupancy(
        resource,
        tuple(c for c in mine if c.hold is Hold.HELD),
        tuple(c for c in mine if c.hold in (Hold.GRANTED, Hold.NOTIFIED, Hold.NOTIFIED_ALL)),
        tuple(queued + waiting),
        state[r.msgs_var] if has_messages else None,
        state[r.avail_var] if r.avail_var >= 0 else None,
    )


def is_dormant(model: CompiledModel, state: State, slot: int) -> bool:
    """Slot's future is alive and its task does not poll it (ir.WaitNode.dormant)."""
    return bool(evaluate(model.ts.waits.nodes[slot].dormant, state, {}))


def is_alive(model: CompiledModel, state: State, task: int) -> bool:
    """The task has started (or may start) and has not completed."""
    return bool(evaluate(model.ts.waits.roots[task].alive, state, {}))


def owner_var(model: CompiledModel, slot: int) -> int:
    """The let-bound future around slot (itself if it is one) that a person sees go dormant; the
    slot itself when none is."""
    cur = slot
    while cur >= 0:
        if model.slots[cur].is_var:
            return cur
        cur = model.slots[cur].parent
    return slot


@dataclass(frozen=True, slots=True)
class Row:
    """One step of the trace: the task that ran (-1: the runtime advanced time), and what the
    resources shown and the dormant futures are after it."""

    number: int  # 1-based
    task: int
    transition: int
    occupancy: tuple[Occupancy, ...]  # one per Timeline.resources entry
    dormant: tuple[int, ...]  # Timeline.dormant entries that are dormant after this step


@dataclass(frozen=True, slots=True)
class Timeline:
    tasks: tuple[int, ...]  # one lane each, in declaration order
    resources: tuple[int, ...]  # the contended ones: on the wait-for cycle, or waited for at some step
    dormant: tuple[int, ...]  # the let-bound futures left dormant in the stuck state (slots)
    dormant_from: tuple[int, ...]  # for each: the step from which it stays dormant to the end
    rows: tuple[Row, ...]
    first_stuck: int
    has_runtime: bool  # some step is a time advance (exact time)
    alive_at_end: tuple[int, ...]  # tasks alive in the last state


def timeline(model: CompiledModel, result: Result) -> Timeline:
    assert result.trace is not None
    trace = result.trace
    report = trace.report
    states = [trace.initial, *(s.state for s in trace.steps)]
    per_state = [claims(model, st) for st in states]
    waited = {c.resource for cs in per_state for c in cs if c.hold in (Hold.QUEUED, Hold.WAITING, Hold.GRANTED)}
    resources = tuple(sorted(set(report.resources) | waited))
    leaf_of = {owner_var(model, i): i for i in reversed(report.dormant)}  # the first dormant leaf per future
    dormant = tuple(sorted(leaf_of))
    dormant_from = []
    for v in dormant:
        k = len(states) - 1
        while k > 0 and is_dormant(model, states[k - 1], leaf_of[v]):
            k -= 1
        dormant_from.append(k)
    rows = []
    for n, step in enumerate(trace.steps, start=1):
        label = model.ts.transitions[step.transition].label
        task = -1 if label.kind is StepKind.ADVANCE else label.task
        occ = tuple(occupancy(model, step.state, r, per_state[n]) for r in resources)
        rows.append(Row(n, task, step.transition, occ,
                        tuple(v for v, k in zip(dormant, dormant_from, strict=True) if k <= n)))
    final = states[-1]
    return Timeline(
        tuple(t.index for t in model.tasks),
        resources,
        dormant,
        tuple(dormant_from),
        tuple(rows),
        trace.first_stuck,
        any(r.task < 0 for r in rows),
        tuple(t.index for t in model.tasks if is_alive(model, final, t.index)),
    )
