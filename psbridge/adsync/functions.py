"""Entra Connect Sync (the ADSync module), on the Connect server's Windows PowerShell 5.1 endpoint.

Every wrapper runs a packaged script from `psbridge/ps/adsync/` that imports ADSync and projects what
the cmdlet returns to flat objects (nested ADSync collections lose depth over remoting); the two listings, run
history and connectors, come as one JSON page each (psbridge.pages; docs/adsync.md). A host
without the module raises PrerequisiteMissingError. The cmdlets that need an interactive sign-in live
in `psbridge.adsync.interactive`.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from pathlib import Path
from typing import Any, Literal, overload

from psbridge import logs
from psbridge.adsync._support import (
    as_policy_type,
    guid,
    invoke,
    invoke_all,
    invoke_one,
    positive_timespan,
    timespan_text,
    validate_one,
)
from psbridge.adsync.cycle import IdleWatch
from psbridge.adsync.export import export_entries
from psbridge.adsync.models import (
    AutoUpgrade,
    Connector,
    ConnectorRunStatus,
    ExportDeletionThreshold,
    GlobalParameter,
    GlobalSettings,
    PolicyType,
    RunProfileResult,
    Scheduler,
    ServerConfigurationExport,
    SyncCycleStart,
    VersionCheck,
)
from psbridge.adsync.policy import notes_for
from psbridge.command import Command, ErrorRule
from psbridge.defaults import CLOUD_MANAGED_DEFAULT_MINIMUM, REQUIRED_MINIMUM
from psbridge.errors import ConnectorBusyError, InputError, PsbridgeError, UnexpectedOutputError
from psbridge.files import fetch
from psbridge.models import Change, Planned
from psbridge.pages import read_page
from psbridge.session import Session
from psbridge.types import format_timespan
from psbridge.versions import Version
from psbridge.wait import Clock, Sleep, TimedOut, poll

# `Connector: <name> is busy.` from Start-ADSyncSyncCycle (docs/adsync.md, Sync cycle): any connector can be
# the busy one.
_BUSY = (
    ErrorRule(ConnectorBusyError, message_contains=" is busy"),
    ErrorRule(ConnectorBusyError, error_id_prefix="System.InvalidOperationException: Connector:"),
)


# -- global settings and version ------------------------------------------------------------------------


def get_global_settings(session: Session) -> GlobalSettings:
    """Every global parameter of the sync engine, with typed fields; wraps Get-ADSyncGlobalSettings."""
    command = Command.script("adsync/Get-GlobalParameters.ps1")
    params = invoke_all(session, command, GlobalParameter)
    return validate_one(GlobalSettings, {"parameters": params}, session, command)


def get_version(session: Session) -> Version:
    """The server configuration version (`Microsoft.Synchronize.ServerConfigurationVersion`)."""
    return get_global_settings(session).server_configuration_version


def check_version(
    session: Session,
    *,
    minimum: Version | str = REQUIRED_MINIMUM,
    cloud_managed_minimum: Version | str = CLOUD_MANAGED_DEFAULT_MINIMUM,
    today: dt.date | None = None,
    settings: GlobalSettings | None = None,
) -> VersionCheck:
    """Compare the installed version with a minimum, and add Microsoft's lifecycle notes.

    `cloud_managed_minimum` is the floor for cloud-managed Exchange attributes, which public sources
    disagree on (2.5.76.0 or 2.5.190.0); it defaults to the stricter one. `settings`, the server's global
    settings when the caller has read them already (`get_global_settings`), saves reading them again.
    """
    minimum = Version(minimum)
    cloud_floor = Version(cloud_managed_minimum)
    version = (settings or get_global_settings(session)).server_configuration_version
    return VersionCheck(
        target=session.target,
        version=version,
        minimum=minimum,
        meets_minimum=version >= minimum,
        cloud_managed_minimum=cloud_floor,
        notes=tuple(notes_for(version, today=today or dt.date.today(), cloud_managed_minimum=cloud_floor)),
    )


def get_export_deletion_threshold(session: Session) -> ExportDeletionThreshold:
    """The accidental-deletion threshold as mirrored in the global settings; no interactive sign-in.

    Get-ADSyncExportDeletionThreshold itself needs `-AADUserName` (an interactive sign-in), so this
    reads `Microsoft.OptionalFeature.ExportDeletionThreshold*` instead, which may lag the cloud value.
    """
    settings = get_global_settings(session)
    return ExportDeletionThreshold(
        enabled=settings.export_deletion_threshold_enabled, threshold=settings.export_deletion_threshold
    )


# -- scheduler and sync cycles --------------------------------------------------------------------------


def get_scheduler(session: Session) -> Scheduler:
    """The sync scheduler's settings and state; wraps Get-ADSyncScheduler."""
    return invoke_one(session, Command.script("adsync/Get-Scheduler.ps1"), Scheduler)


