"""The simulated tenant's objects, how they look as InvokeCommand rows, and how Exchange finds them.

Rows are JSON-typed with the OData annotations public implementations show beside some properties
(`EmailAddresses@odata.type: #Collection(String)`; `WhenChanged@data.type: System.DateTime` with times written
`2024-04-10T08:56:22.0000000+00:00`; GUIDs with `@data.type: System.Guid` and `@odata.type: #Guid`; enums
as their names; nulls as null). Identities resolve as Exchange resolves a MailboxIdParameter (name, alias,
address, UPN, GUIDs; https://learn.microsoft.com/powershell/module/exchange/get-mailbox), case-insensitively.
`Opath` evaluates the subset of OPATH psbridge sends (`psbridge.exchange.rules.opath_filter`): clauses
`<Property> -eq|-ne|-like <value>` joined by `-and`, values in single quotes (`''` inside) or `$true`,
`$false`, `$null`, over each cmdlet's filterable properties (docs/exchange.md, Mailboxes; filter-properties
on Microsoft Learn). Anything else is refused with `errors.bad_filter`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
import operator
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from simulated_exo_rest import errors

NAMESPACE = uuid.UUID("8f7c5b1e-2d3a-4c6b-9e0f-1a2b3c4d5e6f")  # derives the GUIDs a plain-data tenant leaves out
SIZE_35MB = "35 MB (36,700,160 bytes)"  # ByteQuantifiedSize as text: the default MaxSendSize of a mailbox


def derived_guid(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(p.casefold() for p in parts)))


def wire_time(when: dt.datetime) -> tuple[str, str]:
    """A DateTime as the REST endpoint writes it: local (here UTC) with offset, and the ...UTC twin."""
    utc = when.astimezone(dt.UTC)
    base = utc.strftime("%Y-%m-%dT%H:%M:%S") + f".{utc.microsecond:06d}0"
    return base + "+00:00", base + "Z"


# -- typed values: how a row property is written ------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Guid:
    value: str


@dataclasses.dataclass(frozen=True)
class Time:
    value: dt.datetime


def render(props: Iterable[tuple[str, Any]], select: Iterable[str] | None = None) -> dict[str, Any]:
    """A row: each property JSON-typed with its annotations; with `select`, only those (case-insensitive)."""
    wanted = None if select is None else {s.casefold() for s in select}
    row: dict[str, Any] = {}
    for name, value in props:
        key = name.casefold()
        if wanted is not None and key not in wanted and not (isinstance(value, Time) and f"{key}utc" in wanted):
            continue
        if isinstance(value, Guid):
            row |= {f"{name}@data.type": "System.Guid", f"{name}@odata.type": "#Guid", name: value.value}
        elif isinstance(value, Time):
            local, utc = wire_time(value.value)
            if wanted is None or key in wanted:
                row |= {f"{name}@data.type": "System.DateTime", name: local}
            if wanted is None or f"{key}utc" in wanted:
                row[f"{name}UTC"] = utc
        elif isinstance(value, list | tuple):
            row |= {f"{name}@odata.type": "#Collection(String)", name: list(value)}
        else:
            row[name] = value
    return row


# -- objects --------------------------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclasses.dataclass
class Mailbox:
    """One mailbox. Left empty, `name` is the UPN's local part, `alias` too, the primary address the UPN,
    the addresses the primary one, and the GUIDs are derived from the UPN."""

    upn: str
    name: str = ""
    display_name: str = ""
    alias: str = ""
    primary_smtp: str = ""
    email_addresses: list[str] = dataclasses.field(default_factory=list)
    recipient_type_details: str = "UserMailbox"
    is_dir_synced: bool = False
    is_exchange_cloud_managed: bool = False
    hidden: bool = False
    custom: dict[int, str] = dataclasses.field(default_factory=dict)  # CustomAttributeN by N
    guid: str = ""
    exchange_guid: str = ""
    external_directory_object_id: str = ""
    when_changed: dt.datetime = dataclasses.field(default_factory=_now)
    when_created: dt.datetime | None = None

    def __post_init__(self) -> None:
        local = self.upn.split("@")[0]
        self.name = self.name or local
        self.display_name = self.display_name or self.name
        self.alias = self.alias or local
        self.primary_smtp = self.primary_smtp or self.upn
        self.email_addresses = self.email_addresses or [f"SMTP:{self.primary_smtp}"]
        self.guid = self.guid or derived_guid("guid", self.upn)
        self.exchange_guid = self.exchange_guid or derived_guid("exchange", self.upn)
        self.external_directory_object_id = self.external_directory_object_id or derived_guid("entra", self.upn)
        self.when_created = self.when_created or self.when_changed

    def identities(self) -> set[str]:
        """What a MailboxIdParameter matches: name, alias, UPN, every address, every GUID."""
        addresses = {a.split(":", 1)[1] for a in self.email_addresses if a.lower().startswith("smtp:")}
        ids = {self.name, self.alias, self.upn, self.primary_smtp, *addresses}
        return {k.casefold() for k in ids | {self.guid, self.exchange_guid, self.external_directory_object_id}}

    def props(self) -> list[tuple[str, Any]]:
        """Get-Mailbox's properties (a subset of its 230-odd), in a stable order."""
        return [
            ("Name", self.name), ("Alias", self.alias), ("DisplayName", self.display_name),
            ("UserPrincipalName", self.upn), ("PrimarySmtpAddress", self.primary_smtp),
            ("WindowsEmailAddress", self.primary_smtp), ("EmailAddresses", list(self.email_addresses)),
            ("Identity", self.name), ("Id", self.name), ("Guid", Guid(self.guid)),
            ("ExchangeGuid", Guid(self.exchange_guid)), ("ExchangeObjectId", Guid(self.guid)),
            ("ExternalDirectoryObjectId", self.external_directory_object_id),
            ("RecipientType", "UserMailbox"), ("RecipientTypeDetails", self.recipient_type_details),
            ("IsDirSynced", self.is_dir_synced), ("IsExchangeCloudManaged", self.is_exchange_cloud_managed),
            ("HiddenFromAddressListsEnabled", self.hidden),
            *((f"CustomAttribute{n}", self.custom.get(n, "")) for n in range(1, 16)),
            ("MaxSendSize", SIZE_35MB), ("LastExchangeChangedTime", None),
            ("WhenChanged", Time(self.when_changed)), ("WhenCreated", Time(self.when_created or self.when_changed)),
        ]  # fmt: skip


