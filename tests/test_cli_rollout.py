"""`psbridge exo rollout` against the generated 1,050-mailbox scenario: report, CSV, journal, exit codes."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from rollout_scenario import BATCH_SIZE, IDENTITIES, PERMANENT, RECORDING, TO_CHANGE, scenario

pytestmark = pytest.mark.slow  # the 1,050-mailbox scenario through the CLI

ROLLBACK = [scenario.identity(n) for n in scenario.ROLLBACK]
SIGN_IN = (
    "--organization", scenario.CONNECTION.organization, "--app-id", scenario.CONNECTION.app_id,
    "--certificate-thumbprint", scenario.CONNECTION.certificate_thumbprint,
)  # fmt: skip


def rollout(cli: Any, *args: Any, output: str = "json", sign_in: tuple[str, ...] = ()) -> Any:
    return cli(
        "--replay", RECORDING, "--output", output, "exo", *sign_in, "rollout", "--batch-size", str(BATCH_SIZE),
        "--retry-wait", "0", *args,
    )  # fmt: skip


def identities_file(path: Path, identities: list[str]) -> Path:
    path.write_text("# mailboxes to switch\n\n" + "\n".join(identities) + "\n", encoding="utf-8")
    return path


def progress_events(err: str) -> list[dict[str, Any]]:
    events = [json.loads(line) for line in err.splitlines()]
    return [e for e in events if e["event"] == "psbridge.exo.rollout.progress"]


def test_rollout_reports_every_mailbox_and_a_rerun_is_a_no_op(cli: Any, tmp_path: Path) -> None:
    ids = identities_file(tmp_path / "ids.txt", IDENTITIES)
    journal, table = tmp_path / "journal.jsonl", tmp_path / "report.csv"
    result = rollout(cli, "--identities", ids, "--journal", journal, "--yes", "--csv", table, sign_in=SIGN_IN)

    assert result.code == 1, result  # some mailboxes failed permanently
    report = result.json()
    assert (report["total"], report["changed"], report["failed"]) == (len(IDENTITIES), len(TO_CHANGE), len(PERMANENT))
    assert report["succeeded"] is False and len(report["items"]) == len(IDENTITIES)
    failed = {i["identity"]: i for i in report["items"] if i["outcome"] == "Failed"}
    assert set(failed) == PERMANENT and all(i["error_class"] and i["error_message"] for i in failed.values())
    rows = list(csv.DictReader(table.open(encoding="utf-8")))
    assert [r["identity"] for r in rows] == IDENTITIES
    assert {r["identity"]: r["outcome"] for r in rows} == {i["identity"]: i["outcome"] for i in report["items"]}
    events = progress_events(result.err)  # stderr is not a terminal: one event per batch
    journaled = journal.read_text(encoding="utf-8").count('"kind":"batch"')
    assert len(events) == journaled and events[-1]["done"] == events[-1]["total"] == len(IDENTITIES)
    assert [e["changed"] for e in events] == sorted(e["changed"] for e in events)
    header = json.loads(journal.read_text(encoding="utf-8").splitlines()[0])
    assert header["tenant"] == scenario.CONNECTION.organization and header["enabled"] is True

    again = rollout(cli, "--identities", ids, "--journal", journal, "--yes", sign_in=SIGN_IN)
    assert again.code == 1 and progress_events(again.err) == []
    doc = again.json()
    switched = [i for i in report["items"] if i["outcome"] in ("Changed", "AlreadySet")]
    assert (doc["changed"], doc["skipped"], doc["reverted"]) == (0, len(IDENTITIES), 0)
    assert doc["batches"] == -(-len(switched) // (2 * BATCH_SIZE))  # it read again what it switched


def test_a_clean_rollback_from_stdin_exits_0(cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(ROLLBACK) + "\n"))
    result = rollout(cli, "--identities", "-", "--disable", "--journal", tmp_path / "j.jsonl", "--yes", output="table")
    assert result.code == 0, result
    rows = dict(line.split(None, 1) for line in result.out.splitlines())
    assert (rows["enabled"], rows["changed"], rows["already_set"], rows["succeeded"]) == ("no", "60", "0", "yes")


def test_a_dry_run_of_a_filter_changes_nothing(cli: Any, tmp_path: Path) -> None:
    result = rollout(cli, "--filter", scenario.FILTER, "--dry-run", "--journal", tmp_path / "j.jsonl")
    assert result.code == 1  # the ambiguous mailbox cannot be read
    report = result.json()
    assert (report["dry_run"], report["changed"], report["filter"]) == (True, 0, scenario.FILTER)
    assert report["would_change"] == len(TO_CHANGE | {scenario.identity(n) for n in scenario.SYNCED})


def test_a_terminal_gets_a_progress_bar(cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = identities_file(tmp_path / "ids.txt", ROLLBACK)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    result = rollout(cli, "--identities", ids, "--disable", "--journal", tmp_path / "j.jsonl", "--yes")
    assert result.code == 0
    assert "rollout" in result.err and "60/60" in result.err and "psbridge.exo.rollout.progress" not in result.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--journal", "J", "--yes"), "--identities FILE (- for stdin) or --filter OPATH"),
        (("--identities", "IDS", "--filter", "IsDirSynced -eq $true", "--journal", "J", "--yes"), "--filter OPATH"),
        (("--identities", "IDS", "--journal", "J", "--yes", "--batch-size", "500"), "15-minute timeout"),
        (("--identities", "EMPTY", "--journal", "J", "--yes"), "no mailbox identities"),
    ],
)
# Neither --yes nor --dry-run: the plan, then exit 2 off a terminal (tests/test_rollout_plan.py).
def test_refusals_are_one_line_and_send_nothing(cli: Any, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    files = {"IDS": identities_file(tmp_path / "ids.txt", ROLLBACK), "J": tmp_path / "j.jsonl"}
    files["EMPTY"] = tmp_path / "empty.txt"
    files["EMPTY"].write_text("# nothing\n", encoding="utf-8")
    result = rollout(cli, *(files.get(a, a) for a in args))
    assert message in result.one_line_error(2)
    assert not (tmp_path / "j.jsonl").exists()


def test_a_malformed_journal_is_a_one_line_error(cli: Any, tmp_path: Path) -> None:
    ids, journal = identities_file(tmp_path / "ids.txt", ROLLBACK), tmp_path / "j.jsonl"
    assert rollout(cli, "--identities", ids, "--disable", "--journal", journal, "--yes").code == 0
    journal.write_text(journal.read_text(encoding="utf-8") + "garbage\n" + '{"kind":"batch"}\n', encoding="utf-8")
    line = rollout(cli, "--identities", ids, "--disable", "--journal", journal, "--yes").one_line_error(2)
    assert f"journal {journal} line 64 is malformed" in line  # after the header, an intent, 60 items and a batch


def test_a_journal_for_another_rollout_is_refused(cli: Any, tmp_path: Path) -> None:
    ids, journal = identities_file(tmp_path / "ids.txt", ROLLBACK), tmp_path / "j.jsonl"
    assert rollout(cli, "--identities", ids, "--disable", "--journal", journal, "--yes").code == 0
    line = rollout(cli, "--identities", ids, "--journal", journal, "--yes").one_line_error(2)
    assert "IsExchangeCloudManaged=False" in line and "another journal file" in line
