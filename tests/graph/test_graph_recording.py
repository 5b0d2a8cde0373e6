"""Graph HTTP cassettes as a transport adapter: record from a loopback Graph, replay without it, record
modes, scrub, refuse, author.

Recording goes to `graph_server` (a real socket) through GraphClient.record; replay then runs with the
server answering nothing new, so every replayed answer provably came from the file. Nothing is patched
process-wide: other sessions keep the network while a cassette is open.
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
from psbridge.graph.auth import GraphCredentials, MsalTokenProvider, StaticTokenProvider
from psbridge.graph.client import GraphClient
from psbridge.replay import graph_http
from psbridge.replay.graph_http import GRAPH_DIR, GraphCassette, author_graph_cassette, has_graph_recordings

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


class Tokens:
    """A token provider whose `secrets` is a live list, as MsalTokenProvider's."""

    def __init__(self, *secrets: str) -> None:
        self.secrets = ["live-token-abc123-xyz", *secrets]

    def token(self, *, timeout: float | None = None) -> str:
        return self.secrets[0]


def record(server: Any, cassette: Path, secrets: tuple[str, ...] = (), **kwargs: Any) -> GraphClient:
    return GraphClient.record(cassette, Tokens(*secrets), graph_url=server.url, timeout=5.0, **kwargs)


def replay(server: Any, cassette: Path) -> GraphClient:
    return GraphClient.replay(cassette, graph_url=server.url, timeout=5.0)


def uris(cassette: Path) -> list[str]:
    return [i["request"]["uri"] for i in yaml.safe_load(cassette.read_text())["interactions"]]


def test_record_then_replay_round_trip(graph_server: Any, tmp_path: Path) -> None:
    script_graph(graph_server)
    cassette = tmp_path / "graph.yaml"

    with record(graph_server, cassette) as client:
        recorded = exercise(client)
        assert not cassette.exists()  # written when the client closes
    reached = graph_server.count()

    with replay(graph_server, cassette) as client:
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


# -- the record modes, PSRP's ------------------------------------------------------------------------------


def organization(server: Any, name: str) -> None:
    server.reply("GET", "/v1.0/organization", {"json": {"value": [{"displayName": name}]}})


def names(client: GraphClient) -> str:
    return str(client.get("/organization")["value"][0]["displayName"])


def test_once_records_when_there_is_no_file_and_replays_when_there_is(graph_server: Any, tmp_path: Path) -> None:
    cassette = tmp_path / "graph.yaml"
    organization(graph_server, "first")
    with record(graph_server, cassette, mode="once") as client:
        assert names(client) == "first"
    organization(graph_server, "second")

    with record(graph_server, cassette, mode="once") as client:
        assert names(client) == "first"  # from the file
        with pytest.raises(errors.ReplayMissError):
            client.get("/domains")  # the file exists: nothing new is recorded
    assert graph_server.count() == 1 and uris(cassette) == [f"{graph_server.url}/v1.0/organization"]


def test_new_episodes_replays_what_is_recorded_and_adds_the_rest(graph_server: Any, tmp_path: Path) -> None:
    cassette = tmp_path / "graph.yaml"
    organization(graph_server, "first")
    with record(graph_server, cassette, mode="once") as client:
        names(client)
    organization(graph_server, "second")
    graph_server.reply("GET", "/v1.0/domains", {"json": {"value": [{"id": "contoso.example"}]}})

    with record(graph_server, cassette, mode="new_episodes") as client:
        assert names(client) == "first"  # recorded: served from the file
        assert names(client) == "second"  # its one recorded answer is used up: asked live, and added
        assert client.get("/domains")["value"] == [{"id": "contoso.example"}]

    assert graph_server.count() == 3
    with replay(graph_server, cassette) as client:
        assert [names(client), names(client), client.get("/domains")["value"][0]["id"]] == [
            "first", "second", "contoso.example",
        ]  # fmt: skip


def test_rewrite_asks_everything_live_and_replaces_the_file(graph_server: Any, tmp_path: Path) -> None:
    cassette = tmp_path / "graph.yaml"
    organization(graph_server, "first")
    with record(graph_server, cassette, mode="once") as client:
        names(client)
    organization(graph_server, "second")

    with record(graph_server, cassette, mode="rewrite") as client:
        assert names(client) == "second"

    assert graph_server.count() == 2
    with replay(graph_server, cassette) as client:
        assert names(client) == "second"
        with pytest.raises(errors.ReplayExhaustedError):
            names(client)  # "first" is gone


