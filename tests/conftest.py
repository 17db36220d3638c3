"""Shared helpers for the test suite."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mcheck.model import CompiledModel, TimeMode
from mcheck.source import Source
from mcheck.verify import load

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
