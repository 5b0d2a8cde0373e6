"""The `psbridge` command line contract: output, exit codes, one-line errors, logging, lazy imports.

Most tests call `psbridge.cli.main.main(argv)` in-process (fast, captured with capsys). Tests where the
process matters (which modules get imported, stdin/stderr not being a TTY, the environment) run the CLI
in a subprocess. Every recording a test needs is either the demo one under `recorded_sessions/demo` or
written to `tmp_path`.
"""

from __future__ import annotations

import copy
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_helpers import Result, error_line

from psbridge import __version__
from psbridge.cli import main as cli_main
from psbridge.errors import ExitCode, InputError, LocalWriteError, RemoteCommandError, ReplayError, TransportError

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
MISSING_SCRIPT = "adsync/Get-GlobalParameters.ps1"


# -- fixtures and helpers -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def repo_root() -> Path:
    root = Path(__file__).resolve().parents[1]
    assert (root / "pyproject.toml").is_file(), root
    return root


@pytest.fixture(scope="session")
def demo(repo_root: Path) -> Path:
    path = repo_root / "recorded_sessions" / "demo"
    assert (path / "adsync.yaml").is_file()
    return path


@pytest.fixture(scope="session")
def demo_data(demo: Path) -> dict[str, Any]:
    data = yaml.safe_load((demo / "adsync.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSBRIDGE_")}
    env.update(extra)
    return env


