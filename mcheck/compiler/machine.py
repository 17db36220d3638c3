"""The poll machine: slots and control-flow graphs (instantiate.py) -> micro-step transitions.

Each transition is one operation of one task (NOTE(poll-machine)): the event that wakes it, one
instruction of one code future, one poll of a child, one answer travelling back to a parent.
Primitives give leaf futures their meaning (mcheck/compiler/sync/, time.py, tasks.py, sets.py);
this module gives futures their structure: code, await, select!, join!, poll!, sets, and the
cursor that walks the future tree during a poll. It builds no wait-for graph (waits.py) and knows
no primitive's insides.

NOTE(poll-machine): one poll of a task is a sequence of micro-steps. A task is woken by a trigger
(it starts, or a leaf it polls becomes ready: a permit handed over, a timer firing, a message
arriving); the trigger marks the task running and hands the result to the leaf's parent. From
there the task's `cur` variable names the future being executed and `ret` what a child just
answered (0: nothing, the future is arriving at its instruction). A code future runs instruction
by instruction; awaiting a child polls it at once: a leaf answers inline, a code future or a set
gets the cursor and answers Ready or Pending back to its parent. A future that suspends answers
Pending, up to the task's root, and the poll ends (`cur` = 0). On the current-thread runtime
`running` keeps every other task out until then (like SPIN's d_step: TransitionSystem.atomic), so
engines count polls; on the multi-thread runtime other tasks' operations interleave. A poll that
goes round its loops more than MAX_SPINS times without suspending is a busy loop: a bound.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

from mcheck import program as p
from mcheck.budget import Budget
from mcheck.compiler import sets, tasks
from mcheck.compiler.pending import Pending
from mcheck.compiler.step import Domains, Step
from mcheck.compiler.sync import LeafSemantics, Res, once_cell
from mcheck.compiler.sync import oneshot as oneshot_mod
from mcheck.compiler.sync import semaphore as sem
from mcheck.compiler.sync.mpsc import Channels, Recv, message_vars
from mcheck.compiler.sync.notify import Notified, notify, register, unregistered
from mcheck.compiler.sync.unfair_mutex import UnfairLock
from mcheck.compiler.sync.unfair_mutex import release as unfair_release
from mcheck.compiler.time import Sleep, Yield
from mcheck.instantiate import (
    IAbort,
    IAwait,
    IChoose,
    ICounterInc,
    ICounterSet,
    ICounterTest,
    ICreate,
    IDrop,
    IEnable,
    IFlagUnfinished,
    IHeldTest,
    IJoin,
    IJump,
    INotify,
    Instantiator,
    IOnceSet,
    IOnceTest,
    IOneshotNew,
    IOneshotSend,
    IPermitSend,
    IPollOnce,
    IPush,
    IRelease,
    IReplyDrop,
    IReplySend,
    IReturn,
    ISelect,
    ISetInt,
    ISpawn,
    ITest,
    ITryAcquire,
    ITrySend,
    Slot,
    TaskInst,
)
from mcheck.ir import Expr, ExprBuilder, Op, Transition, VarDecl, WaitEdge
from mcheck.model import (
    LEAF_KINDS,
    PC_DEAD,
    PC_DONE,
    PC_ENTRY,
    EventKind,
    ResourceInfo,
    SlotKind,
    StepKind,
    StepLabel,
    TimeMode,
)
from mcheck.source import Span

MAX_SPINS = 250
"""Loop iterations one poll may run without suspending; one more is a busy loop (a bound)."""

MAX_FUSED = 64
"""Operations one micro-step may run in a row before it hands over to the next transition (it
stops earlier at any split): keeps each transition's expressions small."""

PC_CODE = 3  # the program counter of instruction ip of a code future is PC_CODE + ip


Answer = Callable[[Step, Res, bool], list[Step]]
"""What a parent does with a child's answer: (the step, the answer, may the step go on)."""


class Runtime:
    CURRENT_THREAD = "current-thread"
    MULTI_THREAD = "multi-thread"


