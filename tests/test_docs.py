"""Every example in docs/language.md that states a verdict gets it: in both time modes, and untimed
on both runtimes (the headers of docs/language.md, Header comments)."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

from mcheck.compiler import Runtime
from mcheck.model import TimeMode
from mcheck.source import Source
from mcheck.verify import check, load

DOC = ROOT / "docs" / "language.md"
EXAMPLES = [b for b in re.findall(r"```rust\n(.*?)```", DOC.read_text(), re.S) if "// expect:" in b]


def test_the_language_reference_has_examples() -> None:
    assert len(EXAMPLES) >= 15


MODES = [(TimeMode.UNTIMED, Runtime.MULTI_THREAD), (TimeMode.UNTIMED, Runtime.CURRENT_THREAD),
         (TimeMode.EXACT, Runtime.CURRENT_THREAD)]


@pytest.mark.parametrize(("time", "runtime"), MODES, ids=lambda m: m if isinstance(m, str) else m.value)
@pytest.mark.parametrize("example", range(len(EXAMPLES)))
def test_documented_example(example: int, time: TimeMode, runtime: str) -> None:
    text = EXAMPLES[example]
    model = load(Source(f"docs/language.md example {example + 1}", text), time, runtime=runtime)
    assert model.runtime == runtime
    want, _ = model.program.expect.verdict(time is TimeMode.EXACT, runtime)
    assert want is not None
    assert check(model).status.value == want.value, text


def test_a_documented_example_differs_between_the_runtimes() -> None:
    """The Runtimes section shows a hang that only worker threads reach."""
    differ = [t for t in EXAMPLES if "// expect-current-thread:" in t or "// expect-multi-thread:" in t]
    assert differ
