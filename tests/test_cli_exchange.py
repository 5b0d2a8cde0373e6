"""`psbridge exo ...` and `psbridge exchange ...` against the demo and the failure cases.

Commands run in-process through `psbridge.cli.main.main`. What reached the server is read from the
replay server of the run's Session, captured as the CLI opens it.
"""

from __future__ import annotations

from typing import Any

import pytest
from helpers import DEMO, REPO
from pytest_mock import MockerFixture

import psbridge.cli.main
from psbridge import Session
from psbridge.targets import Targets

CASES = REPO / "recorded_sessions" / "cases"
SIGN_IN = (
    "--organization", "contoso.onmicrosoft.com", "--app-id", "6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b",
    "--certificate-thumbprint", "3A8F2C1D9E7B6A5F4C3D2E1F0A9B8C7D6E5F4A3B",
)  # fmt: skip


@pytest.fixture
def opened(mocker: MockerFixture) -> list[Session]:
    """The Sessions the CLI opens (Targets.connect makes them all), for a look at what their replay server saw."""
    sessions: list[Session] = []
    real = Targets.connect

    def spy(self: Targets, options: Any, **kwargs: Any) -> Session:
        sessions.append(real(self, options, **kwargs))
        return sessions[-1]

    mocker.patch.object(Targets, "connect", autospec=True, side_effect=spy)
    return sessions


def seen(session: Session) -> list[str]:
    """The cmdlet of every call: the runner script's -Command, else the cmdlet or script name."""
    out = []
    for key in session.transport.server.keys_seen:  # type: ignore[attr-defined]
        statement = key.statements[0]
        params = {p.name: p.value for p in statement.params}
        out.append(str(params.get("Command", statement.command)))
    return out


def exo_json(cli: Any, *args: str, recording: Any = DEMO) -> Any:
    result = cli("--replay", recording, "--output", "json", "exo", *args)
    assert result.code == 0, result
    return result.json()


# -- the done-when -------------------------------------------------------------------------------------


def test_mailbox_list_returns_the_demo_mailboxes_with_their_source_of_authority(cli: Any) -> None:
    doc = exo_json(cli, "mailbox", "list")
    assert [(m["user_principal_name"], m["is_exchange_cloud_managed"]) for m in doc] == [
        ("adele@contoso.example", True),
        ("alex@contoso.example", False),
        ("sales@contoso.example", False),
        ("megan@contoso.onmicrosoft.com", False),
    ]
    assert all(m["when_changed"].endswith("Z") and m["exchange_guid"] for m in doc)


def test_switching_an_already_cloud_managed_mailbox_changes_nothing(cli: Any, opened: list[Session]) -> None:
    doc = exo_json(cli, "cloud-managed", "set", "--identity", "adele@contoso.example", "--enable", "--yes")
    assert doc["changed"] is False and doc["after"]["is_exchange_cloud_managed"] is True
    (session,) = opened
    assert seen(session) == ["Get-Mailbox"]  # no Set-Mailbox reached the server


# -- mailboxes and the switch ------------------------------------------------------------------------------------


def test_mailbox_list_table_and_filter(cli: Any) -> None:
    result = cli("--replay", DEMO, "exo", "mailbox", "list", "--cloud-managed")
    assert result.code == 0, result
    lines = result.out.splitlines()
    assert lines[0].split() == ["identity", "user_principal_name", "recipient_type_details", "is_dir_synced",
                                "is_exchange_cloud_managed"]  # fmt: skip
    assert len(lines) == 2 and "adele@contoso.example" in lines[1]


def test_mailbox_get(cli: Any) -> None:
    doc = exo_json(cli, "mailbox", "get", "--identity", "alex@contoso.example")
    assert (doc["identity"], doc["is_dir_synced"], doc["is_exchange_cloud_managed"]) == ("Alex Wilber", True, False)


def test_mailbox_get_not_found_is_a_one_line_remote_error(cli: Any) -> None:
    result = cli(
        "--replay", CASES / "exo-not-found.yaml", "exo", "mailbox", "get", "--identity", "nobody@contoso.example"
    )
    assert "couldn't be found" in result.one_line_error(4)


@pytest.mark.parametrize("output", ["table", "json"])
def test_access_denied_exits_4_with_nothing_on_stdout(cli: Any, output: str) -> None:
    result = cli("--replay", CASES / "exo-access-denied.yaml", "-o", output, "exo", "mailbox", "list")
    assert "not allowed to call Get-Mailbox" in result.one_line_error(4)


