"""`psbridge check cloud-sync-migration` (psbridge.runbooks.migration): the Cloud Sync migration preflight.

Against the scenarios recorded_sessions/runbooks/migration-pass and migration-typo (and the demo), and
copies of them in which one host's answers are re-authored from the scenario's own sources with one value
changed: each check's pass, warn and fail, the table and JSON, and exit codes 0, 1, 2 and 3.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_helpers import Result
from helpers import DEMO, REPO
from loopback import PASSWORD, USER, endpoint, port_of

from psbridge import InputError, RetryPolicy
from psbridge.adsync import ExportDeletionThreshold
from psbridge.graph import GraphClient
from psbridge.replay import http
from psbridge.replay.graph_http import author_graph_cassette
from psbridge.replay.synthetic import author
from psbridge.replay.transport import recorded_session
from psbridge.runbooks.migration import check_cloud_sync_migration, laxer
from psbridge.runbooks.report import Report, Status
from psbridge.targets import Targets

SCENARIOS = REPO / "recorded_sessions" / "runbooks"
SOURCES = REPO / "recorded_sessions" / "sources" / "runbooks"
SALES, KIOSKS, SLAES = (f"OU={n},DC=contoso,DC=example" for n in ("Sales", "Kiosks", "Slaes"))
JOB = "AD2AADProvisioning.8c2f0e5a1d7b4c9e9f3a6b2d5e8c1a47.3f9d2b6e-1c4a-4e8b-9a7d-5c2e8f1b4d60"
ZIP = "C:\\Windows\\Temp\\psbridge-adsync-export-0f3c2b1a9d8e4c7b6a5f4e3d2c1b0a99.zip"
# The fresh folder Export-ServerConfiguration.ps1 exports into, under the -Path given, and its file count.
EXPORTED = "C:\\psbridge\\export\\psbridge-adsync-export-0f3c2b1a9d8e4c7b6a5f4e3d2c1b0a99"
EXPORTED_FILES = 142
# Access denied on the Connect server, as recorded_sessions/sources/cases/adsync-access-denied.yaml has it.
ACCESS_DENIED = {
    "message": "Access is denied.",
    "fully_qualified_error_id": "System.UnauthorizedAccessException,"
    "Microsoft.IdentityManagement.PowerShell.Cmdlet.GetADSyncGlobalSettingsCmdlet",
    "category": "PermissionDenied",
    "exception_type": "System.UnauthorizedAccessException",
}


def source(scenario: str, name: str) -> dict[str, Any]:
    """A scenario's source (YAML anchors resolved), to change one value in."""
    data: dict[str, Any] = yaml.safe_load((SOURCES / scenario / name).read_text(encoding="utf-8"))
    return data


def write(directory: Path, name: str, data: dict[str, Any]) -> None:
    """Author a PSRP recording (or, for graph/*.yaml, a Graph cassette) into a scenario copy."""
    path = directory / name
    if name.startswith("graph/"):
        path.write_text(author_graph_cassette(data), encoding="utf-8")
    else:
        author(data).save(path)


@pytest.fixture
def scenario(tmp_path: Path) -> Callable[..., Path]:
    """Factory: a copy of a scenario's recordings, with files re-authored or added, each given by its stem
    (`connect=`, `dc=`, ..., `graph__cloudsync=` for graph/cloudsync.yaml) and its source."""

    def make(name: str = "migration-pass", **files: dict[str, Any]) -> Path:
        directory = tmp_path / f"{name}-{len(list(tmp_path.iterdir()))}"
        shutil.copytree(SCENARIOS / name, directory)
        for file, data in files.items():
            write(directory, file.replace("__", "/") + ".yaml", data)
        return directory

    return make


@pytest.fixture
def fresh_backup(tmp_path: Path) -> Path:
    """A folder holding a configuration export written just now."""
    folder = tmp_path / "backups"
    folder.mkdir()
    with zipfile.ZipFile(folder / "psbridge-adsync-export-0f3c2b1a.zip", "w") as archive:
        archive.writestr("Connectors/Connector_contoso.example.xml", "<connector/>")
        archive.writestr("GlobalSettings.xml", "<settings/>")
    return folder


def run(cli: Callable[..., Result], directory: Path, *args: str | Path, output: str = "json") -> Result:
    return cli("--replay", directory, "-o", output, "check", "cloud-sync-migration", *args)


