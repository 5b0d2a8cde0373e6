"""Am I ready to replace Entra Connect Sync with Cloud Sync? (`psbridge check cloud-sync-migration`)

Checks, in the order they run, across the Connect server (`connect`), a domain controller (`dc`), the
provisioning agent's host (`cloudsync-agent`) and Microsoft Graph app-only (`graph`, optional):

1. `configuration-backup` [connect]: a fresh export of Connect's configuration. With `backup` (a local
   folder) one is exported now: Get-ADSyncServerConfiguration to `backup_remote_path` on the server,
   zipped there, copied into the folder verified by SHA-256 and the remote zip removed
   (`psbridge.adsync.get_server_configuration`, as `psbridge adsync export-config --fetch-to` does); it
   passes with the copy's path and checksum. Without it, the newest `psbridge-adsync-export-*.zip` in
   `backup_dir` (the name both of those give the copy) is judged by its modification time: none, or
   none newer than `max_age` (7 days), warns. With neither folder there is nothing to judge: a warning.
2. `scoping-ou <DN>` [dc], one per OU given (`psbridge.ad.check_ous`): a syntactically valid distinguished
   name that exists in AD; the Cloud Sync portal cannot browse AD, so a mistyped OU fails, naming its
   nearest existing parent (one lookup per parent OU, walking up the DN: it shows which part is wrong; no
   wrapper lists an OU's children, so no sibling is suggested by name) and how to list the OUs there. Only
   the OUs given are checked: Connect's own OU filter (its AD connector's `ConnectorPartitionScope`, whose
   shape only a third party shows) is read by `psbridge.adsync.get_migration_facts`, not here
   (docs/adsync.md, Connectors and run history). Each OU is placed in one of the domain partitions
   Connect's AD connectors select (evidence `connect_partition`).
3. `provisioning-agent` [cloudsync-agent]: the Microsoft Entra provisioning agent is installed and registered
   on that host (Get-AADCloudSyncToolsInfo answers; it refuses on a host without the agent's registry key or
   TenantID), at `agent_minimum` or later: 1.1.1107.0 by default, the agent Exchange hybrid writeback needs
   (verified; docs/cloudsync.md, Features and versions), the highest floor a Connect Sync feature depends on;
   no public source gives a general support floor, so it is configurable. The version is read on the agent
   host (`cloudsync.get_agent_version`: the service executable's file version, found through the agent's
   registry key): Get-AADCloudSyncToolsInfo has no version property, and Graph's on-premises agents (beta
   `onPremisesPublishingProfiles/{id}/agents`) have none and allow no application permission. When the host
   cannot tell, `agent_version` gives it; without either the check warns and says where to read it.
4. `deletion-threshold` [connect, graph]: Connect's export deletion threshold (the global settings'
   mirror, what `get_export_deletion_threshold` reads) against the Cloud Sync configuration's
   (`psbridge.cloudsync.graph.get_deletion_threshold`) for each AD2AADProvisioning job of Connect's AD
   domains (or `job_id`). Cloud Sync laxer (off where Connect's is on, or a higher value) warns, with
   both values. A domain without a Cloud Sync configuration is compared with the defaults a new one
   gets (on, 500). Without a Graph client the comparison is skipped, saying how to configure one.
5. `plan`: what will change: the OUs moving into Cloud Sync's scope, the deletion threshold that applies
   afterwards, the schedule (Connect's effective interval against the Cloud Sync job's, 2 minutes in
   Microsoft's example job), and the Connect features in use with their Cloud Sync counterpart where
   docs/cloudsync.md (Features and versions) names one. A feature in use that no source names a
   counterpart for warns (unverified either way): check Microsoft's documentation before migrating.

A target that answers with an error is a `fail` check naming it (a Connect server that cannot be read
is one `connect-configuration` check in place of the last two); an unreachable one raises
TransportError (exit 3); bad arguments raise InputError (exit 2).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from psbridge import ad, adsync, cloudsync
from psbridge.ad.scope import domain_fqdn
from psbridge.adsync import ExportDeletionThreshold
from psbridge.adsync.export import export_entries
from psbridge.cloudsync import graph as cloud
from psbridge.cloudsync.models import AGENT_REGISTRY_KEY, DEFAULT_DELETE_THRESHOLD
from psbridge.defaults import AGENT_MINIMUM, MAX_BACKUP_AGE, REMOTE_EXPORT_PATH
from psbridge.errors import InputError, PrerequisiteMissingError, RemoteCommandError, UnexpectedOutputError
from psbridge.runbooks.report import Check, Report, Status, failed, unreadable
from psbridge.versions import Version

if TYPE_CHECKING:
    from psbridge.adsync import Connector, GlobalSettings, Scheduler
    from psbridge.cloudsync import DeletionThreshold
    from psbridge.graph.client import GraphClient
    from psbridge.session import Session
    from psbridge.targets import Targets

T = TypeVar("T")

RUNBOOK = "cloud-sync-migration"
EXPORT_GLOB = "psbridge-adsync-export-*.zip"
PROVISIONING_TEMPLATE = "AD2AADProvisioning"
CLOUD_SYNC_EXAMPLE_INTERVAL = dt.timedelta(minutes=2)  # PT2M, Microsoft's example job (docs/cloudsync.md)

# Connect features in use (global settings, docs/adsync.md) and their Cloud Sync counterpart as
# docs/cloudsync.md (Features and versions) names it; None: no public source names one (unverified).
_FEATURES: dict[str, tuple[str, str | None]] = {
    "password_hash_sync": ("password hash sync", "the AD2AADPasswordHash job"),
    "exchange_hybrid": (
        "Exchange hybrid writeback",
        "the AAD2ADExchangeHybridWriteback job, agent 1.1.1107.0 or later "
        "(https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/exchange-hybrid)",
    ),
    "group_writeback": (
        "group writeback",
        "group provisioning to AD, agent 1.1.1370.0 or later, a preview when introduced",
    ),
    "user_writeback": ("user writeback", None),
    "device_writeback": ("device writeback", None),
}
_FLAGS: dict[str, str] = {  # other global parameters that are on when "True" (docs/adsync.md)
    "Microsoft.OptionalFeature.DeviceWriteUp": "device write-up",
    "Microsoft.OptionalFeature.DirectoryExtension": "directory extensions",
    "Microsoft.OptionalFeature.ExchangeMailPublicFolder": "Exchange mail public folders",
    "Microsoft.OptionalFeature.FilterAAD": "app and attribute filtering",
    "Microsoft.OptionalFeature.GroupFiltering": "group-based filtering",
    "Microsoft.UserSignIn.DesktopSsoEnabled": "seamless single sign-on",
}


def check_cloud_sync_migration(
    targets: Targets,
    *,
    ous: Sequence[str] = (),
    backup: str | os.PathLike[str] | None = None,
    backup_remote_path: str = REMOTE_EXPORT_PATH,
    backup_dir: str | os.PathLike[str] | None = None,
    max_age: dt.timedelta = MAX_BACKUP_AGE,
    agent_minimum: Version | str = AGENT_MINIMUM,
    agent_version: Version | str | None = None,
    job_id: str | None = None,
    now: dt.datetime | None = None,
) -> Report:
    """The preflight for replacing Entra Connect Sync with Cloud Sync (see the module doc for each check).

    The sessions are the `targets` of the roles connect, dc and cloudsync-agent; Cloud Sync's side is read
    from Microsoft Graph when the run has one (`targets.has_graph()`), else that comparison is skipped.

    Args:
        ous: the OUs the Cloud Sync configuration will be scoped to, as distinguished names.
        backup: export Connect's configuration now, into this local folder.
        backup_dir: without `backup`, the local folder earlier exports are kept in.
        agent_version: the provisioning agent's version, when its host cannot tell (by default psbridge
            reads it there: `cloudsync.get_agent_version`).
        job_id: the Cloud Sync job to compare; by default the AD2AADProvisioning jobs of Connect's domains.
        now: when the backup's age is measured (default: now; the exports are local files, so even a
            replayed run measures them against the clock).

    Raises:
        InputError: both `backup` and `backup_dir`, a `max_age` that is not positive, a folder that is a
            file, or a malformed version.
        TargetMissingError: the config has no target for connect, dc or cloudsync-agent.
        TransportError: a target cannot be reached.
    """
    minimum = Version(agent_minimum)
    given_version = None if agent_version is None else Version(agent_version)
    if backup is not None and backup_dir is not None:
        raise InputError("give a folder to export a backup into or one to look for exports in, not both")
    if max_age <= dt.timedelta(0):
        raise InputError("the backup's maximum age must be positive")
    for folder in (backup, backup_dir):
        if folder is not None and Path(folder).exists() and not Path(folder).is_dir():
            raise InputError(f"{folder} is not a folder")
    connect, dc, agent = targets.session("connect"), targets.session("dc"), targets.session("cloudsync-agent")
    graph = targets.graph() if targets.has_graph() else None
    state = _read_connect(connect)
    partitions = () if isinstance(state, RemoteCommandError) else state.partitions
    checks = [_backup(connect, backup, backup_remote_path, backup_dir, max_age, now or dt.datetime.now(dt.UTC))]
    scope = [_scoping_ou(dc, dn, partitions) for dn in dict.fromkeys(o.strip() for o in ous if o.strip())]
    checks += scope or [_no_scoping_ou()]
    checks.append(_agent(agent, minimum, given_version))
    if isinstance(state, RemoteCommandError):
        checks.append(_unreadable("connect-configuration", "connect", "Connect's configuration", state))
    else:
        cloud_side = _cloud_side(graph, partitions, job_id)
        checks += [_deletion_threshold(state, cloud_side), _plan(state, scope, cloud_side)]
    return Report(runbook=RUNBOOK, subject=", ".join(domain_fqdn(p) for p in partitions) or None, checks=tuple(checks))


@dataclasses.dataclass(frozen=True)
class _Connect:
    """What the Connect server says: its global settings, its scheduler, the domain partitions it syncs."""

    settings: GlobalSettings
    scheduler: Scheduler
    partitions: tuple[str, ...]


def _read_connect(connect: Session) -> _Connect | RemoteCommandError:
    return _attempt(
        lambda: _Connect(
            adsync.get_global_settings(connect),
            adsync.get_scheduler(connect),
            _domain_partitions(adsync.get_connector(connect)),
        )
    )


def _attempt(call: Callable[[], T]) -> T | RemoteCommandError:
    """What `call` returns, or the error the target answered with: a finding, not a failure to look."""
    try:
        return call()
    except RemoteCommandError as exc:
        return exc


def _unreadable(name: str, target: str, what: str, exc: RemoteCommandError) -> Check:
    fix = f"fix what the {target} target answered (above), then run the check again"
    return unreadable(name, what, target=target, error=exc, fix=fix)


# -- 1. the configuration backup -------------------------------------------------------------------


def _backup(
    connect: Session,
    backup: str | os.PathLike[str] | None,
    remote_path: str,
    backup_dir: str | os.PathLike[str] | None,
    max_age: dt.timedelta,
    now: dt.datetime,
) -> Check:
    name = "configuration-backup"
    export_now = "export one now with --backup DIR (or psbridge adsync export-config --path PATH --fetch-to DIR)"
    if backup is not None:
        export = _attempt(lambda: adsync.get_server_configuration(connect, path=remote_path, fetch_to=backup))
        if isinstance(export, RemoteCommandError):
            return failed(
                name, f"the export failed: {export}", target="connect", error=export, remote_path=remote_path,
                fix="fix what the Connect server answered (above), then export again",
            )  # fmt: skip
        return Check(
            name=name, status=Status.PASS, target="connect",
            summary=f"exported now ({export.file_count} files) to {export.local_path}, SHA-256 {export.sha256}",
            evidence={
                "local_path": str(export.local_path), "sha256": export.sha256, "remote_path": export.remote_path,
                "file_count": export.file_count, "remote_zip_removed": export.zip_removed,
            },
        )  # fmt: skip
    if backup_dir is None:
        return Check(
            name=name, status=Status.WARN, target="connect",
            summary="no backup looked at: neither a folder to export into nor one holding exports was given",
            fix=f"{export_now}, or give the folder your exports are kept in with --backup-dir DIR",
        )  # fmt: skip
    folder = Path(backup_dir)
    exports = sorted(folder.glob(EXPORT_GLOB), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    if not exports:
        return Check(
            name=name, status=Status.WARN, target="connect", evidence={"backup_dir": str(folder)},
            summary=f"no configuration export ({EXPORT_GLOB}) in {folder}", fix=export_now,
        )  # fmt: skip
    newest = exports[-1]
    try:
        entries = export_entries(newest)
    except UnexpectedOutputError as exc:  # an empty, truncated or damaged file is no backup, however fresh
        return failed(name, f"the newest export is not a usable backup: {exc}", target="connect", error=exc,
                      path=str(newest), fix=export_now)  # fmt: skip
    written = dt.datetime.fromtimestamp(newest.stat().st_mtime, dt.UTC)
    age_days = round((now - written) / dt.timedelta(days=1), 1)
    limit = max_age / dt.timedelta(days=1)
    evidence: dict[str, Any] = {
        "path": str(newest), "sha256": hashlib.sha256(newest.read_bytes()).hexdigest(),
        "written": written.isoformat(timespec="seconds"), "age_days": age_days, "max_age_days": limit,
        "files": len(entries),
    }  # fmt: skip
    if now - written > max_age:
        return Check(
            name=name, status=Status.WARN, target="connect", evidence=evidence, fix=export_now,
            summary=f"the newest export, {newest.name}, is {age_days} days old (more than {limit:g})",
        )  # fmt: skip
    return Check(
        name=name, status=Status.PASS, target="connect", evidence=evidence,
        summary=f"{newest.name}, {age_days} days old (at most {limit:g}), {len(entries)} files that read back, "
        f"SHA-256 {evidence['sha256']}",
    )  # fmt: skip


# -- 2. the scoping OUs ----------------------------------------------------------------------------


def _no_scoping_ou() -> Check:
    return Check(
        name="scoping-ou", status=Status.SKIP, target="dc",
        summary="no scoping OU given: give each OU the Cloud Sync configuration will be scoped to with --ou DN",
    )  # fmt: skip


def _scoping_ou(dc: Session, given: str, partitions: Sequence[str]) -> Check:
    name = f"scoping-ou {given}"
    result = _attempt(lambda: ad.check_ous(dc, dns=[given], partitions=partitions)[0])
    if isinstance(result, RemoteCommandError):
        return _unreadable(name, "dc", f"the OU {given}", result)
    if not result.valid:
        return Check(
            name=name, status=Status.FAIL, target="dc", summary=result.problem or "",
            evidence={"ou": given, "valid": False},
            fix="write the OU as a distinguished name, as its distinguishedName attribute shows it "
            "(e.g. OU=Sales,DC=contoso,DC=com)",
        )  # fmt: skip
    dn, partition, nearest = result.given, result.partition, result.nearest_existing
    evidence: dict[str, Any] = {"ou": dn, "valid": True, "exists": result.exists, "connect_partition": partition}
    if not result.exists:
        where = f" under {nearest}" if nearest else ""
        return Check(
            name=name, status=Status.FAIL, target="dc", evidence={**evidence, "nearest_existing": nearest},
            summary=f"no such OU in AD: {dn}" + (f" (the nearest existing container is {nearest})" if nearest else ""),
            fix=f"correct the OU's name{where} before it goes into the Cloud Sync scoping filter (the portal cannot "
            f"browse AD): list the OUs there with Get-ADOrganizationalUnit -SearchBase '{nearest or 'DOMAIN DN'}' "
            "-SearchScope OneLevel, and copy the distinguishedName",
        )  # fmt: skip
    inside = f", in the domain partition {partition} that Connect syncs" if partition else ""
    return Check(
        name=name, status=Status.PASS, target="dc", summary=f"exists in AD{inside}",
        evidence={**evidence, "distinguished_name": result.distinguished_name},
    )  # fmt: skip


# -- 3. the provisioning agent ---------------------------------------------------------------------


def _agent(agent: Session, minimum: Version, given: Version | None) -> Check:
    name = "provisioning-agent"
    try:
        info = cloudsync.get_info(agent)
    except PrerequisiteMissingError as exc:
        return failed(
            name, f"no provisioning agent: {exc}", target="cloudsync-agent", error=exc, minimum=str(minimum),
            fix=f"install and register the Microsoft Entra provisioning agent ({minimum} or later) on this host, "
            "or point the cloudsync-agent target at a host that has it",
        )  # fmt: skip
    except RemoteCommandError as exc:
        return _unreadable(name, "cloudsync-agent", "the provisioning agent's state", exc)
    evidence: dict[str, Any] = {
        "agent_present": info.agent_present, "service": info.agent_service_name, "tenant_id": info.tenant_id,
        "minimum": str(minimum), "version": None if given is None else str(given),
    }  # fmt: skip
    if info.agent_present is False:  # the module imported, yet says the agent is not there
        return Check(
            name=name, status=Status.FAIL, target="cloudsync-agent", evidence=evidence,
            summary="AADCloudSyncTools reports no provisioning agent on this host",
            fix=f"install and register the Microsoft Entra provisioning agent ({minimum} or later) on this host",
        )  # fmt: skip
    where = (
        f"the file version of InstallDir\\ServiceProcessName under {AGENT_REGISTRY_KEY} on the agent host (or "
        "the agent's entry in Programs and Features)"
    )
    source = "given (--agent-version)"
    if given is None:
        try:
            given, source = cloudsync.get_agent_version(agent).version, "read from the agent host"
        except RemoteCommandError:
            given = None
        evidence["version"] = None if given is None else str(given)
    if given is None:
        return Check(
            name=name, status=Status.WARN, target="cloudsync-agent", evidence={**evidence, "read_it_from": where},
            summary=f"an agent is installed and registered; its version is not known to psbridge (it needs "
            f"{minimum} or later)",
            fix=f"read the version from {where}, then run again with --agent-version VERSION",
        )  # fmt: skip
    evidence["version_source"] = source
    shown = f"{given} (as given)" if source.startswith("given") else str(given)
    if given < minimum:
        return Check(
            name=name, status=Status.FAIL, target="cloudsync-agent", evidence=evidence,
            summary=f"agent {shown} is older than {minimum}",
            fix=f"upgrade the provisioning agent to {minimum} or later (download it from the Entra admin center)",
        )  # fmt: skip
    return Check(
        name=name, status=Status.PASS, target="cloudsync-agent", evidence=evidence,
        summary=f"an agent is installed and registered, version {shown}, at least {minimum}",
    )  # fmt: skip


# -- 4. the deletion thresholds --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Job:
    id: str
    domain: str
    threshold: DeletionThreshold
    interval: dt.timedelta | None


@dataclasses.dataclass(frozen=True)
class _CloudSide:
    """The Cloud Sync jobs compared, read over Graph; `error` when Graph answered with one, `read` False
    without a Graph client."""

    read: bool
    jobs: tuple[_Job, ...] = ()
    error: RemoteCommandError | None = None


def _cloud_side(graph: GraphClient | None, partitions: Sequence[str], job_id: str | None) -> _CloudSide:
    if graph is None:
        return _CloudSide(read=False)
    domains = {domain_fqdn(p).casefold() for p in partitions}
    template = None if job_id else PROVISIONING_TEMPLATE
    try:
        chosen = [
            s for s in cloud.get_job_settings(graph, job_id=job_id, template=template).settings
            if job_id or (s.get("DomainFQDN") or "").casefold() in domains
        ]  # fmt: skip
        jobs = tuple(
            _Job(
                id=s.id,
                domain=s.get("DomainFQDN") or "",
                interval=cloud.get_job_schedule(graph, job_id=s.id).schedules[0].interval,
                threshold=cloud.get_deletion_threshold(graph, job_id=s.id),
            )
            for s in chosen
        )
    except RemoteCommandError as exc:
        return _CloudSide(read=True, error=exc)
    return _CloudSide(read=True, jobs=jobs)


def _connect_threshold(settings: GlobalSettings) -> ExportDeletionThreshold:
    """Connect's threshold as `adsync.get_export_deletion_threshold` reads it, from settings already read."""
    return ExportDeletionThreshold(
        enabled=settings.export_deletion_threshold_enabled, threshold=settings.export_deletion_threshold
    )


