"""The network and the host misbehaving, through the loopback WSMan endpoint (a real socket, pypsrp's client).

Each test states its figure:
- **Auth and TLS:** a wrong password is exit code 3 after one request; an untrusted certificate is a
  one-line TLS error after at most the retry policy's attempts; both end well within 30 s. Each TLS
  problem is named (expired, another host's certificate, untrusted issuer, TLS to a plain-HTTP port) and
  costs one handshake although 4 attempts were allowed; a client key that is encrypted or damaged is
  bad input (exit 2) found before any request. No error keeps a request, a response or the password in
  its `__cause__`/`__context__` chain; a password that is not Latin-1 is a one-line InputError.
- **No blind retries:** a start-sync-cycle or clear-previous-mailbox-info that loses its reply reaches
  the server exactly once and raises OutcomeUnknownError, while a read under the same fault is retried.
- **Idle disconnect:** after the server forgets the shell, the next call succeeds on a new shell.
- **Timeout:** a hung command raises within its 2 s deadline plus 3 s, is stopped on the server with a
  ctrl_c signal, and the session answers the next call.

What reached the server is counted at the server: TCP connections, HTTP requests (refused ones too),
WSMan requests by action with their replies, and the pipelines each command created.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import Result
from helpers import DEMO
from loopback import PASSWORD, USER, Handler, cli_args, endpoint, port_of, run_psbridge, session_for
from pydantic import SecretStr
from simulated import exo_fault

from psbridge import (
    AuthenticationError,
    Command,
    ConnectError,
    InputError,
    OperationTimeoutError,
    OutcomeUnknownError,
    RetryPolicy,
    Session,
    TransientRemoteError,
    TransportError,
)
from psbridge.adsync import check_version, get_scheduler, start_sync_cycle
from psbridge.exchange import clear_previous_mailbox_info
from psbridge.replay import http, wire
from psbridge.replay.faults import FaultInjector, Rule
from psbridge.retry import NO_RETRY

pytestmark = pytest.mark.slow  # loopback endpoints, retries and deadlines of seconds

# Retries allowed, and fast: what is not retried below is not retried by choice.
PATIENT = RetryPolicy(attempts=4, total_s=30, initial_s=0.0, max_wait_s=0.01, jitter_s=0.0)
BOUND_S = 30.0  # "not retried forever": a refusal ends well within this
SCHEDULER = Command.script("adsync/Get-Scheduler.ps1")
VERSION = "2.5.190.0"  # the demo's Connect Sync build


class Host:
    """A loopback endpoint over the demo recordings, with faults, that counts what reaches it."""

    def __init__(self, *rules: Rule) -> None:
        self.endpoints = http.Endpoints(DEMO)
        for server in self.endpoints.servers.values():
            server.hang_cap_s = 1.0
        self.injector = FaultInjector(rules)
        self._handle = self.injector.attach(self.endpoints.handle, *self.endpoints.servers.values())
        self.counts: Counter[str] = Counter()
        self.exchanges: list[tuple[wire.Request, int | None]] = []  # each WSMan request, its HTTP status
        self.url = ""

    def handle(self, data: bytes) -> tuple[int, bytes]:
        request = wire.Request.parse(data)
        self.exchanges.append((request, None))
        status, body = self._handle(data)  # a reset raises: the request stays without a status
        self.exchanges[-1] = (request, status)
        return status, body

    def watch(self, server: http.ReplayHTTPServer) -> None:
        """Count TCP connections (TLS handshakes included) and HTTP requests (refused ones included)."""
        self.url = server.url
        server.process_request = self._counted("connections", server.process_request)  # type: ignore[method-assign]
        server.authorized = self._counted("http requests", server.authorized)  # type: ignore[method-assign]

    def _counted(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any) -> Any:
            self.counts[name] += 1
            return method(*args)

        return counted

    def sent(self, action: str) -> list[tuple[wire.Request, int | None]]:
        return [(r, status) for r, status in self.exchanges if r.action == action]

    def pipelines(self, text: str) -> int:
        """Pipelines the server started whose command names `text`."""
        keys = [k for s in self.endpoints.servers.values() for k in s.keys_seen]
        return sum(text.lower() in k.display().lower() for k in keys)

    def command_ids(self) -> list[str]:
        lines = [r.body.find("rsp:CommandLine", wire.NS) for r, _ in self.sent(wire.ACTION_COMMAND)]
        return [(line.get("CommandId") or "").upper() for line in lines if line is not None]

    def signals(self) -> list[tuple[str, str]]:
        """(code, command id) of every Signal request."""
        found = [r.body.find("rsp:Signal", wire.NS) for r, _ in self.sent(wire.ACTION_SIGNAL)]
        return [
            (s.findtext("rsp:Code", default="", namespaces=wire.NS), (s.get("CommandId") or "").upper())
            for s in found
            if s is not None
        ]


Serve = Callable[..., Host]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start endpoints (HTTP, or HTTPS with `tls_dir`); each is shut down when the test ends."""
    with contextlib.ExitStack() as stack:

        def start(*rules: Rule, tls_dir: Path | None = None, certificate: tuple[Path, Path] | None = None) -> Host:
            host = Host(*rules)
            handle: Handler = host.handle
            if certificate is None:
                host.watch(stack.enter_context(endpoint(handle, tls_dir=tls_dir)))
            else:  # HTTPS with this certificate and key
                host.watch(stack.enter_context(endpoint(handle, tls=http.tls_context(*certificate))))
            return host

        yield start


