"""Runs the pipeline on one model: read, parse, resolve, compile, search, explain.

The single entry point the CLI and the tests share. Returns data (`Result`); raises ModelError
for bad input, UsageError for a file it cannot read, OutOfBudget when the run's budget ends before
the search starts, and InternalError when the engines contradict themselves or each other. It
prints nothing. Every engine's stuck path becomes a `Result` through the same code (`_stuck_result`).
"""

from __future__ import annotations

import dataclasses
import os
import stat
import time
from enum import Enum
from typing import TYPE_CHECKING

from mcheck import bfs
from mcheck.analysis import explain
from mcheck.budget import DEFAULT_Z3_RLIMIT, Budget, OutOfBudget, Phase, default_workers
from mcheck.compiler import Runtime, compile_program
from mcheck.errors import InternalError, ModelError, UsageError
from mcheck.evaluate import CompiledSystem, State, compile_system
from mcheck.model import CompiledModel, TimeMode
from mcheck.parse import parse_module
from mcheck.program import Program, Verdict
from mcheck.resolve import resolve
from mcheck.source import Source, Span
from mcheck.trace import Result, Status, Step, Trace, VictimSearch

if TYPE_CHECKING:
    from mcheck.ir import TransitionSystem
    from mcheck.kernel import Pending
    from mcheck.model import StepLabel
    from mcheck.symbolic import SymbolicResult

VICTIM_STATES = 200_000
"""States the victim search may explore after the first stuck state (and never more than
--max-states)."""

MAX_MODEL_BYTES = 1 << 20
"""The largest model file read (--max-size raises it): models are small, and the parser takes
about a second per 100 KB of dense model text."""


class Engine(Enum):
    BFS = "bfs"  # explicit-state breadth-first search
    Z3 = "z3"  # invariant proof and bounded model checking (symbolic.py)
    BOTH = "both"  # both, and an InternalError if they disagree


class Kernel(Enum):
    """Which code runs the breadth-first search (the same search, the same results)."""

    AUTO = "auto"  # the Python BFS up to PYTHON_FIRST states; past them the native kernel, where a C compiler is
    NATIVE = "native"  # the native kernel (mcheck/kernel), compiled with the machine's C compiler, from the start
    PYTHON = "python"  # the Python BFS (bfs.py), the reference


KERNEL_ENV = "MCHECK_KERNEL"
"""The default of --kernel (auto, native or python) when set."""

PYTHON_FIRST = 20_000
"""With --kernel auto, the states the Python BFS explores before the native kernel takes over (it
searches again from the start): about a third of a second, less than compiling a kernel costs
(0.5-3 s), so small models, nearly all of them, are answered before a compiler would be done."""

COMPILE_AFTER = 2_000
"""With --kernel auto, the states after which the kernel's compile starts, in the background,
while the Python BFS goes on to PYTHON_FIRST (from the start again, a few hundredths of a second):
smaller models never start a compiler; larger ones have it mostly done when the Python BFS stops."""


def default_kernel() -> Kernel:
    value = os.environ.get(KERNEL_ENV, "").strip().lower()
    try:
        return Kernel(value) if value else Kernel.AUTO
    except ValueError:
        raise UsageError(f"{KERNEL_ENV}={value}: expected one of auto, native, python") from None


def read_source(path: str, max_bytes: int = MAX_MODEL_BYTES) -> Source:
    """The model file's text. Refuses what is not a regular file (a directory, a FIFO or a device
    could block or never end), a file over `max_bytes`, and text that is not UTF-8 (located)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO must not block the open
    except OSError as e:
        raise UsageError(f"cannot read model '{path}': {e.strerror or e}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise UsageError(f"'{path}' is a directory; give a model file (.mc)")
        raise UsageError(f"'{path}' is not a regular file (a FIFO, device or socket); mcheck reads model files")
    with os.fdopen(fd, "rb") as f:
        try:
            data = f.read(max_bytes + 1)
        except OSError as e:
            raise UsageError(f"cannot read model '{path}': {e.strerror or e}") from None
    if len(data) > max_bytes:
        shown = Source(path, data[:max_bytes].decode("utf-8", "replace"))
        raise ModelError.at(_span_at(data, max_bytes), f"the model is larger than {max_bytes:,} bytes, the most mcheck "
                            "reads (--max-size BYTES raises it); models are small").with_source(shown)
    try:
        return Source(path, data.decode("utf-8"))
    except UnicodeDecodeError as e:
        shown = Source(path, data.decode("utf-8", "replace"))
        raise ModelError.at(_span_at(data, e.start), f"the model is not valid UTF-8 (byte 0x{data[e.start]:02x}); "
                            "save it as UTF-8").with_source(shown) from None


def _span_at(data: bytes, offset: int) -> Span:
    """The line and column (in characters) of byte `offset`."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    line = data.count(b"\n", 0, offset) + 1
    col = len(data[line_start:offset].decode("utf-8", "replace")) + 1
    return Span(line, col, line, col + 1)


