"""The checked program: what resolve.py produces and compile.py consumes.

Every name is resolved, every construct has a meaning (a lock, a sleep, a call of a known async
fn), and every type error has already been reported. Function bodies are still generic in their
parameters; compile.py instantiates them per call site.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from mcheck.source import Span


class ResKind(Enum):
    MUTEX = "Mutex"
    SEMAPHORE = "Semaphore"
    CHANNEL = "Channel"
    ONESHOT = "Oneshot"
    RWLOCK = "RwLock"
    UNFAIR_MUTEX = "futures::lock::Mutex"
    NOTIFY = "Notify"
    ONCE_CELL = "OnceCell"


class Ty(Enum):
    """Types of values a model can name."""

    MUTEX = "Mutex"
    SEMAPHORE = "Semaphore"
    CHANNEL = "Channel"
    ONESHOT = "Oneshot"
    RWLOCK = "RwLock"
    UNFAIR_MUTEX = "futures::lock::Mutex"
    NOTIFY = "Notify"
    ONCE_CELL = "OnceCell"
    INT = "u64"
    FUTURE = "future"
    GUARD = "guard"
    PERMIT = "permit"
    HANDLE = "JoinHandle"
    COUNTER = "loop counter"
    INT_VAR = "integer variable"
    BOOL_VAR = "bool variable"  # an integer variable that holds 0 (false) or 1 (true)
    SET = "FuturesUnordered"
    ORDERED_SET = "FuturesOrdered"
    JOIN_SET = "JoinSet"
    STREAM = "stream"
    INTERVAL = "Interval"
    MESSAGE = "message value"  # `Some(req) = rx.recv()`: an enum tag received from a channel


RES_TY = {
    ResKind.MUTEX: Ty.MUTEX,
    ResKind.SEMAPHORE: Ty.SEMAPHORE,
    ResKind.CHANNEL: Ty.CHANNEL,
    ResKind.ONESHOT: Ty.ONESHOT,
    ResKind.RWLOCK: Ty.RWLOCK,
    ResKind.UNFAIR_MUTEX: Ty.UNFAIR_MUTEX,
    ResKind.NOTIFY: Ty.NOTIFY,
    ResKind.ONCE_CELL: Ty.ONCE_CELL,
}

UNBOUNDED_LIMIT = 8
"""An unbounded channel holding more queued messages than this makes the run inconclusive."""


@dataclass(frozen=True, slots=True)
class Resource:
    index: int
    name: str
    kind: ResKind
    permits: int  # Mutex 1, Semaphore n, bounded channel capacity; 0 for unbounded/oneshot
    bounded: bool
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Local:
    """A `let`-bound name (or loop counter) inside one fn or task body; `index` is unique there."""

    index: int
    name: str
    ty: Ty
    span: Span | None = field(default=None, compare=False)


# ---- references to values ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GlobalRes:
    index: int


@dataclass(frozen=True, slots=True)
class ParamRef:
    name: str


@dataclass(frozen=True, slots=True)
class IntConst:
    value: int


ResRef = GlobalRes | ParamRef
IntRef = IntConst | ParamRef
Arg = GlobalRes | ParamRef | IntConst


# ---- integer locals and conditions -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReadInt:
    """The value of an integer local (`let mut i = 0;`)."""

    local: Local


@dataclass(frozen=True, slots=True)
class IntArith:
    op: ArithOp
    left: IntExpr
    right: IntExpr


class ArithOp(Enum):
    ADD = "+"
    SUB = "-"


IntExpr = IntConst | ParamRef | ReadInt | IntArith


class CmpOp(Enum):
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    EQ = "=="
    NE = "!="


@dataclass(frozen=True, slots=True)
class Choose:
    """`choose()`: either value, nondeterministically (mcheck abstracts data)."""

    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Compare:
    op: CmpOp
    left: IntExpr
    right: IntExpr


@dataclass(frozen=True, slots=True)
class Holds:
    """`g.is_ok()`, where `g` is bound by a try_* acquire: whether it got the lock or permits."""

    local: Local


@dataclass(frozen=True, slots=True)
class NotCond:
    value: Cond


@dataclass(frozen=True, slots=True)
class AndCond:
    left: Cond
    right: Cond


@dataclass(frozen=True, slots=True)
class OrCond:
    left: Cond
    right: Cond


Cond = Choose | Compare | NotCond | AndCond | OrCond | Holds


# ---- futures -----------------------------------------------------------------------------------


class Purpose(Enum):
    """What an acquire on a semaphore is for: it decides what happens to the permits after."""

    LOCK = "lock"
    ACQUIRE = "acquire"
    SEND = "send"
    RESERVE = "reserve"
    WRITE = "write"  # RwLock::write: every permit the lock has (read takes one)


WRITE_PERMITS = -1
"""Acquire.count of an RwLock write: resolved per model to the lock's permit count."""


