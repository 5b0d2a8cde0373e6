"""The ADSync wrappers over replayed sessions: the demo, the failure cases, and recordings built here.

Recordings built in a test use the same shapes as recorded_sessions/ (docs/adsync.md).
A command a wrapper should not send is proven unsent by replay itself: it is not in the recording, so
sending it would raise ReplayMissError.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import re
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import DEMO, FAST_RETRY, REPO, scheduler_spec
from structlog.testing import capture_logs

from psbridge import (
    AccessDeniedError,
    Command,
    ConnectError,
    ConnectorBusyError,
    InputError,
    InteractiveOnlyError,
    OutcomeUnknownError,
    PrerequisiteMissingError,
    RetryPolicy,
    Session,
    UnexpectedOutputError,
    adsync,
    ps,
)
from psbridge.adsync import NotStartedReason, PolicyType
from psbridge.replay.transport import recorded_session
from psbridge.result import InvocationResult, Streams
from psbridge.transport.mock import MockTransport

Factory = Callable[..., Session]
CASES = REPO / "recorded_sessions" / "cases"
AAD = uuid.UUID("b891884f-051e-4a83-95af-2544101c9083")
STEP_COUNTERS = (
    "StageNoChange",
    "StageAdd",
    "StageUpdate",
    "StageRename",
    "StageDelete",
    "StageDeleteAdd",
    "StageFailure",
    "DisconnectorFiltered",
    "DisconnectorJoinedNoFlow",
    "DisconnectorJoinedFlow",
    "DisconnectorJoinedRemoveMv",
    "DisconnectorProjectedNoFlow",
    "DisconnectorProjectedFlow",
    "DisconnectorProjectedRemoveMv",
    "DisconnectorRemains",
    "ConnectorFilteredRemoveMv",
    "ConnectorFilteredLeaveMv",
    "ConnectorFlow",
    "ConnectorFlowRemoveMv",
    "ConnectorNoFlow",
    "ConnectorDeleteRemoveMv",
    "ConnectorDeleteLeaveMv",
    "ConnectorDeleteAddProcessed",
    "FlowFailure",
    "ExportAdd",
    "ExportUpdate",
    "ExportRename",
    "ExportDelete",
    "ExportDeleteAdd",
    "ExportFailure",
)  # RunStepResult's counters, as Get-ADSyncRunProfileResult -RunStepDetails returns them
BUSY_TEXT = "System.InvalidOperationException: Connector: contoso.onmicrosoft.com - AAD is busy."


def script_code(name: str) -> str:
    """A packaged script's lines without its comments."""
    return "\n".join(line for line in ps.load(name).splitlines() if not line.lstrip().startswith("#")) + "\n"


def replay(path: Path) -> Session:
    return recorded_session(path, retry=RetryPolicy(attempts=1))


@pytest.fixture
def demo() -> Any:
    with replay(DEMO) as session:
        yield session


def case(name: str) -> Session:
    return replay(CASES / f"adsync-{name}.yaml")


def start_spec(started: bool = True, reason: str | None = None, policy: str = "Delta") -> dict[str, Any]:
    props = {
        "Started": started,
        "Reason": reason if reason else {"Nil": None},
        "Result": "Success" if started else {"Nil": None},
        "PolicyType": policy,
        "StagingModeEnabled": False,
        "NextSyncCycleStartTimeInUTC": {"DT": "2026-11-25T12:30:00Z"},
    }
    return {
        "script": "adsync/Start-SyncCycle.ps1",
        "parameters": [{"name": "PolicyType", "value": policy}],
        "output": [{"properties": props}],
    }


def run_status_spec(*running: str) -> dict[str, Any]:
    output = [{"properties": {"ConnectorName": name, "RunState": "Busy"}} for name in running]
    return {"script": "adsync/Get-ConnectorRunStatus.ps1", "output": output}


def global_spec(**values: str) -> dict[str, Any]:
    output = [{"properties": {"Name": k, "Value": v, "DataType": "String"}} for k, v in values.items()]
    return {"script": "adsync/Get-GlobalParameters.ps1", "output": output}


