"""Recordings always replay: `psbridge --record` against the loopback endpoint, then `--replay` of the file.

The endpoint serves the demo recordings over a real socket with Basic auth. Each user name here occurs
inside words a recording holds: `ci` in `UserPrincipalName`, `de` in `recorded`, `sync` in
`adsync/Get-Scheduler.ps1` and `Get-ADSyncScheduler`. Scrubbing replaces whole tokens only, so each file
replays the answers the live run printed; a parameter value holding the user name (`C:\\psbridge\\export`
recorded as user `psbridge`) is stored scrubbed and still replays. A recording that would not replay is
refused: exit 2, one error line, no recording, and the text kept as `<name>.unverified`. A recording that
is a nested-alias bomb or a FIFO is refused with one line and exit 2, without hanging or exhausting memory.

Figures: 3 users x 2 commands + 1 scrubbed parameter recorded and replayed, 1 refused recording, 3 refused
inputs.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import error_line
from helpers import DEMO
from loopback import cli_args, endpoint, run_psbridge

from psbridge.replay import http
from psbridge.replay.cassette import Cassette, ScrubMap

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

PASSWORD = "loopback-pw-7"
EXO = ["exo", "--organization", "contoso.onmicrosoft.com", "--app-id", "6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b",
       "--certificate-thumbprint", "3A8F2C1D9E7B6A5F4C3D2E1F0A9B8C7D6E5F4A3B"]  # fmt: skip
COMMANDS = {"adsync": ["adsync", "scheduler"], "exo": [*EXO, "mailbox", "list"]}


def as_user(url: str, user: str) -> list[str]:
    return [a if a != "ci" else user for a in cli_args(url)]  # cli_args names the endpoint's user, ci


@pytest.fixture(scope="module")
def endpoint_for() -> Iterator[object]:
    """Start the endpoint for one user name at a time."""
    handle = http.Endpoints(DEMO).handle

    def start(user: str) -> object:
        return endpoint(handle, credentials=(user, PASSWORD))

    yield start


@pytest.mark.parametrize("user", ["ci", "de", "sync"])
@pytest.mark.subprocess
def test_a_recording_made_as_a_short_user_name_replays_what_the_live_run_printed(
    endpoint_for: object, tmp_path: Path, user: str
) -> None:
    with endpoint_for(user) as server:  # type: ignore[operator]
        live = {}
        for name, command in COMMANDS.items():
            record = [*as_user(server.url, user), "--record", str(tmp_path / f"{name}.yaml")]
            proc = run_psbridge(*record, "-o", "json", *command, PSBRIDGE_PASSWORD=PASSWORD)
            assert proc.returncode == 0, proc.stderr[-2000:]
            live[name] = json.loads(proc.stdout)

    for name, command in COMMANDS.items():
        path = tmp_path / f"{name}.yaml"
        text = path.read_text("utf-8")
        assert "origin: recorded" in text
        assert ("script: adsync/Get-Scheduler.ps1" in text) == (name == "adsync")
        assert ("UserPrincipalName" in text) == (name == "exo")
        assert len(Cassette.load(path).episodes) >= 1
        replayed = run_psbridge("--replay", str(path), "-o", "json", *command)
        assert replayed.returncode == 0, replayed.stderr[-2000:]
        assert json.loads(replayed.stdout) == live[name]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adsync.yaml", "exo.yaml"]


@pytest.mark.subprocess
def test_a_command_that_sends_the_user_name_replays_from_its_scrubbed_recording(
    endpoint_for: object, tmp_path: Path
) -> None:
    """As user `psbridge`, the path `C:\\psbridge\\export` the command sends is recorded scrubbed (marked
    `scrubbed`), and replaying the same command, which sends the real path, prints the recorded answer."""
    export = ["adsync", "export-config", "--path", "C:\\psbridge\\export", "--yes"]
    path = tmp_path / "export.yaml"
    with endpoint_for("psbridge") as server:  # type: ignore[operator]
        record = [*as_user(server.url, "psbridge"), "--record", str(path)]
        live = run_psbridge(*record, "-o", "json", *export, PSBRIDGE_PASSWORD=PASSWORD)
    assert live.returncode == 0, live.stderr[-2000:]
    (param,) = Cassette.load(path).episodes[0].key.statements[0].params
    assert (param.value, param.scrubbed) == ("C:\\user@example\\export", True)
    replayed = run_psbridge("--replay", str(path), "-o", "json", *export)
    assert replayed.returncode == 0, replayed.stderr[-2000:]
    # What the server answered holds the name as well (the export's folder): it replays scrubbed.
    assert json.loads(replayed.stdout) == json.loads(ScrubMap({"psbridge": "user@example"}).apply(live.stdout))
    assert "C:\\\\psbridge\\\\export" in live.stdout


def test_a_recording_that_would_not_replay_is_refused(
    endpoint_for: object,
    tmp_path: Path,
    mocker: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`psbridge --record` reads the file back before it finishes: one that would not replay (here a writer
    that loses every parameter value) is exit 2 with one line naming the command, and no recording."""
    from psbridge.cli.main import main
    from psbridge.replay.keys import Param

    mocker.patch.object(Param, "to_data", lambda self: {"name": self.name, "value": "lost"})
    monkeypatch.setenv("PSBRIDGE_PASSWORD", PASSWORD)
    path = tmp_path / "export.yaml"
    with endpoint_for("ci") as server:  # type: ignore[operator]
        code = main([*as_user(server.url, "ci"), "--record", str(path), "-o", "json", *COMMANDS["adsync"][:1],
                     "export-config", "--path", "C:\\psbridge\\export", "--yes"])  # fmt: skip
    err = capsys.readouterr().err
    errors = [error_line(e, 2) for e in map(json.loads, err.splitlines()) if e["level"] == "error"]
    assert code == 2, err[-2000:]
    assert len(errors) == 1 and "Traceback" not in err
    assert errors[0].startswith(f"psbridge: error: recording {path} does not replay: episode 1, `script adsync/")
    assert errors[0].endswith(f"the file is kept as {path}.unverified")
    assert not path.exists() and (tmp_path / "export.yaml.unverified").is_file()


