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

import contextlib
import re
from typing import TYPE_CHECKING

import click

from psbridge.cli.confirm import dry_run_option, run_confirmed, yes_option
from psbridge.cli.params import NonEmpty, Seconds
from psbridge.cli.runbooks import diagnose, emit_report, repair, targets

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
@click.option(
    "--deadline", "deadline_s", type=Seconds(min_open=True), default=3600.0, show_default=True,
    help="Seconds each wait (a sync cycle, Exchange Online's state) may take before the repair stops.",
)  # fmt: skip
@click.option(
    "--poll", "poll_s", type=Seconds(min_open=True), default=30.0, show_default=True,
    help="Seconds between the reads of a wait.",
)  # fmt: skip
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

    def act(dry: bool) -> Report:
        try:
            report = run(
                targets(ctx), user=user, license_group=group, dry_run=dry,
                journal=path, deadline_s=deadline_s, poll_s=poll_s,
            )  # fmt: skip
        except BaseException as exc:
            partial = None if dry or isinstance(exc, Exception) else interrupted_report(path, user=user, group=group)
            if partial is not None:  # the report so far; then the interruption's own line and exit code
                with contextlib.suppress(click.exceptions.Exit):
                    emit_report(ctx, partial)
            raise
        if dry and not dry_run:  # the plan before the question: printed, the exit waits for the answer
            with contextlib.suppress(click.exceptions.Exit):
                emit_report(ctx, report)
        else:
            emit_report(ctx, report)
        return report

    report = run_confirmed(yes=yes, dry_run=dry_run, what=f"repair duplicate-mailbox changes {user}", act=act,
                           proceed=lambda plan: plan.exit_code == 0)  # fmt: skip
    ctx.exit(report.exit_code)


def interrupted_report(journal: str, *, user: str, group: str) -> Report | None:
    """What a repair interrupted midway did, from its journal alone (None when no step started): each step
    done, the one it was in (its outcome unknown: a re-run reads the state before it acts), those not run."""
    from psbridge.runbooks.duplicate import STEPS, RepairJournal
    from psbridge.runbooks.duplicate.repair import RUNBOOK
    from psbridge.runbooks.report import Check, Report, Status

    book = RepairJournal.read(journal, user=user, group=group, steps=[step.id for step in STEPS])
    if book is None or not book.steps:
        return None
    checks = []
    for step in STEPS:
        last = book.steps.get(step.id)
        if last is None:
            status, summary = Status.SKIP, "not run: the repair was interrupted before it"
        elif last["event"] == "done":
            status, summary = Status.PASS, f"done ({last['at']}): {last.get('summary', '')}"
        elif last["event"] == "started":
            status, summary = Status.FAIL, "interrupted while it ran: its outcome is unknown (a re-run reads it first)"
        else:
            status, summary = Status.FAIL, f"failed ({last['at']}): {last.get('summary', '')}"
        checks.append(Check(name=step.check_name, status=status, summary=summary))
    rerun = f"psbridge repair duplicate-mailbox {user} --license-group {group} --journal {journal} --yes"
    outcome = Check(
        name="outcome", status=Status.FAIL, summary="interrupted: the steps above are where the repair stopped",
        evidence={"journal": journal, "steps_done": book.done()}, fix=f"{rerun} resumes it",
    )  # fmt: skip
    return Report(runbook=RUNBOOK, subject=user, checks=(*checks, outcome))
