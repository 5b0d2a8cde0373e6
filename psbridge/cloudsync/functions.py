"""Entra Cloud Sync through AADCloudSyncTools, on a provisioning-agent server's Windows PowerShell 5.1 endpoint.

Every Graph-backed function needs the module signed in on the same Session first (`connect`), and
the module signs in with a device code only: this path is for an operator at hand, not for cron.
Unattended automation belongs to Graph app-only (certificate) calls, a separate path.

Every function takes `module_path`, the AADCloudSyncTools folder on the agent (None: the install path
`C:\\Program Files\\Microsoft Azure AD Connect Provisioning Agent\\Utility\\AADCloudSyncTools`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, overload

from pydantic import Field

from psbridge.cloudsync import jobs
from psbridge.cloudsync.changes import (
    AccountRepair,
    ActionResult,
    ConnectResult,
    DeletionPrevention,
    DeletionPreventionChange,
    JobChange,
    LogExport,
    PrerequisitesResult,
    SchemaChange,
)
from psbridge.cloudsync.models import (
    AgentInstallation,
    GraphQueryResult,
    Info,
    Job,
    JobList,
    JobSchedule,
    JobScheduleList,
    JobSchema,
    JobScope,
    JobSettings,
    JobSettingsList,
    JobStatus,
    JobStatusList,
    ScopeRule,
    ServiceAccount,
    ServiceAccountResult,
    ServicePrincipal,
    ServicePrincipalList,
)
from psbridge.cloudsync.runner import (
    documents,
    messages,
    not_found,
    objects,
    one,
    parsed,
    read_jobs,
    relay_to,
    run,
    warnings,
)
from psbridge.command import Command
from psbridge.errors import InputError
from psbridge.files import fetch
from psbridge.models import Planned, PSModel, call_text, only
from psbridge.session import Session

ObjectType = Literal["User", "Group", "Contact", "InetOrgPerson", "All"]
ServicePrincipalKind = Literal["CloudSync", "SyncFabric", "All"]
GraphMethod = Literal["GET", "DELETE", "PATCH", "POST", "PUT"]

CONNECT_TIMEOUT_S = 960.0  # a device code lives about 15 minutes
SETUP_TIMEOUT_S = 900.0  # installing modules from the PowerShell Gallery
REPAIR_TIMEOUT_S = 1800.0  # the repair's replication waits: up to 10 x 5 s per stage, stages retried 10 times
EXPORT_MARGIN_S = 600.0  # event-log export and compression, on top of the tracing time
_NEW_SESSION_HINT = "Close this PowerShell window"
_INSTALLED = "All AADCloudSyncTools prerequisites installed successfully."


# -- setup and sign-in ------------------------------------------------------------------------------


@overload
def install_prerequisites(
    session: Session, *, timeout: float = ..., module_path: str | None = ..., dry_run: Literal[False] = ...
) -> PrerequisitesResult: ...
@overload
def install_prerequisites(
    session: Session, *, timeout: float = ..., module_path: str | None = ..., dry_run: bool
) -> PrerequisitesResult | Planned: ...
def install_prerequisites(
    session: Session, *, timeout: float = SETUP_TIMEOUT_S, module_path: str | None = None, dry_run: bool = False
) -> PrerequisitesResult | Planned:
    """Install what AADCloudSyncTools needs (PowerShellGet, MSAL.PS); wraps Install-AADCloudSyncToolsPrerequisites.

    Needs an elevated session. When PowerShellGet must be upgraded first, the module stops after that
    and `needs_new_session` is True: close this Session, open a new one, and call this again.
    `dry_run`: sends nothing, returns the call it would send.
    """
    if dry_run:
        return Planned(would_send=call_text("Install-AADCloudSyncToolsPrerequisites", {}),
                       note="installs PowerShellGet and MSAL.PS on the agent from the PowerShell Gallery")  # fmt: skip
    result = run(session, "Install-AADCloudSyncToolsPrerequisites", module_path=module_path, connected=False,
                 changes=True, timeout=timeout)  # fmt: skip
    said, warned = messages(result), warnings(result)
    return PrerequisitesResult(
        installed=_INSTALLED in said,
        needs_new_session=any(_NEW_SESSION_HINT in w for w in warned),
        messages=said,
        warnings=warned,
    )


def connect(
    session: Session,
    *,
    on_message: Callable[[str], None] | None = None,
    timeout: float = CONNECT_TIMEOUT_S,
    module_path: str | None = None,
) -> ConnectResult:
    """Sign the module in with a device code; wraps Connect-AADCloudSyncTools -DeviceLogin.

    NOT unattended, by Microsoft's design: someone must open https://microsoft.com/devicelogin and
    enter the code while this call blocks (up to `timeout` seconds). `on_message` gets each message as
    it arrives, the device-code instruction included. The sign-in holds for this Session only.
    MSAL.PS prints that instruction to the console, which remoting drops: the packaged script captures
    the console and relays it between MSAL.PS's one-second polls (an MSAL.PS that blocks instead of
    polling would let it through only after the sign-in).
    `-LoginHint` is not offered: it opens a browser window on the agent, which remoting cannot show.
    For unattended automation use Graph app-only instead.
    """
    said: list[str] = []
    result = run(session, "Connect-AADCloudSyncTools", {"DeviceLogin": True}, module_path=module_path,
                 connected=False, changes=True, timeout=timeout, on_record=relay_to(on_message, said))  # fmt: skip
    return one(ConnectResult, result, session, messages=tuple(said))


def set_tenant_id(session: Session, *, tenant_id: str | uuid.UUID, module_path: str | None = None) -> ActionResult:
    """Target another tenant for this Session's sign-in; wraps Set-AADCloudSyncToolsTenantId. Call it before connect."""
    function = "Set-AADCloudSyncToolsTenantId"
    result = run(
        session, function, {"TenantId": _guid(tenant_id, "tenant id")}, module_path=module_path, connected=False
    )
    return ActionResult(function=function, messages=messages(result), warnings=warnings(result))