class Compiler:
    def __init__(self, inst: Instantiator, prog: p.Program, time: TimeMode, runtime: str, budget: Budget,
                 shared: frozenset[int] | None = None) -> None:
        self.prog = prog
        self.time = time
        self.runtime = runtime
        self.atomic = runtime == Runtime.CURRENT_THREAD
        # Multi-thread: the variables through which tasks interact (shared_vars). A step stops
        # after its first operation on one of them; None: not known yet, so nothing is fused.
        self.shared = shared
        self._vars_of: dict[int, frozenset[int]] = {}
        self.budget = budget
        self.b = ExprBuilder()
        self.vars: list[VarDecl] = []
        self.var_task: list[int] = []  # variable -> the task instance that owns it, or -1 for shared ones
        self.dom = Domains(self.b, self.vars)
        self.inst = inst
        self.slots = inst.slots
        self.tasks = inst.tasks
        self.resources: list[ResourceInfo] = []
        self.waiters: dict[int, list[Slot]] = {r.index: [] for r in prog.resources}
        self.notified: dict[int, list[Slot]] = {r.index: [] for r in prog.resources}
        self.main: TaskInst | None = next((t for t in inst.tasks if t.name == "main"), None)
        self.mpsc = Channels(self)
        self.transitions: list[Transition[StepLabel]] = []
        self.int_ranges: dict[int, tuple[int, int]] = {}
        self.int_overflow_tasks: set[int] = set()
        self.push_overflow_spans: list[Span | None] = []
        self.panic_spans: list[Span | None] = []
        self.busy_spans: dict[int, Span | None] = {}
        self.enable_at: dict[tuple[int, int], int] = {}  # (select arm, parent pc) -> its `if` flag
        self.allocating_task = -1
        self.local: dict[int, int] = {}  # slot index -> 1 + its position among its task's slots
        self.task_slots: dict[int, list[Slot]] = {t.index: [] for t in self.tasks}
        self.sub_vars: dict[tuple[int, int], tuple[int, int]] = {}  # (slot, ip) -> (select!/join! position, start)
        self.scan_var: dict[int, int] = {}  # set slot -> the member its next() is polling
        self.semantics: dict[int, LeafSemantics] = {}
        self._kinds = {SlotKind.RECV: Recv(self), SlotKind.NOTIFIED: Notified(self), SlotKind.SLEEP: Sleep(self),
                       SlotKind.YIELD: Yield(self), SlotKind.JOIN: tasks.JoinHandle(self),
                       SlotKind.PENDING: Pending(self)}
        self._acquire, self._unfair = sem.Acquire(self), UnfairLock(self)

    # ---- variables ------------------------------------------------------------------------------

    def new_var(self, name: str, lo: int, hi: int, init: int) -> int:
        """A state variable with domain lo..hi, owned by the task whose slot is being allocated."""
        self.vars.append(VarDecl(name, lo, hi, init))
        self.var_task.append(self.allocating_task)
        return len(self.vars) - 1

    def var_name(self, s: Slot) -> str:
        return f"{s.task.name}:{s.label}#{s.index}"

    def leaf_semantics(self, s: Slot) -> LeafSemantics:
        if s.kind is SlotKind.ACQUIRE:
            return self._unfair if self.unfair(s.res) else self._acquire
        return self._kinds[s.kind]

    def unfair(self, r: int) -> bool:
        return self.prog.resources[r].kind is p.ResKind.UNFAIR_MUTEX

    def allocate(self) -> None:
        self.respawn_var = self.new_var("spawned while still running", 0, 1, 0)
        self.sender_var: dict[int, int] = {}  # a oneshot made per request -> its Sender's state (oneshot.py)
        self.reply_clash_spans: list[Span | None] = []
        self.reply_clash_var = self.new_var("a oneshot made again while its Sender was in a message", 0, 1, 0) \
            if self.inst.made_oneshots else -1
        self.busy_var = self.new_var("task in a busy loop (index + 1)", 0, len(self.tasks), 0)
        self.int_overflow_var = self.new_var("an integer variable left its range", 0, 1, 0)
        self.push_overflow_var = self.new_var("a push site had no free future left", 0, 1, 0)
        self.panic_var = self.new_var("a select! had every branch disabled and no else", 0, 1, 0)
        self.running_var = self.new_var("running (task index + 1)", 0, len(self.tasks), 0) if self.atomic else -1
        for s in self.slots:
            if s.kind is SlotKind.ACQUIRE:
                self.waiters[s.res].append(s)
            if s.kind is SlotKind.NOTIFIED:
                self.notified[s.res].append(s)
            self.task_slots[s.task.index].append(s)
            self.local[s.index] = len(self.task_slots[s.task.index])
        for r in self.prog.resources:
            self.resources.append(self.resource_vars(r))
        self.cur_var: dict[int, int] = {}
        self.ret_var: dict[int, int] = {}
        self.spin_var: dict[int, int] = {}
        for t in self.tasks:
            self.allocating_task = t.index
            n = len(self.task_slots[t.index])
            self.cur_var[t.index] = self.new_var(f"{t.name}.cur", 0, n, 0)
            self.ret_var[t.index] = self.new_var(f"{t.name}.ret", 0, 3 * n, 0)
            self.spin_var[t.index] = self.new_var(f"{t.name}.spin", 0, MAX_SPINS, 0)
            for s in self.task_slots[t.index]:
                self.allocate_slot(s)
        self.allocating_task = -1
        # futures::select! skips a borrowed future that has completed. A leaf whose completed
        # state is its idle one (an acquire whose guard nobody kept) gets a flag that says so.
        self.fused_var: dict[int, int] = {}
        for s in self.slots:
            for ins in s.code:
                if isinstance(ins, IFlagUnfinished) and ins.slot.kind in LEAF_KINDS \
                        and ins.slot.index not in self.fused_var and self.leaf_semantics(ins.slot).done_state(ins.slot) == 0:
                    self.allocating_task = ins.slot.task.index
                    self.fused_var[ins.slot.index] = self.new_var(f"{self.var_name(ins.slot)}.terminated", 0, 1, 0)
        self.allocating_task = -1
        # The future tree in preorder: a slot's descendants are the positions subtree[s] = (its
        # own, one past its last descendant's); slot_order maps each slot variable to its slot's.
        self.subtree: dict[int, tuple[int, int]] = {}
        self.slot_order: dict[int, int] = {}
        preorder = [d for root in self.slots if root.parent is None for d in self.descendants(root)]
        for i, d in enumerate(preorder):
            self.subtree[d.index] = (i, i + 1)
            for v in (d.state_var, d.pos_var, d.got_var, d.rem_var):
                if v >= 0:
                    self.slot_order[v] = i
        for d in reversed(preorder):
            if d.children:
                self.subtree[d.index] = (self.subtree[d.index][0], self.subtree[d.children[-1].index][1])
        self.poll_sites: dict[int, list[int]] = {}  # child slot -> the instructions of its parent that poll it
        for s in self.slots:
            if s.kind in (SlotKind.ROOT, SlotKind.CODE):
                for ip, ins in enumerate(s.code):
                    for c in _polled_by(ins):
                        self.poll_sites.setdefault(c.index, []).append(ip)
                    if isinstance(ins, IAwait):
                        ins.slot.polled_at.add(self.pcv(ip))
                    elif isinstance(ins, ISelect):
                        for i, (arm, _owned, _h) in enumerate(ins.arms):
                            arm.polled_at.add(self.pcv(ip))
                            flag = ins.enabled_vars[i]
                            if flag is not None:
                                self.enable_at[(arm.index, self.pcv(ip))] = flag
                    elif isinstance(ins, IJoin):
                        for c, _owned in ins.children:
                            c.polled_at.add(self.pcv(ip))
                self.compute_used_later(s)
            if s.kind is SlotKind.SET:
                for m in s.children:
                    m.polled_at.add(1)  # polled while the set exists and is itself polled

    def resource_vars(self, r: p.Resource) -> ResourceInfo:
        """A semaphore's available permits (semaphore.py, unfair_mutex.py, a bounded channel's
        capacity), a channel's queued messages (mpsc.py), a oneshot's or OnceCell's value
        (oneshot.py, once_cell.py), a Notify's stored permit (notify.py)."""
        avail = msgs = -1
        if r.kind in sem.KINDS or r.kind is p.ResKind.UNFAIR_MUTEX or (r.kind is p.ResKind.CHANNEL and r.bounded):
            avail = self.new_var(f"{r.name}.available", 0, r.permits, r.permits)
        values: tuple[int, ...] = ()
        if r.kind is p.ResKind.CHANNEL:
            msgs = self.new_var(f"{r.name}.queued", 0, self.mpsc_bound(r), 0)
            values = message_vars(self, r)
        if r.kind in (p.ResKind.ONESHOT, p.ResKind.ONCE_CELL):
            msgs = self.new_var(f"{r.name}.value", 0, 1, 0)
        if oneshot_mod.made(self, r.index):
            oneshot_mod.allocate_sender(self, r.index, r.name)
        if r.kind is p.ResKind.NOTIFY:
            msgs = self.new_var(f"{r.name}.permit", 0, 1, 0)
        return ResourceInfo(r.index, r.name, r.kind, r.permits, r.bounded, r.span, avail, msgs, values)

    @staticmethod
    def mpsc_bound(r: p.Resource) -> int:
        return r.permits if r.bounded else p.UNBOUNDED_LIMIT + 1

    def allocate_slot(self, s: Slot) -> None:
        name = self.var_name(s)
        if s.kind in (SlotKind.ROOT, SlotKind.CODE):
            init = PC_ENTRY if s.kind is SlotKind.ROOT and s.task.initial else PC_DEAD
            s.state_var = self.new_var(f"{name}.pc", 0, PC_CODE + len(s.code) - 1, init)
            mapping: dict[int, int] = {}
            for ph, lo, hi in s.counters:
                mapping[ph] = self.new_var(f"{name}.int{len(mapping)}", lo, hi, max(lo, min(0, hi)))
                self.int_ranges[mapping[ph]] = (lo, hi)
            self.remap(s, mapping)
            for ip, ins in enumerate(s.code):
                if isinstance(ins, ISelect):
                    n = len(ins.arms)
                    pos = self.new_var(f"{name}.select@{ip}", 0, n, 0)
                    start = self.new_var(f"{name}.select@{ip}.start", 0, n - 1, 0) if not ins.biased and n > 1 else -1
                    self.sub_vars[(s.index, ip)] = (pos, start)
                elif isinstance(ins, IJoin):
                    self.sub_vars[(s.index, ip)] = (self.new_var(f"{name}.join@{ip}", 0, len(ins.children), 0), -1)
        elif s.kind is SlotKind.SET:
            s.state_var = self.new_var(f"{name}.exists", 0, 1, 0)
            self.scan_var[s.index] = self.new_var(f"{name}.scan", 0, len(s.children), 0)
        else:
            self.leaf_semantics(s).allocate(s)

    def remap(self, s: Slot, mapping: dict[int, int]) -> None:
        """Instantiate's placeholders for s's integer variables and flags become its variables."""
        for ins in s.code:
            if isinstance(ins, ICounterSet | ICounterTest | ICounterInc | ISetInt | IFlagUnfinished):
                ins.var = mapping[ins.var]
            if isinstance(ins, ISetInt | ITest):
                ins.vars = {local: mapping[ph] for local, ph in ins.vars.items()}
            if isinstance(ins, IReplySend):
                ins.var = mapping.get(ins.var, ins.var)
            if isinstance(ins, IReplySend | IReplyDrop):
                ins.message = mapping.get(ins.message, ins.message)
            if isinstance(ins, ISelect):
                ins.enabled_vars = [None if ph is None else mapping[ph] for ph in ins.enabled_vars]
        for c in self.descendants(s):  # placeholders are unique: only s's own are in mapping
            if c.first_var is not None and c.first_var in mapping:
                c.first_var = mapping[c.first_var]
            if c.fill_var is not None and c.fill_var in mapping:
                c.fill_var = mapping[c.fill_var]
            if c.bind_var is not None and c.bind_var in mapping:
                c.bind_var = mapping[c.bind_var]

    @staticmethod
    def pcv(ip: int) -> int:
        return PC_CODE + ip

    def compute_used_later(self, s: Slot) -> None:
        """For each let-bound child: the pcs of s from which a later use of it is reachable."""
        code = s.code
        for v in s.children:
            if not v.is_var:
                continue
            reach = [False] * len(code)
            changed = True
            while changed:
                changed = False
                for ip in range(len(code) - 1, -1, -1):
                    if reach[ip]:
                        continue
                    ins = code[ip]
                    if v in _uses(ins):
                        reach[ip] = True
                        changed = True
                    elif isinstance(ins, IDrop) and ins.slot is v:
                        continue
                    elif any(reach[n] for n in _successors(ins, ip) if n < len(code)):
                        reach[ip] = True
                        changed = True
            for ip, ins in enumerate(code):
                if isinstance(ins, IAwait | ISelect | IJoin) and any(reach[n] for n in _successors(ins, ip) if n < len(code)):
                    v.used_later_at.add(self.pcv(ip))

    # ---- the future tree --------------------------------------------------------------------------

    def descendants(self, s: Slot) -> Iterator[Slot]:
        stack = [s]
        while stack:
            x = stack.pop()
            yield x
            stack.extend(reversed(x.children))

    def owned_descendants(self, s: Slot) -> Iterator[Slot]:
        """s and what is inside it, but not the let-bound futures it borrows (Slot.borrows)."""
        stack = [s]
        while stack:
            x = stack.pop()
            yield x
            if not x.borrows:
                stack.extend(reversed(x.children))

    def chain(self, s: Slot) -> list[Slot]:
        out = []
        cur: Slot | None = s
        while cur is not None:
            out.append(cur)
            cur = cur.parent
        return out

    def create(self, st: Step, s: Slot) -> None:
        if s.kind in (SlotKind.CODE, SlotKind.ROOT):
            st.write(s.state_var, PC_ENTRY)
            if s.borrows:
                return  # what it awaits lives on outside it, in whatever state it is in
            # Everything inside a new future is idle: it already is in every reachable state (a
            # completed or dropped future resets what it contains), and saying so lets the steps
            # that follow (and compose.py) decide what a fresh future's first poll does.
            lo, hi = self.subtree[s.index]
            st.assume_idle(lo + 1, hi, self.slot_order)
        elif s.kind is SlotKind.SET:
            st.write(s.state_var, 1)
        else:
            self.leaf_semantics(s).create(st, s)
            if s.index in self.fused_var:
                st.write(self.fused_var[s.index], 0)

    def drop_slot(self, st: Step, s: Slot) -> None:
        """Drop a future and everything inside it: leave queues, release what it holds. A
        future it only borrows (`join!(&mut f, ..)`) stays as it is."""
        for d in self.owned_descendants(s):
            self.budget.check()
            if d.kind in (SlotKind.CODE, SlotKind.ROOT):
                st.write(d.state_var, PC_DEAD)
            elif d.kind is SlotKind.SET:
                st.write(d.state_var, 0)
            else:
                self.leaf_semantics(d).drop(st, d)
                if d.index in self.fused_var:
                    st.write(self.fused_var[d.index], 0)

    def reset_after(self, st: Step, s: Slot, owned: bool) -> None:
        """s completed and its parent took the result: owned, it is gone; borrowed, it stays done."""
        if s.kind in (SlotKind.CODE, SlotKind.ROOT):
            st.write(s.state_var, PC_DEAD if owned else PC_DONE)
        elif s.kind is not SlotKind.SET:
            self.leaf_semantics(s).reset(st, s, owned)
            if s.index in self.fused_var:
                st.write(self.fused_var[s.index], 0 if owned else 1)

    def release(self, st: Step, r: int, k: Expr) -> None:
        if self.unfair(r):
            unfair_release(self, st, r, k)
        else:
            sem.release(self, st, r, k)

    def binds(self, s: Slot) -> bool:
        """The guard or permit of acquire s is kept by a `let`."""
        par = s.parent
        assert par is not None
        return any(isinstance(i, IAwait) and i.slot is s and i.bind for i in par.code)

    # ---- tasks: liveness and channel closure ----------------------------------------------------

    def shutdown(self) -> Expr:
        if self.main is None or self.main.root is None:
            return self.b.false
        return self.b.eq(self.b.var(self.main.root.state_var), PC_DONE)

    def alive(self, t: TaskInst) -> Expr:
        b = self.b
        assert t.root is not None
        pc = b.var(t.root.state_var)
        return b.and_(b.ne(pc, PC_DEAD), b.ne(pc, PC_DONE), b.not_(self.shutdown()))

    def may_run(self, t: TaskInst) -> Expr:
        """t is alive, or its spawner may still spawn it."""
        b = self.b
        assert t.root is not None
        if t.spawner is None:
            return self.alive(t)
        return b.or_(self.alive(t), b.and_(b.eq(b.var(t.root.state_var), PC_DEAD), self.may_run(t.spawner)))

    def runners(self, t: TaskInst) -> list[tuple[TaskInst, Expr]]:
        """Who may still run t's code, each with when: t while it is alive; while it is not
        spawned yet, its spawner while that is alive, and so on up the spawn chain. A wait on t
        is a wait on the first of these that holds (never on a task that is not running)."""
        b = self.b
        assert t.root is not None
        out = [(t, self.alive(t))]
        unspawned = [b.eq(b.var(t.root.state_var), PC_DEAD)]
        u = t.spawner
        while u is not None and u.root is not None:
            out.append((u, b.and_(*unspawned, self.alive(u))))
            unspawned.append(b.eq(b.var(u.root.state_var), PC_DEAD))
            u = u.spawner
        return out

    def producers(self, r: int) -> list[Slot]:
        """Code slots that contain a send on resource r (directly in their own code)."""
        out = []
        channel = self.inst.reply_channel.get(r, -1)  # a oneshot made per request: whoever receives its Sender
        for s in self.slots:
            if s.kind is SlotKind.RECV and s.res == channel and s.parent is not None:
                out.append(s.parent)
            if s.kind is SlotKind.ACQUIRE and s.res == r and s.purpose in (p.Purpose.SEND, p.Purpose.RESERVE):
                assert s.parent is not None
                out.append(s.parent)
            if s.kind in (SlotKind.CODE, SlotKind.ROOT):
                for ins in s.code:
                    if isinstance(ins, ITrySend | IOneshotSend | INotify) and ins.res == r:
                        out.append(s)
                        break
                    if oneshot_mod.answers(self, ins, r):
                        out.append(s)  # a receiver of the message that carries r's Sender
                        break
        return list(dict.fromkeys(out))

    def closed(self, r: int) -> Expr:
        """No task that may still send on r can run: a receive returns None (SEMANTICS.md 2a).
        A oneshot made per request: its Sender is gone (oneshot.sender_gone)."""
        if oneshot_mod.made(self, r):
            return oneshot_mod.sender_gone(self, r)
        tasks_ = list(dict.fromkeys(s.task for s in self.producers(r)))
        return self.b.and_(*(self.b.not_(self.may_run(t)) for t in tasks_))

    def receiver_tasks(self, r: int) -> list[TaskInst]:
        return list(dict.fromkeys(s.task for s in self.slots if s.kind is SlotKind.RECV and s.res == r))

    def receivers_gone(self, r: int) -> Expr:
        """Channel r's Receiver is dropped: some task receives on r, and none that does may still
        run (the Receiver goes with the last of them). A send then fails at once with Err, and
        senders queued for a permit are woken with Err (tokio closes the channel's semaphore).
        A channel no task receives on keeps its Receiver for the whole run."""
        tasks_ = self.receiver_tasks(r)
        if not tasks_ or self.prog.resources[r].kind is not p.ResKind.CHANNEL:
            return self.b.false
        return self.b.and_(*(self.b.not_(self.may_run(t)) for t in tasks_))

    def producer_edges(self, s: Slot, waiting: Expr) -> list[WaitEdge]:
        from mcheck.compiler.waits import producer_edges

        return producer_edges(self, s, waiting)

    # ---- activity ---------------------------------------------------------------------------------

    def polled_here(self, s: Slot, pcv: int) -> Expr:
        """s's parent polls s at pc value pcv (a select! branch: and its `if` held)."""
        b = self.b
        assert s.parent is not None
        cond = b.eq(b.var(s.parent.state_var), pcv)
        flag = self.enable_at.get((s.index, pcv))
        return cond if flag is None else b.and_(cond, b.eq(b.var(flag), 1))

    def active(self, s: Slot) -> Expr:
        """s is in its task's active frontier: every ancestor awaits it where it rests now."""
        b = self.b
        conds = [self.alive(s.task)]
        for x in self.chain(s)[:-1]:
            conds.append(b.or_(*(self.polled_here(x, v) for v in sorted(x.polled_at))))
        return b.and_(*conds)

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

    def mid_poll(self, t: TaskInst) -> Expr:
        return self.b.ne(self.b.var(self.cur_var[t.index]), 0)

    def rest(self) -> tuple[tuple[int, int], ...]:
        """What every quiescent state holds (TransitionSystem.rest): no cursor, no answer, no loop
        rounds, no select!, join! or set in the middle of polling its branches."""
        out = [(self.running_var, 0)] if self.atomic else []
        for t in self.tasks:
            out += [(self.cur_var[t.index], 0), (self.ret_var[t.index], 0), (self.spin_var[t.index], 0)]
        for pos, start in self.sub_vars.values():
            out += [(v, 0) for v in (pos, start) if v >= 0]
        out += [(v, 0) for v in self.scan_var.values()]
        return tuple(out)

    def quiescent(self) -> Expr:
        b = self.b
        if self.atomic:
            return b.eq(b.var(self.running_var), 0)
        return b.and_(*(b.eq(b.var(self.cur_var[t.index]), 0) for t in self.tasks))

    # ---- emitting transitions -----------------------------------------------------------------------

    def emit(self, st: Step, task: int, kind: StepKind, slot: int, span: Span | None, priority: int = 0) -> None:
        guard = self.b.and_(*st.guard)
        if self.dom.decide(guard) is False:
            return
        label = StepLabel(task, kind, slot, span, tuple(st.events), st.loop_span)
        self.transitions.append(Transition(len(self.transitions), guard, st.updates(), priority, label, task,
                                           inner=kind is StepKind.POLL))

    def put(self, s: Slot, steps: list[Step], span: Span | None) -> None:
        for q in steps:
            self.emit(q, s.task.index, StepKind.POLL, s.index, span)

    def at(self, s: Slot, ip: int, ret: int = 0) -> Step:
        """A micro-step that starts with code slot s at instruction ip, arriving there (ret 0) or
        answered by a child (ret: the child's code, see ret_code)."""
        b = self.b
        st = Step(b)
        t = s.task.index
        for cond in (b.eq(b.var(self.cur_var[t]), self.local[s.index]), b.eq(b.var(s.state_var), self.pcv(ip)),
                     b.eq(b.var(self.ret_var[t]), ret), b.not_(self.shutdown())):
            self.dom.assume(st, cond)
        if ret:
            st.write(self.ret_var[t], 0)
        return st

    def at_set(self, z: Slot, scan: int, ret: int = 0) -> Step:
        b = self.b
        st = Step(b)
        t = z.task.index
        for cond in (b.eq(b.var(self.cur_var[t]), self.local[z.index]), b.eq(b.var(self.scan_var[z.index]), scan),
                     b.eq(b.var(self.ret_var[t]), ret), b.not_(self.shutdown())):
            self.dom.assume(st, cond)
        if ret:
            st.write(self.ret_var[t], 0)
        return st

    def ret_code(self, child: Slot, res: Res) -> int:
        return 1 + 3 * (self.local[child.index] - 1) + res.value

    def thread(self, s: Slot, ip: int) -> tuple[int, Span | None]:
        """Where control lands going to ip (through jumps), and the span of a loop it goes round."""
        loop: Span | None = None
        seen = set()
        while isinstance(s.code[ip], IJump) and ip not in seen:
            seen.add(ip)
            jmp = s.code[ip]
            assert isinstance(jmp, IJump)
            if jmp.target <= ip:
                loop = jmp.span or s.span
            ip = jmp.target
        return ip, loop

    def fusing(self, st: Step, fuse: bool) -> bool:
        """May st go on with the next operation (NOTE(poll-machine): a step runs until it splits)?
        On the multi-thread runtime not once st has touched what another task can see
        (NOTE(multi-thread-steps))."""
        if not fuse or st.fused >= MAX_FUSED:
            return False
        if not self.atomic and (self.shared is None or self.touches(st, self.shared)):
            return False
        st.fused += 1
        return True

    def touches(self, st: Step, vs: frozenset[int]) -> bool:
        """Does st read or write a variable of vs (in its guard, its writes, or what it writes)?"""
        if any(v in vs for v in st.vals):
            return True
        return any(not vs.isdisjoint(self.vars_of(e)) for e in (*st.guard, *st.vals.values()))

    def vars_of(self, e: Expr) -> frozenset[int]:
        """The variables an expression reads (memoised: expressions are hash-consed DAGs)."""
        memo = self._vars_of
        got = memo.get(e.uid)
        if got is not None:
            return got
        stack: list[tuple[Expr, bool]] = [(e, False)]
        while stack:  # post-order without recursion: expressions are deep, shared DAGs
            x, expanded = stack.pop()
            if x.uid in memo:
                continue
            if not expanded:
                stack.append((x, True))
                stack.extend((a, False) for a in x.args if a.uid not in memo)
                continue
            own = frozenset((x.value,)) if x.op is Op.VAR else frozenset()
            memo[x.uid] = own.union(*(memo[a.uid] for a in x.args)) if x.args else own
        return memo[e.uid]

    def shared_vars(self, exempt: frozenset[int]) -> frozenset[int]:
        """NOTE(multi-thread-steps): the variables one task writes and another reads or writes,
        from this compile's transitions (each one operation: compiled with shared=None). An
        operation on none of them commutes with every other task's, so on the multi-thread
        runtime a step may run any number of those and at most one that touches these.
        `exempt`: the bound flags (a state that sets one is explored no further) and the tasks'
        root program counters. Other tasks read a root counter only to ask whether the task has
        finished, and write it only while it is not being polled (spawn starts a finished task,
        abort waits for the poll to end): the owner's moves between live values commute with
        both, and the move to finished ends the poll, so it is a step's last operation."""
        writers: dict[int, set[int]] = {}
        users: dict[int, set[int]] = {}
        for tr in self.transitions:
            task = tr.label.task
            for v, _e in tr.updates:
                writers.setdefault(v, set()).add(task)
            for v in self.vars_of(tr.guard).union(*(self.vars_of(e) for _v, e in tr.updates), (v for v, _ in tr.updates)):
                users.setdefault(v, set()).add(task)
        return frozenset(v for v, ws in writers.items()
                         if v not in exempt and (len(ws) > 1 or not users.get(v, set()) <= ws))

    def proceed(self, st: Step, s: Slot, ip: int, fuse: bool) -> list[Step]:
        """Code future s goes on at instruction ip: in this step while it may (`fuse`), else the
        step ends with s there and the transition for (s, ip) takes it on. Going round a loop ends
        the step and counts against MAX_SPINS for this poll."""
        b = self.b
        target, loop = self.thread(s, ip)
        if loop is not None:
            t = s.task.index
            spin = self.spin_var[t]
            out = []
            for q, more in self.dom.split(st, b.lt(st.read(spin), MAX_SPINS)):
                q.loop_span = loop
                if more:
                    q.write(spin, b.add(q.read(spin), 1))
                    q.write(s.state_var, self.pcv(target))
                else:  # a busy loop: the state is beyond the model; the poll ends here
                    q.write(self.busy_var, t + 1)
                    self.busy_spans.setdefault(t, loop)
                    self.end_poll(q, s.task)
                out.append(q)
            return out
        if self.fusing(st, fuse):
            return self.execute(st, s, target, True)
        st.write(s.state_var, self.pcv(target))
        return [st]

    def end_poll(self, st: Step, t: TaskInst) -> None:
        st.write(self.cur_var[t.index], 0)
        st.write(self.ret_var[t.index], 0)
        st.write(self.spin_var[t.index], 0)
        if self.atomic:
            st.write(self.running_var, 0)

    def answer(self, st: Step, s: Slot, res: Res, fuse: bool) -> list[Step]:
        """s answers its parent (Pending: it suspended; Ready: it completed). The root answering
        ends the poll; a root that completed ends its task (and main, the runtime). The parent
        takes the answer in this step while it may, else in the transition that waits for it."""
        t = s.task
        if s.parent is None:
            if res is not Res.PENDING:
                st.write(s.state_var, PC_DONE)
                st.event(EventKind.SHUTDOWN if t is self.main else EventKind.TASK_DONE, s.index)
            self.end_poll(st, t)
            return [st]
        parent = s.parent
        st.write(self.cur_var[t.index], self.local[parent.index])
        if not self.fusing(st, fuse):
            st.write(self.ret_var[t.index], self.ret_code(s, res))
            return [st]
        if parent.kind is SlotKind.SET:
            return self.member_answer(st, parent, s, res, None, True)
        sites = self.poll_sites.get(s.index, [])
        if not sites:
            return []  # nothing ever polls s (`let _unused = f();`): this step cannot happen
        if len(sites) == 1:
            return self.take_answer(st, parent, sites[0], s, res, True)
        # s is polled at several places of its parent: the answer goes to where the parent is
        cases = []
        for ip in sites:
            q = st.copy()
            if self.dom.assume(q, self.b.eq(q.read(parent.state_var), self.pcv(ip))):
                cases.append((q, ip))
        return [x for q, ip in cases for x in self.take_answer(q, parent, ip, s, res, len(cases) == 1)]

    def take_answer(self, st: Step, s: Slot, ip: int, c: Slot, res: Res, fuse: bool) -> list[Step]:
        """Code future s, resting at instruction ip, takes child c's answer `res`."""
        ins = s.code[ip]
        match ins:
            case IAwait():
                return self.await_result(st, s, ip, ins, res, fuse)
            case IPollOnce(owned=owned):
                if res is not Res.PENDING:
                    self.reset_after(st, c, owned)
                return self.proceed(st, s, ip + 1, fuse)
            case ISelect():
                return self.arm_answer(st, s, ip, ins, [a for a, _o, _h in ins.arms].index(c), res, None, fuse)
            case IJoin():
                return self.child_answer(st, s, ip, ins, [ch for ch, _o in ins.children].index(c), res, None, fuse)
        raise AssertionError(ins)

    def start(self, st: Step, c: Slot, fuse: bool) -> list[Step]:
        """Code future c (just created) gets the cursor and starts at its first instruction."""
        st.write(self.cur_var[c.task.index], self.local[c.index])
        return self.proceed(st, c, 0, fuse)

    def poll_child(self, st: Step, c: Slot, bind: bool, fuse: bool, then: Answer) -> list[Step]:
        """Poll child c inline and give `then(step, res, fuse)` its answer: a leaf answers at once;
        a code future at its entry, or a set, gets the cursor (and answers later: then is not
        called); a code future that suspended before is Pending."""
        b = self.b
        k = then
        if c.kind in LEAF_KINDS:
            outcomes = self.leaf_semantics(c).poll(st, c, bind)
            return [x for q, res in outcomes for x in k(q, res, fuse and len(outcomes) == 1)]
        if c.kind is SlotKind.SET:
            if not c.children:
                return k(st, Res.NONE, fuse)
            if c.fill_var is not None:
                sets.fill(self, st, c)
            st.write(self.cur_var[c.task.index], self.local[c.index])
            return self.scan_member(st, c, 0, fuse)
        out: list[Step] = []
        cases = self.dom.split(st, b.eq(st.read(c.state_var), PC_ENTRY))
        for q, entry in cases:
            if entry:
                out.extend(self.start(q, c, fuse and len(cases) == 1))
                continue
            done_cases = self.dom.split(q, b.eq(q.read(c.state_var), PC_DONE))
            for q2, done in done_cases:
                single = fuse and len(cases) == 1 and len(done_cases) == 1
                out.extend(k(q2, Res.READY if done else Res.PENDING, single))
        return out

    def when(self, st: Step, cond: Expr, effect: Callable[[Step], None]) -> None:
        """Do effect(step) only where cond holds (the writes become if-then-else)."""
        b = self.b
        if self.dom.decide(cond) is False:
            return
        q = st.copy()
        effect(q)
        for v, e in q.vals.items():
            if e is not st.read(v):
                st.write(v, b.ite(cond, e, st.read(v)))

    # ---- code futures -------------------------------------------------------------------------------

    def code_steps(self, s: Slot) -> None:
        """The transitions that take code future s on from each instruction: arriving there, and
        taking a child's answer there."""
        for ip, ins in enumerate(s.code):
            if isinstance(ins, IJump):
                continue  # threaded into whatever jumps there (proceed)
            self.budget.check()
            span = getattr(ins, "span", None)
            if isinstance(ins, ISelect):
                self.select_entries(s, ip, ins)
            elif isinstance(ins, IJoin):
                self.join_entries(s, ip, ins)
            else:
                self.put(s, self.execute(self.at(s, ip), s, ip, True), span)
            for c in _polled_by(ins):
                for res in self.answers(c):
                    if isinstance(ins, ISelect | IJoin):
                        continue  # their entries take answers themselves (they depend on the scan)
                    self.put(s, self.take_answer(self.at(s, ip, self.ret_code(c, res)), s, ip, c, res, True), span)

    def answers(self, c: Slot) -> list[Res]:
        """What child c can answer its parent through `ret` (leaves: from their triggers)."""
        if c.kind in (SlotKind.CODE, SlotKind.ROOT):
            return [Res.READY, Res.PENDING]
        if c.kind is SlotKind.SET:
            return [Res.READY, Res.NONE, Res.PENDING]
        return list(dict.fromkeys(res for _st, res in self.leaf_semantics(c).wake(c)))

    def execute(self, st: Step, s: Slot, ip: int, fuse: bool) -> list[Step]:
        """Code future s arrives at instruction ip, within step st."""
        b = self.b
        ins = s.code[ip]
        st.write(s.state_var, self.pcv(ip))  # where it is, should the step end below it
        match ins:
            case IAwait(slot=c, bind=bind):
                if not c.is_var:
                    self.create(st, c)
                aw = ins

                def after_await(q: Step, res: Res, f: bool) -> list[Step]:
                    return self.await_result(q, s, ip, aw, res, f)

                return self.poll_child(st, c, bind, fuse, after_await)
            case ISelect():
                return self.select_arrive(st, s, ip, ins, fuse)
            case IJoin():
                return self.join_arrive(st, s, ip, ins, fuse)
            case IPollOnce(slot=c, owned=owned):
                def after_poll(q: Step, res: Res, f: bool) -> list[Step]:
                    if res is not Res.PENDING:
                        self.reset_after(q, c, owned)
                    return self.proceed(q, s, ip + 1, f)

                return self.poll_child(st, c, False, fuse, after_poll)
            case IReturn():
                if s.parent is not None:
                    st.write(s.state_var, PC_DONE)
                return self.answer(st, s, Res.READY, fuse)
            case ITest():
                return self.branch(st, s, self.int_cond(st, ins), ins.targets, fuse)
            case IHeldTest(slot=c, targets=targets):
                return self.branch(st, s, sem.holds(self, st, c), targets, fuse)
            case IChoose(targets=targets, span=cspan):
                out = []
                for holds in (True, False):
                    q = st.copy()
                    q.event(EventKind.CHOSE, span=cspan, detail="true" if holds else "false")
                    out.extend(self.proceed(q, s, targets[0 if holds else 1], False))
                return out
            case ICounterTest(var=var, hi=hi, exit=exit_ip):
                return self.branch(st, s, b.lt(st.read(var), hi), [ip + 1, exit_ip], fuse)
            case IOnceTest(res=r, target=target):
                return self.branch(st, s, b.eq(st.read(self.resources[r].msgs_var), 1), [target, ip + 1], fuse)
        outcomes = self.simple(st, s, ip, ins)
        return [x for q in outcomes for x in self.proceed(q, s, ip + 1, fuse and len(outcomes) == 1)]

    def branch(self, st: Step, s: Slot, cond: Expr, targets: list[int], fuse: bool) -> list[Step]:
        cases = self.dom.split(st, cond)
        return [x for q, holds in cases for x in self.proceed(q, s, targets[0 if holds else 1], fuse and len(cases) == 1)]

    def await_result(self, q: Step, s: Slot, ip: int, ins: IAwait, res: Res, fuse: bool) -> list[Step]:
        if res is Res.PENDING:
            return self.answer(q, s, Res.PENDING, fuse)
        self.reset_after(q, ins.slot, ins.owned)
        return self.proceed(q, s, ins.on_none if res is Res.NONE and ins.on_none >= 0 else ip + 1, fuse)

    def simple(self, st: Step, s: Slot, ip: int, ins: object) -> list[Step]:
        """Instructions that do not suspend and go on to the next: their steps (possibly split)."""
        b = self.b
        match ins:
            case ICreate(slot=c):
                self.create(st, c)
            case IDrop(slot=c, span=span, explicit=explicit):
                if c.kind is SlotKind.SET:  # dropping a JoinSet aborts the tasks still in it
                    tasks.abort_all(self, st, c, span)
                if c.kind is SlotKind.JOIN:
                    self.leaf_semantics(c).drop(st, c)
                else:
                    self.drop_slot(st, c)
                if explicit:
                    st.event(EventKind.DROPPED, c.index, span=span)
            case IRelease(slot=c, span=span, explicit=explicit):
                held = sem.release_guard(self, st, c)
                if b.bool_value(held) is not False:
                    st.event(EventKind.RELEASED, c.index, c.res, span or c.span, "explicit" if explicit else "")
            case ITrySend(res=r, span=span, message=message):
                return self.mpsc.try_send(st, r, span, message)
            case IOneshotSend(res=r, span=span):
                oneshot_mod.send(self, st, r, span)
            case IOneshotNew(res=r, span=span):
                oneshot_mod.new(self, st, r, span)
            case IReplySend(var=var, message=message, first=first, span=span):
                oneshot_mod.reply_send(self, st, var, message, first, span)
            case IReplyDrop(message=message):
                oneshot_mod.reply_drop(self, st, message)
            case IPermitSend(slot=c, span=span, message=message):
                self.mpsc.permit_send(st, c, span, message)
            case ITryAcquire(slot=c):
                return sem.try_acquire(self, st, c)
            case IPush():
                return sets.push(self, st, ins)
            case ISpawn(task=t, handle=h, span=span):
                tasks.spawn(self, st, t, h, span)
            case IAbort(slot=c, span=span):
                tasks.abort_all(self, st, c, span)
            case INotify(res=r, all=everyone, span=span):
                notify(self, st, r, b.true, everyone)
                st.event(EventKind.SENT, -1, r, span, "all" if everyone else "")
            case IEnable(slot=c):
                out = []
                for q, idle in self.dom.split(st, unregistered(self, st, c)):
                    out.extend([q2 for q2, _permit in register(self, q, c)] if idle else [q])
                return out
            case IOnceSet(res=r, span=span, permit=permit):
                once_cell.set_value(self, st, r, permit, span)
            case ICounterSet(var=var, value=value):
                st.write(var, value)
            case ICounterInc(var=var):
                st.write(var, b.add(st.read(var), 1))
            case IFlagUnfinished(var=var, slot=c):
                if c.index in self.fused_var:
                    st.write(var, b.ite(b.eq(st.read(self.fused_var[c.index]), 1), 0, 1))
                else:
                    done = PC_DONE if c.kind in (SlotKind.CODE, SlotKind.ROOT) else self.leaf_semantics(c).done_state(c)
                    st.write(var, b.ite(b.eq(st.read(c.state_var), done), 0, 1))
            case ISetInt(var=var, value=value):
                v = self.int_value(st, value, ins)
                lo, hi = self.int_ranges[var]
                inside = b.and_(b.le(lo, v), b.le(v, hi))
                if self.dom.decide(inside) is not True:
                    st.write(self.int_overflow_var, b.ite(inside, st.read(self.int_overflow_var), 1))
                    self.int_overflow_tasks.add(s.task.index)
                    v = b.ite(inside, v, st.read(var))  # keep the variable in its domain
                st.write(var, v)
            case _:
                raise AssertionError(ins)
        return [st]

    def int_value(self, st: Step, e: p.IntExpr, ins: ISetInt | ITest) -> Expr:
        b = self.b
        match e:
            case p.IntConst(value=v):
                return b.const(v)
            case p.ParamRef(name=name):
                return b.const(ins.env[name])
            case p.ReadInt(local=local):
                return st.read(ins.vars[local.index])
            case p.IntArith(op=op, left=x, right=y):
                xv, yv = self.int_value(st, x, ins), self.int_value(st, y, ins)
                return b.add(xv, yv) if op is p.ArithOp.ADD else b.sub(xv, yv)
        raise AssertionError(e)

    def int_cond(self, st: Step, ins: ITest) -> Expr:
        b = self.b
        x, y = self.int_value(st, ins.cmp.left, ins), self.int_value(st, ins.cmp.right, ins)
        match ins.cmp.op:
            case p.CmpOp.LT:
                return b.lt(x, y)
            case p.CmpOp.LE:
                return b.le(x, y)
            case p.CmpOp.GT:
                return b.lt(y, x)
            case p.CmpOp.GE:
                return b.le(y, x)
            case p.CmpOp.EQ:
                return b.eq(x, y)
            case p.CmpOp.NE:
                return b.ne(x, y)
        raise AssertionError(ins.cmp.op)

    # ---- select! --------------------------------------------------------------------------------------

    def arm_enabled(self, st: Step, sel: ISelect, i: int) -> Expr:
        flag = sel.enabled_vars[i]
        return self.b.true if flag is None else self.b.eq(st.read(flag), 1)

    def select_entries(self, s: Slot, ip: int, sel: ISelect) -> None:
        """tokio::select! polls its enabled branches from a random start, in order, wrapping around
        (`biased;`: from the first), until one completes: it wins. Owned losers are dropped before
        its handler runs; borrowed ones stay alive, dormant. A branch that completes later, by its
        own event, wins then. Its transitions: arriving, polling branch i (when an earlier step
        ended there), and taking branch i's answer (while polling it, or at rest)."""
        b = self.b
        pos_var, _start = self.sub_vars[(s.index, ip)]
        span = sel.span
        st = self.at(s, ip)
        if self.dom.assume(st, b.eq(st.read(pos_var), 0)):  # arriving, not polling a branch
            self.put(s, self.execute(st, s, ip, True), span)
        for i, (c, _owned, _h) in enumerate(sel.arms):
            st = self.at(s, ip)
            if self.dom.assume(st, b.eq(st.read(pos_var), 1 + i)):
                self.put(s, self.poll_arm(st, s, ip, sel, i, True), span)
            for res in self.answers(c):
                for scanning in (True, False) if c.kind not in LEAF_KINDS else (False,):
                    q = self.at(s, ip, self.ret_code(c, res))
                    if self.dom.assume(q, b.eq(q.read(pos_var), 1 + i if scanning else 0)):
                        self.put(s, self.arm_answer(q, s, ip, sel, i, res, scanning, True), span)

    def select_arrive(self, st: Step, s: Slot, ip: int, sel: ISelect, fuse: bool) -> list[Step]:
        """Arriving: every branch disabled (else, or tokio panics), or pick the start branch and
        poll from there."""
        b = self.b
        n = len(sel.arms)
        pos_var, start_var = self.sub_vars[(s.index, ip)]
        all_off = b.and_(*(b.not_(self.arm_enabled(st, sel, i)) for i in range(n)))
        out: list[Step] = []
        cases = self.dom.split(st, all_off)
        for q, off in cases:
            if off:
                if sel.else_ip >= 0:
                    q.event(EventKind.SELECT_WON, span=sel.span, detail="else")
                    self.clear_flags(q, sel)
                    out.extend(self.proceed(q, s, sel.else_ip, False))
                else:  # tokio panics: "all branches are disabled and there is no else branch"
                    q.write(self.panic_var, 1)
                    self.panic_spans.append(sel.span)
                    out.extend(self.answer(q, s, Res.PENDING, False))
                continue
            for i, (c, _owned, _h) in enumerate(sel.arms):
                if not c.is_var:
                    self.when(q, self.arm_enabled(q, sel, i), partial(self.create, s=c))
            starts = range(n) if start_var >= 0 else [0]
            for k in starts:
                q2 = q.copy() if len(starts) > 1 else q
                if start_var >= 0:
                    q2.write(start_var, k)
                q2.write(pos_var, 1 + k)
                single = fuse and len(cases) == 1 and len(starts) == 1
                out.extend(self.poll_arm(q2, s, ip, sel, k, single) if self.fusing(q2, single) else [q2])
        return out

    def poll_arm(self, st: Step, s: Slot, ip: int, sel: ISelect, i: int, fuse: bool) -> list[Step]:
        """Poll branch i during the select!'s first poll (it is enabled, or skipped)."""
        cases = self.dom.split(st, self.arm_enabled(st, sel, i))
        out: list[Step] = []
        for q, on in cases:
            f = fuse and len(cases) == 1
            if not on:
                out.extend(self.next_arm(q, s, ip, sel, i, f))
                continue
            out.extend(self.poll_child(q, sel.arms[i][0], False, f,
                                       lambda q2, res, f2: self.arm_answer(q2, s, ip, sel, i, res, True, f2)))
        return out

    def arm_answer(self, st: Step, s: Slot, ip: int, sel: ISelect, i: int, res: Res, scanning: bool | None,
                   fuse: bool) -> list[Step]:
        """Branch i answered: Ready wins; Pending goes on to the next branch while polling them
        all, and at rest leaves the select! waiting. `scanning` None: which of the two is not known."""
        b = self.b
        pos_var, _ = self.sub_vars[(s.index, ip)]
        if scanning is None:
            cases = self.dom.split(st, b.eq(st.read(pos_var), 0))
            return [x for q, rest in cases for x in self.arm_answer(q, s, ip, sel, i, res, not rest, fuse and len(cases) == 1)]
        if res is Res.NONE and sel.refutable[i]:
            return self.arm_refuted(st, s, ip, sel, i, scanning, fuse)
        if res is not Res.PENDING:
            return self.select_won(st, s, ip, sel, i, fuse)
        if scanning:
            return self.next_arm(st, s, ip, sel, i, fuse)
        return self.answer(st, s, Res.PENDING, fuse)

    def arm_refuted(self, st: Step, s: Slot, ip: int, sel: ISelect, i: int, scanning: bool, fuse: bool) -> list[Step]:
        """Branch i's future gave None where its pattern wants `Some(..)`: tokio disables the
        branch for the rest of this select! and goes on polling the others (tokio's select!
        macro: a pattern that does not match disables the branch and continues the loop over the
        branches); with every branch disabled, `else` runs, or tokio panics."""
        b = self.b
        c, owned, _h = sel.arms[i]
        pos_var, start_var = self.sub_vars[(s.index, ip)]
        flag = sel.enabled_vars[i]
        assert flag is not None
        self.reset_after(st, c, owned)
        st.write(flag, 0)
        st.event(EventKind.BRANCH_DISABLED, c.index, span=c.span, detail=str(i + 1))
        all_off = b.and_(*(b.not_(self.arm_enabled(st, sel, j)) for j in range(len(sel.arms))))
        out: list[Step] = []
        cases = self.dom.split(st, all_off)
        for q, off in cases:
            f = fuse and len(cases) == 1
            if off:
                q.write(pos_var, 0)
                if start_var >= 0:
                    q.write(start_var, 0)
                if sel.else_ip >= 0:
                    q.event(EventKind.SELECT_WON, span=sel.span, detail="else")
                    self.clear_flags(q, sel)
                    out.extend(self.proceed(q, s, sel.else_ip, False))
                else:  # tokio panics: "all branches are disabled and there is no else branch"
                    q.write(self.panic_var, 1)
                    self.panic_spans.append(sel.span)
                    out.extend(self.answer(q, s, Res.PENDING, False))
            elif scanning:
                out.extend(self.next_arm(q, s, ip, sel, i, f))
            elif start_var >= 0:  # woken at rest: poll every other branch once, from the next one
                q.write(start_var, i)
                q.write(pos_var, 1 + i)
                out.extend(self.next_arm(q, s, ip, sel, i, f))
            else:  # biased: from the first (the disabled branch is skipped)
                q.write(pos_var, 1)
                out.extend(self.poll_arm(q, s, ip, sel, 0, f))
        return out

    def next_arm(self, st: Step, s: Slot, ip: int, sel: ISelect, i: int, fuse: bool) -> list[Step]:
        """Branch i was pending (or disabled): poll the next, or suspend once every one was tried."""
        b = self.b
        n = len(sel.arms)
        pos_var, start_var = self.sub_vars[(s.index, ip)]
        nxt = (i + 1) % n
        last = b.eq(st.read(start_var), nxt) if start_var >= 0 else (b.true if nxt == 0 else b.false)
        out = []
        cases = self.dom.split(st, last)
        for q, done in cases:
            f = fuse and len(cases) == 1
            if done:
                q.write(pos_var, 0)
                if start_var >= 0:
                    q.write(start_var, 0)
                out.extend(self.answer(q, s, Res.PENDING, f))
            else:
                q.write(pos_var, 1 + nxt)
                out.extend(self.poll_arm(q, s, ip, sel, nxt, f) if self.fusing(q, f) else [q])
        return out

    def clear_flags(self, st: Step, sel: ISelect) -> None:
        for v in sel.enabled_vars:
            if v is not None:
                st.write(v, 0)

    def select_won(self, st: Step, s: Slot, ip: int, sel: ISelect, i: int, fuse: bool) -> list[Step]:
        """Branch i completed: drop the owned others, leave the borrowed ones dormant, run its handler."""
        pos_var, start_var = self.sub_vars[(s.index, ip)]
        winner, owned, handler = sel.arms[i]
        st.event(EventKind.SELECT_WON, winner.index, span=sel.span, detail=str(i + 1))
        self.reset_after(st, winner, owned)
        for j, (c, o, _h) in enumerate(sel.arms):
            if j == i:
                continue
            if o:
                st.event(EventKind.DROPPED, c.index, span=c.span, detail="branch")
                self.drop_slot(st, c)
            elif c is not winner:
                st.event(EventKind.LEFT_DORMANT, c.index, span=c.span)
        self.clear_flags(st, sel)
        st.write(pos_var, 0)
        if start_var >= 0:
            st.write(start_var, 0)
        return self.proceed(st, s, handler, fuse)

    # ---- join! ------------------------------------------------------------------------------------------

    def join_entries(self, s: Slot, ip: int, ins: IJoin) -> None:
        """join! polls every child that has not completed until all have; nothing is dropped early.
        Its children are code futures (instantiate wraps leaves)."""
        b = self.b
        pos_var, _ = self.sub_vars[(s.index, ip)]
        span = ins.span
        st = self.at(s, ip)
        if self.dom.assume(st, b.eq(st.read(pos_var), 0)):  # arriving, not polling a child
            self.put(s, self.execute(st, s, ip, True), span)
        for i, (c, _owned) in enumerate(ins.children):
            st = self.at(s, ip)
            if self.dom.assume(st, b.eq(st.read(pos_var), 1 + i)):
                self.put(s, self.poll_join_child(st, s, ip, ins, i, True), span)
            for res in self.answers(c):
                for scanning in (True, False):
                    q = self.at(s, ip, self.ret_code(c, res))
                    if self.dom.assume(q, b.eq(q.read(pos_var), 1 + i if scanning else 0)):
                        self.put(s, self.child_answer(q, s, ip, ins, i, res, scanning, True), span)

    def join_arrive(self, st: Step, s: Slot, ip: int, ins: IJoin, fuse: bool) -> list[Step]:
        pos_var, _ = self.sub_vars[(s.index, ip)]
        for c, _owned in ins.children:
            if not c.is_var:
                self.create(st, c)
        st.write(pos_var, 1)
        return self.poll_join_child(st, s, ip, ins, 0, fuse) if self.fusing(st, fuse) else [st]

    def poll_join_child(self, st: Step, s: Slot, ip: int, ins: IJoin, i: int, fuse: bool) -> list[Step]:
        return self.poll_child(st, ins.children[i][0], False, fuse,
                               lambda q, res, f: self.child_answer(q, s, ip, ins, i, res, True, f))

    def child_answer(self, st: Step, s: Slot, ip: int, ins: IJoin, i: int, res: Res, scanning: bool | None,
                     fuse: bool) -> list[Step]:
        b = self.b
        pos_var, _ = self.sub_vars[(s.index, ip)]
        if scanning is None:
            cases = self.dom.split(st, b.eq(st.read(pos_var), 0))
            return [x for q, rest in cases for x in self.child_answer(q, s, ip, ins, i, res, not rest, fuse and len(cases) == 1)]
        if scanning:
            if i + 1 < len(ins.children):
                st.write(pos_var, 2 + i)
                return self.poll_join_child(st, s, ip, ins, i + 1, fuse) if self.fusing(st, fuse) else [st]
            st.write(pos_var, 0)
            return self.join_progress(st, s, ip, ins, fuse)
        if res is Res.PENDING:
            return self.answer(st, s, Res.PENDING, fuse)
        return self.join_progress(st, s, ip, ins, fuse)

    def join_progress(self, st: Step, s: Slot, ip: int, ins: IJoin, fuse: bool) -> list[Step]:
        """Continue past the join! when every child is done, else suspend."""
        b = self.b
        all_done = b.and_(*(b.eq(st.read(c.state_var), PC_DONE) for c, _o in ins.children))
        out = []
        cases = self.dom.split(st, all_done)
        for q, done in cases:
            f = fuse and len(cases) == 1
            if done:
                for c, o in ins.children:
                    q.write(c.state_var, PC_DEAD if o else PC_DONE)
                out.extend(self.proceed(q, s, ip + 1, f))
            else:
                out.extend(self.answer(q, s, Res.PENDING, f))
        return out

    # ---- sets -----------------------------------------------------------------------------------------

    def set_steps(self, z: Slot) -> None:
        """next() on a set (sets.py): poll the members that can be polled, in order, and yield the
        first to complete; None when the set is empty. A member that completes by its own event
        is yielded then."""
        span = z.span
        for i, m in enumerate(z.children):
            self.put(z, self.scan_member(self.at_set(z, 1 + i), z, i, True), span)
            for res in self.answers(m):
                for scanning in (True, False) if m.kind is not SlotKind.JOIN else (False,):
                    q = self.at_set(z, 1 + i if scanning else 0, self.ret_code(m, res))
                    self.put(z, self.member_answer(q, z, m, res, scanning, True), span)

    def scan_member(self, st: Step, z: Slot, i: int, fuse: bool) -> list[Step]:
        """next() polls member i (scan = 1 + i)."""
        b = self.b
        m = z.children[i]
        st.write(self.scan_var[z.index], 1 + i)
        out: list[Step] = []
        if m.kind is SlotKind.JOIN:
            fin = b.and_(b.eq(st.read(m.state_var), tasks.HANDLE_ATTACHED), tasks.finished(self, st, m))
            cases = self.dom.split(st, fin)
            for q, done in cases:
                f = fuse and len(cases) == 1
                out.extend(self.set_yield(q, z, m, f) if done else self.next_member(q, z, i, f))
            return out
        cases = self.dom.split(st, sets.waiting_done(self, st, m)) if z.ordered else [(st, False)]
        for q, waiting in cases:
            f = fuse and len(cases) == 1
            if waiting:  # completed before its turn (FuturesOrdered)
                heads = self.dom.split(q, sets.is_head(self, q, m))
                for q2, head in heads:
                    f2 = f and len(heads) == 1
                    out.extend(self.set_yield(q2, z, m, f2) if head else self.next_member(q2, z, i, f2))
                continue
            fresh_cases = self.dom.split(q, b.eq(q.read(m.state_var), PC_ENTRY))
            for q2, fresh in fresh_cases:
                f2 = f and len(fresh_cases) == 1
                out.extend(self.start(q2, m, f2) if fresh else self.next_member(q2, z, i, f2))
        return out

    def member_answer(self, st: Step, z: Slot, m: Slot, res: Res, scanning: bool | None, fuse: bool) -> list[Step]:
        """Member m answered the set: Ready yields it (FuturesOrdered: only the oldest; a younger one
        waits, done, for its turn); Pending goes on to the next member while polling them all."""
        b = self.b
        i = z.children.index(m)
        if scanning is None:
            cases = self.dom.split(st, b.eq(st.read(self.scan_var[z.index]), 0))
            return [x for q, rest in cases for x in self.member_answer(q, z, m, res, not rest, fuse and len(cases) == 1)]
        if res is Res.PENDING:
            return self.next_member(st, z, i, fuse) if scanning else self.answer(st, z, Res.PENDING, fuse)
        out: list[Step] = []
        cases = self.dom.split(st, sets.is_head(self, st, m)) if z.ordered else [(st, True)]
        for q, head in cases:
            f = fuse and len(cases) == 1
            if head:
                out.extend(self.set_yield(q, z, m, f))
            elif scanning:  # it waits, done, for its turn
                out.extend(self.next_member(q, z, i, f))
            else:
                out.extend(self.answer(q, z, Res.PENDING, f))
        return out

    def set_yield(self, st: Step, z: Slot, m: Slot, fuse: bool) -> list[Step]:
        sets.yield_member(st, m)
        st.write(self.scan_var[z.index], 0)
        return self.answer(st, z, Res.READY, fuse)

    def next_member(self, st: Step, z: Slot, i: int, fuse: bool) -> list[Step]:
        if i + 1 < len(z.children):
            st.write(self.scan_var[z.index], 2 + i)
            return self.scan_member(st, z, i + 1, fuse) if self.fusing(st, fuse) else [st]
        st.write(self.scan_var[z.index], 0)
        out = []
        cases = self.dom.split(st, sets.empty(self, st, z))
        for q, empty in cases:
            out.extend(self.answer(q, z, Res.NONE if empty else Res.PENDING, fuse and len(cases) == 1))
        return out

    # ---- triggers: what wakes a task ---------------------------------------------------------------------

    def idle_guard(self, t: TaskInst) -> Expr:
        b = self.b
        if self.atomic:
            return b.eq(b.var(self.running_var), 0)
        return b.eq(b.var(self.cur_var[t.index]), 0)

    def begin_poll(self, st: Step, t: TaskInst) -> None:
        if self.atomic:
            st.write(self.running_var, t.index + 1)

    def triggers(self) -> None:
        b = self.b
        for t in self.tasks:
            root = t.root
            assert root is not None
            st = Step(b)
            self.dom.assume(st, b.and_(b.eq(b.var(root.state_var), PC_ENTRY), self.idle_guard(t), b.not_(self.shutdown())))
            self.begin_poll(st, t)
            for q in self.start(st, root, True):
                self.emit(q, t.index, StepKind.START, root.index, root.span)
        ready: dict[int, list[Expr]] = {}
        wakes: list[tuple[Slot, Step, Res]] = []
        for s in self.slots:
            if s.kind not in LEAF_KINDS:
                continue
            self.budget.check()
            for st, res in self.leaf_semantics(s).wake(s):
                wakes.append((s, st, res))
                # Untimed, a pending timer *may* fire at any moment; it is not ready before it
                # does, so it does not hold back the later branches of a biased select!.
                if not (s.kind is SlotKind.SLEEP and self.time is TimeMode.UNTIMED):
                    ready.setdefault(s.index, []).append(b.and_(*st.guard))
        for s, st, res in wakes:
            t = s.task
            guard = b.and_(self.active(s), self.idle_guard(t), self.biased(s, ready), b.not_(self.shutdown()),
                           self.at_rest(s))
            if not self.dom.assume(st, guard):
                continue
            self.begin_poll(st, t)
            kind = StepKind.FIRE if s.kind is SlotKind.SLEEP else StepKind.COMPLETE
            for q in self.answer(st, s, res, True):
                self.emit(q, t.index, kind, s.index, s.span)

    def at_rest(self, s: Slot) -> Expr:
        """Where a poll starts no select!, join! or set of s's ancestors is in the middle of polling
        its branches (they are, by construction: said here so the answer can be taken at once)."""
        b = self.b
        conds = []
        for x in self.chain(s)[:-1]:
            par = x.parent
            assert par is not None
            if par.kind is SlotKind.SET:
                conds.append(b.eq(b.var(self.scan_var[par.index]), 0))
            for ip in self.poll_sites.get(x.index, []):
                if (par.index, ip) in self.sub_vars:
                    conds.append(b.eq(b.var(self.sub_vars[(par.index, ip)][0]), 0))
        return b.and_(*conds)

    def biased(self, s: Slot, ready: dict[int, list[Expr]]) -> Expr:
        """A leaf under branch i of a biased select! wakes it only while no earlier branch is ready."""
        b = self.b
        conds = []
        for x in self.chain(s)[:-1]:
            par = x.parent
            assert par is not None
            for ins in par.code:
                if isinstance(ins, ISelect) and ins.biased:
                    arms = [a for a, _o, _h in ins.arms]
                    if x in arms:
                        for earlier in arms[: arms.index(x)]:
                            conds.append(b.not_(b.or_(*(g for d in self.descendants(earlier) for g in ready.get(d.index, [])))))
        return b.and_(*conds)

    # ---- the whole system ------------------------------------------------------------------------------

    def build(self) -> None:
        for s in self.slots:
            self.budget.status = f"task {s.task.name}: '{s.label}'"
            if s.kind in (SlotKind.ROOT, SlotKind.CODE):
                self.code_steps(s)
            elif s.kind is SlotKind.SET:
                self.set_steps(s)
        self.triggers()
        if self.time is TimeMode.EXACT:
            from mcheck.compiler.time import advance

            tr = advance(self, self.b.and_(self.quiescent(), self.b.not_(self.shutdown())))
            if tr is not None:
                self.transitions.append(Transition(len(self.transitions), tr.guard, tr.updates, tr.priority, tr.label, -1))


