"""`psbridge exo ...`: Exchange Online, mirroring `psbridge.exchange`, through a Windows jump host or over REST.

`--via psrp` (the default): the global `--host` is the jump host. `--via rest`: no jump host; the cmdlets go
over HTTPS to Exchange Online's InvokeCommand endpoint (docs/exchange-rest.md), signed in app-only with the
credentials psbridge uses for Graph (PSBRIDGE_GRAPH_TENANT_ID, PSBRIDGE_GRAPH_CLIENT_ID and a certificate or
client secret, or the config file's [graph] table); `--organization` names the tenant when it is not the
app's own. The backend comes from `--via`, else PSBRIDGE_EXO_VIA, else the exo target's `via`, else psrp.

Through the jump host, the group's options say how it signs in to Exchange Online,
once for the run: app-only with a certificate in the host's store (`--organization --app-id
--certificate-thumbprint`), or the host's managed identity (`--organization --managed-identity`);
also from PSBRIDGE_EXO_ORGANIZATION, PSBRIDGE_EXO_APP_ID, PSBRIDGE_EXO_CERT_THUMBPRINT and
PSBRIDGE_EXO_MANAGED_IDENTITY, else from the run's target in the config file (`--target`, or its `exo`
target). With `--replay` they may be left out: the recording decides.

Commands that change the tenant follow `psbridge.cli.confirm`: `--dry-run` shows the plan, `--yes` does it.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from psbridge.cli import terminal
from psbridge.cli.confirm import dry_run_option, run_confirmed, yes_option
from psbridge.cli.group import Group
from psbridge.cli.output import emit, emit_change
from psbridge.cli.params import NotBoth, ResultSize

if TYPE_CHECKING:
    from psbridge.config import Target
    from psbridge.exchange.backend import ExchangeOnline
    from psbridge.session import Session

_SETTINGS = "psbridge.exo"
MAILBOX_COLUMNS = ("identity", "user_principal_name", "recipient_type_details", "is_dir_synced",
                   "is_exchange_cloud_managed")  # fmt: skip

identity_option = click.option("--identity", required=True, help="UPN, GUID or email address.")


@dataclasses.dataclass
class ExoSettings:
    organization: str | None
    app_id: str | None
    certificate_thumbprint: str | None
    managed_identity: bool
    via: str | None = None
    connected: bool = False
    managed_identity_account_id: str | None = None

    def defaulted(self, target: Target | None) -> ExoSettings:
        """These settings, each one not given taken from the run's target in the config file, if any.

        A sign-in method given here (an app and certificate, or the managed identity) replaces the target's.
        """
        if target is None:
            return self
        own_method = self.app_id or self.certificate_thumbprint or self.managed_identity
        return ExoSettings(
            organization=self.organization or target.organization,
            app_id=self.app_id or (None if own_method else target.app_id),
            certificate_thumbprint=self.certificate_thumbprint
            or (None if own_method else target.certificate_thumbprint),
            managed_identity=self.managed_identity or (not own_method and target.managed_identity),
            managed_identity_account_id=None if own_method else target.managed_identity_account_id,
        )


def exo_via(ctx: click.Context) -> str:
    """The run's Exchange Online backend: --via (or PSBRIDGE_EXO_VIA), else the exo target's `via`, else psrp."""
    settings: ExoSettings = ctx.meta[_SETTINGS]
    if settings.via is not None:
        return settings.via
    target = ctx.obj.target()
    return target.via if target is not None and target.role == "exo" and target.via else "psrp"


def exo_backend(ctx: click.Context) -> ExchangeOnline:
    """What the run's Exchange Online commands are given: the REST client, or the signed-in jump-host Session."""
    if exo_via(ctx) != "rest":
        return exo_session(ctx)
    settings: ExoSettings = ctx.meta[_SETTINGS]
    if settings.app_id or settings.certificate_thumbprint or settings.managed_identity:
        raise click.UsageError(
            "--app-id, --certificate-thumbprint and --managed-identity sign a jump host in; --via rest signs in "
            "with the Graph app's credentials (PSBRIDGE_GRAPH_TENANT_ID, PSBRIDGE_GRAPH_CLIENT_ID, and "
            "PSBRIDGE_GRAPH_CERTIFICATE or PSBRIDGE_GRAPH_CLIENT_SECRET)"
        )
    return ctx.obj.targets().exo_rest(organization=settings.organization)  # type: ignore[no-any-return]


