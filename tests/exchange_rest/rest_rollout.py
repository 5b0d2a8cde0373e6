"""The bulk rollout over REST against the simulated tenant (tests/simulated_exo_rest): clients and a measured run.

`rest_rollout_budget()` is the REST twin of scripts/rollout_budget.py's `rollout_budget()`: N mailboxes (1,000
by default) switched by `rollout_cloud_managed` over ExoRestClients (`parallel` of them, one per worker) against
`ExoRestTenant` with the same write budget (`WriteBudget`, docs/exchange.md, The simulated write budget) and
`latency_s` slept per HTTP request, returning the same keys (`requests` counts HTTP requests to the tenant, each a
`$batch` of up to 10 cmdlets here) plus `cmdlets`. Every mailbox must be switched exactly once, else BenchError.
scripts/bench.py may import it with tests/exchange_rest and tests/ on `sys.path`.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simulated import WriteBudget
from simulated_exo_rest import ExoRestTenant, Mailbox

from psbridge.defaults import DEFAULT_BATCH_SIZE
from psbridge.exchange.rest import bulk as rest_bulk
from psbridge.exchange.rest.bulk import RateLimitPacing
from psbridge.exchange.rest.client import ExoRestClient
from psbridge.exchange.rollout import rollout_cloud_managed
from psbridge.graph.auth import StaticTokenProvider
from psbridge.retry import RetryPolicy

TENANT_ID = "2f1c4e5a-7b8d-4c9e-a0f1-b2c3d4e5f6a7"
TOKEN = "rest-rollout-token"
BENCH_BUDGET = WriteBudget(write_cost_s=0.03, max_writers=3)
QUICK_RETRY = RetryPolicy(attempts=5, total_s=60.0, initial_s=0.05, max_wait_s=1.0, jitter_s=0.01)


class BenchError(RuntimeError):
    """The rollout did not do what it must: every mailbox switched once."""


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


def rest_rollout_budget(
    mailboxes: int = 1000,
    latency_s: float = 0.03,
    *,
    budget: WriteBudget = BENCH_BUDGET,
    parallel: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    pace_s: float = 0.0,
    rate_limits: RateLimitPacing | None = None,
) -> dict[str, Any]:
    """Run the rollout over REST against the write budget and measure it (see the module doc). `parallel` None:
    the budget's cap; `pace_s`: where the pace starts (0: the budget is found from the micro-delay warnings);
    `rate_limits`: the rate-limit header rule for this run (None: psbridge's default; `RateLimitPacing(below=0)`
    turns it off; the tenant writes Rate-Limit-Reset in whole seconds, coarse beside a scaled-down write cost)."""
    saved = rest_bulk.RATE_LIMIT_PACING
    rest_bulk.RATE_LIMIT_PACING = rate_limits or saved
    try:
        return _measure(mailboxes, latency_s, budget, parallel, batch_size, pace_s)
    finally:
        rest_bulk.RATE_LIMIT_PACING = saved


def _measure(
    mailboxes: int, latency_s: float, budget: WriteBudget, parallel: int | None, batch_size: int, pace_s: float
) -> dict[str, Any]:
    names = identities(mailboxes)
    tenant = tenant_of(names, budget=budget, latency_s=latency_s)
    count = parallel or budget.max_writers
    with tempfile.TemporaryDirectory() as workdir, client_of(tenant) as client:
        started = time.perf_counter()
        report = rollout_cloud_managed(
            client, identities=names, journal=Path(workdir) / "journal.jsonl", batch_size=batch_size, pace_s=pace_s,
            parallel=count, sessions=clients_of(tenant) if count > 1 else None,
            retry=RetryPolicy(attempts=4, total_s=120.0, initial_s=0.1, max_wait_s=1.0, jitter_s=0.02),
        )  # fmt: skip
        wall = time.perf_counter() - started
    writes = tenant.counters.writes["Set-Mailbox"]
    once = set(written(tenant)) == {name.casefold() for name in names} and writes == mailboxes
    if not once or tenant.counters.modified["Set-Mailbox"] != mailboxes or report.changed != mailboxes:
        raise BenchError(f"{writes} writes at the tenant, {report.changed} Changed, of {mailboxes}")
    ideal = mailboxes * budget.write_cost_s / budget.max_writers
    limits = tenant.budget
    return {
        "mailboxes": mailboxes, "parallel": count, "batch_size": batch_size, "latency_ms": latency_s * 1000,
        "write_cost_ms": budget.write_cost_s * 1000, "max_writers": budget.max_writers,
        "wall_s": round(wall, 3), "ideal_s": round(ideal, 3), "ratio": round(wall / ideal, 3),
        "throttled": limits.refused if limits else 0, "micro_delays": limits.micro_delays if limits else 0,
        "requests": tenant.counters.requests, "cmdlets": tenant.counters.invocations,
        "peak_writers": limits.peak_writers if limits else 0,
    }  # fmt: skip
