"""The demo tenant over REST: `ExoRestTenant` state read from the PSRP demo source, so both backends agree.

`recorded_sessions/sources/demo/exo.yaml` describes the demo tenant as the jump host's packaged script
(`exchange/Invoke-ExchangeCommand.ps1`) answers it. This reads its episodes: the full Get-Mailbox listing
page (one JSON string of rows) gives the mailboxes, a Get-Mailbox with -Property adds the attributes it
read (CustomAttribute1), Get-User the users, Get-OrganizationConfig the tenant default and the property
that shows it, Get-AcceptedDomain the domains. What the source does not say (aliases, object GUIDs,
creation times) is derived, as the plain-data constructor derives it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from psbridge.replay.synthetic import load_source
from simulated_exo_rest.state import DEFAULT_PROPERTIES, AcceptedDomain, Mailbox, OrganizationConfig, User
from simulated_exo_rest.tenant import ExoRestTenant

DEMO_SOURCE = Path(__file__).resolve().parents[2] / "recorded_sessions" / "sources" / "demo" / "exo.yaml"
RUNNER = "exchange/Invoke-ExchangeCommand.ps1"


_SCALARS = frozenset({"S", "I32", "I64", "U32", "B", "Db", "DT", "TS", "Version", "G"})
_LISTS = frozenset({"LST", "ArrayList", "ProxyAddressCollection", "ADPropertyValueCollection"})


def plain(value: Any) -> Any:
    """A value of the authoring format (psbridge.replay.synthetic) as plain data: `{DT: t}` its text,
    `{"Object[]": [..]}` a list, `{Nil: ..}` None; any other mapping keeps its keys."""
    if isinstance(value, Mapping):
        kind = next(iter(value), None) if len(value) == 1 else None
        if kind in _SCALARS:
            return value[kind]
        if kind == "Nil":
            return None
        if kind is not None and (kind.endswith("[]") or kind in _LISTS):
            return [plain(v) for v in value[kind]]
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _time(text: Any) -> dt.datetime:
    return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00")[:19] + "+00:00")


def _calls(source: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any], list[Any]]]:
    """(cmdlet, the script's other parameters with Arguments spread, output) of each runner episode."""
    for episode in source.get("episodes", []):
        if episode.get("script") != RUNNER:
            continue
        params = {p["name"]: plain(p.get("value")) for p in episode.get("parameters", [])}
        cmdlet = params.pop("Command")
        params |= params.pop("Arguments", None) or {}
        yield cmdlet, params, list(episode.get("output", []))


def _props(item: Any) -> dict[str, Any]:
    return {k: plain(v) for k, v in (item.get("properties", {}) if isinstance(item, Mapping) else {}).items()}


def _mailbox(row: Mapping[str, Any]) -> Mailbox:
    return Mailbox(
        upn=row["UserPrincipalName"], name=row["Identity"], display_name=row.get("DisplayName", ""),
        primary_smtp=row.get("PrimarySmtpAddress", ""), email_addresses=list(row.get("EmailAddresses") or []),
        recipient_type_details=row["RecipientTypeDetails"], is_dir_synced=bool(row.get("IsDirSynced")),
        is_exchange_cloud_managed=bool(row.get("IsExchangeCloudManaged")), exchange_guid=row.get("ExchangeGuid", ""),
        when_changed=_time(row["WhenChanged"]),
    )  # fmt: skip


def _user(row: Mapping[str, Any]) -> User:
    return User(
        upn=row["UserPrincipalName"], name=row.get("Name") or row["Identity"], display_name=row.get("DisplayName", ""),
        recipient_type=row["RecipientType"], recipient_type_details=row["RecipientTypeDetails"],
        previous_recipient_type_details=row.get("PreviousRecipientTypeDetails"),
        is_dir_synced=bool(row.get("IsDirSynced")), when_changed=_time(row["WhenChanged"]),
    )  # fmt: skip


def _organization(row: Mapping[str, Any]) -> OrganizationConfig:
    shown = next((p for p in DEFAULT_PROPERTIES if row.get(p) is not None), None)
    return OrganizationConfig(row["Identity"], bool(row.get(shown)) if shown else False, shown)


def _domain(row: Mapping[str, Any]) -> AcceptedDomain:
    return AcceptedDomain(
        row["DomainName"], row["DomainType"], bool(row.get("Default")), bool(row.get("InitialDomain")),
        row.get("IsCoexistenceDomain"),
    )  # fmt: skip


def demo_tenant(source: str | Path = DEMO_SOURCE, **options: Any) -> ExoRestTenant:
    """The tenant a PSRP demo source describes; `options` go to `ExoRestTenant` (token, budget, faults...)."""
    mailboxes: dict[str, Mailbox] = {}
    extra: dict[str, dict[str, Any]] = {}
    users: list[User] = []
    organization, domains = None, []
    for cmdlet, params, output in _calls(load_source(source)):
        if cmdlet == "Get-Mailbox" and "PageSize" in params and "IsExchangeCloudManaged" not in params:
            for row in json.loads(output[0])["rows"]:
                mailboxes[row["UserPrincipalName"].casefold()] = _mailbox(row)
        elif cmdlet == "Get-Mailbox" and params.get("Property"):
            row = _props(output[0])
            extra[row["UserPrincipalName"].casefold()] = {p: row.get(p) for p in params["Property"]}
        elif cmdlet == "Get-User":
            users += [_user(_props(o)) for o in output]
        elif cmdlet == "Get-OrganizationConfig":
            organization = _organization(_props(output[0]))
        elif cmdlet == "Get-AcceptedDomain":
            domains = [_domain(_props(o)) for o in output]
    for upn, attributes in extra.items():
        named = {k.removeprefix("CustomAttribute"): v for k, v in attributes.items()}
        mailboxes[upn].custom |= {int(n): v or "" for n, v in named.items() if n.isdigit()}
    return ExoRestTenant(
        mailboxes.values(), users=users, organization=organization, domains=domains,
        name=(organization.identity if organization else "contoso.onmicrosoft.com").split(".")[0], **options,
    )  # fmt: skip
