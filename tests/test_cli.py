"""The command line: exit codes, the text trace, JSON output, limits, and the installed wheel."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import BUGS_DIR, MODELS, ROOT

from mcheck import symbolic, verify
from mcheck.budget import Budget
from mcheck.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_futurelock_exit_code_and_trace(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(MODELS / "rfd609.mc")
    code, out, _ = run(capsys, "verify", path, "--quiet")
    assert code == 1
    assert "futurelock found (time: untimed, runtime: multi-thread)" in out  # the default runtime, said
    assert "   1. task " in out  # numbered steps
    assert f"[{path}:25:13]" in out  # steps point at file:line:col ...
    assert "_ = sleep(10) => {" in out  # ... with the source line
    assert "polls `m.lock()` in `f1` [10:14]: `lock` is not available" in out  # futures polled inline
    assert "select! branch 2 (`sleep(10)`) wins" in out
    assert "stays alive but is no longer polled (dormant)" in out
    assert "Dormant future: `f1` in task main" in out
    assert "drop(f1);" in out and "spawn it as its own task" in out
    assert out.rstrip().splitlines()[-1].startswith("summary: futurelock;")


def test_safe_and_deadlock_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verify", str(MODELS / "rfd609_fix_owned.mc"), "--quiet")
    assert code == 0 and "safe (time: untimed, runtime: multi-thread)" in out
    code, out, _ = run(capsys, "verify", str(MODELS / "abba_deadlock.mc"), "--quiet")
    assert code == 1 and "deadlock: tasks" in out and "no future involved is left dormant" in out


def test_exact_time_mode(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(MODELS / "timing_exact_safe.mc")
    assert run(capsys, "verify", path, "--quiet")[0] == 1
    code, out, _ = run(capsys, "verify", path, "--quiet", "--time", "exact")
    assert code == 0 and "(time: exact, runtime: current-thread)" in out


def test_limits_are_inconclusive_never_safe(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verify", str(MODELS / "production_fix.mc"), "--quiet", "--max-states", "50")
    assert code == 3
    assert "inconclusive" in out and "--max-states 50" in out
    code, out, _ = run(capsys, "verify", str(MODELS / "production_fix.mc"), "--quiet", "--max-depth", "3")
    assert code == 3 and "--max-depth 3" in out


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verify", str(MODELS / "production.mc"), "--quiet", "--format", "json")
    assert code == 1
    doc = json.loads(out)
    assert doc["schema"] == "mcheck-result/1"
    assert doc["verdict"] == "futurelock" and doc["exit_code"] == 1 and doc["time"] == "untimed"
    assert set(doc["stats"]) == {"states", "transitions", "depth", "seconds", "peak_rss_mib"}
    stuck = doc["stuck"]
    assert stuck["kind"] == "futurelock"
    assert sorted(stuck["victims"]) == ["request[0]", "request[1]"]
    assert stuck["dormant_futures"][0]["future"] == "collection"
    assert stuck["dormant_futures"][0]["location"]["line"] == 77
    assert stuck["resources"] == ["claims"]
    assert any(link["kind"] == "return" for link in stuck["cycle"])
    steps = doc["trace"]
    assert [s["step"] for s in steps] == list(range(1, len(steps) + 1))
    assert 0 < doc["first_stuck_step"] <= len(steps)
    assert all(s["location"] is None or s["location"]["file"].endswith("production.mc") for s in steps)
    code, out, _ = run(capsys, "verify", str(MODELS / "rfd609_fix_owned.mc"), "--quiet", "--format", "json")
    assert code == 0 and json.loads(out)["verdict"] == "safe" and "trace" not in json.loads(out)


def test_progress_goes_to_stderr_not_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "verify", str(MODELS / "rfd609.mc"))
    assert code == 1 and "mcheck:" not in out
    assert "Traceback" not in err


def test_bad_option_value_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["verify", str(MODELS / "rfd609.mc"), "--max-states", "0"])
    assert exc.value.code == 2
    assert "expected a positive integer" in capsys.readouterr().err


def test_engine_z3_finds_the_same_trace_length_and_proves_safe_models(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verify", str(MODELS / "rfd609.mc"), "--quiet", "--engine", "z3", "--runtime",
                       "current-thread")
    assert code == 1 and "futurelock found (time: untimed, runtime: current-thread), shortest trace: 4 steps" in out
    assert "Dormant future: `f1` in task main" in out
    assert out.rstrip().splitlines()[-1].endswith("engine z3")
    code, out, _ = run(capsys, "verify", str(MODELS / "rfd609_fix_owned.mc"), "--quiet", "--engine", "z3")
    assert code == 0
    assert re.search(r"rfd609_fix_owned.mc: safe \(proved; inductive invariant with \d+ clauses\) "
                     r"\(time: untimed, runtime: multi-thread\)", out)
    assert "Inductive invariant" not in out


def test_show_invariant_prints_it_in_the_models_names(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verify", str(MODELS / "rfd609_fix_owned.mc"), "--quiet", "--engine", "z3",
                       "--show-invariant")
    assert code == 0
    found = re.search(r"inductive invariant with (\d+) clauses", out)
    assert found is not None
    clauses = [line for line in out.splitlines() if re.match(r"\s+\d+\. ", line)]
    assert len(clauses) == int(found.group(1))
    assert any("main:main#" in c and " != " in c for c in clauses)  # VarDecl names, not v11
    code, out, _ = run(capsys, "verify", str(MODELS / "rfd609_fix_owned.mc"), "--quiet", "--engine", "z3",
                       "--show-invariant", "--format", "json")
    doc = json.loads(out)
    assert doc["engine"] == "z3" and doc["verdict"] == "safe"
    assert doc["proof"]["status"].startswith("safe (proved; inductive invariant with ")
    assert doc["proof"]["clauses"] == len(doc["proof"]["invariant"]) == int(found.group(1))


def test_engine_both_cross_checks(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verify", str(MODELS / "production.mc"), "--quiet", "--engine", "both",
                       "--runtime", "current-thread")
    assert code == 1 and "futurelock found (time: untimed, runtime: current-thread), shortest trace: 9 steps" in out
    assert "note: z3: futurelock, first stuck state after 5 steps" in out
    assert out.rstrip().splitlines()[-1].endswith("engine both")
    code, out, _ = run(capsys, "verify", str(MODELS / "rfd609_fix_owned.mc"), "--quiet", "--engine", "both",
                       "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["engine"] == "both" and doc["proof"]["clauses"] > 0
    assert doc["notes"][0].startswith("z3: safe (inductive invariant with ")


def test_engines_that_disagree_exit_4(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    real = symbolic.search

    def wrong(*args: object, **kwargs: object) -> symbolic.SymbolicResult:
        return dataclasses.replace(real(*args, **kwargs), outcome=symbolic.Outcome.PROVED)  # type: ignore[arg-type]

    monkeypatch.setattr(symbolic, "search", wrong)
    code, out, err = run(capsys, "verify", str(MODELS / "rfd609.mc"), "--quiet", "--engine", "both")
    assert code == 4 and out == ""
    assert err.startswith("mcheck: internal error: the engines disagree")


def test_z3_timeout_is_inconclusive(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verify", str(MODELS / "production_fix.mc"), "--quiet", "--engine", "z3",
                       "--timeout", "0.5")
    # How deep BMC gets in what is left of half a second depends on the machine (on a busy one the
    # time may run out before z3 has checked a depth, or before it starts); the bound is named either way.
    assert code == 3
    assert re.search(r"inconclusive \(time: untimed, runtime: multi-thread\): (no stuck state up to depth \d+|no depth checked) "
                     r"\(no proof within --timeout 0\.5 s; BMC stopped by --timeout 0\.5 s\)", out) \
        or re.search(r"inconclusive \(time: untimed(, runtime: multi-thread)?\): --timeout 0\.5 s reached while "
                     r"(checking the model|compiling|generating code|running the z3 engine)\.", out), out
    with pytest.raises(SystemExit) as exc:
        main(["verify", str(MODELS / "rfd609.mc"), "--engine", "z3", "--timeout", "0"])
    assert exc.value.code == 2
    assert "expected a positive number of seconds" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git to copy the tree")
def test_wheel_verifies_a_model_from_another_directory(tmp_path: Path) -> None:
    """`pip wheel .` must carry the grammar: install it in a fresh venv, run it elsewhere."""
    wheel_dir = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                    "-w", str(wheel_dir), str(ROOT)], check=True, cwd=tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    wheel = next(wheel_dir.glob("mcheck-*.whl"))
    subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheel)], check=True)  # with lark and z3-solver
    model = tmp_path / "m.mc"
    model.write_text((MODELS / "rfd609.mc").read_text())
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([str(venv / "bin" / "mcheck"), "verify", "m.mc", "--quiet"], cwd=tmp_path,
                          capture_output=True, text=True, env=env)
    assert "futurelock found" in proc.stdout, proc.stderr
    assert proc.returncode == 1
    location = subprocess.run([str(py), "-c", "import mcheck; print(mcheck.__file__)"], cwd=tmp_path,
                              capture_output=True, text=True, env=env).stdout
    assert str(venv) in location  # the installed package, not the source tree


# ---- a run's bounds and what it says when it crashes (issue: never crash, never hang, never mislead)


def test_an_unexpected_exception_is_exit_4_in_one_line(capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Never a traceback and never exit 1 (which means a confirmed stuck state)."""
    def broken(*_: object, **__: object) -> None:
        raise KeyError("slot 7")

    monkeypatch.setattr(verify, "explain", broken)
    code, out, err = run(capsys, "verify", str(MODELS / "rfd609.mc"), "--quiet")
    assert code == 4 and out == ""
    assert err == "mcheck: internal error: KeyError: 'slot 7'; please report it with the model\n"


