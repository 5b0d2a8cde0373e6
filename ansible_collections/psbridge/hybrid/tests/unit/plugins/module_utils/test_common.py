# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""psbridge errors and changes as task results (needs psbridge: run where the controller has it)."""

from __future__ import annotations

import pytest

from ansible_collections.psbridge.hybrid.plugins.module_utils import common

psbridge_errors = pytest.importorskip("psbridge.errors")


def test_a_psbridge_error_becomes_a_failed_result_with_its_class_and_exit_code():
    exc = psbridge_errors.AccessDeniedError("Access is denied for pw", target="connect01", command="script x.ps1",
                                            error_id="System.UnauthorizedAccessException")
    result = common.error_result(exc, secrets=["pw"])
    assert result["failed"] is True
    assert result["msg"] == "AccessDeniedError: Access is denied for <secret>"
    assert result["error"] == {
        "error": "AccessDeniedError", "message": "Access is denied for <secret>", "target": "connect01",
        "command": "script x.ps1", "error_id": "System.UnauthorizedAccessException", "exit_code": 4,
        "exit_meaning": "remote", "transient": False,
    }


def test_a_transient_transport_error_says_so():
    result = common.error_result(psbridge_errors.ConnectError("connection refused"))
    assert (result["error"]["exit_code"], result["error"]["exit_meaning"], result["error"]["transient"]) == (
        3, "transport", True)


def test_an_error_not_from_psbridge_is_internal():
    result = common.error_result(ValueError("pw leaked"), secrets=["pw"])
    assert result["msg"] == "ValueError: <secret> leaked"
    assert result["error"]["exit_code"] == 70


def test_a_change_in_check_mode_is_changed_when_it_would_change():
    from psbridge.models import Change  # pylint: disable=import-outside-toplevel
    from pydantic import BaseModel  # pylint: disable=import-outside-toplevel

    class State(BaseModel):
        enabled: bool

    dry = Change[State](changed=True, dry_run=True, before=State(enabled=True), after=State(enabled=False))
    assert common.change_result(dry, check_mode=True, diff=True) == {
        "changed": True, "before": {"enabled": True}, "after": {"enabled": False},
        "diff": {"before": {"enabled": True}, "after": {"enabled": False}},
    }
    same = Change[State](changed=False, before=State(enabled=True), after=State(enabled=True))
    assert common.change_result(same, check_mode=False, diff=False) == {
        "changed": False, "before": {"enabled": True}, "after": {"enabled": True}}
