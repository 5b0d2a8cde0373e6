"""`psbridge check cloud-managed-readiness` and `psbridge.runbooks.readiness`.

Each check's pass, warn, skip and fail against synthetic sessions built per test (the demo's shapes:
recorded_sessions/sources/demo/{adsync,exo,exchange}.yaml); then the CLI over the demo, the ready and
not-ready scenarios (recorded_sessions/runbooks/), its table and JSON, and its exit codes 0, 1, 2 and 3.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import DEMO, REPO
from pytest_mock import MockerFixture

from psbridge import InputError, Session
from psbridge.config import Config, TargetMissingError, load_config
from psbridge.exchange.models import Mailbox, ServerRecipient
from psbridge.replay import shapes
from psbridge.runbooks import Report, Status
from psbridge.runbooks.readiness import SHOWN, address_drift, check_cloud_managed_readiness
from psbridge.targets import Targets

SCENARIOS = REPO / "recorded_sessions" / "runbooks"
SOURCES = REPO / "recorded_sessions" / "sources"
TODAY = dt.date(2026, 11, 25)
RUNNER = "exchange/Invoke-ExchangeCommand.ps1"
REMOTE_TYPES = shapes.recipient("RemoteMailbox")


# -- episodes in the demo's shapes -----------------------------------------------------------------------------


def settings(version: str) -> dict[str, Any]:
    """The demo's Get-GlobalParameters episode, reporting another server configuration version."""
    source = yaml.safe_load((SOURCES / "demo" / "adsync.yaml").read_text(encoding="utf-8"))
    episode = copy.deepcopy(source["episodes"][0])
    for row in episode["output"]:
        if row["properties"]["Name"] == "Microsoft.Synchronize.ServerConfigurationVersion":
            row["properties"]["Value"] = version
    return episode


def addresses(user: str, *extra: str) -> list[str]:
    return [f"SMTP:{user}@contoso.example", f"smtp:{user}@contoso.mail.onmicrosoft.com", *extra]


def mailbox(user: str, *, cloud: bool, emails: Sequence[str] | None = None, primary: str | None = None) -> Any:
    return {"properties": {
        "Identity": user.title(), "DisplayName": user.title(), "UserPrincipalName": f"{user}@contoso.example",
        "PrimarySmtpAddress": primary or f"{user}@contoso.example", "EmailAddresses": list(emails or addresses(user)),
        "RecipientTypeDetails": "UserMailbox", "IsDirSynced": True, "IsExchangeCloudManaged": cloud,
    }}  # fmt: skip


def listing(*rows: Any, as_page: bool = True) -> dict[str, Any]:
    """Get-Mailbox -Filter 'IsDirSynced -eq $true' through the runner, one JSON page (the runner's header);
    `as_page=False` sends the rows as objects instead, which is no page."""
    page = {"cursor": None, "total": len(rows), "remaining": 0, "rows": [row["properties"] for row in rows]}
    return {
        "script": RUNNER,
        "parameters": [
            {"name": "Command", "value": "Get-Mailbox"},
            {"name": "Arguments", "value": {"Filter": "IsDirSynced -eq $true", "ResultSize": "Unlimited"}},
            {"name": "PageSize", "value": 1000},
        ],
        "output": [json.dumps(page, separators=(",", ":"))] if as_page else list(rows),
    }


def organization(*rows: dict[str, Any]) -> dict[str, Any]:
    output = [{"properties": {"Identity": "contoso.onmicrosoft.com", **row}} for row in rows]
    return {"script": RUNNER, "parameters": [{"name": "Command", "value": "Get-OrganizationConfig"}], "output": output}


SERVER_MANAGED = organization({"BlockExchangeProvisioningFromOnPremEnabled": False})


