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
        let mut ticker = interval(Duration::from_millis(5));
        let flush = self.flush();
        tokio::pin!(flush);
        loop {
            tokio::select! {
                _ = &mut flush => break,
                _ = ticker.tick() => {
                    self.db.health_check().await;
                    let _ = self.audits.send(1).await;
                }
            }
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