def test_running_out_of_memory_anywhere_is_inconclusive(capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def no_memory(*_: object, **__: object) -> None:
        raise MemoryError

    monkeypatch.setattr(verify, "compile_program", no_memory)
    code, out, _ = run(capsys, "verify", str(MODELS / "rfd609.mc"), "--quiet")
    assert code == 3
    assert out.startswith(f"{MODELS / 'rfd609.mc'}: inconclusive (time: untimed): out of memory while compiling.")


def test_the_search_stops_at_max_memory_with_what_it_explored(capsys: pytest.CaptureFixture[str]) -> None:
    from mcheck.budget import rss_mib

    limit = int(rss_mib() + 40)  # what the process uses now, plus room for a few hundred thousand states
    code, out, _ = run(capsys, "verify", str(BUGS_DIR / "state_explosion.mc"), "--quiet", "--no-symmetry",
                       "--max-memory", f"{limit}M")
    assert code == 3
    m = re.search(rf"inconclusive \(time: untimed, runtime: multi-thread\): --max-memory {limit:,} MiB reached "
                  rf"before the search ended\.\n"
                  r"summary: inconclusive; (\d+) states", out)
    assert m and int(m.group(1)) > 1000, out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ulimit -v and /proc are Linux's")
def test_an_address_space_limit_lowers_the_default_memory_bound() -> None:
    """Under `ulimit -v` the search stops inconclusive at 75% of the limit, before an allocation
    fails: a child process with a 200 MB limit explores what fits, then says which bound stopped it."""
    code = ("import resource; resource.setrlimit(resource.RLIMIT_AS, (200_000 * 1024, resource.RLIM_INFINITY)); "
            "from mcheck.budget import default_max_memory_mib; print(round(default_max_memory_mib()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == str(round(200_000 / 1024 * 0.75))
    cmd = ["bash", "-c", f"ulimit -v 200000 && exec {sys.executable} -m mcheck verify --quiet "
                         f"{BUGS_DIR / 'state_explosion.mc'} --max-states 3000000"]
    run_ = subprocess.run(cmd, capture_output=True, text=True)
    assert run_.returncode == 3, run_.stdout + run_.stderr
    assert "--max-memory 146 MiB reached before the search ended." in run_.stdout
    assert "Traceback" not in run_.stderr


def test_timeout_names_the_phase_it_stopped(capsys: pytest.CaptureFixture[str]) -> None:
    """--timeout bounds every phase, not only the search."""
    code, out, _ = run(capsys, "verify", str(BUGS_DIR / "state_explosion.mc"), "--quiet", "--timeout", "1")
    assert code == 3
    assert re.search(r"inconclusive \(time: untimed, runtime: multi-thread\): --timeout 1 s reached before the search ended\.\n"
                     r"summary: inconclusive; \d+ states", out), out
    def compiling_forever(program: object, source: object, time_mode: object, budget: Budget, *rest: object) -> None:
        while True:
            budget.check()

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(verify, "compile_program", compiling_forever)
        code, out, _ = run(capsys, "verify", str(MODELS / "rfd609.mc"), "--quiet", "--timeout", "0.2")
    assert code == 3
    assert out.startswith(f"{MODELS / 'rfd609.mc'}: inconclusive (time: untimed): --timeout 0.2 s reached while compiling.")
    # A phase that does not look at the clock itself (the parser) is stopped by an alarm.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(verify, "parse_module", lambda source: time.sleep(30))
        code, out, _ = run(capsys, "verify", str(MODELS / "rfd609.mc"), "--quiet", "--timeout", "0.2")
    assert code == 3 and "--timeout 0.2 s reached while parsing." in out
    for engine in ("bfs", "z3"):  # an absurd timeout is as good as none (it once overflowed)
        code, out, _ = run(capsys, "verify", str(MODELS / "rfd609.mc"), "--quiet", "--timeout", "1e308", "--engine", engine)
        assert code == 1 and "futurelock found" in out


def test_budget_phases_raise_with_the_phase_named() -> None:
    from mcheck.budget import Budget, OutOfBudget, Phase

    budget = Budget(timeout=1e-9)
    with pytest.raises(OutOfBudget, match=r"^--timeout 1e-09 s reached while compiling$"):
        budget.enter(Phase.COMPILE)
    budget = Budget(max_memory_mib=1)
    budget.enter(Phase.PARSE)  # memory is read on one check in MEMORY_CHECK_EVERY
    with pytest.raises(OutOfBudget, match=r"^--max-memory 1 MiB reached while parsing$"):
        for _ in range(100):
            budget.check()


def test_the_victim_search_obeys_max_states_and_is_in_the_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verify", str(BUGS_DIR / "saturation_ignores_max_states.mc"), "--quiet",
                       "--no-symmetry", "--max-states", "10", "--runtime", "current-thread")
    assert code == 1
    assert re.search(r"; victim search \d+ states, [\d.]+ s, stopped by --max-states 10; engine bfs$", out.rstrip()), out
    code, out, _ = run(capsys, "verify", str(BUGS_DIR / "saturation_ignores_max_states.mc"), "--quiet",
                       "--format", "json", "--no-symmetry", "--max-states", "10", "--runtime", "current-thread")
    doc = json.loads(out)
    assert doc["victim_search"]["stopped_by"] == "--max-states 10" and doc["victim_search"]["states"] < 100


@pytest.mark.parametrize("tty", [False, True], ids=["plain", "terminal"])
def test_progress_reports_a_slow_phase(tty: bool) -> None:
    from mcheck.budget import Budget, Phase
    from mcheck.cli import _ProgressLine

    class Err(io.StringIO):
        def isatty(self) -> bool:
            return tty

    budget = Budget()
    budget.enter(Phase.COMPILE, "task main")
    budget.phase_start -= 2.0  # the phase has taken two seconds
    err = Err()
    with _ProgressLine(budget, err):
        time.sleep(0.6)
    text = err.getvalue()
    if tty:  # one updating line, cleared at the end
        assert text.startswith("\rmcheck: compiling: task main (2 s)\x1b[K") and text.endswith("\r\x1b[K"), text
    else:  # plain lines, at most one every few seconds
        assert text == "mcheck: compiling: task main (2 s)\n", text
    budget.enter(Phase.SEARCH, "12 states")  # a phase under a second is not reported
    err = Err()
    with _ProgressLine(budget, err):
        time.sleep(0.6)
    assert err.getvalue() == ""


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--timeout", "inf", "expected a positive number of seconds"),
    ("--timeout", "nan", "expected a positive number of seconds"),
    ("--max-memory", "lots", "expected a size such as 4096, 512M or 2G"),
    ("--max-size", "0", "expected a positive size"),
    ("--z3-rlimit", "-5", "expected a positive integer"),
])
def test_bad_bounds_are_usage_errors(capsys: pytest.CaptureFixture[str], flag: str, value: str, message: str) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["verify", str(MODELS / "rfd609.mc"), flag, value])
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_the_runtime_flag_header_and_their_conflicts(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """docs/language.md, Runtimes: --runtime, the `// runtime:` header, and exact time only on current-thread."""
    model = MODELS / "multi_thread_select_send.mc"
    code, out, _ = run(capsys, "verify", str(model), "--quiet")
    assert code == 1 and "deadlock found (time: untimed, runtime: multi-thread)" in out
    code, out, _ = run(capsys, "verify", str(model), "--quiet", "--runtime", "current-thread")
    assert code == 0 and "safe (time: untimed, runtime: current-thread)" in out
    code, out, _ = run(capsys, "verify", str(model), "--quiet", "--time", "exact")
    assert code == 0 and "(time: exact, runtime: current-thread)" in out
    code, _, err = run(capsys, "verify", str(model), "--quiet", "--time", "exact", "--runtime", "multi-thread")
    assert code == 2 and "--runtime multi-thread cannot be used with --time exact" in err
    one = tmp_path / "one.mc"
    one.write_text("// runtime: current-thread\n" + model.read_text())
    code, out, _ = run(capsys, "verify", str(one), "--quiet")
    assert code == 0 and "runtime: current-thread" in out  # the header chooses
    code, out, _ = run(capsys, "verify", str(one), "--quiet", "--runtime", "multi-thread")
    assert code == 1 and "runtime: multi-thread" in out  # the flag wins over the header
    many = tmp_path / "many.mc"
    many.write_text("// runtime: multi-thread\n" + model.read_text())
    code, _, err = run(capsys, "verify", str(many), "--quiet", "--time", "exact")
    assert code == 2 and f"{many}:1:13: error: this model runs on the multi-thread runtime" in err
    bad = tmp_path / "bad.mc"
    bad.write_text("// runtime: green-threads\ntask main { sleep(1).await; }\n")
    code, _, err = run(capsys, "verify", str(bad), "--quiet")
    assert code == 2 and f"{bad}:1:13: error: unknown runtime 'green-threads'" in err


def test_a_stuck_state_found_in_time_is_reported_when_the_deadline_passes_before_the_victims(
        capsys: pytest.CaptureFixture[str]) -> None:
    """The deadline passing just after the search found a stuck state (seen with generated models
    and a small --timeout): the stuck state is the answer (exit 1); the victim search stops itself.
    It once ended the run inconclusive (exit 3) 'while searching for victims'."""
    from mcheck.budget import Phase

    class ExpiresAfterTheSearch(Budget):
        def enter(self, phase: Phase, *args: object, **kwargs: object) -> None:
            if phase is Phase.VICTIMS:
                self.deadline = time.monotonic() - 1.0
            super().enter(phase, *args, **kwargs)  # type: ignore[arg-type]

    from mcheck.model import TimeMode
    from mcheck.trace import Status

    model = verify.load(verify.read_source(str(MODELS / "rfd609.mc")), TimeMode.UNTIMED, runtime="current-thread")
    result = verify.check(model, budget=ExpiresAfterTheSearch(timeout=60.0))
    assert result.status is Status.FUTURELOCK
    assert result.trace is not None and result.trace.first_stuck == 4
    # The victim search, past the deadline, stops at once and says so.
    assert result.victims is not None and result.victims.stopped == "--timeout 60 s" and result.victims.states <= 2


def _parse_in_a_new_process(cache: Path) -> subprocess.CompletedProcess[str]:
    code = ("from mcheck.parse import parse_module; from mcheck.source import Source; "
            "print(len(parse_module(Source('m.mc', 'task main { sleep(1).await; }')).items))")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "XDG_CACHE_HOME": str(cache)})


def test_the_parser_tables_are_kept_between_runs_and_rebuilt_when_unreadable(tmp_path: Path) -> None:
    """parse._tables_file: the first run writes lark's tables under the cache directory, a later
    run reads them, and a file that is not lark's is rebuilt, silently, with the same parse."""
    tables = tmp_path / "mcheck" / "grammar.lark-tables"
    first = _parse_in_a_new_process(tmp_path)
    assert (first.returncode, first.stdout, first.stderr) == (0, "1\n", "") and tables.stat().st_size > 1000
    tables.write_bytes(b"not lark's tables\n")
    again = _parse_in_a_new_process(tmp_path)
    assert (again.returncode, again.stdout, again.stderr) == (0, "1\n", "") and tables.stat().st_size > 1000