def runtime_for(program: Program, time: TimeMode, asked: str | None) -> str:
    """NOTE(default-runtime): untimed, the multi-thread runtime, as `#[tokio::main]` starts: a
    hang that only worker threads reach must not be reported safe, and where one poll runs on
    its own (current-thread) every interleaving it allows is one multi-thread allows too.
    Exact time is tokio's paused clock, which exists only on the current-thread runtime."""
    rt = asked or program.runtime or (Runtime.CURRENT_THREAD if time is TimeMode.EXACT else Runtime.MULTI_THREAD)
    if time is TimeMode.EXACT and rt == Runtime.MULTI_THREAD:
        why = ("exact time is tokio's paused clock (`start_paused`, `time::pause`), which exists only on the "
               "current-thread runtime")
        if asked:
            raise UsageError(f"--runtime multi-thread cannot be used with --time exact: {why}")
        raise ModelError.at(program.runtime_span, f"this model runs on the multi-thread runtime, so it cannot be "
                            f"checked in exact time: {why}", (None, "check it untimed, or with --runtime current-thread"))
    return rt


def load(source: Source, time: TimeMode, symmetry: bool = True, budget: Budget | None = None,
         runtime: str | None = None) -> CompiledModel:
    """Parse, check and compile. `symmetry=False` keeps copies of a task distinguishable (no
    symmetry reduction): slower, the same verdicts. `runtime` (compiler.Runtime): the one asked
    for (--runtime), else the model's `// runtime:` header, else the default (runtime_for)."""
    budget = budget or Budget()
    budget.enter(Phase.PARSE)
    module = parse_module(source)
    budget.enter(Phase.RESOLVE)
    program = resolve(source, module)
    budget.enter(Phase.COMPILE)
    model = compile_program(program, source, time, budget, runtime_for(program, time, runtime))
    if not symmetry:
        model = dataclasses.replace(model, ts=dataclasses.replace(model.ts, symmetry=()))
    return model


def check(
    model: CompiledModel,
    limits: bfs.Limits | None = None,
    engine: Engine = Engine.BFS,
    budget: Budget | None = None,
    z3_rlimit: int = DEFAULT_Z3_RLIMIT,
    kernel: Kernel | None = None,
    workers: int | None = None,
) -> Result:
    """Search the model with `engine` within `limits` and the run's `budget` (a Budget that runs
    out ends the search inconclusive, with what it explored); the z3 engine's own work is bounded by
    `z3_rlimit` resource units, so that its verdict is deterministic. `kernel` (default: $MCHECK_KERNEL,
    else auto) says which code runs the BFS; `workers` (default: budget.default_workers()) how many threads
    the native kernel's search runs on (the result is the same for any number)."""
    limits = limits or bfs.Limits()
    budget = budget or Budget()
    kernel = kernel or default_kernel()
    budget.enter(Phase.CODEGEN)
    try:
        compiled = compile_system(model.ts, budget)
    except OutOfBudget as e:
        return Result(Status.INCONCLUSIVE, engine.value, bfs.Stats(0, 0, 0, 0.0, bfs.peak_rss_mib()), reason=str(e))
    found = None
    how = ""
    if engine is not Engine.Z3:
        found, how = _bfs_search(model, limits, budget, compiled, kernel, workers or default_workers())
    proved = None
    if engine is not Engine.BFS:
        start = time.monotonic()
        try:
            proved = _z3_search(model, limits, budget, z3_rlimit, compiled)
        except OutOfBudget as e:  # outside the engine's own checks (composing the polls), or the CLI's alarm
            stopped = Result(Status.INCONCLUSIVE, "z3", bfs.Stats(0, 0, 0, time.monotonic() - start, bfs.peak_rss_mib()),
                             reason=str(e))
            if found is None:
                return stopped
            # --engine both: what the BFS decided stands (a stuck state found in time is the answer), and
            # the note says that z3 did not finish, as when it stops itself between two queries.
            return _cross_check(_bfs_result(model, found, compiled, limits, budget, how), _BFS_DECIDES[found.outcome],
                                stopped, None)
    if proved is None:
        assert found is not None
        return _bfs_result(model, found, compiled, limits, budget, how)
    z3_result = _z3_result(model, proved, compiled, limits, budget)
    if found is None:
        return z3_result
    return _cross_check(_bfs_result(model, found, compiled, limits, budget, how), _BFS_DECIDES[found.outcome],
                        z3_result, _z3_decides(proved))


