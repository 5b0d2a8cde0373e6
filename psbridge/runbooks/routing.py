"""Why does the Hybrid Configuration Wizard stop with HCW8001? (`psbridge diagnose routing-domain`)

HCW8001, "Unable to determine the routing domain for the cloud organization", means Exchange Online
has no `<tenant>.mail.onmicrosoft.com` accepted domain. Its documented cause is that directory
synchronization is off: the routing domain is created when it is turned on (Microsoft KB 3068010).

1. `routing-domain`: Get-AcceptedDomain in Exchange Online must list `<tenant>.mail.onmicrosoft.com`.
   The tenant name is the one given, else the `.onmicrosoft.com` initial domain's, else the
   organization's (Get-OrganizationConfig).
2. `directory-sync`, only when the domain is missing: the organization's `onPremisesSyncEnabled` in
   Microsoft Graph: true, synchronized; false, synchronized once and no longer; null, never synchronized
   (https://learn.microsoft.com/graph/api/resources/organization). Without Graph it says how to
   check by hand. The fix is printed for the operator, never run: `Set-MsolDirSyncEnabled` is retired,
   its replacement is `Set-EntraDirSyncEnabled -EnableDirSync $true -Force` (Microsoft.Entra, Global
   Administrator), or the Graph PATCH of the organization.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from psbridge.errors import InputError, RemoteCommandError
from psbridge.exchange.models import TENANT_ROUTING_SUFFIX, AcceptedDomains
from psbridge.runbooks.report import Check, Report, Status, unreadable

if TYPE_CHECKING:
    from psbridge.cloudsync.models import TenantSyncFacts
    from psbridge.exchange.backend import ExchangeOnline
    from psbridge.graph.client import GraphClient
    from psbridge.targets import Targets

RUNBOOK = "routing-domain"
INITIAL_SUFFIX = ".onmicrosoft.com"
ENABLE_DIR_SYNC = "Set-EntraDirSyncEnabled -EnableDirSync $true -Force"
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def tenant_name(value: str) -> str:
    """A tenant name as given (`contoso` or `contoso.onmicrosoft.com`), lowercased without the suffix."""
    name = value.strip().lower() if isinstance(value, str) else ""
    name = name.removesuffix(INITIAL_SUFFIX)
    if not _LABEL.match(name):
        raise InputError(f"a tenant name is one DNS label, such as contoso or contoso.onmicrosoft.com, not {value!r}")
    return name


def diagnose_routing_domain(targets: Targets, *, tenant: str | None = None) -> Report:
    """Diagnose HCW8001: is `<tenant>.mail.onmicrosoft.com` accepted, and if not, is directory sync on?

    The `exo` target is signed in to Exchange Online. Microsoft Graph (`targets.graph()`) is asked only
    when the domain is missing; when the run has no Graph, the directory-sync check says how to check
    by hand.

    Raises:
        InputError: a malformed `tenant`.
        TargetMissingError: the config has no exo target.
        TransportError: Exchange Online or Graph cannot be reached.
    """
    given = tenant_name(tenant) if tenant is not None else None
    domain, tenant_found = _routing_domain(targets.exchange_online(), given)
    missing = domain.status == Status.FAIL and "error" not in domain.evidence
    if missing:
        sync = _directory_sync(targets.graph() if targets.has_graph() else None)
        domain = domain.model_copy(update={"fix": _domain_fix(sync)})
    else:
        why = "the accepted domains could not be read" if domain.status == Status.FAIL else "a routing domain is there"
        sync = Check(name="directory-sync", status=Status.SKIP, summary=f"not checked: {why}")
    subject = f"{tenant_found}{INITIAL_SUFFIX}" if tenant_found is not None else None
    return Report(runbook=RUNBOOK, subject=subject, checks=(domain, sync))


# -- 1. the routing domain -----------------------------------------------------------------------------------


def _tenant(domains: AcceptedDomains, exo: ExchangeOnline, given: str | None) -> tuple[str | None, str | None]:
    """The tenant name and where it came from: given, the initial domain, or the organization."""
    if given is not None:
        return given, "given"
    for domain in domains.domains:
        name = domain.domain_name.lower()
        if domain.initial_domain and name.endswith(INITIAL_SUFFIX) and not domain.is_tenant_routing_domain:
            return name.removesuffix(INITIAL_SUFFIX), f"initial domain {domain.domain_name}"
    from psbridge.exchange import get_organization_config

    organization = get_organization_config(exo).identity.lower()
    if organization.endswith(INITIAL_SUFFIX) and not organization.endswith(TENANT_ROUTING_SUFFIX):
        return organization.removesuffix(INITIAL_SUFFIX), f"organization {organization}"
    return None, None


def _routing_domain(exo: ExchangeOnline, given: str | None) -> tuple[Check, str | None]:
    """The check, and the tenant name when known."""
    from psbridge.exchange import get_accepted_domains

    where = f"exo: {exo.target}"
    name = "routing-domain"
    what = "the accepted domains"
    try:
        domains = get_accepted_domains(exo)
        what = "the organization config (for the tenant name)"
        tenant, source = _tenant(domains, exo, given)
    except RemoteCommandError as exc:
        return unreadable(name, what, target=where, error=exc), given
    routing = [d.domain_name for d in domains.domains if d.is_tenant_routing_domain]
    expected = f"{tenant}{TENANT_ROUTING_SUFFIX}" if tenant is not None else f"*{TENANT_ROUTING_SUFFIX}"
    evidence: dict[str, Any] = {
        "tenant": tenant, "tenant_from": source, "expected": expected,
        "accepted_domains": [d.domain_name for d in domains.domains], "routing_domains": routing,
    }  # fmt: skip
    exact = [d for d in routing if tenant is None or d.lower() == expected]
    if exact:
        return Check(
            name=name, status=Status.PASS, target=where, evidence=evidence,
            summary=f"{exact[0]} is an accepted domain: the Hybrid Configuration Wizard can find the routing domain",
        ), tenant  # fmt: skip
    if routing:
        return Check(
            name=name, status=Status.WARN, target=where, evidence=evidence,
            summary=f"{expected} is not an accepted domain, but {', '.join(routing)} is",
            fix="check the tenant name (--tenant NAME), and which routing domain the on-premises remote mailboxes "
            "use (their RemoteRoutingAddress)",
        ), tenant  # fmt: skip
    return Check(
        name=name, status=Status.FAIL, target=where, evidence=evidence,
        summary=f"{expected} is not an accepted domain: the Hybrid Configuration Wizard stops with HCW8001 "
        "(unable to determine the routing domain for the cloud organization)",
    ), tenant  # fmt: skip


# -- 2. directory synchronization -----------------------------------------------------------------------------


BY_HAND = (
    "check it by hand: GET https://graph.microsoft.com/v1.0/organization (Organization.Read.All) and read "
    "onPremisesSyncEnabled (true: on; false: was on, turned off since; null: never turned on); or give "
    "psbridge Graph app-only credentials "
    "(PSBRIDGE_GRAPH_TENANT_ID, PSBRIDGE_GRAPH_CLIENT_ID and a certificate or client secret, or [graph] in the "
    "config file) and run this again"
)


_WAIT_72 = "If synchronization was turned off less than 72 hours ago, wait until 72 hours have passed. "


def _enable(tenant_id: str | None, turned_off: bool = True) -> str:
    """The documented fix, as text for the operator (psbridge never runs it). The 72-hour wait concerns only
    a tenant whose synchronization was turned off (`turned_off`), not one where it never was on."""
    org = tenant_id or "<tenant id>"
    return (
        f"as a Global Administrator, with the Microsoft.Entra module: {ENABLE_DIR_SYNC} (Set-MsolDirSyncEnabled "
        f"is retired). Graph form: PATCH https://graph.microsoft.com/beta/organization/{org} with "
        '{"onPremisesSyncEnabled": true}, i.e. Update-MgBetaOrganization -OrganizationId '
        f"{org} -BodyParameter @{{onPremisesSyncEnabled=$true}}. {_WAIT_72 if turned_off else ''}"
        "Then run the Hybrid Configuration Wizard again"
    )


# What onPremisesSyncEnabled false and null say (https://learn.microsoft.com/graph/api/resources/organization).
_OFF = {
    False: "directory synchronization was on and has been turned off (onPremisesSyncEnabled false: synchronized "
    "once, no longer)",
    None: "directory synchronization has never been turned on for this tenant (onPremisesSyncEnabled null: "
    "never synchronized)",
}


def _directory_sync(client: GraphClient | None) -> Check:
    from psbridge.cloudsync.graph import get_tenant_sync

    name = "directory-sync"
    if client is None:
        return Check(
            name=name, status=Status.WARN, evidence={"graph": "not configured"},
            summary="could not be checked: Microsoft Graph is not configured; if directory synchronization is off, "
            "that is the documented cause of HCW8001",
            fix=f"{BY_HAND}. If it is off, turn it on {_enable(None)}",
        )  # fmt: skip
    where = f"graph: {client.target}"
    try:
        facts = get_tenant_sync(client)
    except RemoteCommandError as exc:
        what = "the organization's onPremisesSyncEnabled from Microsoft Graph"
        return unreadable(name, what, target=where, error=exc)
    evidence = _facts(facts)
    if facts.sync_enabled:
        return Check(
            name=name, status=Status.PASS, target=where, evidence=evidence,
            summary="directory synchronization is on (onPremisesSyncEnabled true): the documented cause of HCW8001 "
            "does not apply",
        )  # fmt: skip
    turned_off = facts.on_premises_sync_enabled is False
    state = _OFF[facts.on_premises_sync_enabled]  # True returned above
    return Check(
        name=name, status=Status.FAIL, target=where, evidence=evidence,
        summary=f"{state}: the documented cause of HCW8001; the routing domain is created when it is turned on",
        fix=f"turn directory synchronization {'back ' if turned_off else ''}on, {_enable(facts.tenant_id, turned_off)}",
    )  # fmt: skip


def _facts(facts: TenantSyncFacts) -> dict[str, Any]:
    last = facts.on_premises_last_sync
    return {
        "tenant_id": facts.tenant_id, "organization": facts.display_name,
        "onPremisesSyncEnabled": facts.on_premises_sync_enabled,
        "onPremisesLastSyncDateTime": last.isoformat() if last is not None else None,
    }  # fmt: skip


def _domain_fix(sync: Check) -> str:
    if sync.status == Status.PASS:
        return (
            "directory synchronization is on, and the routing domain is created when it is turned on: if it was "
            "turned on recently, check again later; otherwise open a case with Microsoft support"
        )
    return "turn directory synchronization on (see the directory-sync check), then run the wizard again"
