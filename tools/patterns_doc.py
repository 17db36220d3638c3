"""Builds docs/patterns.md, the catalog of known futurelock patterns, from real mcheck output.

Inputs: tools/patterns_catalog.toml (the hand-written prose: one entry per pattern family),
models/patterns/VERDICTS (the real tokio verdict of every case) and the models in models/patterns/
(`<case>.mc`, or `<case>.mc.draft` while the language cannot express it yet: "model pending").
Every verdict and trace excerpt in the document comes from running mcheck on the models, so the
document cannot drift from the checker. tests/test_patterns.py fails when the checked-in file is
stale.

    .venv/bin/python tools/patterns_doc.py           # rewrite docs/patterns.md (or: make docs)
    .venv/bin/python tools/patterns_doc.py --check   # exit 1 if docs/patterns.md is out of date
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from mcheck.model import TimeMode
from mcheck.render import render_text
from mcheck.source import Source
from mcheck.trace import Result, Status
from mcheck.verify import check, load

ROOT = Path(__file__).resolve().parent.parent
PATTERNS = ROOT / "models" / "patterns"
VERDICTS = PATTERNS / "VERDICTS"
CATALOG = ROOT / "tools" / "patterns_catalog.toml"
DOC = ROOT / "docs" / "patterns.md"
REGENERATE = ".venv/bin/python tools/patterns_doc.py"
WIDTH = 100  # prose line width in the generated document


class CatalogError(Exception):
    """The catalog or the verdict table is inconsistent."""


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    tokio: str  # "HANG" or "DONE": what the real runtime does
    want: Status  # what mcheck must say in exact time: FUTURELOCK, DEADLOCK or SAFE

    @property
    def number(self) -> str:
        return self.name.split("_", 1)[0]

    @property
    def model(self) -> Path:
        return PATTERNS / f"{self.name}.mc"

    @property
    def draft(self) -> Path:
        return PATTERNS / f"{self.name}.mc.draft"

    @property
    def rel(self) -> str:
        """The model's path as mcheck prints it: relative to the repository root."""
        return self.model.relative_to(ROOT).as_posix()


@dataclass(frozen=True, slots=True)
class Family:
    id: str
    title: str
    bad: tuple[str, ...]
    fixed: tuple[str, ...]
    excerpt: str
    why: str
    fix: str


def read_verdicts(path: Path = VERDICTS) -> dict[str, Case]:
    """The real-runtime table: case name -> Case, in file order."""
    cases: dict[str, Case] = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 3 or fields[1] not in ("HANG", "DONE"):
            raise CatalogError(f"{path}:{n}: expected 'CASE HANG|DONE VERDICT', got {line!r}")
        name, tokio, verdict = fields
        want = Status(verdict)
        if (tokio == "DONE") != (want is Status.SAFE) or want is Status.INCONCLUSIVE:
            raise CatalogError(f"{path}:{n}: {name}: a {tokio} case cannot be '{verdict}' in mcheck")
        if name in cases:
            raise CatalogError(f"{path}:{n}: {name} listed twice")
        cases[name] = Case(name, tokio, want)
    return cases


def _strings(entry: dict[str, object], key: str) -> tuple[str, ...]:
    value = entry.get(key)
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise CatalogError(f"{CATALOG.name}: family {entry.get('id')!r}: '{key}' must be a list of case names")
    return tuple(str(x) for x in value)