def checks(result: Result) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in result.json()["checks"]}


@pytest.fixture
def report() -> Iterator[Callable[..., Report]]:
    """Factory: the runbook, called as a library, on a recordings directory (every role and Graph replayed)."""
    with contextlib.ExitStack() as stack:

        def call(directory: Path, *, graph: bool = True, **kwargs: Any) -> Report:
            retry = RetryPolicy(attempts=1)
            connect, dc, agent = (stack.enter_context(recorded_session(directory, retry=retry)) for _ in range(3))
            client = None
            if graph:
                client = stack.enter_context(GraphClient.replay(directory))
            targets = Targets.of({"connect": connect, "dc": dc, "cloudsync-agent": agent}, graph=client)
            return check_cloud_sync_migration(targets, **kwargs)

        yield call


# -- the two scenarios, end to end --------------------------------------------------------------------------


def test_the_pass_scenario_passes_every_check_with_its_evidence(cli: Any, fresh_backup: Path) -> None:
    result = run(cli, SCENARIOS / "migration-pass", "--ou", SALES, "--ou", KIOSKS, "--backup-dir", fresh_backup,
                 "--agent-version", "1.1.1586.0")  # fmt: skip
    assert result.code == 0, result.out
    document = result.json()
    assert (document["runbook"], document["subject"], document["status"]) == (
        "cloud-sync-migration", "contoso.example", "pass",
    )  # fmt: skip
    found = checks(result)
    assert list(found) == [
        "configuration-backup", f"scoping-ou {SALES}", f"scoping-ou {KIOSKS}", "provisioning-agent",
        "deletion-threshold", "plan",
    ]  # fmt: skip
    assert {c["status"] for c in found.values()} == {"pass"}
    backup = found["configuration-backup"]["evidence"]
    assert backup["sha256"] == hashlib.sha256((fresh_backup / Path(backup["path"]).name).read_bytes()).hexdigest()
    assert found[f"scoping-ou {SALES}"]["evidence"]["connect_partition"] == "DC=contoso,DC=example"
    deletion = found["deletion-threshold"]["evidence"]
    assert (deletion["connect_enabled"], deletion["connect_threshold"]) == (True, 500)
    assert [(r["job"], r["enabled"], r["threshold"]) for r in deletion["cloud_sync"]] == [(JOB, True, 250)]
    plan = found["plan"]["evidence"]
    assert plan["ous_moving"] == [SALES, KIOSKS]
    assert (plan["interval_minutes_before"], plan["interval_minutes_after"]) == (30, 2)
    assert plan["interval_after_source"] == "the Cloud Sync job's schedule"
    assert sorted(plan["features_moving"]) == ["Exchange hybrid writeback", "password hash sync"]
    assert plan["features_without_counterpart"] == []
    assert plan["deletion_threshold_after"][0]["threshold"] == 250


def test_the_typo_scenario_fails_on_the_mistyped_ou_and_says_where_to_look(cli: Any, fresh_backup: Path) -> None:
    result = run(cli, SCENARIOS / "migration-typo", "--ou", KIOSKS, "--ou", SLAES, "--backup-dir", fresh_backup,
                 "--agent-version", "1.1.1586.0")  # fmt: skip
    assert result.code == 1 and result.json()["status"] == "fail"
    found = checks(result)
    assert found[f"scoping-ou {KIOSKS}"]["status"] == "pass"
    typo = found[f"scoping-ou {SLAES}"]
    assert typo["status"] == "fail" and typo["target"] == "dc"
    assert (typo["evidence"]["valid"], typo["evidence"]["exists"]) == (True, False)
    assert typo["evidence"]["nearest_existing"] == "DC=contoso,DC=example"
    assert "-SearchBase 'DC=contoso,DC=example' -SearchScope OneLevel" in typo["fix"]
    others = [c["status"] for name, c in found.items() if not name.startswith("scoping-ou")]
    assert others == ["pass"] * 4
    assert found["plan"]["evidence"]["ous_moving"] == [KIOSKS]  # the mistyped OU moves nowhere


