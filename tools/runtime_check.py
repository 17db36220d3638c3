"""Differential check of mcheck against the real tokio runtime (`make runtime-check`).

Every bundled model and N generated ones go through `emit-rust` into one crate (one module per
case, so it builds once), built offline against Debian's tokio; each case runs in its own process
under several seeds and, where mcheck found a stuck state, with the trace's schedule. The tokio
outcome is set beside mcheck's exact-time verdict:

- soundness: tokio hangs and mcheck says safe. Must be 0; each such case is written to
  tests/runtime_regressions/ as a model and its Rust. A hang that mcheck's starvation search
  (mcheck/livelock.py) explains, a task tokio names stuck that waits for ever while another task
  loops, is counted apart: it is a livelock, which no stuck state shows (SEMANTICS.md section 6).
- completeness: mcheck reports a stuck state and tokio completes; explained when the trace's
  schedule (replayed) hangs, i.e. tokio's own schedule did not take it; counted apart when the
  trace fires timers of two tasks due at the same instant (equal deadlines fire in any order,
  SEMANTICS.md section 5), an order the replay cannot force on tokio's timer wheel.

Needs cargo and `apt-get install -y librust-tokio-dev librust-futures-dev` (installed here when
run as root); without them it says what to install and exits 0, skipped.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import pickle
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mcheck import bfs  # noqa: E402
from mcheck import program as p  # noqa: E402
from mcheck.emit_rust import (  # noqa: E402
    FUTURES_VERSION,
    TOKIO_VERSION,
    Schedule,
    emit_module,
    project_files,
    schedule_from_trace,
    unsupported,
)
from mcheck.errors import MCheckError  # noqa: E402
from mcheck.evaluate import compile_system  # noqa: E402
from mcheck.livelock import find_starvation  # noqa: E402
from mcheck.model import CompiledModel, StepKind, TimeMode  # noqa: E402
from mcheck.parse import parse_module  # noqa: E402
from mcheck.resolve import resolve  # noqa: E402
from mcheck.source import Source  # noqa: E402
from mcheck.trace import Status, Trace  # noqa: E402
from mcheck.verify import check, load  # noqa: E402

REGISTRY = Path("/usr/share/cargo/registry")
PACKAGES = "librust-tokio-dev librust-futures-dev"
MAX_STATES = 200_000
PREPARE_SECONDS = 20  # mcheck's time for one model; a model that needs more is not compared
PREPARE_BYTES = 3 << 30  # and its memory
RUN_TIMEOUT = 30  # seconds per process; the program's own watchdog ends it after 10
REGRESSIONS = ROOT / "tests" / "runtime_regressions"

Generator = Callable[[int], str]


@dataclass
class Case:
    name: str  # its module in the crate
    origin: str  # the model file, or "generated, seed N"
    text: str
    verdict: Status  # mcheck's, in exact time
    stuck_tasks: tuple[str, ...] = ()
    starved: tuple[str, ...] = ()  # when safe: tasks mcheck's starvation search finds waiting for ever
    tied_timers: bool = False  # the trace fires timers of two tasks due at the same instant
    source_name: str = ""
    schedule: str = ""  # the trace's decisions, for the replay
    plan: Schedule | None = None  # the same, for emit_module
    module: str = ""
    randomized: bool = False  # has choose(), an unbiased select!, or more than one task
    expect: p.Verdict | None = None  # a bundled model's header (exact, else untimed)
    runs: dict[str, list[str]] = field(default_factory=dict)  # "seed N" / "trace" → output lines

    def outcome(self, run: str) -> str:
        out = self.runs.get(run)
        return out[0] if out else "ERROR"

    @property
    def seed_outcomes(self) -> list[str]:
        return [self.outcome(r) for r in self.runs if r.startswith("seed")]


def generator() -> tuple[Generator, str]:
    """tests/modelgen.py's random_model when it exists, else tools/runtime_modelgen.py's."""
    for path in (ROOT / "tests" / "modelgen.py", ROOT / "tools" / "runtime_modelgen.py"):
        if path.exists():
            spec = importlib.util.spec_from_file_location(f"_gen_{path.stem}", path)
            assert spec is not None and spec.loader is not None
            mod = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = mod  # its dataclasses look their module up
            spec.loader.exec_module(mod)
            fn: Generator = mod.random_model
            return fn, str(path.relative_to(ROOT))
    raise SystemExit("runtime-check: no model generator found")


def cargo() -> str | None:
    """cargo on PATH, else rustup's default place for it."""
    found = shutil.which("cargo")
    if found is None and (Path.home() / ".cargo" / "bin" / "cargo").is_file():
        found = str(Path.home() / ".cargo" / "bin" / "cargo")
    return found


