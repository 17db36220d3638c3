"""The z3 engine (symbolic.py): its encoding on tiny hand-built systems with known reachability, and
every bundled model on both engines (same verdict, same shortest length, every safe model proved)."""

from __future__ import annotations

import dataclasses
import itertools
import re
import time
from pathlib import Path
from typing import Any

import pytest
import z3  # type: ignore[import-untyped]
from conftest import BUGS_DIR, MODELS
from hypothesis import given, settings
from hypothesis import strategies as st
from test_engine import PRODUCTION_SHAPE, _exprs

from mcheck import bfs, symbolic
from mcheck.budget import Budget
from mcheck.cli import main
from mcheck.compiler import Runtime
from mcheck.errors import InternalError
from mcheck.evaluate import State, compile_system, evaluate
from mcheck.ir import (
    EdgeKind,
    Expr,
    ExprBuilder,
    Transition,
    TransitionSystem,
    VarDecl,
    WaitEdge,
    WaitGraph,
    WaitNode,
    WaitRoot,
)
from mcheck.model import StepLabel, TimeMode
from mcheck.source import Source
from mcheck.trace import Status
from mcheck.verify import Engine, check, load

MODEL_FILES = sorted(MODELS.rglob("*.mc"))


def _system(b: ExprBuilder, vars_: list[tuple[str, int, int]], trans: list[tuple[Expr, dict[int, Expr | int]]],
            nodes: list[tuple[Expr, Expr]], roots: list[Expr], *, priorities: list[int] | None = None,
            processes: list[int] | None = None, edges: tuple[tuple[int, int, Expr], ...] = (),
            overflow: Expr | None = None) -> TransitionSystem[str]:
    """vars_: (name, lo, hi), initial value lo; trans: (guard, updates); nodes: (live, ready); one
    root per node in `roots` (its alive predicate)."""
    ts = [Transition(i, g, tuple(sorted((v, b.const(u) if isinstance(u, int) else u) for v, u in upd.items())),
                     (priorities or [0] * len(trans))[i], f"t{i}", (processes or [0] * len(trans))[i])
          for i, (g, upd) in enumerate(trans)]
    waits = WaitGraph(tuple(WaitNode(f"n{i}", live, ready, b.false) for i, (live, ready) in enumerate(nodes)),
                      tuple(WaitEdge(s, d, c, EdgeKind.RESOURCE) for s, d, c in edges),
                      tuple(WaitRoot(f"r{i}", i, alive) for i, alive in enumerate(roots)))
    return TransitionSystem(tuple(VarDecl(n, lo, hi, lo) for n, lo, hi in vars_), tuple(ts), waits,
                            overflow or b.false, b)


def _reachable(ts: TransitionSystem[Any]) -> set[State]:
    """The states the engines store: with atomic polls, those where no poll is under way."""
    cs = compile_system(ts)
    seen = {ts.initial}
    todo = [ts.initial]
    while todo:
        s = todo.pop()
        if cs.blocked(s):
            continue
        succs = bfs.poll_ends(cs, s)
        for _, t in succs:
            if t not in seen:
                seen.add(t)
                todo.append(t)
    return seen


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_the_translation_agrees_with_the_interpreter(data: st.DataObject) -> None:
    """Every IR operator, booleans read as 0/1 where an integer is expected, as evaluate.evaluate does."""
    b = ExprBuilder()
    e = data.draw(_exprs(b))
    ts = _system(b, [(f"v{i}", -2, 2) for i in range(3)], [], [], [])
    enc = symbolic._Encoding(ts)
    term = enc.integer(e)
    for state in itertools.product(range(-2, 3), repeat=3):
        pairs = [(x, z3.IntVal(v, enc.ctx)) for x, v in zip(enc.x, state, strict=True)]
        assert z3.simplify(z3.substitute(term, *pairs)).as_long() == evaluate(e, state), (e, state)


def _counter(k: int, ready_unless: int, limit: int) -> TransitionSystem[str]:
    """x counts up to `limit`; its one process is stuck when x == ready_unless and nothing can fire."""
    b = ExprBuilder()
    x = b.var(0)
    return _system(b, [("x", 0, 5)], [(b.lt(x, limit), {0: b.add(x, 1)})],
                   [(b.true, b.ne(x, ready_unless))], [b.true])


