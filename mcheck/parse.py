"""Phase 1: model text -> syntax tree (mcheck.syntax).

The only place lark is used. Lark's exceptions cross into the project in `parse_module` alone,
which turns them into a `ModelError` naming the literal tokens expected, with the source line.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

import lark
from lark import Token, v_args
from lark.tree import Meta
from lark.visitors import Transformer_NonRecursive

from mcheck import rustisms
from mcheck import syntax as s
from mcheck.cache import cache_root
from mcheck.errors import ModelError
from mcheck.source import Source, Span

GRAMMAR_FILE = "mcheck.lark"
MAX_NESTING = 100
"""Deepest syntax tree accepted (the bundled models reach 14): blocks, statements and expressions
inside each other. Chains of `&&`, `||`, `+` and `-` and runs of `!` do not nest."""

MAX_NUMBER = 1_000_000_000
"""The largest number a model may write (durations, permits, bounds): larger ones are refused
before anything is built from them."""


def grammar_text() -> str:
    """The grammar, from the installed package (mcheck.grammar) or the source tree's grammar/."""
    try:
        return resources.files("mcheck.grammar").joinpath(GRAMMAR_FILE).read_text()
    except (ModuleNotFoundError, FileNotFoundError):
        return (Path(__file__).resolve().parent.parent / "grammar" / GRAMMAR_FILE).read_text()


@functools.cache
def _parser() -> lark.Lark:
    return lark.Lark(
        grammar_text(),
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=True,
        cache=_tables_file(),
    )


def _tables_file() -> str | bool:
    """Where lark keeps the parser's LALR tables between runs (building them is 0.5 s of every
    run); lark checks the file against a hash of the grammar and its options, and rebuilds the
    tables when it does not match or cannot be read. False (no cache) when the directory cannot
    be made."""
    directory = cache_root()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return str(directory / "grammar.lark-tables")


def _span(meta: Meta | Token) -> Span | None:
    if isinstance(meta, Token):
        if meta.line is None or meta.column is None:
            return None
        return Span(meta.line, meta.column, meta.end_line or meta.line, meta.end_column or meta.column)
    if getattr(meta, "empty", True):
        return None
    return Span(meta.line, meta.column, meta.end_line, meta.end_column)


def _block(stmt: s.Stmt) -> s.Block:
    return stmt if isinstance(stmt, s.Block) else s.Block((stmt,), stmt.span)


