"""How fast `mcheck scan` reads Rust: lines per second on a generated crate (goal: 100,000 lines in
under 30 s, parse to report). `make bench` runs it; it is a measurement, not a test.

The crate looks like a large service: modules of structs holding tokio resources, methods that
call each other across modules, helper code with no async at all, and in each module one entry
point whose select! loop borrows a future that reaches a lock three calls down (a futurelock in
every third module, its fixed shape in the others).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mcheck.model import TimeMode  # noqa: E402
from mcheck.runs import Options  # noqa: E402
from mcheck.scan.check import scan  # noqa: E402

MODULE = '''use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{{mpsc, Mutex, Semaphore}};
use tokio::time::{{interval, sleep}};

pub struct Store{i} {{
    conn: Mutex<u64>,
    permits: Semaphore,
    events: mpsc::Sender<u64>,
}}

impl Store{i} {{
    pub fn new(events: mpsc::Sender<u64>) -> Self {{
        Store{i} {{ conn: Mutex::new(0), permits: Semaphore::new(4), events }}
    }}

    async fn checkout(&self) -> tokio::sync::MutexGuard<'_, u64> {{
        self.conn.lock().await
    }}

    async fn write(&self, ms: u64) {{
        let _c = self.checkout().await;
        sleep(Duration::from_millis(ms)).await;
    }}

    async fn flush(&self) {{
        let _p = self.permits.acquire().await.unwrap();
        self.write({write_ms}).await;
    }}

    async fn health(&self) {{
        let _c = self.checkout().await;
    }}
}}

pub async fn serve{i}(store: Arc<Store{i}>) {{
    let mut ticker = interval(Duration::from_millis(5));
{body}
}}
{helpers}
'''

BUGGY = '''    let flush = store.flush();
    tokio::pin!(flush);
    loop {
        tokio::select! {
            _ = &mut flush => break,
            _ = ticker.tick() => { store.health().await; }
        }
    }'''

FIXED = '''    let check = async {
        loop {
            sleep(Duration::from_millis(5)).await;
            store.health().await;
        }
    };
    tokio::select! {
        _ = store.flush() => {}
        _ = check => {}
    }
    ticker.tick().await;'''

HELPER = '''
/// Plain synchronous code, as most of a crate is: parsed and indexed, never modelled.
pub fn checksum_{i}_{j}(data: &[u8]) -> u64 {{
    let mut h: u64 = 1469598103934665603;
    for b in data {{
        h ^= *b as u64;
        h = h.wrapping_mul(1099511628211);
        if h % 7 == 0 {{
            h = h.rotate_left(5);
        }}
    }}
    match h % 3 {{
        0 => h / 2,
        1 => h * 3 + 1,
        _ => h,
    }}
}}
'''


def generate(root: Path, lines: int) -> int:
    src = root / "src"
    src.mkdir(parents=True)
    total, i = 0, 0
    while total < lines:
        helpers = "".join(HELPER.format(i=i, j=j) for j in range(20))
        # a few shapes, as in a real crate: two bodies, five write durations
        text = MODULE.format(i=i, body=BUGGY if i % 3 == 0 else FIXED, helpers=helpers, write_ms=10 + 5 * (i % 5))
        (src / f"m{i}.rs").write_text(text)
        total += text.count("\n")
        i += 1
    return i


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=100_000, help="how many lines to generate (default 100,000)")
    ap.add_argument("--goal", type=float, default=30.0, help="seconds the scan should stay under (default 30)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        modules = generate(Path(tmp), args.lines)
        start = time.monotonic()
        result = scan([tmp], Options(time=TimeMode.UNTIMED))
        seconds = time.monotonic() - start
    stuck = sum(1 for s in result.sites if s.blamed and s.verdict == "futurelock")
    print(f"scan: {result.lines:,} lines in {len(result.files)} files ({modules} modules), "
          f"{len(result.checked)} entry points ({len(result.checked) - result.cached} distinct models checked), "
          f"{len(result.sites)} sites, {stuck} futurelocks")
    print(f"scan: {seconds:.1f} s total ({result.extract_seconds:.1f} s parse, index and extract), "
          f"{result.lines / seconds:,.0f} lines/s; goal {args.lines:,} lines in < {args.goal:g} s: "
          f"{'met' if seconds < args.goal else 'NOT met'}")
    expected = (modules + 2) // 3
    if stuck != expected:
        print(f"scan: expected {expected} futurelocks (every third module), got {stuck}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
