"""Many models per run, the worst exit code, JSON for bad input, --version and the help text."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import MODELS, ROOT

from mcheck.cli import main
from mcheck.runs import SEVERITY, model_paths, worst


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([*args, "--quiet"])
    out, err = capsys.readouterr()
    return code, out, err


BAD = "// expect: safe\nlet m = Mutex::new();\ntask main {\n    let _g = n.lock().await;\n}\n"


def test_worst_exit_order() -> None:
    """NOTE(worst-exit): internal error > bad input > stuck > inconclusive > safe."""
    assert SEVERITY == (0, 3, 1, 2, 4)
    assert worst([0, 3]) == 3 and worst([3, 1]) == 1 and worst([1, 2, 3]) == 2 and worst([2, 4, 0]) == 4
    assert worst([]) == 0


def test_directories_expand_to_every_model_below_them_once(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    for name in ("z.mc", "a.mc", "b/c.mc", "notes.txt"):
        (tmp_path / name).write_text("")
    got = model_paths([str(tmp_path), str(tmp_path / "a.mc")])
    assert got == [str(tmp_path / "a.mc"), str(tmp_path / "b" / "c.mc"), str(tmp_path / "z.mc")]
    assert model_paths([str(tmp_path / "notes.txt")]) == [str(tmp_path / "notes.txt")]  # a file named is read


def test_many_models_one_result_each_and_a_summary(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.mc"
    bad.write_text(BAD)
    models = [str(MODELS / "rfd609.mc"), str(MODELS / "rfd609_fix_owned.mc"), str(bad)]
    code, out, err = run(capsys, "verify", *models)
    assert code == 2  # the worst: bad input
    assert f"{models[0]}: futurelock found (time: untimed, runtime: multi-thread), shortest trace: 13 steps" in out
    assert f"{models[1]}: safe (time: untimed, runtime: multi-thread)" in out
    assert f"{bad}:4:14: error: unknown name 'n'" in err  # diagnostics on stderr, located
    summary = out[out.index("summary: 3 models"):].splitlines()
    assert summary[1].split() == ["model", "verdict", "steps", "states", "seconds", "exit"]
    rows = {line.split()[0]: line.split() for line in summary[3:6]}
    assert rows[models[0]][1:4] == ["futurelock", "13", "82"] and rows[models[0]][-1] == "1"
    assert rows[models[1]][1] == "safe" and rows[models[1]][-1] == "0"
    assert rows[str(bad)][1:3] == ["bad", "input"] and rows[str(bad)][-1] == "2"
    assert summary[6].startswith("exit 2 (the worst of the models'")
    one = ("--max-states", "50", "--runtime", "current-thread")  # rfd609's futurelock within 50 states
    code, out, _ = run(capsys, "verify", models[1], str(MODELS / "production_fix.mc"), *one)
    assert code == 3  # inconclusive outranks safe
    code, out, _ = run(capsys, "verify", models[0], str(MODELS / "production_fix.mc"), *one)
    assert code == 1  # a confirmed hang outranks inconclusive


def test_timeout_is_per_model(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Each model gets the whole --timeout: two models that each compile for 0.6 s both finish
    within --timeout 1 (one budget for the command would stop the second)."""
    import time

    from mcheck import verify

    real = verify.compile_program

    def slow(*args: object, **kwargs: object) -> object:
        time.sleep(0.6)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(verify, "compile_program", slow)
    code, out, _ = run(capsys, "verify", str(MODELS / "rfd609.mc"), str(MODELS / "rfd609_fix_owned.mc"), "--timeout", "1")
    assert "rfd609.mc: futurelock found" in out and "rfd609_fix_owned.mc: safe" in out, out
    assert code == 1


def test_json_for_many_models_is_one_document_listing_each(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.mc"
    bad.write_text(BAD)
    code, out, _ = run(capsys, "verify", str(MODELS / "rfd609.mc"), str(bad), "--format", "json")
    doc = json.loads(out)
    assert code == 2 and doc["schema"] == "mcheck-results/1" and doc["exit_code"] == 2
    first, second = doc["results"]
    assert first["schema"] == "mcheck-result/1" and first["verdict"] == "futurelock" and first["exit_code"] == 1
    assert second["verdict"] is None and second["exit_code"] == 2 and second["model"] == str(bad)
    (error,) = second["errors"]
    assert error["severity"] == "error" and error["message"].startswith("unknown name 'n'")
    assert error["span"] == {"file": str(bad), "line": 4, "column": 14, "end_line": 4, "end_column": 15}
    assert error["source"] == "let _g = n.lock().await;"


def test_json_for_one_model_keeps_its_shape(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "verify", str(MODELS / "rfd609.mc"), "--format", "json")
    doc = json.loads(out)
    assert code == 1 and doc["schema"] == "mcheck-result/1" and "results" not in doc and doc["trace"]
    # A directory is always a list, even of one model: its shape does not depend on what is in it.
    (tmp_path / "only.mc").write_text((MODELS / "rfd609.mc").read_text())
    code, out, _ = run(capsys, "verify", str(tmp_path), "--format", "json")
    doc = json.loads(out)
    assert code == 1 and doc["schema"] == "mcheck-results/1" and len(doc["results"]) == 1
    code, out, _ = run(capsys, "verify", str(tmp_path))
    assert "summary: 1 model\n" in out


def test_json_for_bad_input_has_the_diagnostic_with_its_notes(capsys: pytest.CaptureFixture[str],
                                                              tmp_path: Path) -> None:
    path = tmp_path / "dup.mc"
    path.write_text("let m = Mutex::new();\nlet m = Mutex::new();\ntask main { yield_now().await; }\n")
    code, out, err = run(capsys, "verify", str(path), "--format", "json")
    assert code == 2
    assert f"{path}:2:1: error: 'm' is declared twice" in err  # stderr still says it for people
    doc = json.loads(out)
    assert doc["verdict"] is None and doc["exit_code"] == 2 and doc["time"] == "untimed"
    (error,) = doc["errors"]
    assert error["span"]["line"] == 2 and error["span"]["column"] == 1
    (note,) = error["notes"]
    assert note["severity"] == "note" and note["span"]["line"] == 1
    code, out, _ = run(capsys, "verify", str(tmp_path / "missing.mc"), "--format", "json")
    doc = json.loads(out)
    assert code == 2 and doc["errors"][0]["span"] is None
    assert doc["errors"][0]["message"].startswith(f"cannot read model '{tmp_path / 'missing.mc'}'")


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert re.fullmatch(r"mcheck \d+\.\d+\.\d+\S*\n", capsys.readouterr().out)
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    text = capsys.readouterr().out
    assert "mcheck verify models/rfd609.mc" in text and "docs/language.md" in text
    assert "--timeout and --max-memory bound each model" in text
    assert re.search(r"--timeout SECONDS\s+bound the run of each model", text)
    for fmt in ("text", "json", "sarif"):
        assert fmt in text


def test_python_m_mcheck_version() -> None:
    proc = subprocess.run([sys.executable, "-m", "mcheck", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0 and proc.stdout.startswith("mcheck ")
