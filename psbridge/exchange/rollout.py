"""The bulk cloud-managed rollout: switch IsExchangeCloudManaged on thousands of mailboxes, resumably.

Mailboxes go to Exchange Online in batches (`bulk.set_cloud_managed_batch`: the jump host's script, or, given
an ExoRestClient, `$batch` requests of 10 with the same semantics: rest/bulk.py). Each batch is first read
(the script's dry run): a mailbox already in the desired state is AlreadySet and never written. The
ones to switch are written to the journal as the batch's intent, then sent in one pipeline that
writes, and every outcome is in the journal (`journal.py`) before the next batch. That pipeline also
reads the next batch its session will take, after its writes (read-ahead, when the pipeline still fits
the time budget: `pacing.fits`), so a batch's read is usually the previous write's tail, not a pipeline of
its own; a write pipeline that fails or loses its answer brings back no read, and the next batch is read
for itself. A killed rollout re-run with the same journal finishes what is left. Batch size, pace and
adaptive pacing: `pacing.py`, which explains the defaults.

What the report says is what psbridge did, checked at the server in the reliability suite:
- A batch that writes is sent once. When its answer is lost (the connection broke after it was
  sent, or it outran its deadline), its outcome is unknown: its mailboxes are read again, and those
  now switched are Changed (psbridge switched them: the read before the write found them not set),
  the others are sent again in a later batch.
- A run killed while a batch ran leaves that batch's intent in the journal without its outcomes; the
  re-run reads those mailboxes first and reports the switched ones Changed, even when its `filter`
  no longer selects them (a filter run reports every mailbox its journal names).
- A re-run reads again every mailbox the journal says is switched (in reads of twice the batch size:
  a read has no Set-Mailbox and no pause): one found back in the old state is Reverted, and the
  rollout has not succeeded. It is not switched again (someone switched it back on purpose, perhaps).

Retries:
- A mailbox that failed transiently (throttling, a domain-controller change, a replication delay:
  docs/exchange.md, Bulk changes and throttling, classified by `EXO_ERRORS`) goes into a later batch of
  retries, after an exponential backoff with jitter (`DEFAULT_ITEM_RETRY`), at most `retry.attempts` times per run;
  one still failing after that is Unfinished, and a re-run tries it again.
- A permanent failure is recorded and the rollout goes on.
- A read lost in transit is sent again under the Session's own bounded retry policy.
- A failure no mailbox can get past (a cmdlet missing on the jump host, the sign-in gone) stops the
  rollout with its error; that batch's mailboxes are not recorded, so a re-run does them.

Parallel sessions (`parallel`, 1 by default; `rollout_parallel.py`): up to `MAX_PARALLEL` sessions take the
batches of a round from one queue, each pacing on its own micro-delays; the journal and the tallies are
shared under one lock. A write pipeline the service refuses as throttled is read again and its mailboxes
sent later, after a backoff from `retry`, without counting a try. With one session, the batches are
exactly the sequential ones.

What a rollout would do, from its arguments and journal alone (no mailbox read): `rollout_plan.plan_rollout`.

Interrupted (Ctrl+C, or what a caller raises as it: the CLI's SIGTERM), a rollout hands `on_interrupt` the
report so far before the interruption goes on: the mailboxes not finished are Unfinished, `interrupted` is
True, and the journal holds every outcome, so a re-run with it finishes the rest.

Deadlines: every pipeline gets `timeout` (by default the REST API's 15 minutes, docs/exchange.md).
A shorter one must leave room for the batch's pauses: `batch_size` x pace at most half of it, else
the rollout refuses to start, and adaptive pacing never slows a batch past that.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import itertools
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, computed_field

from psbridge import errors, logs
from psbridge.defaults import DEFAULT_BATCH_SIZE, DEFAULT_PACE_S
from psbridge.exchange.bulk import (
    BATCH_SCRIPT,
    REST_TIMEOUT_S,
    BatchItem,
    BatchResult,
    MailboxOutcome,
    get_mailbox_identities,
    set_cloud_managed_batch,
)
from psbridge.exchange.journal import Header, Journal, key
from psbridge.exchange.pacing import Pacing, fits, plan
from psbridge.exchange.rollout_parallel import (
    Claim,
    Stopped,
    Taken,
    Worker,
    check_parallel,
    open_sessions,
    run_round,
    unsettled,
)
from psbridge.retry import RetryPolicy
from psbridge.session import Session
from psbridge.wait import Sleep

if TYPE_CHECKING:
    from psbridge.exchange.backend import ExchangeOnline


def item_retry(wait_s: float = 30.0, *, attempts: int = 4) -> RetryPolicy:
    """Retries of transient per-mailbox failures: `attempts` per run; waits from `wait_s`, doubling up
    to ten times that, plus up to a sixth of it as jitter; an hour of waiting at most."""
    return RetryPolicy(attempts=attempts, total_s=3600.0, initial_s=wait_s, max_wait_s=10 * wait_s, jitter_s=wait_s / 6)


DEFAULT_ITEM_RETRY = item_retry()
# Failures no mailbox can get past: stop, and leave the batch to a re-run.
_SYSTEMIC = (errors.CommandNotFoundError, errors.NotConnectedError, errors.SignInError)


class RolloutItem(BaseModel):
    """One mailbox's outcome. `from_journal`: an earlier run finished it, this one skipped it."""

    model_config = ConfigDict(frozen=True)

    identity: str
    outcome: MailboxOutcome
    attempts: int = 0
    before: bool | None = None
    error_class: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    from_journal: bool = False


