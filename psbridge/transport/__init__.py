"""The transport seam: how a Command reaches a host and its result comes back.

A Session only knows this small interface. `psbridge.transport.psrp` is the real one (it and its
`pipeline` module are the only ones that import pypsrp; `closer` closes finished pipelines in the
background); `psbridge.transport.mock.MockTransport` takes a function, for unit tests.
Record and replay are not transports of their own: they swap the wire under the real PSRP transport.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from psbridge.command import Command
from psbridge.result import InvocationResult

# How far past its deadline a call may run (README "Deadlines"). A request in flight at the deadline gets
# GRACE_S more: a Receive asks the server to hold it for the time left, rounded up to a whole second, so a
# live server's answer comes within that. Stopping and closing what the call leaves behind on the server
# then share CLEANUP_S, best effort. Nothing else runs past the deadline.
GRACE_S = 2.0
CLEANUP_S = 3.0
DEADLINE_MARGIN_S = GRACE_S + CLEANUP_S

# Called while a command runs, with each new record: ("information" | "warning" | "verbose" |
# "progress", the record). How a device-code sign-in instruction reaches the user in time.
RecordCallback = Callable[[str, Any], None]


class Transport(Protocol):
    target: str
    # Called right after a new runspace pool opens, before the call that opened it runs: where a
    # Session runs its per-runspace setup (e.g. Connect-ExchangeOnline, once per runspace).
    on_pool_open: Callable[[], None] | None

    @property
    def pool_open(self) -> bool: ...

    def invoke(self, command: Command, *, timeout: float, on_record: RecordCallback | None = None) -> InvocationResult:
        """Run one command with an overall deadline of `timeout` seconds: it returns or raises at most
        DEADLINE_MARGIN_S after it, whatever the server does (OperationTimeoutError once it has passed).

        Returns the result with every stream, even when it holds error records; raises
        TransportError when the call could not be carried out.
        """
        ...

    def close(self) -> None: ...
