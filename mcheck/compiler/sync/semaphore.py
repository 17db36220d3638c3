"""tokio's batch semaphore (`tokio/src/sync/batch_semaphore.rs`): the fair FIFO queue behind
`Mutex` (1 permit), `Semaphore` (n), `RwLock` (a read takes 1, a write all), the permits of a
bounded mpsc channel (`send` = acquire 1 then push; the permit travels with the message) and the
lock around a OnceCell's initializer.

State: the resource's `available` permits; per acquire future `st` (idle, queued, granted, held),
its queue position `pos` (1 = head) and the permits `got` so far. SEMANTICS.md section 4:
- acquire(n), first poll: take min(available, n); satisfied and nobody queued: done; otherwise
  join the back of the queue with what it took (a partial grant). Nobody barges past a queue.
- release(k): walk from the head, each waiter takes what it still needs; a satisfied one is
  popped and *granted*: the permits are its own whether or not it is ever polled again. The walk
  stops at the first waiter it cannot satisfy; leftovers go back to `available`.
- dropping a queued or granted acquire leaves the queue and releases everything it held.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcheck import program as p
from mcheck.compiler.step import Step
from mcheck.compiler.sync import LeafSemantics, Res, State, TraceWords, once_cell, oneshot
from mcheck.instantiate import Slot
from mcheck.ir import EdgeKind, Expr, WaitEdge
from mcheck.model import PC_DEAD, PC_DONE, ST_GRANTED, ST_HELD, ST_IDLE, ST_QUEUED, EventKind, ResourceInfo, SlotInfo, SlotKind

if TYPE_CHECKING:
    from mcheck.compiler.machine import Compiler

KINDS = (p.ResKind.MUTEX, p.ResKind.SEMAPHORE, p.ResKind.RWLOCK, p.ResKind.ONCE_CELL)


class Acquire(LeafSemantics):
    """A `lock()`, `acquire()`, `acquire_many(k)`, `read()`, `write()`, `send()` or `reserve()`
    future on a FIFO semaphore."""

    def allocate(self, s: Slot) -> None:
        c = self.c
        s.state_var = c.new_var(f"{c.var_name(s)}.st", 0, 3, 0)
        s.pos_var = c.new_var(f"{c.var_name(s)}.pos", 0, len(c.waiters[s.res]), 0)
        s.got_var = c.new_var(f"{c.var_name(s)}.got", 0, s.count, 0)

    def create(self, st: Step, s: Slot) -> None:
        pass  # unpolled, it holds nothing and is in no queue: it stays idle

    def done_state(self, s: Slot) -> int:
        return ST_IDLE

    def reset(self, st: Step, s: Slot, owned: bool) -> None:
        pass  # what an acquire holds after completing is decided by `acquired`

    def poll(self, st: Step, s: Slot, bind: bool) -> list[tuple[Step, Res]]:
        c = self.c
        out: list[tuple[Step, Res]] = []
        closed = self.closed(s)
        if closed is not None:
            for q, shut in c.dom.split(st, closed):
                if shut:
                    self.refused(q, s)
                    out.append((q, Res.READY))
                else:
                    out.extend(self.poll_open(q, s, bind))
            return out
        return self.poll_open(st, s, bind)

    def sends(self, s: Slot) -> bool:
        """s is a channel's send() or reserve(): it fails once the Receiver is dropped."""
        return s.purpose in (p.Purpose.SEND, p.Purpose.RESERVE) and self.c.prog.resources[s.res].kind is p.ResKind.CHANNEL

    def closed(self, s: Slot) -> Expr | None:
        """When s's semaphore is closed, so that s returns Err at once and a queued s is woken with
        it: a channel's once its Receiver is gone (for a send or reserve), a OnceCell's once it is
        set; None where it never closes."""
        if self.sends(s):
            return self.c.receivers_gone(s.res)
        if self.c.prog.resources[s.res].kind is p.ResKind.ONCE_CELL:
            return once_cell.closed(self.c, s.res)
        return None

    def refused(self, st: Step, s: Slot) -> None:
        """The semaphore is closed: the send or reserve returns Err, sending nothing and holding
        nothing (the OnceCell's caller returns the value); a queued one leaves the queue (what it
        was granted goes back)."""
        self.drop(st, s)
        once = self.c.prog.resources[s.res].kind is p.ResKind.ONCE_CELL
        st.event(EventKind.CLOSED, s.index, s.res, s.span, detail="" if once else "send")

    def poll_open(self, st: Step, s: Slot, bind: bool) -> list[tuple[Step, Res]]:
        c, b = self.c, self.c.b
        avail = c.resources[s.res].avail_var
        out: list[tuple[Step, Res]] = []
        for q, idle in c.dom.split(st, b.eq(st.read(s.state_var), ST_IDLE)):
            if not idle:  # polled before: done once the permits were handed to it
                for q2, granted in c.dom.split(q, b.eq(q.read(s.state_var), ST_GRANTED)):
                    if granted:
                        self.acquired(q2, s, bind)
                    out.append((q2, Res.READY if granted else Res.PENDING))
                continue
            now = b.and_(b.eq(qlen(c, q, s.res), 0), b.le(s.count, q.read(avail)))
            for q2, at_once in c.dom.split(q, now):
                if at_once:
                    q2.write(avail, b.sub(q2.read(avail), s.count))
                    q2.write(s.got_var, s.count)
                    self.acquired(q2, s, bind)
                    out.append((q2, Res.READY))
                    continue
                take = b.min_(q2.read(avail), s.count)
                q2.write(s.pos_var, b.add(qlen(c, q2, s.res), 1))
                q2.write(avail, b.sub(q2.read(avail), take))
                q2.write(s.got_var, take)
                q2.write(s.state_var, ST_QUEUED)
                q2.event(EventKind.QUEUED, s.index, s.res, s.span)
                out.append((q2, Res.PENDING))
        return out

    def wake(self, s: Slot) -> list[tuple[Step, Res]]:
        c, b = self.c, self.c.b
        out = []
        st = Step(b)
        if c.dom.assume(st, b.eq(b.var(s.state_var), ST_GRANTED)):
            self.acquired(st, s, c.binds(s))
            out.append((st, Res.READY))
        closed = self.closed(s)
        if closed is not None:
            st = Step(b)
            if c.dom.assume(st, b.and_(b.eq(b.var(s.state_var), ST_QUEUED), closed)):
                self.refused(st, s)
                out.append((st, Res.READY))
        return out

    def acquired(self, st: Step, s: Slot, bind: bool) -> None:
        """s holds all its permits and completes: a send pushes its message (the permit travels
        with it), a kept guard or permit is held, one nobody keeps is released at once."""
        c = self.c
        st.write(s.pos_var, 0)
        if s.purpose is p.Purpose.SEND:
            st.write(s.state_var, ST_IDLE)
            st.write(s.got_var, 0)
            c.mpsc.push_message(st, s.res, s.message)
            if s.reply_res >= 0:  # the message carries a oneshot's Sender (replies.py)
                oneshot.sent_in_message(c, st, s.reply_res)
            st.event(EventKind.SENT, s.index, s.res, s.span)
        elif bind:
            st.write(s.state_var, ST_HELD)
            st.event(EventKind.ACQUIRED, s.index, s.res, s.span)
        else:
            st.write(s.state_var, ST_IDLE)
            st.write(s.got_var, 0)
            st.event(EventKind.ACQUIRED, s.index, s.res, s.span)
            c.release(st, s.res, c.b.const(s.count))
            st.event(EventKind.RELEASED, s.index, s.res, s.span)

    def drop(self, st: Step, s: Slot) -> None:
        c, b = self.c, self.c.b
        state = st.read(s.state_var)
        if b.is_const(state) and state.value == ST_IDLE:
            return
        pw, got = st.read(s.pos_var), st.read(s.got_var)
        if not (b.is_const(pw) and pw.value == 0):
            for o in c.waiters[s.res]:
                if o is not s:
                    po = st.read(o.pos_var)
                    st.write(o.pos_var, b.ite(b.and_(b.lt(0, pw), b.lt(pw, po)), b.sub(po, 1), po))
        st.write(s.pos_var, 0)
        st.write(s.state_var, ST_IDLE)
        st.write(s.got_var, 0)
        c.release(st, s.res, got)

    def live(self, s: Slot) -> Expr:
        b = self.c.b
        v = b.var(s.state_var)
        return b.or_(b.eq(v, ST_QUEUED), b.eq(v, ST_GRANTED))

    def ready(self, s: Slot, active: Expr) -> Expr:
        b = self.c.b
        granted = b.eq(b.var(s.state_var), ST_GRANTED)
        closed = self.closed(s)
        if closed is not None:
            granted = b.or_(granted, b.and_(b.eq(b.var(s.state_var), ST_QUEUED), closed))
        return b.and_(active, granted)

    def edges(self, s: Slot, active: Expr) -> list[WaitEdge]:
        """Queued: behind every holder, every grantee and every waiter ahead of it; on a channel,
        behind the receivers while messages fill it."""
        c, b = self.c, self.c.b
        queued = b.and_(active, b.eq(b.var(s.state_var), ST_QUEUED))
        out = []
        for o in c.waiters[s.res]:
            if o is s:
                continue
            ost = b.var(o.state_var)
            assert o.parent is not None
            held = b.and_(queued, b.eq(ost, ST_HELD))
            # NOTE(returned-guard): a guard an fn returned is held by the first of its owners still running
            earlier_done: list[Expr] = []
            holders = o.holders or [o.parent]
            for i, h in enumerate(holders):
                running = b.and_(b.ne(b.var(h.state_var), PC_DEAD), b.ne(b.var(h.state_var), PC_DONE))
                owns = held if len(holders) == 1 else b.and_(held, *earlier_done, *([running] if i + 1 < len(holders) else []))
                out.append(WaitEdge(s.index, h.index, owns, EdgeKind.RESOURCE, s.res))
                earlier_done.append(b.not_(running))
            ahead = b.or_(b.eq(ost, ST_GRANTED), b.and_(b.eq(ost, ST_QUEUED), b.lt(b.var(o.pos_var), b.var(s.pos_var))))
            out.append(WaitEdge(s.index, o.index, b.and_(queued, ahead), EdgeKind.RESOURCE, s.res))
        info = c.resources[s.res]
        if info.kind is p.ResKind.CHANNEL:
            full = b.and_(queued, b.lt(0, b.var(info.msgs_var)))
            for t in c.receiver_tasks(s.res):
                # A receiver not spawned yet receives only once its spawner gets that far.
                for u, when in c.runners(t):
                    assert u.root is not None
                    out.append(WaitEdge(s.index, u.root.index, b.and_(full, when), EdgeKind.RESOURCE, s.res))
        return out


