"""The migration's journal: what makes `psbridge migrate cloud-sync` resumable after a kill.

    {"kind":"header","journal":"psbridge.migrate.cloud-sync","version":1,"domain":"contoso.example"}
    {"kind":"step","step":"3","event":"started","at":"2026-11-25T12:00:00+00:00"}
    {"kind":"step","step":"3","event":"done","at":...,"summary":"...","data":{"service_principal_id":...}}

A step's `data` is what later steps need from it (the configuration's service principal and job ids,
the backup's path and checksum), so a resumed run does not read it again. The file, its lock, its
durable writes, its reading rules and the step events are `psbridge.journal`'s (`StepJournal`). A
journal of another domain is refused.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from psbridge.journal import OtherSettings, StepJournal

MAGIC = "psbridge.migrate.cloud-sync"
VERSION = 1


class MigrationJournal(StepJournal):
    """The journal of one domain's migration."""

    MAGIC = MAGIC
    VERSION = VERSION
    USED_BY = "migration"

    def __init__(self, path: Path, domain: str | None, steps: Collection[str]) -> None:
        """`domain` None reads a journal of any domain (the interrupted run's report), and takes its domain."""
        super().__init__(path, steps)
        self.domain = domain

    def data(self, step: str) -> dict[str, Any]:
        """What a step that is done recorded for the later ones ({} when it is not done)."""
        last = self.steps.get(step) or {}
        return dict(last.get("data") or {}) if last.get("event") == "done" else {}

    def header_fields(self) -> dict[str, Any]:
        return {"domain": self.domain}

    def check_header(self, record: Mapping[str, Any], number: int) -> None:
        if self.domain is None:
            self.domain = str(record.get("domain"))
        elif str(record.get("domain")).casefold() != self.domain.casefold():
            raise OtherSettings(
                f"journal {self.path} is the migration of {record.get('domain')}, not of {self.domain}: give this "
                "migration another journal file"
            )
