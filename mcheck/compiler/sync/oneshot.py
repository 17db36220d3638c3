"""tokio's oneshot channel: a value slot. `o.send()` never waits; `o.recv()` waits for the value,
or returns as soon as no task or future that sends on `o` is alive (the Sender was dropped). The
receive is mpsc.py's, over a queue of at most one value (the resource's `value` variable).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcheck.compiler.step import Step
from mcheck.model import EventKind
from mcheck.source import Span

if TYPE_CHECKING:
    from mcheck.compiler.machine import Compiler


def send(c: Compiler, st: Step, r: int, span: Span | None) -> None:
    st.write(c.resources[r].msgs_var, 1)
    st.event(EventKind.SENT, -1, r, span)