# -- global settings ------------------------------------------------------------------------------------


def test_global_settings_typed_fields(demo: Session) -> None:
    settings = adsync.get_global_settings(demo)
    assert settings.staging_mode_enabled is False
    assert settings.password_hash_sync is True and settings.sign_on_method == "PasswordHashSync"
    assert settings.exchange_hybrid is True
    assert (settings.device_writeback, settings.group_writeback, settings.user_writeback) == (False, False, False)
    assert settings.scheduler_suspended is False
    assert settings.export_deletion_threshold_enabled is True and settings.export_deletion_threshold == 500
    assert settings.get("microsoft.synchronize.timeinterval") == "00:30:00"  # raw values stay available


def test_global_settings_of_an_old_build_leave_missing_names_none() -> None:
    with case("v1.1") as session:
        settings = adsync.get_global_settings(session)
    assert settings.staging_mode_enabled is False and settings.password_hash_sync is True
    assert settings.exchange_hybrid is None and settings.scheduler_suspended is None
    assert settings.export_deletion_threshold_enabled is None and settings.export_deletion_threshold is None


def test_a_flag_that_is_not_true_or_false_is_unexpected_output(replay_session: Factory) -> None:
    session = replay_session([global_spec(**{"Microsoft.Synchronize.StagingMode": "Sometimes"})])
    with pytest.raises(UnexpectedOutputError, match="staging_mode_enabled"):
        adsync.get_global_settings(session)


def test_export_deletion_threshold_is_the_local_mirror(demo: Session) -> None:
    threshold = adsync.get_export_deletion_threshold(demo)
    assert (threshold.enabled, threshold.threshold) == (True, 500)
    assert "local mirror" in threshold.source


def test_old_build_fails_the_version_check() -> None:
    with case("v1.1") as session:
        check = adsync.check_version(session, today=dt.date(2026, 11, 25))
    assert str(check.version) == "1.1.281.0" and check.meets_minimum is False
    assert "v1-retired" in [note.id for note in check.notes]


def test_the_version_check_judges_global_settings_already_read_without_reading_them_again() -> None:
    with case("v1.1") as session:  # the case holds one Get-GlobalParameters: a second read would miss
        settings = adsync.get_global_settings(session)
        check = adsync.check_version(session, today=dt.date(2026, 11, 25), settings=settings)
    with case("v1.1") as fresh:
        assert check == adsync.check_version(fresh, today=dt.date(2026, 11, 25))


def test_missing_module_is_a_missing_prerequisite() -> None:
    with case("module-missing") as session, pytest.raises(PrerequisiteMissingError) as info:
        adsync.get_version(session)
    err = info.value
    assert "the ADSync module is not available on member01.contoso.example" in str(err)
    assert "not an Entra Connect Sync server" in str(err)
    assert err.error_id is not None and err.error_id.startswith("Modules_ModuleNotFound")
    assert err.exit_code == 4


# -- scheduler ---------------------------------------------------------------------------------------------


def test_scheduler_values_are_typed(demo: Session) -> None:
    scheduler = adsync.get_scheduler(demo)
    assert scheduler.allowed_sync_cycle_interval == dt.timedelta(minutes=30)
    assert scheduler.purge_run_history_interval == dt.timedelta(days=7)
    assert scheduler.customized_sync_cycle_interval is None
    assert scheduler.next_sync_cycle_policy_type is PolicyType.DELTA
    assert scheduler.next_sync_cycle_start_time_in_utc == dt.datetime(2026, 11, 25, 12, 30, tzinfo=dt.UTC)
    assert scheduler.sync_cycle_enabled is True and scheduler.staging_mode_enabled is False
    assert scheduler.sync_cycle_in_progress is False and scheduler.not_started_reason is None


def test_old_build_scheduler_lacks_suspended_and_in_progress() -> None:
    with case("v1.1") as session:
        scheduler = adsync.get_scheduler(session)
    assert scheduler.scheduler_suspended is None and scheduler.sync_cycle_in_progress is None
    assert scheduler.sync_cycle_enabled is True


