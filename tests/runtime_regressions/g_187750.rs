//! generated-187750.mc, written by `mcheck emit-rust`: the model on real tokio (tested with tokio 1.24.2, futures 0.3.21).
use crate::rt;
use futures_util::stream::StreamExt;
use std::sync::OnceLock;

/// The model's resources (`let NAME = ...;`).
struct Res {
    ch1: rt::ChanRx,
    m2: tokio::sync::Mutex<()>,
    ev3: rt::ChanRx,
    sem4: tokio::sync::Semaphore,
    fm5: futures_util::lock::Mutex<()>,
}

static RES: OnceLock<Res> = OnceLock::new();

fn res_() -> &'static Res {
    RES.get().expect("resources not created")
}

/// async fn work6 (line 6)
async fn work6(x: &'static tokio::sync::Semaphore, ms: i64) {
    rt::at(6);
    let mut _p = x.acquire().await;
    rt::at(6);
    tokio::time::sleep(rt::ms(ms)).await;
}

/// async fn work7 (line 7)
async fn work7(x: &'static tokio::sync::Mutex<()>, ms: i64) {
    rt::at(7);
    let mut _g = x.lock().await;
    rt::at(7);
    tokio::time::sleep(rt::ms(ms)).await;
}

/// task t14 (line 8)
async fn task_t14(ch1: rt::Chan) {
    let m2 = &res_().m2;
    let sem4 = &res_().sem4;
    let fm5 = &res_().fm5;
    let mut f8 = rt::Kept::new(tokio::task::yield_now());
    rt::at(10);
    tokio::join!(
        f8,
        async move {
            let sem4 = &res_().sem4;
            rt::at(10);
            sem4.acquire_many(2 as u32).await;
        },
        ch1.send(),
    );
    rt::at(11);
    match rt::rotation("11:1", 2) {
        0 => tokio::select! {
            biased;
            _ = tokio::time::sleep(rt::ms(10)) => {
                if rt::choose("11:33") {
                    rt::at(11);
                    sem4.acquire().await;
                } else {
                    {
                        rt::at(11);
                        let mut g11 = fm5.lock().await;
                        {
                            rt::at(11);
                            let mut g12 = ch1.reserve().await;
                            rt::at(11);
                            work7(m2, 20).await;
                            rt::permit_send(&mut g12);
                        }
                    }
                }
            }
            _ = work7(m2, 5) => {
                let mut f9 = rt::Kept::new(sem4.acquire_many(2 as u32));
                rt::at(11);
                futures_util::poll!(&mut f9);
                let mut js10: tokio::task::JoinSet<()> = tokio::task::JoinSet::new();
                js10.spawn(rt::task("spawn work6(sem4, 50)", work6(sem4, 50)));
                js10.spawn(rt::task("spawn work6(sem4, 3)", work6(sem4, 3)));
                rt::at(11);
                tokio::join!(
                    async move {
                        let sem4 = &res_().sem4;
                        rt::at(11);
                        tokio::task::yield_now().await;
                        rt::at(11);
                        sem4.acquire_many(2 as u32).await;
                    },
                    rt::unit(sem4.acquire_many(3 as u32)),
                );
                js10.abort_all();
            }
        },
        1 => tokio::select! {
            biased;
            _ = work7(m2, 5) => {
                let mut f9 = rt::Kept::new(sem4.acquire_many(2 as u32));
                rt::at(11);
                futures_util::poll!(&mut f9);
                let mut js10: tokio::task::JoinSet<()> = tokio::task::JoinSet::new();
                js10.spawn(rt::task("spawn work6(sem4, 50)", work6(sem4, 50)));
                js10.spawn(rt::task("spawn work6(sem4, 3)", work6(sem4, 3)));
                rt::at(11);
                tokio::join!(
                    async move {
                        let sem4 = &res_().sem4;
                        rt::at(11);
                        tokio::task::yield_now().await;
                        rt::at(11);
                        sem4.acquire_many(2 as u32).await;
                    },
                    rt::unit(sem4.acquire_many(3 as u32)),
                );
                js10.abort_all();
            }
            _ = tokio::time::sleep(rt::ms(10)) => {
                if rt::choose("11:33") {
                    rt::at(11);
                    sem4.acquire().await;
                } else {
                    {
                        rt::at(11);
                        let mut g11 = fm5.lock().await;
                        {
                            rt::at(11);
                            let mut g12 = ch1.reserve().await;
                            rt::at(11);
                            work7(m2, 20).await;
                            rt::permit_send(&mut g12);
                        }
                    }
                }
            }
        },
        _ => unreachable!(),
    }
    let mut flag13: i64 = 0;
    if rt::choose("12:18") {
        flag13 = 1;
    }
    rt::at(13);
    m2.lock().await;
}

