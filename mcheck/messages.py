"""Message values, for resolve.py: `enum` declarations, `Enum::Variant` values sent on a channel,
and `match` on a value received with `Some(v) = rx.recv()`.

A value is an enum tag (with its number, for a variant with a number field: `SetWantedCount(3)`),
numbered across the model from 1 (0 is a message without a value), so a queued message and a
received value are small integers the compiler keeps in state variables
(mcheck/compiler/sync/mpsc.py). This module checks names and finiteness; it builds no state.
"""

from __future__ import annotations

from collections.abc import Callable

from mcheck import program as p
from mcheck import syntax as s
from mcheck.source import Span

MAX_VARIANTS = 16
"""Variants one enum may have: each is a value every queued message of its channel may hold."""
MAX_MESSAGE_VALUES = 32
"""Values of all the model's enums together (the range of every message and received value): a
variant is one, a variant with a number field p.NUMBER_VALUES."""
NUMBER_TYPES = ("u8", "u16", "u32", "u64", "usize")
SENDER_TYPES = ("oneshot::Sender", "sync::oneshot::Sender", "tokio::sync::oneshot::Sender")
"""A variant's field that is the requester's reply channel (mcheck/replies.py)."""

AddError = Callable[..., None]


class Enums:
    """The model's enums, and which enum each channel carries (inferred from sends and matches)."""

    def __init__(self, add_error: AddError) -> None:
        self.err = add_error
        self.types: dict[str, p.EnumType] = {}
        self.carried: dict[int, tuple[p.EnumType, Span | None]] = {}  # channel index -> enum, first use
        self.total = 0

    def declare(self, d: s.EnumDef) -> None:
        if d.name in self.types:
            self.err(d.span, f"enum '{d.name}' is declared twice", (self.types[d.name].span, "first declared here"))
            return
        if not d.variants:
            self.err(d.span, f"enum '{d.name}' has no variants, so no message can carry it")
            return
        for i, v in enumerate(d.variants):
            if v in d.variants[:i]:
                self.err(d.variant_spans[i] if i < len(d.variant_spans) else d.span,
                         f"variant '{v}' of enum '{d.name}' is declared twice")
                return
        if len(d.variants) > MAX_VARIANTS:
            self.err(d.span, f"enum '{d.name}' has {len(d.variants)} variants; mcheck takes at most {MAX_VARIANTS} "
                     "(every variant is a value each queued message may hold)")
            return
        fields = d.fields or (None,) * len(d.variants)
        for i, ty in enumerate(fields):
            if ty is not None and ty not in NUMBER_TYPES and ty not in SENDER_TYPES:
                self.err(d.variant_spans[i] if i < len(d.variant_spans) else d.span,
                         f"variant '{d.variants[i]}' has a field of type '{ty}'; a variant's field is a number "
                         f"(`{d.variants[i]}(u64)`, holding 0..{p.NUMBER_VALUES - 1}) or a reply channel "
                         f"(`{d.variants[i]}(oneshot::Sender)`): other fields are not modelled")
                return
        enum = p.EnumType(d.name, d.variants, self.total + 1, d.span, tuple(ty in NUMBER_TYPES for ty in fields),
                          tuple(ty in SENDER_TYPES for ty in fields))
        if self.total + enum.size > MAX_MESSAGE_VALUES:
            self.err(d.span, f"the model's enums have more than {MAX_MESSAGE_VALUES} values together (a variant is "
                     f"one, a variant with a number {p.NUMBER_VALUES}); mcheck keeps message values small")
            return
        self.types[d.name] = enum
        self.total += enum.size

    def lookup(self, path: tuple[str, ...], span: Span | None) -> tuple[p.EnumType, int] | None:
        """`Enum::Variant` (the enum and the variant's value), or None after reporting why not."""
        if len(path) != 2:
            self.err(span, f"expected a message value `Enum::Variant`, found '{'::'.join(path)}'")
            return None
        enum = self.types.get(path[0])
        if enum is None:
            known = f"; declare it: `enum {path[0]} {{ {path[1]} }}`" if not self.types else (
                "; the model declares " + ", ".join(f"'{n}'" for n in self.types))
            self.err(span, f"unknown enum '{path[0]}'{known}")
            return None
        if path[1] not in enum.variants:
            self.err(span, f"enum '{enum.name}' has no variant '{path[1]}'; it has "
                     + ", ".join(f"'{v}'" for v in enum.variants), (enum.span, f"'{enum.name}' declared here"))
            return None
        return enum, enum.value(path[1])

    def value(self, e: s.Expr) -> tuple[p.EnumType, int] | None:
        """A message value written as an argument of send: `Request::Claim`, `Request::Resize(3)`."""
        if isinstance(e, s.Name):
            found = self.lookup(e.path, e.span)
            if found is not None and found[0].has_number(e.path[1]):
                self.err(e.span, f"'{'::'.join(e.path)}' has a number field: send `{'::'.join(e.path)}(n)`, "
                         f"n in 0..{p.NUMBER_VALUES - 1}")
                return None
            if found is not None and found[0].has_reply(e.path[1]):
                self.err(e.span, f"'{'::'.join(e.path)}' carries a oneshot Sender: send `{'::'.join(e.path)}(tx)` "
                         "with tx from `let (tx, rx) = oneshot::channel();`")
                return None
            return found
        if isinstance(e, s.Call) and len(e.path) == 2 and e.path[0] in self.types:
            found = self.lookup(e.path, e.span)
            if found is None:
                return None
            enum, value = found
            if enum.has_reply(e.path[1]):
                self.err(e.span, f"'{'::'.join(e.path)}' carries a oneshot Sender: send "
                         f"`{'::'.join(e.path)}(tx)` with tx from `let (tx, rx) = oneshot::channel();`")
                return None
            if not enum.has_number(e.path[1]):
                self.err(e.span, f"'{'::'.join(e.path)}' has no field: send `{'::'.join(e.path)}` (declare "
                         f"`{e.path[1]}(u64)` for a number)")
                return None
            arg = e.args[0] if len(e.args) == 1 else None
            if not isinstance(arg, s.IntLit) or arg.value >= p.NUMBER_VALUES:
                self.err(arg.span if arg is not None else e.span, f"a message's number is a literal in "
                         f"0..{p.NUMBER_VALUES - 1} (each number is a value every queued message may hold)")
                return None
            return enum, value + arg.value
        self.err(e.span, "a message value is an enum variant, e.g. `Request::Claim` (declare `enum Request { Claim }`)")
        return None

    def carries(self, ref: p.ResRef, enum: p.EnumType, span: Span | None) -> None:
        """Channel `ref` carries values of `enum`: the same enum at every send and match."""
        if not isinstance(ref, p.GlobalRes):
            return  # an async fn's Channel parameter: each call site's channel is checked at its own uses
        seen = self.carried.setdefault(ref.index, (enum, span))
        if seen[0] is not enum:
            self.err(span, f"this channel carries {seen[0].name} values, not {enum.name}", (seen[1], f"{seen[0].name} here"))

    def match_arms(self, st: s.Match) -> tuple[p.EnumType, list[list[int]], bool, list[tuple[str, int] | None]] | None:
        """Each arm's values (`_`: every value no earlier arm takes), whether the last arm is `_`,
        and each arm's number binding (`V(n)`: n and V's first value), checked: one enum, known
        variants, none twice, `_` last, every variant covered, `V(n)` exactly for numbered V."""
        enum: p.EnumType | None = None
        taken: set[int] = set()
        out: list[list[int]] = []
        numbers: list[tuple[str, int] | None] = []
        wildcard = False
        for arm in st.arms:
            if wildcard:
                self.err(arm.span, "this arm is never reached: the '_' arm before it takes every value")
                return None
            values: list[int] = []
            number: tuple[str, int] | None = None
            for k, path in enumerate(arm.patterns):
                bound = arm.bindings[k] if k < len(arm.bindings) else None
                if path == ("_",):
                    wildcard = True
                    continue
                found = self.lookup(path, arm.span)
                if found is None:
                    return None
                if enum is not None and found[0] is not enum:
                    self.err(arm.span, f"'{'::'.join(path)}' is a {found[0].name}, but this match is on {enum.name} values")
                    return None
                enum = found[0]
                if found[1] in taken:
                    self.err(arm.span, f"'{'::'.join(path)}' is matched by an earlier arm")
                    return None
                width = enum.width(enum.variants.index(path[1]))
                if (bound is None) != (width == 1):
                    field = "a oneshot Sender" if enum.has_reply(path[1]) else "a number field"
                    self.err(arm.span, f"'{'::'.join(path)}' has {field}: write `{'::'.join(path)}(n)` or "
                             f"`{'::'.join(path)}(_)`" if width > 1 else f"'{'::'.join(path)}' has no field to bind")
                    return None
                if bound == "_" and enum.has_reply(path[1]):
                    self.err(arm.span, SENDER_KEPT.format(what=f"`{'::'.join(path)}(_)`", variant="::".join(path),
                                                       bound=f"{'::'.join(path)}(reply)"))
                    return None
                if bound not in (None, "_"):
                    if len(arm.patterns) > 1:
                        self.err(arm.span, f"'{bound}' is bound in an arm of several patterns; give `{'::'.join(path)}"
                                 f"({bound})` an arm of its own")
                        return None
                    number = (bound, found[1])
                taken.update(range(found[1], found[1] + width))
                values.extend(range(found[1], found[1] + width))
            out.append(values)
            numbers.append(number)
        if enum is None:
            self.err(st.span, "a match on a message value needs at least one `Enum::Variant` arm")
            return None
        if wildcard:
            rest = [v for v in range(enum.first, enum.first + enum.size) if v not in taken]
            replied = [v for v in enum.variants if enum.has_reply(v) and enum.value(v) in rest]
            if replied:
                self.err(st.arms[-1].span, SENDER_KEPT.format(
                    what="the `_` arm", variant=f"{enum.name}::{replied[0]}", bound=f"{enum.name}::{replied[0]}(reply)"))
                return None
            out[-1].extend(rest)
        else:
            missing = [v for v in enum.variants if enum.value(v) not in taken]
            if missing:
                self.err(st.span, "the match does not cover " + ", ".join(f"'{enum.name}::{v}'" for v in missing)
                         + "; add an arm for each, or `_ => {}`")
                return None
        return enum, out, wildcard, numbers


