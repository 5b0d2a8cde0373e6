"""The Graph-side migration steps (`psbridge.cloudsync.configure`) against the migration-configure cassettes.

Each test replays recorded_sessions/runbooks/migration-configure/<scenario>/graph afresh; a request the
cassette does not hold (a wrong path, a wrong body) fails the test, and spies on the client's post and
put say what was written. Waits run on a fake clock: nothing sleeps.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pytest_mock import MockerFixture

from psbridge import InputError
from psbridge.cloudsync import configure
from psbridge.cloudsync.models import JobStatus
from psbridge.errors import GraphError, OperationTimeoutError, UnexpectedOutputError
from psbridge.graph import GraphClient
from psbridge.replay.graph_http import author_graph_cassette

RECORDINGS = Path(__file__).resolve().parents[1] / "recorded_sessions"
SCENARIOS = RECORDINGS / "runbooks" / "migration-configure"
SOURCES = RECORDINGS / "sources" / "runbooks" / "migration-configure"
JOB = "AD2AADProvisioning.8c2f0e5a1d7b4c9e9f3a6b2d5e8c1a47.3f9d2b6e-1c4a-4e8b-9a7d-5c2e8f1b4d60"
OUS = ["OU=Sales,DC=contoso,DC=example", "OU=Kiosks,DC=contoso,DC=example"]
STARTED = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
APP_KEY = {"key": "AppKey", "value": '{"appKeyScenario":"AD2AADPasswordHash"}'}
DOMAIN = {"key": "Domain", "value": '{"domain":"contoso.example"}'}


class FakeClock:
    """A monotonic clock that moves only when something sleeps (or a read takes time)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def replay(scenario: str | Path) -> GraphClient:
    path = scenario if isinstance(scenario, Path) else SCENARIOS / scenario
    return GraphClient.replay(path)


@pytest.fixture
def client(request: pytest.FixtureRequest) -> Iterator[GraphClient]:
    with replay(request.param) as graph:
        yield graph


def writes(mocker: MockerFixture, graph: GraphClient) -> tuple[Any, Any]:
    return mocker.spy(graph, "post"), mocker.spy(graph, "put")


# -- create_configuration ------------------------------------------------------------------------


@pytest.mark.parametrize("client", ["new"], indirect=True)
def test_create_instantiates_creates_the_jobs_and_writes_the_secrets(
    client: GraphClient, mocker: MockerFixture, clock: FakeClock
) -> None:
    post, put = writes(mocker, client)
    change = configure.create_configuration(
        client, domain="contoso.example", password_hash=True, deadline_s=60, poll_s=5, clock=clock, sleep=clock.sleep
    )
    assert change.changed and not change.dry_run
    assert change.before.service_principal_id is None
    after = change.after
    assert after.service_principal_id == "9c4f1a27-3e8b-4d52-a6f0-2b7d9e1c5a84"
    assert after.templates == ("AD2AADProvisioning", "AD2AADPasswordHash") and after.password_hash
    assert (after.app_key_scenario, after.domain_secret) == ("AD2AADPasswordHash", "contoso.example")
    assert [c.args[1] for c in post.call_args_list] == [
        {"displayName": "contoso.example"},
        {"templateId": "AD2AADProvisioning"},
        {"templateId": "AD2AADPasswordHash"},
    ]
    assert put.call_args.args[1] == {"value": [APP_KEY, DOMAIN]}
    assert clock.now == 5  # the service principal was readable at the second read

    # Idempotent: the same call again finds the configuration by its Domain secret and sends nothing.
    post.reset_mock(), put.reset_mock()
    again = configure.create_configuration(client, domain="contoso.example", password_hash=True)
    assert not again.changed and not again.would_change and again.requests == ()
    assert again.before == again.after == after
    assert post.call_count == put.call_count == 0


@pytest.mark.parametrize("client", ["new"], indirect=True)
def test_create_dry_run_sends_no_write_and_predicts(client: GraphClient, mocker: MockerFixture) -> None:
    post, put = writes(mocker, client)
    change = configure.create_configuration(client, domain="contoso.example", password_hash=True, dry_run=True)
    assert post.call_count == put.call_count == 0
    assert change.dry_run and not change.changed and change.would_change
    assert change.after.service_principal_id == configure.NEW
    assert change.after.templates == ("AD2AADProvisioning", "AD2AADPasswordHash")
    assert (change.after.app_key_scenario, change.after.domain_secret) == ("AD2AADPasswordHash", "contoso.example")
    assert len(change.requests) == 4  # instantiate, two jobs, the secrets


