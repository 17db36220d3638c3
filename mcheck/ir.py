"""The transition-system IR: the one thing both engines consume.

A `TransitionSystem` is a vector of bounded integer variables, guarded transitions whose updates
are `Expr`s, and a `WaitGraph` whose greatest fixpoint defines stuck states. Expressions are
hash-consed DAGs built through an `ExprBuilder` (which folds constants); they contain no Python
callbacks, so the BFS can compile them to Python and the z3 engine can translate them.
Nothing here knows about futures: names and labels are opaque data for renderers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Generic, TypeVar


class Op(Enum):
    CONST = "const"
    VAR = "var"
    NOT = "not"
    AND = "and"
    OR = "or"
    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    ADD = "+"
    SUB = "-"
    MIN = "min"
    ITE = "ite"


BOOL_OPS = frozenset({Op.NOT, Op.AND, Op.OR, Op.EQ, Op.NE, Op.LT, Op.LE})


class Expr:
    """A node of the expression DAG. Compare by identity: the builder hash-conses."""

    __slots__ = ("args", "op", "uid", "value")

    def __init__(self, op: Op, args: tuple[Expr, ...], value: int, uid: int) -> None:
        self.op = op
        self.args = args
        self.value = value  # the constant for CONST, the variable index for VAR
        self.uid = uid

    @property
    def is_bool(self) -> bool:
        return self.op in BOOL_OPS or (self.op is Op.ITE and self.args[1].is_bool)

    def __repr__(self) -> str:
        if self.op is Op.CONST:
            return str(self.value)
        if self.op is Op.VAR:
            return f"v{self.value}"
        return f"({self.op.value} {' '.join(map(repr, self.args))})"


class ExprBuilder:
    """Creates hash-consed expressions with constant folding and light simplification."""

    def __init__(self) -> None:
        self._table: dict[tuple[Op, tuple[int, ...], int], Expr] = {}
        self.true = self.const(1, boolean=True)
        self.false = self.const(0, boolean=True)

    def _mk(self, op: Op, args: tuple[Expr, ...], value: int = 0) -> Expr:
        key = (op, tuple(a.uid for a in args), value)
        e = self._table.get(key)
        if e is None:
            e = Expr(op, args, value, len(self._table))
            self._table[key] = e
        return e

    def const(self, value: int, boolean: bool = False) -> Expr:
        if boolean:
            # Boolean constants are (== 0 0) / (!= 0 0) so that `is_bool` holds for them.
            zero = self._mk(Op.CONST, (), 0)
            return self._mk(Op.EQ if value else Op.NE, (zero, zero))
        return self._mk(Op.CONST, (), value)

    def var(self, index: int) -> Expr:
        return self._mk(Op.VAR, (), index)

    @staticmethod
    def is_const(e: Expr) -> bool:
        return e.op is Op.CONST

    def bool_value(self, e: Expr) -> bool | None:
        if e is self.true:
            return True
        if e is self.false:
            return False
        return None

    def not_(self, a: Expr) -> Expr:
        bv = self.bool_value(a)
        if bv is not None:
            return self.false if bv else self.true
        if a.op is Op.NOT:
            return a.args[0]
        if a.op is Op.EQ:
            return self._mk(Op.NE, a.args)
        if a.op is Op.NE:
            return self._mk(Op.EQ, a.args)
        return self._mk(Op.NOT, (a,))

    def and_(self, *xs: Expr) -> Expr:
        return self._junction(Op.AND, xs, absorbing=False)

    def or_(self, *xs: Expr) -> Expr:
        return self._junction(Op.OR, xs, absorbing=True)

    def _junction(self, op: Op, xs: tuple[Expr, ...], absorbing: bool) -> Expr:
        """AND (absorbing False) or OR (absorbing True), flattened, deduplicated and folded."""
        out: list[Expr] = []
        seen: set[int] = set()
        for x in xs:
            for part in x.args if x.op is op else (x,):
                bv = self.bool_value(part)
                if bv is absorbing:
                    return self.true if absorbing else self.false
                if bv is not None or part.uid in seen:
                    continue
                seen.add(part.uid)
                out.append(part)
        if not out:
            return self.false if absorbing else self.true
        return out[0] if len(out) == 1 else self._mk(op, tuple(out))

    def _cmp(self, op: Op, a: Expr, b: Expr) -> Expr:
        if a.op is Op.CONST and b.op is Op.CONST:
            r = {Op.EQ: a.value == b.value, Op.NE: a.value != b.value, Op.LT: a.value < b.value,
                 Op.LE: a.value <= b.value}[op]
            return self.true if r else self.false
        if a is b:
            return self.true if op in (Op.EQ, Op.LE) else self.false
        return self._mk(op, (a, b))

    def eq(self, a: Expr, b: Expr | int) -> Expr:
        return self._cmp(Op.EQ, a, self._int(b))

    def ne(self, a: Expr, b: Expr | int) -> Expr:
        return self._cmp(Op.NE, a, self._int(b))

    def lt(self, a: Expr | int, b: Expr | int) -> Expr:
        return self._cmp(Op.LT, self._int(a), self._int(b))

    def le(self, a: Expr | int, b: Expr | int) -> Expr:
        return self._cmp(Op.LE, self._int(a), self._int(b))

    def _int(self, x: Expr | int) -> Expr:
        return self.const(x) if isinstance(x, int) else x

    def add(self, a: Expr | int, b: Expr | int) -> Expr:
        a, b = self._int(a), self._int(b)
        if a.op is Op.CONST and b.op is not Op.CONST:
            a, b = b, a
        if b.op is Op.CONST:
            if a.op is Op.CONST:
                return self.const(a.value + b.value)
            if a.op is Op.ADD and a.args[1].op is Op.CONST:  # (x + j) + k = x + (j + k)
                return self.add(a.args[0], a.args[1].value + b.value)
            if b.value == 0:
                return a
        return self._mk(Op.ADD, (a, b))

    def sub(self, a: Expr | int, b: Expr | int) -> Expr:
        a, b = self._int(a), self._int(b)
        if b.op is Op.CONST:
            return self.add(a, -b.value)  # x - k is kept as x + (-k), so that it folds
        if a is b:
            return self.const(0)
        return self._mk(Op.SUB, (a, b))

    def min_(self, a: Expr | int, b: Expr | int) -> Expr:
        a, b = self._int(a), self._int(b)
        if a.op is Op.CONST and b.op is Op.CONST:
            return self.const(min(a.value, b.value))
        if a is b:
            return a
        return self._mk(Op.MIN, (a, b))

    def ite(self, c: Expr, a: Expr | int, b: Expr | int) -> Expr:
        a, b = self._int(a), self._int(b)
        bv = self.bool_value(c)
        if bv is not None:
            return a if bv else b
        if a is b:
            return a
        if c.op is Op.NOT:
            return self._mk(Op.ITE, (c.args[0], b, a))
        return self._mk(Op.ITE, (c, a, b))

    def sum_(self, xs: list[Expr]) -> Expr:
        acc = self.const(0)
        for x in xs:
            acc = self.add(acc, x)
        return acc


def _interval_of(op: Op, a: list[tuple[int, int]]) -> tuple[int, int]:
    """Interval arithmetic for one operator (see Intervals.interval)."""
    match op:
        case Op.ADD:
            return a[0][0] + a[1][0], a[0][1] + a[1][1]
        case Op.SUB:
            return a[0][0] - a[1][1], a[0][1] - a[1][0]
        case Op.MIN:
            return min(a[0][0], a[1][0]), min(a[0][1], a[1][1])
        case Op.ITE:
            c = a[0]
            if c == (1, 1):
                return a[1]
            if c == (0, 0):
                return a[2]
            return min(a[1][0], a[2][0]), max(a[1][1], a[2][1])
        case Op.NOT:
            return 1 - a[0][1], 1 - a[0][0]
        case Op.AND:
            return min(x[0] for x in a), min(x[1] for x in a)
        case Op.OR:
            return max(x[0] for x in a), max(x[1] for x in a)
    (alo, ahi), (blo, bhi) = a
    true, false = (1, 1), (0, 0)
    match op:
        case Op.EQ:
            if alo == ahi == blo == bhi:
                return true
            return false if ahi < blo or bhi < alo else (0, 1)
        case Op.NE:
            if alo == ahi == blo == bhi:
                return false
            return true if ahi < blo or bhi < alo else (0, 1)
        case Op.LT:
            return true if ahi < blo else false if alo >= bhi else (0, 1)
        case Op.LE:
            return true if ahi <= blo else false if alo > bhi else (0, 1)
    raise AssertionError(op)


class Intervals:
    """What the variables' declared ranges decide about an expression (the IR keeps every variable
    in its range): bounds of its value over every state, and conditions those bounds decide."""

    def __init__(self, b: ExprBuilder, decls: list[VarDecl] | tuple[VarDecl, ...]) -> None:
        self.b = b
        self.decls = decls
        self.cache: dict[int, tuple[int, int]] = {}

    def interval(self, e: Expr) -> tuple[int, int]:
        hit = self.cache.get(e.uid)
        if hit is not None:
            return hit
        iv = self.cache
        stack: list[tuple[Expr, bool]] = [(e, False)]
        while stack:
            x, expanded = stack.pop()
            if x.uid in iv:
                continue
            if x.op is Op.CONST:
                iv[x.uid] = (x.value, x.value)
                continue
            if x.op is Op.VAR:
                d = self.decls[x.value]
                iv[x.uid] = (d.lo, d.hi)
                continue
            if not expanded:
                stack.append((x, True))
                stack.extend((y, False) for y in x.args)
                continue
            iv[x.uid] = _interval_of(x.op, [iv[y.uid] for y in x.args])
        return iv[e.uid]

    def decide(self, cond: Expr) -> bool | None:
        bv = self.b.bool_value(cond)
        if bv is not None:
            return bv
        lo, hi = self.interval(cond)
        return True if lo == 1 else False if hi == 0 else None


@dataclass(frozen=True, slots=True)
class VarDecl:
    name: str
    lo: int
    hi: int
    init: int


L = TypeVar("L")


@dataclass(frozen=True, slots=True)
class Transition(Generic[L]):
    """Fires when `guard` holds; all updates read the pre-state. Lower `priority` goes first:
    a transition of priority p is enabled only when no transition of lower priority is."""

    index: int
    guard: Expr
    updates: tuple[tuple[int, Expr], ...]
    priority: int
    label: L
    process: int = -1  # the WaitRoot (by index) whose progress this is, or -1
    inner: bool = False  # fires only in the middle of a sequence (never where TransitionSystem.quiescent holds)


class EdgeKind(Enum):
    """Why one node of the wait-for graph waits on another (for explanations only)."""

    POLLS = "polls"  # a future waits for a child it polls
    RESOURCE = "resource"  # queued behind a holder, grantee or earlier waiter
    PRODUCER = "producer"  # waits for a message/value/completion someone may still produce
    RETURN = "return"  # a dormant future waits for its task to come back to it


@dataclass(frozen=True, slots=True)
class WaitNode:
    name: str
    live: Expr
    ready: Expr
    dormant: Expr


@dataclass(frozen=True, slots=True)
class WaitEdge:
    src: int
    dst: int
    cond: Expr
    kind: EdgeKind
    resource: int = -1  # index into the renderer's resource table, or -1


@dataclass(frozen=True, slots=True)
class WaitRoot:
    """A process: stuck when `alive` and its root node is in the stuck set. A process with an
    enabled transition (Transition.process) is never stuck, which lets engines skip the fixpoint."""

    name: str
    node: int
    alive: Expr


@dataclass(frozen=True, slots=True)
class WaitGraph:
    """Stuck set = greatest S with: n in S => live(n), not ready(n), and every edge n->m whose
    cond holds has m in S. A state is stuck when some root is alive with its node in S."""

    nodes: tuple[WaitNode, ...]
    edges: tuple[WaitEdge, ...]
    roots: tuple[WaitRoot, ...]


@dataclass(frozen=True, slots=True)
class TransitionSystem(Generic[L]):
    vars: tuple[VarDecl, ...]
    transitions: tuple[Transition[L], ...]
    waits: WaitGraph
    overflow: Expr  # a bound of the model was exceeded: the state is not explored further
    builder: ExprBuilder = field(compare=False, repr=False)
    # Interchangeable processes: each group lists blocks of variables (same length, corresponding
    # order); permuting a group's blocks maps every behaviour onto an equivalent one, stuck states
    # included. Engines may keep one representative per permutation class (symmetry reduction).
    symmetry: tuple[tuple[tuple[int, ...], ...], ...] = ()
    # Where no process is in the middle of a step sequence (a poll). The stuck predicate is only
    # asked there, and with `atomic`, a process in the middle of one excludes every other (its
    # transitions are the only ones enabled), so engines may run the sequence through without
    # storing its intermediate states, and count the sequence as one step (SPIN's d_step).
    quiescent: Expr | None = None
    atomic: bool = False
    # Values every quiescent state has (the bookkeeping of a sequence is reset when it ends): an
    # invariant the producer guarantees and its tests check; IR passes may assume it where a
    # sequence starts (compose.py).
    rest: tuple[tuple[int, int], ...] = ()

    @property
    def initial(self) -> tuple[int, ...]:
        return tuple(v.init for v in self.vars)