def test_switch_refuses_without_yes(cli: Any, opened: list[Session]) -> None:
    result = cli("--replay", DEMO, "exo", "cloud-managed", "set", "--identity", "alex@contoso.example", "--enable")
    result.refused_after_plan()
    assert "is_exchange_cloud_managed  no -> yes" in result.out  # the plan
    assert seen(opened[0]) == ["Get-Mailbox"]  # the plan read; refused before anything was written


def test_switch_dry_run_and_for_real(cli: Any, opened: list[Session]) -> None:
    doc = exo_json(cli, "cloud-managed", "set", "--identity", "alex@contoso.example", "--enable", "--dry-run")
    assert (doc["changed"], doc["would_change"], doc["dry_run"]) == (False, True, True)
    assert seen(opened[0]) == ["Get-Mailbox"]
    result = cli(
        "--replay", DEMO, "exo", "cloud-managed", "set", "--identity", "alex@contoso.example", "--enable", "--yes"
    )
    assert result.code == 0, result
    assert "is_exchange_cloud_managed  no -> yes" in result.out
    assert seen(opened[1]) == ["Get-Mailbox", "Set-Mailbox"]


def test_synced_object_error_exits_4_with_the_explanation(cli: Any) -> None:
    result = cli("--replay", CASES / "exo-synced-object.yaml", "exo", "email-address", "add",
                 "--identity", "alex@contoso.example", "--address", "alex.wilber@contoso.example", "--yes")  # fmt: skip
    line = result.one_line_error(4)
    assert "synchronized from your on-premises organization" in line and "source of authority" in line


def test_email_address_add(cli: Any, opened: list[Session]) -> None:
    doc = exo_json(cli, "email-address", "add", "--identity", "adele@contoso.example",
                   "--address", "adele.vance@contoso.example", "--yes")  # fmt: skip
    assert doc["changed"] is True and "smtp:adele.vance@contoso.example" in doc["after"]["email_addresses"]
    assert seen(opened[0]) == ["Get-Mailbox", "Set-Mailbox"]


def test_email_address_remove_of_an_absent_address_sends_nothing(cli: Any, opened: list[Session]) -> None:
    doc = exo_json(cli, "email-address", "remove", "--identity", "adele@contoso.example",
                   "--address", "old@contoso.example", "--yes")  # fmt: skip
    assert doc["changed"] is False and seen(opened[0]) == ["Get-Mailbox"]


# -- organization, users, domains --------------------------------------------------------------------------------


def test_org_default_get_and_set(cli: Any) -> None:
    assert exo_json(cli, "org-default", "get")["cloud_managed_by_default"] is False
    result = cli("--replay", DEMO, "--output", "json", "exo", "org-default", "set", "--enable", "--yes")
    assert result.code == 0, result
    assert result.json()["changed"] is True
    assert "still being created" in result.err


def test_user_get_shows_the_duplicate_mailbox_pattern(cli: Any) -> None:
    doc = exo_json(cli, "user", "get", "--identity", "dana@contoso.example")
    assert (doc["recipient_type"], doc["recipient_type_details"], doc["previous_recipient_type_details"]) == (
        "MailUser", "MailUser", "UserMailbox")  # fmt: skip


def test_clear_previous_mailbox_info_without_yes_shows_and_exits_2(cli: Any, opened: list[Session]) -> None:
    result = cli("--replay", DEMO, "exo", "clear-previous-mailbox-info", "--identity", "dana@contoso.example")
    assert result.code == 2
    assert "previous_recipient_type_details  UserMailbox -> -" in result.out
    assert "irreversible" in result.err and "--yes" in result.err
    assert seen(opened[0]) == ["Get-User"]


def test_clear_previous_mailbox_info_with_yes(cli: Any, opened: list[Session]) -> None:
    result = cli("--replay", DEMO, "-o", "json", "exo", "clear-previous-mailbox-info", "--identity",
                 "dana@contoso.example", "--yes")  # fmt: skip
    assert result.code == 0, result
    assert result.json()["after"]["previous_recipient_type_details"] is None
    assert seen(opened[0]) == ["Get-User", "Set-User"]


def test_clear_previous_mailbox_info_refused_when_it_would_not_help(cli: Any) -> None:
    result = cli("--replay", DEMO, "exo", "clear-previous-mailbox-info", "--identity", "lee@contoso.example", "--yes")
    assert "no previous mailbox info" in result.one_line_error(2)


def test_accepted_domains(cli: Any) -> None:
    doc = exo_json(cli, "accepted-domains")
    assert doc["has_tenant_routing_domain"] is True
    assert [d["is_tenant_routing_domain"] for d in doc["domains"]] == [False, False, True]
    result = cli("--replay", CASES / "exo-no-routing-domain.yaml", "exo", "accepted-domains")
    assert result.code == 0 and "HCW8001" in result.err


