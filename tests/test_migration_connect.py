"""The Connect Sync and Active Directory side of the Cloud Sync migration (issue 17): what the migration reads
from Connect (`adsync.get_migration_facts`), its cut-over and rollback on Connect's scheduler
(`adsync.pause_for_cutover`, `adsync.resume_after_rollback`) and its test users (`ad.find_user_dn`).

Replayed from recorded_sessions/runbooks/migration-pass (connect.yaml, dc.yaml), and from episodes built here
where a state is needed that the scenario does not hold (a running cycle, a server that ignores the write).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import helpers
import pytest
from helpers import REPO

from psbridge import InputError, ObjectNotFoundError, RetryPolicy, Session, UnexpectedOutputError, ad, adsync
from psbridge.adsync import ConnectorPartition
from psbridge.replay.transport import recorded_session
from psbridge.result import InvocationResult, Streams
from psbridge.transport.mock import MockTransport

PASS = REPO / "recorded_sessions" / "runbooks" / "migration-pass"
TYPO = REPO / "recorded_sessions" / "runbooks" / "migration-typo"
SALES, KIOSKS, SLAES = (f"OU={n},DC=contoso,DC=example" for n in ("Sales", "Kiosks", "Slaes"))
DOMAIN = "DC=contoso,DC=example"
MEGAN = "CN=Megan Bowen,OU=Sales,DC=contoso,DC=example"
Factory = Callable[..., Session]


@pytest.fixture
def connect() -> Iterator[Session]:
    with recorded_session(PASS / "connect.yaml", retry=RetryPolicy(attempts=1)) as session:
        yield session


@pytest.fixture
def dc() -> Iterator[Session]:
    with recorded_session(PASS / "dc.yaml", retry=RetryPolicy(attempts=1)) as session:
        yield session


def scheduler_spec(*, enabled: bool = True, in_progress: bool | None = False) -> dict[str, Any]:
    """A Get-Scheduler.ps1 episode: CONNECT01's scheduler (migration-pass/connect.yaml), on or off, idle or busy."""
    return helpers.scheduler_spec(
        SyncCycleEnabled=enabled, SyncCycleInProgress={"Nil": None} if in_progress is None else in_progress
    )


def set_spec(enabled: bool) -> dict[str, Any]:
    return {"script": "adsync/Set-Scheduler.ps1", "parameters": [{"name": "SyncCycleEnabled", "value": enabled}]}


def run_status_spec(*running: str) -> dict[str, Any]:
    output = [{"properties": {"ConnectorName": name, "RunState": "Busy"}} for name in running]
    return {"script": "adsync/Get-ConnectorRunStatus.ps1", "output": output}


