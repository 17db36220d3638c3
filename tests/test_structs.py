"""Structs of resources (mcheck/structs.py): `struct Pool { claims: Channel }`, `impl Pool { async
fn claim(&self) .. }`, `let pool = Pool { .. };`, `pool.claim()`, `Arc::new(..)` and `.clone()` as
aliasing; the lowering's semantics (the same resources) and each refusal as a located error."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import assert_located_error, compile_text

from mcheck.model import TimeMode
from mcheck.trace import Status
from mcheck.verify import Engine, check

POOL = """struct Pool { lock: Mutex, hold: u64 }
impl Pool {
    async fn work(&self) {
        let _g = self.lock.lock().await;
        sleep(self.hold).await;
    }
    async fn twice(&self) { self.work().await; self.work().await; }
}
let m = Mutex::new();
"""


def status(text: str, time: TimeMode = TimeMode.UNTIMED) -> Status:
    model = compile_text(text, time)
    result = check(model, engine=Engine.BFS)
    assert check(model, engine=Engine.Z3).status is result.status
    return result.status


def test_method_uses_the_instances_resources() -> None:
    # the futurelock of a dormant lock waiter, written through the struct: the same as with `m`
    text = POOL + """let pool = Arc::new(Pool { lock: m, hold: 10 });
task main {
    let f = pool.work();
    select! {
        _ = &mut f => {}
        _ = sleep(5) => { pool.twice().await; }
    }
}
task other { pool.work().await; }
"""
    assert status(text, TimeMode.EXACT) is Status.FUTURELOCK


def test_two_instances_have_their_own_resources() -> None:
    text = POOL + """let n = Mutex::new();
let a = Pool { lock: m, hold: 10 };
let b = Pool { lock: n, hold: 10 };
task main {
    let _g = m.lock().await;
    b.work().await;                 // b's lock is n: free
}
"""
    assert status(text) is Status.SAFE
    assert status(text.replace("b.work()", "a.work()")) is Status.DEADLOCK  # a's lock is m, held here


def test_clone_and_arc_are_the_same_resource() -> None:
    text = POOL + """let shared = Arc::new(Pool { lock: m, hold: 1 });
let alias = shared.clone();
let m2 = m.clone();
task main {
    let _g = m2.lock().await;
    alias.work().await;             // alias's lock is m, which m2 names: a relock
}
"""
    assert status(text) is Status.DEADLOCK


ERRORS = [
    ("struct P { c: Channel }\nimpl P { async fn f(&mut self) {} }\ntask main {}\n", 2, 26, "takes `&mut self`"),
    ("struct P { c: Vec }\ntask main {}\n", 1, 12, "a struct's field is a resource"),
    ("struct P { c: Channel }\nimpl P { async fn f(&self) {} }\nlet ch = channel(1);\nlet p = P { c: ch };\n"
     "task main { p.g().await; }\n", 5, 13, "'P' has no method 'g'"),
    ("impl Q { async fn f(&self) {} }\ntask main {}\n", 1, 6, "for a struct that is not declared"),
    ("struct P { c: Channel }\nlet p = Q { c: ch };\ntask main {}\n", 2, 1, "'Q' is not a declared struct"),
    ("struct P { c: Channel }\nlet ch = channel(1);\nlet p = P { };\ntask main {}\n", 3, 1, "needs a value for its field 'c'"),
    ("struct P { c: Channel }\nlet ch = channel(1);\nlet p = P { c: ch, d: ch };\ntask main {}\n", 3, 20, "has no field 'd'"),
    ("struct P { c: Channel }\nlet ch = channel(1);\nlet p = P { c: ch };\ntask main { p.d.send().await; }\n",
     4, 13, "'P' has no field 'd'"),
    ("struct P { c: Channel }\nimpl P { async fn f(&this) {} }\ntask main {}\n", 2, 22, "is `&self`, not `&this`"),
]


@pytest.mark.parametrize(("source", "line", "col", "phrase"), ERRORS, ids=[e[3][:40] for e in ERRORS])
def test_bad_structs_are_located(tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, line: int,
                                 col: int, phrase: str) -> None:
    assert_located_error(tmp_path / "model.mc", source, capsys, line, col, phrase)
