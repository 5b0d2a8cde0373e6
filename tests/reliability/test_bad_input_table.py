"""Bad input on the command line, across every command group: exit 2 with one line, checked before anything
is sent or written.

Each case runs in-process (the `cli` fixture) against the demo recordings, with spies on the only two
places bytes leave psbridge: a WSMan message on its wire (`_CountingWire.send`, live, recorded and replayed
alike) and a Microsoft Graph request (`GraphClient._call`). Neither may be called; the working directory
(a fresh tmp_path) must stay empty; stdout must stay empty; and none exits 70.

A byte that is not UTF-8 in argv reaches click as a lone surrogate (PEP 383), so `BAD_TEXT` is what click
gets from `$'\\xff\\xfeabc'`; `test_non_utf8_argv_bytes_in_a_real_process` checks the real bytes once.
Output errors (a closed pipe, a full device) have their own codes: see the tests at the end.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import error_line
from helpers import DEMO
from pytest_mock import MockerFixture

from psbridge.cli.main import cli as root
from psbridge.errors import ExitCode

BAD_TEXT = b"\xff\xfeabc".decode("utf-8", "surrogateescape")  # "\udcff\udcfeabc"
R = ("--replay", str(DEMO))
JOB = "AD2AADProvisioning.8c2f0e5a1d7b4c9e9f3a6b2d5e8c1a47.3f9d2b6e-1c4a-4e8b-9a7d-5c2e8f1b4d60"
URI = ("--uri", "https://graph.microsoft.com/beta/servicePrincipals")


@dataclasses.dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    says: str  # part of the one error line: refused for the right reason


def case(id: str, *args: str, says: str) -> Any:  # noqa: A002 - pytest's name
    return pytest.param(Case(args, says), id=id)


CASES = [
    # -- global options (every group) -----------------------------------------------------------------------
    case("host-with-spaces", "--host", "bad host!!", "adsync", "version", says="'bad host!!' is not a host name"),
    case("host-empty", "--host", "", "adsync", "version", says="is not a host name"),
    case("host-ip-out-of-range", "--host", "127.0.0.256", "adsync", "version", says="not a valid IP address"),
    case("host-empty-label", "--host", "connect01..contoso.example", "adsync", "version", says="not a host name"),
    case("host-label-too-long", "--host", "a" * 64 + ".example", "adsync", "version", says="not a host name"),
    case("host-not-utf8", "--host", BAD_TEXT, "adsync", "version", says="not valid text"),
    case("timeout-nan", *R, "--timeout", "nan", "adsync", "version", says="'nan' is not a finite number"),
    case("timeout-inf", *R, "--timeout", "inf", "adsync", "version", says="'inf' is not a finite number"),
    case("timeout-minus-inf", *R, "--timeout", "-inf", "adsync", "version", says="not a finite number"),
    case("timeout-huge", *R, "--timeout", "1e300", "adsync", "version", says="'--timeout'"),
    case("timeout-not-a-number", *R, "--timeout", "soon", "adsync", "version", says="'soon' is not a valid float"),
    case("operation-timeout-past-int32", *R, "--operation-timeout", "99999999999", "adsync", "version",
         says="'--operation-timeout'"),
    case("read-timeout-1", *R, "--read-timeout", "1", "adsync", "version", says="'--read-timeout'"),
    case("port-zero", "--host", "127.0.0.1", "--port", "0", "adsync", "version", says="'--port'"),
    case("username-not-utf8", "--host", "127.0.0.1", "--username", BAD_TEXT, "adsync", "version",
         says="'--username': the value is not valid text"),
    case("configuration-name-not-utf8", *R, "--configuration-name", BAD_TEXT, "adsync", "version",
         says="'--configuration-name'"),
    case("target-not-utf8", *R, "--target", BAD_TEXT, "adsync", "version", says="'--target'"),
    case("ca-file-and-no-cert-validation", "--host", "127.0.0.1", "--ca-file", "{demo}/adsync.yaml",
         "--no-cert-validation", "adsync", "version", says="--ca-file and --no-cert-validation exclude each other"),
    case("replay-and-record", *R, "--record", "{tmp}/r.yaml", "adsync", "version", says="exclude each other"),
    case("output-unknown", *R, "--output", "xml", "adsync", "version", says="'xml' is not one of"),
    # -- adsync ---------------------------------------------------------------------------------------------
    case("run-history-count-past-int32", *R, "adsync", "run-history", "--count", "3000000000",
         says="3000000000 is not in the range 1<=x<=2147483647"),
    case("run-history-count-zero", *R, "adsync", "run-history", "--count", "0", says="'--count'"),
    case("run-history-connector-id-not-a-guid", *R, "adsync", "run-history", "--connector-id", "connector-1",
         says="'connector-1' is not a GUID"),
    case("run-history-connector-id-not-utf8", *R, "adsync", "run-history", "--connector-id", BAD_TEXT,
         says="is not a GUID"),
    case("version-min-not-utf8", *R, "adsync", "version", "--min", BAD_TEXT, says="'--min'"),
    case("set-scheduler-interval-24-hours", *R, "adsync", "set-scheduler", "--interval", "24:00:00", "--dry-run",
         says="'24:00:00' is not a TimeSpan"),
    case("set-scheduler-interval-past-timespan-max", *R, "adsync", "set-scheduler", "--interval", "P99999999D",
         "--dry-run", says="longer than a .NET TimeSpan"),
    case("set-scheduler-interval-zero", *R, "adsync", "set-scheduler", "--interval", "00:00:00", "--dry-run",
         says="is not positive"),
    case("set-scheduler-purge-interval-words", *R, "adsync", "set-scheduler", "--purge-interval", "a week",
         "--dry-run", says="'--purge-interval'"),
    case("set-scheduler-maintenance-both", *R, "adsync", "set-scheduler", "--maintenance", "--no-maintenance",
         "--dry-run", says="--maintenance and --no-maintenance exclude each other"),
    case("set-scheduler-sync-cycle-both", *R, "adsync", "set-scheduler", "--no-sync-cycle-enabled",
         "--sync-cycle-enabled", "--dry-run", says="exclude each other"),
    case("set-scheduler-next-policy-unknown", *R, "adsync", "set-scheduler", "--next-policy", "Full", "--dry-run",
         says="'Full' is not one of"),
    case("sync-deadline-nan", *R, "adsync", "sync", "--wait", "--deadline", "nan", "--yes", says="not a finite"),
    case("sync-poll-inf", *R, "adsync", "sync", "--wait", "--poll", "inf", "--yes", says="not a finite"),
    case("sync-poll-zero", *R, "adsync", "sync", "--wait", "--poll", "0", "--yes", says="'--poll'"),
    case("sync-old-timeout-huge", *R, "adsync", "sync", "--wait", "--timeout", "1e12", "--yes", says="'--timeout'"),
    case("enable-deletion-threshold-past-int32", *R, "adsync", "enable-deletion-threshold", "--threshold",
         "2147483648", says="'--threshold'"),
    case("export-config-path-not-utf8", *R, "adsync", "export-config", "--path", BAD_TEXT, says="'--path'"),
    # -- exo ------------------------------------------------------------------------------------------------
    case("mailbox-get-identity-not-utf8", *R, "exo", "mailbox", "get", "--identity", BAD_TEXT,
         says="'--identity': the value is not valid text"),
    case("mailbox-get-identity-empty", *R, "exo", "mailbox", "get", "--identity", "",
         says="an identity (UPN, GUID or email address) is required"),
    case("mailbox-list-result-size-past-int32", *R, "exo", "mailbox", "list", "--result-size", "99999999999",
         says="neither Unlimited nor a number from 1 to 2147483647"),
    case("mailbox-list-result-size-zero", *R, "exo", "mailbox", "list", "--result-size", "0", says="'--result-size'"),
    case("mailbox-list-result-size-negative", *R, "exo", "mailbox", "list", "--result-size", "-5",
         says="'--result-size'"),
    case("mailbox-list-result-size-word", *R, "exo", "mailbox", "list", "--result-size", "all",
         says="'--result-size'"),
    case("mailbox-list-page-size-zero", *R, "exo", "mailbox", "list", "--page-size", "0", says="'--page-size'"),
    case("mailbox-list-cloud-managed-both", *R, "exo", "mailbox", "list", "--cloud-managed", "--not-cloud-managed",
         says="--cloud-managed and --not-cloud-managed exclude each other"),
    case("mailbox-list-filter-not-utf8", *R, "exo", "mailbox", "list", "--filter", BAD_TEXT, says="'--filter'"),
    case("cloud-managed-set-enable-and-disable", *R, "exo", "cloud-managed", "set", "--identity", "adele@example.com",
         "--enable", "--disable", "--dry-run", says="--enable and --disable exclude each other"),
    case("org-default-set-disable-and-enable", *R, "exo", "org-default", "set", "--disable", "--enable", "--dry-run",
         says="--enable and --disable exclude each other"),
    case("email-address-add-address-not-utf8", *R, "exo", "email-address", "add", "--identity", "adele@contoso.example",
         "--address", BAD_TEXT, "--dry-run", says="'--address'"),
    case("user-get-identity-blank", *R, "exo", "user", "get", "--identity", "   ", says="an identity"),
    case("exo-organization-not-utf8", *R, "exo", "--organization", BAD_TEXT, "mailbox", "list",
         says="'--organization'"),
    case("exo-via-unknown", *R, "exo", "--via", "graph", "mailbox", "list", says="'--via'"),
    case("exo-via-rest-with-jump-host-sign-in", *R, "exo", "--via", "rest", "--app-id", "x",
         "--certificate-thumbprint", "ab", "mailbox", "list", says="--via rest signs in with the Graph app's"),
    case("exo-via-rest-tenant-not-utf8", *R, "exo", "--via", "rest", "--organization", BAD_TEXT, "mailbox", "list",
         says="'--organization'"),
    case("rollout-batch-size-past-int32", *R, "exo", "rollout", "--filter", "x", "--journal", "{tmp}/j.jsonl",
         "--batch-size", "3000000000", "--dry-run", says="'--batch-size'"),
    case("rollout-pace-nan", *R, "exo", "rollout", "--filter", "x", "--journal", "{tmp}/j.jsonl", "--pace", "nan",
         "--dry-run", says="not a finite number"),
    case("rollout-retry-wait-inf", *R, "exo", "rollout", "--filter", "x", "--journal", "{tmp}/j.jsonl",
         "--retry-wait", "inf", "--dry-run", says="not a finite number"),
    # -- exchange -------------------------------------------------------------------------------------------
    case("via-jump-host-with-spaces", *R, "exchange", "--via-jump-host", "ex 01", "mailbox", "get", "--identity",
         "adele@contoso.example", says="'ex 01' is not a host name"),
    case("exchange-identity-not-utf8", *R, "exchange", "remote-mailbox", "get", "--identity", BAD_TEXT,
         says="'--identity'"),
    # -- cloudsync ------------------------------------------------------------------------------------------
    case("status-job-id-with-space", *R, "cloudsync", "status", "--job-id", "AD2AAD Provisioning",
         says="is not an id"),
    case("jobs-job-id-empty", *R, "cloudsync", "jobs", "--job-id", "", says="is not an id"),
    case("schema-job-id-with-slash", *R, "cloudsync", "schema", "--job-id", "x/../y", says="is not an id"),
    case("scope-job-id-not-utf8", *R, "cloudsync", "scope", "--job-id", BAD_TEXT, says="not valid text"),
    case("client-id-not-a-guid", *R, "cloudsync", "--client-id", "my-app", "jobs", says="'my-app' is not a GUID"),
    case("tenant-id-with-slash", *R, "cloudsync", "--tenant-id", "contoso/evil", "jobs", says="is not an id"),
    case("sign-in-timeout-nan", *R, "cloudsync", "--sign-in-timeout", "nan", "jobs", says="not a finite number"),
    case("set-tenant-id-not-a-guid", *R, "cloudsync", "set-tenant-id", "contoso", says="'contoso' is not a GUID"),
    case("connect-timeout-inf", *R, "cloudsync", "connect", "--timeout", "inf", says="not a finite number"),
    case("query-body-not-json", *R, "cloudsync", "query", *URI, "--method", "POST", "--body", "{bad", "--yes",
         says="'--body': not valid JSON"),
    case("query-body-empty", *R, "cloudsync", "query", *URI, "--method", "POST", "--body", "", "--yes",
         says="not valid JSON"),
    case("query-uri-not-a-url", *R, "cloudsync", "query", "--uri", "servicePrincipals", says="not an https:// URL"),
    case("query-uri-plain-http", *R, "cloudsync", "query", "--uri", "http://graph.microsoft.com/beta/x",
         says="not an https:// URL"),
    case("restart-deadline-nan", *R, "cloudsync", "restart", "--job-id", JOB, "--deadline", "nan", "--dry-run",
         says="not a finite number"),
    case("suspend-poll-negative", *R, "cloudsync", "suspend", "--job-id", JOB, "--poll", "-1", "--dry-run",
         says="'--poll'"),
    case("resume-job-id-with-hash", *R, "cloudsync", "resume", "--job-id", "a#b", "--dry-run", says="is not an id"),
    case("suspend-wait-for-unknown-code", *R, "cloudsync", "suspend", "--job-id", JOB, "--wait-for", "Stopped",
         "--yes", says="'Stopped' is not a job status code: one of NotConfigured, NotRun, Active, Paused, Quarantine"),
    case("resume-wait-for-empty", *R, "cloudsync", "resume", "--job-id", JOB, "--wait-for", "", "--yes",
         says="'' is not a job status code"),
    case("restart-wait-for-not-utf8", *R, "cloudsync", "restart", "--job-id", JOB, "--wait-for", BAD_TEXT,
         "--yes", says="is not a job status code"),
    case("deletion-threshold-set-enable-and-disable", *R, "cloudsync", "deletion-threshold", "set", "--job-id", JOB,
         "--enable", "--disable", "--dry-run", says="--enable and --disable exclude each other"),
    case("deletion-threshold-set-value-past-int32", *R, "cloudsync", "deletion-threshold", "set", "--job-id", JOB,
         "--value", "3000000000", "--dry-run", says="'--value'"),
    case("export-logs-tracing-mins-past-int32", *R, "cloudsync", "export-logs", "--tracing-mins", "9999999999",
         says="'--tracing-mins'"),
    case("remove-group-members-group-id-not-a-guid", *R, "cloudsync", "remove-group-members", "--group-id", "admins",
         says="'admins' is not a GUID"),
    case("disable-dirsync-deletion-prevention-tenant-not-a-guid", *R, "cloudsync",
         "disable-dirsync-deletion-prevention", "--tenant-id", "contoso", "--dry-run", says="is not a GUID"),
    case("provision-on-demand-rule-id-with-question-mark", *R, "cloudsync", "provision-on-demand", "--job-id", JOB,
         "--dn", "CN=Adele,DC=contoso,DC=example", "--rule-id", "r?x=1", "--dry-run", says="is not an id"),
    case("provision-on-demand-dn-not-utf8", *R, "cloudsync", "provision-on-demand", "--job-id", JOB, "--dn",
         BAD_TEXT, "--dry-run", says="'--dn'"),
    # -- runbooks -------------------------------------------------------------------------------------------
    case("migration-max-age-huge", *R, "check", "cloud-sync-migration", "--max-age", "99999999999",
         says="'--max-age'"),
    case("migration-max-age-zero", *R, "check", "cloud-sync-migration", "--max-age", "0", says="'--max-age'"),
    case("migration-job-id-with-space", *R, "check", "cloud-sync-migration", "--job-id", "a b", says="is not an id"),
    case("migration-ou-empty", *R, "check", "cloud-sync-migration", "--ou", " ", says="'--ou': must not be empty"),
    case("provision-on-demand-dn-empty", *R, "cloudsync", "provision-on-demand", "--job-id", JOB, "--dn", "",
         "--dry-run", says="'--dn': must not be empty"),
    case("repair-license-group-empty", *R, "repair", "duplicate-mailbox", "adele@contoso.example",
         "--license-group", "", says="'--license-group': must not be empty"),
    case("migration-agent-minimum-bad", *R, "check", "cloud-sync-migration", "--agent-minimum", "1.x",
         says="not a version"),
    case("readiness-as-of-month-13", *R, "check", "cloud-managed-readiness", "--as-of", "2026-13-01",
         says="'--as-of'"),
    case("readiness-min-not-utf8", *R, "check", "cloud-managed-readiness", "--cloud-managed-min", BAD_TEXT,
         says="'--cloud-managed-min'"),
    case("diagnose-duplicate-user-not-utf8", *R, "diagnose", "duplicate-mailbox", BAD_TEXT, says="'USER'"),
    case("diagnose-routing-tenant-not-utf8", *R, "diagnose", "routing-domain", "--tenant", BAD_TEXT,
         says="'--tenant'"),
    case("repair-deadline-nan", *R, "repair", "duplicate-mailbox", "adele@contoso.example", "--license-group",
         "E5", "--deadline", "nan", says="not a finite number"),
    case("repair-poll-zero", *R, "repair", "duplicate-mailbox", "adele@contoso.example", "--license-group", "E5",
         "--poll", "0", says="'--poll'"),
    # -- migrate ----------------------------------------------------------------------------------------------
    case("migrate-until-9", *R, "migrate", "cloud-sync", "--until", "9", says="'--until'"),
    case("migrate-mapping-without-equals", *R, "migrate", "cloud-sync", "--mapping", "department",
         says="is not TARGET=EXPRESSION"),
    case("migrate-test-user-empty", *R, "migrate", "cloud-sync", "--test-user", "", says="'--test-user'"),
    case("migrate-six-test-users", *R, "migrate", "cloud-sync", "--dry-run",
         *(a for n in range(6) for a in ("--test-user", f"user{n}@contoso.example")), says="at most 5 test users"),
    case("migrate-deadline-zero", *R, "migrate", "cloud-sync", "--deadline", "0", says="'--deadline'"),
    case("migrate-connect-after-other", *R, "migrate", "cloud-sync", "--connect-after", "uninstalled",
         says="'--connect-after'"),
    case("migrate-rollback-with-ou", *R, "migrate", "cloud-sync", "--rollback", "--ou", "OU=Sales,DC=x",
         says="--rollback takes only --domain and --journal"),
    case("migrate-domain-not-utf8", *R, "migrate", "cloud-sync", "--domain", BAD_TEXT, says="'--domain'"),
    # -- config, selftest, serve-replay ---------------------------------------------------------------------
    case("config-check-timeout-inf", "config", "check", "--timeout", "inf", says="not a finite number"),
    case("config-check-target-not-utf8", "config", "check", BAD_TEXT, says="not valid text"),
    case("selftest-target-not-utf8", "selftest", "--target", BAD_TEXT, says="'--target'"),
    case("serve-replay-bind-not-an-address", "serve-replay", str(DEMO), "--bind", "any address!",
         says="'--bind': 'any address!' is not a host name"),
    case("serve-replay-port-past-65535", "serve-replay", str(DEMO), "--port", "65536", says="'--port'"),
    case("serve-replay-user-not-utf8", "serve-replay", str(DEMO), "--user", BAD_TEXT, says="'--user'"),
]  # fmt: skip


def test_there_are_at_least_60_bad_inputs_across_every_command_group() -> None:
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)
    groups = {a for c in CASES for a in c.values[0].args if a in root.commands}
    assert groups == set(root.commands)  # every command group has its bad inputs


@pytest.mark.parametrize("bad", CASES)
def test_bad_input_is_exit_2_one_line_nothing_sent_nothing_written(
    bad: Case, cli: Any, mocker: MockerFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from psbridge.graph.client import GraphClient
    from psbridge.transport.psrp import _CountingWire

    wsman = mocker.spy(_CountingWire, "send")
    graph = mocker.spy(GraphClient, "_call")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PSBRIDGE_PASSWORD", "not-sent-1")

    result = cli(*(a.replace("{tmp}", str(tmp_path)).replace("{demo}", str(DEMO)) for a in bad.args))

    assert result.code != ExitCode.INTERNAL, result
    line = result.one_line_error(2)
    assert bad.says in line
    assert wsman.call_count == 0 and graph.call_count == 0
    assert list(tmp_path.iterdir()) == []


# -- the real bytes, in a real process -------------------------------------------------------------------------


@pytest.mark.subprocess
def test_non_utf8_argv_bytes_in_a_real_process(tmp_path: Path) -> None:
    argv = [sys.executable.encode(), b"-m", b"psbridge.cli.main", b"--replay", os.fsencode(DEMO),
            b"exo", b"mailbox", b"get", b"--identity", b"\xff\xfeabc"]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, timeout=60, cwd=tmp_path, env={**os.environ, "LC_ALL": "C.UTF-8"})
    assert proc.returncode == 2, proc
    assert proc.stdout == b""
    assert [error_line(json.loads(line), 2) for line in proc.stderr.decode().splitlines()] == [
        "psbridge: error: Invalid value for '--identity': the value is not valid text: it holds bytes that are not "
        "UTF-8 (check the terminal's or the script's encoding)"
    ]
    assert list(tmp_path.iterdir()) == []


# -- output errors: their own codes, one line at most --------------------------------------------------------


def _run_to(stdout: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "psbridge.cli.main", *args], stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=60
    )


OUTPUTS = [
    pytest.param(("--replay", str(DEMO), "-o", "json", "adsync", "version"), id="json"),
    pytest.param(("--replay", str(DEMO), "adsync", "run-history"), id="table"),
    pytest.param(("--help",), id="help"),
]


@pytest.mark.subprocess
@pytest.mark.parametrize("args", OUTPUTS)
def test_a_closed_pipe_ends_quietly_with_141(args: tuple[str, ...]) -> None:
    read, write = os.pipe()
    os.close(read)  # the reader is gone before psbridge writes: `psbridge ... | head -0`, deterministically
    try:
        proc = _run_to(write, *args)
    finally:
        os.close(write)
    assert (proc.returncode, proc.stderr) == (ExitCode.BROKEN_PIPE, "")


@pytest.mark.subprocess
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("args", OUTPUTS)
def test_a_full_device_is_one_line_and_74(args: tuple[str, ...]) -> None:
    with open("/dev/full", "w") as full:
        proc = _run_to(full.fileno(), *args)
    assert proc.returncode == ExitCode.LOCAL_WRITE
    assert [error_line(json.loads(line), 74) for line in proc.stderr.splitlines()] == [
        "psbridge: error: cannot write the output: No space left on device"
    ]


class _Failing:
    """A stdout whose every write fails as a full disk would."""

    encoding = "utf-8"

    def write(self, text: str) -> int:
        raise OSError(28, "No space left on device")

    def flush(self) -> None:
        pass


def test_a_full_disk_in_process_is_74_not_70(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdout", _Failing())
    result = cli("--replay", DEMO, "-o", "json", "adsync", "version")
    assert result.code == ExitCode.LOCAL_WRITE
    [event] = result.events
    assert error_line(event, 74) == "psbridge: error: cannot write the output: No space left on device"


def test_an_os_error_that_is_not_stdout_stays_an_internal_error(cli: Any, mocker: MockerFixture) -> None:
    """Only a failed write of stdout is an output error: the same errno elsewhere is still a bug (70)."""
    mocker.patch("psbridge.cli.adsync.emit", side_effect=OSError(28, "No space left on device"))
    result = cli("--replay", DEMO, "adsync", "scheduler")
    assert result.code == ExitCode.INTERNAL


# -- the library, for callers that are not the CLI -----------------------------------------------------------


@pytest.mark.parametrize("number", [2**31, -(2**31) - 1, [1, 2**40]])
def test_an_integer_past_int32_is_refused_before_it_is_sent(number: Any, mocker: MockerFixture) -> None:
    """Python ints travel as Int32: a larger one is an InputError (exit 2) when the command is built."""
    from psbridge.adsync import get_run_profile_result
    from psbridge.command import Command
    from psbridge.errors import InputError
    from psbridge.session import Session
    from psbridge.transport.mock import MockTransport

    with pytest.raises(InputError, match="fit an Int32"):
        Command.cmdlet("Get-Thing", {"Count": number})
    handler = mocker.Mock()
    with pytest.raises(InputError, match="-NumberRequested 2147483648 is out of range"):
        get_run_profile_result(Session(transport=MockTransport(handler)), number_requested=2**31)
    handler.assert_not_called()
