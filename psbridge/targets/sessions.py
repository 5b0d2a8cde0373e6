"""Sessions to the named targets of a config file, and the check of every target at once."""

from __future__ import annotations

import concurrent.futures
import os
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic import SecretStr

from psbridge.config import ROLES, Config, ConfigError, Target, needs_password, resolve_password
from psbridge.errors import InputError, PsbridgeError, TransportError
from psbridge.options import ConnectionOptions
from psbridge.session import RetryPolicy, Session
from psbridge.targets.functions import probe
from psbridge.targets.models import TargetCheck, TargetsCheck, TargetSummary

_GRACE_S = 5.0  # beyond a check's own deadline, for closing the session


class Targets:
    """Sessions to a config's targets, asked for by role or by name, each opened on first use.

        with Targets(load_config()) as targets:
            check_version(targets.session("connect"))
            get_mailbox(targets.session("exo"), identity="adele@contoso.com")

    A target's password comes from the environment variable it names (`password_env`, else
    PSBRIDGE_PASSWORD), else from a prompt when `prompt` is true (by default: when stdin is a terminal),
    asked once per target. An `exo` target that declares its app-only settings signs in to Exchange
    Online in every runspace; an `exchange` target with `via` is reached through that jump-host target.

    With `replay` (a recordings file or directory) nothing touches the network: each target replays the
    recordings of its host (all those of its endpoint when none names the host), and a role the config
    has no target for replays the recordings of its endpoint, as `--replay` does without `--host`.
    """

    def __init__(
        self,
        config: Config,
        *,
        replay: str | os.PathLike[str] | None = None,
        prompt: bool | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.config = config
        self.replay = Path(replay) if replay is not None else None
        self.prompt = sys.stdin.isatty() if prompt is None else prompt
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._passwords: dict[str, SecretStr] = {}
        self._sessions: dict[str, Session] = {}
        self._lock = threading.RLock()

    def target(self, role_or_name: str) -> Target:
        """The target of that name, else the one of that role; raises TargetMissingError naming what to add."""
        return self.config.target(role_or_name)

    def options(self, role_or_name: str, overrides: Mapping[str, Any] | None = None) -> ConnectionOptions:
        """A target's ConnectionOptions (`overrides` win over its settings), with its password when live."""
        target = self.target(role_or_name)
        values = {**target.connection_values(), **(overrides or {})}
        if self.replay is None and needs_password(values):
            values["password"] = self._password(target, values)
        try:
            return ConnectionOptions.build(**values)
        except InputError as exc:
            raise ConfigError(f"target {target.name!r} in {self.config.path}: {exc}") from None

    def session(self, role_or_name: str) -> Session:
        """The session of a target (or, under replay, of a role without one), opened on first use."""
        with self._lock:
            found = self.config.find(role_or_name)
            key = found.name if found is not None else role_or_name  # a target asked for by role or name: one
            if key not in self._sessions:
                self._sessions[key] = self.open(key)
            return self._sessions[key]

    def open(self, role_or_name: str, *, timeout: float | None = None, retry: RetryPolicy | None = None) -> Session:
        """A new session to a target, which the caller closes (`session` shares one per target)."""
        timeout = timeout or self.timeout
        retry = retry or self.retry
        if self.replay is not None and role_or_name in ROLES and self.config.find(role_or_name) is None:
            return self._replay_only(role_or_name, timeout, retry)
        target = self.target(role_or_name)
        via = self.target(target.via) if target.via is not None else None
        options = self.options((via or target).name)
        deadline = timeout or (via or target).timeout or 120.0
        if self.replay is not None:
            session = Session.replay(self.replay, options=options, timeout=deadline, retry=retry)
        else:
            options.warn_if_cleartext()
            session = Session(options, timeout=deadline, retry=retry)
        if via is not None:
            from psbridge.exchange.connection import connect_exchange_server

            connect_exchange_server(session, target.host)
        elif target.role == "exo":
            self._sign_in(session, target)
        return session

    def _sign_in(self, session: Session, target: Target) -> None:
        connection = target.exo_connection()
        if connection is None:
            if self.replay is not None:
                return  # the recording decides whether there was a sign-in
            raise ConfigError(
                f"target {target.name!r} in {self.config.path} has no Exchange Online sign-in: add organization "
                "with app_id and certificate_thumbprint, or with managed_identity = true"
            )
        from psbridge.exchange.connection import connect_exchange_online

        connect_exchange_online(session, connection)

    def _replay_only(self, role: str, timeout: float | None, retry: RetryPolicy) -> Session:
        from psbridge.replay.transport import replay_options

        assert self.replay is not None
        options = replay_options("Microsoft.Exchange") if role == "exchange" else None
        return Session.replay(self.replay, options=options, timeout=timeout or 120.0, retry=retry)

    def _password(self, target: Target, values: Mapping[str, Any]) -> SecretStr:
        with self._lock:  # one prompt at a time, and once per target
            if target.name not in self._passwords:
                who = f"{values['username']}@{values['host']} (target {target.name})"
                self._passwords[target.name] = resolve_password(target.password_env, who=who, prompt=self.prompt)
            return self._passwords[target.name]

    def close(self) -> None:
        """Close every session opened through `session` (each signs out first where it signed in)."""
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            session.close()

    def __enter__(self) -> Targets:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def check_targets(targets: Targets, names: Sequence[str] = (), *, timeout: float = 30.0) -> TargetsCheck:
    """Probe every target (or those named) at once, each within `timeout` seconds; never raises for a target.

    Sessions are made first, one after another, so that any password prompt comes before the probes run
    concurrently. Raises ConfigError when there is nothing to check, TargetMissingError for a name that
    is not a target.
    """
    chosen = [targets.target(name) for name in names] or list(targets.config.targets.values())
    if not chosen:
        raise ConfigError(f"no targets to check: {targets.config.path} declares none")
    retry = RetryPolicy(attempts=2, total_s=timeout)
    opened: dict[str, Session | PsbridgeError] = {}
    for target in chosen:
        try:
            opened[target.name] = targets.open(target.name, timeout=timeout, retry=retry)
        except PsbridgeError as exc:
            opened[target.name] = exc
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(chosen)), thread_name_prefix="psbridge-check")
    try:
        futures = {t.name: pool.submit(_check, t, opened[t.name]) for t in chosen}
        concurrent.futures.wait(futures.values(), timeout=timeout + _GRACE_S)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a probe past its deadline is reported, not awaited
    results = []
    for target in chosen:
        future = futures[target.name]
        if future.done():
            results.append(future.result())
        else:
            late = f"no answer from {target.host} within {timeout:g}s"
            results.append(_row(target, (timeout + _GRACE_S) * 1000, late, "OperationTimeoutError", unreachable=True))
    return TargetsCheck(config=str(targets.config.path), targets=tuple(results))