def exo_session(ctx: click.Context) -> Session:
    """The run's Session to the jump host, signed in to Exchange Online once per runspace."""
    settings: ExoSettings = ctx.meta[_SETTINGS]
    if settings.connected:
        return ctx.obj.session()  # type: ignore[no-any-return]
    settings = ctx.meta[_SETTINGS] = settings.defaulted(ctx.obj.target())
    given = settings.organization or settings.app_id or settings.certificate_thumbprint or settings.managed_identity
    if not given and not ctx.obj.params["replay"]:
        raise click.UsageError(
            "Exchange Online needs --organization with --app-id and --certificate-thumbprint, or with "
            "--managed-identity (or PSBRIDGE_EXO_ORGANIZATION, PSBRIDGE_EXO_APP_ID, PSBRIDGE_EXO_CERT_THUMBPRINT, "
            "or those keys of an exo target in the config file)"
        )
    session: Session = ctx.obj.session()
    sign_in = exo_sign_in(ctx)
    if sign_in is not None:
        sign_in(session)
    settings.connected = True
    return session


def exo_sign_in(ctx: click.Context) -> Callable[[Session], None] | None:
    """What signs a session to the jump host in to Exchange Online as the run's own was (None: nothing, as
    under replay without sign-in options); `exo rollout --parallel` signs its extra sessions in with it."""
    settings: ExoSettings = ctx.meta[_SETTINGS]
    given = settings.organization or settings.app_id or settings.certificate_thumbprint or settings.managed_identity
    if not given:
        return None
    connection = _connection(settings)

    def sign_in(session: Session) -> None:
        from psbridge.exchange import connect_exchange_online

        connect_exchange_online(session, connection)

    return sign_in


def _connection(settings: ExoSettings) -> Any:
    from psbridge.exchange import ExoConnection

    try:
        return ExoConnection.of(settings)
    except ValueError as exc:
        raise click.UsageError(f"Exchange Online sign-in: {exc}") from None


@click.group(cls=Group)
@click.option(
    "--via",
    type=click.Choice(["psrp", "rest"]),
    envvar="PSBRIDGE_EXO_VIA",
    help="psrp: a Windows jump host; rest: Exchange Online's REST endpoint, no jump host (unverified on real "
    "tenants: docs/exchange-rest.md). [the exo target's via, else psrp]",
)
@click.option("--organization", envvar="PSBRIDGE_EXO_ORGANIZATION", help="The tenant's .onmicrosoft.com domain.")
@click.option("--app-id", envvar="PSBRIDGE_EXO_APP_ID", help="App registration with Exchange.ManageAsApp.")
@click.option(
    "--certificate-thumbprint", envvar="PSBRIDGE_EXO_CERT_THUMBPRINT", help="The app's certificate on the jump host."
)
@click.option(
    "--managed-identity", is_flag=True, envvar="PSBRIDGE_EXO_MANAGED_IDENTITY", help="Sign in as the host's identity."
)
@click.pass_context
def exo(
    ctx: click.Context,
    via: str | None,
    organization: str | None,
    app_id: str | None,
    certificate_thumbprint: str | None,
    managed_identity: bool,
) -> None:
    """Exchange Online: ExchangeOnlineManagement on a Windows jump host (--via psrp), or its REST endpoint
    (--via rest); app-only sign-in either way."""
    ctx.meta[_SETTINGS] = ExoSettings(organization, app_id, certificate_thumbprint, managed_identity, via)


# -- mailboxes ---------------------------------------------------------------------------------------------


@exo.group()
def mailbox() -> None:
    """Mailboxes: one by identity, or many with an OPATH filter."""


