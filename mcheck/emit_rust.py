"""Checked program → Rust: a cargo project that runs the model on the real tokio runtime.

A peer of compile.py: it reads the checked program (program.py), and a `Schedule` taken from a
trace, and writes Rust text in which each resource, task, async fn, select!, set and timer is the
tokio or futures code it models; `mcheck/rust/rt.rs` is the runtime support it is built with. It
decides no verdict, never reads the transition system, and prints nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources

from mcheck import program as p
from mcheck import replies
from mcheck.errors import ModelError
from mcheck.model import CompiledModel, EventKind, StepKind
from mcheck.source import Source, Span
from mcheck.trace import Trace, step_events

TOKIO_VERSION = "1.24.2"  # Debian's librust-tokio-dev, which the emitted projects are tested with
FUTURES_VERSION = "0.3.21"  # Debian's librust-futures-dev

CARGO_TOML = """[package]
name = "{name}"
version = "0.1.0"
edition = "2021"
publish = false

# Written by `mcheck emit-rust`; tested with tokio {tokio} and futures {futures} (Debian's
# librust-tokio-dev and librust-futures-dev), built offline: see .cargo/config.toml.
[dependencies]
tokio = {{ version = "1", features = ["rt", "sync", "time", "macros", "test-util"] }}
futures-util = {{ version = "0.3", default-features = false, features = ["std", "async-await", "async-await-macro"] }}

[profile.dev]
debug = false
incremental = false
"""

CARGO_CONFIG = """# Build offline against Debian's packaged crate sources:
#   apt-get install -y librust-tokio-dev librust-futures-dev
[source.crates-io]
replace-with = "debian"

[source.debian]
directory = "/usr/share/cargo/registry"

[net]
offline = true
"""

CRATE_ATTRS = ("#![allow(unused_mut, unused_variables, unused_imports, unused_must_use, unused_braces, dead_code, "
               "unreachable_code, unreachable_patterns, non_snake_case, unused_assignments, redundant_semicolons, "
               "clippy::all)]")

RUST_KEYWORDS = frozenset((
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
    "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "Self",
    "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "abstract", "become",
    "box", "do", "final", "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield"))

_CHANNEL_TYS = (p.Ty.CHANNEL, p.Ty.ONESHOT)
_RESERVED_FNS = frozenset({"drop", "res_", "run", "main", "rt", "unreachable", "vec", "Some", "None", "Box"})

_PARAM_TYPES = {
    p.Ty.MUTEX: "&'static tokio::sync::Mutex<()>",
    p.Ty.SEMAPHORE: "&'static tokio::sync::Semaphore",
    p.Ty.CHANNEL: "rt::Chan",
    p.Ty.ONESHOT: "rt::One",
    p.Ty.RWLOCK: "&'static tokio::sync::RwLock<()>",
    p.Ty.UNFAIR_MUTEX: "&'static futures_util::lock::Mutex<()>",
    p.Ty.NOTIFY: "&'static tokio::sync::Notify",
    p.Ty.ONCE_CELL: "&'static tokio::sync::OnceCell<()>",
    p.Ty.INT: "i64",
}

# What an emitted acquire's `.await` gives, by the guard type an fn returns (returns.py); the
# emitted acquire is not unwrapped, so a semaphore's is the Result. An mpsc Permit borrows its
# rt::Chan parameter and cannot leave the fn: `unsupported` refuses it.
_RETURN_TYPES = {
    "MutexGuard": "tokio::sync::MutexGuard<'static, ()>",
    "SemaphorePermit": "Result<tokio::sync::SemaphorePermit<'static>, tokio::sync::AcquireError>",
    "RwLockReadGuard": "tokio::sync::RwLockReadGuard<'static, ()>",
    "RwLockWriteGuard": "tokio::sync::RwLockWriteGuard<'static, ()>",
}


def rt_source() -> str:
    """The runtime support every emitted program is built with."""
    return resources.files("mcheck").joinpath("rust/rt.rs").read_text(encoding="utf-8")


# ---- schedules ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Schedule:
    """Decisions for the emitted program to take: the tasks' start order, then per (task, site)
    the outcomes of `choose()` (1 true, 0 false) and the winning branch of each `select!` entry
    (its start branch in the program), in the order the trace took them."""

    order: tuple[str, ...] = ()
    decisions: tuple[tuple[str, str, str, tuple[int, ...]], ...] = ()  # (kind, task, "line:col", values)

    def text(self) -> str:
        lines = ["\t".join(("order", *self.order))] if self.order else []
        lines.extend("\t".join((kind, task, site, *map(str, values))) for kind, task, site, values in self.decisions)
        return "".join(line + "\n" for line in lines)


def schedule_from_trace(model: CompiledModel, trace: Trace) -> Schedule:
    """The decisions a trace took, for the emitted program to replay: which task started when,
    every `choose()` outcome, and every `select!` branch that won."""
    order: list[str] = []
    seen: dict[tuple[str, str, str], list[int]] = {}
    before = trace.initial
    for step in trace.steps:
        label = model.ts.transitions[step.transition].label
        events = step_events(model.ts, before, step)
        before = step.state
        if label.kind is StepKind.ADVANCE:
            continue
        task = model.tasks[label.task].name
        if label.kind is StepKind.START and task not in order:
            order.append(task)
        for ev in events:
            if ev.span is None:
                continue
            if ev.kind is EventKind.CHOSE:
                seen.setdefault(("choose", task, str(ev.span)), []).append(1 if ev.detail == "true" else 0)
            elif ev.kind is EventKind.SELECT_WON and ev.detail.isdigit():
                seen.setdefault(("select", task, str(ev.span)), []).append(int(ev.detail) - 1)
    return Schedule(tuple(order), tuple((k, t, s, tuple(v)) for (k, t, s), v in seen.items()))


# ---- what code uses -------------------------------------------------------------------------------

Key = tuple[str, int | str]  # ("g", resource index) or ("p", parameter name): a resource in scope


def _children(node: object) -> Iterator[object]:
    if isinstance(node, tuple):
        yield from node
    elif isinstance(node, dict):
        yield from node.values()
    elif dataclasses.is_dataclass(node) and not isinstance(node, type | p.Local | Span):
        for f in dataclasses.fields(node):
            yield getattr(node, f.name)


def _walk(node: object, into_spawns: bool = True) -> Iterator[object]:
    """Every node under `node` (itself included); with into_spawns False, not the futures that
    `spawn` and `set.spawn` start as tasks of their own."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        if not into_spawns and isinstance(n, p.Spawn | p.SetSpawn):
            continue
        stack.extend(reversed(list(_children(n))))


