"""The config file and the library's named targets (psbridge.config, psbridge.targets).

Loading and where the file is found, validation errors (one line naming the file, the target and the
key), the permission warning, passwords (from the variable a target names, or one prompt per target;
never in the file), sessions by role from one recordings directory, and check_targets.
"""

from __future__ import annotations

import os
import threading
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import DEMO, FAST_RETRY, REPO, cassette

import psbridge.config
import psbridge.logs
import psbridge.targets.check
from psbridge import Command, InputError
from psbridge.config import ConfigError, TargetMissingError, default_path, load_config
from psbridge.targets import Targets, check_targets, describe_targets
from psbridge.targets.factory import connection_values

THING = "Get-Date"  # any cmdlet: these recordings only need one that the targets answer differently


def recordings(directory: Path, **hosts: str) -> Path:
    """A recordings directory: for each file name, one host (endpoint URL) answering THING with its name."""
    directory.mkdir(exist_ok=True)
    for name, endpoint in hosts.items():
        spec = {"command": THING, "output": [name]}
        cassette([spec, {"command": "Select-Object"}], target={"endpoint": endpoint}).save(directory / f"{name}.yaml")
    return directory


# -- where the file is ------------------------------------------------------------------------------------


def test_a_missing_default_file_means_no_targets(no_user_config: Path) -> None:
    config = load_config()
    assert (config.path, config.source, config.exists, dict(config.targets)) == (no_user_config, "default", False, {})
    with pytest.raises(TargetMissingError) as raised:
        config.target("dc")
    assert f"no target for role 'dc' ({no_user_config} does not exist)" in str(raised.value)
    assert '[targets.dc] with host = "dc01.contoso.com"' in str(raised.value)


def test_the_argument_beats_the_environment_which_beats_the_default(
    write_config: Callable[..., Path], no_user_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_user_config.parent.mkdir(parents=True)
    no_user_config.write_text('[targets.connect]\nhost = "default.example"\n', encoding="utf-8")
    no_user_config.chmod(0o600)
    from_env = write_config('[targets.connect]\nhost = "env.example"\n', "env.toml")
    given = write_config('[targets.connect]\nhost = "given.example"\n', "given.toml")

    assert load_config().target("connect").host == "default.example"
    monkeypatch.setenv("PSBRIDGE_CONFIG", str(from_env))
    assert (load_config().target("connect").host, load_config().source) == ("env.example", "PSBRIDGE_CONFIG")
    assert (load_config(given).target("connect").host, load_config(given).source) == ("given.example", "--config")


@pytest.mark.parametrize("named_by", ["argument", "environment"])
def test_a_named_file_that_is_missing_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, named_by: str
) -> None:
    missing = tmp_path / "nowhere.toml"
    if named_by == "environment":
        monkeypatch.setenv("PSBRIDGE_CONFIG", str(missing))
    with pytest.raises(ConfigError, match=f"config file {missing} does not exist") as raised:
        load_config(missing if named_by == "argument" else None)
    assert raised.value.exit_code == 2


@pytest.mark.timeout(20)  # a FIFO that is opened and read blocks until a writer comes: the limit makes that a failure
@pytest.mark.parametrize("kind", ["fifo", "zero", "directory"])
def test_a_config_path_that_is_not_a_regular_file_is_refused_in_one_line(tmp_path: Path, kind: str) -> None:
    if kind == "fifo":
        path = tmp_path / "config.toml"
        os.mkfifo(path)
    elif kind == "zero":
        path = Path("/dev/zero")  # read to the end, it never ends
    else:
        path = tmp_path
    refused = r"is not a regular file \((a FIFO|a character device|a directory)\)$"
    with pytest.raises(ConfigError, match=refused) as raised:
        load_config(path)
    assert raised.value.exit_code == 2 and "\n" not in str(raised.value)


