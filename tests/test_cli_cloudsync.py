"""`psbridge cloudsync ...` against the demo and the failure cases: JSON shape, exit codes, refusals, errors.

Each command runs in-process with a fresh session, so each consumes the demo's episodes anew.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cli_helpers import Result
from cloudsync_data import CASES, HEALTHY, QUARANTINED, TENANT
from helpers import DEMO

DEVICE_CODE = "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code"


def test_status_json_lists_each_job_with_its_code_and_exits_1_on_quarantine(cli: Any) -> None:
    result: Result = cli("--replay", DEMO, "--output", "json", "cloudsync", "status")

    assert result.code == 1, result  # a job is in quarantine: the check ran and the target falls short
    assert result.err == ""
    jobs = result.json()
    assert [(j["id"], j["code"], j["is_quarantined"]) for j in jobs] == [
        (HEALTHY, "Active", False),
        (QUARANTINED, "Quarantine", True),
    ]
    assert jobs[0]["quarantine"] is None
    quarantine = jobs[1]["quarantine"]
    assert quarantine["reason"] == "IngestionInterrupted"
    assert quarantine["error"]["code"] == "HybridIdentityServiceNoActiveAgents"
    assert quarantine["next_attempt"] == "2026-11-25T18:02:11.553201Z"
    assert jobs[1]["last_run"]["state"] == "Failed"


def test_status_table_shows_the_columns_that_matter(cli: Any) -> None:
    result: Result = cli("--replay", DEMO, "cloudsync", "status")

    assert result.code == 1
    header, healthy, quarantined = result.out.splitlines()
    assert header.split() == ["id", "code", "quarantine_reason", "quarantine_error", "last_run_state", "last_run_ended"]
    assert healthy.split() == [HEALTHY, "Active", "-", "-", "Succeeded", "2026-11-25T11:58:03Z"]
    assert quarantined.split()[1:4] == ["Quarantine", "IngestionInterrupted", "HybridIdentityServiceNoActiveAgents"]


def test_status_of_a_healthy_job_exits_0(cli: Any) -> None:
    result: Result = cli("--replay", DEMO, "-o", "json", "cloudsync", "status", "--job-id", HEALTHY)

    assert result.code == 0, result
    assert [job["code"] for job in result.json()] == ["Active"]


@pytest.mark.parametrize(
    "args",
    [
        ["restart", "--job-id", QUARANTINED],
        ["suspend", "--job-id", HEALTHY],
        ["set-schema", "--job-id", QUARANTINED, "--file", "-"],
        ["disable-dirsync-deletion-prevention", "--tenant-id", TENANT],
        ["repair-account"],
        ["query", "--uri", "https://graph.microsoft.com/beta/users/x", "--method", "DELETE"],
    ],
    ids=lambda args: args[0],
)
def test_destructive_commands_refuse_without_yes(cli: Any, args: list[str], tmp_path: Path) -> None:
    (tmp_path / "schema.json").write_text('{"synchronizationRules": []}', encoding="utf-8")
    args = [str(tmp_path / "schema.json") if arg == "-" else arg for arg in args]
    result: Result = cli("--replay", DEMO, "cloudsync", *args)

    result.refused_after_plan()  # off a terminal: the plan (a dry run), then exit 2


def test_dry_runs_report_without_changing(cli: Any) -> None:
    restart: Result = cli("--replay", DEMO, "-o", "json", "cloudsync", "restart", "--job-id", QUARANTINED, "--dry-run")
    disable: Result = cli(
        "--replay", DEMO, "-o", "json", "cloudsync", "disable-dirsync-deletion-prevention", "--tenant-id", TENANT,
        "--dry-run",
    )  # fmt: skip
    repair: Result = cli("--replay", DEMO, "-o", "json", "cloudsync", "repair-account", "--dry-run")

    assert (restart.code, disable.code, repair.code) == (0, 0, 0), (restart, disable, repair)
    planned = restart.json()
    assert (planned["dry_run"], planned["changed"], planned["would_change"]) == (True, False, True)
    assert (planned["before"]["code"], planned["after"]["code"]) == ("Quarantine", "Active")  # a real "before"
    assert disable.json()["before"]["synchronization_prevention_type"] == "enabledForCount"
    assert disable.json()["dry_run"] and disable.json()["would_change"] and not disable.json()["changed"]
    assert repair.json()["dry_run"] and repair.json()["before"]["id"] and repair.json()["after"] is None  # unknown


def test_confirmed_restart_reads_the_job_back(cli: Any) -> None:
    result: Result = cli("--replay", DEMO, "-o", "json", "cloudsync", "restart", "--job-id", QUARANTINED, "--yes")

    assert result.code == 0, result
    doc = result.json()
    assert (doc["action"], doc["changed"], doc["dry_run"]) == ("restart", True, False)
    assert doc["after"]["id"] == QUARANTINED


def _rows(text: str) -> dict[str, str]:
    """`label  value` lines of a table, by label."""
    return dict(line.split(None, 1) for line in text.splitlines())


def test_changes_show_what_differs_as_before_and_after(cli: Any) -> None:
    resumed: Result = cli("--replay", DEMO, "cloudsync", "resume", "--job-id", QUARANTINED, "--yes")
    previewed: Result = cli("--replay", DEMO, "cloudsync", "suspend", "--job-id", HEALTHY, "--dry-run")
    disabled: Result = cli(
        "--replay", DEMO, "cloudsync", "disable-dirsync-deletion-prevention", "--tenant-id", TENANT, "--dry-run"
    )

    assert (resumed.code, previewed.code, disabled.code) == (0, 0, 0), (resumed, previewed, disabled)
    assert _rows(resumed.out) == {
        "action": "resume", "job_id": QUARANTINED, "changed": "yes", "dry_run": "no",
        "code": "Quarantine -> Active", "quarantine_reason": "IngestionInterrupted -> -",
        "wait_for": "-", "reached": "-", "note": "-",
    }  # fmt: skip
    preview = _rows(previewed.out)  # nothing sent: the predicted state
    assert (preview["code"], preview["would_change"], preview["dry_run"]) == ("Active -> Paused", "yes", "yes")
    assert "changed" not in preview
    assert _rows(disabled.out) == {
        "tenant_id": TENANT, "would_change": "yes", "dry_run": "yes",
        "synchronization_prevention_type": "enabledForCount -> disabled", "alert_threshold": "500", "messages": "-",
    }  # fmt: skip


def test_a_wait_that_misses_its_deadline_exits_1(cli: Any) -> None:
    result: Result = cli(
        "--replay", DEMO, "-o", "json", "cloudsync", "resume", "--job-id", QUARANTINED, "--yes",
        "--wait-for", "Paused", "--deadline", "0",
    )  # fmt: skip

    assert result.code == 1, result
    assert (result.json()["reached"], result.json()["after"]["code"]) == (False, "Active")


def test_sign_in_relays_the_device_code_on_stderr(cli: Any) -> None:
    result: Result = cli("--replay", DEMO, "-o", "json", "cloudsync", "--sign-in", "jobs")

    assert result.code == 0, result
    relayed = [e["message"] for e in result.events if e["event"] == "psbridge.cloudsync.agent_message"]
    assert any(message.startswith(DEVICE_CODE) for message in relayed), result.err
    assert [job["template_id"] for job in result.json()] == ["AD2AADProvisioning", "AD2AADProvisioning"]


def test_connect_prints_who_signed_in(cli: Any) -> None:
    result: Result = cli("--replay", DEMO, "-o", "json", "cloudsync", "connect")

    assert result.code == 0, result
    assert DEVICE_CODE in result.err
    assert (result.json()["username"], result.json()["connected"]) == ("admin@contoso.example", True)


@pytest.mark.parametrize(
    ("recording", "args", "code", "words"),
    [
        ("cloudsync-not-connected.yaml", ["status"], 4, "not signed in"),
        ("cloudsync-agent-not-installed.yaml", ["info"], 4, "agent is not installed"),
        ("cloudsync-msal-missing.yaml", ["connect"], 4, "MSAL.PS"),
        ("cloudsync-repair-removed.yaml", ["repair-account", "--yes"], 4, "removed in provisioning agent 1.1.2505.0"),
        (
            "cloudsync-access-denied.yaml",
            ["resume", "--job-id", QUARANTINED, "--yes"],
            4,
            "Authorization_RequestDenied",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) and v.endswith(".yaml") else None,
)
def test_failures_are_one_line(cli: Any, recording: str, args: list[str], code: int, words: str) -> None:
    result: Result = cli("--replay", CASES / recording, "cloudsync", *args)

    assert words in result.one_line_error(code)


def test_remove_group_members_says_why_not(cli: Any) -> None:
    result: Result = cli("--replay", DEMO, "cloudsync", "remove-group-members", "--group-id", TENANT)

    assert "Read-Host" in result.one_line_error(2)


def test_install_prerequisites_asks_for_a_second_run(cli: Any) -> None:
    recording = CASES / "cloudsync-prerequisites-second-run.yaml"
    result: Result = cli("--replay", recording, "-o", "json", "cloudsync", "install-prerequisites", "--yes")

    assert result.code == 1, result
    assert result.json()["needs_new_session"] is True
    assert "run `psbridge cloudsync install-prerequisites` again" in result.err


def test_info_never_prints_a_token(cli: Any) -> None:
    result: Result = cli("--replay", DEMO, "-o", "json", "cloudsync", "info")

    assert result.code == 0, result
    doc = result.json()
    assert (doc["access_token"], doc["header"]) == ("[redacted]", "[redacted]")
    assert "eyJ" not in result.out
