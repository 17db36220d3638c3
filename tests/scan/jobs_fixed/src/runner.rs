use std::sync::Arc;

use futures::stream::{FuturesUnordered, StreamExt};

use crate::pool::Pool;

pub struct Runner {
    pub pool: Arc<Pool>,
}

impl Runner {
    /// Runs three jobs at once and records each result as it comes in.
    pub async fn run_batch(&self) {
        let mut jobs = FuturesUnordered::new();
        jobs.push(self.job(10));
        jobs.push(self.job(20));
        jobs.push(self.job(30));
        while let Some(()) = jobs.next().await {
            // the fix: nothing to await here; each job records its own result
        }
    }

    async fn job(&self, ms: u64) {
        self.pool.query(ms).await;
        self.record().await;
    }

    async fn record(&self) {
        self.pool.query(1).await;
    }
}