@pytest.mark.parametrize("mode", ["all", "record", ""])
def test_an_unknown_record_mode_is_refused(tmp_path: Path, mode: str) -> None:
    with pytest.raises(errors.InputError, match="record mode must be one of none, once, new_episodes, rewrite"):
        GraphCassette(tmp_path / "graph.yaml", mode=mode)


def test_a_recordings_directory_is_replayed_never_recorded_into(tmp_path: Path) -> None:
    with pytest.raises(errors.InputError, match="needs a cassette file, not the directory"):
        GraphClient.record(tmp_path, StaticTokenProvider(), mode="new_episodes")


# -- no process-wide patching -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["replay", "record"])
def test_other_sessions_are_not_intercepted_while_a_cassette_is_open(
    graph_server: Any, tmp_path: Path, mode: str
) -> None:
    """vcrpy patched urllib3 for the whole process while a cassette was open; the adapter is mounted on the
    client's own session only, so a plain `requests.get` elsewhere reaches the network and is not recorded."""
    cassette = tmp_path / "graph.yaml"
    cassette.write_text(author_graph_cassette(SOURCE))
    organization(graph_server, "live")
    graph_server.reply("GET", "/v1.0/domains", {"json": {"value": []}})

    if mode == "replay":
        opened = GraphClient.replay(cassette)
    else:
        opened = record(graph_server, tmp_path / "recorded.yaml", mode="rewrite")
    with opened as client:
        if mode == "record":
            client.get("/domains")
        else:
            assert list(client.get_all(JOBS)) == [JOB]
        elsewhere = requests.get(f"{graph_server.url}/v1.0/organization", timeout=5)
        assert elsewhere.json() == {"value": [{"displayName": "live"}]}  # the server's answer, not a cassette's
        assert urllib3.connectionpool.HTTPConnectionPool.ConnectionCls is UNPATCHED
    assert graph_server.count("GET", "/v1.0/organization") == 1
    if mode == "record":
        assert uris(tmp_path / "recorded.yaml") == [f"{graph_server.url}/v1.0/domains"]


def test_a_transport_is_mounted_on_the_session_the_client_is_given(tmp_path: Path) -> None:
    (tmp_path / "graph.yaml").write_text(author_graph_cassette(SOURCE))
    with requests.Session() as given:
        client = GraphClient(StaticTokenProvider(), session=given, transport=GraphCassette(tmp_path / "graph.yaml"))
        assert list(client.get_all(JOBS)) == [JOB]
        client.close()
        assert isinstance(given.get_adapter("https://graph.microsoft.com/"), GraphCassette)  # the caller's still


# -- scrubbing and refusing --------------------------------------------------------------------------------


def test_token_fields_are_scrubbed_at_record_time(graph_server: Any, tmp_path: Path) -> None:
    graph_server.reply(
        "POST",
        "/v1.0/applications/app-1/addPassword",
        {"json": {"secretText": "shown-once", "access_token": SECRET, "nested": [{"refresh_token": SECRET}]}},
    )
    cassette = tmp_path / "graph.yaml"

    with record(graph_server, cassette, (SECRET,)) as client:
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
    with replay(graph_server, cassette) as client:
        assert client.post("/applications/app-1/addPassword", {"keep": "me", "client_secret": SECRET}) is not None


def test_a_response_header_carrying_a_secret_is_not_recorded(graph_server: Any, tmp_path: Path) -> None:
    encoded = base64.b64encode(f"user:{SECRET}".encode()).decode()
    graph_server.reply(
        "GET", "/v1.0/organization", {"json": {"value": []}, "headers": {"X-Echo": encoded, "request-id": "rq-9"}}
    )
    cassette = tmp_path / "graph.yaml"
    with record(graph_server, cassette, (SECRET,)) as client:
        client.get("/organization")
    [interaction] = yaml.safe_load(cassette.read_text())["interactions"]
    assert "X-Echo" not in interaction["response"]["headers"] and interaction["response"]["headers"]["request-id"]


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

    with pytest.raises(errors.RecordingSecretError) as caught, record(graph_server, cassette, (secret,)) as client:
        client.get("/organization")

    assert not cassette.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file either
    assert secret not in str(caught.value) and caught.value.exit_code == 2


def test_a_refused_write_does_not_hide_the_error_of_the_block(graph_server: Any, tmp_path: Path) -> None:
    graph_server.reply(
        "GET", "/v1.0/organization", {"status": 404, "json": {"error": {"code": "x", "message": SECRET}}}
    )
    cassette = tmp_path / "graph.yaml"

    with (
        pytest.raises(errors.GraphNotFoundError),
        record(graph_server, cassette, ("unrelated-value", SECRET)) as client,
    ):
        client.get("/organization")
    assert not cassette.exists()