@dataclasses.dataclass
class User:
    """A user as Get-User sees it. A mailbox's user is derived from it unless one is given for its UPN."""

    upn: str
    name: str = ""
    display_name: str = ""
    recipient_type: str = "MailUser"
    recipient_type_details: str = "MailUser"
    previous_recipient_type_details: str | None = None
    is_dir_synced: bool = False
    guid: str = ""
    external_directory_object_id: str = ""
    when_changed: dt.datetime = dataclasses.field(default_factory=_now)

    def __post_init__(self) -> None:
        self.name = self.name or self.upn.split("@")[0]
        self.display_name = self.display_name or self.name
        self.guid = self.guid or derived_guid("guid", self.upn)
        self.external_directory_object_id = self.external_directory_object_id or derived_guid("entra", self.upn)

    @classmethod
    def of(cls, box: Mailbox) -> User:
        return cls(
            upn=box.upn, name=box.name, display_name=box.display_name, recipient_type="UserMailbox",
            recipient_type_details=box.recipient_type_details, is_dir_synced=box.is_dir_synced, guid=box.guid,
            external_directory_object_id=box.external_directory_object_id, when_changed=box.when_changed,
        )  # fmt: skip

    def identities(self) -> set[str]:
        return {k.casefold() for k in (self.name, self.upn, self.guid, self.external_directory_object_id)}

    def props(self) -> list[tuple[str, Any]]:
        return [
            ("Name", self.name), ("DisplayName", self.display_name), ("UserPrincipalName", self.upn),
            ("Identity", self.name), ("Id", self.name), ("Guid", Guid(self.guid)),
            ("ExternalDirectoryObjectId", self.external_directory_object_id),
            ("RecipientType", self.recipient_type), ("RecipientTypeDetails", self.recipient_type_details),
            ("PreviousRecipientTypeDetails", self.previous_recipient_type_details or "None"),
            ("IsDirSynced", self.is_dir_synced), ("WhenChanged", Time(self.when_changed)),
        ]  # fmt: skip


# Which Get-OrganizationConfig property shows the tenant default is undocumented (docs/exchange.md,
# Cloud-managed Exchange attributes): a tenant reports one of these, or neither.
DEFAULT_PROPERTIES = ("ExchangeAttributesCloudManagedByDefault", "BlockExchangeProvisioningFromOnPremEnabled")


@dataclasses.dataclass
class OrganizationConfig:
    identity: str
    cloud_managed_by_default: bool = False
    reported_as: str | None = DEFAULT_PROPERTIES[0]  # the property showing the default; None: not reported
    guid: str = ""

    def __post_init__(self) -> None:
        self.guid = self.guid or derived_guid("org", self.identity)

    def props(self) -> list[tuple[str, Any]]:
        shown = [(self.reported_as, self.cloud_managed_by_default)] if self.reported_as else []
        return [
            ("Name", self.identity.split(".")[0]), ("DisplayName", self.identity.split(".")[0]),
            ("Identity", self.identity), ("Guid", Guid(self.guid)), *shown,
        ]  # fmt: skip


@dataclasses.dataclass
class AcceptedDomain:
    domain_name: str
    domain_type: str = "Authoritative"
    default: bool = False
    initial_domain: bool = False
    is_coexistence_domain: bool | None = False

    def props(self) -> list[tuple[str, Any]]:
        return [
            ("Name", self.domain_name), ("Identity", self.domain_name), ("DomainName", self.domain_name),
            ("DomainType", self.domain_type), ("Default", self.default), ("InitialDomain", self.initial_domain),
            ("IsCoexistenceDomain", self.is_coexistence_domain),
            ("Guid", Guid(derived_guid("domain", self.domain_name))),
        ]  # fmt: skip


