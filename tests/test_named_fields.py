"""Enum variants with named fields (docs/language.md, Message values and match): declared
`Claim { tx: oneshot::Sender }`, sent as `Request::Claim { tx }` or `{ n: 3 }`, matched as
`Request::Claim { tx }`, `{ tx: reply }` or `{ .. }`; the same verdicts as the positional form,
and every misuse of a field as a located error."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import STUCK, assert_located_error, verdicts

from mcheck import syntax as s
from mcheck.parse import parse_module
from mcheck.source import Source
from mcheck.trace import Status


def test_named_fields_parse_with_their_names() -> None:
    text = """
    enum Request { Claim { tx: oneshot::Sender }, Resize { n: u64, }, Ping {}, Pair(u8, u8) }
    let ch = channel(1);
    task main {
        ch.send(Request::Resize { n: 3 }).await;
        match x { Request::Claim { tx: reply } | Request::Resize { .. } => {} Request::Ping { } => {} }
    }
    """
    module = parse_module(Source("t.mc", text))
    enum = module.items[0]
    assert isinstance(enum, s.EnumDef)
    assert enum.field_names == (("tx",), ("n",), (), None)
    assert enum.arity == (1, 1, 0, 2)
    assert enum.fields == ("oneshot::Sender", "u64", None, "u8")
    main = module.items[2]
    assert isinstance(main, s.TaskDef)
    send, match = main.body.stmts
    assert isinstance(send, s.ExprStmt) and isinstance(send.value, s.Await)
    assert isinstance(send.value.value, s.MethodCall)
    lit = send.value.value.args[0]
    assert isinstance(lit, s.VariantLit) and lit.path == ("Request", "Resize")
    assert [(name, value) for name, value, _ in lit.inits] == [("n", s.IntLit(3))]
    assert isinstance(match, s.Match)
    first = match.arms[0]
    assert first.named[0] == ((("tx", "reply", first.named[0][0][0][2]),), False)
    assert first.named[1] == ((), True)
    assert match.arms[1].named == (((), False),)


def counter(sent: str, pattern: str) -> str:
    """A receiver that hangs unless the number its message carries is 2."""
    return STUCK + f"""
    enum Msg {{ Set {{ n: u64 }}, Stop {{}} }}
    let ch = channel(2);
    task sender {{ ch.send({sent}).await; ch.send(Msg::Stop {{}}).await; }}
    task main {{
        while let Some(v) = ch.recv().await {{
            match v {{
                {pattern} => {{ if k != 2 {{ hang(stuck).await; }} }}
                Msg::Stop {{ .. }} => {{ break; }}
            }}
        }}
    }}
    """


@pytest.mark.parametrize("pattern", ["Msg::Set { n: k }", "Msg::Set { n: k, .. }"])
def test_a_named_number_field_is_bound_by_its_pattern(pattern: str) -> None:
    assert verdicts(counter("Msg::Set { n: 2 }", pattern)) == {Status.SAFE}
    assert verdicts(counter("Msg::Set { n: 3 }", pattern)) == {Status.DEADLOCK}


def test_the_field_init_shorthand_sends_the_local_of_the_fields_name() -> None:
    """`Claim { tx }` moves the Sender tx into the message: the actor dropping the Sender it
    bound without a reply wakes rx with Err, so main completes; replying behind main's guard
    deadlocks."""
    def actor(arm: str) -> str:
        return f"""
        enum Request {{ Claim {{ tx: oneshot::Sender }} }}
        let ch = channel(1);
        let m = Mutex::new();
        task pool {{ while let Some(r) = ch.recv().await {{ match r {{ {arm} }} }} }}
        task main {{
            let _g = m.lock().await;
            let (tx, rx) = oneshot::channel();
            ch.send(Request::Claim {{ tx }}).await;
            rx.await;
        }}
        """
    assert verdicts(actor("Request::Claim { tx: reply } => {}")) == {Status.SAFE}
    assert verdicts(actor("Request::Claim { tx: reply } => { let _g = m.lock().await; reply.send(()); }")) \
        == {Status.DEADLOCK}
    assert verdicts(actor("Request::Claim { tx } => { tx.send(()); }")) == {Status.SAFE}


HEAD = "enum Request { Claim { tx: oneshot::Sender }, Resize { n: u64 }, Plain(u64) }\nlet ch = channel(1);\n"

MATCH = "task main { while let Some(r) = ch.recv().await { match r { %s => {} _ => {} } } }\n"

ERRORS = [  # (model, the text the error points at (its first occurrence on the last line), phrase)
    (HEAD + "task main { ch.send(Request::Resize { m: 3 }).await; }\n", "m: 3", "'Request::Resize' has no field 'm'"),
    (HEAD + "task main { ch.send(Request::Resize {}).await; }\n", "Request::Resize", "is missing its field 'n'"),
    (HEAD + "task main { ch.send(Request::Resize { n: 1, n: 2 }).await; }\n", "n: 2",
     "field 'n' of 'Request::Resize' is given twice"),
    (HEAD + "task main { ch.send(Request::Grow { n: 1 }).await; }\n", "Request::Grow", "enum 'Request' has no variant 'Grow'"),
    (HEAD + "task main { ch.send(Request::Resize(1)).await; }\n", "Request::Resize",
     "declared with named fields: write `Request::Resize { n }`"),
    (HEAD + "task main { ch.send(Request::Plain { n: 1 }).await; }\n", "Request::Plain", "declared without named fields"),
    (HEAD + MATCH % "Request::Resize { m }", "m }", "'Request::Resize' has no field 'm'"),
    (HEAD + MATCH % "Request::Resize { n, n }", "n }", "field 'n' of 'Request::Resize' is matched twice"),
    (HEAD + MATCH % "Request::Resize {}", "Request::Resize", "does not mention the field 'n'"),
    (HEAD + MATCH % "Request::Shrink { .. }", "Request::Shrink", "enum 'Request' has no variant 'Shrink'"),
    (HEAD + MATCH % "Request::Resize(n)", "Request::Resize", "declared with named fields"),
    (HEAD + MATCH % "Request::Claim { .. }", "Request::Claim",
     "`Request::Claim { .. }` leaves the oneshot Sender of 'Request::Claim' in the message"),
    (HEAD + MATCH % "Request::Claim { tx: _ }", "Request::Claim", "bind it, `Request::Claim { tx: reply } =>"),
    ("enum Request { Both(u8, oneshot::Sender) }\n", "Both", "variant 'Both' has 2 fields"),
    ("enum Request { Both { a: u8, b: u8 } }\n", "Both", "variant 'Both' has 2 fields"),
    ("enum Request { Claim { tx: oneshot::Sender } }\nlet ch = channel(1);\n"
     "task main { ch.send(Request::Claim { tx }).await; }\n", "tx }", "carries a oneshot Sender"),
]


@pytest.mark.parametrize(("source", "at", "phrase"), ERRORS, ids=[f"{i}-{e[2][:40]}" for i, e in enumerate(ERRORS)])
def test_bad_named_fields_are_located(tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, at: str,
                                      phrase: str) -> None:
    lines = source.splitlines()
    col = lines[-1].rindex(at) + 1 if at.endswith("}") else lines[-1].index(at) + 1
    assert_located_error(tmp_path / "model.mc", source, capsys, len(lines), col, phrase)
