"""Issue 8's rule for any input, as a check: run the command line in-process on one file and say
what, if anything, is wrong with the run. Never crash (exit 0-3, no traceback), never hang (a CPU
and a wall bound per input, and a CPU watchdog that interrupts a run that would never end), never mislead
(exit 2 always names `file:line:col`; the verdict printed is the one the exit code means).

Used by the fuzz test (tests/test_fuzz.py) and the regression test over tests/hostile/
(tests/test_hostile.py). `save_regression` keeps an input that ever failed as
tests/hostile/fuzz_<hash>.mc, after `minimize` has made it as small as it can.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from conftest import BUGS_DIR

from mcheck.cli import main

CLEAN_EXITS = frozenset({0, 1, 2, 3})
CPU_BOUND = 10.0
"""Seconds of CPU an input may use from start to exit, whatever its options (each run has a small
--timeout). CPU, not wall-clock time: a busy CI machine stretches the wall clock, not mcheck's work."""

WALL_BOUND = 60.0
"""Seconds from start to exit: what catches a run that waits without working (a blocking read)."""

CPU_WATCHDOG = 40.0
"""Seconds of CPU after which a run is interrupted (SIGPROF: mcheck's own --timeout backstop uses
SIGALRM and the real-time timer, so the two do not interfere)."""

VERDICT_WORDS = {0: ("safe",), 1: ("futurelock found", "deadlock found"), 3: ("inconclusive",)}
"""What the first line of stdout says after `PATH: ` for a text run of one model, by exit code."""


class Hang(BaseException):
    """Raised by the watchdog. Not an Exception, so that mcheck's `except Exception` (which turns
    everything unexpected into exit 4) lets it through."""


@dataclass(frozen=True, slots=True)
class Run:
    args: tuple[str, ...]
    code: int | None  # None: interrupted by the watchdog
    out: str
    err: str
    seconds: float  # wall clock
    cpu: float  # CPU seconds of the process during the run


def run_cli(args: list[str]) -> Run:
    """`mcheck.cli.main(args)` in this process, with stdout and stderr captured and the watchdog armed."""
    out, err = io.StringIO(), io.StringIO()

    def on_prof(signum: int, frame: FrameType | None) -> None:
        raise Hang

    previous = signal.signal(signal.SIGPROF, on_prof)
    signal.setitimer(signal.ITIMER_PROF, CPU_WATCHDOG)
    start, cpu = time.monotonic(), time.process_time()
    code: int | None = None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(args)
    except Hang:
        code = None
    except SystemExit as e:  # argparse
        code = e.code if isinstance(e.code, int) else 2
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
    return Run(tuple(args), code, out.getvalue(), err.getvalue(), time.monotonic() - start,
               time.process_time() - cpu)


def problems(run: Run, path: str, text_format: bool = True) -> list[str]:
    """What is wrong with `run` of the one model file `path` (empty: nothing). `text_format`:
    the run printed text (the default format), so its words can be checked too."""
    if run.code is None:
        return [f"did not finish: interrupted after {CPU_WATCHDOG:g} s of CPU ({run.seconds:.1f} s)"]
    found = []
    if run.code not in CLEAN_EXITS:
        first = (run.err.strip().splitlines() or [""])[-1]
        found.append(f"exit {run.code}: {first[:300]}")
    if "Traceback" in run.out or "Traceback" in run.err:
        found.append("a traceback in the output")
    if run.cpu > CPU_BOUND:
        found.append(f"took {run.cpu:.1f} s of CPU ({run.seconds:.1f} s), more than the bound of {CPU_BOUND:g} s")
    if run.seconds > WALL_BOUND:
        found.append(f"took {run.seconds:.1f} s, more than the bound of {WALL_BOUND:g} s")
    if run.code == 2 and not re.search(re.escape(path) + r":\d+:\d+: error", run.err):
        found.append(f"exit 2 without a {path}:LINE:COL location on stderr: {run.err.strip()[:300]!r}")
    if text_format and run.code in VERDICT_WORDS:
        first = (run.out.splitlines() or [""])[0]
        if not any(first.startswith(f"{path}: {w}") for w in VERDICT_WORDS[run.code]):
            found.append(f"exit {run.code}, but stdout begins {first[:200]!r}")
    return found


def kind_of(problem: str) -> str:
    """The kind of a problem (its first words), for keeping a failure the same while minimizing."""
    return problem.split(":")[0].split(",")[0]


def minimize(data: bytes, fails: Callable[[bytes], bool], seconds: float = 60.0) -> bytes:
    """A smaller input that still `fails`: drop chunks of lines, then of bytes, while it does
    (delta debugging, bounded by `seconds`)."""
    deadline = time.monotonic() + seconds
    for split in (lambda d: d.splitlines(keepends=True), lambda d: [d[i:i + 1] for i in range(len(d))]):
        parts = split(data)
        chunk = max(1, len(parts) // 2)
        while chunk >= 1 and time.monotonic() < deadline:
            i, changed = 0, False
            while i < len(parts) and time.monotonic() < deadline:
                candidate = parts[:i] + parts[i + chunk:]
                if candidate and fails(b"".join(candidate)):
                    parts, changed = candidate, True
                else:
                    i += chunk
            if not changed:
                chunk //= 2
        data = b"".join(parts)
    return data


def save_regression(data: bytes) -> Path:
    """Keep a failing input as tests/hostile/fuzz_<hash>.mc, byte for byte (a comment saying what
    failed could change what it does): tests/test_hostile.py runs it from now on."""
    path = BUGS_DIR / f"fuzz_{hashlib.sha256(data).hexdigest()[:12]}.mc"
    if not path.exists():
        path.write_bytes(data)
    return path
