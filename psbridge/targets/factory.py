"""The one place that opens sessions and Graph clients: `Targets`, built once per run.

    with Targets(load_config()) as targets:                        # live
        check_version(targets.session("connect"))
    with Targets(load_config(), replay="recorded_sessions/demo") as targets:    # replayed, no network
        report = check_cloud_managed_readiness(targets)
    with Targets(load_config(), record="recordings/") as targets:  # live, each target recorded
        report = check_cloud_managed_readiness(targets)

A run is served in one of three ways, for every session and Graph client it opens:
- **live**: each target's session over PSRP, Graph with MSAL app-only tokens;
- **replay** (`replay=PATH`, a recording or a directory of them): nothing touches the network. Each
  target replays the recordings of its host (all those of its endpoint when none names the host); a
  role the config has no target for replays the recordings of its endpoint, as `--replay` does without
  `--host`. Graph replays `PATH/graph/*.yaml` (or PATH itself when it is a Graph cassette);
- **record** (`record=PATH`, `record_mode`, `scrub`): live, and what each target answered is written,
  scrubbed, when the run closes. PATH is a `.yaml` file when the run opens one session (or one Graph
  client), otherwise a directory: `PATH/<target>.yaml` per target and `PATH/graph/graph.yaml` for Graph,
  which is the layout `replay=PATH` reads back.

A target's password comes from the environment variable it names (`password_env`, else
PSBRIDGE_PASSWORD), else from a prompt when `prompt` is true (by default: when stdin is a terminal),
asked once per target. An `exo` target that declares its app-only settings signs in to Exchange Online
in every runspace; an `exchange` target with `via` is reached through that jump-host target. The
product settings of a target (the Exchange Online sign-in, an Exchange server's own endpoint) are read
here, not by the config file, which is data.

`Targets.of(...)` wraps sessions and a Graph client made elsewhere (a library caller's own, a test's) in
the same interface, so every runbook takes one `Targets`.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from psbridge.config import (
    NOT_A_FLAG_HINT,
    ROLES,
    Config,
    ConfigError,
    Target,
    needs_password,
    resolve_password,
)
from psbridge.errors import InputError
from psbridge.logs import protect
from psbridge.options import ConnectionOptions
from psbridge.retry import DEFAULT_RETRY, RetryPolicy
from psbridge.session import Session

if TYPE_CHECKING:
    from psbridge.exchange.connection import ExoConnection
    from psbridge.exchange.rest.client import ExoRestClient
    from psbridge.graph.auth import GraphCredentials, TokenProvider
    from psbridge.graph.client import GraphClient
    from psbridge.replay.cassette import ScrubMap
    from psbridge.replay.modes import RecordMode

DEFAULT_TIMEOUT_S = 120.0
GRAPH = "graph"  # the name a Graph client is recorded under
# Where the app's credentials come from, as error messages end.
_APP_CREDENTIALS = (
    "PSBRIDGE_GRAPH_TENANT_ID and PSBRIDGE_GRAPH_CLIENT_ID, or the config file's [graph] table) and a certificate "
    "(PSBRIDGE_GRAPH_CERTIFICATE) or a client secret (PSBRIDGE_GRAPH_CLIENT_SECRET)"
)
EXO_REST = "exo-rest"  # the name an Exchange Online REST client is recorded under (its recordings' directory)
_CASSETTE_SUFFIXES = (".yaml", ".yml")


class Targets:
    """Sessions to a config's targets, asked for by role or by name, each opened on first use; and the
    run's Graph client. A context manager: `close()` closes all of them (recordings are written then).

    `password_hint` ends the error of a target without a password: how else this caller takes one (the CLI
    takes none as a flag; a caller that does, such as an Ansible task's `password`, says so here)."""

    password_hint: str = NOT_A_FLAG_HINT

    def __init__(
        self,
        config: Config,
        *,
        replay: str | os.PathLike[str] | None = None,
        record: str | os.PathLike[str] | None = None,
        record_mode: RecordMode = "once",
        scrub: ScrubMap | None = None,
        prompt: bool | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        graph_credentials: GraphCredentials | None = None,
        graph_secrets: Mapping[str, str] | None = None,
    ) -> None:
        if replay is not None and record is not None:
            raise InputError("replay and record exclude each other (record with record_mode='new_episodes')")
        self.config = config
        self.replay = Path(replay) if replay is not None else None
        self.record = Path(record) if record is not None else None
        self.record_mode = record_mode
        self.scrub = scrub  # shared, not copied: names found while recording may still be added
        self.prompt = sys.stdin.isatty() if prompt is None else prompt
        self.timeout = timeout
        self.retry = retry or DEFAULT_RETRY
        self.graph_credentials = graph_credentials
        # The Graph app's secret held by the caller itself (an Ansible task's no_log option): `client_secret`
        # and `certificate_password`, read before the variables the credentials name, never written to them.
        self.graph_secrets = dict(graph_secrets or {})
        if unknown := set(self.graph_secrets) - {"client_secret", "certificate_password"}:
            raise InputError(f"graph_secrets takes client_secret and certificate_password, not {sorted(unknown)}")
        self._passwords: dict[str, SecretStr] = {}
        self._sessions: dict[str, Session] = {}
        self._graph: GraphClient | None = None
        self._exo_rest: ExoRestClient | None = None
        self._opened: list[Session | GraphClient | ExoRestClient] = []  # what this run opened itself and closes
        self._record_file_taken: str | None = None
        self._lock = threading.RLock()
        self._given = False  # made by `of`
        self._recorded_at: dt.datetime | None = None
        self._open_given_graph: Callable[[], GraphClient] | None = None
        for target in config.targets.values():
            exo_connection(target, config)  # a sign-in that cannot work is a config error now, not at first use

    @classmethod
    def of(
        cls,
        sessions: Mapping[str, Session | None] | None = None,
        *,
        graph: GraphClient | Callable[[], GraphClient] | None = None,
    ) -> Targets:
        """Targets that hand out the sessions given, by role or name (`{"connect": s1, "exo": s2}`), and
        `graph` (a client, or a function that opens one when it is first asked for); nothing else. The
        caller keeps them: `close()` leaves them open."""
        targets = cls(Config(Path("<given sessions>"), "given", exists=False), prompt=False)
        targets._sessions = {name: s for name, s in (sessions or {}).items() if s is not None}
        targets._open_given_graph = graph if callable(graph) else None
        targets._graph = None if callable(graph) else graph
        targets._given = True
        return targets

    # -- what there is ----------------------------------------------------------------------------------

    def target(self, role_or_name: str) -> Target:
        """The target of that name, else the one of that role; raises TargetMissingError naming what to add."""
        return self.config.target(role_or_name)

    def has(self, role_or_name: str) -> bool:
        """Whether a session for that role or name can be had without a TargetMissingError."""
        with self._lock:
            return role_or_name in self._sessions or self.config.find(role_or_name) is not None

    def via_jump_host(self, role_or_name: str = "exchange") -> bool:
        """Whether that (exchange) target is reached through a jump host (read with -OnPremises there)."""
        found = None if self._given else self.config.find(role_or_name)
        return found is not None and found.via is not None

    def options(self, role_or_name: str, overrides: Mapping[str, Any] | None = None) -> ConnectionOptions:
        """A target's ConnectionOptions (`overrides` win over its settings), with its password when live: the
        one in `overrides` (a library caller's, an Ansible task's), else the target's (see the module doc)."""
        target = self.target(role_or_name)
        values = {**connection_values(target), **(overrides or {})}
        if values.get("password"):
            protect([_secret_text(values["password"])])
        elif self.replay is None and needs_password(values):
            values["password"] = self._password(target, values)
        try:
            return ConnectionOptions.build(**values)
        except InputError as exc:
            raise ConfigError(f"target {target.name!r} in {self.config.path}: {exc}") from None

    def now(self) -> dt.datetime:
        """The time a run's verdicts are judged at (end of support, a backup's age): now, live; under replay,
        when the recordings were made (the newest `recorded_at`), so a replayed run tells the same story
        every day. A runbook's own `today`/`now` argument (the CLI's `--as-of`) wins over both."""
        if self.replay is None:
            return dt.datetime.now(dt.UTC)
        if self._recorded_at is None:
            from psbridge.replay.cassette import load_all

            times = [dt.datetime.fromisoformat(c.recorded_at) for c in load_all(self.replay) if c.recorded_at]
            self._recorded_at = max(times, default=dt.datetime.now(dt.UTC))
        return self._recorded_at

    # -- sessions ---------------------------------------------------------------------------------------

    def session(self, role_or_name: str, *, overrides: Mapping[str, Any] | None = None) -> Session:
        """The session of a target (or, under replay, of a role without one), opened on first use and
        shared by everything in the run that asks for it."""
        with self._lock:
            if role_or_name in self._sessions:
                return self._sessions[role_or_name]
            found = self.config.find(role_or_name)
            key = found.name if found is not None else role_or_name  # a target asked for by role or name: one
            if key not in self._sessions:
                self.adopt(key, self.open(key, overrides=overrides))
            return self._sessions[key]

    def open(
        self,
        role_or_name: str,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> Session:
        """A new session to a target, which the caller closes (`session` shares one per target)."""
        retry = retry or self.retry
        if self.replay is not None and role_or_name in ROLES and self.config.find(role_or_name) is None:
            options = _replay_endpoint("Microsoft.Exchange") if role_or_name == "exchange" else None
            return self.connect(options, name=role_or_name, timeout=timeout or self.timeout, retry=retry)
        target = self.target(role_or_name)
        via = self.target(target.via) if target.via is not None else None
        options = self.options((via or target).name, overrides)
        deadline = timeout or self.timeout or (via or target).timeout
        session = self.connect(options, name=target.name, timeout=deadline, retry=retry)
        if via is not None:
            from psbridge.exchange.connection import connect_exchange_server

            connect_exchange_server(session, target.host)
        elif target.role == "exo":
            self._sign_in(session, target)
        return session

    def connect(
        self,
        options: ConnectionOptions | None,
        *,
        name: str,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> Session:
        """A new session to the endpoint `options` describe (None: under replay, the recordings' own), served
        as this run is: live, replayed or recorded under `name`. The one place a Session is made."""
        timeout = timeout or self.timeout or DEFAULT_TIMEOUT_S
        retry = retry or self.retry
        if self.replay is not None:
            return _replayed(self.replay, "none", options, None, timeout=timeout, retry=retry)
        if options is None:
            raise InputError(f"{name}: a live session needs a host")
        options.warn_if_cleartext()
        if self.record is not None:
            path = self._record_path(name)
            return _replayed(path, self.record_mode, options, self.scrub, timeout=timeout, retry=retry)
        return Session(options, timeout=timeout, retry=retry)

    def adopt(self, name: str, session: Session) -> Session:
        """Share `session` under `name` for the rest of the run, and close it with the run."""
        with self._lock:
            self._sessions[name] = session
            self._opened.append(session)
            return session

    # -- Microsoft Graph --------------------------------------------------------------------------------

    def has_graph(self) -> bool:
        """Whether this run has a Graph to ask: recordings of it under replay, else app-only credentials."""
        if self._graph is not None or self._open_given_graph is not None:
            return True
        if self._given:
            return False
        if self.replay is not None:
            from psbridge.replay.graph_http import has_graph_recordings

            return has_graph_recordings(self.replay)
        return self.credentials() is not None

    def credentials(self) -> GraphCredentials | None:
        """Graph app-only credentials: as given, else PSBRIDGE_GRAPH_*, else the config file's [graph] table."""
        if self.graph_credentials is not None:
            return self.graph_credentials
        from psbridge.graph.auth import GraphCredentials

        found = GraphCredentials.from_env()
        if found is not None:
            return found
        table = dict(self.config.graph)
        return GraphCredentials.build(**table) if table.get("tenant_id") and table.get("client_id") else None

    def graph(self) -> GraphClient:
        """The run's Graph client, opened on first use and closed with the run."""
        with self._lock:
            if self._graph is None and self._open_given_graph is not None:
                self._graph = self._open_given_graph()
            elif self._graph is None:
                self._graph = self.open_graph()
                self._opened.append(self._graph)
            return self._graph

    def open_graph(self) -> GraphClient:
        """A new Graph client, which the caller closes (under replay, it serves every recorded answer afresh)."""
        from psbridge.graph.client import GraphClient

        if self._given:
            raise InputError("no Microsoft Graph client was given")
        creds = self.credentials()
        timeout = self.timeout or DEFAULT_TIMEOUT_S
        if self.replay is not None:
            from psbridge.graph.auth import DEFAULT_GRAPH_URL

            graph_url = creds.graph_url if creds is not None else DEFAULT_GRAPH_URL
            return GraphClient.replay(self.replay, graph_url=graph_url, timeout=timeout)
        if creds is None:
            raise InputError(
                f"Microsoft Graph needs the app's tenant and client id (--tenant-id and --client-id, {_APP_CREDENTIALS}"
            )
        tokens = self._tokens(creds)
        if self.record is not None:
            return GraphClient.record(
                self._record_path(GRAPH), tokens, mode=self.record_mode, graph_url=creds.graph_url,
                timeout=timeout, authority_hosts=(creds.authority_host,),
            )  # fmt: skip
        return GraphClient(tokens, graph_url=creds.graph_url, timeout=timeout)

    # -- Exchange Online over REST --------------------------------------------------------------------

    def exchange_online(self) -> Session | ExoRestClient:
        """What the Exchange Online functions are given in this run: the REST client when the exo target says
        `via = "rest"`, else the exo target's session (the jump host)."""
        target = None if self._given else self.config.find("exo")
        if target is not None and target.via == "rest":
            return self.exo_rest()
        return self.session("exo")

    def exo_rest(self, *, organization: str | None = None) -> ExoRestClient:
        """The run's Exchange Online REST client (docs/exchange-rest.md), opened on first use and closed with
        the run. It signs in app-only with the Graph app's credentials (`credentials()`), for the tenant
        `organization` names, else the exo target's `organization`, else the app's own tenant; under replay,
        the tenant the recordings were made for when none is named."""
        with self._lock:
            if self._exo_rest is None:
                self._exo_rest = self.open_exo_rest(organization=organization)
                self._opened.append(self._exo_rest)
            return self._exo_rest

    def has_exo_rest(self) -> bool:
        """Whether this run reaches Exchange Online over REST: recordings of it under replay, else an exo target
        with `via = "rest"`."""
        if self.replay is not None:
            from psbridge.exchange.rest.client import RECORDINGS_DIR
            from psbridge.replay.graph_http import graph_files

            return bool(graph_files(self.replay, RECORDINGS_DIR)) if self.replay.is_dir() else False
        target = self.config.find("exo")
        return target is not None and target.via == "rest"

    def open_exo_rest(self, *, organization: str | None = None) -> ExoRestClient:
        """A new Exchange Online REST client, which the caller closes (under replay, it serves every recorded
        answer afresh); see `exo_rest`."""
        from psbridge.exchange.rest.client import RECORDINGS_DIR, ExoRestClient
        from psbridge.exchange.rest.wire import DEFAULT_BASE_URL

        if self._given:
            raise InputError("no Exchange Online REST client was given")
        target = self.config.find("exo")
        rest_target = target if target is not None and target.via == "rest" else None
        base_url = f"https://{rest_target.host}" if rest_target is not None else DEFAULT_BASE_URL
        creds = self.credentials()
        tenant = organization or (rest_target.organization if rest_target else None)
        tenant = tenant or (creds.tenant_id if creds is not None else None)
        timeout = self.timeout or DEFAULT_TIMEOUT_S
        if self.replay is not None:
            from psbridge.exchange.rest.client import recorded_tenant

            tenant = tenant or recorded_tenant(self.replay)
            if tenant is None:
                raise InputError(f"{self.replay} holds no Exchange Online REST recordings ({RECORDINGS_DIR}/*.yaml)")
            return ExoRestClient.replay(self.replay, tenant_id=tenant, base_url=base_url, timeout=timeout)
        if creds is None or tenant is None:
            raise InputError(
                "Exchange Online over REST signs in with the Graph app's credentials: its tenant and client id "
                f"({_APP_CREDENTIALS}"
            )
        tokens = self._tokens(creds, scope=f"{base_url}/.default")
        if self.record is not None:
            return ExoRestClient.record(
                self._record_path(EXO_REST), tokens, tenant_id=tenant, mode=self.record_mode, base_url=base_url,
                timeout=timeout, authority_hosts=(creds.authority_host,),
            )  # fmt: skip
        return ExoRestClient(tokens, tenant_id=tenant, base_url=base_url, timeout=timeout)

    def _tokens(self, creds: GraphCredentials, *, scope: str | None = None) -> TokenProvider:
        """The app's tokens (for Graph, or `scope`), its secrets the caller's own (`graph_secrets`) first."""
        from psbridge.graph.auth import MsalTokenProvider

        held = {creds.client_secret_env: self.graph_secrets.get("client_secret"),
                creds.certificate_password_env: self.graph_secrets.get("certificate_password")}  # fmt: skip
        return MsalTokenProvider(creds, environ={**os.environ, **{k: v for k, v in held.items() if v}}, scope=scope)

    # -- the rest ---------------------------------------------------------------------------------------

    @property
    def records_to_one_file(self) -> bool:
        """Whether this run records to one `.yaml` file, which holds one session."""
        return self.record is not None and self.record.suffix.lower() in _CASSETTE_SUFFIXES

    def _record_path(self, name: str) -> Path:
        """Where a session or Graph client recorded under `name` is written (see the module docstring)."""
        assert self.record is not None
        if not self.records_to_one_file:
            if name in (GRAPH, EXO_REST):
                return self.record / name / f"{name}.yaml"
            return self.record / f"{name}.yaml"
        with self._lock:
            if self._record_file_taken not in (None, name):
                raise InputError(
                    f"--record {self.record} records one session, and this run opens several "
                    f"({self._record_file_taken}, {name}): record to a directory instead"
                )
            self._record_file_taken = name
        return self.record

    def _sign_in(self, session: Session, target: Target) -> None:
        connection = exo_connection(target, self.config)
        if connection is None:
            if self.replay is not None:
                return  # the recording decides whether there was a sign-in
            raise ConfigError(
                f"target {target.name!r} in {self.config.path} has no Exchange Online sign-in: add organization "
                "with app_id and certificate_thumbprint, or with managed_identity = true"
            )
        from psbridge.exchange.connection import connect_exchange_online

        connect_exchange_online(session, connection)

    def _password(self, target: Target, values: Mapping[str, Any]) -> SecretStr:
        with self._lock:  # one prompt at a time, and once per target
            if target.name not in self._passwords:
                who = f"{values['username']}@{values['host']} (target {target.name})"
                self._passwords[target.name] = resolve_password(
                    target.password_env, who=who, prompt=self.prompt, hint=self.password_hint
                )
            return self._passwords[target.name]

    def close(self) -> None:
        """Close every session and Graph client this run opened through `session` and `graph` (each signs
        out first where it signed in; recordings are written now). Sessions given to `of` stay open."""
        with self._lock:
            opened, self._opened = self._opened, []
            self._sessions = {} if not self._given else self._sessions
        for item in reversed(opened):
            item.close()

    def __enter__(self) -> Targets:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def connection_values(target: Target) -> dict[str, Any]:
    """ConnectionOptions fields for a target, without a password: its keys over its role's defaults (an
    Exchange server reached on its own endpoint: `http(s)://<host>/PowerShell`, Microsoft.Exchange, Kerberos)."""
    values: dict[str, Any] = {"host": target.host}
    if target.role == "exchange" and target.via is None:
        from psbridge.exchange.connection import exchange_server_options

        server = exchange_server_options(target.host, https=bool(target.tls))
        values.update(server.model_dump(include={"tls", "port", "path", "auth", "configuration_name"}))
    values.update(target.connection_values())
    return values


def exo_connection(target: Target, config: Config) -> ExoConnection | None:
    """The Exchange Online sign-in an exo target declares, or None; ConfigError when it cannot work."""
    if target.role != "exo" or target.via == "rest" or not target.declares_sign_in:
        return None  # over REST, the [graph] app signs in (Targets.exo_rest)
    from psbridge.exchange.connection import ExoConnection

    try:
        return ExoConnection.of(target)
    except ValueError as exc:
        raise ConfigError(f"{config.path}: target {target.name!r}: {exc}") from None


def _secret_text(password: SecretStr | str) -> str:
    return password.get_secret_value() if isinstance(password, SecretStr) else str(password)


def _replay_endpoint(configuration_name: str) -> ConnectionOptions:
    from psbridge.replay.transport import replay_options

    return replay_options(configuration_name)


def _replayed(
    path: Path,
    mode: RecordMode,
    options: ConnectionOptions | None,
    scrub: ScrubMap | None,
    *,
    timeout: float,
    retry: RetryPolicy,
) -> Session:
    from psbridge.replay.transport import recorded_session

    return recorded_session(path, mode=mode, options=options, scrub=scrub, timeout=timeout, retry=retry)
