"""Typed results of the Cloud Sync (AADCloudSyncTools) wrappers.

The packaged script sends module objects flat, with nested values as compressed JSON text, and raw
Graph objects (schema, service principals, users) as one JSON document each; the validators below undo
that. Enum-like values (`code`, `state`, `reason`) stay strings: Graph documents PascalCase, secondary
texts use other cases, and new values appear (rule 5 of the reference), so compare with `same()`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, TypeAdapter, ValidationError, computed_field, model_validator

from psbridge.models import PSModel
from psbridge.types import DateTime, TimeSpan, parse_bool

REDACTED = "[redacted]"
# .NET TimeSpan.MaxValue in minutes: what [XmlConvert]::ToTimeSpan makes of Graph's "no interval".
_MAX_INTERVAL_MINUTES = 15372286728.0


def same(a: str | None, b: str) -> bool:
    """Case-insensitive equality for Graph's enum-like strings (`Quarantine`, `quarantine`, ...)."""
    return a is not None and a.casefold() == b.casefold()


def template_of(job_id: str) -> str:
    """The job template, from the text before the first '.' of a job id (rule 6 of the reference)."""
    return job_id.split(".", 1)[0]


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

    `code` is NotConfigured, NotRun, Active, Paused or Quarantine (or a value added later). A job in
    quarantine has `quarantine` set; the module sends `quarantine = ''` otherwise. `Succeeded` as the
    last run's state is not health on its own: look at `count_escrowed` and the failure count too.
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
            last_run_ended=ended.isoformat(timespec="seconds") if ended is not None else None,
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
    """Get-AADCloudSyncToolsJob. `template_id` comes from the id; `reported_template_id` is what Graph said."""

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
