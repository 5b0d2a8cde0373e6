"""`psbridge adsync ...` against the demo and the failure cases: JSON fields, exit codes, refusals.

Commands run in-process through `psbridge.cli.main.main` (see test_cli.py for the CLI-wide contract).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import DEMO, REPO, cassette

CASES = REPO / "recorded_sessions" / "cases"


def demo_json(cli: Any, *args: str) -> Any:
    result = cli("--replay", DEMO, "--output", "json", "adsync", *args)
    assert result.code == 0, result
    assert result.err == ""
    return result.json()


# -- the done-when: typed fields in JSON ---------------------------------------------------------------


def test_scheduler_json_has_typed_fields(cli: Any) -> None:
    doc = demo_json(cli, "scheduler")
    assert doc == {
        "allowed_sync_cycle_interval": "PT30M",
        "currently_effective_sync_cycle_interval": "PT30M",
        "customized_sync_cycle_interval": None,
        "next_sync_cycle_policy_type": "Delta",
        "next_sync_cycle_start_time_in_utc": "2026-11-25T12:30:00Z",
        "purge_run_history_interval": "P7D",
        "sync_cycle_enabled": True,
        "maintenance_enabled": True,
        "staging_mode_enabled": False,
        "scheduler_suspended": False,
        "sync_cycle_in_progress": False,
    }


def test_run_history_json_has_typed_fields(cli: Any) -> None:
    runs = demo_json(cli, "run-history")
    assert isinstance(runs, list) and len(runs) == 10
    newest = runs[0]
    assert newest["connector_id"] == "b891884f-051e-4a83-95af-2544101c9083"
    assert newest["connector_name"] == "contoso.onmicrosoft.com - AAD"
    assert (newest["run_profile_name"], newest["result"], newest["run_number"]) == ("Export", "success", 4812)
    assert newest["is_run_complete"] is True and newest["username"] == "NT SERVICE\\ADSync"
    assert (newest["start_date"], newest["end_date"]) == ("2026-11-25T12:01:09Z", "2026-11-25T12:01:13Z")
    (step,) = [dict(s) for s in newest["step_results"]]
    counts = step.pop("counts")
    assert step == {
        "run_history_id": newest["run_history_id"], "step_history_id": "5e7a4812-5b1e-4c8a-a6f2-7e0b3d9c4812",
        "step_number": 1, "step_result": "success",
        "start_date": "2026-11-25T12:01:09Z", "end_date": "2026-11-25T12:01:13Z",
        "current_export_batch_number": 1206, "last_successful_export_batch_number": 1206,
        "connector_connection_information_xml": "<connection-result>success</connection-result>",
        "sync_error_count": None, "discovery_error_count": None, "mv_retry_error_count": None,
    }  # fmt: skip
    assert len(counts) == 30 and all(type(v) is int for v in counts.values())  # every counter, as a number
    assert {k: v for k, v in counts.items() if v} == {"ExportAdd": 1, "ExportUpdate": 3}
    assert counts["StageAdd"] == counts["ConnectorFlow"] == counts["FlowFailure"] == counts["ExportFailure"] == 0
    assert all(len(r["step_results"]) == 1 and r["step_results"][0]["counts"] for r in runs)
    assert [r["start_date"] for r in runs] == sorted((r["start_date"] for r in runs), reverse=True)


def test_run_history_table_lists_runs(cli: Any) -> None:
    result = cli("--replay", DEMO, "adsync", "run-history")
    assert result.code == 0, result
    header, *rows, note = result.out.splitlines()
    assert header.split() == ["start_date", "connector_name", "run_profile_name", "result", "run_number"]
    assert len(rows) == 10 and "Delta Synchronization" in rows[2]
    assert note == "(not shown: step_results; see -o json)"  # the steps are objects: a table cannot show them


def test_scheduler_table_shows_dotnet_timespans(cli: Any) -> None:
    result = cli("--replay", DEMO, "adsync", "scheduler")
    assert result.code == 0, result
    assert "purge_run_history_interval               7.00:00:00" in result.out


@pytest.mark.parametrize(
    ("command", "check"),
    [
        (["global-settings"], lambda d: d["password_hash_sync"] is True and len(d["parameters"]) == 29),
        (["deletion-threshold"], lambda d: (d["enabled"], d["threshold"]) == (True, 500)),
        (["run-status"], lambda d: d == []),
        (["connectors"], lambda d: [len(c["partitions"]) for c in d] == [2, 0] and d[1]["type"] == "Extensible2"),
        (["auto-upgrade"], lambda d: d == {"state": "Enabled", "suspension_reason": None}),
        (["export-config", "--path", "C:\\psbridge\\export", "--yes"], lambda d: d["file_count"] == 142),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else "",
)
def test_read_commands_against_the_demo(cli: Any, command: list[str], check: Any) -> None:
    assert check(demo_json(cli, *command))


# -- changing state: the plan, then --yes (or y at a terminal); --dry-run only the plan ----------------------------


@pytest.mark.parametrize(
    "command", [["set-scheduler", "--interval", "00:40:00"], ["sync"], ["sync", "--wait", "--initial"]], ids=" ".join
)
def test_state_changes_without_yes_or_dry_run_are_refused(cli: Any, command: list[str]) -> None:
    # Off a terminal: the plan (the command's dry run, which reads only), then exit 2.
    cli("--replay", DEMO, "adsync", *command).refused_after_plan()


def test_set_scheduler_needs_a_setting(cli: Any) -> None:
    assert "at least one setting" in cli("--replay", DEMO, "adsync", "set-scheduler", "--yes").one_line_error(2)


def test_set_scheduler_dry_run(cli: Any) -> None:
    doc = demo_json(cli, "set-scheduler", "--interval", "00:40:00", "--maintenance", "--dry-run")
    assert (doc["changed"], doc["would_change"], doc["dry_run"]) == (False, True, True)
    assert doc["before"]["customized_sync_cycle_interval"] is None
    assert doc["after"]["customized_sync_cycle_interval"] == "PT40M" and doc["after"]["maintenance_enabled"] is True


def test_set_scheduler_below_the_allowed_interval_is_a_usage_error(cli: Any) -> None:
    result = cli("--replay", DEMO, "adsync", "set-scheduler", "--interval", "00:05:00", "--dry-run")
    assert "AllowedSyncCycleInterval 00:30:00" in result.one_line_error(2)


def test_set_scheduler_with_yes_sends_the_change(cli: Any, tmp_path: Path) -> None:
    scheduler = _demo_scheduler_spec()
    change = {"script": "adsync/Set-Scheduler.ps1", "parameters": [{"name": "SyncCycleEnabled", "value": False}]}
    recording = tmp_path / "set.yaml"
    cassette([scheduler, change]).save(recording)
    result = cli("--replay", recording, "adsync", "set-scheduler", "--no-sync-cycle-enabled", "--yes")
    assert result.code == 0, result
    assert "sync_cycle_enabled  yes -> no" in result.out


def _demo_scheduler_spec() -> dict[str, Any]:
    import yaml

    source = yaml.safe_load((REPO / "recorded_sessions/sources/demo/adsync.yaml").read_text(encoding="utf-8"))
    return next(e for e in source["episodes"] if e.get("script") == "adsync/Get-Scheduler.ps1")


# -- sync ------------------------------------------------------------------------------------------------------------


def test_sync_starts_and_waits(cli: Any) -> None:
    doc = demo_json(cli, "sync", "--yes", "--wait", "--poll", "0.001")
    assert (doc["started"], doc["result"], doc["finished"], doc["policy_type"]) == (True, "Success", True, "Delta")


@pytest.mark.parametrize("spelling", ["--deadline", "--timeout"])
def test_a_wait_with_no_time_left_is_not_seen_to_finish_under_either_spelling(cli: Any, spelling: str) -> None:
    """`--deadline` bounds the wait; `--timeout` is its old spelling, kept hidden for one release."""
    result = cli("--replay", DEMO, "-o", "json", "adsync", "sync", "--yes", "--wait", spelling, "0", "--poll", "0.001")
    assert result.code == 1, result
    assert (result.json()["started"], result.json()["finished"]) == (True, False)


def test_sync_help_shows_deadline_and_hides_the_old_spelling(cli: Any) -> None:
    shown = cli("adsync", "sync", "--help").out
    assert "--deadline" in shown and "--timeout" not in shown


def test_sync_dry_run_reports_what_would_happen(cli: Any) -> None:
    doc = demo_json(cli, "sync", "--dry-run")
    assert (doc["dry_run"], doc["started"], doc["reason"]) == (True, False, None)


@pytest.mark.parametrize(("name", "reason"), [("sync-disabled", "SyncCycleDisabled"), ("sync-running", "InProgress")])
def test_sync_not_started_exits_1(cli: Any, name: str, reason: str) -> None:
    result = cli("--replay", CASES / f"adsync-{name}.yaml", "-o", "json", "adsync", "sync", "--yes")
    assert result.code == 1, result
    assert result.json()["reason"] == reason and result.json()["started"] is False


def test_sync_busy_connector_is_a_one_line_remote_error(cli: Any) -> None:
    result = cli("--replay", CASES / "adsync-busy.yaml", "adsync", "sync", "--yes")
    assert "Connector: contoso.onmicrosoft.com - AAD is busy." in result.one_line_error(4)


# -- interactive-only cmdlets and a host without ADSync --------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "cmdlet"),
    [
        (["enable-deletion-threshold", "--threshold", "100"], "Enable-ADSyncExportDeletionThreshold"),
        (["disable-deletion-threshold"], "Disable-ADSyncExportDeletionThreshold"),
    ],
)
def test_interactive_only_commands_exit_2_in_one_line(cli: Any, command: list[str], cmdlet: str) -> None:
    # No --replay or --host: nothing is ever contacted.
    line = cli("adsync", *command).one_line_error(2)
    assert f"{cmdlet} needs an interactive Entra sign-in" in line
    assert "Update-MgDirectoryOnPremiseSynchronization" in line and "accidentalDeletionPrevention" in line


def test_host_without_adsync_says_so(cli: Any) -> None:
    line = cli("--replay", CASES / "adsync-module-missing.yaml", "adsync", "version").one_line_error(4)
    assert "the ADSync module is not available on member01.contoso.example" in line
    assert "not an Entra Connect Sync server" in line


def test_old_build_fails_the_version_check_with_exit_1(cli: Any) -> None:
    result = cli("--replay", CASES / "adsync-v1.1.yaml", "-o", "json", "adsync", "version")
    assert result.code == 1, result
    assert result.json()["version"] == "1.1.281.0" and result.json()["meets_minimum"] is False
