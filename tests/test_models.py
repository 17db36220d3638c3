"""Every bundled model, in both time modes and untimed on both runtimes, must get the verdict its
header states."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import MODELS

from mcheck import suite
from mcheck.model import TimeMode
from mcheck.program import Verdict
from mcheck.runs import Options
from mcheck.source import Source
from mcheck.trace import Status
from mcheck.verify import check, load

MODEL_FILES = sorted(MODELS.rglob("*.mc"))


def test_models_exist() -> None:
    assert len(MODEL_FILES) >= 10, "the models/ glob found too few models"


@pytest.mark.parametrize(("time", "runtime"), [(TimeMode.UNTIMED, None), (TimeMode.UNTIMED, "current-thread"),
                                               (TimeMode.EXACT, None)], ids=["untimed", "untimed-current-thread", "exact"])
@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: str(p.relative_to(MODELS)))
def test_model_verdict_matches_header(path: Path, time: TimeMode, runtime: str | None) -> None:
    """The same check `mcheck test models/` makes (suite.py), one case per model and mode; and
    untimed on the current-thread runtime (`mcheck test --runtime current-thread`)."""
    case = suite.run_case(str(path), time, Options(runtime=runtime))
    assert case.expected is not None, f"{path} has no '// expect:' header"
    assert case.status is suite.CaseStatus.PASS, f"{path.name} ({time.value}, {runtime}): {case.why}"
    result = case.outcome.result
    assert result is not None
    if case.expected is not Verdict.SAFE:
        assert result.trace is not None and result.trace.steps
        assert result.trace.report.stuck_tasks


def test_untimed_is_sound_for_exact() -> None:
    """Every hang found in exact time is found in untimed time too (untimed allows every timing)."""
    for path in MODEL_FILES:
        expect = load(Source(str(path), path.read_text()), TimeMode.UNTIMED).program.expect
        if expect.exact is not None and expect.exact is not Verdict.SAFE:
            assert expect.untimed is not Verdict.SAFE, path


def test_current_thread_interleavings_are_a_subset_of_multi_thread() -> None:
    """Where the current-thread runtime hangs, the multi-thread one does too (NOTE(default-runtime)):
    no header says otherwise, and the one model that hangs only on worker threads says so."""
    differ = []
    for path in MODEL_FILES:
        expect = load(Source(str(path), path.read_text()), TimeMode.UNTIMED).program.expect
        on_one, _ = expect.verdict(False, "current-thread")
        on_many, _ = expect.verdict(False, "multi-thread")
        assert not (on_one is not Verdict.SAFE and on_many is Verdict.SAFE), path
        if on_one != on_many:
            differ.append(path.name)
    assert differ == ["multi_thread_select_send.mc"]


def test_production_shape_reports_victims_while_the_actor_runs() -> None:
    path = MODELS / "production.mc"
    model = load(Source(str(path), path.read_text()), TimeMode.UNTIMED)
    result = check(model)
    assert result.status is Status.FUTURELOCK and result.trace is not None
    rep = result.trace.report
    names = {model.tasks[t].name for t in rep.stuck_tasks}
    assert names == {"main", "request[0]", "request[1]"}
    assert {model.tasks[t].name for t in rep.victims} == {"request[0]", "request[1]"}
    assert [model.slots[d].label for d in rep.dormant] == ["self.claims.send(Request::Claim(tx))"]
    assert [model.resources[r].name for r in rep.resources] == ["claims"]
    # The pool actor is alive and not stuck: it keeps running its periodic bookkeeping.
    pool = next(t for t in model.tasks if t.name == "pool")
    assert pool.index not in rep.stuck_tasks
