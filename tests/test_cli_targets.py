"""Named targets from the command line: --config, --target, and `psbridge config path|show|check`.

`--target` (and a command group's role) takes the connection options from the config file, explicit
flags winning; a missing target or a bad file is one line and exit 2; `config check` passes on the demo
and reports failures with their reasons and its documented exit codes, under replay and live against the
loopback endpoint.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import DEMO, REPO, cassette
from loopback import PASSWORD, USER, endpoint, port_of
from pytest_mock import MockerFixture

from psbridge.replay import http
from psbridge.replay.synthetic import author
from psbridge.targets import Targets

DEMO_CONFIG = REPO / "examples" / "demo.toml"
REPLAY = ["--config", DEMO_CONFIG, "--replay", DEMO]


@pytest.fixture
def options_used(mocker: MockerFixture) -> list[Any]:
    """The ConnectionOptions (or None) and the timeout of every session the CLI opens (Targets.connect is the
    one place sessions are made)."""
    seen: list[Any] = []
    real = Targets.connect

    def record(self: Targets, options: Any, **kwargs: Any) -> Any:
        seen.append((options, kwargs["timeout"]))
        return real(self, options, **kwargs)

    mocker.patch.object(Targets, "connect", autospec=True, side_effect=record)
    return seen


def two_connect_servers(directory: Path) -> Path:
    """The demo's Get-GlobalParameters episode on two hosts; the second runs 2.5.76.0 (below 2.5.79.0)."""
    source = yaml.safe_load((REPO / "recorded_sessions/sources/demo/adsync.yaml").read_text(encoding="utf-8"))
    directory.mkdir()
    for name, version in (("connect01", "2.5.190.0"), ("connect02", "2.5.76.0")):
        episode = copy.deepcopy(source["episodes"][0])
        for row in episode["output"]:
            if row["properties"]["Name"] == "Microsoft.Synchronize.ServerConfigurationVersion":
                row["properties"]["Value"] = version
        target = {**source["target"], "endpoint": f"https://{name}.contoso.example:5986/wsman"}
        author({"target": target, "episodes": [episode]}).save(directory / f"{name}.yaml")
    return directory


TWO = (
    '[defaults]\nusername = "CONTOSO\\\\svc"\nauth = "ntlm"\n'
    '[targets.connect]\nhost = "connect01.contoso.example"\n'
    '[targets.connect-eu]\nrole = "connect"\nhost = "connect02.contoso.example"\nport = 5999\ntimeout = 45\n'
)


# -- --target and the role of a command group ------------------------------------------------------------------


def test_target_selects_the_host_and_its_options(
    cli: Any, write_config: Callable[..., Path], tmp_path: Path, options_used: list[Any]
) -> None:
    config, recordings = write_config(TWO), two_connect_servers(tmp_path / "rec")

    eu = cli("--config", config, "--replay", recordings, "--target", "connect-eu", "-o", "json", "adsync", "version")
    default = cli("--config", config, "--replay", recordings, "-o", "json", "adsync", "version")  # role connect

    assert (eu.code, eu.json()["version"], eu.json()["target"]) == (1, "2.5.76.0", "connect02.contoso.example")
    assert (default.code, default.json()["version"]) == (0, "2.5.190.0")
    (options, timeout), (default_options, _) = options_used
    assert (options.host, options.port, options.auth, options.username, timeout) == (
        "connect02.contoso.example", 5999, "ntlm", "CONTOSO\\svc", 45,
    )  # fmt: skip
    assert (default_options.host, default_options.port) == ("connect01.contoso.example", None)


