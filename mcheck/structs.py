"""Structs of resources, lowered for resolve.py: `struct Pool { claims: Channel }`, `impl Pool {
async fn claim(&self) { self.claims.send(..).await; } }`, a top-level instance `let pool = Pool {
claims: c };` and calls `pool.claim()`.

A purely syntactic lowering, before names are resolved: each method becomes a top-level async fn
`Pool_claim(self_claims: Channel, ..)` taking the struct's fields first; `self.claims` in it is
that parameter; `pool.claim(..)` is `Pool_claim(c, ..)` with the instance's field values;
`pool.claims` is the field's value. An instance names resources (or numbers) and owns none of its
own: `Arc::new(..)` and `x.clone()` are the same resources (aliasing), as every alias of a
resource is the resource (`Arc::clone(&x)` does not parse: `&x` is refused with its own hint).
What is not taken gets a located error: generic structs do not parse (rustisms.py names them),
`&mut self`, fields that are not resources or numbers, a struct, method or field not declared.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mcheck import syntax as s
from mcheck.errors import Diagnostic, ModelError, Severity
from mcheck.source import Span

FIELD_TYPES = ("Mutex", "Semaphore", "Channel", "Oneshot", "RwLock", "Notify", "OnceCell", "u64", "u32", "usize")
"""What a field may be: the resource kinds an async fn parameter takes, or a number."""

ALIAS_CALLS = (("Arc", "new"), ("Arc", "clone"), ("Rc", "new"), ("Rc", "clone"), ("std", "sync", "Arc", "new"))
"""Wrappers that share what they wrap: the same resources."""


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
        self.instances: dict[str, tuple[s.StructDef, dict[str, s.Expr]]] = {}

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

    def instance(self, d: s.StructDecl) -> None:
        st = self.structs.get(d.struct)
        if st is None:
            self.err(d.span, f"'{d.struct}' is not a declared struct")
            return
        if d.wrapper and d.wrapper not in ALIAS_CALLS:
            self.err(d.span, f"`{'::'.join(d.wrapper)}(..)` around a struct: only `Arc::new(..)` is taken")
            return
        given = {name: (value, span) for name, value, span in d.inits}
        values = {}
        for f in st.fields:
            if f.name not in given:
                self.err(d.span, f"'{d.struct}' needs a value for its field '{f.name}'")
                return
            values[f.name] = _unwrap(given[f.name][0])
        for name, (_value, span) in given.items():
            if all(f.name != name for f in st.fields):
                self.err(span, f"'{d.struct}' has no field '{name}'")
                return
        self.instances[d.name] = (st, values)

    def alias_of(self, d: s.ResourceDecl) -> str | None:
        """`let b = a.clone();` (or `Arc::new(a)`) at the top level, a an instance: a's name."""
        init = _unwrap(d.init)
        if isinstance(init, s.Name) and len(init.path) == 1 and init.path[0] in self.instances:
            return init.path[0]
        return None

    # ---- expressions -----------------------------------------------------------------------------

    def expr(self, e: Any, method_of: s.StructDef | None) -> Any:
        """e with struct uses replaced (any syntax node, tuples of them, or a leaf value)."""
        if isinstance(e, tuple):
            return tuple(self.expr(x, method_of) for x in e)
        if not dataclasses.is_dataclass(e) or isinstance(e, type):
            return e
        e = _unwrap(e) if isinstance(e, s.Call | s.MethodCall) else e
        if isinstance(e, s.Field):
            return self.field(e, method_of)
        if isinstance(e, s.MethodCall) and isinstance(e.receiver, s.Name) and len(e.receiver.path) == 1:
            target = self.owner(e.receiver.path[0], method_of)
            if target is not None:
                st, values = target
                if (st.name, e.method) not in self.methods:
                    self.err(e.span, f"'{st.name}' has no method '{e.method}'" + (
                        f"; its methods: {', '.join(m for (n, m) in self.methods if n == st.name)}"
                        if any(n == st.name for n, _ in self.methods) else ""))
                    return e
                args = tuple(values[f.name] for f in st.fields) + self.expr(e.args, method_of)
                return s.Call((fn_name(st.name, e.method),), args, e.span)
        changes = {f.name: self.expr(getattr(e, f.name), method_of) for f in dataclasses.fields(e)
                   if f.name != "span"}
        return dataclasses.replace(e, **changes)

    def owner(self, name: str, method_of: s.StructDef | None) -> tuple[s.StructDef, dict[str, s.Expr]] | None:
        """The struct and field values `name` stands for: an instance, or `self` in a method."""
        if name == "self" and method_of is not None:
            return method_of, {f.name: s.Name((field_param(f.name),), f.span) for f in method_of.fields}
        return self.instances.get(name)

    def field(self, e: s.Field, method_of: s.StructDef | None) -> s.Expr:
        target = self.owner(e.value.path[0], method_of) if isinstance(e.value, s.Name) and len(e.value.path) == 1 \
            else None
        if target is None:
            what = "self" if method_of is None and isinstance(e.value, s.Name) and e.value.path == ("self",) else ""
            self.err(e.span, f"'.{e.name}' outside a method of the struct" if what else
                     f"'.{e.name}' is a field access on something that is not a struct instance: fields are "
                     "read from a top-level `let x = Struct { .. };` or `self` in its methods")
            return e
        st, values = target
        if e.name not in values:
            self.err(e.span, f"'{st.name}' has no field '{e.name}'")
            return e
        value = values[e.name]
        return dataclasses.replace(value, span=e.span) if isinstance(value, s.Name) else value


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
    """The module with its structs lowered to async fns; ModelError listing what is not taken."""
    if not any(isinstance(it, s.StructDef | s.ImplDef | s.StructDecl | s.ResourceDecl) for it in module.items):
        return module
    low = _Lowering()
    for it in module.items:
        if isinstance(it, s.StructDef):
            low.struct(it)
    lowered: dict[int, list[s.FnDef]] = {}
    for i, it in enumerate(module.items):
        if isinstance(it, s.ImplDef):
            lowered[i] = low.impl(it)
        elif isinstance(it, s.StructDecl):
            low.instance(it)
        elif isinstance(it, s.ResourceDecl) and low.alias_of(it) is not None:
            low.instances[it.name] = low.instances[low.alias_of(it) or ""]
    if not low.structs and not low.errors:
        return _aliases(module)
    items: list[s.Item] = []
    for i, it in enumerate(module.items):
        if isinstance(it, s.StructDef | s.StructDecl) or (isinstance(it, s.ResourceDecl) and it.name in low.instances):
            continue
        if isinstance(it, s.ImplDef):
            st = low.structs.get(it.name)
            items.extend(dataclasses.replace(fn, body=low.expr(fn.body, st)) for fn in lowered[i])
            continue
        items.append(low.expr(it, None))
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