@pytest.mark.parametrize("k", range(5))
def test_stuck_at_exactly_depth_k(k: int) -> None:
    ts = _counter(k, k, k)
    z = symbolic.search(ts)
    assert z.outcome is symbolic.Outcome.STUCK
    assert [t for t, _ in z.path] == [-1] + [0] * k
    assert z.path[-1][1] == (k,)
    assert z.depth == k - 1  # every shallower depth was checked
    assert len(bfs.search(ts).path) == k + 1


def test_unreachable_stuck_state_is_proved_with_an_invariant() -> None:
    ts = _counter(3, 3, 2)  # x stops at 2; a stuck state needs x == 3
    z = symbolic.search(ts)
    assert z.outcome is symbolic.Outcome.PROVED and z.invariant is not None
    inv = z.invariant
    assert all(evaluate(e, s) for e in inv.exprs for s in _reachable(ts))
    assert not all(evaluate(e, (3,)) for e in inv.exprs)
    assert inv.clauses == ("x in 0..2",)


def test_priorities_decide_the_shortest_path() -> None:
    # t0 (priority 0) counts x to 2 while y == 0; t1 (priority 1) sets y. Ignoring priorities, t1
    # could fire at once and leave the process stuck after 1 step; with them, only after 3.
    b = ExprBuilder()
    x, y = b.var(0), b.var(1)
    trans: list[tuple[Expr, dict[int, Expr | int]]] = [(b.and_(b.lt(x, 2), b.eq(y, 0)), {0: b.add(x, 1)}),
                                                       (b.eq(y, 0), {1: 1})]
    ts = _system(b, [("x", 0, 2), ("y", 0, 1)], trans, [(b.true, b.eq(y, 0))], [b.true], priorities=[0, 1])
    z = symbolic.search(ts)
    assert z.outcome is symbolic.Outcome.STUCK
    assert [t for t, _ in z.path] == [-1, 0, 0, 1]
    # Stuck only with y == 1 and x < 2: reachable only if priorities were ignored.
    ts = _system(b, [("x", 0, 2), ("y", 0, 1)], trans, [(b.true, b.or_(b.eq(y, 0), b.eq(x, 2)))], [b.true],
                 priorities=[0, 1])
    assert symbolic.search(ts).outcome is symbolic.Outcome.PROVED
    assert bfs.search(ts).outcome is bfs.Outcome.EXHAUSTED


def test_overflow_states_have_no_successors() -> None:
    # x == 3 would be stuck, but the only way there is through x == 2, beyond the model's bound.
    b = ExprBuilder()
    x = b.var(0)
    ts = _system(b, [("x", 0, 3)], [(b.lt(x, 3), {0: b.add(x, 1)})], [(b.true, b.ne(x, 3))], [b.true],
                 overflow=b.eq(x, 2))
    z = symbolic.search(ts)
    assert z.outcome is symbolic.Outcome.OVERFLOW and z.overflow_state == (2,)
    assert bfs.search(ts).outcome is bfs.Outcome.OVERFLOW
    # An overflow state after 1 step does not hide a stuck state after 4 on another branch.
    y = b.var(1)
    ts = _system(b, [("x", 0, 1), ("y", 0, 5)],
                 [(b.and_(b.eq(x, 0), b.eq(y, 0)), {0: 1}), (b.and_(b.eq(x, 0), b.lt(y, 4)), {1: b.add(y, 1)})],
                 [(b.true, b.ne(y, 4))], [b.true], overflow=b.eq(x, 1))
    z = symbolic.search(ts)
    assert z.outcome is symbolic.Outcome.STUCK and len(z.path) == 5
    assert len(bfs.search(ts).path) == 5


def test_a_process_with_a_firable_transition_is_not_stuck_as_in_the_bfs() -> None:
    # Root 0's node is stuck by the fixpoint, but its process can always fire (Transition.process):
    # the BFS never calls that state stuck, and neither may z3.
    b = ExprBuilder()
    z_ = b.var(0)
    toggle: list[tuple[Expr, dict[int, Expr | int]]] = [(b.true, {0: b.sub(1, z_)})]
    ts = _system(b, [("z", 0, 1)], toggle, [(b.true, b.false)], [b.true])
    assert bfs.search(ts).outcome is bfs.Outcome.EXHAUSTED
    assert symbolic.search(ts).outcome is symbolic.Outcome.PROVED
    # With a second process that is alive and cannot fire, the BFS computes the fixpoint and counts
    # root 0: stuck in the initial state.
    ts = _system(b, [("z", 0, 1)], toggle, [(b.true, b.false), (b.true, b.true)], [b.true, b.true])
    assert len(bfs.search(ts).path) == 1
    z = symbolic.search(ts)
    assert z.outcome is symbolic.Outcome.STUCK and len(z.path) == 1