def test_the_table_shows_the_verdict_each_check_its_evidence_and_the_fix(cli: Any) -> None:
    result = run(cli, SCENARIOS / "migration-typo", "--ou", SLAES, output="table")
    assert result.code == 1 and result.err == ""
    lines = result.out.splitlines()
    assert lines[0] == "cloud-sync-migration (contoso.example): FAIL"
    failing = next(i for i, line in enumerate(lines) if line.startswith(f"  FAIL  scoping-ou {SLAES} [dc]: "))
    block = lines[failing + 1 : failing + 8]
    assert "          exists: no" in block
    assert any(line.startswith("          fix: correct the OU's name under DC=contoso,DC=example") for line in block)
    assert any(line.startswith("  PASS  provisioning-agent [cloudsync-agent]: ") for line in lines)


def test_the_demo_runs_the_preflight(cli: Any) -> None:
    """The demo organization: OU=Sales exists, Connect and Cloud Sync both hold at 500; no backup looked at."""
    found = checks(run(cli, DEMO, "--ou", SALES, "--agent-version", "1.1.1586.0"))
    assert {n: c["status"] for n, c in found.items()} == {
        "configuration-backup": "warn", f"scoping-ou {SALES}": "pass", "provisioning-agent": "pass",
        "deletion-threshold": "pass", "plan": "pass",
    }  # fmt: skip
    assert [r["threshold"] for r in found["deletion-threshold"]["evidence"]["cloud_sync"]] == [500]


# -- 1. the configuration backup ----------------------------------------------------------------------------


def export_episodes(payload: bytes, *, fails: bool = False) -> list[dict[str, Any]]:
    """What get_server_configuration(fetch_to=...) reads on the Connect server (as tests/replay/test_adsync.py)."""
    export: dict[str, Any] = {
        "script": "adsync/Export-ServerConfiguration.ps1",
        "parameters": [{"name": "Path", "value": "C:\\psbridge\\export"}, {"name": "Compress", "value": True}],
    }
    if fails:
        return [{**export, "terminating_error": {**ACCESS_DENIED, "activity": "Get-ADSyncServerConfiguration"}}]
    export["output"] = [{"properties": {"Path": EXPORTED, "FileCount": EXPORTED_FILES, "Bytes": {"I64": 3187342},
                                        "ZipPath": ZIP, "ZipSize": {"I64": len(payload)}}}]  # fmt: skip
    chunk = {
        "script": "common/Read-FileChunk.ps1",
        "parameters": [{"name": "Path", "value": ZIP}, {"name": "Offset", "value": 0},
                       {"name": "Length", "value": 1048576}],
        "output": [{"properties": {"Length": {"I64": len(payload)}, "Offset": {"I64": 0},
                                   "Data": base64.b64encode(payload).decode(),
                                   "Sha256": hashlib.sha256(payload).hexdigest().upper()}}],
    }  # fmt: skip
    remove = {"script": "adsync/Remove-ExportArchive.ps1", "parameters": [{"name": "Path", "value": ZIP}]}
    return [export, chunk, remove]


def on_connect(episodes: list[dict[str, Any]]) -> dict[str, Any]:
    target = source("migration-pass", "connect.yaml")["target"]
    return {"target": target, "episodes": episodes}


