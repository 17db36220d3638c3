"""Phase 3b: slots and control-flow graphs (instantiate.py) -> one transition system (mcheck.ir)
plus its symbol table (mcheck.model).

Gives every slot its state variables, then computes by symbolic execution each transition: one
poll of one task, from the event that woke it (a permit handed over, a timer firing, a message
arriving, the task starting) through everything its code runs up to its next suspension, as a
guard and parallel updates over the pre-state. Also builds the wait-for graph of SEMANTICS.md
section 6 over the same variables.

NOTE(semantics): the rules here are SEMANTICS.md sections 2-6: futures are lazy; a future is
polled only while it is in its task's active frontier (every ancestor awaits it at its current
pc); `select!` drops owned arms before the handler and leaves `&mut` arms dormant; semaphores are
FIFO with partial grants and grant-on-release to the queue head whether or not it is polled.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import product

from mcheck import program as p
from mcheck.budget import Budget
from mcheck.errors import ModelError
from mcheck.instantiate import (
    SET_SITE_COPIES,
    SUSPENDS,
    IAbort,
    IAwait,
    IBranch,
    ICounterInc,
    ICounterSet,
    ICounterTest,
    ICreate,
    IDrop,
    IEnable,
    IJoin,
    IJump,
    INotify,
    Instantiator,
    Instr,
    IOnceSet,
    IOnceTest,
    IOneshotSend,
    IPermitSend,
    IPollOnce,
    IPush,
    IRelease,
    IReturn,
    ISelect,
    ISetInt,
    ISpawn,
    ITryAcquire,
    ITrySend,
    Slot,
    TaskInst,
    leaf_done,
)
from mcheck.ir import (
    EdgeKind,
    Expr,
    ExprBuilder,
    Op,
    Transition,
    TransitionSystem,
    VarDecl,
    WaitEdge,
    WaitGraph,
    WaitNode,
    WaitRoot,
)
from mcheck.model import (
    LEAF_KINDS,
    NT_CREATED,
    NT_IDLE,
    NT_NOTIFIED,
    NT_NOTIFIED_ALL,
    NT_WAITING,
    PC_DEAD,
    PC_DONE,
    PC_ENTRY,
    ST_GRANTED,
    ST_HELD,
    ST_IDLE,
    ST_QUEUED,
    Bound,
    CompiledModel,
    Event,
    EventKind,
    ResourceInfo,
    SlotInfo,
    SlotKind,
    StepKind,
    StepLabel,
    TaskInfo,
    TimeMode,
)
from mcheck.source import Source, Span

SEMAPHORE_KINDS = (p.ResKind.MUTEX, p.ResKind.SEMAPHORE, p.ResKind.RWLOCK, p.ResKind.UNFAIR_MUTEX,
                   p.ResKind.ONCE_CELL)
MAX_STRAIGHT_LINE_STEPS = 100_000  # instructions one path may run between two suspensions
MAX_BRANCHES = 10_000  # paths one continuation may fork into


def fresh_vars(s: Slot | SlotInfo) -> list[int]:
    """The variables of a future that are 0 while it is not alive (pc, state, queue position,
    permits got, timer remaining)."""
    return [v for v in (s.state_var, s.pos_var, s.got_var, s.rem_var) if v >= 0]


def _interval(op: Op, a: list[tuple[int, int]]) -> tuple[int, int]:
    """Interval arithmetic for one operator (see _Compiler.interval)."""
    match op:
        case Op.ADD:
            return a[0][0] + a[1][0], a[0][1] + a[1][1]
        case Op.SUB:
            return a[0][0] - a[1][1], a[0][1] - a[1][0]
        case Op.MIN:
            return min(a[0][0], a[1][0]), min(a[0][1], a[1][1])
        case Op.ITE:
            c = a[0]
            if c == (1, 1):
                return a[1]
            if c == (0, 0):
                return a[2]
            return min(a[1][0], a[2][0]), max(a[1][1], a[2][1])
        case Op.NOT:
            return 1 - a[0][1], 1 - a[0][0]
        case Op.AND:
            return min(x[0] for x in a), min(x[1] for x in a)
        case Op.OR:
            return max(x[0] for x in a), max(x[1] for x in a)
    (alo, ahi), (blo, bhi) = a
    true, false = (1, 1), (0, 0)
    match op:
        case Op.EQ:
            if alo == ahi == blo == bhi:
                return true
            return false if ahi < blo or bhi < alo else (0, 1)
        case Op.NE:
            if alo == ahi == blo == bhi:
                return false
            return true if ahi < blo or bhi < alo else (0, 1)
        case Op.LT:
            return true if ahi < blo else false if alo >= bhi else (0, 1)
        case Op.LE:
            return true if ahi <= blo else false if alo > bhi else (0, 1)
    raise AssertionError(op)


# ---- symbolic execution ------------------------------------------------------------------------


class _Path:
    """One symbolic execution path: guard conjuncts over the pre-state, current values, events."""

    __slots__ = ("events", "guard", "polled_sets", "vals", "written")

    def __init__(self, guard: list[Expr], vals: dict[int, Expr], written: set[int], events: list[Event],
                 polled_sets: frozenset[int] = frozenset()) -> None:
        self.guard = guard
        self.vals = vals
        self.written = written
        self.events = events
        # Sets being polled in the pre-state: none of their members is unpolled (see poll_set).
        self.polled_sets = polled_sets

    def copy(self) -> _Path:
        return _Path(list(self.guard), dict(self.vals), set(self.written), list(self.events), self.polled_sets)


Outcome = list[tuple[_Path, bool]]


class _Compiler:
    def __init__(self, inst: Instantiator, prog: p.Program, time: TimeMode, budget: Budget) -> None:
        self.budget = budget
        self.prog = prog
        self.time = time
        self.b = ExprBuilder()
        self.vars: list[VarDecl] = []
        self.slots = inst.slots
        self.tasks = inst.tasks
        self.resources: list[ResourceInfo] = []
        self.waiters: dict[int, list[Slot]] = {r.index: [] for r in prog.resources}
        self.main: TaskInst | None = next((t for t in inst.tasks if t.name == "main"), None)
        self.busy_spans: dict[int, Span | None] = {}
        self.intervals: dict[int, tuple[int, int]] = {}
        self.int_ranges: dict[int, tuple[int, int]] = {}  # integer variable -> its domain
        self.int_overflow_tasks: set[int] = set()
        self.var_task: list[int] = []  # variable -> task instance index, or -1 for shared ones
        self.allocating_task = -1
        self.notified: dict[int, list[Slot]] = {}  # Notify resource -> its Notified futures
        self.enable_at: dict[tuple[int, int], int] = {}  # (select arm, parent pc) -> its `if` flag
        self.push_overflow_spans: list[Span | None] = []
        self.panic_spans: list[Span | None] = []

    # -- variables --

    def new_var(self, name: str, lo: int, hi: int, init: int) -> int:
        """A state variable with domain lo..hi, owned by the task whose slot is being allocated."""
        self.vars.append(VarDecl(name, lo, hi, init))
        self.var_task.append(self.allocating_task)
        return len(self.vars) - 1

    def allocate(self) -> None:
        self.respawn_var = self.new_var("spawned while still running", 0, 1, 0)
        self.busy_var = self.new_var("task in a busy loop (index + 1)", 0, len(self.tasks), 0)
        self.int_overflow_var = self.new_var("an integer variable left its range", 0, 1, 0)
        self.push_overflow_var = self.new_var("a push site had no free future left", 0, 1, 0)
        self.panic_var = self.new_var("a select! had every branch disabled and no else", 0, 1, 0)
        for s in self.slots:
            if s.kind is SlotKind.ACQUIRE:
                self.waiters[s.res].append(s)
            if s.kind is SlotKind.NOTIFIED:
                self.notified.setdefault(s.res, []).append(s)
        for r in self.prog.resources:
            avail = msgs = -1
            if r.kind in SEMAPHORE_KINDS or (r.kind is p.ResKind.CHANNEL and r.bounded):
                avail = self.new_var(f"{r.name}.available", 0, r.permits, r.permits)
            if r.kind is p.ResKind.CHANNEL:
                hi = r.permits if r.bounded else p.UNBOUNDED_LIMIT + 1
                msgs = self.new_var(f"{r.name}.queued", 0, hi, 0)
            if r.kind in (p.ResKind.ONESHOT, p.ResKind.ONCE_CELL):
                msgs = self.new_var(f"{r.name}.value", 0, 1, 0)
            if r.kind is p.ResKind.NOTIFY:
                msgs = self.new_var(f"{r.name}.permit", 0, 1, 0)
            self.resources.append(ResourceInfo(r.index, r.name, r.kind, r.permits, r.bounded, r.span, avail, msgs))
        for s in self.slots:
            self.allocating_task = s.task.index
            name = f"{s.task.name}:{s.label}#{s.index}"
            if s.kind in (SlotKind.ROOT, SlotKind.CODE):
                npc = 0
                for ip, ins in enumerate(s.code):
                    if isinstance(ins, SUSPENDS):
                        s.pc_of_ip[ip] = PC_ENTRY + 1 + npc
                        s.ip_of_pc[PC_ENTRY + 1 + npc] = ip
                        npc += 1
                init = PC_ENTRY if s.kind is SlotKind.ROOT and s.task.initial else PC_DEAD
                s.state_var = self.new_var(f"{name}.pc", 0, PC_ENTRY + npc, init)
                mapping: dict[int, int] = {}
                for ph, lo, hi in s.counters:
                    mapping[ph] = self.new_var(f"{name}.int{len(mapping)}", lo, hi, max(lo, min(0, hi)))
                    self.int_ranges[mapping[ph]] = (lo, hi)
                for ins in s.code:
                    if isinstance(ins, ICounterSet | ICounterTest | ICounterInc | ISetInt):
                        ins.var = mapping[ins.var]
                    if isinstance(ins, ISetInt | IBranch):
                        ins.vars = {local: mapping[ph] for local, ph in ins.vars.items()}
                    if isinstance(ins, ISelect):
                        ins.enabled_vars = [None if ph is None else mapping[ph] for ph in ins.enabled_vars]
                        for g in ins.guards:
                            if g is not None:
                                g.vars = {local: mapping[ph] for local, ph in g.vars.items()}
                for c in self.descendants(s):  # placeholders are unique: only s's own are in mapping
                    if c.first_var is not None and c.first_var in mapping:
                        c.first_var = mapping[c.first_var]
                    if c.fill_var is not None and c.fill_var in mapping:
                        c.fill_var = mapping[c.fill_var]
            elif s.kind is SlotKind.ACQUIRE:
                s.state_var = self.new_var(f"{name}.st", 0, 3, 0)
                if not self.unfair(s.res):
                    s.pos_var = self.new_var(f"{name}.pos", 0, len(self.waiters[s.res]), 0)
                s.got_var = self.new_var(f"{name}.got", 0, s.count, 0)
            elif s.kind is SlotKind.SET:
                s.state_var = self.new_var(f"{name}.exists", 0, 1, 0)
            elif s.kind is SlotKind.NOTIFIED:
                s.state_var = self.new_var(f"{name}.st", 0, NT_CREATED, 0)
                s.pos_var = self.new_var(f"{name}.pos", 0, len(self.notified[s.res]), 0)
            else:
                s.state_var = self.new_var(f"{name}.st", 0, leaf_done(s.kind), 0)
                if s.kind is SlotKind.SLEEP and self.time is TimeMode.EXACT:
                    s.rem_var = self.new_var(f"{name}.remaining_ms", 0, s.ms, 0)
        self.allocating_task = -1
        for s in self.slots:
            if s.kind in (SlotKind.ROOT, SlotKind.CODE):
                for ip, ins in enumerate(s.code):
                    if isinstance(ins, IAwait):
                        ins.slot.polled_at.add(s.pc_of_ip[ip])
                    elif isinstance(ins, ISelect):
                        for i, (arm, _owned, _h) in enumerate(ins.arms):
                            arm.polled_at.add(s.pc_of_ip[ip])
                            flag = ins.enabled_vars[i]
                            if flag is not None:
                                self.enable_at[(arm.index, s.pc_of_ip[ip])] = flag
                    elif isinstance(ins, IJoin):
                        for c, _owned in ins.children:
                            c.polled_at.add(s.pc_of_ip[ip])
                self.compute_used_later(s)
            if s.kind is SlotKind.SET:
                for m in s.children:
                    m.polled_at.add(1)  # polled while the set exists and is itself polled

    def compute_used_later(self, s: Slot) -> None:
        code = s.code

        def succ(ip: int) -> list[int]:
            ins = code[ip]
            match ins:
                case IJump(target=t):
                    return [t]
                case IBranch(targets=ts):
                    return list(ts)
                case ICounterTest(exit=e):
                    return [ip + 1, e]
                case IReturn():
                    return []
                case IAwait(on_none=on_none) if on_none >= 0:
                    return [ip + 1, on_none]
                case ISelect(arms=arms):
                    return [h for _s, _o, h in arms]
            return [ip + 1]

        def uses(ins: Instr) -> list[Slot]:
            match ins:
                case IAwait(slot=x) | IPollOnce(slot=x) | IEnable(slot=x) | IPush(set=x):
                    return [x]
                case ISelect(arms=arms):
                    return [a for a, _o, _h in arms]
                case IJoin(children=cs):
                    return [c for c, _o in cs]
            return []

        for v in s.children:
            if not v.is_var:
                continue
            # Backward fixpoint: ips from which a use of v is reachable without dropping it first.
            reach = [False] * len(code)
            changed = True
            while changed:
                changed = False
                for ip in range(len(code) - 1, -1, -1):
                    if reach[ip]:
                        continue
                    ins = code[ip]
                    if v in uses(ins):
                        reach[ip] = True
                        changed = True
                    elif isinstance(ins, IDrop) and ins.slot is v:
                        continue
                    elif any(reach[n] for n in succ(ip) if n < len(code)):
                        reach[ip] = True
                        changed = True
            for ip, pcv in s.pc_of_ip.items():
                if any(reach[n] for n in succ(ip) if n < len(code)):
                    v.used_later_at.add(pcv)

    # -- reading and writing --

    def read(self, path: _Path, v: int) -> Expr:
        e = path.vals.get(v)
        return e if e is not None else self.b.var(v)

    def write(self, path: _Path, v: int, e: Expr | int) -> None:
        assert v >= 0, "a write to a variable that was never allocated"
        path.vals[v] = self.b.const(e) if isinstance(e, int) else e
        path.written.add(v)

    def interval(self, e: Expr) -> tuple[int, int]:
        """Bounds of e's value over every state, from the variables' domains (booleans: 0..1).
        The IR keeps every variable in its domain, so a condition these bounds decide needs no
        fork: this prunes paths like a second message from a channel of capacity 1."""
        hit = self.intervals.get(e.uid)
        if hit is not None:
            return hit
        stack: list[tuple[Expr, bool]] = [(e, False)]
        iv = self.intervals
        while stack:
            x, expanded = stack.pop()
            if x.uid in iv:
                continue
            if x.op is Op.CONST:
                iv[x.uid] = (x.value, x.value)
                continue
            if x.op is Op.VAR:
                d = self.vars[x.value]
                iv[x.uid] = (d.lo, d.hi)
                continue
            if not expanded:
                stack.append((x, True))
                stack.extend((y, False) for y in x.args)
                continue
            a = [iv[y.uid] for y in x.args]
            iv[x.uid] = _interval(x.op, a)
        return iv[e.uid]

    def decide(self, cond: Expr) -> bool | None:
        bv = self.b.bool_value(cond)
        if bv is not None:
            return bv
        lo, hi = self.interval(cond)
        return True if lo == 1 else False if hi == 0 else None

    def assume(self, path: _Path, cond: Expr) -> bool:
        bv = self.decide(cond)
        if bv is not None:
            return bv
        path.guard.append(cond)
        parts = cond.args if cond.op is Op.AND else (cond,)
        for c in parts:
            if c.op is Op.EQ and c.args[0].op is Op.VAR and c.args[1].op is Op.CONST:
                if c.args[0].value not in path.written:
                    path.vals[c.args[0].value] = c.args[1]
        return True

    def split(self, path: _Path, cond: Expr) -> list[tuple[_Path, bool]]:
        bv = self.decide(cond)
        if bv is not None:
            return [(path, bv)]
        out = []
        pt, pf = path.copy(), path
        if self.assume(pt, cond):
            out.append((pt, True))
        if self.assume(pf, self.b.not_(cond)):
            out.append((pf, False))
        return out

    # -- resources --

    def unfair(self, r: int) -> bool:
        """futures::lock::Mutex: a flag; waiters retry when it is free (no queue, no hand-off)."""
        return self.prog.resources[r].kind is p.ResKind.UNFAIR_MUTEX

    def qlen(self, path: _Path, r: int) -> Expr:
        b = self.b
        if self.unfair(r):
            return b.const(0)
        return b.sum_([b.ite(b.lt(0, self.read(path, w.pos_var)), 1, 0) for w in self.waiters[r]])

    def release(self, path: _Path, r: int, k: Expr) -> None:
        """Return k permits to semaphore r: FIFO walk granting the head (SEMANTICS.md section 4)."""
        b = self.b
        if b.is_const(k) and k.value == 0:
            return
        if self.unfair(r):
            avail = self.resources[r].avail_var
            self.write(path, avail, b.add(self.read(path, avail), k))
            return
        ws = self.waiters[r]
        pos = {w.index: self.read(path, w.pos_var) for w in ws}
        got = {w.index: self.read(path, w.got_var) for w in ws}
        remaining = k
        stopped = b.false
        popped = b.const(0)
        steps: list[tuple[Expr, Expr]] = []
        # Every waiter needs at least one more permit, so k permits reach at most k queue positions.
        for j in range(1, min(len(ws), self.interval(k)[1]) + 1):
            at = [(w, b.eq(pos[w.index], j)) for w in ws]
            exists = b.or_(*(c for _w, c in at))
            if b.bool_value(exists) is False:
                break
            need = b.sum_([b.ite(c, b.sub(w.count, got[w.index]), 0) for w, c in at])
            go = b.and_(b.not_(stopped), exists)
            give = b.ite(go, b.min_(remaining, need), 0)
            sat = b.and_(go, b.eq(give, need))
            remaining = b.sub(remaining, give)
            stopped = b.or_(stopped, b.not_(sat))
            popped = b.add(popped, b.ite(sat, 1, 0))
            steps.append((give, sat))
            if b.bool_value(stopped) is True:
                break
        for w in ws:
            pw = pos[w.index]
            g: Expr = b.const(0)
            satw: Expr = b.false
            for j, (give, sat) in enumerate(steps, start=1):
                at_j = b.eq(pw, j)
                g = b.ite(at_j, give, g)
                satw = b.or_(satw, b.and_(at_j, sat))
            if b.bool_value(satw) is False and b.is_const(g) and g.value == 0:
                if not (b.is_const(popped) and popped.value == 0):
                    self.write(path, w.pos_var, b.ite(b.lt(0, pw), b.sub(pw, popped), 0))
                continue
            self.write(path, w.got_var, b.add(got[w.index], g))
            self.write(path, w.state_var, b.ite(satw, ST_GRANTED, self.read(path, w.state_var)))
            self.write(path, w.pos_var, b.ite(satw, 0, b.ite(b.lt(0, pw), b.sub(pw, popped), 0)))
        avail = self.resources[r].avail_var
        self.write(path, avail, b.add(self.read(path, avail), remaining))

    def drop_acquire(self, path: _Path, w: Slot) -> None:
        b = self.b
        st = self.read(path, w.state_var)
        if b.is_const(st) and st.value == ST_IDLE:
            return
        pw = self.read(path, w.pos_var) if w.pos_var >= 0 else b.const(0)
        got = self.read(path, w.got_var)
        if not (b.is_const(pw) and pw.value == 0):
            for o in self.waiters[w.res]:
                if o is not w:
                    po = self.read(path, o.pos_var)
                    self.write(path, o.pos_var, b.ite(b.and_(b.lt(0, pw), b.lt(pw, po)), b.sub(po, 1), po))
        if w.pos_var >= 0:
            self.write(path, w.pos_var, 0)
        self.write(path, w.state_var, ST_IDLE)
        self.write(path, w.got_var, 0)
        self.release(path, w.res, got)

    def push_message(self, path: _Path, r: int) -> None:
        info = self.resources[r]
        cur = self.read(path, info.msgs_var)
        hi = info.permits if info.bounded else p.UNBOUNDED_LIMIT + 1
        self.write(path, info.msgs_var, self.b.min_(self.b.add(cur, 1), hi))

    # -- slots --

    def create(self, path: _Path, s: Slot) -> None:
        if s.kind in (SlotKind.CODE, SlotKind.ROOT):
            self.write(path, s.state_var, PC_ENTRY)
        elif s.kind is SlotKind.ACQUIRE:
            pass  # unpolled, it holds nothing and is in no queue: its state stays idle
        elif s.kind is SlotKind.NOTIFIED:
            self.write(path, s.state_var, NT_CREATED)  # in no queue, but notify_waiters reaches it
        else:
            self.write(path, s.state_var, 1)
            if s.rem_var >= 0:
                self.write(path, s.rem_var, s.ms)

    def assume_fresh(self, path: _Path, s: Slot) -> None:
        """s has never been polled (its pc is PC_ENTRY): everything inside it is in its initial
        state, because completing or dropping a future resets all it contains (an invariant of
        every reachable state, checked by tests/test_consistency.py). Knowing it keeps the first
        poll from forking over states that cannot occur."""
        for d in self.descendants(s):
            if d is not s:
                for v in fresh_vars(d):
                    if v not in path.vals:
                        path.vals[v] = self.b.const(0)

    def abort_all(self, path: _Path, s: Slot, span: Span | None) -> list[_Path]:
        """`h.abort()`, `set.abort_all()`, dropping a JoinSet: cancel the task(s) still attached."""
        paths = [path]
        for h in s.children if s.kind is SlotKind.SET else [s]:
            if h.kind is SlotKind.JOIN and h.target is not None and h.target.root is not None:
                paths = [q for pth in paths for q in self.abort(pth, h, h.target.root, span)]
        return paths

    def abort(self, path: _Path, handle: Slot, root: Slot, span: Span | None) -> list[_Path]:
        """A task whose handle is still attached is cancelled, dropping what it holds."""
        b = self.b
        running = b.and_(b.eq(self.read(path, handle.state_var), 1), b.ne(self.read(path, root.state_var), PC_DONE),
                         b.ne(self.read(path, root.state_var), PC_DEAD))
        out = []
        for q, run in self.split(path, running):
            if run:
                self.drop_slot(q, root)
                self.write(q, root.state_var, PC_DONE)  # finished (cancelled): its JoinHandle is ready
                self.event(q, EventKind.DROPPED, root, span=span, detail="aborted")
            out.append(q)
        return out

    def descendants(self, s: Slot) -> Iterator[Slot]:
        yield s
        for c in s.children:
            yield from self.descendants(c)

    def drop_slot(self, path: _Path, s: Slot) -> None:
        """Drop a future and everything inside it: leave queues, release what it holds."""
        for d in self.descendants(s):
            if d.kind in (SlotKind.CODE, SlotKind.ROOT):
                self.write(path, d.state_var, PC_DEAD)
            elif d.kind is SlotKind.ACQUIRE:
                self.drop_acquire(path, d)
            elif d.kind is SlotKind.NOTIFIED:
                self.drop_notified(path, d)
            else:
                self.write(path, d.state_var, 0)
                if d.rem_var >= 0:
                    self.write(path, d.rem_var, 0)

    def reset_after_completion(self, path: _Path, s: Slot, owned: bool) -> None:
        if s.kind in (SlotKind.CODE, SlotKind.ROOT):
            self.write(path, s.state_var, PC_DEAD if owned else PC_DONE)
        elif s.kind is SlotKind.NOTIFIED:
            self.write(path, s.state_var, NT_IDLE if owned else leaf_done(s.kind))
            self.write(path, s.pos_var, 0)
        elif s.kind not in (SlotKind.ACQUIRE, SlotKind.SET):
            self.write(path, s.state_var, 0 if owned else leaf_done(s.kind))
            if s.rem_var >= 0:
                self.write(path, s.rem_var, 0)

    def event(self, path: _Path, kind: EventKind, slot: Slot | None = None, res: int = -1,
              span: Span | None = None, detail: str = "") -> None:
        path.events.append(Event(kind, slot.index if slot else -1, res, span, detail))

    # -- running code --

    def poll(self, path: _Path, s: Slot, bind: bool = False) -> list[tuple[_Path, bool, bool]]:
        """The task polls s as part of the poll in which its code reached s (futures are polled as
        soon as they are awaited): code runs to its first suspension; an acquire takes its permits
        or joins the queue; a receive takes a queued message. Returns (path, completed, some):
        `some` is False when a receive completed with None (the channel is closed)."""
        b = self.b
        st = self.read(path, s.state_var)
        match s.kind:
            case SlotKind.CODE | SlotKind.ROOT:
                out: list[tuple[_Path, bool, bool]] = []
                for pth, at_entry in self.split(path, b.eq(st, PC_ENTRY)):
                    if at_entry:
                        self.assume_fresh(pth, s)
                        out.extend((q, done, True) for q, done in self.run(pth, s, 0))
                    elif s.is_var or (s.parent is not None and s.parent.ordered):
                        out.extend((q, done, True) for q, done in self.split(pth, b.eq(self.read(pth, s.state_var), PC_DONE)))
                    else:  # only a borrowed future (or a FuturesOrdered member) stays alive completed
                        out.append((pth, False, True))
                return out
            case SlotKind.ACQUIRE:
                return [(q, done, True) for q, done in self.poll_acquire(path, s, bind)]
            case SlotKind.SET:
                return self.poll_set(path, s)
        out = []
        if s.kind is SlotKind.SLEEP and s.first_var is not None:  # an interval's first tick is immediate
            for pth, first in self.split(path, b.eq(self.read(path, s.first_var), 0)):
                if first:
                    self.write(pth, s.first_var, 1)
                    out.append((pth, True, True))
                else:
                    out.extend(self.poll_fresh_leaf(pth, s))
            return out
        if s.is_var:  # a borrowed timer/receive/handle that already completed is ready at once
            for pth, done in self.split(path, b.eq(st, leaf_done(s.kind))):
                if done:
                    out.append((pth, True, True))
                else:
                    out.extend(self.poll_fresh_leaf(pth, s))
            return out
        return self.poll_fresh_leaf(path, s)

    def poll_fresh_leaf(self, path: _Path, s: Slot) -> list[tuple[_Path, bool, bool]]:
        b = self.b
        match s.kind:
            case SlotKind.SLEEP:
                if s.rem_var < 0:
                    return [(path, False, True)]  # untimed: the timer fires by its own transition
                return [(q, elapsed, True) for q, elapsed in self.split(path, b.eq(self.read(path, s.rem_var), 0))]
            case SlotKind.YIELD:
                st = self.read(path, s.state_var)
                out: list[tuple[_Path, bool, bool]] = []
                for q, yielded in self.split(path, b.eq(st, 2)):
                    if not yielded:
                        self.write(q, s.state_var, 2)  # returns Pending once and wakes its task
                    out.append((q, yielded, True))
                return out
            case SlotKind.JOIN:
                assert s.target is not None and s.target.root is not None
                done = b.eq(self.read(path, s.target.root.state_var), PC_DONE)
                return [(q, d, True) for q, d in self.split(path, done)]
            case SlotKind.NOTIFIED:
                return self.poll_notified(path, s)
            case SlotKind.RECV:
                out = []
                info = self.resources[s.res]
                for q, has_msg in self.split(path, b.lt(0, self.read(path, info.msgs_var))):
                    if has_msg:
                        self.take_message(q, s)
                        out.append((q, True, True))
                        continue
                    for q2, closed in self.split(q, self.closed(s.res)):
                        if closed:
                            self.event(q2, EventKind.CLOSED, s, s.res, s.span)
                        out.append((q2, closed, not closed))
                return out
        raise AssertionError(s.kind)

    def take_message(self, path: _Path, s: Slot) -> None:
        info = self.resources[s.res]
        self.write(path, info.msgs_var, self.b.sub(self.read(path, info.msgs_var), 1))
        if info.avail_var >= 0:
            self.release(path, s.res, self.b.const(1))  # the message's permit returns to the channel
        self.event(path, EventKind.RECEIVED, s, s.res, s.span)

    def poll_acquire(self, path: _Path, s: Slot, bind: bool) -> list[tuple[_Path, bool]]:
        """Poll a semaphore waiter: first poll takes what it can (FIFO: nobody barges past a queue),
        later polls complete once the permits were handed to it."""
        b = self.b
        info = self.resources[s.res]
        out: list[tuple[_Path, bool]] = []
        if self.unfair(s.res):  # take the lock if it is free, else wait to be woken and retry
            for q, free in self.split(path, b.eq(self.read(path, info.avail_var), 1)):
                if free:
                    self.write(q, info.avail_var, 0)
                    self.write(q, s.got_var, 1)
                    self.acquired(q, s, bind)
                else:
                    if b.bool_value(b.eq(self.read(q, s.state_var), ST_QUEUED)) is not True:
                        self.event(q, EventKind.QUEUED, s, s.res, s.span)
                    self.write(q, s.state_var, ST_QUEUED)
                out.append((q, free))
            return out
        for pth, idle in self.split(path, b.eq(self.read(path, s.state_var), ST_IDLE)):
            if not idle:
                for q, granted in self.split(pth, b.eq(self.read(pth, s.state_var), ST_GRANTED)):
                    if granted:
                        self.acquired(q, s, bind)
                    out.append((q, granted))
                continue
            avail = self.read(pth, info.avail_var)
            for q, now in self.split(pth, b.and_(b.eq(self.qlen(pth, s.res), 0), b.le(s.count, avail))):
                if now:
                    self.write(q, info.avail_var, b.sub(self.read(q, info.avail_var), s.count))
                    self.write(q, s.got_var, s.count)
                    self.acquired(q, s, bind)
                else:
                    take = b.min_(self.read(q, info.avail_var), s.count)
                    self.write(q, s.pos_var, b.add(self.qlen(q, s.res), 1))
                    self.write(q, info.avail_var, b.sub(self.read(q, info.avail_var), take))
                    self.write(q, s.got_var, take)
                    self.write(q, s.state_var, ST_QUEUED)
                    self.event(q, EventKind.QUEUED, s, s.res, s.span)
                out.append((q, now))
        return out

    # -- sets and streams --

    def member_alive(self, path: _Path, m: Slot) -> Expr:
        st = self.read(path, m.state_var)
        return self.b.ne(st, 0) if m.kind is SlotKind.JOIN else self.b.ne(st, PC_DEAD)

    def is_head(self, path: _Path, st: Slot, m: Slot) -> Expr:
        """FuturesOrdered: m is the oldest member still in the set."""
        b = self.b
        earlier = st.children[: st.children.index(m)]
        return b.and_(*(b.not_(self.member_alive(path, e)) for e in earlier))

    def leave_set(self, path: _Path, m: Slot) -> None:
        self.write(path, m.state_var, 0 if m.kind is SlotKind.JOIN else PC_DEAD)

    def poll_set(self, path: _Path, st: Slot) -> list[tuple[_Path, bool, bool]]:
        """`next()` on a set: poll the members that are ready, in order, until one completes (Some);
        None when the set is empty. A member is ready when it was pushed and not polled yet, or is a
        JoinHandle whose task finished; the others were polled and wait for their own events (which
        complete them through `complete`). FuturesOrdered holds a completed member until it is the
        oldest."""
        b = self.b
        members = st.children
        out: list[tuple[_Path, bool, bool]] = []
        work: list[tuple[_Path, int]] = [(q, 0) for q in (self.fill(path, st) if st.limit else [path])]
        while work:
            pth, i = work.pop()
            if i == len(members):
                empty = b.and_(*(b.not_(self.member_alive(pth, m)) for m in members))
                out.extend((q, e, not e) for q, e in self.split(pth, empty))
                continue
            m = members[i]
            st_m = self.read(pth, m.state_var)
            done_now: list[_Path] = []
            if m.kind is SlotKind.JOIN:
                assert m.target is not None and m.target.root is not None
                finished = b.and_(b.eq(st_m, 1), b.eq(self.read(pth, m.target.root.state_var), PC_DONE))
                for q, fin in self.split(pth, finished):
                    (done_now if fin else []).append(q)
                    if not fin:
                        work.append((q, i + 1))
            else:
                cases = [(pth, False)]
                if st.ordered:  # completed earlier: waits, done, for its turn
                    cases = self.split(pth, b.eq(st_m, PC_DONE))
                for q, waiting in cases:
                    if waiting:
                        done_now.append(q)
                        continue
                    # A set that is being polled has polled every member pushed before: the set's
                    # owner suspends on it only after polling them all (checked by
                    # tests/test_consistency.py), so only members written since can be unpolled.
                    if st.index in q.polled_sets and m.state_var not in q.written:
                        work.append((q, i + 1))
                        continue
                    for q2, fresh in self.split(q, b.eq(self.read(q, m.state_var), PC_ENTRY)):
                        if not fresh:
                            work.append((q2, i + 1))
                            continue
                        self.assume_fresh(q2, m)
                        for q3, done in self.run(q2, m, 0):
                            (done_now if done else []).append(q3)
                            if not done:
                                work.append((q3, i + 1))
            for q in done_now:
                for q2, head in self.split(q, self.is_head(q, st, m)) if st.ordered else [(q, True)]:
                    if head:
                        self.leave_set(q2, m)
                        self.event(q2, EventKind.SET_NEXT, m)
                        out.append((q2, True, True))
                    else:
                        self.write(q2, m.state_var, PC_DONE)
                        work.append((q2, i + 1))
        return out

    def set_member_done(self, path: _Path, m: Slot) -> list[_Path]:
        """Member m of a set completed while the set is polled: `next()` yields it (ordered: only
        if it is the oldest; else it waits, completed, in the set)."""
        st = m.parent
        assert st is not None
        out: list[_Path] = []
        for q, head in self.split(path, self.is_head(path, st, m)) if st.ordered else [(path, True)]:
            if head:
                self.leave_set(q, m)
                self.event(q, EventKind.SET_NEXT, m)
                out.extend(self.complete(q, st, some=True))
            else:
                self.write(q, m.state_var, PC_DONE)
                out.append(q)
        return out

    def push(self, path: _Path, ins: IPush) -> list[_Path]:
        """The push site's first instance not in the set takes the future; none free is a bound."""
        out = []
        rest = [path]
        for m in ins.instances:
            nxt = []
            for q in rest:
                for q2, free in self.split(q, self.b.not_(self.member_alive(q, m))):
                    if free:
                        self.create(q2, m)
                        out.append(q2)
                    else:
                        nxt.append(q2)
            rest = nxt
        for q in rest:
            self.write(q, self.push_overflow_var, 1)
            self.push_overflow_spans.append(ins.span)
            out.append(q)
        return out

    def fill(self, path: _Path, st: Slot) -> list[_Path]:
        """A buffered stream's pull starts items from its iterator, in order, while fewer than its
        limit are in flight (`fill_var` counts the items started)."""
        b = self.b
        assert st.fill_var is not None
        items = st.children
        out = []
        for pth in self.concretize_var(path, st.fill_var):
            k = self.read(pth, st.fill_var).value
            paths = [pth]
            while k < len(items) and paths:
                q = paths.pop()
                inflight = b.sum_([b.ite(self.member_alive(q, m), 1, 0) for m in items])
                for q2, room in self.split(q, b.lt(inflight, st.limit)):
                    if room:
                        self.create(q2, items[k])
                        self.write(q2, st.fill_var, k + 1)
                        paths.append(q2)
                    else:
                        out.append(q2)
                k += 1
            out.extend(paths)
        return out

    def concretize_var(self, path: _Path, var: int) -> list[_Path]:
        """Split path on the value of var, unless it is known."""
        cur = self.read(path, var)
        if cur.op is Op.CONST:
            return [path]
        out = []
        lo, hi = self.interval(cur)
        for k in range(lo, hi + 1):
            q = path.copy()
            if self.assume(q, self.b.eq(cur, k)):
                if var in q.written:
                    self.write(q, var, k)
                out.append(q)
        return out

    # -- Notify --

    def nqlen(self, path: _Path, r: int) -> Expr:
        b = self.b
        return b.sum_([b.ite(b.lt(0, self.read(path, w.pos_var)), 1, 0) for w in self.notified.get(r, [])])

    def register(self, path: _Path, s: Slot) -> list[tuple[_Path, bool]]:
        """A Notified's first poll (or enable()): take a stored permit, else join the waiters."""
        b = self.b
        info = self.resources[s.res]
        out = []
        for q, permit in self.split(path, b.eq(self.read(path, info.msgs_var), 1)):
            if permit:
                self.write(q, info.msgs_var, 0)
                self.write(q, s.state_var, NT_NOTIFIED)
                self.event(q, EventKind.RECEIVED, s, s.res, s.span)
            else:
                self.write(q, s.pos_var, b.add(self.nqlen(q, s.res), 1))
                self.write(q, s.state_var, NT_WAITING)
                self.event(q, EventKind.QUEUED, s, s.res, s.span)
            out.append((q, permit))
        return out

    def poll_notified(self, path: _Path, s: Slot) -> list[tuple[_Path, bool, bool]]:
        b = self.b
        out: list[tuple[_Path, bool, bool]] = []
        for q, idle in self.split(path, self.unregistered(path, s)):
            if idle:
                out.extend((q2, permit, True) for q2, permit in self.register(q, s))
                continue
            st = self.read(q, s.state_var)
            ready = b.or_(b.eq(st, NT_NOTIFIED), b.eq(st, NT_NOTIFIED_ALL), b.eq(st, leaf_done(s.kind)))
            out.extend((q2, done, True) for q2, done in self.split(q, ready))
        return out

    def unregistered(self, path: _Path, s: Slot) -> Expr:
        st = self.read(path, s.state_var)
        return self.b.or_(self.b.eq(st, NT_IDLE), self.b.eq(st, NT_CREATED))

    def notify(self, path: _Path, r: int, cond: Expr, everyone: bool) -> None:
        """notify_one (when cond): the oldest registered waiter is notified, else a permit is stored;
        notify_waiters: every registered waiter is notified."""
        b = self.b
        ws = self.notified.get(r, [])
        info = self.resources[r]
        exists = b.or_(*(b.lt(0, self.read(path, w.pos_var)) for w in ws))
        for w in ws:
            pw = self.read(path, w.pos_var)
            if everyone:  # every registered waiter, and every Notified created before the call
                hit = b.and_(cond, b.or_(b.lt(0, pw), b.eq(self.read(path, w.state_var), NT_CREATED)))
            else:
                hit = b.and_(cond, b.eq(pw, 1))
            self.write(path, w.state_var, b.ite(hit, NT_NOTIFIED_ALL if everyone else NT_NOTIFIED,
                                                self.read(path, w.state_var)))
            self.write(path, w.pos_var, b.ite(cond, 0 if everyone else b.ite(b.lt(0, pw), b.sub(pw, 1), 0), pw))
        if not everyone:
            cur = self.read(path, info.msgs_var)
            self.write(path, info.msgs_var, b.ite(b.and_(cond, b.not_(exists)), 1, cur))

    def drop_notified(self, path: _Path, w: Slot) -> None:
        """Leave the waiters; a notify_one notification received but not consumed goes to the next
        waiter (or is stored). One from notify_waiters is not passed on."""
        b = self.b
        st = self.read(path, w.state_var)
        if b.is_const(st) and st.value == NT_IDLE:
            return
        pw = self.read(path, w.pos_var)
        for o in self.notified[w.res]:
            if o is not w:
                po = self.read(path, o.pos_var)
                self.write(path, o.pos_var, b.ite(b.and_(b.lt(0, pw), b.lt(pw, po)), b.sub(po, 1), po))
        self.write(path, w.pos_var, 0)
        self.write(path, w.state_var, NT_IDLE)
        self.notify(path, w.res, b.eq(st, NT_NOTIFIED), everyone=False)

    def poll_select(self, path: _Path, sel: ISelect, enabled: list[bool] | None = None) -> list[tuple[_Path, int]]:
        """tokio::select! polls its branches from a random start, in order, until one completes
        (`biased;`: from the first); a disabled branch is skipped. Returns (path, winner or -1)."""
        n = len(sel.arms)
        out: list[tuple[_Path, int]] = []
        for start in [0] if sel.biased else range(n):
            pending: list[tuple[_Path, int]] = [(path.copy() if n > 1 and not sel.biased else path, 0)]
            while pending:
                pth, k = pending.pop()
                if k == n:
                    out.append((pth, -1))
                    continue
                i = (start + k) % n
                if enabled is not None and not enabled[i]:
                    pending.append((pth, k + 1))
                    continue
                for q, done, _some in self.poll(pth, sel.arms[i][0]):
                    if done:
                        out.append((q, i))
                    else:
                        pending.append((q, k + 1))
        return out

    def poll_all(self, path: _Path, slots: list[Slot]) -> list[tuple[_Path, list[bool]]]:
        results: list[tuple[_Path, list[bool]]] = [(path, [])]
        for s in slots:
            nxt: list[tuple[_Path, list[bool]]] = []
            for pth, dones in results:
                for q, done, _some in self.poll(pth, s):
                    nxt.append((q, [*dones, done]))
            results = nxt
        return results

    def run(self, path: _Path, slot: Slot, ip: int) -> Outcome:
        """Run slot's code from ip until it suspends (False) or returns (True), on every path."""
        out: Outcome = []
        work: list[tuple[_Path, int, int, frozenset[tuple[object, ...]]]] = [(path, ip, 0, frozenset())]
        forks = 0
        while work:
            pth, at, steps, seen = work.pop()
            for q, nxt, n, seen2 in self.step_until_branch(pth, slot, at, steps, seen):
                if nxt is None:
                    out.append((q, n < 0))  # n < 0 marks a return
                else:
                    forks += 1
                    if forks & 0xFF == 0:
                        self.budget.check()
                    if forks > MAX_BRANCHES:
                        raise ModelError.at(slot.span, f"'{slot.label}' branches more than {MAX_BRANCHES} ways "
                                            "between two suspension points; make the model smaller")
                    work.append((q, nxt, n, seen2))
        return out

    def step_until_branch(
        self, path: _Path, slot: Slot, ip: int, steps: int, seen: frozenset[tuple[object, ...]]
    ) -> list[tuple[_Path, int | None, int, frozenset[tuple[object, ...]]]]:
        """Execute from ip until the path suspends, returns, or forks. Returns (path, next ip or None,
        steps so far, loop heads seen); a finished path has next ip None and steps -1 if it returned.
        A path that comes back to a loop head in the same symbolic state would spin forever without
        suspending: that is reported as a busy loop."""
        b = self.b
        code = slot.code
        while True:
            steps += 1
            if steps > MAX_STRAIGHT_LINE_STEPS:
                raise ModelError.at(slot.span, f"'{slot.label}' runs more than {MAX_STRAIGHT_LINE_STEPS} steps "
                                    "without suspending; make its loops smaller")
            ins = code[ip]
            match ins:
                case ICreate(slot=s):
                    self.create(path, s)
                    ip += 1
                case IAwait(slot=s, owned=owned, bind=bind, on_none=on_none):
                    if not s.is_var:
                        self.create(path, s)
                    out: list[tuple[_Path, int | None, int, frozenset[tuple[object, ...]]]] = []
                    for pth, done, some in self.poll(path, s, bind):
                        if done:
                            self.reset_after_completion(pth, s, owned)
                            out.append((pth, on_none if (not some and on_none >= 0) else ip + 1, steps, seen))
                        else:
                            self.write(pth, slot.state_var, slot.pc_of_ip[ip])
                            out.append((pth, None, 0, seen))
                    return out
                case ISelect(arms=arms):
                    out = []
                    for pth, enabled in self.preconditions(path, ins):
                        if not any(enabled):
                            if ins.else_ip >= 0:
                                self.event(pth, EventKind.SELECT_WON, None, span=ins.span, detail="else")
                                out.append((pth, ins.else_ip, steps, seen))
                            else:  # tokio panics: "all branches are disabled and there is no else branch"
                                self.write(pth, self.panic_var, 1)
                                self.panic_spans.append(ins.span)
                                self.write(pth, slot.state_var, slot.pc_of_ip[ip])
                                out.append((pth, None, 0, seen))
                            continue
                        for (s, _owned, _h), on in zip(arms, enabled, strict=True):
                            if not s.is_var and on:
                                self.create(pth, s)
                        for q, winner in self.poll_select(pth, ins, enabled):
                            if winner >= 0:
                                out.append((q, self.select_won(q, ins, winner), steps, seen))
                            else:
                                self.write(q, slot.state_var, slot.pc_of_ip[ip])
                                out.append((q, None, 0, seen))
                    return out
                case IJoin(children=children):
                    for s, _owned in children:
                        if not s.is_var:
                            self.create(path, s)
                    out = []
                    for pth, dones in self.poll_all(path, [s for s, _o in children]):
                        for (s, _o), done in zip(children, dones, strict=True):
                            if done:
                                self.write(pth, s.state_var, PC_DONE)
                        for q, nxt in self.join_progress(pth, slot, ip):
                            out.append((q, nxt, steps if nxt is not None else 0, seen))
                    return out
                case IAbort(slot=s, span=span):
                    paths = self.abort_all(path, s, span)
                    if len(paths) == 1:
                        path = paths[0]
                        ip += 1
                        continue
                    return [(q, ip + 1, steps, seen) for q in paths]
                case IDrop(slot=s, span=span, explicit=explicit):
                    # Dropping a JoinSet aborts the tasks still in it (a JoinHandle only detaches).
                    paths = self.abort_all(path, s, span) if s.kind is SlotKind.SET else [path]
                    for pth in paths:
                        if s.kind is SlotKind.JOIN:
                            self.write(pth, s.state_var, 0)  # dropping a JoinHandle detaches the task
                        else:
                            self.drop_slot(pth, s)
                        if explicit:
                            self.event(pth, EventKind.DROPPED, s, span=span)
                    if len(paths) == 1:
                        path = paths[0]
                        ip += 1
                        continue
                    return [(q, ip + 1, steps, seen) for q in paths]
                case IRelease(slot=s, span=span, explicit=explicit):
                    st = self.read(path, s.state_var)
                    held = b.eq(st, ST_HELD)
                    if b.bool_value(held) is not False:
                        amount = b.ite(held, self.read(path, s.got_var), 0)
                        self.write(path, s.state_var, b.ite(held, ST_IDLE, st))
                        self.write(path, s.got_var, b.ite(held, 0, self.read(path, s.got_var)))
                        self.release(path, s.res, amount)
                        self.event(path, EventKind.RELEASED, s, s.res, span or s.span, "explicit" if explicit else "")
                    ip += 1
                case ITrySend(res=r, span=span):
                    info = self.resources[r]
                    if not info.bounded:
                        self.push_message(path, r)
                        self.event(path, EventKind.SENT, None, r, span)
                        ip += 1
                        continue
                    avail = self.read(path, info.avail_var)
                    ok = b.and_(b.eq(self.qlen(path, r), 0), b.le(1, avail))
                    out = []
                    for pth, has_room in self.split(path, ok):
                        if has_room:
                            self.write(pth, info.avail_var, b.sub(self.read(pth, info.avail_var), 1))
                            self.push_message(pth, r)
                            self.event(pth, EventKind.SENT, None, r, span)
                        else:
                            self.event(pth, EventKind.TRY_SEND_FULL, None, r, span)
                        out.append((pth, ip + 1, steps, seen))
                    return out
                case IOneshotSend(res=r, span=span):
                    self.write(path, self.resources[r].msgs_var, 1)
                    self.event(path, EventKind.SENT, None, r, span)
                    ip += 1
                case IPush() as push:
                    pushed = self.push(path, push)
                    if len(pushed) == 1:
                        path = pushed[0]
                        ip += 1
                        continue
                    return [(q, ip + 1, steps, seen) for q in pushed]
                case ITryAcquire(slot=s, span=span):
                    info = self.resources[s.res]
                    ok = b.and_(b.eq(self.qlen(path, s.res), 0), b.le(1, self.read(path, info.avail_var)))
                    out = []
                    for pth, has_room in self.split(path, ok):
                        if has_room:
                            self.write(pth, info.avail_var, b.sub(self.read(pth, info.avail_var), 1))
                            self.write(pth, s.got_var, 1)
                            self.write(pth, s.state_var, ST_HELD)
                            self.event(pth, EventKind.ACQUIRED, s, s.res, span)
                        else:
                            self.event(pth, EventKind.TRY_SEND_FULL, None, s.res, span, "reserve")
                        out.append((pth, ip + 1, steps, seen))
                    return out
                case IPollOnce(slot=s, owned=owned):
                    out = []
                    for pth, done, _some in self.poll(path, s):
                        if done:
                            self.reset_after_completion(pth, s, owned)
                        out.append((pth, ip + 1, steps, seen))
                    return out
                case INotify(res=r, all=everyone, span=span):
                    self.notify(path, r, b.true, everyone)
                    self.event(path, EventKind.SENT, None, r, span, "all" if everyone else "")
                    ip += 1
                case IEnable(slot=s):
                    out = []
                    for pth, idle in self.split(path, self.unregistered(path, s)):
                        if idle:
                            out.extend((q, ip + 1, steps, seen) for q, _permit in self.register(pth, s))
                        else:
                            out.append((pth, ip + 1, steps, seen))
                    return out
                case IOnceTest(res=r, target=target):
                    tests = self.split(path, b.eq(self.read(path, self.resources[r].msgs_var), 1))
                    if len(tests) == 1:
                        path, ip = tests[0][0], target if tests[0][1] else ip + 1
                        continue
                    return [(pth, target if set_ else ip + 1, steps, seen) for pth, set_ in tests]
                case IOnceSet(res=r):
                    self.write(path, self.resources[r].msgs_var, 1)
                    ip += 1
                case IPermitSend(slot=s, span=span):
                    held = b.eq(self.read(path, s.state_var), ST_HELD)
                    info = self.resources[s.res]
                    self.write(path, s.state_var, b.ite(held, ST_IDLE, self.read(path, s.state_var)))
                    self.write(path, s.got_var, b.ite(held, 0, self.read(path, s.got_var)))
                    cur = self.read(path, info.msgs_var)
                    self.write(path, info.msgs_var, b.ite(held, b.min_(b.add(cur, 1), info.permits), cur))
                    self.event(path, EventKind.SENT, s, s.res, span)
                    ip += 1
                case ISpawn(task=t, handle=h, span=span):
                    assert t.root is not None
                    # One task per spawn site: spawning again while it still runs exceeds the model.
                    pc = self.read(path, t.root.state_var)
                    free = b.or_(b.eq(pc, PC_DEAD), b.eq(pc, PC_DONE))
                    self.write(path, t.root.state_var, b.ite(free, PC_ENTRY, pc))
                    self.write(path, self.respawn_var, b.ite(free, self.read(path, self.respawn_var), 1))
                    if h is not None:
                        self.write(path, h.state_var, 1)
                    self.event(path, EventKind.SPAWNED, t.root, span=span)
                    ip += 1
                case IBranch(targets=targets):
                    outcomes = [o for q in self.concretize(path, ins) for o in self.condition(q, ins)]
                    if len(outcomes) == 1:
                        path, ip = outcomes[0][0], targets[0 if outcomes[0][1] else 1]
                        continue
                    return [(q, targets[0 if holds else 1], steps, seen) for q, holds in outcomes]
                case ISetInt(var=var, value=value):
                    cases = self.concretize(path, ins)
                    if len(cases) > 1:
                        return [(q, ip, steps, seen) for q in cases]
                    path = cases[0]
                    v = self.int_value(path, value, ins)
                    lo, hi = self.int_ranges[var]
                    inside = b.and_(b.le(lo, v), b.le(v, hi))
                    if self.decide(inside) is not True:
                        self.write(path, self.int_overflow_var, b.ite(inside, self.read(path, self.int_overflow_var), 1))
                        self.int_overflow_tasks.add(slot.task.index)
                        v = b.ite(inside, v, self.read(path, var))  # keep the variable in its domain
                    self.write(path, var, v)
                    ip += 1
                case IJump(target=target, span=span):
                    if target <= ip:
                        key = (target, *sorted((v, e.uid) for v, e in path.vals.items()))
                        if key in seen:
                            # Around the loop and back in the same state without suspending: on this
                            # path the task spins forever. Mark the state (a bound, see overflow()).
                            self.write(path, self.busy_var, slot.task.index + 1)
                            self.busy_spans[slot.task.index] = span or slot.span
                            return [(path, None, 0, seen)]
                        seen = seen | {key}
                    ip = target
                case ICounterSet(var=var, value=value):
                    self.write(path, var, value)
                    ip += 1
                case ICounterTest(var=var, hi=hi, exit=exit_ip):
                    cond = b.lt(self.read(path, var), hi)
                    if b.bool_value(cond) is not None:
                        ip = ip + 1 if b.bool_value(cond) else exit_ip
                        continue
                    return [(pth, ip + 1 if more else exit_ip, steps, seen) for pth, more in self.split(path, cond)]
                case ICounterInc(var=var):
                    self.write(path, var, b.add(self.read(path, var), 1))
                    ip += 1
                case IReturn():
                    return [(path, None, -1, seen)]

    def concretize(self, path: _Path, ins: ISetInt | IBranch) -> list[_Path]:
        """Split path on the value of every integer variable ins reads that is not yet known:
        their domains are small, and known values keep loops over them finite and exact."""
        paths = [path]
        for var in sorted(set(ins.vars.values())):
            paths = [q for pth in paths for q in self.concretize_var(pth, var)]
        return paths

    def int_value(self, path: _Path, e: p.IntExpr, ins: ISetInt | IBranch) -> Expr:
        b = self.b
        match e:
            case p.IntConst(value=v):
                return b.const(v)
            case p.ParamRef(name=name):
                return b.const(ins.env[name])
            case p.ReadInt(local=local):
                return self.read(path, ins.vars[local.index])
            case p.IntArith(op=op, left=x, right=y):
                xv, yv = self.int_value(path, x, ins), self.int_value(path, y, ins)
                return b.add(xv, yv) if op is p.ArithOp.ADD else b.sub(xv, yv)
        raise AssertionError(e)

    def condition(self, path: _Path, ins: IBranch) -> list[tuple[_Path, bool]]:
        """Every way ins.cond can come out on path: `choose()` forks, comparisons fork only when
        the state leaves them open."""
        b = self.b

        def go(pth: _Path, c: p.Cond) -> list[tuple[_Path, bool]]:
            match c:
                case p.Choose(span=span):
                    out = []
                    for holds in (True, False):
                        q = pth.copy() if holds else pth
                        self.event(q, EventKind.CHOSE, None, span=span, detail="true" if holds else "false")
                        out.append((q, holds))
                    return out
                case p.Compare(op=op, left=x, right=y):
                    xv, yv = self.int_value(pth, x, ins), self.int_value(pth, y, ins)
                    e = {p.CmpOp.LT: lambda: b.lt(xv, yv), p.CmpOp.LE: lambda: b.le(xv, yv),
                         p.CmpOp.GT: lambda: b.lt(yv, xv), p.CmpOp.GE: lambda: b.le(yv, xv),
                         p.CmpOp.EQ: lambda: b.eq(xv, yv), p.CmpOp.NE: lambda: b.ne(xv, yv)}[op]()
                    return self.split(pth, e)
                case p.NotCond(value=v):
                    return [(q, not holds) for q, holds in go(pth, v)]
                case p.AndCond(left=x, right=y):
                    out = []
                    for q, holds in go(pth, x):
                        out.extend(go(q, y) if holds else [(q, False)])
                    return out
                case p.OrCond(left=x, right=y):
                    out = []
                    for q, holds in go(pth, x):
                        out.extend([(q, True)] if holds else go(q, y))
                    return out
            raise AssertionError(c)

        return go(path, ins.cond)

    def preconditions(self, path: _Path, sel: ISelect) -> list[tuple[_Path, list[bool]]]:
        """Evaluate the `, if cond` of every branch (before any is polled); record them in the
        branches' flags, which keep a disabled borrowed branch unpolled until the select! ends."""
        b = self.b
        out: list[tuple[_Path, list[bool]]] = [(path, [True] * len(sel.arms))]
        for i, g in enumerate(sel.guards):
            s, owned, _h = sel.arms[i]
            if g is None and not (sel.fused and not owned):
                continue
            flag = sel.enabled_vars[i]
            assert flag is not None
            nxt = []
            for pth, enabled in out:
                cases: list[tuple[_Path, bool]] = []
                for q in self.concretize(pth, g) if g is not None else [pth]:
                    cases.extend(self.condition(q, g) if g is not None else [(q, True)])
                for q2, holds in cases:
                    if holds and sel.fused and not owned:  # a terminated (completed) future is skipped
                        done = PC_DONE if s.kind in (SlotKind.CODE, SlotKind.ROOT) else leaf_done(s.kind)
                        for q3, finished in self.split(q2, b.eq(self.read(q2, s.state_var), done)):
                            self.write(q3, flag, 0 if finished else 1)
                            nxt.append((q3, [*enabled[:i], not finished, *enabled[i + 1 :]]))
                        continue
                    self.write(q2, flag, 1 if holds else 0)
                    nxt.append((q2, [*enabled[:i], holds, *enabled[i + 1 :]]))
            out = nxt
        return out

    def select_won(self, path: _Path, sel: ISelect, i: int) -> int:
        """Arm i completed: drop the owned others, leave the borrowed ones dormant; the handler's ip."""
        winner, owned, handler = sel.arms[i]
        self.event(path, EventKind.SELECT_WON, winner, span=sel.span, detail=str(i + 1))
        self.reset_after_completion(path, winner, owned)
        for j, (s, o, _h) in enumerate(sel.arms):
            if j == i:
                continue
            if o:
                self.drop_slot(path, s)
                self.event(path, EventKind.DROPPED, s, span=s.span, detail="branch")
            elif s is not winner:
                self.event(path, EventKind.LEFT_DORMANT, s, span=s.span)
        for v in sel.enabled_vars:
            if v is not None:
                self.write(path, v, 0)
        return handler

    def join_progress(self, path: _Path, slot: Slot, ip: int) -> list[tuple[_Path, int | None]]:
        """After children of the join at ip completed: continue past it (all done) or stay (None)."""
        ins = slot.code[ip]
        assert isinstance(ins, IJoin)
        b = self.b
        all_done = b.and_(*(b.eq(self.read(path, c.state_var), PC_DONE) for c, _o in ins.children))
        out: list[tuple[_Path, int | None]] = []
        for pth, done in self.split(path, all_done):
            if done:
                for c, o in ins.children:
                    self.write(pth, c.state_var, PC_DEAD if o else PC_DONE)
                out.append((pth, ip + 1))
            else:
                self.write(pth, slot.state_var, slot.pc_of_ip[ip])
                out.append((pth, None))
        return out

    def complete(self, path: _Path, s: Slot, some: bool = True) -> list[_Path]:
        """s has completed while its parent polls it: resume the parent (and upward)."""
        parent = s.parent
        assert parent is not None
        if parent.kind is SlotKind.SET:
            return self.set_member_done(path, s)
        out: list[_Path] = []
        for pcv in sorted(s.polled_at):
            for pth, here in self.split(path.copy(), self.polled_here(path, s, pcv)):
                if not here:
                    continue
                ip = parent.ip_of_pc[pcv]
                ins = parent.code[ip]
                results: Outcome
                if isinstance(ins, IAwait):
                    self.reset_after_completion(pth, s, ins.owned)
                    resume = ins.on_none if (not some and ins.on_none >= 0) else ip + 1
                    results = self.run(pth, parent, resume)
                elif isinstance(ins, ISelect):
                    i = next(k for k, (a, _o, _h) in enumerate(ins.arms) if a is s)
                    results = self.run(pth, parent, self.select_won(pth, ins, i))
                else:
                    assert isinstance(ins, IJoin)
                    self.write(pth, s.state_var, PC_DONE)
                    results = []
                    for q, after_join in self.join_progress(pth, parent, ip):
                        nxt = after_join
                        results.extend([(q, False)] if nxt is None else self.run(q, parent, nxt))
                for q, done in results:
                    if not done:
                        out.append(q)
                    elif parent.kind is SlotKind.ROOT:
                        out.append(self.task_done(q, parent))
                    else:
                        out.extend(self.complete(q, parent))
        return out

    def polled_here(self, path: _Path | None, s: Slot, pcv: int) -> Expr:
        """s's parent polls s at pc value pcv (a select! branch: and its `if` held)."""
        b = self.b
        assert s.parent is not None

        def rd(v: int) -> Expr:
            return self.read(path, v) if path is not None else b.var(v)

        cond = b.eq(rd(s.parent.state_var), pcv)
        flag = self.enable_at.get((s.index, pcv))
        return cond if flag is None else b.and_(cond, b.eq(rd(flag), 1))

    def task_done(self, path: _Path, root: Slot) -> _Path:
        self.write(path, root.state_var, PC_DONE)
        self.event(path, EventKind.SHUTDOWN if root.task is self.main else EventKind.TASK_DONE, root)
        return path

    # -- activity --

    def chain(self, s: Slot) -> list[Slot]:
        out = []
        cur: Slot | None = s
        while cur is not None:
            out.append(cur)
            cur = cur.parent
        return out

    def shutdown(self) -> Expr:
        if self.main is None or self.main.root is None:
            return self.b.false
        return self.b.eq(self.b.var(self.main.root.state_var), PC_DONE)

    def alive(self, t: TaskInst) -> Expr:
        b = self.b
        assert t.root is not None
        pc = b.var(t.root.state_var)
        return b.and_(b.ne(pc, PC_DEAD), b.ne(pc, PC_DONE), b.not_(self.shutdown()))

    def active(self, s: Slot) -> Expr:
        b = self.b
        conds = [self.alive(s.task)]
        for x in self.chain(s)[:-1]:
            conds.append(b.or_(*(self.polled_here(None, x, v) for v in sorted(x.polled_at))))
        return b.and_(*conds)

    def contexts(self, s: Slot) -> Iterator[list[Expr]]:
        """Every assignment of parent pcs under which leaf s is polled, as conditions."""
        levels = [[self.polled_here(None, x, v) for v in sorted(x.polled_at)] for x in self.chain(s)[:-1]]
        for combo in product(*levels):
            yield list(combo)

    # -- transitions --

    def fresh(self) -> _Path:
        return _Path([], {}, set(), [])

    def finish(self, path: _Path) -> tuple[Expr, tuple[tuple[int, Expr], ...]]:
        # Once main has completed the runtime is shut down: nothing fires. (Last, so that the first
        # conjunct is the most selective one for the engines' dispatch.)
        guard = self.b.and_(*path.guard, self.b.not_(self.shutdown()))
        updates = tuple(sorted((v, path.vals[v]) for v in path.written if path.vals[v] is not self.b.var(v)))
        return guard, updates

    def leaf_events(self, s: Slot) -> Iterator[tuple[StepKind, _Path, list[_Path]]]:
        """For each context: (kind, pre-path, resulting paths) of every event of leaf s."""
        b = self.b
        sets = frozenset(x.index for x in self.chain(s) if x.kind is SlotKind.SET)
        for ctx in self.contexts(s):
            base = self.fresh()
            ok = all(self.assume(base, c) for c in ctx)
            if not ok:
                continue
            base.polled_sets = sets
            st = b.var(s.state_var)
            # First polls happen inline, when the task's code reaches the future (see poll);
            # these are the events that wake a task later.
            if s.kind is SlotKind.ACQUIRE and self.unfair(s.res):
                pth = base.copy()
                avail = self.resources[s.res].avail_var
                if self.assume(pth, b.and_(b.eq(st, ST_QUEUED), b.eq(b.var(avail), 1))):
                    self.write(pth, avail, 0)
                    self.write(pth, s.got_var, 1)
                    yield StepKind.COMPLETE, pth, self.finish_acquire(pth, s, self.binds(s))
            elif s.kind is SlotKind.ACQUIRE:
                pth = base.copy()
                if self.assume(pth, b.eq(st, ST_GRANTED)):
                    yield StepKind.COMPLETE, pth, self.finish_acquire(pth, s, self.binds(s))
            elif s.kind is SlotKind.NOTIFIED:
                for notified in (NT_NOTIFIED, NT_NOTIFIED_ALL):
                    pth = base.copy()
                    if self.assume(pth, b.eq(st, notified)):
                        yield StepKind.COMPLETE, pth, self.complete(pth, s)
            elif s.kind is SlotKind.SLEEP:
                pth = base.copy()
                if self.assume(pth, b.eq(st, 1)) and (s.rem_var < 0 or self.assume(pth, b.eq(b.var(s.rem_var), 0))):
                    self.write(pth, s.state_var, 0)
                    yield StepKind.FIRE, pth, self.complete(pth, s)
            elif s.kind is SlotKind.YIELD:
                pth = base.copy()
                if self.assume(pth, b.eq(st, 2)):
                    self.write(pth, s.state_var, 0)
                    yield StepKind.COMPLETE, pth, self.complete(pth, s)
            elif s.kind is SlotKind.JOIN:
                assert s.target is not None and s.target.root is not None
                pth = base.copy()
                if self.assume(pth, b.and_(b.eq(st, 1), b.eq(b.var(s.target.root.state_var), PC_DONE))):
                    self.write(pth, s.state_var, 0)
                    yield StepKind.COMPLETE, pth, self.complete(pth, s)
            elif s.kind is SlotKind.RECV:
                msgs = b.var(self.resources[s.res].msgs_var)
                pth = base.copy()
                if self.assume(pth, b.and_(b.eq(st, 1), b.lt(0, msgs))):
                    self.take_message(pth, s)
                    self.write(pth, s.state_var, 0)
                    yield StepKind.COMPLETE, pth, self.complete(pth, s, some=True)
                pth = base.copy()
                if self.assume(pth, b.and_(b.eq(st, 1), b.eq(msgs, 0), self.closed(s.res))):
                    self.write(pth, s.state_var, 0)
                    self.event(pth, EventKind.CLOSED, s, s.res, s.span)
                    yield StepKind.COMPLETE, pth, self.complete(pth, s, some=False)

    def binds(self, s: Slot) -> bool:
        par = s.parent
        assert par is not None
        return any(isinstance(i, IAwait) and i.slot is s and i.bind for i in par.code)

    def finish_acquire(self, path: _Path, s: Slot, bind: bool) -> list[_Path]:
        self.acquired(path, s, bind)
        return self.complete(path, s)

    def acquired(self, path: _Path, s: Slot, bind: bool) -> None:
        """s holds all its permits and completes: a send pushes its message (the permit travels
        with it), a kept guard/permit is held, an unkept one is released at once."""
        b = self.b
        if s.pos_var >= 0:
            self.write(path, s.pos_var, 0)
        if s.purpose is p.Purpose.SEND:
            self.write(path, s.state_var, ST_IDLE)
            self.write(path, s.got_var, 0)
            self.push_message(path, s.res)
            self.event(path, EventKind.SENT, s, s.res, s.span)
        elif bind:
            self.write(path, s.state_var, ST_HELD)
            self.event(path, EventKind.ACQUIRED, s, s.res, s.span)
        else:
            self.write(path, s.state_var, ST_IDLE)
            self.write(path, s.got_var, 0)
            self.event(path, EventKind.ACQUIRED, s, s.res, s.span)
            self.release(path, s.res, b.const(s.count))
            self.event(path, EventKind.RELEASED, s, s.res, s.span)

    # -- channel closure and producers --

    def producers(self, r: int) -> list[Slot]:
        """Code slots that contain a send on resource r (directly in their own code)."""
        out = []
        for s in self.slots:
            if s.kind is SlotKind.ACQUIRE and s.res == r and s.purpose in (p.Purpose.SEND, p.Purpose.RESERVE):
                assert s.parent is not None
                out.append(s.parent)
            if s.kind in (SlotKind.CODE, SlotKind.ROOT):
                for ins in s.code:
                    if isinstance(ins, ITrySend | IOneshotSend | INotify) and ins.res == r:
                        out.append(s)
                        break
        return list(dict.fromkeys(out))

    def may_run(self, t: TaskInst) -> Expr:
        b = self.b
        assert t.root is not None
        if t.spawner is None:
            return self.alive(t)
        return b.or_(self.alive(t), b.and_(b.eq(b.var(t.root.state_var), PC_DEAD), self.may_run(t.spawner)))

    def closed(self, r: int) -> Expr:
        tasks = list(dict.fromkeys(s.task for s in self.producers(r)))
        return self.b.and_(*(self.b.not_(self.may_run(t)) for t in tasks))

    def transitions(self) -> list[Transition[StepLabel]]:
        b = self.b
        out: list[Transition[StepLabel]] = []
        shut = self.shutdown()

        seen: set[tuple[int, int, tuple[tuple[int, int], ...]]] = set()

        def add(guard: Expr, updates: tuple[tuple[int, Expr], ...], prio: int, label: StepLabel) -> None:
            if self.decide(guard) is False:
                return
            # Different poll orders (select! start branches) often have the same effect: keep one.
            key = (prio, guard.uid, tuple((v, e.uid) for v, e in updates))
            if key in seen:
                return
            seen.add(key)
            out.append(Transition(len(out), guard, updates, prio, label, label.task))

        for t in self.tasks:
            root = t.root
            assert root is not None
            self.budget.status = f"task {t.name}"
            self.budget.check()
            pth = self.fresh()
            self.assume(pth, b.eq(b.var(root.state_var), PC_ENTRY))
            self.assume_fresh(pth, root)
            pre = list(pth.guard)
            for q, done in self.run(pth, root, 0):
                if done:
                    q = self.task_done(q, root)
                g, u = self.finish(q)
                add(g, u, 0, StepLabel(t.index, StepKind.START, root.index, root.span, tuple(q.events)))
            del pre
        # Leaf events. Biased selects: arm i may only make progress while no earlier arm is ready.
        pending: list[tuple[Slot, StepKind, Expr, tuple[tuple[int, Expr], ...], tuple[Event, ...]]] = []
        ready_guards: dict[int, list[Expr]] = {}
        for s in self.slots:
            if s.kind not in LEAF_KINDS:
                continue
            self.budget.status = f"events of '{s.label}' in task {s.task.name}"
            self.budget.check()
            for kind, pre_path, results in self.leaf_events(s):
                for q in results:
                    g, u = self.finish(q)
                    pending.append((s, kind, g, u, tuple(q.events)))
                    # Untimed, a pending timer *may* fire at any moment; it is not ready before
                    # it does, so it does not hold back the later branches of a biased select!.
                    if not (s.kind is SlotKind.SLEEP and self.time is TimeMode.UNTIMED):
                        ready_guards.setdefault(s.index, []).append(g)
                del pre_path
        for s, kind, g, u, events in pending:
            extra = self.biased_constraints(s, ready_guards)
            add(b.and_(g, extra), u, 0, StepLabel(s.task.index, kind, s.index, s.span, events))
        if self.time is TimeMode.EXACT:
            sleeps = [s for s in self.slots if s.kind is SlotKind.SLEEP]
            if sleeps:
                big = max(s.ms for s in sleeps) + 1
                pend = {s.index: b.and_(b.eq(b.var(s.state_var), 1), b.lt(0, b.var(s.rem_var))) for s in sleeps}
                delta: Expr = b.const(big)
                for s in sleeps:
                    delta = b.min_(delta, b.ite(pend[s.index], b.var(s.rem_var), big))
                guard = b.and_(b.or_(*pend.values()), b.not_(shut))
                updates = tuple(
                    (s.rem_var, b.ite(pend[s.index], b.sub(b.var(s.rem_var), delta), b.var(s.rem_var))) for s in sleeps
                )
                add(guard, updates, 1, StepLabel(-1, StepKind.ADVANCE, -1, None, ()))
        del shut
        return out

    def biased_constraints(self, s: Slot, ready_guards: dict[int, list[Expr]]) -> Expr:
        b = self.b
        conds = []
        for x in self.chain(s)[:-1]:
            par = x.parent
            assert par is not None
            for ins in par.code:
                if isinstance(ins, ISelect) and ins.biased:
                    arms = [a for a, _o, _h in ins.arms]
                    if x in arms:
                        i = arms.index(x)
                        for earlier in arms[:i]:
                            ready = b.or_(*(g for d in self.descendants(earlier) for g in ready_guards.get(d.index, [])))
                            conds.append(b.not_(ready))
        return b.and_(*conds)

    # -- the wait-for graph --

    def wait_graph(self) -> WaitGraph:
        b = self.b
        nodes: list[WaitNode] = []
        edges: list[WaitEdge] = []
        active = {s.index: self.active(s) for s in self.slots}
        live: dict[int, Expr] = {}
        for s in self.slots:
            v = b.var(s.state_var)
            if s.kind in (SlotKind.ROOT, SlotKind.CODE):
                live[s.index] = b.and_(b.ne(v, PC_DEAD), b.ne(v, PC_DONE))
            elif s.kind is SlotKind.ACQUIRE:
                live[s.index] = b.or_(b.eq(v, ST_QUEUED), b.eq(v, ST_GRANTED))
            elif s.kind is SlotKind.NOTIFIED:
                live[s.index] = b.or_(b.eq(v, NT_WAITING), b.eq(v, NT_NOTIFIED), b.eq(v, NT_NOTIFIED_ALL))
            elif s.kind is SlotKind.SET:
                live[s.index] = b.and_(b.eq(v, 1), b.or_(*(self.member_alive(self.fresh(), m) for m in s.children)))
            else:
                live[s.index] = b.and_(b.ne(v, 0), b.ne(v, leaf_done(s.kind)))
        for s in self.slots:
            v = b.var(s.state_var)
            act = active[s.index]
            if s.kind is SlotKind.ROOT:
                ready = b.eq(v, PC_ENTRY)
            elif s.kind in (SlotKind.CODE, SlotKind.SET):
                ready = b.false
            elif s.kind is SlotKind.ACQUIRE and self.unfair(s.res):
                ready = b.and_(act, b.eq(v, ST_QUEUED), b.eq(b.var(self.resources[s.res].avail_var), 1))
            elif s.kind is SlotKind.ACQUIRE:
                ready = b.and_(act, b.eq(v, ST_GRANTED))
            elif s.kind is SlotKind.NOTIFIED:
                ready = b.and_(act, b.or_(b.eq(v, NT_NOTIFIED), b.eq(v, NT_NOTIFIED_ALL)))
            elif s.kind in (SlotKind.SLEEP, SlotKind.YIELD):
                ready = act
            elif s.kind is SlotKind.RECV:
                info = self.resources[s.res]
                ready = b.and_(act, b.or_(b.lt(0, b.var(info.msgs_var)), self.closed(s.res)))
            else:
                assert s.target is not None and s.target.root is not None
                ready = b.and_(act, b.eq(b.var(s.target.root.state_var), PC_DONE))
            dormant = b.and_(live[s.index], b.not_(act)) if s.kind is not SlotKind.ROOT else b.false
            nodes.append(WaitNode(f"{s.task.name}:{s.label}", live[s.index], ready, dormant))
        for s in self.slots:
            act = active[s.index]
            root = s.task.root
            assert root is not None
            for c in s.children:
                cond = active[c.index]
                if c.kind in (SlotKind.CODE,):
                    cond = b.and_(cond, b.ne(b.var(c.state_var), PC_DONE))
                edges.append(WaitEdge(s.index, c.index, cond, EdgeKind.POLLS))
            if s.kind is not SlotKind.ROOT:
                edges.append(WaitEdge(s.index, root.index, b.and_(nodes[s.index].dormant, self.returns(s)),
                                      EdgeKind.RETURN))
            if s.kind is SlotKind.ACQUIRE:
                queued = b.and_(act, b.eq(b.var(s.state_var), ST_QUEUED))
                for o in self.waiters[s.res]:
                    if o is s:
                        continue
                    ost = b.var(o.state_var)
                    assert o.parent is not None
                    edges.append(WaitEdge(s.index, o.parent.index, b.and_(queued, b.eq(ost, ST_HELD)),
                                          EdgeKind.RESOURCE, s.res))
                    if self.unfair(s.res):
                        continue  # no queue: nobody is ahead, nothing is handed over
                    ahead = b.or_(b.eq(ost, ST_GRANTED),
                                  b.and_(b.eq(ost, ST_QUEUED), b.lt(b.var(o.pos_var), b.var(s.pos_var))))
                    edges.append(WaitEdge(s.index, o.index, b.and_(queued, ahead), EdgeKind.RESOURCE, s.res))
                info = self.resources[s.res]
                if info.kind is p.ResKind.CHANNEL:
                    receivers = list(dict.fromkeys(r.task for r in self.slots if r.kind is SlotKind.RECV and r.res == s.res))
                    for t in receivers:
                        assert t.root is not None
                        edges.append(WaitEdge(s.index, t.root.index, b.and_(queued, b.lt(0, b.var(info.msgs_var))),
                                              EdgeKind.RESOURCE, s.res))
            elif s.kind in (SlotKind.RECV, SlotKind.NOTIFIED):
                waiting = b.and_(act, b.eq(b.var(s.state_var), 1))
                for o in self.notified.get(s.res, []) if s.kind is SlotKind.NOTIFIED else []:
                    # a notification o received but has not consumed comes to us if o is dropped
                    if o is not s:
                        edges.append(WaitEdge(s.index, o.index, b.and_(waiting, b.eq(b.var(o.state_var), NT_NOTIFIED)),
                                              EdgeKind.RESOURCE, s.res))
                for prod in self.producers(s.res):
                    proot = prod.task.root
                    assert proot is not None
                    edges.append(WaitEdge(s.index, prod.index, b.and_(waiting, live[prod.index]),
                                          EdgeKind.PRODUCER, s.res))
                    if prod is not proot:
                        edges.append(WaitEdge(s.index, proot.index,
                                              b.and_(waiting, b.not_(live[prod.index]), self.may_run(prod.task)),
                                              EdgeKind.PRODUCER, s.res))
                    if prod.task.spawner is not None and prod.task.spawner.root is not None:
                        sp = prod.task.spawner.root
                        edges.append(WaitEdge(s.index, sp.index,
                                              b.and_(waiting, b.eq(b.var(proot.state_var), PC_DEAD),
                                                     self.may_run(prod.task)), EdgeKind.PRODUCER, s.res))
            elif s.kind is SlotKind.JOIN:
                assert s.target is not None and s.target.root is not None
                edges.append(WaitEdge(s.index, s.target.root.index,
                                      b.and_(act, b.eq(b.var(s.state_var), 1)), EdgeKind.PRODUCER))
        roots = tuple(WaitRoot(t.name, t.root.index, self.alive(t)) for t in self.tasks if t.root is not None)
        edges = [e for e in edges if b.bool_value(e.cond) is not False]
        return WaitGraph(tuple(nodes), tuple(edges), roots)

    def returns(self, s: Slot) -> Expr:
        """Will the task come back to poll s? False when no path of its owner awaits it again."""
        b = self.b
        conds = []
        for x in self.chain(s)[:-1]:
            if not x.is_var:
                continue
            assert x.parent is not None
            later = b.or_(*(b.eq(b.var(x.parent.state_var), v) for v in sorted(x.used_later_at)))
            conds.append(b.or_(self.active(x), later))
        return b.and_(*conds)

    def symmetry(self) -> tuple[tuple[tuple[int, ...], ...], ...]:
        """`task NAME[N]`: the N copies (with the tasks each spawns) are interchangeable."""
        def closure(t: TaskInst) -> set[int]:
            out = {t.index}
            for u in self.tasks:
                if u.spawner is not None and u.spawner.index in out:
                    out.add(u.index)
            return out

        groups = []
        for td in self.prog.tasks:
            if td.copies < 2:
                continue
            copies = [t for t in self.tasks if t.spawner is None and t.name.startswith(f"{td.name}[")]
            blocks = []
            for t in copies:
                owned = closure(t)
                blocks.append(tuple(v for v, owner in enumerate(self.var_task) if owner in owned))
            if len({len(bl) for bl in blocks}) == 1:
                groups.append(tuple(blocks))
        return tuple(groups)

    def bounds(self) -> tuple[Bound, ...]:
        """The states that leave what mcheck models: explored no further, they make a run
        inconclusive unless a stuck state is found elsewhere."""
        out = [Bound(r.msgs_var, p.UNBOUNDED_LIMIT + 1,
                     f"the unbounded channel '{r.name}' held more than {p.UNBOUNDED_LIMIT} messages")
               for r in self.resources if r.kind is p.ResKind.CHANNEL and not r.bounded]
        out.append(Bound(self.respawn_var, 1, "a spawn ran again while the task it started before was still running"))
        if self.int_overflow_tasks:
            names = ", ".join(t.name for t in self.tasks if t.index in self.int_overflow_tasks)
            out.append(Bound(self.int_overflow_var, 1, f"an integer variable (in {names}) left the range mcheck "
                             "gave it (the numbers its code uses, widened by one step)"))
        if self.push_overflow_spans:
            span = self.push_overflow_spans[0]
            where = f" (line {span.line})" if span else ""
            out.append(Bound(self.push_overflow_var, 1, f"a set.push(...) inside a loop{where} had {SET_SITE_COPIES} "
                             "of its futures in the set and pushed another"))
        if self.panic_spans:
            span = self.panic_spans[0]
            where = f" (line {span.line})" if span else ""
            out.append(Bound(self.panic_var, 1, f"a select!{where} had every branch disabled and no else branch, "
                             "which panics"))
        for t in self.tasks:
            if t.index in self.busy_spans:
                span = self.busy_spans[t.index]
                where = f" (the loop at line {span.line})" if span else ""
                out.append(Bound(self.busy_var, t.index + 1,
                                 f"task {t.name} can go round a loop without suspending{where}: a busy loop"))
        return tuple(out)


def compile_program(prog: p.Program, source: Source, time: TimeMode, budget: Budget | None = None) -> CompiledModel:
    inst = Instantiator(prog, source)
    inst.run()
    prog = inst.prog  # with the RwLocks sized
    comp = _Compiler(inst, prog, time, budget or Budget())
    comp.allocate()
    transitions = comp.transitions()
    waits = comp.wait_graph()
    bounds = comp.bounds()
    b = comp.b
    overflow = b.or_(*(b.eq(b.var(x.var), x.value) for x in bounds))
    ts = TransitionSystem(tuple(comp.vars), tuple(transitions), waits, overflow, b, comp.symmetry())
    slots = tuple(
        SlotInfo(
            s.index, s.kind, s.task.index, s.parent.index if s.parent else -1, s.label, s.span, s.is_var,
            s.state_var, s.pos_var, s.got_var, s.rem_var, s.res, s.count, s.purpose,
        )
        for s in inst.slots
    )
    tasks = tuple(TaskInfo(t.index, t.name, t.root.index if t.root else -1, t.span) for t in inst.tasks)
    return CompiledModel(source, prog, time, ts, slots, tuple(comp.resources), tasks, bounds)
