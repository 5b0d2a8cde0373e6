"""Cloud Sync over Microsoft Graph (`psbridge.cloudsync.graph`) against the demo's Graph cassettes.

Each test replays recorded_sessions/demo/graph/*.yaml afresh through the cassette transport on a real requests session
that notes what it sent; a request the cassettes do not hold (a wrong path, a wrong body) fails the
test. Inline cassettes, authored like the demo's, cover what the demo does not show.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests
from cloudsync_data import CASES, DEMO_FILE, HEALTHY, QUARANTINED
from helpers import DEMO

from psbridge import InputError, ObjectNotFoundError, RetryPolicy
from psbridge import cloudsync as cs
from psbridge.cloudsync import graph
from psbridge.cloudsync.models import JobSchedule
from psbridge.graph import GraphClient, StaticTokenProvider
from psbridge.replay.graph_http import GraphCassette, author_graph_cassette
from psbridge.replay.transport import recorded_session

ADELE = "CN=Adele Vance,OU=Sales,DC=contoso,DC=example"
KIOSK = "CN=Kiosk 07,OU=Kiosks,DC=contoso,DC=example"
CONTOSO_SP = "6a2d9e41-7b3c-4f58-a1e6-0c9b8d7f2e35"
HASH_JOB = "AD2AADPasswordHash.fd1c9b9e8077402c8bc03a7186c8f976"
RULE = "0f4b7d2e-9a61-4c38-b5e0-e7c3a9d1f248"  # the AD-to-Entra rule of the contoso.example job's schema


class SpySession(requests.Session):
    """A real requests.Session that notes every request it sends: (method, path, parsed JSON body)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str, Any]] = []

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        data = kwargs.get("data")
        path = str(url).split("://", 1)[1].split("/", 1)[1].split("?", 1)[0]
        self.sent.append((str(method), "/" + path, json.loads(data) if data else None))
        return super().request(method, url, *args, **kwargs)

    def posts(self) -> list[tuple[str, Any]]:
        return [(path, body) for method, path, body in self.sent if method in ("POST", "PUT", "PATCH")]


@contextlib.contextmanager
def replaying(path: Path | str = DEMO) -> Iterator[tuple[GraphClient, SpySession]]:
    spy = SpySession()
    with spy, GraphClient(StaticTokenProvider(), session=spy, transport=GraphCassette(path)) as client:
        yield client, spy


@pytest.fixture
def cassette(tmp_path: Path) -> Callable[[list[dict[str, Any]]], Path]:
    """Factory: an authored Graph cassette file from interactions in the demo sources' format."""

    def write(interactions: list[dict[str, Any]]) -> Path:
        path = tmp_path / f"case{len(list(tmp_path.iterdir()))}.yaml"
        source = {"origin": "synthetic", "description": "test case", "interactions": interactions}
        path.write_text(author_graph_cassette(source), encoding="utf-8")
        return path

    return write


def sp_list(template: str, *sps: Mapping[str, Any]) -> dict[str, Any]:
    query = {"$filter": f"applicationTemplateId eq '{template}'", "$select": graph._SP_FIELDS}
    return {
        "request": {"method": "GET", "path": "/servicePrincipals", "query": query},
        "response": {"json": {"value": list(sps)}},
    }


def jobs_of(sp: str, *jobs: Mapping[str, Any]) -> dict[str, Any]:
    path = f"/servicePrincipals/{sp}/synchronization/jobs"
    return {"request": {"method": "GET", "path": path}, "response": {"json": {"value": list(jobs)}}}


# -- the same jobs, field by field, as AADCloudSyncTools reads them ------------------------------------


def test_status_schedule_settings_and_jobs_match_the_psrp_backend_field_by_field() -> None:
    with recorded_session(DEMO_FILE, retry=RetryPolicy(attempts=1)) as session:
        psrp = [
            cs.get_job_status(session),
            cs.get_job(session),
            cs.get_job_schedule(session),
            cs.get_job_settings(session),
        ]
    with replaying() as (client, _):
        status = graph.get_job_status(client)
    results = []
    for read in (graph.get_job, graph.get_job_schedule, graph.get_job_settings):
        with replaying() as (client, _):
            results.append(read(client))

    assert [job.id for job in status.jobs] == [HEALTHY, QUARANTINED]
    assert status.quarantined[0].quarantine is not None
    assert status.quarantined[0].quarantine.reason == "IngestionInterrupted"
    for via_graph, via_psrp in zip([status, *results], psrp, strict=True):
        assert via_graph.model_dump(mode="json") == via_psrp.model_dump(mode="json")


