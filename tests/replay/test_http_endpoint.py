"""The replay server on a loopback socket: TLS, the CLI endpoint, and every injected fault.

Every server listens on 127.0.0.1 with an ephemeral port (tests/loopback.py) and is stopped when the
test ends. What users rely on under those faults (wrong passwords and bad certificates, no blind
retries, idle disconnects, hung commands) is the reliability suite's: tests/reliability/.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import DEMO, FAST_RETRY
from loopback import PASSWORD, USER, endpoint, port_of, reap, run_psbridge, session_for
from simulated import exo_fault

from psbridge import (
    AuthenticationError,
    Command,
    ConnectError,
    ReplayMissError,
    RetryPolicy,
    Session,
    TransientRemoteError,
    WSManFault,
)
from psbridge.adsync import check_version
from psbridge.command import ErrorRule
from psbridge.options import is_loopback
from psbridge.replay import http
from psbridge.replay.faults import FAULT_QUOTA, KINDS, FaultInjector, Rule
from psbridge.replay.transport import ReplayTransport
from psbridge.transport.psrp import PSRPTransport

pytestmark = pytest.mark.slow  # a loopback endpoint per test

NO_RETRY = RetryPolicy(attempts=1)
SCHEDULER = Command.script("adsync/Get-Scheduler.ps1")  # recorded three times in the demo
Serve = Callable[..., tuple[str, FaultInjector]]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start endpoints over the demo recordings, with faults; every one started is shut down afterwards."""
    with contextlib.ExitStack() as stack:

        def start(*rules: Rule, seed: int = 0, tls_dir: Path | None = None) -> tuple[str, FaultInjector]:
            endpoints = http.Endpoints(DEMO)
            injector = FaultInjector(rules, seed=seed)
            handle = injector.attach(endpoints.handle, *endpoints.servers.values())
            return stack.enter_context(endpoint(handle, tls_dir=tls_dir)).url, injector

        yield start


def test_a_real_session_over_http_reads_the_recorded_version(serve: Serve) -> None:
    url, _ = serve()
    assert url.startswith("http://127.0.0.1:")
    with session_for(url) as s:
        assert str(check_version(s).version) == "2.5.190.0"


def test_a_command_the_recordings_lack_is_a_replay_miss_over_the_socket_too(serve: Serve) -> None:
    """As under --replay (exit 2), not a remote failure (exit 4): the client maps the server's miss id."""
    url, _ = serve()
    with session_for(url) as s, pytest.raises(ReplayMissError, match="no recorded episode for `Get-Nothing`") as caught:
        s.invoke(Command.cmdlet("Get-Nothing"))
    assert caught.value.exit_code == 2


def test_every_session_is_served_the_recordings_afresh(serve: Serve) -> None:
    """A second client session (a second cron run) gets the same replies as the first."""
    url, _ = serve()
    for _ in range(2):
        with session_for(url) as s:
            assert str(check_version(s).version) == "2.5.190.0"


def test_tls_validates_against_the_written_ca_file(serve: Serve, tmp_path: Path) -> None:
    """With the CA file it validates; with validation off it works too (a bad certificate: reliability)."""
    url, _ = serve(tls_dir=tmp_path)
    assert url.startswith("https://127.0.0.1:")
    tls = {"tls": True, "encryption": "auto"}
    with session_for(url, cert_validation=str(tmp_path / "ca.pem"), **tls) as s:
        assert str(check_version(s).version) == "2.5.190.0"
    with session_for(url, cert_validation=False, **tls) as s:
        assert s.invoke(SCHEDULER).output


# -- faults -----------------------------------------------------------------------------------------


def test_reset_drops_the_connection_and_the_read_is_retried(serve: Serve) -> None:
    url, injector = serve(Rule("reset", nth=1, action="Command"))
    with session_for(url) as s:
        assert str(check_version(s).version) == "2.5.190.0"
    assert [i.fault for i in injector.injected] == ["reset"]
    url, _ = serve(Rule("reset", action="Command"))
    with session_for(url, retry=NO_RETRY) as s, pytest.raises(ConnectError) as caught:
        check_version(s)
    assert caught.value.transient


