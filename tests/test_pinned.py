"""NOTE(pinned): a name bound by `pin!` is a `Pin<&mut _>`: moving or dropping it leaves the future alive."""

from __future__ import annotations

import pytest
from conftest import ROOT, compile_text

from mcheck.model import TimeMode
from mcheck.trace import Status
from mcheck.verify import check

CONSTRUCTS = ROOT / "models" / "constructs"
SHADOWED = (CONSTRUCTS / "pin_shadowed_by_value_branch_stays_queued.mc").read_text()
DROPPED = (CONSTRUCTS / "pin_drop_keeps_the_future_queued.mc").read_text()


def verdict(text: str) -> Status:
    return check(compile_text(text, TimeMode.EXACT)).status


@pytest.mark.parametrize("pinning", ["let f = pin!(f);", "let f = std::pin::pin!(f);", "tokio::pin!(f);"])
def test_a_pinned_future_lost_by_value_stays_queued(pinning: str) -> None:
    assert verdict(SHADOWED.replace("let f = pin!(f);", pinning)) is Status.FUTURELOCK


def test_an_unpinned_or_boxed_future_lost_by_value_is_dropped() -> None:
    assert verdict(SHADOWED.replace("let f = pin!(f);", "")) is Status.SAFE
    assert verdict(SHADOWED.replace("let f = pin!(f);", "let g = 0;")) is Status.SAFE


def test_dropping_a_pinned_reference_keeps_the_future() -> None:
    assert verdict(DROPPED) is Status.FUTURELOCK
    assert verdict(DROPPED.replace("pin!(lock_op(lock))", "Box::pin(lock_op(lock))")) is Status.SAFE


def test_let_underscore_poll_is_a_poll() -> None:
    text = """
    let lock = Mutex::new();
    async fn lock_op(m: Mutex) { let _g = m.lock().await; }
    task holder { let _g = lock.lock().await; sleep(50).await; }
    task main {
        let f = Box::pin(lock_op(lock));
        let _ = poll!(f.as_mut());
        lock_op(lock).await;
    }
    """
    assert verdict(text) is Status.FUTURELOCK  # the poll put f in the queue, dormant
    assert verdict(text.replace("let _ = poll!(f.as_mut());", "")) is Status.SAFE


def test_pin_of_something_that_is_not_a_future_is_refused() -> None:
    from mcheck.errors import ModelError

    with pytest.raises(ModelError, match="pin! takes a future bound with `let`; 'n' is an integer variable"):
        compile_text("task main {\n    let mut n = 0;\n    let n = pin!(n);\n}\n")


STREAM = (CONSTRUCTS / "pinned_stream_once_left_dormant.mc").read_text()


@pytest.mark.parametrize("wrap", ["pin!({})", "Box::pin({})", "{}"])
def test_a_pinned_stream_keeps_its_in_flight_future_when_next_loses(wrap: str) -> None:
    text = STREAM.replace("pin!(stream::once(lock_op(lock)))", wrap.format("stream::once(lock_op(lock))"))
    assert verdict(text) is Status.FUTURELOCK


def test_for_each_over_a_pinned_stream() -> None:
    text = "task main {\n    Box::pin(stream::once(sleep(1))).for_each(|_| async {}).await;\n}\n"
    assert verdict(text) is Status.SAFE
    assert verdict(text.replace("Box::pin(", "pin!(")) is Status.SAFE
