"""`psbridge exchange ...`: Exchange Server (on-premises), mirroring `psbridge.exchange`.

Directly, the global `--host` is the Exchange server and psbridge talks to its own remoting endpoint:
`http://<host>/PowerShell` (`--https` for 443), configuration `Microsoft.Exchange`, Kerberos (global
options given explicitly win). With `--via-jump-host SERVER`, the global `--host` is the Windows jump
host, which opens an on-premises Exchange session to SERVER (Kerberos from the jump host: a second hop).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource

from psbridge.cli.group import Group
from psbridge.cli.output import emit
from psbridge.cli.params import Host

if TYPE_CHECKING:
    from psbridge.session import Session

_SETTINGS = "psbridge.exchange"


@dataclasses.dataclass
class ServerSettings:
    via_jump_host: str | None
    connected: bool = False


def server_session(ctx: click.Context) -> Session:
    """The run's Session: to the server's endpoint, or to the jump host with an on-premises session."""
    settings: ServerSettings = ctx.meta[_SETTINGS]
    session: Session = ctx.obj.session()
    if settings.via_jump_host and not settings.connected:
        from psbridge.exchange import connect_exchange_server

        connect_exchange_server(session, settings.via_jump_host)
        settings.connected = True
    return session


@click.group(cls=Group)
@click.option(
    "--via-jump-host", type=Host(), metavar="SERVER", help="Reach Exchange server SERVER through the jump host --host."
)
@click.option("--https", is_flag=True, help="Directly: https://<host>/PowerShell on 443 instead of http on 80.")
@click.pass_context
def exchange(ctx: click.Context, via_jump_host: str | None, https: bool) -> None:
    """Exchange Server on-premises (its Microsoft.Exchange endpoint, or through the jump host)."""
    ctx.meta[_SETTINGS] = ServerSettings(via_jump_host)
    if via_jump_host:
        return
    root = ctx.find_root()
    params = ctx.obj.params

    def default(name: str) -> bool:
        return root.get_parameter_source(name) in (None, ParameterSource.DEFAULT)

    params["path"] = "PowerShell"
    if default("configuration_name"):
        params["configuration_name"] = "Microsoft.Exchange"
    if default("auth"):
        params["auth"] = "kerberos"
    params["no_tls"] = not https
    if default("port"):
        params["port"] = 443 if https else 80


def _getter(kind: str, function: str, what: str) -> click.Group:
    @click.group(kind, cls=Group, help=f"On-premises {what}.")
    def group() -> None:
        pass

    @group.command("get", help=f"One {what}, with ExchangeGuid and RecipientTypeDetails.")
    @click.option("--identity", required=True, help="UPN, GUID, email address or alias.")
    @click.pass_context
    def get(ctx: click.Context, identity: str) -> None:
        import psbridge.exchange

        settings: ServerSettings = ctx.meta[_SETTINGS]
        read = getattr(psbridge.exchange, function)
        emit(ctx, read(server_session(ctx), identity=identity, via_jump_host=settings.via_jump_host is not None))

    return group


exchange.add_command(_getter("mailbox", "get_server_mailbox", "mailbox"))
exchange.add_command(
    _getter("remote-mailbox", "get_server_remote_mailbox", "remote mailbox (the AD side of a cloud mailbox)")
)
exchange.add_command(_getter("mail-user", "get_server_mail_user", "mail user"))
