"""What a Connect Sync to Cloud Sync migration reads from and does to the Connect server (issue 17).

`get_migration_facts` reads, in one model, what the migration decides on: whether Connect syncs password
hashes (so Cloud Sync needs its password hash job), staging mode, the scheduler's state, and Connect's own
OU scope per domain (the AD connector partitions' ConnectorPartitionScope, as Get-Connectors.ps1 projects
it; docs/adsync.md, Connectors and run history). `pause_for_cutover` and `resume_after_rollback` turn the
sync scheduler off for the cut-over and on again for a rollback, each through `set_scheduler` and verified
by reading the scheduler back. Microsoft's migration tutorial turns the scheduler off the same way
(`Set-ADSyncScheduler -SyncCycleEnabled $false`:
https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/tutorial-pilot-aadc-aadccp); it also stops the
running cycle (`Stop-ADSyncSyncCycle`), where psbridge waits for it to end instead (docs/adsync.md, Migrating
to Cloud Sync).
"""

from __future__ import annotations

import time

from pydantic import Field

from psbridge.ad.scope import dn_parts, domain_fqdn
from psbridge.adsync.cycle import IdleWatch
from psbridge.adsync.functions import (
    _wait_until_idle,
    get_connector,
    get_connector_run_status,
    get_global_settings,
    get_scheduler,
    set_scheduler,
)
from psbridge.adsync.models import Scheduler
from psbridge.errors import InputError, UnexpectedOutputError
from psbridge.models import Change, PSModel
from psbridge.session import Session
from psbridge.wait import Clock, Sleep

PHS_SIGN_ON_METHOD = "PasswordHashSync"  # Microsoft.UserSignIn.SignOnMethod (docs/adsync.md, Global settings)


class DomainScope(PSModel):
    """Connect's OU scope for one AD domain: a selected domain partition of an AD connector.

    `inclusions` / `exclusions` are the partition's ContainerInclusionList / ContainerExclusionList (DNs);
    None when the server did not report a scope for the partition. An inclusion covers its child OUs.
    """

    connector: str
    partition: str
    inclusions: tuple[str, ...] | None = None
    exclusions: tuple[str, ...] | None = None

    @property
    def fqdn(self) -> str:
        """DC=contoso,DC=example -> contoso.example."""
        return domain_fqdn(self.partition)


class MigrationFacts(PSModel):
    """What the migration needs from Connect Sync, read in one go (`get_migration_facts`).

    `password_hash_sync` is True when the sign-on method is PasswordHashSync, the given override when
    one was passed, else None: hash sync can run beside pass-through authentication or federation, and
    no documented unattended read tells (unverified); `password_hash_sync_source` says which applied.
    """

    target: str
    password_hash_sync: bool | None
    password_hash_sync_source: str
    sign_on_method: str | None = None
    staging_mode_enabled: bool
    sync_cycle_enabled: bool
    sync_cycle_in_progress: bool | None = None
    scheduler_suspended: bool | None = None
    domains: tuple[DomainScope, ...] = ()

    def scope_of(self, domain: str) -> DomainScope | None:
        """The scope of a domain, by FQDN (contoso.example) or partition DN, case-insensitively."""
        wanted = domain.strip().casefold()
        return next(
            (d for d in self.domains if wanted == d.fqdn.casefold() or dn_parts(domain) == dn_parts(d.partition)), None
        )


class CutoverPause(PSModel):
    """What `pause_for_cutover` did: the scheduler change, and the sync cycle it found running.

    `cycle_in_progress` is whether a cycle was running once the scheduler was off (before it, in a dry
    run); `cycle_finished` whether that cycle ended before the deadline (None: nothing waited for). The
    cut-over may go on only when `ready`.
    """

    scheduler: Change[Scheduler]
    cycle_in_progress: bool | None = None
    cycle_finished: bool | None = None
    deadline_s: float = Field(ge=0)

    @property
    def ready(self) -> bool:
        """The scheduler is off (verified) and no cycle is running: Cloud Sync may take over."""
        off = not self.scheduler.dry_run and self.scheduler.after.sync_cycle_enabled is False
        return off and (not self.cycle_in_progress or self.cycle_finished is True)


