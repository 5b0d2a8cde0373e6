"""Benchmark: the batched cloud-managed rollout versus a naive loop of one Set-Mailbox per mailbox.

Both ways switch the same N mailboxes (none cloud-managed yet, none failing) through one psbridge
Session each, against the in-process PSRP server (psbridge.replay.server.ReplayServer), so every WSMan
request is counted where the server receives it and no network is involved:

  batched  `psbridge.exchange.rollout.rollout_cloud_managed`: one pipeline per batch of
           `--batch-size` mailboxes (exchange/Set-CloudManagedBatch.ps1 reads each mailbox, then
           sets it), every outcome fsync'd to a journal before the next batch.
  naive    `Set-Mailbox -Identity <id> -IsExchangeCloudManaged $true -Confirm:$false` per mailbox, as a
           bound cmdlet through the same kind of Session (its runspace pool reused). It does not even
           read first, so it does less per mailbox than the batched way.

The server's episodes are built before timing with the synthetic authoring tool: the batched ones
from what the scenario generator's simulated tenant answers (scripts/make_rollout_scenario.py), the
naive ones as one empty, Completed Set-Mailbox per mailbox. Results are checked after each run:
the rollout must report every mailbox Changed, each naive call must complete without an error
record, and every episode must have been played exactly once; so a miss cannot pass as a fast call.

Wall time covers opening the session, the N switches and closing it. One untimed small run of each
way warms caches; then each way runs `--repeat` times, interleaved, and the best time is kept.
Request counts must be the same in every repeat (checked).

    python scripts/bench_rollout.py [--mailboxes N] [--batch-size B] [--repeat K] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import make_rollout_scenario as scenario
import structlog

from psbridge import Command, Session, ps
from psbridge.exchange.rollout import rollout_cloud_managed
from psbridge.replay import synthetic
from psbridge.replay.cassette import Target
from psbridge.replay.episodes import Episode, EpisodePlayer
from psbridge.replay.server import ReplayServer
from psbridge.replay.transport import replay_options
from psbridge.session import NO_RETRY
from psbridge.transport.psrp import HandlerWire, PSRPTransport


@dataclasses.dataclass(frozen=True)
class Figures:
    pipelines: int
    requests: int
    wall_s: float


def naive_command(identity: str) -> Command:
    return Command.cmdlet("Set-Mailbox", {"Identity": identity, "IsExchangeCloudManaged": True, "Confirm": False})


def naive_episodes(identities: Sequence[str]) -> list[Episode]:
    def spec(identity: str) -> dict[str, Any]:
        values = {"Identity": identity, "IsExchangeCloudManaged": True, "Confirm": False}
        return {"command": "Set-Mailbox", "parameters": [{"name": k, "value": v} for k, v in values.items()]}

    return [synthetic.episode(spec(i)) for i in identities]


def batched_episodes(identities: Sequence[str], batch_size: int) -> list[Episode]:
    """What a tenant of these mailboxes answers the rollout: recorded by running it against the simulation."""
    recorder = scenario.Recorder()
    tenant = scenario.Tenant(clean=True, count=len(identities), throttle=False)
    with tempfile.TemporaryDirectory() as workdir, recorder.session(tenant, connect=False) as session:
        rollout_cloud_managed(
            session, identities=identities, journal=Path(workdir) / "j.jsonl", batch_size=batch_size,
            sleep=lambda _: None,
        )  # fmt: skip
    return [synthetic.episode(spec) for spec in recorder.episodes()]


def measured(episodes: list[Episode], run: Callable[[Session], None], label: str) -> Figures:
    """Run `run` on a fresh Session against a server holding `episodes`; check they were all played."""
    player = EpisodePlayer(episodes, label)
    server = ReplayServer(player, synthetic.pool_messages(Target()), script_names=ps.digests())
    transport = PSRPTransport(replay_options(), wire=lambda _http: HandlerWire(server.handle))
    started = time.perf_counter()
    with Session(transport=transport, retry=NO_RETRY) as session:
        run(session)
    elapsed = time.perf_counter() - started
    if player.unplayed or len(server.keys_seen) != len(episodes):
        raise SystemExit(
            f"bench_rollout: {label}: {len(server.keys_seen)} pipelines for {len(episodes)} episodes, "
            f"{len(player.unplayed)} unplayed"
        )
    if transport.requests != server.requests:
        raise SystemExit(f"bench_rollout: {label}: transport counted {transport.requests}, server {server.requests}")
    return Figures(len(server.keys_seen), server.requests, elapsed)


def batched(identities: Sequence[str], batch_size: int) -> Callable[[], Figures]:
    episodes = batched_episodes(identities, batch_size)

    def one() -> Figures:
        def run(session: Session) -> None:
            with tempfile.TemporaryDirectory() as workdir:
                report = rollout_cloud_managed(
                    session, identities=identities, journal=Path(workdir) / "j.jsonl", batch_size=batch_size,
                    sleep=lambda _: None,
                )  # fmt: skip
            if report.changed != len(identities) or not report.succeeded:
                raise SystemExit(f"bench_rollout: batched: changed {report.changed} of {len(identities)}")

        return measured(list(episodes), run, "bench:batched")

    return one


def naive(identities: Sequence[str]) -> Callable[[], Figures]:
    episodes = naive_episodes(identities)

    def one() -> Figures:
        def run(session: Session) -> None:
            for identity in identities:
                result = session.invoke(naive_command(identity))  # raises on any error record
                if result.state != "Completed" or result.output:
                    raise SystemExit(f"bench_rollout: naive: {identity}: {result.state} {result.output!r}")

        return measured(list(episodes), run, "bench:naive")

    return one


def measure(mailboxes: int, batch_size: int, repeat: int) -> dict[str, Any]:
    identities = [scenario.identity(n) for n in range(1, mailboxes + 1)]
    warm = identities[: min(mailboxes, batch_size)]
    for warm_up in (batched(warm, batch_size), naive(warm)):  # untimed: first-use costs
        warm_up()
    ways = {"batched": batched(identities, batch_size), "naive": naive(identities)}
    best: dict[str, Figures] = {}
    for _ in range(repeat):
        for name, one in ways.items():  # interleaved, so drift hits both ways alike
            got = one()
            if name in best and (best[name].pipelines, best[name].requests) != (got.pipelines, got.requests):
                raise SystemExit(f"bench_rollout: {name}: request counts differ between repeats")
            if name not in best or got.wall_s < best[name].wall_s:
                best[name] = got
    if best["batched"].pipelines != math.ceil(mailboxes / batch_size):
        raise SystemExit(f"bench_rollout: batched used {best['batched'].pipelines} pipelines")
    b, n = best["batched"], best["naive"]
    return {
        "mailboxes": mailboxes,
        "batch_size": batch_size,
        "repeat": repeat,
        "ways": {name: {**dataclasses.asdict(f), "requests_per_mailbox": f.requests / mailboxes}
                 for name, f in best.items()},
        "ratio_naive_over_batched": {
            "pipelines": n.pipelines / b.pipelines,
            "requests": n.requests / b.requests,
            "wall_time": n.wall_s / b.wall_s,
        },
    }  # fmt: skip


def table(report: dict[str, Any]) -> str:
    header = ("way", "pipelines", "WSMan requests", "req/mailbox", "wall s", "ms/mailbox")
    rows = [header] + [
        (name, str(f["pipelines"]), str(f["requests"]), f"{f['requests_per_mailbox']:.3f}", f"{f['wall_s']:.3f}",
         f"{f['wall_s'] * 1000 / report['mailboxes']:.2f}")
        for name, f in report["ways"].items()
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
             for row in rows]  # fmt: skip
    lines.insert(1, "  ".join("-" * w for w in widths))
    r = report["ratio_naive_over_batched"]
    lines += [
        "",
        f"naive / batched: pipelines x{r['pipelines']:.1f}, WSMan requests x{r['requests']:.1f}, "
        f"wall time x{r['wall_time']:.1f}",
        f"{report['mailboxes']} mailboxes, batches of {report['batch_size']}, best of {report['repeat']}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--mailboxes", type=int, default=1000, help="mailboxes to switch (default 1000)")
    parser.add_argument("--batch-size", type=int, default=100, help="mailboxes per batch (default 100)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per way; the best wall time is kept (default 3)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON document")
    args = parser.parse_args(argv)
    if args.mailboxes < 1 or args.batch_size < 1 or args.repeat < 1:
        parser.error("--mailboxes, --batch-size and --repeat must be at least 1")

    # psbridge logs one event per call; keep it from dominating the timings (both ways alike).
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    logging.getLogger("pypsrp").setLevel(logging.WARNING)

    report = measure(args.mailboxes, args.batch_size, args.repeat)
    print(json.dumps(report, indent=2) if args.json else table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
