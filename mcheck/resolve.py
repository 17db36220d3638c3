"""Phase 2: syntax tree -> checked program (mcheck.program).

Resolves every name, gives every call and method its meaning, and checks types and moves. It
collects every error it can before raising one `ModelError`; nothing after this phase reports
bad input except the bounds that only instantiation can see (compile.py).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from mcheck import named_fields, replies, returns, rustisms, structs
from mcheck import program as p
from mcheck import syntax as s
from mcheck.errors import Diagnostic, ModelError, Severity
from mcheck.messages import Enums, match_to_ifs, number_of
from mcheck.source import Source, Span

PARAM_TYPES = {
    "Mutex": p.Ty.MUTEX,
    "Semaphore": p.Ty.SEMAPHORE,
    "Channel": p.Ty.CHANNEL,
    "Oneshot": p.Ty.ONESHOT,
    "u64": p.Ty.INT,
    "u32": p.Ty.INT,
    "usize": p.Ty.INT,
    "RwLock": p.Ty.RWLOCK,
    "Notify": p.Ty.NOTIFY,
    "OnceCell": p.Ty.ONCE_CELL,
}

# Paths a Rust programmer writes, mapped to the name mcheck knows them by.
_STRIP_PREFIXES = (("tokio", "time"), ("tokio", "task"), ("tokio", "sync", "mpsc"), ("tokio", "sync"),
                   ("tokio",), ("mpsc",), ("futures_util",), ("futures",), ("stream",), ("future",))


def _canonical(path: tuple[str, ...]) -> str:
    stripped = True
    while stripped:
        stripped = False
        for prefix in _STRIP_PREFIXES:
            if path[: len(prefix)] == prefix and len(path) > len(prefix):
                path = path[len(prefix) :]
                stripped = True
                break
    return "::".join(path)


# Resource constructors (canonical path) -> kind and argument count.
_CONSTRUCTORS = {
    "Mutex::new": (p.ResKind.MUTEX, 0),
    "Semaphore::new": (p.ResKind.SEMAPHORE, 1),
    "channel": (p.ResKind.CHANNEL, 1),
    "unbounded_channel": (p.ResKind.CHANNEL, 0),
    "oneshot": (p.ResKind.ONESHOT, 0),
    "oneshot::channel": (p.ResKind.ONESHOT, 0),
    "RwLock::new": (p.ResKind.RWLOCK, 0),
    "lock::Mutex::new": (p.ResKind.UNFAIR_MUTEX, 0),
    "Notify::new": (p.ResKind.NOTIFY, 0),
    "OnceCell::new": (p.ResKind.ONCE_CELL, 0),
}

# Local containers: `let set = FuturesUnordered::new();`
_CONTAINERS = {
    "FuturesUnordered::new": p.Ty.SET,
    "FuturesOrdered::new": p.Ty.ORDERED_SET,
    "JoinSet::new": p.Ty.JOIN_SET,
}
MAX_ITEMS = 64
"""Futures one `join_all` or stream may list."""

_EXPECT_RE = re.compile(r"^\s*//\s*expect(-exact|-untimed|-current-thread|-multi-thread)?\s*:\s*(\S*)")
_RUNTIME_RE = re.compile(r"^\s*//\s*runtime\s*:\s*(\S*)")


class _Errors:
    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def add(self, span: Span | None, message: str, *notes: tuple[Span | None, str]) -> None:
        if span is not None and any(d.span == span for d in self.items):
            return  # one error per place: a second one there is a consequence of the first
        self.items.append(
            Diagnostic(Severity.ERROR, message, span, tuple(Diagnostic(Severity.NOTE, m, sp) for sp, m in notes))
        )


def _text(source: Source, span: Span | None) -> str:
    """The source text a span covers, squeezed to one line."""
    if span is None:
        return "?"
    lines = source.text.splitlines()
    if span.line == span.end_line:
        return lines[span.line - 1][span.col - 1 : span.end_col - 1]
    first = lines[span.line - 1][span.col - 1 :]
    return " ".join(first.split()) + " ..."


@dataclass
class _Binding:
    local: p.Local
    moved_at: Span | None = None
    moved_how: str = ""
    pinned: bool = False  # NOTE(pinned): the name is a `Pin<&mut F>` to the future, not the future


@dataclass
class _Scope:
    loop_depth: int
    names: dict[str, _Binding] = field(default_factory=dict)
    declared: list[p.Local] = field(default_factory=list)


Received = tuple[str, Span | None, p.ResRef | tuple[p.Local, int] | None]
"""A name a block starts with, where, and the channel it was received from: a message value
(`Some(v) = rx.recv()`); with no channel, an integer: a variant's number (`Enum::V(n) =>`); with
the message and the variant's first value, a received oneshot Sender (`Enum::V(reply) =>`)."""