def _text(entry: dict[str, object], key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{CATALOG.name}: family {entry.get('id')!r}: '{key}' must be a non-empty string")
    return " ".join(value.split())  # one paragraph: the TOML line breaks are not meaningful


def read_catalog(cases: dict[str, Case], path: Path = CATALOG) -> list[Family]:
    """The pattern families, checked against the verdict table."""
    entries = tomllib.loads(path.read_text()).get("family")
    if not isinstance(entries, list) or not entries:
        raise CatalogError(f"{path.name}: no [[family]] entries")
    families = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise CatalogError(f"{path.name}: a [[family]] entry is not a table")
        fam = Family(_text(entry, "id"), _text(entry, "title"), _strings(entry, "bad"), _strings(entry, "fixed"),
                     _text(entry, "excerpt"), _text(entry, "why"), _text(entry, "fix"))
        for name in (*fam.bad, *fam.fixed):
            if name not in cases:
                raise CatalogError(f"{path.name}: family {fam.id}: unknown case {name}")
        for name in fam.bad:
            if cases[name].tokio != "HANG":
                raise CatalogError(f"{path.name}: family {fam.id}: {name} is listed as bad but completes on tokio")
        for name in fam.fixed:
            if cases[name].tokio != "DONE":
                raise CatalogError(f"{path.name}: family {fam.id}: {name} is listed as fixed but hangs on tokio")
        if fam.excerpt not in fam.bad:
            raise CatalogError(f"{path.name}: family {fam.id}: excerpt {fam.excerpt} is not one of its bad cases")
        by_number = {cases[n].number: n for n in cases}
        for ref in re.findall(r"\[(\d+)\]", fam.why + fam.fix):
            if ref not in by_number:
                raise CatalogError(f"{path.name}: family {fam.id}: [{ref}] names no case")
        families.append(fam)
    listed = {n for f in families for n in (*f.bad, *f.fixed)}
    missing = [n for n in cases if n not in listed]
    if missing:
        raise CatalogError(f"{path.name}: cases in no family: {', '.join(missing)}")
    if len({f.id for f in families}) != len(families):
        raise CatalogError(f"{path.name}: two families share an id")
    return families


@cache
def run(case: Case, time: TimeMode) -> tuple[Result, str] | None:
    """mcheck's result and text output for a case's model, or None while the model is a draft."""
    if not case.model.exists():
        return None
    model = load(Source(case.rel, case.model.read_text()), time)
    result = check(model)
    return result, render_text(model, result, case.rel)


def excerpt(output: str) -> list[str]:
    """The key lines of a text trace: the verdict line, the steps up to the first stuck state and
    the stuck report (why, dormant future, resource, victims), without the fixes and statistics."""
    lines = output.splitlines()
    head, steps, report = [lines[0]], [], []
    i = 2
    while i < len(lines) and lines[i].strip():  # the steps, up to the first stuck state
        steps.append(lines[i])
        i += 1
    later = 0
    while i < len(lines) and not re.match(r"(futurelock|deadlock): ", lines[i]):
        later += bool(re.match(r"\s*\d+\. ", lines[i]))  # steps in which the victims block
        i += 1
    if later:
        steps.append(f"   ... {later} more step{'s' * (later > 1)} until every task that will block has blocked")
    while i < len(lines) and lines[i] != "Fixes that apply:":
        report.append(lines[i])
        i += 1
    while report and not report[-1].strip():
        report.pop()
    return [*head, "", *steps, "", *report]


def _link(case: Case, label: str | None = None) -> str:
    target = case.model if case.model.exists() else case.draft
    return f"[{label or case.name}](../{target.relative_to(ROOT).as_posix()})"


def _refs(text: str, cases: dict[str, Case]) -> str:
    """`[NN]` -> a link to case NN's model."""
    by_number = {c.number: c for c in cases.values()}
    return re.sub(r"\[(\d+)\]", lambda m: _link(by_number[m.group(1)], m.group(1)), text)


def _verdict(case: Case, time: TimeMode) -> str:
    got = run(case, time)
    return "model pending" if got is None else got[0].status.value


def _case_list(names: tuple[str, ...], cases: dict[str, Case]) -> str:
    out = []
    for n in names:
        c = cases[n]
        out.append(_link(c) + (" (model pending)" if not c.model.exists() else ""))
    return ", ".join(out) if out else "none in the suite"


def render(cases: dict[str, Case], families: list[Family]) -> str:
    hang = sum(c.tokio == "HANG" for c in cases.values())
    out = [
        "# Futurelock patterns",
        "",
        "<!-- Generated by tools/patterns_doc.py from tools/patterns_catalog.toml, models/patterns/ and real",
        f"     mcheck output. Do not edit: regenerate with `make docs` ({REGENERATE}). -->",
        "",
        _fill("The known ways async Rust code on tokio hangs in a futurelock: for each, why it hangs, the key "
              "lines of mcheck's trace, and the fix. They come from "
              f"{len(cases)} small programs that were run on the real tokio runtime (current-thread unless noted, "
              f"real sleeps, a 1 s watchdog): {hang} hang and {len(cases) - hang} complete. Each is transcribed "
              "as a model in [`models/patterns/`](../models/patterns/), named after the case. Because the programs "
              "use real durations, a model's verdict in exact time (`--time exact`) must be what tokio did: a hang "
              "is a futurelock (a deadlock for the three classic cases), completion is safe. The default untimed "
              "mode allows every timing, so it can also report a hang that these particular durations avoid. "
              "`tests/test_patterns.py` checks every model in both modes against the [table](#all-cases) at the end."),
        "",
        _fill("Each trace excerpt is the output of `mcheck verify MODEL --time exact`, cut to the steps up to the "
              "first stuck state and the stuck report; run the command for the whole trace and the fixes mcheck "
              "suggests."),
        "",
    ]
    for n, fam in enumerate(families, 1):
        out.append(f"{n}. [{_strip_md(fam.title)}](#{fam.id})")
    out.append(f"{len(families) + 1}. [All cases](#all-cases)")
    out.append("")
    for fam in families:
        out += [f'<a id="{fam.id}"></a>', "", f"## {fam.title}", "", _fill(_refs(fam.why, cases)), ""]
        case = cases[fam.excerpt]
        got = run(case, TimeMode.EXACT)
        if got is None:
            out += [_fill(f"Trace: model pending ([`{case.draft.name}`](../{case.draft.relative_to(ROOT).as_posix()}) "
                          "uses constructs the language does not have yet)."), ""]
        elif got[0].trace is None:  # the model no longer hangs: tests/test_patterns.py fails too
            out += [f"`mcheck verify {case.rel} --time exact`: **{got[0].status.value}**, but tokio hangs.", ""]
        else:
            out += [f"`mcheck verify {case.rel} --time exact` (excerpt):", "", "```text", *excerpt(got[1]), "```", ""]
        out += [_fill(f"**Fix.** {_refs(fam.fix, cases)}"), ""]
        out += [f"- Hangs: {_case_list(fam.bad, cases)}", f"- Fixed or safe: {_case_list(fam.fixed, cases)}", ""]
    out += [
        '<a id="all-cases"></a>',
        "",
        "## All cases",
        "",
        "*mcheck exact* must match *tokio*; *mcheck untimed* may report a hang that the real durations avoid (marked †,",
        "the model's header comment says which timing makes the difference).",
        "",
        "| case | tokio | mcheck exact | mcheck untimed | pattern |",
        "|---|---|---|---|---|",
    ]
    family_of: dict[str, Family] = {}
    for fam in families:
        for name in (*fam.bad, *fam.fixed):
            family_of.setdefault(name, fam)
    for case in sorted(cases.values(), key=lambda c: c.name):
        exact, untimed = _verdict(case, TimeMode.EXACT), _verdict(case, TimeMode.UNTIMED)
        mark = " †" if run(case, TimeMode.EXACT) is not None and exact != untimed else ""
        fam = family_of[case.name]
        out.append(f"| {_link(case)} | {case.tokio} | {exact} | {untimed}{mark} | [{fam.id}](#{fam.id}) |")
    out.append("")
    return "\n".join(out)


def _fill(paragraph: str) -> str:
    return textwrap.fill(paragraph, WIDTH, break_long_words=False, break_on_hyphens=False)


def _strip_md(title: str) -> str:
    return title.replace("`", "")


def build() -> str:
    cases = read_verdicts()
    return render(cases, read_catalog(cases))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Build docs/patterns.md from the pattern catalog and real mcheck output.")
    ap.add_argument("--check", action="store_true", help="exit 1 if docs/patterns.md is out of date; write nothing")
    args = ap.parse_args(argv)
    try:
        text = build()
    except CatalogError as e:
        print(f"patterns_doc: {e}", file=sys.stderr)
        return 2
    if args.check:
        if not DOC.exists() or DOC.read_text() != text:
            print(f"{DOC.relative_to(ROOT)} is out of date: run `make docs` ({REGENERATE})", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text)
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
