"""Job control for the Cloud Sync wrappers: read a job's status, act on it, wait for a state.

Restart, suspend and resume change a running service and are never retried once sent. Suspend and
resume read the job first and send nothing when it is already where the action would put it (resume
only starts a Paused or quarantined job: Graph warns that repeated starts can stop the service).
Every action reads the job back; with a `Wait`, it polls until the job's code is the one asked for.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Literal

from psbridge.cloudsync.changes import JobChange, predicted_status
from psbridge.cloudsync.models import JobStatus, same
from psbridge.cloudsync.runner import read_jobs, run
from psbridge.errors import InputError
from psbridge.session import Session
from psbridge.wait import Clock, Done, Sleep, poll

Action = Literal["restart", "suspend", "resume"]


@dataclasses.dataclass(frozen=True)
class Wait:
    """Poll every `poll_s` seconds, up to `deadline_s`, for a job whose code is `code` (None: no wait), on
    `clock` and `sleep` (`psbridge.wait.poll`)."""

    code: str | None = None
    deadline_s: float = 300.0
    poll_s: float = 10.0
    clock: Clock = time.monotonic
    sleep: Sleep = time.sleep

    def __post_init__(self) -> None:
        if self.deadline_s < 0 or self.poll_s < 0:
            raise InputError("deadline and poll interval must not be negative")


# When each action is sent, given the state read first (None: always, without a read); both backends.
SENT_WHEN: dict[Action, Callable[[JobStatus], bool] | None] = {
    "restart": None,
    "suspend": lambda status: not same(status.code, "Paused"),
    "resume": lambda status: same(status.code, "Paused") or status.is_quarantined,
}
_FUNCTIONS: dict[Action, str] = {
    "restart": "Restart-AADCloudSyncToolsJob",
    "suspend": "Suspend-AADCloudSyncToolsJob",
    "resume": "Resume-AADCloudSyncToolsJob",
}


def read_one(session: Session, job_id: str, module_path: str | None) -> JobStatus:
    """One job's status (Get-AADCloudSyncToolsJobStatus -Id)."""
    found = read_jobs(session, "Get-AADCloudSyncToolsJobStatus", JobStatus, job_id=job_id, template=None,
                      module_path=module_path)  # fmt: skip
    return found[0]


def control(
    session: Session, action: Action, job_id: str, until: Wait, dry_run: bool, module_path: str | None
) -> JobChange:
    function, wanted = _FUNCTIONS[action], SENT_WHEN[action]
    before = None if wanted is None else read_one(session, job_id, module_path)
    send = wanted is None or (before is not None and wanted(before))
    if dry_run:
        current = before or read_one(session, job_id, module_path)
        would = f"dry run: {function} would {'' if send else 'not '}be sent"
        after = predicted_status(action, current) if send else current
        return JobChange(action=action, job_id=job_id, changed=send, dry_run=True, before=current, after=after,
                         note=would)  # fmt: skip
    note = None
    if send:
        run(session, function, {"Id": job_id}, module_path=module_path, changes=True)
        after = read_one(session, job_id, module_path)
    else:
        assert before is not None
        after, note = before, f"{function} was not sent: the job is {before.code}"
    after, reached = wait(lambda: read_one(session, job_id, module_path), after, until)
    return JobChange(action=action, job_id=job_id, changed=send, before=before, after=after, wait_for=until.code,
                     reached=reached, note=note)  # fmt: skip


def wait(read: Callable[[], JobStatus], first: JobStatus, until: Wait) -> tuple[JobStatus, bool | None]:
    """The job's status once its code is `until.code` (True), or when the deadline passed (False);
    `read` reads it again (either backend)."""
    if until.code is None:
        return first, None
    code = until.code
    outcome = poll(read, lambda status: same(status.code, code), first=first, deadline_s=until.deadline_s,
                   poll_s=until.poll_s, clock=until.clock, sleep=until.sleep)  # fmt: skip
    return outcome.value, isinstance(outcome, Done)
