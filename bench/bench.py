"""Scalability benchmark: N request tasks claiming connections from a pool actor through a
bounded channel (the production shape with the fix applied, so the whole state space is explored).

Each N runs in its own process so that peak memory is per N, with a kernel cache of its own, so
that the native kernel's compile is always paid (as SPIN's `spin -a` + `gcc` are). Prints one row
per N: states, CPU seconds of the search and states per CPU second, bytes per state (the native
kernel's visited set: packed words, parent index, first transition, table slots), peak memory,
and the end-to-end seconds to a verdict (the process: start, parse, compile, kernel, search).
The native search runs on --workers threads (default: the cores available); with --speedup it runs
again on one thread in the same process, and the row gives both searches' wall-clock seconds and
their ratio (the speed-up of the threads); that extra search is left out of the time to a verdict.
With --spin, SPIN's BFS on bench/pool_family.pml (the same states as mcheck --no-symmetry) for
the same N in the same run, and the ratio of states per CPU second; where `spin` or the .pml is
missing the SPIN columns say so. Stops after the first N whose run takes longer than --budget
seconds. Timings belong here, never in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PML = os.path.join(HERE, "pool_family.pml")

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


def one(n: int, time_mode: str, symmetry: bool, runtime: str | None, engine: str, workers: int,
        speedup: bool) -> dict[str, float | str]:
    from mcheck import bfs
    from mcheck.evaluate import compile_system
    from mcheck.model import TimeMode
    from mcheck.source import Source
    from mcheck.verify import load

    t0 = time.monotonic()
    model = load(Source(f"bench-{n}.mc", MODEL.format(n=n)), TimeMode(time_mode), symmetry=symmetry,
                 runtime=runtime)
    compile_s = time.monotonic() - t0
    cs = compile_system(model.ts)
    limits = bfs.Limits(max_states=4 * 10**9, max_depth=10**6)
    kernel_s = 0.0
    per_state = 0.0
    alone = 0.0
    if engine == "native":
        from mcheck import kernel
        from mcheck.kernel.search import search

        k0 = time.monotonic()
        built = kernel.load(model.ts)
        kernel_s = time.monotonic() - k0
        if speedup:
            w0 = time.monotonic()
            single, _ = search(model.ts, built, cs, limits, workers=1)
            alone = time.monotonic() - w0
            assert single.outcome is bfs.Outcome.EXHAUSTED, single.outcome
        c0 = time.process_time()
        result, footprint = search(model.ts, built, cs, limits, workers=workers)
        per_state = footprint.per_state
        assert not speedup or single.stats.states == result.stats.states
    else:
        c0 = time.process_time()
        result = bfs.search(model.ts, limits, compiled=cs)
    cpu = time.process_time() - c0
    assert result.outcome is bfs.Outcome.EXHAUSTED, result.outcome
    st = result.stats
    return {"n": n, "states": st.states, "transitions": st.transitions, "seconds": st.seconds, "cpu": cpu,
            "compile_s": compile_s, "kernel_s": kernel_s, "rate": st.states / cpu if cpu else 0.0,
            "bytes": per_state, "peak_mib": bfs.peak_rss_mib(), "alone": alone}


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def spin(n: int, budget: float) -> dict[str, float] | str:
    """SPIN's BFS on pool_family.pml: states, CPU seconds of pan, end-to-end seconds (spin -a,
    gcc, pan); or why it did not run."""
    if not os.path.exists(PML):
        return f"no {os.path.relpath(PML)}"
    if shutil.which("spin") is None or shutil.which("gcc") is None:
        return "spin not installed (apt-get install spin)"
    with tempfile.TemporaryDirectory(prefix="mcheck-spin-") as tmp:
        shutil.copy(PML, tmp)
        t0 = time.monotonic()
        try:
            subprocess.run(["spin", f"-DN={n}", "-a", "pool_family.pml"], cwd=tmp, check=True, capture_output=True)
            subprocess.run(["gcc", "-O2", "-DBFS", "-DSAFETY", "-DMEMLIM=16000", "-o", "pan", "pan.c"], cwd=tmp,
                           check=True, capture_output=True)
            c0 = children_cpu()
            pan = subprocess.run(["./pan"], cwd=tmp, check=True, capture_output=True, text=True, timeout=budget * 4)
            cpu = children_cpu() - c0
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
            return f"spin failed: {e}"
        total = time.monotonic() - t0
    m = re.search(r"^\s*(\d+) states, stored", pan.stdout, re.MULTILINE)
    mem = re.search(r"^\s*([\d.]+)\s+total actual memory usage", pan.stdout, re.MULTILINE)
    if m is None:
        return "spin: no state count in pan's output"
    states = int(m.group(1))
    return {"states": states, "cpu": cpu, "rate": states / cpu if cpu else 0.0, "total": total,
            "bytes": float(mem.group(1)) * 1024 * 1024 / states if mem else 0.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--max-n", type=int, default=8)
    ap.add_argument("--min-n", type=int, default=1)
    ap.add_argument("--budget", type=float, default=60.0, help="stop after the first N slower than this (s)")
    ap.add_argument("--time", default="untimed", choices=["untimed", "exact"])
    ap.add_argument("--no-symmetry", action="store_true", help="explore every permutation of the request tasks")
    ap.add_argument("--runtime", choices=["current-thread", "multi-thread"],
                    help="default: multi-thread untimed, current-thread in exact time (docs/language.md, Runtimes)")
    ap.add_argument("--kernel", choices=["native", "python"], default="native",
                    help="the native search kernel (default; compiled per run) or the Python BFS")
    ap.add_argument("--spin", action="store_true", help="SPIN's BFS on bench/pool_family.pml beside each N")
    ap.add_argument("--workers", type=int, default=max(len(os.sched_getaffinity(0)), 1),
                    help="threads of the native search (default: the cores available)")
    ap.add_argument("--speedup", action="store_true",
                    help="also search on one thread, and give both wall-clock times and their ratio")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.one, args.time, not args.no_symmetry, args.runtime, args.kernel, args.workers,
                             args.speedup)))
        return
    sym = "without" if args.no_symmetry else "with"
    rt = args.runtime or ("current-thread" if args.time == "exact" else "multi-thread")
    threads = f", {args.workers} workers" if args.kernel == "native" else ""
    print(f"pool shape, {args.time} time, {rt} runtime, {sym} symmetry reduction, {args.kernel} kernel{threads}: "
          "N request tasks x 2 claims through channel(1); CPU seconds of the search, end-to-end wall seconds")
    head = (f"{'N':>3} {'states':>11} {'transitions':>12} {'cpu s':>7} {'states/s':>10} {'B/state':>8} "
            f"{'peak MiB':>9} {'kernel s':>9} {'to verdict':>10}")
    if args.speedup:
        head += f" | {'1 worker s':>10} {f'{args.workers} workers s':>11} {'speed-up':>8}"
    if args.spin:
        head += f" | {'SPIN states':>11} {'cpu s':>7} {'states/s':>10} {'B/state':>8} {'to verdict':>10} {'ratio':>6}"
    print(head)
    for n in range(args.min_n, args.max_n + 1):
        extra = (["--no-symmetry"] if args.no_symmetry else []) + ["--runtime", rt, "--kernel", args.kernel,
                                                                    "--workers", str(args.workers)]
        extra += ["--speedup"] if args.speedup else []
        with tempfile.TemporaryDirectory(prefix="mcheck-bench-cache-") as cache:
            t0 = time.monotonic()
            proc = subprocess.run([sys.executable, __file__, "--one", str(n), "--time", args.time, *extra],
                                  capture_output=True, text=True, env={**os.environ, "XDG_CACHE_HOME": cache})
            total = time.monotonic() - t0
        if proc.returncode != 0:
            print(f"{n:>3} failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}")
            break
        row = json.loads(proc.stdout)
        total -= row["alone"]  # --speedup's extra search on one thread is no part of the verdict
        line = (f"{n:>3} {row['states']:>11,} {row['transitions']:>12,} {row['cpu']:>7.2f} {row['rate']:>10,.0f} "
                f"{row['bytes']:>8.1f} {row['peak_mib']:>9.0f} {row['kernel_s']:>9.2f} {total:>10.2f}")
        if args.speedup:
            ratio = row["alone"] / row["seconds"] if row["seconds"] else 0.0
            line += f" | {row['alone']:>10.2f} {row['seconds']:>11.2f} {ratio:>8.2f}"
        if args.spin:
            s = spin(n, args.budget)
            if isinstance(s, str):
                line += f" | {s}"
            else:
                same = "" if s["states"] == row["states"] else " (different state count!)"
                ratio = row["rate"] / s["rate"] if s["rate"] else 0.0
                line += (f" | {s['states']:>11,} {s['cpu']:>7.2f} {s['rate']:>10,.0f} {s['bytes']:>8.1f} "
                         f"{s['total']:>10.2f} {ratio:>6.2f}{same}")
        print(line, flush=True)
        if row["seconds"] > args.budget:
            break


if __name__ == "__main__":
    main()
