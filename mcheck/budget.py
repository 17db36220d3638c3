"""The bounds of one run and what it is doing: `--timeout` (wall clock), `--max-memory`, and the
phase and status that progress reports name.

The CLI makes one `Budget` per run and every phase receives it explicitly: a phase says which it
is (`enter`), publishes a short status for progress reports, and calls `check` in its loops, which
raises `OutOfBudget` when the run is over a bound. Nothing here prints; the CLI reads `phase` and
`status` from its progress thread.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from enum import Enum

from mcheck.errors import MCheckError


class Phase(Enum):
    READ = "reading the model"
    PARSE = "parsing"
    RESOLVE = "checking the model"
    COMPILE = "compiling"
    CODEGEN = "generating code"
    KERNEL = "compiling the native kernel"
    SEARCH = "searching"
    Z3 = "running the z3 engine"
    VICTIMS = "searching for victims"
    EXPLAIN = "explaining the stuck state"
    STARVATION = "searching for starvation"


class OutOfBudget(MCheckError):
    """The run went over --timeout or --max-memory in `phase`: inconclusive (exit 3)."""

    def __init__(self, phase: Phase, limit: str) -> None:
        self.phase = phase
        self.limit = limit
        super().__init__(f"{limit} reached while {phase.value}")


DEFAULT_Z3_RLIMIT = 120_000_000
"""The z3 engine's work budget (--z3-rlimit) in z3's deterministic resource units (its `rlimit`):
about a minute of solving on this project's 2-core machine (2.2M units/s). See NOTE(symbolic-budget)."""

MEMORY_CHECK_EVERY = 16
"""`check` reads the process's memory on one call in this many (a read of /proc costs ~10 µs)."""


def physical_memory_mib() -> float | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    except (ValueError, OSError, AttributeError):
        return None


def address_space_limit_mib() -> float | None:
    """The process's address-space limit (`ulimit -v`, RLIMIT_AS), if it has one."""
    try:
        soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    except (ValueError, OSError, AttributeError):
        return None
    return None if soft == resource.RLIM_INFINITY else soft / (1024 * 1024)


def cores() -> int:
    """The cores this process may run on: the default of --workers, and the C compiles run at once."""
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return max(os.cpu_count() or 1, 1)


def default_workers() -> int:
    """The default of --workers: the cores available; one under an address-space limit (`ulimit
    -v`), where each thread's stack and successor buffers take address space the search needs."""
    return 1 if address_space_limit_mib() is not None else cores()


def default_max_memory_mib() -> float | None:
    """80% of physical memory: the search stops (inconclusive) before the machine starts to swap;
    under an address-space limit (`ulimit -v`), 75% of that, so that the search stops with what
    it explored before an allocation fails."""
    phys, limit = physical_memory_mib(), address_space_limit_mib()
    bounds = ([phys * 0.8] if phys is not None else []) + ([limit * 0.75] if limit is not None else [])
    return min(bounds, default=None)


def rss_mib() -> float:
    """The process's resident memory now (Linux), else its peak so far; under an address-space
    limit, its address space if that is larger (what the limit counts)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            size, resident = (int(x) for x in f.read().split()[:2])
        pages = max(size, resident) if address_space_limit_mib() is not None else resident
        return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


class Budget:
    """A run's deadline and memory ceiling (None: unbounded), and what it is doing now."""

    def __init__(self, timeout: float | None = None, max_memory_mib: float | None = None) -> None:
        self.start = time.monotonic()
        self.timeout = timeout
        self.deadline = None if timeout is None else self.start + timeout
        self.max_memory_mib = max_memory_mib
        self.phase = Phase.READ
        self.phase_start = self.start
        self.status = ""  # what the phase is doing, in a few words ("12,345 states, depth 7")
        self._calls = 0

    def enter(self, phase: Phase, status: str = "", check: bool = True) -> None:
        """Start `phase`; unless `check` is False, raise OutOfBudget if the run is already over a
        bound (False: a phase that bounds itself and must run, such as the victim search after a
        stuck state found in time)."""
        self.phase = phase
        self.phase_start = time.monotonic()
        self.status = status
        if check:
            self.check()

    def left(self) -> float | None:
        """Seconds until the deadline (None: no deadline)."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def check(self) -> None:
        """Raise OutOfBudget if the run is past its deadline or over its memory ceiling."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise OutOfBudget(self.phase, f"--timeout {self.timeout:g} s")
        self._calls += 1
        if self.max_memory_mib is not None and self._calls % MEMORY_CHECK_EVERY == 0 and self.over_memory():
            raise OutOfBudget(self.phase, f"--max-memory {self.max_memory_mib:,.0f} MiB")

    def over_memory(self) -> bool:
        return self.max_memory_mib is not None and rss_mib() > self.max_memory_mib
