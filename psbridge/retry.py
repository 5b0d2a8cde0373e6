"""The one retry engine: exponential backoff with jitter, bounded in attempts, total time and a deadline.

PowerShell calls (`Session.invoke`) and Microsoft Graph requests (`GraphClient`) both retry through
`retrying`: each says which failures are worth another attempt, and may add a server-given wait (Graph's
Retry-After); the bounds are the same. A retry is started only while at least `MIN_ATTEMPT_S` of the
call's deadline is left after its wait.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import tenacity

from psbridge import errors


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter for transient failures."""

    attempts: int = 4
    total_s: float = 60.0
    initial_s: float = 0.5
    max_wait_s: float = 10.0
    jitter_s: float = 0.5

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.total_s <= 0 or self.initial_s < 0 or self.max_wait_s < 0 or self.jitter_s < 0:
            raise errors.InputError("retry policy needs attempts >= 1, total_s > 0 and non-negative waits")


NO_RETRY = RetryPolicy(attempts=1)
DEFAULT_RETRY = RetryPolicy()
MIN_ATTEMPT_S = 1.0  # a retry is not started with less than this left of the call's deadline


class StopBefore(tenacity.stop.stop_base):
    """Stop retrying when the next attempt, after its wait, would start with under MIN_ATTEMPT_S left.

    Time passes by the clock, and by the waits themselves (`idle_for`): a `sleep` that does not really
    sleep (a test's) keeps the same bound."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.started = time.monotonic()

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        now = max(time.monotonic(), self.started + retry_state.idle_for)
        return self.deadline - now - retry_state.upcoming_sleep < MIN_ATTEMPT_S


class WithinTotal(tenacity.stop.stop_base):
    """Stop when the time spent so far and the next wait would pass the policy's `total_s` (counted by the
    clock and by the waits, as in StopBefore)."""

    def __init__(self, total_s: float) -> None:
        self.total_s = total_s

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        spent = max(retry_state.idle_for, retry_state.seconds_since_start or 0.0)
        return spent + retry_state.upcoming_sleep > self.total_s


def backoff(policy: RetryPolicy) -> tenacity.wait.wait_base:
    """Exponential backoff with jitter, as the policy says."""
    exponential = tenacity.wait_exponential(multiplier=policy.initial_s, max=policy.max_wait_s)
    return exponential + tenacity.wait_random(0, policy.jitter_s)


def retrying(
    policy: RetryPolicy,
    *,
    deadline: float,
    retryable: Callable[[BaseException], bool],
    wait: tenacity.wait.wait_base | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> tenacity.Retrying:
    """A tenacity.Retrying within `policy` and the monotonic `deadline`; `wait` replaces `backoff(policy)`
    (e.g. to honour a server's Retry-After)."""
    return tenacity.Retrying(
        stop=tenacity.stop_any(
            tenacity.stop_after_attempt(policy.attempts), WithinTotal(policy.total_s), StopBefore(deadline)
        ),
        wait=wait or backoff(policy),
        retry=tenacity.retry_if_exception(retryable),
        sleep=sleep,
        reraise=True,
    )