def certificate(
    directory: Path, *, expired: bool = False, name: str = "127.0.0.1", key_password: bytes | None = None
) -> tuple[Path, Path]:
    """A self-signed certificate (its own CA file) for `name`, and its key: (certificate, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"psbridge test {name}")])
    now = dt.datetime.now(dt.UTC)
    valid = (
        (now - dt.timedelta(days=30), now - dt.timedelta(days=1))
        if expired
        else (now - dt.timedelta(hours=1), now + dt.timedelta(days=1))
    )
    alt = x509.IPAddress(ipaddress.ip_address(name)) if name[0].isdigit() else x509.DNSName(name)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(valid[0]).not_valid_after(valid[1])
        .add_extension(x509.SubjectAlternativeName([alt]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    encryption: Any = (
        serialization.BestAvailableEncryption(key_password) if key_password else serialization.NoEncryption()
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))
    return cert_path, key_path


def chain(exc: BaseException) -> list[BaseException]:
    """The exception and every exception reachable from it through __cause__ and __context__."""
    found: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or any(item is seen for seen in found):
            continue
        found.append(item)
        todo += [item.__cause__, item.__context__]
    return found


def one_line(proc: Any, code: int) -> str:
    return Result(proc.returncode, proc.stdout, proc.stderr).one_line_error(code)


# -- auth and TLS ------------------------------------------------------------------------------------------


def test_a_wrong_password_is_an_authentication_error_after_one_request(serve: Serve) -> None:
    """Wrong password: AuthenticationError (exit code 3) after 1 HTTP request, though 4 attempts were allowed."""
    host = serve()
    started = time.monotonic()
    with session_for(host.url, password="wrong-pw-1", retry=PATIENT) as s, pytest.raises(AuthenticationError) as caught:
        check_version(s)
    assert time.monotonic() - started < BOUND_S
    assert caught.value.exit_code == 3
    assert "authentication" in str(caught.value) and "401" in str(caught.value)
    assert (caught.value.attempt, host.counts["http requests"]) == (1, 1)
    assert host.exchanges == []  # refused before the WSMan server saw anything


@pytest.mark.subprocess
def test_a_wrong_password_on_the_command_line_is_exit_code_3_in_one_line(serve: Serve) -> None:
    """Wrong password through the CLI (default retry policy): exit code 3, one line naming authentication,
    one HTTP request, and no trace of the password."""
    host = serve()
    started = time.monotonic()
    proc = run_psbridge(*cli_args(host.url), "adsync", "version", PSBRIDGE_PASSWORD="wrong-pw-2")
    assert time.monotonic() - started < BOUND_S
    line = one_line(proc, 3)
    assert "authentication" in line
    assert "wrong-pw-2" not in proc.stderr
    assert host.counts["http requests"] == 1


@pytest.mark.parametrize("trusted", ["system-store", "other-ca"])
def test_an_untrusted_certificate_is_a_clear_tls_error_with_bounded_attempts(
    serve: Serve, tmp_path: Path, trusted: str
) -> None:
    """A certificate the client cannot validate, against the system store or another endpoint's CA file:
    ConnectError naming the TLS handshake, not transient: 1 handshake although 4 attempts were allowed (a
    certificate that fails verification fails again), no request served."""
    host = serve(tls_dir=tmp_path / "endpoint")
    validation: dict[str, Any] = {}
    if trusted == "other-ca":
        other_ca, _ = http.make_certificate(tmp_path / "other")
        validation["cert_validation"] = str(other_ca)
    started = time.monotonic()
    with (
        session_for(host.url, retry=PATIENT, tls=True, encryption="auto", **validation) as s,
        pytest.raises(ConnectError, match=r"^TLS handshake with 127\.0\.0\.1 failed") as caught,
    ):
        s.invoke(SCHEDULER)
    assert time.monotonic() - started < BOUND_S
    assert caught.value.exit_code == 3
    assert not caught.value.transient and caught.value.attempt == 1
    assert host.counts["connections"] == 1
    assert host.counts["http requests"] == 0


@pytest.mark.subprocess
def test_an_untrusted_certificate_on_the_command_line_is_exit_code_3_in_one_line(serve: Serve, tmp_path: Path) -> None:
    """No CA file through the CLI (default retry policy, 4 attempts): exit code 3, one TLS line, 1 handshake
    (not retried), within 30 s."""
    host = serve(tls_dir=tmp_path)
    args = ["--host", "127.0.0.1", "--port", str(port_of(host.url)), "--auth", "basic", "--username", USER]
    started = time.monotonic()
    proc = run_psbridge(*args, "adsync", "version")
    assert time.monotonic() - started < BOUND_S
    assert one_line(proc, 3).startswith("psbridge: error: TLS handshake with 127.0.0.1 failed")
    assert host.counts["connections"] == 1
    assert host.counts["http requests"] == 0


TLS_PROBLEMS = {
    "expired": ({"expired": True}, "the server's certificate has expired"),
    "another-host": ({"name": "other.example"}, "not issued for this host name"),
}


@pytest.mark.parametrize("problem", list(TLS_PROBLEMS))
def test_each_certificate_problem_is_named_and_not_retried(serve: Serve, tmp_path: Path, problem: str) -> None:
    """A trusted issuer, but the certificate expired yesterday or names another host: ConnectError whose line
    says which, not transient, one handshake although 4 attempts were allowed."""
    made, says = TLS_PROBLEMS[problem]
    cert, key = certificate(tmp_path, **made)
    host = serve(certificate=(cert, key))
    with (
        session_for(host.url, retry=PATIENT, tls=True, encryption="auto", cert_validation=str(cert)) as s,
        pytest.raises(ConnectError) as caught,
    ):
        s.invoke(SCHEDULER)
    assert str(caught.value).startswith("TLS handshake with 127.0.0.1 failed: ") and says in str(caught.value)
    assert not caught.value.transient and caught.value.attempt == 1 and caught.value.exit_code == 3
    assert host.counts["connections"] == 1 and host.counts["http requests"] == 0


def test_an_untrusted_issuer_is_named_as_such(serve: Serve, tmp_path: Path) -> None:
    host = serve(tls_dir=tmp_path)
    with session_for(host.url, retry=PATIENT, tls=True, encryption="auto") as s, pytest.raises(ConnectError) as caught:
        s.invoke(SCHEDULER)
    assert "self-signed or issued by an unknown CA" in str(caught.value) and not caught.value.transient


def test_tls_spoken_to_a_plain_http_port_says_so_and_is_not_retried(serve: Serve) -> None:
    """`--tls` against WinRM's HTTP listener: the server answers in plain HTTP (OpenSSL's WRONG_VERSION_NUMBER);
    the error says so, once (it was retried 4 times)."""
    host = serve()
    with (
        session_for(host.url, retry=PATIENT, tls=True, encryption="auto") as s,
        pytest.raises(ConnectError, match="did not answer in TLS") as caught,
    ):
        s.invoke(SCHEDULER)
    assert not caught.value.transient and caught.value.attempt == 1
    assert host.counts["connections"] == 1


@pytest.mark.parametrize("key", ["encrypted", "damaged"])
def test_a_client_key_that_cannot_be_loaded_is_bad_input_before_any_request(
    serve: Serve, tmp_path: Path, key: str
) -> None:
    """Certificate auth with an encrypted key (urllib3 takes no password from psbridge; OpenSSL would prompt)
    or a damaged one: InputError (exit 2) naming the problem, not retried, no HTTP request made."""
    server_cert, server_key = certificate(tmp_path / "server")
    host = serve(certificate=(server_cert, server_key))
    client_cert, client_key = certificate(tmp_path / "client", key_password=b"key-pw-3" if key == "encrypted" else None)
    if key == "damaged":
        client_key.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    options = {"auth": "certificate", "certificate_pem": str(client_cert), "certificate_key_pem": str(client_key)}
    values: dict[str, Any] = {"tls": True, "cert_validation": str(server_cert), **options}
    from psbridge import ConnectionOptions, Session

    session = Session(ConnectionOptions.build(host="127.0.0.1", port=port_of(host.url), **values), retry=PATIENT)
    with session as s, pytest.raises(InputError) as caught:
        s.invoke(SCHEDULER)
    says = "is encrypted" if key == "encrypted" else "cannot load the client certificate or its private key"
    assert says in str(caught.value) and caught.value.exit_code == 2
    assert caught.value.attempt in (None, 1) and host.counts["http requests"] == 0


def test_no_error_keeps_the_request_or_the_password_in_its_chain(serve: Serve) -> None:
    """A TLS failure, a refused password and a connection reset: walking each error's __cause__ and
    __context__ reaches psbridge errors only (no pypsrp/requests/urllib3 exception, which would hold the
    PreparedRequest with `Authorization: Basic ...`), and no text in it holds the password."""
    plain, resetting = serve(), serve(Rule("reset", action="Receive", command="Get-Scheduler", nth=1))
    caught: list[BaseException] = []
    for url, password, extra in [
        (plain.url, PASSWORD, {"tls": True, "encryption": "auto"}),
        (plain.url, "wrong-pw-1", {}),
        (resetting.url, PASSWORD, {}),
    ]:
        with session_for(url, password=password, retry=NO_RETRY, **extra) as s:
            with pytest.raises(TransportError) as error:
                s.invoke(SCHEDULER)
            caught.append(error.value)
    assert [type(e) for e in caught] == [ConnectError, AuthenticationError, ConnectError]
    for error in caught:
        for inner in chain(error):
            assert type(inner).__module__.startswith("psbridge"), (error, inner)
            assert "wrong-pw-1" not in repr(vars(inner)) and PASSWORD not in repr(vars(inner))


def test_a_password_that_is_not_latin_1_is_one_input_line_that_reveals_nothing(serve: Serve) -> None:
    """requests encodes Basic credentials as Latin-1: a password with a euro sign is an InputError (exit 2)
    naming neither the character nor its position. The options' own up-front check is bypassed here
    (`model_copy` does not validate), so this is the transport's backstop."""
    host = serve()
    s = session_for(host.url, retry=PATIENT)
    assert s.options is not None
    s.options = s.options.model_copy(update={"password": SecretStr("pw-\u20ac-42")})
    with s, pytest.raises(InputError) as caught:
        s.invoke(SCHEDULER)
    text = str(caught.value)
    assert "Latin-1" in text and "\u20ac" not in text and "position" not in text and "pw-" not in text
    assert caught.value.exit_code == 2 and caught.value.attempt == 1
    assert all(type(inner).__module__.startswith("psbridge") for inner in chain(caught.value))
    assert host.counts["http requests"] == 0


