"""Named targets in use: sessions by role or name, the reachability probe, and the check of them all.

The config file and its models are in `psbridge.config`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from psbridge import _lazy

if TYPE_CHECKING:
    from psbridge.targets.functions import probe
    from psbridge.targets.models import Reachability, TargetCheck, TargetsCheck, TargetSummary
    from psbridge.targets.sessions import Targets, check_targets, describe_targets

__all__ = [
    "Reachability",
    "TargetCheck",
    "TargetSummary",
    "Targets",
    "TargetsCheck",
    "check_targets",
    "describe_targets",
    "probe",
]
_LAZY = {
    "Reachability": "psbridge.targets.models",
    "TargetCheck": "psbridge.targets.models",
    "TargetSummary": "psbridge.targets.models",
    "Targets": "psbridge.targets.sessions",
    "TargetsCheck": "psbridge.targets.models",
    "check_targets": "psbridge.targets.sessions",
    "describe_targets": "psbridge.targets.sessions",
    "probe": "psbridge.targets.functions",
}
__getattr__ = _lazy.exporter(__name__, globals(), _LAZY)
