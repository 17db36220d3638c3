"""Executable forms of the IR: compiled Python functions for the BFS, an interpreter for analysis.

`compile_system` generates Python source for successor generation and the stuck-set check of a
`TransitionSystem` (shared subexpressions become local temporaries) and `exec`s it once. It must
stay a faithful reading of ir.py: the interpreter `evaluate` is the reference it is tested against.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcheck.budget import Budget
from mcheck.ir import Expr, Op, Transition, TransitionSystem, WaitGraph

State = tuple[int, ...]
Successors = Callable[[State], list[tuple[int, State]]]


def evaluate(e: Expr, state: State, memo: dict[int, int] | None = None) -> int:
    """Reference interpreter: the value of e in state (booleans are 0/1). Iterative, and strict in
    every argument (expressions are total, so this only costs time)."""
    if memo is None:
        memo = {}
    stack: list[tuple[Expr, bool]] = [(e, False)]
    while stack:
        x, expanded = stack.pop()
        if x.uid in memo:
            continue
        if x.op is Op.CONST:
            memo[x.uid] = x.value
            continue
        if x.op is Op.VAR:
            memo[x.uid] = state[x.value]
            continue
        if not expanded:
            stack.append((x, True))
            stack.extend((y, False) for y in x.args)
            continue
        v = [memo[y.uid] for y in x.args]
        memo[x.uid] = _APPLY[x.op](v)
    return memo[e.uid]


_APPLY: dict[Op, Callable[[list[int]], int]] = {
    Op.ITE: lambda v: v[1] if v[0] else v[2],
    Op.AND: lambda v: int(all(v)),
    Op.OR: lambda v: int(any(v)),
    Op.NOT: lambda v: int(not v[0]),
    Op.EQ: lambda v: int(v[0] == v[1]),
    Op.NE: lambda v: int(v[0] != v[1]),
    Op.LT: lambda v: int(v[0] < v[1]),
    Op.LE: lambda v: int(v[0] <= v[1]),
    Op.ADD: lambda v: v[0] + v[1],
    Op.SUB: lambda v: v[0] - v[1],
    Op.MIN: lambda v: min(v),
}


def stuck_set(waits: WaitGraph, state: State) -> set[int]:
    """Reference greatest fixpoint: the largest set of nodes that are stuck in state."""
    memo: dict[int, int] = {}
    s = {i for i, n in enumerate(waits.nodes) if evaluate(n.live, state, memo) and not evaluate(n.ready, state, memo)}
    edges = [(e.src, e.dst) for e in waits.edges if e.src in s and evaluate(e.cond, state, memo)]
    changed = True
    while changed:
        changed = False
        for a, b in edges:
            if a in s and b not in s:
                s.discard(a)
                changed = True
    return s


# ---- code generation ---------------------------------------------------------------------------


class _Gen:
    """Emits Python statements computing expressions, hoisting shared nodes into temporaries."""

    def __init__(self, refcount: dict[int, int], indent: str) -> None:
        self.refcount = refcount
        self.indent = indent
        self.names: dict[int, str] = {}
        self.lines: list[str] = []

    def expr(self, root: Expr) -> str:
        """Python text for root; shared or large subexpressions become temporaries (emitted to
        `lines` before their first use). Iterative: expressions can be thousands of nodes deep."""
        texts: dict[int, str] = {}

        def text_of(x: Expr) -> str:
            if x.op is Op.CONST:
                return str(x.value)
            if x.op is Op.VAR:
                return f"v{x.value}"
            return self.names.get(x.uid) or texts[x.uid]

        stack: list[tuple[Expr, bool]] = [(root, False)]
        while stack:
            e, expanded = stack.pop()
            if e.op in (Op.CONST, Op.VAR) or e.uid in self.names or e.uid in texts:
                continue
            if not expanded:
                stack.append((e, True))
                stack.extend((x, False) for x in reversed(e.args))
                continue
            a = [text_of(x) for x in e.args]
            op = e.op
            if op is Op.AND:
                text = "(" + " and ".join(a) + ")"
            elif op is Op.OR:
                text = "(" + " or ".join(a) + ")"
            elif op is Op.NOT:
                text = f"(not {a[0]})"
            elif op is Op.ITE:
                text = f"({a[1]} if {a[0]} else {a[2]})"
            elif op is Op.MIN:
                text = f"({a[0]} if {a[0]} < {a[1]} else {a[1]})"
            else:
                text = f"({a[0]} {op.value} {a[1]})"
            if self.refcount.get(e.uid, 0) >= 2 or len(text) > 400:
                name = f"t{e.uid}"
                self.lines.append(f"{self.indent}{name} = {text}")
                self.names[e.uid] = name
            else:
                texts[e.uid] = text
        return text_of(root)


def _count_refs(roots: list[Expr]) -> dict[int, int]:
    counts: dict[int, int] = {}
    stack = list(roots)
    while stack:
        e = stack.pop()
        c = counts.get(e.uid, 0)
        counts[e.uid] = c + 1
        if c == 0 and e.op not in (Op.CONST, Op.VAR):
            stack.extend(e.args)
    return counts


def _conjuncts(e: Expr) -> list[Expr]:
    return list(e.args) if e.op is Op.AND else [e]


def _transition_code(t: Transition[Any], conjuncts: list[Expr], n: int, indent: str) -> list[str]:
    """`while True:` block that appends (index, successor) when the conjuncts hold."""
    inner = indent + "    "
    g = _Gen(_count_refs(conjuncts + [u for _, u in t.updates]), inner)
    body = [f"{indent}# transition {t.index}", f"{indent}while True:"]
    for c in conjuncts:
        text = g.expr(c)
        body.extend(g.lines)
        g.lines.clear()
        body.append(f"{inner}if not {text}: break")
    new = {i: f"v{i}" for i in range(n)}
    for var, u in t.updates:
        new[var] = g.expr(u)
        body.extend(g.lines)
        g.lines.clear()
    tup = "(" + ", ".join(new[i] for i in range(n)) + ("," if n == 1 else "") + ")"
    body.append(f"{inner}out.append(({t.index}, {tup}))")
    body.append(f"{inner}break")
    return body


@dataclass(frozen=True, slots=True)
class CompiledSystem:
    successors: tuple[Successors, ...]  # one per priority level, lowest first
    # How many processes are stuck (0: the state is not stuck). `enabled` holds the processes
    # with an enabled transition in the state, if known: they cannot be stuck.
    stuck_tasks: Callable[[State, frozenset[int] | set[int]], int]
    overflow: Callable[[State], bool]
    quiescent: Callable[[State], bool]  # no process is in the middle of a step sequence (ir.TransitionSystem)
    atomic: bool  # TransitionSystem.atomic: a sequence is one step, its intermediate states are not kept
    source: str

    def blocked(self, s: State) -> bool:
        """s is beyond a bound of the model and is not explored further (a bound is looked at
        where no poll is under way: in a quiescent state)."""
        return self.overflow(s) and self.quiescent(s)

    def checked(self, s: State) -> bool:
        """The stuck predicate is asked of s only where no poll is under way. (A state mid-poll
        leads, by that poll's end, to a quiescent one in which whatever is stuck still is.)"""
        return self.quiescent(s)

    def step(self, s: State) -> list[tuple[int, State]]:
        """The successors of s: those of the lowest priority level that has any (ir.Transition)."""
        for level in self.successors:
            succs = level(s)
            if succs:
                return succs
        return []


LAZY_TRANSITIONS = 600
LAZY_NODES = 20_000
"""Systems with more transitions, or more expression nodes in their transitions, than these
compile each dispatch group on first use: large systems often reach few of their transitions,
and Python compiles big sources slowly."""


def _dispatch_key(e: Expr) -> tuple[int, int] | None:
    if e.op is Op.EQ and e.args[0].op is Op.VAR and e.args[1].op is Op.CONST:
        return e.args[0].value, e.args[1].value
    return None


Guarded = tuple[Transition[Any], list[Expr]]  # a transition and the conjuncts its code still tests


def _lazy_group(groups: list[Callable[[State, list[tuple[int, State]]], None]], gi: int,
                members: list[Guarded], n: int, budget: Budget) -> Callable[[State, list[tuple[int, State]]], None]:
    def stub(s: State, out: list[tuple[int, State]]) -> None:
        body = ["def group(s, out):", f"    ({', '.join(f'v{i}' for i in range(n))},) = s" if n else "    pass"]
        for t, conjuncts in members:
            budget.check()  # a group can take minutes to generate: it must not outlive --timeout
            body.extend(_transition_code(t, conjuncts, n, "    "))
        namespace: dict[str, Any] = {}
        exec(compile("\n".join(body) + "\n", f"<mcheck-ir group {gi}>", "exec"), namespace)
        groups[gi] = namespace["group"]
        groups[gi](s, out)

    return stub


LEAF_GROUP = 8


def dispatch_split(members: list[Guarded]) -> tuple[int, dict[int, list[Guarded]], list[Guarded]] | None:
    """One level of the dispatch tree: the variable most of `members` test with `var == const`
    (any that two of them test), the members by that value (without that conjunct) and the rest;
    None when they stay one leaf group. The C kernel (mcheck/kernel/codegen.py) builds its tree
    with this too, so both engines try transitions in the same order (NOTE(kernel-order))."""
    votes: dict[int, set[int]] = {}
    counts: dict[int, int] = {}
    for _t, cs in members:
        for c in cs:
            k = _dispatch_key(c)
            if k is not None:
                votes.setdefault(k[0], set()).add(k[1])
                counts[k[0]] = counts.get(k[0], 0) + 1
    best = max(counts, key=lambda v: (counts[v], len(votes[v])), default=None)
    if len(members) <= LEAF_GROUP or best is None or counts[best] < 2:
        return None
    by_value: dict[int, list[Guarded]] = {}
    rest: list[Guarded] = []
    for t, cs in members:
        hit = next((c for c in cs if (k := _dispatch_key(c)) is not None and k[0] == best), None)
        if hit is None:
            rest.append((t, cs))
        else:
            by_value.setdefault(hit.args[1].value, []).append((t, [c for c in cs if c is not hit]))
    return best, by_value, rest


def _decision_tree(members: list[Guarded], indent: str, parts: list[str],
                   groups: list[Callable[[State, list[tuple[int, State]]], None]], n: int, budget: Budget) -> None:
    """Dispatch on `var == const` conjuncts (dispatch_split), recursing on each value; small
    groups become lazily compiled functions."""
    split = dispatch_split(members)
    if split is None:
        groups.append(_lazy_group(groups, len(groups), members, n, budget))
        parts.append(f"{indent}_groups[{len(groups) - 1}](s, out)")
        return
    best, by_value, rest = split
    for i, value in enumerate(sorted(by_value)):
        parts.append(f"{indent}{'if' if i == 0 else 'elif'} v{best} == {value}:")
        _decision_tree(by_value[value], indent + "    ", parts, groups, n, budget)
    if rest:
        _decision_tree(rest, indent, parts, groups, n, budget)


def _size(transitions: tuple[Transition[Any], ...]) -> int:
    """Expression nodes the transitions' code would evaluate (shared nodes once per transition)."""
    total = 0
    for t in transitions:
        total += len(_count_refs([t.guard, *(u for _, u in t.updates)]))
        if total > LAZY_NODES:
            break
    return total


def compile_system(ts: TransitionSystem[Any], budget: Budget | None = None) -> CompiledSystem:
    """The system as Python functions; `budget` bounds the code generation, also where it happens
    lazily during the search (it raises OutOfBudget from `step`)."""
    budget = budget or Budget()
    n = len(ts.vars)
    unpack = f"    ({', '.join(f'v{i}' for i in range(n))},) = s" if n else "    pass"
    parts: list[str] = []
    levels = sorted({t.priority for t in ts.transitions}) or [0]
    lazy = len(ts.transitions) > LAZY_TRANSITIONS or _size(ts.transitions) > LAZY_NODES
    group_fns: list[Callable[[State, list[tuple[int, State]]], None]] = []
    for level in levels:
        parts.append(f"def succ{level}(s):")
        parts.append(unpack)
        parts.append("    out = []")
        if lazy:
            _decision_tree([(t, _conjuncts(t.guard)) for t in ts.transitions if t.priority == level], "    ",
                           parts, group_fns, n, budget)
        else:
            # Dispatch on the first conjunct when it is `var == const` (typically a program counter).
            groups: dict[tuple[int, int] | None, list[Transition[Any]]] = {}
            for t in ts.transitions:
                if t.priority == level:
                    groups.setdefault(_dispatch_key(_conjuncts(t.guard)[0]), []).append(t)
            for key, group in groups.items():
                indent = "    "
                if key is not None:
                    parts.append(f"    if v{key[0]} == {key[1]}:")
                    indent = "        "
                for t in group:
                    budget.check()
                    parts.extend(_transition_code(t, _conjuncts(t.guard)[1 if key is not None else 0 :], n, indent))
        parts.append("    return out")
        parts.append("")
    # Stuck check: greatest fixpoint over the wait-for graph (see ir.WaitGraph).
    w = ts.waits
    parts.append("def stuck_tasks(s, enabled=()):")
    parts.append(unpack)
    gq = _Gen(_count_refs([r.alive for r in w.roots]), "    ")
    quick = [f"(not {gq.expr(r.alive)} or {i} in enabled)" for i, r in enumerate(w.roots)]
    parts.extend(gq.lines)
    parts.append(f"    if {' and '.join(quick) or 'True'}: return 0")
    roots = [x for node in w.nodes for x in (node.live, node.ready)] + [e.cond for e in w.edges] + [r.alive for r in w.roots]
    g = _Gen(_count_refs(roots), "    ")
    node_terms = []
    for node in w.nodes:
        live = g.expr(node.live)
        ready = g.expr(node.ready)
        node_terms.append(f"bool({live} and not {ready})")
    parts.extend(g.lines)
    g.lines.clear()
    parts.append(f"    S = [{', '.join(node_terms)}]")
    root_nodes = ", ".join(str(r.node) for r in w.roots)
    parts.append(f"    if not any(S[i] for i in ({root_nodes}{',' if len(w.roots) == 1 else ''})): return 0")
    by_src: dict[int, list[str]] = {}
    for e in w.edges:
        cond = g.expr(e.cond)
        by_src.setdefault(e.src, []).append(f"({cond} and not S[{e.dst}])")
    parts.extend(g.lines)
    g.lines.clear()
    parts.append("    changed = True")
    parts.append("    while changed:")
    parts.append("        changed = False")
    for src in sorted(by_src):
        parts.append(f"        if S[{src}] and ({' or '.join(by_src[src])}):")
        parts.append(f"            S[{src}] = False")
        parts.append("            changed = True")
    alive_terms = []
    for r in w.roots:
        alive_terms.append(f"bool(S[{r.node}] and {g.expr(r.alive)})")
    parts.extend(g.lines)
    g.lines.clear()
    parts.append(f"    return {' + '.join(alive_terms) or '0'}")
    parts.append("")
    parts.append("def overflow(s):")
    parts.append(unpack)
    g = _Gen(_count_refs([ts.overflow]), "    ")
    text = g.expr(ts.overflow)
    parts.extend(g.lines)
    parts.append(f"    return bool({text})")
    parts.append("")
    parts.append("def quiescent(s):")
    parts.append(unpack)
    if ts.quiescent is not None:
        g = _Gen(_count_refs([ts.quiescent]), "    ")
        text = g.expr(ts.quiescent)
        parts.extend(g.lines)
        parts.append(f"    return bool({text})")
    else:
        parts.append("    return True")
    source = "\n".join(parts) + "\n"
    namespace: dict[str, Any] = {"_groups": group_fns}
    exec(compile(source, "<mcheck-ir>", "exec"), namespace)
    succ = tuple(namespace[f"succ{level}"] for level in levels)
    return CompiledSystem(succ, namespace["stuck_tasks"], namespace["overflow"], namespace["quiescent"], ts.atomic,
                          source)
