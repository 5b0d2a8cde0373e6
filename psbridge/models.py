"""What every product model shares: frozen, snake_case fields with PowerShell-name aliases."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from psbridge.errors import ObjectNotFoundError, UnexpectedOutputError
from psbridge.result import PSObjectData


class PSModel(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")


M = TypeVar("M", bound=BaseModel)
S = TypeVar("S")


def truthful_dry_run(data: Any) -> Any:
    """A change model's input, made truthful: `would_change` defaults to `changed`, and a dry run's
    `changed` is always False (nothing was sent), whatever its builder said.

    So a function builds its result with `changed=<does it, or would it, change the target>` and a dry
    run can never report `changed: true`.
    """
    if not isinstance(data, dict):
        return data
    out = dict(data)
    out.setdefault("would_change", out.get("changed", False))
    if out.get("dry_run"):
        out["changed"] = False
    return out


class Change(BaseModel, Generic[S]):
    """What a desired-state function did: `changed` is False when the target already matched.

    `would_change`: whether the target differs (or would differ) from `before`; in a real run it is
    `changed`. With `dry_run`, nothing was sent: `changed` is False, `would_change` says whether the
    run would change anything, and `after` is the predicted state.
    """

    model_config = ConfigDict(frozen=True)

    changed: bool
    would_change: bool = False
    dry_run: bool = False
    before: S
    after: S

    _truthful = model_validator(mode="before")(truthful_dry_run)


class Planned(BaseModel):
    """A dry run of a function that has no state to read and compare: what it would send. Nothing was sent.

    `changed` is False, `would_change` True: the call writes (files, a service restart, packages).
    """

    model_config = ConfigDict(frozen=True)

    changed: bool = False
    would_change: bool = True
    dry_run: bool = True
    would_send: str
    note: str | None = None


def call_text(function: str, arguments: dict[str, Any]) -> str:
    """`Function -Name value -Switch`: a call as a plan shows it (arguments whose value is None left out)."""
    parts = [function]
    for name, value in arguments.items():
        if value is True:
            parts.append(f"-{name}")
        elif value is not None:
            parts.append(f"-{name} {value!r}" if isinstance(value, str) else f"-{name} {value}")
    return " ".join(parts)


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
