//! try_acquire_fails_behind_partial_grant.mc on real tokio: prints DONE (completed) or HANG (1 s watchdog).
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{oneshot, Semaphore};
use tokio::time::sleep;

async fn big(s: Arc<Semaphore>) {
    let _p = s.acquire_many(2).await.unwrap();
}

async fn case() {
    let sem = Arc::new(Semaphore::new(2));
    let (held_tx, held_rx) = oneshot::channel();
    let s = sem.clone();
    tokio::spawn(async move {
        let _p = s.acquire().await.unwrap();
        let _ = held_tx.send(());
        sleep(Duration::from_millis(50)).await;
    });
    let _ = held_rx.await;
    let mut f1 = Box::pin(big(sem.clone()));
    tokio::select! {
        _ = &mut f1 => {}
        _ = sleep(Duration::from_millis(10)) => {}
    }
    if let Ok(_p) = sem.try_acquire() {
        tokio::task::yield_now().await;
    } else {
        let _q = sem.acquire().await.unwrap();
    };  // a statement: the Result temporary ends here, not with the fn body
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    let done = rt.block_on(async { tokio::time::timeout(Duration::from_secs(1), case()).await.is_ok() });
    println!("{}", if done { "DONE" } else { "HANG" });
}
