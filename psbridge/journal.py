"""One journal mechanism: an append-only JSON-lines file that makes a long operation resumable.

psbridge's journals use it: the Exchange rollout's (`psbridge.exchange.journal`), and the runbooks' step
journals (`StepJournal`: the duplicate-mailbox repair's, `psbridge.runbooks.duplicate.journal`, and the
Cloud Sync migration's, `psbridge.runbooks.cloudsync_migration`). Each defines its record kinds, what its
header says and how it resumes; the file, the lock, the writes and the reading rules are these.

The file is UTF-8, one compact JSON object per line, every line ended by a newline:

    {"kind":"header","journal":"<what it is>","version":1, ...what the run is for}
    {"kind":"<a record kind of the product>", ...}

The header is the first line and only the first. A journal whose header names another kind, another
version, or other settings (another rollout, another user's repair) is refused, never reused; except a
journal that holds its header alone, for other settings (`OtherSettings`): nothing was done under it (a
dry run's, or a run stopped before its first step), so a run takes it over and writes its own header.

Writes go straight to the file (`psbridge.safeio.append_durably`): each append is written and fsync'd
before the caller goes on, and a write that fails (a full disk) is cut off again, so the error is one
line and the journal stays readable. A journal is locked while a run writes it (POSIX advisory lock,
exclusive and not waited for): a second run on the same file is refused.

Reading is strict, and one rule covers a run killed while it wrote (the torn-line rule):

- A line ended by a newline was written whole. It must be a valid record; any that is not, wherever it
  is in the file, is an InputError naming its line. Nothing is ever skipped.
- What follows the last newline (the tail) is what a killed run left:
  - if it reads as JSON, the record was written whole and only its newline was not: it is a record like
    any other (checked as strictly), and its newline is written before anything is appended;
  - otherwise the line is torn. It is dropped with a warning (`psbridge.journal.torn_line_dropped`)
    and, when the journal is opened to write, cut off under the lock before anything is appended
    (reading only leaves the file as it is). What it was recording is done again, and both users read
    the state before they act, so doing it again is safe.
  - A torn line with no line before it must be the start of this journal's own header (a run killed
    while it started the journal); any other file (a list of identities given by mistake, notes) is
    refused as not a journal, and never overwritten.

Why this rule: a JSON object cut short is never valid JSON (its closing brace is its last character), so a
tail that reads as JSON is a whole record and dropping it would lose a fact the run recorded, while a tail
that reads as JSON but is not a valid record cannot come from a crash and is refused like any other bad line.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections.abc import Collection, Iterable, Iterator, Mapping
from io import FileIO
from pathlib import Path
from typing import Any, ClassVar, Self

from psbridge import logs
from psbridge.errors import InputError, LocalWriteError
from psbridge.safeio import append_durably, open_for_append, read_bytes

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory lock
    fcntl = None  # type: ignore[assignment]


class OtherSettings(InputError):
    """A journal's header is for other settings than this run's (`JournalFile.check_header` raises it)."""


def encode(records: Iterable[Mapping[str, Any]]) -> bytes:
    """The JSON lines of `records`, each ended by a newline, as written to a journal."""
    return "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records).encode("utf-8")


class JournalFile:
    """The file of one journal: reading it under the torn-line rule, locking it, appending records durably.

    A product's journal subclasses it: it sets `MAGIC`, `VERSION`, `KINDS` (its record kinds, the header
    not among them) and `USED_BY` (what a run is called, for messages), and supplies `header_fields`,
    `check_header` and `apply`. `lines` counts the records read and appended so far, the header included.
    """

    MAGIC: ClassVar[str]
    VERSION: ClassVar[int]
    KINDS: ClassVar[tuple[str, ...]]
    USED_BY: ClassVar[str]

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines = 0
        self._handle: FileIO | None = None

    # -- what a product supplies --------------------------------------------------------------------------

    def header_fields(self) -> dict[str, Any]:
        """What this run is for, as written in the header after its kind, magic and version."""
        raise NotImplementedError

    def check_header(self, record: Mapping[str, Any], number: int) -> None:
        """Refuse a header of this kind and version written for other settings: raise OtherSettings (a
        journal holding that header alone is taken over), or InputError via `malformed` for a broken one."""
        raise NotImplementedError

    def apply(self, record: Mapping[str, Any], number: int) -> None:
        """Take in one record of a known kind (not the header); a malformed one raises `malformed(number, ...)`."""
        raise NotImplementedError

    # -- opening and reading ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Open the file to write (created if missing), lock it, read it, cut a torn tail off, and start it
        with the header when it holds no record. The file is closed, and so unlocked, on leaving."""
        handle = open_for_append(self.path, "journal")
        with handle:
            if fcntl is not None:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    raise InputError(f"journal {self.path} is in use by another {self.USED_BY}") from None
            handle.seek(0)
            data = handle.read()
            if self._only_a_header_for_other_settings(data):
                handle.truncate(0)  # nothing was done under it (a dry run's, or a run stopped before its first step)
                data = b""
            kept, newline = self._load(data)
            if kept < len(data):
                handle.truncate(kept)
            self._handle = handle
            try:
                if newline:
                    append_durably(handle, b"\n", self.path, "journal")
                if self.lines == 0:
                    self.append([self.header_record()])
                yield
            finally:
                self._handle = None

    def _only_a_header_for_other_settings(self, data: bytes) -> bool:
        """Whether `data` is this kind of journal's header alone, written for other settings (OtherSettings)."""
        if data.count(b"\n") != 1 or not data.endswith(b"\n"):
            return False
        try:
            record = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return False
        if not isinstance(record, dict) or record.get("kind") != "header":
            return False
        if record.get("journal") != self.MAGIC or record.get("version") != self.VERSION:
            return False
        try:
            self.check_header(record, 1)
        except OtherSettings:
            return True
        return False

    def load(self) -> None:
        """Read the file as it stands, writing nothing to it (it must exist)."""
        self._load(read_bytes(self.path, "journal"))

    def peek(self) -> bool:
        """Read the file as `locked` would take it, writing nothing: False when a run would start it afresh
        (no file, an empty one, or another run's header alone, which it takes over)."""
        if not self.path.exists():
            return False
        data = read_bytes(self.path, "journal")
        if not data or self._only_a_header_for_other_settings(data):
            return False
        self._load(data)
        return True

    def header_record(self) -> dict[str, Any]:
        return {"kind": "header", "journal": self.MAGIC, "version": self.VERSION, **self.header_fields()}

    def _load(self, data: bytes) -> tuple[int, bool]:
        """Apply every record in `data`; return how many bytes to keep and whether a newline is missing."""
        complete, newline, tail = data.rpartition(b"\n")
        lines = complete.split(b"\n") if newline else []
        for line in lines:
            self._take(self._decode(line, self.lines + 1))
        if not tail:
            return len(data), False
        try:
            record = json.loads(tail.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            if not lines and not encode([self.header_record()]).startswith(tail):
                raise self.malformed(1, f"not a {self.USED_BY} journal") from None
            logs.get_logger().warning(
                "psbridge.journal.torn_line_dropped", path=str(self.path), line=self.lines + 1, size=len(tail)
            )
            return len(data) - len(tail), False
        self._take(record)  # written whole but for its newline
        return len(data), True

    def _decode(self, line: bytes, number: int) -> Any:
        try:
            return json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise self.malformed(number, "not UTF-8 JSON" if isinstance(exc, UnicodeDecodeError) else exc.msg) from None

    def _take(self, record: Any) -> None:
        number = self.lines + 1
        if not isinstance(record, dict) or record.get("kind") not in ("header", *self.KINDS):
            *kinds, last = ("header", *self.KINDS)
            raise self.malformed(number, f"not a {', '.join(kinds)} or {last} record")
        if (record["kind"] == "header") != (number == 1):
            raise self.malformed(number, "the header must be the first line, and only the first")
        if number == 1:
            if record.get("journal") != self.MAGIC or record.get("version") != self.VERSION:
                raise self.malformed(number, f"not a {self.MAGIC} journal of version {self.VERSION}")
            self.check_header(record, number)
        else:
            self.apply(record, number)
        self.lines = number

    def malformed(self, number: int, problem: str) -> InputError:
        """The error for line `number` of the file."""
        return InputError(
            f"journal {self.path} line {number} is malformed ({problem}); malformed lines are never skipped: "
            "repair or move the file (only a torn last line, left by a killed run, is tolerated)"
        )

    # -- writing ------------------------------------------------------------------------------------------

    def append(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Take in `records` (what is written must read back) and append them durably, in one write."""
        if self._handle is None:
            raise InputError(f"journal {self.path} is open for reading only")
        records = list(records)
        for record in records:
            self._take(dict(record))
        append_durably(self._handle, encode(records), self.path, "journal")


STEP_EVENTS = ("started", "done", "failed")


class StepJournal(JournalFile):
    """A runbook's journal of steps: one `step` record per event, a step's last event is where it stands.

        {"kind":"step","step":"1","event":"started","at":"2026-11-25T12:00:00+00:00"}
        {"kind":"step","step":"1","event":"done","at":...,"summary":"...", ...what later steps need}
        {"kind":"step","step":"3","event":"failed","at":...,"summary":"timed out ...","outcome_unknown":false}

    `done` is skipped on a resume; `started` (the run stopped while the step ran: its outcome is unknown)
    and `failed` mean the step runs again, and a runbook's steps read the state before they act. A
    product subclasses it with its MAGIC, VERSION and USED_BY, and `header_fields` / `check_header`;
    `known` are its step ids. Write it inside `open()`; `read()` only looks (for a plan).
    """

    KINDS = ("step",)

    def __init__(self, path: Path, steps: Collection[str]) -> None:
        super().__init__(path)
        self.known = frozenset(steps)
        self.steps: dict[str, dict[str, Any]] = {}

    @contextlib.contextmanager
    def opened(self) -> Iterator[Self]:
        """This journal open for writing (started when there is none), locked until the block ends."""
        with self.locked():
            yield self

    def read_if_present(self) -> Self | None:
        """This journal as it stands, written nothing to; None when there is no file yet."""
        if not os.path.lexists(self.path):
            return None
        self.load()
        return self

    def done(self) -> list[str]:
        """The ids of the steps whose last event is `done`, in the order they were done."""
        return [step for step, last in self.steps.items() if last["event"] == "done"]

    def record(self, step: str, event: str, **fields: Any) -> None:
        """Append one step event durably (written, flushed and fsync'd)."""
        at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self.append([{"kind": "step", "step": step, "event": event, "at": at, **fields}])

    def try_record(self, step: str, event: str, **fields: Any) -> str | None:
        """`record`, or the reason it could not be written (a full disk): the runbook still reports what it did."""
        try:
            self.record(step, event, **fields)
        except (InputError, LocalWriteError) as exc:
            return str(exc)
        return None

    def apply(self, record: Mapping[str, Any], number: int) -> None:
        if record.get("step") not in self.known or record.get("event") not in STEP_EVENTS:
            raise self.malformed(number, "a step record needs a known step and event")
        self.steps.pop(record["step"], None)  # keep the order in which steps last changed
        self.steps[record["step"]] = dict(record)