class Index:
    """Objects by every identity that names them, so a lookup in a 10,000-mailbox tenant is not a scan. Rebuilt
    when the list no longer holds the objects indexed (a test added one); `replace` keeps it current."""

    def __init__(self) -> None:
        self._by: dict[str, list[Any]] = {}
        self._held: list[Any] = []  # the objects indexed, in order (and kept alive, so their ids stay theirs)
        self._at: dict[int, int] = {}  # id -> position

    def _current(self, objects: list[Any]) -> bool:
        return len(objects) == len(self._held) and all(map(operator.is_, objects, self._held))

    def lookup(self, objects: list[Any], wanted: str) -> list[Any]:
        if not self._current(objects):
            self._by, self._held = {}, list(objects)
            self._at = {id(o): i for i, o in enumerate(objects)}
            for o in objects:
                for key in o.identities():
                    self._by.setdefault(key, []).append(o)
        return self._by.get(wanted, [])

    def replace(self, objects: list[Any], old: Any, new: Any) -> None:
        """Put `new` where `old` is in `objects`, and in the index."""
        if not self._current(objects):
            objects[next(i for i, o in enumerate(objects) if o is old)] = new
            return
        at = self._at.pop(id(old))
        objects[at] = self._held[at] = new
        self._at[id(new)] = at
        for key in old.identities():
            self._by[key] = [o for o in self._by.get(key, []) if o is not old]
        for key in new.identities():
            self._by.setdefault(key, []).append(new)


def resolve(objects: list[Any], identity: Any, cmdlet: str, index: Index | None = None) -> Any:
    """The one object `identity` names, or the not-found / ambiguous error Exchange gives."""
    if not isinstance(identity, str) or not identity.strip():
        raise errors.bad_parameter(cmdlet, "Identity", identity)
    wanted = identity.strip().casefold()
    found = (index or Index()).lookup(objects, wanted)
    if not found:
        raise errors.not_found(identity)
    if len(found) > 1:
        raise errors.ambiguous(identity)
    return found[0]


# -- OPATH --------------------------------------------------------------------------------------------------

# Filterable properties psbridge may send, per cmdlet (filter-properties on Microsoft Learn; IsExchangeCloudManaged
# is not among them, so it is refused as Exchange refuses an unfilterable property).
FILTERABLE: dict[str, frozenset[str]] = {
    "get-mailbox": frozenset({
        "IsDirSynced", "RecipientTypeDetails", "ExchangeGuid", "DisplayName", "Name", "Alias", "UserPrincipalName",
        "PrimarySmtpAddress", "ExternalDirectoryObjectId", "HiddenFromAddressListsEnabled", "Guid",
        *(f"CustomAttribute{n}" for n in range(1, 16)),
    }),
    "get-user": frozenset({
        "IsDirSynced", "RecipientType", "RecipientTypeDetails", "PreviousRecipientTypeDetails", "DisplayName",
        "Name", "UserPrincipalName",
    }),
}  # fmt: skip
_CLAUSE = re.compile(r"\s*([A-Za-z][A-Za-z0-9]*)\s+-(eq|ne|like)\s+('(?:[^']|'')*'|\$true|\$false|\$null)\s*", re.I)


def opath(text: Any, cmdlet: str) -> Callable[[Mapping[str, Any]], bool]:
    """A predicate over a row's plain properties (name -> value) for the OPATH subset, or `errors.bad_filter`."""
    if not isinstance(text, str):
        raise errors.bad_parameter(cmdlet, "Filter", text)
    filterable = {p.casefold(): p for p in FILTERABLE[cmdlet.casefold()]}
    clauses, rest = [], text
    while True:
        match = _CLAUSE.match(rest)
        if match is None:
            raise errors.bad_filter(text, len(text) - len(rest))
        name, op, raw = match.groups()
        if name.casefold() not in filterable:
            raise errors.unfilterable(text, name)
        clauses.append((filterable[name.casefold()], op.lower(), _literal(raw)))
        rest = rest[match.end() :]
        if not rest:
            break
        joiner = re.match(r"-and\s+", rest, re.I)
        if joiner is None:
            raise errors.bad_filter(text, len(text) - len(rest))
        rest = rest[joiner.end() :]
    return lambda row: all(_test(row.get(name), op, value) for name, op, value in clauses)


def _literal(raw: str) -> Any:
    lowered = raw.lower()
    if lowered in ("$true", "$false"):
        return lowered == "$true"
    if lowered == "$null":
        return None
    return raw[1:-1].replace("''", "'")


def _test(actual: Any, op: str, value: Any) -> bool:
    if isinstance(actual, Guid | Time):
        actual = actual.value
    if actual == "None":
        actual = None
    if op == "like":
        pattern = str(value).casefold().replace("[", "[[]").replace("?", "[?]")
        return actual is not None and fnmatch.fnmatchcase(str(actual).casefold(), pattern)
    equal = (
        actual == value
        if isinstance(value, bool) or value is None or actual is None
        else str(actual).casefold() == str(value).casefold()
    )
    return equal if op == "eq" else not equal
