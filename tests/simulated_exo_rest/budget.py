"""The write budget over REST: `tests/simulated.py`'s `WriteBudget`, applied per HTTP request.

The model is the one docs/exchange.md describes ("The simulated write budget") with the same numbers and rule: a
write request (an InvokeCommand running a Set-*, or a `$batch` carrying n of them, served one after the other) is a
writer, in flight from its arrival until its service time (`write_cost_s` per write, plus any micro-delay) has
passed on the injected clock. Where the PSRP batch script's `-PaceMilliseconds` lengthens each write's period, a
REST client paces by waiting between requests: the time since its previous writer ended (per `connection-id` header)
is its pace, spread over the writer's writes. One more writer than `max_writers` is refused with HTTP 429 and the
concurrency message; a writer that would take the running writers past the rate has each write delayed, one
`MICRO_DELAY` warning per write in `@adminapi.warnings`, and after `strikes` such writers in a row the next one that
would is refused with HTTP 429. Every write answer, and every refusal, carries `Rate-Limit-Remaining` (writer slots
left) and `Rate-Limit-Reset` (seconds until the next slot frees, or that moment as an HTTP date): the header names
are public (GreyCorbel/ExoHelper reads them), their values' meaning and format are assumptions.
"""

from __future__ import annotations

import dataclasses
import email.utils
import math
import threading
import time
from collections.abc import Callable

from simulated import MICRO_DELAY, WriteBudget

from simulated_exo_rest import errors


@dataclasses.dataclass
class Admission:
    """A writer let in: its micro-delay (ms, or None), the service time to sleep, the rate-limit headers."""

    delay_ms: int | None
    service_s: float
    headers: dict[str, str]

    def warnings(self) -> list[str]:
        return [MICRO_DELAY.format(ms=self.delay_ms)] if self.delay_ms is not None else []


class RestBudget:
    """Admits writers under a `WriteBudget`; `clock` is monotonic seconds (injectable for tests).

    Attributes: `peak_writers` (most writers in flight at once), `refused`, `micro_delays` (warnings sent).
    """

    def __init__(
        self, budget: WriteBudget, *, clock: Callable[[], float] = time.monotonic, reset_as_date: bool = False
    ) -> None:
        self.budget = budget
        self.clock = clock
        self.reset_as_date = reset_as_date
        self._lock = threading.Lock()
        self._flying: list[tuple[float, float]] = []  # (ends at, writes per second) of each writer
        self._strikes = 0
        self._ended: dict[str, float] = {}  # by client: when its last writer's service time ends
        self.peak_writers = 0
        self.refused = 0
        self.micro_delays = 0

    def admit(self, writes: int, client: str = "") -> Admission:
        """Let a writer of `writes` writes in, or raise the 429 `RestError` that refuses it."""
        with self._lock:
            now = self.clock()
            gap = max(0.0, now - self._ended.get(client, now))  # the client's pace, spread over its writes
            period = self.budget.write_cost_s + gap / max(writes, 1)
            self._flying = [f for f in self._flying if f[0] > now]
            room = self.budget.rate - sum(rate for _, rate in self._flying)
            delay_s = max(0.0, 1 / room - period) if room > 0 else math.inf
            late = delay_s > 1e-9
            if len(self._flying) >= self.budget.max_writers:
                self.refused += 1
                raise errors.too_many_concurrent(self._headers(now))
            if late and (self._strikes >= self.budget.strikes or math.isinf(delay_s)):
                self.refused += 1
                raise errors.throttled(self._headers(now))
            self._strikes = self._strikes + 1 if late else 0
            service = writes * (self.budget.write_cost_s + delay_s)
            self._flying.append((now + service, 1 / (period + delay_s)))
            self._ended[client] = now + service
            self.peak_writers = max(self.peak_writers, len(self._flying))
            if late:
                self.micro_delays += writes
            return Admission(round(delay_s * 1000) if late else None, service, self._headers(now))

    def _headers(self, now: float) -> dict[str, str]:
        left = max(0, self.budget.max_writers - len(self._flying))
        wait = min((end for end, _ in self._flying), default=now) - now
        reset = email.utils.formatdate(time.time() + wait, usegmt=True) if self.reset_as_date else str(math.ceil(wait))
        return {"Rate-Limit-Remaining": str(left), "Rate-Limit-Reset": reset}
