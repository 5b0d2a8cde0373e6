"""`psbridge diagnose duplicate-mailbox USER` and `psbridge repair duplicate-mailbox USER --license-group GROUP`.

Mirror `psbridge.runbooks.duplicate`: the diagnosis reads the exo and exchange targets; the repair also
the dc (AD) and connect (Entra Connect Sync) targets. The repair follows `psbridge.cli.confirm`
(--dry-run: the plan; --yes: do it; neither: the plan, then y/N at a terminal); run, it journals
each step (--journal, by default psbridge-repair-<user>.jsonl in the current directory) and, run
again with the same journal, resumes where it stopped. Interrupted (Ctrl+C, SIGTERM) once a step has
started, it prints the report so far from its journal (steps done, the one it was in, whose outcome
is unknown, and those not run), then exits 130 (143 for SIGTERM); nothing more is read from the targets.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import click

from psbridge.cli.confirm import dry_run_option, run_confirmed, yes_option
from psbridge.cli.params import NonEmpty
from psbridge.cli.runbooks import acting, deadline_option, diagnose, emit_report, poll_option, repair, targets

if TYPE_CHECKING:
    from psbridge.runbooks.report import Report


@diagnose.command("duplicate-mailbox")
@click.argument("user")
@click.pass_context
def diagnose_duplicate_mailbox(ctx: click.Context, user: str) -> None:
    """Does USER (a UPN) have a mailbox on Exchange Server and another in Exchange Online?

    Compares the Exchange Server mailbox (or remote mailbox) and its ExchangeGuid with the Exchange
    Online recipient's type, previous mailbox info and ExchangeGuid, and explains the symptoms.

    Exit code 0 when there is one mailbox, 1 when there are two or leftovers of a second one, 2 bad
    input or a missing target, 3 a target is unreachable.
    """
    from psbridge.runbooks.duplicate import diagnose_duplicate_mailbox as run

    emit_report(ctx, run(targets(ctx), user=user))


def default_journal(user: str) -> str:
    """psbridge-repair-<user>.jsonl, the user's characters outside [A-Za-z0-9.@_-] replaced by `_`."""
    return f"psbridge-repair-{re.sub(r'[^A-Za-z0-9.@_-]', '_', user.strip())}.jsonl"


@repair.command("duplicate-mailbox")
@click.argument("user")
@click.option(
    "--license-group", "group", required=True, type=NonEmpty(), metavar="GROUP",
    help="The AD group that assigns the licence.",
)  # fmt: skip
@dry_run_option
@yes_option
@click.option(
    "--journal", type=click.Path(dir_okay=False), metavar="FILE",
    help="The repair's journal, to resume from.  [default: psbridge-repair-<USER>.jsonl]",
)  # fmt: skip
@deadline_option("a sync cycle, Exchange Online's state")
@poll_option
@click.pass_context
def repair_duplicate_mailbox(
    ctx: click.Context,
    user: str,
    group: str,
    dry_run: bool,
    yes: bool,
    journal: str | None,
    deadline_s: float,
    poll_s: float,
) -> None:
    """Repair USER's duplicate mailbox, keeping the one on Exchange Server.

    Steps, each verified before the next: 1 remove USER from GROUP in AD; 2 delta sync and wait;
    3 wait until Exchange Online shows a MailUser; 4 permanently clear the previous mailbox info
    (IRREVERSIBLE); 5 sync, and wait for a MailUser without previous mailbox info; 6 add USER back to
    GROUP, sync, and verify.

    --dry-run only reads and prints the plan (exit 0). --yes runs it, journaled: run it again with the
    same journal to resume. Neither: the plan, then y/N at a terminal (elsewhere exit 2, nothing done).
    Exit code 0 when repaired (or the plan is ready), 1 when a check refuses the repair or a step
    fails (the report says where the user is left and how to go on), 2 bad input, a missing target or
    not confirmed, 3 a target is unreachable before anything changed.
    """
    from psbridge.runbooks.duplicate import repair_duplicate_mailbox as run

    path = journal or default_journal(user)

    def call(dry: bool) -> Report:
        return run(
            targets(ctx), user=user, license_group=group, dry_run=dry,
            journal=path, deadline_s=deadline_s, poll_s=poll_s,
        )  # fmt: skip

    report = run_confirmed(
        yes=yes, dry_run=dry_run, what=f"repair duplicate-mailbox changes {user}",
        act=acting(ctx, call, dry_run, lambda: interrupted_report(path, user=user, group=group)),
        proceed=lambda plan: plan.exit_code == 0,
    )  # fmt: skip
    ctx.exit(report.exit_code)


def interrupted_report(journal: str, *, user: str, group: str) -> Report | None:
    """What a repair interrupted midway did, from its journal alone (None when no step started)."""
    from psbridge.runbooks.duplicate import STEPS, RepairJournal
    from psbridge.runbooks.duplicate.repair import RUNBOOK
    from psbridge.runbooks.report import interrupted

    book = RepairJournal.read(journal, user=user, group=group, steps=[step.id for step in STEPS])
    rerun = f"psbridge repair duplicate-mailbox {user} --license-group {group} --journal {journal} --yes"
    return interrupted(book, [(s.id, s.check_name) for s in STEPS], runbook=RUNBOOK, subject=user, rerun=rerun)
