"""Does a user have a mailbox on Exchange Server and another in Exchange Online? The detection rules of
docs/exchange.md (Mailboxes and recipients), one check each, after one check per side:

- `on-premises-mailbox`: Get-Mailbox on Exchange Server, else Get-RemoteMailbox (its ExchangeGuid);
- `exchange-online-recipient`: Get-User in Exchange Online (RecipientType, RecipientTypeDetails,
  PreviousRecipientTypeDetails) and, for a mailbox, Get-Mailbox (its ExchangeGuid);
- `duplicate`: a UserMailbox on Exchange Server and a UserMailbox in Exchange Online;
- `exchange-guid`: the ExchangeGuid on Exchange Server differs from the Exchange Online mailbox's. Only a
  mailbox's is read: psbridge has no Exchange Online Get-MailUser wrapper, so a mail user's ExchangeGuid
  is not compared (the check is skipped and says so);
- `previous-mailbox-info` (unclean): Exchange Online shows a MailUser whose PreviousRecipientTypeDetails
  is set. With a mailbox on Exchange Server this is the duplicate's aftermath (fail); without, an earlier
  cloud mailbox that may still hold content (warn).

The failing checks carry the symptoms (`SYMPTOMS`: mail split between the mailboxes, a Teams calendar
that is not Outlook's) and the fix: the repair, or the documented cmdlet.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from psbridge.errors import InputError, ObjectNotFoundError, RemoteCommandError
from psbridge.exchange import get_mailbox, get_server_mailbox, get_server_remote_mailbox, get_user
from psbridge.exchange.models import Mailbox, RecipientType, RecipientTypeDetails, ServerRecipient, User
from psbridge.runbooks.report import Check, Report, Status, failed

if TYPE_CHECKING:
    from psbridge.exchange.backend import ExchangeOnline
    from psbridge.session import Session
    from psbridge.targets import Targets

RUNBOOK = "duplicate-mailbox"
MAILBOX, MAIL_USER = RecipientTypeDetails.USER_MAILBOX, RecipientTypeDetails.MAIL_USER
SYMPTOMS = (
    "mail split between the two mailboxes: Exchange Server delivers to the on-premises one, Exchange Online "
    "to the cloud one",
    "a Teams calendar that does not match Outlook's: Teams uses the Exchange Online mailbox, Outlook the "
    "on-premises one",
)
UNCLEAN = (
    "the earlier cloud mailbox was unlicensed, but the user still points at it (PreviousRecipientTypeDetails)",
    "licensing the user again before its ExchangeGuid is synchronized provisions a new cloud mailbox: the "
    "duplicate comes back, and with it the split mail and calendar",
)
Online = tuple[User, Mailbox | None]


def required(value: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"a {what} is required")
    return value.strip()


def where(role: str, session: ExchangeOnline) -> str:
    return f"{role}: {session.target}"


def has_mailbox(on_premises: ServerRecipient | None) -> bool:
    return on_premises is not None and on_premises.recipient_type_details == MAILBOX


# -- reading both sides -------------------------------------------------------------------------------------


def read_on_premises(exchange: Session, user: str, *, via_jump_host: bool = False) -> ServerRecipient | None:
    """The user's mailbox on Exchange Server, else its remote mailbox, else None."""
    for read in (get_server_mailbox, get_server_remote_mailbox):
        with contextlib.suppress(ObjectNotFoundError):
            return read(exchange, identity=user, via_jump_host=via_jump_host)
    return None


def read_online(exo: ExchangeOnline, user: str) -> Online:
    """The user in Exchange Online (Get-User) and, when it has one, its mailbox (for its ExchangeGuid)."""
    found = get_user(exo, identity=user)
    mailbox = get_mailbox(exo, identity=user) if found.recipient_type == RecipientType.USER_MAILBOX else None
    return found, mailbox


def read_sides(
    exo: ExchangeOnline, exchange: Session, user: str, via: bool
) -> tuple[list[Check], ServerRecipient | None, Online | None]:
    """One check per side and what it read; `Online` is None when Exchange Online was not read."""
    target = where("exchange", exchange)
    try:
        on_premises = read_on_premises(exchange, user, via_jump_host=via)
        first = _on_premises_check(on_premises, target)
    except RemoteCommandError as exc:
        fix = "check that the exchange target's account may run Get-Mailbox and Get-RemoteMailbox"
        on_premises, first = (
            None,
            failed("on-premises-mailbox", "Exchange Server was not read", target=target, error=exc, fix=fix),
        )
    target, name = where("exo", exo), "exchange-online-recipient"
    online: Online | None = None
    try:
        online = read_online(exo, user)
        second = _online_check(*online, target)
    except ObjectNotFoundError as exc:
        fix = "check the user principal name, and that the user is synchronized to Entra ID (in Connect's scope)"
        second = failed(name, f"no user {user} in Exchange Online", target=target, error=exc, fix=fix)
    except RemoteCommandError as exc:
        fix = "check the exo target's Exchange Online sign-in and its role (Get-User, Get-Mailbox)"
        second = failed(name, "Exchange Online was not read", target=target, error=exc, fix=fix)
    return [first, second], on_premises, online


def _on_premises_check(found: ServerRecipient | None, target: str) -> Check:
    name = "on-premises-mailbox"
    if found is None:
        return Check(name=name, status=Status.PASS, summary="no mailbox and no remote mailbox", target=target)
    kind = found.recipient_type_details
    what = "a mailbox on Exchange Server" if kind == MAILBOX else f"a {kind.value}: its mailbox is not here"
    evidence = {"recipient_type_details": kind.value, "exchange_guid": str(found.exchange_guid)}
    summary = f"{what} (ExchangeGuid {found.exchange_guid})"
    return Check(name=name, status=Status.PASS, summary=summary, evidence=evidence, target=target)


