"""App-only credentials and tokens: secret and certificate loading, MSAL, caching, and no secret leaks.

MSAL itself is real here; only what carries its HTTP is replaced (`FakeEntra`, under psbridge's own
`http_client` for MSAL), so the client assertion it signs with our certificate can be checked like Entra would.
Certificates are generated per test with `cryptography`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from loopback import JsonReply as Reply

from psbridge import errors
from psbridge.graph.auth import GraphCredentials, MsalTokenProvider, StaticTokenProvider

TENANT = "contoso.onmicrosoft.com"
CLIENT_ID = "00000000-0000-0000-0000-00000000c0de"
SECRET = "cs~Q8x.p7Kd-secret-value-41"  # a fake client secret the tests look for
PASSWORD = "pfx-pass-Zq81!"  # a fake certificate password the tests look for
TOKEN_URL = f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"


class FakeEntra:
    """msal's http_client: the tenant's OpenID configuration, and a token endpoint that keeps each post."""

    def __init__(self, error: dict[str, Any] | None = None) -> None:
        self.posts: list[dict[str, Any]] = []
        self.error = error

    def get(self, url: str, **kwargs: Any) -> Reply:
        if url.endswith("/common/discovery/instance"):  # msal asks which hosts are aliases of each other
            return Reply(200, {"metadata": [{"preferred_network": "login.microsoftonline.com", "aliases": []}]})
        assert url.endswith("/v2.0/.well-known/openid-configuration"), url
        base = f"https://login.microsoftonline.com/{TENANT}"
        return Reply(
            200,
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "issuer": f"{base}/v2.0",
            },
        )

    def post(self, url: str, data: Any = None, **kwargs: Any) -> Reply:
        self.posts.append({"url": url, "data": dict(data or {})})
        if self.error:
            return Reply(401, self.error)
        return Reply(
            200, {"token_type": "Bearer", "expires_in": 3599, "access_token": f"entra-token-{len(self.posts)}"}
        )

    def close(self) -> None:
        pass


class FakeApp:
    """Stands in for the whole MSAL app: counts acquisitions, hands out numbered tokens."""

    def __init__(self, expires_in: int = 3600) -> None:
        self.calls: list[list[str]] = []
        self.made_with: dict[str, Any] = {}
        self.expires_in = expires_in

    def factory(self, client_id: str, **kwargs: Any) -> FakeApp:
        self.made_with = {"client_id": client_id, **kwargs}
        return self

    def acquire_token_for_client(self, scopes: list[str]) -> dict[str, Any]:
        self.calls.append(scopes)
        return {"access_token": f"token-{len(self.calls)}", "expires_in": self.expires_in, "token_type": "Bearer"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_certificate() -> tuple[Any, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "psbridge-graph-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, cert


def write_pem(path: Path, key: Any, cert: x509.Certificate, password: str | None = None) -> Path:
    encryption: Any = (
        serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key_pem)
    return path


def write_pfx(path: Path, key: Any, cert: x509.Certificate, password: str) -> Path:
    encryption = serialization.BestAvailableEncryption(password.encode())
    path.write_bytes(pkcs12.serialize_key_and_certificates(b"app", key, cert, None, encryption))
    return path


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# -- credentials -------------------------------------------------------------------------------------


def test_from_env_reads_the_tenant_client_and_certificate(tmp_path: Path) -> None:
    env = {
        "PSBRIDGE_GRAPH_TENANT_ID": TENANT,
        "PSBRIDGE_GRAPH_CLIENT_ID": CLIENT_ID,
        "PSBRIDGE_GRAPH_CERTIFICATE": str(tmp_path / "app.pfx"),
    }
    credentials = GraphCredentials.from_env(env)
    assert credentials is not None
    assert (credentials.tenant_id, credentials.client_id, credentials.certificate) == (
        TENANT,
        CLIENT_ID,
        tmp_path / "app.pfx",
    )
    assert credentials.authority == f"https://login.microsoftonline.com/{TENANT}"
    assert credentials.scope == "https://graph.microsoft.com/.default"
    national = GraphCredentials.from_env({**env, "PSBRIDGE_GRAPH_URL": "https://graph.microsoft.us/"})
    assert national is not None and national.scope == "https://graph.microsoft.us/.default"
    assert GraphCredentials.from_env({"PSBRIDGE_GRAPH_TENANT_ID": TENANT}) is None
    assert GraphCredentials.from_env({}) is None


@pytest.mark.parametrize(
    "values",
    [
        {"tenant_id": "contoso/../x", "client_id": CLIENT_ID},
        {"tenant_id": TENANT, "client_id": CLIENT_ID, "graph_url": "http://graph.example.com"},
        {"tenant_id": TENANT, "client_id": CLIENT_ID, "authority_host": "https://login.example.com/?a=b"},
    ],
)
def test_bad_credentials_are_one_input_error(values: dict[str, str]) -> None:
    with pytest.raises(errors.InputError) as caught:
        GraphCredentials.build(**values)
    assert str(caught.value).startswith("invalid Graph credentials:") and "\n" not in str(caught.value)


def test_the_client_secret_comes_from_the_environment() -> None:
    app = FakeApp()
    provider = MsalTokenProvider(
        GraphCredentials(tenant_id=TENANT, client_id=CLIENT_ID),
        environ={"PSBRIDGE_GRAPH_CLIENT_SECRET": SECRET},
        app_factory=app.factory,
    )

    assert provider.token() == "token-1"
    assert app.made_with["client_id"] == CLIENT_ID
    assert app.made_with["authority"] == f"https://login.microsoftonline.com/{TENANT}"
    assert app.made_with["client_credential"] == SECRET
    assert app.made_with["timeout"] == 30.0
    assert app.calls == [["https://graph.microsoft.com/.default"]]
    assert SECRET in provider.secrets and "token-1" in provider.secrets


@pytest.mark.parametrize("env_name", ["PSBRIDGE_GRAPH_CLIENT_SECRET", "MY_APP_SECRET"])
def test_a_missing_secret_names_the_variable(env_name: str) -> None:
    credentials = GraphCredentials(tenant_id=TENANT, client_id=CLIENT_ID, client_secret_env=env_name)
    with pytest.raises(errors.InputError) as caught:
        MsalTokenProvider(credentials, environ={"OTHER": SECRET}, app_factory=FakeApp().factory)
    assert env_name in str(caught.value) and SECRET not in str(caught.value)
    assert caught.value.exit_code == 2


# -- the token cache ---------------------------------------------------------------------------------


def test_the_token_is_cached_until_five_minutes_before_expiry() -> None:
    app, clock = FakeApp(expires_in=3600), Clock()
    provider = MsalTokenProvider(
        GraphCredentials(tenant_id=TENANT, client_id=CLIENT_ID),
        environ={"PSBRIDGE_GRAPH_CLIENT_SECRET": SECRET},
        app_factory=app.factory,
        clock=clock,
    )

    assert provider.token() == "token-1"
    clock.now += 3600 - 301  # 301 s left
    assert provider.token() == "token-1"
    assert len(app.calls) == 1
    clock.now += 2  # 299 s left: renew
    assert provider.token() == "token-2"
    assert len(app.calls) == 2
    assert provider.secrets[-2:] == ["token-1", "token-2"]


def test_an_msal_error_is_an_authentication_error_without_secrets() -> None:
    entra = FakeEntra(
        error={
            "error": "invalid_client",
            "error_description": f"AADSTS00000: placeholder description echoing {SECRET}\r\nTrace ID: 0\r\nTime: 0",
        }
    )
    provider = MsalTokenProvider(
        GraphCredentials(tenant_id=TENANT, client_id=CLIENT_ID),
        environ={"PSBRIDGE_GRAPH_CLIENT_SECRET": SECRET},
        http=entra,
    )

    with pytest.raises(errors.AuthenticationError) as caught:
        provider.token()

    text = str(caught.value)
    assert caught.value.exit_code == 3
    assert "invalid_client: AADSTS00000: placeholder description" in text
    assert CLIENT_ID in text and TENANT in text
    assert SECRET not in text and "Trace ID" not in text
    assert entra.posts[0]["data"]["client_secret"] == SECRET  # MSAL did send it, to the token endpoint only


def test_an_unreachable_sign_in_host_is_a_connect_error() -> None:
    import requests

    class Down(FakeApp):
        def acquire_token_for_client(self, scopes: list[str]) -> dict[str, Any]:
            raise requests.ConnectionError("no route")

    provider = MsalTokenProvider(
        GraphCredentials(tenant_id=TENANT, client_id=CLIENT_ID),
        environ={"PSBRIDGE_GRAPH_CLIENT_SECRET": SECRET},
        app_factory=Down().factory,
    )
    with pytest.raises(errors.ConnectError) as caught:
        provider.token()
    assert caught.value.transient and not caught.value.command_sent


class DownEntra(FakeEntra):
    """The token endpoint answers `statuses` in turn (then tokens); every request's timeout is kept."""

    def __init__(self, *statuses: int) -> None:
        super().__init__()
        self.statuses = list(statuses)
        self.timeouts: list[float] = []

    def get(self, url: str, **kwargs: Any) -> Reply:
        self.timeouts.append(kwargs["timeout"])
        return super().get(url, **kwargs)

    def post(self, url: str, data: Any = None, **kwargs: Any) -> Reply:
        self.timeouts.append(kwargs["timeout"])
        if self.statuses:
            self.posts.append({"url": url, "data": dict(data or {})})
            return Reply(self.statuses.pop(0), {"error": "temporarily_unavailable"})
        return super().post(url, data, **kwargs)


