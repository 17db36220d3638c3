"""Phase 3a: checked program -> slots and control-flow graphs (used by compile.py).

Instantiates every task (N copies, spawned tasks) and inlines every async fn call per call site,
so that each future site of each task instance becomes one *slot*; flattens each code slot's body
into a small instruction list whose suspension instructions (await, select!, join!) become its
program-counter values. Allocates no state variables and builds no expressions.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from dataclasses import dataclass, field

from mcheck import program as p
from mcheck import replies
from mcheck.errors import ModelError
from mcheck.model import LEAF_KINDS, NT_DONE, SlotKind
from mcheck.source import Source, Span

MAX_SLOTS = 400
MAX_INT_VALUES = 65_536
"""Values an integer variable's range may span (each is a state the variable can be in)."""
SET_SITE_COPIES = 2
"""Futures one `set.push(...)` inside a loop may have in its set at once; one more is a bound."""


def leaf_done(kind: SlotKind) -> int:
    """The state of a borrowed timer, receive, yield, notified or JoinHandle future that has completed."""
    return NT_DONE if kind is SlotKind.NOTIFIED else 3 if kind is SlotKind.YIELD else 2


# ---- control-flow graph of one code slot -------------------------------------------------------


@dataclass(eq=False)
class ICreate:
    slot: Slot


@dataclass(eq=False)
class IAwait:
    slot: Slot
    owned: bool  # the awaited future is consumed (reset) when it completes
    bind: bool  # an acquire's guard/permit is kept (by a `let` name)
    on_none: int = -1  # while-let: where to go when the receive yields None
    span: Span | None = None


@dataclass(eq=False)
class ISelect:
    arms: list[tuple[Slot, bool, int]]  # (future, owned, handler ip)
    biased: bool
    span: Span | None = None
    # Per arm, the 0/1 variable saying it is enabled (None: always): set by the instructions
    # before the select! from its `, if cond` (evaluated once, before any branch is polled) and,
    # in futures::select!, from whether a borrowed future has completed (then it is skipped).
    enabled_vars: list[int | None] = field(default_factory=list)
    else_ip: int = -1  # `else`: every arm disabled; -1 without one (then the task panics)
    refutable: list[bool] = field(default_factory=list)  # `Some(_) = ...`: a None disables the arm

    def __post_init__(self) -> None:
        if not self.enabled_vars:
            self.enabled_vars = [None] * len(self.arms)
        if not self.refutable:
            self.refutable = [False] * len(self.arms)


@dataclass(eq=False)
class IJoin:
    children: list[tuple[Slot, bool]]
    span: Span | None = None


@dataclass(eq=False)
class IDrop:
    slot: Slot
    span: Span | None = None
    explicit: bool = False


@dataclass(eq=False)
class IRelease:
    slot: Slot  # an acquire leaf whose guard/permit goes out of scope
    span: Span | None = None
    explicit: bool = False


@dataclass(eq=False)
class ITrySend:
    res: int
    span: Span | None = None
    message: int = 0


@dataclass(eq=False)
class IOneshotSend:
    res: int
    span: Span | None = None


@dataclass(eq=False)
class IOneshotNew:
    """`let (tx, rx) = oneshot::channel();`: oneshot `res` starts again, its Sender held here."""

    res: int
    span: Span | None = None


@dataclass(eq=False)
class IReplySend:
    """`reply.send(())`: the oneshot numbered by `var` in the table of the variant starting at
    `first` gets its value; `message` (the received value the Sender came in) is cleared."""

    var: int
    message: int
    first: int
    span: Span | None = None


@dataclass(eq=False)
class IReplyDrop:
    """The received value in `message` is dropped: a Sender it still carries is gone."""

    message: int
    span: Span | None = None


@dataclass(eq=False)
class IPermitSend:
    slot: Slot
    span: Span | None = None
    message: int = 0


@dataclass(eq=False)
class ISpawn:
    task: TaskInst
    handle: Slot | None
    span: Span | None = None


@dataclass(eq=False)
class ITest:
    """Go to targets[0] when the comparison holds, else targets[1]. `vars` maps integer locals to
    their variables (placeholders until the compiler allocates them); `env` gives u64 parameters.
    A condition is compiled to these and IChoose, short-circuiting as Rust does."""

    cmp: p.Compare
    targets: list[int]
    vars: dict[int, int]
    env: dict[str, int]
    span: Span | None = None


@dataclass(eq=False)
class IChoose:
    """`choose()`: go to either target (data the model abstracts)."""

    targets: list[int]
    span: Span | None = None


@dataclass(eq=False)
class IFlagUnfinished:
    """futures::select!: the branch's flag is 1 while its borrowed future has not completed."""

    var: int
    slot: Slot


@dataclass(eq=False)
class ISetInt:
    var: int
    value: p.IntExpr
    vars: dict[int, int]
    env: dict[str, int]
    span: Span | None = None


@dataclass(eq=False)
class IJump:
    target: int
    span: Span | None = None  # the loop, for a backward jump


@dataclass(eq=False)
class ICounterSet:
    var: int
    value: int


@dataclass(eq=False)
class ICounterTest:
    var: int
    hi: int
    exit: int


@dataclass(eq=False)
class ICounterInc:
    var: int


@dataclass(eq=False)
class IHeldTest:
    """Go to targets[0] when the try_* acquire `slot` holds its guard, else targets[1] (`g.is_ok()`)."""

    slot: Slot
    targets: list[int]
    span: Span | None = None


@dataclass(eq=False)
class IReturn:
    pass


@dataclass(eq=False)
class IPush:
    """`set.push(f)`: create the first free instance of this push site (all busy: a bound)."""

    set: Slot
    instances: list[Slot]
    span: Span | None = None