def _online_check(found: User, mailbox: Mailbox | None, target: str) -> Check:
    previous = found.previous_recipient_type_details
    evidence = {
        "recipient_type": found.recipient_type.value,
        "recipient_type_details": found.recipient_type_details.value,
        "previous_recipient_type_details": None if previous is None else previous.value,
        "exchange_guid": None if mailbox is None else str(mailbox.exchange_guid),
    }
    summary = f"a {found.recipient_type_details.value} (previous mailbox: {previous.value if previous else 'none'})"
    return Check(
        name="exchange-online-recipient", status=Status.PASS, summary=summary, evidence=evidence, target=target
    )


# -- the detection rules ----------------------------------------------------------------------------------------


def diagnose_duplicate_mailbox(targets: Targets, *, user: str, via_jump_host: bool | None = None) -> Report:
    """Does `user` have a mailbox on Exchange Server and another in Exchange Online? (docs/exchange.md)

    The `exo` and `exchange` targets are the Exchange Online jump host and Exchange Server, read directly
    or, with `via_jump_host` (else as the exchange target says), through the jump host. A side
    that cannot be read is a failing check, and the comparisons are skipped.

    Raises:
        InputError: no user.
        TargetMissingError: the config has no exo or exchange target.
        TransportError: a target cannot be reached.
    """
    user = required(user, "user")
    exo, exchange = targets.exchange_online(), targets.session("exchange")
    via = targets.via_jump_host("exchange") if via_jump_host is None else via_jump_host
    checks, on_premises, online = read_sides(exo, exchange, user, via)
    if online is None or checks[0].status == Status.FAIL:
        for name in ("duplicate", "exchange-guid", "previous-mailbox-info"):
            checks.append(Check(name=name, status=Status.SKIP, summary="not compared: a side could not be read"))
    else:
        found, mailbox = online
        checks += [_duplicate(user, on_premises, found), _guid(user, on_premises, mailbox, found)]
        checks.append(_unclean(user, on_premises, found))
    return Report(runbook=RUNBOOK, subject=user, checks=tuple(checks))


def _repair_fix(user: str) -> str:
    return (
        f"psbridge repair duplicate-mailbox {user} --license-group GROUP (the AD group that assigns the "
        "Exchange Online licence) shows the repair's plan; with --yes it runs it"
    )


def _duplicate(user: str, on_premises: ServerRecipient | None, found: User) -> Check:
    here, there = has_mailbox(on_premises), found.recipient_type_details == MAILBOX
    evidence: dict[str, Any] = {
        "on_premises": None if on_premises is None else on_premises.recipient_type_details.value,
        "exchange_online": found.recipient_type_details.value,
    }
    if here and there:
        evidence["symptoms"] = list(SYMPTOMS)
        summary = "two mailboxes: a UserMailbox on Exchange Server and another in Exchange Online"
        return Check(name="duplicate", status=Status.FAIL, summary=summary, evidence=evidence, fix=_repair_fix(user))
    side = "on Exchange Server" if here else "in Exchange Online" if there else "on neither side"
    return Check(name="duplicate", status=Status.PASS, summary=f"one mailbox at most: {side}", evidence=evidence)


def _guid(user: str, on_premises: ServerRecipient | None, mailbox: Mailbox | None, found: User) -> Check:
    name = "exchange-guid"
    if on_premises is None or on_premises.exchange_guid is None:
        return Check(name=name, status=Status.SKIP, summary="no ExchangeGuid on Exchange Server to compare")
    evidence = {"on_premises": str(on_premises.exchange_guid)}
    if mailbox is None or mailbox.exchange_guid is None:
        kind = found.recipient_type_details.value
        summary = f"not compared: Exchange Online shows a {kind}, and psbridge reads the ExchangeGuid of a mailbox only"
        return Check(name=name, status=Status.SKIP, summary=summary, evidence=evidence)
    evidence["exchange_online"] = str(mailbox.exchange_guid)
    if on_premises.exchange_guid == mailbox.exchange_guid:
        return Check(name=name, status=Status.PASS, summary="the same ExchangeGuid on both sides", evidence=evidence)
    if has_mailbox(on_premises):
        fix = _repair_fix(user)
    else:  # a remote mailbox carries its cloud mailbox's ExchangeGuid (docs/exchange.md)
        fix = f"on Exchange Server: Set-RemoteMailbox {user} -ExchangeGuid {mailbox.exchange_guid}"
    summary = "the ExchangeGuid differs: two different mailboxes"
    return Check(name=name, status=Status.FAIL, summary=summary, evidence=evidence, fix=fix)


def _unclean(user: str, on_premises: ServerRecipient | None, found: User) -> Check:
    name = "previous-mailbox-info"
    previous = found.previous_recipient_type_details
    if not found.has_previous_mailbox_info or previous is None:
        return Check(name=name, status=Status.PASS, summary="no previous mailbox info")
    summary = f"an unclean MailUser: PreviousRecipientTypeDetails is {previous.value}"
    evidence: dict[str, Any] = {"previous_recipient_type_details": previous.value}
    if has_mailbox(on_premises):
        evidence["consequences"] = list(UNCLEAN)
        return Check(name=name, status=Status.FAIL, summary=summary, evidence=evidence, fix=_repair_fix(user))
    fix = (
        f"only if the earlier cloud mailbox holds nothing to keep: in Exchange Online, Set-User {user} "
        "-PermanentlyClearPreviousMailboxInfo (irreversible: that mailbox and its content cannot be recovered)"
    )
    return Check(name=name, status=Status.WARN, summary=summary, evidence=evidence, fix=fix)
