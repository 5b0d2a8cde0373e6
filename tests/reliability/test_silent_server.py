"""Deadlines against a host that stops answering: the connection stays open and no reply ever comes.

Each test states its figure: the call ends within its deadline plus psbridge's documented margin
(`DEADLINE_MARGIN_S`, README "Deadlines") plus `SLACK_S` for a shared, noisy machine, with the timeout's
error class and exit code 3:
- **Pool open:** silent from the first request: a timeout that says the command was not sent.
- **Read:** silent once the command's pipeline has started (every Receive unanswered): a timeout.
- **Write:** the same for Start-ADSyncSyncCycle: "may or may not have run" (OutcomeUnknownError), sent once.
- **Graph:** a Graph that never answers, with a `timeout` of 3: a timeout at 3 s, not 33; a sign-in host
  that never answers, the same; a token endpoint that answers 503 then a token: retried, and the call works.

The host is the loopback WSMan endpoint over the demo recordings (a real socket, pypsrp's real client),
wrapped in `loopback.Silent`, which holds requests unanswered once its condition is true.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from helpers import DEMO
from loopback import PASSWORD, JsonReply, Silent, cli_args, endpoint, running, send_json, session_for

from psbridge import Command, OperationTimeoutError, OutcomeUnknownError, RetryPolicy, errors
from psbridge.adsync import start_sync_cycle
from psbridge.graph.auth import GraphCredentials, MsalTokenProvider, StaticTokenProvider
from psbridge.graph.client import GraphClient
from psbridge.replay import http
from psbridge.transport import DEADLINE_MARGIN_S

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

SLACK_S = 3.0  # scheduling on a shared machine; never a performance claim
DEADLINE = 5.0
BOUND = DEADLINE + DEADLINE_MARGIN_S + SLACK_S
# Retries allowed and quick: what ends the call below is its deadline, not a lack of attempts.
PATIENT = RetryPolicy(attempts=10, total_s=120, initial_s=0.0, max_wait_s=0.01, jitter_s=0.0)
SCHEDULER = Command.script("adsync/Get-Scheduler.ps1")
TENANT, CLIENT_ID, SECRET = "contoso.onmicrosoft.com", "00000000-0000-0000-0000-00000000c0de", "silent-secret-9"


class Host:
    """The demo endpoint, silent from the first request (`after=None`) or once a pipeline whose command
    names `after` has started; it counts the pipelines the server started per command."""

    def __init__(self, after: str | None) -> None:
        self.endpoints = http.Endpoints(DEMO)
        self.after = after
        self.silent = Silent(None if after is None else self.endpoints.handle, self._started)
        self.url = ""

    def _started(self) -> bool:
        return self.after is not None and self.pipelines(self.after) > 0

    def pipelines(self, text: str) -> int:
        keys = [k for s in self.endpoints.servers.values() for k in s.keys_seen]
        return sum(text.lower() in k.display().lower() for k in keys)


@pytest.fixture
def host() -> Iterator[Callable[[str | None], Host]]:
    with contextlib.ExitStack() as stack:

        def start(after: str | None) -> Host:
            made = Host(after)
            made.url = stack.enter_context(endpoint(made.silent)).url
            stack.callback(made.silent.release)  # runs first: the held requests end before the server stops
            return made

        yield start


def timed(call: Callable[[], Any]) -> tuple[BaseException, float]:
    started = time.monotonic()
    with pytest.raises(errors.PsbridgeError) as caught:
        call()
    return caught.value, time.monotonic() - started


# -- PSRP ------------------------------------------------------------------------------------------------


def test_a_host_silent_from_the_first_request_times_out_opening_the_pool(host: Callable[..., Host]) -> None:
    """Silent from the Create: OperationTimeoutError (exit 3) within the deadline + margin; not sent."""
    silent = host(None)
    with session_for(silent.url, retry=PATIENT) as s:
        error, elapsed = timed(lambda: s.invoke(SCHEDULER, timeout=DEADLINE))
    assert isinstance(error, OperationTimeoutError), error
    assert elapsed <= BOUND, elapsed
    assert error.exit_code == 3 and not error.command_sent and error.deadline_s == DEADLINE
    assert "opening the runspace pool" in str(error) and "not sent" in str(error)
    assert silent.silent.held >= 1


def test_a_read_whose_receive_is_never_answered_times_out_at_its_deadline(host: Callable[..., Host]) -> None:
    """The pipeline started, then silence: pypsrp would re-send the Receive 5 times with back-off (over 200 s);
    here the read ends within 5 s + the margin with OperationTimeoutError, and is not run again."""
    silent = host("Get-Scheduler")
    with session_for(silent.url, retry=PATIENT) as s:
        error, elapsed = timed(lambda: s.invoke(SCHEDULER, timeout=DEADLINE))
        assert not s.transport.pool_open  # the host did not answer the stop: its pool is dropped
    assert isinstance(error, OperationTimeoutError), error
    assert elapsed <= BOUND, elapsed
    assert error.exit_code == 3 and error.command_sent and error.attempt == 1
    assert silent.pipelines("Get-Scheduler") == 1


def test_a_write_whose_receive_is_never_answered_is_outcome_unknown(host: Callable[..., Host]) -> None:
    """Start-ADSyncSyncCycle's pipeline started, then silence: OutcomeUnknownError ("may or may not have
    run"), exit 3, within the deadline + margin, sent exactly once."""
    silent = host("Start-SyncCycle")
    with session_for(silent.url, retry=PATIENT) as s:
        s.timeout = DEADLINE
        error, elapsed = timed(lambda: start_sync_cycle(s))
    assert isinstance(error, OutcomeUnknownError), error
    assert elapsed <= BOUND, elapsed  # the scheduler read before it was answered at once
    assert error.exit_code == 3 and "may or may not have run" in str(error)
    assert isinstance(error.__cause__, OperationTimeoutError)
    assert silent.pipelines("Start-SyncCycle") == 1