def exported_zip() -> bytes:
    """An export's archive as the script writes it: entries relative to the fresh folder, with '/'."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for n in range(EXPORTED_FILES):
            archive.writestr(f"SynchronizationRules/Rule {n:03}.xml", "<rule/>")
    return buffer.getvalue()


def test_backup_exports_now_and_the_copy_is_then_found_fresh(cli: Any, scenario: Any, tmp_path: Path) -> None:
    payload = exported_zip()
    directory = scenario(backup=on_connect(export_episodes(payload)))
    folder = tmp_path / "new-backups"
    found = checks(run(cli, directory, "--backup", folder))["configuration-backup"]
    assert found["status"] == "pass"
    copied = Path(found["evidence"]["local_path"])
    assert copied.parent == folder and copied.read_bytes() == payload
    assert found["evidence"]["sha256"] == hashlib.sha256(payload).hexdigest() in found["summary"]
    assert (found["evidence"]["remote_path"], found["evidence"]["remote_zip_removed"]) == (EXPORTED, True)
    # The copy is what --backup-dir looks for next time.
    again = checks(run(cli, directory, "--backup-dir", folder))["configuration-backup"]
    assert again["status"] == "pass" and again["evidence"]["path"] == str(copied)


def test_a_failed_export_is_a_failing_check_naming_the_error(cli: Any, scenario: Any, tmp_path: Path) -> None:
    directory = scenario(backup=on_connect(export_episodes(b"", fails=True)))
    result = run(cli, directory, "--backup", tmp_path / "out")
    found = checks(result)["configuration-backup"]
    assert result.code == 1 and found["status"] == "fail"
    assert found["summary"].startswith("the export failed: script adsync/Export-ServerConfiguration.ps1")
    assert found["summary"].endswith(": Access is denied.") and found["evidence"]["error"] == "AccessDeniedError"
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())  # nothing half-copied


def test_an_old_export_warns_with_its_age_and_a_longer_max_age_accepts_it(cli: Any, fresh_backup: Path) -> None:
    old = next(fresh_backup.iterdir())
    ten_days_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=10)).timestamp()
    os.utime(old, (ten_days_ago, ten_days_ago))
    found = checks(run(cli, SCENARIOS / "migration-pass", "--backup-dir", fresh_backup))["configuration-backup"]
    assert found["status"] == "warn" and found["evidence"]["age_days"] == 10.0
    assert f"{old.name}, is 10.0 days old (more than 7" in found["summary"] and "--backup DIR" in found["fix"]
    accepted = checks(run(cli, SCENARIOS / "migration-pass", "--backup-dir", fresh_backup, "--max-age", "14"))
    assert accepted["configuration-backup"]["status"] == "pass"


@pytest.mark.parametrize(
    "content",
    [b"", b"PK\x05\x06" + bytes(18), b"not a zip at all"],
    ids=["empty file", "zip with no file", "not a zip"],
)
def test_a_fresh_export_that_is_no_backup_fails(report: Any, fresh_backup: Path, content: bytes) -> None:
    """Only a zip whose files read back is a backup: a fresh but empty or broken file fails, naming why."""
    newest = next(fresh_backup.iterdir())
    newest.write_bytes(content)
    found = report(SCENARIOS / "migration-pass", graph=False, backup_dir=fresh_backup).check("configuration-backup")
    assert found.status == Status.FAIL and "not a usable backup" in found.summary
    assert found.evidence["error"] == "UnexpectedOutputError" and found.evidence["path"] == str(newest)


def test_a_fresh_export_whose_file_does_not_read_back_fails(report: Any, fresh_backup: Path) -> None:
    newest = next(fresh_backup.iterdir())
    data = bytearray(newest.read_bytes())
    data[data.index(b"<connector/>")] ^= 0xFF  # one byte of a stored file: its CRC no longer matches
    newest.write_bytes(bytes(data))
    found = report(SCENARIOS / "migration-pass", graph=False, backup_dir=fresh_backup).check("configuration-backup")
    assert found.status == Status.FAIL and "does not read back" in found.summary


def test_the_newest_export_is_the_one_judged(report: Any, fresh_backup: Path) -> None:
    older = fresh_backup / "psbridge-adsync-export-older.zip"
    older.write_bytes(b"older")
    now = dt.datetime.now(dt.UTC)
    stamps = {older: now - dt.timedelta(days=30), next(p for p in fresh_backup.iterdir() if p != older): now}
    for path, when in stamps.items():
        os.utime(path, (when.timestamp(), when.timestamp()))
    found = report(SCENARIOS / "migration-pass", graph=False, backup_dir=fresh_backup, now=now).check(
        "configuration-backup"
    )
    assert found.status == "pass" and found.evidence["path"] != str(older)


def test_no_export_in_the_folder_or_no_folder_at_all_warns(cli: Any, tmp_path: Path) -> None:
    empty = checks(run(cli, SCENARIOS / "migration-pass", "--backup-dir", tmp_path))["configuration-backup"]
    assert (
        empty["status"] == "warn"
        and empty["summary"] == f"no configuration export (psbridge-adsync-export-*.zip) in {tmp_path}"
    )
    none = checks(run(cli, SCENARIOS / "migration-pass"))["configuration-backup"]
    assert none["status"] == "warn" and "--backup-dir DIR" in none["fix"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--backup", "{tmp}/a", "--backup-dir", "{tmp}"], "not both"),
        (["--backup-dir", "{tmp}/file.zip"], "file.zip' is a file."),
        (["--agent-version", "one.two"], "not a version: 'one.two'"),
        (["--agent-minimum", "latest"], "not a version: 'latest'"),
    ],
)
def test_bad_input_is_exit_2_on_one_line(cli: Any, tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "file.zip").write_bytes(b"")
    result = run(cli, SCENARIOS / "migration-pass", *(a.format(tmp=tmp_path) for a in args))
    assert message in result.one_line_error(2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_age": dt.timedelta(0)}, "maximum age must be positive"),
        ({"backup": "{file}"}, "file.zip is not a folder"),
        ({"agent_minimum": "1.x"}, "not a version"),
    ],
)
def test_the_library_refuses_bad_arguments(report: Any, tmp_path: Path, kwargs: dict[str, Any], message: str) -> None:
    file = tmp_path / "file.zip"
    file.write_bytes(b"")
    given = {k: v.format(file=file) if isinstance(v, str) else v for k, v in kwargs.items()}
    with pytest.raises(InputError, match=message):
        report(SCENARIOS / "migration-pass", graph=False, **given)


# -- 2. the scoping OUs --------------------------------------------------------------------------------------


def test_a_malformed_dn_fails_without_asking_ad(cli: Any) -> None:
    """The scenario's DC has no recording for it: asking AD would be a replay miss (exit 2), not exit 1."""
    result = run(cli, SCENARIOS / "migration-pass", "--ou", "OU=Sales;DC=contoso")
    found = checks(result)["scoping-ou OU=Sales;DC=contoso"]
    assert result.code == 1 and found["status"] == "fail"
    assert found["evidence"] == {"ou": "OU=Sales;DC=contoso", "valid": False}
    assert found["summary"].startswith("not an Active Directory distinguished name: 'OU=Sales;DC=contoso'")


