//! tests/runtime_regressions/futures_select_unpolled_lock_skipped.mc, written by `mcheck emit-rust`: the model on real tokio (tested with tokio 1.24.2, futures 0.3.21).
use crate::rt;
use futures_util::stream::StreamExt;
use std::sync::OnceLock;

/// The model's resources (`let NAME = ...;`).
struct Res {
    sem1: tokio::sync::Semaphore,
    m2: tokio::sync::Mutex<()>,
    os3: rt::OneShared,
    ev4: rt::ChanRx,
}

static RES: OnceLock<Res> = OnceLock::new();

fn res_() -> &'static Res {
    RES.get().expect("resources not created")
}

/// async fn work5 (line 14)
async fn work5(x: rt::One, ms: i64) {
    rt::at(14);
    x.recv().await;
    rt::at(14);
    tokio::time::sleep(rt::ms(ms)).await;
}

/// async fn work6 (line 15)
async fn work6(x: &'static tokio::sync::Mutex<()>, ms: i64) {
    rt::at(15);
    let mut _g = x.lock().await;
}

/// task holder7 (line 16)
async fn task_holder7() {
    let sem1 = &res_().sem1;
    rt::at(17);
    let mut _p = sem1.acquire_many(2 as u32).await;
    rt::at(18);
    tokio::time::sleep(rt::ms(5)).await;
}

/// task t15 (line 20)
async fn task_t15(os3: rt::One) {
    let sem1 = &res_().sem1;
    let m2 = &res_().m2;
    let mut f10 = rt::Kept::new(m2.lock());
    rt::at(22);
    match rt::rotation("22:1", 2) {
        0 => futures_util::select_biased! {
            _ = &mut f10 => {
                rt::at(22);
                futures_util::future::join_all(vec![
                    rt::boxed({
                        let i: i64 = 0;
                        work5(os3.part(false, true), i)
                    }),
                ]).await;
                let mut f11 = rt::Kept::new(work6(m2, 2));
                rt::at(22);
                tokio::time::timeout(rt::ms(10), &mut f11).await;
                let mut f12 = rt::Kept::new(os3.recv());
                rt::at(22);
                futures_util::select_biased! {
                    _ = rt::fuse(tokio::time::sleep(rt::ms(1))) => {
                        rt::at(22);
                        sem1.acquire().await;
                    },
                    _ = &mut f12 => {
                        {
                            rt::at(22);
                            let mut g13 = m2.lock().await;
                            {
                                rt::at(22);
                                let mut g14 = sem1.acquire().await;
                                rt::at(22);
                                m2.lock().await;
                            }
                            drop(g13);
                        }
                    },
                }
            },
            _ = rt::fuse(tokio::time::sleep(rt::ms(3))) => {
                rt::at(22);
                work6(m2, 5).await;
            },
        },
        1 => futures_util::select_biased! {
            _ = rt::fuse(tokio::time::sleep(rt::ms(3))) => {
                rt::at(22);
                work6(m2, 5).await;
            },
            _ = &mut f10 => {
                rt::at(22);
                futures_util::future::join_all(vec![
                    rt::boxed({
                        let i: i64 = 0;
                        work5(os3.part(false, true), i)
                    }),
                ]).await;
                let mut f11 = rt::Kept::new(work6(m2, 2));
                rt::at(22);
                tokio::time::timeout(rt::ms(10), &mut f11).await;
                let mut f12 = rt::Kept::new(os3.recv());
                rt::at(22);
                futures_util::select_biased! {
                    _ = rt::fuse(tokio::time::sleep(rt::ms(1))) => {
                        rt::at(22);
                        sem1.acquire().await;
                    },
                    _ = &mut f12 => {
                        {
                            rt::at(22);
                            let mut g13 = m2.lock().await;
                            {
                                rt::at(22);
                                let mut g14 = sem1.acquire().await;
                                rt::at(22);
                                m2.lock().await;
                            }
                            drop(g13);
                        }
                    },
                }
            },
        },
        _ => unreachable!(),
    }
}

/// task main (line 24)
async fn task_main() {
    let sem1 = &res_().sem1;
    let mut f9 = rt::Kept::new(async move {
        let sem1 = &res_().sem1;
        rt::at(25);
        sem1.acquire().await;
        rt::at(25);
        tokio::time::sleep(rt::ms(10)).await;
    });
    rt::at(26);
    match rt::rotation("26:1", 2) {
        0 => futures_util::select_biased! {
            _ = &mut f9 => {},
            _ = rt::fuse(tokio::time::sleep(rt::ms(50))) => {
                rt::at(26);
                sem1.acquire().await;
            },
        },
        1 => futures_util::select_biased! {
            _ = rt::fuse(tokio::time::sleep(rt::ms(50))) => {
                rt::at(26);
                sem1.acquire().await;
            },
            _ = &mut f9 => {},
        },
        _ => unreachable!(),
    }
}

/// Creates the resources, then spawns every task of the model.
fn run() -> rt::BoxFut<'static> {
    Box::pin(async {
        let (ev4_rx, ev4_tx) = rt::channel(0);
        let _ = RES.set(Res { sem1: tokio::sync::Semaphore::new(2), m2: tokio::sync::Mutex::new(()), os3: rt::OneShared::new(), ev4: ev4_rx });
        let os3 = rt::One::new(&res_().os3);
        let ev4 = rt::Chan::new(&res_().ev4, ev4_tx, true);
        rt::start(vec![
            ("holder7".to_string(), false, rt::boxed(task_holder7())),
            ("t15".to_string(), false, rt::boxed(task_t15(os3.part(false, true)))),
            ("main".to_string(), true, rt::boxed(task_main())),
        ]);
    })
}

pub const SCHEDULE: &str = "order\tt15\tholder7\tmain\nselect\tt15\t22:1\t0\nselect\tt15\t22:104\t0\nselect\tt15\t22:161\t1\nselect\tmain\t26:1\t1\n";

pub static CASE: rt::Case = rt::Case {
    model: "tests/runtime_regressions/futures_select_unpolled_lock_skipped.mc",
    schedule: SCHEDULE,
    period_ms: 204807,
    has_main: true,
    run,
};
