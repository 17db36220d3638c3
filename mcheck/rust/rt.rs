//! Runtime support for programs written by `mcheck emit-rust`: it runs one model on tokio's
//! current-thread runtime with the paused clock, under a wall-clock watchdog, and prints
//! DONE, HANG or LIVE. Copied verbatim into every emitted project (mcheck/rust/rt.rs).
//!
//! What it adds to plain tokio, and why:
//! - a registry of tasks, each with the model line of the last await it reached and a progress
//!   counter, so a hang can say which task is stuck and where;
//! - a schedule: `choose()` and the start branch of every `select!` come from a script (mcheck's
//!   trace, `--schedule FILE`) or from a seeded generator (`--seed N`);
//! - channel and oneshot receivers that several tasks can poll (the model's one name stands for
//!   both ends): the real tokio receiver, with every polling task's waker kept and woken;
//! - messages (`Msg`) that carry a real oneshot Sender for a per-request reply, dropped with the
//!   message as tokio drops it, so the requester's receive is Err as in a real program;
//! - `Kept`: a let-bound future that is ready at once after it completed (as mcheck treats a
//!   completed borrowed future; most Rust futures would panic).
//!
//! Verdicts: DONE (exit 0) when `task main` completed (the tasks still waiting then run on for one
//! monitor period, and those without progress are listed as blocked), or with no `main` every
//! task did; HANG
//! (exit 1) when a task made no progress for a whole monitor period of virtual time (longer than
//! any wait the model can make) or for the last second before the wall-clock watchdog; LIVE
//! (exit 2) when the run neither completed nor had a stuck task within its budget.
#![allow(dead_code)]

use futures_util::future::{FusedFuture, FutureExt};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex as StdMutex, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

pub type BoxFut<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Wall-clock seconds before the watchdog ends a run that neither completed nor was judged.
pub const WATCHDOG_SECS: u64 = 10;
/// Monitor rounds (of `Case::period_ms` virtual ms each) after which a run that keeps going is LIVE.
pub const LIVE_ROUNDS: u32 = 3;

pub fn ms(n: i64) -> Duration {
    Duration::from_millis(n.max(0) as u64)
}

/// The future's output dropped at once: a guard that a `select!` arm or `join!` child completes
/// with is released when it completes, as mcheck models it (Rust would keep it in the output).
pub fn unit<F: Future>(f: F) -> impl Future<Output = ()> {
    f.map(drop)
}

pub fn boxed<'a, F: Future + Send + 'a>(f: F) -> BoxFut<'a> {
    Box::pin(f.map(drop))
}

/// A future for `futures::select!`: fused, and pinned so the macro can poll it.
pub fn fuse<'a, F: Future + Send + 'a>(f: F) -> futures_util::future::Fuse<BoxFut<'a>> {
    boxed(f).fuse()
}

// ---- the case and its run -----------------------------------------------------------------------

pub struct Case {
    /// The model file the program was emitted from.
    pub model: &'static str,
    /// The schedule to follow when no `--seed` or `--schedule` is given (mcheck's trace, or "").
    pub schedule: &'static str,
    /// Virtual milliseconds of a monitor round: longer than any wait the model can make.
    pub period_ms: u64,
    pub has_main: bool,
    /// Creates the resources and spawns the model's tasks (through `start`).
    pub run: fn() -> BoxFut<'static>,
}

pub struct TaskRec {
    pub name: String,
    pub line: AtomicU32,
    pub progress: AtomicU64,
    pub done: AtomicBool,
    pub started: AtomicBool,
    pub is_main: bool,
}

struct Global {
    model: &'static str,
    tasks: StdMutex<Vec<Arc<TaskRec>>>,
    sched: StdMutex<Schedule>,
    changed: tokio::sync::Notify,
    main_done: AtomicBool,
    ended: AtomicBool,
}

static G: OnceLock<Global> = OnceLock::new();

fn g() -> &'static Global {
    G.get().expect("rt::main has not started")
}

tokio::task_local! {
    static CUR: Arc<TaskRec>;
}

/// The current task reached the await at model line `line`: record it, and count it as progress.
pub fn at(line: u32) {
    let _ = CUR.try_with(|t| {
        t.line.store(line, SeqCst);
        t.progress.fetch_add(1, SeqCst);
    });
}

