"""Cloud Sync wrappers through the real PSRP client against recorded and inline episodes.

The demo recording holds one happy path of every function, the `cases/cloudsync-*` recordings the
failures; inline episodes (tests/cloudsync_data.py) cover the branches in between.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from cloudsync_data import (
    CASES,
    DEMO_FILE,
    HEALTHY,
    QUARANTINED,
    TENANT,
    action,
    demo_document,
    demo_object,
    episode,
    plain,
    status,
    status_of,
)
from helpers import FAST_RETRY, REPO

from psbridge import (
    AccessDeniedError,
    CommandNotFoundError,
    ConnectError,
    InputError,
    InteractiveOnlyError,
    InvocationResult,
    NotConnectedError,
    ObjectNotFoundError,
    OutcomeUnknownError,
    PrerequisiteMissingError,
    RetryPolicy,
    Session,
)
from psbridge import cloudsync as cs
from psbridge.command import Command
from psbridge.replay.transport import recorded_session
from psbridge.result import InformationData, Streams
from psbridge.transport.mock import MockTransport

BOGUS = "AD2AADProvisioning.00000000000000000000000000000000.00000000-0000-0000-0000-000000000000"
JWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoLm1pY3Jvc29mdC5jb20ifQ.c2lnbmF0dXJl"


@pytest.fixture
def recorded() -> Iterator[Callable[[Path], Session]]:
    sessions: list[Session] = []

    def open_(path: Path) -> Session:
        session = recorded_session(path, retry=RetryPolicy(attempts=1))
        sessions.append(session)
        return session

    yield open_
    for session in sessions:
        session.close()


def _sent(session: Session) -> list[str]:
    """The Function parameter of every call the replay server saw, in order."""
    keys = session.transport.server.keys_seen
    return [next(p.value for p in key.statements[0].params if p.name == "Function") for key in keys]


# -- reads: the demo ---------------------------------------------------------------------------------


def test_status_parses_the_quarantine_and_the_runs(recorded: Callable[[Path], Session]) -> None:
    report = cs.get_job_status(recorded(DEMO_FILE))

    healthy, quarantined = report.jobs
    assert report.quarantined == (quarantined,)
    assert (healthy.id, healthy.code, healthy.is_quarantined, healthy.quarantine) == (HEALTHY, "Active", False, None)
    assert healthy.synchronized_counts == {"Group": 33, "User": 412}
    assert healthy.last_run is not None and healthy.last_run.state == "Succeeded"
    assert healthy.last_run.time_ended is not None and healthy.last_run.time_ended.microsecond == 127654
    assert healthy.last_successful_run is not None and healthy.last_successful_run.time_began is None  # 0001-01-01
    assert healthy.template_id == "AD2AADProvisioning"

    q = quarantined.quarantine
    assert quarantined.is_quarantined and q is not None
    assert q.reason == "IngestionInterrupted"
    assert q.series_count == 3
    assert q.series_began is not None and q.series_began.isoformat() == "2026-11-24T18:01:47.091338+00:00"
    assert q.next_attempt is not None and q.next_attempt.hour == 18
    assert q.error is not None and q.error.code == "HybridIdentityServiceNoActiveAgents" and q.error.tenant_actionable
    assert quarantined.last_run is not None and quarantined.last_run.error is not None
    assert quarantined.last_run.error.code == "HybridIdentityServiceNoActiveAgents"  # lastRun_error stays nested
    assert quarantined.last_successful_run is not None and quarantined.last_successful_run.count_escrowed == 15


def test_every_read_of_the_demo(recorded: Callable[[Path], Session]) -> None:
    session = recorded(DEMO_FILE)

    jobs = cs.get_job(session).jobs
    assert [(j.id, j.template_id, j.service_principal_id) for j in jobs] == [
        (HEALTHY, "AD2AADProvisioning", "6a2d9e41-7b3c-4f58-a1e6-0c9b8d7f2e35"),
        (QUARANTINED, "AD2AADProvisioning", "b7e13c52-8d4a-4e69-92f7-1d0c9a8e3f46"),
    ]
    schedule = cs.get_job_schedule(session).schedules[0]
    assert (schedule.interval_mins, schedule.state, schedule.interval.total_seconds()) == (2.0, "Active", 120)
    settings = cs.get_job_settings(session).settings[1]
    assert settings.get("quarantinetoomanydeletesthreshold") == "500" and "Domain" not in settings.settings
    schema = cs.get_job_schema(session, job_id=HEALTHY)
    assert [r["name"] for r in schema.synchronization_rules] == ["AD2AADProvisioning"]
    assert [d["name"] for d in schema.directories] == ["Active Directory", "Azure Active Directory"]
    scope = cs.get_job_scope(session, job_id=HEALTHY)
    assert [(r.source_operand, r.target_values) for r in scope.rules] == [
        ("department", ("Sales", "Marketing")),
        ("extensionAttribute15", ("NoSync",)),
    ]
    principals = cs.get_service_principal(session).service_principals
    assert [p.display_name for p in principals] == ["contoso.example", "fabrikam.example"]
    assert {p.application_template_id for p in principals} == {"1a4721b3-e57f-4451-ae87-ef078703ec94"}
    account = cs.get_service_account(session).account
    assert account is not None and account.user_principal_name.startswith("ADToAADSyncServiceAccount@")
    query = cs.invoke_graph_query(
        session,
        uri="https://graph.microsoft.com/beta/servicePrincipals?filter=applicationTemplateId eq "
        "'1a4721b3-e57f-4451-ae87-ef078703ec94'",
    )
    assert query.status_code == 200 and [v["displayName"] for v in query.values] == [
        "contoso.example",
        "fabrikam.example",
    ]


def test_info_is_redacted_and_recordings_hold_no_token(recorded: Callable[[Path], Session]) -> None:
    info = cs.get_info(recorded(DEMO_FILE))

    assert (info.access_token, info.header, info.aws_token) == ("[redacted]", "[redacted]", None)
    assert info.connected and info.username == "admin@contoso.example"
    assert info.scopes == ("https://graph.windows.net/user_impersonation",)
    files = sorted((REPO / "recorded_sessions").rglob("*cloudsync*.yaml"))
    assert len(files) >= 16  # sources and recordings
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"eyJ[A-Za-z0-9_-]{8,}\.", text), f"{path} holds a JWT-like value"
        assert not re.search(r"(?i)bearer\s+[A-Za-z0-9]", text), f"{path} holds a bearer token"


def test_a_token_that_slipped_through_never_reaches_the_model_or_the_logs(replay_session: Any) -> None:
    props = {"TenantId": TENANT, "Connected": True, "AccessToken": JWT, "Header": f"@{{Authorization=Bearer {JWT}}}"}
    session = replay_session([
        episode("Get-AADCloudSyncToolsInfo", connected=False, output=[{"properties": props}],
                information=[f"Authorization: Bearer {JWT}"]),
    ])  # fmt: skip

    with structlog.testing.capture_logs() as events:
        info = cs.get_info(session)

    assert (info.access_token, info.header) == ("[redacted]", "[redacted]")
    assert JWT not in info.model_dump_json()
    assert events and JWT not in repr(events)


# -- sign-in and setup ----------------------------------------------------------------------------------


def test_connect_hands_over_the_device_code_while_the_call_runs(recorded: Callable[[Path], Session]) -> None:
    session = recorded(DEMO_FILE)
    seen: list[tuple[str, bool]] = []
    returned = False

    result = cs.connect(session, on_message=lambda text: seen.append((text, returned)))
    returned = True

    code_line = "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code"
    assert any(text.startswith(code_line) for text, _ in seen)
    assert all(not after for _, after in seen)  # every message arrived before connect returned
    assert [text for text, _ in seen] == list(result.messages)
    assert (result.connected, result.username, result.tenant_id) == (True, "admin@contoso.example", TENANT)


class _Recording(MockTransport):
    """A MockTransport that also keeps each call's deadline."""

    def __init__(self, handler: Callable[[Command], InvocationResult]) -> None:
        super().__init__(handler, target="agent.example")
        self.timeouts: list[float] = []

    def invoke(self, command: Command, *, timeout: float, on_record: Any = None) -> InvocationResult:
        self.timeouts.append(timeout)
        return super().invoke(command, timeout=timeout, on_record=on_record)