def test_the_quarantined_job_has_its_reason_error_and_runs() -> None:
    with replaying() as (client, spy):
        job = graph.get_job_status(client, job_id=QUARANTINED).jobs[0]

    assert (job.code, job.is_quarantined, job.count_successive_complete_failures) == ("Quarantine", True, 3)
    assert job.quarantine is not None and job.quarantine.error is not None
    assert (job.quarantine.reason, job.quarantine.error.code) == (
        "IngestionInterrupted",
        "HybridIdentityServiceNoActiveAgents",
    )
    assert job.quarantine.next_attempt == dt.datetime(2026, 11, 25, 18, 2, 11, 553201, tzinfo=dt.UTC)
    assert job.last_run is not None and job.last_run.error is not None and job.last_run.state == "Failed"
    assert job.last_successful_run is not None and job.last_successful_run.time_began is None  # 0001-01-01: never
    assert job.synchronized_counts == {"Group": 8, "User": 57}
    # Found as the module finds it: the Cloud Sync service principals, then their job lists.
    assert [path for _, path, _ in spy.sent] == [
        "/v1.0/servicePrincipals",
        f"/v1.0/servicePrincipals/{CONTOSO_SP}/synchronization/jobs",
        "/v1.0/servicePrincipals/b7e13c52-8d4a-4e69-92f7-1d0c9a8e3f46/synchronization/jobs",
    ]


def test_an_unknown_job_or_two_selectors_are_refused() -> None:
    bogus = "AD2AADProvisioning.00000000000000000000000000000000.00000000-0000-0000-0000-000000000000"
    with (
        replaying() as (client, _),
        pytest.raises(ObjectNotFoundError, match=f"Synchronization Job Id '{bogus}' not found"),
    ):
        graph.get_job_status(client, job_id=bogus)
    with replaying() as (client, spy), pytest.raises(InputError, match="not both"):
        graph.get_job(client, job_id=HEALTHY, template="AD2AADProvisioning")
    assert spy.sent == []


def test_both_backends_agree_on_the_template_of_documented_shape_jobs() -> None:
    # The demo's jobs have the documented Cloud Sync shape: id AD2AADProvisioning.<...>, templateId
    # ADDCInPassthrough. --template is the id's prefix on both backends; the PSRP backend never sends the
    # module's -JobTemplate (which compares templateId): its replay holds no such episode and would fail.
    picked = {}
    for template in ("AD2AADProvisioning", "ad2aadprovisioning", "AD2AADPasswordHash"):
        with recorded_session(DEMO_FILE, retry=RetryPolicy(attempts=1)) as session:
            via_psrp = cs.get_job(session, template=template)
        with replaying() as (client, _):
            via_graph = graph.get_job(client, template=template)
        assert via_graph.model_dump(mode="json") == via_psrp.model_dump(mode="json")
        picked[template] = [(j.id, j.template_id, j.reported_template_id) for j in via_graph.jobs]

    assert (
        picked["AD2AADProvisioning"]
        == picked["ad2aadprovisioning"]
        == [
            (HEALTHY, "AD2AADProvisioning", "ADDCInPassthrough"),
            (QUARANTINED, "AD2AADProvisioning", "ADDCInPassthrough"),
        ]
    )
    assert picked["AD2AADPasswordHash"] == []


DOCUMENTED_JOB = "AD2AADProvisioning.fc96887f36da47508c935c28a0c0b6da"
DOCUMENTED_SP = "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb"


