"""The tokio semantics of SEMANTICS.md on small models, one rule at a time."""

from __future__ import annotations

from conftest import compile_text

from mcheck.model import TimeMode
from mcheck.render import render_text
from mcheck.trace import Status
from mcheck.verify import check


def holder(ms: int) -> str:
    """A mutex `m` that task holder takes, signals on `ready`, and holds for ms; `op(m)` locks it."""
    return f"""
    let m = Mutex::new();
    let ready = oneshot();
    task holder {{ let _g = m.lock().await; ready.send(); sleep({ms}).await; }}
    async fn op(m: Mutex) {{ let _g = m.lock().await; }}
    """


def verdict(text: str, time: TimeMode = TimeMode.UNTIMED) -> Status:
    return check(compile_text(text, time)).status


def trace_text(text: str, time: TimeMode = TimeMode.UNTIMED) -> str:
    model = compile_text(text, time)
    return render_text(model, check(model), "test.mc")


def test_relock_in_one_task_is_a_deadlock_with_exact_state_count() -> None:
    text = "let a = Mutex::new(); task main { let _g = a.lock().await; let _h = a.lock().await; }"
    result = check(compile_text(text, runtime="current-thread"))
    assert result.status is Status.DEADLOCK
    # One poll: the task starts, acquires, then queues behind its own guard. Two states in all.
    assert result.stats.states == 2
    assert result.trace is not None and len(result.trace.steps) == 1
    # Multi-thread, the poll is two steps (one operation on the lock each), so one more state.
    result = check(compile_text(text, runtime="multi-thread"))
    assert result.status is Status.DEADLOCK and result.stats.states == 3
    assert result.trace is not None and len(result.trace.steps) == 2


def test_partial_grant_blocks_smaller_waiters_behind_it() -> None:
    src = """
    let sem = Semaphore::new(2);
    let ready = oneshot();
    task holder { let _p = sem.acquire().await; ready.send(); sleep(50).await; }
    async fn big(s: Semaphore) { let _p = s.acquire_many(2).await; }
    task main {
        ready.recv().await;
        let f = big(sem);
        select! { _ = &mut f => {} _ = sleep(10) => { let _q = sem.acquire().await; } }
    }
    """
    text = trace_text(src)
    assert "holds 1 of the 2 permits it needs" in text
    assert verdict(src) is Status.FUTURELOCK


def test_spare_permits_make_a_dormant_waiter_harmless() -> None:
    src = """
    let sem = Semaphore::new(2);
    async fn one(s: Semaphore) { let _p = s.acquire().await; }
    task main {
        let f = one(sem);
        select! { _ = &mut f => {} _ = sleep(10) => { let _q = sem.acquire().await; } }
    }
    """
    assert verdict(src) is Status.SAFE


def test_dropping_a_queued_owned_branch_leaves_the_queue() -> None:
    src = holder(50) + """
    task main {
        ready.recv().await;
        select! { _ = op(m) => {} _ = sleep(10) => { op(m).await; } }
    }
    """
    assert verdict(src) is Status.SAFE
    assert verdict(src.replace("_ = op(m) =>", "_ = &mut f =>").replace(
        "ready.recv().await;", "ready.recv().await; let f = op(m);")) is Status.FUTURELOCK


def test_while_let_ends_when_every_sender_task_has_finished() -> None:
    src = """
    let ch = channel(1);
    task producer { ch.send().await; ch.send().await; }
    task consumer { while let Some(_) = ch.recv().await { sleep(1).await; } }
    """
    assert verdict(src) is Status.SAFE
    # No sender task at all: the receive returns at once (the sender is gone).
    assert verdict("let o = oneshot(); task a { o.recv().await; }") is Status.SAFE
    # Each task waits for the other's message before sending its own: a deadlock, not a futurelock.
    stuck = """
    let a = oneshot();
    let b = oneshot();
    task x { a.recv().await; b.send(); }
    task y { b.recv().await; a.send(); }
    """
    assert verdict(stuck) is Status.DEADLOCK


def test_sender_inside_own_unpolled_future_is_a_futurelock() -> None:
    src = """
    let o = oneshot();
    async fn notify(o: Oneshot) { o.send(); }
    task main { let f = notify(o); o.recv().await; f.await; }
    """
    assert verdict(src) is Status.FUTURELOCK


