# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""How a task's options and an inventory host's psrp variables become psbridge connection options."""

from __future__ import annotations

import os

import pytest

from ansible_collections.psbridge.hybrid.plugins.module_utils.connection import (
    CONNECTION_SPEC,
    TARGET_PASSWORD_HINT,
    host_values,
    open_session,
    task_targets,
    task_values,
)

REPOSITORY = os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 7))
DEMO = os.path.join(REPOSITORY, "recorded_sessions", "demo")
EXO = """
[defaults]
username = "svc"
auth = "ntlm"
[targets.exo]
host = "jump01.contoso.example"
organization = "contoso.onmicrosoft.com"
app_id = "6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"
certificate_thumbprint = "3A8F2C1D9E7B6A5F4C3D2E1F0A9B8C7D6E5F4A3B"
[targets.exchange]
host = "ex01.contoso.example"
via = "exo"
"""


def params(**given):
    """A task's connection options as Ansible's validation leaves them: every option, None when not given."""
    found = dict.fromkeys(CONNECTION_SPEC)
    found.update(given)
    return found


@pytest.fixture
def config(tmp_path, monkeypatch):
    for name in [n for n in os.environ if n.startswith("PSBRIDGE_")]:
        monkeypatch.delenv(name)
    path = tmp_path / "psbridge.toml"
    path.write_text(EXO, encoding="utf-8")
    path.chmod(0o600)
    return str(path)


def test_host_variables_of_the_psrp_connection_plugin():
    values = host_values({
        "inventory_hostname": "connect01",
        "ansible_host": "10.0.0.5",
        "ansible_port": "5985",
        "ansible_user": "CONTOSO\\svc",
        "ansible_password": "pw",
        "ansible_psrp_auth": "ntlm",
        "ansible_psrp_message_encryption": "always",
        "ansible_psrp_read_timeout": "90",
    })
    assert values == {
        "host": "10.0.0.5", "port": 5985, "tls": False, "username": "CONTOSO\\svc", "password": "pw",
        "auth": "ntlm", "encryption": "always", "read_timeout": 90,
    }


def test_psrp_specific_variables_win_over_the_generic_ones():
    values = host_values({"inventory_hostname": "c1", "ansible_host": "a", "ansible_psrp_host": "b",
                          "ansible_user": "u1", "ansible_psrp_user": "u2", "ansible_port": 1, "ansible_psrp_port": 2})
    assert (values["host"], values["username"], values["port"]) == ("b", "u2", 2)


def test_the_inventory_name_is_the_host_when_nothing_else_says():
    assert host_values({"inventory_hostname": "connect01.contoso.com"}) == {"host": "connect01.contoso.com"}


def test_protocol_and_certificate_variables():
    assert host_values({"ansible_psrp_protocol": "https", "ansible_port": 5985})["tls"] is True
    assert host_values({"ansible_psrp_protocol": "http"})["tls"] is False
    assert "tls" not in host_values({"ansible_port": 5986})  # psbridge's default, HTTPS
    assert host_values({"ansible_psrp_cert_validation": "ignore"})["cert_validation"] is False
    assert host_values({"ansible_psrp_ca_cert": "/etc/ca.pem"})["cert_validation"] == "/etc/ca.pem"


def test_empty_variables_are_not_set():
    assert host_values({"ansible_user": "", "ansible_psrp_user": None}) == {}


def test_task_options_given_and_not_given():
    params = {"host": "h", "port": None, "tls": False, "cert_validation": None, "ca_file": None, "password": "p"}
    assert task_values(params) == {"host": "h", "tls": False, "password": "p"}
    assert task_values({"ca_file": "/ca.pem", "cert_validation": True}) == {"cert_validation": "/ca.pem"}
    assert task_values({"cert_validation": False}) == {"cert_validation": False}


@pytest.mark.parametrize("target, first", [("exo", "Connect-ExchangeOnline"),
                                           ("exchange", "exchange/Connect-ExchangeServer.ps1")])
def test_a_target_with_a_task_password_is_opened_as_psbridge_opens_it(config, target, first):
    pytest.importorskip("psbridge")
    from psbridge import Command  # pylint: disable=import-outside-toplevel

    given = params(target=target, config=config, replay=DEMO, password="Pw-1")
    targets = task_targets(given)
    session, secrets = open_session(targets, given, {})
    try:
        session.invoke(Command.cmdlet("Select-Object"))
    finally:
        targets.close()
    sent = [key.statements[0].command for key in session.transport.server.keys_seen]
    assert sent[:2] == [first, "Select-Object"]  # the sign-in, or the jump host's hop, came first
    assert secrets == ["Pw-1"]


def test_a_target_without_a_password_says_how_a_task_gives_one(config):
    errors = pytest.importorskip("psbridge.errors")
    with pytest.raises(errors.InputError) as info:
        given = params(target="exo", config=config)
        open_session(task_targets(given), given, {})
    assert str(info.value) == ("no password for svc@jump01.contoso.example (target exo): set PSBRIDGE_PASSWORD (%s)"
                               % TARGET_PASSWORD_HINT)
