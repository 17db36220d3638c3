"""Generated models (tests/modelgen.py, every construct of docs/language.md): the pipeline never
crashes, every reported trace replays, the two engines agree, and symmetry reduction changes
nothing but the number of states.

For each seed: compile and search in both time modes; any exception other than a located
ModelError is a bug; a stuck result must come with a trace whose every step is an enabled
transition of the IR (checked with the reference interpreter) and a stuck report for its last
state. Then `--engine both` on the models small enough for z3: the BFS and z3 must reach the same
verdict and the same shortest length (else check() raises InternalError), and z3 must prove the
models the BFS finds safe, with an invariant that holds in every reachable state. And a model
with task copies must get the same verdict and trace length with and without symmetry reduction.

Models that end inconclusive within the small bounds used here are skipped, but each test counts
what it checked and fails when too little was. MCHECK_RANDOM_SEED (default below) moves the seed
range, so CI can vary it; every message names the seed. A model on which a check ever fails
belongs in REGRESSIONS.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections import Counter

import pytest
from conftest import compile_text
from modelgen import random_model
from test_symbolic import _reachable

from mcheck import bfs
from mcheck.budget import Budget, OutOfBudget
from mcheck.compiler import Runtime
from mcheck.compose import compose
from mcheck.errors import ModelError
from mcheck.evaluate import evaluate
from mcheck.model import CompiledModel, TimeMode
from mcheck.source import Source
from mcheck.symbolic import COMPOSE_PATHS
from mcheck.trace import Result, Status
from mcheck.verify import Engine, check, load

BASE = int(os.environ.get("MCHECK_RANDOM_SEED", "1000"))
"""The first seed; each test reads its own range of seeds above it."""

# A model from the hand-written grammar this file used before modelgen: safe, with an invariant
# of about 150 clauses. Add any model a check here ever fails on, with its time mode.
RESOURCES = """
let m = Mutex::new();
let n = Mutex::new();
let sem = Semaphore::new(2);
let ch = channel(1);
let os = oneshot();
async fn hold(x: Mutex, ms: u64) { let _g = x.lock().await; sleep(ms).await; }
async fn take(s: Semaphore, k: u64) { let _p = s.acquire_many(k).await; sleep(1).await; }
async fn claim(c: Channel) { c.send().await; }
"""
THREE_TASKS = RESOURCES + """task t0 { claim(ch).await; let _p = sem.acquire().await; for _ in 0..2 { m.lock().await; } }
task t1 { for _ in 0..2 { m.lock().await; ch.recv().await; let _p = sem.acquire().await; } sleep(10).await; }
task t2 { let _p = sem.acquire().await; join!(sleep(3), sleep(3)); for _ in 0..2 { claim(ch).await; n.lock().await; } }
"""
REGRESSIONS = [pytest.param(THREE_TASKS, TimeMode.UNTIMED, id="three_tasks")]


def _compiled(seed: int, time: TimeMode, symmetry: bool = True, seconds: float = 2.0,
              runtime: str | None = None) -> CompiledModel | None:
    """The model of `seed`, or None when it is refused (with a located error) or takes longer
    than `seconds` to compile."""
    try:
        return load(Source(f"seed{seed}.mc", random_model(seed)), time, symmetry, Budget(timeout=seconds), runtime)
    except ModelError as e:
        assert e.diagnostics, f"seed {seed}: a ModelError without a located diagnostic"
    except OutOfBudget:
        pass
    return None


def _bfs(model: CompiledModel, max_states: int, seconds: float) -> Result:
    try:
        return check(model, bfs.Limits(max_states=max_states), budget=Budget(timeout=seconds))
    except OutOfBudget as e:  # before the search started (generating code)
        return Result(Status.INCONCLUSIVE, "bfs", bfs.Stats(0, 0, 0, 0.0, 0.0), reason=str(e))


def _replays(model: CompiledModel, result: Result, seed: int) -> None:
    """Every micro-step of every poll of the trace, on the reference interpreter: enabled in its
    state and leading to the next one; and the last state has a stuck report."""
    trace = result.trace
    assert trace is not None and trace.report.stuck_tasks, f"seed {seed}: a stuck result without a stuck report"
    state = trace.initial
    for n, step in enumerate(trace.steps, 1):
        for tid, after in zip(step.transitions, step.states, strict=True):
            t = model.ts.transitions[tid]
            memo: dict[int, int] = {}
            assert evaluate(t.guard, state, memo), f"seed {seed}: step {n} of the trace is not enabled in its state"
            nxt = list(state)
            for var, e in t.updates:
                nxt[var] = evaluate(e, state, memo)
            assert tuple(nxt) == after, f"seed {seed}: step {n} of the trace does not lead to the next state"
            state = after


REPLAY_SEEDS = 30


@pytest.mark.parametrize(("time", "runtime"), [(TimeMode.UNTIMED, Runtime.MULTI_THREAD),
                                               (TimeMode.UNTIMED, Runtime.CURRENT_THREAD),
                                               (TimeMode.EXACT, Runtime.CURRENT_THREAD)],
                         ids=lambda m: m if isinstance(m, str) else m.value)
def test_generated_models_check_and_their_traces_replay(time: TimeMode, runtime: str) -> None:
    seen: Counter[str] = Counter()
    for seed in range(BASE, BASE + REPLAY_SEEDS):
        model = _compiled(seed, time, runtime=runtime)
        if model is None:
            seen["refused"] += 1
            continue
        result = _bfs(model, 1_000, 1.5)
        assert result.status in set(Status)
        seen[result.status.value] += 1
        if result.status in (Status.FUTURELOCK, Status.DEADLOCK):
            _replays(model, result, seed)
    stuck = seen["futurelock"] + seen["deadlock"]
    assert stuck >= REPLAY_SEEDS // 4, f"MCHECK_RANDOM_SEED={BASE}: only {stuck} traces replayed: {dict(seen)}"


BOTH_SEEDS = 40
BOTH_MAX_STATES = 200
"""Models with more states than this (by the BFS) are left out of the z3 cross-check: z3's cost grows fast."""
Z3_RLIMIT = 20_000_000
"""The z3 cross-checks run on the current-thread runtime, where z3's frames are whole polls; on the
multi-thread runtime (a frame per operation) z3 proves little within a test's budget, and
tests/test_symbolic.py cross-checks bundled models there."""


