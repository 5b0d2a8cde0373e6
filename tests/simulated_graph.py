"""A simulated Cloud Sync tenant over Microsoft Graph: answers computed from state, as a requests adapter.

A Graph cassette serves each answer once, in order; a migration that creates jobs, rewrites a schema
and starts jobs asks the same URLs again and must see what it changed. `CloudSyncTenant` holds the
tenant's Cloud Sync state (service principals by application template, their jobs, secrets and job
schemas, what provision on demand answers per DN) and answers the requests psbridge's Graph steps send
(`psbridge.cloudsync.configure`, `psbridge.cloudsync.graph`), the way Graph documents them
(docs/cloudsync.md, "Migration steps over Graph"; the shapes are those of the synthetic sources under
recorded_sessions/sources/runbooks/migration-configure/ and demo/graph/provisioning.yaml). Every
request and its answer is kept in `log`, in the declarative form `scripts/author_recording.py` reads, so
scripts/make_migration_scenarios.py turns a run into a cassette source.

A started job's next read shows it steady (`steady`: Active, the run's counts, steady-state times
`ran_at`); a paused one shows Paused. Test machinery, not shipped: the tests import it from their
directory, and the scenario script puts that directory on `sys.path`.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

GRAPH = "https://graph.microsoft.com"
SP_FIELDS = "id,appId,displayName,applicationTemplateId,accountEnabled"
NEVER = "0001-01-01T00:00:00Z"


def paused_status() -> dict[str, Any]:
    """A job's status before its first run (synchronization-synchronizationjob-post: Paused, never run)."""
    return {
        "code": "Paused", "countSuccessiveCompleteFailures": 0, "escrowsPruned": False, "lastExecution": None,
        "lastSuccessfulExecution": None, "lastSuccessfulExecutionWithExports": None, "progress": [],
        "quarantine": None, "steadyStateFirstAchievedTime": NEVER, "steadyStateLastAchievedTime": NEVER,
        "synchronizedEntryCountByType": [], "troubleshootingUrl": None,
    }  # fmt: skip


def execution(activity: str, began: str, ended: str, count: int) -> dict[str, Any]:
    return {
        "activityIdentifier": activity, "countEntitled": count, "countEntitledForProvisioning": 0, "countEscrowed": 0,
        "countEscrowedRaw": 0, "countExported": count, "countExports": count, "countImported": count,
        "countImportedDeltas": 0, "countImportedReferenceDeltas": 0, "error": None, "state": "Succeeded",
        "timeBegan": began, "timeEnded": ended,
    }  # fmt: skip


@dataclasses.dataclass
class Steady:
    """What a started job shows at its next read: its first run and the objects it synchronized."""

    began: str
    ended: str
    activity: str
    counts: Mapping[str, int]  # synchronizedEntryCountByType, e.g. {"user to User": 40}


