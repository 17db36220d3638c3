"""try_lock, try_read, try_write, try_acquire, try_acquire_many: the permits at once if they are free
and nobody is queued (tokio's fair semaphore), else Err without waiting."""

from __future__ import annotations

import pytest
from conftest import ROOT, compile_text

from mcheck.errors import ModelError
from mcheck.model import TimeMode
from mcheck.trace import Status
from mcheck.verify import check

CONSTRUCTS = ROOT / "models" / "constructs"
LOCK = (CONSTRUCTS / "try_lock_fails_while_dormant_future_owns_lock.mc").read_text()
PARTIAL = (CONSTRUCTS / "try_acquire_fails_behind_partial_grant.mc").read_text()


def verdict(text: str, time: TimeMode = TimeMode.EXACT) -> Status:
    return check(compile_text(text, time)).status


@pytest.mark.parametrize("text", [LOCK, PARTIAL], ids=["try_lock", "try_acquire"])
def test_a_try_fails_while_a_dormant_future_was_handed_the_permits(text: str) -> None:
    assert verdict(text) is Status.FUTURELOCK
    # Dropped first, f1 gives its permits back: the try succeeds and the fallback never runs.
    assert verdict(text.replace("    if let Ok(", "    drop(f1);\n    if let Ok(")) is Status.SAFE


def test_the_guard_of_a_try_is_held_to_the_end_of_its_scope() -> None:
    text = """
    let m = Mutex::new();
    task main {
        let g = m.try_lock();
        if g.is_ok() { let _h = m.lock().await; }
    }
    """
    assert verdict(text) is Status.DEADLOCK  # the try took the free lock: the lock() waits for g
    assert verdict(text.replace("if g.is_ok()", "drop(g);\n        if choose()")) is Status.SAFE
    assert verdict(text.replace("if g.is_ok()", "if g.is_err()")) is Status.SAFE


def test_rwlock_try_write_needs_every_reader_gone_and_try_read_one_permit() -> None:
    text = """
    let l = RwLock::new();
    task main {
        let _r = l.read().await;
        if let Ok(_w) = l.try_write() { let _x = l.write().await; }
        if let Ok(_s) = l.try_read() { let _y = l.write().await; }
    }
    """
    # try_write fails beside a reader; try_read succeeds, and then write waits for both readers.
    assert verdict(text) is Status.DEADLOCK
    assert verdict(text.replace("let _y = l.write().await;", "yield_now().await;")) is Status.SAFE


def test_try_acquire_many_takes_all_or_nothing() -> None:
    text = """
    let s = Semaphore::new(3);
    task main {
        let _a = s.acquire().await;
        if let Ok(_b) = s.try_acquire_many(3) { let _c = s.acquire_many(3).await; }
        if let Ok(_d) = s.try_acquire_many(2) { let _e = s.acquire().await; }
    }
    """
    assert verdict(text) is Status.DEADLOCK  # 3 fails (2 free); 2 succeeds and leaves none for the last
    assert verdict(text.replace("try_acquire_many(2)", "try_acquire_many(1)")) is Status.SAFE


@pytest.mark.parametrize(("body", "message"), [
    ("let _p = s.try_acquire_many(4);", "asks for 4 permits, but 's' has only 3: it can never succeed"),
    ("if let Some(_g) = s.try_acquire() {}", "`if let` in a model takes `Ok(g) = m.try_lock()`"),
    ("let g = s.acquire().await;\n    if g.is_ok() {}", "unsupported condition 'g.is_ok()'"),
    ("let _g = s.try_lock();", "try_lock needs a Mutex, but 's' is a Semaphore"),
])
def test_try_misuse_is_refused(body: str, message: str) -> None:
    with pytest.raises(ModelError, match=message.replace("(", r"\(").replace(")", r"\)")):
        compile_text(f"let s = Semaphore::new(3);\ntask main {{\n    {body}\n}}\n")