def test_access_denied() -> None:
    with case("access-denied") as session, pytest.raises(AccessDeniedError, match="Access is denied"):
        adsync.get_scheduler(session)


def test_set_scheduler_sends_nothing_when_already_matching(replay_session: Factory) -> None:
    session = replay_session([scheduler_spec()])  # no Set-Scheduler.ps1 episode: sending one would miss
    change = adsync.set_scheduler(session, sync_cycle_enabled=True, maintenance_enabled=True)
    assert change.changed is False and change.before == change.after


def test_set_scheduler_dry_run_computes_after_without_sending(replay_session: Factory) -> None:
    session = replay_session([scheduler_spec()])
    change = adsync.set_scheduler(session, customized_sync_cycle_interval="00:40:00", dry_run=True)
    assert (change.changed, change.would_change, change.dry_run) == (False, True, True)
    assert change.before.customized_sync_cycle_interval is None
    assert change.after.customized_sync_cycle_interval == dt.timedelta(minutes=40)
    assert change.after.model_dump(exclude={"customized_sync_cycle_interval"}) == change.before.model_dump(
        exclude={"customized_sync_cycle_interval"}
    )


def test_set_scheduler_sends_only_what_differs_and_logs_the_warning(replay_session: Factory) -> None:
    # The warning Set-ADSyncScheduler writes for a changed interval (docs/adsync.md, Scheduler).
    warning = "The sync interval you provided will only become effective after a sync cycle…"
    set_spec = {
        "script": "adsync/Set-Scheduler.ps1",
        "parameters": [
            {"name": "CustomizedSyncCycleInterval", "value": "00:40:00"},
            {"name": "NextSyncCyclePolicyType", "value": "Initial"},
        ],
        "warnings": [warning],
    }
    session = replay_session([scheduler_spec(), set_spec])
    with capture_logs() as events:
        change = adsync.set_scheduler(
            session,
            sync_cycle_enabled=True,  # already so: not sent
            customized_sync_cycle_interval=dt.timedelta(minutes=40),
            next_sync_cycle_policy_type="initial",
        )
    assert change.changed is True and change.dry_run is False
    assert change.after.next_sync_cycle_policy_type is PolicyType.INITIAL
    assert [e["message"] for e in events if e["event"] == "psbridge.remote.warning"] == [warning]


def test_set_scheduler_refuses_an_interval_below_the_allowed_one(replay_session: Factory) -> None:
    session = replay_session([scheduler_spec()])
    with pytest.raises(InputError, match="shorter than the AllowedSyncCycleInterval 00:30:00"):
        adsync.set_scheduler(session, customized_sync_cycle_interval="00:10:00")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"customized_sync_cycle_interval": "soon"},
        {"customized_sync_cycle_interval": "-00:30:00"},
        {"purge_run_history_interval": dt.timedelta(0)},
        {"next_sync_cycle_policy_type": "Unspecified"},
    ],
)
def test_set_scheduler_rejects_bad_input_before_reading(kwargs: dict[str, Any]) -> None:
    transport = MockTransport(lambda c: pytest.fail(f"sent {c.display()}"), target="connect01")
    with pytest.raises(InputError):
        adsync.set_scheduler(Session(transport=transport), **kwargs)
    assert transport.calls == []


# -- starting a sync cycle -------------------------------------------------------------------------------------


def test_start_sync_cycle(demo: Session) -> None:
    start = adsync.start_sync_cycle(demo)
    assert start.started is True and start.result == "Success" and start.reason is None
    assert start.policy_type is PolicyType.DELTA and start.staging_mode_enabled is False
    assert start.finished is None  # nobody waited


def test_busy_connector_raises_with_its_name() -> None:
    with case("busy") as session, pytest.raises(ConnectorBusyError) as info:
        adsync.start_sync_cycle(session)
    assert info.value.connector == "contoso.onmicrosoft.com - AAD"
    assert info.value.error_id is not None and info.value.error_id.startswith("System.InvalidOperationException:")
    assert info.value.fields()["connector"] == "contoso.onmicrosoft.com - AAD"


