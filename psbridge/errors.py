"""Every exception psbridge raises, in one tree.

    PsbridgeError                       fields: target, command, error_id, category, attempt
    ├── InputError                      bad input from the caller (a version, a parameter, a setting)
    │   └── InteractiveOnlyError        the cmdlet needs a person at a keyboard; names the unattended way
    ├── TransportError                  the call could not be carried out; `transient` says if retrying may help
    │   ├── ConnectError                no connection, TLS failure, connection reset
    │   ├── AuthenticationError         credentials refused (never retried)
    │   ├── OperationTimeoutError       the call passed its deadline and was stopped on the server
    │   ├── WSManFault                  a WSMan fault, with its numeric `code`
    │   │   └── ShellNotFoundError      the server dropped the shell (idle disconnect); reopened on retry
    │   ├── ProtocolError               the PSRP exchange itself went wrong (never retried)
    │   └── OutcomeUnknownError         a non-idempotent call failed after it was sent: it may have run
    ├── RemoteCommandError              the command ran and reported an error record; `transient` says
    │   │                               whether the same call may succeed later (idempotent calls retry)
    │   ├── CommandNotFoundError        cmdlet or script not recognized
    │   ├── RemoteModuleNotFoundError   Import-Module found no such module
    │   ├── ObjectNotFoundError         the object the command was pointed at does not exist
    │   ├── AccessDeniedError           the remote account lacks the rights
    │   ├── ConnectorBusyError          a sync connector is running (`connector` names it); transient
    │   ├── NotConnectedError           the module needs its Connect-* first (e.g. AADCloudSyncTools)
    │   ├── PrerequisiteMissingError    the agent or a module the command needs is not installed
    │   ├── SignInError                 a remote module could not sign in (certificate, consent, role, tenant)
    │   ├── SyncedObjectError           the attribute is mastered on-premises (write-scope error); permanent
    │   ├── TransientRemoteError        throttling, a domain-controller change, replication delay; retried
    │   │   └── ExoRestThrottledError   Exchange Online's REST endpoint refused for now (429, the concurrency
    │   │                               error, a gateway's 502/503/504); `not_processed`, `retry_after`
    │   ├── UnexpectedOutputError       the output did not fit the model; keeps the raw object
    │   └── GraphError                  Microsoft Graph answered with an HTTP error: `status`, `code`, `request_id`
    │       ├── GraphPermissionError    403 (also an AccessDeniedError); `permission` names the one probably missing
    │       ├── GraphNotFoundError      404 (also an ObjectNotFoundError); names the object
    │       └── GraphThrottledError     429/503/504 that outlasted the retries; transient
    └── ReplayError                     record/replay could not serve or store a call
        ├── ReplayMissError             no recorded episode for the command; names the nearest one
        ├── ReplayExhaustedError        every recording of the command was already played
        ├── ScriptNotLocalError         a script sent without UseLocalScope (it would run in the global scope)
        ├── RecordingFormatError        a recording file is malformed or of an unknown version
        └── RecordingSecretError        a known secret would have been written to a recording

Exit codes are defined once, here (`ExitCode`): each class's `exit_code` is one of them, and the CLI and
`psbridge selftest` use them too. This module imports only the standard library: `psbridge --help` loads it.

pypsrp's exceptions are translated in one place (`psbridge.transport.psrp`); HTTP's in `psbridge.http_client`,
with Microsoft Graph's answers in `psbridge.graph.client` and Exchange Online's REST answers in
`psbridge.exchange.rest.client` (a 401 or a refused sign-in is an AuthenticationError). Callers never inspect a
`had_errors` flag: a non-terminating error record raises just as a terminating one does.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any


class ExitCode(enum.IntEnum):
    """The process exit codes of the CLI (stable, documented in `psbridge.cli.main` and the README)."""

    OK = 0
    SHORT = 1  # a check ran and the target falls short
    USAGE = 2  # usage or bad input (InputError, ReplayError)
    TRANSPORT = 3  # connection, authentication or timeout failure; also an unreachable target
    REMOTE = 4  # the remote command failed
    INTERNAL = 70  # a bug in psbridge (sysexits' EX_SOFTWARE)
    LOCAL_WRITE = 74  # a local file could not be written (sysexits' EX_IOERR)
    INTERRUPTED = 130  # Ctrl+C: 128 + SIGINT
    BROKEN_PIPE = 141  # stdout's reader went away (`| head`): 128 + SIGPIPE, as git and shells give
    TERMINATED = 143  # SIGTERM (cron's, systemd's or Ansible's timeout), handled as Ctrl+C is: 128 + SIGTERM


class PsbridgeError(Exception):
    """Root of every psbridge error. `str()` is one line, safe to log: no secrets, no CLIXML."""

    exit_code: ExitCode = ExitCode.INTERNAL  # every raised class sets its own; 70 would mean one was forgotten

    def __init__(
        self,
        message: str,
        *,
        target: str | None = None,
        command: str | None = None,
        error_id: str | None = None,
        category: str | None = None,
        attempt: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.target = target
        self.command = command
        self.error_id = error_id
        self.category = category
        self.attempt = attempt

    def __str__(self) -> str:
        return " ".join(self.message.split())

    def redact(self, secrets: Iterable[str]) -> None:
        """Replace every form of these secrets (`psbridge.redaction`) wherever this error shows text: its
        message and its text fields (a host may echo a value back, URL-encoded or escaped)."""
        from psbridge.redaction import redact

        secrets = [s for s in secrets if s]
        self.message = redact(self.message, secrets)
        for name, value in list(vars(self).items()):
            if name != "message" and isinstance(value, str):
                setattr(self, name, redact(value, secrets))
        self.args = (self.message,)

    def fields(self) -> dict[str, Any]:
        """The structured fields, for log events and JSON output."""
        data: dict[str, Any] = {"error": type(self).__name__, "message": str(self)}
        for name in ("target", "command", "error_id", "category", "attempt"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        return data


class InputError(PsbridgeError, ValueError):
    exit_code = ExitCode.USAGE


class LocalWriteError(PsbridgeError, OSError):
    """A local file psbridge was writing (a journal, a report) could not be written: a full disk, an I/O
    error. Exit code 74, sysexits' EX_IOERR. What could be written is whole and readable."""

    exit_code = ExitCode.LOCAL_WRITE


