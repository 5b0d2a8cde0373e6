"""ExoRestClient's reliability: retries of reads on the service's own wait, writes never sent twice unless
surely not run, every call under its deadline against a service that stops answering, secrets never shown.

Waits are recorded by the injected `sleep`, never slept; the deadline tests use a transport that blocks.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
import requests
from exo_rest_fakes import TOKEN, Blocking, FakeExo, rest_error
from pytest_mock import MockerFixture

from psbridge import errors
from psbridge.errors import ExoRestThrottledError
from psbridge.retry import RetryPolicy

CONCURRENCY = "You have reached the maximum number of concurrent requests per tenant. Please wait and try again"
OK: dict[str, Any] = {"json": {"value": [{"Identity": "u1"}]}}
SLACK_S = 3.0  # scheduling on a shared machine; never a performance claim
PATIENT = RetryPolicy(attempts=10, total_s=120, initial_s=0.0, max_wait_s=0.01, jitter_s=0.0)


# -- reads are retried, waiting what the service asks --------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"Rate-Limit-Remaining": "0", "Rate-Limit-Reset": "6"}, 6.0),
        ({"Retry-After": "9", "Rate-Limit-Reset": "6"}, 9.0),  # Retry-After first
        ({}, 0.5),  # no hint: the policy's backoff
    ],
)
def test_a_read_meeting_429_waits_the_services_reset_and_is_retried(
    make_rest: Any, headers: dict[str, str], wait: float
) -> None:
    fake = FakeExo({"status": 429, "json": rest_error("Too many requests"), "headers": headers}, OK)
    client, waits = make_rest(fake)

    answer = client.invoke("Get-Mailbox", {"Identity": "u1"}, idempotent=True)

    assert answer.rows == ({"Identity": "u1"},)
    assert waits == [wait] and len(fake.seen) == 2


@pytest.mark.parametrize("status", [400, 500])
def test_the_concurrency_error_is_retried_whatever_its_status(make_rest: Any, status: int) -> None:
    fake = FakeExo({"status": status, "json": rest_error(CONCURRENCY)}, OK)
    client, waits = make_rest(fake)

    assert client.invoke("Get-Mailbox", idempotent=True).rows == ({"Identity": "u1"},)
    assert len(fake.seen) == 2 and len(waits) == 1


def test_a_read_meeting_503_is_retried(make_rest: Any) -> None:
    fake = FakeExo({"status": 503, "headers": {"Retry-After": "2"}}, OK)
    client, waits = make_rest(fake)
    assert client.invoke("Get-Mailbox", idempotent=True).rows and waits == [2.0]


def test_a_replication_delay_is_retried_for_a_read_only(make_rest: Any) -> None:
    delayed = rest_error(
        "Ex1|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The object "
        "couldn't be found; this may be caused by replication delay."
    )
    read = FakeExo({"status": 404, "json": delayed}, OK)
    client, _ = make_rest(read)
    assert client.invoke("Get-Mailbox", {"Identity": "u1"}, idempotent=True).rows
    assert len(read.seen) == 2

    write = FakeExo({"status": 404, "json": delayed}, OK)
    client, _ = make_rest(write)
    with pytest.raises(errors.TransientRemoteError):
        client.invoke("Set-Mailbox", {"Identity": "u1"}, idempotent=False)
    assert len(write.seen) == 1


def test_throttling_that_outlasts_the_retries_says_so(make_rest: Any) -> None:
    fake = FakeExo(*[{"status": 429, "headers": {"Retry-After": "1"}}] * 4)
    client, waits = make_rest(fake)

    with pytest.raises(ExoRestThrottledError, match=r"gave up after 4 attempt\(s\) and 3\.0 s of waiting") as caught:
        client.invoke("Get-Mailbox", idempotent=True)
    assert caught.value.transient and waits == [1.0] * 3


def test_a_wait_past_the_deadline_is_not_waited(make_rest: Any) -> None:
    fake = FakeExo({"status": 429, "headers": {"Rate-Limit-Reset": "300"}})
    client, waits = make_rest(fake, timeout=30.0)

    with pytest.raises(ExoRestThrottledError, match="asked for 300 s more"):
        client.invoke("Get-Mailbox", idempotent=True)
    assert waits == [] and len(fake.seen) == 1


# -- writes: sent again only when surely not run -------------------------------------------------------------


@pytest.mark.parametrize(
    "refusal",
    [{"status": 429, "headers": {"Rate-Limit-Reset": "2"}}, {"status": 500, "json": rest_error(CONCURRENCY)}],
)
def test_a_write_refused_at_admission_is_sent_again(make_rest: Any, refusal: dict[str, Any]) -> None:
    fake = FakeExo(refusal, {"json": {"value": []}})
    client, _ = make_rest(fake)

    client.invoke("Set-Mailbox", {"Identity": "u1", "IsExchangeCloudManaged": True}, idempotent=False)

    assert len(fake.seen) == 2


@pytest.mark.parametrize(
    "lost",
    [
        requests.ReadTimeout("read timed out"),
        requests.ConnectionError("Connection aborted: RemoteDisconnected"),
        {"status": 503},
        {"status": 504},
    ],
    ids=["timeout", "reset", "503", "504"],
)
def test_a_write_whose_answer_is_lost_is_outcome_unknown_and_sent_once(
    make_rest: Any, mocker: MockerFixture, lost: Any
) -> None:
    fake = FakeExo(lost, {"json": {"value": []}})
    sent = mocker.spy(fake, "send")
    client, waits = make_rest(fake)

    with pytest.raises(errors.OutcomeUnknownError, match="may or may not have taken effect") as caught:
        client.invoke("Set-Mailbox", {"Identity": "u1", "IsExchangeCloudManaged": True}, idempotent=False)

    assert sent.call_count == 1 and waits == []
    assert caught.value.command == "Set-Mailbox -Identity u1 -IsExchangeCloudManaged"


def test_a_batch_of_writes_whose_answer_is_lost_is_outcome_unknown(make_rest: Any, mocker: MockerFixture) -> None:
    from psbridge.exchange.rest.client import RestRequest

    fake = FakeExo(requests.ReadTimeout("read timed out"))
    sent = mocker.spy(fake, "send")
    client, _ = make_rest(fake)

    with pytest.raises(errors.OutcomeUnknownError):
        client.batch([RestRequest("Set-Mailbox", {"Identity": "u1"}, idempotent=False)])
    assert sent.call_count == 1


# -- deadlines against a service that stops answering -----------------------------------------------------


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("idempotent", "expected"), [(True, errors.OperationTimeoutError), (False, errors.OutcomeUnknownError)]
)
def test_a_call_ends_at_its_deadline_when_the_service_stops_answering(
    make_rest: Any, idempotent: bool, expected: type[Exception]
) -> None:
    blocking = Blocking()
    client, _ = make_rest(blocking, timeout=1.5, retry=PATIENT)

    started = time.monotonic()
    with pytest.raises(expected):
        client.invoke("Set-Mailbox" if not idempotent else "Get-Mailbox", {"Identity": "u1"}, idempotent=idempotent)
    elapsed = time.monotonic() - started

    assert elapsed <= 1.5 + SLACK_S, elapsed
    assert blocking.timeouts and all(t is not None and 0 < t <= 1.5 for t in blocking.timeouts)
    if not idempotent:
        assert len(blocking.timeouts) == 1  # a write is never sent twice


@pytest.mark.timeout(30)
def test_each_page_has_the_deadline_and_a_silent_second_page_ends_in_time(make_rest: Any) -> None:
    first = {
        "json": {
            "value": [{"Identity": "u1"}],
            "@odata.nextLink": "https://outlook.office365.com/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand?%24skiptoken=2",
        }
    }
    blocking = Blocking()
    fake = FakeExo(
        handler=lambda request: first if not fake.seen[1:] else blocking.send(request, timeout=fake.timeouts[-1])
    )
    client, _ = make_rest(fake, retry=PATIENT, timeout=30.0)

    stream = client.pages("Get-Mailbox", timeout=1.0)
    assert next(stream).rows == ({"Identity": "u1"},)
    started = time.monotonic()
    with pytest.raises(errors.OperationTimeoutError):
        next(stream)

    assert time.monotonic() - started <= 1.0 + SLACK_S
    assert all(0 < t <= 1.0 for t in fake.timeouts)


# -- secrets ------------------------------------------------------------------------------------------------


def test_logs_and_errors_never_hold_the_token_headers_or_bodies(
    make_rest: Any, caplog: pytest.LogCaptureFixture
) -> None:
    echo = rest_error(f"Ex1|System.Exception|The header Authorization: Bearer {TOKEN} is not valid")
    fake = FakeExo({"status": 429}, {"status": 400, "json": echo, "headers": {"request-id": "rq-1"}})
    client, _ = make_rest(fake)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(errors.RemoteCommandError) as caught:
        client.invoke("Get-Mailbox", {"Identity": "body-marker-77"}, idempotent=True)

    events = [r.getMessage() for r in caplog.records if "psbridge.exo_rest.request" in r.getMessage()]
    assert len(events) == 2 and "status=429" in events[0] and "request_id='rq-1'" in events[1]
    shown = " ".join([caplog.text, str(caught.value), repr(caught.value.__dict__)])
    assert TOKEN not in shown
    assert "body-marker-77" not in caplog.text and "X-AnchorMailbox" not in caplog.text
    assert caught.value.__cause__ is None and caught.value.__context__ is None