def set_scheduler(
    session: Session,
    *,
    sync_cycle_enabled: bool | None = None,
    customized_sync_cycle_interval: dt.timedelta | str | None = None,
    next_sync_cycle_policy_type: PolicyType | str | None = None,
    purge_run_history_interval: dt.timedelta | str | None = None,
    maintenance_enabled: bool | None = None,
    dry_run: bool = False,
) -> Change[Scheduler]:
    """Bring scheduler settings to the given values; wraps Set-ADSyncScheduler, sending only what differs.

    SchedulerSuspended and staging mode are not offered: Microsoft does not support changing them
    from automation. `after` is `before` with the changes applied; the server recomputes the
    effective interval itself.

    Raises:
        InputError: an interval that is not positive, or shorter than AllowedSyncCycleInterval.
    """
    desired: dict[str, Any] = {
        "sync_cycle_enabled": sync_cycle_enabled,
        "customized_sync_cycle_interval": positive_timespan(
            customized_sync_cycle_interval, "customized_sync_cycle_interval"
        ),
        "next_sync_cycle_policy_type": as_policy_type(next_sync_cycle_policy_type),
        "purge_run_history_interval": positive_timespan(purge_run_history_interval, "purge_run_history_interval"),
        "maintenance_enabled": maintenance_enabled,
    }
    desired = {name: value for name, value in desired.items() if value is not None}
    before = get_scheduler(session)
    interval, allowed = desired.get("customized_sync_cycle_interval"), before.allowed_sync_cycle_interval
    if interval is not None and allowed is not None and interval < allowed:
        raise InputError(
            f"customized_sync_cycle_interval {format_timespan(interval)} is shorter than the "
            f"AllowedSyncCycleInterval {format_timespan(allowed)} of {session.target}",
            target=session.target,
        )
    changes = {name: value for name, value in desired.items() if getattr(before, name) != value}
    after = before.model_copy(update=changes)
    if changes and not dry_run:
        policy = changes.get("next_sync_cycle_policy_type")
        command = Command.script(
            "adsync/Set-Scheduler.ps1",
            {
                "SyncCycleEnabled": changes.get("sync_cycle_enabled"),
                "CustomizedSyncCycleInterval": timespan_text(changes.get("customized_sync_cycle_interval")),
                "NextSyncCyclePolicyType": None if policy is None else policy.value,
                "PurgeRunHistoryInterval": timespan_text(changes.get("purge_run_history_interval")),
                "MaintenanceEnabled": changes.get("maintenance_enabled"),
            },
        )
        invoke(session, command)
    return Change[Scheduler](changed=bool(changes), dry_run=dry_run, before=before, after=after)