class _BodyChecker:
    """Checks one fn or task body. `params` maps parameter names to their types."""

    def __init__(self, r: Resolver, params: dict[str, p.Ty], where: str, fn: s.FnDef | None = None) -> None:
        self.r = r
        self.params = params
        self.where = where
        self.returns = None if fn is None or fn.returns is None else returns.declared(fn.returns)
        # the statement that may return the fn's guard: its body's last (returns.py)
        self.fn_tail = fn.body.stmts[-1] if fn is not None and fn.body.stmts else None
        self.guard_types: dict[int, str] = {}  # a guard local -> the guard type it holds (returns.py)
        self.direct_call: s.Expr | None = None  # the call a `let g = ...` or `....await;` awaits at once
        self.scopes: list[_Scope] = []
        self.next_local = 0
        self.loop_depth = 0
        self.async_floor = 0  # scopes below this index belong to an enclosing body
        self.tried: set[int] = set()  # locals bound by a try_* acquire (`g.is_ok()` tests them)
        self.received_from: dict[int, p.ResRef] = {}  # message-value local -> the channel it came from
        self.sender_of: dict[int, p.Local] = {}  # a oneshot Sender local -> its Receiver (replies.py)
        self.reply_locals: dict[int, tuple[p.Local, int]] = {}  # a received Sender -> its message, variant
        self.awaited_send: s.Expr | None = None  # the future of the `... .await;` statement being checked

    # ---- scopes --------------------------------------------------------------------------------

    def declare(self, name: str, ty: p.Ty, span: Span | None) -> p.Local:
        local = p.Local(self.next_local, name, ty, span)
        self.next_local += 1
        scope = self.scopes[-1]
        scope.names[name] = _Binding(local)
        scope.declared.append(local)
        return local

    def lookup_local(self, name: str, span: Span | None) -> _Binding | None:
        for depth in range(len(self.scopes) - 1, -1, -1):
            if name in self.scopes[depth].names:
                if depth < self.async_floor:
                    self.r.err.add(
                        span,
                        f"'{name}' is a local of the enclosing body; an async block may only use "
                        "resources and u64 parameters",
                    )
                    return None
                return self.scopes[depth].names[name]
        return None

    def block(self, b: s.Block, bind: Received | None = None) -> p.Block:
        """A block's statements; `bind`: a name the block's scope starts with (a received value),
        which is then the block's first local."""
        self.scopes.append(_Scope(self.loop_depth))
        if bind is not None:
            carrier = bind[2]
            if isinstance(carrier, tuple):  # a received oneshot Sender (replies.py)
                self.reply_locals[self.declare(bind[0], p.Ty.INT_VAR, bind[1]).index] = carrier
            else:
                bound = self.declare(bind[0], p.Ty.MESSAGE if carrier is not None else p.Ty.INT_VAR, bind[1])
                if carrier is not None:
                    self.received_from[bound.index] = carrier
        stmts: list[p.Stmt] = []
        for st in b.stmts:
            stmts.extend(self.stmt(st))
        scope = self.scopes.pop()
        return p.Block(tuple(stmts), tuple(scope.declared), b.span)

    # ---- values --------------------------------------------------------------------------------

    def value(self, e: s.Expr) -> tuple[p.Ty, p.Arg | _Binding] | None:
        """Resolve a name or literal used as an argument."""
        if isinstance(e, s.Call) and _canonical(e.path) in ("ms", "Duration::from_millis") and len(e.args) == 1:
            e = e.args[0]
        if isinstance(e, s.IntLit):
            return p.Ty.INT, p.IntConst(e.value)
        if isinstance(e, s.Name):
            if len(e.path) == 1:
                name = e.path[0]
                b = self.lookup_local(name, e.span)
                if b is not None and b.local.ty is p.Ty.ONESHOT:
                    return replies.value(self, b, e.span)
                if b is not None:
                    return b.local.ty, b
                if name in self.params:
                    return self.params[name], p.ParamRef(name)
                if name in self.r.resources:
                    res = self.r.resources[name]
                    return p.RES_TY[res.kind], p.GlobalRes(res.index)
            if len(e.path) == 1 and e.path[0] in self.r.syntax_fns:
                self.r.err.add(e.span, f"'{e.path[0]}' is an async fn, not a value; call it: `{e.path[0]}(...)`")
                return None
            self.r.err.add(e.span, f"unknown name '{'::'.join(e.path)}'", *self.suggest_name(e.path[-1]))
            return None
        text = self.r.text(e.span)
        self.r.err.add(e.span, rustisms.value_hint(text) or f"expected a name or a number, found '{text}'")
        return None

    def suggest_name(self, name: str) -> list[tuple[Span | None, str]]:
        import difflib

        spans: dict[str, Span | None] = {n: r.span for n, r in self.r.resources.items()}
        fn = self.r.syntax_fns.get(self.where)
        spans.update((prm.name, prm.span) for prm in (fn.params if fn else ()) if prm.name in self.params)
        for sc in self.scopes[self.async_floor :]:
            spans.update((n, b.local.span) for n, b in sc.names.items())
        close = difflib.get_close_matches(name, list(spans), n=1)
        return [(spans[close[0]], f"did you mean '{close[0]}'?")] if close else []

    def resource(self, e: s.Expr, want: tuple[p.Ty, ...], what: str) -> p.ResRef | None:
        v = self.value(e)
        if v is None:
            return None
        ty, ref = v
        if ty not in want or isinstance(ref, _Binding | p.IntConst):
            kinds = " or ".join(t.value for t in want)
            self.r.err.add(e.span, f"{what} needs a {kinds}, but '{self.r.text(e.span)}' is {_a(ty)}")
            return None
        assert isinstance(ref, p.GlobalRes | p.ParamRef)
        return ref

    def int_arg(self, e: s.Expr) -> p.IntRef | None:
        v = self.value(e)
        if v is None:
            return None
        ty, ref = v
        if ty is not p.Ty.INT or not isinstance(ref, p.IntConst | p.ParamRef):
            self.r.err.add(e.span, f"expected a number, but '{self.r.text(e.span)}' is {_a(ty)}")
            return None
        return ref

    def use(self, b: _Binding, span: Span | None, how: str, moves: bool) -> None:
        if b.moved_at is not None:
            self.r.err.add(span, f"use of '{b.local.name}' after it was {b.moved_how}", (b.moved_at, f"{b.moved_how} here"))
            return
        if moves:
            if self.loop_depth > self._loop_depth_of(b):
                self.r.err.add(
                    span, f"'{b.local.name}' is {how} inside a loop but declared outside it: "
                    "the next iteration would use it after it is gone", (b.local.span, "declared here"),
                )
            b.moved_at = span
            b.moved_how = how

    def _loop_depth_of(self, b: _Binding) -> int:
        for sc in self.scopes:
            if sc.names.get(b.local.name) is b:
                return sc.loop_depth
        return 0

    # ---- futures -------------------------------------------------------------------------------

    def nargs(self, e: s.Call | s.MethodCall, n: int, name: str) -> bool:
        if len(e.args) != n:
            self.r.err.add(e.span, f"'{name}' takes {n} argument{'s' if n != 1 else ''}, {len(e.args)} given")
            return False
        return True

    def awaited(self, e: s.Expr) -> p.Future | None:
        """The future of `e.await` awaited at once (`let g = e.await;`, `e.await;`, `return e.await`):
        the one place a call of an fn returning a guard may stand (returns.misplaced_call)."""
        self.direct_call = e
        try:
            return self.future(e, "awaited")
        finally:
            self.direct_call = None

    def future(self, e: s.Expr, context: str) -> p.Future | None:
        """An expression that denotes a future (not awaited yet)."""
        text = self.r.text(e.span)
        match e:
            case s.Borrow(value=s.Name(path=(name,)) as n):
                b = self.lookup_local(name, n.span)
                if b is None:
                    if name in self.params or name in self.r.resources:
                        self.r.err.add(e.span, f"'&mut {name}' borrows a resource, not a future")
                    else:
                        self.r.err.add(n.span, f"unknown name '{name}'")
                    return None
                if b.local.ty not in (p.Ty.FUTURE, p.Ty.HANDLE):
                    self.r.err.add(e.span, f"'{name}' is {_a(b.local.ty)}, not a future; it cannot be awaited")
                    return None
                self.use(b, e.span, "borrowed", moves=False)
                return p.UseVar(b.local, True, text, e.span)
            case s.Borrow():
                self.r.err.add(e.span, "'&mut' applies to a future bound with 'let'; write `let f = ...;` first")
                return None
            case s.Name(path=(name,)):
                b = self.lookup_local(name, e.span)
                if b is not None and b.local.ty is p.Ty.ONESHOT:
                    return replies.receive(self, b, e)
                if b is not None:
                    if b.local.ty not in (p.Ty.FUTURE, p.Ty.HANDLE):
                        self.r.err.add(e.span, f"'{name}' is {_a(b.local.ty)}, not a future; it cannot be awaited")
                        return None
                    if b.pinned:  # NOTE(pinned): moving the reference leaves the future where it is
                        self.use(b, e.span, "borrowed", moves=False)
                        return p.UseVar(b.local, True, text, e.span)
                    self.use(b, e.span, "moved", moves=True)
                    return p.UseVar(b.local, False, text, e.span)
                v = self.value(e)
                if v is not None:
                    hint = {
                        p.Ty.MUTEX: f"; did you mean `{name}.lock()`?",
                        p.Ty.SEMAPHORE: f"; did you mean `{name}.acquire()`?",
                        p.Ty.CHANNEL: f"; did you mean `{name}.recv()`?",
                        p.Ty.ONESHOT: f"; did you mean `{name}.recv()`?",
                    }.get(v[0], "")
                    self.r.err.add(e.span, f"'{name}' is {_a(v[0])}, not a future{hint}")
                return None
            case s.AsyncBlock(body=body):
                floor, self.async_floor = self.async_floor, len(self.scopes)
                depth, self.loop_depth = self.loop_depth, 0
                blk = self.block(body)
                self.async_floor, self.loop_depth = floor, depth
                return p.AsyncBlock(blk, "async { ... }", e.span)
            case s.Call(path=path, args=args):
                name = _canonical(path)
                if name == "sleep":
                    if not self.nargs(e, 1, "sleep"):
                        return None
                    ms = self.duration(args[0])
                    return None if ms is None else p.Sleep(ms, text, e.span)
                if name == "timeout":
                    if not self.nargs(e, 2, "timeout"):
                        return None
                    ms, inner = self.duration(args[0]), self.future(args[1], "raced against a timer")
                    if ms is None or inner is None:
                        return None
                    return p.Race((inner, p.Sleep(ms, f"sleep({self.r.text(args[0].span)})", args[0].span)), text, e.span)
                if name in ("select", "future::select"):
                    if not self.nargs(e, 2, "select"):
                        return None
                    first, second = self.future(args[0], "selected"), self.future(args[1], "selected")
                    return None if first is None or second is None else p.Race((first, second), text, e.span)
                if name in ("Box::pin", "pin") and len(args) == 1:
                    return self.future(args[0], context)
                if name in ("join_all", "try_join_all", "iter"):
                    self.r.err.add(e.span, f"'{name}(...)' is supported as a statement: `{name}(...).await;`"
                                   if name != "iter" else "a stream is supported as `stream::iter(...)[.buffered(n)]"
                                   ".for_each(|_| ...).await;`")
                    return None
                if name == "yield_now":
                    return p.YieldNow(text, e.span) if self.nargs(e, 0, "yield_now") else None
                if name in ("pending", "std::future::pending"):
                    return p.Pending(text, e.span) if self.nargs(e, 0, "pending") else None
                if name in ("ready", "std::future::ready") and len(args) <= 1:
                    # Ready at its first poll with its value (abstracted): an async block that does nothing.
                    return p.AsyncBlock(p.Block((), (), e.span), text, e.span)
                if name in self.r.syntax_fns:
                    return self.call_fn(e, name, text)
                if name in _CONSTRUCTORS:
                    self.r.err.add(e.span, f"'{text}' creates a resource; resources are declared at the top "
                                   "level, outside every fn and task")
                    return None
                if name in ("spawn", "drop", "choose"):
                    self.r.err.add(e.span, f"'{name}(...)' is not a future; it cannot be {context}")
                    return None
                if (how := rustisms.call_hint(path[-1])) is not None:
                    self.r.err.add(e.span, how)
                    return None
                self.r.err.add(e.span, f"unknown async fn '{'::'.join(path)}'", *self.r.suggest(name))
                return None
            case s.MethodCall(receiver=recv, method="as_mut", args=()):
                return self.future(s.Borrow(recv, e.span), context)  # `f.as_mut()` borrows f like `&mut f`
            case s.MethodCall(receiver=recv, method=method, args=args):
                if method in ("unwrap", "fuse", "boxed") and not args:
                    return self.future(recv, context)
                return self.method_future(e, recv, method, text)
            case s.MacroCall(path=path, args=args) if _canonical(path) == "pin" and len(args) == 1:
                return self.future(args[0], context)
            case s.Closure():
                self.r.err.add(e.span, "a closure is not a future; it is an argument of map, for_each or get_or_init")
                return None
            case s.Await():
                self.r.err.add(e.span, f"'{text}' is already awaited; it is not a future")
                return None
            case _:
                self.r.err.add(e.span, rustisms.value_hint(text) or f"expected a future, found '{text}'")
                return None

    def call_fn(self, e: s.Call, name: str, text: str) -> p.CallFn | None:
        fn = self.r.syntax_fns[name]
        if fn.returns is not None and e is not self.direct_call and returns.declared(fn.returns) is not None:
            returns.misplaced_call(self, e, name, e.span)
            return None
        if len(e.args) != len(fn.params):
            self.r.err.add(
                e.span, f"'{name}' takes {len(fn.params)} argument{'s' if len(fn.params) != 1 else ''}, "
                f"{len(e.args)} given", (fn.span, f"'{name}' defined here"),
            )
            return None
        args: list[p.Arg] = []
        ok = True
        for a, prm in zip(e.args, fn.params, strict=True):
            want = PARAM_TYPES.get(prm.type_name)
            if want is None:
                return None  # reported at the definition
            v = self.value(a)
            if v is None:
                ok = False
                continue
            ty, ref = v
            if ty is not want or isinstance(ref, _Binding):
                self.r.err.add(a.span, f"'{name}' expects a {want.value} for '{prm.name}', but "
                               f"'{self.r.text(a.span)}' is {_a(ty)}", (prm.span, "parameter declared here"))
                ok = False
                continue
            assert not isinstance(ref, _Binding)
            args.append(ref)
        return p.CallFn(name, tuple(args), text, e.span) if ok else None

    def duration(self, e: s.Expr) -> p.IntRef | None:
        """Milliseconds: `10`, `ms(10)`, `Duration::from_millis(10)`, or a u64 parameter."""
        if isinstance(e, s.Call) and _canonical(e.path) in ("ms", "Duration::from_millis") and len(e.args) == 1:
            e = e.args[0]
        return self.int_arg(e)

    def local_future(self, e: s.MethodCall, b: _Binding, method: str, text: str) -> p.Future | None:
        """A method of a local container: `set.next()`, `set.join_next()`, `interval.tick()`."""
        ty = b.local.ty
        want = {p.Ty.SET: "next", p.Ty.ORDERED_SET: "next", p.Ty.STREAM: "next", p.Ty.JOIN_SET: "join_next",
                p.Ty.INTERVAL: "tick"}.get(ty)
        if want is None or method != want:
            has = f"; it has '{want}'" if want else ""
            self.r.err.add(e.span, f"'{b.local.name}' is {_a(ty)}{has}; '{method}' is not a future of it")
            return None
        if not self.nargs(e, 0, method):
            return None
        self.use(b, e.span, "used", moves=False)
        if ty is p.Ty.INTERVAL:
            return p.Tick(b.local, text, e.span)
        return p.SetNext(b.local, text, e.span)

    def method_future(self, e: s.MethodCall, recv: s.Expr, method: str, text: str) -> p.Future | None:
        v = self.value(recv)
        if v is None:
            return None
        ty, ref = v
        if isinstance(ref, _Binding) and ty in (p.Ty.SET, p.Ty.ORDERED_SET, p.Ty.STREAM, p.Ty.JOIN_SET, p.Ty.INTERVAL):
            return self.local_future(e, ref, method, text)
        allowed = {
            p.Ty.MUTEX: ("lock",),
            p.Ty.SEMAPHORE: ("acquire", "acquire_many"),
            p.Ty.CHANNEL: ("send", "recv", "reserve", "send_timeout"),
            p.Ty.ONESHOT: ("recv",),
            p.Ty.RWLOCK: ("read", "write"),
            p.Ty.UNFAIR_MUTEX: ("lock",),
            p.Ty.NOTIFY: ("notified",),
            p.Ty.ONCE_CELL: ("get_or_init",),
        }.get(ty, ())
        if method not in allowed:
            sync = {p.Ty.CHANNEL: ("try_send",), p.Ty.ONESHOT: ("send",), p.Ty.PERMIT: ("send",),
                    p.Ty.NOTIFY: ("notify_one", "notify_waiters")}.get(ty, ())
            if method in sync:
                self.r.err.add(e.span, f"'{text}' completes at once; it is not a future and cannot be awaited")
            elif allowed:
                self.r.err.add(e.span, f"a {ty.value} has no method '{method}'; it has "
                               + ", ".join(f"'{m}'" for m in allowed + sync))
            else:
                self.r.err.add(e.span, f"'{self.r.text(recv.span)}' is {_a(ty)}; it has no method '{method}'")
            return None
        assert isinstance(ref, p.GlobalRes | p.ParamRef)
        if method == "acquire_many":
            if not self.nargs(e, 1, method):
                return None
            n = self.int_arg(e.args[0])
            if isinstance(n, p.IntConst) and n.value < 1:
                self.r.err.add(e.args[0].span, "acquire_many needs at least 1 permit")
                return None
            return None if n is None else p.Acquire(ref, n, p.Purpose.ACQUIRE, text, e.span)
        if method == "send_timeout":
            if not self.nargs(e, 1, method):
                return None
            ms = self.duration(e.args[0])
            if ms is None:
                return None
            if self.r.is_unbounded(ref):
                self.r.err.add(e.span, "send_timeout() needs a bounded channel")
                return None
            send = p.Acquire(ref, p.IntConst(1), p.Purpose.SEND, f"{self.r.text(recv.span)}.send()", e.span)
            return p.Race((send, p.Sleep(ms, f"sleep({self.r.text(e.args[0].span)})", e.args[0].span)), text, e.span)
        if method == "get_or_init":
            if not self.nargs(e, 1, method):
                return None
            arg = e.args[0]
            init = self.future(arg.body if isinstance(arg, s.Closure) else arg, "run by get_or_init")
            return None if init is None else p.GetOrInit(ref, init, text, e.span)
        message = 0
        reply: p.Local | None = None
        if ty is p.Ty.CHANNEL and method == "send" and len(e.args) == 1 and replies.carries_sender(self, e.args[0]):
            assert isinstance(e.args[0], s.Call)
            sent = replies.send_value(self, e, e.args[0], ref)
            if sent is None:
                return None
            message, reply = sent
        elif ty is p.Ty.CHANNEL and method == "send" and len(e.args) == 1:
            found = self.message_value(e.args[0], ref)
            if found is None:
                return None
            message = found
        elif not self.nargs(e, 0, method):
            return None
        if ty is p.Ty.NOTIFY:
            return p.Notified(ref, text, e.span)
        if ty is p.Ty.RWLOCK:
            if method == "write":
                return p.Acquire(ref, p.IntConst(p.WRITE_PERMITS), p.Purpose.WRITE, text, e.span)
            return p.Acquire(ref, p.IntConst(1), p.Purpose.LOCK, text, e.span)
        if ty is p.Ty.CHANNEL and method == "send" and self.r.is_unbounded(ref):
            self.r.err.add(e.span, f"'{text}' is on an unbounded channel, which never waits: write it without "
                           "'.await' as `... .send();`")
            return None
        purpose = {"lock": p.Purpose.LOCK, "acquire": p.Purpose.ACQUIRE, "send": p.Purpose.SEND,
                   "reserve": p.Purpose.RESERVE}.get(method)
        if purpose is not None:
            if method == "reserve" and self.r.is_unbounded(ref):
                self.r.err.add(e.span, "reserve() needs a bounded channel")
                return None
            return p.Acquire(ref, p.IntConst(1), purpose, text, e.span, message, reply)
        return p.Recv(ref, text, e.span)

    # ---- statements ----------------------------------------------------------------------------

    def stmt(self, st: s.Stmt) -> list[p.Stmt]:
        match st:
            case s.Block():
                return [self.block(st)]
            case s.Let(name=name, value=value):
                return self.let(st, name, value)
            case s.LetPair():
                return replies.let_pair(self, st)
            case s.ExprStmt(value=value):
                return self.expr_stmt(value, st.span)
            case s.Select():
                return self.select(st)
            case s.Loop(body=body):
                return [p.Loop(self.spinning_body(body, st.span), st.span)]
            case s.While(cond=cond, body=body):
                c = self.cond(cond)
                if c is None:
                    return []
                # Only `while choose()` must be able to suspend: a counter condition can end the loop.
                blk = self.spinning_body(body, st.span) if isinstance(c, p.Choose) else self.loop_body(body)
                return [p.While(c, blk, st.span)]
            case s.WhileLet(value=value, body=body):
                if not isinstance(value, s.Await):
                    self.r.err.add(value.span, "expected `<receiver>.recv().await` after 'while let Some(_) ='")
                    return []
                fut = self.future(value.value, "awaited")
                if fut is None:
                    return []
                if not isinstance(fut, p.Recv | p.UseVar | p.SetNext):
                    self.r.err.add(value.span, "'while let Some(_) = ...' needs a channel receive (`rx.recv().await`) "
                                   "or a set's `next().await` / `join_next().await`")
                    return []
                if st.binding != "_":
                    got = self.bind_received(fut, st.binding, st.span)
                    if not isinstance(got, p.Recv):
                        return []
                    fut = got
                    self.loop_depth += 1
                    blk = self.block(body, (st.binding, st.span, fut.res))
                    self.loop_depth -= 1
                    return [p.WhileRecv(dataclasses.replace(fut, bind=blk.locals[0]), blk, st.span)]
                return [p.WhileRecv(fut, self.loop_body(body), st.span)]
            case s.For(binding=binding, lo=lo, hi=hi, body=body):
                if hi - lo > 64:
                    self.r.err.add(st.span, f"loop of {hi - lo} iterations: mcheck keeps counters small (at most 64)")
                    return []
                self.scopes.append(_Scope(self.loop_depth))
                counter = self.declare(binding if binding != "_" else f"_for{self.next_local}", p.Ty.COUNTER, st.span)
                loop = p.For(counter, lo, max(lo, hi), self.loop_body(body), st.span)
                self.scopes.pop()
                return [loop]
            case s.If(cond=cond, then=then, otherwise=otherwise):
                c = self.cond(cond)
                if c is None:
                    return []
                (then_b, else_b), _ = self.branches([then, otherwise or s.Block((), st.span)])
                return [p.If(c, then_b, else_b, st.span)]
            case s.Match():
                return self.match(st)
            case s.Assign(name=name, op=op, value=value):
                b = self.lookup_local(name, st.span)
                if b is not None and b.local.ty is p.Ty.BOOL_VAR:
                    return self.bool_assign(b.local, op, value, st.span)
                if b is None or b.local.ty is not p.Ty.INT_VAR:
                    what = "an unknown name" if b is None and name not in self.params else "not an integer variable"
                    self.r.err.add(st.span, f"cannot assign to '{name}': it is {what}; declare integers with "
                                   f"`let mut {name} = 0;`")
                    return []
                rhs = self.int_expr(value)
                if rhs is None:
                    return []
                if op is not s.AssignOp.SET:
                    arith = p.ArithOp.ADD if op is s.AssignOp.ADD else p.ArithOp.SUB
                    rhs = p.IntArith(arith, p.ReadInt(b.local), rhs)
                return [p.SetInt(b.local, rhs, st.span)]
            case s.Break():
                if self.loop_depth == 0:
                    self.r.err.add(st.span, "'break' outside of a loop")
                return [p.Break(st.span)]
            case s.Continue():
                if self.loop_depth == 0:
                    self.r.err.add(st.span, "'continue' outside of a loop")
                return [p.Continue(st.span)]
            case s.Return():
                return returns.return_stmt(self, st, st is self.fn_tail and self.async_floor == 0)
            case s.IfLet():
                return self.if_let(st)
        raise AssertionError(st)

    def loop_body(self, body: s.Block) -> p.Block:
        self.loop_depth += 1
        blk = self.block(body)
        self.loop_depth -= 1
        return blk

    def spinning_body(self, body: s.Block, span: Span | None) -> p.Block:
        """The body of a `loop` or `while`: it must be able to suspend or break, or it spins forever."""
        errors = len(self.r.err.items)
        blk = self.loop_body(body)
        if len(self.r.err.items) == errors and not _suspends_or_breaks(blk, True):
            self.r.err.add(span, "this loop has no '.await' and no 'break': a busy loop never yields to the "
                           "runtime, which mcheck cannot make finite; add an '.await' (e.g. `yield_now().await;`)")
        return blk

    def cond(self, e: s.Expr) -> p.Cond | None:
        """A condition: `choose()`, comparisons of integers, `!`, `&&`, `||`."""
        match e:
            case s.Call(path=path, args=()) if _canonical(path) == "choose":
                return p.Choose(e.span)
            case s.Not(value=v):
                c = self.cond(v)
                return None if c is None else p.NotCond(c)
            case s.Binary(op=s.BinOp.AND | s.BinOp.OR as op, left=left, right=right):
                a, b = self.cond(left), self.cond(right)
                if a is None or b is None:
                    return None
                return p.AndCond(a, b) if op is s.BinOp.AND else p.OrCond(a, b)
            case s.Binary(op=op, left=left, right=right) if op in s.COMPARISONS:
                x, y = self.int_expr(left), self.int_expr(right)
                if x is None or y is None:
                    return None
                return p.Compare(p.CmpOp(op.value), x, y)
            case s.MethodCall(receiver=s.Name(path=(name,)), method="is_ok" | "is_err" as method, args=()) if (
                    tried := self.lookup_local(name, e.span)) is not None and tried.local.index in self.tried:
                holds = p.Holds(tried.local)
                return holds if method == "is_ok" else p.NotCond(holds)
            case s.Name(path=(name,)) if (flag := self.lookup_local(name, e.span)) is not None \
                    and flag.local.ty is p.Ty.BOOL_VAR:
                return p.Compare(p.CmpOp.NE, p.ReadInt(flag.local), p.IntConst(0))
        self.r.err.add(
            e.span, f"unsupported condition '{self.r.text(e.span)}': mcheck abstracts data, so a condition is "
            "`choose()` (either branch may be taken), a bool variable, or compares integer variables and numbers",
        )
        return None

    def bool_assign(self, local: p.Local, op: s.AssignOp, value: s.Expr, span: Span | None) -> list[p.Stmt]:
        """`let mut done = false;`, `done = true;`, `done = choose();`: a bool variable is an integer
        variable of range 0..1, set to a literal or to either value (data the model abstracts)."""
        literal = _bool_literal(value)
        if op is not s.AssignOp.SET or (literal is None and not _is_choose(value)):
            self.r.err.add(span, f"'{local.name}' is a bool variable: it is set to `true`, `false` or `choose()` "
                           "(either, as data the model abstracts)")
            return []
        if literal is not None:
            return [p.SetInt(local, p.IntConst(int(literal)), span)]
        return [p.SetInt(local, p.IntConst(0), span),
                p.If(p.Choose(value.span), p.Block((p.SetInt(local, p.IntConst(1), span),), (), span),
                     p.Block((), (), span), span)]

    def int_expr(self, e: s.Expr) -> p.IntExpr | None:
        """An integer: a number, a u64 parameter, an integer variable or loop counter, + and -."""
        match e:
            case s.IntLit(value=v):
                return p.IntConst(v)
            case s.Binary(op=s.BinOp.ADD | s.BinOp.SUB as op, left=left, right=right):
                x, y = self.int_expr(left), self.int_expr(right)
                if x is None or y is None:
                    return None
                return p.IntArith(p.ArithOp(op.value), x, y)
            case s.Name(path=(name,)):
                b = self.lookup_local(name, e.span)
                if b is not None and b.local.ty in (p.Ty.INT_VAR, p.Ty.COUNTER):
                    return p.ReadInt(b.local)
                if b is None and self.params.get(name) is p.Ty.INT:
                    return p.ParamRef(name)
                if b is None and name not in self.params and name not in self.r.resources:
                    self.r.err.add(e.span, f"unknown name '{name}'")
                    return None
        self.r.err.add(e.span, f"expected an integer (a number, a u64 parameter or an integer variable), "
                       f"found '{self.r.text(e.span)}'")
        return None

    def is_int_expr(self, e: s.Expr) -> bool:
        """Whether a `let` value is an integer, making the name an integer variable."""
        match e:
            case s.IntLit():
                return True
            case s.Binary(op=s.BinOp.ADD | s.BinOp.SUB):
                return True
            case s.Name(path=(name,)):
                b = self.lookup_local(name, e.span)
                if b is not None:
                    return b.local.ty in (p.Ty.INT_VAR, p.Ty.COUNTER)
                return self.params.get(name) is p.Ty.INT
        return False

    def let(self, st: s.Let, name: str, value: s.Expr) -> list[p.Stmt]:
        value = _strip_unwrap(value)
        if _bool_literal(value) is not None or _is_choose(value):
            return self.bool_assign(self.declare(name, p.Ty.BOOL_VAR, st.span), s.AssignOp.SET, value, st.span)
        if self.is_int_expr(value):
            v = self.int_expr(value)
            if v is None:
                return []
            local = self.declare(name, p.Ty.INT_VAR, st.span)
            return [p.SetInt(local, v, st.span)]
        if isinstance(value, s.Await):
            fut = self.awaited(value.value)
            if fut is None:
                return []
            if isinstance(fut, p.Race) and name != "_" and isinstance(value.value, s.Call) \
                    and _canonical(value.value.path) in ("select", "future::select"):
                self.r.err.add(st.span, f"'{name}' would keep the losing future alive (dormant), which mcheck "
                               "cannot bind; pass the futures by `&mut` (`select(&mut a, &mut b).await;`) to keep "
                               "the loser, or write `let _ = ...` to drop it")
                return []
            ty = _result_type(fut) or returns.bound_type(self, fut)
            if ty is None and name != "_" and isinstance(fut, p.CallFn | p.AsyncBlock):
                # A user who writes this expects the guard or value the Rust fn returns; binding
                # nothing would quietly release it at once, and a self-deadlock would pass as safe.
                what = f"'{fut.fn}'" if isinstance(fut, p.CallFn) else "an async block"
                self.r.err.add(st.span, f"{what} returns nothing in mcheck's models, so '{name}' would bind nothing "
                               "(only an fn declared `-> MutexGuard` (or another guard type) returns its guard)",
                               (value.span, f"hold the guard where it is taken (`let {name} = m.lock().await;`) "
                                            f"or write `{self.r.text(value.span)};`"))
                return []
            if ty is None or name == "_":
                return [p.AwaitStmt(fut, None, st.span)]
            local = self.declare(name, ty, st.span)
            guard = returns.guard_of(self, fut)
            if guard is not None:
                self.guard_types[local.index] = guard
            return [p.AwaitStmt(fut, local, st.span)]
        if isinstance(value, s.Call) and _canonical(value.path) in _CONTAINERS:
            if not self.nargs(value, 0, _canonical(value.path)):
                return []
            return [p.NewSet(self.declare(name, _CONTAINERS[_canonical(value.path)], st.span), st.span)]
        if self.is_stream(value):
            found = self.stream(value)
            if found is None:
                return []
            items, limit, ordered = found
            if limit == 0:
                self.r.err.add(value.span, "this stream hands out its futures unpolled; to run them, buffer it: "
                               "`.buffered(n)` or `.buffer_unordered(n)`")
                return []
            local = self.declare(name, p.Ty.STREAM, value.span)
            return [p.NewSet(local, value.span, tuple(items), limit, ordered)]
        if isinstance(value, s.MethodCall) and value.method in _TRY_ACQUIRES:
            if name == "_":
                return []  # taken and released in the same statement: nothing another task could see
            tried = self.try_acquire(name, value, st.span)
            return [] if tried is None else [tried]
        if isinstance(value, s.MethodCall) and value.method == "try_reserve":
            ch = self.resource(value.receiver, (p.Ty.CHANNEL,), "try_reserve")
            if ch is None or not self.nargs(value, 0, "try_reserve"):
                return []
            if self.r.is_unbounded(ch):
                self.r.err.add(value.span, "try_reserve() needs a bounded channel")
                return []
            if name == "_":
                return []  # a permit dropped at once
            return [p.TryReserve(self.declare(name, p.Ty.PERMIT, st.span), ch, self.r.text(value.span), value.span)]
        if isinstance(value, s.Call) and _canonical(value.path) == "interval":
            if not self.nargs(value, 1, "interval"):
                return []
            ms = self.duration(value.args[0])
            if ms is None:
                return []
            if isinstance(ms, p.IntConst) and ms.value < 1:
                self.r.err.add(value.args[0].span, "an interval's period must be at least 1 ms")
                return []
            return [p.NewInterval(self.declare(name, p.Ty.INTERVAL, st.span), ms, st.span)]
        if isinstance(value, s.Call) and _canonical(value.path) == "spawn":
            spawned = self.spawn_arg(value)
            if spawned is None:
                return []
            handle = None if name == "_" else self.declare(name, p.Ty.HANDLE, st.span)
            return [p.Spawn(spawned, handle, st.span)]
        if isinstance(value, s.MethodCall) and value.method in ("try_send", "send") and self.is_sync_send(value):
            return self.expr_stmt(value, st.span)
        if name == "_" and isinstance(value, s.MacroCall) and _canonical(value.path) == "poll":
            return self.expr_stmt(value, st.span)  # `let _ = poll!(f.as_mut());` discards the Poll
        pinned = _pins(value)
        if pinned is not None and isinstance(pinned, s.Name) and pinned.path == (name,):
            return self.pin_in_place(pinned)  # `let f = pin!(f);`: the same future under the same name
        fut = self.future(value, "bound")
        if fut is None:
            return []
        if isinstance(fut, p.UseVar):
            self.r.err.add(st.span, "re-binding a future to a new name is not supported; use the original name")
            return []
        if isinstance(fut, p.Race) and any(isinstance(a, p.UseVar) for a in fut.arms):
            self.r.err.add(st.span, f"'{fut.text}' borrows a future; await it directly (`{fut.text}.await;`) "
                           "instead of binding it")
            return []
        if name == "_":
            return []  # `let _ = fut;` drops an unpolled future at once: nothing happens
        local = self.declare(name, p.Ty.FUTURE, st.span)
        self.scopes[-1].names[name].pinned = pinned is not None
        return [p.LetFuture(local, fut, st.span)]

    def try_acquire(self, name: str, value: s.MethodCall, span: Span | None) -> p.TryAcquire | None:
        """`m.try_lock()`, `l.try_read()`, `l.try_write()`, `s.try_acquire()`, `s.try_acquire_many(n)`
        bound to `name`: the guard it holds when it succeeds (`name.is_ok()`)."""
        ty, purpose = _TRY_ACQUIRES[value.method]
        ref = self.resource(value.receiver, (ty,), value.method)
        if ref is None:
            return None
        count: p.IntRef | None = p.IntConst(p.WRITE_PERMITS if purpose is p.Purpose.WRITE else 1)
        if value.method == "try_acquire_many":
            if not self.nargs(value, 1, value.method):
                return None
            count = self.int_arg(value.args[0])
            if isinstance(count, p.IntConst) and count.value < 1:
                self.r.err.add(value.args[0].span, "try_acquire_many needs at least 1 permit")
                return None
        elif not self.nargs(value, 0, value.method):
            return None
        if count is None:
            return None
        local = self.declare(name, p.Ty.GUARD, span)
        self.tried.add(local.index)
        return p.TryAcquire(local, ref, count, purpose, value.method, self.r.text(value.span), value.span)

    def if_let(self, st: s.IfLet) -> list[p.Stmt]:
        """`if let Ok(g) = m.try_lock() { A } else { B }`: try, then A holding the guard or B without
        it; the guard (bound, or the `Ok(_)` temporary) is released when the statement ends."""
        value = _strip_unwrap(st.value)
        if st.variant != "Ok" or not (isinstance(value, s.MethodCall) and value.method in _TRY_ACQUIRES):
            self.r.err.add(st.value.span or st.span, "`if let` in a model takes `Ok(g) = m.try_lock()` (or "
                           "`try_read()`, `try_write()`, `try_acquire()`, `try_acquire_many(n)`)")
            return []
        self.scopes.append(_Scope(self.loop_depth))
        tried = self.try_acquire(st.binding, value, st.span)
        (then_b, else_b), _ = self.branches([st.then, st.otherwise or s.Block((), st.span)])
        scope = self.scopes.pop()
        if tried is None:
            return []
        return [p.Block((tried, p.If(p.Holds(tried.local), then_b, else_b, st.span)), tuple(scope.declared), st.span)]

    def pin_in_place(self, e: s.Name) -> list[p.Stmt]:
        """NOTE(pinned): `tokio::pin!(f);` and `let f = pin!(f);` turn `f` into a `Pin<&mut F>` to the
        future, which stays where it is until the end of its scope. Moving `f` (awaiting it, a select!
        branch, poll!) then moves only the reference: the future is borrowed, and a losing branch leaves
        it alive (dormant); `drop(f)` drops the reference, not the future."""
        b = self.lookup_local(e.path[0], e.span)
        if b is None or b.local.ty is not p.Ty.FUTURE:
            self.r.err.add(e.span, f"pin! takes a future bound with `let`; '{e.path[0]}' is "
                           f"{'an unknown name' if b is None else _a(b.local.ty)}")
            return []
        self.use(b, e.span, "pinned", moves=False)
        b.pinned = True
        return []

    def is_sync_send(self, e: s.MethodCall) -> bool:
        v = self.value(e.receiver) if isinstance(e.receiver, s.Name) else None
        if v is None:
            return False
        return (v[0] is p.Ty.CHANNEL and (e.method == "try_send" or self.r.is_unbounded(v[1])
                                          or isinstance(v[1], p.ParamRef))) or (
            v[0] in (p.Ty.ONESHOT, p.Ty.PERMIT) and e.method == "send")

    def spawn_arg(self, e: s.Call) -> p.CallFn | p.AsyncBlock | None:
        if not self.nargs(e, 1, "spawn"):
            return None
        if self.loop_depth > 0:
            self.r.err.add(
                e.span, "spawn inside a loop creates unboundedly many tasks, which mcheck cannot make finite; "
                "declare a fixed number of tasks with `task name[N] { ... }`",
            )
            return None
        fut = self.future(e.args[0], "spawned")
        if fut is None:
            return None
        if not isinstance(fut, p.CallFn | p.AsyncBlock):
            self.r.err.add(e.args[0].span, "spawn takes a call of an async fn or an async block")
            return None
        return fut

    def expr_stmt(self, value: s.Expr, span: Span | None) -> list[p.Stmt]:
        value = _strip_unwrap(value)
        text = self.r.text(span)
        if replies.is_reply_send(self, value):
            assert isinstance(value, s.MethodCall)
            return replies.reply_send(self, value, span)
        match value:
            case s.Await(value=s.Call(path=path, args=args) as call) if _canonical(path) in ("join_all", "try_join_all"):
                if not self.nargs(call, 1, _canonical(path)):
                    return []
                items = self.iter_items(args[0])
                if not items:
                    return []
                return [p.Join(tuple(items), span)]
            case s.Await(value=s.MethodCall(method="for_each") as fe):
                return self.for_each(fe, span)
            case s.Await(value=inner):
                self.awaited_send = inner
                fut = self.awaited(inner)
                self.awaited_send = None
                return [] if fut is None else [p.AwaitStmt(fut, None, span)]
            case s.MacroCall(path=path, args=args) if _canonical(path) == "pin" and all(
                isinstance(a, s.Name) for a in args
            ):
                return [st for a in args if isinstance(a, s.Name) for st in self.pin_in_place(a)]
            case s.MacroCall(path=path, args=args) if _canonical(path) == "poll":
                if len(args) != 1:
                    self.r.err.add(value.span, "poll! takes one future")
                    return []
                fut = self.future(args[0], "polled")
                return [] if fut is None else [p.PollOnce(fut, span)]
            case s.MethodCall(receiver=recv, method=method, args=args) if method in (
                "push", "push_back", "spawn", "notify_one", "notify_waiters", "enable", "abort", "abort_all"
            ):
                return self.container_call(value, recv, method, args, span)
            case s.MacroCall(path=path, args=args) if _canonical(path) == "join":
                futs = [self.future(a, "joined") for a in args]
                if not args:
                    self.r.err.add(span, "join! needs at least one future")
                if any(f is None for f in futs) or not args:
                    return []
                return [p.Join(tuple(f for f in futs if f is not None), span)]
            case s.MacroCall(path=path):
                self.r.err.add(value.span, rustisms.macro_hint(path[-1])
                               or f"unknown macro '{'::'.join(path)}!'; expected 'join!' or 'select!'")
                return []
            case s.Call(path=path, args=args) if _canonical(path) == "drop":
                if len(args) != 1 or not isinstance(args[0], s.Name) or len(args[0].path) != 1:
                    self.r.err.add(value.span, "drop takes one local name")
                    return []
                b = self.lookup_local(args[0].path[0], args[0].span)
                if b is None:
                    if args[0].path[0] in self.params or args[0].path[0] in self.r.resources:
                        self.r.err.add(args[0].span, f"'{args[0].path[0]}' is a resource; only futures, guards "
                                       "and permits can be dropped")
                    else:
                        self.r.err.add(args[0].span, f"unknown name '{args[0].path[0]}'")
                    return []
                if b.local.ty is p.Ty.COUNTER:
                    self.r.err.add(args[0].span, f"'{b.local.name}' is a loop counter; it cannot be dropped")
                    return []
                if b.pinned:
                    return []  # NOTE(pinned): drops the `Pin<&mut F>`; the future lives to the end of its scope
                self.use(b, value.span, "dropped", moves=True)
                return [p.Drop(b.local, value.span)]
            case s.Call(path=path) if _canonical(path) == "spawn":
                spawned = self.spawn_arg(value)
                return [] if spawned is None else [p.Spawn(spawned, None, span)]
            case s.MethodCall(receiver=recv, method=method, args=args) if method in ("send", "try_send"):
                v = self.value(recv)
                if v is None:
                    return []
                ty, ref = v
                message = 0
                if args and ty is p.Ty.ONESHOT:
                    self.r.err.add(value.span, f"'{method}' on a oneshot takes no value: mcheck abstracts a "
                                   "oneshot's value (`o.send();`)")
                    return []
                if len(args) > 1:
                    self.r.err.add(value.span, f"'{method}' takes one message value, {len(args)} given")
                    return []
                if args:
                    carrier = ref if isinstance(ref, p.GlobalRes | p.ParamRef) else None
                    found = self.message_value(args[0], carrier)
                    if found is None:
                        return []
                    message = found
                if ty is p.Ty.PERMIT and method == "send" and isinstance(ref, _Binding):
                    self.use(ref, value.span, "used by send", moves=True)
                    return [p.PermitSend(ref.local, span, message)]
                if ty is p.Ty.ONESHOT and method == "send":
                    assert isinstance(ref, p.GlobalRes | p.ParamRef)
                    return [p.OneshotSend(ref, span)]
                if ty is p.Ty.CHANNEL and (method == "try_send" or self.r.is_unbounded(ref)):
                    assert isinstance(ref, p.GlobalRes | p.ParamRef)
                    return [p.TrySend(ref, span, message=message)]
                if ty is p.Ty.CHANNEL and isinstance(ref, p.ParamRef):
                    # Checked when instantiated: the channel passed in must be unbounded.
                    return [p.TrySend(ref, span, unbounded_send=True, message=message)]
                if ty is p.Ty.CHANNEL:
                    self.r.err.add(value.span, f"'{text}' on a bounded channel waits for a permit: add '.await' "
                                   "(or use try_send)")
                    return []
                self.r.err.add(value.span, f"'{self.r.text(recv.span)}' is {_a(ty)}; it has no method '{method}'")
                return []
        fut = self.future(value, "used")
        if fut is not None:
            self.r.err.add(span, f"'{text}' creates a future that is never polled; add '.await' or bind it with 'let'")
        return []

    def container_call(self, e: s.MethodCall, recv: s.Expr, method: str, args: tuple[s.Expr, ...],
                       span: Span | None) -> list[p.Stmt]:
        """`set.push(f);`, `set.spawn(f);`, `notify.notify_one();`, `notified.enable();`."""
        while isinstance(recv, s.MethodCall) and recv.method == "as_mut" and not recv.args:
            recv = recv.receiver
        v = self.value(recv)
        if v is None:
            return []
        ty, ref = v
        if ty is p.Ty.NOTIFY and method in ("notify_one", "notify_waiters") and not isinstance(ref, _Binding):
            assert isinstance(ref, p.GlobalRes | p.ParamRef)
            return [p.NotifyOne(ref, method == "notify_waiters", span)] if self.nargs(e, 0, method) else []
        if isinstance(ref, _Binding) and ty is p.Ty.FUTURE and method == "enable" and self.nargs(e, 0, method):
            self.use(ref, e.span, "enabled", moves=False)
            return [p.Enable(ref.local, span)]
        if isinstance(ref, _Binding) and ty in (p.Ty.SET, p.Ty.ORDERED_SET) and method in ("push", "push_back"):
            if not self.nargs(e, 1, method):
                return []
            fut = self.future(args[0], "pushed")
            if fut is None:
                return []
            if isinstance(fut, p.UseVar):
                self.r.err.add(args[0].span, "push a call or an async block: a future bound with 'let' cannot "
                               "move into a set in mcheck")
                return []
            self.use(ref, e.span, "used", moves=False)
            return [p.Push(ref.local, fut, span)]
        if isinstance(ref, _Binding) and (ty, method) in ((p.Ty.HANDLE, "abort"), (p.Ty.JOIN_SET, "abort_all")):
            if not self.nargs(e, 0, method):
                return []
            self.use(ref, e.span, "aborted", moves=False)
            return [p.Abort(ref.local, span)]
        if isinstance(ref, _Binding) and ty is p.Ty.JOIN_SET and method == "spawn":
            fake = s.Call(("spawn",), args, e.span)
            spawned = self.spawn_arg(fake)
            if spawned is None:
                return []
            self.use(ref, e.span, "used", moves=False)
            return [p.SetSpawn(ref.local, spawned, span)]
        self.r.err.add(e.span, f"'{self.r.text(recv.span)}' is {_a(ty)}; it has no method '{method}'")
        return []

    def closure_future(self, e: s.Expr, what: str) -> tuple[str, p.Future] | None:
        """The future a closure `|x| f` returns, and its parameter ('' or '_': none)."""
        if not isinstance(e, s.Closure):
            self.r.err.add(e.span, f"{what} takes a closure, e.g. `|_| work()`")
            return None
        saved = self.params
        if e.param not in ("", "_"):
            self.params = {**saved, e.param: p.Ty.INT}
        fut = self.future(e.body, "returned by the closure")
        self.params = saved
        return None if fut is None else (e.param, fut)

    def iter_items(self, e: s.Expr) -> list[p.Future]:
        """The futures of `[f, g]`, `(a..b).map(|i| f)` or `stream::iter(...)` over those."""
        if isinstance(e, s.Call) and _canonical(e.path) in ("iter", "into_iter") and len(e.args) == 1:
            e = e.args[0]
        if isinstance(e, s.ListLit):
            futs = [self.future(x, "listed") for x in e.items]
            if any(f is None for f in futs):
                return []
            out = [f for f in futs if f is not None]
        elif isinstance(e, s.MethodCall) and e.method == "map" and len(e.args) == 1:
            src = e.receiver
            if isinstance(src, s.Call) and _canonical(src.path) in ("iter", "into_iter") and len(src.args) == 1:
                src = src.args[0]
            if not isinstance(src, s.Range):
                self.r.err.add(src.span, "map over a range of numbers, e.g. `(0..3).map(|i| work(i))`")
                return []
            lo, hi = self.int_expr(src.lo), self.int_expr(src.hi)
            if not isinstance(lo, p.IntConst) or not isinstance(hi, p.IntConst):
                if lo is not None and hi is not None:
                    self.r.err.add(src.span, "the range's bounds must be numbers")
                return []
            if hi.value - lo.value > MAX_ITEMS:  # checked before the list is built
                self.r.err.add(src.span, f"{hi.value - lo.value} futures: mcheck takes at most {MAX_ITEMS} here; "
                               "make the model smaller")
                return []
            cf = self.closure_future(e.args[0], "map")
            if cf is None:
                return []
            name, fut = cf
            out = [fut if name in ("", "_") else p.WithParam(fut, name, i) for i in range(lo.value, hi.value)]
        else:
            self.r.err.add(e.span, "expected a list of futures `[f, g]` or `(a..b).map(|i| ...)`")
            return []
        if not out:
            self.r.err.add(e.span, "the list of futures is empty")
        elif len(out) > MAX_ITEMS:
            self.r.err.add(e.span, f"{len(out)} futures: mcheck takes at most {MAX_ITEMS} here; make the model smaller")
            return []
        return out

    def stream(self, src: s.Expr) -> tuple[list[p.Future], int, bool] | None:
        """A stream's item futures, how many run at once (0: none, they are handed over unpolled)
        and whether in order: `stream::iter(items)[.buffered(n) | .buffer_unordered(n)]`,
        `stream::once(f)` (f's output, so f runs)."""
        limit, ordered = 0, True
        src = _unpinned(src)
        if isinstance(src, s.MethodCall) and src.method in ("buffered", "buffer_unordered"):
            if not self.nargs(src, 1, src.method):
                return None
            n = src.args[0]
            if not isinstance(n, s.IntLit) or n.value < 1:
                self.r.err.add(n.span, f"{src.method} takes a number of at least 1")
                return None
            limit, ordered, src = n.value, src.method == "buffered", _unpinned(src.receiver)
        if isinstance(src, s.Call) and _canonical(src.path) == "once" and len(src.args) == 1 and limit == 0:
            fut = self.future(src.args[0], "run by the stream")
            return None if fut is None else ([fut], 1, True)
        items = self.iter_items(src)
        return (items, limit, ordered) if items else None

    def for_each(self, e: s.MethodCall, span: Span | None) -> list[p.Stmt]:
        """`stream::iter(items)[.buffered(n) | .buffer_unordered(n)].for_each(|_| body).await`."""
        if not self.nargs(e, 1, "for_each"):
            return []
        st = self.stream(e.receiver)
        cf = self.closure_future(e.args[0], "for_each")
        if st is None or cf is None:
            return []
        items, limit, ordered = st
        return [p.ForEach(tuple(items), limit, ordered, cf[1], span)]

    def is_stream(self, e: s.Expr) -> bool:
        e = _unpinned(e)
        while isinstance(e, s.MethodCall) and e.method in ("buffered", "buffer_unordered", "map"):
            e = _unpinned(e.receiver)
        return isinstance(e, s.Call) and _canonical(e.path) in ("iter", "once")

    def branches(self, bodies: list[s.Block], binds: list[Received | None] | None = None
                 ) -> tuple[list[p.Block], list[p.Local | None]]:
        """Check alternative bodies: a move in one branch does not affect its siblings. `binds`:
        a name each body's scope starts with (a received value), returned as its local."""
        bindings = [b for sc in self.scopes for b in sc.names.values()]
        before = [(b.moved_at, b.moved_how) for b in bindings]
        after = list(before)
        out = []
        bound: list[p.Local | None] = []
        for i, body in enumerate(bodies):
            for b, (at, how) in zip(bindings, before, strict=True):
                b.moved_at, b.moved_how = at, how
            bind = binds[i] if binds is not None and i < len(binds) else None
            out.append(self.block(body, bind))
            bound.append(out[-1].locals[0] if bind is not None else None)
            after = [(a if a[0] is not None else (b.moved_at, b.moved_how)) for a, b in zip(after, bindings, strict=True)]
        for b, (at, how) in zip(bindings, after, strict=True):
            b.moved_at, b.moved_how = at, how
        return out, bound

    # ---- message values (messages.py) ------------------------------------------------------------

    def message_value(self, e: s.Expr, carrier: p.ResRef | None) -> int | None:
        """The value a send puts in its message: `Request::Claim`; `carrier` records the enum."""
        found = self.r.enums.value(e)
        if found is None:
            return None
        if carrier is not None:
            self.r.enums.carries(carrier, found[0], e.span)
        return found[1]

    def is_oneshot(self, ref: p.ResRef) -> bool:
        if replies.is_made(ref):
            return True
        return self.params.get(ref.name) is p.Ty.ONESHOT if isinstance(ref, p.ParamRef) else self.r.is_oneshot(ref)

    def bind_received(self, fut: p.Future, name: str, span: Span | None) -> p.Recv | None:
        """`Some(name) = rx.recv()`: name will hold the message's value (bound by block())."""
        if not isinstance(fut, p.Recv):
            self.r.err.add(span, f"'Some({name})' binds a received message; here the future is not a channel's "
                           f"recv(), so write 'Some(_)'")
            return None
        if self.is_oneshot(fut.res):
            self.r.err.add(span, f"a oneshot's recv() gives a Result, not an Option: write `_ = {fut.text}`")
            return None
        return fut

    def match(self, st: s.Match) -> list[p.Stmt]:
        """`match v { Enum::A => ..., _ => ... }` on a received value: an if-chain on its value."""
        v = st.value
        b = self.lookup_local(v.path[0], v.span) if isinstance(v, s.Name) and len(v.path) == 1 else None
        if b is None or b.local.ty is not p.Ty.MESSAGE:
            what = f"'{self.r.text(v.span)}' is {_a(b.local.ty)}" if b is not None else (
                f"'{self.r.text(v.span)}' is not a received value")
            self.r.err.add(v.span, f"match takes a message value received with `Some(v) = rx.recv()`; {what}")
            return []
        checked = self.r.enums.match_arms(st)
        if checked is None:
            return []
        enum, values, wildcard, numbers = checked
        carrier = self.received_from.get(b.local.index)
        if carrier is not None:
            self.r.enums.carries(carrier, enum, st.span)
        binds: list[Received | None] = [
            None if n is None else (n[0], arm.span, (b.local, n[1]) if enum.replies_at(n[1]) else None)
            for n, arm in zip(numbers, st.arms, strict=True)]
        bodies, bound = self.branches([arm.body for arm in st.arms], binds)
        for i, (n, local) in enumerate(zip(numbers, bound, strict=True)):
            if n is not None and local is not None:  # `V(n) =>`: n is the number the value carries
                body = bodies[i]
                stmts: tuple[p.Stmt, ...] = (p.SetInt(local, number_of(b.local, n[1]), st.arms[i].span), *body.stmts)
                if local.index in self.reply_locals:  # `V(reply) =>`: reply is dropped at the arm's end
                    stmts = (*stmts, p.ReplyDrop(b.local, st.arms[i].span))
                bodies[i] = p.Block(stmts, (local, *body.locals), body.span)
        return [match_to_ifs(b.local, list(zip(values, bodies, strict=True)), wildcard, st.span)]

    def select(self, st: s.Select) -> list[p.Stmt]:
        if not st.arms:
            self.r.err.add(st.span, "select! needs at least one branch")
            return []
        # futures::select! borrows a future it is given by name; tokio::select! moves it.
        futs = [self.future(s.Borrow(arm.future, arm.future.span) if st.futures and isinstance(arm.future, s.Name)
                            and len(arm.future.path) == 1 and self.lookup_local(arm.future.path[0], None) is not None
                            else arm.future, "selected") for arm in st.arms]
        conds = [None if arm.precondition is None else self.cond(arm.precondition) for arm in st.arms]
        binds: list[Received | None] = []
        for i, arm in enumerate(st.arms):
            f = futs[i]
            if arm.some and st.futures:
                self.r.err.add(arm.span, "futures::select! takes no refutable pattern here; write `_ = ...` "
                               "(or use tokio::select!, which disables a branch whose pattern does not match)")
                futs[i] = None
            elif arm.some and f is not None and (not isinstance(f, p.Recv | p.SetNext) or (
                    isinstance(f, p.Recv) and self.is_oneshot(f.res))):
                self.r.err.add(arm.span, f"'Some(..)' needs a channel's recv() or a set's next(), which give an "
                               f"Option; '{self.r.text(arm.future.span)}' does not")
                futs[i] = None
            elif arm.some and arm.binding != "_" and f is not None:
                got = self.bind_received(f, arm.binding, arm.span)
                futs[i] = got
                if isinstance(got, p.Recv):
                    binds.append((arm.binding, arm.span, got.res))
                    continue
            binds.append(None)
        bodies, bound = self.branches([arm.body for arm in st.arms] + ([st.otherwise] if st.otherwise is not None else []),
                                      binds)
        futs = [dataclasses.replace(f, bind=bound[i]) if isinstance(f, p.Recv) and bound[i] is not None else f
                for i, f in enumerate(futs)]
        bad_cond = any(c is None and arm.precondition is not None for c, arm in zip(conds, st.arms, strict=True))
        if bad_cond or any(f is None for f in futs):
            return []
        arms = [p.SelectArm(f, b, arm.span, c, refutable=arm.some)
                for f, b, arm, c in zip(futs, bodies, st.arms, conds, strict=False) if f is not None]
        otherwise = bodies[-1] if st.otherwise is not None else None
        return [p.Select(st.biased, tuple(arms), st.span, otherwise, st.futures)]


