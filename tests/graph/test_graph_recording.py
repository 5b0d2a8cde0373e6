"""Graph HTTP cassettes: record from a loopback Graph, replay without it, scrub, refuse, author.

Recording runs vcrpy for real against `graph_server` (a real socket); replay then runs with the server
answering nothing new, so every replayed answer provably came from the file.
"""

from __future__ import annotations

import base64
import json
import os
import socket
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
import urllib3.connectionpool
import yaml

from psbridge import errors
from psbridge.graph.auth import StaticTokenProvider
from psbridge.graph.client import GraphClient
from psbridge.graph.recording import GRAPH_DIR, author_graph_cassette, graph_cassette, has_graph_recordings

JOBS = "/servicePrincipals/sp-1/synchronization/jobs"
JOB_ID = "AD2AADProvisioning.fd1c9b9e8077402c8bc03a7186c8f976"
JOB = {"id": JOB_ID, "templateId": "AD2AADProvisioning", "schedule": {"interval": "PT2M", "state": "Active"}}
SECRET = "notify-secret-Yx81"  # a value the tests treat as a known secret
UNPATCHED = urllib3.connectionpool.HTTPConnectionPool.ConnectionCls


def script_graph(server: Any) -> None:
    base = f"{server.url}/v1.0{JOBS}"
    server.reply("GET", f"/v1.0{JOBS}", {"json": {"value": [JOB], "@odata.nextLink": f"{base}?$skiptoken=2"}})
    server.reply("GET", f"/v1.0{JOBS}?$skiptoken=2", {"json": {"value": [{**JOB, "id": "AD2AADPasswordHash.0f"}]}})
    server.reply("GET", "/v1.0/servicePrincipals", {"json": {"value": [{"id": "sp-1"}]}})
    server.reply("POST", f"/v1.0{JOBS}/{JOB_ID}/restart", {"status": 204})


def exercise(client: GraphClient) -> list[Any]:
    """The same calls, recorded or replayed."""
    return [
        [job["id"] for job in client.get_all(JOBS)],
        client.get("/servicePrincipals", params={"$filter": "applicationTemplateId eq '1a4721b3'"}),
        client.post(f"{JOBS}/{JOB_ID}/restart", {"criteria": {"resetScope": "Watermark, Escrows"}}),
    ]


def test_record_then_replay_round_trip(graph_server: Any, tmp_path: Path) -> None:
    script_graph(graph_server)
    cassette = tmp_path / "graph.yaml"
    tokens = StaticTokenProvider("live-token-abc123-xyz")

    with (
        graph_cassette(cassette, mode="once", secrets=tokens.secrets),
        GraphClient(tokens, graph_url=graph_server.url) as client,
    ):
        recorded = exercise(client)
    reached = graph_server.count()

    with graph_cassette(cassette), GraphClient(StaticTokenProvider(), graph_url=graph_server.url) as client:
        replayed = exercise(client)

    assert (
        recorded
        == replayed
        == [
            ["AD2AADProvisioning.fd1c9b9e8077402c8bc03a7186c8f976", "AD2AADPasswordHash.0f"],
            {"value": [{"id": "sp-1"}]},
            None,
        ]
    )
    assert reached == 4 and graph_server.count() == 4  # replay never reached the server
    text = cassette.read_text()
    data = yaml.safe_load(text)
    assert data["origin"] == "recorded" and len(data["interactions"]) == 4
    assert "live-token-abc123-xyz" not in text and "authorization" not in text.lower() and "bearer" not in text.lower()
    assert all(set(i["request"]["headers"]) <= {"Accept", "Content-Type"} for i in data["interactions"])
    assert has_graph_recordings(cassette)