def start_sync_cycle(
    session: Session,
    *,
    policy_type: PolicyType | str = PolicyType.DELTA,
    dry_run: bool = False,
    wait: bool = False,
    deadline_s: float = 3600.0,
    poll_s: float = 15.0,
    settle_polls: int = 3,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> SyncCycleStart:
    """Start a sync cycle unless the scheduler forbids it; wraps Start-ADSyncSyncCycle (never retried).

    A disabled or suspended scheduler, or a cycle already in progress, is not an error: the result
    says `started=False` and why (`reason`). `dry_run` only reads the scheduler and reports what a
    start would do. With `wait`, polls the scheduler and the connector run status every `poll_s`
    seconds until the cycle is over or `deadline_s` passes; `finished` says which. The wait is
    `psbridge.wait.poll`, on `clock` and `sleep` (tests pass a fake clock).

    Raises:
        ConnectorBusyError: Start-ADSyncSyncCycle reported `Connector: <name> is busy.` (transient).
    """
    policy = as_policy_type(policy_type) or PolicyType.DELTA
    if deadline_s < 0 or poll_s <= 0 or settle_polls < 1:
        raise InputError("start_sync_cycle needs deadline_s >= 0, poll_s > 0 and settle_polls >= 1")
    if dry_run:
        scheduler = get_scheduler(session)
        return SyncCycleStart.model_validate({
            "started": False,
            "would_change": scheduler.not_started_reason is None,
            "reason": scheduler.not_started_reason,
            "policy_type": policy,
            "staging_mode_enabled": scheduler.staging_mode_enabled,
            "next_sync_cycle_start_time_in_utc": scheduler.next_sync_cycle_start_time_in_utc,
            "dry_run": True,
        })  # fmt: skip
    command = Command.script(
        "adsync/Start-SyncCycle.ps1", {"PolicyType": policy.value}, idempotent=False, error_rules=_BUSY
    )
    start = invoke_one(session, command, SyncCycleStart)
    if not (wait and start.started):
        return start
    watch = IdleWatch(start.next_sync_cycle_start_time_in_utc, settle_polls=settle_polls)
    finished = _wait_until_idle(session, watch, deadline_s, poll_s, clock, sleep)
    return start.model_copy(update={"finished": finished})


def get_connector_run_status(session: Session) -> list[ConnectorRunStatus]:
    """The connectors running right now; an empty list when the engine is idle. Wraps Get-ADSyncConnectorRunStatus.

    The list is briefly empty between the steps of a cycle too: to know a cycle ended, use
    `start_sync_cycle(wait=True)` or `get_scheduler(...).sync_cycle_in_progress`.
    """
    return invoke_all(session, Command.script("adsync/Get-ConnectorRunStatus.ps1"), ConnectorRunStatus)


def _wait_until_idle(
    session: Session, watch: IdleWatch, deadline_s: float, poll_s: float, clock: Clock, sleep: Sleep
) -> bool:
    log = logs.get_logger(target=session.target)
    started, polls = clock(), 0

    def over(seen: tuple[Scheduler, list[ConnectorRunStatus]]) -> bool:
        nonlocal polls
        scheduler, running = seen
        polls += 1
        elapsed_s = round(clock() - started, 3)
        if watch.observe(scheduler, running):
            log.info("psbridge.adsync.sync_cycle.finished", poll=polls, elapsed_s=elapsed_s)
            return True
        log.info(
            "psbridge.adsync.sync_cycle.running", poll=polls, elapsed_s=elapsed_s,
            in_progress=scheduler.sync_cycle_in_progress,
            connectors=[f"{r.connector_name}: {r.run_state}" for r in running],
        )  # fmt: skip
        return False

    outcome = poll(
        lambda: (get_scheduler(session), get_connector_run_status(session)), over,
        deadline_s=deadline_s, poll_s=poll_s, clock=clock, sleep=sleep,
    )  # fmt: skip
    if isinstance(outcome, TimedOut):
        log.warning("psbridge.adsync.sync_cycle.wait_timeout", poll=outcome.reads, deadline_s=deadline_s)
        return False
    return True


# -- connectors, run history, auto-upgrade, configuration -------------------------------------------------


def get_connector(session: Session) -> list[Connector]:
    """Every connector with its partitions; wraps Get-ADSyncConnector, projected on the server.

    Get-Connectors.ps1 sends one JSON page (psbridge.pages), validated straight into the models.
    """
    command = Command.script("adsync/Get-Connectors.ps1")
    return list(read_page(Connector, invoke(session, command), session).rows)


def get_run_profile_result(
    session: Session, *, number_requested: int = 10, connector_id: uuid.UUID | str | None = None
) -> list[RunProfileResult]:
    """The newest runs first, with their step results; wraps Get-ADSyncRunProfileResult -NumberRequested.

    Get-RunProfileResult.ps1 sends one JSON page (psbridge.pages), validated straight into the models.
    """
    if number_requested < 1:
        raise InputError("number_requested must be at least 1")
    command = Command.script(
        "adsync/Get-RunProfileResult.ps1",
        {"NumberRequested": number_requested, "ConnectorId": guid(connector_id, "connector_id")},
    )
    return list(read_page(RunProfileResult, invoke(session, command), session).rows)


def get_auto_upgrade(session: Session, *, detail: bool = False) -> AutoUpgrade:
    """The auto-upgrade state and, with `detail`, why it is suspended; wraps Get-ADSyncAutoUpgrade [-Detail]."""
    command = Command.script("adsync/Get-AutoUpgrade.ps1", {"Detail": True if detail else None})
    return invoke_one(session, command, AutoUpgrade)


@overload
def get_server_configuration(
    session: Session, *, path: str, fetch_to: str | os.PathLike[str] | None = ..., dry_run: Literal[False] = ...
) -> ServerConfigurationExport: ...
@overload
def get_server_configuration(
    session: Session, *, path: str, fetch_to: str | os.PathLike[str] | None = ..., dry_run: bool
) -> ServerConfigurationExport | Planned: ...
def get_server_configuration(
    session: Session, *, path: str, fetch_to: str | os.PathLike[str] | None = None, dry_run: bool = False
) -> ServerConfigurationExport | Planned:
    """Export the sync configuration to a fresh folder under `path`; wraps Get-ADSyncServerConfiguration -Path.

    The export goes into a new `psbridge-adsync-export-<hex>` folder under `path` (created if needed;
    a relative `path` is relative to the remote session's location), so older files in `path` are never
    part of it; `remote_path` names that folder. With `fetch_to` (a local folder, created if needed),
    the export is zipped on the server, copied into that folder verified by SHA-256, the remote zip
    removed (the export folder stays), and the archive checked: every entry a relative path with `/`
    separators, one per exported file. Not retried: it writes files on the server. `dry_run`: sends
    nothing, returns the call it would send.

    Raises:
        UnexpectedOutputError: no zip was returned, or the fetched archive is not what was exported
            (the local copy is kept for inspection).
    """
    if not path.strip():
        raise InputError("path must name a folder on the server")
    command = Command.script(
        "adsync/Export-ServerConfiguration.ps1",
        {"Path": path, "Compress": True if fetch_to is not None else None},
        idempotent=False,
    )
    if dry_run:
        where = "" if fetch_to is None else f", zips it and copies it to {os.fspath(fetch_to)}"
        return Planned(
            would_send=command.display(), note=f"writes a new export folder under {path} on the server{where}"
        )
    export = invoke_one(session, command, ServerConfigurationExport)
    if fetch_to is None:
        return export
    if export.zip_path is None:
        raise UnexpectedOutputError(f"{command.display()} returned no ZipPath", target=session.target)
    folder = Path(fetch_to)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fetched = fetch(session, export.zip_path, folder)
    finally:
        removed = _remove_archive(session, export.zip_path)
    entries = export_entries(fetched.local_path, file_count=export.file_count, target=session.target)
    return export.model_copy(
        update={
            "local_path": fetched.local_path, "sha256": fetched.sha256, "zip_removed": removed,
            "entry_count": len(entries),
        }
    )  # fmt: skip


def _remove_archive(session: Session, zip_path: str) -> bool:
    """Remove the export zip from the server's temp folder; a failure is logged, not raised."""
    try:
        invoke(session, Command.script("adsync/Remove-ExportArchive.ps1", {"Path": zip_path}))
    except PsbridgeError as exc:
        logs.get_logger(target=session.target).warning(
            "psbridge.adsync.export.cleanup_failed", remote_path=zip_path, error=str(exc)
        )
        return False
    return True