def test_busy_as_a_non_terminating_record_raises_too(replay_session: Factory) -> None:
    spec = start_spec()
    spec["output"] = []
    spec["errors"] = [{
        "message": BUSY_TEXT.replace("contoso.onmicrosoft.com - AAD", "contoso.example"),
        "fully_qualified_error_id": "System.InvalidOperationException: Connector: contoso.example is busy.,"
        "Microsoft.IdentityManagement.PowerShell.Cmdlet.StartADSyncSyncCycleCmdlet",
        "category": "WriteError",
        "exception_type": "System.InvalidOperationException",
    }]  # fmt: skip
    with pytest.raises(ConnectorBusyError) as info:
        adsync.start_sync_cycle(replay_session([spec]))
    assert info.value.connector == "contoso.example"


@pytest.mark.parametrize(
    ("name", "reason"),
    [("sync-running", NotStartedReason.IN_PROGRESS), ("sync-disabled", NotStartedReason.SYNC_CYCLE_DISABLED)],
)
def test_scheduler_refusals_are_results_not_errors(name: str, reason: NotStartedReason) -> None:
    with case(name) as session:
        start = adsync.start_sync_cycle(session, wait=True, poll_s=0.001)  # nothing started: nothing to wait for
    assert start.started is False and start.reason is reason and start.result is None
    assert start.finished is None


def test_suspended_scheduler_is_reported(replay_session: Factory) -> None:
    session = replay_session([start_spec(started=False, reason="SchedulerSuspended")])
    assert adsync.start_sync_cycle(session).reason is NotStartedReason.SCHEDULER_SUSPENDED


def test_missing_start_cmdlet_is_a_missing_prerequisite() -> None:
    with case("module-missing") as session, pytest.raises(PrerequisiteMissingError) as info:
        adsync.start_sync_cycle(session)
    assert str(info.value).startswith("Start-ADSyncSyncCycle is not available on member01.contoso.example")
    assert info.value.error_id == "CommandNotFoundException"


def test_dry_run_reads_the_scheduler_and_starts_nothing() -> None:
    with case("sync-disabled") as session:
        preview = adsync.start_sync_cycle(session, dry_run=True)
        assert preview.dry_run is True and preview.started is False
        assert preview.reason is NotStartedReason.SYNC_CYCLE_DISABLED
        # The start episode is still unplayed: the dry run did not send it.
        assert adsync.start_sync_cycle(session).reason is NotStartedReason.SYNC_CYCLE_DISABLED


def test_start_is_never_retried() -> None:
    def lost(command: Command) -> InvocationResult:
        raise ConnectError("connection reset", target="connect01", command=command.display())

    transport = MockTransport(lost, target="connect01")
    session = Session(transport=transport, retry=FAST_RETRY)
    with pytest.raises(OutcomeUnknownError, match="may or may not have run"):
        adsync.start_sync_cycle(session)
    assert len(transport.calls) == 1
    assert transport.calls[0].name == "adsync/Start-SyncCycle.ps1" and transport.calls[0].idempotent is False


def test_reads_are_retried_unlike_the_start() -> None:
    def lost(command: Command) -> InvocationResult:
        raise ConnectError("connection reset", target="connect01")

    transport = MockTransport(lost, target="connect01")
    with pytest.raises(ConnectError):
        adsync.get_scheduler(Session(transport=transport, retry=FAST_RETRY))
    assert len(transport.calls) == FAST_RETRY.attempts


@pytest.mark.parametrize("policy", ["Unspecified", "Full", ""])
def test_start_refuses_unknown_policies(policy: str) -> None:
    transport = MockTransport(lambda c: InvocationResult(c.display(), (), Streams()), target="connect01")
    with pytest.raises(InputError, match="Delta or Initial"):
        adsync.start_sync_cycle(Session(transport=transport), policy_type=policy)
    assert transport.calls == []


