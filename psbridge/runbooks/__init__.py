"""Runbooks: the questions hybrid admins keep asking, answered across the hosts involved.

Each runbook takes sessions (or a `psbridge.targets.Targets`) for the targets it needs and returns a
`Report` of checks, each with its status, evidence and fix (see `psbridge.runbooks.report`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from psbridge import _lazy

if TYPE_CHECKING:
    from psbridge.runbooks.duplicate import diagnose_duplicate_mailbox, repair_duplicate_mailbox
    from psbridge.runbooks.migration import check_cloud_sync_migration
    from psbridge.runbooks.readiness import check_cloud_managed_readiness
    from psbridge.runbooks.report import Check, Report, Status
    from psbridge.runbooks.routing import diagnose_routing_domain

__all__ = [
    "Check",
    "Report",
    "Status",
    "check_cloud_managed_readiness",
    "check_cloud_sync_migration",
    "diagnose_duplicate_mailbox",
    "diagnose_routing_domain",
    "repair_duplicate_mailbox",
]
_LAZY = {
    **dict.fromkeys(["Check", "Report", "Status"], "psbridge.runbooks.report"),
    "check_cloud_managed_readiness": "psbridge.runbooks.readiness",
    "check_cloud_sync_migration": "psbridge.runbooks.migration",
    "diagnose_duplicate_mailbox": "psbridge.runbooks.duplicate",
    "diagnose_routing_domain": "psbridge.runbooks.routing",
    "repair_duplicate_mailbox": "psbridge.runbooks.duplicate",
}
__getattr__ = _lazy.exporter(__name__, globals(), _LAZY)
