use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Mutex, MutexGuard};
use tokio::time::sleep;

pub struct Connection;

/// The database: one connection behind a fair tokio mutex.
pub struct Db {
    conn: Mutex<Connection>,
}

impl Db {
    pub fn new() -> Self {
        Db { conn: Mutex::new(Connection) }
    }

    pub async fn write_rows(&self, rows: &[u64]) {
        let conn = self.checkout().await;
        sleep(Duration::from_millis(20)).await; // the write itself
        drop(conn);
    }

    pub async fn health_check(&self) {
        let _conn = self.checkout().await;
    }

    async fn checkout(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().await
    }
}

/// An actor: audit requests arrive on a bounded channel and each one runs a health check.
pub struct Auditor;

impl Auditor {
    pub fn start(db: Arc<Db>) -> mpsc::Sender<u64> {
        let (tx, mut rx) = mpsc::channel(4);
        tokio::spawn(async move {
            while let Some(_req) = rx.recv().await {
                db.health_check().await;
            }
        });
        tx
    }
}
