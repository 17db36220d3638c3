"""tokio's OnceCell: a value, and the semaphore of one permit around its initializer.

`cell.get_or_init(|| init)` is instantiated (instantiate.py) as a code future that returns at
once if the cell is set, else locks the cell's semaphore (semaphore.py), checks again, runs the
initializer inside its own future and sets the cell. The initializer runs only while that future
is polled, so a dormant initializer blocks every other caller (they queue on the semaphore).
Setting the cell forgets the initializer's permit and closes the semaphore (tokio's
`OnceCell::set_value`): every caller queued, polled or not, then gets `Err` from its acquire and
returns the value, so no permit is ever handed on to a waiter that would have to take it.
State: the resource's `value` (0 unset, 1 set) and its semaphore's `available`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcheck.compiler.step import Step
from mcheck.compiler.sync import State, TraceWords, semaphore
from mcheck.ir import Expr
from mcheck.model import ST_IDLE, EventKind, ResourceInfo, SlotInfo
from mcheck.source import Span

if TYPE_CHECKING:
    from mcheck.compiler.machine import Compiler
    from mcheck.instantiate import Slot


def is_set(c: Compiler, st: Step, r: int) -> object:
    return c.b.eq(st.read(c.resources[r].msgs_var), 1)


def set_value(c: Compiler, st: Step, r: int, permit: Slot | None = None, span: Span | None = None) -> None:
    """The initializer finished: the cell is set, its permit forgotten (the semaphore keeps no
    permit: it is closed, see closed())."""
    st.write(c.resources[r].msgs_var, 1)
    if permit is not None:
        st.write(permit.state_var, ST_IDLE)
        st.write(permit.got_var, 0)
    st.event(EventKind.CLOSED, permit.index if permit is not None else -1, r, span, detail="set")


def closed(c: Compiler, r: int) -> Expr:
    """The cell is set, so its semaphore is closed: an acquire on it returns Err at once."""
    return c.b.eq(c.b.var(c.resources[r].msgs_var), 1)


def words(w: TraceWords, kind: EventKind, s: SlotInfo | None, r: ResourceInfo, detail: str,
          before: State, after: State) -> str:
    """Taking the cell's semaphore starts the initializer; queueing on it is the semaphore's."""
    if kind is EventKind.ACQUIRED:
        return f"initializes {w.res(r.index)} (holding its semaphore)"
    if kind is EventKind.CLOSED and detail == "set":
        return f"sets {w.res(r.index)}: its semaphore closes, and every caller waiting gets the value"
    if kind is EventKind.CLOSED:
        return f"{w.res(r.index)} is set: returns its value"
    return semaphore.words(w, kind, s, r, detail, before, after)