def _suspends_or_breaks(b: p.Block, breaks: bool) -> bool:
    """Whether a loop body may suspend ('.await', select!, join!), leave by 'return' or, when `breaks`,
    by 'break'."""
    for st in b.stmts:
        if isinstance(st, p.AwaitStmt | p.Select | p.Join | p.WhileRecv | p.ForEach | p.Return) or (
                breaks and isinstance(st, p.Break)):
            return True
        if isinstance(st, p.Block) and _suspends_or_breaks(st, breaks):
            return True
        if isinstance(st, p.If) and (_suspends_or_breaks(st.then, breaks) or _suspends_or_breaks(st.otherwise, breaks)):
            return True
        if isinstance(st, p.Loop | p.For | p.While) and _suspends_or_breaks(st.body, False):
            return True  # a 'break' in there leaves the inner loop only
    return False


def _a(ty: p.Ty) -> str:
    """The type's name with its article: 'a Mutex', 'an integer variable', 'a u64'."""
    return ("an " if ty.value[0] in "aeioAEIO" else "a ") + ty.value


_TRY_ACQUIRES = {
    "try_lock": (p.Ty.MUTEX, p.Purpose.LOCK), "try_read": (p.Ty.RWLOCK, p.Purpose.LOCK),
    "try_write": (p.Ty.RWLOCK, p.Purpose.WRITE), "try_acquire": (p.Ty.SEMAPHORE, p.Purpose.ACQUIRE),
    "try_acquire_many": (p.Ty.SEMAPHORE, p.Purpose.ACQUIRE),
}
"""The try_* acquires: the resource each is a method of, and what the permits it takes are for."""


