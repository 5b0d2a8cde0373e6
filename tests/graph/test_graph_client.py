"""GraphClient against a scripted Graph on a loopback socket: paging, retries, timeouts, typed errors.

Waits are recorded by the injected `sleep`, never slept, so retry budgets are checked by arithmetic.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import io
import json
import logging
import socket
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
from requests.adapters import BaseAdapter

from psbridge import errors
from psbridge.cli import terminal
from psbridge.graph.auth import StaticTokenProvider
from psbridge.graph.client import GraphClient, build_url, retry_after_s, segment
from psbridge.graph.permissions import required_permission
from psbridge.retry import RetryPolicy

JOBS = "/servicePrincipals/sp-1/synchronization/jobs"
JOB = f"{JOBS}/AD2AADProvisioning.fd1c9b9e8077402c8bc03a7186c8f976"


def graph_error(code: str, message: str, request_id: str = "req-7") -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "innerError": {"request-id": request_id}}}


# -- paging ------------------------------------------------------------------------------------------


def test_get_all_follows_next_link_across_three_pages(graph_server: Any, make_client: Any) -> None:
    base = f"{graph_server.url}/v1.0{JOBS}"
    graph_server.reply(
        "GET",
        f"/v1.0{JOBS}",
        {"json": {"value": [{"id": "a"}, {"id": "b"}], "@odata.nextLink": f"{base}?$skiptoken=p2"}},
    )
    graph_server.reply(
        "GET",
        f"/v1.0{JOBS}?$skiptoken=p2",
        {"json": {"value": [{"id": "c"}], "@odata.nextLink": f"{base}?$skiptoken=p3"}},
    )
    graph_server.reply("GET", f"/v1.0{JOBS}?$skiptoken=p3", {"json": {"value": [{"id": "d"}]}})
    client, waits = make_client()

    items = [item["id"] for item in client.get_all(JOBS)]

    assert items == ["a", "b", "c", "d"]
    assert [s["query"] for s in graph_server.seen] == ["", "$skiptoken=p2", "$skiptoken=p3"]
    assert all(s["headers"]["Authorization"] == f"Bearer {client.tokens.token()}" for s in graph_server.seen)
    assert waits == []


def test_next_link_to_another_host_is_not_followed(graph_server: Any, make_client: Any) -> None:
    graph_server.reply(
        "GET", f"/v1.0{JOBS}", {"json": {"value": [{"id": "a"}], "@odata.nextLink": "https://evil.example/v1.0/x"}}
    )
    client, _ = make_client()

    with pytest.raises(errors.UnexpectedOutputError, match="nextLink leaves"):
        list(client.get_all(JOBS))
    assert graph_server.count() == 1


def test_query_parameters_are_encoded_by_the_client(graph_server: Any, make_client: Any) -> None:
    graph_server.reply("GET", "/v1.0/servicePrincipals", {"json": {"value": []}})
    client, _ = make_client()
    odata_filter = "applicationTemplateId eq '1a4721b3-e57f-4451-ae87-ef078703ec94' & x=y#z"

    assert list(client.get_all("/servicePrincipals", params={"$filter": odata_filter})) == []
    [seen] = graph_server.seen
    assert dict(parse_qsl(seen["query"])) == {"$filter": odata_filter}
    assert " " not in seen["query"] and "&" not in seen["query"]


def test_segment_keeps_an_id_inside_its_segment() -> None:
    assert segment("a/b?c#d e") == "a%2Fb%3Fc%23d%20e"
    assert segment("AD2AADProvisioning.fd1c9b9e.5c291d3c-d29f") == "AD2AADProvisioning.fd1c9b9e.5c291d3c-d29f"
    for bad in ("", ".", ".."):
        with pytest.raises(errors.InputError):
            segment(bad)


@pytest.mark.parametrize("path", ["servicePrincipals", "/jobs?$top=1", "/a//b", "/a#b"])
def test_a_path_with_a_query_or_no_leading_slash_is_refused(path: str) -> None:
    with pytest.raises(errors.InputError):
        build_url("https://graph.microsoft.com", "v1.0", path)


@pytest.mark.parametrize("url", ["http://graph.example.com", "ftp://127.0.0.1", "https://h/?q=1"])
def test_tokens_only_go_to_https_or_loopback(url: str) -> None:
    with pytest.raises(errors.InputError):
        GraphClient(StaticTokenProvider(), graph_url=url)


# -- retries -----------------------------------------------------------------------------------------


def test_retry_after_in_seconds_is_honoured(graph_server: Any, make_client: Any) -> None:
    graph_server.reply("GET", f"/v1.0{JOB}", {"status": 429, "headers": {"Retry-After": "7"}}, {"json": {"id": "j"}})
    client, waits = make_client(timeout=60.0)  # the wait is inside the call's deadline

    assert client.get(JOB) == {"id": "j"}
    assert waits == [7.0]
    assert graph_server.count("GET") == 2


def test_retry_after_as_an_http_date_is_honoured(graph_server: Any, make_client: Any) -> None:
    when = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30), usegmt=True)
    graph_server.reply("GET", f"/v1.0{JOB}", {"status": 503, "headers": {"Retry-After": when}}, {"json": {"id": "j"}})
    client, waits = make_client(timeout=60.0)

    assert client.get(JOB) == {"id": "j"}
    [wait] = waits
    assert 27.0 < wait <= 30.0  # the header has whole seconds, and the clock moved on a little


def test_retry_after_parsing() -> None:
    now = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)
    assert retry_after_s("120", now) == 120.0
    assert retry_after_s("Sun, 01 Mar 2026 12:00:45 GMT", now) == 45.0
    assert retry_after_s("Sun, 01 Mar 2026 11:00:00 GMT", now) == 0.0  # a date in the past: go now
    assert retry_after_s("soon", now) is None
    assert retry_after_s(None, now) is None


@pytest.mark.parametrize("status", [429, 503, 504])
def test_throttling_statuses_are_retried(graph_server: Any, make_client: Any, status: int) -> None:
    graph_server.reply("GET", f"/v1.0{JOB}", {"status": status}, {"status": status}, {"json": {"id": "j"}})
    client, waits = make_client()

    assert client.get(JOB) == {"id": "j"}
    assert graph_server.count() == 3
    assert waits == [0.5, 1.0]  # no Retry-After: exponential backoff from the policy


def test_retries_stop_within_the_total_time(graph_server: Any, make_client: Any) -> None:
    graph_server.reply(
        "GET",
        f"/v1.0{JOB}",
        {"status": 429, "headers": {"Retry-After": "50"}, "json": graph_error("TooManyRequests", "Too many requests")},
    )
    client, waits = make_client(retry=RetryPolicy(attempts=10, total_s=120.0), timeout=600.0)

    with pytest.raises(errors.GraphThrottledError) as caught:
        client.get(JOB)

    assert waits == [50.0, 50.0]  # a third wait would pass the 120 s budget
    assert sum(waits) <= 120.0
    assert graph_server.count() == 3
    assert caught.value.transient and caught.value.status == 429 and caught.value.exit_code == 4
    assert "gave up after 3 attempt(s) and 100.0 s of waiting" in str(caught.value)
    assert "Graph asked for 50 s more" in str(caught.value)


def test_retries_stop_after_the_attempts(graph_server: Any, make_client: Any) -> None:
    graph_server.reply("GET", f"/v1.0{JOB}", {"status": 503})
    client, waits = make_client(retry=RetryPolicy(attempts=3, total_s=120.0, initial_s=0.5, jitter_s=0.0))

    with pytest.raises(errors.GraphThrottledError, match="gave up after 3 attempt"):
        client.get(JOB)
    assert graph_server.count() == 3
    assert len(waits) == 2


def test_a_retry_after_past_the_budget_is_not_waited_for(graph_server: Any, make_client: Any) -> None:
    graph_server.reply("GET", f"/v1.0{JOB}", {"status": 429, "headers": {"Retry-After": "600"}})
    client, waits = make_client()

    with pytest.raises(errors.GraphThrottledError, match="asked for 600 s more, past the 120 s retry budget"):
        client.get(JOB)
    assert waits == [] and graph_server.count() == 1


@pytest.mark.parametrize("failure", [{"status": 504}, {"status": 502}, {"reset": True}])
def test_a_post_that_may_have_reached_graph_is_sent_once(
    graph_server: Any, make_client: Any, failure: dict[str, Any]
) -> None:
    graph_server.reply("POST", f"/v1.0{JOB}/restart", failure, {"status": 204})
    client, waits = make_client()

    with pytest.raises(errors.OutcomeUnknownError) as caught:
        client.post(f"{JOB}/restart", {"criteria": {"resetScope": "Full"}})

    assert graph_server.count("POST") == 1
    assert waits == []
    assert "may or may not have taken effect" in str(caught.value)
    assert caught.value.exit_code == 3


@pytest.mark.parametrize("status", [429, 503])
def test_a_post_graph_did_not_process_is_retried(graph_server: Any, make_client: Any, status: int) -> None:
    graph_server.reply(
        "POST", f"{'/v1.0'}{JOB}/pause", {"status": status, "headers": {"Retry-After": "2"}}, {"status": 204}
    )
    client, waits = make_client()

    assert client.post(f"{JOB}/pause") is None
    assert graph_server.count("POST") == 2 and waits == [2.0]


def test_an_idempotent_post_is_retried_after_a_gateway_timeout(graph_server: Any, make_client: Any) -> None:
    graph_server.reply("POST", f"/v1.0{JOB}/provisionOnDemand", {"status": 504}, {"json": {"key": "{}", "value": "{}"}})
    client, _ = make_client()

    assert client.post(f"{JOB}/provisionOnDemand", {"parameters": []}, idempotent=True) == {"key": "{}", "value": "{}"}
    assert graph_server.count("POST") == 2


def test_a_get_is_retried_after_a_connection_reset(graph_server: Any, make_client: Any) -> None:
    graph_server.reply("GET", f"/v1.0{JOB}", {"reset": True}, {"json": {"id": "j"}})
    client, waits = make_client()

    assert client.get(JOB) == {"id": "j"}
    assert graph_server.count() == 2 and len(waits) == 1


def test_a_refused_connection_is_retried_even_for_a_post(make_client: Any) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client, waits = make_client(
        graph_url=f"http://127.0.0.1:{port}", retry=RetryPolicy(attempts=2, initial_s=0.1, jitter_s=0)
    )

    with pytest.raises(errors.ConnectError) as caught:
        client.post(f"{JOB}/start")
    assert not caught.value.command_sent and caught.value.exit_code == 3
    assert len(waits) == 1  # sent nowhere, so trying again was safe


@pytest.mark.parametrize(
    ("status", "error", "exit_code"),
    [
        (400, errors.GraphError, 4),
        (401, errors.AuthenticationError, 3),
        (403, errors.GraphPermissionError, 4),
        (404, errors.GraphNotFoundError, 4),
    ],
)
def test_client_errors_are_not_retried(
    graph_server: Any, make_client: Any, status: int, error: type, exit_code: int
) -> None:
    graph_server.reply("GET", f"/v1.0{JOB}", {"status": status, "json": graph_error("Some", "Nope")})
    client, waits = make_client()

    with pytest.raises(error) as caught:
        client.get(JOB)
    assert graph_server.count() == 1 and waits == []
    assert caught.value.exit_code == exit_code


# -- typed errors ------------------------------------------------------------------------------------


def test_a_403_names_the_missing_permission(graph_server: Any, make_client: Any) -> None:
    body = graph_error("Authorization_RequestDenied", "Insufficient privileges to complete the operation.", "rq-403")
    graph_server.reply("POST", f"/v1.0{JOB}/restart", {"status": 403, "json": body})
    client, _ = make_client()

    with pytest.raises(errors.GraphPermissionError) as caught:
        client.post(f"{JOB}/restart", {"criteria": {"resetScope": "Watermark"}})

    error = caught.value
    assert isinstance(error, errors.AccessDeniedError)
    assert error.permission == "Synchronization.ReadWrite.All"
    assert "Synchronization.ReadWrite.All" in str(error) and "Application.ReadWrite.OwnedBy" in str(error)
    assert str(error).startswith(
        f"POST /v1.0{JOB}/restart: HTTP 403 Authorization_RequestDenied: Insufficient privileges"
    )
    assert "(request-id rq-403)" in str(error)
    assert (error.status, error.code, error.request_id) == (403, "Authorization_RequestDenied", "rq-403")
    assert error.fields()["status"] == 403 and "\n" not in str(error)


@pytest.mark.parametrize(
    ("method", "path", "permission"),
    [
        ("GET", f"/v1.0{JOBS}", "Synchronization.Read.All"),
        ("GET", "/beta/servicePrincipals/sp-1/synchronization/secrets", "Synchronization.ReadWrite.All"),
        ("PUT", "/v1.0/servicePrincipals/sp-1/synchronization/secrets", "Synchronization.ReadWrite.All"),
        ("POST", f"/v1.0{JOB}/provisionOnDemand", "Synchronization.ReadWrite.All"),
        ("PUT", f"/v1.0{JOB}/schema", "Synchronization.ReadWrite.All"),
        ("GET", f"/v1.0{JOB}/schema", "CustomSecAttributeProvisioning.Read.All"),
        ("GET", f"/beta{JOB}/schema/", "CustomSecAttributeProvisioning.Read.All"),
        ("GET", f"/v1.0{JOB}", "Synchronization.Read.All"),
        ("GET", "/v1.0/organization", "Organization.Read.All"),
        ("GET", "/v1.0/directory/onPremisesSynchronization", "OnPremDirectorySynchronization.Read.All"),
        ("GET", "/v1.0/servicePrincipals", "Application.Read.All"),
        ("GET", "/v1.0/users", None),
    ],
)
def test_permission_table(method: str, path: str, permission: str | None) -> None:
    needed = required_permission(method, path)
    assert (needed.permission if needed else None) == permission


def test_reading_a_schema_names_its_least_privileged_permission_and_the_others() -> None:
    needed = required_permission("GET", f"/v1.0{JOB}/schema")
    assert needed is not None
    sentence = needed.sentence()
    assert sentence.startswith("the app probably lacks the Microsoft Graph application permission "
                               "CustomSecAttributeProvisioning.Read.All (least privileged")  # fmt: skip
    assert "Synchronization.Read.All" in sentence and "Application.ReadWrite.OwnedBy" in sentence


def test_the_on_premises_sync_permission_says_it_is_delegated_only() -> None:
    needed = required_permission("PATCH", "/beta/directory/onPremisesSynchronization/tenant-1")
    assert needed is not None
    assert "delegated" in needed.sentence() and "Global Administrator" in needed.sentence()


def test_a_404_names_the_object(graph_server: Any, make_client: Any) -> None:
    body = graph_error("ResourceNotFound", "The resource could not be found.", "rq-404")
    graph_server.reply("GET", f"/v1.0{JOBS}/no%2Fsuch", {"status": 404, "json": body})
    client, _ = make_client()

    with pytest.raises(errors.GraphNotFoundError) as caught:
        client.get(f"{JOBS}/{segment('no/such')}")

    error = caught.value
    assert isinstance(error, errors.ObjectNotFoundError)
    assert f"no such object: {JOBS}/no/such" in str(error)
    assert error.target_name == f"{JOBS}/no/such"
    assert "HTTP 404 ResourceNotFound: The resource could not be found. (request-id rq-404)" in str(error)


def test_a_token_echoed_in_an_error_is_redacted(graph_server: Any, make_client: Any) -> None:
    client, _ = make_client()
    token = client.tokens.token()
    graph_server.reply(
        "GET", f"/v1.0{JOB}", {"status": 401, "json": graph_error("InvalidAuthenticationToken", f"Bad token {token}")}
    )

    with pytest.raises(errors.AuthenticationError) as caught:
        client.get(JOB)
    assert token not in str(caught.value) and "<secret>" in str(caught.value)


def test_a_body_that_is_not_json_is_unexpected_output(graph_server: Any, make_client: Any) -> None:
    graph_server.reply("GET", f"/v1.0{JOB}", {"body": b"<html>proxy</html>"})
    client, _ = make_client()

    with pytest.raises(errors.UnexpectedOutputError, match="not JSON"):
        client.get(JOB)


# -- timeouts ----------------------------------------------------------------------------------------


def test_every_request_carries_what_is_left_of_its_deadline(
    graph_server: Any, make_client: Any, recording_session: Any
) -> None:
    graph_server.reply(
        "GET",
        f"/v1.0{JOBS}",
        {"json": {"value": [{"id": "a"}], "@odata.nextLink": f"{graph_server.url}/v1.0{JOBS}?$skiptoken=2"}},
    )
    graph_server.reply("GET", f"/v1.0{JOBS}?$skiptoken=2", {"json": {"value": [{"id": "b"}]}})
    graph_server.reply("GET", f"/v1.0{JOB}", {"status": 503}, {"json": {"id": "j"}})
    for method in ("POST", "PUT"):
        graph_server.reply(method, f"/v1.0{JOB}/x", {"status": 204})
    client, _ = make_client(session=recording_session, timeout=7.5)

    list(client.get_all(JOBS))
    client.get(JOB)
    client.post(f"{JOB}/x")
    client.put(f"{JOB}/x", {"value": []})

    assert len(recording_session.calls) == 6
    assert all(6.0 < call["timeout"] <= 7.5 for call in recording_session.calls), recording_session.calls


def test_a_slow_answer_times_out_at_the_calls_deadline_without_a_retry_past_it(
    graph_server: Any, make_client: Any
) -> None:
    """`timeout` bounds the whole call: a GET that times out is not tried again when no time is left."""
    graph_server.reply("GET", f"/v1.0{JOB}", {"delay": 1.0, "json": {"id": "late"}})
    client, waits = make_client(timeout=0.2, retry=RetryPolicy(attempts=2, initial_s=0.1, jitter_s=0))

    with pytest.raises(errors.OperationTimeoutError) as caught:
        client.get(JOB)
    assert caught.value.deadline_s == 0.2
    assert graph_server.count() == 1 and waits == []


def test_a_post_that_times_out_is_sent_once(graph_server: Any, make_client: Any) -> None:
    graph_server.reply("POST", f"/v1.0{JOB}/start", {"delay": 1.0, "status": 204})
    client, waits = make_client(timeout=0.2)

    with pytest.raises(errors.OutcomeUnknownError):
        client.post(f"{JOB}/start")
    assert graph_server.count("POST") == 1 and waits == []


def test_tls_to_a_plain_http_graph_says_so_and_is_not_retried(graph_server: Any, make_client: Any) -> None:
    """An https Graph URL that reaches a plain-HTTP port: the TLS problem is named, not retried (a broken
    connection would be), and the error keeps no requests exception (nor its request) in its chain."""
    client, waits = make_client(graph_url=graph_server.url.replace("http://", "https://"))
    with pytest.raises(errors.ConnectError, match="did not answer in TLS") as caught:
        client.get(JOB)
    assert not caught.value.transient and waits == [] and caught.value.attempt == 1
    assert caught.value.__context__ is None and caught.value.__cause__ is None


def test_a_timeout_keeps_no_request_in_its_chain(graph_server: Any, make_client: Any) -> None:
    graph_server.reply("GET", f"/v1.0{JOB}", {"delay": 1.0, "json": {"id": "late"}})
    client, _ = make_client(timeout=0.2)
    with pytest.raises(errors.OperationTimeoutError) as caught:
        client.get(JOB)
    assert caught.value.__context__ is None and caught.value.__cause__ is None


# -- logging -----------------------------------------------------------------------------------------


def test_one_log_event_per_request_without_token_or_body(
    graph_server: Any, make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    graph_server.reply(
        "PUT",
        "/v1.0/servicePrincipals/sp-1/synchronization/secrets",
        {"status": 503},
        {"status": 204, "headers": {"request-id": "rq-put"}},
    )
    client, _ = make_client()
    caplog.set_level(logging.DEBUG)

    client.put(
        "/servicePrincipals/sp-1/synchronization/secrets", {"value": [{"key": "AppKey", "value": "body-marker-41"}]}
    )

    events = [r.getMessage() for r in caplog.records if "psbridge.graph.request" in r.getMessage()]
    assert len(events) == 2
    assert "status=503" in events[0] and "attempt=1" in events[0]
    assert "status=204" in events[1] and "attempt=2" in events[1] and "request_id='rq-put'" in events[1]
    assert "path='/v1.0/servicePrincipals/sp-1/synchronization/secrets'" in events[1]
    assert client.tokens.token() not in caplog.text
    assert "body-marker-41" not in caplog.text


def test_cli_logging_shows_requests_but_never_the_token(
    graph_server: Any, make_client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    graph_server.reply("GET", f"/v1.0{JOB}", {"json": {"id": "j"}, "headers": {"request-id": "rq-cli"}})
    client, _ = make_client()
    terminal.configure(verbosity=2, json_lines=True)

    client.get(JOB)

    err = capsys.readouterr().err
    [line] = [json.loads(line) for line in err.splitlines() if "psbridge.graph.request" in line]
    assert (line["method"], line["status"], line["request_id"], line["attempt"]) == ("GET", 200, "rq-cli", 1)
    assert client.tokens.token() not in err and "Bearer" not in err


# -- the transport seam ------------------------------------------------------------------------------


class ScriptedTransport(BaseAdapter):
    """A requests transport adapter answering from a script: no socket at all."""

    def __init__(self, *answers: tuple[int, Any, dict[str, str]]) -> None:
        super().__init__()
        self.answers = list(answers)
        self.sent: list[requests.PreparedRequest] = []
        self.closed = False

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        status, body, headers = self.answers.pop(0)
        response = requests.Response()
        response.status_code, response.request, response.url = status, request, str(request.url)
        response.headers.update(headers)
        response.raw = io.BytesIO(b"" if body is None else json.dumps(body).encode())
        return response

    def close(self) -> None:
        self.closed = True


def test_the_transport_carries_every_request_and_closes_with_the_client() -> None:
    transport = ScriptedTransport((429, None, {"Retry-After": "3"}), (200, {"id": "j"}, {}))
    waits: list[float] = []

    with GraphClient(StaticTokenProvider("tok-seam"), transport=transport, sleep=waits.append) as client:
        assert client.get(JOB) == {"id": "j"}

    assert waits == [3.0]
    assert [r.url for r in transport.sent] == [f"https://graph.microsoft.com/v1.0{JOB}"] * 2
    assert all(r.headers["Authorization"] == "Bearer tok-seam" for r in transport.sent)
    assert transport.closed
