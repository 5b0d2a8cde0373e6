"""Monitoring outputs (psbridge.cli.monitoring): `--output nagios`, `--output prometheus`, `--textfile PATH`.

The Nagios line is read by the plugin guidelines (https://nagios-plugins.org/doc/guidelines.html): `SERVICE
STATUS: text | 'label'=value[UOM];[warn];[crit];[min];[max] ...`; the exposition by prometheus_client's parser.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import error_line
from helpers import DEMO
from prometheus_client.parser import text_string_to_metric_families
from pytest_mock import MockerFixture

from psbridge.cli.monitoring import Measure, _perfdatum
from psbridge.errors import ConnectError
from psbridge.targets import Targets

AS_OF = ("--as-of", "2026-11-01")  # the readiness verdict depends on the date Connect's end of support is judged on
READINESS = ("check", "cloud-managed-readiness", *AS_OF)
STATUS_LINE = re.compile(
    r"^(?P<service>[A-Z-]+) (?P<state>OK|WARNING|CRITICAL|UNKNOWN): (?P<text>[^|]+)(?: \| (?P<perf>.*))?$"
)
# One performance datum: a label (quoted when it holds a space, `=` or a quote), value[UOM], then ;warn;crit;min;max.
PERFDATUM = re.compile(
    r"^(?P<label>'(?:[^']|'')+'|[^' =]+)=(?P<value>-?[0-9.]+)(?P<uom>s|us|ms|%|B|KB|MB|TB|c)?(?:;[^;]*){0,4}$"
)

Run = Callable[..., Any]


def perfdata(text: str) -> dict[str, float]:
    """The performance data of a status line, each datum checked against the guidelines' syntax."""
    found: dict[str, float] = {}
    for datum in text.split(" "):
        match = PERFDATUM.match(datum)
        assert match, datum
        found[match["label"].strip("'").replace("''", "'")] = float(match["value"])
    return found


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition, by name and labels (the parser raises on text that is not valid)."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    found = [v for (n, ls), v in samples(text).items() if n == name and set(labels.items()) <= ls]
    assert len(found) == 1, (name, labels, found)
    return found[0]


@pytest.fixture
def sessions(mocker: MockerFixture) -> Any:
    """A spy on Targets.connect, which opens every session: called means something was sent."""
    return mocker.spy(Targets, "connect")


# -- Nagios -------------------------------------------------------------------------------------------------


def test_readiness_under_nagios_is_one_status_line_with_perfdata_and_exits_warning(cli: Run) -> None:
    result = cli("--replay", DEMO, "--output", "nagios", *READINESS)

    assert result.code == 1, result
    head, *long_output = result.out.splitlines()
    line = STATUS_LINE.match(head)
    assert line, head
    assert (line["service"], line["state"]) == ("CHECK-CLOUD-MANAGED-READINESS", "WARNING")
    assert "synced-mailboxes" in line["text"]
    perf = perfdata(line["perf"])
    assert perf["stragglers"] == 2  # alex and sales are not cloud-managed yet
    assert perf["days_to_end_of_support"] == 93  # 2.5.190.0: 02 Feb 2027, from 01 Nov 2026
    assert (perf["pass"], perf["warn"], perf["fail"], perf["skip"]) == (3, 1, 0, 1)
    assert len(long_output) == 5  # one line per check, none with a `|` that would start more perfdata
    assert all("|" not in extra for extra in long_output)
    assert long_output[3].startswith("WARN synced-mailboxes")


@pytest.mark.parametrize(
    ("args", "code", "state"),
    [
        pytest.param(("adsync", "version"), 0, "OK", id="pass-is-ok"),
        pytest.param(READINESS, 1, "WARNING", id="warn-is-warning"),
        pytest.param(("cloudsync", "status"), 2, "CRITICAL", id="quarantine-is-critical"),
    ],
)
def test_nagios_exit_codes_follow_the_plugin_convention(cli: Run, args: tuple[str, ...], code: int, state: str) -> None:
    result = cli("--replay", DEMO, "-o", "nagios", *args)

    assert result.code == code, result
    line = STATUS_LINE.match(result.out.splitlines()[0])
    assert line and line["state"] == state, result.out