def _key(ref: p.ResRef | p.Arg) -> Key | None:
    if isinstance(ref, p.GlobalRes):
        return ("g", ref.index)
    if isinstance(ref, p.ParamRef):
        return ("p", ref.name)
    return None


def _direct_spawns(body: p.Block) -> list[p.Spawn | p.SetSpawn]:
    """The spawn sites of this body's own code (not of the async blocks and calls inside it)."""
    out: list[p.Spawn | p.SetSpawn] = []
    stack: list[object] = [body]
    while stack:
        n = stack.pop()
        if isinstance(n, p.Spawn | p.SetSpawn):
            out.append(n)
            continue
        if isinstance(n, p.AsyncBlock | p.CallFn | p.GetOrInit | p.ForEach | p.NewSet | p.Push | p.Join | p.Select):
            if isinstance(n, p.Select):
                stack.extend(reversed([a.body for a in n.arms] + ([n.otherwise] if n.otherwise else [])))
            continue
        stack.extend(reversed(list(_children(n))))
    return out


class _Analysis:
    """Which resources each piece of code uses and sends on, through the async fns it calls."""

    def __init__(self, prog: p.Program) -> None:
        self.prog = prog
        self._sends: dict[str, frozenset[Key]] = {}
        self._uses: dict[str, frozenset[Key]] = {}
        self._recvs: dict[str, frozenset[Key]] = {}

    def _map(self, call: p.CallFn, keys: frozenset[Key]) -> set[Key]:
        fdef = self.prog.fns[call.fn]
        args = {name: a for (name, _ty), a in zip(fdef.params, call.args, strict=True)}
        out: set[Key] = set()
        for k in keys:
            if k[0] == "g":
                out.add(k)
            elif str(k[1]) in args:  # (not a oneshot the fn makes itself: a local of its own)
                mapped = _key(args[str(k[1])])
                if mapped is not None:
                    out.add(mapped)
        return out

    def fn_sends(self, name: str) -> frozenset[Key]:
        if name not in self._sends:
            self._sends[name] = frozenset(self.sends(self.prog.fns[name].body))
        return self._sends[name]

    def fn_recvs(self, name: str) -> frozenset[Key]:
        if name not in self._recvs:
            self._recvs[name] = frozenset(self.recvs(self.prog.fns[name].body))
        return self._recvs[name]

    def fn_uses(self, name: str) -> frozenset[Key]:
        if name not in self._uses:
            self._uses[name] = frozenset(self.uses(self.prog.fns[name].body))
        return self._uses[name]

    def sends(self, node: object, into_spawns: bool = True) -> set[Key]:
        """Resources the code sends on (a send, try_send, reserve or oneshot send)."""
        out: set[Key] = set()
        for n in _walk(node, into_spawns):
            ref: p.ResRef | None = None
            if (isinstance(n, p.Acquire) and n.purpose in (p.Purpose.SEND, p.Purpose.RESERVE)) or isinstance(
                    n, p.TrySend | p.OneshotSend | p.TryReserve):
                ref = n.res
            elif isinstance(n, p.CallFn):
                out |= self._map(n, self.fn_sends(n.fn))
            if ref is not None and (k := _key(ref)) is not None:
                out.add(k)
        return out

    def recvs(self, node: object, into_spawns: bool = True) -> set[Key]:
        """Resources the code receives on (the tasks that hold a channel's receiver)."""
        out: set[Key] = set()
        for n in _walk(node, into_spawns):
            if isinstance(n, p.Recv) and (k := _key(n.res)) is not None:
                out.add(k)
            elif isinstance(n, p.CallFn):
                out |= self._map(n, self.fn_recvs(n.fn))
        return out

    def parts(self, node: object, k: Key, into_spawns: bool = True) -> tuple[bool, bool]:
        """Whether the code needs k's sender and k's receiver."""
        return k in self.sends(node, into_spawns), k in self.recvs(node, into_spawns)

    def uses(self, node: object) -> set[Key]:
        """Every resource the code names (directly or through the fns it calls)."""
        out: set[Key] = set()
        for n in _walk(node):
            if isinstance(n, p.GlobalRes | p.ParamRef):
                k = _key(n)
                assert k is not None
                out.add(k)
            elif isinstance(n, p.CallFn):
                out |= {k for k in self.fn_uses(n.fn) if k[0] == "g"}
        return out


def _rn(name: str) -> str:
    """A model name as a Rust identifier."""
    return f"r#{name}" if name in RUST_KEYWORDS else name


def _site(span: Span | None) -> str:
    return str(span) if span is not None else "0:0"


def _line(span: Span | None) -> int:
    return span.line if span is not None else 0


def _indent(text: str, level: int) -> str:
    pad = "    " * level
    return "\n".join(pad + line if line else line for line in text.split("\n"))


@dataclass
class _Scope:
    """The code being written: its parameters' types and the channel handles it holds."""

    params: dict[str, p.Ty]
    # Per channel key, the Rust expression a future created here takes its handle from, when it
    # is a spawned task's (the spawn site's own sender, held until the spawn happens).
    spawn_tokens: dict[int, dict[Key, str]] = dataclasses.field(default_factory=dict)


