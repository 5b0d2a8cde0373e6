# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""adsync_sync_cycle, cloudsync_job(_info), hybrid_readiness and duplicate_mailbox_info in-process on recordings.

The recordings: psbridge's demo, recorded_sessions/cases/ and recorded_sessions/ansible/ (the Cloud Sync job
before, during and after a suspend, over both backends; a Connect server that can start a cycle, reads only).
A write the recordings do not hold is a replay miss, so a check-mode result without a failure sent nothing.
"""

from __future__ import annotations

import os
from unittest.mock import MagicMock

import pytest


from ansible_collections.psbridge.hybrid.plugins.action import (
    adsync_sync_cycle,
    cloudsync_job,
    cloudsync_job_info,
    duplicate_mailbox_info,
    hybrid_readiness,
)
from ansible_collections.psbridge.hybrid.plugins.module_utils import graph
from ansible_collections.psbridge.hybrid.tests.unit.plugins.action.runner import ANSIBLE, DEMO, RECORDINGS, run

pytest.importorskip("psbridge")

from psbridge.config import CLOUDSYNC_VIA_ENV  # noqa: E402  pylint: disable=wrong-import-position

CONTOSO_JOB = "AD2AADProvisioning.8c2f0e5a1d7b4c9e9f3a6b2d5e8c1a47.3f9d2b6e-1c4a-4e8b-9a7d-5c2e8f1b4d60"
FABRIKAM_JOB = "AD2AADProvisioning.d41e7a3c9b2f4e6a8c5d1f0b7e9a2c35.9b1e4c7a-2d5f-4a8e-b3c6-7f0d2e9a5b14"


@pytest.fixture(autouse=True)
def _no_outside_configuration(monkeypatch, tmp_path):
    """No psbridge config file or Cloud Sync/Graph variables of the machine running the tests."""
    monkeypatch.delenv("PSBRIDGE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # the per-user file: absent
    for name in list(os.environ):
        if name.startswith("PSBRIDGE_GRAPH_") or name == CLOUDSYNC_VIA_ENV:
            monkeypatch.delenv(name)


# -- adsync_sync_cycle ----------------------------------------------------------------------------------


def test_a_started_cycle_is_a_change_and_can_be_waited_for():
    result = run(adsync_sync_cycle.ActionModule, {"replay": DEMO, "wait": True, "poll": 0.01})
    assert "failed" not in result
    assert (result["changed"], result["started"], result["finished"], result["result"]) == (True, True, True, "Success")


def test_sync_cycle_check_mode_says_a_cycle_would_start_and_sends_nothing():
    idle = os.path.join(ANSIBLE, "sync-cycle-idle")
    result = run(adsync_sync_cycle.ActionModule, {"replay": idle}, check_mode=True)
    assert "failed" not in result  # Start-SyncCycle.ps1 is not recorded there: sending it would have missed
    assert (result["changed"], result["would_change"], result["started"], result["dry_run"]) == (True, True, False, True)
    sent = run(adsync_sync_cycle.ActionModule, {"replay": idle})
    assert sent["error"]["error"] == "ReplayMissError"  # the same recording does catch a start


def test_a_cycle_already_running_is_reported_not_failed():
    running = os.path.join(RECORDINGS, "cases", "adsync-sync-running.yaml")
    result = run(adsync_sync_cycle.ActionModule, {"replay": running})
    assert "failed" not in result
    assert (result["changed"], result["started"], result["reason"]) == (False, False, "InProgress")


# -- cloudsync_job ----------------------------------------------------------------------------------------


def _suspend(scenario, via, check_mode=False, **extra):
    args = {"replay": os.path.join(ANSIBLE, scenario), "job_id": CONTOSO_JOB, "state": "suspended", "via": via}
    args.update(extra)
    return run(cloudsync_job.ActionModule, args, check_mode=check_mode, diff=True)


def test_suspend_check_mode_predicts_the_change_and_sends_nothing():
    result = _suspend("cloudsync-active", "graph", check_mode=True)
    assert "failed" not in result  # cloudsync-active holds Graph reads only: a pause sent would have missed
    assert result["changed"] is True
    assert (result["before"]["code"], result["after"]["code"], result["via"]) == ("Active", "Paused", "graph")
    assert result["diff"] == {"before": result["before"], "after": result["after"]}
    assert _suspend("cloudsync-active", "graph")["error"]["error"] == "ReplayMissError"


def test_suspend_check_mode_over_psrp_is_the_dry_run():
    result = _suspend("cloudsync-before", "psrp", check_mode=True)
    assert (result.get("failed"), result["changed"], result["after"]["code"]) == (None, True, "Paused")
    assert result["note"] == "dry run: Suspend-AADCloudSyncToolsJob would be sent"


@pytest.mark.parametrize("via", ["graph", "psrp"])
def test_suspend_changes_then_does_not(via):
    first, second = _suspend("cloudsync-before", via), _suspend("cloudsync-after", via)
    assert "failed" not in first and "failed" not in second
    assert (first["changed"], first["before"]["code"], first["after"]["code"]) == (True, "Active", "Paused")
    assert (second["changed"], second["before"]["code"], second["after"]["code"]) == (False, "Paused", "Paused")
    assert "was not sent" in second["note"]


def test_running_leaves_an_active_job_alone_and_starts_a_paused_one_in_check_mode():
    args = {"job_id": CONTOSO_JOB, "state": "running", "via": "graph"}
    active = run(cloudsync_job.ActionModule, dict(args, replay=os.path.join(ANSIBLE, "cloudsync-active")))
    assert (active.get("failed"), active["changed"]) == (None, False)
    paused = run(cloudsync_job.ActionModule, dict(args, replay=os.path.join(ANSIBLE, "cloudsync-after")),
                 check_mode=True)
    assert (paused.get("failed"), paused["changed"], paused["action"]) == (None, True, "resume")


def test_restarted_always_changes():
    args = {"replay": os.path.join(ANSIBLE, "cloudsync-after"), "job_id": CONTOSO_JOB, "state": "restarted",
            "scope": ["Watermark", "Escrows"], "via": "graph"}
    result = run(cloudsync_job.ActionModule, args, check_mode=True)
    assert (result.get("failed"), result["changed"], result["reset_scope"]) == (None, True, "Watermark, Escrows")


def test_restart_scopes_are_checked_before_anything_is_sent():
    base = {"replay": DEMO, "job_id": FABRIKAM_JOB}
    over_psrp = run(cloudsync_job.ActionModule, dict(base, state="restarted", scope=["Watermark"], via="psrp"))
    assert over_psrp["error"]["error"] == "InputError"
    force = run(cloudsync_job.ActionModule, dict(base, state="restarted", scope=["ForceDeletes"], via="graph"))
    assert force["error"]["error"] == "InputError" and "confirm" in force["msg"]
    misplaced = run(cloudsync_job.ActionModule, dict(base, state="suspended", scope=["Full"], via="graph"))
    assert misplaced["error"]["error"] == "InputError"


def test_an_unknown_job_fails_with_its_error_class():
    args = {"replay": os.path.join(ANSIBLE, "cloudsync-after"), "job_id": CONTOSO_JOB + "0", "state": "suspended"}
    result = run(cloudsync_job.ActionModule, args)
    assert result["failed"] is True
    assert (result["error"]["error"], result["error"]["exit_meaning"]) == ("ObjectNotFoundError", "remote")
    assert result["msg"].startswith("ObjectNotFoundError: ")


# -- cloudsync_job_info and the backend -------------------------------------------------------------------


def test_both_backends_read_the_same_jobs():
    gather = ["status", "jobs", "schedule", "settings"]
    over_graph = run(cloudsync_job_info.ActionModule, {"replay": DEMO, "via": "graph", "gather": gather})
    over_psrp = run(cloudsync_job_info.ActionModule, {"replay": DEMO, "via": "psrp", "gather": gather})
    for result in (over_graph, over_psrp):
        assert "failed" not in result and result["changed"] is False
        assert [job["code"] for job in result["status"]] == ["Active", "Quarantine"]
        assert result["quarantined"] == [FABRIKAM_JOB]
        assert [job["id"] for job in result["jobs"]] == [CONTOSO_JOB, FABRIKAM_JOB]
    assert (over_graph["via"], over_psrp["via"]) == ("graph", "psrp")


def test_via_defaults_as_the_command_line_chooses(monkeypatch):
    targets = MagicMock(config=MagicMock(cloudsync_via=None))
    targets.has_graph.return_value = True
    assert graph.resolve_via({}, targets) == "graph"  # Graph recordings (or credentials) at hand
    targets.has_graph.return_value = False
    assert graph.resolve_via({}, targets) == "psrp"
    assert graph.resolve_via({"client_id": "x"}, targets) == "graph"
    monkeypatch.setenv(CLOUDSYNC_VIA_ENV, "psrp")
    targets.has_graph.return_value = True
    assert graph.resolve_via({}, targets) == "psrp"
    assert graph.resolve_via({"via": "graph"}, targets) == "graph"
    monkeypatch.setenv(CLOUDSYNC_VIA_ENV, "smoke-signals")
    with pytest.raises(Exception, match="must be psrp or graph"):
        graph.resolve_via({}, targets)


def test_a_graph_secret_goes_to_msal_not_to_the_environment():
    from ansible_collections.psbridge.hybrid.plugins.module_utils.connection import (  # pylint: disable=import-outside-toplevel
        task_targets,
    )

    params = {"tenant_id": "contoso.onmicrosoft.com", "client_id": "6f0e1c2d-3b4a-4958-8a7b-6c5d4e3f2a10",
              "client_secret": "Gr4ph-S3cret"}
    targets = task_targets(params, **graph.targets_arguments(params))
    client = targets.open_graph()
    try:
        assert client.tokens.credentials.tenant_id == "contoso.onmicrosoft.com"
        assert "Gr4ph-S3cret" in client.tokens.secrets  # what psbridge redacts from its logs and errors
        assert "PSBRIDGE_GRAPH_CLIENT_SECRET" not in os.environ
    finally:
        client.close()


def test_graph_secrets_never_reach_the_result(monkeypatch):
    errors = pytest.importorskip("psbridge.errors")
    from psbridge.targets import Targets  # pylint: disable=import-outside-toplevel

    def refuse(targets):
        raise errors.AuthenticationError("AADSTS7000215: invalid client secret %s"
                                         % targets.graph_secrets["client_secret"])

    monkeypatch.setattr(Targets, "open_graph", refuse)
    args = {"job_id": CONTOSO_JOB, "via": "graph", "client_id": "6f0e1c2d-3b4a-4958-8a7b-6c5d4e3f2a10",
            "tenant_id": "contoso.onmicrosoft.com", "client_secret": "Gr4ph-S3cret", "host": "127.0.0.1",
            "auth": "kerberos"}
    result = run(cloudsync_job_info.ActionModule, args)
    assert result["error"]["error"] == "AuthenticationError"
    assert "Gr4ph-S3cret" not in repr(result)


def test_over_graph_a_task_needs_no_windows_host(tmp_path):
    """Recordings of Graph alone, and no PSRP option at all (`hosts: localhost`): a Cloud Sync task over Graph
    opens no PSRP session, which would find no recording to replay."""
    os.symlink(os.path.join(DEMO, "graph"), str(tmp_path / "graph"))
    result = run(cloudsync_job_info.ActionModule, {"replay": str(tmp_path), "via": "graph", "gather": ["jobs"]})
    assert result.get("failed") is not True, result
    assert result["jobs"]


# -- runbooks ---------------------------------------------------------------------------------------------


def test_readiness_returns_the_report_as_facts_and_does_not_fail_by_default():
    result = run(hybrid_readiness.ActionModule, {"replay": DEMO})
    assert "failed" not in result and result["changed"] is False
    report = result["report"]
    assert (report["runbook"], report["status"], result["status"]) == ("cloud-managed-readiness", "warn", "warn")
    assert result["ansible_facts"]["psbridge_readiness"] == report
    assert [check["name"] for check in report["checks"]][:2] == ["connect-version", "cloud-sync-agent"]
    assert report["checks"][0]["evidence"]["as_of"] == "2026-11-25"  # judged when the demo was recorded


@pytest.mark.parametrize(("fail_on", "failed"), [("never", False), ("fail", False), ("warn", True)])
def test_readiness_fails_the_task_only_when_asked(fail_on, failed):
    result = run(hybrid_readiness.ActionModule, {"replay": DEMO, "fail_on": fail_on})
    assert bool(result.get("failed")) is failed
    if failed:
        assert result["msg"].startswith("cloud-managed-readiness: WARN (")
        assert "report" in result


def test_readiness_options_reach_the_runbook():
    later = run(hybrid_readiness.ActionModule, {"replay": DEMO, "as_of": "2027-02-03"})
    version = later["report"]["checks"][0]
    assert (version["status"], version["evidence"]["as_of"]) == ("warn", "2027-02-03")  # out of support then
    higher = run(hybrid_readiness.ActionModule, {"replay": DEMO, "minimum": "2.6.0.0", "fail_on": "fail"})
    assert higher["failed"] is True and higher["msg"] == "cloud-managed-readiness: FAIL (connect-version)"
    bad = run(hybrid_readiness.ActionModule, {"replay": DEMO, "as_of": "next week"})
    assert bad["error"]["error"] == "InputError"


def test_a_role_without_a_target_fails_with_its_error_class():
    result = run(hybrid_readiness.ActionModule, {"replay": DEMO, "exo_target": "tenant-b"})
    assert result["error"]["error"] == "TargetMissingError"
    assert result["msg"].startswith("TargetMissingError: ")


def test_duplicate_mailbox_diagnosis_is_a_read_only_report():
    result = run(duplicate_mailbox_info.ActionModule, {"replay": DEMO, "user": "dana@contoso.example"},
                 check_mode=True)
    assert "failed" not in result and result["changed"] is False
    assert (result["report"]["subject"], result["status"]) == ("dana@contoso.example", "fail")
    assert "ansible_facts" not in result
