"""A listing's JSON page: how a packaged script sends many rows as one compact JSON string, and how psbridge
validates that string straight into its models (pydantic's JSON validation, no CLIXML to decode per row).

The scripts that send pages: `exchange/Invoke-ExchangeCommand.ps1` (docs/exchange.md, "Serialization and
projection"), `adsync/Get-RunProfileResult.ps1` and `adsync/Get-Connectors.ps1` (docs/adsync.md, "Connectors
and run history"). Each script's header gives its rows' fields.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from psbridge.errors import UnexpectedOutputError
from psbridge.models import PSModel
from psbridge.result import InvocationResult
from psbridge.session import Session

M = TypeVar("M", bound=PSModel)


class Page(BaseModel, Generic[M]):
    """One page of a listing, as a packaged script sends it: one compact JSON string,
    `{"cursor": ..., "total": ..., "remaining": ..., "rows": [...]}`.

    `cursor` names the listing while later pages remain (null on its last page, and on a listing sent whole);
    `total` counts the listing's rows, `remaining` those after this page.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    cursor: str | None
    total: int = Field(ge=0)
    remaining: int = Field(ge=0)
    rows: tuple[M, ...]


def read_page(model: type[M], result: InvocationResult, session: Session) -> Page[M]:
    """A call's one JSON page, its rows validated straight into `model` (pydantic's JSON validation).

    Anything else (no page, several, objects, JSON the page or a row does not fit) is UnexpectedOutputError
    naming the command, with the raw output and pydantic's first error.
    """
    output = result.output
    if len(output) != 1 or not isinstance(output[0], str):
        raise UnexpectedOutputError(
            f"{result.command} sent {len(output)} objects where one JSON page was expected",
            target=session.target, command=result.command, raw=list(output),
        )  # fmt: skip
    try:
        return Page[model].model_validate_json(output[0])  # type: ignore[valid-type]
    except ValidationError as exc:
        where, reason = first_error(exc)
        raise UnexpectedOutputError(
            f"{result.command} sent a page {model.__name__} rows cannot be read from ({where}: {reason})",
            target=session.target, command=result.command, raw=output[0], model=model.__name__, location=where,
            reason=reason,
        ) from None  # fmt: skip


def first_error(exc: ValidationError) -> tuple[str, str]:
    """Where a page went wrong (its path in the JSON, or "(the page)") and why: pydantic's first error."""
    first = exc.errors(include_url=False)[0]
    return ".".join(str(p) for p in first["loc"]) or "(the page)", first["msg"]
