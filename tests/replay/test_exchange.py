"""The Exchange wrappers over replayed sessions: the demo, the failure cases, and recordings built here.

Recordings built in a test use the shapes of recorded_sessions/ (docs/exchange.md). What a wrapper
sent is read from the replay server's `keys_seen`; a command it must not send is also proven unsent by replay
itself (it is not recorded, so sending it would raise ReplayMissError).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from helpers import DEMO, FAST_RETRY, REPO
from structlog.testing import capture_logs

from psbridge import (
    AccessDeniedError,
    InputError,
    ObjectNotFoundError,
    RetryPolicy,
    Session,
    SignInError,
    SyncedObjectError,
    TransientRemoteError,
)
from psbridge import exchange as ex
from psbridge.exchange.models import RecipientTypeDetails
from psbridge.exchange.rules import micro_delays
from psbridge.exchange.runner import command
from psbridge.replay.transport import recorded_session
from psbridge.result import InvocationResult
from psbridge.transport.mock import MockTransport

Factory = Callable[..., Session]
CASES = REPO / "recorded_sessions" / "cases"
SCRIPT = "exchange/Invoke-ExchangeCommand.ps1"
APP = {
    "organization": "contoso.onmicrosoft.com",
    "app_id": "6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b",
    "certificate_thumbprint": "3A8F2C1D9E7B6A5F4C3D2E1F0A9B8C7D6E5F4A3B",
}


def sent(session: Session) -> list[tuple[str, dict[str, Any]]]:
    """(cmdlet, parameters) of every call the replay server saw; the runner script's -Command for it."""
    out = []
    for key in session.transport.server.keys_seen:  # type: ignore[attr-defined]
        statement = key.statements[0]
        params = {p.name: p.value for p in statement.params}
        out.append((params.get("Command", statement.command), params))
    return out


def cmdlets(session: Session) -> list[str]:
    return [name for name, _ in sent(session)]


@pytest.fixture
def demo() -> Iterator[Session]:
    with recorded_session(DEMO, retry=RetryPolicy(attempts=1)) as session:
        yield session


def case(name: str, **kwargs: Any) -> Session:
    kwargs.setdefault("retry", RetryPolicy(attempts=1))
    return recorded_session(CASES / f"{name}.yaml", **kwargs)


def read(cmdlet: str, arguments: dict[str, Any], output: list[Any], **extra: Any) -> dict[str, Any]:
    """An episode of the runner script reading with `cmdlet`."""
    parameters: list[dict[str, Any]] = [{"name": "Command", "value": cmdlet}]
    if arguments:
        parameters.append({"name": "Arguments", "value": arguments})
    parameters += [{"name": k, "value": v} for k, v in extra.items()]
    return {"script": SCRIPT, "parameters": parameters, "output": output}


def write(cmdlet: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "script": SCRIPT,
        "parameters": [{"name": "Command", "value": cmdlet}, {"name": "Arguments", "value": arguments}],
    }


def mailbox_row(name: str, *, synced: bool = True, cloud: bool = False, **extra: Any) -> dict[str, Any]:
    return {
        "properties": {
            "Identity": name.capitalize(), "DisplayName": name.capitalize(),
            "UserPrincipalName": f"{name}@contoso.example", "PrimarySmtpAddress": f"{name}@contoso.example",
            "EmailAddresses": [f"SMTP:{name}@contoso.example", f"smtp:{name}@contoso.mail.onmicrosoft.com"],
            "ExchangeGuid": "5b0e7a1c-3f4d-4e2a-9c6b-8d1f2e3a4b5c", "RecipientTypeDetails": "UserMailbox",
            "WhenChanged": {"DT": "2026-11-20T09:14:02Z"}, "IsDirSynced": synced, "IsExchangeCloudManaged": cloud,
            **extra,
        }
    }  # fmt: skip


def page(rows: list[dict[str, Any]], cursor: str | None, total: int, remaining: int) -> str:
    """The runner script's JSON page of mailbox_row rows, as it sends it (its header): WhenChanged as UTC ISO text."""
    body = [
        {k: v["DT"].replace("Z", ".0000000Z") if isinstance(v, dict) else v for k, v in row["properties"].items()}
        for row in rows
    ]
    return json.dumps({"cursor": cursor, "total": total, "remaining": remaining, "rows": body}, separators=(",", ":"))


