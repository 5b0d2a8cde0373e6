"""The simulated Exchange Online REST tenant honours the InvokeCommand wire (tests/simulated_exo_rest/).

Every request goes through a plain `requests.Session` with the tenant mounted, built here by hand the way
public clients build it, so these tests pin the wire the REST client must speak, independently of it.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from helpers import DEMO
from simulated_exo_rest import (
    BASE,
    CONCURRENCY,
    SYSTEM_MAILBOX,
    ExoRestTenant,
    Fault,
    Mailbox,
    WriteBudget,
    demo_tenant,
)

from psbridge import SyncedObjectError
from psbridge import exchange as ex
from psbridge.exchange import models
from psbridge.exchange.rules import EXO_ERRORS, micro_delays, opath_filter
from psbridge.replay.transport import recorded_session
from psbridge.result import ErrorRecordData
from psbridge.retry import RetryPolicy

TENANT = "2f1c4e5a-7b8d-4c9e-a0f1-b2c3d4e5f6a7"
ANCHOR = f"APP:{SYSTEM_MAILBOX}@{TENANT}"
WIRE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}\+00:00$")


def session(tenant: ExoRestTenant) -> requests.Session:
    http = requests.Session()
    http.mount(BASE, tenant)
    return http


def headers(cmdlet: str, **extra: str) -> dict[str, str]:
    return {
        "Authorization": "Bearer token-1", "Content-Type": "application/json", "Accept": "application/json",
        "X-CmdletName": cmdlet, "X-AnchorMailbox": ANCHOR, "client-request-id": str(uuid.uuid4()), **extra,
    }  # fmt: skip


def body(cmdlet: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"CmdletInput": {"CmdletName": cmdlet, "Parameters": parameters or {}}}


Call = Callable[..., requests.Response]


@pytest.fixture
def tenant() -> ExoRestTenant:
    return demo_tenant(token="token-1")


@pytest.fixture
def call(tenant: ExoRestTenant) -> Iterator[Call]:
    http = session(tenant)

    def post(cmdlet: str, parameters: dict[str, Any] | None = None, *, select: str = "", url: str = "", **h: str):
        target = url or f"{BASE}/adminapi/beta/{TENANT}/InvokeCommand" + (f"?$select={select}" if select else "")
        return http.post(target, headers=headers(cmdlet, **h), json=body(cmdlet, parameters), timeout=5)

    yield post
    http.close()


def detail(response: requests.Response) -> list[str]:
    """The three parts of the error's details message: Ex code, exception type, text."""
    return response.json()["error"]["details"][0]["message"].split("|")


def many(n: int) -> ExoRestTenant:
    return ExoRestTenant([Mailbox(f"user{i:05d}@contoso.example") for i in range(n)], token="token-1")


# -- reads: identities, rows, $select ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "identity",
    ["adele@contoso.example", "ADELE@contoso.example", "Adele Vance", "adele", "adele@contoso.mail.onmicrosoft.com",
     "5b0e7a1c-3f4d-4e2a-9c6b-8d1f2e3a4b5c"],
)  # fmt: skip
def test_get_mailbox_resolves_identity_as_exchange_does(call: Call, identity: str) -> None:
    answer = call("Get-Mailbox", {"Identity": identity})
    assert answer.status_code == 200
    assert [row["UserPrincipalName"] for row in answer.json()["value"]] == ["adele@contoso.example"]


def test_rows_are_json_typed_with_odata_annotations(call: Call) -> None:
    page = call("Get-Mailbox", {"Identity": "adele@contoso.example"}).json()
    assert page["@odata.context"].endswith(f"/adminapi/beta/{TENANT}/$metadata#Collection(Exchange.GenericHashTable)")
    assert "@odata.nextLink" not in page and "@adminapi.warnings" not in page
    row = page["value"][0]
    assert row["EmailAddresses@odata.type"] == "#Collection(String)" and row["EmailAddresses"][0].startswith("SMTP:")
    assert row["WhenChanged@data.type"] == "System.DateTime" and WIRE_TIME.match(row["WhenChanged"])
    assert row["WhenChanged"] == "2026-11-20T09:14:02.0000000+00:00"
    assert row["WhenChangedUTC"] == "2026-11-20T09:14:02.0000000Z"
    for guid in ("Guid", "ExchangeGuid", "ExchangeObjectId"):
        assert (row[f"{guid}@data.type"], row[f"{guid}@odata.type"]) == ("System.Guid", "#Guid")
        uuid.UUID(row[guid])
    assert row["ExchangeGuid"] == "5b0e7a1c-3f4d-4e2a-9c6b-8d1f2e3a4b5c"
    assert (row["RecipientTypeDetails"], row["IsDirSynced"], row["IsExchangeCloudManaged"]) == (
        "UserMailbox",
        True,
        True,
    )
    assert row["LastExchangeChangedTime"] is None and row["MaxSendSize"] == "35 MB (36,700,160 bytes)"
    assert row["CustomAttribute1"] == "Sales" and row["CustomAttribute2"] == ""


