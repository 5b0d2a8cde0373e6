"""The bulk rollout over REST against the simulated tenant (tests/simulated_exo_rest): its tenant and clients.

The measured run against the write budget is scripts/rollout_budget.py's (`--via rest`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulated_exo_rest import ExoRestTenant, Mailbox

from psbridge.exchange.rest.client import ExoRestClient
from psbridge.graph.auth import StaticTokenProvider
from psbridge.retry import RetryPolicy

TENANT_ID = "2f1c4e5a-7b8d-4c9e-a0f1-b2c3d4e5f6a7"
TOKEN = "rest-rollout-token"
QUICK_RETRY = RetryPolicy(attempts=5, total_s=60.0, initial_s=0.05, max_wait_s=1.0, jitter_s=0.01)


def identities(count: int) -> list[str]:
    return [f"user{n:05d}@contoso.example" for n in range(1, count + 1)]


def tenant_of(names: list[str], **kwargs: Any) -> ExoRestTenant:
    return ExoRestTenant([Mailbox(name) for name in names], token=TOKEN, tenant_id=TENANT_ID, **kwargs)


def client_of(tenant: ExoRestTenant, **kwargs: Any) -> ExoRestClient:
    """A client of the tenant (its own requests session, its own connection-id)."""
    kwargs.setdefault("retry", QUICK_RETRY)
    return ExoRestClient(StaticTokenProvider(TOKEN), tenant_id=TENANT_ID, transport=tenant, **kwargs)


def clients_of(tenant: ExoRestTenant, **kwargs: Any) -> Callable[[], ExoRestClient]:
    return lambda: client_of(tenant, **kwargs)


def written(tenant: ExoRestTenant) -> list[str]:
    """The identities of every Set-Mailbox the tenant ran, in order, casefolded."""
    return [str(e["parameters"]["Identity"]).casefold() for e in tenant.log if e["cmdlet"] == "Set-Mailbox"]
