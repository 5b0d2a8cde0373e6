"""What one invocation returned: output objects, every stream, and the final state.

These are plain data, independent of pypsrp: the transport decodes what the host sent into them
(`psbridge.transport.clixml`), so wrappers and tests never see pypsrp types.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any


def strip_deserialized(type_name: str) -> str:
    """`Deserialized.Deserialized.X` -> `X`: remoting, pypsrp and psrpcore disagree on the prefix."""
    while type_name.startswith("Deserialized."):
        type_name = type_name[len("Deserialized.") :]
    return type_name


# What a SecureString decodes to: psbridge never asks for the session key that would decrypt it.
UNREADABLE = "<unreadable>"


class EnumValue(str):
    """An enum value as it crossed remoting: its text (what PowerShell prints, `A, B` for flags), with the
    number and the enum's type names kept. Compares and hashes as its text."""

    number: Any
    type_names: tuple[str, ...]

    def __new__(cls, text: str, number: Any = None, type_names: tuple[str, ...] = ()) -> EnumValue:
        self = super().__new__(cls, text)
        self.number = number
        self.type_names = type_names
        return self

    def __getnewargs__(self) -> tuple[str, Any, tuple[str, ...]]:  # type: ignore[override]
        return (str(self), self.number, self.type_names)


@dataclasses.dataclass(frozen=True)
class PSObjectData:
    """A deserialized PowerShell object.

    `properties` merges extended (note) properties over adapted ones. `type_names` are stripped of
    every `Deserialized.` prefix. `value` holds the primitive an object wraps (an enum's number).
    """

    type_names: tuple[str, ...]
    properties: Mapping[str, Any]
    to_string: str | None = None
    value: Any = None

    def get(self, name: str, default: Any = None) -> Any:
        return self.properties.get(name, default)

    def is_a(self, type_name: str) -> bool:
        return strip_deserialized(type_name) in self.type_names

    def __str__(self) -> str:
        """What PowerShell prints for the object: its ToString, as the host sent it."""
        return self.to_string if self.to_string is not None else repr(self)


@dataclasses.dataclass(frozen=True)
class ErrorRecordData:
    message: str
    fully_qualified_error_id: str
    category: str
    category_info: str = ""
    reason: str = ""
    target_name: str = ""
    exception_type: str = ""
    exception_types: tuple[str, ...] = ()
    command_name: str = ""
    script_stack_trace: str = ""


@dataclasses.dataclass(frozen=True)
class InformationData:
    message_data: Any
    source: str = ""
    tags: tuple[str, ...] = ()
    time_generated: str | None = None


@dataclasses.dataclass(frozen=True)
class ProgressData:
    activity: str
    status_description: str = ""
    current_operation: str = ""
    percent_complete: int = -1
    seconds_remaining: int = -1


@dataclasses.dataclass(frozen=True)
class Streams:
    error: tuple[ErrorRecordData, ...] = ()
    warning: tuple[str, ...] = ()
    verbose: tuple[str, ...] = ()
    debug: tuple[str, ...] = ()
    information: tuple[InformationData, ...] = ()
    progress: tuple[ProgressData, ...] = ()


def live_records(streams: Streams) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """The streams a caller may follow while a command runs, by name."""
    return (
        ("information", streams.information),
        ("warning", streams.warning),
        ("verbose", streams.verbose),
        ("progress", streams.progress),
    )


@dataclasses.dataclass(frozen=True)
class InvocationResult:
    """The outcome of one call. `state` is Completed, Failed or Stopped."""

    command: str
    output: tuple[Any, ...]
    streams: Streams
    state: str = "Completed"
    elapsed_ms: float = 0.0

    @property
    def errors(self) -> tuple[ErrorRecordData, ...]:
        return self.streams.error
