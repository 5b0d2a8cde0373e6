"""The guarded repair of a duplicate mailbox (`psbridge repair duplicate-mailbox USER --license-group GROUP`).

For a user whose mailbox to keep is on Exchange Server and whose Exchange Online licence comes from an
AD group. First it reads, and refuses unless this is the duplicate-mailbox case: a UserMailbox on
Exchange Server; in Exchange Online a UserMailbox with another ExchangeGuid, or a MailUser (unclean or
already cleared); the user and the group in AD; a Connect server that can start a cycle and is not in
staging mode. Then STEPS, each verified before the next:

    1   remove the user from the licensing group in AD
    2   delta sync on the Connect server, waited for (adsync's wait)
    3   wait until Exchange Online shows a MailUser (the licence removal processed)
    4   permanently clear the previous mailbox info (IRREVERSIBLE)
    5a  delta sync;  5b  wait until Exchange Online shows a MailUser without previous mailbox info
    6a  add the user back to the group;  6b  delta sync;  6c  verify the final state

A dry run (the default) sends nothing but reads: the report is the plan. Otherwise each step is journaled
when it starts and when it ends (`RepairJournal`). A resumed repair skips the steps done; any other
step runs again, and each step reads the state before it acts, so a step whose outcome is unknown is
verified rather than repeated (a delta sync is simply started again: that is harmless). Each wait
(a sync cycle, Exchange Online's state) gives up after `deadline_s`, reading every `poll_s`. A step
that fails ends the run with a report of the state the user is left in and how to go on. So does a
journal that cannot be written (a full disk): the report still says what was done, the irreversible
step included, and a re-run verifies the step the journal could not record before it acts.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from psbridge.ad import add_group_member, is_group_member, remove_group_member
from psbridge.adsync import start_sync_cycle
from psbridge.adsync.models import NotStartedReason, PolicyType, SyncCycleStart
from psbridge.errors import (
    ConnectorBusyError,
    InputError,
    OutcomeUnknownError,
    RemoteCommandError,
    TransportError,
)
from psbridge.exchange import clear_previous_mailbox_info, get_user
from psbridge.exchange.models import User
from psbridge.runbooks.duplicate.diagnose import (
    MAIL_USER,
    MAILBOX,
    has_mailbox,
    read_sides,
    required,
    where,
)
from psbridge.runbooks.duplicate.journal import RepairJournal
from psbridge.runbooks.report import Check, Report, Status, failed
from psbridge.wait import Clock, Done, Sleep, TimedOut, poll

if TYPE_CHECKING:
    from psbridge.exchange.backend import ExchangeOnline
    from psbridge.session import Session
    from psbridge.targets import Targets

RUNBOOK = "repair-duplicate-mailbox"
T = TypeVar("T")


class StepFailed(Exception):
    """A step could not do or verify what it should: a wait timed out, the state is not what it must be."""


@dataclasses.dataclass
class _Run:
    """One repair run: its sessions and settings, and the state it last read."""

    user: str
    group: str
    dc: Session
    connect: Session
    exo: ExchangeOnline
    deadline_s: float
    poll_s: float
    clock: Clock = time.monotonic
    sleep: Sleep = time.sleep
    member: bool | None = None
    online: User | None = None

    def wait(self, read: Callable[[], T], done: Callable[[T], bool]) -> Done[T] | TimedOut[T]:
        """`read` every poll_s seconds until `done`, for at most deadline_s (`psbridge.wait.poll`)."""
        return poll(read, done, deadline_s=self.deadline_s, poll_s=self.poll_s, clock=self.clock, sleep=self.sleep)

    def read_user(self) -> User:
        self.online = get_user(self.exo, identity=self.user)
        return self.online

    def read_member(self) -> bool:
        self.member = is_group_member(self.dc, group=self.group, member=self.user)
        return self.member

    def state(self) -> dict[str, Any]:
        previous = None if self.online is None else self.online.previous_recipient_type_details
        return {
            "member_of_group": self.member,
            "exchange_online": None if self.online is None else self.online.recipient_type_details.value,
            "previous_recipient_type_details": None if previous is None else previous.value,
        }

    def shows(self) -> str:
        """What Exchange Online showed last, in words."""
        state = self.state()
        previous = state["previous_recipient_type_details"] or "none"
        return f"a {state['exchange_online'] or '?'} (previous mailbox: {previous})"

    def fill(self, text: str) -> str:
        return text.format(user=self.user, group=self.group)


# -- the steps ----------------------------------------------------------------------------------------------


def _membership(run: _Run, wanted: bool) -> str:
    change = (add_group_member if wanted else remove_group_member)(run.dc, group=run.group, member=run.user)
    if run.read_member() != wanted:
        raise StepFailed(f"AD still shows the user {'out of' if wanted else 'in'} {run.group} after the change")
    if not change.changed:
        return f"already {'in' if wanted else 'out of'} {run.group}: nothing sent"
    return f"{'added to' if wanted else 'removed from'} {run.group}, verified"


def _sync(run: _Run) -> str:
    """Start a delta cycle and wait for it to end; a cycle already running, or a busy connector, is waited out."""
    end = run.clock() + run.deadline_s

    def attempt() -> tuple[SyncCycleStart | None, str]:
        try:
            start = start_sync_cycle(
                run.connect, policy_type=PolicyType.DELTA, wait=True, deadline_s=max(end - run.clock(), 0.0),
                poll_s=run.poll_s, clock=run.clock, sleep=run.sleep,
            )  # fmt: skip
        except ConnectorBusyError as exc:  # another cycle's run: wait, as for a cycle in progress
            return None, f"a connector is busy ({exc})"
        return start, start.reason.value if start.reason else ""

    def settled(tried: tuple[SyncCycleStart | None, str]) -> bool:
        """Started, or refused for a reason that waiting does not change."""
        start = tried[0]
        return start is not None and (start.started or start.reason != NotStartedReason.IN_PROGRESS)

    start, why = run.wait(attempt, settled).value
    if start is not None and start.started:
        if start.finished:
            return "a delta sync cycle ran to its end"
        raise StepFailed(f"the delta sync cycle was not seen to end within {run.deadline_s:g}s")
    raise StepFailed(f"no delta sync cycle started within {run.deadline_s:g}s: {why}")


def _wait_for(run: _Run, done: Callable[[User], bool], what: str) -> str:
    """Read the user in Exchange Online every poll_s seconds until `done`, for at most deadline_s."""
    outcome = run.wait(run.read_user, done)
    reads = outcome.reads
    if isinstance(outcome, TimedOut):
        raise StepFailed(
            f"timed out after {run.deadline_s:g}s ({reads} reads): Exchange Online still shows {run.shows()}, "
            f"not {what}"
        )
    return f"Exchange Online shows {what} (read {reads} time{'s' if reads > 1 else ''})"


def _mail_user(found: User) -> bool:
    return found.recipient_type_details == MAIL_USER


def _clean_mail_user(found: User) -> bool:
    return _mail_user(found) and found.previous_recipient_type_details is None


def _clear(run: _Run) -> str:
    found = run.read_user()
    if not _mail_user(found):
        raise StepFailed(
            f"Exchange Online shows a {found.recipient_type_details.value}, not a MailUser: nothing cleared"
        )
    if found.previous_recipient_type_details is None:
        return "no previous mailbox info (already cleared): nothing sent"
    previous = found.previous_recipient_type_details.value
    clear_previous_mailbox_info(run.exo, identity=run.user, confirm_irreversible=True)
    if run.read_user().previous_recipient_type_details is not None:
        raise StepFailed("the previous mailbox info is still set after clearing it")
    return f"previous mailbox info cleared (it was {previous}), verified"


def _verify_final(run: _Run) -> str:
    problems = [] if run.read_member() else [f"the user is not in {run.group}"]
    found = run.read_user()
    if found.recipient_type_details == MAILBOX:
        problems.append("Exchange Online shows a UserMailbox again: a new cloud mailbox was provisioned")
    elif not _clean_mail_user(found):
        problems.append(f"Exchange Online shows a {found.recipient_type_details.value}, not a clean MailUser")
    if problems:
        raise StepFailed("; ".join(problems))
    return (
        f"in {run.group}, and Exchange Online shows a MailUser without previous mailbox info. The licence takes "
        "a while to apply: run `psbridge diagnose duplicate-mailbox` again later"
    )


@dataclasses.dataclass(frozen=True)
class Step:
    """One step: `plan` says what it does, `manual` how to do it by hand; `{user}` and `{group}` are filled in."""

    id: str
    name: str
    plan: str
    manual: str
    run: Callable[[_Run], str]

    @property
    def check_name(self) -> str:
        return f"step-{self.id}-{self.name}"


SYNC = "start a delta sync cycle on the Connect server and wait until it ends"
SYNC_BY_HAND = "Start-ADSyncSyncCycle -PolicyType Delta on the Connect server, and wait until it ends"
STEPS = (
    Step("1", "remove-from-group", "remove {user} from {group} in AD",
         "Remove-ADGroupMember -Identity {group} -Members <the user's DN>", lambda run: _membership(run, False)),
    Step("2", "sync-after-removal", SYNC, SYNC_BY_HAND, _sync),
    Step("3", "wait-unlicensed", "wait until Exchange Online shows a MailUser (the licence removed)",
         "check the user's licences in the Microsoft 365 admin center; Get-User {user} in Exchange Online",
         lambda run: _wait_for(run, _mail_user, "a MailUser")),
    Step("4", "clear-previous-mailbox-info",
         "permanently clear the previous mailbox info (IRREVERSIBLE: the cloud mailbox and its content are lost)",
         "Set-User {user} -PermanentlyClearPreviousMailboxInfo in Exchange Online (irreversible)", _clear),
    Step("5a", "sync-after-clear", SYNC, SYNC_BY_HAND, _sync),
    Step("5b", "wait-clean-mail-user", "wait until Exchange Online shows a MailUser without previous mailbox info",
         "Get-User {user} in Exchange Online: MailUser, PreviousRecipientTypeDetails empty",
         lambda run: _wait_for(run, _clean_mail_user, "a MailUser without previous mailbox info")),
    Step("6a", "add-to-group", "add {user} back to {group} in AD",
         "Add-ADGroupMember -Identity {group} -Members <the user's DN>", lambda run: _membership(run, True)),
    Step("6b", "sync-after-add", SYNC, SYNC_BY_HAND, _sync),
    Step("6c", "verify-final", "verify: {user} in {group}, a MailUser without previous mailbox info in Exchange Online",
         "psbridge diagnose duplicate-mailbox {user}", _verify_final),
)  # fmt: skip
STEP_IDS = tuple(step.id for step in STEPS)


# -- the repair ------------------------------------------------------------------------------------------------


def repair_duplicate_mailbox(
    targets: Targets,
    *,
    user: str,
    license_group: str,
    via_jump_host: bool | None = None,
    dry_run: bool = True,
    journal: str | os.PathLike[str] | None = None,
    deadline_s: float = 3600.0,
    poll_s: float = 30.0,
) -> Report:
    """Repair a user with a mailbox on Exchange Server and another, or its leftovers, in Exchange Online.

    `license_group` is the AD group that assigns the Exchange Online licence. The sessions are the
    `targets` of the roles dc, connect, exo and exchange (through the jump host when `via_jump_host`, by
    default as the exchange target says). A dry run (the default) only reads: the report is the plan (and,
    when `journal` exists, what it says is done). With `dry_run=False`, runs STEPS journaled in `journal`
    (required), resuming from it. `deadline_s` bounds each wait, `poll_s` spaces its reads.

    Raises:
        InputError: a missing argument, or a journal of another repair.
        TargetMissingError: the config lacks a dc, connect, exo or exchange target.
        TransportError: a target cannot be reached while the state is read. Once steps run, a step that
            fails for any reason is a failing check, so that the report says where the user is left.
    """
    user, group = required(user, "user"), required(license_group, "license group")
    if deadline_s <= 0 or poll_s <= 0:
        raise InputError("the deadline and the poll interval must be positive")
    dc, connect, exchange = (targets.session(role) for role in ("dc", "connect", "exchange"))
    exo = targets.exchange_online()
    run = _Run(user, group, dc, connect, exo, deadline_s=deadline_s, poll_s=poll_s)
    via = targets.via_jump_host("exchange") if via_jump_host is None else via_jump_host
    if dry_run:
        book = None if journal is None else RepairJournal.read(journal, user=user, group=group, steps=STEP_IDS)
        return _report(run, _preconditions(run, exchange, via), book, dry_run=True)
    if journal is None:
        raise InputError("a repair that runs needs a journal, to resume where it stops")
    with RepairJournal.open(journal, user=user, group=group, steps=STEP_IDS) as book:
        return _report(run, _preconditions(run, exchange, via), book, dry_run=False)


def _preconditions(run: _Run, exchange: Session, via: bool) -> list[Check]:
    """What must hold before anything changes; a failing check refuses the repair."""
    checks, on_premises, online = read_sides(run.exo, exchange, run.user, via)
    if checks[0].status == Status.PASS and not has_mailbox(on_premises):
        checks[0] = checks[0].model_copy(update={
            "status": Status.FAIL, "summary": f"{checks[0].summary}: there is no Exchange Server mailbox to keep",
            "fix": f"this is not the duplicate-mailbox case: psbridge diagnose duplicate-mailbox {run.user}",
        })  # fmt: skip
    if online is not None:
        run.online, mailbox = online
        refused = None
        if not (_mail_user(run.online) or run.online.recipient_type_details == MAILBOX):
            refused = "neither a mailbox nor a mail user"
        elif mailbox is not None and on_premises is not None and mailbox.exchange_guid == on_premises.exchange_guid:
            refused = "its mailbox has the Exchange Server mailbox's ExchangeGuid: it is not a second mailbox"
        if refused is not None:
            summary = f"{checks[1].summary}: {refused}"
            checks[1] = checks[1].model_copy(update={"status": Status.FAIL, "summary": summary})
    return [*checks, _group_check(run), _scheduler_check(run)]


def _group_check(run: _Run) -> Check:
    name, target = "license-group", where("dc", run.dc)
    try:
        member = run.read_member()
    except RemoteCommandError as exc:
        fix = "check the user and the group, and that the dc target has the ActiveDirectory module"
        return failed(name, f"{run.user} in {run.group}: not read", target=target, error=exc, fix=fix)
    summary = f"{run.user} is {'' if member else 'not '}a direct member of {run.group}"
    return Check(name=name, status=Status.PASS, summary=summary, evidence={"member": member}, target=target)


def _scheduler_check(run: _Run) -> Check:
    name, target = "sync-scheduler", where("connect", run.connect)
    try:
        start = start_sync_cycle(run.connect, dry_run=True)
    except RemoteCommandError as exc:
        return failed(name, "the sync scheduler was not read", target=target, error=exc)
    reason = start.reason
    evidence = {"reason": reason.value if reason else None, "staging_mode_enabled": start.staging_mode_enabled}
    fix = None
    if start.staging_mode_enabled:
        summary, fix = "a staging server: its cycles never export", "run the repair against the active Connect server"
    elif reason in (NotStartedReason.SYNC_CYCLE_DISABLED, NotStartedReason.SCHEDULER_SUSPENDED):
        summary = f"no cycle can start: {reason.value if reason else ''}"
        fix = "enable the scheduler (Set-ADSyncScheduler -SyncCycleEnabled $true), or wait for the upgrade or wizard"
    else:
        summary = "a delta cycle can start" + (" once the running one ends" if reason else "")
    status = Status.PASS if fix is None else Status.FAIL
    return Check(name=name, status=status, summary=summary, evidence=evidence, target=target, fix=fix)


def _report(run: _Run, checks: list[Check], book: RepairJournal | None, *, dry_run: bool) -> Report:
    done = [] if book is None else book.done()
    refused = any(c.status == Status.FAIL for c in checks)
    if book is not None:
        what = f"steps done: {', '.join(done)}" if done else "no step done yet"
        evidence = {"path": str(book.path), "steps_done": done}
        checks.append(Check(name="journal", status=Status.PASS, summary=f"{book.path}: {what}", evidence=evidence))
    repaired = not done and run.member is True and run.online is not None and _clean_mail_user(run.online)
    if not dry_run and not (refused or repaired):
        assert book is not None
        checks += _execute(run, book)
        return Report(runbook=RUNBOOK, subject=run.user, checks=tuple(checks))
    for step in STEPS:
        if refused:
            summary = "not run: a check above failed; nothing was changed"
        elif repaired:
            summary = "not needed"
        else:
            summary = "done earlier (journal)" if step.id in done else "would " + run.fill(step.plan)
        checks.append(Check(name=step.check_name, status=Status.SKIP, summary=summary))
    if refused:
        outcome = Check(name="outcome", status=Status.FAIL, summary="refused: nothing was changed")
    elif repaired:
        summary = "nothing to repair: in the group, and a MailUser without previous mailbox info in Exchange Online"
        outcome = Check(name="outcome", status=Status.PASS, summary=summary)
    else:
        outcome = Check(name="outcome", status=Status.PASS, summary="the plan: nothing was changed; --yes runs it")
    return Report(runbook=RUNBOOK, subject=run.user, checks=(*checks, outcome))


def _execute(run: _Run, book: RepairJournal) -> list[Check]:
    checks: list[Check] = []
    for index, step in enumerate(STEPS):
        last = book.steps.get(step.id)
        if last is not None and last["event"] == "done":
            summary = f"done earlier ({last['at']}): {last.get('summary', '')}"
            checks.append(Check(name=step.check_name, status=Status.PASS, summary=summary))
            continue
        evidence: dict[str, Any] = {}
        if last is not None:
            evidence["resumed"] = f"the last run left this step {last['event']}: its state is read before acting"
        unwritten = book.try_record(step.id, "started")
        if unwritten is not None:  # nothing of this step was done
            stopped = _stopped(run, book, step, unwritten)
            return [*checks, *_not_run(STEPS[index:], f"step {step.id} was not started"), stopped]
        try:
            summary = step.run(run)
        except (StepFailed, RemoteCommandError, TransportError) as exc:
            unwritten = book.try_record(
                step.id, "failed", summary=str(exc), outcome_unknown=isinstance(exc, OutcomeUnknownError)
            )
            checks.append(Check(name=step.check_name, status=Status.FAIL, summary=str(exc), evidence=evidence))
            return [
                *checks,
                *_not_run(STEPS[index + 1 :], f"step {step.id} failed"),
                _stopped(run, book, step, unwritten),
            ]
        checks.append(Check(name=step.check_name, status=Status.PASS, summary=summary, evidence=evidence))
        unwritten = book.try_record(step.id, "done", summary=summary)
        if unwritten is not None:  # done, and the report says so; the journal does not
            stopped = _stopped(run, book, step, unwritten, done=True)
            return [*checks, *_not_run(STEPS[index + 1 :], f"step {step.id} is not journaled"), stopped]
    evidence = {"state": run.state(), "journal": str(book.path)}
    return [*checks, Check(name="outcome", status=Status.PASS, summary="repaired: every step done", evidence=evidence)]


def _not_run(steps: Sequence[Step], why: str) -> list[Check]:
    return [Check(name=later.check_name, status=Status.SKIP, summary=f"not run: {why}") for later in steps]


def _stopped(run: _Run, book: RepairJournal, step: Step, unwritten: str | None = None, *, done: bool = False) -> Check:
    """Where the user is left, and how to go on: the same command again, or the step by hand. `unwritten`:
    the journal could not be written; `done`: `step` itself was done (but not journaled)."""
    state, steps_done = run.state(), book.done()
    member = {True: "in", False: "out of", None: "? in"}[state["member_of_group"]]
    where_ = f"step {step.id} ({step.name}) was done" if done else f"stopped at step {step.id} ({step.name})"
    summary = (
        f"{where_}; steps done: {', '.join(steps_done) or 'none'}. Now: {member} "
        f"{run.group} in AD; Exchange Online shows {run.shows()}"
    )
    fix = (
        f"run the same command again (with --yes and --journal {book.path}): it resumes at step {step.id}. Or do "
        f"step {step.id} by hand ({run.fill(step.manual)}), then run it again to go on"
    )
    evidence: dict[str, Any] = {
        "state": state,
        "steps_done": steps_done,
        "resume_at": step.id,
        "journal": str(book.path),
    }
    if unwritten is not None:
        summary += f". The journal could not be written: {unwritten}"
        fix = (
            f"make the journal writable (free disk space), then run the same command again: it reads the state "
            f"before it acts, so step {step.id} is verified{', not repeated' if done else ''}"
        )
        evidence["journal_error"] = unwritten
    return Check(name="outcome", status=Status.FAIL, summary=summary, evidence=evidence, fix=fix)
