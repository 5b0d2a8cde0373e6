"""The rollout journal: an append-only JSON-lines file that makes a bulk rollout resumable.

    {"kind": "header", "journal": "psbridge.exo.rollout", "version": 1, "target": ..., "tenant": ...,
     "enabled": true, "filter": null, "dry_run": false, "created_at": ...}
    {"kind": "item", "identity": ..., "outcome": "Changed", "transient": false, "batch": 1, "round": 0, ...}
    ...                                     one line per mailbox per attempt, in the order answered
    {"kind": "batch", "batch": 1, "round": 0, "items": 100, "pace_ms": 500, "next_pace_ms": 500, ...}
    {"kind": "intent", "batch": 2, "identities": [...]}   the mailboxes batch 2 is about to switch

A batch's lines are written and fsync'd before the rollout sends the next batch, and an intent line
before a batch that writes is sent: a run killed while the batch ran leaves the intent without the
items, and the resumed run reads those mailboxes again and reports what it finds switched as Changed
(psbridge switched them), even when a `--filter` no longer selects them. The last item line per
identity is its state: Changed, AlreadySet, WouldChange and a permanent Failed are done; a transient
Failed is still to do, and the number of such lines is how often it was tried.

Writes go straight to the file (no buffer that a later close could flush again), and a write that
fails (a full disk) is cut off again, so the error is one clear line and the journal stays readable.

Reading is strict: a line that is not a psbridge record is an InputError naming its line, never
skipped. The one exception is a torn last line (no newline at its end, not valid JSON): what a
killed run leaves when it dies mid-write. It is dropped, and cut off before anything is appended, so
the mailboxes it named are simply done again (the batch script re-reads them first). A file whose only
line is torn must be the start of this rollout's header: any other file (say, the identities file given
by mistake) is refused, never overwritten. A journal is locked while a rollout uses it (POSIX advisory
lock), so two runs cannot share one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import stat
from collections.abc import Iterable, Iterator, Mapping
from io import FileIO
from pathlib import Path
from typing import Any

from psbridge.errors import InputError, LocalWriteError
from psbridge.safeio import regular_file

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory lock
    fcntl = None  # type: ignore[assignment]

MAGIC = "psbridge.exo.rollout"
VERSION = 1
OUTCOMES = frozenset({"Changed", "AlreadySet", "WouldChange", "Failed"})
_ITEM_FIELDS = {"identity": str, "outcome": str, "transient": bool}
_KINDS = ("header", "item", "batch", "intent")


def open_for_append(path: Path, what: str = "journal") -> FileIO:
    """`path` opened unbuffered for reading and appending (created if missing), refused with one line
    unless it is a regular file: checked before the open and again through the descriptor."""
    regular_file(path, what)
    try:
        handle = FileIO(path, "a+")
    except OSError as exc:
        raise InputError(f"cannot open {what} {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
        handle.close()
        raise InputError(f"{what} {path} is not a regular file")
    return handle


def append_durably(handle: FileIO, data: bytes, path: Path, what: str = "journal") -> None:
    """Append `data` and fsync it. On failure (a full disk) what was written of it is cut off again
    (best effort) and the error is one LocalWriteError line; nothing is left in a buffer to fail again."""
    start = os.lseek(handle.fileno(), 0, os.SEEK_END)
    try:
        view = memoryview(data)
        while view:
            written = handle.write(view)
            if not written:
                raise OSError(0, "nothing was written")
            view = view[written:]
        os.fsync(handle.fileno())
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.ftruncate(handle.fileno(), start)
        raise LocalWriteError(f"cannot write {what} {path}: {exc.strerror or exc}") from None


@dataclasses.dataclass(frozen=True)
class Header:
    """What a journal is for: a rollout with other settings must not reuse it."""

    target: str
    tenant: str | None
    enabled: bool
    filter: str | None
    dry_run: bool

    def describe(self) -> str:
        what = f"filter {self.filter!r}" if self.filter is not None else "a list of identities"
        tenant = f" (tenant {self.tenant})" if self.tenant else ""
        mode = "a dry run" if self.dry_run else "a rollout"
        return f"{mode} setting IsExchangeCloudManaged={self.enabled} on {self.target}{tenant} for {what}"


def key(identity: str) -> str:
    """Identities (UPNs, GUIDs) compare case-insensitively."""
    return identity.strip().casefold()


class Journal:
    """An open journal. Use `Journal.open()` as a context manager."""

    def __init__(self, path: Path, handle: FileIO, header: Header) -> None:
        self.path = path
        self.header = header
        self._handle = handle
        self._lines = 0
        self.last: dict[str, dict[str, Any]] = {}  # by key(identity): the identity's latest item line
        self.attempts: dict[str, int] = {}  # by key(identity): item lines, one per attempt
        self.transient_failures: dict[str, int] = {}  # by key(identity)
        self.intended: dict[str, str] = {}  # by key(identity): in an intent line, not settled by an item line since
        self.identities: dict[str, str] = {}  # by key(identity): every identity the journal names, in order
        self.batches = 0
        self.next_pace_ms: int | None = None

    @classmethod
    @contextlib.contextmanager
    def open(cls, path: str | os.PathLike[str], header: Header) -> Iterator[Journal]:
        """Open (or create) the journal at `path` for `header`; refuses one written for other settings."""
        path = Path(path)
        handle = open_for_append(path)
        with handle:
            if fcntl is not None:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    raise InputError(f"journal {path} is in use by another rollout") from None
            journal = cls(path, handle, header)
            journal._load()
            yield journal

    def _load(self) -> None:
        handle = self._handle
        handle.seek(0)
        data = handle.read()
        complete, newline, tail = data.rpartition(b"\n")
        lines = complete.split(b"\n") if newline else []
        torn = False
        if tail:
            try:
                self._parse(tail, len(lines) + 1)
            except InputError:
                # Killed mid-write: drop it, and cut it off before appending. With no line before it,
                # only the start of this rollout's own header is that; anything else is another file.
                if not lines and not _encode([self._header_record()]).startswith(tail):
                    raise
                torn = True
            else:
                lines.append(tail)  # complete but for its newline
        for line in lines:
            self._apply(self._parse(line, self._lines + 1))
        if torn:
            handle.truncate(len(data) - len(tail))
        elif tail:
            self._write_text(b"\n")
        if not lines:
            self._write([self._header_record()])
            self._lines = 1

    def _header_record(self) -> dict[str, Any]:
        return {"kind": "header", "journal": MAGIC, "version": VERSION, **dataclasses.asdict(self.header)}

    def _parse(self, line: bytes, number: int) -> dict[str, Any]:
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise self._bad(number, "not UTF-8 JSON" if isinstance(exc, UnicodeDecodeError) else exc.msg) from None
        if not isinstance(record, dict) or record.get("kind") not in _KINDS:
            raise self._bad(number, "not a header, item, batch or intent record")
        return record

    def _apply(self, record: Mapping[str, Any]) -> None:
        self._lines += 1
        number, kind = self._lines, record["kind"]
        if (kind == "header") != (number == 1):
            raise self._bad(number, "the header must be the first line, and only the first")
        if kind == "header":
            self._check_header(record, number)
        elif kind == "item":
            for name, type_ in _ITEM_FIELDS.items():
                if not isinstance(record.get(name), type_):
                    raise self._bad(number, f"an item record needs a {type_.__name__} {name!r}")
            if record["outcome"] not in OUTCOMES:
                raise self._bad(number, f"unknown outcome {record['outcome']!r}")
            ident = key(record["identity"])
            self.identities.setdefault(ident, record["identity"])
            if not (record["outcome"] == "Failed" and record.get("before") is None):
                self.intended.pop(ident, None)  # settled, unless the mailbox could not even be read
            self.last[ident] = dict(record)
            self.attempts[ident] = self.attempts.get(ident, 0) + 1
            if record["outcome"] == "Failed" and record["transient"]:
                self.transient_failures[ident] = self.transient_failures.get(ident, 0) + 1
        elif kind == "intent":
            names = record.get("identities")
            if not isinstance(record.get("batch"), int) or not isinstance(names, list):
                raise self._bad(number, "an intent record needs an int 'batch' and a list of 'identities'")
            for name in names:
                if not isinstance(name, str) or not name.strip():
                    raise self._bad(number, "an intent record's identities must be text")
                self.identities.setdefault(key(name), name)
                self.intended[key(name)] = name
        else:
            batch, pace = record.get("batch"), record.get("next_pace_ms")
            if not isinstance(batch, int) or not isinstance(pace, int):
                raise self._bad(number, "a batch record needs an int 'batch' and 'next_pace_ms'")
            self.batches, self.next_pace_ms = max(self.batches, batch), pace

    def _check_header(self, record: Mapping[str, Any], number: int) -> None:
        if record.get("journal") != MAGIC or record.get("version") != VERSION:
            raise self._bad(number, f"not a {MAGIC} journal of version {VERSION}")
        try:
            written = Header(**{f.name: record[f.name] for f in dataclasses.fields(Header)})
        except KeyError as exc:
            raise self._bad(number, f"the header has no {exc.args[0]!r}") from None
        if written != self.header:
            raise InputError(
                f"journal {self.path} was written for {written.describe()}, not for {self.header.describe()}: "
                "give this rollout another journal file"
            )

    def _bad(self, number: int, problem: str) -> InputError:
        return InputError(
            f"journal {self.path} line {number} is malformed ({problem}); malformed lines are never skipped: "
            "repair or move the file (only a torn last line, left by a killed run, is tolerated)"
        )

    def done(self, identity: str, *, retry_failed: bool = False) -> dict[str, Any] | None:
        """The item line that finished `identity`, or None while it is still to do."""
        last = self.last.get(key(identity))
        if last is None or (last["outcome"] == "Failed" and (last["transient"] or retry_failed)):
            return None
        return last

    def append_intent(self, batch: int, identities: Iterable[str]) -> None:
        """Record durably which mailboxes a batch is about to switch: call before it is sent."""
        record = {"kind": "intent", "batch": batch, "identities": list(identities)}
        self._apply(record)
        self._write([record])

    def append_batch(self, items: Iterable[Mapping[str, Any]], batch: Mapping[str, Any]) -> None:
        """Record one batch durably (written, flushed and fsync'd): call before the next batch is sent."""
        records = [*({"kind": "item", **item} for item in items), {"kind": "batch", **batch}]
        for record in records:
            self._apply(record)  # what is written must read back
        self._write(records)

    def _write(self, records: Iterable[Mapping[str, Any]]) -> None:
        self._write_text(_encode(records))

    def _write_text(self, data: bytes) -> None:
        append_durably(self._handle, data, self.path)


def _encode(records: Iterable[Mapping[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records).encode("utf-8")
