"""The `mcheck` command: parses arguments, runs verify.check, prints with render, sets the exit code.

Exit codes: 0 safe, 1 futurelock or deadlock, 2 bad input (model or command line), 3 inconclusive,
4 internal error (the engines disagree, or a counterexample does not replay).
The only module that writes to stdout/stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mcheck import bfs
from mcheck.errors import InternalError, ModelError, UsageError
from mcheck.model import TimeMode
from mcheck.render import render_json, render_text
from mcheck.source import Source
from mcheck.verify import DEFAULT_TIMEOUT, Engine, check, load

EXIT_BAD_INPUT = 2
EXIT_INTERNAL_ERROR = 4


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
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got '{text}'")
    return value


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
                   help="stop (inconclusive) after this many distinct states")
    v.add_argument("--max-depth", type=_positive, default=bfs.Limits().max_depth,
                   help="stop (inconclusive) after this many steps from the initial state")
    v.add_argument("--engine", choices=[e.value for e in Engine], default=Engine.BFS.value,
                   help="bfs (default): explicit-state search; z3: inductive-invariant proof and bounded model "
                        "checking; both: run both and fail (exit 4) if they disagree")
    v.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"time the z3 engine may take (default {DEFAULT_TIMEOUT:g}); then inconclusive")
    v.add_argument("--show-invariant", action="store_true",
                   help="with a z3 proof of safety, print the inductive invariant in the model's names")
    v.add_argument("--format", choices=["text", "json"], default="text")
    v.add_argument("--no-symmetry", action="store_true",
                   help="explore every permutation of a task's copies (task NAME[N]); slower, same verdicts")
    v.add_argument("--quiet", action="store_true", help="no progress on stderr")
    _add_emit_rust(sub)
    return ap


def _read(path: str) -> Source:
    try:
        return Source(path, Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read model '{path}': {getattr(e, 'strerror', None) or e}") from None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "emit-rust":
        return _emit_rust(args)
    source: Source | None = None
    try:
        source = _read(args.model)
        model = load(source, TimeMode(args.time), symmetry=not args.no_symmetry)
        limits = bfs.Limits(max_states=args.max_states, max_depth=args.max_depth)

        def progress(p: bfs.Progress) -> None:
            rate = p.states / p.seconds if p.seconds else 0.0
            print(f"mcheck: {p.states} states, depth {p.depth}, {rate:,.0f} states/s", file=sys.stderr, flush=True)

        result = check(model, limits, None if args.quiet else progress, Engine(args.engine), args.timeout)
    except InternalError as e:
        print(f"mcheck: {e}", file=sys.stderr)
        return EXIT_INTERNAL_ERROR
    except ModelError as e:
        print(e.render(source), file=sys.stderr)
        return EXIT_BAD_INPUT
    except UsageError as e:
        print(f"mcheck: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    render = render_json if args.format == "json" else render_text
    sys.stdout.write(render(model, result, args.model, show_invariant=args.show_invariant))
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
        source = _read(args.model)
        model = load(source, TimeMode.EXACT)
        result = check(model)
    except InternalError as e:
        print(f"mcheck: {e}", file=sys.stderr)
        return EXIT_INTERNAL_ERROR
    except ModelError as e:
        print(e.render(source), file=sys.stderr)
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
