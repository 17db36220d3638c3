"""IR → C: one self-contained C file per TransitionSystem, the search kernel (as SPIN's pan.c).

NOTE(kernel-order): the generated code mirrors `evaluate.compile_system` exactly, including the order in which it
lists successors (the same dispatch on `var == const` conjuncts, the same decision tree for large
systems), so that the kernel's BFS stores states in the same order as `bfs.search` and finds the
same shortest trace. The fixed part (`runtime.c`: packing, the visited set, the BFS loop, the
atomic poll expansion) is shared by every model; this module writes the model's part: successor
functions per priority level, the stuck check, overflow, quiescent, symmetry representatives and
the layout of a stored state in 64-bit words.

Arithmetic is on `long long` over values the variables' declared ranges bound (ir.Intervals), so
no expression can overflow; a value outside its declared range is reported by the packing code,
never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

from mcheck.evaluate import LAZY_NODES, LAZY_TRANSITIONS, _conjuncts, _count_refs, _dispatch_key, _size, dispatch_split
from mcheck.ir import Expr, Intervals, Op, Transition, TransitionSystem

CODEGEN_VERSION = 1
"""Part of the cache key: bump it whenever the generated C changes for the same IR."""

MAX_SOURCE = 2_000_000
"""The largest kernel source compiled (characters): gcc -O1 (build.OPTIMIZE) takes 9 s on 1.3 MB
of generated C and a minute on 5 MB.
Models larger still (thousands of transitions that each reset dozens of variables) run on the
Python engine, which compiles only the transitions reached."""

INT_LIMIT = 1 << 62
"""Every intermediate value must stay within ±INT_LIMIT (long long holds it with room to spare)."""


class Unsupported(Exception):
    """The IR has something the kernel does not handle (a value range beyond 64-bit arithmetic):
    the search runs on the Python engine."""


@dataclass(frozen=True, slots=True)
class Field:
    var: int
    word: int
    shift: int
    bits: int
    lo: int
    hi: int


@dataclass(frozen=True, slots=True)
class Layout:
    """Where each stored variable lives in a state's words. With atomic polls every stored state
    is quiescent, so the variables in `TransitionSystem.rest` are not stored (their value is
    known), nor are variables whose range is a single value."""

    words: int
    fields: tuple[Field, ...]
    fixed: tuple[tuple[int, int], ...]  # (var, value) restored on unpacking, checked on packing

    @property
    def bits(self) -> int:
        return sum(f.bits for f in self.fields)


def layout(ts: TransitionSystem[Any]) -> Layout:
    rest = dict(ts.rest) if ts.atomic else {}
    fixed: list[tuple[int, int]] = []
    todo: list[tuple[int, int]] = []
    for i, v in enumerate(ts.vars):
        if i in rest:
            fixed.append((i, rest[i]))
        elif v.hi == v.lo:
            fixed.append((i, v.lo))
        else:
            todo.append(((v.hi - v.lo).bit_length(), i))
    # First fit, widest first, into as few 64-bit words as hold them (no field straddles words).
    todo.sort(key=lambda x: (-x[0], x[1]))
    total = sum(b for b, _ in todo)
    words = max(1, -(-total // 64))
    while True:
        free = [64] * words
        fields: list[Field] = []
        for bits, var in todo:
            w = next((k for k in range(words) if free[k] >= bits), None)
            if w is None:
                break
            fields.append(Field(var, w, 64 - free[w], bits, ts.vars[var].lo, ts.vars[var].hi))
            free[w] -= bits
        else:
            break
        words += 1
    fields.sort(key=lambda f: f.var)
    return Layout(words, tuple(fields), tuple(fixed))


VALUE_TYPES = (("uint8_t", 0, 255), ("int8_t", -128, 127), ("uint16_t", 0, 65535), ("int16_t", -32768, 32767),
               ("int32_t", -(1 << 31), (1 << 31) - 1))


def value_type(ts: TransitionSystem[Any]) -> str:
    """The narrowest C type that holds every variable's range and every value an update can
    write (so that a value beyond a range reaches the packing code's check unchanged)."""
    iv = Intervals(ts.builder, ts.vars)
    lo = min((v.lo for v in ts.vars), default=0)
    hi = max((v.hi for v in ts.vars), default=0)
    for t in ts.transitions:
        for _, u in t.updates:
            a, b = iv.interval(u)
            lo, hi = min(lo, a), max(hi, b)
    for name, tlo, thi in VALUE_TYPES:
        if tlo <= lo and hi <= thi:
            return name
    raise Unsupported(f"a variable's values ({lo}..{hi}) do not fit 32 bits")



def _lit(v: int) -> str:
    return f"{v}LL" if v >= 0 else f"(-{-v}LL)"


SHARED_SIZE = 40
"""An expression of at least this many nodes (as a tree) that several places use becomes a C
function of its own: the IR is a DAG, and written out as trees per transition large models'
sources grow by orders of magnitude (a join_all of 40 futures: 7 MB of C, a minute of gcc)."""


class _Shared:
    """The shared expressions that become functions (f<uid>), and those still to be written."""

    def __init__(self, roots: list[Expr]) -> None:
        refs = _count_refs(roots)
        size: dict[int, int] = {}
        order: list[Expr] = []
        stack: list[tuple[Expr, bool]] = [(r, False) for r in roots]
        while stack:
            e, expanded = stack.pop()
            if e.uid in size:
                continue
            if not expanded and e.args:
                stack.append((e, True))
                stack.extend((x, False) for x in e.args if x.uid not in size)
                continue
            size[e.uid] = min(1 + sum(size[x.uid] for x in e.args), 1 << 30)
            order.append(e)
        self.members = {e.uid for e in order if e.args and refs.get(e.uid, 0) >= 2 and size[e.uid] >= SHARED_SIZE}
        self.wanted: dict[int, Expr] = {}

    def call(self, e: Expr) -> str:
        self.wanted.setdefault(e.uid, e)
        return f"f{e.uid}(s)"

    def definitions(self) -> list[str]:
        """Every function called so far (and those their bodies call), prototypes first."""
        bodies: list[str] = []
        done: set[int] = set()
        while len(done) < len(self.wanted):
            for uid, e in list(self.wanted.items()):
                if uid in done:
                    continue
                done.add(uid)
                g = _CGen(_count_refs_to(list(e.args), self.members), "    ", self)
                text = g.expr(e, inline_root=True)
                used = sorted(_vars_under(e, self.members))
                bodies.append(f"static long long f{uid}(const val_t *s) {{")
                bodies.extend(f"    const long long v{i} = s[{i}];" for i in used)
                bodies.extend(g.lines)
                bodies.append(f"    return {text};")
                bodies.append("}")
        protos = [f"static long long f{uid}(const val_t *s);" for uid in self.wanted]
        return protos + bodies


def _count_refs_to(roots: list[Expr], stop: set[int]) -> dict[int, int]:
    """evaluate._count_refs without going into the shared functions (stop), which a body calls
    rather than writes out: counting inside them made writing the bodies quadratic in the DAG
    (8 of the 10 s of generating the real-size pool model's kernel)."""
    counts: dict[int, int] = {}
    stack = list(roots)
    while stack:
        e = stack.pop()
        c = counts.get(e.uid, 0)
        counts[e.uid] = c + 1
        if c == 0 and e.op not in (Op.CONST, Op.VAR) and e.uid not in stop:
            stack.extend(e.args)
    return counts


def _vars_under(e: Expr, stop: set[int]) -> set[int]:
    """The variables e reads, not counting those inside shared functions it calls."""
    out: set[int] = set()
    seen: set[int] = set()
    stack = list(e.args)
    while stack:
        x = stack.pop()
        if x.uid in seen:
            continue
        seen.add(x.uid)
        if x.op is Op.VAR:
            out.add(x.value)
        elif x.uid not in stop:
            stack.extend(x.args)
    return out


class _CGen:
    """Emits C statements computing expressions, hoisting shared or large nodes into temporaries
    (as evaluate._Gen does for Python), and calling the shared functions (_Shared)."""

    def __init__(self, refcount: dict[int, int], indent: str, shared: _Shared | None = None) -> None:
        self.refcount = refcount
        self.indent = indent
        self.shared = shared
        self.names: dict[int, str] = {}
        self.lines: list[str] = []

    def expr(self, root: Expr, inline_root: bool = False) -> str:
        texts: dict[int, str] = {}
        shared = self.shared.members if self.shared is not None else set()

        def text_of(x: Expr) -> str:
            if x.op is Op.CONST:
                return _lit(x.value)
            if x.op is Op.VAR:
                return f"v{x.value}"
            return self.names.get(x.uid) or texts[x.uid]

        stack: list[tuple[Expr, bool]] = [(root, False)]
        while stack:
            e, expanded = stack.pop()
            if e.op in (Op.CONST, Op.VAR) or e.uid in self.names or e.uid in texts:
                continue
            if e.uid in shared and self.shared is not None and not (inline_root and e is root):
                call = self.shared.call(e)
                if self.refcount.get(e.uid, 0) >= 2:
                    name = f"t{e.uid}"
                    self.lines.append(f"{self.indent}const long long {name} = {call};")
                    self.names[e.uid] = name
                else:
                    texts[e.uid] = call
                continue
            if not expanded:
                stack.append((e, True))
                stack.extend((x, False) for x in reversed(e.args))
                continue
            a = [text_of(x) for x in e.args]
            op = e.op
            if op is Op.AND:
                text = "(" + " && ".join(a) + ")"
            elif op is Op.OR:
                text = "(" + " || ".join(a) + ")"
            elif op is Op.NOT:
                text = f"(!{a[0]})"
            elif op is Op.ITE:
                text = f"({a[0]} ? {a[1]} : {a[2]})"
            elif op is Op.MIN:
                text = f"MIN({a[0]}, {a[1]})"
            else:
                text = f"({a[0]} {op.value} {a[1]})"
            if self.refcount.get(e.uid, 0) >= 2 or len(text) > 400:
                name = f"t{e.uid}"
                self.lines.append(f"{self.indent}const long long {name} = {text};")
                self.names[e.uid] = name
            else:
                texts[e.uid] = text
        return text_of(root)


def _check_ranges(ts: TransitionSystem[Any]) -> None:
    iv = Intervals(ts.builder, ts.vars)
    for v in ts.vars:
        if abs(v.lo) >= INT_LIMIT or abs(v.hi) >= INT_LIMIT or v.hi - v.lo >= INT_LIMIT:
            raise Unsupported(f"variable {v.name} ranges over {v.lo}..{v.hi}")
    roots = [e for t in ts.transitions for e in (t.guard, *(u for _, u in t.updates))]
    roots += [x for n in ts.waits.nodes for x in (n.live, n.ready, n.dormant)] + [e.cond for e in ts.waits.edges]
    roots += [r.alive for r in ts.waits.roots] + [ts.overflow] + ([ts.quiescent] if ts.quiescent is not None else [])
    for e in roots:
        iv.interval(e)
    for lo, hi in iv.cache.values():
        if abs(lo) >= INT_LIMIT or abs(hi) >= INT_LIMIT:
            raise Unsupported("an expression's value can exceed 64-bit arithmetic")


def _transition_code(t: Transition[Any], conjuncts: list[Expr], n: int, indent: str, shared: _Shared) -> list[str]:
    """A block that appends (index, successor) when the conjuncts hold (evaluate._transition_code)."""
    inner = indent + "    "
    g = _CGen(_count_refs(conjuncts + [u for _, u in t.updates]), inner, shared)
    body = [f"{indent}do {{ /* transition {t.index} */"]
    for c in conjuncts:
        text = g.expr(c)
        body.extend(g.lines)
        g.lines.clear()
        body.append(f"{inner}if (!{text}) break;")
    news: list[tuple[int, str]] = []
    for var, u in t.updates:
        text = g.expr(u)
        body.extend(g.lines)
        g.lines.clear()
        news.append((var, text))
    body.append(f"{inner}val_t *o = out + (size_t)k * NV;")
    body.append(f"{inner}memcpy(o, s, sizeof(val_t) * NV);")
    body.extend(f"{inner}o[{var}] = (val_t)({text});" for var, text in news)
    body.append(f"{inner}tids[k++] = {t.index};")
    body.append(f"{indent}}} while (0);")
    return body


Guarded = tuple[Transition[Any], list[Expr]]


def _decision_tree(members: list[Guarded], indent: str, parts: list[str], n: int, shared: _Shared) -> None:
    """evaluate._decision_tree's dispatch (the same evaluate.dispatch_split), with each leaf group
    inline (C compiles it ahead)."""
    split = dispatch_split(members)
    if split is None:
        for t, conjuncts in members:
            parts.extend(_transition_code(t, conjuncts, n, indent, shared))
        return
    best, by_value, rest = split
    for i, value in enumerate(sorted(by_value)):
        parts.append(f"{indent}{'if' if i == 0 else '} else if'} (v{best} == {_lit(value)}) {{")
        _decision_tree(by_value[value], indent + "    ", parts, n, shared)
    parts.append(f"{indent}}}")
    if rest:
        _decision_tree(rest, indent, parts, n, shared)


def _unpack_vars(n: int, indent: str = "    ") -> list[str]:
    return [f"{indent}const long long v{i} = s[{i}];" for i in range(n)]


def generate(ts: TransitionSystem[Any]) -> str:
    """The kernel's C source for ts (raises Unsupported for what the kernel cannot hold)."""
    _check_ranges(ts)
    n = len(ts.vars)
    lay = layout(ts)
    levels = sorted({t.priority for t in ts.transitions}) or [0]
    lazy = len(ts.transitions) > LAZY_TRANSITIONS or _size(ts.transitions) > LAZY_NODES
    parts: list[str] = [
        f"/* mcheck search kernel, codegen version {CODEGEN_VERSION}: {n} variables, "
        f"{len(ts.transitions)} transitions, {lay.words} words a state */",
        f"#define NV {max(n, 1)}",
        f"#define NT {max(len(ts.transitions), 1)}",
        f"#define NW {lay.words}",
        f"#define NROOTS {max(len(ts.waits.roots), 1)}",
        f"#define ATOMIC {int(ts.atomic)}",
        f"#define TID_T {'uint8_t' if len(ts.transitions) < 256 else 'uint16_t' if len(ts.transitions) < 65536 else 'uint32_t'}",
        "#include <stdint.h>",
        "#include <string.h>",
        f"typedef {value_type(ts)} val_t;",
        "#define MIN(a, b) ((a) < (b) ? (a) : (b))",
        f"static const int32_t PROC[NT] = {{{', '.join(str(t.process) for t in ts.transitions) or '-1'}}};",
        f"static const val_t INIT[NV] = {{{', '.join(str(v.init) for v in ts.vars) or '0'}}};",
        "",
    ]
    w = ts.waits
    roots = [e for t in ts.transitions for e in (t.guard, *(u for _, u in t.updates))]
    roots += [x for node in w.nodes for x in (node.live, node.ready)] + [e.cond for e in w.edges]
    roots += [r.alive for r in w.roots] + [ts.overflow] + ([ts.quiescent] if ts.quiescent is not None else [])
    shared = _Shared(roots)
    header = len(parts)
    # Successor functions, one per priority level (evaluate.compile_system's order).
    for level in levels:
        parts.append(f"static int succ{level}(const val_t *s, val_t *out, int32_t *tids) {{")
        parts.extend(_unpack_vars(n))
        parts.append("    int k = 0;")
        if lazy:
            _decision_tree([(t, _conjuncts(t.guard)) for t in ts.transitions if t.priority == level], "    ", parts, n,
                           shared)
        else:
            groups: dict[tuple[int, int] | None, list[Transition[Any]]] = {}
            for t in ts.transitions:
                if t.priority == level:
                    groups.setdefault(_dispatch_key(_conjuncts(t.guard)[0]), []).append(t)
            for key, group in groups.items():
                indent = "    "
                if key is not None:
                    parts.append(f"    if (v{key[0]} == {_lit(key[1])}) {{")
                    indent = "        "
                for t in group:
                    parts.extend(_transition_code(t, _conjuncts(t.guard)[1 if key is not None else 0:], n, indent, shared))
                if key is not None:
                    parts.append("    }")
        parts.append("    return k;")
        parts.append("}")
        parts.append("")
    parts.append("static int step(const val_t *s, val_t *out, int32_t *tids) {")
    parts.append("    int k;")
    for level in levels:
        parts.append(f"    if ((k = succ{level}(s, out, tids)) > 0) return k;")
    parts.append("    return 0;")
    parts.append("}")
    parts.append("")
    parts.extend(_stuck_code(ts, shared))
    for name, e in (("overflow", ts.overflow), ("quiescent", ts.quiescent)):
        parts.append(f"static int {name}(const val_t *s) {{")
        if e is None:
            parts.append("    (void)s;")
            parts.append("    return 1;")
        else:
            parts.extend(_unpack_vars(n))
            g = _CGen(_count_refs([e]), "    ", shared)
            text = g.expr(e)
            parts.extend(g.lines)
            parts.append(f"    return ({text}) != 0;")
        parts.append("}")
        parts.append("")
    parts.extend(_canon_code(ts))
    parts.extend(_pack_code(lay))
    parts[header:header] = shared.definitions()
    runtime = resources.files("mcheck.kernel").joinpath("runtime.c").read_text()
    source = "\n".join(parts) + "\n" + runtime
    if len(source) > MAX_SOURCE:
        raise Unsupported(f"its kernel would be {len(source) / 1e6:.1f} MB of C, more than the "
                          f"{MAX_SOURCE / 1e6:.1f} MB mcheck compiles")
    return source


def _stuck_code(ts: TransitionSystem[Any], shared: _Shared) -> list[str]:
    """How many processes are stuck (evaluate.compile_system's stuck_tasks, the same fixpoint).
    Cheaper than the full fixpoint where it can be: a state whose every alive process has an
    enabled step is settled by the quick exit; else the roots' own nodes are looked at first,
    and the rest of the graph only when some alive root's node may be stuck."""
    w = ts.waits
    n = len(ts.vars)
    out = ["static int stuck_tasks(const val_t *s, const uint8_t *enabled) {"]
    out.extend(_unpack_vars(n))
    out.append("    (void)enabled;")
    gq = _CGen(_count_refs([r.alive for r in w.roots]), "    ", shared)
    quick = [f"(!{gq.expr(r.alive)} || enabled[{i}])" for i, r in enumerate(w.roots)]
    out.extend(gq.lines)
    out.append(f"    if ({' && '.join(quick) or '1'}) return 0;")
    roots_exprs = [x for node in w.nodes for x in (node.live, node.ready)]
    roots_exprs += [e.cond for e in w.edges] + [r.alive for r in w.roots]
    g = _CGen(_count_refs(roots_exprs), "    ", shared)
    g.names.update(gq.names)  # temporaries of the quick exit are in scope
    out.append(f"    uint8_t S[{max(len(w.nodes), 1)}];")
    root_nodes = sorted({r.node for r in w.roots})
    for i in root_nodes:
        node = w.nodes[i]
        live, ready = g.expr(node.live), g.expr(node.ready)
        out.extend(g.lines)
        g.lines.clear()
        out.append(f"    S[{i}] = ({live}) && !({ready});")
    out.append(f"    if (!({' || '.join(f'S[{i}]' for i in root_nodes) or '0'})) return 0;")
    for i, node in enumerate(w.nodes):
        if i in root_nodes:
            continue
        live, ready = g.expr(node.live), g.expr(node.ready)
        out.extend(g.lines)
        g.lines.clear()
        out.append(f"    S[{i}] = ({live}) && !({ready});")
    by_src: dict[int, list[str]] = {}
    for e in w.edges:
        cond = g.expr(e.cond)
        out.extend(g.lines)
        g.lines.clear()
        by_src.setdefault(e.src, []).append(f"(({cond}) && !S[{e.dst}])")
    out.append("    int changed = 1;")
    out.append("    while (changed) {")
    out.append("        changed = 0;")
    for src in sorted(by_src):
        out.append(f"        if (S[{src}] && ({' || '.join(by_src[src])})) {{ S[{src}] = 0; changed = 1; }}")
    out.append("    }")
    terms = []
    for r in w.roots:
        alive = g.expr(r.alive)
        out.extend(g.lines)
        g.lines.clear()
        terms.append(f"(S[{r.node}] && ({alive}))")
    out.append(f"    return {' + '.join(terms) or '0'};")
    out.append("}")
    out.append("")
    return out


def _canon_code(ts: TransitionSystem[Any]) -> list[str]:
    """Symmetry representatives: each group's blocks sorted as tuples (bfs._canonicalizer): values
    are read from the state as given and written into the copy, group by group."""
    groups = [g for g in ts.symmetry if len(g) > 1]
    out = ["static void canon(val_t *s) {"]
    if not groups:
        out.append("    (void)s;")
    else:
        out.append("    val_t orig[NV];")
        out.append("    memcpy(orig, s, sizeof orig);")
    for group in groups:
        k, width = len(group), len(group[0])
        table = ", ".join("{" + ", ".join(str(v) for v in block) + "}" for block in group)
        out.append("    {")
        out.append(f"        static const int B[{k}][{width}] = {{{table}}};")
        out.append(f"        int order[{k}];")
        out.append(f"        for (int i = 0; i < {k}; i++) order[i] = i;")
        out.append(f"        for (int i = 1; i < {k}; i++) {{  /* insertion sort: groups are small */")
        out.append("            int x = order[i], j = i - 1;")
        out.append("            while (j >= 0) {")
        out.append("                int c = 0;")
        out.append(f"                for (int w = 0; w < {width} && !c; w++) {{")
        out.append("                    val_t a = orig[B[order[j]][w]], b = orig[B[x][w]];")
        out.append("                    c = (a > b) - (a < b);")
        out.append("                }")
        out.append("                if (c <= 0) break;")
        out.append("                order[j + 1] = order[j];")
        out.append("                j--;")
        out.append("            }")
        out.append("            order[j + 1] = x;")
        out.append("        }")
        out.append(f"        for (int i = 0; i < {k}; i++)")
        out.append(f"            for (int w = 0; w < {width}; w++) s[B[i][w]] = orig[B[order[i]][w]];")
        out.append("    }")
    out.append("}")
    out.append(f"#define SYMMETRY {int(bool(groups))}")
    out.append("")
    return out


def _pack_code(lay: Layout) -> list[str]:
    out = ["/* 0 when s fits the layout; else the first variable out of its range (+1). */",
           "static int pack(const val_t *s, uint64_t *w) {"]
    out.append("    memset(w, 0, sizeof(uint64_t) * NW);")
    for var, value in lay.fixed:
        out.append(f"    if (s[{var}] != {value}) return {var + 1};")
    for f in lay.fields:
        out.append(f"    {{ uint64_t x = (uint64_t)((long long)s[{f.var}] - {_lit(f.lo)}); "
                   f"if (x > {f.hi - f.lo}ULL) return {f.var + 1}; w[{f.word}] |= x << {f.shift}; }}")
    out.append("    return 0;")
    out.append("}")
    out.append("")
    out.append("static void unpack(const uint64_t *w, val_t *s) {")
    out.append("    (void)w;")
    for var, value in lay.fixed:
        out.append(f"    s[{var}] = {value};")
    for f in lay.fields:
        out.append(f"    s[{f.var}] = (val_t)((long long)((w[{f.word}] >> {f.shift}) & {(1 << f.bits) - 1}ULL) + {_lit(f.lo)});")
    out.append("}")
    out.append("")
    return out
