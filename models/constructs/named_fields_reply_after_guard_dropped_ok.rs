// The tokio program behind named_fields_reply_after_guard_dropped_ok.mc (run by tools/constructs_tokio.py):
// prints DONE if the case completes, HANG if it is still stuck after 10 s of paused time.
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Mutex};

enum Request {
    Claim { tx: oneshot::Sender<()> },
    SetWantedCount { n: u64 },
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let m = Arc::new(Mutex::new(()));
    let (requests, mut rx) = mpsc::channel::<Request>(2);
    let pool_m = m.clone();
    tokio::spawn(async move {
        let mut wanted = 0;
        while let Some(request) = rx.recv().await {
            match request {
                Request::SetWantedCount { n, .. } => wanted = n,
                Request::Claim { tx } => {
                    if wanted > 0 {
                        let _g = pool_m.lock().await;
                        let _ = tx.send(());
                    }
                }
            }
        }
    });
    let case = async move {
        requests.send(Request::SetWantedCount { n: 2 }).await.ok();
        {
            let _g = m.lock().await;
        }
        let (tx, rx) = oneshot::channel();
        requests.send(Request::Claim { tx }).await.ok();
        let _ = rx.await;
    };
    let done = tokio::time::timeout(Duration::from_secs(10), case).await.is_ok();
    println!("{}", if done { "DONE" } else { "HANG" });
}