def test_select_returns_only_the_selected_properties_and_their_annotations(call: Call) -> None:
    row = call("Get-Mailbox", {"Identity": "adele"}, select="Identity,ExchangeGuid,WhenChangedUTC").json()["value"][0]
    assert row == {
        "Identity": "Adele Vance", "ExchangeGuid@data.type": "System.Guid", "ExchangeGuid@odata.type": "#Guid",
        "ExchangeGuid": "5b0e7a1c-3f4d-4e2a-9c6b-8d1f2e3a4b5c", "WhenChangedUTC": "2026-11-20T09:14:02.0000000Z",
    }  # fmt: skip


def test_not_found_and_ambiguous_carry_the_service_error_shape(tenant: ExoRestTenant, call: Call) -> None:
    missing = call("Get-Mailbox", {"Identity": "nobody@contoso.example"})
    assert missing.status_code == 404
    error = missing.json()["error"]
    assert (error["code"], error["message"]) == ("NotFound", "Error executing cmdlet")
    code, kind, text = detail(missing)
    assert (code, kind) == ("Ex6F9304", "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException")
    assert text.startswith("The operation couldn't be performed because object 'nobody@contoso.example'")
    assert error["innererror"]["internalException"] == {"message": text, "type": kind}
    tenant.directory.mailboxes.append(Mailbox("adele.vance@contoso.example", alias="adele"))
    assert detail(call("Get-Mailbox", {"Identity": "adele"}))[2].endswith("matches multiple entries.")


# -- listing: -Filter, -ResultSize, paging ------------------------------------------------------------------------


def test_filter_takes_the_opath_forms_psbridge_sends(call: Call) -> None:
    def upns(opath: str) -> list[str]:
        answer = call("Get-Mailbox", {"Filter": opath, "ResultSize": "Unlimited"})
        assert answer.status_code == 200, answer.text
        return [row["UserPrincipalName"].split("@")[0] for row in answer.json()["value"]]

    assert upns(opath_filter("IsDirSynced -eq {}", True)) == ["adele", "alex", "sales"]
    assert upns(opath_filter("RecipientTypeDetails -eq {} -and IsDirSynced -eq {}", "UserMailbox", True)) == [
        "adele", "alex"]  # fmt: skip
    assert upns(opath_filter("IsDirSynced -eq {} -and DisplayName -like {}", False, "meg*")) == ["megan"]
    assert upns(opath_filter("DisplayName -ne {}", "O'Brien")) == ["adele", "alex", "sales", "megan"]


@pytest.mark.parametrize(
    ("opath", "says"),
    [
        ("IsExchangeCloudManaged -eq $true", "'IsExchangeCloudManaged' is not a recognized filterable property"),
        ("IsDirSynced -eq $true -or Alias -eq 'x'", "Invalid filter syntax"),
        ("Alias -eq x", "Invalid filter syntax"),
    ],
)
def test_filter_outside_the_subset_is_refused_as_a_binding_error(call: Call, opath: str, says: str) -> None:
    answer = call("Get-Mailbox", {"Filter": opath})
    assert answer.status_code == 400
    assert detail(answer)[1] == "System.Management.Automation.ParameterBindingException" and says in detail(answer)[2]