def remote(user: str, *, emails: Sequence[str] | None = None, primary: str | None = None, copies: int = 1) -> Any:
    """On-premises Get-RemoteMailbox on Exchange Server's own endpoint, as in the demo's exchange.yaml."""
    row = {"type_names": REMOTE_TYPES, "to_string": user.title(), "properties": {
        "Identity": f"contoso.example/Users/{user.title()}", "DisplayName": user.title(),
        "UserPrincipalName": f"{user}@contoso.example", "PrimarySmtpAddress": primary or f"{user}@contoso.example",
        "EmailAddresses": list(emails or addresses(user)), "RecipientTypeDetails": "RemoteUserMailbox",
        "RemoteRoutingAddress": f"{user}@contoso.mail.onmicrosoft.com",
    }}  # fmt: skip
    return {"command": "Get-RemoteMailbox", "parameters": _identity(user), "output": [row] * copies}


def no_remote(user: str) -> dict[str, Any]:
    """The on-premises not-found error (docs/exchange.md, Errors; as recorded_sessions/cases/exchange-not-found.yaml);
    the task after the last comma follows the GetMailbox/SetRemoteMailbox pattern of the captures (inferred)."""
    return {"command": "Get-RemoteMailbox", "parameters": _identity(user), "errors": [{
        "message": f"The operation couldn't be performed because object '{user}@contoso.example' couldn't be found "
        "on 'DC01.contoso.example'.",
        "fully_qualified_error_id": "[Server=EX01,RequestId=5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e,TimeStamp=11/25/2026 "
        "10:15:00 AM] [FailureCategory=Cmdlet-ManagementObjectNotFoundException] 5F9B1A20,"
        "Microsoft.Exchange.Management.RecipientTasks.GetRemoteMailbox",
        "category": "NotSpecified", "activity": "Get-RemoteMailbox", "target_name": f"{user}@contoso.example",
        "exception_type": "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
    }]}  # fmt: skip


def agent_installed(version: str | None, *, present: bool = True, copies: int = 1) -> dict[str, Any]:
    """cloudsync/Get-AgentVersion.ps1 on the agent host, as in the demo's agent.yaml.

    The registry values are those of docs/cloudsync.md, Provisioning agent.
    """
    found = {"ServiceName": "AADConnectProvisioningAgent", "ServiceProcessName": "AADConnectProvisioningAgent.exe",
             "InstallDir": "C:\\Program Files\\Microsoft Azure AD Connect Provisioning Agent"}  # fmt: skip
    row = {"properties": {"Present": present, "Version": version, **(found if present else {})}}
    return {"script": "cloudsync/Get-AgentVersion.ps1", "output": [row] * copies}


def _identity(user: str) -> list[dict[str, str]]:
    return [{"name": "Identity", "value": f"{user}@contoso.example"}]


@pytest.fixture
def readiness(replay_session: Callable[..., Session]) -> Callable[..., Report]:
    """Run the runbook on sessions replaying the given episodes (the demo's state unless told otherwise)."""

    def run(
        connect: Sequence[Any] = (settings("2.5.190.0"),),
        exo: Sequence[Any] = (SERVER_MANAGED, listing(mailbox("adele", cloud=True), mailbox("alex", cloud=False))),
        exchange: Sequence[Any] = (remote("adele"),),
        agent: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> Report:
        kwargs.setdefault("today", TODAY)
        sessions = {"connect": connect, "exo": exo, "exchange": exchange}
        if agent is not None:
            sessions["cloudsync-agent"] = agent
        targets = Targets.of({k: replay_session(list(v)) for k, v in sessions.items()})
        return check_cloud_managed_readiness(targets, **kwargs)

    return run


# -- 1. Connect version -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "minimum", "today", "status", "said"),
    [
        ("2.5.190.0", "2.5.190.0", TODAY, Status.PASS, "supported until 02 Feb 2027"),
        ("2.6.92.0", "2.5.190.0", TODAY, Status.PASS, "not in psbridge's table"),
        ("2.5.190.0", "2.5.190.0", dt.date(2027, 3, 1), Status.WARN, "went out of support on 02 Feb 2027"),
        ("2.5.79.0", "2.5.76.0", TODAY, Status.WARN, "went out of support on 23 Oct 2026"),
        ("2.5.79.0", "2.5.190.0", TODAY, Status.FAIL, "below the cloud-managed minimum 2.5.190.0"),
        ("2.5.76.0", "2.5.76.0", TODAY, Status.FAIL, "2.5.79.0 or later is required since 30 Sep 2026"),
        ("2.5.76.0", "2.5.76.0", dt.date(2026, 8, 1), Status.WARN, "2.5.79.0 or later is required by 30 Sep 2026"),
    ],
)
def test_connect_version_against_the_floor_the_hard_floor_and_the_end_of_support(
    readiness: Callable[..., Report], version: str, minimum: str, today: dt.date, status: Status, said: str
) -> None:
    check = readiness(connect=[settings(version)], minimum=minimum, today=today).check("connect-version")

    assert check.status == status, check
    assert said in check.summary
    assert check.evidence["version"] == version and check.evidence["cloud_managed_minimum"] == minimum
    assert check.evidence["required_minimum"] == "2.5.79.0" and check.evidence["as_of"] == today.isoformat()
    assert (check.fix is None) == (status == Status.PASS)
    if status != Status.PASS:
        assert check.fix is not None and max(minimum, "2.5.79.0") in check.fix  # what to upgrade to


