"""The PSRP transport: the only module that imports pypsrp.

One `PSRPTransport` is one runspace pool on one host. It opens the pool on first use and reuses it; after
`idle_check_s` without a call it asks the server whether the shell is still alive (`is_alive`, one WSMan
Get) and reopens it transparently if not. Every call gets a new pipeline that is always closed.

Deadlines: pypsrp has none, so one deadline bounds everything a call does, at the wire (`_CountingWire`),
which sees every request: opening or reopening the pool (with its setup commands), the idle check, the
Command, every Receive and the stop. No request starts after the deadline; one in flight gets its HTTP
timeout capped at the deadline plus `GRACE_S`; pypsrp's own re-sending of a timed-out Receive is done by
the wire instead, and only while the deadline allows. Stopping and closing what a call leaves behind share
one `CLEANUP_S` budget. So a call ends at most `DEADLINE_MARGIN_S` after its deadline, even against a
server that has stopped answering (README "Deadlines").

`wire` swaps what carries the SOAP: by default pypsrp's own HTTP transport; for replay, the in-process
server; for recording, a tap around the HTTP transport. Everything above it is the same code.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import math
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import requests
from psrpcore.types import ErrorCategory
from pypsrp import exceptions as pe
from pypsrp.complex_objects import ObjectMeta, PSInvocationState
from pypsrp.messages import (
    DebugRecord,
    ErrorRecordMessage,
    InformationRecord,
    PipelineState,
    ProgressRecord,
    VerboseRecord,
    WarningRecord,
)
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.serializer import Serializer
from pypsrp.wsman import WSMan

from psbridge import errors, safeio
from psbridge.command import Command
from psbridge.options import ConnectionOptions
from psbridge.result import (
    ErrorRecordData,
    InformationData,
    InvocationResult,
    ProgressData,
    PSObjectData,
    Streams,
    live_records,
)
from psbridge.transport import CLEANUP_S, GRACE_S, RecordCallback, clixml, tls
from psbridge.transport.causes import connection_failure

WireFactory = Callable[[Any], Any]
# HTTP statuses worth another try: a dropped shell (400), throttling and overload.
_TRANSIENT_HTTP = frozenset({400, 408, 425, 429, 500, 502, 503, 504})
# The error ids psbridge's replay server answers a command it holds no reply for with.
REPLAY_MISS_IDS: dict[str, type[errors.ReplayError]] = {
    "PsbridgeReplayMiss": errors.ReplayMissError,
    "PsbridgeReplayExhausted": errors.ReplayExhaustedError,
    "PsbridgeScriptNotLocal": errors.ScriptNotLocalError,
}
_STATE_NAMES = {
    PSInvocationState.COMPLETED: "Completed",
    PSInvocationState.FAILED: "Failed",
    PSInvocationState.STOPPED: "Stopped",
}


class DeadlinePassed(Exception):
    """Raised by the wire instead of sending a request after the call's deadline (or cleanup budget)."""


