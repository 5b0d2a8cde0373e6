"""A call's path is Command + Receive: finished pipelines are closed in the background (issue 18).

Everything is counted at the server. In process (a HandlerWire) the server's handler runs on the thread
that sent the request, so the requests of a call's path (the calling thread) are told apart from the
background closes (the closer's thread). Over the loopback HTTP endpoint the closes travel on a second
connection of their own. The replay server enforces MaxConcurrentCommandsPerShell: a Command beyond its
limit is refused with the quota fault, so a pipeline left open shows as a failed call.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from helpers import cassette
from loopback import endpoint, session_for
from pytest_mock import MockerFixture

from psbridge import Command, Session, ps
from psbridge.errors import OperationTimeoutError, WSManFault
from psbridge.replay import wire
from psbridge.replay.episodes import EpisodePlayer
from psbridge.replay.faults import FAULT_QUOTA
from psbridge.replay.server import Injection, ReplayServer
from psbridge.replay.transport import replay_options
from psbridge.retry import NO_RETRY
from psbridge.transport import CLEANUP_S, DEADLINE_MARGIN_S
from psbridge.transport.psrp import MAX_OPEN_PIPELINES, HandlerWire, PSRPTransport

GET_DATE = Command.cmdlet("Get-Date")
pytestmark = pytest.mark.timeout(60)


class Counted:
    """A ReplayServer's handler that keeps, per request: the action, the thread that sent it, the HTTP status,
    the Signal code and CommandId; and the most pipelines the server held open after a Command."""

    def __init__(self, server: ReplayServer, *, slow_terminate_s: float = 0.0) -> None:
        self.server = server
        self.slow_terminate_s = slow_terminate_s
        self.release = threading.Event()  # set: a held Terminate is answered
        self.hold_terminate = False
        self.log: list[dict[str, Any]] = []
        self.peak_open = 0

    def handle(self, data: bytes) -> tuple[int, bytes]:
        request = wire.Request.parse(data)
        signal = request.body.find("rsp:Signal", wire.NS)
        code = signal.findtext("rsp:Code", default="", namespaces=wire.NS) if signal is not None else ""
        terminate = code.lower() == wire.SIGNAL_TERMINATE.lower()
        if terminate and self.hold_terminate:
            self.release.wait(20)  # a server that stops answering the closes
        elif terminate and self.slow_terminate_s:
            time.sleep(self.slow_terminate_s)  # outside the server's lock: calls go on meanwhile
        status, body = self.server.handle(data)
        action = request.action.rsplit("/", 1)[-1]
        if action == "Command":
            line = request.body.find("rsp:CommandLine", wire.NS)
            command_id = line.get("CommandId") if line is not None else None
            self.peak_open = max(self.peak_open, sum(len(s.pipelines) for s in list(self.server.shells.values())))
        else:
            command_id = signal.get("CommandId") if signal is not None else None
        self.log.append(
            {"action": action, "thread": threading.current_thread().name, "status": status, "code": code,
             "command_id": (command_id or "").upper()}
        )  # fmt: skip
        return status, body

    def of(self, action: str, **where: Any) -> list[dict[str, Any]]:
        return [r for r in self.log if r["action"] == action and all(r[k] == v for k, v in where.items())]


def served(calls: int, **server_kwargs: Any) -> ReplayServer:
    recorded = cassette([{"command": "Get-Date", "output": [{"properties": {"N": n}}]} for n in range(calls)])
    return ReplayServer(EpisodePlayer(recorded.episodes, "test"), recorded.pool, **server_kwargs)


def in_process(counted: Counted, **kwargs: Any) -> Session:
    transport = PSRPTransport(replay_options(), wire=lambda _http: HandlerWire(counted.handle), **kwargs)
    return Session(transport=transport, retry=NO_RETRY)


# -- the shell's limit -----------------------------------------------------------------------------------


def test_more_calls_than_the_shell_allows_all_succeed_and_the_server_never_holds_more_than_its_limit() -> None:
    """30 calls through one Session against a shell that allows 3 open pipelines, with each background close
    slowed to 30 ms so they fall behind: every call succeeds, the server saw no refusal, at most 3 were open
    (and 3 were: the calls really waited for closes), and every pipeline was closed by a Terminate."""
    limit, calls = 3, 30
    counted = Counted(served(calls, max_commands_per_shell=limit), slow_terminate_s=0.03)
    with in_process(counted, max_open_pipelines=limit) as s:
        got = [s.invoke(GET_DATE).output[0].get("N") for _ in range(calls)]
    assert got == list(range(calls))
    assert [r for r in counted.log if r["status"] != 200] == []
    assert counted.peak_open == limit
    commands = {r["command_id"] for r in counted.of("Command")}
    terminated = {r["command_id"] for r in counted.of("Signal") if r["code"].lower() == wire.SIGNAL_TERMINATE.lower()}
    assert len(commands) == calls and terminated == commands
    assert counted.server.shells == {}  # closing the session deleted the shell after the last close


def test_the_replay_server_refuses_a_command_beyond_its_limit_with_the_quota_fault() -> None:
    """A shell at MaxConcurrentCommandsPerShell refuses the next Command with WinRM's quota fault: with the
    closes held and a client allowed more than the server, the third call fails; none is refused while the
    closes keep up."""
    counted = Counted(served(3, max_commands_per_shell=2))
    counted.hold_terminate = True
    try:
        with in_process(counted, max_open_pipelines=5) as s:
            s.invoke(GET_DATE)
            s.invoke(GET_DATE)
            with pytest.raises(WSManFault) as caught:
                s.invoke(GET_DATE)
            counted.release.set()
    finally:
        counted.release.set()
    assert caught.value.code == FAULT_QUOTA
    assert [r["status"] for r in counted.of("Command")] == [200, 200, 500]


# -- the call's path --------------------------------------------------------------------------------------


def test_a_call_sends_a_command_and_a_receive_and_its_close_goes_in_the_background() -> None:
    """After the pool opens, each small call's thread sends exactly 2 requests (Command, Receive); the
    Terminate of each pipeline is sent by the closer's thread, once per call."""
    calls = 10
    counted = Counted(served(calls + 1))
    with in_process(counted, max_open_pipelines=MAX_OPEN_PIPELINES) as s:
        s.invoke(GET_DATE)  # opens the pool
        mark = len(counted.log)
        for _ in range(calls):
            s.invoke(GET_DATE)
        on_path = [r for r in counted.log[mark:] if r["thread"] == threading.current_thread().name]
    assert [r["action"] for r in on_path] == ["Command", "Receive"] * calls
    background = [r for r in counted.log if r["thread"] != threading.current_thread().name]
    assert {(r["action"], r["code"]) for r in background} == {("Signal", wire.SIGNAL_TERMINATE)}
    assert len(background) == calls + 1