def test_token_fields_are_scrubbed_at_record_time(graph_server: Any, tmp_path: Path) -> None:
    graph_server.reply(
        "POST",
        "/v1.0/applications/app-1/addPassword",
        {"json": {"secretText": "shown-once", "access_token": SECRET, "nested": [{"refresh_token": SECRET}]}},
    )
    cassette = tmp_path / "graph.yaml"

    with (
        graph_cassette(cassette, mode="once", secrets=[SECRET]),
        GraphClient(StaticTokenProvider(), graph_url=graph_server.url) as client,
    ):
        live = client.post("/applications/app-1/addPassword", {"client_secret": SECRET, "keep": "me"})
    assert live is not None and live["access_token"] == SECRET  # the caller still gets the real answer

    text = cassette.read_text()
    assert SECRET not in text
    [interaction] = yaml.safe_load(text)["interactions"]
    assert json.loads(interaction["request"]["body"]) == {"client_secret": "<redacted>", "keep": "me"}
    assert json.loads(interaction["response"]["body"]["string"]) == {
        "secretText": "shown-once",
        "access_token": "<redacted>",
        "nested": [{"refresh_token": "<redacted>"}],
    }
    # The scrubbed request still matches on replay: scrubbing applies to both sides.
    with graph_cassette(cassette), GraphClient(StaticTokenProvider(), graph_url=graph_server.url) as client:
        assert client.post("/applications/app-1/addPassword", {"keep": "me", "client_secret": SECRET}) is not None


@pytest.mark.parametrize(
    ("secret", "echo"),
    [
        (SECRET, SECRET),
        (SECRET, base64.b64encode(SECRET.encode()).decode()),
        ("Pw/with+specials=Yx81", quote("Pw/with+specials=Yx81", safe="")),
    ],
    ids=["plain", "base64", "url-encoded"],
)
def test_a_surviving_secret_refuses_the_write_and_leaves_no_file(
    graph_server: Any, tmp_path: Path, secret: str, echo: str
) -> None:
    assert secret not in echo or secret == echo
    graph_server.reply("GET", "/v1.0/organization", {"json": {"value": [{"note": echo}]}})
    cassette = tmp_path / "graph.yaml"

    with (
        pytest.raises(errors.RecordingSecretError) as caught,
        graph_cassette(cassette, mode="once", secrets=[secret]),
        GraphClient(StaticTokenProvider(), graph_url=graph_server.url) as client,
    ):
        client.get("/organization")

    assert not cassette.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file either
    assert secret not in str(caught.value) and caught.value.exit_code == 2
    # vcrpy's patches are off again (a persister raising inside vcrpy's exit would have left them on)
    assert urllib3.connectionpool.HTTPConnectionPool.ConnectionCls is UNPATCHED


def test_a_refused_write_does_not_hide_the_error_of_the_block(graph_server: Any, tmp_path: Path) -> None:
    graph_server.reply(
        "GET", "/v1.0/organization", {"status": 404, "json": {"error": {"code": "x", "message": SECRET}}}
    )
    cassette = tmp_path / "graph.yaml"

    with (
        pytest.raises(errors.GraphNotFoundError),
        graph_cassette(cassette, mode="once", secrets=["unrelated-value", SECRET]),
        GraphClient(StaticTokenProvider(), graph_url=graph_server.url) as client,
    ):
        client.get("/organization")
    assert not cassette.exists()
    assert urllib3.connectionpool.HTTPConnectionPool.ConnectionCls is UNPATCHED


def test_a_live_secrets_list_is_read_at_write_time(graph_server: Any, tmp_path: Path) -> None:
    """A TokenProvider's `secrets` grows as tokens arrive: the token got inside the block is checked."""
    acquired: list[str] = []
    graph_server.reply("GET", "/v1.0/organization", {"json": {"value": [{"echo": "late-token-77881"}]}})

    with (
        pytest.raises(errors.RecordingSecretError),
        graph_cassette(tmp_path / "g.yaml", mode="once", secrets=acquired),
        GraphClient(StaticTokenProvider(), graph_url=graph_server.url) as client,
    ):
        acquired.append("late-token-77881")
        client.get("/organization")