@pytest.mark.parametrize("client", ["half-made"], indirect=True)
def test_create_completes_a_half_made_configuration_keeping_other_secret_keys(
    client: GraphClient, mocker: MockerFixture
) -> None:
    post, put = writes(mocker, client)
    change = configure.create_configuration(client, domain="contoso.example", password_hash=True)
    assert change.before.templates == ("AD2AADProvisioning",) and change.before.domain_secret is None
    assert [c.args[1] for c in post.call_args_list] == [{"templateId": "AD2AADPasswordHash"}]
    (sent,) = [c.args[1]["value"] for c in put.call_args_list]
    assert [p["key"] for p in sent] == ["SyncNotificationSettings", "AppKey", "Domain"]
    assert 'DeleteThresholdValue":500' in sent[0]["value"]
    assert change.after.other_secret_keys == ("SyncNotificationSettings",) and change.after.password_hash


def test_merge_secrets_keeps_every_other_key_and_an_equal_value_as_it_is() -> None:
    notify = {"key": "SyncNotificationSettings", "value": '{"Enabled":true}'}
    spaced = {"key": "Domain", "value": '{"domain": "contoso.example"}'}  # the same JSON, other spacing
    wanted = configure.desired_secrets("contoso.example", password_hash=False)
    merged = configure.merge_secrets([notify, spaced], wanted)
    assert merged == [notify, spaced, {"key": "AppKey", "value": '{"appKeyScenario":"AD2AADProvisioning"}'}]


def test_create_gives_up_at_the_deadline_when_the_service_principal_never_shows(
    tmp_path: Path, clock: FakeClock
) -> None:
    sp = "9c4f1a27-3e8b-4d52-a6f0-2b7d9e1c5a84"
    select = {"$select": "id,appId,displayName,applicationTemplateId,accountEnabled"}
    template = "1a4721b3-e57f-4451-ae87-ef078703ec94"
    missing = {"status": 404, "json": {"error": {"code": "Request_ResourceNotFound", "message": "does not exist"}}}
    interactions = [
        {"request": {"method": "GET", "path": "/servicePrincipals",
                     "query": {"$filter": f"applicationTemplateId eq '{template}'", **select}},
         "response": {"json": {"value": []}}},
        {"request": {"method": "POST", "api": "beta", "path": f"/applicationTemplates/{template}/instantiate",
                     "body": {"displayName": "contoso.example"}},
         "response": {"status": 201, "json": {"application": {}, "servicePrincipal": {"id": sp}}}},
        *[{"request": {"method": "GET", "path": f"/servicePrincipals/{sp}", "query": select}, "response": missing}] * 4,
    ]  # fmt: skip
    path = tmp_path / "graph.yaml"
    source = {"origin": "synthetic", "description": "never readable", "interactions": interactions}
    path.write_text(author_graph_cassette(source), encoding="utf-8")
    with replay(path) as graph, pytest.raises(OperationTimeoutError, match="not readable within 30 s"):
        configure.create_configuration(graph, domain="contoso.example", password_hash=False,
                                       deadline_s=30, poll_s=10, clock=clock, sleep=clock.sleep)  # fmt: skip
    assert clock.now == 30


def test_create_refuses_a_domain_that_is_not_one() -> None:
    with pytest.raises(InputError, match="not a DNS domain name"):
        configure.create_configuration(None, domain="contoso", password_hash=False)  # type: ignore[arg-type]


# -- set_ou_scope --------------------------------------------------------------------------------


