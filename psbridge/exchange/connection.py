"""Signing in to Exchange Online on the jump host, once per runspace.

Exchange Online cmdlets run on a Windows jump host that has the ExchangeOnlineManagement module.
psbridge reaches the host over PSRP and signs in there unattended with app-only authentication: a
certificate in the host's store (`-AppId -CertificateThumbprint -Organization`), or the host's managed
identity. `connect_exchange_online` registers the sign-in as the session's per-runspace setup, so it
runs once per runspace (repeated connects leak memory: docs/exchange.md), again after a reopen, and
`Disconnect-ExchangeOnline -Confirm:$false` runs when the session closes.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from psbridge.command import Command, ErrorRule, Value
from psbridge.errors import AccessDeniedError, InputError, PrerequisiteMissingError, SignInError
from psbridge.options import ConnectionOptions
from psbridge.session import Session

_ORGANIZATION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*\.onmicrosoft\.(com|us|de|cn)$")
_THUMBPRINT = re.compile(r"^[0-9A-Fa-f]{40}$")

# What Connect-ExchangeOnline reports when app-only sign-in fails (docs/exchange.md, Exchange Online sign-in).
CONNECT_ERRORS = (
    ErrorRule(AccessDeniedError, message_contains="isn't supported in this scenario"),
    ErrorRule(AccessDeniedError, message_contains="UnAuthorized"),
    ErrorRule(AccessDeniedError, message_contains="HttpStatusCode=401"),
    ErrorRule(SignInError, message_contains="Could not use the certificate for signing"),
    ErrorRule(SignInError, message_contains="Error Acquiring Token"),
    ErrorRule(PrerequisiteMissingError, message_contains="The term 'Connect-ExchangeOnline' is not recognized"),
    ErrorRule(PrerequisiteMissingError, message_contains="The term 'Update-ModuleManifest' is not recognized"),
)


class ExoConnection(BaseModel):
    """App-only sign-in settings for Exchange Online. No secret is held: the certificate stays in the
    jump host's store (CurrentUser or LocalMachine), or the host's managed identity is used."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    organization: str = Field(description="the tenant's primary .onmicrosoft.com domain")
    app_id: str | None = None
    certificate_thumbprint: str | None = None
    managed_identity: bool = False
    managed_identity_account_id: str | None = None
    command_names: tuple[str, ...] = ()  # -CommandName: import only these cmdlets (less memory)

    @model_validator(mode="after")
    def _check(self) -> ExoConnection:
        if not _ORGANIZATION.match(self.organization):
            raise ValueError(f"organization must be the tenant's .onmicrosoft.com domain, not {self.organization!r}")
        if self.managed_identity:
            if self.app_id or self.certificate_thumbprint:
                raise ValueError("managed identity takes no app_id or certificate_thumbprint")
        elif not (self.app_id and self.certificate_thumbprint):
            raise ValueError("app-only sign-in needs app_id and certificate_thumbprint (or managed_identity)")
        if self.certificate_thumbprint and not _THUMBPRINT.match(self.certificate_thumbprint):
            raise ValueError("certificate_thumbprint must be 40 hexadecimal characters")
        return self

    @classmethod
    def of(cls, settings: object) -> ExoConnection:
        """The sign-in an object with these field names describes (a config target, the CLI's options).

        Raises:
            ValueError: they do not make a sign-in; the message is the first problem, in one line.
        """
        try:
            return cls(
                organization=getattr(settings, "organization", None) or "",
                app_id=getattr(settings, "app_id", None),
                certificate_thumbprint=getattr(settings, "certificate_thumbprint", None),
                managed_identity=bool(getattr(settings, "managed_identity", False)),
                managed_identity_account_id=getattr(settings, "managed_identity_account_id", None),
            )
        except ValidationError as exc:
            raise ValueError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None

    def connect_command(self) -> Command:
        parameters: dict[str, Value] = {"Organization": self.organization, "ShowBanner": False}
        if self.managed_identity:
            parameters["ManagedIdentity"] = True
            parameters["ManagedIdentityAccountId"] = self.managed_identity_account_id
        else:
            parameters["AppId"] = self.app_id
            parameters["CertificateThumbprint"] = self.certificate_thumbprint
        if self.command_names:
            parameters["CommandName"] = list(self.command_names)
        return Command.cmdlet("Connect-ExchangeOnline", parameters, error_rules=CONNECT_ERRORS)