@dataclass(frozen=True, slots=True)
class Acquire:
    res: ResRef
    count: IntRef
    purpose: Purpose
    text: str
    span: Span | None = field(default=None, compare=False)
    message: int = 0  # a send's message value (0: a message without one; messages.py)
    reply: Local | None = None  # `Request::Claim(tx)`: the oneshot whose Sender the message carries


@dataclass(frozen=True, slots=True)
class Sleep:
    ms: IntRef
    text: str
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Recv:
    res: ResRef
    text: str
    span: Span | None = field(default=None, compare=False)
    bind: Local | None = None  # `Some(v) = rx.recv()`: v gets the message's value (messages.py)


@dataclass(frozen=True, slots=True)
class YieldNow:
    text: str
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Pending:
    """`std::future::pending()`: never completes, holds nothing."""

    text: str
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class CallFn:
    fn: str
    args: tuple[Arg, ...]
    text: str
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class AsyncBlock:
    body: Block
    text: str
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class UseVar:
    """A future-valued local used as a future: `f` (moved) or `&mut f` (borrowed)."""

    local: Local
    borrowed: bool
    text: str
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Race:
    """The first of `arms` to complete wins; the others are dropped if owned (`UseVar` borrowed:
    left dormant). `timeout(d, f)` is Race(f, sleep(d)); `send_timeout` is Race(send, sleep);
    `futures::future::select(a, b)` is Race(a, b). Polled in written order, as these do."""

    arms: tuple[Future, ...]
    text: str
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class SetNext:
    """`set.next()` on a FuturesUnordered/FuturesOrdered, `set.join_next()` on a JoinSet: polls the
    set's futures; Some when one completes, None when the set is empty."""

    local: Local
    text: str
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Notified:
    res: ResRef
    text: str
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class GetOrInit:
    """`cell.get_or_init(|| init)`: the first caller runs `init` holding the cell's semaphore."""

    res: ResRef
    init: Future
    text: str
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Tick:
    """`interval.tick()`: a timer that fires every `ms`."""

    local: Local
    text: str
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class WithParam:
    """One item of `(a..b).map(|i| f)`: the future f with the closure parameter bound to `value`."""

    future: Future
    name: str
    value: int


Leaf = Acquire | Sleep | Recv | YieldNow | Pending
Future = (
    Acquire | Sleep | Recv | YieldNow | Pending | CallFn | AsyncBlock | UseVar | Race | SetNext | Notified | GetOrInit | Tick
    | WithParam
)


# ---- statements --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LetFuture:
    """`let f = <future>;` creates a future without polling it (futures are lazy)."""

    local: Local
    future: Future
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class AwaitStmt:
    """`<future>.await`, keeping its guard/permit in `bind` (None: released at once)."""

    future: Future
    bind: Local | None
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class SelectArm:
    future: Future
    body: Block
    span: Span | None = field(default=None, compare=False)
    precondition: Cond | None = None  # `, if cond`: evaluated before any branch is polled
    refutable: bool = False  # `Some(_) = ...`: a None disables the branch for the rest of the select!


@dataclass(frozen=True, slots=True)
class Select:
    biased: bool
    arms: tuple[SelectArm, ...]
    span: Span | None = field(default=None, compare=False)
    otherwise: Block | None = None  # `else`: every branch disabled (or, futures::select!, complete)
    fused: bool = False  # futures::select!: a borrowed future that has completed is skipped


@dataclass(frozen=True, slots=True)
class NewSet:
    """`let set = FuturesUnordered::new();` (or FuturesOrdered, JoinSet), or a buffered stream
    `let s = stream::iter(items).buffered(limit);` whose `next()` first pulls items while fewer
    than `limit` are in flight."""

    local: Local
    span: Span | None = field(default=None, compare=False)
    items: tuple[Future, ...] = ()
    limit: int = 0
    ordered: bool = False  # a stream's: buffered (in order) or buffer_unordered


