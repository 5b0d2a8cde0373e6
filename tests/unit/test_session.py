"""Session behaviour above the wire, with MockTransport: errors, retries, logging."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pytest_mock import MockerFixture
from structlog.testing import capture_logs

from psbridge import (
    AccessDeniedError,
    AuthenticationError,
    Command,
    CommandNotFoundError,
    ConnectError,
    InputError,
    ObjectNotFoundError,
    OperationTimeoutError,
    OutcomeUnknownError,
    RemoteCommandError,
    RetryPolicy,
    Session,
    ShellNotFoundError,
    TransientRemoteError,
)
from psbridge.command import ErrorRule
from psbridge.errors import RemoteModuleNotFoundError
from psbridge.result import ErrorRecordData, InvocationResult, Streams
from psbridge.transport.mock import MockTransport

FAST = RetryPolicy(attempts=3, total_s=5, initial_s=0, max_wait_s=0, jitter_s=0)


def ok(command: Command, **streams: object) -> InvocationResult:
    return InvocationResult(command.display(), ("out",), Streams(**streams))  # type: ignore[arg-type]


def record(fqid: str, category: str = "NotSpecified", exc: str = "System.Exception") -> ErrorRecordData:
    return ErrorRecordData("it broke", fqid, category, exception_type=exc, target_name="obj1")


def session(handler: Callable[[Command], InvocationResult]) -> tuple[Session, MockTransport]:
    transport = MockTransport(handler, target="connect01")
    return Session(transport=transport, retry=FAST), transport


def test_non_terminating_error_raises_even_when_state_completed() -> None:
    s, _ = session(lambda c: ok(c, error=(record("Some.Error,Cmdlet"),)))
    with pytest.raises(RemoteCommandError) as info:
        s.invoke(Command.cmdlet("Get-Thing"))
    err = info.value
    assert err.error_id == "Some.Error,Cmdlet" and err.target == "connect01" and err.command == "Get-Thing"
    assert err.target_name == "obj1"


@pytest.mark.parametrize(
    ("rec", "cls"),
    [
        (record("CommandNotFoundException"), CommandNotFoundError),
        (record("Modules_ModuleNotFound,Microsoft.PowerShell.Commands.ImportModuleCommand",
                exc="System.IO.FileNotFoundException"), RemoteModuleNotFoundError),
        (record("NotFound,Get-Thing", category="ObjectNotFound"), ObjectNotFoundError),
        (record("X", exc="System.UnauthorizedAccessException"), AccessDeniedError),
        (record("X", category="PermissionDenied"), AccessDeniedError),
        (record("X"), RemoteCommandError),
    ],
)  # fmt: skip
def test_error_records_map_to_specific_classes(rec: ErrorRecordData, cls: type) -> None:
    s, _ = session(lambda c: ok(c, error=(rec,)))
    with pytest.raises(RemoteCommandError) as info:
        s.invoke(Command.cmdlet("Get-Thing"))
    assert type(info.value) is cls
    assert info.value.error_id == rec.fully_qualified_error_id


def test_collect_policy_returns_errors_instead() -> None:
    s, _ = session(lambda c: ok(c, error=(record("E"),)))
    result = s.invoke(Command.cmdlet("Get-Thing", errors="collect"))
    assert result.errors[0].fully_qualified_error_id == "E"


def flaky(failures: list[Exception]) -> Callable[[Command], InvocationResult]:
    def handler(command: Command) -> InvocationResult:
        if failures:
            raise failures.pop(0)
        return ok(command)

    return handler


def test_transient_failures_of_reads_are_retried() -> None:
    s, transport = session(flaky([ConnectError("reset"), ShellNotFoundError("gone", code=2150858843)]))
    with capture_logs() as logs:
        assert s.invoke(Command.cmdlet("Get-Thing")).output == ("out",)
    assert len(transport.calls) == 3
    attempts = [e["attempt"] for e in logs if e["event"] == "psbridge.invoke"]
    assert attempts == [1, 2, 3]
    outcomes = [e["outcome"] for e in logs if e["event"] == "psbridge.invoke"]
    assert outcomes == ["ConnectError", "ShellNotFoundError", "ok"]
    assert all({"target", "command", "elapsed_ms"} <= e.keys() for e in logs if e["event"] == "psbridge.invoke")


def test_retries_are_bounded() -> None:
    s, transport = session(flaky([ConnectError("reset") for _ in range(10)]))
    with pytest.raises(ConnectError):
        s.invoke(Command.cmdlet("Get-Thing"))
    assert len(transport.calls) == FAST.attempts


def test_auth_failures_are_never_retried() -> None:
    s, transport = session(flaky([AuthenticationError("no"), AuthenticationError("no")]))
    with pytest.raises(AuthenticationError):
        s.invoke(Command.cmdlet("Get-Thing"))
    assert len(transport.calls) == 1


def test_state_changing_call_is_not_retried_once_sent() -> None:
    s, transport = session(flaky([ConnectError("reset after send", command_sent=True)]))
    with pytest.raises(OutcomeUnknownError, match="may or may not have run"):
        s.invoke(Command.cmdlet("Start-ADSyncSyncCycle", {"PolicyType": "Delta"}, idempotent=False))
    assert len(transport.calls) == 1


def test_state_changing_call_is_retried_when_it_never_left() -> None:
    s, transport = session(flaky([ConnectError("pool open failed", command_sent=False)]))
    s.invoke(Command.cmdlet("Start-ADSyncSyncCycle", idempotent=False))
    assert len(transport.calls) == 2


def test_remote_streams_reach_the_log() -> None:
    s, _ = session(lambda c: ok(c, warning=("the interval changes after a cycle",), verbose=("step 1",)))
    with capture_logs() as logs:
        s.invoke(Command.cmdlet("Set-ADSyncScheduler"))
    events = {(e["event"], e.get("message")) for e in logs}
    assert ("psbridge.remote.warning", "the interval changes after a cycle") in events
    assert ("psbridge.remote.verbose", "step 1") in events


def test_context_manager_closes_and_bad_timeout_is_input_error() -> None:
    s, transport = session(ok)
    with s, pytest.raises(InputError):
        s.invoke(Command.cmdlet("Get-Thing"), timeout=0)
    assert transport.closed
    with pytest.raises(InputError):
        Session()


def test_transient_remote_errors_retry_only_safe_calls() -> None:
    throttled = ErrorRecordData("Response status code does not indicate success: 429", "X", "NotSpecified")
    rules = (ErrorRule(TransientRemoteError, message_contains=": 429"),)
    answers = [ok(Command.cmdlet("x"), error=(throttled,)), ok(Command.cmdlet("x"))]
    s, transport = session(lambda c: answers.pop(0))
    s.invoke(Command.cmdlet("Get-Mailbox", error_rules=rules))
    assert len(transport.calls) == 2
    s, transport = session(lambda c: ok(c, error=(throttled,)))
    with pytest.raises(TransientRemoteError):
        s.invoke(Command.cmdlet("New-MoveRequest", idempotent=False, error_rules=rules))
    assert len(transport.calls) == 1


class _Clock:
    """A monotonic clock that moves only when the fake transport spends time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def test_retries_share_one_deadline_and_none_starts_past_it(mocker: MockerFixture) -> None:
    """`timeout=5` bounds the call, not each attempt: every attempt takes 2.5 s and fails transiently; the
    second gets the 2.5 s left, and no third starts (10 were allowed)."""
    clock = _Clock()
    mocker.patch("psbridge.session.time", clock)
    mocker.patch("psbridge.retry.time", clock)

    def slow(command: Command) -> InvocationResult:
        clock.now += 2.5
        raise ConnectError("reset", command_sent=False)

    transport = MockTransport(slow, target="connect01")
    spy = mocker.spy(transport, "invoke")
    s = Session(transport=transport, retry=RetryPolicy(attempts=10, total_s=600, initial_s=0, max_wait_s=0, jitter_s=0))
    with pytest.raises(ConnectError) as caught:
        s.invoke(Command.cmdlet("Get-Thing"), timeout=5)
    assert [call.kwargs["timeout"] for call in spy.call_args_list] == [5, 2.5]
    assert caught.value.attempt == 2


@pytest.mark.parametrize(
    ("idempotent", "sent", "raised"),
    [(False, True, OutcomeUnknownError), (True, True, OperationTimeoutError), (False, False, OperationTimeoutError)],
)
def test_a_write_that_times_out_after_it_was_sent_is_outcome_unknown(
    idempotent: bool, sent: bool, raised: type[Exception]
) -> None:
    """A timed-out call was stopped, but a write may have run before the stop: OutcomeUnknownError (exit 3),
    not retried. A read, or a write that was never sent, keeps its OperationTimeoutError."""
    s, transport = session(flaky([OperationTimeoutError("too slow", command_sent=sent, deadline_s=5)] * 3))
    with pytest.raises(raised) as caught:
        s.invoke(Command.cmdlet("Set-Thing", idempotent=idempotent))
    assert caught.value.exit_code == 3  # type: ignore[attr-defined]
    assert len(transport.calls) == 1
    if raised is OutcomeUnknownError:
        assert "may or may not have run" in str(caught.value)
        assert isinstance(caught.value.__cause__, OperationTimeoutError)