# -- mailboxes --------------------------------------------------------------------------------------------


def test_demo_lists_every_mailbox_with_its_source_of_authority(demo: Session) -> None:
    mailboxes = ex.list_mailboxes(demo)
    assert [(m.user_principal_name, m.is_dir_synced, m.is_exchange_cloud_managed) for m in mailboxes] == [
        ("adele@contoso.example", True, True),
        ("alex@contoso.example", True, False),
        ("sales@contoso.example", True, False),
        ("megan@contoso.onmicrosoft.com", False, False),
    ]
    adele = mailboxes[0]
    assert adele.email_addresses[0] == "SMTP:adele@contoso.example" and len(adele.email_addresses) == 3
    assert str(adele.exchange_guid) == "5b0e7a1c-3f4d-4e2a-9c6b-8d1f2e3a4b5c"
    assert adele.when_changed is not None and adele.when_changed.tzinfo is not None
    assert mailboxes[2].recipient_type_details is RecipientTypeDetails.SHARED_MAILBOX
    # -ResultSize is always explicit (Unlimited here), and the listing is paged.
    assert sent(demo) == [("Get-Mailbox", {"Command": "Get-Mailbox", "Arguments": {"ResultSize": "Unlimited"},
                                           "PageSize": 1000})]  # fmt: skip


def test_cloud_managed_filter_is_applied_on_the_host(demo: Session) -> None:
    assert [m.identity for m in ex.list_mailboxes(demo, cloud_managed=True)] == ["Adele Vance"]
    assert sent(demo)[0][1]["IsExchangeCloudManaged"] is True and "Filter" not in sent(demo)[0][1]["Arguments"]


def test_opath_filter_and_result_size_are_bound(replay_session: Factory) -> None:
    opath = ex.opath_filter("IsDirSynced -eq {} -and DisplayName -like {}", True, "O'Brien*")
    spec = read("Get-Mailbox", {"Filter": opath, "ResultSize": 10}, [page([], None, 0, 0)], PageSize=1000)
    session = replay_session([spec])
    assert ex.list_mailboxes(session, opath=opath, result_size="10") == []
    assert sent(session)[0][1]["Arguments"] == {"Filter": "IsDirSynced -eq $true -and DisplayName -like 'O''Brien*'",
                                                "ResultSize": 10}  # fmt: skip


@pytest.mark.parametrize("size", [0, -1, "lots", True])
def test_bad_result_size_is_refused_before_sending(size: Any) -> None:
    with pytest.raises(InputError, match="result size"):
        ex.iter_mailboxes(Session(transport=MockTransport(_unexpected)), result_size=size)


def test_pages_stream_one_pipeline_at_a_time(replay_session: Factory) -> None:
    """The first mailbox is yielded after one page (one pipeline) has been deserialized; each later page
    is requested only when the caller gets that far."""
    rows = [mailbox_row(f"user{n}") for n in range(5)]
    session = replay_session([
        read("Get-Mailbox", {"ResultSize": "Unlimited"}, [page(rows[:2], "c1", 5, 3)], PageSize=2),
        {"script": SCRIPT, "parameters": [{"name": "Command", "value": "Get-Mailbox"},
                                          {"name": "PageSize", "value": 2}, {"name": "Cursor", "value": "c1"}],
         "output": [page(rows[2:4], "c1", 5, 1)]},
        {"script": SCRIPT, "parameters": [{"name": "Command", "value": "Get-Mailbox"},
                                          {"name": "PageSize", "value": 2}, {"name": "Cursor", "value": "c1"}],
         "output": [page(rows[4:], None, 5, 0)]},
    ])  # fmt: skip
    listing = ex.iter_mailboxes(session, page_size=2)
    assert cmdlets(session) == []  # nothing is sent before iteration starts
    mailboxes = iter(listing)
    first = next(mailboxes)
    assert first.user_principal_name == "user0@contoso.example"
    assert len(sent(session)) == 1 and listing.pages == 1 and listing.total == 5
    assert next(mailboxes).user_principal_name == "user1@contoso.example"
    assert len(sent(session)) == 1  # the second page is not fetched until it is needed
    assert next(mailboxes).user_principal_name == "user2@contoso.example"
    assert len(sent(session)) == 2 and sent(session)[1][1]["Cursor"] == "c1"
    assert [m.user_principal_name for m in mailboxes] == ["user3@contoso.example", "user4@contoso.example"]
    assert listing.pages == 3 and not listing.truncated
    with pytest.raises(InputError, match="only once"):
        iter(listing)