def get_agent_version(session: Session) -> AgentInstallation:
    """The provisioning agent installed on the host and its version (the service executable's file
    version, found through the agent's registry key); reads only, without importing AADCloudSyncTools."""
    command = Command.script("cloudsync/Get-AgentVersion.ps1")
    result = session.invoke(command)
    return only(AgentInstallation, result.output, command=command.display(), target=session.target)


def get_info(session: Session, *, module_path: str | None = None) -> Info:
    """The module's state (tenant, user, agent paths); wraps Get-AADCloudSyncToolsInfo, tokens redacted on the agent."""
    return one(Info, run(session, "Get-AADCloudSyncToolsInfo", module_path=module_path, connected=False), session)


# -- directory objects -----------------------------------------------------------------------------


def get_service_principal(
    session: Session, *, kind: ServicePrincipalKind = "CloudSync", module_path: str | None = None
) -> ServicePrincipalList:
    """Service principals; wraps Get-AADCloudSyncToolsServicePrincipal.

    `kind` is always sent: the module's own default is SyncFabric, while its help says Cloud Sync.
    Raises ObjectNotFoundError (`<kind> Service Principal not found.`) when there are none.
    """
    result = run(session, "Get-AADCloudSyncToolsServicePrincipal", {"ServicePrincipal": kind}, module_path=module_path)
    found = parsed(ServicePrincipal, result, session)
    return ServicePrincipalList(kind=kind, service_principals=tuple(found))


def get_service_account(session: Session, *, module_path: str | None = None) -> ServiceAccountResult:
    """The `ADtoAADSyncServiceAccount@…` user, if any; wraps Get-AADCloudSyncToolsServiceAccount."""
    result = run(session, "Get-AADCloudSyncToolsServiceAccount", module_path=module_path)
    found = parsed(ServiceAccount, result, session)
    return ServiceAccountResult(account=found[0] if found else None)


