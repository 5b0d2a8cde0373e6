"""`bulk.set_cloud_managed_batch` and `bulk.get_mailbox_identities` given an ExoRestClient, and `exo --via rest
rollout`: the script's semantics over `$batch` (Get-Flag, one mailbox per read, failures classified by the client),
the rate-limit pacing rule, the identities paged, and the CLI wired to the REST backend."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rest_rollout import TOKEN, client_of, clients_of, identities, tenant_of, written
from simulated import WriteBudget

from psbridge import errors
from psbridge.exchange import bulk
from psbridge.exchange.bulk import MailboxOutcome
from psbridge.exchange.rest import bulk as rest_bulk
from psbridge.exchange.rest.bulk import RateLimitPacing
from psbridge.exchange.rest.client import ExoRestClient, RestAnswer
from psbridge.exchange.rest.wire import RateLimit


def answer(*rows: dict[str, Any], warnings: tuple[str, ...] = ()) -> RestAnswer:
    return RestAnswer(tuple(rows), warnings, "Get-Mailbox -Identity x")


def test_a_batch_over_rest_reports_every_mailbox_in_order_with_the_clients_classification() -> None:
    names = identities(12)
    tenant = tenant_of(names[:5] + names[6:])  # names[5] does not exist
    tenant.directory.mailboxes[0].is_exchange_cloud_managed = True
    with client_of(tenant) as client:
        result = bulk.set_cloud_managed_batch(client, names, pace_s=0.0, read_ahead=names[:2])

    outcomes = [item.outcome for item in result.items]
    assert [item.identity for item in result.items] == names
    assert outcomes[0] == MailboxOutcome.ALREADY_SET and outcomes[5] == MailboxOutcome.FAILED
    assert outcomes.count(MailboxOutcome.CHANGED) == 10
    missing = result.items[5]
    assert missing.error_class is errors.ObjectNotFoundError and not missing.transient
    assert missing.error_type and missing.error_type.endswith("ManagementObjectNotFoundException")
    assert [i.outcome for i in result.read_ahead] == [MailboxOutcome.ALREADY_SET] * 2  # read after the writes
    assert sorted(written(tenant)) == sorted(n.casefold() for n in names[1:5] + names[6:])


@pytest.mark.parametrize(
    ("rows", "error_class", "error_id"),
    [
        ([{"Identity": "a", "IsExchangeCloudManaged": None}], errors.UnexpectedOutputError,
         "PsbridgeExchange.CloudManagedNotReported"),
        ([{"Identity": "a"}], errors.UnexpectedOutputError, "PsbridgeExchange.CloudManagedNotReported"),
        ([{"Identity": "a", "IsExchangeCloudManaged": ""}], errors.UnexpectedOutputError,
         "PsbridgeExchange.CloudManagedNotReported"),
        ([], errors.ObjectNotFoundError, "PsbridgeExchange.MailboxNotRead"),
        ([{"IsExchangeCloudManaged": False}] * 2, errors.ObjectNotFoundError, "PsbridgeExchange.MailboxNotRead"),
        ([{"Identity": "a", "IsExchangeCloudManaged": "maybe"}], errors.RemoteCommandError, "FormatException"),
    ],
)  # fmt: skip
def test_the_scripts_own_failures_hold_over_rest_and_nothing_is_written(
    rows: list[dict[str, Any]], error_class: type[errors.RemoteCommandError], error_id: str, mocker: Any
) -> None:
    """A missing flag is never False (a switch back to False is not skipped as AlreadySet on it); a read that does
    not return exactly one mailbox is Failed."""
    with client_of(tenant_of([])) as client:
        batch = mocker.patch.object(client, "batch", return_value=[answer(*rows)])
        result = bulk.set_cloud_managed_batch(client, ["a"], enabled=False, pace_s=0.0)

    (item,) = result.items
    assert item.outcome == MailboxOutcome.FAILED and item.error_class is error_class and item.error_id == error_id
    assert batch.call_count == 1  # the read only


def test_text_flags_are_parsed_never_cast(mocker: Any) -> None:
    with client_of(tenant_of([])) as client:
        row = {"Identity": "a", "IsExchangeCloudManaged": "False"}
        mocker.patch.object(client, "batch", return_value=[answer(row)])
        result = bulk.set_cloud_managed_batch(client, ["a"], enabled=False, pace_s=0.0, dry_run=True)
    assert result.items[0].outcome == MailboxOutcome.ALREADY_SET and result.items[0].before is False


def test_micro_delay_warnings_of_every_answer_are_reported(mocker: Any) -> None:
    warned = answer({"Identity": "a", "IsExchangeCloudManaged": False},
                    warnings=("Micro delay applied. Actual delayed: 250 msecs, Enforced: False",))  # fmt: skip
    with client_of(tenant_of([])) as client:
        mocker.patch.object(client, "batch", side_effect=[[warned], [warned]])
        result = bulk.set_cloud_managed_batch(client, ["a"], pace_s=0.0)
    assert result.micro_delays_ms == (250.0, 250.0) and result.items[0].outcome == MailboxOutcome.CHANGED


def test_a_lost_write_answer_raises_and_is_not_sent_again() -> None:
    from simulated_exo_rest import Fault

    names = identities(25)
    tenant = tenant_of(names, faults=[Fault("lost", cmdlet="Set-Mailbox", identity=names[12])])
    with client_of(tenant) as client, pytest.raises(errors.TransportError) as caught:
        bulk.set_cloud_managed_batch(client, names, pace_s=0.0)
    assert caught.value.command_sent
    assert sorted(written(tenant)) == sorted(n.casefold() for n in names[:20])  # two `$batch`es, each run once


def test_the_rate_limit_headers_hold_the_next_write_until_the_reset() -> None:
    """The tenant's budget says no writer slot remains (`max_writers` 1) and the reset in a second: the next
    `$batch` of writes waits for it, counted from when the previous one was sent; with the rule off it does not."""
    names = identities(20)
    for rule, waited in ((None, True), (RateLimitPacing(below=0), False)):
        tenant = tenant_of(names, budget=WriteBudget(write_cost_s=0.001, max_writers=1))
        waits: list[float] = []
        with client_of(tenant) as client:
            bulk_result = rest_bulk.set_cloud_managed_batch(
                client, names, pace_s=0.0, sleep=waits.append, rate_limits=rule
            )
        assert [i.outcome for i in bulk_result.items] == [MailboxOutcome.CHANGED] * 20
        assert (len(waits) == 2 and 0.5 < waits[0] <= 1.0) if waited else waits == []


def test_the_rate_limit_rule() -> None:
    rule = RateLimitPacing(below=1, max_wait_s=30.0)
    assert rule.wait_s(None) == 0.0
    assert rule.wait_s(RateLimit(remaining=1, reset_s=5.0)) == 0.0
    assert rule.wait_s(RateLimit(remaining=0, reset_s=5.0)) == 5.0
    assert rule.wait_s(RateLimit(remaining=0, reset_s=500.0)) == 30.0
    assert rule.wait_s(RateLimit(remaining=None, reset_s=5.0)) == 0.0  # not understood: nothing changes
    assert rule.wait_s(RateLimit(remaining=0, reset_s=None)) == 0.0


def test_a_batch_outruns_its_deadline_with_command_sent_after_a_write(mocker: Any) -> None:
    names = identities(15)
    tenant = tenant_of(names)
    mocker.patch.object(rest_bulk, "monotonic", side_effect=lambda: 100.0 if written(tenant) else 0.0)  # 1st write
    with client_of(tenant) as client, pytest.raises(errors.OperationTimeoutError) as caught:
        rest_bulk.set_cloud_managed_batch(client, names, pace_s=0.0, timeout=50.0)
    assert caught.value.command_sent and len(written(tenant)) == 10


def test_identities_over_rest_are_paged_upn_else_guid(mocker: Any) -> None:
    names = identities(2500)
    tenant = tenant_of(names)
    with client_of(tenant) as client:
        pages = mocker.spy(client, "pages")
        found = bulk.get_mailbox_identities(client)
        some = bulk.get_mailbox_identities(client, filter="UserPrincipalName -like 'user0001*'", page_size=4)
    assert found == names and pages.call_args_list[0].kwargs["select"] == ("UserPrincipalName", "Guid")
    assert some == [n for n in names if n.startswith("user0001")]
    assert tenant.counters.pages == 3 + 3  # 1000 a page; 10 identities at 4 a page

    with client_of(tenant_of([])) as client:
        rows = [RestAnswer(({"UserPrincipalName": None, "Guid": "0f0e"}, {"UserPrincipalName": "a@b"}), (), "x")]
        mocker.patch.object(client, "pages", return_value=iter(rows))
        assert bulk.get_mailbox_identities(client) == ["0f0e", "a@b"]
        for bad in ({"UserPrincipalName": "a@b"}, {"UserPrincipalName": " ", "Guid": None}):
            page = RestAnswer(({"UserPrincipalName": "a@b"}, bad), (), "x")
            mocker.patch.object(client, "pages", return_value=iter([page]))
            with pytest.raises(errors.UnexpectedOutputError):
                bulk.get_mailbox_identities(client)


# -- the CLI ------------------------------------------------------------------------------------------------------


def test_cli_rollout_via_rest_switches_every_mailbox_and_journals_the_clients_target(
    cli: Any, tmp_path: Path, mocker: Any
) -> None:
    names = identities(30)
    tenant = tenant_of(names)
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(names) + "\n", encoding="utf-8")
    journal = tmp_path / "journal.jsonl"
    with client_of(tenant) as client:
        mocker.patch("psbridge.targets.factory.Targets.exo_rest", return_value=client)
        plan = cli("--output", "json", "exo", "--via", "rest", "rollout", "--identities", ids, "--journal", journal)
        assert plan.code == 2 and tenant.counters.requests == 0  # the plan, then no confirmation: nothing sent
        assert plan.json()["target"] == client.target
        result = cli("--output", "json", "exo", "--via", "rest", "rollout", "--identities", ids, "--journal", journal,
                     "--pace", "0", "--yes")  # fmt: skip

    assert result.code == 0, result
    assert result.json()["changed"] == 30 and sorted(written(tenant)) == sorted(n.casefold() for n in names)
    header = json.loads(journal.read_text(encoding="utf-8").splitlines()[0])
    assert header["target"] == client.target


def test_cli_parallel_over_rest_opens_more_clients(cli: Any, tmp_path: Path, mocker: Any) -> None:
    names = identities(60)
    tenant = tenant_of(names)
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(names) + "\n", encoding="utf-8")
    made = mocker.patch("psbridge.cli.exo_rollout._more_rest_clients", return_value=clients_of(tenant))
    spy = mocker.spy(ExoRestClient, "batch")
    with client_of(tenant) as client:
        mocker.patch("psbridge.targets.factory.Targets.exo_rest", return_value=client)
        result = cli(
            "--output", "json", "exo", "--via", "rest", "rollout", "--identities", ids, "--journal",
            tmp_path / "journal.jsonl", "--pace", "0", "--batch-size", "10", "--parallel", "2", "--yes",
        )  # fmt: skip

    assert result.code == 0, result
    assert made.call_args.args == (client,)
    assert len({call.args[0].connection_id for call in spy.call_args_list}) == 2
    assert sorted(written(tenant)) == sorted(n.casefold() for n in names)


def test_more_rest_clients_are_like_the_first_each_its_own_connection() -> None:
    from psbridge.cli.exo_rollout import _more_rest_clients

    with client_of(tenant_of(["a@contoso.example"]), timeout=42.0) as first, _more_rest_clients(first)() as other:
        assert (other.tenant_id, other.base_url, other.timeout, other.retry) == (
            first.tenant_id, first.base_url, 42.0, first.retry,
        )  # fmt: skip
        assert other.tokens is first.tokens and other.tokens.token(timeout=1.0) == TOKEN
        assert other.connection_id != first.connection_id and other.settings == first.settings