SENDER_KEPT = (  # {bound}: the arm that binds the Sender, spelled as the variant is declared
    "{what} leaves the oneshot Sender of '{variant}' in the message, which Rust drops with the message, "
    "where its binding ends; mcheck does not follow that yet: bind it, `{bound} => {{ .. }}`, "
    "which drops it at the arm's end")


def match_to_ifs(local: p.Local, arms: list[tuple[list[int], p.Block]], wildcard: bool, span: Span | None) -> p.Stmt:
    """`match v { A => a, B | C => b }` as `if v == A { a } else if v == B || v == C { b }`. A
    final `_` arm is the last else, so it also takes a message sent without a value (0), which no
    variant matches."""
    stmt: p.Stmt = arms[-1][1] if wildcard else p.Block((), (), span)
    for values, body in reversed(arms if not wildcard else arms[:-1]):
        cond: p.Cond | None = None
        for lo, hi in _runs(values):
            test: p.Cond = p.Compare(p.CmpOp.EQ, p.ReadInt(local), p.IntConst(lo)) if lo == hi else p.AndCond(
                p.Compare(p.CmpOp.GE, p.ReadInt(local), p.IntConst(lo)),
                p.Compare(p.CmpOp.LE, p.ReadInt(local), p.IntConst(hi)))
            cond = test if cond is None else p.OrCond(cond, test)
        assert cond is not None  # only the last arm can be `_` alone
        otherwise = stmt if isinstance(stmt, p.Block) else p.Block((stmt,), (), span)
        stmt = p.If(cond, body, otherwise, span)
    return stmt


def _runs(values: list[int]) -> list[tuple[int, int]]:
    """values as runs of consecutive numbers (lo, hi): a numbered variant's values are one test."""
    out: list[tuple[int, int]] = []
    for v in sorted(values):
        if out and out[-1][1] == v - 1:
            out[-1] = (out[-1][0], v)
        else:
            out.append((v, v))
    return out


def number_of(value: p.Local, first: int) -> p.IntExpr:
    """The number of a numbered variant whose first value is `first`: value - first, written as
    (value - (first + N - 1)) + (N - 1), so the constants the integer's range is taken from
    (instantiate.int_ranges) include N - 1 and it holds every number 0..N - 1."""
    top = p.NUMBER_VALUES - 1
    return p.IntArith(p.ArithOp.ADD, p.IntArith(p.ArithOp.SUB, p.ReadInt(value), p.IntConst(first + top)),
                      p.IntConst(top))
