"""Syntax tree of a model file, as written (parse.py builds it; resolve.py checks it).

Nodes are frozen dataclasses; each carries a `span` excluded from equality so tests can compare
structure. Nothing here knows what a name means: `m.lock()` is just a method call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from mcheck.source import Span

# ---- expressions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Name:
    path: tuple[str, ...]
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class IntLit:
    value: int
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Unit:
    """`()`, as in `ready(())`: a value, which the model abstracts."""

    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Call:
    path: tuple[str, ...]
    args: tuple[Expr, ...]
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class MacroCall:
    path: tuple[str, ...]
    args: tuple[Expr, ...]
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class MethodCall:
    receiver: Expr
    method: str
    args: tuple[Expr, ...]
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Await:
    value: Expr
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Borrow:
    """`&mut e`."""

    value: Expr
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class AsyncBlock:
    body: Block
    span: Span | None = field(default=None, compare=False)


class BinOp(Enum):
    OR = "||"
    AND = "&&"
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    EQ = "=="
    NE = "!="
    ADD = "+"
    SUB = "-"


COMPARISONS = frozenset({BinOp.LT, BinOp.LE, BinOp.GT, BinOp.GE, BinOp.EQ, BinOp.NE})


@dataclass(frozen=True, slots=True)
class Binary:
    op: BinOp
    left: Expr
    right: Expr
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    value: Expr
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Closure:
    """`|x| body`: a stream/iterator adapter's argument (`map`, `for_each`)."""

    param: str
    body: Expr
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ListLit:
    """`[a, b, c]`: a fixed list of futures (`stream::iter([...])`, `join_all([...])`)."""

    items: tuple[Expr, ...]
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Range:
    """`lo..hi` as an iterator (`stream::iter(0..3)`, `(0..40).map(...)`)."""

    lo: Expr
    hi: Expr
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Field:
    """`self.claims`, `pool.claims`: a struct's field (mcheck/structs.py replaces it)."""

    value: Expr
    name: str
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class VariantLit:
    """`Request::Claim { tx }`, `Request::Resize { n: 3 }`: a message value with named fields
    (value None: the field init shorthand, the local of the field's name). named_fields.py
    lowers it to `Request::Claim(tx)` before names are resolved."""

    path: tuple[str, ...]
    inits: tuple[tuple[str, Expr | None, Span | None], ...]
    span: Span | None = field(default=None, compare=False)


Expr = (Name | IntLit | Call | MacroCall | MethodCall | Await | Borrow | AsyncBlock | Binary | Not | Closure | ListLit
        | Range | Unit | Field | VariantLit)


# ---- statements --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Block:
    stmts: tuple[Stmt, ...]
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Let:
    name: str
    value: Expr
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class LetPair:
    """`let (tx, rx) = oneshot::channel();`: a Sender and a Receiver made where the code makes them."""

    sender: str
    receiver: str
    value: Expr
    span: Span | None = field(default=None, compare=False)
    sender_span: Span | None = field(default=None, compare=False)
    receiver_span: Span | None = field(default=None, compare=False)


class AssignOp(Enum):
    SET = "="
    ADD = "+="
    SUB = "-="


@dataclass(frozen=True, slots=True)
class Assign:
    """`i = e;`, `i += e;`, `i -= e;` on an integer local."""

    name: str
    op: AssignOp
    value: Expr
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ExprStmt:
    value: Expr
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class SelectArm:
    binding: str
    future: Expr
    body: Block
    span: Span | None = field(default=None, compare=False)
    precondition: Expr | None = None  # `, if cond`
    some: bool = False  # `Some(x) = ...`: refutable, the branch is disabled when the future gives None


@dataclass(frozen=True, slots=True)
class ElseArm:
    body: Block
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Select:
    biased: bool
    arms: tuple[SelectArm, ...]
    span: Span | None = field(default=None, compare=False)
    otherwise: Block | None = None  # `else => ...`: runs when every branch is disabled
    futures: bool = False  # futures::select!: a future named bare is borrowed, not moved


