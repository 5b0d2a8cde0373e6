"""Record modes, as a Transport: replay from files, record from a live host, or both.

- `none` (the default): replay only. The network is never touched; a command that is not recorded fails
  with ReplayMissError naming it and the nearest recorded command.
- `once`: replay when the file exists, otherwise record the whole session live and write it.
- `new_episodes`: replay what is recorded; send what is not to the live host and add it to the file.
- `rewrite`: record the whole session live and replace the file.

Nothing ever loops back to an earlier episode: each recorded episode is served at most once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from psbridge import errors
from psbridge.command import Command
from psbridge.options import ConnectionOptions
from psbridge.replay.cassette import Cassette, ScrubMap, Target, load_all
from psbridge.replay.faults import FaultInjector
from psbridge.replay.modes import RecordMode, checked
from psbridge.replay.recorder import Recorder
from psbridge.replay.server import ReplayServer
from psbridge.result import InvocationResult
from psbridge.session import Session
from psbridge.transport import RecordCallback
from psbridge.transport.psrp import HandlerWire, PSRPTransport, WireFactory

REPLAY_HOST = "replay.invalid"


def recorded_session(
    path: str | Path,
    *,
    mode: RecordMode = "none",
    options: ConnectionOptions | None = None,
    scrub: ScrubMap | Mapping[str, str] | None = None,
    **kwargs: Any,
) -> Session:
    """A Session served from recordings (and, in record modes, from the live host in `options`);
    `kwargs` are the Session's own (timeout, retry)."""
    if scrub is not None and not isinstance(scrub, ScrubMap):
        scrub = ScrubMap(dict(scrub))
    return Session(options, transport=ReplayTransport(path, mode=mode, options=options, scrub=scrub), **kwargs)


def replay_options(configuration_name: str = "Microsoft.PowerShell") -> ConnectionOptions:
    """Options for a session that only replays: no credentials, nothing that could reach a network."""
    return ConnectionOptions(
        host=REPLAY_HOST, tls=False, auth="basic", encryption="never", configuration_name=configuration_name
    )


