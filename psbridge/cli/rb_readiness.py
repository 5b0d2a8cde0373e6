"""`psbridge check cloud-managed-readiness`: can the mailboxes' Exchange attributes move to the cloud yet?

Mirrors `psbridge.runbooks.readiness.check_cloud_managed_readiness`, across the targets `connect`,
`exo` and `exchange` (and `cloudsync-agent` when one is configured, or with --cloud-sync).
"""

from __future__ import annotations

import datetime as dt

import click

from psbridge.cli.runbooks import check, emit_report, targets
from psbridge.defaults import CLOUD_MANAGED_DEFAULT_MINIMUM
from psbridge.versions import Version


def _version(ctx: click.Context, param: click.Parameter, value: str) -> Version:
    return Version(value)  # a malformed version raises InputError: exit code 2, one line


@check.command("cloud-managed-readiness")
@click.option(
    "--cloud-managed-min", "minimum", default=str(CLOUD_MANAGED_DEFAULT_MINIMUM), show_default=True, metavar="VERSION",
    callback=_version, help="Connect Sync floor for cloud-managed mailboxes (sources disagree: 2.5.76.0 or 2.5.190.0).",
)  # fmt: skip
@click.option(
    "--cloud-sync", is_flag=True,
    help="A Cloud Sync agent writes Exchange attributes back [default: when a cloudsync-agent target is configured].",
)  # fmt: skip
@click.option(
    "--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="YYYY-MM-DD",
    help="Judge Connect's end of support on this date.  [default: today]",
)  # fmt: skip
@click.pass_context
def cloud_managed_readiness(ctx: click.Context, minimum: Version, cloud_sync: bool, as_of: dt.datetime | None) -> None:
    """Can the mailboxes' Exchange attributes be cloud-managed? Connect's version, the Cloud Sync agent,
    the tenant default, dir-synced mailboxes cloud-managed or not, and addresses that differ on-premises.

    Exit code 0 when every check passes, 1 when any warns or fails, 2 bad input, 3 a target is unreachable.
    """
    from psbridge.runbooks.readiness import check_cloud_managed_readiness

    report = check_cloud_managed_readiness(
        targets(ctx), cloud_sync=True if cloud_sync else None, minimum=minimum,
        today=as_of.date() if as_of is not None else None,
    )  # fmt: skip
    emit_report(ctx, report)