/// task t27 (line 15)
async fn task_t27(ch1: rt::Chan, ev3: rt::Chan) {
    let m2 = &res_().m2;
    let sem4 = &res_().sem4;
    let fm5 = &res_().fm5;
    let mut __spawn1_ch1 = Some(ch1.part(true, true));
    let mut __spawn2_ch1 = Some(ch1.part(true, false));
    let ch1 = ch1.into_part(false, true);  // the rest was only for its spawned tasks
    let mut js15: tokio::task::JoinSet<()> = tokio::task::JoinSet::new();
    js15.spawn(rt::task("spawn@17", {
        let ch1 = rt::take_or(__spawn1_ch1.take(), ch1.part(true, true));
        async move {
            let fm5 = &res_().fm5;
            let mut f16 = rt::Kept::new(fm5.lock());
            let mut f17 = rt::Kept::new(tokio::time::sleep(rt::ms(10)));
            rt::at(17);
            futures_util::future::select(&mut f16, &mut f17).await;
            rt::at(17);
            ch1.send().await;
            rt::at(17);
            ch1.recv().await;
        }
    }));
    js15.spawn(rt::task("spawn@18", {
        let ch1 = rt::take_or(__spawn2_ch1.take(), ch1.part(true, false));
        async move {
            let m2 = &res_().m2;
            rt::at(18);
            m2.lock().await;
            ch1.try_send();
        }
    }));
    let mut n20: i64 = 0;
    while (n20 < 3) {
        let mut set21: futures_util::stream::FuturesUnordered<rt::BoxFut<'static>> = futures_util::stream::FuturesUnordered::new();
        set21.push(rt::boxed(work6(sem4, 5)));
        set21.push(rt::boxed(work7(m2, 2)));
        while let Some(_) = { rt::at(24); set21.next() }.await {
            rt::at(25);
            sem4.acquire().await;
        }
        let mut f22 = rt::Kept::new(m2.lock());
        rt::at(28);
        tokio::select! {
            biased;
            _ = std::future::pending::<()>() => {
                let mut n24: i64 = 0;
            }
            _ = &mut f22 => {
                continue;
            }
        }
        n20 = (n20 + 1);
        rt::at(30);
        tokio::task::yield_now().await;
    }
    drop(js15);
    let mut f25 = rt::Kept::new(work6(sem4, 3));
    rt::at(34);
    match rt::rotation("34:1", 2) {
        0 => tokio::select! {
            biased;
            _ = work6(sem4, 50) => {}
            _ = &mut f25 => {
                rt::at(34);
                tokio::join!(
                    ev3.recv(),
                    async move {
                        let mut n26: i64 = 0;
                    },
                );
                if rt::choose("34:105") {
                    rt::at(34);
                    sem4.acquire_many(2 as u32).await;
                } else {
                    if rt::choose("34:154") {
                        rt::at(34);
                        ch1.recv().await;
                    }
                }
            }
        },
        1 => tokio::select! {
            biased;
            _ = &mut f25 => {
                rt::at(34);
                tokio::join!(
                    ev3.recv(),
                    async move {
                        let mut n26: i64 = 0;
                    },
                );
                if rt::choose("34:105") {
                    rt::at(34);
                    sem4.acquire_many(2 as u32).await;
                } else {
                    if rt::choose("34:154") {
                        rt::at(34);
                        ch1.recv().await;
                    }
                }
            }
            _ = work6(sem4, 50) => {}
        },
        _ => unreachable!(),
    }
}

/// Creates the resources, then spawns every task of the model.
fn run() -> rt::BoxFut<'static> {
    Box::pin(async {
        let (ch1_rx, ch1_tx) = rt::channel(1);
        let (ev3_rx, ev3_tx) = rt::channel(0);
        let _ = RES.set(Res { ch1: ch1_rx, m2: tokio::sync::Mutex::new(()), ev3: ev3_rx, sem4: tokio::sync::Semaphore::new(3), fm5: futures_util::lock::Mutex::new(()) });
        let ch1 = rt::Chan::new(&res_().ch1, ch1_tx, false);
        let ev3 = rt::Chan::new(&res_().ev3, ev3_tx, false);
        rt::start(vec![
            ("t14".to_string(), false, rt::boxed(task_t14(ch1.part(true, false)))),
            ("t27".to_string(), false, rt::boxed(task_t27(ch1.part(true, true), ev3.part(false, true)))),
        ]);
    })
}

pub const SCHEDULE: &str = "";

pub static CASE: rt::Case = rt::Case {
    model: "generated-187750.mc",
    schedule: SCHEDULE,
    period_ms: 204807,
    has_main: false,
    run,
};
