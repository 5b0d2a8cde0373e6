"""`psbridge adsync ...`: Entra Connect Sync, mirroring `psbridge.adsync`."""

from __future__ import annotations

import click

from psbridge.adsync.policy import CLOUD_MANAGED_DEFAULT_MINIMUM, REQUIRED_MINIMUM
from psbridge.cli.output import emit
from psbridge.versions import Version


def _version(ctx: click.Context, param: click.Parameter, value: str) -> Version:
    return Version(value)  # a malformed version raises InputError: exit code 2, one line


@click.group()
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

    result = check_version(ctx.obj.session(), minimum=minimum, cloud_managed_minimum=cloud_managed_min)
    rows = [
        ("target", result.target),
        ("version", str(result.version)),
        ("minimum", str(result.minimum)),
        ("meets_minimum", result.meets_minimum),
        *((f"[{note.severity}]", note.message) for note in result.notes),
    ]
    emit(ctx, result, rows)
    return 0 if result.meets_minimum else 1