@v_args(meta=True)
class _ToSyntax(Transformer_NonRecursive[Token, Any]):
    def start(self, meta: Meta, items: list[s.Item]) -> s.Module:
        return s.Module(tuple(items))

    def resource_decl(self, meta: Meta, c: list[Any]) -> s.ResourceDecl:
        return s.ResourceDecl(str(c[0]), c[1], _span(meta))

    def fn_def(self, meta: Meta, c: list[Any]) -> s.FnDef:
        params = tuple(p for p in c[1:-2] if p is not None)
        return s.FnDef(str(c[0]), params, c[-1], _span(c[0]), c[-2])

    def ret_type(self, meta: Meta, c: list[Any]) -> s.ReturnType:
        return s.ReturnType(c[0], _span(meta))

    def fn_body(self, meta: Meta, c: list[Any]) -> s.Block:
        """A tail expression is the fn's result: `{ ..; g }` reads as `{ ..; return g; }`."""
        *stmts, tail = c
        if tail is not None:
            stmts.append(s.Return(tail.span, tail))
        return s.Block(tuple(stmts), _span(meta))

    def param(self, meta: Meta, c: list[Token]) -> s.Param:
        return s.Param(str(c[0]), str(c[1]), _span(meta))

    def task_def(self, meta: Meta, c: list[Any]) -> s.TaskDef:
        copies = 1 if c[1] is None else c[1]
        return s.TaskDef(str(c[0]), copies, c[2], _span(c[0]))

    def copies(self, meta: Meta, c: list[Token]) -> int:
        return _number(c[0])

    def block(self, meta: Meta, c: list[s.Stmt]) -> s.Block:
        return s.Block(tuple(c), _span(meta))

    def let_stmt(self, meta: Meta, c: list[Any]) -> s.Let:
        return s.Let(str(c[1]), c[2], _span(meta))

    def let_pair_stmt(self, meta: Meta, c: list[Any]) -> s.LetPair:
        return s.LetPair(str(c[0]), str(c[1]), c[2], _span(meta), _span(c[0]), _span(c[1]))

    def assign(self, meta: Meta, c: list[Any]) -> s.Assign:
        return s.Assign(str(c[0]), s.AssignOp.SET, c[1], _span(meta))

    def add_assign(self, meta: Meta, c: list[Any]) -> s.Assign:
        return s.Assign(str(c[0]), s.AssignOp.ADD, c[1], _span(meta))

    def sub_assign(self, meta: Meta, c: list[Any]) -> s.Assign:
        return s.Assign(str(c[0]), s.AssignOp.SUB, c[1], _span(meta))

    def or_expr(self, meta: Meta, c: list[Any]) -> s.Expr:
        return _balanced(s.BinOp.OR, c)

    def and_expr(self, meta: Meta, c: list[Any]) -> s.Expr:
        return _balanced(s.BinOp.AND, c)

    def compare(self, meta: Meta, c: list[Any]) -> s.Binary:
        return s.Binary(s.BinOp(str(c[1])), c[0], c[2], _span(meta))

    def arith(self, meta: Meta, c: list[Any]) -> s.Expr:
        """`t0 ± t1 ± ...` as (the sum of the added terms) - (the sum of the subtracted ones): the
        same integer, as a tree of logarithmic depth (integers are unbounded until assigned)."""
        added = [c[0]] + [t for op, t in zip(c[1::2], c[2::2], strict=True) if str(op) == "+"]
        subtracted = [t for op, t in zip(c[1::2], c[2::2], strict=True) if str(op) == "-"]
        total = _balanced(s.BinOp.ADD, added)
        if not subtracted:
            return total
        less = _balanced(s.BinOp.ADD, subtracted)
        return s.Binary(s.BinOp.SUB, total, less, _join(total.span, less.span))

    def not_expr(self, meta: Meta, c: list[Any]) -> s.Expr:
        nots, value = c[:-1], c[-1]  # `!!x` is x: an even number of `!` cancels out
        return s.Not(value, _span(meta)) if len(nots) % 2 else value

    def expr_stmt(self, meta: Meta, c: list[Any]) -> s.ExprStmt:
        return s.ExprStmt(c[0], _span(meta))

    def break_stmt(self, meta: Meta, c: list[Any]) -> s.Break:
        return s.Break(_span(meta))

    def continue_stmt(self, meta: Meta, c: list[Any]) -> s.Continue:
        return s.Continue(_span(meta))

    def return_stmt(self, meta: Meta, c: list[Any]) -> s.Return:
        return s.Return(_span(meta), c[0])

    def arm_break(self, meta: Meta, c: list[Any]) -> s.Block:
        return s.Block((s.Break(_span(meta)),), _span(meta))

    def arm_continue(self, meta: Meta, c: list[Any]) -> s.Block:
        return s.Block((s.Continue(_span(meta)),), _span(meta))

    def loop_stmt(self, meta: Meta, c: list[Any]) -> s.Loop:
        return s.Loop(c[0], _span(meta))

    def while_stmt(self, meta: Meta, c: list[Any]) -> s.While:
        return s.While(c[0], c[1], _span(meta))

    def while_let_stmt(self, meta: Meta, c: list[Any]) -> s.WhileLet:
        return s.WhileLet(str(c[1]), c[2], c[3], _span(meta))

    def for_stmt(self, meta: Meta, c: list[Any]) -> s.For:
        return s.For(str(c[0]), _number(c[1]), _number(c[2]), c[3], _span(meta))

    def if_let_stmt(self, meta: Meta, c: list[Any]) -> s.IfLet:
        otherwise = None if c[4] is None else _block(c[4])
        return s.IfLet(str(c[0]), str(c[1]), c[2], c[3], otherwise, _span(meta))

    def if_stmt(self, meta: Meta, c: list[Any]) -> s.If:
        otherwise = None if c[2] is None else _block(c[2])
        return s.If(c[0], c[1], otherwise, _span(meta))

    def select_stmt(self, meta: Meta, c: list[Any]) -> s.Select:
        path, biased, items = c[0], c[1] is not None, c[2:]
        futures = path[0] == "futures"
        if path[-1] == "select_biased" and futures:
            biased = True
        elif path[-1] != "select":
            raise _MacroError(meta, path)
        arms = tuple(a for a in items if isinstance(a, s.SelectArm))
        elses = [a for a in items if isinstance(a, s.ElseArm)]
        if len(elses) > 1:
            raise _SyntaxProblem(elses[1].span, "select! has more than one 'else' branch")
        if elses and items[-1] is not elses[0]:
            raise _SyntaxProblem(elses[0].span, "the 'else' branch of select! must come last")
        return s.Select(biased, arms, _span(meta), elses[0].body if elses else None, futures)

    def select_arm(self, meta: Meta, c: list[Any]) -> s.SelectArm:
        return s.SelectArm(str(c[0]), c[1], _arm_block(c[3]), _span(meta), c[2])

    def select_some_arm(self, meta: Meta, c: list[Any]) -> s.SelectArm:
        return s.SelectArm(str(c[1]), c[2], _arm_block(c[4]), _span(meta), c[3], some=True)

    def enum_def(self, meta: Meta, c: list[Any]) -> s.EnumDef:
        variants = [v for v in c[1:] if v is not None]
        return s.EnumDef(str(c[0]), tuple(str(v[0]) for v in variants), _span(c[0]), tuple(_span(v[0]) for v in variants),
                         tuple(None if not v[1] else "::".join(v[1][0]) for v in variants),
                         tuple(v[2] for v in variants), tuple(len(v[1]) for v in variants))

    def variant(self, meta: Meta, c: list[Any]) -> tuple[Token, list[tuple[str, ...]], None]:
        return c[0], [t for t in c[1:] if t is not None], None

    def named_variant(self, meta: Meta, c: list[Any]) -> tuple[Token, list[tuple[str, ...]], tuple[str, ...]]:
        fields = [f for f in c[1:] if f is not None]
        return c[0], [ty for _, ty in fields], tuple(name for name, _ in fields)

    def named_field(self, meta: Meta, c: list[Any]) -> tuple[str, tuple[str, ...]]:
        return str(c[0]), c[1]

    def pattern(self, meta: Meta, c: list[Any]) -> tuple[tuple[str, ...], str | None, None]:
        return c[0], None if c[1] is None else str(c[1]), None

    def named_pattern(self, meta: Meta, c: list[Any]) -> tuple[tuple[str, ...], None, Any]:
        fields = tuple(f for f in c[1:-1] if f is not None)
        return c[0], None, (fields, c[-1] is not None)

    def field_pat(self, meta: Meta, c: list[Any]) -> tuple[str, str, Span | None]:
        return str(c[0]), str(c[1] if c[1] is not None else c[0]), _span(c[0])

    def rest_pat(self, meta: Meta, c: list[Any]) -> bool:
        return True

    def variant_lit(self, meta: Meta, c: list[Any]) -> s.VariantLit:
        return s.VariantLit(c[0], tuple(i for i in c[1:] if i is not None), _span(meta))

    def variant_init(self, meta: Meta, c: list[Any]) -> tuple[str, s.Expr | None, Span | None]:
        return str(c[0]), c[1], _span(c[0])

    def match_stmt(self, meta: Meta, c: list[Any]) -> s.Match:
        return s.Match(c[0], tuple(c[1:]), _span(meta))

    def match_arm(self, meta: Meta, c: list[Any]) -> s.MatchArm:
        pats = c[:-1]
        return s.MatchArm(tuple(pt[0] for pt in pats), _arm_block(c[-1]), _span(meta), tuple(pt[1] for pt in pats),
                          tuple(pt[2] for pt in pats))

    def select_guard(self, meta: Meta, c: list[Any]) -> s.Expr:
        return c[0]  # type: ignore[no-any-return]

    def else_arm(self, meta: Meta, c: list[Any]) -> s.ElseArm:
        return s.ElseArm(_arm_block(c[0]), _span(meta))

    def named_else_arm(self, meta: Meta, c: list[Any]) -> s.ElseArm:
        if str(c[0]) != "complete":
            raise _SyntaxProblem(_span(c[0]), f"unexpected '{c[0]} =>' in select!; a branch is `pattern = future => ...`"
                                 " (futures::select! also has `complete => ...`)")
        return s.ElseArm(_arm_block(c[1]), _span(meta))

    def closure(self, meta: Meta, c: list[Any]) -> s.Closure:
        return s.Closure(str(c[0]), c[1], _span(meta))

    def closure0(self, meta: Meta, c: list[Any]) -> s.Closure:
        return s.Closure("", c[0], _span(meta))

    def list_lit(self, meta: Meta, c: list[Any]) -> s.ListLit:
        return s.ListLit(c[0], _span(meta))

    def range(self, meta: Meta, c: list[Any]) -> s.Range:
        return s.Range(c[0], c[1], _span(meta))

    def arm_body(self, meta: Meta, c: list[Any]) -> Any:
        return c[0]

    def borrow(self, meta: Meta, c: list[Any]) -> s.Borrow:
        return s.Borrow(c[1], _span(meta))

    def async_block(self, meta: Meta, c: list[Any]) -> s.AsyncBlock:
        return s.AsyncBlock(c[1], _span(meta))

    def await_expr(self, meta: Meta, c: list[Any]) -> s.Await:
        return s.Await(c[0], _span(meta))

    def method_call(self, meta: Meta, c: list[Any]) -> s.MethodCall:
        return s.MethodCall(c[0], str(c[1]), c[2], _span(meta))

    def field(self, meta: Meta, c: list[Any]) -> s.Field:
        return s.Field(c[0], str(c[1]), _span(meta))

    def struct_def(self, meta: Meta, c: list[Any]) -> s.StructDef:
        return s.StructDef(str(c[0]), tuple(f for f in c[1:] if f is not None), _span(c[0]))

    def struct_field(self, meta: Meta, c: list[Token]) -> s.Param:
        return s.Param(str(c[0]), str(c[1]), _span(meta))

    def impl_def(self, meta: Meta, c: list[Any]) -> s.ImplDef:
        methods = [m for m in c[1:] if m is not None]
        return s.ImplDef(str(c[0]), tuple(m[0] for m in methods), _span(c[0]), tuple(m[1] for m in methods),
                         tuple(m[2] for m in methods), tuple(m[3] for m in methods))

    def method_def(self, meta: Meta, c: list[Any]) -> tuple[s.FnDef, Span | None, bool, str]:
        params = tuple(p for p in c[3:-2] if p is not None)
        fn = s.FnDef(str(c[0]), params, c[-1], _span(c[0]), c[-2])
        return fn, _span(c[2]), c[1] is not None, str(c[2])

    def struct_decl(self, meta: Meta, c: list[Any]) -> s.StructDecl:
        return s.StructDecl(str(c[0]), str(c[1]), tuple(f for f in c[2:] if f is not None), _span(meta))

    def wrapped_struct_decl(self, meta: Meta, c: list[Any]) -> s.StructDecl:
        return s.StructDecl(str(c[0]), str(c[2]), tuple(f for f in c[3:] if f is not None), _span(meta), c[1])

    def field_init(self, meta: Meta, c: list[Any]) -> tuple[str, s.Expr, Span | None]:
        return str(c[0]), c[1], _span(c[0])

    def call(self, meta: Meta, c: list[Any]) -> s.Call:
        return s.Call(c[0], c[1], _span(meta))

    def macro_call(self, meta: Meta, c: list[Any]) -> s.MacroCall:
        return s.MacroCall(c[0], c[1], _span(meta))

    def name(self, meta: Meta, c: list[Any]) -> s.Name:
        return s.Name(c[0], _span(meta))

    def unit(self, meta: Meta, c: list[Any]) -> s.Unit:
        return s.Unit(_span(meta))

    def int_lit(self, meta: Meta, c: list[Token]) -> s.IntLit:
        return s.IntLit(_number(c[0]), _span(meta))

    def args(self, meta: Meta, c: list[Any]) -> tuple[s.Expr, ...]:
        return tuple(a for a in c if a is not None)

    def path(self, meta: Meta, c: list[Token]) -> tuple[str, ...]:
        return tuple(str(t) for t in c)

    def macro_path(self, meta: Meta, c: list[Token]) -> tuple[str, ...]:
        return tuple(str(t) for t in c)