class _CountingWire:
    """Counts WSMan requests on their way to the wire underneath, and holds each to the call's deadline.

    `until` is when the current call (or cleanup) must be over: no request is sent after it, and each
    request's HTTP timeout is capped at the time left plus `grace`. pypsrp asks its HTTP transport to
    re-send a Receive that timed out up to 5 times, with back-off sleeps, inside one send
    (`WSMan.receive`, `retries_on_read_timeout`): this wire re-sends it itself instead, only while `until`
    is ahead, with the timeout capped again each time.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.requests = 0
        self.until: float | None = None
        self.grace = 0.0

    @property
    def endpoint(self) -> str:
        return str(self.inner.endpoint)

    def send(self, message: bytes, *, retries_on_read_timeout: int = 0, timeout: Any = None, **kwargs: Any) -> bytes:
        resent = 0
        while True:
            capped = self._timeout(timeout)
            self.requests += 1
            try:
                return bytes(self.inner.send(message, retries_on_read_timeout=0, timeout=capped, **kwargs))
            except requests.exceptions.Timeout:
                self._forget_context()
                if resent >= retries_on_read_timeout or (self.until is not None and time.monotonic() >= self.until):
                    raise
                resent += 1  # the same Receive again: the server answers it with the same data
            except (requests.exceptions.ConnectionError, OSError):
                self._forget_context()
                raise

    def _timeout(self, given: Any) -> Any:
        """pypsrp's timeout for this request (None: the transport's connect and read timeouts), capped."""
        if self.until is None:
            return given
        left = self.until - time.monotonic()
        if left <= 0:
            raise DeadlinePassed
        cap = left + self.grace
        if given is None:
            given = (getattr(self.inner, "connection_timeout", cap), getattr(self.inner, "read_timeout", cap))
        if isinstance(given, tuple):
            return tuple(min(float(part), cap) for part in given)
        return min(float(given), cap)

    def _forget_context(self) -> None:
        # A dropped or timed-out connection takes its NTLM/Kerberos context with it: the next request must
        # not be sealed with the old one (pypsrp forgets it itself only inside its own read-timeout retries).
        if getattr(self.inner, "encryption", None) is not None:
            self.inner.encryption = None

    def close(self) -> None:
        self.inner.close()


class HandlerWire:
    """A wire that hands each SOAP request to a function instead of a socket (in-process replay).

    Non-200 answers raise what pypsrp's HTTP transport raises, so faults take pypsrp's own paths.
    """

    endpoint = "http://psbridge-replay/wsman"

    def __init__(self, handle: Callable[[bytes], tuple[int, bytes]]) -> None:
        self.handle = handle

    def send(self, message: bytes, **kwargs: Any) -> bytes:
        status, body = self.handle(message)
        if status == 200:
            return body
        if status == 401:
            raise pe.AuthenticationError("the replay endpoint refused the credentials")
        raise pe.WinRMTransportError("http", status, body.decode("utf-8", "replace"))

    def close(self) -> None:
        pass


class PSRPTransport:
    def __init__(
        self,
        options: ConnectionOptions,
        *,
        wire: WireFactory | None = None,
        idle_check_s: float = 60.0,
        max_calls_per_pool: int = 500,
        target: str | None = None,
    ) -> None:
        self.options = options
        self.target = target or options.host
        self._wire_factory = wire
        self.idle_check_s = idle_check_s
        self.max_calls_per_pool = max_calls_per_pool
        self._wsman: WSMan | None = None
        self._wire: _CountingWire | None = None
        self._pool: RunspacePool | None = None
        self._last_used = 0.0
        self._calls_on_pool = 0
        self.pools_opened = 0
        self.on_pool_open: Callable[[], None] | None = None
        self._deadline: float | None = None  # of the call in progress (a setup command inherits it)
        self._cleanup_until: float | None = None  # the call's one cleanup budget, once it has started

    @property
    def pool_open(self) -> bool:
        return self._pool is not None

    @property
    def requests(self) -> int:
        """WSMan requests sent so far, over the life of this transport."""
        return self._wire.requests if self._wire else 0

    # -- pool lifecycle -------------------------------------------------------------------------

    def _connection(self) -> WSMan:
        if self._wsman is None:
            o = self.options
            kwargs: dict[str, Any] = {
                "port": o.effective_port,
                "ssl": o.tls,
                "path": o.path,
                "auth": o.auth,
                "username": o.username,
                "password": o.password.get_secret_value() if o.password else None,
                "cert_validation": o.cert_validation,
                "encryption": o.encryption,
                "operation_timeout": o.operation_timeout,
                "read_timeout": o.read_timeout,
                "connection_timeout": o.connection_timeout,
            }
            for name in ("certificate_pem", "certificate_key_pem", "negotiate_service", "negotiate_hostname_override"):
                if getattr(o, name) is not None:
                    kwargs[name] = getattr(o, name)
            if o.certificate_key_pem is not None:
                _check_client_key(o.certificate_key_pem)
            try:
                wsman = WSMan(o.host, **kwargs)
            except (ValueError, ImportError) as exc:
                raise errors.InputError(f"cannot use these connection options: {exc}", target=self.target) from None
            inner = self._wire_factory(wsman.transport) if self._wire_factory else wsman.transport
            self._wire = _CountingWire(inner)
            wsman.transport = self._wire  # type: ignore[assignment]
            self._wsman = wsman
        return self._wsman

    def _open_pool(self, command: Command, limit: float) -> RunspacePool:
        pool = self._pool
        now = time.monotonic()
        if pool is not None and (
            self._calls_on_pool >= self.max_calls_per_pool
            or (now - self._last_used > self.idle_check_s and not self._alive(pool))
        ):
            self._discard_pool()
            pool = None
        if pool is None:
            pool = _new_pool(self._connection(), self.options.configuration_name)
            failure: errors.PsbridgeError | None = None
            try:
                pool.open()
            except Exception as exc:
                failure = self._failure(exc, command, limit, sent=False, doing="opening the runspace pool")
            if failure is not None:  # raised here, outside the handler: no pypsrp exception in its context
                with contextlib.suppress(Exception), self._cleanup():
                    pool.close()  # do not leave a half-open shell using the user's quota
                raise failure
            self._pool = pool
            self._calls_on_pool = 0
            self.pools_opened += 1
            if self.on_pool_open is not None:
                try:
                    self.on_pool_open()  # runs its commands through this transport, on this pool, in this deadline
                except BaseException:
                    self._discard_pool()  # a pool whose setup failed is never used
                    raise
            pool = self._pool
            if pool is None:
                raise errors.ConnectError(
                    f"the runspace pool on {self.target} closed during its setup", command_sent=False
                )
        return pool

    def _alive(self, pool: RunspacePool) -> bool:
        try:
            return bool(pool.is_alive(timeout=min(10, self.options.operation_timeout)))
        except Exception:
            return False

    def _discard_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            with contextlib.suppress(Exception), self._cleanup():  # the server may already have forgotten it
                pool.close()

    def close(self) -> None:
        self._discard_pool()
        if self._wsman is not None:
            self._wsman.close()
            self._wsman = None

    @contextlib.contextmanager
    def _cleanup(self) -> Iterator[None]:
        """Stopping and closing, best effort, within the call's one cleanup budget (CLEANUP_S from its start)."""
        wire = self._wire
        if wire is None:
            yield
            return
        first = self._cleanup_until is None
        if first:
            self._cleanup_until = time.monotonic() + CLEANUP_S
        saved = wire.until, wire.grace
        wire.until, wire.grace = self._cleanup_until, 0.0
        try:
            yield
        finally:
            wire.until, wire.grace = saved
            if first and self._deadline is None:  # outside a call (close()): each close has its own budget
                self._cleanup_until = None

    # -- calls ----------------------------------------------------------------------------------

    def invoke(self, command: Command, *, timeout: float, on_record: RecordCallback | None = None) -> InvocationResult:
        """Run `command` within `timeout` seconds (and within the deadline of a call this one runs inside)."""
        started = time.monotonic()
        self._connection()
        wire = self._wire
        assert wire is not None
        outer, outer_cleanup = self._deadline, self._cleanup_until
        deadline = started + timeout if outer is None else min(started + timeout, outer)
        saved = wire.until, wire.grace
        self._deadline, self._cleanup_until = deadline, None
        wire.until, wire.grace = deadline, GRACE_S
        try:
            return self._invoke(command, started, deadline, on_record)
        finally:
            wire.until, wire.grace = saved
            self._deadline, self._cleanup_until = outer, outer_cleanup

    def _invoke(
        self, command: Command, started: float, deadline: float, on_record: RecordCallback | None
    ) -> InvocationResult:
        wire = self._wire
        assert wire is not None
        limit = deadline - started  # what this call has (a call it runs inside may leave it less than asked)
        forwarded: dict[str, int] = {}
        pool = self._open_pool(command, limit)
        self._calls_on_pool += 1
        ps = PowerShell(pool)
        if command.is_script:
            # In a scope of its own: pypsrp's default (nil) dot-sources a script into the global scope, where its
            # preferences, functions and parameter variables (with their validation) would outlive the call
            # (PowerShell's Command.CreateCommandProcessor: `_useLocalScope ?? false`). What must outlive
            # it is made global on purpose; psbridge.ps says which.
            ps.add_script(command.text, use_local_scope=True)
        else:
            ps.add_cmdlet(command.name)
        for param in command.parameters:
            ps.add_parameter(param.name, _to_wire(param.value))
        started_remotely = False
        requests_before = wire.requests
        failure: errors.PsbridgeError | None = None
        try:
            ps.begin_invoke()
            started_remotely = True
            while ps.state == PSInvocationState.RUNNING:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DeadlinePassed
                ps.poll_invoke(timeout=max(1, min(self.options.operation_timeout, math.ceil(remaining))))
                if on_record is not None:
                    _forward(_streams(ps), forwarded, on_record)
        except errors.PsbridgeError:
            self._release(ps, pool)
            raise
        except Exception as exc:
            # A fault in reply to the Command request means the server refused it; any other failure
            # may have come after the command reached the server, so its outcome is unknown.
            refused = not started_remotely and isinstance(exc, pe.WSManFaultError | pe.AuthenticationError)
            sent = started_remotely or (not refused and wire.requests > requests_before)
            failure = self._failure(exc, command, limit, sent=sent)
            if isinstance(failure, errors.ShellNotFoundError | errors.ProtocolError) or _is_http_400(exc):
                self._discard_pool()
        except BaseException:  # KeyboardInterrupt: still release what the call holds on the server
            self._release(ps, pool)
            raise
        if failure is not None:  # raised outside the handler: no pypsrp/requests exception in its context
            if isinstance(failure, errors.OperationTimeoutError) and failure.command_sent:
                stopped = self._abandon(ps, pool)
                failure = self._timed_out(command, limit, sent=True, detail=None if stopped else "")
            else:
                self._release(ps, pool)
            raise failure
        self._release(ps, pool)
        streams = _streams(ps)
        if on_record is not None:
            _forward(streams, forwarded, on_record)
        miss = next((e for e in streams.error if e.fully_qualified_error_id in REPLAY_MISS_IDS), None)
        if miss is not None:  # a replay server answered (in process, or `serve-replay` over a socket)
            raise REPLAY_MISS_IDS[miss.fully_qualified_error_id](
                miss.message, target=self.target, command=command.display(), error_id=miss.fully_qualified_error_id
            )
        return InvocationResult(
            command=command.display(),
            output=tuple(ps.output),
            streams=streams,
            state=_STATE_NAMES.get(ps.state, str(ps.state)),
            elapsed_ms=(time.monotonic() - started) * 1000,
        )

    def _failure(
        self, exc: BaseException, command: Command, limit: float, *, sent: bool, doing: str | None = None
    ) -> errors.PsbridgeError:
        """The psbridge error for a failure during a call: a timeout once its deadline has passed."""
        deadline = self._deadline
        if isinstance(exc, DeadlinePassed) or (deadline is not None and time.monotonic() >= deadline):
            return self._timed_out(command, limit, sent=sent, detail=doing)
        shown = "(open runspace pool)" if doing is not None else command.display()
        return translate(exc, target=self.target, command=shown, sent=sent)

    def _timed_out(
        self, command: Command, limit: float, *, sent: bool, detail: str | None
    ) -> errors.OperationTimeoutError:
        """`detail`: what was under way (the command was not sent); "" when the stop went unanswered."""
        text = f"{command.display()} did not finish within {limit:g}s"
        if detail:
            text += f": {detail} on {self.target} did not finish in time (the command was not sent)"
        elif not sent:
            text += " (it was not sent)"
        elif detail is None:
            text += " and was stopped on the server"
        else:
            text += f"; {self.target} did not answer the request to stop it either"
        return errors.OperationTimeoutError(
            text, target=self.target, command=command.display(), deadline_s=limit, command_sent=sent
        )

    def _release(self, ps: PowerShell, pool: RunspacePool) -> None:
        """Always release the pipeline: servers cap concurrent commands per shell."""
        self._last_used = time.monotonic()
        if self._pool is not pool:  # a discarded pool took its pipelines with it
            return
        with self._cleanup():
            if ps.state == PSInvocationState.RUNNING:
                self._stop(ps)
            with contextlib.suppress(Exception):
                ps.close()

    def _abandon(self, ps: PowerShell, pool: RunspacePool) -> bool:
        """After the deadline: stop the pipeline (True if the server took the stop). A pool whose server
        does not answer the stop is dropped: the next call opens a new one."""
        self._last_used = time.monotonic()
        if self._pool is not pool:
            return False
        with self._cleanup():
            if ps.state == PSInvocationState.RUNNING and not self._stop(ps):
                self._discard_pool()
                return False
            with contextlib.suppress(Exception):
                ps.close()
        return True

    @staticmethod
    def _stop(ps: PowerShell) -> bool:
        try:
            ps.stop()
        except Exception:
            return False
        return True


