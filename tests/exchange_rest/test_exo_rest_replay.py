"""Exchange Online REST record and replay through psbridge.replay.graph_http's cassette (`<recordings>/exo-rest/`),
and sign-in for the REST endpoint's audience. The "live" service is a fake transport: SYNTHETIC answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from exo_rest_fakes import BASE, TENANT, TOKEN, FakeExo

from psbridge import errors
from psbridge.exchange.rest.client import RECORDINGS_DIR, ExoRestClient, recorded_tenant
from psbridge.graph.auth import GraphCredentials, MsalTokenProvider, StaticTokenProvider
from psbridge.replay.graph_http import GraphCassette

PAGE_1 = {
    "json": {
        "value": [{"Identity": "u1", "Guid@odata.type": "#Guid", "Guid": "g1"}],
        "@odata.nextLink": f"{BASE}/adminapi/beta/{TENANT}/InvokeCommand?%24skiptoken=2",
    }
}
PAGE_2 = {"json": {"value": [{"Identity": "u2", "Guid": "g2"}], "@adminapi.warnings": ["w"]}}
SET = {"json": {"value": []}, "headers": {"Rate-Limit-Remaining": "9", "Rate-Limit-Reset": "1"}}


def record(path: Path, *replies: dict[str, Any]) -> list[Any]:
    """Run a listing and a write live (on the fake) while recording into `path`; what they returned."""
    live = FakeExo(*replies)
    tokens = StaticTokenProvider(TOKEN)
    cassette = GraphCassette(path, mode="once", secrets=tokens.secrets, subdir=RECORDINGS_DIR, live=live)
    with ExoRestClient(tokens, tenant_id=TENANT, transport=cassette) as client:
        listing = client.invoke(
            "Get-Mailbox", {"ResultSize": "Unlimited"}, select=["Identity", "Guid"], idempotent=True
        )
        change = client.invoke("Set-Mailbox", {"Identity": "u1", "IsExchangeCloudManaged": True}, idempotent=False)
    assert len(live.seen) == 3
    return [listing, change]


def test_record_then_replay_round_trip_with_no_secret_in_the_cassette(tmp_path: Path) -> None:
    file = tmp_path / "recordings" / RECORDINGS_DIR / "mailboxes.yaml"
    live = record(file, PAGE_1, PAGE_2, SET)

    text = file.read_text()
    assert TOKEN not in text and "Bearer" not in text and "Authorization" not in text
    assert "client-request-id" not in text and "connection-id" not in text
    assert "X-CmdletName" in text and "origin: recorded" in text

    with ExoRestClient.replay(tmp_path / "recordings", tenant_id=TENANT) as client:
        listing = client.invoke(
            "Get-Mailbox", {"ResultSize": "Unlimited"}, select=["Identity", "Guid"], idempotent=True
        )
        change = client.invoke("Set-Mailbox", {"Identity": "u1", "IsExchangeCloudManaged": True}, idempotent=False)
        assert [listing, change] == live
        assert listing.rows == ({"Identity": "u1", "Guid": "g1"}, {"Identity": "u2", "Guid": "g2"})
        with pytest.raises(errors.ReplayExhaustedError):
            client.invoke("Set-Mailbox", {"Identity": "u1", "IsExchangeCloudManaged": True}, idempotent=False)


def test_the_recorded_tenant_is_read_from_the_cassettes(tmp_path: Path) -> None:
    assert recorded_tenant(tmp_path) is None
    record(tmp_path / RECORDINGS_DIR / "one.yaml", PAGE_1, PAGE_2, SET)
    assert recorded_tenant(tmp_path) == TENANT


def test_a_miss_names_the_request_and_the_nearest(tmp_path: Path) -> None:
    file = tmp_path / "one.yaml"
    record(file, PAGE_1, PAGE_2, SET)
    with ExoRestClient.replay(file, tenant_id=TENANT) as client, pytest.raises(errors.ReplayMissError) as caught:
        client.invoke("Set-Mailbox", {"Identity": "u9"}, idempotent=False)
    assert '"Identity":"u9"' in str(caught.value) and "nearest recorded" in str(caught.value)


def test_an_answer_echoing_the_token_is_never_written(tmp_path: Path) -> None:
    file = tmp_path / "echo.yaml"
    echo = {"json": {"value": [{"Note": f"Bearer {TOKEN}"}]}}
    with pytest.raises(errors.RecordingSecretError):
        record(file, echo, echo, echo)
    assert not file.exists()


def test_a_recordings_directory_without_rest_cassettes_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "graph").mkdir()
    with pytest.raises(errors.RecordingFormatError, match="no Exchange Online REST recording"):
        ExoRestClient.replay(tmp_path, tenant_id=TENANT)


def test_sign_in_asks_for_the_exchange_online_audience_and_caches_the_token(tmp_path: Path) -> None:
    asked: list[list[str]] = []

    class App:
        def acquire_token_for_client(self, scopes: list[str]) -> dict[str, Any]:
            asked.append(scopes)
            return {"access_token": "exo-token-1", "expires_in": 3600}

    credentials = GraphCredentials.build(tenant_id=TENANT, client_id="00000000-0000-0000-0000-00000000c0de")
    tokens = MsalTokenProvider(
        credentials,
        environ={"PSBRIDGE_GRAPH_CLIENT_SECRET": "s3cret-value"},
        app_factory=lambda *a, **k: App(),
        scope=f"{BASE}/.default",
    )
    graph = MsalTokenProvider(
        credentials, environ={"PSBRIDGE_GRAPH_CLIENT_SECRET": "s3cret-value"}, app_factory=lambda *a, **k: App()
    )

    assert tokens.token() == tokens.token() == "exo-token-1"
    graph.token()
    assert asked == [["https://outlook.office365.com/.default"], ["https://graph.microsoft.com/.default"]]
