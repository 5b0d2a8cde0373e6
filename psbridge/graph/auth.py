"""App-only sign-in to Microsoft Graph: who the app is, and the bearer tokens it is given.

The app signs in as a confidential client with MSAL for Python, with a certificate (PEM holding the
certificate and its private key, or PFX/P12; the password comes from the environment) or a client
secret from the environment. msal and cryptography are imported when first needed, never at import.

Secrets (the client secret, the certificate password, the private key and every token) are kept in
`secrets`, a live list that record and log redaction read; none of them is ever put in a message.

MSAL's HTTP goes through `_SignInHttp` (MSAL's documented `http_client`): each request's timeout is what
is left of the caller's deadline, and a sign-in service that is down (HTTP 429 or 5xx, no connection)
is a transient ConnectError that the Graph client retries within that deadline, never an MSAL exception.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from psbridge import errors, logs
from psbridge.options import is_loopback
from psbridge.transport import tls

TENANT_ENV = "PSBRIDGE_GRAPH_TENANT_ID"
CLIENT_ID_ENV = "PSBRIDGE_GRAPH_CLIENT_ID"
CERTIFICATE_ENV = "PSBRIDGE_GRAPH_CERTIFICATE"
CERTIFICATE_PASSWORD_ENV = "PSBRIDGE_GRAPH_CERT_PASSWORD"  # noqa: S105 - the variable's name, not a value
CLIENT_SECRET_ENV = "PSBRIDGE_GRAPH_CLIENT_SECRET"  # noqa: S105 - the variable's name, not a value
GRAPH_URL_ENV = "PSBRIDGE_GRAPH_URL"
AUTHORITY_HOST_ENV = "PSBRIDGE_GRAPH_AUTHORITY_HOST"
DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
DEFAULT_GRAPH_URL = "https://graph.microsoft.com"
REFRESH_MARGIN_S = 300.0  # a cached token is renewed when it has less than this left

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]*$")  # a GUID or a verified domain name
_PEM_KEY = re.compile(rb"-----BEGIN ((?:[A-Z]+ )*PRIVATE KEY)-----.+?-----END \1-----", re.DOTALL)
_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


def base_url(url: str, what: str = "URL") -> str:
    """`url` without a trailing slash, if it is fit to receive a bearer token: https, or http on loopback."""
    parts = urlsplit(url.strip())
    loopback = is_loopback(parts.hostname or "")
    if not parts.hostname or parts.query or parts.fragment or parts.username or parts.password:
        raise errors.InputError(f"{what} must be a plain https://host URL, got {url!r}")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise errors.InputError(f"{what} must use https (plain http only on loopback), got {url!r}")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


class GraphCredentials(BaseModel):
    """Who the app is: its tenant, its client id, and where its secret comes from (never the secret)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant_id: str = Field(min_length=1)  # GUID or verified domain
    client_id: str = Field(min_length=1)
    certificate: Path | None = None  # PEM (certificate and key) or PFX/P12; password from certificate_password_env
    certificate_password_env: str = CERTIFICATE_PASSWORD_ENV
    client_secret_env: str = CLIENT_SECRET_ENV  # used when there is no certificate
    authority_host: str = DEFAULT_AUTHORITY_HOST
    graph_url: str = DEFAULT_GRAPH_URL

    @field_validator("tenant_id", "client_id")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must be a GUID or a domain name")
        return value

    @field_validator("authority_host", "graph_url")
    @classmethod
    def _url(cls, value: str) -> str:
        try:
            return base_url(value)
        except errors.InputError as exc:
            raise ValueError(str(exc)) from None

    @classmethod
    def build(cls, **values: Any) -> GraphCredentials:
        """Validate, turning pydantic's report into one InputError line."""
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'credentials'}: {e['msg']}" for e in exc.errors()
            )
            raise errors.InputError(f"invalid Graph credentials: {problems}") from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> GraphCredentials | None:
        """PSBRIDGE_GRAPH_TENANT_ID, PSBRIDGE_GRAPH_CLIENT_ID, PSBRIDGE_GRAPH_CERTIFICATE (a path), and
        optionally PSBRIDGE_GRAPH_URL and PSBRIDGE_GRAPH_AUTHORITY_HOST (national clouds); None when the
        tenant id or the client id is missing."""
        tenant, client = environ.get(TENANT_ENV, "").strip(), environ.get(CLIENT_ID_ENV, "").strip()
        if not tenant or not client:
            return None
        values: dict[str, Any] = {"tenant_id": tenant, "client_id": client}
        for name, env in (
            ("certificate", CERTIFICATE_ENV), ("graph_url", GRAPH_URL_ENV), ("authority_host", AUTHORITY_HOST_ENV)
        ):  # fmt: skip
            if environ.get(env, "").strip():
                values[name] = environ[env].strip()
        return cls.build(**values)

    @property
    def authority(self) -> str:
        return f"{self.authority_host}/{self.tenant_id}"

    @property
    def scope(self) -> str:
        return f"{self.graph_url}/.default"


