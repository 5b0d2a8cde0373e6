"""The replay server on a loopback socket: auth, TLS, the CLI endpoint, and every injected fault.

Every server listens on 127.0.0.1 with an ephemeral port and is stopped in a `finally`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import DEMO, FAST_RETRY

from psbridge import (
    AuthenticationError,
    Command,
    ConnectError,
    ConnectionOptions,
    OperationTimeoutError,
    RetryPolicy,
    Session,
    TransientRemoteError,
    WSManFault,
)
from psbridge.adsync import check_version
from psbridge.command import ErrorRule
from psbridge.replay import http
from psbridge.replay.faults import FAULT_QUOTA, KINDS, FaultInjector, Rule
from psbridge.replay.transport import ReplayTransport

USER, PASSWORD = "ci", "loopback-pw-7"
NO_RETRY = RetryPolicy(attempts=1)
SCHEDULER = Command.script("adsync/Get-Scheduler.ps1")  # recorded three times in the demo
Serve = Callable[..., tuple[str, FaultInjector]]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start a threaded endpoint over the demo recordings; every one started is shut down afterwards."""
    servers: list[tuple[http.ReplayHTTPServer, threading.Thread]] = []

    def start(*rules: Rule, seed: int = 0, tls_dir: Path | None = None) -> tuple[str, FaultInjector]:
        endpoints = http.Endpoints(DEMO)
        for server in endpoints.servers.values():
            server.hang_cap_s = 1.0
        injector = FaultInjector(rules, seed=seed)
        handle = injector.attach(endpoints.handle, *endpoints.servers.values())
        context = http.tls_context(*http.make_certificate(tls_dir)) if tls_dir else None
        server = http.ReplayHTTPServer(handle, port=0, credentials=(USER, PASSWORD), tls=context)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        return server.url, injector

    try:
        yield start
    finally:
        for server, thread in servers:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


def _session(url: str, *, password: str = PASSWORD, retry: RetryPolicy = FAST_RETRY, **extra: Any) -> Session:
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    values: dict[str, Any] = {"tls": False, "encryption": "never", **extra}
    options = ConnectionOptions.build(
        host="127.0.0.1", port=port, auth="basic", username=USER, password=password, **values
    )
    return Session(options, retry=retry, timeout=30)


def test_a_real_session_over_http_reads_the_recorded_version(serve: Serve) -> None:
    url, _ = serve()
    assert url.startswith("http://127.0.0.1:")
    with _session(url) as s:
        assert str(check_version(s).version) == "2.5.190.0"


def test_a_wrong_password_is_an_authentication_error_not_retried(serve: Serve) -> None:
    url, injector = serve()
    with _session(url, password="wrong") as s, pytest.raises(AuthenticationError):
        check_version(s)
    assert injector.requests == 0  # refused before reaching the server, once


def test_tls_validates_against_the_written_ca_file(serve: Serve, tmp_path: Path) -> None:
    url, _ = serve(tls_dir=tmp_path)
    assert url.startswith("https://127.0.0.1:")
    tls = {"tls": True, "encryption": "auto"}
    with _session(url, cert_validation=str(tmp_path / "ca.pem"), **tls) as s:
        assert str(check_version(s).version) == "2.5.190.0"
    with _session(url, retry=NO_RETRY, **tls) as s, pytest.raises(ConnectError, match="TLS handshake") as caught:
        s.invoke(SCHEDULER)
    assert caught.value.attempt == 1
    with _session(url, cert_validation=False, **tls) as s:
        assert s.invoke(SCHEDULER).output


# -- faults -----------------------------------------------------------------------------------------


def test_reset_drops_the_connection_and_the_read_is_retried(serve: Serve) -> None:
    url, injector = serve(Rule("reset", nth=1, action="Command"))
    with _session(url) as s:
        assert str(check_version(s).version) == "2.5.190.0"
    assert [i.fault for i in injector.injected] == ["reset"]
    url, _ = serve(Rule("reset", action="Command"))
    with _session(url, retry=NO_RETRY) as s, pytest.raises(ConnectError) as caught:
        check_version(s)
    assert caught.value.transient


def test_shell_not_found_reopens_the_pool_transparently(serve: Serve) -> None:
    url, injector = serve(Rule("shell-not-found", nth=1))
    with _session(url) as s:
        assert str(check_version(s).version) == "2.5.190.0"
    assert [(i.fault, i.action) for i in injector.injected] == [("shell-not-found", "Command")]


@pytest.mark.parametrize(("kind", "text"), [("quota-shells", "5 concurrent shells"), ("quota-operations", "15 con")])
def test_quota_faults_carry_the_wsman_code(serve: Serve, kind: str, text: str) -> None:
    url, _ = serve(Rule(kind))
    with _session(url, retry=NO_RETRY) as s, pytest.raises(WSManFault, match=text) as caught:
        check_version(s)
    assert caught.value.code == FAULT_QUOTA
    assert caught.value.transient


@pytest.mark.parametrize(("kind", "error", "transient"), [("http-500", ConnectError, True),
                                                          ("http-503", ConnectError, True),
                                                          ("http-401", AuthenticationError, False)])  # fmt: skip