def _answer(*output: Any, information: tuple[str, ...] = ()) -> Callable[[Command], InvocationResult]:
    def handle(command: Command) -> InvocationResult:
        streams = Streams(information=tuple(InformationData(text) for text in information))
        return InvocationResult(command=command.display(), output=output, streams=streams)

    return handle


def test_connect_and_export_get_long_deadlines_and_are_never_retried() -> None:
    transport = _Recording(_answer({"TenantId": TENANT, "Username": "a@contoso.example", "Connected": True}))
    session = Session(transport=transport, retry=FAST_RETRY, timeout=120)
    cs.connect(session)
    transport.handler = _answer({"Path": "C:\\x\\AADCloudProvisioningDiagnostics-20261125-115802.zip", "Length": 10})
    cs.export_logs(session, tracing_duration_mins=7)

    assert transport.timeouts == [960.0, 7 * 60 + 600.0]
    connect, export = transport.calls
    assert not connect.idempotent and not export.idempotent
    assert {p.name: p.value for p in connect.parameters}["Arguments"] == {"DeviceLogin": True}
    assert "RequireConnection" not in {p.name for p in connect.parameters}


def test_install_prerequisites_reports_the_second_run(recorded: Callable[[Path], Session]) -> None:
    session = recorded(CASES / "cloudsync-prerequisites-second-run.yaml")

    first = cs.install_prerequisites(session)
    second = cs.install_prerequisites(session)  # the recording's second episode stands for a new session

    assert (first.needs_new_session, first.installed) == (True, False)
    assert "Close this PowerShell window" in first.warnings[0]
    assert (second.needs_new_session, second.installed) == (False, True)


