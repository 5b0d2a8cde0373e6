"""Named targets in use: the one factory of sessions and Graph clients (`Targets`), the reachability
probe, and the check of them all.

The config file and its models are in `psbridge.config`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from psbridge import _lazy

if TYPE_CHECKING:
    from psbridge.targets.check import check_targets as check_targets
    from psbridge.targets.check import describe_targets as describe_targets
    from psbridge.targets.factory import Targets as Targets
    from psbridge.targets.functions import probe as probe
    from psbridge.targets.models import Reachability as Reachability
    from psbridge.targets.models import TargetCheck as TargetCheck
    from psbridge.targets.models import TargetsCheck as TargetsCheck
    from psbridge.targets.models import TargetSummary as TargetSummary

__getattr__, __dir__ = _lazy.exporter(__name__, globals())
