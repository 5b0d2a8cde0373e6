"""The PSRP transport: with psbridge.transport.pipeline, the only modules that import pypsrp.

One `PSRPTransport` is one runspace pool on one host. It opens the pool on first use and reuses it; after
`idle_check_s` without a call it asks the server whether the shell is still alive (`is_alive`, one WSMan
Get) and reopens it transparently if not. Every call gets a new pipeline that is always closed: one that
completed is closed off the call's path (Signal Terminate sent by a worker thread on a second connection
of its own, `BackgroundCloser`), so a call costs a Command and its Receives; one that did not complete is
closed on the call's path, within the call's cleanup budget. At most `max_open_pipelines` are open on the
shell at once: a call waits for pending closes (within its deadline) before sending its Command.

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
import copy
import math
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import requests
from pypsrp import exceptions as pe
from pypsrp.complex_objects import PSInvocationState
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.shell import SignalCode
from pypsrp.wsman import WSMan

from psbridge import errors, safeio
from psbridge.command import Command
from psbridge.options import ConnectionOptions
from psbridge.result import (
    InvocationResult,
    Streams,
    live_records,
)
from psbridge.transport import CLEANUP_S, GRACE_S, RecordCallback, tls
from psbridge.transport.causes import connection_failure
from psbridge.transport.closer import BackgroundCloser
from psbridge.transport.pipeline import build_pipeline, new_pool, serialized_once, streams_of

WireFactory = Callable[[Any], Any]
# Pipelines psbridge keeps open on one shell at once, the running call's included: finished ones wait for
# their background close. Well below WinRM's MaxConcurrentCommandsPerShell, 1000 by default for the
# microsoft.powershell endpoint (MS-WSMV 3.1.4.1.34.3.4, https://learn.microsoft.com/en-us/openspecs/
# windows_protocols/ms-wsmv/31fa58aa-9fd1-46d2-a3d0-7d981158820f; pypsrp #148 hit it at about 1000):
# a backlog beyond a few means the closing connection cannot keep up, and a process that dies leaves at
# most this many pipelines behind until its shell times out.
MAX_OPEN_PIPELINES = 8
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
        max_open_pipelines: int | None = None,
        target: str | None = None,
    ) -> None:
        self.options = options
        self.target = target or options.host
        self._wire_factory = wire
        self.idle_check_s = idle_check_s
        self.max_calls_per_pool = max_calls_per_pool
        # 1: every close on the call's path. None: MAX_OPEN_PIPELINES over a network, 1 in process
        # (a HandlerWire), where a Signal costs no round trip and closing on the path keeps replay deterministic.
        self._max_open_pipelines = max_open_pipelines
        self._wsman: WSMan | None = None
        self._wire: _CountingWire | None = None
        # The background closes' own connection: a requests session (and NTLM/Kerberos context) is not
        # shared between threads, and a call's wire carries that call's deadline.
        self._closer = BackgroundCloser(self.target)
        self._closer_wsman: WSMan | None = None
        self._closer_wire: _CountingWire | None = None
        self._closer_shell: tuple[RunspacePool, Any] | None = None  # a pool, its shell on the closer's connection
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
    def max_open_pipelines(self) -> int:
        if self._max_open_pipelines is not None:
            return self._max_open_pipelines
        in_process = self._wire is not None and isinstance(self._wire.inner, HandlerWire)
        return 1 if in_process else MAX_OPEN_PIPELINES

    @max_open_pipelines.setter
    def max_open_pipelines(self, value: int) -> None:
        self._max_open_pipelines = value

    @property
    def requests(self) -> int:
        """WSMan requests sent so far, over the life of this transport (background closes included)."""
        return sum(w.requests for w in (self._wire, self._closer_wire) if w is not None)

    # -- pool lifecycle -------------------------------------------------------------------------

    def _connection(self) -> WSMan:
        if self._wsman is None:
            self._wsman, self._wire = self._new_connection()
        return self._wsman

    def _new_connection(self) -> tuple[WSMan, _CountingWire]:
        """A WSMan connection to the target, its requests counted and held to deadlines by a `_CountingWire`."""
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
            _no_proxy_scan(wsman.transport)
        except (ValueError, ImportError) as exc:
            raise errors.InputError(f"cannot use these connection options: {exc}", target=self.target) from None
        inner = self._wire_factory(wsman.transport) if self._wire_factory else wsman.transport
        wire = _CountingWire(inner)
        wsman.transport = wire  # type: ignore[assignment]
        return wsman, wire

    def _open_pool(self, command: Command, limit: float) -> RunspacePool:
        pool = self._pool
        if pool is not None and not self._closer.wait_below(self.max_open_pipelines, self._deadline or math.inf, pool):
            # The shell is at its limit of open pipelines until the pending closes are done.
            raise self._timed_out(command, limit, sent=False, detail="waiting for earlier pipelines to close")
        now = time.monotonic()
        if pool is not None and (
            self._calls_on_pool >= self.max_calls_per_pool
            or 0 < self._closer.unclosed(pool) >= self.max_open_pipelines - 1  # only deleting the shell frees them
            or (now - self._last_used > self.idle_check_s and not self._alive(pool))
        ):
            self._discard_pool()
            pool = None
        if pool is None:
            pool = new_pool(self._connection(), self.options.configuration_name)
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
            self._closer.drop(pool)  # deleting the shell ends its pipelines
            with contextlib.suppress(Exception), self._cleanup():  # the server may already have forgotten it
                pool.close()

    def close(self) -> None:
        """Wait for the pending background closes (CLEANUP_S at most), then close the pool and connections."""
        self._closer.wait_below(1, time.monotonic() + CLEANUP_S)
        self._discard_pool()
        self._closer.stop()
        for wsman in (self._wsman, self._closer_wsman):
            if wsman is not None:
                wsman.close()
        self._wsman = self._closer_wsman = None  # the wires stay: `requests` still counts what they sent
        self._closer_shell = None

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
        ps = build_pipeline(pool, command)
        started_remotely = False
        requests_before = wire.requests
        failure: errors.PsbridgeError | None = None
        try:
            with serialized_once(pool, command):
                ps.begin_invoke()
            started_remotely = True
            while ps.state == PSInvocationState.RUNNING:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DeadlinePassed
                ps.poll_invoke(timeout=max(1, min(self.options.operation_timeout, math.ceil(remaining))))
                if on_record is not None:
                    _forward(streams_of(ps), forwarded, on_record)
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
        self._release(ps, pool, background=True)
        streams = streams_of(ps)
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

    def _release(self, ps: PowerShell, pool: RunspacePool, *, background: bool = False) -> None:
        """Always release the pipeline: servers cap concurrent commands per shell. With `background`, one
        that completed is closed by the background closer (what `PowerShell.close` does, off the call's path)."""
        self._last_used = time.monotonic()
        if self._pool is not pool:  # a discarded pool took its pipelines with it
            return
        if background and ps.state == PSInvocationState.COMPLETED and self.max_open_pipelines > 1:
            pool.pipelines.pop(ps.id, None)
            shell, command_id = self._shell_for_closes(pool), ps._command_id or ps.id
            self._closer.submit(pool, lambda: self._close_pipeline(shell, command_id))
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

    def _shell_for_closes(self, pool: RunspacePool) -> Any:
        """`pool`'s shell (pypsrp's WinRS) on the closer's connection, which shares the WSMan SessionId."""
        if self._closer_shell is None or self._closer_shell[0] is not pool:
            if self._closer_wsman is None:
                self._closer_wsman, self._closer_wire = self._new_connection()
            assert self._wsman is not None
            self._closer_wsman.session_id = self._wsman.session_id
            shell = copy.copy(pool.shell)
            shell.wsman = self._closer_wsman
            self._closer_shell = (pool, shell)
        return self._closer_shell[1]

    def _close_pipeline(self, shell: Any, command_id: str) -> None:
        """On the closer's thread: Signal Terminate for one pipeline, within CLEANUP_S of starting."""
        wire = self._closer_wire
        assert wire is not None
        wire.until, wire.grace = time.monotonic() + CLEANUP_S, 0.0
        shell.signal(SignalCode.TERMINATE, command_id)

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


def _no_proxy_scan(http: Any) -> None:
    """With no proxy configured, requests need not scan the environment for one on every request: the
    session pypsrp builds (lazily, on the first request) gets `trust_env = False`. pypsrp reads the proxy,
    CA bundle and no-proxy settings from the environment when it builds the session, which this keeps;
    psbridge passes pypsrp no proxy of its own."""
    build = getattr(http, "_build_session", None)
    if build is None or urllib.request.getproxies():
        return

    def build_quietly() -> requests.Session:
        session: requests.Session = build()
        session.trust_env = False
        return session

    http._build_session = build_quietly


def _is_http_400(exc: BaseException) -> bool:
    return isinstance(exc, pe.WinRMTransportError) and exc.code == 400


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