def secret_provider(**kwargs: Any) -> MsalTokenProvider:
    return MsalTokenProvider(
        GraphCredentials(tenant_id=TENANT, client_id=CLIENT_ID), environ={"PSBRIDGE_GRAPH_CLIENT_SECRET": SECRET},
        **kwargs,
    )  # fmt: skip


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_sign_in_service_error_is_a_transient_connect_error_and_asked_again(status: int) -> None:
    """MSAL raises MsalServiceError for a 5xx (exit 70 before) and keeps 429/5xx answers in its throttling
    cache: psbridge's HTTP client turns them into a transient ConnectError, and the next sign-in asks again."""
    entra = DownEntra(status)
    provider = secret_provider(http=entra)
    with pytest.raises(errors.ConnectError) as caught:
        provider.token()
    error = caught.value
    assert error.transient and not error.command_sent and error.exit_code == 3
    assert f"HTTP {status}" in str(error) and "login.microsoftonline.com" in str(error)
    assert error.__context__ is None and error.__cause__ is None
    assert provider.token() == "entra-token-2"  # the second post reached the endpoint
    assert len(entra.posts) == 2


def test_an_msal_service_error_is_a_transient_connect_error() -> None:
    """MSAL's own exception for a 5xx (what its default HTTP client leads to) is mapped too."""
    import msal

    class Failing(FakeApp):
        def acquire_token_for_client(self, scopes: list[str]) -> dict[str, Any]:
            raise msal.exceptions.MsalServiceError("HTTP Error: 503", error=None, error_description=None)

    with pytest.raises(errors.ConnectError) as caught:
        secret_provider(app_factory=Failing().factory).token()
    assert caught.value.transient and "unavailable" in str(caught.value)