def repair_account(session: Session, *, dry_run: bool = False, module_path: str | None = None) -> AccountRepair:
    """Recreate the sync service account; wraps Repair-AADCloudSyncToolsAccount. Destructive.

    Deletes the current service account, resets the SyncFabric service principal's secrets and waits
    for a new account; afterwards, restart provisioning. Checked first on the agent: builds from
    1.1.2505.0 lack the function (CommandNotFoundError). A dry run stops after that check and the read.
    """
    function = "Repair-AADCloudSyncToolsAccount"
    run(session, function, module_path=module_path, check_only=True)
    before = get_service_account(session, module_path=module_path).account
    if dry_run:
        return AccountRepair(changed=True, dry_run=True, before=before, after=None, note=_repair_plan(before))
    result = run(session, function, module_path=module_path, changes=True, timeout=REPAIR_TIMEOUT_S)
    after = get_service_account(session, module_path=module_path).account
    return AccountRepair(changed=True, before=before, after=after, messages=messages(result))


def _repair_plan(before: ServiceAccount | None) -> str:
    """What a repair would do, as a dry run says it: the after-state is known only once it is done."""
    deletes = f"delete {before.user_principal_name} ({before.id}), " if before is not None else ""
    return (
        f"Repair-AADCloudSyncToolsAccount would {deletes}reset the SyncFabric service principal's secrets and "
        "wait for the service to create a new service account: its id, name and creation time are known only "
        "after the repair (after: none predicted); then restart provisioning"
    )


# -- jobs: read ------------------------------------------------------------------------------------


def get_job(
    session: Session, *, job_id: str | None = None, template: str | None = None, module_path: str | None = None
) -> JobList:
    """Cloud Sync jobs (id, template, service principal); wraps Get-AADCloudSyncToolsJob.

    `template` (on every job read here) is the template a job was created from, its id's prefix
    (`psbridge.cloudsync.models.of_template`): selected here, as the Graph backend selects, since the
    module's -JobTemplate compares the job's `templateId` and misses Microsoft's documented Cloud Sync job.
    """
    found = read_jobs(session, "Get-AADCloudSyncToolsJob", Job, job_id=job_id, template=template,
                      module_path=module_path)  # fmt: skip
    return JobList(jobs=tuple(found))


def get_job_status(
    session: Session, *, job_id: str | None = None, template: str | None = None, module_path: str | None = None
) -> JobStatusList:
    """Each job's status, quarantine included; wraps Get-AADCloudSyncToolsJobStatus."""
    found = read_jobs(session, "Get-AADCloudSyncToolsJobStatus", JobStatus, job_id=job_id, template=template,
                      module_path=module_path)  # fmt: skip
    return JobStatusList(jobs=tuple(found))


def get_job_schedule(
    session: Session, *, job_id: str | None = None, template: str | None = None, module_path: str | None = None
) -> JobScheduleList:
    """Each job's schedule (interval, state); wraps Get-AADCloudSyncToolsJobSchedule."""
    found = read_jobs(session, "Get-AADCloudSyncToolsJobSchedule", JobSchedule, job_id=job_id, template=template,
                      module_path=module_path)  # fmt: skip
    return JobScheduleList(schedules=tuple(found))


def get_job_settings(
    session: Session, *, job_id: str | None = None, template: str | None = None, module_path: str | None = None
) -> JobSettingsList:
    """Each job's settings (e.g. QuarantineTooManyDeletesThreshold); wraps Get-AADCloudSyncToolsJobSettings."""
    found = read_jobs(session, "Get-AADCloudSyncToolsJobSettings", JobSettings, job_id=job_id, template=template,
                      module_path=module_path)  # fmt: skip
    return JobSettingsList(settings=tuple(found))


def get_job_schema(session: Session, *, job_id: str, module_path: str | None = None) -> JobSchema:
    """A job's synchronization schema; wraps Get-AADCloudSyncToolsJobSchema."""
    result = run(session, "Get-AADCloudSyncToolsJobSchema", {"Id": job_id}, module_path=module_path)
    found = documents(result, session)
    if not found:
        raise not_found(job_id, result, session)
    return JobSchema(job_id=job_id, document=found[0])