def test_a_typo_deeper_down_names_the_nearest_parent_that_exists(cli: Any, scenario: Any) -> None:
    dc = source("migration-typo", "dc.yaml")
    kiosks, missing = copy.deepcopy(dc["episodes"])
    europe = "OU=Europe,DC=contoso,DC=example"
    typo = f"OU=Slaes,{europe}"
    kiosks["parameters"][0]["value"] = europe
    kiosks["output"][0]["to_string"] = europe
    kiosks["output"][0]["properties"].update(DistinguishedName=europe, Name="Europe")
    missing["parameters"][0]["value"] = typo
    error = missing["terminating_error"]
    error.update(message=error["message"].replace(SLAES, typo), target_name=typo)
    directory = scenario("migration-typo", dc={**dc, "episodes": [missing, kiosks]})
    found = checks(run(cli, directory, "--ou", typo))[f"scoping-ou {typo}"]
    assert found["status"] == "fail" and found["evidence"]["nearest_existing"] == europe
    assert f"the nearest existing container is {europe}" in found["summary"]


def test_an_ad_that_cannot_answer_is_a_failing_check_naming_the_error(cli: Any, scenario: Any) -> None:
    dc = source("migration-pass", "dc.yaml")
    missing_module = {
        "command": "Get-ADOrganizationalUnit",
        "parameters": [{"name": "Identity", "value": SALES}],
        "terminating_error": {  # shaped as recorded_sessions/sources/cases/adsync-module-missing.yaml's
            "message": "The term 'Get-ADOrganizationalUnit' is not recognized as the name of a cmdlet, function, "
            "script file, or operable program. Check the spelling of the name, or if a path was included, verify "
            "that the path is correct and try again.",
            "fully_qualified_error_id": "CommandNotFoundException",
            "category": "ObjectNotFound",
            "exception_type": "System.Management.Automation.CommandNotFoundException",
        },
    }
    directory = scenario(dc={**dc, "episodes": [missing_module]})
    found = checks(run(cli, directory, "--ou", SALES))[f"scoping-ou {SALES}"]
    assert found["status"] == "fail" and found["evidence"]["error"] == "CommandNotFoundError"
    assert found["summary"].startswith(f"could not read the OU {SALES}: Get-ADOrganizationalUnit")
    assert "The term 'Get-ADOrganizationalUnit' is not recognized" in found["summary"]


def test_no_ou_given_is_skipped_and_repeats_are_checked_once(report: Any) -> None:
    none = report(SCENARIOS / "migration-pass", graph=False).check("scoping-ou")
    assert none.status == "skip" and "--ou DN" in none.summary
    twice = report(SCENARIOS / "migration-pass", graph=False, ous=[SALES, f" {SALES} "])
    assert [c.name for c in twice.checks if c.name.startswith("scoping-ou")] == [f"scoping-ou {SALES}"]


