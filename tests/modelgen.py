"""A seeded generator of random models over the whole language of docs/language.md.

`random_model(seed)` returns the text of one model: resources of every kind with varied
capacities and permits, async fns (nested calls, u64 parameters), tasks (copies, `main`,
spawned tasks, JoinSets) and bodies drawn from every construct of the reference, with varied
durations. About half of the models are built around a *dormant-future skeleton* (a future left
alive and unpolled while its task needs what the future holds or waits for), so that a good share
of them futurelock, and the rest wander freely. Most models are well formed; some are refused with
a located error, which the tests that use them accept.

`features(program)` names the constructs a checked program uses, so a test can tell which parts
of the reference a run of the generator reached (tests/test_modelgen.py).

Message values (an `enum Msg`, values sent and matched, `Some(_)` select! branches) are drawn
from a second generator seeded apart, so they only respell a model the main one draws: a seed's
model is the same with or without them, apart from that spelling. Structs and per-request replies
are drawn from a third one, so the models without them are what they were before them:

- structs (STRUCT_SHARE of the models) respell the async fns too: each fn over a resource kind is
  a method of a struct of that kind (`struct UsesMutex { x: Mutex }`, `impl UsesMutex { async fn
  work3(&self, ms: u64) { .. self.x.lock() .. self.work4(ms) .. } }`), each resource of the kind
  an instance (`let m1_s = Arc::new(UsesMutex { x: m1 });`, an alias `let m1_a = m1_s.clone();`),
  a call `work3(m1, 5)` is `m1_s.work3(5)` and a lock of m1 sometimes `m1_s.x.lock()`: the same
  program after structs.py's lowering (`random_model(seed, structs=False)` is the plain spelling);
- replies (REPLY_SHARE) add an actor, `task server`, answering `Request::Claim(reply)` on its own
  channel `rq` (after some work, maybe a lock; `reply.send(())`, sometimes only maybe or never),
  and requests in the task bodies: `let (tx1, rx1) = oneshot::channel();
  rq.send(Request::Claim(tx1)).await;` then `rx1.await`, a timeout or select! on it, or the same
  inside `async fn ask`. In half of the skeletons the task's second need of the resource goes
  through the actor (it takes the resource before it replies), the futurelock of a request
  waiting on an actor stuck behind the requester's own dormant future.

The same seed always gives the same model. Used by the fuzz test, the random-model cross-checks
(`--engine both`, symmetry, trace replay) and the runtime differential harness.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields, is_dataclass

from mcheck import program as p
from mcheck import replies, structs

DURATIONS = (1, 2, 3, 5, 10, 20, 50)
STRUCT_SHARE = 0.3
"""Models whose async fns are written as methods of structs of resources."""
REPLY_SHARE = 0.25
"""Models with a request actor answering per-request oneshots (which emit-rust refuses today)."""
RETURN_SHARE = 0.3
"""Models with an async fn that returns the guard or permit it takes (`-> MutexGuard`), bound by
`let g = grab_m(m, ms).await;` in leaf statements, drawn from a stream of their own."""
STRUCT_NAMES = {"mutex": "UsesMutex", "sem": "UsesSemaphore", "chan": "UsesChannel", "rwlock": "UsesRwLock",
                "notify": "UsesNotify", "cell": "UsesOnceCell", "oneshot": "UsesOneshot"}
"""The struct that holds each resource kind the generated fns take, when they are methods."""
PARAM_TYPES = {"mutex": "Mutex", "sem": "Semaphore", "chan": "Channel", "rwlock": "RwLock",
               "notify": "Notify", "cell": "OnceCell", "oneshot": "Oneshot"}
MAX_DEPTH = 2
"""Compound statements nest at most this deep (models stay small enough to check in a test)."""


@dataclass
class _Res:
    name: str
    kind: str  # mutex, sem, chan, unbounded, oneshot, rwlock, fmutex, notify, cell
    permits: int = 1


@dataclass
class _Scope:
    """What a body being generated can use."""

    ints: list[str] = field(default_factory=list)
    bools: list[str] = field(default_factory=list)
    futures: list[str] = field(default_factory=list)  # let-bound futures still owned here
    in_loop: bool = False
    depth: int = 0
    in_async_block: bool = False
    params: dict[str, str] = field(default_factory=dict)  # in an async fn: param -> resource kind

    def child(self, *, loop: bool | None = None, async_block: bool = False) -> _Scope:
        return _Scope(list(self.ints), list(self.bools), [], self.in_loop if loop is None else loop, self.depth + 1,
                      self.in_async_block or async_block, dict(self.params))


class _Gen:
    def __init__(self, seed: int, structs: bool = True) -> None:
        self.rng = random.Random(seed)
        self.values = random.Random(f"message values {seed}")  # apart from rng: see the docstring
        self.msgs = self.values.random() < 0.3  # this model's channels carry `enum Msg` values
        self.extra = random.Random(f"structs and replies {seed}")  # apart from rng: see the docstring
        self.structs = self.extra.random() < STRUCT_SHARE and structs
        self.replies = self.extra.random() < REPLY_SHARE
        self.guards = random.Random(f"returned guards {seed}")  # apart from rng: the other draws stay as they were
        self.returning: list[tuple[str, str]] = []  # (fn name, resource) of fns that return their guard
        self.spelling = random.Random(f"struct spelling {seed}")  # drawn only with structs: apart from extra
        self.requests = 0  # the per-request oneshots written so far (their names)
        self.asks = False  # `async fn ask` is used
        self.server_work: str | None = None  # what the actor does before it replies, set by the skeleton
        self.names = 0
        self.res: list[_Res] = []
        self.fns: list[tuple[str, str, list[str]]] = []  # (name, resource kind it takes, body statements)
        self.tasks: list[str] = []

    # -- helpers --

    def fresh(self, base: str) -> str:
        self.names += 1
        return f"{base}{self.names}"

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def ms(self) -> int:
        return self.rng.choice(DURATIONS)

    def pick_kind(self, *kinds: str) -> bool:
        return any(r.kind in kinds for r in self.res)

    def value(self) -> str:
        return self.values.choice(["Msg::A", "Msg::B", f"Msg::N({self.values.randint(0, 2)})"])

    def with_value(self, send: str) -> str:
        """`ch.send()` / `ch.try_send()` with a message value, when this model's messages carry them."""
        if not self.msgs:
            return send
        return re.sub(r"\.(send|try_send)\(\)", lambda m: f".{m.group(1)}({self.value()})", send, count=1)

    def received(self, fut: str) -> str:
        """A select! branch's pattern for `fut`: `Some(_)` (refutable) sometimes, for a channel's
        recv() or a set's next(); else `_`."""
        name = fut.split(".")[0]
        on_channel = fut.endswith(".recv()") and any(r.name == name and r.kind in ("chan", "unbounded")
                                                      for r in self.res)
        return "Some(_)" if on_channel and self.values.random() < 0.3 else "_"

    def match(self, v: str, block: str) -> str:
        """`match v { ... }` running `block` for some values: one variant, or a number of N."""
        kind = self.values.randint(0, 2)
        if kind == 0:
            return f"match {v} {{ Msg::A => {block} _ => {{}} }}"
        if kind == 1:
            k = self.fresh("k")
            return f"match {v} {{ Msg::N({k}) => {{ if {k} == 1 {block} }} _ => {{}} }}"
        return f"match {v} {{ Msg::A => {{}} Msg::B => {block} Msg::N(_) => {{}} }}"

    def pick(self, *kinds: str) -> _Res | None:
        found = [r for r in self.res if r.kind in kinds]
        return self.rng.choice(found) if found else None

    # -- resources and fns --

    def resources(self) -> None:
        kinds = ["mutex", "mutex", "sem", "chan", "unbounded", "oneshot", "rwlock", "fmutex", "notify", "cell"]
        for kind in self.rng.sample(kinds, self.rng.randint(2, 6)):
            permits = self.rng.randint(1, 3) if kind in ("sem", "chan") else 1
            self.res.append(_Res(self.fresh({"mutex": "m", "sem": "sem", "chan": "ch", "unbounded": "ev",
                                             "oneshot": "os", "rwlock": "rw", "fmutex": "fm", "notify": "nt",
                                             "cell": "cell"}[kind]), kind, permits))
        if not any(r.kind in ("mutex", "sem", "chan", "rwlock") for r in self.res):
            self.res.append(_Res(self.fresh("m"), "mutex"))

    def declarations(self) -> list[str]:
        ctor = {"mutex": "Mutex::new()", "rwlock": "RwLock::new()", "fmutex": "futures::lock::Mutex::new()",
                "notify": "Notify::new()", "cell": "OnceCell::new()", "oneshot": "oneshot()",
                "unbounded": "unbounded_channel()"}
        self.msgs = self.msgs and self.pick_kind("chan", "unbounded")
        out = ["enum Msg { A, B, N(u64) }"] if self.msgs else []
        if self.replies:
            out += ["enum Request { Claim(oneshot::Sender), Ping }", "let rq = channel(1);"]
        for r in self.res:
            if r.kind == "sem":
                out.append(f"let {r.name} = Semaphore::new({r.permits});")
            elif r.kind == "chan":
                out.append(f"let {r.name} = channel({r.permits});")
            else:
                out.append(f"let {r.name} = {ctor[r.kind]};")
        return out

    def make_fns(self) -> None:
        """A few async fns over resource parameters; some call another fn (nested inlining)."""
        for _ in range(self.rng.randint(1, 3)):
            r = self.pick(*PARAM_TYPES)
            if r is None:
                return
            name = self.fresh("work")
            op = self.use_param("x", r)
            body = [op]
            if self.chance(0.7):
                body.append("sleep(ms).await;")
            if self.fns and self.chance(0.3):  # a nested call: the inner fn's resource, a fixed one
                inner, kind, _ = self.rng.choice(self.fns)
                arg = self.pick(kind)
                on_x = kind == r.kind and self.extra.random() < 0.3  # or x itself (`self.inner(..)` in a method)
                if arg is not None:
                    body.append(f"{self.call(inner, 'x' if on_x else arg.name, str(self.ms()))}.await;")
            self.fns.append((name, r.kind, body))

    def make_returning(self) -> None:
        """Sometimes an async fn that takes a lock or permits and returns the guard to its caller."""
        held = [r for r in self.res if r.kind in ("mutex", "sem")]
        if not held or self.guards.random() >= RETURN_SHARE:
            return
        r = self.guards.choice(held)
        self.returning.append((f"grab_{r.name}", r.name))

    def returning_lines(self) -> list[str]:
        out = []
        for name, res in self.returning:
            kind = next(r.kind for r in self.res if r.name == res)
            ty, take = ("MutexGuard", "x.lock().await") if kind == "mutex" else ("SemaphorePermit", "x.acquire().await")
            out.append(f"async fn {name}(x: {PARAM_TYPES[kind]}, ms: u64) -> {ty} {{ let g = {take}; sleep(ms).await; g }}")
        return out

    def s_returned_guard(self) -> list[str] | None:
        """`let g = grab_m(m, ms).await;`: the caller holds what the fn took, to `drop(g)` or its scope's end."""
        if not self.returning or self.guards.random() >= 0.2:
            return None
        name, res = self.guards.choice(self.returning)
        g = f"rg{self.guards.randint(0, 10**6)}"
        out = [f"let {g} = {name}({res}, {self.guards.choice([1, 5, 20])}).await;"]
        if self.guards.random() < 0.5:
            out.append(f"drop({g});")
        return out

    def call(self, fn: str, res: str, arg: str) -> str:
        """A call of the generated fn `fn` on resource `res` (a model resource, or `x` in a fn body):
        `fn(res, arg)`, or with structs `res_s.fn(arg)` (`self.fn(arg)` for x)."""
        if not self.structs:
            return f"{fn}({res}, {arg})"
        if res == "x":
            return f"self.{fn}({arg})"
        return f"{self.instance(res)}.{fn}({arg})"

    def instance(self, res: str) -> str:
        """The struct instance that holds `res`, or its alias (`let r_a = r_s.clone();`)."""
        return f"{res}_{'a' if self.spelling.random() < 0.3 else 's'}"

    def fn_lines(self) -> list[str]:
        """The generated fns as written: async fns, or with structs one struct per resource kind
        the fns take, its methods and an instance (and an alias) per resource of the kind."""
        if not self.structs:
            return [f"async fn {name}(x: {PARAM_TYPES[kind]}, ms: u64) {{ {' '.join(body)} }}"
                    for name, kind, body in self.fns]
        out = []
        for kind in dict.fromkeys(kind for _, kind, _ in self.fns):
            st = STRUCT_NAMES[kind]
            out.append(f"struct {st} {{ x: {PARAM_TYPES[kind]} }}")
            out.append(f"impl {st} {{")
            for name, k, body in self.fns:
                if k == kind:
                    text = " ".join(re.sub(r"(?<![\w.])x\.", "self.x.", b) for b in body)
                    out.append(f"async fn {name}(&self, ms: u64) {{ {text} }}")
            out.append("}")
            for r in self.res:
                if r.kind == kind:
                    wrapped = f"{st} {{ x: {r.name} }}"
                    out.append(f"let {r.name}_s = {f'Arc::new({wrapped})' if self.spelling.random() < 0.6 else wrapped};")
                    out.append(f"let {r.name}_a = {r.name}_s.clone();")
        return out

    def use_param(self, x: str, r: _Res) -> str:
        match r.kind:
            case "mutex":
                return f"let _g = {x}.lock().await;"
            case "sem":
                return self.rng.choice([f"let _p = {x}.acquire().await;",
                                        f"let _p = {x}.acquire_many({self.rng.randint(1, r.permits)}).await;"])
            case "chan":
                return self.rng.choice([f"{x}.send().await;", f"let _p = {x}.reserve().await;"])
            case "rwlock":
                return self.rng.choice([f"let _r = {x}.read().await;", f"let _w = {x}.write().await;"])
            case "notify":
                return f"{x}.notified().await;"
            case "cell":
                return f"{x}.get_or_init(|| async {{ sleep({self.ms()}).await; }}).await;"
            case "oneshot":
                return f"{x}.recv().await;"
        raise AssertionError(r.kind)

    # -- futures: expressions that denote a future, with what they use --

    def future_expr(self, scope: _Scope, holds: bool = False) -> str:
        """A future expression (unpolled until awaited). `holds`: one that takes a resource."""
        options: list[Callable[[], str | None]] = [self.fut_fn, self.fut_lock, self.fut_acquire, self.fut_send,
                                                   self.fut_write, self.fut_notified, self.fut_cell]
        if not holds:
            options += [lambda: f"sleep({self.ms()})", lambda: "yield_now()", self.fut_recv,
                        lambda: self.fut_async_block(scope)]
        for _ in range(8):
            text = self.rng.choice(options)()
            if text is not None:
                return text
        return f"sleep({self.ms()})"

    def fut_fn(self) -> str | None:
        if not self.fns:
            return None
        name, kind, _ = self.rng.choice(self.fns)
        r = self.pick(kind)
        return None if r is None else self.call(name, r.name, str(self.ms()))

    def fut_lock(self) -> str | None:
        r = self.pick("mutex", "fmutex")
        if r is None:
            return None
        if self.structs and r.kind == "mutex" and any(k == "mutex" for _, k, _ in self.fns) \
                and self.spelling.random() < 0.3:
            return f"{self.instance(r.name)}.x.lock()"  # the struct's field: the same Mutex
        return f"{r.name}.lock()"

    def fut_acquire(self) -> str | None:
        r = self.pick("sem")
        if r is None:
            return None
        k = self.rng.randint(1, r.permits)
        return f"{r.name}.acquire()" if k == 1 else f"{r.name}.acquire_many({k})"

    def fut_send(self) -> str | None:
        r = self.pick("chan")
        return None if r is None else self.rng.choice([f"{r.name}.send()", f"{r.name}.reserve()"])

    def fut_write(self) -> str | None:
        r = self.pick("rwlock")
        return None if r is None else self.rng.choice([f"{r.name}.write()", f"{r.name}.read()"])

    def fut_notified(self) -> str | None:
        r = self.pick("notify")
        return None if r is None else f"{r.name}.notified()"

    def fut_cell(self) -> str | None:
        r = self.pick("cell")
        return None if r is None else f"{r.name}.get_or_init(|| async {{ sleep({self.ms()}).await; }})"

    def fut_recv(self) -> str | None:
        r = self.pick("chan", "unbounded", "oneshot")
        return None if r is None else f"{r.name}.recv()"

    def fut_async_block(self, scope: _Scope) -> str:
        inner = scope.child(async_block=True)
        inner.ints, inner.bools = [], []  # an async block may not use the enclosing body's locals
        return "async { " + " ".join(self.stmts(inner, self.rng.randint(1, 2))) + " }"

    def wrap(self, fut: str) -> str:
        """The ways Rust spells the same future: Box::pin, pin!, .fuse(), .boxed() (the grammar
        takes no method call on an async block)."""
        spellings = [fut, fut, fut, f"Box::pin({fut})", f"pin!({fut})"]
        if not fut.startswith("async"):
            spellings += [f"{fut}.fuse()", f"{fut}.boxed()"]
        return self.rng.choice(spellings)

    # -- statements --

    def stmts(self, scope: _Scope, n: int) -> list[str]:
        out: list[str] = []
        for _ in range(n):
            out.extend(self.stmt(scope))
        return out

    def stmt(self, scope: _Scope) -> list[str]:
        deep = scope.depth >= MAX_DEPTH
        menu: list[tuple[float, Callable[[_Scope], list[str]]]] = [
            (6, self.s_leaf), (2, self.s_guarded), (1, self.s_int),
        ]
        if not deep:
            menu += [(3, self.s_select), (1, self.s_futures_select), (1.5, self.s_join), (1, self.s_join_all),
                     (1, self.s_timeout), (0.7, self.s_future_select), (0.7, self.s_poll), (1.5, self.s_loop),
                     (1.5, self.s_if), (1, self.s_set), (1, self.s_stream), (0.7, self.s_let_future),
                     (0.6, self.s_interval), (0.6, self.s_notify_enable)]
            if not scope.in_loop:
                menu += [(1, self.s_spawn), (0.7, self.s_joinset)]
        total = sum(w for w, _ in menu)
        x = self.rng.random() * total
        for w, f in menu:
            x -= w
            if x <= 0:
                return f(scope)
        return self.s_leaf(scope)

    def s_leaf(self, scope: _Scope) -> list[str]:
        """One await or one synchronous operation on a resource."""
        returned = self.s_returned_guard()
        if returned is not None:
            return returned
        options: list[Callable[[], str | None]] = [
            lambda: f"sleep({self.ms()}).await;", lambda: "yield_now().await;",
            lambda: None if (f := self.fut_fn()) is None else f"{f}.await;",
            lambda: None if (f := self.fut_lock()) is None else f"{f}.await;",
            lambda: None if (f := self.fut_acquire()) is None else f"{f}.await;",
            lambda: None if (f := self.fut_write()) is None else f"{f}.await;",
            lambda: None if (f := self.fut_notified()) is None else f"{f}.await;",
            lambda: None if (f := self.fut_cell()) is None else f"{f}.await;",
            lambda: None if (f := self.fut_recv()) is None else f"{f}.await;",
            self.op_send, self.op_notify,
        ]
        for _ in range(8):
            text = self.rng.choice(options)()
            if text is not None:
                return [text]
        return ["yield_now().await;"]

    def op_send(self) -> str | None:
        r = self.pick("chan", "unbounded", "oneshot")
        if r is None:
            return None
        if r.kind == "chan":
            return self.with_value(self.rng.choice([f"{r.name}.send().await;", f"{r.name}.try_send();",
                                                    f"{r.name}.send_timeout({self.ms()}).await;",
                                                    f"let {self.fresh('p')} = {r.name}.try_reserve();"]))
        return self.with_value(f"{r.name}.send();") if r.kind == "unbounded" else f"{r.name}.send();"

    def op_notify(self) -> str | None:
        r = self.pick("notify")
        return None if r is None else self.rng.choice([f"{r.name}.notify_one();", f"{r.name}.notify_waiters();"])

    def s_guarded(self, scope: _Scope) -> list[str]:
        """A guard or permit held across more work, released at the end of a block or by drop."""
        r = self.pick("mutex", "sem", "rwlock", "fmutex", "chan")
        if r is None:
            return self.s_leaf(scope)
        g = self.fresh("g")
        if r.kind in ("mutex", "sem", "rwlock") and self.chance(0.15):
            return self.s_try(scope, r.name, r.kind, g)
        take = {"mutex": f"{r.name}.lock()", "fmutex": f"{r.name}.lock()", "sem": f"{r.name}.acquire()",
                "rwlock": self.rng.choice([f"{r.name}.read()", f"{r.name}.write()"]),
                "chan": f"{r.name}.reserve()"}[r.kind]
        inner = scope.child()
        body = [f"let {g} = {take}.await;", *self.stmts(inner, self.rng.randint(1, 2))]
        if r.kind == "chan" and self.chance(0.6):
            body.append(f"{g}.send();")
        elif self.chance(0.4):
            body.append(f"drop({g});")
        return ["{", *body, "}"]

    def s_try(self, scope: _Scope, res: str, kind: str, g: str) -> list[str]:
        """A try_* acquire: one body holding the guard, the other without it."""
        method = {"mutex": "try_lock()", "sem": self.rng.choice(["try_acquire()", "try_acquire_many(1)"]),
                  "rwlock": self.rng.choice(["try_read()", "try_write()"])}[kind]
        held, without = scope.child(), scope.child()
        return [f"if let Ok({g}) = {res}.{method} {{", *self.stmts(held, self.rng.randint(1, 2)), "} else {",
                *self.stmts(without, 1), "}"]

    def s_int(self, scope: _Scope) -> list[str]:
        if self.chance(0.15):
            return self.s_bool(scope)
        if scope.ints and self.chance(0.6):
            n = self.rng.choice(scope.ints)
            return [self.rng.choice([f"{n} += 1;", f"{n} -= 1;", f"{n} = {n} + {self.rng.randint(1, 2)};", f"{n} = 0;"])]
        n = self.fresh("n")
        scope.ints.append(n)
        return [f"let mut {n} = {self.rng.randint(0, 2)};"]

    def s_bool(self, scope: _Scope) -> list[str]:
        if scope.bools and self.chance(0.6):
            return [f"{self.rng.choice(scope.bools)} = {self.rng.choice(['true', 'false', 'choose()'])};"]
        flag = self.fresh("flag")
        scope.bools.append(flag)
        return [f"let mut {flag} = {self.rng.choice(['false', 'true', 'choose()'])};"]

    def cond(self, scope: _Scope) -> str:
        if scope.bools and self.chance(0.3):
            flag = self.rng.choice(scope.bools)
            return self.rng.choice([flag, f"!{flag}", f"{flag} && choose()"])
        if scope.ints and self.chance(0.5):
            n = self.rng.choice(scope.ints)
            c = f"{n} {self.rng.choice(['<', '<=', '>', '>=', '==', '!='])} {self.rng.randint(0, 3)}"
            if self.chance(0.3):
                c = self.rng.choice([f"!({c})", f"{c} && choose()", f"{c} || choose()"])
            return c
        return "choose()" if self.chance(0.9) else self.rng.choice(["!choose()", "choose() && choose()",
                                                                    "choose() || choose()"])

    def arm_body(self, scope: _Scope) -> str:
        if scope.in_loop and self.chance(0.25):
            return self.rng.choice(["break,", "continue,"])
        if self.chance(0.2):
            return "{}"
        return "{ " + " ".join(self.stmts(scope.child(), self.rng.randint(1, 2))) + " }"

    def s_let_future(self, scope: _Scope) -> list[str]:
        """A future bound with let: awaited, awaited through a borrow, dropped, or left alone."""
        f = self.fresh("f")
        out = [f"let {f} = {self.wrap(self.future_expr(scope))};"]
        out += self.stmts(scope, self.rng.randint(0, 1))
        end = self.rng.choice(["await", "borrow", "drop", "leave"])
        if end == "await":
            out.append(f"{f}.await;")
        elif end == "borrow":
            out.append(self.rng.choice([f"(&mut {f}).await;", f"{f}.as_mut().await;"]))
            if self.chance(0.5):
                out.append(f"drop({f});")
        elif end == "drop":
            out.append(f"drop({f});")
        return out

    def s_select(self, scope: _Scope, dormant: str | None = None, follow: str | None = None) -> list[str]:
        """tokio::select! with owned and borrowed branches, biased, preconditions and else."""
        out: list[str] = []
        arms: list[str] = []
        has_guard = False
        if dormant is not None:
            arms.append(f"_ = {self.rng.choice(['&mut ' + dormant, dormant + '.as_mut()'])} => "
                        + (self.rng.choice(["break,", "{}"]) if scope.in_loop else "{}"))
        elif self.chance(0.5):
            f = self.fresh("f")
            out.append(f"let {f} = {self.wrap(self.future_expr(scope, holds=self.chance(0.6)))};")
            arms.append(f"_ = &mut {f} => {self.arm_body(scope)}")
        for _ in range(self.rng.randint(1, 2) if dormant is None else 1):
            fut = self.future_expr(scope)
            if self.chance(0.08):
                fut = self.rng.choice(["std::future::ready(())", "std::future::pending()"])
            guard = ""
            if self.chance(0.2 if scope.ints else 0.1):
                guard = f", if {self.cond(scope)}"
                has_guard = True
            body = follow if follow is not None and dormant is not None else self.arm_body(scope)
            pattern = self.received(fut)
            if pattern == "Some(_)" and self.msgs and self.values.random() < 0.5:  # bind the value, match on it
                v = self.fresh("v")
                pattern = f"Some({v})"
                body = "{ " + self.match(v, {"break,": "{ break; }", "continue,": "{ continue; }"}.get(body, body)) + " }"
            arms.append(f"{pattern} = {fut}{guard} => {body}")
        if dormant is not None:
            arms[1:] = [f"_ = sleep({self.ms()}) => {follow}"]
        self.rng.shuffle(arms) if dormant is None else None
        if self.msgs and dormant is None and self.values.random() < 0.5:  # a receive that matches the value
            r = self.values.choice([r for r in self.res if r.kind in ("chan", "unbounded")])
            v = self.fresh("v")
            handle = self.values.choice(["{}", f"{{ sleep({self.values.choice(DURATIONS)}).await; }}"])
            arms.insert(self.values.randint(0, len(arms)), f"Some({v}) = {r.name}.recv() => {{ {self.match(v, handle)} }}")
        biased = "biased; " if self.chance(0.3) else ""
        otherwise = ""
        if has_guard and self.chance(0.6):
            otherwise = " else => " + ("break," if scope.in_loop else "{}")
        return [*out, f"select! {{ {biased}{' '.join(arms)}{otherwise} }}"]

    def s_futures_select(self, scope: _Scope) -> list[str]:
        """futures::select! / select_biased!: a future named bare is borrowed; complete =>."""
        f = self.fresh("f")
        out = [f"let {f} = {self.wrap(self.future_expr(scope, holds=self.chance(0.6)))};"]
        arms = [f"_ = {f} => {self.arm_body(scope).rstrip(',')}",
                f"_ = sleep({self.ms()}).fuse() => {self.arm_body(scope).rstrip(',')}"]
        self.rng.shuffle(arms)
        macro = self.rng.choice(["futures::select!", "futures::select_biased!"])
        complete = ", complete => break," if scope.in_loop and self.chance(0.5) else ""
        return [*out, f"{macro} {{ {', '.join(arms)}{complete} }}"]

    def s_join(self, scope: _Scope) -> list[str]:
        parts = [self.future_expr(scope) for _ in range(self.rng.randint(2, 3))]
        out: list[str] = []
        if self.chance(0.3):
            f = self.fresh("f")
            out.append(f"let {f} = {self.future_expr(scope)};")
            parts[0] = self.rng.choice([f, f"&mut {f}"])
        return [*out, f"join!({', '.join(parts)});"]

    def s_join_all(self, scope: _Scope) -> list[str]:
        if self.chance(0.5) and self.fns:
            name, kind, _ = self.rng.choice(self.fns)
            r = self.pick(kind)
            if r is not None:
                return [f"join_all((0..{self.rng.randint(1, 3)}).map(|i| {self.call(name, r.name, 'i')})).await;"]
        items = ", ".join(self.future_expr(scope) for _ in range(self.rng.randint(1, 3)))
        return [f"{self.rng.choice(['join_all', 'futures::future::join_all', 'try_join_all'])}([{items}]).await;"]

    def s_timeout(self, scope: _Scope, dormant: str | None = None, follow: str | None = None) -> list[str]:
        if dormant is not None:
            return [f"timeout({self.ms()}, &mut {dormant}).await;", *(follow or "").split("\n")]
        if self.chance(0.4):
            f = self.fresh("f")
            return [f"let {f} = {self.future_expr(scope, holds=True)};", f"timeout({self.ms()}, &mut {f}).await;",
                    *self.stmts(scope, 1)]
        return [f"timeout({self.ms()}, {self.future_expr(scope)}).await;"]

    def s_future_select(self, scope: _Scope) -> list[str]:
        if self.chance(0.4):
            a, b = self.fresh("f"), self.fresh("f")
            return [f"let {a} = {self.future_expr(scope, holds=True)};", f"let {b} = sleep({self.ms()});",
                    f"futures::future::select(&mut {a}, &mut {b}).await;", *self.stmts(scope, 1)]
        return [f"futures::future::select({self.future_expr(scope)}, {self.future_expr(scope)}).await;"]

    def s_poll(self, scope: _Scope, dormant: str | None = None, follow: str | None = None) -> list[str]:
        if dormant is not None:
            return [f"poll!(&mut {dormant});", *(follow or "").split("\n")]
        f = self.fresh("f")
        how = self.rng.choice([f"poll!(&mut {f});", f"poll!({f});", f"poll!({f}.as_mut());"])
        out = [f"let {f} = {self.future_expr(scope, holds=True)};", how]
        if how.startswith("poll!(&mut") and self.chance(0.5):
            out.append(f"drop({f});")
        return out

    def loop_tail(self, scope: _Scope) -> list[str]:
        """Something every loop body needs: a way to suspend and a way out."""
        return [self.rng.choice(["yield_now().await;", f"sleep({self.ms()}).await;"]),
                f"if {self.cond(scope)} {{ break; }}"]

    def s_loop(self, scope: _Scope) -> list[str]:
        inner = scope.child(loop=True)
        kind = self.rng.choice(["loop", "for", "while", "while_int", "while_recv"])
        if kind == "for":
            i = self.fresh("i")
            body = self.stmts(inner, self.rng.randint(1, 2))
            if self.chance(0.3):
                body.append(f"if {i} == 1 {{ continue; }}")
            return [f"for {i} in 0..{self.rng.randint(1, 3)} {{", *body, "}"]
        if kind == "while_int":
            n = self.fresh("n")
            inner.ints.append(n)
            body = self.stmts(inner, self.rng.randint(1, 2))
            return [f"let mut {n} = 0;", f"while {n} < {self.rng.randint(1, 3)} {{", *body, f"{n} += 1;",
                    "yield_now().await;", "}"]
        if kind == "while_recv":
            r = self.pick("chan", "unbounded")
            if r is not None:
                body = self.stmts(inner, 1)
                if self.msgs:  # the received value decides what the body does
                    v = self.fresh("v")
                    match = self.match(v, "{ " + " ".join(body) + " }")
                    return [f"while let Some({v}) = {r.name}.recv().await {{", match, "}"]
                return [f"while let Some(_) = {r.name}.recv().await {{", *body, "}"]
        if kind == "while":
            return ["while choose() {", *self.stmts(inner, self.rng.randint(1, 2)), "yield_now().await;", "}"]
        return ["loop {", *self.stmts(inner, self.rng.randint(1, 2)), *self.loop_tail(inner), "}"]

    def s_if(self, scope: _Scope) -> list[str]:
        then = self.stmts(scope.child(), self.rng.randint(1, 2))
        if self.chance(0.05):
            then.append("return;")
        out = [f"if {self.cond(scope)} {{", *then]
        if self.chance(0.5):
            out += ["} else {", *self.stmts(scope.child(), 1)]
        elif self.chance(0.2):
            out += [f"}} else if {self.cond(scope)} {{", *self.stmts(scope.child(), 1)]
        return [*out, "}"]

    def spawnable(self, scope: _Scope) -> str:
        if self.fns and self.chance(0.6):
            f = self.fut_fn()
            if f is not None:
                return f
        inner = scope.child(async_block=True)
        inner.ints, inner.bools = [], []
        return self.rng.choice(["async", "async move"]) + " { " + " ".join(self.stmts(inner, self.rng.randint(1, 2))) + " }"

    def s_spawn(self, scope: _Scope) -> list[str]:
        if self.chance(0.3):
            return [f"spawn({self.spawnable(scope)});"]
        h = self.fresh("h")
        out = [f"let {h} = {self.rng.choice(['spawn', 'tokio::spawn'])}({self.spawnable(scope)});"]
        end = self.rng.choice(["await", "select", "abort", "drop"])
        if end == "await":
            out.append(self.rng.choice([f"{h}.await;", f"(&mut {h}).await;"]))
        elif end == "select":
            arm = " ".join(self.stmts(scope.child(), 1))
            out.append(f"select! {{ _ = &mut {h} => {{}} _ = sleep({self.ms()}) => {{ {arm} }} }}")
        elif end == "abort":
            out += [*self.stmts(scope, 1), f"{h}.abort();", f"{h}.await;"]
        else:
            out.append(f"drop({h});")
        return out

    def s_joinset(self, scope: _Scope) -> list[str]:
        js = self.fresh("js")
        out = [f"let {js} = JoinSet::new();"]
        out += [f"{js}.spawn({self.spawnable(scope)});" for _ in range(self.rng.randint(1, 2))]
        end = self.rng.choice(["drain", "abort", "drop"])
        if end == "drain":
            out += [f"while let Some(_) = {js}.join_next().await {{", *self.stmts(scope.child(loop=True), 1), "}"]
        elif end == "abort":
            out += [*self.stmts(scope, 1), f"{js}.abort_all();"]
        else:
            out += [*self.stmts(scope, 1), f"drop({js});"]
        return out

    def s_set(self, scope: _Scope) -> list[str]:
        """FuturesUnordered / FuturesOrdered: members polled only inside next()."""
        ordered = self.chance(0.4)
        st = self.fresh("set")
        out = [f"let {st} = {'FuturesOrdered' if ordered else 'FuturesUnordered'}::new();"]
        push = "push_back" if ordered else "push"
        for _ in range(self.rng.randint(1, 3)):
            fut = self.fut_fn() or self.fut_async_block(scope)
            out.append(f"{st}.{push}({fut});")
        if self.chance(0.3):
            out += ["loop {", f"select! {{ _ = {st}.next() => {{ {' '.join(self.stmts(scope.child(loop=True), 1))} }} "
                    f"_ = sleep({self.ms()}) => break, }}", "}"]
        else:
            body = self.stmts(scope.child(loop=True), self.rng.randint(0, 1))
            out += [f"while let Some(_) = {st}.next().await {{", *body, "}"]
        return out

    def stream_source(self, scope: _Scope) -> str:
        if self.fns and self.chance(0.6):
            name, kind, _ = self.rng.choice(self.fns)
            r = self.pick(kind)
            if r is not None:
                return f"stream::iter(0..{self.rng.randint(1, 3)}).map(|_| {self.call(name, r.name, str(self.ms()))})"
        items = ", ".join(self.future_expr(scope) for _ in range(self.rng.randint(1, 2)))
        return f"stream::iter([{items}])"

    def s_stream(self, scope: _Scope) -> list[str]:
        src = self.stream_source(scope)
        buf = self.rng.choice(["", f".buffered({self.rng.randint(1, 2)})", f".buffer_unordered({self.rng.randint(1, 2)})"])
        body = self.rng.choice(["async {}", self.future_expr(scope)])
        if self.chance(0.2):
            return [f"stream::once({self.future_expr(scope)}).for_each(|_| {body}).await;"]
        if buf and self.chance(0.3):
            s = self.fresh("s")
            return [f"let {s} = {src}{buf};", f"while let Some(_) = {s}.next().await {{",
                    *self.stmts(scope.child(loop=True), self.rng.randint(0, 1)), "}"]
        return [f"{src}{buf}.for_each(|_| {body}).await;"]

    def s_interval(self, scope: _Scope) -> list[str]:
        iv = self.fresh("iv")
        out = [f"let {iv} = interval({self.ms()});", f"{iv}.tick().await;"]
        inner = scope.child(loop=True)
        out += ["for _ in 0..2 {", f"select! {{ _ = {iv}.tick() => {{ {' '.join(self.stmts(inner.child(), 1))} }} "
                f"_ = {self.future_expr(scope)} => break, }}", "}"]
        return out

    def s_notify_enable(self, scope: _Scope) -> list[str]:
        r = self.pick("notify")
        if r is None:
            return self.s_leaf(scope)
        f = self.fresh("nf")
        out = [f"let {f} = {r.name}.notified();", f"{f}.enable();", *self.stmts(scope, 1)]
        return [*out, self.rng.choice([f"{f}.await;", f"drop({f});"])]

    # -- per-request replies: an actor and its requesters --

    def request(self) -> str:
        """`let (txN, rxN) = oneshot::channel();`, the Sender sent to the actor, the reply awaited."""
        self.requests += 1
        tx, rx = f"tx{self.requests}", f"rx{self.requests}"
        return f"let ({tx}, {rx}) = oneshot::channel(); rq.send(Request::Claim({tx})).await; {rx}.await;"

    def request_stmt(self) -> str:
        """A request as a statement of some body: awaited, raced against a timer, through `ask`,
        or a Ping that needs no reply."""
        x = self.extra
        kind = x.choice(["await", "await", "timeout", "select", "ask", "ping"])
        if kind == "ask":
            self.asks = True
            return "ask(rq).await;"
        if kind == "ping":
            return "rq.send(Request::Ping).await;"
        text = self.request()
        if kind == "await":
            return text
        rx = f"rx{self.requests}"
        head = text.removesuffix(f"{rx}.await;")
        ms = x.choice(DURATIONS)
        if kind == "timeout":
            return f"{head}timeout({ms}, {rx}).await;"
        return f"{head}select! {{ _ = {rx}.recv() => {{}} _ = sleep({ms}) => {{}} }}"

    def server(self) -> list[str]:
        """The actor: each Claim answered after some work (the skeleton's, or drawn here)."""
        x = self.extra
        work = self.server_work
        if work is None:
            held = [r for r in self.res if r.kind in ("mutex", "sem", "rwlock")]
            take = {"mutex": "lock()", "sem": "acquire()", "rwlock": "write()"}
            work = x.choice(["", f"sleep({x.choice(DURATIONS)}).await;"]
                            + ([f"let _g = {r.name}.{take[r.kind]}.await;" for r in held] if held else []))
            answer = x.choice(["reply.send(());"] * 6 + ["if choose() { reply.send(()); }", ""])
        else:
            answer = "reply.send(());"
        arms = f"match req {{ Request::Claim(reply) => {{ {work} {answer} }} Request::Ping => {{}} }}"
        if x.random() < 0.3:  # an actor that gives up when idle
            return ["task server {", "loop {", f"select! {{ Some(req) = rq.recv() => {{ {arms} }} "
                    f"_ = sleep({x.choice((20, 50))}) => break, }}", "}", "}"]
        return ["task server {", "while let Some(req) = rq.recv().await {", arms, "}", "}"]

    def ask_fn(self) -> list[str]:
        if not self.asks:
            return []
        return ["async fn ask(c: Channel) { let (tx, rx) = oneshot::channel(); c.send(Request::Claim(tx)).await; "
                "rx.await; }"]

    # -- the dormant-future skeleton --

    def skeleton(self) -> tuple[list[str], list[str]]:
        """A holder task that takes a resource R for a while, and a body that leaves a future on R
        dormant (select!, timeout, poll!, a set, a buffered stream, futures::select!, OnceCell,
        Notify) while it needs R again. Returns (holder task lines, main body lines)."""
        r = self.pick("mutex", "sem", "chan", "rwlock", "fmutex", "notify", "cell")
        assert r is not None
        hold = self.ms()
        take = {"mutex": f"let _g = {r.name}.lock().await;", "fmutex": f"let _g = {r.name}.lock().await;",
                "sem": f"let _p = {r.name}.acquire_many({r.permits}).await;",
                "chan": "".join(f"{r.name}.send().await; " for _ in range(r.permits)),
                "rwlock": f"let _r = {r.name}.read().await;",
                "notify": f"sleep({hold}).await; {r.name}.notify_one();",
                "cell": f"sleep({hold}).await;"}[r.kind]
        holder = [f"task {self.fresh('holder')} {{", take, f"sleep({hold}).await;", "}"]
        need = {"mutex": f"{r.name}.lock()", "fmutex": f"{r.name}.lock()", "sem": f"{r.name}.acquire()",
                "chan": f"{r.name}.send()", "rwlock": f"{r.name}.write()", "notify": f"{r.name}.notified()",
                "cell": f"{r.name}.get_or_init(|| async {{ sleep({self.ms()}).await; }})"}[r.kind]
        again = {"rwlock": f"{r.name}.read()"}.get(r.kind, need)
        if r.kind == "chan" and self.chance(0.5):  # someone drains the channel, as the pool actor does
            holder += [f"task {self.fresh('drain')} {{", "loop {", f"{r.name}.recv().await;", f"sleep({self.ms()}).await;",
                       "}", "}"]
        wait_again = f"{again}.await;"
        if self.replies and self.extra.random() < 0.5:  # the second need goes through the actor
            self.server_work, wait_again = wait_again, self.request()
        scope = _Scope()
        f = self.fresh("f")
        let = f"let {f} = {self.wrap(self.rng.choice([f'async {{ {need}.await; sleep({self.ms()}).await; }}', need]))};"
        shape = self.rng.choice(["select", "select", "select_loop", "timeout", "poll", "set", "stream", "futures_select"])
        fixed = self.chance(0.25)  # the fix: drop the dormant future before awaiting again
        fix = f"drop({f}); " if fixed else ""
        follow = f"{{ {fix}{wait_again} }}"
        match shape:
            case "select":
                body = [let, *self.s_select(scope, dormant=f, follow=follow)]
            case "select_loop":
                iv = self.fresh("iv")
                body = [let, f"let {iv} = interval({self.ms()});", f"{iv}.tick().await;", "loop {",
                        f"select! {{ _ = &mut {f} => break, _ = {iv}.tick() => {{ {wait_again} }} }}", "}"]
            case "timeout":
                body = [let, f"timeout({self.ms()}, &mut {f}).await;", f"{fix}{wait_again}"]
            case "poll":
                body = [let, f"poll!(&mut {f});", f"{fix}{wait_again}"]
            case "set":
                st = self.fresh("set")
                body = [f"let {st} = FuturesUnordered::new();",
                        f"{st}.push(async {{ {need}.await; sleep({self.ms()}).await; }});",
                        f"{st}.push(async {{ {need}.await; sleep({self.ms()}).await; }});",
                        f"while let Some(_) = {st}.next().await {{ {wait_again} }}"]
            case "stream":
                body = [f"stream::iter(0..2).map(|_| async {{ {need}.await; sleep({self.ms()}).await; }})"
                        f".{self.rng.choice(['buffered', 'buffer_unordered'])}(2)"
                        f".for_each(|_| async {{ {wait_again} }}).await;"]
            case _:
                g = self.fresh("f")
                body = [f"let {g} = async {{ {need}.await; sleep({self.ms()}).await; }};",
                        f"futures::select! {{ _ = {g} => {{}}, _ = sleep({self.ms()}).fuse() => {{ {wait_again} }}, }}"]
        if self.chance(0.5):
            body.insert(0, f"sleep({self.rng.choice((1, 2))}).await;")  # let the holder go first
        return holder, body

    # -- the model --

    def model(self) -> str:
        self.resources()
        self.make_fns()
        self.make_returning()
        lines = self.declarations()
        lines.extend(self.fn_lines())
        lines.extend(self.returning_lines())
        tasks: list[str] = []
        bodies: list[tuple[str, list[str]]] = []  # (task header, body lines)
        main_body: list[str] | None = None
        if self.chance(0.5):
            holder, main_body = self.skeleton()
            tasks.extend(holder)
        n = self.rng.randint(1, 3) if main_body is None else self.rng.randint(0, 1)
        has_main = main_body is not None or self.chance(0.5)
        for _ in range(n):
            scope = _Scope()
            body = self.stmts(scope, self.rng.randint(1, 4))
            copies = f"[{self.rng.randint(2, 3)}]" if self.chance(0.15) else ""
            bodies.append((f"task {self.fresh('t')}{copies} {{", body))
        if has_main:
            body = main_body if main_body is not None else self.stmts(_Scope(), self.rng.randint(1, 4))
            bodies.append(("task main {", body))
        if self.replies:
            for _ in range(self.extra.randint(0 if self.server_work else 1, 2)):
                _, body = self.extra.choice(bodies)
                body.insert(self.extra.randint(0, len(body)), self.request_stmt())  # every line ends a statement
            tasks += self.server()
            lines += self.ask_fn()
        for head, body in bodies:
            tasks += [head, *body, "}"]
        # drawn last, so a seed's model is the same with or without it; never multi-thread, which
        # exact time refuses
        header = ["// runtime: current-thread"] if self.chance(0.1) else []
        return "\n".join([*header, *lines, *tasks]) + "\n"


