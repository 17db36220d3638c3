//! A metrics service: a collector flushes batches to the database while a ticker runs health
//! checks, and an auditor actor serves audit requests on the same connection.
mod collector;
mod db;
mod pool;

use std::sync::Arc;

use collector::Collector;
use db::Db;

#[tokio::main]
async fn main() {
    let db = Arc::new(Db::new());
    let audits = db::Auditor::start(db.clone());
    let collector = Collector::new(db.clone(), audits);
    collector.run().await;
}
