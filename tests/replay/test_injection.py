"""Hostile strings travel only as PSRP parameter values, never inside script text."""

from __future__ import annotations

import uuid

import pytest
from helpers import cassette

from psbridge import Command, Session
from psbridge import ps as packaged
from psbridge.ps import script_digest
from psbridge.replay.episodes import Episode, EpisodePlayer, Miss
from psbridge.replay.keys import Key
from psbridge.replay.server import ReplayServer
from psbridge.replay.transport import replay_options
from psbridge.transport.psrp import HandlerWire, PSRPTransport

HOSTILE = [
    "alice'; Remove-Mailbox -Identity bob -Confirm:$false; '",
    'alice"; Stop-Computer -Force; "',
    "$(Remove-Item C:\\ -Recurse)",
    "`$env:PSBRIDGE_PASSWORD",
    "alice`nRemove-Mailbox bob",
    "a;b|c&d",
    "line1\nline2\r\nline3",
    "-Confirm:$false",
    "@{a=1}",
    "${function:Get-Secret}",
    "<S N='x'>&lt;xml&gt;</S>]]>",
    "' + (Get-Credential) + '",
    "\u202eevil\u0000nul",
]


def served(specs: list[dict]) -> tuple[Session, list[Key]]:
    recorded = cassette(specs)
    seen: list[Key] = []

    def keep(_pid: uuid.UUID, key: Key, _outcome: Episode | Miss) -> None:
        seen.append(key)

    server = ReplayServer(EpisodePlayer(recorded.episodes, "t"), recorded.pool, on_episode=keep,
                          script_names=packaged.digests())  # fmt: skip
    transport = PSRPTransport(replay_options(), wire=lambda _http: HandlerWire(server.handle))
    return Session(transport=transport), seen


@pytest.mark.parametrize("value", HOSTILE)
def test_cmdlet_parameter_arrives_verbatim_as_a_value(value: str) -> None:
    session, seen = served([{"command": "Get-Mailbox", "parameters": [{"name": "Identity", "value": value}]}])
    try:
        session.invoke(Command.cmdlet("Get-Mailbox", {"Identity": value}))
    finally:
        session.close()
    (key,) = seen
    (statement,) = key.statements  # one command: nothing was appended to the pipeline
    assert statement.command == "Get-Mailbox" and statement.script_sha256 is None
    assert [(p.name, p.value) for p in statement.params] == [("Identity", value)]


@pytest.mark.parametrize("value", HOSTILE[:5])
def test_script_text_is_sent_unchanged_with_values_bound_apart(value: str) -> None:
    name = "adsync/Get-GlobalParameters.ps1"
    session, seen = served([{"script": name, "parameters": [{"name": "Probe", "value": value}]}])
    try:
        session.invoke(Command.script(name, {"Probe": value}))
    finally:
        session.close()
    (statement,) = seen[0].statements
    assert statement.command == name
    assert statement.script_sha256 == script_digest(packaged.load(name))  # the text, byte for byte
    assert [(p.name, p.value) for p in statement.params] == [("Probe", value)]