def test_wait_until_idle_through_the_demo_story(demo: Session) -> None:
    with capture_logs() as events:
        start = adsync.start_sync_cycle(demo, wait=True, poll_s=0.001)
    assert start.started is True and start.finished is True
    running = [e for e in events if e["event"] == "psbridge.adsync.sync_cycle.running"]
    finished = [e for e in events if e["event"] == "psbridge.adsync.sync_cycle.finished"]
    # Poll 1: idle and nothing running, but the cycle had not registered yet (next start unchanged).
    assert [(e["poll"], e["in_progress"], e["connectors"]) for e in running] == [
        (1, False, []),
        (2, True, ["contoso.example: Busy"]),
    ]
    assert [e["poll"] for e in finished] == [3]


def test_one_empty_run_status_is_not_the_end_on_builds_without_in_progress(replay_session: Factory) -> None:
    old = {"SchedulerSuspended": {"Nil": None}, "SyncCycleInProgress": {"Nil": None}}
    polls = [[], ["contoso.example"], [], [], []]  # an empty answer between steps, then three in a row
    specs: list[dict[str, Any]] = [start_spec()]
    for running in polls:
        specs += [scheduler_spec(**old), run_status_spec(*running)]
    session = replay_session(specs)
    with capture_logs() as events:
        start = adsync.start_sync_cycle(session, wait=True, poll_s=0.001, settle_polls=3)
    assert start.finished is True
    assert [e["poll"] for e in events if e["event"] == "psbridge.adsync.sync_cycle.finished"] == [5]


def test_a_quick_cycle_that_ended_between_polls_counts_as_finished(replay_session: Factory) -> None:
    moved = scheduler_spec(NextSyncCycleStartTimeInUTC={"DT": "2026-11-25T12:52:00Z"})
    session = replay_session([start_spec(), moved, run_status_spec()])
    assert adsync.start_sync_cycle(session, wait=True, poll_s=0.001).finished is True


def test_wait_gives_up_at_the_deadline(replay_session: Factory) -> None:
    session = replay_session(
        [start_spec(), scheduler_spec(SyncCycleInProgress=True), run_status_spec("contoso.example")]
    )
    with capture_logs() as events:
        start = adsync.start_sync_cycle(session, wait=True, deadline_s=0, poll_s=0.001)
    assert start.started is True and start.finished is False
    assert [e["event"] for e in events if e["log_level"] == "warning"] == ["psbridge.adsync.sync_cycle.wait_timeout"]


def test_wait_parameters_are_checked_before_sending() -> None:
    transport = MockTransport(lambda c: pytest.fail("sent"), target="connect01")
    with pytest.raises(InputError):
        adsync.start_sync_cycle(Session(transport=transport), wait=True, poll_s=0)
    assert transport.calls == []


# -- run status, connectors, run history ----------------------------------------------------------------------


def test_run_status_is_empty_when_idle_then_names_the_running_connector(demo: Session) -> None:
    assert adsync.get_connector_run_status(demo) == []
    (status,) = adsync.get_connector_run_status(demo)
    assert (status.connector_name, status.run_state) == ("contoso.example", "Busy")


def test_connectors_with_partitions(demo: Session) -> None:
    connectors = {c.name: c for c in adsync.get_connector(demo)}
    ad, aad = connectors["contoso.example"], connectors["contoso.onmicrosoft.com - AAD"]
    assert ad.type == "AD" and not ad.is_entra_id
    assert [(p.dn, p.selected, p.is_domain) for p in ad.partitions] == [
        ("DC=contoso,DC=example", True, True),
        ("CN=Configuration,DC=contoso,DC=example", False, False),
    ]
    assert all(p.connector_id == ad.identifier for p in ad.partitions)
    assert aad.identifier == AAD and aad.is_entra_id
    assert (aad.type, aad.subtype, aad.partitions) == ("Extensible2", "Windows Azure Active Directory (Microsoft)", ())


