"""tokio's OnceCell: a value, and the semaphore of one permit around its initializer.

`cell.get_or_init(|| init)` is instantiated (instantiate.py) as a code future that returns at
once if the cell is set, else locks the cell's semaphore (semaphore.py), checks again, runs the
initializer inside its own future and sets the cell. The initializer runs only while that future
is polled, so a dormant initializer blocks every other caller (they queue on the semaphore).
State: the resource's `value` (0 unset, 1 set) and its semaphore's `available`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcheck.compiler.step import Step
from mcheck.compiler.sync import State, TraceWords, semaphore
from mcheck.model import EventKind, ResourceInfo, SlotInfo

if TYPE_CHECKING:
    from mcheck.compiler.machine import Compiler


def is_set(c: Compiler, st: Step, r: int) -> object:
    return c.b.eq(st.read(c.resources[r].msgs_var), 1)


def set_value(c: Compiler, st: Step, r: int) -> None:
    st.write(c.resources[r].msgs_var, 1)


def words(w: TraceWords, kind: EventKind, s: SlotInfo | None, r: ResourceInfo, detail: str,
          before: State, after: State) -> str:
    """Taking the cell's semaphore starts the initializer; queueing on it is the semaphore's."""
    if kind is EventKind.ACQUIRED:
        return f"initializes {w.res(r.index)} (holding its semaphore)"
    return semaphore.words(w, kind, s, r, detail, before, after)
