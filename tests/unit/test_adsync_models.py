"""ADSync models and the wait-until-idle rule: pure logic, no session."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from psbridge.adsync import (
    ConnectorRunStatus,
    GlobalSettings,
    IdleWatch,
    NotStartedReason,
    RunStepResult,
    Scheduler,
)

T0 = dt.datetime(2026, 11, 25, 12, 30, tzinfo=dt.UTC)


def scheduler(**fields: Any) -> Scheduler:
    data = {
        "AllowedSyncCycleInterval": "PT30M",
        "CurrentlyEffectiveSyncCycleInterval": "PT30M",
        "NextSyncCycleStartTimeInUTC": T0,
        "SyncCycleEnabled": True,
        "MaintenanceEnabled": True,
        "StagingModeEnabled": False,
        "SchedulerSuspended": False,
        "SyncCycleInProgress": False,
        **fields,
    }
    return Scheduler.model_validate(data)


BUSY = [ConnectorRunStatus.model_validate({"ConnectorName": "contoso.example", "RunState": "Busy"})]


def test_idle_watch_needs_the_cycle_seen_or_the_next_start_moved() -> None:
    watch = IdleWatch(T0)
    assert watch.observe(scheduler(), []) is False  # idle, but the started cycle has not shown up yet
    assert watch.observe(scheduler(SyncCycleInProgress=True), []) is False
    assert watch.observe(scheduler(), BUSY) is False  # a connector still runs
    assert watch.observe(scheduler(), []) is True


def test_idle_watch_accepts_a_cycle_that_ran_between_polls() -> None:
    later = T0 + dt.timedelta(minutes=24)
    assert IdleWatch(T0).observe(scheduler(NextSyncCycleStartTimeInUTC=later), []) is True
    assert IdleWatch(None).observe(scheduler(NextSyncCycleStartTimeInUTC=later), []) is False


def test_idle_watch_on_old_builds_counts_consecutive_empty_polls() -> None:
    old = scheduler(SchedulerSuspended=None, SyncCycleInProgress=None)
    watch = IdleWatch(T0, settle_polls=3)
    answers = [[], [], BUSY, [], [], []]
    assert [watch.observe(old, running) for running in answers] == [False, False, False, False, False, True]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"SyncCycleEnabled": False, "SchedulerSuspended": True, "SyncCycleInProgress": True},
         NotStartedReason.SYNC_CYCLE_DISABLED),
        ({"SchedulerSuspended": True, "SyncCycleInProgress": True}, NotStartedReason.SCHEDULER_SUSPENDED),
        ({"SyncCycleInProgress": True}, NotStartedReason.IN_PROGRESS),
        ({"SchedulerSuspended": None, "SyncCycleInProgress": None}, None),
        ({}, None),
    ],
)  # fmt: skip
def test_not_started_reason_follows_the_start_script_order(fields: dict[str, Any], reason: Any) -> None:
    assert scheduler(**fields).not_started_reason == reason


def test_scheduler_bools_are_parsed_not_truthy() -> None:
    parsed = scheduler(SyncCycleEnabled="False", SchedulerSuspended="", SyncCycleInProgress="True")
    assert parsed.sync_cycle_enabled is False
    assert parsed.scheduler_suspended is None and parsed.sync_cycle_in_progress is True


def params(**values: str) -> list[dict[str, str]]:
    return [{"Name": name, "Value": value} for name, value in values.items()]


def test_global_settings_derive_typed_fields_case_insensitively() -> None:
    settings = GlobalSettings.model_validate({
        "parameters": params(**{
            "microsoft.synchronize.stagingmode": "TRUE",
            "Microsoft.UserSignIn.SignOnMethod": "PassThroughAuthentication",
            "Microsoft.OptionalFeature.ExportDeletionThresholdValue": "",
            "Microsoft.OptionalFeature.GroupWriteBack": "False",
        }),
        "staging_mode_enabled": False,  # derived fields are recomputed, whatever is passed
    })  # fmt: skip
    assert settings.staging_mode_enabled is True
    assert settings.sign_on_method == "PassThroughAuthentication" and settings.password_hash_sync is False
    assert settings.export_deletion_threshold is None and settings.group_writeback is False
    assert settings.exchange_hybrid is None  # not reported by this build
    assert GlobalSettings.model_validate(settings.model_dump()) == settings


def test_global_settings_without_sign_on_method_do_not_guess_password_hash_sync() -> None:
    assert GlobalSettings.model_validate({"parameters": []}).password_hash_sync is None


def test_step_counts_take_every_counter_and_nothing_else() -> None:
    step = RunStepResult.model_validate({
        "RunHistoryId": "9d3c4812-5b1e-4c8a-a6f2-7e0b3d9c4812", "StepNumber": 1, "StepResult": "success",
        "Kind": "Step", "StageAdd": 2, "ExportFailure": 0, "FlowFailure": 1, "ConnectorFlow": 3,
        "ConnectorConnectionInformationXml": "<connection-result>success</connection-result>",
        "CurrentExportBatchNumber": 7, "ExportNewThing": True,
    })  # fmt: skip
    assert step.counts == {"StageAdd": 2, "ExportFailure": 0, "FlowFailure": 1, "ConnectorFlow": 3}
    assert step.current_export_batch_number == 7  # a batch number, not a counter
    assert step.connector_connection_information_xml == "<connection-result>success</connection-result>"
    assert RunStepResult.model_validate(step.model_dump()) == step


def test_step_without_error_lists_reports_no_counts_rather_than_zero() -> None:
    step = RunStepResult.model_validate({
        "RunHistoryId": "9d3c4812-5b1e-4c8a-a6f2-7e0b3d9c4812", "StepNumber": 1, "StepResult": "completed-sync-errors",
        "SyncErrorCount": 4, "DiscoveryErrorCount": None, "StartDate": "2026-11-25T12:00:58Z",
    })  # fmt: skip
    assert (step.sync_error_count, step.discovery_error_count, step.mv_retry_error_count) == (4, None, None)
    assert step.start_date is not None and step.start_date.utcoffset() is not None and step.end_date is None
    assert step.counts == {}