def test_a_paused_job_keeps_its_quarantine_on_both_backends(cassette: Any) -> None:
    # recorded_sessions/cases/cloudsync-documented-job.yaml and this cassette hold the same job, shaped like
    # Microsoft's documented ones: code Paused with a quarantine (synchronizationjob-get's example).
    error = {"code": "AzureActiveDirectoryInvalidCredential", "tenantActionable": True,
             "message": "The Microsoft Entra ID credentials of the configuration are invalid."}  # fmt: skip
    status = {
        "countSuccessiveCompleteFailures": 0, "escrowsPruned": False, "code": "Paused", "lastExecution": None,
        "lastSuccessfulExecution": None, "lastSuccessfulExecutionWithExports": None, "progress": [],
        "steadyStateFirstAchievedTime": "0001-01-01T00:00:00Z", "steadyStateLastAchievedTime": "0001-01-01T00:00:00Z",
        "quarantine": {"currentBegan": "", "nextAttempt": "", "reason": "", "seriesBegan": "", "seriesCount": 2,
                       "error": error},
        "troubleshootingUrl": None, "synchronizedEntryCountByType": [],
    }  # fmt: skip
    job = {"id": DOCUMENTED_JOB, "templateId": "ADDCInPassthrough", "status": status,
           "schedule": {"expiration": None, "interval": "PT40M", "state": "Disabled"}}  # fmt: skip
    path = cassette([
        sp_list(graph.CLOUD_SYNC_TEMPLATE, {"id": DOCUMENTED_SP, "displayName": "contoso.com"}),
        jobs_of(DOCUMENTED_SP, job),
        sp_list(graph.EXCHANGE_WRITEBACK_TEMPLATE),
    ])  # fmt: skip
    with replaying(path) as (client, _):
        via_graph = graph.get_job_status(client, template="AD2AADProvisioning")
    with recorded_session(CASES / "cloudsync-documented-job.yaml", retry=RetryPolicy(attempts=1)) as session:
        via_psrp = cs.get_job_status(session, template="AD2AADProvisioning")

    [paused] = via_graph.jobs
    assert paused.code == "Paused" and paused.quarantine is not None and paused.is_quarantined
    assert (paused.quarantine.series_count, paused.quarantine.reason, paused.quarantine.current_began) == (
        2,
        None,
        None,
    )
    assert paused.quarantine.error is not None
    assert (paused.quarantine.error.code, paused.quarantine.error.tenant_actionable) == (error["code"], True)
    assert via_graph.quarantined == (paused,)
    assert via_graph.model_dump(mode="json") == via_psrp.model_dump(mode="json")


def test_templates_come_from_the_job_id_and_writeback_service_principals_are_found(cassette: Any) -> None:
    writeback = (
        "Entra2ADExchangeOnlineAttributeWriteback.5e0c2a7d9b1f4e38a6c4d2b8f0e1a937.7d3f1b6a-4c2e-4a9d-8b5f-0e6c1d7a2b94"
    )
    path = cassette([
        sp_list(graph.CLOUD_SYNC_TEMPLATE, {"id": "sp-1", "displayName": "contoso.example"}),
        jobs_of("sp-1", {"id": HASH_JOB, "templateId": "ADDCInPassthrough"}),
        sp_list(graph.EXCHANGE_WRITEBACK_TEMPLATE, {"id": "sp-2", "displayName": "EXO to AD"}),
        jobs_of("sp-2", {"id": writeback, "templateId": "Entra2ADExchangeOnlineAttributeWriteback"}),
    ])  # fmt: skip
    with replaying(path) as (client, _):
        jobs = graph.get_job(client).jobs
    with replaying(path) as (client, _):
        hashes = graph.get_job(client, template="ad2aadpasswordhash").jobs

    assert [(j.template_id, j.reported_template_id, j.service_principal_id) for j in jobs] == [
        ("AD2AADPasswordHash", "ADDCInPassthrough", "sp-1"),  # the id's prefix, not templateId
        ("Entra2ADExchangeOnlineAttributeWriteback", "Entra2ADExchangeOnlineAttributeWriteback", "sp-2"),
    ]
    assert [j.id for j in hashes] == [HASH_JOB]


