"""Where mcheck keeps what it computes once for many runs: compiled kernels (kernel/build.py) and
the parser's tables (parse.py), under $XDG_CACHE_HOME/mcheck, else ~/.cache/mcheck. Each entry is
keyed by a hash of what it was made from, so a stale one is never used."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "XDG_CACHE_HOME"


def cache_root() -> Path:
    base = os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mcheck"
