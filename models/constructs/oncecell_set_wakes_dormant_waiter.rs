//! oncecell_set_wakes_dormant_waiter.mc on real tokio: prints DONE (completed) or HANG (1 s watchdog).
use std::time::Duration;
use tokio::sync::OnceCell;
use tokio::time::sleep;

async fn case() {
    let cell: &'static OnceCell<()> = Box::leak(Box::new(OnceCell::new()));
    tokio::spawn(async move {
        cell.get_or_init(|| async { sleep(Duration::from_millis(3)).await }).await;
    });
    sleep(Duration::from_millis(1)).await;
    let mut f1 = Box::pin(async {
        cell.get_or_init(|| async {}).await;
        sleep(Duration::from_millis(20)).await;
    });
    tokio::select! {
        biased;
        _ = &mut f1 => {}
        _ = sleep(Duration::from_millis(1)) => {
            cell.get_or_init(|| async {}).await; // queued behind the dormant f1
        }
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    let done = rt.block_on(async { tokio::time::timeout(Duration::from_secs(1), case()).await.is_ok() });
    println!("{}", if done { "DONE" } else { "HANG" });
}