# -- 3. the provisioning agent --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "status", "summary"),
    [
        ([], "pass", "an agent is installed and registered, version 1.1.1586.0, at least 1.1.1107.0"),
        (["--agent-version", "1.1.1107.0"], "pass", "version 1.1.1107.0 (as given), at least 1.1.1107.0"),
        (["--agent-version", "1.1.1065.0"], "fail", "agent 1.1.1065.0 (as given) is older than 1.1.1107.0"),
        (["--agent-version", "1.1.1586.0", "--agent-minimum", "1.1.2334.0"], "fail", "older than 1.1.2334.0"),
    ],
)
def test_the_agent_version_against_the_minimum(cli: Any, args: list[str], status: str, summary: str) -> None:
    found = checks(run(cli, SCENARIOS / "migration-pass", *args))["provisioning-agent"]
    assert found["status"] == status and summary in found["summary"]
    assert found["evidence"]["agent_present"] is True and found["target"] == "cloudsync-agent"


def test_an_agent_version_the_host_cannot_tell_warns(cli: Any, scenario: Any) -> None:
    agent = source("migration-pass", "agent.yaml")
    agent["episodes"][-1]["output"][0]["properties"]["Version"] = {"Nil": None}
    found = checks(run(cli, scenario(agent=agent)))["provisioning-agent"]
    assert found["status"] == "warn" and "its version is not known to psbridge" in found["summary"]
    assert found["fix"].startswith("read the version from the file version of InstallDir")


def test_a_host_without_the_agent_fails(cli: Any, scenario: Any) -> None:
    """The get_info episode of recorded_sessions/cases/cloudsync-agent-not-installed.yaml, on AGENT01's endpoint."""
    case = yaml.safe_load((REPO / "recorded_sessions/sources/cases/cloudsync-agent-not-installed.yaml").read_text())
    agent = source("migration-pass", "agent.yaml")
    directory = scenario(agent={**agent, "episodes": case["episodes"][1:]})
    found = checks(run(cli, directory, "--agent-version", "1.1.1586.0"))["provisioning-agent"]
    assert found["status"] == "fail" and found["evidence"]["error"] == "PrerequisiteMissingError"
    assert found["summary"].startswith("no provisioning agent: script cloudsync/Invoke-AADCloudSyncTools.ps1")
    assert "The Microsoft Entra provisioning agent is not installed on MGMT01" in found["summary"]


def test_an_agent_the_module_reports_absent_fails(cli: Any, scenario: Any) -> None:
    agent = source("migration-pass", "agent.yaml")
    agent["episodes"][0]["output"][0]["properties"]["AgentPresent"] = False
    found = checks(run(cli, scenario(agent=agent), "--agent-version", "1.1.1586.0"))["provisioning-agent"]
    assert found["status"] == "fail" and found["evidence"]["agent_present"] is False
    assert found["summary"] == "AADCloudSyncTools reports no provisioning agent on this host"


# -- 4. the deletion thresholds ------------------------------------------------------------------------------


def on(value: int | None) -> ExportDeletionThreshold:
    return ExportDeletionThreshold(enabled=value is not None, threshold=value)


@pytest.mark.parametrize(
    ("connect", "cloud_enabled", "cloud_value", "expected"),
    [
        (on(500), True, 500, False),  # equal: Cloud Sync holds at 499, Connect past 500
        (on(500), True, 250, False),
        (on(500), True, 501, True),
        (on(500), False, 100, True),  # off is laxer than any threshold
        (on(None), False, 500, False),  # Connect's is off: nothing is laxer
        (ExportDeletionThreshold(enabled=None, threshold=None), True, 500, None),  # Connect's unknown
        (ExportDeletionThreshold(enabled=True, threshold=None), True, 500, None),
    ],
)
def test_laxer(connect: ExportDeletionThreshold, cloud_enabled: bool, cloud_value: int, expected: bool | None) -> None:
    assert laxer(connect, cloud_enabled, cloud_value) is expected


def graph_with_threshold(enabled: bool, value: int) -> dict[str, Any]:
    graph = source("migration-pass", "graph/cloudsync.yaml")
    secrets = graph["interactions"][-1]["response"]["json"]["value"]
    settings = json.loads(secrets[-1]["value"])
    secrets[-1]["value"] = json.dumps({**settings, "DeleteThresholdEnabled": enabled, "DeleteThresholdValue": value})
    return graph


