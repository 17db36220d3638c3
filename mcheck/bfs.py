"""The explicit-state engine: breadth-first search of a TransitionSystem for a stuck state.

Consumes only the IR (through evaluate.compile_system); knows nothing about futures. States are
tuples of small ints; `parent` maps each state to (predecessor, transition), so the path to the
first stuck state found is a shortest one. Returns data; progress goes to the run's Budget, and
running out of it (time, memory, or a MemoryError) ends the search as a limit, with its statistics.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from mcheck.budget import Budget, OutOfBudget
from mcheck.evaluate import CompiledSystem, State, compile_system
from mcheck.ir import TransitionSystem


class Outcome(Enum):
    STUCK = "stuck"  # a reachable state has a stuck set: see `path`
    EXHAUSTED = "exhausted"  # every reachable state was explored: none is stuck
    LIMIT = "limit"  # --max-states or --max-depth was hit first
    OVERFLOW = "overflow"  # a state exceeded a bound of the model (see TransitionSystem.overflow)


@dataclass(frozen=True, slots=True)
class Limits:
    max_states: int = 5_000_000
    max_depth: int = 10_000


@dataclass(frozen=True, slots=True)
class Stats:
    states: int
    transitions: int
    depth: int
    seconds: float
    peak_rss_mib: float


OUT_OF_MEMORY = "out of memory (MemoryError)"
"""SearchResult.limit_hit and Saturation.stopped when Python could not allocate any more."""

CHECK_EVERY = 1024
"""States between two looks at the run's budget (time, memory) and progress updates."""


@dataclass(frozen=True, slots=True)
class SearchResult:
    outcome: Outcome
    stats: Stats
    path: tuple[tuple[int, State], ...]  # (transition fired, state after); first entry is (-1, initial)
    limit_hit: str = ""  # LIMIT: which bound, as the user wrote it ("--max-states 10", "--timeout 5 s"), or OUT_OF_MEMORY
    overflow_state: State | None = None  # OVERFLOW: the first state found beyond a bound


def peak_rss_mib() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


Key = bytes | State
"""A visited state as stored: packed into bytes when every variable fits in 0..255 (about a fifth
of a tuple's memory), else the tuple itself."""


def _codec(ts: TransitionSystem[Any]) -> tuple[Callable[[State], Key], Callable[[Key], State]]:
    if all(v.lo >= 0 and v.hi <= 255 for v in ts.vars):
        return bytes, tuple
    return tuple, tuple


def _canonicalizer(ts: TransitionSystem[Any]) -> Callable[[State], State] | None:
    """Symmetry reduction: the representative of a state's class sorts each group's blocks."""
    groups = [g for g in ts.symmetry if len(g) > 1]
    if not groups:
        return None
    # Fast path: each group's blocks are consecutive ranges of the same width, laid end to end (as
    # compile.py allocates copies of a task): sort slices and glue them.
    spans = []
    for group in groups:
        start, width = group[0][0], len(group[0])
        if any(block != tuple(range(start + i * width, start + (i + 1) * width)) for i, block in enumerate(group)):
            break
        spans.append((start, width, len(group)))
    else:
        spans.sort()

        def canon_slices(s: State) -> State:
            out: list[int] = []
            at = 0
            for start, width, n in spans:
                out.extend(s[at:start])
                for block in sorted(s[start + i * width : start + (i + 1) * width] for i in range(n)):
                    out.extend(block)
                at = start + width * n
            out.extend(s[at:])
            return tuple(out)

        return canon_slices

    def canon(s: State) -> State:
        out = list(s)
        for group in groups:
            values = sorted(tuple(s[v] for v in block) for block in group)
            for block, vals in zip(group, values, strict=True):
                for v, x in zip(block, vals, strict=True):
                    out[v] = x
        return tuple(out)

    return canon


def _concretize(cs: CompiledSystem, canon: Callable[[State], State] | None,
                path: tuple[tuple[int, State], ...]) -> tuple[tuple[int, State], ...]:
    """Turn a path of class representatives into a real run: from the real initial state, take at
    each step a transition whose successor is in the next state's class (one exists by symmetry)."""
    if canon is None or not path:
        return path
    cur = path[0][1]
    out = [(-1, cur)]
    for _tid, rep in path[1:]:
        cur_tid, nxt = next((t, s) for t, s in cs.step(cur) if canon(s) == rep)
        out.append((cur_tid, nxt))
        cur = nxt
    return tuple(out)


def _path_to(parent: dict[Key, tuple[Key, int] | None], s: Key,
             decode: Callable[[Key], State]) -> tuple[tuple[int, State], ...]:
    out: list[tuple[int, State]] = []
    cur: Key | None = s
    while cur is not None:
        link = parent[cur]
        if link is None:
            out.append((-1, decode(cur)))
            cur = None
        else:
            out.append((link[1], decode(cur)))
            cur = link[0]
    return tuple(reversed(out))


