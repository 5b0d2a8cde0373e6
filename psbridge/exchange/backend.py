"""The two ways psbridge reaches Exchange Online's cmdlets, behind one interface.

The functions of `psbridge.exchange` (functions.py, mailboxes.py) hold the semantics: what is read, what
is compared, what is written and when (read before write, dry runs, the `Change` they return). A
backend only runs a cmdlet and hands back its rows and warnings:

- `JumpHost`: a psbridge `Session` on a Windows jump host signed in with `connect_exchange_online`. Every
  call is the packaged script `exchange/Invoke-ExchangeCommand.ps1` (`runner.command`), which projects the
  rows to the modelled fields and sends listings as JSON pages.
- `Rest`: an `ExoRestClient` (`psbridge.exchange.rest`): the cmdlet sent over HTTPS to InvokeCommand, the
  endpoint Microsoft's own module calls, with no Windows host (docs/exchange-rest.md). Reads ask for the
  modelled fields only (`$select`, the same fields the script projects); `WRITABLE` is the same allow-list
  of Set-* parameters the script enforces on the jump host.

A function is given either one (`ExchangeOnline`, the type its first parameter takes) and `backend_for`
picks the backend by type, so `get_mailbox(session, ...)` and `get_mailbox(client, ...)` return the same
models. The jump host stays the documented default until users confirm the REST backend on their tenants.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol, TypeAlias

from psbridge import logs
from psbridge.command import Value
from psbridge.errors import InputError, PsbridgeError
from psbridge.exchange.models import AcceptedDomain, Mailbox, User
from psbridge.exchange.rest.client import ExoRestClient
from psbridge.exchange.runner import command, read_page
from psbridge.models import PSModel, from_output
from psbridge.result import InvocationResult
from psbridge.session import Session

ExchangeOnline: TypeAlias = Session | ExoRestClient
Arguments: TypeAlias = Mapping[str, Value] | None

# The Set-* parameters psbridge sends, as Invoke-ExchangeCommand.ps1's $writable lists them: psbridge changes
# nothing else, whichever way the cmdlet travels.
WRITABLE: Mapping[str, frozenset[str]] = {
    "Set-Mailbox": frozenset(
        {"Identity", "IsExchangeCloudManaged", "EmailAddresses", "Alias", "HiddenFromAddressListsEnabled"}
        | {f"CustomAttribute{n}" for n in range(1, 16)}
    ),
    "Set-User": frozenset({"Identity", "PermanentlyClearPreviousMailboxInfo"}),
    "Set-OrganizationConfig": frozenset(
        {"ExchangeAttributesCloudManagedByDefault", "ExchangeAttributesServerManagedByDefault"}
    ),
}


def _fields(model: type[PSModel], *extra: str) -> tuple[str, ...]:
    """The PowerShell property names `model` reads (its aliases), then `extra`."""
    names = [field.alias for field in model.model_fields.values() if field.alias]
    return tuple(dict.fromkeys([*names, *extra]))


# What each read asks InvokeCommand for: the fields the jump host's script projects (WhenChangedUTC too,
# which the models prefer to the server-local WhenChanged).
SELECT: Mapping[str, tuple[str, ...]] = {
    "Get-Mailbox": _fields(Mailbox, "WhenChangedUTC"),
    "Get-User": _fields(User, "WhenChangedUTC"),
    # OrganizationConfig reads the first of the two flags it finds (psbridge.exchange.models).
    "Get-OrganizationConfig": (
        "Identity",
        "ExchangeAttributesCloudManagedByDefault",
        "BlockExchangeProvisioningFromOnPremEnabled",
    ),
    "Get-AcceptedDomain": _fields(AcceptedDomain),
}


@dataclasses.dataclass(frozen=True)
class Answer:
    """What one cmdlet returned: its rows (objects a model validates), its warnings, and how it is shown."""

    rows: tuple[Any, ...]
    warnings: tuple[str, ...]
    command: str


@dataclasses.dataclass(frozen=True)
class MailboxPage:
    """One page of a mailbox listing, validated; `total` is how many the listing holds, when the backend knows."""

    mailboxes: tuple[Mailbox, ...]
    warnings: tuple[str, ...]
    total: int | None


class Backend(Protocol):
    """What the Exchange Online functions need from a backend."""

    @property
    def target(self) -> str: ...

    def read(self, cmdlet: str, arguments: Arguments = None, *, properties: Sequence[str] = ()) -> Answer:
        """A Get-* cmdlet's rows, with `properties` beside the modelled fields."""
        ...

    def write(self, cmdlet: str, arguments: Mapping[str, Value], *, idempotent: bool) -> Answer:
        """A Set-* cmdlet, run once; retried after a transient failure only when `idempotent`."""
        ...

    def mailbox_pages(
        self, arguments: Mapping[str, Value], *, cloud_managed: bool | None, page_size: int, timeout: float | None
    ) -> Iterator[MailboxPage]:
        """Get-Mailbox with `arguments`, page by page; `cloud_managed` keeps the mailboxes whose
        IsExchangeCloudManaged is that, after -ResultSize applied (it is not OPATH-filterable)."""
        ...


