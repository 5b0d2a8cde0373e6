"""`psbridge cloudsync` commands that act: job control, schema, repairs, Graph writes, diagnostics.

Every command that changes something follows `psbridge.cli.confirm`: `--dry-run` prints the plan and
sends nothing that changes anything, `--yes` does it, neither shows the plan and asks y/N at a terminal
(off a terminal: exit 2). Job control runs on either
backend (`--via`); restart scopes, provision on demand, the deletion threshold and the tenant's sync
facts need Graph.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click

from psbridge.cli.cloudsync import backend, graph_backend, module_path, session
from psbridge.cli.confirm import dry_run_option, run_confirmed, yes_option
from psbridge.cli.graph_options import resolve, via_option
from psbridge.cli.group import Group
from psbridge.cli.output import emit, emit_change
from psbridge.cli.params import Guid, HttpsUrl, Id, Int32, JobStatusCode, JsonText, NonEmpty, NotBoth, Seconds

if TYPE_CHECKING:
    from psbridge.cloudsync.changes import JobChange
    from psbridge.cloudsync.models import DeletionThreshold, JobSchema, JobStatus


def _job_control(name: Literal["restart", "suspend", "resume"], doc: str, extra: tuple[Any, ...] = ()) -> click.Command:
    def command(
        ctx: click.Context,
        job_id: str,
        wait_for: str | None,
        deadline: float,
        poll: float,
        dry_run: bool,
        via: str | None,
        yes: bool,
        scope: str | None = None,
        confirm_force_deletes: bool = False,
    ) -> int:
        if (scope is not None or confirm_force_deletes) and resolve(ctx, via) != "graph":
            raise click.UsageError(f"{name} --scope needs --via graph: AADCloudSyncTools always restarts with Full")
        jobs = backend(ctx, via)

        def act(dry: bool) -> JobChange:
            if name == "restart":
                result = jobs.restart_job(job_id=job_id, scope="Full" if scope is None else scope,
                                          confirm_force_deletes=confirm_force_deletes, wait_for=wait_for,
                                          deadline_s=deadline, poll_s=poll, dry_run=dry)  # fmt: skip
            else:
                control = jobs.suspend_job if name == "suspend" else jobs.resume_job
                result = control(job_id=job_id, wait_for=wait_for, deadline_s=deadline, poll_s=poll, dry_run=dry)
            _emit_job_change(ctx, result)
            return result

        result = run_confirmed(yes=yes, dry_run=dry_run, what=f"{name} changes job {job_id}", act=act)
        return 0 if result.ok else 1

    command.__doc__ = doc
    options: list[Any] = [
        click.option("--job-id", type=Id(), required=True),
        click.option(
            "--wait-for",
            type=JobStatusCode(),
            metavar="CODE",
            help="Wait for this status code: NotConfigured, NotRun, Active, Paused or Quarantine (any case).",
        ),
        click.option("--deadline", type=Seconds(), default=300.0, show_default=True, help="Seconds."),
        click.option("--poll", type=Seconds(), default=10.0, show_default=True, help="Seconds."),
        dry_run_option,
        via_option,
        yes_option,
        *extra,
        click.pass_context,
    ]
    decorated: Any = command
    for option in reversed(options):
        decorated = option(decorated)
    return click.command(name)(decorated)


_RESTART_OPTIONS = (
    click.option(
        "--scope",
        metavar="SCOPES",
        help="graph: reset scope, Full or a comma-separated list of Watermark, Escrows, QuarantineState, "
        "ForceDeletes; '' (empty) for what the admin center's Restart provisioning does [Full].",
    ),
    click.option(
        "--confirm-force-deletes",
        is_flag=True,
        help="graph: confirm a scope with ForceDeletes, which deletes what the deletion threshold held back.",
    ),
)


def _emit_job_change(ctx: click.Context, result: JobChange) -> None:
    emit_change(ctx, result, ("code", ("quarantine_reason", _quarantine_reason)),
                about=[("action", result.action), ("job_id", result.job_id)],
                then=[("wait_for", result.wait_for), ("reached", result.reached), ("note", result.note)])  # fmt: skip


def _quarantine_reason(status: JobStatus) -> str | None:
    return status.quarantine.reason if status.quarantine else None


def register(group: click.Group) -> None:
    wait_help = " With --wait-for, exit code 1 when the job does not reach the code before the deadline."
    group.add_command(_job_control("restart", (
        "Restart a job. AADCloudSyncTools always resets Full; with --via graph,"
        " --scope picks the reset scope (ForceDeletes also needs --confirm-force-deletes; --scope '' is the"
        " admin center's Restart provisioning)." + wait_help
    ), _RESTART_OPTIONS))  # fmt: skip
    group.add_command(_job_control("suspend", "Pause a job." + wait_help))
    group.add_command(_job_control("resume", "Start a Paused or quarantined job." + wait_help))
    for command in (set_schema, disable_deletion_prevention, repair_account, remove_group_members, query, export_logs):
        group.add_command(command)
    for command in (verbose_logs, provision_on_demand, deletion_threshold, tenant_sync):
        group.add_command(command)


@click.command("set-schema")
@click.option("--job-id", type=Id(), required=True)
@click.option("--file", "path", type=click.File("r", encoding="utf-8"), required=True, help="Schema JSON ('-': stdin).")
@dry_run_option
@yes_option
@click.pass_context
def set_schema(ctx: click.Context, job_id: str, path: Any, dry_run: bool, yes: bool) -> None:
    """Replace a job's whole synchronization schema."""
    from psbridge.cloudsync import set_job_schema

    schema = path.read()

    def act(dry: bool) -> Any:
        result = set_job_schema(session(ctx), job_id=job_id, schema=schema, dry_run=dry, module_path=module_path(ctx))
        emit_change(ctx, result, (("version", _schema_version), ("rules", _rule_names)), about=[("job_id", job_id)])
        return result

    run_confirmed(yes=yes, dry_run=dry_run, what=f"set-schema replaces the schema of job {job_id}", act=act)


