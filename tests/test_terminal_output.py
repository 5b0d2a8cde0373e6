"""The CLI's stderr (psbridge.cli.terminal): off a terminal every line is one JSON object; `--log-format text`
gives the familiar `psbridge: error:` lines; a warning that repeats is written once and counted at the end; at a
terminal a live progress bar shares stderr with the log lines, which print above it; NO_COLOR is honoured.

The rollouts run in process against the scenario's simulated tenant, whose every Set-Mailbox answers the same
micro-delay warning (https://support.microsoft.com/kb/2881759).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import Result
from helpers import DEMO, REPO
from pytest_mock import MockerFixture
from rich.console import Console
from rollout_scenario import scenario, tenant_session
from simulated import EXO_FAULTS

MICRO_DELAY = EXO_FAULTS["micro-delay"]["message"]
BATCH_LABEL = "script exchange/Set-CloudManagedBatch.ps1"
IDS = [scenario.identity(n) for n in range(1, 13)]
CASES = REPO / "recorded_sessions" / "cases"
CONFIG = '[targets.connect]\nhost = "connect01.contoso.example"\n'


class _Throttled(scenario.Tenant):
    """Twelve mailboxes to switch; every Set-Mailbox answers the same micro-delay warning."""

    def __init__(self) -> None:
        super().__init__(clean=True, count=len(IDS))
        self.throttle = lambda calls, pace_ms: MICRO_DELAY


@pytest.fixture
def tenant(mocker: MockerFixture) -> _Throttled:
    host = _Throttled()
    mocker.patch("psbridge.cli.exo_rollout.exo_backend", return_value=tenant_session(host)[0])
    return host


def rollout(cli: Callable[..., Result], tmp_path: Path, *args: str) -> Result:
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(IDS) + "\n", encoding="utf-8")
    return cli("--replay", DEMO, *args, "-o", "json", "exo", "rollout", "--identities", ids, "--journal",
               tmp_path / "j.jsonl", "--batch-size", "5", "--retry-wait", "0", "--yes")  # fmt: skip


@pytest.fixture
def at_terminal(mocker: MockerFixture) -> io.StringIO:
    """stderr is a terminal (100 columns): the live bar draws into the returned buffer."""
    screen = io.StringIO()
    mocker.patch("psbridge.cli.terminal._isatty", return_value=True)
    mocker.patch(
        "psbridge.cli.terminal._console",
        side_effect=lambda: Console(file=screen, force_terminal=True, width=100, soft_wrap=True, highlight=False),
    )
    return screen


# -- off a terminal: JSON lines only ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "event"),
    [
        pytest.param(["--bogus"], 2, "psbridge.error", id="usage-error"),
        pytest.param(["--replay", DEMO, "adsync", "run-history", "--count", "3000000000"], 2, "psbridge.error",
                     id="bad-input"),
        pytest.param(["--replay", CASES / "exo-not-found.yaml", "exo", "mailbox", "get", "--identity",
                      "nobody@contoso.example"], 4, "psbridge.error", id="remote-error"),
        pytest.param(["--replay", DEMO, "-vv", "adsync", "version", "--min", "x"], 2, "psbridge.error",
                     id="error-with-debug-events"),
    ],
)  # fmt: skip
def test_off_a_terminal_an_error_is_one_json_line(
    cli: Callable[..., Result], args: list[Any], code: int, event: str
) -> None:
    result = cli(*args)

    assert result.code == code, result
    events = result.events  # every stderr line parses as one JSON object with event, level and timestamp
    errors = [e for e in events if e["level"] == "error"]
    assert len(errors) == 1 and errors[0]["event"] == event and errors[0]["exit_code"] == code
    if "-vv" in args:  # debug events before it, the traceback (one JSON line too) after it
        assert events[-1]["event"] == "psbridge.traceback" and "Traceback" in events[-1]["traceback"]
    else:
        assert events == errors


def test_off_a_terminal_a_warning_is_a_json_event(
    cli: Callable[..., Result], write_config: Callable[..., Path]
) -> None:
    config = write_config(CONFIG, mode=0o664)
    result = cli("--config", config, "config", "show")

    assert result.code == 0, result
    [warning] = result.events
    assert (warning["event"], warning["level"]) == ("psbridge.warning", "warning")
    assert warning["message"].startswith(f"{config} can be read or changed by other users")


def test_off_a_terminal_progress_and_remote_warnings_are_json_events(
    cli: Callable[..., Result], tmp_path: Path, tenant: _Throttled
) -> None:
    result = rollout(cli, tmp_path)

    assert result.code == 0, result
    events = result.events
    progress = [e for e in events if e["event"] == "psbridge.exo.rollout.progress"]
    assert [e["done"] for e in progress] == [5, 10, 12] and {e["total"] for e in progress} == {12}
    assert {e["level"] for e in progress} == {"info"}


def test_under_nagios_the_status_line_stays_on_stdout_and_the_error_says_exit_3(cli: Callable[..., Result]) -> None:
    result = cli("--replay", DEMO, "-o", "nagios", "adsync", "version", "--min", "x")

    assert result.code == 3, result
    assert result.out == "ADSYNC-VERSION UNKNOWN: not a version: 'x' (expected e.g. 2.5.79.0)\n"
    [error] = result.events
    assert (error["event"], error["exit_code"]) == ("psbridge.error", 3)


# -- --log-format text (and the environment) -----------------------------------------------------------------------


def test_text_gives_the_familiar_lines(
    cli: Callable[..., Result], write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = cli("--log-format", "text", "--replay", DEMO, "adsync", "run-history", "--count", "3000000000")
    assert bad.code == 2
    [line] = bad.err_lines
    assert line.startswith("psbridge: error: ") and "3000000000" in line

    config = write_config(CONFIG, mode=0o664)
    warned = cli("--config", config, "--log-format=text", "config", "show")
    assert warned.err_lines == [
        f"psbridge: warning: {config} can be read or changed by other users (mode 0664): run chmod 600 {config}"
    ]

    monkeypatch.setenv("PSBRIDGE_LOG_FORMAT", "text")
    assert cli("--bogus").err.startswith("psbridge: error: No such option")
    assert cli("--log-format", "json", "--bogus").events[0]["event"] == "psbridge.error"  # the flag wins


def test_an_unknown_log_format_is_a_usage_error_in_one_line(cli: Callable[..., Result]) -> None:
    result = cli("--log-format", "yaml", "--replay", DEMO, "adsync", "version")
    line = result.one_line_error(2)
    assert "'--log-format'" in line and "yaml" in line


# -- repeated warnings ---------------------------------------------------------------------------------------------


def test_a_repeated_warning_is_written_once_and_counted_at_the_end(
    cli: Callable[..., Result], tmp_path: Path, tenant: _Throttled
) -> None:
    result = rollout(cli, tmp_path)

    assert result.code == 0, result
    events = result.events
    warnings = [e for e in events if e["event"] == "psbridge.remote.warning"]
    assert len(warnings) == 1
    assert (warnings[0]["command"], warnings[0]["message"]) == (BATCH_LABEL, MICRO_DELAY)  # the name, not the batch
    [summary] = [e for e in events if e["event"] == "psbridge.repeated"]
    assert tenant.set_calls == len(IDS)  # one warning per Set-Mailbox
    assert (summary["of"], summary["message"], summary["count"], summary["level"]) == (
        "psbridge.remote.warning", MICRO_DELAY, len(IDS) - 1, "warning"
    )  # fmt: skip
    assert events[-1] is summary  # at the end of the command, after the last progress event


def test_in_text_a_repeated_warning_is_one_line_then_its_count(
    cli: Callable[..., Result], tmp_path: Path, tenant: _Throttled
) -> None:
    result = rollout(cli, tmp_path, "--log-format", "text")

    assert result.code == 0, result
    lines = [line for line in result.err_lines if MICRO_DELAY in line]
    assert lines == [
        f"psbridge: warning: {MICRO_DELAY} (psbridge.remote.warning, command={BATCH_LABEL}, target=jump.example)",
        f"psbridge: warning: {MICRO_DELAY} (psbridge.remote.warning) repeated {len(IDS) - 1} more times",
    ]


def test_warnings_that_differ_are_each_written(
    cli: Callable[..., Result], tmp_path: Path, mocker: MockerFixture
) -> None:
    host = _Throttled()
    host.throttle = lambda calls, pace_ms: f"Micro delay applied. Actual delayed: {calls} msecs, Enforced: False"
    mocker.patch("psbridge.cli.exo_rollout.exo_backend", return_value=tenant_session(host)[0])

    events = rollout(cli, tmp_path).events

    assert len([e for e in events if e["event"] == "psbridge.remote.warning"]) == len(IDS)
    assert not [e for e in events if e["event"] == "psbridge.repeated"]


# -- at a terminal ---------------------------------------------------------------------------------------------------

_CSI = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])")


def screen_lines(raw: str) -> list[str]:
    """What a terminal shows after `raw`: carriage returns, line feeds, erase-line and cursor-up applied, colours
    and cursor visibility dropped."""
    lines, row, col = [""], 0, 0
    pos = 0
    while pos < len(raw):
        match = _CSI.match(raw, pos)
        if match:
            params, op = match.groups()
            if op == "K":
                lines[row] = ""
            elif op == "A":
                row = max(0, row - int(params or 1))
            pos = match.end()
            continue
        char = raw[pos]
        pos += 1
        if char == "\r":
            col = 0
        elif char == "\n":
            row, col = row + 1, 0
            lines.extend([""] * (row + 1 - len(lines)))
        else:
            line = lines[row].ljust(col)
            lines[row] = line[:col] + char + line[col + 1 :]
            col += 1
    return [line.rstrip() for line in lines if line.strip()]


def test_at_a_terminal_log_lines_print_above_the_live_bar(
    cli: Callable[..., Result], tmp_path: Path, tenant: _Throttled, at_terminal: io.StringIO
) -> None:
    result = rollout(cli, tmp_path)

    assert result.code == 0, result
    shown = screen_lines(at_terminal.getvalue())
    bars = [line for line in shown if line.startswith("rollout ")]
    warnings = [line for line in shown if line.startswith("psbridge: warning: ")]
    assert warnings == [f"psbridge: warning: {MICRO_DELAY} (psbridge.remote.warning, command={BATCH_LABEL}, "
                        "target=jump.example)"]  # fmt: skip
    assert len(bars) == 1 and "12/12" in bars[0] and "━" in bars[0]  # one bar, redrawn in place, at the end done
    assert shown[-1] == bars[0] and shown.index(warnings[0]) < shown.index(bars[0])  # the line above the bar
    assert "\x1b[2K" in at_terminal.getvalue()  # the bar was erased to print the line, then drawn again
    assert "repeated 11 more times" in result.err  # after the bar: the summary at the end of the command


@pytest.mark.parametrize("no_color", [False, True])
def test_colour_at_a_terminal_unless_no_color(
    cli: Callable[..., Result], at_terminal: io.StringIO, monkeypatch: pytest.MonkeyPatch, no_color: bool
) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    result = cli("--replay", DEMO, "-v", "-o", "json", "adsync", "version")

    assert result.code == 0, result
    assert "psbridge.invoke" in result.err and not result.err.startswith("{")  # text at a terminal
    assert ("\x1b[" in result.err) is not no_color


def test_off_a_terminal_ctrl_c_is_one_json_line(cli: Callable[..., Result], mocker: MockerFixture) -> None:
    mocker.patch("psbridge.adsync.check_version", side_effect=KeyboardInterrupt)
    result = cli("--replay", DEMO, "adsync", "version")

    assert result.code == 130, result
    assert len(result.err_lines) == 1  # no empty line before it (click writes one for Ctrl+C)
    [event] = result.events
    assert (event["event"], event["level"], event["exit_code"]) == ("psbridge.interrupted", "error", 130)


@pytest.mark.parametrize("verbose", [False, True])
def test_library_loggers_that_silence_themselves_are_shown_only_with_v(
    verbose: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    """pypsrp and urllib3 add a NullHandler and log, at ERROR, a timeout psbridge reports itself as one line: shown
    only with -v. A logger without a handler of its own (msal's) was written by Python's last resort: still shown."""
    import json
    import logging

    from psbridge.cli import terminal

    quiet, loud = logging.getLogger("psbridge_test.quiet"), logging.getLogger("psbridge_test.loud")
    quiet.addHandler(logging.NullHandler())
    terminal.start(["--log-format", "json"])
    terminal.capture_logging(verbose=verbose)
    try:
        quiet.error("ReadTimeout during WSMan request - attempt %d", 0)
        loud.warning("a token cache could not be read")
    finally:
        terminal.finish()
        quiet.handlers.clear()
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    expected = ["psbridge_test.quiet", "psbridge_test.loud"] if verbose else ["psbridge_test.loud"]
    assert [event["event"] for event in events] == expected
