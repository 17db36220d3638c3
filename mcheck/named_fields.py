"""Enum variants with named fields, lowered for resolve.py: `enum Request { Claim { tx:
oneshot::Sender } }`, the value `Request::Claim { tx }` (or `{ tx: v }`) sent on a channel and
the patterns `Request::Claim { tx }`, `Request::Claim { tx: reply }`, `Request::Claim { .. }`.

A purely syntactic lowering, before names are resolved: a variant's one named field is its one
positional field, so `Request::Claim { tx }` is `Request::Claim(tx)` and the pattern
`Request::Claim { tx: reply }` is `Request::Claim(reply)` (`{ .. }` is `Request::Claim(_)`); the
state is the same as for the positional form (messages.py packs it). Field names are checked
here against the declaration: an unknown, missing or repeated field, a variant written in the
other form than it is declared, and a variant of more than one field each get a located error.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mcheck import syntax as s
from mcheck.errors import Diagnostic, ModelError, Severity
from mcheck.messages import SENDER_KEPT, SENDER_TYPES
from mcheck.source import Span


class _Lowering:
    def __init__(self, enums: dict[str, s.EnumDef]) -> None:
        self.errors: list[Diagnostic] = []
        self.enums = enums

    def err(self, span: Span | None, message: str) -> None:
        self.errors.append(Diagnostic(Severity.ERROR, message, span))

    def declaration(self, d: s.EnumDef) -> None:
        for i, n in enumerate(d.arity):
            if n > 1:
                self.err(d.variant_spans[i], f"variant '{d.variants[i]}' has {n} fields; mcheck takes at most one "
                         "field per variant (a number or a oneshot Sender): drop the others, whose data is "
                         "abstracted, or split the variant")
            names = d.field_names[i] if i < len(d.field_names) else None
            if names is not None and len(set(names)) < len(names):
                self.err(d.variant_spans[i], f"variant '{d.variants[i]}' declares a field twice")

    def variant(self, path: tuple[str, ...], span: Span | None) -> tuple[s.EnumDef, int] | None:
        """The declaration of `Enum::Variant` and the variant's index, or None (after an error if
        path names an enum but no variant of it; other paths are left to resolve.py)."""
        d = self.enums.get(path[0]) if len(path) == 2 else None
        if d is None:
            return None
        if path[1] not in d.variants:
            self.err(span, f"enum '{d.name}' has no variant '{path[1]}'; it has "
                     + ", ".join(f"'{v}'" for v in d.variants))
            return None
        return d, d.variants.index(path[1])

    def names(self, d: s.EnumDef, i: int) -> tuple[str, ...] | None:
        return d.field_names[i] if i < len(d.field_names) else None

    def shorthand(self, d: s.EnumDef, i: int) -> str:
        """How the variant is written with its fields, for hints: `Request::Claim { tx }`."""
        names = self.names(d, i) or ()
        return f"{d.name}::{d.variants[i]} {{ {', '.join(names)} }}" if names else f"{d.name}::{d.variants[i]} {{}}"

    # ---- values ----------------------------------------------------------------------------------

    def literal(self, e: s.VariantLit) -> s.Expr:
        """`Request::Claim { tx }` as `Request::Claim(tx)`; `Request::Ping {}` as `Request::Ping`."""
        found = self.variant(e.path, e.span)
        if found is None:
            if not (len(e.path) == 2 and e.path[0] in self.enums):
                self.err(e.span, f"'{'::'.join(e.path)} {{ .. }}' is not a variant of a declared enum; a message "
                         "value with named fields is `Enum::Variant { field }` (declare `enum Enum { Variant "
                         "{ field: u64 } }`)")
            return e
        d, i = found
        names = self.names(d, i)
        path = "::".join(e.path)
        if names is None:
            self.err(e.span, f"'{path}' is declared without named fields: write `{path}"
                     + ("(..)`" if _arity(d, i) else "`"))
            return e
        given: dict[str, tuple[s.Expr, Span | None]] = {}
        for name, value, at in e.inits:
            if name in given:
                self.err(at, f"field '{name}' of '{path}' is given twice")
                return e
            if name not in names:
                self.err(at, f"'{path}' has no field '{name}'" + (
                    f"; its field is '{names[0]}'" if names else "; it has no fields"))
                return e
            given[name] = (value if value is not None else s.Name((name,), at), at)
        missing = [n for n in names if n not in given]
        if missing:
            self.err(e.span, f"'{path}' is missing its field '{missing[0]}': write `{self.shorthand(d, i)}`")
            return e
        if not names:
            return s.Name(e.path, e.span)
        return s.Call(e.path, tuple(self.expr(given[n][0]) for n in names), e.span)

    def positional(self, e: s.Call | s.Name) -> None:
        """`Request::Claim(tx)` or `Request::Claim` for a variant declared with named fields."""
        found = self.variant(e.path, e.span) if len(e.path) == 2 and e.path[0] in self.enums else None
        if found is not None and self.names(*found) is not None:
            self.err(e.span, f"'{'::'.join(e.path)}' is declared with named fields: write `{self.shorthand(*found)}`")

    # ---- patterns --------------------------------------------------------------------------------

    def arm(self, arm: s.MatchArm) -> s.MatchArm:
        """Each `Enum::V { .. }` pattern of the arm as the positional pattern with its binding."""
        bindings = list(arm.bindings)
        for k, path in enumerate(arm.patterns):
            named = arm.named[k] if k < len(arm.named) else None
            found = self.variant(path, arm.span)
            if found is None:
                continue
            d, i = found
            names = self.names(d, i)
            shown = "::".join(path)
            if named is None:
                if names is not None:
                    self.err(arm.span, f"'{shown}' is declared with named fields: match `{self.shorthand(d, i)}` "
                             f"or `{shown} {{ .. }}`")
                continue
            if names is None:
                self.err(arm.span, f"'{shown}' is declared without named fields: match `{shown}"
                         + ("(x)`" if _arity(d, i) else "`"))
                continue
            fields, rest = named
            bound: dict[str, str] = {}
            for name, local, at in fields:
                if name in bound:
                    self.err(at, f"field '{name}' of '{shown}' is matched twice")
                    break
                if name not in names:
                    self.err(at, f"'{shown}' has no field '{name}'" + (
                        f"; its field is '{names[0]}'" if names else "; it has no fields"))
                    break
                bound[name] = local
            else:
                missing = [n for n in names if n not in bound]
                if missing and not rest:
                    self.err(arm.span, f"the pattern '{shown} {{ .. }}' does not mention the field '{missing[0]}': "
                             f"bind it (`{shown} {{ {missing[0]} }}`) or end the pattern with `..`")
                    continue
                bindings[k] = (bound.get(names[0], "_") if names else None)
                if bindings[k] == "_" and _field_type(d, i) in SENDER_TYPES:
                    # refused here, where the arm is still spelled as written (messages.py would say `V(_)`)
                    written = ", ".join([f"{n}: {b}" if n != b else n for n, b, _ in fields] + [".."] * rest)
                    self.err(arm.span, SENDER_KEPT.format(what=f"`{shown} {{ {written} }}`", variant=shown,
                                                           bound=f"{shown} {{ {names[0]}: reply }}"))
        return dataclasses.replace(arm, bindings=tuple(bindings), named=(), body=self.expr(arm.body))

    # ---- the walk --------------------------------------------------------------------------------

    def expr(self, e: Any) -> Any:
        """e with named fields lowered (any syntax node, tuples of them, or a leaf value)."""
        if isinstance(e, tuple):
            return tuple(self.expr(x) for x in e)
        if not dataclasses.is_dataclass(e) or isinstance(e, type):
            return e
        if isinstance(e, s.VariantLit):
            return self.literal(e)
        if isinstance(e, s.MatchArm):
            return self.arm(e)
        if isinstance(e, s.Call | s.Name):
            self.positional(e)
        changes = {f.name: self.expr(getattr(e, f.name)) for f in dataclasses.fields(e) if f.name != "span"}
        return dataclasses.replace(e, **changes)


def _field_type(d: s.EnumDef, i: int) -> str | None:
    return d.fields[i] if i < len(d.fields) else None


def _arity(d: s.EnumDef, i: int) -> int:
    return d.arity[i] if i < len(d.arity) else int(bool(d.fields) and d.fields[i] is not None)


def lower(module: s.Module) -> s.Module:
    """The module with named fields as positional ones; ModelError listing what is not taken."""
    enums = {it.name: it for it in module.items if isinstance(it, s.EnumDef)}
    low = _Lowering(enums)
    for d in enums.values():
        low.declaration(d)
    items = tuple(it if isinstance(it, s.EnumDef) else low.expr(it) for it in module.items)
    if low.errors:
        raise ModelError(low.errors)
    return s.Module(items)