@dataclasses.dataclass
class CloudSyncTenant(BaseAdapter):
    """The tenant: `sps` by application template id, `jobs` and `secrets` by service principal id,
    `schemas` by job id (a job created later gets `schema_template`), `pod` answers by DN."""

    sps: dict[str, list[dict[str, Any]]]
    jobs: dict[str, list[dict[str, Any]]]
    secrets: dict[str, list[dict[str, Any]]]
    schemas: dict[str, dict[str, Any]]
    schema_template: dict[str, Any]
    steady: dict[str, Steady]  # by job template id
    pod: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    parsed: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)  # parseExpression by expression
    new_job_ids: dict[str, str] = dataclasses.field(default_factory=dict)  # the id a created job gets, by template
    log: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    # -- the adapter --------------------------------------------------------------------------------------

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        url = urlsplit(str(request.url))
        api, _, path = url.path.lstrip("/").partition("/")
        query = dict(parse_qsl(url.query))
        raw = request.body.decode() if isinstance(request.body, bytes) else request.body
        body = json.loads(raw) if raw else None
        status, answer = self.answer(str(request.method), "/" + path, query, body)
        entry: dict[str, Any] = {"request": {"method": request.method, "path": "/" + path}}
        if api != "v1.0":
            entry["request"]["api"] = api
        if query:
            entry["request"]["query"] = query
        if body is not None:
            entry["request"]["body"] = body
        entry["response"] = {"status": status} | ({"json": answer} if answer is not None else {})
        self.log.append(copy.deepcopy(entry))
        response = requests.Response()
        response.status_code = status
        response.url = str(request.url)
        response.request = request
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json"} if answer is not None else {})
        response._content = b"" if answer is None else json.dumps(answer).encode()
        return response

    def close(self) -> None:
        pass

    # -- the routes ---------------------------------------------------------------------------------------

    def answer(self, method: str, path: str, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if parts[0] == "applicationTemplates":
            raise AssertionError("instantiating the template is not simulated: the scenarios' domains have one")
        if parts == ["servicePrincipals"] and method == "GET":
            template = query["$filter"].split("'")[1]
            return 200, {"@odata.context": f"{GRAPH}/v1.0/$metadata#servicePrincipals({SP_FIELDS})",
                         "value": copy.deepcopy(self.sps.get(template, []))}  # fmt: skip
        sp, rest = parts[1], parts[2:]
        if rest == ["synchronization", "secrets"]:
            if method == "PUT":
                self.secrets[sp] = copy.deepcopy(body["value"])
                return 204, None
            return 200, {"value": copy.deepcopy(self.secrets.get(sp, []))}
        if rest == ["synchronization", "jobs"]:
            if method == "POST":
                return 201, self.create_job(sp, body["templateId"])
            context = f"{GRAPH}/v1.0/$metadata#servicePrincipals('{sp}')/synchronization/jobs"
            return 200, {"@odata.context": context, "value": copy.deepcopy(self.jobs.get(sp, []))}
        job_id, action = rest[2], rest[3:]
        job = next(j for j in self.jobs[sp] if j["id"] == job_id)
        if not action:
            return 200, copy.deepcopy(job)
        if action == ["schema"]:
            if method == "PUT":
                self.schemas[job_id] = copy.deepcopy(body)
                return 204, None
            return 200, self.schema(sp, job_id)
        if action == ["schema", "parseExpression"]:
            return 200, copy.deepcopy(self.parsed[body["expression"]])
        if action == ["start"]:
            self.run(job)
            return 204, None
        if action == ["pause"]:
            job["status"]["code"] = "Paused"
            job["schedule"]["state"] = "Disabled"
            return 204, None
        if action == ["provisionOnDemand"]:
            subject = body["parameters"][0]["subjects"][0]["objectId"]
            return 200, copy.deepcopy(self.pod[subject])
        raise AssertionError(f"not simulated: {method} {path}")

    def create_job(self, sp: str, template: str) -> dict[str, Any]:
        job = {
            "id": self.new_job_ids[template], "templateId": template,
            "schedule": {"expiration": None, "interval": "PT40M", "state": "Disabled"}, "status": paused_status(),
            "synchronizationJobSettings": [{"name": "QuarantineTooManyDeletesThreshold", "value": "500"}],
        }  # fmt: skip
        self.jobs.setdefault(sp, []).append(job)
        return copy.deepcopy(job)

    def run(self, job: dict[str, Any]) -> None:
        """The job started: its next read shows its first run over and steady state reached."""
        ran = self.steady[job["templateId"]]
        done = execution(ran.activity, ran.began, ran.ended, sum(ran.counts.values()))
        job["schedule"]["state"] = "Active"
        job["status"] |= {
            "code": "Active", "lastExecution": done, "lastSuccessfulExecution": copy.deepcopy(done),
            "steadyStateFirstAchievedTime": ran.ended, "steadyStateLastAchievedTime": ran.ended,
            "synchronizedEntryCountByType": [{"key": k, "value": v} for k, v in ran.counts.items()],
        }  # fmt: skip

    def schema(self, sp: str, job_id: str) -> dict[str, Any]:
        schema = copy.deepcopy(self.schemas.setdefault(job_id, copy.deepcopy(self.schema_template)))
        context = f"{GRAPH}/v1.0/$metadata#servicePrincipals('{sp}')/synchronization/jobs('{job_id}')/schema/$entity"
        return {"@odata.context": context, **{k: v for k, v in schema.items() if not k.startswith("@odata.")}}

    def job(self, job_id: str) -> dict[str, Any]:
        return next(j for jobs in self.jobs.values() for j in jobs if j["id"] == job_id)

    def take_log(self) -> list[dict[str, Any]]:
        """The interactions logged so far, and a fresh log."""
        taken, self.log = self.log, []
        return taken