def prerequisites() -> str | None:
    """None when cargo and the crates are there (installing the crates when root); else what is missing."""
    have_crates = any(REGISTRY.glob("tokio-1.*")) and any(REGISTRY.glob("futures-util-0.3.*"))
    if not have_crates and shutil.which("apt-get") and os.geteuid() == 0:
        print(f"runtime-check: installing {PACKAGES}", flush=True)
        cmd = ["apt-get", "install", "-y", "-q", *PACKAGES.split()]
        if subprocess.run(cmd, stdout=subprocess.DEVNULL).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], stdout=subprocess.DEVNULL)
            subprocess.run(cmd, stdout=subprocess.DEVNULL)
        have_crates = any(REGISTRY.glob("tokio-1.*")) and any(REGISTRY.glob("futures-util-0.3.*"))
    missing = []
    if cargo() is None:
        missing.append("cargo (a Rust toolchain)")
    if not have_crates:
        missing.append(f"the crate sources: apt-get install -y {PACKAGES}")
    return "; ".join(missing) if missing else None


def bundled() -> list[Path]:
    return sorted((ROOT / "models").rglob("*.mc"))


def prepare(name: str, origin: str, source: Source) -> Case | str:
    """mcheck's exact-time verdict and the emitted module; or why the model is not compared."""
    try:
        model = load(source, TimeMode.EXACT)
        result = check(model, bfs.Limits(max_states=MAX_STATES))
    except MCheckError:
        return "refused"
    if unsupported(model.program) is not None:  # what emit-rust does not emit yet
        return "refused"
    if result.status is Status.INCONCLUSIVE:
        return "inconclusive"
    prog = model.program
    case = Case(name, origin, source.text, result.status, source_name=source.name)
    case.expect = prog.expect.exact or prog.expect.untimed
    if result.trace is not None:
        case.plan = schedule_from_trace(model, result.trace)
        case.schedule = case.plan.text()
        case.stuck_tasks = tuple(model.tasks[t].name for t in result.trace.report.stuck_tasks)
        case.tied_timers = tied_timers(model, result.trace)
    case.randomized = _randomized(prog)
    if result.status is Status.SAFE:
        try:
            found = find_starvation(model, compile_system(model.ts), MAX_STATES)
        except MCheckError:
            found = None
        case.starved = found.starved if found is not None else ()
    return case


def tied_timers(model: CompiledModel, trace: Trace) -> bool:
    """Between two advances of the clock, timers of two different tasks fire: which fires first is
    the trace's choice (equal deadlines fire in any order), not one the replay can make."""
    fired: set[int] = set()
    for step in trace.steps:
        label = model.ts.transitions[step.transition].label
        if label.kind is StepKind.ADVANCE:
            fired.clear()
        elif label.kind is StepKind.FIRE:
            fired.add(label.task)
            if len(fired) > 1:
                return True
    return False


def emit(case: Case) -> None:
    """The case's Rust module (parse and resolve again: emitting needs no compiled model, and the
    cached verdicts stay valid when only the emitter changes)."""
    source = Source(case.source_name, case.text)
    case.module = emit_module(resolve(source, parse_module(source)), source, case.plan)


class _TooLong(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _TooLong


def _worker_init() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (PREPARE_BYTES, PREPARE_BYTES))
    signal.signal(signal.SIGALRM, _alarm)


def _prepare_limited(job: tuple[str, str, str, str]) -> Case | str:
    name, origin, source_name, text = job
    try:
        signal.alarm(PREPARE_SECONDS)
        try:
            return prepare(name, origin, Source(source_name, text))
        finally:
            signal.alarm(0)
    except (_TooLong, MemoryError):  # the alarm may also strike just after prepare returned
        return "too big"


