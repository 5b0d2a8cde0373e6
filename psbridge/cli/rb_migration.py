"""`psbridge check cloud-sync-migration`: am I ready to replace Entra Connect Sync with Cloud Sync?

Mirrors `psbridge.runbooks.migration.check_cloud_sync_migration`, across the targets `connect`, `dc`
and `cloudsync-agent`. Cloud Sync's deletion threshold and schedule are read from Microsoft Graph when
Graph is configured (app-only credentials from PSBRIDGE_GRAPH_* or the config file's [graph] table), or
replayed (`--replay DIR` with DIR/graph/*.yaml); otherwise that comparison is skipped.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from psbridge.cli.params import Id, NonEmpty
from psbridge.cli.runbooks import check, emit_report, targets
from psbridge.defaults import AGENT_MINIMUM, MAX_BACKUP_AGE, REMOTE_EXPORT_PATH
from psbridge.versions import Version

MAX_AGE_DAYS = 36_500  # a century; far longer overflows the date arithmetic


def parse_version(ctx: click.Context, param: click.Parameter, value: str | None) -> Version | None:
    return None if value is None else Version(value)  # a malformed version is InputError: exit 2, one line


agent_minimum_option = click.option(
    "--agent-minimum", default=str(AGENT_MINIMUM), show_default=True, callback=parse_version, metavar="VERSION",
    help="The provisioning agent's minimum (Exchange hybrid writeback's).",
)  # fmt: skip
agent_version_option = click.option(
    "--agent-version", callback=parse_version, metavar="VERSION",
    help="The provisioning agent's version, when the host cannot tell (psbridge reads it from the agent host).",
)  # fmt: skip
_FOLDER = click.Path(file_okay=False, path_type=Path)


@check.command("cloud-sync-migration")
@click.option(
    "--ou", "ous", multiple=True, type=NonEmpty(), metavar="DN", help="An OU Cloud Sync will be scoped to (repeatable)."
)
@click.option("--backup", type=_FOLDER, metavar="DIR", help="Export Connect's configuration now and copy it into DIR.")
@click.option(
    "--backup-remote-path", default=REMOTE_EXPORT_PATH, show_default=True, metavar="PATH",
    help="The folder on the Connect server that --backup exports to.",
)  # fmt: skip
@click.option(
    "--backup-dir", type=_FOLDER, metavar="DIR",
    help="Without --backup: the folder earlier exports (psbridge-adsync-export-*.zip) are kept in.",
)  # fmt: skip
@click.option(
    "--max-age", type=click.IntRange(1, MAX_AGE_DAYS), default=MAX_BACKUP_AGE.days, show_default=True, metavar="DAYS",
    help="The newest export in --backup-dir must be at most this old.",
)  # fmt: skip
@agent_minimum_option
@agent_version_option
@click.option(
    "--job-id",
    type=Id(),
    help="The Cloud Sync job to compare.  [default: the AD2AADProvisioning jobs of Connect's domains]",
)
@click.pass_context
def cloud_sync_migration(
    ctx: click.Context,
    ous: tuple[str, ...],
    backup: Path | None,
    backup_remote_path: str,
    backup_dir: Path | None,
    max_age: int,
    agent_minimum: Version,
    agent_version: Version | None,
    job_id: str | None,
) -> None:
    """The preflight for replacing Entra Connect Sync with Cloud Sync: a fresh configuration backup, each
    scoping OU a valid DN that exists in AD, a provisioning agent at a supported version, the deletion
    thresholds compared, and what will change.

    Exit code 0 when every check passes, 1 when any warns or fails, 2 bad input, 3 a target is unreachable.
    """
    from psbridge.runbooks.migration import check_cloud_sync_migration

    report = check_cloud_sync_migration(
        targets(ctx), ous=ous, backup=backup,
        backup_remote_path=backup_remote_path, backup_dir=backup_dir, max_age=dt.timedelta(days=max_age),
        agent_minimum=agent_minimum, agent_version=agent_version, job_id=job_id,
    )  # fmt: skip
    emit_report(ctx, report)