def alias_bomb(size: int = 54_000) -> str:
    """A recording whose episodes are nested aliases: 9 levels, each listing the level below ~1,200 times."""
    width = size // 45
    lines = ["format_version: 1", "origin: recorded", "target: {configuration_name: Microsoft.PowerShell}",
             'l0: &l0 "lol"']  # fmt: skip
    lines += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * width)}]" for n in range(1, 10)]
    return "\n".join([*lines, "pool: *l9", "episodes: *l9"]) + "\n"


@pytest.mark.parametrize("kind", ["alias bomb", "fifo", "fifo in a directory"])
@pytest.mark.subprocess
def test_a_hostile_recording_is_one_line_and_exit_2(tmp_path: Path, kind: str) -> None:
    if kind == "alias bomb":
        target = tmp_path / "bomb.yaml"
        target.write_text(alias_bomb())
        assert target.stat().st_size >= 54_000
        expected = f"recording {target} is refused: YAML anchors and aliases are not accepted"
    else:
        fifo = tmp_path / "odd.yaml"
        os.mkfifo(fifo)
        target = tmp_path if kind == "fifo in a directory" else fifo
        expected = f"recording {fifo} is not a regular file (a FIFO)"
    started = time.monotonic()
    proc = run_psbridge("--replay", str(target), "adsync", "scheduler", timeout=60)
    elapsed = time.monotonic() - started
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and error_line(json.loads(lines[0]), 2).startswith(f"psbridge: error: {expected}"), lines
    # Unbounded, the bomb took 41 s and 3 GB before a MemoryError, and a FIFO blocked forever.
    assert elapsed < 30