@pytest.mark.parametrize(("enabled", "value", "shown"), [(True, 1000, "1000"), (False, 50, "off")])
def test_a_laxer_cloud_sync_threshold_warns_with_both_values(
    cli: Any, scenario: Any, enabled: bool, value: int, shown: str
) -> None:
    directory = scenario(graph__cloudsync=graph_with_threshold(enabled, value))
    result = run(cli, directory)
    found = checks(result)["deletion-threshold"]
    assert result.code == 1 and found["status"] == "warn"
    assert found["summary"] == f"Cloud Sync would be laxer than Connect (500): {JOB}: {shown}"
    assert (found["evidence"]["connect_threshold"], found["evidence"]["cloud_sync"][0]["threshold"]) == (500, value)
    assert "deletion-threshold set --job-id JOB --value 500 --enable --yes" in found["fix"]


def test_a_connect_threshold_that_is_off_is_never_stricter(cli: Any, scenario: Any) -> None:
    connect = source("migration-pass", "connect.yaml")
    for row in connect["episodes"][0]["output"]:
        if row["properties"]["Name"] == "Microsoft.OptionalFeature.ExportDeletionThreshold":
            row["properties"]["Value"] = "False"
    directory = scenario(connect=connect, graph__cloudsync=graph_with_threshold(True, 5000))
    found = checks(run(cli, directory))["deletion-threshold"]
    assert found["status"] == "pass" and found["summary"].startswith("Cloud Sync is as strict as Connect (off)")


def test_without_a_cloud_sync_configuration_the_defaults_of_a_new_one_are_compared(report: Any, scenario: Any) -> None:
    """The tenant's only configuration is fabrikam.example's: nothing for Connect's contoso.example."""
    graph = source("migration-pass", "graph/cloudsync.yaml")
    first_template, second_template, _contoso_jobs, fabrikam_jobs = graph["interactions"][:4]
    sps = first_template["response"]["json"]["value"]
    first_template["response"]["json"]["value"] = [sp for sp in sps if sp["displayName"] == "fabrikam.example"]
    directory = scenario(graph__cloudsync={**graph, "interactions": [first_template, second_template, fabrikam_jobs]})
    result = report(directory)
    found = result.check("deletion-threshold")
    assert found.status == "pass"
    assert found.evidence["cloud_sync"] == [
        {"job": None, "domain": "contoso.example", "enabled": True, "threshold": 500, "configured": False}
    ]
    plan = result.check("plan").evidence
    assert (plan["interval_minutes_after"], plan["interval_after_source"]) == (2, "Microsoft's example job (PT2M)")


def test_a_job_named_is_the_one_compared_and_an_unknown_one_fails(cli: Any) -> None:
    named = checks(run(cli, SCENARIOS / "migration-pass", "--job-id", JOB))["deletion-threshold"]
    assert named["status"] == "pass" and [r["job"] for r in named["evidence"]["cloud_sync"]] == [JOB]
    unknown = checks(run(cli, SCENARIOS / "migration-pass", "--job-id", "AD2AADProvisioning.nosuchjob"))
    found = unknown["deletion-threshold"]
    assert found["status"] == "fail" and found["evidence"]["error"] == "ObjectNotFoundError"
    assert "Synchronization Job Id 'AD2AADProvisioning.nosuchjob' not found." in found["summary"]


def test_without_graph_the_comparison_is_skipped(report: Any) -> None:
    found = report(SCENARIOS / "migration-pass", graph=False).check("deletion-threshold")
    assert found.status == "skip" and found.evidence["connect_threshold"] == 500
    assert "[graph] in the config file" in (found.fix or "")


def test_a_graph_that_refuses_is_a_failing_check(cli: Any, scenario: Any) -> None:
    """403 on the secrets, in the Authorization_RequestDenied shape of demo/graph/tenant.yaml's source."""
    graph = source("migration-pass", "graph/cloudsync.yaml")
    tenant = yaml.safe_load((REPO / "recorded_sessions/sources/demo/graph/tenant.yaml").read_text(encoding="utf-8"))
    graph["interactions"][-1]["response"] = tenant["interactions"][1]["response"]
    found = checks(run(cli, scenario(graph__cloudsync=graph)))["deletion-threshold"]
    assert found["status"] == "fail" and found["target"] == "graph"
    assert found["evidence"]["error"] == "GraphPermissionError" and "403" in found["summary"]


