"""Message values, for resolve.py: `enum` declarations, `Enum::Variant` values sent on a channel,
and `match` on a value received with `Some(v) = rx.recv()`.

A value is an enum tag, numbered across the model from 1 (0 is a message without a value), so a
queued message and a received value are small integers the compiler keeps in state variables
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
"""Variants of all the model's enums together (the range of every message and received value)."""

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
        if self.total + len(d.variants) > MAX_MESSAGE_VALUES:
            self.err(d.span, f"the model's enums have more than {MAX_MESSAGE_VALUES} variants together; "
                     "mcheck keeps message values small")
            return
        self.types[d.name] = p.EnumType(d.name, d.variants, self.total + 1, d.span)
        self.total += len(d.variants)

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
        """A message value written as an argument of send: `Request::Claim`."""
        if isinstance(e, s.Name):
            return self.lookup(e.path, e.span)
        if isinstance(e, s.Call) and len(e.path) == 2 and e.path[0] in self.types:
            self.err(e.span, "message values are enum tags; a variant's fields are not modelled yet: "
                     f"declare `{e.path[1]}` without fields and send `{'::'.join(e.path)}`")
            return None
        self.err(e.span, "a message value is an enum variant, e.g. `Request::Claim` (declare `enum Request { Claim }`)")
        return None

    def carries(self, ref: p.ResRef, enum: p.EnumType, span: Span | None) -> None:
        """Channel `ref` carries values of `enum`: the same enum at every send and match."""
        if not isinstance(ref, p.GlobalRes):
            return  # an async fn's Channel parameter: each call site's channel is checked at its own uses
        seen = self.carried.setdefault(ref.index, (enum, span))
        if seen[0] is not enum:
            self.err(span, f"this channel carries {seen[0].name} values, not {enum.name}", (seen[1], f"{seen[0].name} here"))

    def match_arms(self, st: s.Match) -> tuple[p.EnumType, list[list[int]], bool] | None:
        """Each arm's values (`_`: every value no earlier arm takes) and whether the last arm is
        `_`, checked: one enum, known variants, none twice, `_` last, every variant covered."""
        enum: p.EnumType | None = None
        taken: set[int] = set()
        out: list[list[int]] = []
        wildcard = False
        for arm in st.arms:
            if wildcard:
                self.err(arm.span, "this arm is never reached: the '_' arm before it takes every value")
                return None
            values: list[int] = []
            for path in arm.patterns:
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
                taken.add(found[1])
                values.append(found[1])
            out.append(values)
        if enum is None:
            self.err(st.span, "a match on a message value needs at least one `Enum::Variant` arm")
            return None
        if wildcard:
            rest = [v for v in range(enum.first, enum.first + len(enum.variants)) if v not in taken]
            out[-1].extend(rest)
        else:
            missing = [v for v in enum.variants if enum.value(v) not in taken]
            if missing:
                self.err(st.span, "the match does not cover " + ", ".join(f"'{enum.name}::{v}'" for v in missing)
                         + "; add an arm for each, or `_ => {}`")
                return None
        return enum, out, wildcard


def match_to_ifs(local: p.Local, arms: list[tuple[list[int], p.Block]], wildcard: bool, span: Span | None) -> p.Stmt:
    """`match v { A => a, B | C => b }` as `if v == A { a } else if v == B || v == C { b }`. A
    final `_` arm is the last else, so it also takes a message sent without a value (0), which no
    variant matches."""
    stmt: p.Stmt = arms[-1][1] if wildcard else p.Block((), (), span)
    for values, body in reversed(arms if not wildcard else arms[:-1]):
        cond: p.Cond | None = None
        for v in values:
            test = p.Compare(p.CmpOp.EQ, p.ReadInt(local), p.IntConst(v))
            cond = test if cond is None else p.OrCond(cond, test)
        assert cond is not None  # only the last arm can be `_` alone
        otherwise = stmt if isinstance(stmt, p.Block) else p.Block((stmt,), (), span)
        stmt = p.If(cond, body, otherwise, span)
    return stmt
