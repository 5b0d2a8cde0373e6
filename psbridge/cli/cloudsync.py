"""`psbridge cloudsync ...`: Entra Cloud Sync, mirroring `psbridge.cloudsync` and `psbridge.cloudsync.graph`.

Two backends (`--via`, see `psbridge.cli.graph_options`): AADCloudSyncTools on an agent server over
remoting, or Microsoft Graph app-only. The module keeps its sign-in in the remote session, and a
session lasts one psbridge run: give `--sign-in` to sign in (device code, instruction on stderr) and
run the command in the same run. Reads are here; commands that act are in `psbridge.cli.cloudsync_control`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from psbridge.cli import terminal
from psbridge.cli.confirm import dry_run_option, run_confirmed, yes_option
from psbridge.cli.graph_options import GraphOptions, graph_client, remember, resolve, via_option
from psbridge.cli.group import Group
from psbridge.cli.output import emit
from psbridge.cli.params import Guid, Id, Seconds

if TYPE_CHECKING:
    from psbridge.cloudsync.backend import CloudSyncBackend, GraphBackend
    from psbridge.session import Session

_OPTIONS = "psbridge.cloudsync"
# Templates a Cloud Sync job is created from, which its id starts with (psbridge.cloudsync.models.of_template):
# https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/how-to-inbound-synch-ms-graph
TEMPLATES = ("AD2AADProvisioning", "AD2AADPasswordHash", "AAD2ADExchangeHybridWriteback")


@dataclasses.dataclass
class CloudSyncOptions:
    module_path: str | None
    tenant_id: str | None
    sign_in: bool
    sign_in_timeout: float
    prepared: bool = False


def say(message: str) -> None:
    """A message from the agent (the device-code instruction): to stderr, at once."""
    terminal.notice(message, event="psbridge.cloudsync.agent_message", text=message)


def session(ctx: click.Context) -> Session:
    """The run's Session: first targeted at `--tenant-id` and signed in, when those were given."""
    options: CloudSyncOptions = ctx.meta[_OPTIONS]
    current: Session = ctx.obj.session()
    if not options.prepared:
        from psbridge.cloudsync import connect, set_tenant_id

        if options.tenant_id is not None:
            set_tenant_id(current, tenant_id=options.tenant_id, module_path=options.module_path)
        if options.sign_in:
            connect(current, on_message=say, timeout=options.sign_in_timeout, module_path=options.module_path)
        options.prepared = True
    return current


def module_path(ctx: click.Context) -> str | None:
    options: CloudSyncOptions = ctx.meta[_OPTIONS]
    return options.module_path


def backend(ctx: click.Context, via: str | None) -> CloudSyncBackend:
    """The run's Cloud Sync backend, as `--via` chooses it: the one place the CLI builds one.

    psrp: AADCloudSyncTools on the run's Session (signed in first with `--sign-in`); graph: the run's Graph client.
    """
    from psbridge.cloudsync.backend import GraphBackend, PsrpBackend

    if resolve(ctx, via) == "graph":
        return GraphBackend(graph_client(ctx))
    return PsrpBackend(session(ctx), module_path(ctx))


def graph_backend(ctx: click.Context, via: str | None, command: str) -> GraphBackend:
    """The Graph backend, for `command` that only Graph can run (`--via psrp` is refused, naming it)."""
    resolve(ctx, via, graph_only=command)
    from psbridge.cloudsync.backend import GraphBackend

    return GraphBackend(graph_client(ctx))


@click.group(cls=Group)
@click.option("--module-path", metavar="PATH", help="AADCloudSyncTools folder on the agent [its install path].")
@click.option(
    "--tenant-id",
    type=Id(),
    metavar="ID",
    help="psrp: sign in to this tenant instead of the agent's (with --sign-in); graph: the app's tenant "
    "[PSBRIDGE_GRAPH_TENANT_ID].",
)
@click.option(
    "--sign-in", is_flag=True, help="Sign in with a device code first (instruction on stderr); not unattended."
)
@click.option("--sign-in-timeout", type=Seconds(1), default=960.0, show_default=True, help="Seconds.")
@click.option("--client-id", type=Guid(), metavar="ID", help="graph: the app's client id [PSBRIDGE_GRAPH_CLIENT_ID].")
@click.option(
    "--certificate",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="graph: the app's certificate, PEM (with its key) or PFX [PSBRIDGE_GRAPH_CERTIFICATE]; its password "
    "from PSBRIDGE_GRAPH_CERT_PASSWORD. Without one: the secret in PSBRIDGE_GRAPH_CLIENT_SECRET.",
)
@click.pass_context
def cloudsync(
    ctx: click.Context,
    module_path: str | None,
    tenant_id: str | None,
    sign_in: bool,
    sign_in_timeout: float,
    client_id: str | None,
    certificate: Path | None,
) -> None:
    """Entra Cloud Sync: AADCloudSyncTools on an agent server (--via psrp) or Microsoft Graph (--via graph).

    Over psrp, Graph-backed commands need the module signed in within the same run (--sign-in), with a
    device code someone enters at https://microsoft.com/devicelogin: not for unattended use. Over
    graph, the app signs in by itself with a certificate or a client secret (app-only).
    """
    ctx.meta[_OPTIONS] = CloudSyncOptions(module_path, tenant_id, sign_in, sign_in_timeout)
    remember(ctx, GraphOptions(tenant_id, client_id, certificate))