def _check(target: Target, session: Session | PsbridgeError) -> TargetCheck:
    if isinstance(session, PsbridgeError):
        return _row(target, 0.0, str(session), type(session).__name__)
    started = time.monotonic()
    try:
        probe(session)
        error: PsbridgeError | None = None
    except PsbridgeError as exc:
        error = exc
    elapsed_ms = (time.monotonic() - started) * 1000
    try:
        session.close()
    except PsbridgeError as exc:
        error = error or exc
    if error is None:
        return _row(target, elapsed_ms)
    return _row(target, elapsed_ms, str(error), type(error).__name__, unreachable=isinstance(error, TransportError))


def _row(
    target: Target,
    elapsed_ms: float,
    error: str | None = None,
    error_type: str | None = None,
    *,
    unreachable: bool = False,
) -> TargetCheck:
    return TargetCheck(
        name=target.name, role=target.role, host=target.host, status="fail" if error else "pass",
        elapsed_ms=round(elapsed_ms, 1), error=error, error_type=error_type, unreachable=unreachable,
    )  # fmt: skip


def describe_targets(config: Config) -> list[TargetSummary]:
    """Each target as configured: its endpoint, sign-in and where its password comes from (never the value)."""
    out = []
    for target in config.targets.values():
        via = config.target(target.via) if target.via is not None else None
        values: dict[str, Any] = {}
        endpoint = error = None
        try:
            options = ConnectionOptions.build(**(via or target).connection_values())
            values, endpoint = options.model_dump(), options.endpoint
        except InputError as exc:
            error = str(exc)
        password = None
        if needs_password(values):
            variable = (via or target).password_variable
            password = f"${variable} ({'set' if os.environ.get(variable) else 'not set'})"
        summary = TargetSummary(
            name=target.name, role=target.role, host=target.host, endpoint=endpoint, auth=values.get("auth"),
            username=values.get("username"), password=password, sign_in=_sign_in(target), via=target.via, error=error,
        )  # fmt: skip
        out.append(summary)
    return out


def _sign_in(target: Target) -> str | None:
    connection = target.exo_connection()
    if connection is None:
        return None
    how = "managed identity" if connection.managed_identity else f"app {connection.app_id} with a certificate"
    return f"{connection.organization}, {how}"