struct DoneGuard(Arc<TaskRec>);

impl Drop for DoneGuard {
    fn drop(&mut self) {
        // Completed, aborted or dropped: the task is gone either way.
        self.0.done.store(true, SeqCst);
        if self.0.is_main {
            g().main_done.store(true, SeqCst);
        }
        g().changed.notify_one();
    }
}

fn register(name: &str, is_main: bool) -> Arc<TaskRec> {
    let rec = Arc::new(TaskRec {
        name: name.to_string(),
        line: AtomicU32::new(0),
        progress: AtomicU64::new(0),
        done: AtomicBool::new(false),
        started: AtomicBool::new(false),
        is_main,
    });
    g().tasks.lock().unwrap().push(rec.clone());
    rec
}

/// A model task's future: registered under `name`, marked done when it completes or is dropped.
pub fn task<F: Future<Output = ()> + Send + 'static>(name: &str, f: F) -> impl Future<Output = ()> + Send + 'static {
    task_as(name, false, f)
}

fn task_as<F: Future<Output = ()> + Send + 'static>(name: &str, is_main: bool, f: F) -> impl Future<Output = ()> + Send + 'static {
    let rec = register(name, is_main);
    let guard = DoneGuard(rec.clone());
    let me = rec.clone();
    CUR.scope(rec, async move {
        let _done = guard;
        gate(&me).await;
        me.started.store(true, SeqCst);
        f.await;
    })
}

/// Yields (at most `GATE_YIELDS` times, before running any model code) until every task that
/// the schedule's `order` lists before this one has started: so a replayed trace can start a
/// task that another one spawns before a task that was spawned at the beginning.
async fn gate(me: &TaskRec) {
    let before: Vec<String> = {
        let s = g().sched.lock().unwrap();
        match s.order.iter().position(|n| *n == me.name) {
            Some(i) => s.order[..i].to_vec(),
            None => return,
        }
    };
    for _ in 0..GATE_YIELDS {
        let started = {
            let tasks = g().tasks.lock().unwrap();
            before.iter().all(|n| tasks.iter().any(|t| t.name == *n && t.started.load(SeqCst)))
        };
        if started {
            return;
        }
        tokio::task::yield_now().await;
    }
}

const GATE_YIELDS: u32 = 64;

/// `spawn(f)`: a new task; the handle is ready at once after the task finished or was aborted.
pub fn spawn<F: Future<Output = ()> + Send + 'static>(name: &str, f: F) -> Handle {
    Handle { jh: Some(tokio::spawn(task(name, f))) }
}

pub struct Handle {
    jh: Option<tokio::task::JoinHandle<()>>,
}

impl Handle {
    pub fn abort(&self) {
        if let Some(j) = &self.jh {
            j.abort();
        }
    }
}

impl Future for Handle {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.jh.as_mut() {
            None => Poll::Ready(()),
            Some(j) => match Pin::new(j).poll(cx) {
                Poll::Ready(_) => {
                    self.jh = None;
                    Poll::Ready(())
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl FusedFuture for Handle {
    fn is_terminated(&self) -> bool {
        self.jh.is_none()
    }
}

/// A let-bound future (`let f = ...;`): polled through `&mut f` or moved; ready at once once it
/// has completed. A `Notified` keeps its own type so that `f.enable()` works.
pub struct Kept<'a> {
    fut: Option<BoxFut<'a>>,
    notified: Option<Pin<Box<tokio::sync::futures::Notified<'a>>>>,
}

impl<'a> Kept<'a> {
    pub fn new<F: Future + Send + 'a>(f: F) -> Self {
        Kept { fut: Some(boxed(f)), notified: None }
    }
    pub fn notified(n: tokio::sync::futures::Notified<'a>) -> Self {
        Kept { fut: None, notified: Some(Box::pin(n)) }
    }
    pub fn enable(&mut self) {
        if let Some(n) = self.notified.as_mut() {
            n.as_mut().enable();
        }
    }
}

impl Future for Kept<'_> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(f) = self.fut.as_mut() {
            if f.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.fut = None;
        } else if let Some(n) = self.notified.as_mut() {
            if n.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.notified = None;
        }
        Poll::Ready(())
    }
}