@pytest.mark.parametrize(
    ("interval", "expected"),
    [("PT2M", dt.timedelta(minutes=2)), ("PT40M", dt.timedelta(minutes=40)), ("P10675199DT2H48M5.4775807S", None),
     ("", None), ("soon", None)],
)  # fmt: skip
def test_the_interval_is_a_duration_and_timespan_max_is_none(interval: str, expected: dt.timedelta | None) -> None:
    schedule = JobSchedule.from_graph({"id": HEALTHY, "schedule": {"interval": interval, "state": "Active"}})

    assert schedule.interval == expected
    assert schedule.interval_text == (interval or None if expected is None else None)


# -- job control -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "sent"),
    [
        ("Full", "Full"),
        ("Watermark", "Watermark"),
        ("Escrows", "Escrows"),
        ("quarantinestate", "QuarantineState"),
        (["ForceDeletes"], "ForceDeletes"),
        ("QuarantineState, Escrows,Watermark", "Watermark, Escrows, QuarantineState"),  # the portal's restart
    ],
    ids=lambda v: v if isinstance(v, str) else "+".join(v),
)
def test_restart_sends_the_reset_scope_and_reads_the_job_back(scope: Any, sent: str) -> None:
    with replaying() as (client, spy):
        change = graph.restart_job(
            client, job_id=QUARANTINED, scope=scope, confirm_force_deletes=True, wait_for="active"
        )

    assert spy.posts() == [
        (f"/v1.0/servicePrincipals/b7e13c52-8d4a-4e69-92f7-1d0c9a8e3f46/synchronization/jobs/{QUARANTINED}/restart",
         {"criteria": {"resetScope": sent}})
    ]  # fmt: skip
    assert change.before is not None and change.before.code == "Quarantine"
    assert (change.changed, change.after.code, change.after.quarantine, change.reached) == (True, "Active", None, True)
    assert f"resetScope '{sent}'" in (change.note or "")
    assert change.reset_scope == sent


def test_force_deletes_needs_an_explicit_confirmation() -> None:
    with replaying() as (client, spy), pytest.raises(InputError, match="confirm"):
        graph.restart_job(client, job_id=QUARANTINED, scope="ForceDeletes")
    assert spy.sent == []
    with replaying() as (client, spy):
        preview = graph.restart_job(client, job_id=QUARANTINED, scope="ForceDeletes", dry_run=True)
    assert spy.posts() == []
    assert (preview.dry_run, preview.changed, preview.would_change) == (True, False, True)
    assert (preview.before.code, preview.after.code) == ("Quarantine", "Active")  # predicted
    assert preview.after.quarantine == preview.before.quarantine  # ForceDeletes alone does not reset it
    assert "ForceDeletes" in (preview.note or "")


@pytest.mark.parametrize(
    ("scope", "words"),
    [
        ("None", "start it instead"),
        ("ConnectorDataStore", "Microsoft Support"),
        ("Full, Watermark", "Full alone"),
        ("Watermark, Everything", "unknown reset scope 'Everything'"),
    ],
    ids=str,
)
def test_refused_reset_scopes_send_nothing(scope: Any, words: str) -> None:
    with replaying() as (client, spy), pytest.raises(InputError, match=words):
        graph.restart_job(client, job_id=QUARANTINED, scope=scope)
    assert spy.sent == []


PORTAL_NOTE = "an empty resetScope (the admin center's Restart provisioning: about QuarantineState, Watermark, Escrows)"


@pytest.mark.parametrize("scope", ["", " , ", []], ids=repr)
def test_an_empty_scope_is_the_portals_restart_provisioning(scope: Any) -> None:
    # Graph: "Leaving this property empty emulates the Restart provisioning option in the Microsoft Entra
    # admin center"; psbridge leaves resetScope out of the criteria.
    with replaying() as (client, spy):
        change = graph.restart_job(client, job_id=QUARANTINED, scope=scope)

    assert spy.posts() == [
        (f"/v1.0/servicePrincipals/b7e13c52-8d4a-4e69-92f7-1d0c9a8e3f46/synchronization/jobs/{QUARANTINED}/restart",
         {"criteria": {}})
    ]  # fmt: skip
    assert (change.changed, change.reset_scope, change.after.code) == (True, "", "Active")
    assert change.note == f"sent POST .../jobs/{QUARANTINED}/restart with {PORTAL_NOTE}"


