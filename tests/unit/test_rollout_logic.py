"""Rollout logic without the wire: pacing, the journal's file handling, retries and stops.

The jump host is the scenario generator's simulated tenant (scripts/make_rollout_scenario.py) behind a
MockTransport, so these runs see the same answers the recorded scenario holds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rollout_scenario import Answer, Sleeps, scenario, tenant_session

from psbridge import (
    Command,
    CommandNotFoundError,
    ConnectError,
    InputError,
    OperationTimeoutError,
    RetryPolicy,
    Session,
    UnexpectedOutputError,
)
from psbridge.exchange.bulk import get_mailbox_identities
from psbridge.exchange.journal import Header, Journal
from psbridge.exchange.pacing import fits, plan
from psbridge.exchange.rollout import item_retry, plan_pacing, rollout_cloud_managed
from psbridge.result import InvocationResult, Streams

HEADER = Header("jump.example", None, True, None, False)
IDS = [scenario.identity(n) for n in range(1, 6)]


def params(command: Command) -> dict[str, Any]:
    return {p.name: p.value for p in command.parameters}


def rollout(session: Session, journal: Path, **kwargs: Any) -> Any:
    kwargs.setdefault("identities", IDS)
    kwargs.setdefault("sleep", Sleeps())
    return rollout_cloud_managed(session, journal=journal, **kwargs)


# -- pacing ---------------------------------------------------------------------------------------------


def test_plan_refuses_a_batch_that_would_outrun_the_budget() -> None:
    assert (plan(100, 0.5).base_ms, plan(100, 0.5).cap_ms) == (500, 5200)
    assert (plan(200, 0.5).base_ms, plan(200, 0.5).cap_ms) == (500, 1600)  # the default: 500 s of 720
    with pytest.raises(InputError, match="15-minute timeout"):
        plan(300, 0.5)  # 300 x 2.5 s is over 12 minutes
    with pytest.raises(InputError):
        plan(0, 0.5)


def test_a_write_pipeline_reads_the_next_batch_ahead_only_within_the_budget() -> None:
    assert fits(200, 200, 500)  # the defaults: 200 x 2.5 s + 200 x 1 s = 700 s of 720
    assert not fits(200, 200, 1000)  # slowed by micro-delays: the next batch reads for itself
    assert fits(200, 0, 1600) and not fits(250, 250, 500)


def test_pacing_slows_on_micro_delays_and_recovers() -> None:
    pacing = plan(100, 0.5)
    assert pacing.after(500, [1300.0]) == 1300  # at least the delay the service applied
    assert pacing.after(500, [200.0]) == 1000  # at least double
    assert pacing.after(3000, [9000.0]) == 5200  # never past what keeps a batch in budget
    assert (pacing.after(1300, []), pacing.after(600, [])) == (650, 500)  # halves back, not below the base
    assert (pacing.resume(None), pacing.resume(2000), pacing.resume(9000)) == (500, 2000, 5200)


# -- the journal file -------------------------------------------------------------------------------------


def _item(identity: str, outcome: str = "Changed", transient: bool = False) -> dict[str, Any]:
    return {"identity": identity, "outcome": outcome, "transient": transient, "batch": 1, "round": 0}


def _write(path: Path, items: list[dict[str, Any]]) -> None:
    with Journal.open(path, HEADER) as journal:
        journal.append_batch(items, {"batch": journal.batches + 1, "next_pace_ms": 500})


def test_a_torn_last_line_is_dropped_and_cut_off_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    _write(path, [_item("a@x"), _item("b@x")])
    intact = path.read_bytes()
    path.write_bytes(intact + b'{"kind":"item","identity":"c@x","outc')
    with Journal.open(path, HEADER) as journal:
        assert journal.done("a@x") is not None and journal.done("c@x") is None
        assert path.read_bytes() == intact  # the fragment is gone
        journal.append_batch([_item("c@x")], {"batch": 2, "next_pace_ms": 500})
    with Journal.open(path, HEADER) as journal:
        assert journal.done("C@X") is not None and journal.batches == 2


def test_a_complete_last_line_without_its_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    _write(path, [_item("a@x")])
    path.write_bytes(path.read_bytes() + json.dumps({"kind": "item", **_item("b@x")}).encode())
    _write(path, [_item("c@x")])
    with Journal.open(path, HEADER) as journal:
        assert all(journal.done(i) is not None for i in ("a@x", "b@x", "c@x"))


def test_a_torn_header_starts_the_journal_afresh(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_bytes(b'{"kind":"header","jour')
    _write(path, [_item("a@x")])
    lines = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["kind"] == "header" and len(lines) == 3


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"kind":"item","identity":"a@x","outcome":"Changed","transient":false}\n', "line 1"),
        ("HEADER\nnot json\n", "line 2"),
        ('HEADER\n{"kind":"item","identity":"a@x","outcome":"Maybe","transient":false}\n', "line 2"),
        ('HEADER\n{"kind":"item","outcome":"Changed","transient":false}\n', "line 2"),
        ('HEADER\n{"kind":"batch","batch":"1"}\n{"kind":"item"}\n', "line 2"),
        ('HEADER\n{"kind":"mystery"}\n', "line 2"),
        ('HEADER\n{"kind":"intent","batch":1,"identities":"a@x"}\n', "line 2"),
        ('HEADER\n{"kind":"intent","batch":1,"identities":[""]}\n', "line 2"),
    ],
)
def test_a_malformed_line_is_an_error_naming_it(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "j.jsonl"
    _write(path, [])
    header = path.read_text(encoding="utf-8").splitlines()[0]
    path.write_text(text.replace("HEADER", header), encoding="utf-8")
    with pytest.raises(InputError, match=f"{where} is malformed"), Journal.open(path, HEADER):
        pass


def test_a_journal_is_used_by_one_rollout_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    with Journal.open(path, HEADER), pytest.raises(InputError, match="in use"), Journal.open(path, HEADER):
        pass


# -- retries and stops --------------------------------------------------------------------------------------


def test_a_mailbox_failing_past_its_attempts_is_unfinished_and_a_rerun_finishes_it(tmp_path: Path) -> None:
    tenant = scenario.Tenant(clean=True, count=5)
    tenant.mailboxes[IDS[2]].transient_writes = 3
    session, _ = tenant_session(tenant)
    sleeps = Sleeps()
    first = rollout(session, tmp_path / "j.jsonl", retry=item_retry(1.0, attempts=2), sleep=sleeps)
    assert (first.changed, first.unfinished, first.succeeded) == (4, 1, False)
    stuck = first.items[2]
    assert (stuck.outcome, stuck.attempts, stuck.error_class) == ("Unfinished", 2, "TransientRemoteError")
    assert len(sleeps) == 1 and 1.0 <= sleeps[0] <= 1.0 + 1 / 6

    again = rollout(session, tmp_path / "j.jsonl", retry=item_retry(0, attempts=2))
    assert (again.changed, again.skipped, again.succeeded) == (1, 4, True)
    assert (again.items[2].outcome, again.items[2].attempts) == ("Changed", 4)


def test_retries_stop_when_their_time_is_used_up(tmp_path: Path) -> None:
    tenant = scenario.Tenant(clean=True, count=5)
    tenant.mailboxes[IDS[0]].transient_writes = 1
    session, _ = tenant_session(tenant)
    sleeps = Sleeps()
    policy = RetryPolicy(attempts=4, total_s=5.0, initial_s=10.0, max_wait_s=10.0, jitter_s=0.0)
    report = rollout(session, tmp_path / "j.jsonl", retry=policy, sleep=sleeps)
    assert sleeps == [] and report.items[0].outcome == "Unfinished" and report.unfinished == 1


def test_a_failure_no_mailbox_can_get_past_stops_the_rollout_unrecorded(tmp_path: Path) -> None:
    def missing_cmdlet(command: Command, answer: Answer) -> InvocationResult:
        result = answer(command)
        broken = {
            "Outcome": "Failed", "Before": None, "ErrorType": "System.Management.Automation.CommandNotFoundException",
            "ErrorMessage": "The term 'Get-Mailbox' is not recognized as the name of a cmdlet, function, script file, "
            "or operable program.", "ErrorId": "CommandNotFoundException", "ErrorCategory": "ObjectNotFound",
            "ErrorReason": "CommandNotFoundException",
        }  # fmt: skip
        output = tuple(json.dumps({**json.loads(line), **broken}) for line in result.output)
        return InvocationResult(result.command, output, result.streams)

    session, _ = tenant_session(scenario.Tenant(clean=True, count=5), missing_cmdlet)
    journal = tmp_path / "j.jsonl"
    with pytest.raises(CommandNotFoundError, match=r"Get-Mailbox' is not recognized.*re-run it with the same journal"):
        rollout(session, journal)
    kinds = [json.loads(line)["kind"] for line in journal.read_text(encoding="utf-8").splitlines()]
    assert kinds == ["header", "batch"]  # no mailbox recorded: a re-run does them all

    fixed, _ = tenant_session(scenario.Tenant(clean=True, count=5))
    assert rollout(fixed, journal).changed == 5


def test_a_write_whose_answer_was_lost_is_read_again_not_sent_again_and_reported_changed(tmp_path: Path) -> None:
    lost = []

    def drop_first_write(command: Command, answer: Answer) -> InvocationResult:
        result = answer(command)  # the host did the work...
        if not lost and not params(command)["DryRun"]:
            lost.append(command)
            raise ConnectError("connection reset", command_sent=True)  # ...and the answer was lost
        return result

    tenant = scenario.Tenant(clean=True, count=5)
    tenant.mailboxes[IDS[0]].cloud_managed = True  # already set before: never written
    session, transport = tenant_session(tenant, drop_first_write)
    report = rollout(session, tmp_path / "j.jsonl")
    flags = [(params(c)["DryRun"], len(params(c)["Identity"])) for c in transport.calls]
    assert flags == [(True, 5), (False, 4), (True, 4)]  # read, the lost write, read again: never written twice
    assert [i.outcome for i in report.items] == ["AlreadySet", *["Changed"] * 4] and report.succeeded
    assert [i.before for i in report.items] == [True, False, False, False, False]
    assert dict(tenant.write_requests) == dict(tenant.writes) == {i: 1 for i in IDS[1:]}


def test_a_write_that_outruns_its_deadline_is_read_again_and_reported_changed(tmp_path: Path) -> None:
    """A timeout after the write was sent: its outcome is unknown. Its mailboxes are read again; the ones it
    switched are Changed, and none is written twice."""
    timed_out = []

    def slow_write(command: Command, answer: Answer) -> InvocationResult:
        result = answer(command)
        if not timed_out and not params(command)["DryRun"]:
            timed_out.append(command)
            raise OperationTimeoutError("no answer within 5s", command_sent=True)
        return result

    tenant = scenario.Tenant(clean=True, count=5)
    session, transport = tenant_session(tenant, slow_write)
    report = rollout(session, tmp_path / "j.jsonl", timeout=5, pace_s=0.0)
    assert [params(c)["DryRun"] for c in transport.calls] == [True, False, True]
    assert [i.outcome for i in report.items] == ["Changed"] * 5 and report.succeeded
    assert dict(tenant.write_requests) == dict(tenant.writes) == {i: 1 for i in IDS}


def test_a_killed_batchs_intent_makes_its_switched_mailboxes_changed(tmp_path: Path) -> None:
    """A run killed while its write ran left the intent and no outcomes: the re-run reads the mailboxes, and
    reports Changed the ones the intent named that it finds switched; one switched by nobody's intent is
    AlreadySet."""
    journal = tmp_path / "j.jsonl"
    tenant = scenario.Tenant(clean=True, count=5)
    session, _ = tenant_session(tenant)
    with Journal.open(journal, Header(session.target, None, True, None, False)) as book:
        book.append_intent(1, IDS[:2])
    for identity in IDS[:3]:  # the killed write switched the first two; someone else the third
        tenant.mailboxes[identity].cloud_managed = True
    tenant.mailboxes[IDS[1]].transient_reads = 1  # and the first read of one of them fails: still psbridge's
    report = rollout(session, journal, retry=item_retry(0.0))
    assert [(i.outcome, i.before) for i in report.items[:3]] == [("Changed", False)] * 2 + [("AlreadySet", True)]
    assert report.changed == 4 and report.already_set == 1 and report.items[1].attempts == 2


def test_a_timeout_is_kept_by_capping_the_pace() -> None:
    assert (plan_pacing(100, 0.5).cap_ms, plan_pacing(100, 0.5, 400).cap_ms) == (5200, 2000)
    assert plan_pacing(10, 0.0, 1).base_ms == 0
    with pytest.raises(InputError, match=r"timeout \(60s\) cannot hold a batch.*at least 100s"):
        plan_pacing(100, 0.5, 60)


def test_an_answer_that_does_not_match_the_batch_is_unexpected_output(tmp_path: Path) -> None:
    def short(command: Command, answer: Answer) -> InvocationResult:
        result = answer(command)
        return InvocationResult(result.command, result.output[:-1], result.streams)

    session, _ = tenant_session(scenario.Tenant(clean=True, count=5), short)
    journal = tmp_path / "j.jsonl"
    with pytest.raises(UnexpectedOutputError, match="4 result"):
        rollout(session, journal)
    assert '"kind":"item"' not in journal.read_text(encoding="utf-8")


@pytest.mark.parametrize("given", [{}, {"identities": IDS, "filter": "IsDirSynced -eq $true"}])
def test_identities_or_a_filter_exactly(tmp_path: Path, given: dict[str, Any]) -> None:
    session, transport = tenant_session(scenario.Tenant(clean=True, count=5))
    with pytest.raises(InputError, match="either identities or a filter"):
        rollout_cloud_managed(session, journal=tmp_path / "j.jsonl", **given)
    assert transport.calls == [] and not (tmp_path / "j.jsonl").exists()


def test_resolved_identities_must_be_distinct_text() -> None:
    def odd(command: Command, answer: Answer) -> InvocationResult:
        return InvocationResult(command.display(), ('["a@x",""]',), answer(command).streams)

    session, _ = tenant_session(scenario.Tenant(clean=True, count=2), odd)
    with pytest.raises(UnexpectedOutputError, match=r"page of identities that cannot be read \(1: "):
        get_mailbox_identities(session, filter="IsDirSynced -eq $true")


# -- the identity listing's JSON pages ---------------------------------------------------------------------


def pages_session(*output: Any, warnings: tuple[str, ...] = ()) -> tuple[Session, Any]:
    """A session whose jump host answers Get-MailboxIdentities.ps1 with `output` (and `warnings`)."""

    def answer(command: Command, _: Answer) -> InvocationResult:
        return InvocationResult(command.display(), output, Streams(warning=warnings))

    return tenant_session(scenario.Tenant(clean=True, count=1), answer)


def test_identity_pages_are_read_in_order_one_string_per_page() -> None:
    """The simulated host pages 5 identities by 2: three strings, read back in order; PageSize is sent."""
    session, transport = tenant_session(scenario.Tenant(clean=True, count=5))
    assert get_mailbox_identities(session, page_size=2) == IDS
    assert params(transport.calls[0])["PageSize"] == 2
    sent = scenario.Tenant(clean=True, count=5).handlers["exchange/get-mailboxidentities.ps1"]({"PageSize": 2})
    assert sent["output"] == [json.dumps(IDS[0:2], separators=(",", ":")), json.dumps(IDS[2:4], separators=(",", ":")),
                              json.dumps(IDS[4:], separators=(",", ":"))]  # fmt: skip


def test_no_page_is_no_mailbox() -> None:
    session, _ = pages_session()
    assert get_mailbox_identities(session) == []


def test_a_truncation_warning_still_reaches_the_warning_stream(mocker: Any) -> None:
    warning = "By default, only the first 1000 items are returned."
    session, _ = pages_session('["a@x"]', warnings=(warning,))
    invoke = mocker.spy(session, "invoke")
    assert get_mailbox_identities(session, result_size=1000) == ["a@x"]
    assert invoke.spy_return.streams.warning == (warning,)


@pytest.mark.parametrize(
    ("output", "problem"),
    [
        (('["a@x", "b@x"',), "page of identities that cannot be read ((the page): Invalid JSON"),
        (('{"rows": ["a@x"]}',), "page of identities that cannot be read ((the page): Input should be a valid array"),
        (('["a@x", 7]',), "page of identities that cannot be read (1: Input should be a valid string"),
        (('["a@x", null]',), "page of identities that cannot be read (1: Input should be a valid string"),
        (('["a@x", "  "]',), "page of identities that cannot be read (1: String should match pattern"),
        (("a@x",), "page of identities that cannot be read ((the page): Invalid JSON"),
        ((7,), "returned 7 where a JSON page of identities was expected"),
        (('["a@x","b@x"]', '["a@x"]'), "returned 'a@x' twice among the identities"),
    ],
)
def test_a_page_that_is_not_distinct_identities_is_unexpected_output(output: tuple[Any, ...], problem: str) -> None:
    session, _ = pages_session(*output)
    with pytest.raises(UnexpectedOutputError) as raised:
        get_mailbox_identities(session)
    assert problem in str(raised.value)