def test_set_tenant_id_checks_the_guid_before_sending() -> None:
    transport = MockTransport(_answer())
    with pytest.raises(InputError, match="GUID"):
        cs.set_tenant_id(Session(transport=transport), tenant_id="contoso.example")
    assert transport.calls == []


def test_module_path_is_bound_as_a_parameter(replay_session: Any) -> None:
    path = "D:\\Agent\\Utility\\AADCloudSyncTools"
    session = replay_session([episode("Get-AADCloudSyncToolsInfo", connected=False, module_path=path,
                                      output=[{"properties": {"TenantId": TENANT}}])])  # fmt: skip
    assert cs.get_info(session, module_path=path).tenant_id == TENANT


# -- failures -----------------------------------------------------------------------------------------


def test_agent_not_installed_stops_before_the_import(recorded: Callable[[Path], Session]) -> None:
    with pytest.raises(PrerequisiteMissingError, match="provisioning agent is not installed on MGMT01") as info:
        cs.get_job_status(recorded(CASES / "cloudsync-agent-not-installed.yaml"))
    assert info.value.error_id == "PsbridgeCloudSync.Prerequisite.AgentNotInstalled"
    assert info.value.category == "NotInstalled"


def test_missing_prerequisites_are_named(recorded: Callable[[Path], Session]) -> None:
    with pytest.raises(PrerequisiteMissingError) as info:
        cs.connect(recorded(CASES / "cloudsync-msal-missing.yaml"))
    assert "MSAL.PS, PowerShellGet 2.2.4.1 or later" in str(info.value)


def test_not_connected_says_how_to_sign_in(recorded: Callable[[Path], Session]) -> None:
    session = recorded(CASES / "cloudsync-not-connected.yaml")
    with pytest.raises(NotConnectedError) as info:
        cs.get_job_status(session)
    message = str(info.value)
    assert "not signed in" in message and "device code" in message and "Graph app-only" in message
    assert cs.get_info(session).connected is False  # the state read needs no sign-in


def test_the_modules_own_not_connected_text_is_recognized(replay_session: Any) -> None:
    text = (
        "\nPlease start with 'Connect-AADCloudSyncTools [-LoginHint <UserPrincipalName>]' before calling any "
        "other cmdlets.\n"
    )
    error = {"message": text, "fully_qualified_error_id": text, "category": "OperationStopped",
             "exception_type": "System.Management.Automation.RuntimeException"}  # fmt: skip
    session = replay_session([episode("Get-AADCloudSyncToolsServiceAccount", terminating_error=error)])
    with pytest.raises(NotConnectedError):
        cs.get_service_account(session)


def test_access_denied_from_graph(recorded: Callable[[Path], Session]) -> None:
    with pytest.raises(AccessDeniedError, match=r"POST https://graph\.microsoft\.com/.*/start \| Response:"):
        cs.resume_job(recorded(CASES / "cloudsync-access-denied.yaml"), job_id=QUARANTINED)


