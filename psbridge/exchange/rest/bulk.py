"""The bulk cloud-managed switch over InvokeCommand's `$batch`: `psbridge.exchange.bulk`'s batch, with no jump host.

`set_cloud_managed_batch` takes the arguments of `psbridge.exchange.bulk.set_cloud_managed_batch` and returns the
same `BatchResult`, with the semantics of its script (exchange/Set-CloudManagedBatch.ps1), in three phases:

1. Read: one Get-Mailbox -Identity per mailbox, sent as `$batch` requests of up to 10 (`wire.MAX_BATCH`; continue
   on error), asking only for the fields the switch needs (`SELECT`). Each mailbox is read again just before its
   write, as the script reads it (the rollout's own read may be a batch old). The value goes through the script's
   Get-Flag rule (`psbridge.types.parse_flag`): a mailbox that does not report IsExchangeCloudManaged is Failed
   (PsbridgeExchange.CloudManagedNotReported), never taken for False; a read that returns no mailbox or several is
   Failed (PsbridgeExchange.MailboxNotRead). AlreadySet, or WouldChange in a dry run.
2. Write (not in a dry run): Set-Mailbox -IsExchangeCloudManaged for the mailboxes to switch, in `$batch` requests
   of 10, each sent as soon as the reads have found 10 to switch (a mailbox is written a read or two after it was
   read, not a whole batch later), the rest last. Each answered item is Changed, each refused one Failed with the
   error the client classified (with the Exchange rules, as the PowerShell path does). A `$batch` of writes is never
   sent twice unless the service refused it at admission (the client's rule): one whose answer is lost raises
   OutcomeUnknownError (or a TransportError with `command_sent`), one still refused as throttled after the
   client's retries raises its TransientRemoteError, and the whole batch raises with it, as the script's pipeline
   does, so that the rollout reads its mailboxes again (`psbridge.exchange.rollout`).
3. Read ahead: the `read_ahead` mailboxes, as a dry run reads them.

Pacing: the script sleeps `pace_s` after each Set-Mailbox on the jump host; here the client waits `pace_s` per
write of a `$batch` before sending the next `$batch` of writes, and after the last one before it returns (the
read-ahead counts towards that wait), so a rollout's successive batches keep the pace too. The wait is longer when
the service's rate-limit headers say so (`RateLimitPacing`). The micro-delay warnings (`@adminapi.warnings`) of
every answer become `micro_delays_ms`, as the PowerShell warning stream does.

Deadline: `timeout` is the whole batch's, as it is the script pipeline's: each `$batch` gets what is left, and
every wait is cut to it. Past it, OperationTimeoutError (`command_sent` when a write was sent).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any

from psbridge import errors
from psbridge.exchange.bulk import REST_TIMEOUT_S, BatchItem, BatchResult, MailboxOutcome
from psbridge.exchange.rest.client import ExoRestClient, RestAnswer, RestRequest
from psbridge.exchange.rest.wire import MAX_BATCH, MAX_PAGE_SIZE, RateLimit
from psbridge.exchange.rules import micro_delays
from psbridge.types import parse_flag

# What the switch reads of a mailbox (ExoHelper's PropertiesToLoad, as `$select`).
SELECT = ("Identity", "UserPrincipalName", "IsExchangeCloudManaged", "IsDirSynced")
IDENTITY_SELECT = ("UserPrincipalName", "Guid")
monotonic = time.monotonic  # the deadline's and the pace's clock (a test's seam)


@dataclasses.dataclass(frozen=True)
class RateLimitPacing:
    """How the rate-limit headers slow the writes. UNVERIFIED: Microsoft documents neither the headers nor their
    meaning; public clients read `Rate-Limit-Remaining` and `Rate-Limit-Reset` (docs/exchange-rest.md). The rule
    assumed: when a write's answer says fewer than `below` requests remain (by default none: the next one would be
    refused), the next `$batch` of writes waits until the reset, counted from when that `$batch` was sent (the
    service writes the headers when it admits a request, before the request runs, so its running time counts
    towards the reset), at most `max_wait_s`; a header missing or not understood changes nothing. `below=0` turns
    the rule off. Whatever the rule lets through, a 429 is still waited out and the `$batch` sent again by the
    client (it was refused at admission: not run)."""

    below: int = 1
    max_wait_s: float = 60.0

    def wait_s(self, limit: RateLimit | None) -> float:
        if limit is None or limit.remaining is None or limit.reset_s is None or limit.remaining >= self.below:
            return 0.0
        return min(limit.reset_s, self.max_wait_s)


# The rule every batch uses unless it is given one: a setting (unverified, see above), set it to change the default.
RATE_LIMIT_PACING = RateLimitPacing()


def set_cloud_managed_batch(
    client: ExoRestClient,
    identities: Sequence[str],
    *,
    enabled: bool = True,
    dry_run: bool = False,
    pace_s: float = 0.5,
    timeout: float = REST_TIMEOUT_S,
    read_ahead: Sequence[str] = (),
    sleep: Callable[[float], None] = time.sleep,
    rate_limits: RateLimitPacing | None = None,
) -> BatchResult:
    """Switch IsExchangeCloudManaged for a batch of mailboxes over `$batch` (see the module doc).

    Args:
        pace_s: the wait per Set-Mailbox, taken between `$batch` requests of writes.
        timeout: the whole batch's deadline, in seconds.
        read_ahead: mailboxes read after the writes, as a dry run reads them: `BatchResult.read_ahead`.
        sleep: how to wait (tests pass a recorder).
        rate_limits: the rule the rate-limit headers pace by (None: `RATE_LIMIT_PACING`).

    Raises:
        OutcomeUnknownError, TransportError: a `$batch` failed after it was sent; its writes' outcome is unknown.
        TransientRemoteError: a `$batch` of writes was refused as throttled, past the client's retries.
        OperationTimeoutError: the batch outran `timeout`.
    """
    if not identities:
        raise errors.InputError("a batch needs at least one identity")
    if pace_s < 0:
        raise errors.InputError("pace_s cannot be negative")
    rules = rate_limits if rate_limits is not None else RATE_LIMIT_PACING
    run = _Batch(client, enabled, monotonic() + timeout, timeout, sleep, rules)
    items: list[BatchItem | None] = []
    to_write: list[int] = []  # read, to switch: written as soon as they fill a `$batch`
    for start in range(0, len(identities), MAX_BATCH):
        for item in run.read(identities[start : start + MAX_BATCH]):
            switch = item.outcome == MailboxOutcome.WOULD_CHANGE and not dry_run
            to_write += [len(items)] if switch else []
            items.append(None if switch else item)
        last = start + MAX_BATCH >= len(identities)
        while len(to_write) >= MAX_BATCH or (last and to_write):
            chunk, to_write = to_write[:MAX_BATCH], to_write[MAX_BATCH:]
            for n, item in zip(chunk, run.write([identities[n] for n in chunk], pace_s), strict=True):
                items[n] = item
    ahead = run.read(read_ahead) if read_ahead else []
    run.pause()
    return BatchResult(
        items=tuple(item for item in items if item is not None), micro_delays_ms=micro_delays(run.warnings),
        read_ahead=tuple(ahead),
    )  # fmt: skip


@dataclasses.dataclass
class _Batch:
    client: ExoRestClient
    enabled: bool
    deadline: float
    timeout: float
    sleep: Callable[[float], None]
    rate_limits: RateLimitPacing
    warnings: list[str] = dataclasses.field(default_factory=list)
    ready_at: float = 0.0  # when the next `$batch` of writes may go (monotonic seconds)
    sent: bool = False  # a write was sent

    def left(self, what: str) -> float:
        left = self.deadline - monotonic()
        if left <= 0:
            raise errors.OperationTimeoutError(
                f"the batch outran its deadline of {self.timeout:g} s before {what}", target=self.client.target,
                command=what, deadline_s=self.timeout, command_sent=self.sent,
            )  # fmt: skip
        return left

    def read(self, identities: Sequence[str]) -> list[BatchItem]:
        """Each mailbox read as the script's dry run reads it: AlreadySet, WouldChange or Failed."""
        items: list[BatchItem] = []
        for start in range(0, len(identities), MAX_BATCH):
            chunk = identities[start : start + MAX_BATCH]
            requests = [RestRequest("Get-Mailbox", {"Identity": i}, SELECT, idempotent=True) for i in chunk]
            answers = self.client.batch(requests, timeout=self.left("Get-Mailbox"))
            items += (self._read_one(i, a) for i, a in zip(chunk, answers, strict=True))
        return items

    def _read_one(self, identity: str, answer: RestAnswer | errors.RemoteCommandError) -> BatchItem:
        if isinstance(answer, errors.RemoteCommandError):
            return failed(identity, answer)
        self.warnings += answer.warnings
        if len(answer.rows) != 1:
            return _own_failure(
                identity, "PsbridgeExchange.MailboxNotRead", "ObjectNotFound", errors.ObjectNotFoundError,
                f"Get-Mailbox returned {len(answer.rows)} mailboxes for '{identity}' where one was expected.",
            )  # fmt: skip
        try:
            before = parse_flag(answer.rows[0].get("IsExchangeCloudManaged"))
        except ValueError as exc:
            return _own_failure(identity, "FormatException", "InvalidData", errors.RemoteCommandError, str(exc),
                                exception_type="System.FormatException")  # fmt: skip
        if before is None:
            return _own_failure(
                identity, "PsbridgeExchange.CloudManagedNotReported", "InvalidData", errors.UnexpectedOutputError,
                f"Get-Mailbox did not report IsExchangeCloudManaged for '{identity}'; it was left unchanged.",
            )  # fmt: skip
        outcome = MailboxOutcome.ALREADY_SET if before == self.enabled else MailboxOutcome.WOULD_CHANGE
        return BatchItem(Identity=identity, Outcome=outcome, Before=before)

    def write(self, identities: Sequence[str], pace_s: float) -> list[BatchItem]:
        """One `$batch` of Set-Mailbox, after the pause the previous one owes; then this one's pause is owed."""
        self.pause()
        parameters: list[dict[str, Any]] = [{"Identity": i, "IsExchangeCloudManaged": self.enabled} for i in identities]
        requests = [RestRequest("Set-Mailbox", p, idempotent=False) for p in parameters]
        left = self.left("Set-Mailbox")
        self.sent, sent_at = True, monotonic()
        answers = self.client.batch(requests, timeout=left)
        limit = next((a.rate_limit for a in reversed(answers) if isinstance(a, RestAnswer) and a.rate_limit), None)
        self.ready_at = max(monotonic() + pace_s * len(identities), sent_at + self.rate_limits.wait_s(limit))
        items = []
        for identity, answer in zip(identities, answers, strict=True):
            if isinstance(answer, errors.RemoteCommandError):
                items.append(failed(identity, answer, before=not self.enabled))
                continue
            self.warnings += answer.warnings
            items.append(BatchItem(Identity=identity, Outcome=MailboxOutcome.CHANGED, Before=not self.enabled))
        return items

    def pause(self) -> None:
        """Wait until the pace allows the next write, within the deadline."""
        wait = min(self.ready_at - monotonic(), self.deadline - monotonic())
        if wait > 0:
            self.sleep(wait)