class InteractiveOnlyError(InputError):
    """A cmdlet that opens a sign-in window or prompts: it cannot run over remoting unattended."""


class TransportError(PsbridgeError):
    exit_code = ExitCode.TRANSPORT
    transient = False

    def __init__(self, message: str, *, command_sent: bool = True, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        # False when the failure happened before the command reached the server, so even a
        # non-idempotent call can safely be tried again.
        self.command_sent = command_sent


class ConnectError(TransportError):
    transient = True


class AuthenticationError(TransportError):
    transient = False


class OperationTimeoutError(TransportError):
    """A call outran its deadline. `command_sent` says whether the command reached the server; when it did,
    psbridge asked the server to stop it (best effort, within the cleanup budget of the README's "Deadlines")."""

    transient = False

    def __init__(self, message: str, *, deadline_s: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.deadline_s = deadline_s


class WSManFault(TransportError):
    # 2150858793 operation timeout, 2150859174 user quota: both go away by themselves.
    TRANSIENT_CODES = frozenset({2150858793, 2150858843, 2150859174})

    def __init__(self, message: str, *, code: int | str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.code = code
        self.transient = code in self.TRANSIENT_CODES or "concurrent" in message.lower()

    def fields(self) -> dict[str, Any]:
        return {**super().fields(), "code": self.code}


class ShellNotFoundError(WSManFault):
    pass


class ProtocolError(TransportError):
    """pypsrp could not make sense of the exchange: a state, fragment or serialization error."""


class OutcomeUnknownError(TransportError):
    """A call that changes state failed in transit, or outran its deadline, after it was sent. Not retried."""


class RemoteCommandError(PsbridgeError):
    exit_code = ExitCode.REMOTE
    transient = False

    def __init__(
        self,
        message: str,
        *,
        target_name: str | None = None,
        exception_type: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.target_name = target_name
        self.exception_type = exception_type

    def fields(self) -> dict[str, Any]:
        data = super().fields()
        if self.target_name:
            data["target_name"] = self.target_name
        if self.exception_type:
            data["exception_type"] = self.exception_type
        return data


class CommandNotFoundError(RemoteCommandError):
    pass


class RemoteModuleNotFoundError(RemoteCommandError):
    pass


class ObjectNotFoundError(RemoteCommandError):
    pass


class AccessDeniedError(RemoteCommandError):
    pass


class ConnectorBusyError(RemoteCommandError):
    """`Connector: <name> is busy.`: a sync cycle or run profile is already running."""

    transient = True

    @property
    def connector(self) -> str | None:
        import re

        match = re.search(r"Connector: (.+?) is busy", self.message)
        return match.group(1) if match else None

    def fields(self) -> dict[str, Any]:
        return {**super().fields(), "connector": self.connector}


class NotConnectedError(RemoteCommandError):
    pass


class PrerequisiteMissingError(RemoteCommandError):
    pass


class SignInError(RemoteCommandError):
    """A remote module (Connect-ExchangeOnline, ...) could not sign in; the message says what to fix."""


class SyncedObjectError(RemoteCommandError):
    """The write targets an attribute mastered in on-premises AD: change it there, or move its source of
    authority first (for Exchange attributes, `Set-Mailbox -IsExchangeCloudManaged $true`)."""


class TransientRemoteError(RemoteCommandError):
    """The service reported a passing condition (throttling, a domain-controller change, replication)."""

    transient = True


class ExoRestThrottledError(TransientRemoteError):
    """Exchange Online refused the request for now: HTTP 429, the per-tenant concurrency error, or a
    gateway's 502/503/504. `not_processed` is True when the cmdlet surely did not run (429, concurrency);
    `retry_after` is the wait the service asked (Retry-After, else Rate-Limit-Reset)."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        not_processed: bool,
        retry_after: float | None = None,
        request_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.status = status
        self.not_processed = not_processed
        self.retry_after = retry_after
        self.request_id = request_id


class UnexpectedOutputError(RemoteCommandError):
    """Output a model cannot read. `raw` is the object as it came; when a model's validation failed,
    `model` names it and `location`/`reason` say where and why (pydantic's first error)."""

    def __init__(
        self,
        message: str,
        *,
        raw: Any = None,
        model: str | None = None,
        location: str | None = None,
        reason: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.raw = raw
        self.model = model
        self.location = location
        self.reason = reason


class GraphError(RemoteCommandError):
    """Microsoft Graph refused or failed a request: "<METHOD> <path>: HTTP <status> <code>: <message>"."""

    def __init__(
        self, message: str, *, status: int, code: str | None = None, request_id: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.status = status
        self.code = code
        self.request_id = request_id

    def fields(self) -> dict[str, Any]:
        data = {**super().fields(), "status": self.status}
        for name in ("code", "request_id"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        return data


class GraphPermissionError(GraphError, AccessDeniedError):
    """HTTP 403: the app lacks an application permission (or a directory role) for this request."""

    def __init__(self, message: str, *, permission: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.permission = permission


class GraphNotFoundError(GraphError, ObjectNotFoundError):
    """HTTP 404: the object in the request path does not exist, or the app cannot see it."""


class GraphThrottledError(GraphError):
    """HTTP 429, 503 or 504 that went on past the retry budget; `retry_after` is Graph's last request."""

    transient = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ReplayError(PsbridgeError):
    exit_code = ExitCode.USAGE


class ReplayMissError(ReplayError):
    pass


class ReplayExhaustedError(ReplayError):
    pass


class ScriptNotLocalError(ReplayError):
    """The replay server refused a script sent without UseLocalScope: on a real host it would have run in the
    runspace's global scope, its variables and preferences outliving the call."""


class RecordingFormatError(ReplayError):
    pass


class RecordingSecretError(ReplayError):
    pass