def test_wait_edges_close_the_stuck_set() -> None:
    # Node 0 waits on node 1 while c == 1; node 1 is ready while x < 2. Stuck: x == 2 and c == 1.
    b = ExprBuilder()
    x, c = b.var(0), b.var(1)
    ts = _system(b, [("x", 0, 2), ("c", 0, 1)],
                 [(b.lt(x, 2), {0: b.add(x, 1)}), (b.eq(c, 0), {1: 1})],
                 [(b.true, b.false), (b.true, b.lt(x, 2))], [b.true, b.false],
                 edges=((0, 1, b.eq(c, 1)),), processes=[1, 1])
    want = len(bfs.search(ts).path)
    z = symbolic.search(ts)
    assert z.outcome is symbolic.Outcome.STUCK and len(z.path) == want


def test_a_counterexample_that_does_not_replay_is_an_internal_error() -> None:
    ts = _counter(2, 2, 2)
    cs = compile_system(ts)
    path = symbolic._replay(cs, ts, [0, 0], [(0,), (1,), (2,)], False)
    assert path == ((-1, (0,)), (0, (1,)), (0, (2,)))
    with pytest.raises(InternalError, match="leads to"):
        symbolic._replay(cs, ts, [0, 0], [(0,), (2,), (2,)], False)
    with pytest.raises(InternalError, match="not stuck"):
        symbolic._replay(cs, ts, [0], [(0,), (1,)], False)


def _model(name: str, time: TimeMode) -> TransitionSystem[StepLabel]:
    path = MODELS / name
    return load(Source(str(path), path.read_text()), time, runtime=Runtime.CURRENT_THREAD).ts


def test_the_learner_extends_a_partial_exploration() -> None:
    """With only the initial state explored, every reachable state the learner needs comes from z3's
    counterexamples to induction (NOTE(symbolic-proof))."""
    options = symbolic.Options(explore_states=1)
    z = symbolic.search(_model("rfd609_fix_owned.mc", TimeMode.UNTIMED), options)
    assert z.outcome is symbolic.Outcome.PROVED and z.invariant is not None
    ts = _model("rfd609.mc", TimeMode.UNTIMED)
    z = symbolic.search(ts, options)
    assert z.outcome is symbolic.Outcome.STUCK and len(bfs.group_polls(compile_system(ts), z.path)) == 5


def test_the_work_budget_is_deterministic() -> None:
    """z3's budget is counted in its resource units (NOTE(symbolic-budget)): the same budget stops
    the engine at the same depth, whatever else the machine is doing."""
    ts = _model("production_fix.mc", TimeMode.UNTIMED)
    runs = [symbolic.search(ts, symbolic.Options(rlimit=1_000_000), compile_system(ts)) for _ in range(2)]
    assert runs[0].outcome is runs[1].outcome is symbolic.Outcome.UNKNOWN
    assert runs[0].depth == runs[1].depth and runs[0].reason == runs[1].reason
    upto = f"no stuck state up to depth {runs[0].depth}" if runs[0].depth >= 0 else "no depth checked"
    assert runs[0].reason == f"{upto} (no proof within --z3-rlimit 1,000,000; BMC stopped by --z3-rlimit 1,000,000)"


def test_timeout_is_inconclusive_with_the_depth_reached() -> None:
    path = MODELS / "production_fix.mc"
    model = load(Source(str(path), path.read_text()), TimeMode.UNTIMED)
    result = check(model, engine=Engine.Z3, budget=Budget(timeout=0.5))
    # How deep BMC gets in half a second depends on the machine and its load; the reason is stated.
    assert result.status is Status.INCONCLUSIVE
    assert re.fullmatch(r"(no stuck state up to depth \d+|no depth checked) \(no proof within --timeout 0\.5 s; "
                        r"BMC stopped by --timeout 0\.5 s\)", result.reason), result.reason


def test_timeout_bounds_composing_the_polls() -> None:
    """Composing the polls (compose.py) of tests/hostile/z3_compose_ignores_timeout.mc takes 40 s
    or more; it once looked at no clock, so only the CLI's alarm stopped it, and a caller of check()
    waited for all of it whatever its --timeout."""
    path = BUGS_DIR / "z3_compose_ignores_timeout.mc"
    model = load(Source(str(path), path.read_text()), TimeMode.UNTIMED, runtime=Runtime.CURRENT_THREAD)
    start = time.monotonic()
    result = check(model, engine=Engine.Z3, budget=Budget(timeout=0.5))
    assert time.monotonic() - start < 5.0
    assert result.status is Status.INCONCLUSIVE and result.reason == "--timeout 0.5 s reached while running the z3 engine"