impl FusedFuture for Kept<'_> {
    fn is_terminated(&self) -> bool {
        self.fut.is_none() && self.notified.is_none()
    }
}

// ---- schedule ------------------------------------------------------------------------------------

/// Decisions by (task, site): `order A B ...` (the start order of the model's tasks), and
/// `choose TASK LINE:COL v v ...` / `select TASK LINE:COL k k ...` lines, tab-separated. A site
/// whose script is used up, or that has none, takes the seeded generator's decision.
struct Schedule {
    state: u64,
    order: Vec<String>,
    script: HashMap<(String, String), VecDeque<u32>>,
}

impl Schedule {
    fn parse(text: &str, seed: u64) -> Schedule {
        let mut s = Schedule { state: seed ^ 0x9e37_79b9_7f4a_7c15, order: Vec::new(), script: HashMap::new() };
        for line in text.lines() {
            let fields: Vec<&str> = line.split('\t').collect();
            match fields.as_slice() {
                ["order", names @ ..] => s.order = names.iter().map(|n| n.to_string()).collect(),
                [_, task, site, values @ ..] => {
                    let q = s.script.entry((task.to_string(), site.to_string())).or_default();
                    q.extend(values.iter().filter_map(|v| v.parse::<u32>().ok()));
                }
                _ => {}
            }
        }
        s
    }

