"""Microsoft Graph, app-only: credentials and tokens (`auth`), a small client (`client`), and HTTP
cassettes for record and replay (`recording`). Importing it loads no network library."""

from __future__ import annotations

from typing import TYPE_CHECKING

from psbridge import _lazy

if TYPE_CHECKING:
    from psbridge.graph.auth import GraphCredentials, MsalTokenProvider, StaticTokenProvider, TokenProvider
    from psbridge.graph.client import GRAPH_RETRY, GraphClient, segment
    from psbridge.graph.recording import GRAPH_DIR, author_graph_cassette, graph_cassette, has_graph_recordings

__all__ = [
    "GRAPH_DIR",
    "GRAPH_RETRY",
    "GraphClient",
    "GraphCredentials",
    "MsalTokenProvider",
    "StaticTokenProvider",
    "TokenProvider",
    "author_graph_cassette",
    "graph_cassette",
    "has_graph_recordings",
    "segment",
]
_LAZY = {
    "GraphCredentials": "psbridge.graph.auth",
    "MsalTokenProvider": "psbridge.graph.auth",
    "StaticTokenProvider": "psbridge.graph.auth",
    "TokenProvider": "psbridge.graph.auth",
    "GRAPH_RETRY": "psbridge.graph.client",
    "GraphClient": "psbridge.graph.client",
    "segment": "psbridge.graph.client",
    "GRAPH_DIR": "psbridge.graph.recording",
    "author_graph_cassette": "psbridge.graph.recording",
    "graph_cassette": "psbridge.graph.recording",
    "has_graph_recordings": "psbridge.graph.recording",
}
__getattr__ = _lazy.exporter(__name__, globals(), _LAZY)
