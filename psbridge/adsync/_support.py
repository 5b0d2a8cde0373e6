"""What every ADSync wrapper shares: invoking with ADSync's prerequisite check, validating flat output, and
checking arguments. (The listings, run history and connectors, arrive as JSON pages: psbridge.pages.)"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from psbridge.adsync.models import PolicyType
from psbridge.command import Command
from psbridge.errors import (
    CommandNotFoundError,
    InputError,
    PrerequisiteMissingError,
    RemoteModuleNotFoundError,
)
from psbridge.models import from_output, only
from psbridge.result import InvocationResult
from psbridge.session import Session
from psbridge.types import TimeSpan, format_timespan

M = TypeVar("M", bound=BaseModel)


def invoke(session: Session, command: Command) -> InvocationResult:
    """Invoke; a missing ADSync module or cmdlet says the host is not (fully) a Connect server."""
    try:
        return session.invoke(command)
    except (RemoteModuleNotFoundError, CommandNotFoundError) as exc:
        missing = exc.target_name or ""
        if isinstance(exc, CommandNotFoundError) and "adsync" not in missing.lower():
            raise
        what = "the ADSync module" if isinstance(exc, RemoteModuleNotFoundError) else missing
        raise PrerequisiteMissingError(
            f"{what} is not available on {session.target}: it is not an Entra Connect Sync server, or its "
            f"install is incomplete ({exc})",
            target=exc.target, command=exc.command, error_id=exc.error_id, category=exc.category,
            attempt=exc.attempt, target_name=exc.target_name, exception_type=exc.exception_type,
        ) from exc  # fmt: skip


def invoke_all(session: Session, command: Command, model: type[M]) -> list[M]:
    """Every output object of the command, validated into `model`."""
    return validate_all(model, invoke(session, command).output, session, command)


def invoke_one(session: Session, command: Command, model: type[M]) -> M:
    """The command's one output object, validated into `model`; any other count is unexpected."""
    return only(model, invoke(session, command).output, command=command.display(), target=session.target)


def validate_all(model: type[M], objects: Sequence[Any], session: Session, command: Command) -> list[M]:
    return from_output(model, objects, command=command.display(), target=session.target)


def validate_one(model: type[M], data: dict[str, Any], session: Session, command: Command) -> M:
    return validate_all(model, [data], session, command)[0]


def as_policy_type(value: PolicyType | str | None) -> PolicyType | None:
    """Delta or Initial, from either spelling; Unspecified cannot be asked for."""
    if value is None:
        return None
    for known in (PolicyType.DELTA, PolicyType.INITIAL):
        if str(getattr(value, "value", value)).lower() == known.value.lower():
            return known
    raise InputError(f"policy type must be Delta or Initial, not {value!r}")


_TIMESPAN: TypeAdapter[dt.timedelta | None] = TypeAdapter(TimeSpan)


def positive_timespan(value: dt.timedelta | str | None, name: str) -> dt.timedelta | None:
    if value is None:
        return None
    try:
        parsed = _TIMESPAN.validate_python(value)
    except ValidationError:
        parsed = None
    if parsed is None or parsed <= dt.timedelta(0):
        raise InputError(f"{name} must be a positive TimeSpan such as 00:40:00, not {value!r}")
    return parsed


def timespan_text(value: dt.timedelta | None) -> str | None:
    return None if value is None else format_timespan(value)


def guid(value: uuid.UUID | str | None, name: str) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InputError(f"{name} must be a GUID, not {value!r}") from None