@dataclass(frozen=True, slots=True)
class TryReserve:
    """`let p = tx.try_reserve();`: a permit if one is free now (nobody queued), else none."""

    local: Local
    res: ResRef
    text: str
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class TryAcquire:
    """`let g = m.try_lock();` (try_read, try_write, try_acquire, try_acquire_many): the guard or
    permits if they are free now and nobody is queued (tokio's fair semaphore), else nothing."""

    local: Local
    res: ResRef
    count: IntRef
    purpose: Purpose
    method: str
    text: str
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Push:
    """`set.push(f)`: f joins the set unpolled (pushing does not poll)."""

    set: Local
    future: Future
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class SetSpawn:
    """`set.spawn(f)` on a JoinSet: f runs as its own task."""

    set: Local
    future: CallFn | AsyncBlock
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ForEach:
    """`stream::iter(items)[.buffered(n) | .buffer_unordered(n)].for_each(|_| body).await`.
    `limit` 0: no buffering: the items are futures handed to the body unpolled (`|_|` drops them),
    so the body runs once per item."""

    items: tuple[Future, ...]
    limit: int
    ordered: bool
    body: Future | None
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class NotifyOne:
    res: ResRef
    all: bool  # notify_waiters
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Enable:
    """`n.enable()` on a `let n = notify.notified();`: registers it without polling."""

    local: Local
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class PollOnce:
    """`poll!(&mut f)` / `poll!(f)`: poll f once (it then stays dormant)."""

    future: Future
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Abort:
    """`h.abort();` on a JoinHandle, `set.abort_all();` on a JoinSet: cancel the task(s)."""

    local: Local
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class NewInterval:
    local: Local
    ms: IntRef
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Join:
    futures: tuple[Future, ...]
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Drop:
    local: Local
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class TrySend:
    """`ch.try_send();`, or `ch.send();` on an unbounded channel (`unbounded_send`)."""

    res: ResRef
    span: Span | None = field(default=None, compare=False)
    unbounded_send: bool = False
    message: int = 0


@dataclass(frozen=True, slots=True)
class OneshotSend:
    res: ResRef
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class OneshotNew:
    """`let (tx, rx) = oneshot::channel();`: `receiver` (a Ty.ONESHOT local) names a fresh oneshot
    of this site, task copy and call site; a send carrying the Sender names the receiver local
    (replies.py). `sender` is the Sender's own name, for emit-rust."""

    receiver: Local
    span: Span | None = field(default=None, compare=False)
    sender: Local | None = None


@dataclass(frozen=True, slots=True)
class ReplySend:
    """`reply.send(())` on a Sender received in a message: `reply` holds the oneshot's number in
    the table of the variant whose values start at `first`; `message` is the received value the
    Sender was moved out of (cleared: the Sender is gone once used)."""

    reply: Local
    message: Local
    first: int
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ReplyDrop:
    """The end of a match arm that bound a received Sender: a Sender not used is dropped here, so
    the requester's receive returns Err at once."""

    message: Local
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class PermitSend:
    local: Local
    span: Span | None = field(default=None, compare=False)
    message: int = 0


@dataclass(frozen=True, slots=True)
class Spawn:
    future: CallFn | AsyncBlock
    handle: Local | None
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Loop:
    body: Block
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class For:
    counter: Local
    lo: int
    hi: int
    body: Block
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class While:
    cond: Cond
    body: Block
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class WhileRecv:
    """`while let Some(_) = rx.recv().await { body }`: ends when the channel is closed and empty."""

    future: Future
    body: Block
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class If:
    cond: Cond
    then: Block
    otherwise: Block
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class SetInt:
    """`let mut i = e;` or `i = e;` (`i += k` is `i = i + k`) on an integer local."""

    local: Local
    value: IntExpr
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Break:
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Continue:
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Return:
    """`return;`: leave the enclosing async fn, async block or task body. `return g;` (only as
    the last statement of an fn declared `-> MutexGuard`, returns.py): `g` moves to the caller."""

    span: Span | None = field(default=None, compare=False)
    value: Local | None = None


@dataclass(frozen=True, slots=True)
class Block:
    """Statements, and the locals declared directly in this block (dropped at its end, in reverse)."""

    stmts: tuple[Stmt, ...]
    locals: tuple[Local, ...]
    span: Span | None = field(default=None, compare=False)


Stmt = (
    LetFuture | AwaitStmt | Select | Join | Drop | TrySend | OneshotSend | PermitSend | Spawn
    | Loop | For | While | WhileRecv | If | SetInt | Break | Continue | Return | Block
    | NewSet | Push | SetSpawn | ForEach | NotifyOne | Enable | PollOnce | NewInterval | TryReserve | Abort
    | TryAcquire | OneshotNew | ReplySend | ReplyDrop
)


@dataclass(frozen=True, slots=True)
class Returns:
    """`-> MutexGuard`: the guard (or permit) an async fn hands to its caller (returns.py)."""

    type_name: str  # the model's spelling: MutexGuard, SemaphorePermit, RwLockReadGuard, ...
    ty: Ty  # GUARD, or PERMIT for an mpsc Permit
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class FnDef:
    name: str
    params: tuple[tuple[str, Ty], ...]
    body: Block
    span: Span | None = field(default=None, compare=False)
    returns: Returns | None = None


