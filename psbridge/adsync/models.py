"""Typed results of the ADSync wrappers (the facts behind them: docs/adsync.md)."""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, model_validator

from psbridge.adsync.policy import PolicyNote
from psbridge.errors import UnexpectedOutputError
from psbridge.models import PSModel, multi_valued
from psbridge.types import Bool, DateTime, OptionalBool, TimeSpan
from psbridge.versions import Version

SERVER_CONFIGURATION_VERSION = "Microsoft.Synchronize.ServerConfigurationVersion"
AAD_CONNECTOR_ID = uuid.UUID("b891884f-051e-4a83-95af-2544101c9083")  # the Entra ID connector, on every server


class PolicyType(enum.StrEnum):
    """`SynchronizationPolicyType`: what the next (or a started) sync cycle runs."""

    UNSPECIFIED = "Unspecified"
    DELTA = "Delta"
    INITIAL = "Initial"


class NotStartedReason(enum.StrEnum):
    """Why Start-SyncCycle.ps1 did not start a cycle (docs/adsync.md, Sync cycle and Errors)."""

    SYNC_CYCLE_DISABLED = "SyncCycleDisabled"  # permanent until someone enables the scheduler
    SCHEDULER_SUSPENDED = "SchedulerSuspended"  # upgrade running or wizard open: back off in minutes
    IN_PROGRESS = "InProgress"  # a cycle is running: try again when it ends


# -- global settings ---------------------------------------------------------------------------------


class GlobalParameter(PSModel):
    """One `ConfigurationParameter` of Get-ADSyncGlobalSettings. `value` is always the stored string."""

    name: str = Field(alias="Name")
    value: str = Field(default="", alias="Value")
    data_type: str = Field(default="String", alias="DataType")
    scope: str = Field(default="", alias="Scope")


# Typed fields of GlobalSettings, read from these parameters (docs/adsync.md, Global settings). A build that lacks one
# leaves the field None.
_SETTINGS: dict[str, str] = {
    "staging_mode_enabled": "Microsoft.Synchronize.StagingMode",
    "scheduler_suspended": "Microsoft.Synchronize.SchedulerSuspended",
    "sign_on_method": "Microsoft.UserSignIn.SignOnMethod",
    "exchange_hybrid": "Microsoft.OptionalFeature.HybridExchange",
    "device_writeback": "Microsoft.OptionalFeature.DeviceWriteBack",
    "group_writeback": "Microsoft.OptionalFeature.GroupWriteBack",
    "user_writeback": "Microsoft.OptionalFeature.UserWriteBack",
    "export_deletion_threshold_enabled": "Microsoft.OptionalFeature.ExportDeletionThreshold",
    "export_deletion_threshold": "Microsoft.OptionalFeature.ExportDeletionThresholdValue",
}