def search(
    ts: TransitionSystem[Any],
    limits: Limits | None = None,
    budget: Budget | None = None,
    compiled: CompiledSystem | None = None,
) -> SearchResult:
    limits = limits or Limits()
    budget = budget or Budget()
    cs = compiled or compile_system(ts)
    is_stuck, overflow = cs.stuck_tasks, cs.overflow
    start = time.monotonic()
    encode, decode = _codec(ts)
    canon = _canonicalizer(ts)
    init = encode(canon(ts.initial) if canon else ts.initial)
    parent: dict[Key, tuple[Key, int] | None] = {init: None}
    transitions = 0
    depth = 0
    overflowed: State | None = None

    def stats() -> Stats:
        return Stats(len(parent), transitions, depth, time.monotonic() - start, peak_rss_mib())

    proc = [t.process for t in ts.transitions]
    frontier = [init]
    countdown = CHECK_EVERY
    try:
        while frontier:
            if depth >= limits.max_depth:
                return SearchResult(Outcome.LIMIT, stats(), (), f"--max-depth {limits.max_depth}")
            nxt: list[Key] = []
            for key in frontier:
                s = decode(key)
                if overflow(s):
                    overflowed = overflowed or s
                    continue
                succs = cs.step(s)
                if is_stuck(s, {proc[tid] for tid, _ in succs}):
                    path = _path_to(parent, key, decode)
                    return SearchResult(Outcome.STUCK, stats(), _concretize(cs, canon, ((-1, ts.initial), *path[1:])))
                for tid, t in succs:
                    transitions += 1
                    k = encode(canon(t) if canon else t)
                    if k in parent:
                        continue
                    parent[k] = (key, tid)
                    nxt.append(k)
                if len(parent) >= limits.max_states:
                    return SearchResult(Outcome.LIMIT, stats(), (), f"--max-states {limits.max_states}")
                countdown -= 1
                if not countdown:
                    countdown = CHECK_EVERY
                    budget.status = f"{len(parent):,} states, depth {depth}"
                    budget.check()
            frontier = nxt
            depth += 1
    except OutOfBudget as e:
        return SearchResult(Outcome.LIMIT, stats(), (), e.limit)
    except MemoryError:
        return SearchResult(Outcome.LIMIT, stats(), (), OUT_OF_MEMORY)
    depth = max(depth - 1, 0)
    if overflowed is not None:
        return SearchResult(Outcome.OVERFLOW, stats(), (), overflow_state=overflowed)
    return SearchResult(Outcome.EXHAUSTED, stats(), ())


@dataclass(frozen=True, slots=True)
class Saturation:
    """The victim search after the first stuck state: the continuation found, and its cost."""

    path: tuple[tuple[int, State], ...]  # after the stuck state (possibly empty)
    states: int
    seconds: float
    stopped: str = ""  # the bound that ended it before it had explored everything ("" if none)


def saturate(
    ts: TransitionSystem[Any], start: State, max_states: int, compiled: CompiledSystem | None = None,
    budget: Budget | None = None, bound: str = "",
) -> Saturation:
    """From a stuck state, the shortest continuation reaching the most stuck tasks.

    Stuck tasks stay stuck, so while the others keep running, more may block behind them (the
    victims). Explores at most `max_states` states (`bound` names that limit for the report) and
    stops early, keeping the best continuation found so far, when the run's budget runs out.
    """
    budget = budget or Budget()
    t0 = time.monotonic()
    cs = compiled or compile_system(ts)
    count = cs.stuck_tasks
    proc = [t.process for t in ts.transitions]
    encode, decode = _codec(ts)
    canon = _canonicalizer(ts)
    first = encode(canon(start) if canon else start)
    parent: dict[Key, tuple[Key, int] | None] = {first: None}
    best, best_score = first, count(start, set())
    frontier = [first]
    stopped = ""
    countdown = CHECK_EVERY
    try:
        while frontier:
            nxt: list[Key] = []
            for key in frontier:
                if len(parent) >= max_states:
                    stopped = bound or f"{max_states:,} states"
                    break
                s = decode(key)
                if cs.overflow(s):
                    continue
                succs = cs.step(s)
                score = count(s, {proc[tid] for tid, _ in succs})
                if score > best_score:
                    best, best_score = key, score
                for tid, t in succs:
                    k = encode(canon(t) if canon else t)
                    if k in parent:
                        continue
                    parent[k] = (key, tid)
                    nxt.append(k)
                countdown -= 1
                if not countdown:
                    countdown = CHECK_EVERY
                    budget.status = f"{len(parent):,} states"
                    budget.check()
            if stopped:
                break
            frontier = nxt
    except OutOfBudget as e:
        stopped = e.limit
    except MemoryError:
        stopped = OUT_OF_MEMORY
    path = _path_to(parent, best, decode)
    if canon is not None:  # the representatives' run, replayed from the real start state
        path = _concretize(cs, canon, ((-1, start), *path[1:]))
    return Saturation(path[1:], len(parent), time.monotonic() - t0, stopped)
