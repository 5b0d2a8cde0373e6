# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""The Exchange Online action plugins in-process on recordings (no ansible-playbook, no endpoint).

recorded_sessions/demo/exo.yaml answers the reads; recorded_sessions/ansible/exo-*/ hold the playbooks' tenant
before the writes (exo-before, with them), after them (exo-after), and before without any write
(exo-before-no-writes: a check-mode run served from it would fail on any write it sent).
"""

from __future__ import annotations

import functools
import json
import os

import pytest

from ansible.errors import AnsibleActionFail

from ansible_collections.psbridge.hybrid.plugins.action import exo_cloud_managed, exo_mailbox_info, exo_org_config
from ansible_collections.psbridge.hybrid.plugins.module_utils import exo
from ansible_collections.psbridge.hybrid.tests.unit.plugins.action import runner

pytest.importorskip("psbridge")

DEMO, ANSIBLE = runner.DEMO, runner.ANSIBLE
BEFORE, AFTER = os.path.join(ANSIBLE, "exo-before"), os.path.join(ANSIBLE, "exo-after")
NO_WRITES = os.path.join(ANSIBLE, "exo-before-no-writes")
SIGN_IN = {"organization": "contoso.onmicrosoft.com", "app_id": "6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b",
           "certificate_thumbprint": "3A8F2C1D9E7B6A5F4C3D2E1F0A9B8C7D6E5F4A3B"}
run = functools.partial(runner.run, host="jump01")  # the tenant's jump host
MANY = ["nestor@contoso.example", "patti@contoso.example", "lynne@contoso.example", "isaiah@contoso.example"]


def test_one_mailbox_and_a_listing_from_the_demo():
    one = run(exo_mailbox_info.ActionModule, {"replay": DEMO, "identity": "alex@contoso.example"})
    assert one["changed"] is False
    assert (one["mailbox"]["is_dir_synced"], one["mailbox"]["is_exchange_cloud_managed"]) == (True, False)
    listing = run(exo_mailbox_info.ActionModule, {"replay": DEMO})
    names = [m["user_principal_name"] for m in listing["mailboxes"]]
    assert names[:2] == ["adele@contoso.example", "alex@contoso.example"]
    assert (listing["count"], listing["truncated"]) == (4, False)
    managed = run(exo_mailbox_info.ActionModule, {"replay": DEMO, "cloud_managed": True})
    assert [m["identity"] for m in managed["mailboxes"]] == ["Adele Vance"]


def test_the_sign_in_options_reach_the_jump_host():
    result = run(exo_mailbox_info.ActionModule, dict(SIGN_IN, replay=BEFORE, identity="alex@contoso.example"))
    assert "failed" not in result, result
    other = dict(SIGN_IN, certificate_thumbprint="0" * 40)  # not the recorded sign-in: a replay miss
    missed = run(exo_mailbox_info.ActionModule, dict(other, replay=BEFORE, identity="alex@contoso.example"))
    assert missed["error"]["error"] == "ReplayMissError"
    assert "Connect-ExchangeOnline" in missed["msg"]


def test_an_exo_target_of_the_config_file_signs_in_with_its_own_settings(tmp_path):
    config = tmp_path / "psbridge.toml"
    lines = ['[targets.exo]', 'host = "jump01.contoso.example"']
    lines += ['%s = "%s"' % (name, value) for name, value in SIGN_IN.items()]
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = {"target": "exo", "config": str(config), "replay": AFTER, "identity": "alex@contoso.example"}
    result = run(exo_mailbox_info.ActionModule, args)
    assert result["mailbox"]["is_exchange_cloud_managed"] is True, result
    config.write_text(config.read_text(encoding="utf-8").replace(SIGN_IN["certificate_thumbprint"], "1" * 40),
                      encoding="utf-8")
    assert "Connect-ExchangeOnline" in run(exo_mailbox_info.ActionModule, args)["msg"]  # its sign-in was sent
    both = run(exo_mailbox_info.ActionModule, dict(args, organization="contoso.onmicrosoft.com"))
    assert both["error"]["error"] == "InputError" and "own settings" in both["msg"]


def test_a_sign_in_that_cannot_work_is_bad_input_before_anything_is_sent():
    result = run(exo_mailbox_info.ActionModule, {"replay": DEMO, "organization": "contoso.example", "app_id": "x",
                                                 "certificate_thumbprint": "y", "identity": "a@b"})
    assert (result["error"]["error"], result["error"]["exit_code"]) == ("InputError", 2)
    assert ".onmicrosoft.com" in result["msg"]
    # Live, with no sign-in: refused before the session's first call (it would fail to connect to this host).
    live = run(exo_mailbox_info.ActionModule, {"host": "jump01.contoso.example", "username": "ci",
                                               "password": "Not-used-1", "identity": "a@b"})
    assert live["error"]["error"] == "InputError"
    assert "organization" in live["msg"]


def test_one_mailbox_check_mode_sends_no_write_then_changed_then_not():
    args = dict(SIGN_IN, identity="alex@contoso.example", enabled=True)
    dry = run(exo_cloud_managed.ActionModule, dict(args, replay=NO_WRITES), check_mode=True, diff=True)
    assert "failed" not in dry, dry  # a write would have missed its recording
    assert dry["changed"] is True
    assert dry["diff"]["before"]["is_exchange_cloud_managed"] is False
    assert dry["diff"]["after"]["is_exchange_cloud_managed"] is True
    assert dry["mailboxes"] == [{"identity": "alex@contoso.example", "outcome": "WouldChange", "before": False}]
    first = run(exo_cloud_managed.ActionModule, dict(args, replay=BEFORE))
    second = run(exo_cloud_managed.ActionModule, dict(args, replay=AFTER))
    assert (first["changed"], second["changed"]) == (True, False)
    assert first["after"]["is_exchange_cloud_managed"] and second["before"]["is_exchange_cloud_managed"]
    assert second["mailboxes"][0]["outcome"] == "AlreadySet"


def test_many_mailboxes_check_mode_then_changed_then_not_with_one_journal(tmp_path):
    journal = str(tmp_path / "rollout.jsonl")
    args = dict(SIGN_IN, identities=MANY, enabled=True, journal=journal)
    dry = run(exo_cloud_managed.ActionModule, dict(args, replay=NO_WRITES), check_mode=True, diff=True)
    assert "failed" not in dry, dry
    assert (dry["changed"], dry["counts"]["would_change"], dry["counts"]["already_set"]) == (True, 3, 1)
    assert dry["plan"]["would_change"] is True and not os.path.exists(journal)  # the real journal is untouched
    assert dry["diff"]["before"].splitlines() == ["%s: IsExchangeCloudManaged False" % m for m in MANY[:3]]
    assert dry["diff"]["after"].splitlines() == ["%s: IsExchangeCloudManaged True" % m for m in MANY[:3]]
    first = run(exo_cloud_managed.ActionModule, dict(args, replay=BEFORE))
    assert "failed" not in first, first
    assert (first["changed"], first["counts"]["changed"], first["counts"]["already_set"]) == (True, 3, 1)
    assert [m["outcome"] for m in first["mailboxes"]] == ["Changed"] * 3 + ["AlreadySet"]
    second = run(exo_cloud_managed.ActionModule, dict(args, replay=AFTER))
    assert "failed" not in second, second
    assert (second["changed"], second["counts"]["skipped"]) == (False, 4)  # the journal's, read again: not reverted
    with open(journal, encoding="utf-8") as handle:
        assert json.loads(handle.readline())["tenant"] == "contoso.onmicrosoft.com"


def test_a_failing_mailbox_fails_the_task_with_its_error_class(tmp_path):
    args = dict(SIGN_IN, replay=BEFORE, identities=["joni@contoso.example", "grady@contoso.example"], enabled=True,
                journal=str(tmp_path / "j.jsonl"))
    result = run(exo_cloud_managed.ActionModule, args)
    assert result["failed"] is True
    assert result["changed"] is True  # Joni was switched all the same
    assert result["msg"].startswith("SyncedObjectError: 1 of 2 mailboxes")
    assert (result["error"]["error"], result["error"]["mailboxes"]) == ("SyncedObjectError", ["grady@contoso.example"])
    grady = result["mailboxes"][1]
    assert (grady["outcome"], grady["error_class"]) == ("Failed", "SyncedObjectError")


def test_the_default_journal_is_per_host_tenant_and_direction(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    path = exo.default_journal("jump01", "contoso.onmicrosoft.com", True)
    assert path == str(tmp_path / ".ansible/psbridge/journals/jump01/contoso.onmicrosoft.com-cloud-managed-true.jsonl")
    assert exo.default_journal("../x", None, False).endswith("/journals/x/tenant-cloud-managed-false.jsonl")
    result = run(exo_cloud_managed.ActionModule, dict(SIGN_IN, replay=BEFORE, identities=MANY, enabled=True),
                 task_vars={"inventory_hostname": "tenant-a"})
    assert result["journal"] == exo.default_journal("tenant-a", "contoso.onmicrosoft.com", True)
    assert os.stat(os.path.dirname(result["journal"])).st_mode & 0o777 == 0o700


def test_org_default_read_check_mode_changed_then_not(monkeypatch):
    read = run(exo_org_config.ActionModule, {"replay": DEMO})
    assert read["organization_config"]["cloud_managed_by_default"] is False
    assert "warnings" not in read
    # The demo holds the write, so a replay miss would not show one: every command sent is seen here instead.
    session_module = pytest.importorskip("psbridge.session")
    sent, invoke = [], session_module.Session.invoke
    monkeypatch.setattr(session_module.Session, "invoke",
                        lambda self, command, **kw: sent.append(command.display()) or invoke(self, command, **kw))
    args = dict(SIGN_IN, cloud_managed_by_default=True)
    dry = run(exo_org_config.ActionModule, dict(args, replay=DEMO), check_mode=True, diff=True)
    assert "failed" not in dry, dry
    assert sent and not [command for command in sent if "Set-OrganizationConfig" in command], sent
    assert dry["changed"] is True and dry["diff"]["after"]["cloud_managed_by_default"] is True
    assert "on-premises mailboxes" in dry["warnings"][0]  # TENANT_DEFAULT_WARNING
    first = run(exo_org_config.ActionModule, dict(args, replay=BEFORE))
    assert [command for command in sent if "Set-OrganizationConfig" in command]  # the spy sees writes
    second = run(exo_org_config.ActionModule, dict(args, replay=AFTER))
    assert (first["changed"], second["changed"]) == (True, False)
    assert "warnings" not in second


def test_bad_options_fail_before_anything_is_opened():
    with pytest.raises(AnsibleActionFail):
        run(exo_cloud_managed.ActionModule, {"replay": DEMO, "enabled": True})  # no mailbox
    with pytest.raises(AnsibleActionFail):
        run(exo_cloud_managed.ActionModule, {"replay": DEMO, "identity": "a@b", "identities": ["c@d"], "enabled": True})
    with pytest.raises(AnsibleActionFail):
        run(exo_mailbox_info.ActionModule, {"replay": DEMO, "identity": "a@b", "filter": "x"})


def test_the_spec_defaults_are_psbridge_defaults():
    from psbridge.defaults import DEFAULT_BATCH_SIZE, DEFAULT_PACE_S  # pylint: disable=import-outside-toplevel

    spec = exo_cloud_managed.ActionModule.ARGUMENT_SPEC
    assert (spec["batch_size"]["default"], spec["pace"]["default"]) == (DEFAULT_BATCH_SIZE, DEFAULT_PACE_S)