def _schema_version(schema: JobSchema) -> Any:
    return schema.document.get("version")


def _rule_names(schema: JobSchema) -> list[Any]:
    return [rule.get("name") for rule in schema.synchronization_rules]


@click.command("disable-dirsync-deletion-prevention")
@click.option("--tenant-id", type=Guid(), required=True, metavar="GUID")
@dry_run_option
@yes_option
@click.pass_context
def disable_deletion_prevention(ctx: click.Context, tenant_id: str, dry_run: bool, yes: bool) -> None:
    """Turn off Connect Sync's tenant-wide accidental-deletion prevention."""
    from psbridge.cloudsync import disable_dirsync_accidental_deletion_prevention as disable

    def act(dry: bool) -> Any:
        result = disable(session(ctx), tenant_id=tenant_id, dry_run=dry, module_path=module_path(ctx))
        emit_change(ctx, result, ("synchronization_prevention_type", "alert_threshold"),
                    about=[("tenant_id", result.before.tenant_id)], then=[("messages", result.messages)])  # fmt: skip
        return result

    what = "disable-dirsync-deletion-prevention changes a tenant-wide setting"
    run_confirmed(yes=yes, dry_run=dry_run, what=what, act=act)


@click.command("repair-account")
@dry_run_option
@yes_option
@click.pass_context
def repair_account(ctx: click.Context, dry_run: bool, yes: bool) -> None:
    """Recreate the sync service account (gone from agent 1.1.2505.0)."""
    from psbridge.cloudsync import repair_account as repair

    def act(dry: bool) -> Any:
        result = repair(session(ctx), dry_run=dry, module_path=module_path(ctx))
        if result.dry_run:  # the account is recreated: its after-state is unknown until then, never "unchanged"
            emit(ctx, result, [("would_change", result.would_change), ("dry_run", True),
                               *((name, _unknown_after(result.before, name)) for name in _ACCOUNT_ROWS),
                               ("note", result.note)])  # fmt: skip
        else:
            emit_change(ctx, result, _ACCOUNT_ROWS, then=[("messages", result.messages)])
        return result

    run_confirmed(yes=yes, dry_run=dry_run, what="repair-account deletes and recreates the sync service account",
                  act=act)  # fmt: skip


_ACCOUNT_ROWS = ("id", "user_principal_name", "created_date_time")


def _unknown_after(account: Any, name: str) -> str:
    from psbridge.types import format_time

    value = getattr(account, name) if account is not None else None
    shown = "-" if value is None else format_time(value) if name == "created_date_time" else str(value)
    return f"{shown} -> (known after the repair)"


@click.command("remove-group-members")
@click.option("--group-id", type=Guid(), required=True, metavar="GUID", help="Object id of the Entra group.")
@click.pass_context
def remove_group_members(ctx: click.Context, group_id: str) -> None:
    """Not available remotely: the module asks y/n with Read-Host. Says how to run it instead."""
    from psbridge.cloudsync import remove_group_members as remove

    remove(ctx.obj.session(), group_object_id=group_id)


