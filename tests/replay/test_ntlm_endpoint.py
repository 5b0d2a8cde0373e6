"""NTLM on the loopback endpoint: pyspnego's acceptor, and WinRM message encryption over plain HTTP.

Every server listens on 127.0.0.1 with an ephemeral port and is stopped in a `finally`. A TCP relay in
front of it keeps every byte each way, which is what an eavesdropper on the link would see.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from http.client import HTTPConnection, HTTPResponse
from pathlib import Path
from typing import Any, Literal

import pytest
import spnego
from cli_helpers import error_line
from helpers import DEMO, FAST_RETRY
from loopback import reap

from psbridge import AuthenticationError, ConnectError, ConnectionOptions, RetryPolicy, Session, WSManFault
from psbridge.adsync import check_version
from psbridge.replay import http, ntlm
from psbridge.replay.faults import FAULT_QUOTA, FaultInjector, Rule

pytestmark = pytest.mark.slow  # NTLM over a loopback socket

USER, PASSWORD = "ci", "ntlm-loopback-pw-9"
NO_RETRY = RetryPolicy(attempts=1)
SEALED = re.compile(rb"(?im)^content-type: multipart/encrypted;")
NEGOTIATE_LEGS = re.compile(rb"(?im)^authorization: negotiate \S+")
# In every plaintext WSMan message; absent from sealed ones.
PLAINTEXT_MARKERS = (b"Envelope", b"http://schemas.microsoft.com/wbem/wsman/1/windows/shell")


class Relay:
    """A TCP relay in front of the endpoint, one upstream connection per client connection, keeping the
    bytes of each connection each way."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.connections: list[tuple[bytearray, bytearray]] = []  # (client -> server, server -> client)
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def requests(self) -> list[bytes]:
        return [bytes(sent) for sent, _ in self.connections]

    @property
    def replies(self) -> list[bytes]:
        return [bytes(received) for _, received in self.connections]

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            self._sockets += [client, server]
            sent, received = bytearray(), bytearray()
            self.connections.append((sent, received))
            for src, dst, buffer in ((client, server, sent), (server, client, received)):
                threading.Thread(target=self._pipe, args=(src, dst, buffer), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket, buffer: bytearray) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                buffer += data
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.listener.close()
        for sock in self._sockets:
            sock.close()


@dataclasses.dataclass
class Endpoint:
    server: http.ReplayHTTPServer
    relay: Relay
    injector: FaultInjector
    seen: list[bytes]  # the request bodies the shared server logic was given, after unsealing

    @property
    def port(self) -> int:
        """The relay's port: clients go through it."""
        return self.relay.port