class FakeClock:
    """Time that passes only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def sent(spy: Any) -> list[str]:
    return [call.args[1].name for call in spy.call_args_list]


# -- the facts -----------------------------------------------------------------------------------------------


def test_facts_read_from_the_recording(connect: Session) -> None:
    facts = adsync.get_migration_facts(connect)
    assert facts.password_hash_sync is True and facts.sign_on_method == "PasswordHashSync"
    assert facts.password_hash_sync_source == "Microsoft.UserSignIn.SignOnMethod = PasswordHashSync"
    assert facts.staging_mode_enabled is False and facts.scheduler_suspended is False
    assert facts.sync_cycle_enabled is True and facts.sync_cycle_in_progress is False
    # Only the selected domain partition of the AD connector, with Connect's OU filter; not the configuration
    # partition, nor the Entra ID connector.
    (domain,) = facts.domains
    assert (domain.connector, domain.partition, domain.fqdn) == (
        "contoso.example",
        "DC=contoso,DC=example",
        "contoso.example",
    )
    assert domain.inclusions == (SALES, KIOSKS) and domain.exclusions == ()
    assert facts.scope_of("CONTOSO.example") == facts.scope_of("DC=contoso, DC=example") == domain
    assert facts.scope_of("fabrikam.example") is None


def test_password_hash_sync_given_overrides_the_sign_on_method(connect: Session) -> None:
    facts = adsync.get_migration_facts(connect, password_hash_sync=False)
    assert facts.password_hash_sync is False and facts.password_hash_sync_source == "given"


def test_another_sign_on_method_leaves_password_hash_sync_unknown(replay_session: Factory) -> None:
    """Hash sync may run beside pass-through authentication: the sign-on method does not say it is off."""
    method = {"Name": "Microsoft.UserSignIn.SignOnMethod", "Value": "PassthroughAuthentication", "DataType": "String"}
    session = replay_session([
        {"script": "adsync/Get-Connectors.ps1", "output": ['{"cursor":null,"total":0,"remaining":0,"rows":[]}']},
        {"script": "adsync/Get-GlobalParameters.ps1", "output": [{"properties": method}]},
        scheduler_spec(),
    ])  # fmt: skip
    facts = adsync.get_migration_facts(session)
    assert facts.password_hash_sync is None and facts.sign_on_method == "PassthroughAuthentication"
    assert facts.password_hash_sync_source.startswith("unknown") and facts.domains == ()


def test_a_partition_without_a_scope_reads_as_unknown_not_empty() -> None:
    base = {
        "ConnectorIdentifier": "6f1e6f0c-2d4b-4b7a-9a53-3c1f0e7d2a10",
        "Identifier": "1d7c3e52-0a4f-4e36-9c1b-8f2d6a5e4b31",
    }
    unknown = ConnectorPartition.model_validate({**base, "Name": "x", "ContainerInclusionList": None})
    assert unknown.container_inclusions is None and unknown.container_exclusions is None
    one = ConnectorPartition.model_validate({**base, "Name": "x", "ContainerInclusionList": SALES})
    assert one.container_inclusions == (SALES,)


# -- cut-over and rollback on Connect's scheduler ----------------------------------------------------------------


def test_dry_run_of_the_pause_sends_no_write(connect: Session, mocker: Any) -> None:
    spy = mocker.spy(Session, "invoke")
    pause = adsync.pause_for_cutover(connect, dry_run=True)
    assert sent(spy) == ["adsync/Get-Scheduler.ps1"]
    assert pause.scheduler.dry_run and pause.scheduler.would_change and not pause.scheduler.changed
    assert pause.scheduler.after.sync_cycle_enabled is False and pause.cycle_in_progress is False
    assert pause.ready is False  # nothing was paused


def test_pause_then_rollback_verified(replay_session: Factory, mocker: Any) -> None:
    off = scheduler_spec(enabled=False)
    connect = replay_session([scheduler_spec(), set_spec(False), off, off, set_spec(True), scheduler_spec()])
    spy = mocker.spy(Session, "invoke")
    pause = adsync.pause_for_cutover(connect)
    assert pause.scheduler.changed and pause.scheduler.before.sync_cycle_enabled is True
    assert pause.scheduler.after.sync_cycle_enabled is False  # read back from the server
    assert pause.cycle_in_progress is False and pause.cycle_finished is None and pause.ready
    resume = adsync.resume_after_rollback(connect)
    assert resume.changed and resume.before.sync_cycle_enabled is False and resume.after.sync_cycle_enabled is True
    assert sent(spy) == ["adsync/Get-Scheduler.ps1", "adsync/Set-Scheduler.ps1", "adsync/Get-Scheduler.ps1"] * 2


def test_a_scheduler_already_off_is_left_alone(replay_session: Factory, mocker: Any) -> None:
    session = replay_session([scheduler_spec(enabled=False)])
    spy = mocker.spy(Session, "invoke")
    pause = adsync.pause_for_cutover(session)
    assert not pause.scheduler.changed and pause.ready
    assert sent(spy) == ["adsync/Get-Scheduler.ps1"]


def test_a_write_the_server_did_not_take_raises(replay_session: Factory) -> None:
    session = replay_session([scheduler_spec(), set_spec(False), scheduler_spec(enabled=True)])
    with pytest.raises(UnexpectedOutputError, match="still reads enabled"):
        adsync.pause_for_cutover(session)


def test_a_running_cycle_is_waited_for(replay_session: Factory) -> None:
    busy, idle = scheduler_spec(enabled=False, in_progress=True), scheduler_spec(enabled=False)
    session = replay_session([
        scheduler_spec(in_progress=True), set_spec(False), busy,
        busy, run_status_spec("contoso.example"), idle, run_status_spec(),
    ])  # fmt: skip
    clock = FakeClock()
    pause = adsync.pause_for_cutover(session, poll_s=15, deadline_s=600, clock=clock, sleep=clock.sleep)
    assert pause.cycle_in_progress is True and pause.cycle_finished is True and pause.ready
    assert clock.slept == [15]


def test_the_wait_for_a_running_cycle_honours_its_deadline(replay_session: Factory) -> None:
    """Reads at 0, 15, 30, 45 and 60 s, then gives up: a sixth read would find no episode and raise."""
    busy = scheduler_spec(enabled=False, in_progress=True)
    polls = [busy, run_status_spec("contoso.example")] * 5
    session = replay_session([scheduler_spec(in_progress=True), set_spec(False), busy, *polls])
    clock = FakeClock()
    pause = adsync.pause_for_cutover(session, poll_s=15, deadline_s=60, clock=clock, sleep=clock.sleep)
    assert pause.cycle_in_progress is True and pause.cycle_finished is False and not pause.ready
    assert clock.now == 60 and clock.slept == [15] * 4


def test_builds_without_the_in_progress_flag_ask_the_connectors(replay_session: Factory) -> None:
    session = replay_session([scheduler_spec(in_progress=None), run_status_spec("contoso.example")])
    pause = adsync.pause_for_cutover(session, dry_run=True)
    assert pause.cycle_in_progress is True and pause.cycle_finished is None


@pytest.mark.parametrize("kwargs", [{"deadline_s": -1}, {"poll_s": 0}, {"settle_polls": 0}])
def test_a_bad_wait_is_refused_before_anything_is_sent(kwargs: dict[str, Any]) -> None:
    transport = MockTransport(lambda c: InvocationResult(command=c.display(), output=(), streams=Streams()))
    with pytest.raises(InputError):
        adsync.pause_for_cutover(Session(transport=transport), **kwargs)
    assert transport.calls == []


# -- test users by UPN or DN -------------------------------------------------------------------------------------


def test_a_upn_finds_the_users_dn(dc: Session) -> None:
    assert ad.find_user_dn(dc, identity="megan@contoso.example") == MEGAN


def test_a_dn_is_checked_to_exist(dc: Session) -> None:
    assert ad.find_user_dn(dc, identity=MEGAN) == MEGAN


def test_a_upn_nobody_has_is_one_clear_error(dc: Session) -> None:
    with pytest.raises(ObjectNotFoundError) as info:
        ad.find_user_dn(dc, identity="megan.bowen@contoso.example")
    assert str(info.value).startswith("no AD user on ") and "user principal name 'megan.bowen@contoso.example'" in str(
        info.value
    )


def test_a_dn_that_does_not_exist_is_one_clear_error(dc: Session) -> None:
    typo = "CN=Megan Bowan,OU=Sales,DC=contoso,DC=example"
    with pytest.raises(ObjectNotFoundError) as info:
        ad.find_user_dn(dc, identity=typo)
    assert f"distinguished name {typo!r}" in str(info.value) and info.value.target_name == typo


def test_several_users_with_one_upn_are_one_clear_error(replay_session: Factory) -> None:
    users = [
        {"properties": {"DistinguishedName": dn, "UserPrincipalName": "sam@contoso.example"}}
        for dn in ("CN=Sam,OU=Sales,DC=contoso,DC=example", "CN=Sam,OU=Kiosks,DC=contoso,DC=example")
    ]
    session = replay_session([{
        "command": "Get-ADUser",
        "parameters": [{"name": "LDAPFilter", "value": "(userPrincipalName=sam@contoso.example)"},
                       {"name": "Properties", "value": ["MemberOf"]}],
        "output": users,
    }])  # fmt: skip
    with pytest.raises(InputError) as info:
        ad.find_user_dn(session, identity="sam@contoso.example")
    assert "2 AD users" in str(info.value)
    assert "CN=Sam,OU=Sales,DC=contoso,DC=example; CN=Sam,OU=Kiosks,DC=contoso,DC=example" in str(info.value)


def test_the_upn_is_bound_escaped_never_pasted() -> None:
    transport = MockTransport(lambda c: InvocationResult(command=c.display(), output=(), streams=Streams()))
    with pytest.raises(ObjectNotFoundError):
        ad.find_user_dn(Session(transport=transport), identity="x*)(objectClass=*@contoso.example")
    (command,) = transport.calls
    assert not command.is_script and command.name == "Get-ADUser"
    params = {p.name: p.value for p in command.parameters}
    assert params["LDAPFilter"] == "(userPrincipalName=x\\2a\\29\\28objectClass=\\2a@contoso.example)"


@pytest.mark.parametrize("identity", ["megan", "", "   "])
def test_neither_upn_nor_dn_is_refused_before_anything_is_sent(identity: str) -> None:
    transport = MockTransport(lambda c: InvocationResult(command=c.display(), output=(), streams=Streams()))
    with pytest.raises(InputError):
        ad.find_user_dn(Session(transport=transport), identity=identity)
    assert transport.calls == []


# -- scoping OUs (the preflight's scoping-ou check is built on check_ous) ----------------------------------------


def test_scoping_ous_that_exist(dc: Session) -> None:
    checks = ad.check_ous(dc, dns=[SALES, f" {KIOSKS} ", SALES], partitions=[DOMAIN])  # stripped, once each
    assert [(c.given, c.valid, c.exists, c.distinguished_name, c.partition) for c in checks] == [
        (SALES, True, True, SALES, DOMAIN),
        (KIOSKS, True, True, KIOSKS, DOMAIN),
    ]


def test_a_mistyped_ou_names_its_nearest_existing_container() -> None:
    with recorded_session(TYPO / "dc.yaml", retry=RetryPolicy(attempts=1)) as session:
        kiosks, slaes = ad.check_ous(session, dns=[KIOSKS, SLAES], partitions=[DOMAIN])
    assert kiosks.exists and not slaes.exists and slaes.valid
    assert slaes.nearest_existing == DOMAIN and slaes.distinguished_name is None


def test_a_value_that_is_no_dn_is_reported_without_a_lookup() -> None:
    transport = MockTransport(lambda c: InvocationResult(command=c.display(), output=(), streams=Streams()))
    (check,) = ad.check_ous(Session(transport=transport), dns=["Sales"])
    assert not check.valid and not check.exists and check.problem and "distinguished name" in check.problem
    assert transport.calls == []