@mailbox.command("get")
@identity_option
@click.pass_context
def mailbox_get(ctx: click.Context, identity: str) -> None:
    """One mailbox, with IsDirSynced and IsExchangeCloudManaged."""
    from psbridge.exchange import get_mailbox

    emit(ctx, get_mailbox(exo_backend(ctx), identity=identity))


@mailbox.command("list")
@click.option("--filter", "opath", metavar="OPATH", help="""OPATH filter, e.g. 'IsDirSynced -eq $true'.""")
@click.option(
    "--result-size", type=ResultSize(), default="Unlimited", show_default=True, help="A number, or Unlimited."
)
@click.option(
    "--cloud-managed/--not-cloud-managed", cls=NotBoth, default=None, help="Keep only (non-)cloud-managed mailboxes."
)
@click.option("--page-size", type=click.IntRange(1, 100_000), default=1000, show_default=True)
@click.pass_context
def mailbox_list(
    ctx: click.Context, opath: str | None, result_size: str, cloud_managed: bool | None, page_size: int
) -> None:
    """Mailboxes, streamed page by page (one pipeline per page)."""
    from psbridge.exchange import iter_mailboxes

    listing = iter_mailboxes(
        exo_backend(ctx), opath=opath, result_size=result_size, cloud_managed=cloud_managed, page_size=page_size
    )
    mailboxes = iter(listing)
    first = next(mailboxes, None)  # the first page: its errors come before anything is printed
    rest = itertools.chain([] if first is None else [first], mailboxes)
    if ctx.obj.output == "json":  # one JSON array, written as the pages arrive
        click.echo("[", nl=False)
        for index, item in enumerate(rest):
            text = json.dumps(item.model_dump(mode="json"), indent=2, ensure_ascii=False)
            click.echo(("," if index else "") + "\n  " + text.replace("\n", "\n  "), nl=False)
        click.echo("\n]")
    else:
        emit(ctx, list(rest), columns=MAILBOX_COLUMNS)
    if listing.truncated:
        terminal.warning("the result was cut at --result-size; more mailboxes match")


# -- changes -------------------------------------------------------------------------------------------------


@exo.group("cloud-managed")
def cloud_managed() -> None:
    """Where a dir-synced mailbox's Exchange attributes are managed (IsExchangeCloudManaged)."""


@cloud_managed.command("set")
@identity_option
@click.option(
    "--enable/--disable", "enabled", cls=NotBoth, required=True, help="Exchange Online (enable) or on-premises AD."
)
@dry_run_option
@yes_option
@click.pass_context
def cloud_managed_set(ctx: click.Context, identity: str, enabled: bool, dry_run: bool, yes: bool) -> None:
    """Move one mailbox's Exchange attributes to Exchange Online, or back."""
    from psbridge.exchange import set_mailbox_cloud_managed

    def act(dry: bool) -> Any:
        result = set_mailbox_cloud_managed(exo_backend(ctx), identity=identity, enabled=enabled, dry_run=dry)
        emit_change(ctx, result, ("identity", "is_dir_synced", "is_exchange_cloud_managed"))
        return result

    run_confirmed(yes=yes, dry_run=dry_run, what=f"cloud-managed set changes mailbox {identity}", act=act)


@exo.group("org-default")
def org_default() -> None:
    """Whether new dir-synced mailboxes get cloud-managed Exchange attributes."""


@org_default.command("get")
@click.pass_context
def org_default_get(ctx: click.Context) -> None:
    """The tenant default (None when the tenant does not report it)."""
    from psbridge.exchange import get_organization_config

    emit(ctx, get_organization_config(exo_backend(ctx)))


