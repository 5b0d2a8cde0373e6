"""The Connect Sync to Cloud Sync migration of one AD domain, and its rollback (issue 17).

`migrate_cloud_sync` composes the library's steps (`steps.STEPS`) in Microsoft's documented order
(https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/how-to-inbound-synch-ms-graph for the
configuration over Graph, https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/tutorial-pilot-aadc-aadccp
for pausing Connect Sync's scheduler, testing and switching over):

    1 preflight      2 backup      3 configuration      4 ou-scope
    5 mappings       6 test        7 cutover            8 handover

A plan (the default, `dry_run=True`) only reads, and says what each step would do; a step the plan
already refuses (a mistyped OU, a warning not accepted, no test user) is a failing check and nothing is
changed. Run, each step is journaled when it starts and ends (`MigrationJournal`); run again with the
same journal, the steps done are skipped and the first one not done runs again, reading before it acts.
`until` stops after a step (to review the tested configuration before the cut-over). Every wait ends
at `deadline_s`. `rollback_cloud_sync` pauses the domain's Cloud Sync jobs and turns Connect's
scheduler on again, each read back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from psbridge import adsync
from psbridge.cloudsync import configure
from psbridge.cloudsync.graph import suspend_job
from psbridge.cloudsync.models import same
from psbridge.config import TargetMissingError
from psbridge.defaults import AGENT_MINIMUM, REMOTE_EXPORT_PATH
from psbridge.errors import InputError, LocalWriteError, RemoteCommandError, TransportError
from psbridge.runbooks.cloudsync_migration.journal import MigrationJournal
from psbridge.runbooks.cloudsync_migration.steps import (
    STEP_IDS,
    STEPS,
    ConnectAfter,
    Manual,
    Run,
    Settings,
    Step,
    StepFailed,
    check_test_users,
    config_from,
    resolve_ous,
)
from psbridge.runbooks.report import Check, Report, Status, failed
from psbridge.wait import Clock, Sleep

if TYPE_CHECKING:
    from psbridge.adsync.migration import MigrationFacts
    from psbridge.session import Session
    from psbridge.targets import Targets
    from psbridge.versions import Version

RUNBOOK = "migrate-cloud-sync"
ROLLBACK_RUNBOOK = "rollback-cloud-sync"
_STOPPERS = (StepFailed, RemoteCommandError, TransportError, InputError, LocalWriteError)


def migrate_cloud_sync(
    targets: Targets,
    *,
    domain: str | None = None,
    ous: Sequence[str] = (),
    test_users: Sequence[str] = (),
    accept_warnings: Sequence[str] = (),
    backup: str | os.PathLike[str] = ".",
    backup_remote_path: str = REMOTE_EXPORT_PATH,
    mappings: Mapping[str, str] | None = None,
    connect_after: ConnectAfter = "disabled",
    password_hash: bool | None = None,
    agent_minimum: Version | str = AGENT_MINIMUM,
    agent_version: Version | str | None = None,
    dry_run: bool = True,
    journal: str | os.PathLike[str] | None = None,
    until: str | None = None,
    deadline_s: float = 3600.0,
    poll_s: float = 30.0,
    now: dt.datetime | None = None,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> Report:
    """Migrate one AD domain from Connect Sync to Cloud Sync (the module doc lists the steps).

    The sessions are the `targets` of the roles connect, dc and cloudsync-agent, and Microsoft Graph
    app-only (`targets.graph()`). `domain` defaults to the one domain Connect syncs; `ous` to Connect's
    own OU filter of it where psbridge can read one. `test_users` (UPNs or DNs, at most 5) are provisioned
    on demand before the cut-over. `accept_warnings` names preflight warnings the operator accepts.
    `connect_after="staging"` asks, after the cut-over, for Connect's staging mode (a wizard step),
    verified on the next run. `password_hash` overrides what Connect's sign-on method says. `now` is when
    the cut-over starts the jobs, their runs judged from then (default `targets.now()`).

    Raises:
        InputError: bad arguments, a domain Connect does not sync, or a journal of another domain.
        TargetMissingError: a role without a target, or no Graph.
        TransportError: a target cannot be reached before a step runs (a step that fails for any
            reason is a failing check, so the report says where the migration stands).
    """
    if until is not None and until not in STEP_IDS:
        raise InputError(f"--until takes a step number, 1 to {len(STEPS)}, not {until!r}")
    if deadline_s <= 0 or poll_s <= 0:
        raise InputError("the deadline and the poll interval must be positive")
    check_test_users(test_users)
    _require_graph(targets)
    settings = Settings(
        domain=domain,
        ous=_unique(ous),
        test_users=_unique(test_users),
        accept=frozenset(accept_warnings),
        backup=backup,
        backup_remote_path=backup_remote_path,
        mappings=dict(mappings or {}),
        connect_after=connect_after,
        password_hash=password_hash,
        agent_minimum=agent_minimum,
        agent_version=agent_version,
        deadline_s=deadline_s,
        poll_s=poll_s,
        now=now,
    )
    facts = adsync.get_migration_facts(targets.session("connect"), password_hash_sync=password_hash)
    run = Run(targets, settings, facts, _domain(facts, domain), clock=clock, sleep=sleep)
    resolve_ous(run)
    path = Path(journal) if journal is not None else None
    if dry_run:
        book = None if path is None else MigrationJournal(path, run.domain, STEP_IDS).read_if_present()
        return _plan(run, book)
    if path is None:
        raise InputError("a migration that runs needs a journal, to resume where it stops")
    with MigrationJournal(path, run.domain, STEP_IDS).opened() as book:
        return _execute(run, book, until)


def _require_graph(targets: Targets) -> None:
    if not targets.has_graph():
        raise TargetMissingError(
            "migrate cloud-sync needs Microsoft Graph app-only credentials ([graph] in the config file, or "
            "PSBRIDGE_GRAPH_TENANT_ID, PSBRIDGE_GRAPH_CLIENT_ID and a certificate or secret) with "
            "Synchronization.ReadWrite.All and Application.ReadWrite.OwnedBy"
        )


def _domain(facts: MigrationFacts, given: str | None) -> str:
    known = [d.fqdn for d in facts.domains]
    if given is not None:
        wanted = given.strip().rstrip(".")
        found = next((d for d in known if same(d, wanted)), None)
        if found is None:
            raise InputError(
                f"Connect on {facts.target} does not sync {given!r}: it syncs {', '.join(known) or 'no domain'}"
            )
        return found
    if len(known) != 1:
        raise InputError(f"Connect on {facts.target} syncs {', '.join(known) or 'no domain'}: name one with --domain")
    return known[0]


def _unique(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in values if v.strip()))


# -- the plan -----------------------------------------------------------------------------------------------


def _plan(run: Run, book: MigrationJournal | None) -> Report:
    """Every step's dry run, in order; the first refusal ends the plan (what follows depends on it)."""
    done = [] if book is None else book.done()
    if book is not None and "3" in done:
        run.config = config_from(run.domain, book.data("3"))
    checks: list[Check] = []
    refused = False
    for index, step in enumerate(STEPS):
        if step.id in done:
            checks.append(Check(name=step.check_name, status=Status.SKIP, summary="done earlier (journal)"))
            continue
        try:
            outcome = step.run(run, True)
        except _STOPPERS as exc:
            checks += [*_preflight_checks(run, step), _failed(step, exc, dry_run=True)]
            checks += _not_run(STEPS[index + 1 :], f"step {step.id} refuses")
            refused = True
            break
        checks += _preflight_checks(run, step)
        checks.append(
            Check(name=step.check_name, status=Status.SKIP, summary=outcome.summary, evidence=outcome.evidence)
        )
    if refused:
        outcome_check = Check(name="outcome", status=Status.FAIL, summary="refused: nothing was changed")
    else:
        summary = "the plan: nothing was changed; --yes runs it" + (f" (steps done: {', '.join(done)})" if done else "")
        outcome_check = Check(
            name="outcome",
            status=Status.PASS,
            summary=summary,
            evidence={"ous": list(run.ous), "ous_source": run.ous_source},
        )
    return Report(runbook=RUNBOOK, subject=run.domain, checks=(*checks, outcome_check))