def run_process(repo_root: Path, *args: str | os.PathLike[str], env: dict[str, str] | None = None) -> Result:
    """The CLI in its own process, with stdin from /dev/null and stdout/stderr as pipes (not TTYs)."""
    proc = subprocess.run(
        [sys.executable, "-m", "psbridge.cli.main", *(os.fspath(a) for a in args)],
        cwd=repo_root,
        env=clean_env() if env is None else env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def assert_one_line_error(result: Result, code: int = 2) -> str:
    """The failure contract: the exit code, one line on stderr (off a terminal, a `psbridge.error` JSON event),
    no traceback. Returns the line as `--log-format text` writes it."""
    assert result.code == code, result
    assert "Traceback" not in result.err
    assert len(result.err_lines) == 1, result.err
    return error_line(result.events[0], code)


def snake_case_keys(value: Any) -> list[str]:
    """Every mapping key in a JSON document that is not snake_case."""
    bad: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if not SNAKE_CASE.match(key):
                bad.append(key)
            bad.extend(snake_case_keys(item))
    elif isinstance(value, list):
        for item in value:
            bad.extend(snake_case_keys(item))
    return bad


# -- 1, 2, 4: `adsync version` against the demo recording -------------------------------------------


def test_version_json_is_one_snake_case_document(cli: Any, demo: Path) -> None:
    result = cli("--replay", demo, "--output", "json", "adsync", "version", "--min", "2.5.79.0")

    assert result.code == 0, result
    assert result.err == ""
    doc = json.loads(result.out)  # one document: trailing data would raise
    assert isinstance(doc, dict)
    assert {"target", "version", "minimum", "meets_minimum", "notes"} <= doc.keys()
    assert snake_case_keys(doc) == []
    assert doc["version"] == "2.5.190.0"
    assert doc["minimum"] == "2.5.79.0"
    assert doc["meets_minimum"] is True
    assert isinstance(doc["notes"], list)
    assert all(isinstance(note, dict) and isinstance(note.get("message"), str) for note in doc["notes"])


def test_version_below_minimum_exits_1_and_table_shows_version(cli: Any, demo: Path) -> None:
    result = cli("--replay", demo, "adsync", "version", "--min", "2.5.1000.0")

    assert result.code == 1, result
    assert result.err == ""
    with pytest.raises(json.JSONDecodeError):
        json.loads(result.out)  # table is the default output
    assert re.search(r"^version\s+2\.5\.190\.0\s*$", result.out, re.MULTILINE), result.out
    assert re.search(r"^minimum\s+2\.5\.1000\.0\s*$", result.out, re.MULTILINE), result.out
    assert re.search(r"^meets_minimum\s+no\s*$", result.out, re.MULTILINE), result.out


def test_version_below_minimum_json_still_one_document(cli: Any, demo: Path) -> None:
    result = cli("--replay", demo, "-o", "json", "adsync", "version", "--min", "2.5.1000.0")

    assert result.code == 1, result
    doc = json.loads(result.out)
    assert doc["meets_minimum"] is False
    assert doc["version"] == "2.5.190.0"


def test_version_equal_to_minimum_meets_it(cli: Any, demo: Path) -> None:
    result = cli("--replay", demo, "-o", "json", "adsync", "version", "--min", "2.5.190.0")

    assert result.code == 0, result
    assert json.loads(result.out)["meets_minimum"] is True


def test_three_part_minimum_is_normalized(cli: Any, demo: Path) -> None:
    result = cli("--replay", demo, "-o", "json", "adsync", "version", "--min", "2.5.79")

    assert result.code == 0, result
    doc = json.loads(result.out)
    assert doc["minimum"] == "2.5.79.0"
    assert doc["meets_minimum"] is True


# -- 3: malformed versions ------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["banana", "2", "1.2.3.4.5", "2.5.x.0"])
def test_malformed_minimum_is_a_one_line_usage_error(cli: Any, demo: Path, bad: str) -> None:
    result = cli("--replay", demo, "-o", "json", "adsync", "version", "--min", bad)

    line = assert_one_line_error(result, 2)
    assert bad in line
    assert result.out == ""


def test_malformed_cloud_managed_minimum_is_a_usage_error(cli: Any, demo: Path) -> None:
    result = cli("--replay", demo, "adsync", "version", "--cloud-managed-min", "banana")

    assert "banana" in assert_one_line_error(result, 2)
    assert result.out == ""


# -- 5: malformed recordings ----------------------------------------------------------------------------


def _not_yaml(data: dict[str, Any]) -> str:
    return "format_version: 1\norigin: [unclosed\n  episodes: {\n"


def _top_level_list(data: dict[str, Any]) -> str:
    return yaml.safe_dump([data])


def _format_99(data: dict[str, Any]) -> str:
    return yaml.safe_dump({**data, "format_version": 99}, sort_keys=False)


def _no_origin(data: dict[str, Any]) -> str:
    return yaml.safe_dump({k: v for k, v in data.items() if k != "origin"}, sort_keys=False)


def _broken_clixml(data: dict[str, Any]) -> str:
    data = copy.deepcopy(data)
    message = data["episodes"][0]["messages"][0]
    message.pop("clixml_raw", None)
    message["clixml"] = '<Obj RefId="0"><MS><S N="Name">unclosed'
    return yaml.safe_dump(data, sort_keys=False)


@pytest.mark.parametrize(
    ("make", "hint"),
    [
        pytest.param(_not_yaml, "yaml", id="not-yaml"),
        pytest.param(_top_level_list, "mapping", id="top-level-list"),
        pytest.param(_format_99, "format_version", id="format-version-99"),
        pytest.param(_no_origin, "origin", id="missing-origin"),
        pytest.param(_broken_clixml, "clixml", id="broken-clixml"),
    ],
)
def test_malformed_recording_is_a_one_line_usage_error(
    cli: Any, tmp_path: Path, demo_data: dict[str, Any], make: Any, hint: str
) -> None:
    recording = tmp_path / "broken.yaml"
    recording.write_text(make(demo_data), encoding="utf-8")

    result = cli("--replay", recording, "-o", "json", "adsync", "version")

    line = assert_one_line_error(result, 2)
    assert "broken.yaml" in line  # says which file
    assert hint in line.lower()
    assert result.out == ""


def test_the_fixture_recording_itself_is_well_formed(cli: Any, tmp_path: Path, demo_data: dict[str, Any]) -> None:
    """Guards the test above: the broken variants differ from a working file only by their defect."""
    recording = tmp_path / "fine.yaml"
    recording.write_text(yaml.safe_dump(demo_data, sort_keys=False), encoding="utf-8")

    result = cli("--replay", recording, "-o", "json", "adsync", "version")

    assert result.code == 0, result
    assert json.loads(result.out)["version"] == "2.5.190.0"


def test_empty_recordings_directory_is_a_usage_error(cli: Any, tmp_path: Path) -> None:
    result = cli("--replay", tmp_path, "adsync", "version")

    assert_one_line_error(result, 2)
    assert result.out == ""


# -- 6: a command missing from the recordings ------------------------------------------------------------


@pytest.fixture
def other_command_recordings(tmp_path: Path) -> Path:
    from psbridge.replay import synthetic

    directory = tmp_path / "recordings"
    synthetic.author(
        {
            "description": "only Get-Date was recorded",
            "episodes": [{"command": "Get-Date", "output": [{"properties": {"Year": 2026}}]}],
        }
    ).save(directory / "other.yaml")
    return directory


def test_replay_miss_names_missing_and_nearest_command(cli: Any, other_command_recordings: Path) -> None:
    result = cli("--replay", other_command_recordings, "-o", "json", "adsync", "version")

    assert result.code == 2, result
    assert "Traceback" not in result.err
    assert result.out == ""
    errors = [error_line(event, 2) for event in result.events if event["level"] == "error"]
    assert len(errors) == 1, result.err
    assert MISSING_SCRIPT in errors[0]
    assert "Get-Date" in errors[0]
    assert errors[0].index(MISSING_SCRIPT) < errors[0].index("Get-Date")  # missing first, then nearest


def test_replay_miss_without_verbose_is_exactly_one_stderr_line(cli: Any, other_command_recordings: Path) -> None:
    result = cli("--replay", other_command_recordings, "adsync", "version")

    line = assert_one_line_error(result, 2)
    assert MISSING_SCRIPT in line


# -- 7: option conflicts and bad choices ----------------------------------------------------------------


def test_replay_and_record_exclude_each_other(cli: Any, demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.yaml"
    result = cli("--replay", demo, "--record", out, "adsync", "version")

    line = assert_one_line_error(result, 2)
    assert "--replay" in line and "--record" in line
    assert result.out == ""
    assert not out.exists()


def test_record_without_host_is_a_usage_error(cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "out.yaml"
    result = cli("--record", out, "adsync", "version")

    line = assert_one_line_error(result, 2)
    assert "--host" in line
    assert result.out == ""
    assert not out.exists()


def test_unknown_output_format_is_a_usage_error(cli: Any, demo: Path) -> None:
    result = cli("--replay", demo, "--output", "xml", "adsync", "version")

    line = assert_one_line_error(result, 2)
    assert "xml" in line
    assert result.out == ""


# -- 8: passwords ---------------------------------------------------------------------------------------


def test_there_is_no_password_flag(cli: Any, demo: Path) -> None:
    result = cli("--password", "hunter22", "--replay", demo, "adsync", "version")

    line = assert_one_line_error(result, 2)
    assert "--password" in line
    assert "hunter22" not in result.err
    assert result.out == ""


@pytest.mark.subprocess
def test_missing_password_without_tty_fails_before_connecting(repo_root: Path) -> None:
    # A listener that must never see a connection: if the CLI tried to connect, it would land here.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        env = clean_env()
        assert "PSBRIDGE_PASSWORD" not in env

        result = run_process(
            repo_root, "--host", "127.0.0.1", "--port", str(port), "--no-tls", "--username", "u",
            "adsync", "version", env=env,
        )  # fmt: skip

        with pytest.raises(BlockingIOError):
            listener.accept()

    line = assert_one_line_error(result, 2)
    assert "PSBRIDGE_PASSWORD" in line
    assert result.out == ""


# -- 9: --help and --version stay light -----------------------------------------------------------------

# Loaded only when a command runs: network and crypto libraries, pydantic and structlog, and every product,
# runbook, replay or transport module of psbridge.
HEAVY_MODULES = (
    "pypsrp", "requests", "urllib3", "cryptography", "psrpcore", "msal", "prometheus_client", "pydantic", "rich",
    "pydantic_core", "structlog", "psbridge.ad", "psbridge.adsync", "psbridge.cloudsync", "psbridge.exchange",
    "psbridge.graph", "psbridge.runbooks", "psbridge.replay", "psbridge.transport", "psbridge.targets",
    "psbridge.session", "psbridge.config",
)  # fmt: skip
# Every --help and --version a user reaches first: each group's and each command's with options showing defaults.
HELP_ARGVS = (
    ["--help"], ["--version"], ["adsync", "--help"], ["adsync", "version", "--help"], ["cloudsync", "--help"],
    ["cloudsync", "status", "--help"], ["cloudsync", "deletion-threshold", "--help"], ["exo", "--help"],
    ["exo", "rollout", "--help"], ["exchange", "--help"], ["check", "cloud-managed-readiness", "--help"],
    ["check", "cloud-sync-migration", "--help"], ["diagnose", "routing-domain", "--help"],
    ["repair", "duplicate-mailbox", "--help"], ["config", "--help"], ["selftest", "--help"],
    ["serve-replay", "--help"],
)  # fmt: skip
_IMPORT_PROBE = """
import contextlib, io, json, sys
from psbridge.cli.main import main
runs = []
for argv in {argvs!r}:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(argv)
    runs.append({{"argv": argv, "code": code, "out": buffer.getvalue()}})
heavy = sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in {heavy!r}))
print(json.dumps({{"runs": runs, "heavy": heavy}}))
"""


@pytest.mark.subprocess
def test_help_and_version_import_nothing_heavy(repo_root: Path) -> None:
    """`--help` and `--version` of every group and command, in one process: none loads a network or crypto
    library, pydantic, structlog, or a product, runbook, replay or transport module of psbridge."""
    script = _IMPORT_PROBE.format(argvs=[list(a) for a in HELP_ARGVS], heavy=HEAVY_MODULES)
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=repo_root, env=clean_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip

    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["heavy"] == []
    for run in report["runs"]:
        assert run["code"] == 0, run
        assert (__version__ if run["argv"] == ["--version"] else "Usage:") in run["out"], run
    shown = {tuple(run["argv"]): run["out"] for run in report["runs"]}
    assert "--min" in shown[("adsync", "version", "--help")]
    assert "2.5.190.0" in shown[("check", "cloud-managed-readiness", "--help")]  # a default, shown without importing


# -- 10: logging ----------------------------------------------------------------------------------------

INVOKE_KEYS = {"event", "target", "command", "attempt", "elapsed_ms", "outcome"}


@pytest.mark.subprocess
def test_verbose_logs_json_lines_on_stderr_and_keeps_stdout_clean(repo_root: Path, demo: Path) -> None:
    result = run_process(repo_root, "--replay", demo, "-v", "--output", "json", "adsync", "version", "--min", "2.5.79")

    assert result.code == 0, result
    doc = json.loads(result.out)
    assert doc["version"] == "2.5.190.0"
    assert doc["minimum"] == "2.5.79.0"

    assert result.err_lines, "-v should log at least the invoke event"
    events = [json.loads(line) for line in result.err_lines]  # every line is a JSON object
    assert all(isinstance(event, dict) for event in events)
    invokes = [event for event in events if event.get("event") == "psbridge.invoke"]
    assert len(invokes) == 1, events
    invoke = invokes[0]
    assert invoke.keys() >= INVOKE_KEYS
    assert invoke["outcome"] == "ok"
    assert invoke["attempt"] == 1
    assert MISSING_SCRIPT in invoke["command"]
    assert invoke["target"] == doc["target"]
    assert isinstance(invoke["elapsed_ms"], int | float)


@pytest.mark.subprocess
def test_quiet_success_leaves_stderr_empty(repo_root: Path, demo: Path) -> None:
    result = run_process(repo_root, "--replay", demo, "--output", "json", "adsync", "version")

    assert result.code == 0, result
    assert result.err == ""
    assert json.loads(result.out)["version"] == "2.5.190.0"


# -- 11: exit codes are documented ---------------------------------------------------------------------


def test_exit_codes_are_documented_in_the_module_docstring() -> None:
    doc = cli_main.__doc__ or ""
    assert "Exit codes" in doc
    section = doc.split("Exit codes", 1)[1]
    documented = {int(m) for m in re.findall(r"^\s+(\d+)\s+\S", section, re.MULTILINE)}
    assert {0, 1, 2, 3, 4} <= documented


def test_exit_codes_of_errors_match_the_documented_ones() -> None:
    documented = {int(m) for m in re.findall(r"^\s+(\d+)\s+\S", (cli_main.__doc__ or ""), re.MULTILINE)}
    assert {int(code) for code in ExitCode} == documented  # psbridge.errors.ExitCode: the one definition
    assert InputError.exit_code == ReplayError.exit_code == ExitCode.USAGE
    assert TransportError.exit_code == ExitCode.TRANSPORT
    assert RemoteCommandError.exit_code == ExitCode.REMOTE
    assert LocalWriteError.exit_code == ExitCode.LOCAL_WRITE


def test_an_error_quoting_a_huge_value_stays_one_readable_line(cli: Any, demo: Path) -> None:
    result = cli("--replay", demo, "--log-format", "text", "cloudsync", "status", "--job-id", "9" * 70_000)
    assert result.code == 2
    (line,) = result.err.splitlines()
    assert line.startswith("psbridge: error: ") and "characters cut]" in line
    assert len(line) <= 2000

    as_json = cli("--replay", demo, "cloudsync", "status", "--job-id", "9" * 70_000)
    assert error_line(as_json.events[0], 2) == line  # the same line, cut the same way, in one JSON object
    assert len(as_json.err_lines) == 1


# -- credentials: no clear text, nothing of a password in an error -------------------------------------------

BASIC_HTTP = ["--auth", "basic", "--no-tls", "--encryption", "never", "--username", "svc", "--port", "5985"]


def test_basic_auth_over_http_to_a_remote_host_is_refused_in_one_line(
    cli: Any, monkeypatch: pytest.MonkeyPatch, mocker: Any
) -> None:
    """Nothing is sent: the refusal comes before any session; it names TLS and the auths that encrypt, and
    never suggests turning encryption off."""
    monkeypatch.setenv("PSBRIDGE_PASSWORD", "Remote-Pw-8")
    opened = mocker.patch("psbridge.targets.factory.Session")
    line = assert_one_line_error(cli("--host", "connect01.contoso.example", *BASIC_HTTP, "adsync", "version"), 2)
    assert "would send the password in clear text to connect01.contoso.example: use TLS" in line
    assert "negotiate, ntlm or kerberos" in line and "--insecure-cleartext-basic" in line
    assert "encryption" not in line.replace("encrypt messages", "") and "Remote-Pw-8" not in line
    opened.assert_not_called()


def test_the_insecure_opt_in_warns_on_every_connection_and_loopback_needs_none(
    cli: Any, monkeypatch: pytest.MonkeyPatch, mocker: Any
) -> None:
    monkeypatch.setenv("PSBRIDGE_PASSWORD", "Remote-Pw-8")
    opened = mocker.patch("psbridge.targets.factory.Session", side_effect=InputError("stopped before connecting"))
    insecure = cli(
        "--host", "connect01.contoso.example", *BASIC_HTTP, "--insecure-cleartext-basic", "adsync", "version"
    )
    assert insecure.code == 2 and opened.call_args.args[0].insecure_cleartext_basic
    assert insecure.err.count("psbridge.cleartext_basic") == 1 and "in clear text" in insecure.err
    loopback = cli("--host", "127.0.0.1", *BASIC_HTTP, "adsync", "version")
    assert loopback.code == 2 and opened.call_count == 2 and "cleartext" not in loopback.err


@pytest.mark.parametrize("password", ["Pässwörd-€uro", "pw-\udcff-surrogate"])
def test_a_password_basic_auth_cannot_encode_is_one_line_that_shows_nothing_of_it(
    cli: Any, monkeypatch: pytest.MonkeyPatch, password: str
) -> None:
    """requests would fail inside the first request (UnicodeEncodeError: exit 70, the character and its
    position in the message); psbridge refuses before, saying only which credential and why."""
    monkeypatch.setenv("PSBRIDGE_PASSWORD", password)
    line = assert_one_line_error(cli("--host", "127.0.0.1", *BASIC_HTTP, "adsync", "version"), 2)
    assert "the password has a character basic auth cannot send (latin-1)" in line
    assert not set(line) & {"€", "\udcff"} and "position" not in line and password not in line


def test_the_error_line_and_the_traceback_redact_every_protected_secret(cli: Any, demo: Path, mocker: Any) -> None:
    """The CLI's own backstop: an error nobody redacted, and an internal error, at -vv with tracebacks."""
    import base64
    from urllib.parse import quote_plus

    from psbridge import logs

    secret = "Cli-Backstop-Secret/+&"
    logs.protect([secret])
    echoed = f"echoed {quote_plus(secret)} and {base64.b64encode(secret.encode()).decode()}"
    for raised, code in ((InputError(echoed), 2), (RuntimeError(echoed), 70)):
        mocker.patch("psbridge.adsync.check_version", side_effect=raised)
        result = cli("-vv", "--replay", demo, "adsync", "version")
        assert result.code == code and "Traceback" in result.err
        assert quote_plus(secret) not in result.err and base64.b64encode(secret.encode()).decode() not in result.err
        assert result.err.count("<secret>") >= 4  # the line and the traceback, two forms each


_SIGTERM_PROBE = """
import os, signal, sys, time
from unittest import mock
from psbridge.cli.main import main

def killed(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGTERM)  # as cron or Ansible would, while the call runs
    time.sleep(30)

with mock.patch("psbridge.adsync.check_version", side_effect=killed):
    code = main(["--replay", sys.argv[1], "adsync", "version"])
print(code, signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
"""


@pytest.mark.subprocess
def test_sigterm_is_handled_as_ctrl_c_with_one_line_and_its_own_code(repo_root: Path, demo: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _SIGTERM_PROBE, str(demo)], cwd=repo_root, env=clean_env(),
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr  # not killed: the signal became an exception in the run
    assert proc.stdout.split() == ["143", "True"]  # and the default handler is back afterwards
    [event] = [json.loads(line) for line in proc.stderr.splitlines()]  # one line: a JSON event off a terminal
    assert (event["event"], event["level"], event["exit_code"], event["message"]) == (
        "psbridge.terminated", "error", 143, "terminated (SIGTERM); a journaled run resumes from its journal"
    )  # fmt: skip


@pytest.mark.subprocess
def test_shell_completion_completes_groups_and_commands(repo_root: Path) -> None:
    """The README's completion line works: click's completion for the `psbridge` program."""
    env = {**clean_env(), "_PSBRIDGE_COMPLETE": "bash_complete", "COMP_WORDS": "psbridge adsync ve", "COMP_CWORD": "2"}
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from psbridge.cli.main import main; sys.exit(main())"],
        cwd=repo_root, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert (proc.returncode, proc.stdout.split()) == (0, ["plain,version"]), proc.stderr
