"""Contract tests for the Cloud Sync backends, napalm style: every operation, on every backend.

The backends are the registry `psbridge.cloudsync.backend.BACKENDS`; each test opens one over the demo
tenant's recordings, afresh (recorded_sessions/demo: cloudsync.yaml over remoting, graph/*.yaml over
Graph), through the real Session or GraphClient, and makes the same call on each (`CALLS`).

1. Every backend has every operation of the protocol, with the protocol's signature (mypy checks it too).
2. Every operation of every backend (the protocol's, and a backend's own extras) replays from a
   recording into the model it is annotated to return.
3. The reads agree: the demo tenant read by AADCloudSyncTools and by Graph is the same tenant.
4. A dry run sends nothing that changes anything, on every backend.
5. What a backend POSTs to Graph is sent once, never again (job control, provision on demand).
"""

from __future__ import annotations

import contextlib
import inspect
import typing
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cloudsync_data import DEMO_FILE, HEALTHY, QUARANTINED
from helpers import DEMO
from pydantic import BaseModel
from pytest_mock import MockerFixture

from psbridge import InputError, RetryPolicy
from psbridge.cloudsync.backend import BACKENDS, CloudSyncBackend, GraphBackend, PsrpBackend
from psbridge.graph.client import GraphClient
from psbridge.replay.transport import recorded_session
from psbridge.result import InvocationResult, Streams
from psbridge.session import Session
from psbridge.transport.mock import MockTransport

ADELE = "CN=Adele Vance,OU=Sales,DC=contoso,DC=example"

# The call each operation is checked with, the same on every backend: the demo's two jobs (HEALTHY is
# Active, QUARANTINED is in quarantine) and the contoso.example user Adele.
CALLS: dict[str, dict[str, Any]] = {
    "get_service_principal": {},
    "get_job": {},
    "get_job_status": {},
    "get_job_schedule": {},
    "get_job_settings": {},
    "get_job_schema": {"job_id": HEALTHY},
    "suspend_job": {"job_id": HEALTHY},
    "resume_job": {"job_id": QUARANTINED},
    "restart_job": {"job_id": QUARANTINED},
    "provision_on_demand": {"job_id": HEALTHY, "distinguished_name": ADELE},
    "get_deletion_threshold": {"job_id": HEALTHY},
    "set_deletion_threshold": {"job_id": HEALTHY, "value": 250},
    "get_tenant_sync": {},
}

# The GraphClient calls that change something: every one it has but GET.
GRAPH_WRITES = [verb for verb in ("post", "put", "patch", "delete") if hasattr(GraphClient, verb)]

# What a backend changes, as the tests see it: a description of each change it sent so far.
Writes = Callable[[], list[str]]


@contextlib.contextmanager
def _psrp(mocker: MockerFixture) -> Iterator[tuple[CloudSyncBackend, Writes]]:
    with recorded_session(DEMO_FILE, retry=RetryPolicy(attempts=1)) as session:
        invoke = mocker.spy(session, "invoke")

        def writes() -> list[str]:  # a command that is not idempotent changes something
            return [call.args[0].display() for call in invoke.call_args_list if not call.args[0].idempotent]

        yield PsrpBackend(session), writes


@contextlib.contextmanager
def _graph(mocker: MockerFixture) -> Iterator[tuple[CloudSyncBackend, Writes]]:
    with GraphClient.replay(DEMO) as client:
        spies = {verb: mocker.spy(client, verb) for verb in GRAPH_WRITES}

        def writes() -> list[str]:
            return [f"{verb.upper()} {call.args[0]}" for verb, spy in spies.items() for call in spy.call_args_list]

        yield GraphBackend(client), writes


# How the tests open each backend of the registry over the demo.
OPENERS: dict[str, Callable[[MockerFixture], contextlib.AbstractContextManager[tuple[CloudSyncBackend, Writes]]]] = {
    "psrp": _psrp,
    "graph": _graph,
}


def _methods(cls: type) -> dict[str, Callable[..., Any]]:
    return {name: fn for name, fn in vars(cls).items() if not name.startswith("_") and inspect.isfunction(fn)}


PROTOCOL = _methods(CloudSyncBackend)
OPERATIONS = [(via, name) for via, backend in BACKENDS.items() for name in sorted(_methods(backend))]
READS = sorted(name for name, fn in PROTOCOL.items() if "dry_run" not in inspect.signature(fn).parameters)


def _method(via: str, name: str) -> Callable[..., Any]:
    method: Callable[..., Any] = getattr(BACKENDS[via], name)  # type: ignore[index]
    return method


DRY_RUNS = [(via, name) for via, name in OPERATIONS if "dry_run" in inspect.signature(_method(via, name)).parameters]


