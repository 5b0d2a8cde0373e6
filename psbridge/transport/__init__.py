"""The transport seam: how a Command reaches a host and its result comes back.

A Session only knows this small interface. `psbridge.transport.psrp` is the real one (and the only
module that imports pypsrp); `psbridge.transport.mock.MockTransport` takes a function, for unit tests.
Record and replay are not transports of their own: they swap the wire under the real PSRP transport.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from psbridge.command import Command
from psbridge.result import InvocationResult

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
        """Run one command with an overall deadline of `timeout` seconds.

        Returns the result with every stream, even when it holds error records; raises
        TransportError when the call could not be carried out.
        """
        ...

    def close(self) -> None: ...
