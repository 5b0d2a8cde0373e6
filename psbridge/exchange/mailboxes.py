"""Listing Exchange Online mailboxes at scale: page by page.

Through the jump host (`backend.JumpHost`): Get-Mailbox has no continuation token (docs/exchange.md), and a
Session call returns only when its pipeline ends. So the packaged script runs Get-Mailbox once, projects
each mailbox to the modelled fields as it arrives, keeps the rows in the jump host's runspace and sends
them a page at a time, each page one JSON string that pydantic validates straight into `Mailbox` models
(`runner.read_page`): the first mailbox reaches Python after one page has been read, not after the
whole tenant. Between pages the Session is free for other calls (a rollout can switch one page while
the next waits on the host).

Over REST (`backend.Rest`), InvokeCommand pages by itself (`@odata.nextLink`, docs/exchange-rest.md): each
page is one HTTPS request, and the listing's total is not known before its end.
"""

from __future__ import annotations

from collections.abc import Iterator

from psbridge.errors import InputError
from psbridge.exchange.backend import ExchangeOnline, backend_for
from psbridge.exchange.models import Mailbox
from psbridge.exchange.rules import is_truncation_warning

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
        pages: pages read so far.
        total: how many mailboxes the listing holds, once the first page has arrived (through the jump
            host; over REST it stays None).
    """

    def __init__(
        self,
        session: ExchangeOnline,
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
        self._backend = backend_for(session)
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
        pages = self._backend.mailbox_pages(
            self._arguments, cloud_managed=self._cloud_managed, page_size=self._page_size, timeout=self._timeout
        )
        for page in pages:
            self.pages += 1
            self.warnings.extend(page.warnings)
            if self.total is None:
                self.total = page.total
            yield from page.mailboxes


def iter_mailboxes(
    session: ExchangeOnline,
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
