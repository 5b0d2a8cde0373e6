"""Fixtures for the Graph core: a scripted Graph on a real loopback socket, and a client bound to it.

`graph_server` answers each (method, path[?query]) with the replies queued for it, in order; the last
reply repeats. A reply is a dict: status (200), json, headers, body (raw bytes), delay (seconds before
answering), reset (close the connection with a TCP reset instead of answering). Every request it got
is kept in `seen`, with its headers and body, so tests can count what really reached the server.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from psbridge.graph.auth import StaticTokenProvider
from psbridge.graph.client import GraphClient
from psbridge.retry import RetryPolicy

TOKEN = "tok-3f9a1c77-graph-bearer-value"
FAST = RetryPolicy(attempts=4, total_s=120.0, initial_s=0.5, max_wait_s=4.0, jitter_s=0.0)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out, or a connection this server reset on purpose


class GraphServer:
    def __init__(self) -> None:
        self.replies: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.seen: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt: str, *args: Any) -> None:
                pass

            def _any(self) -> None:
                server.answer(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)

    def reply(self, method: str, target: str, *replies: dict[str, Any]) -> None:
        self.replies[(method, target)] = list(replies)

    def count(self, method: str | None = None, path: str | None = None) -> int:
        return sum(1 for s in self.seen if (method in (None, s["method"])) and (path in (None, s["path"])))

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        parts = urlsplit(handler.path)
        with self._lock:
            self.seen.append(
                {
                    "method": handler.command,
                    "path": parts.path,
                    "query": parts.query,
                    "headers": dict(handler.headers),
                    "body": body,
                }
            )
            queue = self.replies.get((handler.command, handler.path)) or self.replies.get((handler.command, parts.path))
            if queue is None:
                reply: dict[str, Any] = {"status": 500, "json": {"error": {"code": "NoScriptedReply"}}}
            else:
                reply = queue.pop(0) if len(queue) > 1 else queue[0]
        time.sleep(reply.get("delay", 0))
        if reply.get("reset"):
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            handler.close_connection = True
            handler.rfile.close()
            handler.wfile.close()
            handler.connection.close()
            return
        payload = reply.get("body", b"")
        if "json" in reply:
            payload = json.dumps(reply["json"]).encode()
        handler.send_response(reply.get("status", 200))
        for name, value in reply.get("headers", {}).items():
            handler.send_header(name, value)
        if payload:
            handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def start(self) -> GraphServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class RecordingSession(requests.Session):
    """A real requests.Session that remembers the keyword arguments of every request."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[dict[str, Any]] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.calls.append({"method": method, "url": url, **kwargs})
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
def graph_server() -> Iterator[GraphServer]:
    server = GraphServer().start()
    yield server
    server.stop()


@pytest.fixture
def make_client(graph_server: GraphServer) -> Iterator[Callable[..., tuple[GraphClient, list[float]]]]:
    """Factory: a GraphClient on `graph_server` whose waits are recorded instead of slept."""
    clients: list[GraphClient] = []

    def make(**kwargs: Any) -> tuple[GraphClient, list[float]]:
        waits: list[float] = []
        kwargs.setdefault("graph_url", graph_server.url)
        kwargs.setdefault("retry", FAST)
        kwargs.setdefault("timeout", 5.0)
        client = GraphClient(kwargs.pop("tokens", StaticTokenProvider(TOKEN)), sleep=waits.append, **kwargs)
        clients.append(client)
        return client, waits

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def recording_session() -> Iterator[RecordingSession]:
    session = RecordingSession()
    yield session
    session.close()
