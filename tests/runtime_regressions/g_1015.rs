//! generated-1015.mc, written by `mcheck emit-rust`: the model on real tokio (tested with tokio 1.24.2, futures 0.3.21).
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

/// task t0 (line 13)
async fn task_t0(ch: rt::Chan) {
    let m = &res_().m;
    let n = &res_().n;
    let sem = &res_().sem;
    let mut a2 = rt::Kept::new({
        let ch = ch.part(true, false);
        async move {
            let sem = &res_().sem;
            let mut s1: futures_util::stream::FuturesUnordered<rt::BoxFut<'static>> = futures_util::stream::FuturesUnordered::new();
            s1.push(rt::boxed(claim(ch.part(true, false))));
            s1.push(rt::boxed(claim(ch.part(true, false))));
            while let Some(_) = { rt::at(13); s1.next() }.await {
                rt::at(13);
                let mut _p = sem.acquire().await;
            }
            ch.try_send();
        }
    });
    rt::at(13);
    a2.await;
    let mut s3: futures_util::stream::FuturesUnordered<rt::BoxFut<'static>> = futures_util::stream::FuturesUnordered::new();
    s3.push(rt::boxed(hold(m, 3)));
    s3.push(rt::boxed(async move {
        let n = &res_().n;
        rt::at(13);
        let mut _g = n.lock().await;
        rt::at(13);
        tokio::time::sleep(rt::ms(1)).await;
    }));
    while let Some(_) = { rt::at(13); s3.next() }.await {
        rt::at(13);
        let mut _p = sem.acquire().await;
    }
    let mut a4 = rt::Kept::new({
        let ch = ch.part(true, false);
        async move {
            rt::at(13);
            let mut p = ch.reserve().await;
            rt::permit_send(&mut p);
        }
    });
    rt::at(13);
    a4.await;
}

/// Creates the resources, then spawns every task of the model.
fn run() -> rt::BoxFut<'static> {
    Box::pin(async {
        let (ch_rx, ch_tx) = rt::channel(1);
        let (ev_rx, ev_tx) = rt::channel(0);
        let _ = RES.set(Res { m: tokio::sync::Mutex::new(()), n: tokio::sync::Mutex::new(()), sem: tokio::sync::Semaphore::new(2), ch: ch_rx, ev: ev_rx, os: rt::OneShared::new(), rw: tokio::sync::RwLock::new(()), nt: tokio::sync::Notify::new() });
        let ch = rt::Chan::new(&res_().ch, ch_tx, true);
        let ev = rt::Chan::new(&res_().ev, ev_tx, true);
        let os = rt::One::new(&res_().os);
        rt::start(vec![
            ("t0".to_string(), false, rt::boxed(task_t0(ch.part(true, false)))),
        ]);
    })
}

pub const SCHEDULE: &str = "";

pub static CASE: rt::Case = rt::Case {
    model: "generated-1015.mc",
    schedule: SCHEDULE,
    period_ms: 12295,
    has_main: false,
    run,
};