def get_job_scope(
    session: Session, *, job_id: str, object_type: ObjectType = "All", module_path: str | None = None
) -> JobScope:
    """A job's scoping-filter clauses, sorted by source attribute; wraps Get-AADCloudSyncToolsJobScope.

    The module returns no rows for an unknown job as for a job without filters; get_job tells them apart.
    """
    result = run(session, "Get-AADCloudSyncToolsJobScope", {"Id": job_id, "ObjectType": object_type},
                 module_path=module_path)  # fmt: skip
    return JobScope(job_id=job_id, object_type=object_type, rules=tuple(objects(ScopeRule, result, session)))


# -- jobs: change ----------------------------------------------------------------------------------


def set_job_schema(
    session: Session,
    *,
    job_id: str,
    schema: str | Mapping[str, Any],
    dry_run: bool = False,
    module_path: str | None = None,
) -> SchemaChange:
    """Replace a job's whole schema; wraps Set-AADCloudSyncToolsJobSchema (Graph PUT). Destructive.

    Reads the schema first and sends nothing when it already matches; reads it back afterwards.
    `schema` is the JSON text or the parsed document.
    """
    try:
        proposed = json.loads(schema) if isinstance(schema, str) else dict(schema)
    except ValueError as exc:
        raise InputError(f"schema is not JSON: {exc}") from None
    if not isinstance(proposed, dict):
        raise InputError("schema must be a JSON object")
    before = get_job_schema(session, job_id=job_id, module_path=module_path)
    wanted = JobSchema(job_id=job_id, document=proposed)
    if before.same_as(proposed) or dry_run:
        return SchemaChange(changed=not before.same_as(proposed), dry_run=dry_run, before=before, after=wanted)
    body = schema if isinstance(schema, str) else json.dumps(proposed, separators=(",", ":"))
    run(session, "Set-AADCloudSyncToolsJobSchema", {"Id": job_id, "schema": body}, module_path=module_path,
        changes=True)  # fmt: skip
    return SchemaChange(
        changed=True, before=before, after=get_job_schema(session, job_id=job_id, module_path=module_path)
    )


def resume_job(
    session: Session,
    *,
    job_id: str,
    wait_for: str | None = None,
    deadline_s: float = 300.0,
    poll_s: float = 10.0,
    dry_run: bool = False,
    module_path: str | None = None,
) -> JobChange:
    """Start a Paused or quarantined job; wraps Resume-AADCloudSyncToolsJob (Graph `start`).

    Sent only when the job is Paused or in Quarantine (Graph warns that repeated starts can stop the
    service); never retried. Returns the state read back, after waiting for `wait_for` if given.
    """
    return jobs.control(session, "resume", job_id, jobs.Wait(wait_for, deadline_s, poll_s), dry_run, module_path)


def suspend_job(
    session: Session,
    *,
    job_id: str,
    wait_for: str | None = None,
    deadline_s: float = 300.0,
    poll_s: float = 10.0,
    dry_run: bool = False,
    module_path: str | None = None,
) -> JobChange:
    """Pause a job; wraps Suspend-AADCloudSyncToolsJob (Graph `pause`). Sends nothing to a job already Paused."""
    return jobs.control(session, "suspend", job_id, jobs.Wait(wait_for, deadline_s, poll_s), dry_run, module_path)


def restart_job(
    session: Session,
    *,
    job_id: str,
    wait_for: str | None = None,
    deadline_s: float = 300.0,
    poll_s: float = 10.0,
    dry_run: bool = False,
    module_path: str | None = None,
) -> JobChange:
    """Restart a job from scratch; wraps Restart-AADCloudSyncToolsJob. Destructive, never retried.

    The module hard-codes `{"criteria":{"resetScope":"Full"}}`: escrows, watermark and quarantine are
    all reset and every object is re-evaluated. For another scope (e.g. `ForceDeletes` after the
    delete threshold tripped, or the portal's `QuarantineState, Watermark, Escrows`) call Graph's
    `POST /servicePrincipals/{id}/synchronization/jobs/{jobId}/restart` directly.
    """
    return jobs.control(session, "restart", job_id, jobs.Wait(wait_for, deadline_s, poll_s), dry_run, module_path)