def test_a_live_secrets_list_is_read_at_write_time(graph_server: Any, tmp_path: Path) -> None:
    """A TokenProvider's `secrets` grows as tokens arrive: the token got after opening is checked."""
    graph_server.reply("GET", "/v1.0/organization", {"json": {"value": [{"echo": "late-token-77881"}]}})

    with pytest.raises(errors.RecordingSecretError), record(graph_server, tmp_path / "g.yaml") as client:
        client.tokens.secrets.append("late-token-77881")
        client.get("/organization")


# -- replaying: a miss, nothing twice ---------------------------------------------------------------------


def test_a_miss_names_the_request_and_the_nearest(graph_server: Any, tmp_path: Path) -> None:
    script_graph(graph_server)
    cassette = tmp_path / "graph.yaml"
    with record(graph_server, cassette) as client:
        exercise(client)
    before = graph_server.count()

    with (  # raised at the request, where callers can catch it
        replay(graph_server, cassette) as client,
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
    with record(graph_server, cassette) as client:
        client.get("/organization")

    with replay(graph_server, cassette) as client:
        client.get("/organization")
        with pytest.raises(errors.ReplayExhaustedError, match="already played"):
            client.get("/organization")


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


def test_a_synthetic_cassette_replays(tmp_path: Path) -> None:
    folder = tmp_path / GRAPH_DIR
    folder.mkdir()
    text = author_graph_cassette(SOURCE)
    (folder / "cloudsync.yaml").write_text(text)
    data = yaml.safe_load(text)
    assert data["origin"] == "synthetic" and data["description"] == SOURCE["description"]

    with GraphClient.replay(tmp_path) as client:  # graph.microsoft.com, no network
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

    with GraphClient.replay(tmp_path) as client:
        assert list(client.get_all(JOBS)) == [JOB]
        assert client.get(
            "/servicePrincipals", params={"$filter": "applicationTemplateId eq '1a4721b3-e57f-4451-ae87-ef078703ec94'"}
        )


def test_a_cassette_without_origin_is_refused(tmp_path: Path) -> None:
    data = yaml.safe_load(author_graph_cassette(SOURCE))
    del data["origin"]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))

    with pytest.raises(errors.RecordingFormatError, match="no `origin`"):
        GraphClient.replay(path)


def test_authoring_refuses_a_source_not_marked_synthetic() -> None:
    with pytest.raises(errors.RecordingFormatError, match="origin: synthetic"):
        author_graph_cassette({**SOURCE, "origin": "recorded"})


def test_replay_without_a_recording_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(errors.RecordingFormatError, match="no Graph recording"):
        GraphClient.replay(tmp_path)


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
    """MSAL's exchange with a national-cloud (or custom) authority the cassette was not told about, as if
    it were sent through the recording client's own session: instance discovery, the OpenID configuration
    and the token request carrying the client secret go to the network, unrecorded; the Graph call is."""
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

    with record(graph_server, cassette, (SECRET,)) as client:  # the default authority host only
        http = client.session
        http.get(f"{base}/common/discovery/instance", params={"api-version": "1.1"}, timeout=5)
        http.get(f"{base}/tenant-1/v2.0/.well-known/openid-configuration", timeout=5)
        form = {"client_id": "c-1", "grant_type": "client_credentials", "client_secret": SECRET, "scope": "x/.default"}
        http.post(f"{base}/tenant-1/oauth2/v2.0/token", data=form, timeout=5)
        # A custom token endpoint is recognised by its body: an OAuth token request.
        http.post(f"{base}/adfs/issue", data={"client_assertion": "eyJ.x.y", "scope": "x"}, timeout=5)
        client.get("/organization")

    text = cassette.read_text()
    assert uris(cassette) == [f"{graph_server.url}/v1.0/organization"]
    assert authority not in text and "national-token-Qz71" not in text and SECRET not in text
    assert graph_server.count() == 5  # the sign-in requests went to the network, unrecorded


def test_a_configured_authority_host_is_never_recorded(graph_server: Any, tmp_path: Path) -> None:
    graph_server.reply("GET", "/tenant-1/whatever", {"json": {"ok": True}})
    graph_server.reply("GET", "/v1.0/organization", {"json": {"value": []}})
    port = graph_server.url.rsplit(":", 1)[1]
    cassette = tmp_path / "graph.yaml"

    with record(graph_server, cassette, authority_hosts=[f"http://localhost:{port}"]) as client:
        client.session.get(f"http://localhost:{port}/tenant-1/whatever", timeout=5)
        client.get("/organization")
    assert uris(cassette) == [f"{graph_server.url}/v1.0/organization"] and graph_server.count() == 2


