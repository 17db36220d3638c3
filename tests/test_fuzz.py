"""Fuzzing the command line (issue 8: never crash, never hang, never mislead).

Thousands of inputs per run, each written to a file and run through `mcheck.cli.main` in this
process with a small --timeout and --max-states: mutations of the bundled models and of the
inputs in tests/hostile/ (tokens deleted, duplicated, swapped or replaced, numbers made huge, zero
or negative, lines spliced in from another model, deep nesting, bad bytes), truncations, token
soup from the grammar's words, and models from tests/modelgen.py. Every run must pass
tests/cleanrun.py's `problems`: exit 0-3, no traceback, exit 2 with `file:line:col`, the verdict
printed that the exit code means, within the wall bound.

MCHECK_FUZZ_SEED (default below) picks the inputs and MCHECK_FUZZ_N (default 5000) how many, so
that CI can vary both; the seed is in every failure message. An input that fails is shrunk and
saved as tests/hostile/fuzz_<hash>.mc, which tests/test_hostile.py runs from then on.
"""

from __future__ import annotations

import json
import os
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from cleanrun import Run, kind_of, minimize, problems, run_cli, save_regression
from conftest import BUGS_DIR, MODELS, ROOT
from modelgen import random_model

SEED = int(os.environ.get("MCHECK_FUZZ_SEED", "20261201"))
N = int(os.environ.get("MCHECK_FUZZ_N", "5000"))
GENERATED_EVERY = 40
"""One input in this many is a whole model from tests/modelgen.py (they cost the most: they compile)."""
MAX_FAILURES = 3
"""Stop after this many failing inputs (each is shrunk, which takes a while)."""

_TOKEN = re.compile(r"\s+|//[^\n]*|/\*.*?\*/|[A-Za-z_][A-Za-z0-9_]*|\d+|::|\.\.|=>|&&|\|\||[!=<>]=|[+-]=|.", re.S)
_GRAMMAR_WORDS = sorted(set(re.findall(r'"([^"\s]+)"', (ROOT / "grammar" / "mcheck.lark").read_text())))
_NUMBERS = ["0", "1", "2", "16", "17", "64", "65", "250", "400", "401", "65535", "65536", "65537", "999999999",
            "1000000000", "1000000001", "4294967296", "18446744073709551616", "9" * 40, "1" + "0" * 400]
_BAD_BYTES = [b"\xff", b"\x00", b"\xef\xbb\xbf", b"\r", b"\xc3", b"\xe2\x80\xae", "é".encode(), b"\t", b"\x0c"]