def test_a_miss_names_the_request_and_the_nearest(graph_server: Any, tmp_path: Path) -> None:
    script_graph(graph_server)
    cassette = tmp_path / "graph.yaml"
    with (
        graph_cassette(cassette, mode="once"),
        GraphClient(StaticTokenProvider(), graph_url=graph_server.url) as client,
    ):
        exercise(client)
    before = graph_server.count()

    with (  # raised at the request, inside the block, where callers can catch it
        graph_cassette(cassette),
        GraphClient(StaticTokenProvider(), graph_url=graph_server.url) as client,
        pytest.raises(errors.ReplayMissError) as caught,
    ):
        client.post(f"{JOBS}/{JOB_ID}/restart", {"criteria": {"resetScope": "Full"}})

    text = str(caught.value)
    assert text.startswith(
        f'no recorded Graph response for `POST /v1.0{JOBS}/{JOB_ID}/restart {{"criteria":{{"resetScope":"Full"}}}}`'
    )
    assert (
        f'nearest recorded: `POST /v1.0{JOBS}/{JOB_ID}/restart {{"criteria":{{"resetScope":"Watermark, Escrows"}}}}`'
        in text
    )
    assert "\n" not in text and caught.value.exit_code == 2
    assert graph_server.count() == before  # a miss never falls through to the network


def test_nothing_is_served_twice(graph_server: Any, tmp_path: Path) -> None:
    graph_server.reply("GET", "/v1.0/organization", {"json": {"value": []}})
    cassette = tmp_path / "graph.yaml"
    with (
        graph_cassette(cassette, mode="once"),
        GraphClient(StaticTokenProvider(), graph_url=graph_server.url) as client,
    ):
        client.get("/organization")

    with graph_cassette(cassette), GraphClient(StaticTokenProvider(), graph_url=graph_server.url) as client:
        client.get("/organization")
        with pytest.raises(errors.ReplayExhaustedError, match="already played"):
            client.get("/organization")


def test_the_sign_in_host_is_never_recorded(graph_server: Any, tmp_path: Path) -> None:
    graph_server.reply("POST", "/tenant-1/oauth2/v2.0/token", {"json": {"access_token": "t"}})
    graph_server.reply("GET", "/v1.0/organization", {"json": {"value": []}})
    cassette = tmp_path / "graph.yaml"
    port = graph_server.url.rsplit(":", 1)[1]

    with graph_cassette(cassette, mode="once", authority_hosts=[f"http://localhost:{port}"]):
        requests.post(
            f"http://localhost:{port}/tenant-1/oauth2/v2.0/token", data={"grant_type": "client_credentials"}, timeout=5
        )
        with GraphClient(StaticTokenProvider(), graph_url=graph_server.url) as client:
            client.get("/organization")

    uris = [i["request"]["uri"] for i in yaml.safe_load(cassette.read_text())["interactions"]]
    assert uris == [f"{graph_server.url}/v1.0/organization"]
    assert graph_server.count("POST") == 1


# -- synthetic cassettes -------------------------------------------------------------------------------


SOURCE = {
    "origin": "synthetic",
    "description": "one Cloud Sync job, and a restart",
    "interactions": [
        {
            "request": {"method": "GET", "path": JOBS},
            "response": {"status": 200, "json": {"value": [JOB]}, "headers": {"request-id": "rq-1"}},
        },
        {
            "request": {
                "method": "POST",
                "path": f"{JOBS}/{JOB_ID}/restart",
                "body": {"criteria": {"resetScope": "Watermark, Escrows, QuarantineState"}},
            },
            "response": {"status": 204},
        },
        {
            "request": {
                "method": "GET",
                "path": "/servicePrincipals",
                "query": {"$filter": "applicationTemplateId eq '1a4721b3-e57f-4451-ae87-ef078703ec94'"},
            },
            "response": {"json": {"value": [{"id": "sp-1"}]}},
        },
    ],
}