# -- no blind retries ----------------------------------------------------------------------------------------

WRITES: dict[str, tuple[str, Callable[[Session], object]]] = {
    "start-sync-cycle": ("Start-SyncCycle", start_sync_cycle),
    "clear-previous-mailbox-info": (
        "Set-User",
        lambda s: clear_previous_mailbox_info(s, identity="dana@contoso.example", confirm_irreversible=True),
    ),
}


@pytest.mark.parametrize("fault", ["reset", "http-503"])
@pytest.mark.parametrize("write", list(WRITES))
def test_a_write_that_loses_its_reply_is_sent_once_and_its_outcome_is_unknown(
    serve: Serve, write: str, fault: str
) -> None:
    """A transient fault on the first Receive of a non-idempotent command: the server got its pipeline
    exactly once (4 attempts were allowed), and the error says it may or may not have run."""
    text, call = WRITES[write]
    host = serve(Rule(fault, action="Receive", command=text, nth=1))
    with session_for(host.url, retry=PATIENT) as s:
        with pytest.raises(OutcomeUnknownError) as caught:
            call(s)
        assert host.pipelines(text) == 1
        message = str(caught.value)
        assert "may or may not have run" in message and "was not retried" in message
        assert isinstance(caught.value.__cause__, ConnectError) and caught.value.__cause__.transient
        assert [i.fault for i in host.injector.injected] == [fault]
        assert str(check_version(s).version) == VERSION  # the session is still usable