def _id(case: tuple[str, str]) -> str:
    return f"{case[0]}-{case[1]}"


# -- 1. one interface ------------------------------------------------------------------------------


def test_the_registry_opens_every_backend() -> None:
    assert sorted(OPENERS) == sorted(BACKENDS), f"open every backend of BACKENDS over the demo: OPENERS in {__file__}"
    assert {"get_job_status", "suspend_job", "restart_job"} <= set(PROTOCOL)  # the discovery itself works


@pytest.mark.parametrize("via", sorted(BACKENDS))
def test_every_backend_has_every_operation_with_its_signature(via: str) -> None:
    backend = BACKENDS[via]  # type: ignore[index]
    for name, operation in PROTOCOL.items():
        assert hasattr(backend, name), f"{backend.__name__} lacks {name}"
        assert inspect.signature(getattr(backend, name)) == inspect.signature(operation), (
            f"{backend.__name__}.{name}{inspect.signature(getattr(backend, name))} is not the protocol's "
            f"{name}{inspect.signature(operation)}"
        )


# -- 2. every operation replays into its model ---------------------------------------------------------


@pytest.mark.parametrize("case", OPERATIONS, ids=_id)
def test_every_operation_replays_into_its_model(case: tuple[str, str], mocker: MockerFixture) -> None:
    via, name = case
    assert name in CALLS, f"{BACKENDS[via].__name__}.{name} has no call: add one to CALLS in {__file__}"  # type: ignore[index]
    returns = typing.get_type_hints(_method(via, name))["return"]
    with OPENERS[via](mocker) as (backend, _):
        result = getattr(backend, name)(**CALLS[name])

    assert isinstance(result, returns), f"{via} {name} returned {type(result).__name__}, not {returns.__name__}"
    assert isinstance(result, BaseModel)
    assert type(result).model_validate(result.model_dump()) == result, f"{via} {name}: the model does not round-trip"


# -- 3. both backends see the same tenant ---------------------------------------------------------------


@pytest.mark.parametrize("name", READS)
def test_the_reads_agree_between_backends(name: str, mocker: MockerFixture) -> None:
    seen = {}
    for via, opener in OPENERS.items():
        with opener(mocker) as (backend, _):
            seen[via] = _without_odata(getattr(backend, name)(**CALLS[name]).model_dump(mode="json"))

    first, *others = seen.values()
    assert all(other == first for other in others), f"{name}: the backends disagree: {seen}"


def _without_odata(value: Any) -> Any:
    """`value` without Graph's `@odata.*` annotations, which name the API version a backend asked."""
    if isinstance(value, dict):
        return {k: _without_odata(v) for k, v in value.items() if not k.startswith("@odata.")}
    if isinstance(value, list):
        return [_without_odata(v) for v in value]
    return value


# -- 4. a dry run changes nothing ------------------------------------------------------------------------


@pytest.mark.parametrize("case", DRY_RUNS, ids=_id)
def test_a_dry_run_sends_nothing_that_changes(case: tuple[str, str], mocker: MockerFixture) -> None:
    via, name = case
    with OPENERS[via](mocker) as (backend, writes):
        result = getattr(backend, name)(**CALLS[name], dry_run=True)
        sent = writes()

    assert result.dry_run is True
    assert sent == [], f"{via} {name} with dry_run=True sent {sent}"


@pytest.mark.parametrize("case", DRY_RUNS, ids=_id)
def test_without_a_dry_run_the_same_call_changes(case: tuple[str, str], mocker: MockerFixture) -> None:
    """The other side of the test above: the spies see the changes these calls send (so an empty list means none)."""
    via, name = case
    with OPENERS[via](mocker) as (backend, writes):
        result = getattr(backend, name)(**CALLS[name])
        sent = writes()

    assert (result.dry_run, len(sent)) == (False, 1), f"{via} {name} sent {sent}"


# -- 5. Graph writes are sent once -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(n for via, n in OPERATIONS if via == "graph"))
def test_what_the_graph_backend_posts_is_never_sent_twice(name: str, mocker: MockerFixture) -> None:
    with GraphClient.replay(DEMO) as client:
        post = mocker.spy(client, "post")
        getattr(GraphBackend(client), name)(**CALLS[name])

    assert all(call.kwargs.get("idempotent") is False for call in post.call_args_list), post.call_args_list


def test_a_backend_that_cannot_send_a_scope_refuses_it_before_sending_anything() -> None:
    transport = MockTransport(lambda c: InvocationResult(command=c.display(), output=(), streams=Streams()))
    backend = PsrpBackend(Session(transport=transport, retry=RetryPolicy(attempts=1)))

    with pytest.raises(InputError, match="another scope needs Graph"):
        backend.restart_job(job_id=QUARANTINED, scope="Watermark")
    assert transport.calls == []