def test_a_dry_run_of_the_portals_restart_says_what_it_would_send_and_sends_nothing() -> None:
    with replaying() as (client, spy):
        preview = graph.restart_job(client, job_id=QUARANTINED, scope=graph.PORTAL_RESTART, dry_run=True)

    assert spy.posts() == []
    assert (preview.dry_run, preview.changed, preview.would_change) == (True, False, True)
    assert (preview.reset_scope, preview.before.code, preview.after.code) == ("", "Quarantine", "Active")
    assert preview.note == f"dry run: POST .../jobs/{QUARANTINED}/restart with {PORTAL_NOTE} would be sent"


def test_reset_scopes_combine_in_a_fixed_order() -> None:
    assert graph.reset_scope(["forcedeletes", "Full"]) == "Full, ForceDeletes"
    assert graph.reset_scope("Escrows,escrows, ForceDeletes") == "Escrows, ForceDeletes"


def test_pause_then_start() -> None:
    with replaying() as (client, spy):
        paused = graph.suspend_job(client, job_id=HEALTHY, wait_for="Paused", deadline_s=0)
    pause = spy.posts()
    with replaying() as (client, spy):
        started = graph.resume_job(client, job_id=QUARANTINED)
    start = spy.posts()

    assert pause == [(f"/v1.0/servicePrincipals/{CONTOSO_SP}/synchronization/jobs/{HEALTHY}/pause", None)]
    assert (paused.before.code if paused.before else None, paused.after.code, paused.reached) == (
        "Active",
        "Paused",
        True,
    )
    assert [path.rsplit("/", 1)[-1] for path, _ in start] == ["start"]
    assert (started.changed, started.after.code, started.after.is_quarantined) == (True, "Active", False)


def test_start_is_sent_only_to_a_paused_or_quarantined_job_and_dry_runs_send_nothing() -> None:
    with replaying() as (client, spy):
        running = graph.resume_job(client, job_id=HEALTHY)  # Active: never started again
    with replaying() as (client, spy2):
        preview = graph.suspend_job(client, job_id=HEALTHY, dry_run=True)

    assert (running.changed, running.after.code, spy.posts()) == (False, "Active", [])
    assert "was not sent: the job is Active" in (running.note or "")
    assert (preview.changed, preview.would_change, preview.dry_run, spy2.posts()) == (False, True, True, [])
    assert (preview.before.code, preview.after.code) == ("Active", "Paused")  # the predicted state


def test_a_wait_past_its_deadline_says_so() -> None:
    with replaying() as (client, _):
        change = graph.resume_job(client, job_id=QUARANTINED, wait_for="Paused", deadline_s=0)

    assert (change.reached, change.ok, change.after.code) == (False, False, "Active")


# -- provision on demand ---------------------------------------------------------------------------


def test_provision_on_demand_of_a_user_in_scope() -> None:
    with replaying() as (client, spy):
        result = graph.provision_on_demand(client, job_id=HEALTHY, distinguished_name=f"  {ADELE} ")

    assert spy.posts() == [
        (f"/v1.0/servicePrincipals/{CONTOSO_SP}/synchronization/jobs/{HEALTHY}/provisionOnDemand",
         {"parameters": [{"ruleId": RULE, "subjects": [{"objectId": ADELE, "objectTypeName": "user"}]}]})
    ]  # fmt: skip
    assert (result.result, result.succeeded, result.rule_id, result.object_id) == ("Success", True, RULE, ADELE)
    assert result.stages == {"import": "Success", "scoping": "Success", "matching": None, "action": "Update",
                             "export": "Success"}  # fmt: skip
    assert [s.name for s in result.steps] == ["EntryImportAdd", "EntryImport", "EntrySynchronizationScoping",
                                              "EntryExportUpdate"]  # fmt: skip
    scoping = result.step("scoping")
    assert scoping is not None and scoping.details["Scoping filter evaluation passed"] == "True"
    assert result.steps[0].details["department"] == "Sales"
    assert result.step("Export") is not None and result.step("Export").timestamp == dt.datetime(  # type: ignore[union-attr]
        2026, 11, 25, 12, 20, 15, 901827, tzinfo=dt.UTC
    )
    assert ("UserPrincipalName", "adele.vance@contoso.example") in [
        (p.display_name, p.new_value) for p in result.modified_properties
    ]
    assert result.status_info is not None and result.status_info.status == "Success"