def qlen(c: Compiler, st: Step, r: int) -> Expr:
    """How many acquires are queued on semaphore r."""
    b = c.b
    return b.sum_([b.ite(b.lt(0, st.read(w.pos_var)), 1, 0) for w in c.waiters[r]])


def release(c: Compiler, st: Step, r: int, k: Expr) -> None:
    """Return k permits to semaphore r: the FIFO walk granting from the head."""
    b = c.b
    if b.is_const(k) and k.value == 0:
        return
    ws = c.waiters[r]
    pos = {w.index: st.read(w.pos_var) for w in ws}
    got = {w.index: st.read(w.got_var) for w in ws}
    remaining = k
    stopped = b.false
    popped = b.const(0)
    steps: list[tuple[Expr, Expr]] = []
    # Every waiter needs at least one more permit, so k permits reach at most k queue positions.
    for j in range(1, min(len(ws), c.dom.interval(k)[1]) + 1):
        c.budget.check()  # quadratic in the waiters: a long queue is where a compile spends its time
        at = [(w, b.eq(pos[w.index], j)) for w in ws]
        exists = b.or_(*(cond for _w, cond in at))
        if b.bool_value(exists) is False:
            break
        need = b.sum_([b.ite(cond, b.sub(w.count, got[w.index]), 0) for w, cond in at])
        go = b.and_(b.not_(stopped), exists)
        give = b.ite(go, b.min_(remaining, need), 0)
        sat = b.and_(go, b.eq(give, need))
        remaining = b.sub(remaining, give)
        stopped = b.or_(stopped, b.not_(sat))
        popped = b.add(popped, b.ite(sat, 1, 0))
        steps.append((give, sat))
        if b.bool_value(stopped) is True:
            break
    for w in ws:
        c.budget.check()
        pw = pos[w.index]
        g: Expr = b.const(0)
        satw: Expr = b.false
        for j, (give, sat) in enumerate(steps, start=1):
            at_j = b.eq(pw, j)
            g = b.ite(at_j, give, g)
            satw = b.or_(satw, b.and_(at_j, sat))
        if b.bool_value(satw) is False and b.is_const(g) and g.value == 0:
            if not (b.is_const(popped) and popped.value == 0):
                st.write(w.pos_var, b.ite(b.lt(0, pw), b.sub(pw, popped), 0))
            continue
        st.write(w.got_var, b.add(got[w.index], g))
        st.write(w.state_var, b.ite(satw, ST_GRANTED, st.read(w.state_var)))
        st.write(w.pos_var, b.ite(satw, 0, b.ite(b.lt(0, pw), b.sub(pw, popped), 0)))
    avail = c.resources[r].avail_var
    st.write(avail, b.add(st.read(avail), remaining))