def _bfs_search(model: CompiledModel, limits: bfs.Limits, budget: Budget, compiled: CompiledSystem,
                kernel: Kernel, workers: int) -> tuple[bfs.SearchResult, str]:
    """The BFS on the kernel asked for, and how it ran for the summary line ("" for the Python
    BFS by choice or because the model was small; else the native kernel's compile cost, or why
    there was no native kernel)."""
    pending: Pending | str | None = None  # the kernel being compiled, or why there is none
    if kernel is Kernel.AUTO and limits.max_states > PYTHON_FIRST:
        budget.enter(Phase.SEARCH)
        first = bfs.search(model.ts, dataclasses.replace(limits, max_states=COMPILE_AFTER), budget, compiled)
        if first.limit_hit != f"--max-states {COMPILE_AFTER}":
            return first, ""
        pending = _start_kernel(model.ts)  # gcc on the other core while the Python search goes on
        try:
            first = bfs.search(model.ts, dataclasses.replace(limits, max_states=PYTHON_FIRST), budget, compiled)
        except BaseException:
            _cancel(pending)
            raise
        if first.limit_hit != f"--max-states {PYTHON_FIRST}":
            _cancel(pending)
            return first, ""
    if kernel is Kernel.PYTHON or (kernel is Kernel.AUTO and limits.max_states <= PYTHON_FIRST):
        budget.enter(Phase.SEARCH)
        return bfs.search(model.ts, limits, budget, compiled), ""
    from mcheck import kernel as native  # the native kernel's modules only where it is asked for
    from mcheck.kernel.search import search

    try:
        budget.enter(Phase.KERNEL)
        if pending is None:
            pending = _start_kernel(model.ts)
        if isinstance(pending, str):
            raise native.Unavailable(pending)
        built = pending.kernel(budget)
    except OutOfBudget as e:  # --timeout while compiling: inconclusive, with what the Python search had explored
        _cancel(pending)
        stats = first.stats if kernel is Kernel.AUTO else bfs.Stats(0, 0, 0, 0.0, bfs.peak_rss_mib())
        return bfs.SearchResult(bfs.Outcome.LIMIT, stats, (), e.limit), "native kernel, not compiled in time"
    except native.Unavailable as e:
        budget.enter(Phase.SEARCH)
        return bfs.search(model.ts, limits, budget, compiled), f"Python engine: {e}"
    except BaseException:  # no compiler left running behind an interrupted run
        _cancel(pending)
        raise
    budget.enter(Phase.SEARCH)
    found, _ = search(model.ts, built, compiled, limits, budget, workers)
    return found, built.describe(workers)


def _start_kernel(ts: TransitionSystem[StepLabel]) -> Pending | str:
    """The native kernel for ts, compiling (kernel.Pending), or why there is none (a string)."""
    from mcheck import kernel as native

    try:
        return native.start(ts)
    except native.Unavailable as e:
        return str(e)


def _cancel(pending: Pending | str | None) -> None:
    if pending is not None and not isinstance(pending, str):
        pending.cancel()


def _z3_search(model: CompiledModel, limits: bfs.Limits, budget: Budget, rlimit: int,
               compiled: CompiledSystem) -> SymbolicResult:
    from mcheck import symbolic  # z3 is imported only when an engine needs it

    budget.enter(Phase.Z3)
    return symbolic.search(model.ts, symbolic.Options(rlimit=rlimit, max_depth=limits.max_depth), compiled, budget)


def _stuck_result(model: CompiledModel, engine: str, stats: bfs.Stats, path: bfs.Path,
                  compiled: CompiledSystem, limits: bfs.Limits, budget: Budget) -> Result:
    """A path to a stuck state (first entry ((), (initial,))), continued until the victims have
    blocked, and explained."""
    (_, (initial,)), *rest = path
    first = rest[-1][1][-1] if rest else initial
    # No check on entering: a stuck state the search found in time is the answer however little time is
    # left; the victim search stops itself (bfs.saturate) and says what stopped it.
    budget.enter(Phase.VICTIMS, check=False)
    bound = f"--max-states {limits.max_states}" if limits.max_states < VICTIM_STATES else f"its bound of {VICTIM_STATES:,} states"
    victims = bfs.saturate(model.ts, first, min(VICTIM_STATES, limits.max_states), compiled, budget, bound)
    rest.extend(victims.path)
    final = rest[-1][1][-1] if rest else initial
    budget.phase = Phase.EXPLAIN  # no check: a confirmed stuck state is reported whatever the budget
    report = explain(model, final)
    if report is None:
        raise InternalError(f"internal error: the {engine} engine reported a stuck state the analysis does not confirm")
    trace = Trace(initial, tuple(Step(tids, states) for tids, states in rest), report, len(path) - 1)
    status = Status.FUTURELOCK if report.verdict is Verdict.FUTURELOCK else Status.DEADLOCK
    return Result(status, engine, stats, trace, victims=VictimSearch(victims.states, victims.seconds, victims.stopped))