Serve = Callable[..., Endpoint]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start NTLM endpoints over the demo recordings behind a relay; each is shut down afterwards."""
    started: list[tuple[Endpoint, threading.Thread]] = []

    def start(
        *rules: Rule, auth: Literal["basic", "ntlm"] = "ntlm", allow_unencrypted: bool = False, password: str = PASSWORD
    ) -> Endpoint:
        endpoints = http.Endpoints(DEMO)
        injector = FaultInjector(rules)
        faulty = injector.attach(endpoints.handle, *endpoints.servers.values())
        seen: list[bytes] = []

        def handle(data: bytes) -> tuple[int, bytes]:
            seen.append(data)
            return faulty(data)

        server = http.ReplayHTTPServer(
            handle, credentials=(USER, password), auth=auth, allow_unencrypted=allow_unencrypted
        )
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        endpoint = Endpoint(server, Relay(server.server_address[1]), injector, seen)
        started.append((endpoint, thread))
        return endpoint

    try:
        yield start
    finally:
        for endpoint, thread in started:
            endpoint.relay.close()
            endpoint.server.shutdown()
            endpoint.server.server_close()
            thread.join(timeout=5)


def _session(
    port: int, *, auth: str = "ntlm", password: str = PASSWORD, retry: RetryPolicy = FAST_RETRY, **extra: Any
) -> Session:
    values: dict[str, Any] = {"tls": False, "encryption": "auto", **extra}
    options = ConnectionOptions.build(
        host="127.0.0.1", port=port, auth=auth, username=USER, password=password, **values
    )
    return Session(options, retry=retry, timeout=30)


def _count(pattern: re.Pattern[bytes], streams: list[bytes]) -> int:
    return sum(len(pattern.findall(stream)) for stream in streams)


# -- a real psbridge Session over NTLM -----------------------------------------------------------------


def test_ntlm_over_http_seals_every_request_and_reply(serve: Serve) -> None:
    """check_version over NTLM with encryption="auto" on plain HTTP: one handshake (2 Negotiate legs),
    then N SOAP requests, and the wire carries exactly N sealed requests and N sealed replies with no
    plaintext WSMan anywhere; the shared server logic received all N as plaintext SOAP."""
    endpoint = serve()
    with _session(endpoint.port) as s:
        assert str(check_version(s).version) == "2.5.190.0"
    n = len(endpoint.seen)
    assert n >= 3  # a pool open and at least one command
    assert all(body.startswith(b"<") and b"Envelope" in body for body in endpoint.seen)
    requests, replies = endpoint.relay.requests, endpoint.relay.replies
    assert _count(SEALED, requests) == n
    assert _count(SEALED, replies) == n
    assert _count(NEGOTIATE_LEGS, requests) == 4  # one handshake per connection: the calls' and the closer's
    for marker in PLAINTEXT_MARKERS:
        assert not any(marker in stream for stream in requests + replies), marker


def test_the_eavesdropper_check_sees_plaintext_without_encryption(serve: Serve) -> None:
    """The control for the test above: Basic auth with encryption="never" puts every plaintext marker on
    the wire and 0 sealed messages, so the absence of the markers above means something."""
    endpoint = serve(auth="basic")
    with _session(endpoint.port, auth="basic", encryption="never") as s:
        assert str(check_version(s).version) == "2.5.190.0"
    wire = endpoint.relay.requests + endpoint.relay.replies
    assert _count(SEALED, wire) == 0
    for marker in PLAINTEXT_MARKERS:
        assert any(marker in stream for stream in wire), marker


def test_negotiate_with_encryption_always_also_works(serve: Serve) -> None:
    """auth="negotiate" (psbridge's default; SPNEGO around NTLM, no Kerberos here) with encryption
    "always": the version is read, and every one of the server's requests arrived sealed."""
    endpoint = serve()
    with _session(endpoint.port, auth="negotiate", encryption="always") as s:
        assert str(check_version(s).version) == "2.5.190.0"
    assert _count(SEALED, endpoint.relay.requests) == len(endpoint.seen) > 0


def test_a_wrong_password_is_one_refused_handshake(serve: Serve) -> None:
    """A wrong password: AuthenticationError after exactly one handshake (2 legs) although the retry
    policy allows 3 attempts, 0 requests reach the server logic, and the error does not carry the password."""
    endpoint = serve()
    with _session(endpoint.port, password="wrong-pw-3") as s, pytest.raises(AuthenticationError) as caught:
        check_version(s)
    assert not caught.value.transient
    assert "wrong-pw-3" not in str(caught.value)
    assert endpoint.seen == []
    assert _count(NEGOTIATE_LEGS, endpoint.relay.requests) == 2


def test_unencrypted_soap_after_ntlm_is_refused_like_allow_unencrypted_false(serve: Serve) -> None:
    """encryption="never" after NTLM over HTTP gets HTTP 500, as from Windows with AllowUnencrypted=false,
    and 0 requests reach the server logic; with allow_unencrypted=True the same client is served."""
    endpoint = serve()
    with _session(endpoint.port, encryption="never") as s, pytest.raises(ConnectError, match="HTTP 500"):
        check_version(s)
    assert endpoint.seen == []
    assert any(b"AllowUnencrypted=false" in stream for stream in endpoint.relay.replies)
    endpoint = serve(allow_unencrypted=True)
    with _session(endpoint.port, encryption="never") as s:
        assert str(check_version(s).version) == "2.5.190.0"
    assert _count(SEALED, endpoint.relay.requests) == 0


# -- faults under NTLM ----------------------------------------------------------------------------------


def test_a_quota_fault_arrives_sealed_and_is_read_with_its_code(serve: Serve) -> None:
    """The quota WSMan fault (HTTP 500, SOAP) is sealed like every SOAP reply (0 plaintext markers on
    the wire) and still reaches the client as WSManFault 2150859174."""
    endpoint = serve(Rule("quota-shells"))
    with _session(endpoint.port, retry=NO_RETRY) as s, pytest.raises(WSManFault) as caught:
        check_version(s)
    assert caught.value.code == FAULT_QUOTA
    assert not any(b"Envelope" in stream for stream in endpoint.relay.replies)


def test_an_injected_401_makes_the_client_authenticate_again_and_fail(serve: Serve) -> None:
    """An injected 401 drops the connection's security context. pypsrp authenticates again but re-sends
    the body sealed with the old context, which is refused: AuthenticationError, the fault fired once."""
    endpoint = serve(Rule("http-401", action="Command"))
    with _session(endpoint.port) as s:
        with pytest.raises(AuthenticationError):
            check_version(s)
        assert _count(NEGOTIATE_LEGS, endpoint.relay.requests) == 4  # the first handshake and one more
    assert [i.fault for i in endpoint.injector.injected] == ["http-401"]


@pytest.mark.parametrize("kind", ["http-503", "http-500", "shell-not-found"])
def test_a_transient_fault_once_is_retried_and_the_sealing_stays_in_step(serve: Serve, kind: str) -> None:
    """A 503, a 500 or a forgotten shell on the 1st Command: the read is retried on the same connection
    and its security context (1 handshake there, 1 on the background closer's), and the version is read:
    both sides' sealing sequences stay in step across the unsealed error reply."""
    endpoint = serve(Rule(kind, nth=1, action=None if kind == "shell-not-found" else "Command"))
    with _session(endpoint.port) as s:
        assert str(check_version(s).version) == "2.5.190.0"
    assert [i.fault for i in endpoint.injector.injected] == [kind]
    assert _count(NEGOTIATE_LEGS, endpoint.relay.requests) == 4  # the calls' connection and the closer's


def test_a_connection_reset_under_ntlm_is_retried_on_a_new_context(serve: Serve) -> None:
    """A reset before the 1st Command reply: the retry needs a new connection, so a new NTLM context."""
    endpoint = serve(Rule("reset", nth=1, action="Command"))
    with _session(endpoint.port) as s:
        assert str(check_version(s).version) == "2.5.190.0"


# -- the acceptor and the raw protocol ------------------------------------------------------------------


def test_the_user_file_env_var_is_only_set_while_the_acceptor_steps(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyspnego reads NTLM_USER_FILE: around its calls only. A caller's own value is the same after 2
    sessions, an unset one stays unset, and the 0600 user file is dropped when the server closes."""
    endpoint = serve()
    user_file = endpoint.server.ntlm.user_file if endpoint.server.ntlm else None
    assert user_file is not None and user_file.stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv(ntlm.USER_FILE_ENV, "/nonexistent/callers-own-file")
    with _session(endpoint.port) as s:
        assert str(check_version(s).version) == "2.5.190.0"
    assert os.environ[ntlm.USER_FILE_ENV] == "/nonexistent/callers-own-file"
    monkeypatch.delenv(ntlm.USER_FILE_ENV)
    with _session(serve().port) as s:
        assert str(check_version(s).version) == "2.5.190.0"
    assert ntlm.USER_FILE_ENV not in os.environ
    before = os.readlink(user_file) if sys.platform == "linux" else str(user_file)
    endpoint.server.shutdown()
    endpoint.server.server_close()
    after = (os.readlink(user_file) if user_file.exists() else None) if sys.platform == "linux" else str(user_file)
    assert after != before or not user_file.exists()


@pytest.mark.skipif(not hasattr(os, "memfd_create"), reason="memfd_create is Linux only")
def test_the_user_file_is_in_memory_and_holds_hashes_not_the_password() -> None:
    """On Linux the user file is an anonymous memory file (nothing on disk), holding the NT hash."""
    acceptor = ntlm.Acceptor(USER, PASSWORD)
    try:
        assert os.readlink(acceptor.user_file) == "/memfd:psbridge-ntlm-users (deleted)"
        text = acceptor.user_file.read_text()
        assert PASSWORD not in text and text.startswith(f"{USER}:0:") and len(text.split(":")) == 6
    finally:
        acceptor.close()


def test_without_memfd_the_user_file_is_private_and_stale_ones_are_removed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The fallback: hashes in a 0600 file in a 0700 directory named with the pid, removed by close; a
    directory left by a process that no longer runs (killed) is removed by the next acceptor."""
    monkeypatch.delattr(os, "memfd_create", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stale = tmp_path / "psbridge-ntlm-999999999-abc"  # above any pid_max: that process does not run
    stale.mkdir()
    (stale / "users").write_text("left by a killed process")
    acceptor = ntlm.Acceptor(USER, PASSWORD)
    try:
        assert not stale.exists()
        assert acceptor.user_file.parent.parent == tmp_path
        assert acceptor.user_file.stat().st_mode & 0o777 == 0o600
        assert acceptor.user_file.parent.stat().st_mode & 0o777 == 0o700
        assert PASSWORD not in acceptor.user_file.read_text()
        token = spnego.client(USER, PASSWORD, protocol="ntlm")
        context = acceptor.context()
        challenge = acceptor.step(context, token.step() or b"")
        acceptor.step(context, token.step(challenge) or b"")
        assert context.complete  # pyspnego accepts the hashes for the password
    finally:
        acceptor.close()
    assert list(tmp_path.iterdir()) == []


def test_a_password_with_a_colon_is_fine_but_a_user_with_one_is_refused(serve: Serve) -> None:
    with _session(serve(password="a:b\nc").port, password="a:b\nc") as s:
        assert str(check_version(s).version) == "2.5.190.0"
    for user, password in (("c:i", PASSWORD), ("c\ni", PASSWORD), (USER, "")):
        with pytest.raises(ValueError, match="the user has no ':' or line break"):
            ntlm.Acceptor(user, password)


def _post(conn: HTTPConnection, body: bytes = b"", **headers: str) -> HTTPResponse:
    conn.request("POST", "/wsman", body=body, headers={"Content-Length": str(len(body)), **headers})
    response = conn.getresponse()
    response.read()
    return response


def test_the_raw_handshake_and_sealed_body_checks(serve: Serve) -> None:
    """Over http.client with pyspnego's client: 401 `Negotiate`, 401 with the challenge, 200 on the
    Authenticate leg. Then a malformed sealed body is 400, a tampered one is 401 (the context is
    dropped), and a new connection starts unauthenticated (401). 0 requests reach the server logic."""
    endpoint = serve()
    conn = HTTPConnection("127.0.0.1", endpoint.port, timeout=10)
    first = _post(conn)
    assert (first.status, first.getheader("WWW-Authenticate")) == (401, "Negotiate")
    client = spnego.client(USER, PASSWORD, hostname="127.0.0.1", protocol="ntlm")
    token = client.step()
    assert token is not None
    challenge = _post(conn, Authorization=f"Negotiate {base64.b64encode(token).decode()}")
    scheme, _, encoded = (challenge.getheader("WWW-Authenticate") or "").partition(" ")
    assert (challenge.status, scheme) == (401, "Negotiate")
    token = client.step(base64.b64decode(encoded))
    assert token is not None
    done = _post(conn, Authorization=f"Negotiate {base64.b64encode(token).decode()}")
    assert done.status == 200
    assert client.complete
    malformed = _post(conn, b"--Encrypted Boundary\r\nnot the framing", **{"Content-Type": ntlm.CONTENT_TYPE})
    assert malformed.status == 400
    header, data, _ = client.wrap_winrm(b"<s:Envelope/>")  # then tampered with: the signature fails
    framed = (
        b"--Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n"
        b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=13\r\n--Encrypted Boundary\r\n"
        b"\tContent-Type: application/octet-stream\r\n"
        + struct.pack("<I", len(header)) + header + data[::-1] + b"--Encrypted Boundary--\r\n"
    )  # fmt: skip
    tampered = _post(conn, framed, **{"Content-Type": ntlm.CONTENT_TYPE})
    assert (tampered.status, tampered.getheader("WWW-Authenticate")) == (401, "Negotiate")
    conn.close()
    fresh = HTTPConnection("127.0.0.1", endpoint.port, timeout=10)
    assert _post(fresh, b"<s:Envelope/>", **{"Content-Type": "application/soap+xml;charset=UTF-8"}).status == 401
    fresh.close()
    assert endpoint.seen == []


# -- the CLI endpoint, in a subprocess ---------------------------------------------------------------


def _psbridge(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "psbridge.cli.main", *args],
        capture_output=True, text=True, timeout=60, env={**os.environ, **env},
    )  # fmt: skip


@pytest.mark.subprocess
def test_serve_replay_ntlm_cli_end_to_end() -> None:
    """`serve-replay --auth ntlm` in one process, `psbridge --auth ntlm --no-tls ... adsync version` in
    another: exit 0 with 2.5.190.0; a wrong password exits 3; SIGTERM stops the server with exit 0; the
    server's output never contains the password."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "psbridge.cli.main", "serve-replay", str(DEMO), "--auth", "ntlm", "--user", USER],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, http.PASSWORD_ENV: PASSWORD},
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stderr is not None
        url = proc.stdout.readline().strip().removeprefix("listening on ")
        assert url.startswith("http://127.0.0.1:")
        port = url.rsplit(":", 1)[1].split("/")[0]
        base = ["--host", "127.0.0.1", "--port", port, "--auth", "ntlm", "--no-tls", "--username", USER, "-o", "json"]
        ok = _psbridge(*base, "adsync", "version", PSBRIDGE_PASSWORD=PASSWORD)
        assert ok.returncode == 0, ok.stderr
        assert json.loads(ok.stdout)["version"] == "2.5.190.0"
        wrong = _psbridge(*base, "adsync", "version", PSBRIDGE_PASSWORD="not-the-password")
        assert wrong.returncode == 3
        assert "authentication" in wrong.stderr
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert PASSWORD not in proc.stdout.read() + proc.stderr.read()
    finally:
        reap(proc)


@pytest.mark.subprocess
def test_serve_replay_ntlm_refuses_a_user_its_user_file_cannot_hold() -> None:
    result = _psbridge("serve-replay", str(DEMO), "--auth", "ntlm", "--user", "c:i", **{http.PASSWORD_ENV: "pw"})
    assert result.returncode == 2
    assert [error_line(json.loads(line), 2) for line in result.stderr.strip().splitlines()] == [
        "psbridge: error: an NTLM replay user and password must be non-empty, and the user has no ':' or line break"
    ]


@pytest.mark.timeout(60)
@pytest.mark.subprocess
def test_a_killed_serve_replay_ntlm_leaves_nothing_in_the_temp_dir(tmp_path: Path) -> None:
    """SIGKILL gives no chance to clean up: nothing may have been written to the temp dir to begin with."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "psbridge.cli.main", "serve-replay", str(DEMO), "--auth", "ntlm", "--user", USER],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, http.PASSWORD_ENV: PASSWORD, "TMPDIR": str(tmp_path)},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("listening on http://127.0.0.1:")
        proc.kill()
        proc.wait(timeout=10)
    finally:
        reap(proc)
    assert [p.name for p in tmp_path.rglob("*")] == []
