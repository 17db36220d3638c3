"""One self-contained HTML page per outcome (`--html`): for a stuck state, the trace as lanes (a
column per task, a row per step, like a sequence diagram) beside the state of each contended
resource, the dormant future marked from the step it stopped being polled, and the wait-for graph
as inline SVG (waitgraph.py); for a safe model the proof or the states explored.

A peer of render.py and sarif.py: reads an Outcome, words it through render.py and timeline.py,
decides nothing. The page has inline CSS, no script and no external reference, and depends only
on the result (no times, no dates, no random ids), so it renders the same offline, every time.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from mcheck import waitgraph
from mcheck.model import CompiledModel
from mcheck.render import (
    Describer,
    StepText,
    describe_steps,
    dormant_lines,
    fixes,
    headline,
    occupancy_lines,
    proof_status,
    why_lines,
)
from mcheck.render_starvation import entry_state, starvation_text, waiting_slots
from mcheck.report import diagnostics_text
from mcheck.runs import Outcome
from mcheck.source import Source, Span
from mcheck.timeline import Timeline, timeline
from mcheck.trace import Result, Status

CSS = """
body { font: 14px/1.45 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #1f2328; background: #fff;
       margin: 20px 24px; }
h1 { font-size: 19px; margin: 0 0 6px; font-weight: 600; }
h2 { font-size: 16px; margin: 22px 0 8px; font-weight: 600; }
code, .mono, pre { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 12px; }
.verdict { display: inline-block; padding: 1px 9px; border-radius: 4px; color: #fff; font-weight: 600; }
.verdict.futurelock, .verdict.deadlock { background: #b42318; }
.verdict.safe { background: #1a7f37; }
.verdict.inconclusive { background: #9a6700; }
.verdict.bad-input, .verdict.internal-error { background: #57606a; }
.meta { color: #57606a; }
.summary { margin: 8px 0; }
ul.why { margin: 4px 0; padding-left: 20px; }
table.lanes { border-collapse: collapse; table-layout: fixed; }
table.lanes th, table.lanes td { border: 1px solid #d0d7de; padding: 4px 6px; vertical-align: top; }
table.lanes th { background: #f6f8fa; font-weight: 600; text-align: left; }
th.num, td.num { text-align: right; color: #57606a; }
col.num { width: 34px; }
col.lane { width: 230px; }
col.res { width: 250px; }
th .role { display: block; font-weight: normal; font-size: 12px; color: #57606a; }
th.stuck .role { color: #b42318; font-weight: 600; }
th.res, td.res { background: #fbf8ef; }
td.lane.active { background: #eef4ff; }
td.lane.dormant { background: repeating-linear-gradient(135deg, #fff 0 6px, #fde8e8 6px 12px); }
td.lane.active.dormant { background: repeating-linear-gradient(135deg, #eef4ff 0 6px, #fde8e8 6px 12px); }
.op { font-weight: 600; }
.src { display: block; color: #57606a; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
       text-decoration: none; }
ul.events { margin: 3px 0 0; padding-left: 16px; font-size: 12.5px; }
ul.occ { margin: 0; padding-left: 14px; font-size: 12.5px; }
td.res.changed { box-shadow: inset 3px 0 0 #bf8700; }
.dormant-mark { margin-top: 4px; padding: 2px 4px; border: 1px dashed #b42318; color: #b42318; font-size: 12px;
                background: #fff; }
tr.divider td { background: #fff1f0; color: #b42318; font-weight: 600; text-align: center; }
tr.end td { background: #f6f8fa; font-size: 12.5px; }
svg.waitgraph { border: 1px solid #d0d7de; background: #fff; }
svg.waitgraph .node rect { fill: #fff; stroke: #57606a; stroke-width: 1.2; }
svg.waitgraph .node.task rect { fill: #eef4ff; }
svg.waitgraph .node.stuck rect { stroke: #b42318; stroke-width: 2; }
svg.waitgraph .node.dormant rect { fill: #fde8e8; stroke: #b42318; stroke-dasharray: 5 3; stroke-width: 2; }
svg.waitgraph .node-label { font: 12px "DejaVu Sans Mono", "Liberation Mono", monospace; fill: #1f2328; }
svg.waitgraph .node-note { font: 11px "DejaVu Sans", "Liberation Sans", sans-serif; fill: #57606a; }
svg.waitgraph .node.dormant .node-note { fill: #b42318; }
svg.waitgraph .edge path { fill: none; stroke: #57606a; stroke-width: 1.4; }
svg.waitgraph .edge.resource path, svg.waitgraph .edge.return path { stroke: #b42318; }
svg.waitgraph .arrowhead { fill: #57606a; }
svg.waitgraph .edge-label { font: 11px "DejaVu Sans", "Liberation Sans", sans-serif; fill: #1f2328; }
svg.waitgraph .edge-label-bg { fill: #fff; opacity: 0.9; }
ol.source { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 12px; margin: 0;
            padding-left: 44px; color: #57606a; }
ol.source li { white-space: pre; }
ol.source li span { color: #1f2328; }
ol.source li.hit { background: #eef4ff; }
details { margin: 6px 0; }
pre.diagnostics { background: #f6f8fa; padding: 8px; border: 1px solid #d0d7de; white-space: pre-wrap; }
"""


NUM_W, LANE_W, RES_W = 34, 230, 250  # px: the step number, a task's lane, a resource's column (CSS col.*)


def _e(s: str) -> str:
    return escape(s, quote=True)


def _code(s: str) -> str:
    """Text whose `backticked` names are set as code."""
    parts = s.split("`")
    return "".join(f"<code>{_e(p)}</code>" if i % 2 else _e(p) for i, p in enumerate(parts)) if len(parts) % 2 else _e(s)


def _doc(title: str, body: list[str]) -> str:
    return "\n".join(["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
                      f"<title>{_e(title)}</title>", f"<style>{CSS}</style>", "</head>", "<body>", *body,
                      "</body>", "</html>"]) + "\n"


def _verdict_class(o: Outcome) -> str:
    return o.what.replace(" ", "-")


def _header(o: Outcome) -> list[str]:
    engine = f", engine {o.engine}" if o.result is not None else ""
    runtime = f", runtime: {o.model.runtime}" if o.model is not None else ""
    return [f'<h1>mcheck: <span class="mono">{_e(o.path)}</span> '
            f'<span class="verdict {_verdict_class(o)}" id="verdict">{_e(o.what)}</span></h1>',
            f'<div class="meta">time: {_e(o.time.value)}{_e(runtime)}{_e(engine)}</div>']


def _source_section(source: Source, hits: set[int]) -> list[str]:
    lines = source.text.splitlines()
    hit = ' class="hit"'
    items = [f'<li id="L{i}"{hit if i in hits else ""}><span>{_e(line)}</span></li>' for i, line in enumerate(lines, start=1)]
    return ["<details><summary>The model's source</summary>", '<ol class="source">', *items, "</ol>", "</details>"]


def _where(model: CompiledModel, span: Span | None) -> str:
    if span is None:
        return ""
    text = " ".join(model.source.line_text(span.line).split())
    return f'<a class="src mono" href="#L{span.line}" title="{_e(text)}">{span.line}:{span.col} | {_e(text)}</a>'


def page(o: Outcome) -> str:
    """The report of one outcome: a complete HTML document."""
    body = _header(o)
    if o.result is not None and o.model is not None and o.starvation is not None:
        body.append(f'<pre class="diagnostics">{_e(starvation_text(o.model, o.result, o.starvation, o.path))}</pre>')
        entry = entry_state(o.starvation)
        waiting = {s.span.line for t in o.starvation.starved for s in waiting_slots(o.model, t, entry) if s.span}
        body.extend(_source_section(o.model.source, waiting))
    elif o.result is not None and o.model is not None:
        body.extend(_result_body(o.model, o.result))
        hits = {s.span.line for s in describe_steps(o.model, o.result) if s.span} if o.result.trace else set()
        body.extend(_source_section(o.model.source, hits))
    elif o.stopped:
        body.append(f'<p class="summary">Inconclusive: {_code(o.stopped)}.</p>')
    else:
        body.append(f'<pre class="diagnostics">{_e(diagnostics_text(o))}</pre>')
        if o.source is not None:
            body.extend(_source_section(o.source, {d.span.line for d in o.diagnostics if d.span}))
    return _doc(f"mcheck: {o.path} ({o.time.value}): {o.what}", body)


def _result_body(model: CompiledModel, result: Result) -> list[str]:
    st = result.stats
    explored = f"{st.states:,} states, {st.transitions:,} transitions explored"
    if result.status is Status.SAFE:
        out = []
        if result.proof is not None:
            out.append(f'<p class="summary" id="proof">{_e(proof_status(result))}: no reachable state has a stuck task '
                       "(z3 checked that the invariant holds initially, is preserved by every transition and "
                       "excludes every stuck state).</p>")
            out.append(f"<details><summary>The inductive invariant ({len(result.proof.clauses)} clauses)</summary><ol>")
            out.extend(f"<li><code>{_e(c)}</code></li>" for c in result.proof.clauses)
            out.append("</ol></details>")
        else:
            out.append(f'<p class="summary" id="states">Safe: no reachable state has a stuck task; every reachable '
                       f"state was visited ({explored}, depth {st.depth}).</p>")
        return out
    if result.status is Status.INCONCLUSIVE:
        return [f'<p class="summary">Inconclusive: {_code(result.reason)} ({explored}).</p>']
    assert result.trace is not None
    trace = result.trace
    rep = trace.report
    final = trace.steps[-1].state if trace.steps else trace.initial
    out = [f'<p class="summary">{_code(headline(model, rep))}</p>',
           f'<div class="meta">{explored}; the trace has {len(trace.steps)} steps, the first stuck state is reached after '
           f"step {trace.first_stuck}.</div>",
           "<h2>Wait-for graph of the stuck state</h2>",
           waitgraph.to_svg(waitgraph.build(model, rep, final)),
           '<ul class="why">', *(f"<li>{_code(w)}</li>" for w in why_lines(model, rep, final)), "</ul>"]
    out.extend(f'<p class="dormant-note">{_code(line)}</p>' for line in dormant_lines(model, rep, final))
    out.append("<h2>Trace</h2>")
    out.extend(_lanes(model, result, timeline(model, result), describe_steps(model, result)))
    out.append("<h2>Fixes that apply</h2>")
    out.append("<ul>" + "".join(f"<li>{_code(f)}</li>" for f in fixes(model, rep)) + "</ul>")
    return out


def _lanes(model: CompiledModel, result: Result, tl: Timeline, texts: list[StepText]) -> list[str]:
    assert result.trace is not None
    rep = result.trace.report
    d = Describer(model)
    lanes: list[int] = list(tl.tasks) + ([-1] if tl.has_runtime else [])
    cols = ['<col class="num">', *('<col class="lane">' for _ in lanes), *('<col class="res">' for _ in tl.resources)]
    heads = ['<th class="num">#</th>']
    for t in lanes:
        if t < 0:
            heads.append('<th class="lane runtime">runtime<span class="role">time advances</span></th>')
            continue
        role = ("stuck: victim" if t in rep.victims else "stuck: culprit" if t in rep.culprit_tasks else "stuck") \
            if t in rep.stuck_tasks else "running" if t in tl.alive_at_end else "completed"
        cls = "lane stuck" if t in rep.stuck_tasks else "lane"
        heads.append(f'<th class="{cls}" data-task="{_e(model.tasks[t].name)}">task {_e(model.tasks[t].name)}'
                     f'<span class="role">{_e(role)}</span></th>')
    heads.extend(f'<th class="res">{_code(d.res(r))}<span class="role">'
                 f'{_e(model.resources[r].kind.value)}{" (on the cycle)" if r in rep.resources else ""}</span></th>'
                 for r in tl.resources)
    width = NUM_W + LANE_W * len(lanes) + RES_W * len(tl.resources)  # table-layout: fixed needs the table's width
    rows = [f'<table class="lanes" id="lanes" style="width: {width}px">', "<colgroup>", *cols, "</colgroup>",
            "<thead><tr>" + "".join(heads) + "</tr></thead>", "<tbody>"]
    owner = {v: model.slots[v].task for v in tl.dormant}
    previous: list[list[str]] = []
    for row, stx in zip(tl.rows, texts, strict=True):
        cells = [f'<td class="num">{row.number}</td>']
        for t in lanes:
            dormant_here = [v for v in row.dormant if owner[v] == t]
            cls = "lane" + (" active" if t == row.task else "") + (" dormant" if dormant_here else "")
            inner = []
            if t == row.task:
                inner.append(f'<div class="op">{_code(stx.headline)}</div>')
                inner.append(_where(model, stx.span))
                if stx.events:
                    inner.append('<ul class="events">' + "".join(f"<li>{_code(ev)}</li>" for ev in stx.events) + "</ul>")
            for v, k in zip(tl.dormant, tl.dormant_from, strict=True):
                if k == row.number and owner[v] == t:
                    inner.append(f'<div class="dormant-mark"><code>{_e(model.slots[v].label)}</code> is dormant from '
                                 "this step: alive, and no longer polled</div>")
            cells.append(f'<td class="{cls}">{"".join(inner)}</td>')
        occ_now = [occupancy_lines(model, d, occ) for occ in row.occupancy]
        for i, lines in enumerate(occ_now):
            changed = " changed" if (previous[i] if previous else None) != lines else ""
            cells.append(f'<td class="res{changed}"><ul class="occ">' + "".join(f"<li>{_code(x)}</li>" for x in lines)
                         + "</ul></td>")
        previous = occ_now
        rows.append(f'<tr class="step" id="step-{row.number}">' + "".join(cells) + "</tr>")
        if row.number == tl.first_stuck and row.number < len(tl.rows):
            rows.append(f'<tr class="divider"><td colspan="{1 + len(lanes) + len(tl.resources)}">Step {tl.first_stuck} '
                        "reaches the first stuck state. The other tasks keep running; the steps below show every task "
                        "that will block behind it blocking.</td></tr>")
    end = ['<td class="num"></td>']
    for t in lanes:
        if t < 0:
            end.append('<td class="lane"></td>')
        elif t in rep.stuck_tasks:
            end.append('<td class="lane">can never run again</td>')
        else:
            end.append(f'<td class="lane">{"still running" if t in tl.alive_at_end else "completed"}</td>')
    end.extend('<td class="res"></td>' for _ in tl.resources)
    rows.append('<tr class="end">' + "".join(end) + "</tr>")
    rows += ["</tbody>", "</table>"]
    return rows


def index_page(pages: Sequence[tuple[str, Outcome]]) -> str:
    """The page that lists the reports written into a directory (relative links)."""
    rows = ["<table class=\"lanes\" id=\"index\"><thead><tr><th>model</th><th>time</th><th>verdict</th>"
            "<th>steps</th><th>states</th></tr></thead><tbody>"]
    for href, o in pages:
        r = o.result
        steps = str(len(r.trace.steps)) if r is not None and r.trace is not None else "-"
        states = f"{r.stats.states:,}" if r is not None else "-"
        rows.append(f'<tr><td><a href="{_e(href)}">{_e(o.path)}</a></td><td>{_e(o.time.value)}</td>'
                    f'<td><span class="verdict {_verdict_class(o)}">{_e(o.what)}</span></td>'
                    f"<td>{steps}</td><td>{states}</td></tr>")
    rows.append("</tbody></table>")
    return _doc("mcheck reports", ["<h1>mcheck reports</h1>", *rows])