def test_the_per_user_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")  # not absolute: ignored, as the XDG spec says
    assert default_path() == tmp_path / "home" / ".config" / "psbridge" / "config.toml"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert default_path() == tmp_path / "xdg" / "psbridge" / "config.toml"
    windows = types.SimpleNamespace(name="nt", environ=os.environ, path=os.path)  # only psbridge.config's view
    monkeypatch.setattr(psbridge.config, "os", windows)
    monkeypatch.setenv("APPDATA", str(tmp_path / "roaming"))
    assert default_path() == tmp_path / "roaming" / "psbridge" / "config.toml"


# -- what a target is --------------------------------------------------------------------------------------


def test_a_name_is_the_role_unless_the_target_says_otherwise(write_config: Callable[..., Path]) -> None:
    config = load_config(
        write_config('[targets.connect-eu]\nrole = "connect"\nhost = "c2.example"\n[targets.dc]\nhost = "dc.example"\n')
    )
    assert config.target("connect").name == "connect-eu"  # by role
    assert config.target("connect-eu").host == "c2.example"  # by name
    assert config.target("dc").role == "dc"


def test_two_targets_of_one_role_must_be_named(write_config: Callable[..., Path]) -> None:
    others = (
        '[targets.connect-eu]\nrole = "connect"\nhost = "c2.example"\n'
        '[targets.connect-us]\nrole = "connect"\nhost = "c3.example"\n'
    )
    config = load_config(write_config(others))
    with pytest.raises(ConfigError, match=r"several targets have role 'connect' \(connect-eu, connect-us\)"):
        config.target("connect")
    assert config.target("connect-us").host == "c3.example"
    named = load_config(write_config('[targets.connect]\nhost = "c1.example"\n' + others))
    assert named.target("connect").host == "c1.example"  # a name wins over roles


def test_defaults_are_inherited_but_not_by_an_exchange_servers_own_endpoint(write_config: Callable[..., Path]) -> None:
    config = load_config(
        write_config(
            '[defaults]\nauth = "ntlm"\nusername = "svc"\nport = 5999\n'
            '[targets.connect]\nhost = "c.example"\n'
            '[targets.exchange]\nhost = "ex.example"\n'
            '[targets.ex-https]\nrole = "exchange"\nhost = "ex2.example"\ntls = true\n'
            '[targets.ex-jump]\nrole = "exchange"\nhost = "ex3.example"\nvia = "connect"\n'
        )
    )
    values = {name: connection_values(t) for name, t in config.targets.items()}
    assert (values["connect"]["auth"], values["connect"]["port"], values["connect"]["username"]) == (
        "ntlm",
        5999,
        "svc",
    )
    exchange = values["exchange"]
    assert (exchange["auth"], exchange["configuration_name"], exchange["path"], exchange["tls"], exchange["port"]) == (
        "kerberos", "Microsoft.Exchange", "PowerShell", False, 80,
    )  # fmt: skip
    assert exchange["username"] == "svc"  # who signs in is still inherited
    assert (values["ex-https"]["tls"], values["ex-https"]["port"]) == (True, 443)
    assert (values["ex-jump"]["auth"], values["ex-jump"]["port"]) == ("ntlm", 5999)  # a jump host is a plain target


