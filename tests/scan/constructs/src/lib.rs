//! A fixture for `mcheck scan` (tests/test_scan.py): one construct per entry point: futures::select!
//! over a named fused future whose OnceCell initializer is left dormant; poll! then lock; an actor
//! loop over a match on recv, spawns in a loop, Notified::enable (safe); future::select whose
//! result (and so its loser) is kept, and the same with the result dropped (safe). Not built.
use std::sync::Arc;
use std::time::Duration;
use futures::FutureExt;
use tokio::sync::{mpsc, Notify, OnceCell, RwLock, Mutex};

struct Cache { cell: OnceCell<u64>, table: RwLock<u64>, wake: Notify }

async fn load(c: &Cache) -> u64 { *c.cell.get_or_init(|| async { tokio::time::sleep(Duration::from_millis(20)).await; 1 }).await }

#[tokio::test]
async fn fused_select() {
    let c = Cache { cell: OnceCell::new(), table: RwLock::new(0), wake: Notify::new() };
    let f = load(&c).fuse();
    futures::pin_mut!(f);
    futures::select! {
        _ = f => {},
        _ = tokio::time::sleep(Duration::from_millis(10)).fuse() => { load(&c).await; },
    }
}

#[tokio::test]
async fn poll_once() {
    let m = Arc::new(Mutex::new(()));
    let m2 = m.clone();
    tokio::spawn(async move { let _g = m2.lock().await; tokio::time::sleep(Duration::from_millis(50)).await; });
    tokio::task::yield_now().await;
    let mut f = Box::pin(async { let _g = m.lock().await; });
    let _ = futures::poll!(&mut f);
    let _g = m.lock().await;
}

async fn actor(mut rx: mpsc::Receiver<u32>, table: Arc<RwLock<u64>>) {
    loop {
        match rx.recv().await {
            Some(n) if n > 3 => { let _w = table.write().await; }
            Some(_) => {}
            None => break,
        }
    }
}

#[tokio::main]
async fn main() {
    let (tx, rx) = mpsc::channel(2);
    let table = Arc::new(RwLock::new(0));
    tokio::spawn(actor(rx, table.clone()));
    for i in 0..3 {
        let tx = tx.clone();
        tokio::spawn(async move { tx.send(i).await.unwrap(); });
    }
    let n = Notify::new();
    let waiter = n.notified();
    tokio::pin!(waiter);
    waiter.as_mut().enable();
    n.notify_one();
    waiter.await;
    let r = table.read().await;
    println!("{}", *r);
}

async fn work(m: &Mutex<()>) {
    let _g = m.lock().await;
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[tokio::test]
async fn keeps_loser() {
    let m = Arc::new(Mutex::new(()));
    let first = futures::future::select(Box::pin(work(&m)), Box::pin(tokio::time::sleep(Duration::from_millis(5)))).await;
    work(&m).await;
    drop(first);
}

#[tokio::test]
async fn drops_loser() {
    let m = Arc::new(Mutex::new(()));
    futures::future::select(Box::pin(work(&m)), Box::pin(tokio::time::sleep(Duration::from_millis(5)))).await;
    work(&m).await;
}
