"""Structs of resources, lowered for resolve.py: `struct Pool { claims: Channel }`, `impl Pool {
async fn claim(&self) { self.claims.send(..).await; } }`, an instance `let pool = Pool { claims: c };`
(at the top level or in a body), calls `pool.claim()`, and struct parameters `async fn f(p: Pool)`.

A purely syntactic lowering, before names are resolved: each method becomes a top-level async fn
`Pool_claim(self_claims: Channel, ..)` taking the struct's fields first; `self.claims` in it is
that parameter; `pool.claim(..)` is `Pool_claim(c, ..)` with the instance's field values;
`pool.claims` is the field's value; a struct parameter `p: Pool` is one parameter a field
(`p_claims`), and `f(pool)` passes the instance's field values. An instance names resources (or
numbers) and owns none of its own: `Arc::new(..)` and `x.clone()` are the same resources
(aliasing), as every alias of a resource is the resource (`Arc::clone(&x)` does not parse: `&x` is
refused with its own hint). In a body, an instance or alias lasts until a `let` shadows it.
What is not taken gets a located error: generic structs do not parse (rustisms.py names them),
`&mut self`, fields that are not resources or numbers, a struct, method or field not declared.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from mcheck import syntax as s
from mcheck.errors import Diagnostic, ModelError, Severity
from mcheck.source import Span

FIELD_TYPES = ("Mutex", "Semaphore", "Channel", "Oneshot", "RwLock", "Notify", "OnceCell", "u64", "u32", "usize")
"""What a field may be: the resource kinds an async fn parameter takes, or a number."""

ALIAS_CALLS = (("Arc", "new"), ("Arc", "clone"), ("Rc", "new"), ("Rc", "clone"), ("std", "sync", "Arc", "new"))
"""Wrappers that share what they wrap: the same resources."""


Instance = tuple[s.StructDef, dict[str, s.Expr]]
"""A struct instance: its struct and the value (a resource's name, or a number) of each field."""


def fn_name(struct: str, method: str) -> str:
    """The async fn a method becomes (a valid Rust identifier, for emit-rust)."""
    return f"{struct}_{method}"


def field_param(name: str) -> str:
    return f"self_{name}"


class _Lowering:
    def __init__(self) -> None:
        self.errors: list[Diagnostic] = []
        self.structs: dict[str, s.StructDef] = {}
        self.methods: dict[tuple[str, str], s.FnDef] = {}
        self.instances: dict[str, Instance] = {}  # the top level's
        self.resources: set[str] = set()  # top-level resources, which a body may alias
        self.struct_params: dict[str, tuple[s.StructDef | None, ...]] = {}  # per fn: its struct parameters

    def err(self, span: Span | None, message: str) -> None:
        self.errors.append(Diagnostic(Severity.ERROR, message, span))

    # ---- declarations ----------------------------------------------------------------------------

    def struct(self, d: s.StructDef) -> None:
        if d.name in self.structs:
            self.err(d.span, f"struct '{d.name}' is declared twice")
            return
        for f in d.fields:
            if f.type_name not in FIELD_TYPES:
                self.err(f.span, f"field '{f.name}' of '{d.name}' is a '{f.type_name}'; a struct's field is a "
                         "resource (" + ", ".join(FIELD_TYPES[:7]) + ") or a number (u64): other data is abstracted, "
                         "leave it out")
        self.structs[d.name] = d

    def impl(self, d: s.ImplDef) -> list[s.FnDef]:
        st = self.structs.get(d.name)
        if st is None:
            self.err(d.span, f"`impl {d.name}` for a struct that is not declared: declare `struct {d.name} {{ .. }}` "
                     "(a model has no traits: `impl Trait for T` is not taken)")
            return []
        out = []
        for i, m in enumerate(d.methods):
            if d.mut_self[i]:
                self.err(d.self_spans[i], f"'{m.name}' takes `&mut self`: write `&self` (a struct of resources is "
                         "shared, not mutated; keep a counter in a local)")
                continue
            if d.self_names[i] != "self":
                self.err(d.self_spans[i], f"a method's first parameter is `&self`, not `&{d.self_names[i]}`")
                continue
            if (d.name, m.name) in self.methods:
                self.err(m.span, f"method '{m.name}' of '{d.name}' is defined twice")
                continue
            self.methods[(d.name, m.name)] = m
            params = tuple(s.Param(field_param(f.name), f.type_name, f.span) for f in st.fields) + m.params
            out.append(s.FnDef(fn_name(d.name, m.name), params, m.body, m.span, m.returns))
        return out

    def instance(self, d: s.StructDecl, value: Callable[[s.Expr], s.Expr] = lambda v: _unwrap(v)) -> Instance | None:
        """The struct and field values `let p = Pool { .. };` makes (each value through `value`)."""
        st = self.structs.get(d.struct)
        if st is None:
            self.err(d.span, f"'{d.struct}' is not a declared struct")
            return None
        if d.wrapper and d.wrapper not in ALIAS_CALLS:
            self.err(d.span, f"`{'::'.join(d.wrapper)}(..)` around a struct: only `Arc::new(..)` is taken")
            return None
        given = {name: (v, span) for name, v, span in d.inits}
        values = {}
        for f in st.fields:
            if f.name not in given:
                self.err(d.span, f"'{d.struct}' needs a value for its field '{f.name}'")
                return None
            values[f.name] = value(given[f.name][0])
        for name, (_value, span) in given.items():
            if all(f.name != name for f in st.fields):
                self.err(span, f"'{d.struct}' has no field '{name}'")
                return None
        return st, values

    def alias_of(self, d: s.ResourceDecl) -> str | None:
        """`let b = a.clone();` (or `Arc::new(a)`) at the top level, a an instance: a's name."""
        init = _unwrap(d.init)
        if isinstance(init, s.Name) and len(init.path) == 1 and init.path[0] in self.instances:
            return init.path[0]
        return None

    # ---- expressions -----------------------------------------------------------------------------

    def expr(self, e: Any, method_of: s.StructDef | None, scope: Scope) -> Any:
        """e with struct uses replaced (any syntax node, tuples of them, or a leaf value); scope holds
        the instances and resource aliases made in the bodies around e."""
        if isinstance(e, tuple):
            return tuple(self.expr(x, method_of, scope) for x in e)
        if not dataclasses.is_dataclass(e) or isinstance(e, type):
            return e
        if isinstance(e, s.Block):
            return self.block(e, method_of, scope)
        if isinstance(e, s.Call | s.MethodCall) and self.shared(_unwrap(e), method_of, scope):
            e = _unwrap(e)  # `Arc::new(m)`, `m.clone()`: m itself
        if isinstance(e, s.Name) and len(e.path) == 1:
            renamed = scope.get(e.path[0])
            if isinstance(renamed, str):
                return dataclasses.replace(e, path=(renamed,))
        if isinstance(e, s.Field):
            return self.field(e, method_of, scope)
        if isinstance(e, s.MethodCall) and isinstance(e.receiver, s.Name) and len(e.receiver.path) == 1:
            target = self.owner(e.receiver.path[0], method_of, scope)
            if target is not None:
                st, values = target
                if (st.name, e.method) not in self.methods:
                    self.err(e.span, f"'{st.name}' has no method '{e.method}'" + (
                        f"; its methods: {', '.join(m for (n, m) in self.methods if n == st.name)}"
                        if any(n == st.name for n, _ in self.methods) else ""))
                    return e
                name = fn_name(st.name, e.method)
                args = self.call_args(name, e.args, method_of, scope, skip=len(st.fields))
                return s.Call((name,), tuple(values[f.name] for f in st.fields) + args, e.span)
        if isinstance(e, s.Call) and len(e.path) == 1 and e.path[0] in self.struct_params:
            return dataclasses.replace(e, args=self.call_args(e.path[0], e.args, method_of, scope))
        changes = {f.name: self.expr(getattr(e, f.name), method_of, scope) for f in dataclasses.fields(e)
                   if f.name != "span"}
        return dataclasses.replace(e, **changes)

    def block(self, b: s.Block, method_of: s.StructDef | None, scope: Scope) -> s.Block:
        """A body's statements in order: `let p = Pool { .. };` and `let q = p.clone();` name an
        instance for the rest of the block, `let tx2 = tx.clone();` the resource tx (an alias), and
        are left out; a later `let` of the same name shadows them, as in Rust."""
        local = dict(scope)
        out: list[s.Stmt] = []
        for st in b.stmts:
            if isinstance(st, s.StructDecl):
                made = self.made(st, method_of, local)
                if made is not None:
                    local[st.name] = made
                continue
            if isinstance(st, s.Let):
                alias = self.alias(st.value, method_of, local)
                if alias is not None:
                    local[st.name] = alias
                    continue
            out.append(self.expr(st, method_of, local))
            for bound in _bound_names(st):
                local.pop(bound, None)
        return dataclasses.replace(b, stmts=tuple(out))

    def made(self, d: s.StructDecl, method_of: s.StructDef | None, scope: Scope) -> Instance | None:
        """The instance a body's `let p = Pool { .. };` makes: its fields name resources in scope."""
        made = self.instance(d, lambda v: _unwrap(self.expr(v, method_of, scope)))
        if made is None:
            return None
        for f in made[0].fields:
            value = made[1][f.name]
            if not isinstance(value, s.Name | s.IntLit):
                span = next((sp for n, _v, sp in d.inits if n == f.name), d.span)
                self.err(span, f"field '{f.name}' of a '{d.struct}' made in a body is not a name: a body's struct "
                         "names resources made elsewhere (`Pool { lock: m }` with `let m = Mutex::new();` at the "
                         "top level, or a local `tx` from `oneshot::channel()`)")
                return None
        return made

    def alias(self, value: s.Expr, method_of: s.StructDef | None, scope: Scope) -> Instance | str | None:
        """What `let x = value;` in a body makes x stand for, when it is a struct instance or a
        top-level resource passed through `Arc::new`, `.clone()` or a move; else None (a local)."""
        inner = _unwrap(value)
        if not isinstance(inner, s.Name) or len(inner.path) != 1:
            return None
        name = inner.path[0]
        target = self.owner(name, method_of, scope)
        if target is not None:
            return target
        renamed = scope.get(name)
        if isinstance(renamed, str):
            return renamed
        if name in self.resources and name not in scope:
            return name
        return None

    def shared(self, e: s.Expr, method_of: s.StructDef | None, scope: Scope) -> bool:
        """Whether e names something that `.clone()` and `Arc` share rather than copy: a struct
        instance or a resource (other values are refused by resolve.py with their own hint)."""
        if not isinstance(e, s.Name) or len(e.path) != 1:
            return False
        name = e.path[0]
        return self.owner(name, method_of, scope) is not None or isinstance(scope.get(name), str) or (
            name in self.resources and name not in scope)

    def call_args(self, fn: str, args: tuple[s.Expr, ...], method_of: s.StructDef | None,
                  scope: Scope, skip: int = 0) -> tuple[s.Expr, ...]:
        """args of a call of fn, each struct argument spread into its field values (a method's
        args follow its struct's `skip` fields)."""
        shapes = self.struct_params.get(fn)
        out: list[s.Expr] = []
        for i, a in enumerate(args, start=skip):
            st = shapes[i] if shapes is not None and i < len(shapes) else None
            if st is None:
                out.append(self.expr(a, method_of, scope))
                continue
            inner = _unwrap(a)
            target = self.owner(inner.path[0], method_of, scope) \
                if isinstance(inner, s.Name) and len(inner.path) == 1 else None
            if target is None or target[0].name != st.name:
                self.err(a.span, f"'{fn}' takes a '{st.name}' here: pass an instance of it, "
                         f"made with `let p = {st.name} {{ .. }};`")
                out.append(a)
                continue
            out.extend(target[1][f.name] for f in st.fields)
        return tuple(out)

    def owner(self, name: str, method_of: s.StructDef | None, scope: Scope) -> Instance | None:
        """The struct and field values `name` stands for: an instance (made in a body, a struct
        parameter, or at the top level), or `self` in a method."""
        if name == "self" and method_of is not None:
            return method_of, {f.name: s.Name((field_param(f.name),), f.span) for f in method_of.fields}
        if name in scope:
            found = scope[name]
            return None if isinstance(found, str) else found
        return self.instances.get(name)

    def field(self, e: s.Field, method_of: s.StructDef | None, scope: Scope) -> s.Expr:
        target = self.owner(e.value.path[0], method_of, scope) \
            if isinstance(e.value, s.Name) and len(e.value.path) == 1 else None
        if target is None:
            what = "self" if method_of is None and isinstance(e.value, s.Name) and e.value.path == ("self",) else ""
            self.err(e.span, f"'.{e.name}' outside a method of the struct" if what else
                     f"'.{e.name}' is a field access on something that is not a struct instance: fields are "
                     "read from a `let x = Struct { .. };` or `self` in its methods")
            return e
        st, values = target
        if e.name not in values:
            self.err(e.span, f"'{st.name}' has no field '{e.name}'")
            return e
        value = values[e.name]
        return dataclasses.replace(value, span=e.span) if isinstance(value, s.Name) else value

    # ---- functions -------------------------------------------------------------------------------

    def signature(self, fn: s.FnDef) -> None:
        """Note which of fn's parameters are structs (`p: Pool`), for its calls."""
        shapes = tuple(self.structs.get(p.type_name) for p in fn.params)
        if any(shapes):
            self.struct_params[fn.name] = shapes

    def function(self, fn: s.FnDef, method_of: s.StructDef | None) -> s.FnDef:
        """fn with its struct parameters spread into one parameter a field (`p: Pool` is `p_lock:
        Mutex, ..`) and its body lowered."""
        params: list[s.Param] = []
        scope: Scope = {}
        for p in fn.params:
            st = self.structs.get(p.type_name)
            if st is None:
                params.append(p)
                continue
            values: dict[str, s.Expr] = {}
            for f in st.fields:
                spread = f"{p.name}_{f.name}"
                params.append(s.Param(spread, f.type_name, p.span))
                values[f.name] = s.Name((spread,), p.span)
            scope[p.name] = (st, values)
        return dataclasses.replace(fn, params=tuple(params), body=self.block(fn.body, method_of, scope))


Scope = dict[str, "Instance | str"]
"""Names a body binds to a struct instance, or to the top-level resource they alias."""


def _bound_names(st: s.Stmt) -> tuple[str, ...]:
    """The names a statement binds in the rest of its block (a `let` shadows an instance)."""
    if isinstance(st, s.Let):
        return (st.name,)
    if isinstance(st, s.LetPair):
        return st.sender, st.receiver
    return ()


def _unwrap(e: s.Expr) -> s.Expr:
    """`Arc::new(x)`, `x.clone()`: x (the same resources)."""
    while True:
        if isinstance(e, s.Call) and e.path in ALIAS_CALLS and len(e.args) == 1:
            e = e.args[0]
        elif isinstance(e, s.MethodCall) and e.method == "clone" and not e.args:
            e = e.receiver
        elif isinstance(e, s.Borrow) and isinstance(e.value, s.Name):
            e = e.value
        else:
            return e


def lower(module: s.Module) -> s.Module:
    """The module with its structs lowered to async fns, and a body's aliases of a top-level
    resource (`let tx2 = tx.clone();`) replaced by the resource; ModelError listing what is not taken."""
    low = _Lowering()
    for it in module.items:
        if isinstance(it, s.StructDef):
            low.struct(it)
    lowered: dict[int, list[s.FnDef]] = {}
    for i, it in enumerate(module.items):
        if isinstance(it, s.ImplDef):
            lowered[i] = low.impl(it)
            for fn in lowered[i]:
                low.signature(fn)
        elif isinstance(it, s.FnDef):
            low.signature(it)
        elif isinstance(it, s.StructDecl):
            made = low.instance(it)
            if made is not None:
                low.instances[it.name] = made
        elif isinstance(it, s.ResourceDecl):
            alias = low.alias_of(it)
            if alias is not None:
                low.instances[it.name] = low.instances[alias]
            else:
                low.resources.add(it.name)
    items: list[s.Item] = []
    for i, it in enumerate(module.items):
        if isinstance(it, s.StructDef | s.StructDecl) or (isinstance(it, s.ResourceDecl) and it.name in low.instances):
            continue
        if isinstance(it, s.ImplDef):
            st = low.structs.get(it.name)
            items.extend(low.function(fn, st) for fn in lowered[i])
        elif isinstance(it, s.FnDef):
            items.append(low.function(it, None))
        else:
            items.append(low.expr(it, None, {}))
    if low.errors:
        raise ModelError(low.errors)
    return _aliases(s.Module(tuple(items)))


def _aliases(module: s.Module) -> s.Module:
    """Top-level `let a = Arc::new(Mutex::new());` is the resource itself; `let b = a.clone();`
    names the same one (every later use of b is a)."""
    renames: dict[str, str] = {}
    items: list[s.Item] = []
    for it in module.items:
        if isinstance(it, s.ResourceDecl):
            init = _unwrap(it.init)
            if isinstance(init, s.Name) and len(init.path) == 1:
                renames[it.name] = renames.get(init.path[0], init.path[0])
                continue
            if init is not it.init:
                it = dataclasses.replace(it, init=init)
        items.append(it)
    if not renames:
        return s.Module(tuple(items))
    return s.Module(tuple(_rename(it, renames) for it in items))


def _rename(e: Any, renames: dict[str, str]) -> Any:
    if isinstance(e, tuple):
        return tuple(_rename(x, renames) for x in e)
    if not dataclasses.is_dataclass(e) or isinstance(e, type):
        return e
    if isinstance(e, s.Name) and len(e.path) == 1 and e.path[0] in renames:
        return dataclasses.replace(e, path=(renames[e.path[0]],))
    changes = {f.name: _rename(getattr(e, f.name), renames) for f in dataclasses.fields(e) if f.name != "span"}
    return dataclasses.replace(e, **changes)
