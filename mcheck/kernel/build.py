"""Compile a kernel's C source with the machine's C compiler, cache the shared library, load it.

The library is loaded with ctypes: the kernel's interface is coarse (Python calls it once per
few thousand states, and per state only in the differential test), so a foreign-function layer
that needs no Python headers, no build step of its own and no dependency is enough. The cache
lives in the user's cache directory (`$XDG_CACHE_HOME/mcheck/kernel`, else `~/.cache/...`), keyed
by a hash of the generated source (itself a function of the IR and CODEGEN_VERSION), the compiler
and its flags: a second run of the same model does not compile again.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shlex
import shutil
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


def compile_library(source: str, budget: Budget | None = None, optimize: str = OPTIMIZE) -> Library:
    """The loaded library for `source`, compiled unless the cache has it. Raises Unavailable
    (with the reason in one line) when it cannot be had, OutOfBudget when --timeout ends the compile.
    `optimize`: the optimization flag (tests compile many small kernels at -O0; the code has no
    undefined behaviour, so it means the same at every level)."""
    budget = budget or Budget()
    cc = compiler()
    flags = (optimize, *CFLAGS)
    key = hashlib.sha256("\0".join([*cc, *flags, source]).encode()).hexdigest()[:40]
    directory = cache_dir()
    target = directory / f"k{key}.so"
    if key in _loaded:
        return Library(_loaded[key], target, 0.0, True)
    cached = target.exists()
    seconds = 0.0
    if not cached:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise Unavailable(f"cannot create the kernel cache {directory}: {e.strerror or e}") from None
        start = time.monotonic()
        with tempfile.TemporaryDirectory(dir=directory, prefix=".build-") as tmp:
            c_file = Path(tmp) / "kernel.c"
            so_file = Path(tmp) / "kernel.so"
            c_file.write_text(source)
            left = budget.left()
            try:
                proc = subprocess.run([*cc, *flags, "-o", str(so_file), str(c_file)], capture_output=True, text=True,
                                      timeout=None if left is None else max(left, 0.01), stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                raise OutOfBudget(budget.phase, f"--timeout {budget.timeout:g} s") from None
            except OSError as e:
                raise Unavailable(f"the C compiler {cc[0]} could not be run: {e.strerror or e}") from None
            if proc.returncode != 0 or not so_file.exists():
                first = next((ln for ln in proc.stderr.splitlines() if "error" in ln), proc.stderr.strip()[:200])
                raise Unavailable(f"the C compiler failed on the kernel (exit {proc.returncode}): {first.strip()}")
            os.replace(so_file, target)  # atomic: a concurrent run sees the whole library or none
        seconds = time.monotonic() - start
    try:
        lib = ctypes.CDLL(str(target))
    except OSError as e:
        raise Unavailable(f"cannot load the compiled kernel {target}: {e}") from None
    _declare(lib)
    _loaded[key] = lib
    return Library(lib, target, seconds, cached)


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