def _unpinned(e: s.Expr) -> s.Expr:
    """A stream without the `Box::pin(..)` or `pin!(..)` around it: pinned, it yields the same items."""
    while True:
        if isinstance(e, s.Call) and _canonical(e.path) in ("Box::pin", "pin") and len(e.args) == 1:
            e = e.args[0]
        elif (inner := _pins(e)) is not None:
            e = inner
        else:
            return e


def _pins(e: s.Expr) -> s.Expr | None:
    """X, when e is `pin!(X)` (std::pin::pin!, tokio::pin!): a `Pin<&mut>` to X (Box::pin owns X)."""
    if isinstance(e, s.MacroCall) and _canonical(e.path) in ("pin", "pin::pin", "std::pin::pin") and len(e.args) == 1:
        return e.args[0]
    return None


def _bool_literal(e: s.Expr) -> bool | None:
    if isinstance(e, s.Name) and e.path in (("true",), ("false",)):
        return e.path == ("true",)
    return None


def _is_choose(e: s.Expr) -> bool:
    return isinstance(e, s.Call) and not e.args and _canonical(e.path) == "choose"


def _strip_unwrap(e: s.Expr) -> s.Expr:
    """`x.await.unwrap()` means `x.await` here: mcheck abstracts values, errors included."""
    while isinstance(e, s.MethodCall) and e.method in ("unwrap", "expect") and isinstance(e.receiver, s.Await):
        e = e.receiver
    return e


