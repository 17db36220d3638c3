"""Every bundled model, in both time modes, must get the verdict its header states."""

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


@pytest.mark.parametrize("time", list(TimeMode), ids=lambda t: t.value)
@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: str(p.relative_to(MODELS)))
def test_model_verdict_matches_header(path: Path, time: TimeMode) -> None:
    """The same check `mcheck test models/` makes (suite.py), one case per model and mode."""
    case = suite.run_case(str(path), time, Options())
    assert case.expected is not None, f"{path} has no '// expect:' header"
    assert case.status is suite.CaseStatus.PASS, f"{path.name} ({time.value}): {case.why}"
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


def test_production_shape_reports_victims_while_the_actor_runs() -> None:
    path = MODELS / "production.mc"
    model = load(Source(str(path), path.read_text()), TimeMode.UNTIMED)
    result = check(model)
    assert result.status is Status.FUTURELOCK and result.trace is not None
    rep = result.trace.report
    names = {model.tasks[t].name for t in rep.stuck_tasks}
    assert names == {"main", "request[0]", "request[1]"}
    assert {model.tasks[t].name for t in rep.victims} == {"request[0]", "request[1]"}
    assert [model.slots[d].label for d in rep.dormant] == ["c.send()"]
    assert [model.resources[r].name for r in rep.resources] == ["claims"]
    # The pool actor is alive and not stuck: it keeps running its periodic bookkeeping.
    pool = next(t for t in model.tasks if t.name == "pool")
    assert pool.index not in rep.stuck_tasks