class RolloutProgress(BaseModel):
    """Where a rollout stands after a batch; `done` counts mailboxes finished in earlier runs too."""

    model_config = ConfigDict(frozen=True)

    done: int
    total: int
    changed: int
    already_set: int
    would_change: int
    failed: int
    unfinished: int
    batch: int
    round: int
    pace_s: float


class RolloutReport(BaseModel):
    """A rollout's summary and every mailbox's outcome, in input order.

    The counts are of what this run did; `skipped` counts mailboxes an earlier run finished
    (`from_journal` items); `reverted`, those of them this run found back in the old state.
    `succeeded` is False when any mailbox, in this run or an earlier one, failed permanently, is
    unfinished or was reverted. `interrupted`: the run was stopped (see `on_interrupt`); its unfinished
    mailboxes say so.
    """

    model_config = ConfigDict(frozen=True)

    target: str
    tenant: str | None
    enabled: bool
    dry_run: bool
    filter: str | None
    journal: str
    batch_size: int
    total: int
    changed: int
    already_set: int
    would_change: int
    failed: int
    unfinished: int
    reverted: int = 0
    skipped: int
    interrupted: bool = False
    batches: int
    retried: int
    micro_delays: int
    pace_s: float
    items: tuple[RolloutItem, ...]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def succeeded(self) -> bool:
        bad = (MailboxOutcome.FAILED, MailboxOutcome.UNFINISHED, MailboxOutcome.REVERTED)
        return not any(item.outcome in bad for item in self.items)


@dataclasses.dataclass
class _Pending:
    identity: str
    round: int  # transient failures so far, over every run: which batch of retries it belongs to
    earlier: int  # attempts in earlier runs
    tries: int = 0  # attempts in this run
    last: BatchItem | None = None


