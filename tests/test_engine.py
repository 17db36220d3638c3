"""The BFS engine and the IR's executable forms, on tiny hand-built transition systems."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from mcheck import bfs
from mcheck.evaluate import compile_system, evaluate, stuck_set
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


def _system(b: ExprBuilder, vars_: list[VarDecl], trans: list[tuple[Expr, dict[int, Expr]]],
            waits: WaitGraph | None = None, priorities: list[int] | None = None) -> TransitionSystem[str]:
    ts = [Transition(i, g, tuple(sorted(u.items())), (priorities or [0] * len(trans))[i], f"t{i}")
          for i, (g, u) in enumerate(trans)]
    return TransitionSystem(tuple(vars_), tuple(ts), waits or WaitGraph((), (), ()), b.false, b)


def test_two_counters_exact_state_count() -> None:
    # x, y in 0..3, each incremented independently: 4 * 4 reachable states.
    b = ExprBuilder()
    x, y = b.var(0), b.var(1)
    ts = _system(b, [VarDecl("x", 0, 3, 0), VarDecl("y", 0, 3, 0)], [
        (b.lt(x, 3), {0: b.add(x, 1)}),
        (b.lt(y, 3), {1: b.add(y, 1)}),
    ])
    r = bfs.search(ts)
    assert r.outcome is bfs.Outcome.EXHAUSTED
    assert r.stats.states == 16
    assert r.stats.transitions == 24  # 2 * 3 * 4
    assert r.stats.depth == 6


def test_mutual_exclusion_state_count_and_stuck_state() -> None:
    # Two processes take a lock (l: 0 free, 1 held by p0, 2 held by p1), then hold it forever.
    # pc in {0 want, 1 have}. p1 wants the lock; when p0 holds it forever, p1 is stuck.
    b = ExprBuilder()
    lk, pc0, pc1 = b.var(0), b.var(1), b.var(2)
    nodes = (
        WaitNode("p0", b.const(1, boolean=True), b.and_(b.eq(pc0, 0), b.eq(lk, 0)), b.false),
        WaitNode("p1", b.const(1, boolean=True), b.and_(b.eq(pc1, 0), b.eq(lk, 0)), b.false),
    )
    edges = (
        WaitEdge(1, 0, b.and_(b.eq(pc1, 0), b.eq(lk, 1)), EdgeKind.RESOURCE),
        WaitEdge(0, 1, b.and_(b.eq(pc0, 0), b.eq(lk, 2)), EdgeKind.RESOURCE),
    )
    # p0 in state "have" is stuck by itself (it never releases): model it as never ready with no edges.
    roots = (WaitRoot("p1", 1, b.eq(pc1, 0)),)
    waits = WaitGraph(nodes, edges, roots)
    ts = _system(b, [VarDecl("l", 0, 2, 0), VarDecl("pc0", 0, 1, 0), VarDecl("pc1", 0, 1, 0)], [
        (b.and_(b.eq(pc0, 0), b.eq(lk, 0)), {0: b.const(1), 1: b.const(1)}),
        (b.and_(b.eq(pc1, 0), b.eq(lk, 0)), {0: b.const(2), 2: b.const(1)}),
    ], waits)
    r = bfs.search(ts)
    assert r.outcome is bfs.Outcome.STUCK
    assert [tids for tids, _ in r.path] == [(), (0,)]  # shortest: p0 takes the lock, p1 waits forever
    assert r.path[-1][1] == ((1, 1, 0),)
    assert stuck_set(waits, (1, 1, 0)) == {0, 1}


def test_priority_levels_fire_only_when_lower_levels_are_disabled() -> None:
    b = ExprBuilder()
    x, t = b.var(0), b.var(1)
    ts = _system(b, [VarDecl("x", 0, 2, 0), VarDecl("t", 0, 1, 0)], [
        (b.lt(x, 2), {0: b.add(x, 1)}),
        (b.eq(t, 0), {1: b.const(1)}),
    ], priorities=[0, 1])
    r = bfs.search(ts)
    # t may only change once x is 2: states (0,0) (1,0) (2,0) (2,1).
    assert r.stats.states == 4


def test_max_states_is_inconclusive() -> None:
    b = ExprBuilder()
    x = b.var(0)
    ts = _system(b, [VarDecl("x", 0, 100, 0)], [(b.lt(x, 100), {0: b.add(x, 1)})])
    r = bfs.search(ts, bfs.Limits(max_states=10))
    assert r.outcome is bfs.Outcome.LIMIT and "max-states" in r.limit_hit
    r = bfs.search(ts, bfs.Limits(max_depth=5))
    assert r.outcome is bfs.Outcome.LIMIT and "max-depth" in r.limit_hit


def test_builder_folds_and_hash_conses() -> None:
    b = ExprBuilder()
    x = b.var(3)
    assert b.add(x, 0) is x
    assert b.eq(b.const(2), b.const(2)) is b.true
    assert b.and_(b.true, b.lt(x, 4)) is b.lt(x, 4)
    assert b.ite(b.false, x, 7).value == 7
    assert b.not_(b.eq(x, 1)) is b.ne(x, 1)


_OPS = ["add", "sub", "min", "eq", "lt", "le", "ite", "and", "or", "not"]


@st.composite
def _exprs(draw: st.DrawFn, b: ExprBuilder, depth: int = 3) -> Expr:
    if depth == 0 or draw(st.booleans()):
        if draw(st.booleans()):
            return b.var(draw(st.integers(0, 2)))
        return b.const(draw(st.integers(-2, 3)))
    op = draw(st.sampled_from(_OPS))
    a = draw(_exprs(b, depth - 1))
    c = draw(_exprs(b, depth - 1))
    if op in ("and", "or"):
        return getattr(b, op + "_")(b.lt(a, c), b.le(c, a))
    if op == "not":
        return b.not_(b.eq(a, c))
    if op == "ite":
        return b.ite(b.lt(a, c), a, c)
    if op == "min":
        return b.min_(a, c)
    return getattr(b, op)(a, c)  # type: ignore[no-any-return]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_compiled_code_agrees_with_the_interpreter(data: st.DataObject) -> None:
    b = ExprBuilder()
    guard = data.draw(_exprs(b))
    upd = data.draw(_exprs(b))
    guard = b.lt(b.const(0), b.add(b.ite(guard, 1, 0), 0)) if not guard.is_bool else guard
    ts = _system(b, [VarDecl(f"v{i}", -50, 50, 0) for i in range(3)], [(guard, {1: upd})])
    succ = compile_system(ts).successors[0]
    for state in itertools.product(range(-2, 3), repeat=3):
        fired = succ(state)
        if evaluate(guard, state):
            expected = list(state)
            expected[1] = evaluate(upd, state)
            assert fired == [(0, tuple(expected))]
        else:
            assert fired == []


PRODUCTION_SHAPE = """let claims = channel(1);
task pool { loop { select! { Some(_) = claims.recv() => { sleep(10).await; } _ = sleep(50) => {} } } }
task request[2] { for _ in 0..2 { claims.send().await; sleep(20).await; } }
async fn collect(c: Channel) { c.send().await; sleep(20).await; }
task main {
    sleep(1).await;
    let collection = collect(claims);
    loop { select! { _ = &mut collection => break, _ = sleep(5) => { claims.send().await; } } }
}
"""
PRODUCTION_SELECT = "loop { select! { _ = &mut collection => break, _ = sleep(5) => { claims.send().await; } } }"
PRODUCTION_FIX = ("let checker = async { loop { sleep(5).await; claims.send().await; } };\n"
                  "    select! { _ = checker => {} _ = collection => {} }")


def test_symmetry_reduction_keeps_verdicts_and_trace_lengths() -> None:
    """Copies of a task (`task NAME[N]`) are interchangeable: exploring one state per permutation
    class must find the same verdict and a shortest trace of the same length."""
    import dataclasses

    from mcheck.model import TimeMode
    from mcheck.source import Source
    from mcheck.verify import load

    # production.mc's shape without its per-request replies (a oneshot per copy turns symmetry off)
    variants = [PRODUCTION_SHAPE, PRODUCTION_SHAPE.replace(PRODUCTION_SELECT, PRODUCTION_FIX)]
    pool = "let ch = channel(1);\ntask pool { loop { ch.recv().await; sleep(5).await; } }\n"
    variants.append(pool + "task req[3] { for _ in 0..2 { ch.send().await; sleep(20).await; } }\n")
    for text in variants:
        for time in TimeMode:
            ts = load(Source("m.mc", text), time).ts
            assert ts.symmetry, "the model has replicated tasks"
            reduced = bfs.search(ts)
            full = bfs.search(dataclasses.replace(ts, symmetry=()))
            assert reduced.outcome is full.outcome
            assert len(reduced.path) == len(full.path)
            assert reduced.stats.states < full.stats.states
            # The reported run is a real run: every step is a transition of the system.
            cs = compile_system(ts)
            for (_, before), (tids, afters) in zip(reduced.path, reduced.path[1:], strict=False):
                cur = before[-1]
                for tid, after in zip(tids, afters, strict=True):  # each micro-step of the poll
                    assert (tid, after) in cs.step(cur)
                    cur = after