    fn next(&mut self) -> u64 {
        // splitmix64
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn decide(site: &str, n: u32) -> u32 {
    let task = CUR.try_with(|t| t.name.clone()).unwrap_or_default();
    let mut s = g().sched.lock().unwrap();
    if let Some(v) = s.script.get_mut(&(task, site.to_string())).and_then(|q| q.pop_front()) {
        return v % n;
    }
    (s.next() % n as u64) as u32
}

/// `choose()` at model position `site` ("LINE:COL").
pub fn choose(site: &str) -> bool {
    decide(site, 2) == 1
}

/// The branch a `select!` at `site` with `n` branches polls first (every poll of this entry).
pub fn rotation(site: &str, n: u32) -> u32 {
    decide(site, n)
}

/// Spawns the model's tasks (name, is `main`, future) in the schedule's start order; tokio's
/// current-thread scheduler then starts them in that order.
pub fn start(mut tasks: Vec<(String, bool, BoxFut<'static>)>) {
    {
        let mut s = g().sched.lock().unwrap();
        if s.order.is_empty() {
            for i in (1..tasks.len()).rev() {
                let j = (s.next() % (i as u64 + 1)) as usize;
                tasks.swap(i, j);
            }
        } else {
            let rank = |name: &str| s.order.iter().position(|o| o == name).unwrap_or(usize::MAX);
            tasks.sort_by_key(|t| rank(&t.0));
        }
    }
    for (name, is_main, f) in tasks {
        tokio::spawn(task_as(&name, is_main, f));
    }
}

// ---- channels ------------------------------------------------------------------------------------

/// The wakers of every task that polled a receiver and got Pending: the channel keeps one waker,
/// so the receiver is polled with this broadcaster instead, which wakes them all.
struct Wakers(StdMutex<Vec<Waker>>);

impl Wakers {
    fn add(&self, w: &Waker) {
        let mut list = self.0.lock().unwrap();
        if !list.iter().any(|x| x.will_wake(w)) {
            list.push(w.clone());
        }
    }
}

impl Wake for Wakers {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        let list = std::mem::take(&mut *self.0.lock().unwrap());
        for w in list {
            w.wake();
        }
    }
}

enum RxKind {
    Bounded(mpsc::Receiver<Msg>),
    Unbounded(mpsc::UnboundedReceiver<Msg>),
}

/// The receiving end of a model channel, shared by every task that receives on it. The tasks that
/// receive (and the spawn sites of such tasks, until they spawn) hold an `RxTok`; when the last is
/// dropped the tokio Receiver is dropped, and senders then fail at once instead of waiting.
pub struct ChanRx {
    rx: StdMutex<Option<RxKind>>,
    wakers: Arc<Wakers>,
}

pub struct RxTok(&'static ChanRx);

impl Drop for RxTok {
    fn drop(&mut self) {
        let rx = self.0.rx.lock().unwrap().take();
        drop(rx);
    }
}

/// A message: its value (0 for a message without one, else the model's number for its enum
/// variant, mcheck/messages.py) and, for a variant declared `Claim(oneshot::Sender)`, the
/// requester's real oneshot Sender, which travels in the channel and is dropped with the message
/// (a send that fails, a Receiver dropped with it queued, a received value that goes out of scope).
pub struct Msg {
    pub value: u8,
    pub reply: Option<oneshot::Sender<()>>,
}

impl Msg {
    pub fn plain(value: u8) -> Msg {
        Msg { value, reply: None }
    }
}

/// A received message as the model reads it: the value as an integer, and the Sender it carries.
pub fn split(m: Msg) -> (i64, Option<oneshot::Sender<()>>) {
    (m.value as i64, m.reply)
}

#[derive(Clone)]
pub enum Tx {
    None,
    Bounded(mpsc::Sender<Msg>),
    Unbounded(mpsc::UnboundedSender<Msg>),
}

/// Creates a bounded (`cap` > 0) or unbounded channel: its shared receiver and the first sender.
pub fn channel(cap: usize) -> (ChanRx, Tx) {
    let wakers = Arc::new(Wakers(StdMutex::new(Vec::new())));
    if cap > 0 {
        let (tx, rx) = mpsc::channel(cap);
        (ChanRx { rx: StdMutex::new(Some(RxKind::Bounded(rx))), wakers }, Tx::Bounded(tx))
    } else {
        let (tx, rx) = mpsc::unbounded_channel();
        (ChanRx { rx: StdMutex::new(Some(RxKind::Unbounded(rx))), wakers }, Tx::Unbounded(tx))
    }
}

/// One model channel name as a task or future holds it: the shared receiver, a sender when the
/// code that holds it sends (a channel closes when no task that sends on it is alive), and a
/// receiver token when it receives.
#[derive(Clone)]
pub struct Chan {
    rx: &'static ChanRx,
    tx: Tx,
    rtok: Option<Arc<RxTok>>,
}

impl Chan {
    /// The first handle. `keep`: no task of the model receives on the channel, so its receiver
    /// is kept for the whole run (as a program that holds it somewhere and never uses it).
    pub fn new(rx: &'static ChanRx, tx: Tx, keep: bool) -> Chan {
        let tok = Arc::new(RxTok(rx));
        if keep {
            std::mem::forget(tok.clone());
        }
        Chan { rx, tx, rtok: Some(tok) }
    }
    /// A copy with the sender only if `tx`, the receiver token only if `rx`.
    pub fn part(&self, tx: bool, rx: bool) -> Chan {
        Chan {
            rx: self.rx,
            tx: if tx { self.tx.clone() } else { Tx::None },
            rtok: if rx { self.rtok.clone() } else { None },
        }
    }
    /// This handle without the parts its code no longer needs (they are dropped now).
    pub fn into_part(self, tx: bool, rx: bool) -> Chan {
        self.part(tx, rx)
    }
    fn bounded(&self) -> &mpsc::Sender<Msg> {
        match &self.tx {
            Tx::Bounded(t) => t,
            _ => panic!("emit-rust: a bounded send without a sender"),
        }
    }
    pub async fn send(&self) {
        self.send_value(0).await;
    }
    pub async fn send_value(&self, v: u8) {
        let _ = self.bounded().send(Msg::plain(v)).await;
    }
    /// `ch.send(Request::Claim(tx)).await`: the message carries the Sender (dropped with the
    /// message if the send fails: the Receiver is gone).
    pub async fn send_reply(&self, v: u8, tx: oneshot::Sender<()>) {
        let _ = self.bounded().send(Msg { value: v, reply: Some(tx) }).await;
    }
    pub async fn send_timeout(&self, d: Duration) {
        let _ = self.bounded().send_timeout(Msg::plain(0), d).await;
    }
    /// `try_send()` on a bounded channel, `send()` on an unbounded one: never waits.
    pub fn try_send(&self) {
        self.try_send_value(0);
    }
    pub fn try_send_value(&self, v: u8) {
        match &self.tx {
            Tx::Bounded(t) => {
                let _ = t.try_send(Msg::plain(v));
            }
            Tx::Unbounded(t) => {
                let _ = t.send(Msg::plain(v));
            }
            Tx::None => panic!("emit-rust: a send without a sender"),
        }
    }
    pub async fn reserve(&self) -> Option<mpsc::Permit<'_, Msg>> {
        self.bounded().reserve().await.ok()
    }
    pub fn try_reserve(&self) -> Option<mpsc::Permit<'_, Msg>> {
        self.bounded().try_reserve().ok()
    }
    pub fn recv(&self) -> Recv {
        Recv { rx: self.rx }
    }
}

/// `p.send()` on a reserved permit (nothing happens when `try_reserve` got none).
pub fn permit_send(p: &mut Option<mpsc::Permit<'_, Msg>>) {
    permit_send_value(p, 0);
}

pub fn permit_send_value(p: &mut Option<mpsc::Permit<'_, Msg>>, v: u8) {
    if let Some(p) = p.take() {
        p.send(Msg::plain(v));
    }
}

pub struct Recv {
    rx: &'static ChanRx,
}

impl Future for Recv {
    type Output = Option<Msg>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Msg>> {
        let waker = Waker::from(self.rx.wakers.clone());
        let mut bcx = Context::from_waker(&waker);
        let got = match &mut *self.rx.rx.lock().unwrap() {
            Some(RxKind::Bounded(r)) => r.poll_recv(&mut bcx),
            Some(RxKind::Unbounded(r)) => r.poll_recv(&mut bcx),
            None => Poll::Ready(None),
        };
        if got.is_pending() {
            self.rx.wakers.add(cx.waker());
        }
        got
    }
}

// ---- oneshot -------------------------------------------------------------------------------------

/// A model oneshot: a real `tokio::sync::oneshot`, re-armed with a fresh pair once its value is
/// received (mcheck's oneshot is a value slot: a send after the value was taken sends again; a
/// send while it is still there changes nothing). Closed when no task that sends on it is alive.
pub struct OneShared {
    inner: StdMutex<OneInner>,
    wakers: Arc<Wakers>,
}

struct OneInner {
    tx: Option<oneshot::Sender<()>>,
    rx: oneshot::Receiver<()>,
    closed: bool,
}

impl OneShared {
    pub fn new() -> OneShared {
        let (tx, rx) = oneshot::channel();
        OneShared { inner: StdMutex::new(OneInner { tx: Some(tx), rx, closed: false }), wakers: Arc::new(Wakers(StdMutex::new(Vec::new()))) }
    }
}

/// Held by every task that sends on the oneshot; the last one dropped drops the Sender.
pub struct OneTok(&'static OneShared);

impl Drop for OneTok {
    fn drop(&mut self) {
        let mut inner = self.0.inner.lock().unwrap();
        inner.closed = true;
        inner.tx = None;
    }
}

#[derive(Clone)]
pub struct One {
    sh: &'static OneShared,
    tok: Option<Arc<OneTok>>,
}

impl One {
    pub fn new(sh: &'static OneShared) -> One {
        One { sh, tok: Some(Arc::new(OneTok(sh))) }
    }
    pub fn part(&self, tx: bool, _rx: bool) -> One {
        One { sh: self.sh, tok: if tx { self.tok.clone() } else { None } }
    }
    pub fn into_part(self, tx: bool, rx: bool) -> One {
        self.part(tx, rx)
    }
    pub fn send(&self) {
        if let Some(tx) = self.sh.inner.lock().unwrap().tx.take() {
            let _ = tx.send(());
        }
    }
    pub fn recv(&self) -> OneRecv {
        OneRecv { sh: self.sh }
    }
}

pub struct OneRecv {
    sh: &'static OneShared,
}

impl Future for OneRecv {
    type Output = Option<()>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        let waker = Waker::from(self.sh.wakers.clone());
        let mut bcx = Context::from_waker(&waker);
        let mut inner = self.sh.inner.lock().unwrap();
        match Pin::new(&mut inner.rx).poll(&mut bcx) {
            Poll::Ready(Ok(())) => {
                let (tx, rx) = oneshot::channel();
                inner.rx = rx;
                inner.tx = if inner.closed { None } else { Some(tx) };
                Poll::Ready(Some(()))
            }
            Poll::Ready(Err(_)) => Poll::Ready(None),
            Poll::Pending => {
                self.sh.wakers.add(cx.waker());
                Poll::Pending
            }
        }
    }
}

// ---- oneshots made per request ------------------------------------------------------------------

/// `let (tx, rx) = oneshot::channel();`: a real tokio oneshot. The Sender is the plain tokio
/// Sender (moved into a message by `Chan::send_reply`); the Receiver is shared by the futures of
/// the body that await it (the model lets `rx.await` be a select! branch and awaited again), each
/// polling task's waker kept and woken. After the value or the Err it is ready at once (mcheck's
/// receive on a oneshot whose value was taken and whose Sender is gone returns at once).
pub fn reply_channel() -> (oneshot::Sender<()>, ReplyRx) {
    let (tx, rx) = oneshot::channel();
    (tx, ReplyRx { rx: Arc::new(StdMutex::new(Some(rx))), wakers: Arc::new(Wakers(StdMutex::new(Vec::new()))) })
}

#[derive(Clone)]
pub struct ReplyRx {
    rx: Arc<StdMutex<Option<oneshot::Receiver<()>>>>,
    wakers: Arc<Wakers>,
}

impl ReplyRx {
    pub fn recv(&self) -> ReplyRecv {
        ReplyRecv { rx: self.clone() }
    }
}

pub struct ReplyRecv {
    rx: ReplyRx,
}

impl Future for ReplyRecv {
    type Output = Option<()>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        let waker = Waker::from(self.rx.wakers.clone());
        let mut bcx = Context::from_waker(&waker);
        let mut slot = self.rx.rx.lock().unwrap();
        let got = match slot.as_mut() {
            None => return Poll::Ready(None),
            Some(r) => Pin::new(r).poll(&mut bcx),
        };
        match got {
            Poll::Ready(v) => {
                *slot = None;
                Poll::Ready(v.ok())
            }
            Poll::Pending => {
                self.rx.wakers.add(cx.waker());
                Poll::Pending
            }
        }
    }
}

