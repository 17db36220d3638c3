"""Compile a kernel's C source with the machine's C compiler, cache the shared library, load it.

The library is loaded with ctypes: the kernel's interface is coarse (Python calls it once per
few thousand states, and per state only in the differential test), so a foreign-function layer
that needs no Python headers, no build step of its own and no dependency is enough. The cache
lives in the user's cache directory (`$XDG_CACHE_HOME/mcheck/kernel`, else `~/.cache/...`), keyed
by a hash of the generated source (itself a function of the IR and CODEGEN_VERSION), the compiler
and its flags: a second run of the same model does not compile again.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from mcheck.budget import Budget, OutOfBudget
from mcheck.cache import cache_root

CFLAGS = ("-std=c99", "-fPIC", "-shared", "-pthread", "-w")
OPTIMIZE = "-O1"
"""gcc's -O1: on the pool family the search is 8% slower than at -O2 (N = 7: 31.4 s against 29.2 s
of CPU) but the compile takes a third of the time (1.4 s against 4.1 s; 10 s against 27 s on the
real-size pool model), which is most of the time to a verdict on small and real-size models."""


class Unavailable(Exception):
    """No kernel for this run (no compiler, or it failed): the search runs on the Python engine.
    The message is one line for the user."""


@dataclass(frozen=True, slots=True)
class Library:
    lib: ctypes.CDLL
    path: Path
    compile_seconds: float  # 0.0 when it came from the cache
    cached: bool


def compiler() -> list[str]:
    """The C compiler's command: $CC (which may carry flags), else cc."""
    cc = os.environ.get("CC", "").strip()
    words = shlex.split(cc) if cc else ["cc"]
    found = shutil.which(words[0])
    if found is None:
        where = f"CC={cc}" if cc else "cc is not on PATH"
        raise Unavailable(f"no C compiler found ({where})")
    return [found, *words[1:]]


def cache_dir() -> Path:
    return cache_root() / "kernel"


_loaded: dict[str, ctypes.CDLL] = {}


class Build:
    """The library for a source, being had: from this process or the cache at once, else compiled
    by the C compiler in the background, started here, so that the caller can go on (verify.py runs
    the Python search meanwhile). `library()` waits for it and loads it; `cancel()` stops it.
    Raises Unavailable (with the reason in one line) when the compiler cannot be run.
    `optimize`: the optimization flag (tests compile many small kernels at -O0; the code has no
    undefined behaviour, so it means the same at every level)."""

    def __init__(self, source: str, optimize: str = OPTIMIZE) -> None:
        cc = compiler()
        flags = (optimize, *CFLAGS)
        self.key = hashlib.sha256("\0".join([*cc, *flags, source]).encode()).hexdigest()[:40]
        directory = cache_dir()
        self.target = directory / f"k{self.key}.so"
        self.cached = self.key in _loaded or self.target.exists()
        self.proc: subprocess.Popen[str] | None = None
        self.tmp: Path | None = None
        self.start = time.monotonic()
        if self.cached:
            return
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self.tmp = Path(tempfile.mkdtemp(dir=directory, prefix=".build-"))
            (self.tmp / "kernel.c").write_text(source)
        except OSError as e:
            self._clean()
            raise Unavailable(f"cannot write to the kernel cache {directory}: {e.strerror or e}") from None
        try:
            self.proc = subprocess.Popen([*cc, *flags, "-o", str(self.tmp / "kernel.so"), str(self.tmp / "kernel.c")],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE, text=True, start_new_session=True)
        except OSError as e:
            self._clean()
            raise Unavailable(f"the C compiler {cc[0]} could not be run: {e.strerror or e}") from None

    def library(self, budget: Budget | None = None) -> Library:
        """The loaded library, once the compiler is done. Raises Unavailable when it failed,
        OutOfBudget when --timeout ends the compile (the compiler is stopped)."""
        budget = budget or Budget()
        seconds = 0.0
        if self.proc is not None and self.tmp is not None:
            left = budget.left()
            try:
                _, stderr = self.proc.communicate(timeout=None if left is None else max(left, 0.01))
            except subprocess.TimeoutExpired:
                self.cancel()
                raise OutOfBudget(budget.phase, f"--timeout {budget.timeout:g} s") from None
            so_file = self.tmp / "kernel.so"
            code = self.proc.returncode
            if code != 0 or not so_file.exists():
                self._clean()
                first = next((ln for ln in stderr.splitlines() if "error" in ln), stderr.strip()[:200])
                raise Unavailable(f"the C compiler failed on the kernel (exit {code}): {first.strip()}")
            os.replace(so_file, self.target)  # atomic: a concurrent run sees the whole library or none
            self._clean()
            seconds = time.monotonic() - self.start
        lib = _loaded.get(self.key)
        if lib is None:
            try:
                lib = ctypes.CDLL(str(self.target))
            except OSError as e:
                raise Unavailable(f"cannot load the compiled kernel {self.target}: {e}") from None
            _declare(lib)
            _loaded[self.key] = lib
        return Library(lib, self.target, seconds, self.cached)

    def cancel(self) -> None:
        """Stop the compiler, if it runs, and remove what it wrote."""
        if self.proc is not None and self.proc.poll() is None:
            # the driver's own children (cc1, as) too: they hold its stderr open until they end
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.communicate()
        self._clean()

    def _clean(self) -> None:
        self.proc = None
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None


def _declare(lib: ctypes.CDLL) -> None:
    p, u64, i64, i32 = ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int64, ctypes.c_int32
    ip = ctypes.c_void_p  # a state: an array of the kernel's value type (Kernel.value_ctype)
    tp = ctypes.POINTER(ctypes.c_int32)
    bp = ctypes.POINTER(ctypes.c_uint8)
    sig: dict[str, tuple[list[type], type | None]] = {
        "k_new": ([u64, i64, ctypes.c_int], p),
        "k_free": ([p], None),
        "k_start": ([p], ctypes.c_int),
        "k_run": ([p, u64], ctypes.c_int),
        "k_states": ([p], u64),
        "k_depth": ([p], i64),
        "k_transitions": ([p], u64),
        "k_threaded_blocks": ([p], u64),
        "k_overflow_index": ([p], i64),
        "k_stuck_index": ([p], i64),
        "k_parent": ([p, u64], i64),
        "k_tid": ([p, u64], i32),
        "k_state": ([p, u64, ip], None),
        "k_error_var": ([p], ctypes.c_int),
        "k_error_state": ([p, ip], None),
        "k_bytes": ([p], u64),
        "k_nv": ([], ctypes.c_int),
        "k_nw": ([], ctypes.c_int),
        "k_nt": ([], ctypes.c_int),
        "k_step": ([ip, ip, tp], ctypes.c_int),
        "k_poll_ends": ([p, ip], ctypes.c_int),
        "k_end": ([p, ctypes.c_int, ip], i32),
        "k_stuck": ([ip, bp], ctypes.c_int),
        "k_overflow": ([ip], ctypes.c_int),
        "k_quiescent": ([ip], ctypes.c_int),
        "k_canon": ([ip], None),
        "k_roundtrip": ([ip, ip], ctypes.c_int),
    }
    for name, (args, res) in sig.items():
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = res
