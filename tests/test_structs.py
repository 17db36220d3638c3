"""Structs of resources (mcheck/structs.py): `struct Pool { claims: Channel }`, `impl Pool { async
fn claim(&self) .. }`, `let pool = Pool { .. };`, `pool.claim()`, `Arc::new(..)` and `.clone()` as
aliasing; the lowering's semantics (the same resources) and each refusal as a located error."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import assert_located_error, compile_text

from mcheck.errors import ModelError
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


def test_struct_made_in_a_body_names_the_top_level_resources() -> None:
    text = POOL + """let n = Mutex::new();
task main {
    let a = Pool { lock: m, hold: 1 };
    let b = Arc::new(Pool { lock: n.clone(), hold: 1 });
    let _g = m.lock().await;
    b.work().await;                 // b's lock is n: free
}
"""
    assert status(text) is Status.SAFE
    assert status(text.replace("b.work()", "a.work()")) is Status.DEADLOCK  # a's lock is m, held here


def test_an_alias_made_in_a_body_is_the_resource() -> None:
    text = POOL + """task main {
    let m2 = m.clone();
    let _g = m2.lock().await;
    let p = Pool { lock: m, hold: 1 };
    let q = p.clone();
    q.work().await;                 // m2, p.lock and q.lock are m: a relock
}
"""
    assert status(text) is Status.DEADLOCK


def test_a_let_shadows_an_instance_made_in_a_body() -> None:
    # `p` is an instance, then a number: the later `p` is the number, so p.work() is refused
    text = POOL + """task main {
    let p = Pool { lock: m, hold: 1 };
    p.work().await;
    let p = 3;
    p.work().await;
}
"""
    assert status(text.replace("    let p = 3;\n    p.work().await;\n", "")) is Status.SAFE
    with pytest.raises(ModelError):
        compile_text(text, TimeMode.UNTIMED)


def test_a_struct_parameter_is_spread_into_its_fields() -> None:
    text = POOL + """let n = Mutex::new();
async fn run(p: Pool, q: Pool) {
    let _g = p.lock.lock().await;
    q.work().await;
}
task main {
    let a = Pool { lock: m, hold: 1 };
    let b = Pool { lock: n, hold: 1 };
    run(a, b).await;
}
"""
    assert status(text) is Status.SAFE
    assert status(text.replace("run(a, b)", "run(a, a)")) is Status.DEADLOCK


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
    ("struct P { c: Channel }\nasync fn f(p: P) {}\nlet ch = channel(1);\ntask main { f(ch).await; }\n",
     4, 15, "'f' takes a 'P' here: pass an instance of it"),
    ("struct P { c: Channel }\ntask main {\n    let p = P { c: channel(1) };\n}\n", 3, 17,
     "field 'c' of a 'P' made in a body is not a name"),
    ("struct P { c: Channel }\nlet ch = channel(1);\ntask main {\n    let p = P { c: ch };\n    p.c.send().await;\n"
     "    p.d.send().await;\n}\n", 6, 5, "'P' has no field 'd'"),
]


@pytest.mark.parametrize(("source", "line", "col", "phrase"), ERRORS, ids=[e[3][:40] for e in ERRORS])
def test_bad_structs_are_located(tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, line: int,
                                 col: int, phrase: str) -> None:
    assert_located_error(tmp_path / "model.mc", source, capsys, line, col, phrase)
