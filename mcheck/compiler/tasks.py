"""Tasks as futures: `spawn`, the JoinHandle, `abort`, and a JoinSet's tasks.

A spawned task is always polled by the runtime, so another task cannot leave it dormant. One task
per spawn site: spawning again while that task still runs leaves what the model expresses (a
bound). Dropping a JoinHandle detaches the task; `h.abort()` (and dropping a JoinSet, or
`abort_all`) cancels it, dropping everything it holds, and counts as finished for its handle.
State: a JoinHandle's `st` (0 detached or never made, 1 attached, 2 a borrowed handle that
completed); the task's own root program counter says whether it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcheck.compiler.step import Step
from mcheck.compiler.sync import LeafSemantics, Res, TraceWords
from mcheck.ir import EdgeKind, Expr, WaitEdge
from mcheck.model import PC_DEAD, PC_DONE, PC_ENTRY, EventKind, SlotInfo, SlotKind
from mcheck.source import Span

if TYPE_CHECKING:
    from mcheck.compiler.machine import Compiler
    from mcheck.instantiate import Slot, TaskInst

HANDLE_ATTACHED = 1
HANDLE_DONE = 2


class JoinHandle(LeafSemantics):
    def allocate(self, s: Slot) -> None:
        c = self.c
        s.state_var = c.new_var(f"{c.var_name(s)}.st", 0, HANDLE_DONE, 0)

    def create(self, st: Step, s: Slot) -> None:
        st.write(s.state_var, HANDLE_ATTACHED)

    def done_state(self, s: Slot) -> int:
        return HANDLE_DONE

    def finished(self, st: Step | None, s: Slot) -> Expr:
        return finished(self.c, st, s)

    def poll(self, st: Step, s: Slot, bind: bool) -> list[tuple[Step, Res]]:
        c, b = self.c, self.c.b
        out: list[tuple[Step, Res]] = []
        cases = c.dom.split(st, b.eq(st.read(s.state_var), HANDLE_DONE)) if s.is_var else [(st, False)]
        for q, done in cases:
            if done:
                out.append((q, Res.READY))
                continue
            out.extend((q2, Res.READY if fin else Res.PENDING) for q2, fin in c.dom.split(q, self.finished(q, s)))
        return out

    def wake(self, s: Slot) -> list[tuple[Step, Res]]:
        c, b = self.c, self.c.b
        st = Step(b)
        if not c.dom.assume(st, b.and_(b.eq(b.var(s.state_var), HANDLE_ATTACHED), self.finished(None, s))):
            return []
        st.write(s.state_var, 0)
        return [(st, Res.READY)]

    def drop(self, st: Step, s: Slot) -> None:
        st.write(s.state_var, 0)  # dropping a JoinHandle detaches the task: it keeps running

    def ready(self, s: Slot, active: Expr) -> Expr:
        return self.c.b.and_(active, self.finished(None, s))

    def edges(self, s: Slot, active: Expr) -> list[WaitEdge]:
        b = self.c.b
        assert s.target is not None and s.target.root is not None
        return [WaitEdge(s.index, s.target.root.index, b.and_(active, b.eq(b.var(s.state_var), HANDLE_ATTACHED)),
                         EdgeKind.PRODUCER)]


def finished(c: Compiler, st: Step | None, s: Slot) -> Expr:
    """The task behind JoinHandle s has finished (or was aborted)."""
    assert s.target is not None and s.target.root is not None
    pc = st.read(s.target.root.state_var) if st is not None else c.b.var(s.target.root.state_var)
    return c.b.eq(pc, PC_DONE)


def spawn(c: Compiler, st: Step, t: TaskInst, handle: Slot | None, span: Span | None) -> None:
    """Start task t (its root becomes ready to start); a re-spawn while it runs is a bound."""
    b = c.b
    assert t.root is not None
    pc = st.read(t.root.state_var)
    free = b.or_(b.eq(pc, PC_DEAD), b.eq(pc, PC_DONE))
    st.write(t.root.state_var, b.ite(free, PC_ENTRY, pc))
    st.write(c.respawn_var, b.ite(free, st.read(c.respawn_var), 1))
    if handle is not None:
        st.write(handle.state_var, HANDLE_ATTACHED)
    st.event(EventKind.SPAWNED, t.root.index, span=span)


def abort_all(c: Compiler, st: Step, s: Slot, span: Span | None) -> None:
    """`h.abort()`, `set.abort_all()`, dropping a JoinSet: cancel the task(s) still attached."""
    for h in s.children if s.kind is SlotKind.SET else [s]:
        if h.kind is SlotKind.JOIN and h.target is not None and h.target.root is not None:
            abort(c, st, h, h.target.root, span)


def abort(c: Compiler, st: Step, handle: Slot, root: Slot, span: Span | None) -> None:
    """A task whose handle is still attached is cancelled, dropping what it holds; it counts as
    finished for its handle."""
    b = c.b
    pc = st.read(root.state_var)
    running = b.and_(b.eq(st.read(handle.state_var), HANDLE_ATTACHED), b.ne(pc, PC_DONE), b.ne(pc, PC_DEAD))
    if c.dom.decide(running) is False:
        return
    if not c.atomic:
        # Multi-thread: a task being polled on another worker is cancelled when that poll
        # returns; the abort here waits for it (NOTE(multi-thread-steps), docs/language.md).
        c.dom.assume(st, b.or_(b.not_(running), b.eq(st.read(c.cur_var[root.task.index]), 0)))
    dropped = st.copy()
    c.drop_slot(dropped, root)
    dropped.write(root.state_var, PC_DONE)
    for v, e in dropped.vals.items():  # keep each change only where the task was running
        if e is not st.read(v):
            st.write(v, b.ite(running, e, st.read(v)))
    st.event(EventKind.DROPPED, root.index, span=span, detail="aborted", cond=running)


def producer_words(w: TraceWords, src: SlotInfo, dst: SlotInfo) -> tuple[str, str]:
    """JoinHandle src waits for the task whose root is dst."""
    return f"{w.slot(src.index)} waits for task {dst.label} to finish", "waits for the task to finish"
