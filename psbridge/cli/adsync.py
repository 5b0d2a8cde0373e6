"""`psbridge adsync ...`: Entra Connect Sync, mirroring `psbridge.adsync`.

Commands that change the server (`set-scheduler`, `sync`) do nothing without `--yes`, or `--dry-run`
to see what they would do: they run from cron, so they never prompt.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

import click

from psbridge.cli.confirm import dry_run_option, run_confirmed, yes_option
from psbridge.cli.group import Group
from psbridge.cli.output import emit, emit_change
from psbridge.cli.params import Guid, Int32, NotBoth, Seconds, TimeSpan
from psbridge.defaults import CLOUD_MANAGED_DEFAULT_MINIMUM, REQUIRED_MINIMUM
from psbridge.versions import Version

if TYPE_CHECKING:
    from pydantic import BaseModel


def _version(ctx: click.Context, param: click.Parameter, value: str) -> Version:
    return Version(value)  # a malformed version raises InputError: exit code 2, one line


def _plain(value: Any) -> Any:
    """A field as people read it: TimeSpans in .NET's d.hh:mm:ss form, enums by value."""
    from psbridge.types import format_time, format_timespan

    if isinstance(value, dt.timedelta):
        return format_timespan(value)
    if isinstance(value, dt.datetime):
        return format_time(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _rows(model: BaseModel) -> list[tuple[str, Any]]:
    return [(name, _plain(getattr(model, name))) for name in type(model).model_fields]


@click.group(cls=Group)
def adsync() -> None:
    """Entra Connect Sync (the ADSync module on the Connect server)."""


@adsync.command("version")
@click.option(
    "--min",
    "minimum",
    default=str(REQUIRED_MINIMUM),
    show_default=True,
    callback=_version,
    help="Minimum version; exit code 1 when the server is older.",
)
@click.option(
    "--cloud-managed-min",
    default=str(CLOUD_MANAGED_DEFAULT_MINIMUM),
    show_default=True,
    callback=_version,
    help="Floor for cloud-managed Exchange attributes (sources disagree: 2.5.76.0 or 2.5.190.0).",
)
@click.pass_context
def version(ctx: click.Context, minimum: Version, cloud_managed_min: Version) -> int:
    """Check the Connect Sync version against a minimum, with Microsoft's lifecycle notes."""
    from psbridge.adsync import check_version
    from psbridge.cli.monitoring import publish_version

    session, today = ctx.obj.session(), ctx.obj.targets().now().date()  # under replay: when it was recorded
    result = check_version(session, minimum=minimum, cloud_managed_minimum=cloud_managed_min, today=today)
    rows = [
        ("target", result.target),
        ("version", str(result.version)),
        ("minimum", str(result.minimum)),
        ("meets_minimum", result.meets_minimum),
        *((f"[{note.severity}]", note.message) for note in result.notes),
    ]
    monitored = publish_version(ctx, result, today)  # --output nagios|prometheus, --textfile
    if monitored is not None:
        return monitored
    emit(ctx, result, rows)
    return 0 if result.meets_minimum else 1


@adsync.command("global-settings")
@click.pass_context
def global_settings(ctx: click.Context) -> None:
    """The sync engine's global settings: typed features first, then every parameter."""
    from psbridge.adsync import get_global_settings

    result = get_global_settings(ctx.obj.session())
    rows = [row for row in _rows(result) if row[0] != "parameters"]
    emit(ctx, result, [*rows, *((p.name, p.value) for p in result.parameters)])


@adsync.command("deletion-threshold")
@click.pass_context
def deletion_threshold(ctx: click.Context) -> None:
    """The export deletion threshold, as the server's global settings mirror it (no sign-in needed)."""
    from psbridge.adsync import get_export_deletion_threshold

    emit(ctx, get_export_deletion_threshold(ctx.obj.session()))


@adsync.command("enable-deletion-threshold")
@click.option("--threshold", type=Int32(), help="Deletions allowed per export.")
def enable_deletion_threshold(threshold: int | None) -> None:
    """Interactive only (-AADUserName): always refused (exit 2), naming the unattended way."""
    from psbridge.adsync.interactive import refusal

    raise refusal("Enable-ADSyncExportDeletionThreshold")


@adsync.command("disable-deletion-threshold")
def disable_deletion_threshold() -> None:
    """Interactive only (-AADUserName): always refused (exit 2), naming the unattended way."""
    from psbridge.adsync.interactive import refusal

    raise refusal("Disable-ADSyncExportDeletionThreshold")


@adsync.command("scheduler")
@click.pass_context
def scheduler(ctx: click.Context) -> None:
    """The sync scheduler's settings and state (Get-ADSyncScheduler)."""
    from psbridge.adsync import get_scheduler

    result = get_scheduler(ctx.obj.session())
    emit(ctx, result, _rows(result))


@adsync.command("set-scheduler")
@click.option(
    "--sync-cycle-enabled/--no-sync-cycle-enabled", cls=NotBoth, default=None, help="Run scheduled cycles or not."
)
@click.option("--interval", type=TimeSpan(), help="CustomizedSyncCycleInterval, e.g. 00:40:00.")
@click.option("--next-policy", type=click.Choice(["Delta", "Initial"]), help="NextSyncCyclePolicyType.")
@click.option("--purge-interval", type=TimeSpan(), help="PurgeRunHistoryInterval, e.g. 7.00:00:00.")
@click.option("--maintenance/--no-maintenance", cls=NotBoth, default=None, help="MaintenanceEnabled.")
@dry_run_option
@yes_option
@click.pass_context
def set_scheduler(
    ctx: click.Context,
    sync_cycle_enabled: bool | None,
    interval: str | None,
    next_policy: str | None,
    purge_interval: str | None,
    maintenance: bool | None,
    dry_run: bool,
    yes: bool,
) -> None:
    """Change scheduler settings (Set-ADSyncScheduler), sending only what differs."""
    if (sync_cycle_enabled, interval, next_policy, purge_interval, maintenance) == (None,) * 5:
        raise click.UsageError("give at least one setting to change (see --help)")
    from psbridge.adsync import set_scheduler as set_

    def act(dry: bool) -> Any:
        change = set_(
            ctx.obj.session(),
            sync_cycle_enabled=sync_cycle_enabled,
            customized_sync_cycle_interval=interval,
            next_sync_cycle_policy_type=next_policy,
            purge_run_history_interval=purge_interval,
            maintenance_enabled=maintenance,
            dry_run=dry,
        )
        emit_change(ctx, change)
        return change

    run_confirmed(yes=yes, dry_run=dry_run, what="set-scheduler changes the server", act=act)


@adsync.command("sync")
@click.option("--initial", is_flag=True, help="Run an Initial cycle (full import and sync) instead of Delta.")
@click.option("--wait", is_flag=True, help="Wait until the cycle is over.")
@click.option(
    "--deadline", "deadline_s", type=Seconds(), default=3600.0, show_default=True,
    help="With --wait: seconds to wait; the cycle keeps running after that.",
)  # fmt: skip
@click.option("--timeout", "old_deadline_s", type=Seconds(), hidden=True)  # --deadline's old name
@click.option(
    "--poll", "poll_s", type=Seconds(0.001), default=15.0, show_default=True,
    help="With --wait: seconds between polls.",
)  # fmt: skip
@dry_run_option
@yes_option
@click.pass_context
def sync(
    ctx: click.Context,
    initial: bool,
    wait: bool,
    deadline_s: float,
    old_deadline_s: float | None,
    poll_s: float,
    dry_run: bool,
    yes: bool,
) -> int:
    """Start a sync cycle (Start-ADSyncSyncCycle) unless the scheduler forbids it.

    Exit code 1 when the cycle did not start (disabled, suspended, already running) or, with --wait,
    was not seen to finish in time. A busy connector is an error (exit 4).
    """
    from psbridge.adsync import start_sync_cycle

    def act(dry: bool) -> Any:
        result = start_sync_cycle(
            ctx.obj.session(),
            policy_type="Initial" if initial else "Delta",
            dry_run=dry,
            wait=wait,
            deadline_s=deadline_s if old_deadline_s is None else old_deadline_s,
            poll_s=poll_s,
        )
        rows = _rows(result)
        if result.staging_mode_enabled:
            rows.append(("note", "staging mode: the cycle imports and synchronizes but never exports"))
        emit(ctx, result, rows)
        return result

    result = run_confirmed(yes=yes, dry_run=dry_run, what="sync starts a sync cycle on the server", act=act)
    if result.dry_run:
        return 0 if result.reason is None else 1
    return 0 if result.started and result.finished is not False else 1


@adsync.command("run-status")
@click.pass_context
def run_status(ctx: click.Context) -> None:
    """The connectors running right now (Get-ADSyncConnectorRunStatus); none when idle."""
    from psbridge.adsync import get_connector_run_status

    emit(ctx, get_connector_run_status(ctx.obj.session()))


@adsync.command("connectors")
@click.pass_context
def connectors(ctx: click.Context) -> None:
    """Every connector (Get-ADSyncConnector), with its partitions in --output json."""
    from psbridge.adsync import get_connector

    emit(ctx, get_connector(ctx.obj.session()), columns=["name", "type", "subtype", "identifier"])


@adsync.command("run-history")
@click.option("--count", type=Int32(), default=10, show_default=True, help="How many runs.")
@click.option("--connector-id", type=Guid(), help="Only this connector's runs.")
@click.pass_context
def run_history(ctx: click.Context, count: int, connector_id: str | None) -> None:
    """The newest runs first (Get-ADSyncRunProfileResult -RunStepDetails); --output json adds each step's counters."""
    from psbridge.adsync import get_run_profile_result

    runs = get_run_profile_result(ctx.obj.session(), number_requested=count, connector_id=connector_id)
    columns = ["start_date", "connector_name", "run_profile_name", "result", "run_number"]
    emit(ctx, runs, columns=columns)


@adsync.command("auto-upgrade")
@click.option("--detail", is_flag=True, help="Also read why auto-upgrade is suspended.")
@click.pass_context
def auto_upgrade(ctx: click.Context, detail: bool) -> None:
    """The auto-upgrade state (Get-ADSyncAutoUpgrade)."""
    from psbridge.adsync import get_auto_upgrade

    emit(ctx, get_auto_upgrade(ctx.obj.session(), detail=detail))


@adsync.command("export-config")
@click.option("--path", "remote_path", required=True, help=r"Folder on the server, e.g. C:\psbridge\export.")
@click.option(
    "--fetch-to", type=click.Path(),
    help="Zip the export on the server, copy it here verified by SHA-256, and check its entries.",
)  # fmt: skip
@dry_run_option
@yes_option
@click.pass_context
def export_config(ctx: click.Context, remote_path: str, fetch_to: str | None, dry_run: bool, yes: bool) -> None:
    """Export the sync configuration into a fresh folder under --path on the server (Get-ADSyncServerConfiguration).

    It writes on the server: --dry-run shows the call, --yes does it (else the plan, then y/N at a terminal).
    """
    from psbridge.adsync import get_server_configuration

    def act(dry: bool) -> Any:
        result = get_server_configuration(ctx.obj.session(), path=remote_path, fetch_to=fetch_to, dry_run=dry)
        emit(ctx, result)
        return result

    run_confirmed(yes=yes, dry_run=dry_run, what=f"export-config writes under {remote_path} on the server", act=act)
