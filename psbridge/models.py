"""What every product model shares: frozen, snake_case fields with PowerShell-name aliases."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from psbridge.errors import ObjectNotFoundError, UnexpectedOutputError
from psbridge.result import PSObjectData


class PSModel(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")


M = TypeVar("M", bound=BaseModel)
S = TypeVar("S")


class Change(BaseModel, Generic[S]):
    """What a desired-state function did: `changed` is False when the target already matched.

    With `dry_run`, nothing was sent: `after` is what the state would be.
    """

    model_config = ConfigDict(frozen=True)

    changed: bool
    dry_run: bool = False
    before: S
    after: S


def from_output(model: type[M], objects: Iterable[Any], *, command: str, target: str) -> list[M]:
    """Validate each output object into `model`; a mismatch raises UnexpectedOutputError with the raw object."""
    out = []
    for obj in objects:
        data = obj.properties if isinstance(obj, PSObjectData) else obj
        try:
            out.append(model.model_validate(data))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise UnexpectedOutputError(
                f"{command} returned an object {model.__name__} cannot read ({where}: {first['msg']})",
                target=target, command=command, raw=obj, model=model.__name__, location=where, reason=first["msg"],
            ) from None  # fmt: skip
    return out


def only(model: type[M], objects: Sequence[Any], *, command: str, target: str, identity: str | None = None) -> M:
    """The one output object, validated into `model`: the one "invoke and expect exactly one object" check.

    With `identity` (a read by identity), no object at all is ObjectNotFoundError naming it; any other
    count than one is UnexpectedOutputError, with the raw objects.
    """
    if not objects and identity is not None:
        raise ObjectNotFoundError(
            f"{command} found no object {identity!r} on {target}", target=target, command=command, target_name=identity
        )
    if len(objects) != 1:
        named = "" if identity is None else f" for {identity!r}"
        raise UnexpectedOutputError(
            f"{command} returned {len(objects)} objects{named} where one {model.__name__} was expected",
            target=target, command=command, raw=list(objects),
        )  # fmt: skip
    return from_output(model, objects, command=command, target=target)[0]


def multi_valued(value: Any) -> tuple[Any, ...]:
    """A multi-valued property as it crosses remoting: a list, an `<Obj>` wrapping a list (a .NET
    collection, or its ToString when the list is gone), one string, or nothing."""
    if isinstance(value, PSObjectData):
        value = value.value if value.value is not None else value.to_string
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value else ()
    return tuple(value)
