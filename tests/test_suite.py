"""`mcheck test`: each model against its `// expect:` / `// expect-exact:` headers, both time modes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import MODELS

from mcheck import suite
from mcheck.cli import main
from mcheck.model import TimeMode
from mcheck.runs import Options


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["test", *args, "--quiet"])
    out, err = capsys.readouterr()
    return code, out, err


def _suite(tmp_path: Path, bad: bool = False, wrong: bool = False) -> Path:
    d = tmp_path / "suite"
    (d / "sub").mkdir(parents=True)
    (d / "rfd609.mc").write_text((MODELS / "rfd609.mc").read_text())
    (d / "sub" / "timing.mc").write_text((MODELS / "timing_exact_safe.mc").read_text())  # futurelock; exact: safe
    if wrong:
        (d / "wrong.mc").write_text((MODELS / "rfd609.mc").read_text().replace("// expect: futurelock",
                                                                               "// expect: safe"))
        (d / "noheader.mc").write_text((MODELS / "rfd609_fix_owned.mc").read_text().replace("// expect: safe\n", ""))
    if bad:
        (d / "bad.mc").write_text("// expect: safe\ntask main { nothing(); }\n")
    return d


def _table(out: str) -> dict[tuple[str, str], list[str]]:
    lines = out.splitlines()
    assert lines[0].split() == ["model", "mode", "runtime", "expected", "got", "trace", "states", "seconds", "result"]
    rows = {}
    for line in lines[2:]:
        if not line.strip():
            break
        cells = line.split()
        rows[(Path(cells[0]).name, cells[1])] = cells[3:]
        assert cells[2] == ("current-thread" if cells[1] == "exact" else "multi-thread") or cells[2] == "-"
    return rows


def test_every_model_in_both_modes_passes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    d = _suite(tmp_path)
    code, out, _ = run(capsys, str(d))
    assert code == 0, out
    rows = _table(out)
    assert set(rows) == {("rfd609.mc", "untimed"), ("rfd609.mc", "exact"), ("timing.mc", "untimed"),
                         ("timing.mc", "exact")}
    assert rows[("rfd609.mc", "untimed")][:3] == ["futurelock", "futurelock", "13"]
    assert rows[("timing.mc", "exact")][:3] == ["safe", "safe", "-"]  # the expect-exact header
    assert rows[("timing.mc", "untimed")][:2] == ["futurelock", "futurelock"]
    assert all(r[-1] == "PASS" for r in rows.values())
    assert out.rstrip().endswith("mcheck test: 4 cases, 4 passed, 0 mismatched, 0 errors; exit 0")


def test_a_mismatch_exits_1_and_says_where_the_header_is(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    d = _suite(tmp_path, wrong=True)
    code, out, _ = run(capsys, str(d), "--time", "untimed")
    assert code == 1
    rows = _table(out)
    assert rows[("wrong.mc", "untimed")] == ["safe", "futurelock", "13", "82", rows[("wrong.mc", "untimed")][4],
                                             "MISMATCH"]
    assert rows[("noheader.mc", "untimed")][0] == "-" and rows[("noheader.mc", "untimed")][-1] == "MISMATCH"
    assert (f"MISMATCH {d / 'wrong.mc'} (untimed, multi-thread): expected safe, got futurelock "
            f"(header at {d / 'wrong.mc'}:3:12)") in out
    assert f"MISMATCH {d / 'noheader.mc'} (untimed, multi-thread): the model has no `// expect:` header" in out
    assert "2 passed, 2 mismatched, 0 errors; exit 1" in out


def test_a_bad_model_is_an_error_and_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    d = _suite(tmp_path, bad=True, wrong=True)
    code, out, err = run(capsys, str(d))
    assert code == 2  # bad input outranks a mismatch (NOTE(worst-exit))
    assert _table(out)[("bad.mc", "exact")][1:3] == ["bad", "input"]
    assert f"{d / 'bad.mc'}:2:13: error:" in err


def test_an_inconclusive_case_never_passes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(MODELS / "production_fix.mc"), "--max-states", "20", "--time", "exact")
    assert code == 1 and "expected safe, got inconclusive (--max-states 20 reached before the search ended)" in out


def test_default_is_models_in_the_current_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys)
    assert code == 2 and "no 'models/' directory here" in err
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "m.mc").write_text((MODELS / "rfd609_fix_owned.mc").read_text())
    code, out, _ = run(capsys)
    assert code == 0 and os.path.join("models", "m.mc") in out


def test_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    d = _suite(tmp_path, wrong=True)
    code, out, _ = run(capsys, str(d), "--format", "json")
    doc = json.loads(out)
    assert code == 1 and doc["schema"] == "mcheck-test/1" and doc["exit_code"] == 1
    assert (doc["cases"], doc["passed"], doc["mismatched"], doc["errors"]) == (8, 4, 4, 0)
    wrong = next(r for r in doc["results"] if r["model"].endswith("wrong.mc") and r["time"] == "exact")
    assert wrong["expected"] == "safe" and wrong["got"] == "futurelock" and wrong["status"] == "mismatch"
    assert wrong["header"]["line"] == 3 and wrong["trace_length"] == 6  # exact time: 6 steps
    assert wrong["result"]["schema"] == "mcheck-result/1" and wrong["result"]["verdict"] == "futurelock"


def test_html_reports_for_every_case_and_an_index(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    d = _suite(tmp_path)
    out_dir = tmp_path / "reports"
    code, _, _ = run(capsys, str(d), "--html", str(out_dir), "--dot", str(tmp_path / "dots"))
    assert code == 0
    pages = sorted(p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*.html"))
    prefix = d.relative_to(d.anchor).as_posix()
    assert pages == sorted(["index.html", f"{prefix}/rfd609.untimed.html", f"{prefix}/rfd609.exact.html",
                            f"{prefix}/sub/timing.untimed.html", f"{prefix}/sub/timing.exact.html"])
    index = (out_dir / "index.html").read_text()
    assert f'href="{prefix}/sub/timing.exact.html"' in index
    assert len(list((tmp_path / "dots").rglob("*.dot"))) == 4


def test_run_case_is_what_the_project_suite_calls() -> None:
    case = suite.run_case(str(MODELS / "timing_exact_safe.mc"), TimeMode.EXACT, Options())
    assert case.status is suite.CaseStatus.PASS and case.expected is not None and case.expected.value == "safe"
    assert case.header is not None and case.header.line == 4


def test_a_verdict_per_runtime_is_a_case_of_its_own(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """`// expect-current-thread:` beside `// expect:` (the default, multi-thread): both untimed
    runtimes are checked, each against its header, with reports of their own."""
    code, out, _ = run(capsys, str(MODELS / "multi_thread_select_send.mc"), "--html", str(tmp_path / "r"))
    assert code == 0, out
    lines = [line.split() for line in out.splitlines()[2:5]]
    assert [(c[1], c[2], c[3], c[4]) for c in lines] == [("untimed", "multi-thread", "deadlock", "deadlock"),
                                                         ("untimed", "current-thread", "safe", "safe"),
                                                         ("exact", "current-thread", "safe", "safe")]
    pages = sorted(p.name for p in (tmp_path / "r").rglob("*.html"))
    assert pages == ["index.html", "multi_thread_select_send.exact.html",
                     "multi_thread_select_send.untimed.current-thread.html", "multi_thread_select_send.untimed.html"]
    code, out, _ = run(capsys, str(MODELS / "multi_thread_select_send.mc"), "--runtime", "current-thread")
    assert code == 0 and "2 cases, 2 passed" in out  # asked for one runtime: only that one, untimed

