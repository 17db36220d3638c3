"""tests/modelgen.py reaches the whole language, and its models find futurelocks.

Every construct heading of docs/language.md is mapped to the features (`modelgen.features`) that
show a program uses it; a heading without a mapping fails, so a construct added to the reference
must be mapped (and generated). Every mapped feature, and every construct issue 8 lists, must
come up in a run of SEEDS models. And the generator is useful only if its models hang: at least
FUTURELOCK_SHARE of the models that compile must end in a futurelock (not a deadlock). Structs
only respell a model (its fns as methods), so both spellings must search alike.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT
from modelgen import REPLY_SHARE, STRUCT_SHARE, features, random_model

from mcheck import bfs
from mcheck.errors import ModelError
from mcheck.model import TimeMode
from mcheck.parse import parse_module
from mcheck.program import Verdict
from mcheck.resolve import resolve
from mcheck.runs import Options, run_file
from mcheck.source import Source
from mcheck.trace import Status
from mcheck.verify import check, load

SEEDS = 300
VERDICT_SEEDS = 80
"""Models checked for the futurelock share (each is compiled and searched: they cost the most)."""
FUTURELOCK_SHARE = 0.10

NOT_CONSTRUCTS = ("File layout", "Header comments", "Limits", "Not yet supported", "Coming from Rust")
"""Headings of docs/language.md that describe no construct a model is written with."""

HEADING_FEATURES: dict[str, tuple[str, ...]] = {
    "Tasks": ("Task", "Task.copies"),
    "Runtimes": ("Runtime.current-thread",),
    "`main` ends the run": ("Task.main",),
    "Futures are lazy; futures as values": ("LetFuture", "UseVar", "AwaitStmt.borrowed", "Drop.FUTURE"),
    "poll! and pinning": ("PollOnce",),
    "Returning a guard": ("FnDef.returns.MutexGuard", "FnDef.returns.SemaphorePermit"),
    "Guards and scope": ("AwaitStmt.bind.GUARD", "AwaitStmt.bind.PERMIT", "Drop.GUARD", "Drop.PERMIT"),
    "Mutex": ("Resource.Mutex", "Acquire.lock"),
    "try_lock, try_read, try_write, try_acquire": ("TryAcquire",),
    "Semaphore": ("Resource.Semaphore", "Resource.Semaphore.permits>1", "Acquire.acquire", "Acquire.many"),
    "Bounded channel": ("Resource.Channel", "Resource.Channel.permits>1", "Acquire.send", "Acquire.reserve",
                        "TrySend.try_send", "TryReserve", "PermitSend", "Recv"),
    "Unbounded channel": ("Resource.unbounded", "TrySend.unbounded"),
    "Message values and match": ("EnumType", "Message.send", "Recv.bind", "Match", "Message.number"),
    "oneshot": ("Resource.Oneshot", "OneshotSend", "OneshotNew", "ReplySend", "ReplyDrop", "Reply.in_fn",
                "Reply.raced"),
    "RwLock": ("Resource.RwLock", "Acquire.write"),
    "futures::lock::Mutex": ("Resource.futures::lock::Mutex",),
    "Notify": ("Resource.Notify", "Notified", "NotifyOne.one", "NotifyOne.waiters", "Enable"),
    "OnceCell": ("Resource.OnceCell", "GetOrInit"),
    "sleep and time": ("Sleep", "Sleep.varied"),
    "interval": ("NewInterval", "Tick"),
    "yield_now": ("YieldNow",),
    "async fn": ("FnDef", "CallFn", "FnDef.u64_param", "FnDef.nested_call", "Struct.method", "Struct.self_call",
                 "Struct.arc", "Struct.clone", "Struct.field"),
    "async blocks": ("AsyncBlock",),
    "select!": ("Select", "Select.biased", "Select.three_arms"),
    "Preconditions and else": ("Select.precondition", "Select.else"),
    "Some(_) patterns": ("Select.refutable",),
    "futures::select!": ("Select.futures",),
    "timeout, send_timeout and future::select": ("Race.timeout", "Race.send_timeout", "Race.select"),
    "join!": ("Join.macro",),
    "join_all": ("Join.join_all", "WithParam"),
    "FuturesUnordered and FuturesOrdered": ("NewSet.SET", "NewSet.ORDERED_SET", "Push", "SetNext"),
    "Streams": ("ForEach.unbuffered", "ForEach.buffered", "ForEach.unordered", "NewSet.STREAM"),
    "spawn and JoinHandle": ("Spawn.handle", "Spawn.detached", "Abort.HANDLE", "Drop.HANDLE"),
    "JoinSet": ("NewSet.JOIN_SET", "SetSpawn", "Abort.JOIN_SET", "Drop.JOIN_SET"),
    "Loops and conditions": ("Loop", "For", "While", "If", "Break", "Continue", "Choose", "Compare", "NotCond",
                             "AndCond", "OrCond", "SetInt", "ReadInt", "IntArith"),
    "while let Some(_) = rx.recv().await": ("WhileRecv",),
}

ISSUE_CONSTRUCTS: dict[str, str] = {
    "task copies": "Task.copies", "RwLock": "Resource.RwLock", "Notify": "Resource.Notify",
    "OnceCell": "Resource.OnceCell", "futures::lock::Mutex": "Resource.futures::lock::Mutex",
    "unbounded channels": "TrySend.unbounded", "interval": "Tick", "reserve": "Acquire.reserve",
    "send_timeout": "Race.send_timeout", "timeout": "Race.timeout", "future::select": "Race.select",
    "join_all": "Join.join_all", "FuturesUnordered": "NewSet.SET", "FuturesOrdered": "NewSet.ORDERED_SET",
    "streams": "ForEach.buffered", "poll!": "PollOnce", "(&mut f).await": "AwaitStmt.borrowed",
    "async blocks": "AsyncBlock", "spawn": "Spawn.detached", "JoinHandle": "Spawn.handle", "abort": "Abort.HANDLE",
    "JoinSet": "NewSet.JOIN_SET", "biased": "Select.biased", "preconditions": "Select.precondition",
    "else": "Select.else", "more than two branches": "Select.three_arms", "futures::select!": "Select.futures",
    "loops": "Loop", "while": "While", "integer variables": "SetInt", "nested fn calls": "FnDef.nested_call",
    "dropped guards": "Drop.GUARD", "capacities": "Resource.Channel.permits>1",
    "permits": "Resource.Semaphore.permits>1", "acquire_many": "Acquire.many", "durations varied": "Sleep.varied",
}
"""Issue 8's list of what the generated models must cover, each with the feature that shows it."""


