"""`mcheck scan`: the Rust front end. The 42 real tokio programs of the patterns harness are each
classified as tokio ran them (HANG <-> stuck, DONE <-> safe) with no hand-written model; the
fixture crates under tests/scan/ (services with resources in struct fields, actor loops, sites
over several files) and their fixed versions; golden text, JSON and SARIF; bad input."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from conftest import ROOT

from mcheck.model import TimeMode
from mcheck.runs import Options
from mcheck.scan.check import ScanResult, scan

PATTERNS_RS = Path(os.environ.get("MCHECK_PATTERNS_RS", "/work/shared/patterns/src/main.rs"))
FIXTURES = ROOT / "tests" / "scan"
GOLDEN = ROOT / "tests" / "golden" / "scan"
STUCK = ("futurelock", "deadlock")


def _cases(text: str) -> list[tuple[str, str, int]]:
    """(name, tokio's verdict, line) of each case: `("01_rfd_...", "HANG", || ...` in cases()."""
    out = []
    for i, line in enumerate(text.splitlines(), start=1):
        m = re.match(r'\s*\("(\d\d_\w+)", "(HANG|DONE)"', line)
        if m:
            out.append((m.group(1), m.group(2), i))
    return out


@pytest.fixture(scope="module")
def patterns() -> tuple[list[tuple[str, str, int]], ScanResult]:
    if not PATTERNS_RS.exists():
        pytest.skip(f"{PATTERNS_RS} is not here (MCHECK_PATTERNS_RS names it)")
    cases = _cases(PATTERNS_RS.read_text())
    # The harness times each case with real sleeps: tokio's verdicts are exact time's.
    return cases, scan([str(PATTERNS_RS)], Options(time=TimeMode.EXACT))


def test_the_patterns_file_has_42_cases(patterns: tuple[list[tuple[str, str, int]], ScanResult]) -> None:
    cases, _ = patterns
    assert len(cases) == 42
    assert sum(v == "HANG" for _, v, _ in cases) == 18


def test_every_pattern_case_is_classified_as_tokio_ran_it(
        patterns: tuple[list[tuple[str, str, int]], ScanResult]) -> None:
    cases, result = patterns
    assert not result.errors
    bounds = [line for _, _, line in cases] + [10**9]
    got: dict[str, list[str]] = {name: [] for name, _, _ in cases}
    for c in result.checked:
        line = c.model.root.node.loc.line
        if c.model.root.enclosing != "cases":
            continue  # run_case's block_on(async { .. }): the harness, not a case
        for (name, _, start), end in zip(cases, bounds[1:], strict=True):
            if start <= line < end:
                got[name].append(c.outcome.what)
    wrong = []
    for name, tokio, _ in cases:
        assert len(got[name]) == 1, f"{name}: {len(got[name])} entry points, expected the case's async block"
        stuck = got[name][0] in STUCK
        if stuck != (tokio == "HANG"):
            wrong.append(f"{name}: tokio {tokio}, scan {got[name][0]}")
    assert not wrong, f"{42 - len(wrong)}/42; misclassified: " + "; ".join(wrong)


def test_the_classic_deadlocks_are_deadlocks(patterns: tuple[list[tuple[str, str, int]], ScanResult]) -> None:
    cases, result = patterns
    lines = {name: line for name, _, line in cases}
    classic = {"56_join_classic_intra_task_cycle", "62_classic_abba_two_tasks", "63_classic_same_task_relock"}
    for c in result.checked:
        line = c.model.root.node.loc.line
        name = next((n for n in classic if lines[n] == line), None)
        if name is not None:
            assert c.outcome.what == "deadlock", name


def test_every_futurelock_is_blamed_on_a_site_with_its_rust_line(
        patterns: tuple[list[tuple[str, str, int]], ScanResult]) -> None:
    _, result = patterns
    blamed = [s for s in result.sites if s.blamed and s.verdict == "futurelock"]
    assert len(blamed) == 15
    for s in blamed:
        assert not s.site.kind.startswith("entry"), s.site
        assert s.site.loc.path == str(PATTERNS_RS)


def test_every_model_line_says_where_it_came_from(patterns: tuple[list[tuple[str, str, int]], ScanResult]) -> None:
    _, result = patterns
    for c in result.checked:
        for line in c.model.text.splitlines():
            if line.strip() and not line.startswith("//"):
                assert re.search(r"// from \S+:\d+$", line), f"{c.path}: {line!r}"
