"""The crate-wide index: every fn (free, nested or in an impl), struct, static and `use`, and the
entry points, over all the files scanned.

The second phase of `mcheck scan`, after rust.py. Calls are followed later by name (extract.py
looks fns up here), so the index keys fns by name and by (type, method). Macro bodies are walked
as the Rust they contain (rust.expand), so a fn called only inside a `select!` arm or a `vec![]`
counts as called. It decides nothing about resources and emits no model text.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from mcheck.scan.rust import Node, RustFile, macro_args, macro_name, select_arms

SELECT_MACROS = ("select", "select_biased")


@dataclass(eq=False, slots=True)
class FnDef:
    name: str
    node: Node  # the function_item
    is_async: bool
    params: tuple[tuple[str, str], ...]  # (name, type as written); `self` has type "Self"
    body: Node | None
    owner: str | None  # the impl's type, for a method
    entry: str | None  # "tokio::main" / "tokio::test" when so attributed
    runtime: str | None = None  # the runtime that attribute starts (_entry_runtime)

    @property
    def qualname(self) -> str:
        return f"{self.owner}::{self.name}" if self.owner else self.name


@dataclass(eq=False, slots=True)
class StructDef:
    name: str
    node: Node
    fields: tuple[tuple[str, str], ...]  # (name, type as written)


@dataclass(eq=False, slots=True)
class Root:
    """An entry point: run as a task of its own."""

    kind: str  # "tokio::main", "tokio::test", "async fn", "async block"
    node: Node  # the function_item or the async_block
    fn: FnDef | None  # for a fn entry
    enclosing: str  # the name of the fn the code is in, for reports


@dataclass(eq=False, slots=True)
class Index:
    files: list[RustFile] = field(default_factory=list)
    fns: dict[str, list[FnDef]] = field(default_factory=dict)
    methods: dict[tuple[str, str], FnDef] = field(default_factory=dict)
    structs: dict[str, StructDef] = field(default_factory=dict)
    statics: dict[str, tuple[str, Node | None, Node]] = field(default_factory=dict)  # type, value, item
    uses: dict[str, dict[str, str]] = field(default_factory=dict)  # file -> imported name -> full path
    roots: list[Root] = field(default_factory=list)
    lines: int = 0

    def lookup_fn(self, name: str, near: Node | None = None) -> FnDef | None:
        """A free fn by name: the one defined in the same file and closest before `near` when
        there are several."""
        found = self.fns.get(name)
        if not found:
            return None
        if len(found) == 1 or near is None:
            return found[0]
        same = [f for f in found if f.node.file is near.file]
        if not same:
            return found[0]
        enclosing = [f for f in same if f.node.start <= near.start]
        return max(enclosing, key=lambda f: f.node.start) if enclosing else same[0]

    def lookup_method(self, owner: str | None, name: str) -> FnDef | None:
        if owner is not None and (owner, name) in self.methods:
            return self.methods[(owner, name)]
        cands = [f for (_, n), f in self.methods.items() if n == name]
        return cands[0] if len(cands) == 1 else None

    def resolve_path(self, file: RustFile, name: str) -> str:
        """The full path a bare name was imported as in `file` (`Mutex` -> `tokio::sync::Mutex`)."""
        return self.uses.get(file.path, {}).get(name, name)


def expand(node: Node) -> list[Node]:
    """The Rust inside a macro invocation, as expressions (select! arms' futures, guards and
    bodies; any other macro's comma-separated arguments that parse)."""
    name = macro_name(node).rsplit("::", 1)[-1]
    if name in SELECT_MACROS:
        body = select_arms(node)
        return [n for a in body.arms for n in (a.future, a.guard, a.body) if n is not None]
    if name in ("println", "eprintln", "print", "eprint", "format", "write", "writeln", "info", "debug", "warn",
                "error", "trace", "panic", "todo", "unimplemented", "unreachable", "include_str", "concat",
                "stringify", "matches", "macro_rules"):
        return []
    return [n for n in macro_args(node) if n is not None]


def children(node: Node) -> list[Node]:
    """Children for a walk that looks inside macro bodies."""
    if node.type == "macro_invocation":
        return expand(node)
    return node.named


def _is_async_fn(fn: Node) -> bool:
    mods = next((c for c in fn.children if c.type == "function_modifiers"), None)
    return mods is not None and "async" in mods.text.split()


def _entry_runtime(fn: Node) -> str | None:
    """The tokio runtime an entry attribute starts: #[tokio::main] is multi-thread unless it says
    `flavor = "current_thread"`; #[tokio::test] is current-thread unless `flavor = "multi_thread"`."""
    prev = fn.ts.prev_named_sibling
    while prev is not None and prev.type in ("attribute_item", "line_comment", "block_comment"):
        text = (prev.text or b"").decode("utf-8", "replace").replace(" ", "")
        if prev.type == "attribute_item" and ("tokio::main" in text or text == "#[main]"):
            return "current-thread" if 'flavor="current_thread"' in text else "multi-thread"
        if prev.type == "attribute_item" and "tokio::test" in text:
            return "multi-thread" if 'flavor="multi_thread"' in text else "current-thread"
        prev = prev.prev_named_sibling
    return None


def _entry_attr(fn: Node) -> str | None:
    prev = fn.ts.prev_named_sibling
    while prev is not None and prev.type in ("attribute_item", "line_comment", "block_comment"):
        text = (prev.text or b"").decode("utf-8", "replace")
        if prev.type == "attribute_item":
            if "tokio::main" in text or text.replace(" ", "") == "#[main]":
                return "tokio::main"
            if "tokio::test" in text:
                return "tokio::test"
        prev = prev.prev_named_sibling
    return None


def _params(fn: Node) -> tuple[tuple[str, str], ...]:
    ps = fn.field("parameters")
    out: list[tuple[str, str]] = []
    for p in ps.named if ps is not None else []:
        if p.type == "self_parameter":
            out.append(("self", "Self"))
        elif p.type == "parameter":
            pat, ty = p.field("pattern"), p.field("type")
            name = pat.text.removeprefix("mut ").strip() if pat is not None else "_"
            out.append((name, ty.text if ty is not None else ""))
    return tuple(out)


def _impl_type(impl: Node) -> str | None:
    ty = impl.field("type")
    if ty is None:
        return None
    t = ty.text.split("<", 1)[0].strip()
    return t.rsplit("::", 1)[-1]


def _use_paths(node: Node, prefix: str, out: dict[str, str]) -> None:
    """Names a `use` declaration brings in: `use tokio::sync::{Mutex, mpsc};`."""
    t = node.type
    if t in ("identifier", "scoped_identifier", "crate", "self", "super"):
        full = f"{prefix}::{node.text}" if prefix else node.text
        out[full.rsplit("::", 1)[-1]] = full
    elif t == "use_as_clause":
        path, alias = node.field("path"), node.field("alias")
        if path is not None and alias is not None:
            out[alias.text] = f"{prefix}::{path.text}" if prefix else path.text
    elif t == "scoped_use_list":
        path, lst = node.field("path"), node.field("list")
        p = f"{prefix}::{path.text}" if prefix and path is not None else (path.text if path is not None else prefix)
        if lst is not None:
            for c in lst.named:
                _use_paths(c, p, out)
    elif t == "use_list":
        for c in node.named:
            _use_paths(c, prefix, out)


def build(files: list[RustFile]) -> Index:
    """Index every file; then the entry points (NOTE(entry-points))."""
    idx = Index(files=files)
    refs_async: Counter[str] = Counter()  # name -> references from inside async code
    refs: Counter[str] = Counter()
    blocks: list[tuple[Node, str, str | None]] = []  # async blocks outside async code: node, fn name, impl type
    for f in files:
        idx.lines += len(f.line_starts)
        uses = idx.uses.setdefault(f.path, {})
        # (node, in_async, enclosing fn name, impl type)
        stack: list[tuple[Node, bool, str, str | None]] = [(f.root, False, "", None)]
        while stack:
            node, in_async, fname, owner = stack.pop()
            t = node.type
            if t == "function_item":
                name_n = node.field("name")
                name = name_n.text if name_n is not None else "?"
                is_async = _is_async_fn(node)
                d = FnDef(name, node, is_async, _params(node), node.field("body"), owner, _entry_attr(node),
                           _entry_runtime(node))
                if owner is not None:
                    idx.methods[(owner, name)] = d
                idx.fns.setdefault(name, []).append(d)
                if d.body is not None:
                    stack.append((d.body, is_async, name, owner))
                continue
            if t == "impl_item":
                body = node.field("body")
                if body is not None:
                    stack.append((body, False, fname, _impl_type(node)))
                continue
            if t == "struct_item":
                name_n, body = node.field("name"), node.field("body")
                fields: list[tuple[str, str]] = []
                if body is not None:
                    for fd in body.named:
                        if fd.type == "field_declaration":
                            fn_, ty = fd.field("name"), fd.field("type")
                            if fn_ is not None and ty is not None:
                                fields.append((fn_.text, ty.text))
                if name_n is not None:
                    idx.structs[name_n.text] = StructDef(name_n.text, node, tuple(fields))
                continue
            if t == "static_item" or t == "const_item":
                name_n, ty = node.field("name"), node.field("type")
                if name_n is not None:
                    idx.statics[name_n.text] = (ty.text if ty is not None else "", node.field("value"), node)
                continue
            if t == "use_declaration":
                arg = node.field("argument")
                if arg is not None:
                    _use_paths(arg, "", uses)
                continue
            if t in ("line_comment", "block_comment", "attribute_item", "inner_attribute_item", "string_literal"):
                continue
            if t in ("identifier", "field_identifier"):
                refs[node.text] += 1
                if in_async:
                    refs_async[node.text] += 1
                continue
            if t == "async_block" and not in_async:
                blocks.append((node, fname, owner))
            inner = in_async or t == "async_block"
            stack.extend((c, inner, fname, owner) for c in reversed(children(node)))
    # NOTE(entry-points): a root is run as a task of its own: a #[tokio::main] or #[tokio::test]
    # fn; an async fn nothing in the scanned code names (so nothing here awaits it); an async
    # block outside async code whose fn no async code names (block_on(async {..}), a Box::pin'd
    # closure body handed to a harness). Everything reachable from a root is inlined into its
    # model, including the tasks it spawns.
    for defs in idx.fns.values():
        for d in defs:
            if d.entry is not None:
                idx.roots.append(Root(d.entry, d.node, d, d.name))
            elif d.is_async and refs[d.name] == 0 and d.body is not None:
                idx.roots.append(Root("async fn", d.node, d, d.qualname))
    for node, fname, owner in blocks:
        if fname and refs_async[fname] > 0:
            continue
        idx.roots.append(Root("async block", node, None, f"{owner}::{fname}" if owner else (fname or "<top level>")))
    idx.roots.sort(key=lambda r: (r.node.file.path, r.node.start))
    return idx