def test_relative_files_are_relative_to_the_config_file(
    write_config: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ca.pem").write_text("not checked here", encoding="utf-8")
    config = load_config(write_config('[targets.connect]\nhost = "c.example"\nca_file = "ca.pem"\n'))
    monkeypatch.chdir("/")
    assert config.target("connect").connection_values()["cert_validation"] == str(tmp_path / "ca.pem")
    (tmp_path / "ca.pem").unlink()
    with pytest.raises(ConfigError, match=r"target 'connect': ca_file .*ca\.pem is not a file"):
        config.target("connect").connection_values()


# -- what the file may not say -------------------------------------------------------------------------------

BAD = [
    pytest.param('[targets.connect]\nhots = "c.example"\n',
                 "target 'connect': missing key 'host'; unknown key 'hots' (did you mean 'host'?)", id="unknown key"),
    pytest.param('[targets.dc]\nhost = "dc.example"\nport = 70000\n',
                 "target 'dc': port: Input should be less than or equal to 65535", id="bad port"),
    pytest.param('[defaults]\nauth = "digest"\n', "[defaults]: auth: Input should be", id="bad auth"),
    pytest.param('[targets.web]\nhost = "w.example"\n',
                 "target 'web': needs role = \"...\" (one of connect, cloudsync-agent, exo, exchange, dc): "
                 "its name is not a role", id="name not a role"),
    pytest.param('[targets.x]\nrole = "conect"\nhost = "w.example"\n', "target 'x': needs role", id="unknown role"),
    pytest.param('[targets.connect]\nhost = "c.example"\npassword = "Hunter2!"\n',
                 "target 'connect': passwords are never stored in the config file", id="inline password"),
    pytest.param('[defaults]\npassword = "Hunter2!"\n', "[defaults]: passwords are never stored",
                 id="password in defaults"),
    pytest.param('[targets.connect\nhost = "c.example"\n',
                 "not valid TOML: Expected ']' at the end of a table declaration (at line 1", id="not TOML"),
    pytest.param('[target.connect]\nhost = "c.example"\n',
                 "unknown key 'target' (the file holds [defaults], [targets.NAME], [graph] and [cloudsync] tables)",
                 id="unknown table"),
    pytest.param('[targets.connect]\nhost = "c.example"\napp_id = "x"\n',
                 "target 'connect': app_id: only a target with role exo signs in", id="exo keys elsewhere"),
    pytest.param('[targets.exo]\nhost = "j.example"\norganization = "contoso.onmicrosoft.com"\n',
                 "target 'exo': app-only sign-in needs app_id and certificate_thumbprint", id="incomplete sign-in"),
    pytest.param('[targets.exchange]\nhost = "ex.example"\nvia = "jump"\n',
                 "target 'exchange': via names no jump-host target: 'jump'", id="via to nowhere"),
    pytest.param('[targets.exo]\nhost = "j.example"\nvia = "graph"\n',
                 'an exo target is reached by "psrp" (a jump host) or "rest"', id="exo via unknown"),
    pytest.param('[targets.exo]\nvia = "rest"\napp_id = "x"\ncertificate_thumbprint = "ab"\n',
                 "app_id, certificate_thumbprint: sign a jump host in", id="exo rest with a jump host's sign-in"),
    pytest.param('[targets.connect]\nhost = "c.example"\nvia = "rest"\n', "via: only a target with role exchange",
                 id="via on another role"),
    pytest.param('[targets.dc]\nhost = "dc.example"\npassword_env = "MY-PW"\n',
                 "target 'dc': password_env: String should match pattern", id="bad variable name"),
    pytest.param('[targets.dc]\nhost = "dc.example"\nca_file = "ca.pem"\ncert_validation = false\n',
                 "target 'dc': ca_file and cert_validation = false contradict each other", id="contradiction"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), BAD)
def test_a_bad_file_is_one_line_naming_the_file_the_target_and_the_key(
    write_config: Callable[..., Path], text: str, expected: str
) -> None:
    path = write_config(text)
    with pytest.raises(ConfigError) as raised:
        Targets(load_config(path), prompt=False)  # a product's settings (a sign-in) are checked by the factory
    message = str(raised.value)
    assert message.startswith(f"{path}: ") and expected in message
    assert "\n" not in message and "Hunter2!" not in message
    assert raised.value.exit_code == 2


def test_a_file_others_can_read_or_change_is_warned_about(write_config: Callable[..., Path]) -> None:
    text = '[targets.dc]\nhost = "dc.example"\n'
    assert load_config(write_config(text, mode=0o600)).warnings == ()
    for mode in (0o640, 0o604, 0o620):
        path = write_config(text, mode=mode)
        (warning,) = load_config(path).warnings
        assert f"{path} can be read or changed by other users (mode {mode:04o}): run chmod 600 {path}" == warning


# -- passwords ------------------------------------------------------------------------------------------------

LIVE = '[defaults]\nusername = "svc"\nauth = "ntlm"\n[targets.connect]\nhost = "c.example"\n'


def test_the_password_comes_from_the_variable_the_target_names(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(write_config(LIVE + 'password_env = "CONNECT_PW"\n[targets.dc]\nhost = "dc.example"\n'))
    monkeypatch.setenv("CONNECT_PW", "Connect-Pw-1")
    monkeypatch.setenv("PSBRIDGE_PASSWORD", "Default-Pw-2")
    targets = Targets(config, prompt=False)
    password = targets.options("connect").password
    assert password is not None and password.get_secret_value() == "Connect-Pw-1"
    default = targets.options("dc").password  # no password_env: PSBRIDGE_PASSWORD
    assert default is not None and default.get_secret_value() == "Default-Pw-2"
    monkeypatch.delenv("CONNECT_PW")
    with pytest.raises(InputError, match=r"no password for svc@c\.example \(target connect\): set CONNECT_PW"):
        Targets(config, prompt=False).options("connect")


def test_a_password_the_caller_gives_wins_over_the_variable_and_is_redacted_from_then_on(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(write_config(LIVE + 'password_env = "CONNECT_PW"\n'))
    monkeypatch.setenv("CONNECT_PW", "Connect-Pw-1")
    given = Targets(config, prompt=False).options("connect", {"password": "Given-Pw-3"}).password
    assert given is not None and given.get_secret_value() == "Given-Pw-3"
    monkeypatch.delenv("CONNECT_PW")  # and with no variable at all, nothing is asked for
    given = Targets(config, prompt=False).options("connect", {"password": "Given-Pw-4"}).password
    assert given is not None and given.get_secret_value() == "Given-Pw-4"
    assert "Given-Pw-4" not in psbridge.logs.redact_known("sent Given-Pw-4")


def test_a_caller_says_how_else_it_takes_a_password(write_config: Callable[..., Path]) -> None:
    config = load_config(write_config(LIVE))
    targets = Targets(config, prompt=False)
    targets.password_hint = "or give the task's password"
    with pytest.raises(InputError) as info:
        targets.options("connect")
    assert (
        str(info.value)
        == "no password for svc@c.example (target connect): set PSBRIDGE_PASSWORD (or give the task's password)"
    )


def test_without_the_variable_a_terminal_is_asked_once_per_target(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(write_config(LIVE + '[targets.dc]\nhost = "dc.example"\n'))
    asked: list[str] = []
    monkeypatch.setattr(psbridge.config.getpass, "getpass", lambda text: asked.append(text) or f"typed-{len(asked)}")
    targets = Targets(config, prompt=True)
    first = [targets.options("connect").password, targets.options("connect").password, targets.options("dc").password]
    assert [p.get_secret_value() for p in first if p is not None] == ["typed-1", "typed-1", "typed-2"]
    assert asked == ["Password for svc@c.example (target connect): ", "Password for svc@dc.example (target dc): "]


def test_no_password_is_asked_for_under_replay_nor_shown_by_describe(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(write_config(LIVE + 'password_env = "CONNECT_PW"\n'))
    monkeypatch.setenv("CONNECT_PW", "Connect-Pw-1")
    assert Targets(config, replay=DEMO, prompt=False).options("connect").password is None
    (summary,) = describe_targets(config)
    assert summary.password == "$CONNECT_PW (set)"
    assert "Connect-Pw-1" not in summary.model_dump_json()


def test_a_target_with_basic_auth_over_http_is_refused_unless_loopback_or_insecure(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, mocker: Any
) -> None:
    """Basic over plain HTTP to a remote host: refused, naming TLS and the safer auths, never encryption off;
    allowed on loopback, or with insecure_cleartext_basic = true, which warns on every connection."""
    basic = '[defaults]\nusername = "svc"\nauth = "basic"\ntls = false\nencryption = "never"\n'
    config = load_config(
        write_config(
            basic + '[targets.connect]\nhost = "c.example"\n[targets.dc]\nhost = "127.0.0.1"\n'
            '[targets.dc-remote]\nrole = "dc"\nhost = "dc.example"\ninsecure_cleartext_basic = true\n'
        )
    )
    monkeypatch.setenv("PSBRIDGE_PASSWORD", "Basic-Pw-3")
    targets = Targets(config, prompt=False)
    with pytest.raises(ConfigError) as refused:
        targets.options("connect")
    message = str(refused.value)
    assert "would send the password in clear text to c.example: use TLS" in message
    assert "never" not in message and "Basic-Pw-3" not in message and "\n" not in message
    assert targets.options("dc").host == "127.0.0.1"
    logger = mocker.patch("psbridge.logs.get_logger")
    session = mocker.patch("psbridge.targets.factory.Session")
    targets.open("dc")
    logger.return_value.warning.assert_not_called()  # loopback: nothing to warn about
    targets.open("dc-remote")
    targets.open("dc-remote")
    assert logger.return_value.warning.call_count == 2  # on every connection
    assert logger.return_value.warning.call_args.args == ("psbridge.cleartext_basic",)
    assert session.call_args.args[0].insecure_cleartext_basic


# -- sessions by role, from one recordings directory ---------------------------------------------------------

TWO_CONNECTS = (
    '[targets.connect]\nhost = "connect01.contoso.example"\n'
    '[targets.connect-eu]\nrole = "connect"\nhost = "connect02.contoso.example"\n'
    '[targets.dc]\nhost = "dc09.contoso.example"\n'  # no recording names this host
)


def test_one_directory_serves_each_target_its_own_host(write_config: Callable[..., Path], tmp_path: Path) -> None:
    directory = recordings(
        tmp_path / "rec",
        one="https://connect01.contoso.example:5986/wsman",
        two="https://connect02.contoso.example/wsman",
    )
    with Targets(load_config(write_config(TWO_CONNECTS)), replay=directory, retry=FAST_RETRY) as targets:
        assert targets.session("connect").invoke(Command.cmdlet(THING)).output == ("one",)
        assert targets.session("connect-eu").invoke(Command.cmdlet(THING)).output == ("two",)
        assert targets.session("connect") is targets.session("connect")  # opened once
        # A host no recording names is served all of them (as --replay without --host): both answers.
        dc = targets.session("dc")
        assert sorted(dc.invoke(Command.cmdlet(THING)).output + dc.invoke(Command.cmdlet(THING)).output) == [
            "one", "two",
        ]  # fmt: skip
        # A role with no target, under replay: the recordings of its endpoint, like --replay alone.
        assert targets.session("cloudsync-agent").invoke(Command.cmdlet(THING)).output[0] in ("one", "two")


def test_live_a_missing_role_says_which_and_what_to_add(write_config: Callable[..., Path]) -> None:
    path = write_config(TWO_CONNECTS)
    with pytest.raises(TargetMissingError) as raised:
        Targets(load_config(path)).session("exo")
    assert (
        str(raised.value) == f"no target for role 'exo' in {path}: add [targets.exo] with host = \"jump01.contoso.com\""
    )
    assert raised.value.exit_code == 2


EXO = (
    '[targets.exo]\nhost = "jump01.contoso.example"\norganization = "contoso.onmicrosoft.com"\n'
    'app_id = "6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"\n'
    'certificate_thumbprint = "3A8F2C1D9E7B6A5F4C3D2E1F0A9B8C7D6E5F4A3B"\n'
    '[targets.exchange]\nhost = "ex01.contoso.example"\nvia = "exo"\n'
)


def _sent(session: Any) -> list[str]:
    return [key.statements[0].command for key in session.transport.server.keys_seen]


def test_an_exo_target_signs_in_and_out_and_an_exchange_target_goes_via_its_jump_host(
    write_config: Callable[..., Path],
) -> None:
    targets = Targets(load_config(write_config(EXO)), replay=DEMO, retry=FAST_RETRY)
    exo, exchange = targets.session("exo"), targets.session("exchange")
    assert exo.target == exchange.target == "jump01.contoso.example"
    exo.invoke(Command.cmdlet("Select-Object"))
    exchange.invoke(Command.cmdlet("Select-Object"))
    targets.close()
    assert _sent(exo) == ["Connect-ExchangeOnline", "Select-Object", "Disconnect-ExchangeOnline"]
    assert _sent(exchange) == ["exchange/Connect-ExchangeServer.ps1", "Select-Object",
                               "exchange/Connect-ExchangeServer.ps1"]  # fmt: skip


def test_a_live_exo_target_without_its_sign_in_is_refused(write_config: Callable[..., Path]) -> None:
    path = write_config('[targets.exo]\nhost = "jump01.contoso.example"\n')
    with pytest.raises(ConfigError, match=r"target 'exo' in .* has no Exchange Online sign-in: add organization"):
        Targets(load_config(path), prompt=False).open("exo")


# -- check_targets ------------------------------------------------------------------------------------------


def test_check_reports_each_target_pass_or_fail_with_its_reason(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    directory = recordings(tmp_path / "rec", one="https://connect01.contoso.example/wsman")
    no_probe = cassette(
        [{"command": THING, "output": ["x"]}], target={"endpoint": "https://connect02.contoso.example/wsman"}
    )
    no_probe.save(directory / "two.yaml")
    refusing = cassette([{"command": "Select-Object"}], target={"endpoint": "https://dc09.contoso.example/wsman"})
    refusing.faults = {"faults": [{"fault": "http-401"}]}
    refusing.save(directory / "dc.yaml")

    report = check_targets(Targets(load_config(write_config(TWO_CONNECTS)), replay=directory), timeout=10)

    rows = {row.name: row for row in report.targets}
    assert [row.name for row in report.targets] == ["connect", "connect-eu", "dc"]  # the file's order
    assert (rows["connect"].status, rows["connect"].error, rows["connect"].host) == (
        "pass", None, "connect01.contoso.example",
    )  # fmt: skip
    assert (rows["connect-eu"].status, rows["connect-eu"].error_type) == ("fail", "ReplayMissError")
    assert "no recorded episode for `Select-Object`" in (rows["connect-eu"].error or "")
    assert not rows["connect-eu"].unreachable
    assert (rows["dc"].status, rows["dc"].error_type, rows["dc"].unreachable) == ("fail", "AuthenticationError", True)
    assert not report.passed and not report.none_reachable
    only = check_targets(Targets(load_config(write_config(TWO_CONNECTS)), replay=directory), ["dc"], timeout=10)
    assert [row.name for row in only.targets] == ["dc"] and only.none_reachable


def test_check_needs_something_to_check(no_user_config: Path) -> None:
    with pytest.raises(ConfigError, match=f"no targets to check: {no_user_config} declares none"):
        check_targets(Targets(load_config(), replay=DEMO))
    with pytest.raises(TargetMissingError, match="no target named 'nope'"):
        check_targets(Targets(load_config(), replay=DEMO), ["nope"])


def test_checks_run_at_the_same_time(write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    # Each probe waits for the other two: run one after another, they would break the barrier.
    barrier = threading.Barrier(3, timeout=20)
    monkeypatch.setattr(psbridge.targets.check, "probe", lambda session: barrier.wait())
    report = check_targets(Targets(load_config(write_config(TWO_CONNECTS)), replay=DEMO), timeout=30)
    assert [row.status for row in report.targets] == ["pass", "pass", "pass"], report


@pytest.mark.slow
def test_a_probe_past_its_deadline_is_reported_not_awaited(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()

    def hang(session: Any) -> None:
        if session.target == "dc09.contoso.example":
            release.wait(60)

    monkeypatch.setattr(psbridge.targets.check, "probe", hang)
    monkeypatch.setattr(psbridge.targets.check, "_GRACE_S", 0.5)
    started = time.monotonic()
    try:
        report = check_targets(Targets(load_config(write_config(TWO_CONNECTS)), replay=DEMO), timeout=1)
        waited = time.monotonic() - started
    finally:
        release.set()
    dc = report.targets[-1]
    assert (dc.status, dc.unreachable, dc.error) == ("fail", True, "no answer from dc09.contoso.example within 1s")
    assert [row.status for row in report.targets[:2]] == ["pass", "pass"]
    assert waited < 30  # the deadline (1 s + grace) bounds the check, not the 60 s hang: a generous margin


def test_a_target_that_cannot_even_be_opened_fails_alone(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(write_config(LIVE + '[targets.dc]\nhost = "dc.example"\npassword_env = "DC_PW"\n'))
    monkeypatch.setenv("DC_PW", "Dc-Pw-3")
    monkeypatch.setattr(psbridge.targets.check, "probe", lambda session: None)  # no network: only opening
    report = check_targets(Targets(config, prompt=False), timeout=5)
    connect, dc = report.targets
    assert (connect.status, connect.error_type, connect.unreachable) == ("fail", "InputError", False)
    assert "no password for svc@c.example (target connect): set PSBRIDGE_PASSWORD" in (connect.error or "")
    assert (dc.status, dc.error) == ("pass", None)


def test_graph_and_cloudsync_tables_configure_the_graph_backend(tmp_path: Path, cli: Any) -> None:
    """[graph] supplies the app's credentials (certificate relative to the file) and [cloudsync] via the
    default backend; the environment wins over the file, and a secret in the file is refused."""
    path = tmp_path / "config.toml"
    path.write_text(
        '[graph]\ntenant_id = "7e0d8a4c-1b2f-4c3d-9e8f-0a1b2c3d4e5f"\nclient_id = "app"\ncertificate = "app.pem"\n'
        '[cloudsync]\nvia = "psrp"\n',
        encoding="utf-8",
    )
    path.chmod(0o600)
    config = load_config(path)
    assert config.cloudsync_via == "psrp"
    assert config.graph["certificate"] == str(tmp_path / "app.pem")
    with pytest.raises(ConfigError, match=r"\[cloudsync\]: via"):
        path.write_text('[cloudsync]\nvia = "smoke-signals"\n', encoding="utf-8")
        load_config(path)
    path.write_text('[graph]\ntenant_id = "t"\nclient_id = "c"\nclient_secret = "hunter22"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="client_secret_env") as caught:
        load_config(path)
    assert "hunter22" not in str(caught.value)


def test_the_commented_template_and_the_demo_config_load() -> None:
    template = load_config(REPO / "examples" / "psbridge.toml")
    assert {t.role for t in template.targets.values()} == {"connect", "cloudsync-agent", "exo", "exchange", "dc"}
    assert load_config(REPO / "examples" / "demo.toml").targets


def test_a_graph_secret_the_caller_holds_signs_in_without_entering_the_environment(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An Ansible task's no_log `client_secret`: handed to MSAL through `graph_secrets`, never os.environ."""
    from psbridge.graph.auth import CLIENT_SECRET_ENV, GraphCredentials

    monkeypatch.delenv(CLIENT_SECRET_ENV, raising=False)
    credentials = GraphCredentials.build(tenant_id="contoso.example", client_id="11111111-2222-3333-4444-555555555555")
    secret = "Graph-Secret-5"
    client = Targets(
        load_config(write_config(LIVE)), prompt=False, graph_credentials=credentials,
        graph_secrets={"client_secret": secret},
    ).open_graph()  # fmt: skip
    try:
        assert client.tokens._client_credential == secret  # type: ignore[attr-defined]
    finally:
        client.close()
    assert CLIENT_SECRET_ENV not in os.environ
    assert secret not in psbridge.logs.redact_known(f"sent {secret}")
    with pytest.raises(InputError, match=CLIENT_SECRET_ENV):  # without it, the environment has none
        Targets(load_config(write_config(LIVE)), prompt=False, graph_credentials=credentials).open_graph()


def test_an_exo_target_over_rest_needs_no_jump_host(write_config: Callable[..., Path]) -> None:
    """`via = "rest"`: Exchange Online's REST endpoint is the host, and the exo sign-in is the [graph] app's."""
    path = write_config('[targets.exo]\nvia = "rest"\norganization = "contoso.onmicrosoft.com"\n')
    targets = Targets(load_config(path), prompt=False)  # no jump-host sign-in to check
    exo = targets.config.target("exo")
    assert (exo.host, exo.via, exo.organization) == ("outlook.office365.com", "rest", "contoso.onmicrosoft.com")
    assert targets.has_exo_rest()