@pytest.mark.parametrize("fault", ["reset", "http-503"])
def test_a_read_under_the_same_fault_is_retried_and_succeeds(serve: Serve, fault: str) -> None:
    """The contrast: the same fault on an idempotent read's first Receive; it is sent twice and returns."""
    host = serve(Rule(fault, action="Receive", command="Get-Scheduler", nth=1))
    with session_for(host.url, retry=PATIENT) as s:
        assert get_scheduler(s).sync_cycle_enabled is not None
    assert host.pipelines("Get-Scheduler") == 2
    assert [i.fault for i in host.injector.injected] == [fault]


def test_an_exchange_transient_error_on_a_write_is_not_retried(serve: Serve) -> None:
    """Exchange Online's transient back-end error record on Set-User: the command reported a failure
    (TransientRemoteError, exit code 4), and it is sent once although 4 attempts were allowed."""
    host = serve(exo_fault("exo-transient", command="Set-User"))
    with session_for(host.url, retry=PATIENT) as s, pytest.raises(TransientRemoteError) as caught:
        clear_previous_mailbox_info(s, identity="dana@contoso.example", confirm_irreversible=True)
    assert caught.value.exit_code == 4 and caught.value.attempt == 1
    assert "TransientDALException" in str(caught.value)
    assert host.pipelines("Set-User") == 1


