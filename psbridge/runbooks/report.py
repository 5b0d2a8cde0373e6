"""What every runbook returns: checks with a status, the evidence behind it and the fix.

A runbook never raises for what it finds: a missing domain, an old Connect server, a straggling
mailbox are checks that `fail` or `warn`, with the evidence (the values read, from which target)
and the documented fix. It raises only when it cannot look: bad input (InputError, exit 2) or a
target it cannot reach (TransportError, exit 3); a target it can reach but cannot read is a `fail`
check naming the error.

Exit codes for monitoring (`Report.exit_code`): 0 every check passed (or was skipped), 1 any check
warns or fails; the CLI adds 2 for bad input and 3 for an unreachable target.

The runbook contract: `runbook(targets, **options) -> Report`. A runbook's one positional argument is a
`psbridge.targets.Targets`, from which it takes each role's session and Microsoft Graph; its options are
keywords. `Targets.of({...})` wraps sessions made elsewhere.

Evidence of a check that failed because its target answered with an error (`failed`), the one schema:
    error    the class name of the psbridge error (psbridge.errors), e.g. "AccessDeniedError"
    message  its message, in one line
and any more values the check read.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from psbridge.errors import ExitCode

if TYPE_CHECKING:
    from psbridge.journal import StepJournal


class Status(enum.StrEnum):
    PASS = "pass"  # noqa: S105 - a status, not a password
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"  # not applicable here (e.g. no Cloud Sync agent), or not reachable after an earlier failure


_RANK = {Status.PASS: 0, Status.SKIP: 0, Status.WARN: 1, Status.FAIL: 2}


class Check(BaseModel):
    """One check: `summary` says what was found in one line; `evidence` holds the values read (JSON-able),
    `target` the host or role they came from; `fix` what to do when it does not pass."""

    model_config = ConfigDict(frozen=True)

    name: str
    status: Status
    summary: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    target: str | None = None
    fix: str | None = None


def failed(
    name: str, summary: str, *, target: str | None, error: Exception, fix: str | None = None, **evidence: Any
) -> Check:
    """A failing check for a target that answered, but with an error (the evidence schema is above)."""
    found = {"error": type(error).__name__, "message": str(error), **evidence}
    return Check(name=name, status=Status.FAIL, summary=summary, evidence=found, target=target, fix=fix)


def unreadable(
    name: str, what: str, *, target: str | None, error: Exception, fix: str | None = None, **evidence: Any
) -> Check:
    """`failed`, for a target that answered with an error when asked for `what` (the one wording)."""
    return failed(name, f"could not read {what}: {error}", target=target, error=error, fix=fix, **evidence)


class Report(BaseModel):
    """A runbook's checks, in the order they ran, and its verdict (the worst status)."""

    model_config = ConfigDict(frozen=True)

    runbook: str
    subject: str | None = None  # what it was about: a user, a tenant
    checks: tuple[Check, ...]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> Status:
        worst = max((c.status for c in self.checks), key=_RANK.__getitem__, default=Status.PASS)
        return Status.PASS if worst == Status.SKIP else worst

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK if self.status == Status.PASS else ExitCode.SHORT

    def check(self, name: str) -> Check:
        """The check of that name (KeyError when the runbook has none)."""
        for item in self.checks:
            if item.name == name:
                return item
        raise KeyError(name)


def interrupted(
    book: StepJournal | None, steps: Sequence[tuple[str, str]], *, runbook: str, subject: str, rerun: str
) -> Report | None:
    """What a journaled runbook interrupted midway did, from its journal alone (None when no step started).

    `steps` are each step's id and check name, in order. Each step done passes; the one it was in fails
    (its outcome is unknown: a re-run reads the state before it acts); those not run are skipped.
    """
    if book is None or not book.steps:
        return None
    checks = []
    for step, name in steps:
        last = book.steps.get(step)
        if last is None:
            status, summary = Status.SKIP, "not run: interrupted before it"
        elif last["event"] == "done":
            status, summary = Status.PASS, f"done ({last['at']}): {last.get('summary', '')}"
        elif last["event"] == "started":
            status, summary = Status.FAIL, "interrupted while it ran: its outcome is unknown (a re-run reads it first)"
        else:
            status, summary = Status.FAIL, f"failed ({last['at']}): {last.get('summary', '')}"
        checks.append(Check(name=name, status=status, summary=summary))
    outcome = Check(
        name="outcome",
        status=Status.FAIL,
        summary="interrupted: the steps above are where it stopped",
        evidence={"journal": str(book.path), "steps_done": book.done()},
        fix=f"{rerun} resumes it",
    )
    return Report(runbook=runbook, subject=subject, checks=(*checks, outcome))