def test_unknown_jobs_and_service_principals(recorded: Callable[[Path], Session]) -> None:
    session = recorded(CASES / "cloudsync-job-not-found.yaml")
    with pytest.raises(ObjectNotFoundError, match=f"Synchronization Job Id '{BOGUS}' not found"):
        cs.get_job_status(session, job_id=BOGUS)  # the module answers nothing; the wrapper says so
    with pytest.raises(ObjectNotFoundError, match=f"Synchronization Job Id '{BOGUS}' not found"):
        cs.restart_job(session, job_id=BOGUS)  # the module's own text
    with pytest.raises(ObjectNotFoundError, match="SyncFabric Service Principal not found"):
        cs.get_service_principal(session, kind="SyncFabric")


def test_repair_on_an_agent_without_it_names_the_version(recorded: Callable[[Path], Session]) -> None:
    session = recorded(CASES / "cloudsync-repair-removed.yaml")
    with pytest.raises(CommandNotFoundError) as info:
        cs.repair_account(session)
    assert "removed in provisioning agent 1.1.2505.0" in str(info.value)
    assert "(provisioning agent 1.1.2505.0)" in str(info.value)
    assert _sent(session) == ["Repair-AADCloudSyncToolsAccount"]  # the check only: nothing was read or changed


def test_remove_group_members_refuses_without_contacting_the_agent() -> None:
    transport = MockTransport(_answer())
    with pytest.raises(InteractiveOnlyError, match="Read-Host"):
        cs.remove_group_members(Session(transport=transport), group_object_id="5f1c6a2e-0d3b-4e97-8a14-c2b9d7e0f361")
    with pytest.raises(InputError, match="GUID"):  # it goes into a command we suggest: nothing but a GUID
        cs.remove_group_members(Session(transport=transport), group_object_id="x`; Remove-Item C:\\ -Recurse")
    assert transport.calls == []


# -- job control ----------------------------------------------------------------------------------------


def test_resume_reads_acts_and_reads_back(recorded: Callable[[Path], Session]) -> None:
    session = recorded(DEMO_FILE)
    change = cs.resume_job(session, job_id=QUARANTINED)

    assert change.changed and change.before is not None and change.before.is_quarantined
    assert change.after.code == "Active" and not change.after.is_quarantined
    assert _sent(session) == ["Get-AADCloudSyncToolsJobStatus", "Resume-AADCloudSyncToolsJob",
                              "Get-AADCloudSyncToolsJobStatus"]  # fmt: skip


def test_resume_waits_for_the_code_case_insensitively(replay_session: Any) -> None:
    session = replay_session([
        status_of(QUARANTINED, "quarantined_status"),
        action("Resume-AADCloudSyncToolsJob", QUARANTINED),
        status_of(QUARANTINED, "quarantined_status"),
        status_of(QUARANTINED, "resumed_status", code="NotRun"),
        status_of(QUARANTINED, "resumed_status"),
    ])  # fmt: skip

    change = cs.resume_job(session, job_id=QUARANTINED, wait_for="active", deadline_s=600, poll_s=0)

    assert (change.reached, change.after.code, change.wait_for) == (True, "Active", "active")
    assert session.transport.server.player.unplayed == []


def test_a_wait_past_its_deadline_says_so(replay_session: Any) -> None:
    session = replay_session([
        status_of(HEALTHY, "healthy_status"),
        action("Suspend-AADCloudSyncToolsJob", HEALTHY),
        status_of(HEALTHY, "healthy_status"),
    ])  # fmt: skip

    change = cs.suspend_job(session, job_id=HEALTHY, wait_for="Paused", deadline_s=0, poll_s=0)

    assert (change.changed, change.reached, change.ok, change.after.code) == (True, False, False, "Active")


@pytest.mark.parametrize(
    ("wrapper", "job_id", "state"),
    [
        (cs.suspend_job, HEALTHY, "paused_status"),  # already paused
        (cs.resume_job, HEALTHY, "healthy_status"),  # running: Graph warns against repeated starts
    ],
)
def test_suspend_and_resume_send_nothing_when_already_there(
    replay_session: Any, wrapper: Callable[..., Any], job_id: str, state: str
) -> None:
    session = replay_session([status_of(job_id, state)])  # no action episode: sending one would miss

    change = wrapper(session, job_id=job_id)

    assert not change.changed and change.before == change.after
    assert change.note is not None and "was not sent" in change.note