@click.command("query")
@click.option("--uri", type=HttpsUrl(), required=True, help="Full Graph URI, e.g. https://graph.microsoft.com/beta/...")
@click.option(
    "--method", type=click.Choice(["GET", "DELETE", "PATCH", "POST", "PUT"]), default="GET", show_default=True
)
@click.option("--body", type=JsonText(), help="Request body (JSON text).")
@click.option("--single-page", is_flag=True, help="Do not follow @odata.nextLink.")
@dry_run_option
@yes_option
@click.pass_context
def query(
    ctx: click.Context, uri: str, method: Any, body: str | None, single_page: bool, dry_run: bool, yes: bool
) -> None:
    """A Microsoft Graph request with the module's token.

    GET reads and runs as is; any other method may change the tenant: --dry-run shows the request,
    --yes sends it (else the plan, then y/N at a terminal).
    """
    from psbridge.cloudsync import invoke_graph_query

    def act(dry: bool) -> Any:
        result = invoke_graph_query(session(ctx), uri=uri, method=method, body=body, fetch_all_pages=not single_page,
                                    module_path=module_path(ctx), dry_run=dry)  # fmt: skip
        emit(ctx, result)
        return result

    run_confirmed(yes=yes or method == "GET", dry_run=dry_run, what=f"query --method {method} may change the tenant",
                  act=act)  # fmt: skip


@click.command("export-logs")
@click.option("--tracing-mins", type=Int32(), default=3, show_default=True)
@click.option("--skip-verbose-trace", is_flag=True)
@click.option("--output-path", metavar="REMOTE_DIR", help="Folder on the agent [the remote user's Documents].")
@click.option("--download", type=click.Path(path_type=Path), help="Copy the zip here (a file or a folder).")
@dry_run_option
@yes_option
@click.pass_context
def export_logs(
    ctx: click.Context,
    tracing_mins: int,
    skip_verbose_trace: bool,
    output_path: str | None,
    download: Path | None,
    dry_run: bool,
    yes: bool,
) -> None:
    """Collect the agent's diagnostics into a zip (traces verbosely for --tracing-mins first, which
    restarts the agent service)."""
    from psbridge.cloudsync import export_logs as export

    def act(dry: bool) -> Any:
        result = export(
            session(ctx),
            local_path=download,
            tracing_duration_mins=tracing_mins,
            skip_verbose_trace=skip_verbose_trace,
            output_path=output_path,
            module_path=module_path(ctx),
            dry_run=dry,
        )
        emit(ctx, result)
        return result

    run_confirmed(yes=yes, dry_run=dry_run, what="export-logs traces and writes on the agent", act=act)


@click.group("verbose-logs", cls=Group)
def verbose_logs() -> None:
    """The agent's verbose trace (each command restarts the agent service unless told not to)."""


def _verbose_logs(name: Literal["start", "stop"], doc: str) -> None:
    @verbose_logs.command(name, help=doc)
    @click.option("--skip-service-restart", is_flag=True, help="Changes take effect at the next restart.")
    @dry_run_option
    @yes_option
    @click.pass_context
    def command(ctx: click.Context, skip_service_restart: bool, dry_run: bool, yes: bool) -> None:
        from psbridge.cloudsync import start_verbose_logs, stop_verbose_logs

        function = start_verbose_logs if name == "start" else stop_verbose_logs

        def act(dry: bool) -> Any:
            result = function(session(ctx), skip_service_restart=skip_service_restart, module_path=module_path(ctx),
                              dry_run=dry)  # fmt: skip
            emit(ctx, result)
            return result

        what = f"verbose-logs {name} changes the agent's trace" + ("" if skip_service_restart else " and restarts it")
        run_confirmed(yes=yes, dry_run=dry_run, what=what, act=act)


_verbose_logs("start", "Turn on the agent's verbose trace.")
_verbose_logs("stop", "Restore the agent's default trace.")


# -- Graph only ------------------------------------------------------------------------------------


