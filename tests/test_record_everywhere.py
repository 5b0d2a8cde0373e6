"""`--record` is honoured by every command that opens sessions: the runbooks and `config check` as much as a
command group's own session, because one factory (`psbridge.targets.Targets`) opens them all.

The demo's recordings are served as live hosts on a loopback WinRM endpoint; a run recorded from them must
write one scrubbed recording per target that, replayed, gives the same answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import DEMO
from loopback import PASSWORD, endpoint, port_of

from psbridge.replay import http
from psbridge.replay.cassette import Cassette

LIVE_USER = "svc-recorder"  # not `ci`: scrubbing replaces the user name wherever it stands as a word


@pytest.fixture
def live_demo() -> Iterator[str]:
    with endpoint(http.Endpoints(DEMO).handle, credentials=(LIVE_USER, PASSWORD)) as server:
        yield server.url


def _target(name: str, url: str, extra: str = "") -> str:
    return (
        f'[targets.{name}]\nhost = "127.0.0.1"\nport = {port_of(url)}\nauth = "basic"\ntls = false\n'
        f'encryption = "never"\nusername = "{LIVE_USER}"\n{extra}'
    )


def _exo_sign_in() -> str:
    source = yaml.safe_load((DEMO.parent / "sources/demo/exo.yaml").read_text(encoding="utf-8"))
    connect = next(e for e in source["episodes"] if e.get("command") == "Connect-ExchangeOnline")
    values = {p["name"]: p["value"] for p in connect["parameters"]}
    return (
        f'organization = "{values["Organization"]}"\napp_id = "{values["AppId"]}"\n'
        f'certificate_thumbprint = "{values["CertificateThumbprint"]}"\n'
    )


def _recorded(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.suffix == ".yaml")


def _checks(result: Any) -> list[tuple[str, str]]:
    return [(c["name"], c["status"]) for c in result.json()["checks"]]


def test_a_runbook_records_every_target_it_reads(
    cli: Any, write_config: Callable[..., Path], live_demo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(
        _target("connect", live_demo)
        + _target("exo", live_demo, _exo_sign_in())
        + _target("exchange", live_demo, 'configuration_name = "Microsoft.Exchange"\npath = "PowerShell"\n')
    )
    monkeypatch.setenv("PSBRIDGE_PASSWORD", PASSWORD)
    out = tmp_path / "recorded"

    live = cli("--config", config, "--record", out, "-o", "json", "check", "cloud-managed-readiness",
               "--as-of", "2026-11-01")  # fmt: skip

    assert live.code == 1, live  # the demo organization is not ready: WARN
    assert _recorded(out) == ["connect.yaml", "exchange.yaml", "exo.yaml"]
    for path in out.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        assert Cassette.load(path).origin == "recorded"
        assert PASSWORD not in text and LIVE_USER not in text and "127.0.0.1" not in text
    replayed = cli("--config", config, "--replay", out, "-o", "json", "check", "cloud-managed-readiness",
                   "--as-of", "2026-11-01")  # fmt: skip
    assert replayed.code == 1, replayed
    assert _checks(replayed) == _checks(live)


def test_config_check_records_every_target_it_probes(
    cli: Any, write_config: Callable[..., Path], live_demo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(_target("connect", live_demo) + _target("dc", live_demo))
    monkeypatch.setenv("PSBRIDGE_PASSWORD", PASSWORD)
    out = tmp_path / "recorded"

    result = cli("--config", config, "--record", out, "-o", "json", "config", "check")

    assert result.code == 0, result
    assert _recorded(out) == ["connect.yaml", "dc.yaml"]
    episodes = yaml.safe_load((out / "dc.yaml").read_text(encoding="utf-8"))["episodes"]
    assert [e["key"] for e in episodes] == [[{"command": "Select-Object"}]]  # the probe, and nothing else


def test_one_recording_file_for_several_targets_is_refused_in_one_line(
    cli: Any, write_config: Callable[..., Path], live_demo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(_target("connect", live_demo) + _target("dc", live_demo))
    monkeypatch.setenv("PSBRIDGE_PASSWORD", PASSWORD)

    result = cli("--config", config, "--record", tmp_path / "one.yaml", "config", "check")

    line = result.one_line_error(2)
    assert "records one session" in line and "record to a directory" in line
    assert not (tmp_path / "one.yaml").exists()