def _mcheck_digest() -> str:
    """Changes whenever mcheck's verdicts may (its code but the emitter) or this script does."""
    h = hashlib.sha256()
    for f in sorted([*(ROOT / "mcheck").rglob("*.py"), Path(__file__)]):
        if f.name == "emit_rust.py":
            continue  # a case's module is emitted afresh on every run
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def prepare_all(jobs: list[tuple[str, str, str, str]], workers: int, cache: Path | None = None) -> list[Case | str]:
    """prepare() for every job in worker processes, each model within PREPARE_SECONDS and
    PREPARE_BYTES (a model beyond them is "too big"); results in the jobs' order. With `cache`, a
    result is kept there per model text and mcheck version, and reused."""
    results: dict[int, Case | str] = {}
    keys: dict[int, Path] = {}
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        digest = _mcheck_digest()
        for i, job in enumerate(jobs):
            keys[i] = cache / (hashlib.sha256(("\0".join(job) + digest).encode()).hexdigest()[:32] + ".pickle")
            if keys[i].exists():
                try:
                    results[i] = pickle.loads(keys[i].read_bytes())
                except Exception:  # written by another version of this script: prepare again
                    keys[i].unlink()
    crashes: dict[int, int] = {}
    todo = [i for i in range(len(jobs)) if i not in results]
    while todo:
        with ProcessPoolExecutor(workers, initializer=_worker_init) as pool:
            futs: dict[int, Future[Case | str]] = {i: pool.submit(_prepare_limited, jobs[i]) for i in todo}
            for i, fut in futs.items():
                try:
                    results[i] = fut.result()
                except BrokenProcessPool:
                    crashes[i] = crashes.get(i, 0) + 1
                    if crashes[i] >= 2:
                        results[i] = "too big"
                except Exception as e:  # a bug in mcheck or the emitter: report it, go on
                    results[i] = f"not prepared ({type(e).__name__}: {e})"
                # "too big" depends on the machine's load at the time (a wall-clock alarm): not kept.
                if i in results and i in keys and results[i] != "too big":
                    keys[i].write_bytes(pickle.dumps(results[i]))
        todo = [i for i in todo if i not in results]
    return [results[i] for i in range(len(jobs))]


def _randomized(prog: p.Program) -> bool:
    if sum(t.copies for t in prog.tasks) > 1:
        return True
    text = repr(prog)
    return "Choose(" in text or re.search(r"Select\(biased=False, arms=\(SelectArm\(.*SelectArm\(", text) is not None


def build(cases: list[Case], crate_dir: Path) -> Path:
    crate_dir = crate_dir.resolve()
    files = project_files("mcheck-runtime-check", {c.name: c.module for c in cases})
    src = crate_dir / "src"
    if src.exists():
        shutil.rmtree(src)
    for rel, text in files.items():
        target = crate_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
    for c in cases:
        if c.schedule:
            (crate_dir / "schedules").mkdir(exist_ok=True)
            (crate_dir / "schedules" / f"{c.name}.txt").write_text(c.schedule)
    env = dict(os.environ, CARGO_TARGET_DIR=str(crate_dir / "target"), RUSTFLAGS="-A warnings")
    tool = cargo()
    assert tool is not None
    env["PATH"] = f"{Path(tool).parent}{os.pathsep}{env.get('PATH', '')}"  # rustc beside it
    proc = subprocess.run([tool, "build", "--offline", "-q"], cwd=crate_dir, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-20000:])
        raise SystemExit("runtime-check: the emitted crate does not build (see above)")
    return crate_dir / "target" / "debug" / "mcheck-runtime-check"


def run_one(binary: Path, case: Case, run: str, args: list[str]) -> None:
    try:
        proc = subprocess.run([str(binary), case.name, *args], capture_output=True, text=True, timeout=RUN_TIMEOUT)
        lines = proc.stdout.splitlines() or [f"ERROR exit {proc.returncode}: {proc.stderr.strip()[-300:]}"]
    except subprocess.TimeoutExpired:
        lines = ["ERROR the process outlived its watchdog"]
    case.runs[run] = lines


def run_all(binary: Path, cases: list[Case], seeds: list[int], crate_dir: Path, jobs: int,
            randomized_only: bool = True) -> None:
    """Runs every case under the seeds (only the first, for a case that takes no random decision,
    when `randomized_only`), then replays the trace of each stuck verdict no seed reproduced."""
    work: list[tuple[Case, str, list[str]]] = []
    for c in cases:
        for s in seeds if c.randomized or not randomized_only else seeds[:1]:
            work.append((c, f"seed {s}", ["--seed", str(s)]))
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(lambda w: run_one(binary, *w), work))
    # A stuck verdict that no seed reproduced: replay mcheck's trace.
    replays = [c for c in cases if c.verdict is not Status.SAFE and "HANG" not in c.seed_outcomes]
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(lambda c: run_one(binary, c, "trace", ["--schedule", str(crate_dir / "schedules" /
                                                                            f"{c.name}.txt")]), replays))