def rollout_cloud_managed(
    session: ExchangeOnline,
    *,
    identities: Iterable[str] | None = None,
    filter: str | None = None,  # noqa: A002 - mirrors Get-Mailbox -Filter
    enabled: bool = True,
    journal: str | os.PathLike[str],
    batch_size: int = DEFAULT_BATCH_SIZE,
    pace_s: float = DEFAULT_PACE_S,
    dry_run: bool = False,
    on_progress: Callable[[RolloutProgress], None] | None = None,
    tenant: str | None = None,
    retry: RetryPolicy = DEFAULT_ITEM_RETRY,
    retry_failed: bool = False,
    sleep: Sleep = time.sleep,
    timeout: float | None = None,
    on_interrupt: Callable[[RolloutReport], None] | None = None,
    parallel: int = 1,
    sessions: Callable[[], ExchangeOnline] | None = None,
) -> RolloutReport:
    """Set IsExchangeCloudManaged on many mailboxes, in batches, recorded in a resumable journal.

    Args:
        identities: the mailboxes (UPN or GUID preferred); duplicates, by case, count once.
        filter: instead of `identities`, an OPATH filter resolved on the jump host first
            (`bulk.get_mailbox_identities`; build it with `rules.opath_filter`). The mailboxes a
            journal of an earlier run names are reported too, selected by the filter or not.
        journal: the JSON-lines journal; re-run with the same one to resume. It must have been
            written for the same session target, tenant, `enabled`, `filter` and `dry_run`.
        dry_run: only read, and report which mailboxes would change (WouldChange).
        on_progress: called after each batch is journaled; an exception from it stops the rollout.
        tenant: the organization, recorded in (and checked against) the journal.
        retry: per-mailbox retries of transient failures: attempts per run, backoff and jitter;
            `total_s` bounds the time spent waiting between retry batches.
        retry_failed: also try again mailboxes an earlier run recorded as failed permanently.
        sleep: how to wait between retry batches, and over REST the pace (tests pass a recorder).
        timeout: each pipeline's deadline in seconds; None for the REST API's 15 minutes.
        on_interrupt: called with the report so far when the run is interrupted once it has started
            its batches (a KeyboardInterrupt, or any BaseException that is not an Exception), before the
            interruption is raised on; the mailboxes not finished are Unfinished.
        parallel: sessions writing at once, 1 to `MAX_PARALLEL`: `session` and `parallel - 1` more from
            `sessions` (opened at the start, closed at the end; over REST, one ExoRestClient each), each taking
            batches from a shared queue, pacing on its own micro-delays. A write the service refuses as throttled
            is read again and sent later, after a backoff from `retry` (not a try; Unfinished when time is up).

    Raises:
        InputError: bad arguments, a timeout a batch cannot keep, or a journal that is malformed or
            written for other settings.
        TransportError, RemoteCommandError: the rollout stopped; everything done so far is in the
            journal, and a re-run with it goes on from there.
    """
    if (identities is None) == (filter is None):
        raise errors.InputError("give either identities or a filter")
    check_parallel(parallel, sessions is not None)
    pacing = plan_pacing(batch_size, pace_s, timeout)
    header = Header(session.target, tenant, enabled, filter, dry_run)
    with Journal.open(journal, header) as book, contextlib.ExitStack() as stack:
        wanted = unique_identities(
            get_mailbox_identities(session, filter=filter) if filter is not None else identities or ()
        )
        if filter is not None:  # what an earlier run did, whether the filter still selects it or not
            chosen = {key(identity) for identity in wanted}
            wanted += [identity for ident, identity in book.identities.items() if ident not in chosen]
        extra = open_sessions(sessions, parallel - 1, stack) if sessions is not None else []
        run = _Run(session, book, header, wanted, batch_size, pacing, retry, sleep, on_progress,
                   REST_TIMEOUT_S if timeout is None else timeout, extra=extra)  # fmt: skip
        try:
            return run.execute(retry_failed)
        except BaseException as exc:  # Ctrl+C, or a caller's own interruption: say what was done, then go on
            if on_interrupt is not None and not isinstance(exc, Exception):
                on_interrupt(run.interrupted())
            raise


def plan_pacing(batch_size: int, pace_s: float, timeout: float | None = None) -> Pacing:
    """`pacing.plan`, within a timeout: a batch's pauses may take at most half of it. InputError, saying
    what to change, for a timeout a batch cannot keep (the CLI asks before it signs in)."""
    pacing = plan(batch_size, pace_s)
    if timeout is None:
        return pacing
    if timeout <= 0:
        raise errors.InputError("the timeout must be positive")
    room_ms = int(timeout * 1000 / 2 / batch_size)
    if pacing.base_ms > room_ms:
        pauses = batch_size * pacing.base_ms / 1000
        raise errors.InputError(
            f"the timeout ({timeout:g}s) cannot hold a batch: {batch_size} mailboxes at a pace of "
            f"{pacing.base_ms / 1000:g}s pause {pauses:g}s between writes, which may take at most half of each "
            f"batch's deadline; give a timeout of at least {2 * pauses:g}s, or a smaller batch size or pace"
        )
    return dataclasses.replace(pacing, cap_ms=min(pacing.cap_ms, room_ms))


def unique_identities(identities: Iterable[str]) -> list[str]:
    """The identities, each once (compared as `journal.key` compares them), stripped; InputError for a blank one."""
    seen: dict[str, str] = {}
    for identity in identities:
        if not isinstance(identity, str) or not identity.strip():
            raise errors.InputError(f"not a mailbox identity: {identity!r}")
        seen.setdefault(key(identity), identity.strip())
    return list(seen.values())


