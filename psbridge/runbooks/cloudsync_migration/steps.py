"""The steps of `psbridge migrate cloud-sync`, each composing the library functions of one stage.

Every step takes `dry_run`: in a plan it reads what it needs and says what it would do; run, it acts
through functions that read first, send nothing when the state already matches, and read their work
back. A step that cannot go on raises `StepFailed` (`Manual`: the operator must do something only the
portal or the Connect wizard can do; the step verifies it when run again).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from psbridge import ad, adsync
from psbridge.ad.scope import partition_of
from psbridge.cloudsync import configure
from psbridge.cloudsync.configure_models import PASSWORD_HASH_TEMPLATE, PROVISIONING_TEMPLATE, CloudSyncConfiguration
from psbridge.cloudsync.graph import provision_on_demand
from psbridge.cloudsync.models import of_template
from psbridge.defaults import AGENT_MINIMUM
from psbridge.errors import InputError
from psbridge.runbooks.migration import check_cloud_sync_migration
from psbridge.runbooks.report import Check, Status
from psbridge.wait import Clock, Sleep

if TYPE_CHECKING:
    from psbridge.adsync.migration import MigrationFacts
    from psbridge.graph.client import GraphClient
    from psbridge.session import Session
    from psbridge.targets import Targets
    from psbridge.versions import Version

ConnectAfter = Literal["disabled", "staging"]
MAX_TEST_USERS = 5  # Graph allows 5 provisionOnDemand requests per 10 seconds (docs/cloudsync.md)
NEW = configure.NEW


class StepFailed(Exception):
    """A step could not do or verify what it should; `fix` says how to go on."""

    def __init__(self, summary: str, *, fix: str | None = None, evidence: Mapping[str, Any] | None = None) -> None:
        super().__init__(summary)
        self.fix = fix
        self.evidence = dict(evidence or {})


class Manual(StepFailed):
    """The operator must act where psbridge cannot (the portal, the Connect wizard); a re-run verifies it."""


@dataclasses.dataclass
class Outcome:
    """What a step did (or in a plan would do): one line, the values behind it, and `data` for the journal."""

    summary: str
    evidence: dict[str, Any] = dataclasses.field(default_factory=dict)
    data: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Settings:
    """What the operator asked for (`migrate_cloud_sync`'s arguments)."""

    domain: str | None = None
    ous: tuple[str, ...] = ()
    test_users: tuple[str, ...] = ()
    accept: frozenset[str] = frozenset()
    backup: str | os.PathLike[str] = "."
    backup_remote_path: str = ""
    mappings: Mapping[str, str] = dataclasses.field(default_factory=dict)
    connect_after: ConnectAfter = "disabled"
    password_hash: bool | None = None
    agent_minimum: Version | str = AGENT_MINIMUM
    agent_version: Version | str | None = None
    deadline_s: float = 3600.0
    poll_s: float = 30.0
    now: dt.datetime | None = None  # when the cut-over starts the jobs; default: the targets' now


@dataclasses.dataclass
class Run:
    """One run of the migration: its targets and settings, and what the steps found so far."""

    targets: Targets
    settings: Settings
    facts: MigrationFacts
    domain: str
    clock: Clock = time.monotonic
    sleep: Sleep = time.sleep
    preflight: list[Check] = dataclasses.field(default_factory=list)
    config: CloudSyncConfiguration | None = None
    ous: tuple[str, ...] = ()
    ous_source: str = ""

    @property
    def connect(self) -> Session:
        return self.targets.session("connect")

    @property
    def dc(self) -> Session:
        return self.targets.session("dc")

    @property
    def graph(self) -> GraphClient:
        return self.targets.graph()

    @property
    def partition(self) -> str:
        """The domain's partition DN (DC=contoso,DC=example), as Connect's AD connector selects it."""
        scope = self.facts.scope_of(self.domain)
        return scope.partition if scope is not None else ",".join(f"DC={p}" for p in self.domain.split("."))

    def now(self) -> dt.datetime:
        """The time a started job's runs are judged from (`Targets.now()`: under replay, the recordings' time)."""
        return self.settings.now or self.targets.now()

    def job(self, template: str) -> str | None:
        """The configuration's job of `template` (None before step 3 ran, or `<template>.<new>` in a plan)."""
        ids = self.config.job_ids if self.config is not None else ()
        return next((j for j in ids if of_template(j, template)), None)

    def provisioning_job(self) -> str:
        job = self.job(PROVISIONING_TEMPLATE)
        if job is None:
            raise StepFailed(f"the Cloud Sync configuration of {self.domain} has no {PROVISIONING_TEMPLATE} job")
        return job


# -- 1. the preflight ---------------------------------------------------------------------------------------


def accepted(check: Check, accept: frozenset[str]) -> bool:
    """Whether the operator accepted this warning, by its name or the name's first word (`scoping-ou`)."""
    return check.status == Status.WARN and (check.name in accept or check.name.split(" ")[0] in accept)


def run_preflight(run: Run, dry_run: bool) -> Outcome:
    """`check cloud-sync-migration` for the OUs to scope; its backup check is step 2's work, so it is left out.
    Every check must pass, or warn with the warning accepted (`--accept-warning NAME`); a failure cannot be."""
    s = run.settings
    report = check_cloud_sync_migration(
        run.targets, ous=run.ous, agent_minimum=s.agent_minimum, agent_version=s.agent_version
    )
    checks = [c for c in report.checks if c.name != "configuration-backup"]
    run.preflight = [
        c.model_copy(
            update={
                "status": Status.PASS,
                "summary": f"warning accepted: {c.summary}",
                "evidence": {**c.evidence, "accepted": True},
            }
        )
        if accepted(c, s.accept)
        else c
        for c in checks
    ]
    open_ = [c.name for c in run.preflight if c.status in (Status.WARN, Status.FAIL)]
    if open_:
        raise StepFailed(
            f"the preflight did not pass: {', '.join(open_)} (shown above)",
            fix="fix each failing check; a warning may be accepted, once read, with --accept-warning NAME "
            "(e.g. --accept-warning plan); a failure cannot be",
        )
    taken = [c.name for c in run.preflight if c.evidence.get("accepted")]
    return Outcome("every check passed" + (f"; warnings accepted: {', '.join(taken)}" if taken else ""))


# -- 2. the backup ------------------------------------------------------------------------------------------


def run_backup(run: Run, dry_run: bool) -> Outcome:
    """Export Connect's configuration on the server, copy it here, and check the zip reads back."""
    s = run.settings
    if dry_run:
        return Outcome(
            f"would export Connect's configuration to {s.backup_remote_path} on {run.connect.target}, "
            f"copy it into {os.path.abspath(s.backup)} and check every file reads back"
        )
    export = adsync.get_server_configuration(run.connect, path=s.backup_remote_path, fetch_to=s.backup)
    copy = os.path.abspath(export.local_path or s.backup)
    data = {"local_path": copy, "sha256": export.sha256, "files": export.file_count}
    summary = f"{export.file_count} files exported and copied to {copy}, verified, SHA-256 {export.sha256}"
    return Outcome(summary, evidence=dict(data), data=data)


# -- 3. the configuration -----------------------------------------------------------------------------------


def password_hash(run: Run) -> bool:
    known = run.settings.password_hash if run.settings.password_hash is not None else run.facts.password_hash_sync
    if known is None:
        raise StepFailed(
            f"whether Connect syncs password hashes is not known ({run.facts.password_hash_sync_source})",
            fix="say it: --password-hash or --no-password-hash",
        )
    return known


def run_configuration(run: Run, dry_run: bool) -> Outcome:
    """Create (or complete) the domain's Cloud Sync configuration: the template, the jobs, AppKey and Domain."""
    phs = password_hash(run)
    change = configure.create_configuration(
        run.graph,
        domain=run.domain,
        password_hash=phs,
        dry_run=dry_run,
        deadline_s=run.settings.deadline_s,
        poll_s=run.settings.poll_s,
        clock=run.clock,
        sleep=run.sleep,
    )
    run.config = change.after
    jobs = ", ".join(change.after.job_ids)
    evidence: dict[str, Any] = {
        "requests": list(change.requests),
        "password_hash": phs,
        "jobs": list(change.after.job_ids),
    }
    if not change.would_change:
        return Outcome(
            f"the configuration of {run.domain} exists with its jobs and secrets: nothing sent ({jobs})",
            evidence=evidence,
            data=_config_data(change.after),
        )
    if dry_run:
        return Outcome(
            f"would send {len(change.requests)} request(s): " + "; ".join(change.requests), evidence=evidence
        )
    summary = f"{len(change.requests)} request(s) sent and read back: service principal "
    summary += f"{change.after.service_principal_id}, jobs {jobs}"
    return Outcome(summary, evidence=evidence, data=_config_data(change.after))


def _config_data(config: CloudSyncConfiguration) -> dict[str, Any]:
    return {
        "service_principal_id": config.service_principal_id,
        "job_ids": list(config.job_ids),
        "templates": list(config.templates),
    }


def config_from(domain: str, data: Mapping[str, Any]) -> CloudSyncConfiguration:
    """The configuration as step 3 journaled it, for a resumed run."""
    return CloudSyncConfiguration(
        domain=domain,
        service_principal_id=data.get("service_principal_id"),
        job_ids=tuple(data.get("job_ids") or ()),
        templates=tuple(data.get("templates") or ()),
    )


# -- 4. the OU scope ----------------------------------------------------------------------------------------


WHOLE_DOMAIN = "Connect syncs the whole domain"


def resolve_ous(run: Run) -> None:
    """The OUs to scope: those given, else Connect's own OU filter of the domain where psbridge reads one."""
    if run.settings.ous:
        outside = [ou for ou in run.settings.ous if partition_of(ou, [run.partition]) is None]
        if outside:
            raise InputError(
                f"not in {run.domain} ({run.partition}): {', '.join(outside)}; a configuration scopes one domain's "
                "OUs (migrate another domain with --domain)"
            )
        run.ous, run.ous_source = run.settings.ous, "given (--ou)"
        return
    scope = run.facts.scope_of(run.domain)
    if scope is not None and scope.inclusions and not scope.exclusions:
        run.ous, run.ous_source = scope.inclusions, f"Connect's OU filter ({scope.connector})"
    elif scope is not None and scope.inclusions == () and not scope.exclusions:
        run.ous, run.ous_source = (), WHOLE_DOMAIN
    else:
        run.ous_source = _why_no_connect_scope(scope)


def _why_no_connect_scope(scope: Any) -> str:
    if scope is None or scope.inclusions is None:
        return "unknown: psbridge cannot read Connect's OU filter of this domain"
    return f"Connect's OU filter excludes {', '.join(scope.exclusions)}, which Cloud Sync's OU filter cannot express"


def run_scope(run: Run, dry_run: bool) -> Outcome:
    """Write the OUs into the provisioning job's OU filter (checked against AD by the preflight), as a diff."""
    if not run.ous:
        if run.ous_source == WHOLE_DOMAIN:
            return Outcome("Connect syncs the whole domain, and so does a job without an OU filter: nothing to scope")
        raise StepFailed(f"no OU to scope to: {run.ous_source}", fix="give each OU to sync with --ou DN")
    job = run.provisioning_job()
    evidence: dict[str, Any] = {"ous": list(run.ous), "source": run.ous_source, "job": job}
    if job.endswith(NEW):
        shown = "; ".join(f"+ {ou}" for ou in run.ous)
        return Outcome(f"would scope the new {PROVISIONING_TEMPLATE} job to {len(run.ous)} OU(s): {shown}", evidence)
    change = configure.set_ou_scope(run.graph, job_id=job, ous=run.ous, dry_run=dry_run)
    diff = [*(f"+ {ou}" for ou in change.added), *(f"- {ou}" for ou in change.removed)]
    evidence |= {"before": list(change.before.ous), "after": list(change.after.ous), "diff": diff}
    if not change.would_change:
        return Outcome(
            f"the job is scoped to these OUs already: nothing sent ({len(run.ous)} OU(s))",
            evidence,
            data={"ous": list(run.ous)},
        )
    verb = "would write" if dry_run else "wrote and read back"
    return Outcome(f"{verb} the OU filter: {'; '.join(diff)}", evidence, data={"ous": list(change.after.ous)})


# -- 5. the attribute mappings ------------------------------------------------------------------------------


def run_mappings(run: Run, dry_run: bool) -> Outcome:
    """Show the user mappings; change those given with --mapping (a diff), and nothing else."""
    job = run.provisioning_job()
    wanted = dict(run.settings.mappings)
    if job.endswith(NEW):
        asked = "; ".join(f"{t} <- {e}" for t, e in wanted.items())
        return Outcome(
            "the template's default mappings, shown once the job exists" + (f"; would set {asked}" if asked else "")
        )
    if wanted:
        change = configure.set_attribute_mappings(run.graph, job_id=job, mappings=wanted, dry_run=dry_run)
        if not change.would_change:
            return Outcome(f"the mappings asked for are in place: nothing sent ({', '.join(change.targets)})")
        verb = "would change" if dry_run else "changed and read back"
        return Outcome(f"{verb}: {'; '.join(change.lines)}", {"diff": list(change.lines)})
    mappings = configure.get_attribute_mappings(run.graph, job_id=job)
    shown = {
        f"{m.source_object_name} -> {m.target_object_name}": [
            f"{a.target_attribute_name} <- {a.source or ''}" for a in m.attribute_mappings
        ]
        for m in mappings.object_mappings
        if (m.source_object_name or "").casefold() == "user"
    }
    count = sum(len(v) for v in shown.values())
    return Outcome(f"{count} user attribute mappings, the template's, unchanged (change one with --mapping)", shown)


# -- 6. provision on demand ---------------------------------------------------------------------------------


def run_test(run: Run, dry_run: bool) -> Outcome:
    """Provision each test user on demand, by the DN AD gives for its UPN or DN; stop on the first failure."""
    users = run.settings.test_users
    if not users:
        raise StepFailed("no test user named", fix="name a user in the OUs to scope with --test-user UPN (or DN)")
    job = run.provisioning_job()
    results: dict[str, Any] = {}
    for user in users:
        dn = ad.find_user_dn(run.dc, identity=user)
        if job.endswith(NEW):
            results[user] = {"dn": dn, "would": "provision on demand once the job exists"}
            continue
        result = provision_on_demand(run.graph, job_id=job, distinguished_name=dn, dry_run=dry_run)
        steps = result.planned_steps if dry_run else result.stages
        results[user] = {"dn": dn, "result": result.result, "steps": steps}
        if not dry_run and not result.succeeded:
            info = result.status_info
            why = f": {info.error_code} {info.reason or ''}".rstrip() if info is not None and info.error_code else ""
            raise StepFailed(
                f"provision on demand of {user} ({dn}) ended {result.result or 'without a result'}{why}",
                fix="read each step above (Import, Scoping, Matching, Export), fix the cause (the OU filter, the "
                "mappings, the user in AD), then run again; nothing is cut over until every test user succeeds",
                evidence={"users": results},
            )
    if dry_run:
        return Outcome(f"would provision {len(users)} test user(s) on demand: {', '.join(users)}", {"users": results})
    return Outcome(f"{len(users)} test user(s) provisioned on demand: every step succeeded", {"users": results})


def check_test_users(users: Sequence[str]) -> None:
    if len(users) > MAX_TEST_USERS:
        raise InputError(
            f"at most {MAX_TEST_USERS} test users: Graph allows {MAX_TEST_USERS} provision-on-demand requests per "
            "10 seconds"
        )


# -- 7. the cut-over ----------------------------------------------------------------------------------------

ROLLBACK = "psbridge migrate cloud-sync --rollback --yes turns Connect's scheduler on again and pauses the jobs"


def run_cutover(run: Run, dry_run: bool) -> Outcome:
    """Pause Connect's scheduler (a running cycle waited out), then start each Cloud Sync job and watch it."""
    s = run.settings
    pause = adsync.pause_for_cutover(
        run.connect, dry_run=dry_run, deadline_s=s.deadline_s, poll_s=s.poll_s, clock=run.clock, sleep=run.sleep
    )
    jobs = [j for j in (run.job(PROVISIONING_TEMPLATE), run.job(PASSWORD_HASH_TEMPLATE)) if j is not None]
    if dry_run:
        off = "would turn Connect's scheduler off" if pause.scheduler.would_change else "Connect's scheduler is off"
        return Outcome(
            f"{off}, then start {len(jobs)} Cloud Sync job(s) and watch them for up to {s.deadline_s:g}s until steady",
            {"jobs": jobs},
        )
    if not pause.ready:
        raise StepFailed(
            f"Connect's sync cycle did not end within {s.deadline_s:g}s; its scheduler is off",
            fix=f"run again to wait longer, or {ROLLBACK}",
        )
    watched: dict[str, Any] = {}
    for job in jobs:
        watch = configure.start_and_watch(
            run.graph,
            job_id=job,
            deadline_s=s.deadline_s,
            poll_s=s.poll_s,
            clock=run.clock,
            sleep=run.sleep,
            now=run.now,
        )
        watched[job] = {
            "outcome": watch.outcome,
            "status": watch.after.code,
            "counts": watch.counts,
            "reads": watch.reads,
            "started": watch.changed,
        }
        if not watch.ok:
            raise StepFailed(
                f"the job {job} is not steady: {watch.reason}; Connect's scheduler is off",
                fix=f"fix the cause (psbridge cloudsync jobs --via graph shows the job), then run again; or {ROLLBACK}",
                evidence={"jobs": watched},
            )
    counts = watched[jobs[0]]["counts"] if jobs else {}
    shown = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
    return Outcome(
        f"Connect's scheduler off (verified); {len(jobs)} Cloud Sync job(s) steady ({shown})", {"jobs": watched}
    )


# -- 8. the hand-over ---------------------------------------------------------------------------------------

STAGING_BY_HAND = (
    "on {server}, open Microsoft Entra Connect, choose Configure, then Configure staging mode, tick Enable "
    "staging mode and finish the wizard (Microsoft supports no cmdlet for it); then run this command again"
)


def run_handover(run: Run, dry_run: bool) -> Outcome:
    """Connect stays installed with its scheduler off, or in staging mode (the wizard's work, verified here)."""
    server = run.connect.target
    staging = run.settings.connect_after == "staging"
    if dry_run:
        extra = "; then ask you to turn on staging mode in the Connect wizard, and verify it" if staging else ""
        return Outcome(f"would verify Connect's scheduler is still off{extra}")
    scheduler = adsync.get_scheduler(run.connect)
    evidence = {
        "sync_cycle_enabled": scheduler.sync_cycle_enabled,
        "staging_mode_enabled": scheduler.staging_mode_enabled,
    }
    if scheduler.sync_cycle_enabled:
        raise StepFailed(
            f"Connect's scheduler on {server} is on again: Connect Sync and Cloud Sync would both write",
            fix=f"run the migration again from the cut-over (psbridge turns it off), or {ROLLBACK}",
            evidence=evidence,
        )
    if staging and not scheduler.staging_mode_enabled:
        raise Manual(
            f"staging mode is not on on {server}", fix=STAGING_BY_HAND.format(server=server), evidence=evidence
        )
    kept = "in staging mode" if scheduler.staging_mode_enabled else "with its scheduler off"
    return Outcome(f"Connect Sync on {server} stays installed {kept} (verified): the way back is open", evidence)


# -- the steps ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Step:
    id: str
    name: str
    plan: str
    run: Callable[[Run, bool], Outcome]

    @property
    def check_name(self) -> str:
        return f"step-{self.id}-{self.name}"


STEPS = (
    Step("1", "preflight", "the readiness preflight", run_preflight),
    Step("2", "backup", "a verified Connect Sync configuration backup", run_backup),
    Step("3", "configuration", "the Cloud Sync configuration: template, jobs, secrets", run_configuration),
    Step("4", "ou-scope", "the OU filter, checked against AD", run_scope),
    Step("5", "mappings", "the attribute mappings, changed only when asked", run_mappings),
    Step("6", "test", "provision on demand for each test user", run_test),
    Step("7", "cutover", "pause Connect Sync, start Cloud Sync, watch it to steady state", run_cutover),
    Step("8", "handover", "Connect Sync kept as the way back", run_handover),
)
STEP_IDS = tuple(step.id for step in STEPS)
