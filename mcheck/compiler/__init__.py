"""Phase 3b: slots and control-flow graphs (instantiate.py) -> one transition system (mcheck.ir)
plus its symbol table (mcheck.model).

    machine.py   the poll machine: code, await, select!, join!, poll!, sets; triggers (NOTE(poll-machine))
    sync/        one module per tokio primitive (semaphore, unfair mutex, mpsc, oneshot, Notify, OnceCell)
    time.py      sleep, interval, yield_now, the paused clock
    tasks.py     spawn, JoinHandle, abort
    sets.py      FuturesUnordered/Ordered, JoinSet, buffered streams
    waits.py     the wait-for graph
    step.py      one micro-step under construction

The IR is linear in the model: a transition per operation (per instruction, per leaf event, per
branch of a select!), never per path through a poll.
"""

from __future__ import annotations

from mcheck import program as p
from mcheck.budget import Budget
from mcheck.compiler.machine import MAX_SPINS, Compiler, Runtime
from mcheck.compiler.waits import wait_graph
from mcheck.instantiate import SET_SITE_COPIES, Instantiator, TaskInst
from mcheck.ir import TransitionSystem
from mcheck.model import Bound, CompiledModel, SlotInfo, TaskInfo, TimeMode
from mcheck.source import Source

__all__ = ["Runtime", "compile_program"]


def compile_program(prog: p.Program, source: Source, time: TimeMode, budget: Budget | None = None,
                    runtime: str = Runtime.CURRENT_THREAD) -> CompiledModel:
    budget = budget or Budget()
    shared = None
    if runtime == Runtime.MULTI_THREAD:
        # NOTE(multi-thread-steps): one compile with every operation a transition of its own
        # finds the variables tasks share; the real one fuses only operations on the others.
        # (Compiling binds the instantiated slots to variables, so each compile instantiates.)
        first = Instantiator(prog, source)
        first.run()
        probe = Compiler(first, first.prog, time, runtime, budget)
        probe.allocate()
        probe.build()
        exempt = {x.var for x in _bounds(probe)} | {t.root.state_var for t in probe.tasks if t.root is not None}
        shared = probe.shared_vars(frozenset(exempt))
    inst = Instantiator(prog, source)
    inst.run()
    prog = inst.prog  # with the RwLocks sized
    c = Compiler(inst, prog, time, runtime, budget, shared)
    c.allocate()
    c.build()
    waits = wait_graph(c)
    bounds = _bounds(c)
    b = c.b
    overflow = b.or_(*(b.eq(b.var(x.var), x.value) for x in bounds))
    ts = TransitionSystem(tuple(c.vars), tuple(c.transitions), waits, overflow, b, _symmetry(c),
                          quiescent=c.quiescent(), atomic=c.atomic, rest=c.rest())
    slots = tuple(
        SlotInfo(s.index, s.kind, s.task.index, s.parent.index if s.parent else -1, s.label, s.span, s.is_var,
                 s.state_var, s.pos_var, s.got_var, s.rem_var, s.res, s.count, s.purpose, bool(s.holders))
        for s in inst.slots
    )
    tasks = tuple(TaskInfo(t.index, t.name, t.root.index if t.root else -1, t.span) for t in inst.tasks)
    return CompiledModel(source, prog, time, ts, slots, tuple(c.resources), tasks, bounds, runtime)


def _bounds(c: Compiler) -> tuple[Bound, ...]:
    """The states that leave what mcheck models: explored no further, they make a run
    inconclusive unless a stuck state is found elsewhere."""
    out = [Bound(r.msgs_var, p.UNBOUNDED_LIMIT + 1,
                 f"the unbounded channel '{r.name}' held more than {p.UNBOUNDED_LIMIT} messages")
           for r in c.resources if r.kind is p.ResKind.CHANNEL and not r.bounded]
    out.append(Bound(c.respawn_var, 1, "a spawn ran again while the task it started before was still running"))
    if c.reply_clash_var >= 0:
        span = c.reply_clash_spans[0] if c.reply_clash_spans else None
        where = f" (line {span.line})" if span else ""
        out.append(Bound(c.reply_clash_var, 1, f"`let (tx, rx) = oneshot::channel();`{where} ran again while the "
                         "Sender it made before was still in a message (mcheck keeps one oneshot per site)"))
    if c.int_overflow_tasks:
        names = ", ".join(t.name for t in c.tasks if t.index in c.int_overflow_tasks)
        out.append(Bound(c.int_overflow_var, 1, f"an integer variable (in {names}) left the range mcheck "
                         "gave it (the numbers its code uses, widened by one step)"))
    if c.push_overflow_spans:
        span = c.push_overflow_spans[0]
        where = f" (line {span.line})" if span else ""
        out.append(Bound(c.push_overflow_var, 1, f"a set.push(...) inside a loop{where} had {SET_SITE_COPIES} "
                         "of its futures in the set and pushed another"))
    if c.panic_spans:
        span = c.panic_spans[0]
        where = f" (line {span.line})" if span else ""
        out.append(Bound(c.panic_var, 1, f"a select!{where} had every branch disabled and no else branch, "
                         "which panics"))
    for t in c.tasks:
        if t.index in c.busy_spans:
            span = c.busy_spans[t.index]
            where = f" (the loop at line {span.line})" if span else ""
            # Multi-thread, another worker can keep such a loop supplied; tokio's cooperative budget
            # would make the poll yield, which is not modelled yet (docs/language.md, Runtimes).
            hint = ("; on the multi-thread runtime another task can keep it supplied, and tokio's cooperative "
                    "budget, which would make it yield, is not modelled: try --runtime current-thread") \
                if not c.atomic else ""
            out.append(Bound(c.busy_var, t.index + 1, f"task {t.name} can go round a loop without suspending{where}: "
                             f"a busy loop (mcheck follows at most {MAX_SPINS} rounds in one poll{hint})"))
    return tuple(out)


def _symmetry(c: Compiler) -> tuple[tuple[tuple[int, ...], ...], ...]:
    """`task NAME[N]`: the N copies (with the tasks each spawns) are interchangeable."""
    def closure(t: TaskInst) -> set[int]:
        out = {t.index}
        for u in c.tasks:
            if u.spawner is not None and u.spawner.index in out:
                out.add(u.index)
        return out

    groups = []
    makers = {t.index for t in c.inst.oneshot_task.values()}
    for td in c.prog.tasks:
        if td.copies < 2:
            continue
        copies = [t for t in c.tasks if t.spawner is None and t.name.startswith(f"{td.name}[")]
        if any(closure(t) & makers for t in copies):
            continue  # a oneshot per copy is named in messages by its number: copies are not interchangeable
        blocks = []
        for t in copies:
            owned = closure(t)
            blocks.append(tuple(v for v, owner in enumerate(c.var_task) if owner in owned))
        if len({len(bl) for bl in blocks}) == 1:
            groups.append(tuple(blocks))
    return tuple(groups)
