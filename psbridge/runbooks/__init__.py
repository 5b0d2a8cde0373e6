"""Runbooks: the questions hybrid admins keep asking, answered across the hosts involved.

Each runbook is called `runbook(targets, **options)`: it takes the sessions it needs (and Microsoft Graph)
from one `psbridge.targets.Targets` and returns a `Report` of checks, each with its status, evidence and
fix (see `psbridge.runbooks.report`, which states the contract).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from psbridge import _lazy

if TYPE_CHECKING:
    from psbridge.runbooks.duplicate import diagnose_duplicate_mailbox as diagnose_duplicate_mailbox
    from psbridge.runbooks.duplicate import repair_duplicate_mailbox as repair_duplicate_mailbox
    from psbridge.runbooks.migration import check_cloud_sync_migration as check_cloud_sync_migration
    from psbridge.runbooks.readiness import check_cloud_managed_readiness as check_cloud_managed_readiness
    from psbridge.runbooks.report import Check as Check
    from psbridge.runbooks.report import Report as Report
    from psbridge.runbooks.report import Status as Status
    from psbridge.runbooks.routing import diagnose_routing_domain as diagnose_routing_domain

__getattr__, __dir__ = _lazy.exporter(__name__, globals())
