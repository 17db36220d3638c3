"""futures::lock::Mutex: a flag and wake-ups, with no queue and no hand-off (SEMANTICS.md section 4).

A released lock goes to whichever polled waiter takes it first, so a waiter that is not polled
holds nothing: a dormant *waiter* is harmless, a dormant *holder* still blocks. State: the lock's
`available` flag; per lock future `st` (idle, waiting, held) and `got` (1 while it holds it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcheck.compiler.step import Step
from mcheck.compiler.sync import LeafSemantics, Res, State, TraceWords, semaphore
from mcheck.ir import EdgeKind, Expr, WaitEdge
from mcheck.model import ST_HELD, ST_IDLE, ST_QUEUED, EventKind, ResourceInfo, SlotInfo

if TYPE_CHECKING:
    from mcheck.compiler.machine import Compiler
    from mcheck.instantiate import Slot


class UnfairLock(LeafSemantics):
    def allocate(self, s: Slot) -> None:
        c = self.c
        s.state_var = c.new_var(f"{c.var_name(s)}.st", 0, 3, 0)
        s.got_var = c.new_var(f"{c.var_name(s)}.got", 0, 1, 0)

    def create(self, st: Step, s: Slot) -> None:
        pass

    def done_state(self, s: Slot) -> int:
        return ST_IDLE

    def reset(self, st: Step, s: Slot, owned: bool) -> None:
        pass

    def poll(self, st: Step, s: Slot, bind: bool) -> list[tuple[Step, Res]]:
        """Take the lock if it is free, else wait to be woken and try again."""
        c, b = self.c, self.c.b
        avail = c.resources[s.res].avail_var
        out: list[tuple[Step, Res]] = []
        for q, free in c.dom.split(st, b.eq(st.read(avail), 1)):
            if free:
                self.take(q, s, bind)
                out.append((q, Res.READY))
                continue
            if b.bool_value(b.eq(q.read(s.state_var), ST_QUEUED)) is not True:
                q.event(EventKind.QUEUED, s.index, s.res, s.span)
            q.write(s.state_var, ST_QUEUED)
            out.append((q, Res.PENDING))
        return out

    def wake(self, s: Slot) -> list[tuple[Step, Res]]:
        c, b = self.c, self.c.b
        st = Step(b)
        avail = c.resources[s.res].avail_var
        if not c.dom.assume(st, b.and_(b.eq(b.var(s.state_var), ST_QUEUED), b.eq(b.var(avail), 1))):
            return []
        self.take(st, s, c.binds(s))
        return [(st, Res.READY)]

    def take(self, st: Step, s: Slot, bind: bool) -> None:
        c = self.c
        st.write(c.resources[s.res].avail_var, 0)
        st.write(s.got_var, 1)
        if bind:
            st.write(s.state_var, ST_HELD)
            st.event(EventKind.ACQUIRED, s.index, s.res, s.span)
            return
        st.write(s.state_var, ST_IDLE)
        st.write(s.got_var, 0)
        st.event(EventKind.ACQUIRED, s.index, s.res, s.span)
        release(c, st, s.res, c.b.const(1))
        st.event(EventKind.RELEASED, s.index, s.res, s.span)

    def drop(self, st: Step, s: Slot) -> None:
        got = st.read(s.got_var)
        st.write(s.state_var, ST_IDLE)
        st.write(s.got_var, 0)
        release(self.c, st, s.res, got)

    def live(self, s: Slot) -> Expr:
        return self.c.b.eq(self.c.b.var(s.state_var), ST_QUEUED)

    def ready(self, s: Slot, active: Expr) -> Expr:
        c, b = self.c, self.c.b
        return b.and_(active, b.eq(b.var(s.state_var), ST_QUEUED), b.eq(b.var(c.resources[s.res].avail_var), 1))

    def edges(self, s: Slot, active: Expr) -> list[WaitEdge]:
        """Waiting: on whoever holds the lock (nobody is ahead: there is no queue)."""
        c, b = self.c, self.c.b
        waiting = b.and_(active, b.eq(b.var(s.state_var), ST_QUEUED))
        out = []
        for o in c.waiters[s.res]:
            if o is not s:
                assert o.parent is not None
                out.append(WaitEdge(s.index, o.parent.index, b.and_(waiting, b.eq(b.var(o.state_var), ST_HELD)),
                                    EdgeKind.RESOURCE, s.res))
        return out


def release(c: Compiler, st: Step, r: int, k: Expr) -> None:
    """The lock is free again; every polled waiter may try to take it."""
    avail = c.resources[r].avail_var
    st.write(avail, c.b.add(st.read(avail), k))


def words(w: TraceWords, kind: EventKind, s: SlotInfo | None, r: ResourceInfo, detail: str,
          before: State, after: State) -> str:
    """Waiting without a queue; acquiring and releasing read as a semaphore's."""
    if kind is EventKind.QUEUED:
        owners = w.owners(r.index, after)
        return f"{w.res(r.index)} is locked{f' ({owners})' if owners else ''}: waits to be woken (no queue, no hand-off)"
    return semaphore.words(w, kind, s, r, detail, before, after)
