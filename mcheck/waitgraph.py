"""The wait-for graph of a stuck state, drawn: the cycle (or chain) of `StuckReport.cycle` plus
each victim's path into it, laid out in rows, written as inline SVG (for the HTML report) or as
Graphviz DOT (`--dot`).

Reads only the stuck report and the symbol table, and words its nodes and edges through render.py
(`Describer`, `link_text`, `link_label`); it decides nothing. The layout is the project's own and
deterministic: the graphs are small (a cycle plus victim paths), and no Graphviz is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from mcheck.analysis import Link, StuckReport
from mcheck.evaluate import State
from mcheck.ir import EdgeKind
from mcheck.model import CompiledModel, SlotKind
from mcheck.render import Describer, compressed, link_label, link_text
from mcheck.timeline import is_dormant


@dataclass(frozen=True, slots=True)
class Node:
    slot: int
    label: str  # how the trace names it: "task main", "`m.lock()` in `f1`"
    note: str  # the second line: its task, and whether it is dormant
    task_node: bool
    dormant: bool
    stuck: bool  # a task root that can never run again


@dataclass(frozen=True, slots=True)
class Edge:
    src: int  # index into Graph.nodes
    dst: int
    kind: EdgeKind
    label: str  # a few words
    text: str  # the sentence (link_text)
    closes: bool  # the edge back to where the cycle started


@dataclass(frozen=True, slots=True)
class Graph:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    rows: tuple[tuple[int, ...], ...]  # row 0: the cycle in order; row 1: the victims' paths, side by side
    groups: tuple[int, ...]  # for each node of row 1, which victim path it belongs to


def build(model: CompiledModel, report: StuckReport, state: State) -> Graph:
    d = Describer(model)
    index: dict[int, int] = {}
    nodes: list[Node] = []
    edges: list[Edge] = []

    def node(slot: int) -> int:
        if slot not in index:
            s = model.slots[slot]
            task = model.tasks[s.task].name
            dormant = s.kind is not SlotKind.ROOT and is_dormant(model, state, slot)
            if s.kind is SlotKind.ROOT:
                role = "victim" if s.task in report.victims else "culprit" if s.task in report.culprit_tasks else ""
                note = f"stuck{f', {role}' if role else ''}" if s.task in report.stuck_tasks else "running"
            else:
                note = f"{'dormant, ' if dormant else ''}in task {task}"
            index[slot] = len(nodes)
            nodes.append(Node(slot, d.slot(slot), note, s.kind is SlotKind.ROOT, dormant,
                              s.kind is SlotKind.ROOT and s.task in report.stuck_tasks))
        return index[slot]

    def edge(link: Link, closes: bool = False) -> None:
        edges.append(Edge(node(link.src), node(link.dst), link.kind, link_label(model, d, link, state),
                          link_text(model, d, link, state), closes))

    cycle = compressed(model, report.cycle)
    closed = bool(cycle) and cycle[-1].dst == cycle[0].src
    for i, link in enumerate(cycle):
        if i == 0:
            node(link.src)
        edge(link, closes=closed and i == len(cycle) - 1)
    row0 = tuple(range(len(nodes)))
    row1: list[int] = []
    groups: list[int] = []
    for g, path in enumerate(report.victim_paths):
        for link in compressed(model, path):
            for slot in (link.src, link.dst):
                if slot not in index:
                    row1.append(node(slot))
                    groups.append(g)
            edge(link)
    return Graph(tuple(nodes), tuple(edges), (row0, tuple(row1)) if row1 else (row0,), tuple(groups))


# ---- SVG -----------------------------------------------------------------------------------------

CHAR_W = 7.3  # px per character of the 12px monospace font the SVG uses (DejaVu Sans Mono: 0.6 em)
LABEL_W = 6.6  # px per character of the 11px edge labels
NODE_H = 42
PAD = 12
TOP = 64  # room above row 0 for the edge that closes the cycle
ROW_GAP = 96


@dataclass(frozen=True, slots=True)
class _Box:
    x: float
    y: float
    w: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2


def _width(n: Node) -> float:
    return max(len(n.label), len(n.note)) * CHAR_W + 2 * PAD


def _label_width(text: str) -> float:
    return len(text) * LABEL_W + 16


def layout(g: Graph) -> tuple[dict[int, _Box], float, float]:
    """Node boxes, total width and height: each row left to right, a gap wide enough for the
    label of the edge between neighbours."""
    between = {(e.src, e.dst): e.label for e in g.edges}
    boxes: dict[int, _Box] = {}
    width = 0.0
    for r, row in enumerate(g.rows):
        x = 20.0
        y = TOP + r * (NODE_H + ROW_GAP)
        for i, n in enumerate(row):
            if i:
                prev = row[i - 1]
                gap = _label_width(between[(prev, n)]) if (prev, n) in between else 56.0
                if r == 1 and g.groups[i] != g.groups[i - 1]:
                    gap = max(gap, 56.0)
                x += max(gap, 56.0)
            boxes[n] = _Box(x, y, _width(g.nodes[n]))
            x += boxes[n].w
        width = max(width, x + 20)
    height = TOP + len(g.rows) * NODE_H + (len(g.rows) - 1) * ROW_GAP + 40
    return boxes, width, height


def _text(x: float, y: float, s: str, cls: str, anchor: str = "middle") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" class="{cls}" text-anchor="{anchor}">{escape(s)}</text>'


def _edge_label(x: float, y: float, s: str) -> str:
    w = _label_width(s) - 8
    return (f'<rect x="{x - w / 2:.1f}" y="{y - 11:.1f}" width="{w:.1f}" height="15" class="edge-label-bg"/>'
            + _text(x, y, s, "edge-label"))


def to_svg(g: Graph) -> str:
    """An inline SVG drawing (no scripts, no external references), deterministic for a graph."""
    boxes, width, height = layout(g)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="waitgraph" width="{width:.0f}" height="{height:.0f}" '
             f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="wait-for graph of the stuck state">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
             'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" class="arrowhead"/></marker></defs>']
    for e in g.edges:
        a, b = boxes[e.src], boxes[e.dst]
        cls = f"edge {e.kind.value}{' closes' if e.closes else ''}"
        if e.closes:  # an arc above row 0, from the last node back to the first
            lift = TOP - 22
            path = f"M {a.cx:.1f} {a.y:.1f} C {a.cx:.1f} {a.y - lift:.1f}, {b.cx:.1f} {b.y - lift:.1f}, {b.cx:.1f} {b.y:.1f}"
            lx, ly = (a.cx + b.cx) / 2, a.y - lift * 0.75 + 4
        elif abs(a.y - b.y) < 1:  # neighbours in a row
            y = a.y + NODE_H / 2
            x1, x2 = (a.x + a.w, b.x) if b.x > a.x else (a.x, b.x + b.w)
            path = f"M {x1:.1f} {y:.1f} L {x2:.1f} {y:.1f}"
            lx, ly = (x1 + x2) / 2, y - 6
        else:  # from a victim's path up into the cycle
            x1, y1, x2, y2 = a.cx, a.y, b.cx, b.y + NODE_H
            mid = (y1 + y2) / 2
            path = f"M {x1:.1f} {y1:.1f} C {x1:.1f} {mid:.1f}, {x2:.1f} {mid:.1f}, {x2:.1f} {y2:.1f}"
            lx, ly = x1 + (x2 - x1) * 0.1, y1 - ROW_GAP * 0.3
        parts.append(f'<g class="{cls}"><title>{escape(e.text)}</title>'
                     f'<path d="{path}" marker-end="url(#arrow)"/>{_edge_label(lx, ly, e.label)}</g>')
    for i, n in enumerate(g.nodes):
        b = boxes[i]
        cls = "node " + ("task" if n.task_node else "future") + (" dormant" if n.dormant else "") + \
            (" stuck" if n.stuck else "")
        parts.append(f'<g class="{cls}" data-slot="{n.slot}"><title>{escape(n.label)} ({escape(n.note)})</title>'
                     f'<rect x="{b.x:.1f}" y="{b.y:.1f}" width="{b.w:.1f}" height="{NODE_H}" rx="6"/>'
                     + _text(b.cx, b.y + 17, n.label, "node-label") + _text(b.cx, b.y + 33, n.note, "node-note")
                     + "</g>")
    parts.append("</svg>")
    return "\n".join(parts)


# ---- DOT -----------------------------------------------------------------------------------------


def _dot_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(g: Graph | None, title: str) -> str:
    """Graphviz DOT; `g` None (no stuck state) gives a graph with only its title."""
    lines = [f"// {title}", "digraph waitfor {", f"  label={_dot_str(title)};", "  labelloc=t;"]
    if g is not None:
        lines += ["  rankdir=LR;", '  node [shape=box, style=rounded, fontname="monospace"];',
                  '  edge [fontname="sans-serif", fontsize=10];']
        for i, n in enumerate(g.nodes):
            style = ', style="rounded,dashed", color=red' if n.dormant else ", penwidth=2" if n.stuck else ""
            lines.append(f"  n{i} [label={_dot_str(n.label + chr(10) + n.note)}{style}];")
        for e in g.edges:
            extra = ", constraint=false" if e.closes else ""
            lines.append(f"  n{e.src} -> n{e.dst} [label={_dot_str(e.label)}, tooltip={_dot_str(e.text)}{extra}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
