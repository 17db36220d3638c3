"""The `mcheck` command: parses arguments, runs verify.load and verify.check within the run's
Budget, prints with render, sets the exit code.

Exit codes: 0 safe, 1 futurelock or deadlock, 2 bad input (model or command line), 3 inconclusive
(a limit, --timeout, --max-memory, or memory running out), 4 internal error (the engines disagree,
a counterexample does not replay, or any exception mcheck did not expect: never a traceback, and
never 1, which only a confirmed stuck state gives). The only module that writes to stdout/stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TextIO

from mcheck import bfs
from mcheck.budget import DEFAULT_Z3_RLIMIT, Budget, OutOfBudget, Phase, default_max_memory_mib
from mcheck.errors import InternalError, ModelError, UsageError
from mcheck.model import TimeMode
from mcheck.render import render_json, render_stopped, render_text
from mcheck.source import Source
from mcheck.verify import MAX_MODEL_BYTES, Engine, check, load, read_source

EXIT_BAD_INPUT = 2
EXIT_INCONCLUSIVE = 3
EXIT_INTERNAL_ERROR = 4
EXIT_INTERRUPTED = 130

ALARM_GRACE = 1.0
"""Seconds past --timeout after which a phase that does not check the budget itself (the parser)
is interrupted by a signal."""

TRACEBACK_ENV = "MCHECK_TRACEBACK"
"""Set to 1 to get the Python traceback of an internal error on stderr (for mcheck's developers)."""


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got '{text}'")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got '{text}'") from None
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got '{text}'")
    return value


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)


def _bytes(text: str) -> int:
    """A size: a number of bytes, or with a binary suffix (K, M, G, T; KiB, MB, ... mean the same)."""
    m = _SIZE.match(text)
    if m is None:
        raise argparse.ArgumentTypeError(f"expected a size such as 4096, 512M or 2G, got '{text}'")
    value = float(m.group(1)) * 1024 ** "_kmgt".index(m.group(2).lower() or "_")
    if value < 1 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a positive size, got '{text}'")
    return int(value)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="mcheck",
        description="Find futurelock (and deadlock) in models of async Rust code.",
        epilog="exit codes: 0 safe, 1 futurelock or deadlock, 2 bad input, 3 inconclusive, 4 internal error",
    )
    sub = ap.add_subparsers(dest="command", required=True)
    v = sub.add_parser("verify", help="check a model file for reachable stuck states")
    v.add_argument("model", help="the model file (.mc)")
    v.add_argument("--time", choices=[m.value for m in TimeMode], default=TimeMode.UNTIMED.value,
                   help="untimed (default): timers may fire at any moment; exact: tokio's paused clock")
    v.add_argument("--max-states", type=_positive, default=bfs.Limits().max_states,
                   help="stop (inconclusive) after this many distinct states; also bounds the victim search")
    v.add_argument("--max-depth", type=_positive, default=bfs.Limits().max_depth,
                   help="stop (inconclusive) after this many steps from the initial state")
    v.add_argument("--engine", choices=[e.value for e in Engine], default=Engine.BFS.value,
                   help="bfs (default): explicit-state search; z3: inductive-invariant proof and bounded model "
                        "checking; both: run both and fail (exit 4) if they disagree")
    v.add_argument("--timeout", type=_seconds, default=None, metavar="SECONDS",
                   help="bound the whole run (parse, compile, search, victims, z3); then inconclusive (default: none)")
    v.add_argument("--z3-rlimit", type=_positive, default=DEFAULT_Z3_RLIMIT, metavar="UNITS",
                   help=f"z3's deterministic work budget, in z3 resource units (default {DEFAULT_Z3_RLIMIT:,}): "
                        "the z3 engine's verdict does not depend on how busy the machine is")
    mem = default_max_memory_mib()
    v.add_argument("--max-memory", type=_bytes, default=None, metavar="SIZE",
                   help="stop (inconclusive) when the process uses more memory than this, e.g. 4G "
                        f"(default: 80%% of physical memory{f', {mem:,.0f} MiB' if mem else ''})")
    v.add_argument("--max-size", type=_bytes, default=MAX_MODEL_BYTES, metavar="SIZE",
                   help=f"the largest model file read (default {MAX_MODEL_BYTES // 1024 // 1024} MiB)")
    v.add_argument("--show-invariant", action="store_true",
                   help="with a z3 proof of safety, print the inductive invariant in the model's names")
    v.add_argument("--format", choices=["text", "json"], default="text")
    v.add_argument("--no-symmetry", action="store_true",
                   help="explore every permutation of a task's copies (task NAME[N]); slower, same verdicts")
    v.add_argument("--quiet", action="store_true", help="no progress on stderr")
    _add_emit_rust(sub)
    return ap


