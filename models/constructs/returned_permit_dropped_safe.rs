//! returned_permit_dropped_safe.mc on real tokio: prints DONE (completed) or HANG (1 s watchdog).
use std::time::Duration;
use tokio::sync::{oneshot, Semaphore, SemaphorePermit};
use tokio::time::sleep;

async fn claim(s: &Semaphore) -> SemaphorePermit<'_> {
    s.acquire().await.unwrap()
}

async fn work(s: &Semaphore) {
    let _p = claim(s).await;
}

async fn case() {
    let sem: &'static Semaphore = Box::leak(Box::new(Semaphore::new(1)));
    let (held_tx, held_rx) = oneshot::channel();
    tokio::spawn(async move {
        let p = claim(sem).await;
        drop(p);
        let _ = held_tx.send(());
        sleep(Duration::from_millis(50)).await;
    });
    let _ = held_rx.await;
    let mut f1 = Box::pin(work(sem));
    tokio::select! {
        _ = &mut f1 => {}
        _ = sleep(Duration::from_millis(10)) => {}
    }
    let _ = claim(sem).await; // a temporary: released at once
    let _p = claim(sem).await;
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    let done = rt.block_on(async { tokio::time::timeout(Duration::from_secs(1), case()).await.is_ok() });
    println!("{}", if done { "DONE" } else { "HANG" });
}
