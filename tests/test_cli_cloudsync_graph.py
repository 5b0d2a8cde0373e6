"""`psbridge cloudsync ... --via graph`: the demo over Graph, the backend choice, Graph-only commands, secrets.

Each command runs in-process and replays recorded_sessions/demo afresh: the PSRP recordings with
`--via psrp`, the Graph cassettes under recorded_sessions/demo/graph with `--via graph`.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_helpers import Result
from cloudsync_data import HEALTHY, QUARANTINED
from helpers import DEMO

from psbridge.graph.auth import MsalTokenProvider

ADELE = "CN=Adele Vance,OU=Sales,DC=contoso,DC=example"
KIOSK = "CN=Kiosk 07,OU=Kiosks,DC=contoso,DC=example"
# Known secrets a run must never show: a token-shaped value, a client secret, a certificate password.
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJncmFwaCJ9.c2lnbmVkLWJ5LXRlc3Q"
CLIENT_SECRET = "Qx8~client-secret-7hZ.kP2vL9wR4mN6tY1uI3oE5aS0dF"
CERT_PASSWORD = "cert-pw-V3ry-S3cret-4417"
TENANT = "4f6b2f9c-3c1e-4b8a-9d2e-7a1c5e0b9d13"
CLIENT_ID = "e3b1f0c7-5a29-4d64-8f1e-9c7a2b5d0e36"


def _graph(cli: Any, *args: str, via: str = "graph") -> Result:
    """`psbridge --replay DEMO -o json cloudsync ARGS --via VIA`."""
    result: Result = cli("--replay", DEMO, "-o", "json", "cloudsync", *args, "--via", via)
    return result


# -- the demo over Graph, as over AADCloudSyncTools ---------------------------------------------------


def test_status_via_graph_returns_the_demo_jobs_like_psrp_and_exits_1_on_quarantine(cli: Any) -> None:
    graph, psrp = _graph(cli, "status"), _graph(cli, "status", via="psrp")

    assert (graph.code, psrp.code) == (1, 1), (graph, psrp)  # a job is in quarantine
    assert graph.err == ""
    jobs = graph.json()
    assert [(j["id"], j["code"], j["is_quarantined"]) for j in jobs] == [
        (HEALTHY, "Active", False),
        (QUARANTINED, "Quarantine", True),
    ]
    assert jobs[1]["quarantine"]["reason"] == "IngestionInterrupted"
    assert jobs[1]["quarantine"]["error"]["code"] == "HybridIdentityServiceNoActiveAgents"
    assert jobs == psrp.json()  # every shared field, both jobs


@pytest.mark.parametrize("command", ["jobs", "schedule", "settings"])
def test_the_other_reads_agree_between_backends(cli: Any, command: str) -> None:
    graph, psrp = _graph(cli, command), _graph(cli, command, via="psrp")

    assert (graph.code, psrp.code) == (0, 0), (graph, psrp)
    assert len(graph.json()) == 2
    assert graph.json() == psrp.json()


def test_one_healthy_job_exits_0(cli: Any) -> None:
    result = _graph(cli, "status", "--job-id", HEALTHY)

    assert result.code == 0, result
    assert [job["code"] for job in result.json()] == ["Active"]


# -- which backend ----------------------------------------------------------------------------------


def _schema_api(cli: Any, *via: str, config: Path | None = None) -> str:
    """Which backend served `schema`: the module reads Graph beta, psbridge's Graph backend v1.0."""
    named = ["--config", str(config)] if config is not None else []
    result: Result = cli(*named, "--replay", DEMO, "-o", "json", "cloudsync", "schema", "--job-id", HEALTHY, *via)
    assert result.code == 0, result
    context = result.json()["document"]["@odata.context"]
    return "graph" if "/v1.0/" in context else "psrp" if "/beta/" in context else context


