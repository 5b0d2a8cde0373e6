"""How the Exchange wrappers reach the cmdlets: one packaged script on the jump host, or plain cmdlets on
an Exchange server's own endpoint.

On the jump host, `exchange/Invoke-ExchangeCommand.ps1` takes the cmdlet from a fixed set and its
arguments as a hashtable (bound by PSRP, never pasted into text), and projects the output to the
modelled fields; see its header. A paged listing comes back as one JSON string per page, which
`read_page` (psbridge.pages, shared with the ADSync listings) validates straight into the models. The
`Microsoft.Exchange` endpoint of an Exchange server is a NoLanguage runspace (docs/exchange.md, Exchange
Server endpoint): there, only `Command.cmdlet` is sent, and the full objects are read by the same models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

from psbridge.command import Command, ErrorRule, Value
from psbridge.errors import ObjectNotFoundError
from psbridge.exchange.rules import EXO_ERRORS
from psbridge.models import PSModel, from_output, only
from psbridge.pages import Page as Page
from psbridge.pages import read_page as read_page
from psbridge.result import InvocationResult
from psbridge.session import Session

ERROR_RULES: tuple[ErrorRule, ...] = (
    ErrorRule(ObjectNotFoundError, error_id_prefix="PsbridgeExchange.ListingNotFound"),
    *EXO_ERRORS,
)

M = TypeVar("M", bound=PSModel)


def command(
    cmdlet: str,
    arguments: Mapping[str, Value] | None = None,
    *,
    on_premises: bool = False,
    properties: Sequence[str] = (),
    cloud_managed: bool | None = None,
    page_size: int | None = None,
    cursor: str | None = None,
    release: bool = False,
    idempotent: bool | None = None,
) -> Command:
    """The packaged script running `cmdlet`; arguments whose value is None are left out.

    Reads are idempotent; a Set-* is retried after a transient error only when `idempotent` says so.
    """
    return Command.script(
        "exchange/Invoke-ExchangeCommand.ps1",
        {
            "Command": cmdlet,
            "Arguments": {k: v for k, v in (arguments or {}).items() if v is not None} or None,
            "Property": list(properties) or None,
            "IsExchangeCloudManaged": cloud_managed,
            "PageSize": page_size,
            "Cursor": cursor,
            "Release": True if release else None,
            "OnPremises": True if on_premises else None,
        },
        idempotent=not cmdlet.startswith("Set-") if idempotent is None else idempotent,
        error_rules=ERROR_RULES,
    )


def cmdlet(name: str, arguments: Mapping[str, Value]) -> Command:
    """A plain cmdlet, for the NoLanguage `Microsoft.Exchange` endpoint."""
    return Command.cmdlet(name, arguments, error_rules=ERROR_RULES)


def one(model: type[M], result: InvocationResult, session: Session, identity: str) -> M:
    """The single object a read by identity returned, validated into `model` (`psbridge.models.only`)."""
    return only(model, list(result.output), command=result.command, target=session.target, identity=identity)


def all_of(model: type[M], result: InvocationResult, session: Session) -> list[M]:
    return from_output(model, list(result.output), command=result.command, target=session.target)
