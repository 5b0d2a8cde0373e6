"""How Exchange reports errors and warnings, and how psbridge reads them (docs/exchange.md, Errors).

`EXO_ERRORS` classifies error records of Exchange Online and Exchange Server cmdlets. The
exception type comes from the `|<ExceptionType>|` segment of an EXO V3 message first
(`<ExCode>|<.NET type>|<text>`, the Ex code may be empty), then from CategoryInfo's reason
(`... [Get-Mailbox], ManagementObjectNotFoundException`); the `Ex...` code is never used. A few
texts are specific enough to win over the type: the write-scope error of an attribute mastered
on-premises, and the not-found that is really a replication delay.

`opath_filter` is the one place an OPATH filter is built from values. `micro_delays` finds
the micro-delay throttling warnings, which are not errors: a caller that writes in bulk paces on them.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import uuid
from collections.abc import Iterable

from psbridge.command import ErrorRule
from psbridge.errors import (
    AccessDeniedError,
    CommandNotFoundError,
    InputError,
    ObjectNotFoundError,
    SyncedObjectError,
    TransientRemoteError,
)
from psbridge.result import ErrorRecordData

# `Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|text` (docs/exchange.md, Errors).
_SEGMENT = re.compile(r"^\s*(?:Ex[0-9A-Fa-f]*)?\|([A-Za-z_][\w.`+]*)\|")


def exception_type_named(record: ErrorRecordData) -> str:
    """The short exception type an Exchange error names: its `|<type>|` segment, else CategoryInfo's
    reason, else the exception's own type; "" when none is known."""
    match = _SEGMENT.match(record.message)
    full = match.group(1) if match else (record.reason or record.exception_type)
    return full.rsplit(".", 1)[-1]


@dataclasses.dataclass(frozen=True)
class ExchangeErrorRule(ErrorRule):
    """An ErrorRule that also requires the exception type the error names (see `exception_type_named`),
    compared by short name so that both the EXO V3 segment and the on-premises reason match."""

    named_type: str = ""

    def matches(self, record: ErrorRecordData) -> bool:
        return (not self.named_type or exception_type_named(record) == self.named_type) and super().matches(record)


_NOT_FOUND = "ManagementObjectNotFoundException"

# What SyncedObjectError means for Exchange, appended to its message.
SOURCE_OF_AUTHORITY = (
    "the mailbox's Exchange attributes are mastered in on-premises AD: make the change in Exchange Server, or "
    "move the Exchange attributes' source of authority to Exchange Online first "
    "(Set-Mailbox -IsExchangeCloudManaged $true, `psbridge exo cloud-managed set --enable`). Identity "
    "attributes (display name, names, UPN, title, department) stay mastered in AD either way"
)

# Order matters: the first rule that matches decides.
EXO_ERRORS: tuple[ErrorRule, ...] = (
    # An attribute mastered in on-premises AD. Never the bare write-scope phrase (RBAC, licences).
    ErrorRule(
        SyncedObjectError,
        message_contains="is being synchronized from your on-premises organization",
        note=SOURCE_OF_AUTHORITY,
    ),
    # A not-found that is a replication delay is worth a short retry.
    ExchangeErrorRule(TransientRemoteError, named_type=_NOT_FOUND, message_contains="replication delay"),
    # By the exception type the error names (segment first, then reason).
    ExchangeErrorRule(ObjectNotFoundError, named_type=_NOT_FOUND),
    ExchangeErrorRule(TransientRemoteError, named_type="TransientDALException"),
    ExchangeErrorRule(TransientRemoteError, named_type="ADServerSettingsChangedException"),
    # By text (docs/exchange.md, Errors), for errors that name no useful type.
    ErrorRule(ObjectNotFoundError, message_contains="matches multiple entries"),
    ErrorRule(ObjectNotFoundError, message_contains="Couldn't find object"),
    ErrorRule(ObjectNotFoundError, message_contains="The specified mailbox Identity:"),
    *(
        ErrorRule(TransientRemoteError, message_contains=f"Response status code does not indicate success: {code}")
        for code in (429, 502, 503, 504)
    ),
    ErrorRule(TransientRemoteError, message_contains="InvokeCommand' timed out after"),
    ErrorRule(TransientRemoteError, message_contains="An error occurred while sending the request."),
    ErrorRule(TransientRemoteError, message_contains="exceeded the maximum number of connections allowed"),
    ErrorRule(AccessDeniedError, message_contains="out of the current user's write scope"),
    ErrorRule(AccessDeniedError, message_contains="Response status code does not indicate success: 403"),
    ErrorRule(AccessDeniedError, message_contains="HttpStatusCode=401"),
    ErrorRule(AccessDeniedError, message_contains="HttpStatusCode=403"),
    ErrorRule(AccessDeniedError, message_contains="UnAuthorized"),
    ErrorRule(AccessDeniedError, message_contains="Access denied"),
    ErrorRule(AccessDeniedError, message_contains="isn't supported in this scenario"),
    ErrorRule(CommandNotFoundError, message_contains="is not recognized as the name of a cmdlet"),
    ErrorRule(CommandNotFoundError, message_contains="is not recognized as a name of a cmdlet"),
)


# -- warnings -----------------------------------------------------------------------------------------

_MICRO_DELAY = re.compile(r"Micro delay applied\. Actual delayed: (\d+(?:\.\d+)?) msecs", re.IGNORECASE)
_TRUNCATED = ("By default, only the first", "There are more results available than currently displayed")


