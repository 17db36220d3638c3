"""`mcheck scan` results in the user's terms: rustc-style diagnostics at the Rust line, JSON
(`mcheck-scan/1`, docs/scan.md) and SARIF 2.1.0.

The last phase of `mcheck scan`. It words the model's trace through render.py (the same step
texts, why-lines and fixes as `mcheck verify`) and builds SARIF with sarif.py, then maps every
model place back to Rust through the model's source map (`// from` comments). It decides nothing.
"""

from __future__ import annotations

import json
import re
from typing import Any

from mcheck.render import Describer, describe_steps, dormant_lines, fixes, headline, why_lines
from mcheck.sarif import artifact_uri, sarif_log
from mcheck.scan.check import Checked, ScanResult, SiteResult
from mcheck.scan.extract import DEFAULT_CAPACITY, DEFAULT_SLEEP_MS, MAX_DEPTH, Model
from mcheck.scan.rust import Loc, RustFile
from mcheck.trace import Status

JSON_SCHEMA = "mcheck-scan/1"


class _Mapper:
    """Model places -> Rust places, for one checked model."""

    def __init__(self, c: Checked, files: dict[str, RustFile]) -> None:
        self.c = c
        self.m: Model = c.model
        self.files = files

    def loc(self, line: int) -> Loc | None:
        return self.m.source_map.get(line)

    def text(self, s: str) -> str:
        """Rewrite `path.mc:L:C` and `[L:C]` in a sentence to the Rust place."""
        names = {self.c.path}
        if self.c.outcome.model is not None:
            names.add(self.c.outcome.model.source.name)  # a cached outcome names the first model
        path = "(?:" + "|".join(re.escape(n) for n in sorted(names)) + ")"

        def full(mt: re.Match[str]) -> str:
            loc = self.loc(int(mt.group(1)))
            return str(_line_loc(loc)) if loc else mt.group(0)

        def short(mt: re.Match[str]) -> str:
            loc = self.loc(int(mt.group(1)))
            return f"[{_line_loc(loc)}]" if loc else mt.group(0)

        def spawn(mt: re.Match[str]) -> str:
            loc = self.loc(int(mt.group(1)))
            return f"spawn@{loc.path.rsplit('/', 1)[-1]}:{loc.line}" if loc else mt.group(0)

        s = re.sub(rf"{path}:(\d+):(\d+)", full, s)
        s = re.sub(r"spawn@(\d+)", spawn, s)
        return re.sub(r"\[(\d+):(\d+)\]", short, s)

    def source_line(self, loc: Loc) -> str:
        f = self.files.get(loc.path)
        return f.source.line_text(loc.line) if f is not None else ""


def _line_loc(loc: Loc | None) -> str:
    return f"{loc.path}:{loc.line}" if loc else "?"


def _caret(text: str, loc: Loc) -> list[str]:
    gutter = f"{loc.line:>5} | "
    pad = "".join("\t" if ch == "\t" else " " for ch in text[: loc.col - 1])
    return [f"{gutter}{text}", f"{' ' * (len(gutter) - 2)}| {pad}^"]


def _message(sr: SiteResult, mp: _Mapper) -> str:
    o = sr.checked.outcome
    s = sr.site
    if o.result is None or o.result.trace is None or o.model is None:
        return ""
    rep = o.result.trace.report
    d = Describer(o.model)
    res = ", ".join(d.res(r) for r in rep.resources)
    if rep.dormant:
        fut = d.var_ancestor(rep.dormant[0]).label
        tasks = ", ".join(o.model.tasks[t].name for t in rep.culprit_tasks)
        return f"futurelock: `{fut}` is left dormant here while task {tasks} waits for {res or 'what it holds'}"
    return f"deadlock: {headline(o.model, rep).removeprefix('deadlock: ')}" + (f" ({res})" if res else "") + \
        ("" if s.kind.startswith("entry") else f" [{s.kind}]")