def test_http_status_faults(serve: Serve, kind: str, error: type[Exception], transient: bool) -> None:
    url, injector = serve(Rule(kind, action="Command"))
    with _session(url) as s, pytest.raises(error) as caught:
        check_version(s)
    assert getattr(caught.value, "transient", None) is transient
    assert kind.removeprefix("http-") in str(caught.value)  # the status, not urllib3's "Max retries exceeded"
    attempts = len(injector.injected)
    assert attempts == (FAST_RETRY.attempts if transient else 1)


def test_exo_throttle_is_a_transient_remote_error(serve: Serve) -> None:
    url, _ = serve(Rule("exo-throttle"))
    rule = ErrorRule(TransientRemoteError, message_contains="does not indicate success: 429")
    with _session(url, retry=NO_RETRY) as s, pytest.raises(TransientRemoteError, match="429"):
        s.invoke(Command.cmdlet("Get-Mailbox", error_rules=(rule,)))


def test_exo_transient_dal_error_record_reaches_the_client(serve: Serve) -> None:
    url, _ = serve(Rule("exo-transient"))
    with _session(url, retry=NO_RETRY) as s, pytest.raises(Exception, match="TransientDALException"):
        s.invoke(Command.cmdlet("Get-Mailbox"))


def test_micro_delay_arrives_as_a_warning(serve: Serve) -> None:
    url, _ = serve(Rule("micro-delay", command="Get-Scheduler"))
    with _session(url) as s:
        result = s.invoke(SCHEDULER)
    assert any(w.startswith("Micro delay applied. Actual delayed: ") for w in result.streams.warning)


def test_hang_is_stopped_at_the_deadline(serve: Serve) -> None:
    url, _ = serve(Rule("hang", command="Get-Scheduler"))
    with _session(url, retry=NO_RETRY, operation_timeout=1, read_timeout=5) as s:
        with pytest.raises(OperationTimeoutError) as caught:
            s.invoke(SCHEDULER, timeout=2)
        assert caught.value.deadline_s == 2
        assert str(check_version(s).version) == "2.5.190.0"  # the session stays usable


def test_faults_work_in_process_too() -> None:
    injector = FaultInjector([Rule("micro-delay")])
    with Session(transport=ReplayTransport(DEMO, faults=injector), retry=FAST_RETRY) as s:
        result = s.invoke(SCHEDULER)
    assert result.streams.warning[0].startswith("Micro delay applied.")


def test_the_same_seed_injects_at_the_same_requests(serve: Serve) -> None:
    def run(seed: int) -> list[int]:
        url, injector = serve(Rule("http-503", rate=0.5, action="Command"), seed=seed)
        with _session(url, retry=RetryPolicy(attempts=8, total_s=30, initial_s=0, max_wait_s=0, jitter_s=0)) as s:
            for _ in range(3):
                s.invoke(SCHEDULER)
        return [i.request for i in injector.injected]

    first = run(11)
    assert first == run(11)
    assert first  # the seed does inject something in this run


def test_rules_are_validated() -> None:
    assert len(KINDS) == 11
    for bad in ("nope", "reset:2", "reset:x"):
        with pytest.raises(ValueError):
            Rule.parse(bad)
    with pytest.raises(ValueError, match="takes no action"):
        Rule("hang", action="Receive")


# -- the CLI endpoint, in a subprocess ---------------------------------------------------------------


def _psbridge(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "psbridge.cli.main", *args],
        capture_output=True, text=True, timeout=60, env={**os.environ, **env},
    )  # fmt: skip


def test_serve_replay_cli_end_to_end(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "psbridge.cli.main", "serve-replay", str(DEMO), "--user", USER, "--tls",
         "--cert-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, http.PASSWORD_ENV: PASSWORD},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(2)]
        assert lines[0] == f"ca file: {tmp_path / 'ca.pem'}"
        url = lines[1].removeprefix("listening on ")
        assert url.startswith("https://127.0.0.1:")
        port = url.rsplit(":", 1)[1].split("/")[0]
        base = ["--host", "127.0.0.1", "--port", port, "--auth", "basic", "--username", USER, "-o", "json"]
        ok = _psbridge(*base, "--ca-file", str(tmp_path / "ca.pem"), "adsync", "version", PSBRIDGE_PASSWORD=PASSWORD)
        assert ok.returncode == 0, ok.stderr
        assert json.loads(ok.stdout)["version"] == "2.5.190.0"
        wrong = _psbridge(*base, "--ca-file", str(tmp_path / "ca.pem"), "adsync", "version", PSBRIDGE_PASSWORD="no")
        assert wrong.returncode == 3
        assert "authentication" in wrong.stderr
        untrusted = _psbridge(*base, "adsync", "version", PSBRIDGE_PASSWORD=PASSWORD)
        assert untrusted.returncode == 3
        assert untrusted.stderr.strip().splitlines()[-1].startswith("psbridge: error: TLS handshake with 127.0.0.1")
        unchecked = _psbridge(*base, "--no-cert-validation", "adsync", "scheduler", PSBRIDGE_PASSWORD=PASSWORD)
        assert unchecked.returncode == 0
        assert "certificate validation is off" in unchecked.stderr
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_serve_replay_cli_plain_http_and_loud_non_loopback_warning() -> None:
    wrong = _psbridge("serve-replay", str(DEMO), "--auth", "basic", **{http.PASSWORD_ENV: ""})
    assert wrong.returncode == 2
    assert "PSBRIDGE_REPLAY_PASSWORD" in wrong.stderr
    assert http.is_loopback("127.0.0.1")
    assert http.is_loopback("localhost")
    assert not http.is_loopback("0.0.0.0")