@dataclass(frozen=True, slots=True)
class Loop:
    body: Block
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class While:
    cond: Expr
    body: Block
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class WhileLet:
    """`while let Some(x) = e.await { ... }`: loops while the awaited value is `Some`."""

    binding: str
    value: Expr
    body: Block
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class For:
    binding: str
    lo: int
    hi: int
    body: Block
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class If:
    cond: Expr
    then: Block
    otherwise: Block | None
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Break:
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Continue:
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Return:
    span: Span | None = field(default=None, compare=False)
    value: Expr | None = None  # `return g;` (a body's tail expression `g` is parsed as this)


@dataclass(frozen=True, slots=True)
class IfLet:
    """`if let Ok(g) = e { ... } else { ... }`: runs `then` when e's value matches `variant(binding)`."""

    variant: str
    binding: str
    value: Expr
    then: Block
    otherwise: Block | None
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class MatchArm:
    """`Enum::A | Enum::B => body`; the pattern `_` is the path ("_",)."""

    patterns: tuple[tuple[str, ...], ...]
    body: Block
    span: Span | None = field(default=None, compare=False)
    bindings: tuple[str | None, ...] = ()  # per pattern: `Enum::V(n)` binds n to the variant's number
    # per pattern: `Enum::V { a, b: x, .. }` as its (field, bound name, span) and whether `..` ends
    # it; None for a pattern written without braces (named_fields.py lowers them to bindings)
    named: tuple[tuple[tuple[tuple[str, str, Span | None], ...], bool] | None, ...] = ()


@dataclass(frozen=True, slots=True)
class Match:
    """`match value { arms }` on a received message value."""

    value: Expr
    arms: tuple[MatchArm, ...]
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class StructDecl:
    """`let pool = Pool { claims: c };` (or wrapped, `Arc::new(Pool { .. })`) at the top level or in a body."""

    name: str
    struct: str
    inits: tuple[tuple[str, Expr, Span | None], ...]
    span: Span | None = field(default=None, compare=False)
    wrapper: tuple[str, ...] = ()  # `Arc::new`



Stmt = (Block | Let | LetPair | Assign | ExprStmt | Select | Loop | While | WhileLet | For | If | Match | Break | Continue
        | Return | IfLet | StructDecl)


# ---- items -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResourceDecl:
    name: str
    init: Expr
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type_name: str
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ReturnType:
    """`-> MutexGuard<'_, ()>` as written: the path (generic arguments dropped)."""

    path: tuple[str, ...]
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class FnDef:
    name: str
    params: tuple[Param, ...]
    body: Block
    span: Span | None = field(default=None, compare=False)
    returns: ReturnType | None = None


@dataclass(frozen=True, slots=True)
class TaskDef:
    name: str
    copies: int
    body: Block
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class EnumDef:
    """`enum Request { Claim, SetWantedCount }`: the values a message can carry."""

    name: str
    variants: tuple[str, ...]
    span: Span | None = field(default=None, compare=False)
    variant_spans: tuple[Span | None, ...] = field(default=(), compare=False)
    fields: tuple[str | None, ...] = ()  # per variant: the type of its one field (`V(u64)`), or None
    # per variant: its fields' names when declared with braces (`V { tx: oneshot::Sender }`), else None
    field_names: tuple[tuple[str, ...] | None, ...] = ()
    arity: tuple[int, ...] = ()  # per variant: how many fields it declares (mcheck takes at most one)


@dataclass(frozen=True, slots=True)
class StructDef:
    """`struct Pool { claims: Channel, size: u64 }`: fields that are resources or numbers."""

    name: str
    fields: tuple[Param, ...]
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ImplDef:
    """`impl Pool { async fn claim(&self) { ... } }`: each method takes `&self` first."""

    name: str
    methods: tuple[FnDef, ...]
    span: Span | None = field(default=None, compare=False)
    self_spans: tuple[Span | None, ...] = field(default=(), compare=False)
    mut_self: tuple[bool, ...] = ()  # per method: written `&mut self`
    self_names: tuple[str, ...] = ()  # per method: the name after `&` (`self`)


Item = ResourceDecl | FnDef | TaskDef | EnumDef | StructDef | ImplDef | StructDecl


@dataclass(frozen=True, slots=True)
class Module:
    items: tuple[Item, ...]
