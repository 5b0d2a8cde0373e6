"""The bulk cloud-managed rollout, replayed over 1,050 mailboxes through the in-process PSRP server.

What the server saw is the evidence: which batches were sent, with which identities and flags, and
what each mailbox's result was. Each batch is read (the script's dry run, or the read-ahead of the write
pipeline before it) and then its mailboxes the read found to switch are written. The recording was
generated with batches of `BATCH_SIZE` (scripts/make_rollout_scenario.py), so every run here uses that
batch size and the default pace.
"""

from __future__ import annotations

import collections
import itertools
import json
import math
from pathlib import Path
from typing import Any

import pytest
from rollout_scenario import (
    ALREADY,
    BATCH_SIZE,
    IDENTITIES,
    MISSING,
    PERMANENT,
    TO_CHANGE,
    TRANSIENT,
    Batch,
    Read,
    Served,
    Sleeps,
    of,
    scenario,
    session,
)
from rollout_scenario import reads_and_writes as pair_up

from psbridge import InputError
from psbridge.exchange.bulk import BATCH_SCRIPT, MailboxOutcome
from psbridge.exchange.pacing import fits
from psbridge.exchange.rollout import RolloutProgress, RolloutReport, rollout_cloud_managed

pytestmark = pytest.mark.slow  # the 1,050-mailbox scenario, replayed in process

N = len(IDENTITIES)
ROLLBACK = [scenario.identity(n) for n in scenario.ROLLBACK]


def run(journal: Path, served: list[Served] | None = None, **kwargs: Any) -> RolloutReport:
    """One rollout in a fresh replay session (as one CLI run would be)."""
    kwargs.setdefault("identities", None if "filter" in kwargs else IDENTITIES)
    kwargs.setdefault("sleep", Sleeps())
    with session() as replay:
        watch = Served(replay)
        if served is not None:
            served.append(watch)
        return rollout_cloud_managed(replay, journal=journal, batch_size=BATCH_SIZE, **kwargs)


def stop_after(batches: int) -> Any:
    return scenario.stop_after(batches)


def changed_per_identity(served: list[Served]) -> collections.Counter[str]:
    """How often the server answered Changed for each mailbox, over every non-dry-run batch."""
    return collections.Counter(
        identity
        for watch in served
        for batch in watch.batches()
        if not batch.dry_run
        for identity, outcome in batch.outcomes.items()
        if outcome == "Changed"
    )


def reads_and_writes(watch: Served) -> list[tuple[Read, Batch | None]]:
    """Each batch's read with the write that followed it (None when it found nothing to switch)."""
    return pair_up(watch.batches())


def outcomes(report: RolloutReport) -> dict[str, MailboxOutcome]:
    return {item.identity: item.outcome for item in report.items}


# -- one rollout, start to end ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> tuple[RolloutReport, Served, Sleeps, Path]:
    journal = tmp_path_factory.mktemp("full") / "journal.jsonl"
    served: list[Served] = []
    sleeps = Sleeps()
    report = run(journal, served, sleep=sleeps)
    return report, served[0], sleeps, journal


def test_each_batch_is_one_read_and_one_write_of_what_needs_switching(
    full: tuple[RolloutReport, Served, Sleeps, Path],
) -> None:
    report, served, _, _ = full
    batches = served.batches()
    pairs = reads_and_writes(served)
    first = math.ceil(N / BATCH_SIZE)
    assert served.commands == ["Connect-ExchangeOnline", *[BATCH_SCRIPT] * len(batches), "Disconnect-ExchangeOnline"]
    assert len(pairs) == first + 2  # + one batch per retry round
    assert [len(read.identities) for read, _ in pairs[:first]] == [BATCH_SIZE] * 5 + [50]
    assert all(set(read.identities) <= TRANSIENT for read, _ in pairs[first:]) and report.batches == len(batches)
    first_pass = [i for read, _ in pairs[:first] for i in read.identities]
    assert first_pass == IDENTITIES  # every mailbox read once, in input order
    for read, write in pairs:  # a write holds exactly what its read found to switch, paced; a read has no pause
        to_switch = tuple(i for i, outcome in read.outcomes.items() if outcome == "WouldChange")
        assert (write.identities if write else ()) == to_switch
        assert write is None or write.pace_ms > 0
    assert all(b.pace_ms == 0 for b in batches if b.dry_run)
    assert all(b.enabled for b in batches)
    assert not {i for _, write in pairs if write for i in write.identities} & ALREADY  # never written
    assert "Set-Mailbox" not in served.commands  # never one round trip per mailbox


