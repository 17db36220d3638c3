"""Per-request replies (`let (tx, rx) = oneshot::channel();`, the Sender sent in
`Request::Claim(tx)`, `Request::Claim(reply) => reply.send(())`, `rx.await`; mcheck/replies.py,
compiler/sync/oneshot.py): tokio's semantics on both engines, and each refusal as a located error."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import assert_located_error, compile_text, verdicts

from mcheck.cli import EXIT_BAD_INPUT, main
from mcheck.model import TimeMode
from mcheck.trace import Status
from mcheck.verify import Engine, check

POOL = """enum Request {{ Claim(oneshot::Sender), Ping }}
let claims = channel(1);
let m = Mutex::new();
task pool {{
    while let Some(request) = claims.recv().await {{
        match request {{
            Request::Claim(reply) => {{ {answer} }}
            Request::Ping => {{}}
        }}
        sleep(100).await;
    }}
}}
"""


REQUEST = """task main {
    let (tx, rx) = oneshot::channel();
    claims.send(Request::Claim(tx)).await;
    rx.await;
    PROBE
}
"""


def test_answered_reply_completes_the_request() -> None:
    text = POOL.format(answer="sleep(10).await; reply.send(());") + REQUEST.replace("PROBE", "")
    assert verdicts(text) == {Status.SAFE}


def test_dropped_sender_makes_the_receive_return() -> None:
    # tokio: dropping the Sender unanswered wakes the Receiver with Err(RecvError) at once
    text = POOL.format(answer="sleep(10).await;") + REQUEST.replace("PROBE", "")
    assert verdicts(text) == {Status.SAFE}


def test_unanswered_reply_waits_for_the_receiver() -> None:
    # the pool holds the Sender while it waits for the lock main holds: neither moves
    text = POOL.format(answer="let _g = m.lock().await; reply.send(());") + (
        "task main {\n    let _g = m.lock().await;\n    let (tx, rx) = oneshot::channel();\n"
        "    claims.send(Request::Claim(tx)).await;\n    rx.await;\n}\n")
    assert verdicts(text) == {Status.DEADLOCK}


def test_receiver_gone_makes_the_receive_return() -> None:
    # the actor ends with the request still queued: its Receiver drops the message and the Sender
    text = ("enum Request { Claim(oneshot::Sender) }\nlet claims = channel(1);\n"
            "task pool { sleep(5).await; }\n" + REQUEST.replace("PROBE", ""))
    text = text.replace("task pool { sleep(5).await; }", "task pool { sleep(5).await; claims.recv().await; }")
    assert verdicts(text) == {Status.SAFE}


def test_each_task_copy_has_its_own_oneshot() -> None:
    # the pool answers only the first claim: with one oneshot shared by the copies both would
    # return; per copy, the second claimer gets Err (its Sender dropped), so both still finish
    text = POOL.format(answer="reply.send(());") + """