@pytest.mark.parametrize(
    ("after", "args", "says"),
    [
        (None, ["adsync", "scheduler"], "did not finish within 5s"),
        ("Get-Scheduler", ["adsync", "scheduler"], "did not finish within 5s"),
        ("Start-SyncCycle", ["adsync", "sync", "--yes"], "may or may not have run"),
    ],
    ids=["pool-open", "read", "write"],
)
def test_on_the_command_line_timeout_5_ends_within_the_margin_with_exit_3(
    host: Callable[..., Host], cli: Any, monkeypatch: pytest.MonkeyPatch, after: str | None, args: list[str], says: str
) -> None:
    """`psbridge --timeout 5 ...` against the silent host: one error line, exit code 3, within 5 s + the margin
    for each call it makes (a write first reads the scheduler)."""
    silent = host(after)
    monkeypatch.setenv("PSBRIDGE_PASSWORD", PASSWORD)
    started = time.monotonic()
    result = cli(*cli_args(silent.url), "--timeout", str(DEADLINE), *args)
    elapsed = time.monotonic() - started
    line = result.one_line_error(3)
    assert says in line, line
    assert elapsed <= BOUND, elapsed


# -- Graph -----------------------------------------------------------------------------------------------


class _Hung(BaseHTTPRequestHandler):
    """Reads the request, then never answers (until the test ends)."""

    released: threading.Event

    def do_GET(self) -> None:
        self.server.seen += 1  # type: ignore[attr-defined]
        self.released.wait(60)

    do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass


@pytest.fixture
def hung() -> Iterator[ThreadingHTTPServer]:
    released = threading.Event()
    handler = type("Hung", (_Hung,), {"released": released})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.seen = 0  # type: ignore[attr-defined]
    with running(server):
        try:
            yield server
        finally:
            released.set()  # let the held requests end before the server shuts down


def _url(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}"


GRAPH_DEADLINE = 3.0
GRAPH_BOUND = GRAPH_DEADLINE + SLACK_S  # Graph requests hold nothing on the server: no margin beyond the deadline


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_graph_that_never_answers_times_out_at_the_calls_deadline(hung: ThreadingHTTPServer, method: str) -> None:
    """timeout=3 is the whole call's deadline (it was each attempt's: 33 s with the retries). A GET ends
    with OperationTimeoutError, a POST that is not idempotent with OutcomeUnknownError; sent once."""
    with GraphClient(StaticTokenProvider(), graph_url=_url(hung), timeout=GRAPH_DEADLINE, retry=PATIENT) as client:
        call = (lambda: client.get("/jobs")) if method == "GET" else (lambda: client.post("/jobs/start"))
        error, elapsed = timed(call)
    assert elapsed <= GRAPH_BOUND, elapsed
    expected = OperationTimeoutError if method == "GET" else OutcomeUnknownError
    assert isinstance(error, expected), error
    assert error.exit_code == 3
    assert hung.seen == 1  # type: ignore[attr-defined]