def _preflight_checks(run: Run, step: Step) -> list[Check]:
    """The preflight's own checks, shown under step 1 (named `preflight: <check>`)."""
    if step.id != "1":
        return []
    return [c.model_copy(update={"name": f"preflight: {c.name}"}) for c in run.preflight]


# -- the run ------------------------------------------------------------------------------------------------


def _execute(run: Run, book: MigrationJournal, until: str | None) -> Report:
    checks: list[Check] = []
    if "3" in book.done():
        run.config = config_from(run.domain, book.data("3"))
    for index, step in enumerate(STEPS):
        last = book.steps.get(step.id)
        if last is not None and last["event"] == "done":
            checks.append(
                Check(
                    name=step.check_name,
                    status=Status.PASS,
                    summary=f"done earlier ({last['at']}): {last.get('summary', '')}",
                )
            )
            continue
        resumed = (
            {} if last is None else {"resumed": f"the last run left this step {last['event']}: read before acting"}
        )
        unwritten = book.try_record(step.id, "started")
        if unwritten is not None:
            return _end(
                run,
                [*checks, *_not_run(STEPS[index:], f"step {step.id} was not started")],
                _stopped(book, step, unwritten),
            )
        try:
            outcome = step.run(run, False)
        except _STOPPERS as exc:
            unwritten = book.try_record(step.id, "failed", summary=str(exc), manual=isinstance(exc, Manual))
            checks += [*_preflight_checks(run, step), _failed(step, exc, dry_run=False, evidence=resumed)]
            checks += _not_run(STEPS[index + 1 :], f"step {step.id} did not finish")
            return _end(run, checks, _stopped(book, step, unwritten, manual=isinstance(exc, Manual)))
        checks += _preflight_checks(run, step)
        checks.append(
            Check(
                name=step.check_name,
                status=Status.PASS,
                summary=outcome.summary,
                evidence={**resumed, **outcome.evidence},
            )
        )
        unwritten = book.try_record(step.id, "done", summary=outcome.summary, data=outcome.data)
        if unwritten is not None:
            checks += _not_run(STEPS[index + 1 :], f"step {step.id} is not journaled")
            return _end(run, checks, _stopped(book, step, unwritten, done=True))
        if step.id == until and index + 1 < len(STEPS):
            checks += _not_run(STEPS[index + 1 :], f"--until {until}")
            summary = f"stopped after step {step.id} ({step.name}) as asked; run again without --until to go on"
            return _end(
                run,
                checks,
                Check(
                    name="outcome",
                    status=Status.PASS,
                    summary=summary,
                    evidence={"journal": str(book.path), "steps_done": book.done()},
                ),
            )
    return _end(run, checks, _migrated(run, book))


