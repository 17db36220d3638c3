"""The compiled model: the transition system plus the symbol table that maps it back to source.

compile.py builds a `CompiledModel`; engines read only `.ts`; analysis and renderers use the
rest (which variable is whose program counter, which slot is `f1`, where it was written).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from mcheck import program as p
from mcheck.ir import Expr, TransitionSystem
from mcheck.source import Source, Span


class SlotKind(Enum):
    ROOT = "task"
    CODE = "future"
    ACQUIRE = "acquire"
    SLEEP = "sleep"
    RECV = "recv"
    YIELD = "yield_now"
    JOIN = "JoinHandle"
    SET = "set"  # FuturesUnordered/FuturesOrdered/JoinSet, or the buffer of a stream: its members
    NOTIFIED = "notified"
    PENDING = "pending"  # std::future::pending(): never ready


LEAF_KINDS = frozenset({SlotKind.ACQUIRE, SlotKind.SLEEP, SlotKind.RECV, SlotKind.YIELD, SlotKind.JOIN,
                        SlotKind.NOTIFIED, SlotKind.PENDING})

# Program-counter values shared by every code slot; suspension points follow.
PC_DEAD = 0  # not created, dropped, or consumed
PC_DONE = 1  # completed but still alive (a borrowed future that finished)
PC_ENTRY = 2  # created, never polled
# Acquire-leaf states.
ST_IDLE = 0
ST_QUEUED = 1
ST_GRANTED = 2
ST_HELD = 3
# Notified-leaf states (the same numbers: registered = queued, notified = granted).
NT_IDLE = 0  # not created, or dropped
NT_WAITING = 1  # registered
NT_NOTIFIED = 2  # by notify_one: passed on if dropped unconsumed
NT_DONE = 3  # a borrowed Notified that completed
NT_NOTIFIED_ALL = 4  # by notify_waiters: not passed on
NT_CREATED = 5  # created, not yet polled: notify_waiters reaches it, notify_one does not


@dataclass(frozen=True, slots=True)
class SlotInfo:
    """One future site of one task instance, after inlining."""

    index: int
    kind: SlotKind
    task: int
    parent: int  # -1 for a task root
    label: str  # how the trace names it: "f1", "lock_op(lock)", "lock.lock()"
    span: Span | None
    is_var: bool  # bound by `let` (may be left dormant)
    state_var: int  # pc for code slots, st for leaves
    pos_var: int = -1
    got_var: int = -1
    rem_var: int = -1
    resource: int = -1
    count: int = 0
    purpose: p.Purpose | None = None
    returned: bool = False  # NOTE(returned-guard): an acquire an fn returns, held on after that fn completes


@dataclass(frozen=True, slots=True)
class ResourceInfo:
    index: int
    name: str
    kind: p.ResKind
    permits: int
    bounded: bool
    span: Span | None
    avail_var: int = -1  # semaphore permits available
    msgs_var: int = -1  # channel messages queued / oneshot value present
    value_vars: tuple[int, ...] = ()  # a channel's queued message values, head first (mpsc.py)


@dataclass(frozen=True, slots=True)
class TaskInfo:
    index: int
    name: str
    root: int  # slot index
    span: Span | None


class TimeMode(Enum):
    UNTIMED = "untimed"
    EXACT = "exact"


class StepKind(Enum):
    START = "start"  # a task starts (a trigger)
    COMPLETE = "complete"  # a leaf it polls became ready and wakes it (a trigger)
    FIRE = "fire"  # a timer fired and wakes its task (a trigger)
    ADVANCE = "advance"  # exact time: the clock jumps to the next deadline
    POLL = "poll"  # one operation inside a poll: an instruction, a child polled, an answer


class EventKind(Enum):
    ACQUIRED = "acquired"
    QUEUED = "queued"
    COMPLETED = "completed"
    RELEASED = "released"
    SENT = "sent"
    RECEIVED = "received"
    CLOSED = "closed"
    TRY_SEND_FULL = "try_send_full"
    SELECT_WON = "select_won"
    LEFT_DORMANT = "left_dormant"
    DROPPED = "dropped"
    SPAWNED = "spawned"
    TASK_DONE = "task_done"
    SHUTDOWN = "shutdown"
    CHOSE = "chose"
    SET_NEXT = "set_next"  # a set's next() (or a stream's pull) yields a completed member
    BRANCH_DISABLED = "branch_disabled"  # a `Some(_) = ...` select! branch got None


@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    slot: int = -1
    resource: int = -1
    span: Span | None = None
    detail: str = ""
    cond: Expr | None = field(default=None, compare=False)  # shown only where this holds (in the step's pre-state)


@dataclass(frozen=True, slots=True)
class StepLabel:
    """What a transition means, for traces: `task` polled `slot` (at `span`) and `events` followed."""

    task: int
    kind: StepKind
    slot: int
    span: Span | None
    events: tuple[Event, ...]
    loop_span: Span | None = None  # the loop this step goes round, if it jumps back


@dataclass(frozen=True, slots=True)
class Bound:
    """A state with `var == value` leaves what the model can express (`reason` says how)."""

    var: int
    value: int
    reason: str


@dataclass(frozen=True, slots=True)
class CompiledModel:
    source: Source
    program: p.Program
    time: TimeMode
    ts: TransitionSystem[StepLabel]
    slots: tuple[SlotInfo, ...]
    resources: tuple[ResourceInfo, ...]
    tasks: tuple[TaskInfo, ...]
    bounds: tuple[Bound, ...]  # their disjunction is ts.overflow
    runtime: str = "current-thread"  # compiler.Runtime: whose polls may overlap