def job_selector(command: Any) -> Any:
    command = click.option(
        "--template",
        type=click.Choice(TEMPLATES, case_sensitive=False),
        help="Only jobs created from this template (the job id's first part; not the job's templateId).",
    )(command)
    return click.option("--job-id", type=Id(), help="One job (AD2AADProvisioning.<hex>.<guid>).")(command)


@cloudsync.command("status")
@job_selector
@via_option
@click.pass_context
def status(ctx: click.Context, job_id: str | None, template: Any, via: str | None) -> int:
    """Each job's status code, quarantine and last run. Exit code 1 when any job is in quarantine."""
    from psbridge.cli.monitoring import publish_job_status

    report = backend(ctx, via).get_job_status(job_id=job_id, template=template)
    monitored = publish_job_status(ctx, report)  # --output nagios|prometheus, --textfile
    if monitored is not None:
        return monitored
    if ctx.obj.output == "json":
        emit(ctx, list(report.jobs))
    else:
        emit(ctx, [job.summary() for job in report.jobs])
    return 1 if report.quarantined else 0


@cloudsync.command("jobs")
@job_selector
@via_option
@click.pass_context
def jobs(ctx: click.Context, job_id: str | None, template: Any, via: str | None) -> None:
    """Cloud Sync jobs: id, template (from the id) and service principal."""
    result = backend(ctx, via).get_job(job_id=job_id, template=template)
    emit(ctx, list(result.jobs), columns=["id", "template_id", "service_principal_id"])


@cloudsync.command("schedule")
@job_selector
@via_option
@click.pass_context
def schedule(ctx: click.Context, job_id: str | None, template: Any, via: str | None) -> None:
    """Each job's schedule: interval and state."""
    result = backend(ctx, via).get_job_schedule(job_id=job_id, template=template)
    emit(ctx, list(result.schedules), columns=["id", "state", "interval_mins", "interval_text", "expiration"])


@cloudsync.command("settings")
@job_selector
@via_option
@click.pass_context
def settings(ctx: click.Context, job_id: str | None, template: Any, via: str | None) -> None:
    """Each job's settings (e.g. QuarantineTooManyDeletesThreshold)."""
    result = backend(ctx, via).get_job_settings(job_id=job_id, template=template)
    emit(ctx, list(result.settings), columns=["id", "settings"])


@cloudsync.command("scope")
@click.option("--job-id", type=Id(), required=True)
@click.option(
    "--object-type",
    type=click.Choice(["User", "Group", "Contact", "InetOrgPerson", "All"]),
    default="All",
    show_default=True,
)
@click.pass_context
def scope(ctx: click.Context, job_id: str, object_type: Any) -> None:
    """A job's scoping-filter clauses."""
    from psbridge.cloudsync import get_job_scope

    result = get_job_scope(session(ctx), job_id=job_id, object_type=object_type, module_path=module_path(ctx))
    emit(ctx, list(result.rules))


@cloudsync.command("schema")
@click.option("--job-id", type=Id(), required=True)
@via_option
@click.pass_context
def schema(ctx: click.Context, job_id: str, via: str | None) -> None:
    """A job's synchronization schema (the whole document with --output json)."""
    result = backend(ctx, via).get_job_schema(job_id=job_id)
    rows = [
        ("job_id", result.job_id),
        ("id", result.document.get("id")),
        ("version", result.document.get("version")),
        ("directories", [d.get("name") for d in result.directories]),
        ("rules", [r.get("name") for r in result.synchronization_rules]),
    ]
    emit(ctx, result, rows)