def test_sign_in_is_refused_in_replay(tmp_path: Path) -> None:
    (tmp_path / "graph.yaml").write_text(author_graph_cassette(SOURCE))
    with GraphClient.replay(tmp_path / "graph.yaml") as client, pytest.raises(errors.ReplayMissError, match="sign-in"):
        client.session.post("https://login.microsoftonline.com/t/oauth2/v2.0/token", data={"grant_type": "x"})


def test_msal_signs_in_through_its_own_session_never_the_recording_one(graph_server: Any, tmp_path: Path) -> None:
    """GraphClient.record with an MSAL token provider: MSAL's HTTP is the provider's own requests.Session
    (its `http_client`), so the sign-in never meets the cassette; only the Graph call is recorded."""
    graph_server.reply("POST", "/tenant-1/oauth2/v2.0/token", {"json": {"access_token": "msal-token-Kp42"}})
    graph_server.reply("GET", "/v1.0/organization", {"json": {"value": []}})

    class App:
        def __init__(self, client_id: str, *, http_client: Any, **kwargs: Any) -> None:
            self.http = http_client

        def acquire_token_for_client(self, scopes: list[str]) -> dict[str, Any]:
            form = {"grant_type": "client_credentials", "client_secret": SECRET, "scope": scopes[0]}
            answer = self.http.post(f"{graph_server.url}/tenant-1/oauth2/v2.0/token", data=form).json()
            return {**answer, "expires_in": 3600}

    made: list[App] = []
    tokens = MsalTokenProvider(
        GraphCredentials(tenant_id="tenant-1", client_id="c-1", graph_url=graph_server.url),
        environ={"PSBRIDGE_GRAPH_CLIENT_SECRET": SECRET},
        app_factory=lambda *a, **k: made.append(App(*a, **k)) or made[-1],
    )
    cassette = tmp_path / "graph.yaml"

    with GraphClient.record(cassette, tokens, graph_url=graph_server.url) as client:
        client.get("/organization")
        [app] = made
        assert not any(isinstance(a, GraphCassette) for a in app.http.inner.adapters.values())

    text = cassette.read_text()
    assert uris(cassette) == [f"{graph_server.url}/v1.0/organization"]
    assert "msal-token-Kp42" not in text and SECRET not in text
    assert graph_server.count("POST") == 1


def test_a_graph_cassette_that_would_not_replay_is_refused_and_kept_aside(
    graph_server: Any, tmp_path: Path, mocker: Any
) -> None:
    """The written file is read back; a request that would not find its answer refuses the write (here the
    read-back is made to differ, as a serializer that lost part of a URL would)."""
    graph_server.reply("GET", "/v1.0/organization", {"json": {"value": []}})
    cassette = tmp_path / "graph.yaml"
    read_back = graph_http.parse

    def lossy(text: str, where: Any) -> Any:
        return read_back(text.replace("organization", "organisation"), where)

    with pytest.raises(errors.RecordingFormatError) as caught, record(graph_server, cassette) as client:
        client.get("/organization")
        mocker.patch.object(graph_http, "parse", lossy)  # after the cassette was opened

    message = str(caught.value)
    assert "\n" not in message and caught.value.exit_code == 2
    assert message.startswith(f"Graph recording {cassette} does not replay: request 1, `GET /v1.0/organization`")
    assert message.endswith(f"the file is kept as {cassette}.unverified")
    assert not cassette.exists()
    assert "/v1.0/organization" in (tmp_path / "graph.yaml.unverified").read_text()


def test_a_graph_cassette_with_aliases_or_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / GRAPH_DIR
    folder.mkdir()
    aliased = yaml.safe_load(author_graph_cassette(SOURCE))
    text = yaml.safe_dump(aliased).replace("origin: synthetic", "origin: &o synthetic\nagain: *o")
    (folder / "a.yaml").write_text(text)
    with pytest.raises(errors.RecordingFormatError, match="YAML anchors and aliases are not accepted"):
        GraphClient.replay(tmp_path)
    assert not has_graph_recordings(folder / "a.yaml")
    (folder / "a.yaml").unlink()
    os.mkfifo(folder / "b.yaml")
    with pytest.raises(errors.RecordingFormatError, match=r"b.yaml is not a regular file \(a FIFO\)"):
        GraphClient.replay(tmp_path)