def test_a_write_pipeline_reads_the_next_batch_ahead_when_it_fits_the_budget(
    full: tuple[RolloutReport, Served, Sleeps, Path],
) -> None:
    """The first pass: each write pipeline also reads the next batch, unless the pace micro-delays raised would
    take it past the budget (`pacing.fits`); the batch after it is then read by a pipeline of its own. Every
    read-ahead saved that batch's read pipeline."""
    _, served, _, _ = full
    pairs = reads_and_writes(served)[: math.ceil(N / BATCH_SIZE)]
    ahead = [read.ahead for read, _ in pairs]
    assert ahead[0] is False and ahead.count(True) >= 3  # the first batch is read by a pipeline of its own
    for (_, write), (read, _) in itertools.pairwise(pairs):
        assert write is not None  # every batch of the first pass has mailboxes to switch
        assert read.ahead == fits(len(write.identities), len(read.identities), write.pace_ms)
    assert any(w is not None and w.pace_ms > 1000 and not r.ahead for (_, w), (r, _) in itertools.pairwise(pairs))
    pipelines = served.batches().index(pairs[-1][1]) + 1  # the first pass's, to its last write
    assert pipelines == 2 * len(pairs) - ahead.count(True) == 8  # a pipeline saved per batch read ahead


def test_report_gives_every_mailbox_its_outcome(full: tuple[RolloutReport, Served, Sleeps, Path]) -> None:
    report, _, _, _ = full
    got = outcomes(report)
    assert list(got) == IDENTITIES
    assert {i for i, o in got.items() if o == MailboxOutcome.CHANGED} == TO_CHANGE
    assert {i for i, o in got.items() if o == MailboxOutcome.ALREADY_SET} == ALREADY
    assert {i for i, o in got.items() if o == MailboxOutcome.FAILED} == PERMANENT
    assert (report.total, report.changed, report.already_set, report.failed) == (
        N, len(TO_CHANGE), len(ALREADY), len(PERMANENT),
    )  # fmt: skip
    assert (report.unfinished, report.skipped, report.would_change) == (0, 0, 0)
    assert report.succeeded is False  # permanent failures: the CLI exits 1


def test_permanent_failures_are_recorded_with_their_class_and_the_rollout_goes_on(
    full: tuple[RolloutReport, Served, Sleeps, Path],
) -> None:
    report, served, _, _ = full
    failed = {item.identity: item for item in report.items if item.outcome == MailboxOutcome.FAILED}
    assert {i for i, item in failed.items() if item.error_class == "ObjectNotFoundError"} == MISSING | of(
        scenario.AMBIGUOUS
    )
    synced = {i: item for i, item in failed.items() if item.error_class == "SyncedObjectError"}
    assert set(synced) == of(scenario.SYNCED)
    assert all("synchronized from your on-premises organization" in (s.error_message or "") for s in synced.values())
    assert {item.error_type for item in synced.values()} == {"RecipientTaskException"}
    assert all(item.attempts == 1 for item in failed.values())  # never retried
    retried = {i for read, _ in reads_and_writes(served)[math.ceil(N / BATCH_SIZE) :] for i in read.identities}
    assert not retried & PERMANENT
    assert outcomes(report)[IDENTITIES[-1]] in (MailboxOutcome.CHANGED, MailboxOutcome.ALREADY_SET)


def test_transient_failures_are_retried_in_later_batches_and_succeed(
    full: tuple[RolloutReport, Served, Sleeps, Path],
) -> None:
    report, served, sleeps, _ = full
    retries = reads_and_writes(served)[math.ceil(N / BATCH_SIZE) :]
    assert set(retries[0][0].identities) == TRANSIENT
    assert retries[1][0].identities == (scenario.identity(*scenario.TWICE),)  # it failed twice
    write = retries[0][1]
    assert write is not None and all(write.outcomes[i] == "Failed" for i in retries[1][0].identities)
    items = {item.identity: item for item in report.items if item.identity in TRANSIENT}
    assert {i: (it.outcome, it.attempts) for i, it in items.items()} == {
        i: (MailboxOutcome.CHANGED, 3 if i in of(scenario.TWICE) else 2) for i in TRANSIENT
    }
    assert report.retried == len(TRANSIENT)
    # Exponential backoff with jitter before each retry batch (DEFAULT_ITEM_RETRY: 30 s, then 60 s).
    assert len(sleeps) == 2 and 30 <= sleeps[0] <= 35 and 60 <= sleeps[1] <= 65