def test_main_completing_shuts_the_runtime_down() -> None:
    src = """
    let m = Mutex::new();
    task bg { let _g = m.lock().await; m.lock().await; }
    task main { sleep(5).await; }
    """
    # bg can relock itself before main ends, so a deadlock is reachable; but once main is done
    # nothing is stuck. With main finishing first only (no bg), the run is safe.
    assert verdict(src) is Status.DEADLOCK
    assert verdict("task main { sleep(5).await; } task bg { loop { yield_now().await; } }") is Status.SAFE


def test_exact_time_respects_durations_and_untimed_does_not() -> None:
    src = holder(5) + """
    task main {
        ready.recv().await;
        let f = op(m);
        select! { _ = &mut f => {} _ = sleep(50) => { op(m).await; } }
    }
    """
    assert verdict(src, TimeMode.UNTIMED) is Status.FUTURELOCK
    assert verdict(src, TimeMode.EXACT) is Status.SAFE
    assert "time advances" in trace_text(src.replace("sleep(5)", "sleep(500)"), TimeMode.EXACT)


def test_biased_select_polls_in_written_order() -> None:
    # With `biased;` the ready yield branch can never beat an earlier ready branch.
    src = """
    let m = Mutex::new();
    task main {
        let f = async { m.lock().await; };
        select! { biased; _ = &mut f => {} _ = sleep(1) => { m.lock().await; } }
    }
    """
    assert verdict(src) is Status.SAFE
    assert verdict(src.replace("biased; ", "")) is Status.SAFE


def test_unbounded_channel_overflow_is_inconclusive() -> None:
    src = "let ev = unbounded_channel(); task main { loop { ev.send(); yield_now().await; } }"
    result = check(compile_text(src))
    assert result.status is Status.INCONCLUSIVE
    assert "unbounded channel" in result.reason


def test_try_send_never_waits() -> None:
    src = """
    let ch = channel(1);
    task main { ch.try_send(); ch.try_send(); ch.recv().await; }
    """
    assert verdict(src) is Status.SAFE
    # The second try_send found the channel full and sent nothing: a second recv waits forever.
    text = trace_text(src.replace("ch.recv().await; }", "ch.recv().await; ch.recv().await; }"))
    assert "try_send on `ch`: full, returns Err(Full) without waiting" in text
    assert "deadlock:" in text


def test_reserved_permit_held_by_dormant_future() -> None:
    src = """
    let ch = channel(1);
    task actor { loop { ch.recv().await; } }
    async fn hold(c: Channel) { let p = c.reserve().await; sleep(20).await; p.send(); }
    task main {
        let f = hold(ch);
        loop { select! { _ = &mut f => break, _ = sleep(5) => { ch.send().await; } } }
    }
    """
    assert verdict(src) is Status.FUTURELOCK


def test_join_handle_of_a_spawned_task_is_safe_to_borrow() -> None:
    src = """
    let m = Mutex::new();
    async fn op(m: Mutex) { let _g = m.lock().await; sleep(5).await; }
    task main {
        let h = spawn(op(m));
        select! { _ = &mut h => {} _ = sleep(1) => { op(m).await; } }
    }
    """
    assert verdict(src) is Status.SAFE


def test_awaiting_a_completed_borrowed_timer_again_is_ready_at_once() -> None:
    src = """
    let lock = Mutex::new();
    task main {
        let f = sleep(1);
        (&mut f).await;
        (&mut f).await;
        let _g = lock.lock().await;
        let _h = lock.lock().await;
    }
    """
    assert verdict(src) is Status.DEADLOCK  # the task goes on past the second await


def test_a_spawn_site_running_again_while_its_task_runs_is_inconclusive() -> None:
    src = """
    let sem = Semaphore::new(3);
    let gate = oneshot();
    async fn start(s: Semaphore, g: Oneshot) { spawn(async { let _p = s.acquire().await; g.recv().await; }); }
    task main {
        for _ in 0..3 { start(sem, gate).await; sleep(1).await; }
        let _q = sem.acquire().await;
        gate.send();
    }
    """
    result = check(compile_text(src))
    assert result.status is Status.INCONCLUSIVE
    assert "spawn ran again" in result.reason


def test_rust_spellings_are_accepted() -> None:
    src = """
    let o = oneshot::channel();
    let ev = tokio::sync::mpsc::unbounded_channel();
    let sem = Semaphore::new(1);
    async fn notify(c: Channel) { c.send(); }
    task main {
        notify(ev).await;
        let _p = sem.acquire().await.unwrap();
        o.send();
        o.recv().await.unwrap();
        ev.recv().await;
    }
    """
    assert verdict(src) is Status.SAFE