def disable_dirsync_accidental_deletion_prevention(
    session: Session, *, tenant_id: str, dry_run: bool = False, module_path: str | None = None
) -> DeletionPreventionChange:
    """Turn off Connect Sync's tenant-wide deletion prevention.

    Wraps Disable-AADCloudSyncToolsDirSyncAccidentalDeletionPrevention (added in agent 1.1.1365.0).

    Destructive and tenant-wide (not Cloud Sync's per-job threshold); Global Administrator only. Reads
    the setting first and sends nothing when it is already off; reads it back afterwards.
    """
    tenant_id = _guid(tenant_id, "tenant id")
    before = _deletion_prevention(session, tenant_id, module_path)
    if not before.enabled or dry_run:
        after = before.model_copy(update={"synchronization_prevention_type": "disabled"}) if before.enabled else before
        return DeletionPreventionChange(changed=before.enabled, dry_run=dry_run, before=before, after=after)
    result = run(session, "Disable-AADCloudSyncToolsDirSyncAccidentalDeletionPrevention", {"tenantId": tenant_id},
                 module_path=module_path, changes=True)  # fmt: skip
    after = _deletion_prevention(session, tenant_id, module_path)
    return DeletionPreventionChange(changed=True, before=before, after=after, messages=messages(result))


# -- Graph -----------------------------------------------------------------------------------------


@overload
def invoke_graph_query(
    session: Session,
    *,
    uri: str,
    method: GraphMethod = ...,
    body: str | None = ...,
    fetch_all_pages: bool = ...,
    module_path: str | None = ...,
    dry_run: Literal[False] = ...,
) -> GraphQueryResult: ...
@overload
def invoke_graph_query(
    session: Session,
    *,
    uri: str,
    method: GraphMethod = ...,
    body: str | None = ...,
    fetch_all_pages: bool = ...,
    module_path: str | None = ...,
    dry_run: bool,
) -> GraphQueryResult | Planned: ...
def invoke_graph_query(
    session: Session,
    *,
    uri: str,
    method: GraphMethod = "GET",
    body: str | None = None,
    fetch_all_pages: bool = True,
    module_path: str | None = None,
    dry_run: bool = False,
) -> GraphQueryResult | Planned:
    """A Microsoft Graph request with the module's token; wraps Invoke-AADCloudSyncToolsGraphQuery.

    GET and DELETE follow `@odata.nextLink` unless `fetch_all_pages` is False. Only GET is retried.
    `dry_run`: sends nothing, returns the request it would send (`would_change` unless GET).
    """
    verb = method.upper()
    if verb not in ("GET", "DELETE", "PATCH", "POST", "PUT"):
        raise InputError(f"method must be GET, DELETE, PATCH, POST or PUT (the module ignores others), not {method!r}")
    arguments = {"Uri": uri, "Method": verb, "Body": body, "FetchAllPages": None if fetch_all_pages else False}
    if dry_run:
        return Planned(
            would_send=call_text("Invoke-AADCloudSyncToolsGraphQuery", arguments), would_change=verb != "GET"
        )
    result = run(session, "Invoke-AADCloudSyncToolsGraphQuery", arguments, module_path=module_path,
                 changes=verb != "GET")  # fmt: skip
    return one(GraphQueryResult, result, session)


# -- diagnostics on the agent ------------------------------------------------------------------------


def start_verbose_logs(
    session: Session, *, skip_service_restart: bool = False, module_path: str | None = None, dry_run: bool = False
) -> ActionResult | Planned:
    """Turn on the agent's verbose trace; wraps Start-AADCloudSyncToolsVerboseLogs (restarts the agent service).

    `dry_run`: sends nothing, returns the call it would send.
    """
    return _agent_config(session, "Start-AADCloudSyncToolsVerboseLogs", skip_service_restart, module_path, dry_run)