class ReplayTransport:
    def __init__(
        self,
        path: str | Path,
        *,
        mode: RecordMode = "none",
        options: ConnectionOptions | None = None,
        scrub: ScrubMap | None = None,
        live_wire: WireFactory | None = None,
        faults: FaultInjector | None = None,
    ) -> None:
        """`live_wire` replaces pypsrp's HTTP transport for the live side (tests use a fake host);
        `faults` makes the replayed side misbehave on purpose (see `psbridge.replay.faults`); without
        it, the faults the recordings declare apply."""
        mode = checked(mode)
        self.path = Path(path)
        single: list[Cassette] = []
        if options is None and mode == "none" and self.path.is_file():
            # A single recording knows its endpoint (e.g. an Exchange server's Microsoft.Exchange).
            single = [Cassette.load(self.path)]
            options = replay_options(single[0].target.configuration_name)
        self.options = options or replay_options()
        if mode == "once":
            mode = "none" if self.path.exists() else "rewrite"
        if mode != "none" and (self.path.is_dir() or self.path.suffix not in (".yaml", ".yml")):
            raise errors.InputError(f"a recording is written to a .yaml file, not {self.path}")
        if mode != "none" and self.options.host == REPLAY_HOST:
            raise errors.InputError(f"record mode {mode!r} needs a live host to record from")
        self.mode = mode
        self.scrub = scrub or ScrubMap()
        self.cassettes = single or (
            []
            if mode == "rewrite" or (mode == "new_episodes" and not self.path.exists())
            else _of_host(load_all(self.path, self.options.configuration_name), self.options.host)
        )
        self.target = self.options.host
        if self.options.host == REPLAY_HOST and self.cassettes:
            # The recorded host; a directory holding several hosts is named by its path.
            hosts = {urlsplit(c.target.endpoint).hostname or "" for c in self.cassettes}
            self.target = hosts.pop() if len(hosts) == 1 and "" not in hosts else str(self.path)
        self._replay: PSRPTransport | None = None
        self.server: ReplayServer | None = None
        if self.cassettes:
            self.server = server = ReplayServer.from_cassettes(self.cassettes)
            faults = faults or FaultInjector.configured(self.cassettes)
            handle = faults.attach(server.handle, server) if faults is not None else server.handle
            self._replay = PSRPTransport(
                replay_options(self.options.configuration_name),
                wire=lambda _http: HandlerWire(handle),
                target=self.target,
            )
        self._recorder: Recorder | None = None
        self._live: PSRPTransport | None = None
        self._live_wire = live_wire
        self._on_pool_open: Callable[[], None] | None = None

    @property
    def on_pool_open(self) -> Callable[[], None] | None:
        return self._on_pool_open

    @on_pool_open.setter
    def on_pool_open(self, hook: Callable[[], None] | None) -> None:
        self._on_pool_open = hook
        for transport in (self._replay, self._live):
            if transport is not None:
                transport.on_pool_open = hook

    @property
    def pool_open(self) -> bool:
        return any(t is not None and t.pool_open for t in (self._replay, self._live))

    @property
    def requests(self) -> int:
        return sum(t.requests for t in (self._replay, self._live) if t is not None)

    def invoke(self, command: Command, *, timeout: float, on_record: RecordCallback | None = None) -> InvocationResult:
        if self._replay is not None:
            try:
                return self._replay.invoke(command, timeout=timeout, on_record=on_record)
            except errors.ReplayError:
                if self.mode == "none":
                    raise
        return self._live_transport(command).invoke(command, timeout=timeout, on_record=on_record)

    def _live_transport(self, command: Command) -> PSRPTransport:
        if self._live is None:
            self._recorder = Recorder(self.options.configuration_name)
            self._recorder.secrets.update(self.options.secrets())
            recorder, live_wire = self._recorder, self._live_wire
            self._live = PSRPTransport(
                self.options, wire=lambda http: recorder.wrap(live_wire(http) if live_wire else http)
            )
            self._live.on_pool_open = self._on_pool_open
        assert self._recorder is not None
        self._recorder.secrets.update(command.secret_values())
        return self._live

    def close(self) -> None:
        try:
            for transport in (self._replay, self._live):
                if transport is not None:
                    transport.close()
        finally:
            if self._recorder is not None and self._recorder.episodes:
                self._write()

    def _write(self) -> None:
        recorder = self._recorder
        assert recorder is not None
        existing = [ep for c in self.cassettes for ep in c.episodes] if self.mode == "new_episodes" else []
        scrub = ScrubMap({**self.scrub.pairs})
        scrub.add(self.options.host, "target.example")
        short = self.options.host.split(".")[0]
        if short != self.options.host and len(short) >= 3 and not short.isdigit():
            scrub.add(short, "target")  # NetBIOS-style names in PSComputerName, InformationRecord.Computer
        if self.options.username:
            scrub.add(self.options.username, "user@example")
            account = self.options.username.rsplit("\\", 1)[-1].split("@", 1)[0]  # CONTOSO\ci or ci@contoso.com: ci
            if account != self.options.username:
                scrub.add(account, "user")
        base = self.cassettes[0] if existing else None
        cassette = Cassette(
            origin="recorded",
            target=base.target if base else _target(self.options, recorder.pool),
            pool=base.pool if base else recorder.pool,
            episodes=[*existing, *recorder.episodes],
            description=base.description if base else "",
            recorded_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            recorded_with={name: _version(name) for name in ("psbridge", "pypsrp", "psrpcore")},
        )
        cassette.save(self.path, scrub, recorder.secrets, verify=True)


def _of_host(cassettes: list[Cassette], host: str) -> list[Cassette]:
    """The recordings whose endpoint names `host`, so one directory can serve several targets; all of
    them when none does (recordings of one host, scrubbed ones, or replay without a host)."""
    mine = [c for c in cassettes if (urlsplit(c.target.endpoint).hostname or "") == host.lower()]
    return mine or cassettes


def _target(options: ConnectionOptions, pool: Sequence[object]) -> Target:
    from psbridge.replay.synthetic import pool_versions

    protocol, ps_version = pool_versions(pool)
    return Target(options.endpoint, options.configuration_name, protocol, ps_version)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"