def test_a_synthetic_cassette_replays_through_vcrpy(tmp_path: Path) -> None:
    folder = tmp_path / GRAPH_DIR
    folder.mkdir()
    text = author_graph_cassette(SOURCE)
    (folder / "cloudsync.yaml").write_text(text)
    data = yaml.safe_load(text)
    assert data["origin"] == "synthetic" and data["description"] == SOURCE["description"]

    with graph_cassette(tmp_path), GraphClient(StaticTokenProvider()) as client:  # graph.microsoft.com, no network
        assert list(client.get_all(JOBS)) == [JOB]
        # JSON bodies match whatever the key order and spacing
        assert (
            client.post(f"{JOBS}/{JOB_ID}/restart", {"criteria": {"resetScope": "Watermark, Escrows, QuarantineState"}})
            is None
        )
        odata_filter = {"$filter": "applicationTemplateId eq '1a4721b3-e57f-4451-ae87-ef078703ec94'"}
        assert client.get("/servicePrincipals", params=odata_filter) == {"value": [{"id": "sp-1"}]}
    assert has_graph_recordings(tmp_path)


def test_a_directory_serves_all_its_graph_cassettes(tmp_path: Path) -> None:
    folder = tmp_path / GRAPH_DIR
    folder.mkdir()
    first, second = dict(SOURCE), dict(SOURCE)
    first["interactions"], second["interactions"] = SOURCE["interactions"][:1], SOURCE["interactions"][2:]
    (folder / "a.yaml").write_text(author_graph_cassette(first))
    (folder / "b.yaml").write_text(author_graph_cassette(second))

    with graph_cassette(tmp_path), GraphClient(StaticTokenProvider()) as client:
        assert list(client.get_all(JOBS)) == [JOB]
        assert client.get(
            "/servicePrincipals", params={"$filter": "applicationTemplateId eq '1a4721b3-e57f-4451-ae87-ef078703ec94'"}
        )


def test_a_cassette_without_origin_is_refused(tmp_path: Path) -> None:
    data = yaml.safe_load(author_graph_cassette(SOURCE))
    del data["origin"]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))

    with pytest.raises(errors.RecordingFormatError, match="no `origin`"), graph_cassette(path):
        pass


def test_authoring_refuses_a_source_not_marked_synthetic() -> None:
    with pytest.raises(errors.RecordingFormatError, match="origin: synthetic"):
        author_graph_cassette({**SOURCE, "origin": "recorded"})


def test_replay_without_a_recording_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(errors.RecordingFormatError, match="no Graph recording"), graph_cassette(tmp_path):
        pass


