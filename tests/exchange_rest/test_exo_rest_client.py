"""ExoRestClient through a fake transport: what goes on the wire, paging, warnings, errors, `$batch`.

Every answer here is SYNTHETIC, shaped as public implementations show the wire (docs/exchange-rest.md).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from exo_rest_fakes import BASE, BATCH, INVOKE, TENANT, TOKEN, FakeExo, rest_error

from psbridge import errors
from psbridge.errors import ExoRestThrottledError
from psbridge.exchange.rest import wire
from psbridge.exchange.rest.client import RestAnswer, RestRequest
from psbridge.exchange.rules import SOURCE_OF_AUTHORITY

ROW = {
    "Identity": "CBergin",
    "EmailAddresses@odata.type": "#Collection(String)",
    "EmailAddresses": ["SMTP:cbergin@contoso.com", "smtp:cb@contoso.com"],
    "WhenChanged@data.type": "System.DateTime",
    "WhenChanged": "2024-04-10T08:56:22.0000000+00:00",
    "Guid@data.type": "System.Guid",
    "Guid@odata.type": "#Guid",
    "Guid": "9feb45ad-0000-4000-8000-000000000001",
    "IsDirSynced": False,
    "LastExchangeChangedTime": None,
}
PLAIN = {k: v for k, v in ROW.items() if "@" not in k}


def page(
    rows: list[dict[str, Any]], *, next_token: str | None = None, warnings: list[str] | None = None, base: str = BASE
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "@odata.context": f"{base}/adminapi/beta/{TENANT}/$metadata#Collection(Exchange.GenericHashTable)",
        "value": rows,
    }
    if next_token:
        body["@odata.nextLink"] = f"{base}/adminapi/beta/{TENANT}/InvokeCommand?%24skiptoken={next_token}"
    if warnings:
        body["@adminapi.warnings"] = warnings
    return {"json": body}


# -- what is sent ----------------------------------------------------------------------------------------


def test_a_write_sends_the_cmdlet_input_with_a_tagged_hashtable_and_the_headers(make_rest: Any) -> None:
    fake = FakeExo(page([]))
    client, _ = make_rest(fake)

    answer = client.invoke(
        "Set-Mailbox",
        {
            "Identity": "a@contoso.com",
            "EmailAddresses": {"Add": ["smtp:x@contoso.com"], "Remove": []},
            "IsExchangeCloudManaged": True,
            "Alias": None,
        },
        idempotent=False,
    )

    [sent] = fake.seen
    assert sent.method == "POST" and sent.url == INVOKE
    assert json.loads(sent.body or b"") == {
        "CmdletInput": {
            "CmdletName": "Set-Mailbox",
            "Parameters": {
                "Identity": "a@contoso.com",
                "EmailAddresses": {
                    "@odata.type": "#Exchange.GenericHashTable",
                    "Add": ["smtp:x@contoso.com"],
                    "Remove": [],
                },
                "IsExchangeCloudManaged": True,
            },
        }
    }
    h = sent.headers
    assert h["Authorization"] == f"Bearer {TOKEN}"
    assert h["Content-Type"] == h["Accept"] == "application/json"
    assert h["X-CmdletName"] == "Set-Mailbox"
    assert h["X-AnchorMailbox"] == f"APP:SystemMailbox{{bb558c35-97f1-4cb9-8ff7-d53741dc928c}}@{TENANT}"
    assert h["Prefer"] == "odata.maxpagesize=1000"
    assert h["X-ResponseFormat"] == "json"
    assert uuid.UUID(h["client-request-id"]) and uuid.UUID(h["connection-id"])
    assert answer == RestAnswer(
        (),
        (),
        "Set-Mailbox -Identity a@contoso.com -EmailAddresses @{Add=smtp:x@contoso.com; "
        "Remove=} -IsExchangeCloudManaged",
        None,
    )


def test_select_page_size_and_anchor_are_sent_as_configured(make_rest: Any) -> None:
    fake = FakeExo(page([]))
    client, _ = make_rest(
        fake, page_size=250, anchor="UPN:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@{tenant}"
    )

    list(client.pages("Get-Mailbox", {"ResultSize": "Unlimited"}, select=["Identity", "Guid"]))

    [sent] = fake.seen
    parts = urlsplit(str(sent.url))
    assert parse_qsl(parts.query) == [("$select", "Identity,Guid")]
    assert sent.headers["Prefer"] == "odata.maxpagesize=250"
    assert (
        sent.headers["X-AnchorMailbox"].startswith("UPN:SystemMailbox{") and TENANT in sent.headers["X-AnchorMailbox"]
    )


@pytest.mark.parametrize(
    ("call", "says"),
    [
        (lambda c: c.invoke("Get Mailbox", idempotent=True), "Verb-Noun"),
        (lambda c: c.invoke("Get-Mailbox", {"Identity": 1.5}, idempotent=True), "not float"),
        (lambda c: c.invoke("Get-Mailbox", {"Id entity": "x"}, idempotent=True), "parameter name"),
        (lambda c: c.invoke("Get-Mailbox", select=["a,b"], idempotent=True), "property name"),
        (lambda c: list(c.pages("Get-Mailbox", page_size=1001)), "page size"),
        (lambda c: c.batch([]), "1 to 10"),
        (lambda c: c.batch([RestRequest("Get-User", idempotent=True)] * 11), "1 to 10"),
    ],
)
def test_bad_input_is_refused_before_anything_is_sent(make_rest: Any, call: Any, says: str) -> None:
    fake = FakeExo()
    client, _ = make_rest(fake)
    with pytest.raises(errors.InputError, match=says):
        call(client)
    assert fake.seen == []


# -- what comes back -------------------------------------------------------------------------------------


def test_pages_follow_next_link_with_the_same_body_and_strip_annotations(make_rest: Any) -> None:
    fake = FakeExo(page([ROW], next_token="p2", warnings=["first"]), page([ROW], next_token="p3"), page([ROW]))
    client, waits = make_rest(fake)

    answers = list(client.pages("Get-Mailbox", {"ResultSize": "Unlimited"}))

    assert [a.rows for a in answers] == [(PLAIN,)] * 3
    assert [a.warnings for a in answers] == [("first",), (), ()]
    assert [urlsplit(str(r.url)).query for r in fake.seen] == ["", "%24skiptoken=p2", "%24skiptoken=p3"]
    assert len({r.body for r in fake.seen}) == 1  # the same body, re-POSTed
    assert all(r.method == "POST" for r in fake.seen) and waits == []


def test_invoke_collects_every_page_and_every_warning(make_rest: Any) -> None:
    micro = "Micro delay applied. Actual delayed: 21 msecs, Enforced: True, Capped delay: 21 msecs"
    fake = FakeExo(page([ROW], next_token="p2", warnings=[micro]), page([ROW, ROW], warnings=["second"]))
    client, _ = make_rest(fake)

    answer = client.invoke("Get-Mailbox", idempotent=True)

    assert len(answer.rows) == 3 and answer.warnings == (micro, "second")
    assert answer.command == "Get-Mailbox"


def test_pages_are_streamed_one_request_per_page_read(make_rest: Any) -> None:
    fake = FakeExo(page([ROW], next_token="p2"), page([ROW]))
    client, _ = make_rest(fake)

    stream = client.pages("Get-Mailbox")
    next(stream)
    assert len(fake.seen) == 1
    next(stream)
    assert len(fake.seen) == 2


def test_a_next_link_to_another_origin_is_not_followed(make_rest: Any) -> None:
    fake = FakeExo(page([ROW], next_token="p2", base="https://evil.example"))
    client, _ = make_rest(fake)

    with pytest.raises(errors.UnexpectedOutputError, match="nextLink leaves"):
        client.invoke("Get-Mailbox", idempotent=True)
    assert len(fake.seen) == 1


def test_rate_limit_headers_are_read_tolerantly() -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert wire.rate_limit({"Rate-Limit-Remaining": "7", "Rate-Limit-Reset": "12"}, now) == wire.RateLimit(7, 12.0)
    assert wire.rate_limit({"rate-limit-reset": "Thu, 01 Jan 2026 00:00:30 GMT"}, now) == wire.RateLimit(None, 30.0)
    assert wire.rate_limit({"Rate-Limit-Reset": "2026-01-01T00:00:05Z"}, now) == wire.RateLimit(None, 5.0)
    assert wire.rate_limit({"Rate-Limit-Remaining": "many", "Rate-Limit-Reset": "soon"}, now) == wire.RateLimit(
        None, None
    )
    assert wire.rate_limit({"Content-Type": "application/json"}, now) is None


def test_the_answer_carries_the_rate_limit_headers(make_rest: Any) -> None:
    fake = FakeExo({**page([]), "headers": {"Rate-Limit-Remaining": "3", "Rate-Limit-Reset": "2"}})
    client, _ = make_rest(fake)
    assert client.invoke("Set-Mailbox", {"Identity": "a"}, idempotent=False).rate_limit == wire.RateLimit(3, 2.0)


# -- errors ------------------------------------------------------------------------------------------------

NOT_FOUND = (
    "Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation "
    "couldn't be performed because object 'nobody' couldn't be found on 'AM4PR01A001DC01.PROD.OUTLOOK.COM'."
)
SYNCED = (
    'Ex0A3F5B|Microsoft.Exchange.Configuration.Tasks.TaskException|The operation on mailbox "cb" failed '
    "because it's out of the current user's write scope. The action 'Set-Mailbox', 'EmailAddresses', can't be "
    "performed on the object 'cb' because the object is being synchronized from your on-premises "
    "organization."
)


@pytest.mark.parametrize(
    ("status", "body", "expected", "says"),
    [
        (404, rest_error(NOT_FOUND, target="nobody"), errors.ObjectNotFoundError, "couldn't be found"),
        (400, rest_error(NOT_FOUND), errors.ObjectNotFoundError, "ManagementObjectNotFoundException"),
        (400, rest_error(SYNCED), errors.SyncedObjectError, SOURCE_OF_AUTHORITY[:40]),
        (400, rest_error("", inner=NOT_FOUND), errors.ObjectNotFoundError, "couldn't be found"),
        (403, rest_error("", inner="Access denied."), errors.AccessDeniedError, "Exchange.ManageAsApp"),
        (
            403,
            rest_error("The user doesn't have the role Mail Recipients assigned."),
            errors.AccessDeniedError,
            "role Mail Recipients",
        ),
        (
            401,
            {"error": {"code": "Unauthorized", "message": "token expired"}},
            errors.AuthenticationError,
            "refused the app's token",
        ),
        (500, {"error": {"code": "InternalServerError", "message": "boom"}}, errors.RemoteCommandError, "boom"),
    ],
)
def test_errors_are_classified_as_on_the_powershell_path(
    make_rest: Any, status: int, body: dict[str, Any], expected: type[Exception], says: str
) -> None:
    fake = FakeExo({"status": status, "json": body, "headers": {"request-id": "req-42"}})
    client, _ = make_rest(fake)

    with pytest.raises(expected) as caught:
        client.invoke("Set-Mailbox", {"Identity": "nobody"}, idempotent=False)

    error = caught.value
    assert type(error) is expected
    text = str(error)
    assert says in text and "(request-id req-42)" in text and "\n" not in text
    assert text.startswith(f"Set-Mailbox -Identity nobody: HTTP {status}")
    assert error.target == f"outlook.office365.com/{TENANT}"  # type: ignore[attr-defined]
    assert len(fake.seen) == 1


def test_not_found_keeps_the_exception_type_and_the_object(make_rest: Any) -> None:
    client, _ = make_rest(FakeExo({"status": 404, "json": rest_error(NOT_FOUND, target="nobody")}))
    with pytest.raises(errors.ObjectNotFoundError) as caught:
        client.invoke("Get-Mailbox", {"Identity": "nobody"}, idempotent=True)
    assert caught.value.exception_type == "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"
    assert caught.value.target_name == "nobody"


def test_without_a_request_id_header_the_client_request_id_is_shown(make_rest: Any) -> None:
    fake = FakeExo({"status": 404, "json": rest_error(NOT_FOUND)})
    client, _ = make_rest(fake)
    with pytest.raises(errors.ObjectNotFoundError) as caught:
        client.invoke("Get-Mailbox", {"Identity": "nobody"}, idempotent=True)
    assert f"(request-id {fake.seen[0].headers['client-request-id']})" in str(caught.value)


# -- $batch ------------------------------------------------------------------------------------------------


def test_batch_matches_answers_by_id_and_returns_a_failed_item_as_its_error(make_rest: Any) -> None:
    def reply(request: Any) -> dict[str, Any]:
        ids = [r["id"] for r in json.loads(request.body)["requests"]]
        answers = [
            {"id": i, "status": 200, "headers": {}, "body": {"value": [], "@adminapi.warnings": [f"w{i}"]}}
            for i in ids
            if i != "2"
        ]
        answers.append({"id": "2", "status": 404, "body": rest_error(NOT_FOUND)})
        return {"json": {"responses": answers[::-1]}}  # out of order

    fake = FakeExo(handler=reply)
    client, _ = make_rest(fake)
    requests_ = [
        RestRequest("Set-Mailbox", {"Identity": f"u{n}", "IsExchangeCloudManaged": True}, idempotent=False)
        for n in range(1, 4)
    ]

    answers = client.batch(requests_)

    assert [type(a).__name__ for a in answers] == ["RestAnswer", "ObjectNotFoundError", "RestAnswer"]
    first, failed, third = answers
    assert isinstance(first, RestAnswer) and first.warnings == ("w1",) and third.warnings == ("w3",)  # type: ignore[union-attr]
    assert isinstance(failed, errors.ObjectNotFoundError)
    assert failed.command == "Set-Mailbox -Identity u2 -IsExchangeCloudManaged" and failed.target.endswith(TENANT)
    [sent] = fake.seen
    assert f"(request-id {sent.headers['client-request-id']})" in str(failed)
    assert sent.url == BATCH and sent.headers["Prefer"] == "odata.continue-on-error"
    assert "X-AnchorMailbox" in sent.headers and "Authorization" in sent.headers
    items = json.loads(sent.body or b"")["requests"]
    assert [i["id"] for i in items] == ["1", "2", "3"]
    assert all(i["method"] == "POST" and i["url"] == INVOKE for i in items)
    assert items[1]["headers"]["X-CmdletName"] == "Set-Mailbox"
    assert items[1]["body"] == {
        "CmdletInput": {"CmdletName": "Set-Mailbox", "Parameters": {"Identity": "u2", "IsExchangeCloudManaged": True}}
    }


def test_a_throttled_item_is_returned_not_raised(make_rest: Any) -> None:
    busy = rest_error(
        "You have reached the maximum number of concurrent requests per tenant. Please wait and try again"
    )
    fake = FakeExo({"json": {"responses": [{"id": "1", "status": 429, "headers": {"Retry-After": "4"}, "body": busy}]}})
    client, _ = make_rest(fake)

    [item] = client.batch([RestRequest("Set-Mailbox", {"Identity": "u1"}, idempotent=False)])

    assert isinstance(item, ExoRestThrottledError) and item.retry_after == 4.0 and item.not_processed
    assert len(fake.seen) == 1
