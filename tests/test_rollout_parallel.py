"""The rollout in parallel sessions against the simulated write budget (tests/simulated.py, `BudgetedTenant`).

Over the loopback WSMan endpoint, each session on its own connection, so the tenant serves them at once:
every mailbox is set exactly once (counted at the tenant), the tenant never runs more write pipelines than
its cap, a write the tenant refuses as throttled is sent again later without failing a mailbox, a run
interrupted midway resumes from its journal with nothing set twice, and one session sends what the
rollout always sent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from loopback import PASSWORD, cli_args, endpoint, session_for
from simulated import BATCH_SCRIPT, BudgetedTenant, ExchangeOnlineTenant, Mailbox, WriteBudget, too_many_requests

from psbridge import RetryPolicy, Session
from psbridge.errors import InputError
from psbridge.exchange.bulk import MailboxOutcome
from psbridge.exchange.rollout import RolloutProgress, RolloutReport, item_retry, rollout_cloud_managed
from psbridge.exchange.rollout_parallel import MAX_PARALLEL

BUDGET = WriteBudget(write_cost_s=0.01, max_writers=3)


def names(count: int) -> list[str]:
    return [f"user{n:04d}@contoso.example" for n in range(1, count + 1)]


def assert_once(host: ExchangeOnlineTenant, identities: list[str]) -> None:
    """Every mailbox set exactly once at the tenant, and no batch that writes reached it twice."""
    assert {ident: host.writes[ident.casefold()] for ident in identities} == dict.fromkeys(identities, 1)
    assert host.write_requests == host.set_attempts


def rollout(
    host: ExchangeOnlineTenant, journal: Path, identities: list[str], *, parallel: int = 3, **kwargs: Any
) -> RolloutReport:
    """A rollout over the loopback endpoint: `parallel` sessions, the extra ones from a factory."""
    server = host.server()
    handle = host.serve(server.handle) if isinstance(host, BudgetedTenant) else server.handle
    with endpoint(handle) as http, session_for(http.url) as session:
        options: dict[str, Any] = {
            "batch_size": 10, "pace_s": 0.0, "retry": item_retry(0.0), "sleep": lambda _: None, **kwargs,
        }  # fmt: skip
        return rollout_cloud_managed(
            session, identities=identities, journal=journal, parallel=parallel,
            sessions=lambda: session_for(http.url), **options,
        )  # fmt: skip


def journal_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def assert_journal_consistent(path: Path) -> None:
    """Each batch number once; each batch's item lines together, right before its batch line."""
    records = journal_records(path)[1:]
    numbers = [r["batch"] for r in records if r["kind"] == "batch"]
    assert len(numbers) == len(set(numbers))
    items: list[dict[str, Any]] = []
    for record in records:
        if record["kind"] == "item":
            items.append(record)
        elif record["kind"] == "batch":
            assert {item["batch"] for item in items} <= {record["batch"]}, "another batch's lines in between"
            items = []


def test_parallel_sessions_set_every_mailbox_once_and_never_exceed_the_cap(tmp_path: Path) -> None:
    """90 mailboxes in MAX_PARALLEL sessions against a cap of 3 writers: all Changed, each set once, the
    tenant ran write pipelines at once (the sessions did run in parallel), never more than 3, refused none."""
    identities = names(90)
    host = BudgetedTenant([Mailbox(i) for i in identities], WriteBudget(write_cost_s=0.03, max_writers=3))
    report = rollout(host, tmp_path / "j.jsonl", identities, parallel=MAX_PARALLEL)
    assert report.succeeded and report.changed == 90
    assert_once(host, identities)
    assert 1 < host.peak_writers <= 3
    assert host.refused == 0
    assert_journal_consistent(tmp_path / "j.jsonl")
    # The batches partition the mailboxes, read-ahead included: each read once (by a read pipeline or by the
    # write before it), and only each session's first batch had a read pipeline of its own.
    statements = [{p.name: p.value for p in k.statements[0].params} for k in host.calls
                  if k.statements[0].command == BATCH_SCRIPT]  # fmt: skip
    reads = [str(i) for s in statements for i in (s["Identity"] if s["DryRun"] else s.get("ReadAhead") or ())]
    assert sorted(reads) == sorted(identities)
    first_reads = sum(1 for s in statements if s["DryRun"])  # a session's first batch (each took one, surely)
    assert 1 <= first_reads <= MAX_PARALLEL and report.batches == len(statements) == first_reads + 9


