"""The rollout's and the repair's files under fault: a full disk, a report path that cannot be written or
is another file of the run, and paths that are not regular files. None of these ends in exit 70, and
what was done is never lost: the journal stays readable, and the report is printed.

A full disk is a `FileIO` whose writes fail with ENOSPC (after writing part of the data, as a disk that
fills up mid-write does) once a predicate on the data says so: patched in where the journals
(`psbridge.safeio.open_for_append`) and the `--csv` report open their files.
"""

from __future__ import annotations

import errno
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import error_line
from rollout_scenario import RECORDING, scenario
from test_runbook_duplicate import NESTOR, REPAIR, SCENARIOS, STEP_IDS, checks, events

from psbridge import InputError
from psbridge.exchange import rollout as rollout_module
from psbridge.exchange.bulk import REST_TIMEOUT_S
from psbridge.exchange.journal import Header, Journal

pytestmark = pytest.mark.timeout(60)  # a FIFO opened for reading would block: fail, do not hang

ROLLBACK = [scenario.identity(n) for n in scenario.ROLLBACK]
ENOSPC = os.strerror(errno.ENOSPC)


def full_disk(fail_when: Callable[[bytes], bool]) -> type[io.FileIO]:
    """A FileIO on a disk that is full once `fail_when(data)` is true for the data being written."""

    class FullDisk(io.FileIO):
        def write(self, data: Any) -> int:
            data = bytes(data)
            if fail_when(data):
                super().write(data[: len(data) // 2])  # part of it fits
                raise OSError(errno.ENOSPC, ENOSPC)
            return super().write(data)

    return FullDisk


def rollout(cli: Any, tmp_path: Path, *args: Any, ids: list[str] = ROLLBACK) -> Any:
    identities = tmp_path / "ids.txt"
    if not identities.exists():
        identities.write_text("\n".join(ids) + "\n", encoding="utf-8")
    return cli(
        "--replay", RECORDING, "-o", "json", "exo", "rollout", "--batch-size", str(scenario.BATCH_SIZE),
        "--retry-wait", "0", "--disable", "--yes", *args,
    )  # fmt: skip


def with_ids(tmp_path: Path, *args: Any) -> tuple[Any, ...]:
    return ("--identities", tmp_path / "ids.txt", *args)


# -- a full disk while journaling ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_full_disk_while_journaling_a_rollout_is_one_line_and_the_journal_stays_usable(
    cli: Any, tmp_path: Path, mocker: Any
) -> None:
    journal = tmp_path / "j.jsonl"
    mocker.patch("psbridge.safeio.FileIO", full_disk(lambda data: b'"kind":"item"' in data))
    result = rollout(cli, tmp_path, *with_ids(tmp_path, "--journal", journal))
    line = result.one_line_error(74)
    assert f"cannot write journal {journal}: {ENOSPC}" in line
    # The failed write was cut off again: the header and the batch's intent, whole lines only.
    kinds = [json.loads(text)["kind"] for text in journal.read_text(encoding="utf-8").splitlines()]
    assert kinds == ["header", "intent"] and journal.read_bytes().endswith(b"\n")

    mocker.stopall()
    again = rollout(cli, tmp_path, *with_ids(tmp_path, "--journal", journal))
    assert again.code == 0, again  # the journal reads back; the run finishes
    assert (again.json()["changed"], again.json()["already_set"]) == (60, 0)


@pytest.mark.slow
def test_a_full_disk_when_a_journal_is_started_is_one_line(cli: Any, tmp_path: Path, mocker: Any) -> None:
    journal = tmp_path / "j.jsonl"
    mocker.patch("psbridge.safeio.FileIO", full_disk(lambda data: True))
    assert f"cannot write journal {journal}: {ENOSPC}" in rollout(
        cli, tmp_path, *with_ids(tmp_path, "--journal", journal)
    ).one_line_error(74)
    assert journal.read_bytes() == b""  # nothing half-written


def test_a_full_disk_right_after_the_irreversible_step_still_prints_the_report(
    cli: Any, tmp_path: Path, mocker: Any
) -> None:
    """Step 4 (clearing the previous mailbox info) is done; journaling it fails. The report says step 4 was
    done, the user's state, and that a re-run verifies step 4 rather than repeating it."""
    journal = tmp_path / "journal.jsonl"
    mocker.patch("psbridge.safeio.FileIO", full_disk(lambda data: b'"step":"4","event":"done"' in data))
    result = cli("--replay", SCENARIOS / "repair", "-o", "json", *REPAIR, "--yes", "--journal", journal,
                 "--poll", "0.01")  # fmt: skip
    assert result.code == 1, result  # a failing check, with the report on stdout
    found = checks(result)
    assert found["step-4-clear-previous-mailbox-info"]["status"] == "pass"
    assert all(found[s]["status"] == "skip" for s in found if s.startswith(("step-5", "step-6")))
    outcome = found["outcome"]
    assert outcome["status"] == "fail" and ENOSPC in outcome["summary"] and "step 4" in outcome["summary"]
    assert "verified, not repeated" in outcome["fix"] and outcome["evidence"]["resume_at"] == "4"
    assert events(journal)[-1] == ("4", "started")  # the journal reads back, up to what it could record
    assert "Traceback" not in result.err


def test_a_full_disk_before_a_repair_step_starts_stops_with_the_report(cli: Any, tmp_path: Path, mocker: Any) -> None:
    journal = tmp_path / "journal.jsonl"
    mocker.patch("psbridge.safeio.FileIO", full_disk(lambda data: b'"step":"2","event":"started"' in data))
    result = cli("--replay", SCENARIOS / "repair", "-o", "json", *REPAIR, "--yes", "--journal", journal,
                 "--poll", "0.01")  # fmt: skip
    assert result.code == 1, result
    found = checks(result)
    assert found["step-1-remove-from-group"]["status"] == "pass"
    step2 = found["step-2-sync-after-removal"]
    assert step2["status"] == "skip" and "not started" in step2["summary"]
    assert ENOSPC in found["outcome"]["summary"] and events(journal) == [("1", "started"), ("1", "done")]


# -- the --csv report ---------------------------------------------------------------------------------------------


def test_a_csv_in_a_missing_folder_is_refused_before_anything_runs(cli: Any, tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    line = rollout(cli, tmp_path, *with_ids(tmp_path, "--journal", journal, "--csv", tmp_path / "gone" / "r.csv"))
    assert "cannot write --csv report" in line.one_line_error(2)
    assert not journal.exists()


def test_a_csv_on_a_full_disk_is_refused_before_anything_runs(cli: Any, tmp_path: Path, mocker: Any) -> None:
    journal, table = tmp_path / "j.jsonl", tmp_path / "r.csv"
    mocker.patch("psbridge.cli.exo_rollout.FileIO", full_disk(lambda data: True))
    line = rollout(cli, tmp_path, *with_ids(tmp_path, "--journal", journal, "--csv", table)).one_line_error(74)
    assert f"cannot write --csv report {table}: {ENOSPC}" in line
    assert not journal.exists() and not table.exists() and os.listdir(tmp_path) == ["ids.txt"]  # no temp file


@pytest.mark.slow
def test_a_csv_that_fails_after_the_run_still_prints_the_report(cli: Any, tmp_path: Path, mocker: Any) -> None:
    journal, table = tmp_path / "j.jsonl", tmp_path / "r.csv"
    mocker.patch("psbridge.cli.exo_rollout.FileIO", full_disk(lambda data: b"@contoso.example" in data))
    result = rollout(cli, tmp_path, *with_ids(tmp_path, "--journal", journal, "--csv", table))
    assert result.code == 74
    report = result.json()  # the whole report on stdout
    assert (report["changed"], report["already_set"], len(report["items"])) == (60, 0, len(ROLLBACK))
    assert error_line(result.events[-1], 74) == f"psbridge: error: cannot write --csv report {table}: {ENOSPC}"
    assert "Traceback" not in result.err
    assert not table.exists() and sorted(os.listdir(tmp_path)) == ["ids.txt", "j.jsonl"]


@pytest.mark.parametrize("spelling", ["same", "symlink", "dotdot"])
@pytest.mark.slow
def test_a_csv_that_is_the_journal_is_refused_and_the_journal_kept(cli: Any, tmp_path: Path, spelling: str) -> None:
    journal = tmp_path / "j.jsonl"
    assert rollout(cli, tmp_path, *with_ids(tmp_path, "--journal", journal)).code == 0
    before = journal.read_bytes()
    (tmp_path / "sub").mkdir()
    table = {"same": journal, "symlink": tmp_path / "link.csv", "dotdot": tmp_path / "sub" / ".." / "j.jsonl"}[spelling]
    if spelling == "symlink":
        table.symlink_to(journal)
    line = rollout(cli, tmp_path, *with_ids(tmp_path, "--journal", journal, "--csv", table)).one_line_error(2)
    assert "is the journal" in line
    assert journal.read_bytes() == before


def test_a_csv_that_is_the_identities_file_is_refused(cli: Any, tmp_path: Path) -> None:
    journal, ids = tmp_path / "j.jsonl", tmp_path / "ids.txt"
    ids.write_text("\n".join(ROLLBACK) + "\n", encoding="utf-8")
    line = rollout(cli, tmp_path, "--identities", ids, "--journal", journal, "--csv", tmp_path / "." / "ids.txt")
    assert "is the identities file" in line.one_line_error(2)
    assert ids.read_text(encoding="utf-8").splitlines() == ROLLBACK and not journal.exists()


@pytest.mark.slow
def test_a_csv_is_written_whole_at_the_end(cli: Any, tmp_path: Path) -> None:
    table = tmp_path / "r.csv"
    table.write_text("an older report\n", encoding="utf-8")
    result = rollout(cli, tmp_path, *with_ids(tmp_path, "--journal", tmp_path / "j.jsonl", "--csv", table))
    assert result.code == 0
    rows = table.read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("identity,outcome") and len(rows) == 1 + len(ROLLBACK)
    assert sorted(os.listdir(tmp_path)) == ["ids.txt", "j.jsonl", "r.csv"]


# -- paths that are not regular files -------------------------------------------------------------------------------


def _special(tmp_path: Path, kind: str) -> Path:
    if kind == "fifo":
        os.mkfifo(tmp_path / "fifo")
        return tmp_path / "fifo"
    if kind == "directory":
        (tmp_path / "folder").mkdir()
        return tmp_path / "folder"
    return Path({"dev-zero": "/dev/zero", "dev-full": "/dev/full"}[kind])


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "dev-full"])
@pytest.mark.parametrize("role", ["--journal", "--identities", "--csv"])
def test_a_rollout_file_that_is_not_a_regular_file_is_refused(cli: Any, tmp_path: Path, role: str, kind: str) -> None:
    special = _special(tmp_path, kind)
    files = {"--journal": tmp_path / "j.jsonl", "--identities": tmp_path / "ids.txt"}
    rollout(cli, tmp_path)  # writes ids.txt (and fails for want of --journal)
    files[role] = special
    args = [*files.items(), *([("--csv", special)] if role == "--csv" else [])]
    result = rollout(cli, tmp_path, *(x for pair in args for x in pair))
    assert "is not a regular file" in result.one_line_error(2)
    assert not (tmp_path / "j.jsonl").exists()


