// The tokio program behind select_some_set_next_disabled_when_empty.mc (run by
// tools/constructs_tokio.py): prints DONE if the case completes, HANG if it is still stuck after
// 10 s of paused time.
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::time::sleep;

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let case = async {
        let mut set: FuturesUnordered<Pin<Box<dyn Future<Output = ()>>>> = FuturesUnordered::new();
        set.push(Box::pin(async {
            sleep(Duration::from_millis(5)).await;
        }));
        loop {
            tokio::select! {
                Some(_) = set.next() => {}
                else => break,
            }
        }
    };
    let done = tokio::time::timeout(Duration::from_secs(10), case).await.is_ok();
    println!("{}", if done { "DONE" } else { "HANG" });
}
