"""The rollout's plan: what `exo rollout` would do, shown before the question, with no mailbox read and nothing
sent; it agrees with what the run then does, and refuses what the run would refuse."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import Result
from pytest_mock import MockerFixture
from rollout_scenario import Sleeps, scenario, tenant_session

from psbridge.errors import InputError
from psbridge.exchange.journal import Header, Journal
from psbridge.exchange.rollout import rollout_cloud_managed
from psbridge.exchange.rollout_plan import plan_rollout
from psbridge.session import Session

IDS = [scenario.identity(n) for n in range(1, 13)]
TARGET = "jump.example"


def plan(journal: Path, **kwargs: Any) -> Any:
    kwargs.setdefault("identities", IDS)
    return plan_rollout(target=TARGET, tenant=None, journal=journal, batch_size=5, pace_s=0.5, **kwargs)


def _item(identity: str, outcome: str, transient: bool = False) -> dict[str, Any]:
    return {"identity": identity, "outcome": outcome, "transient": transient, "batch": 1, "round": 0, "before": False}


def test_a_fresh_plan_counts_from_the_identities_and_creates_no_journal(tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    result = plan(journal, identities=[*IDS, IDS[0].upper()])  # a duplicate, by case, counts once

    assert (result.identities, result.to_do, result.journal_done, result.to_verify) == (12, 12, 0, 0)
    # 3 batches of 5: a read of the first, then 3 writes, each reading the next batch ahead
    assert (result.batches, result.estimated_s, result.resumes, result.would_change) == (4, 12 * 2.5, False, True)
    assert result.setting == "IsExchangeCloudManaged=True" and "--dry-run reads each mailbox" in result.note
    assert not journal.exists()


def test_parallel_sessions_share_the_estimate_and_a_cap_is_refused_as_the_run_refuses_it(tmp_path: Path) -> None:
    """12 mailboxes in 3 sessions: each switches 4 (the rollout splits a round evenly), so a third of the time."""
    three = plan(tmp_path / "j.jsonl", parallel=3)
    assert (three.parallel, three.batches, three.estimated_s) == (3, 6, 4 * 2.5)  # 3 batches of 4: 3 reads, 3 writes
    with pytest.raises(InputError, match="parallel"):
        plan(tmp_path / "j.jsonl", parallel=4)
    assert not (tmp_path / "j.jsonl").exists()


def test_a_plan_reads_what_the_journal_says_is_done(tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    with Journal.open(journal, Header(TARGET, None, True, None, False)) as book:
        book.append_batch(
            [_item(IDS[0], "Changed"), _item(IDS[1], "AlreadySet"), _item(IDS[2], "Failed"),
             _item(IDS[3], "Failed", transient=True)],
            {"batch": 1, "next_pace_ms": 500},
        )  # fmt: skip
    before = journal.read_bytes()

    result = plan(journal)
    again = plan(journal, retry_failed=True)

    assert (result.resumes, result.journal_done, result.to_verify, result.to_do) == (True, 3, 2, 9)
    assert result.batches == 1 + 2 + 1  # 9 to do: a read, 2 writes (the first reads the second batch); 1 read of 2
    assert (again.journal_done, again.to_do) == (2, 10)  # the permanent failure is tried again
    assert journal.read_bytes() == before  # only read


def test_a_filter_plan_leaves_the_count_to_the_run(tmp_path: Path) -> None:
    result = plan(tmp_path / "j.jsonl", identities=None, filter="IsDirSynced -eq $true")

    assert (result.identities, result.to_do, result.batches, result.estimated_s, result.would_change) == (
        None, None, None, None, None,
    )  # fmt: skip
    assert "the filter is resolved by the run" in result.note


def test_a_plan_refuses_a_journal_the_run_would_refuse_and_takes_over_a_bare_header(tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    with Journal.open(journal, Header(TARGET, None, False, None, False)) as book:
        book.append_batch([_item(IDS[0], "Changed")], {"batch": 1, "next_pace_ms": 500})
    with pytest.raises(InputError, match=r"IsExchangeCloudManaged=False.*another journal file"):
        plan(journal)
    with pytest.raises(InputError, match="cannot hold a batch"):
        plan(tmp_path / "other.jsonl", timeout=1.0)

    bare = tmp_path / "bare.jsonl"
    with Journal.open(bare, Header(TARGET, None, True, None, True)):  # a dry run's header, nothing under it
        pass
    assert plan(bare).resumes is False and plan(bare).to_do == 12


def test_the_plan_agrees_with_the_run_that_follows(tmp_path: Path) -> None:
    """A rollout stopped after its first batch, then planned: the resumed run skips, reads again and does
    what the plan said."""
    journal = tmp_path / "j.jsonl"
    tenant = scenario.Tenant(clean=True, count=12)
    session, transport = tenant_session(tenant)

    def stop(_: Any) -> None:
        raise RuntimeError("stopped")

    with pytest.raises(RuntimeError):
        rollout_cloud_managed(session, identities=IDS, journal=journal, batch_size=5, on_progress=stop, sleep=Sleeps())
    planned = plan_rollout(target=session.target, tenant=None, identities=IDS, journal=journal, batch_size=5,
                           pace_s=0.5)  # fmt: skip
    sent = len(transport.calls)
    report = rollout_cloud_managed(session, identities=IDS, journal=journal, batch_size=5, sleep=Sleeps())

    assert (planned.journal_done, planned.to_do, planned.to_verify) == (5, 7, 5)
    assert (report.skipped, report.changed, report.total - report.skipped) == (5, 7, planned.to_do)
    # A read of the 5 switched, then a read and 2 writes (the first reads the second batch ahead): as planned.
    assert len(transport.calls[sent:]) == report.batches == planned.batches == 1 + 1 + 2


# -- the command -----------------------------------------------------------------------------------------------


def _ids(tmp_path: Path) -> Path:
    path = tmp_path / "ids.txt"
    path.write_text("\n".join(IDS) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def tenant(mocker: MockerFixture) -> Any:
    """The exo group's signed-in session is the simulated tenant, in process; spies record what is sent."""
    tenant = scenario.Tenant(clean=True, count=12)
    session, _ = tenant_session(tenant)
    signed_in = mocker.patch("psbridge.cli.exo_rollout.exo_backend", return_value=session)
    sent = mocker.spy(Session, "invoke")
    return {"tenant": tenant, "signed_in": signed_in, "sent": sent}


