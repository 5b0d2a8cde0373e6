"""A transport that answers with a function, for unit tests of everything above the wire."""

from __future__ import annotations

from collections.abc import Callable

from psbridge.command import Command
from psbridge.result import InvocationResult, live_records
from psbridge.transport import RecordCallback


class MockTransport:
    def __init__(self, handler: Callable[[Command], InvocationResult], target: str = "mock") -> None:
        self.handler = handler
        self.target = target
        self.calls: list[Command] = []
        self.closed = False
        self.on_pool_open: Callable[[], None] | None = None
        self.pools_opened = 0

    @property
    def pool_open(self) -> bool:
        return self.pools_opened > 0 and not self.closed

    def invoke(self, command: Command, *, timeout: float, on_record: RecordCallback | None = None) -> InvocationResult:
        if not self.pool_open:
            self.pools_opened += 1
            self.closed = False
            if self.on_pool_open is not None:
                self.on_pool_open()
        self.calls.append(command)
        result = self.handler(command)
        if on_record is not None:
            for kind, records in live_records(result.streams):
                for record in records:
                    on_record(kind, record)
        return result

    def close(self) -> None:
        self.closed = True
