"""A bulk rollout against the simulated tenant's write budget, over the loopback WSMan endpoint.

`rollout_budget()` switches N mailboxes (1,000 by default) with `rollout_cloud_managed` in `parallel`
sessions, in psbridge's default batches (each write pipeline reading the next batch ahead), against
`BudgetedTenant` (tests/simulated.py; the model and its defaults: docs/exchange.md, The simulated write
budget), served by the HTTP endpoint on 127.0.0.1 with `latency_s` slept per request, and returns what
scripts/bench.py reports:

    wall_s        the rollout's wall time, its extra sessions opened and closed included
    ideal_s       N x write_cost_s / allowed concurrency (the budget's cap on concurrent writers)
    ratio         wall_s / ideal_s (issue 18's target: at most 1.2)
    throttled     write pipelines the tenant refused (target: 0)
    micro_delays  micro-delay warnings the tenant sent
    requests      WSMan requests the endpoint answered
    peak_writers  the most write pipelines the tenant ran at once

The write cost is scaled down (30 ms, where the model's default is 1 s) so that a run takes seconds: the
ratio is what compares, and at a larger cost the fixed per-batch round trips weigh less. Every mailbox
must be switched exactly once at the tenant, else BenchError. Run it alone: `python scripts/rollout_budget.py`;
`--via rest` runs the same rollout over Exchange Online's REST backend (issue 19) against the simulated REST tenant
(tests/simulated_exo_rest) with the same budget, per HTTP request, and adds `cmdlets`.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the simulated tenant: test machinery

from simulated import BudgetedTenant, WriteBudget
from simulated import Mailbox as TenantMailbox
from simulated_exo_rest import ExoRestTenant
from simulated_exo_rest import Mailbox as RestMailbox

from psbridge import ConnectionOptions, RetryPolicy, Session
from psbridge.defaults import DEFAULT_BATCH_SIZE
from psbridge.exchange.rest import bulk as rest_bulk
from psbridge.exchange.rest.bulk import RateLimitPacing
from psbridge.exchange.rest.client import ExoRestClient
from psbridge.exchange.rollout import rollout_cloud_managed
from psbridge.graph.auth import StaticTokenProvider
from psbridge.replay.http import ReplayHTTPServer

USER, PASSWORD = "bench", "rollout-budget-pw"
REST_TOKEN = "rollout-budget-token"
BENCH_BUDGET = WriteBudget(write_cost_s=0.03, max_writers=3)


class BenchError(RuntimeError):
    """The rollout did not do what it must: every mailbox switched once."""


def rollout_budget(
    mailboxes: int = 1000,
    latency_s: float = 0.03,
    *,
    budget: WriteBudget = BENCH_BUDGET,
    parallel: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    pace_s: float = 0.0,
    via: str = "psrp",
) -> dict[str, Any]:
    """Run the rollout against the write budget and measure it (see the module doc). `parallel` None: the
    budget's cap; `pace_s`: where the pace starts (0: the budget is found from the micro-delay warnings)."""
    identities = [f"user{n:05d}@contoso.example" for n in range(1, mailboxes + 1)]
    count = parallel or budget.max_writers
    run = _over_rest if via == "rest" else _over_jump_host
    wall, changed, tenant = run(identities, budget, latency_s, count, batch_size, pace_s)
    if tenant.pop("writes") != {i.casefold(): 1 for i in identities} or changed != mailboxes:
        raise BenchError(f"not every mailbox was written exactly once: {changed} Changed, of {mailboxes}")
    ideal = mailboxes * budget.write_cost_s / budget.max_writers
    return {
        "mailboxes": mailboxes, "parallel": count, "batch_size": batch_size, "latency_ms": latency_s * 1000,
        "write_cost_ms": budget.write_cost_s * 1000, "max_writers": budget.max_writers,
        "wall_s": round(wall, 3), "ideal_s": round(ideal, 3), "ratio": round(wall / ideal, 3), **tenant,
    }  # fmt: skip


# A runner: the rollout's wall time, its Changed count, and what the tenant saw (writes per mailbox, casefolded;
# throttled, micro_delays, requests, peak_writers, and any count of its own).
Measured = tuple[float, int, dict[str, Any]]


