"""Rust source as syntax trees: tree-sitter's Rust grammar, and macro bodies re-parsed as Rust.

The first phase of `mcheck scan`: the only module that imports tree-sitter. A macro invocation is
one flat token tree to tree-sitter; `macro_pieces` splits it at its top-level `=>` and `,` and
parses each piece as a Rust expression, so later phases see `&mut fut` and every `.await` in a
`select!` arm. Every node (`Node`) keeps its place in the original file. Bad input (unreadable,
not UTF-8, unparsable) is a located `RustError`, never a traceback.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import tree_sitter
import tree_sitter_rust

from mcheck.errors import Diagnostic, MCheckError, Severity
from mcheck.source import Source, Span

_LANGUAGE = tree_sitter.Language(tree_sitter_rust.language())

MAX_FILE_BYTES = 8 << 20
"""The largest Rust file read: generated code beyond this is not worth modelling."""


class RustError(MCheckError):
    """A Rust file that cannot be scanned: unreadable, not UTF-8, or not parsable."""

    def __init__(self, source: Source | None, path: str, diagnostic: Diagnostic) -> None:
        self.source = source
        self.path = path
        self.diagnostic = diagnostic
        super().__init__(diagnostic.message)

    def render(self) -> str:
        if self.source is None:
            return f"{self.path}: error: {self.diagnostic.message}"
        return self.diagnostic.render(self.source)


@dataclass(eq=False, slots=True)
class RustFile:
    """One parsed file: its text (as bytes, which tree-sitter's offsets index) and line starts."""

    path: str  # as shown in reports: relative to the scanned directory when one was given
    source: Source
    data: bytes
    tree: tree_sitter.Tree
    line_starts: list[int] = field(default_factory=list)

    def span(self, start: int, end: int) -> Span:
        l1, c1 = self.position(start)
        l2, c2 = self.position(end)
        return Span(l1, c1, l2, c2)

    def position(self, offset: int) -> tuple[int, int]:
        """1-based line and column (in characters) of byte `offset`."""
        i = bisect.bisect_right(self.line_starts, offset) - 1
        col = len(self.data[self.line_starts[i]:offset].decode("utf-8", "replace")) + 1
        return i + 1, col

    @property
    def root(self) -> Node:
        return Node(self.tree.root_node, 0, self)


@dataclass(frozen=True, slots=True)
class Loc:
    """A place in the Rust source: what every model line's `// from` comment names."""

    path: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


class Node:
    """A tree-sitter node and the byte offset of the tree it came from inside its file (0 for the
    file's own tree, the piece's place for a re-parsed macro piece)."""

    __slots__ = ("delta", "file", "ts")

    def __init__(self, ts: tree_sitter.Node, delta: int, file: RustFile) -> None:
        self.ts = ts
        self.delta = delta
        self.file = file

    @property
    def type(self) -> str:
        return self.ts.type

    @property
    def start(self) -> int:
        return self.ts.start_byte + self.delta

    @property
    def end(self) -> int:
        return self.ts.end_byte + self.delta

    @property
    def text(self) -> str:
        return self.file.data[self.start:self.end].decode("utf-8", "replace")

    @property
    def loc(self) -> Loc:
        line, col = self.file.position(self.start)
        return Loc(self.file.path, line, col)

    @property
    def span(self) -> Span:
        return self.file.span(self.start, self.end)

    def _wrap(self, n: tree_sitter.Node | None) -> Node | None:
        return None if n is None else Node(n, self.delta, self.file)

    @property
    def children(self) -> list[Node]:
        return [Node(c, self.delta, self.file) for c in self.ts.children]

    @property
    def named(self) -> list[Node]:
        """Named children, without comments."""
        return [Node(c, self.delta, self.file) for c in self.ts.named_children
                if c.type not in ("line_comment", "block_comment")]

    def field(self, name: str) -> Node | None:
        return self._wrap(self.ts.child_by_field_name(name))

    def fields(self, name: str) -> list[Node]:
        return [Node(c, self.delta, self.file) for c in self.ts.children_by_field_name(name)]

    @property
    def parent(self) -> Node | None:
        return self._wrap(self.ts.parent)

    def walk(self) -> Iterator[Node]:
        """This node and every descendant, in source order (macro bodies stay token trees)."""
        stack = [self.ts]
        while stack:
            n = stack.pop()
            yield Node(n, self.delta, self.file)
            stack.extend(reversed(n.children))

    def __repr__(self) -> str:
        return f"Node({self.type} {self.loc})"


def read_rust(path: str, shown: str | None = None, max_bytes: int = MAX_FILE_BYTES) -> RustFile:
    """Read and parse one Rust file; a RustError says what is wrong and where."""
    name = shown or path
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise RustError(None, name, Diagnostic(Severity.ERROR, f"cannot read '{name}': {e.strerror or e}", None)) \
            from None
    if len(data) > max_bytes:
        raise RustError(None, name, Diagnostic(Severity.ERROR, f"'{name}' is larger than {max_bytes:,} bytes, the most "
                                               "mcheck scan reads", None))
    return parse_rust(name, data)


def parse_rust(name: str, data: bytes) -> RustFile:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        shown = Source(name, data.decode("utf-8", "replace"))
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise RustError(shown, name, Diagnostic(Severity.ERROR, f"not valid UTF-8 (byte 0x{data[e.start]:02x}); "
                                                "save the file as UTF-8", Span(line, col, line, col + 1))) from None
    tree = tree_sitter.Parser(_LANGUAGE).parse(data)
    starts = [0] + [m.end() for m in re.finditer(b"\n", data)]
    rf = RustFile(name, Source(name, text), data, tree, starts)
    if tree.root_node.has_error:
        bad = _first_error(tree.root_node)
        span = rf.span(bad.start_byte, max(bad.end_byte, bad.start_byte + 1))
        if bad.is_missing:
            message = f"cannot parse Rust: expected '{bad.type}' here"
        else:
            token = data[bad.start_byte:bad.end_byte].decode("utf-8", "replace").split("\n")[0][:20]
            message = f"cannot parse Rust: unexpected '{token}'" if token else "cannot parse Rust: unexpected end of file"
        span = Span(span.line, span.col, span.line, span.end_col if span.end_line == span.line else span.col + 1)
        raise RustError(rf.source, name, Diagnostic(Severity.ERROR, message + " (mcheck scan reads code that compiles)",
                                                    span))
    return rf


def _first_error(n: tree_sitter.Node) -> tree_sitter.Node:
    stack = [n]
    while stack:
        c = stack.pop()
        if c.type == "ERROR" or c.is_missing:
            inner = [k for k in c.children if k.has_error or k.is_missing or k.type == "ERROR"]
            return _first_error(inner[0]) if inner and c.type != "ERROR" else c
        stack.extend(reversed([k for k in c.children if k.has_error or k.is_missing]))
    return n


# ---- macro bodies ----

_PREFIX = b"fn __mcheck_piece() { ("
_SUFFIX = b"\n); }"


def parse_piece(file: RustFile, start: int, end: int) -> Node | None:
    """The bytes [start, end) of `file` parsed as one Rust expression, its positions those of the
    file; None when they are not one (a pattern such as `Some(x)` parses as a call, which is fine)."""
    snippet = _PREFIX + file.data[start:end] + _SUFFIX
    tree = tree_sitter.Parser(_LANGUAGE).parse(snippet)
    fn = tree.root_node.children[0] if tree.root_node.children else None
    body = fn.child_by_field_name("body") if fn is not None else None
    if body is None or tree.root_node.has_error:
        return None
    for c in body.named_children:
        inner = c.named_children[0] if c.type == "expression_statement" and c.named_children else c
        if inner.type == "parenthesized_expression" and inner.named_children:
            return Node(inner.named_children[0], start - len(_PREFIX), file)
    return None


@dataclass(frozen=True, slots=True)
class Token:
    """A top-level token of a macro body: its text and bytes (a nested token tree is one token)."""

    text: str
    start: int
    end: int
    tree: bool  # a (...) / [...] / {...} group


def macro_tokens(invocation: Node) -> list[Token]:
    """The top-level tokens between the delimiters of a macro invocation's token tree."""
    tt = next((c for c in invocation.children if c.type == "token_tree"), None)
    if tt is None:
        return []
    inner = tt.children[1:-1]
    return [Token(c.text, c.start, c.end, c.type == "token_tree") for c in inner
            if c.type not in ("line_comment", "block_comment")]


def split_commas(tokens: list[Token]) -> list[list[Token]]:
    out: list[list[Token]] = [[]]
    for t in tokens:
        if t.text == "," and not t.tree:
            out.append([])
        else:
            out[-1].append(t)
    return [p for p in out if p]


def piece(file: RustFile, tokens: list[Token]) -> Node | None:
    return parse_piece(file, tokens[0].start, tokens[-1].end) if tokens else None


def macro_args(invocation: Node) -> list[Node | None]:
    """The comma-separated arguments of `join!(a, b)`, `vec![x, y]`, `pin!(f)`, as expressions."""
    return [piece(invocation.file, p) for p in split_commas(macro_tokens(invocation))]


@dataclass(frozen=True, slots=True)
class Arm:
    """One `PAT = FUTURE [, if COND] => BODY` branch of a select! (or `else =>`, `complete =>`)."""

    pattern: str  # "_", a name, "else", "complete", "default"
    future: Node | None
    guard: Node | None
    body: Node | None
    at: Loc


@dataclass(frozen=True, slots=True)
class SelectBody:
    biased: bool
    arms: tuple[Arm, ...]
    unparsed: tuple[Loc, ...]  # pieces that were not Rust expressions


def select_arms(invocation: Node) -> SelectBody:
    """Split a select! body at its top-level `=>` and `,`: `biased;`, `, if` guards, `else`,
    `complete`, bodies that are blocks or expressions ending at a comma."""
    file = invocation.file
    toks = macro_tokens(invocation)
    biased = False
    if len(toks) >= 2 and toks[0].text == "biased" and toks[1].text == ";":
        biased = True
        toks = toks[2:]
    arms: list[Arm] = []
    unparsed: list[Loc] = []
    i = 0
    while i < len(toks):
        arrow = next((j for j in range(i, len(toks)) if toks[j].text == "=>" and not toks[j].tree), None)
        if arrow is None:
            break
        head = toks[i:arrow]
        # The body: one token tree `{...}` (then an optional comma), or tokens up to the next comma.
        j = arrow + 1
        if j < len(toks) and toks[j].tree and toks[j].text.startswith("{"):
            body_toks = [toks[j]]
            j += 1
            if j < len(toks) and toks[j].text == ",":
                j += 1
        else:
            k = j
            while k < len(toks) and not (toks[k].text == "," and not toks[k].tree):
                k += 1
            body_toks = toks[j:k]
            j = k + 1
        at = Loc(file.path, *file.position(head[0].start)) if head else Loc(file.path, *file.position(toks[arrow].start))
        body = piece(file, body_toks)
        if body_toks and body is None:
            unparsed.append(Loc(file.path, *file.position(body_toks[0].start)))
        if len(head) == 1 and head[0].text in ("else", "complete", "default"):
            arms.append(Arm(head[0].text, None, None, body, at))
            i = j
            continue
        eq = next((k for k, t in enumerate(head) if t.text == "=" and not t.tree), None)
        if eq is None:
            unparsed.append(at)
            i = j
            continue
        pat = "".join(t.text for t in head[:eq]).strip()
        rest = head[eq + 1:]
        guard_at = next((k for k in range(len(rest) - 1) if rest[k].text == "," and rest[k + 1].text == "if"), None)
        fut_toks = rest if guard_at is None else rest[:guard_at]
        guard = piece(file, rest[guard_at + 2:]) if guard_at is not None else None
        fut = piece(file, fut_toks)
        if fut is None:
            unparsed.append(at)
        arms.append(Arm(pat, fut, guard, body, at))
        i = j
    return SelectBody(biased, tuple(arms), tuple(unparsed))


def macro_name(invocation: Node) -> str:
    """`tokio::select` -> `tokio::select`; the path before the `!`."""
    m = invocation.field("macro")
    return m.text if m is not None else ""
