"""The native search kernel: the BFS of bfs.search generated as C for one TransitionSystem.

`codegen` writes the C (successors, stuck check, packing, the visited set, the BFS loop), `build`
compiles and caches it, `search` runs it with bfs.search's result. Like every engine it sees
only the IR. The Python engine (evaluate.py, bfs.py) stays the reference semantics: the kernel
must list the same successors in the same order, and give the same stuck verdicts, state by
state (tests/test_kernel.py), so that both find the same shortest trace.
"""

from __future__ import annotations

import ctypes
import time
from dataclasses import dataclass
from typing import Any

from mcheck.budget import Budget
from mcheck.evaluate import State
from mcheck.ir import TransitionSystem
from mcheck.kernel.build import OPTIMIZE, Build, Library, Unavailable
from mcheck.kernel.codegen import Layout, Unsupported, generate, layout, value_type

__all__ = ["Kernel", "Pending", "Unavailable", "load", "start"]

_CTYPES: dict[str, Any] = {"uint8_t": ctypes.c_uint8, "int8_t": ctypes.c_int8, "uint16_t": ctypes.c_uint16,
                           "int16_t": ctypes.c_int16, "int32_t": ctypes.c_int32}


@dataclass
class Kernel:
    """A compiled kernel for one system, and the model's functions one by one (for tests)."""

    ts: TransitionSystem[Any]
    library: Library
    layout: Layout
    codegen_seconds: float
    value_ctype: Any  # the ctypes type of one variable's value (codegen.value_type)

    @property
    def lib(self) -> ctypes.CDLL:
        return self.library.lib

    @property
    def nv(self) -> int:
        return max(len(self.ts.vars), 1)

    def describe(self, workers: int) -> str:
        """For the summary line: what the kernel cost before the search, and its threads."""
        threads = f"{workers} worker{'s' if workers != 1 else ''}"
        if self.library.cached:
            return f"native kernel, cached, {threads}"
        return f"native kernel, compiled in {self.codegen_seconds + self.library.compile_seconds:.2f} s, {threads}"

    def _vals(self, s: State) -> Any:
        arr = (self.value_ctype * self.nv)()
        for i, x in enumerate(s):
            arr[i] = x
        return arr

    def _state(self, arr: Any, at: int = 0) -> State:
        n = len(self.ts.vars)
        return tuple(arr[at * self.nv : at * self.nv + n])

    def step(self, s: State) -> list[tuple[int, State]]:
        nt = self.lib.k_nt()
        out = (self.value_ctype * (self.nv * nt))()
        tids = (ctypes.c_int32 * nt)()
        k = self.lib.k_step(self._vals(s), out, tids)
        return [(tids[i], self._state(out, i)) for i in range(k)]

    def poll_ends(self, s: State) -> list[tuple[int, State]]:
        ctx = self.lib.k_new(1, 1, 1)
        if not ctx:
            raise MemoryError
        try:
            k = self.lib.k_poll_ends(ctx, self._vals(s))
            if k < 0:
                raise RuntimeError(f"poll_ends failed with {k}")
            out = (self.value_ctype * self.nv)()
            ends = []
            for i in range(k):
                tid = self.lib.k_end(ctx, i, out)
                ends.append((tid, self._state(out)))
            return ends
        finally:
            self.lib.k_free(ctx)

    def stuck_tasks(self, s: State, enabled: set[int] | frozenset[int]) -> int:
        roots = max(len(self.ts.waits.roots), 1)
        flags = (ctypes.c_uint8 * roots)(*(1 if i in enabled else 0 for i in range(roots)))
        return int(self.lib.k_stuck(self._vals(s), flags))

    def overflow(self, s: State) -> bool:
        return bool(self.lib.k_overflow(self._vals(s)))

    def quiescent(self, s: State) -> bool:
        return bool(self.lib.k_quiescent(self._vals(s)))

    def canon(self, s: State) -> State:
        arr = self._vals(s)
        self.lib.k_canon(arr)
        return self._state(arr)

    def roundtrip(self, s: State) -> State | int:
        """s packed and unpacked, or the index of the variable that does not fit the layout."""
        out = (self.value_ctype * self.nv)()
        bad = self.lib.k_roundtrip(self._vals(s), out)
        return bad - 1 if bad else self._state(out)


@dataclass
class Pending:
    """A kernel whose C is written and being compiled in the background (build.Build)."""

    ts: TransitionSystem[Any]
    build: Build
    codegen_seconds: float

    def kernel(self, budget: Budget | None = None) -> Kernel:
        """The kernel, once compiled and loaded; Unavailable or OutOfBudget as build.Build."""
        return Kernel(self.ts, self.build.library(budget), layout(self.ts), self.codegen_seconds,
                      _CTYPES[value_type(self.ts)])

    def cancel(self) -> None:
        self.build.cancel()


def start(ts: TransitionSystem[Any], optimize: str | None = None) -> Pending:
    """Write the kernel for ts and start compiling it (or find it in the cache); Unavailable says
    why there is none. `optimize`: the compiler's optimization flag (default: build.OPTIMIZE)."""
    begin = time.monotonic()
    try:
        source = generate(ts)
    except Unsupported as e:
        raise Unavailable(f"the native kernel does not handle this model: {e}") from None
    seconds = time.monotonic() - begin
    return Pending(ts, Build(source, optimize or OPTIMIZE), seconds)


def load(ts: TransitionSystem[Any], budget: Budget | None = None, optimize: str | None = None) -> Kernel:
    """The kernel for ts, compiled (or from the cache) and loaded: `start`, waited for."""
    return start(ts, optimize).kernel(budget)