def test_explanations_name_the_real_reason() -> None:
    full = trace_text("let ch = channel(1);\ntask main { ch.send().await; ch.send().await; }\n")
    assert "`ch` is full (1/1 messages) and no task will ever receive from it" in full
    assert "Resource: `ch`." in full
    reserved = trace_text("let ch = channel(1);\ntask main { let p = ch.reserve().await; ch.send().await; }\n")
    assert "held by task main (the permit of `ch.reserve()`)" in reserved
    assert "to receive the messages" not in reserved


def test_a_loop_that_can_spin_without_suspending_is_inconclusive() -> None:
    src = "let m = Mutex::new();\ntask main {\n    loop {\n        if choose() { m.lock().await; }\n    }\n}\n"
    result = check(compile_text(src))
    assert result.status is Status.INCONCLUSIVE
    assert "task main can go round a loop without suspending (the loop at line 3)" in result.reason
    # A busy path that is never taken does not matter: the channel never closes while main runs.
    # (Only on one thread: on worker threads the actor can drain the channel while main sends, so
    # main's loop can go round without suspending, the busy-loop bound; tokio's cooperative budget,
    # which makes such a poll yield, is not modelled. docs/language.md, Runtimes.)
    src = "let ch = channel(1);\ntask actor { loop { ch.recv().await; } }\ntask main { loop { ch.send().await; } }\n"
    assert check(compile_text(src, runtime="current-thread")).status is Status.SAFE
    result = check(compile_text(src, runtime="multi-thread"))
    assert result.status is Status.INCONCLUSIVE and "task main can go round a loop without suspending" in result.reason


def test_bounded_while_loops_over_integer_variables() -> None:
    src = holder(50) + """
    task main {
        ready.recv().await;
        let f = op(m);
        let mut tries = 0;
        while tries < 3 {
            select! { _ = &mut f => break, _ = sleep(10) => { tries += 1; } }
        }
        if tries == 3 { op(m).await; }    // gave up waiting: takes the lock itself
    }
    """
    assert verdict(src) is Status.FUTURELOCK
    assert verdict(src.replace("if tries == 3 { op(m).await; }", "if tries == 3 { drop(f); op(m).await; }")) is Status.SAFE


def test_for_loop_counters_can_be_read() -> None:
    src = """
    let m = Mutex::new();
    task main {
        let _g = m.lock().await;
        for i in 0..3 { if i == 2 { m.lock().await; } }
    }
    """
    assert verdict(src) is Status.DEADLOCK
    assert verdict(src.replace("i == 2", "i == 5")) is Status.SAFE


def test_an_integer_leaving_its_range_is_inconclusive() -> None:
    src = "task main { let mut n = 0; loop { n += 1; yield_now().await; } }"
    result = check(compile_text(src))
    assert result.status is Status.INCONCLUSIVE
    assert "an integer variable (in main) left the range" in result.reason


def test_deadlock_fixes_fit_the_shape() -> None:
    full = trace_text("let ch = channel(1);\ntask a { ch.send().await; ch.send().await; }\n"
                      "task b { sleep(1).await; ch.send().await; }\n")
    assert "Victims (other tasks blocked behind it): b." in full
    assert "make sure some task still receives from or releases `ch`" in full
    relock = trace_text("let a = Mutex::new();\ntask main { let _g = a.lock().await; a.lock().await; }\n")
    assert "drop the guard first" in relock and "global order" not in relock


def test_a_losing_owned_branch_is_reported_when_it_gave_something_up() -> None:
    text = trace_text(holder(50) + """
    let n = Mutex::new();
    task main {
        ready.recv().await;
        select! { _ = op(m) => {} _ = sleep(10) => {} }
        let _g = n.lock().await;
        n.lock().await;
    }
    """)
    assert "`op(m)` (a losing owned branch) is dropped, giving up a place in `m`'s queue" in text
    assert "`sleep(10)` (a losing" not in text


# ---- the constructs of SEMANTICS.md sections 3-4 beyond mutex and select! ---------------------


