"""`psbridge migrate cloud-sync`: move one AD domain from Entra Connect Sync to Entra Cloud Sync.

Mirrors `psbridge.runbooks.cloudsync_migration` across the targets connect, dc and cloudsync-agent and
Microsoft Graph app-only. It follows `psbridge.cli.confirm` (--dry-run: the plan; --yes: do it;
neither: the plan, then y/N at a terminal); run, it journals each step (--journal, by default
psbridge-migrate-cloud-sync.jsonl in the current directory) and, run again with the same journal,
resumes at the first step not done. Interrupted (Ctrl+C, SIGTERM) once a step has started, it prints the
report so far from its journal, then exits 130 (143 for SIGTERM). `--rollback` pauses the domain's
Cloud Sync jobs and turns Connect's scheduler on again.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from psbridge.cli.confirm import dry_run_option, run_confirmed, yes_option
from psbridge.cli.group import Group
from psbridge.cli.params import NonEmpty
from psbridge.cli.rb_migration import agent_minimum_option, agent_version_option
from psbridge.cli.runbooks import acting, deadline_option, poll_option, targets
from psbridge.defaults import REMOTE_EXPORT_PATH

if TYPE_CHECKING:
    from psbridge.runbooks.report import Report

DEFAULT_JOURNAL = "psbridge-migrate-cloud-sync.jsonl"
STEP_NUMBERS = ("1", "2", "3", "4", "5", "6", "7", "8")  # psbridge.runbooks.cloudsync_migration.STEPS


@click.group(cls=Group)
def migrate() -> None:
    """Migrations: plan first, --yes to act, every step journaled and resumable."""


def _mapping(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for value in values:
        target, sep, expression = value.partition("=")
        if not sep or not target.strip() or not expression.strip():
            raise click.BadParameter(f"{value!r} is not TARGET=EXPRESSION (e.g. department=[department])")
        found[target.strip()] = expression.strip()
    return found


@migrate.command("cloud-sync")
@click.option(
    "--domain", type=NonEmpty(), metavar="FQDN", help="The AD domain to migrate.  [default: the one Connect syncs]"
)
@click.option(
    "--ou", "ous", multiple=True, type=NonEmpty(), metavar="DN",
    help="An OU Cloud Sync synchronizes (repeatable).  [default: Connect's own OU filter, where psbridge reads it]",
)  # fmt: skip
@click.option(
    "--test-user", "test_users", multiple=True, type=NonEmpty(), metavar="UPN|DN",
    help="A user provisioned on demand before the cut-over (repeatable, at most 5; a UPN or a DN).",
)  # fmt: skip
@click.option(
    "--accept-warning", "accept_warnings", multiple=True, type=NonEmpty(), metavar="CHECK",
    help="Accept a preflight warning you have read, by its check's name (repeatable), e.g. plan.",
)  # fmt: skip
@click.option(
    "--backup", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
    metavar="DIR", help="The local folder Connect's configuration export is copied into (step 2).",
)  # fmt: skip
@click.option(
    "--backup-remote-path", default=REMOTE_EXPORT_PATH, show_default=True, metavar="PATH",
    help="The folder on the Connect server the export goes to.",
)  # fmt: skip
@click.option(
    "--mapping", "mappings", multiple=True, callback=_mapping, metavar="TARGET=EXPRESSION",
    help="Set one user attribute mapping (repeatable), e.g. department=[department]; the others stay the template's.",
)  # fmt: skip
@click.option(
    "--connect-after", type=click.Choice(["disabled", "staging"]), default="disabled", show_default=True,
    help="Leave Connect Sync with its scheduler off, or (a Connect wizard step, verified) in staging mode.",
)  # fmt: skip
@click.option(
    "--password-hash/--no-password-hash", default=None,
    help="Whether Connect syncs password hashes.  [default: what Connect's sign-on method says]",
)  # fmt: skip
@agent_minimum_option
@agent_version_option
@click.option("--until", type=click.Choice(STEP_NUMBERS), metavar="STEP", help="Stop after this step (1-8).")
@click.option("--rollback", is_flag=True, help="Pause the domain's Cloud Sync jobs and turn Connect's scheduler on.")
@dry_run_option
@yes_option
@click.option(
    "--journal", type=click.Path(dir_okay=False), metavar="FILE",
    help=f"The migration's journal, to resume from.  [default: {DEFAULT_JOURNAL}]",
)  # fmt: skip
@deadline_option("a running sync cycle, the jobs' first cycles")
@poll_option
@click.pass_context
def cloud_sync(ctx: click.Context, /, **options: Any) -> None:
    """Migrate one AD domain from Connect Sync to Cloud Sync, as the portal's wizard and Microsoft's pilot
    tutorial do, every step checked.

    Steps: 1 the readiness preflight (warnings accepted one by one); 2 a verified backup of Connect's
    configuration; 3 the Cloud Sync configuration (template, jobs, secrets); 4 the OU filter, each OU
    checked in AD, as a diff; 5 the attribute mappings shown (changed only with --mapping); 6 provision on
    demand for each --test-user, stopping on any failure; 7 the cut-over: Connect's scheduler off, the
    jobs started and watched to steady state; 8 Connect Sync kept as the way back (scheduler off, or staging
    mode set in the wizard and verified).

    --dry-run only reads and prints the plan (exit 0). --yes runs it, journaled: run it again with the
    same journal to resume. Neither: the plan, then y/N at a terminal (elsewhere exit 2, nothing done).
    Exit code 0 when migrated (or stopped with --until, or the plan is ready), 1 when a step refuses or
    fails, or waits for you (the report says where it stands and how to go on), 2 bad input, a missing
    target or not confirmed, 3 a target is unreachable before anything changed.
    """
    path = options.pop("journal") or DEFAULT_JOURNAL
    yes, dry_run, rollback = options.pop("yes"), options.pop("dry_run"), options.pop("rollback")
    if rollback:
        _rollback(ctx, options, path, yes=yes, dry_run=dry_run)
        return
    from psbridge.runbooks.cloudsync_migration import migrate_cloud_sync

    def call(dry: bool) -> Report:
        return migrate_cloud_sync(targets(ctx), dry_run=dry, journal=path, **options)

    report = run_confirmed(
        yes=yes, dry_run=dry_run, what="migrate cloud-sync changes Connect Sync and Cloud Sync",
        act=acting(ctx, call, dry_run, lambda: _interrupted(path, options.get("domain"))),
        proceed=lambda plan: plan.exit_code == 0,
    )  # fmt: skip
    ctx.exit(report.exit_code)


_ROLLBACK_ONLY_WITH = ("domain",)


def _rollback(ctx: click.Context, options: dict[str, Any], path: str, *, yes: bool, dry_run: bool) -> None:
    from psbridge.runbooks.cloudsync_migration import rollback_cloud_sync

    flags = {param.name: param.opts[0] for param in ctx.command.params}
    given = [flags[name] for name in options if name not in _ROLLBACK_ONLY_WITH and _given(ctx, name)]
    if given:
        raise click.UsageError(f"--rollback takes only --domain and --journal, not {', '.join(given)}")

    def call(dry: bool) -> Report:
        return rollback_cloud_sync(targets(ctx), domain=options.get("domain"), dry_run=dry, journal=path)

    report = run_confirmed(
        yes=yes, dry_run=dry_run, what="migrate cloud-sync --rollback changes Connect Sync and Cloud Sync",
        act=acting(ctx, call, dry_run, lambda: None), proceed=lambda plan: plan.exit_code == 0,
    )  # fmt: skip
    ctx.exit(report.exit_code)


def _given(ctx: click.Context, name: str) -> bool:
    """Whether the option was on the command line (not a default, nor an environment variable's)."""
    return ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE


def _interrupted(journal: str, domain: str | None) -> Report | None:
    """What an interrupted migration did, from its journal alone (None when it holds no step)."""
    from psbridge.runbooks.cloudsync_migration import RUNBOOK, STEPS, MigrationJournal
    from psbridge.runbooks.report import interrupted

    book = MigrationJournal(Path(journal), domain, [s.id for s in STEPS]).read_if_present()
    subject = (book.domain if book is not None else None) or domain or ""
    rerun = f"psbridge migrate cloud-sync --journal {journal} --yes (with the same options)"
    return interrupted(book, [(s.id, s.check_name) for s in STEPS], runbook=RUNBOOK, subject=subject, rerun=rerun)