_SWITCHED = (MailboxOutcome.CHANGED, MailboxOutcome.ALREADY_SET)
_INTERRUPTED = "the run was interrupted before this mailbox was finished: re-run with the same journal"


@dataclasses.dataclass
class _Run:
    session: ExchangeOnline
    book: Journal
    header: Header
    wanted: list[str]
    batch_size: int
    pacing: Pacing
    retry: RetryPolicy
    sleep: Sleep
    on_progress: Callable[[RolloutProgress], None] | None
    timeout: float
    final: dict[str, RolloutItem] = dataclasses.field(default_factory=dict)  # by key(identity)
    pending: dict[str, _Pending] = dataclasses.field(default_factory=dict)  # by key(identity): still to do
    skipped: int = 0
    retried: set[str] = dataclasses.field(default_factory=set)
    counts: dict[MailboxOutcome, int] = dataclasses.field(default_factory=lambda: dict.fromkeys(MailboxOutcome, 0))
    batches: int = 0
    micro_delays: int = 0
    slept_s: float = 0.0
    extra: list[ExchangeOnline] = dataclasses.field(default_factory=list)  # more sessions: batches run in parallel

    def __post_init__(self) -> None:
        pace = self.pacing.resume(self.book.next_pace_ms)
        self.workers = [Worker(session, pace) for session in (self.session, *self.extra)]
        self.log = logs.get_logger(target=self.session.target)
        self.lock = threading.RLock()  # the journal and the tallies, shared by the workers
        self.stop = threading.Event()
        self.number = self.book.batches  # the last batch number given out

    @property
    def pace_ms(self) -> int:
        return max(worker.pace_ms for worker in self.workers)

    def execute(self, retry_failed: bool) -> RolloutReport:
        pending = self.pending
        switched: list[str] = []  # an earlier run switched them: read again
        for identity in self.wanted:
            done = self.book.done(identity, retry_failed=retry_failed)
            ident = key(identity)
            if done is not None:
                self.final[ident] = _from_journal(identity, done, self.book.attempts[ident])
                if not self.header.dry_run and self.final[ident].outcome in _SWITCHED:
                    switched.append(identity)
            else:
                book = self.book
                pending[ident] = _Pending(identity, book.transient_failures.get(ident, 0), book.attempts.get(ident, 0))
        self.skipped = len(self.final)
        # A read costs about half a mailbox's planned time (a Get-Mailbox, no Set, no pause): two batches' worth.
        for start in range(0, len(switched), 2 * self.batch_size):
            self._verify(switched[start : start + 2 * self.batch_size])
        retried = self.retried
        while pending:
            round_ = min(p.round for p in pending.values())
            if round_ > 0 and not self._back_off(round_, pending):
                break
            cohort = [p for p in pending.values() if p.round == round_]
            retried.update(key(p.identity) for p in cohort if round_ > 0)
            chunks = _chunks(cohort, self.batch_size, len(self.workers))
            run_round(self, collections.deque(chunks), round_, pending)
        for ident in list(pending):  # out of retry time: not tried again in this run
            self._finish(pending.pop(ident), MailboxOutcome.UNFINISHED)
        return self.report()

    def interrupted(self) -> RolloutReport:
        """The report so far of a run stopped midway: every mailbox not finished is Unfinished. Workers
        still running record nothing more (their batches' intents are in the journal)."""
        self.stop.set()
        with self.lock:
            for ident in list(self.pending):
                self._finish(self.pending.pop(ident), MailboxOutcome.UNFINISHED, note=_INTERRUPTED)
            return self.report(interrupted=True)

    def report(self, *, interrupted: bool = False) -> RolloutReport:
        return RolloutReport(
            target=self.header.target, tenant=self.header.tenant, enabled=self.header.enabled,
            dry_run=self.header.dry_run, filter=self.header.filter, journal=os.fspath(self.book.path),
            batch_size=self.batch_size, total=len(self.wanted),
            changed=self.counts[MailboxOutcome.CHANGED], already_set=self.counts[MailboxOutcome.ALREADY_SET],
            would_change=self.counts[MailboxOutcome.WOULD_CHANGE], failed=self.counts[MailboxOutcome.FAILED],
            unfinished=self.counts[MailboxOutcome.UNFINISHED], reverted=self.counts[MailboxOutcome.REVERTED],
            skipped=self.skipped, batches=self.batches, retried=len(self.retried), micro_delays=self.micro_delays,
            pace_s=self.pace_ms / 1000, interrupted=interrupted,
            items=tuple(self._item(identity) for identity in self.wanted),
        )  # fmt: skip

    def _item(self, identity: str) -> RolloutItem:
        """A mailbox's outcome; one this run never reached (interrupted before its verification) is Unfinished."""
        found = self.final.get(key(identity))
        return found or RolloutItem(identity=identity, outcome=MailboxOutcome.UNFINISHED, error_message=_INTERRUPTED)

    def _back_off(self, round_: int, pending: Mapping[str, _Pending]) -> bool:
        """Wait before a batch of retries; False when the retry time is used up."""
        wait = self._wait_for(round_)
        if wait is None:
            return False
        self.log.info("psbridge.exo.rollout.retry_wait", round=round_, mailboxes=len(pending), wait_s=round(wait, 1))
        self.sleep(wait)
        return True

    def _wait_for(self, nth: int) -> float | None:
        """The `nth` backoff of the retry policy, taken from its total (None: used up)."""
        policy = self.retry
        wait: float = min(policy.max_wait_s, policy.initial_s * 2 ** (nth - 1)) + random.uniform(0, policy.jitter_s)  # noqa: S311
        with self.lock:
            if self.slept_s + wait > policy.total_s:
                return None
            self.slept_s += wait
        return wait

    def throttled(self, worker: Worker, chunk: list[_Pending]) -> bool:
        """Back off after the service refused `worker`'s write (throttling): True once waited, to send
        `chunk` again; False when the retry time is used up (its mailboxes then wait for a later round of
        retries, which finds no time left: Unfinished, never Failed)."""
        worker.throttled += 1
        wait = self._wait_for(worker.throttled)
        if wait is None:
            for pend in chunk:
                pend.round += 1
            return False
        self.log.info("psbridge.exo.rollout.throttled", mailboxes=len(chunk), wait_s=round(wait, 1))
        self.sleep(wait)
        return True

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """The shared state, for one worker; Stopped once the run was interrupted (it records nothing more)."""
        with self.lock:
            if self.stop.is_set():
                raise Stopped
            yield

    def _send(
        self, worker: Worker, identities: list[str], *, read: bool, ahead: list[str] | None = None
    ) -> BatchResult:
        header = self.header
        result = set_cloud_managed_batch(
            worker.session, identities, enabled=header.enabled, dry_run=read or header.dry_run,
            pace_s=0.0 if read else worker.pace_ms / 1000, timeout=self.timeout, read_ahead=ahead or (),
            sleep=self.sleep,
        )  # fmt: skip
        with self.lock:
            self.batches += 1
        return result

    def _verify(self, identities: list[str]) -> None:
        """Read mailboxes an earlier run switched; one back in the old state is Reverted (not journaled:
        a later re-run reads it again)."""
        enabled = self.header.enabled
        for item in self._send(self.workers[0], identities, read=True).items:
            self._stop_if_systemic(item)
            ident = key(item.identity)
            if item.outcome == MailboxOutcome.WOULD_CHANGE:
                self.final[ident] = self.final[ident].model_copy(
                    update={"outcome": MailboxOutcome.REVERTED, "before": not enabled}
                )
                self.counts[MailboxOutcome.REVERTED] += 1
                self.log.warning("psbridge.exo.rollout.reverted", identity=item.identity, journaled_enabled=enabled)

    def batch(
        self, worker: Worker, taken: Taken[_Pending], round_: int, pending: dict[str, _Pending], claim: Claim[_Pending]
    ) -> tuple[list[_Pending], Taken[_Pending] | None]:
        """Read (unless `worker`'s previous write pipeline read it ahead), write and journal one batch on
        `worker`'s session. Returns the mailboxes a throttled write left to do (sent again later, not counted
        as a try), and the next batch the write pipeline claimed from the queue: read ahead, or (its pipeline
        failed) to be read first."""
        with self.locked():
            self.number += 1
            number = self.number
        chunk = taken.chunk
        answered: list[BatchItem] = []
        # Read first: what needs switching, and what a lost answer or a killed run already switched.
        to_write = self._read(worker, [p.identity for p in chunk], answered, taken.ahead)
        used = worker.pace_ms
        delays: tuple[float, ...] = ()
        throttled: list[_Pending] = []
        following: Taken[_Pending] | None = None
        if to_write:
            following, throttled, delays = self._write(worker, number, chunk, to_write, answered, claim)
        with self.locked():
            self._record(worker, number, chunk, round_, pending, answered, used, delays if to_write else None)
        return throttled, following

    def _write(
        self, worker: Worker, number: int, chunk: list[_Pending], to_write: list[str], answered: list[BatchItem],
        claim: Claim[_Pending],
    ) -> tuple[Taken[_Pending] | None, list[_Pending], tuple[float, ...]]:  # fmt: skip
        """Journal the intent, then send the write pipeline, reading ahead the next batch when it fits the
        budget (`pacing.fits`). Returns that batch (with its read, or None when the pipeline failed: a lost
        or refused answer holds no read to trust), the mailboxes a throttled write left to do, and the
        micro-delays."""
        nxt = claim(lambda size: fits(len(to_write), size, worker.pace_ms))
        ahead = [p.identity for p in nxt] if nxt is not None else None
        with self.locked():
            self.book.append_intent(number, to_write)
        try:
            result = self._send(worker, to_write, read=False, ahead=ahead)
        except (errors.TransportError, errors.RemoteCommandError) as exc:
            if not unsettled(exc):
                raise
            # The batch may have run (its answer was lost, or the service refused it partway): what it
            # switched shows when its mailboxes are read again, afresh.
            self.log.warning("psbridge.exo.rollout.outcome_unknown", batch=number, mailboxes=len(to_write),
                             error=str(exc))  # fmt: skip
            by_key = {key(p.identity): p for p in chunk}
            still = [by_key[key(identity)] for identity in self._read(worker, to_write, answered)]
            following = Taken(nxt) if nxt is not None else None
            if isinstance(exc, errors.TransportError):
                for pend in still:  # not switched: to do again, in a later batch of retries
                    pend.round += 1
                return following, [], ()
            return following, still, ()
        answered += result.items
        return (Taken(nxt, result.read_ahead) if nxt is not None else None), [], result.micro_delays_ms

    def _record(
        self, worker: Worker, number: int, chunk: list[_Pending], round_: int, pending: dict[str, _Pending],
        answered: list[BatchItem], used: int, delays: tuple[float, ...] | None,
    ) -> None:  # fmt: skip
        """Journal a batch's outcomes and adapt its worker's pace (`delays` None: nothing was written)."""
        by_key = {key(p.identity): p for p in chunk}
        lines: list[dict[str, Any]] = []
        systemic: BatchItem | None = None
        for item in answered:
            cls = item.error_class
            if cls is not None and issubclass(cls, _SYSTEMIC):
                systemic = systemic or item
                continue
            pend = by_key[key(item.identity)]
            pend.tries += 1
            pend.last = item
            lines.append(_line(item, number, round_))
            if item.transient:
                pend.round += 1
                if pend.tries < self.retry.attempts:
                    continue
            del pending[key(pend.identity)]
            self._finish(pend, MailboxOutcome.UNFINISHED if item.transient else item.outcome)
        if not self.header.dry_run:
            worker.pace_ms = self.pacing.after(used, delays) if delays is not None else used
        delays = delays or ()
        self.micro_delays += len(delays)
        if worker.pace_ms != used:
            self.log.info("psbridge.exo.rollout.pace", pace_ms=worker.pace_ms, micro_delays_ms=delays)
        self.book.append_batch(
            lines, {"batch": number, "round": round_, "items": len(chunk), "pace_ms": used,
                    "micro_delays_ms": list(delays), "next_pace_ms": worker.pace_ms},
        )  # fmt: skip
        if systemic is not None:
            self._stop_if_systemic(systemic)
        self._progress(number, round_)

    def _read(
        self, worker: Worker, identities: list[str], answered: list[BatchItem],
        ahead: tuple[BatchItem, ...] | None = None,
    ) -> list[str]:  # fmt: skip
        """Read `identities` (the script's dry run; `ahead`: their read, done by the previous write pipeline);
        their outcomes go to `answered`, except the ones to switch, returned. AlreadySet on a mailbox of an
        unfinished intent is Changed: psbridge switched it (the read before the write found it not set). In a
        dry run, WouldChange is the outcome."""
        to_write: list[str] = []
        enabled = self.header.enabled
        items = ahead if ahead is not None else self._send(worker, identities, read=True).items
        with self.locked():
            return self._sort(items, answered, to_write, enabled)

    def _sort(
        self, items: Iterable[BatchItem], answered: list[BatchItem], to_write: list[str], enabled: bool
    ) -> list[str]:
        for item in items:
            if item.outcome == MailboxOutcome.WOULD_CHANGE and not self.header.dry_run:
                to_write.append(item.identity)
            elif item.outcome == MailboxOutcome.ALREADY_SET and key(item.identity) in self.book.intended:
                answered.append(item.model_copy(update={"outcome": MailboxOutcome.CHANGED, "before": not enabled}))
            else:
                answered.append(item)
        return to_write

    def _stop_if_systemic(self, item: BatchItem) -> None:
        cls = item.error_class
        if cls is not None and issubclass(cls, _SYSTEMIC):
            raise cls(
                f"{item.identity}: {item.error_message}; the rollout stopped (re-run it with the same "
                "journal once this is fixed)",
                target=self.session.target, command=f"script {BATCH_SCRIPT}" if isinstance(self.session, Session)
                else "Set-Mailbox ($batch)", error_id=item.error_id,
            )  # fmt: skip

    def _finish(self, pend: _Pending, outcome: MailboxOutcome, note: str | None = None) -> None:
        item = pend.last
        error_class = item.error_class if item is not None else None
        message = item.error_message if item is not None else None
        if note is not None:
            message = f"{note} (its last try: {message})" if message else note
        self.final[key(pend.identity)] = RolloutItem(
            identity=pend.identity, outcome=outcome, attempts=pend.earlier + pend.tries,
            before=item.before if item is not None else None,
            error_class=error_class.__name__ if error_class is not None else None,
            error_type=item.error_type if item is not None else None, error_message=message,
        )  # fmt: skip
        self.counts[outcome] += 1

    def _progress(self, number: int, round_: int) -> None:
        c = self.counts
        progress = RolloutProgress(
            done=len(self.final), total=len(self.wanted), changed=c[MailboxOutcome.CHANGED],
            already_set=c[MailboxOutcome.ALREADY_SET], would_change=c[MailboxOutcome.WOULD_CHANGE],
            failed=c[MailboxOutcome.FAILED], unfinished=c[MailboxOutcome.UNFINISHED], batch=number, round=round_,
            pace_s=self.pace_ms / 1000,
        )  # fmt: skip
        self.log.info("psbridge.exo.rollout.progress", **progress.model_dump())
        if self.on_progress is not None:
            self.on_progress(progress)