@org_default.command("set")
@click.option(
    "--enable/--disable", "enabled", cls=NotBoth, required=True, help="Cloud-managed (enable) or server-managed."
)
@dry_run_option
@yes_option
@click.pass_context
def org_default_set(ctx: click.Context, enabled: bool, dry_run: bool, yes: bool) -> None:
    """Set the tenant default. Do not enable it while on-premises mailboxes, mail users or remote
    mailboxes are still being created."""
    from psbridge.exchange import set_organization_config

    def act(dry: bool) -> Any:
        # Enabling it logs psbridge.exchange.cloud_managed_by_default, a warning: shown once, by the log.
        result = set_organization_config(exo_backend(ctx), cloud_managed_by_default=enabled, dry_run=dry)
        emit_change(ctx, result, ("cloud_managed_by_default",))
        return result

    run_confirmed(yes=yes, dry_run=dry_run, what="org-default set changes the whole tenant", act=act)


@exo.group("email-address")
def email_address() -> None:
    """Proxy addresses of a mailbox: SMTP:primary, smtp:secondary (a bare address is secondary)."""


def _email_command(action: str) -> click.Command:
    @click.command(action)
    @identity_option
    @click.option("--address", "addresses", multiple=True, required=True, help="Repeat for several.")
    @dry_run_option
    @yes_option
    @click.pass_context
    def run(ctx: click.Context, identity: str, addresses: tuple[str, ...], dry_run: bool, yes: bool) -> None:
        from psbridge.exchange import set_mailbox_email_addresses

        def act(dry: bool) -> Any:
            result = set_mailbox_email_addresses(
                exo_backend(ctx), identity=identity, dry_run=dry, **{action: list(addresses)}
            )
            emit_change(ctx, result, ("primary_smtp_address", "email_addresses"))
            return result

        run_confirmed(yes=yes, dry_run=dry_run, what=f"email-address {action} changes mailbox {identity}", act=act)

    run.help = f"{action.capitalize()} addresses; only what is {'missing' if action == 'add' else 'present'} is sent."
    return run


email_address.add_command(_email_command("add"))
email_address.add_command(_email_command("remove"))


# -- users and domains ---------------------------------------------------------------------------------------


@exo.group()
def user() -> None:
    """Users, with their recipient types."""


@user.command("get")
@identity_option
@click.pass_context
def user_get(ctx: click.Context, identity: str) -> None:
    """RecipientType, RecipientTypeDetails and PreviousRecipientTypeDetails of a user."""
    from psbridge.exchange import get_user

    emit(ctx, get_user(exo_backend(ctx), identity=identity))


@exo.command("clear-previous-mailbox-info")
@identity_option
@dry_run_option
@click.option("--yes", is_flag=True, help="Clear it: IRREVERSIBLE (the earlier mailbox and its content are lost).")
@click.pass_context
def clear_previous(ctx: click.Context, identity: str, dry_run: bool, yes: bool) -> None:
    """Permanently clear a mail user's previous mailbox info (Set-User -PermanentlyClearPreviousMailboxInfo).

    IRREVERSIBLE. Without --yes it shows what would happen, then asks y/N at a terminal (elsewhere:
    exit 2); refused when the user is not a MailUser with PreviousRecipientTypeDetails set.
    """
    from psbridge.exchange import clear_previous_mailbox_info

    def act(dry: bool) -> Any:
        result = clear_previous_mailbox_info(exo_backend(ctx), identity=identity, confirm_irreversible=not dry,
                                             dry_run=dry)  # fmt: skip
        emit_change(ctx, result, ("recipient_type_details", "previous_recipient_type_details"))
        return result

    what = f"this would permanently clear the previous mailbox info of {identity} (irreversible)"
    run_confirmed(yes=yes, dry_run=dry_run, what=what, act=act)


@exo.command("accepted-domains")
@click.pass_context
def accepted_domains(ctx: click.Context) -> None:
    """Accepted domains, flagging the tenant routing domain (<tenant>.mail.onmicrosoft.com)."""
    from psbridge.exchange import get_accepted_domains

    result = get_accepted_domains(exo_backend(ctx))
    if ctx.obj.output == "json":
        emit(ctx, result)
        return
    emit(ctx, list(result.domains))
    if not result.has_tenant_routing_domain:
        terminal.warning(
            "no tenant routing domain (*.mail.onmicrosoft.com): the Hybrid Configuration Wizard will fail with HCW8001"
        )