def test_an_abandoned_listing_is_released_on_the_host(replay_session: Factory) -> None:
    session = replay_session([
        read("Get-Mailbox", {"ResultSize": "Unlimited"}, [page([mailbox_row("a")], "c9", 3, 2)], PageSize=1),
        {"script": SCRIPT, "parameters": [{"name": "Command", "value": "Get-Mailbox"},
                                          {"name": "Cursor", "value": "c9"}, {"name": "Release", "value": True}]},
    ])  # fmt: skip
    for _ in ex.iter_mailboxes(session, page_size=1):
        break
    assert [p.get("Release") for _, p in sent(session)] == [None, True]


def test_truncation_warning_is_surfaced(replay_session: Factory) -> None:
    warning = (
        "By default, only the first 1000 items are returned. Use the ResultSize parameter to specify the number of "
        'items returned. To return all items, specify "-ResultSize Unlimited".'
    )
    spec = read("Get-Mailbox", {"ResultSize": 1}, [page([mailbox_row("a")], None, 1, 0)], PageSize=1000)
    listing = ex.iter_mailboxes(replay_session([{**spec, "warnings": [warning]}]), result_size=1)
    assert len(list(listing)) == 1
    assert listing.truncated and listing.warnings == [warning]


def test_get_mailbox_not_found_and_ambiguous() -> None:
    with case("exo-not-found") as session:
        with pytest.raises(ObjectNotFoundError, match="couldn't be found") as info:
            ex.get_mailbox(session, identity="nobody@contoso.example")
        assert info.value.error_id is not None and info.value.error_id.endswith("Write-ErrorMessage")
        with pytest.raises(ObjectNotFoundError, match="matches multiple entries"):
            ex.get_mailbox(session, identity="Alex")


def test_list_access_denied() -> None:
    with case("exo-access-denied") as session, pytest.raises(AccessDeniedError, match="not allowed to call"):
        ex.list_mailboxes(session)


def test_reads_are_retried_after_throttling_and_replication_delay() -> None:
    with case("exo-throttled", retry=FAST_RETRY) as session:
        assert ex.get_mailbox(session, identity="adele@contoso.example").is_exchange_cloud_managed
        assert ex.get_user(session, identity="lee@contoso.example").recipient_type_details == "MailUser"
        assert ex.get_mailbox(session, identity="new.hire@contoso.example").identity == "New Hire"
        assert cmdlets(session) == ["Get-Mailbox", "Get-Mailbox", "Get-User", "Get-User", "Get-Mailbox", "Get-Mailbox"]


def test_throttling_without_retry_is_a_transient_error() -> None:
    with case("exo-throttled") as session, pytest.raises(TransientRemoteError, match="429"):
        ex.get_mailbox(session, identity="adele@contoso.example")


def test_micro_delay_warning_is_not_an_error() -> None:
    with case("exo-throttled", retry=FAST_RETRY) as session:
        result = session.invoke(command("Get-User", {"Identity": "lee@contoso.example"}))
        assert micro_delays(result.streams.warning) == (2315.0,)
        assert len(result.output) == 1


# -- the cloud-managed switch ---------------------------------------------------------------------------------


def test_switching_an_already_cloud_managed_mailbox_sends_no_set_mailbox(demo: Session) -> None:
    change = ex.set_mailbox_cloud_managed(demo, identity="adele@contoso.example", enabled=True)
    assert change.changed is False and change.after == change.before
    assert cmdlets(demo) == ["Get-Mailbox"]
    assert "Set-Mailbox" not in cmdlets(demo)