def _check_client_key(path: str) -> None:
    """The client certificate's key must be readable and unencrypted: urllib3 can take no password from
    psbridge, and OpenSSL would otherwise ask for one on the terminal."""
    data = safeio.read_bytes(path, "the client certificate key", max_bytes=1024 * 1024)
    if b"PRIVATE KEY-----" not in data:
        raise errors.InputError(f"the client certificate key {path} holds no PEM private key")
    if b"ENCRYPTED" in data:
        raise errors.InputError(f"the client certificate key {path} is encrypted: psbridge needs it unencrypted (PEM)")


def _forward(streams: Streams, forwarded: dict[str, int], on_record: RecordCallback) -> None:
    """Hand each record not yet forwarded to the caller, in arrival order per stream."""
    for kind, records in live_records(streams):
        for record in records[forwarded.get(kind, 0) :]:
            on_record(kind, record)
        forwarded[kind] = len(records)


def _to_wire(value: Any) -> Any:
    """Python values pypsrp serializes as they are; others go as their canonical text."""
    if isinstance(value, enum.Enum):
        return _to_wire(value.value)
    if isinstance(value, uuid.UUID | dt.datetime):
        return str(value)
    if isinstance(value, list | tuple):
        return [_to_wire(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_wire(v) for k, v in value.items()}
    return value


def _is_http_400(exc: BaseException) -> bool:
    return isinstance(exc, pe.WinRMTransportError) and exc.code == 400


# -- results ------------------------------------------------------------------------------------

# The messages whose payload psbridge decodes itself (`psbridge.transport.clixml`); pypsrp keeps the
# runspace pool's own messages (capabilities, keys, host calls), which it needs for its state.
_DECODED_RECORDS = (ErrorRecordMessage, WarningRecord, VerboseRecord, DebugRecord, InformationRecord, ProgressRecord)


class _Record:
    """A stream record psbridge decoded, in the envelope pypsrp files it under (its message type)."""

    __slots__ = ("MESSAGE_TYPE", "data")

    def __init__(self, message_type: int, data: Any) -> None:
        self.MESSAGE_TYPE = message_type
        self.data = data

    def __str__(self) -> str:  # pypsrp warns with a runspace pool's warning record as text
        return str(self.data)


class _PipelineState:
    """A PIPELINE_STATE message as pypsrp's PowerShell reads it: `state`, and `error_record` when it failed."""

    __slots__ = ("MESSAGE_TYPE", "error_record", "state")

    def __init__(self, data: PSObjectData) -> None:
        self.MESSAGE_TYPE = PipelineState.MESSAGE_TYPE
        self.state = int(data.get("PipelineState", 0))
        error = data.get("ExceptionAsErrorRecord")
        self.error_record = None if error is None else _Record(ErrorRecordMessage.MESSAGE_TYPE, error)


class DecodingSerializer(Serializer):
    """pypsrp's serializer, with every object a pipeline returns decoded by psbridge instead.

    Pipeline output and every stream's records come back as `PSObjectData` and plain values, decoded
    faithfully (typed collections, enums, any number of `Deserialized.` prefixes) and without pypsrp's
    re-serialization of each element. Serializing what psbridge sends stays pypsrp's.
    """

    def deserialize(self, element: Any, metadata: ObjectMeta | None = None, clear: bool = True) -> Any:
        kind = metadata.object if metadata is not None else None
        try:
            if metadata is None:  # PIPELINE_OUTPUT and PIPELINE_INPUT payloads
                return clixml.decode(element)
            if kind in _DECODED_RECORDS:
                return _Record(kind.MESSAGE_TYPE, clixml.decode(element))
            if kind is PipelineState:
                return _PipelineState(clixml.decode(element))
        except clixml.DecodeError as exc:
            raise pe.SerializationError(str(exc)) from None
        return super().deserialize(element, metadata, clear)


def _new_pool(connection: WSMan, configuration_name: str) -> RunspacePool:
    pool = RunspacePool(connection, configuration_name=configuration_name)
    pool._serializer = DecodingSerializer()
    pool._fragmenter.serializer = pool._serializer
    return pool


def _record(value: Any) -> PSObjectData:
    if isinstance(value, _Record):
        value = value.data
    if isinstance(value, PSObjectData):
        return value
    return PSObjectData((), {}, None if value is None else str(value))


def _category_name(value: Any) -> str:
    try:
        return ErrorCategory(int(value)).name
    except (TypeError, ValueError):
        return str(value or "NotSpecified")


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def error_record(err: Any) -> ErrorRecordData:
    """An ErrorRecord (MS-PSRP 2.2.3.15) as psbridge reports it."""
    record = _record(err)
    exc = record.get("Exception")
    exc_types = exc.type_names if isinstance(exc, PSObjectData) else ()
    exc_message = exc.get("Message") if isinstance(exc, PSObjectData) else None
    message = record.get("ErrorDetails_Message") or exc_message or record.to_string or ""
    return ErrorRecordData(
        message=str(message),
        fully_qualified_error_id=_str(record.get("FullyQualifiedErrorId")),
        category=_category_name(record.get("ErrorCategory_Category")),
        category_info=_str(record.get("ErrorCategory_Message")),
        reason=_str(record.get("ErrorCategory_Reason")),
        target_name=_str(record.get("ErrorCategory_TargetName")),
        exception_type=exc_types[0] if exc_types else "",
        exception_types=exc_types,
        command_name=_str(record.get("CommandInfo_Name")),
        script_stack_trace=_str(record.get("ErrorDetails_ScriptStackTrace")),
    )


def _message(record: Any) -> str:
    data = _record(record)
    text = data.get("InformationalRecord_Message")
    return str(text if text is not None else data.to_string or "")


def _information(record: Any) -> InformationData:
    data = _record(record)
    when = data.get("TimeGenerated")
    return InformationData(
        data.get("MessageData"),
        _str(data.get("Source")),
        tuple(str(t) for t in data.get("Tags") or ()),
        when.isoformat() if isinstance(when, dt.datetime) else (None if when is None else str(when)),
    )


def _progress(record: Any) -> ProgressData:
    data = _record(record)
    percent, seconds = data.get("PercentComplete"), data.get("SecondsRemaining")
    return ProgressData(
        _str(data.get("Activity")),
        _str(data.get("StatusDescription")),
        _str(data.get("CurrentOperation")),
        int(percent if percent is not None else -1),
        int(seconds if seconds is not None else -1),
    )


def _streams(ps: PowerShell) -> Streams:
    s = ps.streams
    return Streams(
        error=tuple(error_record(e) for e in s.error),
        warning=tuple(_message(w) for w in s.warning),
        verbose=tuple(_message(v) for v in s.verbose),
        debug=tuple(_message(d) for d in s.debug),
        information=tuple(_information(i) for i in s.information),
        progress=tuple(_progress(p) for p in s.progress),
    )


# -- exceptions ---------------------------------------------------------------------------------


def translate(exc: BaseException, *, target: str, command: str, sent: bool) -> errors.PsbridgeError:
    """The one place where pypsrp and requests exceptions become psbridge errors."""
    ctx: dict[str, Any] = {"target": target, "command": command, "command_sent": sent}
    if isinstance(exc, errors.PsbridgeError):
        return exc
    if isinstance(exc, DeadlinePassed):
        return errors.OperationTimeoutError(f"{command} did not finish before its deadline", **ctx)
    if isinstance(exc, UnicodeError):
        # requests encodes Basic credentials as Latin-1. The exception's text names the offending character and
        # its position, so it is never shown.
        if getattr(exc, "encoding", "").replace("-", "").lower() in ("latin1", "iso88591"):
            text = "the user name or password cannot be sent with Basic authentication: it must be Latin-1 text"
        else:
            text = f"a value cannot be encoded to be sent to {target}"
        return errors.InputError(text, target=target, command=command)
    if isinstance(exc, pe.AuthenticationError):
        return errors.AuthenticationError(f"authentication to {target} was refused (HTTP 401)", **ctx)
    if isinstance(exc, pe.WSManFaultError):
        code = exc.code
        reason = (exc.reason or "").strip() or "no reason given"
        cls = errors.ShellNotFoundError if code == 2150858843 else errors.WSManFault
        return cls(f"WSMan fault {code} from {target}: {reason}", code=code, **ctx)
    if isinstance(exc, pe.WinRMTransportError):
        error = errors.ConnectError(f"HTTP {exc.code} from {target}", **ctx)
        error.transient = exc.code in _TRANSIENT_HTTP
        return error
    if isinstance(exc, pe._InvalidStateError | pe.InvalidPSRPOperation | pe.FragmentError | pe.SerializationError):
        return errors.ProtocolError(f"PSRP protocol error with {target}: {exc}", **ctx)
    if isinstance(exc, requests.exceptions.RetryError):
        # pypsrp's urllib3 Retry lists 425/429/503 as retryable statuses even with no retries left.
        return errors.ConnectError(f"{target} answered 'try again later' (HTTP 425, 429 or 503)", **ctx)
    problem = tls.problem(exc) if isinstance(exc, requests.exceptions.SSLError | OSError) else None
    if problem is not None:
        if problem.local:
            return errors.InputError(f"cannot connect to {target} with TLS: {problem.text}", target=target)
        error = errors.ConnectError(f"TLS handshake with {target} failed: {problem.text}", **ctx)
        error.transient = problem.transient  # a certificate that fails verification fails again
        return error
    if isinstance(exc, requests.exceptions.SSLError):
        return errors.ConnectError(f"TLS handshake with {target} failed", **ctx)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return errors.ConnectError(f"cannot connect to {connection_failure(exc).about(target)}", **ctx)
    if isinstance(exc, requests.exceptions.Timeout):
        return errors.ConnectError(f"timed out talking to {target}", **ctx)
    if isinstance(exc, requests.exceptions.ConnectionError):
        return errors.ConnectError(f"cannot connect to {connection_failure(exc).about(target)}", **ctx)
    if isinstance(exc, pe.WinRMError):
        return errors.ConnectError(f"WinRM error from {target}: {exc}", **ctx)
    if isinstance(exc, OSError):
        return errors.ConnectError(f"network error talking to {target}: {exc.strerror or exc}", **ctx)
    if type(exc).__module__.startswith("spnego"):
        return errors.AuthenticationError(f"authentication to {target} failed ({type(exc).__name__})", **ctx)
    raise exc
