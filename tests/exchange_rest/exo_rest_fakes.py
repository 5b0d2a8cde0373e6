"""Fakes at the transport seam for the Exchange Online REST client (the `make_rest` fixture is in conftest.py):
a requests transport adapter that answers from a script and keeps every request it was sent (method, URL,
headers, JSON body, the timeout it was given).

Bodies are shaped as public implementations show the wire (docs/exchange-rest.md): SYNTHETIC, not recorded.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable
from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from psbridge.retry import RetryPolicy

TOKEN = "tok-7e1d-exo-rest-bearer-value"  # a fake token, looked for in logs and errors
TENANT = "contoso.onmicrosoft.com"
BASE = "https://outlook.office365.com"
INVOKE = f"{BASE}/adminapi/beta/{TENANT}/InvokeCommand"
BATCH = f"{BASE}/adminapi/beta/{TENANT}/$batch"
FAST = RetryPolicy(attempts=4, total_s=120.0, initial_s=0.5, max_wait_s=4.0, jitter_s=0.0)
Reply = dict[str, Any] | Exception


def rest_error(message: str, *, code: str = "BadRequest", target: str = "", inner: str = "") -> dict[str, Any]:
    """An error body as ExoHelper's Get-ExoException.ps1 reads it (SYNTHETIC)."""
    error: dict[str, Any] = {"code": code, "message": "Error executing cmdlet"}
    if message:
        error["details"] = [{"code": "Context", "target": target, "message": message}]
    if inner:
        error["innererror"] = {
            "message": inner,
            "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
            "internalException": {"message": inner, "type": "System.Exception"},
        }
    return {"error": error}


class FakeExo(BaseAdapter):
    """Answers each request with the next scripted reply (a dict: status, json, headers; or an exception to
    raise), or with `handler(request)` when given. Running out of replies fails the test loudly."""

    def __init__(self, *replies: Reply, handler: Callable[[requests.PreparedRequest], Reply] | None = None) -> None:
        super().__init__()
        self.replies = list(replies)
        self.handler = handler
        self.seen: list[requests.PreparedRequest] = []
        self.timeouts: list[Any] = []
        self.closed = False

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        self.seen.append(request)
        self.timeouts.append(timeout)
        if self.handler is not None:
            reply = self.handler(request)
        else:
            assert self.replies, f"no scripted reply left for request {len(self.seen)}"
            reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return answer(request, reply)

    def close(self) -> None:
        self.closed = True

    def bodies(self) -> list[Any]:
        return [json.loads(r.body or b"null") for r in self.seen]


def answer(request: requests.PreparedRequest, reply: dict[str, Any]) -> requests.Response:
    response = requests.Response()
    response.status_code = reply.get("status", 200)
    payload = json.dumps(reply["json"]).encode() if "json" in reply else b""
    response.headers = CaseInsensitiveDict({"Content-Type": "application/json", **reply.get("headers", {})})
    response.raw = io.BytesIO(payload)
    response.encoding = "utf-8"
    response.url = str(request.url)
    response.request = request
    response.reason = reply.get("reason", "")
    return response


class Blocking(BaseAdapter):
    """A service that stops answering: each request waits its whole timeout (as a socket read would), then
    raises ReadTimeout; with no timeout it would wait for ever (bounded here by the test's own limit)."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[Any] = []
        self._never = threading.Event()

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        self.timeouts.append(timeout)
        self._never.wait(60.0 if timeout is None else float(timeout))
        raise requests.ReadTimeout("read timed out")

    def close(self) -> None:
        self._never.set()
