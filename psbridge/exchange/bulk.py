"""Bulk Exchange Online wrappers: one pipeline per batch of mailboxes, one flat result per mailbox.

`set_cloud_managed_batch` sends `exchange/Set-CloudManagedBatch.ps1`, which switches
IsExchangeCloudManaged for a whole batch in one round trip: it reads each mailbox first, skips the
ones already in the desired state, and reports every mailbox, failures included, as one object; the same
pipeline may then read other mailboxes (`read_ahead`: the rollout's next batch), reported apart. A
failure is classified here, client-side, with `EXO_ERRORS`: the same rules every Exchange error
record goes through, so the bulk path and the one-mailbox path can never disagree on what is
transient; a terminating error of the whole pipeline (a write refused as throttled) is classified by the
same rules. `get_mailbox_identities` resolves an OPATH filter to identities, projected on the jump host and
sent as compact JSON pages. `psbridge.exchange.rollout` builds the resumable rollout on these two.

Both take `ExchangeOnline`: given an `ExoRestClient` instead of a jump-host Session, they run over Exchange
Online's REST endpoint (`psbridge.exchange.rest.bulk`: `$batch` requests of 10, the same results and semantics).

Two failures are the script's own, both permanent: a mailbox that does not report
IsExchangeCloudManaged (`PsbridgeExchange.CloudManagedNotReported`: a missing value is never taken for
False, so a switch back to False is not skipped as AlreadySet on it), and a read that returned no
mailbox or several (`PsbridgeExchange.MailboxNotRead`).
"""

from __future__ import annotations

import collections
import enum
import json
import time
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from pydantic import Field, PrivateAttr, StringConstraints, TypeAdapter, ValidationError

from psbridge.command import Command, ErrorRule
from psbridge.errors import InputError, ObjectNotFoundError, RemoteCommandError, UnexpectedOutputError
from psbridge.exchange.backend import ExchangeOnline
from psbridge.exchange.rules import EXO_ERRORS, exception_type_named, micro_delays
from psbridge.models import PSModel, from_output
from psbridge.pages import first_error
from psbridge.result import ErrorRecordData
from psbridge.session import Session, classify
from psbridge.types import OptionalBool

# Exchange Online's REST-backed cmdlets time out after 15 minutes (docs/exchange.md). A batch is planned
# to finish well inside it (see psbridge.exchange.rollout), and this is its deadline.
REST_TIMEOUT_S = 900.0


# The batch script's own failures (see its header), then every Exchange error record's rules.
BATCH_ERRORS: tuple[ErrorRule, ...] = (
    ErrorRule(UnexpectedOutputError, error_id_prefix="PsbridgeExchange.CloudManagedNotReported"),
    ErrorRule(ObjectNotFoundError, error_id_prefix="PsbridgeExchange.MailboxNotRead"),
    *EXO_ERRORS,
)


class MailboxOutcome(enum.StrEnum):
    """What happened to one mailbox. The batch script reports the first four; the others are a
    rollout's verdicts: `Unfinished`, a mailbox whose transient failures outlasted its retries;
    `Reverted`, one an earlier run switched that a re-run finds back in the old state."""

    CHANGED = "Changed"
    ALREADY_SET = "AlreadySet"
    WOULD_CHANGE = "WouldChange"
    FAILED = "Failed"
    UNFINISHED = "Unfinished"
    REVERTED = "Reverted"


