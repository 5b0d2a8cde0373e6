"""When is a sync cycle that was just started over? Pure logic: no I/O (docs/adsync.md, Sync cycle).

`Get-ADSyncConnectorRunStatus` returns nothing for a moment between steps, so one empty answer never
means "finished". Builds that report `SyncCycleInProgress` are finished once it reads False with
nothing running, provided the cycle was seen running or `NextSyncCycleStartTimeInUTC` moved (the
scheduler updates it when a cycle ends, so a quick cycle that ran between two polls still counts).
1.1.x builds lack `SyncCycleInProgress`: they are finished after `settle_polls` polls in a row with
nothing running.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from psbridge.adsync.models import ConnectorRunStatus, Scheduler


@dataclasses.dataclass
class IdleWatch:
    """Feed it one scheduler read and one run-status read per poll; `observe` says when the cycle is over."""

    start_time_before: dt.datetime | None
    settle_polls: int = 3
    seen_running: bool = False
    idle_polls: int = 0

    def observe(self, scheduler: Scheduler, running: Sequence[ConnectorRunStatus]) -> bool:
        in_progress = scheduler.sync_cycle_in_progress
        busy = bool(running) or bool(in_progress)
        self.seen_running = self.seen_running or busy
        self.idle_polls = 0 if busy else self.idle_polls + 1
        if in_progress is None:
            return self.idle_polls >= self.settle_polls
        moved = (
            self.start_time_before is not None
            and scheduler.next_sync_cycle_start_time_in_utc is not None
            and scheduler.next_sync_cycle_start_time_in_utc != self.start_time_before
        )
        return not busy and (self.seen_running or moved)