def test_connect_version_out_of_support_is_judged_on_the_day_given(readiness: Callable[..., Report]) -> None:
    before = readiness(today=dt.date(2027, 2, 1)).check("connect-version").evidence
    after = readiness(today=dt.date(2027, 2, 2)).check("connect-version").evidence
    assert (before["end_of_support"], before["out_of_support"]) == ("2027-02-02", False)
    assert (after["end_of_support"], after["out_of_support"]) == ("2027-02-02", True)


def test_a_connect_target_that_cannot_be_read_is_a_failing_check(readiness: Callable[..., Report]) -> None:
    source = SOURCES / "cases" / "adsync-module-missing.yaml"  # a member server without ADSync
    not_connect = yaml.safe_load(source.read_text(encoding="utf-8"))["episodes"][0]
    report = readiness(connect=[not_connect])
    check = report.check("connect-version")
    assert check.status == Status.FAIL and check.summary.startswith("could not read the Entra Connect Sync version: ")
    assert "the ADSync module" in check.summary and check.evidence["error"] == "PrerequisiteMissingError"
    assert check.evidence["message"] in check.summary
    assert report.check("synced-mailboxes").status == Status.WARN  # the other checks still ran


def test_a_malformed_minimum_is_bad_input(readiness: Callable[..., Report]) -> None:
    with pytest.raises(InputError):
        readiness(minimum="2.5.x")


# -- 2. Cloud Sync agent ------------------------------------------------------------------------------------------


def test_the_cloud_sync_agent_is_skipped_when_none_is_used(readiness: Callable[..., Report]) -> None:
    check = readiness().check("cloud-sync-agent")
    assert (check.status, check.evidence) == (Status.SKIP, {"writeback_minimum": "1.1.1107.0"})
    assert "no Cloud Sync agent in use" in check.summary


@pytest.mark.parametrize(
    ("installed", "status", "said"),
    [
        (agent_installed("1.1.1586.0"), Status.PASS, "agent 1.1.1586.0 meets 1.1.1107.0"),
        (agent_installed("1.1.1107.0"), Status.PASS, "agent 1.1.1107.0 meets 1.1.1107.0"),
        (agent_installed("1.1.354.0"), Status.FAIL, "agent 1.1.354.0 is below 1.1.1107.0"),
        (agent_installed(None, present=False), Status.FAIL, "no provisioning agent is installed"),
        (agent_installed(None), Status.WARN, "the version of its service program could not be read"),
        (agent_installed("1.1.1586.0", copies=2), Status.FAIL, "could not read the provisioning agent's"),
    ],
)
def test_the_cloud_sync_agent_against_the_writeback_minimum(
    readiness: Callable[..., Report], installed: dict[str, Any], status: Status, said: str
) -> None:
    check = readiness(agent=[installed]).check("cloud-sync-agent")
    assert check.status == status and said in check.summary, check
    assert check.target is not None and check.target.startswith("cloudsync-agent: ")
    if status == Status.PASS:
        assert check.evidence["version"] == installed["output"][0]["properties"]["Version"]
    else:
        assert (check.fix is None) == ("could not read" in said)  # an unreadable host has no fix to give
    if status == Status.WARN:
        assert check.fix is not None and "Azure AD Connect Agents\\Azure AD Connect Provisioning Agent" in check.fix