@click.command("provision-on-demand")
@click.option("--job-id", type=Id(), required=True)
@click.option("--dn", "distinguished_name", required=True, type=NonEmpty(), help="The AD object's distinguished name.")
@click.option("--object-type", type=click.Choice(["user", "group"]), default="user", show_default=True)
@click.option("--rule-id", type=Id(), help="The synchronization rule [the job schema's AD-to-Entra rule].")
@dry_run_option
@yes_option
@via_option
@click.pass_context
def provision_on_demand(
    ctx: click.Context,
    job_id: str,
    distinguished_name: str,
    object_type: Any,
    rule_id: str | None,
    dry_run: bool,
    yes: bool,
    via: str | None,
) -> int:
    """Provision one AD user or group now, by DN, and show each step (Graph only).

    Exit code 1 when the result is not Success (e.g. Skipped: the object is out of scope).
    """
    resolve(ctx, via, graph_only="provision-on-demand")
    provisioner = graph_backend(ctx, via, "provision-on-demand")

    def act(dry: bool) -> Any:
        result = provisioner.provision_on_demand(
            job_id=job_id, distinguished_name=distinguished_name, object_type=object_type, rule_id=rule_id, dry_run=dry
        )
        _emit_provisioning(ctx, result)
        return result

    what = f"provision-on-demand writes {distinguished_name} to Entra ID"
    result = run_confirmed(yes=yes, dry_run=dry_run, what=what, act=act)
    return 0 if result.dry_run or result.succeeded else 1


def _emit_provisioning(ctx: click.Context, result: Any) -> None:
    rows: list[tuple[str, Any]] = [
        ("job_id", result.job_id),
        ("object_id", result.object_id),
        ("rule_id", result.rule_id),
        ("dry_run", result.dry_run),
    ]
    info = result.status_info
    if result.dry_run:  # what it would do: each step's outcome exists only once it has run
        rows += [
            ("would_change", result.would_change),
            ("result", "not run: provisioning on demand runs every step below, and only it says how each went"),
            *result.planned_steps.items(),
            ("would_send", result.would_send),
        ]
    else:
        rows += [
            ("result", result.result),
            *result.stages.items(),
            ("error_code", result.error_code or (info.error_code if info else None)),
            ("reason", info.reason if info else None),
            ("recommended_action", info.recommended_action if info else None),
        ]
    emit(ctx, result, rows)


@click.group("deletion-threshold", cls=Group)
def deletion_threshold() -> None:
    """Cloud Sync's accidental-deletion threshold of a job's configuration (Graph only)."""


def _threshold(threshold: DeletionThreshold) -> str:
    state = "on" if threshold.effective_enabled else "off"
    return f"{threshold.effective_value} ({state}{'' if threshold.configured else ', default'})"


@deletion_threshold.command("get")
@click.option("--job-id", type=Id(), required=True)
@via_option
@click.pass_context
def get_threshold(ctx: click.Context, job_id: str, via: str | None) -> None:
    """The threshold: deletes in one run are held back from the threshold value on."""
    result = graph_backend(ctx, via, "deletion-threshold").get_deletion_threshold(job_id=job_id)
    rows = [
        ("service_principal_id", result.service_principal_id),
        ("threshold", _threshold(result)),
        ("notify_on_quarantine", result.notify_on_quarantine),
        ("secret_keys", list(result.secret_keys)),
    ]
    emit(ctx, result, rows)


@deletion_threshold.command("set")
@click.option("--job-id", type=Id(), required=True)
@click.option("--value", type=Int32(), help="The new threshold.")
@click.option("--enable/--disable", "enabled", cls=NotBoth, default=None, help="Turn the threshold on or off.")
@dry_run_option
@yes_option
@via_option
@click.pass_context
def set_threshold(
    ctx: click.Context, job_id: str, value: int | None, enabled: bool | None, dry_run: bool, yes: bool, via: str | None
) -> None:
    """Change the threshold: reads every secret, changes only the threshold, writes all back."""
    resolve(ctx, via, graph_only="deletion-threshold")
    if value is None and enabled is None:
        raise click.UsageError("deletion-threshold set needs --value, --enable or --disable")
    thresholds = graph_backend(ctx, via, "deletion-threshold")

    def act(dry: bool) -> Any:
        result = thresholds.set_deletion_threshold(job_id=job_id, value=value, enabled=enabled, dry_run=dry)
        emit_change(ctx, result, (("threshold", _threshold), "secret_keys"), about=[("job_id", job_id)])
        return result

    what = f"deletion-threshold set changes the secrets of job {job_id}'s configuration"
    run_confirmed(yes=yes, dry_run=dry_run, what=what, act=act)


@click.command("tenant-sync")
@via_option
@click.pass_context
def tenant_sync(ctx: click.Context, via: str | None) -> None:
    """The tenant's directory-sync facts: sync on, last sync, Connect Sync's deletion prevention (Graph only)."""
    emit(ctx, graph_backend(ctx, via, "tenant-sync").get_tenant_sync())
