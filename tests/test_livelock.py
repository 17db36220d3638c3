"""The starvation search (mcheck/livelock.py, `mcheck verify --starvation`): a task that waits for
ever while another task loops, which no stuck state shows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import compile_text

from mcheck.budget import OutOfBudget
from mcheck.cli import main
from mcheck.evaluate import compile_system
from mcheck.livelock import _bottom_components, find_starvation
from mcheck.model import TimeMode
from mcheck.render_starvation import entry_state, waits

# main's second send waits for room; spinner, the only receiver, forgets `n += 1` and loops for ever.
SPINNER = """
let ch = channel(1);
task spinner {
    let mut n = 0;
    while n < 3 {
        sleep(5).await;
    }
    ch.recv().await;
}
task main {
    ch.send().await;
    ch.send().await;
}
"""
# The loop counts: spinner receives after three rounds.
COUNTED = SPINNER.replace("sleep(5).await;", "sleep(5).await;\n        n += 1;")
# The loop may end in any round: a cycle, but one the run can leave, so not starvation.
MAY_LEAVE = SPINNER.replace("while n < 3", "while choose()")


@pytest.mark.parametrize("time", list(TimeMode))
def test_a_task_behind_an_endless_loop_is_starved(time: TimeMode) -> None:
    model = compile_text(SPINNER, time)
    found = find_starvation(model, compile_system(model.ts))
    assert found is not None
    assert found.starved == ("main",)
    assert "spinner" in found.running and "main" not in found.running
    # the run into the cycle ends where main is queued on its second send
    assert waits(model, "main", entry_state(found)) == ["`ch.send()` [test.mc:12:5]"]


@pytest.mark.parametrize("text", [COUNTED, MAY_LEAVE], ids=["loop counts", "loop may end"])
@pytest.mark.parametrize("time", list(TimeMode))
def test_no_starvation_where_the_loop_ends_or_may(text: str, time: TimeMode) -> None:
    model = compile_text(text, time)
    assert find_starvation(model, compile_system(model.ts)) is None


def test_only_components_with_no_way_out_count() -> None:
    # 0 -> {1, 3}; 1 <-> 2 (closed); 3 -> 4 -> 3 with 4 -> 5 (an exit); 5 stays
    succ = [[(0, 1), (0, 3)], [(0, 2)], [(0, 1)], [(0, 4)], [(0, 3), (0, 5)], [(0, 5)]]
    assert [sorted(c) for c in _bottom_components(succ)] == [[1, 2], [5]]


def test_graph_bound_ends_the_search(tmp_path: Path) -> None:
    model = compile_text(COUNTED, TimeMode.UNTIMED)
    with pytest.raises(OutOfBudget, match="--max-states 5"):
        find_starvation(model, compile_system(model.ts), max_states=5)


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["verify", "--quiet", *args])
    return code, capsys.readouterr().out


def test_cli_reports_starvation_only_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "spinner.mc"
    path.write_text(SPINNER)
    code, out = _run(capsys, "--time", "exact", str(path))
    assert code == 0 and ": safe (time: exact" in out
    code, out = _run(capsys, "--time", "exact", "--starvation", str(path))
    assert code == 1
    assert "starvation found (time: exact, runtime: current-thread): no state is stuck, but main never runs again" in out
    assert f"Task main waits for ever at `ch.send()` [{path}:12:5]." in out
    assert "only task spinner and the clock step in it" in out
    assert out.rstrip().splitlines()[-1].startswith("summary: starvation; ")
    code, out = _run(capsys, "--time", "exact", "--starvation", "--format", "json", str(path))
    doc = json.loads(out)
    assert (code, doc["verdict"], doc["exit_code"]) == (1, "starvation", 1)
    assert doc["starvation"]["starved_tasks"] == ["main"]
    assert doc["starvation"]["waiting_at"]["main"] == [f"`ch.send()` [{path}:12:5]"]


def test_report_names_the_dormant_future_behind_the_loop(capsys: pytest.CaptureFixture[str]) -> None:
    # t9 loops for ever inside a select! arm; its set7 was handed rw4's write lock and is dormant.
    path = Path(__file__).parent / "runtime_regressions" / "g_30187.mc"
    code, out = _run(capsys, "--time", "exact", "--starvation", str(path))
    assert code == 1
    assert f"Task t17 waits for ever at `x.write()` in `work6(rw4, 1)` [{path}:11:47]." in out
    assert f"  It waits behind `set7` ({path}:13:1), dormant in task t9, which goes round without polling" in out
    code, out = _run(capsys, "--time", "exact", "--starvation", "--format", "json", str(path))
    assert json.loads(out)["starvation"]["dormant_behind"]["t17"] == ["set7"]


def test_html_report_shows_the_starvation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "spinner.mc"
    path.write_text(SPINNER)
    page = tmp_path / "report.html"
    code, _ = _run(capsys, "--time", "exact", "--starvation", "--html", str(page), str(path))
    text = page.read_text()
    assert code == 1 and 'id="verdict">starvation<' in text
    assert "Task main waits for ever at `ch.send()`" in text
    assert '<li id="L12" class="hit">' in text  # the send main never leaves


def test_sarif_has_a_starvation_result(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "spinner.mc"
    path.write_text(SPINNER)
    code, out = _run(capsys, "--time", "exact", "--starvation", "--format", "sarif", str(path))
    run = json.loads(out)["runs"][0]
    (res,) = run["results"]
    assert code == 1 and run["invocations"][0]["exitCode"] == 1
    assert run["tool"]["driver"]["rules"][res["ruleIndex"]]["id"] == res["ruleId"] == "starvation"
    region = res["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (12, 5)  # main's second send
    assert res["properties"]["starvedTasks"] == ["main"]


def test_cli_starvation_search_bounded_by_max_states(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Three copies of the sender: the search keeps one state per symmetry class, the starvation
    # search every state (2,107 here against 425), so a bound can stop the second alone.
    path = tmp_path / "counted.mc"
    path.write_text(COUNTED.replace("task main {", "task sender[3] {"))
    code, out = _run(capsys, "--starvation", "--max-states", "3000", str(path))
    assert code == 0 and ": safe (" in out
    code, out = _run(capsys, "--starvation", "--max-states", "1000", str(path))
    assert code == 3 and "--max-states 1000 reached while searching for starvation" in out
