"""Compile time and IR size beside search time, for every bundled model, the real-size pool model
and the inputs that used to blow up the compile (issue: a compile that stays linear).

For each model and runtime: the seconds to parse, resolve and compile (to the transition system),
the IR's size (variables, transitions), and the seconds of the BFS (bounded by --max-states, so
a row that hits it says so). A model whose compile takes longer than its search is marked `!`.
Timings belong here, never in tests.
"""

from __future__ import annotations

import argparse
import glob
import os
import time

from mcheck import bfs
from mcheck.budget import Budget, OutOfBudget
from mcheck.errors import ModelError
from mcheck.model import TimeMode
from mcheck.verify import load, read_source

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")  # the project's shared inputs, when present


def models() -> list[str]:
    out = sorted(glob.glob(os.path.join(ROOT, "models", "**", "*.mc"), recursive=True))
    out += sorted(glob.glob(os.path.join(SHARED, "bench", "*.mc")))
    out += sorted(glob.glob(os.path.join(SHARED, "bugs", "*.mc")))
    return out


def row(path: str, runtime: str, max_states: int, timeout: float) -> str:
    name = os.path.relpath(path, ROOT) if path.startswith(ROOT) else os.path.relpath(path, os.path.dirname(ROOT))
    budget = Budget(timeout)
    t0 = time.monotonic()
    try:
        model = load(read_source(path), TimeMode.UNTIMED, budget=budget, runtime=runtime)
    except ModelError as e:
        return f"{name:<72} {runtime:<15} refused: {e.diagnostics[0].message[:60]}"
    except OutOfBudget as e:
        return f"{name:<72} {runtime:<15} compile stopped: {e}"
    compile_s = time.monotonic() - t0
    res = bfs.search(model.ts, bfs.Limits(max_states=max_states), budget)
    search = f"{res.stats.seconds:>8.2f}" + ("+" if res.outcome is bfs.Outcome.LIMIT else " ")
    mark = "!" if compile_s > res.stats.seconds and compile_s > 0.05 else " "
    return (f"{name:<72} {runtime:<15} {compile_s:>8.2f}{mark} {len(model.ts.vars):>5} {len(model.ts.transitions):>7} "
            f"{res.stats.states:>9,} {search}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--max-states", type=int, default=200_000)
    ap.add_argument("--timeout", type=float, default=60.0, help="per model and runtime (s)")
    ap.add_argument("--runtime", action="append", choices=["current-thread", "multi-thread"],
                    help="default: both")
    args = ap.parse_args()
    print(f"untimed; search bounded by {args.max_states:,} states ('+': the bound was hit); "
          "'!': the compile took longer than the search")
    print(f"{'model':<72} {'runtime':<15} {'compile s':>9} {'vars':>5} {'trans':>7} {'states':>9} {'search s':>9}")
    for path in models():
        for rt in args.runtime or ["current-thread", "multi-thread"]:
            print(row(path, rt, args.max_states, args.timeout), flush=True)


if __name__ == "__main__":
    main()
