"""Entra Connect Sync (ADSync module) wrappers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from psbridge import _lazy

if TYPE_CHECKING:
    from psbridge.adsync.cycle import IdleWatch as IdleWatch
    from psbridge.adsync.functions import check_version as check_version
    from psbridge.adsync.functions import get_auto_upgrade as get_auto_upgrade
    from psbridge.adsync.functions import get_connector as get_connector
    from psbridge.adsync.functions import get_connector_run_status as get_connector_run_status
    from psbridge.adsync.functions import get_export_deletion_threshold as get_export_deletion_threshold
    from psbridge.adsync.functions import get_global_settings as get_global_settings
    from psbridge.adsync.functions import get_run_profile_result as get_run_profile_result
    from psbridge.adsync.functions import get_scheduler as get_scheduler
    from psbridge.adsync.functions import get_server_configuration as get_server_configuration
    from psbridge.adsync.functions import get_version as get_version
    from psbridge.adsync.functions import set_scheduler as set_scheduler
    from psbridge.adsync.functions import start_sync_cycle as start_sync_cycle
    from psbridge.adsync.interactive import disable_export_deletion_threshold as disable_export_deletion_threshold
    from psbridge.adsync.interactive import enable_export_deletion_threshold as enable_export_deletion_threshold
    from psbridge.adsync.interactive import set_aad_company_feature as set_aad_company_feature
    from psbridge.adsync.interactive import set_aad_password_sync_state as set_aad_password_sync_state
    from psbridge.adsync.migration import CutoverPause as CutoverPause
    from psbridge.adsync.migration import DomainScope as DomainScope
    from psbridge.adsync.migration import MigrationFacts as MigrationFacts
    from psbridge.adsync.migration import get_migration_facts as get_migration_facts
    from psbridge.adsync.migration import pause_for_cutover as pause_for_cutover
    from psbridge.adsync.migration import resume_after_rollback as resume_after_rollback
    from psbridge.adsync.models import AutoUpgrade as AutoUpgrade
    from psbridge.adsync.models import Connector as Connector
    from psbridge.adsync.models import ConnectorPartition as ConnectorPartition
    from psbridge.adsync.models import ConnectorRunStatus as ConnectorRunStatus
    from psbridge.adsync.models import ExportDeletionThreshold as ExportDeletionThreshold
    from psbridge.adsync.models import GlobalParameter as GlobalParameter
    from psbridge.adsync.models import GlobalSettings as GlobalSettings
    from psbridge.adsync.models import NotStartedReason as NotStartedReason
    from psbridge.adsync.models import PolicyType as PolicyType
    from psbridge.adsync.models import RunProfileResult as RunProfileResult
    from psbridge.adsync.models import RunStepResult as RunStepResult
    from psbridge.adsync.models import Scheduler as Scheduler
    from psbridge.adsync.models import ServerConfigurationExport as ServerConfigurationExport
    from psbridge.adsync.models import SyncCycleStart as SyncCycleStart
    from psbridge.adsync.models import VersionCheck as VersionCheck
    from psbridge.adsync.policy import PolicyNote as PolicyNote

__getattr__, __dir__ = _lazy.exporter(__name__, globals())
