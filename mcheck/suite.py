"""`mcheck test`: every model checked against its own `// expect:` / `// expect-exact:` headers
(program.Expectation, as resolve.py reads them), in each time mode.

Returns data (`Case`s); the CLI runs each case within its own Budget and prints the table. A case
passes when the verdict is the one the header states for that mode; inconclusive never passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import Enum

from mcheck.model import TimeMode
from mcheck.program import Verdict
from mcheck.runs import EXIT_STUCK, Options, Outcome, run_file, worst
from mcheck.source import Span

TIME_MODES = (TimeMode.UNTIMED, TimeMode.EXACT)
"""The modes `mcheck test` checks by default: every model, both clocks (a header states each)."""


class CaseStatus(Enum):
    PASS = "pass"
    MISMATCH = "mismatch"  # a verdict other than the header's, inconclusive, or no header at all
    ERROR = "error"  # the model could not be checked: bad input or an internal error


@dataclass(frozen=True, slots=True)
class Case:
    outcome: Outcome
    expected: Verdict | None  # None: the model has no `// expect:` header (or could not be read)
    header: Span | None  # the header that states `expected`
    status: CaseStatus
    why: str  # for a case that did not pass, in a few words

    @property
    def trace_length(self) -> int | None:
        r = self.outcome.result
        return len(r.trace.steps) if r is not None and r.trace is not None else None

    @property
    def states(self) -> int | None:
        r = self.outcome.result
        return r.stats.states if r is not None else None

    @property
    def exit_code(self) -> int:
        if self.status is CaseStatus.ERROR:
            return self.outcome.exit_code
        return EXIT_STUCK if self.status is CaseStatus.MISMATCH else 0


def judge(outcome: Outcome) -> Case:
    """Compare one run's verdict with what its model's header expects in that time mode."""
    expected, header = (None, None) if outcome.model is None else \
        outcome.model.program.expect.verdict(outcome.time is TimeMode.EXACT, outcome.model.runtime)
    if outcome.internal or outcome.diagnostics or outcome.usage_error:
        return Case(outcome, expected, header, CaseStatus.ERROR, outcome.what)
    got = outcome.what
    if outcome.model is None:  # stopped by a bound of the run before the model was loaded
        return Case(outcome, None, None, CaseStatus.MISMATCH, f"inconclusive: {outcome.stopped}")
    if expected is None:
        return Case(outcome, None, None, CaseStatus.MISMATCH, "the model has no `// expect:` header")
    if got != expected.value:
        reason = outcome.stopped or (outcome.result.reason if outcome.result is not None else "")
        suffix = f" ({reason})" if reason else ""
        return Case(outcome, expected, header, CaseStatus.MISMATCH, f"expected {expected.value}, got {got}{suffix}")
    return Case(outcome, expected, header, CaseStatus.PASS, "")


def other_runtimes(case: Case) -> list[str]:
    """The runtimes an untimed case's model states a verdict for (`// expect-current-thread:`,
    `// expect-multi-thread:`) other than the one it ran on: each is a case of its own."""
    o = case.outcome
    if o.time is not TimeMode.UNTIMED or o.model is None:
        return []
    return [rt for rt, _v, _at in o.model.program.expect.on_runtime if rt != o.model.runtime]


def cases(paths: Sequence[str], modes: Sequence[TimeMode] = TIME_MODES) -> list[tuple[str, TimeMode]]:
    """The runs `mcheck test` makes: each model in each mode, model by model."""
    return [(p, m) for p in paths for m in modes]


def run_case(path: str, mode: TimeMode, opts: Options) -> Case:
    """One case with a Budget of its own (for callers without a progress display: the tests)."""
    return judge(run_file(path, replace(opts, time=mode)))


def exit_code(results: Sequence[Case]) -> int:
    """1 for any mismatch, unless a model could not be checked (2 or 4: NOTE(worst-exit))."""
    return worst([c.exit_code for c in results])
