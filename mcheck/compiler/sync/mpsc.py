"""tokio's mpsc channels (`tokio/src/sync/mpsc/`): the message queue, `recv`, and closing.

A bounded channel's capacity is a semaphore (semaphore.py): `send` acquires a permit and pushes
the message with it; the receiver's `recv` takes the message and the permit returns to the
channel. An unbounded channel has no semaphore and never blocks a sender; mcheck tracks at most
program.UNBOUNDED_LIMIT queued messages (one more is a bound of the model). `recv` returns None
once the channel is empty and no task or future that sends on it is alive (every Sender is gone).

State: the resource's `queued` message count; per receive future `st` (0 idle, 1 waiting, 2 a
borrowed receive that completed). oneshot.py reuses the receive with a value slot of one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcheck import program as p
from mcheck.compiler.step import Step
from mcheck.compiler.sync import LeafSemantics, Res, State, TraceWords, semaphore
from mcheck.compiler.sync.semaphore import qlen
from mcheck.ir import Expr, WaitEdge
from mcheck.model import ST_HELD, EventKind, ResourceInfo, SlotInfo

if TYPE_CHECKING:
    from mcheck.compiler.machine import Compiler
    from mcheck.instantiate import Slot

RECV_WAITING = 1
RECV_DONE = 2


class Recv(LeafSemantics):
    """`rx.recv()` on a channel (or a oneshot): a message, or None once every sender is gone."""

    def allocate(self, s: Slot) -> None:
        c = self.c
        s.state_var = c.new_var(f"{c.var_name(s)}.st", 0, RECV_DONE, 0)

    def create(self, st: Step, s: Slot) -> None:
        st.write(s.state_var, RECV_WAITING)

    def done_state(self, s: Slot) -> int:
        return RECV_DONE

    def poll(self, st: Step, s: Slot, bind: bool) -> list[tuple[Step, Res]]:
        c, b = self.c, self.c.b
        out: list[tuple[Step, Res]] = []
        cases = c.dom.split(st, b.eq(st.read(s.state_var), RECV_DONE)) if s.is_var else [(st, False)]
        for q, done in cases:
            if done:  # a borrowed receive that completed before is ready at once
                out.append((q, Res.READY))
                continue
            msgs = c.resources[s.res].msgs_var
            for q2, has_msg in c.dom.split(q, b.lt(0, q.read(msgs))):
                if has_msg:
                    take_message(c, q2, s)
                    out.append((q2, Res.READY))
                    continue
                for q3, closed in c.dom.split(q2, c.closed(s.res)):
                    if closed:
                        q3.event(EventKind.CLOSED, s.index, s.res, s.span)
                    out.append((q3, Res.NONE if closed else Res.PENDING))
        return out

    def wake(self, s: Slot) -> list[tuple[Step, Res]]:
        c, b = self.c, self.c.b
        msgs = b.var(c.resources[s.res].msgs_var)
        out = []
        st = Step(b)
        if c.dom.assume(st, b.and_(b.eq(b.var(s.state_var), RECV_WAITING), b.lt(0, msgs))):
            take_message(c, st, s)
            st.write(s.state_var, 0)
            out.append((st, Res.READY))
        st = Step(b)
        if c.dom.assume(st, b.and_(b.eq(b.var(s.state_var), RECV_WAITING), b.eq(msgs, 0), c.closed(s.res))):
            st.write(s.state_var, 0)
            st.event(EventKind.CLOSED, s.index, s.res, s.span)
            out.append((st, Res.NONE))
        return out

    def ready(self, s: Slot, active: Expr) -> Expr:
        c, b = self.c, self.c.b
        msgs = b.var(c.resources[s.res].msgs_var)
        return b.and_(active, b.or_(b.lt(0, msgs), c.closed(s.res)))

    def edges(self, s: Slot, active: Expr) -> list[WaitEdge]:
        """Waiting: on every future or task that may still send (SEMANTICS.md section 6)."""
        b = self.c.b
        return self.c.producer_edges(s, b.and_(active, b.eq(b.var(s.state_var), RECV_WAITING)))


def take_message(c: Compiler, st: Step, s: Slot) -> None:
    """The receive s takes one queued message; on a bounded channel its permit returns."""
    info = c.resources[s.res]
    st.write(info.msgs_var, c.b.sub(st.read(info.msgs_var), 1))
    if info.avail_var >= 0:
        c.release(st, s.res, c.b.const(1))
    st.event(EventKind.RECEIVED, s.index, s.res, s.span)


class Channels:
    """The send side of channels: pushing messages, try_send, sending a reserved permit."""

    def __init__(self, c: Compiler) -> None:
        self.c = c

    def queue_bound(self, r: int) -> int:
        info = self.c.resources[r]
        return info.permits if info.bounded else p.UNBOUNDED_LIMIT + 1

    def push_message(self, st: Step, r: int) -> None:
        """One more message queued on r; none once its Receiver is gone (the send is Err)."""
        info = self.c.resources[r]
        b = self.c.b
        cur = st.read(info.msgs_var)
        st.write(info.msgs_var, b.ite(self.c.receivers_gone(r), cur, b.min_(b.add(cur, 1), self.queue_bound(r))))

    def try_send(self, st: Step, r: int, span: object) -> list[Step]:
        """`ch.try_send()`: never waits; with no free permit it is Err(Full) and sends nothing.
        `ev.send()` on an unbounded channel always sends. Both are Err once the Receiver is gone."""
        c = self.c
        out = []
        for q, gone in c.dom.split(st, c.receivers_gone(r)):
            if gone:
                q.event(EventKind.CLOSED, -1, r, span, detail="send")  # type: ignore[arg-type]
                out.append(q)
            else:
                out.extend(self.try_send_open(q, r, span))
        return out

    def try_send_open(self, st: Step, r: int, span: object) -> list[Step]:
        c, b = self.c, self.c.b
        info = c.resources[r]
        if not info.bounded:
            self.push_message(st, r)
            st.event(EventKind.SENT, -1, r, span)  # type: ignore[arg-type]
            return [st]
        ok = b.and_(b.eq(qlen(c, st, r), 0), b.le(1, st.read(info.avail_var)))
        out = []
        for q, room in c.dom.split(st, ok):
            if room:
                q.write(info.avail_var, b.sub(q.read(info.avail_var), 1))
                self.push_message(q, r)
                q.event(EventKind.SENT, -1, r, span)  # type: ignore[arg-type]
            else:
                q.event(EventKind.TRY_SEND_FULL, -1, r, span)  # type: ignore[arg-type]
            out.append(q)
        return out

    def permit_send(self, st: Step, s: Slot, span: object) -> None:
        """`p.send()` on a reserved permit: the message goes in with the permit (nothing if p
        holds none: a failed try_reserve)."""
        from mcheck.model import ST_HELD, ST_IDLE

        c, b = self.c, self.c.b
        info = c.resources[s.res]
        held = b.eq(st.read(s.state_var), ST_HELD)
        st.write(s.state_var, b.ite(held, ST_IDLE, st.read(s.state_var)))
        st.write(s.got_var, b.ite(held, 0, st.read(s.got_var)))
        cur = st.read(info.msgs_var)
        st.write(info.msgs_var, b.ite(held, b.min_(b.add(cur, 1), info.permits), cur))
        st.event(EventKind.SENT, s.index, s.res, span)  # type: ignore[arg-type]


# ---- the words the trace uses -------------------------------------------------------------------


def words(w: TraceWords, kind: EventKind, s: SlotInfo | None, r: ResourceInfo, detail: str,
          before: State, after: State) -> str:
    """Sent, received, closed, full; waiting for a permit is the semaphore's (semaphore.words)."""
    match kind:
        case EventKind.SENT:
            if s is not None and s.purpose is p.Purpose.RESERVE and before[s.state_var] != ST_HELD:
                return f"`{s.label}` holds no permit: nothing is sent"
            q = after[r.msgs_var]
            cap = f"/{r.permits}" if r.bounded else ""
            via = "; the permit travels with the message" if r.bounded else ""
            return f"message sent on {w.res(r.index)} ({q}{cap} queued{via})"
        case EventKind.RECEIVED:
            extra = "; its permit returns to the channel" if r.kind is p.ResKind.CHANNEL and r.bounded else ""
            return f"received from {w.res(r.index)}{extra}"
        case EventKind.CLOSED if detail == "send":
            what = "reserve" if s is not None and s.purpose is p.Purpose.RESERVE else "send"
            return f"every receiver of {w.res(r.index)} is gone: {what} returns Err without sending"
        case EventKind.CLOSED:
            return f"every sender of {w.res(r.index)} is gone: recv returns None"
        case EventKind.TRY_SEND_FULL:
            what = "try_reserve" if detail == "reserve" else "try_send"
            return f"{what} on {w.res(r.index)}: full, returns Err(Full) without waiting"
    return semaphore.words(w, kind, s, r, detail, before, after)


def full_words(w: TraceWords, src: SlotInfo, dst: SlotInfo, r: ResourceInfo) -> tuple[str, str]:
    """src waits for a permit of channel r that only a receive by task dst would give back."""
    return (f"{w.slot(src.index)} waits for task {dst.label} to receive the messages filling {w.res(r.index)}",
            f"{w.res(r.index)} full: waits for the receiver")


def producer_words(w: TraceWords, src: SlotInfo, dst: SlotInfo, r: ResourceInfo | None) -> tuple[str, str]:
    """Receive src waits for dst, which may still send on r."""
    name = w.res(r.index) if r is not None else "it"
    return f"{w.slot(src.index)} waits for {w.slot(dst.index)}, which may still send on {name}", f"waits for {name} from"
