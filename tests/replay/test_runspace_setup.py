"""Per-runspace setup and teardown: connect once per runspace pool, again after a reopen, disconnect on close."""

from __future__ import annotations

import pytest
from helpers import FAST_RETRY, cassette

from psbridge import Command, RemoteCommandError, Session
from psbridge.replay.episodes import EpisodePlayer
from psbridge.replay.server import ReplayServer
from psbridge.replay.transport import replay_options
from psbridge.transport.psrp import HandlerWire, PSRPTransport

CONNECT = Command.cmdlet("Connect-Thing", {"Organization": "contoso.onmicrosoft.com"})
DISCONNECT = Command.cmdlet("Disconnect-Thing", {"Confirm": False})
CONNECT_SPEC = {
    "command": "Connect-Thing",
    "parameters": [{"name": "Organization", "value": "contoso.onmicrosoft.com"}],
}
DISCONNECT_SPEC = {"command": "Disconnect-Thing", "parameters": [{"name": "Confirm", "value": False}]}
GET = {"command": "Get-Thing"}


def _served(specs: list[dict]) -> tuple[Session, ReplayServer, PSRPTransport]:
    recorded = cassette(specs)
    server = ReplayServer(EpisodePlayer(recorded.episodes, "test"), recorded.pool)
    transport = PSRPTransport(replay_options(), wire=lambda _http: HandlerWire(server.handle))
    return Session(transport=transport, retry=FAST_RETRY), server, transport


def _commands(server: ReplayServer) -> list[str]:
    return [k.statements[0].command for k in server.keys_seen]


def test_setup_runs_once_per_pool_and_again_after_a_reopen() -> None:
    session, server, transport = _served([CONNECT_SPEC, GET, GET, CONNECT_SPEC, GET, DISCONNECT_SPEC])
    session.add_runspace_setup(CONNECT, DISCONNECT)
    session.invoke(Command.cmdlet("Get-Thing"))
    session.invoke(Command.cmdlet("Get-Thing"))
    server.shells.clear()  # the server dropped the shell: the next call reopens and connects again
    session.invoke(Command.cmdlet("Get-Thing"))
    session.close()
    assert _commands(server) == [
        "Connect-Thing", "Get-Thing", "Get-Thing", "Connect-Thing", "Get-Thing", "Disconnect-Thing"
    ]  # fmt: skip
    assert transport.pools_opened == 2


def test_failed_setup_fails_the_call_and_is_tried_again_on_a_new_pool() -> None:
    error = {"message": "UnAuthorized", "fully_qualified_error_id": "UnAuthorized", "category": "AuthenticationError"}
    refused = {**CONNECT_SPEC, "terminating_error": error}
    session, server, transport = _served([refused, CONNECT_SPEC, GET])
    session.add_runspace_setup(CONNECT)
    with pytest.raises(RemoteCommandError, match="UnAuthorized"):
        session.invoke(Command.cmdlet("Get-Thing"))
    assert not transport.pool_open  # never used without its setup
    session.invoke(Command.cmdlet("Get-Thing"))
    assert _commands(server) == ["Connect-Thing", "Connect-Thing", "Get-Thing"]


def test_setup_added_to_an_open_pool_runs_now_and_teardown_failure_is_only_logged() -> None:
    session, server, _ = _served([GET, CONNECT_SPEC])
    session.invoke(Command.cmdlet("Get-Thing"))
    session.add_runspace_setup(CONNECT, DISCONNECT)  # no Disconnect recorded: the teardown misses
    assert _commands(server) == ["Get-Thing", "Connect-Thing"]
    session.close()  # does not raise
    assert _commands(server)[-1] == "Disconnect-Thing"