def random_model(seed: int, structs: bool = True) -> str:
    """The model for `seed`: the same seed always gives the same text. `structs=False`: the same
    model with its async fns written as fns, where the seed writes them as struct methods."""
    return _Gen(seed, structs).model()


# ---- what a checked program uses ----------------------------------------------------------------


def _nodes(x: object) -> Iterator[object]:
    stack = [x]
    while stack:
        y = stack.pop()
        if isinstance(y, tuple | list):
            stack.extend(y)
        elif isinstance(y, dict):
            stack.extend(y.values())
        elif is_dataclass(y) and not isinstance(y, type):
            yield y
            if not isinstance(y, p.Local):
                stack.extend(getattr(y, f.name) for f in fields(y))


def features(prog: p.Program, text: str | None = None) -> set[str]:
    """The constructs prog uses: node type names (`Select`, `Race`, ...) refined where one type
    covers several constructs (`Acquire.write`, `Select.biased`, `Resource.RwLock`, ...). With the
    model's `text`, also what only the spelling tells apart (`Join.join_all` from `Join.macro`)."""
    out: set[str] = set()
    lines = text.splitlines() if text is not None else []
    durations: set[int] = set()
    for r in prog.resources:
        out.add(f"Resource.{r.kind.value}")
        if not r.bounded:
            out.add("Resource.unbounded")
        if r.permits > 1:
            out.add(f"Resource.{r.kind.value}.permits>1")
    if prog.runtime is not None:
        out.add(f"Runtime.{prog.runtime}")
    for t in prog.tasks:
        out.add("Task.main" if t.name == "main" else "Task")
        if t.copies > 1:
            out.add("Task.copies")
    for fn in prog.fns.values():
        out.add("FnDef")
        if fn.returns is not None:
            out.add(f"FnDef.returns.{fn.returns.type_name}")
        if any(isinstance(n, p.CallFn) for n in _nodes(fn.body)):
            out.add("FnDef.nested_call")
        if any(ty is p.Ty.INT for _, ty in fn.params):
            out.add("FnDef.u64_param")
        if any(name.startswith(structs.field_param("")) for name, _ in fn.params):
            out.add("Struct.method")  # a method of a struct, lowered to an fn taking the fields first
        if any(isinstance(n, p.OneshotNew) for n in _nodes(fn.body)):
            out.add("Reply.in_fn")
    for n in _nodes([t.body for t in prog.tasks] + [f.body for f in prog.fns.values()]):
        name = type(n).__name__
        out.add(name)
        if isinstance(n, p.Acquire | p.TrySend | p.PermitSend) and n.message:
            out.add("Message.send")
        if isinstance(n, p.Select | p.Race) and any(isinstance(x, p.Recv) and replies.is_made(x.res)
                                                    for x in _nodes(n)):
            out.add("Reply.raced")  # rx raced against a timer: the Sender may outlive the wait
        if isinstance(n, p.SetInt) and any(isinstance(x, p.ReadInt) and x.local.ty is p.Ty.MESSAGE
                                           for x in _nodes(n.value)):
            out.add("Message.number")  # `Enum::V(n) =>` binds the number a value carries
        match n:
            case p.Acquire(purpose=purpose, count=count):
                out.add(f"Acquire.{purpose.value}")
                if isinstance(count, p.IntConst) and count.value > 1:
                    out.add("Acquire.many")
            case p.Select(biased=biased, arms=arms, otherwise=otherwise, fused=fused):
                out |= {x for x, on in (("Select.biased", biased), ("Select.else", otherwise is not None),
                                        ("Select.futures", fused),
                                        ("Select.precondition", any(a.precondition is not None for a in arms)),
                                        ("Select.three_arms", len(arms) > 2)) if on}
            case p.UseVar(borrowed=True):
                out.add("UseVar.borrowed")
            case p.Race(text=text):
                out.add("Race.send_timeout" if "send_timeout" in text else "Race.select" if "select" in text
                        else "Race.timeout")
            case p.NewSet(local=local, items=items, limit=limit, ordered=ordered):
                out.add(f"NewSet.{local.ty.name}")
                if items:
                    out.add("NewSet.stream_buffered" if ordered else "NewSet.stream_unordered")
                del limit
            case p.ForEach(limit=limit, ordered=ordered):
                out.add("ForEach.unbuffered" if limit == 0 else "ForEach.buffered" if ordered else "ForEach.unordered")
            case p.NotifyOne(all=everyone):
                out.add("NotifyOne.waiters" if everyone else "NotifyOne.one")
            case p.Spawn(handle=handle):
                out.add("Spawn.handle" if handle is not None else "Spawn.detached")
            case p.TrySend(res=res, unbounded_send=unbounded):
                on_unbounded = unbounded or (isinstance(res, p.GlobalRes) and not prog.resources[res.index].bounded)
                out.add("TrySend.unbounded" if on_unbounded else "TrySend.try_send")
            case p.AwaitStmt(future=p.UseVar(borrowed=True)):
                out.add("AwaitStmt.borrowed")  # (&mut f).await
            case p.Sleep(ms=p.IntConst(value=ms)):
                durations.add(ms)
            case p.Abort(local=local):
                out.add(f"Abort.{local.ty.name}")
            case p.Join(span=span) if span is not None and 0 < span.line <= len(lines):
                written = lines[span.line - 1][span.col - 1:]
                out.add("Join.join_all" if re.match(r"[\w:]*join_all\b", written) else "Join.macro")
            case p.Drop(local=local):
                out.add(f"Drop.{local.ty.name}")
            case p.AwaitStmt(bind=bind) if bind is not None:
                out.add(f"AwaitStmt.bind.{bind.ty.name}")
            case p.WithParam():
                out.add("WithParam")
            case p.Recv(bind=bind) if bind is not None:
                out.add("Recv.bind")
            case p.ReadInt(local=local) if local.ty is p.Ty.MESSAGE:
                out.add("Match")
            case p.SelectArm(refutable=True):
                out.add("Select.refutable")
    if len(durations) >= 3:
        out.add("Sleep.varied")
    if prog.enums:
        out.add("EnumType")
    # structs are lowered before resolve: only the text tells their spellings apart
    spelled = {"Struct.self_call": r"\bself\.\w+\(", "Struct.arc": r"\bArc::new\(\w+ \{",
               "Struct.clone": r"^let \w+ = \w+\.clone\(\);", "Struct.field": r"(?<![\w.])(?!self\.)\w+\.\w+\.lock\("}
    out |= {name for name, pattern in spelled.items() if text is not None and re.search(pattern, text, re.M)}
    return out