def test_an_agent_said_to_be_in_use_needs_its_session(readiness: Callable[..., Report]) -> None:
    with pytest.raises(TargetMissingError, match="no target for role 'cloudsync-agent'"):
        readiness(cloud_sync=True)


# -- 3. organization default ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "status", "default", "source"),
    [
        ([{"BlockExchangeProvisioningFromOnPremEnabled": False}], Status.PASS, False, "BlockExchangeProvisioning"),
        ([{"ExchangeAttributesCloudManagedByDefault": True}], Status.PASS, True, "ExchangeAttributesCloudManaged"),
        ([{"Name": "contoso"}], Status.WARN, None, None),
    ],
)
def test_organization_default(
    readiness: Callable[..., Report], rows: list[dict[str, Any]], status: Status, default: bool | None, source: str
) -> None:
    listed = listing(mailbox("adele", cloud=True), mailbox("alex", cloud=False))
    check = readiness(exo=[organization(*rows), listed]).check("organization-default")

    assert check.status == status
    assert check.evidence["cloud_managed_by_default"] is default
    assert (check.evidence["property"] or "").startswith(source or "")
    assert ("caution" in check.evidence) is (default is True)  # enabling it while creating on-premises is unsafe
    assert (check.fix is not None) is (status == Status.WARN)


def test_an_organization_config_that_cannot_be_read_is_a_failing_check(readiness: Callable[..., Report]) -> None:
    rows = {"BlockExchangeProvisioningFromOnPremEnabled": False}
    listed = listing(mailbox("adele", cloud=True))
    check = readiness(exo=[organization(rows, rows), listed]).check("organization-default")
    assert check.status == Status.FAIL
    assert "returned 2 objects where one OrganizationConfig was expected" in check.summary


# -- 4. synced mailboxes ---------------------------------------------------------------------------------------


def test_a_mixed_state_warns_naming_every_straggler_in_the_evidence(readiness: Callable[..., Report]) -> None:
    stragglers = [f"user{n}" for n in range(1, 9)]
    rows = [mailbox("adele", cloud=True), *(mailbox(u, cloud=False) for u in stragglers)]
    check = readiness(exo=[SERVER_MANAGED, listing(*rows)]).check("synced-mailboxes")

    assert check.status == Status.WARN
    names = [f"{u}@contoso.example" for u in stragglers]
    assert check.evidence == {"dir_synced": 9, "cloud_managed": 1, "not_cloud_managed": 8, "stragglers": names}
    assert check.summary.startswith("mixed: 1 of 9 dir-synced mailboxes are cloud-managed; not yet: ")
    assert check.summary.endswith(", ".join(names[:SHOWN]) + f" (+{8 - SHOWN} more)")  # capped in the summary
    assert check.fix is not None and "IsExchangeCloudManaged" not in check.fix  # psbridge's own commands
    assert "psbridge exo cloud-managed set" in check.fix and "psbridge exo rollout" in check.fix


@pytest.mark.parametrize(("cloud", "said"), [(True, "all 2 dir-synced"), (False, "none of the 2 dir-synced")])
def test_all_or_none_cloud_managed_passes(readiness: Callable[..., Report], cloud: bool, said: str) -> None:
    rows = [mailbox("adele", cloud=cloud), mailbox("alex", cloud=cloud)]
    exchange = [remote("adele"), remote("alex")] if cloud else []
    report = readiness(exo=[SERVER_MANAGED, listing(*rows)], exchange=exchange)
    check = report.check("synced-mailboxes")
    assert (check.status, check.summary) == (Status.PASS, f"{said} mailboxes are cloud-managed")
    assert check.evidence["cloud_managed"] == (2 if cloud else 0) and "stragglers" not in check.evidence
    assert report.check("attribute-drift").status == (Status.PASS if cloud else Status.SKIP)


def test_no_synced_mailbox_skips_the_count_and_the_drift(readiness: Callable[..., Report]) -> None:
    report = readiness(exo=[SERVER_MANAGED, listing()], exchange=[])
    assert report.check("synced-mailboxes").status == Status.SKIP
    assert report.check("attribute-drift").summary == "no cloud-managed mailbox to compare"


