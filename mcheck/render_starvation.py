"""How `mcheck verify --starvation` reports a starved task (mcheck/livelock.py): as text, in the
shape of a stuck state's report (headline, numbered steps, what each task waits on), and as the
JSON result's `starvation` member (docs/json.md)."""

from __future__ import annotations

from typing import Any

from mcheck.evaluate import State, evaluate
from mcheck.livelock import Starvation
from mcheck.model import LEAF_KINDS, CompiledModel, SlotInfo
from mcheck.render import Describer, describe_run, step_lines, summary_figures
from mcheck.trace import Result, Step


def _steps(found: Starvation) -> list[Step]:
    return [Step(tids, states) for tids, states in found.path[1:]]


def waiting_slots(model: CompiledModel, task: str, state: State) -> list[SlotInfo]:
    """The futures `task` is polling and waiting on in `state`."""
    nodes = model.ts.waits.nodes
    memo: dict[int, int] = {}
    out = []
    for s in model.slots:
        if model.tasks[s.task].name != task or s.kind not in LEAF_KINDS:
            continue
        n = nodes[s.index]
        if evaluate(n.live, state, memo) and not evaluate(n.ready, state, memo) \
                and not evaluate(n.dormant, state, memo):
            out.append(s)
    return out


def waits(model: CompiledModel, task: str, state: State) -> list[str]:
    """The futures `task` is polling and waiting on in `state`, with their locations."""
    d = Describer(model)
    return [d.slot(s.index) + (f" [{model.source.name}:{s.span.line}:{s.span.col}]" if s.span else "")
            for s in waiting_slots(model, task, state)]


def dormant_behind(model: CompiledModel, task: str, state: State) -> list[SlotInfo]:
    """The dormant futures `task` waits on in `state`, directly or through what it waits on (the
    wait-for edges that hold): a loop that never comes back to one of them is the cause."""
    waits = model.ts.waits
    memo: dict[int, int] = {}
    out_edges: dict[int, list[int]] = {}
    for e in waits.edges:
        if evaluate(e.cond, state, memo):
            out_edges.setdefault(e.src, []).append(e.dst)
    seen = {s.index for s in waiting_slots(model, task, state)}
    todo = list(seen)
    while todo:
        for m in out_edges.get(todo.pop(), []):
            if m not in seen:
                seen.add(m)
                todo.append(m)
    d = Describer(model)
    found = [i for i in sorted(seen) if evaluate(waits.nodes[i].live, state, memo)
             and evaluate(waits.nodes[i].dormant, state, memo)]
    return list({d.var_ancestor(i).index: d.var_ancestor(i) for i in found}.values())


def entry_state(found: Starvation) -> State:
    """The first state of the cycle: where the run into it ends."""
    (_, (initial,)), *rest = found.path
    return rest[-1][1][-1] if rest else initial


def running_words(found: Starvation) -> str:
    tasks = [t for t in found.running if t != "time"]
    words = ", ".join(f"task {t}" for t in tasks) or "no task"
    return words + (" and the clock" if "time" in found.running else "")


def starvation_text(model: CompiledModel, result: Result, found: Starvation, path: str) -> str:
    mode = f"{model.time.value}, runtime: {model.runtime}"
    steps = _steps(found)
    names = ", ".join(found.starved)
    lines = [f"{path}: starvation found (time: {mode}): no state is stuck, but {names} never "
             f"run{'s' if len(found.starved) == 1 else ''} again; shortest run into the cycle: {len(steps)} steps", ""]
    for stx in describe_run(model, found.path[0][1][0], steps):
        lines.extend(step_lines(model, stx))
    lines.append("")
    lines.append(f"From here the run goes round a cycle of {found.states} states that nothing leads out of: only "
                 f"{running_words(found)} step in it.")
    entry = entry_state(found)
    for task in found.starved:
        at = waits(model, task, entry)
        lines.append(f"Task {task} waits for ever" + (f" at {', '.join(at)}." if at else "."))
        for v in dormant_behind(model, task, entry):
            where = f" ({model.source.name}:{v.span.line}:{v.span.col})" if v.span else ""
            lines.append(f"  It waits behind `{v.label}`{where}, dormant in task {model.tasks[v.task].name}, "
                         "which goes round without polling it again.")
    lines.append("This is a livelock, not a stuck state: in every state of the cycle some task can step, so the "
                 "futurelock and deadlock verdicts (which look for a state where nothing can) do not cover it.")
    lines.append("")
    lines.append(f"summary: starvation; {summary_figures(result)}; engine {result.engine}; "
                 f"starvation search {found.graph_states} states")
    return "\n".join(lines) + "\n"


def starvation_doc(model: CompiledModel, found: Starvation) -> dict[str, Any]:
    entry = entry_state(found)
    return {
        "starved_tasks": list(found.starved),
        "waiting_at": {t: waits(model, t, entry) for t in found.starved},
        "dormant_behind": {t: [v.label for v in dormant_behind(model, t, entry)] for t in found.starved},
        "running": list(found.running),
        "cycle_states": found.states,
        "graph_states": found.graph_states,
        "trace": [{"step": s.number, "task": s.task, "action": s.headline, "events": list(s.events)}
                  for s in describe_run(model, found.path[0][1][0], _steps(found))],
    }
