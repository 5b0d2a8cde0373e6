"""`psbridge check|diagnose|repair ...`: the runbooks, across the targets each one needs.

Every runbook command prints its report (a table of checks, or the whole report as JSON with
`--output json`) and exits for monitoring: 0 every check passed, 1 any warns or fails, 2 bad input,
3 a target could not be reached (`--output nagios|prometheus`, `--textfile`: psbridge.cli.monitoring). The
targets come from the config file (`--config`, see `psbridge config path`); under `--replay DIR`, a role the
config has no target for replays DIR.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from psbridge.cli.group import Group

if TYPE_CHECKING:
    from psbridge.runbooks.report import Report
    from psbridge.targets import Targets


@click.group(cls=Group)
def check() -> None:
    """Readiness checks: is the organization ready for a change?"""


@click.group(cls=Group)
def diagnose() -> None:
    """Diagnose a known problem and say how to fix it."""


@click.group(cls=Group)
def repair() -> None:
    """Guarded remediations: show the plan, do it only with --yes, resume where it stopped."""


def deadline_option(waits: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--deadline SECONDS` (deadline_s, 3600) of a journaled runbook; `waits` names what it waits for."""
    from psbridge.cli.params import Seconds

    return click.option(
        "--deadline", "deadline_s", type=Seconds(min_open=True), default=3600.0, show_default=True,
        help=f"Seconds each wait ({waits}) may take before the step stops.",
    )  # fmt: skip


def poll_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--poll SECONDS` (poll_s, 30): the time between the reads of a journaled runbook's waits."""
    from psbridge.cli.params import Seconds

    return click.option(
        "--poll", "poll_s", type=Seconds(min_open=True), default=30.0, show_default=True,
        help="Seconds between the reads of a wait.",
    )(command)  # fmt: skip


def targets(ctx: click.Context) -> Targets:
    """The run's targets (sessions opened on first use, closed when the run ends)."""
    result: Targets = ctx.obj.targets()
    return result


def emit_report(ctx: click.Context, report: Report) -> None:
    """Print the report and exit with its code (0 pass, 1 warn or fail; monitoring outputs: psbridge.cli.monitoring)."""
    from psbridge.cli.monitoring import publish, report_measures
    from psbridge.cli.output import emit, hanging, terminal_width

    monitored = publish(ctx, report, report_measures(report))
    if monitored is not None:
        ctx.exit(monitored)
    if ctx.obj.output == "json":
        emit(ctx, report)
    else:
        color = False if os.environ.get("NO_COLOR") else None  # None: colour only at a terminal (click)
        width = terminal_width()  # lines wrap to it, their continuation indented (psbridge.cli.output)
        subject = f" ({report.subject})" if report.subject else ""
        click.echo(f"{report.runbook}{subject}: {_status(report.status.value)}", color=color)
        for item in report.checks:
            where = f" [{item.target}]" if item.target else ""
            told = hanging(f"{item.name}{where}: {item.summary}", 8, width, more=0)
            click.echo(f"  {_status(item.status.value)}  {told}", color=color)
            for key, value in item.evidence.items():
                click.echo(f"          {hanging(f'{key}: {_short(value)}', 10, width)}")
            if item.fix and item.status.value in ("warn", "fail"):
                click.echo(f"          {hanging(f'fix: {item.fix}', 10, width)}")
    ctx.exit(report.exit_code)


# A status's colour at a terminal; none when stdout is not one, or NO_COLOR is set (https://no-color.org).
_COLOURS = {"pass": "green", "warn": "yellow", "fail": "red", "skip": "bright_black"}


def _status(status: str) -> str:
    return click.style(f"{status.upper():4}", fg=_COLOURS.get(status), bold=True if status == "fail" else None)


def _short(value: Any, limit: int = 200) -> str:
    from psbridge.cli.output import _text

    text = _text(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def acting(
    ctx: click.Context, call: Callable[[bool], Report], dry_run: bool, partial: Callable[[], Report | None]
) -> Callable[[bool], Report]:
    """`act` for `run_confirmed` of a journaled runbook: `call(dry)`, then its report printed. The plan before
    the question is printed without exiting; interrupted mid-run (Ctrl+C, SIGTERM), `partial()`, the report so
    far from the journal, is printed before the interruption's own line and exit code."""

    def act(dry: bool) -> Report:
        try:
            report = call(dry)
        except BaseException as exc:
            so_far = None if dry or isinstance(exc, Exception) else partial()
            if so_far is not None:  # the report so far; then the interruption's own line and exit code
                with contextlib.suppress(click.exceptions.Exit):
                    emit_report(ctx, so_far)
            raise
        if dry and not dry_run:  # the plan before the question: printed, the exit waits for the answer
            with contextlib.suppress(click.exceptions.Exit):
                emit_report(ctx, report)
        else:
            emit_report(ctx, report)
        return report

    return act


def register(cli: click.Group) -> None:
    """Add the runbook groups; each runbook's command lives in its own `rb_*` module, which adds itself."""
    from psbridge.cli import rb_duplicate, rb_migration, rb_readiness, rb_routing  # noqa: F401
    from psbridge.cli.rb_cloudsync_migration import migrate

    for group in (check, diagnose, repair, migrate):
        cli.add_command(group)
