"""One run of one model file, as data: the `Result`, or why there is none (bad input, a bound of
the run reached before the search, an internal error), and the paths a command line names.

Sits between the CLI and verify.py: `run_file` reads, loads and checks one model within its own
Budget and turns every failure it expects into an `Outcome`, so that many models can be checked
in one process and each is reported. It prints nothing (the CLI does, renderers phrase).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import PurePath
from types import FrameType

from mcheck import bfs
from mcheck.budget import DEFAULT_Z3_RLIMIT, Budget, OutOfBudget, Phase
from mcheck.errors import Diagnostic, InternalError, ModelError, UsageError
from mcheck.evaluate import compile_system
from mcheck.livelock import Starvation, find_starvation
from mcheck.model import CompiledModel, TimeMode
from mcheck.source import Source
from mcheck.trace import Result, Status
from mcheck.verify import MAX_MODEL_BYTES, Engine, Kernel, check, load, read_source

EXIT_SAFE = 0
EXIT_STUCK = 1
EXIT_BAD_INPUT = 2
EXIT_INCONCLUSIVE = 3
EXIT_INTERNAL_ERROR = 4

SEVERITY = (EXIT_SAFE, EXIT_INCONCLUSIVE, EXIT_STUCK, EXIT_BAD_INPUT, EXIT_INTERNAL_ERROR)
"""NOTE(worst-exit): the exit code of a run over many models is the worst of theirs, in this order
(least to most severe): an internal error means no answer can be trusted; bad input means a model
was not checked at all, so the others' verdicts say nothing about it; a confirmed hang is the
finding to act on; inconclusive is no answer yet; safe is the only pass."""

ALARM_GRACE = 1.0
"""Seconds past --timeout after which a phase that does not check the budget itself (the parser)
is interrupted by a signal."""


def worst(codes: Sequence[int]) -> int:
    """The most severe exit code (NOTE(worst-exit)); 0 for none."""
    return max(codes, key=SEVERITY.index, default=EXIT_SAFE)


@dataclass(frozen=True, slots=True)
class Options:
    """What one check of a model uses: the command line's options, the same for every model."""

    time: TimeMode = TimeMode.UNTIMED
    engine: Engine = Engine.BFS
    limits: bfs.Limits = field(default_factory=bfs.Limits)
    z3_rlimit: int = DEFAULT_Z3_RLIMIT
    max_size: int = MAX_MODEL_BYTES
    symmetry: bool = True
    timeout: float | None = None  # per model (and per time mode in `mcheck test`)
    max_memory_mib: float | None = None
    runtime: str | None = None  # --runtime; None: the model's header, else the time mode's default
    kernel: Kernel | None = None  # --kernel; None: $MCHECK_KERNEL, else auto
    starvation: bool = False  # --starvation: a safe model is searched for a task starved by a loop too
    workers: int | None = None  # --workers; None: the cores available


@dataclass(frozen=True, slots=True)
class Outcome:
    """What checking one model file in one time mode gave. Exactly one of: `result`, `diagnostics`
    (the model is bad input), `usage_error` (the file cannot be read), `stopped` (a bound of the
    run ended it before there was a result: inconclusive), `internal` (mcheck broke)."""

    path: str  # as given or found under a directory given
    time: TimeMode
    engine: str
    seconds: float  # the whole run: reading, loading, searching, explaining
    model: CompiledModel | None = None
    result: Result | None = None
    source: Source | None = None  # the text the diagnostics point into
    diagnostics: tuple[Diagnostic, ...] = ()
    usage_error: str = ""
    stopped: str = ""
    internal: str = ""  # "internal error: ...", as stderr says it
    exception: BaseException | None = field(default=None, compare=False)  # the unexpected one, for MCHECK_TRACEBACK
    starvation: Starvation | None = None  # --starvation found one (the result is safe: no stuck state)

    @property
    def exit_code(self) -> int:
        if self.internal:
            return EXIT_INTERNAL_ERROR
        if self.diagnostics or self.usage_error:
            return EXIT_BAD_INPUT
        if self.stopped:
            return EXIT_INCONCLUSIVE
        assert self.result is not None
        if self.starvation is not None:
            return EXIT_STUCK  # a task that never runs again, as in a stuck state, though others loop
        return self.result.status.exit_code

    @property
    def verdict(self) -> Status | None:
        """The verdict, or None when there is none (bad input, internal error)."""
        if self.result is not None:
            return self.result.status
        return Status.INCONCLUSIVE if self.stopped else None

    @property
    def what(self) -> str:
        """The verdict's word, or what stood in for one: 'bad input', 'internal error'."""
        v = self.verdict
        if self.starvation is not None:
            return "starvation"
        if v is not None:
            return v.value
        return "internal error" if self.internal else "bad input"