def test_run_history_newest_first_with_steps(demo: Session) -> None:
    runs = adsync.get_run_profile_result(demo)
    assert len(runs) == 10
    starts = [r.start_date for r in runs]
    assert all(s is not None for s in starts) and starts == sorted(starts, reverse=True)  # type: ignore[type-var]
    newest = runs[0]
    assert (newest.connector_id, newest.run_profile_name, newest.result) == (AAD, "Export", "success")
    assert newest.username == "NT SERVICE\\ADSync" and newest.is_run_complete is True
    (step,) = newest.step_results
    assert step.run_history_id == newest.run_history_id and step.step_result == "success"
    assert step.step_number == 1 and step.step_history_id is not None
    assert (step.start_date, step.end_date) == (newest.start_date, newest.end_date)
    assert len(step.counts) == 30 and set(step.counts) == set(STEP_COUNTERS)  # every counter -RunStepDetails has
    assert {k: v for k, v in step.counts.items() if v} == {"ExportAdd": 1, "ExportUpdate": 3}
    assert (step.current_export_batch_number, step.last_successful_export_batch_number) == (1206, 1206)
    assert step.connector_connection_information_xml == "<connection-result>success</connection-result>"
    assert (step.sync_error_count, step.discovery_error_count, step.mv_retry_error_count) == (None, None, None)
    assert {r.run_profile_name for r in runs} == {"Export", "Delta Synchronization", "Delta Import"}
    assert all(len(r.step_results) == r.total_steps == 1 for r in runs)
    imports = [r.step_results[0] for r in runs if r.run_profile_name == "Delta Import"]
    assert [(s.counts["StageAdd"], s.counts["StageUpdate"]) for s in imports] == [(0, 2), (1, 3)]
    syncs = [r.step_results[0] for r in runs if r.run_profile_name == "Delta Synchronization"]
    assert all(s.connector_connection_information_xml is None for s in syncs)  # a sync step connects to nothing


# What a page may carry (dates, GUIDs, enums, nulls, empty listings, malformed pages): tests/test_adsync_json_pages.py


def test_run_history_asks_for_step_details_and_never_wraps_a_null_in_an_array() -> None:
    # No PowerShell runs here: this reads the script psbridge sends, which replay only knows by digest.
    text = script_code("adsync/Get-RunProfileResult.ps1")
    assert re.search(r"\$query = @\{[^}]*\bRunStepDetails = \$true", text), "the query must ask for -RunStepDetails"
    assert re.search(r"Get-ADSyncRunProfileResult @query\b", text)
    assert "@($run.RunStepResults)" not in text and "@($step." not in text


def test_run_history_input_is_checked() -> None:
    transport = MockTransport(lambda c: pytest.fail("sent"), target="connect01")
    with pytest.raises(InputError):
        adsync.get_run_profile_result(Session(transport=transport), number_requested=0)
    with pytest.raises(InputError, match="GUID"):
        adsync.get_run_profile_result(Session(transport=transport), connector_id="AAD")


def test_run_history_access_denied() -> None:
    with case("access-denied") as session, pytest.raises(AccessDeniedError):
        adsync.get_run_profile_result(session)


# -- auto-upgrade, configuration export, interactive-only cmdlets ----------------------------------------------------


def test_auto_upgrade(demo: Session) -> None:
    upgrade = adsync.get_auto_upgrade(demo)
    assert (upgrade.state, upgrade.suspension_reason) == ("Enabled", None)


def test_auto_upgrade_detail_gives_the_suspension_reason(replay_session: Factory) -> None:
    spec = {
        "script": "adsync/Get-AutoUpgrade.ps1",
        "parameters": [{"name": "Detail", "value": True}],
        "output": [{"properties": {"State": "Suspended", "SuspensionReason": "UpgradeNotSupportedNonLocalDbInstall"}}],
    }
    upgrade = adsync.get_auto_upgrade(replay_session([spec]), detail=True)
    assert (upgrade.state, upgrade.suspension_reason) == ("Suspended", "UpgradeNotSupportedNonLocalDbInstall")


