# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""The inventory plugin psbridge.hybrid.psbridge on psbridge config files (examples/psbridge.toml and made ones)."""

from __future__ import annotations

import os

import pytest

from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader

from ansible_collections.psbridge.hybrid.plugins.inventory import psbridge as plugin_module

pytest.importorskip("psbridge")

REPOSITORY = os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 7))
EXAMPLE = os.path.join(REPOSITORY, "examples", "psbridge.toml")
SECRET = "S3cret-never-shown-" + "4f9a"
HOST_VARS = {"psbridge_target", "psbridge_config", "psbridge_role", "ansible_host", "ansible_port"}


@pytest.fixture(autouse=True)
def _no_user_config(monkeypatch, tmp_path):
    """psbridge's default lookup finds nothing of the person running the tests."""
    monkeypatch.delenv("PSBRIDGE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def source(folder, text, name="hybrid.psbridge.yml"):
    path = folder / name
    path.write_text("plugin: psbridge.hybrid.psbridge\n" + text, encoding="utf-8")
    return str(path)


def parse(path):
    plugin = inventory_loader.get("psbridge.hybrid.psbridge")
    inventory = InventoryData()
    plugin.parse(inventory, DataLoader(), path, cache=False)
    return inventory


def members(inventory, group):
    return sorted(host.name for host in inventory.groups[group].hosts)


def children(inventory, group):
    return sorted(child.name for child in inventory.groups[group].child_groups)


@pytest.mark.parametrize("name", ["psbridge.yml", "psbridge.yaml", "hybrid.psbridge.yml", "msp.psbridge.yaml"])
def test_its_sources_are_psbridge_yml_files(tmp_path, name):
    plugin = inventory_loader.get("psbridge.hybrid.psbridge")
    assert plugin.verify_file(source(tmp_path, "", name))


@pytest.mark.parametrize("name", ["inventory.yml", "psbridge.toml", "mypsbridge.yml", "psbridge.yml.bak"])
def test_other_files_are_not_its_sources(tmp_path, name):
    plugin = inventory_loader.get("psbridge.hybrid.psbridge")
    assert not plugin.verify_file(source(tmp_path, "", name))
    assert not plugin.verify_file(str(tmp_path / "missing.psbridge.yml"))


def test_the_example_config_lists_its_targets_in_their_role_groups(tmp_path):
    inventory = parse(source(tmp_path, "config: %s\n" % EXAMPLE))
    assert members(inventory, "psbridge_connect") == ["connect", "connect-staging"]
    assert members(inventory, "psbridge_cloudsync_agent") == ["cloudsync-agent"]
    assert [members(inventory, "psbridge_" + role) for role in ("exo", "exchange", "dc")] == [
        ["exo"], ["exchange"], ["dc"]]
    assert children(inventory, "psbridge") == ["psbridge_" + role for role in
                                               ("cloudsync_agent", "connect", "dc", "exchange", "exo")]
    assert sorted(inventory.hosts) == ["cloudsync-agent", "connect", "connect-staging", "dc", "exchange", "exo"]


def test_a_host_knows_its_target_config_host_and_port_and_nothing_else(tmp_path):
    inventory = parse(source(tmp_path, "config: %s\n" % EXAMPLE))
    staging = inventory.get_host("connect-staging").vars
    assert set(staging) - {"inventory_file", "inventory_dir"} == HOST_VARS
    assert {key: staging[key] for key in HOST_VARS} == {
        "psbridge_target": "connect-staging", "psbridge_config": EXAMPLE, "psbridge_role": "connect",
        "ansible_host": "connect02.contoso.com", "ansible_port": 5986,
    }
    assert inventory.get_host("cloudsync-agent").vars["psbridge_role"] == "cloudsync-agent"
    assert inventory.get_host("exchange").vars["ansible_port"] == 80  # the server's own endpoint, over HTTP


def test_no_credential_setting_of_the_config_reaches_the_inventory(tmp_path, monkeypatch):
    monkeypatch.setenv("HYBRID_PW", SECRET)
    config = tmp_path / "psbridge.toml"
    config.write_text(
        '[defaults]\nusername = "CONTOSO\\\\svc"\npassword_env = "HYBRID_PW"\n'
        '[targets.exo-tenant1]\nrole = "exo"\nhost = "jump01.contoso.com"\norganization = "t1.onmicrosoft.com"\n'
        'app_id = "11111111-2222-3333-4444-555555555555"\ncertificate_thumbprint = "ABCDEF0123456789"\n'
        '[targets.connect]\nhost = "connect01.contoso.com"\nport = 5985\ntls = false\n',
        encoding="utf-8",
    )
    inventory = parse(source(tmp_path, "config: psbridge.toml\n"))  # relative to the source's folder
    shown = repr([inventory.get_host(name).vars for name in inventory.hosts])
    for value in (SECRET, "HYBRID_PW", "svc", "11111111-2222", "ABCDEF0123456789"):
        assert value not in shown
    assert inventory.get_host("connect").vars["ansible_port"] == 5985
    assert members(inventory, "psbridge_exo") == ["exo-tenant1"]


@pytest.mark.parametrize("table", ['[targets.connect]\nhost = "c1"\npassword = "%s"\n',
                                   '[graph]\ntenant_id = "t"\nclient_secret = "%s"\n'])
def test_a_secret_written_in_the_config_fails_the_source_without_showing_it(tmp_path, table):
    (tmp_path / "psbridge.toml").write_text(table % SECRET, encoding="utf-8")
    with pytest.raises(AnsibleParserError) as raised:
        parse(source(tmp_path, "config: psbridge.toml\n"))
    assert "never stored in the config file" in str(raised.value)
    assert SECRET not in str(raised.value)


def test_without_the_option_psbridge_own_lookup_applies(tmp_path, monkeypatch):
    monkeypatch.setenv("PSBRIDGE_CONFIG", EXAMPLE)
    inventory = parse(source(tmp_path, ""))
    assert inventory.get_host("dc").vars["psbridge_config"] == EXAMPLE


def test_no_config_file_at_all_is_an_error_naming_where_it_looked(tmp_path):
    with pytest.raises(AnsibleParserError, match="no file at .*xdg.*config.toml"):
        parse(source(tmp_path, ""))
    with pytest.raises(AnsibleParserError, match="does not exist"):
        parse(source(tmp_path, "config: nowhere.toml\n"))


def test_without_a_prefix_groups_are_the_roles_and_variables_stay_on_the_hosts(tmp_path):
    inventory = parse(source(tmp_path, "config: %s\ngroup_prefix: ''\n" % EXAMPLE))
    assert members(inventory, "connect") == ["connect", "connect-staging"]
    assert members(inventory, "cloudsync_agent") == ["cloudsync-agent"]
    assert children(inventory, "psbridge") == ["cloudsync_agent", "connect", "dc", "exchange", "exo"]
    # the host `exchange` and the group `exchange` share a name: the variables are the host's, not the group's
    assert inventory.get_host("exchange").vars["ansible_port"] == 80
    assert not set(inventory.groups["exchange"].vars) & HOST_VARS


def test_constructed_groups_and_variables(tmp_path):
    text = ("config: %s\nkeyed_groups:\n  - key: ansible_port | string\n    prefix: port\n"
            "compose:\n  endpoint: ansible_host ~ ':' ~ ansible_port\n" % EXAMPLE)
    inventory = parse(source(tmp_path, text))
    assert members(inventory, "port_80") == ["exchange"]
    assert inventory.get_host("dc").vars["endpoint"] == "dc01.contoso.com:5986"


def test_without_psbridge_the_source_fails_with_the_install_hint(tmp_path, monkeypatch):
    monkeypatch.setattr(plugin_module, "HAS_PSBRIDGE", False)
    with pytest.raises(AnsibleParserError, match=r"required Python library \(psbridge\)"):
        parse(source(tmp_path, "config: %s\n" % EXAMPLE))


def test_the_config_option_expands_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("PSB_EXAMPLES", os.path.dirname(EXAMPLE))
    inventory = parse(source(tmp_path, "config: ${PSB_EXAMPLES}/psbridge.toml\n"))
    assert inventory.get_host("exo").vars["psbridge_config"] == EXAMPLE


def test_a_target_psbridge_cannot_use_fails_the_source_naming_it(tmp_path):
    (tmp_path / "psbridge.toml").write_text(
        '[targets.connect]\nhost = "c1"\nauth = "certificate"\ncertificate_pem = "missing.pem"\n'
        'certificate_key_pem = "missing.key"\n', encoding="utf-8")
    with pytest.raises(AnsibleParserError, match="target 'connect'.*missing.pem is not a file"):
        parse(source(tmp_path, "config: psbridge.toml\n"))