def test_cloudsync_status_under_nagios_counts_quarantined_jobs(cli: Run) -> None:
    result = cli("--replay", DEMO, "-o", "nagios", "cloudsync", "status")

    line = STATUS_LINE.match(result.out.splitlines()[0])
    assert line, result.out
    perf = perfdata(line["perf"])
    assert (perf["quarantined_jobs"], perf["jobs"]) == (1, 2)
    assert "IngestionInterrupted" in line["text"]


@pytest.mark.parametrize(
    ("args", "plain_code"),
    [
        pytest.param(("adsync", "version", "--min", "x"), 2, id="bad-input"),
        pytest.param(("--port", "abc", "adsync", "version"), 2, id="bad-global-option"),
        pytest.param(("adsync", "scheduler"), 0, id="command-without-monitoring-output"),
        pytest.param(("adsync", "version", "--no-such-option"), 2, id="usage"),
    ],
)
def test_every_error_under_nagios_is_one_unknown_line_and_exit_3(
    cli: Run, sessions: Any, args: tuple[str, ...], plain_code: int
) -> None:
    result = cli("--replay", DEMO, "-o", "nagios", *args)

    assert result.code == 3, result
    assert len(result.out.splitlines()) == 1, result.out
    line = STATUS_LINE.match(result.out.rstrip("\n"))
    assert line and line["state"] == "UNKNOWN" and line["perf"] is None, result.out
    assert len(result.err.splitlines()) == 1, result.err  # the usual error line, on stderr
    sessions.assert_not_called()  # refused before anything is sent

    assert cli("--replay", DEMO, *args).code == plain_code  # the same command line without nagios: its usual code


@pytest.mark.parametrize(
    ("error", "plain_code"),
    [
        pytest.param(ConnectError("cannot connect to dc01:5986: connection refused"), 3, id="unreachable"),
        pytest.param(RuntimeError("boom"), 70, id="internal-error"),
    ],
)
def test_an_unreachable_target_or_a_bug_is_unknown_under_nagios(
    cli: Run, mocker: MockerFixture, error: Exception, plain_code: int
) -> None:
    mocker.patch.object(Targets, "connect", side_effect=error)

    result = cli("--replay", DEMO, "-o", "nagios", "adsync", "version")

    assert result.code == 3, result
    assert result.out.startswith("ADSYNC-VERSION UNKNOWN: ") and str(error) in result.out
    assert len(result.out.splitlines()) == 1
    assert cli("--replay", DEMO, "adsync", "version").code == plain_code


def test_a_perfdata_label_with_a_space_or_quote_is_quoted() -> None:
    assert _perfdatum(Measure("plain", 2, "x")) == "plain=2;;;0"
    assert _perfdatum(Measure("two words", 1.5, "x", uom="s", crit="0")) == "'two words'=1.5s;;0;0"
    assert _perfdatum(Measure("it's", -3, "x", minimum=None)) == "'it''s'=-3"


# -- Prometheus ------------------------------------------------------------------------------------------------


def test_readiness_under_prometheus_prints_exposition_a_parser_reads(cli: Run) -> None:
    result = cli("--replay", DEMO, "--output", "prometheus", *READINESS)

    assert result.code == 1, result  # a runbook's own exit code: 1, a check warns
    text, command = result.out, "check cloud-managed-readiness"
    assert value(text, "psbridge_run_success", command=command) == 1
    assert value(text, "psbridge_status", command=command) == 1  # WARNING
    assert value(text, "psbridge_run_duration_seconds", command=command) > 0
    assert value(text, "psbridge_last_success_timestamp_seconds", command=command) > 1.7e9
    assert value(text, "psbridge_stragglers", command=command) == 2
    assert value(text, "psbridge_days_to_end_of_support", command=command) == 93
    assert value(text, "psbridge_checks", status="warn") == 1
    assert value(text, "psbridge_check_status", check="synced-mailboxes", status="warn") == 1
    assert value(text, "psbridge_check_status", check="synced-mailboxes", status="pass") == 0
    assert value(text, "psbridge_check_status", check="cloud-sync-agent", status="skip", target="") == 1


