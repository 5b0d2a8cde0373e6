"""Connection options: those of pypsrp's WSMan, validated once, with the password kept secret."""

from __future__ import annotations

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

    @model_validator(mode="after")
    def _check(self) -> ConnectionOptions:
        if self.read_timeout <= self.operation_timeout:
            raise ValueError("read_timeout must be greater than operation_timeout")
        if self.auth == "certificate" and not (self.tls and self.certificate_pem and self.certificate_key_pem):
            raise ValueError("certificate auth needs TLS, certificate_pem and certificate_key_pem")
        if self.auth == "basic" and not self.tls and self.encryption != "never":
            raise ValueError("basic auth over plain HTTP cannot encrypt messages; use TLS or encryption='never'")
        return self

    @classmethod
    def build(cls, **values: object) -> ConnectionOptions:
        """Validate, turning pydantic's report into one InputError line."""
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'options'}: {e['msg']}" for e in exc.errors())
            raise InputError(f"invalid connection options: {problems}") from None

    @property
    def effective_port(self) -> int:
        return self.port or (5986 if self.tls else 5985)

    @property
    def endpoint(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.effective_port}/{self.path}"

    def secrets(self) -> list[str]:
        return [self.password.get_secret_value()] if self.password and self.password.get_secret_value() else []


def password_from_env() -> SecretStr | None:
    value = os.environ.get(PASSWORD_ENV)
    return SecretStr(value) if value else None