@pytest.mark.parametrize("client", ["job"], indirect=True)
def test_set_ou_scope_writes_the_whole_schema_then_changes_nothing(client: GraphClient, mocker: MockerFixture) -> None:
    _, put = writes(mocker, client)
    change = configure.set_ou_scope(client, job_id=JOB, ous=OUS)
    assert change.changed and change.before.ous == () and change.after.ous == tuple(OUS)
    assert change.added == tuple(OUS) and change.removed == ()
    (body,) = [c.args[1] for c in put.call_args_list]
    assert {"id", "version", "directories", "synchronizationRules"} <= body.keys()
    assert not any(k.startswith("@odata.") for k in body)
    (rule,) = body["synchronizationRules"]
    assert rule["containerFilter"] == {"includedContainers": OUS}
    assert [m["sourceObjectName"] for m in rule["objectMappings"]] == ["user", "group"]  # kept whole
    assert len(body["directories"]) == 2

    same = configure.set_ou_scope(client, job_id=JOB, ous=[ou.upper() for ou in OUS])  # case does not matter
    assert not same.changed and not same.would_change and put.call_count == 1


@pytest.mark.parametrize("client", ["job"], indirect=True)
def test_set_ou_scope_dry_run_shows_the_change_and_sends_nothing(client: GraphClient, mocker: MockerFixture) -> None:
    _, put = writes(mocker, client)
    change = configure.set_ou_scope(client, job_id=JOB, ous=OUS, dry_run=True)
    assert put.call_count == 0
    assert change.dry_run and change.would_change and not change.changed
    assert change.after.ous == tuple(OUS) and change.container_filter == {"includedContainers": OUS}


def test_set_ou_scope_checks_every_dn_before_reading_anything(mocker: MockerFixture) -> None:
    graph = mocker.Mock(spec=GraphClient)
    with pytest.raises(InputError, match="not an Active Directory distinguished name"):
        configure.set_ou_scope(graph, job_id=JOB, ous=[OUS[0], "OU=Sales;DC=contoso"])
    assert graph.mock_calls == []


# -- get_attribute_mappings ----------------------------------------------------------------------


@pytest.mark.parametrize("client", ["job"], indirect=True)
def test_get_attribute_mappings_reads_the_rules_mappings(client: GraphClient) -> None:
    mappings = configure.get_attribute_mappings(client, job_id=JOB)
    assert mappings.rule_id == "0f4b7d2e-9a61-4c38-b5e0-e7c3a9d1f248"
    users, groups = mappings.object_mappings
    assert (users.source_object_name, users.target_object_name, groups.target_object_name) == ("user", "User", "Group")
    anchor = users.attribute_mappings[-1]
    assert (anchor.target_attribute_name, anchor.source_type) == ("SourceAnchor", "Function")
    assert anchor.matching_priority == 1
    assert anchor.source == "Coalesce([msDS-ConsistencyGuid],[objectGUID])"


# -- set_attribute_mappings ----------------------------------------------------------------------

JOIN = 'Join(" ", [givenName], [sn])'
MAPPINGS = {"extensionAttribute1": JOIN, "department": "[department]", "userPrincipalName": "[userPrincipalName]"}


def _mapping_source() -> dict[str, Any]:
    source: dict[str, Any] = yaml.safe_load((SOURCES / "mapping" / "graph" / "mapping.yaml").read_text("utf-8"))
    return source


def _users(schema: dict[str, Any]) -> list[dict[str, Any]]:
    (rule,) = schema["synchronizationRules"]
    return list(rule["objectMappings"][0]["attributeMappings"])


