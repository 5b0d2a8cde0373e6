"""Waiting is logic, not I/O: poll a read until a done test holds or the deadline comes.

`poll` is the one wait of psbridge: a sync cycle to end (`psbridge.adsync.start_sync_cycle(wait=True)`),
a Cloud Sync job to reach a state, Exchange Online to show a change, a repair's sync to start. It takes the
read, the done test, the deadline and the pause between reads, and the clock and the sleep to use
(`time.monotonic` and `time.sleep` unless given), so tests pass a fake clock and nothing really sleeps.

The rule: read (or take the value already read), and stop when it is done. Otherwise wait `poll_s` and
read again, unless the deadline has come or the next read would come after it: then the wait timed out.
A wait never sleeps past its deadline, and it reads at least once, even with a deadline of 0.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from psbridge.errors import InputError

T = TypeVar("T")

Clock = Callable[[], float]  # seconds, monotonic
Sleep = Callable[[float], None]


class _Unread:
    """No value read yet (so `None` can be a value)."""


UNREAD = _Unread()


@dataclasses.dataclass(frozen=True)
class Done(Generic[T]):
    """The done test held for `value`, the last of `reads` values, after `elapsed_s` seconds."""

    value: T
    reads: int
    elapsed_s: float


@dataclasses.dataclass(frozen=True)
class TimedOut(Generic[T]):
    """The deadline came first; `value` is the last value read (of `reads`)."""

    value: T
    reads: int
    elapsed_s: float


def poll(
    read: Callable[[], T],
    done: Callable[[T], bool],
    *,
    deadline_s: float,
    poll_s: float,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
    first: T | _Unread = UNREAD,
) -> Done[T] | TimedOut[T]:
    """Call `read` every `poll_s` seconds until `done(value)`, for at most `deadline_s` seconds.

    `first` is a value already read: it is tested before anything is read, and counts as a read.
    """
    if deadline_s < 0 or poll_s < 0:
        raise InputError("a wait's deadline and poll interval must not be negative")
    started = clock()
    deadline = started + deadline_s
    value = read() if isinstance(first, _Unread) else first
    reads = 1
    while not done(value):
        now = clock()
        if now >= deadline or now + poll_s > deadline:
            return TimedOut(value, reads, now - started)
        sleep(poll_s)
        value = read()
        reads += 1
    return Done(value, reads, clock() - started)
