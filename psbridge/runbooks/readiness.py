"""Can I switch my mailboxes to cloud-managed yet? (`psbridge check cloud-managed-readiness`)

Five checks, across the Connect server (`connect`), the Cloud Sync agent's host (`cloudsync-agent`, when
one is in use), Exchange Online (`exo`) and Exchange Server (`exchange`):

1. `connect-version`: the Entra Connect Sync version against the cloud-managed floor (configurable:
   2.5.190.0 by default, 2.5.76.0 in the preview text, unconfirmed by Microsoft; docs/adsync.md, Versions
   and lifecycle)
   and the hard floor 2.5.79.0 (required since 30 Sep 2026), with the end of support as of `today`
   (the third-party transcription of Microsoft's version history, same section).
2. `cloud-sync-agent`, when a Cloud Sync agent is in use: writeback of Exchange attributes needs the
   provisioning agent at 1.1.1107.0 or later (docs/cloudsync.md, Features and versions). Its version is the
   file version of the agent's service program (`psbridge.cloudsync.get_agent_version`, on the
   `cloudsync-agent` target): neither Get-AADCloudSyncToolsInfo nor Graph reports it.
3. `organization-default`: whether new dir-synced mailboxes get cloud-managed Exchange attributes
   (Get-OrganizationConfig; which property shows it is unverified, see OrganizationConfig).
4. `synced-mailboxes`: dir-synced mailboxes, cloud-managed or not; a mix warns and lists the stragglers.
5. `attribute-drift`: each cloud-managed mailbox against its on-premises remote mailbox; their email
   addresses (compared case-insensitively) and primary SMTP address must agree. One Get-RemoteMailbox
   per cloud-managed mailbox.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from psbridge.adsync.policy import END_OF_SUPPORT, REQUIRED_SINCE
from psbridge.cloudsync.models import AGENT_REGISTRY_KEY
from psbridge.defaults import CLOUD_MANAGED_DEFAULT_MINIMUM, REQUIRED_MINIMUM
from psbridge.errors import ObjectNotFoundError, RemoteCommandError
from psbridge.exchange.models import Mailbox, Recipient, primary_smtp
from psbridge.runbooks.report import Check, Report, Status, unreadable
from psbridge.versions import Version

if TYPE_CHECKING:
    from psbridge.exchange.backend import ExchangeOnline
    from psbridge.session import Session
    from psbridge.targets import Targets

RUNBOOK = "cloud-managed-readiness"
# Writeback of Exchange attributes to AD through Cloud Sync (docs/cloudsync.md, Features and versions).
CLOUD_SYNC_WRITEBACK_MINIMUM = Version("1.1.1107.0")
# Where the agent's InstallDir and ServiceProcessName are (docs/cloudsync.md, Provisioning agent): its version, by hand.
SHOWN = 5  # mailboxes named in a summary line; the evidence lists them all
_DIR_SYNCED = "IsDirSynced -eq {}"


@dataclasses.dataclass(frozen=True)
class _Sessions:
    connect: Session
    exo: ExchangeOnline
    exchange: Session
    via_jump_host: bool
    agent: Session | None  # the Cloud Sync agent's host, when one is in use


def check_cloud_managed_readiness(
    targets: Targets,
    *,
    via_jump_host: bool | None = None,
    cloud_sync: bool | None = None,
    minimum: Version | str = CLOUD_MANAGED_DEFAULT_MINIMUM,
    today: dt.date | None = None,
) -> Report:
    """Check whether the organization is ready for cloud-managed Exchange attributes (see the module doc).

    The sessions are the `targets` of the roles connect, exo (signed in to Exchange Online), exchange
    (Exchange Server directly, or through the jump host when `via_jump_host`; by default when
    the `exchange` target has `via`) and cloudsync-agent when `cloud_sync` says a Cloud Sync agent is in
    use (by default: when `targets` has that role). `minimum` is the Connect floor for cloud-managed
    mailboxes; `today` the date the lifecycle is judged on (by default `targets.now()`: today, or when a
    replay's recordings were made).

    Raises:
        InputError: a malformed `minimum`.
        TargetMissingError: the config has no target for a role this needs (connect, exo, exchange, and
            cloudsync-agent when `cloud_sync`).
        TransportError: a target cannot be reached.
    """
    floor = Version(minimum)
    sessions = _sessions(targets, via_jump_host, cloud_sync)
    on = today or targets.now().date()
    version = _connect_version(sessions.connect, floor, on)
    agent = _cloud_sync_agent(sessions.agent)
    organization = _organization_default(sessions.exo)
    mailboxes, cloud_managed = _synced_mailboxes(sessions.exo)
    drift = _attribute_drift(sessions.exchange, sessions.via_jump_host, cloud_managed)
    checks = (version, agent, organization, mailboxes, drift)
    return Report(runbook=RUNBOOK, subject=organization.evidence.get("organization") or None, checks=checks)


def _sessions(targets: Targets, via_jump_host: bool | None, cloud_sync: bool | None) -> _Sessions:
    """Every session up front, so that a missing target is reported before anything runs."""
    if via_jump_host is None:  # an exchange target reached through its jump host is read with -OnPremises
        via_jump_host = targets.via_jump_host("exchange")
    if cloud_sync is None:
        cloud_sync = targets.has("cloudsync-agent")
    return _Sessions(
        targets.session("connect"), targets.exchange_online(), targets.session("exchange"),
        via_jump_host=via_jump_host, agent=targets.session("cloudsync-agent") if cloud_sync else None,
    )  # fmt: skip


def _where(role: str, session: ExchangeOnline) -> str:
    return f"{role}: {session.target}"


# -- 1. Connect version --------------------------------------------------------------------------------------


def _connect_version(session: Session, floor: Version, today: dt.date) -> Check:
    from psbridge.adsync import check_version

    where = _where("connect", session)
    name = "connect-version"
    try:
        found = check_version(session, cloud_managed_minimum=floor, today=today)
    except RemoteCommandError as exc:
        return unreadable(name, "the Entra Connect Sync version", target=where, error=exc)
    version = found.version
    end = END_OF_SUPPORT.get(version)
    failing = [f"below the cloud-managed minimum {floor}"] if version < floor else []
    warning: list[str] = []
    for note in found.notes:
        if note.id == "exchange-cloud-managed":
            continue  # the floor above, stated once
        if note.severity == "critical":
            failing.append(note.message)
        elif note.severity == "warning":
            warning.append(note.message)
    evidence: dict[str, Any] = {
        "version": str(version), "cloud_managed_minimum": str(floor), "required_minimum": str(REQUIRED_MINIMUM),
        "required_since": REQUIRED_SINCE.isoformat(), "end_of_support": end.isoformat() if end else None,
        "out_of_support": None if end is None else end <= today, "as_of": today.isoformat(),
    }  # fmt: skip
    if failing or warning:
        upgrade_to = max(floor, REQUIRED_MINIMUM)
        return Check(
            name=name, status=Status.FAIL if failing else Status.WARN, target=where, evidence=evidence,
            summary=f"{version}: " + "; ".join(failing + warning),
            fix=f"upgrade Entra Connect Sync to {upgrade_to} or later (from 2.5.79.0 on, the installer is only in "
            "the Entra admin center)",
        )  # fmt: skip
    support = (
        f"supported until {end:%d %b %Y}"
        if end
        else "its end of support is not in psbridge's table (check the live version history)"
    )
    return Check(
        name=name, status=Status.PASS, target=where, evidence=evidence,
        summary=f"{version} meets the cloud-managed minimum {floor} and the required {REQUIRED_MINIMUM}; {support}",
    )  # fmt: skip


# -- 2. Cloud Sync agent -------------------------------------------------------------------------------------


def _cloud_sync_agent(session: Session | None) -> Check:
    from psbridge.cloudsync import get_agent_version

    name = "cloud-sync-agent"
    minimum = CLOUD_SYNC_WRITEBACK_MINIMUM
    if session is None:
        return Check(
            name=name, status=Status.SKIP, evidence={"writeback_minimum": str(minimum)},
            summary="no Cloud Sync agent in use (no cloudsync-agent target, no --cloud-sync)",
        )  # fmt: skip
    where = _where("cloudsync-agent", session)
    try:
        agent = get_agent_version(session)
    except RemoteCommandError as exc:
        return unreadable(name, "the provisioning agent's installation", target=where, error=exc)
    evidence: dict[str, Any] = {
        "present": agent.present, "version": str(agent.version) if agent.version else None,
        "writeback_minimum": str(minimum), "service_name": agent.service_name,
    }  # fmt: skip
    upgrade = f"install or upgrade the Microsoft Entra provisioning agent on that host to {minimum} or later"
    if not agent.present:
        return Check(
            name=name, status=Status.FAIL, target=where, evidence=evidence, fix=upgrade,
            summary="no provisioning agent is installed on the cloudsync-agent host",
        )  # fmt: skip
    if agent.version is None:
        return Check(
            name=name, status=Status.WARN, target=where, evidence=evidence,
            summary="the provisioning agent is installed, but the version of its service program could not be read",
            fix=f"check the agent's version by hand (the file version of InstallDir\\ServiceProcessName under "
            f"{AGENT_REGISTRY_KEY}): Exchange attribute writeback needs {minimum} or later",
        )  # fmt: skip
    if agent.version < minimum:
        return Check(
            name=name, status=Status.FAIL, target=where, evidence=evidence, fix=upgrade,
            summary=f"agent {agent.version} is below {minimum}, the minimum for Exchange attribute writeback",
        )  # fmt: skip
    return Check(
        name=name, status=Status.PASS, target=where, evidence=evidence,
        summary=f"agent {agent.version} meets {minimum}, the minimum for Exchange attribute writeback",
    )  # fmt: skip


# -- 3. organization default ---------------------------------------------------------------------------------


def _organization_default(session: ExchangeOnline) -> Check:
    from psbridge.exchange import get_organization_config
    from psbridge.exchange.functions import TENANT_DEFAULT_WARNING

    where = _where("exo", session)
    name = "organization-default"
    try:
        config = get_organization_config(session)
    except RemoteCommandError as exc:
        return unreadable(name, "the organization config", target=where, error=exc)
    evidence: dict[str, Any] = {
        "organization": config.identity, "property": config.source_property,
        "cloud_managed_by_default": config.cloud_managed_by_default,
    }  # fmt: skip
    if config.cloud_managed_by_default is None:
        return Check(
            name=name, status=Status.WARN, target=where, evidence=evidence,
            summary="Get-OrganizationConfig reports neither ExchangeAttributesCloudManagedByDefault nor "
            "BlockExchangeProvisioningFromOnPremEnabled: the default for new mailboxes is unknown",
            fix="check the tenant default in Exchange Online before relying on it (psbridge exo org-default get)",
        )  # fmt: skip
    if config.cloud_managed_by_default:
        return Check(
            name=name, status=Status.PASS, target=where, evidence={**evidence, "caution": TENANT_DEFAULT_WARNING},
            summary="new dir-synced mailboxes get cloud-managed Exchange attributes by default",
        )  # fmt: skip
    return Check(
        name=name, status=Status.PASS, target=where, evidence=evidence,
        summary="new dir-synced mailboxes keep their Exchange attributes on-premises by default (each mailbox "
        "is switched on its own)",
    )  # fmt: skip


# -- 4. synced mailboxes -------------------------------------------------------------------------------------


def _name(mailbox: Recipient) -> str:
    return mailbox.user_principal_name or mailbox.primary_smtp_address or mailbox.identity


def _named(names: Sequence[str]) -> str:
    more = f" (+{len(names) - SHOWN} more)" if len(names) > SHOWN else ""
    return ", ".join(names[:SHOWN]) + more


def _synced_mailboxes(session: ExchangeOnline) -> tuple[Check, list[Mailbox] | None]:
    """The check, and the cloud-managed mailboxes (None when they could not be listed)."""
    from psbridge.exchange import iter_mailboxes, opath_filter

    where = _where("exo", session)
    name = "synced-mailboxes"
    try:
        synced = list(iter_mailboxes(session, opath=opath_filter(_DIR_SYNCED, True)))
    except RemoteCommandError as exc:
        return unreadable(name, "the dir-synced mailboxes", target=where, error=exc), None
    cloud = [m for m in synced if m.is_exchange_cloud_managed]
    stragglers = [_name(m) for m in synced if not m.is_exchange_cloud_managed]
    evidence: dict[str, Any] = {
        "dir_synced": len(synced),
        "cloud_managed": len(cloud),
        "not_cloud_managed": len(stragglers),
    }
    if not synced:
        return Check(
            name=name, status=Status.SKIP, target=where, evidence=evidence,
            summary="no dir-synced mailboxes: there is nothing to switch",
        ), cloud  # fmt: skip
    if cloud and stragglers:
        return Check(
            name=name, status=Status.WARN, target=where, evidence={**evidence, "stragglers": stragglers},
            summary=f"mixed: {len(cloud)} of {len(synced)} dir-synced mailboxes are cloud-managed; not yet: "
            f"{_named(stragglers)}",
            fix="switch the rest, each a sync cycle plus 24 hours after its last on-premises Set-RemoteMailbox: "
            "psbridge exo cloud-managed set --identity ID --enable --yes, or many at once with psbridge exo rollout",
        ), cloud  # fmt: skip
    state = f"all {len(synced)}" if cloud else f"none of the {len(synced)}"
    return Check(
        name=name, status=Status.PASS, target=where, evidence=evidence,
        summary=f"{state} dir-synced mailboxes are cloud-managed",
    ), cloud  # fmt: skip


# -- 5. attribute drift --------------------------------------------------------------------------------------


def address_drift(online: Recipient, on_premises: Recipient) -> dict[str, Any] | None:
    """How a cloud mailbox's email addresses differ from its on-premises remote mailbox's; None when they agree.

    The address sets are compared case-insensitively (so `SMTP:` and `smtp:` are the same entry), and the
    primary SMTP addresses on their own.
    """
    cloud = {a.casefold(): a for a in online.email_addresses}
    local = {a.casefold(): a for a in on_premises.email_addresses}
    cloud_primary = online.primary_smtp_address or primary_smtp(online.email_addresses) or ""
    local_primary = on_premises.primary_smtp_address or primary_smtp(on_premises.email_addresses) or ""
    only_cloud = sorted(cloud[k] for k in cloud.keys() - local.keys())
    only_local = sorted(local[k] for k in local.keys() - cloud.keys())
    if not only_cloud and not only_local and cloud_primary.casefold() == local_primary.casefold():
        return None
    return {
        "mailbox": _name(online), "only_in_exchange_online": only_cloud, "only_on_premises": only_local,
        "primary_exchange_online": cloud_primary, "primary_on_premises": local_primary,
    }  # fmt: skip


def _attribute_drift(session: Session, via_jump_host: bool, cloud_managed: list[Mailbox] | None) -> Check:
    from psbridge.exchange import get_server_remote_mailbox

    where = _where("exchange", session)
    name = "attribute-drift"
    if cloud_managed is None:
        return Check(
            name=name, status=Status.SKIP, target=where, summary="not checked: the mailboxes could not be listed"
        )
    if not cloud_managed:
        return Check(name=name, status=Status.SKIP, target=where, summary="no cloud-managed mailbox to compare")
    drifted: list[dict[str, Any]] = []
    missing: list[str] = []
    for mailbox in cloud_managed:
        try:
            remote = get_server_remote_mailbox(session, identity=_name(mailbox), via_jump_host=via_jump_host)
        except ObjectNotFoundError:
            missing.append(_name(mailbox))
            continue
        except RemoteCommandError as exc:  # the same error would meet every other mailbox: stop here
            return unreadable(name, f"the remote mailbox of {_name(mailbox)}", target=where, error=exc)
        drift = address_drift(mailbox, remote)
        if drift is not None:
            drifted.append(drift)
    evidence: dict[str, Any] = {"compared": len(cloud_managed), "drifted": drifted, "no_remote_mailbox": missing}
    if not drifted and not missing:
        return Check(
            name=name, status=Status.PASS, target=where, evidence=evidence,
            summary=f"every cloud-managed mailbox ({len(cloud_managed)}) has the email addresses of its on-premises "
            "remote mailbox",
        )  # fmt: skip
    of = f"of {len(cloud_managed)} cloud-managed mailboxes"
    found = []
    if drifted:
        names = _named([d["mailbox"] for d in drifted])
        found.append(f"{len(drifted)} {of} have other email addresses than their on-premises remote mailbox: {names}")
    if missing:
        found.append(f"{len(missing)} {of} have no remote mailbox on Exchange Server: {_named(missing)}")
    return Check(
        name=name, status=Status.WARN, target=where, evidence=evidence, summary="; ".join(found),
        fix="on-premises AD still holds other Exchange attributes: switching a mailbox back (Set-Mailbox "
        "-IsExchangeCloudManaged $false) lets the next sync overwrite the cloud values from AD. Bring AD in line "
        "(Set-RemoteMailbox -EmailAddresses on Exchange Server) or write them back with Cloud Sync's Exchange "
        f"attribute writeback (agent {CLOUD_SYNC_WRITEBACK_MINIMUM} or later)",
    )  # fmt: skip
