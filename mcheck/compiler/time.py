"""Timers and yield_now: leaves that hold nothing and are never the dormant owner of anything.

`sleep(ms)` (and an interval's `tick()`) is armed when created. Untimed, a pending timer may fire
at any moment. Exact (tokio's paused clock): its `remaining_ms` counts down when time advances,
which happens only when no task can run, to the earliest deadline (`advance`). An interval's
first tick completes at once. `yield_now()` is pending once and ready at the next poll.
State: `st` (0 idle, 1 armed, 2 a borrowed timer that fired) and, exact, `remaining_ms`; a
yield's `st` is 0 idle, 1 created, 2 yielded, 3 a borrowed one that completed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcheck.compiler.step import Step
from mcheck.compiler.sync import LeafSemantics, Res
from mcheck.ir import Expr, Transition
from mcheck.model import StepKind, StepLabel, TimeMode

if TYPE_CHECKING:
    from mcheck.compiler.machine import Compiler
    from mcheck.instantiate import Slot

SLEEP_ARMED = 1
SLEEP_DONE = 2
YIELD_CREATED = 1
YIELD_YIELDED = 2
YIELD_DONE = 3


class Sleep(LeafSemantics):
    def allocate(self, s: Slot) -> None:
        c = self.c
        s.state_var = c.new_var(f"{c.var_name(s)}.st", 0, SLEEP_DONE, 0)
        if c.time is TimeMode.EXACT:
            s.rem_var = c.new_var(f"{c.var_name(s)}.remaining_ms", 0, s.ms, 0)

    def create(self, st: Step, s: Slot) -> None:
        st.write(s.state_var, SLEEP_ARMED)
        if s.rem_var >= 0:
            st.write(s.rem_var, s.ms)

    def done_state(self, s: Slot) -> int:
        return SLEEP_DONE

    def poll(self, st: Step, s: Slot, bind: bool) -> list[tuple[Step, Res]]:
        c, b = self.c, self.c.b
        if s.first_var is not None:  # an interval's first tick is immediate
            out: list[tuple[Step, Res]] = []
            for q, first in c.dom.split(st, b.eq(st.read(s.first_var), 0)):
                if first:
                    q.write(s.first_var, 1)
                    out.append((q, Res.READY))
                else:
                    out.extend(self.fresh(q, s))
            return out
        if s.is_var:  # a borrowed timer that fired before is ready at once
            out = []
            for q, done in c.dom.split(st, b.eq(st.read(s.state_var), SLEEP_DONE)):
                out.extend([(q, Res.READY)] if done else self.fresh(q, s))
            return out
        return self.fresh(st, s)

    def fresh(self, st: Step, s: Slot) -> list[tuple[Step, Res]]:
        if s.rem_var < 0:
            return [(st, Res.PENDING)]  # untimed: the timer fires by its own transition
        b = self.c.b
        return [(q, Res.READY if elapsed else Res.PENDING)
                for q, elapsed in self.c.dom.split(st, b.eq(st.read(s.rem_var), 0))]

    def wake(self, s: Slot) -> list[tuple[Step, Res]]:
        c, b = self.c, self.c.b
        st = Step(b)
        cond = b.eq(b.var(s.state_var), SLEEP_ARMED)
        if s.rem_var >= 0:
            cond = b.and_(cond, b.eq(b.var(s.rem_var), 0))
        if not c.dom.assume(st, cond):
            return []
        st.write(s.state_var, 0)
        return [(st, Res.READY)]

    def ready(self, s: Slot, active: Expr) -> Expr:
        return active  # a timer always fires in the end: never part of a stuck set


class Yield(LeafSemantics):
    def allocate(self, s: Slot) -> None:
        c = self.c
        s.state_var = c.new_var(f"{c.var_name(s)}.st", 0, YIELD_DONE, 0)

    def create(self, st: Step, s: Slot) -> None:
        st.write(s.state_var, YIELD_CREATED)

    def done_state(self, s: Slot) -> int:
        return YIELD_DONE

    def poll(self, st: Step, s: Slot, bind: bool) -> list[tuple[Step, Res]]:
        c, b = self.c, self.c.b
        out: list[tuple[Step, Res]] = []
        cases = c.dom.split(st, b.eq(st.read(s.state_var), YIELD_DONE)) if s.is_var else [(st, False)]
        for q, done in cases:
            if done:
                out.append((q, Res.READY))
                continue
            for q2, yielded in c.dom.split(q, b.eq(q.read(s.state_var), YIELD_YIELDED)):
                if not yielded:
                    q2.write(s.state_var, YIELD_YIELDED)  # Pending once, and it wakes its task
                out.append((q2, Res.READY if yielded else Res.PENDING))
        return out

    def wake(self, s: Slot) -> list[tuple[Step, Res]]:
        c, b = self.c, self.c.b
        st = Step(b)
        if not c.dom.assume(st, b.eq(b.var(s.state_var), YIELD_YIELDED)):
            return []
        st.write(s.state_var, 0)
        return [(st, Res.READY)]

    def ready(self, s: Slot, active: Expr) -> Expr:
        return active


def advance(c: Compiler, guard: Expr) -> Transition[StepLabel] | None:
    """Exact time: when no task can run (priority 1), time jumps to the earliest deadline."""
    b = c.b
    sleeps = [s for s in c.slots if s.rem_var >= 0]
    if not sleeps:
        return None
    big = max(s.ms for s in sleeps) + 1
    pend = {s.index: b.and_(b.eq(b.var(s.state_var), SLEEP_ARMED), b.lt(0, b.var(s.rem_var))) for s in sleeps}
    delta: Expr = b.const(big)
    for s in sleeps:
        delta = b.min_(delta, b.ite(pend[s.index], b.var(s.rem_var), big))
    updates = tuple((s.rem_var, b.ite(pend[s.index], b.sub(b.var(s.rem_var), delta), b.var(s.rem_var))) for s in sleeps)
    return Transition(-1, b.and_(b.or_(*pend.values()), guard), updates, 1, StepLabel(-1, StepKind.ADVANCE, -1, None, ()))
