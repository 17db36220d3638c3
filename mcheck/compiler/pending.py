"""`std::future::pending()`: a leaf that is never ready and holds nothing.

Polling it returns Pending and registers no waker, so nothing ever completes it: a task that
awaits it waits forever (a `select!` branch over it just never wins). It waits on no resource
and no task, so in the wait-for graph it is alive, never ready, with no edges.
State: `st` (0 idle, 1 created).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcheck.compiler.step import Step
from mcheck.compiler.sync import LeafSemantics, Res
from mcheck.ir import Expr

if TYPE_CHECKING:
    from mcheck.instantiate import Slot

PENDING_CREATED = 1
PENDING_DONE = 2  # never reached: there is no event that completes it


class Pending(LeafSemantics):
    def allocate(self, s: Slot) -> None:
        c = self.c
        s.state_var = c.new_var(f"{c.var_name(s)}.st", 0, PENDING_CREATED, 0)

    def create(self, st: Step, s: Slot) -> None:
        st.write(s.state_var, PENDING_CREATED)

    def done_state(self, s: Slot) -> int:
        return PENDING_DONE

    def poll(self, st: Step, s: Slot, bind: bool) -> list[tuple[Step, Res]]:
        return [(st, Res.PENDING)]

    def wake(self, s: Slot) -> list[tuple[Step, Res]]:
        return []

    def ready(self, s: Slot, active: Expr) -> Expr:
        return self.c.b.false
