"""The z3 engine: bounded model checking for the shortest path to a stuck state, and a proof by
inductive invariant that none is reachable, over the same TransitionSystem IR as bfs.py.

`_Encoding` translates the IR's expressions into z3 terms once, over template variables, and
instantiates them per step by substitution: no second copy of the semantics. The only module that
imports z3; knows nothing about futures; returns data and prints nothing.
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import z3  # type: ignore[import-untyped]

from mcheck.bfs import Stats, peak_rss_mib, poll_ends
from mcheck.budget import DEFAULT_Z3_RLIMIT, Budget, OutOfBudget
from mcheck.compose import Composed, compose
from mcheck.errors import InternalError
from mcheck.evaluate import CompiledSystem, State, compile_system, evaluate
from mcheck.ir import Expr, ExprBuilder, Op, TransitionSystem
from mcheck.trace import Proof

# NOTE(symbolic-semantics): what the encoding mirrors, and why each piece is exact.
# - Transitions (CompiledSystem.step): the priority levels are tried lowest first and the first level
#   with an enabled transition is the only one that fires, so transition t is *firable* when its
#   guard holds and no guard of a lower level does. Updates read the pre-state; other variables keep
#   their value (frame condition).
# - Overflow (bfs.search): a state where `ts.overflow` holds is neither checked for stuckness nor
#   expanded, and is reported (inconclusive) only when no stuck state is reachable at all. So
#   transitions leave only non-overflow states, and a bad state is a non-overflow one.
# - Stuck (evaluate.compile_system's stuck_tasks, ir.WaitGraph): some root is alive with its node in
#   the greatest fixpoint S. Closed sets (n in S => live(n), not ready(n), and cond(e) => dst(e) in S)
#   are closed under union, so the greatest fixpoint is the union of all of them and "some closed set
#   contains the root's node" is exact: one existential Boolean per node. The BFS also skips the
#   fixpoint when every alive root has a firable transition (Transition.process); that conjunct is
#   encoded too, so both engines decide the very same predicate.
# - Symmetry (TransitionSystem.symmetry) is ignored: it only merges states that behave alike, so the
#   shortest distance to a stuck state is the same (tests/test_symbolic.py checks it).
#
# NOTE(symbolic-proof): how safety is proved. An inductive invariant Inv (Init => Inv, Inv and T =>
# Inv', Inv and Bad unsat) is learned as clauses over `variable == value` literals, with z3 as the
# teacher (ICE-style learning): every bad state or counterexample to induction z3 finds in Inv is
# either reachable (then it joins the explored set and every clause it violates is dropped) or is
# excluded by a new clause, the shortest one that holds on every state explored so far. The explored
# set starts as a concrete exploration with evaluate.compile_system (a heuristic only: soundness rests
# on z3's checks, and the invariant is checked again from scratch before it is reported); where the
# two interpreters of the IR disagree about a state, that is an internal error. z3's own CHC engine
# (Spacer) was measured on this IR first: it timed out (60 s) on safe models with 11 reachable states.

# NOTE(symbolic-budget): the engine's work is bounded in z3's resource units (its `rlimit`, counted
# per context and deterministic for the same queries), never by the clock, so its verdict on a model
# does not depend on how busy the machine is. The run's --timeout and --max-memory are only the outer
# bound (checked between queries, and z3's own `timeout` is set to what is left of the run).

PROOF_SHARE = 0.75
"""Share of the work budget the proof may use; BMC has the rest (and whatever the proof left)."""

EXPLORE_STATES = 200_000
"""Concrete states explored to seed the invariant learner (it explores more on demand)."""

LEARN_SHARE = 1 / 6
"""When exploration has found every reachable state, the learner gets this share of the work budget
(at most); then the reachable set itself is the invariant z3 checks (it is inductive by construction)."""


class Outcome(Enum):
    PROVED = "proved"  # no stuck (and no overflow) state is reachable: see `invariant`
    STUCK = "stuck"  # a stuck state is reachable: `path` is a shortest path to one, replayed
    OVERFLOW = "overflow"  # no stuck state is reachable, but a state beyond a bound of the model is
    LIMIT = "limit"  # --max-depth reached before BMC found the stuck state known to be reachable
    UNKNOWN = "unknown"  # out of time, or z3 `unknown`: no stuck state up to depth `depth`; `reason` says why


@dataclass(frozen=True, slots=True)
class Options:
    rlimit: int = DEFAULT_Z3_RLIMIT  # z3 resource units of solving (NOTE(symbolic-budget))
    max_depth: int = 10_000  # BMC checks depths 0 .. max_depth - 1 (as bfs.Limits.max_depth)
    explore_states: int = EXPLORE_STATES


@dataclass(frozen=True, slots=True)
class SymbolicResult:
    outcome: Outcome
    stats: Stats  # of the concrete exploration (states, transitions); depth: the BMC depth
    path: tuple[tuple[int, State], ...] = ()  # as bfs.SearchResult.path: (-1, initial) first
    invariant: Proof | None = None  # PROVED: value-set clauses for variables that do not take every value of their
    # declared range, then the learned clauses (exprs: value sets of every variable, then those clauses)
    depth: int = -1  # every depth up to this one was shown free of stuck states by BMC (-1: none)
    reason: str = ""
    overflow_state: State | None = None  # OVERFLOW: the last state of a shortest path to one


class _Work:
    """z3's resource count in one context (the sum over every query so far), against --z3-rlimit."""

    def __init__(self, rlimit: int) -> None:
        self.spent = 0
        self.flag = f"--z3-rlimit {rlimit:,}"

    def update(self, solver: Any) -> None:
        self.spent = max(self.spent, int(solver.statistics().get_key_value("rlimit count")))


