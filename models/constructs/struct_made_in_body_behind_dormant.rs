// The tokio program behind struct_made_in_body_behind_dormant.mc (run by tools/constructs_tokio.py):
// prints DONE if the case completes, HANG if it is still stuck after 10 s of paused time.
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::sleep;

struct Conn {
    lock: Arc<Mutex<()>>,
    hold: u64,
}

impl Conn {
    async fn work(&self) {
        let _g = self.lock.lock().await;
        sleep(Duration::from_millis(self.hold)).await;
    }
}

async fn serve(c: Arc<Conn>) {
    let f = c.work();
        tokio::pin!(f);    tokio::select! {
        _ = &mut f => {}
        _ = sleep(Duration::from_millis(5)) => { c.work().await; }
    }
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let m = Arc::new(Mutex::new(()));
    let worker_lock = m.clone();
    tokio::spawn(async move {
        let c = Conn { lock: worker_lock, hold: 10 };
        c.work().await;
    });
    tokio::task::yield_now().await; // the worker takes the lock first, as in the model
    let case = async move {
        let c = Arc::new(Conn { lock: m.clone(), hold: 10 });
        let d = c.clone();
        serve(d).await;
    };
    let done = tokio::time::timeout(Duration::from_secs(10), case).await.is_ok();
    println!("{}", if done { "DONE" } else { "HANG" });
}
