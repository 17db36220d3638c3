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
from mcheck.errors import InternalError
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
    path: Path  # STUCK: a shortest run to a stuck state
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


PollStep = tuple[tuple[int, ...], tuple[State, ...]]
"""One step as engines count them: the transitions fired (the micro-steps of one poll, with
TransitionSystem.atomic; else one) and the state after each; the last is where the step ends."""

Path = tuple[PollStep, ...]
"""A run: the first entry is ((), (initial,)), each later one a step from the previous end."""


def poll_ends(cs: CompiledSystem, s: State) -> list[tuple[int, State]]:
    """The steps from state s: (first transition, end state). With atomic polls a poll is run
    through to the quiescent states where it ends, depth first over its intermediate states,
    which are not kept (NOTE(poll-machine) in compiler/machine.py: polls cannot loop for ever,
    a busy loop ends in a bound)."""
    first = cs.step(s)
    if not cs.atomic:
        return first
    out: dict[State, int] = {}
    for tid, t in first:
        if cs.quiescent(t):
            out.setdefault(t, tid)
            continue
        stack = [t]
        seen = {t}
        while stack:
            u = stack.pop()
            nxt = cs.step(u)
            if not nxt:
                raise InternalError(f"internal error: a poll stopped in the middle, in state {u}")
            for _, v in nxt:
                if cs.quiescent(v):
                    out.setdefault(v, tid)
                elif v not in seen:
                    seen.add(v)
                    stack.append(v)
    return [(tid, v) for v, tid in out.items()]


def poll_path(cs: CompiledSystem, s: State, first: int, end: State) -> PollStep:
    """The micro-steps of a step from s that starts with transition `first` and ends in `end`
    (for traces: found again, not stored during the search)."""
    start = [(tid, t) for tid, t in cs.step(s) if tid == first]
    if not cs.atomic or (start and start[0][1] == end):
        assert start and start[0][1] == end
        return (first,), (end,)
    prev: dict[State, tuple[State | None, int]] = {start[0][1]: (None, first)}
    stack = [start[0][1]]
    while stack:
        u = stack.pop()
        if u == end:
            break
        if cs.quiescent(u):
            continue
        for tid, v in cs.step(u):
            if v not in prev:
                prev[v] = (u, tid)
                stack.append(v)
    assert end in prev, "the step to rebuild is not a poll from this state"
    tids: list[int] = []
    states: list[State] = []
    cur: State | None = end
    while cur is not None:
        before, tid = prev[cur]
        tids.append(tid)
        states.append(cur)
        cur = before
    return tuple(reversed(tids)), tuple(reversed(states))


def group_polls(cs: CompiledSystem, micro: tuple[tuple[int, State], ...]) -> Path:
    """A run given transition by transition ((-1, initial) first) as steps: with atomic polls,
    each step runs to the next quiescent state."""
    (_, initial), *rest = micro
    out: list[PollStep] = [((), (initial,))]
    tids: list[int] = []
    states: list[State] = []
    for tid, st in rest:
        tids.append(tid)
        states.append(st)
        if not cs.atomic or cs.quiescent(st):
            out.append((tuple(tids), tuple(states)))
            tids, states = [], []
    if tids:
        raise InternalError("internal error: a run ends in the middle of a poll")
    return tuple(out)


def _path_to(parent: dict[Key, tuple[Key, int] | None], s: Key,
             decode: Callable[[Key], State]) -> tuple[tuple[int, State], ...]:
    """The stored states from the initial one to s, each with the first transition of its step."""
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


def _concretize(cs: CompiledSystem, canon: Callable[[State], State] | None,
                path: tuple[tuple[int, State], ...]) -> Path:
    """Turn a path of stored states (the step's first transition, the end state; representatives
    under symmetry) into a real run with every micro-step: from the real initial state, take at
    each step a poll that ends in the next state's class (one exists by symmetry)."""
    cur = path[0][1]
    out: list[PollStep] = [((), (cur,))]
    for tid, rep in path[1:]:
        if canon is None:
            step = poll_path(cs, cur, tid, rep)
        else:
            t2, nxt = next((t, e) for t, e in poll_ends(cs, cur) if canon(e) == rep)
            step = poll_path(cs, cur, t2, nxt)
        out.append(step)
        cur = step[1][-1]
    return tuple(out)


def search(
    ts: TransitionSystem[Any],
    limits: Limits | None = None,
    budget: Budget | None = None,
    compiled: CompiledSystem | None = None,
) -> SearchResult:
    limits = limits or Limits()
    budget = budget or Budget()
    cs = compiled or compile_system(ts)
    is_stuck, overflow, checked = cs.stuck_tasks, cs.blocked, cs.checked
    every = cs.atomic  # with atomic polls every stored state is quiescent: no need to ask
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
                succs = poll_ends(cs, s)
                if (every or checked(s)) and is_stuck(s, {proc[tid] for tid, _ in succs}):
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

    path: Path  # the steps after the stuck state (possibly none), without the ((), (start,)) entry
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
    countdown = 1  # the first look at the budget after one state: the search may have left none of it
    try:
        while frontier:
            nxt: list[Key] = []
            for key in frontier:
                if len(parent) >= max_states:
                    stopped = bound or f"{max_states:,} states"
                    break
                s = decode(key)
                if cs.blocked(s):
                    continue
                succs = poll_ends(cs, s)
                score = count(s, {proc[tid] for tid, _ in succs}) if cs.checked(s) else -1
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
    run = _concretize(cs, canon, ((-1, start), *path[1:]))  # under symmetry: from the real start state
    return Saturation(run[1:], len(parent), time.monotonic() - t0, stopped)