@cloudsync.command("info")
@click.pass_context
def info(ctx: click.Context) -> None:
    """The module's state: tenant, signed-in user, agent paths (tokens are never shown)."""
    from psbridge.cloudsync import get_info

    emit(ctx, get_info(session(ctx), module_path=module_path(ctx)))


@cloudsync.command("agent")
@click.pass_context
def agent(ctx: click.Context) -> None:
    """The provisioning agent installed on the agent host, and its version (read from the host itself)."""
    from psbridge.cloudsync import get_agent_version

    emit(ctx, get_agent_version(session(ctx)))


@cloudsync.command("service-principal")
@click.option("--kind", type=click.Choice(["CloudSync", "SyncFabric", "All"]), default="CloudSync", show_default=True)
@click.pass_context
def service_principal(ctx: click.Context, kind: Any) -> None:
    """Service principals: one per Cloud Sync configuration, or SyncFabric, or all."""
    from psbridge.cloudsync import get_service_principal

    result = get_service_principal(session(ctx), kind=kind, module_path=module_path(ctx))
    emit(ctx, list(result.service_principals))


@cloudsync.command("service-account")
@click.pass_context
def service_account(ctx: click.Context) -> int:
    """The ADtoAADSyncServiceAccount user. Exit code 1 when there is none."""
    from psbridge.cloudsync import get_service_account
    from psbridge.types import format_time

    result = get_service_account(session(ctx), module_path=module_path(ctx))
    account = result.account
    rows = [
        ("present", result.present),
        ("id", account.id if account else None),
        ("user_principal_name", account.user_principal_name if account else None),
        ("account_enabled", account.account_enabled if account else None),
        (
            "created_date_time",
            format_time(account.created_date_time) if account and account.created_date_time else None,
        ),
    ]
    emit(ctx, result, rows)
    return 0 if result.present else 1


@cloudsync.command("connect")
@click.option("--timeout", "deadline", type=Seconds(1), default=960.0, show_default=True, help="Seconds.")
@click.pass_context
def connect(ctx: click.Context, deadline: float) -> None:
    """Sign in with a device code (instruction on stderr); checks sign-in works.

    The sign-in lasts for this run only: to sign in and run a command, use `cloudsync --sign-in COMMAND`.
    """
    from psbridge.cloudsync import connect as sign_in
    from psbridge.cloudsync import set_tenant_id as set_tenant

    options: CloudSyncOptions = ctx.meta[_OPTIONS]
    current = ctx.obj.session()
    if options.tenant_id is not None:
        set_tenant(current, tenant_id=options.tenant_id, module_path=options.module_path)
    result = sign_in(current, on_message=say, timeout=deadline, module_path=options.module_path)
    emit(ctx, result, [("tenant_id", result.tenant_id), ("username", result.username), ("connected", result.connected)])


@cloudsync.command("set-tenant-id")
@click.argument("tenant_id", type=Guid())
@click.pass_context
def set_tenant_id(ctx: click.Context, tenant_id: str) -> None:
    """Target another tenant, for this run only (to sign in there: `cloudsync --tenant-id ID --sign-in ...`)."""
    from psbridge.cloudsync import set_tenant_id as set_tenant

    emit(ctx, set_tenant(ctx.obj.session(), tenant_id=tenant_id, module_path=module_path(ctx)))


@cloudsync.command("install-prerequisites")
@dry_run_option
@yes_option
@click.pass_context
def install_prerequisites(ctx: click.Context, dry_run: bool, yes: bool) -> int:
    """Install MSAL.PS and PowerShellGet on the agent. Exit code 1 when a second run is needed.

    --dry-run shows the call, --yes does it (else the plan, then y/N at a terminal).
    """
    from psbridge.cloudsync import install_prerequisites as install

    def act(dry: bool) -> Any:
        result = install(ctx.obj.session(), module_path=module_path(ctx), dry_run=dry)
        emit(ctx, result)
        return result

    result = run_confirmed(yes=yes, dry_run=dry_run, what="install-prerequisites installs modules on the agent",
                           act=act)  # fmt: skip
    if getattr(result, "needs_new_session", False):
        say("psbridge: PowerShellGet was upgraded first; run `psbridge cloudsync install-prerequisites` again")
        return 1
    return 0


def _register() -> None:
    from psbridge.cli import cloudsync_control

    cloudsync_control.register(cloudsync)


_register()
