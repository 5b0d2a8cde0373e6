"""`psbridge migrate cloud-sync`: the Connect Sync to Cloud Sync migration of one AD domain, guarded,
journaled and resumable (`migrate.py`), its steps (`steps.py`) and its journal (`journal.py`)."""

from psbridge.runbooks.cloudsync_migration.journal import MigrationJournal
from psbridge.runbooks.cloudsync_migration.migrate import (
    ROLLBACK_RUNBOOK,
    RUNBOOK,
    migrate_cloud_sync,
    rollback_cloud_sync,
)
from psbridge.runbooks.cloudsync_migration.steps import STEPS

__all__ = ["ROLLBACK_RUNBOOK", "RUNBOOK", "STEPS", "MigrationJournal", "migrate_cloud_sync", "rollback_cloud_sync"]
