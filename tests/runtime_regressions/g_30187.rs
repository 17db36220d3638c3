//! generated-30187.mc, written by `mcheck emit-rust`: the model on real tokio (tested with tokio 1.24.2, futures 0.3.21).
use crate::rt;
use futures_util::stream::StreamExt;
use std::sync::OnceLock;

/// The model's resources (`let NAME = ...;`).
struct Res {
    ev1: rt::ChanRx,
    nt2: tokio::sync::Notify,
    m3: tokio::sync::Mutex<()>,
    rw4: tokio::sync::RwLock<()>,
    ch5: rt::ChanRx,
}

static RES: OnceLock<Res> = OnceLock::new();

fn res_() -> &'static Res {
    RES.get().expect("resources not created")
}

/// async fn work6 (line 6)
async fn work6(x: &'static tokio::sync::RwLock<()>, ms: i64) {
    rt::at(6);
    let mut _w = x.write().await;
    rt::at(6);
    tokio::time::sleep(rt::ms(ms)).await;
}

/// task t9 (line 7)
async fn task_t9() {
    let rw4 = &res_().rw4;
    let mut set7: futures_util::stream::FuturesUnordered<rt::BoxFut<'static>> = futures_util::stream::FuturesUnordered::new();
    set7.push(rt::boxed(work6(rw4, 3)));
    set7.push(rt::boxed(work6(rw4, 3)));
    set7.push(rt::boxed(work6(rw4, 5)));
    loop {
        rt::at(13);
        match rt::rotation("13:1", 2) {
            0 => tokio::select! {
                biased;
                _ = set7.next() => {
                    loop {
                        let mut n8: i64 = 2;
                        rt::at(13);
                        tokio::time::sleep(rt::ms(5)).await;
                        rt::at(13);
                        tokio::time::sleep(rt::ms(50)).await;
                        if (n8 != 2) {
                            break;
                        }
                    }
                }
                _ = tokio::time::sleep(rt::ms(10)) => {
                    break;
                }
            },
            1 => tokio::select! {
                biased;
                _ = tokio::time::sleep(rt::ms(10)) => {
                    break;
                }
                _ = set7.next() => {
                    loop {
                        let mut n8: i64 = 2;
                        rt::at(13);
                        tokio::time::sleep(rt::ms(5)).await;
                        rt::at(13);
                        tokio::time::sleep(rt::ms(50)).await;
                        if (n8 != 2) {
                            break;
                        }
                    }
                }
            },
            _ => unreachable!(),
        }
    }
}

/// task t17 (line 16)
async fn task_t17(ch5: rt::Chan) {
    let nt2 = &res_().nt2;
    let m3 = &res_().m3;
    let rw4 = &res_().rw4;
    {
        rt::at(18);
        let mut g10 = ch5.reserve().await;
        nt2.notify_waiters();
        let mut f11 = rt::Kept::new(ch5.reserve());
        let mut f12 = rt::Kept::new(tokio::time::sleep(rt::ms(50)));
        rt::at(22);
        futures_util::future::select(&mut f11, &mut f12).await;
        let mut f13 = rt::Kept::new(m3.lock());
        rt::at(24);
        futures_util::poll!(&mut f13);
        drop(g10);
    }
    let mut h14 = rt::spawn("h14", async move {
        let nt2 = &res_().nt2;
        let m3 = &res_().m3;
        let rw4 = &res_().rw4;
        let mut h15 = rt::spawn("h15", work6(rw4, 10));
        drop(h15);
        let mut nf16 = rt::Kept::notified(nt2.notified());
        nf16.enable();
        rt::at(27);
        tokio::join!(tokio::time::sleep(rt::ms(10)), rt::unit(m3.lock()));
        rt::at(27);
        nf16.await;
    });
    rt::at(28);
    work6(rw4, 1).await;
    h14.abort();
    rt::at(30);
    h14.await;
}

/// task t19 (line 32)
async fn task_t19(ev1: rt::Chan, ch5: rt::Chan) {
    let mut f18 = rt::Kept::new(ev1.recv());
    rt::at(34);
    ch5.recv().await;
}

/// Creates the resources, then spawns every task of the model.
fn run() -> rt::BoxFut<'static> {
    Box::pin(async {
        let (ev1_rx, ev1_tx) = rt::channel(0);
        let (ch5_rx, ch5_tx) = rt::channel(1);
        let _ = RES.set(Res { ev1: ev1_rx, nt2: tokio::sync::Notify::new(), m3: tokio::sync::Mutex::new(()), rw4: tokio::sync::RwLock::new(()), ch5: ch5_rx });
        let ev1 = rt::Chan::new(&res_().ev1, ev1_tx, false);
        let ch5 = rt::Chan::new(&res_().ch5, ch5_tx, false);
        rt::start(vec![
            ("t9".to_string(), false, rt::boxed(task_t9())),
            ("t17".to_string(), false, rt::boxed(task_t17(ch5.part(true, false)))),
            ("t19".to_string(), false, rt::boxed(task_t19(ev1.part(false, true), ch5.part(false, true)))),
        ]);
    })
}

pub const SCHEDULE: &str = "";

pub static CASE: rt::Case = rt::Case {
    model: "generated-30187.mc",
    schedule: SCHEDULE,
    period_ms: 204807,
    has_main: false,
    run,
};