def test_dry_runs_send_nothing(replay_session: Any) -> None:
    session = replay_session([status_of(QUARANTINED, "quarantined_status"), status_of(HEALTHY, "healthy_status")])

    restart = cs.restart_job(session, job_id=QUARANTINED, dry_run=True)
    suspend = cs.suspend_job(session, job_id=HEALTHY, dry_run=True)

    assert (restart.changed, restart.would_change, restart.dry_run) == (False, True, True)
    assert (restart.before.code, restart.after.code, restart.after.quarantine) == ("Quarantine", "Active", None)
    assert (suspend.changed, suspend.would_change, suspend.dry_run) == (False, True, True)
    assert (suspend.before.code, suspend.after.code) == ("Active", "Paused")
    assert "would be sent" in (suspend.note or "")
    assert _sent(session) == ["Get-AADCloudSyncToolsJobStatus"] * 2


def test_job_control_is_never_retried_once_sent() -> None:
    attempts: list[str] = []

    def handle(command: Command) -> InvocationResult:
        function = {p.name: p.value for p in command.parameters}["Function"]
        attempts.append(str(function))
        if function == "Restart-AADCloudSyncToolsJob":
            raise ConnectError("connection reset", command_sent=True)
        if len(attempts) == 1:
            raise ConnectError("connection reset", command_sent=True)  # a read: retried
        return _answer(plain(status("healthy_status")["properties"]))(command)

    session = Session(transport=MockTransport(handle), retry=FAST_RETRY)
    assert cs.get_job_status(session, job_id=HEALTHY).jobs[0].code == "Active"
    with pytest.raises(OutcomeUnknownError, match="may or may not have run"):
        cs.restart_job(session, job_id=HEALTHY)

    assert attempts == ["Get-AADCloudSyncToolsJobStatus"] * 2 + ["Restart-AADCloudSyncToolsJob"]


# -- changes with a read first ---------------------------------------------------------------------------


def test_set_job_schema_replaces_then_reads_back(recorded: Callable[[Path], Session]) -> None:
    session = recorded(DEMO_FILE)
    change = cs.set_job_schema(session, job_id=QUARANTINED, schema=demo_object("schema_after"))

    assert change.changed and not change.before.same_as(change.after.document)
    assert change.after.same_as(demo_document("schema_after"))


def test_set_job_schema_sends_nothing_when_it_matches_or_in_a_dry_run(replay_session: Any) -> None:
    read = episode("Get-AADCloudSyncToolsJobSchema", {"Id": QUARANTINED}, output=[demo_object("schema_before")])
    session = replay_session([read, read])

    same = cs.set_job_schema(session, job_id=QUARANTINED, schema=demo_document("schema_before"))
    dry = cs.set_job_schema(session, job_id=QUARANTINED, schema=demo_object("schema_after"), dry_run=True)

    assert (same.changed, dry.changed, dry.would_change, dry.dry_run) == (False, False, True, True)
    assert dry.after.same_as(demo_document("schema_after"))
    with pytest.raises(InputError, match="not JSON"):
        cs.set_job_schema(session, job_id=QUARANTINED, schema="{not json")


def test_disable_deletion_prevention(recorded: Callable[[Path], Session], replay_session: Any) -> None:
    change = cs.disable_dirsync_accidental_deletion_prevention(recorded(DEMO_FILE), tenant_id=TENANT)
    assert change.changed and change.before.enabled and not change.after.enabled
    assert change.messages == ("Tenant Synchronization Deletion Prevention feature has been disabled",)

    uri = f"https://graph.microsoft.com/beta/directory/onPremisesSynchronization/{TENANT}"
    page = '["{\\"id\\":\\"' + TENANT + '\\",\\"configuration\\":{\\"accidentalDeletionPrevention\\":' \
        '{\\"synchronizationPreventionType\\":\\"disabled\\"}}}"]'  # fmt: skip
    read = episode("Invoke-AADCloudSyncToolsGraphQuery", {"Uri": uri, "Method": "GET"},
                   output=[{"properties": {"StatusCode": 200, "QueryResults": page}}])  # fmt: skip
    already = cs.disable_dirsync_accidental_deletion_prevention(replay_session([read]), tenant_id=TENANT)
    assert not already.changed and already.before == already.after  # nothing sent: no Disable episode
    with pytest.raises(InputError, match="GUID"):
        cs.disable_dirsync_accidental_deletion_prevention(replay_session([]), tenant_id="../users")