def release_guard(c: Compiler, st: Step, s: Slot) -> Expr:
    """A guard or permit of s goes out of scope (or is dropped): released if s holds it. Returns
    the condition `s held it`."""
    b = c.b
    state = st.read(s.state_var)
    held = b.eq(state, ST_HELD)
    if b.bool_value(held) is not False:
        amount = b.ite(held, st.read(s.got_var), 0)
        st.write(s.state_var, b.ite(held, ST_IDLE, state))
        st.write(s.got_var, b.ite(held, 0, st.read(s.got_var)))
        c.release(st, s.res, amount)
    return held


def holds(c: Compiler, st: Step, s: Slot) -> Expr:
    """Whether acquire slot s holds its permits (a guard is alive): `g.is_ok()` after a try."""
    return c.b.eq(st.read(s.state_var), ST_HELD)


def try_acquire(c: Compiler, st: Step, s: Slot) -> list[Step]:
    """`try_reserve()`, `try_lock()`, `try_read()`, `try_write()`, `try_acquire[_many](n)`: the
    permits if they are free now and nobody is queued, else none. tokio's `try_acquire` only looks
    at the free count, but a release hands its permits to the queue's head first (partial grants
    included), so permits are free only while nobody is queued: both conditions are the same."""
    b = c.b
    avail = c.resources[s.res].avail_var
    ok = b.and_(b.eq(qlen(c, st, s.res), 0), b.le(s.count, st.read(avail)))
    out = []
    for q, room in c.dom.split(st, ok):
        if room:
            q.write(avail, b.sub(q.read(avail), s.count))
            q.write(s.got_var, s.count)
            q.write(s.state_var, ST_HELD)
            q.event(EventKind.ACQUIRED, s.index, s.res, s.span)
        else:
            q.event(EventKind.TRY_SEND_FULL, -1, s.res, s.span,
                    "reserve" if s.purpose is p.Purpose.RESERVE else s.label)
        out.append(q)
    return out


