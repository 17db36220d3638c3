//! pending_branch_never_wins.mc on real tokio: prints DONE (completed) or HANG (1 s watchdog).
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
    let mut f1 = Box::pin(lock_op(lock.clone()));
    tokio::select! {
        _ = &mut f1 => {}
        _ = std::future::pending::<()>() => {}
    }
    lock_op(lock).await;
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    let done = rt.block_on(async { tokio::time::timeout(Duration::from_secs(1), case()).await.is_ok() });
    println!("{}", if done { "DONE" } else { "HANG" });
}
