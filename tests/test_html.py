"""--html and --dot: the report page's content, its determinism and self-containment, and the page
as a real headless Chromium renders it (DOM and a screenshot compared with tests/golden/)."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import MODELS

from mcheck import bfs, html, waitgraph
from mcheck.cli import main
from mcheck.model import TimeMode
from mcheck.runs import Options, Outcome, run_file
from mcheck.verify import Engine

GOLDEN = Path(__file__).resolve().parent / "golden"
SCREENSHOT = GOLDEN / "production.untimed.png"
WINDOW = (1400, 2100)


def outcome(name: str, time: TimeMode = TimeMode.UNTIMED, **kw: object) -> Outcome:
    """The report tests pin the current-thread runtime: its traces are the short ones they count."""
    kw.setdefault("runtime", "current-thread")
    path = f"models/{name}"  # as CI would name it, relative to the repository
    cwd = os.getcwd()
    os.chdir(MODELS.parent)
    try:
        return run_file(path, Options(time=time, **kw))  # type: ignore[arg-type]
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="module")
def production() -> Outcome:
    return outcome("production.mc")


def test_production_page_has_lanes_steps_resources_and_the_graph(production: Outcome) -> None:
    page = html.page(production)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    lanes = re.findall(r'<th class="lane[^"]*" data-task="([^"]+)"', page)
    assert lanes == ["pool", "request[0]", "request[1]", "main"]  # a lane per task, declaration order
    assert len(re.findall(r'<tr class="step" id="step-\d+">', page)) == 9
    assert re.search(r'<th class="res"><code>claims</code><span class="role">Channel \(on the cycle\)', page)
    # The step each task ran is in its own column: step 5 is main's (the fourth lane).
    step5 = re.search(r'<tr class="step" id="step-5">(.*?)</tr>', page, re.S)
    assert step5 is not None
    cells = re.findall(r'<td class="([^"]*)"', step5.group(1))
    assert cells[0] == "num" and cells[4] == "lane active dormant" and cells[1:4] == ["lane"] * 3
    assert "<code>collection</code> is dormant from this step" in step5.group(1)
    assert "81:17 | _ = sleep(5) =&gt; {" in step5.group(1)  # the source line of the step
    # The dormant mark stays on main's lane to the end, and not before step 5.
    for n in (6, 7):
        row = re.search(rf'<tr class="step" id="step-{n}">(.*?)</tr>', page, re.S)
        assert row is not None and re.findall(r'<td class="([^"]*)"', row.group(1))[4].endswith("dormant")
    row4 = re.search(r'<tr class="step" id="step-4">(.*?)</tr>', page, re.S)
    assert row4 is not None and "dormant" not in re.findall(r'<td class="([^"]*)"', row4.group(1))[4]
    # The resource column says who holds, was handed or queues.
    assert ("handed to <code>self.claims.send(Request::Claim(tx))</code> in <code>collection</code> (task main), "
            "not yet taken") in page
    assert "queue 3: <code>self.claims.send(Request::Claim(tx))</code> in <code>qorb.claim()</code> (task request[0])" in page
    assert 'Step 5 reaches the first stuck state' in page
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert svg.count('<g class="node') == 7 and svg.count('<g class="edge') == 7
    assert '<g class="node future dormant"' in svg and 'class="edge return closes"' in svg


def test_the_page_is_self_contained_and_deterministic(production: Outcome) -> None:
    page = html.page(production)
    assert "<script" not in page and "<link" not in page and "<img" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "url(" not in page.replace("url(#arrow)", "")
    again = html.page(outcome("production.mc"))  # another run: other timings, the same page
    assert again == page


def test_safe_inconclusive_and_bad_input_pages(tmp_path: Path) -> None:
    safe = html.page(outcome("rfd609_fix_owned.mc"))
    assert 'class="verdict safe"' in safe and re.search(r"every reachable state was visited \(11 states", safe)
    proved = html.page(outcome("rfd609_fix_owned.mc", engine=Engine.Z3))
    assert re.search(r'id="proof">safe \(proved; inductive invariant with \d+ clauses\)', proved)
    assert proved.count("<li><code>") > 1
    stopped = html.page(outcome("production_fix.mc", limits=bfs.Limits(max_states=20)))
    assert 'class="verdict inconclusive"' in stopped and "--max-states 20 reached" in stopped
    bad = tmp_path / "bad.mc"
    bad.write_text("task main { nothing(); }\n")
    page = html.page(run_file(str(bad), Options()))
    assert 'class="verdict bad-input"' in page and f"{bad}:1:13: error:" in page
    assert '<li id="L1" class="hit">' in page


def test_cli_writes_html_and_dot(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    page, dot = tmp_path / "r.html", tmp_path / "w.dot"
    code = main(["verify", str(MODELS / "rfd609.mc"), "--quiet", "--html", str(page), "--dot", str(dot)])
    assert code == 1
    assert "futurelock found" in capsys.readouterr().out  # the text report is printed as well
    assert 'class="verdict futurelock"' in page.read_text()
    text = dot.read_text()
    assert text.splitlines()[1] == "digraph waitfor {" and text.rstrip().endswith("}")
    assert 'n0 [label="task main\\nstuck, culprit", penwidth=2];' in text
    assert re.search(r'n2 \[label="`m.lock\(\)` in `f1`\\ndormant, in task main", style="rounded,dashed"', text)
    assert "n0 -> n1 [label=\"awaits\"" in text and "n1 -> n2 [label=\"queued on `lock` behind (handed it, not taken)\"" in text
    code = main(["verify", str(MODELS / "rfd609_fix_owned.mc"), "--quiet", "--dot", str(dot)])
    assert code == 0 and dot.read_text().count("->") == 0 and "safe" in dot.read_text()
    code = main(["verify", str(MODELS / "rfd609.mc"), "--quiet", "--html", str(tmp_path / "no" / "such")])
    assert code == 1  # parent directories are made
    reports = tmp_path / "reports"
    reports.mkdir()
    code = main(["verify", str(MODELS / "rfd609.mc"), "--quiet", "--html", str(reports)])  # an existing directory
    rel = (MODELS / "rfd609.mc").relative_to(MODELS.anchor).with_name("rfd609.untimed.html")
    assert code == 1 and (reports / rel).exists() and (reports / "index.html").exists()
    (tmp_path / "file").write_text("")
    code = main(["verify", str(MODELS / "rfd609.mc"), "--quiet", "--html", str(tmp_path / "file" / "x.html")])
    assert code == 2 and "cannot write --html" in capsys.readouterr().err


def test_graph_layout_keeps_nodes_apart(production: Outcome) -> None:
    assert production.model is not None and production.result is not None and production.result.trace is not None
    trace = production.result.trace
    g = waitgraph.build(production.model, trace.report, trace.steps[-1].state)
    boxes, width, height = waitgraph.layout(g)
    assert len(g.rows) == 2 and g.rows[0] == (0, 1, 2)  # the cycle, then the victims' paths
    for row in g.rows:
        for a, b in itertools.pairwise(row):
            assert boxes[a].x + boxes[a].w + 40 <= boxes[b].x  # room for the edge and its label
    assert all(b.x >= 0 and b.x + b.w <= width and b.y + waitgraph.NODE_H <= height for b in boxes.values())


# ---- in a real browser ----------------------------------------------------------------------------


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed: .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium): the browser tests need it")
    return found


def browse(page: Path, tmp_path: Path, *what: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium on a local file, offline: no network, no first-run, no sync, its own profile."""
    profile = tmp_path / "profile"
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--hide-scrollbars", "--force-device-scale-factor=1", f"--user-data-dir={profile}",
           f"--window-size={WINDOW[0]},{WINDOW[1]}", *what, page.as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)


