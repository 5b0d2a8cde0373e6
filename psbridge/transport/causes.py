"""Why a connection failed, in words an operator can act on: refused, a name that does not resolve, no answer.

requests wraps urllib3's errors, which wrap the socket's: the cause is the innermost one, found by walking
`reason`, `args`, `__cause__` and `__context__`. Only its kind and errno are used, never its text (which can
hold a URL with a query); the endpoint comes from urllib3's connection pool (`host:port`).
"""

from __future__ import annotations

import dataclasses
import errno
import socket
from collections.abc import Iterator

_ERRNO = {
    errno.ECONNREFUSED: "connection refused: nothing listens on that port, or a firewall rejects it",
    errno.ETIMEDOUT: "no answer: the host is down, or a firewall drops the packets",
    errno.EHOSTUNREACH: "no route to the host",
    errno.ENETUNREACH: "the network is unreachable",
    errno.ECONNRESET: "the connection was reset by the other side",
    errno.ECONNABORTED: "the connection was aborted",
}


@dataclasses.dataclass(frozen=True)
class Failure:
    endpoint: str | None  # host:port, when the exception chain tells
    cause: str

    def about(self, target: str) -> str:
        """`target`, with its port when known, and the cause: "connect01:5986 (connection refused: ...)"."""
        where = self.endpoint if self.endpoint and self.endpoint.split(":")[0] == target else target
        return f"{where} ({self.cause})"


def connection_failure(exc: BaseException) -> Failure:
    """The endpoint and the cause of a failed connection (or of a connection that broke)."""
    endpoint, cause = None, None
    for inner in _chain(exc):
        pool = vars(inner).get("pool")  # MaxRetryError sets it; NewConnectionError.pool is a deprecated property
        host = getattr(pool, "host", None)
        if endpoint is None and host:
            endpoint = f"{host}:{getattr(pool, 'port', '?')}"
        cause = cause or _cause(inner)
    return Failure(endpoint, cause or f"{type(exc).__name__}")


def _cause(exc: BaseException) -> str | None:
    name = type(exc).__name__
    if isinstance(exc, socket.gaierror) or name == "NameResolutionError":
        return "the host name does not resolve (DNS)"
    if name in ("ConnectTimeoutError", "ConnectTimeout"):
        return "no answer within the connection timeout: the host is down, or a firewall drops the packets"
    if isinstance(exc, OSError) and exc.errno in _ERRNO:
        return _ERRNO[exc.errno]
    if isinstance(exc, ConnectionRefusedError):
        return _ERRNO[errno.ECONNREFUSED]
    if isinstance(exc, ConnectionResetError):
        return _ERRNO[errno.ECONNRESET]
    if name in ("RemoteDisconnected", "ProtocolError") and "closed" in str(exc).lower():
        return "the host closed the connection without an answer"
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and every exception inside it, outermost first, each once."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        nested = [getattr(current, "reason", None), *current.args, current.__cause__, current.__context__]
        todo += [n for n in nested if isinstance(n, BaseException)]
