"""Rust to model: one model per entry point, with the sites where a future can be left dormant.

The third phase of `mcheck scan` (after rust.py and index.py). It walks an entry point's code and
inlines every crate fn it reaches (by name, to a bounded depth) into model text in the language of
docs/language.md: resources become top-level declarations (by type: constructors, struct fields,
parameters, statics), spawned futures become `spawn(..)`, values are abstracted (`choose()`).
Every model line carries a `// from FILE:LINE` comment and the `SourceMap` keeps the same
mapping for the reports. What it cannot translate is left out and listed (`Model.notes`). It
checks nothing: the model goes through mcheck.verify like a hand-written one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from mcheck.scan.index import Index, Root, StructDef
from mcheck.scan.rust import Loc, Node, macro_args, macro_name, macro_tokens, select_arms

MAX_DEPTH = 8
"""How many calls deep a chain of crate fns is followed (inlined) from an entry point."""

DEFAULT_CAPACITY = 1
"""The capacity of a Semaphore or bounded channel whose capacity the code does not state as a
constant (or that comes from a type alone): 1, the most contended, so that a hang some capacity
allows is found (said in the report)."""

DEFAULT_SLEEP_MS = 10
"""The duration of a sleep, timeout or interval whose duration is not a constant."""

MAX_CAPACITY = 16
MAX_MS = 1_000_000
"""Durations above this (a test's `Duration::from_secs(u64::MAX)`) become it: the model's numbers
are small."""
MAX_LIST = 64
LOOP_SPAWN_COPIES = 2
"""A spawn inside a loop becomes a top-level `task NAME[2]`: two copies of the spawned future."""

_KEYWORDS = {"task", "let", "fn", "async", "loop", "while", "for", "if", "else", "select", "join", "spawn", "drop",
             "break", "continue", "move", "mut", "in", "sleep", "main", "true", "false", "choose", "poll", "timeout",
             "interval", "channel", "oneshot", "self", "Some", "None", "yield_now"}

_MARK = re.compile(r"\x01(\d+)\x02")
_TRAILING = re.compile(r"^(.*);(\x01\d+\x02)$", re.S)


# ---- values: what a Rust expression is, as far as the model cares ----

@dataclass(frozen=True, slots=True)
class Res:
    name: str  # the model's global
    kind: str  # mutex, fmutex, rwlock, semaphore, channel, unbounded, oneshot, notify, oncecell


@dataclass(slots=True)
class Struct:
    type: str
    fields: dict[str, Value]


@dataclass(frozen=True, slots=True)
class Int:
    n: int


@dataclass(frozen=True, slots=True)
class Local:
    name: str  # the model's local
    kind: str  # future, guard, permit, handle, set, joinset, int, interval, stream


@dataclass(frozen=True, slots=True)
class Closure:
    node: Node
    env: dict[str, Value]


@dataclass(frozen=True, slots=True)
class Tuple:
    items: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class Fut:
    """A future not yet awaited: model text (`m.lock()`, `async { .. }`, `&mut f`)."""

    text: str
    kind: str = "unit"  # what awaiting it gives: unit, guard, permit
    borrowed: str = ""  # the local it borrows (`&mut f`), for sites
    spawnable: bool = True  # an async fn call or async block (spawn / push / join_all accept it)
    guard_tail: tuple[tuple[str, ...], str] | None = None  # an async fn returning a guard: its statements, the guard


@dataclass(frozen=True, slots=True)
class Awaited:
    """An awaited future (`X.await`): model text without the `;`."""

    text: str
    kind: str = "unit"


@dataclass(frozen=True, slots=True)
class Stmt:
    """A model statement with no value (`o.send()`, `spawn(..)`, `select! {..}`)."""

    text: str
    kind: str = "stmt"  # stmt, spawn (a JoinHandle), new-set, new-joinset, interval


@dataclass(frozen=True, slots=True)
class Stream:
    items: tuple[str, ...]  # item futures' model text
    map_all: str = ""  # (0..n).map(|_| F): F once, when the items are all alike
    count: int = 0
    buffer: str = ""  # ".buffered(2)" / ".buffer_unordered(3)"


class Unknown:
    __slots__ = ()


UNKNOWN = Unknown()
Value = Res | Struct | Int | Local | Closure | Tuple | Fut | Awaited | Stmt | Stream | Unknown | list["Value"]


# ---- what the extraction finds ----

@dataclass(frozen=True, slots=True)
class Site:
    """A place where a future can be left dormant."""

    kind: str  # "select! over &mut f", "timeout over &mut f", "poll!", "FuturesUnordered", ...
    loc: Loc
    function: str  # the Rust fn (or entry) the code is in
    future: str  # the dormant future's Rust name (or the set / stream)
    awaits: tuple[str, ...]  # what the arm or body awaits, in model words
    model_line: int = 0  # the model line of the site (1-based), once rendered


@dataclass(frozen=True, slots=True)
class Note:
    loc: Loc
    text: str


@dataclass(slots=True)
class SourceMap:
    """Model line (1-based) -> the Rust place it came from."""

    lines: dict[int, Loc] = field(default_factory=dict)

    def get(self, line: int) -> Loc | None:
        while line > 0 and line not in self.lines:
            line -= 1
        return self.lines.get(line)


@dataclass(slots=True)
class Model:
    root: Root
    name: str  # a file-name-safe name
    text: str
    source_map: SourceMap
    sites: list[Site]
    notes: list[Note]
    defaults: list[Note]  # capacities and durations the code does not state
    resources: dict[str, Loc]  # model global -> where it is created (or typed)
    task: str  # the entry's task name in the model
    typed: frozenset[str] = frozenset()  # resources made from a type: what other entry points may share
    companions: tuple[str, ...] = ()  # other entry points run alongside (NOTE(companions))
    approximate: dict[str, str] = field(default_factory=dict)  # resource -> why a hang on it is in doubt


# ---- the extractor ----

@dataclass(slots=True)
class _Ctx:
    env: dict[str, Value]
    fn: str  # Rust fn name for reports
    depth: int
    stack: tuple[str, ...]  # fns being inlined (recursion)
    in_loop: bool = False
    cond_names: frozenset[str] = frozenset()
    futures_select: bool = False

    def child(self, **kw: object) -> _Ctx:
        c = _Ctx(dict(self.env), self.fn, self.depth, self.stack, self.in_loop, self.cond_names, self.futures_select)
        for k, v in kw.items():
            setattr(c, k, v)
        return c


def _ident_list(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"[A-Za-z_]\w*", text))


_COND = re.compile(r"\b(?:if|while)\b([^{};]*)")


def _condition_names(text: str) -> frozenset[str]:
    """Identifiers that appear in an `if` / `while` condition or a select! guard: the integer
    variables worth modelling (a counter nothing tests is left out: it would only widen states)."""
    out: set[str] = set()
    for m in _COND.finditer(text):
        out |= _ident_list(m.group(1))
    return frozenset(out)


def _int_literal(text: str) -> int | None:
    t = re.sub(r"(u8|u16|u32|u64|u128|usize|i8|i16|i32|i64|i128|isize)$", "", text.replace("_", ""))
    try:
        return int(t, 0)
    except ValueError:
        return None


class Extractor:
    """Builds the model of one entry point. Text carries \\x01N\\x02 markers naming `self.locs[N]`,
    which rendering turns into the `// from` comments and the source map."""

    def __init__(self, index: Index, root: Root, companions: tuple[Root, ...] = ()) -> None:
        self.idx = index
        self.root = root
        self.companions = companions
        self.typed_resources: set[str] = set()  # keys of resources made from a type (`Db.conn`)
        self.capacity: dict[str, int] = {}
        self.approximate: dict[str, str] = {}  # resource -> why its model is not the code's
        self.locs: list[Loc] = []
        self.globals: list[str] = []
        self.global_names: set[str] = set()
        self.local_names: set[str] = set()
        self.resources: dict[str, Loc] = {}
        self.typed: dict[str, Value] = {}
        self.statics: dict[str, Value] = {}
        self.tasks: list[str] = []
        self.sites: list[Site] = []
        self.site_marks: list[int] = []
        self.notes: list[Note] = []
        self.defaults: list[Note] = []
        self.out: list[str] = []  # the statements of the body being translated
        self.spawn_count = 0

    # ---- text helpers ----

    def mark(self, node: Node) -> str:
        self.locs.append(node.loc)
        return f"\x01{len(self.locs) - 1}\x02"

    def note(self, node: Node, text: str) -> None:
        n = Note(node.loc, " ".join(text.split()))
        if n not in self.notes:
            self.notes.append(n)

    def default(self, node: Node, text: str) -> None:
        n = Note(node.loc, " ".join(text.split()))
        if n not in self.defaults:
            self.defaults.append(n)

    def emit(self, text: str) -> None:
        """Add a statement; its own marker (written last) moves to its front, so that the line's
        `// from` names the statement, not a fn inlined into it."""
        m = _TRAILING.match(text)
        self.out.append(m.group(2) + m.group(1) + ";" if m else text)

    def emit_value(self, v: Awaited | Stmt, node: Node) -> None:
        """An await or statement whose value is not used, as a statement (a block takes no `;`)."""
        self.emit(v.text if v.text.rstrip().endswith("}") else f"{v.text};{self.mark(node)}")

    def global_name(self, hint: str) -> str:
        base = re.sub(r"\W", "_", hint).strip("_").lower() or "r"
        if base[0].isdigit() or base in _KEYWORDS:
            base = f"r_{base}"
        name, n = base, 2
        while name in self.global_names or name in self.local_names:
            name, n = f"{base}_{n}", n + 1
        self.global_names.add(name)
        return name

    def local_name(self, rust: str) -> str:
        base = re.sub(r"\W", "_", rust) or "v"
        if base in _KEYWORDS:
            base = f"{base}_"
        name = base
        n = 2
        while name in self.global_names:
            name, n = f"{base}_{n}", n + 1
        self.local_names.add(name)
        return name

    def new_resource(self, kind: str, hint: str, node: Node, capacity: int | None = None) -> Res:
        name = self.global_name(hint)
        ctor = {"mutex": "Mutex::new()", "fmutex": "futures::lock::Mutex::new()", "rwlock": "RwLock::new()",
                "notify": "Notify::new()", "oncecell": "OnceCell::new()", "oneshot": "oneshot()",
                "unbounded": "unbounded_channel()"}.get(kind)
        if kind in ("semaphore", "channel"):
            cap = capacity if capacity is not None else DEFAULT_CAPACITY
            if capacity is None:
                self.default(node, f"`{name}`: capacity not a constant here; the model uses {DEFAULT_CAPACITY}")
            if cap < 1 or cap > MAX_CAPACITY:
                self.default(node, f"`{name}`: capacity {cap} is outside 1..{MAX_CAPACITY}; the model uses "
                                   f"{max(1, min(cap, MAX_CAPACITY))}")
                self.approximate[name] = f"its capacity {cap} is {max(1, min(cap, MAX_CAPACITY))} in the model"
                cap = max(1, min(cap, MAX_CAPACITY))
            ctor = f"Semaphore::new({cap})" if kind == "semaphore" else f"channel({cap})"
            self.capacity[name] = cap
        assert ctor is not None
        self.globals.append(f"let {name} = {ctor};{self.mark(node)}")
        self.resources[name] = node.loc
        return Res(name, kind)

    # ---- entry ----

    def run(self) -> Model:
        r = self.root
        task = "main" if r.kind in ("tokio::main", "tokio::test", "async block") else self.local_name(
            r.fn.name if r.fn else "task")
        main = self.task_text(r, task)
        others = []
        for c in self.companions:
            assert c.fn is not None
            name = self.local_name(c.fn.name)
            others.append(self.task_text(c, name))
            self.default(c.node, f"task {name}: `{c.enclosing}`, which nothing in the scanned code calls, touches the "
                                 "same resources (by type): it runs alongside, from the start")
        return self.render(task, [main, *others, *self.tasks])

    def task_text(self, r: Root, task: str) -> str:
        body = r.node.field("body") if r.fn is not None else next((c for c in r.node.named if c.type == "block"), None)
        ctx = _Ctx({}, r.enclosing, 0, (r.fn.qualname,) if r.fn else (), cond_names=_condition_names(r.node.text))
        if r.fn is not None:
            for pname, pty in r.fn.params:
                ctx.env[pname] = self.typed_value(pty, f"{r.fn.qualname}.{pname}" if pname != "self" else
                                                  (r.fn.owner or "self"), r.fn.node, r.fn.owner)
        stmts = self.block_stmts(body, ctx) if body is not None else []
        head = self.mark(r.node)
        return f"task {task} {{{head}\n" + _indent("\n".join(stmts)) + "\n}" + head

    def render(self, task: str, tasks: list[str]) -> Model:
        r = self.root
        header = [f"// Extracted by `mcheck scan` from {r.node.loc} ({r.kind} in {r.enclosing}).",
                  "// Refine it (docs/scan.md) and check it with `mcheck verify`."]
        if r.fn is not None and r.fn.runtime is not None:
            header.append(f"// runtime: {r.fn.runtime}")  # as the entry's attribute starts it
        for n in self.notes:
            header.append(f"// left out: {n.loc}: {' '.join(n.text.split())}")
        for n in self.defaults:
            header.append(f"// default: {n.loc}: {' '.join(n.text.split())}")
        parts = [*header, "", *self.globals, "", *("\n" + t if i else t for i, t in enumerate(tasks))]
        raw = "\n".join(parts)
        lines: list[str] = []
        smap = SourceMap()
        site_lines: dict[int, int] = {}
        last: Loc | None = None
        opened: list[Loc | None] = []  # the place of each open `{`: a closing line names it
        for line in raw.split("\n"):
            if not _MARK.sub("", line).strip() and opened:
                continue  # an empty body: no blank line inside braces
            i = len(lines) + 1
            marks = [int(m) for m in _MARK.findall(line)]
            for m in marks:
                if m in self.site_marks:
                    site_lines.setdefault(m, i)
            clean = _MARK.sub("", line).rstrip()
            loc = self.locs[marks[0]] if marks else None
            if clean.lstrip().startswith("}") and opened:
                loc = opened.pop() if loc is None else (opened.pop(), loc)[1]
            elif loc is None and clean.strip() and not clean.startswith("//"):
                loc = last
            for _ in range(clean.count("{") - clean.count("}") + (1 if clean.lstrip().startswith("}") else 0)):
                opened.append(loc)
            if loc is not None:
                smap.lines[i] = loc
                last = loc
                clean = f"{clean}  // from {loc.path}:{loc.line}"
            lines.append(clean)
        sites = [Site(s.kind, s.loc, s.function, s.future, s.awaits, site_lines.get(m, 0))
                 for s, m in zip(self.sites, self.site_marks, strict=True)]
        name = f"{re.sub(r'[^A-Za-z0-9]+', '_', r.node.loc.path).strip('_')}_{r.node.loc.line}"
        return Model(r, name, "\n".join(lines) + "\n", smap, sites, self.notes, self.defaults, self.resources, task,
                     frozenset(self.typed_resources), tuple(c.enclosing for c in self.companions),
                     dict(self.approximate))

    def add_site(self, kind: str, node: Node, ctx: _Ctx, future: str, awaits: list[str]) -> str:
        mark = self.mark(node)
        self.site_marks.append(int(mark[1:-1]))
        self.sites.append(Site(kind, node.loc, ctx.fn, future, tuple(dict.fromkeys(awaits))))
        return mark

    # ---- types: resources in reach of a value whose origin is not in the code ----

    def typed_value(self, ty: str, key: str, node: Node, owner: str | None, depth: int = 0) -> Value:
        if key in self.typed:
            return self.typed[key]
        t = re.sub(r"&\s*('\w+\s*)?(mut\s+)?", "", ty).strip()
        t = re.sub(r"^(mut\s+)", "", t)
        while True:
            m = re.match(r"^(?:std::sync::|alloc::sync::|std::rc::)?(Arc|Rc|Box|Pin)\s*<(.*)>$", t, re.S)
            if not m:
                break
            t = m.group(2).strip()
        head = t.split("<", 1)[0].strip()
        last = head.rsplit("::", 1)[-1]
        full = self.idx.resolve_path(node.file, head.split("::", 1)[0]) + ("::" + head.split("::", 1)[1]
                                                                          if "::" in head else "")
        v: Value = UNKNOWN
        hint = key.rsplit(".", 1)[-1]
        kind = self.kind_of_type(last, full)
        if kind is not None:
            self.default(node, f"`{key}` ({last}) comes from outside the scanned code: one resource for it")
            v = self.new_resource(kind, hint, node)
            self.typed_resources.add(key)
        elif last == "Self" and owner is not None and depth < 3:
            v = self.struct_of(owner, node, depth)
        elif last in self.idx.structs and depth < 3:
            v = self.struct_of(last, node, depth)
        self.typed[key] = v
        return v

    def struct_of(self, name: str, node: Node, depth: int) -> Value:
        sd: StructDef | None = self.idx.structs.get(name)
        if sd is None:
            return UNKNOWN
        s = Struct(name, {})
        self.typed[name] = s
        for fname, fty in sd.fields:
            s.fields[fname] = self.typed_value(fty, f"{name}.{fname}", sd.node, name, depth + 1)
        return s

    def kind_of_type(self, last: str, full: str) -> str | None:
        lower = full.lower()
        if last in ("Mutex", "MutexGuard", "OwnedMutexGuard"):
            if "futures" in lower:
                return "fmutex"
            if "std::" in lower or "parking_lot" in lower:
                return None
            return "mutex" if last == "Mutex" else None
        if last == "RwLock":
            return None if "std::" in lower or "parking_lot" in lower else "rwlock"
        if last in ("Semaphore", "Notify", "OnceCell"):
            if last == "OnceCell" and ("std::" in lower or "once_cell" in lower):
                return None
            return {"Semaphore": "semaphore", "Notify": "notify", "OnceCell": "oncecell"}[last]
        if last in ("Sender", "Receiver"):
            if "oneshot" in lower:
                return "oneshot"
            if "broadcast" in lower or "watch" in lower or "std::" in lower or "crossbeam" in lower:
                return None
            return "channel"
        if last in ("UnboundedSender", "UnboundedReceiver"):
            return "unbounded"
        return None

    # ---- blocks and statements ----

    def block_stmts(self, block: Node, ctx: _Ctx) -> list[str]:
        saved, self.out = self.out, []
        try:
            for st in block.named:
                self.stmt(st, ctx)
            return self.out
        finally:
            self.out = saved

    def stmt(self, st: Node, ctx: _Ctx) -> None:
        t = st.type
        if t == "let_declaration":
            self.let(st, ctx)
        elif t == "expression_statement":
            inner = st.named[0] if st.named else None
            if inner is not None:
                self.expr_stmt(inner, ctx)
        elif t in ("function_item", "struct_item", "impl_item", "use_declaration", "enum_item", "const_item",
                   "static_item", "type_item", "trait_item", "mod_item", "macro_definition", "attribute_item",
                   "empty_statement", "inner_attribute_item"):
            return
        else:
            self.expr_stmt(st, ctx)

    def expr_stmt(self, e: Node, ctx: _Ctx) -> None:
        if e.type == "block":
            inner = self.block_stmts(e, ctx.child())
            if inner:
                self.emit("{" + self.mark(e) + "\n" + _indent("\n".join(inner)) + "\n}")
            return
        v = self.expr(e, ctx)
        if isinstance(v, Awaited | Stmt):
            self.emit_value(v, e)

    def let(self, st: Node, ctx: _Ctx) -> None:
        pat, val = st.field("pattern"), st.field("value")
        if pat is None:
            return
        if val is None:
            return
        pname = pat.text.removeprefix("mut ").strip()
        simple = re.fullmatch(r"[A-Za-z_]\w*", pname) is not None
        hint = pname if simple and pname != "_" else "r"
        if pname != "_" and self.select_keeping_loser(val, ctx):
            return
        if val.type == "block":  # let x = { let a = b.clone(); async move { .. } };
            v = self.value_block(val, ctx)
        else:
            v = self.expr(val, ctx, hint)
        m = self.mark(st)
        if isinstance(v, Fut):
            if pname == "_" or not simple:
                return  # created and dropped at once: nothing happens
            name = self.local_name(pname)
            self.emit(f"let {name} = {v.text};{m}")
            ctx.env[pname] = Local(name, "future")
        elif isinstance(v, Awaited):
            if v.kind in ("guard", "permit") and simple:
                name = "_" if pname == "_" else self.local_name(pname)
                self.emit(f"let {name} = {v.text};{m}")
                if pname != "_":
                    ctx.env[pname] = Local(name, v.kind)
            else:
                self.emit_value(v, st)
                if simple:
                    ctx.env[pname] = UNKNOWN
        elif isinstance(v, Stmt):
            if v.kind in ("spawn", "new-set", "new-joinset", "interval", "try-permit") and simple and pname != "_":
                name = self.local_name(pname)
                self.emit(f"let {name} = {v.text};{m}")
                kind = {"spawn": "handle", "new-set": "set", "new-joinset": "joinset", "interval": "interval",
                        "try-permit": "permit"}[v.kind]
                ctx.env[pname] = Local(name, kind)
            else:
                self.emit(v.text if v.text.endswith("}") else f"{v.text};{m}")
        elif isinstance(v, Stream) and simple and v.buffer:
            name = self.local_name(pname)
            self.emit(f"let {name} = {self.stream_text(v)};{m}")
            ctx.env[pname] = Local(name, "stream")
        elif isinstance(v, Int) and simple and pname in ctx.cond_names:
            name = self.local_name(pname)
            self.emit(f"let mut {name} = {v.n};{m}")
            ctx.env[pname] = Local(name, "int")
        else:
            self.bind(pat, v, ctx)

    def select_keeping_loser(self, val: Node, ctx: _Ctx) -> bool:
        """`let r = select(a, b).await;` keeps the result, and in it the loser, alive to the end
        of the block: both futures become locals selected by `&mut`, so the loser stays alive and
        dormant (a site). False when `val` is not such a select."""
        if val.type != "await_expression" or not val.named or val.named[0].type != "call_expression":
            return False
        call = val.named[0]
        fn, args_n = call.field("function"), call.field("arguments")
        path = fn.text.replace(" ", "") if fn is not None else ""
        if not re.fullmatch(r"(?:(?:futures|futures_util)::)?(?:future::)?select", path) or args_n is None \
                or len(args_n.named) != 2:
            return False
        names = []
        for k, a in enumerate(args_n.named):
            f = self.future_arg(a, ctx, "select")
            if f is None:
                return False
            if re.fullmatch(r"\w+", f.text):
                names.append(f.text)
            else:
                name = self.local_name(f"select_{val.loc.line}_{'ab'[k]}")
                self.emit(f"let {name} = {f.text};{self.mark(a)}")
                names.append(name)
        site = self.add_site("select(a, b) keeping the loser", call, ctx, names[0], [])
        self.emit(f"futures::future::select(&mut {names[0]}, &mut {names[1]}).await;{site}")
        return True

    def bind(self, pat: Node, v: Value, ctx: _Ctx) -> None:
        if pat.type in ("identifier",):
            ctx.env[pat.text] = v
        elif pat.type == "mut_pattern" or (pat.type != "tuple_pattern" and pat.text.startswith("mut ")):
            inner = pat.named[-1] if pat.named else None
            if inner is not None:
                self.bind(inner, v, ctx)
        elif pat.type == "tuple_pattern":
            subs = pat.named
            items = v.items if isinstance(v, Tuple) else tuple(UNKNOWN for _ in subs)
            for p, item in zip(subs, items, strict=False):
                self.bind(p, item, ctx)
        elif pat.type == "ref_pattern" and pat.named:
            self.bind(pat.named[0], v, ctx)

    def value_block(self, block: Node, ctx: _Ctx) -> Value:
        """A block used as a value: its statements run here; its tail is the value."""
        stmts = block.named
        if not stmts:
            return UNKNOWN
        inner = ctx.child()
        for st in stmts[:-1]:
            self.stmt(st, inner)
        last = stmts[-1]
        if not _is_tail(last):
            self.stmt(last, inner)
            return UNKNOWN
        return self.expr(_tail_expr(last), inner)

    # ---- expressions ----

    def expr(self, e: Node, ctx: _Ctx, hint: str = "r") -> Value:
        t = e.type
        if t == "parenthesized_expression" and e.named:
            return self.expr(e.named[0], ctx, hint)
        if t == "integer_literal":
            n = _int_literal(e.text)
            return Int(n) if n is not None else UNKNOWN
        if t == "identifier":
            return self.name(e, ctx)
        if t == "self":
            return ctx.env.get("self", UNKNOWN)
        if t == "scoped_identifier":
            return self.path_value(e, ctx)
        if t == "field_expression":
            base = self.expr(e.field("value") or e, ctx)
            fld = e.field("field")
            if isinstance(base, Struct) and fld is not None:
                return base.fields.get(fld.text, UNKNOWN)
            if isinstance(base, Tuple) and fld is not None and fld.text.isdigit() and int(fld.text) < len(base.items):
                return base.items[int(fld.text)]
            return UNKNOWN
        if t == "await_expression":
            return self.await_(e, ctx)
        if t == "try_expression" and e.named:
            return self.expr(e.named[0], ctx, hint)
        if t == "reference_expression":
            inner = e.field("value")
            if inner is None:
                return UNKNOWN
            v = self.expr(inner, ctx, hint)
            if "mut" in e.text.split(inner.text, 1)[0]:
                return self.borrow(v, inner, ctx)
            return v
        if t == "call_expression":
            return self.call(e, ctx, hint)
        if t == "macro_invocation":
            return self.macro(e, ctx, hint)
        if t == "async_block":
            return Fut(self.async_block(e, ctx))
        if t == "closure_expression":
            return Closure(e, dict(ctx.env))
        if t == "block":
            return self.value_block(e, ctx)
        if t == "tuple_expression":
            return Tuple(tuple(self.expr(c, ctx, hint) for c in e.named))
        if t == "array_expression":
            return [self.expr(c, ctx, hint) for c in e.named]
        if t == "struct_expression":
            return self.struct_literal(e, ctx)
        if t == "binary_expression":
            return self.arith(e, ctx)
        if t == "unary_expression" and e.named:
            v = self.expr(e.named[0], ctx, hint)
            if e.text.startswith("-"):
                return Int(-v.n) if isinstance(v, Int) else UNKNOWN
            return v if e.text.startswith("*") else UNKNOWN  # `*guard`, `*c.get_or_init(..).await`
        if t == "type_cast_expression":
            val = e.field("value")
            return self.expr(val, ctx, hint) if val is not None else UNKNOWN
        if t in ("if_expression", "while_expression", "loop_expression", "for_expression", "match_expression"):
            return self.control(e, ctx)
        if t == "break_expression":
            return Stmt("break") if ctx.in_loop else UNKNOWN
        if t == "continue_expression":
            return Stmt("continue") if ctx.in_loop else UNKNOWN
        if t == "return_expression":
            if e.named:
                v = self.expr(e.named[0], ctx)
                if isinstance(v, Awaited):
                    self.emit_value(v, e)
            self.note(e, "`return` is left out: the model runs on to the end of the body")
            return UNKNOWN
        if t in ("compound_assignment_expr", "assignment_expression"):
            return self.assign(e, ctx)
        if t == "range_expression":
            return UNKNOWN
        return UNKNOWN

    def name(self, e: Node, ctx: _Ctx) -> Value:
        n = e.text
        if n in ctx.env:
            return ctx.env[n]
        if n in self.idx.statics:
            return self.static(n)
        return UNKNOWN

    def static(self, n: str) -> Value:
        if n not in self.statics:
            ty, val, item = self.idx.statics[n]
            ctx = _Ctx({}, n, 0, ())
            v = self.expr(val, ctx, n) if val is not None else UNKNOWN
            if isinstance(v, Unknown | Awaited | Stmt | Fut):
                v = self.typed_value(ty, n, item, None)
            self.statics[n] = v
        return self.statics[n]

    def path_value(self, e: Node, ctx: _Ctx) -> Value:
        last = e.text.rsplit("::", 1)[-1]
        if last in self.idx.statics:
            return self.static(last)
        return UNKNOWN

    def borrow(self, v: Value, inner: Node, ctx: _Ctx) -> Value:
        if isinstance(v, Local) and v.kind in ("future", "handle"):
            return Fut(f"&mut {v.name}", borrowed=v.name if v.kind == "future" else "", spawnable=False)
        if isinstance(v, Local) and v.kind in ("interval", "set", "joinset", "stream", "guard", "permit", "int"):
            return v
        if isinstance(v, Res) and v.kind == "oneshot":
            name = self.local_name(inner.text.replace(".", "_"))
            self.emit(f"let {name} = {v.name}.recv();{self.mark(inner)}")
            return Fut(f"&mut {name}", spawnable=False)
        return v

    def arith(self, e: Node, ctx: _Ctx) -> Value:
        left, right, op = e.field("left"), e.field("right"), e.field("operator")
        if left is None or right is None or op is None:
            return UNKNOWN
        a, b = self.expr(left, ctx), self.expr(right, ctx)
        if isinstance(a, Int) and isinstance(b, Int):
            ops: dict[str, Callable[[int, int], int]] = {"+": lambda x, y: x + y, "-": lambda x, y: x - y,
                                                         "*": lambda x, y: x * y,
                                                         "/": lambda x, y: x // y if y else 0}
            f = ops.get(op.text)
            if f is not None:
                return Int(f(a.n, b.n))
        return UNKNOWN

    def assign(self, e: Node, ctx: _Ctx) -> Value:
        left, right = e.field("left"), e.field("right")
        if left is None or right is None:
            return UNKNOWN
        target = ctx.env.get(left.text)
        if not (isinstance(target, Local) and target.kind == "int"):
            return UNKNOWN
        rhs = self.int_text(right, ctx)
        if rhs is None:
            self.note(e, f"`{e.text}`: the value is not an integer the model can follow; left out")
            return UNKNOWN
        op = e.field("operator")
        sym = op.text if op is not None else "="
        if sym in ("+=", "-="):
            return Stmt(f"{target.name} {sym} {rhs}")
        if sym == "=" or e.type == "assignment_expression":
            return Stmt(f"{target.name} = {rhs}")
        return UNKNOWN

    def int_text(self, e: Node, ctx: _Ctx) -> str | None:
        v = self.expr(e, ctx)
        if isinstance(v, Int):
            return str(v.n) if v.n >= 0 else None
        if isinstance(v, Local) and v.kind == "int":
            return v.name
        if e.type == "binary_expression":
            left, right, op = e.field("left"), e.field("right"), e.field("operator")
            if left is not None and right is not None and op is not None and op.text in ("+", "-"):
                a, b = self.int_text(left, ctx), self.int_text(right, ctx)
                if a is not None and b is not None:
                    return f"{a} {op.text} {b}"
        return None

    def duration(self, e: Node | None, ctx: _Ctx) -> int:
        if e is None:
            return DEFAULT_SLEEP_MS
        v = self.expr(e, ctx)
        if isinstance(v, Int) and 0 <= v.n <= MAX_MS:
            return v.n
        if isinstance(v, Int) and v.n > MAX_MS:
            self.default(e, f"`{e.text}`: {v.n:,} ms; the model uses {MAX_MS:,} ms")
            return MAX_MS
        self.default(e, f"`{e.text}`: not a constant duration; the model uses {DEFAULT_SLEEP_MS} ms")
        return DEFAULT_SLEEP_MS

    def struct_literal(self, e: Node, ctx: _Ctx) -> Value:
        name_n, body = e.field("name"), e.field("body")
        tname = name_n.text.rsplit("::", 1)[-1] if name_n is not None else "?"
        if tname == "Self" and self.root.fn is not None:
            tname = _owner_of(ctx, self) or tname
        s = Struct(tname, {})
        for fi in body.named if body is not None else []:
            if fi.type == "field_initializer":
                fn_, val = fi.field("field"), fi.field("value")
                if fn_ is not None and val is not None:
                    s.fields[fn_.text] = self.expr(val, ctx, fn_.text)
            elif fi.type == "shorthand_field_initializer" and fi.named:
                s.fields[fi.named[0].text] = ctx.env.get(fi.named[0].text, UNKNOWN)
        sd = self.idx.structs.get(tname)
        if sd is not None:  # fields the literal does not set (..Default::default()): by type
            for fname, fty in sd.fields:
                if fname not in s.fields or isinstance(s.fields[fname], Unknown):
                    kind = self.kind_of_type(_strip_type(fty).split("<", 1)[0].rsplit("::", 1)[-1], fty)
                    if kind is not None:
                        s.fields[fname] = self.typed_value(fty, f"{tname}.{fname}", sd.node, tname)
        return s

    # ---- await ----

    def await_(self, e: Node, ctx: _Ctx) -> Value:
        inner = e.named[0] if e.named else None
        if inner is None:
            return UNKNOWN
        v = self.expr(inner, ctx)
        return self.await_value(v, inner, ctx)

    def await_value(self, v: Value, inner: Node, ctx: _Ctx) -> Value:
        if isinstance(v, Fut) and v.guard_tail is not None:
            # an async fn that returns a guard, awaited where it is called: its body runs here and
            # the guard it returns is held by the caller (`let _c = claim_conn(db).await;`)
            pre, guard = v.guard_tail
            self.out.extend(pre)
            return Awaited(guard, "guard")
        if isinstance(v, Fut):
            text = f"({v.text})" if v.text.startswith("&mut") else v.text
            if v.text.startswith("async") and "\n" in v.text:
                # an async fn awaited where it is called: its body runs here, in a block of its own
                body = v.text[v.text.index("{"):]
                return Stmt(body, "block")
            return Awaited(f"{text}.await", v.kind)
        if isinstance(v, Local) and v.kind in ("future", "handle"):
            return Awaited(f"{v.name}.await")
        if isinstance(v, Res) and v.kind == "oneshot":
            return Awaited(f"{v.name}.recv().await")
        if isinstance(v, Stream):
            return UNKNOWN
        if isinstance(v, Awaited | Stmt):
            return v
        self.note(inner, f"`{_short(inner.text)}.await`: not a future the model knows; left out")
        return UNKNOWN

    # ---- calls ----

    def call(self, e: Node, ctx: _Ctx, hint: str) -> Value:
        fnode = e.field("function")
        args_n = e.field("arguments")
        args = args_n.named if args_n is not None else []
        if fnode is None:
            return UNKNOWN
        if fnode.type == "generic_function":
            fnode = fnode.field("function") or fnode
        if fnode.type == "field_expression":
            recv_n, meth_n = fnode.field("value"), fnode.field("field")
            if recv_n is None or meth_n is None:
                return UNKNOWN
            return self.method(e, recv_n, meth_n.text, args, ctx, hint)
        path = fnode.text.replace(" ", "")
        last = path.rsplit("::", 1)[-1]
        qual = path.rsplit("::", 2)[-2] if "::" in path else ""
        special = self.builtin(e, path, last, qual, args, ctx, hint)
        if special is not None:
            return special
        # a crate fn: `foo(..)`, `Type::foo(..)`, `Self::foo(..)`
        d = None
        if qual:
            owner = _owner_of(ctx, self) if qual == "Self" else qual
            d = self.idx.methods.get((owner or qual, last))
        if d is None and (not qual or (qual not in self.idx.structs and qual != "Self" and qual[:1].islower())):
            d = self.idx.lookup_fn(last, e)  # `foo(..)`, `pool::drain(..)`, `crate::db::open(..)`
        if d is None:
            for a in args:  # arguments may still do something (a call that spawns, an await)
                v = self.expr(a, ctx)
                if isinstance(v, Awaited | Stmt):
                    self.emit_value(v, a)
            return UNKNOWN
        vals = [self.expr(a, ctx, p[0]) for a, p in zip(args, d.params, strict=False)]
        params = [p for p in d.params if p[0] != "self"] if d.params and d.params[0][0] == "self" and qual else d.params
        env: dict[str, Value] = {}
        for (pname, _), v in zip(params, vals, strict=False):
            env[pname] = v
        return self.inline(d, env, e, ctx)

    def inline(self, d: object, env: dict[str, Value], at: Node, ctx: _Ctx) -> Value:
        from mcheck.scan.index import FnDef
        assert isinstance(d, FnDef)
        if d.qualname in ctx.stack:
            self.note(at, f"`{d.qualname}` calls itself: the recursive call is left out")
            return UNKNOWN
        if ctx.depth >= MAX_DEPTH:
            self.note(at, f"`{d.qualname}`: calls deeper than {MAX_DEPTH} are left out")
            return UNKNOWN
        if d.body is None:
            return UNKNOWN
        for pname, pty in d.params:
            if pname not in env or isinstance(env[pname], Unknown):
                if pname == "self":
                    env[pname] = self.typed_value("Self", d.owner or "self", d.node, d.owner)
                else:
                    env[pname] = self.typed_value(pty, f"{d.qualname}.{pname}", d.node, d.owner)
        for k, v in list(env.items()):
            if isinstance(v, Local) and v.kind not in ("int",):
                self.note(at, f"`{k}`: a future or guard passed to `{d.qualname}` is not followed into it")
                env[k] = UNKNOWN
            elif isinstance(v, Local):
                env[k] = UNKNOWN
        sub = _Ctx(env, d.qualname, ctx.depth + 1, (*ctx.stack, d.qualname),
                   cond_names=_condition_names(d.node.text))
        sub.env["__owner__"] = Struct(d.owner or "", {})
        if d.is_async:
            named = d.body.named
            guard: tuple[tuple[str, ...], str] | None = None
            if named and _is_tail(named[-1]):
                saved, self.out = self.out, []
                for st in named[:-1]:
                    self.stmt(st, sub)
                tail = self.expr(_tail_expr(named[-1]), sub)
                if isinstance(tail, Awaited) and tail.kind == "guard":
                    guard = (tuple(self.out), tail.text + self.mark(named[-1]))
                    self.out.append(f"{tail.text};{self.mark(named[-1])}")
                elif isinstance(tail, Awaited | Stmt):
                    self.out.append(f"{tail.text};{self.mark(named[-1])}" if not tail.text.endswith("}")
                                    else tail.text)
                stmts, self.out = self.out, saved
            else:
                stmts = self.block_stmts(d.body, sub)
            return Fut("async {" + self.mark(d.node) + "\n" + _indent("\n".join(stmts)) + "\n}", guard_tail=guard)
        return self.value_block(d.body, sub)

    def async_block(self, e: Node, ctx: _Ctx) -> str:
        body = next((c for c in e.named if c.type == "block"), None)
        env = {k: v for k, v in ctx.env.items() if not isinstance(v, Local) or v.kind == "int"}
        for k, v in env.items():
            if isinstance(v, Local):
                env[k] = UNKNOWN
        sub = ctx.child(env=env, in_loop=False)
        stmts = self.block_stmts(body, sub) if body is not None else []
        return "async {" + self.mark(e) + "\n" + _indent("\n".join(stmts)) + "\n}"

    def future_arg(self, a: Node | None, ctx: _Ctx, what: str) -> Fut | None:
        if a is None:
            return None
        v = self.expr(a, ctx)
        if isinstance(v, Local) and v.kind == "future":
            return Fut(v.name, spawnable=False)
        if isinstance(v, Res) and v.kind == "oneshot":
            return Fut(f"{v.name}.recv()")
        if isinstance(v, Local) and v.kind in ("interval", "set", "joinset"):
            return None
        if isinstance(v, Fut):
            return v
        if isinstance(v, Awaited):  # `async fn` awaited elsewhere
            return None
        self.note(a, f"`{_short(a.text)}` ({what}): not a future the model knows; left out")
        return None

    def builtin(self, e: Node, path: str, last: str, qual: str, args: list[Node], ctx: _Ctx, hint: str) -> Value | None:
        a0 = args[0] if args else None
        resolved = self.idx.resolve_path(e.file, path.split("::", 1)[0])
        full = resolved + ("::" + path.split("::", 1)[1] if "::" in path else "")
        if last in ("new", "const_new", "default", "new_with") and qual in ("Mutex", "RwLock", "Semaphore", "Notify",
                                                                               "OnceCell", "FuturesUnordered",
                                                                               "FuturesOrdered", "JoinSet"):
            qfull = self.idx.resolve_path(e.file, qual) if "::" not in path.rsplit("::", 1)[0] else path
            if qual == "FuturesUnordered":
                return Stmt("FuturesUnordered::new()", "new-set")
            if qual == "FuturesOrdered":
                return Stmt("FuturesOrdered::new()", "new-set")
            if qual == "JoinSet":
                return Stmt("JoinSet::new()", "new-joinset")
            kind = self.kind_of_type(qual, qfull)
            if kind is None:
                return UNKNOWN
            cap = None
            if kind == "semaphore":
                v = self.expr(a0, ctx) if a0 is not None else UNKNOWN
                cap = v.n if isinstance(v, Int) else None
            return self.new_resource(kind, hint, e, cap)
        if last in ("channel", "unbounded_channel") and ("mpsc" in full or "oneshot" in full or "broadcast" in full
                                                          or "watch" in full or qual == ""):
            if "oneshot" in full:
                r = self.new_resource("oneshot", hint if hint != "r" else "reply", e)
                return Tuple((r, r))
            if "broadcast" in full or "watch" in full:
                self.note(e, f"`{path}`: watch and broadcast channels are recognised but not modelled (no model "
                             "primitive); their operations are left out")
                return Tuple((UNKNOWN, UNKNOWN))
            if last == "unbounded_channel":
                r = self.new_resource("unbounded", hint if hint != "r" else "events", e)
                return Tuple((r, r))
            v = self.expr(a0, ctx) if a0 is not None else UNKNOWN
            r = self.new_resource("channel", hint if hint != "r" else "chan", e, v.n if isinstance(v, Int) else None)
            return Tuple((r, r))
        if last in ("new", "pin", "leak", "from", "clone") and qual in ("Arc", "Rc", "Box", "Pin", "Cell", "RefCell"):
            return self.expr(a0, ctx, hint) if a0 is not None else UNKNOWN
        if qual == "Duration" or last in ("from_millis", "from_secs", "from_micros", "from_secs_f64"):
            v = self.expr(a0, ctx) if a0 is not None else UNKNOWN
            if not isinstance(v, Int):
                return UNKNOWN
            return Int({"from_secs": v.n * 1000, "from_micros": max(v.n // 1000, 0), "from_nanos": 0}.get(last, v.n))
        if last in ("sleep", "sleep_until", "delay_for"):
            ms = self.duration(a0, ctx) if last != "sleep_until" else DEFAULT_SLEEP_MS
            return Fut(f"sleep({ms})")
        if last == "yield_now":
            return Fut("yield_now()")
        if last == "interval":
            return Stmt(f"interval({max(1, self.duration(a0, ctx))})", "interval")
        if last == "timeout" and len(args) == 2:
            ms = self.duration(args[0], ctx)
            f = self.future_arg(args[1], ctx, "timeout")
            if f is None:
                return UNKNOWN
            if f.borrowed:
                m = self.add_site("timeout over &mut future", e, ctx, f.borrowed, [])
                return Fut(f"timeout({ms}, {f.text}){m}", borrowed=f.borrowed, spawnable=False)
            return Fut(f"timeout({ms}, {f.text})")
        if last in ("spawn", "spawn_local") and qual in ("tokio", "task", "", "runtime", "rt", "handle") \
                and not full.startswith(("tokio_test", "loom", "async_std", "smol", "std::")):
            f = self.future_arg(a0, ctx, "spawned")
            if f is None:
                return UNKNOWN
            return self.spawn(f, e, ctx)
        if last in ("spawn_blocking", "block_in_place"):
            return UNKNOWN
        if last in ("select", "select_all") and qual in ("future", "futures", "futures_util", "") and len(args) == 2:
            a, b = self.future_arg(args[0], ctx, "select"), self.future_arg(args[1], ctx, "select")
            if a is None or b is None:
                return UNKNOWN
            return Fut(f"futures::future::select({a.text}, {b.text})", spawnable=False)
        if last in ("join_all", "try_join_all") and a0 is not None:
            items = self.list_of_futures(a0, ctx)
            if items is None:
                return UNKNOWN
            return Fut(f"join_all({items})", spawnable=False)
        if last in ("iter", "once") and qual == "stream" and a0 is not None:
            if last == "once":
                f = self.future_arg(a0, ctx, "stream item")
                return Stream((f.text,), count=1, map_all="once") if f is not None else UNKNOWN
            v = self.expr(a0, ctx)
            if isinstance(v, list):
                texts = tuple(_spawnable(x).text for x in v if isinstance(x, Fut))
                return Stream(texts, count=len(texts)) if texts else UNKNOWN
            n = _range_len(a0, self, ctx)
            if n is not None:
                return Stream((), count=n)
            return UNKNOWN
        if last == "drop" and a0 is not None:
            v = self.expr(a0, ctx)
            if isinstance(v, Local) and v.kind != "int":
                return Stmt(f"drop({v.name})")
            if isinstance(v, Res) and v.kind in ("channel", "unbounded", "oneshot"):
                # dropping a Sender is not a model operation: the task still counts as a sender of the
                # channel, so a later receive here would wait for itself. Its receives are left out.
                ctx.env[f"__dropped__:{v.name}"] = Int(1)
                self.note(e, f"`drop({a0.text})`: dropping a Sender is not modelled; `{v.name}`'s receives after it "
                             "in this body are left out")
            return UNKNOWN
        if last in ("Some", "Ok", "Err") and a0 is not None:
            return self.expr(a0, ctx, hint)
        return None

    def spawn(self, f: Fut, e: Node, ctx: _Ctx) -> Value:
        f = _spawnable(f)
        if not f.spawnable:
            self.note(e, "a spawned future that is not an async block or async fn call is left out")
            return UNKNOWN
        if ctx.in_loop:
            self.spawn_count += 1
            name = self.local_name(f"spawned_{e.loc.line}")
            body = f.text[f.text.index("{"):] if f.text.startswith("async") else "{\n    " + f.text + ".await;\n}"
            self.tasks.append(f"task {name}[{LOOP_SPAWN_COPIES}] {body}{self.mark(e)}")
            self.default(e, f"a spawn inside a loop: the model runs {LOOP_SPAWN_COPIES} copies of the spawned task "
                            "from the start (task "
                            f"{name}[{LOOP_SPAWN_COPIES}])")
            return UNKNOWN
        return Stmt(f"spawn({f.text})", "spawn")

    def list_of_futures(self, a: Node, ctx: _Ctx) -> str | None:
        """`[f, g]`, `vec![..]` or `(0..n).map(|_| F)` as the model's list."""
        v = self.expr(a, ctx)
        if isinstance(v, list):
            fs = [_spawnable(x).text for x in v if isinstance(x, Fut)]
            return "[" + ", ".join(fs[:MAX_LIST]) + "]" if fs else None
        if isinstance(v, Stream):
            if not v.items and not v.map_all:
                return None
            if v.map_all:
                return f"(0..{min(v.count, MAX_LIST)}).map(|_| {v.map_all})"
            return "[" + ", ".join(v.items[:MAX_LIST]) + "]"
        return None

    def method(self, e: Node, recv_n: Node, meth: str, args: list[Node], ctx: _Ctx, hint: str) -> Value:
        a0 = args[0] if args else None
        # iterator / stream chains
        if meth == "map" and a0 is not None:
            base = self.expr(recv_n, ctx)
            n = base.count if isinstance(base, Stream) and not base.items else _range_len(recv_n, self, ctx)
            if n is not None:
                return self.map_range(n, a0, ctx)
            if isinstance(base, Stream):
                return base
        v = self.expr(recv_n, ctx, hint)
        if isinstance(v, Stream):
            if meth in ("buffered", "buffer_unordered") and a0 is not None:
                k = self.expr(a0, ctx)
                return Stream(v.items, v.map_all, v.count, f".{meth}({k.n if isinstance(k, Int) else 1})")
            if meth == "for_each" and a0 is not None:
                body = self.closure_future(a0, ctx, [UNKNOWN])
                text = self.stream_text(v) + f".for_each(|_| {body.text if body else 'async {}'})"
                if v.buffer and body is not None and ".await" in body.text:
                    m = self.add_site(f"stream{v.buffer.split('(')[0]} whose for_each body awaits", e, ctx,
                                      _short(recv_n.text), _awaits(body.text))
                    return Fut(text + m, spawnable=False)
                return Fut(text, spawnable=False)
            if meth in ("next",) and isinstance(v, Stream):
                return UNKNOWN
            return v
        if meth in ("clone", "as_ref", "borrow", "to_owned", "into", "unwrap", "expect", "ok", "unwrap_or_default",
                    "unwrap_or", "unwrap_or_else", "into_future", "boxed", "boxed_local", "fuse", "is_ok", "is_err",
                    "is_some", "is_none", "map_err", "context", "with_context", "instrument", "in_current_span"):
            if meth in ("fuse", "boxed", "boxed_local", "instrument", "in_current_span") and isinstance(v, Local):
                return v
            return v
        if meth == "enable" and isinstance(v, Fut) and v.borrowed:
            return Stmt(f"{v.borrowed}.enable()")  # `waiter.as_mut().enable()`: registers without polling
        if meth == "as_mut" and isinstance(v, Local) and v.kind == "future":
            return Fut(f"&mut {v.name}", borrowed=v.name, spawnable=False)
        if isinstance(v, Res):
            return self.res_method(e, v, meth, args, ctx)
        if isinstance(v, Local):
            return self.local_method(e, v, meth, args, ctx)
        # a crate method: on a known struct, or unique by name
        owner = v.type if isinstance(v, Struct) else None
        d = self.idx.lookup_method(owner, meth)
        if d is None:
            for a in args:
                av = self.expr(a, ctx)
                if isinstance(av, Awaited | Stmt):
                    self.emit_value(av, a)
            return UNKNOWN
        params = [p for p in d.params if p[0] != "self"]
        env: dict[str, Value] = {"self": v if not isinstance(v, Unknown) else UNKNOWN}
        for (pname, _), a in zip(params, args, strict=False):
            env[pname] = self.expr(a, ctx, pname)
        return self.inline(d, env, e, ctx)

    def map_range(self, n: int, closure: Node, ctx: _Ctx) -> Value:
        params = closure.field("parameters")
        pnames = [p.text.strip() for p in params.named] if params is not None else []
        if n > MAX_LIST:
            self.default(closure, f"{n} items: the model keeps the first {MAX_LIST}")
            n = MAX_LIST
        if not pnames or pnames[0] == "_":
            f = self.closure_future(closure, ctx, [UNKNOWN])
            if f is None:
                return UNKNOWN
            return Stream((), f.text, n)
        items = []
        for k in range(n):
            f = self.closure_future(closure, ctx, [Int(k)])
            if f is not None:
                items.append(f.text)
        return Stream(tuple(items), count=n)

    def closure_future(self, c: Node, ctx: _Ctx, args: list[Value]) -> Fut | None:
        """The future a closure returns when called with `args` (`|_| foo()`, `move |i| { let s =
        s.clone(); async move { .. } }`)."""
        if c.type != "closure_expression":
            v = self.expr(c, ctx)
            if isinstance(v, Closure):
                c = v.node
            else:
                return None
        params = c.field("parameters")
        body = c.field("body")
        sub = ctx.child()
        pnodes = params.named if params is not None else []
        for p, a in zip(pnodes, args, strict=False):
            pn = p.text.split(":")[0].strip().removeprefix("mut ")
            if pn != "_":
                sub.env[pn] = a
        if body is None:
            return None
        saved, self.out = self.out, []
        v = self.value_block(body, sub) if body.type == "block" else self.expr(body, sub)
        pre, self.out = self.out, saved
        if isinstance(v, Fut):
            if pre and v.text.startswith("async {"):
                return Fut("async {\n" + _indent("\n".join(pre)) + v.text[len("async {"):], v.kind)
            return v
        if isinstance(v, Local) and v.kind == "future":
            return Fut(v.name)
        if isinstance(v, Awaited):  # a closure that awaits is not a future: treat its body as one
            return Fut("async {\n" + _indent("\n".join([*pre, v.text + ";"])) + "\n}")
        return None

    def stream_text(self, s: Stream) -> str:
        if s.map_all == "once":
            src = f"stream::once({s.items[0]})"
        elif s.map_all:
            src = f"stream::iter((0..{s.count}).map(|_| {s.map_all}))"
        else:
            src = "stream::iter([" + ", ".join(s.items) + "])"
        return src + s.buffer

    def res_method(self, e: Node, r: Res, meth: str, args: list[Node], ctx: _Ctx) -> Value:
        a0 = args[0] if args else None
        k = r.kind
        n = r.name
        if meth == "recv" and f"__dropped__:{n}" in ctx.env:
            return UNKNOWN
        if k in ("mutex", "fmutex") and meth in ("lock", "lock_owned"):
            return Fut(f"{n}.lock()", "guard")
        if k == "rwlock" and meth in ("read", "write", "read_owned", "write_owned"):
            return Fut(f"{n}.{meth.removesuffix('_owned')}()", "guard")
        if k == "semaphore":
            if meth in ("acquire", "acquire_owned"):
                return Fut(f"{n}.acquire()", "guard")
            if meth in ("acquire_many", "acquire_many_owned") and a0 is not None:
                v = self.expr(a0, ctx)
                if isinstance(v, Int) and v.n >= 1:
                    cap = self.capacity.get(n, MAX_CAPACITY)
                    if v.n > cap:
                        self.default(a0, f"`{a0.text}` permits: more than `{n}` has ({cap}); the model takes {cap}")
                        self.approximate[n] = f"`acquire_many({v.n})` takes {cap} in the model"
                    return Fut(f"{n}.acquire_many({min(v.n, cap)})", "guard")
                self.default(a0, f"`{a0.text}` permits: not a constant; the model takes 1")
                return Fut(f"{n}.acquire()", "guard")
        if k == "channel":
            if meth == "send":
                return Fut(f"{n}.send()")
            if meth == "try_send":
                return Stmt(f"{n}.try_send()")
            if meth in ("reserve", "reserve_owned"):
                return Fut(f"{n}.reserve()", "permit")
            if meth == "try_reserve":
                return Stmt(f"{n}.try_reserve()", "try-permit")
            if meth == "send_timeout" and len(args) == 2:
                return Fut(f"{n}.send_timeout({self.duration(args[1], ctx)})")
            if meth == "recv":
                return Fut(f"{n}.recv()")
        if k == "unbounded":
            if meth == "send":
                return Stmt(f"{n}.send()")
            if meth == "recv":
                return Fut(f"{n}.recv()")
        if k == "oneshot":
            if meth == "send":
                return Stmt(f"{n}.send()")
        if k == "notify":
            if meth == "notified":
                return Fut(f"{n}.notified()")
            if meth in ("notify_one", "notify_waiters"):
                return Stmt(f"{n}.{meth}()")
        if k == "oncecell" and meth in ("get_or_init", "get_or_try_init") and a0 is not None:
            f = self.closure_future(a0, ctx, [])
            return Fut(f"{n}.get_or_init(|| {f.text if f is not None else 'async {}'})")
        if meth in ("closed", "is_closed", "len", "capacity", "available_permits", "try_recv", "get", "is_empty",
                    "initialized", "max_capacity", "same_channel", "downgrade", "blocking_send", "blocking_recv",
                    "blocking_lock"):
            return UNKNOWN  # reads state, or not async: nothing the model waits on
        # What changes the resource but is not modelled (try_lock / try_acquire take a permit,
        # close, add_permits, forget): a hang on it in the model may not be one in the code.
        self.note(e, f"`{meth}` on `{n}` ({k}) is left out")
        self.approximate.setdefault(n, f"`{meth}` on it (line {e.loc.line}) is not modelled")
        return UNKNOWN

    def local_method(self, e: Node, v: Local, meth: str, args: list[Node], ctx: _Ctx) -> Value:
        a0 = args[0] if args else None
        if v.kind == "set" and meth in ("push", "push_back") and a0 is not None:
            f = self.future_arg(a0, ctx, "pushed")
            f = _spawnable(f) if f is not None else None
            if f is None or not f.spawnable:
                return UNKNOWN
            return Stmt(f"{v.name}.{meth}({f.text})")
        if v.kind == "set" and meth == "next":
            return Fut(f"{v.name}.next()", spawnable=False)
        if v.kind == "stream" and meth == "next":
            return Fut(f"{v.name}.next()", spawnable=False)
        if v.kind == "joinset" and meth == "spawn" and a0 is not None:
            f = self.future_arg(a0, ctx, "spawned")
            f = _spawnable(f) if f is not None else None
            if f is None or not f.spawnable:
                return UNKNOWN
            if ctx.in_loop:
                self.note(e, "`JoinSet::spawn` inside a loop is left out (the model spawns at most once per site)")
                return UNKNOWN
            return Stmt(f"{v.name}.spawn({f.text})")
        if v.kind == "joinset" and meth == "join_next":
            return Fut(f"{v.name}.join_next()", spawnable=False)
        if v.kind == "joinset" and meth in ("abort_all", "shutdown"):
            return Stmt(f"{v.name}.abort_all()")
        if v.kind == "handle" and meth == "abort":
            return Stmt(f"{v.name}.abort()")
        if v.kind == "interval" and meth == "tick":
            return Fut(f"{v.name}.tick()", spawnable=False)
        if v.kind == "permit" and meth == "send":
            return Stmt(f"{v.name}.send()")
        if v.kind == "future" and meth in ("as_mut",):
            return Fut(f"&mut {v.name}", borrowed=v.name, spawnable=False)
        if v.kind == "future" and meth == "enable":
            return Stmt(f"{v.name}.enable()")
        return UNKNOWN

    # ---- macros ----

    def macro(self, e: Node, ctx: _Ctx, hint: str) -> Value:
        full = macro_name(e)
        name = full.rsplit("::", 1)[-1]
        if name in ("select", "select_biased"):
            return self.select(e, ctx, futures_style=full.startswith("futures") or name == "select_biased"
                               or "futures" in self.idx.resolve_path(e.file, name))
        if name in ("join", "try_join"):
            parts = []
            for a in macro_args(e):
                f = self.future_arg(a, ctx, "join!")
                if f is not None:
                    parts.append(f.text)
            return Stmt(f"join!({', '.join(parts)})") if parts else UNKNOWN
        if name == "pin":
            args = macro_args(e)
            if args and args[0] is not None and args[0].type == "identifier" and e.parent is not None \
                    and e.parent.type == "expression_statement":
                return UNKNOWN  # tokio::pin!(f); the statement: f stays f
            return self.expr(args[0], ctx, hint) if args and args[0] is not None else UNKNOWN
        if name == "poll":
            args = macro_args(e)
            f = self.future_arg(args[0] if args else None, ctx, "poll!")
            if f is None:
                return UNKNOWN
            if f.borrowed:
                m = self.add_site("poll! over a borrowed future", e, ctx, f.borrowed, [])
                return Stmt(f"poll!({f.text}){m}")
            return Stmt(f"poll!({f.text})")
        if name in ("assert_ok", "assert_err", "dbg", "assert_ready", "assert_ready_ok", "assert_ready_err", "assert",
                    "assert_eq", "assert_ne", "debug_assert", "debug_assert_eq", "ready", "try_join_all", "unwrap",
                    "expect", "timeout", "assert_pending", "task_local"):
            # an assertion or wrapper: the awaits in its arguments still run; its value is its first's
            first: Value = UNKNOWN
            for i, a in enumerate(x for x in macro_args(e) if x is not None):
                v = self.expr(a, ctx, hint)
                if i == 0 and name in ("assert_ok", "assert_err", "dbg", "ready", "unwrap", "expect"):
                    first = v
                elif isinstance(v, Awaited | Stmt):
                    self.emit_value(v, a)
            return first
        if name == "vec":
            toks = macro_tokens(e)
            if any(t.text == ";" for t in toks):
                return UNKNOWN
            return [self.expr(a, ctx, hint) if a is not None else UNKNOWN for a in macro_args(e)]
        return UNKNOWN

    def select(self, e: Node, ctx: _Ctx, futures_style: bool) -> Value:
        body = select_arms(e)
        for loc in body.unparsed:
            self.notes.append(Note(loc, "a select! branch that is not Rust mcheck can read is left out"))
        kw = "futures::select!" if futures_style else "select!"
        lines: list[str] = []
        if body.biased:
            lines.append("biased;")
        borrowed: list[tuple[str, Node]] = []
        arm_awaits: list[str] = []
        for arm in body.arms:
            inner = ctx.child(in_loop=ctx.in_loop)
            if arm.pattern in ("else", "complete"):
                btxt = self.arm_body(arm.body, inner)
                lines.append(f"{arm.pattern} => {btxt}")
                continue
            if arm.pattern == "default" or arm.future is None:
                self.notes.append(Note(arm.at, "a `default =>` select! branch is left out"))
                continue
            fv = self.expr(arm.future, ctx)
            if futures_style and isinstance(fv, Local) and fv.kind == "future":
                fut: Fut | None = Fut(fv.name, borrowed=fv.name, spawnable=False)
            elif (isinstance(fv, Local) and fv.kind == "future") or (isinstance(fv, Local) and fv.kind == "handle"):
                fut = Fut(fv.name, spawnable=False)
            elif isinstance(fv, Res) and fv.kind == "oneshot":
                fut = Fut(f"{fv.name}.recv()")
            elif isinstance(fv, Fut):
                fut = fv
            else:
                fut = None
                self.note(arm.future, f"select! branch `{_short(arm.future.text)}`: not a future the model knows; "
                                      "it never completes in the model")
                fut = Fut("sleep(1000000000)") if False else None
            if fut is None:
                continue
            if fut.text.startswith("async {") and futures_style and not fut.borrowed:
                pass
            guard = ""
            if arm.guard is not None:
                guard = f", if {self.condition(arm.guard, ctx)}"
            btxt = self.arm_body(arm.body, inner)
            if ".await" in btxt or "select!" in btxt or "join!" in btxt:
                arm_awaits.extend(_awaits(btxt))
            m = self.mark(arm.future)
            if fut.borrowed:
                borrowed.append((fut.borrowed, arm.future))
                m = ""
            lines.append(f"_ = {fut.text}{guard}{m}@@ARM{len(borrowed) if fut.borrowed else 0}@@ => {btxt}")
        out_lines = []
        for line in lines:
            mm = re.search(r"@@ARM(\d+)@@", line)
            if mm and mm.group(1) != "0":
                fname, node = borrowed[int(mm.group(1)) - 1]
                kind = "futures::select! over a named future" if futures_style else "select! over &mut future"
                site = self.add_site(kind, node, ctx, fname, arm_awaits)
                line = line.replace(mm.group(0), site)
            elif mm:
                line = line.replace(mm.group(0), "")
            out_lines.append(line)
        if futures_style:
            out_lines = [x + "," if not x.endswith(",") and x != "biased;" else x for x in out_lines]
            if body.biased:
                kw = "futures::select_biased!"
                out_lines = [x for x in out_lines if x != "biased;"]
        if macro_name(e).endswith("select_biased"):
            kw = "futures::select_biased!"
        return Stmt(f"{kw} {{{self.mark(e)}\n" + _indent("\n".join(out_lines)) + "\n}")

    def arm_body(self, body: Node | None, ctx: _Ctx) -> str:
        if body is None:
            return "{}"
        if body.type == "block":
            stmts = self.block_stmts(body, ctx)
        elif body.type == "break_expression" and ctx.in_loop:
            return "break,"
        elif body.type == "continue_expression" and ctx.in_loop:
            return "continue,"
        else:
            saved, self.out = self.out, []
            self.expr_stmt(body, ctx)
            stmts, self.out = self.out, saved
        if not stmts:
            return "{}"
        return "{\n" + _indent("\n".join(stmts)) + "\n}"

    # ---- control flow ----

    def condition(self, c: Node, ctx: _Ctx) -> str:
        t = c.type
        if t == "parenthesized_expression" and c.named:
            return f"({self.condition(c.named[0], ctx)})"
        if t == "unary_expression" and c.text.startswith("!") and c.named:
            return f"!{self.condition(c.named[0], ctx)}"
        if t == "binary_expression":
            op = c.field("operator")
            left, right = c.field("left"), c.field("right")
            if op is not None and left is not None and right is not None:
                if op.text in ("&&", "||"):
                    return f"{self.condition(left, ctx)} {op.text} {self.condition(right, ctx)}"
                if op.text in ("<", "<=", ">", ">=", "==", "!="):
                    a, b = self.int_text(left, ctx), self.int_text(right, ctx)
                    if a is not None and b is not None and (ctx.env.get(left.text) or ctx.env.get(right.text)):
                        return f"{a} {op.text} {b}"
        if t == "boolean_literal":
            return "choose()"  # the DSL has no constant conditions: either outcome
        v = self.expr(c, ctx)
        if isinstance(v, Awaited | Stmt):
            self.emit_value(v, c)
        return "choose()"

    def loop_body(self, body: Node | None, ctx: _Ctx) -> list[str]:
        if body is None:
            return []
        return self.block_stmts(body, ctx.child(in_loop=True))

    def control(self, e: Node, ctx: _Ctx) -> Value:
        t = e.type
        m = self.mark(e)
        if t == "if_expression":
            cond = e.field("condition")
            cons = e.field("consequence")
            alt = e.field("alternative")
            if cond is not None and cond.type == "let_condition":
                val = cond.field("value")
                if val is not None:
                    v = self.expr(val, ctx)
                    if isinstance(v, Awaited | Stmt):
                        self.emit_value(v, val)
                ctext = "choose()"
            else:
                ctext = self.condition(cond, ctx) if cond is not None else "choose()"
            then = self.block_stmts(cons, ctx.child()) if cons is not None else []
            els: list[str] = []
            alt_text = ""
            if alt is not None and alt.named:
                a = alt.named[0]
                if a.type == "block":
                    els = self.block_stmts(a, ctx.child())
                else:
                    saved, self.out = self.out, []
                    self.expr_stmt(a, ctx.child())
                    els, self.out = self.out, saved
            if not then and not els:
                return UNKNOWN
            if els:
                alt_text = " else {\n" + _indent("\n".join(els)) + "\n}"
            return Stmt(f"if {ctext} {{{m}\n" + _indent("\n".join(then)) + "\n}" + alt_text)
        if t == "loop_expression":
            body = self.loop_body(e.field("body"), ctx)
            if not _can_wait(body):
                return UNKNOWN if not body else self.busy(e, body)
            return Stmt(f"loop {{{m}\n" + _indent("\n".join(body)) + "\n}")
        if t == "while_expression":
            cond = e.field("condition")
            body_n = e.field("body")
            head = "while choose()"
            if cond is not None and cond.type == "let_condition":
                val = cond.field("value")
                v = self.expr(val, ctx) if val is not None else UNKNOWN
                if isinstance(v, Awaited):
                    head = f"while let Some(_) = {v.text}"
            elif cond is not None:
                # `while rx.recv().await.is_some()`: a receive loop
                v = self.expr(cond, ctx)
                if isinstance(v, Awaited) and v.text.endswith((".recv().await", ".next().await")):
                    head = f"while let Some(_) = {v.text}"
                elif isinstance(v, Awaited):
                    self.emit_value(v, cond)
                else:
                    head = f"while {self.condition(cond, ctx)}"
            body = self.loop_body(body_n, ctx)
            if head.startswith("while let"):
                if body_n is not None:
                    awaits = _awaits("\n".join(body))
                    setm = re.match(r"while let Some\(_\) = (\w+)\.next\(\)\.await", head)
                    if setm and awaits:
                        site = self.add_site("FuturesUnordered/stream loop whose body awaits", e, ctx, setm.group(1),
                                             awaits)
                        m = m + site
                return Stmt(f"{head} {{{m}\n" + _indent("\n".join(body)) + "\n}")
            if not _can_wait(body):
                return UNKNOWN if not body else self.busy(e, body)
            return Stmt(f"{head} {{{m}\n" + _indent("\n".join(body)) + "\n}")
        if t == "for_expression":
            val = e.field("value")
            pat = e.field("pattern")
            n = _range_len(val, self, ctx) if val is not None else None
            body = self.loop_body(e.field("body"), ctx)
            if not body:
                return UNKNOWN
            if n is not None and n <= MAX_LIST:
                var = "_"
                return Stmt(f"for {var} in 0..{n} {{{m}\n" + _indent("\n".join(body)) + "\n}")
            if pat is not None:
                self.default(e, f"`for {pat.text} in ..`: any number of iterations (while choose())")
            if not _can_wait(body):
                return self.busy(e, body)
            return Stmt(f"while choose() {{{m}\n" + _indent("\n".join(body)) + "\n}")
        if t == "match_expression":
            val = e.field("value")
            if val is not None:
                v = self.expr(val, ctx)
                if isinstance(v, Awaited | Stmt):
                    self.emit_value(v, val)
            body_n = e.field("body")
            arms: list[list[str]] = []
            for arm in body_n.named if body_n is not None else []:
                if arm.type != "match_arm":
                    continue
                ab = arm.field("value")
                if ab is None:
                    continue
                if ab.type == "block":
                    arms.append(self.block_stmts(ab, ctx.child()))
                else:
                    saved, self.out = self.out, []
                    self.expr_stmt(ab, ctx.child())
                    part, self.out = self.out, saved
                    arms.append(part)
            if not any(arms):
                return UNKNOWN
            text = ""
            for i, arm_stmts in enumerate(arms):
                block = "{\n" + _indent("\n".join(arm_stmts)) + "\n}"
                if i == 0:
                    text = f"if choose() {block}" if len(arms) > 1 else block
                elif i == len(arms) - 1:
                    text += f" else {block}"
                else:
                    text += f" else if choose() {block}"
            return Stmt(text.replace("{\n", "{" + m + "\n", 1))
        return UNKNOWN

    def busy(self, e: Node, body: list[str]) -> Value:
        self.note(e, "a loop whose body never awaits in the model is left out")
        return UNKNOWN


def _owner_of(ctx: _Ctx, ex: Extractor) -> str | None:
    v = ctx.env.get("__owner__")
    if isinstance(v, Struct) and v.type:
        return v.type
    return ex.root.fn.owner if ex.root.fn is not None else None


def _spawnable(f: Fut) -> Fut:
    """`spawn(rx.recv())`, `set.push(m.lock())`: a leaf future becomes `async { F.await; }`, which
    the model spawns or pushes (a borrowed or named future cannot be: it stays as it is)."""
    if f.text.startswith("async") or f.borrowed or re.fullmatch(r"\w+", f.text):
        return f
    return Fut("async { " + f.text + ".await; }")


def _range_len(n: Node | None, ex: Extractor, ctx: _Ctx) -> int | None:
    if n is None:
        return None
    while n.type == "parenthesized_expression" and n.named:
        n = n.named[0]
    if n.type != "range_expression":
        return None
    parts = n.named
    if len(parts) != 2:
        return None
    a, b = ex.expr(parts[0], ctx), ex.expr(parts[1], ctx)
    if isinstance(a, Int) and isinstance(b, Int):
        return max(0, b.n - a.n + (1 if "..=" in n.text else 0))
    return None


_STATEMENTS = frozenset({"let_declaration", "expression_statement", "function_item", "struct_item", "impl_item",
                         "use_declaration", "enum_item", "const_item", "static_item", "type_item", "trait_item",
                         "mod_item", "macro_definition", "attribute_item", "empty_statement", "inner_attribute_item"})


def _is_tail(st: Node) -> bool:
    """A block's last child is its value (a tail expression) unless it is a statement; tree-sitter
    wraps a block-like tail (`async move { .. }`, `if`, `match`) in an expression_statement
    without its `;`."""
    if st.type == "expression_statement":
        return not st.text.rstrip().endswith(";") and bool(st.named)
    return st.type not in _STATEMENTS


def _tail_expr(st: Node) -> Node:
    return st.named[0] if st.type == "expression_statement" else st


def _can_wait(body: list[str]) -> bool:
    text = "\n".join(body)
    return any(k in text for k in (".await", "break", "select!", "join!", "poll!"))


def _awaits(text: str) -> list[str]:
    clean = _MARK.sub("", text)
    found = re.findall(r"([\w.]+\([^()\n]*\))\.await", clean)
    if "async {" in clean and not found:
        found = ["an inlined async fn"]
    return found


def _strip_type(ty: str) -> str:
    t = re.sub(r"&\s*('\w+\s*)?(mut\s+)?", "", ty).strip()
    while True:
        m = re.match(r"^(?:std::sync::)?(Arc|Rc|Box)\s*<(.*)>$", t, re.S)
        if not m:
            return t
        t = m.group(2).strip()


def _short(text: str) -> str:
    one = " ".join(text.split())
    return one if len(one) <= 60 else one[:57] + "..."


def _indent(text: str) -> str:
    return "\n".join("    " + line if line.strip() else line for line in text.split("\n"))


def neutralize(text: str, futures: list[str]) -> str | None:
    """NOTE(per-site): the model with each named let-bound future made one that holds nothing
    (its body's lines commented out, so that every line keeps its number and `// from`): the site
    that borrows it is assumed fixed. None when a future is not found."""
    lines = text.split("\n")
    for name in futures:
        at = next((i for i, line in enumerate(lines) if re.match(rf"\s*let {re.escape(name)} = ", line)), None)
        if at is None:
            return None
        line = lines[at]
        indent = line[: len(line) - len(line.lstrip())]
        code, sep, comment = line.partition("  // from ")
        if code.rstrip().endswith("{"):
            end = next((j for j in range(at + 1, len(lines)) if lines[j].startswith(indent + "}")), None)
            if end is None:
                return None
            for j in range(at + 1, end):
                body, sep2, origin = lines[j].partition("  // from ")
                lines[j] = f"{indent}    // assumed fixed: {body.strip()}{sep2}{origin}"
        else:
            lines[at] = f"{indent}let {name} = async {{}};  // assumed fixed: {code.strip()}{sep}{comment}"
    return "\n".join(lines)


MAX_COMPANIONS = 2
"""At most this many other entry points run alongside one (NOTE(companions))."""


def extract(index: Index, root: Root, companions: tuple[Root, ...] = ()) -> Model:
    return Extractor(index, root, companions).run()


def companions_of(model: Model, others: list[Model]) -> tuple[Root, ...]:
    """NOTE(companions): an async fn that nothing in the scanned code calls (a handler, a reaper,
    an actor loop a framework starts) and that touches a resource this entry point has only by
    type (`Pool.idle`) may run at the same time, so the entry point's model runs it alongside, as
    a task of its own from the start, when it is in the same file or a method of the same type
    (sharing a type through code far apart is more often a coincidence of inlining than one
    system). #[tokio::main] and #[tokio::test] fns are programs of their own and never companions."""
    if not model.typed:
        return ()
    mine = model.root
    found = [m.root for m in others if m.root is not mine and m.root.kind == "async fn" and m.typed & model.typed
             and (m.root.node.file is mine.node.file or (m.root.fn is not None and mine.fn is not None
                                                         and m.root.fn.owner is not None
                                                         and m.root.fn.owner == mine.fn.owner))]
    return tuple(found[:MAX_COMPANIONS])