def _migrated(run: Run, book: MigrationJournal) -> Check:
    """The end of a migration: what Cloud Sync now does, and what is left to the operator, and when."""
    server = run.connect.target
    after = [
        "watch the Cloud Sync jobs for a few cycles: psbridge cloudsync jobs --via graph",
        "while you may still want to go back: psbridge migrate cloud-sync --rollback --yes",
        "when you no longer need the way back: turn off Connect Sync's tenant-wide accidental-deletion prevention "
        "(psbridge cloudsync disable-dirsync-deletion-prevention, a Global Administrator's interactive sign-in), then "
        f"uninstall Microsoft Entra Connect Sync from Programs and Features on {server}; uninstalling ends the "
        "way back",
    ]
    return Check(
        name="outcome",
        status=Status.PASS,
        summary=f"migrated: Cloud Sync synchronizes {run.domain}; Connect Sync on {server} is kept as the way back",
        evidence={"journal": str(book.path), "steps_done": book.done(), "next": after},
    )


def _end(run: Run, checks: list[Check], outcome: Check) -> Report:
    return Report(runbook=RUNBOOK, subject=run.domain, checks=(*checks, outcome))


def _failed(step: Step, exc: Exception, *, dry_run: bool, evidence: Mapping[str, Any] | None = None) -> Check:
    fix = getattr(exc, "fix", None)
    found = {**(evidence or {}), **getattr(exc, "evidence", {})}
    if not isinstance(exc, StepFailed):
        found |= {"error": type(exc).__name__}
    status = Status.WARN if isinstance(exc, Manual) else Status.FAIL
    summary = str(exc) if not dry_run else f"refused: {exc}"
    return Check(name=step.check_name, status=status, summary=summary, evidence=found, fix=fix)


def _not_run(steps: Sequence[Step], why: str) -> list[Check]:
    return [Check(name=later.check_name, status=Status.SKIP, summary=f"not run: {why}") for later in steps]


def _stopped(
    book: MigrationJournal, step: Step, unwritten: str | None, *, done: bool = False, manual: bool = False
) -> Check:
    steps_done = book.done()
    where = f"step {step.id} ({step.name}) was done" if done else f"stopped at step {step.id} ({step.name})"
    summary = f"{where}; steps done: {', '.join(steps_done) or 'none'}"
    fix = f"run the same command again (with --yes and --journal {book.path}): it resumes at step {step.id}"
    if manual:
        summary = f"waiting for you at step {step.id} ({step.name}): do what it says above"
    evidence: dict[str, Any] = {"steps_done": steps_done, "resume_at": step.id, "journal": str(book.path)}
    if unwritten is not None:
        summary += f". The journal could not be written: {unwritten}"
        fix = "make the journal writable (free disk space), then run the same command again: each step reads first"
        evidence["journal_error"] = unwritten
    status = Status.WARN if manual and unwritten is None else Status.FAIL
    return Check(name="outcome", status=status, summary=summary, evidence=evidence, fix=fix)


# -- the rollback -------------------------------------------------------------------------------------------