def test_a_throttled_write_is_sent_again_later_and_fails_no_mailbox(tmp_path: Path) -> None:
    """The tenant refuses the first four write pipelines as throttled (a terminating 429): each batch is read
    again and sent later, after a backoff; no mailbox fails or counts an extra try."""
    identities = names(60)
    host = BudgetedTenant([Mailbox(i) for i in identities], BUDGET)
    real = host.handlers[BATCH_SCRIPT.lower()]
    refused: list[int] = []

    def refuse_four(params: Any) -> Any:
        if not params.get("DryRun") and len(refused) < 4:
            refused.append(1)
            return too_many_requests()
        return real(params)

    host.handlers[BATCH_SCRIPT.lower()] = refuse_four
    waits: list[float] = []
    report = rollout(host, tmp_path / "j.jsonl", identities, retry=item_retry(0.01), sleep=waits.append)
    assert len(refused) == 4 and len(waits) >= 4
    assert report.succeeded and (report.changed, report.failed, report.unfinished) == (60, 0, 0)
    assert {item.attempts for item in report.items} == {1}
    assert_once(host, identities)
    assert_journal_consistent(tmp_path / "j.jsonl")


def test_throttling_that_outlasts_the_retry_time_leaves_mailboxes_unfinished_not_failed(tmp_path: Path) -> None:
    """A tenant that refuses every write: once the retry time is used up the mailboxes are Unfinished."""
    identities = names(20)
    host = BudgetedTenant([Mailbox(i) for i in identities], WriteBudget(write_cost_s=0.01, max_writers=0))
    retry = RetryPolicy(attempts=4, total_s=0.2, initial_s=0.01, max_wait_s=0.05, jitter_s=0.0)
    report = rollout(host, tmp_path / "j.jsonl", identities, retry=retry)
    assert host.refused > 0 and host.total_writes == 0
    assert (report.unfinished, report.failed, report.succeeded) == (20, 0, False)


def test_micro_delays_slow_each_session_down(tmp_path: Path) -> None:
    """A budget of 150 writes/s for 3 sessions writing at 100/s each: the tenant warns, the sessions raise
    their pace, and every mailbox is still set once."""
    identities = names(90)
    budget = WriteBudget(write_cost_s=0.01, max_writers=3, writes_per_s=150.0, strikes=10)
    host = BudgetedTenant([Mailbox(i) for i in identities], budget)
    report = rollout(host, tmp_path / "j.jsonl", identities)
    assert host.micro_delays > 0 and report.micro_delays == host.micro_delays
    paces = [r["next_pace_ms"] for r in journal_records(tmp_path / "j.jsonl") if r["kind"] == "batch"]
    assert max(paces) > 0
    assert report.succeeded
    assert_once(host, identities)


def test_an_interrupted_parallel_run_resumes_from_its_journal_with_nothing_set_twice(tmp_path: Path) -> None:
    """Interrupted after the fourth batch while the other sessions' writes are in flight; the re-run with
    the journal reads the mailboxes of the unfinished intents (switched: Changed) and finishes the rest."""
    identities = names(120)
    host = BudgetedTenant([Mailbox(i) for i in identities], BUDGET)
    journal = tmp_path / "j.jsonl"
    stopped: list[RolloutReport] = []

    def stop_at_fourth(progress: RolloutProgress) -> None:
        if progress.batch >= 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rollout(host, journal, identities, on_progress=stop_at_fourth, on_interrupt=stopped.append)
    assert stopped and stopped[0].interrupted and 0 < host.total_writes < 120
    again = rollout(host, journal, identities)
    assert again.succeeded and again.changed + again.skipped == 120
    assert_once(host, identities)
    switched = {i.identity for i in again.items if i.outcome == MailboxOutcome.CHANGED and not i.from_journal}
    assert switched | {i.identity for i in again.items if i.from_journal} == set(identities)
    assert_journal_consistent(journal)


