"""Malformed models: each is reported as `file:line:col: error: ...` with the source line and a caret, exit 2.

Every case runs the real command (`mcheck.cli.main`) on a file and checks the exact location, a key phrase
of the message, the echoed source line, the caret under the reported column, and that no traceback escapes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mcheck.cli import EXIT_BAD_INPUT, main

MUTEX_FN = "let lock = Mutex::new();\nasync fn lock_op(m: Mutex) {\n    m.lock().await;\n}\n"

# (source, line, col, key phrase of the error, optional "line:col: note: text" that must also appear)
CASES = [
    # ---- syntax -----------------------------------------------------------------------------------
    pytest.param(
        "let lock = Mutex::new();\ntask main {\n    let _g = lock.lock().await\n    sleep(1).await;\n}\n",
        3, 31, "expected ';', found 'sleep' on line 4", None, id="missing-semicolon",
    ),
    pytest.param(
        "let lock = Mutex::new();\ntask main {\n    lock.lock().await;\n",
        3, 23, "unexpected end of file; expected a statement", None, id="unclosed-brace-at-eof",
    ),
    pytest.param("task main {\n    sleep(1).await; @\n}\n", 2, 21, "unexpected character '@'", None, id="stray-character"),
    pytest.param("task main {\n    lçk.lock().await;\n}\n", 2, 6, "unexpected character 'ç'", None, id="non-ascii-name"),
    pytest.param("task main {\n    sleep(1.await;\n}\n", 2, 18, "unexpected ';'; expected ')' or ','", None,
                 id="unclosed-paren"),
    pytest.param("task main {\n    select! {\n        _ = sleep(1) {}\n    }\n}\n", 3, 22, "expected ',' or '=>'", None,
                 id="select-arm-without-arrow"),
    pytest.param("sleep(1).await;\ntask main {}\n", 1, 1,
                 "unexpected 'sleep'; expected 'async', 'enum', 'impl', 'let', 'struct', 'task'", None,
                 id="statement-at-top-level"),
    pytest.param("task main {}\n/* never closed\n", 2, 1, "unclosed block comment", None, id="unclosed-block-comment"),
    pytest.param("task main {\n    foo! { }\n}\n", 2, 5, "unknown macro 'foo!' used as a block; expected 'select!'", None,
                 id="unknown-block-macro"),
    pytest.param("task main {\n" + "{" * 200 + "}" * 200 + "\n}\n", 2, 98, "nests more than 100 levels deep", None,
                 id="nesting-too-deep"),
    # ---- names ------------------------------------------------------------------------------------
    pytest.param("let lock = Barrier::new(2);\ntask main {}\n", 1, 12, "unknown resource 'Barrier::new(2)'", None,
                 id="unknown-resource-constructor"),
    pytest.param("let lock = Mutex::new();\ntask main {\n    lck.lock().await;\n}\n", 3, 5, "unknown name 'lck'",
                 "1:1: note: did you mean 'lock'?", id="unknown-name"),
    pytest.param(MUTEX_FN + "task main {\n    lockop(lock).await;\n}\n", 6, 5, "unknown async fn 'lockop'",
                 "2:10: note: did you mean 'lock_op'?", id="unknown-async-fn"),
    pytest.param("task main {\n    let m = Mutex::new();\n}\n", 2, 13, "resources are declared at the top level", None,
                 id="resource-declared-in-task"),
    pytest.param("async fn f() {}\ntask main {\n    let g = f;\n}\n", 3, 13, "'f' is an async fn, not a value", None,
                 id="async-fn-used-as-value"),
    pytest.param("task main {\n    foo!(1);\n}\n", 2, 5, "unknown macro 'foo!'; expected 'join!' or 'select!'", None,
                 id="unknown-macro"),
    pytest.param("async fn f(m: Barrier) {}\ntask main {}\n", 1, 12, "unknown parameter type 'Barrier'", None,
                 id="unknown-parameter-type"),
    # ---- types ------------------------------------------------------------------------------------
    pytest.param(MUTEX_FN + "task main {\n    lock_op(lock, 3).await;\n}\n", 6, 5, "'lock_op' takes 1 argument, 2 given",
                 "2:10: note: 'lock_op' defined here", id="wrong-argument-count"),
    pytest.param(MUTEX_FN.replace("let lock = Mutex::new();", "let sem = Semaphore::new(2);")
                 + "task main {\n    lock_op(sem).await;\n}\n",
                 6, 13, "'lock_op' expects a Mutex for 'm', but 'sem' is a Semaphore",
                 "2:18: note: parameter declared here", id="semaphore-passed-for-mutex"),
    pytest.param("let lock = Mutex::new();\ntask main {\n    lock.await;\n}\n", 3, 5,
                 "'lock' is a Mutex, not a future; did you mean `lock.lock()`?", None, id="awaiting-a-mutex"),
    pytest.param("let lock = Mutex::new();\ntask main {\n    lock.send().await;\n}\n", 3, 5,
                 "a Mutex has no method 'send'; it has 'lock'", None, id="sending-on-a-mutex"),
    pytest.param("let lock = Mutex::new();\ntask main {\n    lock.send();\n}\n", 3, 5,
                 "'lock' is a Mutex; it has no method 'send'", None, id="sync-send-on-a-mutex"),
    pytest.param("let lock = Mutex::new();\ntask main {\n    let g = lock.lock().await;\n    g.await;\n}\n", 4, 5,
                 "'g' is a guard, not a future; it cannot be awaited", None, id="awaiting-a-guard"),
    pytest.param("let lock = Mutex::new();\ntask main {\n    drop(lock);\n}\n", 3, 10,
                 "'lock' is a resource; only futures, guards and permits can be dropped", None, id="dropping-a-resource"),
    pytest.param("let c = channel(1);\ntask main {\n    c.try_send().await;\n}\n", 3, 5,
                 "completes at once; it is not a future and cannot be awaited", None, id="awaiting-try-send"),
    pytest.param("let c = channel(1);\ntask main {\n    c.send();\n}\n", 3, 5,
                 "on a bounded channel waits for a permit: add '.await'", None, id="bounded-send-without-await"),
    pytest.param("let c = channel(1);\ntask main {\n    c.recv();\n}\n", 3, 5, "creates a future that is never polled",
                 None, id="future-never-polled"),
    pytest.param("let lock = Mutex::new();\ntask main {\n    sleep(lock).await;\n}\n", 3, 11,
                 "expected a number, but 'lock' is a Mutex", None, id="sleep-of-a-mutex"),
    # ---- moves ------------------------------------------------------------------------------------
    pytest.param("let lock = Mutex::new();\ntask main {\n    let g = lock.lock().await;\n    drop(g);\n    drop(g);\n}\n",
                 5, 5, "use of 'g' after it was dropped", "4:5: note: dropped here", id="guard-used-after-drop"),
    pytest.param("let lock = Mutex::new();\ntask main {\n    let f = lock.lock();\n    f.await;\n    f.await;\n}\n",
                 5, 5, "use of 'f' after it was moved", "4:5: note: moved here", id="future-awaited-twice"),
    pytest.param("task main {\n    let f = sleep(1);\n    f.await;\n    (&mut f).await;\n}\n",
                 4, 6, "use of 'f' after it was moved", "3:5: note: moved here", id="future-borrowed-after-move"),
    pytest.param("let c = channel(1);\ntask main {\n    let p = c.reserve().await;\n    drop(p);\n    p.send();\n}\n",
                 5, 5, "use of 'p' after it was dropped", "4:5: note: dropped here", id="permit-sent-after-drop"),
    pytest.param("task main {\n    let h = spawn(async { sleep(1).await; });\n    h.await;\n    h.await;\n}\n",
                 4, 5, "use of 'h' after it was moved", "3:5: note: moved here", id="join-handle-awaited-twice"),
    pytest.param("let lock = Mutex::new();\ntask main {\n    let g = lock.lock().await;\n    loop {\n        drop(g);\n"
                 "        yield_now().await;\n    }\n}\n",
                 5, 9, "'g' is dropped inside a loop but declared outside it", "3:5: note: declared here",
                 id="drop-in-loop-of-outer-guard"),
    pytest.param("task main {\n    let f = sleep(1);\n    loop {\n        f.await;\n    }\n}\n",
                 4, 9, "'f' is moved inside a loop but declared outside it", "2:5: note: declared here",
                 id="await-in-loop-of-outer-future"),
    pytest.param("task main {\n    let f = sleep(1);\n    let g = async { f.await; };\n    g.await;\n}\n",
                 3, 21, "'f' is a local of the enclosing body", None, id="async-block-uses-enclosing-local"),
    # ---- constructs mcheck cannot make finite ---------------------------------------------------
    pytest.param("async fn f() {\n    f().await;\n}\ntask main {\n    f().await;\n}\n",
                 1, 10, "async fn 'f' calls itself (possibly indirectly): recursion cannot be made finite", None,
                 id="direct-recursion"),
    pytest.param("async fn a() {\n    b().await;\n}\nasync fn b() {\n    a().await;\n}\ntask main {\n    a().await;\n}\n",
                 1, 10, "async fn 'a' calls itself (possibly indirectly)",
                 "4:10: error: async fn 'b' calls itself (possibly indirectly)", id="indirect-recursion"),
    pytest.param("task main {\n    loop {\n        spawn(async { sleep(1).await; });\n    }\n}\n",
                 3, 9, "spawn inside a loop creates unboundedly many tasks", None, id="spawn-in-loop"),
    pytest.param("let ch = channel(1);\ntask main {\n    loop {\n        ch.try_send();\n    }\n}\n",
                 3, 5, "this loop has no '.await' and no 'break': a busy loop never yields", None, id="busy-loop"),
    pytest.param("let m = Mutex::new();\ntask main {\n    m = 1;\n}\n",
                 3, 5, "cannot assign to 'm'", None, id="assign-to-resource"),
    pytest.param("task main {\n    let mut n = 0;\n    if n < m {}\n}\n",
                 3, 12, "unknown name 'm'", None, id="unknown-name-in-condition"),
    pytest.param("let m = Mutex::new();\ntask main {\n    let mut n = 0;\n    while n < m { n += 1; }\n}\n",
                 4, 15, "expected an integer", None, id="resource-in-comparison"),
    pytest.param("task main {\n    select! { _ = sleep(1) => {} else => {} _ = sleep(2) => {} }\n}\n",
                 2, 34, "the 'else' branch of select! must come last", None, id="select-else-not-last"),
    pytest.param("task main {\n    futures::select! { _ = sleep(1) => {} default => {} }\n}\n",
                 2, 43, "unexpected 'default =>' in select!", None, id="futures-select-default"),
    pytest.param("task main {\n    while choose() {}\n}\n",
                 2, 5, "this loop has no '.await' and no 'break'", None, id="busy-while"),
    pytest.param("task main {\n    for _ in 0..100 { yield_now().await; }\n}\n",
                 2, 5, "loop of 100 iterations", None, id="for-loop-too-long"),
    pytest.param("let sem = Semaphore::new(2);\ntask main {\n    let _p = sem.acquire_many(3).await;\n}\n",
                 3, 14, "asks for 3 permits, but 'sem' has only 2: it can never complete",
                 "1:1: note: 'sem' declared here", id="acquire-many-more-than-permits"),
    pytest.param("let sem = Semaphore::new(1);\nasync fn f(s: Semaphore, n: u64) {\n    let _p = s.acquire_many(n).await;\n}\n"
                 "task main {\n    f(sem, 5).await;\n}\n",
                 3, 14, "asks for 5 permits, but 'sem' has only 1", None, id="acquire-many-through-parameters"),
    pytest.param("let c = unbounded_channel();\ntask main {\n    let p = c.reserve().await;\n}\n",
                 3, 13, "reserve() needs a bounded channel", None, id="reserve-on-unbounded-channel"),
    # ---- control flow -----------------------------------------------------------------------------
    pytest.param("task main {\n    if x { sleep(1).await; }\n}\n", 2, 8, "unsupported condition 'x'", None,
                 id="unsupported-if-condition"),
    pytest.param("task main {\n    while ready() { sleep(1).await; }\n}\n", 2, 11, "unsupported condition 'ready()'", None,
                 id="unsupported-while-condition"),
    pytest.param("task main {\n    break;\n}\n", 2, 5, "'break' outside of a loop", None, id="break-outside-loop"),
    pytest.param("task main {\n    let mut done = false;\n    done += 1;\n}\n", 3, 5,
                 "'done' is a bool variable: it is set to `true`, `false` or `choose()`", None, id="bool-arithmetic"),
    pytest.param("task main {\n    let mut done = false;\n    if done == 1 { yield_now().await; }\n}\n", 3, 8,
                 "expected an integer", None, id="bool-compared-with-number"),
    pytest.param("task main {\n    continue;\n}\n", 2, 5, "'continue' outside of a loop", None, id="continue-outside-loop"),
    pytest.param("let c = channel(1);\ntask main {\n    while let Some(_) = c.recv() { }\n}\n", 3, 25,
                 "expected `<receiver>.recv().await`", None, id="while-let-without-await"),
    pytest.param("task main {\n    select! {}\n}\n", 2, 5, "select! needs at least one branch", None, id="empty-select"),
    # ---- declarations -----------------------------------------------------------------------------
    pytest.param("task main {}\ntask main {}\n", 2, 6, "task 'main' is defined twice", "1:6: note: first defined here",
                 id="duplicate-task"),
    pytest.param("let m = Mutex::new();\nlet m = Mutex::new();\ntask main {}\n", 2, 1, "'m' is declared twice",
                 "1:1: note: first declared here", id="duplicate-resource"),
    pytest.param("async fn f() {}\nasync fn f() {}\ntask main {}\n", 2, 10, "async fn 'f' is defined twice",
                 "1:10: note: first defined here", id="duplicate-async-fn"),
    pytest.param("let s = Semaphore::new(0);\ntask main {}\n", 1, 24, "needs between 1 and 16 permits, got 0", None,
                 id="semaphore-without-permits"),
    pytest.param("task w[0] {}\ntask main {}\n", 1, 6, "task 'w' needs between 1 and 16 copies, got 0", None,
                 id="task-with-zero-copies"),
    pytest.param("task main[2] {}\n", 1, 6, "there can be only one 'main' task", None, id="main-with-copies"),
    pytest.param("// expect: livelock\ntask main {}\n", 1, 12,
                 "unknown verdict 'livelock'; expected futurelock, deadlock or safe", None, id="unknown-verdict"),
    # ---- rendering --------------------------------------------------------------------------------
    pytest.param("task main {\n\tfoo.lock().await;\n}\n", 2, 2, "unknown name 'foo'", None, id="tab-indented-line"),
]


# Rust the language does not take: each names the construct and says how to model it (mcheck/rustisms.py).
RUST_CASES = [
    pytest.param(MUTEX_FN + "task main {\n    let _g = lock.lock().await?;\n}\n", 6, 31,
                 "the `?` operator: a model has no errors (`.await` gives no value); write the failure path as "
                 "`if choose() { return; }`", None, id="rust-question-mark"),
    pytest.param("enum Request { Claim(oneshot::Sender) }\nlet ch = channel(1);\n"
                 "task main { loop { select! { Some(Request::Claim(tx)) = ch.recv() => {} } } }\n", 3, 35,
                 "a variant pattern inside `Some(..)` is not taken: bind the message and match it", None,
                 id="rust-variant-inside-some"),
    pytest.param("async fn f<T>(x: T) {}\ntask main {}\n", 1, 11, "generic parameters: a model has no type parameters; "
                 "name the concrete resource instead (`async fn f(m: Mutex)`)", None, id="rust-generic-fn"),
    pytest.param("async fn f<'a>(m: &'a Mutex) {}\ntask main {}\n", 1, 12, "lifetimes: a model has no references",
                 None, id="rust-lifetime"),
    pytest.param("async fn f(m: &Mutex) {}\ntask main {}\n", 1, 15, "references in parameter types: write the "
                 "resource kind alone (`m: Mutex`)", None, id="rust-reference-parameter"),
    pytest.param("async fn f(m: Arc<Mutex<u32>>) {}\ntask main {}\n", 1, 15, "type arguments (`Arc<...>`): a model "
                 "has no data types; write the resource kind alone", None, id="rust-arc-parameter"),
    pytest.param("async fn f(pool: Box<dyn Pool>) {}\ntask main {}\n", 1, 18, "`Box<dyn ...>`: a model has no trait "
                 "objects", None, id="rust-box-dyn"),
    pytest.param("async fn f(w: impl Future) {}\ntask main {}\n", 1, 15, "`impl Trait` parameter types", None,
                 id="rust-impl-trait-parameter"),
    pytest.param("async fn f(&self) {}\ntask main {}\n", 1, 12, "`self` parameters are not supported: write the "
                 "method as an async fn that takes the resources it uses", None, id="rust-self-parameter"),
    pytest.param("trait Store {\n    async fn get(&self);\n}\ntask main {}\n", 1, 1, "traits: a model has no traits",
                 None, id="rust-trait"),
    pytest.param("impl Pool {\n    async fn claim(&self) {}\n}\ntask main {}\n", 1, 6, "`impl Pool` for a struct "
                 "that is not declared: declare `struct Pool { .. }`", None, id="rust-impl-block"),
    pytest.param("task main {\n    unsafe { yield_now().await; }\n}\n", 2, 5, "`unsafe` blocks: unsafe code does "
                 "nothing a model can see; write the block without `unsafe`", None, id="rust-unsafe-block"),
    pytest.param("use tokio::sync::Mutex;\ntask main {}\n", 1, 1, "`use` declarations: a model imports nothing",
                 None, id="rust-use"),
    pytest.param("mod pool {\n}\ntask main {}\n", 1, 1, "modules (`mod`): a model is one file", None, id="rust-mod"),
    pytest.param("const N: usize = 3;\ntask main {}\n", 1, 1, "`const` items: write the number where it is used",
                 None, id="rust-const"),
    pytest.param("static M: Mutex = Mutex::new();\ntask main {}\n", 1, 1, "`static` items: declare a resource with "
                 "`let NAME = Mutex::new();` at the top level", None, id="rust-static"),
    pytest.param("pub async fn f() {}\ntask main {}\n", 1, 1, "visibility (`pub`)", None, id="rust-pub"),
    pytest.param("fn helper() {}\ntask main {}\n", 1, 1, "a plain (non-async) `fn`: only `async fn` is modelled",
                 None, id="rust-plain-fn"),
    pytest.param("#[tokio::main]\nasync fn main() {\n    yield_now().await;\n}\n", 1, 1,
                 "attribute `#[tokio::main]`: a model's entry point is `task main { ... }`; its runtime is a header "
                 "comment: `// runtime: multi-thread`", None, id="rust-tokio-main"),
    pytest.param("task main {\n    #[allow(unused)]\n    yield_now().await;\n}\n", 2, 5, "attributes (`#[...]`) "
                 "are not part of the model language", None, id="rust-attribute"),
    pytest.param("fn work() -> impl Future<Output = ()> {\n    async {}\n}\ntask main {}\n", 1, 1,
                 "`fn ... -> impl Future`: write it as an `async fn`", None, id="rust-impl-future"),
    pytest.param("async fn f() -> u32 {\n    yield_now().await;\n}\ntask main {}\n", 1, 14, "an async fn "
                 "returning 'u32' cannot be modelled", None, id="rust-return-type"),
    pytest.param("async fn f(m: T) where T: Send {}\ntask main {}\n", 1, 18, "`where` clauses: a model has no "
                 "generics", None, id="rust-where-clause"),
    pytest.param("task main {\n    let n: u64 = 5;\n}\n", 2, 10, "type annotations on `let`: a local's kind comes "
                 "from its value", None, id="rust-type-annotation"),
    pytest.param("task main {\n    let f: Pin<Box<dyn Future>> = Box::pin(sleep(1));\n}\n", 2, 10,
                 "type annotations on `let`", None, id="rust-pinned-box-annotation"),
    pytest.param(MUTEX_FN + "task main {\n    let g = lock.lock().await.unwrap().clone();\n}\n", 6, 13,
                 "what `.await` gives is a value (`.len()`, `.clone()`, `.is_ok()` on it), and a model has none",
                 None, id="rust-unwrap-chain"),
    pytest.param("let c = channel(1);\ntask main {\n    c.send().await.expect(\"closed\");\n}\n", 3, 20,
                 "`.expect(..)`: a model has no errors", None, id="rust-expect"),
    pytest.param("async fn f() {\n    return 5;\n}\ntask main {}\n", 2, 12, "'f' returns nothing in the model, so "
                 "it cannot return '5'", None, id="rust-return-value"),
    pytest.param("task main {\n    loop { break 1; }\n}\n", 2, 12, "`break` with a value", None,
                 id="rust-break-value"),
    pytest.param("task main {\n    let name = \"pool\";\n}\n", 2, 16, "string literals: a model has no text", None,
                 id="rust-string-literal"),
    pytest.param("task main {\n    sleep(1.5).await;\n}\n", 2, 11, "float literals: a model's numbers are whole; "
                 "durations are milliseconds", None, id="rust-float-literal"),
    pytest.param("task main {\n    println!(\"waiting\");\n}\n", 2, 5, "`println!` does nothing a model can see: "
                 "remove it", None, id="rust-println"),
    pytest.param("task main {\n    tracing::info!();\n}\n", 2, 5, "`info!` does nothing a model can see", None,
                 id="rust-tracing-macro-without-arguments"),
    pytest.param("task main {\n    assert!(choose());\n}\n", 2, 5, "`assert!` checks values, which a model "
                 "abstracts", None, id="rust-assert"),
    pytest.param("task main {\n    'outer: loop {\n        yield_now().await;\n        break 'outer;\n    }\n}\n",
                 2, 5, "loop labels: `break` and `continue` leave the innermost loop", None, id="rust-loop-label"),
    pytest.param("task main {\n    let f = async move || { yield_now().await; };\n}\n", 2, 13,
                 "async closures (`async move |..|`): write an async fn and call it", None, id="rust-async-closure"),
    pytest.param("task main {\n    spawn(|| { yield_now(); });\n}\n", 2, 14, "a closure with a block body", None,
                 id="rust-closure-block"),
    pytest.param("task main {\n    let f = |a, b| a;\n}\n", 2, 13, "closures take at most one parameter", None,
                 id="rust-closure-two-parameters"),
    pytest.param("task main {\n    tokio::spawn(async move { yield_now().await; }.instrument(span));\n}\n", 2, 51,
                 "a method on an async block (`.instrument(..)`, `.boxed()`)", None, id="rust-spawn-instrumented"),
    pytest.param("task main {\n    tokio::task::spawn_blocking(|| 1);\n}\n", 2, 5, "`spawn_blocking`: a model has "
                 "no blocking code", None, id="rust-spawn-blocking"),
    pytest.param("task main {\n    tokio::task::spawn_local(async {});\n}\n", 2, 5, "`spawn_local` is `spawn` on a "
                 "`LocalSet`", None, id="rust-spawn-local"),
    pytest.param("async fn w() { yield_now().await; }\ntask main {\n    spawn(async move { w().await });\n}\n",
                 3, 33, "expected ';' after the block's last expression", None, id="rust-tail-expression"),
    pytest.param("task main {\n    let mut n = 0;\n    *n += 1;\n}\n", 3, 5, "dereferencing (`*x`): a model has no "
                 "references", None, id="rust-deref"),
    pytest.param("task main {\n    let mut n = 1;\n    n = n * 2;\n}\n", 3, 11, "multiplication: a model's integers "
                 "have only `+` and `-`", None, id="rust-multiplication"),
    pytest.param(MUTEX_FN + "task main {\n    lock_op(&lock).await;\n}\n", 6, 13, "shared references (`&x`): pass a "
                 "resource by name", None, id="rust-shared-reference-argument"),
    pytest.param(MUTEX_FN + "task main {\n    lock_op(&mut lock).await;\n}\n", 6, 13, "'&mut lock': pass a resource "
                 "by name (`f(m)`)", None, id="rust-mut-reference-argument"),
    pytest.param("task main {\n    let c = mpsc::channel::<u32>(1);\n}\n", 2, 28, "type arguments (`::<...>`)",
                 None, id="rust-turbofish"),
    pytest.param("task main {\n    let mut n = 0;\n    n = n as u64;\n}\n", 3, 11, "casts (`as`)", None,
                 id="rust-cast"),
    pytest.param("task main {\n    let n = 3;\n    for _ in 0..n { yield_now().await; }\n}\n", 3, 17,
                 "`for` bounds are number literals", None, id="rust-for-bound-variable"),
    pytest.param("async fn main() {\n    yield_now().await;\n}\n", 1, 10, "`async fn main` is an async fn: a model's "
                 "entry point is `task main { ... }`", None, id="rust-async-fn-main"),
    pytest.param("let m = std::sync::Mutex::new(());\ntask main {}\n", 1, 9, "a `std::sync::Mutex` blocks the "
                 "worker thread and is not modelled", None, id="rust-std-mutex"),
    pytest.param("let w = tokio::sync::watch::channel(0);\ntask main {}\n", 1, 9, "`tokio::sync::watch` is not "
                 "modelled yet; a `Notify`", None, id="rust-watch-channel"),
    pytest.param("task main {\n    let v = vec![sleep(1)];\n}\n", 2, 13, "`vec![...]`: write a list `[f, g]`", None,
                 id="rust-vec-macro"),
]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "model.mc"
    path.write_text(text, encoding="utf-8")
    return path


def _verify(path: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, str, str]:
    rc = main(["verify", "--quiet", str(path), *flags])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize(("source", "line", "col", "phrase", "note"), CASES + RUST_CASES)
def test_malformed_model_is_located(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, line: int, col: int, phrase: str, note: str | None
) -> None:
    path = _write(tmp_path, source)
    rc, out, err = _verify(path, capsys)

    assert rc == EXIT_BAD_INPUT, err
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    head = f"{path}:{line}:{col}: error: "
    assert lines[0].startswith(head), err  # the first error is the expected one, at the exact place
    assert phrase in lines[0], err
    # the offending source line, then a caret under the reported column
    text = source.splitlines()[line - 1]
    assert lines[1] == f"{line:>5} | {text}", err
    gutter, caret = lines[2].split("| ", 1)
    assert gutter.strip() == ""
    assert caret.lstrip(" \t").startswith("^"), err
    assert len(caret) - len(caret.lstrip(" \t")) == col - 1, err
    assert caret[: col - 1] == "".join("\t" if c == "\t" else " " for c in text[: col - 1])  # tabs kept: lines up
    if note is not None:
        assert f"{path}:{note}" in err, err


def test_cases_are_distinct() -> None:
    sources = [c.values[0] for c in CASES + RUST_CASES]
    assert len(set(sources)) == len(sources) >= 20
    assert len(RUST_CASES) >= 25


def test_every_independent_error_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = (
        "let lock = Mutex::new();\n"                      # 1
        "let lock = Mutex::new();\n"                      # 2: declared twice
        "async fn f(m: Barrier) {}\n"                     # 3: unknown parameter type
        "task main {\n"                                   # 4
        "    a.lock().await;\n"                           # 5: unknown name
        "    lock.await;\n"                               # 6: awaiting a mutex
        "    break;\n"                                    # 7: break outside a loop
        "    if x { yield_now().await; }\n"               # 8: unsupported condition
        "}\n"                                             # 9
        "task main {}\n"                                  # 10: task defined twice
    )
    path = _write(tmp_path, source)
    rc, _, err = _verify(path, capsys)
    assert rc == EXIT_BAD_INPUT
    assert "Traceback" not in err
    expected = [
        (2, 1, "'lock' is declared twice"),
        (3, 12, "unknown parameter type 'Barrier'"),
        (5, 5, "unknown name 'a'"),
        (6, 5, "'lock' is a Mutex, not a future"),
        (7, 5, "'break' outside of a loop"),
        (8, 8, "unsupported condition 'x'"),
        (10, 6, "task 'main' is defined twice"),
    ]
    heads = [ln for ln in err.splitlines() if ": error: " in ln]
    assert len(heads) == len(expected), err
    for head, (line, col, phrase) in zip(heads, expected, strict=True):
        assert head.startswith(f"{path}:{line}:{col}: error: "), err
        assert phrase in head, err


def test_one_error_per_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An error is not repeated, nor followed by its consequences, at the same place."""
    path = _write(tmp_path, "task main {\n    let f = sleep(1);\n    let g = async { f.await; };\n    g.await;\n}\n")
    rc, _, err = _verify(path, capsys)
    assert rc == EXIT_BAD_INPUT
    assert err.count(f"{path}:3:21: error: ") == 1, err
    assert "unknown name" not in err