def test_result_size_defaults_to_1000_and_warns_only(call: Call, tenant: ExoRestTenant) -> None:
    tenant.directory.mailboxes += [Mailbox(f"u{i}@contoso.example") for i in range(1100)]
    default = call("Get-Mailbox", Prefer="odata.maxpagesize=1000").json()
    assert len(default["value"]) == 1000 and "@odata.nextLink" not in default
    assert default["@adminapi.warnings"][0].startswith("By default, only the first 1000 items are returned.")
    small = call("Get-Mailbox", {"ResultSize": 3}).json()
    assert len(small["value"]) == 3 and "more results available" in small["@adminapi.warnings"][0]
    assert "@adminapi.warnings" not in call("Get-Mailbox", {"ResultSize": "Unlimited"}).json()


def test_paging_follows_next_link_with_the_same_body() -> None:
    tenant = many(2500)
    http = session(tenant)
    url, rows, pages = f"{BASE}/adminapi/beta/{TENANT}/InvokeCommand?$select=UserPrincipalName", [], []
    request = body("Get-Mailbox", {"ResultSize": "Unlimited"})
    while url:
        page = http.post(url, headers=headers("Get-Mailbox", Prefer="odata.maxpagesize=1000"), json=request).json()
        pages.append(page)
        rows += page["value"]
        url = page.get("@odata.nextLink", "")
        assert not url or (url.startswith(f"{BASE}/adminapi/beta/{TENANT}/InvokeCommand?") and "%24skiptoken=" in url)
    assert [len(p["value"]) for p in pages] == [1000, 1000, 500] and tenant.counters.pages == 3
    streamed = http.post(pages[1]["@odata.nextLink"], headers=headers("Get-Mailbox"), json=request, stream=True)
    assert json.loads(b"".join(streamed.iter_content(4096)))["value"] == pages[2]["value"]
    assert [r["UserPrincipalName"] for r in rows] == [f"user{i:05d}@contoso.example" for i in range(2500)]
    assert all(set(r) == {"UserPrincipalName"} for r in rows)  # $select carried by the nextLink
    other = http.post(pages[0]["@odata.nextLink"], headers=headers("Get-Mailbox"), json=body("Get-Mailbox"))
    assert other.status_code == 400 and "not the first request's body" in other.json()["error"]["message"]
    assert (tenant.counters.requests, tenant.counters.invocations, tenant.counters.pages) == (5, 1, 4)


@pytest.mark.parametrize(("prefer", "size"), [(None, 1000), ("odata.maxpagesize = 7;odata.continue-on-error", 7),
                                              ("odata.maxpagesize=5000", 1000)])  # fmt: skip
def test_page_size_comes_from_prefer_at_most_1000(prefer: str | None, size: int) -> None:
    http = session(many(1200))
    extra = {"Prefer": prefer} if prefer else {}
    answer = http.post(f"{BASE}/adminapi/beta/{TENANT}/InvokeCommand", headers=headers("Get-Mailbox", **extra),
                       json=body("Get-Mailbox", {"ResultSize": "Unlimited"})).json()  # fmt: skip
    assert len(answer["value"]) == size


# -- writes ------------------------------------------------------------------------------------------------------


def test_set_mailbox_cloud_managed_then_no_settings_modified(call: Call, tenant: ExoRestTenant) -> None:
    switched = call("Set-Mailbox", {"Identity": "alex@contoso.example", "IsExchangeCloudManaged": True})
    assert (
        switched.status_code == 200 and switched.json()["value"] == [] and "@adminapi.warnings" not in switched.json()
    )
    assert call("Get-Mailbox", {"Identity": "alex"}).json()["value"][0]["IsExchangeCloudManaged"] is True
    again = call("Set-Mailbox", {"Identity": "alex@contoso.example", "IsExchangeCloudManaged": True}).json()
    assert again["@adminapi.warnings"] == [
        "The command completed successfully but no settings of 'Alex Wilber' have been modified."]  # fmt: skip
    assert tenant.counters.writes["Set-Mailbox"] == 2 and tenant.counters.modified["Set-Mailbox"] == 1