def rollback_cloud_sync(
    targets: Targets,
    *,
    domain: str | None = None,
    dry_run: bool = True,
    journal: str | os.PathLike[str] | None = None,
) -> Report:
    """Pause the domain's Cloud Sync jobs and turn Connect's sync scheduler on again, each read back.

    With a `journal` of the migration, its cut-over and hand-over are marked not done (failed,
    "rolled back"), so the migration run again cuts over again. A plan (`dry_run`) only reads.
    """
    _require_graph(targets)
    connect = targets.session("connect")
    facts = adsync.get_migration_facts(connect)
    name = _domain(facts, domain)
    path = Path(journal) if journal is not None else None
    with contextlib.ExitStack() as stack:
        book = None  # the journal, locked before anything changes; another domain's is refused then
        if path is not None and path.exists():
            book = MigrationJournal(path, name, STEP_IDS)
            if dry_run:
                book.read_if_present()
            else:
                stack.enter_context(book.opened())
        checks = _roll_back(targets, name, connect, dry_run)
        failed = any(c.status == Status.FAIL for c in checks)
        if book is not None and not dry_run and not failed:
            for step in ("7", "8"):
                if step in book.steps:
                    book.record(step, "failed", summary="rolled back: Cloud Sync paused, Connect's scheduler on")
    if dry_run:
        outcome = Check(name="outcome", status=Status.PASS, summary="the plan: nothing was changed; --yes runs it")
    elif failed:
        outcome = Check(name="outcome", status=Status.FAIL, summary="not rolled back: see the failing check above")
    else:
        outcome = Check(
            name="outcome",
            status=Status.PASS,
            summary=f"rolled back: Connect Sync synchronizes {name} again; its Cloud Sync jobs are paused",
        )
    return Report(runbook=ROLLBACK_RUNBOOK, subject=name, checks=(*checks, outcome))


def _roll_back(targets: Targets, domain: str, connect: Session, dry_run: bool) -> list[Check]:
    """Each of the domain's Cloud Sync jobs paused, then Connect's scheduler on: a check each."""
    graph = targets.graph()
    config = configure.get_configuration(graph, domain=domain)
    checks = [_pause_job(graph, job, dry_run) for job in (config.job_ids if config is not None else ())]
    if config is None:
        summary = f"{domain} has no Cloud Sync configuration: no job to pause"
        checks.append(Check(name="cloud-sync-jobs", status=Status.PASS, target="graph", summary=summary))
    if any(c.status == Status.FAIL for c in checks):  # both engines would write
        summary = "left off: a Cloud Sync job is not paused, and Connect Sync and Cloud Sync would both write"
        fix = "pause the job (psbridge cloudsync suspend --via graph --job-id JOB --yes), then run the rollback again"
        return [
            *checks,
            Check(name="connect-scheduler", status=Status.FAIL, target="connect", summary=summary, fix=fix),
        ]
    return [*checks, _resume_connect(connect, dry_run)]


def _pause_job(graph: Any, job: str, dry_run: bool) -> Check:
    name = f"pause {job}"
    try:
        change = suspend_job(graph, job_id=job, dry_run=dry_run)
    except (RemoteCommandError, TransportError) as exc:
        return failed(name, f"not paused: {exc}", target="graph", error=exc)
    before = change.before.code if change.before is not None else None
    after = change.after.code if change.after is not None else None
    if dry_run:
        summary = f"would pause it ({before})" if change.would_change else f"already {before}: nothing to send"
        return Check(name=name, status=Status.SKIP, target="graph", summary=summary)
    if not same(after, "Paused"):
        return Check(name=name, status=Status.FAIL, target="graph", summary=f"still {after} after the pause")
    summary = f"paused ({before} -> {after}, read back)" if change.changed else "already Paused: nothing sent"
    return Check(name=name, status=Status.PASS, target="graph", summary=summary)


def _resume_connect(connect: Any, dry_run: bool) -> Check:
    name = "connect-scheduler"
    try:
        change = adsync.resume_after_rollback(connect, dry_run=dry_run)
    except (RemoteCommandError, TransportError) as exc:
        return failed(name, f"not turned on: {exc}", target="connect", error=exc)
    if dry_run:
        summary = "would turn Connect's scheduler on" if change.would_change else "Connect's scheduler is on already"
        return Check(name=name, status=Status.SKIP, target="connect", summary=summary)
    staging = change.after.staging_mode_enabled
    summary = "turned on, read back" if change.changed else "on already: nothing sent"
    if staging:
        return Check(
            name=name,
            status=Status.WARN,
            target="connect",
            summary=f"{summary}; Connect is in staging mode, so its cycles export nothing",
            fix="turn staging mode off in the Connect wizard (Configure, Configure staging mode)",
        )
    return Check(name=name, status=Status.PASS, target="connect", summary=f"Connect's scheduler {summary}")
