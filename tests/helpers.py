"""Test helpers: synthetic recordings built on the fly, sessions over them, a fake live host."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from psbridge import ConnectionOptions, RetryPolicy, Session
from psbridge.replay import synthetic
from psbridge.replay.cassette import Cassette
from psbridge.replay.episodes import EpisodePlayer
from psbridge.replay.server import ReplayServer
from psbridge.replay.transport import ReplayTransport

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "recorded_sessions" / "demo"
FAST_RETRY = RetryPolicy(attempts=3, total_s=10, initial_s=0.0, max_wait_s=0.01, jitter_s=0.0)


def cassette(specs: Sequence[Mapping[str, Any]], **source: Any) -> Cassette:
    return synthetic.author({"episodes": list(specs), **source})


def fake_host(specs: Sequence[Mapping[str, Any]]) -> ReplayServer:
    """A ReplayServer standing in for a live Windows host."""
    recorded = cassette(specs)
    return ReplayServer(EpisodePlayer(recorded.episodes, "fake live host"), recorded.pool)


def live_options(password: str = "Corr3ct-Horse-Battery!") -> ConnectionOptions:
    return ConnectionOptions.build(
        host="connect01.corp.contoso.com",
        username="svc-sync@corp.contoso.com",
        password=password,
        auth="basic",
        tls=False,
        encryption="never",
        insecure_cleartext_basic=True,  # the "host" is an in-process fake: nothing crosses a network
    )


def recording_session(path: Path, mode: str, host: ReplayServer, **kwargs: Any) -> Session:
    """A Session in a record mode whose 'live' side is the fake host, through pypsrp's real client."""
    from psbridge.transport.psrp import HandlerWire

    options = kwargs.pop("options", None) or live_options()
    transport = ReplayTransport(
        path, mode=mode, options=options, live_wire=lambda _http: HandlerWire(host.handle), **kwargs
    )  # type: ignore[arg-type]
    return Session(options, transport=transport, retry=FAST_RETRY)


def scheduler_spec(**overrides: Any) -> dict[str, Any]:
    """A Get-Scheduler.ps1 episode: CONNECT01's idle scheduler, with `overrides` on its properties."""
    props = {
        "AllowedSyncCycleInterval": {"TS": "00:30:00"},
        "CurrentlyEffectiveSyncCycleInterval": {"TS": "00:30:00"},
        "CustomizedSyncCycleInterval": {"Nil": None},
        "NextSyncCyclePolicyType": "Delta",
        "NextSyncCycleStartTimeInUTC": {"DT": "2026-11-25T12:30:00Z"},
        "PurgeRunHistoryInterval": {"TS": "7.00:00:00"},
        "SyncCycleEnabled": True,
        "MaintenanceEnabled": True,
        "StagingModeEnabled": False,
        "SchedulerSuspended": False,
        "SyncCycleInProgress": False,
        **overrides,
    }
    return {"script": "adsync/Get-Scheduler.ps1", "output": [{"properties": props}]}
