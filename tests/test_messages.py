"""Message values (`enum`, `send(Enum::Variant)`, `Some(v) = rx.recv()`, `match`) and refutable
`Some(_)` select! branches (docs/language.md, Message values and match, Some(_) patterns): their
semantics on both engines, and every refusal as a located error."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import STUCK, assert_located_error, compile_text, verdicts

from mcheck.emit_rust import emit_module
from mcheck.model import TimeMode
from mcheck.render import render_text
from mcheck.trace import Status
from mcheck.verify import check


def fifo(first: str, second: str) -> str:
    """A receiver that hangs unless it gets Msg::First and then Msg::Second."""
    return STUCK + f"""
    enum Msg {{ First, Second }}
    let ch = channel(2);
    task sender {{ ch.send({first}).await; ch.send({second}).await; }}
    task main {{
        let mut n = 0;
        while let Some(v) = ch.recv().await {{
            match v {{
                Msg::First => {{ if n == 1 {{ hang(stuck).await; }} }}
                Msg::Second => {{ if n == 0 {{ hang(stuck).await; }} }}
            }}
            n += 1;
        }}
    }}
    """


def test_messages_are_received_in_order_with_their_values() -> None:
    assert verdicts(fifo("Msg::First", "Msg::Second")) == {Status.SAFE}
    assert verdicts(fifo("Msg::Second", "Msg::First")) == {Status.DEADLOCK}


def test_a_variant_carries_a_number_that_its_arm_binds() -> None:
    def model(sent: int, wanted: int) -> str:
        return STUCK + f"""
        enum Request {{ Claim, SetWantedCount(u64) }}
        let reqs = channel(2);
        task sender {{ reqs.send(Request::SetWantedCount({sent})).await; reqs.send(Request::Claim).await; }}
        task main {{
            let mut wanted = 0;
            while let Some(req) = reqs.recv().await {{
                match req {{
                    Request::Claim => {{ if wanted != {wanted} {{ hang(stuck).await; }} }}
                    Request::SetWantedCount(n) => {{ wanted = n; }}
                }}
            }}
        }}
        """
    assert verdicts(model(7, 7)) == {Status.SAFE}  # the largest number
    assert verdicts(model(3, 2)) == {Status.DEADLOCK}
    text = model(0, 0).replace("Request::SetWantedCount(n) => { wanted = n; }", "Request::SetWantedCount(_) => {}")
    assert verdicts(text) == {Status.SAFE}
    exact = compile_text(model(3, 2), TimeMode.EXACT)
    assert "received `Request::SetWantedCount(3)` from `reqs`" in render_text(exact, check(exact), "test.mc")


def test_nested_bindings_keep_their_own_values() -> None:
    """A while-let body holding a select! with its own Some(y): each name has its own value (the
    outer one was once taken for the inner's, an internal error)."""
    text = STUCK + """
    enum Msg { A, B }
    let ch = channel(2);
    let ev = channel(2);
    task p { ch.send(Msg::A).await; ev.send(Msg::B).await; }
    task main {
        while let Some(x) = ch.recv().await {
            select! { Some(y) = ev.recv() => { match y { Msg::B => {} Msg::A => { hang(stuck).await; } } } }
            match x { Msg::A => break, Msg::B => { hang(stuck).await; } }
        }
    }
    """
    assert verdicts(text) == {Status.SAFE}
    assert verdicts(text.replace("ev.send(Msg::B)", "ev.send(Msg::A)")) == {Status.DEADLOCK}


def test_the_trace_names_each_value_received() -> None:
    model = compile_text(fifo("Msg::Second", "Msg::First"), TimeMode.EXACT)
    text = render_text(model, check(model), "test.mc")
    assert "received `Msg::Second` from `ch`" in text, text
    assert "received `Msg::First`" not in text  # main hangs on the first message, which is Second


def test_try_send_unbounded_send_and_a_reserved_permit_carry_values() -> None:
    for send in ("ch.try_send(Msg::B);", "ev.send(Msg::B);", "let p = ch.reserve().await; p.send(Msg::B);"):
        rx = "ev" if send.startswith("ev") else "ch"
        text = STUCK + f"""
        enum Msg {{ A, B }}
        let ch = channel(1);
        let ev = unbounded_channel();
        task sender {{ {send} }}
        task main {{
            while let Some(v) = {rx}.recv().await {{
                match v {{ Msg::A => {{ hang(stuck).await; }} Msg::B => {{}} }}
            }}
        }}
        """
        assert verdicts(text) == {Status.SAFE}, send
        assert verdicts(text.replace("Msg::B);", "Msg::A);")) == {Status.DEADLOCK}, send


def test_a_message_without_a_value_goes_to_the_wildcard_arm_only() -> None:
    text = STUCK + """
    enum Msg { A, B }
    let ch = channel(1);
    task sender { ch.send().await; }
    task main {
        while let Some(v) = ch.recv().await {
            match v { Msg::A => { hang(stuck).await; } Msg::B => { hang(stuck).await; } }
        }
    }
    """
    assert verdicts(text) == {Status.SAFE}
    assert verdicts(text.replace("Msg::B => { hang(stuck).await; }", "_ => { hang(stuck).await; }")) == {Status.DEADLOCK}


def select_on_closed(pattern: str, biased: str) -> str:
    """The producer finishes without sending: recv() gives None while main waits in the select!."""
    return STUCK + f"""
    let ch = channel(1);
    task producer {{ sleep(5).await; if 1 == 0 {{ ch.send().await; }} }}  // a sender until it ends at 5 ms
    task main {{
        select! {{
            {biased}
            {pattern} = ch.recv() => {{ hang(stuck).await; }}
            _ = sleep(10) => {{}}
        }}
    }}
    """


@pytest.mark.parametrize("biased", ["", "biased;"])
def test_a_refuted_branch_is_disabled_and_the_select_goes_on(biased: str) -> None:
    assert verdicts(select_on_closed("Some(_)", biased)) == {Status.SAFE}
    # `_` takes the None: the branch wins and its body hangs (in exact time too: at 5 ms)
    assert verdicts(select_on_closed("_", biased)) == {Status.DEADLOCK}
    # in exact time the None comes at 5 ms, while main waits: the select! goes on to the timer
    model = compile_text(select_on_closed("Some(_)", biased).replace("_ = sleep(10) => {}",
                                                                     "_ = sleep(10) => { hang(stuck).await; }"),
                         TimeMode.EXACT)
    text = render_text(model, check(model), "test.mc")
    assert "`ch.recv()` gives None, which `Some(..)` does not match: select! branch" in text, text
    assert "time advances 5 ms to t = 10 ms" in text, text


def test_every_branch_refuted_runs_else_or_is_inconclusive() -> None:
    text = """
    let ch = channel(1);
    let ev = unbounded_channel();
    task main {
        select! { Some(_) = ch.recv() => {} Some(_) = ev.recv() => {} else => {} }
    }
    """
    assert verdicts(text) == {Status.SAFE}
    panics = check(compile_text(text.replace("else => {}", "")))
    assert panics.status is Status.INCONCLUSIVE  # tokio panics: every branch disabled and no else


def test_some_binding_in_select_matches_the_value() -> None:
    text = STUCK + """
    enum Request { Claim, Stop }
    let reqs = channel(1);
    task client { reqs.send(Request::Claim).await; }
    task main {
        loop {
            select! {
                Some(req) = reqs.recv() => {
                    match req {
                        Request::Stop => break,
                        _ => {}
                    }
                }
                else => break,
            }
        }
        hang(stuck).await;
    }
    """
    assert verdicts(text) == {Status.DEADLOCK}  # Claim does not stop the loop; the closed channel does
    model = compile_text(text.replace("task client { reqs.send(Request::Claim).await; }",
                                      "task client { reqs.send(Request::Stop).await; sleep(1).await; }"))
    assert check(model).status is Status.DEADLOCK


def test_values_add_no_state_to_a_model_without_them() -> None:
    """A channel gets its message-value variables only when a send or a receive uses values."""
    plain = "let ch = channel(2); task p { ch.send().await; } task main { while let Some(_) = ch.recv().await {} }"
    valued = "enum E { A } " + plain.replace("send()", "send(E::A)")
    names = [v.name for v in compile_text(plain).ts.vars]
    assert not any("message" in n for n in names)
    assert [n for n in (v.name for v in compile_text(valued).ts.vars) if "message" in n] == ["ch.message0",
                                                                                              "ch.message1"]


ERRORS = [
    ("enum Msg { A }\nenum Msg { B }\ntask main {}\n", 2, 6, "enum 'Msg' is declared twice"),
    ("enum Msg { A, A }\ntask main {}\n", 1, 15, "variant 'A' of enum 'Msg' is declared twice"),
    ("enum Msg { }\ntask main {}\n", 1, 6, "has no variants"),
    ("enum Big { " + ", ".join(f"V{i}" for i in range(17)) + " }\ntask main {}\n", 1, 6, "at most 16"),
    ("let ch = channel(1);\ntask main {\n    ch.send(Msg::A).await;\n}\n", 3, 13, "unknown enum 'Msg'"),
    ("enum Msg { A }\nlet ch = channel(1);\ntask main {\n    ch.send(Msg::C).await;\n}\n", 4, 13,
     "enum 'Msg' has no variant 'C'"),
    ("enum Msg { A }\nlet ch = channel(1);\ntask main {\n    ch.send(Msg::A(3)).await;\n}\n", 4, 13,
     "'Msg::A' has no field"),
    ("enum Msg { N(u64) }\nlet ch = channel(1);\ntask main {\n    ch.send(Msg::N).await;\n}\n", 4, 13,
     "'Msg::N' has a number field: send `Msg::N(n)`"),
    ("enum Msg { N(u64) }\nlet ch = channel(1);\ntask main {\n    ch.send(Msg::N(8)).await;\n}\n", 4, 20,
     "a message's number is a literal in 0..7"),
    ("enum Msg { N(String) }\ntask main {}\n", 1, 12, "a variant's field is a number"),
    ("enum Big { A(u8), B(u8), C(u8), D(u8), E }\ntask main {}\n", 1, 6, "more than 32 values together"),
    ("enum Msg { A, N(u64) }\nlet ch = channel(1);\ntask main {\n    while let Some(v) = ch.recv().await {\n"
     "        match v { Msg::A(x) => {} _ => {} }\n    }\n}\n", 5, 19, "'Msg::A' has no field to bind"),
    ("enum Msg { A, N(u64) }\nlet ch = channel(1);\ntask main {\n    while let Some(v) = ch.recv().await {\n"
     "        match v { Msg::N => {} _ => {} }\n    }\n}\n", 5, 19, "write `Msg::N(n)` or `Msg::N(_)`"),
    ("enum Msg { M(u64), N(u64) }\nlet ch = channel(1);\ntask main {\n    while let Some(v) = ch.recv().await {\n"
     "        match v { Msg::M(x) | Msg::N(x) => {} }\n    }\n}\n", 5, 19, "bound in an arm of several patterns"),
    ("enum Msg { A }\nlet ch = channel(1);\ntask main {\n    ch.send(5).await;\n}\n", 4, 13,
     "a message value is an enum variant"),
    ("enum Msg { A }\nlet ch = channel(1);\ntask main {\n    ch.try_send(Msg::A, Msg::A);\n}\n", 4, 5,
     "takes one message value, 2 given"),
    ("enum Msg { A }\nlet o = oneshot();\ntask main {\n    o.send(Msg::A);\n}\n", 4, 5, "on a oneshot takes no value"),
    ("enum A { X }\nenum B { Y }\nlet ch = channel(1);\ntask p {\n    ch.send(A::X).await;\n    ch.send(B::Y).await;\n}\n"
     "task main {}\n", 6, 13, "this channel carries A values, not B"),
    ("enum Msg { A, B }\nlet ch = channel(1);\ntask main {\n    while let Some(v) = ch.recv().await {\n"
     "        match v { Msg::A => {} }\n    }\n}\n", 5, 9, "the match does not cover 'Msg::B'"),
    ("enum Msg { A, B }\nlet ch = channel(1);\ntask main {\n    while let Some(v) = ch.recv().await {\n"
     "        match v { _ => {} Msg::A => {} }\n    }\n}\n", 5, 27, "never reached"),
    ("enum Msg { A, B }\nlet ch = channel(1);\ntask main {\n    while let Some(v) = ch.recv().await {\n"
     "        match v { Msg::A => {} Msg::A | Msg::B => {} }\n    }\n}\n", 5, 32, "matched by an earlier arm"),
    ("enum Msg { A }\nenum Other { Z }\nlet ch = channel(1);\ntask main {\n    while let Some(v) = ch.recv().await {\n"
     "        match v { Msg::A => {} Other::Z => {} }\n    }\n}\n", 6, 32, "this match is on Msg values"),
    ("enum Msg { A }\ntask main {\n    let mut n = 0;\n    match n { Msg::A => {} }\n}\n", 4, 11,
     "match takes a message value received with `Some(v) = rx.recv()`"),
    ("enum Msg { A }\nlet o = oneshot();\ntask main {\n    select! { Some(v) = o.recv() => {} }\n}\n", 4, 15,
     "needs a channel's recv() or a set's next()"),
    ("task main {\n    select! { Some(_) = sleep(1) => {} }\n}\n", 2, 15, "needs a channel's recv() or a set's next()"),
    ("async fn f(o: Oneshot) {\n    select! { Some(_) = o.recv() => {} }\n}\ntask main {}\n", 2, 15,
     "needs a channel's recv() or a set's next()"),
    ("let ch = channel(1);\ntask main {\n    futures::select! { Some(_) = ch.recv() => {}, }\n}\n", 3, 24,
     "futures::select! takes no refutable pattern"),
    ("let ch = channel(1);\ntask main {\n    let s = FuturesUnordered::new();\n    select! { Some(v) = s.next() => {} }\n}\n",
     4, 15, "binds a received message"),
    ("enum Msg { A }\nlet ch = channel(1);\ntask p { ch.send(Msg::A).await; }\ntask main {\n"
     "    while let Some(v) = ch.recv().await {}\n    match v { Msg::A => {} }\n}\n", 6, 11, "is not a received value"),
]


@pytest.mark.parametrize(("source", "line", "col", "phrase"), ERRORS, ids=[e[3][:40] for e in ERRORS])
def test_bad_message_values_are_located(tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, line: int,
                                        col: int, phrase: str) -> None:
    assert_located_error(tmp_path / "model.mc", source, capsys, line, col, phrase)


def test_emit_rust_writes_values_and_some_patterns() -> None:
    """Values travel through rt.rs's channels as `Msg` (its u8 value); a bound value is an i64 local that the
    match's tests compare (tools/runtime_check.py runs these against tokio)."""
    text = """
    enum Msg { A, B }
    let ch = channel(1);
    let ev = unbounded_channel();
    task p { ch.send(Msg::B).await; ch.try_send(Msg::A); ev.send(Msg::A); let q = ch.reserve().await; q.send(Msg::B); }
    task main {
        select! { Some(v) = ch.recv() => { match v { Msg::A => {} _ => {} } } Some(_) = ev.recv() => {} }
        while let Some(w) = ev.recv().await { match w { Msg::B => break, Msg::A => {} } }
    }
    """
    model = compile_text(text, TimeMode.EXACT)
    rust = emit_module(model.program, model.source)
    for piece in ("ch.send_value(2)", "ch.try_send_value(1);", "ev.try_send_value(1);",
                  "rt::permit_send_value(&mut q, 2);", "Some(v) = ch.recv() => {", "let v: i64 = v.value as i64;",
                  "Some(_) = ev.recv() =>", "while let Some(w) = ", "let w: i64 = w.value as i64;", "(v == 1)", "(w == 2)"):
        assert piece in rust, piece
