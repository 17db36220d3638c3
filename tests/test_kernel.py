"""The native kernel (mcheck/kernel) against the Python engine, the reference semantics.

On every bundled model (untimed on its default runtime, and in exact time where the model allows
it) and on generated ones (tests/modelgen.py): state by state over the reachable states, the same
successors in the same order, the same polls run through to the same ends, the same overflow and
quiescent answers, the same stuck counts (with and without the enabled-process shortcut, and the
reference fixpoint evaluate.stuck_set), the same symmetry representatives, packing that gives the
state back; and the whole search gives the same result: outcome, counts, depth, trace.

Where no C compiler is found the kernel's tests are skipped, and the fallback test checks that
mcheck then runs on Python and says so (it forces that path with CC pointing nowhere).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import MODELS, ROOT, compile_text
from modelgen import random_model

import mcheck.kernel.build as build
from mcheck import bfs, kernel
from mcheck.budget import Budget, OutOfBudget, Phase
from mcheck.errors import ModelError
from mcheck.evaluate import CompiledSystem, compile_system, evaluate, stuck_set
from mcheck.kernel.search import search
from mcheck.model import CompiledModel, TimeMode
from mcheck.source import Source
from mcheck.verify import PYTHON_FIRST, Kernel, check, load, read_source

HAVE_CC = shutil.which(os.environ.get("CC", "").split()[0] if os.environ.get("CC", "").strip() else "cc") is not None
needs_cc = pytest.mark.skipif(not HAVE_CC, reason="no C compiler: the kernel cannot be built (the fallback test covers this)")

STATES_COMPARED = 3_000
"""Reachable states compared one by one per model (the whole search is compared beyond them)."""

BUNDLED = sorted(MODELS.rglob("*.mc"))


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Kernels go to a cache of the test session's own (shared across its tests)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))


def _variants(path: Path) -> list[CompiledModel]:
    source = read_source(str(path))
    out = [load(source, TimeMode.UNTIMED)]
    with contextlib.suppress(ModelError):  # a model on the multi-thread runtime has no exact time
        out.append(load(source, TimeMode.EXACT))
    return out


def compare_states(model: CompiledModel, k: kernel.Kernel, cs: CompiledSystem, limit: int = STATES_COMPARED) -> int:
    """Every function of the kernel against the Python engine on the first `limit` reachable states
    (stored states as bfs.search stores them: representatives under symmetry). Returns how many."""
    ts = model.ts
    canon = bfs._canonicalizer(ts)
    proc = [t.process for t in ts.transitions]
    init = canon(ts.initial) if canon else ts.initial
    seen = {init}
    queue = [init]
    for s in queue:
        if len(seen) >= limit:
            break
        where = f"{model.source.name}, state {s}"
        assert k.quiescent(s) == cs.quiescent(s), where
        assert k.overflow(s) == cs.overflow(s), where
        assert k.step(s) == cs.step(s), where
        assert k.roundtrip(s) == s, where
        if canon is not None:
            assert k.canon(s) == canon(s), where
        ends = bfs.poll_ends(cs, s)
        assert k.poll_ends(s) == ends, where
        if cs.checked(s):
            enabled = {proc[tid] for tid, _ in ends}
            assert k.stuck_tasks(s, enabled) == cs.stuck_tasks(s, enabled), where
            full = stuck_set(ts.waits, s)
            reference = sum(1 for r in ts.waits.roots if r.node in full and evaluate(r.alive, s))
            assert k.stuck_tasks(s, set()) == cs.stuck_tasks(s, set()) == reference, where
        if cs.blocked(s):
            continue
        for _, t in ends:
            rep = canon(t) if canon else t
            if rep not in seen:
                seen.add(rep)
                queue.append(rep)
    return len(seen)


WORKERS = (1, 2, 3)
"""The kernel's threads in each compared search: one, both cores, and more threads than cores (the
result must not depend on how many, NOTE(kernel-workers))."""


def compare_search(model: CompiledModel, k: kernel.Kernel, cs: CompiledSystem, limits: bfs.Limits) -> bfs.SearchResult:
    """The kernel's whole search with each of WORKERS threads against bfs.search: the same result."""
    want = bfs.search(model.ts, limits, compiled=cs)
    for workers in WORKERS:
        got, footprint = search(model.ts, k, cs, limits, workers=workers)
        where = f"{model.source.name}, {workers} workers"
        assert got.outcome is want.outcome, where
        assert (got.stats.states, got.stats.transitions, got.stats.depth) == \
            (want.stats.states, want.stats.transitions, want.stats.depth), where
        assert got.path == want.path, where
        assert got.limit_hit == want.limit_hit, where
        assert got.overflow_state == want.overflow_state, where
        assert footprint.states == got.stats.states and footprint.per_state > 0, where
    return got