def test_a_listing_that_cannot_be_read_fails_and_skips_the_drift(readiness: Callable[..., Report]) -> None:
    report = readiness(exo=[SERVER_MANAGED, listing(mailbox("adele", cloud=True), as_page=False)], exchange=[])
    check = report.check("synced-mailboxes")
    assert check.status == Status.FAIL and "where one JSON page was expected" in check.summary
    drift = report.check("attribute-drift")
    assert (drift.status, drift.summary) == (Status.SKIP, "not checked: the mailboxes could not be listed")


# -- 5. attribute drift ----------------------------------------------------------------------------------------


def _recipient(model: type[Any], emails: Sequence[str], primary: str = "") -> Any:
    data = {"Identity": "Adele", "UserPrincipalName": "adele@contoso.example", "PrimarySmtpAddress": primary,
            "EmailAddresses": list(emails), "RecipientTypeDetails": "UserMailbox"}  # fmt: skip
    return model.model_validate({**data, "IsDirSynced": True, "IsExchangeCloudManaged": True})


def test_address_drift_ignores_case_but_not_a_missing_address_nor_another_primary() -> None:
    cloud = _recipient(Mailbox, ["SMTP:Adele@Contoso.example", "smtp:adele@contoso.mail.onmicrosoft.com"])
    same = _recipient(ServerRecipient, ["smtp:ADELE@contoso.mail.onmicrosoft.com", "SMTP:adele@contoso.example"])
    assert address_drift(cloud, same) is None

    fewer = _recipient(ServerRecipient, ["SMTP:adele@contoso.example", "X500:/o=contoso/cn=adele"])
    assert address_drift(cloud, fewer) == {
        "mailbox": "adele@contoso.example",
        "only_in_exchange_online": ["smtp:adele@contoso.mail.onmicrosoft.com"],
        "only_on_premises": ["X500:/o=contoso/cn=adele"],
        "primary_exchange_online": "Adele@Contoso.example", "primary_on_premises": "adele@contoso.example",
    }  # fmt: skip
    # The same set, another primary: only the primary tells them apart.
    swapped = _recipient(ServerRecipient, ["smtp:adele@contoso.example", "SMTP:adele@contoso.mail.onmicrosoft.com"])
    drift = address_drift(cloud, swapped)
    assert drift is not None and drift["only_in_exchange_online"] == drift["only_on_premises"] == []
    assert drift["primary_on_premises"] == "adele@contoso.mail.onmicrosoft.com"


def test_drift_warns_listing_each_difference_and_each_missing_remote_mailbox(readiness: Callable[..., Report]) -> None:
    rows = [
        mailbox("adele", cloud=True, emails=addresses("adele", "smtp:adele.vance@contoso.example")),
        mailbox("alex", cloud=True), mailbox("lee", cloud=True), mailbox("sales", cloud=False),
    ]  # fmt: skip
    exchange = [remote("adele"), remote("alex", emails=addresses("ALEX")), no_remote("lee")]
    check = readiness(exo=[SERVER_MANAGED, listing(*rows)], exchange=exchange).check("attribute-drift")

    assert check.status == Status.WARN
    assert check.evidence["compared"] == 3
    assert check.evidence["no_remote_mailbox"] == ["lee@contoso.example"]
    (drift,) = check.evidence["drifted"]  # alex differs only in case: no drift
    assert drift["mailbox"] == "adele@contoso.example"
    assert drift["only_in_exchange_online"] == ["smtp:adele.vance@contoso.example"]
    assert "1 of 3 cloud-managed mailboxes have other email addresses" in check.summary
    assert (
        "1 of 3 cloud-managed mailboxes have no remote mailbox on Exchange Server: lee@contoso.example" in check.summary
    )
    assert check.fix is not None and "Set-RemoteMailbox -EmailAddresses" in check.fix


