// The tokio program behind reply_blocked_by_requesters_guard.mc (run by tools/constructs_tokio.py):
// prints DONE if the case completes, HANG if it is still stuck after 10 s of paused time.
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Mutex};

enum Request {
    Claim(oneshot::Sender<()>),
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let m = Arc::new(Mutex::new(()));
    let (claims, mut rx) = mpsc::channel::<Request>(1);
    let pool_m = m.clone();
    tokio::spawn(async move {
        while let Some(request) = rx.recv().await {
            match request {
                Request::Claim(reply) => {
                    let _g = pool_m.lock().await;
                    let _ = reply.send(());
                }
            }
        }
    });
    let case = async move {
        let _g = m.lock().await;
        let (tx, rx) = oneshot::channel();
        claims.send(Request::Claim(tx)).await.ok();
        let _ = rx.await;
    };
    let done = tokio::time::timeout(Duration::from_secs(10), case).await.is_ok();
    println!("{}", if done { "DONE" } else { "HANG" });
}
