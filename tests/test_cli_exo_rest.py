"""`psbridge exo --via rest ...`: Exchange Online over REST, chosen by option, environment or config target.

The demo's REST cassette (recorded_sessions/demo/exo-rest/, scripts/make_rest_demo.py) answers what the
jump-host recordings answer. A recordings folder holding only that cassette proves the REST backend was the
one used: the jump host has nothing recorded there.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from helpers import DEMO
from pytest_mock import MockerFixture

from psbridge.exchange.rest.client import RECORDINGS_DIR, ExoRestClient


@pytest.fixture
def rest_only(tmp_path: Path) -> Path:
    """The demo's REST cassette alone: a run that asked the jump host would find nothing."""
    shutil.copytree(DEMO / RECORDINGS_DIR, tmp_path / RECORDINGS_DIR)
    return tmp_path


def test_via_rest_lists_what_the_jump_host_lists(cli: Any) -> None:
    over_psrp = cli("--replay", DEMO, "-o", "json", "exo", "mailbox", "list")
    over_rest = cli("--replay", DEMO, "-o", "json", "exo", "--via", "rest", "mailbox", "list")
    assert over_psrp.code == over_rest.code == 0
    assert over_rest.json() == over_psrp.json() and len(over_rest.json()) == 4


@pytest.mark.parametrize("how", ["option", "environment", "config"])
def test_the_backend_is_chosen_by_option_environment_or_target(
    cli: Any, rest_only: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    args: list[Any] = ["--replay", rest_only, "-o", "json"]
    if how == "environment":
        monkeypatch.setenv("PSBRIDGE_EXO_VIA", "rest")
    if how == "config":
        config = tmp_path / "psbridge.toml"
        config.write_text('[targets.exo]\nvia = "rest"\n', encoding="utf-8")
        args = ["--config", config, *args]
    result = cli(*args, "exo", *(["--via", "rest"] if how == "option" else []), "mailbox", "get",
                 "--identity", "adele@contoso.example")  # fmt: skip
    assert result.code == 0, result
    assert result.json()["user_principal_name"] == "adele@contoso.example"


def test_without_rest_chosen_the_jump_host_is_asked(cli: Any, rest_only: Path) -> None:
    """The default stays the jump host: the REST-only folder has nothing for it (exit 2, one line)."""
    result = cli("--replay", rest_only, "exo", "mailbox", "get", "--identity", "adele@contoso.example")
    assert result.code == 2 and "no recordings" in result.err


def test_a_dry_run_over_rest_sends_no_write(cli: Any, mocker: MockerFixture) -> None:
    spy = mocker.spy(ExoRestClient, "invoke")
    result = cli("--replay", DEMO, "-o", "json", "exo", "--via", "rest", "cloud-managed", "set",
                 "--identity", "alex@contoso.example", "--enable", "--dry-run")  # fmt: skip
    assert result.code == 0 and result.json()["would_change"] is True
    assert [call.args[1] for call in spy.call_args_list] == ["Get-Mailbox"]


def test_a_runbook_reads_exchange_online_over_rest_when_the_exo_target_says_so(
    cli: Any, rest_only: Path, tmp_path: Path
) -> None:
    """`via = "rest"` on the exo target: the runbooks' Exchange Online reads go over REST (Targets.exchange_online)."""
    config = tmp_path / "psbridge.toml"
    config.write_text('[targets.exo]\nvia = "rest"\n', encoding="utf-8")
    result = cli("--config", config, "--replay", rest_only, "-o", "json", "diagnose", "routing-domain")
    assert result.code == 0, result
    (domain, _) = result.json()["checks"]
    assert domain["status"] == "pass" and domain["target"] == "exo: outlook.office365.com/contoso.onmicrosoft.com"


def test_live_the_rest_client_signs_in_as_the_graph_app_for_exchange_online(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No replay: the client's tokens are the Graph app's, for Exchange Online's audience, for the exo target's
    tenant; without the app's credentials, one line says what is missing."""
    from psbridge.config import load_config
    from psbridge.errors import InputError
    from psbridge.targets import Targets

    config = tmp_path / "psbridge.toml"
    config.write_text('[targets.exo]\nvia = "rest"\norganization = "fabrikam.onmicrosoft.com"\n', encoding="utf-8")
    for name in ("PSBRIDGE_GRAPH_TENANT_ID", "PSBRIDGE_GRAPH_CLIENT_ID", "PSBRIDGE_GRAPH_CERTIFICATE"):
        monkeypatch.delenv(name, raising=False)
    with Targets(load_config(config), prompt=False) as targets, pytest.raises(InputError, match="Graph app's"):
        targets.exchange_online()
    monkeypatch.setenv("PSBRIDGE_GRAPH_TENANT_ID", "contoso.onmicrosoft.com")
    monkeypatch.setenv("PSBRIDGE_GRAPH_CLIENT_ID", "6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b")
    monkeypatch.setenv("PSBRIDGE_GRAPH_CLIENT_SECRET", "not-a-real-secret")
    with Targets(load_config(config), prompt=False) as targets:
        client = targets.exchange_online()
        assert isinstance(client, ExoRestClient) and client is targets.exchange_online()
        assert client.tenant_id == "fabrikam.onmicrosoft.com"
        assert client.tokens.scope == "https://outlook.office365.com/.default"  # type: ignore[attr-defined]
