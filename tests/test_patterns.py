"""The pattern suite: one model per real tokio case (models/patterns/), checked against what the
real runtime did (models/patterns/VERDICTS), in both time modes; and docs/patterns.md, which is
generated from those models (regenerate it with `make docs`)."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import patterns_doc
import pytest
from conftest import PATTERNS, ROOT

from mcheck.model import TimeMode
from mcheck.program import Verdict
from mcheck.source import Source
from mcheck.trace import Status
from mcheck.verify import check, load

CASES = patterns_doc.read_verdicts()
MODEL_FILES = sorted(PATTERNS.glob("*.mc"))
CLASSIC = {"56_join_classic_intra_task_cycle", "62_classic_abba_two_tasks", "63_classic_same_task_relock"}
MAX_STATES = 10_000
"""Every pattern model must check in well under a second: a few hundred states is the norm."""


def _case(path: Path) -> patterns_doc.Case:
    name = path.name.removesuffix(".draft").removesuffix(".mc")
    assert name in CASES, f"{path.name} is not a case of models/patterns/VERDICTS"
    return CASES[name]


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_verdict_table() -> None:
    assert len(CASES) == 42
    assert sum(c.tokio == "HANG" for c in CASES.values()) == 18
    assert {n for n, c in CASES.items() if c.want is Status.DEADLOCK} == CLASSIC
    for c in CASES.values():
        assert c.want is (Status.SAFE if c.tokio == "DONE" else Status.DEADLOCK if c.name in CLASSIC else Status.FUTURELOCK)


def test_every_case_has_a_model() -> None:
    """Every case of the real-runtime table has its model, and there is no other."""
    names = {p.name.removesuffix(".mc") for p in MODEL_FILES}
    missing = sorted(set(CASES) - names)
    extra = sorted(names - set(CASES))
    assert not extra, f"models that are not cases: {extra}"
    assert not missing, f"{len(missing)} case(s) without a model: {missing}"


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.stem)
def test_header(path: Path) -> None:
    case = _case(path)
    text = path.read_text()
    assert text.startswith(f"// Pattern {case.name}"), "the first comment names the case"
    for key in ("untimed", "exact"):
        assert re.search(rf"^// expect-{key}: \w+$", text, re.M), f"no explicit '// expect-{key}:' header"
    expect = load(Source(_rel(path), text), TimeMode.UNTIMED).program.expect
    assert expect.exact is not None and expect.untimed is not None
    assert expect.exact.value == case.want.value, f"tokio: {case.tokio}, so exact must be {case.want.value}"
    if case.tokio == "HANG":
        assert expect.untimed is not Verdict.SAFE, "untimed allows every timing: it must find the hang too"
    if expect.untimed is not expect.exact:
        assert re.search(r"^//.*\btiming\b", text, re.M | re.I), "a comment must say which timing makes the difference"


@pytest.mark.parametrize("time", list(TimeMode), ids=lambda t: t.value)
@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.stem)
def test_verdict(path: Path, time: TimeMode) -> None:
    case = _case(path)
    model = load(Source(_rel(path), path.read_text()), time)
    result = check(model)
    if time is TimeMode.EXACT:
        assert result.status is case.want, f"tokio: {case.tokio}; mcheck exact: {result.status.value}"
    else:
        expect = model.program.expect.untimed
        assert expect is not None and result.status.value == expect.value, f"mcheck untimed: {result.status.value}"
        if case.tokio == "HANG":
            assert result.status is not Status.SAFE
    if result.status in (Status.FUTURELOCK, Status.DEADLOCK):
        assert result.trace is not None and result.trace.report.stuck_tasks
        assert bool(result.trace.report.dormant) is (result.status is Status.FUTURELOCK)
    assert result.stats.states <= MAX_STATES, f"{result.stats.states} states: keep pattern models small"


def test_catalog_lists_every_case() -> None:
    families = patterns_doc.read_catalog(CASES)  # raises on a case in no family, or listed on the wrong side
    bad = {n for f in families for n in f.bad}
    assert bad == {n for n, c in CASES.items() if c.tokio == "HANG"}


def test_patterns_doc_is_generated() -> None:
    want = patterns_doc.build()
    got = patterns_doc.DOC.read_text() if patterns_doc.DOC.exists() else ""
    if got != want:
        diff = "".join(difflib.unified_diff(got.splitlines(True), want.splitlines(True), "docs/patterns.md", "generated"))
        pytest.fail(f"docs/patterns.md is out of date: run `make docs` ({patterns_doc.REGENERATE}):\n{diff}")


def test_excerpt_keeps_the_key_lines() -> None:
    case = CASES["25_mpsc_cap1_select_ref_claim_arm_claims"]
    got = patterns_doc.run(case, TimeMode.EXACT)
    assert got is not None
    lines = patterns_doc.excerpt(got[1])
    assert lines[0].endswith("futurelock found (time: exact, runtime: current-thread), shortest trace: 8 steps")
    assert any("select! branch 2 (`sleep(5)`) wins" in x for x in lines)
    assert any("is handed to `tx.send()` in `f1` (task main): nobody is polling it (dormant)" in x for x in lines)
    assert "   ... 2 more steps until every task that will block has blocked" in lines
    assert any(x.startswith("Dormant future: `f1` in task main") for x in lines)
    assert "Resource: `reqs`." in lines and "Victims (other tasks blocked behind it): actor." in lines
    assert not any(x.startswith(("Fixes that apply", "summary:")) for x in lines)
