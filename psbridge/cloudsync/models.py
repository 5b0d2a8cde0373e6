"""Typed results of the Cloud Sync (AADCloudSyncTools) wrappers.

The packaged script sends module objects flat, with nested values as compressed JSON text, and raw
Graph objects (schema, service principals, users) as one JSON document each; the validators below undo
that. Enum-like values (`code`, `state`, `reason`) stay strings: Graph documents PascalCase, secondary
texts use other cases, and new values appear (docs/cloudsync.md), so compare with `same()`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Field,
    TypeAdapter,
    ValidationError,
    computed_field,
    field_validator,
    model_validator,
)

from psbridge.models import PSModel
from psbridge.types import DateTime, TimeSpan, format_time, parse_bool
from psbridge.versions import Version

REDACTED = "[redacted]"
# .NET TimeSpan.MaxValue in minutes: what [XmlConvert]::ToTimeSpan makes of Graph's "no interval".
_MAX_INTERVAL_MINUTES = 15372286728.0


def same(a: str | None, b: str) -> bool:
    """Case-insensitive equality for Graph's enum-like strings (`Quarantine`, `quarantine`, ...)."""
    return a is not None and a.casefold() == b.casefold()


# What a job's "template" is, for both backends (`--template`). A job is created from a template by name,
# POST .../synchronization/jobs {"templateId": "AD2AADProvisioning"} (or AD2AADPasswordHash), and the
# service keeps that name as the job id's first part, while the job's own `templateId` property may name
# an internal template instead: Microsoft's documented Cloud Sync job has id `AD2AADProvisioning.<hex>` and
# templateId `ADDCInPassthrough`
# (https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/how-to-inbound-synch-ms-graph, "Create
# sync job"). So the template is the id's prefix, never `templateId`: AADCloudSyncTools' own -JobTemplate
# filters on templateId and finds nothing on such a job, so psbridge never sends it (see runner.read_jobs).


def template_of(job_id: str) -> str:
    """The template a job was created from: the text of its id before the first '.'."""
    return job_id.split(".", 1)[0]


def of_template(job_id: str, template: str | None) -> bool:
    """Whether a job belongs to `template` (None: every job); the one rule both backends select by."""
    return template is None or same(template_of(job_id), template)