def test_micro_delay_warnings_slow_the_next_batch(full: tuple[RolloutReport, Served, Sleeps, Path]) -> None:
    report, served, _, _ = full
    batches = [b for b in served.batches() if not b.dry_run]  # the writes: a read has no pause
    warned = [i for i, b in enumerate(batches) if b.micro_delays]
    assert warned and report.micro_delays == sum(b.micro_delays for b in batches)
    assert batches[0].pace_ms == 500
    for i in warned:
        assert batches[i + 1].pace_ms > batches[i].pace_ms  # slower after the warnings
    calm = [i for i in range(1, len(batches)) if not batches[i - 1].micro_delays and batches[i - 1].pace_ms > 500]
    assert calm and all(batches[i].pace_ms < batches[i - 1].pace_ms for i in calm)  # and back again
    assert report.pace_s == 0.5


def test_journal_holds_every_outcome_and_a_record_per_batch(full: tuple[RolloutReport, Served, Sleeps, Path]) -> None:
    report, served, _, journal = full
    lines = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["kind"] == "header" and lines[0]["enabled"] is True and lines[0]["dry_run"] is False
    items = [line for line in lines if line["kind"] == "item"]
    assert len(items) == N + sum(item.attempts - 1 for item in report.items)
    pairs = reads_and_writes(served)
    assert [line["batch"] for line in lines if line["kind"] == "batch"] == list(range(1, len(pairs) + 1))
    # Before each write, its intent: the mailboxes it is about to switch.
    intents = [line for line in lines if line["kind"] == "intent"]
    assert [tuple(line["identities"]) for line in intents] == [write.identities for _, write in pairs if write]


