"""The `mcheck` command: parses arguments, runs each model (runs.run_file) within a Budget of its
own while a thread reports progress, prints with the renderers, writes the HTML and DOT files
asked for, sets the exit code.

Exit codes: 0 safe, 1 futurelock or deadlock (`mcheck test`: a case did not pass), 2 bad input
(model or command line), 3 inconclusive (a limit, --timeout, --max-memory, or memory running
out), 4 internal error (the engines disagree, a counterexample does not replay, or any exception
mcheck did not expect: never a traceback, and never 1, which only a confirmed stuck state gives).
With several models, the worst of theirs (NOTE(worst-exit) in runs.py). The only module that
writes to stdout/stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path, PurePath
from typing import TextIO

from mcheck import bfs, html, suite, version, waitgraph
from mcheck.budget import DEFAULT_Z3_RLIMIT, Budget, cores, default_max_memory_mib
from mcheck.compiler import Runtime
from mcheck.errors import UsageError
from mcheck.model import TimeMode
from mcheck.program import RUNTIMES
from mcheck.report import diagnostics_text, outcome_text, outcomes_json, suite_json, suite_text, summary_text
from mcheck.runs import EXIT_BAD_INPUT, EXIT_INTERNAL_ERROR, Options, Outcome, model_paths, run_file, worst
from mcheck.sarif import render_sarif
from mcheck.verify import MAX_MODEL_BYTES, PYTHON_FIRST, Engine, Kernel

EXIT_INTERRUPTED = 130

DEFAULT_SUITE = "models"
"""What `mcheck test` checks when given no path: every .mc file below ./models."""

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


VERIFY_EPILOG = """\
examples:
  mcheck verify models/rfd609.mc                  the shortest trace to its futurelock (exit 1)
  mcheck verify models/rfd609.mc --time exact     tokio's paused clock instead of any timing
  mcheck verify models/ --format sarif > mcheck.sarif
                                                  every .mc file below models/, one SARIF log
  mcheck verify models/production.mc --html report.html --dot waits.dot

Each model is checked on its own: --timeout and --max-memory bound each model, not the whole
command. With several models the exit code is the worst of theirs: 4 internal error > 2 bad
input > 1 futurelock or deadlock > 3 inconclusive > 0 safe.

The model language (tasks, async fn, select!, Mutex, Semaphore, channels, ...) is described with
an example per construct in docs/language.md; the JSON output in docs/json.md, SARIF in
docs/sarif.md.
"""

SCAN_EPILOG = """\
examples:
  mcheck scan src/                                every .rs file below src/
  mcheck scan src/ --emit-models models/scan/     also write the extracted models, to refine them
  mcheck scan src/ --format sarif > scan.sarif    SARIF 2.1.0 for code scanning