@pytest.mark.parametrize("client", ["mapping"], indirect=True)
def test_set_attribute_mappings_writes_parsed_sources_then_changes_nothing(
    client: GraphClient, mocker: MockerFixture
) -> None:
    post, put = writes(mocker, client)
    change = configure.set_attribute_mappings(client, job_id=JOB, mappings=MAPPINGS)
    assert change.changed and not change.dry_run
    assert (change.added, change.modified) == (("department",), ("extensionAttribute1",))
    assert change.lines == (f"extensionAttribute1: [department] -> {JOIN}", "department: - -> [department]")
    assert change.after.source_of("extensionAttribute1") == JOIN  # read back
    assert change.after.source_of("userPrincipalName") == change.before.source_of("userPrincipalName")
    assert [c.args[1] for c in post.call_args_list] == [{"expression": e} for e in MAPPINGS.values()]
    assert all(c.kwargs["idempotent"] for c in post.call_args_list)  # parsing is a read
    (body,) = [c.args[1] for c in put.call_args_list]
    schema = _mapping_source()["interactions"][3]["response"]["json"]  # the schema the call read
    assert not any(k.startswith("@odata.") for k in body)
    assert body["directories"] == schema["directories"]
    (rule,) = body["synchronizationRules"]
    (read_rule,) = schema["synchronizationRules"]
    assert (
        rule["containerFilter"] == read_rule["containerFilter"]
        and rule["objectMappings"][1] == read_rule["objectMappings"][1]
    )  # the group mapping and the OU scope untouched
    sent, had = _users(body), _users(schema)
    assert [m["targetAttributeName"] for m in sent] == [*(m["targetAttributeName"] for m in had), "department"]
    assert [m for m in sent if m["targetAttributeName"] != "extensionAttribute1"][:-1] == [
        m for m in had if m["targetAttributeName"] != "extensionAttribute1"
    ]  # every other mapping as read
    ext1 = next(m for m in sent if m["targetAttributeName"] == "extensionAttribute1")
    old = next(m for m in had if m["targetAttributeName"] == "extensionAttribute1")
    assert {**ext1, "source": None} == {**old, "source": None}  # flowType, flowBehavior, ... kept
    assert ext1["source"]["type"] == "Function" and ext1["source"]["expression"] == JOIN
    assert sent[-1] == {"targetAttributeName": "department", "flowType": "Always", "matchingPriority": 0,
                        "source": {"expression": "[department]", "name": "department", "parameters": [],
                                   "type": "Attribute"}}  # fmt: skip

    # Idempotent: the same call again parses each expression, finds every source equal and writes nothing.
    post.reset_mock(), put.reset_mock()
    again = configure.set_attribute_mappings(client, job_id=JOB, mappings=MAPPINGS)
    assert not again.changed and not again.would_change and again.added == again.modified == again.lines == ()
    assert again.before == again.after == change.after
    assert post.call_count == 3 and put.call_count == 0


@pytest.mark.parametrize("client", ["mapping"], indirect=True)
def test_set_attribute_mappings_dry_run_parses_predicts_and_writes_nothing(
    client: GraphClient, mocker: MockerFixture
) -> None:
    post, put = writes(mocker, client)
    change = configure.set_attribute_mappings(client, job_id=JOB, mappings=MAPPINGS, dry_run=True)
    assert put.call_count == 0 and post.call_count == 3  # the parses only
    assert change.dry_run and change.would_change and not change.changed
    assert change.lines == (f"extensionAttribute1: [department] -> {JOIN}", "department: - -> [department]")
    assert change.after.source_of("department") == "[department]" and change.before.source_of("department") is None


@pytest.mark.parametrize("client", ["mapping"], indirect=True)
def test_an_expression_graph_cannot_parse_stops_before_any_write(client: GraphClient, mocker: MockerFixture) -> None:
    post, put = writes(mocker, client)
    bad = 'Join(" ", [givenName], [sn]'
    with pytest.raises(InputError, match=r"expression for extensionAttribute1.*ExpressionParsingFailed: Missing '\)'"):
        configure.set_attribute_mappings(client, job_id=JOB, mappings={"department": "[department]",
                                                                        "extensionAttribute1": bad})  # fmt: skip
    assert put.call_count == 0 and post.call_count == 2


@pytest.mark.parametrize("client", ["mapping"], indirect=True)
def test_a_matching_attribute_is_refused(client: GraphClient, mocker: MockerFixture) -> None:
    post, put = writes(mocker, client)
    with pytest.raises(InputError, match=r"SourceAnchor is a matching attribute .*not the join"):
        configure.set_attribute_mappings(client, job_id=JOB, mappings={"sourceanchor": "[objectGUID]"})
    assert post.call_count == put.call_count == 0  # refused before any parse


@pytest.mark.parametrize("client", ["mapping"], indirect=True)
def test_an_object_type_the_rule_does_not_map_is_refused(client: GraphClient, mocker: MockerFixture) -> None:
    post, put = writes(mocker, client)
    with pytest.raises(InputError, match=r"no object mapping from 'contact' \(its object types: user, group\)"):
        configure.set_attribute_mappings(client, job_id=JOB, mappings={"department": "[department]"},
                                         object_type="contact")  # fmt: skip
    assert post.call_count == put.call_count == 0


