"""Every example in docs/language.md that states a verdict gets it, in both time modes."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

from mcheck.model import TimeMode
from mcheck.source import Source
from mcheck.verify import check, load

DOC = ROOT / "docs" / "language.md"
EXAMPLES = [b for b in re.findall(r"```rust\n(.*?)```", DOC.read_text(), re.S) if "// expect:" in b]


def test_the_language_reference_has_examples() -> None:
    assert len(EXAMPLES) >= 15


@pytest.mark.parametrize("time", list(TimeMode), ids=lambda t: t.value)
@pytest.mark.parametrize("example", range(len(EXAMPLES)))
def test_documented_example(example: int, time: TimeMode) -> None:
    text = EXAMPLES[example]
    model = load(Source(f"docs/language.md example {example + 1}", text), time)
    expect = model.program.expect
    assert expect.untimed is not None
    want = expect.exact if time is TimeMode.EXACT and expect.exact is not None else expect.untimed
    assert check(model).status.value == want.value, text
