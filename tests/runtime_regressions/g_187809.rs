//! generated-187809.mc, written by `mcheck emit-rust`: the model on real tokio (tested with tokio 1.24.2, futures 0.3.21).
use crate::rt;
use futures_util::stream::StreamExt;
use std::sync::OnceLock;

/// The model's resources (`let NAME = ...;`).
struct Res {
    ch1: rt::ChanRx,
    m2: tokio::sync::Mutex<()>,
}

static RES: OnceLock<Res> = OnceLock::new();

fn res_() -> &'static Res {
    RES.get().expect("resources not created")
}

/// async fn work3 (line 5)
async fn work3(x: rt::Chan, ms: i64) {
    rt::at(5);
    let mut _p = x.reserve().await;
    rt::at(5);
    tokio::time::sleep(rt::ms(ms)).await;
}

/// async fn work4 (line 6)
async fn work4(x: &'static tokio::sync::Mutex<()>, ms: i64, ch1: rt::Chan) {
    rt::at(6);
    let mut _g = x.lock().await;
    rt::at(6);
    tokio::time::sleep(rt::ms(ms)).await;
    rt::at(6);
    work3(ch1.part(true, false), 10).await;
}

/// async fn work5 (line 7)
async fn work5(x: &'static tokio::sync::Mutex<()>, ms: i64) {
    rt::at(7);
    let mut _g = x.lock().await;
    rt::at(7);
    tokio::time::sleep(rt::ms(ms)).await;
}

/// task t7 (line 8)
async fn task_t7(ch1: rt::Chan) {
    let mut p6 = ch1.try_reserve();
    rt::at(10);
    tokio::task::yield_now().await;
}

/// task t19 (line 12)
async fn task_t19(ch1: rt::Chan) {
    let m2 = &res_().m2;
    let mut __spawn1_ch1 = Some(ch1.part(true, false));
    let mut f8 = rt::Kept::new(m2.lock());
    rt::at(14);
    tokio::select! {
        biased;
        Some(v15) = ch1.recv() => {
            let v15: i64 = v15 as i64;
            {
                if (v15 == 1) {} else {
                    if (v15 == 2) {} else {
                        if ((v15 >= 3) && (v15 <= 10)) {}
                    }
                }
            }
        }
        Some(v13) = ch1.recv() => {
            let v13: i64 = v13 as i64;
            {
                if ((v13 >= 3) && (v13 <= 10)) {
                    let mut k14: i64 = ((v13 - 10) + 7);
                    if (k14 == 1) {
                        loop {
                            let mut n11: i64 = 2;
                            rt::at(14);
                            tokio::task::yield_now().await;
                            if (n11 == 3) {
                                break;
                            }
                        }
                        let mut h12 = rt::spawn("h12", {
                            let ch1 = rt::take_or(__spawn1_ch1.take(), ch1.part(true, false));
                            async move {
                                rt::at(14);
                                work3(ch1.part(true, false), 3).await;
                            }
                        });
                        rt::at(14);
                        (&mut h12).await;
                    }
                }
            }
        }
        _ = &mut f8 => {}
        _ = tokio::task::yield_now() => {
            let mut iv9 = tokio::time::interval(rt::ms(50));
            rt::at(14);
            iv9.tick().await;
            for _for7 in 0i64..2i64 {
                rt::at(14);
                match rt::rotation("14:424", 2) {
                    0 => tokio::select! {
                        biased;
                        _ = iv9.tick() => {
                            {
                                let mut g10 = m2.try_lock();
                                if g10.is_ok() {
                                    rt::at(14);
                                    tokio::task::yield_now().await;
                                    rt::at(14);
                                    work3(ch1.part(true, false), 50).await;
                                } else {
                                    rt::at(14);
                                    work4(m2, 10, ch1.part(true, false)).await;
                                }
                            }
                        }
                        _ = rt::unit(m2.lock()) => {
                            break;
                        }
                    },
                    1 => tokio::select! {
                        biased;
                        _ = rt::unit(m2.lock()) => {
                            break;
                        }
                        _ = iv9.tick() => {
                            {
                                let mut g10 = m2.try_lock();
                                if g10.is_ok() {
                                    rt::at(14);
                                    tokio::task::yield_now().await;
                                    rt::at(14);
                                    work3(ch1.part(true, false), 50).await;
                                } else {
                                    rt::at(14);
                                    work4(m2, 10, ch1.part(true, false)).await;
                                }
                            }
                        }
                    },
                    _ => unreachable!(),
                }
            }
        }
    }
    let mut n16: i64 = 1;
    let mut f17 = rt::Kept::new(ch1.recv());
    rt::at(17);
    match rt::rotation("17:1", 2) {
        0 => futures_util::select_biased! {
            _ = rt::fuse(tokio::time::sleep(rt::ms(3))) => {
                let mut set18: futures_util::stream::FuturesUnordered<rt::BoxFut<'static>> = futures_util::stream::FuturesUnordered::new();
                set18.push(rt::boxed(work3(ch1.part(true, false), 5)));
                set18.push(rt::boxed(work3(ch1.part(true, false), 10)));
                set18.push(rt::boxed(work3(ch1.part(true, false), 20)));
                loop {
                    rt::at(17);
                    match rt::rotation("17:172", 2) {
                        0 => tokio::select! {
                            biased;
                            _ = set18.next() => {
                                rt::at(17);
                                ch1.recv().await;
                            }
                            _ = tokio::time::sleep(rt::ms(50)) => {
                                break;
                            }
                        },
                        1 => tokio::select! {
                            biased;
                            _ = tokio::time::sleep(rt::ms(50)) => {
                                break;
                            }
                            _ = set18.next() => {
                                rt::at(17);
                                ch1.recv().await;
                            }
                        },
                        _ => unreachable!(),
                    }
                }
                rt::at(17);
                futures_util::future::join_all(vec![rt::boxed(tokio::task::yield_now()), rt::boxed(tokio::time::sleep(rt::ms(50)))]).await;
            },
            _ = &mut f17 => {
                rt::at(17);
                futures_util::future::join_all(vec![rt::boxed(ch1.recv()), rt::boxed(tokio::task::yield_now())]).await;
            },
        },
        1 => futures_util::select_biased! {
            _ = &mut f17 => {
                rt::at(17);
                futures_util::future::join_all(vec![rt::boxed(ch1.recv()), rt::boxed(tokio::task::yield_now())]).await;
            },
            _ = rt::fuse(tokio::time::sleep(rt::ms(3))) => {
                let mut set18: futures_util::stream::FuturesUnordered<rt::BoxFut<'static>> = futures_util::stream::FuturesUnordered::new();
                set18.push(rt::boxed(work3(ch1.part(true, false), 5)));
                set18.push(rt::boxed(work3(ch1.part(true, false), 10)));
                set18.push(rt::boxed(work3(ch1.part(true, false), 20)));
                loop {
                    rt::at(17);
                    match rt::rotation("17:172", 2) {
                        0 => tokio::select! {
                            biased;
                            _ = set18.next() => {
                                rt::at(17);
                                ch1.recv().await;
                            }
                            _ = tokio::time::sleep(rt::ms(50)) => {
                                break;
                            }
                        },
                        1 => tokio::select! {
                            biased;
                            _ = tokio::time::sleep(rt::ms(50)) => {
                                break;
                            }
                            _ = set18.next() => {
                                rt::at(17);
                                ch1.recv().await;
                            }
                        },
                        _ => unreachable!(),
                    }
                }
                rt::at(17);
                futures_util::future::join_all(vec![rt::boxed(tokio::task::yield_now()), rt::boxed(tokio::time::sleep(rt::ms(50)))]).await;
            },
        },
        _ => unreachable!(),
    }
    n16 = (n16 - 1);
}

