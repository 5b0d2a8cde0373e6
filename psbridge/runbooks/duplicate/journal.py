"""The repair's journal: what makes `psbridge repair duplicate-mailbox` resumable.

    {"kind":"header","journal":"psbridge.repair.duplicate-mailbox","version":1,"user":...,"license_group":...}
    {"kind":"step","step":"1","event":"started","at":"2026-11-25T12:00:00+00:00"}
    {"kind":"step","step":"1","event":"done","at":...,"summary":"removed from Licensing-M365-E3, verified"}
    {"kind":"step","step":"3","event":"failed","at":...,"summary":"timed out ...","outcome_unknown":false}

A step's last event is where it stands: `done` is skipped on a resume; `started` (the run stopped while
the step ran: its outcome is unknown) and `failed` mean the step runs again, and every step verifies
the state before it acts. Each line is written, flushed and fsync'd before the repair goes on.

Reading is strict: a line that is not a journal record is an InputError naming it, never skipped. A
torn last line (no newline: the run died while writing it) is dropped, and cut off before anything is
appended; a file whose only line is torn must be the start of this repair's header, else it is
refused, never overwritten. A journal of another user or group is refused. The file is locked (POSIX
advisory lock) while a repair uses it. A path that is not a regular file (a FIFO, a device) is refused.

Files and writes are the rollout journal's (`psbridge.exchange.journal.open_for_append` and
`append_durably`): unbuffered, so a failed write (a full disk) is one clear error, cut off again, and
not raised a second time when the file is closed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections.abc import Collection, Iterator
from io import FileIO
from pathlib import Path
from typing import Any

from psbridge.errors import InputError
from psbridge.exchange.journal import append_durably, open_for_append
from psbridge.safeio import read_bytes

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory lock
    fcntl = None  # type: ignore[assignment]

MAGIC = "psbridge.repair.duplicate-mailbox"
VERSION = 1
EVENTS = ("started", "done", "failed")


def _encode(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


class RepairJournal:
    """The journal of one repair (a user and a licensing group). Write it inside `RepairJournal.open()`;
    `RepairJournal.read()` only looks (for the plan). `steps` holds each step's last event by its id."""

    def __init__(self, path: Path, user: str, group: str, steps: Collection[str]) -> None:
        self.path, self.user, self.group = path, user, group
        self.known = frozenset(steps)
        self.steps: dict[str, dict[str, Any]] = {}
        self._handle: FileIO | None = None

    @classmethod
    @contextlib.contextmanager
    def open(
        cls, path: str | os.PathLike[str], *, user: str, group: str, steps: Collection[str]
    ) -> Iterator[RepairJournal]:
        """Open the journal at `path` for writing, or start it."""
        journal = cls(Path(path), user, group, steps)
        handle = open_for_append(journal.path)
        with handle:
            if fcntl is not None:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    raise InputError(f"journal {journal.path} is in use by another repair") from None
            handle.seek(0)
            data = handle.read()
            kept = journal._load(data)
            if kept < len(data):
                handle.truncate(kept)
            journal._handle = handle
            if kept == 0:
                journal._write(journal._header())
            yield journal

    @classmethod
    def read(
        cls, path: str | os.PathLike[str], *, user: str, group: str, steps: Collection[str]
    ) -> RepairJournal | None:
        """The journal at `path` as it stands, written nothing to; None when there is none yet."""
        journal = cls(Path(path), user, group, steps)
        if not os.path.lexists(journal.path):
            return None
        journal._load(read_bytes(journal.path, "journal"))
        return journal

    def done(self) -> list[str]:
        """The ids of the steps whose last event is `done`, in the order they were done."""
        return [step for step, last in self.steps.items() if last["event"] == "done"]

    def record(self, step: str, event: str, **fields: Any) -> None:
        """Append one step event durably (written, flushed and fsync'd)."""
        at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        entry = {"kind": "step", "step": step, "event": event, "at": at, **fields}
        self._apply(entry, len(self.steps) + 2)  # what is written must read back
        self._write(entry)

    # -- reading and writing ---------------------------------------------------------------------------------

    def _header(self) -> dict[str, Any]:
        return {"kind": "header", "journal": MAGIC, "version": VERSION, "user": self.user, "license_group": self.group}

    def _load(self, data: bytes) -> int:
        """Apply the complete lines; return how many bytes to keep (a torn last line is cut off)."""
        complete, newline, tail = data.rpartition(b"\n")
        lines = complete.split(b"\n") if newline else []
        start = _encode(self._header())[:-2]  # the header but for its closing brace and newline
        if tail and not lines and not (start.startswith(tail) or tail.startswith(start)):
            raise self._bad(1, "not a repair journal")
        for number, line in enumerate(lines, 1):
            try:
                record = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise self._bad(number, "not UTF-8 JSON") from None
            self._apply(record, number)
        return len(data) - len(tail)

    def _apply(self, record: Any, number: int) -> None:
        if not isinstance(record, dict) or record.get("kind") != ("header" if number == 1 else "step"):
            raise self._bad(number, "a header first, then step records")
        if number > 1:
            if record.get("step") not in self.known or record.get("event") not in EVENTS:
                raise self._bad(number, "a step record needs a known step and event")
            self.steps.pop(record["step"], None)  # keep the order in which steps last changed
            self.steps[record["step"]] = record
        elif record.get("journal") != MAGIC or record.get("version") != VERSION:
            raise self._bad(number, f"not a {MAGIC} journal of version {VERSION}")
        elif (str(record.get("user")).casefold(), str(record.get("license_group")).casefold()) != (
            self.user.casefold(),
            self.group.casefold(),
        ):
            raise InputError(
                f"journal {self.path} is the repair of {record.get('user')} with group {record.get('license_group')}, "
                f"not of {self.user} with {self.group}: give this repair another journal file"
            )

    def _bad(self, number: int, problem: str) -> InputError:
        return InputError(
            f"journal {self.path} line {number} is malformed ({problem}); malformed lines are never skipped: "
            "repair or move the file"
        )

    def _write(self, record: dict[str, Any]) -> None:
        if self._handle is None:
            raise InputError(f"journal {self.path} is open for reading only")
        append_durably(self._handle, _encode(record), self.path)
