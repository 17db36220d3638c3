//! returned_guard_relock_deadlock.mc on real tokio: prints DONE (completed) or HANG (1 s watchdog).
use std::time::Duration;
use tokio::sync::{Mutex, MutexGuard};

async fn with_lock(m: &Mutex<()>) -> MutexGuard<'_, ()> {
    let g = m.lock().await;
    g
}

async fn relock(m: &Mutex<()>) -> MutexGuard<'_, ()> {
    with_lock(m).await
}

async fn case() {
    let m = Mutex::new(());
    let g = relock(&m).await;
    drop(g);
    let _g = relock(&m).await;
    let _ = m.lock().await;
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    let done = rt.block_on(async { tokio::time::timeout(Duration::from_secs(1), case()).await.is_ok() });
    println!("{}", if done { "DONE" } else { "HANG" });
}