@dataclass(frozen=True, slots=True)
class TaskDef:
    name: str
    copies: int
    body: Block
    span: Span | None = field(default=None, compare=False)


class Verdict(Enum):
    SAFE = "safe"
    FUTURELOCK = "futurelock"
    DEADLOCK = "deadlock"


RUNTIMES = ("current-thread", "multi-thread")
"""tokio's runtimes (compiler.Runtime; docs/language.md, Runtimes)."""


@dataclass(frozen=True, slots=True)
class Expectation:
    """The verdicts the model's `// expect:` headers state (None: no such header), and where
    those headers are, for reports that point at them. `// expect:` (or `// expect-untimed:`) is
    the untimed verdict on the model's runtime, `// expect-exact:` the exact-time one (always on
    the current-thread runtime), `// expect-current-thread:` / `// expect-multi-thread:` the
    untimed verdict on that runtime where it differs from `// expect:`."""

    untimed: Verdict | None
    exact: Verdict | None
    untimed_span: Span | None = field(default=None, compare=False)
    exact_span: Span | None = field(default=None, compare=False)
    on_runtime: tuple[tuple[str, Verdict, Span | None], ...] = ()

    def verdict(self, exact_time: bool, runtime: str | None = None) -> tuple[Verdict | None, Span | None]:
        """The verdict expected in a time mode on `runtime` and the header that says so. Exact time
        runs on the current-thread runtime, so without `// expect-exact:` it expects what
        `// expect-current-thread:` states, else `// expect:`."""
        if exact_time:
            if self.exact is not None:
                return self.exact, self.exact_span
            runtime = "current-thread"
        for rt, v, at in self.on_runtime:
            if rt == runtime:
                return v, at
        return self.untimed, self.untimed_span


NUMBER_VALUES = 8
"""The numbers a variant's field holds (`SetWantedCount(u64)`: 0..7): each is a value of its own."""


REPLY_VALUES = 8
"""The oneshots (creation sites, per task copy and call site) whose Sender one variant can carry:
a message holding one is the variant's value plus the oneshot's number (replies.py)."""


@dataclass(frozen=True, slots=True)
class EnumType:
    """`enum Request { Claim, SetWantedCount(u64) }`: each variant has a message value from
    `first` on, in order; a variant with a number field has NUMBER_VALUES of them (its number n is
    value(variant) + n). Values are numbered across the model from 1 (0 is a message without a
    value)."""

    name: str
    variants: tuple[str, ...]
    first: int
    span: Span | None = field(default=None, compare=False)
    numbered: tuple[bool, ...] = ()  # per variant: it has a number field
    replies: tuple[bool, ...] = ()  # per variant: it carries a oneshot Sender (replies.py)

    def width(self, i: int) -> int:
        if self.replies and self.replies[i]:
            return REPLY_VALUES
        return NUMBER_VALUES if self.numbered and self.numbered[i] else 1

    def replies_at(self, value: int) -> bool:
        """The variant whose values start at `value` carries a oneshot Sender."""
        return any(self.has_reply(v) and self.value(v) == value for v in self.variants)

    def has_reply(self, variant: str) -> bool:
        return bool(self.replies) and self.replies[self.variants.index(variant)]

    @property
    def size(self) -> int:
        return sum(self.width(i) for i in range(len(self.variants)))

    def has_number(self, variant: str) -> bool:
        return self.width(self.variants.index(variant)) > 1 and not self.has_reply(variant)

    def value(self, variant: str, number: int = 0) -> int:
        i = self.variants.index(variant)
        return self.first + sum(self.width(j) for j in range(i)) + number

    def variant(self, value: int) -> str:
        at = self.first
        for i, v in enumerate(self.variants):
            if value < at + self.width(i):
                if self.replies and self.replies[i]:
                    return f"{self.name}::{v}(reply #{value - at})"
                return f"{self.name}::{v}({value - at})" if self.width(i) > 1 else f"{self.name}::{v}"
            at += self.width(i)
        raise ValueError(value)


@dataclass(frozen=True, slots=True)
class Program:
    resources: tuple[Resource, ...]
    fns: dict[str, FnDef]
    tasks: tuple[TaskDef, ...]
    expect: Expectation
    runtime: str | None = None  # the `// runtime:` header: the runtime the model's code runs on
    runtime_span: Span | None = field(default=None, compare=False)
    enums: tuple[EnumType, ...] = ()

    @property
    def message_values(self) -> int:
        """The largest message value (a received value ranges over 0..this)."""
        return sum(e.size for e in self.enums)

    def message_name(self, value: int) -> str:
        for e in self.enums:
            if e.first <= value < e.first + e.size:
                return e.variant(value)
        return "a message"
