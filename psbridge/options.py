"""Connection options: those of pypsrp's WSMan, validated once, with the password kept secret."""

from __future__ import annotations

import ipaddress
import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from psbridge.errors import InputError

Auth = Literal["negotiate", "ntlm", "kerberos", "credssp", "basic", "certificate"]
PASSWORD_ENV = "PSBRIDGE_PASSWORD"  # noqa: S105 - the variable name, not a value


class ConnectionOptions(BaseModel):
    """How to reach one target host over WinRM/PSRP.

    TLS is on by default with certificate validation; `cert_validation` takes a bool or the path of a
    CA bundle. `configuration_name` defaults to `Microsoft.PowerShell` because ADSync only loads in
    Windows PowerShell 5.1. `read_timeout` must exceed `operation_timeout`, as pypsrp requires.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field(min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535)
    tls: bool = True
    cert_validation: bool | str = True
    auth: Auth = "negotiate"
    username: str | None = None
    password: SecretStr | None = None
    encryption: Literal["auto", "always", "never"] = "auto"
    configuration_name: str = "Microsoft.PowerShell"
    path: str = "wsman"
    operation_timeout: int = Field(default=20, ge=1)
    read_timeout: int = Field(default=30, ge=2)
    connection_timeout: int = Field(default=30, ge=1)
    certificate_pem: str | None = None
    certificate_key_pem: str | None = None
    negotiate_service: str | None = None
    negotiate_hostname_override: str | None = None
    insecure_cleartext_basic: bool = False

    @model_validator(mode="after")
    def _check(self) -> ConnectionOptions:
        if self.read_timeout <= self.operation_timeout:
            raise ValueError("read_timeout must be greater than operation_timeout")
        if self.auth == "certificate" and not (self.tls and self.certificate_pem and self.certificate_key_pem):
            raise ValueError("certificate auth needs TLS, certificate_pem and certificate_key_pem")
        if self.auth == "basic" and not self.tls:
            self._check_cleartext_basic()
        self._check_encodable()
        return self

    def _check_cleartext_basic(self) -> None:
        safer = "use TLS (the default), or negotiate, ntlm or kerberos auth, which encrypt messages over HTTP"
        if (self.username or self.password) and not (is_loopback(self.host) or self.insecure_cleartext_basic):
            raise ValueError(
                f"basic auth over plain HTTP would send the password in clear text to {self.host}: {safer} "
                "(to accept that risk: insecure_cleartext_basic, --insecure-cleartext-basic)"
            )
        if self.encryption != "never":
            raise ValueError(f"basic auth over plain HTTP cannot encrypt messages: {safer}")

    def _check_encodable(self) -> None:
        """A credential its auth cannot encode: one line that shows no character and no position of it."""
        password = self.password.get_secret_value() if self.password else ""
        codec = "latin-1" if self.auth == "basic" else "utf-8"
        for what, text in (("user name", self.username or ""), ("password", password)):
            try:
                text.encode(codec)
            except UnicodeEncodeError:
                hint = ": use negotiate or ntlm auth, which send Unicode" if codec == "latin-1" else ""
                raise ValueError(f"the {what} has a character {self.auth} auth cannot send ({codec}){hint}") from None

    @classmethod
    def build(cls, **values: object) -> ConnectionOptions:
        """Validate, turning pydantic's report into one InputError line (its input values are never shown,
        and nothing of them stays reachable from the error)."""
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'options'}: {e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors()
            )
        raise InputError(f"invalid connection options: {problems}")

    def warn_if_cleartext(self) -> None:
        """Log the warning owed on each connection that sends Basic credentials over plain HTTP to a host
        that is not loopback (which only `insecure_cleartext_basic` allows)."""
        if self.auth == "basic" and not self.tls and self.insecure_cleartext_basic and not is_loopback(self.host):
            from psbridge.logs import get_logger

            get_logger(target=self.host).warning(
                "psbridge.cleartext_basic",
                message=f"basic auth over plain HTTP: the password goes to {self.host} in clear text "
                "(insecure_cleartext_basic is set)",
            )

    @property
    def effective_port(self) -> int:
        return self.port or (5986 if self.tls else 5985)

    @property
    def endpoint(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.effective_port}/{self.path}"

    def secrets(self) -> list[str]:
        """The password and, with Basic auth, the `user:password` a Basic header encodes."""
        password = self.password.get_secret_value() if self.password else ""
        if not password:
            return []
        return [password, f"{self.username or ''}:{password}"] if self.auth == "basic" else [password]


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 (bracketed or not) or `localhost`: a name is taken as written, never resolved."""
    name = host.strip().rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name.removeprefix("[").removesuffix("]")).is_loopback
    except ValueError:
        return False


def password_from_env() -> SecretStr | None:
    value = os.environ.get(PASSWORD_ENV)
    return SecretStr(value) if value else None
