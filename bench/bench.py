"""Scalability benchmark: N request tasks claiming connections from a pool actor through a
bounded channel (the production shape with the fix applied, so the whole state space is explored).

Each N runs in its own process so that peak memory is per N. Prints one row per N; stops after the
first N whose run takes longer than --budget seconds. Timings belong here, never in tests.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

MODEL = """
// expect: safe
let claims = channel(1);
task pool {{
    loop {{
        select! {{
            _ = claims.recv() => {{ sleep(10).await; }}
            _ = sleep(50) => {{}}
        }}
    }}
}}
task request[{n}] {{
    for _ in 0..2 {{
        claims.send().await;
        sleep(20).await;
    }}
}}
"""


def one(n: int, time_mode: str, symmetry: bool, runtime: str | None) -> dict[str, float]:
    from mcheck import bfs
    from mcheck.model import TimeMode
    from mcheck.source import Source
    from mcheck.verify import load

    t0 = time.monotonic()
    model = load(Source(f"bench-{n}.mc", MODEL.format(n=n)), TimeMode(time_mode), symmetry=symmetry,
                 runtime=runtime)
    compile_s = time.monotonic() - t0
    result = bfs.search(model.ts, bfs.Limits(max_states=10**9, max_depth=10**6))
    assert result.outcome is bfs.Outcome.EXHAUSTED, result.outcome
    st = result.stats
    return {"n": n, "states": st.states, "transitions": st.transitions, "seconds": st.seconds,
            "compile_s": compile_s, "rate": st.states / st.seconds if st.seconds else 0.0,
            "peak_mib": bfs.peak_rss_mib()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--max-n", type=int, default=8)
    ap.add_argument("--budget", type=float, default=60.0, help="stop after the first N slower than this (s)")
    ap.add_argument("--time", default="untimed", choices=["untimed", "exact"])
    ap.add_argument("--no-symmetry", action="store_true", help="explore every permutation of the request tasks")
    ap.add_argument("--runtime", choices=["current-thread", "multi-thread"],
                    help="default: multi-thread untimed, current-thread in exact time (docs/language.md, Runtimes)")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.one, args.time, not args.no_symmetry, args.runtime)))
        return
    sym = "without" if args.no_symmetry else "with"
    rt = args.runtime or ("current-thread" if args.time == "exact" else "multi-thread")
    print(f"pool shape, {args.time} time, {rt} runtime, {sym} symmetry reduction: "
          "N request tasks x 2 claims through channel(1)")
    print(f"{'N':>3} {'states':>10} {'transitions':>12} {'search s':>9} {'states/s':>10} {'peak MiB':>9}")
    for n in range(1, args.max_n + 1):
        extra = (["--no-symmetry"] if args.no_symmetry else []) + (["--runtime", rt])
        proc = subprocess.run([sys.executable, __file__, "--one", str(n), "--time", args.time, *extra],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{n:>3} failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}")
            break
        row = json.loads(proc.stdout)
        print(f"{n:>3} {row['states']:>10,} {row['transitions']:>12,} {row['seconds']:>9.2f} "
              f"{row['rate']:>10,.0f} {row['peak_mib']:>9.0f}", flush=True)
        if row["seconds"] > args.budget:
            break


if __name__ == "__main__":
    main()
