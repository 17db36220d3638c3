"""`mcheck emit-rust`: the Rust it writes, the schedule it takes from a trace, and (where cargo and
Debian's tokio sources are installed) the real runtime agreeing with every bundled model's header.

Everything but the last test runs without cargo."""

from __future__ import annotations

import difflib
import shutil
import sys
from pathlib import Path

import pytest
from conftest import MODELS, ROOT, compile_text
from test_engine import PRODUCTION_SHAPE

from mcheck import program as p
from mcheck.cli import main
from mcheck.emit_rust import Schedule, emit_module, project_for, schedule_from_trace, unsupported
from mcheck.errors import ModelError
from mcheck.evaluate import compile_system
from mcheck.livelock import find_starvation
from mcheck.model import CompiledModel, TimeMode
from mcheck.source import Source
from mcheck.trace import Result, Status
from mcheck.verify import check, load

GOLDEN = Path(__file__).resolve().parent / "golden"
MODEL_FILES = sorted(MODELS.rglob("*.mc"))
REGISTRY = Path("/usr/share/cargo/registry")


def _exact(rel: str) -> tuple[CompiledModel, Result]:
    model = load(Source(rel, (ROOT / rel).read_text()), TimeMode.EXACT)
    return model, check(model)


def test_golden_rust_for_rfd609(update_golden: bool) -> None:
    model, result = _exact("models/rfd609.mc")
    got = project_for(model, result.trace)["src/model.rs"]
    path = GOLDEN / "rfd609.emit-rust.rs"
    if update_golden:
        path.write_text(got)
    want = path.read_text()
    if got != want:
        diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True), str(path), "now"))
        pytest.fail(f"emitted Rust differs from {path.name} (rerun with --update-golden if intended):\n{diff}")


def test_schedule_from_the_rfd609_trace() -> None:
    """holder starts first, then main, whose select! is won by its second branch (the timer)."""
    model, result = _exact("models/rfd609.mc")
    assert result.status is Status.FUTURELOCK and result.trace is not None
    schedule = schedule_from_trace(model, result.trace)
    assert schedule == Schedule(("holder", "main"), (("select", "main", "23:5", (1,)),))
    assert schedule.text() == "order\tholder\tmain\nselect\tmain\t23:5\t1\n"


def test_schedule_records_choose_outcomes_per_task_and_site() -> None:
    text = """let m = Mutex::new();
task main { if choose() { let _g = m.lock().await; m.lock().await; } }
"""
    model = compile_text(text, TimeMode.EXACT)
    result = check(model)
    assert result.status is Status.DEADLOCK and result.trace is not None
    schedule = schedule_from_trace(model, result.trace)
    assert schedule.decisions == (("choose", "main", "2:16", (1,)),)


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: str(p.relative_to(MODELS)))
def test_every_bundled_model_emits_one_fn_per_task_and_fn(path: Path) -> None:
    rel = str(path.relative_to(ROOT))
    model = load(Source(rel, path.read_text()), TimeMode.EXACT)
    assert unsupported(model.program) is None, "every bundled model is emitted (and compared with tokio)"
    text = emit_module(model.program, model.source)
    for td in model.program.tasks:
        assert f"async fn task_{td.name}(" in text
    for name in model.program.fns:
        assert f"async fn {name}(" in text or f"async fn fn_{name}(" in text
    assert text.count("pub static CASE: rt::Case") == 1
    assert text.count("{") == text.count("}"), "unbalanced braces"


def test_senders_and_receivers_go_to_the_tasks_that_use_them() -> None:
    """production.mc's shape (without the reply its claims carry): the pool only receives on
    `claims`, the requests and main only send."""
    model = compile_text(PRODUCTION_SHAPE, TimeMode.EXACT)
    text = emit_module(model.program, model.source)
    assert "task_pool(claims.part(false, true))" in text
    assert "task_request(claims.part(true, false))" in text
    assert "task_main(claims.part(true, false))" in text
    assert "rt::Chan::new(&res_().claims, claims_tx, false)" in text  # a task receives: no receiver kept


REPLY = """enum Request { Claim(oneshot::Sender) }
let claims = channel(1);
task pool {
    while let Some(request) = claims.recv().await {
        match request { Request::Claim(reply) => { reply.send(()); } }
    }
}
task main {
    let (tx, rx) = oneshot::channel();
    claims.send(Request::Claim(tx)).await;
    rx.await;
}
"""


def test_a_reply_sender_travels_in_the_message_and_is_dropped_with_it() -> None:
    """The requester's real Sender moves into the message; the receiver keeps it beside the value,
    answers on it and drops it at the arm's end; the Receiver is a local, not a static."""
    model = compile_text(REPLY, TimeMode.EXACT)
    rust = emit_module(model.program, model.source)
    assert "let (tx, mut rx) = rt::reply_channel();" in rust
    assert "claims.send_reply(1, tx).await;" in rust
    assert "rx.recv().await;" in rust
    assert "let (mut request, mut request_reply) = rt::split(request);" in rust
    assert rust.index("rt::reply(&mut request_reply);") < rust.index("drop(request_reply.take());")
    assert "main.rx" not in rust and "OneShared" not in rust