def test_dropping_a_joinset_aborts_its_tasks() -> None:
    # The spawned task holds the lock and then waits forever; only the abort can free the lock.
    body = """
    let lock = Mutex::new();
    let never = oneshot();
    task main {
        {
            let set = JoinSet::new();
            set.spawn(async { let _g = lock.lock().await; never.recv().await; });
            sleep(5).await;
        }
        let _g = lock.lock().await;
        never.send();
    }
    """
    assert verdict(body, TimeMode.EXACT) is Status.SAFE
    # Kept alive instead (the set is still in scope), the task keeps the lock forever.
    kept = body.replace("sleep(5).await;\n        }\n        let _g = lock.lock().await;",
                        "sleep(5).await;\n            let _g = lock.lock().await;\n        }")
    assert kept != body
    assert verdict(kept, TimeMode.EXACT) is Status.DEADLOCK


def test_a_push_site_with_no_free_future_is_inconclusive() -> None:
    body = """
    let m = Mutex::new();
    task main {
        let set = FuturesUnordered::new();
        loop { set.push(async { let _g = m.lock().await; sleep(1).await; }); yield_now().await; }
    }
    """
    result = check(compile_text(body))
    assert result.status is Status.INCONCLUSIVE
    assert "set.push(...) inside a loop" in result.reason


def test_select_with_every_branch_disabled_and_no_else_is_inconclusive() -> None:
    body = "task main { let mut z = 0; select! { _ = sleep(1), if z == 1 => {} } }"
    result = check(compile_text(body))
    assert result.status is Status.INCONCLUSIVE and "no else branch" in result.reason
    with_else = body.replace("if z == 1 => {} }", "if z == 1 => {} else => {} }")
    assert verdict(with_else) is Status.SAFE


def test_a_disabled_borrowed_branch_is_not_polled_even_when_ready() -> None:
    # Round 1 queues f1 behind the holder; round 2 disables f1's branch (n == 1), so when the lock
    # is handed to f1 nobody polls it, and the select! waits on a signal only main would send.
    body = holder(5) + """
    let sig = oneshot();
    task main {
        ready.recv().await;
        let f1 = op(m);
        let mut n = 0;
        loop {
            select! {
                _ = &mut f1, if n == 0 => { break; }
                _ = sig.recv() => { break; }
                _ = sleep(1), if n == 0 => { n = 1; }
            }
        }
        sig.send();
    }
    """
    assert verdict(body, TimeMode.EXACT) in (Status.DEADLOCK, Status.FUTURELOCK)
    # With f1's branch enabled in every round, the grant completes f1 and the loop ends.
    assert verdict(body.replace("_ = &mut f1, if n == 0", "_ = &mut f1"), TimeMode.EXACT) is Status.SAFE


def test_rwlock_writer_blocks_later_readers_fifo() -> None:
    body = """
    let l = RwLock::new();
    let ready = oneshot();
    task reader { let _r = l.read().await; ready.send(); sleep(50).await; }
    task main {
        ready.recv().await;
        let w = async { let _w = l.write().await; };
        select! { _ = &mut w => {} _ = sleep(10) => { let _r = l.read().await; } }
    }
    """
    assert verdict(body, TimeMode.EXACT) is Status.FUTURELOCK
    # Two readers at once are fine: read takes one of the lock's permits.
    assert verdict("""
    let l = RwLock::new();
    task a { let _r = l.read().await; sleep(5).await; }
    task b { let _r = l.read().await; sleep(5).await; }
    """) is Status.SAFE


def test_futures_ordered_yields_in_push_order() -> None:
    # The second future finishes first but is yielded second: the loop body runs twice either way,
    # and a third pull ends the loop with None.
    body = """
    let done = oneshot();
    task main {
        let set = FuturesOrdered::new();
        set.push_back(sleep(20));
        set.push_back(sleep(10));
        let mut n = 0;
        while let Some(_) = set.next().await { n += 1; }
        if n == 2 { done.send(); }
        done.recv().await;
    }
    """
    assert verdict(body, TimeMode.EXACT) is Status.SAFE
    assert verdict(body.replace("if n == 2", "if n == 3"), TimeMode.EXACT) is Status.DEADLOCK


def test_try_reserve_takes_a_free_permit_or_nothing() -> None:
    body = """
    let ch = channel(1);
    task main {
        let p = ch.try_reserve();
        let q = ch.try_reserve();
        q.send();
        p.send();
        ch.recv().await;
        ch.recv().await;
    }
    """
    # Only p got the permit, so one message is sent and the second recv waits forever.
    assert verdict(body) is Status.DEADLOCK
    assert verdict(body.replace("channel(1)", "channel(2)")) is Status.SAFE


