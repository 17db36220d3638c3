// The tokio program behind struct_method_behind_dormant_alias.mc (run by tools/constructs_tokio.py):
// prints DONE if the case completes, HANG if it is still stuck after 10 s of paused time.
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::sleep;

struct Pool {
    lock: Mutex<()>,
    hold: u64,
}

impl Pool {
    async fn work(&self) {
        let _g = self.lock.lock().await;
        sleep(Duration::from_millis(self.hold)).await;
    }
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let pool = Arc::new(Pool { lock: Mutex::new(()), hold: 10 });
    let other = pool.clone();
    let worker = pool.clone();
    tokio::spawn(async move { worker.work().await });
    tokio::task::yield_now().await; // the worker takes the lock first, as in the model
    let case = async move {
        let f = pool.work();
        tokio::pin!(f);
        tokio::select! {
            _ = &mut f => {}
            _ = sleep(Duration::from_millis(5)) => { other.work().await; }
        }
    };
    let done = tokio::time::timeout(Duration::from_secs(10), case).await.is_ok();
    println!("{}", if done { "DONE" } else { "HANG" });
}
