"""A seeded generator of random models, for the runtime check (tools/runtime_check.py).

Modelled on tests/test_random_models.py's hypothesis strategy, widened to the language of
docs/language.md: locks, semaphores, bounded and unbounded channels, oneshots, RwLock, Notify (with
enable), OnceCell, futures::lock::Mutex, futures as values in biased and unbiased select! (with
preconditions and else) and futures::select!, poll!, timeout, send_timeout, future::select, join!,
join_all, async blocks, spawn, JoinHandles and abort, FuturesUnordered/Ordered, JoinSet, buffered
streams and for_each, interval, receive loops, integer variables, `loop`/`while`/`for` and
`if choose()`. `random_model(seed)` is deterministic in its seed. Some models it writes are refused
by mcheck (a located error) or inconclusive: the check skips those.
"""

from __future__ import annotations

import random

RESOURCES = """let m = Mutex::new();
let n = Mutex::new();
let sem = Semaphore::new(2);
let ch = channel(1);
let ev = unbounded_channel();
let os = oneshot();
let rw = RwLock::new();
let nt = Notify::new();
let cell = OnceCell::new();
let fm = futures::lock::Mutex::new();
async fn hold(x: Mutex, ms: u64) { let _g = x.lock().await; sleep(ms).await; }
async fn take(s: Semaphore, k: u64) { let _p = s.acquire_many(k).await; sleep(1).await; }
async fn claim(c: Channel) { c.send().await; }
async fn pass(c: Channel) { c.recv().await; }
"""


