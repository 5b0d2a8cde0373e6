"""pypsrp's real client against the in-process psrpcore server: every path from wrapper to deserializer."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import pytest
from helpers import FAST_RETRY, cassette

from psbridge import (
    Command,
    OperationTimeoutError,
    PSObjectData,
    RemoteCommandError,
    ReplayExhaustedError,
    ReplayMissError,
    Session,
    WSManFault,
)
from psbridge.replay.episodes import Episode, EpisodePlayer, RecordedMessage
from psbridge.replay.server import ReplayServer
from psbridge.replay.transport import ReplayTransport, replay_options
from psbridge.transport.psrp import HandlerWire, PSRPTransport

Factory = Callable[..., Session]
OBJ = {
    "type_names": ["Deserialized.Microsoft.IdentityManagement.PowerShell.ObjectModel.SchedulerOperationStatus",
                   "Deserialized.System.Object"],
    "to_string": "Microsoft.IdentityManagement.PowerShell.ObjectModel.SchedulerOperationStatus",
    "properties": {"Result": "Success", "Count": {"I32": 7}, "Enabled": {"B": True},
                   "When": {"DT": "2026-11-25T10:00:00Z"}, "Interval": {"TS": "00:30:00"},
                   "Id": {"G": "b891884f-051e-4a83-95af-2544101c9083"}, "Nothing": {"Nil": None}},
}  # fmt: skip


def test_objects_and_every_stream_come_back(replay_session: Factory) -> None:
    spec = {"command": "Get-Thing", "output": [OBJ], "warnings": ["w1"], "verbose": ["v1"], "debug": ["d1"],
            "information": ["i1"]}  # fmt: skip
    s = replay_session([spec])
    result = s.invoke(Command.cmdlet("Get-Thing"))
    (obj,) = result.output
    assert isinstance(obj, PSObjectData)
    assert obj.type_names[0] == "Microsoft.IdentityManagement.PowerShell.ObjectModel.SchedulerOperationStatus"
    assert obj.is_a("Deserialized.System.Object")
    assert obj.get("Result") == "Success" and obj.get("Count") == 7 and obj.get("Enabled") is True
    assert obj.get("When") == dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)  # DT decoded, its offset kept
    assert obj.get("Interval") == dt.timedelta(minutes=30)  # TS (an xs:duration on the wire)
    assert str(obj.get("Id")) == "b891884f-051e-4a83-95af-2544101c9083" and obj.get("Nothing") is None
    assert result.streams.warning == ("w1",) and result.streams.verbose == ("v1",)
    assert result.streams.debug == ("d1",)
    assert result.streams.information[0].message_data == "i1"
    assert result.state == "Completed"


def test_non_terminating_error_record_raises(replay_session: Factory) -> None:
    busy = {
        "message": "System.InvalidOperationException: Connector: contoso.onmicrosoft.com - AAD is busy.",
        "fully_qualified_error_id": "System.InvalidOperationException: Connector: contoso.onmicrosoft.com - AAD is "
        "busy.,Microsoft.IdentityManagement.PowerShell.Cmdlet.StartADSyncSyncCycleCmdlet",
        "category": "WriteError",
        "exception_type": "System.InvalidOperationException",
    }
    s = replay_session([{"command": "Start-ADSyncSyncCycle", "errors": [busy]}])
    with pytest.raises(RemoteCommandError) as info:
        s.invoke(Command.cmdlet("Start-ADSyncSyncCycle", idempotent=False))
    assert "is busy" in str(info.value)
    assert info.value.error_id.startswith("System.InvalidOperationException")
    assert info.value.exception_type == "System.InvalidOperationException"


def test_terminating_error_raises_specific_class(replay_session: Factory) -> None:
    error = {
        "message": "The term 'Get-Nothing' is not recognized as the name of a cmdlet, function, script file, or "
        "operable program.",
        "fully_qualified_error_id": "CommandNotFoundException",
        "category": "ObjectNotFound",
        "exception_type": "System.Management.Automation.CommandNotFoundException",
        "target_name": "Get-Nothing",
    }
    spec = {"command": "Get-Nothing", "terminating_error": error}
    s = replay_session([spec])
    with pytest.raises(RemoteCommandError) as info:
        s.invoke(Command.cmdlet("Get-Nothing"))
    assert type(info.value).__name__ == "CommandNotFoundError"
    assert "is not recognized" in str(info.value)


def test_miss_names_the_command_and_the_nearest(replay_session: Factory) -> None:
    s = replay_session([{"command": "Get-Mailbox", "parameters": [{"name": "Identity", "value": "alice"}]}])
    with pytest.raises(ReplayMissError) as info:
        s.invoke(Command.cmdlet("Get-Mailbox", {"Identity": "bob"}))
    message = str(info.value)
    assert 'Get-Mailbox -Identity "bob"' in message
    assert 'nearest recorded: `Get-Mailbox -Identity "alice"`' in message


def test_no_loop_back_each_episode_once(replay_session: Factory) -> None:
    s = replay_session([{"command": "Get-Date", "output": [{"properties": {"N": 1}}]},
                        {"command": "Get-Date", "output": [{"properties": {"N": 2}}]}])  # fmt: skip
    first, second = (s.invoke(Command.cmdlet("Get-Date")).output[0].get("N") for _ in range(2))
    assert (first, second) == (1, 2)
    with pytest.raises(ReplayExhaustedError, match="already played"):
        s.invoke(Command.cmdlet("Get-Date"))


def _server(specs: list[dict], **kwargs: object) -> ReplayServer:
    recorded = cassette(specs)
    return ReplayServer(EpisodePlayer(recorded.episodes, "test"), recorded.pool, **kwargs)  # type: ignore[arg-type]


def _transport(server: ReplayServer, **kwargs: object) -> PSRPTransport:
    return PSRPTransport(replay_options(), wire=lambda _http: HandlerWire(server.handle), **kwargs)  # type: ignore[arg-type]


def test_pooled_session_needs_at_most_three_requests_per_call() -> None:
    server = _server([{"command": "Get-Date"}] * 10)
    transport = _transport(server)
    s = Session(transport=transport)
    s.invoke(Command.cmdlet("Get-Date"))
    after_first = server.requests
    for _ in range(9):
        s.invoke(Command.cmdlet("Get-Date"))
    per_call = (server.requests - after_first) / 9
    assert per_call <= 3
    assert transport.pools_opened == 1
    s.close()
    assert not server.shells  # the pool was deleted on close


def test_every_pipeline_is_closed_on_the_server() -> None:
    server = _server([{"command": "Get-Date"}] * 3)
    s = Session(transport=_transport(server))
    for _ in range(3):
        s.invoke(Command.cmdlet("Get-Date"))
    (shell,) = server.shells.values()
    assert shell.pipelines == {}


def test_idle_shell_dropped_by_server_is_reopened_transparently() -> None:
    server = _server([{"command": "Get-Date"}] * 2)
    transport = _transport(server, idle_check_s=0.0)
    s = Session(transport=transport, retry=FAST_RETRY)
    s.invoke(Command.cmdlet("Get-Date"))
    server.shells.clear()  # the server forgot the shell, as after an idle disconnect
    s.invoke(Command.cmdlet("Get-Date"))
    assert transport.pools_opened == 2


def test_shell_not_found_mid_call_is_retried_on_a_new_pool() -> None:
    server = _server([{"command": "Get-Date"}] * 2)
    transport = _transport(server)  # no idle check: the fault arrives on the call itself
    s = Session(transport=transport, retry=FAST_RETRY)
    s.invoke(Command.cmdlet("Get-Date"))
    server.shells.clear()
    s.invoke(Command.cmdlet("Get-Date"))
    assert transport.pools_opened == 2


@pytest.mark.slow
def test_hung_command_is_stopped_at_its_deadline_and_session_stays_usable() -> None:
    hung = Episode(cassette([{"command": "Wait-Forever"}]).episodes[0].key, [], "test")  # never finishes
    recorded = cassette([{"command": "Get-Date"}])
    server = ReplayServer(EpisodePlayer([hung, *recorded.episodes], "test"), recorded.pool, hang_cap_s=0.2)
    s = Session(transport=_transport(server), retry=FAST_RETRY)
    started = time.monotonic()
    with pytest.raises(OperationTimeoutError) as info:
        s.invoke(Command.cmdlet("Wait-Forever"), timeout=1.0)
    elapsed = time.monotonic() - started
    assert elapsed >= 1.0
    assert info.value.deadline_s == 1.0
    (shell,) = server.shells.values()
    assert shell.pipelines == {}  # stopped (ctrl_c) and terminated on the server
    assert s.invoke(Command.cmdlet("Get-Date")).state == "Completed"


def test_wrong_endpoint_is_a_transport_fault(write_cassette: Callable[..., object]) -> None:
    path = write_cassette([{"command": "Get-Date"}])
    transport = ReplayTransport(path)  # type: ignore[arg-type]
    assert transport.server is not None
    transport.server.configuration_name = "Microsoft.Exchange"
    s = Session(transport=transport, retry=FAST_RETRY)
    with pytest.raises(WSManFault) as info:
        s.invoke(Command.cmdlet("Get-Date"))
    assert info.value.code == 2150858770
    assert "not registered" in str(info.value) and "target.example" in str(info.value)


def test_recorded_running_state_is_not_replayed_twice() -> None:
    recorded = cassette([{"command": "Get-Date", "output": [{"properties": {"N": 1}}]}])
    episode = recorded.episodes[0]
    running = RecordedMessage("PipelineState", '<Obj RefId="0"><MS><I32 N="PipelineState">1</I32></MS></Obj>')
    episode.messages.insert(0, running)
    server = ReplayServer(EpisodePlayer([episode], "t"), recorded.pool)
    result = Session(transport=_transport(server)).invoke(Command.cmdlet("Get-Date"))
    assert result.output[0].get("N") == 1 and result.state == "Completed"


def _failing_once(server: ReplayServer, status: int, action: str, nth: int = 1) -> Callable[[bytes], tuple[int, bytes]]:
    """The server, except that the nth request of `action` gets a bare HTTP error."""
    seen: list[bool] = []

    def handle(data: bytes) -> tuple[int, bytes]:
        if f"/{action}</" in data.decode():
            seen.append(True)
            if len(seen) == nth:
                return status, b""
        return server.handle(data)

    return handle


def test_http_400_discards_the_pool_and_a_read_is_retried() -> None:
    server = _server([{"command": "Get-Date"}] * 2)
    handle = _failing_once(server, 400, "Receive", nth=2)  # the first pipeline Receive, after the pool's
    transport = PSRPTransport(replay_options(), wire=lambda _http: HandlerWire(handle))
    s = Session(transport=transport, retry=FAST_RETRY)
    assert s.invoke(Command.cmdlet("Get-Date")).state == "Completed"
    assert transport.pools_opened == 2
    assert len(server.keys_seen) == 2  # sent twice: safe because Get-Date is a read


def test_http_404_is_permanent_and_not_retried() -> None:
    from psbridge import ConnectError

    server = _server([{"command": "Get-Date"}] * 3)
    handle = _failing_once(server, 404, "Command")
    s = Session(transport=PSRPTransport(replay_options(), wire=lambda _http: HandlerWire(handle)), retry=FAST_RETRY)
    with pytest.raises(ConnectError, match="HTTP 404") as info:
        s.invoke(Command.cmdlet("Get-Date"))
    assert not info.value.transient and info.value.attempt == 1


def test_refused_state_changing_call_is_retried_but_a_lost_reply_is_not() -> None:
    from psbridge import OutcomeUnknownError

    start = {"command": "Start-ADSyncSyncCycle", "parameters": [{"name": "PolicyType", "value": "Delta"}]}
    command = Command.cmdlet("Start-ADSyncSyncCycle", {"PolicyType": "Delta"}, idempotent=False)

    server = _server([start] * 3)
    transport = _transport(server)
    s = Session(transport=transport, retry=FAST_RETRY)
    s.invoke(command)
    server.shells.clear()  # the Command is refused with "shell not found": it never ran
    s.invoke(command)
    assert transport.pools_opened == 2 and len(server.keys_seen) == 2

    server = _server([start] * 3)
    handle = _failing_once(server, 503, "Receive", nth=2)  # the reply to the command is lost
    s = Session(transport=PSRPTransport(replay_options(), wire=lambda _http: HandlerWire(handle)), retry=FAST_RETRY)
    with pytest.raises(OutcomeUnknownError, match="may or may not have run"):
        s.invoke(command)
    assert len(server.keys_seen) == 1  # sent once, never blindly again