def test_an_expression_graph_refuses_outright_is_an_input_error(mocker: MockerFixture) -> None:
    mocker.patch.object(configure, "locate_job", return_value=("sp-1", {"id": JOB}))
    graph = mocker.Mock(spec=GraphClient, target="graph.microsoft.com")
    graph.get.return_value = _mapping_source()["interactions"][3]["response"]["json"]
    graph.post.side_effect = GraphError("POST .../parseExpression: HTTP 400 BadRequest: bad", status=400)
    with pytest.raises(InputError, match="expression for department, \\[department: POST"):
        configure.set_attribute_mappings(graph, job_id=JOB, mappings={"department": "[department"})
    assert graph.put.call_count == 0


def test_set_attribute_mappings_refuses_empty_and_twice_given_targets(mocker: MockerFixture) -> None:
    graph = mocker.Mock(spec=GraphClient)
    for mappings, message in (({}, "at least one"), ({"department": " "}, "needs a target and an expression"),
                              ({"department": "[a]", "Department": "[b]"}, "given twice")):  # fmt: skip
        with pytest.raises(InputError, match=message):
            configure.set_attribute_mappings(graph, job_id=JOB, mappings=mappings)
    assert graph.mock_calls == []


def test_mapped_schema_changes_one_object_mapping_of_one_rule() -> None:
    def rule(rule_id: str) -> dict[str, Any]:
        objects = [
            {"sourceObjectName": n, "attributeMappings": [{"targetAttributeName": "a"}]} for n in ("user", "group")
        ]
        return {"id": rule_id, "objectMappings": objects}

    schema = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#x", "id": "s", "synchronizationRules": [
        rule("r1"), rule("r2")]}  # fmt: skip
    out = configure.mapped_schema(schema, "r2", "user", [{"targetAttributeName": "b"}])
    assert out == {"id": "s", "synchronizationRules": [
        rule("r1"), {**rule("r2"), "objectMappings": [
            {"sourceObjectName": "user", "attributeMappings": [{"targetAttributeName": "b"}]},
            rule("r2")["objectMappings"][1]]}]}  # fmt: skip
    assert schema["synchronizationRules"] == [rule("r1"), rule("r2")]  # the schema read is not changed


# -- start_and_watch -----------------------------------------------------------------------------


@pytest.mark.parametrize("client", ["job"], indirect=True)
def test_start_and_watch_reaches_steady_state_and_reports_counts(
    client: GraphClient, mocker: MockerFixture, clock: FakeClock
) -> None:
    post, _ = writes(mocker, client)
    watch = configure.start_and_watch(client, job_id=JOB, deadline_s=600, poll_s=60, clock=clock,
                                      sleep=clock.sleep, now=lambda: STARTED)  # fmt: skip
    assert post.call_count == 1 and watch.changed
    assert watch.outcome == "steady" and watch.ok and watch.reads == 2 and clock.now == 60
    assert watch.before.code == "Paused" and watch.after.code == "Active"
    assert watch.counts["imported"] == 46 and watch.counts["exported"] == 46
    assert watch.counts["synchronized_User"] == 40 and watch.counts["synchronized_Group"] == 6


@pytest.mark.parametrize("client", ["job"], indirect=True)
def test_start_and_watch_dry_run_sends_no_start(client: GraphClient, mocker: MockerFixture) -> None:
    post, put = writes(mocker, client)
    watch = configure.start_and_watch(client, job_id=JOB, deadline_s=600, dry_run=True)
    assert post.call_count == put.call_count == 0
    assert watch.outcome == "dry_run" and watch.would_change and watch.after.code == "Active"


@pytest.mark.parametrize("client", ["quarantine"], indirect=True)
def test_a_quarantine_stops_the_watch_with_its_reason(client: GraphClient, clock: FakeClock) -> None:
    watch = configure.start_and_watch(client, job_id=JOB, deadline_s=600, poll_s=60, clock=clock,
                                      sleep=clock.sleep, now=lambda: STARTED)  # fmt: skip
    assert watch.outcome == "quarantine" and not watch.ok and watch.reads == 1 and clock.now == 0
    assert watch.reason is not None
    assert "EncounteredQuarantineException" in watch.reason and "HybridIdentityServiceNoActiveAgents" in watch.reason


