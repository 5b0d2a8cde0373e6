"""The plan of a bulk rollout, computed without reading a single mailbox: what `rollout_cloud_managed` would do.

A rollout's own dry run reads every mailbox (and journals it), which takes as long as the rollout's reads;
the plan shows at once what the run is about to do, from its arguments and its journal alone: the target
and organization, the direction, how many mailboxes (a filter is resolved only by the run), the batch size,
pace and deadline, an estimate of batches and time, and whether the journal resumes an earlier run (how
many mailboxes it has finished, how many of those the run reads again). Nothing is sent anywhere; the
journal is only read (`Journal.load`), never created or locked.

The plan is the same over either backend (`via`: the jump host's pipelines, or the same batches as `$batch`
requests of 10 over REST, psbridge.exchange.rest.bulk); only its note says where a filter is resolved.

It refuses what the run would refuse, with the same error: a journal for other settings (another target,
tenant, direction, filter, or a dry run's), a malformed journal, a timeout a batch cannot keep.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from psbridge.exchange.bulk import MailboxOutcome
from psbridge.exchange.journal import Header, Journal
from psbridge.exchange.pacing import EST_ITEM_S, fits
from psbridge.exchange.rollout import chunk_bounds, plan_pacing, unique_identities
from psbridge.exchange.rollout_parallel import check_parallel

_SWITCHED = {MailboxOutcome.CHANGED.value, MailboxOutcome.ALREADY_SET.value}


class RolloutPlan(BaseModel):
    """What a rollout would do, before it reads any mailbox.

    `identities` is the number of distinct mailboxes given (None for a filter: the run resolves it on the
    jump host). `journal_done` counts the mailboxes the journal says are finished (skipped by the run),
    `to_do` those left (None for a filter), `to_verify` the finished ones the run reads again (those the
    journal says are switched: one found back in the old state is Reverted). `batches` (None for a
    filter) counts pipelines as the report does, as if every mailbox left needed switching: a write per batch,
    which reads the next batch ahead when that fits the time budget (`pacing.fits`), a read of each session's
    first batch (and of a batch not read ahead), and the mailboxes read again in reads of twice the batch
    size; retries add to it, and a batch with nothing to switch costs its read instead of its write.
    `estimated_s` is an estimate: about `pacing.EST_ITEM_S` of REST time per mailbox plus the pace (which
    adapts to micro-delays), and half that per mailbox read again, shared by `parallel` sessions (the
    rollout splits each round into even batches, one per session). `would_change`: whether
    mailboxes are left to switch (None: a filter, unknown until it is resolved).
    """

    model_config = ConfigDict(frozen=True)

    target: str
    tenant: str | None
    enabled: bool
    setting: str
    identities: int | None
    filter: str | None
    batch_size: int
    pace_s: float
    parallel: int = 1
    timeout_s: float | None
    journal: str
    resumes: bool
    journal_done: int
    to_do: int | None
    to_verify: int
    batches: int | None
    estimated_s: float | None
    would_change: bool | None
    note: str


def plan_rollout(
    *,
    target: str,
    tenant: str | None,
    identities: Iterable[str] | None = None,
    filter: str | None = None,  # noqa: A002 - mirrors rollout_cloud_managed
    enabled: bool = True,
    journal: str | os.PathLike[str],
    batch_size: int,
    pace_s: float,
    timeout: float | None = None,
    retry_failed: bool = False,
    parallel: int = 1,
    via: str = "psrp",
) -> RolloutPlan:
    """The plan of `rollout_cloud_managed` with these arguments (`target` is the session's or the REST client's,
    `via` which of the two), sending nothing.

    Raises:
        InputError: what the rollout itself would refuse before its first batch (see the module doc).
    """
    from psbridge import errors

    if (identities is None) == (filter is None):
        raise errors.InputError("give either identities or a filter")
    plan_pacing(batch_size, pace_s, timeout)
    check_parallel(parallel)
    wanted = unique_identities(identities) if identities is not None else None
    book = _read(Path(journal), Header(target, tenant, enabled, filter, False))
    names = wanted if wanted is not None else list(book.identities.values()) if book is not None else []
    finished = [done for name in names if book is not None and (done := book.done(name, retry_failed=retry_failed))]
    to_verify = sum(1 for done in finished if done["outcome"] in _SWITCHED)
    to_do = len(wanted) - len(finished) if wanted is not None else None
    batches = None
    if to_do is not None:
        batches = _pipelines(to_do, batch_size, pace_s, parallel) + math.ceil(to_verify / (2 * batch_size))
    estimated = None  # each session's share: the rollout splits a round into even batches, one per session
    if to_do is not None:
        estimated = math.ceil(to_do / parallel) * (EST_ITEM_S + pace_s) + to_verify * EST_ITEM_S / 2 / parallel
    resumes = book is not None and book.lines > 1
    return RolloutPlan(
        target=target, tenant=tenant, enabled=enabled, setting=f"IsExchangeCloudManaged={enabled}",
        identities=len(wanted) if wanted is not None else None, filter=filter, batch_size=batch_size, pace_s=pace_s,
        parallel=parallel,
        timeout_s=timeout, journal=os.fspath(journal), resumes=resumes, journal_done=len(finished), to_do=to_do,
        to_verify=to_verify, batches=batches, estimated_s=estimated,
        would_change=None if to_do is None else to_do > 0, note=_note(filter is not None, resumes, via),
    )  # fmt: skip


def _pipelines(to_do: int, batch_size: int, pace_s: float, parallel: int) -> int:
    """The pipelines of a round of `to_do` mailboxes, all to switch: a write per batch, and a read for each
    session's first batch and for each batch the write before it could not read ahead (`pacing.fits`)."""
    sizes = [b - a for a, b in chunk_bounds(to_do, batch_size, parallel)]
    pace_ms = round(pace_s * 1000)
    reads = min(parallel, len(sizes)) + sum(not fits(a, b, pace_ms) for a, b in itertools.pairwise(sizes))
    return len(sizes) + reads if sizes else 0


def _read(path: Path, header: Header) -> Journal | None:
    """The journal as it stands (None: none yet, or only another run's header, which the run takes over)."""
    book = Journal(path, header)
    return book if book.peek() else None


def _note(by_filter: bool, resumes: bool, via: str = "psrp") -> str:
    where = "over REST" if via == "rest" else "on the jump host"
    what = f"the filter is resolved by the run, {where}" if by_filter else "counted from the identities"
    journal = "the journal resumes an earlier run" if resumes else "a new journal"
    return (
        f"a plan: no mailbox was read ({what}; {journal}). --dry-run reads each mailbox first and reports "
        "which would change; --yes runs the rollout"
    )