# ---- the words the trace uses -------------------------------------------------------------------


def words(w: TraceWords, kind: EventKind, s: SlotInfo | None, r: ResourceInfo, detail: str,
          before: State, after: State) -> str:
    """Queued, acquired, released: the semaphore's events (also the permits of a channel, a
    OnceCell's lock and the acquire and release of futures::lock::Mutex)."""
    match kind:
        case EventKind.QUEUED:
            assert s is not None
            pos = after[s.pos_var]
            got = after[s.got_var]
            held = f"; holds {got} of the {s.count} permits it needs" if got else ""
            ahead = "the head of the queue" if pos == 1 else f"position {pos} of the queue"
            owners = w.owners(r.index, after)
            by = f" ({owners})" if owners else ""
            return f"{w.res(r.index)} is not available{by}: queued at {ahead}{held}"
        case EventKind.ACQUIRED:
            what = "the lock" if r.kind in (p.ResKind.MUTEX, p.ResKind.UNFAIR_MUTEX) else (
                ("the write lock" if s and s.purpose is p.Purpose.WRITE else "a read lock")
                if r.kind is p.ResKind.RWLOCK else f"{s.count if s else 1} permit{'s' if s and s.count > 1 else ''} of")
            return f"acquired {what} {w.res(r.index)}"
        case EventKind.RELEASED:
            if s is None or (before[s.state_var] != ST_HELD and after[s.state_var] == before[s.state_var]):
                return ""
            if before[s.state_var] != ST_HELD:
                return f"released {w.res(r.index)} at once"
            how = "drop() releases" if detail == "explicit" else "guard goes out of scope: releases"
            return f"{how} {w.res(r.index)}"
        case EventKind.TRY_SEND_FULL:  # a try_* acquire that failed; detail is its text: `m.try_lock()`
            return f"{detail} on {w.res(r.index)}: taken (or a waiter is queued), returns Err without waiting"
    return ""