def test_a_rollout_journal_that_is_a_directory_is_refused(cli: Any, tmp_path: Path) -> None:
    folder = _special(tmp_path, "directory")
    assert "folder" in rollout(cli, tmp_path, *with_ids(tmp_path, "--journal", folder)).one_line_error(2)


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "directory"])
@pytest.mark.parametrize("execute", [False, True])
def test_a_repair_journal_that_is_not_a_regular_file_is_refused(
    cli: Any, tmp_path: Path, kind: str, execute: bool
) -> None:
    special = _special(tmp_path, kind)
    result = cli("--replay", SCENARIOS / "repair", "-o", "json", *REPAIR, *(["--yes"] if execute else []),
                 "--journal", special, "--poll", "0.01")  # fmt: skip
    assert str(special) in result.one_line_error(2)


def test_journal_open_refuses_a_fifo(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    header = Header("jump", None, True, None, False)
    with pytest.raises(InputError, match=r"is not a regular file \(a FIFO\)"), Journal.open(tmp_path / "fifo", header):
        pass


# -- --timeout --------------------------------------------------------------------------------------------------------


def test_a_timeout_a_batch_cannot_keep_is_refused_saying_what_to_change(cli: Any, tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    rollout(cli, tmp_path)  # writes the identities file (and fails for want of --journal)
    result = cli("--replay", RECORDING, "--timeout", "5", "exo", "rollout", *with_ids(tmp_path, "--journal", journal),
                 "--yes")  # fmt: skip
    line = result.one_line_error(2)
    assert "timeout (5s) cannot hold a batch" in line and "200 mailboxes at a pace of 0.5s" in line
    assert "at least 200s" in line and "smaller batch size or pace" in line
    assert not journal.exists()


@pytest.mark.parametrize(("given", "expected"), [(("--timeout", "400"), 400.0), ((), REST_TIMEOUT_S)])
@pytest.mark.slow
def test_the_timeout_is_each_batchs_deadline(
    cli: Any, tmp_path: Path, mocker: Any, given: tuple[str, ...], expected: float
) -> None:
    spy = mocker.spy(rollout_module, "set_cloud_managed_batch")
    rollout(cli, tmp_path)
    size = str(scenario.BATCH_SIZE)
    result = cli("--replay", RECORDING, "-o", "json", *given, "exo", "rollout", "--batch-size", size, "--disable",
                 "--yes", *with_ids(tmp_path, "--journal", tmp_path / "j.jsonl"))  # fmt: skip
    assert result.code == 0, result
    assert spy.call_count == 2 and {call.kwargs["timeout"] for call in spy.call_args_list} == {expected}


def test_no_step_is_lost_from_a_repair_journal_read_back(tmp_path: Path) -> None:
    """The repair journal's own reader still reads what the shared writer wrote."""
    from psbridge.runbooks.duplicate import RepairJournal

    with RepairJournal.open(tmp_path / "j.jsonl", user=NESTOR, group="G", steps=STEP_IDS) as book:
        book.record("1", "started")
    read = RepairJournal.read(tmp_path / "j.jsonl", user=NESTOR, group="G", steps=STEP_IDS)
    assert read is not None and read.steps["1"]["event"] == "started"