class _Redirected:
    """MSAL's HTTP, sent to a loopback server instead of the sign-in host (MSAL wants an https authority)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.session.get(self.base + urlsplit(url).path, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.session.post(self.base + urlsplit(url).path, **kwargs)

    def close(self) -> None:
        self.session.close()


def _provider(http_client: Any) -> MsalTokenProvider:
    return MsalTokenProvider(
        GraphCredentials(tenant_id=TENANT, client_id=CLIENT_ID),
        environ={"PSBRIDGE_GRAPH_CLIENT_SECRET": SECRET},
        http=http_client,
    )


def test_a_sign_in_host_that_never_answers_is_inside_the_calls_deadline(hung: ThreadingHTTPServer) -> None:
    """The sign-in is part of the call: a silent sign-in host ends the call at its 3 s deadline with a
    transient ConnectError (exit 3), not after MSAL's own 30 s timeout."""
    tokens = _provider(_Redirected(_url(hung)))
    with GraphClient(tokens, graph_url="https://graph.example", timeout=GRAPH_DEADLINE, retry=PATIENT) as client:
        error, elapsed = timed(lambda: client.get("/jobs"))
    assert elapsed <= GRAPH_BOUND, elapsed
    assert isinstance(error, errors.ConnectError) and error.transient and error.exit_code == 3, error
    assert "timed out" in str(error)


class _Entra:
    """The sign-in host: OpenID configuration, and a token endpoint answering `statuses` in turn (then 200)."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.posts = 0

    def get(self, url: str, **kwargs: Any) -> Any:
        if url.endswith("/common/discovery/instance"):
            return JsonReply(200, {"metadata": [{"preferred_network": "login.microsoftonline.com", "aliases": []}]})
        base = f"https://login.microsoftonline.com/{TENANT}"
        endpoints = {"token_endpoint": f"{base}/oauth2/v2.0/token", "issuer": f"{base}/v2.0"}
        return JsonReply(200, {**endpoints, "authorization_endpoint": f"{base}/oauth2/v2.0/authorize"})

    def post(self, url: str, **kwargs: Any) -> Any:
        self.posts += 1
        if self.statuses:
            return JsonReply(self.statuses.pop(0), {"error": "temporarily_unavailable"})
        return JsonReply(200, {"token_type": "Bearer", "expires_in": 3599, "access_token": "entra-token-after-503"})

    def close(self) -> None:
        pass


class _Graph(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        send_json(self, 200, {"id": "job", "token": self.headers.get("Authorization", "")[-20:]})

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass


@pytest.fixture
def graph() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Graph)
    with running(server):
        yield _url(server)


def test_a_503_at_sign_in_is_retried_and_the_call_succeeds(graph: str) -> None:
    """The token endpoint answers 503 once, then a token: the Graph call signs in again and succeeds (it was
    exit 70: MSAL raises for a 5xx, and would answer a retry from its throttling cache)."""
    entra = _Entra(503)
    with GraphClient(_provider(entra), graph_url=graph, timeout=GRAPH_DEADLINE, retry=PATIENT) as client:
        assert client.get("/jobs") == {"id": "job", "token": "entra-token-after-503"[-20:]}
    assert entra.posts == 2


@pytest.mark.parametrize("status", [429, 500, 503, 504])
def test_a_sign_in_service_that_stays_down_is_a_transient_connect_error(graph: str, status: int) -> None:
    """Always 429/5xx at the token endpoint: a transient ConnectError (exit 3, not 70), retried within the
    deadline by the Graph client, that names the sign-in host and the status."""
    entra = _Entra(*[status] * 100)
    retry = RetryPolicy(attempts=3, total_s=60, initial_s=0.0, max_wait_s=0.01, jitter_s=0.0)
    with GraphClient(_provider(entra), graph_url=graph, timeout=GRAPH_DEADLINE, retry=retry) as client:
        error, _ = timed(lambda: client.get("/jobs"))
    assert isinstance(error, errors.ConnectError) and error.transient and error.exit_code == 3, error
    assert f"HTTP {status}" in str(error) and "login.microsoftonline.com" in str(error)
    assert entra.posts == 3
