"""`psbridge cloudsync ... --via psrp|graph`: which backend runs a command, and the run's Graph client.

The backend: `--via`, else PSBRIDGE_CLOUDSYNC_VIA, else the config file's `[cloudsync] via`, else
`graph` when Graph app-only credentials are configured (tenant and client id from the group's
options, else PSBRIDGE_GRAPH_*, else the config file's `[graph]` table), else `psrp`. The runbooks
use the same Graph client for tenant facts, outside the cloudsync group.
Commands only Graph can do default to `graph` and refuse an explicit `--via psrp`.

The Graph client is the run's (`psbridge.targets.Targets.graph`): `--replay PATH` serves the Graph
cassettes under PATH (`PATH/graph/*.yaml`, or PATH itself when it is a cassette) with a fake token and
no network; `--record PATH` records the Graph exchanges (to PATH/graph/graph.yaml, or to the file PATH);
otherwise it calls Graph with MSAL app-only tokens. The client secret and the certificate password come
from the environment only.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import click

if TYPE_CHECKING:
    from psbridge.config import Config
    from psbridge.graph.auth import GraphCredentials
    from psbridge.graph.client import GraphClient
    from psbridge.targets import Targets

Via = Literal["psrp", "graph"]
VIA_ENV = "PSBRIDGE_CLOUDSYNC_VIA"  # psbridge.config.CLOUDSYNC_VIA_ENV, spelled here: --help loads no config module
_GRAPH = "psbridge.cloudsync.graph"

via_option = click.option(
    "--via",
    type=click.Choice(["psrp", "graph"]),
    help=f"psrp: AADCloudSyncTools on the agent; graph: Microsoft Graph app-only. [{VIA_ENV}, else graph "
    "when Graph credentials are configured, else psrp]",
)


@dataclasses.dataclass
class GraphOptions:
    """The group's Graph options (None: from the environment or the config file)."""

    tenant_id: str | None
    client_id: str | None
    certificate: Path | None


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
    if all(v is None for v in given.values()):
        return targets(ctx).credentials()
    return GraphCredentials.from_env({**environ, **{k: str(v) for k, v in given.items() if v is not None}})


def targets(ctx: click.Context) -> Targets:
    """The run's factory, told the Graph credentials the group's options give (when they give any)."""
    run: Targets = ctx.obj.targets()
    options = _options(ctx)
    if run.graph_credentials is None and (options.tenant_id or options.client_id or options.certificate):
        run.graph_credentials = credentials(ctx)
    return run


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
    from psbridge.config import cloudsync_via_from_env

    if (configured := cloudsync_via_from_env()) is not None:
        return configured
    config: Config | None = ctx.obj.own_config()
    if config is not None and config.cloudsync_via is not None:
        return config.cloudsync_via
    return "graph" if credentials(ctx) is not None else "psrp"


def graph_available(ctx: click.Context) -> bool:
    """Whether this run has a Graph to ask: cassettes under --replay, else configured credentials."""
    return targets(ctx).has_graph()


def graph_client(ctx: click.Context) -> GraphClient:
    """The run's Graph client, opened at first use and closed with the run (a recording is written then)."""
    return targets(ctx).graph()
