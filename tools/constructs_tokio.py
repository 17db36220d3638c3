"""Run each hand-written tokio program beside a construct model and compare it with the model's header.

`models/constructs/NAME.rs` is a small real tokio program for `NAME.mc`: it runs on the
current-thread runtime with a paused clock (tokio's `start_paused`, the model's exact time) and
prints DONE when it completes or HANG when a 1 s watchdog fires. The model's `// expect-exact:`
verdict (else `// expect:`) must agree: safe means DONE, futurelock or deadlock means HANG.

Usage: python tools/constructs_tokio.py [--target DIR] [NAME-FILTER]
Needs cargo and Debian's crate sources (`apt-get install -y librust-tokio-dev librust-futures-dev`);
the crate is built offline in a scratch directory outside the repository (default: a temp dir).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONSTRUCTS = ROOT / "models" / "constructs"
REGISTRY = Path("/usr/share/cargo/registry")

CARGO_TOML = """[package]
name = "mcheck-constructs"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
tokio = { version = "1", features = ["rt", "rt-multi-thread", "sync", "time", "macros", "test-util"] }
futures-util = { version = "0.3", default-features = false, features = ["std", "async-await", "async-await-macro"] }
"""

CARGO_CONFIG = f"""[source.crates-io]
replace-with = "debian"

[source.debian]
directory = "{REGISTRY}"

[net]
offline = true
"""


def expected_outcome(model: Path) -> str:
    """DONE or HANG, from the model's exact-time verdict header."""
    text = model.read_text(encoding="utf-8")
    for header in ("expect-exact", "expect"):
        m = re.search(rf"^// {header}:\s*(\w+)", text, re.MULTILINE)
        if m:
            return "DONE" if m.group(1) == "safe" else "HANG"
    raise SystemExit(f"{model}: no '// expect-exact:' or '// expect:' header")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("filter", nargs="?", default="", help="run only programs whose name contains this")
    ap.add_argument("--target", type=Path, help="the scratch crate's directory (kept between runs)")
    args = ap.parse_args(argv)
    programs = sorted(p for p in CONSTRUCTS.glob("*.rs") if args.filter in p.stem)
    if not programs:
        print(f"no programs under {CONSTRUCTS} match '{args.filter}'", file=sys.stderr)
        return 2
    if shutil.which("cargo") is None or not REGISTRY.is_dir():
        print("needs cargo and Debian's crate sources (librust-tokio-dev, librust-futures-dev)", file=sys.stderr)
        return 2
    crate = args.target or Path(tempfile.mkdtemp(prefix="mcheck-constructs-"))
    (crate / ".cargo").mkdir(parents=True, exist_ok=True)
    (crate / "Cargo.toml").write_text(CARGO_TOML)
    (crate / ".cargo" / "config.toml").write_text(CARGO_CONFIG)
    bins = crate / "src" / "bin"
    if bins.exists():
        shutil.rmtree(bins)
    bins.mkdir(parents=True)
    for p in programs:
        shutil.copy(p, bins / p.name)
    build = subprocess.run(["cargo", "build", "--offline", "--release", "-q"], cwd=crate, check=False)
    if build.returncode != 0:
        return 2
    bad = 0
    for p in programs:
        want = expected_outcome(p.with_suffix(".mc"))
        run = subprocess.run([crate / "target" / "release" / p.stem], capture_output=True, text=True,
                             timeout=30, check=False)
        got = run.stdout.strip() or f"exit {run.returncode}"
        ok = got == want
        bad += not ok
        print(f"{'ok ' if ok else 'MISMATCH'} {p.stem:<56} model={want} tokio={got}")
    print(f"{len(programs) - bad} agree, {bad} disagree")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
