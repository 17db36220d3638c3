"""Sets of futures polled by one task: FuturesUnordered, FuturesOrdered, JoinSet, and the buffer
of a stream (`buffered(n)`, `buffer_unordered(n)`).

A set is a slot whose children are its members (code futures; a JoinSet's are JoinHandles).
Members are polled only while the set is: inside `next()` (or a stream's pull); between pulls
every member is dormant (SEMANTICS.md section 3). `next()` starts the items of a buffered stream
while fewer than its limit are in flight, polls every member that was pushed and not yet polled,
in order, and yields the first that completes (FuturesOrdered: only the oldest; one that completes
early waits, completed, for its turn); it returns None at once when the set is empty. A member
that completes later, by its own event, is yielded by the set it is in.
State: the set's `exists` (0/1), the member being polled during `next()` (`scan`: 0 when not
polling, 1 + the member's index), and a stream's count of items started (`fill`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcheck.compiler.step import Step
from mcheck.ir import Expr
from mcheck.model import PC_DEAD, PC_DONE, PC_ENTRY, EventKind, SlotKind

if TYPE_CHECKING:
    from mcheck.compiler.machine import Compiler
    from mcheck.instantiate import IPush, Slot


def member_alive(c: Compiler, st: Step | None, m: Slot) -> Expr:
    b = c.b
    v = st.read(m.state_var) if st is not None else b.var(m.state_var)
    return b.ne(v, 0) if m.kind is SlotKind.JOIN else b.ne(v, PC_DEAD)


def is_head(c: Compiler, st: Step | None, m: Slot) -> Expr:
    """FuturesOrdered: m is the oldest member still in the set."""
    assert m.parent is not None
    earlier = m.parent.children[: m.parent.children.index(m)]
    return c.b.and_(*(c.b.not_(member_alive(c, st, e)) for e in earlier))


def empty(c: Compiler, st: Step | None, s: Slot) -> Expr:
    return c.b.and_(*(c.b.not_(member_alive(c, st, m)) for m in s.children))


def leave(st: Step, m: Slot) -> None:
    st.write(m.state_var, 0 if m.kind is SlotKind.JOIN else PC_DEAD)


def yield_member(st: Step, m: Slot) -> None:
    """next() returns Some(m's output): m leaves the set."""
    leave(st, m)
    st.event(EventKind.SET_NEXT, m.index)


def push(c: Compiler, st: Step, ins: IPush) -> list[Step]:
    """The push site's first instance not in the set takes the future; none free is a bound."""
    out = []
    rest = [st]
    for m in ins.instances:
        nxt = []
        for q in rest:
            for q2, free in c.dom.split(q, c.b.not_(member_alive(c, q, m))):
                if free:
                    c.create(q2, m)
                    out.append(q2)
                else:
                    nxt.append(q2)
        rest = nxt
    for q in rest:
        q.write(c.push_overflow_var, 1)
        c.push_overflow_spans.append(ins.span)
        out.append(q)
    return out


def fill(c: Compiler, st: Step, s: Slot) -> None:
    """A buffered stream's pull starts items from its iterator, in order, while fewer than its
    limit are in flight (`fill_var` counts the items started)."""
    b = c.b
    assert s.fill_var is not None
    for j, item in enumerate(s.children):
        inflight = b.sum_([b.ite(member_alive(c, st, m), 1, 0) for m in s.children])
        start = b.and_(b.eq(st.read(s.fill_var), j), b.lt(inflight, s.limit))
        if c.dom.decide(start) is False:
            continue
        st.write(item.state_var, b.ite(start, PC_ENTRY, st.read(item.state_var)))
        st.write(s.fill_var, b.ite(start, j + 1, st.read(s.fill_var)))


def waiting_done(c: Compiler, st: Step, m: Slot) -> Expr:
    """A FuturesOrdered member that completed before its turn (it waits, done, in the set)."""
    return c.b.eq(st.read(m.state_var), PC_DONE)