class _Budget:
    """A share of the engine's work (z3 resource units, NOTE(symbolic-budget)) within the run's Budget."""

    def __init__(self, work: _Work, units: int, run: Budget) -> None:
        self.work = work
        self.units = units
        self.limit = work.spent + units  # the resource count at which this share is used up
        self.run = run

    def left(self) -> int:
        return self.limit - self.work.spent

    def share(self, units: int) -> _Budget:
        return _Budget(self.work, min(units, self.left()), self.run)

    def check_run(self) -> None:
        """Raise _OutOfTime if the run's own bounds (--timeout, --max-memory) are reached."""
        try:
            self.run.check()
        except OutOfBudget as e:
            raise _OutOfTime(e.limit) from None

    def configure(self, solver: Any) -> None:
        """Bound solver's next query by what is left of this share and of the run."""
        self.check_run()
        if self.left() <= 0:
            raise _OutOfTime(self.work.flag)
        solver.set("rlimit", self.left())
        wall = self.run.left()
        if wall is not None:
            solver.set("timeout", max(1, int(min(wall, 1e6) * 1000)))


class _OutOfTime(Exception):
    """The engine's work budget, or the run's, is spent; the message names the bound."""


def _check(solver: Any, budget: _Budget, *assumptions: Any) -> Any:
    budget.configure(solver)
    r = solver.check(*assumptions)
    budget.work.update(solver)
    if r == z3.unknown:
        reason = solver.reason_unknown()
        if reason in ("canceled", "timeout", "max. resource limit exceeded", "resource limits reached"):
            budget.check_run()
            raise _OutOfTime(budget.work.flag)
        raise _OutOfTime(f"z3 answered unknown ({reason})")
    return r


class _Encoding:
    """The IR as z3 terms over template variables `x` (pre-state), with `sel` naming the transition."""

    def __init__(self, ts: TransitionSystem[Any]) -> None:
        self.ts = ts
        self.ctx = z3.Context()
        ctx = self.ctx
        n = len(ts.vars)
        self.x = [z3.Int(f"x{i}", ctx) for i in range(n)]
        self.y = [z3.Int(f"y{i}", ctx) for i in range(n)]  # the post-state
        self.sel = z3.Int("sel", ctx)
        self.s = [z3.Bool(f"s{i}", ctx) for i in range(len(ts.waits.nodes))]  # stuck-set membership
        self.true = z3.BoolVal(True, ctx)
        self.false = z3.BoolVal(False, ctx)
        self._memo: dict[int, Any] = {}
        self._decls: dict[int, list[Any]] = {}  # by id() of a variable list that lives as long as self
        guards = [self.boolean(t.guard) for t in ts.transitions]
        levels = sorted({t.priority for t in ts.transitions})
        enabled_below = self.false
        self.firable: list[Any] = [self.false] * len(ts.transitions)
        for level in levels:
            at = [t.index for t in ts.transitions if t.priority == level]
            for i in at:
                self.firable[i] = self.and_(guards[i], z3.Not(enabled_below))
            enabled_below = self.or_(enabled_below, *(guards[i] for i in at))
        self.updates: list[dict[int, Any]] = [{v: self.integer(u) for v, u in t.updates} for t in ts.transitions]
        # Bounds and stuckness are looked at only where no poll is under way: in quiescent states
        # (evaluate.CompiledSystem.blocked / checked).
        self.quiescent = self.boolean(ts.quiescent) if ts.quiescent is not None else self.true
        checked = self.quiescent
        self.overflow = self.and_(self.boolean(ts.overflow), checked)
        self.not_overflow = z3.Not(self.overflow)
        self.init = self.and_(*(xi == v.init for xi, v in zip(self.x, ts.vars, strict=True)))
        self.stuck = self._stuck()
        self.bad = self.and_(self.not_overflow, checked, self.stuck)  # what the BFS reports as stuck
        self.trans = self._trans()

    # ---- expressions ----------------------------------------------------------------------------

    def and_(self, *xs: Any) -> Any:
        return self.true if not xs else xs[0] if len(xs) == 1 else self._junction(z3.z3core.Z3_mk_and, xs)

    def or_(self, *xs: Any) -> Any:
        return self.false if not xs else xs[0] if len(xs) == 1 else self._junction(z3.z3core.Z3_mk_or, xs)

    def _junction(self, mk: Any, xs: Sequence[Any]) -> Any:
        """z3.And / z3.Or of Boolean terms, without the Python API's (slow) coercions."""
        array, n = z3.z3._to_ast_array(xs)
        return z3.BoolRef(mk(self.ctx.ref(), n, array), self.ctx)

    def _as_bool(self, t: Any) -> Any:
        return t if z3.is_bool(t) else t != 0

    def _as_int(self, t: Any) -> Any:
        return z3.If(t, z3.IntVal(1, self.ctx), z3.IntVal(0, self.ctx)) if z3.is_bool(t) else t

    def boolean(self, e: Expr) -> Any:
        return self._as_bool(self._term(e))

    def integer(self, e: Expr) -> Any:
        return self._as_int(self._term(e))

    def _term(self, root: Expr) -> Any:
        """z3 term for root, booleans as z3 Bools (evaluate.evaluate reads them as 0/1, and so do
        the coercions). Iterative: IR expressions can be thousands of nodes deep."""
        memo = self._memo
        stack: list[tuple[Expr, bool]] = [(root, False)]
        while stack:
            e, expanded = stack.pop()
            if e.uid in memo:
                continue
            if e.op is Op.CONST:
                memo[e.uid] = z3.IntVal(e.value, self.ctx)
                continue
            if e.op is Op.VAR:
                memo[e.uid] = self.x[e.value]
                continue
            if not expanded:
                stack.append((e, True))
                stack.extend((a, False) for a in e.args)
                continue
            memo[e.uid] = self._apply(e.op, [memo[a.uid] for a in e.args])
        return memo[root.uid]

    def _apply(self, op: Op, a: list[Any]) -> Any:
        as_bool, as_int = self._as_bool, self._as_int
        if op is Op.NOT:
            return z3.Not(as_bool(a[0]))
        if op is Op.AND:
            return self.and_(*map(as_bool, a))
        if op is Op.OR:
            return self.or_(*map(as_bool, a))
        if op in (Op.EQ, Op.NE):
            same = a[0] == a[1] if z3.is_bool(a[0]) and z3.is_bool(a[1]) else as_int(a[0]) == as_int(a[1])
            return same if op is Op.EQ else z3.Not(same)
        if op is Op.ITE:
            if z3.is_bool(a[1]) and z3.is_bool(a[2]):
                return z3.If(as_bool(a[0]), a[1], a[2])
            return z3.If(as_bool(a[0]), as_int(a[1]), as_int(a[2]))
        x, y = as_int(a[0]), as_int(a[1])
        if op is Op.LT:
            return x < y
        if op is Op.LE:
            return x <= y
        if op is Op.ADD:
            return x + y
        if op is Op.SUB:
            return x - y
        if op is Op.MIN:
            return z3.If(x <= y, x, y)
        raise AssertionError(op)

    # ---- the predicates of NOTE(symbolic-semantics) ---------------------------------------------------

    def _stuck(self) -> Any:
        w = self.ts.waits
        closed = []
        for i, node in enumerate(w.nodes):
            closed.append(z3.Implies(self.s[i], self.and_(self.boolean(node.live), z3.Not(self.boolean(node.ready)))))
        for e in w.edges:
            closed.append(z3.Implies(self.and_(self.s[e.src], self.boolean(e.cond)), self.s[e.dst]))
        alive = [self.boolean(r.alive) for r in w.roots]
        root_in_set = self.or_(*(self.and_(a, self.s[r.node]) for a, r in zip(alive, w.roots, strict=True)))
        not_all_running = self.or_(*(
            self.and_(a, z3.Not(self.or_(*(self.firable[t.index] for t in self.ts.transitions if t.process == i))))
            for i, a in enumerate(alive)))
        return self.and_(not_all_running, root_in_set, *closed)

    def _trans(self) -> Any:
        """T(x, sel, y): from a non-overflow state x, firable transition `sel` leads to y."""
        n_trans = len(self.ts.transitions)
        chosen = [self.sel == i for i in range(n_trans)]
        parts = [self.not_overflow, self.sel >= 0, self.sel < n_trans]
        parts.extend(z3.Implies(c, f) for c, f in zip(chosen, self.firable, strict=True))
        ref = self.ctx.ref()
        for v in range(len(self.ts.vars)):
            value = self.x[v].as_ast()
            for i in reversed(range(n_trans)):
                if v in self.updates[i]:  # If(sel == i, update, value), without the Python API's checks
                    value = z3.z3core.Z3_mk_ite(ref, chosen[i].as_ast(), self.updates[i][v].as_ast(), value)
            parts.append(self.y[v] == z3.ArithRef(value, self.ctx))
        return self.and_(*parts)

    def values(self, m: Any, xs: Sequence[Any]) -> State:
        """The values of the integer constants xs in model m (through the C API: eval is slow)."""
        ref = self.ctx.ref()
        decls = self._decls.get(id(xs))
        if decls is None:
            decls = self._decls[id(xs)] = [v.decl().ast for v in xs]
        out: list[int] = []
        for v, d in zip(xs, decls, strict=True):
            a = z3.z3core.Z3_model_get_const_interp(ref, m.model, d)
            if a and z3.z3core.Z3_is_numeral_ast(ref, a):
                out.append(int(z3.z3core.Z3_get_numeral_string(ref, a)))
            else:  # not in the model: any value does
                out.append(m.eval(v, model_completion=True).as_long())
        return tuple(out)


