"""Per-request replies, for resolve.py: `let (tx, rx) = oneshot::channel();` made where the code
makes it, the Sender moved into a message (`ch.send(Request::Claim(tx)).await`), the receiver's
`Request::Claim(reply) => { reply.send(()); }` and the requester's `rx.await`.

tokio's oneshot (`tokio/src/sync/oneshot.rs`): `Sender::send` never waits, and is Err when the
Receiver is gone; dropping the Sender without sending wakes the Receiver, whose await returns
`Err(RecvError)` at once; a Sender inside a message is dropped with the message (a send that
fails returns the message in its error, a Receiver dropped drains its queue).

How it is modelled (the compiler's side is compiler/sync/oneshot.py): each creation site is one
oneshot resource per task copy and call site (instantiate.py makes it), reset each time the
statement runs. The Sender's whereabouts are one state variable (held by the requester, moved
into a message, gone). A message carrying a Sender holds the variant's value plus the oneshot's
number among the oneshots whose Sender that variant carries (program.REPLY_VALUES of them), so a
received Sender is an integer like a variant's number, and `reply.send(())` tests it against each
of them. This module checks names and uses; it builds no state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcheck import program as p
from mcheck import syntax as s
from mcheck.source import Span

if TYPE_CHECKING:
    from mcheck.resolve import _Binding, _BodyChecker

ONESHOT_NEW = ("oneshot::channel", "channel")
"""What `let (tx, rx) = ...` may call: tokio's `oneshot::channel()` (`channel()` after `use
tokio::sync::oneshot::channel`)."""


def key(local: p.Local) -> str:
    """The name instantiate.py binds a created oneshot under (never a name written in a model)."""
    return f"{local.name}#{local.index}"


def is_made(ref: p.ResRef) -> bool:
    """ref names a oneshot made in the body (by key()), not a parameter."""
    return isinstance(ref, p.ParamRef) and "#" in ref.name


def let_pair(c: _BodyChecker, st: s.LetPair) -> list[p.Stmt]:
    """`let (tx, rx) = oneshot::channel();`: rx names a fresh oneshot; tx its Sender."""
    v = st.value
    path = "::".join(v.path[-2:]) if isinstance(v, s.Call) else ""
    if not isinstance(v, s.Call) or path not in ONESHOT_NEW or v.args:
        what = "mpsc::channel(n)" if path.endswith("channel") else c.r.text(v.span)
        c.r.err.add(v.span, f"`let (tx, rx) = ...` takes `oneshot::channel()`, not `{what}`; declare other "
                    "resources at the top level (`let ch = channel(1);`)")
        return []
    if st.sender == st.receiver:
        c.r.err.add(st.span, f"the Sender and the Receiver need two names, not '{st.sender}' twice")
        return []
    rx = c.declare(st.receiver, p.Ty.ONESHOT, st.receiver_span)
    tx = c.declare(st.sender, p.Ty.ONESHOT, st.sender_span)
    c.sender_of[tx.index] = rx
    return [p.OneshotNew(rx, st.span, tx)]


def value(c: _BodyChecker, b: _Binding, span: Span | None) -> tuple[p.Ty, p.ParamRef] | None:
    """A oneshot local used by name: the Receiver is the oneshot; the Sender is only taken moved
    into a message."""
    if b.local.index in c.sender_of:
        c.r.err.add(span, f"'{b.local.name}' is a oneshot Sender; mcheck takes it moved into a message: "
                    f"`ch.send(Request::Claim({b.local.name})).await` (an enum variant declared `Claim(oneshot::Sender)`)")
        return None
    c.use(b, span, "used", moves=False)
    return p.Ty.ONESHOT, p.ParamRef(key(b.local))


def receive(c: _BodyChecker, b: _Binding, e: s.Name) -> p.Future | None:
    """`rx.await`: the requester waits for the reply (or Err once the Sender is gone)."""
    got = value(c, b, e.span)
    if got is None:
        return None
    return p.Recv(got[1], c.r.text(e.span), e.span)


def carries_sender(c: _BodyChecker, e: s.Expr) -> bool:
    """`Request::Claim(tx)` where the variant's field is a oneshot Sender."""
    if not (isinstance(e, s.Call) and len(e.path) == 2 and e.path[0] in c.r.enums.types):
        return False
    enum = c.r.enums.types[e.path[0]]
    return e.path[1] in enum.variants and enum.has_reply(e.path[1])


def send_value(c: _BodyChecker, send: s.MethodCall, e: s.Call, carrier: p.ResRef) -> tuple[int, p.Local] | None:
    """`ch.send(Request::Claim(tx)).await;`: the message's value and the oneshot it carries."""
    if c.awaited_send is not send:
        c.r.err.add(send.span, "a message carrying a oneshot Sender is sent only as a statement of its own, "
                    f"`{c.r.text(send.span)}.await;`: a send future kept, raced or dropped would drop the Sender "
                    "with it, which mcheck does not follow")
        return None
    arg = e.args[0] if len(e.args) == 1 else None
    b = c.lookup_local(arg.path[0], arg.span) if isinstance(arg, s.Name) and len(arg.path) == 1 else None
    if b is None or b.local.index not in c.sender_of:
        c.r.err.add(arg.span if arg is not None else e.span, f"'{'::'.join(e.path)}' carries a oneshot Sender: "
                    "the Sender of `let (tx, rx) = oneshot::channel();` made in this body")
        return None
    c.use(b, arg.span if arg is not None else e.span, "moved into a message", moves=True)
    found = c.r.enums.lookup(e.path, e.span)
    if found is None:
        return None
    c.r.enums.carries(carrier, found[0], e.span)
    return found[1], c.sender_of[b.local.index]


def is_reply_send(c: _BodyChecker, e: s.Expr) -> bool:
    """`reply.send(())` on a Sender received in a message (bound by a match arm)."""
    if not (isinstance(e, s.MethodCall) and e.method == "send" and isinstance(e.receiver, s.Name)
            and len(e.receiver.path) == 1):
        return False
    b = c.lookup_local(e.receiver.path[0], None)
    return b is not None and b.local.index in c.reply_locals


def reply_send(c: _BodyChecker, e: s.MethodCall, span: Span | None) -> list[p.Stmt]:
    """`reply.send(());` never waits; the value is abstracted (one `()` or a name)."""
    assert isinstance(e.receiver, s.Name)
    b = c.lookup_local(e.receiver.path[0], e.receiver.span)
    assert b is not None
    if len(e.args) > 1:
        c.r.err.add(e.span, f"'send' takes one value, {len(e.args)} given")
        return []
    c.use(b, e.span, "used by send", moves=True)
    message, first = c.reply_locals[b.local.index]
    return [p.ReplySend(b.local, message, first, span)]