def test_enabling_sends_set_mailbox_with_the_value(demo: Session) -> None:
    change = ex.set_mailbox_cloud_managed(demo, identity="alex@contoso.example", enabled=True)
    assert change.changed and not change.before.is_exchange_cloud_managed and change.after.is_exchange_cloud_managed
    assert sent(demo)[-1] == ("Set-Mailbox", {"Command": "Set-Mailbox", "Arguments": {
        "Identity": "alex@contoso.example", "IsExchangeCloudManaged": True}})  # fmt: skip


def test_dry_run_sends_no_mutation(demo: Session) -> None:
    change = ex.set_mailbox_cloud_managed(demo, identity="alex@contoso.example", enabled=True, dry_run=True)
    assert change.would_change and change.dry_run and change.after.is_exchange_cloud_managed
    assert not change.changed  # nothing was sent
    assert cmdlets(demo) == ["Get-Mailbox"]


def test_disabling_sets_false(replay_session: Factory) -> None:
    session = replay_session([
        read("Get-Mailbox", {"Identity": "adele@contoso.example"}, [mailbox_row("adele", cloud=True)]),
        write("Set-Mailbox", {"Identity": "adele@contoso.example", "IsExchangeCloudManaged": False}),
    ])  # fmt: skip
    change = ex.set_mailbox_cloud_managed(session, identity="adele@contoso.example", enabled=False)
    assert change.changed and change.after.is_exchange_cloud_managed is False
    assert sent(session)[-1][1]["Arguments"]["IsExchangeCloudManaged"] is False


def test_enabling_a_cloud_only_mailbox_is_refused(replay_session: Factory) -> None:
    session = replay_session(
        [read("Get-Mailbox", {"Identity": "megan@contoso.example"}, [mailbox_row("megan", synced=False)])]
    )
    with pytest.raises(InputError, match="not synchronized from on-premises"):
        ex.set_mailbox_cloud_managed(session, identity="megan@contoso.example", enabled=True)
    assert cmdlets(session) == ["Get-Mailbox"]


def test_get_mailbox_failure_stops_the_switch() -> None:
    with case("exo-not-found") as session, pytest.raises(ObjectNotFoundError):
        ex.set_mailbox_cloud_managed(session, identity="nobody@contoso.example", enabled=True)


# -- attributes and the source of authority -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["DisplayName", "displayname", "UserPrincipalName", "Title", "Department", "LastName"])
def test_identity_attributes_are_refused_without_contacting_the_server(name: str) -> None:
    transport = MockTransport(_unexpected)
    with pytest.raises(InputError, match=r"identity attribute.*mastered in on-premises AD"):
        ex.set_mailbox_attributes(
            Session(transport=transport), identity="adele@contoso.example", attributes={name: "x"}
        )
    assert transport.calls == []


def test_attributes_are_desired_state(demo: Session) -> None:
    change = ex.set_mailbox_attributes(demo, identity="adele@contoso.example", attributes={"CustomAttribute1": "Sales"})
    assert not change.changed and change.before.values == {"CustomAttribute1": "Sales"}
    assert sent(demo)[0][1]["Property"] == ["CustomAttribute1"] and "Set-Mailbox" not in cmdlets(demo)


def test_attributes_change_sends_only_the_difference(replay_session: Factory) -> None:
    row = mailbox_row("adele", cloud=True, CustomAttribute1="Sales", HiddenFromAddressListsEnabled=False)
    session = replay_session([
        read("Get-Mailbox", {"Identity": "adele@contoso.example"}, [row],
             Property=["CustomAttribute1", "HiddenFromAddressListsEnabled"]),
        write("Set-Mailbox", {"Identity": "adele@contoso.example", "HiddenFromAddressListsEnabled": True}),
    ])  # fmt: skip
    change = ex.set_mailbox_attributes(
        session, identity="adele@contoso.example",
        attributes={"CustomAttribute1": "Sales", "HiddenFromAddressListsEnabled": True},
    )  # fmt: skip
    assert change.changed and change.after.values["HiddenFromAddressListsEnabled"] is True


def test_synced_write_scope_error_explains_the_source_of_authority() -> None:
    with case("exo-synced-object") as session:
        with pytest.raises(SyncedObjectError) as info:
            ex.set_mailbox_email_addresses(
                session, identity="alex@contoso.example", add=["alex.wilber@contoso.example"]
            )
        message = str(info.value)
        assert "is being synchronized from your on-premises organization" in message
        assert "IsExchangeCloudManaged" in message and "Identity attributes" in message
        assert not info.value.transient