def backend_for(session: ExchangeOnline) -> Backend:
    """The backend a function was given: a Session is the jump host, anything else the REST client."""
    if isinstance(session, Session):
        return JumpHost(session)
    return Rest(session)


def _answer(result: InvocationResult) -> Answer:
    return Answer(tuple(result.output), tuple(result.streams.warning), result.command)


class JumpHost:
    """Exchange Online through the jump host: the packaged script on a signed-in Session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def target(self) -> str:
        return self.session.target

    def read(self, cmdlet: str, arguments: Arguments = None, *, properties: Sequence[str] = ()) -> Answer:
        return _answer(self.session.invoke(command(cmdlet, arguments, properties=properties)))

    def write(self, cmdlet: str, arguments: Mapping[str, Value], *, idempotent: bool) -> Answer:
        return _answer(self.session.invoke(command(cmdlet, arguments, idempotent=idempotent)))

    def mailbox_pages(
        self, arguments: Mapping[str, Value], *, cloud_managed: bool | None, page_size: int, timeout: float | None
    ) -> Iterator[MailboxPage]:
        """The script's listing: the first call runs Get-Mailbox on the host (it gets `timeout`) and keeps
        the rows there; each later call fetches the next page by its cursor. Left unfinished, the rows kept
        on the host are released, unless its runspace is gone already (the session was closed)."""
        session = self.session
        cursor: str | None = None
        first = command("Get-Mailbox", arguments, cloud_managed=cloud_managed, page_size=page_size)
        result = session.invoke(first, timeout=timeout)
        try:
            while True:
                page = read_page(Mailbox, result, session)
                cursor = page.cursor
                yield MailboxPage(page.rows, tuple(result.streams.warning), page.total)
                if cursor is None:
                    return
                result = session.invoke(command("Get-Mailbox", cursor=cursor, page_size=page_size))
        finally:
            if cursor is not None and session.transport.pool_open:
                try:
                    session.invoke(command("Get-Mailbox", cursor=cursor, release=True))
                except PsbridgeError as exc:
                    logs.get_logger(target=session.target).info(
                        "psbridge.exchange.listing_not_released", cursor=cursor, error=str(exc)
                    )


class Rest:
    """Exchange Online over InvokeCommand (docs/exchange-rest.md): no jump host, the same rows and models."""

    def __init__(self, client: ExoRestClient) -> None:
        self.client = client

    @property
    def target(self) -> str:
        return self.client.target

    def read(self, cmdlet: str, arguments: Arguments = None, *, properties: Sequence[str] = ()) -> Answer:
        select = (*SELECT[cmdlet], *(p for p in properties if p not in SELECT[cmdlet]))
        answer = self.client.invoke(cmdlet, _present(arguments), select=select, idempotent=True)
        return Answer(answer.rows, answer.warnings, answer.command)

    def write(self, cmdlet: str, arguments: Mapping[str, Value], *, idempotent: bool) -> Answer:
        refused = sorted(set(arguments) - WRITABLE.get(cmdlet, frozenset()))
        if refused:
            raise InputError(f"psbridge does not change {', '.join(refused)} with {cmdlet}")
        answer = self.client.invoke(cmdlet, _present(arguments), idempotent=idempotent)
        return Answer(answer.rows, answer.warnings, answer.command)

    def mailbox_pages(
        self, arguments: Mapping[str, Value], *, cloud_managed: bool | None, page_size: int, timeout: float | None
    ) -> Iterator[MailboxPage]:
        pages = self.client.pages(
            "Get-Mailbox", _present(arguments), select=SELECT["Get-Mailbox"], page_size=page_size, timeout=timeout
        )
        for answer in pages:
            mailboxes = from_output(Mailbox, answer.rows, command=answer.command, target=self.target)
            if cloud_managed is not None:
                mailboxes = [m for m in mailboxes if m.is_exchange_cloud_managed == cloud_managed]
            yield MailboxPage(tuple(mailboxes), answer.warnings, None)


def _present(arguments: Arguments) -> dict[str, Value]:
    """The arguments that have a value: None means "leave the parameter out", as on the jump host."""
    return {name: value for name, value in (arguments or {}).items() if value is not None}