def _overflow_reason(model: CompiledModel, state: State) -> str:
    why = "; ".join(x.reason for x in model.bounds if state[x.var] == x.value)
    return f"{why}, which mcheck does not model further; no stuck state among the states explored"


def _bfs_result(model: CompiledModel, found: bfs.SearchResult, compiled: CompiledSystem, limits: bfs.Limits,
                budget: Budget, how: str = "") -> Result:
    return dataclasses.replace(_bfs_verdict(model, found, compiled, limits, budget), kernel=how)


def _bfs_verdict(model: CompiledModel, found: bfs.SearchResult, compiled: CompiledSystem, limits: bfs.Limits,
                 budget: Budget) -> Result:
    if found.outcome is bfs.Outcome.STUCK:
        return _stuck_result(model, "bfs", found.stats, found.path, compiled, limits, budget)
    if found.outcome is bfs.Outcome.EXHAUSTED:
        return Result(Status.SAFE, "bfs", found.stats)
    if found.outcome is bfs.Outcome.OVERFLOW:
        assert found.overflow_state is not None
        return Result(Status.INCONCLUSIVE, "bfs", found.stats, reason=_overflow_reason(model, found.overflow_state))
    hit = found.limit_hit if found.limit_hit == bfs.OUT_OF_MEMORY else f"{found.limit_hit} reached"
    return Result(Status.INCONCLUSIVE, "bfs", found.stats, reason=f"{hit} before the search ended")


def _z3_result(model: CompiledModel, found: SymbolicResult, compiled: CompiledSystem, limits: bfs.Limits,
               budget: Budget) -> Result:
    from mcheck.symbolic import Outcome

    if found.outcome is Outcome.STUCK:
        return _stuck_result(model, "z3", found.stats, bfs.group_polls(compiled, found.path), compiled, limits, budget)
    if found.outcome is Outcome.PROVED:
        return Result(Status.SAFE, "z3", found.stats, proof=found.invariant)
    if found.outcome is Outcome.OVERFLOW:
        assert found.overflow_state is not None
        reason = _overflow_reason(model, found.overflow_state).replace(
            "no stuck state among the states explored", "no stuck state is reachable (proved)")
        return Result(Status.INCONCLUSIVE, "z3", found.stats, reason=reason)
    return Result(Status.INCONCLUSIVE, "z3", found.stats, reason=found.reason)


# What an engine decided: a stuck state is reachable; none is ("safe"); none is, but a state beyond a
# bound of the model is ("overflow"); or nothing (None: it ran out of a limit).
_BFS_DECIDES = {bfs.Outcome.STUCK: "stuck", bfs.Outcome.EXHAUSTED: "safe", bfs.Outcome.OVERFLOW: "overflow",
                bfs.Outcome.LIMIT: None}


def _z3_decides(found: SymbolicResult) -> str | None:
    from mcheck.symbolic import Outcome

    return {Outcome.STUCK: "stuck", Outcome.PROVED: "safe", Outcome.OVERFLOW: "overflow"}.get(found.outcome)


def _cross_check(a: Result, da: str | None, b: Result, db: str | None) -> Result:
    """--engine both: the BFS's result `a` and z3's `b` must agree wherever both decided (a different
    stuck state at the same depth is no disagreement: both are real; a note says so). The result is
    the BFS's (its trace, and z3's proof), or z3's when only z3 decided."""
    if da is not None and db is not None and da != db:
        raise InternalError(f"internal error: the engines disagree: bfs finds {_SAYS[da]}, z3 finds {_SAYS[db]}")
    if a.trace is not None and b.trace is not None and a.trace.first_stuck != b.trace.first_stuck:
        raise InternalError(f"internal error: the engines disagree on the shortest path to a stuck state: bfs "
                            f"{a.trace.first_stuck} steps, z3 {b.trace.first_stuck} steps")
    if da is None and db is not None:
        return dataclasses.replace(b, engine="both", notes=(_note(a),))
    return dataclasses.replace(a, engine="both", proof=b.proof, notes=(_note(b),))


_SAYS = {"stuck": "a reachable stuck state", "safe": "no reachable stuck state",
         "overflow": "no reachable stuck state but a state beyond a bound of the model"}


def _note(r: Result) -> str:
    secs = f"{r.stats.seconds:.2f} s"
    if r.status is Status.SAFE:
        how = f" (inductive invariant with {len(r.proof.clauses)} clauses)" if r.proof is not None else ""
        return f"{r.engine}: safe{how}, {secs}"
    if r.trace is not None:
        return f"{r.engine}: {r.status.value}, first stuck state after {r.trace.first_stuck} steps, {secs}"
    return f"{r.engine}: inconclusive ({r.reason}), {secs}"