def test_drift_passes_when_every_remote_mailbox_agrees(readiness: Callable[..., Report]) -> None:
    check = readiness().check("attribute-drift")
    assert check.status == Status.PASS
    assert check.evidence == {"compared": 1, "drifted": [], "no_remote_mailbox": []}
    assert check.target is not None and check.target.startswith("exchange: ")


def test_a_remote_mailbox_that_cannot_be_read_stops_the_drift_check_failing(readiness: Callable[..., Report]) -> None:
    rows = [mailbox("adele", cloud=True), mailbox("alex", cloud=True)]
    exchange = [remote("adele", copies=2)]  # alex is never asked: the same error would meet him
    check = readiness(exo=[SERVER_MANAGED, listing(*rows)], exchange=exchange).check("attribute-drift")
    assert check.status == Status.FAIL
    assert check.summary.startswith("could not read the remote mailbox of adele@contoso.example: ")


# -- sessions from targets ------------------------------------------------------------------------------------


def test_sessions_are_needed_from_somewhere() -> None:
    with pytest.raises(TargetMissingError, match="no target for role 'connect'"):
        check_cloud_managed_readiness(Targets.of())


def test_with_targets_a_cloudsync_agent_target_means_an_agent_is_in_use(tmp_path: Path) -> None:
    config_file = tmp_path / "psbridge.toml"
    config_file.write_text('[targets.cloudsync-agent]\nhost = "agent01.contoso.example"\n', encoding="utf-8")
    with Targets(load_config(config_file), replay=DEMO) as targets:
        check = check_cloud_managed_readiness(targets, today=TODAY).check("cloud-sync-agent")
    # AGENT01's own recording (demo/agent.yaml), as the target names that host.
    assert (check.status, check.target, check.evidence["version"]) == (
        Status.PASS, "cloudsync-agent: agent01.contoso.example", "1.1.1586.0",
    )  # fmt: skip
    with Targets(Config(tmp_path / "none.toml", "default", exists=False), replay=DEMO) as targets:
        check = check_cloud_managed_readiness(targets, today=TODAY).check("cloud-sync-agent")
    assert check.status == Status.SKIP


# -- the CLI ------------------------------------------------------------------------------------------------------


def test_the_demo_shows_the_organizations_real_state_with_evidence_for_each_check(cli: Any) -> None:
    result = cli("--replay", DEMO, "check", "cloud-managed-readiness", "--as-of", "2026-11-25")

    assert result.code == 1, result  # the mixed mailboxes warn
    lines = result.out.splitlines()
    assert lines[0] == "cloud-managed-readiness (contoso.onmicrosoft.com): WARN"
    checks = [[line.split()[0], line.split()[1].rstrip(":")] for line in lines[1:] if not line.startswith(" " * 10)]
    assert checks == [
        ["PASS", "connect-version"], ["SKIP", "cloud-sync-agent"], ["PASS", "organization-default"],
        ["WARN", "synced-mailboxes"], ["PASS", "attribute-drift"],
    ]  # fmt: skip
    text = result.out
    assert "2.5.190.0 meets the cloud-managed minimum 2.5.190.0" in text and "end_of_support: 2027-02-02" in text
    assert "property: BlockExchangeProvisioningFromOnPremEnabled" in text
    assert "stragglers: alex@contoso.example, sales@contoso.example" in text
    assert "[exchange: ex01.contoso.example]: every cloud-managed mailbox (1) has the email addresses" in text
    assert "fix: switch the rest" in text and "fix: upgrade" not in text  # a fix only where a check falls short


def test_json_is_the_whole_report(cli: Any) -> None:
    result = cli("--replay", DEMO, "-o", "json", "check", "cloud-managed-readiness", "--as-of", "2026-11-25")
    document = result.json()

    assert result.code == 1 and document["status"] == "warn" and document["runbook"] == "cloud-managed-readiness"
    checks = {c["name"]: c for c in document["checks"]}
    assert checks["connect-version"]["evidence"]["version"] == "2.5.190.0"
    assert checks["synced-mailboxes"]["evidence"]["stragglers"] == ["alex@contoso.example", "sales@contoso.example"]
    assert checks["attribute-drift"]["evidence"]["compared"] == 1


