// The tokio program behind message_number_sizes_the_claim.mc (run by tools/constructs_tokio.py):
// prints DONE if the case completes, HANG if it is still stuck after 10 s of paused time.
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Semaphore};
use tokio::time::sleep;

enum Request {
    Claim,
    Resize(u64),
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let conns = Arc::new(Semaphore::new(2));
    let (tx, mut rx) = mpsc::channel::<Request>(2);
    let pool = conns.clone();
    tokio::spawn(async move {
        let mut size = 1;
        while let Some(req) = rx.recv().await {
            match req {
                Request::Resize(n) => size = n,
                Request::Claim => {
                    if size == 2 {
                        let _p = pool.acquire_many(2).await;
                        sleep(Duration::from_millis(50)).await;
                    } else {
                        let _p = pool.acquire().await;
                        sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }
    });
    let case = async move {
        tx.send(Request::Resize(2)).await.ok();
        tx.send(Request::Claim).await.ok();
        sleep(Duration::from_millis(1)).await;
        let mut f = Box::pin(conns.acquire());
        tokio::select! {
            _ = &mut f => {}
            _ = sleep(Duration::from_millis(10)) => { let _ = conns.acquire_many(2).await; }
        }
    };
    let done = tokio::time::timeout(Duration::from_secs(10), case).await.is_ok();
    println!("{}", if done { "DONE" } else { "HANG" });
}