# -- signing in -------------------------------------------------------------------------------------------------


def test_sign_in_options_connect_once_and_disconnect(cli: Any, opened: list[Session]) -> None:
    result = cli("--replay", DEMO, "exo", *SIGN_IN, "mailbox", "get", "--identity", "adele@contoso.example")
    assert result.code == 0, result
    assert seen(opened[0]) == ["Connect-ExchangeOnline", "Get-Mailbox", "Disconnect-ExchangeOnline"]


def test_sign_in_from_the_environment(cli: Any, opened: list[Session], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in zip(("ORGANIZATION", "APP_ID", "CERT_THUMBPRINT"), SIGN_IN[1::2], strict=True):
        monkeypatch.setenv(f"PSBRIDGE_EXO_{name}", value)
    assert cli("--replay", DEMO, "exo", "user", "get", "--identity", "dana@contoso.example").code == 0
    assert seen(opened[0])[0] == "Connect-ExchangeOnline"


def test_sign_in_failure_is_specific(cli: Any) -> None:
    result = cli("--replay", CASES / "exo-connect-role.yaml", "exo", *SIGN_IN, "mailbox", "list")
    assert "isn't supported in this scenario" in result.one_line_error(4)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("--organization", "contoso.com", "--managed-identity"), "onmicrosoft"),
        (("--organization", "contoso.onmicrosoft.com", "--app-id", "x", "--certificate-thumbprint", "nothex"), "40"),
    ],
)
def test_bad_sign_in_settings_are_usage_errors(cli: Any, args: tuple[str, ...], match: str) -> None:
    assert match in cli("--replay", DEMO, "exo", *args, "mailbox", "list").one_line_error(2)


def test_a_live_host_needs_sign_in_settings(cli: Any, opened: list[Session]) -> None:
    result = cli("--host", "jump01.contoso.example", "exo", "mailbox", "list")
    assert "--organization" in result.one_line_error(2)
    assert opened == []


# -- Exchange Server -------------------------------------------------------------------------------------------------


def test_exchange_server_directly(cli: Any, opened: list[Session]) -> None:
    result = cli("--replay", DEMO, "-o", "json", "exchange", "mailbox", "get", "--identity", "dana@contoso.example")
    assert result.code == 0, result
    doc = result.json()
    assert (doc["recipient_type_details"], doc["exchange_guid"]) == (
        "UserMailbox",
        "7f3e2d1c-0b9a-4876-a5f4-e3d2c1b0a987",
    )
    assert seen(opened[0]) == ["Get-Mailbox"]
    assert opened[0].transport.options.configuration_name == "Microsoft.Exchange"  # type: ignore[attr-defined]


def test_exchange_server_through_the_jump_host(cli: Any, opened: list[Session]) -> None:
    result = cli("--replay", DEMO, "-o", "json", "exchange", "--via-jump-host", "ex01.contoso.example",
                 "remote-mailbox", "get", "--identity", "adele@contoso.example")  # fmt: skip
    assert result.code == 0, result
    assert result.json()["remote_routing_address"] == "adele@contoso.mail.onmicrosoft.com"
    assert seen(opened[0]) == ["exchange/Connect-ExchangeServer.ps1", "Get-RemoteMailbox",
                               "exchange/Connect-ExchangeServer.ps1"]  # fmt: skip


def test_exchange_mail_user_and_not_found(cli: Any) -> None:
    result = cli("--replay", DEMO, "-o", "json", "exchange", "mail-user", "get", "--identity", "pat@fabrikam.example")
    assert result.code == 0 and result.json()["recipient_type_details"] == "MailUser"
    result = cli("--replay", CASES / "exchange-not-found.yaml", "exchange", "mailbox", "get", "--identity",
                 "nobody@contoso.example")  # fmt: skip
    assert "couldn't be found" in result.one_line_error(4)


def test_exchange_direct_options_follow_the_server_endpoint(mocker: MockerFixture) -> None:
    """Live, directly: http://<host>/PowerShell on 80 with Kerberos, unless given otherwise."""
    connect = mocker.patch.object(Targets, "connect", side_effect=_Stop("stop before connecting"))
    psbridge.cli.main.main(["--host", "ex01.contoso.example", "exchange", "mailbox", "get", "--identity", "x"])
    options = connect.call_args.args[0]
    assert options.endpoint == "http://ex01.contoso.example:80/PowerShell"
    assert (options.configuration_name, options.auth) == ("Microsoft.Exchange", "kerberos")


class _Stop(Exception):
    pass
