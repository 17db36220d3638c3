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
from typing import TYPE_CHECKING

from mcheck.compiler.step import Step
from mcheck.ir import Expr, WaitEdge

if TYPE_CHECKING:
    from mcheck.compiler.machine import Compiler
    from mcheck.instantiate import Slot


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
