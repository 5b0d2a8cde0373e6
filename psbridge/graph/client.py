"""A small Microsoft Graph client on requests: paging, bounded retries, timeouts, typed errors.

- `timeout` is each call's deadline, all of it: the sign-in it needs, every attempt and every wait
  between them. Each request's timeout is the time left, and no attempt starts with less than
  MIN_ATTEMPT_S left, so a call ends at its deadline even against a server that has stopped answering.
  `@odata.nextLink` is followed to the end (one deadline per page), and only on the same origin.
- 429 and 503 (the request was not processed) are retried, honouring `Retry-After` in seconds or as an
  HTTP date; 502/504, timeouts and connection resets are retried only for idempotent requests. A
  non-idempotent request that meets one of those raises OutcomeUnknownError and is never sent twice.
  Waits and attempts are bounded by the RetryPolicy. 400, 401, 403 and 404 are never retried.
- Errors: 401 -> AuthenticationError, 403 -> GraphPermissionError naming the permission, 404 ->
  GraphNotFoundError naming the object, other statuses -> GraphError; one line, with Graph's request id.
- One `psbridge.graph.request` log event per attempt; never headers, tokens or bodies.
- How bytes travel is a requests transport adapter (`transport=`, mounted on the client's session), as
  httpx's `transport=`: `GraphClient.replay` and `GraphClient.record` mount psbridge.replay's Graph
  cassette there, so only this client's requests are replayed or recorded, never the process's.

requests is imported when the first request is made, and psbridge.replay when a cassette is used; never at
import.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, unquote, urlencode, urlsplit

import tenacity

from psbridge import errors, logs
from psbridge.graph.auth import DEFAULT_GRAPH_URL, StaticTokenProvider, TokenProvider, base_url
from psbridge.graph.permissions import required_permission
from psbridge.retry import RetryPolicy, backoff, retrying
from psbridge.transport import tls
from psbridge.transport.causes import connection_failure

if TYPE_CHECKING:
    import requests
    from requests.adapters import BaseAdapter

GRAPH_RETRY = RetryPolicy(attempts=5, total_s=120.0, initial_s=1.0, max_wait_s=30.0, jitter_s=1.0)
NOT_PROCESSED = frozenset({429, 503})  # Graph did not act on the request: safe to send again
GATEWAY = frozenset({502, 504})  # the request may have reached Graph
APIS = ("v1.0", "beta")
_E = TypeVar("_E", bound=errors.PsbridgeError)
_PATH = re.compile(r"^(/[^/?#]+)+/?$")


def segment(value: str) -> str:
    """One path segment (an id, a name), percent-encoded so it can never change the path around it."""
    if value in ("", ".", ".."):
        raise errors.InputError(f"{value!r} is not a valid id for a Graph path")
    return quote(value, safe="")


def build_url(graph_url: str, api: str, path: str, params: Mapping[str, str] | None = None) -> str:
    """`{graph_url}/{api}{path}?{params}`; query values are percent-encoded here, never by the caller."""
    if api not in APIS:
        raise errors.InputError(f"Graph API version must be one of {', '.join(APIS)}, got {api!r}")
    if not _PATH.match(path):
        raise errors.InputError(f"a Graph path starts with / and has no query or empty segment, got {path!r}")
    url = f"{graph_url}/{api}{path}"
    if params:
        url += "?" + urlencode(dict(params), quote_via=quote, safe="$'(),:")
    return url


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


class GraphClient:
    """Microsoft Graph over HTTPS with app-only tokens. A context manager; `close()` ends the session.

    `transport` is a requests transport adapter mounted on the session for every URL (tests: a fake Graph;
    `replay`/`record`: a cassette); the client closes it. `session` is a requests.Session the caller keeps.
    """

    def __init__(
        self,
        tokens: TokenProvider,
        *,
        graph_url: str = DEFAULT_GRAPH_URL,
        timeout: float = 30.0,
        retry: RetryPolicy = GRAPH_RETRY,
        session: requests.Session | None = None,
        transport: BaseAdapter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if timeout <= 0:
            raise errors.InputError("timeout must be positive")
        self.tokens = tokens
        self.graph_url = base_url(graph_url, "graph_url")
        parts = urlsplit(self.graph_url)
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

    @classmethod
    def replay(
        cls, path: str | os.PathLike[str], *, graph_url: str = DEFAULT_GRAPH_URL, timeout: float = 30.0
    ) -> GraphClient:
        """A client served by the Graph cassettes at `path` (a cassette file, or a recordings directory whose
        `graph/*.yaml` are merged), each answer once, with a static token and no network."""
        from psbridge.replay.graph_http import GraphCassette

        return cls(StaticTokenProvider(), graph_url=graph_url, timeout=timeout, transport=GraphCassette(path))

    @classmethod
    def record(
        cls,
        path: str | os.PathLike[str],
        tokens: TokenProvider,
        *,
        mode: str = "once",
        graph_url: str = DEFAULT_GRAPH_URL,
        timeout: float = 30.0,
        authority_hosts: Iterable[str] = (),
    ) -> GraphClient:
        """A live client whose Graph exchanges are recorded, scrubbed, in the cassette file `path`, written when
        the client closes. `mode` is a record mode (none, once, new_episodes, rewrite; see
        psbridge.replay.modes). Sign-in (the token provider's own HTTP) is never recorded."""
        from psbridge.replay.graph_http import GraphCassette

        cassette = GraphCassette(path, mode=mode, secrets=tokens.secrets, authority_hosts=authority_hosts)
        return cls(tokens, graph_url=graph_url, timeout=timeout, transport=cassette)

    # -- the public calls -------------------------------------------------------------------------

    def get(self, path: str, *, params: Mapping[str, str] | None = None, api: str = "v1.0") -> dict[str, Any]:
        url = build_url(self.graph_url, api, path, params)
        return self._object("GET", url, self._call("GET", url, None, idempotent=True))

    def get_all(
        self, path: str, *, params: Mapping[str, str] | None = None, api: str = "v1.0"
    ) -> Iterator[dict[str, Any]]:
        """Each item of `value`, following `@odata.nextLink` to the last page."""
        url: str | None = build_url(self.graph_url, api, path, params)
        while url is not None:
            page = self._object("GET", url, self._call("GET", url, None, idempotent=True))
            items = page.get("value")
            if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
                raise self._unexpected("GET", url, "the page has no `value` list of objects", page)
            yield from items
            next_link = page.get("@odata.nextLink")
            url = self._same_origin(next_link, url) if next_link else None

    def post(
        self, path: str, body: Any = None, *, api: str = "v1.0", idempotent: bool = False
    ) -> dict[str, Any] | None:
        """None for 204. Unless `idempotent`, a failure after the request may have reached Graph raises
        OutcomeUnknownError instead of sending it again."""
        return self._call("POST", build_url(self.graph_url, api, path), body, idempotent=idempotent)

    def put(self, path: str, body: Any, *, api: str = "v1.0") -> dict[str, Any] | None:
        return self._call("PUT", build_url(self.graph_url, api, path), body, idempotent=True)

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

    def __enter__(self) -> GraphClient:
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
            logs.get_logger(target=self.target).warning("psbridge.graph.close_failed", error=str(failure))

    # -- one request, with retries -----------------------------------------------------------------

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            import requests

            self._session = requests.Session()
            if self._transport is not None:
                _mount(self._session, self._transport)
        return self._session

    def _call(self, method: str, url: str, body: Any, *, idempotent: bool) -> dict[str, Any] | None:
        path = urlsplit(url).path
        shown = f"{method} {path}"
        data = None if body is None else json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        attempt = 0
        deadline = time.monotonic() + self.timeout  # one deadline for the sign-in and every attempt

        def once() -> requests.Response:
            nonlocal attempt
            attempt += 1
            token = self.tokens.token(timeout=max(0.1, deadline - time.monotonic()))
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            if data is not None:
                headers["Content-Type"] = "application/json"
            started = time.monotonic()
            left = deadline - started
            if left <= 0:
                raise self._finish(self._timed_out(shown, sent=False), shown, attempt)
            failure: errors.PsbridgeError | None = None
            try:
                response = self.session.request(method, url, data=data, headers=headers, timeout=left)
            except Exception as exc:
                failure = self._network_error(exc, shown)
                if failure is None:
                    raise
            if failure is not None:  # raised outside the handler: the request (and its token) stays out of it
                self._log(method, path, attempt, started, outcome=type(failure).__name__)
                raise self._finish(failure, shown, attempt)
            request_id = response.headers.get("request-id")
            outcome = "ok" if response.status_code < 400 else f"http_{response.status_code}"
            self._log(
                method, path, attempt, started, status=response.status_code, request_id=request_id, outcome=outcome
            )
            if response.status_code >= 400:
                raise self._finish(self._http_error(response, method, path), shown, attempt)
            return response

        engine = self._retrying(deadline, idempotent)
        try:
            response = engine(once)
        except (errors.GraphThrottledError, errors.TransportError) as exc:
            if not idempotent and _may_have_taken_effect(exc):
                raise self._outcome_unknown(exc, shown) from None
            if isinstance(exc, errors.GraphThrottledError):
                raise self._gave_up(exc, attempt, engine.statistics.get("idle_for", 0.0)) from None
            raise
        return self._body(method, url, response)

    def _retrying(self, deadline: float, idempotent: bool) -> tenacity.Retrying:
        """The one retry engine within the policy and the call's deadline, waiting what Graph asks
        (Retry-After) and counting the waits even when `sleep` does not really sleep."""
        return retrying(
            self.retry, deadline=deadline, retryable=lambda exc: _retryable(exc, idempotent),
            wait=_RetryAfter(backoff(self.retry)), sleep=self._sleep,
        )  # fmt: skip

    def _log(self, method: str, path: str, attempt: int, started: float, **fields: Any) -> None:
        logs.get_logger(target=self.target).info(
            "psbridge.graph.request", method=method, path=path, attempt=attempt,
            elapsed_ms=round((time.monotonic() - started) * 1000, 1), **fields,
        )  # fmt: skip

    def _finish(self, exc: errors.PsbridgeError, shown: str, attempt: int) -> errors.PsbridgeError:
        exc.target, exc.command, exc.attempt = self.target, shown, attempt
        exc.redact(self.tokens.secrets)
        return exc

    # -- what went wrong -----------------------------------------------------------------------------

    def _network_error(self, exc: Exception, shown: str) -> errors.PsbridgeError | None:
        """The psbridge error for a requests failure; None for anything that is not one."""
        import requests
        import urllib3

        if not isinstance(exc, requests.RequestException):
            return None
        host = self.target
        if isinstance(exc, requests.ConnectTimeout):
            return errors.ConnectError(
                f"{shown}: no connection to {host} within {self.timeout:g} s", command_sent=False
            )
        if isinstance(exc, requests.Timeout):
            return self._timed_out(shown, sent=True)
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

    def _timed_out(self, shown: str, *, sent: bool) -> errors.OperationTimeoutError:
        return errors.OperationTimeoutError(
            f"{shown}: no answer from {self.target} within {self.timeout:g} s",
            deadline_s=self.timeout,
            command_sent=sent,
        )

    def _http_error(self, response: requests.Response, method: str, path: str) -> errors.PsbridgeError:
        status = response.status_code
        code, message, request_id = _error_details(response)
        text = f"{method} {path}: HTTP {status} {code or response.reason or ''}".rstrip()
        if message:
            text += f": {message}"
        if request_id:
            text += f" (request-id {request_id})"
        details: dict[str, Any] = {"status": status, "code": code, "request_id": request_id}
        if status == 401:
            return errors.AuthenticationError(f"{text}; Graph refused the app's token")
        if status == 403:
            needed = required_permission(method, path)
            hint = needed.sentence() if needed else "the app lacks a permission or directory role for this request"
            return errors.GraphPermissionError(
                f"{text}; {hint}", permission=needed.permission if needed else None, **details
            )
        if status == 404:
            name = unquote(re.sub(r"^/(v1\.0|beta)(?=/)", "", path))
            return errors.GraphNotFoundError(
                f"{text}; no such object: {name}, or the app cannot see it", target_name=name, **details
            )
        if status in NOT_PROCESSED or status in GATEWAY:
            return errors.GraphThrottledError(
                text, retry_after=retry_after_s(response.headers.get("Retry-After")), **details
            )
        return errors.GraphError(text, **details)

    def _gave_up(self, exc: errors.GraphThrottledError, attempts: int, waited: float) -> errors.GraphThrottledError:
        text = f"{exc.message}; gave up after {attempts} attempt(s) and {waited:.1f} s of waiting"
        if exc.retry_after is not None and attempts < self.retry.attempts:
            text += (
                f" (Graph asked for {exc.retry_after:.0f} s more, past the {self.retry.total_s:g} s retry budget "
                f"or the {self.timeout:g} s deadline)"
            )
        return self._copy(
            errors.GraphThrottledError(
                text, retry_after=exc.retry_after, status=exc.status, code=exc.code, request_id=exc.request_id
            ),
            exc,
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

    def _same_origin(self, link: Any, previous: str) -> str:
        """A nextLink is followed only where the token may go: the same scheme, host and port."""
        if isinstance(link, str):
            parts = urlsplit(link)
            if f"{parts.scheme}://{parts.netloc}".lower() == self._origin:
                return link
        raise self._unexpected("GET", previous, f"@odata.nextLink leaves {self.graph_url}: not followed", link)


def _mount(session: requests.Session, transport: BaseAdapter) -> None:
    for prefix in ("https://", "http://"):
        session.mount(prefix, transport)


class _RetryAfter(tenacity.wait.wait_base):
    """Graph's Retry-After when it gave one (429, 503), else the policy's backoff."""

    def __init__(self, backoff: Any) -> None:
        self.backoff = backoff

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        failure = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(failure, errors.GraphThrottledError) and failure.retry_after is not None:
            return failure.retry_after
        return float(self.backoff(retry_state))


def _may_have_taken_effect(exc: BaseException) -> bool:
    """A failure after the request may have reached Graph: a gateway status, a timeout, a broken connection."""
    if isinstance(exc, errors.GraphThrottledError):
        return exc.status not in NOT_PROCESSED
    if isinstance(exc, errors.OperationTimeoutError):
        return exc.command_sent
    return isinstance(exc, errors.TransportError) and exc.transient and exc.command_sent


def _retryable(exc: BaseException, idempotent: bool) -> bool:
    """Passing failures; for a request that is not idempotent, only those Graph surely did not act on."""
    passing = isinstance(exc, (errors.GraphThrottledError, errors.OperationTimeoutError)) or (
        isinstance(exc, errors.TransportError) and exc.transient
    )
    return passing and (idempotent or not _may_have_taken_effect(exc))


def _error_details(response: requests.Response) -> tuple[str | None, str | None, str | None]:
    """Graph's error `code`, `message` and request id, from `{"error": {...}}` and the headers."""
    request_id = response.headers.get("request-id")
    try:
        body = response.json()
    except ValueError:
        return None, None, request_id
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, None, request_id
    inner = error.get("innerError") or error.get("innererror") or {}
    if not request_id and isinstance(inner, dict):
        request_id = inner.get("request-id")
    code, message = error.get("code"), error.get("message")
    return (
        str(code) if code else None,
        " ".join(str(message).split())[:300] if message else None,
        str(request_id) if request_id else None,
    )