# -- 5. the plan, and Connect itself ----------------------------------------------------------------------------


def test_connect_features_without_a_cloud_sync_counterpart_warn(cli: Any, scenario: Any) -> None:
    connect = source("migration-pass", "connect.yaml")
    for row in connect["episodes"][0]["output"]:
        if row["properties"]["Name"] in ("Microsoft.OptionalFeature.DeviceWriteBack",
                                         "Microsoft.OptionalFeature.DirectoryExtension"):  # fmt: skip
            row["properties"]["Value"] = "True"
    found = checks(run(cli, scenario(connect=connect)))["plan"]
    assert found["status"] == "warn"
    assert found["evidence"]["features_without_counterpart"] == ["device writeback", "directory extensions"]
    assert found["summary"].endswith(
        "in use without a known Cloud Sync counterpart: device writeback, directory extensions"
    )


def test_a_connect_server_that_refuses_is_one_failing_check(cli: Any, scenario: Any) -> None:
    connect = source("migration-pass", "connect.yaml")
    refused = {**connect["episodes"][0], "terminating_error": ACCESS_DENIED}
    del refused["output"]
    result = run(cli, scenario(connect={**connect, "episodes": [refused]}), "--ou", SALES)
    found = checks(result)
    assert result.code == 1 and "deletion-threshold" not in found and "plan" not in found
    assert found["connect-configuration"]["status"] == "fail"
    summary = found["connect-configuration"]["summary"]
    assert summary.startswith("could not read Connect's configuration: script adsync/Get-GlobalParameters.ps1")
    assert summary.endswith(": Access is denied.")
    assert found[f"scoping-ou {SALES}"]["status"] == "pass"  # the other hosts are still checked


# -- targets: missing and unreachable --------------------------------------------------------------------------


def test_a_missing_target_is_exit_2_naming_the_role(
    cli: Any, write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Live, with no dc target: refused before any host is contacted (these hosts do not exist)."""
    config = write_config(
        '[defaults]\nusername = "CONTOSO\\\\svc"\npassword_env = "MIGRATION_PW"\n'
        '[targets.connect]\nhost = "connect01.contoso.example"\n'
        '[targets.cloudsync-agent]\nhost = "agent01.contoso.example"\n'
    )
    monkeypatch.setenv("MIGRATION_PW", "not-used")
    line = cli("--config", config, "check", "cloud-sync-migration").one_line_error(2)
    assert (
        line
        == f"psbridge: error: no target for role 'dc' in {config}: add [targets.dc] with host = \"dc01.contoso.com\""
    )


def loopback_config(write_config: Callable[..., Path], port: int) -> Path:
    roles = "".join(f'[targets.{role}]\nhost = "127.0.0.1"\n' for role in ("connect", "dc", "cloudsync-agent"))
    return write_config(
        f'[defaults]\nusername = "{USER}"\npassword_env = "MIGRATION_PW"\nport = {port}\nauth = "basic"\n'
        f'tls = false\nencryption = "never"\n{roles}'
    )


@pytest.mark.parametrize(("password", "code"), [(PASSWORD, 0), ("wrong-password", 3)])
@pytest.mark.slow
def test_live_over_loopback_it_runs_and_a_refused_sign_in_is_exit_3(
    cli: Any, write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, fresh_backup: Path,
    password: str, code: int,
) -> None:  # fmt: skip
    """The pass scenario served on a real socket to all three targets; no Graph configured (skipped)."""
    endpoints = http.Endpoints(SCENARIOS / "migration-pass")
    with endpoint(endpoints.handle) as server:
        config = loopback_config(write_config, port_of(server.url))
        monkeypatch.setenv("MIGRATION_PW", password)
        result = cli("--config", config, "-o", "json", "check", "cloud-sync-migration", "--ou", SALES,
                     "--backup-dir", fresh_backup, "--agent-version", "1.1.1586.0")  # fmt: skip
    assert result.code == code, result
    if code == 0:
        assert checks(result)["deletion-threshold"]["status"] == "skip"
    else:
        assert "401" in result.one_line_error(3)