def test_both_engines_keep_the_stuck_state_the_bfs_found_when_z3_runs_out_of_time(
        capsys: pytest.CaptureFixture[str]) -> None:
    """--engine both with a --timeout that ends while z3 works: the BFS's stuck state is still the
    answer (exit 1), with a note that z3 did not finish, as when z3 stops itself between queries.
    It was inconclusive (exit 3) when the CLI's alarm stopped z3 outside the engine's own checks."""
    path = str(BUGS_DIR / "z3_compose_ignores_timeout.mc")
    start = time.monotonic()
    code = main(["verify", path, "--engine", "both", "--timeout", "1.5", "--quiet", "--runtime", "current-thread"])
    out = capsys.readouterr().out
    assert time.monotonic() - start < 6.0
    assert code == 1 and out.startswith(f"{path}: futurelock found"), out
    assert re.search(r"note: z3: inconclusive \(.*--timeout 1\.5 s.*\), [\d.]+ s", out), out


def test_max_depth_is_inconclusive() -> None:
    z = symbolic.search(_model("production.mc", TimeMode.UNTIMED), symbolic.Options(max_depth=3))
    assert z.outcome is symbolic.Outcome.LIMIT and z.depth == 2
    assert "--max-depth 3" in z.reason


@pytest.mark.parametrize("time", list(TimeMode), ids=lambda t: t.value)
def test_symmetry_does_not_change_the_shortest_length(time: TimeMode) -> None:
    """z3 ignores TransitionSystem.symmetry; the BFS reduces by it. Same shortest length (on
    production.mc's shape without its per-request replies, whose per-copy oneshots turn symmetry off)."""
    ts = load(Source("production_shape.mc", PRODUCTION_SHAPE), time, runtime=Runtime.CURRENT_THREAD).ts
    assert ts.symmetry
    reduced = bfs.search(ts)
    full = bfs.search(dataclasses.replace(ts, symmetry=()))
    z = symbolic.search(ts)
    assert len(bfs.group_polls(compile_system(ts), z.path)) == len(reduced.path) == len(full.path) > 1


def test_the_engines_disagreeing_is_an_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    path = MODELS / "rfd609.mc"
    model = load(Source(str(path), path.read_text()), TimeMode.UNTIMED)
    real = symbolic.search(model.ts)

    def shorter(*_: object, **__: object) -> symbolic.SymbolicResult:
        return dataclasses.replace(real, path=real.path[:-1])

    monkeypatch.setattr(symbolic, "search", lambda *_, **__: dataclasses.replace(real, outcome=symbolic.Outcome.PROVED))
    with pytest.raises(InternalError, match="bfs finds a reachable stuck state, z3 finds no reachable stuck state"):
        check(model, engine=Engine.BOTH)
    monkeypatch.setattr(symbolic, "search", shorter)
    with pytest.raises(InternalError):
        check(model, engine=Engine.BOTH)


Z3_OUT_OF_REACH = {
    # 40 futures queued on one lock: each transition carries the FIFO walk over 40 waiters, and z3
    # neither learns an invariant nor checks the reachable set (81 states) within its work budget.
    "55_join_all_ok.mc",
}


@pytest.mark.parametrize("time", list(TimeMode), ids=lambda t: t.value)
@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.name)
def test_model_on_both_engines(path: Path, time: TimeMode, runtime: str = Runtime.CURRENT_THREAD) -> None:
    """Same verdict (the header's), same shortest length; every safe model proved by an invariant that
    holds in every reachable state. On the current-thread runtime (its polls are z3's frames) for
    every model; multi-thread, on the ones below."""
    model = load(Source(str(path), path.read_text()), time, runtime=runtime)
    if path.name in Z3_OUT_OF_REACH:  # the known limit: inconclusive, with the reason, never a wrong verdict
        result = check(model, engine=Engine.Z3, z3_rlimit=10_000_000)
        assert result.status is Status.INCONCLUSIVE and "within --z3-rlimit 10,000,000" in result.reason
        return
    want, _ = model.program.expect.verdict(time is TimeMode.EXACT, runtime)
    assert want is not None
    by_bfs = check(model)
    by_z3 = check(model, engine=Engine.Z3)
    assert by_z3.engine == "z3"
    assert by_bfs.status.value == by_z3.status.value == want.value, by_z3.reason
    if by_bfs.trace is not None:
        assert by_z3.trace is not None and by_z3.trace.first_stuck == by_bfs.trace.first_stuck
        assert by_z3.stats.depth == by_z3.trace.first_stuck
    else:
        assert by_z3.proof is not None, f"{path.name} ({time.value}) is safe but z3 did not prove it"
        for s in _reachable(dataclasses.replace(model.ts, symmetry=())):
            memo: dict[int, int] = {}
            assert all(evaluate(e, s, memo) for e in by_z3.proof.exprs)


