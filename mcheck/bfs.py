"""The explicit-state engine: breadth-first search of a TransitionSystem for a stuck state.

Consumes only the IR (through evaluate.compile_system); knows nothing about futures. States are
tuples of small ints; `parent` maps each state to (predecessor, transition), so the path to the
first stuck state found is a shortest one. Returns data; progress goes to a callback.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

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


@dataclass(frozen=True, slots=True)
class Progress:
    states: int
    depth: int
    seconds: float


@dataclass(frozen=True, slots=True)
class SearchResult:
    outcome: Outcome
    stats: Stats
    path: tuple[tuple[int, State], ...]  # (transition fired, state after); first entry is (-1, initial)
    limit_hit: str = ""
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
    progress: Callable[[Progress], None] | None = None,
    compiled: CompiledSystem | None = None,
) -> SearchResult:
    limits = limits or Limits()
    cs = compiled or compile_system(ts)
    succ_levels = cs.successors
    is_stuck, overflow = cs.stuck_tasks, cs.overflow
    start = time.monotonic()
    next_report = start + 1.0
    encode, decode = _codec(ts)
    init = encode(ts.initial)
    parent: dict[Key, tuple[Key, int] | None] = {init: None}
    transitions = 0
    depth = 0
    overflowed: State | None = None

    def stats() -> Stats:
        return Stats(len(parent), transitions, depth, time.monotonic() - start, peak_rss_mib())

    proc = [t.process for t in ts.transitions]
    frontier = [init]
    while frontier:
        if depth >= limits.max_depth:
            return SearchResult(Outcome.LIMIT, stats(), (), f"--max-depth {limits.max_depth}")
        nxt: list[Key] = []
        for key in frontier:
            s = decode(key)
            if overflow(s):
                overflowed = overflowed or s
                continue
            succs = []
            for level in succ_levels:
                succs = level(s)
                if succs:
                    break
            if is_stuck(s, {proc[tid] for tid, _ in succs}):
                return SearchResult(Outcome.STUCK, stats(), _path_to(parent, key, decode))
            for tid, t in succs:
                transitions += 1
                k = encode(t)
                if k in parent:
                    continue
                parent[k] = (key, tid)
                nxt.append(k)
            if len(parent) >= limits.max_states:
                return SearchResult(Outcome.LIMIT, stats(), (), f"--max-states {limits.max_states}")
            if progress is not None and transitions & 0x3FF == 0:
                now = time.monotonic()
                if now >= next_report:
                    next_report = now + 1.0
                    progress(Progress(len(parent), depth, now - start))
        frontier = nxt
        depth += 1
    depth = max(depth - 1, 0)
    if overflowed is not None:
        return SearchResult(Outcome.OVERFLOW, stats(), (), overflow_state=overflowed)
    return SearchResult(Outcome.EXHAUSTED, stats(), ())


def saturate(
    ts: TransitionSystem[Any], start: State, budget: int, compiled: CompiledSystem | None = None
) -> tuple[tuple[int, State], ...]:
    """From a stuck state, the shortest continuation reaching the most stuck tasks.

    Stuck tasks stay stuck, so while the others keep running, more may block behind them (the
    victims). Explores at most `budget` states; returns the path after `start` (possibly empty).
    """
    cs = compiled or compile_system(ts)
    count = cs.stuck_tasks
    proc = [t.process for t in ts.transitions]
    encode, decode = _codec(ts)
    first = encode(start)
    parent: dict[Key, tuple[Key, int] | None] = {first: None}
    best, best_score = first, count(start, set())
    frontier = [first]
    while frontier and len(parent) < budget:
        nxt: list[Key] = []
        for key in frontier:
            s = decode(key)
            if cs.overflow(s):
                continue
            succs: list[tuple[int, State]] = []
            for level in cs.successors:
                succs = level(s)
                if succs:
                    break
            score = count(s, {proc[tid] for tid, _ in succs})
            if score > best_score:
                best, best_score = key, score
            for tid, t in succs:
                k = encode(t)
                if k in parent:
                    continue
                parent[k] = (key, tid)
                nxt.append(k)
        frontier = nxt
    return _path_to(parent, best, decode)[1:]