TOO_LARGE = {"patterns/55_join_all_ok.mc"}
"""Bundled models whose kernel source is over codegen.MAX_SOURCE: they run on the Python engine."""


@needs_cc
@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: str(p.relative_to(MODELS)))
def test_bundled_model_state_by_state(path: Path) -> None:
    for model in _variants(path):
        cs = compile_system(model.ts)
        if str(path.relative_to(MODELS)) in TOO_LARGE:
            with pytest.raises(kernel.Unavailable, match=r"MB of C, more than the 2\.0 MB mcheck compiles"):
                kernel.load(model.ts, optimize="-O0")
            continue
        k = kernel.load(model.ts, optimize="-O0")
        assert compare_states(model, k, cs) > 1
        compare_search(model, k, cs, bfs.Limits(max_states=20_000))


GENERATED = range(int(os.environ.get("MCHECK_RANDOM_SEED", "1000")), int(os.environ.get("MCHECK_RANDOM_SEED", "1000")) + 12)


@needs_cc
@pytest.mark.parametrize("seed", GENERATED)
def test_generated_model_state_by_state(seed: int) -> None:
    text = random_model(seed)
    compared = too_large = 0
    for time in (TimeMode.UNTIMED, TimeMode.EXACT):
        try:
            runtime = "current-thread" if time is TimeMode.EXACT else None
            model = compile_text(text, time, name=f"seed-{seed}.mc", runtime=runtime)
        except ModelError:
            continue
        cs = compile_system(model.ts)
        try:
            k = kernel.load(model.ts, optimize="-O0")
        except kernel.Unavailable as e:  # over codegen.MAX_SOURCE: such a model runs on the Python engine
            assert "MB of C, more than the" in str(e), e
            too_large += 1
            continue
        compared += compare_states(model, k, cs)
        compare_search(model, k, cs, bfs.Limits(max_states=20_000))
    if compared == 0 and too_large:
        pytest.skip(f"seed {seed}: every variant's kernel is over codegen.MAX_SOURCE")
    assert compared > 0, f"seed {seed}: no variant of the generated model compiled"


_BENCH = (ROOT / "bench" / "bench.py").read_text()
POOL = _BENCH.split('MODEL = """', 1)[1].split('"""', 1)[0].replace("{{", "{").replace("}}", "}")
"""The benchmark's pool shape (bench/bench.py), with {n} for the number of request tasks."""


