// The tokio program behind reply_dropped_sender_errs.mc (run by tools/constructs_tokio.py):
// prints DONE if the case completes, HANG if it is still stuck after 10 s of paused time.
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::sleep;

enum Request {
    Claim(oneshot::Sender<()>),
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let (claims, mut rx) = mpsc::channel::<Request>(1);
    tokio::spawn(async move {
        while let Some(request) = rx.recv().await {
            match request {
                Request::Claim(reply) => {
                    sleep(Duration::from_millis(10)).await;
                    drop(reply);
                }
            }
            sleep(Duration::from_millis(100)).await;
        }
    });
    let case = async move {
        let (tx, rx) = oneshot::channel();
        claims.send(Request::Claim(tx)).await.ok();
        let got = rx.await;
        assert!(got.is_err());
    };
    let done = tokio::time::timeout(Duration::from_secs(10), case).await.is_ok();
    println!("{}", if done { "DONE" } else { "HANG" });
}
