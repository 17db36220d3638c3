"""Run the real tokio program beside each construct model and compare it with the model's verdict.

    python tools/constructs_tokio.py [--dir DIR] [SUBSTRING ...]

Every `models/constructs/NAME.rs` is built as a binary of one scratch cargo crate (in DIR, by
default under the system's temporary directory, never in the repository) against Debian's packaged
tokio 1.24.2, offline (`apt-get install -y librust-tokio-dev librust-futures-dev`), and run. Each
program prints DONE (its case completed) or HANG (still stuck after 10 s of paused time). The
model NAME.mc beside it expects DONE when its `// expect-exact:` verdict (else `// expect-untimed:`)
is safe, HANG for a futurelock or deadlock. Prints one line per program; exits 1 on a mismatch.
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

CARGO_TOML = """\
[package]
name = "mcheck-constructs"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
tokio = { version = "1", features = ["rt", "rt-multi-thread", "sync", "time", "macros", "test-util"] }
futures-util = { version = "0.3", default-features = false, features = ["std", "async-await", "async-await-macro"] }
"""

CARGO_CONFIG = """\
[source.crates-io]
replace-with = "debian"

[source.debian]
directory = "/usr/share/cargo/registry"

[net]
offline = true
"""

_VERDICT = re.compile(r"^//\s*expect(-exact|-untimed)?:\s*(\w+)", re.MULTILINE)


def expected_outcome(model: Path) -> str:
    """DONE or HANG, from the model's exact-time verdict (else its untimed one)."""
    verdicts = {kind or "-untimed": v for kind, v in _VERDICT.findall(model.read_text())}
    verdict = verdicts.get("-exact") or verdicts.get("-untimed")
    if verdict is None:
        raise SystemExit(f"{model}: no '// expect-exact:' or '// expect-untimed:' header")
    return "DONE" if verdict == "safe" else "HANG"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "mcheck-constructs-tokio")
    ap.add_argument("names", nargs="*", help="run only programs whose name contains one of these")
    args = ap.parse_args()
    programs = sorted(p for p in CONSTRUCTS.glob("*.rs") if not args.names or any(n in p.stem for n in args.names))
    if not programs:
        print("no programs found", file=sys.stderr)
        return 1
    crate: Path = args.dir
    (crate / ".cargo").mkdir(parents=True, exist_ok=True)
    (crate / "Cargo.toml").write_text(CARGO_TOML)
    (crate / ".cargo" / "config.toml").write_text(CARGO_CONFIG)
    bins = crate / "src" / "bin"
    shutil.rmtree(bins, ignore_errors=True)
    bins.mkdir(parents=True)
    for prog in programs:
        shutil.copy(prog, bins / f"{prog.stem}.rs")
    subprocess.run(["cargo", "build", "--offline", "--release", "-q"], cwd=crate, check=True)
    failed = 0
    for prog in programs:
        want = expected_outcome(prog.with_suffix(".mc"))
        out = subprocess.run([str(crate / "target" / "release" / prog.stem)], capture_output=True, text=True,
                             timeout=60)
        got = out.stdout.strip() or f"exit {out.returncode}"
        ok = got == want
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {prog.stem}: tokio {got}, model expects {want}")
    print(f"{len(programs) - failed} agree, {failed} disagree")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