def test_over_a_network_closes_go_in_the_background_and_in_process_on_the_call_path() -> None:
    """The default: background closes (up to MAX_OPEN_PIPELINES open) where a request costs a round trip;
    in-process replay keeps closing on the call's path (no round trip to save, and deterministic)."""
    assert PSRPTransport(replay_options()).max_open_pipelines == MAX_OPEN_PIPELINES
    counted = Counted(served(2))
    with in_process(counted) as s:
        s.invoke(GET_DATE)
        s.invoke(GET_DATE)
        assert isinstance(s.transport, PSRPTransport) and s.transport.max_open_pipelines == 1
        assert {r["thread"] for r in counted.log} == {threading.current_thread().name}
        (shell,) = counted.server.shells.values()
        assert shell.pipelines == {}


def test_over_http_the_closes_travel_on_a_second_connection_and_every_pipeline_is_closed() -> None:
    """Over the loopback endpoint (Basic auth), with the default limit: each call's pipeline is terminated,
    and the session counts the closing connection's requests like the server does."""
    calls = 12
    counted = Counted(served(calls))
    with endpoint(counted.handle) as http, session_for(http.url, retry=NO_RETRY) as s:
        for _ in range(calls):
            s.invoke(GET_DATE)
        transport = s.transport
    assert isinstance(transport, PSRPTransport)
    assert transport.requests == len(counted.log)
    assert len(counted.of("Signal", code=wire.SIGNAL_TERMINATE)) == calls
    assert {r["command_id"] for r in counted.of("Signal")} == {r["command_id"] for r in counted.of("Command")}
    assert counted.server.shells == {}


# -- deadlines and failures -------------------------------------------------------------------------------


@contextlib.contextmanager
def hung_closes(calls: int, **server_kwargs: Any) -> Iterator[tuple[Counted, Any]]:
    """The loopback endpoint, its Terminate requests unanswered until the block ends."""
    counted = Counted(served(calls, **server_kwargs))
    counted.hold_terminate = True
    try:
        with endpoint(counted.handle) as http:
            yield counted, http
    finally:
        counted.release.set()


