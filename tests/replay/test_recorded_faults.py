"""Faults a recording declares: kept on load and save, applied by in-process replay and serve-replay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import FAST_RETRY, cassette
from loopback import endpoint, session_for
from simulated import EXO_FAULTS, exo_fault

from psbridge import Command, InputError, RecordingFormatError, TransientRemoteError
from psbridge.command import ErrorRule
from psbridge.replay import http
from psbridge.replay.cassette import Cassette
from psbridge.replay.faults import FaultInjector
from psbridge.replay.transport import recorded_session

SCHEDULER = {"script": "adsync/Get-Scheduler.ps1", "output": [{"properties": {"SyncCycleEnabled": True}}]}
THROTTLED = ErrorRule(TransientRemoteError, message_contains="does not indicate success: 429")
MAILBOX = {"command": "Get-Mailbox", "output": ["alice@contoso.example"]}


def write(tmp_path: Path, faults: Any, name: str = "host.yaml") -> Path:
    recorded = cassette([SCHEDULER, SCHEDULER, MAILBOX])
    recorded.faults = faults
    path = tmp_path / name
    recorded.save(path)
    return path


def test_the_faults_section_survives_a_save_and_load(tmp_path: Path) -> None:
    section = {"seed": 9, "faults": [{**EXO_FAULTS["micro-delay"], "command": "Get-Scheduler"}]}
    path = write(tmp_path, section)
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["faults"] == section
    assert Cassette.load(path).faults == section
    injector = FaultInjector.configured([Cassette.load(path)])
    assert injector is not None
    assert (injector.seed, injector.rules) == (9, (exo_fault("micro-delay", command="Get-Scheduler"),))


def test_in_process_replay_applies_the_declared_faults_per_command(tmp_path: Path) -> None:
    path = write(tmp_path, {"faults": [{**EXO_FAULTS["micro-delay"], "command": "Get-Scheduler"}]})
    with recorded_session(path, retry=FAST_RETRY) as session:
        first = session.invoke(Command.script("adsync/Get-Scheduler.ps1"))
        second = session.invoke(Command.script("adsync/Get-Scheduler.ps1"))
        mailbox = session.invoke(Command.cmdlet("Get-Mailbox"))
    assert all(r.streams.warning[0].startswith("Micro delay applied.") for r in (first, second))
    assert list(mailbox.output) == ["alice@contoso.example"] and not mailbox.streams.warning  # another command


@pytest.mark.slow
def test_the_loopback_endpoint_applies_them_and_a_flag_adds_to_them(tmp_path: Path) -> None:
    path = write(tmp_path, {"seed": 1, "faults": [{**EXO_FAULTS["exo-throttle"], "command": "Get-Mailbox"}]})
    endpoints = http.Endpoints(path)
    injector = FaultInjector.configured(endpoints.cassettes, flags=[exo_fault("micro-delay", command="Get-Scheduler")])
    assert injector is not None and injector.seed == 1
    handle = injector.attach(endpoints.handle, *endpoints.servers.values())
    with endpoint(handle) as server, session_for(server.url) as session:
        assert session.invoke(Command.script("adsync/Get-Scheduler.ps1")).streams.warning
        with pytest.raises(TransientRemoteError, match="429"):
            session.invoke(Command.cmdlet("Get-Mailbox", error_rules=(THROTTLED,)))
    assert [i.fault for i in injector.injected] == ["warning", *["error"] * FAST_RETRY.attempts]


@pytest.mark.parametrize(
    ("section", "error", "text"),
    [
        (["reset"], RecordingFormatError, "faults is not a mapping"),
        ({"faults": "reset"}, InputError, "expected a mapping with a `faults` list"),
        ({"faults": [{"fault": "explode"}]}, InputError, "unknown fault 'explode'"),
        ({"faults": [{"fault": "reset", "rate": "often"}]}, InputError, "rate must be a fraction"),
        ({"faults": [{"fault": "reset", "when": 1}]}, InputError, "unknown keys when"),
        ({"seed": "x", "faults": []}, InputError, "seed must be a whole number"),
    ],
)
def test_a_malformed_faults_section_is_a_one_line_error(tmp_path: Path, section: Any, error: type, text: str) -> None:
    path = write(tmp_path, section)
    with pytest.raises(error, match=text) as caught:
        recorded_session(path).invoke(Command.cmdlet("Get-Mailbox"))
    assert "\n" not in str(caught.value)
    assert str(path) in str(caught.value)


def test_serve_replay_exits_2_on_a_malformed_faults_section(tmp_path: Path, cli: Any) -> None:
    path = write(tmp_path, {"faults": [{"fault": "explode"}]})
    result = cli("serve-replay", path, "--auth", "none")
    assert result.code == 2
    assert result.err.strip().splitlines() == [result.err.strip()]
    assert "unknown fault 'explode'" in result.err
