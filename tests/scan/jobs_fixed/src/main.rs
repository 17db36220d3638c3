mod pool;
mod runner;

use std::sync::Arc;

#[tokio::main]
async fn main() {
    let pool = Arc::new(pool::Pool::new());
    let runner = runner::Runner { pool: pool.clone() };
    runner.run_batch().await;
}