def test_repair_reads_repairs_and_reads_back(recorded: Callable[[Path], Session]) -> None:
    session = recorded(DEMO_FILE)
    cs.get_service_account(session)  # the demo's first account read belongs to get_service_account
    repair = cs.repair_account(session)

    assert repair.changed and repair.before is not None and repair.after is not None
    assert repair.before.id != repair.after.id
    assert repair.messages[-1].endswith("Please Restart Provisioning from Azure Portal.")


def test_graph_query_checks_its_method_and_retries_only_get() -> None:
    transport = MockTransport(_answer({"StatusCode": 204, "QueryResults": '[""]'}))
    session = Session(transport=transport)
    with pytest.raises(InputError, match="ignores others"):
        cs.invoke_graph_query(session, uri="https://graph.microsoft.com/beta/users", method="HEAD")
    result = cs.invoke_graph_query(session, uri="https://graph.microsoft.com/beta/users/x", method="DELETE")

    assert result.status_code == 204 and result.pages == ("",)
    (command,) = transport.calls
    assert not command.idempotent


# -- diagnostics ---------------------------------------------------------------------------------------


def test_export_logs_fetches_the_zip(replay_session: Any, tmp_path: Path) -> None:
    import base64
    import hashlib

    payload = b"PK\x03\x04 synthetic zip"
    remote = "C:\\Temp\\AADCloudProvisioningDiagnostics-20261125-115802.zip"
    chunk = {"Length": {"I64": len(payload)}, "Offset": {"I64": 0}, "Data": base64.b64encode(payload).decode(),
             "Sha256": hashlib.sha256(payload).hexdigest().upper()}  # fmt: skip
    session = replay_session([
        episode("Export-AADCloudSyncToolsLogs", {"SkipVerboseTrace": True, "OutputPath": "C:\\Temp"},
                output=[{"properties": {"Path": remote, "Length": {"I64": len(payload)}}}]),
        {"script": "common/Read-FileChunk.ps1", "output": [{"properties": chunk}],
         "parameters": [{"name": "Path", "value": remote}, {"name": "Offset", "value": 0},
                        {"name": "Length", "value": 1024 * 1024}]},
    ])  # fmt: skip

    result = cs.export_logs(session, local_path=tmp_path, skip_verbose_trace=True, output_path="C:\\Temp")

    assert result.remote_path == remote and result.local_path == tmp_path / remote.rsplit("\\", 1)[-1]
    assert result.local_path.read_bytes() == payload and result.sha256 == hashlib.sha256(payload).hexdigest()


def test_verbose_logs_report_the_modules_warning(replay_session: Any) -> None:
    warning = "Config changes will not take effect until 'AADConnectProvisioningAgent' Service is restarted."
    session = replay_session([
        episode("Start-AADCloudSyncToolsVerboseLogs", {"SkipServiceRestart": True}, connected=False,
                warnings=[warning]),
    ])  # fmt: skip

    result = cs.start_verbose_logs(session, skip_service_restart=True)

    assert (result.function, result.warnings) == ("Start-AADCloudSyncToolsVerboseLogs", (warning,))


def test_a_job_id_and_a_template_exclude_each_other() -> None:
    transport = MockTransport(_answer())
    with pytest.raises(InputError, match="not both"):
        cs.get_job_status(Session(transport=transport), job_id=HEALTHY, template="AD2AADProvisioning")
    assert transport.calls == []


def test_the_agent_version_is_read_from_the_host_without_the_module(replay_session: Any) -> None:
    """Get-AgentVersion.ps1: the registry key and the service executable's file version."""
    agent = {
        "ServiceName": "AADConnectProvisioningAgent",
        "InstallDir": "C:\\Agent",
        "ServiceProcessName": "AADConnectProvisioningAgent.exe",
    }
    nothing = {key: {"Nil": None} for key in ["Version", *agent]}
    session = replay_session([
        {"script": "cloudsync/Get-AgentVersion.ps1",
         "output": [{"properties": {"Present": True, "Version": "1.1.2505.0", **agent}}]},
        {"script": "cloudsync/Get-AgentVersion.ps1", "output": [{"properties": {"Present": False, **nothing}}]},
    ])  # fmt: skip
    installed = cs.get_agent_version(session)
    assert installed.present and str(installed.version) == "1.1.2505.0"
    absent = cs.get_agent_version(session)
    assert not absent.present and absent.version is None
