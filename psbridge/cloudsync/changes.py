"""Results of the Cloud Sync wrappers that act: sign-in, setup, job control, repairs, diagnostics."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from psbridge.cloudsync.models import JobSchema, JobStatus, OptBool, ServiceAccount, Text, same
from psbridge.models import Change, PSModel, truthful_dry_run


class ActionResult(PSModel):
    """A module function that returns nothing: what it said on the host and warned about."""

    function: str
    messages: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


class ConnectResult(PSModel):
    """The module's state after Connect-AADCloudSyncTools, and what it said (the device-code instruction)."""

    tenant_id: Text = Field(default=None, alias="TenantId")
    username: Text = Field(default=None, alias="Username")
    connected: OptBool = Field(default=None, alias="Connected")
    messages: tuple[str, ...] = ()


class PrerequisitesResult(PSModel):
    """Install-AADCloudSyncToolsPrerequisites.

    `needs_new_session`: PowerShellGet was upgraded first and the module stopped there; open a new
    Session (a new remote PowerShell process) and run it again to install MSAL.PS.
    """

    installed: bool
    needs_new_session: bool
    messages: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


class JobChange(PSModel):
    """What restart/suspend/resume did to a job.

    `changed`: the action was sent (never in a dry run); `would_change`: it is (or, in a dry run, would
    be) sent. `before` is the state read first; `after` is the state read back afterwards, or in a dry
    run the predicted state (suspend: Paused, resume and restart: Active, as the service reports them
    once it takes the request). With `wait_for`, `reached` says whether `after.code` got there before
    the deadline.
    """

    action: Literal["restart", "suspend", "resume"]
    job_id: str
    changed: bool
    would_change: bool = False
    dry_run: bool = False
    before: JobStatus | None = None
    after: JobStatus
    wait_for: str | None = None
    reached: bool | None = None
    note: str | None = None
    reset_scope: str | None = None  # a Graph restart's resetScope (the module's restart is always Full)

    _truthful = model_validator(mode="before")(truthful_dry_run)

    @property
    def ok(self) -> bool:
        """False only when a wait was asked for and the state was not reached."""
        return self.reached is not False


def predicted_status(action: str, before: JobStatus, reset_scope: str | None = "Full") -> JobStatus:
    """The state a dry run predicts once the service takes the request: suspend pauses the job; resume
    and restart make it Active (a resume, a Full restart or one that resets QuarantineState clears the
    quarantine; another restart scope leaves it to the next run)."""
    if action == "suspend":
        return before.model_copy(update={"code": "Paused"})
    clears = (
        action == "resume"
        or reset_scope is None
        or any(same(part.strip(), name) for part in reset_scope.split(",") for name in ("Full", "QuarantineState"))
    )
    return before.model_copy(update={"code": "Active", **({"quarantine": None} if clears else {})})


class SchemaChange(Change[JobSchema]):
    """Set-AADCloudSyncToolsJobSchema: the schema before and after (read back), or as proposed in a dry run."""


class AccountRepair(Change[ServiceAccount | None]):
    """Repair-AADCloudSyncToolsAccount: the service account before and after, and what the module said.

    A dry run cannot predict the after-state: the repair deletes the account and the service creates a
    new one, whose id and creation time exist only then. So a dry run's `after` is None and `note` says
    so; in a real run, `after` is the account read back (None: the service made none in time).
    """

    messages: tuple[str, ...] = ()
    note: str | None = None


class DeletionPrevention(PSModel):
    """The tenant-wide Connect Sync `accidentalDeletionPrevention` setting (not Cloud Sync's per-job threshold)."""

    tenant_id: str
    synchronization_prevention_type: str | None = None
    alert_threshold: int | None = None

    @classmethod
    def from_graph(cls, tenant_id: str, document: Any) -> DeletionPrevention:
        configuration = (document or {}).get("configuration") or {}
        setting = configuration.get("accidentalDeletionPrevention") or {}
        return cls(
            tenant_id=tenant_id,
            synchronization_prevention_type=setting.get("synchronizationPreventionType"),
            alert_threshold=setting.get("alertThreshold"),
        )

    @property
    def enabled(self) -> bool:
        """What the module checks: any type but `disabled`, when one is set."""
        kind = self.synchronization_prevention_type
        return kind is not None and not same(kind, "disabled")


class DeletionPreventionChange(Change[DeletionPrevention]):
    """Disable-AADCloudSyncToolsDirSyncAccidentalDeletionPrevention: the setting before and after."""

    messages: tuple[str, ...] = ()


class LogExport(PSModel):
    """Export-AADCloudSyncToolsLogs: the zip on the agent and, when fetched, its verified local copy."""

    remote_path: str
    size: int
    local_path: Path | None = None
    sha256: str | None = None