def get_migration_facts(session: Session, *, password_hash_sync: bool | None = None) -> MigrationFacts:
    """Password hash sync, staging mode, the scheduler and each domain's OU scope; reads Get-ADSyncConnector,
    Get-ADSyncGlobalSettings and Get-ADSyncScheduler.

    Args:
        password_hash_sync: what the operator knows, which overrides what the sign-on method suggests.
    """
    connectors = get_connector(session)
    settings = get_global_settings(session)
    scheduler = get_scheduler(session)
    method = settings.sign_on_method
    if password_hash_sync is not None:
        phs, source = password_hash_sync, "given"
    elif method is not None and method.strip().casefold() == PHS_SIGN_ON_METHOD.casefold():
        phs, source = True, f"Microsoft.UserSignIn.SignOnMethod = {method}"
    else:
        phs, source = None, f"unknown (sign-on method {method or 'not reported'}): give it"
    domains = tuple(
        DomainScope(
            connector=c.name, partition=p.dn, inclusions=p.container_inclusions, exclusions=p.container_exclusions
        )
        for c in connectors
        if c.type.casefold() == "ad"
        for p in c.partitions
        if p.selected and p.is_domain and p.dn
    )
    return MigrationFacts(
        target=session.target, password_hash_sync=phs, password_hash_sync_source=source, sign_on_method=method,
        staging_mode_enabled=bool(scheduler.staging_mode_enabled),
        sync_cycle_enabled=bool(scheduler.sync_cycle_enabled),
        sync_cycle_in_progress=scheduler.sync_cycle_in_progress, scheduler_suspended=scheduler.scheduler_suspended,
        domains=domains,
    )  # fmt: skip


def pause_for_cutover(
    session: Session,
    *,
    dry_run: bool = False,
    deadline_s: float = 3600.0,
    poll_s: float = 15.0,
    settle_polls: int = 3,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> CutoverPause:
    """Turn Connect's sync scheduler off for the cut-over, verified, and wait out a running cycle.

    `set_scheduler(sync_cycle_enabled=False)` (sent only when the scheduler is on), then the scheduler
    read back. Turning it off starts no new cycle but does not stop a running one: that one is waited for,
    polling as `start_sync_cycle(wait=True)` does, for at most `deadline_s` seconds (`cycle_finished`
    False when it did not end in time). A dry run reads the scheduler and sends no write.

    Raises:
        UnexpectedOutputError: the scheduler still reads enabled after the write.
    """
    _check_wait(deadline_s, poll_s, settle_polls)
    change = _set_and_verify(session, enabled=False, dry_run=dry_run)
    state = change.before if dry_run else change.after
    running = _cycle_running(session, state)
    finished = None
    if running and not dry_run:
        watch = IdleWatch(state.next_sync_cycle_start_time_in_utc, settle_polls=settle_polls, seen_running=True)
        finished = _wait_until_idle(session, watch, deadline_s, poll_s, clock, sleep)
    return CutoverPause(scheduler=change, cycle_in_progress=running, cycle_finished=finished, deadline_s=deadline_s)


def resume_after_rollback(session: Session, *, dry_run: bool = False) -> Change[Scheduler]:
    """Turn Connect's sync scheduler back on after a rollback, verified by reading it back.

    `set_scheduler(sync_cycle_enabled=True)`, sent only when the scheduler is off; on a staging server
    (`after.staging_mode_enabled`) cycles run again but export nothing.

    Raises:
        UnexpectedOutputError: the scheduler still reads disabled after the write.
    """
    return _set_and_verify(session, enabled=True, dry_run=dry_run)


def _set_and_verify(session: Session, *, enabled: bool, dry_run: bool) -> Change[Scheduler]:
    change = set_scheduler(session, sync_cycle_enabled=enabled, dry_run=dry_run)
    if not change.changed:
        return change
    after = get_scheduler(session)
    if after.sync_cycle_enabled is not enabled:
        state = "enabled" if after.sync_cycle_enabled else "disabled"
        raise UnexpectedOutputError(
            f"the sync scheduler of {session.target} still reads {state} after Set-ADSyncScheduler "
            f"-SyncCycleEnabled ${str(enabled).lower()}", target=session.target, raw=[after.model_dump()],
        )  # fmt: skip
    return change.model_copy(update={"after": after})


def _cycle_running(session: Session, scheduler: Scheduler) -> bool:
    """SyncCycleInProgress, or (1.1.x builds lack it) whether any connector is running now."""
    if scheduler.sync_cycle_in_progress is not None:
        return bool(scheduler.sync_cycle_in_progress)
    return bool(get_connector_run_status(session))


def _check_wait(deadline_s: float, poll_s: float, settle_polls: int) -> None:
    if deadline_s < 0 or poll_s <= 0 or settle_polls < 1:
        raise InputError("the wait needs deadline_s >= 0, poll_s > 0 and settle_polls >= 1")
