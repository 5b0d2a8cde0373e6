"""Listing Exchange Online mailboxes at scale: page by page, each page its own pipeline.

Get-Mailbox has no continuation token (docs/exchange.md), and a Session call returns only when its
pipeline ends. So the packaged script runs Get-Mailbox once, projects each mailbox to the modelled
fields as it arrives, keeps the rows in the jump host's runspace and sends them a page at a time, each
page one JSON string that pydantic validates straight into `Mailbox` models (`runner.read_page`): the
first mailbox reaches Python after one page has been read, not after the whole tenant.
Between pages the Session is free for other calls (a rollout can switch one page while the next
waits on the host).
"""

from __future__ import annotations

from collections.abc import Iterator

from psbridge import logs
from psbridge.errors import InputError, PsbridgeError
from psbridge.exchange.models import Mailbox
from psbridge.exchange.rules import is_truncation_warning
from psbridge.exchange.runner import command, read_page
from psbridge.session import Session

DEFAULT_PAGE_SIZE = 1000
ResultSize = int | str


def result_size_value(result_size: ResultSize) -> int | str:
    """`Unlimited` or a positive count: -ResultSize is always passed explicitly (docs/exchange.md)."""
    if isinstance(result_size, str):
        if result_size.strip().lower() == "unlimited":
            return "Unlimited"
        if not result_size.strip().isdigit():
            raise InputError(f"result size must be a positive number or Unlimited, not {result_size!r}")
        result_size = int(result_size)
    if isinstance(result_size, bool) or result_size < 1:
        raise InputError(f"result size must be a positive number or Unlimited, not {result_size!r}")
    return result_size


class MailboxListing:
    """Mailboxes as their pages arrive. Iterate it once; afterwards (or during) it tells what was seen.

    Attributes:
        warnings: the warning records of every page, in order.
        pages: pipelines used so far.
        total: how many mailboxes the listing holds, once the first page has arrived.
    """

    def __init__(
        self,
        session: Session,
        *,
        opath: str | None = None,
        result_size: ResultSize = "Unlimited",
        cloud_managed: bool | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        timeout: float | None = None,
    ) -> None:
        if opath is not None and not opath.strip():
            raise InputError("an OPATH filter cannot be empty: leave it out to list every mailbox")
        if not 1 <= page_size <= 100_000:
            raise InputError("page size must be between 1 and 100000")
        self._session = session
        self._arguments = {"Filter": opath, "ResultSize": result_size_value(result_size)}
        self._cloud_managed = cloud_managed
        self._page_size = page_size
        self._timeout = timeout
        self._started = False
        self.warnings: list[str] = []
        self.pages = 0
        self.total: int | None = None

    @property
    def truncated(self) -> bool:
        """Whether -ResultSize cut the listing short: Exchange says so only in a warning (docs/exchange.md)."""
        return any(is_truncation_warning(w) for w in self.warnings)

    def __iter__(self) -> Iterator[Mailbox]:
        if self._started:
            raise InputError("a mailbox listing can be iterated only once: start a new one")
        self._started = True
        return self._mailboxes()

    def _mailboxes(self) -> Iterator[Mailbox]:
        session = self._session
        cursor: str | None = None
        first = command(
            "Get-Mailbox", self._arguments, cloud_managed=self._cloud_managed, page_size=self._page_size
        )  # the first page waits for the whole Get-Mailbox on the host: it gets the caller's timeout
        result = session.invoke(first, timeout=self._timeout)
        try:
            while True:
                page = read_page(Mailbox, result, session)
                self.pages += 1
                self.warnings.extend(result.streams.warning)
                if self.total is None:
                    self.total = page.total
                cursor = page.cursor
                yield from page.rows
                if cursor is None:
                    return
                result = session.invoke(command("Get-Mailbox", cursor=cursor, page_size=self._page_size))
        finally:
            # Left unfinished: free the rows kept on the host, unless its runspace is gone already
            # (the session was closed before the listing was dropped).
            if cursor is not None and session.transport.pool_open:
                try:
                    session.invoke(command("Get-Mailbox", cursor=cursor, release=True))
                except PsbridgeError as exc:
                    logs.get_logger(target=session.target).info(
                        "psbridge.exchange.listing_not_released", cursor=cursor, error=str(exc)
                    )


def iter_mailboxes(
    session: Session,
    *,
    opath: str | None = None,
    result_size: ResultSize = "Unlimited",
    cloud_managed: bool | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    timeout: float | None = None,
) -> MailboxListing:
    """Exchange Online mailboxes, streamed page by page; wraps Get-Mailbox -Filter -ResultSize.

    Args:
        opath: an OPATH filter, bound as -Filter (build one with `psbridge.exchange.opath_filter`).
        result_size: a count, or "Unlimited" (the default here; Exchange's own default is 1000).
        cloud_managed: keep only mailboxes whose IsExchangeCloudManaged is this. It is not
            OPATH-filterable, so the jump host filters with Where-Object after -ResultSize applied.
        page_size: mailboxes per pipeline.
        timeout: the deadline of the first call, which waits for Get-Mailbox to finish on the host
            (the session's timeout when None).
    """
    return MailboxListing(
        session, opath=opath, result_size=result_size, cloud_managed=cloud_managed, page_size=page_size,
        timeout=timeout,
    )  # fmt: skip
