//! generated-1112.mc, written by `mcheck emit-rust`: the model on real tokio (tested with tokio 1.24.2, futures 0.3.21).
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
async fn task_main(ch: rt::Chan, os: rt::One) {
    let m = &res_().m;
    let sem = &res_().sem;
    let rw = &res_().rw;
    let nt = &res_().nt;
    os.send();
    let mut f1 = rt::Kept::new(hold(m, 2));
    rt::at(13);
    tokio::select! {
        biased;
        _ = f1 => {}
        _ = tokio::time::sleep(rt::ms(10)) => {
            rt::at(13);
            tokio::time::timeout(rt::ms(5), {
                let ch = ch.part(true, false);
                let os = os.part(false, true);
                async move {
                    let sem = &res_().sem;
                    rt::at(13);
                    tokio::time::timeout(rt::ms(1), claim(ch.part(true, false))).await;
                    rt::at(13);
                    take(sem, 2).await;
                    rt::at(13);
                    os.recv().await;
                }
            }).await;
            let mut f2 = rt::Kept::new(take(sem, 1));
            rt::at(13);
            match rt::rotation("13:213", 2) {
                0 => tokio::select! {
                    biased;
                    _ = &mut f2 => {}
                    _ = tokio::time::sleep(rt::ms(5)) => {
                        rt::at(13);
                        let mut _r = rw.read().await;
                        nt.notify_one();
                    }
                },
                1 => tokio::select! {
                    biased;
                    _ = tokio::time::sleep(rt::ms(5)) => {
                        rt::at(13);
                        let mut _r = rw.read().await;
                        nt.notify_one();
                    }
                    _ = &mut f2 => {}
                },
                _ => unreachable!(),
            }
            rt::at(13);
            f2.await;
        }
    }
    let mut s3: futures_util::stream::FuturesUnordered<rt::BoxFut<'static>> = futures_util::stream::FuturesUnordered::new();
    s3.push(rt::boxed(claim(ch.part(true, false))));
    s3.push(rt::boxed(claim(ch.part(true, false))));
    while let Some(_) = { rt::at(13); s3.next() }.await {
        ch.try_send();
    }
}

/// task t1 (line 14)
async fn task_t1(ch: rt::Chan) {
    let m = &res_().m;
    let n = &res_().n;
    let rw = &res_().rw;
    let nt = &res_().nt;
    rt::at(14);
    match rt::rotation("14:11", 2) {
        0 => tokio::select! {
            biased;
            _ = nt.notified() => {
                rt::at(14);
                let mut _r = rw.read().await;
                rt::at(14);
                tokio::time::sleep(rt::ms(5)).await;
            }
            _ = nt.notified() => {}
        },
        1 => tokio::select! {
            biased;
            _ = nt.notified() => {}
            _ = nt.notified() => {
                rt::at(14);
                let mut _r = rw.read().await;
                rt::at(14);
                tokio::time::sleep(rt::ms(5)).await;
            }
        },
        _ => unreachable!(),
    }
    let mut s4: futures_util::stream::FuturesUnordered<rt::BoxFut<'static>> = futures_util::stream::FuturesUnordered::new();
    s4.push(rt::boxed(hold(m, 10)));
    s4.push(rt::boxed(async move {
        let n = &res_().n;
        rt::at(14);
        let mut _g = n.lock().await;
        rt::at(14);
        tokio::time::sleep(rt::ms(1)).await;
    }));
    while let Some(_) = { rt::at(14); s4.next() }.await {}
    rt::at(14);
    tokio::time::timeout(rt::ms(10), claim(ch.part(true, false))).await;
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
            ("main".to_string(), true, rt::boxed(task_main(ch.part(true, false), os.part(true, true)))),
            ("t1".to_string(), false, rt::boxed(task_t1(ch.part(true, false)))),
        ]);
    })
}

pub const SCHEDULE: &str = "";

pub static CASE: rt::Case = rt::Case {
    model: "generated-1112.mc",
    schedule: SCHEDULE,
    period_ms: 40967,
    has_main: true,
    run,
};
