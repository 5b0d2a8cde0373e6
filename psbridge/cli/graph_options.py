"""`psbridge cloudsync ... --via psrp|graph`: which backend runs a command, and the run's Graph client.

The backend: `--via`, else PSBRIDGE_CLOUDSYNC_VIA, else the config file's `[cloudsync] via`, else
`graph` when Graph app-only credentials are configured (tenant and client id from the group's
options, else PSBRIDGE_GRAPH_*, else the config file's `[graph]` table), else `psrp`. The runbooks
use the same Graph client for tenant facts, outside the cloudsync group.
Commands only Graph can do default to `graph` and refuse an explicit `--via psrp`.

The Graph client follows the global options: `--replay PATH` serves the Graph cassettes under PATH
(`PATH/graph/*.yaml`, or PATH itself when it is a cassette) with a fake token and no network;
`--record FILE` records the Graph exchanges to FILE; otherwise it calls Graph with MSAL app-only
tokens. The client secret and the certificate password come from the environment only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click

from psbridge.errors import InputError

if TYPE_CHECKING:
    from psbridge.config import Config
    from psbridge.graph.auth import GraphCredentials, TokenProvider
    from psbridge.graph.client import GraphClient

Via = Literal["psrp", "graph"]
VIA_ENV = "PSBRIDGE_CLOUDSYNC_VIA"
_GRAPH = "psbridge.cloudsync.graph"
# --record-mode to the Graph cassette's record mode.
_RECORD_MODES = {"once": "once", "new_episodes": "new_episodes", "rewrite": "all"}

via_option = click.option(
    "--via",
    type=click.Choice(["psrp", "graph"]),
    help=f"psrp: AADCloudSyncTools on the agent; graph: Microsoft Graph app-only. [{VIA_ENV}, else graph "
    "when Graph credentials are configured, else psrp]",
)


@dataclasses.dataclass
class GraphOptions:
    """The group's Graph options (None: from the environment) and, once opened, the run's client."""

    tenant_id: str | None
    client_id: str | None
    certificate: Path | None
    client: GraphClient | None = None


def remember(ctx: click.Context, options: GraphOptions) -> None:
    ctx.meta[_GRAPH] = options


def _options(ctx: click.Context) -> GraphOptions:
    """The cloudsync group's Graph options; none (all from the environment or config) for other commands."""
    options: GraphOptions = ctx.meta.setdefault(_GRAPH, GraphOptions(None, None, None))
    return options


def credentials(ctx: click.Context, environ: Mapping[str, str] = os.environ) -> GraphCredentials | None:
    """The app's credentials: the group's options over PSBRIDGE_GRAPH_* over the config file's [graph];
    None without tenant and client id."""
    from psbridge.graph.auth import CERTIFICATE_ENV, CLIENT_ID_ENV, TENANT_ENV, GraphCredentials

    options = _options(ctx)
    given = {TENANT_ENV: options.tenant_id, CLIENT_ID_ENV: options.client_id, CERTIFICATE_ENV: options.certificate}
    found = GraphCredentials.from_env({**environ, **{k: str(v) for k, v in given.items() if v is not None}})
    if found is not None:
        return found
    config: Config | None = ctx.obj.own_config()
    table = dict(config.graph) if config is not None else {}
    if not (table.get("tenant_id") and table.get("client_id")):
        return None
    return GraphCredentials.build(**table)


def resolve(ctx: click.Context, via: str | None, *, graph_only: str | None = None) -> Via:
    """The backend of this command. `graph_only` names a command only Graph can run: `--via psrp` is refused."""
    if graph_only is not None:
        if via == "psrp":
            raise click.UsageError(
                f"{graph_only} needs --via graph: AADCloudSyncTools cannot do it (Graph app-only credentials "
                "in PSBRIDGE_GRAPH_TENANT_ID, PSBRIDGE_GRAPH_CLIENT_ID and a certificate or client secret)"
            )
        return "graph"
    if via is not None:
        return "graph" if via == "graph" else "psrp"
    configured = os.environ.get(VIA_ENV, "").strip().lower()
    if configured:
        if configured not in ("psrp", "graph"):
            raise InputError(f"{VIA_ENV} must be psrp or graph, not {configured!r}")
        return "graph" if configured == "graph" else "psrp"
    config: Config | None = ctx.obj.own_config()
    if config is not None and config.cloudsync_via is not None:
        return config.cloudsync_via
    return "graph" if credentials(ctx) is not None else "psrp"


def graph_available(ctx: click.Context) -> bool:
    """Whether this run has a Graph to ask: cassettes under --replay, else configured credentials."""
    replay = ctx.obj.params["replay"]
    if replay:
        from psbridge.graph.recording import has_graph_recordings

        return has_graph_recordings(replay)
    return credentials(ctx) is not None


def token_provider(creds: GraphCredentials) -> TokenProvider:
    """App-only tokens from MSAL (the secret and the certificate password from the environment)."""
    from psbridge.graph.auth import MsalTokenProvider

    return MsalTokenProvider(creds)


def graph_client(ctx: click.Context) -> GraphClient:
    """The run's Graph client, opened at first use and closed with the run (a recording is written then)."""
    options = _options(ctx)
    if options.client is None:
        options.client = _open(ctx, ctx.obj.params)
    return options.client


@contextlib.contextmanager
def replayed_client(ctx: click.Context, replay: str) -> Iterator[GraphClient]:
    """A Graph client served by the cassettes under `replay`: no sign-in; the Graph URL of the credentials,
    if any, is the one recorded. Each one replays every recorded answer afresh."""
    from psbridge.graph.auth import DEFAULT_GRAPH_URL, StaticTokenProvider
    from psbridge.graph.client import GraphClient
    from psbridge.graph.recording import graph_cassette

    creds = credentials(ctx)
    graph_url = creds.graph_url if creds is not None else DEFAULT_GRAPH_URL
    timeout = float(ctx.obj.params["timeout"])
    with (
        graph_cassette(replay, mode="none"),
        GraphClient(StaticTokenProvider(), graph_url=graph_url, timeout_s=timeout) as client,
    ):
        yield client


def _open(ctx: click.Context, p: dict[str, Any]) -> GraphClient:
    from psbridge.graph.client import GraphClient
    from psbridge.graph.recording import graph_cassette

    stack = contextlib.ExitStack()
    ctx.find_root().call_on_close(stack.close)
    if p["replay"]:
        return stack.enter_context(replayed_client(ctx, p["replay"]))
    timeout = float(p["timeout"])
    creds = credentials(ctx)
    if creds is None:
        raise InputError(
            "--via graph needs the app's tenant and client id (--tenant-id and --client-id, or "
            "PSBRIDGE_GRAPH_TENANT_ID and PSBRIDGE_GRAPH_CLIENT_ID) and a certificate (--certificate or "
            "PSBRIDGE_GRAPH_CERTIFICATE) or a client secret (PSBRIDGE_GRAPH_CLIENT_SECRET)"
        )
    tokens = token_provider(creds)
    if p["record"]:
        mode: Any = _RECORD_MODES[p["record_mode"]]
        recording = graph_cassette(  # secrets: the live list; sign-in at the configured host is never recorded
            p["record"], mode=mode, secrets=tokens.secrets, authority_hosts=(creds.authority_host,)
        )
        stack.enter_context(recording)
    return stack.enter_context(GraphClient(tokens, graph_url=creds.graph_url, timeout_s=timeout))
