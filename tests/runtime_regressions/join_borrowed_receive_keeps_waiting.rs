//! tests/runtime_regressions/join_borrowed_receive_keeps_waiting.mc, written by `mcheck emit-rust`: the model on real tokio (tested with tokio 1.24.2, futures 0.3.21).
use crate::rt;
use futures_util::stream::StreamExt;
use std::sync::OnceLock;

/// The model's resources (`let NAME = ...;`).
struct Res {
    ch: rt::ChanRx,
}

static RES: OnceLock<Res> = OnceLock::new();

fn res_() -> &'static Res {
    RES.get().expect("resources not created")
}

/// task main (line 9)
async fn task_main(ch: rt::Chan) {
    let mut f = rt::Kept::new(ch.recv());
    rt::at(11);
    tokio::join!(&mut f, tokio::time::sleep(rt::ms(5)));
    rt::at(12);
    ch.send().await;
}

/// Creates the resources, then spawns every task of the model.
fn run() -> rt::BoxFut<'static> {
    Box::pin(async {
        let (ch_rx, ch_tx) = rt::channel(1);
        let _ = RES.set(Res { ch: ch_rx });
        let ch = rt::Chan::new(&res_().ch, ch_tx, false);
        rt::start(vec![
            ("main".to_string(), true, rt::boxed(task_main(ch.part(true, true)))),
        ]);
    })
}

pub const SCHEDULE: &str = "order\tmain\n";

pub static CASE: rt::Case = rt::Case {
    model: "tests/runtime_regressions/join_borrowed_receive_keeps_waiting.mc",
    schedule: SCHEDULE,
    period_ms: 20487,
    has_main: true,
    run,
};