@pytest.mark.parametrize(("kind", "text"), [("quota-shells", "5 concurrent shells"), ("quota-operations", "15 con")])
def test_quota_faults_carry_the_wsman_code(serve: Serve, kind: str, text: str) -> None:
    url, _ = serve(Rule(kind))
    with session_for(url, retry=NO_RETRY) as s, pytest.raises(WSManFault, match=text) as caught:
        check_version(s)
    assert caught.value.code == FAULT_QUOTA
    assert caught.value.transient


@pytest.mark.parametrize(("kind", "error", "transient"), [("http-500", ConnectError, True),
                                                          ("http-503", ConnectError, True),
                                                          ("http-401", AuthenticationError, False)])  # fmt: skip
def test_http_status_faults(serve: Serve, kind: str, error: type[Exception], transient: bool) -> None:
    url, injector = serve(Rule(kind, action="Command"))
    with session_for(url) as s, pytest.raises(error) as caught:
        check_version(s)
    assert getattr(caught.value, "transient", None) is transient
    assert kind.removeprefix("http-") in str(caught.value)  # the status, not urllib3's "Max retries exceeded"
    attempts = len(injector.injected)
    assert attempts == (FAST_RETRY.attempts if transient else 1)


def test_exo_throttle_is_a_transient_remote_error(serve: Serve) -> None:
    url, _ = serve(exo_fault("exo-throttle"))
    rule = ErrorRule(TransientRemoteError, message_contains="does not indicate success: 429")
    with session_for(url, retry=NO_RETRY) as s, pytest.raises(TransientRemoteError, match="429"):
        s.invoke(Command.cmdlet("Get-Mailbox", error_rules=(rule,)))


def test_exo_transient_dal_error_record_reaches_the_client(serve: Serve) -> None:
    url, _ = serve(exo_fault("exo-transient"))
    with session_for(url, retry=NO_RETRY) as s, pytest.raises(Exception, match="TransientDALException"):
        s.invoke(Command.cmdlet("Get-Mailbox"))


def test_micro_delay_arrives_as_a_warning(serve: Serve) -> None:
    url, _ = serve(exo_fault("micro-delay", command="Get-Scheduler"))
    with session_for(url) as s:
        result = s.invoke(SCHEDULER)
    assert any(w.startswith("Micro delay applied. Actual delayed: ") for w in result.streams.warning)


def test_faults_work_in_process_too() -> None:
    injector = FaultInjector([exo_fault("micro-delay")])
    with Session(transport=ReplayTransport(DEMO, faults=injector), retry=FAST_RETRY) as s:
        result = s.invoke(SCHEDULER)
    assert result.streams.warning[0].startswith("Micro delay applied.")


def test_the_same_seed_injects_at_the_same_requests(serve: Serve) -> None:
    """The same requests in the same order: each pipeline is closed on the call's path, since a background
    close (on its own connection) reaches the server at a time no seed decides."""

    def run(seed: int) -> list[int]:
        url, injector = serve(Rule("http-503", rate=0.5, action="Command"), seed=seed)
        with session_for(url, retry=RetryPolicy(attempts=8, total_s=30, initial_s=0, max_wait_s=0, jitter_s=0)) as s:
            transport = s.transport
            assert isinstance(transport, PSRPTransport)
            transport.max_open_pipelines = 1
            for _ in range(3):
                s.invoke(SCHEDULER)
        return [i.request for i in injector.injected]

    first = run(11)
    assert first == run(11)
    assert first  # the seed does inject something in this run


def test_rules_are_validated() -> None:
    assert len(KINDS) == 10
    with pytest.raises(ValueError, match="needs a `message`"):
        Rule("error")  # the engine has no text of its own: the host's comes with the rule
    with pytest.raises(ValueError, match="takes no message"):
        Rule("reset", message="connection reset")
    for bad in ("nope", "reset:2", "reset:x"):
        with pytest.raises(ValueError):
            Rule.parse(bad)
    with pytest.raises(ValueError, match="takes no action"):
        Rule("hang", action="Receive")