def test_provision_on_demand_of_a_user_out_of_scope_is_skipped() -> None:
    with replaying() as (client, _):
        result = graph.provision_on_demand(client, job_id=HEALTHY, distinguished_name=KIOSK, object_type="user")

    assert (result.result, result.succeeded, result.action) == ("Skipped", False, "Other")
    assert result.stages == {"import": "Success", "scoping": "Skipped", "matching": None, "action": "Other",
                             "export": None}  # fmt: skip
    scoping = result.step("Scoping")
    assert scoping is not None and scoping.details["Scoping filter evaluation passed"] == "False"
    assert result.status_info is not None and (result.status_info.status, result.status_info.error_code) == (
        "Skipped",
        None,
    )
    assert result.target_identity == {"id": None, "type": "User"}


def test_a_provision_dry_run_resolves_the_rule_and_sends_nothing() -> None:
    with replaying() as (client, spy):
        result = graph.provision_on_demand(client, job_id=HEALTHY, distinguished_name=ADELE, dry_run=True)

    assert (result.dry_run, result.rule_id, result.result, result.steps) == (True, RULE, None, ())
    assert spy.posts() == []
    assert spy.sent[-1][1].endswith(f"/jobs/{HEALTHY}/schema")


@pytest.mark.parametrize(
    "dn",
    ["Adele Vance", "adele.vance@contoso.example", "CN=Adele Vance,OU=Sales", "CN=Adele,,DC=contoso",
     "CN=Adele\nVance,DC=contoso", "CN=a;b,DC=contoso", "=Adele,DC=contoso", "CN=,DC=contoso", r"CN=a\,DC=contoso", ""],
    ids=repr,
)  # fmt: skip
def test_a_malformed_distinguished_name_is_refused_before_anything_is_sent(dn: str) -> None:
    with replaying() as (client, spy), pytest.raises(InputError, match="distinguished name"):
        graph.provision_on_demand(client, job_id=HEALTHY, distinguished_name=dn)
    assert spy.sent == []


@pytest.mark.parametrize(
    "dn",
    [ADELE, r"CN=Vance\, Adele,OU=Sales,DC=contoso,DC=example", "cn=kiosk07+sn=07,ou=Kiosks,dc=contoso,dc=example",
     r"CN=R\23D Team,DC=contoso,DC=example"],
)  # fmt: skip
def test_well_formed_distinguished_names_pass(dn: str) -> None:
    assert graph.check_distinguished_name(dn) == dn


def test_the_rule_is_found_by_directory_name_on_a_documented_schema() -> None:
    # Documented schemas name directories only by name: Cloud Sync's rule reads from "Active Directory"
    # to "Azure Active Directory"; synchronizationschema-get's example rule goes from Entra to Salesforce.
    rule = {"id": "6c409270-f78a-4bc6-af23-7cf3ab6482fe", "name": "AD2AADProvisioning", "priority": 1,
            "sourceDirectoryName": "Active Directory", "targetDirectoryName": "Azure Active Directory",
            "objectMappings": [{"sourceObjectName": "user", "targetObjectName": "User"}]}  # fmt: skip
    cloud_sync = {"directories": [{"name": "Active Directory"}, {"name": "Azure Active Directory"}],
                  "synchronizationRules": [rule]}  # fmt: skip
    outbound = {"directories": [{"name": "Azure Active Directory"}, {"name": "Salesforce"}],
                "synchronizationRules": [{"id": "out", "name": "USER_TO_USER", "sourceDirectoryName":
                                          "Azure Active Directory", "targetDirectoryName": "Salesforce"}]}  # fmt: skip

    assert graph.ad_to_entra_rule(cloud_sync, "user") == rule["id"]
    assert graph.ad_to_entra_rule({"synchronizationRules": [rule]}, "user") == rule["id"]  # no directories at all
    with pytest.raises(InputError, match=r"no single AD-to-Entra rule for user objects \(none\)"):
        graph.ad_to_entra_rule(outbound, "user")