def _number(tok: Token) -> int:
    text = str(tok).lstrip("0") or "0"
    if len(text) > len(str(MAX_NUMBER)) or int(text) > MAX_NUMBER:
        raise _SyntaxProblem(_span(tok), f"number too large: mcheck takes numbers up to {MAX_NUMBER:,}")
    return int(text)


def _join(a: Span | None, b: Span | None) -> Span | None:
    if a is None or b is None:
        return a or b
    return Span(a.line, a.col, b.end_line, b.end_col)


def _balanced(op: s.BinOp, items: list[s.Expr]) -> s.Expr:
    """items joined by an associative op as a balanced tree (depth log2 n, not n)."""
    level = list(items)
    while len(level) > 1:
        nxt: list[s.Expr] = [s.Binary(op, a, b, _join(a.span, b.span))
                             for a, b in zip(level[::2], level[1::2], strict=False)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def _arm_block(body: Any) -> s.Block:
    if isinstance(body, tuple):  # `block [","]` keeps the optional comma as None
        body = body[0]
    if isinstance(body, s.Block):
        return body
    return s.Block((s.ExprStmt(body, body.span),), body.span)


class _SyntaxProblem(Exception):
    def __init__(self, span: Span | None, message: str) -> None:
        self.span = span
        self.message = message


class _MacroError(Exception):
    def __init__(self, meta: Meta, path: tuple[str, ...]) -> None:
        self.span = _span(meta)
        self.path = path


# Terminal names lark reports, spelled as the user would type them.
_TOKEN_TEXT = {
    "LBRACE": "'{'", "RBRACE": "'}'", "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'",
    "SEMICOLON": "';'", "COMMA": "','", "COLON": "':'", "DOT": "'.'", "EQUAL": "'='",
    "BANG": "'!'", "AMPERSAND": "'&'", "NAME": "a name", "INT": "a number", "$END": "end of file",
    "CMP": "a comparison", "ADDOP": "'+' or '-'",
}


def _token_text(name: str) -> str:
    if name in _TOKEN_TEXT:
        return _TOKEN_TEXT[name]
    for t in _parser().terminals:
        if t.name == name and t.pattern.type == "str":
            return f"'{t.pattern.value}'"
    return name.lower()


# Tokens that could continue an expression: listed only when nothing else would fit, since a
# missing ';' or ')' is what the user more likely meant.
_CONTINUATIONS = frozenset({"'&&'", "'||'", "'..'", "'+' or '-'", "a comparison", "'.'", "'!'", "'('", "'::'"})


def _expected(names: set[str]) -> str:
    texts = sorted({_token_text(n) for n in names})
    if any(t not in _CONTINUATIONS for t in texts):
        texts = [t for t in texts if t not in _CONTINUATIONS]
    if len(texts) > 8:
        return "a statement" if "'let'" in texts else "an expression" if "a name" in texts else ", ".join(texts[:8])
    return " or ".join(texts) if len(texts) <= 2 else ", ".join(texts[:-1]) + " or " + texts[-1]


def _too_deep(tree: lark.Tree[Token]) -> Span | None:
    """Where the tree first nests deeper than MAX_NESTING (checked without recursion), or None.
    A node without a position of its own (an empty rule) is placed at its nearest ancestor's."""
    stack: list[tuple[lark.Tree[Token], int, Span | None]] = [(tree, 1, _span(tree.meta))]
    while stack:
        t, depth, where = stack.pop()
        where = _span(t.meta) or where
        if depth > MAX_NESTING:
            return where or Span(1, 1, 1, 1)
        stack.extend((c, depth + 1, where) for c in reversed(t.children) if isinstance(c, lark.Tree))
    return None


def _end_of_code_before(source: Source, line: int) -> Span | None:
    """Just after the last code on the lines before `line` (skipping blank and `//` comment lines)."""
    for n in range(line - 1, 0, -1):
        code = source.line_text(n).split("//")[0].rstrip()
        if code:
            return Span(n, len(code) + 1, n, len(code) + 2)
    return None


def _refuse_rust(source: Source, line: int, col: int) -> None:
    """Where parsing stopped at Rust the language does not take, say what it is and how to model it."""
    hint = rustisms.explain(source, line, col)
    if hint is not None:
        raise ModelError.at(hint.span, hint.message) from None


def parse_module(source: Source) -> s.Module:
    """Parse a model file; raise ModelError with a located diagnostic on bad syntax."""
    text = " " + source.text[1:] if source.text.startswith("\ufeff") else source.text  # a BOM, as rustc allows
    try:
        tree = _parser().parse(text)
        deep = _too_deep(tree)
        if deep is not None:
            raise ModelError.at(deep, f"the model nests more than {MAX_NESTING} levels deep here; "
                                "mcheck models are small")
        result = _ToSyntax().transform(tree)
    except lark.exceptions.UnexpectedToken as e:
        tok = e.token
        if tok.type != "$END":
            _refuse_rust(source, tok.line or 1, tok.column or 1)
        span: Span | None
        expected = set(e.expected)
        if e.interactive_parser is not None:
            expected = set(e.interactive_parser.accepts()) or expected  # type: ignore[no-untyped-call]
        if tok.type == "$END":
            what = "end of file"
            line = len(source.text.splitlines()) or 1
            span = Span(line, len(source.line_text(line)) + 1, line, len(source.line_text(line)) + 1)
        else:
            what = f"'{tok}'"
            span = _span(tok)
            first_on_line = not source.line_text(tok.line or 1)[: (tok.column or 1) - 1].strip()
            before = _end_of_code_before(source, tok.line or 1)
            if "SEMICOLON" in expected and first_on_line and before is not None:
                # `stmt` then a new line: point where the ';' is missing, as rustc does
                raise ModelError.at(before, f"expected ';', found '{tok}' on line {tok.line}") from None
        raise ModelError.at(span, f"unexpected {what}; expected {_expected(expected)}") from None
    except lark.exceptions.UnexpectedCharacters as e:
        _refuse_rust(source, e.line, e.column)
        span = Span(e.line, e.column, e.line, e.column + 1)
        rest = source.line_text(e.line)[e.column - 1 :]
        if rest.startswith("/*"):
            raise ModelError.at(Span(e.line, e.column, e.line, e.column + 2), "unclosed block comment: "
                                "no '*/' after this '/*'") from None
        char = rest[:1] or "?"
        raise ModelError.at(span, f"unexpected character '{char}'") from None
    except lark.exceptions.UnexpectedEOF as e:
        line = len(source.text.splitlines()) or 1
        span = Span(line, len(source.line_text(line)) + 1, line, len(source.line_text(line)) + 1)
        raise ModelError.at(span, f"unexpected end of file; expected {_expected(set(e.expected))}") from None
    except lark.exceptions.VisitError as e:
        orig = e.orig_exc
        if isinstance(orig, _SyntaxProblem):
            raise ModelError.at(orig.span, orig.message) from None
        if isinstance(orig, _MacroError):
            name = "::".join(orig.path)
            raise ModelError.at(orig.span, f"unknown macro '{name}!' used as a block; expected 'select!'") from None
        raise
    assert isinstance(result, s.Module)
    return result
