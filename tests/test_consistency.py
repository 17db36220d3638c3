"""The generated Python (evaluate.compile_system) must agree with the reference interpreter
(evaluate.evaluate / stuck_set) on the IR of every bundled model, state by state."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import MODELS

from mcheck.compile import fresh_vars
from mcheck.evaluate import State, compile_system, evaluate, stuck_set
from mcheck.ir import TransitionSystem
from mcheck.model import PC_DEAD, PC_ENTRY, SlotKind, StepLabel, TimeMode
from mcheck.source import Source
from mcheck.verify import load

MODEL_FILES = sorted(MODELS.rglob("*.mc"))


def reference_successors(ts: TransitionSystem[StepLabel], s: State) -> list[tuple[int, State]]:
    for level in sorted({t.priority for t in ts.transitions}):
        out = []
        for t in ts.transitions:
            if t.priority != level:
                continue
            memo: dict[int, int] = {}
            if evaluate(t.guard, s, memo):
                nxt = list(s)
                for var, e in t.updates:
                    nxt[var] = evaluate(e, s, memo)
                out.append((t.index, tuple(nxt)))
        if out:
            return out
    return []


def reference_stuck_count(ts: TransitionSystem[StepLabel], s: State) -> int:
    stuck = stuck_set(ts.waits, s)
    return sum(1 for r in ts.waits.roots if r.node in stuck and evaluate(r.alive, s))


@pytest.mark.parametrize("time", list(TimeMode), ids=lambda t: t.value)
@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.name)
def test_generated_code_matches_the_interpreter(path: Path, time: TimeMode) -> None:
    ts = load(Source(str(path), path.read_text()), time).ts
    cs = compile_system(ts)
    seen = {ts.initial}
    frontier = [ts.initial]
    checked = 0
    while frontier and checked < 300:
        s = frontier.pop(0)
        checked += 1
        assert not cs.overflow(s) or evaluate(ts.overflow, s)
        want = reference_successors(ts, s)
        got = cs.step(s)
        assert sorted(got) == sorted(want), f"successors differ in state {s}"
        assert cs.stuck_tasks(s, set()) == reference_stuck_count(ts, s), f"stuck count differs in {s}"
        for _, t in want:
            for var, decl in zip(t, ts.vars, strict=True):
                assert decl.lo <= var <= decl.hi, f"{decl.name} = {var} leaves its domain"
            if t not in seen:
                seen.add(t)
                frontier.append(t)


@pytest.mark.parametrize("time", list(TimeMode), ids=lambda t: t.value)
@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.name)
def test_unpolled_futures_hold_nothing(path: Path, time: TimeMode) -> None:
    """The invariants compile.py's first polls rely on, in every reachable state: whatever is inside a
    future that is not alive or not yet polled (pc PC_DEAD or PC_ENTRY) is in its initial state
    (assume_fresh), and a set being polled has no unpolled member (poll_set)."""
    model = load(Source(str(path), path.read_text()), time)
    ts = model.ts
    cs = compile_system(ts)
    inside: dict[int, list[int]] = {s.index: [] for s in model.slots}
    for s in model.slots:
        p = s.parent
        while p >= 0:
            inside[p].extend(fresh_vars(s))
            p = model.slots[p].parent
    code = [s for s in model.slots if s.kind in (SlotKind.CODE, SlotKind.ROOT) and inside[s.index]]
    # ... and the one compile.poll_set relies on: a set that is being polled has no unpolled member.
    sets = [(s, ts.waits.nodes[s.index], [m for m in model.slots if m.parent == s.index and m.kind is SlotKind.CODE])
            for s in model.slots if s.kind is SlotKind.SET]
    seen = {ts.initial}
    frontier = [ts.initial]
    while frontier:
        st = frontier.pop()
        for s in code:
            if st[s.state_var] in (PC_ENTRY, PC_DEAD):
                bad = [ts.vars[v].name for v in inside[s.index] if st[v] != 0]
                assert not bad, f"{s.label} has pc {st[s.state_var]} but {bad} are not 0 in {st}"
        for s, node, members in sets:
            if evaluate(node.live, st) and not evaluate(node.dormant, st):
                fresh = [m.label for m in members if st[m.state_var] == PC_ENTRY]
                assert not fresh, f"{s.label} is being polled but {fresh} were never polled, in {st}"
        if cs.overflow(st):
            continue
        for _, t in cs.step(st):
            if t not in seen:
                seen.add(t)
                frontier.append(t)
        assert len(seen) < 200_000, "model too large for this test"
