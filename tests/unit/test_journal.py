"""The one journal mechanism (`psbridge.journal`), tried through both of its users: the Exchange rollout's
journal and the duplicate-mailbox repair's. Each test runs once per user, so the torn-line rule, the lock
and the on-disk format are proven the same for both."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from psbridge import InputError
from psbridge.exchange.journal import Header, Journal
from psbridge.journal import encode
from psbridge.runbooks.duplicate.journal import RepairJournal

HEADER = Header("jump.example", None, True, None, False)
USER, GROUP, STEPS = "nestor@contoso.example", "Licensing-M365-E3", ("a", "b", "c", "d")


@dataclasses.dataclass(frozen=True)
class User:
    """A journal's user, seen the same way: open it, record one thing, list what it holds."""

    name: str
    open: Callable[[Path], contextlib.AbstractContextManager[Any]]
    record: Callable[[Any, str], None]
    holds: Callable[[Any], list[str]]
    line: Callable[[str], bytes]  # the line `record` writes for a thing, newline included


def _rollout_record(journal: Journal, thing: str) -> None:
    journal.append_intent(journal.batches + 1, [thing])


def _repair_record(journal: RepairJournal, thing: str) -> None:
    journal.record(thing, "done")


ROLLOUT = User(
    "rollout",
    lambda path: Journal.open(path, HEADER),
    _rollout_record,
    lambda journal: list(journal.identities.values()),
    lambda thing: encode([{"kind": "intent", "batch": 1, "identities": [thing]}]),
)
REPAIR = User(
    "repair",
    lambda path: RepairJournal.open(path, user=USER, group=GROUP, steps=STEPS),
    _repair_record,
    lambda journal: list(journal.steps),
    lambda thing: encode([{"kind": "step", "step": thing, "event": "done", "at": "2026-11-25T12:00:00+00:00"}]),
)


@pytest.fixture(params=[ROLLOUT, REPAIR], ids=lambda user: user.name)
def user(request: pytest.FixtureRequest) -> User:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journal.jsonl"


def written(user: User, path: Path, *things: str) -> bytes:
    with user.open(path) as journal:
        for thing in things:
            user.record(journal, thing)
    return path.read_bytes()


def holds(user: User, path: Path) -> list[str]:
    with user.open(path) as journal:
        return user.holds(journal)


# -- the torn-line rule ---------------------------------------------------------------------------------------


def test_a_torn_last_line_is_dropped_with_a_warning_and_cut_off_before_anything_is_appended(
    user: User, path: Path
) -> None:
    intact = written(user, path, "a")
    path.write_bytes(intact + user.line("b")[:-9])  # killed while writing b
    with capture_logs() as events, user.open(path) as journal:
        assert user.holds(journal) == ["a"]
        assert path.read_bytes() == intact  # cut off at once, under the lock
        user.record(journal, "c")
    dropped = [e for e in events if e["event"] == "psbridge.journal.torn_line_dropped"]
    assert [(e["log_level"], e["line"], e["path"]) for e in dropped] == [("warning", 3, str(path))]
    assert holds(user, path) == ["a", "c"] and path.read_bytes().startswith(intact)


def test_a_whole_last_line_without_its_newline_is_kept_and_its_newline_written(user: User, path: Path) -> None:
    intact = written(user, path, "a")
    path.write_bytes(intact + user.line("b").rstrip(b"\n"))  # killed between the record and its newline
    with user.open(path) as journal:
        assert user.holds(journal) == ["a", "b"]
        assert path.read_bytes() == intact + user.line("b")
        user.record(journal, "c")
    assert holds(user, path) == ["a", "b", "c"]
    assert all(json.loads(line) for line in path.read_bytes().splitlines())


@pytest.mark.parametrize(
    "tail",
    [b'{"kind":"mystery"}', b'["a"]', b'{"kind":"header","journal":"psbridge.other","version":1}'],
    ids=["unknown-kind", "not-an-object", "second-header"],
)
def test_a_last_line_that_is_json_but_no_record_is_an_error_not_a_torn_line(
    user: User, path: Path, tail: bytes
) -> None:
    before = written(user, path, "a") + tail
    path.write_bytes(before)
    with pytest.raises(InputError, match="line 3 is malformed"), user.open(path):
        pass
    assert path.read_bytes() == before  # nothing cut, nothing written


def test_a_torn_line_before_the_last_is_a_malformed_journal(user: User, path: Path) -> None:
    before = written(user, path, "a") + user.line("b")[:-9] + b"\n" + user.line("c")
    path.write_bytes(before)
    with pytest.raises(InputError, match=r"line 3 is malformed \(.*\); malformed lines are never skipped"):
        holds(user, path)
    assert path.read_bytes() == before