@pytest.mark.subprocess
def test_a_sync_cycle_start_that_loses_its_reply_on_the_command_line_exits_3_in_one_line(serve: Serve) -> None:
    """`psbridge adsync sync --yes` losing the reply: exit code 3, one line saying it may or may not have
    run, and the server got Start-SyncCycle exactly once."""
    host = serve(Rule("reset", action="Receive", command="Start-SyncCycle"))
    proc = run_psbridge(*cli_args(host.url), "adsync", "sync", "--yes")
    line = one_line(proc, 3)
    assert "Start-SyncCycle" in line and "may or may not have run" in line
    assert host.pipelines("Start-SyncCycle") == 1


# -- idle disconnect -----------------------------------------------------------------------------------------


def test_after_the_server_forgets_the_shell_the_next_call_reconnects_transparently(serve: Serve) -> None:
    """The server drops the shell between two calls: the second call succeeds on a second shell (2 Creates);
    its first Command was refused with the shell-not-found fault."""
    host = serve()
    with session_for(host.url, retry=PATIENT) as s:
        assert str(check_version(s).version) == VERSION
        for server in host.endpoints.servers.values():
            server.shells.clear()  # as Windows does after the shell's idle timeout
        assert get_scheduler(s).sync_cycle_enabled is not None
    assert len(host.sent(wire.ACTION_CREATE)) == 2
    assert [status for _, status in host.sent(wire.ACTION_COMMAND)] == [200, 500, 200]


