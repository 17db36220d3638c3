"""`return;`: leaves the async fn, async block or task body, dropping its locals on the way out."""

from __future__ import annotations

from conftest import ROOT, compile_text

from mcheck.emit_rust import emit_module
from mcheck.trace import Status
from mcheck.verify import check

MODEL = (ROOT / "models" / "constructs" / "return_drops_dormant_future.mc").read_text()


def verdict(text: str, runtime: str = "multi-thread") -> Status:
    return check(compile_text(text, runtime=runtime)).status


def test_return_drops_the_dormant_future_it_leaves_behind() -> None:
    assert verdict(MODEL) is Status.SAFE
    # The same claim without the early exit awaits lock_op behind the dormant f1: RFD 609.
    assert verdict(MODEL.replace("{ return; }", "{}")) is Status.FUTURELOCK


def test_return_releases_guards_of_every_enclosing_scope() -> None:
    text = """
    let s = Semaphore::new(2);
    async fn op(s: Semaphore) {
        let _a = s.acquire().await;
        loop {
            let _b = s.acquire().await;
            if choose() { return; }
            yield_now().await;
        }
    }
    task main { op(s).await; let _p = s.acquire_many(2).await; }
    """
    assert verdict(text) is Status.SAFE  # a permit kept by either guard would leave acquire_many(2) waiting


def test_return_skips_the_rest_of_the_body() -> None:
    text = "let m = Mutex::new();\ntask main {\n    let _g = m.lock().await;\n    if choose() { return; }\n" \
        "    let _h = m.lock().await;\n}\n"
    assert verdict(text) is Status.DEADLOCK  # the path that does not return locks m again
    assert verdict(text.replace("if choose() { return; }", "return;")) is Status.SAFE


def test_return_inside_a_for_loop_leaves_the_counter_canonical() -> None:
    """A call of `op` run twice from a loop starts its `for` again from 0 after an early return."""
    text = """
    let s = Semaphore::new(1);
    async fn op(s: Semaphore) {
        for _ in 0..3 {
            let _p = s.acquire().await;
            if choose() { return; }
        }
    }
    task main { for _ in 0..2 { op(s).await; } }
    """
    model = compile_text(text, runtime="current-thread")
    assert check(model).status is Status.SAFE


def test_emit_rust_writes_return() -> None:
    model = compile_text(MODEL)
    rust = emit_module(model.program, model.source)
    claim = rust.split("async fn claim(", 1)[1].split("\n}\n", 1)[0]
    assert claim.count("return;") == 2  # in the timer branch of each order the schedule can rotate to