class BatchItem(PSModel):
    """One mailbox's result from the batch script (a line of JSON on the wire)."""

    identity: str = Field(alias="Identity")
    outcome: MailboxOutcome = Field(alias="Outcome")
    before: OptionalBool = Field(default=None, alias="Before")
    exception_type: str | None = Field(default=None, alias="ErrorType")
    error_message: str | None = Field(default=None, alias="ErrorMessage")
    error_id: str | None = Field(default=None, alias="ErrorId")
    error_category: str | None = Field(default=None, alias="ErrorCategory")
    error_reason: str | None = Field(default=None, alias="ErrorReason")
    _classified: type[RemoteCommandError] | None = PrivateAttr(default=None)

    def classified(self, cls: type[RemoteCommandError]) -> BatchItem:
        """This item, its failure already classified as `cls` (over REST the client classifies it, HTTP status
        included); kept by `model_copy`."""
        self._classified = cls
        return self

    def error_record(self) -> ErrorRecordData:
        """The failure as an error record, for the shared classifier."""
        return ErrorRecordData(
            message=self.error_message or "",
            fully_qualified_error_id=self.error_id or "",
            category=self.error_category or "",
            reason=self.error_reason or "",
            exception_type=self.exception_type or "",
        )

    @property
    def error_class(self) -> type[RemoteCommandError] | None:
        """The RemoteCommandError class the failure maps to (docs/exchange.md); None unless Failed."""
        if self.outcome != MailboxOutcome.FAILED:
            return None
        return self._classified or classify(self.error_record(), BATCH_ERRORS)

    @property
    def error_type(self) -> str | None:
        """The exception type the error names: its `|<type>|` segment first (docs/exchange.md, Errors)."""
        return (exception_type_named(self.error_record()) or None) if self.outcome == MailboxOutcome.FAILED else None

    @property
    def transient(self) -> bool:
        cls = self.error_class
        return cls is not None and cls.transient


class BatchResult(PSModel):
    """A batch's results, one per identity in the order given, and the throttling it met; `read_ahead`, the
    reads of the `read_ahead` identities (one per identity, in order; empty when none were given)."""

    items: tuple[BatchItem, ...]
    micro_delays_ms: tuple[float, ...] = ()
    read_ahead: tuple[BatchItem, ...] = ()


BATCH_SCRIPT = "exchange/Set-CloudManagedBatch.ps1"


def set_cloud_managed_batch(
    session: ExchangeOnline,
    identities: Sequence[str],
    *,
    enabled: bool = True,
    dry_run: bool = False,
    pace_s: float = 0.5,
    timeout: float = REST_TIMEOUT_S,
    read_ahead: Sequence[str] = (),
    sleep: Callable[[float], None] = time.sleep,
) -> BatchResult:
    """Switch IsExchangeCloudManaged for a batch of mailboxes in one pipeline (Set-Mailbox per mailbox).

    Each mailbox is read first and left alone when it already matches `enabled`; with `dry_run` the
    script only reads. Per-mailbox failures come back as Failed items, never as an exception. A dry
    run is a read, sent again when cut off in transit (the Session's bounded retry policy). A batch
    that writes is not: one cut off after it was sent raises OutcomeUnknownError, because its answer
    is the only record of which mailboxes it switched (a second send would find them AlreadySet);
    read them again (`dry_run=True`) to find out.

    Args:
        pace_s: the pause after each Set-Mailbox, on the jump host (Microsoft's micro-delay advice); over
            REST, the client's wait per write between `$batch` requests.
        timeout: the batch's deadline, in seconds.
        read_ahead: mailboxes to read after the batch, as a dry run reads them (never written): their
            results are `BatchResult.read_ahead`.
        sleep: over REST, how the client waits its pace (the jump host sleeps on its own).

    Raises:
        UnexpectedOutputError: the script did not report exactly one result per identity (and per
            read-ahead identity), in order.
        TransientRemoteError: the whole pipeline was refused as throttled (`EXO_ERRORS`); a write's
            mailboxes may be read again to see what it did.
    """
    if not isinstance(session, Session):
        from psbridge.exchange.rest import bulk as rest_bulk

        return rest_bulk.set_cloud_managed_batch(
            session, identities, enabled=enabled, dry_run=dry_run, pace_s=pace_s, timeout=timeout,
            read_ahead=read_ahead, sleep=sleep,
        )  # fmt: skip
    if not identities:
        raise InputError("a batch needs at least one identity")
    if pace_s < 0:
        raise InputError("pace_s cannot be negative")
    command = Command.script(
        "exchange/Set-CloudManagedBatch.ps1",
        {"Identity": list(identities), "Enabled": enabled, "DryRun": dry_run, "PaceMilliseconds": round(pace_s * 1000),
         "ReadAhead": list(read_ahead) or None},
        idempotent=dry_run,
        error_rules=BATCH_ERRORS,
    )  # fmt: skip
    result = session.invoke(command, timeout=timeout)
    count = len(identities) + len(read_ahead)
    shown = command.display() if count <= 3 else f"script {BATCH_SCRIPT} ({count} identities)"
    items = from_output(BatchItem, _json_objects(result.output, shown, session.target), command=shown,
                        target=session.target)  # fmt: skip
    if [item.identity for item in items] != [*identities, *read_ahead]:
        ahead = f" and {len(read_ahead)} read ahead" if read_ahead else ""
        raise UnexpectedOutputError(
            f"{shown} reported {len(items)} result(s) for {len(identities)} identities{ahead}, or out of order",
            target=session.target, command=shown, raw=result.output,
        )  # fmt: skip
    return BatchResult(
        items=tuple(items[: len(identities)]), micro_delays_ms=micro_delays(result.streams.warning),
        read_ahead=tuple(items[len(identities) :]),
    )  # fmt: skip