def tokio_hangs(c: Case) -> bool:
    return any(o == "HANG" for o in c.seed_outcomes) or c.outcome("trace") == "HANG"


def livelocked(c: Case) -> bool:
    """mcheck's starvation search explains the hang: a task tokio reports stuck is one it finds
    waiting for ever in a cycle of the others."""
    names = {line.split("\t")[1] for run in c.runs.values() for line in run if line.startswith("stuck\t")}
    return bool(names & set(c.starved))


def waiting_at_shutdown(c: Case) -> bool:
    """Every task mcheck finds stuck was still waiting when `main` completed (and ended the run),
    and made no progress when it was let run on for a monitor period."""
    lines = [line for run in c.runs.values() for line in run if line.startswith("blocked\t")]
    names = {line.split("\t")[1] for line in lines}
    return bool(c.stuck_tasks) and "main" not in c.stuck_tasks and set(c.stuck_tasks) <= names


def write_regression(c: Case) -> Path:
    REGRESSIONS.mkdir(parents=True, exist_ok=True)
    outcome = "; ".join(f"{run}: {' | '.join(out)}" for run, out in c.runs.items())
    head = (f"// Found by tools/runtime_check.py ({c.origin}): tokio hangs, mcheck (exact) says safe.\n"
            f"// tokio {TOKIO_VERSION}: {outcome}\n")
    (REGRESSIONS / f"{c.name}.mc").write_text(head + c.text)
    (REGRESSIONS / f"{c.name}.rs").write_text(c.module)
    return REGRESSIONS / f"{c.name}.mc"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=200, help="generated models (default 200)")
    ap.add_argument("--seed", type=int, default=None, help="the generator's first seed (default: from the clock)")
    ap.add_argument("--runs", type=int, default=3, help="seeded runs of a case with random choices (default 3)")
    ap.add_argument("--no-bundled", action="store_true", help="only generated models")
    ap.add_argument("--dir", default=str(ROOT / ".runtime-check"), help="build directory (outside git)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--soundness", choices=["fail", "warn"], default="fail",
                    help="fail (default): exit 1 when tokio hangs where mcheck says safe; warn: report it only")
    args = ap.parse_args(argv)
    seed = args.seed if args.seed is not None else int(time.time()) % 1_000_000
    missing = prerequisites()
    if missing:
        print(f"runtime-check: skipped: needs {missing}")
        return 0
    gen, gen_name = generator()
    print(f"runtime-check: seed {seed} (reproduce: make runtime-check N={args.n} SEED={seed}); generator {gen_name}; "
          f"tokio {TOKIO_VERSION}, futures {FUTURES_VERSION}", flush=True)
    t0 = time.time()
    jobs: list[tuple[str, str, str, str]] = []
    if not args.no_bundled:
        for path in bundled():
            rel = str(path.relative_to(ROOT))
            name = "b_" + re.sub(r"\W", "_", rel.removeprefix("models/").removesuffix(".mc"))
            jobs.append((name, rel, rel, path.read_text()))
    for i in range(args.n):
        s = seed + i
        jobs.append((f"g_{s}", f"generated, seed {s}", f"generated-{s}.mc", gen(s)))
    cases: list[Case] = []
    skipped: dict[str, int] = {}
    for job, got in zip(jobs, prepare_all(jobs, args.jobs, Path(args.dir) / "cache"), strict=True):
        if isinstance(got, Case):
            emit(got)
            cases.append(got)
        elif job[0].startswith("b_"):
            print(f"runtime-check: {job[1]} is {got}: not compared")
        else:
            if got.startswith("not prepared"):
                print(f"runtime-check: {job[1]}: {got}")
                got = "not prepared (an error, above)"
            skipped[got] = skipped.get(got, 0) + 1
    t1 = time.time()
    crate_dir = Path(args.dir) / "crate"
    binary = build(cases, crate_dir)
    t2 = time.time()
    run_all(binary, cases, [seed + k for k in range(args.runs)], crate_dir, args.jobs)
    t3 = time.time()
    return report(cases, args.n, skipped, Path(args.dir), (t1 - t0, t2 - t1, t3 - t2), args.soundness == "fail")