class RustEmitter:
    """Writes the Rust module of one model: its resources, one async fn per task and per model
    async fn, and the `CASE` that rt.rs runs."""

    def __init__(self, prog: p.Program, source: Source, schedule: Schedule | None = None) -> None:
        self.prog = prog
        self.source = source
        self.schedule = schedule or Schedule()
        self.an = _Analysis(prog)
        self.res = {r.index: r for r in prog.resources}
        self.scope = _Scope({})
        self.declared: set[int] = set()  # integer locals already declared with `let mut`
        self.senders: dict[int, str] = {}  # a made oneshot's Receiver local -> its Sender's Rust name
        self.made = _made_oneshots(prog)
        self.token_count = 0

    # -- names and types --

    def fn_name(self, name: str) -> str:
        """A model async fn's Rust name: its own, unless that is a name the program uses itself."""
        return f"fn_{name}" if name in _RESERVED_FNS or name.startswith("task_") else _rn(name)

    def res_name(self, index: int) -> str:
        return _rn(self.res[index].name)

    def key_name(self, k: Key) -> str:
        return self.res_name(int(k[1])) if k[0] == "g" else _rn(str(k[1]))

    def key_ty(self, k: Key) -> p.Ty:
        if k[0] == "g":
            return p.RES_TY[self.res[int(k[1])].kind]
        return self.scope.params.get(str(k[1]), p.Ty.INT)

    def is_handle(self, k: Key) -> bool:
        return self.key_ty(k) in _CHANNEL_TYS

    def ref_kind(self, ref: p.ResRef) -> p.Ty:
        k = _key(ref)
        assert k is not None
        return self.key_ty(k)

    def ref(self, ref: p.ResRef | p.IntRef) -> str:
        if isinstance(ref, p.IntConst):
            return str(ref.value)
        if replies.is_made(ref):  # the Receiver of `let (tx, rx) = oneshot::channel();`: the local rx
            assert isinstance(ref, p.ParamRef)
            return _rn(ref.name.split("#", 1)[0])
        k = _key(ref)
        assert k is not None
        return self.key_name(k)

    def handle_for(self, k: Key, parts: tuple[bool, bool]) -> str:
        """A copy of channel handle k for a new future: with its sender only if the future sends,
        with its receiver token only if it receives."""
        return f"{self.key_name(k)}.part({str(parts[0]).lower()}, {str(parts[1]).lower()})"

    # -- the module --

    def module(self) -> str:
        out = ["use crate::rt;", "use futures_util::stream::StreamExt;", "use std::sync::OnceLock;", ""]
        out.append(self.res_struct())
        for fdef in self.prog.fns.values():
            out.append(self.fn_def(fdef))
        for td in self.prog.tasks:
            out.append(self.task_def(td))
        out.append(self.run_fn())
        has_main = any(t.name == "main" for t in self.prog.tasks)
        out.append(f"pub const SCHEDULE: &str = {_rust_str(self.schedule.text())};\n")
        out.append(f"pub static CASE: rt::Case = rt::Case {{\n    model: {_rust_str(self.source.name)},\n"
                   f"    schedule: SCHEDULE,\n    period_ms: {self.period_ms()},\n    has_main: {str(has_main).lower()},\n"
                   f"    run,\n}};\n")
        return "\n".join(out)

    def period_ms(self) -> int:
        """A monitor round: longer than any wait the model can make (64 x 64 iterations of its
        longest duration), so a task without progress for a whole round is stuck."""
        biggest = max((n.value for n in _walk(self.prog) if isinstance(n, p.IntConst)), default=1)
        return min(4096 * max(1, biggest) + 7, 10**12)

    def res_struct(self) -> str:
        fields = []
        for r in self.declared_resources():
            ty = {
                p.ResKind.MUTEX: "tokio::sync::Mutex<()>",
                p.ResKind.SEMAPHORE: "tokio::sync::Semaphore",
                p.ResKind.CHANNEL: "rt::ChanRx",
                p.ResKind.ONESHOT: "rt::OneShared",
                p.ResKind.RWLOCK: "tokio::sync::RwLock<()>",
                p.ResKind.UNFAIR_MUTEX: "futures_util::lock::Mutex<()>",
                p.ResKind.NOTIFY: "tokio::sync::Notify",
                p.ResKind.ONCE_CELL: "tokio::sync::OnceCell<()>",
            }[r.kind]
            fields.append(f"    {_rn(r.name)}: {ty},")
        body = "\n".join(fields)
        return (f"/// The model's resources (`let NAME = ...;`).\nstruct Res {{\n{body}\n}}\n\n"
                "static RES: OnceLock<Res> = OnceLock::new();\n\n"
                "fn res_() -> &'static Res {\n    RES.get().expect(\"resources not created\")\n}\n")

    def declared_resources(self) -> list[p.Resource]:
        """The model's `let NAME = ...;` resources; a oneshot made per request (instantiate.py adds
        one per site, task copy and call site) is a local pair in the code that makes it."""
        return [r for r in self.prog.resources if r.index not in self.made]

    def run_fn(self) -> str:
        lines = ["/// Creates the resources, then spawns every task of the model.",
                 "fn run() -> rt::BoxFut<'static> {", "    Box::pin(async {"]
        inits = []
        for r in self.declared_resources():
            name = _rn(r.name)
            match r.kind:
                case p.ResKind.CHANNEL:
                    cap = r.permits if r.bounded else 0
                    lines.append(f"        let ({name}_rx, {name}_tx) = rt::channel({cap});")
                    inits.append(f"{name}: {name}_rx")
                case p.ResKind.ONESHOT:
                    inits.append(f"{name}: rt::OneShared::new()")
                case p.ResKind.MUTEX:
                    inits.append(f"{name}: tokio::sync::Mutex::new(())")
                case p.ResKind.SEMAPHORE:
                    inits.append(f"{name}: tokio::sync::Semaphore::new({r.permits})")
                case p.ResKind.RWLOCK:
                    inits.append(f"{name}: tokio::sync::RwLock::new(())")
                case p.ResKind.UNFAIR_MUTEX:
                    inits.append(f"{name}: futures_util::lock::Mutex::new(())")
                case p.ResKind.NOTIFY:
                    inits.append(f"{name}: tokio::sync::Notify::new()")
                case p.ResKind.ONCE_CELL:
                    inits.append(f"{name}: tokio::sync::OnceCell::new()")
        lines.append(f"        let _ = RES.set(Res {{ {', '.join(inits)} }});")
        for r in self.declared_resources():
            name = _rn(r.name)
            if r.kind is p.ResKind.CHANNEL:
                keep = not any(("g", r.index) in self.an.recvs(td.body) for td in self.prog.tasks)
                lines.append(f"        let {name} = rt::Chan::new(&res_().{name}, {name}_tx, {str(keep).lower()});")
            elif r.kind is p.ResKind.ONESHOT:
                lines.append(f"        let {name} = rt::One::new(&res_().{name});")
        lines.append("        rt::start(vec![")
        self.scope = _Scope({})
        for td in self.prog.tasks:
            args = ", ".join(self.handle_for(k, self.an.parts(td.body, k)) for k in self.task_handles(td))
            for i in range(td.copies):
                name = td.name if td.copies == 1 else f"{td.name}[{i}]"
                lines.append(f"            ({_rust_str(name)}.to_string(), {str(td.name == 'main').lower()}, "
                             f"rt::boxed(task_{td.name}({args}))),")
        lines.append("        ]);")
        lines.append("    })")
        lines.append("}\n")
        return "\n".join(lines)

    # -- tasks and fns --

    def task_handles(self, td: p.TaskDef) -> list[Key]:
        return sorted((k for k in self.an.uses(td.body) if k[0] == "g" and self.is_handle(k)), key=lambda k: k[1])

    def fn_hidden(self, name: str) -> list[Key]:
        """The global channels and oneshots an async fn uses: passed as extra parameters, so that
        the future holds the caller's handle (and its sender) as long as it lives."""
        scope, self.scope = self.scope, _Scope({})
        try:
            return sorted((k for k in self.an.fn_uses(name) if k[0] == "g" and self.is_handle(k)), key=lambda k: k[1])
        finally:
            self.scope = scope

    def task_def(self, td: p.TaskDef) -> str:
        self.scope = _Scope({})
        self.declared = set()
        params = ", ".join(f"{self.key_name(k)}: {_PARAM_TYPES[self.key_ty(k)]}" for k in self.task_handles(td))
        head = f"/// task {td.name}{f'[{td.copies}]' if td.copies > 1 else ''} (line {_line(td.span)})\n" \
            f"async fn task_{td.name}({params}) {{"
        return head + "\n" + self.body(td.body, 1) + "\n}\n"

    def fn_def(self, fdef: p.FnDef) -> str:
        self.scope = _Scope(dict(fdef.params))
        self.declared = set()
        params = [f"{_rn(n)}: {_PARAM_TYPES[ty]}" for n, ty in fdef.params]
        hidden = self.fn_hidden(fdef.name)
        self.scope = _Scope(dict(fdef.params))
        params.extend(f"{self.key_name(k)}: {_PARAM_TYPES[self.key_ty(k)]}" for k in hidden)
        ret = "" if fdef.returns is None else f" -> {_RETURN_TYPES[fdef.returns.type_name]}"
        head = f"/// async fn {fdef.name} (line {_line(fdef.span)})\n" \
            f"async fn {self.fn_name(fdef.name)}({', '.join(params)}){ret} {{"
        return head + "\n" + self.body(fdef.body, 1) + "\n}\n"

    def body(self, block: p.Block, level: int) -> str:
        """A task, fn or async block body: bind the resources it names, set aside the senders its
        spawn sites hand to their tasks, then its statements."""
        lines: list[str] = []
        used = self.an.uses(block)
        for k in sorted((k for k in used if k[0] == "g" and not self.is_handle(k)), key=lambda k: k[1]):
            name = self.key_name(k)
            lines.append(f"let {name} = &res_().{name};")
        saved = dict(self.scope.spawn_tokens)
        for site in _direct_spawns(block):
            tokens: dict[Key, str] = {}
            for k in sorted(used, key=lambda k: str(k[1])):
                parts = self.an.parts(site.future, k)
                if not self.is_handle(k) or parts == (False, False):
                    continue
                self.token_count += 1
                var = f"__spawn{self.token_count}_{str(k[1]) if k[0] == 'p' else self.res[int(k[1])].name}"
                lines.append(f"let mut {var} = Some({self.handle_for(k, parts)});")
                tokens[k] = var
            self.scope.spawn_tokens[id(site)] = tokens
        for k in sorted((k for k in used if self.is_handle(k)), key=lambda k: str(k[1])):
            own = self.an.parts(block, k, into_spawns=False)
            if own != self.an.parts(block, k):
                name = self.key_name(k)
                lines.append(f"let {name} = {name}.into_part({str(own[0]).lower()}, {str(own[1]).lower()});"
                             "  // the rest was only for its spawned tasks")
        lines.extend(self.stmts(block.stmts))
        self.scope.spawn_tokens = saved
        return _indent("\n".join(lines), level) if lines else ""

    # -- statements --

    def stmts(self, stmts: tuple[p.Stmt, ...]) -> list[str]:
        out: list[str] = []
        for st in stmts:
            out.extend(self.stmt(st))
        return out

    def block(self, b: p.Block) -> str:
        """`{ ... }` for a block inside a body (its statements only)."""
        inner = self.stmts(b.stmts)
        if not inner:
            return "{}"
        return "{\n" + _indent("\n".join(inner), 1) + "\n}"

    def at(self, span: Span | None) -> str:
        return f"rt::at({_line(span)});"

    def stmt(self, st: p.Stmt) -> list[str]:
        match st:
            case p.LetFuture(local=local, future=fut):
                if isinstance(fut, p.Notified):
                    return [f"let mut {_rn(local.name)} = rt::Kept::notified({self.ref(fut.res)}.notified());"]
                return [f"let mut {_rn(local.name)} = rt::Kept::new({self.future(fut)});"]
            case p.AwaitStmt(future=fut, bind=bind, span=span):
                expr = self.future(fut)
                if expr.startswith(("&", "{")):  # `(&mut f).await`; a block would end the statement
                    expr = f"({expr})"
                if bind is not None:
                    return [self.at(span), f"let mut {_rn(bind.name)} = {expr}.await;"]
                return [self.at(span), f"{expr}.await;"]
            case p.Select() as sel:
                return [self.at(sel.span), *self.select(sel).split("\n")]
            case p.Join(futures=futs, span=span):
                return [self.at(span), *self.join(futs, span).split("\n")]
            case p.Drop(local=local):
                return [f"drop({_rn(local.name)});"]
            case p.TrySend(res=ref, message=m):
                return [f"{self.ref(ref)}.try_send_value({m});" if m else f"{self.ref(ref)}.try_send();"]
            case p.OneshotSend(res=ref):
                return [f"{self.ref(ref)}.send();"]
            case p.OneshotNew(receiver=rx, sender=tx):
                assert tx is not None
                self.senders[rx.index] = _rn(tx.name)
                return [f"let ({_rn(tx.name)}, mut {_rn(rx.name)}) = rt::reply_channel();  // oneshot::channel()"]
            case p.ReplySend(reply=reply, message=message):
                # The value is moved out of the message: the model reads it as 0 from here on.
                return [f"rt::reply(&mut {self.carried(message)});  // {reply.name}.send(())", f"{_rn(message.name)} = 0;"]
            case p.ReplyDrop(message=message):
                return [f"drop({self.carried(message)}.take());  // the arm's end: an unused Sender is dropped",
                        f"{_rn(message.name)} = 0;"]
            case p.PermitSend(local=local, message=m):
                if m:
                    return [f"rt::permit_send_value(&mut {_rn(local.name)}, {m});"]
                return [f"rt::permit_send(&mut {_rn(local.name)});"]
            case p.Spawn(future=fut, handle=handle, span=span):
                name = handle.name if handle is not None else self.spawn_name(fut, span)
                call = f"rt::spawn({_rust_str(name)}, {self.spawned(st, fut)})"
                return [f"let mut {_rn(handle.name)} = {call};" if handle is not None else f"{call};"]
            case p.Loop(body=body):
                return [f"loop {self.block(body)}"]
            case p.For(counter=c, lo=lo, hi=hi, body=body):
                return [f"for {_rn(c.name)} in {lo}i64..{hi}i64 {self.block(body)}"]
            case p.While(cond=c, body=body):
                return [f"while {self.cond(c)} {self.block(body)}"]
            case p.WhileRecv(future=fut, body=body, span=span):
                pattern, body_text = self.received(fut, body)
                return [f"while let {pattern} = {{ {self.at(span)} {self.future(fut)} }}.await {body_text}"]
            case p.If(cond=c, then=then, otherwise=otherwise):
                text = f"if {self.cond(c)} {self.block(then)}"
                if otherwise.stmts:
                    text += f" else {self.block(otherwise)}"
                return text.split("\n")
            case p.SetInt(local=local, value=v):
                if local.index not in self.declared:
                    self.declared.add(local.index)
                    return [f"let mut {_rn(local.name)}: i64 = {self.int(v)};"]
                return [f"{_rn(local.name)} = {self.int(v)};"]
            case p.Break():
                return ["break;"]
            case p.Continue():
                return ["continue;"]
            case p.Return(value=value):
                return ["return;"] if value is None else [f"return {_rn(value.name)};"]
            case p.Block() as b:
                return self.block(b).split("\n")
            case p.NewSet(local=local, items=items, limit=limit, ordered=ordered):
                return [self.new_set(local, items, limit, ordered)]
            case p.Push(set=local, future=fut):
                return [f"{_rn(local.name)}.push(rt::boxed({self.future(fut)}));"]
            case p.SetSpawn(set=local, future=fut, span=span):
                name = self.spawn_name(fut, span)
                return [f"{_rn(local.name)}.spawn(rt::task({_rust_str(name)}, {self.spawned(st, fut)}));"]
            case p.ForEach(items=items, limit=limit, ordered=ordered, body=body, span=span):
                return [self.at(span), *self.for_each(items, limit, ordered, body).split("\n")]
            case p.NotifyOne(res=ref, all=all_):
                return [f"{self.ref(ref)}.{'notify_waiters' if all_ else 'notify_one'}();"]
            case p.Enable(local=local):
                return [f"{_rn(local.name)}.enable();"]
            case p.PollOnce(future=fut, span=span):
                if isinstance(fut, p.UseVar) and fut.borrowed:
                    return [self.at(span), f"futures_util::poll!(&mut {_rn(fut.local.name)});"]
                if isinstance(fut, p.UseVar):
                    name = _rn(fut.local.name)
                    return [self.at(span), f"{{ let mut __once = {name}; futures_util::poll!(&mut __once); }}"]
                return [self.at(span), f"futures_util::poll!(Box::pin({self.future(fut)}));"]
            case p.NewInterval(local=local, ms=ms):
                return [f"let mut {_rn(local.name)} = tokio::time::interval(rt::ms({self.ref(ms)}));"]
            case p.TryReserve(local=local, res=ref):
                return [f"let mut {_rn(local.name)} = {self.ref(ref)}.try_reserve();"]
            case p.TryAcquire(local=local, res=ref, count=count, method=method):
                args = f"{self.ref(count)} as u32" if method == "try_acquire_many" else ""
                return [f"let mut {_rn(local.name)} = {self.ref(ref)}.{method}({args});"]
            case p.Abort(local=local):
                method = "abort_all" if local.ty is p.Ty.JOIN_SET else "abort"
                return [f"{_rn(local.name)}.{method}();"]
        raise AssertionError(st)

    def spawn_name(self, fut: p.CallFn | p.AsyncBlock, span: Span | None) -> str:
        """The task's name as mcheck's traces give it."""
        if isinstance(fut, p.CallFn):
            return f"spawn {fut.text}"
        return f"spawn@{span.line if span else '?'}"

    def spawned(self, site: p.Spawn | p.SetSpawn, fut: p.CallFn | p.AsyncBlock) -> str:
        """The future a spawn site starts as a task: its channel handles are the site's own senders."""
        tokens = self.scope.spawn_tokens.get(id(site), {})
        return self.future(fut, tokens)

    def new_set(self, local: p.Local, items: tuple[p.Future, ...], limit: int, ordered: bool) -> str:
        name = _rn(local.name)
        match local.ty:
            case p.Ty.JOIN_SET:
                return f"let mut {name}: tokio::task::JoinSet<()> = tokio::task::JoinSet::new();"
            case p.Ty.SET:
                return (f"let mut {name}: futures_util::stream::FuturesUnordered<rt::BoxFut<'static>> = "
                        "futures_util::stream::FuturesUnordered::new();")
            case p.Ty.ORDERED_SET:
                return (f"let mut {name}: futures_util::stream::FuturesOrdered<rt::BoxFut<'static>> = "
                        "futures_util::stream::FuturesOrdered::new();")
        method = "buffered" if ordered else "buffer_unordered"
        return f"let mut {name} = Box::pin(futures_util::stream::iter({self.items(items)}).{method}({limit}));"

    def items(self, items: tuple[p.Future, ...]) -> str:
        if not items:
            return "Vec::<rt::BoxFut<'static>>::new()"
        parts = [f"rt::boxed({self.future(f)})" for f in items]
        if sum(len(x) for x in parts) < 90 and all("\n" not in x for x in parts):
            return f"vec![{', '.join(parts)}]"
        return "vec![\n" + _indent(",\n".join(parts), 1) + ",\n]"

    def for_each(self, items: tuple[p.Future, ...], limit: int, ordered: bool, body: p.Future | None) -> str:
        stream = f"futures_util::stream::iter({self.items(items)})"
        if limit > 0:
            stream += f".{'buffered' if ordered else 'buffer_unordered'}({limit})"
        closure = "|_| async {}" if body is None else f"|_| {self.child(body, always=True)}"
        return f"{stream}\n    .for_each({closure})\n    .await;"

    def join(self, futs: tuple[p.Future, ...], span: Span | None) -> str:
        if span is not None and "join_all" in self.source.line_text(span.line):
            return f"futures_util::future::join_all({self.items(futs)}).await;"
        parts = [self.child(f) for f in futs]
        if all("\n" not in x for x in parts) and sum(len(x) for x in parts) < 90:
            return f"tokio::join!({', '.join(parts)});"
        return "tokio::join!(\n" + _indent(",\n".join(parts), 1) + ",\n);"

    def child(self, f: p.Future, always: bool = False) -> str:
        """A join! child, select! branch or for_each body: a guard it completes with is dropped at
        once (`always`: whatever it completes with, for a closure that must return a unit future)."""
        expr = self.future(f)
        if always and not isinstance(f, p.CallFn | p.AsyncBlock | p.Sleep | p.YieldNow):
            return f"rt::unit({expr})"
        if (isinstance(f, p.Acquire) and f.purpose is not p.Purpose.SEND) or isinstance(f, p.Race):
            return f"rt::unit({expr})"
        return expr

    def select(self, sel: p.Select) -> str:
        n = len(sel.arms)
        if sel.biased or n == 1:
            return self.select_rotated(sel, 0)
        cases = []
        for k in range(n):
            declared = set(self.declared)
            cases.append(f"{k} => {self.select_rotated(sel, k)},")
            self.declared = declared
        cases.append("_ => unreachable!(),")
        inner = "\n".join(cases)
        return f"match rt::rotation({_rust_str(_site(sel.span))}, {n}) {{\n{_indent(inner, 1)}\n}}"

    def select_rotated(self, sel: p.Select, start: int) -> str:
        """The select! polling its branches from branch `start` (a `biased;` select of the branches
        in rotation: tokio's random start, taken from the schedule)."""
        arms = [sel.arms[(start + i) % len(sel.arms)] for i in range(len(sel.arms))]
        lines = []
        declared = set(self.declared)
        for arm in arms:
            self.declared = set(declared)
            pattern, body = self.received(arm.future, arm.body) if arm.refutable else ("_", self.block(arm.body))
            if sel.fused:
                fut = self.fused_branch(arm.future)
                lines.append(f"_ = {fut} => {body},")
            else:
                pre = f", if {self.cond(arm.precondition)}" if arm.precondition is not None else ""
                lines.append(f"{pattern} = {self.child(arm.future)}{pre} => {body}")
        self.declared = declared
        if sel.otherwise is not None:
            lines.append(f"{'complete' if sel.fused else 'else'} => {self.block(sel.otherwise)}{',' if sel.fused else ''}")
        inner = "\n".join(lines)
        if sel.fused:
            return f"futures_util::select_biased! {{\n{_indent(inner, 1)}\n}}"
        return f"tokio::select! {{\n    biased;\n{_indent(inner, 1)}\n}}"

    def received(self, fut: p.Future, body: p.Block) -> tuple[str, str]:
        """The `Some(..)` pattern for a receive and the body after it: a bound message value (rt.rs's
        `Msg`) becomes an i64 local, as the model's integers are, that `match`'s tests compare."""
        if not isinstance(fut, p.Recv) or fut.bind is None:
            return "Some(_)", self.block(body)
        name = _rn(fut.bind.name)
        self.declared.add(fut.bind.index)
        if any(isinstance(n, p.ReplySend | p.ReplyDrop) and n.message == fut.bind for n in _walk(body)):
            # The value carries a oneshot Sender (replies.py): kept beside it, dropped with it.
            unpack = f"let (mut {name}, mut {self.carried(fut.bind)}) = rt::split({name});"
        else:  # the message itself lives on (shadowed) to the end of the scope, as in the model
            unpack = f"let {name}: i64 = {name}.value as i64;"
        return f"Some({name})", f"{{\n    {unpack}\n{_indent(self.block(body), 1)}\n}}"

    def carried(self, message: p.Local) -> str:
        """The Rust local holding the oneshot Sender a received message value carries."""
        return f"{message.name}_reply"

    def fused_branch(self, f: p.Future) -> str:
        if isinstance(f, p.UseVar):
            return f"&mut {_rn(f.local.name)}" if f.borrowed else f"rt::fuse({_rn(f.local.name)})"
        return f"rt::fuse({self.future(f)})"

    # -- futures --

    def future(self, f: p.Future, tokens: dict[Key, str] | None = None) -> str:
        """A Rust expression that creates the future (unpolled, as the model's futures are)."""
        match f:
            case p.Acquire(res=ref, count=count, purpose=purpose):
                r = self.ref(ref)
                match self.ref_kind(ref):
                    case p.Ty.SEMAPHORE:
                        if isinstance(count, p.IntConst) and count.value == 1 and purpose is p.Purpose.ACQUIRE:
                            return f"{r}.acquire()"
                        return f"{r}.acquire_many({self.ref(count)} as u32)"
                    case p.Ty.RWLOCK:
                        return f"{r}.write()" if purpose is p.Purpose.WRITE else f"{r}.read()"
                    case p.Ty.CHANNEL:
                        if purpose is p.Purpose.RESERVE:
                            return f"{r}.reserve()"
                        if f.reply is not None:  # `Request::Claim(tx)`: the Sender moves into the message
                            return f"{r}.send_reply({f.message}, {self.senders[f.reply.index]})"
                        return f"{r}.send_value({f.message})" if f.message else f"{r}.send()"
                return f"{r}.lock()"
            case p.Sleep(ms=ms):
                return f"tokio::time::sleep(rt::ms({self.ref(ms)}))"
            case p.Recv(res=ref):
                return f"{self.ref(ref)}.recv()"
            case p.YieldNow():
                return "tokio::task::yield_now()"
            case p.Pending():
                return "std::future::pending::<()>()"
            case p.CallFn() as call:
                return self.call(call, tokens or {})
            case p.AsyncBlock(body=body):
                return self.async_block(body, tokens or {})
            case p.UseVar(local=local, borrowed=borrowed):
                return f"&mut {_rn(local.name)}" if borrowed else _rn(local.name)
            case p.Race(arms=arms, text=text):
                return self.race(arms, text)
            case p.SetNext(local=local):
                return f"{_rn(local.name)}.{'join_next' if local.ty is p.Ty.JOIN_SET else 'next'}()"
            case p.Notified(res=ref):
                return f"{self.ref(ref)}.notified()"
            case p.GetOrInit(res=ref, init=init):
                return f"{self.ref(ref)}.get_or_init(|| {self.child(init, always=True)})"
            case p.Tick(local=local):
                return f"{_rn(local.name)}.tick()"
            case p.WithParam(future=inner, name=name, value=value):
                saved = self.scope.params.get(name)
                self.scope.params[name] = p.Ty.INT
                try:
                    return f"{{\n    let {_rn(name)}: i64 = {value};\n{_indent(self.future(inner), 1)}\n}}"
                finally:
                    if saved is None:
                        del self.scope.params[name]
                    else:
                        self.scope.params[name] = saved
        raise AssertionError(f)

    def race(self, arms: tuple[p.Future, ...], text: str) -> str:
        first, second = arms[0], arms[1]
        if isinstance(second, p.Sleep) and isinstance(first, p.Acquire) and "send_timeout" in text:
            return f"{self.ref(first.res)}.send_timeout(rt::ms({self.ref(second.ms)}))"
        if isinstance(second, p.Sleep) and "timeout" in text:
            return f"tokio::time::timeout(rt::ms({self.ref(second.ms)}), {self.future(first)})"
        return f"futures_util::future::select({self.pinned(first)}, {self.pinned(second)})"

    def pinned(self, f: p.Future) -> str:
        """futures::future::select takes Unpin futures: a borrowed Kept is one, others are boxed."""
        if isinstance(f, p.UseVar) and f.borrowed:
            return self.future(f)
        return f"rt::boxed({self.future(f)})"

    def call(self, call: p.CallFn, tokens: dict[Key, str]) -> str:
        fdef = self.prog.fns[call.fn]
        sends, recvs = self.an.fn_sends(call.fn), self.an.fn_recvs(call.fn)
        args = []
        for (pname, ty), a in zip(fdef.params, call.args, strict=True):
            if isinstance(a, p.IntConst):
                args.append(str(a.value))
                continue
            k = _key(a)
            assert k is not None
            if ty in _CHANNEL_TYS:
                args.append(self.take_handle(k, (("p", pname) in sends, ("p", pname) in recvs), tokens))
            else:
                args.append(self.key_name(k))
        args.extend(self.take_handle(k, (k in sends, k in recvs), tokens) for k in self.fn_hidden(call.fn))
        return f"{self.fn_name(call.fn)}({', '.join(args)})"

    def take_handle(self, k: Key, parts: tuple[bool, bool], tokens: dict[Key, str]) -> str:
        if parts != (False, False) and k in tokens:
            return f"rt::take_or({tokens[k]}.take(), {self.handle_for(k, parts)})"
        return self.handle_for(k, parts)

    def async_block(self, body: p.Block, tokens: dict[Key, str]) -> str:
        clones = []
        for k in sorted((k for k in self.an.uses(body) if self.is_handle(k)), key=lambda k: str(k[1])):
            clones.append(f"let {self.key_name(k)} = {self.take_handle(k, self.an.parts(body, k), tokens)};")
        declared = self.declared
        self.declared = set(declared)
        inner = self.body(body, 1)
        self.declared = declared
        block = f"async move {{\n{inner}\n}}" if inner else "async move {}"
        if not clones:
            return block
        return "{\n" + _indent("\n".join(clones), 1) + "\n" + _indent(block, 1) + "\n}"

    # -- conditions and integers --

    def cond(self, c: p.Cond) -> str:
        match c:
            case p.Choose(span=span):
                return f"rt::choose({_rust_str(_site(span))})"
            case p.Compare(op=op, left=x, right=y):
                return f"({self.int(x)} {op.value} {self.int(y)})"
            case p.NotCond(value=v):
                return f"!{self.cond(v)}"
            case p.Holds(local=local):
                return f"{_rn(local.name)}.is_ok()"
            case p.AndCond(left=x, right=y):
                return f"({self.cond(x)} && {self.cond(y)})"
            case p.OrCond(left=x, right=y):
                return f"({self.cond(x)} || {self.cond(y)})"
        raise AssertionError(c)

    def int(self, e: p.IntExpr) -> str:
        match e:
            case p.IntConst(value=v):
                return str(v)
            case p.ParamRef(name=name):
                return _rn(name)
            case p.ReadInt(local=local):
                return _rn(local.name)
            case p.IntArith(op=op, left=x, right=y):
                return f"({self.int(x)} {op.value} {self.int(y)})"
        raise AssertionError(e)


