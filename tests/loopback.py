"""The loopback WSMan endpoint for tests: a real socket on 127.0.0.1, an ephemeral port, Basic auth.

`endpoint(handle)` serves any handler (a ReplayServer's, a FaultInjector's wrapper, an Endpoints
router) in a thread and shuts it down afterwards; `session_for(url)` is a psbridge Session that
reaches it through pypsrp's real HTTP client, exactly as it would reach a Windows host.
"""

from __future__ import annotations

import contextlib
import json
import os
import socketserver
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from helpers import FAST_RETRY

from psbridge import ConnectionOptions, RetryPolicy, Session
from psbridge.replay import http

USER, PASSWORD = "ci", "loopback-pw-7"
Handler = Callable[[bytes], tuple[int, bytes]]


@contextlib.contextmanager
def endpoint(
    handle: Handler,
    *,
    credentials: tuple[str, str] | None = (USER, PASSWORD),
    tls_dir: Path | None = None,
    tls: ssl.SSLContext | None = None,
    latency_s: float = 0.0,
) -> Iterator[http.ReplayHTTPServer]:
    """Serve `handle` over HTTP until the block ends: HTTPS with `tls_dir` (a certificate is made there, and
    its ca.pem) or with the server context `tls`."""
    context = http.tls_context(*http.make_certificate(tls_dir)) if tls_dir else tls
    server = http.ReplayHTTPServer(handle, port=0, credentials=credentials, tls=context, latency_s=latency_s)
    with running(server):
        yield server


@contextlib.contextmanager
def running(server: socketserver.BaseServer) -> Iterator[None]:
    """Serve on a daemon thread until the block ends, then shut the server down and close its socket."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def reap(proc: subprocess.Popen[str]) -> None:
    """Kill a child that is still running and close its pipes (the `finally` of every child a test starts)."""
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def send_json(handler: BaseHTTPRequestHandler, status: int, data: Any) -> None:
    """Answer an HTTP request with `data` as a JSON body."""
    body = json.dumps(data).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class JsonReply:
    """What msal's `http_client` returns (a requests-like response): a status, a JSON text, headers."""

    def __init__(self, status: int, body: Any) -> None:
        self.status_code = status
        self.text = json.dumps(body)
        self.headers: dict[str, str] = {}

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(self.status_code)


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


def session_for(url: str, *, password: str = PASSWORD, retry: RetryPolicy = FAST_RETRY, **extra: Any) -> Session:
    """A Session to the endpoint at `url`: Basic auth, plain HTTP unless `tls=True` is passed."""
    values: dict[str, Any] = {"tls": False, "encryption": "never", **extra}
    options = ConnectionOptions.build(
        host="127.0.0.1", port=port_of(url), auth="basic", username=USER, password=password, **values
    )
    return Session(options, retry=retry, timeout=30)


def cli_args(url: str) -> list[str]:
    """The global options a separate `psbridge` process needs to reach the endpoint (plain HTTP)."""
    return ["--host", "127.0.0.1", "--port", str(port_of(url)), "--auth", "basic", "--no-tls",
            "--encryption", "never", "--username", USER]  # fmt: skip


def run_psbridge(*args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    """`psbridge ARGS` in a separate process, PSBRIDGE_PASSWORD set to the endpoint's password."""
    return subprocess.run(
        [sys.executable, "-m", "psbridge.cli.main", *args],
        capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "PSBRIDGE_PASSWORD": PASSWORD, **env},
    )  # fmt: skip


class Silent:
    """A handler that stops answering: once `when()` is true, every request is held with no reply (the
    connection stays open, as with a host that hangs) until `release()`, and is then dropped with a reset.
    `held` counts the requests left unanswered."""

    def __init__(self, handle: Handler | None = None, when: Callable[[], bool] = lambda: True) -> None:
        self.handle = handle
        self.when = when
        self.held = 0
        self._released = threading.Event()

    def __call__(self, data: bytes) -> tuple[int, bytes]:
        if self.handle is None or self.when():
            self.held += 1
            self._released.wait(120)
            raise ConnectionResetError  # the endpoint answers it with a TCP reset
        return self.handle(data)

    def release(self) -> None:
        self._released.set()