task request[2] {
    for _ in 0..2 {
        let (tx, rx) = oneshot::channel();
        claims.send(Request::Claim(tx)).await;
        rx.await;
    }
}
"""
    model = compile_text(text, TimeMode.UNTIMED)
    names = [r.name for r in model.resources]
    assert "request[0].rx" in names and "request[1].rx" in names
    assert check(model, engine=Engine.BFS).status is Status.SAFE


ERRORS = [
    (POOL.format(answer="") + "task main {\n    let (tx, rx) = oneshot::channel();\n    tx.send(());\n}\n",
     15, 5, "is a oneshot Sender"),
    (POOL.format(answer="") + "task main {\n    let (tx, rx) = oneshot::channel();\n"
     "    let f = claims.send(Request::Claim(tx));\n    f.await;\n}\n", 15, 13, "sent only as a statement"),
    (POOL.format(answer="") + "task main {\n    let (tx, rx) = mpsc::channel(1);\n}\n", 14, 20, "takes `oneshot::channel()`"),
    (POOL.format(answer="") + "task main {\n    claims.send(Request::Claim).await;\n}\n", 14, 17, "carries a oneshot Sender"),
    (POOL.format(answer="") + "task main {\n    let (tx, rx) = oneshot::channel();\n"
     "    claims.send(Request::Claim(rx)).await;\n}\n", 15, 32, "carries a oneshot Sender"),
    (POOL.format(answer="") + "task main {\n    let (tx, rx) = oneshot::channel();\n"
     "    claims.send(Request::Claim(tx)).await;\n    claims.send(Request::Claim(tx)).await;\n}\n",
     16, 32, "after it was moved into a message"),
    ("enum Request { Claim(Vec) }\ntask main {}\n", 1, 16, "or a reply channel"),
]


@pytest.mark.parametrize(("source", "line", "col", "phrase"), ERRORS, ids=[e[3][:40] for e in ERRORS])
def test_bad_replies_are_located(tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, line: int,
                                 col: int, phrase: str) -> None:
    assert_located_error(tmp_path / "model.mc", source, capsys, line, col, phrase)


def test_emit_rust_writes_a_oneshot_made_per_request(tmp_path: Path) -> None:
    path = tmp_path / "model.mc"
    path.write_text(POOL.format(answer="reply.send(());") + REQUEST.replace("PROBE", ""))
    assert main(["emit-rust", "--quiet", str(path), "-o", str(tmp_path / "out")]) == 0
    rust = (tmp_path / "out" / "src" / "model.rs").read_text()
    assert "claims.send_reply(1, tx).await;" in rust  # the real Sender moves into the message


def test_emit_rust_refuses_a_reply_receiver_passed_to_an_async_fn(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "model.mc"
    request = REQUEST.replace("    rx.await;\n", "    wait(rx).await;\n").replace("PROBE", "")
    path.write_text(POOL.format(answer="reply.send(());") + request + "async fn wait(o: Oneshot) { o.recv().await; }\n")
    rc = main(["emit-rust", "--quiet", str(path), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == EXIT_BAD_INPUT
    assert err.startswith(f"{path}:16:5: error: emit-rust does not emit the Receiver"), err
    assert not (tmp_path / "out").exists()


LEFT_IN_THE_MESSAGE = """enum Request { Claim(oneshot::Sender), Ping }
let reqs = channel(1);

task actor {
    while let Some(v) = reqs.recv().await {
        match v {
ARMS
        }
    }
}

task main {
    let (tx, rx) = oneshot::channel();
    reqs.send(Request::Claim(tx)).await;
    rx.await;
}
"""


@pytest.mark.parametrize(("arms", "col", "what"), [
    ("            Request::Claim(_) => {}\n            Request::Ping => {}", 13, "`Request::Claim(_)` leaves"),
    ("            Request::Ping => {}\n            _ => {}", 13, "the `_` arm leaves"),
])
def test_an_arm_that_leaves_the_sender_in_the_message_is_refused_located(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], arms: str, col: int, what: str) -> None:
    """Rust drops a Sender left in the message where the message's binding ends (here the loop
    body's end, so the requester's `rx.await` returns Err: tokio finishes); mcheck does not follow
    it there, and refuses the arm rather than report a deadlock, pointing at the bound form."""
    line = 7 if "Claim(_)" in arms else 8
    assert_located_error(tmp_path / "m.mc", LEFT_IN_THE_MESSAGE.replace("ARMS", arms), capsys, line, col,
                         f"{what} the oneshot Sender of 'Request::Claim' in the message")


def test_the_bound_sender_of_the_same_actor_is_dropped_at_the_arm_end() -> None:
    """The form the refusal points at: `Request::Claim(reply) => {}` drops the Sender unanswered at
    the arm's end, and the requester's `rx.await` returns: safe, as on tokio."""
    model = compile_text(LEFT_IN_THE_MESSAGE.replace(
        "ARMS", "            Request::Claim(reply) => {}\n            Request::Ping => {}"), TimeMode.UNTIMED)
    assert check(model).status is Status.SAFE
