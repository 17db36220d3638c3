"""Shared helpers for the test suite."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mcheck.model import CompiledModel, TimeMode
from mcheck.source import Source
from mcheck.trace import Status
from mcheck.verify import Engine, check, load

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
PATTERNS = MODELS / "patterns"
BUGS_DIR = ROOT / "tests" / "hostile"  # inputs that once crashed or hung mcheck (tests/test_hostile.py)
sys.path.insert(0, str(ROOT / "tools"))  # tools/patterns_doc.py, for tests/test_patterns.py


def compile_text(text: str, time: TimeMode = TimeMode.UNTIMED, name: str = "test.mc",
                 runtime: str | None = None) -> CompiledModel:
    return load(Source(name, text), time, runtime=runtime)


@pytest.fixture
def root() -> Path:
    return ROOT


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/golden/*.txt from current output")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def assert_located_error(path: Path, source: str, capsys: pytest.CaptureFixture[str], line: int, col: int,
                         phrase: str) -> None:
    """`mcheck verify` on `source` (written to `path`) is bad input: exit 2, nothing on stdout, no
    traceback, and a first line `path:line:col: error: ...` that says `phrase`."""
    from mcheck.cli import EXIT_BAD_INPUT, main

    path.write_text(source)
    rc = main(["verify", "--quiet", str(path)])
    out, err = capsys.readouterr()
    assert out == ""
    assert rc == EXIT_BAD_INPUT, err
    assert "Traceback" not in err
    first = err.splitlines()[0]
    assert first.startswith(f"{path}:{line}:{col}: error: "), err
    assert phrase in first, err


STUCK = "let stuck = Mutex::new();\nasync fn hang(m: Mutex) { let _g = m.lock().await; m.lock().await; }\n"
"""`hang(stuck).await` re-locks a mutex its task holds: a deadlock, so a model that reaches it is not safe."""


def verdicts(text: str) -> set[Status]:
    """The verdicts of a model untimed on both runtimes and in exact time; on the current-thread
    runtime cross-checked by the z3 engine (whose unrolling of the multi-thread steps is slow)."""
    out = set()
    for time, runtime in ((TimeMode.UNTIMED, "multi-thread"), (TimeMode.UNTIMED, "current-thread"),
                          (TimeMode.EXACT, "current-thread")):
        model = compile_text(text, time, runtime=runtime)
        result = check(model, engine=Engine.BFS)
        if runtime == "current-thread":
            assert check(model, engine=Engine.Z3).status is result.status, (time, runtime)
        out.add(result.status)
    return out