def headings(path: Path) -> list[str]:
    """The `##` and `###` headings of a Markdown file, outside code blocks, without the #s."""
    out, fenced = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (m := re.match(r"#{2,3} (.+)", line)):
            out.append(m.group(1).strip())
    return out


def test_headings_are_read() -> None:
    """The parser of headings sees what the reference has (the test below would pass on nothing)."""
    found = headings(ROOT / "docs" / "language.md")
    assert len(found) >= 30 and "Mutex" in found and "Preconditions and else" in found


def test_every_construct_of_the_reference_is_mapped_to_features() -> None:
    found = headings(ROOT / "docs" / "language.md")
    unmapped = [h for h in found if h not in HEADING_FEATURES and h not in NOT_CONSTRUCTS]
    assert not unmapped, f"headings of docs/language.md with no features in HEADING_FEATURES: {unmapped}"
    stale = [h for h in [*HEADING_FEATURES, *NOT_CONSTRUCTS] if h not in found]
    assert not stale, f"mapped headings that docs/language.md no longer has: {stale}"


@pytest.fixture(scope="module")
def generated() -> tuple[Counter[str], int]:
    """How many of SEEDS models use each feature, and how many are refused."""
    seen: Counter[str] = Counter()
    refused = 0
    for seed in range(SEEDS):
        text = random_model(seed)
        assert random_model(seed) == text, "the same seed must give the same model"
        source = Source(f"seed{seed}.mc", text)
        try:
            program = resolve(source, parse_module(source))
        except ModelError:
            refused += 1
            continue
        seen.update(features(program, text))
    return seen, refused