def test_set_mailbox_email_addresses_takes_a_generic_hashtable(call: Call) -> None:
    change = {"@odata.type": "#Exchange.GenericHashTable", "Add": ["SMTP:a.vance@contoso.example"],
              "Remove": ["smtp:adele@contoso.onmicrosoft.com"]}  # fmt: skip
    assert call("Set-Mailbox", {"Identity": "adele", "EmailAddresses": change}).status_code == 200
    row = call("Get-Mailbox", {"Identity": "adele"}).json()["value"][0]
    assert row["EmailAddresses"] == [
        "smtp:adele@contoso.example",
        "smtp:adele@contoso.mail.onmicrosoft.com",
        "SMTP:a.vance@contoso.example",
    ]
    assert row["PrimarySmtpAddress"] == "a.vance@contoso.example"  # fmt: skip
    untyped = call("Set-Mailbox", {"Identity": "adele", "EmailAddresses": {"Add": ["smtp:x@contoso.example"]}})
    assert untyped.status_code == 400 and "#Exchange.GenericHashTable" in untyped.json()["error"]["message"]
    primary = {"@odata.type": "#Exchange.GenericHashTable", "Remove": ["a.vance@contoso.example"]}
    assert call("Set-Mailbox", {"Identity": "adele", "EmailAddresses": primary}).status_code == 500


def test_set_mailbox_attributes_and_clearing_text(call: Call) -> None:
    answer = call("Set-Mailbox", {"Identity": "adele", "CustomAttribute1": "", "HiddenFromAddressListsEnabled": True,
                                  "Alias": "avance"})  # fmt: skip
    assert answer.status_code == 200
    row = call("Get-Mailbox", {"Identity": "avance"}, select="CustomAttribute1,HiddenFromAddressListsEnabled").json()
    assert row["value"] == [{"HiddenFromAddressListsEnabled": True, "CustomAttribute1": ""}]
    assert call("Get-Mailbox", {"Identity": "adele"}).status_code == 404  # the old alias is gone
    assert detail(call("Set-Mailbox", {"Identity": "avance", "Title": "x"}))[2] == (
        "A parameter cannot be found that matches parameter name 'Title'.")  # fmt: skip
    assert call("Set-Mailbox", {"Identity": "avance", "HiddenFromAddressListsEnabled": "yes"}).status_code == 400


def test_exchange_attribute_of_an_on_premises_mastered_mailbox_is_refused(call: Call, tenant: ExoRestTenant) -> None:
    refused = call("Set-Mailbox", {"Identity": "alex@contoso.example", "HiddenFromAddressListsEnabled": True})
    assert refused.status_code == 500 and refused.json()["error"]["code"] == "InternalServerError"
    code, kind, text = detail(refused)
    assert (code, kind) == ("", "Microsoft.Exchange.Management.Tasks.RecipientTaskException")
    assert "The action 'Set-Mailbox', 'HiddenFromAddressListsEnabled', can't be performed" in text
    record = ErrorRecordData(message="|".join(detail(refused)), fully_qualified_error_id="", category="NotSpecified")
    assert next(r for r in EXO_ERRORS if r.matches(record)).error is SyncedObjectError  # psbridge's reading of it
    assert tenant.counters.modified["Set-Mailbox"] == 0
    assert call("Get-Mailbox", {"Identity": "alex"}).json()["value"][0]["HiddenFromAddressListsEnabled"] is False


def test_users_and_clearing_previous_mailbox_info(call: Call) -> None:
    dana = call("Get-User", {"Identity": "dana@contoso.example"}).json()["value"][0]
    assert (dana["RecipientType"], dana["PreviousRecipientTypeDetails"]) == ("MailUser", "UserMailbox")
    megan = call("Get-User", {"Identity": "megan@contoso.onmicrosoft.com"}).json()["value"][0]
    assert (megan["RecipientType"], megan["PreviousRecipientTypeDetails"]) == ("UserMailbox", "None")
    clear = {"Identity": "dana@contoso.example", "PermanentlyClearPreviousMailboxInfo": True}
    assert "@adminapi.warnings" not in call("Set-User", clear).json()
    assert call("Get-User", {"Identity": "Dana Smith"}).json()["value"][0]["PreviousRecipientTypeDetails"] == "None"
    assert "no settings of 'Dana Smith'" in call("Set-User", clear).json()["@adminapi.warnings"][0]
    mail_users = call("Get-User", {"Filter": "RecipientTypeDetails -eq 'MailUser'", "ResultSize": "Unlimited"})
    assert [u["UserPrincipalName"] for u in mail_users.json()["value"]] == [
        "dana@contoso.example",
        "lee@contoso.example",
    ]


