"""A transport that answers with a function, for unit tests of everything above the wire."""

from __future__ import annotations

from collections.abc import Callable

from psbridge.command import Command
from psbridge.result import InvocationResult


class MockTransport:
    def __init__(self, handler: Callable[[Command], InvocationResult], target: str = "mock") -> None:
        self.handler = handler
        self.target = target
        self.calls: list[Command] = []
        self.closed = False

    def invoke(self, command: Command, *, timeout: float) -> InvocationResult:
        self.calls.append(command)
        return self.handler(command)

    def close(self) -> None:
        self.closed = True