def test_a_mailbox_mastered_on_premises_is_not_written(replay_session: Factory) -> None:
    """Rule 12: dir-synced and not cloud-managed: refused before any Set-Mailbox is sent."""
    with case("exo-synced-object") as session:
        with pytest.raises(SyncedObjectError, match="not cloud-managed"):
            ex.set_mailbox_email_addresses(session, identity="sales@contoso.example", add=["team@contoso.example"])
        assert cmdlets(session) == ["Get-Mailbox"]


# -- email addresses ----------------------------------------------------------------------------------------------


def test_email_address_add_sends_a_hashtable_of_what_is_missing(demo: Session) -> None:
    change = ex.set_mailbox_email_addresses(
        demo, identity="adele@contoso.example", add=["adele.vance@contoso.example", "SMTP:adele@contoso.example"]
    )
    assert change.changed and change.after.email_addresses[-1] == "smtp:adele.vance@contoso.example"
    assert sent(demo)[-1][1]["Arguments"] == {
        "Identity": "adele@contoso.example", "EmailAddresses": {"Add": ["smtp:adele.vance@contoso.example"]}
    }  # fmt: skip


def test_email_address_nothing_to_do_sends_nothing(demo: Session) -> None:
    change = ex.set_mailbox_email_addresses(
        demo, identity="adele@contoso.example",
        add=["smtp:ADELE@contoso.onmicrosoft.com"], remove=["smtp:gone@contoso.example"],
    )  # fmt: skip
    assert not change.changed and cmdlets(demo) == ["Get-Mailbox"]


def test_email_address_remove_and_promote(replay_session: Factory) -> None:
    session = replay_session([
        read("Get-Mailbox", {"Identity": "adele@contoso.example"}, [mailbox_row("adele", cloud=True)]),
        write("Set-Mailbox", {"Identity": "adele@contoso.example", "EmailAddresses": {
            "Add": ["SMTP:adele@contoso.mail.onmicrosoft.com"]}}),
    ])  # fmt: skip
    change = ex.set_mailbox_email_addresses(
        session, identity="adele@contoso.example", add=["SMTP:adele@contoso.mail.onmicrosoft.com"], dry_run=False
    )
    assert change.after.primary_smtp_address == "adele@contoso.mail.onmicrosoft.com"
    assert change.after.email_addresses == ("smtp:adele@contoso.example", "SMTP:adele@contoso.mail.onmicrosoft.com")


@pytest.mark.parametrize(
    ("add", "remove", "match"),
    [
        ([], [], "at least one"),
        (["SMTP:a@x.example", "SMTP:b@x.example"], [], "only one"),
        (["a@x.example"], ["smtp:A@x.example"], "added and removed"),
        (["Smtp:a@x.example"], [], "not an SMTP proxy address"),
        (["no-at-sign"], [], "not an SMTP proxy address"),
    ],
)
def test_email_address_bad_input_is_refused_before_sending(add: list[str], remove: list[str], match: str) -> None:
    transport = MockTransport(_unexpected)
    with pytest.raises(InputError, match=match):
        ex.set_mailbox_email_addresses(Session(transport=transport), identity="a@x.example", add=add, remove=remove)
    assert transport.calls == []


def test_the_primary_address_cannot_be_removed(demo: Session) -> None:
    with pytest.raises(InputError, match="primary address cannot be removed"):
        ex.set_mailbox_email_addresses(demo, identity="adele@contoso.example", remove=["adele@contoso.example"])
    assert cmdlets(demo) == ["Get-Mailbox"]


# -- organization, domains, users ---------------------------------------------------------------------------------


def test_organization_default_read_and_enable_warns(demo: Session) -> None:
    with capture_logs() as logs:
        change = ex.set_organization_config(demo, cloud_managed_by_default=True)
    assert change.before.cloud_managed_by_default is False
    assert change.before.source_property == "BlockExchangeProvisioningFromOnPremEnabled"
    assert change.changed and change.after.cloud_managed_by_default is True
    assert sent(demo)[-1][1]["Arguments"] == {"ExchangeAttributesCloudManagedByDefault": True}
    assert any(e["event"] == "psbridge.exchange.cloud_managed_by_default" and e["log_level"] == "warning" for e in logs)