@pytest.mark.parametrize("source", ["let m = Mutex::new();\n", ""], ids=["no-task", "empty-file"])
def test_model_without_task(tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str) -> None:
    path = _write(tmp_path, source)
    rc, out, err = _verify(path, capsys)
    assert rc == EXIT_BAD_INPUT
    assert out == ""
    assert err.startswith(f"{path}:1:1: error: the model has no task, so nothing runs\n"), err
    assert "note: a model runs its tasks: add one, e.g. `task main { sleep(1).await; }`" in err


def test_non_utf8_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "model.mc"
    path.write_bytes(b"// expect: safe\ntask main { yield_now().await; } // caf\xc3\xa9 \xff\n")
    rc, out, err = _verify(path, capsys)
    assert rc == EXIT_BAD_INPUT
    assert out == ""
    # the column counts characters: the two-byte 'é' is one
    assert err.startswith(f"{path}:2:42: error: the model is not valid UTF-8 (byte 0xff); save it as UTF-8\n"), err
    assert "Traceback" not in err


def test_expect_header_without_a_verdict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "// expect:\ntask main { yield_now().await; }\n")
    rc, out, err = _verify(path, capsys)
    assert rc == EXIT_BAD_INPUT and out == ""
    assert err.startswith(f"{path}:1:11: error: '// expect:' names no verdict; expected futurelock, deadlock or safe"), err