def test_a_reply_receiver_passed_to_an_async_fn_is_refused_located() -> None:
    text = REPLY.replace("    rx.await;\n", "    wait(rx).await;\n") + "async fn wait(o: Oneshot) { o.recv().await; }\n"
    model = compile_text(text, TimeMode.EXACT)
    refused = unsupported(model.program)
    assert refused is not None and refused.diagnostics[0].span is not None
    assert (refused.diagnostics[0].span.line, refused.diagnostics[0].span.col) == (11, 5)
    with pytest.raises(ModelError, match="passed to an async fn"):
        emit_module(model.program, model.source)


def test_a_spawn_site_holds_the_senders_of_its_task_until_it_spawns() -> None:
    text = """let ch = channel(1);
task main {
    spawn(async { ch.send().await; });
    while let Some(_) = ch.recv().await {}
}
"""
    model = compile_text(text, TimeMode.EXACT)
    rust = emit_module(model.program, model.source)
    assert "let mut __spawn1_ch = Some(ch.part(true, false));" in rust
    assert "let ch = ch.into_part(false, true);" in rust  # main's own handle: the receiver only
    assert "rt::take_or(__spawn1_ch.take(), ch.part(true, false))" in rust


def test_unbiased_select_is_rotated_by_the_schedule_and_guards_are_dropped() -> None:
    text = """let m = Mutex::new();
task main { select! { _ = m.lock() => {} _ = sleep(1) => {} } }
"""
    model = compile_text(text, TimeMode.EXACT)
    rust = emit_module(model.program, model.source)
    assert 'match rt::rotation("2:13", 2) {' in rust
    assert rust.count("biased;") == 2
    assert "_ = rt::unit(m.lock()) => {}" in rust


def test_cli_writes_a_cargo_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "proj"
    assert main(["emit-rust", str(MODELS / "rfd609.mc"), "-o", str(out)]) == 0
    for rel in ("Cargo.toml", ".cargo/config.toml", "src/main.rs", "src/rt.rs", "src/model.rs"):
        assert (out / rel).is_file(), rel
    assert 'directory = "/usr/share/cargo/registry"' in (out / ".cargo/config.toml").read_text()
    assert "futurelock; the program follows its trace" in capsys.readouterr().out


def test_cli_reports_bad_input_located(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.mc"
    bad.write_text("task main { nosuch.lock().await; }\n")
    assert main(["emit-rust", str(bad), "-o", str(tmp_path / "out")]) == 2
    assert f"{bad}:1:13: error:" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# ---- the real runtime -------------------------------------------------------------------------------

REGRESSIONS = sorted((Path(__file__).resolve().parent / "runtime_regressions").glob("*.mc"))
KNOWN: dict[str, str] = {}  # model -> the open mcheck bug it shows (a strict expected failure)
LIVELOCKS = {  # model -> the task tokio reports stuck, which waits for ever while another loops
    "g_187750.mc": "spawn@22",  # t27's `continue` skips `n20 += 1`: it never leaves its loop
    "g_187784.mc": "h5",  # t12's loop re-arms its sleep(20) each round and never reaches its recv
    "g_30187.mc": "t17",  # t9 loops for ever in a select! arm, where set7 holds rw4 dormant
}


@pytest.mark.parametrize("path", REGRESSIONS, ids=lambda p: p.name)
def test_runtime_regression_is_not_safe(path: Path, request: pytest.FixtureRequest) -> None:
    """Each model here hung on tokio while mcheck said safe (tools/runtime_check.py found it):
    mcheck now finds a stuck state in it or, for a livelock, the starved task."""
    if path.name in KNOWN:
        request.applymarker(pytest.mark.xfail(reason=KNOWN[path.name], strict=True))
    model = load(Source(str(path), path.read_text()), TimeMode.EXACT)
    assert model.program.expect.untimed is not p.Verdict.SAFE
    status = check(model).status  # (not inside the assert: pytest would print the whole model)
    if path.name in LIVELOCKS:
        assert status is Status.SAFE  # no stuck state: each state of the loop has a task that can step
        found = find_starvation(model, compile_system(model.ts))
        assert found is not None and LIVELOCKS[path.name] in found.starved, found
        return
    assert status is not Status.SAFE, f"mcheck says {status.value}; tokio hangs ({path.name})"


def _runtime_missing() -> str | None:
    if shutil.which("cargo") is None and not (Path.home() / ".cargo" / "bin" / "cargo").is_file():
        return "cargo is not installed"
    if not any(REGISTRY.glob("tokio-1.*")) or not any(REGISTRY.glob("futures-util-0.3.*")):
        return "needs Debian's crate sources: apt-get install -y librust-tokio-dev librust-futures-dev"
    return None


@pytest.mark.skipif(_runtime_missing() is not None, reason=_runtime_missing() or "")
def test_every_bundled_model_agrees_with_tokio(capsys: pytest.CaptureFixture[str]) -> None:
    """Builds every bundled model's program and runs it: HANG where the header says futurelock or
    deadlock (exact time), DONE where it says safe."""
    sys.path.insert(0, str(ROOT / "tools"))
    import runtime_check

    status = runtime_check.main(["-n", "0", "--seed", "1", "--dir", str(ROOT / ".runtime-check" / "pytest")])
    out = capsys.readouterr().out
    assert status == 0, out
    assert f"{len(MODEL_FILES)} passed, 0 failed" in out  # none refused: production.mc's replies too
    assert "is refused" not in out
    assert "soundness: 0 " in out