def test_has_graph_recordings(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    assert not has_graph_recordings(tmp_path)
    assert not has_graph_recordings(repo / "recorded_sessions" / "demo" / "adsync.yaml")  # a PSRP recording
    assert not has_graph_recordings(tmp_path / "absent")


# -- sign-in traffic, whatever the authority host; a written cassette that would not replay ----------------

NATIONAL_CLOUDS = ["login.microsoftonline.us", "login.chinacloudapi.cn", "login.partner.microsoftonline.cn"]
CUSTOM_AUTHORITY = "sts.contoso.example"


@pytest.mark.parametrize("authority", [*NATIONAL_CLOUDS, CUSTOM_AUTHORITY])
def test_sign_in_to_any_authority_is_never_recorded(
    graph_server: Any, tmp_path: Path, mocker: Any, authority: str
) -> None:
    """MSAL's exchange with a national-cloud (or custom) authority, which the cassette was not told about:
    instance discovery, the OpenID configuration and the token request carrying the client secret. None
    of it is recorded; the Graph call after it is."""
    port = graph_server.url.rsplit(":", 1)[1]
    real = socket.getaddrinfo
    mocker.patch(
        "socket.getaddrinfo",
        side_effect=lambda host, *a, **k: real("127.0.0.1" if host == authority else host, *a, **k),
    )
    base = f"http://{authority}:{port}"
    token = {"token_type": "Bearer", "expires_in": 3599, "access_token": "national-token-Qz71"}
    graph_server.reply("GET", "/common/discovery/instance", {"json": {"metadata": []}})
    graph_server.reply("GET", "/tenant-1/v2.0/.well-known/openid-configuration", {"json": {"token_endpoint": "x"}})
    graph_server.reply("POST", "/tenant-1/oauth2/v2.0/token", {"json": token})
    graph_server.reply("POST", "/adfs/issue", {"json": token})
    graph_server.reply("GET", "/v1.0/organization", {"json": {"value": []}})
    cassette = tmp_path / "graph.yaml"

    with graph_cassette(cassette, mode="once", secrets=[SECRET]):  # the default authority host only
        requests.get(f"{base}/common/discovery/instance", params={"api-version": "1.1"}, timeout=5)
        requests.get(f"{base}/tenant-1/v2.0/.well-known/openid-configuration", timeout=5)
        form = {"client_id": "c-1", "grant_type": "client_credentials", "client_secret": SECRET, "scope": "x/.default"}
        requests.post(f"{base}/tenant-1/oauth2/v2.0/token", data=form, timeout=5)
        # A custom token endpoint is recognised by its body: an OAuth token request.
        requests.post(f"{base}/adfs/issue", data={"client_assertion": "eyJ.x.y", "scope": "x"}, timeout=5)
        with GraphClient(StaticTokenProvider(), graph_url=graph_server.url) as client:
            client.get("/organization")

    text = cassette.read_text()
    uris = [i["request"]["uri"] for i in yaml.safe_load(text)["interactions"]]
    assert uris == [f"{graph_server.url}/v1.0/organization"]
    assert authority not in text and "national-token-Qz71" not in text and SECRET not in text
    assert graph_server.count() == 5  # the sign-in requests went to the network, unrecorded


def test_a_graph_cassette_that_would_not_replay_is_refused_and_kept_aside(
    graph_server: Any, tmp_path: Path, mocker: Any
) -> None:
    """The written file is read back; a request that would not find its answer refuses the write (here the
    read-back is made to differ, as a serializer that lost part of a URL would)."""
    from psbridge.graph import recording

    graph_server.reply("GET", "/v1.0/organization", {"json": {"value": []}})
    cassette = tmp_path / "graph.yaml"
    read_back = recording._Store.deserialize

    def lossy(store: Any, text: str) -> dict[str, Any]:
        data = read_back(store, text)
        for interaction in data["interactions"]:
            interaction["request"]["uri"] = interaction["request"]["uri"].replace("organization", "organisation")
        return data

    with (
        pytest.raises(errors.RecordingFormatError) as caught,
        graph_cassette(cassette, mode="once"),
        GraphClient(StaticTokenProvider(), graph_url=graph_server.url) as client,
    ):
        mocker.patch.object(recording._Store, "deserialize", lossy)  # after the block has opened the cassette
        client.get("/organization")

    message = str(caught.value)
    assert "\n" not in message and caught.value.exit_code == 2
    assert message.startswith(f"Graph recording {cassette} does not replay: request 1, `GET /v1.0/organization`")
    assert message.endswith(f"the file is kept as {cassette}.unverified")
    assert not cassette.exists()
    assert "/v1.0/organization" in (tmp_path / "graph.yaml.unverified").read_text()
    assert urllib3.connectionpool.HTTPConnectionPool.ConnectionCls is UNPATCHED


def test_a_graph_cassette_with_aliases_or_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / GRAPH_DIR
    folder.mkdir()
    aliased = yaml.safe_load(author_graph_cassette(SOURCE))
    text = yaml.safe_dump(aliased).replace("origin: synthetic", "origin: &o synthetic\nagain: *o")
    (folder / "a.yaml").write_text(text)
    with (
        pytest.raises(errors.RecordingFormatError, match="YAML anchors and aliases are not accepted"),
        graph_cassette(tmp_path),
    ):
        pass
    assert not has_graph_recordings(folder / "a.yaml")
    (folder / "a.yaml").unlink()
    os.mkfifo(folder / "b.yaml")
    with (
        pytest.raises(errors.RecordingFormatError, match=r"b.yaml is not a regular file \(a FIFO\)"),
        graph_cassette(tmp_path),
    ):
        pass