def diagnostic(sr: SiteResult, files: dict[str, RustFile]) -> list[str]:
    """The rustc-style diagnostic of a stuck site: the Rust line and a caret, the trace mapped to
    Rust, the dormant future, the resource, the victims, the fixes."""
    c = sr.checked
    o = c.outcome
    mp = _Mapper(c, files)
    s = sr.site
    assert o.result is not None and o.result.trace is not None and o.model is not None
    model, trace = o.model, o.result.trace
    rep = trace.report
    final = trace.steps[-1].state if trace.steps else trace.initial
    out = [f"{s.loc}: warning: {_message(sr, mp)}"]
    out.extend(_caret(mp.source_line(s.loc), s.loc))
    what = f"{s.kind} in `{s.function}`"
    if s.awaits:
        what += "; the other branches (or the body) await " + ", ".join(f"`{a}`" for a in s.awaits[:4])
    out.append(f"  = site: {what}")
    if c.assumes:
        out.append("  = with the hang at " + ", ".join(str(a) for a in c.assumes) + " assumed fixed (its future holds "
                   "nothing in this model)")
    d = Describer(model)
    for line in dormant_lines(model, rep, final):
        out.append("  = " + mp.text(line))
    if rep.resources:
        res = []
        for r in rep.resources:
            name = model.resources[r].name
            made = c.model.resources.get(name)
            res.append(f"`{name}`" + (f" ({_line_loc(made)})" if made else ""))
        out.append("  = resource: " + ", ".join(res))
    victims = [model.tasks[t].name for t in rep.victims]
    out.append("  = victims: " + (mp.text(", ".join(victims)) if victims else "none besides the stuck task"))
    out.append("  = why:")
    out.extend(f"      - {mp.text(w)}" for w in why_lines(model, rep, final))
    steps = describe_steps(model, o.result)
    out.append(f"  = trace ({o.time.value}, {len(steps)} step{'s' if len(steps) != 1 else ''}):")
    for st in steps:
        step_loc = mp.loc(st.span.line) if st.span else None
        at = f"   [{_line_loc(step_loc)}]" if step_loc else ""
        out.append(f"      {st.number:>2}. {mp.text(st.headline)}{at}")
        out.extend(f"            -> {mp.text(e)}" for e in st.events)
    out.append("  = fix:")
    out.extend(f"      - {mp.text(f)}" for f in fixes(model, rep))
    out.append(f"  = model: {c.path}" + ("" if c.written else " (not written: --emit-models DIR writes it)"))
    del d
    return out


def _verdict_word(sr: SiteResult) -> str:
    v = sr.verdict
    if v in ("futurelock", "deadlock") and not sr.blamed:
        return f"{v} elsewhere in its entry point"
    return v