def laxer(connect: ExportDeletionThreshold, cloud_enabled: bool, cloud_value: int) -> bool | None:
    """Whether Cloud Sync's threshold would let more deletions through than Connect's; None when Connect's is unknown.

    Off is laxer than on; two thresholds that are on compare by value (Cloud Sync holds a run at
    `value - 1` deletions, docs/cloudsync.md, Jobs, quarantine and schedules, so an equal value is not laxer).
    """
    if connect.enabled is None or (connect.enabled and connect.threshold is None):
        return None
    if not connect.enabled:
        return False
    assert connect.threshold is not None
    return not cloud_enabled or cloud_value > connect.threshold


def _deletion_threshold(state: _Connect, cloud_side: _CloudSide) -> Check:
    name, target = "deletion-threshold", "connect, graph"
    connect = _connect_threshold(state.settings)
    evidence: dict[str, Any] = {
        "connect_enabled": connect.enabled, "connect_threshold": connect.threshold, "connect_source": connect.source,
    }  # fmt: skip
    if not cloud_side.read:
        return Check(
            name=name, status=Status.SKIP, target="connect", evidence=evidence,
            summary="Cloud Sync's threshold not read: no Microsoft Graph credentials configured",
            fix="configure Graph app-only credentials ([graph] in the config file, or PSBRIDGE_GRAPH_TENANT_ID, "
            "PSBRIDGE_GRAPH_CLIENT_ID and a certificate or secret) with Synchronization.ReadWrite.All",
        )  # fmt: skip
    if cloud_side.error is not None:
        return _unreadable(name, "graph", "the Cloud Sync jobs and their thresholds", cloud_side.error)
    rows = _thresholds_after(state, cloud_side)
    evidence["cloud_sync"] = rows
    verdicts = [laxer(connect, row["enabled"], row["threshold"]) for row in rows]
    if any(v is None for v in verdicts):
        return Check(
            name=name, status=Status.WARN, target=target, evidence=evidence,
            summary="Connect's export deletion threshold is not in its global settings: cannot compare",
            fix="read it with Get-ADSyncExportDeletionThreshold on the Connect server (an interactive sign-in)",
        )  # fmt: skip
    connect_text = f"{connect.threshold}" if connect.enabled else "off"
    shown = [f"{row['job'] or 'a new configuration (defaults)'}: {_threshold_text(row)}" for row in rows]
    lax = [text for text, bad in zip(shown, verdicts, strict=True) if bad]
    if lax:
        return Check(
            name=name, status=Status.WARN, target=target, evidence=evidence,
            summary=f"Cloud Sync would be laxer than Connect ({connect_text}): {'; '.join(lax)}",
            fix=f"before the switch, set the Cloud Sync threshold to {connect.threshold} or less: psbridge cloudsync "
            f"deletion-threshold set --job-id JOB --value {connect.threshold} --enable --yes",
        )  # fmt: skip
    return Check(
        name=name, status=Status.PASS, target=target, evidence=evidence,
        summary=f"Cloud Sync is as strict as Connect ({connect_text}) or stricter: {'; '.join(shown)}",
    )  # fmt: skip