def test_every_sign_in_request_has_the_time_left_as_its_timeout() -> None:
    """The sign-in is inside the caller's deadline: with 2.5 s left, MSAL's requests time out after 2.5 s."""
    entra = DownEntra()
    provider = secret_provider(http=entra)
    provider.token(timeout=2.5)
    assert entra.timeouts and set(entra.timeouts) == {2.5}


# -- certificates ------------------------------------------------------------------------------------


def assert_signed_with(entra: FakeEntra, cert: x509.Certificate) -> None:
    """The client assertion MSAL posted is a PS256 JWT for our app, signed by the certificate's key,
    carrying its SHA-256 thumbprint: what Entra checks against the registered certificate."""
    [post] = entra.posts
    assertion = post["data"]["client_assertion"]
    header = jwt.get_unverified_header(assertion)
    assert header["alg"] == "PS256"
    assert header["x5t#S256"].rstrip("=") == b64url(
        hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()
    )
    claims = jwt.decode(assertion, key=cert.public_key(), algorithms=["PS256"], audience=TOKEN_URL)  # type: ignore[arg-type]
    assert claims["iss"] == claims["sub"] == CLIENT_ID
    assert "client_secret" not in post["data"]


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain-pem", "encrypted-pem"])
def test_a_pem_certificate_signs_the_client_assertion(tmp_path: Path, encrypted: bool) -> None:
    key, cert = make_certificate()
    path = write_pem(tmp_path / "app.pem", key, cert, PASSWORD if encrypted else None)
    entra = FakeEntra()
    provider = MsalTokenProvider(
        GraphCredentials(tenant_id=TENANT, client_id=CLIENT_ID, certificate=path),
        environ={"PSBRIDGE_GRAPH_CERT_PASSWORD": PASSWORD} if encrypted else {},
        http=entra,
    )

    assert provider.token() == "entra-token-1"
    assert_signed_with(entra, cert)
    assert (PASSWORD in provider.secrets) == encrypted