def test_the_generator_reaches_every_mapped_feature(generated: tuple[Counter[str], int]) -> None:
    seen, refused = generated
    assert refused <= SEEDS // 10, f"{refused} of {SEEDS} generated models are refused"
    missing = {h: [f for f in fs if not seen[f]] for h, fs in HEADING_FEATURES.items()}
    missing = {h: fs for h, fs in missing.items() if fs}
    assert not missing, f"features never generated in {SEEDS} models, by heading of docs/language.md: {missing}"


def test_structs_and_replies_come_up_in_their_shares(generated: tuple[Counter[str], int]) -> None:
    """Each new construct in about its share of the models (not in one seed only, not in all)."""
    seen, _ = generated
    for feature, share in (("Struct.method", STRUCT_SHARE), ("OneshotNew", REPLY_SHARE)):
        assert share / 2 * SEEDS <= seen[feature] <= min(1.0, share * 2) * SEEDS, (feature, seen[feature])


RESPELLED_SEEDS = 8
"""Models with structs compiled and searched in both spellings."""


def test_struct_spelling_changes_nothing_but_the_spelling() -> None:
    """A model whose fns are struct methods is the model with plain fns after structs.py's
    lowering: the same transition system, the same states searched and the same verdict."""
    compared = 0
    for seed in range(SEEDS):
        text = random_model(seed)
        if not re.search(r"^impl \w+ \{", text, re.M):
            continue
        plain = random_model(seed, structs=False)
        assert "impl " not in plain and plain != text, f"seed {seed}"
        got = []
        for spelling in (text, plain):
            model = load(Source(f"seed{seed}.mc", spelling), TimeMode.UNTIMED)
            result = check(model, bfs.Limits(max_states=300))
            got.append((len(model.ts.transitions), len(model.ts.vars), model.ts.initial, result.status,
                        result.stats.states, result.stats.transitions))
        assert got[0] == got[1], f"seed {seed}: with structs {got[0][3:]}, without {got[1][3:]}"
        compared += 1
        if compared == RESPELLED_SEEDS:
            break
    assert compared == RESPELLED_SEEDS, f"only {compared} of {SEEDS} models have structs"


def test_the_generator_reaches_every_construct_the_issue_lists(generated: tuple[Counter[str], int]) -> None:
    seen, _ = generated
    missing = [name for name, feature in ISSUE_CONSTRUCTS.items() if not seen[feature]]
    assert not missing, f"constructs never generated in {SEEDS} models: {missing}"


def test_a_good_share_of_generated_models_futurelock(tmp_path: Path) -> None:
    verdicts: Counter[str] = Counter()
    opts = Options(TimeMode.UNTIMED, limits=bfs.Limits(max_states=400), timeout=1.5)
    for seed in range(VERDICT_SEEDS):
        path = tmp_path / f"seed{seed}.mc"
        path.write_text(random_model(seed))
        o = run_file(str(path), opts)
        assert not o.internal, f"seed {seed}: {o.internal}"
        if o.diagnostics:
            verdicts["refused"] += 1
            continue
        status = o.verdict
        assert status is not None
        if status is Status.FUTURELOCK:  # confirmed by the analysis of the last state: a dormant future
            assert o.result is not None and o.result.trace is not None
            assert o.result.trace.report.verdict is Verdict.FUTURELOCK
        verdicts[status.value] += 1
    compiled = VERDICT_SEEDS - verdicts["refused"]
    assert verdicts["futurelock"] >= FUTURELOCK_SHARE * compiled, (
        f"only {verdicts['futurelock']} of {compiled} generated models that compile futurelock: {dict(verdicts)}")
    # The rest are not all one verdict either: the generator also makes safe models and deadlocks.
    assert verdicts["safe"] and verdicts["deadlock"], dict(verdicts)
