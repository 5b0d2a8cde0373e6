"""The pytest plugin (`psbridge.replay.plugin`, registered through the `pytest11` entry point), run in
throwaway test suites: the marker, the default recording path, misses, and the record-mode guards.

Each suite runs in a subprocess, so the plugin is loaded from its entry point exactly as a user's
suite loads it, and the socket guard below cannot leak into this process.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.subprocess  # each test runs pytest in a process of its own

ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = ROOT / "recorded_sessions" / "demo"
DEMO = DEMO_DIR / "adsync.yaml"

# A conftest for the inner suite: any attempt to reach the network is written down and refused.
NO_NETWORK = """
import socket
from pathlib import Path

import pytest

ATTEMPTS = Path(__file__).parent / "network-attempts.txt"


def _refuse(*args, **kwargs):
    with ATTEMPTS.open("a") as handle:
        handle.write(repr(args) + "\\n")
    raise OSError("network access is disabled in this test suite")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", _refuse)
    monkeypatch.setattr(socket, "create_connection", _refuse)
    monkeypatch.setattr(socket, "getaddrinfo", _refuse)
"""

CHECK_VERSION = """
import pytest

import psbridge.adsync


{marker}
def {name}(psbridge_session):
    check = psbridge.adsync.check_version(psbridge_session)
    assert check.meets_minimum
    assert str(check.version) == "2.5.190.0"
"""


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The inner suites inherit this environment: no record mode and no live host from the caller."""
    for name in ("PSBRIDGE_RECORD_MODE", "PSBRIDGE_HOST", "PSBRIDGE_USERNAME", "PSBRIDGE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


def _suite(pytester: pytest.Pytester, name: str, body: str) -> None:
    pytester.makeconftest(NO_NETWORK)
    pytester.makepyfile(**{name: body})


def _assert_offline(pytester: pytest.Pytester) -> None:
    attempts = pytester.path / "network-attempts.txt"
    assert not attempts.exists(), f"the suite tried to reach the network: {attempts.read_text()}"


def test_marker_serves_the_named_recording(pytester: pytest.Pytester) -> None:
    marker = f"@pytest.mark.psbridge_recording({str(DEMO_DIR)!r})"
    _suite(pytester, "test_marked", CHECK_VERSION.format(marker=marker, name="test_connect_version"))

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    result.assert_outcomes(passed=1)
    _assert_offline(pytester)


def test_marker_path_is_relative_to_rootdir(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\n")
    shutil.copy(DEMO, pytester.mkdir("cassettes") / "connect.yaml")
    marker = '@pytest.mark.psbridge_recording("cassettes/connect.yaml")'
    _suite(pytester, "test_relative", CHECK_VERSION.format(marker=marker, name="test_connect_version"))

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    result.assert_outcomes(passed=1)


def test_default_path_from_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\npsbridge_recordings = recs\n")
    target = pytester.path / "recs" / "test_default" / "test_finds_its_recording.yaml"
    target.parent.mkdir(parents=True)
    shutil.copy(DEMO, target)
    _suite(pytester, "test_default", CHECK_VERSION.format(marker="", name="test_finds_its_recording"))

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    result.assert_outcomes(passed=1)
    _assert_offline(pytester)


def test_missing_recording_fails_with_its_path(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\npsbridge_recordings = recs\n")
    _suite(pytester, "test_absent", CHECK_VERSION.format(marker="", name="test_has_no_recording"))

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    result.assert_outcomes(errors=1)
    expected = pytester.path / "recs" / "test_absent" / "test_has_no_recording.yaml"
    result.stdout.fnmatch_lines(["*RecordingFormatError*no recording at*"])
    assert str(expected) in result.stdout.str()
    assert not expected.exists()  # replay-only: nothing is written in its place
    _assert_offline(pytester)


def test_unrecorded_command_fails_with_replay_miss(pytester: pytest.Pytester) -> None:
    _suite(
        pytester,
        "test_miss",
        f"""
import pytest

from psbridge import Command


@pytest.mark.psbridge_recording({str(DEMO)!r})
def test_scheduler(psbridge_session):
    psbridge_session.invoke(Command.cmdlet("Get-ADSyncScheduler"))
""",
    )

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*ReplayMissError*no recorded episode for `Get-ADSyncScheduler`*"])
    # ...and the miss names the nearest command the recording does hold.
    result.stdout.fnmatch_lines(["*nearest recorded*script adsync/Get-GlobalParameters.ps1*"])
    _assert_offline(pytester)


def test_rewrite_without_host_fails_offline(pytester: pytest.Pytester) -> None:
    cassette = pytester.path / "rec.yaml"
    shutil.copy(DEMO, cassette)
    before = cassette.read_bytes()
    marker = f"@pytest.mark.psbridge_recording({str(cassette)!r})"
    _suite(pytester, "test_rewrite", CHECK_VERSION.format(marker=marker, name="test_connect_version"))

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--psbridge-record-mode", "rewrite")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*recording needs a live host: set PSBRIDGE_HOST*"])
    assert cassette.read_bytes() == before, "the recording was rewritten although nothing was recorded"
    _assert_offline(pytester)


def test_record_mode_from_env_is_used(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """PSBRIDGE_RECORD_MODE alone selects a record mode: `rewrite` from the environment needs a host too."""
    monkeypatch.setenv("PSBRIDGE_RECORD_MODE", "rewrite")
    marker = f"@pytest.mark.psbridge_recording({str(DEMO)!r})"
    _suite(pytester, "test_env_mode", CHECK_VERSION.format(marker=marker, name="test_connect_version"))

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*PSBRIDGE_HOST*"])
    _assert_offline(pytester)


def test_invalid_record_mode_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    _suite(pytester, "test_opt", CHECK_VERSION.format(marker="", name="test_connect_version"))

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--psbridge-record-mode", "sometimes")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--psbridge-record-mode*invalid choice*sometimes*"])


def test_invalid_record_mode_env_is_a_usage_error(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad PSBRIDGE_RECORD_MODE stops the whole run before any test: it never falls back to replay."""
    monkeypatch.setenv("PSBRIDGE_RECORD_MODE", "sometimes")
    marker = f"@pytest.mark.psbridge_recording({str(DEMO)!r})"
    _suite(pytester, "test_env_usage", CHECK_VERSION.format(marker=marker, name="test_connect_version"))

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*PSBRIDGE_RECORD_MODE must be one of*"])