Entry points (#[tokio::main], #[tokio::test], async fns and blocks nothing in the code awaits)
each become a model; the calls they make are followed by name across the files. What cannot be
translated is left out and listed. exit codes as verify: 0 safe, 1 futurelock or deadlock, 2 a
file cannot be parsed, 3 inconclusive. docs/scan.md says what is recognised.
"""

TEST_EPILOG = """\
Every model states its expected verdict in a header comment: `// expect: futurelock` (or
deadlock, or safe), and `// expect-exact: ...` when exact time differs. Each model is checked in
both time modes (--time to pick one), each run with its own --timeout and --max-memory; the table
lists model, mode, expected and actual verdict, trace length, states and seconds.

exit codes: 0 every case passed, 1 a verdict differs from its header (or was inconclusive, or a
model has no header), 2 a model is bad input, 4 internal error (the worst one counts).

examples:
  mcheck test                                     every .mc file below models/
  mcheck test models/patterns --format sarif > mcheck.sarif
  mcheck test --html reports/                     one HTML page per case, and an index
"""


def _common(p: argparse.ArgumentParser, what: str) -> None:
    """The options of a check, the same for `verify` and `test`."""
    p.add_argument("--max-states", type=_positive, default=bfs.Limits().max_states,
                   help="stop (inconclusive) after this many distinct states; also bounds the victim search")
    p.add_argument("--max-depth", type=_positive, default=bfs.Limits().max_depth,
                   help="stop (inconclusive) after this many steps from the initial state")
    p.add_argument("--engine", choices=[e.value for e in Engine], default=Engine.BFS.value,
                   help="bfs (default): explicit-state search; z3: inductive-invariant proof and bounded model "
                        "checking; both: run both and fail (exit 4) if they disagree")
    p.add_argument("--kernel", choices=[k.value for k in Kernel], default=None,
                   help="what runs the bfs engine: auto (default; or $MCHECK_KERNEL): Python for small models, past "
                        f"{PYTHON_FIRST:,} states a native search kernel compiled with the C compiler ($CC, else cc; "
                        "cached in ~/.cache/mcheck); native: the native kernel from the start; python: the Python "
                        "search only. Without a C compiler it runs on Python and the summary says why")
    p.add_argument("--workers", type=_positive, default=None, metavar="N",
                   help="threads the native kernel's search runs on (default: the cores available, "
                        f"{cores()} here, or 1 under ulimit -v); the states, the verdict and the trace are the same for any N")
    p.add_argument("--timeout", type=_seconds, default=None, metavar="SECONDS",
                   help=f"bound the run of each {what} (parse, compile, search, victims, z3): then inconclusive "
                        "(default: none)")
    p.add_argument("--z3-rlimit", type=_positive, default=DEFAULT_Z3_RLIMIT, metavar="UNITS",
                   help=f"z3's deterministic work budget, in z3 resource units (default {DEFAULT_Z3_RLIMIT:,}): "
                        "the z3 engine's verdict does not depend on how busy the machine is")
    mem = default_max_memory_mib()
    p.add_argument("--max-memory", type=_bytes, default=None, metavar="SIZE",
                   help="stop (inconclusive) when the process uses more memory than this, e.g. 4G "
                        f"(default: 80%% of physical memory, or 75%% of a ulimit -v{f', {mem:,.0f} MiB' if mem else ''})")
    p.add_argument("--max-size", type=_bytes, default=MAX_MODEL_BYTES, metavar="SIZE",
                   help=f"the largest model file read (default {MAX_MODEL_BYTES // 1024 // 1024} MiB)")
    p.add_argument("--format", choices=["text", "json", "sarif"], default="text",
                   help="text (default); json (docs/json.md); sarif: SARIF 2.1.0 for code scanning (docs/sarif.md)")
    p.add_argument("--html", metavar="PATH",
                   help="write a self-contained HTML report: the file PATH for one model file named; else (several "
                        "paths, a directory, mcheck test, or PATH a directory) one page per result inside the "
                        "directory PATH, and index.html")
    p.add_argument("--dot", metavar="PATH",
                   help="write the wait-for graph of the stuck state as Graphviz DOT, to a file or a directory "
                        "as --html does")
    p.add_argument("--no-symmetry", action="store_true",
                   help="explore every permutation of a task's copies (task NAME[N]); slower, same verdicts")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--runtime", choices=list(RUNTIMES), default=None,
                   help="the tokio runtime the code runs on (default: the model's `// runtime:` header, else "
                        "multi-thread untimed, as #[tokio::main]; current-thread in exact time, the only "
                        "runtime with a paused clock)")


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="mcheck",
        description="Find futurelock (and deadlock) in models of async Rust code.",
        epilog="exit codes: 0 safe, 1 futurelock or deadlock, 2 bad input, 3 inconclusive, 4 internal error; "
               "`mcheck verify --help` for an example",
    )
    ap.add_argument("--version", action="version", version=f"mcheck {version()}")
    sub = ap.add_subparsers(dest="command", required=True)
    v = sub.add_parser("verify", help="check model files for reachable stuck states",
                       description="Check each model for a reachable state in which a task can never run again, "
                                   "and print the shortest trace to it.",
                       epilog=VERIFY_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    v.add_argument("models", nargs="+", metavar="PATH",
                   help="a model file (.mc), or a directory: every .mc file below it")
    v.add_argument("--time", choices=[m.value for m in TimeMode], default=TimeMode.UNTIMED.value,
                   help="untimed (default): timers may fire at any moment; exact: tokio's paused clock")
    _common(v, "model")
    v.add_argument("--starvation", action="store_true",
                   help="also search a safe model for a task that waits for ever while other tasks loop "
                        "(a livelock: exit 1); keeps the whole state graph")
    v.add_argument("--show-invariant", action="store_true",
                   help="with a z3 proof of safety, print the inductive invariant in the model's names")
    t = sub.add_parser("test", help="check models against their `// expect:` headers, in both time modes",
                       description="Check every model against the verdicts its `// expect:` and `// expect-exact:` "
                                   "headers state, in both time modes, and print a table of passes and mismatches.",
                       epilog=TEST_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("paths", nargs="*", metavar="PATH",
                   help=f"model files or directories of them (default: {DEFAULT_SUITE}/)")
    t.add_argument("--time", choices=[*(m.value for m in TimeMode), "both"], default="both",
                   help="both (default): each model untimed and in exact time; or only one of them")
    _common(t, "model in each time mode")
    _add_emit_rust(sub)
    s = sub.add_parser("scan", help="find futurelock in Rust code: extract a model per entry point and check it",
                       description="Parse Rust files (every .rs below a directory), find the places where a future "
                                   "can be left dormant, extract a model of each entry point that reaches them, check "
                                   "it, and report at the Rust line.",
                       epilog=SCAN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("paths", nargs="+", metavar="PATH", help="a Rust file, or a directory: every .rs file below it")
    s.add_argument("--format", choices=["text", "json", "sarif"], default="text",
                   help="text (default): rustc-style diagnostics; json (docs/scan.md); sarif: SARIF 2.1.0")
    s.add_argument("--emit-models", metavar="DIR", help="write each extracted model to DIR, to refine and `mcheck verify`")
    s.add_argument("--time", choices=[m.value for m in TimeMode], default=TimeMode.UNTIMED.value,
                   help="untimed (default): timers may fire at any moment; exact: the durations the code states")
    s.add_argument("--timeout", type=_seconds, default=None, metavar="SECONDS",
                   help="bound the check of each extracted model: then inconclusive (default: none)")
    s.add_argument("--max-states", type=_positive, default=bfs.Limits().max_states,
                   help="stop a model's check (inconclusive) after this many distinct states")
    s.add_argument("--quiet", action="store_true", help="no progress on stderr")
    s.add_argument("--runtime", choices=list(RUNTIMES), default=None,
                   help="untimed, the runtime of every entry point (default: what its #[tokio::main] or "
                        "#[tokio::test] starts, else multi-thread); exact time is always current-thread")
    return ap


class _ProgressLine:
    """Progress on stderr from a thread that reads the run's Budget: for a phase that has taken
    more than a second, one updating line on a terminal, else a plain line every few seconds."""

    FIRST = 1.0
    EVERY_TTY = 0.25
    EVERY_PLAIN = 5.0

    def __init__(self, budget: Budget, out: TextIO, label: str = "") -> None:
        self.budget = budget
        self.out = out
        self.prefix = f"mcheck: {label}: " if label else "mcheck: "
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
            text = f"{self.prefix}{b.phase.value}{status} ({in_phase:.0f} s)"
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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "emit-rust":
            return _emit_rust(args)
        if args.command == "scan":
            return _scan(args)
        return _test(args) if args.command == "test" else _verify(args)
    except UsageError as e:
        print(f"mcheck: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("mcheck: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:  # anything unexpected is mcheck's fault: exit 4, never 1, never a traceback
        return _internal_error(e)


def _internal_error(e: BaseException) -> int:
    what = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
    if os.environ.get(TRACEBACK_ENV) == "1":
        traceback.print_exception(e, file=sys.stderr)
    print(f"mcheck: internal error: {what}; please report it with the model", file=sys.stderr)
    return EXIT_INTERNAL_ERROR


def _options(args: argparse.Namespace, time_mode: TimeMode) -> Options:
    mem = args.max_memory / (1024 * 1024) if args.max_memory else default_max_memory_mib()
    return Options(time_mode, Engine(args.engine), bfs.Limits(max_states=args.max_states, max_depth=args.max_depth),
                   args.z3_rlimit, args.max_size, not args.no_symmetry, args.timeout, mem, args.runtime,
                   Kernel(args.kernel) if args.kernel else None, getattr(args, "starvation", False),
                   args.workers)


def _run(path: str, opts: Options, args: argparse.Namespace, label: str) -> Outcome:
    """One model within its own Budget, with progress on stderr; what went wrong goes to stderr."""
    budget = Budget(opts.timeout, opts.max_memory_mib)
    with _ProgressLine(budget, sys.stderr, label) if not args.quiet else contextlib.nullcontext():
        outcome = run_file(path, opts, budget)
    if outcome.exception is not None and os.environ.get(TRACEBACK_ENV) == "1":
        traceback.print_exception(outcome.exception, file=sys.stderr)
    if outcome.result is None and not outcome.stopped:
        print(diagnostics_text(outcome), file=sys.stderr)
    return outcome


def _verify(args: argparse.Namespace) -> int:
    paths = model_paths(args.models)
    # One model file named: its output is what it always was. A directory or several paths: a
    # summary table, a list document, a directory of reports, even when they hold one model.
    many = len(args.models) > 1 or any(os.path.isdir(a) for a in args.models)
    opts = _options(args, TimeMode(args.time))
    outcomes: list[Outcome] = []
    for path in paths:
        o = _run(path, opts, args, path if many else "")
        outcomes.append(o)
        if args.format == "text":
            text = outcome_text(o, args.show_invariant)
            sys.stdout.write(text + ("\n" if text and many else ""))
            sys.stdout.flush()
    code = worst([o.exit_code for o in outcomes])
    if args.format == "text" and many:
        sys.stdout.write(summary_text(outcomes, code))
    elif args.format == "json":
        sys.stdout.write(outcomes_json(outcomes, code, many, args.show_invariant))
    elif args.format == "sarif":
        sys.stdout.write(render_sarif(outcomes, code))
    return worst([code, _write_files(outcomes, args, many)])


def _scan(args: argparse.Namespace) -> int:
    from mcheck.scan.check import scan
    from mcheck.scan.report import scan_json, scan_sarif, scan_text

    # Exact time is the paused clock, which exists only on one thread. Untimed: --runtime for every
    # entry point, else what its attribute starts (the model's // runtime: header), else multi-thread.
    runtime = Runtime.CURRENT_THREAD if args.time == TimeMode.EXACT.value else args.runtime
    opts = Options(TimeMode(args.time), Engine.BFS, bfs.Limits(max_states=args.max_states), timeout=args.timeout,
                   max_memory_mib=default_max_memory_mib(), runtime=runtime)
    last = [time.monotonic()]

    def progress(done: int, total: int) -> None:  # a line every few seconds on a long scan
        now = time.monotonic()
        if not args.quiet and now - last[0] >= _ProgressLine.EVERY_PLAIN:
            last[0] = now
            print(f"mcheck: scan: checked {done:,} of {total:,} entry points", file=sys.stderr, flush=True)

    result = scan(args.paths, opts, args.emit_models, progress)
    render = {"text": scan_text, "json": scan_json, "sarif": scan_sarif}[args.format]
    sys.stdout.write(render(result))
    if args.format != "text":
        for e in result.errors:
            print(e.render(), file=sys.stderr)
    return result.exit_code


def _test(args: argparse.Namespace) -> int:
    if not args.paths and not os.path.isdir(DEFAULT_SUITE):
        raise UsageError(f"no '{DEFAULT_SUITE}/' directory here: give the model files or directories to test")
    paths = model_paths(args.paths or [DEFAULT_SUITE])
    modes = suite.TIME_MODES if args.time == "both" else (TimeMode(args.time),)
    opts = _options(args, modes[0])
    cases = []
    for path, mode in suite.cases(paths, modes):
        # --runtime is for the untimed cases: exact time runs on current-thread only
        mode_opts = replace(opts, time=mode, runtime=opts.runtime if mode is TimeMode.UNTIMED else None)
        case = suite.judge(_run(path, mode_opts, args, f"{path} ({mode.value})"))
        cases.append(case)
        for rt in suite.other_runtimes(case) if opts.runtime is None else ():
            cases.append(suite.judge(_run(path, replace(mode_opts, runtime=rt), args, f"{path} ({mode.value}, {rt})")))
    code = suite.exit_code(cases)
    outcomes = [c.outcome for c in cases]
    if args.format == "text":
        sys.stdout.write(suite_text(cases, code))
    elif args.format == "json":
        sys.stdout.write(suite_json(cases, code))
    else:
        sys.stdout.write(render_sarif(outcomes, code, cases))
    return worst([code, _write_files(outcomes, args, many=True)])


def _write_files(outcomes: Sequence[Outcome], args: argparse.Namespace, many: bool) -> int:
    """--html and --dot: a file for one model file named, else (or when PATH is a directory) a
    directory of them, one per outcome. 0, or 2 when a file cannot be written (said on stderr)."""
    code = 0
    for option, suffix in (("html", ".html"), ("dot", ".dot")):
        target = getattr(args, option)
        if not target:
            continue
        try:
            if not many and len(outcomes) == 1 and not os.path.isdir(target):
                _write(Path(target), _file_text(outcomes[0], suffix))
                continue
            pages = []
            for o in outcomes:
                rel = _report_name(o, suffix)
                _write(Path(target) / rel, _file_text(o, suffix))
                pages.append((rel.as_posix(), o))
            if suffix == ".html":
                _write(Path(target) / "index.html", html.index_page(pages))
        except OSError as e:
            print(f"mcheck: error: cannot write --{option} {target}: {e.strerror or e}", file=sys.stderr)
            code = EXIT_BAD_INPUT
    return code


def _file_text(o: Outcome, suffix: str) -> str:
    if suffix == ".html":
        return html.page(o)
    graph = None
    if o.model is not None and o.result is not None and o.result.trace is not None:
        trace = o.result.trace
        graph = waitgraph.build(o.model, trace.report, trace.steps[-1].state if trace.steps else trace.initial)
    return waitgraph.to_dot(graph, f"wait-for graph: {o.path} ({o.time.value}): {o.what}")


def _report_name(o: Outcome, suffix: str) -> PurePath:
    """models/rfd609.mc in exact time -> models/rfd609.exact.html: the model's path mirrored
    under the directory (`..` and a leading / kept inside it)."""
    p = PurePath(o.path)
    parts = ["_" if part == ".." else part for part in p.parts if part not in (p.anchor, ".")]
    name = PurePath(*parts) if parts else PurePath("model")
    # a case on the runtime its time mode does not default to gets a name of its own
    default = Runtime.CURRENT_THREAD if o.time is TimeMode.EXACT else Runtime.MULTI_THREAD
    runtime = f".{o.model.runtime}" if o.model is not None and o.model.runtime != default else ""
    return name.with_name(f"{name.stem}.{o.time.value}{runtime}{suffix}")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _add_emit_rust(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    e = sub.add_parser("emit-rust", help="write a cargo project that runs the model on the real tokio runtime")
    e.add_argument("model", help="the model file (.mc)")
    e.add_argument("-o", "--output", metavar="DIR",
                   help="the project directory to write (default: build/rust/MODEL-NAME)")
    e.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _emit_rust(args: argparse.Namespace) -> int:
    """`mcheck emit-rust`: the model's exact-time verdict decides the schedule the program follows."""
    from mcheck.emit_rust import TOKIO_VERSION, project_for, unsupported

    outcome = _run(args.model, Options(TimeMode.EXACT), args, "")
    if outcome.model is None or outcome.result is None:
        if outcome.stopped:
            print(f"mcheck: {args.model}: inconclusive: {outcome.stopped}", file=sys.stderr)
        return outcome.exit_code
    result = outcome.result
    refused = unsupported(outcome.model.program)
    if refused is not None:
        print("\n".join(d.render(outcome.model.source) for d in refused.diagnostics), file=sys.stderr)
        return EXIT_BAD_INPUT
    out = Path(args.output or Path("build") / "rust" / Path(args.model).stem)
    try:
        for rel, text in project_for(outcome.model, result.trace).items():
            _write(out / rel, text)
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
