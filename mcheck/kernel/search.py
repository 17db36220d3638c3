"""bfs.search on the native kernel: the same search, the same result (bfs.SearchResult).

The C loop expands some tens of thousands of states per call (a few hundredths of a second) and
returns, so that the run's budget (--timeout, --max-memory) is looked at that often. A stuck state's path is
read back through the parent links and made a real run by bfs's own code (_concretize), on the
Python engine's semantics: the kernel only decides which states exist and in which order.
`workers` threads expand the states (NOTE(kernel-workers)); the result does not depend on how many.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from mcheck import bfs
from mcheck.budget import Budget, OutOfBudget
from mcheck.errors import InternalError
from mcheck.evaluate import CompiledSystem, State
from mcheck.ir import TransitionSystem
from mcheck.kernel import Kernel

RUNNING, STUCK, EXHAUSTED, LIMIT_STATES, LIMIT_DEPTH, NOMEM, ERR_RANGE, ERR_POLL = range(8)

QUOTA = 32768
"""States the C loop expands between two looks at the budget: also the largest block the workers
share, large enough that starting their threads costs little."""


@dataclass(frozen=True, slots=True)
class Footprint:
    """What the visited set held at the end: its bytes (packed words, parent index, first
    transition, table slots) per state; and how many blocks of a level more than one thread
    expanded."""

    states: int
    bytes: int
    threaded_blocks: int = 0

    @property
    def per_state(self) -> float:
        return self.bytes / self.states if self.states else 0.0


def search(ts: TransitionSystem[Any], kernel: Kernel, cs: CompiledSystem, limits: bfs.Limits | None = None,
           budget: Budget | None = None, workers: int = 1) -> tuple[bfs.SearchResult, Footprint]:
    limits = limits or bfs.Limits()
    budget = budget or Budget()
    lib = kernel.lib
    start = time.monotonic()
    ctx = lib.k_new(limits.max_states, limits.max_depth, workers)
    if not ctx:
        return bfs.SearchResult(bfs.Outcome.LIMIT, bfs.Stats(0, 0, 0, 0.0, bfs.peak_rss_mib()), (),
                                bfs.OUT_OF_MEMORY), Footprint(0, 0)
    try:
        def stats() -> bfs.Stats:
            return bfs.Stats(int(lib.k_states(ctx)), int(lib.k_transitions(ctx)), int(lib.k_depth(ctx)),
                             time.monotonic() - start, bfs.peak_rss_mib())

        def footprint() -> Footprint:
            return Footprint(int(lib.k_states(ctx)), int(lib.k_bytes(ctx)), int(lib.k_threaded_blocks(ctx)))

        def state(idx: int) -> State:
            out = (kernel.value_ctype * kernel.nv)()
            lib.k_state(ctx, idx, out)
            return tuple(out[: len(ts.vars)])

        status = lib.k_start(ctx)
        try:
            while status == RUNNING:
                status = lib.k_run(ctx, QUOTA)
                budget.status = f"{lib.k_states(ctx):,} states, depth {lib.k_depth(ctx)}"
                budget.check()
        except OutOfBudget as e:
            return bfs.SearchResult(bfs.Outcome.LIMIT, stats(), (), e.limit), footprint()
        if status == STUCK:
            chain: list[tuple[int, State]] = []
            idx = int(lib.k_stuck_index(ctx))
            while idx >= 0:
                parent = int(lib.k_parent(ctx, idx))
                chain.append((-1 if parent < 0 else int(lib.k_tid(ctx, idx)), state(idx)))
                idx = parent
            chain.reverse()
            canon = bfs._canonicalizer(ts)
            path = bfs._concretize(cs, canon, ((-1, ts.initial), *chain[1:]))
            return bfs.SearchResult(bfs.Outcome.STUCK, stats(), path), footprint()
        if status == LIMIT_STATES:
            return bfs.SearchResult(bfs.Outcome.LIMIT, stats(), (), f"--max-states {limits.max_states}"), footprint()
        if status == LIMIT_DEPTH:
            return bfs.SearchResult(bfs.Outcome.LIMIT, stats(), (), f"--max-depth {limits.max_depth}"), footprint()
        if status == NOMEM:
            return bfs.SearchResult(bfs.Outcome.LIMIT, stats(), (), bfs.OUT_OF_MEMORY), footprint()
        if status in (ERR_RANGE, ERR_POLL):
            bad = (kernel.value_ctype * kernel.nv)()
            lib.k_error_state(ctx, bad)
            s = tuple(bad[: len(ts.vars)])
            if status == ERR_POLL:
                raise InternalError(f"internal error: a poll stopped in the middle, in state {s}")
            v = ts.vars[lib.k_error_var(ctx)]
            raise InternalError(f"internal error: variable {v.name} is {s[lib.k_error_var(ctx)]}, outside what a "
                                f"stored state may hold ({v.lo}..{v.hi}, or its resting value), in state {s}")
        assert status == EXHAUSTED, status
        over = int(lib.k_overflow_index(ctx))
        if over >= 0:
            return bfs.SearchResult(bfs.Outcome.OVERFLOW, stats(), (), overflow_state=state(over)), footprint()
        return bfs.SearchResult(bfs.Outcome.EXHAUSTED, stats(), ()), footprint()
    finally:
        lib.k_free(ctx)
