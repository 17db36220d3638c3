"""The `mcheck` command: parses arguments, runs verify.check, prints with render, sets the exit code.

Exit codes: 0 safe, 1 futurelock or deadlock, 2 bad input (model or command line), 3 inconclusive.
The only module that writes to stdout/stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mcheck import bfs
from mcheck.errors import ModelError, UsageError
from mcheck.model import TimeMode
from mcheck.render import render_json, render_text
from mcheck.source import Source
from mcheck.verify import check, load

EXIT_BAD_INPUT = 2


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got '{text}'")
    return value


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="mcheck",
        description="Find futurelock (and deadlock) in models of async Rust code.",
        epilog="exit codes: 0 safe, 1 futurelock or deadlock, 2 bad input, 3 inconclusive",
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
    v.add_argument("--format", choices=["text", "json"], default="text")
    v.add_argument("--no-symmetry", action="store_true",
                   help="explore every permutation of a task's copies (task NAME[N]); slower, same verdicts")
    v.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return ap


def _read(path: str) -> Source:
    try:
        return Source(path, Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read model '{path}': {getattr(e, 'strerror', None) or e}") from None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    source: Source | None = None
    try:
        source = _read(args.model)
        model = load(source, TimeMode(args.time), symmetry=not args.no_symmetry)
        limits = bfs.Limits(max_states=args.max_states, max_depth=args.max_depth)

        def progress(p: bfs.Progress) -> None:
            rate = p.states / p.seconds if p.seconds else 0.0
            print(f"mcheck: {p.states} states, depth {p.depth}, {rate:,.0f} states/s", file=sys.stderr, flush=True)

        result = check(model, limits, None if args.quiet else progress)
    except ModelError as e:
        print(e.render(source), file=sys.stderr)
        return EXIT_BAD_INPUT
    except UsageError as e:
        print(f"mcheck: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    render = render_json if args.format == "json" else render_text
    sys.stdout.write(render(model, result, args.model))
    return result.status.exit_code


def entry() -> None:
    sys.exit(main())
