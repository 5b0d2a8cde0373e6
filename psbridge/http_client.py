"""The one HTTP engine for JSON APIs with app-only bearer tokens: Microsoft Graph and Exchange Online's REST.

`JsonHttpClient` does what every such API needs; a subclass says what differs (hooks below).

- `timeout` is each call's deadline, all of it: the sign-in it needs, every attempt and every wait
  between them. Each request's timeout is the time left, and no attempt starts with less than
  MIN_ATTEMPT_S left, so a call ends at its deadline even against a server that has stopped answering.
- Passing failures are retried within the RetryPolicy: what the service says is passing (`_passing`),
  timeouts and transient network errors. A request that is not idempotent is sent again only when the
  service surely did not act on it (`_not_processed`), or when it never left (no connection); otherwise it
  raises OutcomeUnknownError and is never sent twice. The wait is the service's own (`_wait_hint`, e.g.
  Retry-After) when it gave one, else the policy's backoff.
- requests' failures become psbridge errors here (connect, TLS, timeout, a broken connection).
- One log event per attempt (`LOG_EVENT`): method, path, attempt, elapsed_ms, status, request id, outcome;
  never headers, tokens or bodies.
- How bytes travel is a requests transport adapter (`transport=`, mounted on the client's own session), as
  httpx's `transport=`: replay and record mount a cassette there, so only this client's requests go through it.

Hooks: `_http_error` (the error for an HTTP status >= 400), `_passing`, `_not_processed`, `_wait_hint`,
`_gave_up` (the error when passing failures outlast the retries), `REQUEST_ID_HEADERS`, `LOG_EVENT`,
`CLOSE_FAILED_EVENT`, `URL_NAME`. requests is imported when the first request is made, never at import.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar
from urllib.parse import urlsplit

import tenacity

from psbridge import errors, logs
from psbridge.graph.auth import TokenProvider, base_url
from psbridge.retry import RetryPolicy, backoff, retrying
from psbridge.transport import tls
from psbridge.transport.causes import connection_failure

if TYPE_CHECKING:
    import requests
    from requests.adapters import BaseAdapter

_E = TypeVar("_E", bound=errors.PsbridgeError)


def retry_after_s(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP date; None if absent or bad."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


class JsonHttpClient:
    """A JSON API over HTTPS with bearer tokens. A context manager; `close()` ends the session.

    `transport` is a requests transport adapter mounted on the session for every URL (tests: a fake
    service; replay/record: a cassette); the client closes it. `session` is a requests.Session the caller keeps.
    """

    LOG_EVENT = "psbridge.http.request"
    CLOSE_FAILED_EVENT = "psbridge.http.close_failed"
    URL_NAME = "URL"
    REQUEST_ID_HEADERS: tuple[str, ...] = ("request-id",)

    def __init__(
        self,
        tokens: TokenProvider,
        *,
        url: str,
        timeout: float,
        retry: RetryPolicy,
        session: requests.Session | None = None,
        transport: BaseAdapter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if timeout <= 0:
            raise errors.InputError("timeout must be positive")
        self.tokens = tokens
        self.base_url = base_url(url, self.URL_NAME)
        parts = urlsplit(self.base_url)
        self.target = parts.netloc
        self._origin = f"{parts.scheme}://{parts.netloc}".lower()
        self.timeout = timeout
        self.retry = retry
        self._session = session
        self._owns_session = session is None
        self._transport = transport
        if session is not None and transport is not None:
            _mount(session, transport)
        self._sleep = sleep

    def close(self) -> None:
        """Ends the client's own session and closes its transport (a recording is written then)."""
        transport, self._transport = self._transport, None
        try:
            if self._session is not None and self._owns_session:
                session, self._session = self._session, None
                session.close()  # closes the adapters mounted on it
        finally:
            if transport is not None:
                transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.close()
            return
        try:
            self.close()
        except errors.PsbridgeError as failure:  # the block's own error is the one to see
            logs.get_logger(target=self.target).warning(self.CLOSE_FAILED_EVENT, error=str(failure))

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            import requests

            self._session = requests.Session()
            if self._transport is not None:
                _mount(self._session, self._transport)
        return self._session

    # -- one request, with retries -----------------------------------------------------------------

    def _call(self, method: str, url: str, body: Any, *, idempotent: bool) -> dict[str, Any] | None:
        """One request under the client's deadline; its JSON object, or None for an empty answer."""
        return self._body(method, url, self._request(method, url, body, idempotent=idempotent))

    def _request(
        self,
        method: str,
        url: str,
        body: Any,
        *,
        idempotent: bool,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        shown: str | None = None,
    ) -> requests.Response:
        """One request (retried as the module docstring says) under one deadline of `timeout` seconds (the
        client's by default); `headers` are added to every attempt; `shown` names it in errors."""
        limit = self.timeout if timeout is None else timeout
        if limit <= 0:
            raise errors.InputError("timeout must be positive")
        path = urlsplit(url).path
        shown = shown or f"{method} {path}"
        data = None if body is None else json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        attempt = 0
        deadline = time.monotonic() + limit  # one deadline for the sign-in and every attempt

        def once() -> requests.Response:
            nonlocal attempt
            attempt += 1
            token = self.tokens.token(timeout=max(0.1, deadline - time.monotonic()))
            sent = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            if data is not None:
                sent["Content-Type"] = "application/json"
            sent.update(headers or {})
            started = time.monotonic()
            left = deadline - started
            if left <= 0:
                raise self._finish(self._timed_out(shown, limit, sent=False), shown, attempt)
            failure: errors.PsbridgeError | None = None
            try:
                response = self.session.request(method, url, data=data, headers=sent, timeout=left)
            except Exception as exc:
                failure = self._network_error(exc, shown, limit)
                if failure is None:
                    raise
            if failure is not None:  # raised outside the handler: the request (and its token) stays out of it
                self._log(method, path, attempt, started, outcome=type(failure).__name__)
                raise self._finish(failure, shown, attempt)
            request_id = self._request_id(response)
            outcome = "ok" if response.status_code < 400 else f"http_{response.status_code}"
            self._log(
                method, path, attempt, started, status=response.status_code, request_id=request_id, outcome=outcome
            )
            if response.status_code >= 400:
                raise self._finish(self._http_error(response, method, path, shown), shown, attempt)
            return response

        engine = self._retrying(deadline, idempotent)
        try:
            return engine(once)
        except errors.PsbridgeError as exc:
            passing = self._passing(exc)
            if not passing and not isinstance(exc, errors.TransportError):
                raise
            if not idempotent and self._may_have_taken_effect(exc):
                raise self._outcome_unknown(exc, shown) from None
            if passing:
                raise self._gave_up(exc, attempt, engine.statistics.get("idle_for", 0.0), limit) from None
            raise

    def _retrying(self, deadline: float, idempotent: bool) -> tenacity.Retrying:
        """The one retry engine within the policy and the call's deadline, waiting what the service asks
        (`_wait_hint`) and counting the waits even when `sleep` does not really sleep."""
        return retrying(
            self.retry, deadline=deadline, retryable=lambda exc: self._retryable(exc, idempotent),
            wait=_ServiceWait(backoff(self.retry), self._wait_hint), sleep=self._sleep,
        )  # fmt: skip

    def _retryable(self, exc: BaseException, idempotent: bool) -> bool:
        """Passing failures; for a request that is not idempotent, only those the service surely did not act on."""
        passing = (
            self._passing(exc)
            or isinstance(exc, errors.OperationTimeoutError)
            or (isinstance(exc, errors.TransportError) and exc.transient)
        )
        return passing and (idempotent or not self._may_have_taken_effect(exc))

    def _may_have_taken_effect(self, exc: BaseException) -> bool:
        """A failure after the request may have reached the service: a passing status it may have acted on
        (a gateway's), a timeout, a broken connection."""
        if self._passing(exc):
            return not self._not_processed(exc)
        if isinstance(exc, errors.OperationTimeoutError):
            return exc.command_sent
        return isinstance(exc, errors.TransportError) and exc.transient and exc.command_sent

    def _request_id(self, response: requests.Response) -> str | None:
        return next((response.headers[h] for h in self.REQUEST_ID_HEADERS if response.headers.get(h)), None)

    def _log(self, method: str, path: str, attempt: int, started: float, **fields: Any) -> None:
        logs.get_logger(target=self.target).info(
            self.LOG_EVENT, method=method, path=path, attempt=attempt,
            elapsed_ms=round((time.monotonic() - started) * 1000, 1), **fields,
        )  # fmt: skip

    def _finish(self, exc: errors.PsbridgeError, shown: str, attempt: int) -> errors.PsbridgeError:
        exc.target, exc.command, exc.attempt = self.target, shown, attempt
        exc.redact(self.tokens.secrets)
        return exc

    # -- hooks ---------------------------------------------------------------------------------------

    def _http_error(self, response: requests.Response, method: str, path: str, shown: str) -> errors.PsbridgeError:
        """The error for an HTTP status >= 400 to the request `shown` (its method and path, or the client's name)."""
        raise NotImplementedError

    def _passing(self, exc: BaseException) -> bool:
        """Whether the service said this failure passes (throttled, busy): worth another attempt."""
        return False

    def _not_processed(self, exc: BaseException) -> bool:
        """For a passing failure: whether the service surely did not act on the request."""
        return False

    def _wait_hint(self, exc: BaseException) -> float | None:
        """The wait the service asked for before the next attempt, if it said."""
        return None

    def _gave_up(self, exc: errors.PsbridgeError, attempts: int, waited: float, limit: float) -> errors.PsbridgeError:
        """The error when passing failures outlasted the retries (`waited` seconds in `attempts` attempts)."""
        return exc

    # -- what went wrong -----------------------------------------------------------------------------

    def _network_error(self, exc: Exception, shown: str, limit: float) -> errors.PsbridgeError | None:
        """The psbridge error for a requests failure; None for anything that is not one."""
        import requests
        import urllib3

        if not isinstance(exc, requests.RequestException):
            return None
        host = self.target
        if isinstance(exc, requests.ConnectTimeout):
            return errors.ConnectError(f"{shown}: no connection to {host} within {limit:g} s", command_sent=False)
        if isinstance(exc, requests.Timeout):
            return self._timed_out(shown, limit, sent=True)
        problem = tls.problem(exc)
        if problem is not None:
            if problem.local:
                return errors.InputError(f"{shown}: cannot connect to {host} with TLS: {problem.text}")
            failure = errors.ConnectError(f"{shown}: TLS with {host} failed: {problem.text}", command_sent=False)
            failure.transient = problem.transient
            return failure
        if isinstance(exc, requests.ConnectionError):
            reason = getattr(exc.args[0], "reason", None) if exc.args else None
            unsent = isinstance(reason, urllib3.exceptions.NewConnectionError)
            broken = connection_failure(exc)
            what = (
                f"cannot connect to {broken.about(host)}"
                if unsent
                else f"the connection to {host} broke ({broken.cause})"
            )
            return errors.ConnectError(f"{shown}: {what}", command_sent=not unsent)
        return errors.ConnectError(f"{shown}: {host}: {type(exc).__name__}", command_sent=True)

    def _timed_out(self, shown: str, limit: float, *, sent: bool) -> errors.OperationTimeoutError:
        return errors.OperationTimeoutError(
            f"{shown}: no answer from {self.target} within {limit:g} s", deadline_s=limit, command_sent=sent
        )

    def _outcome_unknown(self, exc: errors.PsbridgeError, shown: str) -> errors.OutcomeUnknownError:
        return self._copy(
            errors.OutcomeUnknownError(
                f"{shown} may or may not have taken effect: {exc.message.removeprefix(shown + ': ')}; it was not "
                "sent again because it changes state - check the state before trying again"
            ),
            exc,
        )

    def _copy(self, new: _E, old: errors.PsbridgeError) -> _E:
        new.target, new.command, new.attempt = old.target, old.command, old.attempt
        new.redact(self.tokens.secrets)
        return new

    def _unexpected(self, method: str, url: str, problem: str, raw: Any) -> errors.UnexpectedOutputError:
        return errors.UnexpectedOutputError(
            f"{method} {urlsplit(url).path}: {problem}", raw=raw, target=self.target, command=f"{method} {url}"
        )

    # -- what came back ------------------------------------------------------------------------------

    def _body(self, method: str, url: str, response: requests.Response) -> dict[str, Any] | None:
        if response.status_code == 204 or not response.content:
            return None
        try:
            body = response.json()
        except ValueError:
            raise self._unexpected(method, url, "the answer is not JSON", response.text[:200]) from None
        if not isinstance(body, dict):
            raise self._unexpected(method, url, "the answer is not a JSON object", body)
        return body

    def _object(self, method: str, url: str, body: dict[str, Any] | None) -> dict[str, Any]:
        if body is None:
            raise self._unexpected(method, url, "the answer is empty", None)
        return body

    def _same_origin(self, link: Any, previous: str, method: str = "GET") -> str:
        """A nextLink is followed only where the token may go: the same scheme, host and port."""
        if isinstance(link, str):
            parts = urlsplit(link)
            if f"{parts.scheme}://{parts.netloc}".lower() == self._origin:
                return link
        raise self._unexpected(method, previous, f"@odata.nextLink leaves {self.base_url}: not followed", link)


def _mount(session: requests.Session, transport: BaseAdapter) -> None:
    for prefix in ("https://", "http://"):
        session.mount(prefix, transport)


class _ServiceWait(tenacity.wait.wait_base):
    """The service's wait when it gave one, else the policy's backoff."""

    def __init__(self, backoff: Any, hint: Callable[[BaseException], float | None]) -> None:
        self.backoff = backoff
        self.hint = hint

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        failure = retry_state.outcome.exception() if retry_state.outcome else None
        asked = self.hint(failure) if failure is not None else None
        return asked if asked is not None else float(self.backoff(retry_state))