class TokenProvider(Protocol):
    def token(self, *, timeout: float | None = None) -> str:
        """A bearer token for Graph, valid for at least 5 more minutes; a sign-in it needs to make is
        over within `timeout` seconds (None: the provider's own timeout)."""
        ...

    @property
    def secrets(self) -> list[str]:
        """Every secret value it holds (tokens, client secret, certificate password), for redaction."""
        ...


class StaticTokenProvider:
    """For replay: a fixed, fake token; never any network."""

    def __init__(self, token: str = "replay-token") -> None:  # noqa: S107 - a placeholder, not a secret
        self._token = token

    def token(self, *, timeout: float | None = None) -> str:
        return self._token

    @property
    def secrets(self) -> list[str]:
        return [self._token]


AppFactory = Callable[..., Any]


class SignInUnavailable(Exception):
    """The sign-in service answered 429 or 5xx: raised before MSAL sees (or caches) the answer."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class _SignInHttp:
    """MSAL's `http_client`: requests with the time left as their timeout; 429/5xx raise SignInUnavailable.

    MSAL leaves retrying to a custom http_client, and would otherwise replay a 429/5xx answer from its own
    throttling cache for a while instead of asking again; psbridge's caller retries within its deadline.
    """

    def __init__(self, inner: Any, timeout_s: float) -> None:
        self.inner = inner
        self.timeout_s = timeout_s

    def get(self, url: str, **kwargs: Any) -> Any:
        return self._checked(self.inner.get(url, **{**kwargs, "timeout": self.timeout_s}))

    def post(self, url: str, **kwargs: Any) -> Any:
        return self._checked(self.inner.post(url, **{**kwargs, "timeout": self.timeout_s}))

    def close(self) -> None:
        self.inner.close()

    @staticmethod
    def _checked(response: Any) -> Any:
        if response.status_code == 429 or response.status_code >= 500:
            raise SignInUnavailable(response.status_code)
        return response


class MsalTokenProvider:
    """Tokens from msal.ConfidentialClientApplication (client credentials flow), cached for their lifetime.

    The credential (certificate or client secret) is read and checked here, so a missing variable or a
    wrong certificate password fails before any request. `app_factory` stands in for
    `msal.ConfidentialClientApplication` (tests); `clock` is a monotonic clock in seconds. `scope` is the
    resource the tokens are for, `{resource}/.default` (default: the credentials' Graph URL's, as
    `GraphCredentials.scope`; Exchange Online's REST client asks for `https://outlook.office365.com/.default`).
    """

    def __init__(
        self,
        credentials: GraphCredentials,
        *,
        environ: Mapping[str, str] = os.environ,
        timeout_s: float = 30.0,
        app_factory: AppFactory | None = None,
        http: Any = None,
        clock: Callable[[], float] = time.monotonic,
        scope: str | None = None,
    ) -> None:
        self.credentials = credentials
        self.scope = scope or credentials.scope
        self.timeout_s = timeout_s
        self._http = http  # what carries MSAL's requests (tests: a fake); None: a requests.Session
        self._secrets: list[str] = []
        self._client_credential = self._read_credential(environ)
        self._app_factory = app_factory
        self._app: Any = None
        self._sign_in_http: _SignInHttp | None = None
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    @property
    def secrets(self) -> list[str]:
        """Live: the same list object grows as tokens are acquired."""
        return self._secrets

    def token(self, *, timeout: float | None = None) -> str:
        """The cached token, or a new one when it has less than REFRESH_MARGIN_S left. Several clients (a
        rollout's parallel sessions) may share one provider: one sign-in at a time."""
        with self._lock:
            if self._token is not None and self._expires_at - self._clock() > REFRESH_MARGIN_S:
                return self._token
            result = self._acquire(self.timeout_s if timeout is None else min(timeout, self.timeout_s))
            token = result.get("access_token")
            if not isinstance(token, str) or not token:
                raise self._sign_in_error(result)
            self._remember(token)
            self._token = token
            self._expires_at = self._clock() + float(result.get("expires_in") or 0)
            return token

    def _acquire(self, timeout_s: float) -> dict[str, Any]:
        import msal
        import requests

        c = self.credentials
        failure: errors.PsbridgeError | None = None
        result: Any = None
        try:
            if self._app is None:
                http = _SignInHttp(self._http if self._http is not None else requests.Session(), timeout_s)
                factory = self._app_factory or _msal_app
                self._app = factory(
                    c.client_id,
                    authority=c.authority,
                    client_credential=self._client_credential,
                    timeout=self.timeout_s,
                    http_client=http,
                )
                self._sign_in_http = http
            if self._sign_in_http is not None:
                self._sign_in_http.timeout_s = timeout_s
            result = self._app.acquire_token_for_client(scopes=[self.scope])
        except requests.Timeout:
            failure = self._unavailable(f"sign-in at {c.authority_host} timed out after {timeout_s:g} s")
        except requests.RequestException as exc:
            problem = tls.problem(exc)
            what = f"TLS: {problem.text}" if problem is not None else type(exc).__name__
            failure = self._unavailable(f"cannot reach {c.authority_host} to sign in: {what}")
            failure.transient = problem is None or problem.transient  # a certificate that fails, fails again
        except (SignInUnavailable, msal.exceptions.MsalServiceError) as exc:  # MSAL raises for 5xx it is given
            status = f"HTTP {exc.status}" if isinstance(exc, SignInUnavailable) else "HTTP error"
            failure = self._unavailable(f"the sign-in service at {c.authority_host} is unavailable ({status})")
        except ValueError as exc:  # msal: unknown tenant or authority, or a credential it cannot use
            failure = self._redacted(
                errors.AuthenticationError(
                    f"sign-in of app {c.client_id} to tenant {c.tenant_id} failed: {_first_line(str(exc))}",
                    target=c.authority_host,
                )
            )
        if failure is not None:  # raised outside the handler: no requests/MSAL exception in its context
            raise failure
        if not isinstance(result, dict):
            raise self._sign_in_error({})
        return result

    def _unavailable(self, text: str) -> errors.ConnectError:
        """A sign-in that may succeed if tried again: transient, and nothing reached Graph."""
        return errors.ConnectError(text, target=self.credentials.authority_host, command_sent=False)

    def _sign_in_error(self, result: Mapping[str, Any]) -> errors.AuthenticationError:
        c = self.credentials
        error = str(result.get("error") or "no token")
        description = _first_line(str(result.get("error_description") or ""))
        text = f"sign-in of app {c.client_id} to tenant {c.tenant_id} failed: {error}"
        return self._redacted(
            errors.AuthenticationError(f"{text}: {description}" if description else text, target=c.authority_host)
        )

    def _redacted(self, exc: errors.AuthenticationError) -> errors.AuthenticationError:
        exc.redact(self._secrets)
        return exc

    def _remember(self, secret: str) -> None:
        if secret and secret not in self._secrets:
            self._secrets.append(secret)
            logs.protect([secret])

    def _read_credential(self, environ: Mapping[str, str]) -> str | dict[str, str]:
        c = self.credentials
        if c.certificate is not None:
            password = environ.get(c.certificate_password_env) or None
            if password:
                self._remember(password)
            key_pem, cert_pem = load_certificate(c.certificate, password, password_env=c.certificate_password_env)
            self._remember(key_pem)
            # msal >= 1.35 derives the SHA-256 thumbprint (x5t#S256, PS256) from the public certificate.
            return {"private_key": key_pem, "public_certificate": cert_pem}
        secret = environ.get(c.client_secret_env, "")
        if not secret:
            raise errors.InputError(
                f"no Graph app credential: set {c.client_secret_env} to the app's client secret, "
                f"or give a certificate ({CERTIFICATE_ENV})"
            )
        self._remember(secret)
        return secret


def _msal_app(client_id: str, **kwargs: Any) -> Any:
    import msal

    return msal.ConfidentialClientApplication(client_id, **kwargs)


def _first_line(text: str) -> str:
    """AADSTS descriptions continue with trace and correlation ids on further lines: keep the first."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def load_certificate(path: Path, password: str | None, *, password_env: str) -> tuple[str, str]:
    """The private key (unencrypted PKCS#8 PEM, kept in memory only) and certificate (PEM) from a PEM
    file holding both, or from a PFX/P12 file. Errors are one line and never hold the password."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise errors.InputError(f"cannot read the certificate file {path}: {exc.strerror or exc}") from None
    secret = password.encode("utf-8") if password else None
    if b"-----BEGIN" in data:
        key_block, cert_block = _PEM_KEY.search(data), _PEM_CERT.search(data)
        if key_block is None or cert_block is None:
            missing = "private key" if key_block is None else "certificate"
            raise errors.InputError(f"{path} holds no {missing}: the PEM file must hold the certificate and its key")
        encrypted = b"ENCRYPTED" in key_block.group(0)
        if encrypted and secret is None:
            raise errors.InputError(f"the private key in {path} is encrypted: put its password in {password_env}")
        try:
            key: Any = serialization.load_pem_private_key(key_block.group(0), secret if encrypted else None)
            cert: Any = x509.load_pem_x509_certificate(cert_block.group(0))
        except (ValueError, TypeError):
            raise errors.InputError(
                f"cannot read the key or certificate in {path}: wrong password in {password_env}, or damaged PEM"
            ) from None
    else:
        try:
            key, cert, _ = pkcs12.load_key_and_certificates(data, secret)
        except (ValueError, TypeError):
            raise errors.InputError(
                f"cannot open {path} as PFX/PKCS#12: the password in {password_env} is wrong or missing, "
                "or the file is not PKCS#12"
            ) from None
        if key is None or cert is None:
            raise errors.InputError(f"{path} must hold both the certificate and its private key")
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
