"""What the Graph-side Cloud Sync modules share: the templates, finding a job and its service principal,
and the paths of a job and of a configuration's secrets (`psbridge.cloudsync.graph`,
`psbridge.cloudsync.configure`).

Paths follow the Graph synchronization API (docs/cloudsync.md, "Graph synchronization API"):
`/servicePrincipals/{id}/synchronization/jobs/{jobId}` and `/servicePrincipals/{id}/synchronization/secrets`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from psbridge.cloudsync.models import JobStatus, ServicePrincipal
from psbridge.errors import ObjectNotFoundError
from psbridge.graph.client import GraphClient, segment

# Application templates whose service principals hold Cloud Sync jobs: "Active Directory to Azure Active
# Directory Provisioning" (one service principal per configuration; its jobs are AD2AADProvisioning,
# AD2AADPasswordHash and AAD2ADExchangeHybridWriteback), and the EXO-to-AD attribute writeback preview
# [T: only a third-party source pairs that template with Entra2ADExchangeOnlineAttributeWriteback].
CLOUD_SYNC_TEMPLATE = "1a4721b3-e57f-4451-ae87-ef078703ec94"
EXCHANGE_WRITEBACK_TEMPLATE = "3b99513e-0cee-4291-aea8-84356239fb82"
APPLICATION_TEMPLATES = (CLOUD_SYNC_TEMPLATE, EXCHANGE_WRITEBACK_TEMPLATE)
SP_FIELDS = "id,appId,displayName,applicationTemplateId,accountEnabled"


def service_principals(client: GraphClient) -> Iterator[ServicePrincipal]:
    """The service principals of every Cloud Sync application template, lazily."""
    for template in APPLICATION_TEMPLATES:
        query = {"$filter": f"applicationTemplateId eq '{template}'", "$select": SP_FIELDS}
        for item in client.get_all("/servicePrincipals", params=query):
            yield ServicePrincipal.model_validate(item)


def list_jobs(client: GraphClient) -> Iterator[tuple[str, dict[str, Any]]]:
    """(service principal id, job) for every job of every Cloud Sync service principal, lazily."""
    for sp in service_principals(client):
        for job in client.get_all(f"/servicePrincipals/{segment(sp.id)}/synchronization/jobs"):
            yield sp.id, job


def locate_job(client: GraphClient, job_id: str) -> tuple[str, dict[str, Any]]:
    """The job and its service principal, found as the module finds them: through the jobs list."""
    found = next(((sp, job) for sp, job in list_jobs(client) if job.get("id") == job_id), None)
    if found is None:
        raise ObjectNotFoundError(f"Synchronization Job Id '{job_id}' not found.", target=client.target)
    return found


def read_status(client: GraphClient, sp: str, job_id: str) -> JobStatus:
    """The job's status, read now: GET .../jobs/{jobId}."""
    return JobStatus.from_graph(client.get(job_path(sp, job_id)))


def job_path(sp: str, job_id: str) -> str:
    return f"/servicePrincipals/{segment(sp)}/synchronization/jobs/{segment(job_id)}"


def secrets_path(sp: str) -> str:
    return f"/servicePrincipals/{segment(sp)}/synchronization/secrets"


def read_secrets(client: GraphClient, sp: str) -> list[dict[str, Any]]:
    """Every secret key/value pair of a configuration, in order (GET .../synchronization/secrets)."""
    return [dict(pair) for pair in client.get(secrets_path(sp)).get("value") or ()]


def compact_json(document: Mapping[str, Any]) -> str:
    """JSON without spaces, as secret values are written."""
    return json.dumps(document, separators=(",", ":"))
