"""Exchange Online cmdlets over the REST endpoint EXO V3 uses (InvokeCommand), without a Windows host.

The wire (URLs, headers, body, answer, error body, rate-limit headers) is psbridge.exchange.rest.wire's,
all undocumented by Microsoft (docs/exchange-rest.md). The HTTP engine is psbridge.http_client's, shared
with the Graph client: one deadline per call (per page when paging) for the sign-in, every attempt and
every wait, even against a server that stops answering; one `psbridge.exo_rest.request` log event per
attempt, never headers, tokens or bodies.

- Errors are classified as on the PowerShell path: the error body becomes an ErrorRecordData, classified by
  psbridge.session.classify with psbridge.exchange.rules.EXO_ERRORS (not found, synced from on-premises,
  ...); HTTP 401 is an AuthenticationError, 403 an AccessDeniedError naming what the app lacks, 429 or the
  per-tenant concurrency error an ExoRestThrottledError. One line, with the request id.
- Retries: reads (idempotent) are retried on 429, the concurrency error, 502/503/504, timeouts and broken
  connections, waiting the service's Retry-After or Rate-Limit-Reset (bounded by the RetryPolicy and the
  deadline), and on the passing errors the classifier names (TransientRemoteError), as Session.invoke
  retries them. A write is sent again only after 429 or the concurrency error. Why that is safe: both
  refuse the request at admission, before any cmdlet runs: 429 is HTTP's "Too Many Requests", a refusal
  (RFC 6585, section 4), and the concurrency error says the tenant already has its maximum of requests
  in flight ("Please wait and try again"); ExoHelper's Invoke-ExoCommand.ps1 resends every command,
  writes included, on it. Microsoft does not document this endpoint, so this is inferred from those
  sources (docs/exchange-rest.md, "Unverified"); every other failure of a write after it was sent (a
  timeout, a broken connection, a gateway's 502/503/504) raises OutcomeUnknownError and is never sent twice.
- Replay and record are a transport (psbridge.replay.graph_http's cassette, `<recordings>/exo-rest/*.yaml`).
"""

from __future__ import annotations

import dataclasses
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from psbridge import errors, logs
from psbridge.errors import ExoRestThrottledError
from psbridge.exchange.rest import wire
from psbridge.exchange.rest.wire import RateLimit
from psbridge.exchange.rules import EXO_ERRORS
from psbridge.graph.auth import StaticTokenProvider, TokenProvider
from psbridge.http_client import JsonHttpClient, retry_after_s
from psbridge.retry import RetryPolicy

if TYPE_CHECKING:
    import requests
    from requests.adapters import BaseAdapter

EXO_REST_RETRY = RetryPolicy(attempts=5, total_s=120.0, initial_s=1.0, max_wait_s=30.0, jitter_s=1.0)
NOT_PROCESSED = frozenset({429})  # refused at admission: the cmdlet did not run
GATEWAY = frozenset({502, 503, 504})  # passing, but the request may have reached the cmdlet
PERMISSION_HINT = (
    "the app needs the Exchange.ManageAsApp application permission (Office 365 Exchange Online) and an Entra "
    "role that covers this cmdlet, such as Exchange Administrator"
)
RECORDINGS_DIR = "exo-rest"
_PER_ITEM = frozenset({"X-CmdletName", "Prefer"})  # a `$batch` item's headers, not the outer request's
_PER_CALL = frozenset({"client-request-id", "connection-id"})  # the outer request's, not an item's


@dataclasses.dataclass(frozen=True)
class RestAnswer:
    """What one InvokeCommand (or one page of it) returned: rows without OData annotations, the cmdlet's
    warnings, the command as a person reads it (never a secret), and the rate-limit headers if any came."""

    rows: tuple[dict[str, Any], ...]
    warnings: tuple[str, ...]
    command: str
    rate_limit: RateLimit | None = None


@dataclasses.dataclass(frozen=True)
class RestRequest:
    """One cmdlet call of a `$batch`."""

    cmdlet: str
    parameters: Mapping[str, Any] | None = None
    select: tuple[str, ...] = ()
    idempotent: bool = dataclasses.field(kw_only=True)

    @property
    def shown(self) -> str:
        return wire.shown(self.cmdlet, self.parameters)


def recorded_tenant(path: str | os.PathLike[str]) -> str | None:
    """The tenant the REST cassettes at `path` (`<path>/exo-rest/*.yaml`, or a cassette file) were recorded for:
    that of their first InvokeCommand or `$batch` request; None when there is none."""
    from psbridge.replay.graph_http import graph_files, load

    if not graph_files(path, RECORDINGS_DIR):
        return None
    found = (wire.tenant_of(i.request.uri) for i in load(path, RECORDINGS_DIR)[0])
    return next((tenant for tenant in found if tenant), None)