# ---- concrete exploration (the learner's examples) -------------------------------------------------


class _Explored:
    """States known to be reachable, breadth-first from the initial state (and from any state the
    learner proves reachable), each checked for stuckness with the compiled semantics like the BFS.
    `bits[v][a]` is the set (a bit mask over state numbers) of explored states with variable v == a;
    `index()` brings it up to date."""

    def __init__(self, ts: TransitionSystem[Any], cs: CompiledSystem) -> None:
        self.ts, self.cs = ts, cs
        self.proc = [t.process for t in ts.transitions]
        self.states: list[State] = []
        self.number: dict[State, int] = {}
        self.depth: list[int] = []
        self.bits: list[dict[int, int]] = [{} for _ in ts.vars]
        self.indexed = 0  # states[:indexed] are in `bits`
        self.queue: deque[int] = deque()
        self.expanded: set[int] = set()
        self.transitions = 0
        self.stuck: int | None = None  # the first stuck state found
        self.overflow = False
        self.add(ts.initial, 0)

    def add(self, s: State, depth: int) -> None:
        if s in self.number:
            return
        self.number[s] = len(self.states)
        self.queue.append(len(self.states))
        self.states.append(s)
        self.depth.append(depth)

    def expand(self, i: int) -> list[tuple[int, State]]:
        """Check state i (stuck? overflow?) and add its successors."""
        s = self.states[i]
        if self.cs.blocked(s):
            self.overflow = True
            self.expanded.add(i)
            return []
        succs = self.cs.step(s)
        if i not in self.expanded:
            self.expanded.add(i)
            self.transitions += len(succs)
            if self.stuck is None and self.cs.checked(s) and self.cs.stuck_tasks(s, {self.proc[t] for t, _ in succs}):
                self.stuck = i
            for _, t in succs:
                self.add(t, self.depth[i] + 1)
        return succs

    def explore(self, max_states: int, budget: _Budget) -> None:
        while self.queue and self.stuck is None and len(self.states) < max_states:
            i = self.queue.popleft()
            if i not in self.expanded:
                self.expand(i)
            if i & 0x3FF == 0:
                budget.run.status = f"exploring: {len(self.states):,} states"
                budget.check_run()

    def index(self) -> list[int]:
        """Add the states explored since the last call to `bits`; returns their numbers."""
        lo, hi = self.indexed, len(self.states)
        for v, bits in enumerate(self.bits):
            rows: dict[int, list[int]] = {}
            for i in range(lo, hi):
                rows.setdefault(self.states[i][v], []).append(i)
            for a, numbers in rows.items():
                mask = bytearray(hi // 8 + 1)
                for i in numbers:
                    mask[i >> 3] |= 1 << (i & 7)
                bits[a] = bits.get(a, 0) | int.from_bytes(mask, "little")
        self.indexed = hi
        return list(range(lo, hi))

    def matching(self, cube: Sequence[tuple[int, int]]) -> int:
        """The explored states (a bit mask) in which every `variable == value` of cube holds."""
        acc = -1
        for v, a in cube:
            acc &= self.bits[v].get(a, 0)
            if not acc:
                return 0
        return acc


# ---- learning the invariant (NOTE(symbolic-proof)) ----------------------------------------------------

Cube = tuple[tuple[int, int], ...]  # variable == value literals; a clause of the invariant is a negated cube


class _Proof(Enum):
    PROVED = "proved"
    STUCK = "stuck"  # a stuck state was found reachable


class _Learner:
    def __init__(self, enc: _Encoding, explored: _Explored, budget: _Budget, max_states: int) -> None:
        self.enc, self.explored, self.budget, self.max_states = enc, explored, budget, max_states
        ctx = enc.ctx
        self.stuck_lit, self.overflow_lit = z3.Bool("bad-stuck", ctx), z3.Bool("bad-overflow", ctx)
        self.cubes: list[Cube] = []
        self.queries = 0
        self.seen: list[list[int]] = []  # per variable, the values it takes in explored states
        explored.index()
        self._restart()

    def _restart(self) -> None:
        """Fresh solvers holding the current clauses; every check to be done again."""
        enc = self.enc
        self.seen = [sorted(bits) for bits in self.explored.bits]
        self.step = z3.Solver(ctx=enc.ctx)  # Inv(x) and T(x, sel, y); an assumption picks what y violates
        self.step.add(enc.trans)
        self.badq = z3.Solver(ctx=enc.ctx)  # Inv(x) and Bad(x)
        self.badq.add(z3.Implies(self.stuck_lit, enc.bad), z3.Implies(self.overflow_lit, enc.overflow))
        for v, values in enumerate(self.seen):
            self.step.add(_member(enc.x[v], values))
            self.badq.add(_member(enc.x[v], values))
        for cube in self.cubes:
            self._assert(cube)
        self.bad_checked = False
        # clause i (>= 0), or the value set of variable -1 - i, whose preservation by T is to be checked
        self.pending: deque[int] = deque([-1 - v for v in range(len(enc.x))] + list(range(len(self.cubes))))

    def _assert(self, cube: Cube) -> None:
        clause = self.enc.or_(*(self.enc.x[v] != a for v, a in cube))
        self.step.add(clause)
        self.badq.add(clause)

    @property
    def overflow_is_bad(self) -> bool:
        """Overflow states count as bad until one is found reachable (then the result is at best OVERFLOW)."""
        return not self.explored.overflow

    def _query(self, solver: Any, *assumptions: Any) -> Any:
        self.queries += 1
        return solver.model() if _check(solver, self.budget, *assumptions) == z3.sat else None

    def run(self) -> _Proof:
        enc = self.enc
        while True:
            self.budget.run.status = f"learning the invariant: {len(self.cubes)} clauses, {self.queries} queries"
            if self.explored.stuck is not None:
                return _Proof.STUCK
            self._absorb_new_states()
            if not self.bad_checked:  # clauses only ever strengthen Inv: once clear, bad stays excluded
                m = self._query(self.badq, self.stuck_lit)
                if m is None and self.overflow_is_bad:
                    m = self._query(self.badq, self.overflow_lit)
                if m is not None:
                    self._bad_state(enc.values(m, enc.x))
                    continue
                self.bad_checked = True
            if not self.pending:
                return _Proof.PROVED
            m = self._query(self.step, self._violated(self.pending[0]))
            if m is None:
                self.pending.popleft()
                continue
            self._counterexample(enc.values(m, enc.x), m.eval(enc.sel).as_long(), enc.values(m, enc.y))

    def _violated(self, item: int) -> Any:
        """y violates clause item (>= 0), or the value set of variable -1 - item."""
        enc = self.enc
        if item >= 0:
            return enc.and_(*(enc.y[v] == a for v, a in self.cubes[item]))
        return z3.Not(_member(enc.y[-1 - item], self.seen[-1 - item]))

    def _bad_state(self, x: State) -> None:
        i = self.explored.number.get(x)
        if i is None:
            self._exclude(x)
            return
        self.explored.expand(i)  # it may not have been checked yet
        if self.explored.stuck is None and not self.explored.cs.overflow(x):
            raise InternalError(f"internal error: z3 finds reachable state {x} stuck, the compiled semantics does not")

    def _counterexample(self, x: State, tid: int, y: State) -> None:
        """x satisfies the invariant, and transition tid leads from x to y, which does not."""
        i = self.explored.number.get(x)
        if i is None:
            self._exclude(x)
            return
        known = y in self.explored.number  # then y satisfies every clause: z3 cannot have found it
        succs = self.explored.expand(i)  # x is reachable: so is y, and the clauses y violates go
        if (tid, y) not in succs or known:
            raise InternalError(f"internal error: z3 lets transition {tid} lead from reachable state {x} to {y} "
                                f"outside the invariant; the compiled semantics does not")
        self.explored.explore(self.max_states, self.budget)

    def _absorb_new_states(self) -> None:
        """Drop every clause that a newly explored (reachable) state violates."""
        new = self.explored.index()
        if not new:
            return
        mask = (1 << (new[-1] + 1)) - (1 << new[0])
        kept = [cube for cube in self.cubes if not self.explored.matching(cube) & mask]
        if len(kept) < len(self.cubes) or any(len(vals) != len(bits) for vals, bits in zip(self.seen, self.explored.bits,
                                                                                           strict=True)):
            self.cubes = kept
            self._restart()

    def _exclude(self, x: State) -> None:
        """Add the shortest clause that excludes x and holds in every explored state."""
        cube = _separate(self.explored, x)
        self.cubes.append(cube)
        self._assert(cube)
        self.pending.append(len(self.cubes) - 1)


def _member(x: Any, values: list[int]) -> Any:
    """x is one of values (a sorted list): an interval when they are consecutive."""
    if values[-1] - values[0] + 1 == len(values):
        return z3.And(values[0] <= x, x <= values[-1]) if len(values) > 1 else x == values[0]
    return z3.Or(*(x == a for a in values))


def _separate(explored: _Explored, x: State) -> Cube:
    """The shortest cube of x's literals that no explored state matches: one, two or three literals
    if there is one (first in variable order), else a greedy reduction of all of them."""
    lits = list(enumerate(x))
    masks = [explored.bits[v].get(a, 0) for v, a in lits]
    n = len(lits)
    for i in range(n):
        if not masks[i]:
            return (lits[i],)
    for i in range(n):
        for j in range(i + 1, n):
            if not masks[i] & masks[j]:
                return (lits[i], lits[j])
    if n <= 60:
        for i in range(n):
            for j in range(i + 1, n):
                mij = masks[i] & masks[j]
                for k in range(j + 1, n):
                    if not mij & masks[k]:
                        return (lits[i], lits[j], lits[k])
    keep = list(range(n))
    for i in range(n):
        rest = [j for j in keep if j != i]
        acc = -1
        for j in rest:
            acc &= masks[j]
        if not acc:
            keep = rest
    return tuple(lits[j] for j in keep)


def _validate(enc: _Encoding, seen: list[list[int]], cubes: list[Cube], overflow_is_bad: bool, budget: _Budget) -> None:
    """Check the learned invariant from scratch: initial, inductive, excluding bad states. A failure is
    an internal error, never a verdict."""
    inv_x = enc.and_(*(_member(xv, values) for xv, values in zip(enc.x, seen, strict=True)),
                     *(enc.or_(*(enc.x[v] != a for v, a in cube)) for cube in cubes))
    inv_y = z3.substitute(inv_x, *zip(enc.x, enc.y, strict=True)) if enc.x else inv_x
    bad = enc.or_(enc.bad, enc.overflow) if overflow_is_bad else enc.bad
    for what, query in (("the initial state", enc.and_(enc.init, z3.Not(inv_x))),
                        ("the transitions", enc.and_(inv_x, enc.trans, z3.Not(inv_y))),
                        ("the bad states", enc.and_(inv_x, bad))):
        s = z3.Solver(ctx=enc.ctx)
        s.add(query)
        if _check(s, budget) == z3.sat:
            raise InternalError(f"internal error: the learned invariant does not hold for {what}")


def _reachable_set_proof(ts: TransitionSystem[Any], enc: _Encoding, states: list[State], budget: _Budget) -> Proof:
    """The invariant "the state is one of these" over every reachable state, checked by z3 like a
    learned one: it holds initially, every transition keeps it, and no stuck or overflow state
    satisfies it. Exact, so it always holds when the exploration was complete; it is the fallback
    for systems whose transitions are too large for the learner within its time."""
    seen = [sorted({s[v] for s in states}) for v in range(len(ts.vars))]
    varying = [v for v, values in enumerate(seen) if len(values) > 1]

    def one_state(xs: Sequence[Any], i: int) -> Any:
        if i & 0x3F == 0:
            budget.check_run()  # building the terms takes a while for thousands of states
        return enc.and_(*(xs[v] == states[i][v] for v in varying))

    def inv(xs: Sequence[Any]) -> Any:
        return enc.and_(*(_member(x, values) for x, values in zip(xs, seen, strict=True)),
                        enc.or_(*(one_state(xs, i) for i in range(len(states)))))

    for what, query in (("the initial state", enc.and_(enc.init, z3.Not(inv(enc.x)))),
                        ("the transitions", enc.and_(inv(enc.x), enc.trans, z3.Not(inv(enc.y)))),
                        ("the bad states", enc.and_(inv(enc.x), enc.or_(enc.bad, enc.overflow)))):
        s = z3.Solver(ctx=enc.ctx)
        s.add(query)
        if _check(s, budget) == z3.sat:
            raise InternalError(f"internal error: the reachable-set invariant does not hold for {what}")
    base = _invariant(ts, seen, [])
    b: ExprBuilder = ts.builder
    names = [v.name for v in ts.vars]
    one_of = " || ".join("(" + ", ".join(f"{names[v]} == {s[v]}" for v in varying) + ")" for s in states)
    expr = b.or_(*(b.and_(*(b.eq(b.var(v), s[v]) for v in varying)) for s in states))
    return Proof((*base.clauses, f"one of the {len(states)} reachable states: {one_of}"), (*base.exprs, expr))


def _invariant(ts: TransitionSystem[Any], seen: list[list[int]], cubes: list[Cube]) -> Proof:
    """The invariant in the model's names: a value set per variable that does not take every value of
    its declared range, then the learned clauses."""
    b: ExprBuilder = ts.builder
    names = [v.name for v in ts.vars]
    text: list[str] = []
    exprs: list[Expr] = []
    for i, (decl, values) in enumerate(zip(ts.vars, seen, strict=True)):
        x = b.var(i)
        if values[-1] - values[0] + 1 == len(values):
            exprs.append(b.and_(b.le(values[0], x), b.le(x, values[-1])))
            shown = f"{names[i]} in {values[0]}..{values[-1]}" if len(values) > 1 else f"{names[i]} == {values[0]}"
        else:
            exprs.append(b.or_(*(b.eq(x, a) for a in values)))
            shown = f"{names[i]} in {{{', '.join(map(str, values))}}}"
        if values != list(range(decl.lo, decl.hi + 1)):
            text.append(shown)
    for cube in cubes:
        exprs.append(b.or_(*(b.ne(b.var(v), a) for v, a in cube)))
        text.append(" || ".join(f"{names[v]} != {a}" for v, a in cube))
    return Proof(tuple(text), tuple(exprs))


# ---- BMC ------------------------------------------------------------------------------------------


def _longest_poll(cs: CompiledSystem, explored: _Explored) -> int:
    """The most micro-steps any explored poll takes (NOTE(symbolic-polls)): the longest path from
    an explored quiescent state to the quiescent states where its polls end (the intermediate
    states of a poll form an acyclic graph: loops count spins, and a busy loop ends in a bound)."""
    if not cs.atomic:
        return 1
    longest: dict[State, int] = {}  # intermediate state -> the longest way from it to a poll's end

    def from_(u: State) -> int:
        stack: list[tuple[State, bool]] = [(u, False)]
        while stack:
            x, done = stack.pop()
            if x in longest:
                continue
            succ = [v for _, v in cs.step(x)]
            if done:
                longest[x] = max((1 + (0 if cs.quiescent(v) else longest[v]) for v in succ), default=0)
                continue
            stack.append((x, True))
            stack.extend((v, False) for v in succ if not cs.quiescent(v) and v not in longest)
        return longest[u]

    best = 1
    for s in explored.states:
        if cs.quiescent(s) and not cs.blocked(s):
            for _, v in cs.step(s):
                best = max(best, 1 if cs.quiescent(v) else 1 + from_(v))
    return best


class _Unrolling:
    """x_0 = init, then one frame per step: asserted incrementally; targets are checked under an
    assumption, so depth k is checked only after every shallower depth.

    NOTE(symbolic-polls): with atomic polls (TransitionSystem.atomic) a frame is one poll: up to
    `poll_steps` micro-steps, the first a trigger, each later one a micro-step of the poll or,
    once the poll has ended in a quiescent state, a stutter; the frame ends quiescent. So depth
    counts polls, as the BFS does, and the first depth with a stuck state is the BFS's shortest
    length. `poll_steps` is the longest poll in the explored states (evaluate.longest_poll), which
    is every poll when the exploration is complete."""

    def __init__(self, enc: _Encoding, poll_steps: int) -> None:
        self.enc = enc
        self.poll_steps = poll_steps if enc.ts.atomic else 1
        self.solver = z3.Solver(ctx=enc.ctx)
        self.frames: list[list[Any]] = [self._frame(0, 0)]  # the state at the end of each step
        self.micro: list[list[tuple[Any, list[Any]]]] = []  # per step: (sel, state after) per micro-step
        self.solver.add(z3.substitute(enc.init, *zip(enc.x, self.frames[0], strict=True)) if enc.x else enc.init)
        if enc.ts.atomic:
            self.stutter = enc.and_(*(yv == xv for xv, yv in zip(enc.x, enc.y, strict=True)))

    def _frame(self, k: int, j: int) -> list[Any]:
        return [z3.Int(f"x{i}@{k}.{j}", self.enc.ctx) for i in range(len(self.enc.x))]

    @property
    def depth(self) -> int:
        return len(self.frames) - 1

    def extend(self) -> None:
        enc, k = self.enc, self.depth
        cur = self.frames[k]
        micro: list[tuple[Any, list[Any]]] = []
        for j in range(self.poll_steps):
            nxt = self._frame(k + 1, j + 1) if j + 1 < self.poll_steps else self._frame(k + 1, 0)
            sel = z3.Int(f"sel@{k}.{j}", enc.ctx)
            pairs = [*zip(enc.x, cur, strict=True), *zip(enc.y, nxt, strict=True), (enc.sel, sel)]
            if j == 0 or not enc.ts.atomic:
                self.solver.add(z3.substitute(enc.trans, *pairs))
            else:  # after the poll has ended, stutter
                step = z3.If(enc.quiescent, self.stutter, enc.trans)
                self.solver.add(z3.substitute(step, *pairs))
            micro.append((sel, nxt))
            cur = nxt
        if enc.ts.atomic:
            self.solver.add(z3.substitute(enc.quiescent, *zip(enc.x, cur, strict=True)))
        self.frames.append(cur)
        self.micro.append(micro)

    def check(self, target: Any, budget: _Budget) -> tuple[Any, list[int], list[State]]:
        """Is `target` (over enc.x, enc.s) satisfiable at the last frame? On sat, the transitions
        fired and the states after each, from the initial state (stutters left out)."""
        enc, k = self.enc, self.depth
        nodes = [z3.Bool(f"s{i}@{k}", enc.ctx) for i in range(len(enc.s))]
        pairs = [*zip(enc.x, self.frames[k], strict=True), *zip(enc.s, nodes, strict=True)]
        lit = z3.Bool(f"target@{k}:{target.get_id()}", enc.ctx)
        self.solver.add(z3.Implies(lit, z3.substitute(target, *pairs) if pairs else target))
        r = _check(self.solver, budget, lit)
        if r != z3.sat:
            return r, [], []
        m = self.solver.model()
        sels: list[int] = []
        states = [enc.values(m, self.frames[0])]
        for micro in self.micro:
            for sel, after in micro:
                state = enc.values(m, after)
                if state == states[-1] and enc.ts.atomic and len(sels) and self._quiescent(states[-1]):
                    continue  # a stutter
                sels.append(m.eval(sel, model_completion=True).as_long())
                states.append(state)
        return r, sels, states

    def _quiescent(self, state: State) -> bool:
        q = self.enc.ts.quiescent
        return q is None or bool(evaluate(q, state))


def _replay(cs: CompiledSystem, ts: TransitionSystem[Any], sels: list[int], states: list[State],
            want_overflow: bool) -> tuple[tuple[int, State], ...]:
    """Replay a decoded path on the concrete semantics (the compiled successors the BFS uses): every
    step must be a firable transition leading to the decoded state, and the last state must be stuck
    (or overflow). Any mismatch is an internal error, never a verdict."""
    proc = [t.process for t in ts.transitions]
    cur = ts.initial
    if states[0] != cur:
        raise InternalError(f"internal error: z3 counterexample starts in {states[0]}, not the initial state {cur}")
    path: list[tuple[int, State]] = [(-1, cur)]
    for k, (tid, want) in enumerate(zip(sels, states[1:], strict=True), start=1):
        if cs.blocked(cur):
            raise InternalError(f"internal error: z3 counterexample step {k} leaves a state beyond the model's bounds")
        succs = cs.step(cur)
        got = [s for t, s in succs if t == tid]
        if not got:
            raise InternalError(f"internal error: z3 counterexample step {k} fires transition {tid}, which is not "
                                "firable in the concrete semantics")
        if got[0] != want:
            raise InternalError(f"internal error: z3 counterexample step {k} (transition {tid}) leads to {want}, "
                                f"the concrete semantics to {got[0]}")
        path.append((tid, got[0]))
        cur = got[0]
    if want_overflow:
        if not cs.blocked(cur):
            raise InternalError("internal error: the z3 path to a state beyond the model's bounds does not end in one")
    elif cs.blocked(cur) or not cs.checked(cur) or not cs.stuck_tasks(cur, {proc[t] for t, _ in poll_ends(cs, cur)}):
        raise InternalError("internal error: the z3 counterexample's last state is not stuck in the concrete semantics")
    return tuple(path)


LAYERED_STATES = 5_000
"""The most explored states the layered certificate (`_shallower_clear`) spells out to z3."""


def _shallower_clear(enc: _Encoding, cs: CompiledSystem, budget: _Budget) -> int:
    """The depth of the first stuck state, shown with z3, in one-step queries, to have no stuck
    state at fewer steps; 0 when that cannot be shown in LAYERED_STATES explored states.

    A breadth-first exploration of its own (the learner's may have grown out of order) finds the
    first stuck state at some depth d, every state of fewer steps explored. With S_j the explored
    states of at most j steps, z3 checks that the initial state is in S_0, that every transition
    from S_j leads into S_j+1, and that no state of S_d-1 is stuck. BMC then checks depth d alone,
    instead of proving every shallower depth clear over paths, which grows exponentially with the
    depth. A certificate z3 refutes is an internal error: the two interpreters of the IR disagree."""
    bfs = _Explored(enc.ts, cs)
    bfs.explore(LAYERED_STATES, budget)
    if bfs.stuck is None:
        return 0
    depth = bfs.depth[bfs.stuck]
    if not depth:
        return 0
    layers: list[list[State]] = [[] for _ in range(depth)]
    for state, d in zip(bfs.states, bfs.depth, strict=True):
        if d < depth:
            layers[d].append(state)
    varying = [v for v in range(len(enc.x)) if len({s[v] for layer in layers for s in layer}) > 1]

    def within(xs: Sequence[Any], upto: int) -> Any:
        return enc.or_(*(enc.and_(*(xs[v] == s[v] for v in varying)) for layer in layers[:upto + 1] for s in layer))

    fixed = enc.and_(*(xv == layers[0][0][v] for v, xv in enumerate(enc.x) if v not in varying))
    queries = [("the initial state", enc.and_(enc.init, z3.Not(enc.and_(fixed, within(enc.x, 0)))))]
    for j in range(depth - 1):
        after = z3.substitute(enc.and_(fixed, within(enc.x, j + 1)), *zip(enc.x, enc.y, strict=True)) if enc.x \
            else enc.true
        queries.append((f"the transitions of step {j + 1}", enc.and_(fixed, within(enc.x, j), enc.trans, z3.Not(after))))
    queries.append(("the stuck states", enc.and_(fixed, within(enc.x, depth - 1), enc.bad)))
    for what, query in queries:
        solver = z3.Solver(ctx=enc.ctx)
        solver.add(query)
        if _check(solver, budget) == z3.sat:
            raise InternalError(f"internal error: z3 refutes the explored layers for {what}")
    return depth


def _bmc(unroll: _Unrolling, target: Any, budget: _Budget, max_depth: int) -> tuple[Any, list[int], list[State], int, str]:
    """Check target at depths unroll.depth, unroll.depth + 1, ... < max_depth. Returns the last
    answer (sat: the path; unknown: out of budget, see the last item; unsat: max_depth reached) and
    the deepest depth shown free of the target."""
    clear = unroll.depth - 1
    while unroll.depth < max_depth:
        budget.run.status = f"BMC depth {unroll.depth}"
        try:
            r, sels, states = unroll.check(target, budget)
        except _OutOfTime as e:
            return z3.unknown, [], [], clear, str(e)
        except OutOfBudget as e:  # the CLI's --timeout alarm, between two checks of ours
            return z3.unknown, [], [], clear, e.limit
        if r != z3.unsat:
            return r, sels, states, clear, ""
        clear = unroll.depth
        unroll.extend()
    return z3.unsat, [], [], clear, ""


# ---- the engine ----------------------------------------------------------------------------------


COMPOSE_PATHS = 5_000
"""The most composed transitions (compose.py) the engine takes; beyond, it unrolls micro-steps."""


def search(ts: TransitionSystem[Any], options: Options | None = None,
           compiled: CompiledSystem | None = None, run: Budget | None = None) -> SymbolicResult:
    """Prove that no stuck state is reachable (NOTE(symbolic-proof)), or find a shortest path to one
    by BMC and replay it on the concrete semantics. Out of budget (NOTE(symbolic-budget)): BMC runs
    on with what is left and the result says how deep it got.

    NOTE(symbolic-polls): with atomic polls the engine works on the system whose transitions are
    whole polls (compose.py, from the same IR), so depth counts polls as the BFS does, and every
    state it sees is one the BFS stores. Where composing is too large, it unrolls the micro-steps
    themselves (_Unrolling) and learns the invariant over every state, intermediate ones too."""
    cs = compiled or compile_system(ts)
    if ts.atomic:
        composed = compose(ts, COMPOSE_PATHS, budget=run)
        if composed is not None:
            found = _search(composed.ts, options, compile_system(composed.ts), run)
            return dataclasses.replace(found, path=_expand(found.path, composed, cs))
    return _search(ts, options, cs, run)


def _expand(path: tuple[tuple[int, State], ...], composed: Composed, cs: CompiledSystem) -> tuple[tuple[int, State], ...]:
    """A path over composed transitions as the micro-steps they are made of (replayed on the
    concrete semantics: a composed step that does not replay is an internal error)."""
    if not path:
        return path
    out = [path[0]]
    cur = path[0][1]
    for tid, want in path[1:]:
        for micro in composed.parts[tid]:
            nxt = [t for i, t in cs.step(cur) if i == micro]
            if not nxt:
                raise InternalError(f"internal error: composed transition {tid} does not replay: step {micro} is not "
                                    "firable in the concrete semantics")
            cur = nxt[0]
            out.append((micro, cur))
        if cur != want:
            raise InternalError(f"internal error: composed transition {tid} leads to {want}, its steps to {cur}")
    return tuple(out)


def _search(ts: TransitionSystem[Any], options: Options | None, cs: CompiledSystem, run: Budget | None) -> SymbolicResult:
    options = options or Options()
    run = run or Budget()
    start = time.monotonic()
    enc = _Encoding(ts)
    explored = _Explored(ts, cs)
    budget = _Budget(_Work(options.rlimit), options.rlimit, run)
    unrolling: list[_Unrolling] = []

    def unroll() -> _Unrolling:  # after the exploration, which gives the longest poll
        if not unrolling:
            unrolling.append(_Unrolling(enc, _longest_poll(cs, explored)))
        return unrolling[0]

    def stats(depth: int) -> Stats:
        return Stats(len(explored.states), explored.transitions, max(depth, 0), time.monotonic() - start, peak_rss_mib())

    def shortest(target: Any, overflow: bool, why: str) -> SymbolicResult:
        if not overflow and explored.stuck is not None and not ts.atomic:
            try:
                depth = _shallower_clear(enc, cs, budget)
            except _OutOfTime:
                depth = 0  # BMC goes on depth by depth with what is left
            while unroll().depth < min(depth, options.max_depth - 1):
                unroll().extend()
        r, sels, states, clear, stopped = _bmc(unroll(), target, budget, options.max_depth)
        if r == z3.sat:
            path = _replay(cs, ts, sels, states, overflow)
            if overflow:
                return SymbolicResult(Outcome.OVERFLOW, stats(len(path) - 1), depth=clear, overflow_state=path[-1][1])
            return SymbolicResult(Outcome.STUCK, stats(len(path) - 1), path, depth=clear)
        if r == z3.unsat:
            return SymbolicResult(Outcome.LIMIT, stats(clear), depth=clear,
                                  reason=f"--max-depth {options.max_depth} reached before the search ended")
        upto = f"no stuck state up to depth {clear}" if clear >= 0 else "no depth checked"
        return SymbolicResult(Outcome.UNKNOWN, stats(clear), depth=clear, reason=f"{upto} ({why}; BMC stopped by {stopped})")

    proof_budget = budget.share(int(options.rlimit * PROOF_SHARE))
    try:
        explored.explore(options.explore_states, proof_budget)
        if explored.stuck is None:
            complete = not explored.queue and not explored.overflow  # every reachable state is known
            learn_budget = proof_budget.share(int(options.rlimit * LEARN_SHARE)) if complete else proof_budget
            learner = _Learner(enc, explored, learn_budget, options.explore_states)
            try:
                learned = learner.run()
            except _OutOfTime:
                if not complete or proof_budget.left() <= 0:
                    raise
                proof_budget.check_run()
                proof = _reachable_set_proof(ts, enc, explored.states, proof_budget)
                return SymbolicResult(Outcome.PROVED, stats(0), invariant=proof)
            if learned is _Proof.PROVED:
                _validate(enc, learner.seen, learner.cubes, learner.overflow_is_bad, budget)
                if learner.overflow_is_bad:
                    return SymbolicResult(Outcome.PROVED, stats(0), invariant=_invariant(ts, learner.seen, learner.cubes))
                return shortest(enc.overflow, True, "no stuck state is reachable (proved), but BMC did not reach the "
                                "nearest state beyond a bound of the model")
        return shortest(enc.bad, False, "a stuck state is reachable, but BMC did not reach its depth")
    except (_OutOfTime, OutOfBudget) as e:  # OutOfBudget: the CLI's --timeout alarm, between two checks of ours
        stop = e.limit if isinstance(e, OutOfBudget) else str(e)
        why = stop if stop.startswith("z3 answered") else f"no proof within {stop}"
        return shortest(enc.bad, False, why)