def screenshot(page: Path, tmp_path: Path, name: str) -> Path:
    png = tmp_path / name
    browse(page, tmp_path, f"--screenshot={png}")
    assert png.exists()
    return png


def image_difference(a: Path, b: Path) -> float:
    """The share of 4x4-pixel blocks whose mean grey level differs by more than 24 of 255 (1.0 when
    the sizes differ). Averaging over blocks forgives anti-aliasing and sub-pixel glyph shifts; a
    moved column, a missing graph or a wider lane changes many blocks."""
    from PIL import Image, ImageChops

    ia, ib = Image.open(a).convert("L"), Image.open(b).convert("L")
    if ia.size != ib.size:
        return 1.0
    small = (ia.width // 4, ia.height // 4)
    da = ia.resize(small, Image.Resampling.BOX)
    db = ib.resize(small, Image.Resampling.BOX)
    diff = ImageChops.difference(da, db)
    changed = sum(count for level, count in enumerate(diff.histogram()) if level > 24)
    return changed / (small[0] * small[1])


TOLERANCE = 0.002
"""At most 0.2% of the blocks may differ from the reference screenshot."""


def test_the_browser_builds_the_lanes_steps_and_graph(production: Outcome, tmp_path: Path) -> None:
    page = tmp_path / "production.html"
    page.write_text(html.page(production))
    dom = browse(page, tmp_path, "--dump-dom").stdout
    assert dom.count('<th class="lane') == 4
    assert len(re.findall(r'<tr class="step" id="step-\d+">', dom)) == 9
    svg = dom[dom.index("<svg"):dom.index("</svg>")]
    assert len(re.findall(r'<g class="node', svg)) == 7 and len(re.findall(r'<g class="edge', svg)) == 7
    label = r"`self\.claims\.send\(Request::Claim\(tx\)\)` in `collection`"
    assert re.search(r'<text [^>]*class="node-label"[^>]*>' + label + "</text>", svg)


def test_screenshot_of_the_production_report_matches_the_reference(production: Outcome, tmp_path: Path,
                                                                   update_golden: bool) -> None:
    page = tmp_path / "production.html"
    page.write_text(html.page(production))
    png = screenshot(page, tmp_path, "production.png")
    if update_golden:
        shutil.copy(png, SCREENSHOT)
    assert SCREENSHOT.exists(), "no reference screenshot: run pytest --update-golden"
    diff = image_difference(png, SCREENSHOT)
    kept = Path(os.environ.get("MCHECK_SCREENSHOT_DIR", tmp_path)) / "production.untimed.png"
    if diff > TOLERANCE and kept != png:
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(png, kept)
    assert diff <= TOLERANCE, (f"the report renders differently from {SCREENSHOT.name}: {diff:.2%} of the page differs "
                               f"(the new screenshot is {kept}; rerun with --update-golden if intended)")


@pytest.mark.parametrize("breakage", ["narrower lanes", "no graph", "one lane fewer"])
def test_the_screenshot_comparison_catches_a_broken_layout(production: Outcome, tmp_path: Path, breakage: str) -> None:
    """The tolerance forgives rendering noise, not layout: each of these pages must fail."""
    good = html.page(production)
    broken = {
        "narrower lanes": good.replace("col.lane { width: 230px; }", "col.lane { width: 200px; }"),
        "no graph": re.sub(r"<svg.*?</svg>", "", good, flags=re.S),
        "one lane fewer": good.replace('<col class="lane">', "", 1),
    }[breakage]
    assert broken != good
    page = tmp_path / "broken.html"
    page.write_text(broken)
    png = screenshot(page, tmp_path, "broken.png")
    assert SCREENSHOT.exists(), "no reference screenshot: run pytest --update-golden"
    assert image_difference(png, SCREENSHOT) > TOLERANCE * 5