DISCONNECT = Command.cmdlet("Disconnect-ExchangeOnline", {"Confirm": False})


def connect_exchange_online(session: Session, connection: ExoConnection) -> None:
    """Sign in to Exchange Online in every runspace of `session`, and sign out when it closes.

    Raises (on the first call that opens a runspace, or now if one is open):
        AccessDeniedError: the app lacks Exchange.ManageAsApp or an Entra role.
        SignInError: the certificate cannot be used (missing, no private key, CNG).
        PrerequisiteMissingError: the jump host has no ExchangeOnlineManagement module.
    """
    session.add_runspace_setup(connection.connect_command(), DISCONNECT)


# -- Exchange Server (on-premises) --------------------------------------------------------------------

_SERVER = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9][A-Za-z0-9.-]*$")  # a DNS name: at most 253 characters


def exchange_server_options(host: str, *, https: bool = False, **values: Any) -> ConnectionOptions:
    """Options for an Exchange server's own remoting endpoint: `http(s)://<fqdn>/PowerShell`, the
    `Microsoft.Exchange` configuration and Kerberos (docs/exchange.md; use the FQDN, not an IP).

    Over HTTP, Kerberos encrypts the messages. That runspace is NoLanguage: the wrappers send it plain
    cmdlets only. `values` are further ConnectionOptions fields (username, password, ...).
    """
    settings: dict[str, Any] = {
        "host": host, "tls": https, "port": 443 if https else 80, "path": "PowerShell", "auth": "kerberos",
        "configuration_name": "Microsoft.Exchange", **values,
    }  # fmt: skip
    return ConnectionOptions.build(**settings)


def connect_command_server(server: str, *, disconnect: bool = False) -> Command:
    if not _SERVER.match(server):
        raise InputError(f"an Exchange server is named by its FQDN, not {server!r}")
    return Command.script(
        "exchange/Connect-ExchangeServer.ps1",
        {"Server": server, "Disconnect": True if disconnect else None},
        error_rules=CONNECT_SERVER_ERRORS,
    )


# New-PSSession failures: Kerberos refused on the second hop, or the account lacks Exchange rights.
CONNECT_SERVER_ERRORS = (
    ErrorRule(SignInError, message_contains="Kerberos"),
    ErrorRule(AccessDeniedError, message_contains="Access is denied"),
)


def connect_exchange_server(session: Session, server: str) -> None:
    """Open an on-premises Exchange session from the jump host in every runspace of `session`.

    Runs `exchange/Connect-ExchangeServer.ps1` as the per-runspace setup: New-PSSession to
    `http://<server>/PowerShell/` with Kerberos, and Import-PSSession of Get-Mailbox, Get-RemoteMailbox
    and Get-MailUser with the prefix OnPrem (no clash with Exchange Online). The session is removed
    when `session` closes. From the jump host this is a second Kerberos hop: the account needs
    constrained delegation to the server, or CredSSP to the jump host.
    """
    session.add_runspace_setup(connect_command_server(server), connect_command_server(server, disconnect=True))


# What a Session sends as per-runspace setup and teardown, besides the wrappers (for the contract test).
SESSION_COMMANDS = (
    Command.cmdlet("Connect-ExchangeOnline"),
    DISCONNECT,
    Command.script("exchange/Connect-ExchangeServer.ps1", {"Server": "server.example"}),
)