def _chunks(cohort: list[_Pending], size: int, workers: int) -> list[list[_Pending]]:
    return [cohort[a:b] for a, b in chunk_bounds(len(cohort), size, workers)]


def chunk_bounds(total: int, size: int, workers: int) -> list[tuple[int, int]]:
    """Where a round of `total` mailboxes is cut into batches of at most `size`, in order; for several workers,
    in a multiple of their number of batches as even as can be, so that they all finish together."""
    if workers == 1:
        return [(start, min(start + size, total)) for start in range(0, total, size)]
    count = -(-total // size)
    count = -(-count // workers) * workers
    bounds = [total * n // count for n in range(count + 1)]
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def _line(item: BatchItem, batch: int, round_: int) -> dict[str, Any]:
    """An item's journal line."""
    line: dict[str, Any] = {
        "identity": item.identity, "outcome": item.outcome.value, "transient": item.transient, "batch": batch,
        "round": round_, "before": item.before,
    }  # fmt: skip
    cls = item.error_class
    if cls is not None:
        line.update(error_class=cls.__name__, error_type=item.error_type, error_message=item.error_message)
    return line


def _from_journal(identity: str, line: Mapping[str, Any], attempts: int) -> RolloutItem:
    before = line.get("before")
    return RolloutItem(
        identity=identity, outcome=MailboxOutcome(line["outcome"]), attempts=attempts,
        before=before if isinstance(before, bool) else None,
        error_class=line.get("error_class"), error_type=line.get("error_type"),
        error_message=line.get("error_message"), from_journal=True,
    )  # fmt: skip