/// `reply.send(())` on the Sender a received message carried: never waits (Err, ignored, when
/// the requester's Receiver is gone); the Sender is used up.
pub fn reply(sender: &mut Option<oneshot::Sender<()>>) {
    if let Some(tx) = sender.take() {
        let _ = tx.send(());
    }
}

// ---- running one case ----------------------------------------------------------------------------

fn report(verdict: &str, why: &str, stuck: &[Arc<TaskRec>]) -> ! {
    let gl = g();
    gl.ended.store(true, SeqCst);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{verdict}");
    if !why.is_empty() {
        let _ = writeln!(out, "why\t{why}");
    }
    let tasks = gl.tasks.lock().unwrap().clone();
    for t in tasks.iter().filter(|t| !t.done.load(SeqCst)) {
        let kind = match (stuck.iter().any(|s| Arc::ptr_eq(s, t)), verdict) {
            (true, "DONE") => "blocked",
            (true, _) => "stuck",
            _ => "waiting",
        };
        let line = t.line.load(SeqCst);
        let _ = writeln!(out, "{kind}\t{}\t{}:{line}", t.name, gl.model);
    }
    let _ = out.flush();
    std::process::exit(match verdict {
        "DONE" => 0,
        "HANG" => 1,
        _ => 2,
    })
}