def _blank(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _json_text(value: Any) -> Any:
    """A nested value the script sent as JSON text; already-parsed data passes through."""
    value = _blank(value)
    return json.loads(value) if isinstance(value, str) else value


Text = Annotated[str | None, BeforeValidator(_blank)]
Count = Annotated[int | None, BeforeValidator(_blank)]
OptBool = Annotated[bool | None, BeforeValidator(parse_bool)]
Rows = Annotated[tuple[dict[str, Any], ...], BeforeValidator(lambda v: _json_text(v) or ())]


def _nest(data: dict[str, Any], prefix: str) -> dict[str, Any] | None:
    """Pop the keys named `<prefix><name>` into a dict keyed by `<name>`; None when there are none."""
    found = {key[len(prefix) :]: data.pop(key) for key in list(data) if key.startswith(prefix)}
    return found or None


class SyncError(PSModel):
    """Graph `synchronizationError`."""

    code: Text = None
    message: Text = None
    tenant_actionable: OptBool = Field(default=None, alias="tenantActionable")


class Quarantine(PSModel):
    """Why a job is in quarantine (`quarantine_*` and `quarantineError_*` of Get-AADCloudSyncToolsJobStatus)."""

    reason: Text = None
    current_began: DateTime = Field(default=None, alias="currentBegan")
    next_attempt: DateTime = Field(default=None, alias="nextAttempt")
    series_began: DateTime = Field(default=None, alias="seriesBegan")
    series_count: Count = Field(default=None, alias="seriesCount")
    error: SyncError | None = None


class TaskExecution(PSModel):
    """A job run (`lastRun_*` / `lastSuccessfulRun_*`). `state` is Succeeded, Failed or EntryLevelErrors."""

    activity_identifier: Text = Field(default=None, alias="activityIdentifier")
    count_entitled: Count = Field(default=None, alias="countEntitled")
    count_entitled_for_provisioning: Count = Field(default=None, alias="countEntitledForProvisioning")
    count_escrowed: Count = Field(default=None, alias="countEscrowed")
    count_escrowed_raw: Count = Field(default=None, alias="countEscrowedRaw")
    count_exported: Count = Field(default=None, alias="countExported")
    count_exports: Count = Field(default=None, alias="countExports")
    count_imported: Count = Field(default=None, alias="countImported")
    count_imported_deltas: Count = Field(default=None, alias="countImportedDeltas")
    count_imported_reference_deltas: Count = Field(default=None, alias="countImportedReferenceDeltas")
    error: Annotated[SyncError | None, BeforeValidator(_json_text)] = None
    state: Text = None
    time_began: DateTime = Field(default=None, alias="timeBegan")
    time_ended: DateTime = Field(default=None, alias="timeEnded")


class JobStatusSummary(PSModel):
    """The columns a person or a monitor looks at first: id, code, why it is quarantined, last run."""

    id: str
    code: str
    quarantine_reason: str | None
    quarantine_error: str | None
    last_run_state: str | None
    last_run_ended: str | None


class JobStatus(PSModel):
    """One job's status, from the flat object Get-AADCloudSyncToolsJobStatus builds.

    `code` is NotConfigured, NotRun, Active, Paused or Quarantine (or a value added later).
    `quarantine` is whatever quarantine the service reports, whatever the code: Microsoft's documented
    job has `code: Paused` with a quarantine object
    (https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-get, example response).
    The module flattens it only when the code is Quarantine; the packaged script adds it for the other
    codes. `Succeeded` as the last run's state is not health on its own: look at `count_escrowed` and
    the failure count too.
    """

    id: str
    code: str
    steady_state_first_achieved_time: DateTime = Field(default=None, alias="steadyStateFirstAchievedTime")
    steady_state_last_achieved_time: DateTime = Field(default=None, alias="steadyStateLastAchievedTime")
    count_successive_complete_failures: Count = Field(default=None, alias="countSuccessiveCompleteFailures")
    escrows_pruned: OptBool = Field(default=None, alias="escrowsPruned")
    progress: Rows = ()
    troubleshooting_url: Text = Field(default=None, alias="troubleshootingUrl")
    quarantine: Quarantine | None = None
    last_run: TaskExecution | None = None
    last_successful_run: TaskExecution | None = None
    synchronized_counts: dict[str, int] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _unflatten(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        quarantine = _nest(data, "quarantine_")
        error = _nest(data, "quarantineError_")
        if quarantine is not None or error is not None:
            data["quarantine"] = {**(quarantine or {}), "error": error}
        elif _blank(data.get("quarantine")) is None:
            data["quarantine"] = None
        for prefix, name in (("lastRun_", "last_run"), ("lastSuccessfulRun_", "last_successful_run")):
            nested = _nest(data, prefix)
            if nested is not None:
                data[name] = nested
        counts = _nest(data, "synchronizedCount_")
        if counts is not None:
            data["synchronized_counts"] = counts
        return data

    @classmethod
    def from_graph(cls, job: Mapping[str, Any]) -> JobStatus:
        """A Graph `synchronizationJob`'s status, read as Get-AADCloudSyncToolsJobStatus reads it.

        Like the module: `lastSuccessfulExecutionWithExports` left out, and `synchronizedEntryCountByType`
        keyed by the last word of each key ("user to User" -> "User"; keys that share a last word are
        added up). Unlike the module, the quarantine is kept whatever the code (see the class).
        """
        status = dict(job.get("status") or {})
        counts: dict[str, int] = {}
        for pair in status.pop("synchronizedEntryCountByType", None) or ():
            name = str(pair["key"]).rsplit(" ", 1)[-1]
            counts[name] = counts.get(name, 0) + int(pair["value"])
        status["last_run"] = status.pop("lastExecution", None)
        status["last_successful_run"] = status.pop("lastSuccessfulExecution", None)
        return cls.model_validate({**status, "id": job["id"], "synchronized_counts": counts})

    @computed_field  # type: ignore[prop-decorator]
    @property
    def template_id(self) -> str:
        return template_of(self.id)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def is_quarantined(self) -> bool:
        return same(self.code, "Quarantine") or self.quarantine is not None

    def summary(self) -> JobStatusSummary:
        quarantine, last = self.quarantine, self.last_run
        ended = last.time_ended if last is not None else None
        return JobStatusSummary(
            id=self.id,
            code=self.code,
            quarantine_reason=quarantine.reason if quarantine else None,
            quarantine_error=quarantine.error.code if quarantine and quarantine.error else None,
            last_run_state=last.state if last is not None else None,
            last_run_ended=format_time(ended, timespec="seconds") if ended is not None else None,
        )


class JobStatusList(PSModel):
    jobs: tuple[JobStatus, ...]

    @property
    def quarantined(self) -> tuple[JobStatus, ...]:
        return tuple(job for job in self.jobs if job.is_quarantined)


class JobSchedule(PSModel):
    """Get-AADCloudSyncToolsJobSchedule. `intervalMins` is a number, or the ISO text the module could not convert."""

    id: str
    expiration: DateTime = None
    interval_mins: float | None = None
    interval_text: str | None = None
    state: Text = None

    @model_validator(mode="before")
    @classmethod
    def _interval(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or "intervalMins" not in data:
            return data
        data = dict(data)
        raw = _blank(data.pop("intervalMins"))
        try:
            data["interval_mins"] = None if raw is None else float(raw)
        except ValueError:
            data["interval_text"] = str(raw)
        return data

    @classmethod
    def from_graph(cls, job: Mapping[str, Any]) -> JobSchedule:
        """A Graph `synchronizationJob`'s schedule: the ISO 8601 `interval` becomes minutes, as the module does.

        Graph's "no interval" (.NET TimeSpan.MaxValue) and unreadable text stay as `interval_text`, so
        `interval` is None for both.
        """
        schedule = job.get("schedule") or {}
        text = _blank(schedule.get("interval"))
        try:
            span = None if text is None else TypeAdapter(TimeSpan).validate_python(text)
        except ValidationError:
            span = None
        return cls(
            id=job["id"],
            expiration=schedule.get("expiration"),
            interval_mins=None if span is None else span.total_seconds() / 60,
            interval_text=None if span is not None or text is None else str(text),
            state=schedule.get("state"),
        )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def interval(self) -> dt.timedelta | None:
        """The run interval; None for no interval (.NET TimeSpan.MaxValue) or an unreadable one."""
        if self.interval_mins is not None:
            return None if self.interval_mins >= _MAX_INTERVAL_MINUTES else dt.timedelta(minutes=self.interval_mins)
        if self.interval_text is None:
            return None
        try:
            return TypeAdapter(TimeSpan).validate_python(self.interval_text)
        except ValidationError:
            return None


class JobScheduleList(PSModel):
    schedules: tuple[JobSchedule, ...]


class Job(PSModel):
    """Get-AADCloudSyncToolsJob. `template_id` is the template the job was created from (its id's prefix,
    see `template_of`); `reported_template_id` is the job's `templateId` as Graph said it."""

    id: str
    reported_template_id: Text = Field(default=None, alias="templateId")
    service_principal_id: Text = Field(default=None, alias="servicePrincipalId")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def template_id(self) -> str:
        return template_of(self.id)


class JobList(PSModel):
    jobs: tuple[Job, ...]


class JobSettings(PSModel):
    """Get-AADCloudSyncToolsJobSettings: each setting as the string Graph stores (the module skips `Domain`)."""

    id: str
    settings: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _collect(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or "settings" in data:
            return data
        return {"id": data.get("id"), "settings": {k: str(v) for k, v in data.items() if k != "id" and v is not None}}

    @classmethod
    def from_graph(cls, job: Mapping[str, Any]) -> JobSettings:
        """A Graph job's `synchronizationJobSettings` (name/value pairs), without `Domain` as the module reads them."""
        pairs = job.get("synchronizationJobSettings") or ()
        settings = {p["name"]: str(p["value"]) for p in pairs if p.get("value") is not None and p["name"] != "Domain"}
        return cls(id=job["id"], settings=settings)

    def get(self, name: str) -> str | None:
        """A setting by name, case-insensitively (e.g. `QuarantineTooManyDeletesThreshold`)."""
        return next((v for k, v in self.settings.items() if k.casefold() == name.casefold()), None)


class JobSettingsList(PSModel):
    settings: tuple[JobSettings, ...]


class ScopeRule(PSModel):
    """One scoping-filter clause of Get-AADCloudSyncToolsJobScope; `target_operand` joins values with '; '."""

    source_operand: Text = Field(default=None, alias="SourceOperand")
    operator: Text = Field(default=None, alias="Operator")
    target_operand: str = Field(default="", alias="TargetOperand")
    filter_group: Text = Field(default=None, alias="FilterGroup")

    @property
    def target_values(self) -> tuple[str, ...]:
        return tuple(v for v in self.target_operand.split("; ") if v) if self.target_operand else ()


class JobScope(PSModel):
    job_id: str
    object_type: str
    rules: tuple[ScopeRule, ...]


class JobSchema(PSModel):
    """A job's `synchronizationSchema`, kept whole in `document`; a few parts are at hand as properties."""

    job_id: str
    document: dict[str, Any]

    @property
    def synchronization_rules(self) -> list[dict[str, Any]]:
        return list(self.document.get("synchronizationRules") or [])

    @property
    def directories(self) -> list[dict[str, Any]]:
        return list(self.document.get("directories") or [])

    def same_as(self, other: Mapping[str, Any]) -> bool:
        """Whether `other` holds the same schema, ignoring OData annotations."""
        return _without_odata(self.document) == _without_odata(other)


def _without_odata(document: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if not k.startswith("@odata.")}


class ServicePrincipal(PSModel):
    """A Graph (beta) servicePrincipal, light: one per Cloud Sync configuration (domain)."""

    id: str
    app_id: Text = Field(default=None, alias="appId")
    display_name: Text = Field(default=None, alias="displayName")
    application_template_id: Text = Field(default=None, alias="applicationTemplateId")
    account_enabled: OptBool = Field(default=None, alias="accountEnabled")


class ServicePrincipalList(PSModel):
    kind: str
    service_principals: tuple[ServicePrincipal, ...]


class ServiceAccount(PSModel):
    """The `ADtoAADSyncServiceAccount@…` user the agent signs in with."""

    id: str
    user_principal_name: str = Field(alias="userPrincipalName")
    display_name: Text = Field(default=None, alias="displayName")
    account_enabled: OptBool = Field(default=None, alias="accountEnabled")
    created_date_time: DateTime = Field(default=None, alias="createdDateTime")


class ServiceAccountResult(PSModel):
    """Get-AADCloudSyncToolsServiceAccount: the first matching user, or None when there is none."""

    account: ServiceAccount | None

    @property
    def present(self) -> bool:
        return self.account is not None


def _redact(value: Any) -> Any:
    """Defence in depth: whatever a token-bearing field holds, only the marker leaves this model."""
    return None if _blank(value) is None else REDACTED


Redacted = Annotated[str | None, BeforeValidator(_redact)]


class Info(PSModel):
    """Get-AADCloudSyncToolsInfo: the module's state. Token-bearing fields only ever say `[redacted]`."""

    tenant_id: Text = Field(default=None, alias="TenantId")
    client_id: Text = Field(default=None, alias="ClientId")
    username: Text = Field(default=None, alias="Username")
    connected: OptBool = Field(default=None, alias="Connected")
    header: Redacted = Field(default=None, alias="Header")
    aws_token: Redacted = Field(default=None, alias="AwsToken")
    access_token: Redacted = Field(default=None, alias="AccessToken")
    agent_service_name: Text = Field(default=None, alias="AgentServiceName")
    config_dir_source: Text = Field(default=None, alias="ConfigDirSource")
    config_file_source: Text = Field(default=None, alias="ConfigFileSource")
    config_path_target: Text = Field(default=None, alias="ConfigPathTarget")
    log_dir_target: Text = Field(default=None, alias="LogDirTarget")
    log_file_target: Text = Field(default=None, alias="LogFileTarget")
    replication_delay: Count = Field(default=None, alias="ReplicationDelay")
    max_retries: Count = Field(default=None, alias="MaxRetries")
    agent_present: OptBool = Field(default=None, alias="AgentPresent")
    scopes: Annotated[tuple[str, ...], BeforeValidator(lambda v: _json_text(v) or ())] = Field(
        default=(), alias="Scopes"
    )
    pa_client_id: Text = Field(default=None, alias="PAClientId")


def _pages(value: Any) -> Any:
    """QueryResults: one raw JSON string per page; each becomes data (or stays text when it is not JSON)."""
    pages = _json_text(value) or []
    out = []
    for page in [pages] if isinstance(pages, str) else pages:
        try:
            out.append(json.loads(page) if isinstance(page, str) else page)
        except ValueError:
            out.append(page)
    return out


class GraphQueryResult(PSModel):
    """Invoke-AADCloudSyncToolsGraphQuery: the last HTTP status and every page, parsed."""

    status_code: Annotated[int | None, BeforeValidator(_blank)] = Field(default=None, alias="StatusCode")
    pages: Annotated[tuple[Any, ...], BeforeValidator(_pages)] = Field(default=(), alias="QueryResults")

    @property
    def values(self) -> list[Any]:
        """The `value` arrays of every page, joined (for collection queries)."""
        return [item for page in self.pages if isinstance(page, dict) for item in page.get("value") or []]


# -- Graph only: what AADCloudSyncTools cannot do -------------------------------------------------------


def _json_document(value: Any) -> dict[str, Any]:
    """A `stringKeyStringValuePair` half: a JSON object encoded as a string (empty text is an empty object)."""
    value = _json_text(value)
    return dict(value) if isinstance(value, Mapping) else {}


class ProvisioningStep(PSModel):
    """One step of provision on demand. `type` is Import, Scoping, Matching, Export...; `status` Success,
    Skipped, Failure... (strings, compared with `same()`)."""

    name: Text = None
    type: Text = None
    status: Text = None
    description: Text = None
    timestamp: DateTime = None
    details: dict[str, Any] = Field(default_factory=dict)


class ProvisioningStatusInfo(PSModel):
    """`statusInfo` of a provision-on-demand answer: why it did not succeed, when it did not."""

    status: Text = None
    error_code: Text = Field(default=None, alias="errorCode")
    reason: Text = None
    error_category: Text = Field(default=None, alias="errorCategory")
    recommended_action: Text = Field(default=None, alias="recommendedAction")
    additional_details: Text = Field(default=None, alias="additionalDetails")


class ModifiedProperty(PSModel):
    display_name: Text = Field(default=None, alias="displayName")
    old_value: Text = Field(default=None, alias="oldValue")
    new_value: Text = Field(default=None, alias="newValue")


STAGES = ("import", "scoping", "matching", "action", "export")


def _status(step: ProvisioningStep | None) -> str | None:
    return step.status if step is not None else None


class ProvisioningResult(PSModel):
    """Provision on demand of one object (Graph `provisionOnDemand`): the result and each step.

    Graph answers a `stringKeyStringValuePair` whose `key` (the result) and `value` (the steps) are JSON
    encoded as strings; both are parsed here. `result` is Success, Skipped or Failure (a string, compare
    with `same()`); `stages` gives the status of the import, scoping, matching and export steps and the
    action taken. A dry run resolves the rule and sends nothing: `result` and the steps' statuses are None
    (known only from a real run), `would_send` is the request and `planned_steps` what each step would do.
    """

    job_id: str
    object_id: str
    object_type: str
    rule_id: str
    dry_run: bool = False
    would_change: bool | None = None  # a dry run: True, the request provisions (its outcome shows only when run)
    would_send: str | None = None
    planned_steps: dict[str, str] = Field(default_factory=dict)
    result: Text = None
    error_code: Text = None
    error_message: Text = None
    action: Text = None
    change_id: Text = Field(default=None, alias="changeId")
    start_time: DateTime = Field(default=None, alias="startTime")
    end_time: DateTime = Field(default=None, alias="endTime")
    reportable_identifier: Text = Field(default=None, alias="reportableIdentifier")
    status_info: ProvisioningStatusInfo | None = Field(default=None, alias="statusInfo")
    source_identity: dict[str, Any] | None = Field(default=None, alias="sourceIdentity")
    target_identity: dict[str, Any] | None = Field(default=None, alias="targetIdentity")
    steps: tuple[ProvisioningStep, ...] = Field(default=(), alias="provisioningSteps")
    modified_properties: tuple[ModifiedProperty, ...] = Field(default=(), alias="modifiedProperties")

    @classmethod
    def from_graph(cls, answer: Mapping[str, Any], **request: Any) -> ProvisioningResult:
        """The parsed answer, with the request's `job_id`, `object_id`, `object_type` and `rule_id`."""
        key, value = _json_document(answer.get("key")), _json_document(answer.get("value"))
        details = key.get("details") or {}
        return cls.model_validate(
            {
                **value,
                **request,
                "result": key.get("result"),
                "error_code": details.get("errorCode"),
                "error_message": details.get("errorMessage"),
            }
        )

    def step(self, kind: str) -> ProvisioningStep | None:
        """The last step of a type (Import, Scoping, Matching, Export), case-insensitively; None if none ran."""
        return next((s for s in reversed(self.steps) if same(s.type, kind)), None)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def stages(self) -> dict[str, str | None]:
        """Status of the last import, scoping, matching and export step, and the action taken."""
        return {kind: self.action if kind == "action" else _status(self.step(kind)) for kind in STAGES}

    @computed_field  # type: ignore[prop-decorator]
    @property
    def succeeded(self) -> bool:
        return same(self.result, "Success")


SYNC_NOTIFICATION_SETTINGS = "SyncNotificationSettings"
DEFAULT_DELETE_THRESHOLD = 500  # Microsoft's default: with 500, at most 499 deletes per run


class DeletionThreshold(PSModel):
    """Cloud Sync's accidental-deletion threshold for one configuration (service principal).

    It lives in the `SyncNotificationSettings` secret, a JSON string such as
    `{"Enabled":true,"Recipients":"...","DeleteThresholdEnabled":true,"DeleteThresholdValue":50}`;
    `Enabled` there is the e-mail on quarantine. Fields the secret does not set are None; the
    `effective_*` fields apply Microsoft's defaults (enabled, 500). `secret_keys` names every key of the
    service principal's secrets (never their values).
    """

    service_principal_id: str
    configured: bool = False
    notify_on_quarantine: OptBool = Field(default=None, alias="Enabled")
    recipients: Text = Field(default=None, alias="Recipients")
    threshold_enabled: OptBool = Field(default=None, alias="DeleteThresholdEnabled")
    threshold_value: Count = Field(default=None, alias="DeleteThresholdValue")
    secret_keys: tuple[str, ...] = ()

    @classmethod
    def from_secrets(cls, service_principal_id: str, pairs: list[dict[str, Any]]) -> DeletionThreshold:
        """From the `value` of GET .../synchronization/secrets."""
        found = next((p for p in pairs if p.get("key") == SYNC_NOTIFICATION_SETTINGS), None)
        settings = _json_document(found.get("value")) if found else {}
        return cls.model_validate(
            {
                **settings,
                "service_principal_id": service_principal_id,
                "configured": found is not None,
                "secret_keys": tuple(str(p.get("key")) for p in pairs),
            }
        )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def effective_enabled(self) -> bool:
        return True if self.threshold_enabled is None else self.threshold_enabled

    @computed_field  # type: ignore[prop-decorator]
    @property
    def effective_value(self) -> int:
        return DEFAULT_DELETE_THRESHOLD if self.threshold_value is None else self.threshold_value


# The organization's onPremisesSyncEnabled, in words (https://learn.microsoft.com/graph/api/resources/organization).
SYNC_STATES: dict[bool | None, str] = {True: "on", False: "no longer", None: "never"}


class TenantSyncFacts(PSModel):
    """What the tenant says about directory synchronization (read-only).

    `on_premises_sync_enabled`: the organization's `onPremisesSyncEnabled`: True when the tenant is
    synchronized from an on-premises directory, False when it was once and no longer is, None (null)
    when it never was (https://learn.microsoft.com/graph/api/resources/organization); `sync_state` says
    which in words. The Connect Sync settings come from
    `directory/onPremisesSynchronization`, which Graph serves to delegated Global Administrators only:
    app-only they are None and `on_premises_synchronization_error` says why. `sync_client_version` is
    `configuration.synchronizationClientVersion`, which only the beta endpoint exposes (v1.0 has
    `accidentalDeletionPrevention` only); the Cloud Sync agent's version is not in Graph.
    """

    tenant_id: str
    display_name: Text = None
    on_premises_sync_enabled: OptBool = None
    on_premises_last_sync: DateTime = None
    deletion_prevention_type: Text = None
    deletion_alert_threshold: Count = None
    sync_client_version: Text = None
    on_premises_synchronization_error: Text = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def sync_enabled(self) -> bool:
        return self.on_premises_sync_enabled is True

    @computed_field  # type: ignore[prop-decorator]
    @property
    def sync_state(self) -> str:
        """`on` (true), `no longer` (false: synchronized once, not any more) or `never` (null)."""
        return SYNC_STATES[self.on_premises_sync_enabled]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def deletion_prevention_enabled(self) -> bool | None:
        """Connect Sync's tenant-wide deletion prevention: any type but `disabled`; None when unknown."""
        kind = self.deletion_prevention_type
        return None if kind is None else not same(kind, "disabled")


# Where the provisioning agent records its installation (the registry key AADCloudSyncTools reads at import).
AGENT_REGISTRY_KEY = r"HKLM\SOFTWARE\Microsoft\Azure AD Connect Agents\Azure AD Connect Provisioning Agent"


class AgentInstallation(PSModel):
    """The provisioning agent on a host (its registry key and service executable).

    `version` is the executable's file version, None when the agent is absent or the file is missing.
    """

    present: bool = Field(alias="Present")
    version: Version | None = Field(default=None, alias="Version")
    service_name: str | None = Field(default=None, alias="ServiceName")
    install_dir: str | None = Field(default=None, alias="InstallDir")
    service_process_name: str | None = Field(default=None, alias="ServiceProcessName")

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        return value or None