class ExoRestClient(JsonHttpClient):
    """Exchange Online's InvokeCommand for one tenant, app-only. A context manager; `close()` ends it.

    `tokens` gives tokens for `{base_url}/.default` (MsalTokenProvider with `scope=`). `transport` is a
    requests transport adapter (tests: a fake tenant; `replay`/`record`: a cassette). `page_size` and
    `anchor` are the wire's undocumented settings (psbridge.exchange.rest.wire.WireSettings).
    """

    LOG_EVENT = "psbridge.exo_rest.request"
    CLOSE_FAILED_EVENT = "psbridge.exo_rest.close_failed"
    URL_NAME = "Exchange Online base URL"
    REQUEST_ID_HEADERS = ("request-id", "client-request-id")

    def __init__(
        self,
        tokens: TokenProvider,
        *,
        tenant_id: str,
        base_url: str = wire.DEFAULT_BASE_URL,
        timeout: float = 60.0,
        retry: RetryPolicy = EXO_REST_RETRY,
        page_size: int = wire.MAX_PAGE_SIZE,
        anchor: str = wire.DEFAULT_ANCHOR,
        session: requests.Session | None = None,
        transport: BaseAdapter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            tokens, url=base_url, timeout=timeout, retry=retry, session=session, transport=transport, sleep=sleep
        )
        self.tenant_id = wire.check_tenant(tenant_id)
        self.settings = wire.WireSettings(base_url=self.base_url, page_size=page_size, anchor=anchor)
        self.target = f"{urlsplit(self.base_url).netloc}/{self.tenant_id}"
        self.connection_id = str(uuid.uuid4())

    @classmethod
    def replay(
        cls,
        path: str | os.PathLike[str],
        *,
        tenant_id: str,
        base_url: str = wire.DEFAULT_BASE_URL,
        timeout: float = 60.0,
        retry: RetryPolicy = EXO_REST_RETRY,
    ) -> ExoRestClient:
        """A client served by the cassettes at `path` (a cassette file, or a recordings directory whose
        `exo-rest/*.yaml` are merged), each answer once, with a static token and no network."""
        from psbridge.replay.graph_http import GraphCassette

        cassette = GraphCassette(path, subdir=RECORDINGS_DIR)
        return cls(
            StaticTokenProvider(), tenant_id=tenant_id, base_url=base_url, timeout=timeout, retry=retry,
            transport=cassette,
        )  # fmt: skip

    @classmethod
    def record(
        cls,
        path: str | os.PathLike[str],
        tokens: TokenProvider,
        *,
        tenant_id: str,
        mode: str = "once",
        base_url: str = wire.DEFAULT_BASE_URL,
        timeout: float = 60.0,
        authority_hosts: Iterable[str] = (),
    ) -> ExoRestClient:
        """A live client whose exchanges are recorded, scrubbed, in the cassette file `path`, written when the
        client closes (`mode`: none, once, new_episodes, rewrite). Sign-in is never recorded."""
        from psbridge.replay.graph_http import GraphCassette

        cassette = GraphCassette(
            path, mode=mode, secrets=tokens.secrets, authority_hosts=authority_hosts, subdir=RECORDINGS_DIR
        )
        return cls(tokens, tenant_id=tenant_id, base_url=base_url, timeout=timeout, transport=cassette)

    # -- the public calls -------------------------------------------------------------------------

    def invoke(
        self,
        cmdlet: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        select: Sequence[str] = (),
        idempotent: bool,
        timeout: float | None = None,
    ) -> RestAnswer:
        """Run one cmdlet and collect every page (each page under the deadline `timeout`, the client's by
        default). `idempotent`: a read, safe to send again; a write is sent again only when surely not run."""
        rows: list[dict[str, Any]] = []
        warnings: list[str] = []
        last: RestAnswer | None = None
        for answer in self._pages(cmdlet, parameters, select, idempotent, None, timeout):
            rows += answer.rows
            warnings += answer.warnings
            last = answer
        assert last is not None  # _pages yields at least one page
        return RestAnswer(tuple(rows), tuple(warnings), last.command, last.rate_limit)

    def pages(
        self,
        cmdlet: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        select: Sequence[str] = (),
        page_size: int | None = None,
        timeout: float | None = None,
    ) -> Iterator[RestAnswer]:
        """A read, one answer per page as it comes: the same body POSTed again to `@odata.nextLink` (only on
        the same origin), each page under the deadline `timeout`."""
        return self._pages(cmdlet, parameters, select, True, page_size, timeout)

    def batch(
        self, requests: Sequence[RestRequest], *, timeout: float | None = None
    ) -> list[RestAnswer | errors.RemoteCommandError]:
        """Up to 10 cmdlets in one `$batch` (continue on error): for each request, in order, its answer or its
        classified error (never raised for one item). The whole batch is retried as a write is, unless
        every request is idempotent; a batch whose answer is lost raises OutcomeUnknownError."""
        if not 1 <= len(requests) <= wire.MAX_BATCH:
            raise errors.InputError(f"a batch holds 1 to {wire.MAX_BATCH} requests, got {len(requests)}")
        call_id = str(uuid.uuid4())
        outer = {k: v for k, v in self._headers(requests[0].cmdlet, call_id, None).items() if k not in _PER_ITEM}
        outer["Prefer"] = "odata.continue-on-error"
        # The ids are the outer request's: an item's body is the same each time it is sent, so a cassette finds it.
        items = [
            (str(n), wire.invoke_url(self.base_url, self.tenant_id, r.select),
             {k: v for k, v in self._headers(r.cmdlet, call_id, None).items() if k not in _PER_CALL},
             wire.body(r.cmdlet, r.parameters))
            for n, r in enumerate(requests, 1)
        ]  # fmt: skip
        url = wire.batch_url(self.base_url, self.tenant_id)
        shown = f"$batch of {len(requests)}: {requests[0].shown}" + (" ..." if len(requests) > 1 else "")
        response = self._request(
            "POST", url, wire.batch_body(items), idempotent=all(r.idempotent for r in requests), headers=outer,
            timeout=timeout, shown=shown,
        )  # fmt: skip
        data = self._object("POST", url, self._body("POST", url, response))
        try:
            answers = wire.batch_answers(data)
        except ValueError as exc:
            raise self._unexpected("POST", url, str(exc), data) from None
        return [self._item(answers.get(str(n)), r, url, call_id) for n, r in enumerate(requests, 1)]

    # -- paging and batch items --------------------------------------------------------------------

    def _pages(
        self,
        cmdlet: str,
        parameters: Mapping[str, Any] | None,
        select: Sequence[str],
        idempotent: bool,
        page_size: int | None,
        timeout: float | None,
    ) -> Iterator[RestAnswer]:
        url: str | None = wire.invoke_url(self.base_url, self.tenant_id, select)
        body = wire.body(cmdlet, parameters)
        shown = wire.shown(cmdlet, parameters)
        head = self._headers(cmdlet, str(uuid.uuid4()), page_size)
        while url is not None:
            response = self._request(
                "POST", url, body, idempotent=idempotent, headers=head, timeout=timeout, shown=shown
            )
            data = self._object("POST", url, self._body("POST", url, response))
            try:
                page = wire.page(data)
            except ValueError as exc:
                raise self._unexpected("POST", url, str(exc), data) from None
            self._log_warnings(cmdlet, page.warnings)
            yield RestAnswer(page.rows, page.warnings, shown, wire.rate_limit(response.headers))
            url = self._same_origin(page.next_link, url, "POST") if page.next_link else None

    def _headers(self, cmdlet: str, call_id: str, page_size: int | None) -> dict[str, str]:
        return wire.headers(
            cmdlet, tenant_id=self.tenant_id, settings=self.settings, request_id=call_id,
            connection_id=self.connection_id, page_size=page_size,
        )  # fmt: skip

    def _item(
        self, found: tuple[int, dict[str, str], Any] | None, request: RestRequest, url: str, call_id: str
    ) -> RestAnswer | errors.RemoteCommandError:
        """One `$batch` item's answer, or its error (shown with the batch's client-request-id if it has no id)."""
        shown = request.shown
        if found is None:
            return self._unexpected("POST", url, f"the $batch answer has nothing for `{shown}`", None)
        status, head, data = found
        if status >= 400:
            if not any(k.lower() in self.REQUEST_ID_HEADERS for k in head):
                head = {**head, "client-request-id": call_id}
            failure = self._error(status, head, data, shown, reason="")
            if isinstance(failure, errors.RemoteCommandError):
                failure.target, failure.command = self.target, shown
                failure.redact(self.tokens.secrets)
                return failure
            return errors.RemoteCommandError(str(failure), target=self.target, command=shown)  # a 401 for one item
        try:
            page = wire.page(data if isinstance(data, dict) else {})
        except ValueError as exc:
            return self._unexpected("POST", url, f"`{shown}`: {exc}", data)
        if page.next_link:
            return self._unexpected("POST", url, f"`{shown}` has more pages: page it with pages()", data)
        self._log_warnings(request.cmdlet, page.warnings)
        return RestAnswer(page.rows, page.warnings, shown, wire.rate_limit(head))

    def _log_warnings(self, cmdlet: str, warnings: Sequence[str]) -> None:
        log = logs.get_logger(target=self.target)
        for text in warnings:
            log.warning("psbridge.remote.warning", command=cmdlet, message=logs.redact_known(text))

    # -- the engine's hooks --------------------------------------------------------------------------

    def _passing(self, exc: BaseException) -> bool:
        return isinstance(exc, ExoRestThrottledError)

    def _not_processed(self, exc: BaseException) -> bool:
        return isinstance(exc, ExoRestThrottledError) and exc.not_processed

    def _wait_hint(self, exc: BaseException) -> float | None:
        return exc.retry_after if isinstance(exc, ExoRestThrottledError) else None

    def _retryable(self, exc: BaseException, idempotent: bool) -> bool:
        """Besides the engine's: a passing error the cmdlet reported (a replication delay), for reads only."""
        if isinstance(exc, errors.RemoteCommandError) and exc.transient and not self._passing(exc):
            return idempotent
        return super()._retryable(exc, idempotent)

    def _http_error(self, response: requests.Response, method: str, path: str, shown: str) -> errors.PsbridgeError:
        try:
            data = response.json()
        except ValueError:
            data = None
        head = dict(response.headers)
        sent = response.request.headers.get("client-request-id") if response.request is not None else None
        if not self._request_id(response) and sent:
            head["client-request-id"] = str(sent)
        return self._error(response.status_code, head, data, shown, reason=response.reason or "")

    def _error(
        self, status: int, head: Mapping[str, str], data: Any, shown: str, *, reason: str
    ) -> errors.PsbridgeError:
        """The error for an HTTP error answer (of a request, or of one `$batch` item)."""
        found = wire.error_body(data) or wire.ErrorBody(text=reason)
        request_id = next((str(v) for k, v in head.items() if k.lower() in self.REQUEST_ID_HEADERS), None)
        short = found.exception_type.rsplit(".", 1)[-1] or found.code
        text = f"{shown}: HTTP {status} {short}".rstrip() + (f": {found.text}" if found.text else "")
        text += f" (request-id {request_id})" if request_id else ""
        if status == 401:
            return errors.AuthenticationError(f"{text}; Exchange Online refused the app's token")
        fields: dict[str, Any] = {"target_name": found.target_name or None, "error_id": found.code or None}
        fields["exception_type"] = found.exception_type or None
        if status in NOT_PROCESSED or found.concurrency or status in GATEWAY:
            limits = wire.rate_limit(head)
            wait = retry_after_s(wire.header(head, "Retry-After"))
            return ExoRestThrottledError(
                text, status=status, not_processed=status in NOT_PROCESSED or found.concurrency,
                retry_after=wait if wait is not None else (limits.reset_s if limits else None),
                request_id=request_id, **fields,
            )  # fmt: skip
        from psbridge.session import classify, note_for

        record = found.record()
        cls = classify(record, EXO_ERRORS)
        if cls is errors.RemoteCommandError:
            cls = {403: errors.AccessDeniedError, 404: errors.ObjectNotFoundError}.get(status, cls)
        text += note_for(record, EXO_ERRORS)
        if cls is errors.AccessDeniedError and not any(w in found.text.lower() for w in ("role", "permission")):
            text += f"; {PERMISSION_HINT}"
        return cls(text, **fields)

    def _gave_up(self, exc: errors.PsbridgeError, attempts: int, waited: float, limit: float) -> errors.PsbridgeError:
        if not isinstance(exc, ExoRestThrottledError):
            return exc
        text = f"{exc.message}; gave up after {attempts} attempt(s) and {waited:.1f} s of waiting"
        if exc.retry_after is not None and attempts < self.retry.attempts:
            text += (
                f" (Exchange Online asked for {exc.retry_after:.0f} s more, past the {self.retry.total_s:g} s "
                f"retry budget or the {limit:g} s deadline)"
            )
        return self._copy(
            ExoRestThrottledError(
                text, status=exc.status, not_processed=exc.not_processed, retry_after=exc.retry_after,
                request_id=exc.request_id, target_name=exc.target_name, exception_type=exc.exception_type,
            ),
            exc,
        )  # fmt: skip