def _documents(text: str) -> list[Any]:
    decoder, found, at = json.JSONDecoder(), [], 0
    while text[at:].strip():
        doc, at = decoder.raw_decode(text, at + len(text[at:]) - len(text[at:].lstrip()))
        found.append(doc)
    return found


def rollout(cli: Any, tmp_path: Path, *args: str) -> Result:
    replay = Path(__file__).resolve().parent.parent / "recorded_sessions" / "demo"
    return cli("--replay", replay, *args, "exo", "rollout", "--identities", _ids(tmp_path), "--journal",
               tmp_path / "j.jsonl", "--batch-size", "5", "--retry-wait", "0")  # fmt: skip


def test_off_a_terminal_the_plan_then_exit_2_with_nothing_sent(cli: Any, tmp_path: Path, tenant: Any) -> None:
    table = rollout(cli, tmp_path)
    doc = rollout(cli, tmp_path, "-o", "json")

    assert "rollout changes mailboxes: not done; pass --yes" in table.refused_after_plan()
    rows = dict(line.split(None, 1) for line in table.out.splitlines())
    assert (rows["mailboxes"], rows["to_do"], rows["batches"]) == ("12 (from the identities file)", "12", "4")
    assert rows["resumes"] == "no: a new journal" and rows["setting"] == "IsExchangeCloudManaged=True"
    doc.refused_after_plan()
    assert (doc.json()["identities"], doc.json()["journal"]) == (12, str(tmp_path / "j.jsonl"))
    assert tenant["signed_in"].call_count == 0 and tenant["sent"].call_count == 0  # no sign-in, nothing sent
    assert not (tmp_path / "j.jsonl").exists()


@pytest.mark.parametrize("answer", [True, False])
def test_at_a_terminal_the_question_comes_before_anything_is_sent(
    cli: Any, tmp_path: Path, tenant: Any, mocker: MockerFixture, answer: bool
) -> None:
    mocker.patch("psbridge.cli.confirm.at_terminal", return_value=True)
    asked: list[int] = []
    mocker.patch("psbridge.cli.confirm.click.confirm",
                 side_effect=lambda *_, **__: asked.append(tenant["sent"].call_count) or answer)  # fmt: skip
    result = rollout(cli, tmp_path, "-o", "json")

    assert asked == [0]  # the plan sent nothing, and nothing was sent before the answer
    if answer:
        assert result.code == 0, result
        plan_doc, report = _documents(result.out)  # the plan, then the run's report
        assert plan_doc["to_do"] == 12 and report["changed"] == 12
        assert all(box.cloud_managed for box in tenant["tenant"].mailboxes.values())
    else:
        assert result.code == 2 and "not done (declined)" in result.err
        assert tenant["sent"].call_count == 0 and not (tmp_path / "j.jsonl").exists()