@needs_cc
@pytest.mark.parametrize("symmetry", [True, False])
def test_pool_at_search_optimization(symmetry: bool) -> None:
    """The kernel as searches run it (build.OPTIMIZE), on the benchmark's shape, with and without symmetry:
    the whole state space, and a bound that cuts it."""
    model = load(Source("pool.mc", POOL.replace("{n}", "4")), TimeMode.UNTIMED, symmetry=symmetry,
                 runtime="current-thread")
    cs = compile_system(model.ts)
    k = kernel.load(model.ts)
    compare_states(model, k, cs, limit=20_000)
    done = compare_search(model, k, cs, bfs.Limits(max_states=10**6))
    assert done.outcome is bfs.Outcome.EXHAUSTED
    cut = compare_search(model, k, cs, bfs.Limits(max_states=done.stats.states // 2))
    assert cut.outcome is bfs.Outcome.LIMIT
    deep = compare_search(model, k, cs, bfs.Limits(max_depth=3))
    assert deep.limit_hit == "--max-depth 3"


@needs_cc
def test_a_stuck_trace_is_the_python_engines_trace() -> None:
    for name in ("production.mc", "rfd609.mc", "abba_deadlock.mc"):
        for model in _variants(MODELS / name):
            python = check(model, kernel=Kernel.PYTHON)
            native = check(model, kernel=Kernel.NATIVE)
            assert native.trace is not None and python.trace is not None, name
            assert native.trace == python.trace, name
            assert native.kernel.startswith("native kernel"), native.kernel
            assert python.kernel == ""


@needs_cc
@pytest.mark.parametrize("name", ["production.mc", "production_fix.mc"])
def test_workers_split_the_levels_and_find_one_threads_result(name: str) -> None:
    """With more than one worker some blocks of a level are expanded on several threads, and the
    result is exactly one thread's: outcome, counts, depth, trace, and where a --max-states bound
    cuts the search (NOTE(kernel-workers)). Both models are cut by the bounds (production.mc is
    stuck at its 33,363rd state)."""
    model = load(read_source(str(MODELS / name)), TimeMode.UNTIMED)
    cs = compile_system(model.ts)
    k = kernel.load(model.ts, optimize="-O0")
    for limits in (bfs.Limits(max_states=20_000), bfs.Limits(max_states=1_234)):
        one, alone = search(model.ts, k, cs, limits, workers=1)
        assert alone.threaded_blocks == 0
        want = (one.outcome, one.stats.states, one.stats.transitions, one.stats.depth, one.path, one.limit_hit)
        for workers in (2, 3):
            got, footprint = search(model.ts, k, cs, limits, workers=workers)
            assert footprint.threaded_blocks > 0, (name, workers)
            assert (got.outcome, got.stats.states, got.stats.transitions, got.stats.depth, got.path,
                    got.limit_hit) == want, (name, workers, limits)


@needs_cc
def test_the_workers_option_gives_the_same_answer(tmp_path: Path) -> None:
    """`--workers 1` and `--workers 2` on the command line: the same JSON result but for the timing
    and the summary's thread count; `--workers 0` is a usage error."""
    results = []
    for workers in ("1", "2"):
        proc = _verify(str(MODELS / "production.mc"), "--kernel", "native", "--workers", workers, "--quiet",
                       "--format", "json", env={"XDG_CACHE_HOME": str(tmp_path)})
        assert proc.returncode == 1, proc.stderr
        doc = json.loads(proc.stdout)
        assert doc["kernel"].endswith(f", {workers} worker{'s' if workers == '2' else ''}"), doc["kernel"]
        del doc["kernel"], doc["stats"]["seconds"], doc["stats"]["peak_rss_mib"], doc["victim_search"]["seconds"]
        results.append(doc)
    assert results[0] == results[1]
    assert results[0]["verdict"] == "futurelock" and results[0]["stats"]["states"] == 33_363
    bad = _verify(str(MODELS / "production.mc"), "--workers", "0", env={"XDG_CACHE_HOME": str(tmp_path)})
    assert bad.returncode == 2 and "--workers" in bad.stderr and "Traceback" not in bad.stderr


@needs_cc
def test_the_cache_spares_a_second_compile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    model = compile_text(POOL.replace("{n}", "2"), runtime="current-thread")
    monkeypatch.setattr(build, "_loaded", {})
    first = kernel.load(model.ts, optimize="-O0")
    assert not first.library.cached and first.library.compile_seconds > 0
    assert first.library.path.parent == tmp_path / "mcheck" / "kernel" and first.library.path.exists()
    monkeypatch.setattr(build, "_loaded", {})
    second = kernel.load(model.ts, optimize="-O0")
    assert second.library.cached and second.library.path == first.library.path
    assert second.describe(2) == "native kernel, cached, 2 workers"


@needs_cc
def test_timeout_ends_the_native_search() -> None:
    model = load(Source("pool.mc", POOL.replace("{n}", "5")), TimeMode.UNTIMED, symmetry=False, runtime="current-thread")
    k = kernel.load(model.ts)
    budget = Budget(timeout=0.01)
    budget.deadline = budget.start  # already over
    found, _ = search(model.ts, k, compile_system(model.ts), bfs.Limits(max_states=10**8), budget)
    assert found.outcome is bfs.Outcome.LIMIT and found.limit_hit == "--timeout 0.01 s"
    assert 0 < found.stats.states < 110_314  # stopped before the end (110,314 states)


def _verify(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mcheck", "verify", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)


def test_without_a_compiler_mcheck_runs_on_python_and_says_so(tmp_path: Path) -> None:
    proc = _verify(str(MODELS / "production.mc"), "--kernel", "native", "--quiet",
                   env={"CC": str(tmp_path / "no-such-cc"), "XDG_CACHE_HOME": str(tmp_path)})
    assert proc.returncode == 1, proc.stderr
    summary = proc.stdout.strip().splitlines()[-1]
    assert summary.endswith(f"engine bfs (Python engine: no C compiler found (CC={tmp_path / 'no-such-cc'}))"), summary
    assert "Traceback" not in proc.stderr


def test_a_failing_compiler_falls_back_to_python(tmp_path: Path) -> None:
    failing = tmp_path / "cc"
    failing.write_text("#!/bin/sh\necho 'kernel.c:1:1: error: this compiler always fails' >&2\nexit 1\n")
    failing.chmod(0o755)
    proc = _verify(str(MODELS / "production.mc"), "--kernel", "native", "--quiet",
                   env={"CC": str(failing), "XDG_CACHE_HOME": str(tmp_path)})
    assert proc.returncode == 1, proc.stderr
    summary = proc.stdout.strip().splitlines()[-1]
    assert "(Python engine: the C compiler failed on the kernel (exit 1): kernel.c:1:1: error: this compiler always fails)" \
        in summary, summary
    assert "Traceback" not in proc.stderr


def test_kernel_python_never_compiles(tmp_path: Path) -> None:
    proc = _verify(str(MODELS / "production.mc"), "--kernel", "python", "--quiet",
                   env={"CC": str(tmp_path / "no-such-cc"), "XDG_CACHE_HOME": str(tmp_path)})
    assert proc.returncode == 1
    assert proc.stdout.strip().splitlines()[-1].endswith("engine bfs")
    assert not (tmp_path / "mcheck" / "kernel").exists()


def test_auto_answers_small_models_on_python(tmp_path: Path) -> None:
    """Below verify.PYTHON_FIRST states no kernel is compiled: nothing is written to the cache."""
    proc = _verify(str(MODELS / "rfd609.mc"), "--quiet", env={"XDG_CACHE_HOME": str(tmp_path)})
    assert proc.returncode == 1
    assert proc.stdout.strip().splitlines()[-1].endswith("engine bfs")
    assert not (tmp_path / "mcheck" / "kernel").exists()


def test_a_bad_kernel_setting_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCHECK_KERNEL", "fast")
    model = compile_text(POOL.replace("{n}", "1"))
    with pytest.raises(Exception, match="MCHECK_KERNEL=fast: expected one of auto, native, python"):
        check(model)


def test_layout_fits_the_pool_in_two_words() -> None:
    """With atomic polls the resting variables are not stored: the pool shape at N = 7 packs into
    two 64-bit words."""
    from mcheck.kernel.codegen import layout

    model = load(Source("pool.mc", POOL.replace("{n}", "7")), TimeMode.UNTIMED, symmetry=False, runtime="current-thread")
    lay = layout(model.ts)
    assert lay.words == 2, lay
    assert dataclasses.replace(model.ts, atomic=False).rest == model.ts.rest
    assert layout(dataclasses.replace(model.ts, atomic=False)).words > 2  # every variable stored


@needs_cc
def test_auto_hands_a_large_model_to_the_kernel() -> None:
    """Past verify.PYTHON_FIRST states the native kernel searches again from the start: the same
    count as the Python search of the whole space (110,314 states for the pool at N = 5)."""
    model = load(Source("pool.mc", POOL.replace("{n}", "5")), TimeMode.UNTIMED, symmetry=False, runtime="current-thread")
    result = check(model, kernel=Kernel.AUTO)
    assert result.status.value == "safe"
    assert result.stats.states == 110_314 and result.stats.transitions == 323_414
    assert result.kernel.startswith("native kernel"), result.kernel


@needs_cc
def test_a_compile_started_for_a_model_the_python_search_finishes_is_stopped(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Past verify.COMPILE_AFTER states the kernel's compile starts in the background; when the
    Python search ends before verify.PYTHON_FIRST (the pool at N = 4: 10,494 states) the compile
    is stopped and leaves nothing in the cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(build, "_loaded", {})  # not loaded by an earlier test of this process
    started: list[object] = []
    real_start = kernel.start

    def start(ts: object, optimize: str | None = None) -> kernel.Pending:
        started.append(ts)
        return real_start(ts, optimize)  # type: ignore[arg-type]

    monkeypatch.setattr(kernel, "start", start)
    model = load(Source("pool.mc", POOL.replace("{n}", "4")), TimeMode.UNTIMED, symmetry=False, runtime="current-thread")
    result = check(model, kernel=Kernel.AUTO)
    assert result.status.value == "safe" and result.stats.states == 10_494
    assert len(started) == 1 and result.kernel == ""
    assert not [p.name for p in (tmp_path / "mcheck" / "kernel").iterdir()]


class _ExpiresAtTheKernel(Budget):
    """A budget that runs out as the kernel's compile starts (as --timeout would during it)."""

    def enter(self, phase: Phase, status: str = "", check: bool = True) -> None:
        super().enter(phase, status, check)
        if phase is Phase.KERNEL:
            raise OutOfBudget(phase, "--timeout 1 s")


def test_a_timeout_during_the_compile_is_inconclusive_with_what_was_explored() -> None:
    model = load(Source("pool.mc", POOL.replace("{n}", "5")), TimeMode.UNTIMED, symmetry=False, runtime="current-thread")
    result = check(model, kernel=Kernel.AUTO, budget=_ExpiresAtTheKernel())
    assert result.status.value == "inconclusive"
    assert result.reason == "--timeout 1 s reached before the search ended"
    assert result.stats.states == PYTHON_FIRST  # the Python search's first part
    assert result.kernel == "native kernel, not compiled in time"
