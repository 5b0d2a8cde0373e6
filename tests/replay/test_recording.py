"""Record modes, with a fake live host behind pypsrp's real client (no Windows host exists here)."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pytest
import yaml
from defusedxml.ElementTree import fromstring
from helpers import cassette as cassette_of
from helpers import fake_host, live_options, recording_session
from psrpcore._crypto import PSRemotingCrypto
from psrpcore.types import deserialize
from structlog.testing import capture_logs

from psbridge import Command, RecordingSecretError, ReplayExhaustedError, ReplayMissError
from psbridge.replay import shapes
from psbridge.replay.cassette import Cassette
from psbridge.replay.transport import recorded_session
from psbridge.result import strip_deserialized

PASSWORD = "Corr3ct-Horse-Battery!"
DATE = {"command": "Get-Date", "output": [{"properties": {"N": 1}}]}
# An on-premises Exchange mailbox as the Microsoft.Exchange endpoint sends it (psbridge.replay.shapes names the
# public capture): the type chain, adapted properties, a ProxyAddressCollection, the server's offset.
MAILBOX = {
    "command": "Get-Mailbox",
    "parameters": [{"name": "Identity", "value": "alice@corp.contoso.com"}],
    "output": [
        {
            "type_names": shapes.recipient("Mailbox"),
            "to_string": "Alice",
            "adapted": True,
            "properties": {
                "PrimarySmtpAddress": "alice@corp.contoso.com",
                "EmailAddresses": {"ProxyAddressCollection": ["SMTP:alice@corp.contoso.com", "smtp:alice@contoso.com"]},
                "RecipientTypeDetails": "UserMailbox",
                "ServerName": "connect01.corp.contoso.com",
                "WhenChanged": {"DT": "2026-10-30T18:01:36-07:00"},
            },
        }
    ],
}


def test_rewrite_records_a_file_that_replays_the_same(tmp_path: Path) -> None:
    host = fake_host([DATE, MAILBOX])
    path = tmp_path / "rec.yaml"
    with recording_session(path, "rewrite", host) as s:
        live = [
            s.invoke(Command.cmdlet("Get-Date")),
            s.invoke(Command.cmdlet("Get-Mailbox", {"Identity": "alice@corp.contoso.com"})),
        ]
    recorded = Cassette.load(path)
    assert recorded.origin == "recorded"
    assert recorded.target.configuration_name == "Microsoft.PowerShell"
    assert (recorded.target.protocol_version, recorded.target.ps_version) == ("2.3", "5.1.17763.1")
    assert [ep.key.statements[0].command for ep in recorded.episodes] == ["Get-Date", "Get-Mailbox"]
    assert recorded.recorded_with["pypsrp"].startswith("0.9")
    # The host name is scrubbed everywhere, consistently, including inside CLIXML and keys.
    text = path.read_text()
    assert "connect01.corp.contoso.com" not in text and "target.example" in text
    with recorded_session(path) as replayed:
        again = replayed.invoke(Command.cmdlet("Get-Date"))
        assert again.output == live[0].output
        assert (
            replayed.invoke(Command.cmdlet("Get-Mailbox", {"Identity": "alice@corp.contoso.com"}))
            .output[0]
            .get("ServerName")
            == "target.example"
        )


def test_a_recorded_raw_object_keeps_its_real_shape(tmp_path: Path) -> None:
    """What a host sent is written as it came: the typed collection, the chain, the offset; and it decodes."""
    path = tmp_path / "rec.yaml"
    with recording_session(path, "rewrite", fake_host([MAILBOX])) as s:
        s.invoke(Command.cmdlet("Get-Mailbox", {"Identity": "alice@corp.contoso.com"}))
    assert shapes.check_recording(path) == []
    (message,) = [m for m in Cassette.load(path).episodes[0].messages if m.type == "PipelineOutput"]
    mailbox: Any = deserialize(fromstring(message.clixml), PSRemotingCrypto())
    addresses = mailbox.EmailAddresses
    assert list(addresses) == ["SMTP:alice@corp.contoso.com", "smtp:alice@contoso.com"]
    assert strip_deserialized(addresses.PSObject.type_names[0]) == "Microsoft.Exchange.Data.ProxyAddressCollection"
    assert mailbox.WhenChanged.utcoffset() == dt.timedelta(hours=-7)
    assert "<Props>" in message.clixml and "<MS>" not in message.clixml


DANA = ["SMTP:dana@contoso.example", "smtp:dana@contoso.mail.onmicrosoft.com"]
ADELE = ["SMTP:adele@contoso.example", "smtp:adele@contoso.mail.onmicrosoft.com", "smtp:adele@contoso.onmicrosoft.com"]


@pytest.mark.parametrize(
    ("recording", "command", "prop", "expected"),
    [
        ("demo/exchange.yaml", "Get-Mailbox", "EmailAddresses", DANA),
        ("demo/ad.yaml", "Get-ADUser", "MemberOf", ["CN=All Staff,CN=Users,DC=contoso,DC=example"]),
        ("demo/exo.yaml", "exchange/Invoke-ExchangeCommand.ps1", "EmailAddresses", ADELE),
    ],
)
def test_the_demos_typed_collections_decode_to_their_items(
    recording: str, command: str, prop: str, expected: list[str]
) -> None:
    obj = _first_output(recording, command)
    assert list(getattr(obj, prop)) == expected


def test_the_demos_enum_objects_decode_to_their_number_and_name() -> None:
    scope = _first_output("demo/ad.yaml", "Get-ADGroup").GroupScope
    assert int(scope) == 1 and scope.PSObject.to_string == "Global"
    assert [strip_deserialized(n) for n in scope.PSObject.type_names] == [
        "Microsoft.ActiveDirectory.Management.ADGroupScope",
        *shapes.ENUM_BASES,
    ]


def test_the_demos_server_times_keep_their_offset() -> None:
    mailbox = _first_output("demo/exchange.yaml", "Get-Mailbox")
    assert mailbox.WhenChanged.utcoffset() == dt.timedelta(hours=-8)
    assert mailbox.WhenChanged == mailbox.WhenChangedUTC


def _first_output(recording: str, command: str) -> Any:
    cassette = Cassette.load(Path(__file__).resolve().parents[2] / "recorded_sessions" / recording)
    messages = (m for e in cassette.episodes if e.key.statements[0].command == command for m in e.messages)
    # The first object: a paged listing's output is its JSON page, one string (exchange/Invoke-ExchangeCommand.ps1).
    message = next(m for m in messages if m.type == "PipelineOutput" and m.clixml.startswith("<Obj"))
    return deserialize(fromstring(message.clixml), PSRemotingCrypto())


def test_once_records_when_missing_then_only_replays(tmp_path: Path) -> None:
    path = tmp_path / "rec.yaml"
    host = fake_host([DATE])
    with recording_session(path, "once", host) as s:
        s.invoke(Command.cmdlet("Get-Date"))
    assert path.exists()
    before = host.requests
    second_host = fake_host([DATE])
    with recording_session(path, "once", second_host) as s:
        s.invoke(Command.cmdlet("Get-Date"))
        with pytest.raises(ReplayMissError):
            s.invoke(Command.cmdlet("Get-Process"))  # once + file present = replay only
    assert second_host.requests == 0 and host.requests == before


def test_new_episodes_replays_known_and_records_new(tmp_path: Path) -> None:
    path = tmp_path / "rec.yaml"
    with recording_session(path, "rewrite", fake_host([DATE])) as s:
        s.invoke(Command.cmdlet("Get-Date"))
    host = fake_host([MAILBOX])
    with recording_session(path, "new_episodes", host) as s:
        assert s.invoke(Command.cmdlet("Get-Date")).output[0].get("N") == 1  # from the file
        s.invoke(Command.cmdlet("Get-Mailbox", {"Identity": "alice@corp.contoso.com"}))  # from the host
    assert [k.statements[0].command for k in host.keys_seen] == ["Get-Mailbox"]
    assert [ep.key.statements[0].command for ep in Cassette.load(path).episodes] == ["Get-Date", "Get-Mailbox"]


def test_none_never_touches_the_network(tmp_path: Path) -> None:
    path = tmp_path / "rec.yaml"
    with recording_session(path, "rewrite", fake_host([DATE])) as s:
        s.invoke(Command.cmdlet("Get-Date"))
    host = fake_host([MAILBOX])
    with recording_session(path, "none", host) as s, pytest.raises(ReplayMissError, match="Get-Mailbox"):
        s.invoke(Command.cmdlet("Get-Mailbox", {"Identity": "x"}))
    assert host.requests == 0


def test_record_modes_need_a_file_and_a_host(tmp_path: Path) -> None:
    from psbridge import InputError

    with pytest.raises(InputError, match="live host"):
        recorded_session(tmp_path / "x.yaml", mode="rewrite")
    with pytest.raises(InputError, match=r"\.yaml"):
        recorded_session(tmp_path, mode="rewrite", options=live_options())
    with pytest.raises(InputError, match="record mode"):
        recorded_session(tmp_path / "x.yaml", mode="sometimes")  # type: ignore[arg-type]


def test_password_and_secret_parameters_never_reach_logs_errors_or_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret_param = "Api-K3y-0f-Th3-Tenant"
    connect = {"command": "Connect-Thing", "parameters": [{"name": "Key", "value": secret_param}]}
    path = tmp_path / "rec.yaml"
    caplog.set_level(logging.DEBUG)
    with capture_logs() as structured, recording_session(path, "rewrite", fake_host([DATE, connect])) as s:
        s.invoke(Command.cmdlet("Get-Date"))
        s.invoke(Command.cmdlet("Connect-Thing", {"Key": secret_param}, secret=["Key"]))
        # An error whose text comes back holding the secret (here: the host's own miss message).
        with pytest.raises(Exception) as failure:
            s.invoke(Command.cmdlet("Connect-Thing", {"Key": secret_param}, secret=["Key"]), timeout=5)
        s._transport._recorder.episodes.pop()  # type: ignore[union-attr]  # that reply echoes the secret
    text = path.read_text()
    for secret in (PASSWORD, secret_param):
        assert secret not in text
        assert secret not in caplog.text
        assert secret not in repr(structured)
        assert secret not in f"{failure.value!s} {failure.value!r}"
    key = yaml.safe_load(text)["episodes"][1]["key"][0]
    assert key["parameters"] == [{"name": "Key", "secret": True}]
    # The secret is a wildcard on replay: any value matches; a miss never shows the value either.
    with recorded_session(path) as replayed:
        replayed.invoke(Command.cmdlet("Connect-Thing", {"Key": "an0ther-Value"}, secret=["Key"]))
        with pytest.raises(ReplayExhaustedError) as again:
            replayed.invoke(Command.cmdlet("Connect-Thing", {"Key": "an0ther-Value"}, secret=["Key"]))
    assert "an0ther-Value" not in f"{again.value!s} {again.value!r}" and "<secret>" in str(again.value)


def test_write_is_refused_when_the_host_echoes_the_password(tmp_path: Path) -> None:
    leaky = {"command": "Get-Credential", "output": [{"properties": {"Password": PASSWORD}}]}
    path = tmp_path / "rec.yaml"
    s = recording_session(path, "rewrite", fake_host([leaky]))
    s.invoke(Command.cmdlet("Get-Credential"))
    with pytest.raises(RecordingSecretError) as info:
        s.close()
    assert PASSWORD not in str(info.value)
    assert not path.exists()


# -- a user name that occurs inside other words ------------------------------------------------------------

PERSON = {
    "command": "Get-ADUser",
    "parameters": [{"name": "Identity", "value": "alice"}],
    "output": [
        {
            "properties": {
                "UserPrincipalName": "alice@corp.contoso.com",
                "Description": "recorded by the adsync service",
            }
        }
    ],
}


@pytest.mark.parametrize("user", ["ci", "de", "sync"])
def test_recording_as_a_short_user_name_writes_a_file_that_replays(tmp_path: Path, user: str) -> None:
    """The user name is scrubbed where it stands alone (`CORP\\ci`), never inside `UserPrincipalName`,
    `recorded`, `adsync/Get-Scheduler.ps1` or `origin`; the file loads and replays the same answers."""
    from psbridge import adsync, ps
    from psbridge.replay.episodes import EpisodePlayer
    from psbridge.replay.server import ReplayServer

    demo = Cassette.load(Path(__file__).resolve().parents[2] / "recorded_sessions" / "demo" / "adsync.yaml")
    properties = {**PERSON["output"][0]["properties"], "ManagedBy": f"CORP\\{user}"}  # type: ignore[index]
    person = cassette_of([{**PERSON, "output": [{"properties": properties}]}])
    host = ReplayServer(EpisodePlayer([*demo.episodes, *person.episodes], "live"), demo.pool, script_names=ps.digests())
    path = tmp_path / "rec.yaml"
    options = live_options().model_copy(update={"username": user})
    with recording_session(path, "rewrite", host, options=options) as s:
        live = (
            adsync.get_scheduler(s),
            adsync.get_version(s),
            s.invoke(Command.cmdlet("Get-ADUser", {"Identity": "alice"})),
        )

    text = path.read_text()
    assert "origin: recorded" in text and "script: adsync/Get-Scheduler.ps1" in text
    assert "UserPrincipalName" in text and "recorded by the adsync service" in text
    assert "CORP\\user@example" in text and f"CORP\\{user}<" not in text
    with recorded_session(path) as replayed:
        assert adsync.get_scheduler(replayed) == live[0]
        assert adsync.get_version(replayed) == live[1]
        person_again = replayed.invoke(Command.cmdlet("Get-ADUser", {"Identity": "alice"})).output[0]
    assert person_again.get("UserPrincipalName") == "alice@corp.contoso.com"
    assert person_again.get("ManagedBy") == "CORP\\user@example"


def test_a_command_that_sends_the_user_name_is_recorded_scrubbed_and_replays(tmp_path: Path) -> None:
    """Recording as `ci` a command that sends `ci`: the file holds `user@example`, marked scrubbed, and the
    client sending `ci` on replay gets the recorded answer."""
    spec = {"command": "Get-ADUser", "parameters": [{"name": "Identity", "value": "ci"}], "output": ["the user"]}
    path = tmp_path / "rec.yaml"
    options = live_options().model_copy(update={"username": "ci"})
    with recording_session(path, "rewrite", fake_host([DATE, spec]), options=options) as s:
        s.invoke(Command.cmdlet("Get-Date"))
        live = s.invoke(Command.cmdlet("Get-ADUser", {"Identity": "ci"})).output
    key = yaml.safe_load(path.read_text())["episodes"][1]["key"][0]
    assert key["parameters"] == [{"name": "Identity", "value": "user@example", "scrubbed": True}]
    with recorded_session(path) as replayed:
        replayed.invoke(Command.cmdlet("Get-Date"))
        assert replayed.invoke(Command.cmdlet("Get-ADUser", {"Identity": "ci"})).output == live == ("the user",)


def test_a_recording_that_would_not_replay_is_refused_and_kept_aside(tmp_path: Path, mocker: Any) -> None:
    """The file is read back when the session closes; one that would not replay a recorded command (here a
    writer that loses the parameter's value) refuses to finish (exit 2) and is kept as rec.yaml.unverified."""
    from psbridge import RecordingFormatError
    from psbridge.replay.keys import Param

    spec = {"command": "Get-ADUser", "parameters": [{"name": "Identity", "value": "alice"}], "output": ["x"]}
    path = tmp_path / "rec.yaml"
    s = recording_session(path, "rewrite", fake_host([DATE, spec]))
    s.invoke(Command.cmdlet("Get-Date"))
    s.invoke(Command.cmdlet("Get-ADUser", {"Identity": "alice"}))
    mocker.patch.object(Param, "to_data", lambda self: {"name": self.name, "value": "lost"})
    with pytest.raises(RecordingFormatError) as info:
        s.close()
    message = str(info.value)
    assert info.value.exit_code == 2 and "\n" not in message
    assert message.startswith(f'recording {path} does not replay: episode 2, `Get-ADUser -Identity "alice"`')
    assert not path.exists()
    assert (tmp_path / "rec.yaml.unverified").is_file()
