"""The replay server refuses a script sent without `UseLocalScope` true, through pypsrp's real client.

pypsrp sends the flag as nil unless `add_script(text, use_local_scope=True)` asks for it, and PowerShell
runs a script whose flag is nil or false dot-sourced in the global scope. psbridge's transport must send
every script with the flag; these tests prove the server catches a client that does not, in process and
over the loopback endpoint (`serve-replay`), and that cmdlets are not affected.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers import DEMO, FAST_RETRY, cassette
from loopback import PASSWORD, USER, endpoint, port_of
from pypsrp.complex_objects import PSInvocationState
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan
from pytest_mock import MockerFixture

from psbridge import Command, ScriptNotLocalError, Session, ps
from psbridge.replay import http
from psbridge.replay.episodes import EpisodePlayer
from psbridge.replay.server import ReplayServer
from psbridge.replay.transport import REPLAY_HOST, replay_options
from psbridge.transport.psrp import HandlerWire, PSRPTransport

SCRIPT = "adsync/Get-GlobalParameters.ps1"
ROW = {
    "type_names": ["System.Management.Automation.PSCustomObject", "System.Object"],
    "to_string": "auto",
    "properties": {"Name": "Microsoft.Synchronize.StagingMode", "Value": "False", "DataType": "Boolean",
                   "Scope": "Global"},
}  # fmt: skip
REFUSED = "PsbridgeScriptNotLocal"


def _server() -> tuple[ReplayServer, EpisodePlayer]:
    recorded = cassette(
        [
            {"script": SCRIPT, "output": [ROW]},
            {"command": "Get-Date", "output": ["2026-11-25"]},
        ]
    )
    player = EpisodePlayer(recorded.episodes, "test")
    return ReplayServer(player, recorded.pool, script_names=ps.digests()), player


@pytest.fixture
def pool() -> Iterator[tuple[EpisodePlayer, RunspacePool]]:
    """A bare pypsrp runspace pool on an in-process server: commands go out exactly as the test builds them."""
    server, player = _server()
    wsman = WSMan(REPLAY_HOST, ssl=False, auth="basic", encryption="never", username="u", password="p")
    wsman.transport = HandlerWire(server.handle)  # type: ignore[assignment]
    runspace = RunspacePool(wsman)
    runspace.open()
    yield player, runspace
    runspace.close()


def _refusal(powershell: PowerShell) -> str:
    """The refused pipeline's error text, after checking it failed with the server's scope error id."""
    assert powershell.state == PSInvocationState.FAILED
    assert [e.fq_error for e in powershell.streams.error] == [REFUSED]
    (error,) = powershell.streams.error
    assert error.reason == "NotLocal"
    return str(error)


@pytest.mark.parametrize(("flag", "shown"), [(None, "nil"), (False, "false")])
def test_a_script_without_local_scope_is_refused(
    pool: tuple[EpisodePlayer, RunspacePool], flag: bool | None, shown: str
) -> None:
    player, runspace = pool
    powershell = PowerShell(runspace)
    if flag is None:
        powershell.add_script(ps.load(SCRIPT))  # pypsrp's default: UseLocalScope is sent as <Nil/>
    else:
        powershell.add_script(ps.load(SCRIPT), use_local_scope=flag)
    output = powershell.invoke()
    assert output == []
    text = _refusal(powershell)
    assert f"script {SCRIPT}" in text and f"UseLocalScope {shown}" in text and "use_local_scope=True" in text
    # The refused call used up nothing: the recorded episode is still there for a well-formed call.
    assert [ep.key.display() for ep in player.unplayed] == [f"script {SCRIPT}", "Get-Date"]


def test_a_script_with_local_scope_is_served(pool: tuple[EpisodePlayer, RunspacePool]) -> None:
    _, runspace = pool
    powershell = PowerShell(runspace)
    powershell.add_script(ps.load(SCRIPT), use_local_scope=True)
    (row,) = powershell.invoke()
    assert powershell.state == PSInvocationState.COMPLETED and not powershell.streams.error
    assert row.extended_properties["Name"] == "Microsoft.Synchronize.StagingMode"


def test_a_cmdlet_without_the_flag_is_not_affected(pool: tuple[EpisodePlayer, RunspacePool]) -> None:
    _, runspace = pool
    powershell = PowerShell(runspace)
    powershell.add_cmdlet("Get-Date")  # UseLocalScope nil, as psbridge sends cmdlets
    assert powershell.invoke() == ["2026-11-25"]
    assert powershell.state == PSInvocationState.COMPLETED


def test_a_script_after_a_cmdlet_in_one_pipeline_is_still_checked(pool: tuple[EpisodePlayer, RunspacePool]) -> None:
    _, runspace = pool
    powershell = PowerShell(runspace)
    powershell.add_cmdlet("Get-Date").add_script(ps.load(SCRIPT))
    powershell.invoke()
    _refusal(powershell)


def test_psbridge_transport_sends_scripts_in_a_local_scope() -> None:
    """psbridge's own transport: the script is served, so it went out with UseLocalScope true."""
    server, _ = _server()
    transport = PSRPTransport(replay_options(), wire=lambda _http: HandlerWire(server.handle))
    with Session(transport=transport, retry=FAST_RETRY) as session:
        (row,) = session.invoke(Command.script(SCRIPT)).output
        assert row.get("Value") == "False"


@pytest.mark.slow
def test_the_loopback_endpoint_refuses_it_too() -> None:
    """`serve-replay` serves the demo recordings with the same ReplayServer: a nil flag is refused there."""
    endpoints = http.Endpoints(DEMO)
    with endpoint(endpoints.handle) as served:
        wsman = WSMan(
            "127.0.0.1",
            port=port_of(served.url),
            ssl=False,
            auth="basic",
            encryption="never",
            username=USER,
            password=PASSWORD,
            operation_timeout=10,
            read_timeout=15,
            connection_timeout=5,
        )
        with wsman, RunspacePool(wsman) as runspace:
            powershell = PowerShell(runspace)
            powershell.add_script(ps.load("adsync/Get-Scheduler.ps1"))
            powershell.invoke()
            assert "UseLocalScope nil" in _refusal(powershell)


def test_psbridge_reports_a_refused_script_as_its_own_error(mocker: MockerFixture) -> None:
    """Were the transport to drop the flag, every script call would fail with one clear error, not a miss."""
    keep = PowerShell.add_script
    mocker.patch.object(PowerShell, "add_script", lambda self, script, use_local_scope=None: keep(self, script))
    server, player = _server()
    transport = PSRPTransport(replay_options(), wire=lambda _http: HandlerWire(server.handle))
    with Session(transport=transport, retry=FAST_RETRY) as session, pytest.raises(ScriptNotLocalError) as caught:
        session.invoke(Command.script(SCRIPT))
    assert "UseLocalScope nil" in str(caught.value) and caught.value.exit_code == 2
    assert len(player.unplayed) == 2  # nothing was served
