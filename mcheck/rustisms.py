"""Rust that the model language does not take, recognised where a model fails to parse.

A user transcribing tokio code types Rust first: `?`, generics, `#[tokio::main]`, `use`, type
annotations. parse.py asks `explain` about the place lark stopped at, and resolve.py asks
`macro_hint` about an unknown macro; each answer names the construct and says how to model it.
This module reads only the source text (its own small Rust lexer), never lark's objects, and it
does not decide what parses: the grammar does. docs/language.md's "Coming from Rust" is its table.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from mcheck.source import Source, Span


@dataclass(frozen=True, slots=True)
class Tok:
    kind: str  # ident, lifetime, string, char, float, int, punct
    text: str
    line: int
    col: int
    depth: int  # how many '{' are open before it: 0 at the top level of the file

    @property
    def span(self) -> Span:
        return Span(self.line, self.col, self.line, self.col + len(self.text))


@dataclass(frozen=True, slots=True)
class Hint:
    span: Span
    message: str


_LEXEME = re.compile(
    r"""(?P<ws>\s+|//[^\n]*|/\*(?:.|\n)*?\*/)
      | (?P<string>b?"(?:[^"\\]|\\.)*"?|r\#*"[^"]*"?)
      | (?P<char>'(?:[^'\\\n]|\\[^\n]{1,8})')
      | (?P<lifetime>'[A-Za-z_][A-Za-z0-9_]*)
      | (?P<float>[0-9][0-9_]*\.[0-9][0-9_]*(?:[eE][+-]?[0-9]+)?(?:f32|f64)?|[0-9][0-9_]*(?:f32|f64))
      | (?P<int>[0-9][0-9_]*)
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<punct>::|->|=>|==|!=|<=|>=|&&|\|\||\+=|-=|\.\.=?|\S)""",
    re.VERBOSE,
)


def tokens(text: str) -> list[Tok]:
    """The Rust tokens of text, with their line, column and brace depth (comments skipped)."""
    out: list[Tok] = []
    line, line_start, depth = 1, 0, 0
    for m in _LEXEME.finditer(text):
        kind = m.lastgroup or "punct"
        if kind != "ws":
            if m.group() == "}":
                depth = max(0, depth - 1)
            out.append(Tok(kind, m.group(), line, m.start() - line_start + 1, depth))
            if m.group() == "{":
                depth += 1
        newlines = m.group().count("\n")
        if newlines:
            line += newlines
            line_start = m.start() + m.group().rindex("\n") + 1
    return out


def _at(toks: list[Tok], line: int, col: int) -> int | None:
    """The index of the token that covers (line, col), or of the first one after it."""
    for i, t in enumerate(toks):
        if (t.line, t.col + len(t.text)) > (line, col):
            return i
    return None


class _View:
    """The tokens around the failing one: `rel(k)` is the token k places after it (before, if k < 0)."""

    def __init__(self, toks: list[Tok], i: int) -> None:
        self.toks, self.i = toks, i

    def rel(self, k: int) -> Tok | None:
        j = self.i + k
        return self.toks[j] if 0 <= j < len(self.toks) else None

    def text(self, k: int) -> str:
        t = self.rel(k)
        return t.text if t is not None else ""

    def at(self, k: int) -> Span:
        """Where token k is (the failing token's place, if there is none)."""
        t = self.rel(k)
        return (t or self.tok).span

    def kind(self, k: int) -> str:
        t = self.rel(k)
        return t.kind if t is not None else ""

    @property
    def tok(self) -> Tok:
        return self.toks[self.i]

    def span_to(self, k: int, end_text: str) -> Span:
        """From token k to the first token `end_text` after it at the same nesting (or the line's end)."""
        start = self.rel(k) or self.tok
        level = 0
        for t in self.toks[self.toks.index(start):]:
            if t.text in ("(", "[", "{", "<") and t is not start:
                level += 1
            elif t.text in (")", "]", "}", ">") and level > 0:
                level -= 1
            elif t.text == end_text and level == 0 and t is not start:
                return Span(start.line, start.col, t.line, t.col + len(t.text))
            if t.line != start.line:
                break
        return start.span

    def after_fn_signature(self) -> bool:
        """Whether the failing token follows `fn NAME(...)` (a return type or where clause goes there)."""
        if self.text(-1) != ")":
            return False
        level = 0
        for j in range(self.i - 1, -1, -1):
            t = self.toks[j].text
            level += {")": 1, "(": -1}.get(t, 0)
            if level == 0:
                return j >= 2 and self.toks[j - 2].text == "fn"
        return False

    def in_params(self) -> bool:
        """Whether the failing token is inside the parentheses of `fn NAME(...)`."""
        level = 0
        for j in range(self.i - 1, -1, -1):
            t = self.toks[j].text
            if t in (")", "]"):
                level += 1
            elif t in ("(", "["):
                if level == 0:
                    return t == "(" and j >= 2 and self.toks[j - 2].text == "fn"
                level -= 1
            elif t in ("{", "}", ";"):
                return False
        return False


RUNTIME_HINT = ("a model's entry point is `task main { ... }`; its runtime is a header comment: "
                "`// runtime: multi-thread` for `#[tokio::main]`, `// runtime: current-thread` for "
                "`flavor = \"current_thread\"` and `#[tokio::test]`")
EARLY_EXIT = "`if choose() { return; }`"

# What a top-level keyword introduces, and how to model it.
_ITEMS: dict[str, str] = {
    "use": "`use` declarations: a model imports nothing; write the names directly (`Mutex::new()`; "
           "the `tokio::`, `tokio::sync::`, `mpsc::` and `futures::` prefixes are accepted and ignored)",
    "extern": "`extern crate`: a model imports nothing; remove it",
    "mod": "modules (`mod`): a model is one file; put the resources, async fns and tasks at its top level",
    "const": "`const` items: write the number where it is used (`sleep(10)`, `Semaphore::new(3)`); "
             "a resource is `let NAME = Mutex::new();` at the top level",
    "static": "`static` items: declare a resource with `let NAME = Mutex::new();` at the top level "
              "(every task and async fn can name it); write a constant number where it is used",
    "trait": "traits: a model has no traits or generics; write one async fn for the implementation "
             "you check, taking the concrete resources it uses",
    "impl": "`impl` blocks other than `impl Name { async fn m(&self, ..) { .. } }` for a `struct Name` of "
            "resources are not supported: write the method as a top-level `async fn` that takes the resources "
            "it uses as parameters (`async fn claim(pool: Semaphore)`)",
    "pub": "visibility (`pub`): everything in a model is visible everywhere; remove `pub`",
    "type": "type aliases: write the resource kind (`Mutex`, `Semaphore`, `RwLock`, ...) where it is used",
    "macro_rules": "macro definitions: write out what the macro expands to",
    "union": "unions: a model has no data types; values are abstracted",
}

# Macros a model does not take, and what to do instead (resolve.py asks about unknown ones).
_OUTPUT = "does nothing a model can see: remove it"
_PANIC = f"a panic is not modelled: write the path that panics as {EARLY_EXIT} (or remove it)"
_MACROS: dict[str, str] = {
    **{m: f"`{m}!` {_OUTPUT}" for m in ("println", "print", "eprintln", "eprint", "dbg", "write", "writeln",
                                        "trace", "debug", "info", "warn", "error", "event")},
    "format": "`format!` builds a string, which a model does not have: remove it",
    **{m: f"`{m}!` checks values, which a model abstracts: remove it" for m in (
        "assert", "assert_eq", "assert_ne", "debug_assert", "debug_assert_eq", "debug_assert_ne", "matches")},
    **{m: f"`{m}!`: {_PANIC}" for m in ("panic", "unreachable", "todo", "unimplemented")},
    "vec": "`vec![...]`: write a list `[f, g]` where one is taken (`join_all([f, g])`, `stream::iter([f, g])`)",
    "try_join": "`try_join!`: errors are not modelled; write `join!(...)`",
    "pin": "`pin!(f)` as a statement is `tokio::pin!(f);`; as a value, `pin!(f)` means `f`",
}


def macro_hint(name: str) -> str | None:
    """How to model an unknown macro `name!` (the last segment of its path), if it is a known one."""
    return _MACROS.get(name)


def _top_level(v: _View) -> Hint | None:
    t = v.tok
    if t.depth != 0:
        return None
    if t.text == "fn" or (t.text in ("pub", "unsafe") and v.text(1) == "fn"):
        name = v.text(2 if t.text == "fn" else 3)
        if name == "main":
            return Hint(t.span, f"a plain `fn main`: {RUNTIME_HINT}")
        head = [x.text for x in v.toks[v.i:v.i + 40]]
        if "{" in head and any(head[j:j + 3] == ["->", "impl", "Future"] for j in range(head.index("{"))):
            return Hint(t.span, "`fn ... -> impl Future`: write it as an `async fn` whose body is the "
                                "async block's")
        return Hint(t.span, "a plain (non-async) `fn`: only `async fn` is modelled; inline what it does where "
                            "it is called, or make it an `async fn` if it awaits")
    if t.text in ("unsafe", "async") and v.text(1) in ("impl", "trait"):
        return Hint(t.span, _ITEMS[v.text(1)])
    if t.text in _ITEMS:
        return Hint(v.span_to(0, ";") if t.text in ("use", "extern") else t.span, _ITEMS[t.text])
    return None


def _attribute(v: _View) -> Hint | None:
    if v.text(0) != "#":
        return None
    k = 2 if v.text(1) == "!" else 1
    span = v.span_to(k, "]") if v.text(k) == "[" else v.tok.span
    inner = v.text(k + 1), v.text(k + 2), v.text(k + 3)
    span = Span(v.tok.line, v.tok.col, span.end_line, span.end_col)
    if inner[0] == "tokio" and inner[1] == "::" and inner[2] in ("main", "test"):
        return Hint(span, f"attribute `#[tokio::{inner[2]}]`: {RUNTIME_HINT}")
    return Hint(span, "attributes (`#[...]`) are not part of the model language: remove it")


def _question(v: _View) -> Hint | None:
    if v.text(0) != "?":
        return None
    return Hint(v.tok.span, "the `?` operator: a model has no errors (`.await` gives no value); write the "
                            f"failure path as {EARLY_EXIT}")


def _variant_in_some(v: _View) -> Hint | None:
    """`Some(Request::Claim(tx)) = rx.recv()`: a variant pattern inside Some is not taken."""
    if v.text(0) != "::" or v.text(-2) != "(" or v.text(-3) != "Some":
        return None
    return Hint(v.at(-1), "a variant pattern inside `Some(..)` is not taken: bind the message and match it, "
                          "`Some(v) = rx.recv() => { match v { .. } }` (or `while let Some(v) = rx.recv().await "
                          "{ match v { .. } }`); tokio drops a message whose pattern does not match")


def _literal(v: _View) -> Hint | None:
    t = v.tok
    if t.kind == "string":
        macro = v.text(-3) if v.text(-2) == "!" and v.text(-1) in ("(", "[", "{") else None
        if macro is not None and macro in _MACROS:
            return Hint(v.at(-3), _MACROS[macro])
        if v.text(-1) == "(" and v.text(-2) == "expect" and v.text(-3) == ".":
            return Hint(v.at(-2), "`.expect(..)`: a model has no errors; write `x.await` (`.unwrap()` "
                                        f"after `.await` is accepted and ignored), and a failure path as {EARLY_EXIT}")
        return Hint(t.span, "string literals: a model has no text (values are abstracted); remove the string")
    if t.kind == "float":
        return Hint(t.span, "float literals: a model's numbers are whole; durations are milliseconds "
                            "(`sleep(1500)` or `Duration::from_millis(1500)` for 1.5 s)")
    if t.kind == "char":
        return Hint(t.span, "character literals: a model has no text (values are abstracted); remove it")
    return None


def _lifetime(v: _View) -> Hint | None:
    t = v.tok
    if t.kind != "lifetime":
        return None
    if (v.text(1) == ":" and v.text(2) in ("loop", "while", "for")) or v.text(-1) in ("break", "continue"):
        return Hint(t.span, "loop labels: `break` and `continue` leave the innermost loop; set an integer "
                            "variable (`let mut stop = 0;` ... `stop = 1; break;`) and test it in the outer loop")
    return Hint(t.span, "lifetimes: a model has no references to annotate; remove them (resources are "
                        "named directly: `m: Mutex`)")


def _generics(v: _View) -> Hint | None:
    if v.text(0) != "<":
        return None
    if v.kind(1) == "lifetime":
        return _lifetime(_View(v.toks, v.i + 1))
    if v.text(-2) == "fn":
        return Hint(v.span_to(0, ">"), "generic parameters: a model has no type parameters; name the concrete "
                                       "resource instead (`async fn f(m: Mutex)`)")
    if v.text(-1) == "::":
        return Hint(v.span_to(0, ">"), "type arguments (`::<...>`): a model has no data types; remove them "
                                       "(`mpsc::channel(1)`)")
    if v.text(-1) == "Box" and v.text(1) == "dyn":
        return Hint(v.at(-1), "`Box<dyn ...>`: a model has no trait objects; bind the concrete future "
                                    "(`let f = sleep(10);`) or pass the concrete resource")
    if v.kind(-1) == "ident":
        return Hint(v.at(-1), f"type arguments (`{v.text(-1)}<...>`): a model has no data types; write "
                                    "the resource kind alone (`m: Mutex`, `s: Semaphore`), which is shared as "
                                    "through an `Arc`")
    return None


def _signature(v: _View) -> Hint | None:
    if v.text(0) == "->" and v.after_fn_signature():
        if v.text(1) == "impl" and v.text(2) == "Future":
            return Hint(v.tok.span, "`fn ... -> impl Future`: write it as an `async fn` whose body is the "
                                    "async block's")
        return Hint(v.tok.span, "return types: an async fn returns nothing in a model (values are abstracted), "
                                "or a guard it holds (`-> MutexGuard`, `-> SemaphorePermit`, ...); otherwise "
                                f"remove `-> ...`, and write a failure path as {EARLY_EXIT}")
    if v.text(0) == "where" and v.after_fn_signature():
        return Hint(v.tok.span, "`where` clauses: a model has no generics; name the concrete resource types")
    return None


def _params(v: _View) -> Hint | None:
    if not v.in_params():
        return None
    if v.text(0) == "&" or v.text(0) == "self":
        if "self" in (v.text(0), v.text(1), v.text(2)):
            return Hint(v.tok.span, "`self` parameters are not supported: write the method as an async fn "
                                    "that takes the resources it uses (`async fn claim(pool: Semaphore)`)")
        return Hint(v.tok.span, "references in parameter types: write the resource kind alone (`m: Mutex`); "
                                "a resource is shared by name, as through `&` or an `Arc`")
    if v.text(-1) in ("impl", "dyn"):
        return Hint(v.at(-1), f"`{v.text(-1)} Trait` parameter types: a model has no trait objects or "
                                    "generics; pass the resources the future uses and call the async fn inside")
    return None


def _statement(v: _View) -> Hint | None:
    t, prev = v.tok, v.text(-1)
    if prev == "unsafe":
        return Hint(v.at(-1), "`unsafe` blocks: unsafe code does nothing a model can see; write the "
                                    "block without `unsafe`")
    if prev == "return" and t.text != ";":
        return Hint(v.at(-1), "`return` with a value: a model's async fns and tasks return nothing "
                                    "(values are abstracted) but a guard (`return g;`); write `return;`")
    if prev == "break" and t.text not in (";", "}", ","):
        return Hint(v.at(-1), "`break` with a value: values are abstracted; write `break;`")
    if prev == "loop" and v.text(-2) == "=":
        return Hint(v.at(-1), "a `loop` used as a value: values are abstracted; write the loop as a "
                                    "statement and `break;`")
    if t.text == ":" and (v.text(-2) == "let" or (v.text(-2) == "mut" and v.text(-3) == "let")):
        return Hint(v.span_to(0, "="), "type annotations on `let`: a local's kind comes from its value "
                                       "(`let f = sleep(10);`, `let mut n = 0;`); remove `: ...`")
    if t.text in ("|", "||") and prev in ("async", "move"):
        k = -2 if prev == "move" and v.text(-2) == "async" else -1
        return Hint(v.at(k), "async closures (`async move |..|`): write an async fn and call it, or an "
                             "`async move { ... }` block")
    if t.text == "}" and (prev == "await" or prev == ")"):
        end = v.rel(-1)
        assert end is not None
        return Hint(Span(end.line, end.col + len(end.text), end.line, end.col + len(end.text) + 1),
                    "expected ';' after the block's last expression: a model's blocks have no value (nothing "
                    "is returned), so every statement ends in ';' (`f().await; }`)")
    if (v.kind(0) == "ident" and v.text(-1) == ".." and v.text(-3) == "in") or (
            v.kind(0) == "ident" and v.text(1) == ".." and v.text(-1) == "in" and v.text(-3) == "for"):
        return Hint(t.span, "`for` bounds are number literals; for a bound in a variable, count with "
                            "`let mut i = 0; while i < n { ...; i += 1; }`")
    if t.text == "." and prev == "}":
        if _opening_keyword(v) in ("async", "move"):
            return Hint(t.span, "a method on an async block (`.instrument(..)`, `.boxed()`): write the block "
                                "alone (`spawn(async move { ... })`); what the method adds is not modelled")
    if t.text == "{" and prev in ("|", "||"):
        return Hint(t.span, "a closure with a block body: closures are `|i| FUTURE` and `|| FUTURE` where "
                            "docs/language.md lists them (`.map(|i| work(i))`, `get_or_init(|| ...)`); for more, "
                            "write an async fn or an `async { ... }` block")
    if t.text == "," and prev != "" and v.text(-2) == "|":
        return Hint(v.at(-2), "closures take at most one parameter in a model (`|i| work(i)`)")
    if t.text == "*":
        operand = v.rel(-1)
        if operand is not None and (operand.kind in ("ident", "int") or operand.text == ")"):
            return Hint(t.span, "multiplication: a model's integers have only `+` and `-`")
        return Hint(t.span, "dereferencing (`*x`): a model has no references; assign an integer variable "
                            "directly (`n += 1;`), and a guard needs no `*`")
    if prev == "&" and t.text != "mut":
        return Hint(v.at(-1), "shared references (`&x`): pass a resource by name (`f(m)`); `&mut f` "
                                    "borrows a future (a `select!` branch, `(&mut f).await`)")
    if t.text == "as":
        return Hint(t.span, "casts (`as`): a model's integers have no types; remove `as ...`")
    if t.text == "[" and prev == "!" and v.text(-2) in _MACROS:
        return Hint(v.at(-2), _MACROS[v.text(-2)])
    return None


def _opening_keyword(v: _View) -> str:
    """The token before the '{' that the '}' just before the failing token closes."""
    level = 0
    for j in range(v.i - 1, -1, -1):
        level += {"}": 1, "{": -1}.get(v.toks[j].text, 0)
        if level == 0:
            return v.toks[j - 1].text if j > 0 else ""
    return ""


_RULES: tuple[Callable[[_View], Hint | None], ...] = (
    _variant_in_some, _attribute, _question, _literal, _lifetime, _generics, _signature, _params, _top_level, _statement,
)


def explain(source: Source, line: int, col: int) -> Hint | None:
    """What Rust construct the model has where parsing stopped at (line, col), and how to model it."""
    toks = tokens(source.text)
    i = _at(toks, line, col)
    if i is None:
        return None
    view = _View(toks, i)
    for rule in _RULES:
        hint = rule(view)
        if hint is not None:
            return hint
    return None


# Calls a model does not take, by the last segment of their path (resolve.py asks about unknown ones).
_CALLS: dict[str, str] = {
    "spawn_blocking": "`spawn_blocking`: a model has no blocking code, which runs outside tokio's tasks; "
                      "leave it out, or spawn a task that sleeps for as long (`spawn(async { sleep(10).await; })`)",
    "spawn_local": "`spawn_local` is `spawn` on a `LocalSet`: write `spawn(...)` and the header "
                   "`// runtime: current-thread`",
    "block_in_place": "`block_in_place`: a model has no blocking code; leave it out",
    "block_on": f"`block_on`: write what it runs as `task main {{ ... }}`; {RUNTIME_HINT.split('; ', 1)[1]}",
}


def call_hint(name: str) -> str | None:
    """How to model a call of an unknown function `name` (the last segment of its path)."""
    return _CALLS.get(name)


def value_hint(text: str) -> str | None:
    """How to model an expression written where a name, a number or a future belongs."""
    words = [t.text for t in tokens(text)]
    if words[:1] == ["&"]:
        return (f"'{text}': pass a resource by name (`f(m)`), as through `&` or an `Arc`; `&mut f` borrows a "
                "future (a `select!` branch, `(&mut f).await`)")
    if any(words[j:j + 2] == [".", "await"] for j in range(len(words))):
        return (f"'{text}': what `.await` gives is a value (`.len()`, `.clone()`, `.is_ok()` on it), and a model "
                "has none; bind a guard (`let g = m.lock().await;`) and branch on `choose()` (a lone `.unwrap()` "
                "after `.await` is accepted and ignored)")
    if words[:3] == ["Handle", "::", "current"] or words[:3] == ["Runtime", "::", "new"]:
        return f"'{text}': a model has one runtime: write `spawn(...)` for `handle.spawn(...)`"
    return None


# Resources a model does not have yet, by the text of their constructor, and what to write instead.
_BLOCKING = ("blocks the worker thread and is not modelled; a guard never held across an `.await` does nothing "
             "a model can see: leave it out")
_RESOURCES: tuple[tuple[str, str], ...] = (
    ("std::sync::Mutex", f"a `std::sync::Mutex` {_BLOCKING}"),
    ("parking_lot::Mutex", f"a `parking_lot::Mutex` {_BLOCKING}"),
    ("std::sync::RwLock", f"a `std::sync::RwLock` {_BLOCKING}"),
    ("watch::channel", "`tokio::sync::watch` is not modelled yet; a `Notify` (`notify_waiters()` / `notified()`) "
                       "models its change notifications"),
    ("broadcast::channel", "`tokio::sync::broadcast` is not modelled yet; one bounded `channel(n)` per receiver "
                           "models each receiver's queue"),
    ("Arc::new", "`Arc::new(..)`: declare the resource itself at the top level (`let m = Mutex::new();`); "
                 "every task and async fn names it, as through an `Arc`"),
)


def resource_hint(text: str) -> str | None:
    """How to model a top-level `let` whose constructor is not a model resource."""
    squeezed = "".join(text.split())
    for ctor, how in _RESOURCES:
        if ctor in squeezed:
            return f"'{text}': {how}"
    return None
