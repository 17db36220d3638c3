"""Shrink a model on which tokio hangs while mcheck says safe (a soundness failure of
tools/runtime_check.py) to a small one that still does.

Each round deletes one statement, task or copy count in every way it can, keeps the variants mcheck
still calls safe in exact time, builds them all as cases of one crate, runs each under the seeds
given, and keeps the shortest variant that still hangs. Usage:
`python tools/runtime_minimize.py MODEL [--seeds 0,1,2] [-o OUT]`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import runtime_check as rc

from mcheck.trace import Status


def statements(text: str) -> list[tuple[int, int]]:
    """Spans of the statements (and select! branches) inside every `{ ... }` block of `text`."""
    spans: list[tuple[int, int]] = []
    starts: list[int] = []  # for each open brace, where the current statement in it began
    i = 0
    while i < len(text):
        c = text[i]
        if c == "{":
            starts.append(i + 1)
        elif c == "}" and starts:
            starts.pop()
            if starts:
                rest = text[i + 1 :].lstrip()
                if not rest.startswith(("else", ".", ",", ")", ";")):
                    spans.append((starts[-1], i + 1))
                    starts[-1] = i + 1
        elif c == ";" and starts:
            spans.append((starts[-1], i + 1))
            starts[-1] = i + 1
        elif text.startswith("//", i):
            i = text.find("\n", i)
            if i < 0:
                break
        i += 1
    return [(a, b) for a, b in spans if text[a:b].strip() and text[a:b].strip() not in ("}", ";")]


def variants(text: str) -> list[str]:
    out: list[str] = []
    for a, b in statements(text):
        out.append(text[:a] + " " + text[b:])
    lines = text.splitlines(keepends=True)
    for k, line in enumerate(lines):
        if line.startswith("task ") and sum(x.startswith("task ") for x in lines) > 1:
            out.append("".join(lines[:k] + lines[k + 1 :]))
        if line.startswith("task ") and "[2]" in line.split("{")[0]:
            out.append("".join([*lines[:k], line.replace("[2]", "", 1), *lines[k + 1:]]))
        if line.startswith(("let ", "async fn ")):
            out.append("".join(lines[:k] + lines[k + 1 :]))
    return sorted(set(out), key=len)


def minimize(text: str, seeds: list[int], work: Path, jobs: int) -> str:
    rnd = 0
    while True:
        rnd += 1
        cands = variants(text)
        jobs_ = [(f"v{i}", f"variant {i}", f"variant-{i}.mc", t) for i, t in enumerate(cands)]
        prepared = [c for c in rc.prepare_all(jobs_, jobs) if isinstance(c, rc.Case) and c.verdict is Status.SAFE]
        for c in prepared:
            rc.emit(c)
        print(f"round {rnd}: {len(text)} chars, {len(cands)} variants, {len(prepared)} still safe for mcheck", flush=True)
        if not prepared:
            return text
        binary = rc.build(prepared, work / "crate")
        rc.run_all(binary, prepared, seeds, work / "crate", jobs, randomized_only=False)
        hanging = [c for c in prepared if "HANG" in c.seed_outcomes]
        if not hanging:
            return text
        text = min(hanging, key=lambda c: len(c.text)).text


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--seeds", default="0,1,2,3")
    ap.add_argument("-o", "--output")
    ap.add_argument("--dir", default=str(rc.ROOT / ".runtime-check" / "minimize"))
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    text = "".join(line for line in Path(args.model).read_text().splitlines(keepends=True) if not line.startswith("//"))
    small = minimize(text, [int(s) for s in args.seeds.split(",")], Path(args.dir), args.jobs)
    if args.output:
        Path(args.output).write_text(small)
    print(small)
    return 0


if __name__ == "__main__":
    sys.exit(main())
