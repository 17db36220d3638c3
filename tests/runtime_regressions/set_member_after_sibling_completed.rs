//! tests/runtime_regressions/set_member_after_sibling_completed.mc, written by `mcheck emit-rust`: the model on real tokio (tested with tokio 1.24.2, futures 0.3.21).
use crate::rt;
use futures_util::stream::StreamExt;
use std::sync::OnceLock;

/// The model's resources (`let NAME = ...;`).
struct Res {
    m: tokio::sync::Mutex<()>,
}

static RES: OnceLock<Res> = OnceLock::new();

fn res_() -> &'static Res {
    RES.get().expect("resources not created")
}

/// async fn lk (line 11)
async fn lk(x: &'static tokio::sync::Mutex<()>) {
    rt::at(11);
    x.lock().await;
}

/// async fn nap (line 12)
async fn nap(ms: i64) {
    rt::at(12);
    tokio::time::sleep(rt::ms(ms)).await;
}

/// task t0 (line 13)
async fn task_t0() {
    let m = &res_().m;
    rt::at(14);
    let mut _g = m.lock().await;
    let mut s1: futures_util::stream::FuturesUnordered<rt::BoxFut<'static>> = futures_util::stream::FuturesUnordered::new();
    s1.push(rt::boxed(lk(m)));
    s1.push(rt::boxed(nap(1)));
    while let Some(_) = { rt::at(18); s1.next() }.await {}
}

/// Creates the resources, then spawns every task of the model.
fn run() -> rt::BoxFut<'static> {
    Box::pin(async {
        let _ = RES.set(Res { m: tokio::sync::Mutex::new(()) });
        rt::start(vec![
            ("t0".to_string(), false, rt::boxed(task_t0())),
        ]);
    })
}

pub const SCHEDULE: &str = "";

pub static CASE: rt::Case = rt::Case {
    model: "tests/runtime_regressions/set_member_after_sibling_completed.mc",
    schedule: SCHEDULE,
    period_ms: 4103,
    has_main: false,
    run,
};
