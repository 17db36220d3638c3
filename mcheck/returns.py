"""Guards returned from async fns, for resolve.py: `async fn claim(s: Semaphore) -> SemaphorePermit`
whose body ends with the guard it holds (`g`, `s.acquire().await`, `return g;`), and the caller's
`let g = claim(s).await;` that takes it over. Builds no state: instantiate.py keeps the callee's
acquire held when the callee completes and hands it to the caller's binding (NOTE(returned-guard)).

Rust needs `Option`/`Result` for a path that ends without the guard, so every path must end with
it: the guard is returned only by the body's last statement, and no `return;` precedes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcheck import program as p
from mcheck import syntax as s
from mcheck.source import Span

if TYPE_CHECKING:
    from mcheck.resolve import _BodyChecker

GUARD_TYPES: dict[str, tuple[p.Ty, p.Purpose, p.Ty]] = {
    # the model's spelling -> what the caller binds, and the acquire on which resource that makes it
    "MutexGuard": (p.Ty.GUARD, p.Purpose.LOCK, p.Ty.MUTEX),
    "SemaphorePermit": (p.Ty.GUARD, p.Purpose.ACQUIRE, p.Ty.SEMAPHORE),
    "RwLockReadGuard": (p.Ty.GUARD, p.Purpose.LOCK, p.Ty.RWLOCK),
    "RwLockWriteGuard": (p.Ty.GUARD, p.Purpose.WRITE, p.Ty.RWLOCK),
    "Permit": (p.Ty.PERMIT, p.Purpose.RESERVE, p.Ty.CHANNEL),
}
RETURNED = "returned_guard"
"""The local a tail `m.lock().await` binds (declared by the return itself: it shadows nothing used)."""
_OWNED = {f"Owned{k}": k for k in ("MutexGuard", "SemaphorePermit", "RwLockReadGuard", "RwLockWriteGuard", "Permit")}
_PREFIXES = (("tokio", "sync", "mpsc"), ("tokio", "sync"), ("mpsc",), ("sync", "mpsc"))
HINT = ("an async fn may return a guard it holds: " + ", ".join(f"`-> {k}`" for k in GUARD_TYPES)
        + "; for anything else remove `-> ...` (values are abstracted) and write a failure path as "
        "`if choose() { return; }`")


def declared(ret: s.ReturnType) -> p.Returns | None:
    """The guard type `-> ...` names (a path's `tokio::sync::` and `Owned` dropped); None: no guard."""
    path = ret.path
    for prefix in _PREFIXES:
        if path[: len(prefix)] == prefix and len(path) > len(prefix):
            path = path[len(prefix):]
            break
    name = _OWNED.get("::".join(path), "::".join(path))
    if name not in GUARD_TYPES:
        return None
    return p.Returns(name, GUARD_TYPES[name][0], ret.span)


def guard_of(c: _BodyChecker, fut: p.Future) -> str | None:
    """The guard type `fut.await` gives (an acquire, or a call of an fn that returns a guard)."""
    if isinstance(fut, p.CallFn):
        callee = c.r.syntax_fns.get(fut.fn)
        ret = None if callee is None or callee.returns is None else declared(callee.returns)
        return None if ret is None else ret.type_name
    if not isinstance(fut, p.Acquire):
        return None
    res_ty = c.params.get(fut.res.name) if isinstance(fut.res, p.ParamRef) else next(
        (p.RES_TY[r.kind] for r in c.r.resources.values() if r.index == fut.res.index), None)
    for name, (_ty, purpose, on) in GUARD_TYPES.items():
        if purpose is fut.purpose and on is res_ty:
            return name
    return None


def return_stmt(c: _BodyChecker, st: s.Return, last: bool) -> list[p.Stmt]:
    """`return;` or `return g;` (a tail `g` too) in the body `c` checks; `last`: it is the last
    statement of an fn's body. An async block's `return` leaves the block, which returns nothing."""
    want = c.returns if c.async_floor == 0 else None
    if st.value is None:
        if want is not None:
            c.r.err.add(st.span, f"'{c.where}' returns a {want.type_name}, but this path returns without one",
                        (st.span, "Rust needs an Option or Result for that; model each path as its own fn, "
                                  "or return the guard on every path"))
        return [p.Return(st.span)]
    text = c.r.text(st.value.span)
    if want is None:
        c.r.err.add(st.value.span, f"'{c.where}' returns nothing in the model, so it cannot return '{text}'",
                    (st.value.span, "declare the guard it returns (`-> MutexGuard`), or write `return;`: "
                                    "other values are abstracted"))
        return []
    if not last:
        c.r.err.add(st.span, f"'{c.where}' may return its {want.type_name} only at the end of its body",
                    (st.span, "Rust would need an Option or Result for the other paths; move the return to the "
                              "end, or split the fn"))
        return []
    value = st.value
    while isinstance(value, s.MethodCall) and value.method in ("unwrap", "expect") and isinstance(value.receiver,
                                                                                                   s.Await):
        value = value.receiver
    out: list[p.Stmt] = []
    local: p.Local | None = None
    got: str | None = None
    if isinstance(value, s.Name) and len(value.path) == 1:
        b = c.lookup_local(value.path[0], value.span)
        if b is None or b.local.index not in c.guard_types:
            c.r.err.add(value.span, f"'{text}' is not a guard taken in '{c.where}' by `let {text} = "
                        f"....await;`, so it cannot be returned", (value.span, _RETURNABLE))
            return []
        c.use(b, value.span, "returned", moves=True)
        local, got = b.local, c.guard_types[b.local.index]
    elif isinstance(value, s.Await):
        fut = c.awaited(value.value)
        if fut is None:
            return []
        got = guard_of(c, fut)
        if got is not None:
            local = c.declare(RETURNED, want.ty, value.span)
            out.append(p.AwaitStmt(fut, local, value.span))
    if local is None or got is None:
        c.r.err.add(value.span, f"'{text}' is not a guard", (value.span, _RETURNABLE))
        return []
    if got != want.type_name:
        c.r.err.add(value.span, f"'{c.where}' is declared to return a {want.type_name}, but '{text}' is a {got}",
                    (want.span, "declared here"))
        return []
    return [*out, p.Return(st.span, local)]


def bound_type(c: _BodyChecker, fut: p.Future) -> p.Ty | None:
    """What `let g = fut.await` binds when fut calls an fn that returns a guard."""
    if isinstance(fut, p.CallFn):
        callee = c.r.syntax_fns.get(fut.fn)
        if callee is not None and callee.returns is not None:
            ret = declared(callee.returns)
            return None if ret is None else ret.ty
    return None


def misplaced_call(c: _BodyChecker, e: s.Call, name: str, span: Span | None) -> None:
    """A call of an fn that returns a guard where the guard could not be followed."""
    c.r.err.add(span, f"'{name}' returns a guard, which mcheck follows only when the call is awaited at once",
                (span, f"write `let g = {c.r.text(e.span)}.await;` (or `{c.r.text(e.span)}.await;` to release it "
                       "at once); a select! branch, join!, spawn, a set or a `let f = ..;` future cannot hand "
                       "the guard on yet"))


_RETURNABLE = "return a guard bound by `let g = m.lock().await;` in this body, or write the acquire itself: `m.lock().await`"