def test_a_write_refused_for_a_lost_shell_is_sent_again_on_a_new_shell(serve: Serve) -> None:
    """The shell is gone when Start-SyncCycle's Command arrives: the server refused it before starting a
    pipeline, so it is safe to send again. The cycle starts, on a second shell, exactly once."""
    host = serve(Rule("shell-not-found", nth=2))  # the second Command: the one after check_version
    with session_for(host.url, retry=PATIENT) as s:
        assert str(check_version(s).version) == VERSION
        assert start_sync_cycle(s).started is True
    assert [(i.fault, i.action) for i in host.injector.injected] == [("shell-not-found", "Command")]
    assert host.pipelines("Start-SyncCycle") == 1
    assert len(host.sent(wire.ACTION_CREATE)) == 2


def test_after_an_idle_spell_a_dead_shell_is_replaced_before_the_next_call(serve: Serve) -> None:
    """Idle longer than the transport's check interval, and the shell is gone: one Get finds out, a new
    shell is opened, and the next call's Command is never refused."""
    host = serve()
    with session_for(host.url, retry=PATIENT) as s:
        assert str(check_version(s).version) == VERSION
        s.transport.idle_check_s = 0.05  # type: ignore[attr-defined]
        for server in host.endpoints.servers.values():
            server.shells.clear()
        time.sleep(0.1)
        assert get_scheduler(s).sync_cycle_enabled is not None
    assert [status for _, status in host.sent(wire.ACTION_GET)] == [500]
    assert len(host.sent(wire.ACTION_CREATE)) == 2
    assert [status for _, status in host.sent(wire.ACTION_COMMAND)] == [200, 200]


# -- timeout -------------------------------------------------------------------------------------------------


def test_a_hung_command_is_stopped_at_its_2s_deadline_within_3s_and_the_session_stays_usable(serve: Serve) -> None:
    """Get-Scheduler never finishes: OperationTimeoutError after 2 s (+ at most 3 s), not retried, a ctrl_c
    Signal for that pipeline, and the session then answers a read."""
    host = serve(Rule("hang", command="Get-Scheduler"))
    deadline = 2.0
    with session_for(host.url, retry=PATIENT, operation_timeout=1, read_timeout=5) as s:
        started = time.monotonic()
        with pytest.raises(OperationTimeoutError) as caught:
            s.invoke(SCHEDULER, timeout=deadline)
        elapsed = time.monotonic() - started
        hung = host.command_ids()[-1]
        assert deadline - 0.1 <= elapsed < deadline + 3
        assert (caught.value.deadline_s, caught.value.attempt, caught.value.exit_code) == (deadline, 1, 3)
        assert (wire.SIGNAL_CTRL_C, hung) in host.signals()
        assert str(check_version(s).version) == VERSION
    assert host.pipelines("Get-Scheduler") == 1


def test_a_hung_command_does_not_hold_up_another_client(serve: Serve) -> None:
    """While one session's Receive waits 4 s on a hung Get-Scheduler, a second session's whole read
    (pool open, command, close) is answered: it finishes before the first session's timeout arrives."""
    host = serve(Rule("hang", command="Get-Scheduler"))
    for server in host.endpoints.servers.values():
        server.hang_cap_s = 10.0  # the Receive is held for the client's OperationTimeout, 4 s
    finished: dict[str, float] = {}

    def hang() -> None:
        with session_for(host.url, retry=PATIENT, operation_timeout=4, read_timeout=10) as s:
            with contextlib.suppress(OperationTimeoutError):
                s.invoke(SCHEDULER, timeout=2)
            finished["hung"] = time.monotonic()

    thread = threading.Thread(target=hang)
    thread.start()
    try:
        while host.pipelines("Get-Scheduler") == 0 and thread.is_alive():
            time.sleep(0.05)
        with session_for(host.url) as other:
            assert str(check_version(other).version) == VERSION
        finished["other"] = time.monotonic()
    finally:
        thread.join(timeout=30)
    assert "hung" in finished and finished["other"] < finished["hung"]