def test_organization_default_and_accepted_domains(call: Call) -> None:
    org = call("Get-OrganizationConfig").json()["value"][0]
    assert (org["Identity"], org["BlockExchangeProvisioningFromOnPremEnabled"]) == ("contoso.onmicrosoft.com", False)
    assert call("Set-OrganizationConfig", {"ExchangeAttributesCloudManagedByDefault": True}).status_code == 200
    assert call("Get-OrganizationConfig").json()["value"][0]["BlockExchangeProvisioningFromOnPremEnabled"] is True
    both = {"ExchangeAttributesCloudManagedByDefault": True, "ExchangeAttributesServerManagedByDefault": True}
    assert call("Set-OrganizationConfig", both).status_code == 500
    domains = call("Get-AcceptedDomain", {"ResultSize": "Unlimited"}).json()["value"]
    assert [(d["DomainName"], d["DomainType"], d["IsCoexistenceDomain"]) for d in domains][2] == (
        "contoso.mail.onmicrosoft.com", "Authoritative", None)  # fmt: skip


def test_unknown_cmdlet_is_the_command_not_found_error(call: Call, tenant: ExoRestTenant) -> None:
    answer = call("Remove-Mailbox", {"Identity": "adele"})
    assert answer.status_code == 400
    assert (
        detail(answer)[1:] == ["System.Management.Automation.CommandNotFoundException", detail(answer)[2]]
        and "'Remove-Mailbox' is not recognized" in detail(answer)[2]
    )
    assert len(tenant.directory.mailboxes) == 4  # fmt: skip


# -- request validation ----------------------------------------------------------------------------------------


def _without(name: str) -> Callable[[dict[str, str]], None]:
    return lambda h: h.pop(name)


@pytest.mark.parametrize(
    ("spoil", "status", "says"),
    [
        (_without("Authorization"), 401, "no bearer token"),
        (lambda h: h.update(Authorization="Bearer stolen"), 401, "refused"),
        (lambda h: h.update(Authorization="Basic dXNlcjpwYXNz"), 401, "no bearer token"),
        (_without("X-AnchorMailbox"), 400, "X-AnchorMailbox is required"),
        (lambda h: h.update({"X-AnchorMailbox": f"APP:{SYSTEM_MAILBOX}@other.example"}), 400, "system mailbox"),
        (_without("X-CmdletName"), 400, "X-CmdletName"),
        (lambda h: h.update({"X-CmdletName": "Get-Mailbox"}), 400, "does not name 'Set-Mailbox'"),
        (lambda h: h.update({"Content-Type": "text/plain"}), 400, "application/json"),
    ],
)
def test_requests_off_the_wire_are_refused(tenant: ExoRestTenant, spoil: Any, status: int, says: str) -> None:
    sent = headers("Set-Mailbox")
    spoil(sent)
    answer = session(tenant).post(f"{BASE}/adminapi/beta/{TENANT}/InvokeCommand", headers=sent,
                                  json=body("Set-Mailbox", {"Identity": "adele", "Alias": "x"}))  # fmt: skip
    assert answer.status_code == status and says in answer.json()["error"]["message"]
    assert tenant.counters.rejected == 1 and tenant.counters.invocations == 0 and tenant.log == []


@pytest.mark.parametrize(
    "raw",
    ["not json", "[]", '{"CmdletName": "Get-Mailbox"}', '{"CmdletInput": {"CmdletName": "Get-Mailbox", '
     '"Parameters": []}}', '{"CmdletInput": {"Parameters": {}}}'],
)  # fmt: skip
def test_malformed_bodies_are_refused(tenant: ExoRestTenant, raw: str) -> None:
    answer = session(tenant).post(f"{BASE}/adminapi/beta/{TENANT}/InvokeCommand", headers=headers("Get-Mailbox"),
                                  data=raw)  # fmt: skip
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "BadRequest"