def test_with_the_closes_unanswered_a_call_waits_for_room_only_until_its_deadline(mocker: MockerFixture) -> None:
    """The server stops answering Terminate: two calls return (their closes pending), the third waits for
    room and fails at its 1 s deadline (not sent, and well before the first close gives up at CLEANUP_S),
    the failed closes are logged as warnings, and closing the session waits at most CLEANUP_S for them."""
    logger = mocker.patch("psbridge.logs.get_logger")
    with hung_closes(3) as (counted, http):
        s = session_for(http.url, retry=NO_RETRY, read_timeout=5, operation_timeout=2)
        assert isinstance(s.transport, PSRPTransport)
        s.transport.max_open_pipelines = 2
        assert s.invoke(GET_DATE).output[0].get("N") == 0
        assert s.invoke(GET_DATE).output[0].get("N") == 1
        started = time.monotonic()
        with pytest.raises(OperationTimeoutError) as caught:
            s.invoke(GET_DATE, timeout=1)
        # It sends nothing and waits no longer than its deadline: not until a close times out (CLEANUP_S).
        assert time.monotonic() - started < 1 + 1
        assert caught.value.command_sent is False and len(counted.of("Command")) == 2
        started = time.monotonic()
        s.close()
        assert time.monotonic() - started < CLEANUP_S + 1.5
    warned = [c for c in logger.return_value.warning.call_args_list if c.args == ("psbridge.transport.close_failed",)]
    assert warned  # the first close timed out at its CLEANUP_S budget


def test_a_hung_command_is_still_stopped_and_closed_on_the_call_path_within_its_deadline() -> None:
    """A command that never finishes, with background closes on: OperationTimeoutError within the deadline
    plus DEADLINE_MARGIN_S, and the call itself sent the ctrl_c and the Terminate for its pipeline."""
    hung = served(1, hang_cap_s=0.5, on_pipeline=lambda _id, _key: Injection(replace=True))
    counted = Counted(hung)
    with in_process(counted, max_open_pipelines=MAX_OPEN_PIPELINES) as s:
        started = time.monotonic()
        with pytest.raises(OperationTimeoutError) as caught:
            s.invoke(GET_DATE, timeout=1)
        assert time.monotonic() - started < 1 + DEADLINE_MARGIN_S
        assert caught.value.command_sent
        me = threading.current_thread().name
        signals = [(r["code"], r["thread"]) for r in counted.of("Signal")]
        assert signals == [(wire.SIGNAL_CTRL_C, me), (wire.SIGNAL_TERMINATE, me)]


def test_a_failed_background_close_is_logged_and_the_next_call_is_unaffected(mocker: MockerFixture) -> None:
    """The server answers a Terminate with a fault: a warning, no exception, and the next call succeeds."""
    logger = mocker.patch("psbridge.logs.get_logger")
    counted = Counted(served(2))
    answer = counted.server.handle
    terminated = threading.Event()

    def faulty(data: bytes) -> tuple[int, bytes]:
        if b"signal/Terminate" in data and not terminated.is_set():
            terminated.set()
            return 500, wire.fault(wire.Request.parse(data), 2150858817, "The request is not valid.")
        return answer(data)

    counted.server.handle = faulty  # type: ignore[method-assign]
    with in_process(counted, max_open_pipelines=MAX_OPEN_PIPELINES) as s:
        assert s.invoke(GET_DATE).output[0].get("N") == 0
        assert terminated.wait(5)
        assert s.invoke(GET_DATE).output[0].get("N") == 1
    warning = logger.return_value.warning
    assert [c.args for c in warning.call_args_list] == [("psbridge.transport.close_failed",)]
    assert warning.call_args.kwargs["error"] == "WSManFaultError"


def test_a_discarded_pool_drops_its_pending_closes() -> None:
    """Closes queued for a pool that is then discarded are never sent: deleting the shell ended them."""
    counted = Counted(served(3))
    counted.hold_terminate = True
    try:
        with in_process(counted, max_open_pipelines=MAX_OPEN_PIPELINES) as s:
            for _ in range(3):
                s.invoke(GET_DATE)
            transport = s.transport
            assert isinstance(transport, PSRPTransport)
            transport._discard_pool()
            counted.release.set()
        sent = counted.of("Signal", code=wire.SIGNAL_TERMINATE)
        assert len(sent) == 1  # the one in flight; the two queued were dropped
        assert counted.of("Delete")
    finally:
        counted.release.set()


# -- the small costs ---------------------------------------------------------------------------------------


def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)