def _polled_by(ins: object) -> list[Slot]:
    """The children an instruction polls (and so takes answers from)."""
    match ins:
        case IAwait(slot=x) | IPollOnce(slot=x):
            return [x]
        case ISelect(arms=arms):
            return [a for a, _o, _h in arms]
        case IJoin(children=cs):
            return [c for c, _o in cs]
    return []


def _uses(ins: object) -> list[Slot]:
    match ins:
        case IAwait(slot=x) | IPollOnce(slot=x) | IEnable(slot=x) | IPush(set=x) | IFlagUnfinished(slot=x):
            return [x]
        case ISelect(arms=arms):
            return [a for a, _o, _h in arms]
        case IJoin(children=cs):
            return [c for c, _o in cs]
    return []


def _successors(ins: object, ip: int) -> list[int]:
    match ins:
        case IJump(target=t):
            return [t]
        case ITest(targets=ts) | IChoose(targets=ts) | IHeldTest(targets=ts):
            return list(ts)
        case ICounterTest(exit=e):
            return [ip + 1, e]
        case IOnceTest(target=t):
            return [ip + 1, t]
        case IReturn():
            return []
        case IAwait(on_none=on_none) if on_none >= 0:
            return [ip + 1, on_none]
        case ISelect(arms=arms, else_ip=else_ip):
            return [h for _s, _o, h in arms] + ([else_ip] if else_ip >= 0 else [])
    return [ip + 1]
