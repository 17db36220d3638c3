"""tokio's oneshot channel: a value slot. `o.send()` never waits; `o.recv()` waits for the value,
or returns as soon as no task or future that sends on `o` is alive (the Sender was dropped). The
receive is mpsc.py's, over a queue of at most one value (the resource's `value` variable).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcheck.compiler.step import Step
from mcheck.compiler.sync import State, TraceWords, mpsc
from mcheck.model import EventKind, ResourceInfo, SlotInfo
from mcheck.source import Span

if TYPE_CHECKING:
    from mcheck.compiler.machine import Compiler


def send(c: Compiler, st: Step, r: int, span: Span | None) -> None:
    st.write(c.resources[r].msgs_var, 1)
    st.event(EventKind.SENT, -1, r, span)


def words(w: TraceWords, kind: EventKind, s: SlotInfo | None, r: ResourceInfo, detail: str,
          before: State, after: State) -> str:
    """The value sent; receiving it (or None, the Sender gone) is the channel's (mpsc.words)."""
    if kind is EventKind.SENT:
        return f"sends on {w.res(r.index)}"
    return mpsc.words(w, kind, s, r, detail, before, after)
