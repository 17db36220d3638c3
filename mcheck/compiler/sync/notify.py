"""tokio's Notify (`tokio/src/sync/notify.rs`): registered waiters, one stored permit.

- A `Notified` future registers as a waiter on its first poll (or `enable()`); created but not
  yet registered, only `notify_waiters` reaches it.
- `notify_one` notifies the oldest registered waiter, else stores one permit (at most one) that
  the next registration takes at once. The notification belongs to that waiter even if it is
  dormant.
- `notify_waiters` notifies every registered waiter and every created Notified; it stores nothing.
- Dropping a Notified that a `notify_one` reached and that has not completed passes the
  notification on (to the next waiter, or as the stored permit).

State: the resource's `permit` (0/1); per Notified `st` (model.NT_*) and its position `pos` among
the registered waiters (1 = oldest).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcheck.compiler.step import Step
from mcheck.compiler.sync import LeafSemantics, Res, State, TraceWords
from mcheck.ir import EdgeKind, Expr, WaitEdge
from mcheck.model import NT_CREATED, NT_DONE, NT_IDLE, NT_NOTIFIED, NT_NOTIFIED_ALL, NT_WAITING, EventKind, ResourceInfo, SlotInfo

if TYPE_CHECKING:
    from mcheck.compiler.machine import Compiler
    from mcheck.instantiate import Slot


class Notified(LeafSemantics):
    def allocate(self, s: Slot) -> None:
        c = self.c
        s.state_var = c.new_var(f"{c.var_name(s)}.st", 0, NT_CREATED, 0)
        s.pos_var = c.new_var(f"{c.var_name(s)}.pos", 0, len(c.notified[s.res]), 0)

    def create(self, st: Step, s: Slot) -> None:
        st.write(s.state_var, NT_CREATED)  # in no queue, but notify_waiters reaches it

    def done_state(self, s: Slot) -> int:
        return NT_DONE

    def reset(self, st: Step, s: Slot, owned: bool) -> None:
        st.write(s.state_var, NT_IDLE if owned else NT_DONE)
        st.write(s.pos_var, 0)

    def poll(self, st: Step, s: Slot, bind: bool) -> list[tuple[Step, Res]]:
        c, b = self.c, self.c.b
        out: list[tuple[Step, Res]] = []
        for q, idle in c.dom.split(st, unregistered(c, st, s)):
            if idle:
                out.extend((q2, Res.READY if permit else Res.PENDING) for q2, permit in register(c, q, s))
                continue
            state = q.read(s.state_var)
            ready = b.or_(b.eq(state, NT_NOTIFIED), b.eq(state, NT_NOTIFIED_ALL), b.eq(state, NT_DONE))
            out.extend((q2, Res.READY if done else Res.PENDING) for q2, done in c.dom.split(q, ready))
        return out

    def wake(self, s: Slot) -> list[tuple[Step, Res]]:
        c, b = self.c, self.c.b
        out = []
        for notified in (NT_NOTIFIED, NT_NOTIFIED_ALL):
            st = Step(b)
            if c.dom.assume(st, b.eq(b.var(s.state_var), notified)):
                out.append((st, Res.READY))
        return out

    def drop(self, st: Step, s: Slot) -> None:
        """Leave the waiters; a notify_one notification received but not consumed goes to the
        next waiter (or is stored). One from notify_waiters is not passed on."""
        c, b = self.c, self.c.b
        state = st.read(s.state_var)
        if b.is_const(state) and state.value == NT_IDLE:
            return
        pw = st.read(s.pos_var)
        for o in c.notified[s.res]:
            if o is not s:
                po = st.read(o.pos_var)
                st.write(o.pos_var, b.ite(b.and_(b.lt(0, pw), b.lt(pw, po)), b.sub(po, 1), po))
        st.write(s.pos_var, 0)
        st.write(s.state_var, NT_IDLE)
        notify(c, st, s.res, b.eq(state, NT_NOTIFIED), everyone=False)

    def live(self, s: Slot) -> Expr:
        b = self.c.b
        v = b.var(s.state_var)
        return b.or_(b.eq(v, NT_WAITING), b.eq(v, NT_NOTIFIED), b.eq(v, NT_NOTIFIED_ALL))

    def ready(self, s: Slot, active: Expr) -> Expr:
        b = self.c.b
        v = b.var(s.state_var)
        return b.and_(active, b.or_(b.eq(v, NT_NOTIFIED), b.eq(v, NT_NOTIFIED_ALL)))

    def edges(self, s: Slot, active: Expr) -> list[WaitEdge]:
        """Waiting: on a notification another Notified received and has not consumed (it comes
        to us if that one is dropped), and on every future or task that may still notify."""
        c, b = self.c, self.c.b
        waiting = b.and_(active, b.eq(b.var(s.state_var), NT_WAITING))
        out = [WaitEdge(s.index, o.index, b.and_(waiting, b.eq(b.var(o.state_var), NT_NOTIFIED)), EdgeKind.RESOURCE, s.res)
               for o in c.notified[s.res] if o is not s]
        return out + c.producer_edges(s, waiting)


def unregistered(c: Compiler, st: Step, s: Slot) -> Expr:
    state = st.read(s.state_var)
    return c.b.or_(c.b.eq(state, NT_IDLE), c.b.eq(state, NT_CREATED))


def queue_length(c: Compiler, st: Step, r: int) -> Expr:
    b = c.b
    return b.sum_([b.ite(b.lt(0, st.read(w.pos_var)), 1, 0) for w in c.notified.get(r, [])])


def register(c: Compiler, st: Step, s: Slot) -> list[tuple[Step, bool]]:
    """A Notified's first poll (or enable()): take a stored permit, else join the waiters."""
    b = c.b
    permit_var = c.resources[s.res].msgs_var
    out = []
    for q, permit in c.dom.split(st, b.eq(st.read(permit_var), 1)):
        if permit:
            q.write(permit_var, 0)
            q.write(s.state_var, NT_NOTIFIED)
            q.event(EventKind.RECEIVED, s.index, s.res, s.span)
        else:
            q.write(s.pos_var, b.add(queue_length(c, q, s.res), 1))
            q.write(s.state_var, NT_WAITING)
            q.event(EventKind.QUEUED, s.index, s.res, s.span)
        out.append((q, permit))
    return out


