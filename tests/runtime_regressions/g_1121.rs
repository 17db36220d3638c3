//! generated-1121.mc, written by `mcheck emit-rust`: the model on real tokio (tested with tokio 1.24.2, futures 0.3.21).
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
async fn task_t0(ch: rt::Chan, os: rt::One) {
    rt::at(13);
    tokio::time::timeout(rt::ms(10), claim(ch.part(true, false))).await;
    os.send();
}

/// task t1 (line 14)
async fn task_t1(ev: rt::Chan) {
    rt::at(14);
    ev.recv().await;
}

/// task t2 (line 15)
async fn task_t2(ch: rt::Chan, ev: rt::Chan) {
    let m = &res_().m;
    let n = &res_().n;
    let mut __spawn1_ch = Some(ch.part(true, false));
    let mut __spawn2_ev = Some(ev.part(true, true));
    let ch = ch.into_part(false, false);  // the rest was only for its spawned tasks
    let ev = ev.into_part(false, false);  // the rest was only for its spawned tasks
    rt::spawn("spawn@15", {
        let ch = rt::take_or(__spawn1_ch.take(), ch.part(true, false));
        let ev = rt::take_or(__spawn2_ev.take(), ev.part(true, true));
        async move {
            let m = &res_().m;
            let n = &res_().n;
            for _for0 in 0i64..2i64 {
                rt::at(15);
                tokio::time::timeout(rt::ms(10), m.lock()).await;
                rt::at(15);
                m.lock().await;
            }
            let mut s1: futures_util::stream::FuturesUnordered<rt::BoxFut<'static>> = futures_util::stream::FuturesUnordered::new();
            s1.push(rt::boxed(claim(ch.part(true, false))));
            s1.push(rt::boxed(async move {
                let n = &res_().n;
                rt::at(15);
                let mut _g = n.lock().await;
                rt::at(15);
                tokio::time::sleep(rt::ms(5)).await;
            }));
            while let Some(_) = { rt::at(15); s1.next() }.await {}
            let mut f2 = rt::Kept::new(ev.recv());
            rt::at(15);
            tokio::select! {
                biased;
                _ = f2 => {}
                _ = tokio::time::sleep(rt::ms(1)) => {
                    ev.try_send();
                }
            }
        }
    });
}

/// Creates the resources, then spawns every task of the model.
fn run() -> rt::BoxFut<'static> {
    Box::pin(async {
        let (ch_rx, ch_tx) = rt::channel(1);
        let (ev_rx, ev_tx) = rt::channel(0);
        let _ = RES.set(Res { m: tokio::sync::Mutex::new(()), n: tokio::sync::Mutex::new(()), sem: tokio::sync::Semaphore::new(2), ch: ch_rx, ev: ev_rx, os: rt::OneShared::new(), rw: tokio::sync::RwLock::new(()), nt: tokio::sync::Notify::new() });
        let ch = rt::Chan::new(&res_().ch, ch_tx, true);
        let ev = rt::Chan::new(&res_().ev, ev_tx, false);
        let os = rt::One::new(&res_().os);
        rt::start(vec![
            ("t0".to_string(), false, rt::boxed(task_t0(ch.part(true, false), os.part(true, false)))),
            ("t1".to_string(), false, rt::boxed(task_t1(ev.part(false, true)))),
            ("t2".to_string(), false, rt::boxed(task_t2(ch.part(true, false), ev.part(true, true)))),
        ]);
    })
}

pub const SCHEDULE: &str = "";

pub static CASE: rt::Case = rt::Case {
    model: "generated-1121.mc",
    schedule: SCHEDULE,
    period_ms: 40967,
    has_main: false,
    run,
};