def failed(identity: str, exc: errors.RemoteCommandError, *, before: bool | None = None) -> BatchItem:
    """A Failed item for the error the client classified; its class stays the client's (`BatchItem.classified`)."""
    item = BatchItem(
        Identity=identity, Outcome=MailboxOutcome.FAILED, Before=before,
        ErrorType=exc.exception_type or f"{type(exc).__module__}.{type(exc).__qualname__}", ErrorMessage=exc.message,
        ErrorId=exc.error_id, ErrorCategory=exc.category,
    )  # fmt: skip
    return item.classified(type(exc))


def _own_failure(
    identity: str, error_id: str, category: str, cls: type[errors.RemoteCommandError], message: str,
    *, exception_type: str = "System.InvalidOperationException",
) -> BatchItem:  # fmt: skip
    """One of the script's own failures (its header names them), as the script reports it."""
    item = BatchItem(
        Identity=identity, Outcome=MailboxOutcome.FAILED, ErrorType=exception_type, ErrorMessage=message,
        ErrorId=error_id, ErrorCategory=category,
    )  # fmt: skip
    return item.classified(cls)


def get_mailbox_identities(
    client: ExoRestClient,
    *,
    filter: str | None = None,  # noqa: A002 - the cmdlet's own parameter name
    result_size: int | None = None,
    page_size: int = MAX_PAGE_SIZE,
) -> list[str]:
    """`psbridge.exchange.bulk.get_mailbox_identities` over REST: Get-Mailbox -Filter with `$select` of the UPN and
    the GUID, paged through `@odata.nextLink`; each mailbox's UPN, else its GUID. UnexpectedOutputError for a
    mailbox with neither, or an identity met twice."""
    parameters: dict[str, Any] = {"ResultSize": "Unlimited" if result_size is None else str(result_size)}
    if filter is not None:
        parameters["Filter"] = filter
    identities: list[str] = []
    seen: set[str] = set()
    pages = client.pages("Get-Mailbox", parameters, select=IDENTITY_SELECT, page_size=min(page_size, MAX_PAGE_SIZE))
    for answer in pages:
        for row in answer.rows:
            values = (row.get("UserPrincipalName"), row.get("Guid"))
            found = next((str(v) for v in values if v and str(v).strip()), None)
            if found is None:
                raise errors.UnexpectedOutputError(
                    f"{answer.command} returned a mailbox with neither a UserPrincipalName nor a Guid",
                    target=client.target, command=answer.command, raw=row,
                )  # fmt: skip
            if found in seen:
                raise errors.UnexpectedOutputError(
                    f"{answer.command} returned {found!r} twice among the identities",
                    target=client.target, command=answer.command, raw=row,
                )  # fmt: skip
            seen.add(found)
            identities.append(found)
    return identities
