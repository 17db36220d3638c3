//! generated-187784.mc, written by `mcheck emit-rust`: the model on real tokio (tested with tokio 1.24.2, futures 0.3.21).
use crate::rt;
use futures_util::stream::StreamExt;
use std::sync::OnceLock;

/// The model's resources (`let NAME = ...;`).
struct Res {
    sem1: tokio::sync::Semaphore,
    ch2: rt::ChanRx,
}

static RES: OnceLock<Res> = OnceLock::new();

fn res_() -> &'static Res {
    RES.get().expect("resources not created")
}

/// async fn work3 (line 4)
async fn work3(x: &'static tokio::sync::Semaphore, ms: i64) {
    rt::at(4);
    let mut _p = x.acquire().await;
}

/// async fn work4 (line 5)
async fn work4(x: rt::Chan, ms: i64) {
    rt::at(5);
    x.send().await;
    rt::at(5);
    tokio::time::sleep(rt::ms(ms)).await;
}

/// task t7 (line 6)
async fn task_t7(ch2: rt::Chan) {
    let sem1 = &res_().sem1;
    let mut __spawn1_ch2 = Some(ch2.part(true, false));
    let mut h5 = rt::spawn("h5", work4(rt::take_or(__spawn1_ch2.take(), ch2.part(true, false)), 1));
    drop(h5);
    rt::at(9);
    sem1.acquire_many(2 as u32).await;
    rt::at(10);
    ch2.send_timeout(rt::ms(50)).await;
}

/// task t12 (line 12)
async fn task_t12(ch2: rt::Chan) {
    let sem1 = &res_().sem1;
    let mut set8: futures_util::stream::FuturesOrdered<rt::BoxFut<'static>> = futures_util::stream::FuturesOrdered::new();
    set8.push(rt::boxed(work3(sem1, 20)));
    loop {
        rt::at(16);
        match rt::rotation("16:1", 2) {
            0 => tokio::select! {
                biased;
                _ = set8.next() => {
                    let mut f9 = rt::Kept::new(work4(ch2.part(true, false), 5));
                    rt::at(16);
                    tokio::time::timeout(rt::ms(20), &mut f9).await;
                    let mut f10 = rt::Kept::new(sem1.acquire_many(3 as u32));
                    rt::at(16);
                    tokio::select! {
                        biased;
                        _ = rt::unit(sem1.acquire_many(3 as u32)) => {}
                        _ = &mut f10 => {
                            rt::at(16);
                            sem1.acquire_many(2 as u32).await;
                            rt::at(16);
                            ch2.recv().await;
                        }
                    }
                }
                _ = tokio::time::sleep(rt::ms(20)) => {
                    break;
                }
            },
            1 => tokio::select! {
                biased;
                _ = tokio::time::sleep(rt::ms(20)) => {
                    break;
                }
                _ = set8.next() => {
                    let mut f9 = rt::Kept::new(work4(ch2.part(true, false), 5));
                    rt::at(16);
                    tokio::time::timeout(rt::ms(20), &mut f9).await;
                    let mut f10 = rt::Kept::new(sem1.acquire_many(3 as u32));
                    rt::at(16);
                    tokio::select! {
                        biased;
                        _ = rt::unit(sem1.acquire_many(3 as u32)) => {}
                        _ = &mut f10 => {
                            rt::at(16);
                            sem1.acquire_many(2 as u32).await;
                            rt::at(16);
                            ch2.recv().await;
                        }
                    }
                }
            },
            _ => unreachable!(),
        }
    }
    rt::at(18);
    ch2.send_timeout(rt::ms(20)).await;
    rt::at(19);
    tokio::task::yield_now().await;
}

/// Creates the resources, then spawns every task of the model.
fn run() -> rt::BoxFut<'static> {
    Box::pin(async {
        let (ch2_rx, ch2_tx) = rt::channel(1);
        let _ = RES.set(Res { sem1: tokio::sync::Semaphore::new(3), ch2: ch2_rx });
        let ch2 = rt::Chan::new(&res_().ch2, ch2_tx, false);
        rt::start(vec![
            ("t7".to_string(), false, rt::boxed(task_t7(ch2.part(true, false)))),
            ("t12".to_string(), false, rt::boxed(task_t12(ch2.part(true, true)))),
        ]);
    })
}

pub const SCHEDULE: &str = "";

pub static CASE: rt::Case = rt::Case {
    model: "generated-187784.mc",
    schedule: SCHEDULE,
    period_ms: 204807,
    has_main: false,
    run,
};
