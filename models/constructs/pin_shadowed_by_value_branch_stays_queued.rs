//! pin_shadowed_by_value_branch_stays_queued.mc on real tokio: prints DONE (completed) or HANG (1 s watchdog).
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{oneshot, Mutex};
use tokio::time::sleep;

async fn lock_op(m: Arc<Mutex<()>>) {
    let _g = m.lock().await;
}

async fn case() {
    let lock = Arc::new(Mutex::new(()));
    let (held_tx, held_rx) = oneshot::channel();
    let l = lock.clone();
    tokio::spawn(async move {
        let _g = l.lock().await;
        let _ = held_tx.send(());
        sleep(Duration::from_millis(50)).await;
    });
    let _ = held_rx.await;
    let f = lock_op(lock.clone());
    let f = pin!(f);
    tokio::select! {
        _ = f => {}
        _ = sleep(Duration::from_millis(10)) => { lock_op(lock).await; }
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    let done = rt.block_on(async { tokio::time::timeout(Duration::from_secs(1), case()).await.is_ok() });
    println!("{}", if done { "DONE" } else { "HANG" });
}