def stop_verbose_logs(
    session: Session, *, skip_service_restart: bool = False, module_path: str | None = None, dry_run: bool = False
) -> ActionResult | Planned:
    """Restore the agent's default trace; wraps Stop-AADCloudSyncToolsVerboseLogs (restarts the agent service).

    `dry_run`: sends nothing, returns the call it would send.
    """
    return _agent_config(session, "Stop-AADCloudSyncToolsVerboseLogs", skip_service_restart, module_path, dry_run)


def _agent_config(
    session: Session, function: str, skip_restart: bool, module_path: str | None, dry_run: bool
) -> ActionResult | Planned:
    arguments: dict[str, Any] = {"SkipServiceRestart": True if skip_restart else None}
    if dry_run:
        restart = "takes effect at the next restart" if skip_restart else "restarts the agent service"
        return Planned(would_send=call_text(function, arguments), note=f"changes the agent's trace settings; {restart}")
    result = run(session, function, arguments, module_path=module_path, connected=False, changes=True)
    return ActionResult(function=function, messages=messages(result), warnings=warnings(result))


def export_logs(
    session: Session,
    *,
    local_path: str | Path | None = None,
    tracing_duration_mins: int = 3,
    skip_verbose_trace: bool = False,
    output_path: str | None = None,
    module_path: str | None = None,
    dry_run: bool = False,
) -> LogExport | Planned:
    """Collect the agent's diagnostics into a zip; wraps Export-AADCloudSyncToolsLogs, then fetches it.

    Traces verbosely for `tracing_duration_mins` (unless skipped), exports event logs and zips it all
    under `output_path` on the agent (default: the remote user's Documents). The call's deadline
    allows for that. With `local_path`, the zip is copied here and verified by SHA-256. `dry_run`:
    sends nothing, returns the call it would send.
    """
    if tracing_duration_mins < 1:
        raise InputError("tracing_duration_mins must be at least 1")
    tracing_s = 0 if skip_verbose_trace else tracing_duration_mins * 60
    arguments = {
        "SkipVerboseTrace": True if skip_verbose_trace else None,
        "TracingDurationMins": None if skip_verbose_trace else tracing_duration_mins,
        "OutputPath": output_path,
    }
    if dry_run:
        return Planned(would_send=call_text("Export-AADCloudSyncToolsLogs", arguments),
                       note="writes a zip on the agent" if skip_verbose_trace else
                       "traces verbosely (restarting the agent service) and writes a zip on the agent")  # fmt: skip
    result = run(session, "Export-AADCloudSyncToolsLogs", arguments, module_path=module_path, changes=True,
                 timeout=tracing_s + EXPORT_MARGIN_S)  # fmt: skip
    exported = one(_ExportedZip, result, session)
    if local_path is None:
        return LogExport(remote_path=exported.path, size=exported.length)
    copied = fetch(session, exported.path, local_path)
    return LogExport(remote_path=exported.path, size=copied.size, local_path=copied.local_path, sha256=copied.sha256)


# -- helpers ---------------------------------------------------------------------------------------


class _ExportedZip(PSModel):
    """What the script adds after Export-AADCloudSyncToolsLogs: the zip it found."""

    path: str = Field(alias="Path")
    length: int = Field(alias="Length")


def _guid(value: str | uuid.UUID, what: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise InputError(f"{what} must be a GUID, not {value!r}") from None


def _deletion_prevention(session: Session, tenant_id: str, module_path: str | None) -> DeletionPrevention:
    """The tenant's setting, read as the module reads it before changing it."""
    uri = f"https://graph.microsoft.com/beta/directory/onPremisesSynchronization/{tenant_id}"
    pages = invoke_graph_query(session, uri=uri, module_path=module_path).pages
    return DeletionPrevention.from_graph(tenant_id, pages[0] if pages else None)
