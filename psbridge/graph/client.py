"""A small Microsoft Graph client on requests: paging, bounded retries, timeouts, typed errors.

The HTTP engine (deadline, retries, network errors, log events, transport) is psbridge.http_client's,
shared with the Exchange Online REST client; this module says what is Graph's own.

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

import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlencode

from psbridge import errors
from psbridge.graph.auth import DEFAULT_GRAPH_URL, StaticTokenProvider, TokenProvider
from psbridge.graph.permissions import required_permission
from psbridge.http_client import JsonHttpClient, retry_after_s
from psbridge.retry import RetryPolicy

if TYPE_CHECKING:
    import requests
    from requests.adapters import BaseAdapter

GRAPH_RETRY = RetryPolicy(attempts=5, total_s=120.0, initial_s=1.0, max_wait_s=30.0, jitter_s=1.0)
NOT_PROCESSED = frozenset({429, 503})  # Graph did not act on the request: safe to send again
GATEWAY = frozenset({502, 504})  # the request may have reached Graph
APIS = ("v1.0", "beta")
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


class GraphClient(JsonHttpClient):
    """Microsoft Graph over HTTPS with app-only tokens. A context manager; `close()` ends the session.

    `transport` is a requests transport adapter mounted on the session for every URL (tests: a fake Graph;
    `replay`/`record`: a cassette); the client closes it. `session` is a requests.Session the caller keeps.
    """

    LOG_EVENT = "psbridge.graph.request"
    CLOSE_FAILED_EVENT = "psbridge.graph.close_failed"
    URL_NAME = "graph_url"

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
        super().__init__(
            tokens, url=graph_url, timeout=timeout, retry=retry, session=session, transport=transport, sleep=sleep
        )
        self.graph_url = self.base_url

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

    # -- Graph's own answers to the engine's hooks ---------------------------------------------------

    def _passing(self, exc: BaseException) -> bool:
        return isinstance(exc, errors.GraphThrottledError)

    def _not_processed(self, exc: BaseException) -> bool:
        return isinstance(exc, errors.GraphThrottledError) and exc.status in NOT_PROCESSED

    def _wait_hint(self, exc: BaseException) -> float | None:
        return exc.retry_after if isinstance(exc, errors.GraphThrottledError) else None

    def _http_error(self, response: requests.Response, method: str, path: str, shown: str) -> errors.PsbridgeError:
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

    def _gave_up(self, exc: errors.PsbridgeError, attempts: int, waited: float, limit: float) -> errors.PsbridgeError:
        if not isinstance(exc, errors.GraphThrottledError):
            return exc
        text = f"{exc.message}; gave up after {attempts} attempt(s) and {waited:.1f} s of waiting"
        if exc.retry_after is not None and attempts < self.retry.attempts:
            text += (
                f" (Graph asked for {exc.retry_after:.0f} s more, past the {self.retry.total_s:g} s retry budget "
                f"or the {limit:g} s deadline)"
            )
        return self._copy(
            errors.GraphThrottledError(
                text, retry_after=exc.retry_after, status=exc.status, code=exc.code, request_id=exc.request_id
            ),
            exc,
        )


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