def _paused_job(mocker: MockerFixture) -> Any:
    job = {"id": JOB, "status": {"code": "Paused"}}
    mocker.patch.object(configure, "locate_job", return_value=("sp-1", job))
    return mocker.Mock(spec=GraphClient)


def test_the_watch_ends_at_its_deadline_when_the_job_never_settles(mocker: MockerFixture, clock: FakeClock) -> None:
    graph = _paused_job(mocker)
    mocker.patch.object(configure, "read_status", return_value=JobStatus(id=JOB, code="NotRun"))
    watch = configure.start_and_watch(graph, job_id=JOB, deadline_s=300, poll_s=60, clock=clock, sleep=clock.sleep)
    assert watch.outcome == "deadline" and "NotRun" in (watch.reason or "")
    assert clock.now == 300 and watch.reads == 6


def test_the_watch_holds_its_deadline_against_a_server_that_stops_answering(
    mocker: MockerFixture, clock: FakeClock
) -> None:
    graph = _paused_job(mocker)

    def hangs(*_: Any) -> JobStatus:
        clock.now += 30  # the client's timeout runs out
        raise OperationTimeoutError("GET .../jobs/x timed out after 30 s", deadline_s=30)

    mocker.patch.object(configure, "read_status", side_effect=hangs)
    watch = configure.start_and_watch(graph, job_id=JOB, deadline_s=300, poll_s=60, clock=clock, sleep=clock.sleep)
    assert watch.outcome == "deadline" and watch.unanswered == watch.reads == 4
    assert clock.now <= 300 + 30  # the deadline, and at most one read's timeout past it
    assert watch.after.code == "Paused"  # the last status read: the one before the start


def test_an_old_quarantine_does_not_stop_the_watch_of_a_restarted_job(mocker: MockerFixture, clock: FakeClock) -> None:
    old = {"reason": "EncounteredQuarantineException", "currentBegan": "2026-11-24T08:00:00Z"}
    job = {"id": JOB, "status": {"code": "Quarantine", "quarantine": old}}
    mocker.patch.object(configure, "locate_job", return_value=("sp-1", job))
    steady = JobStatus.from_graph(
        {"id": JOB, "status": {"code": "Active", "steadyStateLastAchievedTime": "2026-11-25T10:05:00Z"}}
    )
    reads = mocker.patch.object(configure, "read_status", side_effect=[JobStatus.from_graph(job), steady])
    graph = mocker.Mock(spec=GraphClient)
    watch = configure.start_and_watch(graph, job_id=JOB, deadline_s=600, poll_s=60, clock=clock, sleep=clock.sleep,
                                      now=lambda: STARTED)  # fmt: skip
    assert graph.post.call_count == 1  # a quarantined job is started
    assert watch.outcome == "steady" and reads.call_count == 2


def test_create_raises_when_the_read_back_lacks_what_was_written(tmp_path: Path) -> None:
    source = yaml.safe_load((SOURCES / "half-made" / "graph" / "configure.yaml").read_text(encoding="utf-8"))
    source["interactions"][-1]["response"]["json"]["value"] = [{"key": "SyncNotificationSettings", "value": "{}"}]
    path = tmp_path / "graph.yaml"
    path.write_text(author_graph_cassette(source), encoding="utf-8")
    with replay(path) as graph, pytest.raises(UnexpectedOutputError, match="without the AppKey secret written"):
        configure.create_configuration(graph, domain="contoso.example", password_hash=True)


def test_set_ou_scope_refuses_a_rule_with_a_group_filter(mocker: MockerFixture) -> None:
    mocker.patch.object(configure, "locate_job", return_value=("sp-1", {"id": JOB}))
    rule = {"id": "r1", "sourceDirectoryName": "Active Directory", "targetDirectoryName": "Azure Active Directory",
            "groupFilter": {"includedGroups": ["CN=Pilot,OU=Groups,DC=contoso,DC=example"]}}  # fmt: skip
    graph = mocker.Mock(spec=GraphClient)
    graph.get.return_value = {"synchronizationRules": [rule]}
    for dry_run in (True, False):
        with pytest.raises(InputError, match="group filter"):
            configure.set_ou_scope(graph, job_id=JOB, ous=OUS, dry_run=dry_run)
    assert graph.put.call_count == 0
