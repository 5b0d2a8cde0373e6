"""Runbooks: the questions hybrid admins keep asking, answered across the hosts involved.

Each runbook takes sessions (or a `psbridge.targets.Targets`) for the targets it needs and returns a
`Report` of checks, each with its status, evidence and fix (see `psbridge.runbooks.report`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from psbridge import _lazy

if TYPE_CHECKING:
    from psbridge.runbooks.report import Check, Report, Status

__all__ = ["Check", "Report", "Status"]
_LAZY = dict.fromkeys(__all__, "psbridge.runbooks.report")
__getattr__ = _lazy.exporter(__name__, globals(), _LAZY)