def test_without_a_proxy_requests_does_not_scan_the_environment_per_request(
    monkeypatch: pytest.MonkeyPatch, mocker: MockerFixture
) -> None:
    """Each connection's session reads the environment once, when pypsrp builds it; no request does."""
    _no_proxy_env(monkeypatch)
    scans = mocker.spy(requests.utils, "should_bypass_proxies")
    counted = Counted(served(5))
    with endpoint(counted.handle) as http, session_for(http.url, retry=NO_RETRY) as s:
        for _ in range(5):
            s.invoke(GET_DATE)
        transport = s.transport
        assert isinstance(transport, PSRPTransport) and transport._wsman is not None
        assert transport._wsman.transport.inner.session.trust_env is False  # type: ignore[attr-defined]
    assert len(counted.log) >= 15
    assert scans.call_count == 2  # the call path's connection and the closer's, each when built


def test_with_a_proxy_configured_requests_keeps_reading_the_environment(
    monkeypatch: pytest.MonkeyPatch, mocker: MockerFixture
) -> None:
    """A proxy in the environment: the session is left as pypsrp builds it, and requests consults the
    environment on every request."""
    _no_proxy_env(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # the endpoint itself is reached directly
    scans = mocker.spy(requests.utils, "should_bypass_proxies")
    counted = Counted(served(2))
    with endpoint(counted.handle) as http, session_for(http.url, retry=NO_RETRY) as s:
        for _ in range(2):
            s.invoke(GET_DATE)
        transport = s.transport
        assert isinstance(transport, PSRPTransport) and transport._wsman is not None
        assert transport._wsman.transport.inner.session.trust_env is True  # type: ignore[attr-defined]
        requests_sent = transport.requests
    assert scans.call_count >= requests_sent


def test_the_serialized_create_pipeline_is_reused_for_the_same_command_only(mocker: MockerFixture) -> None:
    """The same script with the same parameters is serialized once per pool; other values, another type
    of the same value (True, 1, "1") and secret parameters are serialized afresh. The server decodes every
    call's command (a wrong cached message would be a replay miss), under a pipeline id of its own."""
    from pypsrp.messages import CreatePipeline
    from pypsrp.serializer import Serializer

    script = "adsync/Get-AutoUpgrade.ps1"
    values: list[Any] = ["a", "a", "a", "b", True, 1, "1", 1]
    specs: list[dict[str, Any]] = [
        {"script": script, "parameters": [{"name": "Value", "value": v}], "output": [n]} for n, v in enumerate(values)
    ]
    secret = [{"name": "Value", "secret": True}]
    specs += [{"script": script, "parameters": secret, "output": [out]} for out in ("s1", "s2")]
    recorded = cassette(specs)
    counted = Counted(ReplayServer(EpisodePlayer(recorded.episodes, "test"), recorded.pool, script_names=ps.digests()))
    serialize = mocker.spy(Serializer, "serialize")
    with in_process(counted) as s:
        got = [s.invoke(Command.script(script, {"Value": v})).output[0] for v in values]
        got += [s.invoke(Command.script(script, {"Value": "pw"}, secret=["Value"])).output[0] for _ in range(2)]
    assert got == [*range(len(values)), "s1", "s2"]
    pipelines = [c for c in serialize.call_args_list if isinstance(c.args[1], CreatePipeline)]
    assert len(pipelines) == len({repr(v) for v in values}) + 2  # a, b, True, 1, "1"; each secret call
    ids = [uuid.UUID(r["command_id"]) for r in counted.of("Command")]
    assert len(set(ids)) == len(ids)


def test_when_every_background_close_fails_the_pool_is_recycled_before_the_shell_is_full(
    mocker: MockerFixture,
) -> None:
    """Each Terminate refused: the pipelines it leaves open count against the limit, and when they would fill
    it the pool is deleted and a new one opened, so the server (limit 3) never refuses a Command."""
    mocker.patch("psbridge.logs.get_logger")
    limit, calls = 3, 9
    counted = Counted(served(calls, max_commands_per_shell=limit))
    answer = counted.server.handle

    def refusing(data: bytes) -> tuple[int, bytes]:
        if b"signal/Terminate" in data:
            return 500, wire.fault(wire.Request.parse(data), 2150858817, "The request is not valid.")
        return answer(data)

    counted.server.handle = refusing  # type: ignore[method-assign]
    with in_process(counted, max_open_pipelines=limit) as s:
        got = [s.invoke(GET_DATE).output[0].get("N") for _ in range(calls)]
        transport = s.transport
    assert got == list(range(calls))
    assert [r["status"] for r in counted.of("Command")] == [200] * calls
    assert isinstance(transport, PSRPTransport) and transport.pools_opened > 1
    assert counted.peak_open <= limit