def test_export_goes_into_a_fresh_subfolder(demo: Session) -> None:
    export = adsync.get_server_configuration(demo, path="C:\\psbridge\\export")
    parent, _, leaf = export.remote_path.rpartition("\\")
    assert parent == "C:\\psbridge\\export"  # under the folder asked for, never the folder itself
    assert re.fullmatch(r"psbridge-adsync-export-[0-9a-f]{32}", leaf)
    assert (export.file_count, export.zip_path, export.local_path, export.entry_count) == (142, None, None, None)


def test_the_export_script_resolves_the_path_and_zips_with_forward_slashes() -> None:
    # No PowerShell runs here: this reads the script psbridge sends, which replay only knows by digest.
    text = script_code("adsync/Export-ServerConfiguration.ps1")
    assert "$ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path)" in text
    assert "New-Item -ItemType Directory -Path $folder\n" in text  # no -Force: an existing folder is an error
    assert "Get-ADSyncServerConfiguration -Path $folder" in text and "Compress-Archive" not in text
    assert ".Replace('\\', '/')" in text


FOLDER = "C:\\psbridge\\export\\psbridge-adsync-export-0f3c2b1a9d8e4c7b6a5f4e3d2c1b0a99"
ZIP = "C:\\Windows\\Temp\\psbridge-adsync-export-0f3c2b1a9d8e4c7b6a5f4e3d2c1b0a99.zip"
ENTRIES = [
    "GlobalSettings.json",
    *(f"Connectors/Connector_{n:02}.xml" for n in range(2)),
    *(f"SynchronizationRules/In from AD - Rule {n:03}.xml" for n in range(139)),
]  # 142 files, as Export-ServerConfiguration.ps1 names them: relative, with '/'


def export_zip(entries: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in entries:
            archive.writestr(name, f"<{name}/>")
    return buffer.getvalue()


def export_specs(payload: bytes, *, removed: bool = True) -> list[dict[str, Any]]:
    export = {
        "script": "adsync/Export-ServerConfiguration.ps1",
        "parameters": [{"name": "Path", "value": "C:\\psbridge\\export"}, {"name": "Compress", "value": True}],
        "output": [{"properties": {"Path": FOLDER, "FileCount": 142, "Bytes": {"I64": 3187342},
                                   "ZipPath": ZIP, "ZipSize": {"I64": len(payload)}}}],
    }  # fmt: skip
    chunk = {
        "script": "common/Read-FileChunk.ps1",
        "parameters": [
            {"name": "Path", "value": ZIP}, {"name": "Offset", "value": 0}, {"name": "Length", "value": 1048576},
        ],
        "output": [{"properties": {"Length": {"I64": len(payload)}, "Offset": {"I64": 0},
                                   "Data": base64.b64encode(payload).decode(),
                                   "Sha256": hashlib.sha256(payload).hexdigest().upper()}}],
    }  # fmt: skip
    remove: dict[str, Any] = {
        "script": "adsync/Remove-ExportArchive.ps1",
        "parameters": [{"name": "Path", "value": ZIP}],
    }
    if not removed:
        remove["terminating_error"] = {
            "message": f"Cannot remove item {ZIP}: The process cannot access the file because it is being used by "
            "another process.",
            "fully_qualified_error_id": "RemoveFileSystemItemIOError,Microsoft.PowerShell.Commands.RemoveItemCommand",
            "category": "WriteError",
            "exception_type": "System.IO.IOException",
        }
    return [export, chunk, remove]


def test_export_fetches_the_zip_and_removes_it(replay_session: Factory, tmp_path: Path) -> None:
    payload = export_zip(ENTRIES)
    session = replay_session(export_specs(payload))
    export = adsync.get_server_configuration(session, path="C:\\psbridge\\export", fetch_to=tmp_path / "out")
    assert export.remote_path == FOLDER and export.zip_path == ZIP and export.zip_removed is True
    assert export.local_path == tmp_path / "out" / ZIP.rpartition("\\")[2]
    assert export.local_path.read_bytes() == payload
    assert export.sha256 == hashlib.sha256(payload).hexdigest()
    assert export.entry_count == 142
    with zipfile.ZipFile(export.local_path) as archive:  # what a Linux unzip makes of it: folders, not "a\\b" names
        archive.extractall(tmp_path / "unzipped")
    assert (tmp_path / "unzipped" / "Connectors" / "Connector_01.xml").is_file()
    assert sorted(p.name for p in (tmp_path / "unzipped").iterdir()) == [
        "Connectors", "GlobalSettings.json", "SynchronizationRules",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (
            [n.replace("/", "\\") for n in ENTRIES],
            r"does not extract as a relative path: 'Connectors\\\\Connector_00.xml'",
        ),
        ([*ENTRIES[:-1], "../outside.xml"], r"does not extract as a relative path: '\.\./outside\.xml'"),
        (ENTRIES[:-1], "holds 141 files, but the server exported 142"),
    ],
    ids=["backslashes", "parent-folder", "missing-file"],
)
def test_a_fetched_archive_that_is_not_the_export_is_refused(
    replay_session: Factory, tmp_path: Path, entries: list[str], message: str
) -> None:
    session = replay_session(export_specs(export_zip(entries)))
    with capture_logs() as events, pytest.raises(UnexpectedOutputError, match=message):
        adsync.get_server_configuration(session, path="C:\\psbridge\\export", fetch_to=tmp_path / "out")
    # The remote zip was removed all the same, and the local copy is kept for inspection.
    assert not [e for e in events if e["event"] == "psbridge.adsync.export.cleanup_failed"]
    assert [p.name for p in (tmp_path / "out").iterdir()] == [ZIP.rpartition("\\")[2]]


