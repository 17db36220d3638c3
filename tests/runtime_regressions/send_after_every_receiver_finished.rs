//! tests/runtime_regressions/send_after_every_receiver_finished.mc, written by `mcheck emit-rust`: the model on real tokio (tested with tokio 1.24.2, futures 0.3.21).
use crate::rt;
use futures_util::stream::StreamExt;
use std::sync::OnceLock;

/// The model's resources (`let NAME = ...;`).
struct Res {
    ch: rt::ChanRx,
    nt: tokio::sync::Notify,
}

static RES: OnceLock<Res> = OnceLock::new();

fn res_() -> &'static Res {
    RES.get().expect("resources not created")
}

/// task r (line 11)
async fn task_r(ch: rt::Chan) {
    rt::at(11);
    ch.recv().await;
}

/// task main (line 12)
async fn task_main(ch: rt::Chan) {
    let nt = &res_().nt;
    rt::at(13);
    ch.send().await;
    rt::at(14);
    tokio::time::sleep(rt::ms(1)).await;
    rt::at(15);
    ch.send().await;
    rt::at(16);
    ch.send().await;
    rt::at(17);
    nt.notified().await;
}

/// Creates the resources, then spawns every task of the model.
fn run() -> rt::BoxFut<'static> {
    Box::pin(async {
        let (ch_rx, ch_tx) = rt::channel(1);
        let _ = RES.set(Res { ch: ch_rx, nt: tokio::sync::Notify::new() });
        let ch = rt::Chan::new(&res_().ch, ch_tx, false);
        rt::start(vec![
            ("r".to_string(), false, rt::boxed(task_r(ch.part(false, true)))),
            ("main".to_string(), true, rt::boxed(task_main(ch.part(true, false)))),
        ]);
    })
}

pub const SCHEDULE: &str = "";

pub static CASE: rt::Case = rt::Case {
    model: "tests/runtime_regressions/send_after_every_receiver_finished.mc",
    schedule: SCHEDULE,
    period_ms: 4103,
    has_main: true,
    run,
};
