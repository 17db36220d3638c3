use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

const MAX_CONNECTIONS: usize = 2;

pub struct Pool {
    permits: Semaphore,
}

impl Pool {
    pub fn new() -> Self {
        Pool { permits: Semaphore::new(MAX_CONNECTIONS) }
    }

    pub async fn get(&self) -> SemaphorePermit<'_> {
        self.permits.acquire().await.unwrap()
    }

    pub async fn query(&self, ms: u64) {
        let _conn = self.get().await;
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}
