"""Entra Cloud Sync: the AADCloudSyncTools module on a provisioning-agent server, over remoting, or Graph.

Signing in (`connect`) takes a device code from a person: use these functions interactively, and
`psbridge.cloudsync.graph` (the same reads and job control, and more, over Microsoft Graph app-only)
for unattended work. See `psbridge.cloudsync.functions`. `CloudSyncBackend` is the interface both
reach it through (`PsrpBackend` on a Session, `GraphBackend` on a GraphClient; see
`psbridge.cloudsync.backend`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from psbridge import _lazy

if TYPE_CHECKING:
    from psbridge.cloudsync.backend import CloudSyncBackend as CloudSyncBackend
    from psbridge.cloudsync.backend import GraphBackend as GraphBackend
    from psbridge.cloudsync.backend import PsrpBackend as PsrpBackend
    from psbridge.cloudsync.changes import AccountRepair as AccountRepair
    from psbridge.cloudsync.changes import ActionResult as ActionResult
    from psbridge.cloudsync.changes import ConnectResult as ConnectResult
    from psbridge.cloudsync.changes import DeletionPrevention as DeletionPrevention
    from psbridge.cloudsync.changes import DeletionPreventionChange as DeletionPreventionChange
    from psbridge.cloudsync.changes import JobChange as JobChange
    from psbridge.cloudsync.changes import LogExport as LogExport
    from psbridge.cloudsync.changes import PrerequisitesResult as PrerequisitesResult
    from psbridge.cloudsync.changes import SchemaChange as SchemaChange
    from psbridge.cloudsync.configure import create_configuration as create_configuration
    from psbridge.cloudsync.configure import get_attribute_mappings as get_attribute_mappings
    from psbridge.cloudsync.configure import set_attribute_mappings as set_attribute_mappings
    from psbridge.cloudsync.configure import set_ou_scope as set_ou_scope
    from psbridge.cloudsync.configure import start_and_watch as start_and_watch
    from psbridge.cloudsync.configure_models import AttributeMapping as AttributeMapping
    from psbridge.cloudsync.configure_models import AttributeMappingChange as AttributeMappingChange
    from psbridge.cloudsync.configure_models import AttributeMappings as AttributeMappings
    from psbridge.cloudsync.configure_models import CloudSyncConfiguration as CloudSyncConfiguration
    from psbridge.cloudsync.configure_models import ConfigurationChange as ConfigurationChange
    from psbridge.cloudsync.configure_models import MappedAttributes as MappedAttributes
    from psbridge.cloudsync.configure_models import ObjectMapping as ObjectMapping
    from psbridge.cloudsync.configure_models import OuScope as OuScope
    from psbridge.cloudsync.configure_models import OuScopeChange as OuScopeChange
    from psbridge.cloudsync.configure_models import StartWatch as StartWatch
    from psbridge.cloudsync.functions import connect as connect
    from psbridge.cloudsync.functions import (
        disable_dirsync_accidental_deletion_prevention as disable_dirsync_accidental_deletion_prevention,
    )
    from psbridge.cloudsync.functions import export_logs as export_logs
    from psbridge.cloudsync.functions import get_agent_version as get_agent_version
    from psbridge.cloudsync.functions import get_info as get_info
    from psbridge.cloudsync.functions import get_job as get_job
    from psbridge.cloudsync.functions import get_job_schedule as get_job_schedule
    from psbridge.cloudsync.functions import get_job_schema as get_job_schema
    from psbridge.cloudsync.functions import get_job_scope as get_job_scope
    from psbridge.cloudsync.functions import get_job_settings as get_job_settings
    from psbridge.cloudsync.functions import get_job_status as get_job_status
    from psbridge.cloudsync.functions import get_service_account as get_service_account
    from psbridge.cloudsync.functions import get_service_principal as get_service_principal
    from psbridge.cloudsync.functions import install_prerequisites as install_prerequisites
    from psbridge.cloudsync.functions import invoke_graph_query as invoke_graph_query
    from psbridge.cloudsync.functions import repair_account as repair_account
    from psbridge.cloudsync.functions import restart_job as restart_job
    from psbridge.cloudsync.functions import resume_job as resume_job
    from psbridge.cloudsync.functions import set_job_schema as set_job_schema
    from psbridge.cloudsync.functions import set_tenant_id as set_tenant_id
    from psbridge.cloudsync.functions import start_verbose_logs as start_verbose_logs
    from psbridge.cloudsync.functions import stop_verbose_logs as stop_verbose_logs
    from psbridge.cloudsync.functions import suspend_job as suspend_job
    from psbridge.cloudsync.graph import DeletionThresholdChange as DeletionThresholdChange
    from psbridge.cloudsync.models import AgentInstallation as AgentInstallation
    from psbridge.cloudsync.models import DeletionThreshold as DeletionThreshold
    from psbridge.cloudsync.models import GraphQueryResult as GraphQueryResult
    from psbridge.cloudsync.models import Info as Info
    from psbridge.cloudsync.models import Job as Job
    from psbridge.cloudsync.models import JobList as JobList
    from psbridge.cloudsync.models import JobSchedule as JobSchedule
    from psbridge.cloudsync.models import JobScheduleList as JobScheduleList
    from psbridge.cloudsync.models import JobSchema as JobSchema
    from psbridge.cloudsync.models import JobScope as JobScope
    from psbridge.cloudsync.models import JobSettings as JobSettings
    from psbridge.cloudsync.models import JobSettingsList as JobSettingsList
    from psbridge.cloudsync.models import JobStatus as JobStatus
    from psbridge.cloudsync.models import JobStatusList as JobStatusList
    from psbridge.cloudsync.models import JobStatusSummary as JobStatusSummary
    from psbridge.cloudsync.models import ModifiedProperty as ModifiedProperty
    from psbridge.cloudsync.models import ProvisioningResult as ProvisioningResult
    from psbridge.cloudsync.models import ProvisioningStatusInfo as ProvisioningStatusInfo
    from psbridge.cloudsync.models import ProvisioningStep as ProvisioningStep
    from psbridge.cloudsync.models import Quarantine as Quarantine
    from psbridge.cloudsync.models import ScopeRule as ScopeRule
    from psbridge.cloudsync.models import ServiceAccount as ServiceAccount
    from psbridge.cloudsync.models import ServiceAccountResult as ServiceAccountResult
    from psbridge.cloudsync.models import ServicePrincipal as ServicePrincipal
    from psbridge.cloudsync.models import ServicePrincipalList as ServicePrincipalList
    from psbridge.cloudsync.models import SyncError as SyncError
    from psbridge.cloudsync.models import TaskExecution as TaskExecution
    from psbridge.cloudsync.models import TenantSyncFacts as TenantSyncFacts
    from psbridge.cloudsync.unsupported import remove_group_members as remove_group_members

__getattr__, __dir__ = _lazy.exporter(__name__, globals())
