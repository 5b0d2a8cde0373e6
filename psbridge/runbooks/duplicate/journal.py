"""The repair's journal: what makes `psbridge repair duplicate-mailbox` resumable.

    {"kind":"header","journal":"psbridge.repair.duplicate-mailbox","version":1,"user":...,"license_group":...}
    {"kind":"step","step":"1","event":"started","at":"2026-11-25T12:00:00+00:00"}
    {"kind":"step","step":"1","event":"done","at":...,"summary":"removed from Licensing-M365-E3, verified"}
    {"kind":"step","step":"3","event":"failed","at":...,"summary":"timed out ...","outcome_unknown":false}

A step's last event is where it stands: `done` is skipped on a resume; `started` (the run stopped while
the step ran: its outcome is unknown) and `failed` mean the step runs again, and every step verifies
the state before it acts. Each line is written, flushed and fsync'd before the repair goes on.

The file, its lock, its durable writes and its reading rules are `psbridge.journal`'s: a line that is
not a valid record is an error naming it, never skipped; a torn last line (the run died while writing
it) is dropped and cut off before anything is appended, and the step it recorded runs again, verifying
first; a file whose only line is torn must be the start of this repair's header, else it is refused,
never overwritten. A journal of another user or group is refused.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from psbridge.journal import OtherSettings, StepJournal

MAGIC = "psbridge.repair.duplicate-mailbox"
VERSION = 1


class RepairJournal(StepJournal):
    """The journal of one repair (a user and a licensing group). Write it inside `RepairJournal.open()`;
    `RepairJournal.read()` only looks (for the plan). `steps` holds each step's last event by its id."""

    MAGIC = MAGIC
    VERSION = VERSION
    USED_BY = "repair"

    def __init__(self, path: Path, user: str, group: str, steps: Collection[str]) -> None:
        super().__init__(path, steps)
        self.user, self.group = user, group

    @classmethod
    @contextmanager
    def open(
        cls, path: str | os.PathLike[str], *, user: str, group: str, steps: Collection[str]
    ) -> Iterator[RepairJournal]:
        """Open the journal at `path` for writing, or start it."""
        with cls(Path(path), user, group, steps).opened() as journal:
            yield journal

    @classmethod
    def read(
        cls, path: str | os.PathLike[str], *, user: str, group: str, steps: Collection[str]
    ) -> RepairJournal | None:
        """The journal at `path` as it stands, written nothing to; None when there is none yet."""
        return cls(Path(path), user, group, steps).read_if_present()

    # -- what the journal file asks of a product ---------------------------------------------------------------

    def header_fields(self) -> dict[str, Any]:
        return {"user": self.user, "license_group": self.group}

    def check_header(self, record: Mapping[str, Any], number: int) -> None:
        written = (str(record.get("user")).casefold(), str(record.get("license_group")).casefold())
        if written != (self.user.casefold(), self.group.casefold()):
            raise OtherSettings(
                f"journal {self.path} is the repair of {record.get('user')} with group {record.get('license_group')}, "
                f"not of {self.user} with {self.group}: give this repair another journal file"
            )