def test_the_rule_is_the_schemas_ad_to_entra_rule_for_the_object_type() -> None:
    entra, ad = "Azure Active Directory", "contoso.example"
    schema = {
        "directories": [{"id": "5a0e2c9b", "name": ad}, {"id": "AzureActiveDirectory", "name": entra}],
        "synchronizationRules": [
            {"id": "writeback", "sourceDirectoryName": entra, "targetDirectoryName": ad, "objectMappings": []},
            {"id": "users", "sourceDirectoryName": ad, "targetDirectoryName": entra,
             "objectMappings": [{"sourceObjectName": "user"}, {"sourceObjectName": "inetOrgPerson"}]},
            {"id": "groups", "sourceDirectoryName": ad, "targetDirectoryName": entra,
             "objectMappings": [{"sourceObjectName": "group"}]},
        ],
    }  # fmt: skip

    assert (graph.ad_to_entra_rule(schema, "user"), graph.ad_to_entra_rule(schema, "group")) == ("users", "groups")
    assert (
        graph.ad_to_entra_rule({**schema, "synchronizationRules": schema["synchronizationRules"][:2]}, "group")
        == "users"
    )
    with pytest.raises(InputError, match=r"no single AD-to-Entra rule for user objects \(none\)"):
        graph.ad_to_entra_rule({**schema, "synchronizationRules": schema["synchronizationRules"][:1]}, "user")


# -- the deletion threshold ------------------------------------------------------------------------


def test_the_threshold_is_read_from_sync_notification_settings() -> None:
    with replaying() as (client, spy):
        threshold = graph.get_deletion_threshold(client, job_id=HEALTHY)

    assert spy.sent[-1][:2] == ("GET", f"/v1.0/servicePrincipals/{CONTOSO_SP}/synchronization/secrets")
    assert (threshold.threshold_value, threshold.threshold_enabled, threshold.configured) == (500, True, True)
    assert (threshold.notify_on_quarantine, threshold.recipients) == (True, "admin@contoso.example")
    assert threshold.secret_keys == ("AppKey", "Domain", "SyncNotificationSettings")


def test_a_threshold_change_is_a_read_merge_write_that_keeps_every_other_key() -> None:
    with replaying() as (client, spy):
        change = graph.set_deletion_threshold(client, job_id=HEALTHY, value=250)

    [(path, body)] = spy.posts()
    assert [m for m, p, _ in spy.sent if p == path] == ["GET", "PUT", "GET"]  # read, write every key, read back
    assert [pair["key"] for pair in body["value"]] == ["AppKey", "Domain", "SyncNotificationSettings"]
    assert body["value"][:2] == [
        {"key": "AppKey", "value": '{"appKeyScenario":"AD2AADPasswordHash"}'},
        {"key": "Domain", "value": '{"domain":"contoso.example"}'},
    ]
    assert json.loads(body["value"][2]["value"]) == {
        "Enabled": True,
        "Recipients": "admin@contoso.example",
        "DeleteThresholdEnabled": True,
        "DeleteThresholdValue": 250,
    }
    assert (change.changed, change.dry_run, change.before.threshold_value, change.after.threshold_value) == (
        True,
        False,
        500,
        250,
    )
    assert change.after.secret_keys == change.before.secret_keys


def test_a_threshold_already_set_or_a_dry_run_writes_nothing() -> None:
    with replaying() as (client, spy):
        same = graph.set_deletion_threshold(client, job_id=HEALTHY, value=500, enabled=True)
    with replaying() as (client, spy2):
        preview = graph.set_deletion_threshold(client, job_id=HEALTHY, enabled=False, dry_run=True)

    assert (same.changed, spy.posts()) == (False, [])
    assert (preview.changed, preview.would_change, preview.dry_run, spy2.posts()) == (False, True, True, [])
    assert (preview.after.threshold_enabled, preview.after.effective_enabled, preview.after.threshold_value) == (
        False,
        False,
        500,
    )


