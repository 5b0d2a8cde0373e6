"""Entra Cloud Sync over Microsoft Graph app-only: what AADCloudSyncTools does, unattended, and more.

Every function takes a `psbridge.graph.GraphClient` first (app-only credentials, or a replay) and
returns the models the AADCloudSyncTools path returns, parsed from the same Graph JSON: the reads and
job control here mirror `psbridge.cloudsync.functions` by name (`get_job_status`, `suspend_job`, ...).
Beyond the module: any restart scope, provision on demand of one object, the accidental-deletion
threshold, and the tenant's directory-sync facts.

Application permissions, least privileged first (the permission tables at
https://learn.microsoft.com/graph/api/<page>; docs/cloudsync.md, Graph synchronization API):
- find the Cloud Sync service principals: `Application.Read.All`;
- jobs, status, schedule, settings: `Synchronization.Read.All` (or `Application.ReadWrite.OwnedBy`);
- a job's schema: `CustomSecAttributeProvisioning.Read.All` (least privileged; `Synchronization.Read.All`
  and `Application.ReadWrite.OwnedBy` also grant it; page synchronization-synchronizationschema-get);
- pause, start, restart, provision on demand, the deletion threshold (secrets; for reading them, inferred):
  `Application.ReadWrite.OwnedBy` or `Synchronization.ReadWrite.All`;
- tenant facts: `Organization.Read.All` for the organization; `directory/onPremisesSynchronization` has no
  application permission (delegated `OnPremDirectorySynchronization.Read.All`, Global Administrator only).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from psbridge.cloudsync._graph_common import (
    APPLICATION_TEMPLATES as APPLICATION_TEMPLATES,
)
from psbridge.cloudsync._graph_common import (
    CLOUD_SYNC_TEMPLATE as CLOUD_SYNC_TEMPLATE,
)
from psbridge.cloudsync._graph_common import (
    EXCHANGE_WRITEBACK_TEMPLATE as EXCHANGE_WRITEBACK_TEMPLATE,
)
from psbridge.cloudsync._graph_common import (
    SP_FIELDS,
    compact_json,
    job_path,
    list_jobs,
    locate_job,
    read_secrets,
    read_status,
    secrets_path,
    service_principals,
)
from psbridge.cloudsync.changes import JobChange, predicted_status
from psbridge.cloudsync.jobs import SENT_WHEN, Wait, wait
from psbridge.cloudsync.models import (
    SYNC_NOTIFICATION_SETTINGS,
    DeletionThreshold,
    Job,
    JobList,
    JobSchedule,
    JobScheduleList,
    JobSchema,
    JobSettings,
    JobSettingsList,
    JobStatus,
    JobStatusList,
    ProvisioningResult,
    ServicePrincipalList,
    TenantSyncFacts,
    of_template,
    same,
)
from psbridge.errors import GraphPermissionError, InputError, UnexpectedOutputError
from psbridge.graph.client import GraphClient, segment
from psbridge.models import Change

# Restart reset scopes psbridge sends, in the order it writes them. `Full` is Watermark, Escrows and
# QuarantineState together; `ForceDeletes` lets the deletes the threshold held back go through.
RESET_SCOPES = ("Full", "Watermark", "Escrows", "QuarantineState", "ForceDeletes")
_FULL_PARTS = frozenset({"Watermark", "Escrows", "QuarantineState"})
# An empty resetScope: the admin center's "Restart provisioning". Graph's words are "leaving this property
# empty", so the criteria are sent without it ({"criteria":{}}) [I: the exact wire form is not shown].
PORTAL_RESTART = ""
_PORTAL_NOTE = (
    "an empty resetScope (the admin center's Restart provisioning: about QuarantineState, Watermark, Escrows)"
)
_REFUSED_SCOPES = {
    "none": "Graph documents it as DO NOT USE: to resume a job, start it instead",
    "connectordatastore": "Graph documents it as DO NOT USE (contact Microsoft Support)",
}
_SP_FIELDS = SP_FIELDS  # the fields read of each service principal
_ORG_FIELDS = "id,displayName,onPremisesSyncEnabled,onPremisesLastSyncDateTime"
ObjectType = Literal["user", "group"]
Action = Literal["restart", "suspend", "resume"]


class DeletionThresholdChange(Change[DeletionThreshold]):
    """Setting the deletion threshold: the secrets read, merged and written back whole (every key kept)."""

    job_id: str


# -- service principals and jobs -------------------------------------------------------------------


def get_service_principal(client: GraphClient) -> ServicePrincipalList:
    """The Cloud Sync service principals, by application template id (`Application.Read.All`)."""
    return ServicePrincipalList(kind="CloudSync", service_principals=tuple(service_principals(client)))


def get_job(client: GraphClient, *, job_id: str | None = None, template: str | None = None) -> JobList:
    """Cloud Sync jobs: id, template (the id's prefix, `models.of_template`) and service principal.

    Needs `Synchronization.Read.All` (or `Application.ReadWrite.OwnedBy`).
    """
    found = [Job.model_validate({**job, "servicePrincipalId": sp}) for sp, job in _select(client, job_id, template)]
    return JobList(jobs=tuple(found))


def get_job_status(client: GraphClient, *, job_id: str | None = None, template: str | None = None) -> JobStatusList:
    """Each job's status and quarantine, as Get-AADCloudSyncToolsJobStatus gives it (`Synchronization.Read.All`)."""
    return JobStatusList(jobs=tuple(JobStatus.from_graph(job) for _, job in _select(client, job_id, template)))


def get_job_schedule(client: GraphClient, *, job_id: str | None = None, template: str | None = None) -> JobScheduleList:
    """Each job's schedule; the interval is an ISO 8601 duration, no interval when Graph says TimeSpan.MaxValue."""
    return JobScheduleList(schedules=tuple(JobSchedule.from_graph(job) for _, job in _select(client, job_id, template)))


def get_job_settings(client: GraphClient, *, job_id: str | None = None, template: str | None = None) -> JobSettingsList:
    """Each job's `synchronizationJobSettings` (e.g. QuarantineTooManyDeletesThreshold), `Synchronization.Read.All`."""
    return JobSettingsList(settings=tuple(JobSettings.from_graph(job) for _, job in _select(client, job_id, template)))


def get_job_schema(client: GraphClient, *, job_id: str) -> JobSchema:
    """A job's synchronization schema: GET .../jobs/{id}/schema.

    Needs `CustomSecAttributeProvisioning.Read.All` (least privileged), or `Synchronization.Read.All` or
    `Application.ReadWrite.OwnedBy` (https://learn.microsoft.com/graph/api/synchronization-synchronizationschema-get).
    """
    sp, _ = locate_job(client, job_id)
    return JobSchema(job_id=job_id, document=client.get(f"{job_path(sp, job_id)}/schema"))


# -- job control -----------------------------------------------------------------------------------


def suspend_job(
    client: GraphClient,
    *,
    job_id: str,
    wait_for: str | None = None,
    deadline_s: float = 300.0,
    poll_s: float = 10.0,
    dry_run: bool = False,
) -> JobChange:
    """Pause a job: POST .../pause, sent only when it is not Paused already (`Synchronization.ReadWrite.All`)."""
    return _control(client, "suspend", job_id, None, Wait(wait_for, deadline_s, poll_s), dry_run)


def resume_job(
    client: GraphClient,
    *,
    job_id: str,
    wait_for: str | None = None,
    deadline_s: float = 300.0,
    poll_s: float = 10.0,
    dry_run: bool = False,
) -> JobChange:
    """Start a job: POST .../start, sent only when it is Paused or in Quarantine, never retried (docs/cloudsync.md).

    Needs `Synchronization.ReadWrite.All` (or `Application.ReadWrite.OwnedBy`).
    """
    return _control(client, "resume", job_id, None, Wait(wait_for, deadline_s, poll_s), dry_run)


def restart_job(
    client: GraphClient,
    *,
    job_id: str,
    scope: str | Iterable[str] = "Full",
    confirm_force_deletes: bool = False,
    wait_for: str | None = None,
    deadline_s: float = 300.0,
    poll_s: float = 10.0,
    dry_run: bool = False,
) -> JobChange:
    """Restart a job with a reset scope: POST .../restart `{"criteria":{"resetScope":...}}`. Never retried.

    `scope`: `Full`, any of `Watermark`, `Escrows`, `QuarantineState`, `ForceDeletes` (a list or
    comma-separated text; see `reset_scope`), or empty (`""`, `PORTAL_RESTART`): the admin center's
    "Restart provisioning", sent as criteria without a resetScope. `ForceDeletes` deletes the objects the
    deletion threshold held back, so it is sent only with `confirm_force_deletes=True`. The scope sent
    is the change's `reset_scope`. Needs `Synchronization.ReadWrite.All` (or `Application.ReadWrite.OwnedBy`);
    https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-restart.
    """
    criteria = reset_scope(scope)
    if "ForceDeletes" in criteria and not (confirm_force_deletes or dry_run):
        raise InputError(
            "resetScope ForceDeletes deletes the objects the deletion threshold held back: "
            "confirm it explicitly (confirm_force_deletes=True, or --confirm-force-deletes)"
        )
    return _control(client, "restart", job_id, criteria, Wait(wait_for, deadline_s, poll_s), dry_run)


def reset_scope(scope: str | Iterable[str]) -> str:
    """A restart's `resetScope` as Graph takes it (comma-separated), validated; names are case-insensitive.

    An empty scope stays empty (`PORTAL_RESTART`): Graph documents it as what the admin center's
    "Restart provisioning" does, "similar to" QuarantineState, Watermark and Escrows
    (https://learn.microsoft.com/graph/api/resources/synchronization-synchronizationjobrestartcriteria).
    Refuses `None` and `ConnectorDataStore` (Graph: "DO NOT USE"), unknown names, and `Full` together
    with a part of it (`Full` already holds Watermark, Escrows and QuarantineState).
    """
    names = [n.strip() for n in (scope.split(",") if isinstance(scope, str) else scope)]
    known = {s.casefold(): s for s in RESET_SCOPES}
    chosen: set[str] = set()
    for name in filter(None, names):
        refused = _REFUSED_SCOPES.get(name.casefold())
        if refused is not None:
            raise InputError(f"reset scope {name} is refused: {refused}")
        if name.casefold() not in known:
            raise InputError(f"unknown reset scope {name!r}: use {', '.join(RESET_SCOPES)}")
        chosen.add(known[name.casefold()])
    if "Full" in chosen and chosen & _FULL_PARTS:
        raise InputError("reset scope Full already holds Watermark, Escrows and QuarantineState: give Full alone")
    return ", ".join(s for s in RESET_SCOPES if s in chosen)


_VERBS: dict[Action, str] = {"restart": "restart", "suspend": "pause", "resume": "start"}


def _control(
    client: GraphClient, action: Action, job_id: str, criteria: str | None, until: Wait, dry_run: bool
) -> JobChange:
    verb, wanted = _VERBS[action], SENT_WHEN[action]
    sp, job = locate_job(client, job_id)
    before = JobStatus.from_graph(job)
    send = wanted is None or wanted(before)
    request = f"POST .../jobs/{job_id}/{verb}"
    if criteria is not None:
        request += f" with resetScope '{criteria}'" if criteria else f" with {_PORTAL_NOTE}"
    if dry_run:
        would = f"dry run: {request} would {'' if send else 'not '}be sent"
        after = predicted_status(action, before, criteria) if send else before
        return JobChange(action=action, job_id=job_id, changed=send, dry_run=True, before=before, after=after,
                         note=would, reset_scope=criteria)  # fmt: skip
    note = f"{request} was not sent: the job is {before.code}"
    if send:
        body = None if criteria is None else {"criteria": {"resetScope": criteria} if criteria else {}}
        client.post(f"{job_path(sp, job_id)}/{verb}", body, idempotent=False)
        note = f"sent {request}"
    after = read_status(client, sp, job_id) if send else before
    after, reached = wait(lambda: read_status(client, sp, job_id), after, until)
    return JobChange(action=action, job_id=job_id, changed=send, before=before, after=after, wait_for=until.code,
                     reached=reached, note=note, reset_scope=criteria)  # fmt: skip


# -- provision on demand ---------------------------------------------------------------------------

# One RDN: an attribute type (a name or a dotted OID), '=', a value in which ',' '+' '"' '\\' '<' '>' ';'
# appear only escaped (RFC 4514).
_RDN = re.compile(
    r"""\s*(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)\s*=\s*"""
    r"""(?:[^,+"\\<>;\x00-\x1f]|\\[0-9A-Fa-f]{2}|\\[ ,+"\\<>;#=])+"""
)
_DN = re.compile(rf"{_RDN.pattern}(?:\+{_RDN.pattern})*(?:,{_RDN.pattern}(?:\+{_RDN.pattern})*)*")


def check_distinguished_name(value: str) -> str:
    """`value` if it is a syntactically valid AD distinguished name with a DC= part (RFC 4514), else InputError."""
    text = value.strip()
    if not _DN.fullmatch(text) or not re.search(r"(?:^|(?<!\\),)\s*DC\s*=", text, re.IGNORECASE):
        example = "CN=Adele Vance,OU=Sales,DC=contoso,DC=com"
        raise InputError(f"not an Active Directory distinguished name: {value!r} (expected e.g. {example})")
    return text


def provision_on_demand(
    client: GraphClient,
    *,
    job_id: str,
    distinguished_name: str,
    object_type: ObjectType = "user",
    rule_id: str | None = None,
    dry_run: bool = False,
) -> ProvisioningResult:
    """Provision one AD user or group now, by distinguished name: POST .../jobs/{id}/provisionOnDemand.

    The portal's "test before you enable" step. The rule is the job schema's AD-to-Entra synchronization
    rule (`rule_id` overrides it). Returns each step's status and details (import, scoping, matching,
    export) and the action taken. A dry run validates and resolves the rule, and sends nothing: it returns
    the request it would send and what each step would do (`planned_steps`), no step outcome. Graph
    allows 5 of these per 10 seconds; never retried. Needs `Synchronization.ReadWrite.All` (or
    `Application.ReadWrite.OwnedBy`).
    """
    dn = check_distinguished_name(distinguished_name)
    if object_type not in ("user", "group"):
        raise InputError(f"object type must be user or group, not {object_type!r}")
    sp, _ = locate_job(client, job_id)
    rule = rule_id or ad_to_entra_rule(client.get(f"{job_path(sp, job_id)}/schema"), object_type)
    request = {"job_id": job_id, "object_id": dn, "object_type": object_type, "rule_id": rule}
    body = {"parameters": [{"ruleId": rule, "subjects": [{"objectId": dn, "objectTypeName": object_type}]}]}
    path = f"{job_path(sp, job_id)}/provisionOnDemand"
    if dry_run:
        return ProvisioningResult.model_validate({
            **request, "dry_run": True, "would_change": True,
            "would_send": f"POST {path} {json.dumps(body, ensure_ascii=False)}",
            "planned_steps": planned_steps(dn, object_type),
        })  # fmt: skip
    answer = client.post(path, body, idempotent=False)
    if answer is None:
        raise UnexpectedOutputError(f"provisionOnDemand of {dn} returned no result", target=client.target)
    return ProvisioningResult.from_graph(answer, **request)


def planned_steps(distinguished_name: str, object_type: str) -> dict[str, str]:
    """What each step of provisioning on demand would do for one object, by `STAGES`: a real run runs every
    step (https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-provisionondemand), and
    only it says how each went (the steps' types are Import, Scoping, Matching and Export, and the action)."""
    entra = "group" if object_type == "group" else "user"
    steps = {
        "import": f"would read {distinguished_name} from Active Directory",
        "scoping": "would check it against the job's scoping filters (out of scope: Skipped)",
        "matching": f"would look for the Entra ID {entra} it matches, by the rule's matching attributes",
        "action": f"would decide to create, update, delete or skip the Entra ID {entra}",
        "export": "would write that to Entra ID (the attributes the rule maps)",
    }
    return {stage: f"not run: {text}" for stage, text in steps.items()}


# The name synchronization schemas give Entra ID's directory. Rules name their directories by `name`
# ("Must match one of the directory definitions", https://learn.microsoft.com/graph/api/resources/synchronization-synchronizationrule),
# and Microsoft's documented schema names Entra's "Azure Active Directory" with no directory id
# (https://learn.microsoft.com/graph/api/synchronization-synchronizationschema-get, example response);
# a Cloud Sync job's rule reads from "Active Directory" to "Azure Active Directory".
ENTRA_DIRECTORY = "Azure Active Directory"


def ad_to_entra_rule(schema: Mapping[str, Any], object_type: str = "user") -> str:
    """The id of a schema's synchronization rule from AD to Entra ID that maps `object_type`.

    A rule qualifies when its target directory is Entra's, by name (`ENTRA_DIRECTORY`, compared
    case-insensitively; a directory whose id is `AzureActiveDirectory` counts too, whatever its name),
    and its source directory is not. Of several, the one with an object mapping from `object_type` is taken.
    """
    directories = schema.get("directories") or ()
    entra = {ENTRA_DIRECTORY.casefold()} | {
        str(d.get("name")).casefold() for d in directories if same(d.get("id"), "AzureActiveDirectory")
    }

    def is_entra(name: Any) -> bool:
        return isinstance(name, str) and name.casefold() in entra

    rules = [
        r
        for r in schema.get("synchronizationRules") or ()
        if is_entra(r.get("targetDirectoryName")) and not is_entra(r.get("sourceDirectoryName")) and r.get("id")
    ]
    if len(rules) > 1:
        rules = [
            r for r in rules if any(same(m.get("sourceObjectName"), object_type) for m in r.get("objectMappings") or ())
        ]
    if len(rules) != 1:
        found = ", ".join(str(r["id"]) for r in rules) or "none"
        raise InputError(
            f"the job schema has no single AD-to-Entra rule for {object_type} objects ({found}): give the rule id"
        )
    return str(rules[0]["id"])


# -- accidental-deletion threshold -----------------------------------------------------------------


def get_deletion_threshold(client: GraphClient, *, job_id: str) -> DeletionThreshold:
    """The job's configuration's deletion threshold: GET .../synchronization/secrets, SyncNotificationSettings.

    The secrets belong to the job's service principal (one per configuration). Needs
    `Synchronization.ReadWrite.All` (or `Application.ReadWrite.OwnedBy`) [I: the docs list it for PUT].
    """
    sp, _ = locate_job(client, job_id)
    return DeletionThreshold.from_secrets(sp, read_secrets(client, sp))


def set_deletion_threshold(
    client: GraphClient,
    *,
    job_id: str,
    value: int | None = None,
    enabled: bool | None = None,
    dry_run: bool = False,
) -> DeletionThresholdChange:
    """Set the deletion threshold (`value`: deletes per run are held at value - 1) or turn it on or off.

    Graph replaces every secret on PUT and has no PATCH (docs/cloudsync.md): this reads all keys, changes only
    `DeleteThresholdValue` / `DeleteThresholdEnabled` inside SyncNotificationSettings, and writes every
    key back; it sends nothing when they already match or in a dry run, and reads the result back.
    Needs `Synchronization.ReadWrite.All` (or `Application.ReadWrite.OwnedBy`).
    """
    if value is None and enabled is None:
        raise InputError("give a threshold value, or enable or disable the threshold")
    if value is not None and value < 1:
        raise InputError(f"the deletion threshold must be at least 1, not {value}")
    sp, _ = locate_job(client, job_id)
    pairs = read_secrets(client, sp)
    merged = merge_threshold(pairs, value=value, enabled=enabled)
    before, proposed = DeletionThreshold.from_secrets(sp, pairs), DeletionThreshold.from_secrets(sp, merged)
    changed = merged != pairs
    if not changed or dry_run:
        return DeletionThresholdChange(job_id=job_id, changed=changed, dry_run=dry_run, before=before, after=proposed)
    client.put(secrets_path(sp), {"value": merged})
    after = DeletionThreshold.from_secrets(sp, read_secrets(client, sp))
    return DeletionThresholdChange(job_id=job_id, changed=True, before=before, after=after)


def merge_threshold(
    pairs: list[dict[str, Any]], *, value: int | None = None, enabled: bool | None = None
) -> list[dict[str, Any]]:
    """Every secret key/value pair, in order, with the threshold keys of SyncNotificationSettings set.

    Nothing else changes: not another key, not another setting inside SyncNotificationSettings. A
    missing SyncNotificationSettings is added with the threshold keys only.
    """
    wanted = {"DeleteThresholdEnabled": enabled, "DeleteThresholdValue": value}
    wanted = {k: v for k, v in wanted.items() if v is not None}
    merged, found = [], False
    for pair in pairs:
        if pair.get("key") == SYNC_NOTIFICATION_SETTINGS:
            found = True
            settings = json.loads(pair.get("value") or "{}")
            if not isinstance(settings, dict):
                raise UnexpectedOutputError(f"the {SYNC_NOTIFICATION_SETTINGS} secret is not a JSON object")
            if any(settings.get(k) != v for k, v in wanted.items()):
                pair = {**pair, "value": compact_json({**settings, **wanted})}
        merged.append(pair)
    if not found:
        merged.append({"key": SYNC_NOTIFICATION_SETTINGS, "value": compact_json(wanted)})
    return merged


# -- tenant directory-sync facts -------------------------------------------------------------------


def get_tenant_sync(client: GraphClient) -> TenantSyncFacts:
    """The tenant's directory-sync facts: whether sync is on, its last run, and Connect Sync's settings.

    Reads the organization (`Organization.Read.All`), then the beta `directory/onPremisesSynchronization`
    of the tenant (Connect Sync's deletion prevention and client version), which Graph allows delegated
    only, to a Global Administrator (`OnPremDirectorySynchronization.Read.All`): app-only, Graph answers
    403, and those fields stay None with the reason in `on_premises_synchronization_error`.
    """
    organization = next(iter(client.get_all("/organization", params={"$select": _ORG_FIELDS})), None)
    if organization is None or not organization.get("id"):
        raise UnexpectedOutputError("GET /organization returned no organization", target=client.target)
    tenant = str(organization["id"])
    facts: dict[str, Any] = {
        "tenant_id": tenant,
        "display_name": organization.get("displayName"),
        "on_premises_sync_enabled": organization.get("onPremisesSyncEnabled"),
        "on_premises_last_sync": organization.get("onPremisesLastSyncDateTime"),
    }
    try:
        document = client.get(f"/directory/onPremisesSynchronization/{segment(tenant)}", api="beta")
    except GraphPermissionError as exc:
        facts["on_premises_synchronization_error"] = (
            f"HTTP {exc.status} {exc.code}: Graph serves directory/onPremisesSynchronization only delegated "
            "(OnPremDirectorySynchronization.Read.All, Global Administrator), not app-only"
        )
        return TenantSyncFacts.model_validate(facts)
    configuration = document.get("configuration") or {}
    prevention = configuration.get("accidentalDeletionPrevention") or {}
    facts["deletion_prevention_type"] = prevention.get("synchronizationPreventionType")
    facts["deletion_alert_threshold"] = prevention.get("alertThreshold")
    facts["sync_client_version"] = configuration.get("synchronizationClientVersion")
    return TenantSyncFacts.model_validate(facts)


# -- helpers ---------------------------------------------------------------------------------------


def _select(client: GraphClient, job_id: str | None, template: str | None) -> list[tuple[str, dict[str, Any]]]:
    """One job (an unknown id raises), the jobs of a template, or every job."""
    if job_id is not None and template is not None:
        raise InputError("give a job id or a template, not both")
    if job_id is not None:
        return [locate_job(client, job_id)]
    return [(sp, job) for sp, job in list_jobs(client) if of_template(str(job["id"]), template)]
