// The tokio program behind message_value_ping_safe.mc (run by tools/constructs_tokio.py):
// prints DONE if the case completes, HANG if it is still stuck after 10 s of paused time.
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Mutex};
use tokio::time::sleep;

#[allow(dead_code)]
enum Request {
    Hold,
    Ping,
}

async fn lock_op(m: Arc<Mutex<()>>) {
    let _g = m.lock().await;
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let lock = Arc::new(Mutex::new(()));
    let (tx, mut rx) = mpsc::channel::<Request>(1);
    let held = lock.clone();
    tokio::spawn(async move {
        while let Some(req) = rx.recv().await {
            match req {
                Request::Hold => {
                    let _g = held.lock().await;
                    sleep(Duration::from_millis(50)).await;
                }
                Request::Ping => {}
            }
        }
    });
    let case = async move {
        tx.send(Request::Ping).await.ok();
        sleep(Duration::from_millis(1)).await;
        let mut f = Box::pin(lock_op(lock.clone()));
        tokio::select! {
            _ = &mut f => {}
            _ = sleep(Duration::from_millis(10)) => { lock_op(lock.clone()).await; }
        }
    };
    let done = tokio::time::timeout(Duration::from_secs(10), case).await.is_ok();
    println!("{}", if done { "DONE" } else { "HANG" });
}