def _rust_str(text: str) -> str:
    out = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{out}"'


def _made_oneshots(prog: p.Program) -> frozenset[int]:
    """The resources instantiate.py made for `let (tx, rx) = oneshot::channel();` sites (each has
    the site's span), not declared with `let NAME = ...;`."""
    sites = {n.span for n in _walk(prog) if isinstance(n, p.OneshotNew)}
    return frozenset(r.index for r in prog.resources if r.kind is p.ResKind.ONESHOT and r.span in sites)


def unsupported(prog: p.Program) -> ModelError | None:
    """What the emitter refuses, as a located error: an async fn that returns an mpsc Permit, and
    the Receiver of a oneshot made per request passed to an async fn (its Rust parameter is a
    declared oneshot's handle, which a tokio Receiver is not)."""
    for fdef in prog.fns.values():
        if fdef.returns is not None and fdef.returns.type_name not in _RETURN_TYPES:
            return ModelError.at(fdef.returns.span, f"emit-rust does not emit an async fn that returns a "
                                 f"{fdef.returns.type_name} (in the emitted program it borrows the channel handle "
                                 "passed to the fn); `mcheck verify` checks the model")
    for n in _walk(prog):
        if isinstance(n, p.CallFn) and any(isinstance(a, p.ParamRef) and replies.is_made(a) for a in n.args):
            return ModelError.at(n.span, "emit-rust does not emit the Receiver of `let (tx, rx) = oneshot::channel();` "
                                 "passed to an async fn; await it in the body that makes it (`rx.await`), or "
                                 "`mcheck verify` checks the model")
    return None