@pytest.mark.parametrize(("value", "enabled"), [(None, None), (0, None), (-5, True)])
def test_a_threshold_needs_a_change_and_a_positive_value(value: int | None, enabled: bool | None) -> None:
    with replaying() as (client, spy), pytest.raises(InputError):
        graph.set_deletion_threshold(client, job_id=HEALTHY, value=value, enabled=enabled)
    assert spy.sent == []


def test_merging_never_drops_or_alters_another_key() -> None:
    # A setting psbridge does not know ("Custom") must survive as well as the documented ones.
    notify = '{"Recipients":"ops@x.example","Custom":[1,2],"DeleteThresholdValue":10}'
    pairs = [
        {"key": "AppKey", "value": '{"appKeyScenario":"AD2AADProvisioning"}'},
        {"key": "SyncNotificationSettings", "value": notify},
        {"key": "Domain", "value": '{"domain":"fabrikam.example"}', "extra": "kept"},
    ]  # fmt: skip
    merged = graph.merge_threshold(pairs, value=40, enabled=False)
    missing = graph.merge_threshold(pairs[:1], value=40)

    assert [p["key"] for p in merged] == [p["key"] for p in pairs]
    assert (merged[0], merged[2]) == (pairs[0], pairs[2])
    assert json.loads(merged[1]["value"]) == {"Recipients": "ops@x.example", "Custom": [1, 2],
                                              "DeleteThresholdValue": 40, "DeleteThresholdEnabled": False}  # fmt: skip
    assert pairs[1]["value"].endswith('"DeleteThresholdValue":10}')  # the input is left alone
    assert missing == [pairs[0], {"key": "SyncNotificationSettings", "value": '{"DeleteThresholdValue":40}'}]
    assert graph.merge_threshold(merged, value=40, enabled=False) == merged  # nothing left to change


# -- tenant facts ----------------------------------------------------------------------------------


def test_tenant_facts_app_only_say_why_connect_sync_settings_are_missing() -> None:
    with replaying() as (client, _):
        facts = graph.get_tenant_sync(client)

    assert (facts.tenant_id, facts.on_premises_sync_enabled, facts.sync_enabled) == (
        "4f6b2f9c-3c1e-4b8a-9d2e-7a1c5e0b9d13", True, True,
    )  # fmt: skip
    assert facts.on_premises_last_sync == dt.datetime(2026, 11, 25, 11, 58, 3, tzinfo=dt.UTC)
    assert (facts.deletion_prevention_type, facts.deletion_prevention_enabled, facts.sync_client_version) == (
        None,
        None,
        None,
    )
    assert facts.on_premises_synchronization_error is not None
    assert "403 Authorization_RequestDenied" in facts.on_premises_synchronization_error
    assert "Global Administrator" in facts.on_premises_synchronization_error


def test_tenant_facts_with_a_token_that_may_read_connect_sync_settings(cassette: Any) -> None:
    tenant = "4f6b2f9c-3c1e-4b8a-9d2e-7a1c5e0b9d13"
    path = cassette([
        {"request": {"method": "GET", "path": "/organization", "query": {"$select": graph._ORG_FIELDS}},
         "response": {"json": {"value": [{"id": tenant, "displayName": "Contoso", "onPremisesSyncEnabled": None,
                                          "onPremisesLastSyncDateTime": None}]}}},
        {"request": {"method": "GET", "api": "beta", "path": f"/directory/onPremisesSynchronization/{tenant}"},
         "response": {"json": {"id": tenant, "configuration": {
             "accidentalDeletionPrevention": {"synchronizationPreventionType": "enabledForCount",
                                              "alertThreshold": 500},
             "synchronizationClientVersion": "2.5.190.0"}}}},
    ])  # fmt: skip
    with replaying(path) as (client, _):
        facts = graph.get_tenant_sync(client)

    assert (facts.on_premises_sync_enabled, facts.sync_enabled, facts.on_premises_last_sync) == (None, False, None)
    assert (facts.deletion_prevention_type, facts.deletion_alert_threshold, facts.deletion_prevention_enabled) == (
        "enabledForCount", 500, True,
    )  # fmt: skip
    assert (facts.sync_client_version, facts.on_premises_synchronization_error) == ("2.5.190.0", None)
