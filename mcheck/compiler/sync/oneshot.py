"""tokio's oneshot channel: a value slot. `o.send()` never waits; `o.recv()` waits for the value,
or returns as soon as no task or future that sends on `o` is alive (the Sender was dropped). The
receive is mpsc.py's, over a queue of at most one value (the resource's `value` variable).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcheck.compiler.step import Step
from mcheck.compiler.sync import State, TraceWords, mpsc
from mcheck.ir import Expr
from mcheck.model import EventKind, ResourceInfo, SlotInfo
from mcheck.source import Span

if TYPE_CHECKING:
    from mcheck.compiler.machine import Compiler


def send(c: Compiler, st: Step, r: int, span: Span | None) -> None:
    st.write(c.resources[r].msgs_var, 1)
    st.event(EventKind.SENT, -1, r, span)


def words(w: TraceWords, kind: EventKind, s: SlotInfo | None, r: ResourceInfo, detail: str,
          before: State, after: State) -> str:
    """The value sent; receiving it (or None, the Sender gone) is the channel's (mpsc.words)."""
    if kind is EventKind.SENT:
        return f"sends on {w.res(r.index)}"
    return mpsc.words(w, kind, s, r, detail, before, after)


# ---- oneshots made per request (mcheck/replies.py) ---------------------------------------------
#
# A oneshot made by `let (tx, rx) = oneshot::channel();` has, beside its value, a variable for its
# Sender: SENDER_GONE (sent on, dropped with a received message or never made), SENDER_HELD (by
# the body that made it, until its send completes) or SENDER_IN_MESSAGE (queued in the channel or
# received and not used yet). The requester's `rx.await` returns the value, or Err once the
# Sender is gone, or once the channel it was sent on has lost its Receiver (tokio's Receiver drops
# the queued messages with their Senders; a send that fails drops its message).

SENDER_GONE = 0
SENDER_HELD = 1
SENDER_IN_MESSAGE = 2


def made(c: Compiler, r: int) -> bool:
    """r is a oneshot made by `let (tx, rx) = oneshot::channel();` (not declared at the top)."""
    return r in c.inst.oneshot_task


def allocate_sender(c: Compiler, r: int, name: str) -> None:
    c.sender_var[r] = c.new_var(f"{name}.sender", SENDER_GONE, SENDER_IN_MESSAGE, SENDER_GONE)


def answers(c: Compiler, ins: object, r: int) -> bool:
    """ins may end the wait on made oneshot r: a reply on it, or dropping a received value that
    may carry its Sender (the wait-for graph's producers of r)."""
    from mcheck.instantiate import IReplyDrop, IReplySend

    if isinstance(ins, IReplySend):
        return r in c.inst.reply_table.get(ins.first, ())
    return isinstance(ins, IReplyDrop) and any(r in table for table in c.inst.reply_table.values())


def sender_gone(c: Compiler, r: int) -> Expr:
    """The receive on made oneshot r returns Err: its Sender is gone, or its channel's Receiver."""
    b = c.b
    gone = b.eq(b.var(c.sender_var[r]), SENDER_GONE)
    channel = c.inst.reply_channel.get(r)
    return gone if channel is None else b.or_(gone, c.receivers_gone(channel))


def new(c: Compiler, st: Step, r: int, span: Span | None) -> None:
    """The site runs again: a fresh oneshot. Its previous Sender still in a message would then
    answer the new one, which mcheck cannot tell apart: a bound of the model (inconclusive)."""
    b = c.b
    sender = c.sender_var[r]
    clash = b.eq(st.read(sender), SENDER_IN_MESSAGE)
    if c.dom.decide(clash) is not False:
        st.write(c.reply_clash_var, b.ite(clash, 1, st.read(c.reply_clash_var)))
        c.reply_clash_spans.append(span)
    st.write(c.resources[r].msgs_var, 0)
    st.write(sender, SENDER_HELD)


def sent_in_message(c: Compiler, st: Step, r: int) -> None:
    """The send carrying r's Sender completed: the Sender is in the channel."""
    st.write(c.sender_var[r], SENDER_IN_MESSAGE)


def reply_send(c: Compiler, st: Step, var: int, message: int, first: int, span: Span | None) -> None:
    """`reply.send(())`: the oneshot numbered `var` among the variant's gets its value (a Receiver
    already gone makes it Err, which changes nothing else); the Sender is used up."""
    b = c.b
    k = st.read(var)
    for i, r in enumerate(c.inst.reply_table.get(first, ())):
        here = b.eq(k, i)
        if c.dom.decide(here) is False:
            continue
        info = c.resources[r]
        st.write(info.msgs_var, b.ite(here, 1, st.read(info.msgs_var)))
        st.write(c.sender_var[r], b.ite(here, SENDER_GONE, st.read(c.sender_var[r])))
        st.event(EventKind.SENT, -1, r, span, cond=here)
    st.write(message, 0)


def reply_drop(c: Compiler, st: Step, message: int) -> None:
    """A received value is dropped (or moved out by a match arm that ends): a Sender it carries
    that was not used is gone, so its requester's receive returns Err."""
    drop_carried(c, st, st.read(message))
    st.write(message, 0)


def drop_carried(c: Compiler, st: Step, v: Expr) -> None:
    """The message value v is dropped: the Sender it carries (if any, still in it) is gone."""
    b = c.b
    for first, table in c.inst.reply_table.items():
        for i, r in enumerate(table):
            here = b.eq(v, first + i)
            if c.dom.decide(here) is False:
                continue
            sender = c.sender_var[r]
            st.write(sender, b.ite(b.and_(here, b.eq(st.read(sender), SENDER_IN_MESSAGE)), SENDER_GONE,
                                   st.read(sender)))
