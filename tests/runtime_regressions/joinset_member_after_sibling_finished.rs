//! tests/runtime_regressions/joinset_member_after_sibling_finished.mc, written by `mcheck emit-rust`: the model on real tokio (tested with tokio 1.24.2, futures 0.3.21).
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

/// task t0 (line 8)
async fn task_t0() {
    let m = &res_().m;
    rt::at(9);
    let mut _g = m.lock().await;
    let mut set: tokio::task::JoinSet<()> = tokio::task::JoinSet::new();
    set.spawn(rt::task("spawn@11", async move {
        rt::at(11);
        tokio::time::sleep(rt::ms(1)).await;
    }));
    set.spawn(rt::task("spawn@12", async move {
        let m = &res_().m;
        rt::at(12);
        m.lock().await;
    }));
    while let Some(_) = { rt::at(13); set.join_next() }.await {}
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

pub const SCHEDULE: &str = "order\tt0\tspawn@11\tspawn@12\n";

pub static CASE: rt::Case = rt::Case {
    model: "tests/runtime_regressions/joinset_member_after_sibling_finished.mc",
    schedule: SCHEDULE,
    period_ms: 4103,
    has_main: false,
    run,
};