class GlobalSettings(PSModel):
    """Every global parameter, plus typed fields derived from the well-known ones.

    The derived fields are computed from `parameters` on validation ("True"/"False" parsed
    explicitly, never by truthiness); whatever is passed for them is ignored.
    """

    parameters: tuple[GlobalParameter, ...]
    staging_mode_enabled: OptionalBool = None
    scheduler_suspended: OptionalBool = None
    sign_on_method: str | None = None
    password_hash_sync: bool | None = None
    exchange_hybrid: OptionalBool = None
    device_writeback: OptionalBool = None
    group_writeback: OptionalBool = None
    user_writeback: OptionalBool = None
    export_deletion_threshold_enabled: OptionalBool = None
    export_deletion_threshold: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _derive(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        values = {}
        for item in data.get("parameters") or ():
            parameter = item if isinstance(item, GlobalParameter) else GlobalParameter.model_validate(item)
            values[parameter.name.lower()] = parameter.value
        derived: dict[str, Any] = {field: values.get(name.lower()) for field, name in _SETTINGS.items()}
        if derived["export_deletion_threshold"] == "":
            derived["export_deletion_threshold"] = None
        method = derived["sign_on_method"]
        derived["password_hash_sync"] = None if method is None else method.strip().lower() == "passwordhashsync"
        return {**data, **derived}

    def get(self, name: str) -> str | None:
        """A parameter's value by name (case-insensitive), or None when this build lacks it."""
        lowered = name.lower()
        return next((p.value for p in self.parameters if p.name.lower() == lowered), None)

    @property
    def server_configuration_version(self) -> Version:
        raw = self.get(SERVER_CONFIGURATION_VERSION)
        if raw is None:
            raise UnexpectedOutputError(f"the server reports no {SERVER_CONFIGURATION_VERSION} global setting")
        return Version(raw)


class VersionCheck(PSModel):
    """An Entra Connect Sync server's version against a minimum, with what Microsoft's lifecycle says."""

    target: str
    version: Version
    minimum: Version
    meets_minimum: bool
    cloud_managed_minimum: Version
    notes: tuple[PolicyNote, ...]


class ExportDeletionThreshold(PSModel):
    """The accidental-deletion threshold as the server's global settings mirror it (docs/adsync.md, Deletion threshold).

    This local copy may lag behind the cloud value. The authoritative one is Graph
    `GET /beta/directory/onPremisesSynchronization` -> `configuration.accidentalDeletionPrevention`.
    """

    enabled: bool | None
    threshold: int | None
    source: str = "global settings (local mirror)"


# -- scheduler and sync cycles --------------------------------------------------------------------------


class Scheduler(PSModel):
    """Get-ADSyncScheduler (docs/adsync.md, Scheduler).

    The last two fields are None on 1.1.x builds, which lack them.
    """

    allowed_sync_cycle_interval: TimeSpan = Field(alias="AllowedSyncCycleInterval")
    currently_effective_sync_cycle_interval: TimeSpan = Field(alias="CurrentlyEffectiveSyncCycleInterval")
    customized_sync_cycle_interval: TimeSpan = Field(default=None, alias="CustomizedSyncCycleInterval")
    next_sync_cycle_policy_type: PolicyType | None = Field(default=None, alias="NextSyncCyclePolicyType")
    next_sync_cycle_start_time_in_utc: DateTime = Field(default=None, alias="NextSyncCycleStartTimeInUTC")
    purge_run_history_interval: TimeSpan = Field(default=None, alias="PurgeRunHistoryInterval")
    sync_cycle_enabled: Bool = Field(alias="SyncCycleEnabled")
    maintenance_enabled: Bool = Field(alias="MaintenanceEnabled")
    staging_mode_enabled: Bool = Field(alias="StagingModeEnabled")
    scheduler_suspended: OptionalBool = Field(default=None, alias="SchedulerSuspended")
    sync_cycle_in_progress: OptionalBool = Field(default=None, alias="SyncCycleInProgress")

    @property
    def not_started_reason(self) -> NotStartedReason | None:
        """Why a start would be refused, checked in the order Start-SyncCycle.ps1 checks it; None if it would start."""
        if not self.sync_cycle_enabled:
            return NotStartedReason.SYNC_CYCLE_DISABLED
        if self.scheduler_suspended:
            return NotStartedReason.SCHEDULER_SUSPENDED
        if self.sync_cycle_in_progress:
            return NotStartedReason.IN_PROGRESS
        return None


class SyncCycleStart(PSModel):
    """What `start_sync_cycle` did.

    `started` False with a `reason` is the scheduler refusing, not an error. `result` is the
    SchedulerOperationStatus Result text (`Success` when the cycle started). On a staging server
    (`staging_mode_enabled`) the cycle imports and synchronizes but never exports.
    `finished` is None unless the caller waited: then whether the cycle was seen to end in time.
    In a dry run `started` is False and `would_change` says whether a cycle would start (None otherwise).
    """

    started: bool = Field(alias="Started")
    would_change: bool | None = None
    reason: NotStartedReason | None = Field(default=None, alias="Reason")
    result: str | None = Field(default=None, alias="Result")
    policy_type: PolicyType = Field(alias="PolicyType")
    staging_mode_enabled: Bool = Field(alias="StagingModeEnabled")
    next_sync_cycle_start_time_in_utc: DateTime = Field(default=None, alias="NextSyncCycleStartTimeInUTC")
    dry_run: bool = False
    finished: bool | None = None


class ConnectorRunStatus(PSModel):
    """One running connector from Get-ADSyncConnectorRunStatus, e.g. `Busy` / `contoso.onmicrosoft.com - AAD`."""

    connector_name: str = Field(alias="ConnectorName")
    run_state: str = Field(alias="RunState")


# -- connectors and run history ---------------------------------------------------------------------------


def _containers(value: Any) -> Any:
    """A script's `[string[]]` of container DNs; None (the server did not say) stays None."""
    return None if value is None else tuple(str(v) for v in multi_valued(value))


Containers = Annotated[tuple[str, ...] | None, BeforeValidator(_containers)]


class ConnectorPartition(PSModel):
    """One partition of a connector. `selected` and `is_domain` are None when the server does not say.

    `container_inclusions` / `container_exclusions` are the partition's ConnectorPartitionScope
    ContainerInclusionList / ContainerExclusionList (Connect's OU filter; docs/adsync.md, Connectors and
    run history): None when the partition has no scope object or the recording predates them.
    """

    connector_id: uuid.UUID = Field(alias="ConnectorIdentifier")
    identifier: uuid.UUID = Field(alias="Identifier")
    name: str = Field(alias="Name")
    dn: str = Field(default="", alias="DN")
    selected: OptionalBool = Field(default=None, alias="Selected")
    is_domain: OptionalBool = Field(default=None, alias="IsDomain")
    container_inclusions: Containers = Field(default=None, alias="ContainerInclusionList")
    container_exclusions: Containers = Field(default=None, alias="ContainerExclusionList")


class Connector(PSModel):
    """Get-ADSyncConnector, projected: `type` is ConnectorTypeName (`AD`, `Extensible2`); `partitions` are
    read from the row's `Partitions` (Get-Connectors.ps1's JSON page)."""

    identifier: uuid.UUID = Field(alias="Identifier")
    name: str = Field(alias="Name")
    type: str = Field(alias="ConnectorTypeName")
    subtype: str = Field(default="", alias="Subtype")
    description: str = Field(default="", alias="Description")
    creation_time: DateTime = Field(default=None, alias="CreationTime")
    last_modification_time: DateTime = Field(default=None, alias="LastModificationTime")
    partitions: tuple[ConnectorPartition, ...] = Field(default=(), alias="Partitions")

    @property
    def is_entra_id(self) -> bool:
        """The Entra ID (AAD) connector, whose identifier is the same on every server."""
        return self.identifier == AAD_CONNECTOR_ID


_COUNTER = re.compile(r"^(Stage|Disconnector|Connector|Flow|Export)")


class RunStepResult(PSModel):
    """One step of a run, from Get-ADSyncRunProfileResult -RunStepDetails.

    `counts` holds every counter the server reported, by its RunStepResult property name (`StageAdd`,
    `DisconnectorJoinedFlow`, `ConnectorFlow`, `FlowFailure`, `ExportUpdate`, ...); a counter a build
    does not report is absent, not 0. The error counts are None when the step lists no such errors.
    """

    run_history_id: uuid.UUID = Field(alias="RunHistoryId")
    step_history_id: uuid.UUID | None = Field(default=None, alias="StepHistoryId")
    step_number: int = Field(alias="StepNumber")
    step_result: str = Field(alias="StepResult")
    start_date: DateTime = Field(default=None, alias="StartDate")
    end_date: DateTime = Field(default=None, alias="EndDate")
    counts: dict[str, int] = Field(default_factory=dict)
    current_export_batch_number: int | None = Field(default=None, alias="CurrentExportBatchNumber")
    last_successful_export_batch_number: int | None = Field(default=None, alias="LastSuccessfulExportBatchNumber")
    connector_connection_information_xml: str | None = Field(default=None, alias="ConnectorConnectionInformationXml")
    sync_error_count: int | None = Field(default=None, alias="SyncErrorCount")
    discovery_error_count: int | None = Field(default=None, alias="DiscoveryErrorCount")
    mv_retry_error_count: int | None = Field(default=None, alias="MvRetryErrorCount")

    @model_validator(mode="before")
    @classmethod
    def _counters(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or "counts" in data:
            return data
        counts = {k: v for k, v in data.items() if _COUNTER.match(k) and isinstance(v, int) and not isinstance(v, bool)}
        return {**data, "counts": counts}


class RunProfileResult(PSModel):
    """One run from Get-ADSyncRunProfileResult. `result` is kept as the server's text (`success`,
    `completed-sync-errors`, `stopped-deletion-threshold-exceeded`, ...), including values not listed here.
    `step_results` are read from the row's `RunStepResults` (Get-RunProfileResult.ps1's JSON page)."""

    run_history_id: uuid.UUID = Field(alias="RunHistoryId")
    connector_id: uuid.UUID = Field(alias="ConnectorId")
    connector_name: str = Field(alias="ConnectorName")
    run_profile_id: uuid.UUID | None = Field(default=None, alias="RunProfileId")
    run_profile_name: str = Field(alias="RunProfileName")
    run_number: int = Field(alias="RunNumber")
    username: str = Field(default="", alias="Username")
    is_run_complete: Bool = Field(alias="IsRunComplete")
    result: str = Field(alias="Result")
    current_step_number: int = Field(default=0, alias="CurrentStepNumber")
    total_steps: int = Field(default=0, alias="TotalSteps")
    start_date: DateTime = Field(default=None, alias="StartDate")
    end_date: DateTime = Field(default=None, alias="EndDate")
    step_results: tuple[RunStepResult, ...] = Field(default=(), alias="RunStepResults")


# -- auto-upgrade and configuration export -------------------------------------------------------------


class AutoUpgrade(PSModel):
    """Get-ADSyncAutoUpgrade: `Enabled`, `Disabled` or `Suspended` (set by the system).

    `suspension_reason` (read with `detail=True`) is usually an UpgradeResult word such as
    `UpgradeNotSupportedNonLocalDbInstall`; compound and other values occur too, so it stays text.
    """

    state: str = Field(alias="State")
    suspension_reason: str | None = Field(default=None, alias="SuspensionReason")


class ServerConfigurationExport(PSModel):
    """What Get-ADSyncServerConfiguration wrote on the server and, when fetched, the local copy of it.

    `remote_path` is the fresh `psbridge-adsync-export-<hex>` folder the export went into;
    `entry_count` is how many files the fetched archive holds (checked against `file_count`).
    """

    remote_path: str = Field(alias="Path")
    file_count: int = Field(alias="FileCount")
    total_bytes: int = Field(default=0, alias="Bytes")
    zip_path: str | None = Field(default=None, alias="ZipPath")
    zip_size: int | None = Field(default=None, alias="ZipSize")
    local_path: Path | None = None
    sha256: str | None = None
    zip_removed: bool | None = None
    entry_count: int | None = None
