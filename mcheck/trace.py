"""The result every engine returns: a verdict, statistics and, for a stuck state, the trace.

One `Trace` type for every engine (STYLE.md): a list of fired transitions with the states they
lead to, and the stuck report of the last state. Renderers (render.py) turn it into text/JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from mcheck.analysis import StuckReport
from mcheck.bfs import Stats
from mcheck.evaluate import State, evaluate
from mcheck.ir import Expr, TransitionSystem
from mcheck.model import Event, StepLabel


class Status(Enum):
    SAFE = "safe"
    FUTURELOCK = "futurelock"
    DEADLOCK = "deadlock"
    INCONCLUSIVE = "inconclusive"

    @property
    def exit_code(self) -> int:
        return {Status.SAFE: 0, Status.FUTURELOCK: 1, Status.DEADLOCK: 1, Status.INCONCLUSIVE: 3}[self]


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a trace: a poll of one task (its micro-steps, bfs.PollStep) or a clock advance."""

    transitions: tuple[int, ...]  # the transitions fired, the first being the trigger
    states: tuple[State, ...]  # the state after each

    @property
    def transition(self) -> int:
        return self.transitions[0]

    @property
    def state(self) -> State:
        """The state after the step."""
        return self.states[-1]


def step_events(ts: TransitionSystem[StepLabel], before: State, step: Step) -> list[Event]:
    """The events of every micro-step of a step, in order; a conditional one only
    where its condition held (in the state before that micro-step)."""
    out = []
    pre = before
    for tid, post in zip(step.transitions, step.states, strict=True):
        for ev in ts.transitions[tid].label.events:
            if ev.cond is None or evaluate(ev.cond, pre):
                out.append(ev)
        pre = post
    return out


@dataclass(frozen=True, slots=True)
class Trace:
    initial: State
    steps: tuple[Step, ...]
    report: StuckReport  # of the last state
    first_stuck: int  # number of steps to the first stuck state; later steps show victims blocking


@dataclass(frozen=True, slots=True)
class VictimSearch:
    """What the search for victims after the first stuck state cost, and what stopped it early."""

    states: int
    seconds: float
    stopped: str = ""  # the bound it ran into ("--timeout 5 s"), or "" when it explored all it could


@dataclass(frozen=True, slots=True)
class Proof:
    """Why a model is safe, as the z3 engine proved it: an inductive invariant (it holds initially,
    every transition preserves it, and no stuck state satisfies it), checked by z3."""

    clauses: tuple[str, ...]  # its clauses, in the model's variable names (VarDecl.name)
    exprs: tuple[Expr, ...]  # the same invariant as IR expressions over the state variables


@dataclass(frozen=True, slots=True)
class Result:
    status: Status
    engine: str  # "bfs", "z3" or "both"
    stats: Stats
    trace: Trace | None = None
    reason: str = ""  # why the run is inconclusive
    proof: Proof | None = None  # z3 (or both): the invariant that proves a safe verdict
    notes: tuple[str, ...] = ()  # --engine both: what the other engine found
    victims: VictimSearch | None = None  # a stuck result: the search for victims after it
    kernel: str = ""  # how the BFS ran, for the summary line: the native kernel's cost, or why it did not run