def _z3_can_start(model: CompiledModel) -> bool:
    """Whether the z3 engine's first step, composing the polls (compose.py), ends within a second:
    on some small models it takes minutes (tests/hostile/z3_compose_ignores_timeout.mc)."""
    if not model.ts.atomic:
        return True
    try:
        compose(model.ts, COMPOSE_PATHS, budget=Budget(timeout=1.0))
    except OutOfBudget:
        return False
    return True


def _on_both(model: CompiledModel, seed: object, rlimit: int, seconds: float | None) -> Result:
    """`--engine both`: an InternalError (a disagreement on the verdict or the shortest length, or a
    z3 path that does not replay) fails the test. A safe verdict must come with z3's proof unless
    z3 ran into a bound, and the invariant must hold in every reachable state."""
    result = check(model, bfs.Limits(max_states=20_000), engine=Engine.BOTH, z3_rlimit=rlimit,
                   budget=Budget(timeout=seconds))
    if result.status is Status.SAFE and result.proof is not None:
        for s in _reachable(dataclasses.replace(model.ts, symmetry=())):
            memo: dict[int, int] = {}
            assert all(evaluate(e, s, memo) for e in result.proof.exprs), (
                f"seed {seed}: z3's invariant excludes a reachable state")
    elif result.status is Status.SAFE:
        assert re.search(r"--z3-rlimit|--timeout", result.notes[0]), (
            f"seed {seed}: z3 did not prove a model the BFS found safe, and no bound stopped it: {result.notes}")
    return result


@pytest.mark.parametrize(("text", "time"), REGRESSIONS)
def test_regression_models_on_both_engines(text: str, time: TimeMode) -> None:
    result = _on_both(compile_text(text, time, runtime=Runtime.CURRENT_THREAD), "regression", 120_000_000, None)
    assert result.status is not Status.SAFE or result.proof is not None, result.notes


