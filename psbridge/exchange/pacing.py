"""How big a rollout batch is and how fast it writes: the defaults, the budget, adaptive pacing.

From docs/exchange.md, Bulk changes and throttling:
- `DEFAULT_PACE_S` 0.5: Microsoft's micro-delay workaround sleeps 500 ms after each Set-Mailbox
  (KB2881759). The batch script sleeps that long on the jump host after every write.
- `DEFAULT_BATCH_SIZE` 200: bulk writes go in chunks that finish well inside the REST
  API's 15-minute timeout. At an assumed `EST_ITEM_S` of REST time per mailbox (one Get-Mailbox and
  one Set-Mailbox, our estimate) plus the pace, 200 mailboxes take 200 x (2 s + 0.5 s) = 500 s, and a
  pipeline is planned to take at most `BATCH_BUDGET_S`, 12 minutes; `plan()` refuses settings whose writes
  alone would not fit. Fewer, larger batches mean fewer round trips; smaller ones, a finer journal and progress.
- Read-ahead: the pipeline that writes a batch also reads the next one (`EST_READ_S` each: one Get-Mailbox,
  no pause), so that batch needs no read pipeline of its own. It is sent only when the whole pipeline still
  fits the budget (`fits`): 200 writes at the default pace and 200 reads ahead are 500 s + 200 s = 700 s,
  inside the 720 s; at a pace slowed by micro-delays, or in larger batches, the next batch reads for itself.
- Adaptive pacing: micro-delay warnings ("by design ... safely ignore", but a sign to slow down)
  double the pace of the next batch, at least to the longest delay the service reported; a batch
  without them halves it back towards the configured pace. The pace never exceeds what keeps a
  batch inside the budget.

Nothing here does I/O or imports pydantic: the CLI shows these defaults in --help.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from psbridge.errors import InputError

BATCH_BUDGET_S = 720.0
EST_ITEM_S = 2.0
EST_READ_S = EST_ITEM_S / 2


@dataclasses.dataclass(frozen=True)
class Pacing:
    """Milliseconds to pause after each Set-Mailbox: from `base_ms`, adapted batch by batch up to `cap_ms`."""

    base_ms: int
    cap_ms: int

    def after(self, pace_ms: int, delays_ms: Iterable[float]) -> int:
        """The pace for the next batch, given this one's pace and its micro-delays."""
        delays = list(delays_ms)
        if delays:
            return min(self.cap_ms, max(2 * pace_ms, round(max(delays)), self.base_ms))
        return max(self.base_ms, pace_ms // 2)

    def resume(self, pace_ms: int | None) -> int:
        """Where a resumed rollout starts: where the last one left off, within bounds."""
        return min(self.cap_ms, max(self.base_ms, pace_ms or 0))


def fits(writes: int, reads: int, pace_ms: int) -> bool:
    """Whether a pipeline of `writes` mailboxes to switch at `pace_ms` that also reads `reads` more (the next
    batch, read ahead) is planned within `BATCH_BUDGET_S`."""
    return writes * (EST_ITEM_S + pace_ms / 1000) + reads * EST_READ_S <= BATCH_BUDGET_S


def plan(batch_size: int, pace_s: float) -> Pacing:
    """The pacing for a batch size and pace; InputError when a batch would not fit the budget."""
    if batch_size < 1 or pace_s < 0:
        raise InputError("the batch size must be at least 1 and the pace not negative")
    cap_s = BATCH_BUDGET_S / batch_size - EST_ITEM_S
    if pace_s > cap_s:
        raise InputError(
            f"a batch of {batch_size} at a pace of {pace_s:g}s would run about "
            f"{batch_size * (pace_s + EST_ITEM_S) / 60:.0f} minutes: keep batch size x (pace + {EST_ITEM_S:g}s) "
            f"within {BATCH_BUDGET_S:g}s, well inside the 15-minute timeout of Exchange Online's REST cmdlets"
        )
    return Pacing(round(pace_s * 1000), round(cap_s * 1000))
