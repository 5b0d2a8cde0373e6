# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""The action plugins run in-process on psbridge's demo recordings (no ansible-playbook, no endpoint)."""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest

from ansible.errors import AnsibleActionFail

from ansible_collections.psbridge.hybrid.plugins.action import adsync_info, adsync_scheduler
from ansible_collections.psbridge.hybrid.plugins.plugin_utils import action as base
from ansible_collections.psbridge.hybrid.tests.unit.plugins.action.runner import DEMO, run

pytest.importorskip("psbridge")


def test_info_reads_the_demo():
    result = run(adsync_info.ActionModule, {"replay": DEMO, "gather": ["version", "scheduler"]})
    assert result["changed"] is False
    assert result["version"]["version"] == "2.5.190.0"
    assert result["scheduler"]["sync_cycle_enabled"] is True
    assert "global_settings" not in result


def test_check_mode_is_the_dry_run_and_sends_nothing():
    result = run(adsync_scheduler.ActionModule, {"replay": DEMO, "sync_cycle_enabled": False}, check_mode=True,
                 diff=True)
    assert "failed" not in result  # a write would have missed its recording
    assert result["changed"] is True
    assert result["diff"] == {"before": result["before"], "after": result["after"]}
    assert (result["before"]["sync_cycle_enabled"], result["after"]["sync_cycle_enabled"]) == (True, False)


def test_a_matching_state_is_not_changed():
    result = run(adsync_scheduler.ActionModule, {"replay": DEMO, "sync_cycle_enabled": True})
    assert result["changed"] is False
    assert "diff" not in result


def test_a_psbridge_error_fails_the_task_with_its_class():
    result = run(adsync_scheduler.ActionModule, {"replay": DEMO, "sync_cycle_enabled": False})
    assert result["failed"] is True
    assert result["error"]["error"] == "ReplayMissError"
    assert result["msg"].startswith("ReplayMissError: ")


def test_the_password_never_reaches_the_result(monkeypatch):
    errors = pytest.importorskip("psbridge.errors")
    secret = "S3cret-for-this-test"

    def refuse(targets, params, host_vars):
        raise errors.ConnectError("%s refused the password %s" % (host_vars["ansible_host"], params["password"]))

    monkeypatch.setattr(base, "open_session", refuse)
    args = {"gather": ["scheduler"], "password": secret}
    result = run(adsync_info.ActionModule, args, task_vars={"inventory_hostname": "c1", "ansible_host": "h"})
    assert result["error"]["error"] == "ConnectError"
    assert secret not in repr(result)
    assert result["msg"] == "ConnectError: h refused the password <secret>"


def test_a_host_password_in_what_a_task_returns_is_masked(monkeypatch):
    secret = "Host-S3cret"
    monkeypatch.setattr(base, "open_session", lambda targets, params, host_vars: (MagicMock(), []))
    monkeypatch.setattr(adsync_info.ActionModule, "act", lambda self, targets, session, params: {"echo": "x" + secret})
    result = run(adsync_info.ActionModule, {}, task_vars={"inventory_hostname": "c1", "ansible_password": secret})
    assert result["echo"] == "x********"


def test_bad_options_fail_before_anything_is_opened():
    with pytest.raises(AnsibleActionFail):
        run(adsync_scheduler.ActionModule, {"replay": DEMO})  # no setting given
    with pytest.raises(AnsibleActionFail):
        run(adsync_info.ActionModule, {"replay": DEMO, "gather": ["everything"]})


def test_without_psbridge_the_task_says_how_to_get_it(monkeypatch):
    monkeypatch.setattr(base, "HAS_PSBRIDGE", False)
    result = run(adsync_info.ActionModule, {"replay": DEMO})
    assert result["failed"] is True
    assert "Failed to import the required Python library (psbridge)" in result["msg"]
