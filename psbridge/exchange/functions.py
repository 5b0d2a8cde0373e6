"""Exchange Online and Exchange Server wrappers.

Exchange Online runs on a Windows jump host (Windows PowerShell 5.1, or PowerShell 7.4+ for module
3.5-3.9, 7.6+ for 3.10) that has ExchangeOnlineManagement, on its `Microsoft.PowerShell` endpoint:
sign in once per runspace with `psbridge.exchange.connect_exchange_online`, then call these. Every
Exchange Online call goes through one packaged script that projects the output to the modelled
fields (`psbridge.exchange.runner`). Or, with no jump host, over REST: give these functions an
`ExoRestClient` instead of the Session (`psbridge.exchange.backend`, docs/exchange-rest.md).

Exchange Server is read either on the server's own `Microsoft.Exchange` endpoint (a session built
with `exchange_server_options`; plain cmdlets only) or through the jump host (`via_jump_host=True`,
after `connect_exchange_server`).

Functions that change something read first, send nothing when the state already matches, take
`dry_run`, and return a `Change`. Every Set-* runs with -Confirm:$false: confirming is the caller's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

from psbridge import logs
from psbridge.command import Value
from psbridge.errors import InputError, SyncedObjectError, UnexpectedOutputError
from psbridge.exchange.backend import Answer, Backend, ExchangeOnline, backend_for
from psbridge.exchange.mailboxes import DEFAULT_PAGE_SIZE, ResultSize, iter_mailboxes
from psbridge.exchange.models import (
    AcceptedDomain,
    AcceptedDomains,
    Mailbox,
    MailboxAttributes,
    OrganizationConfig,
    RecipientTypeDetails,
    ServerRecipient,
    User,
)
from psbridge.exchange.rules import BOOLEAN_MAILBOX_ATTRIBUTES, SOURCE_OF_AUTHORITY, check_mailbox_attributes
from psbridge.exchange.runner import cmdlet, command, one
from psbridge.models import Change, PSModel, from_output, only
from psbridge.session import Session
from psbridge.types import parse_flag

TENANT_DEFAULT_WARNING = (
    "do not make Exchange attributes cloud-managed by default while on-premises mailboxes, mail users or remote "
    "mailboxes are still being created: new on-premises objects then miss a proper Exchange Online mail user or "
    "the address list, and the fix needs Microsoft Support"
)

M = TypeVar("M", bound=PSModel)


def _identity(identity: str) -> str:
    if not isinstance(identity, str) or not identity.strip():
        raise InputError("an identity (UPN, GUID or email address) is required")
    return identity.strip()


def _one(model: type[M], answer: Answer, backend: Backend, identity: str) -> M:
    """The single object a read by identity returned (`psbridge.models.only`)."""
    return only(model, answer.rows, command=answer.command, target=backend.target, identity=identity)


def _read_one(backend: Backend, cmdlet_name: str, model: type[M], identity: str) -> M:
    return _one(model, backend.read(cmdlet_name, {"Identity": identity}), backend, identity)


# -- mailboxes -----------------------------------------------------------------------------------------


def get_mailbox(session: ExchangeOnline, *, identity: str) -> Mailbox:
    """One Exchange Online mailbox, with IsDirSynced and IsExchangeCloudManaged; wraps Get-Mailbox.

    `session` is a signed-in jump-host Session or an ExoRestClient (`psbridge.exchange.backend`), as for
    every Exchange Online function here. Prefer a UPN, GUID or address: lookups by name or alias are slow
    (docs/exchange.md).
    """
    return _read_one(backend_for(session), "Get-Mailbox", Mailbox, _identity(identity))


def list_mailboxes(
    session: ExchangeOnline,
    *,
    opath: str | None = None,
    result_size: ResultSize = "Unlimited",
    cloud_managed: bool | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> list[Mailbox]:
    """Exchange Online mailboxes, all at once; wraps Get-Mailbox -Filter -ResultSize.

    `iter_mailboxes` takes the same arguments and streams them page by page (and reports a
    truncated result); this collects its pages.
    """
    listing = iter_mailboxes(
        session, opath=opath, result_size=result_size, cloud_managed=cloud_managed, page_size=page_size
    )
    return list(listing)


def _require_cloud_writable(backend: Backend, mailbox: Mailbox, identity: str) -> None:
    """Rule 12: a dir-synced mailbox whose Exchange attributes are not cloud-managed is written on-premises."""
    if mailbox.is_dir_synced and not mailbox.is_exchange_cloud_managed:
        raise SyncedObjectError(
            f"mailbox {identity!r} is synchronized from on-premises and its Exchange attributes are not "
            f"cloud-managed (IsDirSynced True, IsExchangeCloudManaged False); {SOURCE_OF_AUTHORITY}",
            target=backend.target, target_name=identity,
        )  # fmt: skip


def set_mailbox_cloud_managed(
    session: ExchangeOnline, *, identity: str, enabled: bool, dry_run: bool = False
) -> Change[Mailbox]:
    """Move a dir-synced mailbox's Exchange attributes to Exchange Online (True) or back to on-premises AD
    (False); wraps Set-Mailbox -IsExchangeCloudManaged.

    Setting it back to False lets the next sync overwrite cloud values from AD: do that before moving
    a mailbox back on-premises. Identity attributes stay in AD either way. Switch a mailbox only a sync
    cycle plus 24 hours after its last on-premises Set-RemoteMailbox (docs/exchange.md).

    Raises:
        InputError: enabling it on a mailbox that is not synchronized from on-premises.
    """
    identity = _identity(identity)
    backend = backend_for(session)
    before = _read_one(backend, "Get-Mailbox", Mailbox, identity)
    after = before.model_copy(update={"is_exchange_cloud_managed": enabled})
    changed = before.is_exchange_cloud_managed != enabled
    if changed and enabled and not before.is_dir_synced:
        raise InputError(
            f"mailbox {identity!r} is not synchronized from on-premises (IsDirSynced False): its Exchange "
            "attributes are already managed in Exchange Online"
        )
    if changed and not dry_run:
        switch: dict[str, Value] = {"Identity": identity, "IsExchangeCloudManaged": enabled}
        backend.write("Set-Mailbox", switch, idempotent=True)
        logs.get_logger(target=backend.target).info(
            "psbridge.exchange.cloud_managed_set", identity=identity, is_exchange_cloud_managed=enabled
        )
    return Change[Mailbox](changed=changed, dry_run=dry_run, before=before, after=after)


AttributeValue = str | bool | None


def _attribute_value(name: str, value: object) -> AttributeValue:
    """A mailbox attribute's value in the attribute's type: a bool for a boolean attribute ("True"/"False"
    text parsed), text for the others; None, and empty text, are missing. ValueError when it is neither."""
    if name in BOOLEAN_MAILBOX_ATTRIBUTES:
        try:
            return parse_flag(value)
        except ValueError:
            raise ValueError(f"{name} is True or False, not {value!r}") from None
    if value is None or isinstance(value, str):
        return value or None
    raise ValueError(f"{name} is text, not {value!r}")


def set_mailbox_attributes(
    session: ExchangeOnline, *, identity: str, attributes: Mapping[str, AttributeValue], dry_run: bool = False
) -> Change[MailboxAttributes]:
    """Set Exchange attributes of a mailbox (Alias, HiddenFromAddressListsEnabled, CustomAttribute1-15),
    sending only those that differ; wraps Set-Mailbox. None or "" clears a text attribute.

    Values are compared in the attribute's type: HiddenFromAddressListsEnabled as a bool (a mailbox
    that already has False needs nothing), the others as text, with None and "" both meaning "not set".

    Raises:
        InputError: an identity attribute (display name, names, UPN, title, department), which stays
            mastered in AD, an attribute psbridge does not set, or a value not of the attribute's type
            (a boolean attribute cannot be cleared). Nothing is sent then.
        SyncedObjectError: the mailbox's Exchange attributes are mastered on-premises.
        UnexpectedOutputError: the mailbox reported a value not of the attribute's type.
    """
    identity = _identity(identity)
    if not attributes:
        raise InputError("give at least one attribute to set")
    check_mailbox_attributes(attributes)
    try:
        wanted = {n: _attribute_value(n, v) for n, v in attributes.items()}
    except ValueError as exc:
        raise InputError(str(exc)) from None
    cleared = next((n for n, v in wanted.items() if v is None and n in BOOLEAN_MAILBOX_ATTRIBUTES), None)
    if cleared is not None:
        raise InputError(f"{cleared} cannot be cleared: give True or False")
    names = sorted(attributes)
    backend = backend_for(session)
    answer = backend.read("Get-Mailbox", {"Identity": identity}, properties=names)
    mailbox = _one(Mailbox, answer, backend, identity)
    (row,) = answer.rows
    try:
        current = {n: _attribute_value(n, row.get(n)) for n in names}
    except ValueError as exc:
        raise UnexpectedOutputError(
            f"{answer.command} returned an odd value for {identity!r}: {exc}",
            target=backend.target, command=answer.command, raw=row,
        ) from None  # fmt: skip
    before = MailboxAttributes(identity=mailbox.identity, values=current)
    changes = {n: v for n, v in wanted.items() if current[n] != v}
    after = before.model_copy(update={"values": {**current, **changes}})
    if changes:
        _require_cloud_writable(backend, mailbox, identity)
    if changes and not dry_run:
        sent: dict[str, Value] = {n: "" if v is None else v for n, v in changes.items()}  # "" clears text
        backend.write("Set-Mailbox", {"Identity": identity, **sent}, idempotent=True)
    return Change[MailboxAttributes](changed=bool(changes), dry_run=dry_run, before=before, after=after)


# -- email addresses (docs/exchange.md) -----------------------------------------------------------------


def _proxy(address: str) -> str:
    """`SMTP:` primary, `smtp:` secondary, another type (`X500:`) as given; no prefix means smtp."""
    text = address.strip()
    prefix, sep, rest = text.partition(":")
    if not sep or "@" in prefix:
        prefix, rest = "smtp", text
    if prefix.lower() == "smtp":
        if prefix not in ("SMTP", "smtp") or "@" not in rest or any(ch.isspace() for ch in rest):
            raise InputError(f"not an SMTP proxy address (SMTP:primary or smtp:secondary): {address!r}")
        return f"{prefix}:{rest}"
    if not prefix.isalnum() or not rest:
        raise InputError(f"not a proxy address: {address!r}")
    return f"{prefix}:{rest}"


def _key(proxy: str) -> tuple[str, str]:
    prefix, _, rest = proxy.partition(":")
    return prefix.lower(), rest.lower()


def set_mailbox_email_addresses(
    session: ExchangeOnline,
    *,
    identity: str,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
    dry_run: bool = False,
) -> Change[Mailbox]:
    """Add and remove proxy addresses, sending only what is missing or present; wraps
    Set-Mailbox -EmailAddresses @{Add=...; Remove=...} (a hashtable bound by PSRP).

    `SMTP:x` makes x the primary address (the old one stays as secondary), `smtp:x` or a bare
    address adds a secondary one. The primary address cannot be removed: make another one primary.
    """
    identity = _identity(identity)
    adds, removes = [_proxy(a) for a in add], [_proxy(r) for r in remove]
    if not adds and not removes:
        raise InputError("give at least one address to add or remove")
    if sum(a.startswith("SMTP:") for a in adds) > 1:
        raise InputError("only one address can be made primary (SMTP:) at a time")
    if {_key(a) for a in adds} & {_key(r) for r in removes}:
        raise InputError("the same address cannot be added and removed")
    backend = backend_for(session)
    before = _read_one(backend, "Get-Mailbox", Mailbox, identity)
    present = {_key(p): p for p in before.email_addresses}
    to_add = [
        a
        for a in adds
        if _key(a) not in present or (a.startswith("SMTP:") and not present[_key(a)].startswith("SMTP:"))
    ]
    to_remove = [present[_key(r)] for r in removes if _key(r) in present]
    if any(p.startswith("SMTP:") for p in to_remove):
        raise InputError(f"{identity!r}: the primary address cannot be removed; make another address primary first")
    after, changed = before, bool(to_add or to_remove)
    if changed:
        gone = {_key(p) for p in [*to_remove, *to_add]}
        promoted = any(a.startswith("SMTP:") for a in to_add)
        kept = [("smtp:" + p[5:]) if promoted and p.startswith("SMTP:") else p for p in before.email_addresses]
        addresses = tuple(p for p in kept if _key(p) not in gone) + tuple(to_add)
        primary = next((p[5:] for p in addresses if p.startswith("SMTP:")), before.primary_smtp_address)
        after = before.model_copy(update={"email_addresses": addresses, "primary_smtp_address": primary})
        _require_cloud_writable(backend, before, identity)
    if changed and not dry_run:
        change = {k: v for k, v in (("Add", to_add), ("Remove", to_remove)) if v}
        backend.write("Set-Mailbox", {"Identity": identity, "EmailAddresses": change}, idempotent=False)
    return Change[Mailbox](changed=changed, dry_run=dry_run, before=before, after=after)


# -- organization ----------------------------------------------------------------------------------------


def _organization_config(backend: Backend) -> OrganizationConfig:
    answer = backend.read("Get-OrganizationConfig")
    return only(OrganizationConfig, answer.rows, command=answer.command, target=backend.target)


def get_organization_config(session: ExchangeOnline) -> OrganizationConfig:
    """Whether new dir-synced mailboxes get cloud-managed Exchange attributes; wraps Get-OrganizationConfig."""
    return _organization_config(backend_for(session))


def set_organization_config(
    session: ExchangeOnline, *, cloud_managed_by_default: bool, dry_run: bool = False
) -> Change[OrganizationConfig]:
    """Make Exchange attributes of new dir-synced mailboxes cloud-managed by default, or server-managed;
    wraps Set-OrganizationConfig -ExchangeAttributesCloudManagedByDefault (or ...ServerManagedByDefault).

    Enabling it logs a warning: see TENANT_DEFAULT_WARNING. The server-managed switch affects only
    future users. When the tenant does not report the current default, the switch is sent.
    """
    backend = backend_for(session)
    before = _organization_config(backend)
    after = before.model_copy(update={"cloud_managed_by_default": cloud_managed_by_default})
    changed = before.cloud_managed_by_default != cloud_managed_by_default
    log = logs.get_logger(target=backend.target)
    if changed and cloud_managed_by_default:
        log.warning("psbridge.exchange.cloud_managed_by_default", warning=TENANT_DEFAULT_WARNING, dry_run=dry_run)
    if changed and not dry_run:
        switch = (
            "ExchangeAttributesCloudManagedByDefault"
            if cloud_managed_by_default
            else "ExchangeAttributesServerManagedByDefault"
        )
        backend.write("Set-OrganizationConfig", {switch: True}, idempotent=True)
    return Change[OrganizationConfig](changed=changed, dry_run=dry_run, before=before, after=after)


def get_accepted_domains(session: ExchangeOnline) -> AcceptedDomains:
    """Every accepted domain, flagging the tenant routing domain; wraps Get-AcceptedDomain."""
    backend = backend_for(session)
    answer = backend.read("Get-AcceptedDomain", {"ResultSize": "Unlimited"})
    return AcceptedDomains(
        domains=tuple(from_output(AcceptedDomain, answer.rows, command=answer.command, target=backend.target))
    )


# -- users -------------------------------------------------------------------------------------------------


def get_user(session: ExchangeOnline, *, identity: str) -> User:
    """A user with RecipientType, RecipientTypeDetails and PreviousRecipientTypeDetails; wraps Get-User."""
    return _read_one(backend_for(session), "Get-User", User, _identity(identity))


def clear_previous_mailbox_info(
    session: ExchangeOnline, *, identity: str, confirm_irreversible: bool, dry_run: bool = False
) -> Change[User]:
    """Permanently clear a mail user's pointers to an earlier cloud mailbox; wraps
    Set-User -PermanentlyClearPreviousMailboxInfo (docs/exchange.md, Mailboxes and recipients).

    IRREVERSIBLE: the earlier mailbox can no longer be reconnected and its content is lost, including a
    soft-deleted mailbox. `confirm_irreversible=True` is required unless `dry_run`. Refused unless the
    user is a MailUser whose PreviousRecipientTypeDetails is set (the "unclean" state it fixes). The
    outcome is logged as a warning event `psbridge.exchange.previous_mailbox_info_cleared`.
    """
    identity = _identity(identity)
    if confirm_irreversible is not True and not dry_run:
        raise InputError(
            f"clearing the previous mailbox info of {identity!r} is irreversible: pass confirm_irreversible=True"
        )
    backend = backend_for(session)
    before = _read_one(backend, "Get-User", User, identity)
    if before.previous_recipient_type_details is None:
        raise InputError(f"{identity!r} has no previous mailbox info (PreviousRecipientTypeDetails is empty)")
    if before.recipient_type_details != RecipientTypeDetails.MAIL_USER:
        raise InputError(
            f"{identity!r} is a {before.recipient_type_details.value}, not a MailUser: clearing the previous "
            "mailbox info only helps a mail user left pointing at an earlier cloud mailbox"
        )
    after = before.model_copy(update={"previous_recipient_type_details": None})
    if not dry_run:
        clear: dict[str, Value] = {"Identity": identity, "PermanentlyClearPreviousMailboxInfo": True}
        backend.write("Set-User", clear, idempotent=False)
    log = logs.get_logger(target=backend.target)
    event = "psbridge.exchange.previous_mailbox_info_" + ("would_clear" if dry_run else "cleared")
    getattr(log, "info" if dry_run else "warning")(
        event, identity=identity, dry_run=dry_run,
        recipient_type=before.recipient_type.value, recipient_type_details=before.recipient_type_details.value,
        previous_before=before.previous_recipient_type_details.value, previous_after=None,
    )  # fmt: skip
    return Change[User](changed=True, dry_run=dry_run, before=before, after=after)


# -- Exchange Server (on-premises) ---------------------------------------------------------------------------


def _server_read(session: Session, name: str, model: type[M], identity: str, via_jump_host: bool) -> M:
    identity = _identity(identity)
    sent = (
        command(name, {"Identity": identity}, on_premises=True)
        if via_jump_host
        else cmdlet(name, {"Identity": identity})
    )
    return one(model, session.invoke(sent), session, identity)


def get_server_mailbox(session: Session, *, identity: str, via_jump_host: bool = False) -> ServerRecipient:
    """A mailbox on Exchange Server, with ExchangeGuid; wraps on-premises Get-Mailbox."""
    return _server_read(session, "Get-Mailbox", ServerRecipient, identity, via_jump_host)


def get_server_remote_mailbox(session: Session, *, identity: str, via_jump_host: bool = False) -> ServerRecipient:
    """An on-premises remote mailbox (the AD side of a cloud mailbox); wraps Get-RemoteMailbox."""
    return _server_read(session, "Get-RemoteMailbox", ServerRecipient, identity, via_jump_host)


def get_server_mail_user(session: Session, *, identity: str, via_jump_host: bool = False) -> ServerRecipient:
    """An on-premises mail user; wraps Get-MailUser on Exchange Server."""
    return _server_read(session, "Get-MailUser", ServerRecipient, identity, via_jump_host)
