"""A Session: one connection to one target host, with retries, deadlines and structured logs.

    with Session(ConnectionOptions.build(host="connect01.contoso.com", username="CONTOSO\\\\svc")) as s:
        result = s.invoke(Command.cmdlet("Get-ADSyncScheduler"))

The session owns one transport (by default the PSRP transport, one runspace pool reused for every call).
It raises for every error record, terminating or not; retries transient transport failures of
idempotent calls with exponential backoff and jitter, bounded in attempts and total time; and logs one
structlog event per attempt with target, command, attempt, elapsed_ms and outcome. Warnings and
verbose messages from the host reach the log too.

A call's `timeout` is one deadline for the whole call, every attempt and every wait between them
included: a retry is started only while at least `MIN_ATTEMPT_S` of it is left, and each attempt gets
what is left. The transport holds each attempt to it, pool opening and stopping included, so a call
ends at most `DEADLINE_MARGIN_S` after its deadline (README "Deadlines"). A call that changes state and
times out after it was sent raises OutcomeUnknownError: it was stopped, but it may have run.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

from psbridge import errors, logs
from psbridge.command import Command, ErrorRule
from psbridge.options import ConnectionOptions
from psbridge.result import ErrorRecordData, InvocationResult
from psbridge.retry import DEFAULT_RETRY, RetryPolicy, retrying

if TYPE_CHECKING:
    from psbridge.transport import RecordCallback, Transport


class Session:
    """One target host. A context manager; `close()` releases the runspace pool."""

    def __init__(
        self,
        options: ConnectionOptions | None = None,
        *,
        transport: Transport | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        timeout: float = 120.0,
    ) -> None:
        if options is None and transport is None:
            raise errors.InputError("a Session needs connection options or a transport")
        self.options = options
        self._transport = transport
        self.retry = retry
        self.timeout = timeout
        self.target = transport.target if transport is not None else options.host  # type: ignore[union-attr]
        self._setup: list[tuple[Command, Command | None]] = []

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            from psbridge.transport.psrp import PSRPTransport

            assert self.options is not None
            self._transport = PSRPTransport(self.options)
        return self._transport

    def add_runspace_setup(self, setup: Command, teardown: Command | None = None) -> None:
        """Run `setup` in every runspace this session opens, and `teardown` when the session closes.

        Module state lives in the remote runspace: a sign-in made there (Connect-ExchangeOnline)
        serves every later call, and is made again, transparently, when the pool is reopened after
        an idle disconnect. A setup that fails raises on the call that needed the runspace. When the
        pool is already open, `setup` runs now.
        """
        self._setup.append((setup, teardown))
        self.transport.on_pool_open = self._run_setup
        if self.transport.pool_open:
            self.invoke(setup)

    def _run_setup(self) -> None:
        for setup, _ in self._setup:
            self.invoke(setup)

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Run the teardown commands (best effort, newest first), then release the runspace pool."""
        if self._transport is None:
            return
        try:
            if self._transport.pool_open:
                for _, teardown in reversed(self._setup):
                    if teardown is None:
                        continue
                    try:
                        self.invoke(teardown)
                    except errors.PsbridgeError as exc:
                        self._log.warning("psbridge.teardown_failed", command=teardown.display(), error=str(exc))
        finally:
            self._transport.close()

    def invoke(
        self, command: Command, *, timeout: float | None = None, on_record: RecordCallback | None = None
    ) -> InvocationResult:
        """Run a command and return its result; raise for transport failures and error records.

        `on_record` is called with information, warning, verbose and progress records as they
        arrive, while the command still runs (e.g. a device-code sign-in instruction).
        """
        deadline_s = self.timeout if timeout is None else timeout
        if deadline_s <= 0:
            raise errors.InputError("timeout must be positive")
        deadline = time.monotonic() + deadline_s  # one deadline for every attempt
        shown = command.display()
        secrets = [*command.secret_values(), *(self.options.secrets() if self.options else [])]
        if secrets:
            logs.protect(secrets)
        attempt = 0

        def once() -> InvocationResult:
            nonlocal attempt
            attempt += 1
            started = time.monotonic()
            left = deadline_s if attempt == 1 else deadline - started
            try:
                result = self.transport.invoke(command, timeout=left, on_record=on_record)
            except errors.PsbridgeError as exc:
                exc.attempt = attempt
                exc.redact(secrets)
                # info, not warning: the caller gets the exception; -v shows every attempt.
                self._log.info(
                    "psbridge.invoke", command=shown, attempt=attempt, outcome=type(exc).__name__,
                    elapsed_ms=round((time.monotonic() - started) * 1000, 1), error=str(exc),
                )  # fmt: skip
                raise
            self._log_streams(result, command.label)
            failure = (
                None if command.errors == "collect" else error_for(result, self.target, attempt, command.error_rules)
            )
            if failure is not None:
                failure.redact(secrets)
            self._log.info(
                "psbridge.invoke", command=shown, attempt=attempt, elapsed_ms=round(result.elapsed_ms, 1),
                outcome="ok" if failure is None else type(failure).__name__, objects=len(result.output),
            )  # fmt: skip
            if failure is not None:
                raise failure
            return result

        policy = self.retry

        def retryable(exc: BaseException) -> bool:
            if isinstance(exc, errors.RemoteCommandError):
                return exc.transient and command.idempotent  # the command ran: only a safe one again
            if not isinstance(exc, errors.TransportError) or not exc.transient:
                return False
            return command.idempotent or not exc.command_sent

        retry = retrying(policy, deadline=deadline, retryable=retryable)
        try:
            return retry(once)
        except errors.TransportError as exc:
            timed_out = isinstance(exc, errors.OperationTimeoutError)
            if (exc.transient or timed_out) and exc.command_sent and not command.idempotent:
                raise errors.OutcomeUnknownError(
                    f"{shown} may or may not have run on {self.target}: {exc}; it was not retried because it "
                    "changes state - check the target before running it again",
                    target=self.target, command=shown, attempt=attempt,
                ) from exc  # fmt: skip
            raise

    @property
    def _log(self) -> Any:
        return logs.get_logger(target=self.target)

    def _log_streams(self, result: InvocationResult, label: str) -> None:
        """One event per remote record, naming the command (`label`), not its parameters: a warning repeated
        for each mailbox of a batch of 100 then reads as the same event (`psbridge.invoke` has the whole call).
        Remote text may echo a secret (invoke protected this call's) or carry a bearer token (AADCloudSyncTools'
        state does); the application's structlog configuration may lack logs.drop_tokens, so redact first."""
        clean = logs.redact_known

        log = self._log
        streams = result.streams
        for level, kind, texts in (
            ("warning", "warning", streams.warning),
            ("info", "verbose", streams.verbose),
            ("debug", "debug", streams.debug),
            ("info", "information", [str(i.message_data) for i in streams.information]),
        ):
            for text in texts:
                getattr(log, level)(f"psbridge.remote.{kind}", command=label, message=clean(text))


