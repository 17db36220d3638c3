//! models/rfd609.mc, written by `mcheck emit-rust`: the model on real tokio (tested with tokio 1.24.2, futures 0.3.21).
use crate::rt;
use futures_util::stream::StreamExt;
use std::sync::OnceLock;

/// The model's resources (`let NAME = ...;`).
struct Res {
    lock: tokio::sync::Mutex<()>,
    ready: rt::OneShared,
}

static RES: OnceLock<Res> = OnceLock::new();

fn res_() -> &'static Res {
    RES.get().expect("resources not created")
}

/// async fn lock_op (line 9)
async fn lock_op(m: &'static tokio::sync::Mutex<()>) {
    rt::at(10);
    let mut _g = m.lock().await;
}

/// task holder (line 14)
async fn task_holder(ready: rt::One) {
    let lock = &res_().lock;
    rt::at(15);
    let mut _g = lock.lock().await;
    ready.send();
    rt::at(17);
    tokio::time::sleep(rt::ms(50)).await;
}

/// task main (line 20)
async fn task_main(ready: rt::One) {
    let lock = &res_().lock;
    rt::at(21);
    ready.recv().await;
    let mut f1 = rt::Kept::new(lock_op(lock));
    rt::at(23);
    match rt::rotation("23:5", 2) {
        0 => tokio::select! {
            biased;
            _ = &mut f1 => {}
            _ = tokio::time::sleep(rt::ms(10)) => {
                rt::at(26);
                lock_op(lock).await;
            }
        },
        1 => tokio::select! {
            biased;
            _ = tokio::time::sleep(rt::ms(10)) => {
                rt::at(26);
                lock_op(lock).await;
            }
            _ = &mut f1 => {}
        },
        _ => unreachable!(),
    }
}

/// Creates the resources, then spawns every task of the model.
fn run() -> rt::BoxFut<'static> {
    Box::pin(async {
        let _ = RES.set(Res { lock: tokio::sync::Mutex::new(()), ready: rt::OneShared::new() });
        let ready = rt::One::new(&res_().ready);
        rt::start(vec![
            ("holder".to_string(), false, rt::boxed(task_holder(ready.part(true, false)))),
            ("main".to_string(), true, rt::boxed(task_main(ready.part(false, true)))),
        ]);
    })
}

pub const SCHEDULE: &str = "order\tholder\tmain\nselect\tmain\t23:5\t1\n";

pub static CASE: rt::Case = rt::Case {
    model: "models/rfd609.mc",
    schedule: SCHEDULE,
    period_ms: 204807,
    has_main: true,
    run,
};
