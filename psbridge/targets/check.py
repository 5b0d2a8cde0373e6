"""The check of every target at once, and what each target is configured to be."""

from __future__ import annotations

import concurrent.futures
import os
import time
from collections.abc import Sequence
from typing import Any

from psbridge.config import Config, ConfigError, Target, needs_password
from psbridge.errors import InputError, PsbridgeError, TransportError
from psbridge.options import ConnectionOptions
from psbridge.retry import RetryPolicy
from psbridge.session import Session
from psbridge.targets.factory import Targets, connection_values, exo_connection
from psbridge.targets.functions import probe
from psbridge.targets.models import TargetCheck, TargetsCheck, TargetSummary

_GRACE_S = 5.0  # beyond a check's own deadline, for closing the session


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
            options = ConnectionOptions.build(**connection_values(via or target))
            values, endpoint = options.model_dump(), options.endpoint
        except InputError as exc:
            error = str(exc)
        password = None
        if needs_password(values):
            variable = (via or target).password_variable
            password = f"${variable} ({'set' if os.environ.get(variable) else 'not set'})"
        summary = TargetSummary(
            name=target.name, role=target.role, host=target.host, endpoint=endpoint, auth=values.get("auth"),
            username=values.get("username"), password=password, sign_in=_sign_in(target, config), via=target.via,
            error=error,
        )  # fmt: skip
        out.append(summary)
    return out


def _sign_in(target: Target, config: Config) -> str | None:
    connection = exo_connection(target, config)
    if connection is None:
        return None
    how = "managed identity" if connection.managed_identity else f"app {connection.app_id} with a certificate"
    return f"{connection.organization}, {how}"
