"""One micro-step under construction: the guard over the pre-state, the values written so far
(a read sees every earlier write of the same step: updates compose in order) and the events the
trace shows for it.

Every operation of the compiler and of the primitives (mcheck/compiler/sync/) writes into a
`Step`. An operation whose effect depends on the state either folds the condition into the
values (`ite`) or splits the step into one copy per outcome (`Domains.split`): each copy becomes
its own transition, so a step splits a bounded number of ways and the IR stays linear in the model.
"""

from __future__ import annotations

from mcheck.ir import Expr, ExprBuilder, Intervals, Op
from mcheck.model import Event, EventKind
from mcheck.source import Span


class Step:
    __slots__ = ("b", "events", "fused", "guard", "idle", "idle_order", "known", "loop_span", "vals")

    def __init__(self, b: ExprBuilder, guard: list[Expr] | None = None) -> None:
        self.b = b
        self.guard: list[Expr] = list(guard or [])
        self.vals: dict[int, Expr] = {}  # written
        self.known: dict[int, Expr] = {}  # `var == const` facts of the guard, for variables not yet written
        self.events: list[Event] = []
        self.loop_span: Span | None = None  # a backward jump this step takes (busy-loop reports)
        self.fused = 0  # operations run in this step so far (machine.MAX_FUSED)
        # Futures created in this step: everything inside them is idle (0), as it is in every
        # reachable state. Kept as intervals of the future tree's preorder (`idle_order` maps a
        # slot variable to its slot's position) rather than written, so that creating a future
        # costs nothing per descendant and the transition carries no updates that change nothing.
        self.idle: list[tuple[int, int]] = []
        self.idle_order: dict[int, int] = {}

    def copy(self) -> Step:
        s = Step(self.b, self.guard)
        s.vals = dict(self.vals)
        s.known = dict(self.known)
        s.events = list(self.events)
        s.loop_span = self.loop_span
        s.fused = self.fused
        s.idle = list(self.idle)
        s.idle_order = self.idle_order
        return s

    def read(self, v: int) -> Expr:
        e = self.vals.get(v)
        if e is not None:
            return e
        if self.idle and self.is_idle(v):
            return self.b.const(0)
        e = self.known.get(v)
        return e if e is not None else self.b.var(v)

    def is_idle(self, v: int) -> bool:
        o = self.idle_order.get(v)
        return o is not None and any(lo <= o < hi for lo, hi in self.idle)

    def assume_idle(self, lo: int, hi: int, order: dict[int, int]) -> None:
        """The slot variables of the slots at preorder positions lo..hi-1 are 0 from here on:
        written where this step wrote them before, known where it did not."""
        self.idle_order = order
        for v in [v for v in self.vals if lo <= order.get(v, -1) < hi]:
            self.write(v, 0)
        if not any(a <= lo and hi <= b for a, b in self.idle):
            self.idle.append((lo, hi))

    def write(self, v: int, e: Expr | int) -> None:
        assert v >= 0, "a write to a variable that was never allocated"
        self.vals[v] = self.b.const(e) if isinstance(e, int) else e

    def event(self, kind: EventKind, slot: int = -1, res: int = -1, span: Span | None = None, detail: str = "",
              cond: Expr | None = None) -> None:
        """An event of this step for the trace; with `cond`, only where cond holds in the pre-state."""
        if cond is not None and self.b.bool_value(cond) is False:
            return
        self.events.append(Event(kind, slot, res, span, detail, None if self.b.bool_value(cond) is True else cond)
                           if cond is not None else Event(kind, slot, res, span, detail))

    def updates(self) -> tuple[tuple[int, Expr], ...]:
        b = self.b
        return tuple(sorted((v, e) for v, e in self.vals.items() if e is not b.var(v)))


class Domains(Intervals):
    """What the variables' declared ranges decide (ir.Intervals), and guards built with it: a
    condition that every state decides the same way needs no guard and no split."""

    def assume(self, step: Step, cond: Expr) -> bool:
        """Add cond (over the pre-state, through the step's reads) to the guard; False if it
        cannot hold."""
        bv = self.decide(cond)
        if bv is not None:
            return bv
        step.guard.append(cond)
        for c in cond.args if cond.op is Op.AND else (cond,):
            if c.op is Op.EQ and c.args[0].op is Op.VAR and c.args[1].op is Op.CONST and c.args[0].value not in step.vals:
                step.known[c.args[0].value] = c.args[1]
        return True

    def split(self, step: Step, cond: Expr) -> list[tuple[Step, bool]]:
        """The step where cond holds and the step where it does not (only those that can happen)."""
        bv = self.decide(cond)
        if bv is not None:
            return [(step, bv)]
        out = []
        yes, no = step.copy(), step
        if self.assume(yes, cond):
            out.append((yes, True))
        if self.assume(no, self.b.not_(cond)):
            out.append((no, False))
        return out