def micro_delays(warnings: Iterable[str]) -> tuple[float, ...]:
    """The delays, in milliseconds, of the micro-delay throttling warnings among `warnings` (KB2881759).

    They are not errors ("by design ... safely ignore"); a bulk writer slows down when they appear.
    """
    return tuple(float(m.group(1)) for m in (_MICRO_DELAY.search(w) for w in warnings) if m)


def is_truncation_warning(text: str) -> bool:
    """Whether a warning says that -ResultSize cut the result short (docs/exchange.md)."""
    return any(marker in text for marker in _TRUNCATED)


# -- OPATH --------------------------------------------------------------------------------------------

OpathValue = str | bool | int | uuid.UUID | enum.Enum | None
_TYPOGRAPHIC_QUOTES = "\u2018\u2019\u201a\u201b\u201c\u201d\u201e"


def _opath_value(value: OpathValue) -> str:
    if value is None:
        return "$null"
    if isinstance(value, bool):
        return "$true" if value else "$false"
    if isinstance(value, enum.Enum):
        value = str(value.value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, uuid.UUID | str):
        text = str(value)
        odd = next((ch for ch in text if ch in _TYPOGRAPHIC_QUOTES), None)
        if odd is not None:
            # PowerShell's tokenizer takes these for quotes too; how OPATH reads them is undocumented.
            raise InputError(f"an OPATH value cannot hold the typographic quote U+{ord(odd):04X}; use ' instead")
        return "'" + text.replace("'", "''") + "'"
    raise InputError(f"an OPATH value must be text, a bool, an integer, a GUID or None, not {type(value).__name__}")


def opath_filter(template: str, *values: OpathValue) -> str:
    """An OPATH filter: each `{}` in `template` becomes one value, quoted for OPATH (docs/exchange.md).

    Text, GUIDs and enums go in single quotes with `'` doubled; True, False and None become `$true`,
    `$false` and `$null`; integers stay bare. The result is the filter itself, to bind as the
    -Filter parameter: bound by PSRP, PowerShell never expands it. `powershell_literal` gives the
    form to paste into a console.

        opath_filter("RecipientTypeDetails -eq {} -and IsDirSynced -eq {}", "UserMailbox", True)
        -> "RecipientTypeDetails -eq 'UserMailbox' -and IsDirSynced -eq $true"
    """
    parts = template.split("{}")
    if len(parts) - 1 != len(values):
        raise InputError(f"the OPATH template has {len(parts) - 1} placeholder(s) for {len(values)} value(s)")
    out = [parts[0]]
    for value, rest in zip(values, parts[1:], strict=True):
        out += [_opath_value(value), rest]
    return "".join(out)


def powershell_literal(filter_text: str) -> str:
    """The filter as a PowerShell string literal (docs/exchange.md): in double quotes, or in single
    quotes (inner `'` doubled) when it holds `$` (`$true`, `$false`, `$null`), a backtick or `"`,
    which a double-quoted string would expand or end."""
    if any(ch in filter_text for ch in '$`"' + _TYPOGRAPHIC_QUOTES):
        return "'" + re.sub("(['\u2018\u2019\u201a\u201b])", r"\1\1", filter_text) + "'"
    return f'"{filter_text}"'


# -- attribute-level source of authority (docs/exchange.md) ---------------------------------------------

# Mastered in AD even for a cloud-managed mailbox: change them on-premises.
IDENTITY_ATTRIBUTES = frozenset(
    {"DisplayName", "Name", "FirstName", "LastName", "Initials", "UserPrincipalName", "Title", "Department"}
)
# The Exchange attributes psbridge sets with set_mailbox_attributes (others have their own wrapper).
MAILBOX_ATTRIBUTES = frozenset(
    {"Alias", "HiddenFromAddressListsEnabled", *(f"CustomAttribute{n}" for n in range(1, 16))}
)
# Of those, the ones whose value is a bool; the rest are text. set_mailbox_attributes compares in these types.
BOOLEAN_MAILBOX_ATTRIBUTES = frozenset({"HiddenFromAddressListsEnabled"})
_OWN_WRAPPER = {
    "EmailAddresses": "set_mailbox_email_addresses",
    "IsExchangeCloudManaged": "set_mailbox_cloud_managed",
}


def check_mailbox_attributes(names: Iterable[str]) -> None:
    """Refuse, before anything is sent, an attribute psbridge must not or does not set on a mailbox."""
    by_lower = {n.lower(): n for n in (*IDENTITY_ATTRIBUTES, *MAILBOX_ATTRIBUTES, *_OWN_WRAPPER)}
    for given in names:
        name = by_lower.get(given.lower(), given)
        if name in IDENTITY_ATTRIBUTES:
            raise InputError(
                f"{name} is an identity attribute: it stays mastered in on-premises AD even when the mailbox's "
                "Exchange attributes are cloud-managed (only Exchange attributes such as proxy addresses, alias, "
                "hide-from-GAL and custom attributes move to Exchange Online); change it in AD and let it sync"
            )
        if name in _OWN_WRAPPER:
            raise InputError(f"{name} is set with psbridge.exchange.{_OWN_WRAPPER[name]}")
        if name not in MAILBOX_ATTRIBUTES:
            raise InputError(f"psbridge does not set {given!r}; it sets {', '.join(sorted(MAILBOX_ATTRIBUTES))}")
