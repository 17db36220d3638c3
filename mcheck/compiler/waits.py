"""The wait-for graph of SEMANTICS.md section 6, over the compiled model's variables.

A node per future: live, ready (it can make progress now) and dormant (alive but not in its
task's active frontier). Edges: a future waits for the children it polls; a dormant future waits
for its task to come back to it (if it ever will); a leaf waits on what its primitive says (the
holders and earlier waiters of a semaphore, the producers of a channel, the task behind a
JoinHandle). Every future of a task that is mid-poll is ready: it is running.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcheck.compiler import sets
from mcheck.ir import EdgeKind, Expr, WaitEdge, WaitGraph, WaitNode, WaitRoot
from mcheck.model import LEAF_KINDS, PC_DEAD, PC_DONE, PC_ENTRY, SlotKind

if TYPE_CHECKING:
    from mcheck.compiler.machine import Compiler
    from mcheck.instantiate import Slot


def wait_graph(c: Compiler) -> WaitGraph:
    b = c.b
    nodes: list[WaitNode] = []
    edges: list[WaitEdge] = []
    active = {s.index: c.active(s) for s in c.slots}
    live: dict[int, Expr] = {}
    for s in c.slots:
        v = b.var(s.state_var)
        if s.kind in (SlotKind.ROOT, SlotKind.CODE):
            live[s.index] = b.and_(b.ne(v, PC_DEAD), b.ne(v, PC_DONE))
        elif s.kind is SlotKind.SET:
            live[s.index] = b.and_(b.eq(v, 1), b.or_(*(sets.member_alive(c, None, m) for m in s.children)))
        else:
            live[s.index] = c.leaf_semantics(s).live(s)
    for s in c.slots:
        act = active[s.index]
        if s.kind is SlotKind.ROOT:
            ready = b.eq(b.var(s.state_var), PC_ENTRY)
        elif s.kind in (SlotKind.CODE, SlotKind.SET):
            ready = b.false
        else:
            ready = c.leaf_semantics(s).ready(s, act)
        ready = b.or_(ready, c.mid_poll(s.task))
        dormant = b.and_(live[s.index], b.not_(act)) if s.kind is not SlotKind.ROOT else b.false
        nodes.append(WaitNode(f"{s.task.name}:{s.label}", live[s.index], ready, dormant))
    for s in c.slots:
        root = s.task.root
        assert root is not None
        for ch in s.children:
            cond = active[ch.index]
            if ch.kind is SlotKind.CODE:
                cond = b.and_(cond, live[ch.index])  # a completed future is not polled again
            if s.kind is SlotKind.SET:
                cond = b.and_(cond, sets.member_alive(c, None, ch))  # nor one the set has yielded
            edges.append(WaitEdge(s.index, ch.index, cond, EdgeKind.POLLS))
        if s.kind is not SlotKind.ROOT:
            edges.append(WaitEdge(s.index, root.index, b.and_(nodes[s.index].dormant, c.returns(s)), EdgeKind.RETURN))
        if s.kind in LEAF_KINDS:
            edges.extend(c.leaf_semantics(s).edges(s, active[s.index]))
    roots = tuple(WaitRoot(t.name, t.root.index, c.alive(t)) for t in c.tasks if t.root is not None)
    edges = [e for e in edges if b.bool_value(e.cond) is not False]
    return WaitGraph(tuple(nodes), tuple(edges), roots)


def producer_edges(c: Compiler, s: Slot, waiting: Expr) -> list[WaitEdge]:
    """A receive (or Notified) s waits for every future that may still send on its resource, and
    for the task of one that is not alive yet but may still run (or be spawned)."""
    b = c.b
    out = []
    for prod in c.producers(s.res):
        proot = prod.task.root
        assert proot is not None
        plive = _live_code(c, prod)
        out.append(WaitEdge(s.index, prod.index, b.and_(waiting, plive), EdgeKind.PRODUCER, s.res))
        # A producer not created yet: its task (or, not spawned yet, the spawner) may create it.
        # Never an edge to a task that is not running: its node is not stuck, so such an edge
        # would settle the receive although nothing can send.
        for u, when in c.runners(prod.task):
            assert u.root is not None
            if u is prod.task and prod is proot:
                continue
            out.append(WaitEdge(s.index, u.root.index, b.and_(waiting, b.not_(plive), when),
                                EdgeKind.PRODUCER, s.res))
    return out


def _live_code(c: Compiler, s: Slot) -> Expr:
    b = c.b
    v = b.var(s.state_var)
    return b.and_(b.ne(v, PC_DEAD), b.ne(v, PC_DONE))
