"""`psbridge config ...`: the config file of named targets: where it is, what it says, and whether each
target answers."""

from __future__ import annotations

import json

import click

from psbridge.cli import terminal
from psbridge.cli.group import Group
from psbridge.cli.output import emit
from psbridge.cli.params import Seconds

CHECK_COLUMNS = ("name", "role", "host", "status", "elapsed_ms", "error")
SHOW_COLUMNS = ("name", "role", "endpoint", "auth", "username", "password", "sign_in", "via", "error")


@click.group(cls=Group)
def config() -> None:
    """The config file of named targets (--config FILE, PSBRIDGE_CONFIG, or the per-user location)."""


@config.command("path")
@click.pass_context
def path(ctx: click.Context) -> None:
    """Where the config file is, and whether it exists (a missing default file means no targets)."""
    from psbridge.config import locate

    where, source = locate(ctx.obj.params["config"])
    if ctx.obj.output == "json":
        click.echo(json.dumps({"path": str(where), "source": source, "exists": where.is_file()}, indent=2))
        return
    click.echo(str(where))
    if not where.exists():
        terminal.notice(f"{where} does not exist yet", event="psbridge.config.missing", path=str(where))


@config.command("show")
@click.pass_context
def show(ctx: click.Context) -> None:
    """Each target: its role, endpoint, sign-in, and where its password comes from (never the password)."""
    from psbridge.targets import describe_targets

    loaded = ctx.obj.config()
    summaries = describe_targets(loaded)
    if ctx.obj.output == "json":
        document = {
            "path": str(loaded.path),
            "source": loaded.source,
            "exists": loaded.exists,
            "targets": [s.model_dump(mode="json") for s in summaries],
        }
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    click.echo(f"config file: {loaded.path}" + ("" if loaded.exists else " (does not exist: no targets)"))
    emit(ctx, summaries, columns=SHOW_COLUMNS)


@config.command("check")
@click.argument("names", nargs=-1, metavar="[TARGET]...")
@click.option("--timeout", type=Seconds(1), default=30.0, show_default=True, help="Deadline per target, seconds.")
@click.pass_context
def check(ctx: click.Context, names: tuple[str, ...], timeout: float) -> int:
    """Validate the config file and check that every target (or each TARGET named) answers.

    Each target's session opens and runs a command that reads and changes nothing (Select-Object with no
    input, which even Exchange Server's restricted endpoint allows); an exo target signs in to Exchange
    Online first. Targets are checked at the same time, each within --timeout. The report gives each
    target's status, host, elapsed time and, when it failed, why.

    Exit codes: 0 every target passed; 1 at least one failed; 2 the config file is invalid or has no
    targets; 3 no target could be reached at all (connection, authentication, TLS or timeout).
    """
    from psbridge.errors import ExitCode
    from psbridge.targets import check_targets

    targets = ctx.obj.targets()
    record = ctx.obj.params["record"]
    if record and record.lower().endswith((".yaml", ".yml")) and len(names or targets.config.targets) > 1:
        raise click.UsageError(
            f"--record {record} records one session: to check several targets, record to a directory"
        )
    report = check_targets(targets, names, timeout=timeout)
    if ctx.obj.output == "json":
        emit(ctx, report)
    else:
        emit(ctx, list(report.targets), columns=CHECK_COLUMNS)
    if report.passed:
        return ExitCode.OK
    return ExitCode.TRANSPORT if report.none_reachable else ExitCode.SHORT