def test_generated_models_on_both_engines() -> None:
    seen: Counter[str] = Counter()
    for seed in range(BASE + 100, BASE + 100 + BOTH_SEEDS):
        model = _compiled(seed, TimeMode.UNTIMED, runtime=Runtime.CURRENT_THREAD)
        if model is None:
            continue
        by_bfs = _bfs(model, BOTH_MAX_STATES, 2.0)
        if by_bfs.status is Status.INCONCLUSIVE or not _z3_can_start(model):
            seen["skipped"] += 1
            continue
        result = _on_both(model, seed, Z3_RLIMIT, 6.0)
        # Stuck or not, and how far: futurelock or deadlock can depend on how much of the victim
        # search the budget left (tests/test_hostile.py, the strict xfail on the victim search).
        assert (result.trace is None) == (by_bfs.trace is None), (
            f"seed {seed}: bfs alone {by_bfs.status.value}, both {result.status.value}")
        if result.trace is not None and by_bfs.trace is not None:
            assert result.trace.first_stuck == by_bfs.trace.first_stuck, f"seed {seed}: the shortest trace differs"
        z3_decided = result.proof is not None or "first stuck state after" in result.notes[0]
        seen[f"{result.status.value}{'' if z3_decided else ', z3 undecided'}"] += 1
    decided = sum(n for k, n in seen.items() if "undecided" not in k and k != "skipped")
    stuck = seen["futurelock"] + seen["deadlock"]
    assert decided >= 12 and seen["safe"] >= 4 and stuck >= 4, (
        f"MCHECK_RANDOM_SEED={BASE}: too few models decided by both engines: {dict(seen)}")
    # z3 is meant to prove what the BFS proves: a bound may stop it now and then, not usually.
    assert seen["safe"] >= seen["safe, z3 undecided"], f"MCHECK_RANDOM_SEED={BASE}: {dict(seen)}"


SYMMETRY_SEEDS = 80
SYMMETRY_COMPARED = 12
"""Stop after comparing this many models (each costs two searches)."""


def _with_copies(text: str, seed: int) -> str:
    """The generated model with its first task other than `main` declared in 2 or 3 copies (the
    generator gives copies to few tasks)."""
    if re.search(r"^task \w+\[\d+\]", text, re.M):
        return text
    return re.sub(r"^task (?!main\b)(\w+) \{", lambda m: f"task {m.group(1)}[{2 + seed % 2}] {{", text, count=1, flags=re.M)


def test_symmetry_reduction_keeps_the_verdict_and_the_trace_length() -> None:
    """Generated models with task copies (`task NAME[N]`), with and without symmetry reduction."""
    compared: Counter[str] = Counter()
    for seed in range(BASE + 200, BASE + 200 + SYMMETRY_SEEDS):
        text = _with_copies(random_model(seed), seed)
        if not re.search(r"^task \w+\[\d+\]", text, re.M):
            continue
        models = []
        for symmetry in (True, False):
            try:
                models.append(load(Source(f"seed{seed}.mc", text), TimeMode.UNTIMED, symmetry, Budget(timeout=1.0)))
            except (ModelError, OutOfBudget):
                break
        if len(models) < 2:
            continue
        reduced_model, full_model = models
        assert reduced_model.ts.symmetry, f"seed {seed}: task copies but no symmetry to reduce by"
        reduced, full = _bfs(reduced_model, 1_000, 1.0), _bfs(full_model, 4_000, 2.0)
        if Status.INCONCLUSIVE in (reduced.status, full.status):
            continue
        assert (reduced.trace is None) == (full.trace is None), (
            f"seed {seed}: {reduced.status.value} reduced, {full.status.value} without")
        # Futurelock or deadlock is the verdict of the victim search's last state: compared when both
        # searches ran to the end (cut short, it can differ: the strict xfail in tests/test_hostile.py).
        if not (reduced.victims and reduced.victims.stopped) and not (full.victims and full.victims.stopped):
            assert reduced.status is full.status, f"seed {seed}: {reduced.status.value} reduced, {full.status.value} without"
        assert reduced.stats.states <= full.stats.states, f"seed {seed}: symmetry reduction added states"
        if full.trace is not None:
            assert reduced.trace is not None and reduced.trace.first_stuck == full.trace.first_stuck, (
                f"seed {seed}: shortest trace {reduced.trace and reduced.trace.first_stuck} reduced, "
                f"{full.trace.first_stuck} without")
            _replays(reduced_model, reduced, seed)  # a reduced trace is a real run too
        compared[full.status.value] += 1
        if sum(compared.values()) >= SYMMETRY_COMPARED:
            break
    assert sum(compared.values()) >= SYMMETRY_COMPARED // 2, f"MCHECK_RANDOM_SEED={BASE}: only compared {dict(compared)}"
    assert len(compared) >= 2, f"MCHECK_RANDOM_SEED={BASE}: every model compared has one verdict: {dict(compared)}"
