//! A fixture for `mcheck scan` (tests/test_scan.py): a connection-pool library with no main. A
//! request handler selects on `&mut` a checkout against a timer while a background reaper, which
//! nothing here calls either, holds the pool's idle list: both are entry points, and they share
//! `Pool.idle` by type, so the handler's model runs the reaper alongside. Not built.
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
            pool.checkout().await;
        }
    }
}