def test_explicit_flags_and_environment_win_over_the_target(
    cli: Any,
    write_config: Callable[..., Path],
    tmp_path: Path,
    options_used: list[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config, recordings = write_config(TWO), two_connect_servers(tmp_path / "rec")
    monkeypatch.setenv("PSBRIDGE_USERNAME", "CONTOSO\\other")
    result = cli(
        "--config", config, "--replay", recordings, "--target", "connect-eu", "--port", "6000",
        "--auth", "kerberos", "--timeout", "9", "--no-tls", "adsync", "version",
    )  # fmt: skip
    assert result.code == 1, result  # still connect02's recordings: 2.5.76.0 is below the default minimum
    ((options, timeout),) = options_used
    assert (options.host, options.port, options.auth, options.username, options.tls, timeout) == (
        "connect02.contoso.example", 6000, "kerberos", "CONTOSO\\other", False, 9,
    )  # fmt: skip


def test_host_without_target_ignores_the_config(
    cli: Any, write_config: Callable[..., Path], tmp_path: Path, options_used: list[Any]
) -> None:
    config, recordings = write_config(TWO), two_connect_servers(tmp_path / "rec")
    result = cli("--config", config, "--replay", recordings, "--host", "connect02.contoso.example", "adsync", "version")
    assert result.code == 1
    ((options, _),) = options_used
    assert (options.port, options.auth, options.username) == (None, "negotiate", None)


def test_under_replay_the_users_own_config_is_not_used_unless_named(
    cli: Any, no_user_config: Path, tmp_path: Path, options_used: list[Any]
) -> None:
    no_user_config.parent.mkdir(parents=True)
    no_user_config.write_text(TWO, encoding="utf-8")
    no_user_config.chmod(0o644)  # and its permission warning is not shown under replay either
    recordings = two_connect_servers(tmp_path / "rec")

    result = cli("--replay", recordings, "adsync", "version")

    assert result.code == 0 and result.err == ""
    assert options_used == [(None, 120.0)]  # the replay endpoint, as before targets existed
    named = cli("--replay", recordings, "--target", "connect-eu", "adsync", "version")
    assert named.code == 1 and options_used[-1][0].host == "connect02.contoso.example"


def test_a_missing_target_is_one_line_naming_the_role_the_file_and_what_to_add(
    cli: Any, write_config: Callable[..., Path]
) -> None:
    config = write_config(TWO)
    line = cli("--config", config, "--target", "dc", "adsync", "version").one_line_error(2)
    assert (
        line
        == f"psbridge: error: no target for role 'dc' in {config}: add [targets.dc] with host = \"dc01.contoso.com\""
    )
    line = cli("--config", config, "--target", "conect", "adsync", "version").one_line_error(2)
    assert "no target named 'conect'" in line and "(its targets: connect, connect-eu)" in line
    # Live, a group whose role has no target, and no --host: the old message, which now names the way out.
    only_dc = write_config('[targets.dc]\nhost = "dc01.contoso.example"\n', "dc.toml")
    line = cli("--config", only_dc, "adsync", "version").one_line_error(2)
    assert "--host is required" in line and "--target NAME" in line


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_a_named_config_file_that_is_missing_or_bad_is_exit_2(
    cli: Any, write_config: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    def run(path: Path) -> Any:
        if how == "environment":
            monkeypatch.setenv("PSBRIDGE_CONFIG", str(path))
            return cli("--replay", DEMO, "adsync", "version")
        return cli("--config", path, "--replay", DEMO, "adsync", "version")

    missing = tmp_path / "nowhere.toml"
    assert f"config file {missing} does not exist" in run(missing).one_line_error(2)
    bad = write_config('[targets.connect]\nhost = "c.example"\npasword_env = "X"\n')
    line = run(bad).one_line_error(2)
    assert line == (
        f"psbridge: error: {bad}: target 'connect': unknown key 'pasword_env' (did you mean 'password_env'?)"
    )


def test_an_exo_target_supplies_the_sign_in_and_flags_override_it(cli: Any) -> None:
    result = cli(*REPLAY, "-o", "json", "exo", "org-default", "get")
    assert result.code == 0, result
    assert result.json()["identity"] == "contoso.onmicrosoft.com"
    # Another organization on the command line is what is sent: the recording has no such sign-in.
    line = cli(*REPLAY, "exo", "--organization", "fabrikam.onmicrosoft.com", "org-default", "get").one_line_error(2)
    assert 'no recorded episode for `Connect-ExchangeOnline -Organization "fabrikam.onmicrosoft.com"' in line


def test_an_exchange_target_is_its_servers_own_endpoint(cli: Any, options_used: list[Any]) -> None:
    result = cli(*REPLAY, "-o", "json", "exchange", "mailbox", "get", "--identity", "dana@contoso.example")
    https = cli(*REPLAY, "-o", "json", "exchange", "--https", "mailbox", "get", "--identity", "dana@contoso.example")

    assert result.code == https.code == 0, (result, https)
    assert result.json()["recipient_type_details"] == "UserMailbox"
    direct, secure = (options for options, _ in options_used)
    assert direct.endpoint == "http://ex01.contoso.example:80/PowerShell"
    assert (direct.configuration_name, direct.auth) == ("Microsoft.Exchange", "kerberos")
    assert secure.endpoint == "https://ex01.contoso.example:443/PowerShell"


def test_exchange_through_the_jump_host_uses_the_exo_target(cli: Any, options_used: list[Any]) -> None:
    result = cli(*REPLAY, "exchange", "--via-jump-host", "ex01.contoso.example", "mailbox", "get",
                 "--identity", "dana@contoso.example")  # fmt: skip
    assert result.code == 0, result
    ((options, _),) = options_used
    assert (options.host, options.configuration_name) == ("jump01.contoso.example", "Microsoft.PowerShell")


def test_an_exchange_target_behind_a_jump_host_says_how_to_reach_it(
    cli: Any, write_config: Callable[..., Path]
) -> None:
    config = write_config('[targets.jump]\nrole = "exo"\nhost = "jump01.example"\n'
                          '[targets.exchange]\nhost = "ex01.example"\nvia = "jump"\n')  # fmt: skip
    line = cli("--config", config, "--replay", DEMO, "exchange", "mailbox", "get", "--identity", "x").one_line_error(2)
    assert "psbridge --target jump exchange --via-jump-host ex01.example" in line


# -- config path and show -------------------------------------------------------------------------------------


def test_config_path_says_which_file_and_why(
    cli: Any, write_config: Callable[..., Path], no_user_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = cli("config", "path")
    assert (default.code, default.out.strip()) == (0, str(no_user_config))
    assert "does not exist yet" in default.err
    config = write_config(TWO)
    monkeypatch.setenv("PSBRIDGE_CONFIG", str(config))
    assert cli("-o", "json", "config", "path").json() == {
        "path": str(config),
        "source": "PSBRIDGE_CONFIG",
        "exists": True,
    }
    other = write_config(TWO, "other.toml")
    assert cli("-o", "json", "--config", other, "config", "path").json()["source"] == "--config"


def test_config_show_names_the_password_variable_never_the_password(
    cli: Any, write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    exo = DEMO_CONFIG.read_text(encoding="utf-8").partition("[targets.exo]")
    config = write_config(TWO + 'password_env = "EU_PW"\n' + exo[1] + exo[2])  # the demo's exo, exchange and dc
    monkeypatch.setenv("PSBRIDGE_PASSWORD", "Connect-Pw-Secret")
    monkeypatch.setenv("EU_PW", "Eu-Pw-Secret")

    table, document = cli("--config", config, "config", "show"), cli("--config", config, "-o", "json", "config", "show")

    assert table.code == document.code == 0
    for text in (table.out, document.out):
        assert "Connect-Pw-Secret" not in text and "Eu-Pw-Secret" not in text
    rows = {row["name"]: row for row in document.json()["targets"]}
    assert rows["connect"]["password"] == "$PSBRIDGE_PASSWORD (set)"
    assert rows["connect-eu"]["password"] == "$EU_PW (set)"
    assert rows["connect-eu"]["endpoint"] == "https://connect02.contoso.example:5999/wsman"
    assert (
        rows["exo"]["sign_in"] == "contoso.onmicrosoft.com, app 6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b with a certificate"
    )
    assert rows["exchange"]["endpoint"] == "http://ex01.contoso.example:80/PowerShell"
    assert "$EU_PW (set)" in table.out


def test_a_config_others_can_change_is_warned_about_once(cli: Any, write_config: Callable[..., Path]) -> None:
    config = write_config(TWO, mode=0o664)
    result = cli("--config", config, "config", "show")
    assert result.code == 0
    assert [(e["event"], e["level"], e["message"]) for e in result.events] == [
        (
            "psbridge.warning", "warning",
            f"{config} can be read or changed by other users (mode 0664): run chmod 600 {config}",
        )
    ]  # fmt: skip


# -- config check ----------------------------------------------------------------------------------------------


def test_config_check_passes_on_the_demo(cli: Any) -> None:
    table = cli(*REPLAY, "config", "check")
    document = cli(*REPLAY, "-o", "json", "config", "check")

    assert table.code == document.code == 0, table
    rows = document.json()["targets"]
    assert [(r["name"], r["host"], r["status"]) for r in rows] == [
        ("connect", "connect01.contoso.example", "pass"),
        ("cloudsync-agent", "agent01.contoso.example", "pass"),
        ("exo", "jump01.contoso.example", "pass"),
        ("exchange", "ex01.contoso.example", "pass"),
        ("dc", "dc01.contoso.example", "pass"),
    ]
    assert all(r["error"] is None and r["elapsed_ms"] > 0 for r in rows)
    assert table.out.splitlines()[0].split() == ["name", "role", "host", "status", "elapsed_ms", "error"]
    assert len(table.out.splitlines()) == 6 and table.err == ""


@pytest.fixture
def mixed(tmp_path: Path, write_config: Callable[..., Path]) -> tuple[Path, Path]:
    """connect answers the probe; agent has no recording of it; dc refuses the credentials (HTTP 401)."""
    directory = tmp_path / "rec"
    directory.mkdir()
    probe = {"command": "Select-Object"}
    cassette([probe], target={"endpoint": "https://connect01.example/wsman"}).save(directory / "connect.yaml")
    cassette([], target={"endpoint": "https://agent01.example/wsman"}).save(directory / "agent.yaml")
    refusing = cassette([probe], target={"endpoint": "https://dc01.example/wsman"})
    refusing.faults = {"faults": [{"fault": "http-401"}]}
    refusing.save(directory / "dc.yaml")
    config = write_config(
        '[targets.connect]\nhost = "connect01.example"\n[targets.cloudsync-agent]\nhost = "agent01.example"\n'
        '[targets.dc]\nhost = "dc01.example"\n'
    )
    return config, directory


def test_config_check_reports_each_failure_and_exits_1(cli: Any, mixed: tuple[Path, Path]) -> None:
    config, directory = mixed
    table = cli("--config", config, "--replay", directory, "config", "check")
    document = cli("--config", config, "--replay", directory, "-o", "json", "config", "check")

    assert table.code == document.code == 1
    rows = {r["name"]: r for r in document.json()["targets"]}
    assert rows["connect"]["status"] == "pass"
    agent, dc = rows["cloudsync-agent"], rows["dc"]
    assert (agent["status"], agent["error_type"], agent["unreachable"]) == ("fail", "ReplayMissError", False)
    assert agent["error"].startswith("no recorded episode for `Select-Object`")
    assert (dc["status"], dc["error_type"], dc["unreachable"]) == ("fail", "AuthenticationError", True)
    assert "401" in dc["error"]
    lines = table.out.splitlines()
    assert [line.split()[:4] for line in lines[1:]] == [
        ["connect", "connect", "connect01.example", "pass"],
        ["cloudsync-agent", "cloudsync-agent", "agent01.example", "fail"],
        ["dc", "dc", "dc01.example", "fail"],
    ]
    assert "401" in lines[3] and "Traceback" not in table.err


def test_config_check_exits_3_when_no_target_is_reachable(cli: Any, mixed: tuple[Path, Path]) -> None:
    config, directory = mixed
    result = cli("--config", config, "--replay", directory, "-o", "json", "config", "check", "dc")
    assert result.code == 3
    assert [r["name"] for r in result.json()["targets"]] == ["dc"]


def test_config_check_exits_2_for_a_bad_or_empty_config(cli: Any, write_config: Callable[..., Path]) -> None:
    empty = write_config("# nothing yet\n")
    line = cli("--config", empty, "--replay", DEMO, "config", "check").one_line_error(2)
    assert f"no targets to check: {empty} declares none" in line
    bad = write_config('[targets.connect]\nhost = "c.example"\npassword = "Hunter2!"\n', "bad.toml")
    line = cli("--config", bad, "--replay", DEMO, "config", "check").one_line_error(2)
    assert "passwords are never stored in the config file" in line and "Hunter2!" not in line
    assert "no target named 'nope'" in cli(*REPLAY, "config", "check", "nope").one_line_error(2)


def test_config_check_help_documents_its_exit_codes(cli: Any) -> None:
    text = " ".join(cli("config", "check", "--help").out.split())
    for code in ("0 every target passed", "1 at least one failed", "2 the config file is invalid",
                 "3 no target could be reached"):  # fmt: skip
        assert code in text


@pytest.fixture
def live_host() -> Iterator[str]:
    """A loopback WinRM endpoint (Basic auth, plain HTTP) serving the demo's recordings."""
    with endpoint(http.Endpoints(DEMO).handle) as server:
        yield server.url


@pytest.mark.slow
def test_config_check_live_takes_each_password_from_its_variable(
    cli: Any, write_config: Callable[..., Path], live_host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = port_of(live_host)
    config = write_config(
        f'[defaults]\nusername = "{USER}"\nauth = "basic"\ntls = false\nencryption = "never"\nport = {port}\n'
        '[targets.connect]\nhost = "127.0.0.1"\npassword_env = "LOOPBACK_PW"\n'
        '[targets.dc]\nhost = "127.0.0.1"\npassword_env = "DC_PW"\n'
        '[targets.cloudsync-agent]\nhost = "127.0.0.1"\nport = 9\n'  # nothing listens on the discard port
    )
    monkeypatch.setenv("LOOPBACK_PW", PASSWORD)
    monkeypatch.setenv("DC_PW", "wrong-password")
    monkeypatch.setenv("PSBRIDGE_PASSWORD", PASSWORD)

    result = cli("--config", config, "-o", "json", "config", "check", "--timeout", "10")

    assert result.code == 1, result
    rows = {r["name"]: r for r in result.json()["targets"]}
    assert rows["connect"]["status"] == "pass", rows["connect"]
    assert (rows["dc"]["error_type"], rows["dc"]["unreachable"]) == ("AuthenticationError", True)
    assert (rows["cloudsync-agent"]["error_type"], rows["cloudsync-agent"]["unreachable"]) == ("ConnectError", True)
    assert PASSWORD not in result.out + result.err and "wrong-password" not in result.out + result.err


@pytest.mark.slow
def test_config_check_live_without_a_password_fails_that_target_only(
    cli: Any, write_config: Callable[..., Path], live_host: str
) -> None:
    config = write_config(
        f'[targets.connect]\nhost = "127.0.0.1"\nport = {port_of(live_host)}\nauth = "basic"\ntls = false\n'
        f'encryption = "never"\nusername = "{USER}"\npassword_env = "UNSET_PW"\n'
    )
    result = cli("--config", config, "-o", "json", "config", "check")  # stdin is not a terminal: no prompt
    assert result.code == 1
    (row,) = result.json()["targets"]
    assert (row["status"], row["error_type"]) == ("fail", "InputError")
    assert row["error"] == (
        f"no password for {USER}@127.0.0.1 (target connect): set UNSET_PW "
        "(passwords are never taken as a flag nor stored in the config file)"
    )