def notify(c: Compiler, st: Step, r: int, cond: Expr, everyone: bool) -> None:
    """notify_one (when cond): the oldest registered waiter is notified, else a permit is stored;
    notify_waiters: every registered waiter (and every created Notified) is notified."""
    b = c.b
    ws = c.notified.get(r, [])
    permit_var = c.resources[r].msgs_var
    exists = b.or_(*(b.lt(0, st.read(w.pos_var)) for w in ws))
    for w in ws:
        pw = st.read(w.pos_var)
        if everyone:
            hit = b.and_(cond, b.or_(b.lt(0, pw), b.eq(st.read(w.state_var), NT_CREATED)))
        else:
            hit = b.and_(cond, b.eq(pw, 1))
        st.write(w.state_var, b.ite(hit, NT_NOTIFIED_ALL if everyone else NT_NOTIFIED, st.read(w.state_var)))
        st.write(w.pos_var, b.ite(cond, 0 if everyone else b.ite(b.lt(0, pw), b.sub(pw, 1), 0), pw))
    if not everyone:
        cur = st.read(permit_var)
        st.write(permit_var, b.ite(b.and_(cond, b.not_(exists)), 1, cur))


# ---- the words the trace uses -------------------------------------------------------------------


def words(w: TraceWords, kind: EventKind, s: SlotInfo | None, r: ResourceInfo, detail: str,
          before: State, after: State) -> str:
    """Registering, notifying, taking the stored permit."""
    match kind:
        case EventKind.QUEUED:
            assert s is not None
            return f"no notification of {w.res(r.index)} is stored: registers as waiter {after[s.pos_var]}"
        case EventKind.SENT:
            return f"{'notify_waiters' if detail == 'all' else 'notify_one'} on {w.res(r.index)}"
        case EventKind.RECEIVED:
            return f"takes the notification stored in {w.res(r.index)}"
    return ""


def handover_words(w: TraceWords, s: SlotInfo, before: State, after: State) -> str:
    """A notification that reached Notified s without a poll."""
    if before[s.state_var] in (NT_WAITING, NT_CREATED) and after[s.state_var] in (NT_NOTIFIED, NT_NOTIFIED_ALL):
        note = ": nobody is polling it (dormant)" if w.dormant(s.index, after) else ""
        return f"{w.res(s.resource)} notifies {w.slot(s.index)} (task {w.task_of(s.index)}){note}"
    return ""


def edge_words(w: TraceWords, src: SlotInfo, dst: SlotInfo, r: ResourceInfo) -> tuple[str, str]:
    """src waits on r, whose notification went to Notified dst."""
    name = w.res(r.index)
    return (f"{w.slot(src.index)} waits on {name}, whose notification went to {w.slot(dst.index)}, which "
            "has not consumed it (dropping it would pass it on)", f"{name}: notification went to")


def producer_words(w: TraceWords, src: SlotInfo, dst: SlotInfo, r: ResourceInfo | None) -> tuple[str, str]:
    """Notified src waits for dst, which may still notify r."""
    name = w.res(r.index if r is not None else src.resource)
    return f"{w.slot(src.index)} waits for {w.slot(dst.index)}, which may still notify {name}", f"waits for {name} from"
