"""Fixtures for the Exchange Online REST client's tests: a client on a fake transport (exo_rest_fakes)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from exo_rest_fakes import FAST, TENANT, TOKEN
from requests.adapters import BaseAdapter

from psbridge.exchange.rest.client import ExoRestClient
from psbridge.graph.auth import StaticTokenProvider


@pytest.fixture
def make_rest() -> Iterator[Callable[..., tuple[ExoRestClient, list[float]]]]:
    """Factory: an ExoRestClient on a transport, whose waits are recorded instead of slept."""
    clients: list[ExoRestClient] = []

    def make(transport: BaseAdapter, **kwargs: Any) -> tuple[ExoRestClient, list[float]]:
        waits: list[float] = []
        kwargs.setdefault("retry", FAST)
        kwargs.setdefault("timeout", 30.0)
        kwargs.setdefault("tenant_id", TENANT)
        tokens = kwargs.pop("tokens", StaticTokenProvider(TOKEN))
        client = ExoRestClient(tokens, transport=transport, sleep=waits.append, **kwargs)
        clients.append(client)
        return client, waits

    yield make
    for client in clients:
        client.close()