def test_the_ready_organization_passes(cli: Any) -> None:
    result = cli("--replay", SCENARIOS / "ready", "-o", "json", "check", "cloud-managed-readiness", "--as-of",
                 "2026-11-25")  # fmt: skip
    assert result.code == 0, result
    statuses = {c["name"]: c["status"] for c in result.json()["checks"]}
    assert statuses == {
        "connect-version": "pass", "cloud-sync-agent": "skip", "organization-default": "pass",
        "synced-mailboxes": "pass", "attribute-drift": "pass",
    }  # fmt: skip


def test_the_not_ready_organization_fails_on_old_connect_mixed_mailboxes_and_drift(cli: Any) -> None:
    table = cli("--replay", SCENARIOS / "not-ready", "check", "cloud-managed-readiness", "--as-of", "2026-11-25")
    document = cli("--replay", SCENARIOS / "not-ready", "-o", "json", "check", "cloud-managed-readiness",
                   "--as-of", "2026-11-25").json()  # fmt: skip

    assert table.code == 1 and document["status"] == "fail"
    checks = {c["name"]: c for c in document["checks"]}
    assert checks["connect-version"]["status"] == "fail"
    assert checks["connect-version"]["evidence"]["version"] == "2.5.79.0"
    assert checks["connect-version"]["evidence"]["out_of_support"] is True
    assert checks["synced-mailboxes"]["status"] == "warn"
    assert checks["attribute-drift"]["status"] == "warn"
    (drift,) = checks["attribute-drift"]["evidence"]["drifted"]
    assert drift["only_in_exchange_online"] == ["smtp:adele.vance@contoso.example"]
    # The table caps a long evidence value; the JSON has it whole.
    (line,) = [x for x in table.out.splitlines() if x.strip().startswith("drifted: ")]
    assert line.endswith("...") and json.dumps(drift, ensure_ascii=False) not in line
    assert "fix: upgrade Entra Connect Sync to 2.5.190.0 or later" in table.out


def test_a_lower_minimum_is_taken_from_the_command_line(cli: Any) -> None:
    result = cli("--replay", SCENARIOS / "not-ready", "-o", "json", "check", "cloud-managed-readiness",
                 "--cloud-managed-min", "2.5.76", "--as-of", "2026-10-01")  # fmt: skip
    check = {c["name"]: c for c in result.json()["checks"]}["connect-version"]
    assert (check["status"], check["evidence"]["cloud_managed_minimum"]) == ("pass", "2.5.76.0")


def test_an_agent_given_on_the_command_line_is_checked(cli: Any) -> None:
    result = cli("--replay", DEMO, "-o", "json", "check", "cloud-managed-readiness", "--cloud-sync")
    check = {c["name"]: c for c in result.json()["checks"]}["cloud-sync-agent"]
    assert (check["status"], check["evidence"]["version"]) == ("pass", "1.1.1586.0")


def test_an_agent_given_on_the_command_line_needs_its_target(cli: Any, write_config: Callable[..., Path]) -> None:
    config = write_config(
        '[targets.connect]\nhost = "connect01.contoso.example"\n[targets.exchange]\nhost = "ex01.contoso.example"\n'
        '[targets.exo]\nhost = "jump01.contoso.example"\norganization = "contoso.onmicrosoft.com"\n'
        'app_id = "6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"\n'
        'certificate_thumbprint = "3A8F2C1D9E7B6A5F4C3D2E1F0A9B8C7D6E5F4A3B"\n'
    )
    line = cli("--config", config, "check", "cloud-managed-readiness", "--cloud-sync").one_line_error(2)
    assert "no target for role 'cloudsync-agent'" in line


def test_exchange_through_the_jump_host_is_read_there(cli: Any, write_config: Callable[..., Path]) -> None:
    config = write_config(
        '[targets.connect]\nhost = "connect01.contoso.example"\n'
        '[targets.exo]\nhost = "jump01.contoso.example"\norganization = "contoso.onmicrosoft.com"\n'
        'app_id = "6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"\n'
        'certificate_thumbprint = "3A8F2C1D9E7B6A5F4C3D2E1F0A9B8C7D6E5F4A3B"\n'
        '[targets.exchange]\nhost = "ex01.contoso.example"\nvia = "exo"\n'
    )
    result = cli("--config", config, "--replay", DEMO, "-o", "json", "check", "cloud-managed-readiness")
    check = {c["name"]: c for c in result.json()["checks"]}["attribute-drift"]
    # Served by demo/exchange-jump.yaml (Get-RemoteMailbox -OnPremises after Connect-ExchangeServer).
    assert (check["status"], check["target"]) == ("pass", "exchange: jump01.contoso.example")


