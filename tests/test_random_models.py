"""Random well-formed models: the pipeline never crashes, every reported trace replays, and the two
engines agree.

Models are drawn from the constructs of docs/language.md (locks, semaphores, channels, oneshots,
futures as values, select!, join!, spawn, loops). For each: compile and search in both time modes;
any exception other than a located ModelError is a bug; a stuck result must come with a trace
whose every step is an enabled transition of the IR (checked with the reference interpreter) and
a stuck report for its last state. Then the same kind of models go through `--engine both`: the
BFS and z3 must reach the same verdict and the same shortest length, and z3 must prove every model
the BFS finds safe. A model on which they ever disagree becomes an `@example` of that test."""

from __future__ import annotations

from conftest import compile_text
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mcheck import bfs
from mcheck.errors import ModelError
from mcheck.evaluate import evaluate
from mcheck.model import TimeMode
from mcheck.trace import Status
from mcheck.verify import Engine, check

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

_LEAF = st.sampled_from([
    "m.lock().await;", "n.lock().await;", "let _g = m.lock().await;", "let _h = n.lock().await;",
    "sleep(5).await;", "sleep(10).await;", "yield_now().await;", "ch.send().await;", "ch.recv().await;",
    "ch.try_send();", "os.send();", "os.recv().await;", "let _p = sem.acquire().await;",
    "hold(m, 5).await;", "take(sem, 2).await;", "claim(ch).await;",
])
_FUT = st.sampled_from(["hold(m, 5)", "hold(n, 10)", "take(sem, 2)", "claim(ch)", "sleep(3)", "m.lock()"])


@st.composite
def _stmts(draw: st.DrawFn, depth: int = 1) -> list[str]:
    out: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.integers(0, 9 if depth > 0 else 5))
        if kind <= 5:
            out.append(draw(_LEAF))
        elif kind == 6:
            f = draw(_FUT)
            out.append(f"let f{depth} = {f};")
            other = draw(_LEAF)
            borrow = draw(st.booleans())
            arm = f"&mut f{depth}" if borrow else f"f{depth}"
            out.append(f"select! {{ _ = {arm} => {{}} _ = sleep(5) => {{ {other} }} }}")
            if borrow and draw(st.booleans()):
                out.append(f"drop(f{depth});")
        elif kind == 7:
            out.append(f"join!({draw(_FUT)}, {draw(_FUT)});")
        elif kind == 8:
            body = " ".join(draw(_stmts(depth - 1)))
            out.append(f"for _ in 0..2 {{ {body} }}")
        else:
            body = " ".join(draw(_stmts(depth - 1)))
            other = " ".join(draw(_stmts(depth - 1)))
            out.append(f"if choose() {{ {body} }} else {{ {other} }}")
    return out


@st.composite
def models(draw: st.DrawFn) -> str:
    tasks = []
    for i in range(draw(st.integers(1, 2 if draw(st.booleans()) else 3))):
        name = "main" if i == 0 and draw(st.booleans()) else f"t{i}"
        tasks.append(f"task {name} {{ {' '.join(draw(_stmts()))} }}")
    return RESOURCES + "\n".join(tasks) + "\n"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models(), st.sampled_from(list(TimeMode)))
def test_random_model_checks_and_its_trace_replays(text: str, time: TimeMode) -> None:
    try:
        model = compile_text(text, time)
    except ModelError as e:
        assert e.diagnostics  # a located, rendered error is fine; anything else is a bug
        return
    result = check(model, bfs.Limits(max_states=20_000))
    assert result.status in set(Status)
    if result.status in (Status.FUTURELOCK, Status.DEADLOCK):
        trace = result.trace
        assert trace is not None and trace.report.stuck_tasks
        state = trace.initial
        for step in trace.steps:
            t = model.ts.transitions[step.transition]
            memo: dict[int, int] = {}
            assert evaluate(t.guard, state, memo), "a trace step is not enabled in its state"
            nxt = list(state)
            for var, e in t.updates:
                nxt[var] = evaluate(e, state, memo)
            assert tuple(nxt) == step.state, "a trace step does not lead to the next state"
            state = step.state


# Regression models for the cross-check: generated models worth keeping (add any the test ever
# reports, with the time mode it failed in).
THREE_TASKS = RESOURCES + """task t0 { claim(ch).await; let _p = sem.acquire().await; for _ in 0..2 { m.lock().await; } }
task t1 { for _ in 0..2 { m.lock().await; ch.recv().await; let _p = sem.acquire().await; } sleep(10).await; }
task t2 { let _p = sem.acquire().await; join!(sleep(3), sleep(3)); for _ in 0..2 { claim(ch).await; n.lock().await; } }
"""


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models(), st.sampled_from(list(TimeMode)))
@example(THREE_TASKS, TimeMode.UNTIMED)  # safe, with a large invariant (about 150 clauses)
def test_random_model_on_both_engines(text: str, time: TimeMode) -> None:
    try:
        model = compile_text(text, time)
    except ModelError as e:
        assert e.diagnostics
        return
    # An InternalError (the engines disagree, or a z3 path does not replay) fails the test.
    result = check(model, bfs.Limits(max_states=20_000), engine=Engine.BOTH)
    if result.status is Status.SAFE:
        assert result.proof is not None, f"z3 did not prove a model the BFS found safe: {result.notes}"