def test_cloudsync_status_under_prometheus_keeps_its_exit_code(cli: Run) -> None:
    result = cli("--replay", DEMO, "-o", "prometheus", "cloudsync", "status")

    assert result.code == 1, result  # as documented for cloudsync status: a job is in quarantine
    assert value(result.out, "psbridge_quarantined_jobs") == 1
    assert value(result.out, "psbridge_status") == 2


def test_a_command_without_monitoring_outputs_refuses_prometheus_in_one_line(cli: Run, sessions: Any) -> None:
    result = cli("--replay", DEMO, "-o", "prometheus", "adsync", "scheduler")

    assert result.code == 2, result
    assert [error_line(e, 2) for e in result.events] == [
        "psbridge: error: --output prometheus is offered by check, diagnose, repair, selftest, cloudsync status, "
        "adsync version, not by adsync scheduler"
    ]
    assert value(result.out, "psbridge_run_success", command="adsync scheduler") == 0
    sessions.assert_not_called()


# -- --textfile ------------------------------------------------------------------------------------------------


def test_textfile_is_written_whole_and_readable_by_the_collector(cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "psbridge_readiness.prom"

    result = cli("--replay", DEMO, "--textfile", path, *READINESS)

    assert result.code == 1, result
    assert result.out.startswith("cloud-managed-readiness")  # the table, as without --textfile
    assert value(path.read_text(encoding="utf-8"), "psbridge_stragglers") == 2
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


def test_a_textfile_that_cannot_be_replaced_is_left_as_it_was(cli: Run, tmp_path: Path, mocker: MockerFixture) -> None:
    path = tmp_path / "psbridge.prom"
    path.write_text("# the previous run's\n", encoding="utf-8")
    mocker.patch("psbridge.cli.monitoring.os.replace", side_effect=OSError(28, "No space left on device"))

    result = cli("--replay", DEMO, "--textfile", path, "adsync", "version")

    assert result.code == 74, result
    assert error_line(result.events[0], 74) == f"psbridge: error: cannot write textfile {path}: No space left on device"
    assert path.read_text(encoding="utf-8") == "# the previous run's\n"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_failed_run_says_so_and_carries_the_last_success_over(cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "psbridge.prom"
    assert cli("--replay", DEMO, "--textfile", path, "adsync", "version").code == 0
    succeeded = value(path.read_text(encoding="utf-8"), "psbridge_last_success_timestamp_seconds")

    result = cli("--replay", DEMO, "--textfile", path, "adsync", "version", "--min", "x")

    assert result.code == 2, result
    text = path.read_text(encoding="utf-8")
    assert value(text, "psbridge_run_success", command="adsync version") == 0
    assert value(text, "psbridge_status", command="adsync version") == 3
    assert value(text, "psbridge_last_success_timestamp_seconds", command="adsync version") == succeeded


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_textfile_that_is_not_a_regular_file_is_refused_before_anything_is_sent(
    cli: Run, tmp_path: Path, sessions: Any
) -> None:
    fifo = tmp_path / "psbridge.prom"
    os.mkfifo(fifo)

    result = cli("--replay", DEMO, "--textfile", fifo, "adsync", "version")

    assert result.code == 2, result
    [event] = result.events
    assert error_line(event, 2) == f"psbridge: error: textfile {fifo} is not a regular file (a FIFO)"
    sessions.assert_not_called()


@pytest.mark.parametrize(
    "given",
    [("-o", "nagios"), ("--output", "nagios"), ("--output=nagios",), ("-onagios",)],
    ids=["short", "long", "equals", "joined"],
)
def test_an_error_finds_nagios_however_the_option_is_spelt(cli: Run, given: tuple[str, ...]) -> None:
    result = cli("--replay", DEMO, *given, "adsync", "version", "--min", "x")

    assert (result.code, result.out) == (3, "ADSYNC-VERSION UNKNOWN: not a version: 'x' (expected e.g. 2.5.79.0)\n")
