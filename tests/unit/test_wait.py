"""The one wait (`psbridge.wait.poll`) on a fake clock: nothing really sleeps, and every wait that uses it
(a Cloud Sync job, a sync cycle, the repair's reads) keeps the same deadline rule."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from psbridge import InputError
from psbridge.cloudsync.jobs import Wait, wait
from psbridge.cloudsync.models import JobStatus
from psbridge.wait import Done, TimedOut, poll


@dataclasses.dataclass
class FakeClock:
    """A monotonic clock that moves only when something sleeps on it."""

    now: float = 1000.0
    slept: list[float] = dataclasses.field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(mocker: Any) -> Iterator[FakeClock]:
    real_sleep = mocker.patch("time.sleep")
    yield FakeClock()
    real_sleep.assert_not_called()  # every pause went to the fake clock


def reads(values: list[Any]) -> Callable[[], Any]:
    it = iter(values)
    return lambda: next(it)


def test_a_value_done_at_the_first_read_is_returned_without_a_pause(clock: FakeClock) -> None:
    outcome = poll(reads([5]), lambda v: v == 5, deadline_s=60, poll_s=10, clock=clock, sleep=clock.sleep)
    assert outcome == Done(5, reads=1, elapsed_s=0.0) and clock.slept == []


def test_reads_are_spaced_by_the_poll_interval_until_done(clock: FakeClock) -> None:
    outcome = poll(reads([1, 2, 3]), lambda v: v == 3, deadline_s=60, poll_s=10, clock=clock, sleep=clock.sleep)
    assert outcome == Done(3, reads=3, elapsed_s=20.0) and clock.slept == [10, 10]


def test_the_deadline_ends_the_wait_before_a_read_that_would_come_after_it(clock: FakeClock) -> None:
    seen: list[float] = []

    def read() -> float:
        seen.append(clock.now - 1000.0)
        return clock.now

    outcome = poll(read, lambda _: False, deadline_s=10, poll_s=3, clock=clock, sleep=clock.sleep)
    assert isinstance(outcome, TimedOut)
    assert (outcome.reads, outcome.elapsed_s, seen) == (4, 9.0, [0.0, 3.0, 6.0, 9.0])
    assert sum(clock.slept) <= 10  # never slept past the deadline


def test_a_read_exactly_at_the_deadline_is_still_made(clock: FakeClock) -> None:
    outcome = poll(reads([0, 0, 1]), lambda v: v == 1, deadline_s=20, poll_s=10, clock=clock, sleep=clock.sleep)
    assert outcome == Done(1, reads=3, elapsed_s=20.0)


def test_a_wait_of_no_time_reads_once(clock: FakeClock) -> None:
    outcome = poll(reads(["busy"]), lambda v: v == "idle", deadline_s=0, poll_s=0, clock=clock, sleep=clock.sleep)
    assert outcome == TimedOut("busy", reads=1, elapsed_s=0.0) and clock.slept == []


def test_a_value_already_read_is_tested_first_and_counts(clock: FakeClock) -> None:
    outcome = poll(reads([]), lambda v: v is None, first=None, deadline_s=5, poll_s=1, clock=clock, sleep=clock.sleep)
    assert outcome == Done(None, reads=1, elapsed_s=0.0)


def test_a_negative_deadline_or_interval_is_refused(clock: FakeClock) -> None:
    for deadline_s, poll_s in ((-1, 1), (1, -1)):
        with pytest.raises(InputError, match="must not be negative"):
            poll(reads([]), bool, deadline_s=deadline_s, poll_s=poll_s, clock=clock, sleep=clock.sleep)


def _job(code: str) -> JobStatus:
    return JobStatus.model_validate({"id": "AD2AADProvisioning.x.y", "code": code})


def test_a_cloud_sync_job_wait_runs_on_the_clock_it_is_given(clock: FakeClock) -> None:
    until = Wait("Active", deadline_s=60, poll_s=15, clock=clock, sleep=clock.sleep)
    status, reached = wait(reads([_job("Paused"), _job("active")]), _job("Paused"), until)
    assert (status.code, reached, clock.slept) == ("active", True, [15, 15])
    status, reached = wait(reads([_job("Paused")] * 9), _job("Paused"), until)
    assert (status.code, reached, sum(clock.slept[2:])) == ("Paused", False, 60)
