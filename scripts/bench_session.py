"""Benchmark: N small calls through one psbridge Session versus pypsrp's Client.execute_ps per call.

Both ways talk to the same kind of in-process replay server (psbridge.replay.server.ReplayServer) through
`HandlerWire`, so no network is involved and every WSMan request is counted where the server receives it:

  session     one `psbridge.Session`: one runspace pool opened on the first call and reused for every
              call, `Write-Output -InputObject <payload>` as a bound cmdlet.
  execute_ps  `pypsrp.client.Client.execute_ps(script)` per call: a new RunspacePool per call, running
              `Invoke-Expression -Command <script> | Out-String -Stream`.

Both return the same payload, one string, and every call is checked: a Session raises on any error
record and its output must be exactly the payload; execute_ps must report had_errors False and return
the payload. Every recorded episode must be played exactly once, so a replay miss cannot pass as a
fast call.

Requests are counted at the server and split by what they address. Requests carrying no CommandId are
the pool's: "pool open" is Create plus the pool's own Receive/Send (the PSRP handshake), "pool other" is
Delete (closing a pool) and Get (pypsrp's is_alive check). Requests carrying a CommandId are the
pipeline's: Command and its Receive/Send/Signal. "req/call excl open" is (all - pool open) / N.

Wall time covers building the client or session, the N calls and closing it; building the episodes is
outside it. One untimed call of each way warms caches first; then each way runs `--repeat` times,
interleaved, and the best wall time is kept. Request counts must be the same in every repeat (checked).

    python scripts/bench_session.py [--calls N] [--repeat K] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import structlog
from pypsrp.client import Client

from psbridge import Command, Session
from psbridge.replay import wire
from psbridge.replay.cassette import Target
from psbridge.replay.episodes import Episode, EpisodePlayer
from psbridge.replay.server import ReplayServer
from psbridge.replay.synthetic import episode, pool_messages
from psbridge.replay.transport import REPLAY_HOST, replay_options
from psbridge.session import NO_RETRY
from psbridge.transport.psrp import HandlerWire, PSRPTransport

PAYLOAD = "psbridge-bench"
SESSION_COMMAND = Command.cmdlet("Write-Output", {"InputObject": PAYLOAD})
EXECUTE_PS_SCRIPT = f"Write-Output -InputObject '{PAYLOAD}'"


# -- the server side ------------------------------------------------------------------------------


def _episode(spec: dict[str, Any]) -> Episode:
    """One string on the output stream, then PipelineState Completed, keyed as `spec` says."""
    return episode({**spec, "output": [PAYLOAD]})


# What the Session's pipeline is keyed as.
SESSION_SPEC: dict[str, Any] = {"command": "Write-Output", "parameters": [{"name": "InputObject", "value": PAYLOAD}]}
# What execute_ps's pipeline is keyed as: `Invoke-Expression -Command <script> | Out-String -Stream`.
# pypsrp adds `-Stream` with no value, which goes on the wire as Nil; psrpcore decodes it as None.
EXECUTE_PS_SPEC: dict[str, Any] = {
    "pipeline": [
        {"command": "Invoke-Expression", "parameters": [{"name": "Command", "value": EXECUTE_PS_SCRIPT}]},
        {"command": "Out-String", "parameters": [{"name": "Stream", "value": None}]},
    ]
}


class CountingServer:
    """A ReplayServer holding `calls` episodes for one key, keeping every request it is sent.

    Requests are only stored during the timed run and classified afterwards, so counting adds no
    parsing to the wall time.
    """

    def __init__(self, spec: dict[str, Any], calls: int, label: str) -> None:
        self.player = EpisodePlayer([_episode(spec) for _ in range(calls)], label)
        self.server = ReplayServer(self.player, pool_messages(Target()))
        self.raw: list[bytes] = []

    def handle(self, data: bytes) -> tuple[int, bytes]:
        self.raw.append(data)
        return self.server.handle(data)

    def wire(self) -> HandlerWire:
        return HandlerWire(self.handle)

    def counts(self) -> RequestCounts:
        counts = RequestCounts(total=self.server.requests)
        for data in self.raw:
            request = wire.Request.parse(data)
            action = request.action.rsplit("/", 1)[-1]
            counts.by_action[action] = counts.by_action.get(action, 0) + 1
            if any(el.get("CommandId") for el in request.body.iter()):
                counts.pipeline += 1
            elif action in ("Create", "Receive", "Send"):
                counts.pool_open += 1
            else:
                counts.pool_other += 1
        counts.pools_opened = counts.by_action.get("Create", 0)
        return counts

    def check_all_played(self, calls: int) -> None:
        if len(self.server.keys_seen) != calls or self.player.unplayed:
            raise SystemExit(
                f"bench_session: {self.player.sources}: {len(self.server.keys_seen)} pipelines for {calls} calls, "
                f"{len(self.player.unplayed)} episodes unplayed"
            )


@dataclasses.dataclass
class RequestCounts:
    total: int = 0
    pool_open: int = 0
    pool_other: int = 0
    pipeline: int = 0
    pools_opened: int = 0
    by_action: dict[str, int] = dataclasses.field(default_factory=dict)


# -- the two ways -----------------------------------------------------------------------------------


def run_session(calls: int) -> tuple[float, RequestCounts]:
    server = CountingServer(SESSION_SPEC, calls, "bench:session")
    transport = PSRPTransport(replay_options(), wire=lambda _http: server.wire())
    started = time.perf_counter()
    with Session(transport=transport, retry=NO_RETRY) as session:
        for _ in range(calls):
            result = session.invoke(SESSION_COMMAND)  # raises on any error record
            if result.output != (PAYLOAD,) or result.state != "Completed":
                raise SystemExit(f"bench_session: Session returned {result.output!r} ({result.state})")
    elapsed = time.perf_counter() - started
    server.check_all_played(calls)
    counts = server.counts()
    if transport.requests != counts.total:  # the client side's own count must agree with the server's
        raise SystemExit(f"bench_session: transport counted {transport.requests}, server {counts.total}")
    if transport.pools_opened != counts.pools_opened:
        raise SystemExit(
            f"bench_session: transport opened {transport.pools_opened} pools, server saw {counts.pools_opened}"
        )
    return elapsed, counts


def run_execute_ps(calls: int) -> tuple[float, RequestCounts]:
    server = CountingServer(EXECUTE_PS_SPEC, calls, "bench:execute_ps")
    started = time.perf_counter()
    client = Client(REPLAY_HOST, ssl=False, auth="basic", encryption="never", username="u", password="p")
    wsman: Any = client.wsman  # pypsrp types this attribute as its HTTP transport; any wire will do
    wsman.transport = server.wire()
    with client:
        for _ in range(calls):
            output, streams, had_errors = client.execute_ps(EXECUTE_PS_SCRIPT)
            if had_errors or streams.error or output != PAYLOAD:
                errors = "; ".join(str(e) for e in streams.error)
                raise SystemExit(f"bench_session: execute_ps returned {output!r}, had_errors={had_errors}: {errors}")
    elapsed = time.perf_counter() - started
    server.check_all_played(calls)
    return elapsed, server.counts()


# -- report -------------------------------------------------------------------------------------------


def measure(calls: int, repeat: int) -> dict[str, Any]:
    ways: dict[str, Callable[[int], tuple[float, RequestCounts]]] = {
        "session": run_session,
        "execute_ps": run_execute_ps,
    }
    for run in ways.values():  # untimed warm-up: first-use costs would otherwise land on one way
        run(1)
    times: dict[str, list[float]] = {name: [] for name in ways}
    counts: dict[str, RequestCounts] = {}
    for _ in range(repeat):
        for name, run in ways.items():  # interleaved, so drift hits both ways alike
            elapsed, got = run(calls)
            times[name].append(elapsed)
            if name in counts and counts[name] != got:
                raise SystemExit(f"bench_session: {name}: request counts differ between repeats")
            counts[name] = got

    figures: dict[str, Any] = {}
    for name in ways:
        c = counts[name]
        best = min(times[name])
        figures[name] = {
            "requests": c.total,
            "requests_per_call": c.total / calls,
            "pool_open_requests": c.pool_open,
            "pool_other_requests": c.pool_other,
            "pipeline_requests": c.pipeline,
            "pools_opened": c.pools_opened,
            "requests_per_call_excl_pool_open": (c.total - c.pool_open) / calls,
            "pipeline_requests_per_call": c.pipeline / calls,
            "requests_by_action": dict(sorted(c.by_action.items())),
            "wall_s": best,
            "wall_ms_per_call": best * 1000 / calls,
            "wall_s_all_repeats": times[name],
        }
    s, e = figures["session"], figures["execute_ps"]
    return {
        "calls": calls,
        "repeat": repeat,
        "payload": PAYLOAD,
        "ways": figures,
        "ratio_execute_ps_over_session": {
            "requests": e["requests"] / s["requests"],
            "requests_excl_pool_open": e["requests_per_call_excl_pool_open"] / s["requests_per_call_excl_pool_open"],
            "wall_time": e["wall_s"] / s["wall_s"],
        },
    }


def table(report: dict[str, Any]) -> str:
    header = (
        "way",
        "requests",
        "req/call",
        "pools",
        "pool open",
        "pool other",
        "req/call excl open",
        "wall s",
        "ms/call",
    )
    rows = [header]
    for name, f in report["ways"].items():
        rows.append(
            (
                name,
                str(f["requests"]),
                f"{f['requests_per_call']:.2f}",
                str(f["pools_opened"]),
                str(f["pool_open_requests"]),
                str(f["pool_other_requests"]),
                f"{f['requests_per_call_excl_pool_open']:.3f}",
                f"{f['wall_s']:.3f}",
                f"{f['wall_ms_per_call']:.2f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    r = report["ratio_execute_ps_over_session"]
    lines += [
        "",
        f"execute_ps / session: requests x{r['requests']:.2f} (excl pool open x{r['requests_excl_pool_open']:.2f}), "
        f"wall time x{r['wall_time']:.2f}",
        f"{report['calls']} calls per way, best of {report['repeat']}; requests by WSMan action:",
        *(
            f"  {name.ljust(widths[0])}  " + " ".join(f"{a}={n}" for a, n in f["requests_by_action"].items())
            for name, f in report["ways"].items()
        ),
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=200, help="sequential calls per way (default 200)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per way; the best wall time is kept (default 3)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON document")
    args = parser.parse_args(argv)
    if args.calls < 1 or args.repeat < 1:
        parser.error("--calls and --repeat must be at least 1")

    # psbridge logs one structlog event per call; keep it from dominating the timings.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    logging.getLogger("pypsrp").setLevel(logging.WARNING)

    report = measure(args.calls, args.repeat)
    print(json.dumps(report, indent=2) if args.json else table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
