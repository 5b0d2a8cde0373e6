"""Exchange Online over the REST endpoint EXO V3 uses (InvokeCommand), with no Windows host: the wire
(`wire`, every undocumented detail) and the client (`client`). docs/exchange-rest.md. Importing it loads no
network library."""

from __future__ import annotations

from typing import TYPE_CHECKING

from psbridge import _lazy

if TYPE_CHECKING:
    from psbridge.errors import ExoRestThrottledError as ExoRestThrottledError
    from psbridge.exchange.rest.client import EXO_REST_RETRY as EXO_REST_RETRY
    from psbridge.exchange.rest.client import ExoRestClient as ExoRestClient
    from psbridge.exchange.rest.client import RestAnswer as RestAnswer
    from psbridge.exchange.rest.client import RestRequest as RestRequest
    from psbridge.exchange.rest.wire import RateLimit as RateLimit
    from psbridge.exchange.rest.wire import WireSettings as WireSettings

__getattr__, __dir__ = _lazy.exporter(__name__, globals())