def test_the_reachable_set_is_the_fallback_invariant(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the learner runs out of its share of the work and every reachable state is known, the invariant is the
    reachable set itself, checked by z3 like a learned one."""
    monkeypatch.setattr(symbolic, "LEARN_SHARE", 0.0)
    path = MODELS / "rfd609_fix_owned.mc"
    model = load(Source(str(path), path.read_text()), TimeMode.UNTIMED, runtime=Runtime.CURRENT_THREAD)
    result = symbolic.search(model.ts)
    assert result.outcome is symbolic.Outcome.PROVED and result.invariant is not None
    assert result.invariant.clauses[-1].startswith("one of the 11 reachable states: ")
    reachable = _reachable(dataclasses.replace(model.ts, symmetry=()))
    for s in reachable:
        assert all(evaluate(e, s, {}) for e in result.invariant.exprs)
    # It excludes what is not reachable: the initial state with the lock taken, for one.
    lock = next(i for i, v in enumerate(model.ts.vars) if v.name == "lock.available")
    other = tuple(0 if i == lock else x for i, x in enumerate(model.ts.initial))
    assert other not in reachable and not all(evaluate(e, other, {}) for e in result.invariant.exprs)


MULTI_THREAD_BOTH = ["rfd609.mc", "rfd609_fix_owned.mc", "multi_thread_select_send.mc", "abba_deadlock.mc",
                     "joinset_drop_aborts_holder.mc", "notify_waiters_reaches_dormant_and_active.mc"]


@pytest.mark.parametrize("name", MULTI_THREAD_BOTH)
def test_multi_thread_model_on_both_engines(name: str) -> None:
    """The engines agree where other tasks run in the middle of a poll too (every micro-step a frame)."""
    path = next(p for p in MODEL_FILES if p.name == name)
    test_model_on_both_engines(path, TimeMode.UNTIMED, Runtime.MULTI_THREAD)


def _layered(ts: TransitionSystem[StepLabel], cs: Any) -> int:
    enc = symbolic._Encoding(ts)
    work = symbolic._Work(symbolic.DEFAULT_Z3_RLIMIT)
    return symbolic._shallower_clear(enc, cs, symbolic._Budget(work, symbolic.DEFAULT_Z3_RLIMIT, Budget()))


def _multi_thread(name: str) -> TransitionSystem[StepLabel]:
    path = MODELS / name
    return load(Source(str(path), path.read_text()), TimeMode.UNTIMED, runtime=Runtime.MULTI_THREAD).ts


def test_the_explored_layers_clear_every_depth_before_the_first_stuck_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """BMC checks the first stuck depth alone once z3 has checked the explored layers before it
    (symbolic._shallower_clear): the BFS's depth; layers too large to spell out are not used."""
    ts = _multi_thread("rfd609.mc")
    cs = compile_system(ts)
    shortest = len(bfs.search(ts, compiled=cs).path) - 1
    assert not ts.atomic and shortest > 1
    assert _layered(ts, cs) == shortest
    assert len(symbolic.search(ts).path) - 1 == shortest
    monkeypatch.setattr(symbolic, "LAYERED_STATES", 2)  # then BMC goes depth by depth (test_consistency)
    assert _layered(ts, cs) == 0


class _DropsASuccessor:
    """The compiled semantics with the last successor of the initial state left out."""

    def __init__(self, cs: Any, initial: State) -> None:
        self.cs, self.initial = cs, initial

    def step(self, s: State) -> Any:
        succs = self.cs.step(s)
        assert s != self.initial or len(succs) > 1
        return succs[:-1] if s == self.initial else succs

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cs, name)


def test_explored_layers_that_miss_a_state_are_an_internal_error() -> None:
    """z3 checks the layers against the transitions themselves: layers explored with a successor
    missing (the interpreters disagreeing) are refused, never taken as a proof."""
    ts = _multi_thread("rfd609.mc")
    with pytest.raises(InternalError, match="refutes the explored layers"):
        _layered(ts, _DropsASuccessor(compile_system(ts), ts.initial))
