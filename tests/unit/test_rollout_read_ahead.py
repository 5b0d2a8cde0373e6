"""The rollout's read-ahead: the pipeline that writes a batch also reads the next one, so that batch is not read
by a pipeline of its own; and everything the rollout promises still holds around it.

The jump host is the scenario generator's simulated tenant (scripts/make_rollout_scenario.py) behind a
MockTransport, which records every command sent: batches of 5 here, so 15 mailboxes are 3 batches.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rollout_scenario import Answer, Sleeps, scenario, tenant_session

from psbridge import Command, ConnectError, UnexpectedOutputError
from psbridge.exchange.bulk import set_cloud_managed_batch
from psbridge.exchange.rollout import item_retry, rollout_cloud_managed
from psbridge.result import InvocationResult

IDS = [scenario.identity(n) for n in range(1, 16)]
FIRST, SECOND, THIRD = IDS[0:5], IDS[5:10], IDS[10:15]


def params(command: Command) -> dict[str, Any]:
    return {p.name: p.value for p in command.parameters}


def sent(calls: list[Command]) -> list[tuple[str, list[str], list[str]]]:
    """Each batch pipeline as ("read" or "write", its identities, its read-ahead)."""
    return [
        ("read" if p["DryRun"] else "write", list(p["Identity"]), list(p.get("ReadAhead") or []))
        for p in map(params, calls)
    ]


def rollout(session: Any, journal: Path, **kwargs: Any) -> Any:
    kwargs.setdefault("identities", IDS)
    return rollout_cloud_managed(session, journal=journal, batch_size=5, sleep=Sleeps(), **kwargs)


def test_each_write_reads_the_next_batch_so_three_batches_are_four_pipelines(tmp_path: Path) -> None:
    tenant = scenario.Tenant(clean=True, count=15)
    tenant.mailboxes[IDS[7]].cloud_managed = True  # already set: read ahead as such, never written
    session, transport = tenant_session(tenant)
    report = rollout(session, tmp_path / "j.jsonl")
    assert sent(transport.calls) == [
        ("read", FIRST, []),
        ("write", FIRST, SECOND),
        ("write", [i for i in SECOND if i != IDS[7]], THIRD),
        ("write", THIRD, []),
    ]
    assert report.batches == 4 and report.succeeded
    assert (report.changed, report.already_set) == (14, 1) and report.items[7].before is True
    assert dict(tenant.write_requests) == dict(tenant.writes) == {i: 1 for i in IDS if i != IDS[7]}


def test_the_intent_before_each_write_lists_exactly_what_its_read_found_to_switch(tmp_path: Path) -> None:
    """When each write is sent, the journal's last line is its intent, naming the mailboxes the read (its own,
    or the read-ahead of the write before) found not switched: never the ones read ahead with it."""
    journal = tmp_path / "j.jsonl"
    seen: list[tuple[list[str], dict[str, Any]]] = []

    def watch(command: Command, answer: Answer) -> InvocationResult:
        if not params(command)["DryRun"]:
            last = json.loads(journal.read_text(encoding="utf-8").splitlines()[-1])
            seen.append((list(params(command)["Identity"]), last))
        return answer(command)

    tenant = scenario.Tenant(clean=True, count=15)
    tenant.mailboxes[IDS[12]].cloud_managed = True
    session, _ = tenant_session(tenant, watch)
    rollout(session, journal)
    assert [(ids, last["kind"], last["identities"], last["batch"]) for ids, last in seen] == [
        (FIRST, "intent", FIRST, 1),
        (SECOND, "intent", SECOND, 2),
        ([i for i in THIRD if i != IDS[12]], "intent", [i for i in THIRD if i != IDS[12]], 3),
    ]
    batches = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    assert [line["batch"] for line in batches if line["kind"] == "batch"] == [1, 2, 3]  # numbered as ever


def _lose(nth: int, lost: list[Command]) -> Any:
    """A wrapper losing the answer of the `nth` write (the host ran it), as a connection reset would."""

    def wrap(command: Command, answer: Answer) -> InvocationResult:
        result = answer(command)
        if not params(command)["DryRun"]:
            lost.append(command)
            if len(lost) == nth:
                raise ConnectError("connection reset", command_sent=True)
        return result

    return wrap


def test_a_lost_write_answer_discards_its_read_ahead_and_the_next_batch_is_read_for_itself(tmp_path: Path) -> None:
    """The first write (reading the second batch ahead) loses its answer: its mailboxes are read again, and the
    second batch, whose read-ahead was lost with it, gets a read pipeline of its own before its write."""
    tenant = scenario.Tenant(clean=True, count=15)
    session, transport = tenant_session(tenant, _lose(1, []))
    report = rollout(session, tmp_path / "j.jsonl")
    assert sent(transport.calls) == [
        ("read", FIRST, []),
        ("write", FIRST, SECOND),  # lost: ran at the host, no answer
        ("read", FIRST, []),  # what did it switch?
        ("read", SECOND, []),  # its read-ahead is gone: read for itself
        ("write", SECOND, THIRD),
        ("write", THIRD, []),
    ]
    assert [i.outcome for i in report.items] == ["Changed"] * 15 and report.succeeded
    assert {i.attempts for i in report.items} == {1} and report.retried == 0
    assert dict(tenant.write_requests) == dict(tenant.writes) == {i: 1 for i in IDS}


def test_a_batch_read_ahead_whose_write_loses_its_answer_is_read_again_afresh(tmp_path: Path) -> None:
    """The second write (its batch read ahead by the first) loses its answer after switching every mailbox: the
    rollout reads them again, not trusting the read-ahead that found them unswitched, and reports them Changed
    at the first attempt. Trusting it would send them to a batch of retries as unswitched."""
    tenant = scenario.Tenant(clean=True, count=15)
    session, transport = tenant_session(tenant, _lose(2, []))
    report = rollout(session, tmp_path / "j.jsonl")
    assert sent(transport.calls) == [
        ("read", FIRST, []),
        ("write", FIRST, SECOND),
        ("write", SECOND, THIRD),  # lost
        ("read", SECOND, []),  # read again, afresh
        ("read", THIRD, []),
        ("write", THIRD, []),
    ]
    assert [i.outcome for i in report.items] == ["Changed"] * 15
    assert {i.attempts for i in report.items} == {1} and report.retried == 0
    assert dict(tenant.write_requests) == dict(tenant.writes) == {i: 1 for i in IDS}


def test_a_run_killed_during_a_write_that_reads_ahead_resumes_with_nothing_set_twice(tmp_path: Path) -> None:
    """Killed while the second write ran (it switched its batch and read the third ahead; nothing after its
    intent was journaled): the re-run reads the second batch (its intent: Changed) and the third, and writes
    only the third."""
    journal = tmp_path / "j.jsonl"
    tenant = scenario.Tenant(clean=True, count=15)
    writes: list[Command] = []

    def kill_second_write(command: Command, answer: Answer) -> InvocationResult:
        result = answer(command)
        if not params(command)["DryRun"]:
            writes.append(command)
            if len(writes) == 2:
                raise KeyboardInterrupt  # stands in for SIGKILL: the host ran it, the client journaled nothing
        return result

    session, _ = tenant_session(tenant, kill_second_write)
    with pytest.raises(KeyboardInterrupt):
        rollout(session, journal)
    kinds = [json.loads(line)["kind"] for line in journal.read_text(encoding="utf-8").splitlines()]
    assert kinds[-1] == "intent" and kinds.count("batch") == 1

    again, transport = tenant_session(tenant)
    report = rollout(again, journal, retry=item_retry(0.0))
    # The first batch's switch checked; the second read, switched under its intent (nothing to write, so
    # nothing read ahead); the third read for itself (its read-ahead died with the run), then written.
    assert sent(transport.calls) == [("read", FIRST, []), ("read", SECOND, []), ("read", THIRD, []),
                                     ("write", THIRD, [])]  # fmt: skip
    assert {(i.identity, i.outcome) for i in report.items if not i.from_journal} == {
        (i, "Changed") for i in SECOND + THIRD
    }
    assert dict(tenant.write_requests) == dict(tenant.writes) == {i: 1 for i in IDS}


def test_the_batch_and_its_read_ahead_come_back_apart_and_each_must_be_whole() -> None:
    """set_cloud_managed_batch splits the answer: one result per identity, then one per read-ahead identity, in
    order; a read-ahead result missing, or out of order, is UnexpectedOutputError (nothing is guessed)."""
    tenant = scenario.Tenant(clean=True, count=4)
    session, transport = tenant_session(tenant)
    result = set_cloud_managed_batch(session, IDS[:2], read_ahead=IDS[2:4], pace_s=0)
    assert [(i.identity, i.outcome) for i in result.items] == [(IDS[0], "Changed"), (IDS[1], "Changed")]
    assert [(i.identity, i.outcome) for i in result.read_ahead] == [(IDS[2], "WouldChange"), (IDS[3], "WouldChange")]
    assert params(transport.calls[0])["ReadAhead"] == IDS[2:4]
    set_cloud_managed_batch(session, IDS[:1], dry_run=True)
    assert "ReadAhead" not in params(transport.calls[-1])  # none given: the parameter is left out

    for cut in (lambda out: out[:-1], lambda out: (*out[:2], out[3], out[2])):

        def damaged(command: Command, answer: Answer, cut: Any = cut) -> InvocationResult:
            result = answer(command)
            return InvocationResult(result.command, cut(result.output), result.streams)

        broken, _ = tenant_session(scenario.Tenant(clean=True, count=4), damaged)
        with pytest.raises(UnexpectedOutputError, match="for 2 identities and 2 read ahead, or out of order"):
            set_cloud_managed_batch(broken, IDS[:2], read_ahead=IDS[2:4], pace_s=0)