def test_organization_default_already_set_sends_nothing(replay_session: Factory) -> None:
    session = replay_session([read("Get-OrganizationConfig", {}, [{"properties": {
        "Identity": "contoso.onmicrosoft.com", "ExchangeAttributesCloudManagedByDefault": True}}])])  # fmt: skip
    change = ex.set_organization_config(session, cloud_managed_by_default=True, dry_run=True)
    assert not change.changed and change.before.source_property == "ExchangeAttributesCloudManagedByDefault"
    assert cmdlets(session) == ["Get-OrganizationConfig"]


def test_accepted_domains_with_and_without_the_tenant_routing_domain(demo: Session) -> None:
    domains = ex.get_accepted_domains(demo)
    assert domains.tenant_routing_domain == "contoso.mail.onmicrosoft.com"
    assert [d.default for d in domains.domains] == [True, False, False]
    with case("exo-no-routing-domain") as session:
        assert not ex.get_accepted_domains(session).has_tenant_routing_domain


def test_user_recipient_types_tolerate_values_added_later(replay_session: Factory) -> None:
    session = replay_session([read("Get-User", {"Identity": "g@contoso.example"}, [{"properties": {
        "Identity": "G", "RecipientType": "MailUser", "RecipientTypeDetails": "SomeFutureType",
        "PreviousRecipientTypeDetails": "None"}}])])  # fmt: skip
    found = ex.get_user(session, identity="g@contoso.example")
    assert found.recipient_type_details == "SomeFutureType" and found.previous_recipient_type_details is None


def test_user_not_found() -> None:
    with case("exo-not-found") as session, pytest.raises(ObjectNotFoundError):
        ex.get_user(session, identity="nobody@contoso.example")


# -- clearing previous mailbox info ----------------------------------------------------------------------------------


def test_clear_previous_mailbox_info_needs_explicit_confirmation() -> None:
    transport = MockTransport(_unexpected)
    with pytest.raises(InputError, match="irreversible"):
        ex.clear_previous_mailbox_info(Session(transport=transport), identity="dana@contoso.example",
                                       confirm_irreversible=False)  # fmt: skip
    assert transport.calls == []


def test_clear_previous_mailbox_info_clears_and_audits(demo: Session) -> None:
    with capture_logs() as logs:
        change = ex.clear_previous_mailbox_info(demo, identity="dana@contoso.example", confirm_irreversible=True)
    assert (
        change.changed
        and change.before.has_previous_mailbox_info
        and change.after.previous_recipient_type_details is None
    )
    assert sent(demo)[-1][1]["Arguments"] == {"Identity": "dana@contoso.example",
                                              "PermanentlyClearPreviousMailboxInfo": True}  # fmt: skip
    (audit,) = [e for e in logs if e["event"] == "psbridge.exchange.previous_mailbox_info_cleared"]
    assert audit["log_level"] == "warning" and audit["identity"] == "dana@contoso.example"
    assert (audit["recipient_type_details"], audit["previous_before"], audit["previous_after"]) == (
        "MailUser", "UserMailbox", None)  # fmt: skip


def test_clear_previous_mailbox_info_dry_run_sends_nothing(demo: Session) -> None:
    change = ex.clear_previous_mailbox_info(demo, identity="dana@contoso.example", confirm_irreversible=False,
                                            dry_run=True)  # fmt: skip
    assert change.dry_run and cmdlets(demo) == ["Get-User"]


def test_clear_previous_mailbox_info_refused_when_it_would_not_help(demo: Session) -> None:
    with pytest.raises(InputError, match="no previous mailbox info"):
        ex.clear_previous_mailbox_info(demo, identity="lee@contoso.example", confirm_irreversible=True)
    assert "Set-User" not in cmdlets(demo)