@dataclass(eq=False)
class IAbort:
    """Cancel the task of a JoinHandle, or every task still in a JoinSet."""

    slot: Slot
    span: Span | None = None


@dataclass(eq=False)
class ITryAcquire:
    """`try_reserve()`: take a permit now if one is free and nobody is queued, else nothing."""

    slot: Slot
    span: Span | None = None


@dataclass(eq=False)
class IPollOnce:
    slot: Slot
    owned: bool
    span: Span | None = None


@dataclass(eq=False)
class INotify:
    res: int
    all: bool
    span: Span | None = None


@dataclass(eq=False)
class IEnable:
    slot: Slot
    span: Span | None = None


@dataclass(eq=False)
class IOnceTest:
    """Jump to `target` when OnceCell `res` holds a value."""

    res: int
    target: int


@dataclass(eq=False)
class IOnceSet:
    res: int
    span: Span | None = None
    permit: Slot | None = None  # the initializer's acquire: its permit is forgotten, not released


Instr = (
    ICreate | IAwait | ISelect | IJoin | IDrop | IRelease | ITrySend | IOneshotSend | IPermitSend | ISpawn
    | IOneshotNew | IReplySend | IReplyDrop
    | ITest | IChoose | IFlagUnfinished | ISetInt | IJump | ICounterSet | ICounterTest | ICounterInc | IReturn
    | IHeldTest
    | IPush | ITryAcquire | IPollOnce | INotify | IEnable | IOnceTest | IOnceSet | IAbort
)
SUSPENDS = (IAwait, ISelect, IJoin)


@dataclass(eq=False)
class Slot:
    index: int
    kind: SlotKind
    task: TaskInst
    parent: Slot | None
    label: str
    span: Span | None
    is_var: bool = False
    # code slots
    borrows: bool = False  # `async { f.await }` around a let-bound f it borrows (`join!(&mut f, ..)`)
    code: list[Instr] = field(default_factory=list)
    pc_of_ip: dict[int, int] = field(default_factory=dict)  # suspension ip -> pc value
    ip_of_pc: dict[int, int] = field(default_factory=dict)
    # leaves
    res: int = -1
    count: int = 0
    purpose: p.Purpose | None = None
    ms: int = 0
    target: TaskInst | None = None
    ordered: bool = False  # a FuturesOrdered / buffered set: members complete in push order
    limit: int = 0  # a buffered stream: each next() first starts members while fewer than this run
    fill_var: int | None = None  # ... and this variable counts the members started so far
    first_var: int | None = None  # interval ticks: the interval's "first tick taken" flag
    bind_var: int | None = None  # a receive's `Some(v)`: v's variable, which takes the message's value
    message: int = 0  # a send's message value
    reply_res: int = -1  # a send whose message carries the Sender of this oneshot (replies.py)
    # state variables
    state_var: int = -1
    pos_var: int = -1
    got_var: int = -1
    rem_var: int = -1
    children: list[Slot] = field(default_factory=list)
    # NOTE(returned-guard): an fn declared `-> MutexGuard` keeps its acquire held when it completes
    # and its caller's `let g` names that acquire (`returns`, on the call's code slot); the acquire
    # stays inside the callee's subtree, so dropping the callee before it completes releases it as
    # before, and after it completes the caller's drop of `g` releases it. `holders` are the code
    # slots that own the held guard in turn (the callee, then each caller it was returned to): the
    # first of them still running is the one a waiter waits for (semaphore.py).
    returns: Slot | None = None
    holders: list[Slot] = field(default_factory=list)
    counters: list[tuple[int, int, int]] = field(default_factory=list)  # (placeholder, lo, hi): loop counters, ints
    # derived: pcs of the parent at which this slot is polled
    polled_at: set[int] = field(default_factory=set)
    # for var futures: parent pcs from which a later use is reachable
    used_later_at: set[int] = field(default_factory=set)


@dataclass(eq=False)
class TaskInst:
    index: int
    name: str
    span: Span | None
    spawner: TaskInst | None
    root: Slot | None = None
    initial: bool = True


def _constants(x: p.IntExpr | p.Cond, env: dict[str, int], out: list[int], steps: list[int]) -> None:
    """The numbers x uses (into out) and those added or subtracted (into steps)."""
    match x:
        case p.IntConst(value=v):
            out.append(v)
        case p.ParamRef(name=name):
            out.append(env[name])
        case p.IntArith(left=a, right=b):
            n = len(out)
            _constants(a, env, out, steps)
            _constants(b, env, out, steps)
            steps.extend(out[n:])
        case p.Compare(left=a, right=b) | p.AndCond(left=a, right=b) | p.OrCond(left=a, right=b):
            _constants(a, env, out, steps)
            _constants(b, env, out, steps)
        case p.NotCond(value=c):
            _constants(c, env, out, steps)


# ---- instantiation: slots and CFGs -------------------------------------------------------------


Env = dict[str, int]  # parameter name -> resource index or integer value