@pytest.mark.parametrize(
    ("args", "said"),
    [(["--cloud-managed-min", "2.5.x"], "2.5.x"), (["--as-of", "25/11/2026"], "--as-of")],
)
def test_bad_input_is_exit_2(cli: Any, args: list[str], said: str) -> None:
    assert said in cli("--replay", DEMO, "check", "cloud-managed-readiness", *args).one_line_error(2)


def test_a_missing_target_is_exit_2_naming_the_role(cli: Any, write_config: Callable[..., Path]) -> None:
    config = write_config(
        '[targets.connect]\nhost = "connect01.contoso.example"\n[targets.exo]\nhost = "jump01.contoso.example"\n'
        'organization = "contoso.onmicrosoft.com"\napp_id = "6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"\n'
        'certificate_thumbprint = "3A8F2C1D9E7B6A5F4C3D2E1F0A9B8C7D6E5F4A3B"\n'
    )
    line = cli("--config", config, "check", "cloud-managed-readiness").one_line_error(2)
    assert f"no target for role 'exchange' in {config}: add [targets.exchange]" in line


@pytest.mark.slow
def test_an_unreachable_target_is_exit_3(
    cli: Any, write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PSBRIDGE_PASSWORD", "not-used-nothing-listens")
    config = write_config(
        '[defaults]\nusername = "ci"\nauth = "basic"\ntls = false\nencryption = "never"\nport = 9\n'
        '[targets.connect]\nhost = "127.0.0.1"\n[targets.exchange]\nhost = "127.0.0.1"\n'
        '[targets.exo]\nhost = "127.0.0.1"\norganization = "contoso.onmicrosoft.com"\n'
        'app_id = "6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"\n'
        'certificate_thumbprint = "3A8F2C1D9E7B6A5F4C3D2E1F0A9B8C7D6E5F4A3B"\n'
    )  # nothing listens on the discard port
    line = cli("--config", config, "check", "cloud-managed-readiness").one_line_error(3)
    assert "127.0.0.1" in line


def test_a_replay_is_judged_as_of_when_it_was_recorded_so_the_demo_tells_the_same_story_every_day(cli: Any) -> None:
    """The demo's recordings were made on 2026-11-25: the lifecycle is judged then, not today, unless --as-of."""
    replayed = cli("--replay", DEMO, "-o", "json", "check", "cloud-managed-readiness")
    version = {c["name"]: c for c in replayed.json()["checks"]}["connect-version"]
    assert (replayed.code, version["status"], version["evidence"]["as_of"]) == (1, "pass", "2026-11-25")

    later = cli("--replay", DEMO, "-o", "json", "check", "cloud-managed-readiness", "--as-of", "2027-03-01")
    version = {c["name"]: c for c in later.json()["checks"]}["connect-version"]
    assert version["evidence"]["as_of"] == "2027-03-01" and version["status"] != "pass"  # 2.5.190.0 ends 02 Feb 2027


def test_statuses_have_colour_at_a_terminal_and_none_with_no_color(
    cli: Any, mocker: MockerFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As click decides for a terminal: keep the colours unless told `color=False`.
    mocker.patch("click.utils.should_strip_ansi", side_effect=lambda stream=None, color=None: color is False)
    coloured = cli("--replay", DEMO, "check", "cloud-managed-readiness").out
    assert "\x1b[33mWARN\x1b[0m" in coloured and "\x1b[32mPASS\x1b[0m" in coloured
    monkeypatch.setenv("NO_COLOR", "1")
    plain = cli("--replay", DEMO, "check", "cloud-managed-readiness").out
    assert "\x1b[" not in plain and "  WARN  synced-mailboxes" in plain
