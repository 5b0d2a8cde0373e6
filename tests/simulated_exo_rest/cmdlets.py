"""The cmdlets the simulated tenant runs, over its `Directory`: reads return rows, writes change state.

Each handler takes the bound parameters (names case-insensitive, as PowerShell binds them) and returns an
`Outcome`: rows (objects whose `props()` the wire layer renders and `$select`s page by page; stored objects
are replaced, never changed in place, so a listing is a snapshot) and warnings. Semantics follow
docs/exchange.md: -ResultSize defaults to 1000 and truncation is only a warning; Set-Mailbox refuses an
Exchange attribute of a dir-synced mailbox whose attributes are not cloud-managed with the write-scope
error; EmailAddresses takes a `#Exchange.GenericHashTable` with Add/Remove (`SMTP:` makes an address
primary) or a whole list; a Set-* that changes nothing warns "no settings ... modified".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from simulated_exo_rest import errors
from simulated_exo_rest.state import (
    AcceptedDomain,
    Index,
    Mailbox,
    OrganizationConfig,
    User,
    opath,
    resolve,
)

DEFAULT_RESULT_SIZE = 1000
TRUNCATED_DEFAULT = (
    "By default, only the first 1000 items are returned. Use the ResultSize parameter to specify the number of "
    'items returned. To return all items, specify "-ResultSize Unlimited".'
)
TRUNCATED = "There are more results available than currently displayed. Use the ResultSize parameter to see them."
HASHTABLE = "#Exchange.GenericHashTable"
WRITES = frozenset({"set-mailbox", "set-user", "set-organizationconfig"})


@dataclasses.dataclass
class Outcome:
    rows: list[Any] = dataclasses.field(default_factory=list)  # objects with props()
    warnings: list[str] = dataclasses.field(default_factory=list)
    changed: bool = False


@dataclasses.dataclass
class Directory:
    """The tenant's state. `users` holds users without a mailbox and any given explicitly for a mailbox's UPN."""

    mailboxes: list[Mailbox]
    users: list[User]
    organization: OrganizationConfig
    domains: list[AcceptedDomain]
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC).replace(microsecond=0)
    index: Index = dataclasses.field(default_factory=Index)  # the mailboxes'

    def all_users(self) -> list[User]:
        given = {u.upn.casefold() for u in self.users}
        return [*self.users, *(User.of(b) for b in self.mailboxes if b.upn.casefold() not in given)]

    def run(self, cmdlet: str, parameters: Mapping[str, Any]) -> Outcome:
        handler = HANDLERS.get(cmdlet.casefold())
        if handler is None:
            raise errors.unknown_cmdlet(cmdlet)
        allowed, run = handler
        bound: dict[str, Any] = {}
        for name, value in parameters.items():
            canonical = next((a for a in allowed if a.casefold() == name.casefold()), None)
            if canonical is None:
                raise errors.unknown_parameter(name)
            bound[canonical] = value
        return run(self, bound)


# -- reads ----------------------------------------------------------------------------------------------------


def _result_size(params: Mapping[str, Any], cmdlet: str) -> int | None:
    """None for Unlimited; the default 1000 when not given."""
    value = params.get("ResultSize", DEFAULT_RESULT_SIZE)
    if isinstance(value, str) and value.strip().casefold() == "unlimited":
        return None
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise errors.bad_parameter(cmdlet, "ResultSize", value) from None
    if isinstance(value, bool) or size < 1:
        raise errors.bad_parameter(cmdlet, "ResultSize", value)
    return size


def _listing(objects: list[Any], params: Mapping[str, Any], cmdlet: str, index: Index | None = None) -> Outcome:
    if "Identity" in params and "Filter" in params:
        raise errors.cmdlet_error(
            400, "BadRequest", "", "System.Management.Automation.ParameterBindingException",
            "Parameter set cannot be resolved using the specified named parameters.",
        )  # fmt: skip
    if "Identity" in params:
        return Outcome([resolve(objects, params["Identity"], cmdlet, index)])
    size = _result_size(params, cmdlet)
    rows = list(objects)
    if "Filter" in params:
        keep = opath(params["Filter"], cmdlet)
        rows = [r for r in rows if keep(dict(r.props()))]
    if size is None or len(rows) <= size:
        return Outcome(rows)
    warning = TRUNCATED_DEFAULT if "ResultSize" not in params else TRUNCATED
    return Outcome(rows[:size], [warning])


def get_mailbox(d: Directory, p: Mapping[str, Any]) -> Outcome:
    return _listing(d.mailboxes, p, "Get-Mailbox", d.index)


def get_user(d: Directory, p: Mapping[str, Any]) -> Outcome:
    return _listing(d.all_users(), p, "Get-User")


def get_organization_config(d: Directory, p: Mapping[str, Any]) -> Outcome:
    return Outcome([dataclasses.replace(d.organization)])


def get_accepted_domain(d: Directory, p: Mapping[str, Any]) -> Outcome:
    domains = d.domains
    if "Identity" in p:
        wanted = str(p["Identity"]).casefold()
        domains = [x for x in domains if x.domain_name.casefold() == wanted]
        if not domains:
            raise errors.not_found(str(p["Identity"]))
    size = _result_size(p, "Get-AcceptedDomain")
    return Outcome(domains[:size])


# -- writes ---------------------------------------------------------------------------------------------------


def _flag(cmdlet: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise errors.bad_parameter(cmdlet, name, value)
    return value


def _proxy(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise errors.bad_parameter("Set-Mailbox", "EmailAddresses", value)
    prefix, sep, rest = value.strip().partition(":")
    if not sep or "@" in prefix:
        return f"smtp:{value.strip()}"
    if prefix.lower() == "smtp" and ("@" not in rest or prefix not in ("SMTP", "smtp")):
        raise errors.bad_parameter("Set-Mailbox", "EmailAddresses", value)
    return f"{prefix}:{rest}"


def _key(proxy: str) -> tuple[str, str]:
    prefix, _, rest = proxy.partition(":")
    return prefix.casefold(), rest.casefold()


def _addresses(box: Mailbox, value: Any) -> list[str]:
    """The addresses after -EmailAddresses: a GenericHashTable with Add/Remove, or a whole new list."""
    if isinstance(value, list):
        new = [_proxy(v) for v in value]
        if sum(a.startswith("SMTP:") for a in new) != 1:
            raise errors.task("Exactly one SMTP address must be the primary address (SMTP:).")  # SYNTHETIC
        return new
    if not isinstance(value, dict) or value.get("@odata.type") != HASHTABLE:
        raise errors.bad_parameter("Set-Mailbox", "EmailAddresses", value)
    unknown = set(value) - {"@odata.type", "Add", "Remove"}
    if unknown:
        raise errors.bad_parameter("Set-Mailbox", "EmailAddresses", sorted(unknown))
    adds, removes = ([v] if isinstance(v, str) else list(v or []) for v in (value.get("Add"), value.get("Remove")))
    current = list(box.email_addresses)
    for gone in map(_proxy, removes):
        present = [a for a in current if _key(a) == _key(gone)]
        if any(a.startswith("SMTP:") for a in present):  # SYNTHETIC text
            raise errors.task(f"The primary SMTP address '{gone[5:]}' of '{box.name}' can't be removed.")
        current = [a for a in current if _key(a) != _key(gone)]
    for added in map(_proxy, adds):
        if added.startswith("SMTP:"):
            current = ["smtp:" + a[5:] if a.startswith("SMTP:") else a for a in current if _key(a) != _key(added)]
            current.append(added)
        elif all(_key(a) != _key(added) for a in current):
            current.append(added)
    return current


def set_mailbox(d: Directory, p: Mapping[str, Any]) -> Outcome:
    box: Mailbox = resolve(d.mailboxes, p.get("Identity"), "Set-Mailbox", d.index)
    new = dataclasses.replace(box, email_addresses=list(box.email_addresses), custom=dict(box.custom))
    for name, value in p.items():
        if name == "IsExchangeCloudManaged":
            new.is_exchange_cloud_managed = _flag("Set-Mailbox", name, value)
        elif name == "HiddenFromAddressListsEnabled":
            new.hidden = _flag("Set-Mailbox", name, value)
        elif name == "Alias":
            if not isinstance(value, str) or not value.strip():
                raise errors.bad_parameter("Set-Mailbox", name, value)
            new.alias = value.strip()
        elif name.startswith("CustomAttribute"):
            if value is not None and not isinstance(value, str):
                raise errors.bad_parameter("Set-Mailbox", name, value)
            new.custom[int(name.removeprefix("CustomAttribute"))] = value or ""
        elif name == "EmailAddresses":
            new.email_addresses = _addresses(box, value)
            new.primary_smtp = next(a[5:] for a in new.email_addresses if a.startswith("SMTP:"))
    exchange = [n for n in p if n not in ("Identity", "IsExchangeCloudManaged")]
    if exchange and box.is_dir_synced and not box.is_exchange_cloud_managed:
        raise errors.synced(box.name, "Set-Mailbox", exchange)
    return _store(d.mailboxes, box, new, d.now, d.index)


def _store(
    objects: list[Any], old: Any, new: Any, now: Callable[[], dt.datetime], index: Index | None = None
) -> Outcome:
    """Keep `new` in place of `old` (appended when `old` is a mailbox's derived user), or warn that nothing changed."""
    if new == old:
        return Outcome(warnings=[errors.NO_CHANGE.format(id=old.name)])
    new.when_changed = now()
    if index is not None:
        index.replace(objects, old, new)
    elif any(o is old for o in objects):
        objects[next(i for i, o in enumerate(objects) if o is old)] = new
    else:
        objects.append(new)
    return Outcome(changed=True)


def set_user(d: Directory, p: Mapping[str, Any]) -> Outcome:
    user: User = resolve(d.all_users(), p.get("Identity"), "Set-User")
    new = dataclasses.replace(user)
    if _flag("Set-User", "PermanentlyClearPreviousMailboxInfo", p.get("PermanentlyClearPreviousMailboxInfo", False)):
        new.previous_recipient_type_details = None
    return _store(d.users, user, new, d.now)


def set_organization_config(d: Directory, p: Mapping[str, Any]) -> Outcome:
    cloud, server = (
        _flag("Set-OrganizationConfig", name, p.get(name, False))
        for name in ("ExchangeAttributesCloudManagedByDefault", "ExchangeAttributesServerManagedByDefault")
    )
    if cloud and server:  # SYNTHETIC text
        raise errors.task("ExchangeAttributesCloudManagedByDefault and ExchangeAttributesServerManagedByDefault "
                          "can't be used together.")  # fmt: skip
    org = d.organization
    if (cloud or server) and org.cloud_managed_by_default != cloud:
        org.cloud_managed_by_default = cloud
        return Outcome(changed=True)
    return Outcome(warnings=[errors.NO_CHANGE.format(id=org.identity)])


_SET_MAILBOX = ("Identity", "IsExchangeCloudManaged", "EmailAddresses", "Alias", "HiddenFromAddressListsEnabled",
                *(f"CustomAttribute{n}" for n in range(1, 16)))  # fmt: skip
HANDLERS: dict[str, tuple[tuple[str, ...], Callable[[Directory, Mapping[str, Any]], Outcome]]] = {
    "get-mailbox": (("Identity", "Filter", "ResultSize"), get_mailbox),
    "get-user": (("Identity", "Filter", "ResultSize"), get_user),
    "get-organizationconfig": (("Identity",), get_organization_config),
    "get-accepteddomain": (("Identity", "ResultSize"), get_accepted_domain),
    "set-mailbox": (_SET_MAILBOX, set_mailbox),
    "set-user": (("Identity", "PermanentlyClearPreviousMailboxInfo"), set_user),
    "set-organizationconfig": (
        ("ExchangeAttributesCloudManagedByDefault", "ExchangeAttributesServerManagedByDefault"),
        set_organization_config,
    ),
}