fn progress() -> Vec<(Arc<TaskRec>, u64)> {
    g().tasks.lock().unwrap().iter().map(|t| (t.clone(), t.progress.load(SeqCst))).collect()
}

/// Tasks alive at both snapshots that made no progress in between.
fn no_progress(before: &[(Arc<TaskRec>, u64)]) -> Vec<Arc<TaskRec>> {
    before
        .iter()
        .filter(|(t, p)| !t.done.load(SeqCst) && t.progress.load(SeqCst) == *p)
        .map(|(t, _)| t.clone())
        .collect()
}

/// Every `period_ms` of virtual time: a task that made no progress for a whole period is stuck.
async fn monitor(period_ms: u64) {
    let mut before = progress();
    for _ in 0..LIVE_ROUNDS {
        tokio::time::sleep(Duration::from_millis(period_ms)).await;
        if g().main_done.load(SeqCst) {
            std::future::pending::<()>().await; // main has ended the run: rt::main reports
        }
        let stuck = no_progress(&before);
        if !stuck.is_empty() {
            report("HANG", &format!("no progress in {period_ms} ms of virtual time"), &stuck);
        }
        before = progress();
    }
    report("LIVE", &format!("still running after {} ms of virtual time, no task stuck", period_ms * LIVE_ROUNDS as u64), &[]);
}