def test_a_buffered_stream_held_in_a_variable_runs_its_items_only_when_pulled() -> None:
    body = """
    let foo_lock = Mutex::new();
    async fn foo(m: Mutex) { let _g = m.lock().await; sleep(10).await; }
    task main {
        let s = stream::iter([foo(foo_lock), foo(foo_lock)]).buffered(2);
        while let Some(_) = s.next().await { foo(foo_lock).await; }
    }
    """
    assert verdict(body, TimeMode.EXACT) is Status.FUTURELOCK
    # With room for one item at a time, nothing is left queued while the body runs.
    assert verdict(body.replace("buffered(2)", "buffered(1)"), TimeMode.EXACT) is Status.SAFE


def test_notify_waiters_reaches_created_notified_and_is_not_passed_on() -> None:
    # A Notified created before notify_waiters is reached by it, even unpolled (tokio counts it).
    assert verdict("let n = Notify::new(); task main { let f = n.notified(); n.notify_waiters(); f.await; }") \
        is Status.SAFE
    # One created after it is not.
    assert verdict("let n = Notify::new(); task main { n.notify_waiters(); let f = n.notified(); f.await; }") \
        is Status.DEADLOCK
    # Dropping a Notified that notify_waiters reached passes nothing on (notify_one's would be).
    body = """
    let n = Notify::new();
    task notifier { sleep(20).await; n.notify_waiters(); }
    task main {
        let f1 = async { n.notified().await; };
        select! { _ = &mut f1 => {} _ = sleep(10) => {} }
        sleep(30).await;
        drop(f1);
        n.notified().await;
    }
    """
    assert verdict(body, TimeMode.EXACT) is Status.DEADLOCK
    assert verdict(body.replace("notify_waiters", "notify_one"), TimeMode.EXACT) is Status.SAFE


def test_untimed_timers_do_not_hold_back_later_biased_branches() -> None:
    # timeout(d, &mut f) polls f first; untimed, its own timer may still fire before f's sleep.
    body = """
    let lock = Mutex::new();
    task main {
        let f = async { let _g = lock.lock().await; sleep(10).await; };
        timeout(5, &mut f).await;
        lock.lock().await;
    }
    """
    assert verdict(body) is Status.FUTURELOCK
    assert verdict(body, TimeMode.EXACT) is Status.FUTURELOCK


def test_as_mut_borrows_like_a_mut_reference() -> None:
    body = holder(50) + """
    task main {
        ready.recv().await;
        let f = pin!(op(m));
        select! { _ = f.as_mut() => {} _ = sleep(10) => { op(m).await; } }
    }
    """
    assert verdict(body, TimeMode.EXACT) is Status.FUTURELOCK


def test_futures_select_skips_completed_futures_and_runs_complete() -> None:
    body = """
    let lock = Mutex::new();
    async fn lock_op(m: Mutex) { let _g = m.lock().await; }
    task main {
        let f = lock_op(lock).fuse();
        let t = sleep(10).fuse();
        let mut rounds = 0;
        loop {
            futures::select! {
                _ = f => { rounds += 1; },
                _ = t => { rounds += 1; },
                complete => break,
            }
        }
        if rounds != 2 { let _g = lock.lock().await; lock.lock().await; }
    }
    """
    # Each borrowed future wins once; then both are skipped and `complete` ends the loop.
    assert verdict(body) is Status.SAFE
    assert verdict(body.replace("rounds != 2", "rounds == 2")) is Status.DEADLOCK


def test_abort_cancels_a_task_and_its_handle_completes() -> None:
    body = """
    let lock = Mutex::new();
    let never = oneshot();
    task main {
        let h = spawn(async { let _g = lock.lock().await; never.recv().await; });
        sleep(5).await;
        h.abort();
        (&mut h).await;
        let _g = lock.lock().await;
        never.send();
    }
    """
    assert verdict(body, TimeMode.EXACT) is Status.SAFE
    assert verdict(body.replace("h.abort();", ""), TimeMode.EXACT) is Status.DEADLOCK
    joinset = """
    let lock = Mutex::new();
    let never = oneshot();
    task main {
        let set = JoinSet::new();
        set.spawn(async { let _g = lock.lock().await; never.recv().await; });
        sleep(5).await;
        set.abort_all();
        let _g = lock.lock().await;
        never.send();
    }
    """
    assert verdict(joinset, TimeMode.EXACT) is Status.SAFE
    assert verdict(joinset.replace("set.abort_all();", ""), TimeMode.EXACT) is Status.DEADLOCK
