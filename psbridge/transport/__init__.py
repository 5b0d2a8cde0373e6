"""The transport seam: how a Command reaches a host and its result comes back.

A Session only knows this small interface. `psbridge.transport.psrp` is the real one (and the only
module that imports pypsrp); `psbridge.transport.mock.MockTransport` takes a function, for unit tests.
Record and replay are not transports of their own: they swap the wire under the real PSRP transport.
"""

from __future__ import annotations

from typing import Protocol

from psbridge.command import Command
from psbridge.result import InvocationResult


class Transport(Protocol):
    target: str

    def invoke(self, command: Command, *, timeout: float) -> InvocationResult:
        """Run one command with an overall deadline of `timeout` seconds.

        Returns the result with every stream, even when it holds error records; raises
        TransportError when the call could not be carried out.
        """
        ...

    def close(self) -> None: ...