def emit_module(prog: p.Program, source: Source, schedule: Schedule | None = None) -> str:
    """The Rust module of one model (its `CASE` is what rt.rs runs). Raises ModelError for what
    it does not emit (unsupported)."""
    refused = unsupported(prog)
    if refused is not None:
        raise refused
    header = (f"//! {source.name}, written by `mcheck emit-rust`: the model on real tokio "
              f"(tested with tokio {TOKIO_VERSION}, futures {FUTURES_VERSION}).\n")
    return header + RustEmitter(prog, source, schedule).module()


def main_rs(modules: list[str]) -> str:
    """The crate root: runs the case named by the first argument (or the only one)."""
    lines = [CRATE_ATTRS, "", "mod rt;"]
    lines.extend(f"mod {m};" for m in modules)
    lines.append("")
    if len(modules) == 1:
        lines.append(f"fn main() {{\n    rt::main(&{modules[0]}::CASE);\n}}")
    else:
        arms = "\n".join(f'        "{m}" => &{m}::CASE,' for m in modules)
        lines.append("fn main() {\n    let name = std::env::args().nth(1).unwrap_or_default();\n"
                     f"    let case: &'static rt::Case = match name.as_str() {{\n{arms}\n"
                     '        _ => {\n            eprintln!("unknown case {name}");\n            std::process::exit(64);\n'
                     "        }\n    };\n    rt::main(case);\n}")
    return "\n".join(lines) + "\n"


def project_files(crate: str, modules: dict[str, str]) -> dict[str, str]:
    """A cargo project (relative path → text) holding `modules` (Rust module name → source)."""
    files = {
        "Cargo.toml": CARGO_TOML.format(name=crate, tokio=TOKIO_VERSION, futures=FUTURES_VERSION),
        ".cargo/config.toml": CARGO_CONFIG,
        "src/rt.rs": rt_source(),
        "src/main.rs": main_rs(list(modules)),
    }
    files.update({f"src/{name}.rs": text for name, text in modules.items()})
    return files


def crate_name(model_name: str) -> str:
    stem = model_name.rsplit("/", 1)[-1].removesuffix(".mc")
    return "mcheck-" + ("".join(c if c.isalnum() else "-" for c in stem.lower()).strip("-") or "model")


def project_for(model: CompiledModel, trace: Trace | None) -> dict[str, str]:
    """The cargo project for one compiled model: with `trace` (mcheck's exact-time stuck trace),
    the program follows its schedule by default."""
    schedule = schedule_from_trace(model, trace) if trace is not None else None
    module = emit_module(model.program, model.source, schedule)
    return project_files(crate_name(model.source.name), {"model": module})