def test_model_over_the_size_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "// a comment to make the file large\n" * 99 + "task main { yield_now().await; }\n")
    rc, out, err = _verify(path, capsys, "--max-size", "1K")
    assert rc == EXIT_BAD_INPUT and out == ""
    assert err.startswith(f"{path}:29:17: error: the model is larger than 1,024 bytes, the most mcheck reads "
                          "(--max-size BYTES raises it)"), err
    rc, _, err = _verify(path, capsys, "--max-size", "4K")
    assert rc == 0, err


@pytest.mark.parametrize("name", ["missing.mc", "."], ids=["missing-file", "directory"])
def test_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    path = tmp_path / name
    rc, out, err = _verify(path, capsys)
    assert rc == EXIT_BAD_INPUT
    assert out == ""
    # A directory is read as the models below it (issue 14): one without any is a usage error.
    want = f"mcheck: error: no .mc model files under '{path}'" if name == "." else \
        f"mcheck: error: cannot read model '{path}': "
    assert err.startswith(want), err
    assert "Traceback" not in err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_file_that_is_not_regular_is_refused_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       kind: str) -> None:
    """A FIFO would block the read and /dev/zero never end: both are refused before reading."""
    if kind == "fifo":
        path = tmp_path / "model.mc"
        os.mkfifo(path)
    else:
        path = Path("/dev/zero")
    rc, out, err = _verify(path, capsys)
    assert rc == EXIT_BAD_INPUT and out == ""
    assert err.startswith(f"mcheck: error: '{path}' is not a regular file"), err


def test_byte_order_mark_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "\ufeff// expect: safe\ntask main {\n    yield_now().await;\n}\n")
    rc, _, err = _verify(path, capsys)
    assert rc == 0, err


def test_command_exits_2_without_traceback(tmp_path: Path) -> None:
    """The installed entry point: exit status 2 and the diagnostic on stderr, nothing on stdout."""
    path = _write(tmp_path, "let lock = Mutex::new();\ntask main {\n    lock.await;\n}\n")
    proc = subprocess.run([sys.executable, "-m", "mcheck", "verify", str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == EXIT_BAD_INPUT
    assert proc.stdout == ""
    assert proc.stderr.startswith(f"{path}:3:5: error: 'lock' is a Mutex, not a future")
    assert "Traceback" not in proc.stderr