/// task main (line 20)
async fn task_main(ch1: rt::Chan) {
    let m2 = &res_().m2;
    let mut n20: i64 = 1;
    let mut s21 = Box::pin(futures_util::stream::iter(vec![
        rt::boxed(work3(ch1.part(true, false), 1)),
        rt::boxed(work3(ch1.part(true, false), 1)),
        rt::boxed(work3(ch1.part(true, false), 1)),
    ]).buffered(1));
    while let Some(_) = { rt::at(23); s21.next() }.await {
        rt::at(24);
        tokio::join!(
            rt::unit(m2.lock()),
            {
                let ch1 = ch1.part(false, true);
                async move {
                    rt::at(24);
                    tokio::task::yield_now().await;
                    rt::at(24);
                    ch1.recv().await;
                }
            },
            rt::unit(ch1.reserve()),
        );
    }
}

/// Creates the resources, then spawns every task of the model.
fn run() -> rt::BoxFut<'static> {
    Box::pin(async {
        let (ch1_rx, ch1_tx) = rt::channel(2);
        let _ = RES.set(Res { ch1: ch1_rx, m2: tokio::sync::Mutex::new(()) });
        let ch1 = rt::Chan::new(&res_().ch1, ch1_tx, false);
        rt::start(vec![
            ("t7".to_string(), false, rt::boxed(task_t7(ch1.part(true, false)))),
            ("t19".to_string(), false, rt::boxed(task_t19(ch1.part(true, true)))),
            ("main".to_string(), true, rt::boxed(task_main(ch1.part(true, true)))),
        ]);
    })
}

pub const SCHEDULE: &str = "";

pub static CASE: rt::Case = rt::Case {
    model: "generated-187809.mc",
    schedule: SCHEDULE,
    period_ms: 204807,
    has_main: true,
    run,
};
