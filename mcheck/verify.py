"""Runs the pipeline on one model: parse, resolve, compile, search, explain.

The single entry point the CLI and the tests share. Returns data (`Result`); raises ModelError
for bad input. It prints nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from mcheck import bfs
from mcheck.analysis import explain
from mcheck.compile import compile_program
from mcheck.errors import MCheckError
from mcheck.evaluate import compile_system
from mcheck.model import CompiledModel, TimeMode
from mcheck.parse import parse_module
from mcheck.program import Verdict
from mcheck.resolve import resolve
from mcheck.source import Source
from mcheck.trace import Result, Status, Step, Trace

SATURATION_BUDGET = 200_000
"""States explored after the first stuck state, looking for the victims that block behind it."""


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
) -> Result:
    compiled = compile_system(model.ts)
    found = bfs.search(model.ts, limits or bfs.Limits(), progress, compiled)
    if found.outcome is bfs.Outcome.STUCK:
        (_, initial), *rest = found.path
        first = rest[-1][1] if rest else initial
        rest.extend(bfs.saturate(model.ts, first, SATURATION_BUDGET, compiled))
        final = rest[-1][1] if rest else initial
        report = explain(model, final)
        if report is None:
            raise MCheckError("internal error: the engine reported a stuck state the analysis does not confirm")
        trace = Trace(initial, tuple(Step(t, s) for t, s in rest), report, len(found.path) - 1)
        status = Status.FUTURELOCK if report.verdict is Verdict.FUTURELOCK else Status.DEADLOCK
        return Result(status, "bfs", found.stats, trace)
    if found.outcome is bfs.Outcome.EXHAUSTED:
        return Result(Status.SAFE, "bfs", found.stats)
    if found.outcome is bfs.Outcome.OVERFLOW:
        st = found.overflow_state
        assert st is not None
        why = "; ".join(x.reason for x in model.bounds if st[x.var] == x.value)
        return Result(Status.INCONCLUSIVE, "bfs", found.stats,
                      reason=f"{why}, which mcheck does not model further; no stuck state among the states explored")
    return Result(Status.INCONCLUSIVE, "bfs", found.stats, reason=f"{found.limit_hit} reached before the search ended")
