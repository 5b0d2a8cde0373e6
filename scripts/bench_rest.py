"""The benchmark's REST sections (issue 19): the Exchange Online REST backend beside the jump host, in one run.

scripts/bench.py calls `listing` and `rollout` and puts each beside its jump-host twin at the same latency
(`beside`): the same mailboxes, the same psbridge function, an `ExoRestClient` in place of the `Session`.

  listing over REST  N mailboxes (`--latency-list`) listed with `psbridge.exchange.iter_mailboxes(client,
               page_size=...)` (`--page-size`, at most the endpoint's 1,000), streamed, beside the jump host's
               streamed listing of the same N (the large-read-with-latency section's figures). The tenant holds
               the mailboxes the jump-host ways list, built from the same Get-Mailbox objects (bench.py passes
               `mailbox_properties`); the client must read all N with the same digest of (Identity, ExchangeGuid,
               PrimarySmtpAddress, IsDirSynced, IsExchangeCloudManaged) and ceil(N / page size) pages. As the
               jump host's listing client does, it runs in a process of its own (this script with
               `--listing-client`): wall and CPU (its own `process_time`) around signing in (a static token),
               listing, checking and closing; peak memory as bench.py measures it.
  rollout over REST  N mailboxes (`--mailboxes`) switched to cloud-managed by
               `psbridge.exchange.rollout.rollout_cloud_managed(client, identities=..., journal=<tmp>, batch_size=
               --batch-size)` (over REST: `$batch` requests of up to 10 cmdlets, `psbridge.exchange.rest.bulk`),
               beside the jump host's batched rollout of the same N at the same latency, run in this same call
               of bench.py (`rollout(..., naive_too=False)`). No write budget, as on the jump host; every mailbox
               must end Changed and be written exactly once. Client and server in this process, the server on
               a thread, as for the jump host's rollout: CPU is the process's, "server cpu s" the tenant's
               handling (thread time), "client cpu s" the rest. If `rollout_cloud_managed` refuses an
               ExoRestClient (a two-mailbox probe, `unavailable`), the section says why instead of failing.

The server is `ExoRestTenant` (tests/simulated_exo_rest), the simulated InvokeCommand endpoint, behind a
loopback HTTP server on 127.0.0.1 (plain HTTP, keep-alive), so the REST client crosses a real socket through
requests as the jump-host ways cross one through pypsrp; the tenant sleeps `--latency-ms` once per HTTP
request, as the jump host's endpoint does before each WSMan request. Requests are counted where the server
receives them, by action (InvokeCommand, `$batch`); "cmdlets" are the cmdlets the tenant ran (a `$batch`
item is one, a further page is not).

What this measures: round trips and the client's own costs (HTTP, JSON, models, the rollout's logic) against a
simulated endpoint, at a simulated latency. What it does not: Exchange Online's service time (a real
Get-Mailbox or Set-Mailbox takes its own time on the service, and a write is paced: the jump host's replay
answers at once and does not sleep the script's -PaceMilliseconds, this tenant answers at once, and both
rollouts are given a no-op `sleep`, so the pace of `DEFAULT_PACE_S` per write is slept by neither), so the
rollout's ratio is one of round trips: the jump host writes a whole batch in one pipeline, REST needs a `$batch`
request per 10 cmdlets; against the real service both are bound by the writes and their pace. Nor does it
measure throttling (the write budget is scripts/rollout_budget.py's section), TLS and sign-in (a static token;
the jump host's endpoint is plain HTTP with Basic auth too), nor how a real tenant pages. The simulated tenant
renders its rows in Python, so "server cpu s" is the simulation's, not the service's. Ratios are REST over jump
host, from this one run; latency runs run once, as bench.py's do.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import hashlib
import json
import logging
import math
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
import structlog

from psbridge import errors
from psbridge.exchange import iter_mailboxes
from psbridge.exchange.rest.client import ExoRestClient
from psbridge.exchange.rollout import rollout_cloud_managed
from psbridge.graph.auth import StaticTokenProvider
from psbridge.retry import NO_RETRY

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the simulated tenant is test machinery
from simulated_exo_rest import ExoRestTenant
from simulated_exo_rest import Mailbox as RestMailbox

TENANT_ID = "2f1c4e5a-7b8d-4c9e-a0f1-b2c3d4e5f6a7"
TOKEN = "bench-rest-token"
RATIO = "REST / jump host"
MAX_PAGE_SIZE = 1000  # InvokeCommand's largest page (psbridge.exchange.rest.wire.MAX_PAGE_SIZE)
ServerCounts = dict[str, Any]


class RestBenchError(SystemExit):
    """A REST way did not do what it must: the figures would not mean anything."""

    def __init__(self, message: str) -> None:
        super().__init__(f"bench: REST: {message}")


# -- the tenant on a loopback socket ----------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: requests reuses its connection, as to outlook.office365.com
    disable_nagle_algorithm = True  # headers and body go out in two writes: no delayed-ACK stall between them
    server: _Loopback

    def do_POST(self) -> None:
        server = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        prepared = requests.Request("POST", server.url + self.path, headers=dict(self.headers), data=body).prepare()
        started = time.thread_time()
        answer = server.tenant.send(prepared, timeout=600)  # sleeps the latency (not thread time), then serves
        with server.lock:
            server.cpu_s += time.thread_time() - started
            server.actions[unquote(urlsplit(self.path).path).rsplit("/", 1)[-1]] += 1
        self.send_response(answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        pass


class _Loopback(ThreadingHTTPServer):
    """`ExoRestTenant` on http://127.0.0.1:<ephemeral port>: each request handed to the tenant as requests'
    PreparedRequest; counts requests by action and the tenant's handling CPU (thread time)."""

    daemon_threads = True

    def __init__(self, make_tenant: Callable[[str], ExoRestTenant]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.tenant = make_tenant(self.url)
        self.lock = threading.Lock()
        self.cpu_s = 0.0
        self.actions: collections.Counter[str] = collections.Counter()

    def counts(self) -> ServerCounts:
        c = self.tenant.counters
        if c.rejected or c.faults:
            raise RestBenchError(f"the tenant refused {c.rejected} request(s) as malformed")
        return {"requests": c.requests, "by_action": dict(sorted(self.actions.items())), "cmdlets": c.invocations,
                "pages": c.pages, "writes": c.writes["Set-Mailbox"], "server_cpu_s": self.cpu_s}  # fmt: skip


@contextlib.contextmanager
def serving(mailboxes: Sequence[RestMailbox], latency_s: float) -> Iterator[_Loopback]:
    server = _Loopback(lambda url: ExoRestTenant(mailboxes, base=url, tenant_id=TENANT_ID, token=TOKEN,
                                                 latency_s=latency_s))  # fmt: skip
    thread = threading.Thread(target=server.serve_forever, name="bench-rest-endpoint", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def client_to(url: str) -> ExoRestClient:
    """An app-only client of the tenant at `url`, no retries (a retry would be a fault here), a 10-minute deadline."""
    return ExoRestClient(StaticTokenProvider(TOKEN), tenant_id=TENANT_ID, base_url=url, retry=NO_RETRY, timeout=600)


def way(count: int, wall_s: float, cpu_s: float, server: ServerCounts, *, in_process: bool) -> dict[str, Any]:
    """One REST way's figures, under the keys bench.py's sections use (no WSMan pools or pipelines here)."""
    return {
        **server, "requests_per_item": server["requests"] / count, "wall_s": wall_s, "cpu_s": cpu_s,
        "client_cpu_s": cpu_s - server["server_cpu_s"] if in_process else cpu_s,
        "wall_ms_per_item": wall_s * 1000 / count,
        "wall_s_min": wall_s, "wall_s_max": wall_s, "wall_s_runs": [wall_s], "cpu_s_runs": [cpu_s],
    }  # fmt: skip


# -- listing ----------------------------------------------------------------------------------------------


def rest_mailbox(p: Mapping[str, Any]) -> RestMailbox:
    """The tenant's mailbox for one of bench.py's Get-Mailbox objects (its `full_mailbox` properties, filled in)."""
    return RestMailbox(
        upn=p["UserPrincipalName"], name=p["Name"], display_name=p["DisplayName"], alias=p["Alias"],
        primary_smtp=p["PrimarySmtpAddress"], email_addresses=list(p["EmailAddresses"]["ProxyAddressCollection"]),
        recipient_type_details=p["RecipientTypeDetails"], is_dir_synced=p["IsDirSynced"],
        is_exchange_cloud_managed=p["IsExchangeCloudManaged"], hidden=p["HiddenFromAddressListsEnabled"],
        guid=p["Guid"]["G"], exchange_guid=p["ExchangeGuid"]["G"],
        external_directory_object_id=p["ExternalDirectoryObjectId"],
        when_changed=dt.datetime.fromisoformat(p["WhenChangedUTC"]["DT"]),
    )  # fmt: skip


def listing(
    count: int, page_size: int, latency_s: float, *, properties: Callable[[int], Mapping[str, Any]]
) -> dict[str, Any]:
    """List `count` mailboxes over REST, the client in a process of its own; its figures (`way`)."""
    page_size = min(page_size, MAX_PAGE_SIZE)
    mailboxes = [rest_mailbox(properties(number)) for number in range(1, count + 1)]
    with serving(mailboxes, latency_s) as server:
        child = subprocess.run(
            [sys.executable, __file__, "--listing-client", server.url, str(count), str(page_size)],
            capture_output=True, text=True, timeout=1800,
        )  # fmt: skip
        counts = server.counts()
    if child.returncode != 0:
        raise RestBenchError(f"the listing client failed ({child.returncode}): {child.stderr.strip()}")
    got = json.loads(child.stdout)
    if got["pages"] != math.ceil(count / page_size) or counts["requests"] != got["pages"]:
        raise RestBenchError(f"{got['pages']} pages in {counts['requests']} requests for {count} mailboxes")
    figures = way(count, got["wall_s"], got["cpu_s"], counts, in_process=False)
    before, peak = got["rss_before_kib"], got["rss_peak_kib"]
    return {**figures, "page_size": page_size, "peak_rss_mib": peak / 1024, "listing_rss_mib": (peak - before) / 1024}


def listing_client(url: str, count: int, page_size: int) -> dict[str, Any]:
    """The client side of the listing, in its own process: every mailbox read and checked, as bench.py's
    `read_client` checks the jump host's (the same digest, the same peak-memory reading)."""
    import bench  # the jump-host listing's digest and memory reading (this process is not bench.py's)

    want, digest, seen = bench.expected_digest(count), hashlib.sha256(), 0
    before_kib = bench.high_water_kib()
    wall, cpu = time.perf_counter(), time.process_time()
    with client_to(url) as client:
        mailboxes = iter_mailboxes(client, page_size=page_size)
        for m in mailboxes:
            seen += 1
            fields = (m.identity, m.exchange_guid, m.primary_smtp_address, m.is_dir_synced)
            digest.update(bench.digest_line(*fields, m.is_exchange_cloud_managed))
    wall_s, cpu_s = time.perf_counter() - wall, time.process_time() - cpu
    if seen != count or digest.hexdigest() != want or mailboxes.warnings:
        ok = "ok" if digest.hexdigest() == want else "wrong"
        raise RestBenchError(f"read {seen} of {count} mailboxes, digest {ok}, warnings {mailboxes.warnings}")
    return {"wall_s": wall_s, "cpu_s": cpu_s, "mailboxes": seen, "pages": mailboxes.pages,
            "rss_before_kib": before_kib, "rss_peak_kib": bench.high_water_kib()}  # fmt: skip


# -- rollout ----------------------------------------------------------------------------------------------


def run_rollout(client: ExoRestClient, identities: Sequence[str], batch_size: int) -> int:
    """The rollout as bench.py runs the jump host's (journal in a temporary directory, no pace slept); changed."""
    with tempfile.TemporaryDirectory() as workdir:
        report = rollout_cloud_managed(
            client, identities=identities, journal=Path(workdir) / "journal.jsonl", batch_size=batch_size,
            sleep=lambda _: None,
        )  # fmt: skip
    if not report.succeeded:
        raise RestBenchError(f"the rollout did not succeed: {report.changed} of {len(identities)} changed")
    return report.changed


def unavailable() -> str | None:
    """Why `rollout_cloud_managed` cannot run over an ExoRestClient (None: it can), from a two-mailbox rollout
    against the tenant with no latency (also the REST rollout's untimed warm-up)."""
    names = ["probe1@contoso.example", "probe2@contoso.example"]
    try:
        with serving([RestMailbox(n) for n in names], 0.0) as server, client_to(server.url) as client:
            run_rollout(client, names, 2)
    except (TypeError, AttributeError, NotImplementedError, errors.InputError) as refused:
        return f"rollout_cloud_managed refuses an ExoRestClient ({type(refused).__name__}: {refused})"
    return None


def rollout(identities: Sequence[str], batch_size: int, latency_s: float) -> dict[str, Any] | str:
    """Switch every mailbox over REST; its figures (`way`), or why the REST rollout is not available."""
    refused = unavailable()
    if refused is not None:
        return refused
    count = len(identities)
    with serving([RestMailbox(i) for i in identities], latency_s) as server:
        wall, cpu = time.perf_counter(), time.process_time()
        with client_to(server.url) as client:
            changed = run_rollout(client, identities, batch_size)
        wall_s, cpu_s = time.perf_counter() - wall, time.process_time() - cpu
        counts = server.counts()
        switched = sum(m.is_exchange_cloud_managed for m in server.tenant.directory.mailboxes)
    if changed != count or switched != count or counts["writes"] != count:
        raise RestBenchError(f"{changed} Changed, {switched} switched, {counts['writes']} writes for {count} mailboxes")
    return way(count, wall_s, cpu_s, counts, in_process=True)


# -- the section ------------------------------------------------------------------------------------------


def beside(jump: Mapping[str, Any], name: str, rest_name: str, rest: Mapping[str, Any] | str) -> dict[str, Any]:
    """A section of the jump host's way `name` (from its section `jump`) and the REST way (or why it is not
    available: `not_available`), with their ratios REST / jump host."""
    out: dict[str, Any] = {key: jump[key] for key in ("count", "unit", "latency_ms", "repeat")}
    host = jump["ways"][name]
    out["ways"] = {f"jump host, {name}": host}
    out["ratio"] = {"of": RATIO}
    if isinstance(rest, str):
        out["not_available"] = rest
        return out
    out["ways"][rest_name] = dict(rest)
    keys = ("requests", "wall_s", "cpu_s", "client_cpu_s", "peak_rss_mib", "listing_rss_mib")
    out["ratio"] |= {k: rest[k] / host[k] for k in keys if host.get(k) and k in rest}
    return out


def main(argv: Sequence[str]) -> int:
    if len(argv) == 4 and argv[0] == "--listing-client":
        # As bench.py's own clients: psbridge's per-call log events kept from the timings.
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
        print(json.dumps(listing_client(argv[1], int(argv[2]), int(argv[3]))))
        return 0
    raise SystemExit("bench_rest.py is run by scripts/bench.py (`python scripts/bench.py`)")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
