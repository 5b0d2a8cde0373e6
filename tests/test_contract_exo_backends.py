"""The Exchange Online functions over both backends (psbridge.exchange.backend): the same models, the same Changes.

Each call of tests/exo_demo_calls.py runs twice, each in a replay of its own: through the jump host
(recorded_sessions/demo/exo.yaml, the PSRP demo) and over REST (recorded_sessions/demo/exo-rest/exo.yaml,
generated from the same demo tenant by scripts/make_rest_demo.py). Both must return equal results, and
every Exchange Online function psbridge.exchange exports must be among the calls. The REST cassette's
freshness is checked with the generator's --check (slow).
"""

from __future__ import annotations

import inspect
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from exo_demo_calls import CALLS

import psbridge
import psbridge.exchange
from psbridge.exchange.backend import ExchangeOnline
from psbridge.exchange.rest.client import ExoRestClient
from psbridge.replay.transport import recorded_session

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "recorded_sessions" / "demo"
TENANT = "contoso.onmicrosoft.com"
ONE_ATTEMPT = psbridge.RetryPolicy(attempts=1)


def _either_backend() -> set[str]:
    """The functions psbridge.exchange exports whose first parameter takes either backend."""
    return {
        name
        for name in psbridge.exchange.__all__
        if inspect.isfunction(fn := getattr(psbridge.exchange, name))
        and next(iter(inspect.signature(fn).parameters.values())).annotation == "ExchangeOnline"
    }


# The functions that run on both backends but not in this table, and where they are checked instead.
ELSEWHERE = {
    "iter_mailboxes": "list_mailboxes collects it",
    "set_cloud_managed_batch": "the rollout's batches (tests/exchange_rest)",
    "rollout_cloud_managed": "the rollout over REST (tests/exchange_rest)",
}


def test_every_function_of_either_backend_is_called() -> None:
    called = {name for name, _ in CALLS}
    assert _either_backend() - called - set(ELSEWHERE) == set()
    assert called <= _either_backend()


def _psrp() -> Iterator[ExchangeOnline]:
    with recorded_session(DEMO / "exo.yaml", retry=ONE_ATTEMPT) as session:
        yield session


def _rest() -> Iterator[ExchangeOnline]:
    with ExoRestClient.replay(DEMO, tenant_id=TENANT, retry=ONE_ATTEMPT) as client:
        yield client


def _run(backend: Any, name: str, arguments: dict[str, Any]) -> Any:
    for session in backend():
        return getattr(psbridge.exchange, name)(session, **arguments)
    raise AssertionError("no session")


@pytest.mark.parametrize(("name", "arguments"), CALLS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CALLS)])
def test_both_backends_return_the_same(name: str, arguments: dict[str, Any]) -> None:
    over_psrp = _run(_psrp, name, arguments)
    over_rest = _run(_rest, name, arguments)
    assert over_rest == over_psrp  # models (and lists of them) compare field by field


def test_a_dry_run_over_rest_sends_no_write(mocker: Any) -> None:
    """The REST backend's dry run reads and sends no Set-*: the client's invoke, spied on."""
    with ExoRestClient.replay(DEMO, tenant_id=TENANT, retry=ONE_ATTEMPT) as client:
        spy = mocker.spy(client, "invoke")
        change = psbridge.exchange.set_mailbox_cloud_managed(
            client, identity="alex@contoso.example", enabled=True, dry_run=True
        )
    assert change.would_change and not change.changed
    assert [call.args[0] for call in spy.call_args_list] == ["Get-Mailbox"]


@pytest.mark.slow
def test_the_rest_demo_is_current() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_rest_demo.py"), "--check"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