# -- the CLI endpoint, in a subprocess ---------------------------------------------------------------


@pytest.mark.subprocess
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
        base = ["--host", "127.0.0.1", "--port", str(port_of(url)), "--auth", "basic", "--username", USER, "-o", "json"]
        ok = run_psbridge(*base, "--ca-file", str(tmp_path / "ca.pem"), "adsync", "version")
        assert ok.returncode == 0, ok.stderr
        assert json.loads(ok.stdout)["version"] == "2.5.190.0"
        unchecked = run_psbridge(*base, "--no-cert-validation", "adsync", "scheduler")
        assert unchecked.returncode == 0
        assert "certificate validation is off" in unchecked.stderr
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        reap(proc)


def test_only_loopback_addresses_count_as_loopback() -> None:
    assert is_loopback("127.0.0.1")
    assert is_loopback("127.8.9.10") and is_loopback("::1") and is_loopback("[::1]")
    assert is_loopback("localhost") and is_loopback("LOCALHOST.")
    assert not is_loopback("0.0.0.0")
    assert not is_loopback("localhost.example.com") and not is_loopback("128.0.0.1")


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_a_reused_cert_dir_gets_a_new_private_key_file_others_cannot_read(tmp_path: Path) -> None:
    """An old key.pem with mode 0644 is not written into: a new 0600 file replaces it, and the old mode is
    reported in one line. A key.pem that is a symlink is replaced, never followed."""
    old_key = tmp_path / "key.pem"
    old_key.write_text("old key")
    old_key.chmod(0o644)
    old_inode = old_key.stat().st_ino
    assert (
        http.exposed_key(tmp_path)
        == f"{old_key} was readable by other users (mode 0644): replaced by a new key with mode 0600"
    )
    cert, key = http.make_certificate(tmp_path)
    assert key == old_key and key.stat().st_mode & 0o777 == 0o600 and key.stat().st_ino != old_inode
    assert "PRIVATE KEY" in key.read_text() and http.exposed_key(tmp_path) is None
    assert http.tls_context(cert, key) is not None
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("not a key")
    key.unlink()
    key.symlink_to(elsewhere)
    http.make_certificate(tmp_path)
    assert elsewhere.read_text() == "not a key" and not key.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ca.pem", "elsewhere", "key.pem"]  # no temporary left


@pytest.mark.timeout(60)
@pytest.mark.subprocess
def test_serve_replay_warns_once_about_an_exposed_key_and_removes_its_own_cert_dir(tmp_path: Path) -> None:
    """With --cert-dir holding a 0644 key.pem: one warning line. Without --cert-dir: the temporary
    directory with the key is gone after SIGTERM."""
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "key.pem").write_text("old")
    (tmp_path / "certs" / "key.pem").chmod(0o644)
    for extra in (["--cert-dir", str(tmp_path / "certs")], []):
        temp = tmp_path / f"tmp{len(extra)}"
        temp.mkdir()
        proc = subprocess.Popen(
            [sys.executable, "-m", "psbridge.cli.main", "serve-replay", str(DEMO), "--tls", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, http.PASSWORD_ENV: PASSWORD, "TMPDIR": str(temp)},
        )  # fmt: skip
        try:
            assert proc.stdout is not None and proc.stderr is not None
            ca_file = Path(proc.stdout.readline().strip().removeprefix("ca file: "))
            assert proc.stdout.readline().startswith("listening on https://127.0.0.1:")
            assert ca_file.exists()
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
            warnings = [line for line in proc.stderr.read().splitlines() if "readable by other users" in line]
        finally:
            reap(proc)
        if extra:
            assert len(warnings) == 1 and json.loads(warnings[0])["event"] == "psbridge.warning"
            assert (tmp_path / "certs" / "key.pem").stat().st_mode & 0o777 == 0o600
        else:
            assert warnings == [] and not ca_file.exists() and list(temp.iterdir()) == []