def test_wrong_path_or_method(tenant: ExoRestTenant) -> None:
    http = session(tenant)
    assert http.post(f"{BASE}/adminapi/beta/other-tenant/InvokeCommand", headers=headers("Get-Mailbox"),
                     json=body("Get-Mailbox")).status_code == 404  # fmt: skip
    assert http.get(f"{BASE}/adminapi/beta/{TENANT}/InvokeCommand", headers=headers("Get-Mailbox")).status_code == 400
    by_domain = http.post(
        f"{BASE}/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand",
        json=body("Get-Mailbox"),
        headers=headers("Get-Mailbox", **{"X-AnchorMailbox": f"APP:{SYSTEM_MAILBOX}@contoso.onmicrosoft.com"}),
    )
    assert (
        by_domain.status_code == 200 and "/beta/contoso.onmicrosoft.com/$metadata" in by_domain.json()["@odata.context"]
    )


# -- $batch ----------------------------------------------------------------------------------------------------


def batch_item(ident: str, cmdlet: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": ident, "method": "POST", "url": f"{BASE}/adminapi/beta/{TENANT}/InvokeCommand",
        "headers": {"X-CmdletName": cmdlet, "X-AnchorMailbox": ANCHOR, "Content-Type": "application/json"},
        "body": body(cmdlet, parameters),
    }  # fmt: skip


def post_batch(tenant: ExoRestTenant, items: list[dict[str, Any]], *, go_on: bool = True) -> requests.Response:
    extra = {"Prefer": "odata.continue-on-error"} if go_on else {}
    sent = {k: v for k, v in headers("", **extra).items() if k != "X-CmdletName"}
    return session(tenant).post(f"{BASE}/adminapi/beta/{TENANT}/$batch", headers=sent, json={"requests": items})


def switch(ident: str, upn: str) -> dict[str, Any]:
    return batch_item(ident, "Set-Mailbox", {"Identity": upn, "IsExchangeCloudManaged": True})


def test_batch_answers_by_id_not_in_request_order_and_continues_on_error(tenant: ExoRestTenant) -> None:
    items = [switch("1", "alex@contoso.example"), switch("2", "nobody@contoso.example"),
             switch("3", "sales@contoso.example"), batch_item("4", "Get-Mailbox", {"Identity": "alex"})]  # fmt: skip
    answer = post_batch(tenant, items)
    assert answer.status_code == 200
    responses = answer.json()["responses"]
    assert [r["id"] for r in responses] != ["1", "2", "3", "4"]
    by_id = {r["id"]: r for r in responses}
    assert {i: r["status"] for i, r in by_id.items()} == {"1": 200, "2": 404, "3": 200, "4": 200}
    assert by_id["1"]["body"]["value"] == [] and by_id["4"]["body"]["value"][0]["IsExchangeCloudManaged"] is True
    assert by_id["2"]["body"]["error"]["details"][0]["message"].startswith("Ex6F9304|")
    assert tenant.counters.batches == 1 and tenant.counters.modified["Set-Mailbox"] == 2


def test_batch_without_continue_on_error_stops_at_the_first_failure(tenant: ExoRestTenant) -> None:
    items = [switch("a", "nobody@contoso.example"), switch("b", "alex@contoso.example")]
    assert [r["id"] for r in post_batch(tenant, items, go_on=False).json()["responses"]] == ["a"]
    assert tenant.counters.modified["Set-Mailbox"] == 0


@pytest.mark.parametrize(
    "items",
    [[], [switch(str(i), "alex@contoso.example") for i in range(11)],
     [switch("1", "alex@contoso.example"), switch("1", "sales@contoso.example")]],
)  # fmt: skip
def test_batch_of_more_than_10_or_without_distinct_ids_is_refused(tenant: ExoRestTenant, items: list[Any]) -> None:
    assert post_batch(tenant, items).status_code == 400 and tenant.counters.modified["Set-Mailbox"] == 0


def test_batch_item_off_the_wire_fails_alone(tenant: ExoRestTenant) -> None:
    wrong = switch("2", "sales@contoso.example")
    wrong["headers"]["X-CmdletName"] = "Get-Mailbox"
    by_id = {r["id"]: r["status"] for r in post_batch(tenant, [switch("1", "alex"), wrong]).json()["responses"]}
    assert by_id == {"1": 200, "2": 400}


# -- the write budget --------------------------------------------------------------------------------------------