def _rollout(first: Any, identities: list[str], more: Callable[[], Any], count: int, batch_size: int,
             pace_s: float) -> tuple[float, int]:  # fmt: skip
    with tempfile.TemporaryDirectory() as workdir:
        started = time.perf_counter()
        report = rollout_cloud_managed(
            first, identities=identities, journal=Path(workdir) / "journal.jsonl", batch_size=batch_size,
            pace_s=pace_s, parallel=count, sessions=more if count > 1 else None,
            retry=RetryPolicy(attempts=4, total_s=120.0, initial_s=0.1, max_wait_s=1.0, jitter_s=0.02),
        )  # fmt: skip
        return time.perf_counter() - started, report.changed


def _over_jump_host(
    identities: list[str], budget: WriteBudget, latency_s: float, count: int, batch_size: int, pace_s: float
) -> Measured:
    """Through the jump host: `BudgetedTenant` behind the loopback WSMan endpoint."""
    tenant = BudgetedTenant([TenantMailbox(i) for i in identities], budget)
    server = tenant.server()
    http = ReplayHTTPServer(tenant.serve(server.handle), credentials=(USER, PASSWORD), latency_s=latency_s)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    options = ConnectionOptions.build(
        host="127.0.0.1", port=http.server_address[1], auth="basic", username=USER, password=PASSWORD, tls=False,
        encryption="never",
    )  # fmt: skip
    retry = RetryPolicy(attempts=3, total_s=30.0, initial_s=0.05, max_wait_s=0.5, jitter_s=0.01)
    try:
        with Session(options, retry=retry, timeout=60) as session:
            wall, changed = _rollout(session, identities, lambda: Session(options, retry=retry, timeout=60), count,
                                     batch_size, pace_s)  # fmt: skip
    finally:
        http.shutdown()
        http.server_close()
        thread.join(timeout=5)
    return wall, changed, {
        "writes": {i.casefold(): tenant.writes[i.casefold()] for i in identities}, "throttled": tenant.refused,
        "micro_delays": tenant.micro_delays, "requests": server.requests, "peak_writers": tenant.peak_writers,
    }  # fmt: skip


def _over_rest(
    identities: list[str], budget: WriteBudget, latency_s: float, count: int, batch_size: int, pace_s: float
) -> Measured:
    """Over REST (issue 19): `ExoRestTenant` (tests/simulated_exo_rest) with the same budget, per HTTP request;
    one ExoRestClient per worker. `requests` are HTTP requests (`$batch`es of up to 10 cmdlets), `cmdlets` the
    cmdlets the tenant ran."""
    tenant = ExoRestTenant([RestMailbox(i) for i in identities], token=REST_TOKEN, budget=budget, latency_s=latency_s)

    def client() -> ExoRestClient:
        return ExoRestClient(StaticTokenProvider(REST_TOKEN), tenant_id=tenant.tenant_id, transport=tenant)

    with client() as first:
        wall, changed = _rollout(first, identities, client, count, batch_size, pace_s)
    writes = collections.Counter(
        str(e["parameters"]["Identity"]).casefold() for e in tenant.log if e["cmdlet"] == "Set-Mailbox"
    )
    limits = tenant.budget
    assert limits is not None
    return wall, changed, {
        "writes": dict(writes),
        "throttled": limits.refused, "micro_delays": limits.micro_delays, "requests": tenant.counters.requests,
        "peak_writers": limits.peak_writers, "cmdlets": tenant.counters.invocations,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=30.0)
    parser.add_argument("--parallel", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--via", choices=("psrp", "rest"), default="psrp", help="the jump host, or REST (issue 19)")
    parser.add_argument(
        "--no-rate-limit-wait", action="store_true",
        help="over REST: do not wait on the Rate-Limit-* headers (psbridge.exchange.rest.bulk.RATE_LIMIT_PACING)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.no_rate_limit_wait:
        rest_bulk.RATE_LIMIT_PACING = RateLimitPacing(below=0)
    result = rollout_budget(
        args.mailboxes, args.latency_ms / 1000, parallel=args.parallel, batch_size=args.batch_size, via=args.via
    )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