def handover_words(w: TraceWords, s: SlotInfo, before: State, after: State) -> str:
    """A release that reached waiter s: handed every permit it asked for, or some of them."""
    if before[s.state_var] == ST_QUEUED and after[s.state_var] == ST_GRANTED:
        who = f"{w.slot(s.index)} (task {w.task_of(s.index)})"
        note = ": nobody is polling it (dormant)" if w.dormant(s.index, after) else ", which will take it when polled"
        return f"{w.res(s.resource)} is handed to {who}{note}"
    if before[s.state_var] == ST_QUEUED and after[s.got_var] > before[s.got_var]:
        return (f"{w.res(s.resource)} grants {after[s.got_var] - before[s.got_var]} permit(s) to "
                f"{w.slot(s.index)}, which still waits for {s.count - after[s.got_var]}")
    return ""


def edge_words(w: TraceWords, src: SlotInfo, dst: SlotInfo, r: ResourceInfo, state: State) -> tuple[str, str]:
    """src is queued on r behind waiter dst, or behind the future dst whose guard holds r."""
    name = w.res(r.index)
    if dst.kind is SlotKind.ACQUIRE:
        if state[dst.state_var] == ST_GRANTED:
            return (f"{w.slot(src.index)} is queued on {name} behind {w.slot(dst.index)}, which was handed {name} "
                    "but has not taken it", f"queued on {name} behind (handed it, not taken)")
        return (f"{w.slot(src.index)} is queued on {name} behind {w.slot(dst.index)} (ahead in the FIFO queue)",
                f"queued on {name} behind")
    holders = w.holders(r.index, dst.index, state)
    what = "permit" if holders and holders[0].purpose is p.Purpose.RESERVE else "guard"
    guard = f" (the {what} of `{holders[0].label}`)" if holders else ""
    return f"{w.slot(src.index)} is queued on {name}, held by {w.slot(dst.index)}{guard}", f"{name} held by"