/// Real time: the runtime may spin without letting the paused clock advance (a loop of yields).
fn watchdog() {
    std::thread::sleep(Duration::from_secs(WATCHDOG_SECS - 1));
    let before = progress();
    std::thread::sleep(Duration::from_secs(1));
    if g().ended.load(SeqCst) {
        return;
    }
    let stuck = no_progress(&before);
    // A task that went on running through that second while others made none is a loop of
    // yields: the paused clock advances only when every task is idle, so it never does, and the
    // others starve. A livelock of the paused clock, not a stuck state (with real time, timers
    // would fire): LIVE. With no task running at all the runtime is blocked: HANG.
    let running = before.iter().any(|(t, p)| !t.done.load(SeqCst) && t.progress.load(SeqCst) != *p);
    if !stuck.is_empty() && running {
        let why = format!("watchdog: {WATCHDOG_SECS} s of real time; a task kept running, so the paused clock never advanced");
        report("LIVE", &why, &stuck);
    }
    let verdict = if stuck.is_empty() { "LIVE" } else { "HANG" };
    report(verdict, &format!("watchdog: {WATCHDOG_SECS} s of real time"), &stuck);
}

fn finished(has_main: bool) -> bool {
    let gl = g();
    if has_main {
        gl.main_done.load(SeqCst)
    } else {
        gl.tasks.lock().unwrap().iter().all(|t| t.done.load(SeqCst))
    }
}

/// Runs `case` once: `PROGRAM [--seed N] [--schedule FILE]`. Without either it follows the
/// case's own schedule (mcheck's trace, when it has one) with seed 0 for every other decision.
pub fn main(case: &'static Case) {
    let args: Vec<String> = std::env::args().collect();
    let mut seed: u64 = 0;
    let mut script = case.schedule.to_string();
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--seed" if i + 1 < args.len() => {
                seed = args[i + 1].parse().expect("--seed takes a number");
                script.clear();
                i += 2;
            }
            "--schedule" if i + 1 < args.len() => {
                script = std::fs::read_to_string(&args[i + 1]).expect("cannot read the --schedule file");
                i += 2;
            }
            _ => i += 1,
        }
    }
    let _ = G.set(Global {
        model: case.model,
        tasks: StdMutex::new(Vec::new()),
        sched: StdMutex::new(Schedule::parse(&script, seed)),
        changed: tokio::sync::Notify::new(),
        main_done: AtomicBool::new(false),
        ended: AtomicBool::new(false),
    });
    std::thread::spawn(watchdog);
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    rt.block_on(async {
        tokio::spawn(monitor(case.period_ms));
        (case.run)().await;
        while !finished(case.has_main) {
            g().changed.notified().await;
        }
        if case.has_main && g().tasks.lock().unwrap().iter().any(|t| !t.done.load(SeqCst)) {
            // The run is over. To tell which of the tasks still waiting were blocked for good,
            // let them run on for one monitor period: those without progress are reported.
            let at_end = progress();
            tokio::time::sleep(Duration::from_millis(case.period_ms)).await;
            let blocked = no_progress(&at_end);
            report("DONE", "main completed; tasks still waiting then were run for one more period", &blocked);
        }
    });
    report("DONE", "", &[]);
}

// ---- handing handles to spawned tasks ------------------------------------------------------------

/// The handle a spawn site set aside for its task, or (if the site runs again) `fallback`.
pub fn take_or<H>(token: Option<H>, fallback: H) -> H {
    token.unwrap_or(fallback)
}
