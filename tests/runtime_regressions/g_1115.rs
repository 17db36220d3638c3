//! generated-1115.mc, written by `mcheck emit-rust`: the model on real tokio (tested with tokio 1.24.2, futures 0.3.21).
use crate::rt;
use futures_util::stream::StreamExt;
use std::sync::OnceLock;

/// The model's resources (`let NAME = ...;`).
struct Res {
    m: tokio::sync::Mutex<()>,
    n: tokio::sync::Mutex<()>,
    sem: tokio::sync::Semaphore,
    ch: rt::ChanRx,
    ev: rt::ChanRx,
    os: rt::OneShared,
    rw: tokio::sync::RwLock<()>,
    nt: tokio::sync::Notify,
}

static RES: OnceLock<Res> = OnceLock::new();

fn res_() -> &'static Res {
    RES.get().expect("resources not created")
}

/// async fn hold (line 9)
async fn hold(x: &'static tokio::sync::Mutex<()>, ms: i64) {
    rt::at(9);
    let mut _g = x.lock().await;
    rt::at(9);
    tokio::time::sleep(rt::ms(ms)).await;
}

/// async fn take (line 10)
async fn take(s: &'static tokio::sync::Semaphore, k: i64) {
    rt::at(10);
    let mut _p = s.acquire_many(k as u32).await;
    rt::at(10);
    tokio::time::sleep(rt::ms(1)).await;
}

/// async fn claim (line 11)
async fn claim(c: rt::Chan) {
    rt::at(11);
    c.send().await;
}

/// async fn pass (line 12)
async fn pass(c: rt::Chan) {
    rt::at(12);
    c.recv().await;
}

/// task main (line 13)
async fn task_main(ch: rt::Chan) {
    let m = &res_().m;
    let rw = &res_().rw;
    let mut __spawn1_ch = Some(ch.part(false, true));
    let ch = ch.into_part(true, false);  // the rest was only for its spawned tasks
    let mut a1 = rt::Kept::new({
        let ch = ch.part(true, false);
        async move {
            let rw = &res_().rw;
            rt::at(13);
            let mut _w = rw.write().await;
            rt::at(13);
            claim(ch.part(true, false)).await;
            rt::at(13);
            ch.send().await;
        }
    });
    rt::at(13);
    a1.await;
    rt::spawn("spawn@13", {
        let ch = rt::take_or(__spawn1_ch.take(), ch.part(false, true));
        async move {
            let m = &res_().m;
            rt::at(13);
            m.lock().await;
            rt::at(13);
            ch.recv().await;
        }
    });
    rt::at(13);
    tokio::time::timeout(rt::ms(2), claim(ch.part(true, false))).await;
}

/// task t1 (line 14)
async fn task_t1() {
    let sem = &res_().sem;
    rt::at(14);
    let mut _p = sem.acquire().await;
}

/// Creates the resources, then spawns every task of the model.
fn run() -> rt::BoxFut<'static> {
    Box::pin(async {
        let (ch_rx, ch_tx) = rt::channel(1);
        let (ev_rx, ev_tx) = rt::channel(0);
        let _ = RES.set(Res { m: tokio::sync::Mutex::new(()), n: tokio::sync::Mutex::new(()), sem: tokio::sync::Semaphore::new(2), ch: ch_rx, ev: ev_rx, os: rt::OneShared::new(), rw: tokio::sync::RwLock::new(()), nt: tokio::sync::Notify::new() });
        let ch = rt::Chan::new(&res_().ch, ch_tx, false);
        let ev = rt::Chan::new(&res_().ev, ev_tx, true);
        let os = rt::One::new(&res_().os);
        rt::start(vec![
            ("main".to_string(), true, rt::boxed(task_main(ch.part(true, true)))),
            ("t1".to_string(), false, rt::boxed(task_t1())),
        ]);
    })
}

pub const SCHEDULE: &str = "";

pub static CASE: rt::Case = rt::Case {
    model: "generated-1115.mc",
    schedule: SCHEDULE,
    period_ms: 8199,
    has_main: true,
    run,
};
