"""The generated Python (evaluate.compile_system) must agree with the reference interpreter
(evaluate.evaluate / stuck_set) on the IR of every bundled model, state by state."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import MODELS

from mcheck.compiler import Runtime
from mcheck.evaluate import State, compile_system, evaluate, stuck_set
from mcheck.ir import TransitionSystem
from mcheck.model import PC_DEAD, PC_DONE, PC_ENTRY, SlotInfo, SlotKind, StepLabel, TimeMode
from mcheck.source import Source
from mcheck.verify import load

MODEL_FILES = sorted(MODELS.rglob("*.mc"))
MODES = [(TimeMode.UNTIMED, Runtime.MULTI_THREAD), (TimeMode.UNTIMED, Runtime.CURRENT_THREAD),
         (TimeMode.EXACT, Runtime.CURRENT_THREAD)]
"""Every time mode, and untimed both runtimes (exact time runs only on current-thread)."""


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


@pytest.mark.parametrize(("time", "runtime"), MODES, ids=lambda m: m if isinstance(m, str) else m.value)
@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.name)
def test_generated_code_matches_the_interpreter(path: Path, time: TimeMode, runtime: str) -> None:
    ts = load(Source(str(path), path.read_text()), time, runtime=runtime).ts
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


def _fresh_vars(s: SlotInfo) -> list[int]:
    return [v for v in (s.state_var, s.pos_var, s.got_var, s.rem_var) if v >= 0]


@pytest.mark.parametrize(("time", "runtime"), MODES, ids=lambda m: m if isinstance(m, str) else m.value)
@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.name)
def test_the_invariants_the_ir_promises(path: Path, time: TimeMode, runtime: str) -> None:
    """In every reachable state: a state in the middle of a poll has a next step of that poll;
    with atomic polls (current-thread) only transitions of the task being polled are enabled
    there (TransitionSystem.atomic); every quiescent state has TransitionSystem.rest's values
    (compose.py assumes them); and whatever is inside a future that is not alive or not yet
    polled is idle (a future's creation says so explicitly, and nothing may break it before its
    first poll), but for a guard an fn returned, which its caller holds once the fn is gone
    (NOTE(returned-guard)). Multi-thread, up to 30,000 states of each model."""
    model = load(Source(str(path), path.read_text()), time, runtime=runtime)
    ts = model.ts
    cs = compile_system(ts)
    assert ts.atomic == (runtime == Runtime.CURRENT_THREAD) and ts.rest
    main_var = next((model.slots[t.root].state_var for t in model.tasks if t.name == "main"), -1)
    inside: dict[int, list[int]] = {s.index: [] for s in model.slots}
    returned: set[int] = set()  # the variables of returned guards
    for s in model.slots:
        p = s.parent
        while p >= 0:
            inside[p].extend(_fresh_vars(s))
            p = model.slots[p].parent
        if s.returned:
            returned.update(_fresh_vars(s))
    code = [s for s in model.slots if s.kind in (SlotKind.CODE, SlotKind.ROOT) and inside[s.index]]
    seen = {ts.initial}
    frontier = [ts.initial]
    while frontier:
        st = frontier.pop()
        for s in code:
            if st[s.state_var] in (PC_ENTRY, PC_DEAD):
                bad = [ts.vars[v].name for v in inside[s.index]
                       if st[v] != 0 and not (st[s.state_var] == PC_DEAD and v in returned)]
                assert not bad, f"{s.label} has pc {st[s.state_var]} but {bad} are not 0 in {st}"
        succs = cs.step(st)
        if cs.quiescent(st):
            wrong = [ts.vars[v].name for v, value in ts.rest if st[v] != value]
            assert not wrong, f"quiescent state {st} breaks TransitionSystem.rest: {wrong}"
            if cs.blocked(st):
                continue
        elif ts.atomic:
            assert succs, f"a poll stops in the middle, in state {st}"
            assert len({ts.transitions[tid].process for tid, _ in succs}) == 1, f"two tasks run at once in {st}"
            assert all(ts.transitions[tid].inner for tid, _ in succs), f"a poll starts inside another in {st}"
        elif not (main_var >= 0 and st[main_var] == PC_DONE):  # main's end stops every poll under way
            assert any(ts.transitions[tid].inner for tid, _ in succs), f"a poll stops in the middle, in state {st}"
        for _, t in succs:
            if t not in seen:
                seen.add(t)
                frontier.append(t)
        if not ts.atomic and len(seen) > 30_000:
            break
        assert len(seen) < 200_000, "model too large for this test"