@contextlib.contextmanager
def alarm(budget: Budget) -> Iterator[None]:
    """The backstop for --timeout: interrupts a phase that does not check the budget itself (the
    parser), a little after the deadline. Only where signals can be used (the main thread)."""
    left = budget.left()
    if left is None or left > 1e6 or threading.current_thread() is not threading.main_thread() \
            or not hasattr(signal, "setitimer"):
        yield
        return

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        if budget.phase is not Phase.EXPLAIN:  # a confirmed stuck state is reported whatever the time
            raise OutOfBudget(budget.phase, f"--timeout {budget.timeout:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max(left, 0.0) + ALARM_GRACE)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_file(path: str, opts: Options, budget: Budget | None = None) -> Outcome:
    """Read, load and check the model at `path` within `budget` (one per model: --timeout and
    --max-memory apply to each model on its own). Never raises for a model; KeyboardInterrupt
    passes through."""
    return run_source(path, None, opts, budget)


def run_source(path: str, text: str | None, opts: Options, budget: Budget | None = None) -> Outcome:
    """As run_file, for the model `text` when given (a model mcheck scan extracted: `path` names
    it, whether or not it was written there), else the file at `path`."""
    budget = budget or Budget(opts.timeout, opts.max_memory_mib)
    start = time.monotonic()
    source: Source | None = None
    model: CompiledModel | None = None

    def done() -> Outcome:
        return Outcome(path, opts.time, opts.engine.value, time.monotonic() - start, model=model, source=source)

    try:
        with alarm(budget):
            source = read_source(path, opts.max_size) if text is None else Source(path, text)
            model = load(source, opts.time, symmetry=opts.symmetry, budget=budget, runtime=opts.runtime)
            result = check(model, opts.limits, opts.engine, budget, opts.z3_rlimit, opts.kernel, opts.workers)
            starved = None
            if opts.starvation and result.status is Status.SAFE:
                starved = find_starvation(model, compile_system(model.ts, budget), opts.limits.max_states, budget)
        return replace(done(), result=result, starvation=starved)
    except InternalError as e:
        return replace(done(), internal=str(e))
    except ModelError as e:
        return replace(done(), model=None, source=e.source or source, diagnostics=e.diagnostics)
    except UsageError as e:
        return replace(done(), usage_error=str(e))
    except OutOfBudget as e:
        return replace(done(), stopped=str(e))
    except MemoryError:
        return replace(done(), stopped=f"out of memory while {budget.phase.value}")
    except Exception as e:  # anything unexpected is mcheck's fault: an internal error, never a verdict
        what = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        return replace(done(), internal=f"internal error: {what}; please report it with the model", exception=e)


MODEL_SUFFIX = ".mc"


def model_paths(args: Sequence[str]) -> list[str]:
    """The model files named by `args`: a file as given (whatever its name), a directory as every
    `.mc` file below it, sorted by path; each file once. Raises UsageError for a directory with no
    model in it; a path that does not exist is passed on (reading it reports the error)."""
    out: dict[str, str] = {}  # real path -> the path shown
    for arg in args:
        if os.path.isdir(arg):
            found = [os.path.join(dirpath, f) for dirpath, _, files in os.walk(arg) for f in files
                     if f.endswith(MODEL_SUFFIX)]
            if not found:
                raise UsageError(f"no {MODEL_SUFFIX} model files under '{arg}'")
            for f in sorted(found, key=lambda f: PurePath(f).parts):
                out.setdefault(os.path.realpath(f), f)
        else:
            out.setdefault(os.path.realpath(arg), arg)
    return list(out.values())
