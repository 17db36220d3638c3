//! The fixed version of tests/scan/library: the slow path drops the first checkout before it
//! checks out again. Not built.
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::sleep;

pub struct Pool {
    idle: Mutex<Vec<u64>>,
}

impl Pool {
    async fn checkout(&self) {
        let _idle = self.idle.lock().await;
    }

    /// Started by the application: every 100 ms, prune the idle list.
    pub async fn reap(&self) {
        loop {
            let idle = self.idle.lock().await;
            sleep(Duration::from_millis(50)).await; // closing connections
            drop(idle);
            sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Called by the application's router for each request.
pub async fn handle(pool: &Pool) {
    let mut checkout = Box::pin(pool.checkout());
    tokio::select! {
        _ = &mut checkout => {}
        _ = sleep(Duration::from_millis(10)) => {
            // slow path: log the wait, then check out again
            drop(checkout); // the fix: give up the first place in the queue
            pool.checkout().await;
        }
    }
}