def test_a_pfx_certificate_with_its_password_from_the_environment(tmp_path: Path) -> None:
    key, cert = make_certificate()
    path = write_pfx(tmp_path / "app.pfx", key, cert, PASSWORD)
    entra = FakeEntra()
    provider = MsalTokenProvider(
        GraphCredentials(tenant_id=TENANT, client_id=CLIENT_ID, certificate=path, certificate_password_env="PFX_PW"),
        environ={"PFX_PW": PASSWORD},
        http=entra,
    )

    assert provider.token() == "entra-token-1"
    assert_signed_with(entra, cert)
    assert PASSWORD in provider.secrets


@pytest.mark.parametrize("kind", ["pfx", "pem"])
def test_a_wrong_certificate_password_is_one_line_without_the_password(tmp_path: Path, kind: str) -> None:
    key, cert = make_certificate()
    write = write_pfx if kind == "pfx" else write_pem
    path = write(tmp_path / f"app.{kind}", key, cert, PASSWORD)
    wrong = "not-the-" + PASSWORD

    with pytest.raises(errors.InputError) as caught:
        MsalTokenProvider(
            GraphCredentials(tenant_id=TENANT, client_id=CLIENT_ID, certificate=path),
            environ={"PSBRIDGE_GRAPH_CERT_PASSWORD": wrong},
            app_factory=FakeApp().factory,
        )
    text = str(caught.value)
    assert "\n" not in text and str(path) in text and "PSBRIDGE_GRAPH_CERT_PASSWORD" in text
    assert wrong not in text and PASSWORD not in text
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_an_encrypted_key_without_a_password_names_the_variable(tmp_path: Path) -> None:
    key, cert = make_certificate()
    path = write_pem(tmp_path / "app.pem", key, cert, PASSWORD)
    with pytest.raises(errors.InputError, match="encrypted: put its password in PSBRIDGE_GRAPH_CERT_PASSWORD"):
        MsalTokenProvider(GraphCredentials(tenant_id=TENANT, client_id=CLIENT_ID, certificate=path), environ={})


def test_a_pem_without_its_key_is_refused(tmp_path: Path) -> None:
    _, cert = make_certificate()
    path = tmp_path / "cert-only.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(errors.InputError, match="holds no private key"):
        MsalTokenProvider(GraphCredentials(tenant_id=TENANT, client_id=CLIENT_ID, certificate=path), environ={})


def test_a_missing_certificate_file_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.pfx"
    with pytest.raises(errors.InputError, match="cannot read the certificate file"):
        MsalTokenProvider(GraphCredentials(tenant_id=TENANT, client_id=CLIENT_ID, certificate=path), environ={})


# -- no secret in the logs ---------------------------------------------------------------------------


def test_no_secret_reaches_any_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Every logger at DEBUG (msal's included) through a certificate sign-in, a secret sign-in and a
    failed one: the password, the secret, the private key and the tokens never appear."""
    caplog.set_level(logging.DEBUG)
    key, cert = make_certificate()
    pfx = write_pfx(tmp_path / "app.pfx", key, cert, PASSWORD)
    with_cert = MsalTokenProvider(
        GraphCredentials(tenant_id=TENANT, client_id=CLIENT_ID, certificate=pfx),
        environ={"PSBRIDGE_GRAPH_CERT_PASSWORD": PASSWORD},
        http=FakeEntra(),
    )
    with_secret = MsalTokenProvider(
        GraphCredentials(tenant_id=TENANT, client_id=CLIENT_ID),
        environ={"PSBRIDGE_GRAPH_CLIENT_SECRET": SECRET},
        http=FakeEntra(),
    )
    refused = MsalTokenProvider(
        GraphCredentials(tenant_id=TENANT, client_id=CLIENT_ID),
        environ={"PSBRIDGE_GRAPH_CLIENT_SECRET": SECRET},
        http=FakeEntra(error={"error": "invalid_client", "error_description": "AADSTS00000: x"}),
    )
    tokens = [with_cert.token(), with_secret.token()]
    with pytest.raises(errors.AuthenticationError):
        refused.token()

    key_body = "".join(with_cert.secrets[1].splitlines()[1:-1])  # the private key PEM, without its armour
    assert caplog.records, "nothing was logged: the check would prove nothing"
    for value in (PASSWORD, SECRET, key_body[:64], *tokens):
        assert value not in caplog.text


def test_the_static_provider_is_offline() -> None:
    provider = StaticTokenProvider()
    assert provider.token() == "replay-token" and provider.secrets == ["replay-token"]
