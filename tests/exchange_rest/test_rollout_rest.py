"""The bulk cloud-managed rollout over the REST backend (`$batch`), against the simulated REST tenant.

What rollout.py's module doc promises over the jump host holds over REST, counted at the tenant
(tests/simulated_exo_rest: its `log` of every cmdlet it ran, its `counters`): every mailbox switched once, a
dry run that writes nothing, a killed run resumed from its journal, a write `$batch` whose answer is lost read
again and never sent twice, a throttled `$batch` backed off and finished, micro-delays slowing the pace,
parallel clients partitioning the mailboxes, and the write budget met without a refusal.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rest_rollout import TENANT_ID, client_of, clients_of, identities, tenant_of, written
from simulated import WriteBudget
from simulated_exo_rest import ExoRestTenant, Fault
from simulated_exo_rest import errors as tenant_errors
from simulated_exo_rest.budget import Admission

from psbridge.exchange.bulk import MailboxOutcome
from psbridge.exchange.rest.client import ExoRestClient, RestRequest
from psbridge.exchange.rollout import RolloutReport, item_retry, rollout_cloud_managed


def cmdlets_of(spy: Any) -> list[list[RestRequest]]:
    """The requests of each `$batch` a spied `ExoRestClient.batch` sent (called on the class or the instance)."""
    return [list(call.args[-1] if call.args else call.kwargs["requests"]) for call in spy.call_args_list]


def run(
    client: ExoRestClient, journal: Path, names: list[str], *, sleep: Callable[[float], None] = lambda _: None,
    **kwargs: Any,
) -> RolloutReport:  # fmt: skip
    options: dict[str, Any] = {"pace_s": 0.0, "retry": item_retry(0.0), **kwargs}
    return rollout_cloud_managed(client, identities=names, journal=journal, sleep=sleep, **options)


def assert_once(tenant: ExoRestTenant, names: list[str]) -> None:
    """Every mailbox written exactly once at the tenant, and switched by that write."""
    assert sorted(written(tenant)) == sorted(n.casefold() for n in names)
    assert tenant.counters.modified["Set-Mailbox"] == len(names)


def test_a_thousand_mailboxes_are_switched_once_in_batches_of_ten(tmp_path: Path) -> None:
    names = identities(1000)
    tenant = tenant_of(names)
    waits: list[float] = []
    with client_of(tenant) as client:
        report = run(client, tmp_path / "journal.jsonl", names, sleep=waits.append, pace_s=0.5)

    assert (report.changed, report.failed, report.unfinished, report.succeeded) == (1000, 0, 0, True)
    assert_once(tenant, names)
    # 5 batches of 200: the first read for itself, the others read ahead by the write before; each mailbox is
    # read again just before its write (the script's read-before-write): 3,000 cmdlets in 300 `$batch` requests.
    counted = tenant.counters
    assert (counted.requests, counted.batches, counted.invocations, counted.rejected) == (300, 300, 3000, 0)
    assert report.batches == 6
    assert sum(waits) == pytest.approx(1000 * 0.5, rel=0.01)  # the pace, per write, between `$batch` requests


def test_a_dry_run_sends_no_set_mailbox(tmp_path: Path, mocker: Any) -> None:
    names = identities(45)
    tenant = tenant_of(names)
    with client_of(tenant) as client:
        spy = mocker.spy(client, "batch")
        report = run(client, tmp_path / "journal.jsonl", names, dry_run=True)

    assert (report.would_change, report.changed) == (45, 0)
    sent = [r.cmdlet for requests in cmdlets_of(spy) for r in requests]
    assert sent and set(sent) == {"Get-Mailbox"}
    assert tenant.counters.writes["Set-Mailbox"] == 0 and not written(tenant)


def test_a_run_killed_mid_batch_resumes_from_its_journal_with_nothing_set_twice(tmp_path: Path, mocker: Any) -> None:
    names = identities(100)
    tenant = tenant_of(names)
    journal = tmp_path / "journal.jsonl"
    with client_of(tenant) as client:
        real = client.batch
        writes = 0

        def killed(requests: list[RestRequest], **kwargs: Any) -> Any:
            nonlocal writes
            writes += requests[0].cmdlet == "Set-Mailbox"
            if writes == 6:  # in the second batch of 40, after one of its `$batch` writes: the process dies
                raise KeyboardInterrupt
            return real(requests, **kwargs)

        mocker.patch.object(client, "batch", side_effect=killed)
        with pytest.raises(KeyboardInterrupt):
            run(client, journal, names, batch_size=40)
    done_before = set(written(tenant))
    assert len(done_before) == 50  # the first batch, and the second's first `$batch` of 10

    with client_of(tenant) as client:
        report = run(client, journal, names, batch_size=40)

    assert_once(tenant, names)
    assert (report.failed, report.unfinished, report.succeeded) == (0, 0, True)
    by_name = {item.identity: item for item in report.items}
    second = [n for n in names[40:80] if n.casefold() in done_before]
    assert len(second) == 10 and all(by_name[n].outcome == MailboxOutcome.CHANGED for n in second)
    assert report.skipped == 40 and report.changed == 60  # the first batch was journaled; the rest is this run's


def test_a_write_batch_whose_answer_is_lost_is_read_again_never_sent_twice(tmp_path: Path) -> None:
    names = identities(60)
    lost = names[23]
    tenant = tenant_of(names, faults=[Fault("lost", cmdlet="Set-Mailbox", identity=lost)])
    with client_of(tenant) as client:
        report = run(client, tmp_path / "journal.jsonl", names, batch_size=30)

    assert tenant.counters.faults["lost"] == 1
    assert_once(tenant, names)  # its `$batch` ran once, acted on, answer lost: nothing written twice
    assert (report.changed, report.failed, report.unfinished) == (60, 0, 0)
    item = next(i for i in report.items if i.identity == lost)
    assert item.outcome == MailboxOutcome.CHANGED and item.before is False


class _Refusing:
    """A tenant budget that refuses the first `refusals` write `$batch` requests with HTTP 429, then admits all."""

    def __init__(self, refusals: int) -> None:
        self.left = refusals
        self.refused = 0

    def admit(self, writes: int, client: str = "") -> Admission:
        if self.left > 0:
            self.left -= 1
            self.refused += 1
            raise tenant_errors.throttled({"Rate-Limit-Remaining": "0", "Rate-Limit-Reset": "2"})
        return Admission(None, 0.0, {"Rate-Limit-Remaining": "5", "Rate-Limit-Reset": "0"})


def test_a_throttled_write_batch_is_backed_off_and_finished_with_nothing_failed(tmp_path: Path) -> None:
    names = identities(50)
    tenant = tenant_of(names)
    tenant.budget = _Refusing(7)  # type: ignore[assignment]  # more than the client's own 5 attempts
    client_waits: list[float] = []
    backoffs: list[float] = []
    with client_of(tenant, sleep=client_waits.append) as client:
        report = run(client, tmp_path / "journal.jsonl", names, batch_size=25, sleep=backoffs.append,
                     retry=item_retry(1.0))  # fmt: skip

    assert tenant.budget.refused == 7  # type: ignore[union-attr]
    assert (report.changed, report.failed, report.unfinished, report.succeeded) == (50, 0, 0, True)
    assert_once(tenant, names)
    assert client_waits[:4] == [2.0] * 4  # the client waited the Rate-Limit-Reset, resending what was not run
    assert backoffs and backoffs[0] >= 1.0  # then the rollout backed off before sending it again


def test_micro_delay_warnings_slow_the_pace_between_write_batches(tmp_path: Path) -> None:
    names = identities(120)
    budget = WriteBudget(write_cost_s=0.002, max_writers=3, writes_per_s=100.0, strikes=50)
    tenant = tenant_of(names, budget=budget)
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the tenant's budget runs on the real clock: the pace must pass
        waits.append(seconds)
        time.sleep(seconds)

    with client_of(tenant) as client:
        report = run(client, tmp_path / "journal.jsonl", names, batch_size=20, sleep=sleep)

    assert report.micro_delays > 0 and report.failed == 0
    records = [json.loads(line) for line in (tmp_path / "journal.jsonl").read_text().splitlines()]
    batches = [r for r in records if r.get("kind") == "batch"]
    # The first write went unpaced; its micro-delays set the next batch's pace, at least to the longest delay.
    assert batches[0]["pace_ms"] == 0 and batches[0]["micro_delays_ms"]
    assert batches[0]["next_pace_ms"] >= max(batches[0]["micro_delays_ms"]) > 0
    pace_s = batches[0]["next_pace_ms"] / 1000
    assert any(w >= 10 * pace_s * 0.8 for w in waits)  # the client waited that pace per write, between `$batch`es
    assert_once(tenant, names)


def test_three_clients_partition_the_mailboxes(tmp_path: Path, mocker: Any) -> None:
    names = identities(300)
    tenant = tenant_of(names, budget=WriteBudget(write_cost_s=0.002, max_writers=3))
    spy = mocker.spy(ExoRestClient, "batch")
    with client_of(tenant) as client:
        report = run(client, tmp_path / "journal.jsonl", names, batch_size=20, parallel=3,
                     sessions=clients_of(tenant))  # fmt: skip

    assert (report.changed, report.failed) == (300, 0)
    assert_once(tenant, names)
    by_client: dict[str, set[str]] = {}
    for call in spy.call_args_list:
        sent = [r.parameters["Identity"] for r in call.args[1] if r.cmdlet == "Set-Mailbox" and r.parameters]
        by_client.setdefault(call.args[0].connection_id, set()).update(sent)
    assert len(by_client) == 3 and all(by_client.values())
    mine = list(by_client.values())
    assert sum(len(s) for s in mine) == 300 and set().union(*mine) == set(names)  # disjoint, and all of them


def test_the_write_budget_is_met_without_a_single_refusal(tmp_path: Path) -> None:
    names = identities(1000)
    tenant = tenant_of(names, budget=WriteBudget(write_cost_s=0.003, max_writers=3))
    with client_of(tenant) as client:
        report = run(client, tmp_path / "journal.jsonl", names, parallel=3, sessions=clients_of(tenant))

    assert (report.changed, report.failed, report.unfinished) == (1000, 0, 0)
    assert_once(tenant, names)
    assert tenant.budget is not None
    assert tenant.budget.refused == 0 and tenant.budget.peak_writers <= 3


def test_a_filter_is_resolved_over_rest_and_the_rollout_follows_it(tmp_path: Path) -> None:
    names = identities(30)
    tenant = tenant_of(names)
    with client_of(tenant) as client:
        report = rollout_cloud_managed(
            client, filter="UserPrincipalName -like 'user0001*'", journal=tmp_path / "journal.jsonl", pace_s=0.0,
            sleep=lambda _: None,
        )  # fmt: skip

    chosen = [n for n in names if n.startswith("user0001")]
    assert [i.identity for i in report.items] == chosen and report.changed == len(chosen)
    assert sorted(written(tenant)) == sorted(chosen)
    header = json.loads((tmp_path / "journal.jsonl").read_text().splitlines()[0])
    assert header["target"] == f"outlook.office365.com/{TENANT_ID}"


def test_a_write_batch_the_tenant_never_answers_ends_at_the_deadline_and_is_read_again(tmp_path: Path) -> None:
    names = identities(30)
    hung = Fault("hang", cmdlet="Set-Mailbox", identity=names[14])
    tenant = tenant_of(names, faults=[hung])
    started = time.monotonic()
    try:
        with client_of(tenant) as client:
            report = run(client, tmp_path / "journal.jsonl", names, batch_size=30, timeout=1.5)
    finally:
        hung.release()

    assert time.monotonic() - started < 10  # the batch's deadline held, whatever the tenant did
    assert hung.fired == 1 and (report.changed, report.failed, report.unfinished) == (30, 0, 0)
    assert_once(tenant, names)  # the unanswered `$batch` was never acted on: its ten were written later, once