class Instantiator:
    def __init__(self, prog: p.Program, source: Source) -> None:
        self.prog = prog
        self.source = source
        self.slots: list[Slot] = []
        self.tasks: list[TaskInst] = []
        self.res_by_index = {r.index: r for r in prog.resources}
        self.placeholders = 0
        # Oneshots made by `let (tx, rx) = oneshot::channel();`, one per site per task copy and
        # call site (replies.py): their resources, the creating task, the channel their Sender is
        # sent on, and per Sender-carrying variant (by its first value) the oneshots it carries.
        self.made_oneshots: list[p.Resource] = []
        self.oneshot_task: dict[int, TaskInst] = {}
        self.reply_channel: dict[int, int] = {}
        self.reply_table: dict[int, list[int]] = {}
        # Bodies still to flatten, in the order their slots were made: a call chain is flattened
        # link by link from this queue, never by recursion (chains may be a thousand calls deep).
        self.pending: deque[tuple[_CfgBuilder, p.Block]] = deque()

    def placeholder(self) -> int:
        """A stand-in for an integer variable of a code slot, unique in the model (negative);
        compile.py allocates the variable and maps every use."""
        self.placeholders += 1
        return -self.placeholders

    def new_slot(self, kind: SlotKind, task: TaskInst, parent: Slot | None, label: str, span: Span | None) -> Slot:
        if len(self.slots) >= MAX_SLOTS:
            raise ModelError.at(span, f"the model expands to more than {MAX_SLOTS} futures after inlining; "
                                "make it smaller")
        s = Slot(len(self.slots), kind, task, parent, label, span)
        self.slots.append(s)
        if parent is not None:
            parent.children.append(s)
        return s

    def res(self, ref: p.ResRef, env: Env) -> int:
        return ref.index if isinstance(ref, p.GlobalRes) else env[ref.name]

    def int_(self, ref: p.IntRef, env: Env) -> int:
        return ref.value if isinstance(ref, p.IntConst) else env[ref.name]

    def task(self, name: str, body: p.Block, env: Env, span: Span | None, spawner: TaskInst | None) -> TaskInst:
        t = TaskInst(len(self.tasks), name, span, spawner, initial=spawner is None)
        self.tasks.append(t)
        root = self.new_slot(SlotKind.ROOT, t, None, name, span)
        t.root = root
        self.pending.append((_CfgBuilder(self, root, env), body))
        return t

    def run(self) -> None:
        for td in self.prog.tasks:
            for i in range(td.copies):
                name = td.name if td.copies == 1 else f"{td.name}[{i}]"
                self.task(name, td.body, {}, td.span, None)
                self.flatten_pending()
        self.size_rwlocks()

    def flatten_pending(self) -> None:
        while self.pending:
            builder, body = self.pending.popleft()
            builder.build(body)

    def size_rwlocks(self) -> None:
        """tokio's RwLock is a semaphore of MAX_READS permits: `read` takes one, `write` all. Every
        read site of the model holding a permit at once needs no more than one permit per site."""
        resources = []
        for r in self.prog.resources:
            if r.kind is p.ResKind.RWLOCK:
                sites = [s for s in self.slots if s.kind is SlotKind.ACQUIRE and s.res == r.index]
                r = dataclasses.replace(r, permits=max(1, sum(1 for s in sites if s.purpose is not p.Purpose.WRITE)))
                for s in sites:
                    if s.purpose is p.Purpose.WRITE:
                        s.count = r.permits
                self.res_by_index[r.index] = r
            resources.append(r)
        resources.extend(self.made_oneshots)
        self.prog = dataclasses.replace(self.prog, resources=tuple(resources))

    def new_oneshot(self, local: p.Local, task: TaskInst, span: Span | None) -> int:
        """A oneshot for one run of a `let (tx, rx) = oneshot::channel();` site in this task copy
        and call site, numbered after the declared resources."""
        index = len(self.prog.resources) + len(self.made_oneshots)
        names = {r.name for r in (*self.prog.resources, *self.made_oneshots)}
        name = f"{task.name}.{local.name}"
        k = 2
        while name in names:
            name, k = f"{task.name}.{local.name}#{k}", k + 1
        r = p.Resource(index, name, p.ResKind.ONESHOT, 0, False, span)
        self.made_oneshots.append(r)
        self.res_by_index[index] = r
        self.oneshot_task[index] = task
        return index

    def carried_reply(self, oneshot: int, first: int, channel: int, span: Span | None) -> int:
        """The number of `oneshot` among the Senders the variant starting at `first` carries."""
        table = self.reply_table.setdefault(first, [])
        if oneshot not in table:
            if len(table) >= p.REPLY_VALUES:
                raise ModelError.at(span, f"more than {p.REPLY_VALUES} oneshots (per site, task copy and call site) "
                                    f"send their Sender in '{self.prog.message_name(first).split('(')[0]}' messages; "
                                    "mcheck keeps message values small: use fewer task copies or call sites")
            table.append(oneshot)
        if self.reply_channel.setdefault(oneshot, channel) != channel:
            raise ModelError.at(span, "this oneshot's Sender is sent on two channels; mcheck follows one")
        return table.index(oneshot)


@dataclass
class _LoopCtx:
    scope_depth: int
    counter: tuple[int, int] | None = None  # a `for` loop's counter variable and its value outside the loop
    break_fixups: list[int] = field(default_factory=list)
    continue_fixups: list[int] = field(default_factory=list)


