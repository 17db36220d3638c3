use std::time::Duration;

use tokio::time::timeout;

use crate::db::Db;

/// On shutdown: give the last write 50 ms, then check the connection once more.
pub async fn drain(db: &Db) {
    let mut last = Box::pin(db.write_rows(&[]));
    let _ = timeout(Duration::from_millis(50), &mut last).await;
    drop(last); // the fix: a write we gave up on must not keep its place in the queue
    db.health_check().await;
}
