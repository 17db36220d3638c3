"""Every input in tests/hostile/ (pathological models found by hand or by tests/test_fuzz.py, which
saves each input that ever fails there as fuzz_<hash>.mc) through the command line, with the fuzz
test's rule (tests/cleanrun.py): exit 0-3, no traceback, exit 2 with `file:line:col`, the verdict
printed that the exit code means, within the wall bound. In both time modes: a bound that one
mode reaches the other may not.

An input that mcheck still mishandles is listed in OPEN with why; its test is a strict xfail, so
it fails once the bug is fixed and the entry must go.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cleanrun import problems, run_cli
from conftest import BUGS_DIR

OPEN: dict[str, str] = {}
"""file name -> why mcheck still fails on it (a bug too large to fix where it was found)."""

INPUTS = sorted(BUGS_DIR.glob("*.mc"))


def _params() -> list[object]:
    out: list[object] = []
    for path in INPUTS:
        for time in ("untimed", "exact"):
            marks = [pytest.mark.xfail(strict=True, reason=OPEN[path.name])] if path.name in OPEN else []
            out.append(pytest.param(path, time, id=f"{path.name}-{time}", marks=marks))
    return out


def test_there_are_hostile_inputs() -> None:
    assert len(INPUTS) >= 10
    assert set(OPEN) <= {p.name for p in INPUTS}, "OPEN names a file that is not in tests/hostile/"


@pytest.mark.parametrize(("path", "time"), _params())
def test_hostile_input_ends_cleanly(path: Path, time: str) -> None:
    run = run_cli(["verify", "--quiet", "--timeout", "3", "--max-states", "20000", "--time", time, str(path)])
    found = problems(run, str(path))
    assert not found, f"{path.name} ({time}, exit {run.code}, {run.seconds:.1f} s): " + "; ".join(found)