def test_a_fetched_file_that_is_no_zip_is_refused(replay_session: Factory, tmp_path: Path) -> None:
    session = replay_session(export_specs(b"PK\x03\x04" + bytes(range(256))))
    with pytest.raises(UnexpectedOutputError, match="is not a readable zip archive"):
        adsync.get_server_configuration(session, path="C:\\psbridge\\export", fetch_to=tmp_path)


def test_export_keeps_the_local_copy_when_cleanup_fails(replay_session: Factory, tmp_path: Path) -> None:
    payload = export_zip(ENTRIES)
    session = replay_session(export_specs(payload, removed=False))
    with capture_logs() as events:
        export = adsync.get_server_configuration(session, path="C:\\psbridge\\export", fetch_to=tmp_path)
    assert export.zip_removed is False and export.local_path is not None and export.local_path.is_file()
    (warning,) = [e for e in events if e["event"] == "psbridge.adsync.export.cleanup_failed"]
    assert warning["remote_path"] == ZIP


@pytest.mark.parametrize(
    ("call", "cmdlet"),
    [
        (lambda s: adsync.enable_export_deletion_threshold(s, deletion_threshold=100),
         "Enable-ADSyncExportDeletionThreshold"),
        (adsync.disable_export_deletion_threshold, "Disable-ADSyncExportDeletionThreshold"),
        (lambda s: adsync.set_aad_company_feature(s, PasswordHashSync=True), "Set-ADSyncAADCompanyFeature"),
        (lambda s: adsync.set_aad_password_sync_state(s, enabled=True), "Set-ADSyncAADPasswordSyncState"),
    ],
)  # fmt: skip
def test_interactive_only_cmdlets_refuse_without_contacting_the_server(call: Any, cmdlet: str) -> None:
    transport = MockTransport(lambda c: pytest.fail("sent"), target="connect01")
    with pytest.raises(InteractiveOnlyError) as info:
        call(Session(transport=transport))
    assert transport.calls == []
    assert str(info.value).startswith(f"{cmdlet} needs an interactive Entra sign-in (-AADUserName)")
    assert "Update-MgDirectoryOnPremiseSynchronization" in str(info.value)
    assert info.value.target == "connect01" and info.value.exit_code == 2