def _result_type(fut: p.Future) -> p.Ty | None:
    """What `let x = fut.await` binds: a guard, a permit, or nothing worth tracking."""
    if isinstance(fut, p.Acquire):
        return {p.Purpose.LOCK: p.Ty.GUARD, p.Purpose.ACQUIRE: p.Ty.GUARD, p.Purpose.WRITE: p.Ty.GUARD,
                p.Purpose.RESERVE: p.Ty.PERMIT}.get(fut.purpose)
    return None


class Resolver:
    def __init__(self, source: Source, module: s.Module) -> None:
        self.source = source
        self.module = module
        self.err = _Errors()
        self.resources: dict[str, p.Resource] = {}
        self.syntax_fns: dict[str, s.FnDef] = {}
        self.fns: dict[str, p.FnDef] = {}
        self.enums = Enums(self.err.add)

    def text(self, span: Span | None) -> str:
        return _text(self.source, span)

    def suggest(self, name: str) -> list[tuple[Span | None, str]]:
        import difflib

        close = difflib.get_close_matches(name, list(self.syntax_fns), n=1)
        return [(self.syntax_fns[close[0]].span, f"did you mean '{close[0]}'?")] if close else []

    def is_unbounded(self, ref: object) -> bool:
        if isinstance(ref, p.GlobalRes):
            res = next(r for r in self.resources.values() if r.index == ref.index)
            return res.kind is p.ResKind.CHANNEL and not res.bounded
        return False  # parameters: checked when instantiated

    def is_oneshot(self, ref: object) -> bool:
        if isinstance(ref, p.GlobalRes):
            return next(r for r in self.resources.values() if r.index == ref.index).kind is p.ResKind.ONESHOT
        return False

    def resource_decl(self, d: s.ResourceDecl) -> None:
        e = d.init
        ctor = _canonical(e.path) if isinstance(e, s.Call) else ""
        if ctor not in _CONSTRUCTORS or not isinstance(e, s.Call):
            if (how := rustisms.resource_hint(self.text(e.span))) is not None:
                self.err.add(e.span, how)
                return
            self.err.add(
                e.span, f"unknown resource '{self.text(e.span)}'; expected Mutex::new(), Semaphore::new(n), "
                "channel(n), unbounded_channel(), oneshot(), RwLock::new(), Notify::new(), OnceCell::new() or "
                "futures::lock::Mutex::new()",
            )
            return
        kind, nargs = _CONSTRUCTORS[ctor]
        if len(e.args) != nargs:
            self.err.add(e.span, f"'{ctor}' takes {nargs} argument{'s' if nargs != 1 else ''}, {len(e.args)} given")
            return
        permits = 1 if kind in (p.ResKind.MUTEX, p.ResKind.UNFAIR_MUTEX, p.ResKind.ONCE_CELL) else 0
        if nargs:
            arg = e.args[0]
            if not isinstance(arg, s.IntLit):
                self.err.add(arg.span, "expected a number")
                return
            if arg.value < 1 or arg.value > 16:
                self.err.add(arg.span, f"{ctor} needs between 1 and 16 permits, got {arg.value}")
                return
            permits = arg.value
        if d.name in self.resources:
            self.err.add(d.span, f"'{d.name}' is declared twice", (self.resources[d.name].span, "first declared here"))
            return
        bounded = ctor != "unbounded_channel"
        self.resources[d.name] = p.Resource(len(self.resources), d.name, kind, permits, bounded, d.span)

    def check_recursion(self) -> None:
        calls: dict[str, set[str]] = {name: set() for name in self.fns}

        def walk(x: object, out: set[str]) -> None:
            if isinstance(x, p.CallFn):
                out.add(x.fn)
            if isinstance(x, tuple):
                for y in x:
                    walk(y, out)
            elif hasattr(x, "__dataclass_fields__") and not isinstance(x, p.Local):
                for f in x.__dataclass_fields__:
                    walk(getattr(x, f), out)

        for name, fn in self.fns.items():
            walk(fn.body, calls[name])
        for start in self.fns:
            seen: set[str] = set()
            stack = [start]
            while stack:
                cur = stack.pop()
                for nxt in calls.get(cur, ()):
                    if nxt == start:
                        self.err.add(
                            self.fns[start].span, f"async fn '{start}' calls itself (possibly indirectly): "
                            "recursion cannot be made finite",
                        )
                        stack.clear()
                        break
                    if nxt not in seen:
                        seen.add(nxt)
                        stack.append(nxt)

    def run(self) -> p.Program:
        items = self.module.items
        for it in items:
            if isinstance(it, s.EnumDef):
                self.enums.declare(it)
        for it in items:
            if isinstance(it, s.ResourceDecl):
                self.resource_decl(it)
            elif isinstance(it, s.FnDef):
                if it.name in self.syntax_fns:
                    self.err.add(it.span, f"async fn '{it.name}' is defined twice",
                                 (self.syntax_fns[it.name].span, "first defined here"))
                self.syntax_fns[it.name] = it
        for it in items:
            if isinstance(it, s.FnDef):
                params: dict[str, p.Ty] = {}
                for prm in it.params:
                    ty = PARAM_TYPES.get(prm.type_name)
                    if ty is None:
                        self.err.add(prm.span, f"unknown parameter type '{prm.type_name}'; expected one of "
                                     + ", ".join(PARAM_TYPES))
                        continue
                    if prm.name in params:
                        self.err.add(prm.span, f"parameter '{prm.name}' is declared twice")
                    params[prm.name] = ty
                checker = _BodyChecker(self, params, it.name, it)
                if it.returns is not None and checker.returns is None:
                    self.err.add(it.returns.span, f"an async fn returning '{'::'.join(it.returns.path)}' cannot "
                                 "be modelled", (it.returns.span, returns.HINT))
                body = checker.block(it.body)
                if checker.returns is not None and not (
                        it.body.stmts and isinstance(it.body.stmts[-1], s.Return) and it.body.stmts[-1].value):
                    self.err.add(it.body.span,
                                 f"'{it.name}' is declared to return a {checker.returns.type_name}, but its body "
                                 "does not end with one", (checker.returns.span, "end the body with the guard it "
                                                           "holds (`g`, `m.lock().await` or `return g;`)"))
                self.fns[it.name] = p.FnDef(it.name, tuple(params.items()), body, it.span, checker.returns)
        tasks: list[p.TaskDef] = []
        seen_tasks: dict[str, s.TaskDef] = {}
        for it in items:
            if isinstance(it, s.TaskDef):
                if it.name in seen_tasks:
                    self.err.add(it.span, f"task '{it.name}' is defined twice", (seen_tasks[it.name].span, "first defined here"))
                seen_tasks[it.name] = it
                if it.copies < 1 or it.copies > 16:
                    self.err.add(it.span, f"task '{it.name}' needs between 1 and 16 copies, got {it.copies}")
                if it.name == "main" and it.copies != 1:
                    self.err.add(it.span, "there can be only one 'main' task")
                body = _BodyChecker(self, {}, it.name).block(it.body)
                tasks.append(p.TaskDef(it.name, it.copies, body, it.span))
        if not tasks and not self.err.items:
            rust_main = self.syntax_fns.get("main")
            if rust_main is not None:  # Rust's `async fn main`: a model's entry point is a task
                self.err.add(rust_main.span, "the model has no task, so nothing runs; `async fn main` is an "
                             f"async fn: {rustisms.RUNTIME_HINT}")
            else:
                self.err.add(Span(1, 1, 1, 1), "the model has no task, so nothing runs",
                             (None, "a model runs its tasks: add one, e.g. `task main { sleep(1).await; }` "
                                    "(docs/language.md, Tasks)"))
        self.check_recursion()
        expect = self.expectation()
        runtime, runtime_at = self.runtime_header()
        if self.err.items:
            raise ModelError(self.err.items)
        return p.Program(tuple(self.resources.values()), self.fns, tuple(tasks), expect, runtime, runtime_at,
                         tuple(self.enums.types.values()))

    def runtime_header(self) -> tuple[str | None, Span | None]:
        """`// runtime: current-thread|multi-thread`: the runtime the modelled code runs on."""
        found: tuple[str | None, Span | None] = (None, None)
        for i, line in enumerate(self.source.text.splitlines(), start=1):
            m = _RUNTIME_RE.match(line)
            if not m:
                continue
            col = m.start(1) + 1
            at = Span(i, col, i, col + max(1, len(m.group(1))))
            if m.group(1) not in p.RUNTIMES:
                what = f"unknown runtime '{m.group(1)}'" if m.group(1) else "'// runtime:' names no runtime"
                self.err.add(at, f"{what}; expected current-thread or multi-thread",
                             (None, "docs/language.md, Runtimes"))
            elif found[0] is not None:
                self.err.add(at, "a second '// runtime:' header", (found[1], "the first is here"))
            else:
                found = (m.group(1), at)
        return found

    def expectation(self) -> p.Expectation:
        untimed: p.Verdict | None = None
        exact: p.Verdict | None = None
        untimed_at: Span | None = None
        exact_at: Span | None = None
        on_runtime: list[tuple[str, p.Verdict, Span | None]] = []
        for i, line in enumerate(self.source.text.splitlines(), start=1):
            m = _EXPECT_RE.match(line)
            if not m:
                continue
            if not m.group(2):
                col = len(line.rstrip()) + 1
                self.err.add(Span(i, col, i, col + 1), f"'// expect{m.group(1) or ''}:' names no verdict; "
                             "expected futurelock, deadlock or safe")
                continue
            try:
                v = p.Verdict(m.group(2))
            except ValueError:
                col = line.index(m.group(2)) + 1
                self.err.add(Span(i, col, i, col + len(m.group(2))),
                             f"unknown verdict '{m.group(2)}'; expected futurelock, deadlock or safe")
                continue
            at = Span(i, m.start(2) + 1, i, m.end(2) + 1)
            if m.group(1) == "-exact":
                exact, exact_at = v, at
            elif m.group(1) in ("-current-thread", "-multi-thread"):
                on_runtime.append((m.group(1)[1:], v, at))
            else:
                untimed, untimed_at = v, at
        return p.Expectation(untimed, exact, untimed_at, exact_at, tuple(on_runtime))


def resolve(source: Source, module: s.Module) -> p.Program:
    return Resolver(source, structs.lower(named_fields.lower(module))).run()
