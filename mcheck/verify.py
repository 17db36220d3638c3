"""Runs the pipeline on one model: parse, resolve, compile, search, explain.

The single entry point the CLI and the tests share. Returns data (`Result`); raises ModelError
for bad input and InternalError when the engines contradict themselves or each other. It prints
nothing. Every engine's stuck path becomes a `Result` through the same code (`_stuck_result`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING

from mcheck import bfs
from mcheck.analysis import explain
from mcheck.compile import compile_program
from mcheck.errors import InternalError
from mcheck.evaluate import CompiledSystem, State, compile_system
from mcheck.model import CompiledModel, TimeMode
from mcheck.parse import parse_module
from mcheck.program import Verdict
from mcheck.resolve import resolve
from mcheck.source import Source
from mcheck.trace import Result, Status, Step, Trace

if TYPE_CHECKING:
    from mcheck.symbolic import SymbolicResult

SATURATION_BUDGET = 200_000
"""States explored after the first stuck state, looking for the victims that block behind it."""

DEFAULT_TIMEOUT = 60.0
"""Seconds the z3 engine may take (--timeout); the same as symbolic.DEFAULT_TIMEOUT."""


class Engine(Enum):
    BFS = "bfs"  # explicit-state breadth-first search
    Z3 = "z3"  # invariant proof and bounded model checking (symbolic.py)
    BOTH = "both"  # both, and an InternalError if they disagree


def load(source: Source, time: TimeMode, symmetry: bool = True) -> CompiledModel:
    """Parse, check and compile. `symmetry=False` keeps copies of a task distinguishable (no
    symmetry reduction): slower, the same verdicts."""
    module = parse_module(source)
    program = resolve(source, module)
    model = compile_program(program, source, time)
    if not symmetry:
        model = dataclasses.replace(model, ts=dataclasses.replace(model.ts, symmetry=()))
    return model


def check(
    model: CompiledModel,
    limits: bfs.Limits | None = None,
    progress: Callable[[bfs.Progress], None] | None = None,
    engine: Engine = Engine.BFS,
    timeout: float = DEFAULT_TIMEOUT,
) -> Result:
    limits = limits or bfs.Limits()
    compiled = compile_system(model.ts)
    found = bfs.search(model.ts, limits, progress, compiled) if engine is not Engine.Z3 else None
    proved = _z3_search(model, limits, timeout, compiled) if engine is not Engine.BFS else None
    if proved is None:
        assert found is not None
        return _bfs_result(model, found, compiled)
    z3_result = _z3_result(model, proved, compiled)
    if found is None:
        return z3_result
    return _cross_check(_bfs_result(model, found, compiled), _BFS_DECIDES[found.outcome], z3_result, _z3_decides(proved))


def _z3_search(model: CompiledModel, limits: bfs.Limits, timeout: float, compiled: CompiledSystem) -> SymbolicResult:
    from mcheck import symbolic  # z3 is imported only when an engine needs it

    return symbolic.search(model.ts, symbolic.Options(timeout=timeout, max_depth=limits.max_depth), compiled)


def _stuck_result(model: CompiledModel, engine: str, stats: bfs.Stats, path: tuple[tuple[int, State], ...],
                  compiled: CompiledSystem) -> Result:
    """A path to a stuck state (first entry (-1, initial)), continued until the victims have blocked,
    and explained."""
    (_, initial), *rest = path
    first = rest[-1][1] if rest else initial
    rest.extend(bfs.saturate(model.ts, first, SATURATION_BUDGET, compiled))
    final = rest[-1][1] if rest else initial
    report = explain(model, final)
    if report is None:
        raise InternalError(f"internal error: the {engine} engine reported a stuck state the analysis does not confirm")
    trace = Trace(initial, tuple(Step(t, s) for t, s in rest), report, len(path) - 1)
    status = Status.FUTURELOCK if report.verdict is Verdict.FUTURELOCK else Status.DEADLOCK
    return Result(status, engine, stats, trace)


def _overflow_reason(model: CompiledModel, state: State) -> str:
    why = "; ".join(x.reason for x in model.bounds if state[x.var] == x.value)
    return f"{why}, which mcheck does not model further; no stuck state among the states explored"


def _bfs_result(model: CompiledModel, found: bfs.SearchResult, compiled: CompiledSystem) -> Result:
    if found.outcome is bfs.Outcome.STUCK:
        return _stuck_result(model, "bfs", found.stats, found.path, compiled)
    if found.outcome is bfs.Outcome.EXHAUSTED:
        return Result(Status.SAFE, "bfs", found.stats)
    if found.outcome is bfs.Outcome.OVERFLOW:
        assert found.overflow_state is not None
        return Result(Status.INCONCLUSIVE, "bfs", found.stats, reason=_overflow_reason(model, found.overflow_state))
    return Result(Status.INCONCLUSIVE, "bfs", found.stats, reason=f"{found.limit_hit} reached before the search ended")


def _z3_result(model: CompiledModel, found: SymbolicResult, compiled: CompiledSystem) -> Result:
    from mcheck.symbolic import Outcome

    if found.outcome is Outcome.STUCK:
        return _stuck_result(model, "z3", found.stats, found.path, compiled)
    if found.outcome is Outcome.PROVED:
        return Result(Status.SAFE, "z3", found.stats, proof=found.invariant)
    if found.outcome is Outcome.OVERFLOW:
        assert found.overflow_state is not None
        reason = _overflow_reason(model, found.overflow_state).replace(
            "no stuck state among the states explored", "no stuck state is reachable (proved)")
        return Result(Status.INCONCLUSIVE, "z3", found.stats, reason=reason)
    return Result(Status.INCONCLUSIVE, "z3", found.stats, reason=found.reason)


# What an engine decided: a stuck state is reachable; none is ("safe"); none is, but a state beyond a
# bound of the model is ("overflow"); or nothing (None: it ran out of a limit).
_BFS_DECIDES = {bfs.Outcome.STUCK: "stuck", bfs.Outcome.EXHAUSTED: "safe", bfs.Outcome.OVERFLOW: "overflow",
                bfs.Outcome.LIMIT: None}


def _z3_decides(found: SymbolicResult) -> str | None:
    from mcheck.symbolic import Outcome

    return {Outcome.STUCK: "stuck", Outcome.PROVED: "safe", Outcome.OVERFLOW: "overflow"}.get(found.outcome)


def _cross_check(a: Result, da: str | None, b: Result, db: str | None) -> Result:
    """--engine both: the BFS's result `a` and z3's `b` must agree wherever both decided (a different
    stuck state at the same depth is no disagreement: both are real; a note says so). The result is
    the BFS's (its trace, and z3's proof), or z3's when only z3 decided."""
    if da is not None and db is not None and da != db:
        raise InternalError(f"internal error: the engines disagree: bfs finds {_SAYS[da]}, z3 finds {_SAYS[db]}")
    if a.trace is not None and b.trace is not None and a.trace.first_stuck != b.trace.first_stuck:
        raise InternalError(f"internal error: the engines disagree on the shortest path to a stuck state: bfs "
                            f"{a.trace.first_stuck} steps, z3 {b.trace.first_stuck} steps")
    if da is None and db is not None:
        return dataclasses.replace(b, engine="both", notes=(_note(a),))
    return dataclasses.replace(a, engine="both", proof=b.proof, notes=(_note(b),))


_SAYS = {"stuck": "a reachable stuck state", "safe": "no reachable stuck state",
         "overflow": "no reachable stuck state but a state beyond a bound of the model"}


def _note(r: Result) -> str:
    secs = f"{r.stats.seconds:.2f} s"
    if r.status is Status.SAFE:
        how = f" (inductive invariant with {len(r.proof.clauses)} clauses)" if r.proof is not None else ""
        return f"{r.engine}: safe{how}, {secs}"
    if r.trace is not None:
        return f"{r.engine}: {r.status.value}, first stuck state after {r.trace.first_stuck} steps, {secs}"
    return f"{r.engine}: inconclusive ({r.reason}), {secs}"