# FullyQualifiedErrorId prefixes and exception types that have a class of their own.
_BY_ERROR_ID: tuple[tuple[str, type[errors.RemoteCommandError]], ...] = (
    ("CommandNotFoundException", errors.CommandNotFoundError),
    ("Modules_ModuleNotFound", errors.RemoteModuleNotFoundError),
)
_BY_EXCEPTION: dict[str, type[errors.RemoteCommandError]] = {
    "System.Management.Automation.CommandNotFoundException": errors.CommandNotFoundError,
    "System.IO.FileNotFoundException": errors.RemoteModuleNotFoundError,
    "System.UnauthorizedAccessException": errors.AccessDeniedError,
}
_BY_CATEGORY: dict[str, type[errors.RemoteCommandError]] = {
    "ObjectNotFound": errors.ObjectNotFoundError,
    "PermissionDenied": errors.AccessDeniedError,
}


def classify(record: ErrorRecordData, rules: tuple[ErrorRule, ...] = ()) -> type[errors.RemoteCommandError]:
    """The most specific RemoteCommandError class for an error record: the command's rules first."""
    rule = _rule_for(record, rules)
    if rule is not None:
        return rule.error
    for prefix, cls in _BY_ERROR_ID:
        if record.fully_qualified_error_id.startswith(prefix):
            return cls
    if record.exception_type in _BY_EXCEPTION and (
        record.exception_type != "System.IO.FileNotFoundException" or "Modules_" in record.fully_qualified_error_id
    ):
        return _BY_EXCEPTION[record.exception_type]
    return _BY_CATEGORY.get(record.category, errors.RemoteCommandError)


def _rule_for(record: ErrorRecordData, rules: tuple[ErrorRule, ...]) -> ErrorRule | None:
    return next((rule for rule in rules if rule.matches(record)), None)


def note_for(record: ErrorRecordData, rules: tuple[ErrorRule, ...]) -> str:
    """What the rule that classified `record` adds to its message (`; <note>`), or nothing."""
    rule = _rule_for(record, rules)
    return f"; {rule.note}" if rule is not None and rule.note else ""


def error_for(
    result: InvocationResult, target: str, attempt: int = 1, rules: tuple[ErrorRule, ...] = ()
) -> errors.RemoteCommandError | None:
    """The error to raise for a result, or None. Non-terminating records count: pypsrp would not."""
    if not result.errors and result.state != "Failed":
        return None
    if not result.errors:
        return errors.RemoteCommandError(f"{result.command} failed on {target}", target=target, command=result.command)
    record = result.errors[-1] if result.state == "Failed" else result.errors[0]
    cls = classify(record, rules)
    more = f" (+{len(result.errors) - 1} more error records)" if len(result.errors) > 1 else ""
    return cls(
        f"{result.command} failed on {target}: {record.message}{more}{note_for(record, rules)}",
        target=target,
        command=result.command,
        error_id=record.fully_qualified_error_id,
        category=record.category,
        attempt=attempt,
        target_name=record.target_name or None,
        exception_type=record.exception_type or None,
    )