def _corpus() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted(MODELS.rglob("*.mc"))]
    for p in sorted(BUGS_DIR.glob("*.mc")):
        try:
            texts.append(p.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            continue
    return [t for t in texts if t]


CORPUS = _corpus()
_VOCAB = sorted({t for text in CORPUS for t in _TOKEN.findall(text) if re.fullmatch(r"[A-Za-z_]\w*", t)})
_PUNCT = [w for w in _GRAMMAR_WORDS if not w[0].isalpha()]
_KEYWORDS = [w for w in _GRAMMAR_WORDS if w[0].isalpha()]


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _solid(toks: list[str]) -> list[int]:
    """Indices of the tokens that are not whitespace or comments."""
    return [i for i, t in enumerate(toks) if not t.isspace() and not t.startswith(("//", "/*"))] or [0]


# ---- mutations: each takes the text and returns a new one --------------------------------------


def _delete(rng: random.Random, text: str) -> str:
    toks = _tokens(text)
    i = rng.choice(_solid(toks))
    del toks[i:i + rng.choice((1, 1, 1, 2, 3, 5))]
    return "".join(toks)


def _duplicate(rng: random.Random, text: str) -> str:
    toks = _tokens(text)
    i = rng.choice(_solid(toks))
    j = i + rng.choice((1, 1, 2, 4, 8, 20))
    return "".join(toks[:j] + toks[i:j] * rng.choice((1, 1, 2, 10)) + toks[j:])


def _swap(rng: random.Random, text: str) -> str:
    toks = _tokens(text)
    solid = _solid(toks)
    i, j = rng.choice(solid), rng.choice(solid)
    toks[i], toks[j] = toks[j], toks[i]
    return "".join(toks)


def _number(rng: random.Random, text: str) -> str:
    toks = _tokens(text)
    nums = [i for i, t in enumerate(toks) if t.isdigit()]
    if not nums:
        return _insert(rng, text)
    for i in rng.sample(nums, min(len(nums), rng.choice((1, 1, 2, 5)))):
        toks[i] = rng.choice([*_NUMBERS, f"-{toks[i]}", "-1", str(int(toks[i]) + 1), str(int(toks[i]) * 1000)])
    return "".join(toks)


def _insert(rng: random.Random, text: str) -> str:
    toks = _tokens(text)
    i = rng.choice(_solid(toks))
    word = rng.choice(rng.choice([_KEYWORDS, _PUNCT, _VOCAB, _NUMBERS]))
    return "".join([*toks[:i], word, " ", *toks[i:]])


def _rename(rng: random.Random, text: str) -> str:
    """An identifier replaced by another one from the models (a resource kind, a method, a name)."""
    toks = _tokens(text)
    names = [i for i, t in enumerate(toks) if re.fullmatch(r"[A-Za-z_]\w*", t)]
    if names:
        toks[rng.choice(names)] = rng.choice(_VOCAB)
    return "".join(toks)


def _splice(rng: random.Random, text: str) -> str:
    lines = text.splitlines(keepends=True) or [""]
    other = rng.choice(CORPUS).splitlines(keepends=True) or [""]
    a = rng.randrange(len(other))
    piece = other[a:a + rng.choice((1, 1, 2, 3, 8))]
    i = rng.randrange(len(lines) + 1)
    return "".join(lines[:i] + piece + lines[i:])


def _lines(rng: random.Random, text: str) -> str:
    """Two lines of the model swapped, or one moved or copied elsewhere in it (statements out of
    place that often still parse)."""
    lines = text.splitlines(keepends=True) or ["\n"]
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    how = rng.random()
    if how < 0.4:
        lines[i], lines[j] = lines[j], lines[i]
    elif how < 0.7:
        lines.insert(j, lines.pop(i))
    else:
        lines.insert(j, lines[i])
    return "".join(lines)


def _nest(rng: random.Random, text: str) -> str:
    """A statement or expression wrapped very deep: blocks, parentheses, `!`, `&&` chains, loops."""
    depth = rng.choice((20, 99, 100, 101, 150, 1000))
    shapes = [("{ " * depth, " }" * depth), ("(" * depth, ")" * depth), ("!" * depth, ""),
              ("loop { " * depth, " break; }" * depth), ("async { " * depth, " }" * depth),
              ("if choose() { " * depth, " }" * depth)]
    before, after = rng.choice(shapes)
    inner = rng.choice(["sleep(1).await;", "yield_now().await;", "choose()", "1", " && ".join(["choose()"] * depth)])
    spot = text.rfind("}")
    if spot < 0:
        return f"task main {{ {before}{inner}{after} }}\n"
    return text[:spot] + f"{before}{inner}{after}\n" + text[spot:]


def _repeat(rng: random.Random, text: str) -> str:
    """A line repeated many times (many tasks, fns, resources or statements of one kind)."""
    lines = text.splitlines(keepends=True) or ["\n"]
    i = rng.randrange(len(lines))
    return "".join(lines[:i] + lines[i:i + 1] * rng.choice((2, 2, 30, 30, 300)) + lines[i + 1:])


def _header(rng: random.Random, text: str) -> str:
    """An `// expect:` header line, well formed or not, at the top or anywhere."""
    key = rng.choice(["expect", "expect-untimed", "expect-exact", "expect ", "Expect", "expect-"])
    word = rng.choice(["futurelock", "deadlock", "safe", "", "inconclusive", "hang", "safe safe", "futurelock,"])
    line = f"// {key}:{rng.choice([' ', '', '   '])}{word}\n"
    lines = text.splitlines(keepends=True)
    i = 0 if rng.random() < 0.6 else rng.randrange(len(lines) + 1)
    return "".join([*lines[:i], line, *lines[i:]])


def _truncate(rng: random.Random, text: str) -> str:
    return text[:rng.randrange(len(text) + 1)]


MUTATIONS: dict[str, Callable[[random.Random, str], str]] = {
    "delete": _delete, "duplicate": _duplicate, "swap": _swap, "number": _number, "insert": _insert,
    "rename": _rename, "splice": _splice, "lines": _lines, "nest": _nest, "repeat": _repeat, "header": _header,
    "truncate": _truncate,
}


def _soup(rng: random.Random) -> str:
    """Random tokens from the grammar's words, the models' names and the numbers, with some structure."""
    words = [*_KEYWORDS, *_PUNCT, *_PUNCT, *rng.sample(_VOCAB, min(40, len(_VOCAB))), *_NUMBERS[:8]]
    body = " ".join(rng.choice(words) for _ in range(rng.randint(1, 120)))
    return rng.choice([body, f"task main {{ {body} }}", f"let m = Mutex::new();\ntask t {{ {body} }}\n"])


def _with_bad_bytes(rng: random.Random, data: bytes) -> bytes:
    i = rng.randrange(len(data) + 1)
    return data[:i] + rng.choice(_BAD_BYTES) + data[i:]


def make_input(rng: random.Random, index: int) -> tuple[str, bytes]:
    """The `index`-th input: (what it is, its bytes)."""
    if index % GENERATED_EVERY == 0:
        seed = rng.randrange(1 << 30)
        text = random_model(seed)
        if rng.random() < 0.3:  # and sometimes one mutation of it
            name = rng.choice(list(MUTATIONS))
            return f"modelgen({seed})+{name}", MUTATIONS[name](rng, text).encode()
        return f"modelgen({seed})", text.encode()
    roll = rng.random()
    if roll < 0.07:
        return "soup", _soup(rng).encode()
    text = rng.choice(CORPUS)
    if roll < 0.30:
        return "truncate", _truncate(rng, text).encode()
    names = rng.choices(list(MUTATIONS), k=rng.choice((1, 1, 1, 2, 3)))
    for name in names:
        text = MUTATIONS[name](rng, text)
    data = text.encode()
    if rng.random() < 0.04:
        names.append("bytes")
        data = _with_bad_bytes(rng, data)
    return "+".join(names), data


def cli_args(rng: random.Random, kind: str, out_dir: Path) -> tuple[list[str], str]:
    """The options for one input, and what it prints ("text", "json", "sarif", or "test" for `mcheck
    test`): mostly `verify` with text in the default time mode; sometimes exact time, no symmetry
    reduction, tiny --max-states or --max-depth, JSON or SARIF, HTML and DOT files, `mcheck test`."""
    generated = kind.startswith("modelgen")
    states = "300" if generated else rng.choices(["2000", "1", "3", "50"], weights=(85, 5, 5, 5))[0]
    bounds = ["--quiet", "--timeout", "1" if generated else "2", "--max-states", states]
    if rng.random() < 0.05:
        bounds += ["--max-depth", str(rng.choice((1, 2, 5)))]
    if rng.random() < 0.1:
        bounds.append("--no-symmetry")
    if rng.random() < 0.04:
        return ["test", *bounds, "--time", rng.choice(["untimed", "exact"])], "test"
    args = ["verify", *bounds]
    if rng.random() < 0.25:
        args += ["--time", "exact"]
    if rng.random() < 0.03:
        args += ["--html", str(out_dir / "report.html"), "--dot", str(out_dir / "waits.dot")]
    fmt = rng.choices(["text", "json", "sarif"], weights=(90, 7, 3))[0]
    if fmt != "text":
        args += ["--format", fmt]
    return args, fmt


def _judge(run: Run, path: str, fmt: str) -> list[str]:
    found = problems(run, path, fmt == "text")
    if fmt in ("json", "sarif") and run.code in (0, 1, 2, 3):
        try:
            doc = json.loads(run.out)
        except ValueError:
            found.append(f"--format {fmt} did not print one JSON document")
        else:
            if doc.get("exit_code", run.code) != run.code:
                found.append(f"the document says exit {doc.get('exit_code')}, the process exits {run.code}")
    if fmt == "test" and run.code == 3:
        found.append("mcheck test exited 3, which it never does (an inconclusive case is a mismatch, 1)")
    return found


def _shrink_and_save(data: bytes, args: list[str], path: Path, fmt: str, first: list[str]) -> Path:
    """Shrink a failing input (keeping the kind of its first problem) and keep it in tests/hostile/."""
    want = kind_of(first[0])
    slow = want.startswith(("took", "did not finish"))

    def fails(candidate: bytes) -> bool:
        path.write_bytes(candidate)
        return any(kind_of(p) == want for p in _judge(run_cli([*args, str(path)]), str(path), fmt))

    small = data if slow else minimize(data, fails)  # a slow input is kept whole: shrinking it takes too long
    return save_regression(small)


def test_fuzz_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(SEED)
    failures: list[str] = []
    exits: Counter[int | None] = Counter()
    kinds: Counter[str] = Counter()
    cost: Counter[str] = Counter()  # seconds per kind of input
    slowest: tuple[float, str] = (0.0, "")
    for i in range(N):
        kind, data = make_input(rng, i)
        args, fmt = cli_args(rng, kind, tmp_path)
        path = tmp_path / f"fuzz{i:05d}.mc"
        path.write_bytes(data)
        run = run_cli([*args, str(path)])
        exits[run.code] += 1
        kinds[kind.split("(")[0].split("+")[0]] += 1
        cost[kind.split("(")[0].split("+")[0]] += run.seconds
        if run.seconds > slowest[0]:
            slowest = (run.seconds, f"input {i} ({kind})")
        found = _judge(run, str(path), fmt)
        if found:
            saved = _shrink_and_save(data, args, path, fmt, found)
            failures.append(f"input {i} ({kind}; {' '.join(args)}): {'; '.join(found)}\n    saved as "
                            f"{saved.relative_to(ROOT)}; rerun with MCHECK_FUZZ_SEED={SEED} MCHECK_FUZZ_N={i + 1}")
            if len(failures) >= MAX_FAILURES:
                break
        path.unlink()
    with capsys.disabled():
        print(f"\nfuzz: seed {SEED}, {sum(exits.values())} inputs, exits {dict(sorted(exits.items(), key=str))}, "
              f"slowest {slowest[0]:.2f} s ({slowest[1]});\n  inputs (seconds) per kind: "
              + ", ".join(f"{k} {n} ({cost[k]:.0f} s)" for k, n in kinds.most_common()))
    assert not failures, f"MCHECK_FUZZ_SEED={SEED}: {len(failures)} inputs failed:\n" + "\n".join(failures)
    # The inputs reach every exit code a clean run has: a fuzzer that only fed the parser would not.
    assert N < 1000 or {0, 1, 2, 3} <= set(exits), f"MCHECK_FUZZ_SEED={SEED}: the inputs gave only exits {dict(exits)}"


def test_the_rule_catches_crashes_hangs_and_unlocated_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The fuzz test is only as good as `problems` and the watchdog: each failure it must see."""
    import cleanrun

    path = str(tmp_path / "m.mc")

    def fake(code: int, out: str = "", err: str = "") -> Callable[[list[str]], int]:
        def main(args: list[str]) -> int:
            print(out, end="")
            print(err, end="", file=sys.stderr)
            return code
        return main

    cases = [
        (fake(4, err="mcheck: internal error: KeyError: 3; please report it with the model\n"), "exit 4"),
        (fake(2, err="Traceback (most recent call last):\n"), "a traceback in the output"),
        (fake(2, err="error: the model has no task\n"), "exit 2 without a"),
        (fake(1, out=f"{path}: safe (time: untimed)\n"), "exit 1, but stdout begins"),
    ]
    for main, want in cases:
        monkeypatch.setattr(cleanrun, "main", main)
        found = problems(run_cli(["verify", path]), path)
        assert any(p.startswith(want) for p in found), (want, found)
    monkeypatch.setattr(cleanrun, "main", fake(2, err=f"{path}:3:7: error: expected ';'\n"))
    assert problems(run_cli(["verify", path]), path) == []

    def works(args: list[str]) -> int:  # busy for 0.3 s of CPU, then a clean, located exit 2
        t = time.process_time()
        while time.process_time() - t < 0.3:
            pass
        print(f"{path}:1:1: error: x", file=sys.stderr)
        return 2

    def waits(args: list[str]) -> int:  # 0.3 s of wall clock with almost no CPU
        time.sleep(0.3)
        print(f"{path}:1:1: error: x", file=sys.stderr)
        return 2

    monkeypatch.setattr(cleanrun, "CPU_BOUND", 0.2)
    monkeypatch.setattr(cleanrun, "main", works)
    assert [p for p in problems(run_cli(["verify", path]), path) if "of CPU" in p]
    monkeypatch.setattr(cleanrun, "main", waits)
    assert problems(run_cli(["verify", path]), path) == []  # waiting is not work
    monkeypatch.setattr(cleanrun, "WALL_BOUND", 0.2)
    assert [p for p in problems(run_cli(["verify", path]), path) if "more than the bound of 0.2 s" in p]

    def spins(args: list[str]) -> int:
        while True:
            pass

    monkeypatch.setattr(cleanrun, "main", spins)
    monkeypatch.setattr(cleanrun, "CPU_WATCHDOG", 0.3)
    run = run_cli(["verify", path])
    assert run.code is None and problems(run, path)[0].startswith("did not finish")


def test_a_failing_input_is_shrunk_and_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import cleanrun

    assert minimize(b"task main {\n  sleep(1).await;\n  BAD;\n}\n", lambda d: b"BAD" in d) == b"BAD"
    monkeypatch.setattr(cleanrun, "BUGS_DIR", tmp_path)
    saved = save_regression(b"BAD")
    assert saved.parent == tmp_path and re.fullmatch(r"fuzz_[0-9a-f]{12}\.mc", saved.name)
    assert saved.read_bytes() == b"BAD" and save_regression(b"BAD") == saved