def test_one_session_sends_what_the_rollout_always_sent(tmp_path: Path) -> None:
    """parallel=1 (the default): no session is made, and the batches are the sequential ones, in order, at the
    configured pace: the first is read, then each write pipeline reads the next batch ahead (its -ReadAhead),
    so only the first batch has a read pipeline of its own."""
    identities = names(25)
    host = ExchangeOnlineTenant([Mailbox(i, cloud_managed=i.endswith("0003@contoso.example")) for i in identities])

    def factory() -> Session:
        raise AssertionError("no extra session for parallel=1")

    server = host.server()
    with endpoint(server.handle) as http, session_for(http.url) as session:
        report = rollout_cloud_managed(
            session, identities=identities, journal=tmp_path / "j.jsonl", batch_size=10, sleep=lambda _: None,
            sessions=factory,
        )  # fmt: skip
    assert report.succeeded and report.batches == 4
    batches = [key.statements[0] for key in host.calls if key.statements[0].command == BATCH_SCRIPT]
    sent = [
        ([str(v) for v in params["Identity"]], bool(params["DryRun"]), int(params["PaceMilliseconds"]),
         [str(v) for v in params.get("ReadAhead") or ()])
        for params in ({p.name: p.value for p in statement.params} for statement in batches)
    ]  # fmt: skip
    chunks = [identities[0:10], identities[10:20], identities[20:25]]
    expected: list[tuple[list[str], bool, int, list[str]]] = [(chunks[0], True, 0, [])]
    for chunk, following in zip(chunks, [*chunks[1:], []], strict=True):
        expected.append(([i for i in chunk if not i.endswith("0003@contoso.example")], False, 500, following))
    assert sent == expected


@pytest.mark.parametrize("parallel", [0, MAX_PARALLEL + 1])
def test_parallel_out_of_range_is_refused_before_anything_is_sent(tmp_path: Path, parallel: int) -> None:
    host = ExchangeOnlineTenant([Mailbox("a@contoso.example")])
    with pytest.raises(InputError, match="parallel must be 1 to"):
        rollout(host, tmp_path / "j.jsonl", ["a@contoso.example"], parallel=parallel)
    assert host.calls == []
    assert not (tmp_path / "j.jsonl").exists()


SIGN_IN = ("--organization", "contoso.onmicrosoft.com", "--app-id", "0f4c3c7e-5a2b-4d8e-9c61-2b7d4e8f1a93",
           "--certificate-thumbprint", "3C5F8A2B9D1E4F7A6B0C2D8E5F1A9B3C7D4E6F20")  # fmt: skip


def test_cli_parallel_sessions_each_sign_in_and_set_every_mailbox_once(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`exo rollout --parallel 3`: three sessions, each signed in (Connect-ExchangeOnline three times), the
    tenant ran writes at once, and every mailbox is set once."""
    identities = names(60)
    host = BudgetedTenant([Mailbox(i) for i in identities], WriteBudget(write_cost_s=0.03, max_writers=3))
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(identities) + "\n", encoding="utf-8")
    monkeypatch.setenv("PSBRIDGE_PASSWORD", PASSWORD)
    server = host.server()
    with endpoint(host.serve(server.handle)) as http:
        result = cli(*cli_args(http.url), "--output", "json", "exo", *SIGN_IN, "rollout", "--identities", ids,
                     "--journal", tmp_path / "j.jsonl", "--yes", "--parallel", "3", "--pace", "0",
                     "--batch-size", "10")  # fmt: skip
    assert result.code == 0, result.err
    assert json.loads(result.out)["changed"] == 60
    assert_once(host, identities)
    assert 1 < host.peak_writers <= 3 and host.refused == 0
    assert sum(1 for key in host.calls if key.statements[0].command == "Connect-ExchangeOnline") == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--parallel", "4"), "parallel must be 1 to 3"),
        (("--parallel", "0"), "'--parallel': 0 is not in the range"),
        (("--parallel", "2", "--replay"), "--parallel is for live runs"),
    ],
)
def test_cli_parallel_refusals_send_nothing(cli: Any, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("a@contoso.example\n", encoding="utf-8")
    parallel, replay = args[:2], (("--replay", "recorded_sessions/demo") if "--replay" in args else ())
    result = cli(*replay, "exo", *SIGN_IN, "rollout", "--identities", ids, "--journal", tmp_path / "j.jsonl", "--yes",
                 *parallel)  # fmt: skip
    assert message in result.one_line_error(2)
    assert not (tmp_path / "j.jsonl").exists()