class FakeClock:
    """Monotonic time that only the tenant's sleeps move."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def budgeted(budget: WriteBudget, clock: FakeClock, n: int = 20, **options: Any) -> ExoRestTenant:
    boxes = [Mailbox(f"u{i}@contoso.example", is_dir_synced=True) for i in range(n)]
    return ExoRestTenant(boxes, budget=budget, clock=clock, sleep=clock.sleep, **options)


def set_call(http: requests.Session, i: int) -> requests.Response:
    switch_on = body("Set-Mailbox", {"Identity": f"u{i}@contoso.example", "IsExchangeCloudManaged": True})
    return http.post(f"{BASE}/adminapi/beta/{TENANT}/InvokeCommand", headers=headers("Set-Mailbox"), json=switch_on)


def test_writes_past_the_rate_get_micro_delays_then_429() -> None:
    clock = FakeClock()
    tenant = budgeted(WriteBudget(write_cost_s=1.0, max_writers=3, writes_per_s=0.5, strikes=2), clock)
    http = session(tenant)
    answers = []
    for i in range(3):  # back to back: each write starts as the previous one ends
        answers.append(set_call(http, i))
        clock.now += sum(clock.slept[len(answers) - 1 :])
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert [micro_delays(a.json()["@adminapi.warnings"]) for a in answers[:2]] == [(1000.0,), (1000.0,)]
    assert clock.slept == [2.0, 2.0]  # the service time and the micro-delay, slept through the injected sleep
    refused = answers[2]
    assert refused.json()["error"]["code"] == "TooManyRequests"
    assert refused.headers["Rate-Limit-Remaining"] == "3" and refused.headers["Rate-Limit-Reset"] == "0"
    assert tenant.budget is not None and (tenant.budget.micro_delays, tenant.budget.refused) == (2, 1)
    assert tenant.counters.modified["Set-Mailbox"] == 2  # the refused write was never applied
    clock.now += 1.0  # a client that waits 1 s between writes keeps to 0.5 writes per second
    paced = set_call(http, 3)
    assert paced.status_code == 200 and "@adminapi.warnings" not in paced.json() and clock.slept[-1] == 1.0


def test_writers_past_the_cap_get_429_with_the_concurrency_message() -> None:
    clock = FakeClock()
    tenant = budgeted(WriteBudget(write_cost_s=1.0, max_writers=3), clock)
    http = session(tenant)
    answers = [set_call(http, i) for i in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["Rate-Limit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert answers[3].text == CONCURRENCY and answers[3].headers["Content-Type"].startswith("text/plain")
    assert answers[3].headers["Rate-Limit-Reset"] == "1" and answers[3].reason == "Too Many Requests"
    with pytest.raises(requests.HTTPError, match="429"):
        answers[3].raise_for_status()
    clock.now = 1.5  # the first three writes are done
    assert set_call(http, 3).status_code == 200 and tenant.budget is not None and tenant.budget.peak_writers == 3


def test_a_batch_is_one_writer_whose_writes_are_served_in_turn() -> None:
    clock = FakeClock()
    tenant = budgeted(WriteBudget(write_cost_s=0.5, max_writers=1), clock)
    items = [switch(str(i), f"u{i}@contoso.example") for i in range(10)]
    answer = post_batch(tenant, items)
    assert answer.status_code == 200 and clock.slept == [5.0] and answer.headers["Rate-Limit-Remaining"] == "0"
    assert post_batch(tenant, [switch("x", "u11@contoso.example")]).status_code == 429
    assert tenant.counters.modified["Set-Mailbox"] == 10


def test_reset_can_be_an_http_date() -> None:
    tenant = budgeted(WriteBudget(max_writers=1), FakeClock(), reset_as_date=True)
    http = session(tenant)
    set_call(http, 0)
    assert re.match(r"^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$", set_call(http, 1).headers["Rate-Limit-Reset"])


# -- faults -------------------------------------------------------------------------------------------------------


@pytest.mark.timeout(20)
def test_hang_holds_the_call_until_released(tenant: ExoRestTenant, call: Call) -> None:
    fault = Fault("hang", cmdlet="Set-Mailbox", identity="alex@contoso.example")
    tenant.faults.append(fault)
    done: list[requests.Response] = []
    worker = threading.Thread(target=lambda: done.append(
        call("Set-Mailbox", {"Identity": "alex@contoso.example", "IsExchangeCloudManaged": True})))  # fmt: skip
    worker.start()
    worker.join(0.3)
    assert worker.is_alive() and tenant.counters.modified["Set-Mailbox"] == 0
    fault.release()
    worker.join(5)
    assert done[0].status_code == 200 and tenant.counters.modified["Set-Mailbox"] == 1


def test_hang_past_the_read_timeout_is_a_timeout_and_never_acts(tenant: ExoRestTenant) -> None:
    tenant.faults.append(Fault("hang", cmdlet="Set-Mailbox"))
    with pytest.raises(requests.exceptions.ReadTimeout):
        session(tenant).post(f"{BASE}/adminapi/beta/{TENANT}/InvokeCommand", headers=headers("Set-Mailbox"),
                             json=body("Set-Mailbox", {"Identity": "alex", "IsExchangeCloudManaged": True}),
                             timeout=(1, 0.05))  # fmt: skip
    assert tenant.counters.invocations == 0 and tenant.counters.faults["hang"] == 1


def test_lost_answer_after_the_tenant_acted(tenant: ExoRestTenant, call: Call) -> None:
    tenant.faults.append(Fault("lost", cmdlet="Set-Mailbox", nth=2))
    assert call("Set-Mailbox", {"Identity": "alex", "IsExchangeCloudManaged": True}).status_code == 200
    with pytest.raises(requests.ConnectionError):
        call("Set-Mailbox", {"Identity": "sales", "IsExchangeCloudManaged": True})
    assert tenant.counters.modified["Set-Mailbox"] == 2  # acted, then the answer was lost
    assert call("Get-Mailbox", {"Identity": "sales"}).json()["value"][0]["IsExchangeCloudManaged"] is True


@pytest.mark.parametrize(("kind", "status"), [("429", 429), ("503", 503)])
def test_status_faults_answer_without_acting(tenant: ExoRestTenant, call: Call, kind: Any, status: int) -> None:
    tenant.faults.append(Fault(kind, identity="sales", count=2))
    assert [call("Get-Mailbox", {"Identity": "sales"}).status_code for _ in range(3)] == [status, status, 200]
    items = [switch("1", "alex"), switch("2", "megan")]
    tenant.faults.append(Fault(kind, cmdlet="Set-Mailbox", identity="megan"))
    by_id = {r["id"]: r["status"] for r in post_batch(tenant, items).json()["responses"]}
    assert by_id == {"1": 200, "2": status} and tenant.counters.modified["Set-Mailbox"] == 1


# -- the demo tenant: the same models as over PSRP ------------------------------------------------------------------


def rest_models(call: Call, model: type[Any], cmdlet: str, parameters: dict[str, Any]) -> list[Any]:
    return [model.model_validate(row) for row in call(cmdlet, parameters).json()["value"]]


def test_demo_tenant_answers_with_the_models_psrp_gives(call: Call) -> None:
    psrp = recorded_session(DEMO, retry=RetryPolicy(attempts=1))
    with psrp:
        mailboxes = ex.list_mailboxes(psrp)
    assert rest_models(call, models.Mailbox, "Get-Mailbox", {"ResultSize": "Unlimited"}) == mailboxes
    for user in ("dana@contoso.example", "lee@contoso.example", "adele@contoso.example"):
        with recorded_session(DEMO, retry=RetryPolicy(attempts=1)) as psrp:
            assert rest_models(call, models.User, "Get-User", {"Identity": user}) == [ex.get_user(psrp, identity=user)]
    with recorded_session(DEMO, retry=RetryPolicy(attempts=1)) as psrp:
        assert rest_models(call, models.OrganizationConfig, "Get-OrganizationConfig", {}) == [
            ex.get_organization_config(psrp)]  # fmt: skip
    with recorded_session(DEMO, retry=RetryPolicy(attempts=1)) as psrp:
        domains = rest_models(call, models.AcceptedDomain, "Get-AcceptedDomain", {"ResultSize": "Unlimited"})
        assert models.AcceptedDomains(domains=tuple(domains)) == ex.get_accepted_domains(psrp)
