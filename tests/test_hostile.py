"""Every input in tests/hostile/ (pathological models found by hand or by tests/test_fuzz.py, which
saves each input that ever fails there as fuzz_<hash>.mc) through the command line, with the fuzz
test's rule (tests/cleanrun.py): exit 0-3, no traceback, exit 2 with `file:line:col`, the verdict
printed that the exit code means, within the wall bound. In both time modes: a bound that one
mode reaches the other may not.

An input that mcheck still mishandles is listed in OPEN with why; its test is a strict xfail, so
it fails once the bug is fixed and the entry must go. A bug that the rule above does not see has a
test of its own here, a strict xfail too, until it is fixed.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from cleanrun import problems, run_cli
from conftest import BUGS_DIR

from mcheck import bfs
from mcheck.budget import Budget, Phase
from mcheck.model import TimeMode
from mcheck.verify import check, load, read_source

OPEN: dict[str, str] = {}
"""file name -> why mcheck still fails on it (a bug too large to fix where it was found)."""

INPUTS = sorted(BUGS_DIR.glob("*.mc"))


def _params() -> list[object]:
    out: list[object] = []
    for path in INPUTS:
        for mode in ("untimed", "exact"):
            marks = [pytest.mark.xfail(strict=True, reason=OPEN[path.name])] if path.name in OPEN else []
            out.append(pytest.param(path, mode, id=f"{path.name}-{mode}", marks=marks))
    return out


def test_there_are_hostile_inputs() -> None:
    assert len(INPUTS) >= 10
    assert set(OPEN) <= {p.name for p in INPUTS}, "OPEN names a file that is not in tests/hostile/"


@pytest.mark.parametrize(("path", "mode"), _params())
def test_hostile_input_ends_cleanly(path: Path, mode: str) -> None:
    run = run_cli(["verify", "--quiet", "--timeout", "3", "--max-states", "20000", "--time", mode, str(path)])
    found = problems(run, str(path))
    assert not found, f"{path.name} ({mode}, exit {run.code}, {run.seconds:.1f} s): " + "; ".join(found)


class _ExpiresAtTheVictims(Budget):
    """A run whose deadline passes the moment its search has found a stuck state, as a small
    --timeout does on a slow or busy machine."""

    def enter(self, phase: Phase, *args: object, **kwargs: object) -> None:
        if phase is Phase.VICTIMS:
            self.deadline = time.monotonic() - 1.0
        super().enter(phase, *args, **kwargs)  # type: ignore[arg-type]


@pytest.mark.xfail(strict=True, reason="the verdict is the final state's, after the victim search: cut short by "
                   "--timeout (or --max-memory) it can be deadlock where the whole search says futurelock")
def test_the_verdict_does_not_depend_on_how_far_the_victim_search_got() -> None:
    """verdict_depends_on_the_victim_search.mc (from tests/modelgen.py): its first stuck state is a
    deadlock, and as the other tasks block behind it a dormant future joins the stuck set, so the
    victim search ends in a futurelock. Stopped early, the same run says deadlock: the answer to
    the same model with the same options depends on how busy the machine is."""
    path = BUGS_DIR / "verdict_depends_on_the_victim_search.mc"
    model = load(read_source(str(path)), TimeMode.UNTIMED)
    whole = check(model, bfs.Limits(max_states=20_000))
    cut = check(model, bfs.Limits(max_states=20_000), budget=_ExpiresAtTheVictims(timeout=60.0))
    assert whole.trace is not None and cut.trace is not None and whole.trace.first_stuck == cut.trace.first_stuck
    assert cut.status is whole.status, f"whole victim search: {whole.status.value}, cut short: {cut.status.value}"
