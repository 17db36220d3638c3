// The tokio program behind select_some_disables_closed_branch.mc (run by
// tools/constructs_tokio.py): prints DONE if the case completes, HANG if it is still stuck after
// 10 s of paused time.
use std::time::Duration;
use tokio::sync::mpsc;

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let (tx, mut rx) = mpsc::channel::<()>(1);
    tokio::spawn(async move {
        tx.send(()).await.ok();
    });
    let case = async move {
        loop {
            tokio::select! {
                Some(_) = rx.recv() => {}
                else => break,
            }
        }
    };
    let done = tokio::time::timeout(Duration::from_secs(10), case).await.is_ok();
    println!("{}", if done { "DONE" } else { "HANG" });
}
