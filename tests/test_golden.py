"""Golden text traces: the trace is the product, so its wording is pinned. Run
`pytest --update-golden` after an intended change and review the diff."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from conftest import MODELS

from mcheck.model import TimeMode
from mcheck.render import render_text
from mcheck.source import Source
from mcheck.verify import check, load

GOLDEN = Path(__file__).resolve().parent / "golden"
CASES = [
    ("rfd609.mc", TimeMode.UNTIMED),
    ("production.mc", TimeMode.UNTIMED),
    ("production.mc", TimeMode.EXACT),
    ("abba_deadlock.mc", TimeMode.UNTIMED),
    ("semaphore_partial_grant.mc", TimeMode.EXACT),
    ("rfd609_fix_owned.mc", TimeMode.UNTIMED),
]


def _without_timing(text: str) -> str:
    # The summary line carries wall-clock time and memory: keep only its counts.
    lines = text.splitlines()
    if lines and lines[-1].startswith("summary: "):
        lines[-1] = lines[-1].split(", depth")[0]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("name", "time"), CASES, ids=[f"{n}-{t.value}" for n, t in CASES])
def test_golden_trace(name: str, time: TimeMode, update_golden: bool) -> None:
    rel = f"models/{name}"
    model = load(Source(rel, (MODELS / name).read_text()), time)
    got = _without_timing(render_text(model, check(model), rel))
    path = GOLDEN / f"{Path(name).stem}.{time.value}.txt"
    if update_golden:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(got)
    want = path.read_text()
    if got != want:
        diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True), str(path), "now"))
        pytest.fail(f"trace differs from {path.name} (rerun with --update-golden if intended):\n{diff}")