def test_a_second_run_with_the_journal_only_reads_what_it_switched(
    full: tuple[RolloutReport, Served, Sleeps, Path],
) -> None:
    first, _, _, journal = full
    served: list[Served] = []
    again = run(journal, served)
    batches = served[0].batches()
    switched = [i.identity for i in first.items if i.outcome in (MailboxOutcome.CHANGED, MailboxOutcome.ALREADY_SET)]
    assert all(b.dry_run for b in batches)  # nothing written
    assert [i for b in batches for i in b.identities] == switched  # every one read again, in reads of two batches
    double = 2 * BATCH_SIZE
    assert [len(b.identities) for b in batches] == [double] * (len(switched) // double) + [len(switched) % double]
    assert (again.changed, again.already_set, again.failed, again.reverted, again.skipped) == (0, 0, 0, 0, N)
    assert all(item.from_journal for item in again.items)
    assert outcomes(again) == outcomes(first)
    assert again.succeeded is False  # the earlier permanent failures still stand


# -- interrupted rollouts --------------------------------------------------------------------------------


def test_an_interrupted_rollout_resumes_and_changes_every_mailbox_exactly_once(tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    served: list[Served] = []
    with pytest.raises(scenario.Stop):
        run(journal, served, on_progress=stop_after(scenario.INTERRUPTED_AFTER))
    assert sum(1 for _, write in reads_and_writes(served[0]) if write) == scenario.INTERRUPTED_AFTER
    resumed = run(journal, served)

    changed = changed_per_identity(served)
    assert set(changed) == TO_CHANGE and set(changed.values()) == {1}
    written = collections.Counter(i for w in served for b in w.batches() if not b.dry_run for i in b.identities)
    # Written once each (the AD-mastered ones fail at the write), the transient ones until they succeed.
    assert {i for i, count in written.items() if count == 1} | TRANSIENT == TO_CHANGE | of(scenario.SYNCED)
    last: dict[str, str] = {}  # each mailbox's last outcome in the first run: a write's overrides its read's
    for read, write in reads_and_writes(served[0])[: scenario.INTERRUPTED_AFTER]:  # not the batch read ahead
        last.update(read.outcomes)
        last.update(write.outcomes if write else {})
    done_before = {i for i, o in last.items() if o != "Failed" or i in PERMANENT}
    assert {item.identity for item in resumed.items if item.from_journal} == done_before
    assert resumed.skipped == len(done_before)
    assert {i for i, o in outcomes(resumed).items() if o == MailboxOutcome.CHANGED} == TO_CHANGE


def test_a_torn_last_journal_line_is_done_again_and_nothing_twice(tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    served: list[Served] = []
    with pytest.raises(scenario.Stop):
        run(journal, served, on_progress=stop_after(scenario.TORN_AFTER))
    torn = scenario.tear(journal)  # killed while writing: the last line is half there
    resumed = run(journal, served)

    # Its intent survived: read again, found switched, reported Changed (psbridge switched it).
    assert outcomes(resumed)[torn] == MailboxOutcome.CHANGED
    assert resumed.items[IDENTITIES.index(torn)].from_journal is False
    changed = changed_per_identity(served)
    assert set(changed) == TO_CHANGE and set(changed.values()) == {1}
    assert journal.read_bytes().endswith(b"\n")
    assert all(json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines())


# -- dry run and input ---------------------------------------------------------------------------------------


def test_a_dry_run_of_a_filter_sends_no_mutating_command(tmp_path: Path) -> None:
    served: list[Served] = []
    report = run(tmp_path / "dry.jsonl", served, filter=scenario.FILTER, dry_run=True)
    watch = served[0]
    assert watch.commands[:2] == ["Connect-ExchangeOnline", "exchange/Get-MailboxIdentities.ps1"]
    assert set(watch.commands[2:-1]) == {BATCH_SCRIPT} and watch.commands[-1] == "Disconnect-ExchangeOnline"
    assert watch.server.keys_seen[1].statements[0].params[0].value == scenario.FILTER
    batches = watch.batches()
    assert batches and all(b.dry_run for b in batches)  # the script's read-only path, at the server
    assert not any(o == "Changed" for b in batches for o in b.outcomes.values())
    got = outcomes(report)
    assert len(got) == N - len(MISSING)  # the filter finds what exists
    # Reading cannot foresee a failure at write time: the AD-mastered ones would change too.
    assert {i for i, o in got.items() if o == MailboxOutcome.WOULD_CHANGE} == TO_CHANGE | of(scenario.SYNCED)
    assert (report.changed, report.dry_run) == (0, True)
    assert got[scenario.identity(*scenario.TRANSIENT_READS)] == MailboxOutcome.WOULD_CHANGE  # read retried


def test_a_dry_run_journal_is_refused_by_a_real_run(tmp_path: Path) -> None:
    journal = tmp_path / "dry.jsonl"
    run(journal, filter=scenario.FILTER, dry_run=True)
    served: list[Served] = []
    with pytest.raises(InputError, match=r"written for a dry run .* not for a rollout"):
        run(journal, served, filter=scenario.FILTER)
    assert served[0].commands == []


def test_rollback_sets_false_and_succeeds(tmp_path: Path) -> None:
    served: list[Served] = []
    report = run(tmp_path / "rollback.jsonl", served, identities=ROLLBACK, enabled=False)
    assert [(b.enabled, b.dry_run) for b in served[0].batches()] == [(False, True), (False, False)]
    assert (report.changed, report.already_set, report.failed, report.succeeded) == (60, 0, 0, True)


def test_duplicate_identities_are_sent_once(tmp_path: Path) -> None:
    served: list[Served] = []
    report = run(tmp_path / "j.jsonl", served, identities=[*ROLLBACK, ROLLBACK[0].upper()], enabled=False)
    assert served[0].batches()[0].identities == tuple(ROLLBACK)
    assert report.total == len(ROLLBACK)


def test_progress_is_reported_after_each_journaled_batch(tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    seen: list[tuple[RolloutProgress, int]] = []

    def on_progress(progress: RolloutProgress) -> None:
        seen.append((progress, journal.read_text(encoding="utf-8").count('"kind":"batch"')))

    report = run(journal, identities=ROLLBACK, enabled=False, on_progress=on_progress)
    assert [(p.done, p.total, p.changed, p.already_set, p.batch, batches) for p, batches in seen] == [
        (60, 60, 60, 0, 1, 1)
    ]
    assert report.batches == 2  # pipelines: its read and its write


# -- journals that do not fit --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"enabled": True}, "not for a rollout setting IsExchangeCloudManaged=True"),
        ({"identities": None, "filter": scenario.FILTER}, "for a list of identities, not"),
        ({"tenant": "fabrikam.onmicrosoft.com"}, "(tenant fabrikam.onmicrosoft.com)"),
    ],
)
def test_a_journal_for_other_settings_is_refused_before_anything_is_sent(
    tmp_path: Path, change: dict[str, Any], problem: str
) -> None:
    journal = tmp_path / "j.jsonl"
    run(journal, identities=ROLLBACK, enabled=False)
    before = journal.read_bytes()
    served: list[Served] = []
    with pytest.raises(InputError, match="was written for") as raised:
        run(journal, served, **({"identities": ROLLBACK, "enabled": False} | change))
    assert problem in str(raised.value) and "another journal" in str(raised.value)
    assert served[0].commands == [] and journal.read_bytes() == before


def test_a_malformed_journal_line_is_an_error_naming_it(tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    run(journal, identities=ROLLBACK, enabled=False)
    lines = journal.read_text(encoding="utf-8").splitlines(keepends=True)
    journal.write_text("".join([*lines[:3], "not json\n", *lines[3:]]), encoding="utf-8")
    served: list[Served] = []
    with pytest.raises(InputError, match=r"line 4 is malformed .* never skipped"):
        run(journal, served, identities=ROLLBACK, enabled=False)
    assert served[0].commands == []