class _ProgressLine:
    """Progress on stderr from a thread that reads the run's Budget: for a phase that has taken
    more than a second, one updating line on a terminal, else a plain line every few seconds."""

    FIRST = 1.0
    EVERY_TTY = 0.25
    EVERY_PLAIN = 5.0

    def __init__(self, budget: Budget, out: TextIO) -> None:
        self.budget = budget
        self.out = out
        self.tty = out.isatty()
        self.stop_flag = threading.Event()
        self.shown = False
        self.thread = threading.Thread(target=self._run, name="mcheck-progress", daemon=True)

    def _run(self) -> None:
        last_phase, last_print = None, 0.0
        while not self.stop_flag.wait(self.EVERY_TTY):
            b = self.budget
            now = time.monotonic()
            in_phase = now - b.phase_start
            if in_phase < self.FIRST:
                continue
            if not self.tty and b.phase is last_phase and now - last_print < self.EVERY_PLAIN:
                continue
            last_phase, last_print = b.phase, now
            status = f": {b.status}" if b.status else ""
            text = f"mcheck: {b.phase.value}{status} ({in_phase:.0f} s)"
            if self.tty:
                self.out.write(f"\r{text}\x1b[K")
            else:
                self.out.write(text + "\n")
            self.out.flush()
            self.shown = True

    def __enter__(self) -> _ProgressLine:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_flag.set()
        self.thread.join()
        if self.tty and self.shown:
            self.out.write("\r\x1b[K")
            self.out.flush()


@contextlib.contextmanager
def _alarm(budget: Budget) -> Iterator[None]:
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


def _internal_error(e: BaseException) -> int:
    what = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
    if os.environ.get(TRACEBACK_ENV) == "1":
        traceback.print_exception(e, file=sys.stderr)
    print(f"mcheck: internal error: {what}; please report it with the model", file=sys.stderr)
    return EXIT_INTERNAL_ERROR


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "emit-rust":
            return _emit_rust(args)
        return _verify(args)
    except KeyboardInterrupt:
        print("mcheck: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:  # anything unexpected is mcheck's fault: exit 4, never 1, never a traceback
        return _internal_error(e)


def _verify(args: argparse.Namespace) -> int:
    mem = args.max_memory / (1024 * 1024) if args.max_memory else default_max_memory_mib()
    budget = Budget(args.timeout, mem)
    time_mode = TimeMode(args.time)
    source: Source | None = None
    render = render_json if args.format == "json" else render_text
    try:
        with _ProgressLine(budget, sys.stderr) if not args.quiet else contextlib.nullcontext(), _alarm(budget):
            source = read_source(args.model, args.max_size)
            model = load(source, time_mode, symmetry=not args.no_symmetry, budget=budget)
            limits = bfs.Limits(max_states=args.max_states, max_depth=args.max_depth)
            result = check(model, limits, Engine(args.engine), budget, args.z3_rlimit)
            text = render(model, result, args.model, show_invariant=args.show_invariant)
    except InternalError as e:
        print(f"mcheck: {e}", file=sys.stderr)
        return EXIT_INTERNAL_ERROR
    except ModelError as e:
        print(e.render(e.source or source), file=sys.stderr)
        return EXIT_BAD_INPUT
    except UsageError as e:
        print(f"mcheck: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OutOfBudget as e:
        sys.stdout.write(render_stopped(args.model, time_mode, args.engine, str(e), args.format))
        return EXIT_INCONCLUSIVE
    except MemoryError:
        reason = f"out of memory while {budget.phase.value}"
        sys.stdout.write(render_stopped(args.model, time_mode, args.engine, reason, args.format))
        return EXIT_INCONCLUSIVE
    sys.stdout.write(text)
    return result.status.exit_code


def _add_emit_rust(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    e = sub.add_parser("emit-rust", help="write a cargo project that runs the model on the real tokio runtime")
    e.add_argument("model", help="the model file (.mc)")
    e.add_argument("-o", "--output", metavar="DIR",
                   help="the project directory to write (default: build/rust/MODEL-NAME)")


def _emit_rust(args: argparse.Namespace) -> int:
    """`mcheck emit-rust`: the model's exact-time verdict decides the schedule the program follows."""
    from mcheck.emit_rust import TOKIO_VERSION, project_for

    source: Source | None = None
    try:
        source = read_source(args.model)
        model = load(source, TimeMode.EXACT)
        result = check(model)
    except InternalError as e:
        print(f"mcheck: {e}", file=sys.stderr)
        return EXIT_INTERNAL_ERROR
    except ModelError as e:
        print(e.render(e.source or source), file=sys.stderr)
        return EXIT_BAD_INPUT
    except UsageError as e:
        print(f"mcheck: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    out = Path(args.output or Path("build") / "rust" / Path(args.model).stem)
    try:
        for rel, text in project_for(model, result.trace).items():
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    except OSError as e:
        print(f"mcheck: error: cannot write '{out}': {e.strerror or e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    follows = "follows its trace" if result.trace is not None else "takes seeded random decisions"
    print(f"{out}: cargo project for {args.model} (mcheck, exact time: {result.status.value}; the program {follows})")
    print(f"run it: cd {out} && cargo run --offline -q   (needs cargo and Debian's librust-tokio-dev "
          f"{TOKIO_VERSION}, librust-futures-dev; prints DONE, HANG or LIVE)")
    return 0


def entry() -> None:
    sys.exit(main())