def _thresholds_after(state: _Connect, cloud_side: _CloudSide) -> list[dict[str, Any]]:
    """Cloud Sync's threshold per job compared; Microsoft's defaults for a new configuration when there is none."""
    rows = [
        {"job": job.id, "domain": job.domain, "enabled": job.threshold.effective_enabled,
         "threshold": job.threshold.effective_value, "configured": job.threshold.configured}
        for job in cloud_side.jobs
    ]  # fmt: skip
    domains = ", ".join(map(domain_fqdn, state.partitions)) or None
    return rows or [
        {"job": None, "domain": domains, "enabled": True, "threshold": DEFAULT_DELETE_THRESHOLD, "configured": False}
    ]


def _threshold_text(row: dict[str, Any]) -> str:
    return f"{row['threshold']}" if row["enabled"] else "off"


# -- 5. the plan -----------------------------------------------------------------------------------


def _plan(state: _Connect, scope: Sequence[Check], cloud_side: _CloudSide) -> Check:
    moving, unknown = _features(state.settings)
    ous = [c.evidence["ou"] for c in scope if c.status == Status.PASS]
    jobs = cloud_side.jobs
    intervals = sorted({j.interval for j in jobs if j.interval is not None})
    before = state.scheduler.currently_effective_sync_cycle_interval
    after = intervals[0] if intervals else CLOUD_SYNC_EXAMPLE_INTERVAL
    evidence: dict[str, Any] = {
        "ous_moving": ous,
        "connect_partitions": list(state.partitions),
        "deletion_threshold_after": _thresholds_after(state, cloud_side),
        "interval_minutes_before": _minutes(before),
        "interval_minutes_after": _minutes(after),
        "interval_after_source": "the Cloud Sync job's schedule" if intervals else "Microsoft's example job (PT2M)",
        "features_moving": moving,
        "features_without_counterpart": unknown,
        "after_the_switch": "turn off Connect Sync's tenant-wide accidental-deletion prevention, which also holds "
        "back Cloud Sync's deletes: psbridge cloudsync disable-dirsync-deletion-prevention --tenant-id TENANT --yes "
        "(AADCloudSyncTools signed in as a Global Administrator)",
    }  # fmt: skip
    summary = (
        f"{len(ous)} OU(s) move to Cloud Sync, which runs every {_every(after)} (Connect: every {_every(before)}); "
        f"{len(moving)} feature(s) in use have a Cloud Sync counterpart"
    )
    if unknown:
        return Check(
            name="plan", status=Status.WARN, target="connect", evidence=evidence,
            summary=f"{summary}; in use without a known Cloud Sync counterpart: {', '.join(unknown)}",
            fix="check Microsoft's Cloud Sync documentation for these before migrating: "
            "https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/what-is-cloud-sync",
        )  # fmt: skip
    return Check(name="plan", status=Status.PASS, target="connect", evidence=evidence, summary=summary)