def test_the_backend_comes_from_via_then_the_configuration_then_graph_credentials(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _schema_api(cli) == "psrp"  # nothing configured
    assert _schema_api(cli, "--via", "graph") == "graph"
    monkeypatch.setenv("PSBRIDGE_GRAPH_TENANT_ID", TENANT)
    monkeypatch.setenv("PSBRIDGE_GRAPH_CLIENT_ID", CLIENT_ID)
    assert _schema_api(cli) == "graph"  # Graph credentials are configured
    monkeypatch.setenv("PSBRIDGE_CLOUDSYNC_VIA", "psrp")
    assert _schema_api(cli) == "psrp"  # the configuration beats the credentials
    assert _schema_api(cli, "--via", "graph") == "graph"  # and --via beats both
    monkeypatch.setenv("PSBRIDGE_CLOUDSYNC_VIA", "Graph")
    monkeypatch.delenv("PSBRIDGE_GRAPH_CLIENT_ID")
    assert _schema_api(cli) == "graph"


def test_the_config_file_chooses_the_backend_and_holds_the_graph_app(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """[graph] credentials make Graph the default; [cloudsync] via overrides them; the environment wins."""
    config = tmp_path / "config.toml"
    config.write_text(f'[graph]\ntenant_id = "{TENANT}"\nclient_id = "{CLIENT_ID}"\n', encoding="utf-8")
    config.chmod(0o600)
    assert _schema_api(cli, config=config) == "graph"
    config.write_text(config.read_text(encoding="utf-8") + '[cloudsync]\nvia = "psrp"\n', encoding="utf-8")
    assert _schema_api(cli, config=config) == "psrp"
    monkeypatch.setenv("PSBRIDGE_CLOUDSYNC_VIA", "graph")
    assert _schema_api(cli, config=config) == "graph"


def test_a_bad_configured_backend_is_one_line(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSBRIDGE_CLOUDSYNC_VIA", "winrm")
    result: Result = cli("--replay", DEMO, "cloudsync", "status")

    assert "PSBRIDGE_CLOUDSYNC_VIA must be psrp or graph" in result.one_line_error(2)


def test_graph_without_credentials_says_what_to_set(cli: Any) -> None:
    result: Result = cli("--host", "agent01.contoso.example", "cloudsync", "status", "--via", "graph")

    line = result.one_line_error(2)
    assert "PSBRIDGE_GRAPH_TENANT_ID" in line and "PSBRIDGE_GRAPH_CLIENT_SECRET" in line


@pytest.mark.parametrize(
    "args",
    [
        ["provision-on-demand", "--job-id", HEALTHY, "--dn", ADELE, "--yes"],
        ["deletion-threshold", "get", "--job-id", HEALTHY],
        ["deletion-threshold", "set", "--job-id", HEALTHY, "--value", "250", "--yes"],
        ["tenant-sync"],
        ["restart", "--job-id", QUARANTINED, "--scope", "Watermark", "--yes"],
    ],
    ids=lambda args: " ".join(args[:2]) if args[0] == "deletion-threshold" else args[0],
)
def test_graph_only_commands_say_so_with_via_psrp(cli: Any, args: list[str]) -> None:
    result = _graph(cli, *args, via="psrp")

    line = result.one_line_error(2)
    assert "needs --via graph" in line


# -- restart scopes, provision on demand, the threshold, tenant facts ---------------------------------


def test_restart_with_a_scope(cli: Any) -> None:
    result = _graph(cli, "restart", "--job-id", QUARANTINED, "--scope", "escrows, QuarantineState,watermark", "--yes")

    assert result.code == 0, result
    doc = result.json()
    assert (doc["changed"], doc["before"]["code"], doc["after"]["code"]) == (True, "Quarantine", "Active")
    assert "resetScope 'Watermark, Escrows, QuarantineState'" in doc["note"]


def test_an_empty_scope_is_the_portals_restart_provisioning_with_a_truthful_dry_run(cli: Any) -> None:
    args = ["restart", "--job-id", QUARANTINED, "--scope", ""]
    unconfirmed, preview, done = _graph(cli, *args), _graph(cli, *args, "--dry-run"), _graph(cli, *args, "--yes")
    portal = "an empty resetScope (the admin center's Restart provisioning: about QuarantineState, Watermark, Escrows)"

    unconfirmed.refused_after_plan()  # the dry run's plan, then exit 2
    assert (preview.code, done.code) == (0, 0), (preview, done)
    assert preview.json()["note"] == f"dry run: POST .../jobs/{QUARANTINED}/restart with {portal} would be sent"
    assert (preview.json()["dry_run"], preview.json()["changed"], preview.json()["would_change"]) == (True, False, True)
    assert (preview.json()["reset_scope"], preview.json()["after"]["code"]) == ("", "Active")  # predicted
    assert done.json()["note"] == f"sent POST .../jobs/{QUARANTINED}/restart with {portal}"
    assert (done.json()["reset_scope"], done.json()["after"]["code"]) == ("", "Active")
    assert "needs --via graph" in _graph(cli, *args, "--yes", via="psrp").one_line_error(2)


def test_template_means_the_job_ids_prefix_on_both_backends(cli: Any) -> None:
    # The demo's jobs are shaped like the documented one: id AD2AADProvisioning.<...>, templateId ADDCInPassthrough.
    found = {via: _graph(cli, "jobs", "--template", "ad2aadprovisioning", via=via) for via in ("psrp", "graph")}

    assert found["psrp"].code == found["graph"].code == 0, found
    assert found["psrp"].json() == found["graph"].json()
    assert [(j["id"], j["template_id"], j["reported_template_id"]) for j in found["graph"].json()] == [
        (HEALTHY, "AD2AADProvisioning", "ADDCInPassthrough"),
        (QUARANTINED, "AD2AADProvisioning", "ADDCInPassthrough"),
    ]


def test_force_deletes_needs_its_own_confirmation(cli: Any) -> None:
    args = ["restart", "--job-id", QUARANTINED, "--scope", "ForceDeletes", "--yes"]
    refused, confirmed = _graph(cli, *args), _graph(cli, *args, "--confirm-force-deletes")

    assert "--confirm-force-deletes" in refused.one_line_error(2)
    assert confirmed.code == 0, confirmed
    assert "resetScope 'ForceDeletes'" in confirmed.json()["note"]


@pytest.mark.parametrize("scope", ["None", "ConnectorDataStore", "Full,Escrows", "Everything"])
def test_refused_scopes_are_one_line(cli: Any, scope: str) -> None:
    result = _graph(cli, "restart", "--job-id", QUARANTINED, "--scope", scope, "--yes")

    assert "reset scope" in result.one_line_error(2)


def test_pause_and_start_via_graph(cli: Any) -> None:
    paused = _graph(cli, "suspend", "--job-id", HEALTHY, "--yes", "--wait-for", "Paused", "--deadline", "0")
    started = _graph(cli, "resume", "--job-id", QUARANTINED, "--yes")

    assert (paused.code, started.code) == (0, 0), (paused, started)
    assert (paused.json()["after"]["code"], paused.json()["reached"]) == ("Paused", True)
    assert (started.json()["before"]["code"], started.json()["after"]["code"]) == ("Quarantine", "Active")


def test_provision_on_demand_success_and_out_of_scope(cli: Any) -> None:
    ok = _graph(cli, "provision-on-demand", "--job-id", HEALTHY, "--dn", ADELE, "--yes")
    skipped = _graph(cli, "provision-on-demand", "--job-id", HEALTHY, "--dn", KIOSK, "--yes")
    unconfirmed = _graph(cli, "provision-on-demand", "--job-id", HEALTHY, "--dn", ADELE)

    assert ok.code == 0, ok
    # No --rule-id: the rule is found in the demo's documented-shape schema, by directory name.
    assert ok.json()["rule_id"] == skipped.json()["rule_id"] == "0f4b7d2e-9a61-4c38-b5e0-e7c3a9d1f248"
    assert (ok.json()["result"], ok.json()["stages"]["export"], ok.json()["stages"]["action"]) == (
        "Success",
        "Success",
        "Update",
    )
    assert skipped.code == 1, skipped  # the check ran and the object falls short: out of scope
    assert (skipped.json()["result"], skipped.json()["stages"]["scoping"], skipped.json()["stages"]["export"]) == (
        "Skipped",
        "Skipped",
        None,
    )
    unconfirmed.refused_after_plan()  # the dry run's plan, then exit 2


def test_provision_on_demand_table_shows_each_stage(cli: Any) -> None:
    result: Result = cli(
        "--replay", DEMO, "cloudsync", "provision-on-demand", "--via", "graph", "--job-id", HEALTHY, "--dn", KIOSK,
        "--yes",
    )  # fmt: skip

    assert result.code == 1, result
    rows = dict(line.split(None, 1) for line in result.out.splitlines())
    assert {k: rows[k] for k in ("result", "import", "scoping", "matching", "export")} == {
        "result": "Skipped",
        "import": "Success",
        "scoping": "Skipped",
        "matching": "-",
        "export": "-",
    }


def test_deletion_threshold_get_and_set(cli: Any) -> None:
    got = _graph(cli, "deletion-threshold", "get", "--job-id", HEALTHY)
    changed = _graph(cli, "deletion-threshold", "set", "--job-id", HEALTHY, "--value", "250", "--yes")
    nothing = _graph(cli, "deletion-threshold", "set", "--job-id", HEALTHY, "--yes")

    assert (got.code, changed.code) == (0, 0), (got, changed)
    assert (got.json()["effective_value"], got.json()["secret_keys"]) == (
        500,
        ["AppKey", "Domain", "SyncNotificationSettings"],
    )
    doc = changed.json()
    assert (doc["changed"], doc["before"]["threshold_value"], doc["after"]["threshold_value"]) == (True, 500, 250)
    assert doc["after"]["secret_keys"] == ["AppKey", "Domain", "SyncNotificationSettings"]
    assert "--value, --enable or --disable" in nothing.one_line_error(2)


def test_deletion_threshold_set_table_shows_the_threshold_before_and_after(cli: Any) -> None:
    result: Result = cli("--replay", DEMO, "cloudsync", "deletion-threshold", "set", "--job-id", HEALTHY,
                         "--value", "250", "--yes", "--via", "graph")  # fmt: skip

    assert result.code == 0, result
    rows = dict(line.split(None, 1) for line in result.out.splitlines())
    assert (rows["changed"], rows["threshold"]) == ("yes", "500 (on) -> 250 (on)")
    assert rows["secret_keys"] == "AppKey, Domain, SyncNotificationSettings"


def test_tenant_sync_facts(cli: Any) -> None:
    result = _graph(cli, "tenant-sync")

    assert result.code == 0, result
    doc = result.json()
    assert (doc["tenant_id"], doc["sync_enabled"], doc["on_premises_last_sync"]) == (
        TENANT,
        True,
        "2026-11-25T11:58:03Z",
    )
    assert (
        doc["deletion_prevention_type"] is None and "Global Administrator" in doc["on_premises_synchronization_error"]
    )


# -- secrets ----------------------------------------------------------------------------------------


def _no_secret_in(*texts: str, extra: tuple[str, ...] = ()) -> None:
    for text in texts:
        for secret in (TOKEN, CLIENT_SECRET, CERT_PASSWORD, *extra):
            assert secret not in text
        assert "Bearer " not in text and "Authorization:" not in text  # not the header, nor its value


def test_replay_with_secrets_in_the_environment_shows_none_of_them(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSBRIDGE_GRAPH_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("PSBRIDGE_GRAPH_CERT_PASSWORD", CERT_PASSWORD)
    runs = [
        cli("--replay", DEMO, "-vv", "-o", "json", "cloudsync", "status", "--via", "graph"),
        cli("--replay", DEMO, "-vv", "-o", "json", "cloudsync", "tenant-sync", "--via", "graph"),  # a 403 inside
        cli("--replay", DEMO, "-vv", "cloudsync", "jobs", "--via", "graph", "--job-id", "AD2AADProvisioning.x"),
    ]

    assert [r.code for r in runs] == [1, 0, 4], runs
    assert "psbridge.graph.request" in runs[0].err  # -vv logs every request...
    assert "not found" in runs[2].err
    for run in runs:
        _no_secret_in(run.out, run.err, extra=("replay-token",))  # ...and never the token the replay sends


class _FakeGraph:
    """Graph on loopback, answering from the demo's jobs cassette, only to `Bearer TOKEN`."""

    def __init__(self) -> None:
        cassette = yaml.safe_load((DEMO / "graph" / "jobs.yaml").read_text(encoding="utf-8"))
        self.answers: dict[tuple[str, str], tuple[int, bytes]] = {}
        for item in cassette["interactions"]:
            request, response = item["request"], item["response"]
            target = "/" + request["uri"].split("://", 1)[1].split("/", 1)[1]
            self.answers.setdefault(
                (request["method"], target), (response["status"]["code"], response["body"]["string"].encode())
            )
        self.authorizations: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake.authorizations.append(self.headers.get("Authorization", ""))
                status, body = fake.answers.get(("GET", self.path), (404, b'{"error":{"code":"NotScripted"}}'))
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    status, body = 401, b'{"error":{"code":"InvalidAuthenticationToken"}}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def fake_graph() -> Iterator[_FakeGraph]:
    graph = _FakeGraph()
    thread = threading.Thread(target=graph.httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield graph
    graph.httpd.shutdown()
    graph.httpd.server_close()


class _FakeMsalApp:
    """Stands in for msal.ConfidentialClientApplication: hands out TOKEN, never any network."""

    def __init__(self, client_id: str, **kwargs: Any) -> None:
        self.credential = kwargs["client_credential"]

    def acquire_token_for_client(self, scopes: list[str]) -> dict[str, Any]:
        return {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3599}


def _encrypted_pem(path: Path) -> str:
    """A self-signed certificate and its private key, the key encrypted with CERT_PASSWORD; the key's PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "psbridge-cloudsync-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(CERT_PASSWORD.encode()),
    )
    path.write_bytes(encrypted + cert.public_bytes(serialization.Encoding.PEM))
    plain = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return plain.decode("ascii")


@pytest.mark.parametrize("credential", ["certificate", "client secret"])
def test_recording_live_graph_keeps_every_secret_out(
    cli: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_graph: _FakeGraph, credential: str
) -> None:
    demo = _graph(cli, "status")  # before the app's Graph URL points at the fake Graph
    for name, value in {"TENANT_ID": TENANT, "CLIENT_ID": CLIENT_ID, "URL": fake_graph.url,
                        "CLIENT_SECRET": CLIENT_SECRET, "CERT_PASSWORD": CERT_PASSWORD}.items():  # fmt: skip
        monkeypatch.setenv(f"PSBRIDGE_GRAPH_{name}", value)
    apps: list[_FakeMsalApp] = []

    def factory(*args: Any, **kwargs: Any) -> _FakeMsalApp:
        apps.append(_FakeMsalApp(*args, **kwargs))
        return apps[-1]

    class Provider(MsalTokenProvider):  # the run's factory signs in with it, through a fake MSAL app
        def __init__(self, creds: Any, **kwargs: Any) -> None:
            super().__init__(creds, app_factory=factory, **kwargs)

    monkeypatch.setattr("psbridge.graph.auth.MsalTokenProvider", Provider)
    certificate: list[str] = []
    private_key: tuple[str, ...] = ()
    if credential == "certificate":
        private_key = (_encrypted_pem(tmp_path / "app.pem").splitlines()[1],)
        certificate = ["--certificate", str(tmp_path / "app.pem")]
    recording = tmp_path / "graph.yaml"

    recorded: Result = cli(
        "--record", recording, "-vv", "-o", "json", "cloudsync", *certificate, "status", "--via", "graph"
    )
    replayed: Result = cli("--replay", recording, "-o", "json", "cloudsync", "status", "--via", "graph")

    assert recorded.code == 1, recorded  # the quarantined job, read live from the fake Graph
    assert set(fake_graph.authorizations) == {f"Bearer {TOKEN}"}  # the token really went over the wire
    used = apps[0].credential
    assert (used == CLIENT_SECRET) if credential == "client secret" else ("ENCRYPTED" not in used["private_key"])
    assert "psbridge.graph.request" in recorded.err
    text = recording.read_text(encoding="utf-8")
    assert "origin: recorded" in text
    _no_secret_in(recorded.out, recorded.err, text, replayed.out, replayed.err, extra=private_key)
    assert replayed.code == 1, replayed
    assert replayed.json() == recorded.json() == demo.json()
