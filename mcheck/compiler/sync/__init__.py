"""The tokio primitives, one module each, laid out as tokio lays out `tokio/src/sync/`.

A primitive owns its state variables, the operations of the leaf futures on it (polled, woken,
completed, dropped), its part of the wait-for graph and the words the trace uses for it. The poll
machine (mcheck/compiler/machine.py) drives every leaf through the `LeafSemantics` interface and
never looks inside; `semantics_for` picks the module for a leaf.

    semaphore.py      tokio's fair batch semaphore: Mutex, Semaphore, RwLock, mpsc permits, OnceCell's lock
    unfair_mutex.py   futures::lock::Mutex: a flag, no queue, no hand-off
    mpsc.py           bounded and unbounded channels: messages, recv, closing
    oneshot.py        a value slot
    notify.py         Notify: registered waiters, one stored permit, forwarding on drop
    once_cell.py      OnceCell: a value and the semaphore around its initializer
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Protocol

from mcheck.compiler.step import Step
from mcheck.ir import EdgeKind, Expr, WaitEdge
from mcheck.model import EventKind, ResourceInfo, SlotInfo, SlotKind
from mcheck.program import ResKind

if TYPE_CHECKING:
    from mcheck.compiler.machine import Compiler
    from mcheck.instantiate import Slot

State = tuple[int, ...]


class Res(Enum):
    """What polling a future gave its parent."""

    PENDING = 0
    READY = 1
    NONE = 2  # ready with None: a receive on a closed channel, next() on an empty set


class LeafSemantics:
    """The operations the poll machine needs on one kind of leaf future. `c` is the compiler
    (variables, domains, resources); every operation writes into a Step, splitting it where the
    outcome depends on the state."""

    def __init__(self, c: Compiler) -> None:
        self.c = c

    def allocate(self, s: Slot) -> None:
        """Give leaf s its state variables (state_var at least; 0 means idle, not created)."""
        raise NotImplementedError

    def create(self, st: Step, s: Slot) -> None:
        """s is created (not polled: futures are lazy)."""
        raise NotImplementedError

    def poll(self, st: Step, s: Slot, bind: bool) -> list[tuple[Step, Res]]:
        """Its task polls s as part of a poll (the first time, or again through a borrow). `bind`:
        the guard or permit it produces is kept by a `let`."""
        raise NotImplementedError

    def wake(self, s: Slot) -> list[tuple[Step, Res]]:
        """The event that completes s later and wakes its task: the condition (in the step's guard)
        and what completing does, for a poll that starts there."""
        raise NotImplementedError

    def done_state(self, s: Slot) -> int:
        """The state of a borrowed s that has completed (it stays alive)."""
        raise NotImplementedError

    def reset(self, st: Step, s: Slot, owned: bool) -> None:
        """s completed and its parent took the result: owned, it is gone; borrowed, it stays done."""
        st.write(s.state_var, 0 if owned else self.done_state(s))
        for v in (s.pos_var, s.rem_var):
            if v >= 0:
                st.write(v, 0)

    def drop(self, st: Step, s: Slot) -> None:
        """s is dropped: it leaves any queue and gives back what it holds or was handed."""
        st.write(s.state_var, 0)
        for v in (s.pos_var, s.got_var, s.rem_var):
            if v >= 0:
                st.write(v, 0)

    def live(self, s: Slot) -> Expr:
        """The wait-for graph: s is alive and not yet complete."""
        b = self.c.b
        v = b.var(s.state_var)
        return b.and_(b.ne(v, 0), b.ne(v, self.done_state(s)))

    def ready(self, s: Slot, active: Expr) -> Expr:
        """The wait-for graph: s (polled when `active`) can make progress now."""
        raise NotImplementedError

    def edges(self, s: Slot, active: Expr) -> list[WaitEdge]:
        """The wait-for graph: what s waits on (besides its own task)."""
        return []


def semantics_for(c: Compiler, s: Slot) -> LeafSemantics:
    """The primitive module that gives leaf s its meaning."""
    return c.leaf_semantics(s)


# ---- the words the trace uses ------------------------------------------------------------------


class TraceWords(Protocol):
    """What a primitive's phrasing of a trace step may ask of the renderer (render.Describer)."""

    def res(self, r: int) -> str:
        """The resource's name, quoted."""
        ...

    def slot(self, i: int) -> str:
        """The future's name and the named future around it."""
        ...

    def task_of(self, i: int) -> str:
        """The name of the task a future belongs to."""
        ...

    def owners(self, r: int, state: State) -> str:
        """Who holds or was handed resource r in state ('' if nobody)."""
        ...

    def dormant(self, i: int, state: State) -> bool:
        """Future i is alive but its task no longer polls it."""
        ...

    def holders(self, r: int, within: int, state: State) -> list[SlotInfo]:
        """The acquire futures directly inside future `within` that hold resource r in state."""
        ...


def event_words(w: TraceWords, kind: EventKind, s: SlotInfo | None, r: ResourceInfo, detail: str,
                before: State, after: State) -> str:
    """A trace line for an event on resource r, in the words of r's primitive ('' for nothing)."""
    from mcheck.compiler.sync import mpsc, notify, once_cell, oneshot, semaphore, unfair_mutex

    words = {ResKind.MUTEX: semaphore.words, ResKind.SEMAPHORE: semaphore.words, ResKind.RWLOCK: semaphore.words,
             ResKind.CHANNEL: mpsc.words, ResKind.ONESHOT: oneshot.words, ResKind.NOTIFY: notify.words,
             ResKind.UNFAIR_MUTEX: unfair_mutex.words, ResKind.ONCE_CELL: once_cell.words}[r.kind]
    return words(w, kind, s, r, detail, before, after)


def handover_words(w: TraceWords, s: SlotInfo, r: ResourceInfo, before: State, after: State) -> str:
    """A trace line for what leaf s was handed between two states without being polled (a permit,
    a notification), in the words of its primitive ('' for nothing)."""
    from mcheck.compiler.sync import notify, semaphore

    if r.kind is ResKind.NOTIFY:
        return notify.handover_words(w, s, before, after)
    return semaphore.handover_words(w, s, before, after)


def edge_words(w: TraceWords, kind: EdgeKind, src: SlotInfo, dst: SlotInfo, r: ResourceInfo | None,
               state: State) -> tuple[str, str]:
    """The sentence and the short label for a wait-for edge that a primitive added (`edges`): src
    waits on r behind dst (RESOURCE), or for dst to produce something (PRODUCER)."""
    from mcheck.compiler import tasks
    from mcheck.compiler.sync import mpsc, notify, semaphore

    if kind is EdgeKind.PRODUCER:
        if src.kind is SlotKind.JOIN:
            return tasks.producer_words(w, src, dst)
        if src.kind is SlotKind.NOTIFIED:
            return notify.producer_words(w, src, dst, r)
        return mpsc.producer_words(w, src, dst, r)
    assert r is not None
    if dst.kind is SlotKind.NOTIFIED:
        return notify.edge_words(w, src, dst, r)
    if r.kind is ResKind.CHANNEL and not (dst.kind is SlotKind.ACQUIRE or w.holders(r.index, dst.index, state)):
        return mpsc.full_words(w, src, dst, r)
    return semaphore.edge_words(w, src, dst, r, state)
