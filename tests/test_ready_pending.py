"""std::future::ready(v) is ready at its first poll; std::future::pending() never is."""

from __future__ import annotations

from conftest import ROOT, compile_text

from mcheck.model import TimeMode
from mcheck.render import render_text
from mcheck.trace import Status
from mcheck.verify import check

CONSTRUCTS = ROOT / "models" / "constructs"
READY = (CONSTRUCTS / "ready_branch_wins_after_one_poll.mc").read_text()
PENDING = (CONSTRUCTS / "pending_branch_never_wins.mc").read_text()


def verdict(text: str, time: TimeMode = TimeMode.EXACT) -> Status:
    return check(compile_text(text, time)).status


def test_a_ready_branch_wins_at_once_and_a_pending_one_never() -> None:
    assert verdict(READY) is Status.FUTURELOCK
    assert verdict(READY.replace("std::future::ready(())", "std::future::pending()")) is Status.SAFE
    assert verdict(PENDING) is Status.SAFE
    assert verdict(PENDING.replace("std::future::pending()", "sleep(10)")) is Status.FUTURELOCK


def test_awaiting_ready_goes_on_and_awaiting_pending_waits_forever() -> None:
    assert verdict("task main {\n    future::ready(1).await;\n    std::future::ready(()).await;\n}\n") is Status.SAFE
    text = "task main {\n    let f = std::future::pending();\n    (&mut f).await;\n}\n"
    model = compile_text(text)
    result = check(model)
    assert result.status is Status.DEADLOCK
    assert "never completes (std::future::pending)" in render_text(model, result, "test.mc")


def test_pending_holds_nothing_in_a_set() -> None:
    text = """
    let m = Mutex::new();
    task main {
        let set = FuturesUnordered::new();
        set.push(std::future::pending());
        let _g = m.lock().await;
        select! { _ = set.next() => {} _ = sleep(5) => {} }
        drop(_g);
        let _h = m.lock().await;
    }
    """
    assert verdict(text, TimeMode.UNTIMED) is Status.SAFE
