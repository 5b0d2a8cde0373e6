"""Microsoft Graph, app-only: credentials and tokens (`auth`) and a small client (`client`). Record and
replay are a transport (`GraphClient.replay`, `GraphClient.record`; psbridge.replay.graph_http). Importing
it loads no network library."""

from __future__ import annotations

from typing import TYPE_CHECKING

from psbridge import _lazy

if TYPE_CHECKING:
    from psbridge.graph.auth import GraphCredentials as GraphCredentials
    from psbridge.graph.auth import MsalTokenProvider as MsalTokenProvider
    from psbridge.graph.auth import StaticTokenProvider as StaticTokenProvider
    from psbridge.graph.auth import TokenProvider as TokenProvider
    from psbridge.graph.client import GRAPH_RETRY as GRAPH_RETRY
    from psbridge.graph.client import GraphClient as GraphClient
    from psbridge.graph.client import segment as segment

__getattr__, __dir__ = _lazy.exporter(__name__, globals())
