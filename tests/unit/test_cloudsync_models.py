"""Cloud Sync models: the value forms AADCloudSyncTools sends, parsed defensively; the packaged script's contract."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from cloudsync_data import HEALTHY, QUARANTINED, demo_object, plain

from psbridge import ps
from psbridge.cloudsync import (
    DeletionPrevention,
    GraphQueryResult,
    Info,
    Job,
    JobChange,
    JobSchedule,
    JobSettings,
    JobStatus,
    ScopeRule,
)
from psbridge.cloudsync.models import TenantSyncFacts
from psbridge.cloudsync.runner import DEFAULT_MODULE_PATH

SCRIPT = ps.load("cloudsync/Invoke-AADCloudSyncTools.ps1")


def _status(name: str, **changes: object) -> JobStatus:
    return JobStatus.model_validate({**plain(demo_object(name)), **changes})


def test_quarantine_comes_from_the_flat_fields_and_round_trips() -> None:
    job = _status("quarantined_status")

    assert job.quarantine is not None and job.quarantine.reason == "IngestionInterrupted"
    assert job.last_run is not None and job.last_run.count_exported == 0
    assert JobStatus.model_validate(job.model_dump()) == job
    assert JobStatus.model_validate_json(job.model_dump_json()) == job


def test_status_codes_compare_case_insensitively_and_unknown_ones_are_kept() -> None:
    assert _status("resumed_status", code="quarantine").is_quarantined  # lower-camel in secondary texts
    future = _status("resumed_status", code="unknownFutureValue")
    assert (future.code, future.is_quarantined) == ("unknownFutureValue", False)


def test_empty_texts_are_none_not_errors() -> None:
    # A Graph sample has empty strings for some time fields; the module sends `quarantine = ''`.
    job = _status(
        "healthy_status", steadyStateFirstAchievedTime="", lastRun_timeEnded="", countSuccessiveCompleteFailures=""
    )
    assert job.steady_state_first_achieved_time is None and job.count_successive_complete_failures is None
    assert job.last_run is not None and job.last_run.time_ended is None
    assert job.quarantine is None


def test_a_quarantine_without_an_error_object() -> None:
    data = {k: v for k, v in plain(demo_object("quarantined_status")).items() if not k.startswith("quarantineError_")}
    job = JobStatus.model_validate(data)
    assert job.quarantine is not None and job.quarantine.error is None and job.quarantine.series_count == 3


@pytest.mark.parametrize(
    ("interval", "mins", "text", "expected"),
    [
        (2.0, 2.0, None, dt.timedelta(minutes=2)),
        ("40", 40.0, None, dt.timedelta(minutes=40)),
        ("PT40M", None, "PT40M", dt.timedelta(minutes=40)),  # the module keeps what it could not convert
        (15372286728.091293, 15372286728.091293, None, None),  # TimeSpan.MaxValue: no interval
        ("P10675199DT2H48M5.4775807S", None, "P10675199DT2H48M5.4775807S", None),
        ("every now and then", None, "every now and then", None),
    ],
)
def test_schedule_interval_forms(interval: object, mins: float | None, text: str | None, expected: object) -> None:
    schedule = JobSchedule.model_validate({"id": HEALTHY, "intervalMins": interval, "state": "Active"})
    assert (schedule.interval_mins, schedule.interval_text, schedule.interval) == (mins, text, expected)
    assert JobSchedule.model_validate(schedule.model_dump()) == schedule


@pytest.mark.parametrize(
    ("job_id", "reported"),
    [
        (HEALTHY, "AD2AADProvisioning"),
        ("AD2AADProvisioning.fd1c9b9e8077402c8bc03a7186c8f976", "AD2AADProvisioning"),  # older two-part ids
        (
            "AD2AADProvisioning.30b500eaf9c643b2b78804e80c1421fe.5c291d3c-d29f-4570-9d6b-f0c2fa3d5926",
            "ADDCInPassthrough",
        ),
    ],
)
def test_the_template_comes_from_the_id(job_id: str, reported: str) -> None:
    job = Job.model_validate({"id": job_id, "templateId": reported, "servicePrincipalId": "x"})
    assert (job.template_id, job.reported_template_id) == ("AD2AADProvisioning", reported)


def test_info_never_holds_a_token_value() -> None:
    info = Info.model_validate({"AccessToken": "eyJ0eXAi.x.y", "Header": {"Authorization": "Bearer x"}, "AwsToken": ""})
    assert (info.access_token, info.header, info.aws_token) == ("[redacted]", "[redacted]", None)
    assert Info.model_validate(info.model_dump()) == info


def test_settings_keep_strings_and_look_up_case_insensitively() -> None:
    settings = JobSettings.model_validate(plain({"id": QUARANTINED, "QuarantineTooManyDeletesThreshold": "500"}))
    assert settings.get("QUARANTINETOOMANYDELETESTHRESHOLD") == "500" and settings.get("Domain") is None
    assert JobSettings.model_validate(settings.model_dump()) == settings


def test_graph_pages_are_parsed_and_odd_ones_kept() -> None:
    result = GraphQueryResult.model_validate(
        {
            "StatusCode": "",
            "QueryResults": '["{\\"value\\":[{\\"id\\":1}]}", "not json", "{\\"value\\":[{\\"id\\":2}]}"]',
        }
    )
    assert result.status_code is None  # an unsupported verb: the module did nothing
    assert result.pages[1] == "not json" and result.values == [{"id": 1}, {"id": 2}]
    assert GraphQueryResult.model_validate(result.model_dump()) == result


@pytest.mark.parametrize(
    ("kind", "enabled"),
    [
        ("enabledForCount", True),
        ("enabledForPercentage", True),
        ("disabled", False),
        ("Disabled", False),
        (None, False),
    ],
)
def test_deletion_prevention_is_enabled_as_the_module_decides(kind: str | None, enabled: bool) -> None:
    document = {"configuration": {"accidentalDeletionPrevention": {"synchronizationPreventionType": kind}}}
    assert DeletionPrevention.from_graph("t", document).enabled is enabled


def test_scope_rule_values_and_a_wait_outcome() -> None:
    assert ScopeRule.model_validate({"TargetOperand": ""}).target_values == ()
    after = _status("healthy_status")
    assert JobChange(action="resume", job_id=HEALTHY, changed=False, after=after).ok
    assert not JobChange(
        action="resume", job_id=HEALTHY, changed=True, after=after, wait_for="Paused", reached=False
    ).ok


# -- the packaged script ----------------------------------------------------------------------------------


def _validate_set() -> set[str]:
    block = re.search(r"\[ValidateSet\((.*?)\)\]\s*\[string\]\$Function", SCRIPT, re.DOTALL)
    assert block is not None
    return set(re.findall(r"'([\w-]+)'", block.group(1)))


def test_the_script_allows_exactly_the_functions_python_sends() -> None:
    package = Path(__file__).resolve().parents[2] / "psbridge" / "cloudsync"
    sent = {
        name
        for path in package.glob("*.py")
        for name in re.findall(r'"(\w+-AADCloudSyncTools\w*)"', path.read_text(encoding="utf-8"))
    } - {"Remove-AADCloudSyncToolsGroupMembers"}  # named only in the refusal
    assert _validate_set() == sent
    assert len(sent) == 22  # the 23 exported functions but the one that prompts
    assert "Remove-AADCloudSyncToolsGroupMembers" not in _validate_set()


def test_the_scripts_defaults_match_python() -> None:
    assert f"[string]$ModulePath = '{DEFAULT_MODULE_PATH}'" in SCRIPT
    json_output = re.search(r"\$jsonOutput = @\((.*?)\)", SCRIPT, re.DOTALL)
    assert json_output is not None and set(re.findall(r"'([\w-]+)'", json_output.group(1))) <= _validate_set()
    # The registry check comes before the import, which would otherwise prompt with Read-Host.
    assert SCRIPT.index("Get-ItemProperty -LiteralPath $agentKey") < SCRIPT.index("Import-Module -Name $ModulePath")
    assert "if ($Function -eq 'Get-AADCloudSyncToolsInfo') {\n        $item = Hide-Tokens $item" in SCRIPT


@pytest.mark.parametrize(
    ("value", "state", "enabled"), [(True, "on", True), (False, "no longer", False), (None, "never", False)]
)
def test_on_premises_sync_enabled_false_is_no_longer_and_null_is_never(
    value: bool | None, state: str, enabled: bool
) -> None:
    # Graph's organization: false, "originally synced ... but is no longer synced"; null, "never been synced".
    facts = TenantSyncFacts(tenant_id="t", on_premises_sync_enabled=value)
    assert (facts.sync_state, facts.sync_enabled) == (state, enabled)
    assert facts.model_dump(mode="json")["sync_state"] == state


@pytest.mark.parametrize("code", ["Paused", "Active", "Quarantine"])
def test_a_quarantine_is_kept_whatever_the_code(code: str) -> None:
    quarantine = {"currentBegan": "", "reason": "", "seriesCount": 2, "error": {"code": "X", "tenantActionable": True}}
    status = JobStatus.from_graph({"id": "AD2AADProvisioning.fc96887f36da47508c935c28a0c0b6da",
                                   "status": {"code": code, "quarantine": quarantine}})  # fmt: skip
    assert status.quarantine is not None and status.is_quarantined
    assert (status.quarantine.series_count, status.quarantine.current_began, status.quarantine.reason) == (
        2,
        None,
        None,
    )
    assert status.quarantine.error is not None and status.quarantine.error.code == "X"
    assert JobStatus.from_graph({"id": "x.y", "status": {"code": code, "quarantine": None}}).quarantine is None