def scan_text(r: ScanResult) -> str:
    files = {f.path: f for f in r.files}
    out: list[str] = []
    for e in r.errors:
        out.append(e.render())
        out.append("")
    if r.emit_error:
        out.append(f"mcheck: error: {r.emit_error}")
        out.append("")
    for sr in r.sites:
        o = sr.checked.outcome
        if sr.blamed and o.result is not None and o.result.trace is not None and not sr.checked.doubt:
            out.extend(diagnostic(sr, files))
            out.append("")
    for sr in r.sites:
        c = sr.checked
        o = c.outcome
        extra = ""
        if c.doubt:
            extra = f": {c.doubt}"
        elif o.result is None:
            extra = ": " + (o.stopped or o.usage_error or o.internal or "the extracted model does not load (see the "
                            "model)")
            if o.diagnostics and o.source is not None:
                extra = ": the extracted model does not load: " + o.diagnostics[0].message
        elif o.result.status is Status.INCONCLUSIVE:
            extra = f": {o.result.reason}"
        out.append(f"{sr.site.loc}: {_verdict_word(sr)}: {sr.site.kind} in `{sr.site.function}`{extra} (model {c.path})")
    for loc, _, why in r.failed:
        out.append(f"{loc}: error: {why}")
    notes = [(c, n) for c in r.checked for n in c.model.notes]
    defaults = [(c, n) for c in r.checked for n in c.model.defaults]
    if defaults:
        out.append("")
        out.append(f"defaults the models use where the code states no constant (capacity {DEFAULT_CAPACITY}, "
                   f"{DEFAULT_SLEEP_MS} ms):")
        out.extend(f"  {n.loc}: {n.text}" for n in dict.fromkeys(n for _, n in defaults))
    if notes:
        out.append("")
        out.append("left out of the models (not translated):")
        out.extend(f"  {n.loc}: {n.text}" for n in dict.fromkeys(n for _, n in notes))
    counts: dict[str, int] = {}
    for sr in r.sites:
        counts[sr.verdict] = counts.get(sr.verdict, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    out.append("")
    nsites = sum(1 for s in r.sites if not s.site.kind.startswith("entry"))
    entries = sum(1 for c in r.checked if not c.variant)
    out.append(f"scanned {len(r.files)} file{'s' if len(r.files) != 1 else ''} ({r.lines:,} lines) in "
               f"{r.seconds:.1f} s: {entries} entry point{'s' if entries != 1 else ''}, "
               f"{nsites} site{'s' if nsites != 1 else ''}: {summary or 'nothing to check'}"
               + (f"; {len(r.errors)} file{'s' if len(r.errors) != 1 else ''} not parsed" if r.errors else "")
               + f" (calls followed {MAX_DEPTH} deep)")
    return "\n".join(out) + "\n"


def _trace_doc(c: Checked, files: dict[str, RustFile]) -> list[dict[str, Any]] | None:
    o = c.outcome
    if o.result is None or o.result.trace is None or o.model is None:
        return None
    mp = _Mapper(c, files)
    out = []
    for st in describe_steps(o.model, o.result):
        loc = mp.loc(st.span.line) if st.span else None
        out.append({"step": st.number, "task": mp.text(st.task), "action": mp.text(st.headline),
                    "location": {"file": loc.path, "line": loc.line} if loc else None,
                    "model_line": st.span.line if st.span else None,
                    "events": [mp.text(e) for e in st.events]})
    return out


def site_doc(sr: SiteResult, files: dict[str, RustFile]) -> dict[str, Any]:
    c = sr.checked
    o = c.outcome
    doc: dict[str, Any] = {
        "file": sr.site.loc.path, "line": sr.site.loc.line, "column": sr.site.loc.col,
        "function": sr.site.function, "kind": sr.site.kind, "future": sr.site.future or None,
        "awaits": list(sr.site.awaits), "verdict": sr.verdict, "blamed": sr.blamed,
        "entry": {"kind": c.model.root.kind, "file": c.model.root.node.loc.path, "line": c.model.root.node.loc.line,
                  "function": c.model.root.enclosing},
        "model": c.path, "model_written": c.written,
        "assumes_fixed": [str(a) for a in c.assumes], "model_line": sr.site.model_line or None,
        "time": o.time.value, "exit_code": c.exit_code,
        "trace": _trace_doc(c, files) if sr.blamed else None,
    }
    if o.result is not None and o.result.trace is not None and o.model is not None and sr.blamed:
        mp = _Mapper(c, files)
        rep = o.result.trace.report
        final = o.result.trace.steps[-1].state if o.result.trace.steps else o.result.trace.initial
        d = Describer(o.model)
        doc["message"] = _message(sr, mp)
        doc["dormant_futures"] = list(dict.fromkeys(d.var_ancestor(i).label for i in rep.dormant))
        doc["resources"] = [o.model.resources[r].name for r in rep.resources]
        doc["victims"] = [mp.text(o.model.tasks[t].name) for t in rep.victims]
        doc["why"] = [mp.text(w) for w in why_lines(o.model, rep, final)]
        doc["fixes"] = [mp.text(f) for f in fixes(o.model, rep)]
    if c.doubt:
        doc["reason"] = c.doubt
    if o.result is None:
        doc["error"] = o.stopped or o.usage_error or o.internal or (o.diagnostics[0].message if o.diagnostics else "")
    elif o.result.status is Status.INCONCLUSIVE:
        doc["reason"] = o.result.reason
    return doc


def scan_json(r: ScanResult) -> str:
    files = {f.path: f for f in r.files}
    doc = {
        "schema": JSON_SCHEMA,
        "exit_code": r.exit_code,
        "files": len(r.files), "lines": r.lines, "seconds": round(r.seconds, 3),
        "errors": [{"file": e.path, "line": e.diagnostic.span.line if e.diagnostic.span else None,
                    "column": e.diagnostic.span.col if e.diagnostic.span else None, "message": e.diagnostic.message}
                   for e in r.errors],
        "sites": [site_doc(sr, files) for sr in r.sites],
        "not_modelled": [{"file": loc.path, "line": loc.line, "column": loc.col, "exit_code": code, "message": why}
                         for loc, code, why in r.failed],
        "left_out": [{"file": n.loc.path, "line": n.loc.line, "column": n.loc.col, "text": n.text, "model": c.path}
                     for c in r.checked for n in c.model.notes],
        "defaults": [{"file": n.loc.path, "line": n.loc.line, "column": n.loc.col, "text": n.text, "model": c.path}
                     for c in r.checked for n in c.model.defaults],
    }
    return json.dumps(doc, indent=2) + "\n"


def scan_sarif(r: ScanResult) -> str:
    """sarif.py's log of the models' outcomes, every location mapped from the model to Rust, each
    result's primary location moved to its site; unparsable files as bad-input notifications."""
    files = {f.path: f for f in r.files}
    checked = list(r.checked)
    log = sarif_log([c.outcome for c in checked], r.exit_code)
    by_uri = {artifact_uri(c.path): c for c in checked}
    blamed = {id(sr.checked): sr for sr in r.sites if sr.blamed}
    run = log["runs"][0]

    def remap(node: Any, c: Checked | None) -> Any:
        if isinstance(node, dict):
            phys = node.get("physicalLocation")
            if isinstance(phys, dict):
                uri = phys.get("artifactLocation", {}).get("uri", "")
                cc = by_uri.get(uri, c)
                if cc is not None:
                    mp = _Mapper(cc, files)
                    region = phys.get("region")
                    loc = mp.loc(region["startLine"]) if isinstance(region, dict) else None
                    if loc is not None:
                        phys["artifactLocation"] = {"uri": artifact_uri(loc.path)}
                        text = mp.source_line(loc)
                        col = len(text) - len(text.lstrip()) + 1
                        phys["region"] = {"startLine": loc.line, "startColumn": col, "snippet": {"text": text}}
                    else:
                        phys["artifactLocation"] = {"uri": artifact_uri(cc.model.root.node.loc.path)}
                        phys.pop("region", None)
            for k, v in node.items():
                if isinstance(v, str) and c is not None and k != "uri":
                    node[k] = _Mapper(c, files).text(v)
                else:
                    remap(v, c)
        elif isinstance(node, list):
            for i, x in enumerate(node):
                if isinstance(x, str) and c is not None:
                    node[i] = _Mapper(c, files).text(x)
                else:
                    remap(x, c)
        return node

    results = run["results"]
    stuck = [c for c in checked if c.outcome.result is not None and c.outcome.result.trace is not None]
    doubted = []
    for res, c in zip(results, stuck, strict=True):
        if c.doubt:  # NOTE(doubt): not a finding; said as a notification at its entry point
            doubted.append(res)
            loc = c.model.root.node.loc
            run["invocations"][0]["toolExecutionNotifications"].append({
                "descriptor": {"id": "inconclusive", "index": 1}, "level": "warning",
                "message": {"text": f"{c.model.root.kind} in `{c.model.root.enclosing}`: {c.doubt}"},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": artifact_uri(loc.path)},
                                                    "region": {"startLine": loc.line, "startColumn": loc.col}}}]})
            continue
        remap(res, c)
        sr = blamed.get(id(c))
        if sr is not None:
            s = sr.site
            text = _Mapper(c, files).source_line(s.loc)
            res["locations"] = [{"physicalLocation": {"artifactLocation": {"uri": artifact_uri(s.loc.path)},
                                                      "region": {"startLine": s.loc.line, "startColumn": s.loc.col,
                                                                 "snippet": {"text": text}}},
                                 "message": {"text": f"{s.kind} in `{s.function}`"}}]
            res["properties"]["site"] = s.kind
            res["properties"]["model"] = c.path
    run["results"] = [x for x in results if not any(x is d for d in doubted)]
    for note in run["invocations"][0]["toolExecutionNotifications"]:
        remap(note, None)
    for e in r.errors:
        region = {}
        if e.diagnostic.span is not None:
            region = {"region": {"startLine": e.diagnostic.span.line, "startColumn": e.diagnostic.span.col}}
        run["invocations"][0]["toolExecutionNotifications"].append({
            "descriptor": {"id": "bad-input", "index": 0}, "level": "error",
            "message": {"text": e.diagnostic.message},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": artifact_uri(e.path)}, **region}}]})
    for loc, code, why in r.failed:
        kind = "internal-error" if code == 4 else "inconclusive"
        run["invocations"][0]["toolExecutionNotifications"].append({
            "descriptor": {"id": kind, "index": 2 if code == 4 else 1}, "level": "error" if code == 4 else "warning",
            "message": {"text": why},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": artifact_uri(loc.path)},
                                                "region": {"startLine": loc.line, "startColumn": loc.col}}}]})
    run["invocations"][0]["executionSuccessful"] = r.exit_code not in (2, 4)
    run["invocations"][0]["exitCode"] = r.exit_code
    run["properties"] = {"files": len(r.files), "lines": r.lines, "entryPoints": sum(not c.variant for c in r.checked),
                         "sites": sum(1 for s in r.sites if not s.site.kind.startswith("entry"))}
    return json.dumps(log, indent=2) + "\n"