def report(cases: list[Case], n: int, skipped: dict[str, int], out_dir: Path, times: tuple[float, float, float],
           strict: bool) -> int:
    generated = [c for c in cases if c.name.startswith("g_")]
    lines: list[str] = []
    hangs = [c for c in cases if c.verdict is Status.SAFE and tokio_hangs(c)]
    livelocks = [c for c in hangs if livelocked(c)]
    unsound = [c for c in hangs if c not in livelocks]
    stuck = [c for c in cases if c.verdict is not Status.SAFE]
    misses = [c for c in stuck if "HANG" not in c.seed_outcomes]  # tokio's own schedules completed
    explained = [c for c in misses if c.outcome("trace") == "HANG"]
    at_shutdown = [c for c in misses if c not in explained and waiting_at_shutdown(c)]
    tied = [c for c in misses if c not in explained and c not in at_shutdown and c.tied_timers]
    unexplained = [c for c in misses if c not in explained and c not in at_shutdown and c not in tied]
    errors = [c for c in cases if any(out and out[0].startswith("ERROR") for out in c.runs.values())]
    for c in cases:
        runs = "  ".join(f"{run}={c.runs[run][0] if c.runs[run] else '?'}" for run in sorted(c.runs))
        lines.append(f"{c.name:<60} mcheck={c.verdict.value:<10} {runs}")
    (out_dir / "report.txt").write_text("\n".join(lines) + "\n")
    bundled_cases = [c for c in cases if c.name.startswith("b_")]
    disagree = [c for c in bundled_cases if (c.expect is p.Verdict.SAFE) == tokio_hangs(c)]
    why = ", ".join(f"{v} {k}" for k, v in sorted(skipped.items())) or "none skipped"
    print(f"runtime-check: {len(generated)} of {n} generated models compared ({why}), "
          f"{len(bundled_cases)} bundled; prepare {times[0]:.0f} s, build {times[1]:.0f} s, run {times[2]:.0f} s")
    print(f"soundness: {len(unsound)} (tokio hangs, mcheck says safe); livelocks: {len(livelocks)} (tokio hangs, "
          f"mcheck finds no stuck state but the stuck task starving while another loops)")
    share = f" ({100 * len(explained) / len(misses):.0f}%)" if misses else ""
    print(f"completeness: {len(misses)} of {len(stuck)} stuck verdicts completed on tokio's own schedules; "
          f"{len(explained)}{share} explained by a schedule tokio did not take (the trace's, replayed, hangs), "
          f"{len(at_shutdown)} with mcheck's stuck tasks blocked when main ended the run, "
          f"{len(tied)} where the trace orders timers of two tasks due at the same instant, "
          f"{len(unexplained)} unexplained")
    for c in unsound:
        print(f"  UNSOUND {c.name} ({c.origin}): written to {write_regression(c).relative_to(ROOT)}")
    for c in livelocks:
        print(f"  livelock {c.name} ({c.origin}): {', '.join(c.starved)} wait for ever (mcheck --starvation)")
    for c in misses:
        why = ("explained" if c in explained else "blocked when main ended the run" if c in at_shutdown
               else "timers due at the same instant" if c in tied else "unexplained")
        print(f"  miss {c.name} ({c.origin}): mcheck {c.verdict.value} ({', '.join(c.stuck_tasks)}), tokio "
              f"{' '.join(c.seed_outcomes)}, trace replay {c.outcome('trace')}: {why}")
    for c in disagree:
        print(f"  bundled {c.origin}: header {c.expect.value if c.expect else '?'}, tokio "
              f"{' '.join(c.seed_outcomes)} / trace {c.outcome('trace')}")
    for c in errors:
        print(f"  error {c.name}: {[out[0] for out in c.runs.values() if out and out[0].startswith('ERROR')]}")
    print(f"runtime-check: per-case outcomes in {out_dir / 'report.txt'}")
    failed = len(disagree) + len(errors) + (len(unsound) if strict else 0)
    if unsound and not strict:
        print(f"runtime-check: --soundness warn: {len(unsound)} soundness failures reported, not failed")
    print(f"{len(cases) - failed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