class _CfgBuilder:
    """Flattens one code slot's body into its instruction list, creating child slots."""

    def __init__(self, inst: Instantiator, slot: Slot, env: Env) -> None:
        self.inst = inst
        self.slot = slot
        self.env = env
        self.code = slot.code
        self.locals: dict[int, Slot] = {}  # local index -> the slot it names
        self.scopes: list[list[p.Local]] = []
        self.loops: list[_LoopCtx] = []
        self.ints: dict[int, int] = {}  # integer local / loop counter index -> variable placeholder
        self.intervals: dict[int, tuple[int, int]] = {}  # interval local -> (first-tick placeholder, period)
        self.int_vars: dict[int, tuple[str, Span | None]] = {}  # integer variable placeholder -> its name, its `let`
        self.returned: Slot | None = None  # the acquire `return g;` hands to the caller (NOTE(returned-guard))
        self.moved_out: set[int] = set()  # ... and g's local, which the body's end no longer releases

    def emit(self, ins: Instr) -> int:
        self.code.append(ins)
        return len(self.code) - 1

    def build(self, body: p.Block) -> None:
        self.block(body)
        self.emit(IReturn())
        self.int_ranges()

    def int_ranges(self) -> None:
        """Give each integer variable a range: every number its body uses with integers, and 0,
        widened by the largest step added or subtracted. Leaving it makes the run inconclusive."""
        consts: list[int] = [0]
        steps: list[int] = [1]
        for ins in self.code:
            if isinstance(ins, ISetInt | ITest):
                _constants(ins.value if isinstance(ins, ISetInt) else ins.cmp, ins.env, consts, steps)
        step = max(abs(x) for x in steps)
        lo = 0 if min(consts) >= 0 else min(consts) - step
        hi = max(consts) + step
        if self.int_vars and hi - lo + 1 > MAX_INT_VALUES:  # checked before any state has this range
            name, span = next(iter(self.int_vars.values()))
            raise ModelError.at(span, f"the integer variable '{name}' would range over {lo}..{hi} ({hi - lo + 1:,} "
                                f"values: the numbers its body uses, widened by its largest step); mcheck takes at "
                                f"most {MAX_INT_VALUES:,} values")
        self.slot.counters = [(ph, lo, hi) if (a, b) == (0, 0) else (ph, a, b) for ph, a, b in self.slot.counters]

    # -- futures --

    def future(self, f: p.Future, owner: Slot) -> tuple[Slot, bool]:
        """The slot a future expression denotes, and whether it is owned by the expression."""
        inst = self.inst
        task = self.slot.task
        match f:
            case p.UseVar(local=local, borrowed=borrowed):
                return self.locals[local.index], not borrowed
            case p.Acquire(res=ref, count=cnt, purpose=purpose, text=text, span=span):
                s = inst.new_slot(SlotKind.ACQUIRE, task, owner, text, span)
                s.res = inst.res(ref, self.env)
                r = inst.res_by_index[s.res]
                s.count = inst.int_(cnt, self.env)
                s.purpose = purpose
                s.message = f.message
                if f.reply is not None:  # `ch.send(Request::Claim(tx))`: the value names the oneshot
                    s.reply_res = self.env[replies.key(f.reply)]
                    s.message += inst.carried_reply(s.reply_res, f.message, s.res, span)
                if r.kind is p.ResKind.CHANNEL and not r.bounded:
                    raise ModelError.at(span, f"'{text}' is on '{r.name}', an unbounded channel, which never waits: "
                                        "write the send without '.await'", (r.span, f"'{r.name}' declared here"))
                if s.count > r.permits and r.kind is not p.ResKind.RWLOCK:
                    raise ModelError.at(span, f"'{text}' asks for {s.count} permits, but '{r.name}' has only "
                                        f"{r.permits}: it can never complete", (r.span, f"'{r.name}' declared here"))
                return s, True
            case p.Sleep(ms=ms, text=text, span=span):
                s = inst.new_slot(SlotKind.SLEEP, task, owner, text, span)
                s.ms = inst.int_(ms, self.env)
                return s, True
            case p.Recv(res=ref, text=text, span=span, bind=bind):
                s = inst.new_slot(SlotKind.RECV, task, owner, text, span)
                s.res = inst.res(ref, self.env)
                if bind is not None:  # the received value: a variable of this body (messages.py)
                    s.bind_var = self.ints.setdefault(bind.index, self.inst.placeholder())
                    self.slot.counters.append((s.bind_var, 0, max(1, inst.prog.message_values)))
                return s, True
            case p.YieldNow(text=text, span=span):
                return inst.new_slot(SlotKind.YIELD, task, owner, text, span), True
            case p.Pending(text=text, span=span):
                return inst.new_slot(SlotKind.PENDING, task, owner, text, span), True
            case p.CallFn(fn=fn, args=args, text=text, span=span):
                s = inst.new_slot(SlotKind.CODE, task, owner, text, span)
                fdef = inst.prog.fns[fn]
                env: Env = {}
                for (pname, _ty), a in zip(fdef.params, args, strict=True):
                    env[pname] = a.value if isinstance(a, p.IntConst) else (
                        a.index if isinstance(a, p.GlobalRes) else self.env[a.name])
                if fdef.returns is None:
                    inst.pending.append((_CfgBuilder(inst, s, env), fdef.body))
                    return s, True
                # Built now: the caller's `let g` needs the acquire the body returns.
                callee = _CfgBuilder(inst, s, env)
                callee.build(fdef.body)
                assert callee.returned is not None  # resolve.py: every such body ends returning it
                s.returns = callee.returned
                if not s.returns.holders:
                    s.returns.holders.append(s)
                return s, True
            case p.AsyncBlock(body=body, text=text, span=span):
                s = inst.new_slot(SlotKind.CODE, task, owner, text, span)
                inst.pending.append((_CfgBuilder(inst, s, self.env), body))
                return s, True
            case p.WithParam(future=inner, name=name, value=value):
                saved = self.env
                self.env = {**saved, name: value}
                try:
                    return self.future(inner, owner)
                finally:
                    self.env = saved
            case p.Race(arms=arms, text=text, span=span):
                # Not awaited directly (see AwaitStmt): `async { select! { biased; a => {}, b => {} } }`.
                w = inst.new_slot(SlotKind.CODE, task, owner, text, span)
                sub = _CfgBuilder(inst, w, self.env)
                sub.intervals = self.intervals
                futs = []
                for arm in arms:
                    if isinstance(arm, p.UseVar):
                        raise ModelError.at(arm.span, f"'{text}' borrows '{arm.local.name}': mcheck supports that "
                                            f"only when it is awaited at once (`{text}.await;`)")
                    futs.append(sub.future(arm, w))
                sub.emit(ISelect([(x, o, 1) for x, o in futs], True, span))
                sub.emit(IReturn())
                return w, True
            case p.SetNext(local=local):
                return self.locals[local.index], False
            case p.Notified(res=ref, text=text, span=span):
                s = inst.new_slot(SlotKind.NOTIFIED, task, owner, text, span)
                s.res = inst.res(ref, self.env)
                return s, True
            case p.Tick(local=local, text=text, span=span):
                ph, period = self.intervals[local.index]
                s = inst.new_slot(SlotKind.SLEEP, task, owner, text, span)
                s.ms = period
                s.first_var = ph
                return s, True
            case p.GetOrInit(res=ref, init=init, text=text, span=span):
                # async { if unset { let _g = sem.acquire().await; if unset { init.await; set } } }
                # (setting forgets the permit and closes the semaphore: once_cell.py)
                w = inst.new_slot(SlotKind.CODE, task, owner, text, span)
                cell = inst.res(ref, self.env)
                acq = inst.new_slot(SlotKind.ACQUIRE, task, w, f"{inst.res_by_index[cell].name} (initializing)", span)
                acq.res, acq.count, acq.purpose = cell, 1, p.Purpose.LOCK
                sub = _CfgBuilder(inst, w, self.env)
                init_slot, init_owned = sub.future(init, w)
                sub.code.extend([IOnceTest(cell, 6), IAwait(acq, True, True, span=span), IOnceTest(cell, 5),
                                 IAwait(init_slot, init_owned, False, span=init_slot.span), IOnceSet(cell, span, acq),
                                 IRelease(acq), IReturn()])
                return w, True
        raise AssertionError(f)

    def wrap_leaf(self, s: Slot, owned: bool) -> Slot:
        """join! children and set members are code slots: a leaf becomes `async { leaf.await }`."""
        if s.kind not in LEAF_KINDS:
            return s
        parent = s.parent
        assert parent is not None
        w = self.inst.new_slot(SlotKind.CODE, self.slot.task, parent, s.label, s.span)
        parent.children.remove(s)
        s.parent = w
        w.children.append(s)
        w.code.extend([IAwait(s, owned, False, span=s.span), IReturn()])
        w.borrows = not owned
        return w

    def member(self, f: p.Future, owner: Slot) -> Slot:
        s, owned = self.future(f, owner)
        return self.wrap_leaf(s, owned)

    # -- statements --

    def block(self, b: p.Block) -> None:
        self.scopes.append([])
        for st in b.stmts:
            self.stmt(st)
        self.close_scope(self.scopes.pop())

    def close_scope(self, declared: list[p.Local]) -> None:
        for local in reversed(declared):
            self.drop_local(local, None, explicit=False)

    def drop_local(self, local: p.Local, span: Span | None, explicit: bool) -> None:
        if local.ty is p.Ty.MESSAGE and local.index in self.ints:
            if any(e.replies and any(e.replies) for e in self.inst.prog.enums):  # a Sender in it goes with it
                self.emit(IReplyDrop(self.ints[local.index], span))
            self.emit(ISetInt(self.ints[local.index], p.IntConst(0), {}, {}))
            return
        if local.ty in (p.Ty.INT_VAR, p.Ty.BOOL_VAR):  # back to 0 when out of scope, so states do not differ in dead values
            self.emit(ISetInt(self.ints[local.index], p.IntConst(0), {}, {}))
            return
        s = self.locals.get(local.index)
        if s is None or local.index in self.moved_out:
            return
        if local.ty in (p.Ty.GUARD, p.Ty.PERMIT):
            self.emit(IRelease(s, span, explicit))
        elif local.ty in (p.Ty.FUTURE, p.Ty.HANDLE, p.Ty.SET, p.Ty.ORDERED_SET, p.Ty.JOIN_SET, p.Ty.STREAM):
            self.emit(IDrop(s, span, explicit))
            if s.fill_var is not None:
                self.emit(ICounterSet(s.fill_var, 0))

    def declare(self, local: p.Local, s: Slot) -> None:
        self.locals[local.index] = s
        self.scopes[-1].append(local)

    def exit_scopes_to(self, depth: int) -> None:
        for declared in reversed(self.scopes[depth:]):
            for local in reversed(declared):
                self.drop_local(local, None, explicit=False)

    def stmt(self, st: p.Stmt) -> None:
        match st:
            case p.Block():
                self.block(st)
            case p.LetFuture(local=local, future=fut):
                s, _ = self.future(fut, self.slot)
                s.is_var = True
                s.label = local.name
                self.emit(ICreate(s))
                self.declare(local, s)
            case p.AwaitStmt(future=p.Race(arms=arms), span=span):
                # `timeout(d, f).await`: select! { biased; _ = f => {}, _ = sleep(d) => {} }, in place,
                # so that a borrowed `&mut f` keeps its own place in this body.
                futs = [self.future(a, self.slot) for a in arms]
                at = len(self.code)
                self.emit(ISelect([(x, o, at + 1) for x, o in futs], True, span))
            case p.AwaitStmt(future=fut, bind=bind, span=span):
                s, owned = self.future(fut, self.slot)
                if s.returns is not None:  # NOTE(returned-guard): the callee's acquire is now ours
                    self.emit(IAwait(s, owned, False, span=span))
                    if bind is None:
                        self.emit(IRelease(s.returns, span))  # a temporary: released at the `;`
                    else:
                        s.returns.holders.append(self.slot)
                        self.declare(bind, s.returns)
                    return
                self.emit(IAwait(s, owned, bind is not None, span=span))
                if bind is not None:
                    self.declare(bind, s)
            case p.Select(biased=biased, arms=arms, span=span, otherwise=otherwise, fused=fused):
                futs = [self.future(a.future, self.slot) for a in arms]
                # Every `, if cond` is evaluated once, in order, before any branch is polled; the
                # branch's flag records it. futures::select! also disables a borrowed branch whose
                # future has completed.
                flags: list[int | None] = []
                for a, (arm_slot, owned) in zip(arms, futs, strict=True):
                    fused_arm = fused and not owned
                    if a.precondition is None and not fused_arm and not a.refutable:
                        flags.append(None)
                        continue
                    flag = self.new_flag()
                    flags.append(flag)
                    if a.precondition is None:
                        # a refutable branch starts enabled; a None disables it (machine.arm_refuted)
                        self.emit(IFlagUnfinished(flag, arm_slot) if fused_arm else ICounterSet(flag, 1))
                        continue
                    yes, no = self.condition(a.precondition, a.span)
                    self.patch(yes, len(self.code))
                    self.emit(IFlagUnfinished(flag, arm_slot) if fused_arm else ICounterSet(flag, 1))
                    end = self.emit(IJump(-1))
                    self.patch(no, len(self.code))
                    self.emit(ICounterSet(flag, 0))
                    self.patch([(end, 0)], len(self.code))
                sel = ISelect([(s, owned, -1) for s, owned in futs], biased, span, flags,
                              refutable=[a.refutable for a in arms])
                self.emit(sel)
                ends: list[int] = []
                for i, arm in enumerate(arms):
                    s, owned, _ = sel.arms[i]
                    sel.arms[i] = (s, owned, len(self.code))
                    bind = arm.future.bind if isinstance(arm.future, p.Recv) else None
                    self.scopes.append([bind] if bind is not None else [])  # the received value's scope
                    self.block(arm.body)
                    self.close_scope(self.scopes.pop())
                    ends.append(self.emit(IJump(-1)))
                if otherwise is not None:
                    sel.else_ip = len(self.code)
                    self.block(otherwise)
                    ends.append(self.emit(IJump(-1)))
                for e in ends:
                    jmp = self.code[e]
                    assert isinstance(jmp, IJump)
                    jmp.target = len(self.code)
            case p.Join(futures=futs, span=span):
                children = []
                for f in futs:
                    s, owned = self.future(f, self.slot)
                    children.append((self.wrap_leaf(s, owned), owned))
                self.emit(IJoin(children, span))
            case p.Drop(local=local, span=span):
                self.drop_local(local, span, explicit=True)
            case p.NewSet(local=local, span=span, items=items, limit=limit, ordered=ordered):
                s = self.new_set(local.name, span, items, limit, ordered or local.ty is p.Ty.ORDERED_SET)
                self.declare(local, s)
            case p.TryAcquire(local=local, res=ref, count=cnt, purpose=purpose, text=text, span=span):
                s = self.inst.new_slot(SlotKind.ACQUIRE, self.slot.task, self.slot, text, span)
                s.res, s.count, s.purpose = self.inst.res(ref, self.env), self.inst.int_(cnt, self.env), purpose
                r = self.inst.res_by_index[s.res]
                if s.count > r.permits and r.kind is not p.ResKind.RWLOCK:
                    raise ModelError.at(span, f"'{text}' asks for {s.count} permits, but '{r.name}' has only "
                                        f"{r.permits}: it can never succeed", (r.span, f"'{r.name}' declared here"))
                self.emit(ITryAcquire(s, span))
                self.declare(local, s)
            case p.TryReserve(local=local, res=ref, text=text, span=span):
                s = self.inst.new_slot(SlotKind.ACQUIRE, self.slot.task, self.slot, text, span)
                s.res, s.count, s.purpose = self.inst.res(ref, self.env), 1, p.Purpose.RESERVE
                self.emit(ITryAcquire(s, span))
                self.declare(local, s)
            case p.Push(set=local, future=fut, span=span):
                into = self.locals[local.index]
                copies = SET_SITE_COPIES if self.loops else 1
                self.emit(IPush(into, [self.member(fut, into) for _ in range(copies)], span))
            case p.SetSpawn(set=local, future=fut, span=span):
                into = self.locals[local.index]
                task = self.spawn_task(fut, None, span)
                member = self.inst.new_slot(SlotKind.JOIN, self.slot.task, into, f"{local.name}: {task.name}", span)
                member.target = task
                self.emit(ISpawn(task, member, span))
            case p.ForEach(items=items, limit=limit, ordered=ordered, body=body, span=span):
                self.for_each(items, limit, ordered, body, span)
            case p.NotifyOne(res=ref, all=all_, span=span):
                self.emit(INotify(self.inst.res(ref, self.env), all_, span))
            case p.Abort(local=local, span=span):
                self.emit(IAbort(self.locals[local.index], span))
            case p.Enable(local=local, span=span):
                self.emit(IEnable(self.locals[local.index], span))
            case p.PollOnce(future=fut, span=span):
                s, owned = self.future(fut, self.slot)
                if not s.is_var:
                    self.emit(ICreate(s))
                self.emit(IPollOnce(s, owned, span))
                if owned:
                    self.emit(IDrop(s, span))
            case p.NewInterval(local=local, ms=ms):
                ph = self.new_flag()
                self.intervals[local.index] = (ph, self.inst.int_(ms, self.env))
                self.emit(ICounterSet(ph, 0))
            case p.TrySend(res=ref, span=span, unbounded_send=unbounded_send):
                r = self.inst.res_by_index[self.inst.res(ref, self.env)]
                if unbounded_send and r.bounded:
                    raise ModelError.at(span, f"send() without '.await' needs an unbounded channel, but '{r.name}' "
                                        f"is bounded (capacity {r.permits}): add '.await'", (r.span, f"'{r.name}' declared here"))
                self.emit(ITrySend(r.index, span, st.message))
            case p.OneshotSend(res=ref, span=span):
                self.emit(IOneshotSend(self.inst.res(ref, self.env), span))
            case p.OneshotNew(receiver=rx, span=span):
                made = self.env.get(replies.key(rx))
                if made is None:  # one oneshot per site in this body: a loop runs the site again on it
                    made = self.env[replies.key(rx)] = self.inst.new_oneshot(rx, self.slot.task, span)
                self.emit(IOneshotNew(made, span))
            case p.ReplySend(reply=reply, message=message, first=first, span=span):
                self.emit(IReplySend(self.ints[reply.index], self.ints[message.index], first, span))
            case p.ReplyDrop(message=message, span=span):
                self.emit(IReplyDrop(self.ints[message.index], span))
            case p.PermitSend(local=local, span=span):
                self.emit(IPermitSend(self.locals[local.index], span, st.message))
            case p.Spawn(future=fut, handle=handle, span=span):
                t = self.spawn_task(fut, handle, span)
                h = None
                if handle is not None:
                    h = self.inst.new_slot(SlotKind.JOIN, self.slot.task, self.slot, handle.name, span)
                    h.is_var = True
                    h.target = t
                    self.declare(handle, h)
                self.emit(ISpawn(t, h, span))
            case p.Loop(body=body, span=span):
                top = len(self.code)
                ctx = self.loop_body(body)
                self.emit(IJump(top, span))
                self.fix_loop(ctx, top, len(self.code))
            case p.While(cond=cond, body=body, span=span):
                top = len(self.code)
                yes, no = self.condition(cond, span)
                self.patch(yes, len(self.code))
                ctx = self.loop_body(body)
                self.emit(IJump(top, span))
                self.patch(no, len(self.code))
                self.fix_loop(ctx, top, len(self.code))
            case p.SetInt(local=local, value=value, span=span):
                if local.index not in self.ints:  # `let`: a new integer variable in this scope
                    self.ints[local.index] = self.inst.placeholder()
                    self.slot.counters.append((self.ints[local.index], 0, 0))  # range set in build()
                    self.int_vars[self.ints[local.index]] = (local.name, span)
                    self.scopes[-1].append(local)
                self.emit(ISetInt(self.ints[local.index], value, self.reads(value), self.env, span))
            case p.WhileRecv(future=fut, body=body, span=span):
                s, owned = self.future(fut, self.slot)
                top = self.emit(IAwait(s, owned, False, on_none=-1, span=span))
                ctx = self.loop_body(body)
                self.emit(IJump(top))
                aw = self.code[top]
                assert isinstance(aw, IAwait)
                aw.on_none = len(self.code)
                self.fix_loop(ctx, top, len(self.code))
                if isinstance(fut, p.Recv) and fut.bind is not None:  # the received value's scope ends
                    self.drop_local(fut.bind, None, explicit=False)
            case p.For(counter=counter, lo=lo, hi=hi, body=body, span=span):
                var = self.inst.placeholder()  # compile() assigns the variable
                self.slot.counters.append((var, lo, hi))
                self.ints[counter.index] = var
                self.emit(ICounterSet(var, lo))
                top = self.emit(ICounterTest(var, hi, -1))
                ctx = self.loop_body(body, (var, lo))
                inc = self.emit(ICounterInc(var))
                self.emit(IJump(top, span))
                test = self.code[top]
                assert isinstance(test, ICounterTest)
                test.exit = len(self.code)
                self.emit(ICounterSet(var, lo))  # canonical value outside the loop
                self.fix_loop(ctx, inc, test.exit)
            case p.If(cond=cond, then=then, otherwise=otherwise, span=span):
                yes, no = self.condition(cond, span)
                self.patch(yes, len(self.code))
                self.block(then)
                j = self.emit(IJump(-1))
                self.patch(no, len(self.code))
                self.block(otherwise)
                end = len(self.code)
                jmp2 = self.code[j]
                assert isinstance(jmp2, IJump)
                jmp2.target = end
            case p.Break():
                ctx = self.loops[-1]
                self.exit_scopes_to(ctx.scope_depth)
                ctx.break_fixups.append(self.emit(IJump(-1)))
            case p.Continue():
                ctx = self.loops[-1]
                self.exit_scopes_to(ctx.scope_depth)
                ctx.continue_fixups.append(self.emit(IJump(-1)))
            case p.Return(value=value):
                if value is not None:  # NOTE(returned-guard): g leaves with the fn's result
                    self.returned = self.locals[value.index]
                    self.moved_out.add(value.index)
                # Leave every scope and loop of this body, as the end of the body does: the locals
                # are dropped and each `for` counter is back at its canonical value.
                self.exit_scopes_to(0)
                for ctx in reversed(self.loops):
                    if ctx.counter is not None:
                        self.emit(ICounterSet(*ctx.counter))
                self.emit(IReturn())
            case _:
                raise AssertionError(st)

    def spawn_task(self, fut: p.CallFn | p.AsyncBlock, handle: p.Local | None, span: Span | None) -> TaskInst:
        parent_task = self.slot.task
        if isinstance(fut, p.CallFn):
            fdef = self.inst.prog.fns[fut.fn]
            env: Env = {}
            for (pname, _ty), a in zip(fdef.params, fut.args, strict=True):
                env[pname] = a.value if isinstance(a, p.IntConst) else (
                    a.index if isinstance(a, p.GlobalRes) else self.env[a.name])
            name = handle.name if handle is not None else f"spawn {fut.text}"
            return self.inst.task(name, fdef.body, env, span, parent_task)
        name = handle.name if handle is not None else f"spawn@{span.line if span else '?'}"
        return self.inst.task(name, fut.body, self.env, span, parent_task)

    def new_flag(self) -> int:
        """A 0/1 variable of this slot (a placeholder until compile.py allocates it)."""
        ph = self.inst.placeholder()
        self.slot.counters.append((ph, 0, 1))
        return ph

    def new_set(self, name: str, span: Span | None, items: tuple[p.Future, ...], limit: int, ordered: bool) -> Slot:
        """A set (or a buffered stream's set of in-flight items), created empty."""
        st = self.inst.new_slot(SlotKind.SET, self.slot.task, self.slot, name, span)
        st.is_var = True  # its owner comes back to it after every item it yields
        st.ordered = ordered
        self.emit(ICreate(st))
        if items:
            for item in items:
                self.member(item, st)
            st.limit = limit
            st.fill_var = self.inst.placeholder()
            self.slot.counters.append((st.fill_var, 0, len(items)))
            self.emit(ICounterSet(st.fill_var, 0))
        return st

    def for_each(self, items: tuple[p.Future, ...], limit: int, ordered: bool, body: p.Future | None,
                 span: Span | None) -> None:
        """`stream::iter(items)[.buffered(limit)].for_each(|_| body).await`."""
        if limit == 0:  # unbuffered: the body gets each item future and drops it unpolled
            for _item in items:
                if body is not None:
                    b, bowned = self.future(body, self.slot)
                    self.emit(IAwait(b, bowned, False, span=b.span))
            return
        st = self.new_set(f"{'buffered' if ordered else 'buffer_unordered'}({limit})", span, items, limit, ordered)
        pull = self.emit(IAwait(st, False, False, on_none=-1, span=span))
        if body is not None:
            b, bowned = self.future(body, self.slot)
            self.emit(IAwait(b, bowned, False, span=b.span))
        self.emit(IJump(pull, span))
        aw = self.code[pull]
        assert isinstance(aw, IAwait)
        aw.on_none = len(self.code)
        self.emit(IDrop(st))
        assert st.fill_var is not None
        self.emit(ICounterSet(st.fill_var, 0))

    def condition(self, cond: p.Cond, span: Span | None) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Emit cond as jumping code, short-circuit like Rust's && and ||: the (instruction, target
        slot) places to patch where it holds, and where it does not. Iterative: a condition may
        chain thousands of operators."""
        yes: list[tuple[int, int]] = []
        no: list[tuple[int, int]] = []
        # Work items: (condition, where "true" goes, where "false" goes); a destination is either a
        # list to collect patch places into (the final outcome) or a list to patch once the
        # instruction it names is emitted.
        work: list[tuple[p.Cond, list[tuple[int, int]], list[tuple[int, int]], list[tuple[int, int]]]] = [
            (cond, yes, no, [])]
        while work:
            c, t_dest, f_dest, here = work.pop()
            self.patch(here, len(self.code))
            match c:
                case p.Choose(span=cspan):
                    at = self.emit(IChoose([-1, -1], cspan or span))
                    t_dest.append((at, 0))
                    f_dest.append((at, 1))
                case p.Compare():
                    at = self.emit(ITest(c, [-1, -1], self.reads(c), self.env, span))
                    t_dest.append((at, 0))
                    f_dest.append((at, 1))
                case p.Holds(local=local):
                    at = self.emit(IHeldTest(self.locals[local.index], [-1, -1], span))
                    t_dest.append((at, 0))
                    f_dest.append((at, 1))
                case p.NotCond(value=v):
                    work.append((v, f_dest, t_dest, []))
                case p.AndCond(left=x, right=y):
                    # x first; where x holds, go on to y (emitted next, so its fixups land there).
                    mid: list[tuple[int, int]] = []
                    work.append((y, t_dest, f_dest, mid))
                    work.append((x, mid, f_dest, []))
                case p.OrCond(left=x, right=y):
                    mid = []
                    work.append((y, t_dest, f_dest, mid))
                    work.append((x, t_dest, mid, []))
        return yes, no

    def patch(self, places: list[tuple[int, int]], target: int) -> None:
        for at, k in places:
            ins = self.code[at]
            if isinstance(ins, ITest | IChoose | IHeldTest):
                ins.targets[k] = target
            else:
                assert isinstance(ins, IJump)
                ins.target = target

    def reads(self, x: p.IntExpr | p.Cond) -> dict[int, int]:
        """The integer locals x reads, with their variable placeholders."""
        match x:
            case p.ReadInt(local=local):
                return {local.index: self.ints[local.index]}
            case p.IntArith(left=a, right=b) | p.Compare(left=a, right=b) | p.AndCond(left=a, right=b) | p.OrCond(
                left=a, right=b
            ):
                return self.reads(a) | self.reads(b)
            case p.NotCond(value=c):
                return self.reads(c)
        return {}

    def loop_body(self, body: p.Block, counter: tuple[int, int] | None = None) -> _LoopCtx:
        ctx = _LoopCtx(len(self.scopes), counter)
        self.loops.append(ctx)
        self.block(body)
        self.loops.pop()
        return ctx

    def fix_loop(self, ctx: _LoopCtx, continue_ip: int, break_ip: int) -> None:
        for fixups, target in ((ctx.break_fixups, break_ip), (ctx.continue_fixups, continue_ip)):
            for ip in fixups:
                jmp = self.code[ip]
                assert isinstance(jmp, IJump)
                jmp.target = target