class _Gen:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.names = 0

    def ms(self) -> int:
        return self.r.choice((1, 2, 3, 5, 5, 10, 10, 20))

    def fresh(self, stem: str) -> str:
        self.names += 1
        return f"{stem}{self.names}"

    def future(self) -> str:
        return self.r.choice((
            f"hold(m, {self.ms()})", f"hold(n, {self.ms()})", "take(sem, 2)", "take(sem, 1)", "claim(ch)", "pass(ch)",
            f"sleep({self.ms()})", "m.lock()", "sem.acquire()", "ch.recv()", "os.recv()", "nt.notified()",
            f"async {{ let _g = m.lock().await; sleep({self.ms()}).await; }}",
            f"async {{ let _r = rw.read().await; sleep({self.ms()}).await; }}",
            "async { let _w = rw.write().await; }", "ev.recv()",
        ))

    def leaf(self) -> str:
        return self.r.choice((
            "m.lock().await;", "n.lock().await;", "let _g = m.lock().await;", "let _h = n.lock().await;",
            f"sleep({self.ms()}).await;", "yield_now().await;", "ch.send().await;", "ch.recv().await;",
            "ch.try_send();", "ev.send();", "ev.recv().await;", "os.send();", "os.recv().await;",
            "let _p = sem.acquire().await;", f"hold(m, {self.ms()}).await;", "take(sem, 2).await;", "claim(ch).await;",
            "let _r = rw.read().await;", "let _w = rw.write().await;", "nt.notified().await;", "nt.notify_one();",
            "nt.notify_waiters();", f"timeout({self.ms()}, m.lock()).await;", f"timeout({self.ms()}, claim(ch)).await;",
            "let p = ch.reserve().await; p.send();", "let q = ch.try_reserve(); q.send();",
            f"ch.send_timeout({self.ms()}).await;", "let _f = fm.lock().await;", "fm.lock().await;",
            f"cell.get_or_init(|| async {{ sleep({self.ms()}).await; }}).await;",
            f"futures::future::select(hold(m, {self.ms()}), sleep({self.ms()})).await;",
            f"futures::future::join_all([hold(n, {self.ms()}), take(sem, 1)]).await;",
            "futures::future::join_all((0..2).map(|i| hold(m, i))).await;",
        ))

    def stmts(self, depth: int, in_loop: bool) -> list[str]:
        out: list[str] = []
        for _ in range(self.r.randint(1, 3)):
            kind = self.r.randint(0, 19 if depth > 0 else 5)
            if kind in (15, 16):
                kind = 6  # the futurelock shape: a let-bound future raced in a select!
            if kind <= 5:
                out.append(self.leaf())
            elif kind == 6:
                f = self.fresh("f")
                out.append(f"let {f} = {self.future()};")
                arm = f"&mut {f}" if self.r.random() < 0.6 else f
                biased = "biased; " if self.r.random() < 0.3 else ""
                other = " ".join(self.stmts(depth - 1, in_loop))
                out.append(f"select! {{ {biased}_ = {arm} => {{}} _ = sleep({self.ms()}) => {{ {other} }} }}")
                if arm.startswith("&mut") and self.r.random() < 0.4:
                    out.append(f"drop({f});" if self.r.random() < 0.5 else f"{f}.await;")
            elif kind == 7:
                out.append(f"join!({self.future()}, {self.future()});")
            elif kind == 8:
                out.append(f"for _ in 0..2 {{ {' '.join(self.stmts(depth - 1, True))} }}")
            elif kind == 9:
                then = " ".join(self.stmts(depth - 1, in_loop))
                other = " ".join(self.stmts(depth - 1, in_loop))
                out.append(f"if choose() {{ {then} }} else {{ {other} }}")
            elif kind == 10:
                biased = "biased; " if self.r.random() < 0.3 else ""
                a = " ".join(self.stmts(depth - 1, in_loop))
                out.append(f"select! {{ {biased}_ = {self.future()} => {{ {a} }} _ = {self.future()} => {{}} }}")
            elif kind == 11 and not in_loop:
                body = " ".join(self.stmts(depth - 1, False))
                if self.r.random() < 0.5:
                    out.append(f"spawn(async {{ {body} }});")
                else:
                    h = self.fresh("h")
                    out.append(f"let {h} = spawn(async {{ {body} }});")
                    if self.r.random() < 0.5:
                        out.append(f"select! {{ _ = &mut {h} => {{}} _ = sleep({self.ms()}) => {{ {self.leaf()} }} }}")
                    else:
                        out.append(f"{h}.await;")
            elif kind == 12:
                body = " ".join(self.stmts(depth - 1, in_loop))
                a = self.fresh("a")
                out.append(f"let {a} = async {{ {body} }}; {a}.await;")
            elif kind == 13 and not in_loop:
                s = self.fresh("s")
                body = self.leaf() if self.r.random() < 0.7 else ""
                out.append(f"let {s} = FuturesUnordered::new(); {s}.push({self.member()}); {s}.push({self.member()});"
                           f" while let Some(_) = {s}.next().await {{ {body} }}")
            elif kind == 14:
                out.append(f"timeout({self.ms()}, async {{ {' '.join(self.stmts(depth - 1, in_loop))} }}).await;")
            elif kind >= 15:
                out.extend(self.rare(depth, in_loop))
            else:
                out.append(self.leaf())
        return out

    def rare(self, depth: int, in_loop: bool) -> list[str]:
        """The rest of the language, one construct each."""
        k = self.r.randint(0, 13)
        body = " ".join(self.stmts(depth - 1, in_loop)) if depth > 0 else self.leaf()
        if k == 0:  # a select! loop with a counter, a precondition and else
            c = self.fresh("c")
            f = self.fresh("f")
            return [f"let {f} = {self.future()}; let mut {c} = 0;",
                    f"loop {{ select! {{ _ = &mut {f}, if {c} == 0 => {{ {c} = 1; }} "
                    f"_ = sleep({self.ms()}), if {c} < 2 => {{ {c} += 1; {self.leaf()} }} else => break, }} }}"]
        if k == 1:  # futures::select! over a named future
            f = self.fresh("f")
            named = self.r.choice((f"hold(m, {self.ms()})", "take(sem, 2)", "claim(ch)", "pass(ch)"))
            return [f"let {f} = {named}.fuse();",
                    f"futures::select! {{ _ = {f} => {{}}, _ = sleep({self.ms()}).fuse() => {{ {body} }}, }}"]
        if k == 2:  # poll! then carry on
            f = self.fresh("f")
            tail = f"drop({f});" if self.r.random() < 0.5 else ""
            return [f"let {f} = {self.future()};", f"poll!(&mut {f});", self.leaf(), tail]
        if k == 3:  # an interval's ticks raced against a held future
            iv, f = self.fresh("iv"), self.fresh("f")
            return [f"let {f} = hold(m, {self.ms()}); let {iv} = interval({self.ms()}); {iv}.tick().await;",
                    f"for _ in 0..2 {{ select! {{ _ = &mut {f} => {{}} _ = {iv}.tick() => {{ {self.leaf()} }} }} }}"]
        if k == 4 and not in_loop:  # FuturesOrdered
            s = self.fresh("o")
            return [f"let {s} = FuturesOrdered::new(); {s}.push_back({self.member()}); {s}.push_back({self.member()});"
                    f" while let Some(_) = {s}.next().await {{ {self.leaf()} }}"]
        if k == 5 and not in_loop:  # JoinSet
            s = self.fresh("js")
            end = f"{s}.abort_all();" if self.r.random() < 0.3 else \
                f"while let Some(_) = {s}.join_next().await {{ {self.leaf()} }}"
            return [f"let {s} = JoinSet::new(); {s}.spawn({self.member()}); {s}.spawn(async {{ {body} }}); {end}"]
        if k == 6:  # a buffered stream with a body that awaits
            method = self.r.choice(("buffered", "buffer_unordered"))
            return [f"stream::iter([{self.member()}, {self.member()}]).{method}(2)"
                    f".for_each(|_| {self.r.choice(('async {}', 'hold(m, 1)', 'take(sem, 1)'))}).await;"]
        if k == 7:  # a bound buffered stream, pulled by hand
            st = self.fresh("st")
            return [f"let {st} = stream::iter((0..3).map(|i| hold(n, i))).buffered(2);",
                    f"while let Some(_) = {st}.next().await {{ {self.leaf()} }}"]
        if k == 8 and not in_loop:  # a JoinHandle aborted
            h = self.fresh("h")
            return [f"let {h} = spawn(async {{ {body} }});", f"sleep({self.ms()}).await;", f"{h}.abort();", f"{h}.await;"]
        if k == 9:  # Notify with enable
            f = self.fresh("nf")
            return [f"let {f} = nt.notified(); {f}.enable();", self.leaf(), f"{f}.await;"]
        if k == 10:  # a bounded while loop on an integer variable
            c = self.fresh("c")
            return [f"let mut {c} = 0;", f"while {c} < 2 {{ {c} += 1; {self.leaf()} }}"]
        if k == 11:  # a loop left by break
            return [f"loop {{ {self.leaf()} if choose() {{ break; }} sleep({self.ms()}).await; }}"]
        if k == 12:  # a receive loop on the unbounded channel
            return ["while let Some(_) = ev.recv().await { sleep(1).await; }"]
        f = self.fresh("f")  # a borrowing timeout leaves the future alive
        return [f"let {f} = {self.future()};", f"timeout({self.ms()}, &mut {f}).await;", self.leaf()]

    def member(self) -> str:
        return self.r.choice((f"hold(m, {self.ms()})", "take(sem, 1)", "claim(ch)",
                              f"async {{ let _g = n.lock().await; sleep({self.ms()}).await; }}"))

    def model(self) -> str:
        tasks = []
        count = self.r.randint(1, 3)
        for i in range(count):
            name = "main" if i == 0 and self.r.random() < 0.5 else f"t{i}"
            copies = "[2]" if name != "main" and self.r.random() < 0.2 else ""
            body = " ".join(self.stmts(1 if self.r.random() < 0.7 else 2, False))
            tasks.append(f"task {name}{copies} {{ {body} }}")
        return RESOURCES + "\n".join(tasks) + "\n"


def random_model(seed: int) -> str:
    """A random model (deterministic in `seed`)."""
    return _Gen(seed).model()
