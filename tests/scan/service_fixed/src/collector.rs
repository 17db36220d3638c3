use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::interval;

use crate::db::Db;
use crate::pool;

pub struct Collector {
    db: Arc<Db>,
    audits: mpsc::Sender<u64>,
    batch: Vec<u64>,
}

impl Collector {
    pub fn new(db: Arc<Db>, audits: mpsc::Sender<u64>) -> Self {
        Collector { db, audits, batch: Vec::new() }
    }

    pub async fn run(self) {
        // The fix (Omicron's): the periodic check is a future of its own, and both are selected
        // by value, so the select! keeps polling the flush while the check waits for the lock.
        let health = async {
            let mut ticker = interval(Duration::from_millis(5));
            loop {
                ticker.tick().await;
                self.db.health_check().await;
                let _ = self.audits.send(1).await;
            }
        };
        tokio::select! {
            _ = self.flush() => {}
            _ = health => {}
        }
        pool::drain(&self.db).await;
    }

    async fn flush(&self) {
        self.write_batch().await;
    }

    async fn write_batch(&self) {
        self.db.write_rows(&self.batch).await;
    }
}
