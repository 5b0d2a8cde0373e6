"""One interface to Entra Cloud Sync, two ways to reach it: AADCloudSyncTools over remoting, or Microsoft Graph.

`CloudSyncBackend` names the operations both backends run, with the same arguments and the same
models back. `PsrpBackend` runs them with the module on a provisioning-agent server (a `Session`,
functions of `psbridge.cloudsync.functions`), `GraphBackend` with Graph app-only (a `GraphClient`,
functions of `psbridge.cloudsync.graph`). Both are thin adapters: the logic stays in those functions,
which remain the library's API.

What only one backend can do is not in the protocol: Graph's extras (provision on demand, the
deletion threshold, the tenant's sync facts) are methods of `GraphBackend` alone, and the module's
own functions (sign-in, diagnostics on the agent, repairs) are called with the Session directly. The
one operation whose reach differs is `restart_job`: AADCloudSyncTools always resets `Full`, so
`PsrpBackend.restart_job` raises InputError for any other scope.

`BACKENDS` lists every backend by its `--via` name; mypy checks each class against the protocol there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Literal, Protocol

from psbridge.cloudsync import functions, graph
from psbridge.cloudsync.changes import JobChange
from psbridge.cloudsync.graph import DeletionThresholdChange, ObjectType
from psbridge.cloudsync.models import (
    DeletionThreshold,
    JobList,
    JobScheduleList,
    JobSchema,
    JobSettingsList,
    JobStatusList,
    ProvisioningResult,
    ServicePrincipalList,
    TenantSyncFacts,
)
from psbridge.errors import InputError
from psbridge.graph.client import GraphClient
from psbridge.session import Session

Via = Literal["psrp", "graph"]


class CloudSyncBackend(Protocol):
    """The Cloud Sync operations both backends run, each returning the same model.

    Job reads take `job_id` (one job; an unknown id raises ObjectNotFoundError) or `template` (the
    jobs created from it), or neither (every job). Job control reads the state first, sends nothing
    the state makes pointless, never retries what it sends, and with `wait_for` polls until that
    status code or `deadline_s`. `restart_job`'s `scope` is Graph's resetScope (see
    `psbridge.cloudsync.graph.restart_job`); a backend that cannot send it raises InputError.
    """

    def get_service_principal(self) -> ServicePrincipalList: ...

    def get_job(self, *, job_id: str | None = None, template: str | None = None) -> JobList: ...

    def get_job_status(self, *, job_id: str | None = None, template: str | None = None) -> JobStatusList: ...

    def get_job_schedule(self, *, job_id: str | None = None, template: str | None = None) -> JobScheduleList: ...

    def get_job_settings(self, *, job_id: str | None = None, template: str | None = None) -> JobSettingsList: ...

    def get_job_schema(self, *, job_id: str) -> JobSchema: ...

    def suspend_job(
        self,
        *,
        job_id: str,
        wait_for: str | None = None,
        deadline_s: float = 300.0,
        poll_s: float = 10.0,
        dry_run: bool = False,
    ) -> JobChange: ...

    def resume_job(
        self,
        *,
        job_id: str,
        wait_for: str | None = None,
        deadline_s: float = 300.0,
        poll_s: float = 10.0,
        dry_run: bool = False,
    ) -> JobChange: ...

    def restart_job(
        self,
        *,
        job_id: str,
        scope: str | Iterable[str] = "Full",
        confirm_force_deletes: bool = False,
        wait_for: str | None = None,
        deadline_s: float = 300.0,
        poll_s: float = 10.0,
        dry_run: bool = False,
    ) -> JobChange: ...


@dataclasses.dataclass(frozen=True)
class PsrpBackend:
    """Cloud Sync through AADCloudSyncTools on an agent server; the Session must be signed in (`connect`)."""

    session: Session
    module_path: str | None = None

    def get_service_principal(self) -> ServicePrincipalList:
        return functions.get_service_principal(self.session, kind="CloudSync", module_path=self.module_path)

    def get_job(self, *, job_id: str | None = None, template: str | None = None) -> JobList:
        return functions.get_job(self.session, job_id=job_id, template=template, module_path=self.module_path)

    def get_job_status(self, *, job_id: str | None = None, template: str | None = None) -> JobStatusList:
        return functions.get_job_status(self.session, job_id=job_id, template=template, module_path=self.module_path)

    def get_job_schedule(self, *, job_id: str | None = None, template: str | None = None) -> JobScheduleList:
        return functions.get_job_schedule(self.session, job_id=job_id, template=template, module_path=self.module_path)

    def get_job_settings(self, *, job_id: str | None = None, template: str | None = None) -> JobSettingsList:
        return functions.get_job_settings(self.session, job_id=job_id, template=template, module_path=self.module_path)

    def get_job_schema(self, *, job_id: str) -> JobSchema:
        return functions.get_job_schema(self.session, job_id=job_id, module_path=self.module_path)

    def suspend_job(
        self,
        *,
        job_id: str,
        wait_for: str | None = None,
        deadline_s: float = 300.0,
        poll_s: float = 10.0,
        dry_run: bool = False,
    ) -> JobChange:
        return functions.suspend_job(self.session, job_id=job_id, wait_for=wait_for, deadline_s=deadline_s,
                                     poll_s=poll_s, dry_run=dry_run, module_path=self.module_path)  # fmt: skip

    def resume_job(
        self,
        *,
        job_id: str,
        wait_for: str | None = None,
        deadline_s: float = 300.0,
        poll_s: float = 10.0,
        dry_run: bool = False,
    ) -> JobChange:
        return functions.resume_job(self.session, job_id=job_id, wait_for=wait_for, deadline_s=deadline_s,
                                    poll_s=poll_s, dry_run=dry_run, module_path=self.module_path)  # fmt: skip

    def restart_job(
        self,
        *,
        job_id: str,
        scope: str | Iterable[str] = "Full",
        confirm_force_deletes: bool = False,
        wait_for: str | None = None,
        deadline_s: float = 300.0,
        poll_s: float = 10.0,
        dry_run: bool = False,
    ) -> JobChange:
        """Restart-AADCloudSyncToolsJob, which always resets Full: any other scope raises InputError."""
        if graph.reset_scope(scope) != "Full":
            raise InputError("AADCloudSyncTools always restarts with resetScope Full: another scope needs Graph")
        return functions.restart_job(self.session, job_id=job_id, wait_for=wait_for, deadline_s=deadline_s,
                                     poll_s=poll_s, dry_run=dry_run, module_path=self.module_path)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class GraphBackend:
    """Cloud Sync through Microsoft Graph's synchronization API, app-only; and what only Graph can do."""

    client: GraphClient

    def get_service_principal(self) -> ServicePrincipalList:
        return graph.get_service_principal(self.client)

    def get_job(self, *, job_id: str | None = None, template: str | None = None) -> JobList:
        return graph.get_job(self.client, job_id=job_id, template=template)

    def get_job_status(self, *, job_id: str | None = None, template: str | None = None) -> JobStatusList:
        return graph.get_job_status(self.client, job_id=job_id, template=template)

    def get_job_schedule(self, *, job_id: str | None = None, template: str | None = None) -> JobScheduleList:
        return graph.get_job_schedule(self.client, job_id=job_id, template=template)

    def get_job_settings(self, *, job_id: str | None = None, template: str | None = None) -> JobSettingsList:
        return graph.get_job_settings(self.client, job_id=job_id, template=template)

    def get_job_schema(self, *, job_id: str) -> JobSchema:
        return graph.get_job_schema(self.client, job_id=job_id)

    def suspend_job(
        self,
        *,
        job_id: str,
        wait_for: str | None = None,
        deadline_s: float = 300.0,
        poll_s: float = 10.0,
        dry_run: bool = False,
    ) -> JobChange:
        return graph.suspend_job(self.client, job_id=job_id, wait_for=wait_for, deadline_s=deadline_s, poll_s=poll_s,
                                 dry_run=dry_run)  # fmt: skip

    def resume_job(
        self,
        *,
        job_id: str,
        wait_for: str | None = None,
        deadline_s: float = 300.0,
        poll_s: float = 10.0,
        dry_run: bool = False,
    ) -> JobChange:
        return graph.resume_job(self.client, job_id=job_id, wait_for=wait_for, deadline_s=deadline_s, poll_s=poll_s,
                                dry_run=dry_run)  # fmt: skip

    def restart_job(
        self,
        *,
        job_id: str,
        scope: str | Iterable[str] = "Full",
        confirm_force_deletes: bool = False,
        wait_for: str | None = None,
        deadline_s: float = 300.0,
        poll_s: float = 10.0,
        dry_run: bool = False,
    ) -> JobChange:
        return graph.restart_job(self.client, job_id=job_id, scope=scope, confirm_force_deletes=confirm_force_deletes,
                                 wait_for=wait_for, deadline_s=deadline_s, poll_s=poll_s, dry_run=dry_run)  # fmt: skip

    # -- Graph only ---------------------------------------------------------------------------------

    def provision_on_demand(
        self,
        *,
        job_id: str,
        distinguished_name: str,
        object_type: ObjectType = "user",
        rule_id: str | None = None,
        dry_run: bool = False,
    ) -> ProvisioningResult:
        return graph.provision_on_demand(self.client, job_id=job_id, distinguished_name=distinguished_name,
                                         object_type=object_type, rule_id=rule_id, dry_run=dry_run)  # fmt: skip

    def get_deletion_threshold(self, *, job_id: str) -> DeletionThreshold:
        return graph.get_deletion_threshold(self.client, job_id=job_id)

    def set_deletion_threshold(
        self, *, job_id: str, value: int | None = None, enabled: bool | None = None, dry_run: bool = False
    ) -> DeletionThresholdChange:
        return graph.set_deletion_threshold(self.client, job_id=job_id, value=value, enabled=enabled, dry_run=dry_run)

    def get_tenant_sync(self) -> TenantSyncFacts:
        return graph.get_tenant_sync(self.client)


# Every backend, by the name `--via` gives it. The annotation makes mypy check each class against the protocol.
BACKENDS: Mapping[Via, type[CloudSyncBackend]] = {"psrp": PsrpBackend, "graph": GraphBackend}
