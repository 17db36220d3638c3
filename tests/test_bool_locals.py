"""Bool variables: integer variables of range 0..1, set to literals or to `choose()`, tested as conditions."""

from __future__ import annotations

from conftest import ROOT, compile_text

from mcheck.trace import Status
from mcheck.verify import check

MODEL = (ROOT / "models" / "constructs" / "bool_flag_then_lock_behind_dormant.mc").read_text()


def verdict(text: str) -> Status:
    return check(compile_text(text, runtime="current-thread")).status


def test_a_flag_set_in_a_branch_decides_what_runs_after_the_select() -> None:
    assert verdict(MODEL) is Status.FUTURELOCK
    # Never set, the flag keeps main out of the second lock_op: nothing waits behind f1.
    assert verdict(MODEL.replace("gave_up = true;", "")) is Status.SAFE


def test_a_flag_set_by_choose_takes_either_value() -> None:
    base = "let m = Mutex::new();\ntask main {\n    let _g = m.lock().await;\n    let mut again = choose();\n" \
        "    if again { let _h = m.lock().await; }\n}\n"
    assert verdict(base) is Status.DEADLOCK  # the true path relocks
    assert verdict(base.replace("if again", "if !again && again")) is Status.SAFE


def test_a_bool_variable_is_bounded_like_an_integer_variable() -> None:
    text = "task main {\n    for _ in 0..3 {\n        let mut seen = false;\n        yield_now().await;\n" \
        "        seen = true;\n        if seen { yield_now().await; }\n    }\n}\n"
    model = compile_text(text, runtime="current-thread")
    # The `for` counter runs 0..3; `seen` has the body's integer range: 0 and 1, widened by one step.
    ranges = [(v.lo, v.hi) for v in model.ts.vars if ".int" in v.name]
    assert ranges == [(0, 3), (0, 2)]
    assert check(model).status is Status.SAFE
