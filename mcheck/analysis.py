"""Explains a stuck state: which tasks hang, why, and whether it is a futurelock or a deadlock.

Works on one concrete state with the IR's wait-for graph (through the reference interpreter) and
the symbol table; engine-independent, so every engine's counterexample is explained the same way.
It must not decide *whether* a state is stuck differently from the engines: both use the same
greatest fixpoint of ir.WaitGraph (evaluate.stuck_set is its reference form).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from mcheck.evaluate import State, evaluate, stuck_set
from mcheck.ir import EdgeKind
from mcheck.model import CompiledModel, SlotKind
from mcheck.program import Verdict


@dataclass(frozen=True, slots=True)
class Link:
    """One wait-for edge of an explanation: slot `src` waits on slot `dst` for `kind`."""

    src: int
    dst: int
    kind: EdgeKind
    resource: int


@dataclass(frozen=True, slots=True)
class StuckReport:
    verdict: Verdict
    stuck_tasks: tuple[int, ...]  # every task that can never run again
    culprit_tasks: tuple[int, ...]  # tasks on the cycle (owning the dormant future, for a futurelock)
    victims: tuple[int, ...]  # stuck tasks blocked behind the cycle from outside it
    dormant: tuple[int, ...]  # dormant futures (slots) in the stuck set
    resources: tuple[int, ...]  # resources the cycle waits on
    cycle: tuple[Link, ...]  # from a culprit task's root around back to it
    victim_paths: tuple[tuple[Link, ...], ...]  # for each victim: its path into the cycle


def _task_of_node(model: CompiledModel, node: int) -> int:
    return model.slots[node].task


def explain(model: CompiledModel, state: State) -> StuckReport | None:
    """The stuck report for state, or None when no task is stuck in it."""
    waits = model.ts.waits
    s = stuck_set(waits, state)
    memo: dict[int, int] = {}
    stuck_roots = [r for r in waits.roots if r.node in s and evaluate(r.alive, state, memo)]
    if not stuck_roots:
        return None
    adj: dict[int, list[Link]] = {}
    for e in waits.edges:
        if e.src in s and e.dst in s and evaluate(e.cond, state, memo):
            adj.setdefault(e.src, []).append(Link(e.src, e.dst, e.kind, e.resource))
    # The part of the stuck set that stuck tasks wait on.
    reach: set[int] = set()
    todo = deque(r.node for r in stuck_roots)
    while todo:
        n = todo.popleft()
        if n in reach:
            continue
        reach.add(n)
        todo.extend(link.dst for link in adj.get(n, []))
    dormant = tuple(sorted(n for n in reach if evaluate(waits.nodes[n].dormant, state, memo)))
    # Among equally short explanations, show the one through a dormant future: it is the cause.
    for links in adj.values():
        links.sort(key=lambda link: link.dst not in dormant)
    stuck_tasks = tuple(sorted({_task_of_node(model, r.node) for r in stuck_roots}))
    cycle = _find_cycle(model, adj, reach, dormant)
    culprits = tuple(sorted({model.slots[link.src].task for link in cycle}))
    victims = tuple(t for t in stuck_tasks if t not in culprits)
    on_cycle = {link.src for link in cycle} | {link.dst for link in cycle}
    victim_paths = tuple(_path(adj, model.tasks[t].root, on_cycle) for t in victims)
    sink = model.slots[cycle[-1].dst] if cycle else None
    resources = tuple(sorted({link.resource for link in cycle if link.resource >= 0}
                             | {link.resource for vp in victim_paths for link in vp if link.resource >= 0}
                             | ({sink.resource} if sink is not None and sink.resource >= 0 else set())))
    verdict = Verdict.FUTURELOCK if dormant else Verdict.DEADLOCK
    return StuckReport(verdict, stuck_tasks, culprits, victims, dormant, resources, cycle, victim_paths)


def _path(adj: dict[int, list[Link]], start: int, goal: set[int]) -> tuple[Link, ...]:
    """Shortest chain of links from start to any node of goal (empty if start is in goal)."""
    if start in goal:
        return ()
    prev: dict[int, Link | None] = {start: None}
    todo = deque([start])
    while todo:
        n = todo.popleft()
        for link in adj.get(n, []):
            if link.dst in prev:
                continue
            prev[link.dst] = link
            if link.dst in goal:
                out = []
                cur: Link | None = link
                while cur is not None:
                    out.append(cur)
                    cur = prev[cur.src]
                return tuple(reversed(out))
            todo.append(link.dst)
    return ()


def _find_cycle(model: CompiledModel, adj: dict[int, list[Link]], reach: set[int],
                dormant: tuple[int, ...]) -> tuple[Link, ...]:
    """A wait-for cycle to show: through a dormant future when there is one, else any cycle."""
    for d in dormant:
        root = model.tasks[model.slots[d].task].root
        to_d = _path(adj, root, {d})
        back = _path(adj, d, {root})
        if to_d and back:
            return (*to_d, *back)
    for d in dormant:  # a dormant future its task will never come back to: stuck outright
        root = model.tasks[model.slots[d].task].root
        to_d = _path(adj, root, {d})
        if to_d:
            return to_d
    for start in sorted(reach):
        if model.slots[start].kind is not SlotKind.ROOT:
            continue
        for link in adj.get(start, []):
            back = _path(adj, link.dst, {start})
            if back or link.dst == start:
                return (link, *back)
    for start in sorted(reach):
        for link in adj.get(start, []):
            back = _path(adj, link.dst, {start})
            if back:
                return (link, *back)
    # No cycle: a stuck task waits (through polls) on a future that nothing can wake.
    sinks = {n for n in reach if not adj.get(n)}
    for start in sorted(reach):
        if model.slots[start].kind is SlotKind.ROOT:
            chain = _path(adj, start, sinks)
            if chain:
                return chain
    return ()