def _json_objects(output: Sequence[Any], command: str, target: str) -> list[dict[str, Any]]:
    """The script's result lines (one compressed JSON object each), parsed."""
    rows = []
    for value in output:
        try:
            row = json.loads(value) if isinstance(value, str) else None
        except json.JSONDecodeError:
            row = None
        if not isinstance(row, dict):
            raise UnexpectedOutputError(
                f"{command} returned {value!r} where a JSON result object was expected",
                target=target, command=command, raw=value,
            )  # fmt: skip
        rows.append(row)
    return rows


# One page of Get-MailboxIdentities.ps1: a JSON array of identities, each non-blank text.
_IDENTITY_PAGE: TypeAdapter[list[str]] = TypeAdapter(
    list[Annotated[str, StringConstraints(strict=True, pattern=r"\S")]]
)
IDENTITY_PAGE_SIZE = 1000


def get_mailbox_identities(
    session: ExchangeOnline,
    *,
    filter: str | None = None,  # noqa: A002 - the cmdlet's own parameter name
    result_size: int | None = None,
    page_size: int = IDENTITY_PAGE_SIZE,
) -> list[str]:
    """The identity (UPN, else GUID) of every mailbox an OPATH filter selects (Get-Mailbox -Filter).

    Projected on the jump host and sent as compact JSON pages, one string per `page_size` identities (a
    JSON array each), validated here with pydantic's JSON validation: 50,000 mailboxes cross as 50 strings.
    `filter` is bound as a parameter, never pasted into text; build one from values with
    `psbridge.exchange.rules.opath_filter`. None selects every mailbox. `result_size` None means
    Unlimited (the cmdlet's own default is 1000).

    Raises:
        UnexpectedOutputError: output that is not JSON pages of non-blank text, or a duplicate identity.
    """
    if result_size is not None and result_size < 1:
        raise InputError("result_size must be at least 1 (None for unlimited)")
    if page_size < 1:
        raise InputError("page_size must be at least 1")
    if not isinstance(session, Session):  # over REST: paged through @odata.nextLink, at most 1000 a page
        from psbridge.exchange.rest import bulk as rest_bulk

        return rest_bulk.get_mailbox_identities(session, filter=filter, result_size=result_size, page_size=page_size)
    command = Command.script(
        "exchange/Get-MailboxIdentities.ps1",
        {"Filter": filter, "ResultSize": "Unlimited" if result_size is None else str(result_size),
         "PageSize": page_size},
    )  # fmt: skip
    result = session.invoke(command)
    identities: list[str] = []
    for page in result.output:
        if not isinstance(page, str):
            raise UnexpectedOutputError(
                f"{command.display()} returned {page!r} where a JSON page of identities was expected",
                target=session.target, command=command.display(), raw=page,
            )  # fmt: skip
        try:
            identities += _IDENTITY_PAGE.validate_json(page)
        except ValidationError as exc:
            where, reason = first_error(exc)
            raise UnexpectedOutputError(
                f"{command.display()} sent a page of identities that cannot be read ({where}: {reason})",
                target=session.target, command=command.display(), raw=page, location=where, reason=reason,
            ) from None  # fmt: skip
    duplicate = next((value for value, count in collections.Counter(identities).items() if count > 1), None)
    if duplicate is not None:
        raise UnexpectedOutputError(
            f"{command.display()} returned {duplicate!r} twice among the identities",
            target=session.target, command=command.display(), raw=result.output,
        )  # fmt: skip
    return identities
