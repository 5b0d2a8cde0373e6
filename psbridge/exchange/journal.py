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

The file, its lock, its durable writes and its reading rules are `psbridge.journal`'s: a line that is
not a valid record is an error naming it, never skipped; a torn last line (a killed run) is dropped and
cut off before anything is appended, so the mailboxes it named are simply done again (the batch script
re-reads them first); a file whose only line is torn must be the start of this rollout's header, so the
identities file given by mistake is refused, never overwritten.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from psbridge.journal import JournalFile, OtherSettings

MAGIC = "psbridge.exo.rollout"
VERSION = 1
OUTCOMES = frozenset({"Changed", "AlreadySet", "WouldChange", "Failed"})
_ITEM_FIELDS = {"identity": str, "outcome": str, "transient": bool}


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


class Journal(JournalFile):
    """An open rollout journal. Use `Journal.open()` as a context manager."""

    MAGIC = MAGIC
    VERSION = VERSION
    KINDS = ("item", "batch", "intent")
    USED_BY = "rollout"

    def __init__(self, path: Path, header: Header) -> None:
        super().__init__(path)
        self.header = header
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
        journal = cls(Path(path), header)
        with journal.locked():
            yield journal

    def header_fields(self) -> dict[str, Any]:
        return dataclasses.asdict(self.header)

    def check_header(self, record: Mapping[str, Any], number: int) -> None:
        try:
            written = Header(**{f.name: record[f.name] for f in dataclasses.fields(Header)})
        except KeyError as exc:
            raise self.malformed(number, f"the header has no {exc.args[0]!r}") from None
        if written != self.header:
            raise OtherSettings(
                f"journal {self.path} was written for {written.describe()}, not for {self.header.describe()}: "
                "give this rollout another journal file"
            )

    def apply(self, record: Mapping[str, Any], number: int) -> None:
        kind = record["kind"]
        if kind == "item":
            self._item(record, number)
        elif kind == "intent":
            names = record.get("identities")
            if not isinstance(record.get("batch"), int) or not isinstance(names, list):
                raise self.malformed(number, "an intent record needs an int 'batch' and a list of 'identities'")
            for name in names:
                if not isinstance(name, str) or not name.strip():
                    raise self.malformed(number, "an intent record's identities must be text")
                self.identities.setdefault(key(name), name)
                self.intended[key(name)] = name
        else:
            batch, pace = record.get("batch"), record.get("next_pace_ms")
            if not isinstance(batch, int) or not isinstance(pace, int):
                raise self.malformed(number, "a batch record needs an int 'batch' and 'next_pace_ms'")
            self.batches, self.next_pace_ms = max(self.batches, batch), pace

    def _item(self, record: Mapping[str, Any], number: int) -> None:
        for name, type_ in _ITEM_FIELDS.items():
            if not isinstance(record.get(name), type_):
                raise self.malformed(number, f"an item record needs a {type_.__name__} {name!r}")
        if record["outcome"] not in OUTCOMES:
            raise self.malformed(number, f"unknown outcome {record['outcome']!r}")
        ident = key(record["identity"])
        self.identities.setdefault(ident, record["identity"])
        if not (record["outcome"] == "Failed" and record.get("before") is None):
            self.intended.pop(ident, None)  # settled, unless the mailbox could not even be read
        self.last[ident] = dict(record)
        self.attempts[ident] = self.attempts.get(ident, 0) + 1
        if record["outcome"] == "Failed" and record["transient"]:
            self.transient_failures[ident] = self.transient_failures.get(ident, 0) + 1

    def done(self, identity: str, *, retry_failed: bool = False) -> dict[str, Any] | None:
        """The item line that finished `identity`, or None while it is still to do."""
        last = self.last.get(key(identity))
        if last is None or (last["outcome"] == "Failed" and (last["transient"] or retry_failed)):
            return None
        return last

    def append_intent(self, batch: int, identities: Iterable[str]) -> None:
        """Record durably which mailboxes a batch is about to switch: call before it is sent."""
        self.append([{"kind": "intent", "batch": batch, "identities": list(identities)}])

    def append_batch(self, items: Iterable[Mapping[str, Any]], batch: Mapping[str, Any]) -> None:
        """Record one batch durably (written, flushed and fsync'd): call before the next batch is sent."""
        self.append([*({"kind": "item", **item} for item in items), {"kind": "batch", **batch}])
