"""The reliability cases over REST: Exchange Online's InvokeCommand (psbridge.exchange.rest) under faults.

The tenant is tests/simulated_exo_rest's, with its fault hooks; the calls are psbridge.exchange's public
functions given an ExoRestClient, as a user makes them. What the tenant did is read from its counters and
state, at the server's side:
- **Deadline:** a tenant that stops answering a read: the call ends at its deadline, as a timeout.
- **A write whose answer is lost** (the tenant acted, the connection dropped): OutcomeUnknownError, sent once,
  and the address is added: the caller must read before trying again. The cloud-managed switch, which sets
  a value, is idempotent: sent again, as over the jump host, and switched once.
- **A write refused at admission** (429): not run, so sent again, and switched once.
- **A gateway's 503 on a write**: it may have run: OutcomeUnknownError, sent once.
- **Throttled reads**: retried after the service's wait, and answered.
- **Secrets**: a refused token is in no message and no log line.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from simulated_exo_rest import Fault, Mailbox, demo_tenant

import psbridge.exchange as ex
from psbridge import errors
from psbridge.exchange.rest.client import ExoRestClient
from psbridge.graph.auth import StaticTokenProvider

TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOi.simulated-exo-token.c2lnbmF0dXJl"
ALEX = "alex@contoso.example"
ADELE, ADDED = "adele@contoso.example", "adele.v@contoso.example"  # Adele is cloud-managed: writable
SLACK_S = 2.0  # a shared, noisy machine


def _mailbox(tenant: Any, upn: str) -> Mailbox:
    found: Mailbox = next(m for m in tenant.directory.mailboxes if m.upn == upn)
    return found


def _alex(tenant: Any) -> Mailbox:
    return _mailbox(tenant, ALEX)


@pytest.fixture
def waits() -> list[float]:
    return []


def client_for(tenant: Any, waits: list[float], *, timeout: float = 10.0, token: str = TOKEN) -> ExoRestClient:
    return ExoRestClient(
        StaticTokenProvider(token), tenant_id="contoso.onmicrosoft.com", transport=tenant, timeout=timeout,
        sleep=waits.append,
    )  # fmt: skip


@pytest.fixture
def hung() -> Iterator[Fault]:
    fault = Fault("hang", cmdlet="Get-Mailbox")
    yield fault
    fault.release()


def test_a_read_the_tenant_never_answers_ends_at_its_deadline(hung: Fault, waits: list[float]) -> None:
    tenant = demo_tenant(token=TOKEN, faults=[hung])
    started = time.monotonic()
    with client_for(tenant, waits, timeout=2.0) as client, pytest.raises(errors.OperationTimeoutError):
        ex.get_mailbox(client, identity=ALEX)
    assert time.monotonic() - started < 2.0 + SLACK_S
    assert tenant.counters.writes == {}


def test_a_write_whose_answer_is_lost_is_outcome_unknown_and_sent_once(waits: list[float]) -> None:
    """Adding an address is not idempotent: its write is never sent twice."""
    tenant = demo_tenant(token=TOKEN, faults=[Fault("lost", cmdlet="Set-Mailbox")])
    with client_for(tenant, waits) as client, pytest.raises(errors.OutcomeUnknownError, match="not sent again"):
        ex.set_mailbox_email_addresses(client, identity=ADELE, add=[ADDED])
    assert tenant.counters.writes["Set-Mailbox"] == 1 and f"smtp:{ADDED}" in _mailbox(tenant, ADELE).email_addresses
    with client_for(tenant, waits) as client:  # read before trying again: already done
        again = ex.set_mailbox_email_addresses(client, identity=ADELE, add=[ADDED])
    assert not again.changed and tenant.counters.writes["Set-Mailbox"] == 1


def test_an_idempotent_switch_whose_answer_is_lost_is_sent_again_safely(waits: list[float]) -> None:
    """The cloud-managed switch sets a value, so sending it twice changes nothing more (as over the jump host,
    which retries it too): the second answer arrives, and the report says what the first read found."""
    tenant = demo_tenant(token=TOKEN, faults=[Fault("lost", cmdlet="Set-Mailbox")])
    with client_for(tenant, waits) as client:
        change = ex.set_mailbox_cloud_managed(client, identity=ALEX, enabled=True)
    assert change.changed and _alex(tenant).is_exchange_cloud_managed
    assert tenant.counters.writes["Set-Mailbox"] == 2 and tenant.counters.modified["Set-Mailbox"] == 1


def test_a_write_refused_at_admission_is_sent_again_and_switched_once(waits: list[float]) -> None:
    tenant = demo_tenant(token=TOKEN, faults=[Fault("429", cmdlet="Set-Mailbox")])
    with client_for(tenant, waits) as client:
        change = ex.set_mailbox_cloud_managed(client, identity=ALEX, enabled=True)
    assert change.changed and _alex(tenant).is_exchange_cloud_managed
    assert tenant.counters.faults["429"] == 1 and tenant.counters.writes["Set-Mailbox"] == 1
    assert len(waits) == 1  # one wait, the service's (Retry-After or Rate-Limit-Reset), before the resend


def test_a_gateway_error_on_a_write_is_outcome_unknown_and_sent_once(waits: list[float]) -> None:
    tenant = demo_tenant(token=TOKEN, faults=[Fault("503", cmdlet="Set-Mailbox", count=3)])
    with client_for(tenant, waits) as client, pytest.raises(errors.OutcomeUnknownError):
        ex.set_mailbox_email_addresses(client, identity=ADELE, add=[ADDED])
    assert tenant.counters.faults["503"] == 1 and waits == []


def test_throttled_reads_are_retried_and_answered(waits: list[float]) -> None:
    tenant = demo_tenant(token=TOKEN, faults=[Fault("429", cmdlet="Get-Mailbox", count=2)])
    with client_for(tenant, waits) as client:
        mailboxes = ex.list_mailboxes(client)
    assert len(mailboxes) == 4 and tenant.counters.faults["429"] == 2 and len(waits) == 2


def test_a_refused_token_is_in_no_message_and_no_log_line(waits: list[float]) -> None:
    tenant = demo_tenant(token="the-only-token-the-tenant-takes")
    with (
        structlog.testing.capture_logs() as logged,
        client_for(tenant, waits) as client,
        pytest.raises(errors.AuthenticationError) as refused,
    ):
        ex.get_mailbox(client, identity=ALEX)
    assert TOKEN not in str(refused.value) and TOKEN not in repr(refused.value.fields())
    assert logged and all(TOKEN not in repr(line) for line in logged)
