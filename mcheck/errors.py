"""Errors users see: one root exception and the source-located diagnostic.

Every phase reports bad input by raising `ModelError` with one or more `Diagnostic`s; the CLI
renders them as `file:line:col: error: ...` with the source line and a caret and exits 2.
No other module formats diagnostics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from mcheck.source import Source, Span


class MCheckError(Exception):
    """Root of every error mcheck raises on purpose."""


class Severity(Enum):
    ERROR = "error"
    NOTE = "note"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    severity: Severity
    message: str
    span: Span | None
    notes: tuple[Diagnostic, ...] = field(default=())

    def render(self, source: Source | None) -> str:
        lines = [_render_one(self, source)]
        lines.extend(_render_one(n, source) for n in self.notes)
        return "\n".join(lines)


def _render_one(d: Diagnostic, source: Source | None) -> str:
    if d.span is None or source is None:
        where = source.name if source is not None else "<input>"
        return f"{where}: {d.severity.value}: {d.message}"
    head = f"{source.name}:{d.span.line}:{d.span.col}: {d.severity.value}: {d.message}"
    text = source.line_text(d.span.line)
    width = 1
    if d.span.end_line == d.span.line and d.span.end_col > d.span.col:
        width = d.span.end_col - d.span.col
    pad = "".join("\t" if c == "\t" else " " for c in text[: d.span.col - 1])  # keep tabs: the caret lines up
    caret = pad + " " * (d.span.col - 1 - len(pad)) + "^" + "~" * (width - 1)
    gutter = f"{d.span.line:>5} | "
    return f"{head}\n{gutter}{text}\n{' ' * (len(gutter) - 2)}| {caret}"


class ModelError(MCheckError):
    """The model file is malformed: syntax, names, types, or constructs that cannot be made finite."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        assert diagnostics
        self.diagnostics = tuple(diagnostics)
        self.source: Source | None = None  # the text to show, when it is not the model's (see with_source)
        super().__init__(diagnostics[0].message)

    def with_source(self, source: Source) -> ModelError:
        """Render against `source`: for errors found while reading, before the model's text exists."""
        self.source = source
        return self

    @staticmethod
    def at(span: Span | None, message: str, *notes: tuple[Span | None, str]) -> ModelError:
        return ModelError(
            [
                Diagnostic(
                    Severity.ERROR,
                    message,
                    span,
                    tuple(Diagnostic(Severity.NOTE, m, s) for s, m in notes),
                )
            ]
        )

    def render(self, source: Source | None) -> str:
        return "\n".join(d.render(source) for d in self.diagnostics)


class UsageError(MCheckError):
    """The command line is wrong (unreadable file, bad option value)."""


class InternalError(MCheckError):
    """mcheck broke its own contract (the engines disagree, a counterexample does not replay on the
    concrete semantics). Never a verdict: the CLI reports it on stderr and exits 4, as it does for
    any exception it did not expect."""