def test_clear_previous_mailbox_info_refused_for_a_user_with_a_mailbox(replay_session: Factory) -> None:
    session = replay_session([read("Get-User", {"Identity": "x@contoso.example"}, [{"properties": {
        "Identity": "X", "RecipientType": "UserMailbox", "RecipientTypeDetails": "UserMailbox",
        "PreviousRecipientTypeDetails": "UserMailbox"}}])])  # fmt: skip
    with pytest.raises(InputError, match="not a MailUser"):
        ex.clear_previous_mailbox_info(session, identity="x@contoso.example", confirm_irreversible=True)


# -- signing in ------------------------------------------------------------------------------------------------------


def test_demo_signs_in_once_and_out_on_close() -> None:
    session = recorded_session(DEMO)
    ex.connect_exchange_online(session, ex.ExoConnection(**APP))
    ex.get_mailbox(session, identity="adele@contoso.example")
    ex.get_user(session, identity="dana@contoso.example")
    session.close()
    assert cmdlets(session) == ["Connect-ExchangeOnline", "Get-Mailbox", "Get-User", "Disconnect-ExchangeOnline"]


@pytest.mark.parametrize(
    ("name", "error", "match"),
    [("exo-connect-role", AccessDeniedError, "isn't supported in this scenario"),
     ("exo-connect-certificate", SignInError, "non-CNG")],
)  # fmt: skip
def test_connect_failures_are_specific(name: str, error: type[Exception], match: str) -> None:
    with case(name) as session:
        ex.connect_exchange_online(session, ex.ExoConnection(**APP))
        with pytest.raises(error, match=match):
            ex.get_mailbox(session, identity="adele@contoso.example")
        assert cmdlets(session) == ["Connect-ExchangeOnline"]


# -- Exchange Server ---------------------------------------------------------------------------------------------------


def test_server_endpoint_reads_full_objects_with_plain_cmdlets() -> None:
    with recorded_session(DEMO / "exchange.yaml") as session:
        mailbox = ex.get_server_mailbox(session, identity="dana@contoso.example")
        remote = ex.get_server_remote_mailbox(session, identity="adele@contoso.example")
        user = ex.get_server_mail_user(session, identity="pat@fabrikam.example")
        seen = session.transport.server.keys_seen  # type: ignore[attr-defined]
    assert mailbox.recipient_type_details is RecipientTypeDetails.USER_MAILBOX
    assert mailbox.when_changed is not None and mailbox.when_changed.isoformat() == "2026-11-17T14:03:55+00:00"
    assert remote.recipient_type_details is RecipientTypeDetails.REMOTE_USER_MAILBOX
    assert remote.remote_routing_address == "adele@contoso.mail.onmicrosoft.com"
    assert str(remote.exchange_guid) == "5b0e7a1c-3f4d-4e2a-9c6b-8d1f2e3a4b5c"
    assert user.recipient_type_details is RecipientTypeDetails.MAIL_USER
    assert all(k.statements[0].script_sha256 is None for k in seen)  # NoLanguage: never a script


def test_server_through_the_jump_host_matches_the_endpoint() -> None:
    session = recorded_session(DEMO)
    ex.connect_exchange_server(session, "ex01.contoso.example")
    via_jump = ex.get_server_mailbox(session, identity="dana@contoso.example", via_jump_host=True)
    session.close()
    with recorded_session(DEMO / "exchange.yaml") as direct_session:
        direct = ex.get_server_mailbox(direct_session, identity="dana@contoso.example")
    assert via_jump == direct
    params = [p for _, p in sent(session)]
    assert params[0] == {"Server": "ex01.contoso.example"} and params[1]["OnPremises"] is True
    assert params[-1] == {"Server": "ex01.contoso.example", "Disconnect": True}


def test_server_not_found_is_object_not_found() -> None:
    with case("exchange-not-found") as session, pytest.raises(ObjectNotFoundError, match="couldn't be found") as info:
        ex.get_server_mailbox(session, identity="nobody@contoso.example")
    assert (
        info.value.error_id is not None
        and "FailureCategory=Cmdlet-ManagementObjectNotFoundException" in info.value.error_id
    )


def test_server_name_is_checked() -> None:
    with pytest.raises(InputError, match="FQDN"):
        ex.connect_exchange_server(Session(transport=MockTransport(_unexpected)), "ex01; Remove-Item")


def _unexpected(command: Any) -> InvocationResult:
    raise AssertionError(f"nothing should be sent, got {command.display()}")
