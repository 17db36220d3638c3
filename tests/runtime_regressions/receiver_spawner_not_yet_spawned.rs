//! tests/runtime_regressions/receiver_spawner_not_yet_spawned.mc, written by `mcheck emit-rust`: the model on real tokio (tested with tokio 1.24.2, futures 0.3.21).
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

/// task main (line 8)
async fn task_main(ch: rt::Chan) {
    let mut __spawn1_ch = Some(ch.part(false, true));
    let ch = ch.into_part(true, false);  // the rest was only for its spawned tasks
    rt::at(9);
    ch.send().await;
    rt::at(10);
    tokio::select! {
        biased;
        _ = async move {} => {}
        _ = tokio::time::sleep(rt::ms(1)) => {
            rt::spawn("spawn@13", {
                let ch = rt::take_or(__spawn1_ch.take(), ch.part(false, true));
                async move {
                    let mut __spawn2_ch = Some(ch.part(false, true));
                    let ch = ch.into_part(false, false);  // the rest was only for its spawned tasks
                    rt::spawn("spawn@13", {
                        let ch = rt::take_or(__spawn2_ch.take(), ch.part(false, true));
                        async move {
                            rt::at(13);
                            ch.recv().await;
                        }
                    });
                }
            });
        }
    }
    rt::at(15);
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

pub const SCHEDULE: &str = "order\tmain\nselect\tmain\t10:5\t0\n";

pub static CASE: rt::Case = rt::Case {
    model: "tests/runtime_regressions/receiver_spawner_not_yet_spawned.mc",
    schedule: SCHEDULE,
    period_ms: 4103,
    has_main: true,
    run,
};