def _features(settings: GlobalSettings) -> tuple[dict[str, str], list[str]]:
    """Connect features in use: those with a Cloud Sync counterpart (feature -> counterpart), and the rest."""
    moving: dict[str, str] = {}
    unknown: list[str] = []
    for field, (label, counterpart) in _FEATURES.items():
        if getattr(settings, field):
            if counterpart is None:
                unknown.append(label)
            else:
                moving[label] = counterpart
    method = settings.sign_on_method
    if method and not settings.password_hash_sync:
        unknown.append(f"sign-in method {method}")
    unknown += [label for name, label in _FLAGS.items() if (settings.get(name) or "").strip().lower() == "true"]
    return moving, unknown


def _minutes(span: dt.timedelta | None) -> float | None:
    return None if span is None else round(span / dt.timedelta(minutes=1), 2)


def _every(span: dt.timedelta | None) -> str:
    return "? minutes" if span is None else f"{_minutes(span):g} minutes"


# -- distinguished names ---------------------------------------------------------------------------


def _domain_partitions(connectors: Sequence[Connector]) -> tuple[str, ...]:
    """The domain partitions Connect's AD connectors select, e.g. DC=contoso,DC=example."""
    found = (p.dn for c in connectors if c.type.casefold() == "ad" for p in c.partitions if p.selected and p.is_domain)
    return tuple(dict.fromkeys(d for d in found if d))
