"""Composes each atomic sequence of a TransitionSystem into one transition (IR -> IR).

With `atomic` steps (a poll on the current-thread runtime) every path through a sequence, from a
transition that may fire in a quiescent state to the quiescent state where it ends, becomes one
transition: the guards of its steps, substituted along the way, and the composed updates. The
result has only quiescent states, and its steps are what engines count (polls). It is exact: the
path conditions partition what the steps could do. It is also exponential in the branching within
one sequence, which is why the compiler emits steps and not these: an engine that wants them
(the z3 engine) asks for them with a budget and does without when it is exceeded.

Knows nothing about futures; reads only the IR.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from mcheck.budget import Budget
from mcheck.ir import Expr, ExprBuilder, Intervals, Op, Transition, TransitionSystem


@dataclass(frozen=True, slots=True)
class Composed:
    """The composed system, and for each of its transitions the original ones it is made of."""

    ts: TransitionSystem[Any]
    parts: tuple[tuple[int, ...], ...]


class _Subst:
    """Substitution of variables by expressions, folded by the builder as it rebuilds."""

    def __init__(self, b: ExprBuilder, env: dict[int, Expr]) -> None:
        self.b = b
        self.env = env
        self.memo: dict[int, Expr] = {}

    def __call__(self, root: Expr) -> Expr:
        b, memo = self.b, self.memo
        stack: list[tuple[Expr, bool]] = [(root, False)]
        while stack:
            e, expanded = stack.pop()
            if e.uid in memo:
                continue
            if e.op is Op.CONST:
                memo[e.uid] = e
                continue
            if e.op is Op.VAR:
                memo[e.uid] = self.env.get(e.value, e)
                continue
            if not expanded:
                stack.append((e, True))
                stack.extend((a, False) for a in e.args)
                continue
            memo[e.uid] = _rebuild(b, e.op, [memo[a.uid] for a in e.args])
        return memo[root.uid]


def _rebuild(b: ExprBuilder, op: Op, a: list[Expr]) -> Expr:
    match op:
        case Op.NOT:
            return b.not_(a[0])
        case Op.AND:
            return b.and_(*a)
        case Op.OR:
            return b.or_(*a)
        case Op.EQ:
            return b.eq(a[0], a[1])
        case Op.NE:
            return b.ne(a[0], a[1])
        case Op.LT:
            return b.lt(a[0], a[1])
        case Op.LE:
            return b.le(a[0], a[1])
        case Op.ADD:
            return b.add(a[0], a[1])
        case Op.SUB:
            return b.sub(a[0], a[1])
        case Op.MIN:
            return b.min_(a[0], a[1])
        case Op.ITE:
            return b.ite(a[0], a[1], a[2])
    raise AssertionError(op)


def _key(e: Expr) -> tuple[int, int] | None:
    """The `var == const` that a guard tests first (how inner transitions are found quickly)."""
    first = e.args[0] if e.op is Op.AND else e
    if first.op is Op.EQ and first.args[0].op is Op.VAR and first.args[1].op is Op.CONST:
        return first.args[0].value, first.args[1].value
    return None


CHECK_EVERY = 64
"""Partial sequences looked at between two looks at the run's budget (one can take milliseconds)."""


def compose(ts: TransitionSystem[Any], max_paths: int, max_steps: int | None = None,
            budget: Budget | None = None) -> Composed | None:
    """ts with its atomic sequences composed, or None when that takes more than `max_paths`
    composed transitions or `max_steps` partial sequences looked at (default: 20 per path), or
    ts has no atomic sequences to compose. Raises OutOfBudget when the run's `budget` runs out:
    composing can take a minute."""
    max_steps = max_steps if max_steps is not None else 20 * max_paths
    steps = 0
    if not ts.atomic or ts.quiescent is None:
        return None
    b = ts.builder
    by_key: dict[int, dict[int, list[Transition[Any]]]] = {}  # var -> value -> inner transitions testing it first
    unkeyed: list[Transition[Any]] = []
    for t in ts.transitions:
        if t.inner:
            k = _key(t.guard)
            if k is None:
                unkeyed.append(t)
            else:
                by_key.setdefault(k[0], {}).setdefault(k[1], []).append(t)
    iv = Intervals(b, ts.vars)
    rest = {v: b.const(c) for v, c in ts.rest}
    out: list[Transition[Any]] = []
    parts: list[tuple[int, ...]] = []
    for start in ts.transitions:
        if start.inner:
            continue
        pre = _Subst(b, rest)  # a sequence starts in a quiescent state: TransitionSystem.rest holds
        cond0 = pre(start.guard)
        if iv.decide(cond0) is False:
            continue
        # (path condition, values written, values learnt from the path condition, transitions so far)
        work: list[tuple[Expr, dict[int, Expr], dict[int, Expr], tuple[int, ...]]] = [
            (cond0, {v: pre(e) for v, e in start.updates}, _learn(cond0, rest), (start.index,))]
        while work:
            steps += 1
            if steps > max_steps:
                return None
            if budget is not None and steps % CHECK_EVERY == 0:
                budget.check()
            cond, env, known, seq = work.pop()
            sub = _Subst(b, {**known, **env})
            if iv.decide(sub(ts.quiescent)) is True:
                updates = tuple(sorted((v, e) for v, e in env.items()
                                       if e is not b.var(v) and not (v in rest and e is rest[v])))
                out.append(Transition(len(out), cond, updates, start.priority, start.label, start.process))
                parts.append(seq)
                if len(out) > max_paths:
                    return None
                continue
            for t in _candidates(by_key, unkeyed, env):
                if t.process != start.process:
                    continue  # `atomic`: a process in the middle of a sequence excludes every other
                g = sub(t.guard)
                if iv.decide(g) is False:
                    continue
                env2 = dict(env)
                for v, e in t.updates:
                    env2[v] = sub(e)
                known2 = {v: e for v, e in _learn(g, known).items() if v not in env}
                work.append((b.and_(cond, g), env2, known2, (*seq, t.index)))
            if len(work) > max_paths:
                return None
    composed = replace(ts, transitions=tuple(out), atomic=False, quiescent=None)
    return Composed(composed, tuple(parts))


def _learn(cond: Expr, known: dict[int, Expr]) -> dict[int, Expr]:
    """known, plus the `var == const` conjuncts of cond (a variable's value where cond holds)."""
    out = dict(known)
    for c in cond.args if cond.op is Op.AND else (cond,):
        if c.op is Op.EQ and c.args[0].op is Op.VAR and c.args[1].op is Op.CONST:
            out.setdefault(c.args[0].value, c.args[1])
    return out


def _candidates(by_key: dict[int, dict[int, list[Transition[Any]]]], unkeyed: list[Transition[Any]],
                env: dict[int, Expr]) -> list[Transition[Any]]:
    """The inner transitions whose first test can hold after `env` (others are skipped unread)."""
    out = list(unkeyed)
    for var, by_value in by_key.items():
        cur = env.get(var)
        if cur is not None and cur.op is Op.CONST:
            out.extend(by_value.get(cur.value, ()))
        else:
            for ts in by_value.values():
                out.extend(ts)
    return out