def test_a_lone_torn_header_starts_the_journal_afresh(user: User, path: Path) -> None:
    whole = written(user, path, "a")
    header = whole.splitlines(keepends=True)[0]
    path.write_bytes(header[:25])  # killed while starting the journal
    assert written(user, path, "b").startswith(header)
    assert holds(user, path) == ["b"]


@pytest.mark.parametrize("text", [b"adele@contoso.example", b"my notes, no newline", b'{"kind":"step","st'])
def test_a_lone_line_that_is_not_the_start_of_the_header_is_another_file_and_kept(
    user: User, path: Path, text: bytes
) -> None:
    path.write_bytes(text)
    with pytest.raises(InputError, match=f"line 1 is malformed \\(not a {user.name} journal\\)"), user.open(path):
        pass
    assert path.read_bytes() == text


def test_reading_only_leaves_a_torn_line_in_place(path: Path) -> None:
    before = written(REPAIR, path, "a") + REPAIR.line("b")[:-9]
    path.write_bytes(before)
    with capture_logs() as events:
        read = RepairJournal.read(path, user=USER, group=GROUP, steps=STEPS)
    assert read is not None and read.done() == ["a"]
    assert path.read_bytes() == before
    assert [e["event"] for e in events] == ["psbridge.journal.torn_line_dropped"]
    with pytest.raises(InputError, match="open for reading only"):
        read.record("b", "done")


# -- the lock and the format ------------------------------------------------------------------------------------


def test_a_journal_is_written_by_one_run_at_a_time(user: User, path: Path) -> None:
    with user.open(path), pytest.raises(InputError, match=f"in use by another {user.name}"), user.open(path):
        pass


def test_journals_written_before_the_shared_module_still_read(tmp_path: Path) -> None:
    """Byte for byte the lines the two journals wrote on their own, read and appended to as before."""
    rollout = tmp_path / "rollout.jsonl"
    rollout.write_bytes(
        b'{"kind":"header","journal":"psbridge.exo.rollout","version":1,"target":"jump.example","tenant":null,'
        b'"enabled":true,"filter":null,"dry_run":false}\n'
        b'{"kind":"intent","batch":1,"identities":["a@x"]}\n'
        b'{"kind":"item","identity":"a@x","outcome":"Changed","transient":false,"batch":1,"round":0}\n'
        b'{"kind":"batch","batch":1,"next_pace_ms":700}\n'
    )
    with Journal.open(rollout, HEADER) as book:
        assert book.done("A@X") is not None and (book.batches, book.next_pace_ms, book.intended) == (1, 700, {})
    repair = tmp_path / "repair.jsonl"
    repair.write_bytes(
        b'{"kind":"header","journal":"psbridge.repair.duplicate-mailbox","version":1,'
        b'"user":"nestor@contoso.example","license_group":"Licensing-M365-E3"}\n'
        b'{"kind":"step","step":"a","event":"started","at":"2026-11-25T12:00:00+00:00"}\n'
        b'{"kind":"step","step":"a","event":"done","at":"2026-11-25T12:01:00+00:00","summary":"ok"}\n'
    )
    with RepairJournal.open(repair, user="NESTOR@contoso.example", group=GROUP, steps=STEPS) as steps:
        assert steps.done() == ["a"]
        steps.record("b", "started")
    assert json.loads(repair.read_bytes().splitlines()[-1])["step"] == "b"


OTHER_SETTINGS: dict[str, Callable[[Path], contextlib.AbstractContextManager[Any]]] = {
    "rollout": lambda path: Journal.open(path, dataclasses.replace(HEADER, dry_run=True)),  # a dry run's journal
    "repair": lambda path: RepairJournal.open(path, user="adele@contoso.example", group=GROUP, steps=STEPS),
}


def test_a_journal_holding_only_a_header_for_other_settings_is_taken_over(user: User, path: Path) -> None:
    """Nothing was done under it (a dry run that failed before its first batch, say): it never blocks a run."""
    with OTHER_SETTINGS[user.name](path):
        pass  # the header alone
    assert written(user, path, "a") == written(user, path.with_name("fresh.jsonl"), "a")  # as if new


def test_a_journal_for_other_settings_with_a_record_is_still_refused_and_kept(user: User, path: Path) -> None:
    with OTHER_SETTINGS[user.name](path) as other:
        user.record(other, "a")
    before = path.read_bytes()
    with pytest.raises(InputError, match="another journal file"):
        written(user, path, "b")
    assert path.read_bytes() == before
