"""A Command: one cmdlet or one packaged script, with ordered, typed parameters.

Values are bound as PSRP parameters by the transport and never pasted into PowerShell text. A
parameter marked secret is shown as `<secret>` wherever the command is displayed (logs, errors) and is
stored as a wildcard in recordings.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeAlias

from psbridge import ps
from psbridge.errors import InputError, RemoteCommandError
from psbridge.result import ErrorRecordData

Value: TypeAlias = (
    str | bool | int | float | uuid.UUID | dt.datetime | enum.Enum | Sequence["Value"] | Mapping[str, "Value"] | None
)
ErrorPolicy = Literal["raise", "collect"]


def shown(value: Any, *, items: int = 3) -> str:
    """A parameter value as logs and errors show it: JSON, with long lists cut to their first items."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, list | tuple) and len(value) > items + 2:
        head = ", ".join(json.dumps(v, default=str, ensure_ascii=False) for v in value[:items])
        return f"[{head}, ... +{len(value) - items} more]"
    return json.dumps(value, default=str, ensure_ascii=False)


@dataclasses.dataclass(frozen=True)
class Parameter:
    name: str
    value: Value = True
    secret: bool = False

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("_", "").isalnum():
            raise InputError(f"invalid parameter name {self.name!r}")
        values = self.value if isinstance(self.value, list | tuple) else (self.value,)
        for value in values:  # a Python int travels as an Int32: a larger one would fail once sent
            if isinstance(value, int) and not isinstance(value, bool) and not -(2**31) <= value < 2**31:
                raise InputError(f"-{self.name} {value} is out of range: it must fit an Int32 (at most {2**31 - 1})")

    def display(self) -> str:
        if self.secret:
            return f"-{self.name} <secret>"
        if self.value is True:
            return f"-{self.name}"
        return f"-{self.name} {shown(self.value)}"


@dataclasses.dataclass(frozen=True)
class ErrorRule:
    """Maps an error record this command may report to a specific error class.

    Every condition given must hold. Rules are tried before the generic classification
    (command not found, object not found, access denied, ...). `note` is appended to the error's
    message: what the caller can do about it, beyond what the host said.
    """

    error: type[RemoteCommandError]
    message_contains: str | None = None
    error_id_prefix: str | None = None
    exception_type: str | None = None
    note: str | None = None

    def matches(self, record: ErrorRecordData) -> bool:
        return (
            (self.message_contains is None or self.message_contains.lower() in record.message.lower())
            and (self.error_id_prefix is None or record.fully_qualified_error_id.startswith(self.error_id_prefix))
            and (self.exception_type is None or record.exception_type == self.exception_type)
        )


@dataclasses.dataclass(frozen=True)
class Command:
    """What to run. Build one with `Command.cmdlet(...)` or `Command.script(...)`.

    Attributes:
        name: the cmdlet name, or the packaged script's path under `psbridge/ps/`.
        is_script: whether `name` names a packaged script.
        parameters: bound in order as PSRP parameters.
        idempotent: safe to send twice. Reads are; a call that changes state is retried only
            when it is marked idempotent.
        errors: "raise" turns any error record into an exception; "collect" leaves them in the
            result for the caller to inspect.
        error_rules: specific error classes for records this command is known to report.
    """

    name: str
    is_script: bool = False
    parameters: tuple[Parameter, ...] = ()
    idempotent: bool = True
    errors: ErrorPolicy = "raise"
    error_rules: tuple[ErrorRule, ...] = ()

    @classmethod
    def cmdlet(
        cls,
        name: str,
        parameters: Mapping[str, Value] | None = None,
        *,
        secret: Sequence[str] = (),
        idempotent: bool = True,
        errors: ErrorPolicy = "raise",
        error_rules: tuple[ErrorRule, ...] = (),
    ) -> Command:
        """A cmdlet call. Parameters whose value is None are left out."""
        if not name or any(ch.isspace() or ch in "\"'`$;|&(){}" for ch in name):
            raise InputError(f"invalid cmdlet name {name!r}")
        return cls(name, False, _params(parameters, secret), idempotent, errors, error_rules)

    @classmethod
    def script(
        cls,
        name: str,
        parameters: Mapping[str, Value] | None = None,
        *,
        secret: Sequence[str] = (),
        idempotent: bool = True,
        errors: ErrorPolicy = "raise",
        error_rules: tuple[ErrorRule, ...] = (),
    ) -> Command:
        """A packaged script from `psbridge/ps/`, e.g. `adsync/Get-GlobalParameters.ps1`."""
        ps.load(name)  # fail now, not on the server, when the script does not exist
        return cls(name, True, _params(parameters, secret), idempotent, errors, error_rules)

    @property
    def text(self) -> str:
        """The cmdlet name, or the script's text, exactly as sent."""
        return ps.load(self.name) if self.is_script else self.name

    @property
    def label(self) -> str:
        """What runs, without its parameters: `Get-ADSyncScheduler`, `script exchange/Set-CloudManagedBatch.ps1`."""
        return f"script {self.name}" if self.is_script else self.name

    def display(self) -> str:
        return " ".join([self.label, *(p.display() for p in self.parameters)])

    def secret_values(self) -> list[str]:
        return [str(p.value) for p in self.parameters if p.secret and p.value not in (None, "")]


def _params(parameters: Mapping[str, Value] | None, secret: Sequence[str]) -> tuple[Parameter, ...]:
    secret_names = {s.lower() for s in secret}
    unknown = secret_names - {k.lower() for k in parameters or {}}
    if unknown:
        raise InputError(f"secret parameter(s) not given: {', '.join(sorted(unknown))}")
    return tuple(
        Parameter(name, value, name.lower() in secret_names)
        for name, value in (parameters or {}).items()
        if value is not None
    )
