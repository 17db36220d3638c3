"""Starvation: a task that waits for ever while others keep running (outside the stuck verdicts).

A stuck state (SEMANTICS.md section 6) is a predicate on one state: a set of futures none of
which can step. A task can also wait for ever on a task that keeps running but never serves it,
such as a loop that never reaches its `recv()`; no single state shows it, because the looping task
can always step. On a finite state graph it is exact: once a run enters a *bottom* strongly
connected component (one it can never leave), it stays there for ever, so a task that is alive
throughout the component and takes no step in it never runs again. This module finds the first
such component in breadth-first order (the one reached by the shortest run), on the explicit
graph, with the Python successors (ir.TransitionSystem's polls, as bfs.poll_ends groups them).

It is a separate pass, run on demand (`mcheck verify --starvation`, tools/runtime_check.py for
tokio's hangs that no stuck state explains), since it keeps the whole graph's edges.
"""

from __future__ import annotations

from dataclasses import dataclass

from mcheck import bfs
from mcheck.budget import Budget, OutOfBudget, Phase
from mcheck.evaluate import CompiledSystem, State
from mcheck.model import PC_DEAD, PC_DONE, CompiledModel

MAX_STATES = 200_000  # the graph is kept whole (edges too), in Python: beyond this, not searched


@dataclass(frozen=True, slots=True)
class Starvation:
    """A bottom component of the state graph in which the `starved` tasks, alive throughout, never
    step, while the `running` ones go round for ever (`path`: the shortest run into it)."""

    starved: tuple[str, ...]
    running: tuple[str, ...]  # task names; "time" when the clock advances inside the component
    states: int  # in the component
    path: bfs.Path
    graph_states: int  # the whole graph the search built


def find_starvation(model: CompiledModel, cs: CompiledSystem, max_states: int = MAX_STATES,
                    budget: Budget | None = None) -> Starvation | None:
    """The first bottom component (in BFS order) with a starved task; None when there is none.
    Raises OutOfBudget when the graph has more than max_states states, or the budget runs out."""
    ts = model.ts
    budget = budget or Budget()
    budget.enter(Phase.STARVATION)
    index: dict[State, int] = {ts.initial: 0}
    states: list[State] = [ts.initial]
    parent: list[tuple[int, int] | None] = [None]
    succ: list[list[tuple[int, int]]] = []  # per state: (task stepping, -1 for time; next state)
    for s in states:  # breadth first: `states` grows as it is walked
        if len(succ) % 1024 == 0:
            budget.status = f"{len(states):,} states"
            budget.check()
        out = []
        if not cs.blocked(s):
            for tid, t in bfs.poll_ends(cs, s):
                j = index.get(t)
                if j is None:
                    if len(states) >= max_states:
                        raise OutOfBudget(Phase.STARVATION, f"--max-states {max_states}")
                    j = index[t] = len(states)
                    states.append(t)
                    parent.append((index[s], tid))
                out.append((ts.transitions[tid].label.task, j))
        succ.append(out)
    roots = [(t.name, model.slots[t.root].state_var) for t in model.tasks]
    for comp in _bottom_components(succ):
        if len(comp) == 1 and all(j != comp[0] for _, j in succ[comp[0]]):
            continue  # a state with no step out: stuck or final, the stuck check's business
        moving = {task for i in comp for task, _ in succ[i]}
        starved = tuple(name for k, (name, pc) in enumerate(roots)
                        if k not in moving and all(states[i][pc] not in (PC_DEAD, PC_DONE) for i in comp))
        if starved:
            running = tuple("time" if k < 0 else roots[k][0] for k in sorted(moving))
            return Starvation(starved, running, len(comp), _path(cs, states, parent, min(comp)), len(states))
    return None


def _bottom_components(succ: list[list[tuple[int, int]]]) -> list[list[int]]:
    """The strongly connected components with no edge out, ordered by their first state's BFS
    index (Tarjan's algorithm, iterative: a graph's depth is not bounded by Python's stack)."""
    n = len(succ)
    low = [0] * n
    order = [-1] * n
    comp_of = [-1] * n
    comps: list[list[int]] = []
    stack: list[int] = []
    counter = 0
    for start in range(n):
        if order[start] >= 0:
            continue
        work = [(start, 0)]
        order[start] = low[start] = counter
        counter += 1
        stack.append(start)
        while work:
            v, k = work[-1]
            if k < len(succ[v]):
                work[-1] = (v, k + 1)
                w = succ[v][k][1]
                if order[w] < 0:
                    order[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    work.append((w, 0))
                elif comp_of[w] < 0:
                    low[v] = min(low[v], order[w])
                continue
            work.pop()
            if work:
                u = work[-1][0]
                low[u] = min(low[u], low[v])
            if low[v] == order[v]:
                comp = []
                while True:
                    w = stack.pop()
                    comp_of[w] = len(comps)
                    comp.append(w)
                    if w == v:
                        break
                comps.append(comp)
    bottom = [c for k, c in enumerate(comps) if all(comp_of[j] == k for i in c for _, j in succ[i])]
    return sorted(bottom, key=min)


def _path(cs: CompiledSystem, states: list[State], parent: list[tuple[int, int] | None], i: int) -> bfs.Path:
    """The BFS run from the initial state to state i, one poll per step (bfs.PollStep)."""
    chain = []
    while (link := parent[i]) is not None:
        chain.append((link[0], link[1], i))
        i = link[0]
    steps: list[bfs.PollStep] = [((), (states[0],))]
    for a, tid, b in reversed(chain):
        steps.append(bfs.poll_path(cs, states[a], tid, states[b]))
    return tuple(steps)
